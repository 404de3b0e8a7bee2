import json
import os
import tempfile
from pathlib import Path

import click
import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from gridmap import CodeError, WriteError, __version__
from gridmap.cli import EXIT_BAD_INPUT, _GridmapGroup, main
from gridmap.cli._output import Steps, echo_wrote, show_progress, staged_folder


def test_version_and_help_show_examples():
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.strip().endswith(__version__)
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "gridmap demo --out demo" in result.output


def _group_with_failing_command():
    @click.group(cls=_GridmapGroup)
    @click.option("--debug", is_flag=True)
    def group(debug):
        pass

    @group.command()
    def broken():
        raise CodeError("code has 11 digits", path="units.csv", record="row 4", fix="give 12 digits")

    return group


def test_user_error_exits_2_with_message_and_no_traceback():
    result = CliRunner().invoke(_group_with_failing_command(), ["broken"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "units.csv, row 4: code has 11 digits. Fix: give 12 digits." in result.output
    assert "Traceback" not in result.output


def test_debug_shows_the_exception():
    result = CliRunner().invoke(_group_with_failing_command(), ["--debug", "broken"])
    assert isinstance(result.exception, CodeError)


def test_staged_folder_writes_whole_or_nothing(tmp_path):
    out = tmp_path / "out"
    with staged_folder(out) as staging:
        (staging / "a.txt").write_text("a")
        (staging / "sub").mkdir()
        (staging / "sub" / "b.txt").write_text("b")
    assert (out / "a.txt").read_text() == "a" and (out / "sub" / "b.txt").read_text() == "b"

    with pytest.raises(RuntimeError):
        with staged_folder(out) as staging:
            (staging / "a.txt").write_text("changed")
            (staging / "new.txt").write_text("new")
            raise RuntimeError("failed half-way")
    assert (out / "a.txt").read_text() == "a"
    assert not (out / "new.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "no staging folder left behind"


def test_staged_folder_replaces_the_folder_whole(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")
    (out / "b.txt").mkdir()  # a folder where the new run writes a file: replaced with the rest
    (out / "gone.txt").write_text("written by the last run only")
    with staged_folder(out) as staging:
        (staging / "a.txt").write_text("new")
        (staging / "b.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]
    assert (out / "a.txt").read_text() == "new" and (out / "b.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "no staging or old folder left behind"


def test_staged_folder_refuses_files_the_command_does_not_write_before_the_body(tmp_path):
    out = tmp_path / "out"
    (out / "maps").mkdir(parents=True)
    (out / "maps" / "1.html").write_text("old map")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(WriteError, match=r"out: the folder holds notes\.txt, which gridmap report does not "
                                         r"write.*Fix: choose a new or empty folder"):
        with staged_folder(out, owned=["maps/*.html", "summary.md"], command="gridmap report"):
            raise AssertionError("the body must not run")
    assert (out / "notes.txt").read_text() == "mine" and (out / "maps" / "1.html").read_text() == "old map"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_staged_folder_keeps_the_old_folder_when_the_swap_fails(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old a")
    real_rename = os.rename

    def failing_rename(source, target):
        if Path(target) == out and str(source).endswith(".tmp"):  # the new folder moving in
            raise OSError(28, "No space left on device")
        return real_rename(source, target)

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(WriteError, match=r"out: cannot replace the folder: the disk is full"):
        with staged_folder(out) as staging:
            (staging / "a.txt").write_text("new a")
            (staging / "b.txt").write_text("new b")
    monkeypatch.undo()
    assert (out / "a.txt").read_text() == "old a"
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "no staging folder left behind"


def test_staged_folder_names_an_unwritable_place(tmp_path, monkeypatch):
    def refuse(**kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(WriteError, match=r"out: cannot write the folder: permission denied.*Fix: write to a "
                                         r"folder you may write to"):
        with staged_folder(tmp_path / "out"):
            pass


# --- progress, --quiet and the summary line (gridmap.cli._output) ----------------------------------------

def test_steps_count_and_draw_one_bar_on_stderr_of_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr("gridmap.cli._output._terminal", lambda: True)
    with Steps("report", 1, quiet=False) as step:
        step("read city.gpkg")
        step.add(2)
        step("map of street 990102001")
        step("map of street 990102002")
    assert step.done == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "report: read city.gpkg" in captured.err and "report: map of street 990102002" in captured.err
    assert "/3 steps" in captured.err, "the steps added count in the total"


def test_steps_draw_nothing_when_quiet_or_not_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr("gridmap.cli._output._terminal", lambda: True)
    with Steps("demo", 1, quiet=True) as step:
        step("validate")
    monkeypatch.setattr("gridmap.cli._output._terminal", lambda: False)
    with Steps("demo", 1, quiet=False) as step:
        step("validate")
    assert capsys.readouterr() == ("", "")
    assert show_progress(False) is False


def test_a_failed_step_is_not_counted_done():
    with pytest.raises(RuntimeError), Steps("build", 2, quiet=True) as step:
        step("read")
        step("divide")
        raise RuntimeError("failed in divide")
    assert step.done == 1 and step.current == "divide"


def test_echo_wrote_is_the_one_summary_line(capsys):
    echo_wrote("map.html", "map of 507 grids", quiet=False)
    echo_wrote("map.html", "map of 507 grids", quiet=True)
    assert capsys.readouterr().out == "wrote map.html (map of 507 grids)\n"


@pytest.fixture
def two_codes(tmp_path):
    path = tmp_path / "grids.geojson"
    cells = [shapely.box(108.30 + 0.01 * i, 22.80, 108.31 + 0.01 * i, 22.81) for i in range(2)]
    gpd.GeoDataFrame({"code": ["990102001001001", "990102001001002"]}, geometry=cells,
                     crs="EPSG:4490").to_file(path)
    return path


@pytest.mark.parametrize(("before", "after"), [([], []), (["-q"], []), ([], ["-q"]), ([], ["--quiet"])],
                         ids=["loud", "gridmap -q", "-q", "--quiet"])
def test_progress_and_quiet_on_a_command(two_codes, monkeypatch, before, after):
    monkeypatch.setattr("gridmap.cli._output._terminal", lambda: True)
    result = CliRunner().invoke(main, [*before, "codes", "validate", str(two_codes), *after])
    assert result.exit_code == 0, result.output
    if before or after:
        assert result.stdout == "" and result.stderr == ""
    else:
        assert result.stdout == f"{two_codes}: 2 codes, all valid\n"
        assert f"codes validate: read {two_codes}" in result.stderr
        assert "codes validate: check 2 codes" in result.stderr


def test_quiet_of_a_command_invoked_without_the_root_group(two_codes):
    from gridmap.cli.codes import codes

    result = CliRunner().invoke(codes, ["validate", str(two_codes), "--quiet", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["codes"] == 2, "--json prints even when quiet"
    assert CliRunner().invoke(codes, ["validate", str(two_codes), "-q"]).stdout == ""


@pytest.mark.parametrize(("args", "says"), [
    (["build", "--communities", "c.gpkg", "--units", "u.gpkg", "--out", "g.gpkg", "--x", "1"],
     "gridmap: error: No such option '--x'. Fix: see gridmap build --help."),
    (["--nope"], "gridmap: error: No such option '--nope'. Fix: see gridmap --help."),
    (["nosuch"], "gridmap: error: No such command 'nosuch'. Fix: see gridmap --help."),
    (["cases", "assign"], "gridmap: error: Missing argument 'CASES'. Fix: see gridmap cases assign --help."),
    (["cases", "assign", "x.csv", "--grids", "g.gpkg", "--out", "o.gpkg", "--coords", "zzz"],
     "gridmap: error: Invalid value for '--coords': 'zzz' is not one of"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    for name in ("c.gpkg", "u.gpkg", "x.csv", "g.gpkg"):
        (tmp_path / name).write_bytes(b"")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(says), result.output
    assert "Usage:" not in result.output and "Try '" not in result.output and "Traceback" not in result.output
