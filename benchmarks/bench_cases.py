"""Benchmark case assignment: gridmap.cases.assign against geopandas.sjoin on a Nanning-scale city.

Run: ``python benchmarks/bench_cases.py [--grids 9000] [--cases 2000000] [--on-boundary 0.01] [--seed 0]
[--repeat 5] [--outside 0.5]``

The grids are a Voronoi tessellation of ``--grids`` random seeds over a 110 x 90 km box around Nanning
(EPSG:4490), densified to about 50 vertices per grid like gridmap's built grids; the cases are uniform
random points in the same box, a share of them (``--on-boundary``) put exactly on grid vertices, where
two or three grids meet. Everything runs in one process on the same data, like with like:

* index builds, each timed on its own: ``GridIndex(grids)``, and the STR-tree sjoin needs: for
  ``predicate="within"`` geopandas builds it over the *cases* (``cases.sindex``, cached on the frame)
  and queries it with the grids' polygons ("contains");
* with the indexes already built — the comparison issue #8 asks for: ``assign(cases, index)`` against
  ``sjoin(cases, grids, predicate="within", how="left")`` on cases whose ``sindex`` exists;
* including the builds: ``assign(cases, grids)`` (which builds an index sized for the call) against
  sjoin on a fresh copy of the cases (which builds their STR-tree);
* cases outside the grids: the same number of cases spread over a box wider than the grids' so that a
  share ``--outside`` (half) falls outside every grid (a city-wide hotline file against one district's
  grids), ``assign(cases, grids)`` — which also gives each outside case ``outside_m``, its distance to
  the nearest grid — against sjoin on a fresh copy; ``outside_m`` is checked against shapely's distance
  to the union of the grids for a sample of the outside cases;
* the index saved with ``GridIndex.save`` and read back with ``GridIndex.load`` (timed on its own).

Each is timed ``--repeat`` times (wall clock and process CPU time, best run, after a warm-up on 10,000
cases) and run again under tracemalloc for the peak of Python-tracked memory (numpy arrays and pandas
columns; GEOS's own allocations are not tracked). On a shared machine wall times stretch with the load:
compare within one run; the load average is printed. Results must be identical to an independent
reference — for every case the smallest code among the grids it intersects (geopandas
``sjoin(predicate="intersects")`` and ``groupby().min()``), NA for none — and equal to sjoin(within)
wherever "within" matched (it is false on boundaries, where the smallest-code rule decides).

Peak resident memory of the process so far (``ru_maxrss``) is printed after each step. The last lines
printed are ``BENCH {json}`` rows for ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import tracemalloc
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.cases import assign
from gridmap.cases.gridindex import GridIndex
from gridmap.crs import metric_crs
from gridmap.findings import Report

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


def make_cases(n: int, seed: int, *, grids: gpd.GeoDataFrame | None = None,
               on_boundary: float = 0.0) -> gpd.GeoDataFrame:
    """``n`` uniform random cases over BOX; a share ``on_boundary`` of them on vertices of ``grids``."""
    rng = np.random.default_rng(seed + 1)
    xmin, ymin, xmax, ymax = BOX
    xy = np.column_stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)])
    if grids is not None and on_boundary > 0:
        vertices = shapely.get_coordinates(grids.geometry.to_numpy())
        chosen = rng.choice(n, int(n * on_boundary), replace=False)
        xy[chosen] = vertices[rng.integers(0, len(vertices), len(chosen))]
    points = gpd.points_from_xy(xy[:, 0], xy[:, 1])
    return gpd.GeoDataFrame({"case_id": np.arange(n).astype(str)}, geometry=points, crs="EPSG:4490")


def make_cases_outside(n: int, seed: int, share: float) -> gpd.GeoDataFrame:
    """``n`` uniform random cases over BOX widened eastwards so that about ``share`` of them fall outside."""
    rng = np.random.default_rng(seed + 2)
    xmin, ymin, xmax, ymax = BOX
    east = xmin + (xmax - xmin) / (1.0 - share)
    points = gpd.points_from_xy(rng.uniform(xmin, east, n), rng.uniform(ymin, ymax, n))
    return gpd.GeoDataFrame({"case_id": np.arange(n).astype(str)}, geometry=points, crs="EPSG:4490")


def rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def outside_error(cases: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, outside_m: pd.Series, n: int = 2000,
                  ) -> float:
    """Largest relative difference of ``outside_m`` from shapely's distance to the union of the grids."""
    far = np.flatnonzero(outside_m.notna().to_numpy())[:n]
    metric = metric_crs(grids)
    union = shapely.union_all(grids.to_crs(metric).geometry.to_numpy())
    expected = shapely.distance(union, cases.geometry.iloc[far].to_crs(metric).to_numpy())
    return float(np.max(np.abs(outside_m.to_numpy()[far] - expected) / expected)) if len(far) else 0.0


def run_sjoin(cases, grids) -> pd.Series:
    joined = gpd.sjoin(cases, grids, predicate="within", how="left")
    return joined.loc[~joined.index.duplicated(), "code"]


