r"""Cases on a dask cluster: the assignment and roll-ups of gridmap, spread over many workers.

When one machine is not enough — a province's archive, or assignments repeated for many grid versions —
the cases are split into partitions (dask-geopandas) and every partition is put in grids on a worker by
:func:`gridmap.cases.assign`, so the results equal the in-memory ones exactly:

* :func:`assign_dask` — a GeoDataFrame in, the same GeoDataFrame ``assign`` returns out (findings and
  ``strict`` included); a dask-geopandas frame or a GeoParquet path in, a lazy dask-geopandas frame out;
* :func:`aggregate_dask` — records and cases per grid, community, street or district (and period), equal
  to :func:`gridmap.cases.engines.chunked.aggregate_partitioned` and to the counts of
  :func:`gridmap.stats.summarize`.

Install the optional part with ``pip install gridmap[dask]`` (dask[distributed] and dask-geopandas).

Without a client, dask computes on the local threads. To use a cluster, start a scheduler
(``dask scheduler``) and workers (``dask worker tcp://scheduler:8786``) on machines that all have the same
gridmap installed and can read the case files at the same path (a shared folder or object storage), then
connect before calling; every computation runs there::

    import dask_geopandas
    from distributed import Client
    from gridmap.cases.engines.dask import aggregate_dask, assign_dask

    client = Client("tcp://scheduler:8786")            # or Client(LocalCluster()) on one machine
    cases = dask_geopandas.read_parquet("/shared/cases/")  # a folder of GeoParquet files
    table = aggregate_dask(cases, grids, by="community", period="month")   # a pandas DataFrame
    assign_dask(cases, grids).to_parquet("/shared/cases_with_grids/")    # written by the workers

The grids' :class:`~gridmap.cases.GridIndex` is built once on the client (pass one to reuse it across
calls) and travels to every worker once; each partition should hold a few hundred thousand to a few
million cases (``npartitions=``, or ``dask_geopandas.read_parquet(..., split_row_groups=...)``).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from gridmap.cases.engines._tally import (
    add_findings,
    check_columns,
    check_options,
    combine,
    finish,
    grid_index,
    tally,
)
from gridmap.cases.engines.chunked import DEFAULT_BATCH_SIZE
from gridmap.cases.gridindex import GridIndex
from gridmap.cases.locate import assign_in_memory
from gridmap.errors import CaseError, ReadError, SchemaError
from gridmap.findings import Report

if TYPE_CHECKING:
    import dask_geopandas

__all__ = ["assign_dask", "aggregate_dask", "import_dask", "as_dask", "shared_delayed"]

# Tallies added up together in one task of the reduction tree.
_FAN_IN = 8
# Order of the checks in the findings of gridmap.cases.assign: merged partition findings follow it.
_CHECK_ORDER = ("outside", "no_location")


def assign_dask(cases: gpd.GeoDataFrame | dask_geopandas.GeoDataFrame,
                grids: gpd.GeoDataFrame | GridIndex, *,
                npartitions: int | None = None, strict: bool = False,
                report: Report | None = None) -> gpd.GeoDataFrame | dask_geopandas.GeoDataFrame:
    """Put every case in exactly one grid, partition by partition on dask workers.

    Parameters
    ----------
    cases : geopandas.GeoDataFrame, dask_geopandas.GeoDataFrame, str or os.PathLike
        Point cases; a path is read with ``dask_geopandas.read_parquet`` (a GeoParquet file or folder
        every worker can read).
    grids : geopandas.GeoDataFrame or gridmap.cases.gridindex.GridIndex
        Grids with a unique text ``code``, as for :func:`gridmap.cases.assign`, or their index.
    npartitions : int, optional
        Partitions to split the cases into; default one per million cases (an in-memory frame) or the
        partitions the source already has.
    strict : bool, default False
        Raise :class:`~gridmap.errors.CaseError` for cases outside every grid (in-memory cases only).
    report : gridmap.Report, optional
        Receives the findings of :func:`gridmap.cases.assign` (in-memory cases only).

    Returns
    -------
    geopandas.GeoDataFrame or dask_geopandas.GeoDataFrame
        For a GeoDataFrame, the GeoDataFrame :func:`gridmap.cases.assign` returns, computed. Otherwise a
        lazy frame with ``grid_code``, ``community_code`` and ``outside_m``: call ``.compute()`` or
        ``.to_parquet(folder)``.

    Raises
    ------
    ImportError
        dask or dask-geopandas is not installed.
    SchemaError, CodeError, CRSError, GeometryError, ReadError
        As :func:`gridmap.cases.assign`; ``strict`` or ``report`` with lazy cases.
    CaseError
        In strict mode, cases outside every grid.
    """
    dask, _ = import_dask()
    if isinstance(cases, gpd.GeoDataFrame):
        index = grid_index(grids, cases.crs)
        return _assign_eager(dask, cases, index, npartitions=npartitions, strict=strict, report=report)
    if strict or report is not None:
        raise SchemaError("strict= and report= need the cases in memory",
                          fix="pass a GeoDataFrame, or find the cases outside every grid in the result: "
                          "grid_code is NA and outside_m is set")
    lazy = as_dask(cases, npartitions)
    index = grid_index(grids, lazy.crs)
    from dask.dataframe.utils import make_meta

    meta = _assign_quiet(make_meta(lazy), index)
    return lazy.map_partitions(_assign_quiet, shared_delayed(dask, index), meta=meta)


def aggregate_dask(cases: gpd.GeoDataFrame | dask_geopandas.GeoDataFrame,
                   grids: gpd.GeoDataFrame | GridIndex, *, by: str = "grid", period: str | None = None,
                   npartitions: int | None = None, report: Report | None = None) -> pd.DataFrame:
    """Count records and cases per grid, community, street or district (and period) on dask workers.

    Every partition is put in grids and counted on a worker; the counts are added up in a tree of tasks,
    so only tables of grids × periods travel. The result equals
    :func:`gridmap.cases.engines.chunked.aggregate_partitioned` on the same cases.

    Parameters
    ----------
    cases : geopandas.GeoDataFrame, dask_geopandas.GeoDataFrame, str or os.PathLike
        Point cases with optional ``count`` and, for ``period``, ``reported_at``; a path is read with
        ``dask_geopandas.read_parquet``.
    grids : geopandas.GeoDataFrame or gridmap.cases.gridindex.GridIndex
        Grids with a unique text ``code`` and, for ``by`` other than grid, a 12-digit ``community_code``,
        or their index.
    by : {"grid", "community", "street", "district"}, default "grid"
    period : {None, "day", "week", "month"}, default None
    npartitions : int, optional
        As for :func:`assign_dask`.
    report : gridmap.Report, optional
        Receives one finding per reason cases are left out, as for ``aggregate_partitioned``.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``period`` (with ``period``), ``records``, ``cases``: one row per unit (and period).

    Raises
    ------
    ImportError
        dask or dask-geopandas is not installed.
    SchemaError, ReadError
        Unknown ``by`` or ``period``, no ``reported_at`` for ``period``, unusable grids or source.
    """
    dask, _ = import_dask()
    check_options(grids, by=by, period=period)
    lazy = as_dask(cases, npartitions)
    check_columns(list(lazy.columns), period=period)
    index = grid_index(grids, lazy.crs)
    wanted = [c for c in ("count", "reported_at") if c in lazy.columns and (c == "count" or period)]
    lazy = lazy[[*wanted, lazy.geometry.name]]
    shared = shared_delayed(dask, index)
    parts = [dask.delayed(tally)(part, shared, period=period) for part in lazy.to_delayed()]
    while len(parts) > 1:
        parts = [dask.delayed(combine)(parts[i:i + _FAN_IN]) for i in range(0, len(parts), _FAN_IN)]
    (total,) = dask.compute(parts[0]) if parts else (combine([]),)
    return finish(total, index, by=by, period=period, report=report)


def import_dask() -> tuple[ModuleType, ModuleType]:
    """Import dask and dask-geopandas, or say how to install them (ImportError); return both modules."""
    try:
        import dask
        import dask_geopandas
    except ImportError as exc:
        raise ImportError("gridmap's dask engine needs dask and dask-geopandas: "
                          "pip install gridmap[dask]") from exc
    return dask, dask_geopandas


def as_dask(cases: gpd.GeoDataFrame | dask_geopandas.GeoDataFrame | str | os.PathLike,
            npartitions: int | None) -> dask_geopandas.GeoDataFrame:
    """Return cases (or any points: patrol records) as a dask-geopandas frame of ``npartitions`` partitions.

    A GeoDataFrame is split (default: one partition per million rows) keeping its text dtypes; a path is
    read as GeoParquet (a file or a folder); a dask-geopandas frame is repartitioned only when
    ``npartitions`` is given. Raises :class:`~gridmap.errors.ReadError` for a path that cannot be read,
    :class:`~gridmap.errors.SchemaError` for anything else.
    """
    dask, dask_geopandas = import_dask()
    if isinstance(cases, gpd.GeoDataFrame):
        with dask.config.set({"dataframe.convert-string": False}):  # keep the frame's own text dtypes
            return dask_geopandas.from_geopandas(cases, npartitions=npartitions or _partitions(len(cases)),
                                                 sort=False)
    if isinstance(cases, (str, os.PathLike)):
        if not os.path.exists(cases):
            raise ReadError("no such file or folder", path=cases,
                            fix="give a GeoParquet file or a folder of them")
        try:
            cases = dask_geopandas.read_parquet(cases)
        except (ValueError, OSError) as exc:  # pyarrow's errors derive from these
            raise ReadError(f"cannot read GeoParquet ({type(exc).__name__}: {exc})", path=cases,
                            fix="write the cases with GeoDataFrame.to_parquet") from exc
    if not isinstance(cases, dask_geopandas.GeoDataFrame):
        raise SchemaError("cases must be a GeoDataFrame, a dask-geopandas GeoDataFrame or a GeoParquet "
                          f"path, got {type(cases).__name__}",
                          fix="read them with gridmap.cases.read_cases or dask_geopandas.read_parquet")
    return cases if npartitions is None else cases.repartition(npartitions=npartitions)


def shared_delayed(dask: ModuleType, index: GridIndex | object) -> Any:
    """Return the index (or anything every task needs) as every task should get it: sent once to each worker.

    With a distributed client the index (tens of MB for thousands of grids) is scattered to the workers
    rather than put in every graph; without one, dask's local threads share the object itself.
    """
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):  # no distributed, or no client
        return dask.delayed(index)
    return dask.delayed(client.scatter(index, broadcast=True))


def _partitions(n: int) -> int:
    return max(1, -(-n // DEFAULT_BATCH_SIZE))


def _assign_quiet(part: gpd.GeoDataFrame, index: GridIndex) -> gpd.GeoDataFrame:
    """Assign one partition; its findings are in its rows (lazy results have no report)."""
    return assign_in_memory(part, index, report=Report("partition"))


def _assign_found(part: gpd.GeoDataFrame, index: GridIndex) -> tuple[gpd.GeoDataFrame, Report]:
    """Assign one partition and keep its findings."""
    found = Report("partition")
    return assign_in_memory(part, index, report=found), found


def _assign_eager(dask, cases: gpd.GeoDataFrame, index: GridIndex, *, npartitions, strict,
                  report) -> gpd.GeoDataFrame:
    lazy = as_dask(cases, npartitions)
    shared = shared_delayed(dask, index)
    parts = dask.compute(*[dask.delayed(_assign_found)(part, shared) for part in lazy.to_delayed()])
    result = pd.concat([frame for frame, _ in parts])
    findings = _merged([found for _, found in parts])
    if strict:
        findings.raise_for_errors(CaseError)
    add_findings(report, findings, stacklevel=4)
    return result


def _merged(reports: list[Report]) -> Report:
    """Merge the partitions' findings in the order ``assign`` gives them for all cases: check by check."""
    frames = [found.to_frame() for found in reports]
    seen = [check for frame in frames for check in frame["check"]]
    checks = [c for c in _CHECK_ORDER if c in seen]
    checks += [c for c in dict.fromkeys(seen) if c not in _CHECK_ORDER]
    merged = Report("case assignment")
    for check in checks:
        for frame in frames:
            rows = frame[frame["check"] == check].dropna(axis=1, how="all")
            for row in rows.to_dict("records"):
                merged.add(row.pop("check"), row.pop("message"), record=row.pop("record", None),
                           severity=row.pop("severity"), **row)
    return merged
