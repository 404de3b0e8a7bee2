"""Micro-grids (微网格): divide each grid into micro-grids of a few buildings that tile it exactly.

Guilin runs 5,765 grids and 28,493 micro-grids: a micro-grid is a handful of buildings, about 30–50
households (:class:`~gridmap.division.rules.MicroRules`), looked after by one micro-grid worker. The division
is the one :func:`~gridmap.division.build_grids` applies to communities, one level down, with the same
functions: each building goes to the grid holding its representative point (a point building's point, a
footprint's :func:`shapely.point_on_surface`), the grid's land is shared out among its buildings
(:func:`~gridmap.division.tessellate.unit_regions`), buildings are grouped with their neighbours up to the
household range (:func:`~gridmap.division.group.group_units`; a building above the ceiling stands alone,
a building is never divided) and the groups' land is dissolved into micro-grids that tile the grid.

No micro-grid of several buildings holds more households than the ceiling, except buildings at one place,
which share a micro-grid whatever their households (reported): points at the same place, and a point
building on or inside a footprint (within 1 cm: the footprint is never divided). A point outside a
footprint, however close, gets its own land and is grouped like any other building.

A micro-grid's code is its grid's code followed by a sequence of ``micro_width`` digits (two: the
``micro_width`` of the code schemes of :mod:`gridmap.codes.scheme`) in reading order
(:func:`~gridmap.division.order.reading_order`):
``450102001003001`` → ``45010200100300101``, ``45010200100300102`` … A grid without buildings is not
divided: it is one micro-grid, sequence ``01``, with the grid's own polygon.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> grids = gpd.GeoDataFrame({"code": ["450102001003001"], "community_code": ["450102001003"]},
...     geometry=[box(108.300, 22.800, 108.302, 22.801)], crs="EPSG:4490")
>>> buildings = gpd.GeoDataFrame({"unit_id": ["B1", "B2", "B3", "B4"], "households": [24, 20, 36, 12]},
...     geometry=[Point(108.3003, 22.8006), Point(108.3007, 22.8006), Point(108.3013, 22.8004),
...               Point(108.3017, 22.8004)], crs="EPSG:4490")
>>> micro = build_microgrids(grids, buildings)
>>> micro.microgrids[["code", "households", "buildings", "unit_ids"]]
                code  households  buildings unit_ids
0  45010200100300101          44          2    B1;B2
1  45010200100300102          48          2    B3;B4
>>> micro.buildings["microgrid_code"].tolist()
['45010200100300101', '45010200100300101', '45010200100300102', '45010200100300102']
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.crs import metric_crs
from gridmap.division.build import _links, _may_link, _split_by
from gridmap.division.group import GridRow, group_unit_rows
from gridmap.division.order import reading_order
from gridmap.division.rules import MicroRules
from gridmap.division.tessellate import (
    _batches,
    adjacent_pairs_each,
    clip_units,
    connect_parts,
    dissolve,
    share_land,
)
from gridmap.errors import CodeError, CRSError, GeometryError, GridmapError, SchemaError
from gridmap.findings import Report
from gridmap.schema import BUILDING_KIND, caller_columns, join_ids, model_columns

__all__ = ["build_microgrids", "MicroBuild", "MICROGRID_COLUMNS", "MICRO_WIDTH"]

#: A building this close to a grid (m) but outside every grid is on the grid's outer edge: it is the grid's.
_EDGE_TOLERANCE_M = 0.01
#: A point building this close to a footprint (m) is on it: it stands at the footprint's place and shares its
#: micro-grid (a footprint is never divided). A point further out, however close, gets its own land, so that
#: the household ceiling holds for it (grids link points within a metre, for their clearance).
_ON_FOOTPRINT_M = 0.01
#: Digits of the micro-grid sequence by default, as in the default code scheme (``DEFAULT.micro_width``).
MICRO_WIDTH = 2

#: Columns of the micro-grids layer, before the geometry. ``buildings`` counts the micro-grid's buildings.
MICROGRID_COLUMNS = [
    "code",
    "grid_code",
    "community_code",
    "households",
    "population",
    "buildings",
    "unit_ids",
    "reason",
    "note",
]


@dataclass(frozen=True, eq=False)  # frames do not compare to one bool
class MicroBuild:
    """The result of :func:`build_microgrids`.

    Attributes
    ----------
    microgrids : geopandas.GeoDataFrame
        One row per micro-grid, sorted by code: ``code`` (grid code + sequence), ``grid_code``,
        ``community_code``, ``households``, ``population``, ``buildings`` (number of buildings),
        ``unit_ids`` (";"-joined building ids), ``reason`` (alone / merged / no buildings), ``note``,
        polygon; in the grids' CRS.
    buildings : geopandas.GeoDataFrame
        The input buildings with ``grid_code`` and ``microgrid_code`` (None for a building in no grid).
    report : gridmap.Report
        Findings: buildings outside every grid, missing counts, buildings sharing a point, micro-grids
        outside the household range.
    """

    microgrids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    report: Report

    def summary(self) -> pd.DataFrame:
        """Micro-grids per grid: how many, and their households (min, median, max)."""
        return (self.microgrids.groupby("grid_code")
                .agg(microgrids=("code", "size"), households_min=("households", "min"),
                     households_median=("households", "median"), households_max=("households", "max"))
                .reset_index())

    def __repr__(self) -> str:
        return (f"MicroBuild({len(self.microgrids)} micro-grids in {self.microgrids['grid_code'].nunique()} "
                f"grids, {len(self.buildings)} buildings; {self.report.summary()})")

    def _repr_html_(self) -> str:
        grids = self.microgrids["grid_code"].nunique()
        heading = (f"<p><b>{len(self.microgrids)} micro-grids</b> in {grids} grids from "
                   f"{len(self.buildings)} buildings</p>")
        return heading + f"<p>{html.escape(self.report.summary())}</p>"


def build_microgrids(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None = None,
                     rules: MicroRules | None = None, *, micro_width: int = MICRO_WIDTH) -> MicroBuild:
    """Divide every grid into micro-grids of a few buildings that tile it exactly.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        ``code`` (or 网格编码; unique text, permanent or temporary), optional ``community_code``, polygons
        or multipolygons, any CRS.
    buildings : geopandas.GeoDataFrame, optional
        One row per building (楼栋): ``households`` (户数, required), optional ``unit_id`` (编号, 楼栋编号;
        row numbers when absent), ``name`` (楼栋名称), ``population`` (人口); points or footprints, any CRS.
        None or empty: no grid is divided.
    rules : MicroRules, optional
        Household range (default 30–50), population cap and neighbour distance.
    micro_width : int, default 2
        Digits of the micro-grid sequence: the ``micro_width`` of the grids' code scheme
        (:class:`gridmap.codes.scheme.CodeScheme`; 2 in the default and type-digit schemes).

    Returns
    -------
    MicroBuild
        ``microgrids``, ``buildings`` (with ``grid_code`` and ``microgrid_code``) and ``report``.

    Raises
    ------
    GridmapError
        Grids without unique codes or CRS, buildings without households or with duplicate ids, negative
        counts, line geometries, ``micro_width`` not 1–4, or a grid needing more micro-grids than the
        sequence holds (99).
    """
    rules = MicroRules() if rules is None else rules
    if not isinstance(rules, MicroRules):
        raise GridmapError(f"rules must be a MicroRules, got {type(rules).__name__}",
                           fix="pass gridmap.division.MicroRules(...) or MicroRules.from_toml(path)")
    width = micro_width
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or not 1 <= width <= 4:
        raise CodeError(f"micro_width must be 1–4 digits, got {width!r}",
                        fix="pass the micro_width of the grids' code scheme (2 in the default scheme)")
    grids = _checked_grids(model_columns(grids, "grids")[0])
    crs = metric_crs(grids)
    report = Report("micro-grid build")
    if buildings is None:
        buildings = gpd.GeoDataFrame({"households": pd.Series(dtype=np.int64)}, geometry=[], crs=grids.crs)
    footprints, names = model_columns(buildings, "buildings")
    table = _building_table(footprints, report)
    grid_of = _grid_of(footprints, grids, table, report)
    grid_geoms = grids.to_crs(crs).geometry.to_numpy()
    building_geoms = footprints.to_crs(crs).geometry.to_numpy() if len(footprints) else np.empty(0, object)
    codes = grids["code"].to_numpy(dtype=object)
    by_code = np.argsort(codes.astype(str), kind="stable")  # grids in code order
    rank = np.empty(len(codes), dtype=np.int64)
    rank[by_code] = np.arange(len(codes))
    located = np.flatnonzero(grid_of >= 0)  # buildings by grid (in code order), then by id
    located = located[np.lexsort((table["unit_id"].to_numpy(dtype=str)[located], rank[grid_of[located]]))]
    columns = {column: table[column].to_numpy() for column in table.columns}
    where = rank[grid_of[located]]
    divided = []
    buildings = np.bincount(where, minlength=len(codes)) + 1  # a batch of grids at a time: memory
    for batch in _batches(np.arange(len(codes)), buildings, _BATCH_BUILDINGS):
        a, b = np.searchsorted(where, [batch[0], batch[-1] + 1])
        mine = located[a:b]
        divided += _divide_grids(codes[by_code[batch]], grid_geoms[by_code[batch]], where[a:b] - batch[0],
                                 building_geoms[mine], {k: v[mine] for k, v in columns.items()}, rules,
                                 crs=(crs, grids.crs), start=a)
    rows, micro_of, communities = [], np.full(len(table), None, dtype=object), _communities(grids)
    for g, (pieces, findings) in zip(by_code, divided, strict=True):
        report.extend(findings)
        if len(pieces) >= 10 ** width:
            raise CodeError(f"grid {codes[g]} needs {len(pieces)} micro-grids but a {width}-digit sequence "
                            f"holds {10 ** width - 1}", record=f"grid {codes[g]}",
                            fix="raise the micro-grid household range (MicroRules.households) or divide the "
                                "grid first")
        community = communities[g]
        for sequence, piece in enumerate(pieces, start=1):
            code = f"{codes[g]}{sequence:0{width}d}"
            micro_of[located[piece["members"]]] = code
            rows.append({"code": code, "grid_code": codes[g], "community_code": community,
                         **{k: v for k, v in piece.items() if k != "members"}})
    microgrids = _frame(rows, grids)
    _range_findings(microgrids, rules, report)
    out = footprints.copy()
    out["grid_code"] = pd.Series([codes[g] if g >= 0 else None for g in grid_of], index=out.index,
                                 dtype=object)
    out["microgrid_code"] = pd.Series(micro_of, index=out.index, dtype=object)
    return MicroBuild(microgrids=microgrids, buildings=caller_columns(out, names), report=report)


def _checked_grids(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(grids, gpd.GeoDataFrame):
        raise SchemaError(f"grids must be a GeoDataFrame, got {type(grids).__name__}",
                          fix="read them with gridmap.read_layer")
    if "code" not in grids.columns:
        raise SchemaError(f"grids have no code column (columns: {', '.join(map(str, grids.columns))})",
                          fix="give every grid its code (code or 网格编码)")
    if grids.crs is None:
        raise CRSError("grids have no CRS", fix="set the grids' CRS (EPSG:4490 or EPSG:4326) with set_crs")
    codes = grids["code"]
    bad = ~codes.map(lambda c: isinstance(c, str) and c.strip() != "").to_numpy(dtype=bool)
    if bad.any():
        raise SchemaError(f"grid code {codes.iloc[int(np.argmax(bad))]!r} is not text",
                          record=f"row {grids.index[int(np.argmax(bad))]}",
                          fix="read codes as text and give every grid its code")
    duplicated = codes.duplicated().to_numpy()
    if duplicated.any():
        raise SchemaError(f"grid code {codes.iloc[int(np.argmax(duplicated))]} is used by more than one grid",
                          record=f"row {grids.index[int(np.argmax(duplicated))]}",
                          fix="give every grid its own code")
    geoms = grids.geometry.to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms) | (shapely.get_dimensions(geoms) != 2)
    if empty.any():
        raise GeometryError(f"grid {codes.iloc[int(np.argmax(empty))]} has no polygon",
                            record=f"grid {codes.iloc[int(np.argmax(empty))]}",
                            fix="give every grid its polygon (gridmap.repair_geometries repairs bad ones)")
    return grids.reset_index(drop=True)


def _communities(grids: gpd.GeoDataFrame) -> np.ndarray:
    """Return each grid's community code: its column, else the 12 digits its code starts with (else None)."""
    given = (grids["community_code"].to_numpy(dtype=object) if "community_code" in grids.columns
             else np.full(len(grids), None, dtype=object))
    return np.array([column if isinstance(column, str) else
                     code[:12] if code[:12].isdigit() and len(code[:12]) == 12 else None
                     for column, code in zip(given, grids["code"].to_numpy(dtype=object), strict=True)],
                    dtype=object)


