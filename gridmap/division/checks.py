"""Check a grid layer against "一张网、全覆盖、不交叉、无死角" (one network, full coverage, no overlap).

:func:`check` inspects any grid layer — built by gridmap or drawn by hand elsewhere — and returns a
:class:`~gridmap.findings.Report` with one row per finding. Every finding has the record it is about, a
location (``lon``, ``lat``: a representative point in the layer's geographic CRS) and, where it has
one, an area ``area_m2`` measured in the metric CRS of the data (:func:`gridmap.crs.metric_crs`).
Topology is computed in the layer's own coordinates (edges are straight there); only measures are
projected.

Checks (stable names) and their severity:

=========================== ======== ======================================================================
check                       severity finding
=========================== ======== ======================================================================
``gap``                     error    land of a community (or a hole in the layer) in no grid
``overlap``                 error    two grids sharing more than ``tolerance_m2`` of land
``crosses_community``       error    a grid reaching more than ``tolerance_m2`` outside its own community
``unit_unassigned``         error    a base unit located in no grid
``unit_multiple``           error    a base unit located in two or more grids
``unit_grid_code``          error    a unit whose ``grid_code`` disagrees with its location
``duplicate_code``          error    two or more grids with the same code
``sliver``                  warning  a grid, gap or overlap that is tiny or very thin
``multipart``               warning  a grid made of several separate polygons
``invalid_geometry``        warning  a missing, non-polygon or invalid geometry (invalid ones are repaired)
``missing_code``            warning  a grid without a code
``unknown_community``       warning  a ``community_code`` that names no given community
``households_out_of_range`` warning  a city grid whose households lie outside the range
=========================== ======== ======================================================================

Overlaps and crossings count only their parts at least a millimetre wide (mean width): thinner parts are
coordinate rounding along long outlines, not land in two places.

Errors make ``report.ok`` False (the command line exits with 1). ``report.tables["summary"]`` has one
row per check: ``check``, ``severity``, ``count`` and ``area_m2`` (total area of its findings, 0 where
a check has no area). :func:`coverage_gaps` and :func:`coverage_overlaps` return the gap and overlap
polygons themselves, for a map or a GeoPackage.

Overlaps are found with an ``STRtree`` query of intersecting pairs, a DE-9IM test that their interiors
share area (``shapely.relate_pattern``, cheaper than an intersection) and then the intersection of those
pairs only. Shapely's coverage tools are deliberately not used: ``coverage_invalid_edges`` and
``coverage_is_valid`` skip edges that match a neighbour exactly, so they miss a grid that lies on a
second, "stacked" coverage (two departments' layers loaded as one: on Nanning's counties from two sources
they missed 4 overlapping pairs of up to 829 km²), and ``coverage_union_all`` refuses the slightly
mis-noded edges real layers have.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> d = 0.001  # about 100 m
>>> grids = gpd.GeoDataFrame(
...     {"code": ["450102001003001", "450102001003002"]},
...     geometry=[box(108.3, 22.8, 108.3 + d, 22.8 + d), box(108.3 + d, 22.8, 108.3 + 2 * d, 22.8 + d)],
...     crs="EPSG:4326")
>>> communities = gpd.GeoDataFrame(
...     {"code": ["450102001003"], "name": ["兴宁社区"]},
...     geometry=[box(108.3, 22.8, 108.3 + 2 * d, 22.8 + 1.1 * d)], crs="EPSG:4326")
>>> report = check(grids, communities)
>>> report.ok
False
>>> finding = report.to_frame().iloc[0]
>>> finding["check"], finding["record"], float(round(finding["area_m2"], -2))
('gap', '450102001003', 2300.0)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap.crs import metric_crs, transformer
from gridmap.errors import CRSError, GeometryError, GridmapError, SchemaError
from gridmap.findings import Report
from gridmap.io.validation import require_polygons
from gridmap.schema import model_columns

__all__ = ["check", "coverage_gaps", "coverage_overlaps", "CHECKS"]

logger = logging.getLogger(__name__)

#: Every check :func:`check` runs, with its severity.
CHECKS: dict[str, str] = {
    "gap": "error",
    "overlap": "error",
    "crosses_community": "error",
    "unit_unassigned": "error",
    "unit_multiple": "error",
    "unit_grid_code": "error",
    "duplicate_code": "error",
    "sliver": "warning",
    "multipart": "warning",
    "invalid_geometry": "warning",
    "missing_code": "warning",
    "unknown_community": "warning",
    "households_out_of_range": "warning",
}

#: Parts of an overlap or a crossing thinner than this (m, mean width 2 x area / perimeter) are rounding of
#: coordinates along an outline (hundreds of hairlines 0.02 mm wide along a county's 60 km edge add up to
#: a square metre) and are not counted.
_HAIRLINE_M = 0.001

#: Longest edge (degrees, about 50 m) of a geographic geometry when it is measured: the chord of a 50 m
#: edge is 0.04 mm off the curve it projects to.
_DENSIFY_DEGREES = 0.0005


class _Layer(NamedTuple):
    """A polygon layer ready for topology: repaired geometries in the storage CRS, and its measures."""

    geoms: np.ndarray  # shapely geometries, None where unusable
    records: np.ndarray  # str: the code, or "row <index>" when there is none
    crs: pyproj.CRS  # storage CRS
    metric: pyproj.CRS  # metric CRS for areas and distances


class _Pairs(NamedTuple):
    """Pairs of grids whose interiors share area, and the land they share (hairlines included)."""

    left: np.ndarray  # position of the first grid of each pair
    right: np.ndarray  # position of the second (right > left)
    shared: np.ndarray  # their intersection


class _Outside(NamedTuple):
    """Each grid's community and the land of the grid outside it, cut into measured polygon parts."""

    tree: shapely.STRtree  # of the communities
    given: list[str | None]  # each grid's community_code, None where missing
    own: np.ndarray  # position of each grid's community, -1: none
    present: np.ndarray  # positions of the grids with a geometry
    geoms: np.ndarray  # per grid: its land outside its community (the whole grid without one)
    parts: np.ndarray  # polygon parts of geoms[present]
    owner: np.ndarray  # position in present of each part
    area: np.ndarray  # of each part, m²
    perimeter: np.ndarray  # of each part, m


# --------------------------------------------------------------------------------------------------
# public API


