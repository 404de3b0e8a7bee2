"""Benchmark case assignment: gridmap.cases.assign against geopandas.sjoin on a Nanning-scale city.

Run: ``python benchmarks/bench_cases.py [--grids 9000] [--cases 2000000] [--seed 0] [--repeat 3]``

The grids are a Voronoi tessellation of ``--grids`` random seeds over a 110 x 90 km box around Nanning
(EPSG:4490), densified to about 50 vertices per grid like gridmap's built grids; the cases are uniform
random points in the same box. Both methods run in the same process on the same data:

* ``geopandas.sjoin(cases, grids, predicate="within", how="left")``, the usual way;
* ``gridmap.cases.assign(cases, grids)``.

Each is timed ``--repeat`` times (wall clock and process CPU time, best run, after a warm-up on 10,000
cases) and run again under tracemalloc for the peak of Python-tracked memory (numpy arrays and pandas
columns; GEOS's own allocations are not tracked). On a shared machine wall times stretch with the load:
compare the two methods within one run, and the CPU times. The results must be identical: every case
sjoin puts in a grid gets that grid from assign; cases sjoin leaves
unmatched (outside every grid, or exactly on a boundary, where "within" is false) must be NA in assign's
result unless the point lies on a grid's boundary, which is checked with shapely.
"""

import argparse
import time
import tracemalloc
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.cases import assign
from gridmap.report import Report

BOX = (107.9, 22.45, 108.97, 23.26)  # about 110 x 90 km


def make_grids(n: int, seed: int) -> gpd.GeoDataFrame:
    """A Voronoi tessellation of ``n`` seeds clipped to BOX, densified to ~50 vertices per grid."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = BOX
    seeds = shapely.multipoints(np.column_stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)]))
    envelope = shapely.box(*BOX)
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=envelope))
    cells = shapely.intersection(cells, envelope)
    step = np.sqrt((xmax - xmin) * (ymax - ymin) / n) / 12
    cells = shapely.segmentize(cells, step)
    codes = [f"990102001{i // 20 + 1:03d}{i % 20 + 1:03d}" for i in range(len(cells))]
    return gpd.GeoDataFrame({"code": codes, "community_code": [c[:12] for c in codes]}, geometry=cells,
                            crs="EPSG:4490")


def make_cases(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed + 1)
    xmin, ymin, xmax, ymax = BOX
    points = gpd.points_from_xy(rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n))
    return gpd.GeoDataFrame({"case_id": np.arange(n).astype(str)}, geometry=points, crs="EPSG:4490")


def run_sjoin(cases, grids) -> pd.Series:
    joined = gpd.sjoin(cases, grids[["code", "geometry"]], predicate="within", how="left")
    return joined.loc[~joined.index.duplicated(), "code"]


def run_assign(cases, grids) -> pd.Series:
    return assign(cases, grids, report=Report("bench"))["grid_code"]


def measure(func, cases, grids, repeat: int):
    func(cases.iloc[:10_000], grids)
    seconds, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = func(cases, grids)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    tracemalloc.start()
    func(cases, grids)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return min(seconds), min(cpu), peak, result


def check(sjoined: pd.Series, assigned: pd.Series, cases, grids) -> None:
    matched = sjoined.notna()
    same = (assigned[matched] == sjoined[matched]).all()
    extra = matched.index[~matched & assigned.notna()]
    polygons = grids.set_index("code").geometry[assigned[extra]].to_numpy()
    on_boundary = shapely.intersects(shapely.boundary(polygons), cases.geometry[extra].to_numpy()).all()
    print(f"identical where sjoin matched: {same}; unmatched by sjoin: {int((~matched).sum())}, "
          f"of which assign placed {len(extra)} (all on a boundary: {bool(on_boundary)})")
    if not (same and on_boundary):
        raise SystemExit("results differ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=9000)
    parser.add_argument("--cases", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each; the best counts")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    grids, cases = make_grids(args.grids, args.seed), make_cases(args.cases, args.seed)
    vertices = shapely.get_num_coordinates(grids.geometry.to_numpy()).mean()
    print(f"{len(grids)} grids ({vertices:.0f} vertices each on average), {len(cases):,} cases")
    sjoin_s, sjoin_cpu, sjoin_mb, sjoined = measure(run_sjoin, cases, grids, args.repeat)
    print(f"geopandas.sjoin(within): {sjoin_s:6.2f} s wall, {sjoin_cpu:6.2f} s CPU, "
          f"peak traced memory {sjoin_mb:5.0f} MiB")
    assign_s, assign_cpu, assign_mb, assigned = measure(run_assign, cases, grids, args.repeat)
    print(f"gridmap.cases.assign:    {assign_s:6.2f} s wall, {assign_cpu:6.2f} s CPU, "
          f"peak traced memory {assign_mb:5.0f} MiB")
    print(f"speed-up: {sjoin_s / assign_s:.1f}x wall, {sjoin_cpu / assign_cpu:.1f}x CPU")
    check(sjoined, assigned, cases, grids)


if __name__ == "__main__":
    main()
