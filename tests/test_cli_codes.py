"""``gridmap codes``: parse, validate, history and diff, invoked through click's CliRunner.

The group is mounted under a root group like gridmap's main one (GridmapError -> exit 2), so exit codes are
those users see once ``codes`` is registered in gridmap.cli.
"""

from __future__ import annotations

import json

import click
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from gridmap.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATIONS, _GridmapGroup
from gridmap.cli.codes import codes
from gridmap.codes import parse
from gridmap.codes.registry import Registry

C1 = "450102001003"


@click.group(cls=_GridmapGroup)
@click.option("--debug", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
@click.pass_context
def root(ctx, debug, quiet):
    ctx.obj = {"quiet": quiet, "debug": debug}


root.add_command(codes)


def run(*args):
    return CliRunner().invoke(root, ["codes", *args])


def grids(codes_):
    cells = [shapely.box(108.30 + 0.01 * i, 22.80, 108.31 + 0.01 * i, 22.81) for i in range(len(codes_))]
    names = [f"网格{i}" for i in range(len(codes_))]
    return gpd.GeoDataFrame({"code": codes_, "name": names}, geometry=cells, crs="EPSG:4490")


@pytest.mark.parametrize("command", ["parse", "validate", "history", "diff"])
def test_every_command_has_a_worked_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0 and "Example" in result.output
    assert f"gridmap codes {command}" in result.output


def test_parse_prints_the_fields_and_json():
    result = run("parse", C1 + "007")
    assert result.exit_code == EXIT_OK
    assert "community 12 + sequence 3 = 15 digits" in result.output
    assert "street_code     450102001" in result.output and "sequence        7" in result.output
    typed = run("parse", C1 + "3007", "--scheme", "type_digit", "--json")
    assert json.loads(typed.output) == parse(C1 + "3007", scheme="type_digit").to_dict()
    assert json.loads(typed.output)["grid_type"] == "dedicated"


def test_parse_of_a_malformed_code_exits_2_with_the_fix():
    result = run("parse", "450102000003007")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "street field '000' of code 450102000003007 must be 001–599. Fix:" in result.output


def test_validate_lists_invalid_and_duplicated_codes_and_exits_1(tmp_path):
    path = tmp_path / "grids.gpkg"
    grids([C1 + "001", "450102000003002", C1 + "001", C1 + "000", C1 + "002"]).to_file(path, layer="grids")
    result = run("validate", str(path))
    assert result.exit_code == EXIT_VIOLATIONS
    assert f"{path}: 5 codes, 3 invalid" in result.output
    report = json.loads(run("validate", str(path), "--json").output)
    assert [(p["row"], p["code"]) for p in report["problems"]] == [
        (2, "450102000003002"), (3, C1 + "001"), (4, C1 + "000")]
    assert report["problems"][1]["problem"] == "duplicate of row 1"
    assert "must be 001–999" in report["problems"][2]["problem"]


def test_validate_a_clean_file_exits_0(tmp_path):
    path = tmp_path / "grids.geojson"
    grids([C1 + "001", C1 + "002"]).to_file(path)
    result = run("validate", str(path))
    assert result.exit_code == EXIT_OK and "2 codes, all valid" in result.output


def test_validate_a_table_without_coordinates_and_against_division_codes(tmp_path):
    staff = tmp_path / "staff.csv"
    staff.write_text(f"网格编码,姓名\n{C1}001,黄丽\n450102001099001,李明\n", encoding="utf-8")
    assert run("validate", str(staff)).exit_code == EXIT_OK  # 网格编码 is read as grid_code
    admin = tmp_path / "villages.csv"
    admin.write_text(f"code,name,streetCode\n{C1},兴宁社区居委会,450102001\n", encoding="utf-8")
    result = run("validate", str(staff), "--admin", str(admin), "--json")
    problems = json.loads(result.output)["problems"]
    assert result.exit_code == EXIT_VIOLATIONS and [p["row"] for p in problems] == [2]
    assert "community 450102001099 of code 450102001099001 is not in the division table" in \
        problems[0]["problem"]


def test_validate_without_a_code_column_exits_2(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("名称\n甲\n", encoding="utf-8")
    result = run("validate", str(path))
    assert result.exit_code == EXIT_BAD_INPUT and "no column code or grid_code" in result.output
    assert "--column" in result.output


@pytest.fixture
def registry_file(tmp_path):
    path = tmp_path / "codes.sqlite"
    first = grids(["a", "b"]).assign(community_code=C1, type="city", unit_ids=["u1;u2", "u3"])
    second = grids(["a1", "a2", "b"]).assign(community_code=C1, type="city", unit_ids=["u1", "u2", "u3"])
    second.geometry = [shapely.box(108.30, 22.80, 108.305, 22.81), shapely.box(108.305, 22.80, 108.31, 22.81),
                       shapely.box(108.31, 22.80, 108.32, 22.81)]
    with Registry(path) as registry:
        registry.assign(first, when="2025-01-06")
        registry.assign(second, when="2025-06-02")
    return path


def test_history_shows_issue_and_split(registry_file):
    result = run("history", C1 + "001", "--registry", str(registry_file))
    assert result.exit_code == EXIT_OK
    lines = result.output.splitlines()
    assert "issued" in lines[1] and "u1;u2" in lines[1]
    assert "retired" in lines[2] and f"{C1}003;{C1}004" in lines[2] and "split" in lines[2]
    events = json.loads(run("history", C1 + "003", "--registry", str(registry_file), "--json").output)
    assert [(e["event"], e["parents"]) for e in events] == [("issued", C1 + "001")]


def test_diff_since_date_or_version(registry_file):
    text = run("diff", "--registry", str(registry_file), "--since", "2025-02-01")
    assert text.exit_code == EXIT_OK
    assert "added 2, retired 1, split 1, merged 0, changed 0" in text.output
    assert "450102001" in text.output
    payload = json.loads(run("diff", "--registry", str(registry_file), "--since", "0", "--json").output)
    assert payload["versions"] == [1, 2] and payload["totals"]["added"] == 4
    assert {row["code"] for row in payload["changes"] if row["event"] == "retired"} == {C1 + "001"}


def test_registry_commands_refuse_a_missing_registry(tmp_path):
    missing = tmp_path / "nothing.sqlite"
    result = run("history", C1 + "001", "--registry", str(missing))
    assert result.exit_code == EXIT_BAD_INPUT and "no registry at this path" in result.output
    assert not missing.exists()
    bad = run("diff", "--registry", str(missing), "--since", "yesterday")
    assert bad.exit_code == EXIT_BAD_INPUT


def test_diff_refuses_a_bad_since(registry_file):
    result = run("diff", "--registry", str(registry_file), "--since", "last week")
    assert result.exit_code == EXIT_BAD_INPUT and "--since 'last week' is not a date" in result.output


def test_codes_output_is_a_frame_with_the_codes(registry_file):
    with Registry(registry_file) as registry:
        current = registry.current()
    assert current["code"].tolist() == [C1 + "002", C1 + "003", C1 + "004"]
    assert isinstance(current, gpd.GeoDataFrame) and not pd.isna(current["beidou"]).any()