def _building_table(buildings: gpd.GeoDataFrame, report: Report) -> pd.DataFrame:
    """unit_id, kind, households, population and areal of each building, by row position."""
    if not isinstance(buildings, gpd.GeoDataFrame):
        raise SchemaError(f"buildings must be a GeoDataFrame, got {type(buildings).__name__}",
                          fix="read them with gridmap.read_layer")
    if len(buildings) and buildings.crs is None:
        raise CRSError("buildings have no CRS", fix="set the buildings' CRS (EPSG:4490 or EPSG:4326)")
    geoms = buildings.geometry.to_numpy()
    lines = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
                           & (shapely.get_dimensions(geoms) == 1))
    if len(lines):
        raise GeometryError(f"building at row {buildings.index[lines[0]]} is a line",
                            record=f"row {buildings.index[lines[0]]}",
                            fix="give buildings as points or footprint polygons")
    return pd.DataFrame({"unit_id": _ids(buildings, report), "kind": BUILDING_KIND,
                         "households": _count(buildings, "households", report),
                         "population": _count(buildings, "population", report),
                         "areal": shapely.get_dimensions(geoms) == 2})


def _ids(buildings: gpd.GeoDataFrame, report: Report) -> np.ndarray:
    if "unit_id" not in buildings.columns:
        if len(buildings):
            report.add("building_ids", "buildings have no id column (unit_id, 编号, 楼栋编号); their row "
                       "numbers (1, 2, …) are their ids", severity="info")
        return np.array([str(n) for n in range(1, len(buildings) + 1)], dtype=object)
    ids = buildings["unit_id"]
    missing = ids.isna().to_numpy()
    if missing.any():
        raise SchemaError("a building has no id", record=f"row {buildings.index[int(np.argmax(missing))]}",
                          fix="give every building its id (unit_id, 编号)")
    ids = ids.astype(str).str.strip()
    duplicated = ids.duplicated().to_numpy()
    if duplicated.any():
        raise SchemaError(f"building id {ids.iloc[int(np.argmax(duplicated))]} is used twice",
                          record=f"row {buildings.index[int(np.argmax(duplicated))]}",
                          fix="give every building its own id")
    return ids.to_numpy(dtype=object)


