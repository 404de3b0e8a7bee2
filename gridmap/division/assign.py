"""Put every base unit in exactly one community, and say so when the data disagree.

Rules, in this order:

* a **point** goes to the community that contains it; a point on a shared boundary (or in an overlap of two
  communities) goes to the community with the **smallest code**;
* a **polygon** goes to the community it overlaps most (area in the metric CRS of
  :func:`gridmap.crs.metric_crs`); equal areas, or a polygon that only touches communities, go to the
  smallest code;
* a unit outside every community keeps ``community_code`` NA, is excluded from grids and is reported with its
  distance to the nearest community (``strict=True`` raises :class:`~gridmap.errors.TopologyError`);
* a unit whose given ``community_code`` disagrees with its location is reported; its location wins unless
  ``prefer="attribute"``, in which case the given code wins when the unit still overlaps that community;
* communities that overlap each other are resolved: each overlap goes to one community by the rule of
  :mod:`gridmap.division.overlaps` (the one holding the units there, else the one it is the larger share
  of, else the smaller code) and is reported with its area and winner (``strict=True`` raises instead).

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> communities = gpd.GeoDataFrame({"code": ["450102001001", "450102001002"]},
...     geometry=[box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.32, 22.81)], crs="EPSG:4326")
>>> units = gpd.GeoDataFrame({"unit_id": ["A", "B"], "name": ["翠竹苑", "边界小区"]},
...     geometry=[Point(108.305, 22.805), Point(108.31, 22.805)], crs="EPSG:4326")
>>> assigned, report = assign_units(units, communities)
>>> assigned["community_code"].tolist()   # B lies on the shared boundary: smallest code
['450102001001', '450102001001']
>>> report.ok
True
"""

from __future__ import annotations

import os
import warnings
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap.division.overlaps import overlapping_pairs, resolve_overlaps
from gridmap.errors import (
    CodeError,
    CRSError,
    GeometryError,
    GridmapError,
    GridmapWarning,
    SchemaError,
    TopologyError,
)
from gridmap.findings import Report
from gridmap.schema import caller_columns, model_columns

__all__ = ["assign_units", "PREFER"]

#: Which source wins when a unit's given community_code disagrees with its location.
PREFER = ("location", "attribute")

#: Overlaps of communities smaller than this (m²) are digitising noise, not reported.
OVERLAP_TOLERANCE_M2 = 1.0

#: Longest edge kept when outlines are projected (degrees, about 50 m; metres for projected data).
_DENSIFY_DEGREES, _DENSIFY_M = 0.0005, 50.0

_POINT_TYPES = ("Point", "MultiPoint")
_POLYGON_TYPES = ("Polygon", "MultiPolygon")


class Assignment(NamedTuple):
    """Everything :func:`assign_units` computed, kept for :func:`gridmap.division.build_grids`."""

    units: gpd.GeoDataFrame
    report: Report
    crs: pyproj.CRS
    unit_geoms: np.ndarray  # metric geometries aligned with the units' rows
    community_geoms: np.ndarray  # metric geometries aligned with the communities' rows, overlaps resolved
    unit_community: np.ndarray  # position of each unit's community, -1 when outside every community


#: A units layer is tested for a GCJ-02/BD-09 shift when at least this many units carry a community_code
#: and fewer than this share of them lie in it.
_SHIFT_MIN_UNITS = 5
_SHIFT_AGREEMENT = 0.8

def assign_units(
    units: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, *, strict: bool = False, prefer: str = "location"
) -> tuple[gpd.GeoDataFrame, Report]:
    """Assign each base unit to exactly one community.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Base units: ``unit_id`` (str, unique), optional ``name`` and ``community_code``, point or polygon
        geometry (both may occur in one frame).
    communities : geopandas.GeoDataFrame
        Communities: ``code`` (12-digit str, unique), optional ``name``, polygon geometry.
    strict : bool, default False
        Raise :class:`~gridmap.errors.TopologyError` for a unit outside every community or for overlapping
        communities instead of reporting them.
    prefer : {"location", "attribute"}, default "location"
        Which wins when a given ``community_code`` disagrees with the unit's location. ``"attribute"`` keeps
        the given code when the unit still overlaps that community.

    Returns
    -------
    units : geopandas.GeoDataFrame
        A copy of ``units`` whose ``community_code`` is the assigned community (None outside every community).
    report : gridmap.Report
        Findings: ``unit_outside`` (with ``distance_m``), ``community_code_conflict``,
        ``unknown_community_code``, ``community_overlap`` (with ``area_m2``, ``winner`` and ``rule``: the
        overlap is resolved; ``report.tables["community_overlaps"]`` lists every one).

    Raises
    ------
    SchemaError, CodeError, CRSError, GeometryError
        The layers lack a column, have malformed codes, no CRS or invalid geometry.
    TopologyError
        With ``strict=True``: a unit outside every community, or overlapping communities.

    See Also
    --------
    gridmap.division.build_grids : assigns, groups and tessellates in one go.
    """
    units, names = model_columns(units, "units")
    result = assign(units, model_columns(communities, "admin")[0], strict=strict, prefer=prefer)
    return caller_columns(result.units, names), result.report