def check(
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    *,
    households: tuple[float, float] = (300, 500),
    sliver_area_m2: float = 100.0,
    sliver_width_m: float = 2.0,
    tolerance_m2: float = 1.0,
) -> Report:
    """Check a grid layer for gaps, overlaps, slivers, community crossings, unit assignment and codes.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        The grid layer: ``code`` (str), polygons, and optionally ``type`` (city / rural / dedicated),
        ``community_code`` (12-digit str) and ``households``.
    communities : geopandas.GeoDataFrame, optional
        Communities (``code``, polygon). With them, gaps are the land of each community in no grid,
        and every grid must stay inside its community (``community_code``, or where that is absent
        the community it overlaps most). Without them, gaps are the holes inside the layer.
    units : geopandas.GeoDataFrame, optional
        Base units (``unit_id``, point or polygon, optional ``grid_code``): each must lie in exactly
        one grid — a point in its interior (a point on a shared edge counts once), a polygon by more
        than ``tolerance_m2`` of its area — and in the grid its ``grid_code`` names.
    households : (float, float), default (300, 500)
        Range of households of a city grid (all grids when there is no ``type`` column). Missing
        values are skipped.
    sliver_area_m2 : float, default 100.0
        Grids, gaps and overlaps smaller than this are slivers.
    sliver_width_m : float, default 2.0
        Grids, gaps and overlaps whose mean width (2 x area / perimeter) is below this are slivers.
    tolerance_m2 : float, default 1.0
        Gaps, overlaps and crossings up to this area are floating-point noise and not reported.

    Returns
    -------
    gridmap.findings.Report
        Findings as described in the module docstring; ``tables["summary"]`` counts them per check.

    Raises
    ------
    SchemaError
        A layer is not a GeoDataFrame or lacks ``code`` (grids, communities) or ``unit_id`` (units).
    CRSError
        A layer has no CRS.
    GeometryError
        No grid has a usable polygon.
    """
    _require_options(households=households, tolerance_m2=tolerance_m2, sliver_area_m2=sliver_area_m2,
                     sliver_width_m=sliver_width_m)
    slivers = {"sliver_area_m2": sliver_area_m2, "sliver_width_m": sliver_width_m}
    report = Report(f"grid check ({len(grids)} grids)")
    grids, communities, units = (model_columns(grids, "grids")[0], model_columns(communities, "admin")[0],
                                 model_columns(units, "units")[0])
    layer = _prepare(grids, "grids", report)
    comm = None if communities is None else _prepare(communities, "communities", None, like=layer)
    _check_codes(grids, layer, report)
    _check_multipart(layer, report)
    tree = shapely.STRtree(layer.geoms)
    area, perimeter = _measure(layer.geoms, layer.crs, layer.metric)
    _report_slivers(layer.records, layer.geoms, area, perimeter, "grid", layer.crs, report, **slivers)
    pairs = _overlapping_pairs(layer, tree)
    overlaps = _overlaps(layer, pairs, tolerance_m2)
    outside: _Outside | None = None
    gap_free: np.ndarray | None = None
    if comm is not None:
        outside = _outside_own(grids, layer, comm)
        gap_free = _gap_free(layer, tree, comm, outside, pairs, perimeter, tolerance_m2)
    gaps = _gaps(layer, tree, comm, tolerance_m2, gap_free=gap_free)
    _report_overlaps(overlaps, report)
    _report_gaps(gaps, report)
    for frame, part in ((gaps, "gap"), (overlaps, "overlap")):
        _report_slivers(frame["record"].to_numpy(), frame.geometry.to_numpy(), frame["area_m2"].to_numpy(),
                        frame["perimeter_m"].to_numpy(), part, layer.crs, report, **slivers)
    if comm is not None and outside is not None:
        _check_communities(grids, layer, comm, outside, area, report, tolerance_m2)
    if units is not None:
        _check_units(units, layer, tree, report, tolerance_m2)
    _check_households(grids, layer, report, households)
    report.tables["summary"] = _summary(report)
    logger.debug("checked %d grids: %s", len(grids), report.summary())
    return report


def coverage_gaps(
    grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None = None, *, tolerance_m2: float = 1.0
) -> gpd.GeoDataFrame:
    """Return the land covered by no grid, one polygon per gap.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        The grid layer (``code``, polygons; invalid polygons are repaired first).
    communities : geopandas.GeoDataFrame, optional
        Communities (``code``, polygon). Without them, gaps are the holes inside the grid layer.
    tolerance_m2 : float, default 1.0
        Gaps up to this area are ignored as floating-point noise.

    Returns
    -------
    geopandas.GeoDataFrame
        In the grids' CRS: ``community_code`` (None without communities), ``area_m2``, ``perimeter_m``,
        ``lon``, ``lat`` (a point inside the gap), ``grids`` (codes of the grids it borders, comma
        separated) and the gap polygon.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> ring = box(108.3, 22.8, 108.303, 22.803).difference(box(108.301, 22.801, 108.302, 22.802))
    >>> grids = gpd.GeoDataFrame({"code": ["A"]}, geometry=[ring], crs="EPSG:4326")
    >>> gaps = coverage_gaps(grids)
    >>> len(gaps), gaps["grids"].iloc[0], float(round(gaps["area_m2"].iloc[0], -2))
    (1, 'A', 11400.0)
    """
    _require_options(tolerance_m2=tolerance_m2)
    layer = _prepare(model_columns(grids, "grids")[0], "grids", None)
    comm = None if communities is None else _prepare(model_columns(communities, "admin")[0], "communities",
                                                     None, like=layer)
    tree = shapely.STRtree(layer.geoms)
    gaps = _gaps(layer, tree, comm, tolerance_m2)
    return gaps.rename(columns={"record": "community_code"})


