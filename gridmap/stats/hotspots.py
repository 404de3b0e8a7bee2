r"""Hot spots of cases: Getis-Ord Gi*, local Moran's I, and kernel density for heat maps.

Gi* (:func:`getis_ord`) and local Moran's I (:func:`local_moran`) test each grid's case rate against its
neighbours' (queen contiguity: grids sharing an edge or a corner), with pseudo p-values from conditional
permutations. They use esda and libpysal, the optional extra ``pip install gridmap[analysis]``, imported
only when called. :func:`kernel_density` smooths case points into a density surface (cases per km²) with
numpy alone. :func:`case_rates` puts case counts and rates on the grids to test.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point
>>> cases = gpd.GeoDataFrame({"count": [1, 2]}, geometry=[Point(108.30, 22.80), Point(108.301, 22.80)],
...                          crs="EPSG:4490")
>>> heat = kernel_density(cases, bandwidth_m=100, cell_m=25)
>>> round(float(heat["density"].sum() * 25 * 25 / 1e6), 3)   # integrates to the 3 cases
3.0
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap.crs import metric_crs
from gridmap.errors import CRSError, SchemaError

__all__ = ["getis_ord", "local_moran", "case_rates", "kernel_density"]

logger = logging.getLogger(__name__)

_INSTALL = "pip install gridmap[analysis]"
_MAX_CELLS = 25_000_000
_QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}


def _pysal():
    """Esda and libpysal, or an ImportError that says how to install them."""
    try:
        import esda
        import libpysal
    except ImportError as exc:
        raise ImportError(f"hot-spot statistics need esda and libpysal ({exc.name} is missing): {_INSTALL}") \
            from exc
    return esda, libpysal


def case_rates(grids: gpd.GeoDataFrame, cases: gpd.GeoDataFrame, **options: Any) -> gpd.GeoDataFrame:
    """Return the grids with ``cases``, ``cases_per_1000`` and ``cases_per_km2`` (from ``summarize``).

    ``options`` go to :func:`~gridmap.stats.summarize` (``by`` is always "grid").
    """
    from gridmap.stats.summary import summarize

    columns = ["code", "cases", "cases_per_1000", "cases_per_km2"]
    table = summarize(grids, cases, by="grid", **options)[columns]
    merged = grids.drop(columns=[c for c in table.columns if c != "code" and c in grids.columns])
    return merged.merge(table, on="code", how="left")


def _values(grids: gpd.GeoDataFrame, column: str) -> np.ndarray:
    if not isinstance(grids, gpd.GeoDataFrame) or column not in grids.columns:
        raise SchemaError(f"grids have no column {column!r}",
                          fix="add the rate to test, e.g. with gridmap.stats.case_rates(grids, cases)")
    values = pd.to_numeric(grids[column], errors="coerce").astype("float64")
    missing = np.flatnonzero(~np.isfinite(values.to_numpy()))
    if len(missing):
        code = grids["code"].iloc[missing[0]] if "code" in grids.columns else missing[0]
        raise SchemaError(f"{len(missing)} grids have no {column} value (first: {code})",
                          record=f"grid {code}",
                          fix="fill the missing rates (e.g. 0 where the population is 0) or drop those grids")
    if len(values) < 3:
        raise SchemaError(f"{len(values)} grids are too few for local statistics",
                          fix="test at least 3 grids")
    return values.to_numpy()


def _weights(grids: gpd.GeoDataFrame, libpysal):
    weights = libpysal.weights.Queen.from_dataframe(grids, use_index=False, silence_warnings=True)
    if weights.islands:
        logger.warning("%d grids touch no other grid; their local statistics are not meaningful",
                       len(weights.islands))
    return weights


def getis_ord(grids: gpd.GeoDataFrame, *, column: str = "cases_per_1000", permutations: int = 999,
              seed: int | None = 0, alpha: float = 0.05) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots of a grid measure (queen contiguity, the grid itself included).

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Grid polygons with the measure in ``column`` (no missing values); not modified.
    column : str, default "cases_per_1000"
        The measure, e.g. from :func:`case_rates`.
    permutations : int, default 999
        Conditional permutations for the pseudo p-values.
    seed : int, optional, default 0
        Random seed (results are reproducible by default).
    alpha : float, default 0.05
        Significance level for ``hotspot``.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``grids`` with ``gi_z`` (standardised Gi*), ``gi_p`` (pseudo p-value) and ``hotspot``
        ("hot", "cold" or "" when not significant).

    Raises
    ------
    ImportError
        esda or libpysal is missing (``pip install gridmap[analysis]``).
    """
    esda, libpysal = _pysal()
    values = _values(grids, column)
    # n_jobs=1: esda's default (-1) starts a pool of worker processes for the permutations, about 3 s of
    # start-up for a city's few thousand grids whose permutations take a tenth of that; answers are the same.
    statistic = esda.G_Local(values, _weights(grids, libpysal), transform="B", permutations=permutations,
                             star=True, seed=seed, n_jobs=1)
    result = grids.copy()
    result["gi_z"] = np.asarray(statistic.Zs, dtype=float)
    result["gi_p"] = np.asarray(statistic.p_sim, dtype=float)
    significant = result["gi_p"] <= alpha
    result["hotspot"] = np.where(significant & (result["gi_z"] > 0), "hot",
                                 np.where(significant & (result["gi_z"] < 0), "cold", ""))
    return result