def run_assign(cases, grids) -> pd.Series:
    return assign(cases, grids, report=Report("bench"))["grid_code"]


def measure(func, *args, repeat: int, warm=None):
    """Best wall and CPU seconds of ``repeat`` runs, the traced peak (MiB) of one more, the last result.

    ``warm`` is called before each run (untimed): it gives the run the state it should start from.
    """
    seconds, cpu = [], []
    for _ in range(repeat):
        fresh = warm() if warm else args
        start, start_cpu = time.perf_counter(), time.process_time()
        result = func(*fresh)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    fresh = warm() if warm else args
    tracemalloc.start()
    func(*fresh)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return min(seconds), min(cpu), peak, result


def reference(cases, grids) -> pd.DataFrame:
    """Per case, by geopandas alone: the smallest code among the grids it intersects (NaN for none) and
    how many grids it intersects."""
    joined = gpd.sjoin(cases[["geometry"]], grids[["code", "geometry"]], predicate="intersects", how="inner")
    found = joined.groupby(level=0)["code"].agg(code="min", grids="size")
    return found.reindex(cases.index).fillna({"grids": 0})


def check(expected: pd.DataFrame, sjoined: pd.Series, results: dict[str, pd.Series]) -> bool:
    """Print and return whether every result equals the reference, and sjoin where "within" settles it."""
    identical = True
    for name, result in results.items():
        same = bool(((result == expected["code"]) | (result.isna() & expected["code"].isna())).all())
        identical &= same
        print(f"  {name}: the smallest intersecting code for every case: {same}")
    alone = sjoined.notna() & (expected["grids"] == 1)
    same = bool((results["prebuilt"][alone] == sjoined[alone]).all())
    identical &= same
    shared = int((expected["grids"] > 1).sum())
    print(f"  equal to sjoin(within) for all {int(alone.sum()):,} cases in one grid's interior: {same}; "
          f"{shared:,} cases intersect several grids (on boundaries: the smallest code), sjoin(within) "
          f"matched {int(sjoined[expected['grids'] > 1].notna().sum()):,} of them (inside a grid and on "
          "another's boundary, rounding slivers)")
    return identical


def bench_row(scenario: str, size: str, ours: tuple, plain: tuple, note: str) -> str:
    return "BENCH " + json.dumps({
        "scenario": scenario, "size": size, "gridmap_s": ours[0], "plain_s": plain[0],
        "gridmap_peak_mb": ours[2], "plain_peak_mb": plain[2], "memory": "traced (tracemalloc)",
        "note": f"{note}; CPU {ours[1]:.2f} vs {plain[1]:.2f} s"})


