"""Nothing a user does loses data (issue 14, output safety).

- every command refuses an output that is one of its inputs (symlink, ``x/..``, another case), and
  ``--registry`` equal to ``--out``, before reading anything: exit 2, both paths named, input unchanged;
- SIGTERM and Ctrl-C sent to a real ``python -m gridmap`` at chosen points: exit 143/130, one line, no
  traceback, no temporary file, the old output byte-identical; folders are swapped whole;
- a read-only or full disk is a clear error naming the file, and cleaning up never hides it;
- CSV and Excel files are safe to open: no formula from data, numbers stay numbers, a bare CR is quoted.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

import gridmap
from gridmap.cli import _output, main
from gridmap.datasets import sample_path
from gridmap.errors import WriteError
from gridmap.io import _atomic, write_layer
from gridmap.io._atomic import atomic_folder, atomic_path, write_text
from gridmap.io.write import spreadsheet_safe, write_workbook
from gridmap.stats import write_stats

REPO = Path(gridmap.__file__).resolve().parent.parent
SAMPLE = sample_path() / "sample_city.gpkg"
STREETS = ("990102001", "990102002")


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) and its hash."""
    return {p.relative_to(folder).as_posix(): sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def invoke(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


# --- the small city every run here uses: two communities in two streets ---------------------------------

@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    """Communities 990102001001 and 990102002001 of the sample city with their units, in one GeoPackage."""
    folder = tmp_path_factory.mktemp("city")
    communities = gpd.read_file(SAMPLE, layer="communities")
    codes = [f"{street}001" for street in STREETS]
    path = folder / "city.gpkg"
    write_layer(communities[communities["code"].isin(codes)], path, "communities")
    units = gpd.read_file(SAMPLE, layer="units")
    write_layer(units[units["community_code"].isin(codes)], path, "units", mode="a")
    return path


@pytest.fixture(scope="module")
def grids(city, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("grids") / "grids.gpkg"
    result = invoke("build", "--communities", city, "--units", city, "--out", out)
    assert result.exit_code == 0, result.output
    return out


# --- never destroy an input -----------------------------------------------------------------------------

#: Each command that writes a file, as arguments given its input file and its output path.
FILE_COMMANDS = {
    "build": lambda source, out: ["build", "--communities", source, "--units", source, "--out", out],
    "stats": lambda source, out: ["stats", source, "--out", out],
    "check": lambda source, out: ["check", source, "--out", out],
    "cases assign": lambda source, out: ["cases", "assign", source, "--grids", source, "--out", out],
    "map": lambda source, out: ["map", source, "--out", out],
    "check --communities": lambda source, out: ["check", SAMPLE, "--communities", source, "--out", out],
    "stats --cases": lambda source, out: ["stats", SAMPLE, "--cases", source, "--out", out],
    "map --staff": lambda source, out: ["map", SAMPLE, "--staff", source, "--out", out],
    "microgrids": lambda source, out: ["microgrids", "--grids", source, "--buildings", SAMPLE, "--out", out],
    "microgrids --buildings": lambda source, out: ["microgrids", "--grids", SAMPLE, "--buildings", source,
                                                   "--out", out],
    "zones": lambda source, out: ["zones", "--sites", source, "--grids", SAMPLE, "--out", out],
    "zones --grids": lambda source, out: ["zones", "--sites", SAMPLE, "--grids", source, "--out", out],
    "circles": lambda source, out: ["circles", "--centres", source, "--out", out],
    "circles --roads": lambda source, out: ["circles", "--centres", SAMPLE, "--roads", source, "--out", out],
    "circles --units": lambda source, out: ["circles", "--centres", SAMPLE, "--units", source, "--out", out],
    "party": lambda source, out: ["party", "--branches", source, "--grids", SAMPLE, "--out", out],
    "party --buildings": lambda source, out: ["party", "--branches", SAMPLE, "--grids", SAMPLE, "--buildings",
                                              source, "--out", out],
    "centres": lambda source, out: ["centres", "--centres", source, "--grids", SAMPLE, "--out", out],
    "centres --units": lambda source, out: ["centres", "--centres", SAMPLE, "--grids", SAMPLE,
                                            "--units", source, "--out", out],
}


def _same_file_variants(source: Path) -> dict[str, Path]:
    """Other names of ``source``: a symbolic link, a path through x/.., the same name in capitals."""
    folder = source.parent
    (folder / "x").mkdir(exist_ok=True)
    link = folder / f"link{source.suffix}"
    link.symlink_to(source.name)
    return {"symlink": link, "dotdot": folder / "." / "x" / ".." / source.name,
            "case": folder / source.name.upper().replace(source.suffix.upper(), source.suffix)}


def _disk_ignores_case(monkeypatch, ignores: bool = True) -> None:
    """Simulate a disk that ignores case (Windows, macOS) or one that does not, whatever the test disk is."""
    monkeypatch.setattr(_atomic, "ignores_case", lambda folder: ignores)
    monkeypatch.setattr(_output, "ignores_case", lambda folder: ignores)


@pytest.mark.parametrize("variant", ["symlink", "dotdot", "case"])
@pytest.mark.parametrize("command", list(FILE_COMMANDS))
def test_an_output_that_is_an_input_is_refused_before_reading(tmp_path, monkeypatch, command, variant):
    if variant == "case":
        _disk_ignores_case(monkeypatch)
    source = tmp_path / "input.gpkg"
    source.write_bytes(b"not even a GeoPackage: the guard runs before anything is read")
    before = sha(source)
    out = _same_file_variants(source)[variant]
    result = invoke(*FILE_COMMANDS[command](source, out))
    assert result.exit_code == 2, result.output
    assert f"--out {out} is the same file" in result.output and str(source) in result.output
    assert "Traceback" not in result.output and "not a GeoPackage" not in result.output
    assert sha(source) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.gpkg", "link.gpkg", "x"]


def test_the_case_variant_names_disks_that_ignore_case(tmp_path, monkeypatch):
    source = tmp_path / "city.gpkg"
    source.write_bytes(b"x")
    _disk_ignores_case(monkeypatch)
    assert "same file" not in invoke("map", source, "--out", tmp_path / "CITY.html").output
    result = invoke("stats", source, "--out", tmp_path / "City.gpkg")
    assert result.exit_code == 2
    assert "the same file on a disk that ignores case (Windows, macOS)" in result.output


def test_a_different_case_name_is_another_file_on_a_disk_that_keeps_case(tmp_path, monkeypatch, city):
    _disk_ignores_case(monkeypatch, ignores=False)
    for folder in ("rv", "x"):
        (tmp_path / folder).mkdir()
    out = tmp_path / "x" / ".." / "rv" / "CITY.gpkg"
    source = tmp_path / "rv" / "city.gpkg"
    source.write_bytes(Path(city).read_bytes())
    result = invoke("build", "--communities", source, "--units", source, "--out", out)
    assert "same file" not in result.output and result.exit_code == 0, result.output
    assert source.read_bytes() == Path(city).read_bytes()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux disks (ext4, tmpfs) keep case")
def test_the_probe_finds_a_linux_disk_keeps_case(tmp_path):
    assert not _atomic.ignores_case(tmp_path) and not _atomic.ignores_case(tmp_path / "not" / "yet")
    assert _atomic.same_file(tmp_path / "city.gpkg", tmp_path / "CITY.gpkg") is None
    assert sorted(tmp_path.iterdir()) == []  # the probe file is gone


@pytest.mark.parametrize("variant", ["same", "symlink", "dotdot"])
def test_registry_equal_to_out_is_refused_and_the_registry_kept(tmp_path, city, variant):
    registry = tmp_path / "codes.gpkg"
    registry.write_bytes(b"a registry's bytes")
    out = {"same": registry, "symlink": tmp_path / "link.gpkg",
           "dotdot": tmp_path / "sub" / ".." / "codes.gpkg"}[variant]
    (tmp_path / "sub").mkdir()
    if variant == "symlink":
        out.symlink_to(registry)
    result = invoke("build", "--communities", city, "--units", city, "--registry", registry, "--out", out)
    assert result.exit_code == 2
    assert f"--out {out} is the same file as --registry {registry}" in result.output
    assert "Traceback" not in result.output
    assert registry.read_bytes() == b"a registry's bytes"


@pytest.mark.parametrize("variant", ["same", "symlink", "dotdot", "case"])
def test_report_refuses_a_folder_holding_its_input(tmp_path, monkeypatch, grids, variant):
    if variant == "case":
        _disk_ignores_case(monkeypatch)
    folder = tmp_path / "data"
    folder.mkdir()
    source = folder / "grids.gpkg"
    source.write_bytes(grids.read_bytes())
    before = snapshot(folder)
    (tmp_path / "x").mkdir()
    out = {"same": folder, "symlink": tmp_path / "link", "dotdot": tmp_path / "x" / ".." / "data",
           "case": tmp_path / "DATA"}[variant]
    if variant == "symlink":
        out.symlink_to(folder)
    result = invoke("report", source, "--out", out)
    assert result.exit_code == 2, result.output
    assert f"--out folder {out} holds FILE {source}" in result.output and "Traceback" not in result.output
    assert snapshot(folder) == before


def test_batch_maps_and_check_existing_grids_refuse_their_input(tmp_path, grids, capsys):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import batch_maps
        import check_existing_grids
    finally:
        sys.path.remove(str(REPO / "scripts"))
    source = tmp_path / "grids.gpkg"
    source.write_bytes(grids.read_bytes())
    before = sha(source)
    assert batch_maps.main(["--gpkg", str(source), "--out", str(tmp_path / "x" / "..")]) == 2
    assert f"--out folder {tmp_path / 'x' / '..'} holds --gpkg {source}" in capsys.readouterr().err
    link = tmp_path / "link.gpkg"
    link.symlink_to(source)
    assert check_existing_grids.main([str(source), "--communities", str(SAMPLE), "--out", str(link)]) == 2
    assert f"--out {link} is the same file as GRIDS_FILE {source}" in capsys.readouterr().err
    assert sha(source) == before


def test_library_write_refuses_nothing_it_should_not(tmp_path):
    """The guard compares paths only: a different file of a similar name is written."""
    source = tmp_path / "city.gpkg"
    source.write_bytes(b"x")
    result = invoke("stats", source, "--out", tmp_path / "city_stats.gpkg")
    assert "same file" not in result.output


# --- SIGTERM and Ctrl-C on a real process ---------------------------------------------------------------

#: Runs ``python -m gridmap`` after patching one step to signal the process (KILL_AT says which step).
DRIVER = textwrap.dedent('''
    import os, runpy, signal, sys, time
    import gridmap.cli.build, gridmap.io.write

    point, signum = os.environ["KILL_AT"], getattr(signal, os.environ.get("KILL_WITH", "SIGTERM"))

    def stop():
        if os.environ.get("KILL_READY"):  # signalled from outside: say so, then wait
            open(os.environ["KILL_READY"], "w").close()
            time.sleep(120)
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler runs here

    def after(name, real, when=lambda *a, **k: True):
        def patched(*args, **kwargs):
            result = real(*args, **kwargs)
            if point == name and when(*args, **kwargs):
                stop()
            return result
        return patched

    gridmap.cli.build.read_inputs = after("read", gridmap.cli.build.read_inputs)
    gpkg = gridmap.io.write._WRITERS["GPKG"]
    gridmap.io.write._WRITERS["GPKG"] = after("layer", gpkg, lambda f, t, layer, **k: layer == "units")
    real_replace = os.replace
    def replace(source, target):
        if point == "replace" and os.path.basename(target) == os.environ["KILL_TARGET"]:
            stop()
        return real_replace(source, target)
    os.replace = replace
    if point == "map":  # only then: a build never draws a map, and importing the maps (folium) costs a second
        import gridmap.maps
        gridmap.maps.save_html = after("map", gridmap.maps.save_html)
    sys.argv = ["gridmap", *sys.argv[1:]]
    runpy.run_module("gridmap", run_name="__main__", alter_sys=True)
''')


def run_killed(tmp_path: Path, args: list, point: str, *, target: str = "", signum: str = "SIGTERM",
               external: bool = False) -> subprocess.CompletedProcess:
    driver = tmp_path.parent / f"{tmp_path.name}-driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO), KILL_AT=point, KILL_TARGET=target, KILL_WITH=signum)
    ready = tmp_path.parent / f"{tmp_path.name}-ready"
    if external:
        env["KILL_READY"] = str(ready)
    process = subprocess.Popen([sys.executable, str(driver), *map(str, args)], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if external:
        deadline = time.monotonic() + 300
        while not ready.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the hook was never reached"
            time.sleep(0.05)
        process.send_signal(getattr(signal, signum))
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize(("point", "external"), [("read", False), ("layer", False), ("replace", False),
                                                 ("layer", True)])
@pytest.mark.slow
def test_sigterm_during_build_leaves_the_old_output_and_no_temporary_file(tmp_path, city, point, external):
    work = tmp_path / "work"
    work.mkdir()
    out = work / "grids.gpkg"
    out.write_bytes(b"last month's grids")
    before = snapshot(work)
    result = run_killed(work, ["build", "--communities", city, "--units", city, "--out", out], point,
                        target="grids.gpkg", external=external)
    assert result.returncode == 143, result.stderr
    assert "stopped by SIGTERM" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert snapshot(work) == before, "no temporary file (nor -journal) left, the old output unchanged"


@pytest.mark.slow
def test_ctrl_c_during_build_exits_130(tmp_path, city):
    work = tmp_path / "work"
    work.mkdir()
    result = run_killed(work, ["build", "--communities", city, "--units", city, "--out", "grids.gpkg"],
                        "layer", signum="SIGINT", external=True)
    assert result.returncode == 130, result.stderr
    assert "stopped by Ctrl-C" in result.stderr and "Traceback" not in result.stderr
    assert list(work.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("external", [False, True])
def test_sigterm_during_report_keeps_the_whole_old_folder(tmp_path, grids, external):
    work = tmp_path / "work"
    work.mkdir()
    assert invoke("report", grids, "--out", work / "report", "--street", STREETS[0]).exit_code == 0
    before = snapshot(work)
    result = run_killed(work, ["report", grids, "--out", "report"], "map", external=external)
    assert result.returncode == 143, result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(work) == before and [p.name for p in work.iterdir()] == ["report"]


def test_a_report_rerun_replaces_the_folder(tmp_path, grids):
    out = tmp_path / "report"
    assert invoke("report", grids, "--out", out).exit_code == 0
    assert sorted(p.name for p in (out / "maps").iterdir()) == [f"{street}.html" for street in STREETS]
    assert invoke("report", grids, "--out", out, "--street", STREETS[1]).exit_code == 0
    assert sorted(p.name for p in (out / "maps").iterdir()) == [f"{STREETS[1]}.html"], "old street gone"
    assert [p.name for p in tmp_path.iterdir()] == ["report"], "no staging or old folder left"
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    result = invoke("report", grids, "--out", out)
    assert result.exit_code == 2 and "notes.txt, which gridmap report does not write" in result.output
    assert snapshot(out) == before


def _caught_signals(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return int(line.split()[1], 16)
    return 0


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc to see the handler")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_start_up_prints_one_line(tmp_path, signum):
    process = subprocess.Popen([sys.executable, "-m", "gridmap", "--help"], cwd=tmp_path,
                               env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _caught_signals(process.pid) & (1 << (signal.SIGTERM - 1)):  # the start-up handler is in
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.002)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[signum], stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stderr.startswith("gridmap: stopped by"), stderr


# --- read-only or full disks; cleaning up never hides the real error -------------------------------------

@pytest.mark.parametrize(("code", "says"), [(errno.EROFS, "the folder is on a read-only disk"),
                                            (errno.ENOSPC, "the disk is full"),
                                            (errno.EACCES, "permission denied")])
def test_build_on_a_read_only_or_full_disk_says_so(tmp_path, city, monkeypatch, code, says):
    out = tmp_path / "grids.gpkg"
    out.write_bytes(b"old")

    def refuse(source, target):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "replace", refuse)
    result = invoke("build", "--communities", city, "--units", city, "--out", out)
    monkeypatch.undo()
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{out}: cannot replace " in result.output and f": {says}. Fix:" in result.output
    assert out.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["grids.gpkg"]


@pytest.mark.parametrize("writer", ["write_layer", "write_workbook", "write_text", "write_stats",
                                    "atomic_folder"])
def test_every_writer_names_a_read_only_disk(tmp_path, monkeypatch, writer):
    frame = pd.DataFrame({"name": ["翠竹苑"], "households": [3]})
    target = tmp_path / ("out" if writer == "atomic_folder" else "out.xlsx")

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "replace", read_only)
    monkeypatch.setattr(os, "rename", read_only)
    write = {"write_layer": lambda: write_layer(frame, target),
             "write_workbook": lambda: write_workbook({"a": frame}, target),
             "write_text": lambda: write_text(target, "x"),
             "write_stats": lambda: write_stats({"community": frame.assign(code="1")}, target)}.get(writer)
    if writer == "atomic_folder":
        with pytest.raises(WriteError, match=r"out: cannot replace the folder: the folder is on a read-only"):
            with atomic_folder(target) as staging:
                (staging / "a").write_text("x")
    else:
        with pytest.raises(WriteError, match=r"out\.xlsx: cannot replace .*the folder is on a read-only"):
            write()
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_cleanup_failing_does_not_hide_the_real_error(tmp_path, monkeypatch):
    real_unlink = Path.unlink

    def stuck(self, missing_ok=False):
        if ".tmp" in self.name:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", stuck)
    with pytest.raises(ZeroDivisionError):
        with atomic_path(tmp_path / "a.gpkg") as temporary:
            temporary.write_bytes(b"half")
            1 / 0  # noqa: B018


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_interrupts_remove_the_temporary_file_and_folder(tmp_path, interrupt):
    with pytest.raises(interrupt):
        with atomic_path(tmp_path / "a.gpkg") as temporary:
            temporary.write_bytes(b"half")
            Path(f"{temporary}-journal").write_bytes(b"j")
            raise interrupt()
    with pytest.raises(interrupt):
        with atomic_folder(tmp_path / "folder") as staging:
            (staging / "page.html").write_text("half")
            raise interrupt()
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_keeps_its_permissions(tmp_path):
    target = tmp_path / "page.html"
    target.write_text("old")
    target.chmod(0o640)
    write_text(target, "new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o640


# --- spreadsheet safety ---------------------------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR",
           "a\rb", "翠竹苑", "a,b\"c"]


def hostile_frame() -> gpd.GeoDataFrame:
    n = len(HOSTILE)
    return gpd.GeoDataFrame({"name": HOSTILE, "leader_name": ["=1+1"] * n,
                             "households": [-5, *range(n - 1)], "density": [-0.5] * n},
                            geometry=[Point(108.3, 22.8)] * n, crs=4326)


def expected(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def test_xlsx_from_data_holds_no_formula_and_keeps_numbers(tmp_path):
    path = write_layer(hostile_frame(), tmp_path / "units.xlsx")
    sheet = openpyxl.load_workbook(path)["units"]
    rows = list(sheet.iter_rows(min_row=2))
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    # XML readers turn a carriage return into a line feed: the text is kept, not the line end
    assert [row[0].value for row in rows] == [expected(text).replace("\r", "\n") for text in HOSTILE]
    assert {row[1].value for row in rows} == {"'=1+1"}
    assert rows[0][2].value == -5 and rows[0][2].data_type == "n" and rows[0][3].value == -0.5


def test_csv_neutralises_formulas_and_quotes_a_bare_carriage_return(tmp_path):
    path = write_layer(hostile_frame(), tmp_path / "units.csv")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["name"] for row in rows] == [expected(text) for text in HOSTILE], "one row per record"
    assert rows[0]["households"] == "-5" and rows[0]["density"] == "-0.5"
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert len(back) == len(HOSTILE) and back["households"].dtype.kind == "i"


def test_stats_workbook_holds_no_formula(tmp_path):
    table = pd.DataFrame({"code": ["990102001001"], "name": ['=HYPERLINK("http://x")'],
                          "leader_name": ["@cmd"], "cases": [-1]})
    path = write_stats({"community": table}, tmp_path / "stats.xlsx")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    values = [cell.value for cell in sheet[2]]
    assert values == ["990102001001", "'=HYPERLINK(\"http://x\")", "'@cmd", -1]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_check_findings_in_excel_hold_no_formula(tmp_path):
    frame = pd.DataFrame({"record": ["=cmd|'/c calc'!A1"], "count": [-3]})
    path = write_workbook({"findings": frame}, tmp_path / "findings.xlsx")
    cell = openpyxl.load_workbook(path)["findings"]["A2"]
    assert cell.value == "'=cmd|'/c calc'!A1" and cell.data_type == "s"


def test_a_nul_in_an_excel_value_names_the_cell(tmp_path):
    frame = pd.DataFrame({"code": ["1", "2"], "name": ["翠竹苑", "金\x00湖"]})
    with pytest.raises(WriteError, match=r"units\.xlsx: cell B3 \(sheet units, row 3, column 'name'\) holds "
                                         r"the control character U\+0000.*Fix: remove the character"):
        write_layer(frame, tmp_path / "units.xlsx")
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                        max_size=12), min_size=1, max_size=5))
def test_every_text_survives_a_csv_round_trip_neutralised(tmp_path_factory, texts):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    write_layer(pd.DataFrame({"text": texts}), path)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        back = [row["text"] for row in csv.DictReader(handle)]
    assert back == [expected(text) for text in texts]


def test_spreadsheet_safe_leaves_the_table_and_numbers_alone():
    table = pd.DataFrame({"name": ["=1"], "n": [-1], "kind": pd.Categorical(["@x"]),
                          "text": pd.array(["-a"], dtype="string"), "when": pd.to_datetime(["2025-01-01"])})
    safe = spreadsheet_safe(table)
    assert table["name"].tolist() == ["=1"] and safe["name"].tolist() == ["'=1"]
    assert safe["kind"].tolist() == ["'@x"] and safe["text"].tolist() == ["'-a"]
    assert safe["n"].dtype == table["n"].dtype and safe["when"].dtype == table["when"].dtype


def test_ctrl_c_while_drawing_a_png_leaves_the_old_map_only(tmp_path, grids, monkeypatch):
    import matplotlib.figure

    from gridmap.maps import static_map

    target = tmp_path / "map.png"
    target.write_bytes(b"last month's map")
    real = matplotlib.figure.Figure.savefig

    def interrupted(self, name, *args, **kwargs):
        real(self, name, *args, **kwargs)  # the temporary PNG is on disk when Ctrl-C comes
        assert Path(name).exists() and Path(name).parent == tmp_path
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        static_map(gridmap.read_layer(grids, "grids"), target)
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"] and target.read_bytes() == b"last month's map"


def test_write_layer_refuses_its_source(tmp_path, monkeypatch):
    _disk_ignores_case(monkeypatch)  # UNITS.gpkg is units.gpkg there
    source = tmp_path / "units.gpkg"
    write_layer(hostile_frame(), source)
    before = sha(source)
    link = tmp_path / "link.gpkg"
    link.symlink_to(source)
    (tmp_path / "x").mkdir()
    for out in (link, tmp_path / "x" / ".." / "units.gpkg", tmp_path / "UNITS.gpkg"):
        with pytest.raises(WriteError, match=rf"is the same file.* as the source {source}"):
            write_layer(hostile_frame(), out, source=[tmp_path / "other.csv", source])
    assert sha(source) == before
    assert write_layer(hostile_frame(), tmp_path / "copy.gpkg", source=source).exists()


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_scripts_stop_on_a_signal_with_one_line(tmp_path, signum, code):
    # scripts/batch_maps.py and check_existing_grids.py run their main through run_script
    program = ("import os, signal, sys, time\n"
               "from gridmap._interrupt import run_script\n"
               "def main():\n"
               f"    os.kill(os.getpid(), signal.{signum})\n"
               "    time.sleep(5)\n"
               "    return 0\n"
               "sys.exit(run_script(main, prog='batch_maps'))\n")
    result = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith("batch_maps: stopped by") and "Traceback" not in result.stderr
    for script in ("batch_maps", "check_existing_grids"):
        source = (REPO / "scripts" / f"{script}.py").read_text(encoding="utf-8")
        assert f'sys.exit(run_script(main, prog="{script}"))' in source
