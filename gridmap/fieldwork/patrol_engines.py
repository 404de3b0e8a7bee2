r"""Patrols larger than memory: the out-of-core and dask engines of the patrol measures.

A month of GPS tracks for a city of 9,000 grids is tens of millions of points: too many for one frame of
geometries. Both engines reuse the engines of the cases (:mod:`gridmap.cases.engines`) and the grids'
:class:`~gridmap.cases.GridIndex`, and give exactly the in-memory answer:

* :func:`summarize_patrols_partitioned` reads (partitioned) GeoParquet in batches with
  :func:`gridmap.cases.engines.chunked.point_batches`, spills the located points to temporary Arrow files by
  worker and measures one file of workers at a time: memory stays bounded by the batch size (and the size
  of the result);
* :func:`summarize_patrols_dask` does the same on a dask cluster: every partition is cleaned, located and
  split by worker on a worker, and each bucket of workers is measured on a worker; only the pieces of a
  bucket and the small measured parts travel (``pip install gridmap[dask]``).

The measures of disjoint sets of workers add up (:mod:`gridmap.fieldwork._patrol_measures`), which is why
splitting by worker changes nothing. ``benchmarks/bench_patrols.py`` measures a month of tracks.

Examples
--------
>>> import pathlib, tempfile
>>> from shapely import box
>>> grids = gpd.GeoDataFrame({"code": ["990102001001001"]}, geometry=[box(108.30, 22.80, 108.31, 22.81)],
...                          crs="EPSG:4490")
>>> times = pd.date_range("2025-03-03 09:00", periods=21, freq="min")
>>> tracks = gpd.GeoDataFrame({"person_id": "P000003", "time": times}, crs="EPSG:4490",
...                           geometry=gpd.points_from_xy(np.linspace(108.301, 108.309, 21), [22.805] * 21))
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tracks.parquet"
>>> tracks.to_parquet(path)
>>> summarize_patrols_partitioned(path, grids, batch_size=10).grids[["code", "patrols", "minutes"]]
              code  patrols  minutes
0  990102001001001        1     20.0
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from gridmap.cases.engines.chunked import DEFAULT_BATCH_SIZE, point_batches
from gridmap.errors import SchemaError
from gridmap.fieldwork._patrol_measures import Part, Setting, combine, measure, no_points, prepare
from gridmap.fieldwork.patrol_records import _xy, record_columns, shift_rows
from gridmap.fieldwork.patrol_rules import PatrolRules
from gridmap.fieldwork.patrols import PatrolSummary, _check_period, _prepared, _rules, _summary
from gridmap.findings import Report
from gridmap.io._columns import rename_columns
from gridmap.schema import PATROL_ALIASES, PATROL_KINDS

if TYPE_CHECKING:
    import dask_geopandas

__all__ = ["summarize_patrols_partitioned", "summarize_patrols_dask"]

_POINT_SCHEMA = pa.schema([("person", pa.string()), ("time", pa.int64()), ("x", pa.float64()),
                           ("y", pa.float64()), ("grid", pa.int64()), ("own", pa.int64())])
_RECORD_FIELDS = ("person_id", "person_name", "time", "grid_code", "own_grid", "coord_system")


def summarize_patrols_partitioned(source: str | os.PathLike, grids: gpd.GeoDataFrame, *,
                                  units: gpd.GeoDataFrame | None = None, roster: pd.DataFrame | None = None,
                                  kind: str = "tracks", period: str = "day", rules: PatrolRules | None = None,
                                  coords: str | None = None, xy: tuple[str, str] | None = None,
                                  crs: object = None, within_m: float | None = None,
                                  idle_days: float | None = None, start: object = None, end: object = None,
                                  at: object = None, tracks: bool = False,
                                  batch_size: int = DEFAULT_BATCH_SIZE,
                                  workdir: str | os.PathLike | None = None, progress: bool = False,
                                  report: Report | None = None) -> PatrolSummary:
    """Measure patrols from GeoParquet larger than memory: :func:`summarize_patrols` out of core.

    The records are read in batches of ``batch_size`` (:func:`gridmap.cases.engines.chunked.point_batches`),
    cleaned and put in grids batch by batch, and written to temporary Arrow files by worker (a hash of the
    worker's id), about ``batch_size`` records each; each file then holds every record of its workers and
    is measured on its own. Memory is bounded by the batch size and the size of the result (grids ×
    days); the temporary files (about 45 bytes a record) are removed at the end. The result equals
    :func:`~gridmap.fieldwork.patrols.summarize_patrols` on the same records.

    Parameters
    ----------
    source : str or os.PathLike
        A GeoParquet file or folder of them (Hive partitions such as ``day=2025-03-03`` too), or Parquet
        with coordinate columns (``xy=``). Columns as for
        :func:`~gridmap.fieldwork.patrols.summarize_patrols` (Chinese headers too).
    grids, units, roster, kind, period, rules, coords, within_m, idle_days, start, end, at
        As for :func:`~gridmap.fieldwork.patrols.summarize_patrols` (``kind`` defaults to tracks).
    xy : (str, str), optional
        Coordinate columns (longitude, latitude) instead of the geometry; needs ``crs``.
    crs : optional
        CRS of the coordinates when the source declares none.
    tracks : bool, default False
        Draw the tracks (a month of a city's tracks is a large layer).
    batch_size : int, default 1,000,000
        Records read and measured at once.
    workdir : str or os.PathLike, optional
        Folder for the temporary files (default the system's temporary folder).
    progress : bool, default False
        Show progress bars (tqdm) while reading and measuring.
    report : gridmap.Report, optional
        As for :func:`~gridmap.fieldwork.patrols.summarize_patrols`; problems of single records are
        summarised by kind with the number of records and the first of them.

    Returns
    -------
    gridmap.fieldwork.patrols.PatrolSummary
    """
    rules = _checked(rules, kind=kind, period=period, within_m=within_m, idle_days=idle_days)
    opened = point_batches(source, xy=xy, crs=crs, batch_size=batch_size, progress=progress,
                           columns=_record_fields(source, xy))
    layout, setting = _prepared(grids, units, roster, rules, kind=kind, crs=opened.crs, tracks=tracks)
    findings, found = Report("patrols"), Report("patrol records")
    counts: Counter = Counter()
    folder = Path(tempfile.mkdtemp(prefix="gridmap-patrols-", dir=workdir))
    try:
        n_buckets = max(1, -(-opened.rows // batch_size))
        buckets = _spill(opened.batches, n_buckets, folder, setting, coords=coords, found=found,
                         counts=counts, path=str(source))
        part = measure(no_points(), setting)  # no usable record at all: the summary says so
        for path in tqdm(buckets, unit="bucket", disable=not progress):
            part = combine([part, measure(_read_bucket(path), setting)])  # units passed: deduplicated
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    part.counts.update(counts)
    findings.extend(_first_of_each(found))
    return _summary(part, layout, setting, grids, period=period, span=(start, end, at), findings=findings,
                    report=report)


def _record_fields(source, xy: tuple[str, str] | None) -> list[str] | None:
    """Return the source's columns the records need (worker, time, grids, 坐标系), by their aliases."""
    import pyarrow.dataset as ds

    try:
        names = ds.dataset(source, format="parquet", partitioning="hive").schema.names
    except (pa.ArrowException, OSError):
        return None  # point_batches says what is wrong
    _, sources = rename_columns(pd.DataFrame(columns=names), aliases=PATROL_ALIASES)
    return [sources[field] for field in _RECORD_FIELDS
            if field in sources and sources[field] not in (xy or ())]


def _spill(batches: Iterator[tuple[pd.DataFrame, np.ndarray, np.ndarray]], n_buckets: int, folder: Path,
           setting: Setting, *, coords: str | None, found: Report, counts: Counter, path: str) -> list[Path]:
    """Clean and locate every batch and append its points to the Parquet file of their workers' bucket."""
    paths = [folder / f"bucket-{number:05d}.arrow" for number in range(n_buckets)]
    writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
    try:
        for frame, x, y in batches:
            table = record_columns(frame, found, path=path)
            x, y = shift_rows(x, y, table.get("coord_system"), coords, found)
            points, batch_counts = prepare(table, x, y, setting)
            counts.update(batch_counts)
            bucket = _buckets(points, n_buckets)
            order = np.argsort(bucket, kind="stable")
            table = pa.Table.from_pandas(points, schema=_POINT_SCHEMA, preserve_index=False).take(order)
            bounds = np.searchsorted(bucket[order], np.arange(n_buckets + 1))
            for number in map(int, np.flatnonzero(np.diff(bounds))):
                if number not in writers:  # Arrow IPC: written and read back at disk speed
                    writers[number] = pa.ipc.new_file(paths[number], _POINT_SCHEMA)
                rows = table.slice(bounds[number], bounds[number + 1] - bounds[number])
                writers[number].write_table(rows)
    finally:
        for writer in writers.values():
            writer.close()
    return [paths[number] for number in sorted(writers)]


def _read_bucket(path: Path) -> pd.DataFrame:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all().to_pandas()


def _first_of_each(found: Report) -> Report:
    """One finding per check of the records: how many, and the first of them."""
    summary = Report("patrol records")
    frame = found.to_frame()
    for check, rows in frame.groupby("check", sort=False):
        first = rows.iloc[0]
        summary.add(str(check), f"{len(rows):,} records; the first: {first['record']}: {first['message']}",
                    severity=str(first["severity"]), records=len(rows))
    return summary


def summarize_patrols_dask(records: gpd.GeoDataFrame | dask_geopandas.GeoDataFrame | str | os.PathLike,
                           grids: gpd.GeoDataFrame, *, units: gpd.GeoDataFrame | None = None,
                           roster: pd.DataFrame | None = None, kind: str = "tracks", period: str = "day",
                           rules: PatrolRules | None = None, coords: str | None = None,
                           within_m: float | None = None, idle_days: float | None = None,
                           start: object = None, end: object = None, at: object = None, tracks: bool = False,
                           npartitions: int | None = None, report: Report | None = None) -> PatrolSummary:
    """Measure patrols on dask workers: :func:`~gridmap.fieldwork.patrols.summarize_patrols` on a cluster.

    Every partition of the records is cleaned, put in grids and split into buckets by worker (as many as
    partitions) on a worker; each bucket, all of its workers' records, is measured on a worker, and the
    measured parts are added up here. The grids' index and the units travel to every worker once. Without
    a distributed client dask computes on the local threads (see :mod:`gridmap.cases.engines.dask`).

    Parameters
    ----------
    records : geopandas.GeoDataFrame, dask_geopandas.GeoDataFrame, str or os.PathLike
        Point records with the columns :func:`~gridmap.fieldwork.patrols.summarize_patrols` reads; a path
        is read with ``dask_geopandas.read_parquet`` (GeoParquet every worker can read).
    grids, units, roster, kind, period, rules, coords, within_m, idle_days, start, end, at, tracks, report
        As for :func:`summarize_patrols_partitioned`.
    npartitions : int, optional
        Partitions to split the records into (default: one per million records in memory, or the source's).

    Returns
    -------
    gridmap.fieldwork.patrols.PatrolSummary

    Raises
    ------
    ImportError
        dask or dask-geopandas is not installed.
    """
    from gridmap.cases.engines.dask import as_dask, import_dask, shared_delayed

    dask, _ = import_dask()
    rules = _checked(rules, kind=kind, period=period, within_m=within_m, idle_days=idle_days)
    lazy = as_dask(records, npartitions)
    layout, setting = _prepared(grids, units, roster, rules, kind=kind, crs=lazy.crs, tracks=tracks)
    shared = shared_delayed(dask, setting)
    n_buckets = lazy.npartitions
    located = [dask.delayed(_locate_partition, nout=3)(part, shared, coords, n_buckets)
               for part in lazy.to_delayed()]
    measured = [dask.delayed(_measure_pieces)([dask.delayed(itemgetter(bucket))(pieces)
                                               for pieces, _, _ in located], shared)
                for bucket in range(n_buckets)]
    parts, counts, found = dask.compute(measured, [c for _, c, _ in located], [f for _, _, f in located])
    part = combine(list(parts))
    for partition in counts:
        part.counts.update(partition)
    findings = Report("patrols")
    everything = Report("patrol records")
    for partition in found:
        everything.extend(partition)
    findings.extend(_first_of_each(everything))
    return _summary(part, layout, setting, grids, period=period, span=(start, end, at), findings=findings,
                    report=report)


def _locate_partition(part: gpd.GeoDataFrame, setting: Setting, coords: str | None,
                      n_buckets: int) -> tuple[list[pd.DataFrame], Counter, Report]:
    """Clean and locate one partition and split its points into buckets by worker."""
    found = Report("patrol records")
    table = record_columns(part, found)
    x, y = _xy(np.asarray(part.geometry.to_numpy(), dtype=object))
    x, y = shift_rows(x, y, table.get("coord_system"), coords, found)
    points, counts = prepare(table, x, y, setting)
    bucket = _buckets(points, n_buckets)
    return [points[bucket == number].reset_index(drop=True) for number in range(n_buckets)], counts, found


def _measure_pieces(pieces: list[pd.DataFrame], setting: Setting) -> Part:
    return measure(pd.concat(pieces, ignore_index=True), setting)


def _buckets(points: pd.DataFrame, n_buckets: int) -> np.ndarray:
    """Return the bucket of each point: a hash of its worker's id, the same in every batch and partition."""
    hashed = pd.util.hash_pandas_object(points["person"], index=False).to_numpy()
    return (hashed % np.uint64(n_buckets)).astype(np.int64)


def _checked(rules: PatrolRules | None, *, kind: str, period: str, within_m: float | None,
             idle_days: float | None) -> PatrolRules:
    """Return the rules with the overrides, after refusing an unknown kind or period."""
    _check_period(period)
    if kind not in PATROL_KINDS:
        raise SchemaError(f"kind={kind!r} is not a kind of patrol record",
                          fix=f"pass kind= one of {', '.join(PATROL_KINDS)}")
    return _rules(rules, within_m=within_m, idle_days=idle_days)
