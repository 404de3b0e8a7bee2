"""Every example of every ``gridmap ... --help`` runs as written, as a new user would run it.

The examples are read from the help text itself (the root group, every command and subcommand), then run in
order in a fresh project folder: ``data/`` as in a clone, and ``demo/`` made once by the documented
``gridmap demo --out demo``. Each must exit with the code it documents (``# exit N``, else 0) and write
what it promises (``--out`` and ``> file``), files that open. Lines marked ``# your files`` name files a
new user does not have: only their options are checked.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from command_lines import Example, assert_opens, parse_command_lines

from gridmap.cli import main
from gridmap.io import read_layer

ROOT = Path(__file__).resolve().parents[1]
DEMO = "gridmap demo --out demo"  # the example every other one builds on, run once per test session
#: Examples that a test of their own runs as written, with assertions of what they promise (a second full
#: demo is too long to run twice): argv → that test.
RUN_BY_THEIR_OWN_TEST = {("demo", "--out", "demo", "--lang", "en"):
                         "tests/test_cli_demo.py::test_demo_rerun_in_english_keeps_the_codes"}
#: Commands that can take more than a couple of seconds: they show their steps as a progress bar.
SLOW = ["demo", "build", "microgrids", "check", "codes validate", "cases assign", "stats", "map", "report",
        "escalation", "index", "staffing", "liaison", "patrols"]
#: Commands whose result is a table: they print it as JSON with --json.
TABULAR = ["build", "microgrids", "check", "codes parse", "codes validate", "codes history", "codes diff",
           "cases assign", "stats", "report", "escalation", "index", "party", "centres", "staffing",
           "liaison", "zones", "circles", "patrols"]


def commands(group: click.Group = main, path: tuple[str, ...] = ()):
    """Every command's path, the root group's ``()`` first, in the order help lists them."""
    yield path, group
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def help_text(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="gridmap", terminal_width=120)
    assert result.exit_code == 0, result.output
    return result.output


def examples_of(help_text: str) -> list[Example]:
    """The examples of a help text: its Examples section, up to the exit codes."""
    return parse_command_lines(help_text.split("Examples (", 1)[1].split("Exit codes:", 1)[0], "gridmap")


HELPS = {" ".join(("gridmap", *path)): help_text(path) for path, _ in commands()}
EXAMPLES = {name: examples_of(text) for name, text in HELPS.items()}
#: The command line of every --help example a new user can run, with its documented exit code.
HELP_ARGVS = {tuple(e.argv): e.exit_code for examples in EXAMPLES.values() for e in examples
              if not e.own_files}


@contextlib.contextmanager
def working_directory(path: Path):
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run(example: Example, cwd: Path):
    with working_directory(cwd):
        result = CliRunner().invoke(main, example.argv, prog_name="gridmap")
        if example.stdout_to:
            Path(example.stdout_to).write_text(result.stdout, encoding="utf-8")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback a user would see
    return result


@pytest.fixture(scope="session")
def demo_project(demo) -> Path:
    """A project folder (data/ of the clone) where ``gridmap demo --out demo`` ran; one for all workers."""
    (example,) = [e for e in EXAMPLES["gridmap"] if e.text.startswith(DEMO + " ")]
    # the run shared by the suite (tests/conftest.py) is the documented example, as written
    assert (example.argv, example.stdout_to, example.exit_code) == (["demo", "--out", "demo"], None, 0)
    assert demo.stdout.splitlines()[-1].startswith("wrote demo/ (")
    return demo.project


@pytest.fixture
def project(demo_project, tmp_path) -> Path:
    """A fresh copy of the project folder, so that examples that change demo/ change only theirs."""
    copy = tmp_path / "project"
    copy.mkdir()
    (copy / "data").symlink_to(ROOT / "data", target_is_directory=True)
    shutil.copytree(demo_project / "demo", copy / "demo")
    return copy


def resolve(argv: list[str]) -> tuple[str, set[str]]:
    """The command an argv runs, as its help names it (``codes validate``), and every option it may take."""
    command, words = main, []
    options = {opt for param in main.params for opt in (*param.opts, *param.secondary_opts)}
    for word in argv:
        if isinstance(command, click.Group) and word in command.commands:
            command = command.commands[word]
            words.append(word)
            options |= {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    return " ".join(words), options


def assert_report_folder(folder: Path, grids_path: Path, street: str | None) -> None:
    """``gridmap report`` writes the whole folder: summary, workbook, cockpit and a map per street."""
    assert sorted(p.name for p in folder.iterdir()) == ["cockpit.html", "maps", "stats.xlsx", "summary.html",
                                                         "summary.md"]
    streets = sorted(read_layer(grids_path, "grids")["community_code"].str[:9].unique())
    assert sorted(p.stem for p in (folder / "maps").iterdir()) == ([street] if street else streets)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_help_has_runnable_examples_and_exit_codes(name):
    text = HELPS[name]
    assert "Exit codes: 0" in text and "2 bad input" in text.split("Exit codes:")[1]
    runnable = [e for e in EXAMPLES[name] if not e.own_files]
    assert runnable, f"{name} --help has no example a new user can run"
    path = name.split()[1:]
    for example in runnable:
        words = [w for w in example.argv if w not in ("-q", "--quiet")]
        assert words[:len(path)] == path, f"{example.text}: not an example of {name}"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_examples_run_as_written(name, project, monkeypatch):
    monkeypatch.setattr("gridmap.cli._output._terminal", lambda: True)  # as on a terminal: bars drawn
    for example in EXAMPLES[name]:
        command, options = resolve(example.argv)
        unknown = [w for w in example.argv if w.startswith("-") and w.split("=")[0] not in options]
        assert not unknown, f"{example.text}: gridmap {command} has no option {unknown}"
        if example.own_files:
            continue
        if example.text.startswith(DEMO + " "):  # made by the fixture: the same command, once a session
            assert_opens(project / "demo")
            continue
        if run_by_its_own_command(name, example, command) or tuple(example.argv) in RUN_BY_THEIR_OWN_TEST:
            continue
        assert_as_documented(example, command, run(example, project), project)


def run_by_its_own_command(name: str, example: Example, command: str) -> bool:
    """Whether this example of a group's help is also one of its command's own, where it runs as written
    (unless a later example of the group reads what it writes)."""
    own = f"gridmap {command}"
    if own == name or tuple(example.argv) not in {tuple(e.argv) for e in EXAMPLES.get(own, [])}:
        return False
    later = EXAMPLES[name][EXAMPLES[name].index(example) + 1:]
    return not any(path in e.argv for path in example.promised for e in later)


def assert_as_documented(example: Example, command: str, result, project: Path) -> None:
    """The exit code documented, the files promised, a progress bar, and stdout as --json/--quiet say."""
    assert result.exit_code == example.exit_code, f"{example.text}\n{result.output}"
    for path in example.promised:
        assert_opens(project / path)
    quiet = "-q" in example.argv or "--quiet" in example.argv
    if command in SLOW and not quiet:
        assert f"{command}: " in result.stderr and "steps [" in result.stderr, f"{example.text}: no bar"
    elif quiet:
        assert "steps [" not in result.stderr, f"{example.text}: a progress bar despite --quiet"
    if "--json" in example.argv:
        json.loads((project / example.stdout_to).read_text(encoding="utf-8") if example.stdout_to else
                   result.stdout)
    elif quiet:
        assert result.stdout == "", f"{example.text}: --quiet printed {result.stdout!r}"
    elif "--out" in example.argv:
        out = example.argv[example.argv.index("--out") + 1]
        assert result.stdout.splitlines()[-1].startswith(f"wrote {out}"), \
            f"{example.text}: the last line does not say what was written where:\n{result.stdout}"
    if command == "report":
        out = example.argv[example.argv.index("--out") + 1]
        street = example.argv[example.argv.index("--street") + 1] if "--street" in example.argv else None
        assert_report_folder(project / out, project / example.argv[1], street)


def script_usages() -> set[tuple[str, ...]]:
    """The command lines (``scripts/NAME.py``, options…) of the documented Usage of the scripts that
    tests/test_scripts.py runs as written."""
    argvs = set()
    for name in ("batch_maps", "check_existing_grids", "make_province"):
        doc = ast.get_docstring(ast.parse((ROOT / "scripts" / f"{name}.py").read_text(encoding="utf-8")))
        lines = parse_command_lines(doc.split("Usage", 1)[1], f"python scripts/{name}.py")
        argvs |= {(f"scripts/{name}.py", *line.argv) for line in lines}
    return argvs


def readme_blocks() -> list[str]:
    """The README's code blocks marked ``<!-- cli-examples ... -->``: commands that must run as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"<!-- cli-examples[^>]*-->\s*```\w*\n(.*?)```", text, flags=re.S)