def xy(cases: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    return shapely.get_x(cases.geometry.to_numpy()), shapely.get_y(cases.geometry.to_numpy())


def outside_scenario(args, grids, plain, size) -> list[tuple[str, bool]]:
    """Cases of which a share falls outside every grid: assign(cases, grids) with outside_m vs sjoin."""
    cases = make_cases_outside(args.cases, args.seed, args.outside)
    print(f"cases outside the grids (about {args.outside:.0%} of them, each with outside_m):")
    sjoin = measure(run_sjoin, repeat=args.repeat, warm=lambda: (cases.copy(), plain))
    print(f"  geopandas.sjoin(within): {sjoin[0]:6.2f} s wall, {sjoin[1]:6.2f} s CPU, "
          f"peak traced memory {sjoin[2]:5.0f} MiB")
    once = measure(lambda c, g: assign(c, g, report=Report("bench")), cases, grids, repeat=args.repeat)
    print(f"  gridmap.cases.assign:    {once[0]:6.2f} s wall, {once[1]:6.2f} s CPU, "
          f"peak traced memory {once[2]:5.0f} MiB")
    print(f"  speed-up: {sjoin[0] / once[0]:.1f}x wall, {sjoin[1] / once[1]:.1f}x CPU; "
          f"peak RSS so far {rss_mb():.0f} MiB")
    result = once[3]
    outside = int(result["outside_m"].notna().sum())
    expected = reference(cases, grids)
    codes, truth = result["grid_code"], expected["code"]
    same = bool(((codes == truth) | (codes.isna() & truth.isna())).all())
    same &= bool((result["outside_m"].notna() == truth.isna()).all())
    error = outside_error(cases, grids, result["outside_m"])
    same &= error < 1e-6
    print(f"  {outside:,} cases outside ({outside / len(cases):.0%}); grid codes as the reference and "
          f"outside_m for exactly the others: {same}; outside_m vs shapely's distance to the union: max "
          f"relative difference {error:.1e}")
    return [(bench_row("case assignment, half outside the grids", size, once, sjoin,
                       f"assign(cases, grids) with outside_m for {outside:,} cases vs sjoin(within) (no "
                       f"distances), each building its index; identical: {same}; outside_m max relative "
                       f"error {error:.0e}"), same)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=9000)
    parser.add_argument("--cases", type=int, default=2_000_000)
    parser.add_argument("--on-boundary", type=float, default=0.01, help="share of cases on grid vertices")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each; the best counts")
    parser.add_argument("--outside", type=float, default=0.5,
                        help="share of cases outside every grid in the last scenario (0: skip it)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    grids = make_grids(args.grids, args.seed)
    cases = make_cases(args.cases, args.seed, grids=grids, on_boundary=args.on_boundary)
    vertices = shapely.get_num_coordinates(grids.geometry.to_numpy()).mean()
    size = f"{len(cases):,} cases, {len(grids):,} grids"
    print(f"{len(grids)} grids ({vertices:.0f} vertices each on average), {len(cases):,} cases "
          f"({args.on_boundary:.0%} on grid vertices); load average {os.getloadavg()[0]:.1f} (1 min), "
          f"{os.getloadavg()[1]:.1f} (5 min)")
    plain = grids[["code", "geometry"]]
    build = measure(GridIndex, grids, repeat=args.repeat)
    index = build[3]
    tree = measure(lambda frame: frame.sindex, repeat=args.repeat, warm=lambda: (cases.copy(),))
    print(f"index builds: GridIndex(grids) {build[0]:.2f} s wall, {build[1]:.2f} s CPU, peak traced "
          f"{build[2]:.0f} MiB; cases.sindex (sjoin's) {tree[0]:.2f} s wall, {tree[1]:.2f} s CPU")
    print(f"  {index!r}; peak RSS so far {rss_mb():.0f} MiB")
    with tempfile.TemporaryDirectory() as folder:
        saved = index.save(os.path.join(folder, "grids.gridindex"))
        loading = measure(GridIndex.load, saved, repeat=args.repeat)
        size_mb = os.path.getsize(saved) / 2**20
    print(f"  GridIndex.load: {loading[0] * 1000:.0f} ms wall ({size_mb:.1f} MiB file); the same positions: "
          f"{bool((loading[3].locate(*xy(cases)) == index.locate(*xy(cases))).all())}")
    print("with the indexes built (the issue's comparison):")
    cases.sindex  # noqa: B018 (built and cached on the frame, as after sjoin's first call)
    sjoin = measure(run_sjoin, cases, plain, repeat=args.repeat)
    print(f"  geopandas.sjoin(within): {sjoin[0]:6.2f} s wall, {sjoin[1]:6.2f} s CPU, "
          f"peak traced memory {sjoin[2]:5.0f} MiB")
    run_assign(cases.iloc[:10_000], index)
    prebuilt = measure(run_assign, cases, index, repeat=args.repeat)
    print(f"  gridmap.cases.assign:    {prebuilt[0]:6.2f} s wall, {prebuilt[1]:6.2f} s CPU, "
          f"peak traced memory {prebuilt[2]:5.0f} MiB")
    print(f"  speed-up: {sjoin[0] / prebuilt[0]:.1f}x wall, {sjoin[1] / prebuilt[1]:.1f}x CPU; "
          f"peak RSS so far {rss_mb():.0f} MiB")
    print("including the index builds:")
    sjoin_cold = measure(run_sjoin, repeat=args.repeat, warm=lambda: (cases.copy(), plain))
    print(f"  geopandas.sjoin(within): {sjoin_cold[0]:6.2f} s wall, {sjoin_cold[1]:6.2f} s CPU, "
          f"peak traced memory {sjoin_cold[2]:5.0f} MiB")
    once = measure(run_assign, cases, grids, repeat=args.repeat)
    print(f"  gridmap.cases.assign:    {once[0]:6.2f} s wall, {once[1]:6.2f} s CPU, "
          f"peak traced memory {once[2]:5.0f} MiB")
    print(f"  speed-up: {sjoin_cold[0] / once[0]:.1f}x wall, {sjoin_cold[1] / once[1]:.1f}x CPU; "
          f"peak RSS so far {rss_mb():.0f} MiB")
    outside_rows = outside_scenario(args, grids, plain, size) if args.outside > 0 else []
    print("results:")
    identical = check(reference(cases, grids), sjoin[3], {"prebuilt": prebuilt[3], "built per call": once[3]})
    identical &= all(same for _, same in outside_rows)
    print(f"identical: {identical}; load average {os.getloadavg()[0]:.1f}")
    same = f"identical: {identical}"
    print(bench_row("case assignment, index prebuilt", size, prebuilt, sjoin,
                    f"assign(cases, GridIndex) vs sjoin(within) with cases.sindex built; builds not "
                    f"timed (GridIndex {build[0]:.2f} s, sindex {tree[0]:.2f} s); {same}"))
    print(bench_row("case assignment, index built per call", size, once, sjoin_cold,
                    f"assign(cases, grids) vs sjoin(within), each building its index; {same}"))
    print("BENCH " + json.dumps({
        "scenario": "grid index load", "size": f"{len(grids):,} grids", "gridmap_s": loading[0],
        "gridmap_peak_mb": loading[2], "memory": "traced (tracemalloc)",
        "note": f"GridIndex.load of a {size_mb:.1f} MiB file from GridIndex.save (build {build[0]:.2f} s)"}))
    for row, _ in outside_rows:
        print(row)
    if not identical:
        raise SystemExit("results differ")


if __name__ == "__main__":
    main()
