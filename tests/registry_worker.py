"""Code that tests/test_registry_processes.py runs in other processes.

Writers assigning codes at the same time, and writers killed in the middle of an assignment. Importable by
name (the tests folder is on sys.path).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from gridmap.codes import _registry_sql
from gridmap.codes.registry import Registry

WHEN = "2025-06-01"


def wait_for(path: Path, *, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.002)


def parallel_assign(path: str, builds: list, ready: str, go: str, out: str) -> None:
    """Assign each build in turn (scope "communities") once ``go`` appears; write what was issued."""
    rounds = []
    with Registry(path, timeout=120) as registry:
        Path(ready).touch()
        wait_for(Path(go))
        for build in builds:
            start = time.time()
            result = registry.assign(build, when=WHEN, scope="communities")
            rounds.append({"start": start, "end": time.time(), "code": result["code"].tolist(),
                           "status": result["status"].tolist()})
    Path(out).write_text(json.dumps({"pid": os.getpid(), "rounds": rounds}))


def paused_assign(path: str, build, step: str, marker: str) -> None:
    """Assign, but stop for good right after the assignment step ``step`` (the test kills the process)."""
    original = getattr(_registry_sql, step)

    def stop_after(*args, **kwargs):
        value = original(*args, **kwargs)
        Path(marker).write_text(str(os.getpid()))
        time.sleep(600)
        return value

    setattr(_registry_sql, step, stop_after)
    Registry(path).assign(build, when=WHEN)


#: SQLite virtual machine instructions between two progress ticks (see :func:`ticked_assign`).
TICK = 500


def count_ticks(path: str, build) -> int:
    """Assign ``build`` to the registry at ``path`` and return the SQLite progress ticks it took."""
    ticks = 0

    def tick() -> int:
        nonlocal ticks
        ticks += 1
        return 0

    with Registry(path) as registry:
        registry._con.set_progress_handler(tick, TICK)
        registry.assign(build, when=WHEN)
    return ticks


def ticked_assign(path: str, build, stop_at: int, marker: str) -> None:
    """Assign, but stop for good at SQLite progress tick ``stop_at``: inside a statement (killed there).

    The same build on a copy of the same registry runs the same statements, so tick N is the same point of
    the assignment in every run: where the kill lands is chosen by the test, not by the machine's load.
    """
    ticks = 0

    def tick() -> int:
        nonlocal ticks
        ticks += 1
        if ticks == stop_at:
            Path(marker).write_text(str(os.getpid()))
            time.sleep(600)
        return 0

    registry = Registry(path)
    registry._con.set_progress_handler(tick, TICK)
    registry.assign(build, when=WHEN)
