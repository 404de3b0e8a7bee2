"""``gridmap party`` and ``gridmap centres`` (issue 20): exit codes, --json, --out, messy files, privacy."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from shapely import Point, box

from gridmap.cli import main
from gridmap.crs import wgs84_to_gcj02

X, Y, W = 108.30, 22.80, 0.01
COMMUNITY = "450102001003"
G1, G2, G3 = (f"{COMMUNITY}00{i}" for i in (1, 2, 3))
ROOT = Path(__file__).resolve().parents[1]


def run(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="gridmap", catch_exceptions=False)


@pytest.fixture
def grids(tmp_path) -> Path:
    """Three grids of one community, west to east, with Chinese headers (网格编码, 社区代码)."""
    frame = gpd.GeoDataFrame({"网格编码": [G1, G2, G3], "社区代码": [COMMUNITY] * 3},
                             geometry=[box(X + i * W, Y, X + (i + 1) * W, Y + W) for i in range(3)], crs=4490)
    path = tmp_path / "grids.geojson"
    frame.to_file(path)
    return path


def party_csv(tmp_path: Path, rows: list[str], *, encoding: str = "gbk") -> Path:
    path = tmp_path / "党组织.csv"
    path.write_bytes(("支部名称,类型,网格编码,党员数\n" + "\n".join(rows) + "\n").encode(encoding))
    return path


def roster_csv(tmp_path: Path) -> Path:
    """Leaders of the three grids: a member, a non-member (是否党员 否), one unknown; phones and ids."""
    path = tmp_path / "roster.csv"
    pd.DataFrame({"person_id": ["P000001", "P000002", "P000003"], "name": ["黄丽", "韦强", "陆敏"],
                  "role": ["leader"] * 3, "level": ["grid"] * 3, "unit_code": [G1, G2, G3],
                  "party_member": ["是", "否", None],
                  "phone": ["13800000001", "13800000002", "13800000003"]}).to_csv(path, index=False)
    return path


# --- party -----------------------------------------------------------------------------------------------

def test_party_exits_0_when_every_grid_has_a_branch(tmp_path, grids):
    branches = party_csv(tmp_path, [f"一支部,网格党支部,{G1},12", f"联合支部,联合党支部,{G2};{G3},9"])
    result = run("party", "--branches", str(branches), "--grids", str(grids))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == ("party organisation: 3 grids, 3 with a grid branch (100.0%); "
                                             "21 party members in grid branches")
    assert "OK, no findings" in result.stdout


def test_party_exits_1_with_an_uncovered_grid_and_a_retired_one_and_lists_them(tmp_path, grids):
    branches = party_csv(tmp_path, [f"一支部,网格党支部,{G1},12", f"旧支部,网格党支部,{COMMUNITY}009,4"])
    result = run("party", "--branches", str(branches), "--grids", str(grids))
    assert result.exit_code == 1
    assert "3 grids, 1 with a grid branch (33.3%)" in result.stdout
    lines = result.stdout.splitlines()
    assert any(line.startswith("error") and "unknown_grid" in line and f"{COMMUNITY}009" in line
               for line in lines)
    assert sum("no_grid_branch" in line for line in lines) == 3  # G2, G3 and the verdict line


def test_party_json_carries_the_code_of_each_unit_and_the_tables(tmp_path, grids):
    branches = party_csv(tmp_path, [f"一支部,网格党支部,{G1},12"])
    result = run("-q", "party", "--branches", str(branches), "--grids", str(grids), "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert [(f["check"], f["record"]) for f in payload["findings"]] == [("no_grid_branch", G2),
                                                                        ("no_grid_branch", G3)]
    assert payload["tables"]["summary"][0]["grid_share"] == pytest.approx(1 / 3)
    assert [row["label"] for row in payload["tables"]["grids"]] == ["网格党支部：已建（党员 12 名）",
                                                                    "网格党支部：未建", "网格党支部：未建"]


@pytest.mark.parametrize("suffix", [".gpkg", ".xlsx", ".csv"])
def test_party_out_writes_the_per_grid_layer_and_the_tables(tmp_path, grids, suffix):
    branches = party_csv(tmp_path, [f"一支部,网格党支部,{G1},12"])
    out = tmp_path / f"party{suffix}"
    result = run("party", "--branches", str(branches), "--grids", str(grids), "--out", str(out))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1].startswith(f"wrote {out}")
    if suffix == ".csv":
        table = pd.read_csv(out, encoding="utf-8-sig", dtype={"code": str})
        assert table["covered"].tolist() == [True, False, False]
        return
    if suffix == ".gpkg":
        assert pyogrio.list_layers(out)[:, 0].tolist() == ["grids", "findings", "summary", "communities"]
        layer = gpd.read_file(out, layer="grids")
        assert layer.geom_type.unique().tolist() == ["Polygon"] and layer.crs.to_epsg() == 4490
    else:
        with pd.ExcelFile(out, engine="openpyxl") as book:
            assert book.sheet_names == ["grids", "findings", "summary", "communities"]
            layer = pd.read_excel(book, sheet_name="grids", dtype={"code": str})
    assert layer["code"].tolist() == [G1, G2, G3] and layer["label"].iloc[1] == "网格党支部：未建"


def test_party_leaders_from_a_roster_and_no_phone_or_id_in_any_output(tmp_path, grids):
    branches = party_csv(tmp_path, [f"联合支部,联合党支部,{G1};{G2};{G3},30"])
    roster = roster_csv(tmp_path)
    out = tmp_path / "party.gpkg"
    text = run("party", "--branches", str(branches), "--grids", str(grids), "--roster", str(roster),
               "--out", str(out))
    assert text.exit_code == 1
    assert "1 grid leaders not party members" in text.stdout
    as_json = run("-q", "party", "--branches", str(branches), "--grids", str(grids), "--roster", str(roster),
                  "--json")
    checks = {(f["check"], f["record"]) for f in json.loads(as_json.stdout)["findings"]}
    assert checks == {("leader_not_party_member", G2), ("leader_party_unknown", G3)}
    written = [gpd.read_file(out, layer=name).to_csv() for name in ("grids", "findings", "summary")]
    for output in (text.stdout, as_json.stdout, *written):
        for private in ("13800000001", "13800000002", "P000001", "P000002", "黄丽", "韦强"):
            assert private not in output
    relaxed = run("party", "--branches", str(branches), "--grids", str(grids), "--roster", str(roster),
                  "--no-leader-rule")
    assert relaxed.exit_code == 0, relaxed.output


def test_party_building_groups_as_gcj02_points_beside_rows_keyed_to_codes(tmp_path, grids):
    buildings = gpd.GeoDataFrame({"楼栋编号": ["B1", "B2"]},
                                 geometry=[box(X + 0.002, Y + 0.004, X + 0.004, Y + 0.006),
                                           box(X + 0.012, Y + 0.004, X + 0.014, Y + 0.006)], crs=4490)
    buildings.to_file(tmp_path / "buildings.gpkg", layer="buildings")
    glon, glat = wgs84_to_gcj02(X + 0.003, Y + 0.005)
    branches = tmp_path / "groups.csv"
    # rows keyed to codes and a row placed by Amap coordinates, the headers naming the system
    branches.write_text(f"类型,网格编码,经度_gcj02,纬度_gcj02\n网格党支部,{G1},,\n网格党支部,{G2},,\n"
                        f"网格党支部,{G3},,\n楼栋党小组,,{float(glon):.7f},{float(glat):.7f}\n",
                        encoding="utf-8")
    result = run("-q", "party", "--branches", str(branches), "--grids", str(grids), "--buildings",
                 str(tmp_path / "buildings.gpkg"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["tables"]["summary"][0]
    assert (summary["buildings"], summary["buildings_covered"]) == (2, 1)


def test_party_bad_inputs_exit_2_naming_the_file_and_the_fix(tmp_path, grids):
    bad = party_csv(tmp_path, [f"一支部,网格党支部,{G1},-3"])
    result = run("party", "--branches", str(bad), "--grids", str(grids))
    assert result.exit_code == 2
    assert "党组织.csv, row 2: members '-3' is negative" in result.stderr and "Fix:" in result.stderr
    missing = run("party", "--branches", str(tmp_path / "none.csv"), "--grids", str(grids))
    assert missing.exit_code == 2 and "none.csv: file not found" in missing.stderr
    wrong = run("party", "--branches", str(bad), "--grids", str(grids), "--out", str(tmp_path / "x.txt"))
    assert wrong.exit_code == 2 and ".gpkg, .xlsx, .csv" in wrong.stderr


def test_party_refuses_to_write_over_its_input(tmp_path, grids):
    branches = party_csv(tmp_path, [f"一支部,网格党支部,{G1},12"])
    before = branches.read_bytes()
    result = run("party", "--branches", str(branches), "--grids", str(grids), "--out", str(branches))
    assert result.exit_code == 2 and "is the same file as --branches" in result.stderr
    assert branches.read_bytes() == before


# --- centres -----------------------------------------------------------------------------------------------

@pytest.fixture
def centres_gpkg(tmp_path) -> Path:
    """A 450 m² community centre as a point and a 280 m² compound centre as a footprint, two layers."""
    path = tmp_path / "centres.gpkg"
    gpd.GeoDataFrame({"名称": ["兴宁社区党群服务中心"], "类型": ["社区服务用房"], "面积": [450.0]},
                     geometry=[Point(X + 0.005, Y + 0.005)], crs=4490).to_file(path, layer="centres")
    gpd.GeoDataFrame({"名称": ["翠竹苑党群服务中心"], "类型": ["小区党群服务中心"], "建筑面积": [280.0]},
                     geometry=[box(X + 0.0141, Y + 0.0041, X + 0.0143, Y + 0.0043)],
                     crs=4490).to_file(path, layer="centre_footprints")
    return path


@pytest.fixture
def units_gpkg(tmp_path) -> Path:
    """A compound polygon holding the footprint (layer units) and a far village point (unit_points)."""
    path = tmp_path / "units.gpkg"
    gpd.GeoDataFrame({"unit_id": ["C1"], "kind": ["住宅小区"], "households": [600]},
                     geometry=[box(X + 0.012, Y + 0.002, X + 0.018, Y + 0.008)],
                     crs=4490).to_file(path, layer="units")
    gpd.GeoDataFrame({"unit_id": ["V1"], "kind": ["自然村"], "households": [80]},
                     geometry=[Point(X + 0.029, Y + 0.009)], crs=4490).to_file(path, layer="unit_points")
    return path


def test_centres_finds_the_short_community_and_compound_and_the_far_village(grids, centres_gpkg, units_gpkg):
    result = run("-q", "centres", "--centres", str(centres_gpkg), "--grids", str(grids), "--units",
                 str(units_gpkg), "--json")
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    found = {f["check"]: f for f in payload["findings"]}
    assert (found["community_below_standard"]["record"], found["community_below_standard"]["short_m2"]) == \
        (COMMUNITY, 50.0)
    assert (found["compound_below_standard"]["record"], found["compound_below_standard"]["short_m2"]) == \
        ("C1", 20.0)
    assert found["far_from_centre"]["record"] == "V1" and found["far_from_centre"]["households"] == 80
    summary = payload["tables"]["summary"][0]
    assert (summary["households"], summary["households_far"]) == (680, 80)


def test_centres_max_distance_and_text_output(grids, centres_gpkg, units_gpkg):
    near = run("centres", "--centres", str(centres_gpkg), "--grids", str(grids), "--units", str(units_gpkg),
               "--max-distance", "5000")
    assert near.exit_code == 1
    assert "0 of 680 households farther than 5,000 m (0.0%)" in near.stdout.splitlines()[0]
    for bad in ("-5", "nan", "0"):
        refused = run("centres", "--centres", str(centres_gpkg), "--grids", str(grids), "--max-distance", bad)
        assert refused.exit_code == 2 and "--max-distance" in refused.stderr


def test_centres_reach_counts_households_outside_the_walking_areas(tmp_path, grids, centres_gpkg, units_gpkg):
    reach = tmp_path / "reach.geojson"
    gpd.GeoDataFrame(geometry=[box(X, Y, X + 2 * W, Y + W)], crs=4490).to_file(reach)
    result = run("centres", "--centres", str(centres_gpkg), "--grids", str(grids), "--units", str(units_gpkg),
                 "--reach", str(reach), "--out", str(tmp_path / "c.gpkg"))
    assert result.exit_code == 1
    assert "80 of 680 households outside the walking areas" in result.stdout
    layer = gpd.read_file(tmp_path / "c.gpkg", layer="grids")
    assert layer["households_far"].tolist() == [0, 0, 80]
    assert layer["label"].tolist()[2] == "步行范围外 80 户（100.0%）"


def test_centres_bad_floor_area_exits_2(tmp_path, grids):
    path = tmp_path / "centres.csv"
    path.write_text("名称,类型,面积,经度,纬度\n甲,社区服务用房,-450,108.305,22.805\n", encoding="utf-8")
    result = run("centres", "--centres", str(path), "--grids", str(grids))
    assert result.exit_code == 2
    assert "centres.csv, row 2: floor_area_m2 '-450' is not above 0" in result.stderr


# --- the sample city ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_sample_finds_exactly_the_flaws_its_readme_documents(demo):
    readme = (ROOT / "data" / "sample" / "README.md").read_text(encoding="utf-8")
    grids = str(demo.gpkg)
    party = run("-q", "party", "--branches", str(ROOT / "data/sample/party.csv"), "--grids", grids,
                "--buildings", str(ROOT / "data/sample/buildings.gpkg"), "--json")
    findings = json.loads(party.stdout)["findings"]
    uncovered = [f["record"] for f in findings if f["check"] == "no_grid_branch"]
    documented = readme.split("* grids without a grid branch:")[1].split(";")[0]
    assert len(uncovered) == 6 and all(code in documented for code in uncovered)
    centres = run("-q", "centres", "--centres", str(ROOT / "data/sample/centres.gpkg"), "--grids", grids,
                  "--units", str(ROOT / "data/sample/sample_city.gpkg"), "--json")
    below = [f["record"] for f in json.loads(centres.stdout)["findings"]
             if f["check"].endswith("below_standard")]
    section = readme.split("Below seed 001's standards")[1]
    assert len(below) == 7 and all(record in section for record in below)
