"""``gridmap map`` (gridmap.cli.map) run with CliRunner on a GeoPackage like `gridmap build` writes."""

import json
import re

import click
import pandas as pd
import pytest
from click.testing import CliRunner
from maps_fixtures import sample_city

from gridmap.cli import EXIT_BAD_INPUT, _GridmapGroup
from gridmap.cli.map import map_command
from gridmap.datasets import sample_path
from gridmap.io import write_layer


def cli() -> click.Group:
    """The command inside a group like ``gridmap.cli.main`` (same error handling, same ctx.obj)."""
    @click.group(cls=_GridmapGroup)
    @click.option("--debug", is_flag=True)
    @click.option("-q", "--quiet", is_flag=True)
    @click.pass_context
    def group(ctx, debug, quiet):
        ctx.obj = {"quiet": quiet, "debug": debug}

    group.add_command(map_command)
    return group


def run(*args):
    return CliRunner().invoke(cli(), ["map", *(str(arg) for arg in args)])


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory):
    """grids, units, communities, streets, districts and cases, as gridmap build and read_cases write them."""
    sample, grids = sample_city()
    path = tmp_path_factory.mktemp("cli_map") / "city.gpkg"
    write_layer(grids, path, "grids")
    for name in ("units", "communities", "streets", "districts", "cases"):
        write_layer(getattr(sample, name), path, name, mode="a")
    return path


def grid_spec(page: str) -> dict:
    return json.loads(re.search(r"gridmap\.gridLayer\((\{.*?\})\);\n", page).group(1))


def test_whole_city_map(gpkg, tmp_path):
    out = tmp_path / "map.html"
    result = run(gpkg, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {out} (map of {len(sample_city()[1])} grids)"
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", page)
    spec = grid_spec(page)
    assert spec["codes"] == sample_city()[1]["code"].tolist()
    assert "gridmap.heat(" in page  # the cases layer of the GeoPackage is used


def test_one_community_in_english_with_a_measure(gpkg, tmp_path):
    out = tmp_path / "community.html"
    result = run(gpkg, "--out", out, "--community", "990102001003", "--lang", "en", "--measure",
                 "cases_per_1000", "--period", "2025-06")
    assert result.exit_code == 0, result.output
    spec = grid_spec(out.read_text(encoding="utf-8"))
    assert all(code.startswith("990102001003") for code in spec["codes"]) and spec["codes"]
    assert spec["measures"][spec["measure"]]["key"] == "cases_per_1000"
    assert spec["fields"][0]["label"] == "Type"


def test_public_cockpit(gpkg, tmp_path):
    out = tmp_path / "cockpit.html"
    result = run(gpkg, "--out", out, "--cockpit", "--public", "--period", "2025-06", "--title", "示例市")
    assert result.exit_code == 0, result.output
    assert "small counts suppressed" in result.output
    page = out.read_text(encoding="utf-8")
    assert "<h1>示例市</h1>" in page and "gridmap.heat(" not in page


def test_static_map_of_a_street(gpkg, tmp_path):
    out = tmp_path / "street.png"
    result = run(gpkg, "--out", out, "--street", "990102001", "--measure", "households")
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, message", [
    (["--community", "990102001003", "--street", "990102001"], "not both"),
    (["--cockpit", "--community", "990102001003"], "--cockpit"),
])
def test_conflicting_options_are_usage_errors(gpkg, tmp_path, args, message):
    result = run(gpkg, "--out", tmp_path / "x.html", *args)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "x.html").exists()


def test_unknown_community_is_bad_input_and_writes_nothing(gpkg, tmp_path):
    result = run(gpkg, "--out", tmp_path / "x.html", "--community", "990102999003")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "no grid lies in community 990102999003" in result.output and "Fix:" in result.output
    assert list(tmp_path.iterdir()) == []


def test_bad_output_name(gpkg, tmp_path):
    result = run(gpkg, "--out", tmp_path / "map.txt")
    assert result.exit_code == 2 and "--out" in result.output


def test_any_grid_layer_with_codes_works(tmp_path):
    _, grids = sample_city()
    path = tmp_path / "grids.geojson"
    write_layer(grids[["code", "households", "geometry"]].head(30), path)
    out = tmp_path / "map.html"
    result = run(path, "--out", out)
    assert result.exit_code == 0, result.output
    spec = grid_spec(out.read_text(encoding="utf-8"))
    assert spec["codes"] == grids["code"].head(30).tolist()
    density = spec["measures"][spec["measure"]]
    assert density["classes"] == "-" * 30 and density["colors"] == []  # no population: no data, not an error
    assert [item["c"] for item in density["items"]] == ["-"]