def assign(
    units: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, *, strict: bool = False, prefer: str = "location"
) -> Assignment:
    """Do the work of :func:`assign_units` and keep the metric geometries for the later steps."""
    if prefer not in PREFER:
        raise GridmapError(f"prefer={prefer!r} is not allowed",
                           fix=f"pass prefer= one of {', '.join(map(repr, PREFER))}")
    report = Report("assignment")
    communities = _checked_communities(communities, report, strict=strict)
    units = _checked_units(units, report, strict=strict)
    from gridmap.crs import metric_crs  # imported here: gridmap.crs is a sibling module written separately

    crs = metric_crs(communities)
    community_geoms = densified(communities.geometry).to_crs(crs).to_numpy()
    unit_geoms = densified(units.geometry).to_crs(crs).to_numpy()
    codes = communities["code"].to_numpy(dtype=object)

    if strict:
        _refuse_overlaps(community_geoms, codes, path=communities.attrs.get("gridmap_source"))
    native = units.geometry if units.crs == communities.crs else units.geometry.to_crs(communities.crs)
    pairs = _candidate_pairs(
        native.to_numpy(), communities.geometry.to_numpy(), unit_geoms, community_geoms, codes
    )
    located = _locate(pairs, len(units))
    _report_coordinate_shift(units, native, communities, located, codes, report)
    chosen = _apply_given_codes(units, located, pairs, codes, report, prefer=prefer)
    _report_outside(units, unit_geoms, community_geoms, codes, chosen, report, strict=strict)
    community_geoms, chosen = resolve_overlaps(
        community_geoms, codes, unit_geoms, chosen, report,
        unit_ids=units["unit_id"].to_numpy(dtype=object), tolerance_m2=OVERLAP_TOLERANCE_M2,
    )

    assigned = units.copy()
    assigned["community_code"] = pd.Series(
        [codes[i] if i >= 0 else None for i in chosen], index=units.index, dtype=object
    )
    _warn_summary(report)
    return Assignment(assigned, report, crs, unit_geoms, community_geoms, chosen)


