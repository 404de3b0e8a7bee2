"""gridmap.people.roster: reading rosters with roles and levels, and what a public output may show of them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from people_fixtures import (
    COMM_R,
    COMM_U,
    DISTRICT,
    MICRO,
    POSTS,
    U1,
    personal_values,
    roster_frame,
    write_gbk_csv,
)

from gridmap.errors import SchemaError
from gridmap.findings import Report
from gridmap.people import as_roster, public_roster, read_roster
from gridmap.people.roster import PUBLIC_NAME_ROLES
from gridmap.schema import (
    PARTY_WORDS,
    ROLE_ALIASES,
    ROLE_LEVELS,
    ROLE_NAMES_ZH,
    ROSTER_COLUMNS,
    ROSTER_ROLES,
    party_membership,
    roster_role,
)

ROOT = Path(__file__).resolve().parents[1]

#: The role and level each post of the fixture must be read as.
READ_AS = {
    "网格指导员": ("instructor", "grid"), "网格长": ("leader", "grid"), "专职网格员": ("full_time", "grid"),
    "兼职网格员": ("member", "grid"), "定岗网格员": ("member", "grid"), "医生(定岗)": ("doctor", "grid"),
    "法律明白人": ("legal_helper", "community"), "党建网格长": ("party_leader", "community"),
    "综治网格长": ("order_leader", "community"), "村级网格长": ("village_leader", "community"),
    "志愿者": ("volunteer", "community"), "街道级网格长": ("street_leader", "street"),
    "县级网格长": ("district_leader", "district"), "一级网格长": ("district_leader", "district"),
    "微网格员": ("micro_worker", "micro"),
}


def test_roles_levels_party_and_phones_of_a_chinese_gbk_roster(tmp_path):
    path = tmp_path / "名单.csv"
    write_gbk_csv(path, roster_frame())
    roster = read_roster(path)
    assert roster.columns.tolist() == list(ROSTER_COLUMNS)
    assert len(roster) == len(POSTS)
    expected = [READ_AS[word] for word, *_ in POSTS]
    # a 网格长 listed at community level is that community's leader (三级网格长)
    at_community = [k for k, post in enumerate(POSTS) if post[:2] == ("网格长", "社区")]
    for k in at_community:
        expected[k] = ("village_leader", "community")
    assert list(zip(roster["role"], roster["level"], strict=True)) == expected
    assert roster["unit_code"].tolist() == [post[2] for post in POSTS]
    party = {"中共党员": True, "是": True, "否": False, "群众": False, None: None}
    assert [None if pd.isna(v) else bool(v) for v in roster["party_member"]] == [party[p[3]] for p in POSTS]
    assert roster["party_member"].dtype == "boolean"
    assert roster["phone"].iloc[0] == "13800000001" and roster["person_id"].iloc[-1] == f"ID{len(POSTS):04d}"


def test_xlsx_with_numbers_in_phone_and_id_cells_keeps_them_as_text(tmp_path):
    frame = roster_frame().head(3)
    frame["联系电话"] = [13800000001, 13800000002, None]
    frame["人员编号"] = [101, 102, 103]
    path = tmp_path / "名单.xlsx"
    frame.to_excel(path, index=False)
    roster = read_roster(path)
    assert roster["phone"].tolist()[:2] == ["13800000001", "13800000002"] and pd.isna(roster["phone"].iloc[2])
    assert roster["person_id"].tolist() == ["101", "102", "103"]
    assert roster["role"].tolist() == ["instructor", "leader", "full_time"]


def test_the_old_staff_table_reads_with_ids_by_row_number():
    path = ROOT / "data" / "sample" / "staff.csv"
    staff = pd.read_csv(path, dtype=str)
    roster = read_roster(path)
    assert roster["person_id"].iloc[0] == "P000001" and roster["person_id"].iloc[-1] == f"P{len(staff):06d}"
    assert (roster["level"] == "grid").all() and roster["unit_code"].tolist() == staff["grid_code"].tolist()
    assert roster["role"].tolist() == staff["role"].tolist()
    assert "community_code" in roster.columns and "grid_code" not in roster.columns


@pytest.mark.parametrize("word, role", [
    (" 网 格 长 ", "leader"), ("ＬＥＡＤＥＲ", "leader"), ("兼职网格员\u3000", "member"),
    ("定岗网格员", "member"),
    ("Full-Time", "full_time"), ("县（区）级网格长", "district_leader"), ("辅\t警", "auxiliary_police"),
    ("楼长", "building_head"), ("社区民警", "police"), ("村(社区)级网格长", "village_leader"),
])
def test_roles_with_blanks_full_width_and_aliases(word, role):
    assert roster_role(word) == role


def test_every_role_has_a_chinese_name_a_level_and_no_word_means_two_roles():
    assert set(ROLE_NAMES_ZH) == set(ROLE_LEVELS) == set(ROSTER_ROLES)
    for role in ROSTER_ROLES:
        assert roster_role(ROLE_NAMES_ZH[role]) == role and roster_role(role) == role
    assert all(roster_role(word) == role for word, role in ROLE_ALIASES.items())
    assert ROSTER_ROLES[:4] == ("instructor", "leader", "full_time", "member")  # 1+1+1+N keep their keys


def test_an_unknown_role_is_an_error_naming_file_row_and_the_roles(tmp_path):
    frame = roster_frame().head(4)
    frame.loc[2, "岗位"] = "保安员"
    path = tmp_path / "名单.csv"
    write_gbk_csv(path, frame)
    with pytest.raises(SchemaError) as caught:
        read_roster(path)
    message = str(caught.value)
    assert str(path) in message and "row 4" in message and "'保安员'" in message
    for name in ("网格指导员", "兼职/定岗网格员", "法律明白人", "辅警"):
        assert name in message
    report = Report("roster")
    roster = read_roster(path, report=report)  # with a report: a finding, and the row kept without a role
    assert report.to_frame()[["check", "record"]].values.tolist() == [["unknown_role", "row 4"]]
    assert len(roster) == 4 and pd.isna(roster["role"].iloc[2])


def test_closest_role_is_named():
    with pytest.raises(SchemaError, match="the closest is '专职网格员'"):
        read_roster(pd.DataFrame({"岗位": ["专职网格"], "网格编码": [U1]}))


@pytest.mark.parametrize("change, check, fix", [
    ({"层级": "省"}, "unknown_level", "district (城区/县)"),
    ({"层级": "市级"}, "unknown_level", "building (楼栋)"),
    ({"岗位": "县级网格长", "层级": "网格"}, "role_level", "give level district"),
    ({"政治面貌": "也许"}, "unknown_party", "是/否"),
    ({"单位编码": None}, "no_unit", "fill in the code"),
    ({"岗位": None}, "unknown_role", "use one of"),
])
def test_bad_levels_party_words_and_missing_units(change, check, fix):
    frame = roster_frame().head(2)
    for column, value in change.items():
        frame.loc[1, column] = value
    with pytest.raises(SchemaError, match="row 2") as caught:
        read_roster(frame)
    assert fix in str(caught.value)
    report = Report("roster")
    read_roster(frame, report=report)
    assert report.to_frame()["check"].tolist() == [check]


def test_blank_rows_are_skipped_and_vacant_posts_are_no_people():
    frame = roster_frame().head(3)
    blank = pd.DataFrame([[None] * len(frame.columns)], columns=frame.columns)
    vacant = pd.DataFrame([[None, "空缺", "网格长", "网格", U1, None, None]], columns=frame.columns)
    unnamed = pd.DataFrame([[None, " ", "专职网格员", "网格", U1, None, None]], columns=frame.columns)
    report = Report("roster")
    roster = read_roster(pd.concat([frame, blank, vacant, unnamed], ignore_index=True), report=report)
    assert len(roster) == 3
    found = report.to_frame()
    assert found["check"].tolist() == ["vacant_post", "vacant_post"] and set(found["severity"]) == {"info"}
    assert found["record"].tolist() == ["row 5", "row 6"]


def test_without_an_id_column_rows_are_numbered_and_blank_ids_take_the_row():
    frame = roster_frame().head(3).drop(columns="人员编号")
    assert read_roster(frame)["person_id"].tolist() == ["P000001", "P000002", "P000003"]
    frame = roster_frame().head(3)
    frame.loc[1, "人员编号"] = None
    assert read_roster(frame)["person_id"].tolist() == ["ID0001", "row 2", "ID0003"]


def test_missing_role_or_unit_columns_are_errors():
    with pytest.raises(SchemaError, match="no role column"):
        read_roster(pd.DataFrame({"网格编码": [U1], "姓名": ["甲"]}))
    with pytest.raises(SchemaError, match="no unit column"):
        read_roster(pd.DataFrame({"岗位": ["网格长"], "姓名": ["甲"]}))


def test_caller_frame_is_left_as_it_was():
    frame = roster_frame()
    before = frame.copy()
    read_roster(frame)
    pd.testing.assert_frame_equal(frame, before)


@given(st.sampled_from(sorted(PARTY_WORDS)), st.sampled_from(["", " ", "\u3000", "\t"]), st.booleans())
def test_party_words_read_with_blanks_and_full_width(word, blank, upper):
    text = blank + (word.upper() if upper else word) + blank
    assert party_membership(text) is PARTY_WORDS[word]


# --- public outputs --------------------------------------------------------------------------------------

def test_public_roster_names_leaders_and_workers_and_counts_the_rest():
    roster = read_roster(roster_frame())
    public = public_roster(roster)
    assert public.columns.tolist() == ["unit_code", "level", "role", "role_zh", "name", "count"]
    named = public[public["name"].notna()]
    assert set(named["role"]) == set(PUBLIC_NAME_ROLES)
    assert (named["count"] == 1).all()
    expected_named = roster["role"].isin(PUBLIC_NAME_ROLES).sum()
    assert len(named) == expected_named
    counted = public[public["name"].isna()].set_index(["unit_code", "role"])["count"]
    assert counted[(COMM_U, "legal_helper")] == 10 and counted[(COMM_R, "legal_helper")] == 9
    assert counted[(DISTRICT, "district_leader")] == 2 and counted[(MICRO, "micro_worker")] == 1
    assert public["count"].sum() == len(roster)
    text = public.to_csv()
    for value in personal_values(roster_frame()):
        assert value not in text


def test_show_contacts_adds_the_phones_of_the_named_people_only():
    roster = read_roster(roster_frame())
    public = public_roster(roster, show_contacts=True)
    named = public[public["name"].notna()]
    assert named["phone"].notna().all() and public.loc[public["name"].isna(), "phone"].isna().all()
    leader = roster[(roster["role"] == "leader") & (roster["unit_code"] == U1)].iloc[0]
    assert leader["phone"] in named["phone"].tolist()
    assert "person_id" not in public.columns


def test_as_roster_passes_a_roster_through_and_reads_anything_else():
    roster = read_roster(roster_frame())
    assert as_roster(roster) is roster
    staff = pd.DataFrame({"grid_code": [U1], "role": ["网格长"], "name": ["甲"]})
    assert as_roster(staff)[["role", "level", "unit_code"]].values.tolist() == [["leader", "grid", U1]]
