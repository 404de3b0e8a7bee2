"""Benchmark a month of GPS patrol tracks for 9,000 grids: gridmap out of core against plain geopandas.

Run: ``python benchmarks/bench_patrols.py [--scale 1.0] [--days 30] [--points-per-day 120]
[--units-per-grid 20] [--batch-size 1000000] [--folder DIR] [--skip-plain]``

At ``--scale 1`` the city has 9,000 grids (bench_cases' Voronoi tessellation around Nanning), one full-time
worker per grid, and each worker walks one patrol a day: ``--points-per-day`` GPS points 30 s apart (about
1.2 m/s, a random walk with a heading that turns slowly) starting at their grid at 08:00-10:00, for
``--days`` days: 9,000 × 30 × 120 = 32.4 million points, written as one GeoParquet file per day (WKB points,
``person_id``, ``time``; row groups of 250,000) by :func:`write_tracks`. The units are ``--units-per-grid``
random points per grid over the same box. ``--scale`` shrinks the number of grids (and workers and points)
for a check.

Two methods, each in its own child process so that its peak resident memory (``ru_maxrss``) is its own,
compute per grid and day the GPS points in the grid and the grid's units passed within 50 m by its own
patrols (the pieces of track inside the grid, of patrols of 5 minutes or more, on the day they start):

* gridmap: ``summarize_patrols_partitioned(folder, grids, units=units)`` — batches of ``--batch-size``
  records, points located with the grids' ``GridIndex``, spilled to disk by worker, measured one bucket of
  workers at a time (patrols, gaps, time in the own grid and idle grids are computed too);
* plain geopandas: ``read_parquet`` of every point, ``sjoin(points, grids, predicate="within")`` and
  ``groupby`` for the points per grid and day; the patrols (one worker's points in one grid at most an
  hour apart) with ``groupby``; the track segments (the same rule: one worker, at most 10 minutes and
  40 km/h apart) as LineStrings in the metric CRS, each the patrol's of its first point, and a patrol's
  points on none of its segments, ``sjoin(pieces, units, predicate="dwithin", distance=50)``, kept where
  the unit is in the piece's grid, and ``groupby(...).nunique()`` for the units passed.

The two tables must agree exactly. The load average is printed at the start and the end: the machine is
shared. The last line printed is ``BENCH {json}`` for ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from bench_cases import BOX, make_grids

GRIDS = 9000
STEP_S = 30  # seconds between GPS points
STEP_DEG = 1.2 * STEP_S / 111_000  # about 36 m
ROW_GROUP = 250_000
DAY0 = pd.Timestamp("2025-03-01")


def make_units(n_grids: int, per_grid: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed + 7)
    xmin, ymin, xmax, ymax = BOX
    n = n_grids * per_grid
    points = gpd.points_from_xy(rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n))
    return gpd.GeoDataFrame({"unit_id": [f"U{i:07d}" for i in range(n)]}, geometry=points, crs="EPSG:4490")


def write_tracks(folder: Path, grids: gpd.GeoDataFrame, *, days: int, per_day: int, seed: int = 0) -> int:
    """Write a GeoParquet file of tracks per day, a patrol per worker and a worker per grid; return points."""
    rng = np.random.default_rng(seed + 3)
    start = shapely.get_coordinates(grids.geometry.representative_point().to_numpy())
    workers = np.array([f"P{i + 1:06d}" for i in range(len(grids))], dtype=object)
    written = 0
    for day in range(days):
        heading = rng.uniform(0, 2 * np.pi, len(grids))[:, None] + np.cumsum(
            rng.normal(0, 0.35, (len(grids), per_day)), axis=1)
        x = start[:, :1] + np.cumsum(np.cos(heading) * STEP_DEG, axis=1)
        y = start[:, 1:] + np.cumsum(np.sin(heading) * STEP_DEG * 0.92, axis=1)
        first = DAY0 + pd.Timedelta(days=day) + pd.to_timedelta(rng.integers(8 * 3600, 10 * 3600, len(grids)),
                                                                 unit="s")
        times = first.to_numpy()[:, None] + (np.arange(per_day) * STEP_S).astype("timedelta64[s]")
        part = gpd.GeoDataFrame({"person_id": np.repeat(workers, per_day), "time": times.ravel()},
                                geometry=gpd.points_from_xy(x.ravel(), y.ravel()), crs="EPSG:4490")
        part.to_parquet(folder / f"day-{day + 1:02d}.parquet", row_group_size=ROW_GROUP)
        written += len(part)
    return written


def run_gridmap(folder: Path, grids, units, batch_size: int) -> pd.DataFrame:
    from gridmap.fieldwork import summarize_patrols_partitioned
    from gridmap.findings import Report

    summary = summarize_patrols_partitioned(folder, grids, units=units, batch_size=batch_size,
                                            report=Report("bench"))
    table = summary.periods.rename(columns={"records": "points"})
    return table[(table["points"] > 0) | (table["units_passed"] > 0)].set_index(["code", "period"])[
        ["points", "units_passed"]]


def run_geopandas(folder: Path, grids, units, batch_size: int) -> pd.DataFrame:
    from gridmap.crs import metric_crs

    points = gpd.read_parquet(folder).sort_values(["person_id", "time"], ignore_index=True)
    joined = gpd.sjoin(points, grids[["code", "geometry"]], predicate="within", how="inner")
    day = joined["time"].dt.strftime("%Y-%m-%d").rename("period")
    counts = joined.groupby(["code", day]).size().rename("points")
    # patrols: one worker's points in one grid at most 60 minutes apart, counted when 5 minutes or longer
    inside = joined.sort_values(["person_id", "code", "time"], kind="stable")
    new = (inside["person_id"] != inside["person_id"].shift()) | (inside["code"] != inside["code"].shift()) \
        | (inside["time"].diff() > pd.Timedelta(minutes=60))
    inside = inside.assign(patrol=new.cumsum())
    span = inside.groupby("patrol")["time"].agg(["min", "max"])
    counted = span.index[span["max"] - span["min"] >= pd.Timedelta(minutes=5)]
    patrol = pd.Series(-1, index=points.index).where(~points.index.isin(inside.index),
                                                     inside["patrol"]).to_numpy()
    code = joined["code"].reindex(points.index).to_numpy()
    started = span["min"].dt.strftime("%Y-%m-%d")
    mine = np.isin(patrol, counted)
    metric = metric_crs(grids)
    xy = shapely.get_coordinates(points.to_crs(metric).geometry.to_numpy())
    person = points["person_id"].to_numpy()
    t = points["time"].to_numpy().astype("datetime64[ns]").astype("int64")
    dt = (t[1:] - t[:-1]) / 1e9
    dist = np.hypot(*(xy[1:] - xy[:-1]).T)
    valid = np.r_[(person[1:] == person[:-1]) & (dt > 0) & (dt <= 600) & (dist <= 40 / 3.6 * dt), False]
    start = np.flatnonzero(valid & mine)  # a segment is the patrol's of its first point
    ends_own = np.zeros(len(points), dtype=bool)
    ends_own[start + 1] = patrol[start + 1] == patrol[start]
    lone = np.flatnonzero(mine & ~valid & ~ends_own)  # a patrol's points on none of its segments
    pieces = gpd.GeoDataFrame(
        {"code": np.r_[code[start], code[lone]],
         "period": started.loc[np.r_[patrol[start], patrol[lone]]].to_numpy()}, crs=metric,
        geometry=np.r_[shapely.linestrings(np.stack([xy[start], xy[start + 1]], axis=1)),
                       shapely.points(xy[lone])])
    units_m = units.to_crs(metric)
    unit_grid = gpd.sjoin(units, grids[["code", "geometry"]], predicate="within")[["code"]]
    passed = gpd.sjoin(pieces, units_m, predicate="dwithin", distance=50)
    passed = passed.join(unit_grid.rename(columns={"code": "unit_code"}), on="index_right", how="inner")
    passed = passed[passed["code"] == passed["unit_code"]]  # only a grid's own patrols pass its units
    units_passed = passed.groupby(["code", "period"])["index_right"].nunique().rename("units_passed")
    return pd.concat([counts, units_passed], axis=1).fillna(0).astype("int64")


def child(mode: str, args, out: Path) -> dict:
    warnings.simplefilter("ignore")
    grids = make_grids(args.grids, 0)
    units = make_units(args.grids, args.units_per_grid)
    started = time.perf_counter()
    table = (run_gridmap if mode == "gridmap" else run_geopandas)(args.folder, grids, units, args.batch_size)
    seconds = time.perf_counter() - started
    table.reset_index().to_parquet(out)
    return {"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run(mode: str, args, out: Path) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--folder", str(args.folder), "--scale",
               str(args.scale), "--units-per-grid", str(args.units_per_grid), "--batch-size",
               str(args.batch_size), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(ours: Path, theirs: Path) -> int:
    """Number of (grid, day) rows whose points or units passed differ."""
    joined = pd.read_parquet(ours).merge(pd.read_parquet(theirs), on=["code", "period"], how="outer",
                                         suffixes=("_gridmap", "_geopandas")).fillna(0)
    return int(((joined["points_gridmap"] != joined["points_geopandas"])
                | (joined["units_passed_gridmap"] != joined["units_passed_geopandas"])).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the 9,000 grids (default 1)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--points-per-day", type=int, default=120)
    parser.add_argument("--units-per-grid", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, help="where to write the tracks (default: a temporary folder)")
    parser.add_argument("--skip-plain", action="store_true", help="run gridmap only (the plain way needs "
                                                                  "about 400 bytes a point)")
    parser.add_argument("--child", choices=["gridmap", "geopandas"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.grids = max(4, round(GRIDS * args.scale))
    if args.child:
        print(json.dumps(child(args.child, args, args.out)))
        return
    load_start = os.getloadavg()
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} "
          f"({os.cpu_count()} cores)")
    work = Path(tempfile.mkdtemp(prefix="gridmap-bench-patrols-"))
    args.folder = args.folder or work / "tracks"
    try:
        if not args.folder.exists() or not any(args.folder.glob("*.parquet")):
            args.folder.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            n = write_tracks(args.folder, make_grids(args.grids, 0), days=args.days,
                             per_day=args.points_per_day)
            print(f"wrote {n:,} points ({args.grids:,} workers x {args.days} days x {args.points_per_day}) "
                  f"in {time.perf_counter() - started:.1f} s to {args.folder}")
        n_points = sum(pq_rows(p) for p in args.folder.glob("*.parquet"))
        ours, theirs = work / "gridmap.parquet", work / "geopandas.parquet"
        gm = run("gridmap", args, ours)
        print(f"gridmap summarize_patrols_partitioned: {gm['seconds']:7.1f} s, peak RSS "
              f"{gm['peak_rss_mb']:6.0f} MB ({n_points / gm['seconds'] / 1e6:.2f} million points/s)")
        gp, differ = None, None
        if not args.skip_plain:
            gp = run("geopandas", args, theirs)
            differ = compare(ours, theirs)
            print(f"geopandas read + sjoin + groupby:     {gp['seconds']:7.1f} s, peak RSS "
                  f"{gp['peak_rss_mb']:6.0f} MB")
            print(f"speed-up {gp['seconds'] / gm['seconds']:.1f}x, memory "
                  f"{gp['peak_rss_mb'] / gm['peak_rss_mb']:.1f}x less; (grid, day) rows that differ: "
                  f"{differ}")
        against = ("vs read_parquet + sjoin + groupby" if gp else
                   "alone (the plain read_parquet + sjoin + groupby needs about 1 GB per million points)")
        load_end = os.getloadavg()
        print(f"load average at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
        print("BENCH " + json.dumps({
            "scenario": "patrols out-of-core", "size": f"{n_points:,} points, {args.grids:,} grids",
            "gridmap_s": gm["seconds"], "plain_s": gp["seconds"] if gp else None,
            "gridmap_peak_mb": gm["peak_rss_mb"], "plain_peak_mb": gp["peak_rss_mb"] if gp else None,
            "memory": "RSS",
            "note": f"summarize_patrols_partitioned {against} (points and units passed per grid and day); "
                    f"batches of {args.batch_size:,}; load {load_start[0]:.1f} -> {load_end[0]:.1f}"
                    + (f"; rows differing: {differ}" if gp else "")}))
        if differ:
            sys.exit("results differ")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def pq_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


if __name__ == "__main__":
    main()
