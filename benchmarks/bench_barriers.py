"""Benchmark build_grids with barriers on a generated street-lattice city at Nanning scale.

The city: about 1,900 urban communities (Voronoi cells, so their outlines do not follow the streets) and
30,000 compounds (boxes and points) at scale 1, a street lattice about every 350 m (slightly slanted, gaps
130–550 m) with the compounds inside its blocks, about 3–4 per block. The same city is built without and with
the streets as barriers; reported: build times, the share of grid boundary length (community outlines
excluded) that runs along a street (``gridmap.division.barriers.along_barriers``, 1 m), grids crossing a
street, ``gridmap.check`` errors. The block cut itself is timed both ways on 100 communities: shapely
(``gridmap.division.barriers.cut_blocks``) against ``momepy.enclosures`` (when momepy is installed).

Run:  python benchmarks/bench_barriers.py               (scale 1, a few minutes on 2 cores)
      python benchmarks/bench_barriers.py --scale 0.3   (about a third)
Prints a table and ``BENCH {json}`` lines for benchmarks/run.py.
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

N_COMMUNITIES, N_UNITS = 1_900, 30_000
METRIC = "EPSG:4545"  # CGCS2000 3-degree zone of Nanning
X0, Y0 = 500_000.0, 2_500_000.0
ROAD_MARGIN_M = 15.0  # compounds keep this far from the street centre lines


def street_ticks(lo: float, hi: float, rng: np.random.Generator) -> np.ndarray:
    """Positions of parallel streets from ``lo`` to ``hi``, 130–550 m apart (about 350 m on average)."""
    ticks = [lo]
    while ticks[-1] < hi:
        ticks.append(ticks[-1] + rng.uniform(130, 550))
    return np.array(ticks)


def make_city(scale: float, seed: int = 0) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Communities, units and streets (lines) of the lattice city, in EPSG:4490."""
    rng = np.random.default_rng(seed)
    n_comm, n_units = int(N_COMMUNITIES * scale), int(N_UNITS * scale)
    side = 32_000.0 * np.sqrt(scale)  # about 0.55 km² per community
    square = box(X0, Y0, X0 + side, Y0 + side)
    centres = rng.uniform([X0, Y0], [X0 + side, Y0 + side], size=(n_comm, 2))
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(centres), extend_to=square)), square)
    codes = [f"450102{n // 150 + 1:03d}{n % 150 + 1:03d}" for n in range(n_comm)]
    communities = gpd.GeoDataFrame({"code": codes, "name": [f"社区{i}" for i in range(n_comm)]},
                                   geometry=cells, crs=METRIC)

    xs, ys = street_ticks(X0, X0 + side, rng), street_ticks(Y0, Y0 + side, rng)
    slant = side * 0.01  # streets are not quite straight north-south / east-west
    lines = [shapely.LineString([(x, Y0 - 50), (x + slant, Y0 + side + 50)]) for x in xs]
    lines += [shapely.LineString([(X0 - 50, y), (X0 + side + 50, y + slant)]) for y in ys]
    streets = gpd.GeoDataFrame({"name": [f"路{i}" for i in range(len(lines))], "kind": "道路"},
                               geometry=lines, crs=METRIC)

    blocks = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(lines))))
    blocks = shapely.buffer(blocks[shapely.within(blocks, square)], -ROAD_MARGIN_M, join_style="mitre")
    blocks = blocks[~shapely.is_empty(blocks)]
    weight = shapely.area(blocks) / shapely.area(blocks).sum()
    block = rng.choice(len(blocks), n_units, p=weight)
    xy = np.empty((n_units, 2))
    for b in np.unique(block):  # points uniformly inside each (quadrilateral) block
        mine = np.flatnonzero(block == b)
        x0, y0, x1, y1 = shapely.bounds(blocks[b])
        found = np.empty((0, 2))
        while len(found) < len(mine):
            trial = rng.uniform([x0, y0], [x1, y1], size=(2 * len(mine), 2))
            found = np.vstack([found, trial[shapely.contains_xy(blocks[b], trial[:, 0], trial[:, 1])]])
        xy[mine] = found[: len(mine)]
    points = shapely.points(xy)
    _, nearest = shapely.STRtree(points).query_nearest(points, exclusive=True, return_distance=True)
    half = np.minimum(0.35 * nearest, 90.0)
    households = np.clip(rng.lognormal(np.log(85), 0.7), 5, 3000).round().astype(int)
    as_polygon = rng.random(n_units) < 0.6
    unit, cell = shapely.STRtree(cells).query(points, predicate="within")
    community = np.zeros(n_units, dtype=np.int64)
    community[unit] = cell
    # compounds stay inside their block and 3 m inside their community (the input is clean: only the streets
    # matter; an edge on the community outline stored with other vertices would bulge across it in degrees)
    land = shapely.intersection(blocks[block], shapely.buffer(cells, -3.0)[community])
    geoms = np.where(as_polygon, shapely.intersection(
        shapely.box(xy[:, 0] - half, xy[:, 1] - half * 0.8, xy[:, 0] + half, xy[:, 1] + half * 0.8), land),
        points)
    polygon = (shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON) & ~shapely.is_empty(geoms)
    geoms = np.where(polygon, geoms, points)  # a box that misses its land (an empty polygon) stays a point
    units = gpd.GeoDataFrame(
        {"unit_id": [f"U{i:06d}" for i in range(n_units)], "name": [f"小区{i}" for i in range(n_units)],
         "kind": "compound", "households": households,
         "population": (households * rng.uniform(2.5, 3.3, n_units)).round().astype(int)},
        geometry=geoms, crs=METRIC)
    return communities.to_crs("EPSG:4490"), units.to_crs("EPSG:4490"), streets.to_crs("EPSG:4490")


