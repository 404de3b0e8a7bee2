"""Benchmark grid-code parsing and Beidou encoding.

Run: ``python benchmarks/bench_codes.py [--codes 3000000] [--points 1000000]``

Each case runs three times untraced (the best time is shown), then once under tracemalloc for the peak of
Python-tracked memory (numpy arrays and Python objects). pandas' str columns live in pyarrow's memory pool,
which tracemalloc cannot see: the arrow memory held by the result is shown beside it.
"""

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa

from gridmap.codes import beidou, beidou_decode, parse_many


def generated_codes(n: int, seed: int = 0) -> pd.Series:
    """``n`` valid 15-digit grid codes: Guangxi-like communities, sequences 001–999."""
    rng = np.random.default_rng(seed)
    parts = [
        pd.Series(rng.integers(4501, 4515, n)).astype("str"),
        pd.Series(rng.integers(2, 100, n)).astype("str").str.zfill(2),
        pd.Series(rng.integers(1, 600, n)).astype("str").str.zfill(3),
        pd.Series(rng.integers(1, 600, n)).astype("str").str.zfill(3),
        pd.Series(rng.integers(1, 1000, n)).astype("str").str.zfill(3),
    ]
    return parts[0].str.cat(parts[1:])


def measure(label: str, items: int, func, repeat: int = 3) -> dict:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    seconds = min(times)
    pool = pa.default_memory_pool()
    arrow_before = pool.bytes_allocated()
    tracemalloc.start()
    result = func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    arrow_held = pool.bytes_allocated() - arrow_before
    del result
    return {"case": label, "items": f"{items:,}", "seconds (best of 3)": round(seconds, 2),
            "µs/item": round(seconds / items * 1e6, 3), "peak MB (tracemalloc)": round(peak / 2**20, 1),
            "result MB in arrow": round(arrow_held / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=3_000_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()

    codes = generated_codes(args.codes)
    rng = np.random.default_rng(1)
    lon = rng.uniform(73.5, 135.0, args.points)
    lat = rng.uniform(18.0, 53.5, args.points)
    level7 = beidou(lon, lat, level=7)

    rows = [
        measure("parse_many (default scheme)", args.codes, lambda: parse_many(codes)),
        measure("beidou level 7", args.points, lambda: beidou(lon, lat, level=7)),
        measure("beidou level 10", args.points, lambda: beidou(lon, lat, level=10)),
        measure("beidou_decode level 7", args.points, lambda: beidou_decode(level7)),
    ]
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
