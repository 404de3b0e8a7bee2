"""Build the grids of a city: assign units, group them, tile every community exactly.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> communities = gpd.GeoDataFrame({"code": ["450102001003"], "name": ["兴宁社区"]},
...     geometry=[box(108.300, 22.800, 108.306, 22.804)], crs="EPSG:4326")
>>> units = gpd.GeoDataFrame({"unit_id": ["U1", "U2", "U3"], "name": ["甲小区", "乙小区", "丙小区"],
...     "kind": ["compound"] * 3, "households": [420, 150, 180], "population": [1200, 400, 500],
...     "buildings": [6, 2, 3]}, geometry=[box(108.3005, 22.8005, 108.3025, 22.8035),
...     box(108.3035, 22.8005, 108.3045, 22.8015), box(108.3035, 22.8022, 108.3045, 22.8033)],
...     crs="EPSG:4326")
>>> build = build_grids(communities, units)
>>> build.grids[["code", "type", "households", "unit_ids", "reason"]]
               code  type  households unit_ids  reason
0  450102001003-001  city         420       U1   alone
1  450102001003-002  city         330    U2;U3  merged
>>> round(float(build.grids.to_crs(3857).area.sum() / communities.to_crs(3857).area.sum()), 5)
1.0
"""

from __future__ import annotations

import html
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.division.assign import assign
from gridmap.division.barriers import absorb_blocks, barrier_lines, block_of, common_edges, cut_blocks
from gridmap.division.group import GridRow, _roles, community_kinds, group_unit_rows, target_range
from gridmap.division.narrow import narrow_links, thin_land
from gridmap.division.order import reading_order
from gridmap.division.positions import CLEARANCE_M, place_points, points_to_place
from gridmap.division.rules import GridRules
from gridmap.division.tessellate import (
    GRID_SIZE_M,
    adjacent_pairs_each,
    clip_units,
    connect_parts,
    dissolve,
    share_land,
)
from gridmap.errors import GridmapError, GridmapWarning, SchemaError
from gridmap.findings import Report
from gridmap.io.read import SOURCE
from gridmap.schema import (
    BUILDING_KIND,
    COUNT_COLUMNS,
    UNIT_KIND_WORDS,
    UNIT_KINDS,
    caller_columns,
    closest_word,
    join_ids,
    model_columns,
    split_ids,
    unit_kind,
)

__all__ = ["build_grids", "GridBuild", "GRID_COLUMNS", "BUILDING_KIND"]

logger = logging.getLogger(__name__)

#: Columns of the grids layer, before the geometry.
GRID_COLUMNS = [
    "code",
    "type",
    "community_code",
    "households",
    "population",
    "buildings",
    "n_units",
    "unit_ids",
    "reason",
    "note",
    "position",
]

#: A point unit this close to a unit polygon (m) shares its grid (:func:`_links`): a boundary between them
#: would leave the point less than :data:`~gridmap.division.positions.CLEARANCE_M` inside its grid.
_POINT_REACH_M = 2 * CLEARANCE_M
#: Unit polygons overlapping by more than this (m²) are reported.
_AREA_TOLERANCE_M2 = 1.0
# The unit-table columns group_units reads.
_GROUPING_COLUMNS = ("unit_id", "kind", "households", "population", "areal")
#: Build findings that also raise a GridmapWarning (the others are in the report only).
_WARN_CHECKS = (
    "unit_overlap",
    "units_same_place",
    "unit_inside_unit",
    "unit_crosses_boundary",
    "missing_count",
    "units_shared_spot",
)


@dataclass(frozen=True, eq=False)  # frames do not compare to one bool
class GridBuild:
    """The result of :func:`build_grids`.

    Attributes
    ----------
    grids : geopandas.GeoDataFrame
        One row per grid: ``code`` (temporary: community code, "-", 3-digit sequence in reading order),
        ``type`` (city / rural / dedicated), ``community_code``, ``households``, ``population``,
        ``buildings``, ``n_units``, ``unit_ids`` (";"-joined), ``reason``, ``note``, ``position``
        ("approximate" when a unit of the grid was moved, see ``units``; else "exact"), polygon; in the
        communities' CRS.
    units : geopandas.GeoDataFrame
        The input units with ``community_code`` as assigned, ``grid_code`` (None when excluded; the
        ";"-joined codes of its grids for a compound split along its buildings) and ``position``. A point
        unit sharing its location with others (within ``GridRules.coincident_m``) is spread around the
        spot, a point within half a metre of its community's boundary is moved inward, and a unit with no
        land in its community (a building of a compound split along its buildings that stands beyond the
        compound's community) stands at the nearest point inside it: its geometry here is the moved point
        and ``position`` is "approximate" (the findings ``units_shared_spot``, ``unit_near_boundary`` and
        ``unit_beyond_boundary`` give the original places). Every unit point lies at least
        :data:`~gridmap.division.positions.CLEARANCE_M` inside the grid its ``grid_code`` names; a point
        inside a compound split along its buildings shares the grid of the building whose land holds it.
    report : gridmap.Report
        Findings of assignment and division; ``report.tables["households"]`` has households per grid by
        community (min, median, max, number of grids, number outside the range), and
        ``report.tables["outside_range"]`` every grid outside its range with the reason.
    """

    grids: gpd.GeoDataFrame
    units: gpd.GeoDataFrame
    report: Report

    def summary(self) -> pd.DataFrame:
        """Grids per type with their households (min, median, max) and how many are outside the range."""
        grids = self.grids
        outside = set(self.report.tables.get("outside_range", pd.DataFrame({"code": []}))["code"])
        table = grids.groupby("type").agg(
            grids=("code", "size"),
            households_min=("households", "min"),
            households_median=("households", "median"),
            households_max=("households", "max"),
            outside_range=("code", lambda c: int(c.isin(outside).sum())),
        )
        return table.reset_index()

    def _sizes(self) -> tuple[str, str, str]:
        grids, units = len(self.grids), len(self.units)
        communities = self.grids["community_code"].nunique()
        places = f"communit{'y' if communities == 1 else 'ies'}"
        grid_count, unit_count = f"{grids} grid{'s' * (grids != 1)}", f"{units} unit{'s' * (units != 1)}"
        return grid_count, f"{communities} {places}", unit_count

    def __repr__(self) -> str:
        grids, communities, units = self._sizes()
        return f"GridBuild({grids} in {communities}, {units}; {self.report.summary()})"

    def _repr_html_(self) -> str:
        grids, communities, units = self._sizes()
        heading = f"<p><b>{grids}</b> in {communities} from {units}</p>"
        return heading + self.summary().to_html(index=False) + f"<p>{html.escape(self.report.summary())}</p>"


