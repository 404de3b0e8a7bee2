r"""Cases larger than memory: read partitioned GeoParquet batch by batch, put cases in grids, count them.

A city's case archive over years can hold tens of millions of records. Written as GeoParquet — one file,
or a folder of files such as one per month (``cases/2025-01.parquet`` or Hive folders
``cases/month=2025-01/part-0.parquet``) — it is read here in record batches with ``pyarrow.dataset``, so
memory stays bounded by the batch size, not by the archive:

* :func:`assign_partitioned` yields the cases batch by batch with their grid (the exact rule of
  :func:`gridmap.cases.assign`, so the batches concatenated equal ``assign`` on the whole archive);
* :func:`aggregate_partitioned` counts records and cases (sum of ``count``) per grid, community, street or
  district, overall or per day, week or month, with the counts :func:`gridmap.stats.summarize` gives.

Points come from the GeoParquet geometry column (WKB or GeoArrow point encoding, CRS from the file's
metadata) or from two coordinate columns (``xy=("lon", "lat")`` with ``crs=``). Write row groups no larger
than the batch size (``to_parquet(..., row_group_size=...)``): a row group is read whole. The grids'
:class:`~gridmap.cases.gridindex.GridIndex` is built once per call (or passed in, built once for many calls);
counting reads the points' coordinates straight from the Arrow columns. Counting 10 million cases against
9,000 grids takes 4 to 6 s, 9 to 12 times less than reading them all with geopandas, and peaks at about
1.1 GB resident, under a quarter of geopandas' 4.8 GB, whatever the number of cases
(``benchmarks/bench_scale.py``). For more than one machine, see :mod:`gridmap.cases.engines.dask`.

Examples
--------
>>> import pathlib, tempfile
>>> from shapely import box
>>> grids = gpd.GeoDataFrame({"code": ["A", "B"], "community_code": ["450102001003"] * 2},
...                          geometry=[box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.32, 22.81)],
...                          crs="EPSG:4490")
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> for month, xs in (("2025-01", [108.305, 108.315]), ("2025-02", [108.305, 108.306])):
...     part = gpd.GeoDataFrame({"reported_at": pd.to_datetime([f"{month}-15"] * 2), "count": [1, 2]},
...                             geometry=gpd.points_from_xy(xs, [22.805] * 2), crs="EPSG:4490")
...     part.to_parquet(folder / f"{month}.parquet")
>>> aggregate_partitioned(folder, grids, period="month")
  code   period  records  cases
0    A  2025-01        1      1
1    A  2025-02        2      3
2    B  2025-01        1      2
3    B  2025-02        0      0
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyproj
import shapely
from tqdm.auto import tqdm

from gridmap.cases.engines._tally import (
    add_findings,
    check_columns,
    check_options,
    combine,
    finish,
    grid_index,
    tally,
    tally_points,
)
from gridmap.cases.gridindex import GridIndex
from gridmap.cases.locate import assign_in_memory
from gridmap.crs import transformer
from gridmap.errors import CRSError, GeometryError, ReadError, SchemaError
from gridmap.findings import Report

__all__ = ["assign_partitioned", "aggregate_partitioned", "point_batches", "PointBatches",
           "DEFAULT_BATCH_SIZE"]

logger = logging.getLogger(__name__)

#: Records per batch. Counting 10 million cases against 9,000 grids peaked at 1.09 GB resident in 6.0 s;
#: batches of 500,000 at 0.97 GB in 5.9 s, of 250,000 at 0.83 GB in 6.5 s (benchmarks/bench_scale.py).
DEFAULT_BATCH_SIZE = 1_000_000

_CRS84 = pyproj.CRS("OGC:CRS84")  # GeoParquet's CRS when the metadata names none


@dataclass(frozen=True)
class _Source:
    """An opened dataset and how to get points from it."""

    dataset: ds.Dataset
    path: str
    geometry: str  # name of the geometry column in the frames
    encoding: str  # "WKB", "point" (GeoArrow struct) or "xy" (two columns)
    point_columns: tuple[str, ...]
    crs: pyproj.CRS
    columns: tuple[str, ...]  # the other columns to read


def assign_partitioned(source: str | os.PathLike | ds.Dataset, grids: gpd.GeoDataFrame | GridIndex, *,
                       columns: Sequence[str] | None = None, xy: tuple[str, str] | None = None,
                       crs: object = None, batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = False,
                       report: Report | None = None) -> Iterator[gpd.GeoDataFrame]:
    """Read cases from (partitioned) GeoParquet in batches and yield each batch with its grids.

    Each batch is put in grids by :func:`gridmap.cases.assign`, so it gets ``grid_code``,
    ``community_code`` (when the grids have it) and ``outside_m`` by the same exact rule; the batches are
    numbered on (a running index), so ``pd.concat`` of all of them equals ``assign`` on the whole source.
    The grids' :class:`~gridmap.cases.gridindex.GridIndex` is built once, before the first batch.

    Parameters
    ----------
    source : str, os.PathLike or pyarrow.dataset.Dataset
        A GeoParquet file, a folder of them (Hive partition folders such as ``month=2025-01`` become
        columns) or an opened dataset.
    grids : geopandas.GeoDataFrame or gridmap.cases.gridindex.GridIndex
        Grids with a unique text ``code``, as for :func:`gridmap.cases.assign`, or their index.
    columns : sequence of str, optional
        Columns to keep besides the geometry; default all (without the ``xy`` columns).
    xy : (str, str), optional
        Take points from these two coordinate columns (longitude, latitude or easting, northing) instead
        of the geometry column; needs ``crs``.
    crs : optional
        CRS of the coordinates when the source declares none (``xy`` columns, GeoParquet with crs null).
    batch_size : int, default :data:`DEFAULT_BATCH_SIZE`
        Largest number of records per batch.
    progress : bool, default False
        Show a progress bar (tqdm) over the records.
    report : gridmap.Report, optional
        Receives one finding per kind of problem with the number of records (``outside``: in no grid,
        ``no_location``: no point) once the last batch is read; without one, a
        :class:`~gridmap.errors.GridmapWarning` says so. Per-record details are in the rows themselves.

    Yields
    ------
    geopandas.GeoDataFrame
        One batch of cases with ``grid_code``, ``community_code`` and ``outside_m``.

    Raises
    ------
    ReadError, SchemaError, CRSError
        Missing or unreadable source, missing columns, no CRS. Raised at the call, before any batch.
    GeometryError
        Geometry that is not WKB, or not points (while reading).

    Examples
    --------
    Write the assigned cases as a new partitioned dataset, one file per batch:

    >>> import pathlib, tempfile
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(108.3, 22.8, 108.31, 22.81)], crs="EPSG:4490")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> gpd.GeoDataFrame({"case_id": ["E1", "E2", "E3"]}, geometry=gpd.points_from_xy(
    ...     [108.305, 108.306, 108.307], [22.805] * 3), crs="EPSG:4490").to_parquet(folder / "cases.parquet")
    >>> out = folder / "assigned"
    >>> out.mkdir()
    >>> for number, batch in enumerate(assign_partitioned(folder / "cases.parquet", grids, batch_size=2)):
    ...     batch.to_parquet(out / f"part-{number:05d}.parquet")
    >>> gpd.read_parquet(out)[["case_id", "grid_code"]]
      case_id grid_code
    0      E1         A
    1      E2         A
    2      E3         A
    """
    opened = _selected(_open(source, xy=xy, crs=crs), columns)
    _check_batch_size(batch_size)
    index = grid_index(grids, opened.crs)
    return _assigned(opened, index, batch_size=batch_size, progress=progress, report=report)


class PointBatches(NamedTuple):
    """Point records opened by :func:`point_batches`: their CRS, their number and the batches."""

    crs: pyproj.CRS
    rows: int
    batches: Iterator[tuple[pd.DataFrame, np.ndarray, np.ndarray]]


def point_batches(source: str | os.PathLike | ds.Dataset, *, columns: Sequence[str] | None = None,
                  xy: tuple[str, str] | None = None, crs: object = None, batch_size: int = DEFAULT_BATCH_SIZE,
                  progress: bool = False) -> PointBatches:
    """Open point records of any kind (cases, patrol tracks) and read them in batches of coordinates.

    The reading :func:`aggregate_partitioned` does, for other analyses that go through a large file once:
    each batch is a frame of the other columns and the x and y of its points (NaN where there is none), in
    the source's CRS, read straight from the Arrow columns where the points allow it. The source is
    checked at the call (missing file or columns, no CRS), the batches are read as they are iterated.

    Parameters
    ----------
    source, xy, crs, batch_size, progress
        As for :func:`assign_partitioned`.
    columns : sequence of str, optional
        Columns to read besides the points; default all.

    Returns
    -------
    PointBatches
        ``crs`` of the coordinates, the number of ``rows``, and ``batches``: (frame, x, y) per batch.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "points.parquet"
    >>> gpd.GeoDataFrame({"person_id": ["P1", "P2", "P1"]}, geometry=gpd.points_from_xy(
    ...     [108.30, 108.31, 108.32], [22.80] * 3), crs="EPSG:4490").to_parquet(path)
    >>> opened = point_batches(path, batch_size=2)
    >>> opened.crs.to_epsg(), opened.rows, [(len(frame), x.tolist()) for frame, x, _ in opened.batches]
    (4490, 3, [(2, [108.3, 108.31]), (1, [108.32])])
    """
    opened = _selected(_open(source, xy=xy, crs=crs), columns)
    _check_batch_size(batch_size)
    return PointBatches(opened.crs, opened.dataset.count_rows(),
                        _point_batches(opened, batch_size, progress=progress))


def _point_batches(opened: _Source, batch_size: int, *,
                   progress: bool) -> Iterator[tuple[pd.DataFrame, np.ndarray, np.ndarray]]:
    for table in _tables(opened, batch_size, progress=progress):
        xy = _coordinates(table, opened)
        if xy is None:  # WKB other than 2D points (3D points): read by shapely, Z dropped
            points = _points(table, opened)
            xy = shapely.get_x(points), shapely.get_y(points)
        frame = table.select(list(opened.columns)).to_pandas()
        frame.index = pd.RangeIndex(table.num_rows)
        yield frame, np.asarray(xy[0], dtype=float), np.asarray(xy[1], dtype=float)


def _selected(opened: _Source, columns: Sequence[str] | None) -> _Source:
    """Return the source reading only ``columns`` (besides the points); refuse names it lacks."""
    if columns is None:
        return opened
    missing = [c for c in columns if c not in opened.dataset.schema.names]
    if missing:
        raise SchemaError(f"the source has no column {missing[0]!r} (columns: "
                          f"{', '.join(opened.dataset.schema.names)})", path=opened.path,
                          fix="name columns of the source in columns=")
    return replace(opened, columns=tuple(c for c in columns if c not in opened.point_columns))


def aggregate_partitioned(source: str | os.PathLike | ds.Dataset, grids: gpd.GeoDataFrame | GridIndex, *,
                          by: str = "grid", period: str | None = None, xy: tuple[str, str] | None = None,
                          crs: object = None, batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = False,
                          report: Report | None = None) -> pd.DataFrame:
    """Count records and cases per grid, community, street or district (and period), batch by batch.

    Only the points, ``count`` and (with ``period``) ``reported_at`` are read. Memory is bounded by the
    batch size and the size of the result (units × periods), whatever the number of cases.

    Parameters
    ----------
    source : str, os.PathLike or pyarrow.dataset.Dataset
        A GeoParquet file, a folder of them or an opened dataset (see :func:`assign_partitioned`).
    grids : geopandas.GeoDataFrame or gridmap.cases.gridindex.GridIndex
        Grids with a unique text ``code`` and, for ``by`` other than grid, a 12-digit ``community_code``,
        or their index (built once here otherwise).
    by : {"grid", "community", "street", "district"}, default "grid"
        The level of the rows; communities, streets and districts are read from ``community_code``.
    period : {None, "day", "week", "month"}, default None
        Count per period of ``reported_at`` (China Standard Time), every period from the first to the
        last included, labelled like :func:`gridmap.stats.summarize` (2025-03-01, 2025-W09, 2025-03).
    xy, crs, batch_size, progress
        As for :func:`assign_partitioned`.
    report : gridmap.Report, optional
        Receives one finding per reason cases are left out (``outside``, ``no_location``, ``no_time``)
        and for unusable counts (``bad_count``, counted 0), with the numbers of cases and records;
        without one, a :class:`~gridmap.errors.GridmapWarning` says so.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``period`` (with ``period``), ``records`` (rows) and ``cases`` (sum of ``count``; 1 for
        a record without one), one row per unit of the grids (and period), ordered by code and period.

    Raises
    ------
    ReadError, SchemaError, CRSError
        Missing or unreadable source, unknown ``by`` or ``period``, no ``reported_at`` for ``period``,
        grids without community codes, no CRS.
    """
    check_options(grids, by=by, period=period)
    opened = _open(source, xy=xy, crs=crs)
    names = opened.dataset.schema.names
    check_columns(names, period=period, path=opened.path)
    wanted = tuple(c for c in ("count", "reported_at") if c in names and (c == "count" or period))
    _check_batch_size(batch_size)
    index = grid_index(grids, opened.crs)
    running = combine([])
    opened = replace(opened, columns=wanted)
    for table in _tables(opened, batch_size, progress=progress):
        running = combine([running, _tally(table, opened, index, period=period)])
    return finish(running, index, by=by, period=period, report=report)


def _tally(table: pa.Table, opened: _Source, index: GridIndex, *, period: str | None) -> pd.DataFrame:
    """Count one batch from its coordinates, or from its geometries for WKB other than 2D points."""
    xy = _coordinates(table, opened)
    if xy is None:
        return tally(_frame(table, opened), index, period=period)
    x, y = xy
    if not opened.crs.equals(index.crs):  # as GeoSeries.to_crs does
        x, y = transformer(opened.crs, index.crs).transform(x, y)
    return tally_points(x, y, table.select(list(opened.columns)).to_pandas(), index, period=period)


def _assigned(opened: _Source, index: GridIndex, *, batch_size: int, progress: bool,
              report: Report | None) -> Iterator[gpd.GeoDataFrame]:
    counted: Counter = Counter()
    first: dict[str, dict] = {}
    start = 0
    for frame in _frames(opened, batch_size, progress=progress):
        frame.index = pd.RangeIndex(start, start + len(frame))
        start += len(frame)
        found = Report("batch")
        result = assign_in_memory(frame, index, report=found)
        rows = found.to_frame()
        counted.update(rows["check"].value_counts().to_dict())
        for row in rows.drop_duplicates("check").to_dict("records"):
            first.setdefault(row["check"], row)
        yield result
    add_findings(report, _summary(counted, first), stacklevel=3)


def _summary(counted: Counter, first: dict[str, dict]) -> Report:
    """One finding per check of the assignment: how many records, and the first of them."""
    findings = Report("case assignment")
    for check, n in counted.items():
        row = first[check]
        findings.add(check, f"{n:,} records; the first: {row['record']}: {row['message']}",
                     severity=row["severity"], records=n)
    return findings


# --- reading --------------------------------------------------------------------------------------------

def _open(source, *, xy, crs) -> _Source:
    """Open the dataset and find its points and their CRS."""
    if isinstance(source, ds.Dataset):
        dataset, path = source, "dataset"
    else:
        path = str(source)
        if not Path(source).exists():
            raise ReadError("no such file or folder", path=path,
                            fix="give a GeoParquet file or a folder of them")
        try:
            dataset = ds.dataset(source, format="parquet", partitioning="hive")
        except (pa.ArrowException, OSError) as exc:
            raise ReadError(f"not a Parquet file or folder of Parquet files ({exc})", path=path,
                            fix="write the cases with GeoDataFrame.to_parquet") from exc
    names = dataset.schema.names
    if xy is not None:
        if len(xy) != 2 or any(c not in names for c in xy):
            raise SchemaError(f"xy={tuple(xy)!r} does not name two columns of the cases (columns: "
                              f"{', '.join(names)})", path=path,
                              fix="pass xy=(longitude column, latitude column)")
        if crs is None:
            raise CRSError("coordinate columns have no CRS", path=path,
                           fix="pass crs='EPSG:4490' (CGCS2000) or crs='EPSG:4326' (WGS84)")
        return _Source(dataset, path, "geometry", "xy", tuple(xy), _crs(crs, path),
                       tuple(c for c in names if c not in xy))
    column, encoding, declared = _geo_column(dataset.schema, path)
    given = None if crs is None else _crs(crs, path)
    if declared is not None and given is not None and not declared.equals(given):
        raise CRSError(f"crs={crs!r} contradicts the file's CRS {declared.name}", path=path,
                       fix="leave crs= out for files that declare their CRS")
    chosen = declared if declared is not None else given
    if chosen is None:
        raise CRSError(f"the GeoParquet metadata gives column {column!r} no CRS", path=path,
                       fix="pass crs='EPSG:4490' (CGCS2000) or crs='EPSG:4326' (WGS84)")
    return _Source(dataset, path, column, encoding, (column,), chosen, tuple(c for c in names if c != column))


def _geo_column(schema: pa.Schema, path: str) -> tuple[str, str, pyproj.CRS | None]:
    """Return the primary geometry column of GeoParquet metadata, its encoding and CRS (None: unknown)."""
    metadata = schema.metadata or {}
    if b"geo" not in metadata:
        raise SchemaError("the cases have no GeoParquet metadata (no geometry column)", path=path,
                          fix="write them with GeoDataFrame.to_parquet, or pass xy=('lon', 'lat') and crs=")
    try:
        geo = json.loads(metadata[b"geo"])
        column = geo["primary_column"]
        spec = geo["columns"][column]
        encoding = spec.get("encoding", "WKB")
        declared = _CRS84 if "crs" not in spec else None if spec["crs"] is None else pyproj.CRS(spec["crs"])
    except (ValueError, KeyError, TypeError, AttributeError, pyproj.exceptions.CRSError) as exc:
        raise SchemaError(f"the GeoParquet metadata cannot be read ({type(exc).__name__}: {exc})", path=path,
                          fix="write the cases again with GeoDataFrame.to_parquet") from exc
    if encoding not in ("WKB", "point"):
        raise SchemaError(f"geometry column {column!r} holds {encoding} geometries, not points", path=path,
                          fix="give cases as points")
    return column, encoding, declared


def _crs(crs: object, path: str) -> pyproj.CRS:
    try:
        return pyproj.CRS(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"crs={crs!r} is not a coordinate reference system", path=path,
                       fix="pass crs='EPSG:4490' (CGCS2000) or crs='EPSG:4326' (WGS84)") from exc


def _frames(opened: _Source, batch_size: int, *, progress: bool) -> Iterator[gpd.GeoDataFrame]:
    """Batches of ``batch_size`` records as GeoDataFrames with the source's columns and point geometry."""
    for table in _tables(opened, batch_size, progress=progress):
        yield _frame(table, opened)