def _count(buildings: gpd.GeoDataFrame, column: str, report: Report) -> np.ndarray:
    """Return a count column (missing values 0, reported); households is required."""
    if column not in buildings.columns:
        if column == "households":
            raise SchemaError(f"buildings have no households column (columns: "
                              f"{', '.join(map(str, buildings.columns))})",
                              fix="add the households (户数) of every building")
        return np.zeros(len(buildings), dtype=np.int64)
    values = pd.to_numeric(buildings[column], errors="coerce")
    negative = (values < 0).to_numpy()
    if negative.any():
        row = buildings.index[int(np.argmax(negative))]
        raise SchemaError(f"building at row {row} has negative {column} ({values[row]})", record=f"row {row}",
                          fix=f"correct the {column} of that building")
    for row in buildings.index[values.isna().to_numpy()]:
        report.add("missing_count", f"building at row {row} has no {column}; counted as 0",
                   record=f"row {row}", severity="warning", column=column)
    return values.fillna(0).round().astype(np.int64).to_numpy()


def _grid_of(buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, table: pd.DataFrame,
             report: Report) -> np.ndarray:
    """Return the grid (position) holding each building's representative point, -1 for none (reported).

    A point belongs to the grids it intersects (interior or boundary), compared in the grids' CRS; on an
    edge shared by two grids it goes to the one with the smaller code, as a case there does
    (:func:`gridmap.cases.assign`). A point outside every grid by at most 1 cm (an outer edge, after
    reprojection) goes to the nearest grid.
    """
    if not len(buildings):
        return np.empty(0, dtype=np.int64)
    geoms = buildings.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    points = np.full(len(geoms), None, dtype=object)
    points[present] = shapely.point_on_surface(geoms[present])
    points = gpd.GeoSeries(points, crs=buildings.crs).to_crs(grids.crs).to_numpy()
    polygons = grids.geometry.to_numpy()
    point, grid = shapely.STRtree(polygons).query(points, predicate="intersects")
    rank = np.argsort(np.argsort(grids["code"].to_numpy(dtype=str), kind="stable"))
    order = np.lexsort((rank[grid], point))
    point, grid = point[order], grid[order]
    first = np.r_[True, point[1:] != point[:-1]]
    grid_of = np.full(len(geoms), -1, dtype=np.int64)
    grid_of[point[first]] = grid[first]
    ids = table["unit_id"].to_numpy()
    for row in np.flatnonzero(~present):
        report.add("building_without_location",
                   f"building {ids[row]} has no geometry; it is in no micro-grid", record=ids[row],
                   severity="warning")
    outside = np.flatnonzero(present & (grid_of < 0))
    if len(outside):
        crs = metric_crs(grids)
        metric = gpd.GeoSeries(points[outside], crs=grids.crs).to_crs(crs).to_numpy()
        (_, nearest), distance = shapely.STRtree(grids.to_crs(crs).geometry.to_numpy()).query_nearest(
            metric, return_distance=True, all_matches=False)
        near = distance <= _EDGE_TOLERANCE_M  # on an outer edge, outside only by rounding of coordinates
        grid_of[outside[near]] = nearest[near]
        for row, metres in zip(outside[~near], distance[~near], strict=True):
            report.add("building_outside_grids",
                       f"building {ids[row]} lies {metres:,.0f} m outside every grid; it is in no "
                       "micro-grid", record=ids[row], severity="warning",
                       distance_m=round(float(metres), 1))
    return grid_of


