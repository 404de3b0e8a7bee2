"""gridmap.people.rules: staffing rules as a table (defaults from the seeds, TOML) and check_staffing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from people_fixtures import (
    COMM_R,
    COMM_U,
    DISTRICT,
    EXPECTED,
    MICRO,
    R1,
    RETIRED,
    STREET_R,
    STREET_U,
    U1,
    U2,
    grids,
    personal_values,
    roster_frame,
)

from gridmap.errors import GridmapError, ReadError
from gridmap.people import StaffingRule, StaffingRules, check_staffing, read_roster
from gridmap.people.rules import DEFAULT_RULES, MAX_PEOPLE

# --- the rules table -------------------------------------------------------------------------------------


def test_default_rules_encode_the_seeds():
    table = StaffingRules.default().to_frame()
    rows = table[["role", "level", "min", "max", "kind"]].astype(object).where(table.notna(), None)
    assert rows.values.tolist() == [
        ["instructor", "grid", 1, None, None], ["leader", "grid", 1, 1, None],
        ["full_time", "grid", 1, None, None],
        ["member+doctor+police", "grid", 0, None, None], ["leader+full_time+member", "grid", 3, 4, None],
        ["micro_worker", "micro", 1, None, None], ["auxiliary_police", "community", 1, None, "rural"],
        ["legal_helper", "community", 10, None, None], ["party_leader", "community", 1, 1, None],
        ["order_leader", "community", 1, 1, None], ["district_leader", "district", 1, 1, None],
        ["street_leader", "street", 1, 1, None], ["village_leader", "community", 1, 1, None]]
    assert table["party_required"].tolist() == [False] * 8 + [True] + [False] * 4
    seeds = table["description"].str.extract(r"\((00\d)")[0].tolist()
    assert seeds == ["000"] * 4 + ["001"] + ["003"] * 8  # every rule says where it comes from


def test_rules_read_chinese_words():
    rule = StaffingRule(role=["网格长", "专职网格员", "兼职网格员"], level="网格", min=3, max=4)
    assert rule.role == ("leader", "full_time", "member") and rule.level == "grid"
    rule = StaffingRule(role="辅 警", level="行政村", min=1, kind="村")
    assert (rule.role, rule.level, rule.kind) == (("auxiliary_police",), "community", "rural")


@pytest.mark.parametrize("values, problem", [
    ({"min": -1}, "min = -1 is negative"),
    ({"min": 10**12}, "more than any unit holds"),
    ({"max": 2**63}, "more than any unit holds"),
    ({"min": 1.5}, "not a whole number"),
    ({"min": True}, "not a whole number"),
    ({"min": "3"}, "not a whole number"),
    ({"min": float("nan")}, "not a whole number"),
    ({"min": 5, "max": 4}, "max = 4 is below min = 5"),
    ({"per_households": 0}, "per_households = 0"),
    ({"per_households": -500}, "negative"),
    ({"role": "保安"}, "role '保安' is not a roster role"),
    ({"role": []}, "names no role"),
    ({"level": "省"}, "level '省' is not a roster level"),
    ({"role": "县级网格长"}, "do not serve at level grid"),
    ({"kind": "urban"}, "applies to communities"),
    ({"party_required": "yes"}, "is not true or false"),
])
def test_bad_rules_are_refused_with_the_fix(values, problem):
    with pytest.raises(GridmapError, match=problem) as caught:
        StaffingRule(**{"role": "网格长", "level": "网格", **values})
    assert caught.value.fix


def test_huge_min_is_within_limit_at_the_limit():
    assert StaffingRule(role="法律明白人", level="社区", min=MAX_PEOPLE).min == MAX_PEOPLE


def test_toml_round_trip_and_chinese_keys(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(StaffingRules.default().to_toml(), encoding="utf-8")
    default = StaffingRules.default().to_frame()
    pd.testing.assert_frame_equal(StaffingRules.from_toml(path).to_frame(), default)
    path.write_text('[[rule]]\nrole = ["网格长", "专职网格员"]\nlevel = "网格"\nmin = 2\n'
                    'per_households = 500\ndescription = "城市规定"\n', encoding="utf-8")
    (rule,) = StaffingRules.from_toml(path)
    assert (rule.role, rule.min, rule.per_households, rule.description) == (("leader", "full_time"), 2, 500,
                                                                           "城市规定")


@pytest.mark.parametrize("text, error, where, fix", [
    ('[[rule]]\nrole = "网格长"\nlevel = \n', ReadError, "line 3", "TOML"),
    ('[[rule]]\nrole = "网格长"\nlevel = "网格"\nmni = 1\n', GridmapError, "rule 1 (mni)",
     "use only the keys"),
    ('[[rule]]\nrole = "网格长"\nlevel = "网格"\n[[rule]]\nlevel = "网格"\n', GridmapError, "rule 2",
     "give role"),
    ('[[rules]]\nrole = "网格长"\nlevel = "网格"\n', GridmapError, "keys rules", "[[rule]]"),
    ('title = "x"\n', GridmapError, "keys title", "[[rule]]"),
    ('[[rule]]\nrole = "网格长"\nlevel = "网格"\nmin = -3\n', GridmapError, "rule 1 (min)", "whole number"),
    ('[[rule]]\nrole = "网格长"\nlevel = "网格"\nmax = 1e300\n', GridmapError, "rule 1 (max)",
     "whole number"),
])
def test_bad_toml_names_file_rule_and_fix(tmp_path, text, error, where, fix):
    path = tmp_path / "城市规则.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error) as caught:
        StaffingRules.from_toml(path)
    message = str(caught.value)
    assert str(path) in message and where in message and fix in message


def test_a_gbk_toml_file_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_bytes('[[rule]]\nrole = "网格长"\nlevel = "网格"\n'.encode("gbk"))
    with pytest.raises(ReadError, match="UTF-8"):
        StaffingRules.from_toml(path)


# --- check_staffing on the hand-checked city -------------------------------------------------------------

def found(report) -> set[tuple]:
    frame = report.to_frame()
    errors = frame[frame["severity"] == "error"]
    rules = errors["rule"] if "rule" in errors.columns else pd.Series(np.nan, index=errors.index)
    return {(check, unit, None if pd.isna(rule) else int(rule))
            for check, unit, rule in zip(errors["check"], errors["unit_code"], rules, strict=True)}


def test_the_planted_breaks_and_nothing_else():
    report = check_staffing(read_roster(roster_frame()), grids())
    assert found(report) == EXPECTED
    assert not report.ok
    infos = report.to_frame().query("severity == 'info'")
    assert infos["check"].tolist() == ["no_units", "no_units"]  # the micro-grid worker; rule 6 not checked
    assert infos["record"].tolist() == ["micro", "rule 6"]


def test_present_required_and_vacancies_hand_checked():
    report = check_staffing(read_roster(roster_frame()), grids())
    frame = report.to_frame().set_index(["check", "unit_code", "rule"])
    short = frame.loc[("understaffed", R1, 5.0)]
    assert (short["present"], short["required"], short["vacancies"]) == (2, 3, 3 - 2)
    legal = frame.loc[("understaffed", COMM_R, 8.0)]
    assert (legal["present"], legal["required"], legal["vacancies"]) == (9, 10, 1)
    over = frame.loc[("overstaffed", U2, 5.0)]
    assert (over["present"], over["allowed"], over["excess"]) == (5, 4, 1)
    district = frame.loc[("overstaffed", DISTRICT, 11.0)]
    assert (district["present"], district["allowed"]) == (2, 1)
    retired = report.to_frame().set_index("unit_code").loc[RETIRED]
    assert (retired["check"], retired["people"], retired["roles"]) == ("unknown_unit", 1, "网格长 1")


def test_level_tables_for_maps():
    report = check_staffing(read_roster(roster_frame()), grids())
    grid = report.tables["grid"].set_index("code")
    assert grid.index.tolist() == [U1, U2, R1]
    assert grid[["instructor", "leader", "full_time", "member", "doctor"]].values.tolist() == [
        [1, 1, 1, 1, 0], [1, 1, 1, 3, 0], [1, 0, 1, 1, 1]]
    assert grid["households_per_worker"].tolist()[:2] == [420.0, 380.0]
    # R1 lacks a leader (rule 2) and a third 网格员 (rule 5): the new leader counts for both
    assert grid["vacancies"].tolist() == [0, 0, 1]
    assert grid["rules_broken"].tolist() == [0, 1, 2]
    assert grid.loc[U1, "label"] == "网格长：人员2；专职网格员：人员3；兼职/定岗网格员：人员4"
    assert grid.loc[R1, "label"].endswith("缺员 1（网格长、网格员）")
    community = report.tables["community"].set_index("code")
    assert community.loc[COMM_R, "kind"] == "rural" and community.loc[COMM_U, "kind"] == "urban"
    assert community.loc[COMM_R, "vacancies"] == 1 + 1  # a 法律明白人 and a 辅警
    assert community.loc[COMM_U, "households"] == 800
    assert community.loc[COMM_U, "households_per_worker"] == 800 / 2
    street = report.tables["street"].set_index("code")
    assert street.loc[STREET_U, "street_leader"] == 1 and street.loc[STREET_R, "vacancies"] == 1
    assert set(report.tables) == {"rules", "checks", "district", "street", "community", "grid"}


def test_no_output_names_an_id_or_a_phone_unless_asked():
    roster = read_roster(roster_frame())
    text = check_staffing(roster, grids()).to_json()
    for value in personal_values(roster_frame()):
        assert value not in text
    assert "人员2" in text  # grid leaders' names are public (community boards post them, 000)
    assert "人员15" not in text  # a 法律明白人: counted, not named
    with_contacts = check_staffing(roster, grids(), show_contacts=True)
    phones = with_contacts.tables["grid"]["leader_phone"].tolist()
    assert phones == ["13800000002", "13800000006", np.nan] or phones[:2] == ["13800000002", "13800000006"]
    assert "ID0002" not in with_contacts.to_json()


def test_retired_grid_people_are_not_counted_anywhere():
    roster = read_roster(roster_frame())
    report = check_staffing(roster, grids())
    assert RETIRED not in report.tables["grid"]["code"].tolist()
    assert report.tables["grid"]["leader"].sum() == 2


def test_duplicates_are_counted_once_and_a_person_with_two_names_is_warned():
    frame = roster_frame()
    repeated = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)  # U1's leader twice
    repeated.loc[len(repeated)] = ["ID0003", "别名", "兼职网格员", "网格", U2, "否", "13900000000"]
    report = check_staffing(read_roster(repeated), grids())
    frame_found = report.to_frame()
    duplicate = frame_found[frame_found["check"] == "duplicate_person"]
    assert duplicate["unit_code"].tolist() == [U1] and duplicate["severity"].tolist() == ["warning"]
    assert f"row {len(frame) + 1} repeats" in duplicate["message"].iloc[0]
    conflict = frame_found[frame_found["check"] == "person_conflict"]
    assert conflict["record"].tolist() == [f"row 3, row {len(frame) + 2}"]
    assert "ID0003" not in report.to_json()
    grid = report.tables["grid"].set_index("code")
    assert grid.loc[U1, "leader"] == 1 and grid.loc[U2, "member"] == 4


def test_per_households_rules_and_unknown_households():
    rules = StaffingRules([{"role": "专职网格员", "level": "网格", "min": 1, "max": 1,
                            "per_households": 300}])
    table = grids()
    table["户数"] = [420, 300, None]
    report = check_staffing(read_roster(roster_frame()), table, rules=rules)
    checks = report.tables["checks"].set_index("code")
    assert checks.loc[U1, "required"] == 2 and checks.loc[U1, "allowed"] == 2  # ceil(420 / 300)
    assert checks.loc[U2, "required"] == 1 and pd.isna(checks.loc[R1, "required"])
    frame = report.to_frame().query("severity != 'info'")
    assert frame[["check", "unit_code"]].values.tolist() == [["unknown_unit", RETIRED], ["understaffed", U1],
                                                             ["no_households", R1]]


def test_party_unknown_is_a_warning():
    frame = roster_frame()
    frame.loc[frame["岗位"].eq("党建网格长") & frame["单位编码"].eq(COMM_U), "政治面貌"] = None
    report = check_staffing(read_roster(frame), grids())
    unknown = report.to_frame().query("check == 'party_unknown'")
    assert unknown["unit_code"].tolist() == [COMM_U] and unknown["severity"].tolist() == ["warning"]


def test_units_given_add_communities_without_grids_and_micro_grids():
    units = pd.DataFrame({"code": [COMM_U, "450102001004", MICRO, U1 + "02"],
                          "level": ["社区", "社区", "微网格", "micro"],
                          "name": ["兴宁社区", "新社区", None, None]})
    report = check_staffing(read_roster(roster_frame()), grids(), units=units)
    errors = found(report)
    assert {("understaffed", "450102001004", rule) for rule in (8, 9, 10, 13)} <= errors
    assert ("understaffed", U1 + "02", 6) in errors and ("understaffed", MICRO, 6) not in errors
    assert "no_units" not in report.to_frame()["check"].tolist()
    assert report.tables["community"].set_index("code").loc[COMM_U, "name"] == "兴宁社区"
    assert report.tables["micro"]["micro_worker"].tolist() == [1, 0]


def test_an_empty_roster_leaves_every_post_vacant():
    roster = read_roster(roster_frame()).iloc[:0]
    report = check_staffing(roster, grids())
    assert report.tables["grid"]["vacancies"].tolist() == [4, 4, 4]  # 1+1+1 and a third 网格员
    # 10 法律明白人, 双长 and 村级网格长 (and a 辅警 in the village)
    assert report.tables["community"]["vacancies"].tolist() == [13, 14]


def test_the_old_staff_form_and_chinese_grid_headers_are_accepted():
    roles = ["网格指导员", "网格长", "专职网格员", "兼职网格员"]
    staff = pd.DataFrame({"grid_code": [U1] * 4, "role": roles})
    rules = StaffingRules(DEFAULT_RULES[:5])
    report = check_staffing(staff, grids().iloc[:1], rules=rules)
    assert report.ok and report.tables["grid"]["vacancies"].tolist() == [0]
    assert json.loads(report.to_json())["ok"] is True


# --- properties ------------------------------------------------------------------------------------------

ROLES = ["网格指导员", "网格长", "专职网格员", "兼职网格员", "医生", "法律明白人", "党建网格长", "辅警"]
UNITS = [U1, U2, R1, COMM_U, COMM_R]
posts = st.lists(st.tuples(st.sampled_from(ROLES), st.sampled_from(UNITS)), max_size=40)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(posts)
def test_vacancies_are_the_shortfall_of_every_rule_and_unit(people):
    level = ["网格" if len(unit) == 15 else "社区" for _, unit in people]
    frame = pd.DataFrame({"岗位": [role for role, _ in people], "层级": level,
                          "单位编码": [unit for _, unit in people]})
    frame = frame[~(frame["层级"].eq("社区") & frame["岗位"].isin(ROLES[:5]))]  # those serve grids only
    frame = frame[~(frame["层级"].eq("网格") & frame["岗位"].isin(["党建网格长", "法律明白人", "辅警"]))]
    roster = read_roster(frame) if len(frame) else read_roster(roster_frame()).iloc[:0]
    report = check_staffing(roster, grids())
    checks = report.tables["checks"]
    assert (checks["vacancies"] == (checks["required"] - checks["present"]).clip(lower=0)).all()
    excess = (checks["present"] - checks["allowed"]).clip(lower=0)
    assert (checks["excess"].fillna(0) == excess.fillna(0)).all()
    short = report.to_frame().query("check == 'understaffed'")
    assert len(short) == int((checks["vacancies"] > 0).sum())
    for level in ("grid", "community"):
        table = report.tables[level].set_index("code")
        mine = checks[checks["level"] == level].groupby("code")["vacancies"]
        # posts to fill: at least the largest shortfall of one rule, at most all shortfalls together
        assert (table["vacancies"] >= mine.max().reindex(table.index)).all()
        assert (table["vacancies"] <= mine.sum().reindex(table.index)).all()
    assert report.tables["grid"][["instructor", "leader", "full_time", "member", "doctor"]].to_numpy().sum() \
        == int(frame["层级"].eq("网格").sum())


def test_not_party_member_names_the_level_and_role_of_the_rule():
    report = check_staffing(read_roster(roster_frame()), grids())
    broken = report.to_frame().query("check == 'not_party_member'")
    assert broken[["record", "level", "role", "rule"]].values.tolist() == [
        [COMM_R, "community", "party_leader", 9]]


def buildings_layer():
    """Two building footprints with Chinese headers (楼栋编号, 户数), as data/sample/buildings.gpkg."""
    import geopandas as gpd
    from shapely import box

    return gpd.GeoDataFrame({"楼栋编号": ["B1", "B2"], "楼栋名称": ["1栋", "2栋"], "户数": [40, None]},
                            geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)], crs="EPSG:4545")


def with_building_heads() -> pd.DataFrame:
    """The roster plus a 楼栋长 of B1 and one of B9, a building that does not exist."""
    heads = pd.DataFrame({"人员编号": ["ID0901", "ID0902"], "姓名": ["楼长甲", "楼长乙"],
                          "岗位": ["楼栋长"] * 2, "层级": ["楼栋"] * 2, "单位编码": ["B1", "B9"],
                          "政治面貌": ["群众"] * 2,
                          "联系电话": [None, None]})
    return read_roster(pd.concat([roster_frame(), heads], ignore_index=True))


def test_the_buildings_layer_is_taken_as_units_of_level_building():
    rules = StaffingRules([StaffingRule(role="楼栋长", level="楼栋", min=1)])
    roster = with_building_heads()
    report = check_staffing(roster, grids(), rules=rules, units=[buildings_layer()])
    assert found(report) == {("understaffed", "B2", 1), ("unknown_unit", "B9", None),
                             ("unknown_unit", RETIRED, None)}  # the fixture's retired grid
    table = report.tables["building"]
    assert table[["code", "name", "building_head"]].values.tolist() == [["B1", "1栋", 1], ["B2", "2栋", 0]]
    assert table["households"].iloc[0] == 40 and pd.isna(table["households"].iloc[1])
    coded = pd.DataFrame({"code": ["B1", "B2"], "level": "building"})  # the long way gives the same findings
    assert found(check_staffing(roster, grids(), rules=rules, units=[coded])) == found(report)


def test_base_units_or_a_table_without_codes_are_refused_with_what_to_pass():
    import geopandas as gpd
    from shapely import Point

    from gridmap.errors import SchemaError

    compounds = gpd.GeoDataFrame({"unit_id": ["C0001", "C0002"], "kind": ["住宅小区", "楼栋"]},
                                 geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:4545")
    with pytest.raises(SchemaError, match=r"base units, not buildings: 1 of them, such as 'C0001', "
                                          r"are of kind 'compound'.*Fix: pass the buildings layer "
                                          r".*code and level"):
        check_staffing(read_roster(roster_frame()), grids(), units=[compounds])
    with pytest.raises(SchemaError, match=r"no code column \(columns: name\).*Fix: .*the buildings layer "
                                          r"\(unit_id, 楼栋编号\)"):
        check_staffing(read_roster(roster_frame()), grids(), units=pd.DataFrame({"名称": ["甲"]}))
