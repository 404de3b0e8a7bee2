"""Putting cases in grids in this process: the exact, fast assignment every engine shares.

:func:`assign_in_memory` is what :func:`gridmap.cases.assign` runs with ``engine="memory"``, and what the
out-of-core and dask engines (:mod:`gridmap.cases.engines`) run on each batch or partition, so every engine
gives the same answer.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely

from gridmap.cases.gridindex import GridIndex
from gridmap.errors import CaseError, CRSError, GeometryError, GridmapWarning, SchemaError
from gridmap.findings import Report

__all__ = ["assign_in_memory"]

_STR = "str" if int(pd.__version__.split(".")[0]) >= 3 else object


def assign_in_memory(cases: gpd.GeoDataFrame, grids: gpd.GeoDataFrame | GridIndex, *, strict: bool = False,
                     report: Report | None = None) -> gpd.GeoDataFrame:
    """Put every case in exactly one grid in this process: :func:`gridmap.cases.assign`, ``engine="memory"``.

    The engines (:mod:`gridmap.cases.engines`) call it on each batch or partition; see
    :func:`gridmap.cases.assign` for the rule, the parameters and the result.

    Examples
    --------
    >>> from shapely import Point, box
    >>> grids = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4547")
    >>> cases = gpd.GeoDataFrame(geometry=[Point(0.5, 0.5)], crs="EPSG:4547")
    >>> assign_in_memory(cases, grids)["grid_code"].tolist()
    ['A']
    """
    index = grids if isinstance(grids, GridIndex) else _index_for(grids, len(cases))
    x, y, located = _case_xy(cases, index.crs)
    if located.all():
        position = index.locate(x, y)
    else:
        position = np.full(len(cases), -1, dtype=np.int64)
        if located.any():
            position[located] = index.locate(x[located], y[located])
    result = cases.copy(deep=False)  # new columns only: the caller's frame is not touched
    rows = pa.array(position.astype(np.int32), mask=position < 0)  # fewer than 2**31 grids
    result["grid_code"] = _take(index.codes, rows, cases.index)
    if index.community_codes is not None:
        result["community_code"] = _take(index.community_codes, rows, cases.index)
    outside = located & (position < 0)
    distance = np.full(len(cases), np.nan)
    if outside.any():
        distance[outside] = index.outside_distances(x[outside], y[outside])
    result["outside_m"] = distance
    findings = Report("case assignment")
    _report_assignment(cases, located, outside, distance, findings)
    if strict:
        findings.raise_for_errors(CaseError)
    if report is not None:
        report.extend(findings)
    elif len(findings):
        warnings.warn(f"{findings.summary()}; pass report= to list them", GridmapWarning, stacklevel=2)
    return result




def _index_for(grids: gpd.GeoDataFrame, n_cases: int) -> GridIndex:
    """Build an index for one call: about one cell per case, 64 to 128 per grid, no second level.

    A second level pays for its build only over tens of millions of lookups: :class:`GridIndex`
    builds one by default, for reuse. More cells per grid mean fewer exact tests but a longer build;
    128 keeps the build of 9,000 grids near a tenth of a second (benchmarks/README.md, "The index
    ``assign`` builds per call", has the figures).
    """
    n_grids = len(grids) if isinstance(grids, pd.DataFrame) else 1  # GridIndex refuses the rest
    return GridIndex(grids, cells_per_grid=min(128, max(64, -(-n_cases // max(n_grids, 1)))), refine=1)


def _case_xy(cases: gpd.GeoDataFrame, crs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y of the case points in ``crs`` and which cases have a point."""
    if not isinstance(cases, gpd.GeoDataFrame):
        raise SchemaError(f"cases must be a GeoDataFrame, got {type(cases).__name__}",
                          fix="read them with gridmap.cases.read_cases")
    if cases.crs is None:
        raise CRSError("cases have no CRS", fix="read them with read_cases(..., coords=...) or set_crs()")
    geometry = cases.geometry
    if not pyproj.CRS(cases.crs).equals(crs):
        geometry = geometry.to_crs(crs)
    values = np.asarray(geometry.to_numpy(), dtype=object)
    try:  # NaN for missing geometries and non-points (told apart below)
        x, y = shapely.get_x(values), shapely.get_y(values)
    except shapely.errors.GEOSException:  # empty points have no x
        x, y = np.full(len(values), np.nan), np.full(len(values), np.nan)
        usable = ~shapely.is_empty(values)
        x[usable], y[usable] = shapely.get_x(values[usable]), shapely.get_y(values[usable])
    located = np.isfinite(x) & np.isfinite(y)
    unknown = np.flatnonzero(~located)
    wrong = unknown[shapely.get_type_id(values[unknown]) > 0]  # -1 missing, 0 point
    if len(wrong):
        raise GeometryError(f"case geometry is a {values[wrong[0]].geom_type}, not a point",
                            record=f"case row {wrong[0] + 1}",
                            fix="locate cases by points, e.g. cases.representative_point()")
    return x, y, located


def _take(values: np.ndarray, rows: pa.Array, index: pd.Index) -> pd.Series:
    """``values[rows]`` as text, NA where ``rows`` (Arrow integers) is null or the value is missing.

    Taken with Arrow from the few grid values: millions of codes in milliseconds, where a
    Python-object array would take a second.
    """
    text = pc.take(pa.array(values, pa.large_string(), from_pandas=True), rows)
    if _STR == "str":
        return pd.Series(text, index=index, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    return pd.Series(text.to_pandas(), index=index, dtype=object)


def _labels(frame: pd.DataFrame, positions: np.ndarray) -> pd.Series:
    """Name records for findings: the case id when there is one, else the position (vectorised).

    Arrow strings throughout: a million labels take milliseconds, not a Python object each.
    """
    labels = pa.nulls(len(positions), pa.string())
    if "case_id" in frame.columns and len(positions):
        column = frame["case_id"]
        if isinstance(column.dtype, pd.StringDtype):  # text or missing: taken as it is stored
            ids = pc.take(pa.array(column.array), pa.array(positions)).cast(pa.string())
        else:  # only text names a case
            values = column.to_numpy(dtype=object)[positions]
            text = np.fromiter((isinstance(v, str) for v in values), bool, len(values))
            ids = pa.array(np.where(text, values, None), pa.string())
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        stripped = pc.utf8_trim_whitespace(ids)
        named = pc.if_else(pc.greater(pc.utf8_length(stripped), 0), stripped, pa.scalar(None, pa.string()))
        labels = pc.utf8_replace_slice(named, start=0, stop=0, replacement="case ")  # a prefix
    if labels.null_count:
        unnamed = labels.is_null()
        numbers = positions[unnamed.to_numpy(zero_copy_only=False)] + 1
        labels = pc.replace_with_mask(labels, unnamed, pc.binary_join_element_wise(
            "record ", pc.cast(pa.array(numbers, pa.int64()), pa.string()), ""))
    return pd.Series(labels, dtype=pd.StringDtype("pyarrow"))


def _report_assignment(cases: gpd.GeoDataFrame, located: np.ndarray, outside: np.ndarray,
                       distance: np.ndarray, findings: Report) -> None:
    ids = cases if "case_id" in cases.columns else pd.DataFrame(index=cases.index)
    far = np.flatnonzero(outside)
    findings.add_many("outside", "the case lies {distance_m:,.0f} m outside every grid; check its "
                      "coordinates (GCJ-02/BD-09 not converted?) or the grids' coverage",
                      records=_labels(ids, far), distance_m=np.round(distance[far], 1))
    findings.add_many("no_location", "the case has no point and cannot be put in a grid",
                      records=_labels(ids, np.flatnonzero(~located)), severity="warning")