#: Buildings per batch of grids divided at once.
_BATCH_BUILDINGS = 50_000


def _divide_grids(codes: np.ndarray, grid_geoms: np.ndarray, where: np.ndarray, geoms: np.ndarray,
                  table: dict[str, np.ndarray], rules: MicroRules, *, crs: tuple, start: int = 0
                  ) -> list[tuple[list[dict], Report]]:
    """Return the micro-grids of every grid and the findings of each grid.

    The micro-grids of a grid come in reading order, each with its geometry, counts and member positions.

    The buildings (``geoms``, ``table``: numpy columns) are sorted by their grid (``where``, a position in
    ``codes``), then by id; ``start`` is the position of the first among all grids' buildings. The land
    of all grids is shared out at once (:func:`~gridmap.division.tessellate.share_land`) and all
    micro-grids are dissolved in one call; only the grouping runs grid by grid. The division runs in the
    metric CRS ``crs[0]``; the micro-grids are numbered in the grids' CRS ``crs[1]``, as
    :meth:`gridmap.codes.Registry.assign` numbers new codes, so that a micro-grid's temporary sequence is
    the one its permanent code gets.
    """
    bounds = np.searchsorted(where, np.arange(len(codes) + 1))
    slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    clipped = clip_units(geoms, grid_geoms[where])
    regions = share_land(geoms, where, grid_geoms, clipped=clipped)
    position = shapely.point_on_surface(np.where(shapely.is_empty(clipped), geoms, clipped))
    table = {**table, "x": shapely.get_x(position), "y": shapely.get_y(position)}
    findings = [Report("micro-grids") for _ in codes]
    grouped = _group_buildings(geoms, clipped, regions, where, table, slices, rules, findings)
    sizes = np.array([len(rows) for _, rows in grouped], dtype=np.int64)
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    labels = np.concatenate([np.empty(0, dtype=np.int64)] + [local + start for (local, _), start
                                                               in zip(grouped, first, strict=True)])
    parts = np.split(dissolve(regions, labels, int(sizes.sum())), np.cumsum(sizes)[:-1])
    for g, part in enumerate(parts):
        if len(part):
            mine = slices[g]
            parts[g] = _connected(codes[g], part, grouped[g][0], clipped[mine], table["unit_id"][mine],
                                  findings[g])
    divided = np.flatnonzero(sizes > 1)  # one micro-grid keeps the grid's own polygon
    if len(divided):
        shown = gpd.GeoSeries(np.concatenate([parts[g] for g in divided]), crs=crs[0]).to_crs(crs[1])
        for grid, part in zip(divided.tolist(), np.split(shown.to_numpy(), np.cumsum(sizes[divided])[:-1]),
                              strict=True):
            parts[grid] = part
    return [(_pieces(grouped[g], parts[g], {k: v[part] for k, v in table.items()}, start + part.start),
             findings[g]) for g, part in enumerate(slices)]


