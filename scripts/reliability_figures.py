"""Print the reliability figures of gridmap (issue 9): the bad-input corpus and the durable registry.

Runs ``tests/test_bad_inputs.py`` through pytest in this process and counts, per corpus case, whether the
input gave a clear GridmapError (right class; message naming the file, the record and the fix; for the
command line exit 2 and the previous output untouched), a sound result (read right, or reported), a known
gap (strict xfail) or a failure. Then runs ``tests/test_registry_processes.py`` with 8 concurrent writing
processes and 50 SIGKILLs at random points of ``Registry.assign`` (plus one after each step) and prints
what survived. Only what the tests measure is printed.

Usage (from the repository root)::

    python scripts/reliability_figures.py            # the table
    python scripts/reliability_figures.py --gaps     # the table and the known gaps, one line each

Exits 1 when a case fails (a regression, or a gap that was fixed: then delete its ``gap``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "bad_inputs"
TESTS = ROOT / "tests" / "test_bad_inputs.py"
_CASE_TESTS = ("test_error", "test_reads", "test_report", "test_output_unchanged")
REGISTRY_TESTS = ROOT / "tests" / "test_registry_processes.py"
WRITERS, KILLS = 8, 50


class _Outcomes:
    """A pytest plugin that keeps the outcome of each corpus case, by case id."""

    def __init__(self) -> None:
        self.by_case: dict[str, str] = {}

    def pytest_runtest_logreport(self, report) -> None:
        name, _, case = report.nodeid.partition("[")
        if not case or not name.endswith(_CASE_TESTS):
            return
        case = case.rstrip("]")
        if report.when == "call" or report.outcome != "passed":
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
            else:
                outcome = report.outcome
            if self.by_case.get(case) in (None, "passed"):
                self.by_case[case] = outcome


def _corpus_size() -> tuple[int, int]:
    own = ("manifest.json", "README.md", ".gitkeep")
    files = [p for p in CORPUS.rglob("*")
             if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts and p.name not in own]
    return len(files), sum(p.stat().st_size for p in files)


def figures(outcomes: dict[str, str], manifest: list[dict]) -> list[tuple[str, int]]:
    """Rows of the table: (measure, count)."""
    expect = {entry["id"]: entry["expect"] for entry in manifest}
    passed = [case for case, outcome in outcomes.items() if outcome == "passed"]
    errors = [case for case in passed if expect[case] in ("error", "unchanged")]
    sound = [case for case in passed if expect[case] in ("reads", "report")]
    failed = [case for case, outcome in outcomes.items() if outcome in ("failed", "xpassed")]
    return [
        ("inputs tried (corpus cases run)", len(outcomes)),
        ("clear GridmapError (class, file, record, fix; CLI exit 2, output untouched)", len(errors)),
        ("read right or reported (inputs that must not fail)", len(sound)),
        ("xfail: known gaps, strict", sum(outcome == "xfailed" for outcome in outcomes.values())),
        ("failures (regressions, or gaps fixed but still marked)", len(failed)),
        ("skipped (module not there yet)", sum(outcome == "skipped" for outcome in outcomes.values())),
    ]


class _Results:
    """A pytest plugin that keeps the outcome of every test, by test name."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call" or report.outcome != "passed":
            self.outcomes.setdefault(report.nodeid.split("::")[-1], report.outcome)

    def passed(self, prefix: str) -> int:
        return sum(o == "passed" for name, o in self.outcomes.items() if name.startswith(prefix))

    def failed(self) -> int:
        return sum(o == "failed" for o in self.outcomes.values())


def registry_figures() -> list[tuple[str, int]]:
    """Run the registry's real-process tests at the issue's scale; rows of (measure, count)."""
    os.environ.update(GRIDMAP_WRITERS=str(WRITERS), GRIDMAP_KILL_TRIES=str(KILLS))
    plugin = _Results()
    pytest.main([str(REGISTRY_TESTS), "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--no-header"],
                plugins=[plugin])
    parallel = plugin.passed("test_parallel_writers_never_issue_a_code_twice")
    return [
        ("concurrent writing processes, no code issued twice", WRITERS * parallel),
        ("SIGKILLs at random points of assign survived (registry old or new, consistent)",
         KILLS * plugin.passed("test_writers_killed_at_random_times")),
        ("SIGKILLs after each step of assign survived", plugin.passed("test_writer_killed_after_each_step")),
        ("registry tests failed (duplicates, corruption, a re-run that did not complete)", plugin.failed()),
    ]


def _print_table(rows: list[tuple[str, int]]) -> None:
    width = max(len(measure) for measure, _ in rows)
    print(f"{'measure':<{width}}  {'count':>5}")
    for measure, count in rows:
        print(f"{measure:<{width}}  {count:>5}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gaps", action="store_true", help="also list the known gaps, one line each")
    parser.add_argument("--corpus-only", action="store_true", help="skip the registry's process tests")
    args = parser.parse_args(argv)
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    plugin = _Outcomes()
    started = time.perf_counter()
    pytest.main([str(TESTS), "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--no-header",
                 "-k", " or ".join(_CASE_TESTS)], plugins=[plugin])
    seconds = time.perf_counter() - started
    files, size = _corpus_size()
    rows = figures(plugin.by_case, manifest)
    registry = [] if args.corpus_only else registry_figures()
    print()
    print(f"Bad-input corpus: {len(manifest)} cases on {files} input files ({size:,} bytes), "
          f"run in {seconds:.1f} s")
    _print_table(rows)
    if registry:
        print(f"\nCode registry under real processes ({WRITERS} writers, {KILLS} random SIGKILLs):")
        _print_table(registry)
    if args.gaps:
        print("\nKnown gaps (tests/bad_inputs/README.md):")
        for entry in manifest:
            if entry.get("gap"):
                print(f"  {entry['id']}: {entry['gap'].split('. Suggest')[0]}")
    failed = dict(rows)["failures (regressions, or gaps fixed but still marked)"]
    return 1 if failed or (registry and registry[-1][1]) else 0


if __name__ == "__main__":
    sys.exit(main())
