"""The registry under real processes: parallel writers never issue a code twice; a writer killed with SIGKILL
in the middle of an assignment leaves the registry as it was, readable and consistent, and a re-run completes.

Parallel and killed writers come from a "forkserver" that imported gridmap once: each is still a fresh
process with its own SQLite connection (forked from the clean server, not from pytest), and starting one costs
milliseconds instead of an interpreter start. The number of random kills is
GRIDMAP_KILL_TRIES (default 12 in the suite, each about a second of copying and checking a 10,000-grid
registry); the number of parallel writers is GRIDMAP_WRITERS (default 8).
`python scripts/reliability_figures.py` runs them with 50 kills.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import registry_worker
import shapely

from gridmap.codes import parse_many
from gridmap.codes.registry import Registry

ZONE = "EPSG:4545"
X0, Y0 = 540_000.0, 2_525_000.0
COMMUNITIES = ["450102001003", "450102001004", "450102002001"]
KILL_TRIES = int(os.environ.get("GRIDMAP_KILL_TRIES", "12"))
WRITERS = int(os.environ.get("GRIDMAP_WRITERS", "8"))
#: The assignment steps, in the order assign runs them (each is stopped after in turn).
STEPS = ["load_new", "match_units", "fetch_matched", "write_plan", "issue_codes", "close_versions",
         "insert_versions", "retire_codes", "insert_lineage", "record_version"]


@pytest.fixture(scope="module")
def forkserver():
    context = multiprocessing.get_context("forkserver")
    # gridmap and what unpickling a frame needs, imported once in the server. (The tests folder is not on the
    # server's sys.path in Python 3.11, so registry_worker itself is imported by each child: it is tiny.)
    context.set_forkserver_preload(["gridmap.codes.registry", "pyarrow", "pandas.core.arrays.string_arrow"])
    return context


def snapshot(path) -> dict:
    """Every row of the registry's tables (without the wall-clock time of versions), sorted."""
    con = sqlite3.connect(path)
    try:
        queries = {
            "codes": "SELECT * FROM codes ORDER BY code",
            "grid_versions": "SELECT * FROM grid_versions ORDER BY id",
            "lineage": "SELECT * FROM lineage ORDER BY parent, child, version",
            "counters": "SELECT * FROM counters ORDER BY community_code",
            "versions": "SELECT version, issued_on, grids, kept, added, changed, retired FROM versions "
                        "ORDER BY version",
        }
        return {table: con.execute(query).fetchall() for table, query in queries.items()}
    finally:
        con.close()


def assert_consistent(path) -> None:
    """Opens, passes every check, and numbers each community 1..counter without gaps or duplicates."""
    with Registry(path) as registry:
        report = registry.check()
        assert report.ok, report.to_frame()
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        sequences = pd.DataFrame(con.execute("SELECT community_code, sequence, code FROM codes").fetchall(),
                                 columns=["community", "sequence", "code"])
        counters = dict(con.execute("SELECT community_code, last_sequence FROM counters").fetchall())
    finally:
        con.close()
    assert sequences["code"].is_unique
    # each community's sequences, sorted, are exactly 1 .. its counter
    ordered = sequences.sort_values(["community", "sequence"], kind="stable")
    gaps = ordered["sequence"].to_numpy() != ordered.groupby("community").cumcount().to_numpy() + 1
    assert not gaps.any(), sorted(set(ordered.loc[gaps, "community"]))
    sizes = ordered.groupby("community").size()
    assert {c: counters[c] for c in sizes.index} == sizes.to_dict()


# ------------------------------------------------------------------------------- parallel writers

def community_build(community: str, tag: str, n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"code": [f"{tag}-{i}" for i in range(n)], "community_code": community,
                         "type": "city", "unit_ids": [f"{tag}-U{i}" for i in range(n)]})