def densified(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    """Return the geometry with vertices at most about 50 m apart, before it is projected.

    An edge drawn straight in degrees is a curve in the Gauss-Krüger plane (6 cm off the chord for a 2 km
    diagonal near Nanning). Grids built in the plane from densified outlines follow the drawn edge to within
    a tenth of a millimetre once brought back to degrees, so neighbouring communities' grids meet exactly.

    Examples
    --------
    >>> from shapely import box
    >>> outline = densified(gpd.GeoSeries([box(108.30, 22.80, 108.31, 22.81)], crs="EPSG:4326"))
    >>> int(shapely.get_num_coordinates(outline.iloc[0])) > 80   # a vertex every 0.0005 degrees or closer
    True
    """
    step = _DENSIFY_DEGREES if geometry.crs is not None and geometry.crs.is_geographic else _DENSIFY_M
    return geometry.segmentize(step)


def _checked_communities(communities: gpd.GeoDataFrame, report: Report, *, strict: bool) -> gpd.GeoDataFrame:
    """Refuse communities without codes, with duplicate or malformed codes or no CRS; repair bad polygons."""
    _check_frame(communities, "communities", ("code",))
    codes = communities["code"]
    for position, code in enumerate(codes):
        if not (isinstance(code, str) and len(code) == 12 and code.isdigit()):
            raise CodeError(
                f"community code {code!r} is not a 12-digit string",
                record=f"community row {position}",
                fix="give the 12-digit statistical code as text (read the column as str)",
            )
    duplicated = codes[codes.duplicated()]
    if len(duplicated):
        raise CodeError(
            f"community code {duplicated.iloc[0]} occurs more than once",
            record=f"community {duplicated.iloc[0]}",
            fix="give each community one row (dissolve parts)",
        )
    return _checked_geometries(
        communities, "community", communities["code"], _POLYGON_TYPES, report, strict=strict
    )


def _checked_units(units: gpd.GeoDataFrame, report: Report, *, strict: bool) -> gpd.GeoDataFrame:
    """Refuse units without unique text ids, no CRS, missing or line geometry; repair bad polygons."""
    _check_frame(units, "units", ("unit_id",))
    ids = units["unit_id"]
    bad = [value for value in ids if not isinstance(value, str) or not value]
    if bad:
        raise SchemaError(
            f"unit_id must be non-empty text, got {bad[0]!r}",
            record=f"unit {bad[0]!r}",
            fix="read unit_id as text, e.g. units['unit_id'] = units['unit_id'].astype(str)",
        )
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        raise SchemaError(
            f"unit_id {duplicated.iloc[0]} occurs more than once",
            record=f"unit {duplicated.iloc[0]}",
            fix="give every unit its own unit_id",
        )
    if "community_code" in units.columns:
        given = units["community_code"]
        wrong = given[given.notna() & ~given.map(lambda v: isinstance(v, str))]
        if len(wrong):
            raise CodeError(
                f"community_code {wrong.iloc[0]!r} is not text",
                record=f"unit {units['unit_id'][wrong.index[0]]}",
                fix="read community_code as text (12 digits with leading zeros)",
            )
    return _checked_geometries(units, "unit", ids, _POINT_TYPES + _POLYGON_TYPES, report, strict=strict)


def _check_frame(frame, name: str, columns: tuple[str, ...]) -> None:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SchemaError(
            f"{name} must be a GeoDataFrame, got {type(frame).__name__}",
            fix="read it with gridmap.io.read_layer or geopandas.read_file",
        )
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise SchemaError(
            f"{name} lack the column(s) {missing}; columns are {list(frame.columns)}",
            fix=f"rename or add {', '.join(missing)} (see gridmap.schema.COLUMN_ALIASES)",
        )
    if frame.crs is None:
        raise CRSError(
            f"{name} have no coordinate reference system",
            fix="set it, e.g. frame.set_crs('EPSG:4490') for CGCS2000 or 'EPSG:4326' for WGS84",
        )


def _checked_geometries(
    frame: gpd.GeoDataFrame,
    name: str,
    ids: pd.Series,
    allowed: tuple[str, ...],
    report: Report,
    *,
    strict: bool,
) -> gpd.GeoDataFrame:
    """Return the frame with invalid polygons repaired by gridmap.io.validation (strict: refused)."""
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise GeometryError(
            f"{name} {ids.iloc[int(np.argmax(missing))]} has no geometry",
            record=f"{name} {ids.iloc[int(np.argmax(missing))]}",
            fix=f"give the {name} a location, or remove it",
        )
    types = shapely.get_type_id(geoms)
    allowed_ids = [shapely.GeometryType[geom_type.upper()].value for geom_type in allowed]
    wrong = ~np.isin(types, allowed_ids)
    if wrong.any():
        first = int(np.argmax(wrong))
        raise GeometryError(
            f"{name} {ids.iloc[first]} is a {geoms[first].geom_type}, expected {' or '.join(allowed)}",
            record=f"{name} {ids.iloc[first]}",
            fix=f"give the {name} a point or polygon geometry",
        )
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return frame
    first = int(np.argmax(invalid))
    if strict:
        raise GeometryError(
            f"{name} {ids.iloc[first]} has an invalid polygon ({shapely.is_valid_reason(geoms[first])});"
            f" {int(invalid.sum())} invalid in all",
            record=f"{name} {ids.iloc[first]}",
            fix="repair the layer with gridmap.io.validation.repair_geometries and check the result",
        )
    from gridmap.io.validation import repair_geometries  # a sibling module; imported where needed

    repaired, findings = repair_geometries(frame.iloc[np.flatnonzero(invalid)], id_column=ids.name)
    still = ~shapely.is_valid(repaired.geometry.to_numpy()) | repaired.geometry.is_empty.to_numpy()
    if still.any():
        bad = repaired[ids.name].iloc[int(np.argmax(still))]
        raise GeometryError(
            f"{name} {bad} has an invalid polygon that cannot be repaired",
            record=f"{name} {bad}",
            fix="redraw it, or run gridmap.io.validation.repair_geometries and fix what it reports",
        )
    report.extend(findings)
    out = frame.copy()
    out.loc[repaired.index, out.geometry.name] = repaired.geometry
    return out


def _refuse_overlaps(geoms: np.ndarray, codes: np.ndarray, *, path: str | os.PathLike | None = None) -> None:
    """Strict mode: raise for the first two communities overlapping by more than the tolerance."""
    left, right = overlapping_pairs(geoms)
    areas = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    for a, b, area in zip(left, right, areas, strict=True):
        if area > OVERLAP_TOLERANCE_M2:
            raise TopologyError(
                f"communities {codes[a]} and {codes[b]} overlap by {area:,.0f} m²",
                path=path,
                record=f"communities {codes[a]}/{codes[b]}",
                fix="correct the boundaries so that communities only touch",
            )


def _candidate_pairs(
    units_native: np.ndarray,
    communities_native: np.ndarray,
    unit_geoms: np.ndarray,
    community_geoms: np.ndarray,
    codes: np.ndarray,
) -> pd.DataFrame:
    """Every (unit, community) pair that intersects, with the overlap area in m² (0 for points).

    Intersection is tested in the communities' own CRS, so that a point exactly on a boundary stays on it;
    areas are measured in the metric CRS.
    """
    units_pos, communities_pos = shapely.STRtree(communities_native).query(
        units_native, predicate="intersects"
    )
    areas = np.zeros(len(units_pos))
    polygonal = np.flatnonzero(shapely.get_dimensions(unit_geoms[units_pos]) == 2)
    if len(polygonal):
        units_at, communities_at = (
            unit_geoms[units_pos[polygonal]],
            community_geoms[communities_pos[polygonal]],
        )
        shapely.prepare(communities_at)  # our own projected copies: prepared once, many tests each
        inside = shapely.contains_properly(communities_at, units_at)  # most units: no overlay needed
        areas[polygonal[inside]] = shapely.area(units_at[inside])
        areas[polygonal[~inside]] = shapely.area(
            shapely.intersection(units_at[~inside], communities_at[~inside])
        )
    return pd.DataFrame(
        {"unit": units_pos, "community": communities_pos, "area": areas, "code": codes[communities_pos]}
    )


def _agreement(given: np.ndarray, located: np.ndarray, codes: np.ndarray) -> float:
    """Share of the units with a given community code that lie in that community."""
    found = np.where(located >= 0, codes[np.maximum(located, 0)], None)
    return float(np.mean(found == given))


def _report_coordinate_shift(units: gpd.GeoDataFrame, native: gpd.GeoSeries, communities: gpd.GeoDataFrame,
                             located: np.ndarray, codes: np.ndarray, report: Report) -> None:
    """Report a units layer that is in GCJ-02 or BD-09 although it is declared WGS84/CGCS2000.

    The communities are the reference: when most units that carry a ``community_code`` lie outside that
    community, but would lie inside it after the GCJ-02 (or BD-09) inverse shift, the layer was almost
    certainly geocoded by Amap (or Baidu) and saved as WGS84. No other reference exists in the data.
    """
    if "community_code" not in units.columns or not communities.crs.is_geographic:
        return
    has_code = units["community_code"].notna().to_numpy()
    if has_code.sum() < _SHIFT_MIN_UNITS:
        return
    given = units["community_code"].to_numpy(dtype=object)[has_code]
    before = _agreement(given, located[has_code], codes)
    if before >= _SHIFT_AGREEMENT:
        return
    from gridmap.crs import convert

    points = shapely.point_on_surface(native.to_numpy()[has_code])
    tree = shapely.STRtree(communities.geometry.to_numpy())
    for source in ("gcj02", "bd09"):
        lon, lat = convert(shapely.get_x(points), shapely.get_y(points), source, "wgs84")
        point, community = tree.query(shapely.points(lon, lat), predicate="within")
        shifted = np.full(len(points), -1, dtype=np.int64)
        shifted[point] = community
        after = _agreement(given, shifted, codes)
        if after >= _SHIFT_AGREEMENT and after - before >= 0.3:
            report.add(
                "coordinate_shift",
                f"the units look like {source.upper()} coordinates declared as WGS84: {before:.0%} of the "
                f"units with a community_code lie in that community as given, {after:.0%} after the "
                f"{source.upper()} inverse shift",
                record="units layer",
                severity="warning",
                fix=f'read the units with gridmap.read_layer(path, coords="{source}"), or convert them with '
                    f'gridmap.crs.convert_frame(units, "{source}", "wgs84")',
                agreement_before=round(before, 3),
                agreement_after=round(after, 3),
            )
            return


def _locate(pairs: pd.DataFrame, n_units: int) -> np.ndarray:
    """Largest overlap wins (areas compared to 1 cm²); ties and zero areas go to the smallest code."""
    ranked = pairs.assign(rank_area=-np.round(pairs["area"].to_numpy(), 4))
    ranked = ranked.sort_values(["unit", "rank_area", "code"], kind="mergesort").drop_duplicates("unit")
    located = np.full(n_units, -1, dtype=np.int64)
    located[ranked["unit"].to_numpy()] = ranked["community"].to_numpy()
    return located


def _apply_given_codes(
    units: gpd.GeoDataFrame,
    located: np.ndarray,
    pairs: pd.DataFrame,
    codes: np.ndarray,
    report: Report,
    *,
    prefer: str,
) -> np.ndarray:
    """Compare given community codes with the located ones; report conflicts and apply ``prefer``."""
    chosen = located.copy()
    if "community_code" not in units.columns:
        return chosen
    position_of = {code: i for i, code in enumerate(codes)}
    overlapping = set(zip(pairs["unit"], pairs["community"], strict=True))
    for row, (unit_id, given) in enumerate(zip(units["unit_id"], units["community_code"], strict=True)):
        if given is None or pd.isna(given):
            continue
        here = codes[located[row]] if located[row] >= 0 else None
        if given == here:
            continue
        if given not in position_of:
            report.add(
                "unknown_community_code",
                f"unit {unit_id} gives community_code {given}, which is not among "
                f"the communities; its location ({here or 'outside every community'}) is used",
                record=unit_id,
                severity="warning",
                given=given,
                located=here,
                winner="location",
            )
            continue
        wins = prefer == "attribute" and (row, position_of[given]) in overlapping
        if wins:
            chosen[row] = position_of[given]
        why = (
            "the given code wins (prefer='attribute') because the unit overlaps that community"
            if wins
            else "its location wins"
            + (
                " (it does not overlap the given community)"
                if prefer == "attribute"
                else "; pass prefer='attribute' to keep given codes where the unit overlaps them"
            )
        )
        report.add(
            "community_code_conflict",
            f"unit {unit_id} gives community_code {given} but lies in {here or 'no community'}; {why}",
            record=unit_id,
            severity="warning",
            given=given,
            located=here,
            winner="attribute" if wins else "location",
        )
    return chosen


def _report_outside(
    units: gpd.GeoDataFrame,
    unit_geoms: np.ndarray,
    community_geoms: np.ndarray,
    codes: np.ndarray,
    chosen: np.ndarray,
    report: Report,
    *,
    strict: bool,
) -> None:
    outside = np.flatnonzero(chosen < 0)
    if not len(outside):
        return
    (rows, nearest), distances = shapely.STRtree(community_geoms).query_nearest(
        unit_geoms[outside], return_distance=True, all_matches=False
    )
    names = units["name"] if "name" in units.columns else pd.Series("", index=units.index)
    for row, community, distance in zip(outside[rows], nearest, distances, strict=True):
        unit_id, name = units["unit_id"].iloc[row], names.iloc[row]
        fix = (
            f"check its coordinates (GCJ-02/BD-09 offsets, swapped lon/lat) or add the missing community; "
            f"the nearest is {codes[community]}"
        )
        if strict:
            raise TopologyError(
                f"unit {unit_id} ({name}) lies {distance:,.0f} m outside every community",
                path=units.attrs.get("gridmap_source"),  # set by gridmap.read_layer
                record=f"unit {unit_id}",
                fix=fix,
            )
        report.add(
            "unit_outside",
            f"unit {unit_id} ({name}) lies {distance:,.0f} m outside every community and is "
            f"excluded from grids; {fix}",
            record=unit_id,
            name=name,
            distance_m=round(float(distance), 1),
            nearest=codes[community],
        )


def _warn_summary(report: Report) -> None:
    if not len(report):
        return
    counts = report.counts()
    text = ", ".join(f"{check} {n}" for check, n in counts.items())
    warnings.warn(f"unit assignment: {text}; see the report for each record", GridmapWarning, stacklevel=4)
