"""Beidou grid location codes (北斗网格位置码, GB/T 39409-2020) of points, and the cells they name.

The code of a point is hierarchical, like geohash or H3, on a fixed latitude/longitude grid (CGCS2000
degrees). Each level divides its parent cell:

=====  ============  =============  ===========================================================
level  split         cell size      characters
=====  ============  =============  ===========================================================
1      map sheet     6° × 4°        ``N`` + column 31–60 (1:1,000,000 sheet numbering) + row A–V
2      12 × 8        30′ × 30′      longitude 0–B, latitude 0–7
3      2 × 3         15′ × 10′      one Z-order digit 0–5 (2 × row + column)
4      15 × 10       1′ × 1′        longitude 0–E, latitude 0–9
5      15 × 15       4″ × 4″        longitude 0–E, latitude 0–E
6      2 × 2         2″ × 2″        one Z-order digit 0–3
7–10   8 × 8 each    1/4″ … 1/2048″ longitude 0–7, latitude 0–7 (level 10 is about 1.5 cm)
=====  ============  =============  ===========================================================

Codes have 4, 6, 7, 9, 11, 12, 14, 16, 18 or 20 characters for levels 1–10; a cell's code starts with its
parent's. The standard mirrors digit directions in the other hemispheres; gridmap supports the north-eastern
quadrant (0–180°E, 0–88°N), which holds all of China, and refuses the others rather than guess.

Arithmetic is exact: degrees are turned once into integer ticks of 1/2048 arc-second (the level-10 cell
side), then divided as integers. Only float noise is snapped: a value within :data:`NOISE_ULPS` units in
the last place of an edge is read as on it, so that inputs such as ``116 + 19/60`` (which no float holds
exactly) land on the cell edge they mean, while ``116.24999999999`` (1e-11° below an edge, hundreds of
ulps) stays in the cell west of it, as the standard's exact decimal arithmetic puts it. A point on a cell
edge belongs to the cell east and north of it.

Checked against the test vectors of GB/T 39409-2020 (see tests/test_beidou.py) and cross-read with the
MIT-licensed Java implementation ywx001/BeidouGridCodec (``BeiDouGridEncoder.java``), whose north-eastern
digit layout agrees. Hand-written because no maintained Python package implements the standard.

Examples
--------
>>> beidou(116.31260278, 39.99316111, level=4)
'N50J47539'
>>> beidou_decode("N50J475")
(116.25, 39.833333333333336, 116.5, 40.0)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from gridmap.errors import CodeError

__all__ = ["beidou", "beidou_decode", "beidou_cell", "beidou_level", "LEVEL_LENGTHS", "NOISE_ULPS"]

_TICKS_PER_ARCSEC = 2048  # a tick is the level-10 cell side, 1/2048 arc-second
_TICKS_PER_DEGREE = 3600 * _TICKS_PER_ARCSEC
#: A coordinate at most this many units in the last place (of the coordinate) from a cell edge is read as
#: on the edge: float noise of decimal arithmetic, never a real distance (4 ulps of 180° is 1e-13°).
NOISE_ULPS = 4

# Cell side per level in ticks, (longitude, latitude); index 0 unused.
_LON = (0, 6 * 3600 * 2048, 1800 * 2048, 900 * 2048, 60 * 2048, 4 * 2048, 2 * 2048, 512, 64, 8, 1)
_LAT = (0, 4 * 3600 * 2048, 1800 * 2048, 600 * 2048, 60 * 2048, 4 * 2048, 2 * 2048, 512, 64, 8, 1)
#: Code length of each level.
LEVEL_LENGTHS = {1: 4, 2: 6, 3: 7, 4: 9, 5: 11, 6: 12, 7: 14, 8: 16, 9: 18, 10: 20}
_LEVEL_OF_LENGTH = {length: level for level, length in LEVEL_LENGTHS.items()}
# After the 4 level-1 characters, one entry per character: (level, axis, largest value). Axis "z" is a
# Z-order digit 2 * row + column.
_CHARS = (
    (2, "lon", 11), (2, "lat", 7), (3, "z", 5), (4, "lon", 14), (4, "lat", 9), (5, "lon", 14), (5, "lat", 14),
    (6, "z", 3), *((level, axis, 7) for level in (7, 8, 9, 10) for axis in ("lon", "lat")),
)
_SYMBOLS = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_VALUES = np.full(256, 99, dtype=np.int64)
_VALUES[np.frombuffer(b"0123456789ABCDEF", np.uint8)] = np.arange(16)
_NORTH_EAST = "the north-eastern quadrant (0–180°E, 0–88°N), which covers China"
_AXIS_NAME = {"lon": "longitude digit", "lat": "latitude digit", "z": "digit"}


def _check_level(level: int) -> int:
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 1 <= level <= 10:
        raise CodeError(f"Beidou level must be an integer 1–10, got {level!r}", fix="pass level=1 … 10")
    return int(level)


def _ticks(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Degrees to integer ticks (1/2048″), refusing points outside the north-eastern quadrant."""
    with np.errstate(invalid="ignore"):
        x, y = _snapped_ticks(lon), _snapped_ticks(lat)
        bad = ~((x >= 0) & (x < 180 * _TICKS_PER_DEGREE) & (y >= 0) & (y < 88 * _TICKS_PER_DEGREE))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        swapped = " (are longitude and latitude swapped?)" if lat[i] >= 88 and 0 <= lon[i] < 88 else ""
        raise CodeError(f"point lon={lon[i]!r}, lat={lat[i]!r} is outside {_NORTH_EAST}{swapped}; "
                        f"{int(bad.sum())} of {bad.size} points are", record=f"point {i}",
                        fix="give finite CGCS2000/WGS84 longitude and latitude in degrees, longitude first; "
                            "drop points without coordinates")
    return x.astype(np.int64), y.astype(np.int64)