@pytest.mark.slow
def test_parallel_writers_never_issue_a_code_twice(tmp_path, forkserver):
    path = tmp_path / "registry.sqlite"
    base = pd.concat([community_build(c, f"base{c}", 5) for c in COMMUNITIES], ignore_index=True)
    with Registry(path) as registry:
        registry.assign(base, when="2025-01-06")
    workers, rounds = WRITERS, 4
    context = forkserver  # separate processes, each with its own connection; gridmap imported once
    processes = []
    for w in range(workers):
        builds = [community_build(COMMUNITIES[(w + r) % 3], f"w{w}r{r}") for r in range(rounds)]
        args = (str(path), builds, str(tmp_path / f"ready{w}"), str(tmp_path / "go"),
                str(tmp_path / f"out{w}"))
        processes.append(context.Process(target=registry_worker.parallel_assign, args=args))
    for process in processes:
        process.start()
    for w in range(workers):
        registry_worker.wait_for(tmp_path / f"ready{w}")
    (tmp_path / "go").touch()  # all writers start at once
    for process in processes:
        process.join(timeout=300)
        assert process.exitcode == 0
    results = [json.loads((tmp_path / f"out{w}").read_text()) for w in range(workers)]

    issued = [code for result in results for r in result["rounds"] for code in r["code"]]
    assert all(status == "new" for result in results for r in result["rounds"] for status in r["status"])
    assert len(issued) == len(set(issued)) == workers * rounds * 3
    con = sqlite3.connect(path)
    registered = [code for (code,) in con.execute("SELECT code FROM codes")]
    versions = [v for (v,) in con.execute("SELECT version FROM versions ORDER BY version")]
    by_version = con.execute("SELECT issued_version, community_code, MIN(sequence), MAX(sequence), COUNT(*) "
                             "FROM codes GROUP BY issued_version, community_code").fetchall()
    con.close()
    assert sorted(registered) == sorted(issued + [f"{c}{s:03d}" for c in COMMUNITIES for s in range(1, 6)])
    assert versions == list(range(1, workers * rounds + 2))
    assert all(last - first + 1 == count for _, _, first, last, count in by_version)  # one block per version
    assert_consistent(path)
    # the writers really ran at the same time: some assignments of different processes overlapped in time
    spans = [(result["pid"], r["start"], r["end"]) for result in results for r in result["rounds"]]
    assert any(p != q and s1 < e2 and s2 < e1 for p, s1, e1 in spans for q, s2, e2 in spans)


# ------------------------------------------------------------------------------- killed writers

def layer(*rows):
    temps, units, boxes = zip(*rows, strict=True)
    geoms = [shapely.box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in boxes]
    return gpd.GeoDataFrame({"code": list(temps), "community_code": COMMUNITIES[0], "type": "city",
                             "unit_ids": list(units)}, geometry=geoms, crs=ZONE).to_crs("EPSG:4490")


@pytest.fixture(scope="module")
def geometric(tmp_path_factory):
    """A registry of six grids, and a rebuild that keeps, changes, splits, merges, adds and retires."""
    folder = tmp_path_factory.mktemp("geometric")
    base = folder / "base.sqlite"
    with Registry(base) as registry:
        registry.assign(layer(("A", "a", (0, 0, 100, 100)), ("B", "b1;b2", (100, 0, 300, 100)),
                              ("C", "c", (300, 0, 400, 100)), ("D", "d", (400, 0, 500, 100)),
                              ("E", "e", (500, 0, 600, 100)), ("F", "f", (600, 0, 700, 100))),
                        when="2025-01-06")
    rebuild = layer(("A", "a", (0, 0, 100, 100)), ("B1", "b1", (100, 0, 200, 100)),
                    ("B2", "b2", (200, 0, 300, 100)), ("CD", "c;d", (300, 0, 500, 100)),
                    ("E", "e", (500, 0, 650, 100)), ("G", "g", (650, 0, 700, 100)))
    return base, rebuild, _reference(base, rebuild, folder)


def _reference(base, build, folder) -> dict:
    reference = folder / "reference.sqlite"
    shutil.copy(base, reference)
    with Registry(reference) as registry:
        out = registry.assign(build, when=registry_worker.WHEN)
        assert set(out["status"]) == {"kept", "new"} and registry.check().ok
    return snapshot(reference)


def run_until_killed(context, target, args, marker) -> bool:
    """Start ``target``, wait for ``marker``, SIGKILL it. True if it was still running."""
    process = context.Process(target=target, args=args, daemon=True)
    process.start()
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.exitcode is None, f"the writer ended early with exit code {process.exitcode}"
        assert time.monotonic() < deadline, "the writer never reached the marker"
        time.sleep(0.002)
    if process.is_alive():
        os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=30)
    assert process.exitcode in (0, -signal.SIGKILL)  # 0: it finished just before the kill
    return process.exitcode == -signal.SIGKILL


def test_every_assignment_step_is_a_real_step():
    import gridmap.codes._registry_sql as sql

    assert all(callable(getattr(sql, step)) for step in STEPS)


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
def test_writer_killed_after_each_step_leaves_the_registry_as_it_was(forkserver, geometric, tmp_path, step):
    base, rebuild, after = geometric
    path = tmp_path / "registry.sqlite"
    shutil.copy(base, path)
    before = snapshot(path)
    marker = tmp_path / "paused"
    args = (str(path), rebuild, step, str(marker))
    assert run_until_killed(forkserver, registry_worker.paused_assign, args, marker)
    assert snapshot(path) == before
    assert_consistent(path)
    with Registry(path) as registry:  # the re-run completes and gives what an undisturbed run gives
        registry.assign(rebuild, when=registry_worker.WHEN)
    assert snapshot(path) == after
    assert_consistent(path)


