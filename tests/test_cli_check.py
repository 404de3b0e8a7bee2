"""``gridmap check`` (gridmap.cli.check) on the sample city built by ``gridmap build``, run with CliRunner."""

from __future__ import annotations

import json

import click
import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from gridmap.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATIONS, _GridmapGroup
from gridmap.cli.build import build
from gridmap.cli.check import SHOWN, check
from gridmap.datasets import sample_path

SAMPLE = sample_path() / "sample_city.gpkg"


def cli() -> click.Group:
    """The commands inside a group like ``gridmap.cli.main`` (same error handling, same ctx.obj)."""
    @click.group(cls=_GridmapGroup)
    @click.option("--debug", is_flag=True)
    @click.option("-q", "--quiet", is_flag=True)
    @click.pass_context
    def group(ctx, debug, quiet):
        ctx.obj = {"quiet": quiet, "debug": debug}

    group.add_command(build)
    group.add_command(check)
    return group


def run(*args):
    return CliRunner().invoke(cli(), [str(arg) for arg in args])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("check") / "city.gpkg"
    result = run("-q", "build", "--communities", SAMPLE, "--units", SAMPLE, "--out", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def one_grid_removed(built, tmp_path_factory):
    """A copy of the build without its largest urban grid, and that grid."""
    grids = gpd.read_file(built, layer="grids")
    urban = grids[grids["community_code"].str[6] == "0"]  # street digits 001-099: 街道, urban
    removed = urban.loc[metric_area(urban).idxmax()]
    path = tmp_path_factory.mktemp("gap") / "gap.gpkg"
    grids.drop(index=removed.name).to_file(path, layer="grids")
    gpd.read_file(built, layer="communities").to_file(path, layer="communities")
    return path, removed, float(metric_area(urban.loc[[removed.name]]).iloc[0])


def metric_area(frame: gpd.GeoDataFrame) -> pd.Series:
    """Areas in m² in an equal-area CRS (EPSG:6933), independent of the metric CRS gridmap chooses."""
    return frame.to_crs(6933).area


@pytest.mark.slow
def test_a_fresh_build_passes(built):
    result = run("check", built, "--communities", "communities")
    assert result.exit_code == EXIT_OK, result.output
    last = result.stdout.splitlines()[-1]
    assert last.startswith(f"grid check ({len(gpd.read_file(built, layer='grids'))} grids): OK")
    assert not [line for line in result.stdout.splitlines() if line.startswith("error ")]


def test_a_removed_grid_is_a_gap_with_its_area(one_grid_removed):
    path, removed, area = one_grid_removed
    result = run("check", path, "--communities", "communities", "--json")
    assert result.exit_code == EXIT_VIOLATIONS, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    gaps = [f for f in report["findings"] if f["check"] == "gap" and f["record"] == removed["community_code"]]
    assert len(gaps) == 1
    assert gaps[0]["area_m2"] == pytest.approx(area, rel=1e-3)
    location = shapely.Point(gaps[0]["lon"], gaps[0]["lat"])
    assert removed.geometry.buffer(1e-7).contains(location), "the gap is located where the grid was"
    text = run("check", path, "--communities", "communities")
    assert text.exit_code == EXIT_VIOLATIONS
    assert text.stdout.splitlines()[-1].startswith("grid check") and "FAILED" in text.stdout.splitlines()[-1]
    assert any(line.startswith("error") and " gap " in line and removed["community_code"] in line
               for line in text.stdout.splitlines())


def test_out_gpkg_has_findings_gaps_and_overlaps(one_grid_removed, tmp_path):
    path, removed, area = one_grid_removed
    out = tmp_path / "findings.gpkg"
    result = run("-q", "check", path, "--communities", "communities", "--out", out)
    assert result.exit_code == EXIT_VIOLATIONS and result.stdout == ""
    layers = dict(pyogrio.list_layers(out))
    assert list(layers) == ["findings", "gaps", "overlaps", "summary"]
    assert layers["findings"] == "Point" and layers["summary"] is None
    gaps = gpd.read_file(out, layer="gaps")
    hole = gaps[gaps["community_code"] == removed["community_code"]]
    assert metric_area(hole).sum() == pytest.approx(area, rel=1e-3)
    assert shapely.symmetric_difference(shapely.union_all(hole.geometry.to_numpy()), removed.geometry).area \
        < 1e-3 * removed.geometry.area
    findings = gpd.read_file(out, layer="findings")
    gap_points = findings[findings["check"] == "gap"]
    assert hole.geometry.iloc[0].buffer(1e-7).contains(gap_points.geometry).any()
    summary = pyogrio.read_dataframe(out, layer="summary")
    assert summary.set_index("check").loc["gap", "count"] == (findings["check"] == "gap").sum()
    assert len(gpd.read_file(out, layer="overlaps")) == (findings["check"] == "overlap").sum()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_out_table_lists_every_finding(one_grid_removed, tmp_path, suffix):
    path, removed, _ = one_grid_removed
    out = tmp_path / f"findings{suffix}"
    result = run("check", path, "--communities", "communities", "--out", out, "--json", "--households", "0-1")
    assert result.exit_code == EXIT_VIOLATIONS
    expected = pd.DataFrame(json.loads(result.stdout)["findings"])
    assert len(expected) > SHOWN, "more findings than the text shows"
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str) if suffix == ".csv" else \
        pd.read_excel(out, sheet_name="findings", dtype=str, engine="openpyxl")
    assert table["check"].tolist() == expected["check"].tolist()
    assert table["record"].tolist() == expected["record"].tolist()
    text = run("check", path, "--communities", "communities", "--households", "0-1").stdout
    assert f"... {len(expected) - SHOWN} more findings" in text


