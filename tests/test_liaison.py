"""gridmap.people.liaison: 全覆盖联系 (004) — each unit has a leader of the level above linked to it."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from people_fixtures import COMM_R, COMM_U, DISTRICT, R1, STREET_R, STREET_U, U1, U2, grids, write_gbk_csv

from gridmap.errors import SchemaError
from gridmap.people import check_liaison, read_liaison
from gridmap.schema import LIAISON_COVERS

RETIRED_R = COMM_R + "009"


def links_frame() -> pd.DataFrame:
    """Seven leaders; one row per leader except 己, given one row per link."""
    rows = [
        ("L1", "甲", "市级", "4501", STREET_U, "13900000001"),
        ("L2", "乙", "城区", DISTRICT, f"{COMM_U}、{COMM_R}", "13900000002"),
        ("L3", "丙", "城区", DISTRICT, U1, "13900000003"),
        ("L4", "丁", "街道", STREET_U, f"{U1};{U2}；{R1}", "13900000004"),
        ("L5", "戊", "街道", STREET_R, RETIRED_R, "13900000005"),
        ("L6", "己", "社区", COMM_U, U1, "13900000006"),
        ("L6", "己", "社区", COMM_U, U2, "13900000006"),
        ("L7", "庚", "社区", COMM_R, R1, "13900000007"),
    ]
    return pd.DataFrame(rows, columns=["人员编号", "姓名", "层级", "单位编码", "联系单位", "联系电话"])


def findings(report) -> set[tuple]:
    frame = report.to_frame()
    return {(row.check, row.unit_code, getattr(row, "leader_level", None)) for row in frame.itertuples()}


def test_gaps_wrong_links_and_retired_units_hand_checked(tmp_path):
    path = tmp_path / "联系表.csv"
    write_gbk_csv(path, links_frame())
    report = check_liaison(read_liaison(path), grids())
    frame = report.to_frame()
    got = {(c, u, lvl) for c, u, lvl in zip(frame["check"], frame["unit_code"], frame["leader_level"],
                                            strict=True)}
    assert got == {
        ("no_liaison", STREET_R, "city"),          # the city leader covers one street of two
        ("no_liaison", R1, "street"),              # 丁's link to R1 lies outside his street
        ("outside_unit", R1, "street"),
        ("other_level", U1, "district"),           # 丙, a district leader, linked to a grid
        ("unknown_unit", RETIRED_R, "street"),     # 戊 linked to a retired grid
    }
    assert frame.set_index("check").loc["outside_unit", "record"] == R1
    assert "row 5" in frame.set_index("check").loc["outside_unit", "message"]  # 丁 is row 5 of the file
    assert not report.ok


def test_unit_tables_count_the_liaisons_of_each_level():
    report = check_liaison(links_frame(), grids())
    grid = report.tables["grid"].set_index("code")
    assert grid[["street_liaisons", "community_liaisons"]].values.tolist() == [[1, 1], [1, 1], [0, 1]]
    assert grid["covered"].tolist() == [True, True, False]
    assert grid.loc[R1, "label"] == "街道/乡镇级联系领导 0（缺）；社区/村级联系领导 1"
    community = report.tables["community"].set_index("code")
    assert community["district_liaisons"].to_dict() == {COMM_U: 1, COMM_R: 1}
    street = report.tables["street"].set_index("code")
    assert street["city_liaisons"].to_dict() == {STREET_U: 1, STREET_R: 0}
    assert set(LIAISON_COVERS.values()) == {"street", "community", "grid"}


def test_leaders_over_the_limit_are_named_by_row_not_by_name():
    report = check_liaison(links_frame(), grids(), limit=1)
    over = report.to_frame().query("check == 'too_many_links'")
    assert over["record"].tolist() == ["row 2", "row 4", "row 6, row 7"]  # 乙, 丁, 己 (two rows) of the frame
    assert over["links"].tolist() == [2, 3, 2] and over["unit_code"].tolist() == [DISTRICT, STREET_U, COMM_U]
    text = report.to_json()
    for value in [*links_frame()["联系电话"], *links_frame()["人员编号"], "乙", "丁"]:
        assert value not in text
    leaders = report.tables["leaders"]
    assert leaders["links"].tolist() == [1, 2, 1, 3, 1, 2, 1] and leaders["over_limit"].sum() == 3


def test_limits_per_level_and_contacts_when_asked():
    report = check_liaison(links_frame(), grids(), limit={"street": 2}, show_contacts=True)
    over = report.to_frame().query("check == 'too_many_links'")
    assert over["name"].tolist() == ["丁"] and over["phone"].tolist() == ["13900000004"]
    assert report.tables["leaders"]["name"].tolist()[:2] == ["甲", "乙"]


@pytest.mark.parametrize("limit, match", [(0, "1 or more"), (-3, "1 or more"), ("30", "whole number"),
                                          ({"province": 3}, "not a level")])
def test_bad_limits(limit, match):
    with pytest.raises(SchemaError, match=match):
        check_liaison(links_frame(), grids(), limit=limit)


def test_bad_levels_and_missing_columns_name_the_row():
    frame = links_frame()
    frame.loc[3, "层级"] = "省级"
    with pytest.raises(SchemaError, match=r"row 4: level '省级' is not a level of the liaison") as caught:
        read_liaison(frame)
    assert "city (市)" in str(caught.value)
    with pytest.raises(SchemaError, match="no linked_codes column"):
        read_liaison(links_frame().drop(columns="联系单位"))
    with pytest.raises(SchemaError, match="no level column"):
        read_liaison(links_frame().drop(columns="层级"))


def test_leaders_without_ids_are_known_by_name_and_unnamed_ones_by_row():
    frame = links_frame().drop(columns="人员编号")
    frame.loc[7, "姓名"] = None
    links = read_liaison(frame)
    assert links.loc[links["name"] == "己", "person_id"].nunique() == 1  # two rows, one leader
    assert links["person_id"].iloc[-1] == "row 8"
    report = check_liaison(links, grids(), limit=1)
    assert report.to_frame().query("check == 'too_many_links'")["record"].tolist() == ["row 2", "row 4",
                                                                                      "row 6, row 7"]


def test_a_leader_with_no_unit_linked_and_units_given(tmp_path):
    frame = links_frame()
    frame.loc[len(frame)] = ["L8", "辛", "社区", COMM_U, None, None]
    units = pd.DataFrame({"code": [COMM_U, COMM_R, "450102001004"], "name": ["兴宁社区", "双安村", "新社区"]})
    report = check_liaison(frame, grids(), units=units)
    assert ("no_liaison", "450102001004", "district") in findings(report)
    assert report.tables["leaders"]["links"].iloc[-1] == 0
    assert report.tables["community"].set_index("code").loc[COMM_U, "name"] == "兴宁社区"


codes = [STREET_U, STREET_R, COMM_U, COMM_R, U1, U2, R1]
link_lists = st.lists(st.tuples(st.integers(0, 5), st.sampled_from(codes)), max_size=20)
LEVELS = ["市级", "城区", "街道", "社区", "街道", "社区"]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(link_lists)
def test_one_row_per_link_or_codes_in_one_cell_give_the_same_report(links):
    long = pd.DataFrame({"人员编号": [f"L{k}" for k, _ in links], "层级": [LEVELS[k] for k, _ in links],
                         "联系单位": [code for _, code in links]})
    wide = long.groupby(["人员编号", "层级"], sort=False)["联系单位"].agg("、".join).reset_index()
    if long.empty:
        long = wide = pd.DataFrame({"人员编号": ["L9"], "层级": ["市级"], "联系单位": [None]})
    one, other = check_liaison(long, grids()), check_liaison(wide, grids())
    columns = ["check", "unit_code"]
    found = [sorted(map(tuple, report.to_frame()[columns].values)) for report in (one, other)]
    assert found[0] == found[1]
    for level in ("street", "community", "grid"):
        table = one.tables[level]
        gaps = one.to_frame().query("check == 'no_liaison'")
        # a unit is covered exactly when no no_liaison finding names it
        assert set(table.loc[~table["covered"], "code"]) == set(gaps["unit_code"]) & set(table["code"])
