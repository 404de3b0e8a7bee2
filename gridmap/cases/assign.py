"""Put every case in exactly one grid (:func:`assign`), in memory or on a dask cluster; :func:`in_grids`.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> grids = gpd.GeoDataFrame({"code": ["450102001003001", "450102001003002"],
...                           "community_code": ["450102001003"] * 2},
...                          geometry=[box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.32, 22.81)],
...                          crs="EPSG:4490")
>>> cases = gpd.GeoDataFrame({"case_id": ["A1", "A2", "A3"]},
...                          geometry=[Point(108.305, 22.805), Point(108.31, 22.805), Point(108.315, 22.805)],
...                          crs="EPSG:4490")
>>> assign(cases, grids)[["case_id", "grid_code"]]
  case_id        grid_code
0      A1  450102001003001
1      A2  450102001003001
2      A3  450102001003002

``A2`` lies on the shared edge: it goes to the grid with the smaller code.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gridmap.cases.gridindex import GridIndex
from gridmap.cases.locate import assign_in_memory
from gridmap.errors import GridmapError, SchemaError
from gridmap.findings import Report
from gridmap.schema import model_columns

__all__ = ["assign", "in_grids"]


def assign(cases: gpd.GeoDataFrame, grids: gpd.GeoDataFrame | GridIndex, *, strict: bool = False,
           report: Report | None = None, engine: str = "memory") -> gpd.GeoDataFrame:
    """Put every case in exactly one grid.

    A case belongs to the grids its point ``intersects`` (interior or boundary). A point on a boundary
    shared by several grids goes to the one with the **smallest code** (text order) among them, so the
    result never depends on row order. A case outside every grid keeps ``grid_code`` NA and gets
    ``outside_m``, its distance in metres to the nearest grid (metric CRS of the grids); it is reported,
    never dropped.

    How it stays exact and fast: a :class:`~gridmap.cases.gridindex.GridIndex` rasterises the grids onto two
    levels of square cells. A case in a cell that no boundary can touch (widened by a margin far larger
    than rounding) gets that cell's grid, or none, by numpy lookups; only cases within a few metres of a
    boundary are tested with GEOS (``shapely.intersects_xy`` on prepared grids) against every grid that
    can intersect their cell. So every result equals the exact predicate; see :mod:`gridmap.cases.gridindex`.
    Passing grids builds an index sized for this call; to put many frames of cases in the same grids,
    build ``GridIndex(grids)`` once and pass it instead.

    Parameters
    ----------
    cases : geopandas.GeoDataFrame
        Point cases (missing or empty points allowed: they get NA). Not modified.
    grids : geopandas.GeoDataFrame or gridmap.cases.gridindex.GridIndex
        Valid polygons with a unique text ``code`` and, optionally, ``community_code``, or an index
        built from them. Cases are compared in the grids' CRS (converted when the CRSs differ).
    strict : bool, default False
        Raise :class:`~gridmap.errors.CaseError` when a case lies outside every grid.
    report : gridmap.Report, optional
        Findings (``outside`` with ``distance_m``, ``no_location``) are added to it.
    engine : {"memory", "dask"}, default "memory"
        ``"dask"`` runs the same assignment on the partitions of a dask cluster (the current
        ``distributed.Client``; ``pip install gridmap[dask]``) with identical results; see
        :mod:`gridmap.cases.engines.dask`. For files larger than memory see
        :mod:`gridmap.cases.engines.chunked`.

    Returns
    -------
    geopandas.GeoDataFrame
        The cases with their own columns and geometry, plus ``grid_code``, ``community_code`` (when the
        grids have it; replacing columns of those names) and ``outside_m``.

    Raises
    ------
    SchemaError, CodeError, CRSError, GeometryError
        Grids without unique codes, a missing CRS, non-point cases or invalid grid polygons.
    CaseError
        In strict mode, cases outside every grid.

    Examples
    --------
    >>> from shapely import Point, box
    >>> grids = gpd.GeoDataFrame({"code": ["B", "A"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
    ...                          crs="EPSG:4547")
    >>> cases = gpd.GeoDataFrame({"n": [1, 2, 3]}, geometry=[Point(0.5, 0.5), Point(1, 1), Point(5, 0.5)],
    ...                          crs="EPSG:4547")
    >>> assign(cases, grids, report=Report("cases"))
       n         geometry grid_code  outside_m
    0  1  POINT (0.5 0.5)         B        NaN
    1  2      POINT (1 1)         A        NaN
    2  3    POINT (5 0.5)       NaN        3.0

    The same with an index built once, for any number of frames of cases:

    >>> index = GridIndex(grids)
    >>> assign(cases.iloc[:2], index)["grid_code"].tolist()
    ['B', 'A']
    """
    if engine not in ("memory", "dask"):
        raise GridmapError(f"engine={engine!r} is not an engine", fix="pass engine='memory' or engine='dask'")
    if engine == "dask":
        from gridmap.cases.engines.dask import assign_dask

        return assign_dask(cases, grids, strict=strict, report=report)
    return assign_in_memory(cases, grids, strict=strict, report=report)


def in_grids(cases: pd.DataFrame, grids: gpd.GeoDataFrame | GridIndex, *,
             report: Report | None = None) -> pd.DataFrame:
    """Return the cases with the grid each is in: the ``grid_code`` they carry, else :func:`assign`'s.

    Cases that already name their grid (``grid_code``, or an alias such as 网格编码, read as
    ``grid_code``) keep it; cases with points and no grid code are put in ``grids``. The one rule
    statistics, figures, maps and the report share.

    Parameters
    ----------
    cases : pandas.DataFrame or geopandas.GeoDataFrame
        Cases with a ``grid_code`` column, or points.
    grids : geopandas.GeoDataFrame or GridIndex
        The grids to put cases without a grid code in.
    report : Report, optional
        Receives the findings of :func:`assign` (otherwise they are warned about).

    Returns
    -------
    pandas.DataFrame
        The cases, with ``grid_code`` (model column names for the aliases renamed).

    Raises
    ------
    SchemaError
        The cases have neither a grid code nor points.

    Examples
    --------
    >>> from shapely import Point, box
    >>> grids = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4547")
    >>> in_grids(pd.DataFrame({"网格编码": ["B"]}), grids)["grid_code"].tolist()
    ['B']
    >>> in_grids(gpd.GeoDataFrame(geometry=[Point(0.5, 0.5)], crs="EPSG:4547"), grids)["grid_code"].tolist()
    ['A']
    """
    cases = model_columns(cases, "cases")[0]
    if "grid_code" in cases.columns:
        return cases
    if not isinstance(cases, gpd.GeoDataFrame):
        raise SchemaError("cases have neither grid_code nor a geometry",
                          fix="give cases points (read_cases) or a grid_code column")
    return assign(cases, grids, report=report)
