"""Crosswalk a department's grids onto the unified grids (多网合一, merging departments' grids into one).

Cities merged party-building, urban-management, civil-affairs and emergency grids into one network.

:func:`crosswalk` overlays another department's grid layer on the unified grids and returns one row per
piece: which unified grids each departmental grid falls in, with the area of each piece and its share of
both grids, plus the part of each departmental grid that lies outside every unified grid.
:func:`crosswalk_summary` condenses that to one row per departmental grid: its best match and how it
relates to the unified network. Topology is computed in the unified grids' CRS; areas in their metric
CRS (:func:`gridmap.crs.metric_crs`).

Columns of :func:`crosswalk`:

================== ==========================================================================
``other_code``     code of the departmental grid (str)
``grid_code``      code of the unified grid (str); None for the part outside every unified grid
``area_m2``        area of the piece (m²)
``share_of_other`` the piece's share of the departmental grid's area (0-1)
``share_of_grid``  the piece's share of the unified grid's area (0-1; NaN outside)
``n_grids``        unified grids holding at least ``min_share`` of the departmental grid
``n_others``       departmental grids forming at least ``min_share`` of the unified grid (0 outside)
``split``          the departmental grid is split across several unified grids (``n_grids >= 2``)
``gathers``        the unified grid gathers pieces of several departmental grids (``n_others >= 2``)
================== ==========================================================================

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> grids = gpd.GeoDataFrame({"code": ["G1", "G2"]}, crs="EPSG:4326",
...     geometry=[box(108.3, 22.8, 108.307, 22.81), box(108.307, 22.8, 108.31, 22.81)])
>>> other = gpd.GeoDataFrame({"code": ["U1"]}, crs="EPSG:4326", geometry=[box(108.3, 22.8, 108.31, 22.81)])
>>> table = crosswalk(grids, other)
>>> table[["other_code", "grid_code", "share_of_other", "split"]].round(2)
  other_code grid_code  share_of_other  split
0         U1        G1             0.7   True
1         U1        G2             0.3   True
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Hashable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap.crs import metric_crs
from gridmap.errors import CodeError, CRSError, GeometryError, GridmapError, GridmapWarning, SchemaError
from gridmap.schema import find_column, model_columns

__all__ = ["crosswalk", "crosswalk_summary"]

logger = logging.getLogger(__name__)

_COLUMNS = ["other_code", "grid_code", "area_m2", "share_of_other", "share_of_grid", "n_grids", "n_others",
            "split", "gathers"]


def crosswalk(
    grids: gpd.GeoDataFrame,
    other: gpd.GeoDataFrame,
    *,
    other_code: str = "code",
    min_share: float = 0.01,
    tolerance_m2: float = 1.0,
) -> pd.DataFrame:
    """Overlay another department's grids on the unified grids: which unified grids each one falls in.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        The unified grids (``code`` or an alias such as ``网格编码``, polygons).
    other : geopandas.GeoDataFrame
        The department's grids (urban-management unit grids, party-building grids, ...), polygons, in
        any CRS (they are brought to the grids' CRS; GCJ-02 or BD-09 data must be converted first).
    other_code : str, default "code"
        The column of ``other`` that holds its grid codes; when a reader renamed it (``编号`` is read as
        ``unit_id``), the renamed column.
    min_share : float, default 0.01
        Pieces smaller than this share of their grid do not count towards ``split`` and ``gathers``.
    tolerance_m2 : float, default 1.0
        Pieces (and outside parts) up to this area are floating-point noise and left out.

    Returns
    -------
    pandas.DataFrame
        One row per piece, columns as in the module docstring, ordered by ``other_code`` and then by
        decreasing area. When the unified grids do not overlap, the ``share_of_other`` of a departmental
        grid sum to 1 (up to the noise left out).

    Raises
    ------
    SchemaError
        A layer is not a GeoDataFrame or lacks its code column.
    CRSError
        A layer has no CRS.
    CodeError
        A grid has no code.
    GeometryError
        A grid has no polygon.

    Warns
    -----
    GridmapWarning
        Rows sharing a code were merged into one grid; invalid polygons were repaired.
    """
    if not 0 <= min_share <= 1:
        raise GridmapError(f"min_share must be between 0 and 1, got {min_share!r}",
                           fix="pass e.g. min_share=0.01")
    if tolerance_m2 < 0:
        raise GridmapError(f"tolerance_m2 must be >= 0, got {tolerance_m2!r}",
                           fix="pass e.g. tolerance_m2=1.0")
    grids = model_columns(grids, "grids")[0]
    unified_codes, unified = _polygons_by_code(grids, "code", "grids", crs=None)
    column = find_column(getattr(other, "columns", ()), other_code)
    other_codes, others = _polygons_by_code(other, other_code if column is None else column, "other",
                                            crs=grids.crs)
    metric = pyproj.CRS(metric_crs(grids))
    other_idx, grid_idx = shapely.STRtree(unified).query(others, predicate="intersects")
    outside = _outside_area(others, unified, other_idx, grid_idx, grids.crs, metric)
    piece_area = _area(shapely.intersection(others[other_idx], unified[grid_idx]), grids.crs, metric)
    keep = piece_area > tolerance_m2
    other_idx, grid_idx, piece_area = other_idx[keep], grid_idx[keep], piece_area[keep]
    other_area, grid_area = _area(others, grids.crs, metric), _area(unified, grids.crs, metric)
    out_idx = np.flatnonzero(outside > tolerance_m2)
    table = pd.DataFrame({
        "other_code": np.concatenate([other_codes[other_idx], other_codes[out_idx]]),
        "grid_code": np.concatenate([unified_codes[grid_idx], np.full(len(out_idx), None, dtype=object)]),
        "area_m2": np.concatenate([piece_area, outside[out_idx]]),
        "share_of_other": np.concatenate([piece_area / other_area[other_idx],
                                          outside[out_idx] / other_area[out_idx]]),
        "share_of_grid": np.concatenate([piece_area / grid_area[grid_idx], np.full(len(out_idx), np.nan)]),
    })
    return _flag(table, min_share)


def crosswalk_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per departmental grid: its best unified grid and how it relates to the unified network.

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :func:`crosswalk`.

    Returns
    -------
    pandas.DataFrame
        ``other_code``; ``area_m2`` (the departmental grid's area); ``best_grid`` and ``best_share``
        (the unified grid holding most of it, and that share; None and 0 when it lies outside every
        unified grid); ``n_grids``; ``outside_share`` (share outside every unified grid); ``relation``:
        ``one_to_one`` (one unified grid, which holds nothing else), ``part_of`` (one unified grid,
        which gathers others too), ``split`` (several unified grids) or ``outside``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"other_code": ["U1", "U1"], "grid_code": ["G1", "G2"], "area_m2": [70.0, 30.0],
    ...     "share_of_other": [0.7, 0.3], "share_of_grid": [1.0, 1.0], "n_grids": [2, 2], "n_others": [1, 1],
    ...     "split": [True, True], "gathers": [False, False]})
    >>> crosswalk_summary(table)[["other_code", "best_grid", "best_share", "relation"]]
      other_code best_grid  best_share relation
    0         U1        G1         0.7    split
    """
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise SchemaError(f"table lacks the crosswalk columns {missing}", record="table",
                          fix="pass the DataFrame returned by gridmap.division.crosswalk.crosswalk")
    rows = [_summarise(code, group) for code, group in table.groupby("other_code", sort=True)]
    return pd.DataFrame(rows, columns=["other_code", "area_m2", "best_grid", "best_share", "n_grids",
                                       "outside_share", "relation"])


def _summarise(code: str, group: pd.DataFrame) -> dict:
    """Return the summary row of one departmental grid."""
    inside = group[group["grid_code"].notna()]
    best = inside.loc[inside["share_of_other"].idxmax()] if len(inside) else None
    n_grids = int(group["n_grids"].iloc[0])
    if best is None or n_grids == 0:
        relation = "outside"
    elif n_grids >= 2:
        relation = "split"
    else:
        relation = "part_of" if bool(best["gathers"]) else "one_to_one"
    return {
        "other_code": code,
        "area_m2": float((group["area_m2"] / group["share_of_other"]).iloc[0]),
        "best_grid": None if best is None else best["grid_code"],
        "best_share": 0.0 if best is None else float(best["share_of_other"]),
        "n_grids": n_grids,
        "outside_share": float(group.loc[group["grid_code"].isna(), "share_of_other"].sum()),
        "relation": relation,
    }


def _flag(table: pd.DataFrame, min_share: float) -> pd.DataFrame:
    """Add n_grids, n_others, split and gathers; order the rows."""
    inside = table["grid_code"].notna()
    counts_other = table[inside & (table["share_of_other"] >= min_share)].groupby("other_code").size()
    counts_grid = table[inside & (table["share_of_grid"] >= min_share)].groupby("grid_code").size()
    table["n_grids"] = table["other_code"].map(counts_other).fillna(0).astype(int)
    table["n_others"] = table["grid_code"].map(counts_grid).fillna(0).astype(int)
    table["split"] = table["n_grids"] >= 2
    table["gathers"] = table["n_others"] >= 2
    table = table.sort_values(["other_code", "area_m2"], ascending=[True, False], kind="stable")
    return table[_COLUMNS].reset_index(drop=True)


def _polygons_by_code(frame: gpd.GeoDataFrame, column: Hashable, name: str, *, crs
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Codes and (repaired) polygons of a layer in ``crs`` (its own when None), one per code."""
    if not isinstance(frame, gpd.GeoDataFrame) or column not in frame.columns:
        raise SchemaError(f"{name} must be a GeoDataFrame with a {column!r} column", record=name,
                          fix=f"name the column that holds the codes ({column!r}, or other_code= for other)")
    if frame.crs is None:
        raise CRSError(f"{name} has no CRS", record=name,
                       fix="set it, e.g. frame.set_crs('EPSG:4490') for CGCS2000 or 'EPSG:4326' for WGS84")
    if crs is not None:
        frame = frame.to_crs(crs)
    codes = [None if pd.isna(v) or not str(v).strip() else str(v).strip() for v in frame[column]]
    geoms = np.asarray(frame.geometry.values, dtype=object)
    for label, code, geom in zip(frame.index, codes, geoms, strict=True):
        if code is None:
            raise CodeError(f"{name} row {label} has no {column}", record=f"row {label}",
                            fix=f"give every {name} grid a code")
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise GeometryError(f"{name} grid {code} has no polygon", record=code, fix="draw its polygon")
    geoms = _repaired(geoms, name)
    unique, inverse = np.unique(np.array(codes, dtype=object), return_inverse=True)
    if len(unique) == len(codes):
        return np.array(codes, dtype=object), geoms
    warnings.warn(f"{name}: {len(codes) - len(unique)} rows share a code with another row; "
                  "rows with the same code were merged into one grid", GridmapWarning, stacklevel=3)
    merged = [shapely.union_all(geoms[inverse == k]) for k in range(len(unique))]
    return unique.astype(object), np.array(merged, dtype=object)


def _repaired(geoms: np.ndarray, name: str) -> np.ndarray:
    """Geometries with invalid polygons repaired by shapely.make_valid (with a warning)."""
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms
    warnings.warn(f"{name}: {int(invalid.sum())} invalid polygons were repaired with shapely.make_valid; "
                  "run gridmap.check on the layer to see them", GridmapWarning, stacklevel=4)
    geoms = geoms.copy()
    geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    return geoms


def _area(geoms: np.ndarray, crs, metric: pyproj.CRS) -> np.ndarray:
    """Area of each geometry in m² (lines and points count 0)."""
    if len(geoms) == 0:
        return np.zeros(0)
    return gpd.GeoSeries(list(geoms), crs=crs).to_crs(metric).area.to_numpy(dtype=float)


def _outside_area(others: np.ndarray, unified: np.ndarray, other_idx: np.ndarray, grid_idx: np.ndarray,
                  crs, metric: pyproj.CRS) -> np.ndarray:
    """Area of each departmental grid outside every unified grid."""
    outside = others.copy()
    for k in np.unique(other_idx):
        outside[k] = shapely.difference(others[k], shapely.union_all(unified[grid_idx[other_idx == k]]))
    return _area(outside, crs, metric)
