"""Shared fixtures: the real reference data beside the project, and what the suite makes once.

Under pytest-xdist every worker runs its own session, so a session fixture runs once per worker. What can be
kept as files is made once per run instead: the workers share one folder (``run_folder``) and ``once`` holds
a lock per key, so the first worker that asks does the work and the others read what it left (the demo
project, gridmap's modules parsed (``package_syntax``), the HTML-safety pages and what the browser saw in
them). What lives in memory is made once per
worker: the browser (``browser``, ``chromium``) and the sample city with its grids
(``cases_fixtures.sample_build``).
"""

import ast
import gc
import json
import os
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests check rules, not speed: on a loaded 2-core machine an example may take seconds, so no
# per-example deadline (hypothesis's default 200 ms fails healthy tests at random).
settings.register_profile("gridmap", deadline=None)
settings.load_profile("gridmap")

#: The longest single tests (up to a minute on one worker: mypy, the sample generator, random kills of
#: registry writers), run first: xdist's worksteal hands tests out in collection order, and one of these
#: left for the end keeps one worker busy while the other has nothing left to take.
LONGEST_FIRST = ("tests/test_types.py::", "tests/test_scripts.py::test_make_sample_data_usage",
                 "tests/test_registry_processes.py::test_writers_killed_at_random_points")


def pytest_collection_modifyitems(config, items):
    # stable: the rest keep their order
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))


def pytest_collection_finish(session):
    """Spare the garbage collector the heap that collection left (every module imported) and most passes.

    The tests allocate millions of short-lived objects on top of that heap; with Python's default thresholds
    the full collections that rescan it took ~8 % of the in-process CPU (gen-2 passes of ~0.2 s each).
    Frozen objects are never collected (they live until the end anyway); cycles made later still are.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


try:
    import fcntl
except ImportError:  # not POSIX: xdist workers do not share a folder, each makes its own
    fcntl = None

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real division codes and boundaries); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real reference data not found at {SHARED_DATA} (clone the project beside shared/)")
    return SHARED_DATA


# ------------------------------------------------------------------------------ made once per run

@contextmanager
def _locked(path: Path):
    """Hold an exclusive lock on ``path`` while the block runs.

    Hand-written with the standard library's ``fcntl.flock`` (``filelock`` is no dependency); without
    fcntl each worker has its own folder and needs no lock.
    """
    with open(path, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory) -> Path:
    """The folder every xdist worker of this run shares (the worker's own without xdist or fcntl)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER") and fcntl is not None:
        base = base.parent  # the run's folder, parent of the workers' own
    return base


@pytest.fixture(scope="session")
def once(run_folder) -> Callable:
    """``once(key, make)``: ``make()``'s result (JSON), computed once per run whichever worker asks first.

    ``key`` names the result's file in the run folder (``a/b`` makes a subfolder); a ``make`` that raises
    leaves nothing behind, so the next test that asks tries again.
    """

    def get(key: str, make: Callable):
        done = run_folder / f"{key}.json"
        done.parent.mkdir(parents=True, exist_ok=True)
        with _locked(run_folder / f"{key}.lock"):
            if not done.exists():
                done.write_text(json.dumps(make()), encoding="utf-8")
        return json.loads(done.read_text(encoding="utf-8"))

    return get


@dataclass(frozen=True)
class Demo:
    """A project folder where ``gridmap demo --out demo`` ran, and what the command printed."""

    project: Path  # holds data/ (a link to the clone's) and demo/
    output: str  # stdout and stderr, as the user saw them
    stdout: str

    @property
    def folder(self) -> Path:
        return self.project / "demo"

    @property
    def gpkg(self) -> Path:
        return self.folder / "gridmap.gpkg"


@pytest.fixture(scope="session")
def demo(once, run_folder) -> Demo:
    """``gridmap demo --out demo`` run once per run in a project folder as a new user has it (``data/`` of
    the clone). Read it, or copy ``demo.folder`` before changing anything in it."""
    from click.testing import CliRunner

    from gridmap.cli import main

    project = run_folder / "demo_project"

    def make() -> dict:
        shutil.rmtree(project, ignore_errors=True)
        project.mkdir()
        (project / "data").symlink_to(PROJECT_ROOT / "data", target_is_directory=True)
        before = os.getcwd()
        os.chdir(project)  # contextlib.chdir is Python 3.11+
        try:
            result = CliRunner().invoke(main, ["demo", "--out", "demo"], prog_name="gridmap")
        finally:
            os.chdir(before)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a traceback a user would see
        assert result.exit_code == 0, result.output
        return {"output": result.output, "stdout": result.stdout}

    printed = once("demo_project", make)
    return Demo(project, printed["output"], printed["stdout"])


def _syntax_of(path: Path) -> dict:
    """The import statements of a module and its assignments of a tuple or list (line, the text items)."""
    imports, sequences = [], []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imports.append([0, None, [alias.name for alias in node.names]])
        elif isinstance(node, ast.ImportFrom):
            imports.append([node.level, node.module, [alias.name for alias in node.names]])
        elif isinstance(node, ast.Assign) and isinstance(node.value, (ast.Tuple, ast.List)):
            items = [getattr(element, "value", None) for element in node.value.elts]
            sequences.append([node.lineno, [item for item in items if isinstance(item, str)]])
    return {"imports": imports, "sequences": sequences}


@pytest.fixture(scope="session")
def package_syntax(once) -> dict[str, dict]:
    """Every module of the gridmap under test parsed once per run (a couple of seconds of ``ast.parse``),
    by path from the package's parent (``gridmap/io/read.py``): ``imports``, one ``[level, module, names]``
    per import statement anywhere in the file (level 0 and module None for ``import names``), and
    ``sequences``, ``[line, text items]`` per assignment of a tuple or list literal. Read by the layering
    test (tests/test_architecture.py) and the vocabulary test that levels are defined once."""
    import gridmap

    package = Path(gridmap.__file__).parent

    def make() -> dict:
        return {path.relative_to(package.parent).as_posix(): _syntax_of(path)
                for path in sorted(package.rglob("*.py"))}

    return once("package_syntax", make)


# --------------------------------------------------------------------------- the browser, once per worker

@pytest.fixture(scope="session")
def chromium() -> Callable:
    """``chromium()``: the worker's browser, started on first use (a test that only reads what another
    worker saw in a page needs none); skips the test when playwright or chromium is missing."""
    from browser import launch_chromium

    started = []

    def get():
        if not started:
            started.append(launch_chromium())
        return started[0][1]

    yield get
    for playwright, browser in started:
        browser.close()
        playwright.stop()


@pytest.fixture(scope="session")
def browser(chromium):
    """The worker's browser (Playwright + Debian's chromium), started once."""
    return chromium()