def _group_buildings(geoms: np.ndarray, clipped: np.ndarray, regions: np.ndarray, where: np.ndarray,
                     table: dict[str, np.ndarray], slices: list[slice], rules: MicroRules,
                     findings: list[Report]) -> list[tuple[np.ndarray, list[GridRow]]]:
    """Group the buildings of each grid (:func:`~gridmap.division.group.group_unit_rows`): labels and rows."""
    pairs = adjacent_pairs_each([regions[part] for part in slices])
    may_link = _may_link(clipped, regions, where, len(slices), reach=_ON_FOOTPRINT_M)
    grid_rules = rules.as_grid_rules()
    out: list[tuple[np.ndarray, list[GridRow]]] = []
    for g, part in enumerate(slices):
        if part.start == part.stop:
            out.append((np.empty(0, dtype=np.int64), []))
            continue
        left, right = pairs[g]
        gap = shapely.distance(geoms[part][left], geoms[part][right])
        frame = {column: values[part] for column, values in table.items()}
        links = (_links(clipped[part], regions[part], frame, findings[g], reach=_ON_FOOTPRINT_M)
                 if may_link[g] else None)
        adjacency = {"left": left, "right": right, "gap_m": gap}
        out.append(group_unit_rows(frame, adjacency, community_kind="urban", rules=grid_rules, links=links))
    return out


