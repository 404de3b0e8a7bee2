"""The bad-input corpus (issue 9): every malformed input gives a clear GridmapError or a sound result.

The cases live in ``tests/bad_inputs/manifest.json`` (written by ``tests/bad_inputs/make_corpus.py``,
listed in ``tests/bad_inputs/README.md``). For each case this module makes the call the manifest names and
checks:

* an expected error is that exact GridmapError subclass (not a bare shapely/pandas/pyogrio exception), and its
  message names the file, the record and the fix words, with no traceback text in it;
* an input that should read, reads, with the rows, values, CRS and warnings the manifest gives;
* a report case (default, non-strict mode) reports the named checks;
* an output case leaves the previous file byte-identical and no partial or temporary file behind;
* no case hangs: each runs under a 20 s ``signal.alarm`` guard, 120 s for the whole demo (``faulthandler``
  ends a hang in C code).

Cases with a ``gap`` are known shortcomings, ``xfail(strict=True)``: they fail loudly once fixed.
"""

from __future__ import annotations

import faulthandler
import importlib
import importlib.util
import json
import os
import shutil
import signal
import tempfile
import threading
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

import gridmap
from gridmap.errors import GridmapError, GridmapWarning
from gridmap.findings import Report

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
TIMEOUT_S = 20
# A case that runs the whole demo (validate, build, codes, cases, maps) takes 5 s on a quiet machine and
# three times that on a busy one: its limit still catches a hang, without failing on load.
WHOLE_DEMO_TIMEOUT_S = 120
OPERATIONS = {case["id"]: case["op"] for case in MANIFEST}
HAS_CASES = importlib.util.find_spec("gridmap.cases") is not None


# --- hang guard ----------------------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` in the library swallows it."""