@pytest.mark.slow
@pytest.mark.skipif(not readme_blocks(), reason="README.md marks no block with <!-- cli-examples --> yet")
def test_readme_examples_run_as_written(project, monkeypatch):
    blocks = readme_blocks()
    monkeypatch.setattr("gridmap.cli._output._terminal", lambda: True)
    (project / "scripts").symlink_to(ROOT / "scripts", target_is_directory=True)
    usages = script_usages()
    for block in blocks:
        for example in parse_command_lines(block, "python"):  # python scripts/NAME.py ...
            if example.own_files or tuple(example.argv) in usages:  # test_scripts.py runs those as written
                continue
            result = subprocess.run([sys.executable, *example.argv], cwd=project, capture_output=True,
                                    text=True, timeout=600)
            assert result.returncode == example.exit_code, f"{example.text}\n{result.stderr}"
            for path in example.promised:
                assert_opens(project / path)
        for example in parse_command_lines(block, "gridmap"):
            command, options = resolve(example.argv)
            unknown = [w for w in example.argv if w.startswith("-") and w.split("=")[0] not in options]
            assert not unknown, f"{example.text}: gridmap {command} has no option {unknown}"
            # the project holds its output
            if example.own_files or example.text.split("#")[0].strip() == DEMO:
                continue
            if tuple(example.argv) in HELP_ARGVS and example.exit_code == HELP_ARGVS[tuple(example.argv)]:
                continue  # an example of a --help too: test_examples_run_as_written runs it as written
            assert_as_documented(example, command, run(example, project), project)


def test_every_command_takes_quiet_and_the_tabular_ones_json():
    for path, command in commands():  # groups too: gridmap -q codes validate, gridmap codes -q validate
        name = " ".join(path)
        options = {opt for param in command.params for opt in param.opts}
        assert {"-q", "--quiet"} <= options, f"gridmap {name} has no --quiet"
        assert ("--json" in options) == (name in TABULAR), f"gridmap {name}: --json where output is a table"


@pytest.mark.slow
def test_python_m_gridmap_runs_an_example(demo_project):
    (example,) = [e for e in EXAMPLES["gridmap codes"] if e.argv[:2] == ["codes", "validate"]]
    result = subprocess.run([sys.executable, "-m", "gridmap", *example.argv], cwd=demo_project,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    grids = read_layer(demo_project / "demo" / "gridmap.gpkg", "grids")
    assert result.stdout.strip() == f"demo/gridmap.gpkg: {len(grids)} codes, all valid"
    usage = subprocess.run([sys.executable, "-m", "gridmap", "--help"], capture_output=True, text=True,
                           timeout=120)
    assert usage.returncode == 0 and "Usage: gridmap" in usage.stdout