def _connected(code: str, parts: np.ndarray, labels: np.ndarray, clipped: np.ndarray, ids: np.ndarray,
               report: Report) -> np.ndarray:
    """Return the micro-grids of one grid with detached parts moved to their neighbours.

    Parts that stay detached, and micro-grids without land, are reported.
    """
    parts, multipart = connect_parts(parts, [clipped[labels == g] for g in range(len(parts))])
    for g in multipart:
        report.add("microgrid_multipart", f"a micro-grid of grid {code} ({join_ids(ids[labels == g])}) has "
                   f"{shapely.get_num_geometries(parts[g])} separate parts: its buildings lie apart",
                   record=code, severity="warning")
    if len(parts) > 1:
        for g in np.flatnonzero(shapely.is_empty(parts)).tolist():  # a safeguard: every group gets land
            report.add("microgrid_without_land",
                       f"a micro-grid of grid {code} ({join_ids(ids[labels == g])}) got no land; please "
                       "report this with the input", record=code, severity="error")
    return parts


#: The micro-grid of a grid without buildings: the grid's own polygon (filled in by :func:`_frame`).
_NO_BUILDINGS = {"households": 0, "population": 0, "buildings": 0, "unit_ids": "", "reason": "no buildings",
                 "note": "", "geometry": None, "members": np.empty(0, dtype=np.int64)}


