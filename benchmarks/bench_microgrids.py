"""Benchmark build_microgrids at Nanning scale: about 9,000 grids and 50 buildings per grid.

The grids are the Voronoi cells of random centres in a square (about 0.1 km² each, the size of a city grid
of 300–500 households), coded like real grids; the buildings are random inside the square, 60% points and
40% footprints (small boxes), with 3–200 households each (lognormal, median 10). The division is timed
alone; afterwards the micro-grids are checked with geometry (each grid's micro-grids sum to its area).

Run:  python benchmarks/bench_microgrids.py                      (9,000 grids, 450,000 buildings)
      python benchmarks/bench_microgrids.py --grids 300          (a quick run)

The last line printed is ``BENCH {json}`` for ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
import warnings

import geopandas as gpd
import numpy as np
import shapely
from shapely import box

METRIC = "EPSG:4545"  # CGCS2000 3-degree Gauss-Krüger zone of Nanning
X0, Y0 = 500_000.0, 2_500_000.0
GRID_AREA_M2 = 100_000.0


def make_grids(n: int, rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, float]:
    """``n`` grids tiling a square, 15-digit codes (40 grids per community, 30 communities per street)."""
    side = float(np.sqrt(n * GRID_AREA_M2))
    square = box(X0, Y0, X0 + side, Y0 + side)
    centres = rng.uniform([X0, Y0], [X0 + side, Y0 + side], size=(n, 2))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(centres), extend_to=square))
    cells = shapely.intersection(cells, square)
    community, sequence = np.divmod(np.arange(len(cells)), 40)
    street, village = np.divmod(community, 30)
    codes = [f"450102{s + 1:03d}{v + 1:03d}{q + 1:03d}"
             for s, v, q in zip(street, village, sequence, strict=True)]
    grids = gpd.GeoDataFrame({"code": codes, "community_code": [c[:12] for c in codes]}, geometry=cells,
                             crs=METRIC)
    return grids, side


def make_buildings(n: int, side: float, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """``n`` buildings at random in the square: points and small footprints."""
    xy = rng.uniform([X0 + 1, Y0 + 1], [X0 + side - 1, Y0 + side - 1], size=(n, 2))
    points = shapely.points(xy)
    _, nearest = shapely.STRtree(points).query_nearest(points, exclusive=True, return_distance=True)
    half = np.clip(0.35 * nearest, 0.5, 12.0)
    footprint = rng.random(n) < 0.4
    geoms = np.where(footprint, shapely.box(xy[:, 0] - half, xy[:, 1] - half * 0.6, xy[:, 0] + half,
                                            xy[:, 1] + half * 0.6), points)
    households = np.clip(rng.lognormal(np.log(10), 0.7), 3, 200).round().astype(int)
    return gpd.GeoDataFrame({"unit_id": [f"B{i:07d}" for i in range(n)], "households": households,
                             "population": (households * rng.uniform(2.4, 3.2, n)).round().astype(int)},
                            geometry=geoms, crs=METRIC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=9_000)
    parser.add_argument("--per-grid", type=int, default=50, help="buildings per grid on average")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from gridmap.division import build_microgrids

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(args.seed)
    grids, side = make_grids(args.grids, rng)
    buildings = make_buildings(args.grids * args.per_grid, side, rng)
    grids, buildings = grids.to_crs(4490), buildings.to_crs(4490)

    load_start = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    result = build_microgrids(grids, buildings)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = f"load {load_start:.1f} -> {os.getloadavg()[0]:.1f}"

    micro = result.microgrids
    metric_micro = micro.to_crs(METRIC).area.groupby(micro["grid_code"].to_numpy()).sum()
    metric_grids = grids.to_crs(METRIC).set_index("code").area
    worst = float((metric_micro.reindex(metric_grids.index) / metric_grids - 1).abs().max())
    several = micro[micro["buildings"] > 1]
    above = int((several["households"] > 50).sum())
    per_grid = micro.groupby("grid_code").size()
    print(f"{len(grids):,} grids, {len(buildings):,} buildings -> {len(micro):,} micro-grids "
          f"(median {per_grid.median():.0f} per grid, households median "
          f"{micro['households'].median():.0f}); {wall:.1f} s wall, {cpu:.1f} s CPU, "
          f"peak RSS {peak_mb:,.0f} MB; {load}")
    print(f"tiling: largest |sum of micro-grid areas / grid area - 1| = {worst:.1e}; micro-grids of several "
          f"buildings above 50 households: {above}")
    print("BENCH " + json.dumps({
        "scenario": "micro-grids", "size": f"{len(grids):,} grids, {len(buildings):,} buildings",
        "gridmap_s": wall, "gridmap_peak_mb": peak_mb, "memory": "RSS",
        "note": f"build_microgrids: {len(micro):,} micro-grids, median {per_grid.median():.0f} per grid; "
                f"area error {worst:.1e}; several-building micro-grids above the range: {above}; "
                f"{cpu:.1f} s CPU; {load}"}))


if __name__ == "__main__":
    main()
