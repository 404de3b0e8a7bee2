"""`gridmap demo` end to end on the sample city: the README's first command."""

import json
import re
import shutil
import sqlite3

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from gridmap.cli import main
from gridmap.crs import metric_crs
from gridmap.datasets import sample_path


@pytest.fixture(scope="module")
def demo_out(demo):
    """``gridmap demo --out demo``, run once per test run (tests/conftest.py)."""
    return demo.folder, demo.output


def test_demo_writes_geopackage_registry_and_map(demo_out):
    out, output = demo_out
    assert sorted(p.name for p in out.iterdir()) == ["cockpit.html", "gridmap.gpkg", "index.html",
                                                     "registry.sqlite"]
    layers = {name for name, _ in pyogrio.list_layers(out / "gridmap.gpkg")}
    assert {"districts", "streets", "communities", "units", "grids", "cases", "staff"} <= layers
    assert output.splitlines()[-1].startswith("wrote demo/ (index.html map, cockpit.html")
    for page in ("index.html", "cockpit.html"):
        text = (out / page).read_text(encoding="utf-8")
        assert "示例市" in text and "<script src=" not in text and "<link href=" not in text


def leaked(values: set[str], text: str) -> set[str]:
    """The values that occur in ``text``: each occurrence lies in a run of the values' own characters, so
    one set of those runs' substrings replaces a scan of the page per value (seconds per page)."""
    alphabet = "[" + re.escape("".join(sorted(set("".join(values))))) + "]+"
    lengths = {len(value) for value in values}
    return values & {run[start:start + length] for run in re.findall(alphabet, text) for length in lengths
                     for start in range(len(run) - length + 1)}


def test_demo_pages_carry_every_layer_for_people_and_field_work_and_no_phone_or_id(demo_out):
    out, output = demo_out
    assert "cockpit.html 一屏 (8 layers for people and field work)" in output
    sample = sample_path()
    roster = pd.read_csv(sample / "roster.csv", dtype=str)
    links = pd.read_csv(sample / "liaison.csv", dtype=str)
    private = {*roster["phone"].dropna(), *roster["person_id"], *links["phone"].dropna(), *links["person_id"]}
    public = set(roster.loc[roster["role"].isin(["leader", "full_time", "member"]), "name"])
    unnamed = set(roster["name"]) - public - set(links["name"])  # 法律明白人, 志愿者, 辅警 … and 定岗 doctors
    for name in ("index.html", "cockpit.html"):
        page = (out / name).read_text(encoding="utf-8")
        specs = re.findall(r"gridmap\.overlay\((\{.*?\}), \w+\);\n", page)
        keys = [json.loads(spec)["key"] for spec in specs]
        assert [key.split("_")[1] for key in keys] == ["staffing", "party", "liaison", "zones", "circles",
                                                     "escalation", "quality", "patrols"]
        assert not leaked(private, page)
        # a name on its own, not part of a longer word: a whole run of Chinese characters
        assert not unnamed & set(re.findall(r"[\u4e00-\u9fff]+", page))
    cockpit = (out / "cockpit.html").read_text(encoding="utf-8")
    for figure in ("配备达标网格", "网格党支部覆盖", "联系领导覆盖", "巡控区", "服务中心步行圈",
                   "各层级办结占比", "质效指数 前5名与后5名"):
        assert figure in cockpit


def test_demo_cases_each_in_one_grid(demo_out):
    out, _ = demo_out
    cases = gpd.read_file(out / "gridmap.gpkg", layer="cases")
    grids = gpd.read_file(out / "gridmap.gpkg", layer="grids")
    assert len(cases) == 20_000
    located = cases.dropna(subset=["grid_code"])
    joined = gpd.sjoin(located, grids[["code", "geometry"]], predicate="intersects")
    assert (joined["grid_code"] == joined["code"]).groupby(level=0).any().all(), "each case lies in its grid"


def test_demo_grids_tile_every_community_and_carry_permanent_codes(demo_out):
    out, _ = demo_out
    grids = gpd.read_file(out / "gridmap.gpkg", layer="grids")
    communities = gpd.read_file(out / "gridmap.gpkg", layer="communities")
    metric = metric_crs(communities)
    cells = grids.to_crs(metric).geometry.to_numpy()
    union = shapely.union_all(cells)
    land = shapely.union_all(communities.to_crs(metric).geometry.to_numpy())
    assert union.symmetric_difference(land).area / land.area < 1e-4, "full coverage, no blind spot"
    assert shapely.area(cells).sum() == pytest.approx(union.area, rel=1e-6), "no overlap"
    assert grids["code"].str.fullmatch(r"99\d{13}").all() and grids["code"].is_unique
    assert (grids["code"].str[:12] == grids["community_code"]).all()
    units = gpd.read_file(out / "gridmap.gpkg", layer="units")
    assert set(units["grid_code"].dropna()) <= set(grids["code"])
    with sqlite3.connect(out / "registry.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.slow
def test_demo_rerun_in_english_keeps_the_codes(demo_out, tmp_path, monkeypatch):
    """``gridmap demo --out demo --lang en``, an example of ``gridmap demo --help`` run here as written (see
    ``RUN_BY_THEIR_OWN_TEST`` in test_cli_examples.py): the same folder again, in English, same codes."""
    argv = ["demo", "--out", "demo", "--lang", "en"]
    help_text = CliRunner().invoke(main, ["demo", "--help"], terminal_width=120).output
    assert "gridmap " + " ".join(argv) + " " in help_text
    (tmp_path / "data").symlink_to(sample_path().parent, target_is_directory=True)  # as in a clone
    out = tmp_path / "demo"
    shutil.copytree(demo_out[0], out)  # the shared demo stays as it was made
    first = gpd.read_file(out / "gridmap.gpkg", layer="grids")[["code", "unit_ids"]]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, argv, prog_name="gridmap")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("wrote demo/ (")
    again = gpd.read_file(out / "gridmap.gpkg", layer="grids")[["code", "unit_ids"]]
    assert dict(zip(first["unit_ids"], first["code"], strict=True)) == \
        dict(zip(again["unit_ids"], again["code"], strict=True))
    page = (out / "index.html").read_text(encoding="utf-8")
    fields = json.loads(re.search(r"gridmap\.gridLayer\((\{.*?\})\);\n", page).group(1))["fields"]
    assert fields[0]["label"] == "Type", "English labels"