@pytest.fixture(autouse=True)
def hang_guard(request):
    """Fail a case that runs longer than its limit instead of leaving the suite stuck.

    ``signal.alarm`` interrupts Python code; a hang inside C code (GDAL, GEOS) never returns to the
    interpreter, so ``faulthandler`` dumps the stacks and ends the process at twice the limit.
    """
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    callspec = getattr(request.node, "callspec", None)
    whole_demo = callspec is not None and OPERATIONS.get(callspec.id) == "cli_demo"
    limit = WHOLE_DEMO_TIMEOUT_S if whole_demo else TIMEOUT_S

    def on_alarm(signum, frame):
        raise Hang(f"no answer within {limit} s: a hang")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    faulthandler.dump_traceback_later(2 * limit, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- the calls a manifest entry names ------------------------------------------------------------------

def _input(entry: dict) -> Path:
    return CORPUS / entry["file"]


def _args(entry: dict, *drop: str) -> dict:
    return {k: v for k, v in entry.get("args", {}).items() if k not in drop}


def op_read_layer(entry, tmp_path, monkeypatch):
    return gridmap.read_layer(_input(entry), **_args(entry))


def op_read_table(entry, tmp_path, monkeypatch):
    return gridmap.read_table(_input(entry), **_args(entry))


def op_validate_admin(entry, tmp_path, monkeypatch):
    path = _input(entry)
    args = _args(entry, "parents")
    if "parents" in entry.get("args", {}):
        args["parents"] = gridmap.read_layer(CORPUS / entry["args"]["parents"])
    return gridmap.validate_admin(gridmap.read_layer(path), path=path, **args)


def op_validate_units(entry, tmp_path, monkeypatch):
    path = _input(entry)
    named = {"path": path} if entry.get("args", {}).get("pass_path", True) else {}
    return gridmap.validate_units(gridmap.read_layer(path), **named, **_args(entry, "pass_path"))


def op_build_grids(entry, tmp_path, monkeypatch):
    args = dict(entry["args"])
    layers = {name: args.pop(name, entry["file"]) for name in ("communities", "units")}
    frames = {name: gridmap.read_layer(CORPUS / file) for name, file in layers.items()}
    if "kind" not in frames["units"].columns:
        frames["units"] = gridmap.validate_units(frames["units"])[0]
    return gridmap.build_grids(frames["communities"], frames["units"], **args)


def op_check(entry, tmp_path, monkeypatch):
    grids = gridmap.read_layer(_input(entry))
    communities = gridmap.read_layer(CORPUS / entry["args"]["communities"])
    return gridmap.check(grids, communities)


def op_read_cases(entry, tmp_path, monkeypatch):
    if not HAS_CASES:
        pytest.skip("gridmap.cases is not there yet")
    from gridmap.cases import read_cases

    return read_cases(_input(entry), **_args(entry))


def op_check_code(entry, tmp_path, monkeypatch):
    from gridmap.codes import check_code

    return check_code(entry["args"]["code"], record=entry["args"]["record"], path=entry["file"])


OPS = {name.removeprefix("op_"): function for name, function in globals().items() if name.startswith("op_")}


# --- output cases: the action, the files that must not change, the folder that must stay as it was -----

def _copy_input(entry: dict, folder: Path) -> Path:
    """Copy the case's file (a shapefile with its sidecars) into ``folder``; return the copy."""
    source = _input(entry)
    for part in sorted(CORPUS.glob(f"{source.stem}.*")):
        shutil.copy2(part, folder / part.name)
    return folder / source.name


def output_write_layer(entry, tmp_path, monkeypatch):
    target = _copy_input(entry, tmp_path)
    frame = gridmap.read_layer(target)
    if entry.get("args", {}).get("column") == "complex":
        frame = frame.assign(tags=np.full(len(frame), 1j))
    return (lambda: gridmap.write_layer(frame, target)), tmp_path, lambda: None


def output_cli_demo(entry, tmp_path, monkeypatch):
    from gridmap.cli import main

    args = entry.get("args", {})
    cleanup = lambda: None  # noqa: E731
    if entry["file"]:
        out = _copy_input(entry, tmp_path)
    elif args.get("read_only"):
        parent = tmp_path / "read_only"
        parent.mkdir()
        out = parent / "demo"
        if os.geteuid() == 0:  # root writes through permissions: simulate what the OS says to others
            def refuse(*a, **k):
                raise PermissionError(13, "Permission denied", str(parent))

            monkeypatch.setattr(tempfile, "mkdtemp", refuse)
        else:
            parent.chmod(0o555)
            cleanup = lambda: parent.chmod(0o755)  # noqa: E731
    else:
        out = tmp_path / "demo"
        out.mkdir()
        shutil.copy2(CORPUS / "previous.gpkg", out / "gridmap.gpkg")
        (out / args["blocked"]).mkdir()

    def action():
        result = CliRunner().invoke(main, ["demo", "--out", str(out)])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # escaped the command: the traceback a user would see
        return result

    return action, tmp_path, cleanup


def cli_group():
    """``gridmap`` with its registered commands and those whose module exists but is not registered yet."""
    from gridmap.cli import _GridmapGroup, main

    group = _GridmapGroup(name="gridmap", commands=dict(main.commands), params=main.params,
                          callback=main.callback)
    for name in ("codes", "stats", "cases"):
        if name not in group.commands and importlib.util.find_spec(f"gridmap.cli.{name}") is not None:
            command = getattr(importlib.import_module(f"gridmap.cli.{name}"), name, None)
            if command is not None:
                group.add_command(command)
    return group


def output_cli(entry, tmp_path, monkeypatch):
    group = cli_group()
    args = entry["args"]
    if args["argv"][0] not in group.commands:
        pytest.skip(f"gridmap {args['argv'][0]} is not there yet")
    out = tmp_path / args.get("out", "out")
    if "previous" in args:
        shutil.copy2(CORPUS / args["previous"], out)
    if args.get("refuse_replace"):  # what Windows says when QGIS or Excel holds the file open
        replace = os.replace

        def refuse(source, target, **kwargs):
            if Path(target) == out:
                raise PermissionError(13, "Permission denied", str(target))
            return replace(source, target, **kwargs)

        monkeypatch.setattr(os, "replace", refuse)
    argv = [str(CORPUS / a[1:]) if a.startswith("@") else a.format(out=out, tmp=tmp_path)
            for a in args["argv"]]

    def action():
        result = CliRunner().invoke(group, argv)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return action, tmp_path, lambda: None


OUTPUTS = {"write_layer": output_write_layer, "cli_demo": output_cli_demo, "cli": output_cli}


# --- checks ----------------------------------------------------------------------------------------------

def _marks(entry: dict) -> list:
    # a blocked output folder fails only after the whole demo ran: seconds
    marks = [pytest.mark.slow] if entry["op"] == "cli_demo" and "blocked" in entry.get("args", {}) else []
    if entry.get("gap"):
        return [*marks, pytest.mark.xfail(strict=True, reason=entry["gap"])]
    return marks


def _params(*expects: str) -> list:
    return [pytest.param(entry, id=entry["id"], marks=_marks(entry))
            for entry in MANIFEST if entry["expect"] in expects]


def _caught(call):
    """Run ``call``; return (result, exception, GridmapWarnings given)."""
    with warnings.catch_warnings(record=True) as given:
        warnings.simplefilter("always")
        try:
            result, error = call(), None
        except Exception as exc:  # any exception: a bare one is what these tests look for
            result, error = None, exc
    return result, error, [w for w in given if issubclass(w.category, GridmapWarning)]


def assert_clear_error(entry: dict, error: BaseException | None, *, name: str | None = None) -> None:
    """The error is the expected GridmapError subclass and names the file, the record and the fix."""
    assert error is not None, f"{entry['id']}: no error raised; expected {entry['error']}"
    assert isinstance(error, GridmapError), (
        f"bare {type(error).__module__}.{type(error).__name__} escaped: {error}")
    assert type(error).__name__ == entry["error"], f"{type(error).__name__}, not {entry['error']}: {error}"
    message = str(error)
    assert "Traceback" not in message
    if entry.get("file_in_message", True):
        assert (name or Path(entry["file"]).name) in message, f"file not named: {message}"
    for word in entry["words"]:
        assert word.lower() in message.lower(), f"{word!r} not in: {message}"
    if entry.get("record"):
        assert entry["record"] in message, f"record {entry['record']!r} not in: {message}"
    assert error.fix, f"no fix in: {message}"


def _report_of(result) -> Report:
    if isinstance(result, Report):
        return result
    if isinstance(result, tuple):
        return next(part for part in result if isinstance(part, Report))
    return result.report


@pytest.mark.parametrize("entry", _params("error"))
def test_error(entry, tmp_path, monkeypatch):
    _, error, _ = _caught(lambda: OPS[entry["op"]](entry, tmp_path, monkeypatch))
    assert_clear_error(entry, error)


@pytest.mark.parametrize("entry", _params("reads"))
def test_reads(entry, tmp_path, monkeypatch):
    frame, error, given = _caught(lambda: OPS[entry["op"]](entry, tmp_path, monkeypatch))
    assert error is None, f"{type(error).__name__}: {error}"
    assert isinstance(frame, gpd.GeoDataFrame)
    assert len(frame) == entry["rows"]
    if "epsg" in entry:
        assert frame.crs.to_epsg() == entry["epsg"]
    for column, values in entry.get("values", {}).items():
        assert [None if v is None else v for v in frame[column].tolist()] == values
    assert frame.geometry.notna().all() and shapely.is_valid(frame.geometry.to_numpy()).all()
    messages = [str(w.message) for w in given]
    if entry.get("warns"):
        assert any(entry["warns"] in m for m in messages), messages
        assert any(Path(entry["file"]).name in m for m in messages), "the warning names the file"
    else:
        assert not messages


@pytest.mark.parametrize("entry", _params("report"))
def test_report(entry, tmp_path, monkeypatch):
    result, error, given = _caught(lambda: OPS[entry["op"]](entry, tmp_path, monkeypatch))
    assert error is None, f"{type(error).__name__}: {error}"
    report = _report_of(result)
    findings = report.to_frame()
    for check in entry["checks"]:
        assert check in set(findings["check"]), f"{check} not reported: {report.summary()}"
        records = findings.loc[findings["check"] == check, "record"]
        assert records.notna().all(), "each finding names its record"
    messages = [str(w.message) for w in given]
    if entry.get("warns"):
        assert any(entry["warns"] in m for m in messages), messages
    elif not entry.get("warnings_ok"):
        assert not messages
    if "repaired_row" in entry:
        frame = result[0]
        geom = frame.geometry.iloc[entry["repaired_row"]]
        assert geom.is_valid and geom.area > 0
        before = gridmap.read_layer(_input(entry)).geometry.iloc[entry["repaired_row"]]
        expected = shapely.normalize(shapely.make_valid(before))
        assert shapely.equals_exact(shapely.normalize(geom), expected, 1e-9)


def assert_cli_refused(entry: dict, result, error: BaseException | None) -> None:
    """The command exits with 2 and one clear line naming the output and the fix, no traceback."""
    assert error is None, f"bare {type(error).__module__}.{type(error).__name__} escaped: {error}"
    assert result is not None and result.exit_code == 2, f"exit code {result.exit_code}: {result.output}"
    assert "Traceback" not in result.output
    name = Path(entry["file"]).name if entry["file"] else "demo"
    if entry.get("file_in_message", True):
        assert name in result.output, f"{name} not named: {result.output}"
    for word in entry["words"]:
        assert word.lower() in result.output.lower(), f"{word!r} not in: {result.output}"


@pytest.mark.parametrize("entry", _params("unchanged"))
def test_output_unchanged(entry, tmp_path, monkeypatch):
    action, folder, cleanup = OUTPUTS[entry["op"]](entry, tmp_path, monkeypatch)
    before = {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    folders = sorted(p for p in folder.rglob("*") if p.is_dir())
    try:
        result, error, _ = _caught(action)
    finally:
        cleanup()
    after = {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    assert sorted(after) == sorted(before), "files appeared or vanished (partial or temporary output)"
    changed = [p.name for p in before if after[p] != before[p]]
    assert not changed, f"previous output changed: {changed}"
    assert sorted(p for p in folder.rglob("*") if p.is_dir()) == folders
    if entry["op"].startswith("cli"):
        assert_cli_refused(entry, result, error)
    else:
        assert_clear_error(entry, error)


# --- the corpus itself -----------------------------------------------------------------------------------

def test_corpus_is_current_small_and_documented(tmp_path):
    """The committed files are what make_corpus.py writes (deterministic), < 1 MB, one README line each."""
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    make_corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_corpus)
    manifest = make_corpus.generate(tmp_path)
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in make_corpus.corpus_files(tmp_path)}
    committed = {p.relative_to(CORPUS): p.read_bytes() for p in make_corpus.corpus_files(CORPUS)}
    assert fresh == committed, "run `python tests/bad_inputs/make_corpus.py` and commit the result"
    assert manifest == MANIFEST
    assert sum(len(data) for data in committed.values()) < 1_000_000
    inputs = {e["file"] for e in MANIFEST if e["file"]} - {"does_not_exist.geojson", "grids.csv"}
    assert len(inputs) >= 40 and all((CORPUS / name).exists() for name in inputs)
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert all(f"`{e['id']}`" in readme for e in MANIFEST)
    assert len({e["id"] for e in MANIFEST}) == len(MANIFEST)
    assert {e["op"] for e in MANIFEST} <= set(OPS) | set(OUTPUTS)


def test_hang_guard_turns_a_hang_into_a_failure(monkeypatch):
    """The guard's alarm interrupts a loop that would never end (checked with a 1 s alarm)."""
    if not hasattr(signal, "SIGALRM"):
        pytest.skip("no SIGALRM on this platform")

    def on_alarm(signum, frame):
        raise Hang("hang")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.alarm(1)
        with pytest.raises(Hang):
            while True:
                pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    signal.alarm(TIMEOUT_S)  # give the autouse guard its alarm back