def _snapped_ticks(degrees: np.ndarray) -> np.ndarray:
    """Whole ticks below ``degrees`` (floats), snapping values within NOISE_ULPS of a tick onto it."""
    ticks = degrees * _TICKS_PER_DEGREE
    nearest = np.rint(ticks)
    noise = NOISE_ULPS * np.spacing(np.abs(degrees)) * _TICKS_PER_DEGREE
    return np.where(np.abs(ticks - nearest) <= noise, nearest, np.floor(ticks))


def _encode(x: np.ndarray, y: np.ndarray, level: int) -> np.ndarray:
    """Codes as an (n, length) matrix of ASCII bytes."""
    out = np.empty((x.size, LEVEL_LENGTHS[level]), dtype=np.uint8)
    column, row = x // _LON[1] + 31, y // _LAT[1]
    out[:, 0] = ord("N")
    out[:, 1], out[:, 2] = _SYMBOLS[column // 10], _SYMBOLS[column % 10]
    out[:, 3] = ord("A") + row
    for position, (lev, axis, _) in enumerate(_CHARS[: out.shape[1] - 4], start=4):
        i = (x % _LON[lev - 1]) // _LON[lev]
        j = (y % _LAT[lev - 1]) // _LAT[lev]
        out[:, position] = _SYMBOLS[{"lon": i, "lat": j, "z": 2 * j + i}[axis]]
    return out


def beidou(lon: ArrayLike, lat: ArrayLike, level: int = 7) -> str | np.ndarray | pd.Series:
    """Beidou grid location code (GB/T 39409-2020) of points, vectorised.

    Parameters
    ----------
    lon, lat : float or array-like
        CGCS2000 (or WGS84) longitude and latitude in degrees, 0–180°E and 0–88°N.
    level : int, default 7
        1 (6° × 4°) to 10 (1/2048″, about 1.5 cm); level 7 is 1/4″, about 7 m.

    Returns
    -------
    str, numpy.ndarray of str or Series
        A str for scalars; an array of str for arrays; a Series with ``lon``'s index for a Series.

    Raises
    ------
    CodeError
        A point is missing, not finite or outside the north-eastern quadrant; the level is not 1–10.

    Examples
    --------
    >>> beidou(116 + 18 / 60 + 45.37 / 3600, 39 + 59 / 60 + 35.38 / 3600, level=8)
    'N50J47539B825534'
    >>> beidou([108.32, 109.1], [22.82, 22.82], level=2).tolist()
    ['N49F05', 'N49F25']
    """
    level = _check_level(level)
    lon_arr = np.asarray(lon, dtype=np.float64)
    lat_arr = np.asarray(lat, dtype=np.float64)
    if lon_arr.shape != lat_arr.shape:
        raise CodeError(f"lon has shape {lon_arr.shape} but lat has {lat_arr.shape}",
                        fix="pass one latitude per longitude")
    x, y = _ticks(lon_arr.ravel(), lat_arr.ravel())
    matrix = _encode(x, y, level)
    codes = matrix.view(f"S{matrix.shape[1]}").ravel().astype(f"U{matrix.shape[1]}").reshape(lon_arr.shape)
    if lon_arr.ndim == 0:
        return str(codes[()])
    if isinstance(lon, pd.Series):
        return pd.Series(codes, index=lon.index, dtype="str", name="beidou")
    return codes


def _describe(code: str) -> str | None:
    """Say what is wrong with one code, or return None when it is valid."""
    if not isinstance(code, str):
        return f"Beidou code {code!r} is a {type(code).__name__}, not a string"
    if len(code) not in _LEVEL_OF_LENGTH:
        return (f"Beidou code {code!r} has {len(code)} characters; levels 1–10 have "
                f"{', '.join(map(str, LEVEL_LENGTHS.values()))}")
    code = code.upper()
    if code[0] == "S":
        return f"Beidou code {code!r} lies in the southern hemisphere; gridmap supports {_NORTH_EAST}"
    if code[0] != "N":
        return f"Beidou code {code!r} must start with N (northern hemisphere), not {code[0]!r}"
    if not code[1:3].isdigit() or not 1 <= int(code[1:3]) <= 60:
        return f"Beidou code {code!r} has map-sheet column {code[1:3]!r}; allowed 01–60"
    if int(code[1:3]) <= 30:
        return (f"Beidou code {code!r} lies in the western hemisphere (column {code[1:3]}); "
                f"gridmap supports {_NORTH_EAST}")
    if not "A" <= code[3] <= "V":
        return f"Beidou code {code!r} has map-sheet row {code[3]!r}; allowed A–V"
    for char, (level, axis, largest) in zip(code[4:], _CHARS, strict=False):
        if not char.isascii() or _VALUES[ord(char)] > largest:
            return (f"Beidou code {code!r} has level-{level} {_AXIS_NAME[axis]} {char!r}; "
                    f"allowed 0–{chr(_SYMBOLS[largest])}")
    return None


def _raise_for(codes: np.ndarray, bad: np.ndarray) -> None:
    i = int(np.flatnonzero(bad)[0])
    problem = _describe(codes[i]) or f"Beidou code {codes[i]!r} is invalid"
    more = f" ({int(bad.sum())} of {bad.size} codes are invalid)" if bad.size > 1 else ""
    raise CodeError(problem + more, record=f"code {i}" if bad.size > 1 else None,
                    fix="give codes made by gridmap.codes.beidou or another GB/T 39409-2020 encoder")


def _decode_ticks(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(west, south) ticks and (width, height) ticks of each code; raises on the first invalid one."""
    lengths = np.fromiter((len(c) if isinstance(c, str) and c.isascii() else -1 for c in codes),
                          dtype=np.int64, count=codes.size)
    bad = ~np.isin(lengths, list(_LEVEL_OF_LENGTH))
    if bad.any():
        _raise_for(codes, bad)
    west, south = np.zeros(codes.size, np.int64), np.zeros(codes.size, np.int64)
    width, height = np.zeros(codes.size, np.int64), np.zeros(codes.size, np.int64)
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        text = np.char.upper(codes[rows].astype(f"U{length}")).astype(f"S{length}")
        chars = np.frombuffer(text.tobytes(), dtype=np.uint8).reshape(rows.size, length)
        column = (chars[:, 1].astype(np.int64) - 48) * 10 + (chars[:, 2].astype(np.int64) - 48)
        row = chars[:, 3].astype(np.int64) - ord("A")
        values = _VALUES[chars[:, 4:]]
        largest = np.array([c[2] for c in _CHARS[: length - 4]], dtype=np.int64)
        bad = ((chars[:, 0] != ord("N")) | ~np.isin(chars[:, 1:3], np.arange(48, 58)).all(axis=1)
               | (column < 31) | (column > 60) | (row < 0) | (row > 21) | (values > largest).any(axis=1))
        if bad.any():
            _raise_for(codes[rows], bad)
        x, y = (column - 31) * _LON[1], row * _LAT[1]
        for k, (level, axis, _) in enumerate(_CHARS[: length - 4]):
            v = values[:, k]
            x = x + (v if axis == "lon" else v % 2 if axis == "z" else 0) * _LON[level]
            y = y + (v if axis == "lat" else v // 2 if axis == "z" else 0) * _LAT[level]
        level = _LEVEL_OF_LENGTH[int(length)]
        west[rows], south[rows], width[rows], height[rows] = x, y, _LON[level], _LAT[level]
    return west, south, width, height


def _code_array(code) -> tuple[np.ndarray, bool]:
    if isinstance(code, str):
        return np.array([code], dtype=object), True
    return np.asarray(code, dtype=object).ravel(), False


def beidou_decode(code: str | ArrayLike) -> tuple:
    """Bounds ``(west, south, east, north)`` in degrees of the cell a Beidou code names.

    Parameters
    ----------
    code : str or array-like of str
        Codes of any level (upper or lower case).

    Returns
    -------
    tuple
        Four floats for one code; four arrays for many (``shapely.box(*beidou_decode(codes))``).

    Examples
    --------
    >>> beidou_decode("N50J47")
    (116.0, 39.5, 116.5, 40.0)
    >>> west, south, east, north = beidou_decode(["N50J", "N49F"])
    >>> west.tolist(), north.tolist()
    ([114.0, 108.0], [40.0, 24.0])
    """
    codes, scalar = _code_array(code)
    x, y, w, h = _decode_ticks(codes)
    per_degree = 3600 * _TICKS_PER_ARCSEC
    bounds = (x / per_degree, y / per_degree, (x + w) / per_degree, (y + h) / per_degree)
    if scalar:
        return tuple(float(b[0]) for b in bounds)
    return bounds


def beidou_cell(code: str | ArrayLike) -> shapely.Polygon | np.ndarray:
    """Return the cell a Beidou code names as a shapely polygon (an array of polygons for many codes).

    Examples
    --------
    >>> beidou_cell("N50J47").bounds
    (116.0, 39.5, 116.5, 40.0)
    """
    bounds = beidou_decode(code)
    return shapely.box(*bounds)


def beidou_level(code: str) -> int:
    """Level (1–10) of a Beidou code, from its length; raises CodeError for an invalid code.

    Examples
    --------
    >>> beidou_level("N50J47539B8255")
    7
    """
    problem = _describe(code)
    if problem:
        raise CodeError(problem, fix="give a code made by a GB/T 39409-2020 encoder")
    return _LEVEL_OF_LENGTH[len(code)]