def local_moran(grids: gpd.GeoDataFrame, *, column: str = "cases_per_1000", permutations: int = 999,
                seed: int | None = 0, alpha: float = 0.05) -> gpd.GeoDataFrame:
    """Local Moran's I clusters and outliers of a grid measure (queen contiguity, row-standardised).

    ``I_i = z_i * sum_j w_ij z_j / (sum_k z_k^2 / (n - 1))`` with ``z`` the deviations from the mean
    (esda's convention; Anselin 1995 divides by n). Parameters are those of :func:`getis_ord`.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``grids`` with ``moran_i``, ``moran_p`` (pseudo p-value) and ``cluster``: "HH" (high
        among high), "LL", "HL" (high among low), "LH", or "" when not significant.

    Raises
    ------
    ImportError
        esda or libpysal is missing (``pip install gridmap[analysis]``).
    """
    esda, libpysal = _pysal()
    values = _values(grids, column)
    statistic = esda.Moran_Local(values, _weights(grids, libpysal), transformation="r",
                                 permutations=permutations, seed=seed)
    result = grids.copy()
    result["moran_i"] = np.asarray(statistic.Is, dtype=float)
    result["moran_p"] = np.asarray(statistic.p_sim, dtype=float)
    quadrant = pd.Series(np.asarray(statistic.q)).map(_QUADRANTS).to_numpy()
    result["cluster"] = np.where(result["moran_p"] <= alpha, quadrant, "")
    return result


