"""``gridmap build`` (gridmap.cli.build) and the shared helpers of gridmap.cli.options, run with CliRunner."""

from __future__ import annotations

import json
import shutil

import click
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from gridmap.cli import EXIT_BAD_INPUT, _GridmapGroup
from gridmap.cli import build as build_module
from gridmap.cli.build import build
from gridmap.cli.options import parse_households, read_inputs, staged_file
from gridmap.datasets import sample_path
from gridmap.errors import ReadError, WriteError

SAMPLE = sample_path() / "sample_city.gpkg"
GRID_COLUMNS = ["code", "type", "community_code", "households", "population", "buildings", "n_units",
                "unit_ids", "reason"]


def cli() -> click.Group:
    """The command inside a group like ``gridmap.cli.main`` (same error handling, same ctx.obj)."""
    @click.group(cls=_GridmapGroup)
    @click.option("--debug", is_flag=True)
    @click.option("-q", "--quiet", is_flag=True)
    @click.pass_context
    def group(ctx, debug, quiet):
        ctx.obj = {"quiet": quiet, "debug": debug}

    group.add_command(build)
    return group


def run(*args):
    return CliRunner().invoke(cli(), [str(arg) for arg in args])


def sample_units() -> gpd.GeoDataFrame:
    """The sample city's units, read without gridmap (polygons and points are two layers)."""
    layers = [gpd.read_file(SAMPLE, layer=name) for name in ("units", "unit_points")]
    return pd.concat(layers, ignore_index=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "city.gpkg"
    result = run("build", "--communities", SAMPLE, "--units", SAMPLE, "--out", out)
    assert result.exit_code == 0, result.output
    return result, out


def metric(frame: gpd.GeoDataFrame, like: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs(like.estimate_utm_crs())


def test_build_writes_four_layers_and_one_summary_line(built):
    result, out = built
    layers = dict(pyogrio.list_layers(out))
    assert list(layers) == ["grids", "units", "communities", "report"]
    assert layers["report"] is None, "the report is a table without geometry"
    grids = gpd.read_file(out, layer="grids")
    assert set(GRID_COLUMNS) <= set(grids.columns)
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    counts = grids["type"].value_counts()
    assert lines[0].startswith(f"wrote {out} ({len(grids)} grids in ")
    assert all(f"{kind} {n}" in lines[0] for kind, n in counts.items())
    assert "gridmap: warning: " in result.stderr and "Traceback" not in result.output
    assert "steps [" not in result.stderr, "no progress bar when stderr is not a terminal"


def test_progress_bars_on_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setattr("gridmap.cli._output._terminal", lambda: True)
    result = run("build", "--communities", SAMPLE, "--units", SAMPLE, "--out", tmp_path / "g.gpkg")
    assert result.exit_code == 0, result.output
    for step in ("build: read and validate", "build: divide into grids", f"build: write {tmp_path}",
                 "/5 steps [", "communities:"):  # the last: build_grids' own bar over the communities
        assert step in result.stderr, step
    assert result.stdout.startswith("wrote "), "bars go to stderr only"


def test_grids_tile_the_communities(built):
    _, out = built
    communities = gpd.read_file(SAMPLE, layer="communities")
    grids = gpd.read_file(out, layer="grids")
    assert grids.crs == communities.crs

    def area(geoms) -> np.ndarray:  # shapes in the stored coordinates (edges straight there), areas in metres
        return metric(gpd.GeoSeries(np.atleast_1d(geoms), crs=grids.crs), communities).area.to_numpy()

    geoms = grids.geometry.to_numpy()
    covered = shapely.union_all(geoms)
    land = shapely.union_all(communities.geometry.to_numpy())
    assert area(covered.symmetric_difference(land))[0] < 1e-6 * area(land)[0]
    assert abs(area(geoms).sum() - area(land)[0]) < 1e-6 * area(land)[0], "land counted twice"
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    assert area(shapely.intersection(geoms[left[keep]], geoms[right[keep]])).max() < 1.0
    own = communities.set_index("code").geometry.loc[grids["community_code"]].to_numpy()
    assert area(shapely.difference(geoms, own)).max() < 1.0, "a grid crosses its community"


def test_units_carry_a_grid_code_that_exists_where_they_lie(built):
    _, out = built
    given = sample_units()
    units = gpd.read_file(out, layer="units")
    grids = gpd.read_file(out, layer="grids")
    assert sorted(units["unit_id"]) == sorted(given["unit_id"])
    assert units["grid_code"].notna().all() and units["grid_code"].isin(grids["code"]).all()
    grid_of = metric(grids, grids).set_index("code").geometry
    located = metric(units, grids)
    home = grid_of.loc[located["grid_code"]].to_numpy()
    points = located.geom_type == "Point"
    assert (shapely.distance(home[points.to_numpy()], located.geometry[points].to_numpy()) < 0.01).all()
    polygons = located.geometry[~points].to_numpy()
    assert (shapely.area(shapely.intersection(home[~points.to_numpy()], polygons)) > 0).all()
    # households of a grid are those of its units, summed from the input file
    households = given.set_index("unit_id")["households"].loc[units["unit_id"]].to_numpy()
    per_grid = pd.Series(households).groupby(units["grid_code"].to_numpy()).sum()
    assert (grids.set_index("code")["households"].loc[per_grid.index] == per_grid).all()


def test_json_summary_quiet_and_rules(tmp_path, built):
    _, first = built
    rules = tmp_path / "rules.toml"
    rules.write_text("[rules]\ncity_households = [100, 200]\n", encoding="utf-8")
    out = tmp_path / "small.gpkg"
    result = run("-q", "build", "--communities", SAMPLE, "--units", SAMPLE, "--rules", rules, "--out", out,
                 "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == "", "--quiet: no progress bar, no warnings"
    summary = json.loads(result.stdout)
    grids = gpd.read_file(out, layer="grids")
    report = pyogrio.read_dataframe(out, layer="report")
    assert summary["out"] == str(out) and summary["layers"] == ["grids", "units", "communities", "report"]
    assert summary["grids"] == len(grids)
    assert summary["grids_by_type"] == grids["type"].value_counts().to_dict()
    assert summary["units"] == len(sample_units()) == summary["units_in_grids"]
    assert summary["findings"] == len(report)
    assert summary["findings_by_check"] == report["check"].value_counts().to_dict()
    before = gpd.read_file(first, layer="grids")
    assert (grids["type"] == "city").sum() > (before["type"] == "city").sum(), "the rules were not applied"


@pytest.mark.slow
def test_registry_gives_permanent_codes_kept_on_rebuild(tmp_path):
    registry = tmp_path / "codes.sqlite"
    args = ["-q", "build", "--communities", SAMPLE, "--units", SAMPLE, "--registry", registry, "--json"]
    first = run(*args, "--out", tmp_path / "v1.gpkg")
    assert first.exit_code == 0, first.output
    grids = gpd.read_file(tmp_path / "v1.gpkg", layer="grids")
    units = gpd.read_file(tmp_path / "v1.gpkg", layer="units")
    assert json.loads(first.stdout)["codes_by_status"] == {"new": len(grids)}
    assert grids["code"].is_unique and (grids["code"].str.len() == 15).all()
    assert (grids["code"].str[:12] == grids["community_code"]).all() and grids["code"].str.isdigit().all()
    members = grids.set_index("code")["unit_ids"].str.split(";").explode()
    listed_in = pd.Series(members.index, index=members.to_numpy()).to_dict()
    assert listed_in == units.set_index("unit_id")["grid_code"].to_dict(), "grid_code: the grid that lists it"
    second = run(*args, "--out", tmp_path / "v2.gpkg")
    again = gpd.read_file(tmp_path / "v2.gpkg", layer="grids")
    assert json.loads(second.stdout)["codes_by_status"] == {"kept": len(grids)}
    assert again.set_index("temp_code")["code"].to_dict() == grids.set_index("temp_code")["code"].to_dict()


def test_missing_input_exits_2_naming_the_file_and_writes_nothing(tmp_path):
    out = tmp_path / "out.gpkg"
    result = run("build", "--communities", tmp_path / "missing.gpkg", "--units", SAMPLE, "--out", out)
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"{tmp_path / 'missing.gpkg'}: file not found" in result.stderr
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_bad_unit_code_exits_2_and_leaves_the_previous_output_untouched(tmp_path, built):
    units = sample_units()
    row, other = units.index[units["community_code"].notna()][:2]
    units.loc[row, "community_code"] = units.loc[row, "community_code"][:-1]  # 11 digits
    units.loc[other, "community_code"] = units.loc[other, "community_code"][:-1] + "x"
    bad = tmp_path / "units.geojson"
    units.to_file(bad)
    out = tmp_path / "city.gpkg"
    shutil.copy(built[1], out)
    before = out.read_bytes()
    result = run("build", "--communities", SAMPLE, "--units", bad, "--out", out)
    assert result.exit_code == EXIT_BAD_INPUT
    assert str(bad) in result.stderr and f"2 errors in {bad}:" in result.stderr
    assert all(f"({units.loc[i, 'unit_id']}): code_" in result.stderr for i in (row, other)), "all listed"
    assert "community_code" in result.stderr and "Traceback" not in result.output
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city.gpkg", "units.geojson"], "temporary file left"


def test_failure_while_writing_leaves_no_file(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise WriteError("disk full", path=args[1])

    monkeypatch.setattr(build_module, "write_layer", fail)
    out = tmp_path / "city.gpkg"
    result = run("-q", "build", "--communities", SAMPLE, "--units", SAMPLE, "--out", out)
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"{out}: disk full" in result.stderr, "the error names the output, not the temporary file"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "message"), [
    (["--communities-layer", "社区"], "no layer '社区'; the layers are districts, streets, communities"),
    (["--units-layer", "nope"], "no layer 'nope'"),
    (["--rules", "RULES"], "unknown grid rule 'colour'"),
    (["--coords", "utm"], "'utm' is not one of"),
])
def test_bad_options_exit_2(tmp_path, args, message):
    rules = tmp_path / "rules.toml"
    rules.write_text("colour = 'red'\n", encoding="utf-8")
    args = [str(rules) if arg == "RULES" else arg for arg in args]
    result = run("build", "--communities", SAMPLE, "--units", SAMPLE, "--out", tmp_path / "o.gpkg", *args)
    assert result.exit_code == EXIT_BAD_INPUT
    assert message in result.stderr and "Traceback" not in result.output
    if "RULES" in args or "--rules" in args:
        assert str(rules) in result.stderr
    assert not (tmp_path / "o.gpkg").exists()


def test_out_must_be_a_geopackage_in_an_existing_folder(tmp_path):
    result = run("build", "--communities", SAMPLE, "--units", SAMPLE, "--out", tmp_path / "grids.geojson")
    assert result.exit_code == EXIT_BAD_INPUT and "must end in .gpkg" in result.stderr
    result = run("build", "--communities", SAMPLE, "--units", SAMPLE, "--out", tmp_path / "no" / "grids.gpkg")
    assert result.exit_code == EXIT_BAD_INPUT and "does not exist" in result.stderr


def test_help_has_a_worked_example():
    result = run("build", "--help")
    assert result.exit_code == 0
    assert "gridmap build --communities data/sample/sample_city.gpkg" in result.output
    assert "--units-layer" in result.output


# --- gridmap.cli.options -------------------------------------------------------------------------------

def test_read_inputs_chooses_default_layers_or_asks(tmp_path):
    inputs = read_inputs(SAMPLE, defaults=["units", "unit_points"])
    assert [(source.layer, len(source.frame)) for source in inputs] == [
        ("units", len(gpd.read_file(SAMPLE, layer="units"))),
        ("unit_points", len(gpd.read_file(SAMPLE, layer="unit_points")))]
    assert inputs[0].label == f"{SAMPLE} (layer units)"
    with pytest.raises(ReadError, match=r"holds 5 layers.*Fix: choose one with --grids-layer NAME"):
        read_inputs(SAMPLE, defaults=["grids"], option="--grids-layer")
    single = tmp_path / "c.geojson"
    gpd.read_file(SAMPLE, layer="communities").to_file(single)
    (only,) = read_inputs(single, defaults=["grids"])
    assert only.label == str(single) and len(only.frame) == len(gpd.read_file(single))


def test_staged_file_replaces_whole_or_not_at_all(tmp_path):
    out = tmp_path / "a.gpkg"
    out.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with staged_file(out) as staging:
            staging.write_bytes(b"half")
            raise RuntimeError("failed half-way")
    assert out.read_bytes() == b"old" and list(tmp_path.iterdir()) == [out]
    with staged_file(out) as staging:
        staging.write_bytes(b"new")
        assert staging.parent == tmp_path and staging.suffix == ".gpkg"
    assert out.read_bytes() == b"new" and list(tmp_path.iterdir()) == [out]
    with pytest.raises(WriteError, match="is a folder"), staged_file(tmp_path):
        pass


@pytest.mark.parametrize(("text", "expected"),
                         [("300-500", (300, 500)), ("0-0", (0, 0)), ("250–450", (250, 450))])
def test_parse_households(text, expected):
    assert parse_households(None, None, text) == expected


@pytest.mark.parametrize("text", ["500-300", "300", "a-b", "-1-5"])
def test_parse_households_refuses(text):
    with pytest.raises(click.BadParameter):
        parse_households(None, None, text)