def _pieces(grouped: tuple[np.ndarray, list[GridRow]], parts: np.ndarray, table: dict[str, np.ndarray],
            start: int) -> list[dict]:
    """Return the micro-grids of one grid in reading order; one micro-grid keeps the grid's polygon (None).

    ``members`` are the positions of their buildings among all grids' buildings (the grid's start at
    ``start``).
    """
    labels, rows = grouped
    if not len(rows):
        return [_NO_BUILDINGS]
    if len(rows) == 1:
        parts, order = np.array([None], dtype=object), np.zeros(1, dtype=np.int64)
    else:
        empty = shapely.is_empty(parts)
        order = np.concatenate([np.flatnonzero(~empty)[reading_order(parts[~empty])], np.flatnonzero(empty)])
    members = _split_by(np.arange(len(labels)), labels, len(rows))
    ids = table["unit_id"]
    return [{"households": int(table["households"][members[g]].sum()),
             "population": int(table["population"][members[g]].sum()),
             "buildings": len(members[g]), "unit_ids": join_ids(sorted(ids[members[g]])),
             "reason": rows[g].reason, "note": rows[g].note, "geometry": parts[g],
             "members": start + members[g]} for g in order]


def _frame(rows: list[dict], grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the micro-grids in the grids' CRS; an undivided grid keeps its own polygon exactly."""
    frame = pd.DataFrame(rows, columns=[*MICROGRID_COLUMNS, "geometry"])
    for column in ("households", "population", "buildings"):
        frame[column] = frame[column].astype(np.int64)
    geometry = frame.pop("geometry").to_numpy(dtype=object)
    whole = shapely.is_missing(geometry)
    out = geometry.copy()
    own = pd.Series(grids.geometry.to_numpy(), index=grids["code"].to_numpy())
    out[whole] = own[frame["grid_code"].to_numpy()[whole]].to_numpy()
    return gpd.GeoDataFrame(frame, geometry=out, crs=grids.crs)


def _range_findings(microgrids: gpd.GeoDataFrame, rules: MicroRules, report: Report) -> None:
    """Micro-grids above the household range or population cap (below it is reported as info)."""
    low, high = rules.households
    for row in microgrids.itertuples():
        if row.buildings and (row.households > high or row.population > rules.max_population):
            why = "one building is never divided" if row.buildings == 1 else \
                "buildings at the same place share a micro-grid"
            report.add("microgrid_above_range", f"micro-grid {row.code} has {row.households} households and "
                       f"{row.population} people: {why}", record=row.code, severity="info",
                       households=row.households)
        elif row.buildings and row.households < low:
            report.add("microgrid_below_range", f"micro-grid {row.code} has {row.households} households: "
                       f"{row.note or 'no neighbour can join it within the range'}", record=row.code,
                       severity="info", households=row.households)