def test_quiet(gpkg, tmp_path):
    result = CliRunner().invoke(cli(), ["-q", "map", str(gpkg), "--out", str(tmp_path / "m.html")])
    assert result.exit_code == 0 and result.output == ""


# --- --tiles: your own base map --------------------------------------------------------------------------

SAMPLE_BOUNDS = (108.234, 22.734, 108.364, 22.869)  # the sample city's districts, WGS84


@pytest.fixture(scope="module")
def tiles_folder(tmp_path_factory):
    from tiles_fixtures import city_tiles, write_folder

    return write_folder(tmp_path_factory.mktemp("底图") / "tiles", city_tiles(SAMPLE_BOUNDS, [10, 11, 12]))


def test_map_on_a_folder_of_gcj02_tiles(gpkg, tmp_path, tiles_folder):
    out = tmp_path / "map.html"
    result = run(gpkg, "--out", out, "--tiles", tiles_folder, "--tiles-crs", "gcj02")
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "L.TileLayer.extend" in page and len(re.findall(r'"12/\d+/\d+":"data:image/png', page)) >= 4
    plain = tmp_path / "plain.html"
    assert run(gpkg, "--out", plain).exit_code == 0
    fitted = [json.loads(re.findall(r"\.fitBounds\(\s*(\[\[.*?\]\])", text, re.S)[-1])  # the map's own
              for text in (page, plain.read_text(encoding="utf-8"))]
    assert 0.003 < fitted[0][0][1] - fitted[1][0][1] < 0.007  # drawn in GCJ-02: ~0.004° east of WGS84


def test_map_on_builtin_gaode_needs_no_tiles_crs(gpkg, tmp_path):
    out = tmp_path / "gaode.html"
    result = run(gpkg, "--out", out, "--tiles", "gaode")
    assert result.exit_code == 0, result.output
    assert "https://webrd0{s}.is.autonavi.com" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message", [
    (["--tiles", "TILES"], "--tiles TILES needs --tiles-crs: gcj02"),
    (["--tiles-crs", "gcj02"], "give --tiles too"),
    (["--tiles", "gaode", "--basemap", "osm"], "give --basemap or --tiles, not both"),
])
def test_tiles_options_that_do_not_go_together(gpkg, tmp_path, tiles_folder, args, message):
    args = [str(tiles_folder) if arg == "TILES" else arg for arg in args]
    message = message.replace("TILES", str(tiles_folder))
    result = run(gpkg, "--out", tmp_path / "x.html", *args)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "x.html").exists()


def test_static_map_has_no_base_map(gpkg, tmp_path):
    result = run(gpkg, "--out", tmp_path / "x.png", "--tiles", "gaode")
    assert result.exit_code == 2 and "static map has no base map" in result.output


def test_bad_tiles_are_bad_input_naming_the_file_and_the_fix(gpkg, tmp_path):
    table = tmp_path / "网格.mbtiles"
    table.write_bytes("编码,名称\n1,翠竹\n".encode("gbk"))
    for source, problem in ((tmp_path / "missing", "there is no tile folder or MBTiles file here"),
                            (table, "the file is not an MBTiles file (not SQLite)"),
                            ("http://tiles/{z}/{x}.png", "the URL template has no {y}")):
        result = run(gpkg, "--out", tmp_path / "x.html", "--tiles", source, "--tiles-crs", "wgs84")
        assert result.exit_code == EXIT_BAD_INPUT, result.output
        assert problem in result.output and str(source) in result.output and "Fix:" in result.output
        assert not (tmp_path / "x.html").exists()


def test_out_cannot_overwrite_the_tiles(gpkg, tmp_path):
    from tiles_fixtures import png, write_mbtiles

    tiles = write_mbtiles(tmp_path / "city.mbtiles", {(12, 3280, 1781): png()})
    before = tiles.read_bytes()
    result = run(gpkg, "--out", tiles, "--tiles", tiles, "--tiles-crs", "wgs84")
    assert result.exit_code == EXIT_BAD_INPUT and "--tiles" in result.output
    assert tiles.read_bytes() == before


# --- layers for people and field work --------------------------------------------------------------------