def _tables(opened: _Source, batch_size: int, *, progress: bool) -> Iterator[pa.Table]:
    """Tables of ``batch_size`` records (the last one fewer) gathered from the scanner's record batches.

    The scanner yields a batch per row group or less; gathering them makes one assignment per
    ``batch_size`` records, whatever the row groups.
    """
    read = list(dict.fromkeys([*opened.columns, *opened.point_columns]))
    bar = tqdm(total=opened.dataset.count_rows(), unit="case", disable=not progress)
    pending: list[pa.RecordBatch] = []
    rows = 0
    try:
        # Read-ahead of one batch and one file: more would hold several batches in memory at once.
        for batch in opened.dataset.to_batches(columns=read, batch_size=batch_size, batch_readahead=1,
                                               fragment_readahead=1):
            bar.update(batch.num_rows)
            pending.append(batch)
            rows += batch.num_rows
            while rows >= batch_size:
                table = pa.Table.from_batches(pending)
                logger.debug("%s: a batch of %d records", opened.path, batch_size)
                yield table.slice(0, batch_size).combine_chunks()
                rest = table.slice(batch_size)
                pending, rows = rest.to_batches(), rest.num_rows
        if rows:
            yield pa.Table.from_batches(pending).combine_chunks()
    except (pa.ArrowException, OSError) as exc:
        raise ReadError(f"cannot read the cases ({exc})", path=opened.path,
                        fix="check that every file of the folder is complete GeoParquet with the same columns"
                        ) from exc
    finally:
        bar.close()