def time_block_cut(communities: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, n: int = 100) -> dict:
    """Seconds to cut ``n`` communities into blocks: gridmap's shapely path and momepy.enclosures."""
    from gridmap.crs import metric_crs
    from gridmap.division.barriers import barrier_lines, cut_blocks

    crs = metric_crs(communities)
    comms = communities.geometry.to_crs(crs).to_numpy()[:n]
    lines = barrier_lines(streets, crs)
    tree = shapely.STRtree(lines)
    near = [lines[tree.query(c)] for c in comms]
    started = time.perf_counter()
    ours = sum(len(cut_blocks(c, lines_c, min_area_m2=200)) for c, lines_c in zip(comms, near, strict=True))
    shapely_s = time.perf_counter() - started
    try:
        import momepy
    except ImportError:
        return {"cut_shapely_s": shapely_s, "blocks_shapely": ours, "cut_momepy_s": None}
    started = time.perf_counter()
    theirs = sum(len(momepy.enclosures(gpd.GeoSeries(lines_c, crs=crs), limit=gpd.GeoSeries([c], crs=crs)))
                 for c, lines_c in zip(comms, near, strict=True))
    momepy_s = time.perf_counter() - started
    return {"cut_shapely_s": shapely_s, "blocks_shapely": ours, "cut_momepy_s": momepy_s,
            "blocks_momepy": theirs}


def run(scale: float) -> dict:
    from gridmap.division import build_grids, check
    from gridmap.division.barriers import along_barriers

    warnings.simplefilter("ignore")
    communities, units, streets = make_city(scale)
    load_start = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    plain = build_grids(communities, units)
    plain_s, plain_cpu = time.perf_counter() - started, time.process_time() - cpu
    plain_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu = time.perf_counter(), time.process_time()
    built = build_grids(communities, units, barriers=streets)
    barriers_s, barriers_cpu = time.perf_counter() - started, time.process_time() - cpu
    barriers_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load_end = os.getloadavg()[0]
    errors = check(built.grids, communities, units=built.units).to_frame().query("severity == 'error'")
    summary = built.report.to_frame().query("check == 'barriers'").iloc[0]
    return {
        "scale": scale,
        "communities": len(communities),
        "units": len(units),
        "streets": len(streets),
        "blocks": int(summary["blocks"]),
        "grids_plain": len(plain.grids),
        "grids_barriers": len(built.grids),
        "build_plain_s": plain_s,
        "build_barriers_s": barriers_s,
        "build_plain_cpu_s": plain_cpu,
        "build_barriers_cpu_s": barriers_cpu,
        "cpu_ratio": barriers_cpu / plain_cpu,
        "peak_plain_mb": plain_peak,
        "peak_barriers_mb": barriers_peak,
        "load_start": load_start,
        "load_end": load_end,
        "share_along_plain": along_barriers(plain.grids, streets, communities),
        "share_along_barriers": along_barriers(built.grids, streets, communities),
        "grids_crossing": len(built.report.tables["barrier_crossings"]),
        "check_errors": len(errors),
        **time_block_cut(communities, streets),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    row = run(args.scale)
    for key, value in row.items():
        print(f"{key:22} {value:,.3f}" if isinstance(value, float) else f"{key:22} {value}")
    size = f"{row['communities']:,} communities, {row['units']:,} units, {row['streets']} streets"
    print("BENCH " + json.dumps({
        "scenario": "build with barriers", "size": size, "gridmap_s": round(row["build_barriers_s"], 2),
        "plain_s": round(row["build_plain_s"], 2), "gridmap_peak_mb": round(row["peak_barriers_mb"]),
        "plain_peak_mb": round(row["peak_plain_mb"]), "memory": "RSS (process peak after each build)",
        "note": f"plain = the same build without barriers (CPU {row['build_barriers_cpu_s']:.1f} s against "
                f"{row['build_plain_cpu_s']:.1f} s, x{row['cpu_ratio']:.2f}); grid edges along streets "
                f"{row['share_along_barriers']:.0%} (without barriers {row['share_along_plain']:.0%}), "
                f"{row['grids_crossing']} grids cross a street, {row['check_errors']} check errors; "
                f"load {row['load_start']:.1f} -> {row['load_end']:.1f}"}))
    if row["cut_momepy_s"] is not None:
        print("BENCH " + json.dumps({
            "scenario": "block cut", "size": "100 communities", "gridmap_s": round(row["cut_shapely_s"], 3),
            "plain_s": round(row["cut_momepy_s"], 3),
            "note": "plain = momepy.enclosures per community; gridmap = shapely polygonize (cut_blocks)"}))


if __name__ == "__main__":
    main()