SAMPLE = sample_path()
NO_BRANCH = "990102002003005"  # a grid of 滨江社区 without a grid party branch (data/sample/README.md)


def overlay_specs(page: str) -> dict[str, dict]:
    """Each overlay's spec in the page, by kind."""
    found = [json.loads(text) for text in re.findall(r"gridmap\.overlay\((\{.*?\}), \w+\);\n", page)]
    return {spec["key"].split("_")[1]: spec for spec in found}


def test_layers_for_people_are_drawn_from_the_sample_files_naming_no_phone_or_id(gpkg, tmp_path):
    out = tmp_path / "people.html"
    result = run(gpkg, "--out", out, "--community", "990102002003", "--roster", SAMPLE / "roster.csv",
                 "--party", SAMPLE / "party.csv", "--liaison", SAMPLE / "liaison.csv")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("(map of community 990102002003, 3 layers for people and field "
                                          "work)")
    page = out.read_text(encoding="utf-8")
    specs = overlay_specs(page)
    assert list(specs) == ["staffing", "party", "liaison"]
    codes = grid_spec(page)["codes"]
    party = specs["party"]
    assert len(party["features"]) == len(codes)
    uncovered = next(f for f in party["features"] if codes[f["g"]] == NO_BRANCH)
    assert party["styles"][uncovered["s"]]["fillColor"] == "#d73027"
    roster = pd.read_csv(SAMPLE / "roster.csv", dtype=str)
    links = pd.read_csv(SAMPLE / "liaison.csv", dtype=str)
    private = {*roster["phone"].dropna(), *roster["person_id"], *links["phone"].dropna(), *links["person_id"]}
    assert not [value for value in private if value in page]


@pytest.mark.parametrize("args, message", [
    (["--paths", "FOOTPATHS"], "give --centres too"),
    (["--index"], "need cases"),
    (["--feedback", "FEEDBACK"], "give --index too"),
    (["--patrol-rules", "RULES"], "give --patrols too"),
    (["--patrols", "CHECKINS"], "a FILE with a units layer"),
])
def test_layer_options_that_do_not_go_together(tmp_path, args, message):
    _, grids = sample_city()
    path = tmp_path / "grids.gpkg"
    write_layer(grids.head(10), path, "grids")
    (tmp_path / "rules.toml").write_text("[patrols]\nwithin_m = 30\n", encoding="utf-8")
    files = {"FOOTPATHS": SAMPLE / "footpaths.gpkg", "FEEDBACK": SAMPLE / "case_feedback.csv",
             "RULES": tmp_path / "rules.toml", "CHECKINS": SAMPLE / "patrol_checkins.csv"}
    args = [str(files.get(arg, arg)) for arg in args]
    result = run(path, "--out", tmp_path / "x.html", *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "x.html").exists()


def test_layers_go_on_html_pages(gpkg, tmp_path):
    result = run(gpkg, "--out", tmp_path / "map.png", "--party", SAMPLE / "party.csv")
    assert result.exit_code == 2 and "drawn on .html pages" in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_out_cannot_overwrite_a_layer_file(gpkg, tmp_path):
    roster = tmp_path / "roster.html"
    roster.write_bytes((SAMPLE / "roster.csv").read_bytes())
    result = run(gpkg, "--out", roster, "--roster", roster)
    assert result.exit_code == EXIT_BAD_INPUT and "--roster" in result.output
    assert roster.read_bytes() == (SAMPLE / "roster.csv").read_bytes()



VILLAGE = "990121100201"  # 11 grids of 城关镇, whose workers check in (data/sample/README.md, Patrols)
NO_CHECKIN = "990121100201011"  # no check-in all week


@pytest.fixture(scope="module")
def village(tmp_path_factory):
    """The grids of one village and the sample's units (the grids' unit_ids say whose they are), no cases."""
    sample, grids = sample_city()
    path = tmp_path_factory.mktemp("cli_map_village") / "village.gpkg"
    write_layer(grids[grids["code"].str.startswith(VILLAGE).to_numpy()], path, "grids")
    write_layer(sample.units, path, "units", mode="a")
    return path


