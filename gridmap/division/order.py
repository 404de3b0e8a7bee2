"""Reading order (west → east, north → south): how grids issued together are numbered.

Grid codes are numbered "like reading text" (DB6101/T 3185-2024, DB11/T 2157-2023): rows run from north to
south, and within a row from west to east. :func:`reading_order` gives that order for any geometries; the
temporary codes of :func:`gridmap.division.build_grids` and the permanent codes of
:func:`gridmap.codes.scheme.assign_sequential_codes` and the registry both follow it, so a grid's temporary
``-NNN`` is the serial of its permanent code. Grouping takes the units of a community in the same order
(:mod:`gridmap.division.group`), so the first grid formed is the first numbered.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gridmap.errors import CodeError, GeometryError

__all__ = ["reading_order"]


def _geometry_values(geometries: Any) -> np.ndarray:
    if isinstance(geometries, gpd.GeoDataFrame):
        geometries = geometries.geometry
    return np.asarray(getattr(geometries, "values", geometries), dtype=object)


def _default_band(geoms: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    bounds = shapely.bounds(geoms)
    heights = bounds[:, 3] - bounds[:, 1]
    heights = heights[heights > 0]
    if heights.size:
        return float(np.median(heights))
    # points only: the side of a square if the n points' bounding box were shared out equally
    return float(math.sqrt(np.ptp(x) * np.ptp(y) / len(x)))


def _rows(y: np.ndarray, band: float) -> np.ndarray:
    """Return the row of each point (0 = northernmost) among bands of height ``band``.

    The band centre lines pass through the circular mean of ``y`` modulo ``band``, so points sit mid-band.
    """
    if band == 0:
        return np.unique(-y, return_inverse=True)[1]
    turns = 2 * np.pi * np.mod(y, band) / band
    phase = np.arctan2(np.sin(turns).mean(), np.cos(turns).mean()) * band / (2 * np.pi)
    line = np.floor((y - phase) / band + 0.5)  # nearest centre line, counted northwards
    return (line.max() - line).astype(np.int64)


def reading_order(geometries: Any, *, band: float | None = None, keys: Any = None) -> np.ndarray:
    """Positions of the geometries in the order grids issued together are numbered: like reading text.

    Rows run from north to south; within a row, grids are numbered from west to east (DB6101/T 3185-2024,
    DB11/T 2157-2023). Each geometry is placed by its representative point (always inside it). Rows are
    horizontal bands of height ``band``, like lines of text, placed so that the points sit as near the
    middle of their band as possible (the band centre lines pass through the circular mean of the
    points' y modulo ``band``). Within a row, points are taken west to east; at equal x, north first;
    full ties go to ``keys`` (default: the input order), so the result is deterministic.

    Parameters
    ----------
    geometries : GeoSeries, GeoDataFrame or array of shapely geometries
        The grids of one community, in any CRS (only north-south and west-east comparisons are made).
    band : float, optional
        Row height in the CRS's units. Default: the median height (bounding-box ``maxy - miny``) of the
        geometries; for points, the side of a square if the points' bounding box were shared out equally
        among them. 0 makes every distinct latitude a row of its own.
    keys : array-like, optional
        One sortable value per geometry (e.g. unit ids) deciding full ties; default: the input position.

    Returns
    -------
    numpy.ndarray of int
        Positions, first-numbered first (like ``numpy.argsort``): ``frame.iloc[order]`` is in reading order.

    Examples
    --------
    >>> cells = [shapely.box(x, y, x + 1, y + 1) for y in (0, 1) for x in (1, 0)]   # SE, SW, NE, NW
    >>> reading_order(cells, band=1.0).tolist()
    [3, 2, 1, 0]
    """
    geoms = _geometry_values(geometries)
    bad = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if bad.size:
        raise GeometryError(f"{bad.size} geometries are missing or empty (first at position {bad[0]})",
                            fix="drop or repair empty geometries before numbering grids")
    if len(geoms) == 0:
        return np.empty(0, dtype=np.intp)
    points = geoms if shapely.get_type_id(geoms).max() == 0 else shapely.point_on_surface(geoms)
    x, y = shapely.get_x(points), shapely.get_y(points)
    band = _default_band(geoms, x, y) if band is None else band
    if not (isinstance(band, (int, float)) and math.isfinite(band) and band >= 0):
        raise CodeError(f"band must be a finite number >= 0, got {band!r}",
                        fix="pass the row height in CRS units")
    ties = np.arange(len(geoms)) if keys is None else np.asarray(keys)
    return np.lexsort((ties, -y, x, _rows(y, float(band))))