def coverage_overlaps(grids: gpd.GeoDataFrame, *, tolerance_m2: float = 1.0) -> gpd.GeoDataFrame:
    """Return the land shared by two grids, one row per overlapping pair.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        The grid layer (``code``, polygons; invalid polygons are repaired first).
    tolerance_m2 : float, default 1.0
        Overlaps up to this area are ignored as floating-point noise.

    Returns
    -------
    geopandas.GeoDataFrame
        In the grids' CRS: ``grid_a``, ``grid_b`` (codes, or ``row <index>`` for grids without one),
        ``area_m2``, ``perimeter_m``, ``lon``, ``lat`` (a point inside the overlap) and the shared
        polygon(s).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"code": ["A", "B"]}, crs="EPSG:4326",
    ...     geometry=[box(108.3, 22.8, 108.302, 22.801), box(108.301, 22.8, 108.303, 22.801)])
    >>> shared = coverage_overlaps(grids)
    >>> shared[["grid_a", "grid_b"]].iloc[0].tolist(), float(round(shared["area_m2"].iloc[0], -2))
    (['A', 'B'], 11400.0)
    """
    _require_options(tolerance_m2=tolerance_m2)
    layer = _prepare(model_columns(grids, "grids")[0], "grids", None)
    overlaps = _overlaps(layer, _overlapping_pairs(layer, shapely.STRtree(layer.geoms)), tolerance_m2)
    return overlaps.drop(columns="record")


# --------------------------------------------------------------------------------------------------
# preparing layers


def _require_options(**options: object) -> None:
    """Refuse negative measures and a households range that is not (low, high)."""
    for name, value in options.items():
        if name == "households":
            ok = isinstance(value, Sequence) and len(value) == 2 and 0 <= value[0] <= value[1]
            allowed = "a pair (low, high) with 0 <= low <= high, e.g. (300, 500)"
        else:
            ok = isinstance(value, (int, float)) and math.isfinite(value) and value >= 0
            allowed = "a finite number >= 0"
        if not ok:
            raise GridmapError(f"{name} must be {allowed}, got {value!r}", fix=f"pass {name}= as {allowed}")


def _prepare(frame: gpd.GeoDataFrame, name: str, report: Report | None, *, like: _Layer | None = None,
             key: str = "code") -> _Layer:
    """Check a layer's type, key column and CRS, and repair its polygons (reporting them when given a report).

    Layers after the first (``like``) are brought to its CRS and share its metric CRS.
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SchemaError(f"{name} must be a GeoDataFrame, got {type(frame).__name__}", record=name,
                          fix="read the layer with gridmap.io or geopandas.read_file")
    if key not in frame.columns:
        raise SchemaError(f"{name} has no {key!r} column (columns: {', '.join(map(str, frame.columns))})",
                          record=name, fix=f"rename the column that holds the {key} to {key!r}")
    if frame.crs is None:
        raise CRSError(f"{name} has no CRS", record=name,
                       fix="set it, e.g. frame.set_crs('EPSG:4490') for CGCS2000 or 'EPSG:4326' for WGS84")
    require_polygons(frame, name)
    if like is not None:
        frame = frame.to_crs(like.crs)
    crs = pyproj.CRS(frame.crs)
    records = _records(frame, key)
    geoms = _repair(frame, records, crs, report)
    if like is None and all(g is None for g in geoms):
        raise GeometryError(f"{name} has no usable polygon ({len(frame)} rows)", record=name,
                            fix=f"give the {name} layer polygon geometries")
    metric = like.metric if like is not None else pyproj.CRS(metric_crs(frame))
    return _Layer(geoms, records, crs, metric)


def _records(frame: pd.DataFrame, key: str) -> np.ndarray:
    """Return the key of each row as str, or ``row <index>`` where the key is missing."""
    values = [_clean_code(value) for value in frame[key]]
    records = [v if v is not None else f"row {idx}" for v, idx in zip(values, frame.index, strict=True)]
    return np.array(records, dtype=object)


def _clean_code(value: object) -> str | None:
    """Return a code as a stripped str, None when missing or blank."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _repair(frame: gpd.GeoDataFrame, records: np.ndarray, crs: pyproj.CRS, report: Report | None
            ) -> np.ndarray:
    """Repaired polygonal geometries, None where a row has no usable polygon."""
    geoms = np.asarray(frame.geometry.values, dtype=object).copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~missing
    for i in np.flatnonzero(polygonal & ~shapely.is_valid(geoms)):
        reason = shapely.is_valid_reason(geoms[i])
        repaired = shapely.make_valid(geoms[i], method="structure", keep_collapsed=False)
        geoms[i] = None if repaired.is_empty else repaired
        _add_invalid(report, records[i], geoms[i], crs, f"geometry is invalid ({reason})",
                     "it was repaired with shapely.make_valid for the other checks; correct it at the source")
    for i in np.flatnonzero(~polygonal):
        what = "no geometry" if missing[i] else f"a {geoms[i].geom_type}, not a polygon"
        _add_invalid(report, records[i], None, crs, f"has {what}",
                     "draw its polygon; it is left out of the other checks")
        geoms[i] = None
    return geoms


def _add_invalid(report: Report | None, record: str, geom, crs: pyproj.CRS, problem: str, fix: str) -> None:
    if report is None:
        return
    lon, lat = _lonlat(np.array([geom], dtype=object), crs) if geom is not None else ([np.nan], [np.nan])
    report.add("invalid_geometry", f"{problem}. Fix: {fix}", record=record,
               severity=CHECKS["invalid_geometry"], lon=lon[0], lat=lat[0])


# --------------------------------------------------------------------------------------------------
# measures and locations