def test_units_in_two_grids_are_violations(built, tmp_path):
    """The compounds that straddle a community boundary (found here with geometry) lie in two grids."""
    units = gpd.read_file(SAMPLE, layer="units")
    communities = gpd.read_file(SAMPLE, layer="communities")
    u, c = communities.sindex.query(units.geometry, predicate="intersects")
    shared = shapely.intersection(units.geometry.to_numpy()[u], communities.geometry.to_numpy()[c])
    big = metric_area(gpd.GeoDataFrame(geometry=shared, crs=units.crs)).to_numpy() > 1.0
    in_two = pd.Series(u[big]).duplicated(keep=False).to_numpy()
    straddling = units["unit_id"].to_numpy()[u[big][in_two]]
    assert len(straddling), "the sample has straddling compounds"
    result = run("check", built, "--units", "units", "--json")
    assert result.exit_code == EXIT_VIOLATIONS
    findings = pd.DataFrame(json.loads(result.stdout)["findings"])
    errors = findings[findings["severity"] == "error"]
    assert set(errors["check"]) == {"unit_multiple"}
    assert sorted(set(errors["record"])) == sorted(set(straddling))


def test_a_city_layer_with_chinese_headers(built, tmp_path):
    """A city's own grid layer: 网格编码/社区代码/户数 headers, GeoJSON, against the sample's communities."""
    grids = gpd.read_file(built, layer="grids")[["code", "community_code", "type", "households", "geometry"]]
    own = grids.rename(columns={"code": "网格编码", "community_code": "社区代码", "households": "户数"})
    path = tmp_path / "网格.geojson"
    own.to_file(path)
    result = run("check", path, "--communities", SAMPLE, "--households", "0-400", "--json")
    assert result.exit_code == EXIT_OK, result.output
    findings = pd.DataFrame(json.loads(result.stdout)["findings"])
    above = grids[(grids["type"] == "city") & (grids["households"] > 400)]
    flagged = findings.loc[findings["check"] == "households_out_of_range", "record"]
    assert sorted(flagged) == sorted(above["code"])
    text = run("check", path, "--communities", SAMPLE).stdout
    assert text.splitlines()[-1].endswith(")") and "OK" in text.splitlines()[-1], "the verdict comes last"


def test_quiet_prints_nothing_but_keeps_the_exit_code(one_grid_removed):
    path, _, _ = one_grid_removed
    result = run("-q", "check", path, "--communities", "communities")
    assert result.exit_code == EXIT_VIOLATIONS and result.output == ""


@pytest.mark.parametrize(("args", "message"), [
    (["MISSING"], "missing.gpkg: file not found"),
    (["BUILT", "--communities", "社区"], "--communities '社区' is neither a file nor a layer of"),
    (["BUILT", "--grids-layer", "网格"], "no layer '网格'; the layers are grids, units, communities, report"),
    (["SAMPLE"], "holds 5 layers: districts, streets, communities, units, unit_points"),
    (["BUILT", "--households", "500-300"], "expected 0 <= LOW <= HIGH"),
    (["BUILT", "--out", "OUT.txt"], "write the findings to a .csv, .xlsx, .gpkg file"),
])
def test_bad_input_exits_2(built, tmp_path, args, message):
    names = {"MISSING": tmp_path / "missing.gpkg", "BUILT": built, "SAMPLE": SAMPLE,
             "OUT.txt": tmp_path / "o.txt"}
    out = [] if "--out" in args else ["--out", tmp_path / "findings.csv"]
    result = run("check", *[names.get(arg, arg) for arg in args], *out)
    assert result.exit_code == EXIT_BAD_INPUT
    assert message in result.stderr and "Traceback" not in result.output
    assert not list(tmp_path.iterdir()), "no output written on bad input"


def test_help_has_a_worked_example():
    result = run("check", "--help")
    assert result.exit_code == 0
    assert "gridmap check demo/gridmap.gpkg --communities communities --units units" in result.output
    assert "Exit codes: 0 the layer passes, 1 it violates" in result.output


def test_no_findings_no_table(tmp_path):
    """Grids equal to the communities themselves: no finding at all, the text is the summary line only."""
    communities = gpd.read_file(SAMPLE, layer="communities")
    grids = communities.assign(code=communities["code"] + "001", community_code=communities["code"])
    path = tmp_path / "grids.gpkg"
    grids[["code", "community_code", "geometry"]].to_file(path, layer="grids")
    result = run("check", path, "--communities", SAMPLE)
    assert result.exit_code == EXIT_OK
    assert result.stdout == f"grid check ({len(grids)} grids): OK, no findings\n"
