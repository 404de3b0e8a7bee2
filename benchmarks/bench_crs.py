"""Benchmark GCJ-02 -> WGS84: gridmap's iterated inverse, the one-step approximation and per-point tools.

Run: ``python benchmarks/bench_crs.py [--points 1000000] [--sample 20000]``

The points are uniform over China (inside gridmap's outline), shifted to GCJ-02 with the forward formula; each
method's result is compared with the original WGS84 points (geodesic metres). The plain way is the
one-step approximation as a numpy user writes it: the published forward formula (``np.sin`` of each term)
evaluated at the GCJ-02 point and subtracted, inside the usual rectangle; the same one step through
gridmap's faster forward formula is shown too. The vectorised methods run once untraced for the time
(best of three, wall and CPU) and once under tracemalloc for the peak of Python-tracked memory (numpy
arrays included). coord-convert and prcoords, if installed (``pip install coord-convert prcoords``; they
are not gridmap dependencies), convert point by point on the first ``--sample`` points.
"""

import argparse
import importlib
import time
import tracemalloc

import numpy as np
import pyproj

from gridmap.crs import gcj02_to_wgs84, is_in_china, wgs84_to_gcj02

GEOD = pyproj.Geod(ellps="WGS84")
PI = np.pi
KRASOVSKY_A, KRASOVSKY_EE = 6378245.0, 0.00669342162296594323


def points_in_china(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random WGS84 points inside the outline, at least 0.02 deg (more than the shift) from its edge."""
    rng = np.random.default_rng(seed)
    lon, lat = np.empty(0), np.empty(0)
    while lon.size < n:
        x, y = rng.uniform(73, 135, n), rng.uniform(18, 54, n)
        keep = np.all(
            [is_in_china(x + dx, y + dy) for dx in (-0.02, 0, 0.02) for dy in (-0.02, 0, 0.02)], axis=0
        )
        lon, lat = np.concatenate([lon, x[keep]]), np.concatenate([lat, y[keep]])
    return lon[:n], lat[:n]


def textbook_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the published GCJ-02 offset (dlon, dlat) in degrees, term by term as the usual tools do."""
    x, y = lon - 105.0, lat - 35.0
    root = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * PI) + 20.0 * np.sin(2.0 * x * PI)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root + common
    dlat += (20.0 * np.sin(y * PI) + 40.0 * np.sin(y / 3.0 * PI)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * PI) + 320.0 * np.sin(y * PI / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root + common
    dlon += (20.0 * np.sin(x * PI) + 40.0 * np.sin(x / 3.0 * PI)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * PI) + 300.0 * np.sin(x / 30.0 * PI)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * PI
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI)
    dlon = dlon * 180.0 / (KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * PI)
    return dlon, dlat


def one_step(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The plain way: subtract the offset evaluated at the GCJ-02 point itself, inside the usual rectangle."""
    dlon, dlat = textbook_offset(lon, lat)
    inside = (lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271)
    return np.where(inside, lon - dlon, lon), np.where(inside, lat - dlat, lat)


def one_step_gridmap(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same approximation through gridmap's forward formula (and its outline of China)."""
    fwd_lon, fwd_lat = wgs84_to_gcj02(lon, lat)
    return 2 * lon - fwd_lon, 2 * lat - fwd_lat


def vectorised(func, lon, lat):
    """Best-of-three wall and CPU seconds, peak traced MiB and the result of ``func(lon, lat)``."""
    seconds, cpu = [], []
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = func(lon, lat)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    tracemalloc.start()
    func(lon, lat)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return min(seconds), min(cpu), peak, result


def per_point(func, lon, lat):
    """Seconds and the result of calling ``func`` on each (lon, lat) pair."""
    start = time.perf_counter()
    out = np.array([func(x, y) for x, y in zip(lon.tolist(), lat.tolist(), strict=True)])
    return time.perf_counter() - start, (out[:, 0], out[:, 1])


def third_party():
    """(name, per-point lon/lat -> lon/lat function) for the optional libraries that are installed."""
    found = []
    try:
        transform = importlib.import_module("coord_convert.transform")
        found.append(("coord-convert 0.2.1 gcj2wgs (iterative)", transform.gcj2wgs))
    except ImportError:
        print("coord-convert not installed: skipped (pip install coord-convert)")
    try:
        prcoords = importlib.import_module("prcoords")

        def bored(lon, lat):
            result = prcoords.gcj_wgs_bored((lat, lon))
            return result.lon, result.lat

        found.append(("prcoords 1.0.2 gcj_wgs_bored (iterative)", bored))
    except ImportError:
        print("prcoords not installed: skipped (pip install prcoords)")
    return found


def error_m(truth_lon, truth_lat, result):
    """Mean and max geodesic error in metres."""
    dist = GEOD.inv(truth_lon, truth_lat, result[0], result[1])[2]
    return dist.mean(), dist.max()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    args = parser.parse_args()

    lon, lat = points_in_china(args.points)
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    rows, cpu = [], {}
    for name, func in [
        ("gridmap gcj02_to_wgs84 (iterated, numpy)", gcj02_to_wgs84),
        ("one-step approximation (plain numpy)", one_step),
        ("gridmap one step (its forward formula)", one_step_gridmap),
    ]:
        seconds, cpu[name], peak, result = vectorised(func, gcj_lon, gcj_lat)
        rows.append((name, args.points, seconds / args.points * 1e6, peak, *error_m(lon, lat, result)))
    n = min(args.sample, args.points)
    for name, func in third_party():
        seconds, result = per_point(func, gcj_lon[:n], gcj_lat[:n])
        rows.append((name, n, seconds / n * 1e6, float("nan"), *error_m(lon[:n], lat[:n], result)))

    base = rows[0][2]
    print(
        f"\nGCJ-02 -> WGS84 on points uniform over China ({args.points:,} points; per-point tools on {n:,})"
    )
    print(
        f"{'method':44} {'points':>9} {'µs/pt':>7} {'× gridmap':>9} {'peak MiB':>9} {'err mean m':>11} "
        f"{'err max m':>10}"
    )
    for name, count, us, peak, mean, worst in rows:
        print(f"{name:44} {count:>9,} {us:>7.3f} {us / base:>9.1f} {peak:>9.1f} {mean:>11.2e} {worst:>10.2e}")
    print("CPU seconds, best of three: " + ", ".join(f"{name} {cpu_s:.3f}" for name, cpu_s in cpu.items()))


if __name__ == "__main__":
    main()