def build_grids(
    communities: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    rules: GridRules | None = None,
    strict: bool = False,
    prefer: str = "location",
    progress: bool = False,
    barriers: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
) -> GridBuild:
    """Divide every community into grids that tile it exactly.

    Each unit is assigned to one community (:func:`~gridmap.division.assign_units`), the units of each
    community are grouped into city, rural and dedicated grids (:func:`~gridmap.division.group.group_units`)
    and the community's land is shared out among the grids so that they cover it exactly without overlap
    (:func:`~gridmap.division.tessellate.unit_regions`). A community without units becomes one grid.

    With ``barriers`` (streets, rivers, railways), each community is first cut into blocks along them
    (:mod:`gridmap.division.barriers`); units are grouped within their block and each block's units share
    out the block's land, so grid edges follow the barriers. A grid crosses a barrier only when its block has
    too few households to stand alone (finding ``grid_crosses_barrier`` and
    ``report.tables["barrier_crossings"]``); a block without units joins the neighbouring grid that shares
    the longest edge with it.

    Parameters
    ----------
    communities : geopandas.GeoDataFrame
        ``code`` (12-digit str), optional ``name`` and ``kind`` (urban / rural / other; derived from the
        village digits when absent), polygon, EPSG:4326 or EPSG:4490.
    units : geopandas.GeoDataFrame
        ``unit_id``, ``kind``, ``households``, optional ``name``, ``population``, ``buildings`` and
        ``community_code``; points or polygons. Rows of kind ``"building"`` with a ``parent_unit`` (the
        compound's ``unit_id``) let a compound above the household range be split along its buildings
        (reason "split"); the buildings of other compounds simply share their compound's grid.
    rules : GridRules, optional
        The division rules; the defaults of :class:`GridRules` when None.
    strict : bool, default False
        Raise :class:`~gridmap.errors.TopologyError` for units outside every community or overlapping
        communities, and :class:`~gridmap.errors.GeometryError` for invalid polygons, instead of reporting
        (and repairing) them.
    prefer : {"location", "attribute"}, default "location"
        Which wins when a unit's ``community_code`` disagrees with its location (see ``assign_units``).
    progress : bool, default False
        Show a progress bar over the communities (tqdm).
    barriers : geopandas.GeoDataFrame or geopandas.GeoSeries, optional
        Lines (and polygons, by their outlines) that grids should not cross: roads, rivers, railways, in any
        CRS (``gridmap.read_layer(path, coords="gcj02")`` reads an Amap layer); Z coordinates are dropped.

    Returns
    -------
    GridBuild
        ``grids``, ``units`` and ``report``.

    Raises
    ------
    GridmapError
        Bad input: missing columns, malformed codes, no CRS, unusable geometry; in strict mode also
        topology problems.
    """
    rules = GridRules() if rules is None else rules
    if not isinstance(rules, GridRules):
        raise GridmapError(
            f"rules must be a GridRules, got {type(rules).__name__}",
            fix="pass gridmap.division.GridRules(...) or GridRules.from_toml(path)",
        )
    units, names = model_columns(units, "units")
    communities = model_columns(communities, "admin")[0]
    assignment = assign(units, communities, strict=strict, prefer=prefer)
    report = Report("grid build")
    report.extend(assignment.report)
    table = _unit_table(assignment.units, report)
    kinds = community_kinds(communities).to_numpy()
    codes = communities["code"].to_numpy(dtype=object)
    unit_community = _buildings_follow_compounds(assignment.unit_community, table)
    members = _members_by_community(unit_community, table["unit_id"].to_numpy(dtype=object), len(codes))
    outside_excluded = int((unit_community < 0).sum())
    if outside_excluded:
        logger.info("%d units outside every community are excluded from grids", outside_excluded)

    columns = {column: table[column].to_numpy() for column in table.columns}
    lines = None if barriers is None else barrier_lines(barriers, assignment.crs)
    near_lines = _lines_near(lines, assignment.community_geoms)
    located = np.flatnonzero(unit_community >= 0)
    clipped = np.full(len(unit_community), None, dtype=object)  # each unit's part in its community
    clipped[located] = clip_units(assignment.unit_geoms[located],
                                  assignment.community_geoms[unit_community[located]])
    to_place = points_to_place(assignment.unit_geoms[located], unit_community[located],
                               assignment.community_geoms, coincident_m=rules.coincident_m,
                               clipped=clipped[located])
    prepared = [
        _prepare(
            codes[position],
            kinds[position],
            assignment.community_geoms[position],
            assignment.unit_geoms[members[position]],
            _take(columns, members[position]),
            rules,
            clipped=clipped[members[position]],
            lines=near_lines(position),
            place=to_place[position],
        )
        for position in np.argsort(codes, kind="stable")
    ]
    lands = _share_out(prepared)
    neighbours = _neighbours(prepared, lands)
    needed = _checks_needed(prepared, lands)
    grouped = [_group_community(community, land, pairs, checks, rules)
               for community, land, pairs, checks in _progress(zip(prepared, lands, neighbours, needed,
                                                                   strict=True), progress, len(prepared))]
    grid_land = _dissolve_grids(prepared, lands, grouped)
    pieces = [_finish_community(*args) for args in zip(prepared, lands, grouped, grid_land, strict=True)]
    for community in prepared:
        report.extend(community.findings)
    grids, renamed = _in_reading_order(_grids_frame(pieces, assignment.crs).to_crs(communities.crs))
    if lines is not None:
        _report_barriers(pieces, renamed, len(lines), assignment.crs, communities.crs, rules, report)
    unit_grid = {unit: join_ids(sorted(renamed[code] for code in split_ids(grid))) if grid else grid
                 for piece in pieces for unit, grid in piece["unit_grid"].items()}
    out_units = _moved_units(assignment.units, pieces, assignment.crs)
    out_units["community_code"] = pd.Series(
        [codes[i] if i >= 0 else None for i in unit_community], index=out_units.index, dtype=object
    )
    out_units["grid_code"] = pd.Series(
        [unit_grid.get(u) for u in table["unit_id"]], index=out_units.index, dtype=object
    )
    _range_tables(grids, rules, report)
    _warn_summary(report)
    return GridBuild(grids=grids, units=caller_columns(out_units, names), report=report)