def _frame(table: pa.Table, opened: _Source) -> gpd.GeoDataFrame:
    attributes = table.select(list(opened.columns)).to_pandas()
    attributes.index = pd.RangeIndex(table.num_rows)
    geometry = gpd.GeoSeries(_points(table, opened), index=attributes.index, crs=opened.crs)
    return gpd.GeoDataFrame(attributes, geometry=geometry.rename(opened.geometry))


def _points(table: pa.Table, opened: _Source) -> np.ndarray:
    """Point geometries of a batch (None where there is no point)."""
    if opened.encoding == "WKB":
        try:
            return shapely.from_wkb(_wkb(table, opened).to_numpy(zero_copy_only=False))
        except shapely.errors.GEOSException as exc:
            raise GeometryError(f"column {opened.geometry!r} holds bytes that are not WKB ({exc})",
                                path=opened.path, fix="write the cases with GeoDataFrame.to_parquet") from exc
    xy = _coordinates(table, opened)
    assert xy is not None, "only WKB columns have no coordinates"
    x, y = xy
    given = np.isfinite(x) & np.isfinite(y)
    points = cast(np.ndarray, shapely.points(np.where(given, x, 0), np.where(given, y, 0)))
    # numpy's type stubs refuse None as the fill value
    return np.where(given, points, None)  # type: ignore[call-overload]


