import os
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gridmap import CodeError, WriteError, __version__
from gridmap.cli import EXIT_BAD_INPUT, _GridmapGroup, main
from gridmap.cli._output import staged_folder


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


def test_staged_folder_refuses_a_folder_in_the_way_before_moving_anything(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")
    (out / "b.txt").mkdir()
    with pytest.raises(WriteError, match=r"b.txt is a folder.*Fix: remove or rename"):
        with staged_folder(out) as staging:
            (staging / "a.txt").write_text("new")
            (staging / "b.txt").write_text("new")
    assert (out / "a.txt").read_text() == "old"


def test_staged_folder_restores_replaced_files_when_a_move_fails(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old a")
    real_replace = os.replace

    def failing_replace(source, target):
        if Path(target).name == "b.txt" and Path(target).parent == out:
            raise OSError(28, "No space left on device")
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(WriteError, match="No space left on device"):
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
    with pytest.raises(WriteError, match=r"cannot write beside .*Permission denied.*Fix: choose a folder"):
        with staged_folder(tmp_path / "out"):
            pass