def kernel_density(cases: gpd.GeoDataFrame, *, bandwidth_m: float, cell_m: float,
                   weights: str | None = "count", truncate: float = 4.0) -> gpd.GeoDataFrame:
    """Gaussian kernel density of case points on square cells, in cases per km², for heat maps.

    Each case (weighted by ``count``) is spread as a Gaussian of standard deviation ``bandwidth_m``
    metres, cut off at ``truncate`` standard deviations. Points are binned to the cells of a metric
    lattice (the cases' Gauss-Krüger zone, :func:`gridmap.crs.metric_crs`) and the bins convolved with
    the kernel, one axis after the other (the Gaussian is separable). The surface integrates to the
    number of cases, up to the cut-off (less than 0.1 % at 4 standard deviations).

    Hand-written (30 lines of numpy) rather than ``scipy.stats.gaussian_kde``: that evaluates every
    point at every cell (too slow for a city's cases), takes its bandwidth as a multiple of the data's
    covariance rather than in metres, and scipy is not a gridmap dependency.

    Parameters
    ----------
    cases : geopandas.GeoDataFrame
        Case points with a CRS; missing points are skipped.
    bandwidth_m : float
        Standard deviation of the kernel in metres (typically 100-500 m in a city).
    cell_m : float
        Side of the square cells in metres (a fraction of the bandwidth, e.g. bandwidth / 4).
    weights : str or None, default "count"
        Column of case counts; None (or a frame without it) counts each row once.
    truncate : float, default 4.0
        Cut-off of the kernel in standard deviations.

    Returns
    -------
    geopandas.GeoDataFrame
        Cells with a positive density: ``row``, ``col``, ``density`` (cases per km²) and the cell
        polygons, in the cases' CRS.

    Raises
    ------
    SchemaError
        Bandwidth or cell size not positive, or more than 25 million cells.
    CRSError
        Cases without CRS.
    """
    if not (bandwidth_m > 0 and cell_m > 0 and truncate > 0):
        raise SchemaError(f"bandwidth_m={bandwidth_m!r}, cell_m={cell_m!r} and truncate={truncate!r} "
                          "must be > 0",
                          fix="pass positive lengths in metres")
    if cases.crs is None:
        raise CRSError("cases have no CRS", fix="read them with gridmap.cases.read_cases")
    present = cases[cases.geometry.notna() & ~cases.geometry.is_empty]
    crs = pyproj.CRS(cases.crs)
    metric = crs if crs.is_projected and crs.axis_info[0].unit_name in ("metre", "meter") else (
        metric_crs(present) if len(present) else crs)
    xy = shapely.get_coordinates(present.geometry.to_crs(metric).to_numpy())
    w = (pd.to_numeric(present[weights], errors="coerce").fillna(0).to_numpy(dtype=float)
         if weights is not None and weights in present.columns else np.ones(len(xy)))
    reach = int(np.ceil(truncate * bandwidth_m / cell_m))
    if not len(xy):
        return gpd.GeoDataFrame({"row": [], "col": [], "density": []}, geometry=[], crs=cases.crs)
    x0, y0 = xy.min(axis=0) - (reach + 0.5) * cell_m
    nx, ny = (np.floor((xy.max(axis=0) - (x0, y0)) / cell_m).astype(int) + reach + 2)
    if nx * ny > _MAX_CELLS:
        raise SchemaError(f"the heat map would need {nx * ny:,} cells", fix="pass a larger cell_m")
    col = np.floor((xy[:, 0] - x0) / cell_m).astype(int)
    row = np.floor((xy[:, 1] - y0) / cell_m).astype(int)
    binned = np.bincount(row * nx + col, weights=w, minlength=nx * ny).reshape(ny, nx)
    offsets = np.arange(-reach, reach + 1) * cell_m
    kernel = np.exp(-0.5 * (offsets / bandwidth_m) ** 2) / (np.sqrt(2 * np.pi) * bandwidth_m)  # per metre
    kernel *= cell_m  # a bin's weight spread over one cell width
    surface = _convolve(_convolve(binned, kernel, axis=1), kernel, axis=0) / cell_m**2 * 1e6  # per km²
    rows, cols = np.nonzero(surface > 0)
    left, bottom = x0 + cols * cell_m, y0 + rows * cell_m
    boxes = shapely.box(left, bottom, left + cell_m, bottom + cell_m)
    cells = gpd.GeoDataFrame({"row": rows, "col": cols, "density": surface[rows, cols]}, geometry=boxes,
                             crs=metric)
    return cells.to_crs(cases.crs)


def _convolve(values: np.ndarray, kernel: np.ndarray, *, axis: int) -> np.ndarray:
    """Convolve along one axis with a symmetric kernel, zeros beyond the edges (the lattice has margins)."""
    reach = len(kernel) // 2
    out = np.zeros_like(values)
    n = values.shape[axis]
    for k, weight in zip(range(-reach, reach + 1), kernel, strict=True):
        source = [slice(None)] * 2
        target = [slice(None)] * 2
        source[axis] = slice(max(0, -k), n - max(0, k))
        target[axis] = slice(max(0, k), n - max(0, -k))
        out[tuple(target)] += weight * values[tuple(source)]
    return out