@pytest.fixture(scope="module")
def bulk(tmp_path_factory):
    """A units-only registry of 10,000 grids and a rebuild that retires and re-issues a quarter of them."""
    folder = tmp_path_factory.mktemp("bulk")
    base = folder / "base.sqlite"
    communities = np.repeat([f"4501020{s:02d}{c:03d}" for s in range(1, 11) for c in range(1, 51)], 20)
    units = [f"U{i}" for i in range(len(communities))]
    first = pd.DataFrame({"community_code": communities, "type": "city", "unit_ids": units})
    with Registry(base) as registry:
        registry.assign(first, when="2025-01-06")
    second = first.copy()
    second.loc[::4, "unit_ids"] = [f"{u};V{i}" for i, u in enumerate(second["unit_ids"][::4])]
    counted = folder / "counted.sqlite"
    shutil.copy(base, counted)
    ticks = registry_worker.count_ticks(str(counted), second)
    return base, second, _reference(base, second, folder), ticks


def kill_at_random_points(context, base, build, after, *, ticks: int, tries: int, seed: int, folder,
                          neither: str) -> list[pd.DataFrame]:
    """Kill ``tries`` writers assigning ``build`` to copies of ``base``, each inside SQLite statements at a
    random point of the assignment (its progress ticks), then check and re-run each copy.

    The points are random but fixed by ``seed``, and each writer waits at its point until killed: every kill
    hits a running writer however loaded the machine is (a kill at a random *time* could miss it). Each killed
    copy must hold the registry as it was or ``after`` (else fails with ``neither``), pass every check, and
    come to ``after`` on a re-run; returns the re-runs' results.
    """
    assert ticks > 2 * tries  # enough distinct points to choose from
    rng = random.Random(seed)
    before, mid_run, results = snapshot(base), 0, []
    for attempt in range(tries):
        path = folder / f"registry{attempt}.sqlite"
        shutil.copy(base, path)
        marker = folder / f"started{attempt}"
        args = (str(path), build, rng.randint(1, ticks - 1), str(marker))
        mid_run += run_until_killed(context, registry_worker.ticked_assign, args, marker)
        assert snapshot(path) in (before, after), f"attempt {attempt}: {neither}"
        assert_consistent(path)
        with Registry(path) as registry:
            results.append(registry.assign(build, when=registry_worker.WHEN))
        assert snapshot(path) == after
    assert mid_run == tries  # every kill hit a writer paused inside the assignment
    return results


@pytest.mark.slow
def test_writers_killed_at_random_points_leave_a_consistent_registry(forkserver, bulk, tmp_path):
    base, rebuild, after, ticks = bulk
    results = kill_at_random_points(forkserver, base, rebuild, after, ticks=ticks, tries=KILL_TRIES,
                                    seed=20250601, folder=tmp_path,
                                    neither="neither the old nor the new registry")
    for result in results:
        assert result["code"].is_unique and parse_many(result["code"])["sequence"].notna().all()


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """An empty registry and a first, units-only build of 2,000 grids (written without matching)."""
    folder = tmp_path_factory.mktemp("first")
    base = folder / "empty.sqlite"
    Registry(base).close()
    communities = np.repeat([f"4501020{s:02d}{c:03d}" for s in range(1, 5) for c in range(1, 51)], 10)
    build = pd.DataFrame({"community_code": communities, "type": "city",
                          "unit_ids": [f"U{i}" for i in range(len(communities))]})
    reference = folder / "reference.sqlite"
    shutil.copy(base, reference)
    with Registry(reference) as registry:
        assert (registry.assign(build, when=registry_worker.WHEN)["status"] == "new").all()
    counted = folder / "counted.sqlite"
    shutil.copy(base, counted)
    return base, build, snapshot(reference), registry_worker.count_ticks(str(counted), build)


@pytest.mark.slow
def test_first_registration_killed_at_random_points_leaves_the_registry_empty(forkserver, first, tmp_path):
    base, build, after, ticks = first
    before = snapshot(base)
    assert before["codes"] == [] and before["versions"] == []
    kill_at_random_points(forkserver, base, build, after, ticks=ticks, tries=min(KILL_TRIES, 12),
                          seed=20250106, folder=tmp_path, neither="neither empty nor the full registry")
