"""``gridmap zones`` and ``gridmap circles`` (issue 21), run with CliRunner on small hand-made files."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from shapely import LineString, Point, box

from gridmap.cli import main
from gridmap.cli.circles import parse_minutes
from gridmap.cli.zones import parse_radius
from gridmap.crs import convert
from gridmap.io import list_layers, read_layer

METRIC = "EPSG:4545"
X0, Y0 = 500_000.0, 2_520_000.0
C1, C2 = "990102001001", "990102001002"


def run(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def at(x: float, y: float = 0.0) -> Point:
    return Point(X0 + x, Y0 + y)


@pytest.fixture
def files(tmp_path):
    """Grids (three 200 m squares, two communities) and sites with Chinese headers, in degrees."""
    grids = gpd.GeoDataFrame({"网格编码": [C1 + "001", C1 + "002", C2 + "001"], "社区代码": [C1, C1, C2]},
                             geometry=[box(X0 + 200 * i, Y0, X0 + 200 * (i + 1), Y0 + 200) for i in range(3)],
                             crs=METRIC).to_crs(4490)
    sites = gpd.GeoDataFrame({"场所编号": ["S1", "S2", "H1"], "场所名称": ["一小", "二小", "医院"],
                              "场所类型": ["小学", "中学", "医院"]},
                             geometry=[at(100, 100), at(250, 100), at(400, 100)], crs=METRIC).to_crs(4490)
    grids.to_file(tmp_path / "grids.gpkg", layer="grids")
    sites.to_file(tmp_path / "sites.gpkg", layer="sites")
    return tmp_path


# --- gridmap zones ------------------------------------------------------------------------------------------

def test_zones_writes_the_four_layers_and_says_what_it_wrote(files):
    out = files / "zones.gpkg"
    result = run("zones", "--sites", files / "sites.gpkg", "--grids", files / "grids.gpkg", "--radius",
                 "学校=100,医院=50", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(list_layers(out)) == ["coverage", "grids", "report", "zones"]
    zones = read_layer(out, "zones")
    assert zones[["zone_id", "kind", "site_ids", "radius_m"]].values.tolist() == [
        ["Z001", "school", "S1;S2", 100.0], ["Z002", "hospital", "H1", 50.0]]
    coverage = pyogrio.read_dataframe(out, layer="coverage")  # a table
    hospital = coverage[(coverage["zone_id"] == "Z002") & (coverage["level"] == "grid")]
    assert hospital["code"].tolist() == [C1 + "002", C2 + "001"]  # on the edge: half in each
    assert hospital["share_of_zone"].tolist() == pytest.approx([0.5, 0.5], abs=1e-6)
    assert result.stdout.splitlines()[-1].startswith(
        f"wrote {out} (2 zones (学校 1, 医院 1) around 3 sites entering 3 grids, 2 communities, 1 streets")


def test_zones_json_holds_the_table_and_the_findings_with_their_codes(files):
    result = run("-q", "zones", "--sites", files / "sites.gpkg", "--grids", files / "grids.gpkg", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["zones"] == 2 and payload["out"] is None
    assert {row["level"] for row in payload["table"]} == {"grid", "community", "street"}
    crossing = [f for f in payload["findings"] if f["check"] == "crosses_communities"]
    assert crossing and all(f["code"].startswith("Z") and C1 in f["community_codes"] for f in crossing)


def test_zones_reads_gbk_csv_sites_in_gcj02(files):
    lon, lat = gpd.GeoSeries([at(300, 100)], crs=METRIC).to_crs(4326).iloc[0].coords[0]
    glon, glat = convert(lon, lat, "wgs84", "gcj02")
    table = pd.DataFrame({"场所名称": ["阳光幼儿园"], "场所类型": ["幼儿园"], "经度": [float(glon)],
                          "纬度": [float(glat)]})
    table.to_csv(files / "sites.csv", index=False, encoding="gbk")
    result = run("-q", "zones", "--sites", files / "sites.csv", "--coords", "gcj02", "--grids",
                 files / "grids.gpkg", "--radius", "幼儿园=50", "--json")
    assert result.exit_code == 0, result.output
    grid = [row for row in json.loads(result.stdout)["table"] if row["level"] == "grid"]
    assert [(row["code"], round(row["share_of_zone"], 6)) for row in grid] == [(C1 + "002", 1.0)]


@pytest.mark.parametrize("radius, message", [
    ("学校", "expected KIND=METRES such as 学校=300, got '学校'"),
    ("学校=-3", "got '学校=-3'"),
    ("学校=abc", "got '学校=abc'"),
    ("加油站=100", "radius names '加油站', which is no kind of site"),
])
def test_zones_refuses_a_bad_radius_in_one_line(files, radius, message):
    result = run("zones", "--sites", files / "sites.gpkg", "--grids", files / "grids.gpkg", "--radius",
                 radius)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_zones_names_the_sites_file_and_record_of_an_unknown_kind(files):
    sites = read_layer(files / "sites.gpkg")
    sites.loc[1, "kind"] = "幼儿圆"
    sites.to_file(files / "bad.gpkg", layer="sites")
    result = run("zones", "--sites", files / "bad.gpkg", "--grids", files / "grids.gpkg", "--out",
                 files / "z.gpkg")
    assert result.exit_code == 2
    assert f"{files / 'bad.gpkg'}, feature 2: site kind '幼儿圆'" in result.stderr
    assert "closest is '幼儿园'" in result.stderr
    assert not (files / "z.gpkg").exists()


def test_zones_never_overwrites_an_input_and_wants_a_geopackage(files):
    sites = files / "sites.gpkg"
    before = sites.read_bytes()
    result = run("zones", "--sites", sites, "--grids", files / "grids.gpkg", "--out", sites)
    assert result.exit_code == 2 and sites.read_bytes() == before
    result = run("zones", "--sites", sites, "--grids", files / "grids.gpkg", "--out", files / "z.csv")
    assert result.exit_code == 2 and "is not a GeoPackage name" in result.stderr


def test_parse_radius_reads_chinese_commas_and_blanks():
    assert parse_radius(None, None, " 学校 = 300 ，医院=250, ") == {"学校": 300.0, "医院": 250.0}
    assert parse_radius(None, None, None) == {}


# --- gridmap circles ----------------------------------------------------------------------------------------

@pytest.fixture
def walk(tmp_path):
    """A 2 km path, a centre at its west end, two compounds and a school beside it, two communities."""
    gpd.GeoDataFrame({"name": ["步道"]}, geometry=[LineString([(X0, Y0), (X0 + 2000, Y0)])],
                     crs=METRIC).to_crs(4490).to_file(tmp_path / "paths.gpkg", layer="footpaths")
    gpd.GeoDataFrame({"编号": ["SC1"], "名称": ["民主社区服务中心"]}, geometry=[at(0)],
                     crs=METRIC).to_crs(4490).to_file(tmp_path / "centres.gpkg", layer="centres")
    communities = gpd.GeoDataFrame({"code": [C1, C2], "name": ["民主社区", "朝阳社区"], "level": "community"},
                                   geometry=[box(X0 - 100, Y0 - 100, X0 + 900, Y0 + 100),
                                             box(X0 + 900, Y0 - 100, X0 + 2100, Y0 + 100)], crs=METRIC)
    units = gpd.GeoDataFrame({"unit_id": ["C1", "C2", "S1"], "name": ["甲小区", "乙小区", "实验小学"],
                              "kind": ["compound", "compound", "school"], "households": [300, 200, 0],
                              "population": [900, 600, 1500]},
                             geometry=[at(600, 30), at(1600, -30), at(700, -30)], crs=METRIC)
    city = tmp_path / "city.gpkg"
    communities.to_crs(4490).to_file(city, layer="communities")
    units.to_crs(4490).to_file(city, layer="units")
    return tmp_path


def test_circles_along_the_paths_count_households_per_community(walk):
    out = walk / "circles.gpkg"
    result = run("circles", "--centres", walk / "centres.gpkg", "--roads", walk / "paths.gpkg", "--units",
                 walk / "city.gpkg", "--units-layer", "units", "--communities", walk / "city.gpkg",
                 "--communities-layer", "communities", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(list_layers(out)) == ["circle_counts", "circles", "communities", "outside", "report"]
    circles = read_layer(out, "circles")
    assert circles["network_m"].round(1).tolist() == [375.0, 750.0, 1125.0]
    assert circles["label"].tolist() == [f"民主社区服务中心 {m}分钟步行圈" for m in (5, 10, 15)]
    communities = read_layer(out, "communities")
    reached = communities.set_index(["community_code", "minutes"])["households_in"].to_dict()
    assert reached == {(C1, 5.0): 0, (C1, 10.0): 300, (C1, 15.0): 300, (C2, 5.0): 0, (C2, 10.0): 0,
                       (C2, 15.0): 0}
    assert read_layer(out, "outside")["unit_id"].tolist() == ["C2"]
    assert result.stdout.splitlines()[-1] == (
        f"wrote {out} (3 circles (1 centres × 5, 10, 15 minutes, along the network); households reached of "
        "500: 5 min 0, 10 min 300, 15 min 300; 1 compounds outside every circle)")


def test_circles_without_roads_warn_and_carry_the_caveat_in_json(walk):
    result = run("circles", "--centres", walk / "centres.gpkg", "--minutes", "10,20", "--speed", "4",
                 "--units", walk / "city.gpkg", "--units-layer", "units", "--json")
    assert result.exit_code == 0, result.output
    assert "gridmap: warning: service_circles: no road network was given" in result.stderr
    payload = json.loads(result.stdout)
    assert payload["method"] == "straight_line" and "直线距离" in payload["caveat"]
    assert payload["minutes"] == [10.0, 20.0] and payload["circles"] == 2
    # 4 km/h: 667 m in 10 minutes reaches 甲小区 (600 m), 1,333 m in 20 does not reach 乙小区 (1,600 m)
    assert payload["households_in"] == {"10": 300, "20": 300}
    # the units carry no community_code and no communities were given: said, and counted under ''
    assert {f["check"] for f in payload["findings"]} == {"straight_line", "outside_circles", "no_community"}


@pytest.mark.parametrize("args, message", [
    (["--minutes", "5,0"], "expected minutes such as 5,10,15"),
    (["--minutes", "十五"], "expected minutes such as 5,10,15"),
    (["--speed", "0"], "Invalid value for '--speed'"),
    (["--walk-off", "nan"], "Invalid value for '--walk-off'"),
])
def test_circles_refuses_bad_options_in_one_line(walk, args, message):
    result = run("circles", "--centres", walk / "centres.gpkg", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_circles_prints_a_summary_without_out(walk):
    result = run("circles", "--centres", walk / "centres.gpkg", "--roads", walk / "paths.gpkg")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "3 circles (1 centres × 5, 10, 15 minutes, along the network)"


def test_parse_minutes():
    assert parse_minutes(None, None, "15") == (15.0,)
    assert parse_minutes(None, None, "5,10，15") == (5.0, 10.0, 15.0)