def _take(columns: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """Return the given rows of a table held as numpy columns.

    A DataFrame per community costs more than the community's geometry.
    """
    return {column: values[rows] for column, values in columns.items()}


def _lines_near(lines: np.ndarray | None, communities: np.ndarray):
    """Return a function giving the barrier lines that reach each community (None without barriers)."""
    if lines is None:
        return lambda position: None
    tree = shapely.STRtree(lines)
    return lambda position: lines[np.sort(tree.query(communities[position]))]


def _report_barriers(pieces: list[dict], renamed: dict[str, str], n_lines: int, metric, crs, rules: GridRules,
                     report: Report) -> None:
    """Report the blocks the barriers made and every grid that crosses a barrier, by its final code."""
    crossings = [dict(row, code=renamed[row["code"]])
                 for piece in pieces for row in piece.get("crossings", [])]
    where = gpd.GeoSeries([row.pop("point") for row in crossings], crs=metric).to_crs(crs)
    low = rules.city_households[0]
    for row, point in zip(crossings, where, strict=True):
        row["lon"], row["lat"] = round(point.x, 6), round(point.y, 6)
        report.add(
            "grid_crosses_barrier",
            f"grid {row['code']} crosses a street, river or railway: its block near ({row['lon']}, "
            f"{row['lat']}) holds only {row['block_households']} households, too few to stand alone "
            f"(below {low}), so it joined {row['blocks'] - 1} neighbouring block(s)",
            record=row["code"],
            severity="info",
            block_households=row["block_households"],
            blocks=row["blocks"],
            lon=row["lon"],
            lat=row["lat"],
        )
    report.tables["barrier_crossings"] = pd.DataFrame(
        crossings, columns=["code", "blocks", "block_households", "lon", "lat"]
    )
    blocks = sum(piece.get("blocks", 1) for piece in pieces)
    empty = sum(piece.get("empty_blocks", 0) for piece in pieces)
    report.add(
        "barriers",
        f"{n_lines} barrier lines cut {len(pieces)} communities into {blocks} blocks; {empty} blocks without "
        f"units joined a neighbouring grid; {len(crossings)} grids cross a barrier",
        severity="info",
        lines=n_lines,
        blocks=blocks,
        empty_blocks=empty,
        crossings=len(crossings),
    )


def _progress(positions, progress: bool, total: int):
    if not progress:
        return positions
    from tqdm.auto import tqdm  # optional display only; tqdm is a dependency

    return tqdm(positions, total=total, desc="communities", unit="community")


def _unit_table(units: gpd.GeoDataFrame, report: Report) -> pd.DataFrame:
    """unit_id, kind, parent_unit, counts (missing -> 0, reported) and areal flag, by row position."""
    kinds_allowed = UNIT_KINDS
    if "kind" not in units.columns:
        raise SchemaError(
            f"units lack the column 'kind'; columns are {list(units.columns)}",
            fix=f"add kind, one of {', '.join(UNIT_KINDS)} (gridmap.io.validation.validate_units "
            "translates Chinese kind names)",
        )
    words = {word: unit_kind(word) for word in pd.unique(units["kind"].dropna())}
    kinds = units["kind"].replace({word: kind for word, kind in words.items() if kind and kind != word})
    unknown = kinds[~kinds.isin(kinds_allowed)]
    if len(unknown):
        closest = closest_word(unknown.iloc[0], UNIT_KIND_WORDS)
        raise SchemaError(
            f"unit {units['unit_id'][unknown.index[0]]} has kind {unknown.iloc[0]!r}",
            record=f"unit {units['unit_id'][unknown.index[0]]}",
            fix=f"use one of {', '.join(kinds_allowed)} or a word of gridmap.schema.UNIT_KIND_WORDS "
            f"({', '.join(UNIT_KIND_WORDS)})" + (f"; the closest is {closest!r}" if closest else "")
            + "; gridmap.io.validation.validate_units lists every unknown kind at once",
        )
    # object columns, not pandas' Arrow strings: taking rows of an Arrow column costs time in proportion
    # to the whole column, which made the per-community slices of a large city quadratic
    table = pd.DataFrame(
        {
            "unit_id": pd.Series(units["unit_id"].to_numpy(dtype=object), dtype=object),
            "kind": pd.Series(kinds.to_numpy(dtype=object), dtype=object),
            "parent_unit": pd.Series(_parents(units, kinds), dtype=object),
        }
    )
    for column in COUNT_COLUMNS:
        table[column] = _counts(units, column, report)
    table["areal"] = shapely.get_dimensions(units.geometry.to_numpy()) == 2
    return table


def _parents(units: gpd.GeoDataFrame, kinds: pd.Series) -> np.ndarray:
    """Return the compound of each building row (None for other units); refuse buildings without one."""
    is_building = kinds == BUILDING_KIND
    parents = np.full(len(units), None, dtype=object)
    if not is_building.any():
        return parents
    if "parent_unit" not in units.columns:
        raise SchemaError(
            "units of kind 'building' need a parent_unit column", path=units.attrs.get(SOURCE),
            fix="give each building the unit_id of its compound in parent_unit",
        )
    compounds = set(units.loc[kinds == "compound", "unit_id"])
    for row in np.flatnonzero(is_building.to_numpy()):
        parent = units["parent_unit"].iloc[row]
        if parent not in compounds:
            building = units["unit_id"].iloc[row]
            raise SchemaError(
                f"building {building} has parent_unit {parent!r}, which is not a compound among the units",
                record=f"unit {building}", path=units.attrs.get(SOURCE),
                fix="set parent_unit to the unit_id of the compound the building belongs to",
            )
        parents[row] = parent
    return parents


#: Counts the division does not need: a grid whose units do not all give one has it unknown (NA), not 0.
_UNKNOWABLE = ("buildings",)


def _counts(units: gpd.GeoDataFrame, column: str, report: Report) -> np.ndarray:
    if column not in units.columns:
        if column == "households":
            raise SchemaError("units lack the column 'households'", fix="add households (户数) to every unit")
        if column in _UNKNOWABLE:
            report.add("missing_column", f"units have no {column} column; the grids' {column} are unknown "
                       "(未知)", severity="info")
            return np.full(len(units), np.nan)
        report.add(
            "missing_column", f"units have no {column} column; grids count 0 {column}", severity="info"
        )
        return np.zeros(len(units), dtype=np.int64)
    values = pd.to_numeric(units[column], errors="coerce")
    negative = values < 0
    if negative.any():
        unit = units["unit_id"][negative.idxmax()]
        raise SchemaError(
            f"unit {unit} has negative {column} ({values[negative.idxmax()]})",
            record=f"unit {unit}",
            fix=f"correct {column}; gridmap.io.validation.validate_units checks counts",
        )
    missing = values.isna()
    if missing.any():
        counted = f"its grid's {column} are unknown (未知)" if column in _UNKNOWABLE else "counted as 0"
        for unit in units["unit_id"][missing]:
            report.add(
                "missing_count",
                f"unit {unit} has no {column}; {counted}",
                record=unit,
                severity="warning",
                column=column,
            )
    if column in _UNKNOWABLE:
        return values.round().to_numpy(dtype=float)
    return values.fillna(0).round().astype(np.int64).to_numpy()


def _buildings_follow_compounds(unit_community: np.ndarray, table: pd.DataFrame) -> np.ndarray:
    """Return the community of each unit, a building's being its compound's."""
    row_of = {unit: row for row, unit in enumerate(table["unit_id"])}
    out = unit_community.copy()
    for row in np.flatnonzero(table["parent_unit"].notna().to_numpy()):
        out[row] = unit_community[row_of[table["parent_unit"].iloc[row]]]
    return out


def _members_by_community(unit_community: np.ndarray, unit_ids: np.ndarray, n: int) -> list[np.ndarray]:
    """Row positions of each community's units, sorted by unit_id (the fixed order of everything after)."""
    order = np.lexsort((unit_ids.astype(str), unit_community))
    order = order[unit_community[order] >= 0]
    bounds = np.searchsorted(unit_community[order], np.arange(n + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(n)]


class _Prepared(NamedTuple):
    """A community ready for the division: its units placed, blocks cut (:func:`_prepare`)."""

    code: str
    kind: str
    community: BaseGeometry
    geoms: np.ndarray  # the community's units, moved points replaced
    moved: np.ndarray  # bool per unit
    table: dict[str, np.ndarray]  # the community's rows of the unit table
    plan: _Plan | None  # None for a community without units
    blocks: np.ndarray  # the blocks (the community alone without barriers)
    zone: np.ndarray | None  # the block of each active unit (None without barriers)
    clipped: np.ndarray  # each unit's part in the community (None for a moved unit: clipped again)
    findings: Report  # what placing the units found, added to the build's report in community order


def _prepare(code: str, kind: str, community, geoms: np.ndarray, table: dict[str, np.ndarray],
             rules: GridRules, lines: np.ndarray | None = None, place: bool = True,
             clipped: np.ndarray | None = None) -> _Prepared:
    """Plan the split compounds, cut the blocks and place the points of one community.

    ``table`` holds the community's rows of the unit table (:func:`_unit_table`) as numpy columns; without
    ``place``, no point of the community needs moving (:func:`points_to_place`) unless blocks are cut.
    ``clipped`` is ``clip_units(geoms, community)`` when the caller has it (computed again when None).
    """
    clipped = np.full(len(geoms), None, dtype=object) if clipped is None else np.asarray(clipped).copy()
    findings = Report("community")
    blocks = np.array([community], dtype=object)
    if not len(geoms):
        return _Prepared(code, kind, community, geoms, np.zeros(0, dtype=bool), table, None, blocks, None,
                         clipped, findings)
    plan = _split_plan(table, kind, rules, findings)
    active = plan.active
    if lines is not None:
        blocks = cut_blocks(community, lines, min_area_m2=rules.min_block_m2)
    zone = None if lines is None else np.zeros(len(active), dtype=np.int64)
    if len(blocks) > 1:
        zone = block_of(geoms[active], blocks)
        for container, members in plan.split.items():  # a split compound goes where most of its buildings are
            zone[container] = np.argmax(np.bincount(zone[members]))
    geoms, moved = geoms.copy(), np.zeros(len(geoms), dtype=bool)
    if not place and len(blocks) == 1:
        return _Prepared(code, kind, community, geoms, moved, table, plan, blocks, zone, clipped, findings)
    for block in np.unique(np.zeros(len(active), dtype=np.int64) if zone is None else zone):
        inside = active if zone is None else active[zone == block]
        label = code if len(blocks) == 1 else f"{code} (block {block + 1})"
        placed = place_points(geoms[inside], blocks[block], table["unit_id"][inside],
                              coincident_m=rules.coincident_m, report=findings, code=label)
        geoms[inside], moved[inside] = placed.geoms, placed.moved
    clipped[moved] = None
    return _Prepared(code, kind, community, geoms, moved, table, plan, blocks, zone, clipped, findings)


def _share_out(prepared: list[_Prepared]) -> list[_Land]:
    """Share out the land of every block of every community among its units, all blocks at once."""
    blocks, units, where, splits, sizes, known = [], [], [], [], [], []
    first = offset = 0  # the community's first unit and first block in the concatenation
    for community in prepared:
        active = np.empty(0, dtype=np.int64) if community.plan is None else community.plan.active
        zone = np.zeros(len(active), dtype=np.int64) if community.zone is None else community.zone
        for container, members in (community.plan.split.items() if community.plan else []):
            splits.append({first + container: [first + m for m in members if zone[m] == zone[container]]})
        blocks.append(community.blocks)
        units.append(community.geoms[active])
        whole = len(community.blocks) == 1 and community.blocks[0] is community.community
        known.append(community.clipped[active] if whole else np.full(len(active), None, dtype=object))
        where.append(offset + zone)
        sizes.append(len(active))
        first, offset = first + len(active), offset + len(community.blocks)
    areas = np.concatenate(blocks)
    geoms, at = np.concatenate(units), np.concatenate(where)
    clipped = _clip_missing(geoms, areas[at], np.concatenate([np.empty(0, dtype=object), *known]))
    regions = share_land(geoms, at, areas, splits=splits, clipped=clipped)
    bounds = np.cumsum([0, *sizes])
    return [_land(community, regions[a:b], clipped[a:b])
            for community, a, b in zip(prepared, bounds[:-1], bounds[1:], strict=True)]


def _clip_missing(geoms: np.ndarray, areas: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Return ``clip_units(geoms, areas)``, taking the clips already ``known`` (None where not)."""
    clipped = known.copy()
    missing = shapely.is_missing(known)
    if missing.any():
        clipped[missing] = clip_units(geoms[missing], areas[missing])
    return clipped


def _neighbours(prepared: list[_Prepared], lands: list[_Land]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the pairs of grouped units of each community whose land shares an edge, all at once."""
    pairs = iter(adjacent_pairs_each([land.regions[community.plan.grouped]
                                      for community, land in zip(prepared, lands, strict=True)
                                      if community.plan is not None]))
    empty = np.empty(0, dtype=np.int64)
    return [next(pairs) if community.plan is not None else (empty, empty) for community in prepared]


class _Grouped(NamedTuple):
    """The grouping of a community's units into grids (:func:`_group_community`)."""

    labels: np.ndarray  # the grid of each grouped unit
    groups: list[GridRow]
    frame: dict[str, np.ndarray]  # the grouped units' columns


def _group_community(prepared: _Prepared, land: _Land, neighbours: tuple[np.ndarray, np.ndarray],
                     checks: _Checks, rules: GridRules) -> _Grouped | None:
    """Group the units of one community into grids (None for a community without units).

    ``neighbours`` are the pairs of grouped units whose land shares an edge (:func:`_neighbours`),
    ``checks`` the checks that may find something (:func:`_checks_needed`); findings go to the community's
    own report.
    """
    plan, report = prepared.plan, prepared.findings
    if plan is None:
        return None
    rows = plan.active[plan.grouped]  # positions in table of the units that are grouped
    geoms, regions, table = prepared.geoms[rows], land.regions[plan.grouped], _take(prepared.table, rows)
    clipped = land.clipped[plan.grouped]
    zones = None if land.zone is None else land.zone[plan.grouped]
    if checks.geometry:
        _report_units_geometry(geoms, clipped, table, report)
    left, right = neighbours
    adjacency = {"left": left, "right": right, "gap_m": shapely.distance(geoms[left], geoms[right])}
    links = (_links(clipped, regions, table, report, _split_compounds(prepared, land)) if checks.links
             else _NO_LINKS)
    position = shapely.point_on_surface(np.where(shapely.is_empty(clipped), geoms, clipped))
    frame = {
        **{column: table[column] for column in _GROUPING_COLUMNS},
        "x": shapely.get_x(position),
        "y": shapely.get_y(position),
        "split_of": plan.split_of,
    }
    if checks.thin or len(links["member"]):
        links = _with_narrow_links(links, regions, prepared.community, frame, rules, report, zones,
                                   prepared.code)
    labels, groups = group_unit_rows(frame, adjacency, community_kind=prepared.kind, rules=rules, links=links,
                                     zones=zones)
    return _Grouped(labels, groups, frame)


def _split_compounds(prepared: _Prepared, land: _Land) -> list[tuple[BaseGeometry, np.ndarray]]:
    """Return each compound split along its buildings: its polygon (in its block) and its buildings.

    The buildings as positions among the grouped units, those of the compound's block only (the others
    divide their own blocks).
    """
    plan = prepared.plan
    if plan is None:
        return []
    out = []
    for container, members in plan.split.items():
        polygon, buildings = land.clipped[container], np.asarray(members, dtype=np.int64)
        if land.zone is not None and len(land.blocks) > 1:
            buildings = buildings[land.zone[buildings] == land.zone[container]]
            polygon = shapely.intersection(polygon, land.blocks[land.zone[container]])
        out.append((polygon, np.searchsorted(plan.grouped, buildings)))
    return out


def _dissolve_grids(prepared: list[_Prepared], lands: list[_Land], grouped: list[_Grouped | None]
                    ) -> list[np.ndarray]:
    """Return the land of each community's grids: the union of their units' land, all grids at once."""
    regions, labels, sizes = [np.empty(0, dtype=object)], [np.empty(0, dtype=np.int64)], []
    first = 0  # the community's first grid
    for community, land, grouping in zip(prepared, lands, grouped, strict=True):
        size = 0
        if grouping is not None and community.plan is not None and len(grouping.groups):
            size = len(grouping.groups)
            regions.append(land.regions[community.plan.grouped])
            labels.append(grouping.labels + first)
        sizes.append(size)
        first += size
    grids = dissolve(np.concatenate(regions), np.concatenate(labels), first)
    return np.split(grids, np.cumsum(sizes)[:-1])


def _finish_community(prepared: _Prepared, land: _Land, grouping: _Grouped | None, grids: np.ndarray
                      ) -> dict:
    """Grids of one community: geometries (metric), attributes and the grid code of each unit."""
    code, kind, community, table = prepared.code, prepared.kind, prepared.community, prepared.table
    report = prepared.findings
    if grouping is None or prepared.plan is None:
        grid_type = "rural" if kind == "rural" else "city"
        report.add(
            "community_empty",
            f"community {code} has no units; it is one {grid_type} grid",
            record=code,
            severity="info",
        )
        geometry = shapely.set_precision(community, GRID_SIZE_M)
        attrs = [GridRow(grid_type, "empty community", "", 0.0, 0.0)]
        return _piece(code, [geometry], attrs, [[]], table)
    plan, moved = prepared.plan, prepared.moved
    labels, groups, ids = grouping.labels, grouping.groups, grouping.frame["unit_id"]
    if len(land.empty):
        grids = absorb_blocks(grids, land.empty)[0]
    members = _split_by(np.arange(len(labels)), labels, len(groups))
    grids, multipart = connect_parts(grids, [land.clipped[plan.grouped][m] for m in members])
    for g in multipart:
        unit_ids = join_ids(ids[labels == g])
        report.add(
            "grid_multipart",
            f"a grid of community {code} ({unit_ids}) has {shapely.get_num_geometries(grids[g])} "
            "separate parts: its units lie apart",
            record=f"{code}: {unit_ids}",
            severity="warning",
        )
    # a safeguard: the tessellation gives every grid land
    for g in np.flatnonzero(shapely.is_empty(grids)).tolist():
        unit_ids = join_ids(ids[labels == g])
        report.add(
            "grid_without_land",
            f"a grid of community {code} ({unit_ids}) got no land; please report this with the input",
            record=f"{code}: {unit_ids}",
            severity="error",
        )
    rows = plan.active[plan.grouped]
    piece = _piece(code, list(grids), groups, [rows[m] for m in members], table, derived=plan.derived,
                   moved=moved)
    piece["moved"] = dict(zip(table["unit_id"][moved], prepared.geoms[moved], strict=True))
    if land.zone is not None:
        zones = land.zone[plan.grouped]
        piece["blocks"], piece["empty_blocks"] = len(land.blocks), len(land.empty)
        piece["crossings"] = _crossings(piece, ids, grouping.frame["households"], labels, zones, land.blocks)
    return piece


class _Checks(NamedTuple):
    """Which per-community checks may find something (:func:`_checks_needed`)."""

    geometry: bool  # a unit reaching beyond the community, or unit polygons that may overlap
    links: bool  # a point on or near a polygon, points at one place, a polygon without land
    thin: bool  # a unit's land narrower than the least width


_NO_LINKS = {"member": np.empty(0, dtype=np.int64), "head": np.empty(0, dtype=np.int64)}


def _checks_needed(prepared: list[_Prepared], lands: list[_Land]) -> list[_Checks]:
    """Find the communities where the per-community checks may find something, all at once.

    The checks are :func:`_report_units_geometry`, :func:`_links` and
    :func:`~gridmap.division.narrow.narrow_links`; the other communities skip them.
    """
    columns: dict[str, list[np.ndarray]] = {"geoms": [], "areal": [], "clipped": [], "regions": []}
    for community, land in zip(prepared, lands, strict=True):
        if community.plan is not None:
            rows = community.plan.active[community.plan.grouped]
            columns["geoms"].append(community.geoms[rows])
            columns["areal"].append(community.table["areal"][rows])
            columns["clipped"].append(land.clipped[community.plan.grouped])
            columns["regions"].append(land.regions[community.plan.grouped])
    geoms, areal, clipped, regions = (np.concatenate([np.empty(0, dtype=bool if name == "areal" else object),
                                                      *values]) for name, values in columns.items())
    n = len(columns["geoms"])
    where = np.repeat(np.arange(n), [len(g) for g in columns["geoms"]])
    geometry = _flagged(where[areal][shapely.area(geoms[areal]) - shapely.area(clipped[areal])
                                     > _AREA_TOLERANCE_M2], n)
    geometry |= _flagged(_overlapping(clipped[areal], where[areal]), n)
    links = _may_link(clipped, regions, where, n)
    # points in or near a compound split along its buildings (rare) are found by _links itself
    links |= np.array([bool(c.plan.split) for c in prepared if c.plan is not None], dtype=bool)
    thin = _flagged(where[thin_land(regions)], n)
    flags = iter(zip(geometry.tolist(), links.tolist(), thin.tolist(), strict=True))
    return [_Checks(*next(flags)) if community.plan is not None else _Checks(False, False, False)
            for community in prepared]


def _may_link(clipped: np.ndarray, regions: np.ndarray, where: np.ndarray, n: int, *,
              reach: float = _POINT_REACH_M) -> np.ndarray:
    """Whether :func:`_links` may link units of each of ``n`` areas, all at once.

    ``clipped`` and ``regions`` are the units (clipped to their area) and their land, ``where`` the area of
    each: an area may link a point on or within ``reach`` of a polygon, points at one place, or a polygon
    without land.
    """
    points, polygons = shapely.get_dimensions(clipped) == 0, shapely.area(clipped) > 0
    links = _flagged(where[polygons & shapely.is_empty(regions)], n)
    links |= _flagged(_near_pairs(clipped, where, points, polygons, reach), n)
    cells = np.round(shapely.get_coordinates(shapely.get_geometry(clipped[points], 0)) / GRID_SIZE_M)
    key = np.column_stack([where[points], cells])
    key = key[np.lexsort(key.T[::-1])]
    return links | _flagged(key[1:, 0][(key[1:] == key[:-1]).all(axis=1)].astype(np.int64), n)


def _flagged(where: np.ndarray, n: int) -> np.ndarray:
    """Return a boolean per community, True for those in ``where``."""
    flags = np.zeros(n, dtype=bool)
    flags[where] = True
    return flags


def _overlapping(geoms: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Return the community of each pair of geometries of one community that intersect."""
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = (left < right) & (where[left] == where[right])
    return where[left[keep]]


def _near_pairs(clipped: np.ndarray, where: np.ndarray, points: np.ndarray, polygons: np.ndarray,
                reach: float) -> np.ndarray:
    """Return the community of each point unit within ``reach`` of a polygon unit of its community."""
    point, hit = shapely.STRtree(clipped[polygons]).query(clipped[points], predicate="dwithin",
                                                          distance=reach)
    same = where[points][point] == where[polygons][hit]
    return where[points][point[same]]


def _split_by(values: np.ndarray, labels: np.ndarray, n: int) -> list[np.ndarray]:
    """Return the values of each label ``0 .. n-1``, in their order."""
    order = np.argsort(labels, kind="stable")
    return np.split(values[order], np.searchsorted(labels[order], np.arange(1, n)))


class _Land(NamedTuple):
    """The land of a community's active units (:func:`_land`)."""

    clipped: np.ndarray  # the units clipped to the community
    regions: np.ndarray  # the land of each unit; with ``empty``, a coverage of the community
    zone: np.ndarray | None  # the block of each unit (None without barriers)
    blocks: np.ndarray  # the blocks (the community alone without barriers)
    empty: np.ndarray  # the blocks without units


def _land(prepared: _Prepared, regions: np.ndarray, clipped: np.ndarray) -> _Land:
    """Return the land of a community's units from the land of its blocks' units (:func:`_share_out`).

    Along barriers, the regions of neighbouring blocks and the blocks without units are noded together so
    that they form one coverage of the community.
    """
    blocks, zone = prepared.blocks, prepared.zone
    if len(blocks) == 1 or prepared.plan is None or zone is None:  # no barrier crosses the community
        return _Land(clipped, regions, zone, blocks, blocks[:0])  # the blocks' clip is the community's
    empty = blocks[np.setdiff1d(np.arange(len(blocks)), zone)]
    pieces = common_edges(np.concatenate([regions, empty]))
    active = prepared.plan.active
    clipped = _clip_missing(prepared.geoms[active], np.full(len(active), prepared.community, dtype=object),
                            prepared.clipped[active])
    return _Land(clipped, pieces[: len(regions)], zone, blocks, pieces[len(regions):])


def _crossings(piece: dict, ids: np.ndarray, households, labels: np.ndarray, zones: np.ndarray,
               blocks: np.ndarray) -> list[dict]:
    """Return the grids whose units lie in several blocks.

    Each with its provisional code, the number of blocks, the households it holds in its smallest block and
    a point of that block.
    """
    households = np.asarray(households)
    out = []
    for g in np.unique(labels):
        mine = labels == g
        zone_set = np.unique(zones[mine])
        if len(zone_set) < 2:
            continue
        per_block = {int(z): int(households[mine & (zones == z)].sum()) for z in zone_set}
        smallest = min(per_block, key=lambda z: (per_block[z], z))
        out.append({"code": piece["unit_grid"][min(ids[mine])], "blocks": len(zone_set),
                    "block_households": per_block[smallest],
                    "point": shapely.point_on_surface(blocks[smallest])})
    return out


class _Plan(NamedTuple):
    """Which units of a community are tessellated and grouped when compounds are split along buildings."""

    active: np.ndarray  # table positions of the units that get land (compounds split, their buildings)
    split: dict[int, list[int]]  # container -> members, as positions in ``active``
    grouped: np.ndarray  # positions in ``active`` of the units grouped into grids (not the containers)
    split_of: np.ndarray  # for each grouped unit, the id of the compound it splits, else None
    derived: dict[str, list[str]]  # unit_id -> unit_ids whose grid codes it takes


def _split_plan(table: dict[str, np.ndarray], kind: str, rules: GridRules, report: Report) -> _Plan:
    """Split city compounds above the range that have buildings; other buildings follow their compound."""
    ids, kinds = table["unit_id"], table["kind"]
    row_of = {unit: row for row, unit in enumerate(ids)}
    children: dict[int, list[int]] = {}
    for row, parent in enumerate(table["parent_unit"]):
        if parent is not None and parent in row_of:
            children.setdefault(row_of[parent], []).append(row)
    households, population = table["households"], table["population"]
    split = [
        row
        for row, rows in sorted(children.items())
        if kind != "rural"
        and len(rows) >= 2
        and (households[row] > rules.city_households[1] or population[row] > rules.max_population)
    ]
    split_rows = {b for row in split for b in children[row]}
    active = np.array(
        [r for r in range(len(ids)) if kinds[r] != BUILDING_KIND or r in split_rows], dtype=np.int64
    )
    index = {row: i for i, row in enumerate(active)}
    grouped = np.array([i for i, row in enumerate(active) if row not in set(split)], dtype=np.int64)
    parent_of = {b: ids[row] for row in split for b in children[row]}
    derived = {ids[b]: [ids[row]] for row, rows in children.items() if row not in split for b in rows}
    for row in split:
        derived[ids[row]] = [ids[b] for b in children[row]]
        report.add(
            "compound_split",
            f"compound {ids[row]} ({households[row]} households) is split along its {len(children[row])} "
            "buildings",
            record=ids[row],
            severity="info",
        )
    return _Plan(
        active=active,
        split={index[row]: [index[b] for b in children[row]] for row in split},
        grouped=grouped,
        split_of=np.array([parent_of.get(row) for row in active[grouped]], dtype=object),
        derived=derived,
    )


def _report_units_geometry(
    geoms: np.ndarray, clipped: np.ndarray, table: dict[str, np.ndarray], report: Report
) -> None:
    """Units reaching beyond their community, and unit polygons overlapping each other."""
    areal = np.flatnonzero(table["areal"])
    outside = shapely.area(geoms[areal]) - shapely.area(clipped[areal])
    for unit, area in zip(table["unit_id"][areal], outside, strict=True):
        if area > _AREA_TOLERANCE_M2:
            report.add(
                "unit_crosses_boundary",
                f"unit {unit} reaches {area:,.0f} m² beyond its community; that "
                "part goes to the grids of the land it lies on",
                record=unit,
                severity="warning",
                area_m2=round(float(area), 1),
            )
    polygons = clipped[areal]
    left, right = shapely.STRtree(polygons).query(polygons, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    areas = shapely.area(shapely.intersection(polygons[left], polygons[right]))
    ids = table["unit_id"][areal]
    for a, b, area in zip(left, right, areas, strict=True):
        if area > _AREA_TOLERANCE_M2:
            report.add(
                "unit_overlap",
                f"units {ids[a]} and {ids[b]} overlap by {area:,.0f} m²; the overlap goes to "
                "the smaller unit's grid",
                record=f"{ids[a]}/{ids[b]}",
                severity="warning",
                area_m2=round(float(area), 1),
            )


def _links(
    clipped: np.ndarray, regions: np.ndarray, table: dict[str, np.ndarray], report: Report,
    splits: Sequence[tuple[BaseGeometry, np.ndarray]] = (), *, reach: float = _POINT_REACH_M,
) -> dict[str, np.ndarray]:
    """Return the units that must share a grid, as (member, head) pairs (numpy columns).

    A point inside, on or within ``reach`` (a metre for grids) of another unit's polygon, a point at an
    earlier point's place, a polygon left without land because smaller units cover it, and a point not
    linked yet in or near a compound split along its buildings (``splits``: its polygon and the positions
    of its buildings), whose land goes to its buildings: that point shares the grid of the building whose
    land holds it.
    """
    ids = table["unit_id"]
    kinds = table["kind"]
    rows = []
    points = np.flatnonzero(shapely.get_dimensions(clipped) == 0)
    polygons = np.flatnonzero(shapely.area(clipped) > 0)
    if len(points) and len(polygons):
        point, hit = shapely.STRtree(clipped[polygons]).query(
            clipped[points], predicate="dwithin", distance=reach
        )
        order = np.lexsort((polygons[hit], shapely.area(clipped[polygons[hit]]), point))
        point, hit = point[order], hit[order]
        first = np.ones(len(point), dtype=bool)
        first[1:] = point[1:] != point[:-1]
        for member, head in zip(points[point[first]], polygons[hit[first]], strict=True):
            rows.append((member, head))
            report.add(
                "unit_inside_unit",
                f"unit {ids[member]} ({kinds[member]}) is a point inside (or within {reach:g} m "
                f"of) unit {ids[head]}'s polygon and shares its grid; give it a polygon to keep it apart",
                record=ids[member],
                severity="warning",
                head=ids[head],
            )
    placed: dict[tuple[float, float], int] = {}
    first = shapely.get_geometry(clipped[points], 0)  # a point (the first of a multipoint)
    cells = np.round(shapely.get_coordinates(first) / GRID_SIZE_M).astype(np.int64)
    for member, key in zip(points, map(tuple, cells), strict=True):
        if key in placed:
            rows.append((member, placed[key]))
            report.add(
                "units_same_place",
                f"units {ids[placed[key]]} and {ids[member]} are points at the same place "
                "and share a grid; give them their own locations or polygons",
                record=ids[member],
                severity="warning",
                head=ids[placed[key]],
            )
        else:
            placed[key] = int(member)
    landless = [p for p in polygons if shapely.is_empty(regions[p])]
    for member in landless:
        cover = shapely.area(shapely.intersection(clipped[member], regions))
        rows.append((member, int(np.argmax(cover))))
    rows += _split_links(clipped, regions, points, splits, {member for member, _ in rows}, table, report)
    pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
    return {"member": pairs[:, 0], "head": pairs[:, 1]}


def _split_links(clipped: np.ndarray, regions: np.ndarray, points: np.ndarray,
                 splits: Sequence[tuple[BaseGeometry, np.ndarray]], linked: set, table: dict[str, np.ndarray],
                 report: Report) -> list[tuple[int, int]]:
    """Link each point not linked yet in or near a split compound to the building whose land holds it.

    The land of a compound split along its buildings goes to its buildings, so a point unit inside it has
    no land around it: it shares the grid of the building whose land holds it (else the nearest).
    """
    ids, kinds, rows = table["unit_id"], table["kind"], []
    for polygon, buildings in splits:
        near = points[shapely.dwithin(clipped[points], polygon, _POINT_REACH_M)]
        own = set(buildings.tolist())
        for member in (p for p in near if p not in linked and p not in own):
            head = _point_holder(clipped[member], regions, buildings)
            if head is None:
                continue
            rows.append((int(member), head))
            linked.add(member)
            report.add(
                "unit_inside_unit",
                f"unit {ids[member]} ({kinds[member]}) is a point inside (or within {_POINT_REACH_M:g} m "
                f"of) a compound split along its buildings and shares the grid of its building {ids[head]}",
                record=ids[member],
                severity="warning",
                head=ids[head],
            )
    return rows


def _point_holder(point: BaseGeometry, regions: np.ndarray, candidates: np.ndarray) -> int | None:
    """Return the candidate whose land holds the point, else the nearest (None when none has land)."""
    candidates = np.asarray(candidates, dtype=np.int64)
    land = regions[candidates]
    distance = np.where(shapely.is_empty(land), np.inf, shapely.distance(land, point))
    return int(candidates[np.argmin(distance)]) if np.isfinite(distance).any() else None


def _with_narrow_links(links: dict[str, np.ndarray], regions: np.ndarray, community,
                       frame: dict[str, np.ndarray], rules: GridRules, report: Report,
                       zones: np.ndarray | None, code: str) -> dict[str, np.ndarray]:
    """Add the links that join land too narrow for a grid to a neighbour (:func:`narrow_links`)."""
    fixed = (_roles(frame, rules) == "dedicated") | pd.notna(np.asarray(frame["split_of"], dtype=object))
    extra = narrow_links(regions, community, np.asarray(frame["unit_id"], dtype=object),
                         np.asarray(frame["households"], dtype=float),
                         np.asarray(frame["population"], dtype=float),
                         np.column_stack([links["member"], links["head"]]).astype(np.int64),
                         high=rules.city_households[1], max_population=rules.max_population, report=report,
                         zones=zones, fixed=fixed, code=code)
    if not len(extra):
        return links
    pairs = np.asarray(extra, dtype=np.int64).reshape(-1, 2)
    return {"member": np.concatenate([links["member"], pairs[:, 0]]),
            "head": np.concatenate([links["head"], pairs[:, 1]])}


def _total(value: float) -> int | None:
    """Return a grid's sum of unit counts as an int, None (unknown) when any unit's count is unknown."""
    return None if np.isnan(value) else int(value)


def _piece(
    code: str,
    geometries: list | np.ndarray,
    groups: list[GridRow],
    members: list,
    table: dict[str, np.ndarray],
    derived=None,
    moved: np.ndarray | None = None,
) -> dict:
    """Return the grids of one community, provisional codes and the grid code of each unit.

    Grids come in the order of their first unit id; :func:`_in_reading_order` numbers them.
    """
    geometries = np.asarray(geometries, dtype=object)
    ids = table["unit_id"]
    rows_of = [np.asarray(m, dtype=np.intp) for m in members]
    group_of = np.repeat(np.arange(len(rows_of)), [len(m) for m in rows_of])
    flat = np.concatenate(rows_of)
    totals = {}
    for column in COUNT_COLUMNS:  # every grid's sum at once: numpy per grid costs more than the sums
        totals[column] = np.zeros(len(rows_of))  # NaN (an unknown count) stays NaN
        np.add.at(totals[column], group_of, table[column][flat].astype(float))
    first_id = [min(ids[m]) if len(m) else "" for m in members]
    order = np.argsort(np.asarray(first_id, dtype=str), kind="stable")
    rows, unit_grid = [], {}
    for sequence, g in enumerate(order, start=1):
        grid_code = f"{code}-{sequence:03d}"
        member_ids = sorted(ids[members[g]])
        unit_grid.update(dict.fromkeys(member_ids, grid_code))
        rows.append(
            {
                "code": grid_code,
                "type": groups[g].type,
                "community_code": code,
                **{column: _total(values[g]) for column, values in totals.items()},
                "n_units": len(member_ids),
                "unit_ids": join_ids(member_ids),
                "reason": groups[g].reason,
                "note": groups[g].note,
                "position": "approximate" if moved is not None and moved[members[g]].any() else "exact",
                "geometry": geometries[g],
            }
        )
    for unit, sources in (derived or {}).items():  # a split compound, and buildings of unsplit compounds
        unit_grid[unit] = join_ids(sorted({unit_grid[source] for source in sources if source in unit_grid}))
    return {"rows": rows, "unit_grid": unit_grid}


def _moved_units(units: gpd.GeoDataFrame, pieces: list[dict], crs) -> gpd.GeoDataFrame:
    """Return a copy of the units with the moved points in place and the ``position`` of each unit."""
    moved = {unit: point for piece in pieces for unit, point in piece.get("moved", {}).items()}
    out = units.copy()
    at = out["unit_id"].isin(list(moved)).to_numpy()
    out["position"] = pd.Series(np.where(at, "approximate", "exact"), index=out.index, dtype=object)
    if at.any():
        points = gpd.GeoSeries([moved[u] for u in out["unit_id"][at]], crs=crs).to_crs(out.crs)
        geometry = out.geometry.to_numpy().copy()
        geometry[at] = points.to_numpy()
        out[out.geometry.name] = gpd.GeoSeries(geometry, index=out.index, crs=out.crs)
    return out


def _in_reading_order(grids: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """Give each community's grids the numbers ``-001``, ``-002``, … in reading order, as the registry does.

    The order is :func:`gridmap.division.order.reading_order` of the grids in their output CRS, the one
    :meth:`gridmap.codes.Registry.assign` applies when it first issues codes, so a grid's temporary number
    is the serial number of its permanent code. Returns the renumbered grids (sorted by code) and
    ``{provisional code: code}``.
    """
    geometries = grids.geometry.to_numpy()
    landless = shapely.is_missing(geometries) | shapely.is_empty(geometries)  # see grid_without_land
    codes = np.empty(len(grids), dtype=object)
    for community, positions in grids.groupby("community_code", sort=False).indices.items():
        with_land = positions[~landless[positions]]
        ordered = np.concatenate([with_land[reading_order(geometries[with_land])],
                                  positions[landless[positions]]])
        codes[ordered] = [f"{community}-{n:03d}" for n in range(1, len(ordered) + 1)]
    renamed = dict(zip(grids["code"], codes, strict=True))
    grids = grids.assign(code=codes).sort_values("code", kind="stable", ignore_index=True)
    return grids, renamed


def _grids_frame(pieces: list[dict], crs) -> gpd.GeoDataFrame:
    rows = [row for piece in pieces for row in piece["rows"]]
    frame = pd.DataFrame(rows, columns=GRID_COLUMNS + ["geometry"])
    for column in ("households", "population", "buildings", "n_units"):
        frame[column] = frame[column].astype("Int64" if column in _UNKNOWABLE else np.int64)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=crs)


def _range_tables(grids: gpd.GeoDataFrame, rules: GridRules, report: Report) -> None:
    """Households per grid by community, and every grid outside its target range with the reason."""
    low_high = np.array([target_range(t, rules) for t in grids["type"]], dtype=float).reshape(-1, 2)
    ranged = grids["type"].to_numpy() != "dedicated"
    population_cap = np.where(grids["type"].to_numpy() == "city", rules.max_population, np.inf)
    outside = ranged & (
        (grids["households"].to_numpy() < low_high[:, 0])
        | (grids["households"].to_numpy() > low_high[:, 1])
        | (grids["population"].to_numpy() > population_cap)
    )
    flagged = grids.loc[
        outside, ["code", "community_code", "type", "households", "population", "reason", "note"]
    ]
    for row in flagged.itertuples():
        report.add(
            "grid_outside_range",
            f"grid {row.code} ({row.type}, {row.reason}) has {row.households} "
            f"households and {row.population} people: {row.note}",
            record=row.code,
            severity="warning",
            households=row.households,
            population=row.population,
        )
    report.tables["outside_range"] = flagged.reset_index(drop=True)
    counted = grids.loc[ranged].assign(outside=outside[ranged])
    table = (
        counted.groupby("community_code")
        .agg(
            n_grids=("code", "size"),
            min=("households", "min"),
            median=("households", "median"),
            max=("households", "max"),
            n_outside_range=("outside", "sum"),
        )
        .reset_index()
    )
    report.tables["households"] = table.astype({"n_outside_range": np.int64})


def _warn_summary(report: Report) -> None:
    frame = report.to_frame()
    frame = frame[frame["check"].isin(_WARN_CHECKS)]
    if len(frame):
        text = ", ".join(f"{check} {n}" for check, n in frame["check"].value_counts().items())
        warnings.warn(f"grid build: {text}; each finding is listed in the 'report' layer that "
                      "`gridmap build` writes (in Python: the result's .report)", GridmapWarning,
                      stacklevel=3)
