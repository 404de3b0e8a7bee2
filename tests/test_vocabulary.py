"""One vocabulary (issues 15 and 16): unit kind words, levels, list fields and Chinese headers in the API."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from shapely import Point, box

import gridmap
from gridmap import cases as gcases
from gridmap.cli import main
from gridmap.division import GridRules
from gridmap.errors import SchemaError
from gridmap.maps.layers import _LABELS, UNIT_COLORS
from gridmap.schema import (
    CODE_LENGTHS,
    DEDICATED_KINDS,
    HANDLING_LEVELS,
    LABELS_ZH,
    LEVELS,
    ROLLUP_LEVELS,
    UNIT_KIND_WORDS,
    UNIT_KINDS,
    alias_renames,
    closest_word,
    find_column,
    join_ids,
    split_ids,
    unit_kind,
    unit_kind_table,
)

ROOT = Path(__file__).resolve().parent.parent

# --- unit kind words ---------------------------------------------------------------------------------------

# The words of issue 16, with the kind each must be read as.
ISSUE_WORDS = {
    "小区": "compound", "住宅小区": "compound", "楼栋": "building", "楼宇": "building",
    "building": "building",
    "自然村": "natural_village", "屯": "natural_village", "组": "natural_village",
    "村民小组": "natural_village", "商务楼宇": "office_building", "写字楼": "office_building",
    "产业园区": "industrial_park", "工业园区": "industrial_park", "园区": "industrial_park",
    "商圈": "market", "市场": "market", "农贸市场": "market", "商场": "market", "学校": "school",
    "小学": "school", "中学": "school", "幼儿园": "school", "医院": "hospital", "卫生院": "hospital",
    "社区卫生服务中心": "hospital", "车站": "transport_hub", "交通枢纽": "transport_hub",
    "机关": "institution", "企事业单位": "institution",
}


@pytest.mark.parametrize("word, kind", sorted(ISSUE_WORDS.items()))
def test_issue_words_are_read_as_their_kind(word, kind):
    assert unit_kind(word) == kind
    fixed, report = gridmap.validate_units(units_layer([word]))
    assert fixed["kind"].tolist() == [kind] and report.ok


@pytest.mark.parametrize("variant, kind", [
    ("　小　学 ", "school"), ("ＳＣＨＯＯＬ", "school"), ("Office-Building", "office_building"),
    ("office_building", "office_building"), ("natural village", "natural_village"),
    ("车\t站", "transport_hub"),
    ("Transport_Hub", "transport_hub"), ("楼 栋", "building"), ("农贸市场\u3000", "market"),
])
def test_full_width_case_and_blank_variants_normalise(variant, kind):
    assert unit_kind(variant) == kind


def test_every_word_names_a_kind_and_every_kind_has_names_colours_and_labels():
    assert set(UNIT_KIND_WORDS.values()) == set(UNIT_KINDS)
    assert set(DEDICATED_KINDS) < set(UNIT_KINDS)
    for kind in UNIT_KINDS:
        assert LABELS_ZH[kind] in UNIT_KIND_WORDS, kind  # the Chinese name is itself a word of the table
        assert kind in UNIT_COLORS and kind in _LABELS["en"], kind
    keys = [re.sub(r"[\s_\-]+", "", w).lower() for w in UNIT_KIND_WORDS]
    assert len(keys) == len(set(keys)), "two words of the table compare equal"


def test_readme_shows_the_generated_table_of_words():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert unit_kind_table() in readme
    for word in UNIT_KIND_WORDS:
        assert word in readme


@pytest.mark.parametrize("word, closest", [("幼儿园区", "幼儿园"), ("农贸市埸", "农贸市场"),
                                           ("Schol", "school"), ("工业区", "工业园区"), ("菜地", None)])
def test_closest_word_is_found_with_rapidfuzz(word, closest):
    assert closest_word(word, UNIT_KIND_WORDS) == closest


def test_an_unknown_word_is_an_error_listing_the_words_and_the_closest():
    fixed, report = gridmap.validate_units(units_layer(["幼儿园区", "菜地"]))
    found = report.to_frame().query("check == 'unknown_kind'")
    assert found["record"].tolist() == ["row 1 (U1)", "row 2 (U2)"]
    first, second = found["message"].tolist()
    assert "the closest is '幼儿园' (school)" in first and "closest" not in second
    for word in ("住宅小区", "楼栋", "村民小组", "农贸市场", "卫生院", "车站", "企事业单位"):
        assert word in second
    with pytest.raises(SchemaError, match="the closest is '幼儿园'"):
        gridmap.validate_units(units_layer(["幼儿园区"]), strict=True)


def test_rules_default_dedicated_kinds_include_the_new_kinds():
    assert {"transport_hub", "institution"} <= set(GridRules().dedicated_kinds)


# --- gridmap build and build_grids with the words ---------------------------------------------------------

COMMUNITY = "450102001001"  # village digits 001: an urban community
X, Y, D = 108.30, 22.80, 0.001


def units_layer(kinds: list[str]) -> gpd.GeoDataFrame:
    n = len(kinds)
    return gpd.GeoDataFrame({"unit_id": [f"U{i + 1}" for i in range(n)], "name": [f"u{i}" for i in range(n)],
                             "kind": kinds}, geometry=[Point(X + i * D, Y) for i in range(n)], crs=4490)


def city_with_words() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """One urban community: a big compound with four 楼栋, a 车站 and a 机关 (polygons)."""
    communities = gpd.GeoDataFrame({"code": [COMMUNITY], "name": ["兴宁社区"]},
                                   geometry=[box(X, Y, X + 8 * D, Y + 4 * D)], crs=4490)
    rows = [("C1", "住宅小区", 900, box(X + 0.2 * D, Y + 0.2 * D, X + 3.8 * D, Y + 3.8 * D), None)]
    rows += [(f"C1-{i}", "楼栋", 225, Point(X + (1 + 2 * (i % 2)) * D, Y + (1 + 2 * (i // 2)) * D), "C1")
             for i in range(4)]
    rows += [("S1", "车站", 0, box(X + 4.2 * D, Y + 0.2 * D, X + 7.8 * D, Y + 1.8 * D), None),
             ("S2", "机关", 0, box(X + 4.2 * D, Y + 2.2 * D, X + 7.8 * D, Y + 3.8 * D), None)]
    units = gpd.GeoDataFrame(
        {"unit_id": [r[0] for r in rows], "name": [r[0] for r in rows], "kind": [r[1] for r in rows],
         "households": [r[2] for r in rows], "population": [r[2] * 3 or 300 for r in rows],
         "parent_unit": [r[4] for r in rows]}, geometry=[r[3] for r in rows], crs=4490)
    return communities, units


def test_build_grids_reads_the_words_splits_buildings_and_makes_dedicated_grids():
    communities, units = city_with_words()
    build = gridmap.build_grids(communities, units, rules=GridRules(city_households=(300, 500)))
    grids = build.grids.set_index("unit_ids")
    assert grids.loc["S1", "type"] == "dedicated" and grids.loc["S2", "type"] == "dedicated"
    compound_grids = grids[grids.index.str.startswith("C1-")]
    assert len(compound_grids) >= 2, "the 900-household compound is split along its buildings"
    assert set(split_ids(join_ids(compound_grids.index))) == {f"C1-{i}" for i in range(4)}
    # the split grids together cover the compound's land
    compound = units.geometry.iloc[0]
    covered = shapely.union_all(compound_grids.geometry.to_numpy()).intersection(compound).area
    assert covered == pytest.approx(compound.area, rel=1e-6)


@pytest.mark.parametrize("spelling", ["building", "楼栋"])
def test_gridmap_build_accepts_building_units(tmp_path, spelling):
    communities, units = city_with_words()
    units.loc[units["kind"] == "楼栋", "kind"] = spelling
    source = tmp_path / "city.gpkg"
    communities.to_file(source, layer="communities")
    units.to_file(source, layer="units")
    out = tmp_path / "out.gpkg"
    result = CliRunner().invoke(main, ["build", "--communities", f"{source}", "--communities-layer",
                                       "communities", "--units", f"{source}", "--units-layer", "units",
                                       "--out", f"{out}"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    grids = gpd.read_file(out, layer="grids")
    assert (grids["type"] == "dedicated").sum() == 2
    assert any(ids.startswith("C1-") for ids in grids["unit_ids"])


def test_build_grids_names_the_closest_word_for_an_unknown_kind():
    communities, units = city_with_words()
    units.loc[5, "kind"] = "车 站台"
    with pytest.raises(SchemaError, match="closest is '车站'"):
        gridmap.build_grids(communities, units)


# --- levels and list fields -------------------------------------------------------------------------------

def test_levels_are_defined_once(package_syntax):
    assert ROLLUP_LEVELS == ("grid", *reversed(LEVELS)) == HANDLING_LEVELS
    assert [CODE_LENGTHS[level] for level in LEVELS] == [6, 9, 12]
    # every assignment of a tuple or list literal in every module (parsed once per run, tests/conftest.py)
    modules = {path.relative_to(ROOT).as_posix() for path in (ROOT / "gridmap").rglob("*.py")}
    assert set(package_syntax) == modules
    defined = [f"{path}:{line}" for path, syntax in package_syntax.items()
               for line, values in syntax["sequences"] if {"street", "district"} <= set(values)]
    assert len(defined) == 1 and defined[0].startswith("gridmap/schema.py:"), defined


ids = st.lists(st.text(st.characters(blacklist_characters=";,，；、|", blacklist_categories=("Z", "C")),
                       min_size=1, max_size=8), max_size=6)


@given(ids)
def test_split_ids_inverts_join_ids(values):
    assert split_ids(join_ids(values)) == values


def test_split_ids_reads_the_separators_people_type():
    for text in ("U1;U2", "U1，U2", "U1、 U2", " U1 | U2 ", "U1,U2;"):
        assert split_ids(text) == ["U1", "U2"]
    assert split_ids(None) == split_ids(float("nan")) == split_ids("") == []


# ";" that is not a list of ids: ring coordinates of map shapes, SQL statements
NOT_ID_LISTS = {"schema.py", "_widgets.py", "_topology.py", "_registry_sql.py"}


def test_no_module_splits_or_joins_ids_by_hand():
    pattern = re.compile(r"""(['"]);\1\.join\(|\.split\(\s*(['"]);\2\s*\)|\[;,，；、""")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in (ROOT / "gridmap").rglob("*.py")
                 if path.name not in NOT_ID_LISTS
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == []


# --- Chinese headers in the public API --------------------------------------------------------------------

def chinese_layers() -> dict[str, gpd.GeoDataFrame]:
    """Communities, grids, units, cases and another department's grids, all with Chinese headers."""
    code = COMMUNITY
    return {
        "communities": gpd.GeoDataFrame({"区划代码": [code], "名称": ["兴宁社区"], "备注": ["x"]},
                                        geometry=[box(X, Y, X + 4 * D, Y + 2 * D)], crs=4490),
        "grids": gpd.GeoDataFrame({"网格编码": [code + "001", code + "002"], "社区代码": [code, code],
                                   "户数": [350, 400], "人口": [900, 1000], "备注": ["a", "b"]},
                                  geometry=[box(X, Y, X + 2 * D, Y + 2 * D),
                                            box(X + 2 * D, Y, X + 4 * D, Y + 2 * D)], crs=4490),
        "units": gpd.GeoDataFrame({"编号": ["U1", "U2"], "名称": ["甲小区", "乙小区"],
                                   "类型": ["小区", "住宅小区"], "户数": [350, 400], "人口": [900, 1000],
                                   "社区代码": [code, code],
                                   "备注": ["a", "b"]},
                                  geometry=[box(X + 0.2 * D, Y + 0.2 * D, X + 1.8 * D, Y + 1.8 * D),
                                            box(X + 2.2 * D, Y + 0.2 * D, X + 3.8 * D, Y + 1.8 * D)],
                                  crs=4490),
        "cases": gpd.GeoDataFrame({"事件编号": ["E1", "E2", "E3"], "上报时间": ["2025-03-01 09:00"] * 3,
                                   "备注": ["a", "b", "c"]},
                                  geometry=[Point(X + D, Y + D), Point(X + 3 * D, Y + D),
                                            Point(X + 3.5 * D, Y + D)], crs=4490),
        "other": gpd.GeoDataFrame({"编号": ["A"], "名称": ["城管网格"]},
                                  geometry=[box(X + D, Y, X + 3 * D, Y + 2 * D)], crs=4490),
    }


def _check(layers):
    report = gridmap.check(layers["grids"], layers["communities"], layers["units"])
    assert report.ok, report.to_frame()


def _crosswalk(layers):
    table = gridmap.crosswalk(layers["grids"], layers["other"], other_code="编号")
    assert sorted(table["grid_code"]) == [COMMUNITY + "001", COMMUNITY + "002"]
    assert table["share_of_other"].sum() == pytest.approx(1.0)


def _crosswalk_summary(layers):
    table = gridmap.crosswalk(layers["grids"], layers["other"], other_code="编号")
    summary = gridmap.crosswalk_summary(table)
    assert summary["relation"].tolist() == ["split"]


def _build_grids(layers):
    build = gridmap.build_grids(layers["communities"], layers["units"])
    assert list(build.units.columns[:7]) == list(layers["units"].columns[:7])  # the caller's headers
    assert build.units["社区代码"].tolist() == [COMMUNITY] * 2
    assert sorted(build.grids["unit_ids"]) == ["U1", "U2"]


def _assign_units(layers):
    units, report = gridmap.assign_units(layers["units"], layers["communities"])
    assert list(units.columns) == list(layers["units"].columns)
    assert units["社区代码"].tolist() == [COMMUNITY] * 2 and report.ok


def _validate_admin(layers):
    admin, report = gridmap.validate_admin(layers["communities"])
    assert admin["code"].tolist() == [COMMUNITY] and "备注" in admin.columns and report.ok


def _validate_units(layers):
    units, report = gridmap.validate_units(layers["units"])
    assert units["kind"].tolist() == ["compound"] * 2 and "备注" in units.columns and report.ok


def _summarize(layers):
    table = gridmap.summarize(layers["grids"], layers["cases"], by="community")
    assert table[["code", "cases", "population"]].values.tolist() == [[COMMUNITY, 3, 1900]]


def _cases_assign(layers):
    cases = gcases.assign(layers["cases"], layers["grids"])
    assert list(cases.columns[:4]) == list(layers["cases"].columns)
    assert cases["grid_code"].tolist() == [COMMUNITY + "001", COMMUNITY + "002", COMMUNITY + "002"]


def _in_grids(layers):
    given = pd.DataFrame({"网格编码": [COMMUNITY + "002"]})
    assert gcases.in_grids(given, layers["grids"])["grid_code"].tolist() == [COMMUNITY + "002"]


def _grid_index(layers):
    index = gridmap.GridIndex(layers["grids"])
    assert index.codes[index.locate([X + D], [Y + D])].tolist() == [COMMUNITY + "001"]
    assert index.community_codes.tolist() == [COMMUNITY] * 2


def _coverage(layers):
    assert gridmap.coverage_gaps(layers["grids"], layers["communities"]).empty
    assert gridmap.coverage_overlaps(layers["grids"]).empty


def _add_hierarchy(layers):
    table = gridmap.add_hierarchy(pd.DataFrame(layers["communities"].drop(columns="geometry")))
    assert table["street_code"].tolist() == [COMMUNITY[:9]] and "区划代码" in table.columns


def _registry(layers, tmp_path):
    build = gridmap.build_grids(layers["communities"], layers["units"]).grids
    build = build.rename(columns={"community_code": "社区代码", "households": "户数"})
    with gridmap.Registry(tmp_path / "registry.sqlite") as registry:
        coded = registry.assign(build, when="2025-01-06")
    assert sorted(coded["code"]) == [COMMUNITY + "001", COMMUNITY + "002"]
    assert {"社区代码", "户数"} <= set(coded.columns) and "community_code" not in coded.columns


def _maps(layers, tmp_path):
    page = gridmap.maps.one_screen(layers["grids"], cases=layers["cases"], units=layers["units"])
    html = page.get_root().render()
    assert COMMUNITY + "001" in html and COMMUNITY + "002" in html
    png = gridmap.maps.static_map(layers["grids"], tmp_path / "grids.png", measure="households", lang="en")
    assert png.stat().st_size > 1000


CALLS = {"check": _check, "crosswalk": _crosswalk, "crosswalk_summary": _crosswalk_summary,
         "build_grids": _build_grids, "assign_units": _assign_units, "validate_admin": _validate_admin,
         "validate_units": _validate_units, "summarize": _summarize, "cases.assign": _cases_assign,
         "cases.in_grids": _in_grids, "GridIndex": _grid_index, "coverage_gaps/overlaps": _coverage,
         "add_hierarchy": _add_hierarchy, "Registry.assign": _registry, "maps": _maps}


@pytest.mark.parametrize("name", list(CALLS))
def test_public_functions_take_chinese_headers(name, tmp_path):
    layers = chinese_layers()
    before = {key: frame.copy() for key, frame in layers.items()}
    if name in ("Registry.assign", "maps"):
        CALLS[name](layers, tmp_path)
    else:
        CALLS[name](layers)
    for key, frame in layers.items():  # the caller's frames are left as they were
        pd.testing.assert_frame_equal(pd.DataFrame(frame), pd.DataFrame(before[key]))


def test_readme_crosswalk_example_works_on_layers_read_from_files(tmp_path):
    layers = chinese_layers()
    layers["grids"].to_file(tmp_path / "grids.geojson")
    layers["other"].to_file(tmp_path / "other.geojson")
    grids = gridmap.read_layer(tmp_path / "grids.geojson")   # 网格编码 is read as grid_code
    other = gridmap.read_layer(tmp_path / "other.geojson")   # 编号 is read as unit_id
    assert "grid_code" in grids.columns and "unit_id" in other.columns
    assert gridmap.check(grids).ok
    table = gridmap.crosswalk(grids, other, other_code="编号")
    assert set(table["other_code"]) == {"A"}


def test_alias_resolution_keeps_a_model_column_that_is_present():
    assert alias_renames(["code", "网格编码"], {"code": ("grid_code",)}) == {}
    assert alias_renames(["grid_code"], {"code": ("grid_code",)}) == {"grid_code": "code"}
    assert find_column(["unit_id"], "编号") == "unit_id" and find_column(["备注"], "编号") is None