def _coordinates(table: pa.Table, opened: _Source) -> tuple[np.ndarray, np.ndarray] | None:
    """Return x and y of a batch's points, NaN where there is none; None for WKB other than 2D points."""
    if opened.encoding == "WKB":
        return _wkb_xy(_wkb(table, opened))
    if opened.encoding == "point":
        column = table.column(opened.geometry).combine_chunks()
        parts = [column.field(name) for name in ("x", "y")]
        names = opened.point_columns * 2
    else:
        parts = [table.column(name).combine_chunks() for name in opened.point_columns]
        names = opened.point_columns
    x, y = (_floats(part, name, opened.path) for part, name in zip(parts, names, strict=True))
    if opened.encoding == "point":
        x[column.is_null().to_numpy(zero_copy_only=False)] = np.nan
    return x, y


def _wkb(table: pa.Table, opened: _Source) -> pa.Array:
    column = table.column(opened.geometry).combine_chunks()
    return column.storage if isinstance(column, pa.ExtensionArray) else column


def _wkb_xy(column: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Return x and y of WKB points read from their bytes (NaN for nulls); None unless all are 2D points.

    Hand-written because it saves the most time out of core: geopandas writes a point as 21 bytes
    (byte order 1, type 1 as four bytes, x, y), back to back, read here with numpy instead of making a
    million shapely points per batch to read their coordinates back. Anything else is left to shapely.
    """
    if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
        return None
    width = 8 if pa.types.is_large_binary(column.type) else 4
    _, offsets, data = column.buffers()
    ends = np.frombuffer(offsets, dtype=f"<i{width}", count=len(column) + 1, offset=column.offset * width)
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    starts = ends[:-1][valid].astype(np.int64)
    x, y = np.full(len(column), np.nan), np.full(len(column), np.nan)
    if not len(starts):
        return x, y
    first = int(starts[0])
    if np.any(starts != first + 21 * np.arange(len(starts))) or np.any(np.diff(ends)[valid] != 21):
        return None
    points = np.frombuffer(data, dtype=np.uint8, count=21 * len(starts), offset=first).reshape(-1, 21)
    if np.any(points[:, :5] != np.array([1, 1, 0, 0, 0], dtype=np.uint8)):
        return None
    xy = points[:, 5:].copy().view("<f8")
    x[valid], y[valid] = xy[:, 0], xy[:, 1]
    return x, y


def _floats(values: pa.Array, name: str, path: str) -> np.ndarray:
    """Numbers of a column as float64 with NaN for nulls."""
    try:
        numbers = pc.cast(values, pa.float64())
    except pa.ArrowInvalid as exc:
        raise SchemaError(f"column {name!r} holds values that are not numbers ({exc})", path=path,
                          fix="give coordinates as decimal numbers") from exc
    return numbers.to_numpy(zero_copy_only=False).astype(np.float64, copy=True)


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise SchemaError(f"batch_size={batch_size!r} is not a positive whole number",
                          fix=f"pass batch_size={DEFAULT_BATCH_SIZE:_} (the default) or another number")