def test_patrol_layer_from_the_sample_checkins_and_rules_of_ones_own(village, tmp_path):
    rules = tmp_path / "巡查规则.toml"
    rules.write_text('[patrols]\nrequired = [{type = "rural", count = 2, per = "day"}]\n', encoding="utf-8")
    out = tmp_path / "patrols.html"
    result = run(village, "--out", out, "--patrols", SAMPLE / "patrol_checkins.csv", "--patrol-rules", rules,
                 "--community", VILLAGE)
    assert result.exit_code == 0, result.output
    # check-ins draw no tracks on a community page, and say nothing about it
    assert result.output.strip().endswith(f"(map of community {VILLAGE}, 1 layer for people and field work)")
    assert "track" not in result.output and "轨迹" not in result.output
    page = out.read_text(encoding="utf-8")
    assert list(overlay_specs(page)) == ["patrols"]
    spec = overlay_specs(page)["patrols"]
    codes = grid_spec(page)["codes"]
    rows = {codes[f["g"]]: dict(zip(spec["fields"], f["v"][1:], strict=True)) for f in spec["features"]}
    assert set(rows) == set(codes) and spec["fields"][0] == "巡查覆盖率"
    assert rows[NO_CHECKIN]["巡查覆盖率"] == "0.0%" and rows[NO_CHECKIN]["距上次巡查"] == "期间未巡查"
    assert rows[NO_CHECKIN]["巡查次数（实际/应巡）"] == "0/14"  # a rural grid: 2 a day for a week


def test_a_patrol_file_that_cannot_be_read_is_named(village, tmp_path):
    records = tmp_path / "巡查记录.csv"
    records.write_bytes("姓名,备注\n韦静梅,外出\n".encode("gbk"))
    out = tmp_path / "patrols.html"
    result = run(village, "--out", out, "--patrols", records)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert str(records) in result.output and "no time column" in result.output
    assert "Traceback" not in result.output and not out.exists()


TRACKED = "990102001001"  # 3 grids of 民主街道, walked by the sample's GPS tracks (data/sample/README.md)
WORKERS = ("P000003", "P000007", "P000011")  # their full-time workers


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """The grids of one community, the sample's units, and its workers' week of tracks as an app exports
    them: GBK CSV, Chinese headers (2,163 points)."""
    sample, grids = sample_city()
    folder = tmp_path_factory.mktemp("cli_map_tracked")
    write_layer(grids[grids["code"].str.startswith(TRACKED).to_numpy()], folder / "tracked.gpkg", "grids")
    write_layer(sample.units, folder / "tracked.gpkg", "units", mode="a")
    tracks = pd.read_parquet(SAMPLE / "patrols.parquet")
    tracks = tracks[tracks["person_id"].isin(WORKERS).to_numpy()]
    tracks.columns = ["人员编号", "定位时间", "经度", "纬度", "坐标系", "所属网格"]
    tracks.to_csv(folder / "轨迹.csv", index=False, encoding="gbk")
    return folder


def test_a_community_page_draws_its_tracks_by_role_a_street_page_none(tracked, tmp_path):
    roster = tmp_path / "花名册.csv"  # GBK, Chinese headers: two of the community's full-time workers
    roster.write_bytes("人员编号,姓名,岗位,网格编码,手机\n"  # and one listed as a volunteer
                       "P000003,韦静梅,专职网格员,990102001001001,199-0000-0003\n"
                       "P000007,张文国,志愿者,990102001001002,199-0000-0006\n"
                       "P000011,陆杰雪,专职网格员,990102001001003,199-0000-0009\n".encode("gbk"))
    out = tmp_path / "tracks.html"
    result = run(tracked / "tracked.gpkg", "--out", out, "--community", TRACKED, "--patrols",
                 tracked / "轨迹.csv", "--roster", roster)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    specs = overlay_specs(page)
    assert list(specs) == ["staffing", "patrols", "tracks"]
    fields = specs["tracks"]["fields"]
    rows = [dict(zip(fields, f["v"][1:], strict=True)) for f in specs["tracks"]["features"]]
    assert {(row["人员"], row["姓名"]) for row in rows} == {
        ("专职网格员", "韦静梅"), ("专职网格员", "陆杰雪"), ("志愿者", None)}
    assert len(rows) >= 3 * 5 and "张文国" not in page  # a volunteer is not named
    assert not [value for value in (*WORKERS, "199-0000-0003") if value in page]
    street = tmp_path / "street.html"
    result = run(tracked / "tracked.gpkg", "--out", street, "--street", TRACKED[:9], "--patrols",
                 tracked / "轨迹.csv")
    assert result.exit_code == 0, result.output
    assert list(overlay_specs(street.read_text(encoding="utf-8"))) == ["patrols"]