def _measure(geoms: np.ndarray, crs: pyproj.CRS, metric: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    """Area (m²) and perimeter (m) of each geometry in the metric CRS; 0 for missing ones.

    Geometries in degrees are densified before they are projected: their edges are straight in degrees,
    a curve in the metric plane. Projecting the vertices alone measures a gap or overlap only microns
    wide along a kilometre-long community edge as square metres (the area between the edge's chord and
    its curve, 6 cm apart at the middle of a 2 km diagonal near Nanning).
    """
    if len(geoms) == 0:
        return np.zeros(0), np.zeros(0)
    series = gpd.GeoSeries(list(geoms), crs=crs)
    if crs.is_geographic:
        series = series.segmentize(_DENSIFY_DEGREES)
    projected = series.to_crs(metric)
    return projected.area.fillna(0.0).to_numpy(), projected.length.fillna(0.0).to_numpy()


def _lonlat(geoms: np.ndarray, crs: pyproj.CRS, *, centre: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of a point inside each geometry, in the layer's geographic CRS.

    With ``centre``, polygons are located by the centre of their maximum inscribed circle (slower): it stays
    in the body of a gap or overlap with a thin noise tail, where ``point_on_surface`` may land in the tail.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.zeros(0), np.zeros(0)
    points = shapely.point_on_surface(geoms)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    if centre and polygonal.any():
        points[polygonal] = shapely.get_point(shapely.maximum_inscribed_circle(geoms[polygonal]), 0)
    xy = shapely.get_coordinates(points)
    if crs.is_geographic:
        return xy[:, 0], xy[:, 1]
    lon, lat = transformer(crs, crs.geodetic_crs).transform(xy[:, 0], xy[:, 1])
    return np.asarray(lon), np.asarray(lat)


def _polygon_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygon parts of each geometry (dropping lines and points) and the position each came from."""
    parts, index = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    keep = shapely.get_type_id(parts) == 3
    return parts[keep], index[keep]


# --------------------------------------------------------------------------------------------------
# overlaps and gaps


def _overlapping_pairs(layer: _Layer, tree: shapely.STRtree) -> _Pairs:
    """Pairs of grids whose interiors share area, with their intersection."""
    left, right = tree.query(layer.geoms, predicate="intersects")
    left, right = left[left < right], right[left < right]
    share_area = shapely.relate_pattern(layer.geoms[left], layer.geoms[right], "2********")
    left, right = left[share_area], right[share_area]
    return _Pairs(left, right, shapely.intersection(layer.geoms[left], layer.geoms[right]))


def _overlaps(layer: _Layer, pairs: _Pairs, tolerance_m2: float) -> gpd.GeoDataFrame:
    """Pairs of grids sharing more than tolerance_m2, with the shared polygons."""
    left, right, shared = pairs
    parts, pair = _polygon_parts(shared)
    area, perimeter = _measure(parts, layer.crs, layer.metric)
    area_sum = np.bincount(pair, weights=np.where(_hairline(area, perimeter), 0.0, area), minlength=len(left))
    perimeter_sum = np.bincount(pair, weights=perimeter, minlength=len(left))
    big = np.flatnonzero(area_sum > tolerance_m2)
    geometry = _collect(parts, pair, big)
    a, b = layer.records[left[big]], layer.records[right[big]]
    lon, lat = _lonlat(_largest_part(parts, pair, area, big), layer.crs, centre=True)
    return gpd.GeoDataFrame(
        {"record": [f"{x} & {y}" for x, y in zip(a, b, strict=True)], "grid_a": a, "grid_b": b,
         "area_m2": area_sum[big], "perimeter_m": perimeter_sum[big], "lon": lon, "lat": lat},
        geometry=geometry, crs=layer.crs)


def _hairline(area: np.ndarray, perimeter: np.ndarray) -> np.ndarray:
    """Whether each part is thinner (mean width 2A/P) than :data:`_HAIRLINE_M`: coordinate rounding."""
    return 2 * np.asarray(area) < _HAIRLINE_M * np.asarray(perimeter)


def _collect(parts: np.ndarray, owner: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """One (Multi)Polygon per wanted owner, from the parts that owner has."""
    out = np.full(owner.max() + 1 if len(owner) else 0, None, dtype=object)
    if len(parts):
        shapely.multipolygons(parts, indices=owner, out=out)
    return np.array([shapely.union_all(shapely.get_parts(out[i])) for i in wanted], dtype=object)


def _largest_part(parts: np.ndarray, owner: np.ndarray, area: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Return the part with the largest area of each wanted owner."""
    order = np.lexsort((-area, owner))
    first: dict[int, object] = {}
    for k in order:
        first.setdefault(owner[k], parts[k])
    return np.array([first[i] for i in wanted], dtype=object)


def _gaps(layer: _Layer, tree: shapely.STRtree, comm: _Layer | None, tolerance_m2: float, *,
          gap_free: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """Return gaps above tolerance_m2 with their community (None without communities) and neighbours.

    Communities marked ``gap_free`` (see :func:`_gap_free`) are not computed: they have no such gap.
    """
    if comm is None:
        candidates, owner = _holes(layer), None
    else:
        candidates, owner = _community_gaps(layer, tree, comm, gap_free)
    parts, index = _polygon_parts(candidates)
    area, perimeter = _measure(parts, layer.crs, layer.metric)
    big = area > tolerance_m2
    parts, index, area, perimeter = parts[big], index[big], area[big], perimeter[big]
    record = (comm.records[owner[index]] if comm is not None and owner is not None
              else np.full(len(parts), None, dtype=object))
    lon, lat = _lonlat(parts, layer.crs, centre=True)
    return gpd.GeoDataFrame(
        {"record": record, "area_m2": area, "perimeter_m": perimeter, "lon": lon, "lat": lat,
         "grids": _bordering(parts, layer, tree)},
        geometry=parts, crs=layer.crs)


def _holes(layer: _Layer) -> np.ndarray:
    """Return the land enclosed by grids but in none of them.

    Computed as a frame around the layer minus the union of the grids, keeping the pieces that do not reach
    the frame. Unlike the interior rings of the union, this also finds land enclosed by grids that touch
    only at corners (the union then has separate parts and no hole).
    """
    union = shapely.union_all(layer.geoms[[g is not None for g in layer.geoms]])
    x0, y0, x1, y1 = union.bounds
    margin = max(x1 - x0, y1 - y0, 1e-6) * 0.01
    frame = shapely.box(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    pieces = shapely.get_parts(shapely.difference(frame, union))
    return pieces[~shapely.intersects(pieces, frame.exterior)]


def _community_gaps(layer: _Layer, tree: shapely.STRtree, comm: _Layer, gap_free: np.ndarray | None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Each community minus the union of the grids that touch it, and the community of each result.

    Communities marked ``gap_free`` are left out (None): the union of their grids is most of the cost.
    """
    usable = np.flatnonzero([g is not None for g in comm.geoms])
    comm_idx, grid_idx = tree.query(comm.geoms[usable], predicate="intersects")
    gaps = np.array(comm.geoms[usable], dtype=object)
    if gap_free is not None:
        gaps[gap_free[usable]] = None
    for k in np.unique(comm_idx):
        if gaps[k] is not None:
            gaps[k] = shapely.difference(gaps[k], shapely.union_all(layer.geoms[grid_idx[comm_idx == k]]))
    return gaps, usable


def _gap_free(layer: _Layer, tree: shapely.STRtree, comm: _Layer, outside: _Outside, pairs: _Pairs,
              grid_perimeter: np.ndarray, tolerance_m2: float) -> np.ndarray:
    """Whether each community is proven to have no gap part above tolerance_m2, without a union.

    No library call bounds a difference with a union without making the union, so the bound is built from
    what :func:`check` measures anyway. The land of community ``k`` in no grid is at most
    ``B = area(k) - sum(area(g) - area(g outside k)) + sum(area(g & h))`` over its own grids ``g`` and the
    pairs ``g, h`` of them whose interiors meet (Bonferroni: a union covers at least the sum of its members
    less their pairwise overlaps), in planar units of the layer. A gap part then measures at most
    ``scale x B`` plus the chord error of its outline (:func:`_measure_bounds`), and its outline lies on the
    outlines of the community, of its own grids and of the other grids' land inside it (see
    :func:`_gap_outline`). Communities whose bound is below tolerance_m2 are gap-free: :func:`_gaps` would
    keep no part of them.
    """
    free = np.zeros(len(comm.geoms), dtype=bool)
    bounds = _measure_bounds(layer, comm)
    if bounds is None or tolerance_m2 <= 0:
        return free
    scale, chord = bounds
    own, present = outside.own, outside.present
    housed = present[own[present] >= 0]
    covered = shapely.area(layer.geoms[housed]) - shapely.area(outside.geoms[housed])
    land = np.bincount(own[housed], weights=covered, minlength=len(free))
    same = (own[pairs.left] == own[pairs.right]) & (own[pairs.left] >= 0)
    doubled = np.bincount(own[pairs.left[same]], weights=shapely.area(pairs.shared[same]),
                          minlength=len(free))
    usable = np.flatnonzero([g is not None for g in comm.geoms])
    planar = shapely.area(comm.geoms[usable]) - land[usable] + doubled[usable]
    bound = scale * planar + chord * _gap_outline(layer, tree, comm, outside, grid_perimeter)[usable]
    free[usable] = bound < tolerance_m2
    return free


def _gap_outline(layer: _Layer, tree: shapely.STRtree, comm: _Layer, outside: _Outside,
                 grid_perimeter: np.ndarray) -> np.ndarray:
    """Bound of the total outline (m) of the gap parts of each community.

    The outline of a gap lies on the community's outline and on the outlines of the grids touching it: in
    full for its own grids, grids of no community and grids whose community has no polygon; for a grid of
    another community that this one does not overlap, only the outline of the grid's land outside its own
    community can lie inside this one.
    """
    usable = np.flatnonzero([g is not None for g in comm.geoms])
    outline = np.zeros(len(comm.geoms))
    outline[usable] = _measure(comm.geoms[usable], layer.crs, layer.metric)[1]
    comm_idx, grid_idx = tree.query(comm.geoms[usable], predicate="intersects")
    comm_idx = usable[comm_idx]
    first, second = outside.tree.query(comm.geoms[usable], predicate="intersects")
    first, second = usable[first], second
    meet = shapely.relate_pattern(comm.geoms[first], comm.geoms[second], "2********")
    overlapping = first[meet] * len(comm.geoms) + second[meet]
    own = outside.own[grid_idx]
    drawn = (own >= 0) & np.array([g is not None for g in comm.geoms])[own]
    whole = (own == comm_idx) | ~drawn | np.isin(comm_idx * len(comm.geoms) + own, overlapping)
    outside_perimeter = np.bincount(outside.present[outside.owner], weights=outside.perimeter,
                                    minlength=len(layer.geoms))
    along = np.where(whole, grid_perimeter[grid_idx], outside_perimeter[grid_idx])
    return outline + np.bincount(comm_idx, weights=along, minlength=len(comm.geoms))


def _measure_bounds(layer: _Layer, comm: _Layer) -> tuple[float, float] | None:
    """Bounds of :func:`_measure` over the communities: m² per planar unit², and chord error per m of outline.

    In the metric CRS itself a measure is the planar area (1, 0). In degrees, :func:`_measure` densifies to
    :data:`_DENSIFY_DEGREES` and projects: the scale is the largest of five points of the communities' extent
    (corners and centre; the scale changes monotonically across a city) with 1% to spare, and a chord of a
    densified edge bounds at most 2/3 x its length x its sagitta (largest over 36 directions at those points,
    with 5% to spare: the sagitta is a smooth function of the direction). None in other CRSs (no bound).
    """
    if layer.crs == layer.metric:
        return 1.0, 0.0
    if not layer.crs.is_geographic:
        return None
    x0, y0, x1, y1 = shapely.total_bounds(comm.geoms)
    points = np.array([(x0, y0), (x0, y1), (x1, y0), (x1, y1), ((x0 + x1) / 2, (y0 + y1) / 2)])
    side = _DENSIFY_DEGREES / 5
    boxes = shapely.box(points[:, 0], points[:, 1], points[:, 0] + side, points[:, 1] + side)
    scale = float(np.max(_measure(boxes, layer.crs, layer.metric)[0])) / side**2 * 1.01
    angle = np.linspace(0, np.pi, 36, endpoint=False)
    start = np.repeat(points, len(angle), axis=0)
    step = _DENSIFY_DEGREES * np.column_stack([np.cos(angle), np.sin(angle)])[np.tile(np.arange(len(angle)),
                                                                                      len(points))]
    ends = transformer(layer.crs, layer.metric)
    a, m, b = (np.column_stack(ends.transform(*(start + f * step).T)) for f in (0.0, 0.5, 1.0))
    chord = b - a
    off = m - a
    sagitta = np.abs(chord[:, 0] * off[:, 1] - chord[:, 1] * off[:, 0]) / np.hypot(chord[:, 0], chord[:, 1])
    return scale, float(np.max(sagitta)) * 2 / 3 * 1.05


def _bordering(parts: np.ndarray, layer: _Layer, tree: shapely.STRtree) -> list[str]:
    """Comma-separated codes of the grids that touch each part."""
    part_idx, grid_idx = tree.query(parts, predicate="intersects")
    codes: list[list[str]] = [[] for _ in range(len(parts))]
    for p, g in zip(part_idx, grid_idx, strict=True):
        codes[p].append(layer.records[g])
    return [", ".join(sorted(set(c))) for c in codes]


def _report_overlaps(overlaps: gpd.GeoDataFrame, report: Report) -> None:
    for row in overlaps.itertuples():
        report.add("overlap",
                   f"grids {row.grid_a} and {row.grid_b} overlap by {row.area_m2:,.1f} m². "
                   "Fix: cut the shared land out of one of them so every place is in exactly one grid",
                   record=row.record, severity=CHECKS["overlap"], grid_a=row.grid_a, grid_b=row.grid_b,
                   area_m2=row.area_m2, lon=row.lon, lat=row.lat)


def _report_gaps(gaps: gpd.GeoDataFrame, report: Report) -> None:
    for row in gaps.itertuples():
        where = f"of community {row.record} " if row.record is not None else "inside the layer "
        border = f" (bordering grids {row.grids})" if row.grids else ""
        report.add("gap",
                   f"{row.area_m2:,.1f} m² {where}is in no grid{border}. "
                   "Fix: extend a neighbouring grid over it or draw a new grid",
                   record=row.record, severity=CHECKS["gap"], area_m2=row.area_m2, lon=row.lon, lat=row.lat,
                   grids=row.grids)


def _report_slivers(records: np.ndarray, geoms: np.ndarray, area: np.ndarray, perimeter: np.ndarray,
                    part: str, crs: pyproj.CRS, report: Report, *, sliver_area_m2: float,
                    sliver_width_m: float) -> None:
    """Report grids, gaps or overlaps that are tiny or thin (mean width 2A/P)."""
    area, perimeter = np.asarray(area, dtype=float), np.asarray(perimeter, dtype=float)
    present = np.array([g is not None for g in geoms], dtype=bool)
    width = np.divide(2 * area, perimeter, out=np.zeros_like(area), where=perimeter > 0)
    flagged = np.flatnonzero(present & ((area < sliver_area_m2) | (width < sliver_width_m)))
    if not len(flagged):
        return
    lon, lat = _lonlat(geoms[flagged], crs, centre=True)
    for k, i in enumerate(flagged):
        name = {"grid": f"grid {records[i]}", "gap": "a gap", "overlap": f"the overlap of {records[i]}"}[part]
        report.add("sliver",
                   f"{name} is a sliver ({area[i]:,.1f} m², mean width {width[i]:.2f} m), likely a "
                   "digitising "
                   "error. Fix: snap the neighbouring edges together or merge it into a neighbour",
                   record=records[i], severity=CHECKS["sliver"], part=part, area_m2=area[i],
                   width_m=width[i], lon=lon[k], lat=lat[k])


# --------------------------------------------------------------------------------------------------
# codes and parts


def _check_codes(grids: gpd.GeoDataFrame, layer: _Layer, report: Report) -> None:
    """Report grids without a code and codes given to more than one grid."""
    codes = pd.Series([_clean_code(v) for v in grids["code"]], dtype=object)
    missing = np.flatnonzero(codes.isna().to_numpy())
    lon, lat = _lonlat_or_nan(layer.geoms[missing], layer.crs)
    for k, i in enumerate(missing):
        report.add("missing_code", "grid has no code. Fix: give it the next free code of its community",
                   record=layer.records[i], severity=CHECKS["missing_code"], lon=lon[k], lat=lat[k])
    counts = codes.dropna().value_counts()
    for code in counts.index[counts > 1]:
        rows = np.flatnonzero((codes == code).to_numpy())
        labels = ", ".join(str(grids.index[i]) for i in rows)
        lon, lat = _lonlat_or_nan(layer.geoms[rows[:1]], layer.crs)
        report.add("duplicate_code",
                   f"code {code} is given to {len(rows)} grids (rows {labels}). "
                   "Fix: keep it on one grid and give the others new codes (codes are never reused)",
                   record=code, severity=CHECKS["duplicate_code"], count=len(rows),
                   lon=lon[0], lat=lat[0])


def _lonlat_or_nan(geoms: np.ndarray, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    """Location of each geometry, NaN where there is none."""
    lon, lat = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
    present = np.flatnonzero([g is not None for g in geoms])
    lon[present], lat[present] = _lonlat(geoms[present], crs)
    return lon, lat


def _check_multipart(layer: _Layer, report: Report) -> None:
    """Report grids made of several separate polygons, locating the largest stray part."""
    present = np.flatnonzero([g is not None for g in layer.geoms])
    counts = shapely.get_num_geometries(layer.geoms[present])
    multi = present[counts > 1]
    if not len(multi):
        return
    parts, owner = _polygon_parts(layer.geoms[multi])
    area, _ = _measure(parts, layer.crs, layer.metric)
    for k, i in enumerate(multi):
        mine = np.flatnonzero(owner == k)
        order = mine[np.argsort(-area[mine])]
        stray = float(area[order[1:]].sum())
        lon, lat = _lonlat(parts[order[1:2]], layer.crs)
        report.add("multipart",
                   f"grid {layer.records[i]} has {len(mine)} separate parts; the smaller ones cover "
                   f"{stray:,.1f} m². Fix: join the parts or give each part its own grid",
                   record=layer.records[i], severity=CHECKS["multipart"], parts=len(mine), area_m2=stray,
                   lon=lon[0], lat=lat[0])


# --------------------------------------------------------------------------------------------------
# communities


def _outside_own(grids: gpd.GeoDataFrame, layer: _Layer, comm: _Layer) -> _Outside:
    """Each grid's own community and its land outside it, in measured polygon parts.

    A grid its community covers (a robust predicate, ten times cheaper than the difference) has no land
    outside it: the difference would be the empty polygon.
    """
    ctree = shapely.STRtree(comm.geoms)
    given: list[str | None] = ([_clean_code(v) for v in grids["community_code"]]
                               if "community_code" in grids.columns else [None] * len(grids))
    own = _own_community(given, layer, comm, ctree)
    present = np.flatnonzero([g is not None for g in layer.geoms])
    outside = np.array(layer.geoms, dtype=object)
    housed = present[own[present] >= 0]
    inside = shapely.covered_by(layer.geoms[housed], comm.geoms[own[housed]])
    outside[housed[inside]] = shapely.Polygon()
    cut = housed[~inside]
    outside[cut] = shapely.difference(layer.geoms[cut], comm.geoms[own[cut]])
    parts, owner = _polygon_parts(outside[present])
    return _Outside(ctree, given, own, present, outside, parts, owner,
                    *_measure(parts, layer.crs, layer.metric))


def _check_communities(grids: gpd.GeoDataFrame, layer: _Layer, comm: _Layer, found: _Outside,
                       grid_area: np.ndarray, report: Report, tolerance_m2: float) -> None:
    """Report grids with an unknown community_code, and grids that reach outside their own community.

    ``grid_area`` is the area of every grid (m², 0 where it has no geometry).
    """
    _report_unknown_communities(layer, comm, found.given, report)
    ctree, own, present, outside = found.tree, found.own, found.present, found.geoms
    owner, part_area, part_perimeter = found.owner, found.area, found.perimeter
    solid = ~_hairline(part_area, part_perimeter)
    out_area = np.bincount(owner[solid], weights=part_area[solid], minlength=len(present))
    crossing = out_area > tolerance_m2
    if not crossing.any():
        return
    rows = present[crossing]
    into = _communities_reached(outside[rows], comm, ctree, own[rows], layer, tolerance_m2)
    lon, lat = _lonlat(outside[rows], layer.crs, centre=True)
    for k, i in enumerate(rows):
        area, share = out_area[crossing][k], out_area[crossing][k] / grid_area[i]
        home = f"its community {comm.records[own[i]]}" if own[i] >= 0 else "every community"
        where = f" into {into[k]}" if into[k] else " into land of no community"
        report.add("crosses_community",
                   f"grid {layer.records[i]} reaches {area:,.1f} m² ({share:.1%} of it) outside "
                   f"{home}{where}. "
                   "Fix: cut it back to the community boundary (a grid belongs to exactly one community)",
                   record=layer.records[i], severity=CHECKS["crosses_community"], area_m2=area,
                   community_code=comm.records[own[i]] if own[i] >= 0 else None, into=into[k],
                   lon=lon[k], lat=lat[k])


def _report_unknown_communities(layer: _Layer, comm: _Layer, given: list[str | None], report: Report) -> None:
    """Report grids whose community_code (``given``) names no given community."""
    known = set(comm.records)
    unknown_codes = np.flatnonzero([code is not None and code not in known for code in given])
    lon, lat = _lonlat_or_nan(layer.geoms[unknown_codes], layer.crs)
    for k, i in enumerate(unknown_codes):
        report.add("unknown_community",
                   f"grid {layer.records[i]} has community_code {given[i]}, which names no given community; "
                   "the community it overlaps most is used. Fix: correct its community_code",
                   record=layer.records[i], severity=CHECKS["unknown_community"],
                   community_code=given[i], lon=lon[k], lat=lat[k])


def _own_community(given: list[str | None], layer: _Layer, comm: _Layer, ctree: shapely.STRtree
                   ) -> np.ndarray:
    """Position of each grid's community: its code in ``given``, else the one it overlaps most (-1: none)."""
    position = {code: k for k, code in reversed(list(enumerate(comm.records)))}
    own = np.array([position.get(code, -1) if code else -1 for code in given])
    unknown = np.flatnonzero((own < 0) & np.array([g is not None for g in layer.geoms]))
    grid_idx, comm_idx = ctree.query(layer.geoms[unknown], predicate="intersects")
    shared, _ = _measure(shapely.intersection(layer.geoms[unknown][grid_idx], comm.geoms[comm_idx]),
                         layer.crs, layer.metric)
    order = np.lexsort((-shared, grid_idx))
    best: dict[int, int] = {}
    for k in order:
        if shared[k] > 0:
            best.setdefault(grid_idx[k], comm_idx[k])
    for g, c in best.items():
        own[unknown[g]] = c
    return own


def _communities_reached(outside: np.ndarray, comm: _Layer, ctree: shapely.STRtree, own: np.ndarray,
                         layer: _Layer, tolerance_m2: float) -> list[str]:
    """Comma-separated codes of the other communities each outside part covers by more than tolerance_m2."""
    part_idx, comm_idx = ctree.query(outside, predicate="intersects")
    other = comm_idx != own[part_idx]
    part_idx, comm_idx = part_idx[other], comm_idx[other]
    pieces = shapely.intersection(outside[part_idx], comm.geoms[comm_idx])
    shared, _ = _measure(pieces, layer.crs, layer.metric)
    reached: list[list[str]] = [[] for _ in range(len(outside))]
    for p, c, a in zip(part_idx, comm_idx, shared, strict=True):
        if a > tolerance_m2:
            reached[p].append(comm.records[c])
    return [", ".join(sorted(set(r))) for r in reached]


# --------------------------------------------------------------------------------------------------
# units


def _check_units(units: gpd.GeoDataFrame, layer: _Layer, tree: shapely.STRtree, report: Report,
                 tolerance_m2: float) -> None:
    """Report units in no grid, in several grids, or in another grid than their grid_code names."""
    geoms, ids = _unit_geoms(units, layer)
    located, multiple = _locate_units(geoms, layer, tree, tolerance_m2)
    attr = ([_clean_code(v) for v in units["grid_code"]] if "grid_code" in units.columns
            else [None] * len(units))
    found = [(i, finding) for i in range(len(geoms))
             for finding in _unit_findings(ids[i], geoms[i] is None, [layer.records[g] for g in located[i]],
                                           bool(multiple[i]), attr[i], layer.records)]
    rows = np.array([i for i, _ in found], dtype=int)
    lon, lat = _lonlat_or_nan(geoms[rows], layer.crs)
    for k, (i, (name, message, extra)) in enumerate(found):
        report.add(name, message, record=ids[i], severity=CHECKS[name], unit_id=ids[i], lon=lon[k],
                   lat=lat[k], **extra)


def _unit_findings(unit: str, no_geometry: bool, grids_in: list[str], multiple: bool, grid_code: str | None,
                   known: np.ndarray) -> list[tuple[str, str, dict]]:
    """Return the (check, message, extra columns) findings of one unit."""
    names = ", ".join(grids_in)
    if no_geometry:
        return [("unit_unassigned", f"unit {unit} has no location. Fix: give it a point or polygon", {})]
    if not grids_in:
        said = f" (its grid_code says {grid_code})" if grid_code else ""
        return [("unit_unassigned", f"unit {unit} lies in no grid{said}. "
                 "Fix: extend the grid that should hold it over its location", {})]
    out = []
    if multiple:
        out.append(("unit_multiple", f"unit {unit} lies in {len(grids_in)} grids ({names}). "
                    "Fix: move the grid boundary so the unit lies in one grid only", {"grids": names}))
    if grid_code and grid_code not in grids_in:
        problem = "names no grid of the layer" if grid_code not in set(known) else "is not where it lies"
        out.append(("unit_grid_code", f"unit {unit} has grid_code {grid_code}, which {problem} (it lies in "
                    f"{names}). Fix: correct its grid_code or the grid boundary",
                    {"grid_code": grid_code, "grids": names}))
    return out


def _unit_geoms(units: gpd.GeoDataFrame, layer: _Layer) -> tuple[np.ndarray, np.ndarray]:
    """Return unit geometries in the grids' CRS (polygons repaired, None where missing) and their ids."""
    if not isinstance(units, gpd.GeoDataFrame) or "unit_id" not in units.columns:
        raise SchemaError("units must be a GeoDataFrame with a 'unit_id' column", record="units",
                          fix="read the units with gridmap.io, or rename their id column to 'unit_id'")
    if units.crs is None:
        raise CRSError("units have no CRS", record="units",
                       fix="set it, e.g. units.set_crs('EPSG:4490') for CGCS2000 or 'EPSG:4326' for WGS84")
    geoms = np.asarray(units.to_crs(layer.crs).geometry.values, dtype=object).copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    geoms[missing] = None
    broken = ~missing & ~shapely.is_valid(geoms)
    geoms[broken] = shapely.make_valid(geoms[broken])
    return geoms, _records(units, "unit_id")


def _locate_units(geoms: np.ndarray, layer: _Layer, tree: shapely.STRtree, tolerance_m2: float
                  ) -> tuple[list[list[int]], np.ndarray]:
    """Return the grids each unit lies in, and whether it lies in several.

    A point (or line) lies in the grids whose interior holds it; on a shared edge it lies in the grids
    that cover it, and counts as in one. A polygon lies in the grids holding more than tolerance_m2 of it.
    """
    located: list[list[int]] = [[] for _ in range(len(geoms))]
    multiple = np.zeros(len(geoms), dtype=bool)
    present = np.array([g is not None for g in geoms], dtype=bool)
    areal = present & (shapely.get_dimensions(geoms) == 2)
    pointlike = np.flatnonzero(present & ~areal)
    inside = _pairs(tree.query(geoms[pointlike], predicate="within"), pointlike, len(geoms))
    covered = _pairs(tree.query(geoms[pointlike], predicate="covered_by"), pointlike, len(geoms))
    for i in pointlike:
        located[i] = inside[i] or covered[i]
        multiple[i] = len(inside[i]) > 1
    polygons = np.flatnonzero(areal)
    unit_idx, grid_idx = tree.query(geoms[polygons], predicate="intersects")
    shared, _ = _measure(shapely.intersection(geoms[polygons][unit_idx], layer.geoms[grid_idx]),
                         layer.crs, layer.metric)
    largest: dict[int, tuple[float, int]] = {}
    for u, g, a in zip(polygons[unit_idx], grid_idx, shared, strict=True):
        if a > tolerance_m2:
            located[u].append(g)
        if a > largest.get(u, (0.0, -1))[0]:
            largest[u] = (a, g)
    for u, (_, g) in largest.items():  # a polygon of tolerance_m2 or less lies in the grid holding most of it
        if not located[u]:
            located[u].append(g)
    for i in polygons:
        multiple[i] = len(located[i]) > 1
    return located, multiple


def _pairs(pairs: np.ndarray, positions: np.ndarray, n: int) -> list[list[int]]:
    """Tree query results regrouped as a list of grid positions per unit position."""
    grouped: list[list[int]] = [[] for _ in range(n)]
    for q, g in zip(*pairs, strict=True):
        grouped[positions[q]].append(int(g))
    return grouped


# --------------------------------------------------------------------------------------------------
# households and summary


def _check_households(grids: gpd.GeoDataFrame, layer: _Layer, report: Report,
                      households: tuple[float, float]) -> None:
    """Report city grids (all grids without a ``type`` column) whose households lie outside the range."""
    if "households" not in grids.columns:
        return
    values = pd.to_numeric(grids["households"], errors="coerce").to_numpy(dtype=float)
    city = (grids["type"].astype(str).str.strip().str.lower() == "city").to_numpy() \
        if "type" in grids.columns else np.ones(len(grids), dtype=bool)
    low, high = households
    flagged = np.flatnonzero(city & ~np.isnan(values) & ((values < low) | (values > high)))
    if not len(flagged):
        return
    lon, lat = _lonlat_or_nan(layer.geoms[flagged], layer.crs)
    notes = grids["note"] if "note" in grids.columns else pd.Series("", index=grids.index)
    for k, i in enumerate(flagged):
        fix = _households_fix(values[i] < low, notes.iloc[i])
        report.add("households_out_of_range",
                   f"city grid {layer.records[i]} has {values[i]:g} households, outside {low:g}-{high:g} "
                   f"(not a coverage violation). Fix: {fix}",
                   record=layer.records[i], severity=CHECKS["households_out_of_range"],
                   households=values[i], lon=lon[k], lat=lat[k])


def _households_fix(below: bool, note) -> str:
    """Return the advice for a grid outside its range: gridmap build's own reason when the grid has one.

    ``gridmap build`` writes in ``note`` why it left a grid outside the range (one unit that is never
    divided, no neighbour that can take it); plain "merge it" or "split it" would then contradict it.
    """
    if isinstance(note, str) and note.strip():
        return (f"gridmap build left it so because it is {note.strip()}; change the units (or --rules) "
                "and build again to change it")
    return "merge it with a neighbouring grid" if below else "split it"


def _summary(report: Report) -> pd.DataFrame:
    """One row per check: severity, number of findings, total area of the findings (m²)."""
    frame = report.to_frame()
    if "area_m2" not in frame.columns:
        frame["area_m2"] = np.nan
    grouped = frame.groupby("check")
    counts, areas = grouped.size(), grouped["area_m2"].sum(min_count=0)
    return pd.DataFrame({
        "check": list(CHECKS),
        "severity": list(CHECKS.values()),
        "count": [int(counts.get(name, 0)) for name in CHECKS],
        "area_m2": [float(areas.get(name, 0.0)) for name in CHECKS],
    })
