"""Benchmark the code registry on the whole country: every community and village, 5 grids each.

Run: ``python benchmarks/bench_registry.py [--communities N] [--grids 5] [--folder DIR]``

The 620,573 real 12-digit community and village codes of ``../shared/data/admin-codes/villages.csv.gz`` (one,
350527000000 for Kinmen, has street digits 000 and is dropped: no grid code can hold it) each get ``--grids``
generated grids without geometry (member unit ids only; the last grid of each community holds two units),
about 3.1 million grids. Phases, each in a fresh process so that its peak memory (``ru_maxrss``) is its own:

* ``assign``  — a new registry gives every grid its code (targets: under 60 s);
* ``rerun``   — the same build again: nothing changes, nothing is written (target: under 10 s);
* ``update``  — 1 % of the communities re-divided (their grids get new units): retire, issue, lineage;
* ``plain``   — the plain way: pandas ``groupby().cumcount()`` numbers the grids, ``to_sql`` stores them
  (no uniqueness, no history, no matching of a later build).

Times cover the call alone (``Registry.assign`` or groupby + to_sql), not generating the input: wall-clock
seconds, and the CPU seconds of the process (on a shared machine the wall clock also counts the time other
processes held the cores; ``load`` is the 1-minute load average at the end of the phase).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gridmap.codes import parse_many
from gridmap.codes.registry import Registry

VILLAGES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "admin-codes" / "villages.csv.gz"
PHASES = ("assign", "rerun", "update", "plain")


def communities(limit: int | None) -> np.ndarray:
    codes = pd.read_csv(VILLAGES, dtype=str, usecols=["code"])["code"]
    valid = parse_many(codes + "001", errors="coerce")["sequence"].notna()
    codes = codes[valid.to_numpy()]
    return codes.to_numpy(dtype=object)[:limit]


def build(codes: np.ndarray, grids: int, *, redivided: float = 0.0) -> pd.DataFrame:
    """``grids`` grids per community; a share ``redivided`` of the communities get new unit ids."""
    community = np.repeat(codes, grids)
    k = np.tile(np.arange(1, grids + 1), len(codes))
    prefix = pd.Series(community, dtype=object) + "-U"
    units = prefix + pd.Series(k).astype(str).str.zfill(2)
    last = k == grids
    units[last] = units[last] + ";" + prefix[last] + str(grids + 1).zfill(2)
    if redivided:
        # pandas hashes; np.isin of object arrays compares them one by one (minutes for 3.1 million)
        changed = pd.Series(community).isin(codes[:: int(round(1 / redivided))]).to_numpy()
        units[changed] = units[changed].str.replace("-U", "-R", regex=False)
    village = pd.Series(community, dtype=object).str.slice(9, 12)
    kind = np.where(village.between("200", "399"), "rural", "city")
    temp = pd.Series(community, dtype=object) + "-" + pd.Series(k).astype(str).str.zfill(3)
    return pd.DataFrame({"code": temp, "community_code": community, "type": kind, "unit_ids": units})


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_phase(phase: str, folder: Path, limit: int | None, grids: int) -> dict:
    codes = communities(limit)
    frame = build(codes, grids, redivided=0.01 if phase == "update" else 0.0)
    before = peak_mb()
    registry_path = folder / "registry.sqlite"
    start, cpu = time.perf_counter(), time.process_time()
    if phase == "plain":
        path = folder / "plain.sqlite"
        path.unlink(missing_ok=True)
        sequence = frame.groupby("community_code").cumcount() + 1
        table = pd.DataFrame({"code": frame["community_code"] + sequence.astype(str).str.zfill(3),
                              "community_code": frame["community_code"], "sequence": sequence,
                              "type": frame["type"], "unit_ids": frame["unit_ids"]})
        with sqlite3.connect(path) as con:
            table.to_sql("codes", con, index=False)
        summary = {"grids": len(table)}
    else:
        with Registry(registry_path) as registry:
            out = registry.assign(frame, when="2025-01-06" if phase == "assign" else "2025-06-01")
            summary = out["status"].value_counts().to_dict() | {"changed": int(out["changed"].sum())}
            if phase != "assign":
                summary["versions"] = len(registry.versions())
        path = registry_path
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"phase": phase, "grids": len(frame), "communities": len(codes), "seconds": round(seconds, 1),
            "cpu seconds": round(cpu, 1), "load": round(os.getloadavg()[0], 1),
            "input MB": round(before), "peak MB": round(peak_mb()),
            "file MB": round(path.stat().st_size / 2**20),
            "result": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communities", type=int, default=None, help="use the first N communities only")
    parser.add_argument("--grids", type=int, default=5, help="grids per community")
    parser.add_argument("--folder", type=Path, default=None,
                        help="where the databases go (default: temporary)")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.folder, args.communities, args.grids)))
        return
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench_registry_"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "registry.sqlite").unlink(missing_ok=True)
    rows = []
    for phase in PHASES:
        command = [sys.executable, __file__, "--phase", phase, "--folder", str(folder),
                   "--grids", str(args.grids)]
        if args.communities:
            command += ["--communities", str(args.communities)]
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ).stdout
        rows.append(json.loads(output.splitlines()[-1]))
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows).set_index("phase")
    print()
    print(table.drop(columns="result").to_string())
    ratio = table.loc["assign", "seconds"] / table.loc["plain", "seconds"]
    print(f"\nregistry assign / plain groupby+to_sql: {ratio:.1f}x the time; "
          f"re-run with nothing changed: {table.loc['rerun', 'seconds']} s")
    print(f"databases in {folder}")


if __name__ == "__main__":
    main()
