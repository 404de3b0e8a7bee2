"""Benchmark counting cases larger than memory: gridmap.cases.engines.chunked against plain geopandas.

Run: ``python benchmarks/bench_scale.py [--cases 10000000] [--grids 9000] [--batch-size 1000000]
[--folder DIR]``

The grids are bench_cases' Voronoi tessellation around Nanning (``--grids`` seeds, about 50 vertices per
grid); the cases are uniform random points in the same box with a report time in 2025 and a count of 1 to
3, written as a folder of GeoParquet files of one million cases each (row groups of 250,000), chunk by chunk
(:func:`write_cases`, also usable from other scripts). Both methods count records and cases per grid and
month, each in its own child process so that its peak resident memory (``ru_maxrss``) is its own:

* gridmap: ``aggregate_partitioned(folder, grids, period="month")`` — batches of ``--batch-size`` records,
  the grids' ``GridIndex`` built once inside (its build is also timed on its own, after the run);
* plain geopandas: ``read_parquet(folder)``, ``sjoin(predicate="within")``, ``groupby``.

A third child runs gridmap again under tracemalloc for the peak of Python-tracked memory (numpy and pandas
arrays included; GEOS's and Arrow's own allocations are not). The two tables must agree: every (grid,
month) count equal (a point exactly on a shared boundary, which "within" drops and gridmap gives to the
smaller code, would show as a difference; uniform random points essentially never hit one).

The last line printed is ``BENCH {json}`` for ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from bench_cases import BOX, make_grids

ROWS_PER_FILE, ROW_GROUP = 1_000_000, 250_000


def write_cases(folder: Path, n: int, *, seed: int = 0, rows_per_file: int = ROWS_PER_FILE,
                row_group: int = ROW_GROUP) -> list[Path]:
    """Write ``n`` random cases over BOX, ``rows_per_file`` to each GeoParquet file, one file at a time."""
    rng = np.random.default_rng(seed + 1)
    xmin, ymin, xmax, ymax = BOX
    start_2025, year_s = pd.Timestamp("2025-01-01").value // 10**9, 365 * 86_400
    written = []
    for number, first in enumerate(range(0, n, rows_per_file)):
        size = min(rows_per_file, n - first)
        seconds = start_2025 + rng.integers(0, year_s, size)
        part = gpd.GeoDataFrame(
            {"case_id": pd.Series(np.arange(first, first + size)).map("E{:09d}".format),
             "reported_at": pd.to_datetime(seconds, unit="s"),
             "count": rng.integers(1, 4, size)},
            geometry=gpd.points_from_xy(rng.uniform(xmin, xmax, size), rng.uniform(ymin, ymax, size)),
            crs="EPSG:4490")
        path = folder / f"part-{number:05d}.parquet"
        part.to_parquet(path, row_group_size=row_group)
        written.append(path)
    return written


def run_gridmap(folder: Path, grids: gpd.GeoDataFrame, batch_size: int) -> pd.DataFrame:
    from gridmap.cases.engines import aggregate_partitioned
    from gridmap.findings import Report

    table = aggregate_partitioned(folder, grids, period="month", batch_size=batch_size,
                                  report=Report("bench"))
    return table[table["records"] > 0].set_index(["code", "period"])[["records", "cases"]]


def run_geopandas(folder: Path, grids: gpd.GeoDataFrame, batch_size: int) -> pd.DataFrame:
    cases = gpd.read_parquet(folder, columns=["reported_at", "count", "geometry"])
    joined = gpd.sjoin(cases, grids[["code", "geometry"]], predicate="within", how="inner")
    month = joined["reported_at"].dt.to_period("M").astype(str).rename("period")
    table = joined.groupby(["code", month])["count"].agg(records="size", cases="sum")
    return table.astype("int64")


def child(mode: str, folder: Path, n_grids: int, batch_size: int, out: Path) -> dict:
    warnings.simplefilter("ignore")
    grids = make_grids(n_grids, 0)
    func = run_geopandas if mode == "geopandas" else run_gridmap
    if mode == "traced":
        tracemalloc.start()
    started = time.perf_counter()
    table = func(folder, grids, batch_size)
    seconds = time.perf_counter() - started
    result = {"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if mode == "gridmap":
        from gridmap.cases.gridindex import GridIndex

        started = time.perf_counter()
        GridIndex(grids)
        result["index_s"] = time.perf_counter() - started
    if mode == "traced":
        result["peak_traced_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    else:
        table.reset_index().to_parquet(out)
    return result


def run(mode: str, args, folder: Path, out: Path) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--folder", str(folder), "--grids", str(args.grids),
               "--batch-size", str(args.batch_size), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(ours: Path, theirs: Path) -> int:
    """Number of (grid, month) rows whose counts differ."""
    joined = pd.read_parquet(ours).merge(pd.read_parquet(theirs), on=["code", "period"], how="outer",
                                         suffixes=("_gridmap", "_geopandas")).fillna(0)
    return int(((joined["records_gridmap"] != joined["records_geopandas"])
                | (joined["cases_gridmap"] != joined["cases_geopandas"])).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000_000)
    parser.add_argument("--grids", type=int, default=9000)
    parser.add_argument("--batch-size", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, help="where to write the cases (default: a temporary folder)")
    parser.add_argument("--child", choices=["gridmap", "traced", "geopandas"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.folder, args.grids, args.batch_size, args.out)))
        return
    work = Path(tempfile.mkdtemp(prefix="gridmap-bench-scale-"))
    folder = args.folder or work / "cases"
    try:
        if not folder.exists() or not any(folder.glob("*.parquet")):
            folder.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            write_cases(folder, args.cases)
            print(f"wrote {args.cases:,} cases in {time.perf_counter() - started:.1f} s to {folder}")
        ours, theirs = work / "gridmap.parquet", work / "geopandas.parquet"
        gm = run("gridmap", args, folder, ours)
        print(f"gridmap aggregate_partitioned: {gm['seconds']:7.1f} s, peak RSS {gm['peak_rss_mb']:6.0f} MB "
              f"(building the grids' index alone: {gm['index_s']:.1f} s)")
        traced = run("traced", args, folder, work / "unused.parquet")
        print(f"  same under tracemalloc:      {traced['seconds']:7.1f} s, peak traced "
              f"{traced['peak_traced_mb']:6.0f} MiB")
        gp = run("geopandas", args, folder, theirs)
        print(f"geopandas read+sjoin+groupby:  {gp['seconds']:7.1f} s, peak RSS {gp['peak_rss_mb']:6.0f} MB")
        differ = compare(ours, theirs)
        print(f"speed-up {gp['seconds'] / gm['seconds']:.1f}x, "
              f"memory {gp['peak_rss_mb'] / gm['peak_rss_mb']:.1f}x less; "
              f"(grid, month) counts that differ: {differ}")
        print("BENCH " + json.dumps({
            "scenario": "cases out-of-core", "size": f"{args.cases:,} cases, {args.grids:,} grids",
            "gridmap_s": gm["seconds"], "plain_s": gp["seconds"], "gridmap_peak_mb": gm["peak_rss_mb"],
            "plain_peak_mb": gp["peak_rss_mb"], "memory": "RSS",
            "note": f"aggregate_partitioned vs read_parquet + sjoin + groupby, per grid and month; "
                    f"GridIndex build {gm['index_s']:.1f} s included; traced peak "
                    f"{traced['peak_traced_mb']:.0f} MiB; batches of {args.batch_size:,}; "
                    f"counts differing: {differ}"}))
        if differ:
            sys.exit("results differ")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
