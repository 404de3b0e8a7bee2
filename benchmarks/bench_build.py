"""Benchmark build_grids on a generated Nanning-scale city and on four times that.

Nanning has about 9,000 grids (DOMAIN.md); the generated city has about 1,900 communities and 30,000 units
(compounds as polygons and points, natural villages in the rural ring, dedicated sites). Each scale runs in a
fresh child process so that its peak memory (ru_maxrss) is its own. The assignment step is also timed against
the plain-geopandas way (``geopandas.sjoin`` for points, ``geopandas.overlay`` + largest area for polygons).

Run:  python benchmarks/bench_build.py            (both scales, about 5 minutes on 2 cores)
      python benchmarks/bench_build.py --scales 1  (Nanning scale only)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import box

N_COMMUNITIES, N_UNITS = 1_900, 30_000
METRIC = "EPSG:4545"  # CGCS2000 3-degree zone of Nanning
X0, Y0 = 500_000.0, 2_500_000.0


def make_city(scale: float, seed: int = 0) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Communities (Voronoi cells of random centres) and units (boxes and points) at the given scale."""
    rng = np.random.default_rng(seed)
    n_comm, n_units = int(N_COMMUNITIES * scale), int(N_UNITS * scale)
    side = 45_000.0 * np.sqrt(scale)  # about 1 km² per community
    square = box(X0, Y0, X0 + side, Y0 + side)
    centres = rng.uniform([X0, Y0], [X0 + side, Y0 + side], size=(n_comm, 2))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(centres), extend_to=square))
    cells = shapely.intersection(cells, square)
    middle = np.array([X0 + side / 2, Y0 + side / 2])
    reach = np.hypot(*(shapely.get_coordinates(shapely.centroid(cells)) - middle).T) / (side / 2)
    rural = reach > 0.9  # the outer ring (about a third of the communities) is rural
    codes, urban_n, rural_n = [], 0, 0
    for is_rural in rural:  # 12-digit codes: urban village digits 001-199, rural 200-399, 150 per street
        number = rural_n if is_rural else urban_n
        street, village = divmod(number, 150)
        codes.append(f"4501{2 + int(is_rural):02d}{street + 1:03d}{village + (200 if is_rural else 1):03d}")
        rural_n, urban_n = rural_n + is_rural, urban_n + (not is_rural)
    communities = gpd.GeoDataFrame(
        {"code": codes, "name": [f"社区{i}" for i in range(n_comm)]}, geometry=cells, crs=METRIC
    )

    xy = rng.uniform([X0, Y0], [X0 + side, Y0 + side], size=(n_units, 2))
    points = shapely.points(xy)
    _, nearest = shapely.STRtree(points).query_nearest(points, exclusive=True, return_distance=True)
    half = np.minimum(0.35 * nearest, 150.0)
    in_rural = np.zeros(n_units, dtype=bool)
    hit_unit, hit_cell = shapely.STRtree(cells).query(points, predicate="within")
    in_rural[hit_unit[np.isin(hit_cell, np.flatnonzero(rural))]] = True
    kind = np.where(in_rural, "natural_village", "compound").astype(object)
    dedicated = rng.random(n_units) < 0.04
    kind[dedicated] = rng.choice(
        ["office_building", "industrial_park", "market", "school", "hospital"], dedicated.sum()
    )
    typical = np.where(in_rural, 40, 85)  # natural villages are smaller than compounds
    households = np.clip(rng.lognormal(np.log(typical), 0.7), 5, 3000).round().astype(int)
    households[dedicated] = 0
    population = (households * rng.uniform(2.5, 3.3, n_units)).round().astype(int)
    population[dedicated] = rng.integers(0, 3000, dedicated.sum())
    as_polygon = rng.random(n_units) < 0.6
    geoms = np.where(
        as_polygon,
        shapely.box(xy[:, 0] - half, xy[:, 1] - half * 0.8, xy[:, 0] + half, xy[:, 1] + half * 0.8),
        points,
    )
    units = gpd.GeoDataFrame(
        {
            "unit_id": [f"U{i:06d}" for i in range(n_units)],
            "name": [f"单元{i}" for i in range(n_units)],
            "kind": kind,
            "households": households,
            "population": population,
            "buildings": np.maximum(households // 60, 1),
        },
        geometry=geoms,
        crs=METRIC,
    )
    return communities.to_crs("EPSG:4490"), units.to_crs("EPSG:4490")


def plain_geopandas_assignment(units: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> pd.Series:
    """The textbook way: sjoin for points, overlay and the largest intersection for polygons."""
    metric = units.estimate_utm_crs()
    units_m, communities_m = units.to_crs(metric), communities[["code", "geometry"]].to_crs(metric)
    is_point = units_m.geom_type == "Point"
    joined = gpd.sjoin(units_m[is_point], communities_m, predicate="intersects")
    point_codes = joined.sort_values("code").groupby(level=0)["code"].first()
    pieces = gpd.overlay(
        units_m.loc[~is_point, ["unit_id", "geometry"]],
        communities_m,
        how="intersection",
        keep_geom_type=True,
    )
    pieces["area"] = pieces.area
    polygon_codes = (
        pieces.sort_values("area", ascending=False).drop_duplicates("unit_id").set_index("unit_id")["code"]
    )
    return pd.concat([point_codes.rename(index=units_m["unit_id"]), polygon_codes])


def tiling_figures(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> dict:
    """Check with geometry that the grids tile every community: gridmap.check plus per-community areas.

    The areas are computed as gridmap.check computes topology, in degrees where the community edges are
    straight, and measured after densifying to about 10 m: projected vertex by vertex, a sliver microns wide
    along a kilometre-long edge measures as the area between the edge's chord and its curve (square
    metres), which is a measuring error, not a tiling one.
    """
    from gridmap.crs import metric_crs
    from gridmap.division.checks import check

    findings = check(grids, communities).to_frame()
    errors = findings[findings["severity"] == "error"]
    metric = metric_crs(communities)

    def area(geoms):
        return gpd.GeoSeries(list(geoms), crs=communities.crs).segmentize(0.0001).to_crs(metric).area

    land = communities.set_index("code").geometry
    union = grids.dissolve("community_code").geometry
    within = land.reindex(union.index).to_numpy()
    difference = area(shapely.symmetric_difference(union.to_numpy(), within))
    own = land.reindex(grids["community_code"]).to_numpy()
    outside = area(shapely.difference(grids.geometry.to_numpy(), own))
    named = ", ".join(f"{name} {n}" for name, n in errors["check"].value_counts().items())
    return {
        "tiling_errors": len(errors),
        "tiling_error_checks": named or "-",
        "max_area_difference": float((difference / area(within)).max()),
        "max_difference_m2": float(difference.max()),
        "max_outside_m2": float(outside.max()),
        "communities_tiled": int(len(union)),
    }


def run_child(scale: float) -> dict:
    from gridmap.division import assign_units, build_grids

    warnings.simplefilter("ignore")
    started = time.perf_counter()
    communities, units = make_city(scale)
    generated = time.perf_counter() - started

    started = time.perf_counter()
    assigned, _ = assign_units(units, communities)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    plain = plain_geopandas_assignment(units, communities)
    geopandas_time = time.perf_counter() - started
    agree = float((assigned.set_index("unit_id")["community_code"].reindex(plain.index) == plain).mean())

    load_start = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    build = build_grids(communities, units)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    load_end = os.getloadavg()[0]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    outside = build.report.tables["outside_range"]
    tiling = tiling_figures(build.grids, communities)  # after the timing: not part of the build time
    return {
        "scale": scale,
        "communities": len(communities),
        "units": len(units),
        "grids": len(build.grids),
        "grids_city": int((build.grids["type"] == "city").sum()),
        "grids_rural": int((build.grids["type"] == "rural").sum()),
        "grids_dedicated": int((build.grids["type"] == "dedicated").sum()),
        "outside_range": len(outside),
        "generate_s": generated,
        "build_s": wall,
        "build_cpu_s": cpu,
        "peak_mb": peak_mb,
        "load_start": load_start,
        "load_end": load_end,
        "assign_s": ours,
        "geopandas_assign_s": geopandas_time,
        "assign_agree": agree,
        **tiling,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 4])
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_child(args.child)))
        return
    results = []
    for scale in args.scales:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(scale)], capture_output=True, text=True
        )
        if out.returncode:
            sys.exit(f"scale {scale:g} failed:\n{out.stderr}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    table = pd.DataFrame(results).set_index("scale").T
    pd.set_option("display.float_format", lambda v: f"{v:,.2f}" if v == 0 or abs(v) >= 0.01 else f"{v:.1e}")
    print(table.to_string())
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"\ngrowth x{last['scale'] / first['scale']:g} input: "
            f"build time x{last['build_s'] / first['build_s']:.2f} (CPU x"
            f"{last['build_cpu_s'] / first['build_cpu_s']:.2f}),"
            f" peak memory x{last['peak_mb'] / first['peak_mb']:.2f}"
        )
    for row in results:
        print(
            f"scale {row['scale']:g}: assign_units {row['assign_s']:.2f} s vs geopandas sjoin+overlay "
            f"{row['geopandas_assign_s']:.2f} s (ratio {row['geopandas_assign_s'] / row['assign_s']:.1f}x, "
            f"same community for {row['assign_agree']:.1%} of units)"
        )


if __name__ == "__main__":
    main()
