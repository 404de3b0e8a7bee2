r"""Patrol records (巡查记录): check-ins and GPS tracks, read from any file and cleaned.

Two shapes of record are read (:data:`~gridmap.schema.PATROL_KINDS`):

* **check-ins** (打卡): a worker, the grid checked in at (网格编码) or a point, and a time;
* **GPS tracks** (轨迹): a worker, a time and a point, one row per position.

Headers may be Chinese or English (:data:`~gridmap.schema.PATROL_ALIASES`: 人员编号/person_id,
巡查员/姓名 (a worker named only by name), 时间/定位时间/time, 经度/纬度, 网格编码, 所属网格/own_grid,
坐标系/coord_system). Coordinates may be WGS84, CGCS2000, GCJ-02 (Amap, Tencent) or BD-09 (Baidu): for the
whole file (``coords=``, or headers such as ``经度_gcj02``) or row by row in a 坐标系 column (values such as
gcj02, 高德, 百度, wgs84, :data:`~gridmap.schema.PATROL_COORD_WORDS`); shifted points are converted to
WGS84, and the clean records' ``converted_from`` says which (gcj02 or bd09; missing for points kept as
given). The 坐标系 column itself is not kept: the points no longer are what it says, and cleaning the
records again must not convert them twice. Times follow the rule of :func:`gridmap.cases.read_cases`: a
time with a zone is converted to Beijing time, one without is taken as Beijing time (the result is naive
Beijing time).

Problems are reported by record in a :class:`~gridmap.findings.Report` and the record is kept with the
value missing; the analyses (:func:`gridmap.fieldwork.patrols.summarize_patrols`) skip records they cannot
use and say how many.

Examples
--------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tracks.csv"
>>> _ = path.write_text("巡查员,时间,经度,纬度\n"
...                     "韦静梅,2025-03-03 09:00,108.3200,22.8200\n"
...                     "韦静梅,2025-03-03T01:01:00Z,108.3203,22.8200\n", encoding="utf-8")
>>> tracks = read_patrols(path)
>>> tracks[["person_id", "time"]]
  person_id                time
0       韦静梅 2025-03-03 09:00:00
1       韦静梅 2025-03-03 09:01:00
>>> tracks.attrs["patrol_kind"], tracks.crs.to_epsg()
('tracks', 4326)
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from gridmap.cases.read import as_text, parse_times
from gridmap.crs import COORDINATE_SYSTEMS, convert, normalize_crs
from gridmap.errors import CRSError, GridmapWarning, ReadError, SchemaError
from gridmap.findings import Report
from gridmap.io import read_layer, read_table
from gridmap.io._columns import COORDS_ATTR, STRING_DTYPE, agreed_coords, rename_columns
from gridmap.io.read import SOURCE
from gridmap.schema import PATROL_ALIASES, PATROL_COORD_WORDS, PATROL_KINDS, vocabulary_key

__all__ = ["read_patrols", "clean_patrols", "record_columns", "shift_rows", "PATROL_COLUMNS", "KIND_ATTR"]

#: The columns of clean patrol records (before the others kept from the file and the point geometry).
PATROL_COLUMNS = ["person_id", "time", "grid_code", "own_grid", "converted_from"]
#: Key of ``frame.attrs`` holding the kind of records (``checkins`` or ``tracks``).
KIND_ATTR = "patrol_kind"
_TABLES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls")
_WORDS = {vocabulary_key(word): system for word, system in PATROL_COORD_WORDS.items()}


def read_patrols(path: str | os.PathLike, *, kind: str | None = None, coords: str | None = None,
                 crs: object = None, layer: str | None = None, encoding: str | None = None,
                 report: Report | None = None) -> gpd.GeoDataFrame:
    """Read patrol records (check-ins or GPS tracks) from CSV, Excel, Parquet or any vector layer.

    Parameters
    ----------
    path : str or os.PathLike
        CSV/TSV (UTF-8, GBK or GB18030), Excel, Parquet with 经度/纬度 columns, GeoParquet, GeoPackage or
        GeoJSON of points. Headers in Chinese or English (see the module's docstring).
    kind : {"checkins", "tracks"}, optional
        The shape of the records; by default check-ins when they name a grid (网格编码) or have no
        coordinates, tracks otherwise.
    coords : {"wgs84", "cgcs2000", "gcj02", "bd09"}, optional
        What the coordinates are, for rows whose 坐标系 column (if any) says nothing.
    crs : optional
        CRS of a file that declares none, or of coordinates in metres.
    layer : str, optional
        Layer of a GeoPackage or sheet of a workbook.
    encoding : str, optional
        Text encoding of a CSV that is neither UTF-8 nor GBK/GB18030.
    report : gridmap.Report, optional
        Receives one finding per problem record (``no_worker``, ``bad_time``, ``no_location``,
        ``bad_coordinates``, ``bad_coord_system``); without one, a
        :class:`~gridmap.errors.GridmapWarning` summarises them.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`PATROL_COLUMNS` first (``person_id`` text, ``time`` naive Beijing time, ``grid_code`` and
        ``own_grid`` text or missing, ``converted_from`` the system a point was converted from, gcj02 or
        bd09, missing for points kept as given), then the file's other columns (not 坐标系), and a point
        geometry (None where a record has none) in EPSG:4326 or EPSG:4490; ``attrs["patrol_kind"]`` holds
        the kind.

    Raises
    ------
    ReadError, SchemaError, CRSError
        Unreadable file, no worker, time or location column, implausible coordinates.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _TABLES or (suffix == ".parquet" and not _is_geoparquet(path)):
        frame = read_table(path, sheet=layer, encoding=encoding, aliases=PATROL_ALIASES)
    else:
        frame = read_layer(path, layer, crs=crs, encoding=encoding, aliases=PATROL_ALIASES)
    return clean_patrols(frame, kind=kind, coords=coords, crs=crs, report=report, path=path)


def _is_geoparquet(path: Path) -> bool:
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise ReadError(f"not a Parquet file ({exc})", path=path, fix="export the records again") from exc
    return b"geo" in metadata


def clean_patrols(records: pd.DataFrame, *, kind: str | None = None, coords: str | None = None,
                  crs: object = None, report: Report | None = None,
                  path: str | os.PathLike | None = None) -> gpd.GeoDataFrame:
    """Return clean patrol records from a frame: model columns, Beijing times, WGS84 points.

    Parameters
    ----------
    records : pandas.DataFrame or geopandas.GeoDataFrame
        Records with Chinese or English headers (see the module's docstring), points as a geometry or as
        经度/纬度 (lon/lat) columns; not modified.
    kind, coords, crs, report
        As for :func:`read_patrols`.
    path : str or os.PathLike, optional
        The file the records came from, named in messages.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`read_patrols` returns.

    Examples
    --------
    >>> raw = pd.DataFrame({"人员编号": ["P000003", "P000003"], "打卡时间": ["2025-03-03 09:00", "bad"],
    ...                     "网格编码": ["990102001001001", "990102001001001"]})
    >>> found = Report("patrols")
    >>> clean = clean_patrols(raw, report=found)
    >>> clean[["person_id", "time", "grid_code"]]
      person_id                time        grid_code
    0   P000003 2025-03-03 09:00:00  990102001001001
    1   P000003                 NaT  990102001001001
    >>> clean.attrs["patrol_kind"], found.to_frame()["check"].tolist()
    ('checkins', ['bad_time'])
    """
    path = path if path is not None else records.attrs.get(SOURCE)
    findings = Report("patrol records")
    table = record_columns(records, findings, path=path)
    geometry, frame_crs, converted = _points(table, records, coords=coords, crs=crs, findings=findings,
                                             path=path)
    kind = _kind(kind, has_grid="grid_code" in records.columns or table["grid_code"].notna().any(),
                 has_points=bool(pd.notna(geometry).any()), path=path)
    before = table["converted_from"] if "converted_from" in table.columns else None  # cleaned before
    table["converted_from"] = converted if before is None else converted.fillna(as_text(before))
    ordered = [*PATROL_COLUMNS, *(c for c in table.columns if c not in PATROL_COLUMNS
                                  and c not in ("lon", "lat", "coord_system", "person_name"))]
    result = gpd.GeoDataFrame(table[ordered], geometry=gpd.GeoSeries(geometry, index=table.index,
                                                                      crs=frame_crs))
    _report_unlocated(result, kind, findings)
    result.attrs.update({KIND_ATTR: kind, **({SOURCE: str(path)} if path is not None else {})})
    _finish(findings, report=report, path=path)
    return result


def record_columns(records: pd.DataFrame, findings: Report, *,
                   path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Return the records' attributes with model names: worker, time, grid, own grid, coordinate system.

    ``person_id`` is the worker's id, else their name (巡查员, 姓名); ``time`` is parsed to naive Beijing
    time (unreadable times are reported and left missing); codes are text. The geometry is left out.
    Used on every batch of the out-of-core engine too.

    Raises
    ------
    SchemaError
        No worker column (for records that are not check-ins at a grid) or no time column.
    """
    geometry = getattr(records, "_geometry_column_name", None)
    table = pd.DataFrame(records)
    if geometry in table.columns:
        table = table.drop(columns=[geometry])
    table, _ = rename_columns(table, path=path, aliases=PATROL_ALIASES)
    if "time" not in table.columns:
        raise SchemaError(f"the patrol records have no time column (columns: {_listed(table)})", path=path,
                          fix="name the column of the record times 时间 (or 定位时间, 打卡时间, time)")
    worker = "person_id" if "person_id" in table.columns else "person_name"
    if worker not in table.columns:
        raise SchemaError(f"the patrol records have no worker column (columns: {_listed(table)})",
                          path=path, fix="name the column of the workers' ids 人员编号 (person_id) or of "
                                         "their names 巡查员")
    table = table.copy()
    table["person_id"] = as_text(table[worker]).astype(STRING_DTYPE)
    for position in np.flatnonzero(table["person_id"].isna().to_numpy()):
        findings.add("no_worker", "the record names no worker; it is left out of every measure",
                     record=f"record {position + 1}", row=position + 1,
                     fix=f"fill in the {worker} of this record")
    table["time"] = parse_times(table, "time", findings, path=path)
    for column in ("grid_code", "own_grid"):  # (an all-missing text column made directly: far faster)
        table[column] = as_text(table[column]).astype(STRING_DTYPE) if column in table.columns \
            else pd.Series(np.nan, index=table.index, dtype=STRING_DTYPE)
    return table


def _listed(table: pd.DataFrame) -> str:
    return ", ".join(map(str, table.columns))


def _kind(kind: str | None, *, has_grid: bool, has_points: bool, path) -> str:
    if kind is None:
        return "checkins" if has_grid or not has_points else "tracks"
    if kind not in PATROL_KINDS:
        raise SchemaError(f"kind={kind!r} is not a kind of patrol record", path=path,
                          fix=f"pass kind= one of {', '.join(PATROL_KINDS)}")
    if kind == "tracks" and not has_points:
        raise SchemaError("GPS tracks need coordinates and the records have none", path=path,
                          fix="give 经度/纬度 (lon/lat) columns or a point geometry, or pass kind='checkins'")
    return kind


def _points(table: pd.DataFrame, records: pd.DataFrame, *, coords, crs, findings: Report,
            path) -> tuple[np.ndarray, object, pd.Series]:
    """Point geometry of each record (None without one) in a storage CRS, shifted rows converted.

    Also returns the system each point was converted from (gcj02, bd09; missing: none), on the table's index.
    """
    if isinstance(records, gpd.GeoDataFrame) and records.geometry.notna().any():
        frame = gpd.GeoDataFrame(geometry=records.geometry.values, crs=records.crs)
        if crs is not None or frame.crs is None:  # a frame's own CRS is trusted; a missing one checked
            frame = normalize_crs(frame, path=path, assume=crs)
        x, y = _xy(frame.geometry.to_numpy())
        frame_crs = frame.crs
    elif "lon" in table.columns and "lat" in table.columns:
        coords = agreed_coords(records.attrs.get(COORDS_ATTR), coords, path=path)  # 经度_gcj02
        x, y = (_numbers(table, column, findings) for column in ("lon", "lat"))
        given = np.isfinite(x) & np.isfinite(y)
        if not given.any():
            return np.full(len(table), None, dtype=object), None, _none_converted(table)
        probe = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x[given], y[given]))
        stored = normalize_crs(probe, path=path, assume=crs if crs is not None else
                               coords if coords in ("wgs84", "cgcs2000") else None)
        x[given], y[given] = _xy(stored.geometry.to_numpy())  # metres with crs=: reprojected to degrees
        frame_crs = stored.crs
    elif "lon" in table.columns or "lat" in table.columns:
        raise SchemaError("the patrol records have only one coordinate column", path=path,
                          fix="give both 经度 (lon) and 纬度 (lat), or neither and the grid (网格编码)")
    else:
        return np.full(len(table), None, dtype=object), None, _none_converted(table)
    named = _systems(table.get("coord_system"), coords, findings, len(x))
    x, y = _shift(x, y, named)
    given = np.isfinite(x) & np.isfinite(y)
    points = shapely.points(np.where(given, x, 0.0), np.where(given, y, 0.0))
    shifted = named.isin(["gcj02", "bd09"]).to_numpy() & given
    converted = pd.Series(np.where(shifted, named.to_numpy(dtype=object), None), index=table.index,
                          dtype=STRING_DTYPE)
    # numpy's type stubs refuse None as the fill value
    return np.where(given, points, None), frame_crs, converted  # type: ignore[call-overload]


def _none_converted(table: pd.DataFrame) -> pd.Series:
    return pd.Series(np.nan, index=table.index, dtype=STRING_DTYPE)


def _xy(geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """X and y of point geometries (the first point of anything else; NaN for none), Z ignored."""
    present = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    x, y = np.full(len(geometry), np.nan), np.full(len(geometry), np.nan)
    first = shapely.get_point(geometry[present], 0)
    points = np.where(shapely.get_type_id(geometry[present]) == 0, geometry[present], first)
    x[present], y[present] = shapely.get_x(points), shapely.get_y(points)
    return x, y


def _numbers(table: pd.DataFrame, column: str, findings: Report) -> np.ndarray:
    """Return a coordinate column as floats, NaN where missing; report values that are not numbers."""
    raw = table[column]
    numbers = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy(copy=True)
    bad = ~np.isfinite(numbers) & as_text(raw).notna().to_numpy()
    for position in np.flatnonzero(bad):
        findings.add("bad_coordinates", f"{column} {raw.iloc[position]!r} is not a finite number; the record "
                     "is kept without location", record=f"record {position + 1}", row=position + 1,
                     fix="enter decimal degrees such as 108.3203")
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers


def shift_rows(x: np.ndarray, y: np.ndarray, systems: pd.Series | None, coords: str | None,
               findings: Report) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 and BD-09 rows to WGS84: the system each row's 坐标系 names, else ``coords``.

    Rows naming an unknown system are reported and lose their coordinates. Returns new arrays.

    Examples
    --------
    >>> x, y = shift_rows(np.array([108.37007, 108.366]), np.array([22.81431, 22.817]),
    ...                   pd.Series(["高德", "WGS-84"]), None, Report("patrols"))
    >>> x.round(4).tolist(), y.round(4).tolist()
    ([108.366, 108.366], [22.817, 22.817])
    """
    return _shift(x, y, _systems(systems, coords, findings, len(x)))


def _systems(systems: pd.Series | None, coords: str | None, findings: Report, n: int) -> pd.Series:
    """Return the system of each row (0 to n - 1): its 坐标系, else ``coords``; "unknown" (reported)."""
    if coords is not None and coords not in COORDINATE_SYSTEMS:
        raise CRSError(f"coords={coords!r} is not a coordinate system gridmap knows",
                       fix=f"pass coords= one of {', '.join(map(repr, COORDINATE_SYSTEMS))}")
    named = pd.Series(coords, index=range(n), dtype=object)
    if systems is None:
        return named
    given = as_text(systems.reset_index(drop=True))
    named_words = {word: _WORDS.get(vocabulary_key(word)) for word in given.dropna().unique()}  # a few words
    words = given.map(named_words)
    unknown = (given.notna() & words.isna()).to_numpy()
    for position in np.flatnonzero(unknown):
        findings.add("bad_coord_system", f"坐标系 {given.iloc[position]!r} is not a coordinate system "
                     "gridmap knows; the record is kept without location",
                     record=f"record {position + 1}", row=position + 1,
                     fix="write wgs84, cgcs2000, gcj02 (高德) or bd09 (百度)")
    return words.where(given.notna(), named).where(~unknown, "unknown")


def _shift(x: np.ndarray, y: np.ndarray, named: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Convert the rows named gcj02 or bd09 to WGS84 and drop those named "unknown"; new arrays."""
    x, y = x.copy(), y.copy()
    for system in ("gcj02", "bd09"):
        rows = (named == system).to_numpy()
        if rows.any():
            x[rows], y[rows] = convert(x[rows], y[rows], system, "wgs84")
    lost = (named == "unknown").to_numpy()
    x[lost], y[lost] = np.nan, np.nan
    return x, y


def _report_unlocated(frame: gpd.GeoDataFrame, kind: str, findings: Report) -> None:
    """Report records that can be put in no grid: no point and (for check-ins) no grid code."""
    missing = frame.geometry.isna().to_numpy().copy()
    if kind == "checkins":
        missing &= frame["grid_code"].isna().to_numpy()
    what = "no coordinates" if kind == "tracks" else "neither coordinates nor a grid code (网格编码)"
    for position in np.flatnonzero(missing):
        findings.add("no_location", f"the record has {what}; it is left out of every measure",
                     record=f"record {position + 1}", row=position + 1)


def _finish(findings: Report, *, report: Report | None, path) -> None:
    """Hand the findings to the caller's report, or warn once."""
    if report is not None:
        report.extend(findings)
    elif len(findings):
        where = f"{path}: " if path is not None else ""
        warnings.warn(f"{where}{findings.summary()}; pass report= to list them", GridmapWarning, stacklevel=3)
