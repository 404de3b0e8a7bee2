"""gridmap.staffing: reading rosters and finding 1+1+1+N gaps, on the sample city and small inline data."""

from __future__ import annotations

import pandas as pd
import pytest
from cases_fixtures import sample_city, sample_grids

from gridmap.codes import assign_sequential_codes
from gridmap.errors import SchemaError
from gridmap.report import Report
from gridmap.staffing import check, normalize_roles, read_staff

# The sample roster's deliberate gaps, as data/sample/README.md lists them.
DOCUMENTED = {("no_leader", "990102001004012"), ("no_leader", "990102002001002"),
              ("several_leaders", "990102002005008"), ("no_full_time", "990103001002001")}


def roster_grids(staff: pd.DataFrame) -> pd.DataFrame:
    """The grids the roster plans (community + 001..n), with invented households."""
    grids = staff[["grid_code", "community_code"]].drop_duplicates().rename(columns={"grid_code": "code"})
    return grids.assign(households=400).reset_index(drop=True)


def test_sample_roster_gaps_are_the_documented_ones():
    staff = sample_city().staff
    report = check(roster_grids(staff), staff)
    found = set(map(tuple, report.to_frame()[["check", "record"]].to_numpy()))
    assert found == DOCUMENTED
    assert not report.ok
    table = report.tables["grids"].set_index("code")
    assert table.loc["990102002005008", "leaders"] == 2
    assert table.loc["990103001002001", "gaps"] == "no_full_time"
    community = report.tables["community"].set_index("code")
    assert community.loc["990102002005", "grids_with_gaps"] == 1
    grids = report.tables["grids"]
    for level in ("community", "street", "district"):
        columns = ["instructors", "leaders", "full_time", "members", "households"]
        summed = grids.groupby(f"{level}_code")[columns].sum()
        assert (summed == report.tables[level].set_index("code")[columns]).all().all(), level
    assert report.tables["district"]["grids_with_gaps"].sum() == 4


def test_built_grids_against_the_planned_roster():
    staff = sample_city().staff
    built = assign_sequential_codes(sample_grids().drop(columns="code"))
    report = check(built, staff)
    found = report.to_frame()
    unknown = set(staff["grid_code"]) - set(built["code"])
    unstaffed = set(built["code"]) - set(staff["grid_code"])
    assert set(found.loc[found["check"] == "unknown_grid", "record"]) == unknown
    no_leader = set(found.loc[found["check"] == "no_leader", "record"])
    assert unstaffed <= no_leader
    assert no_leader - unstaffed <= {code for check_, code in DOCUMENTED if check_ == "no_leader"}
    table = report.tables["grids"].set_index("code")
    staffed = table[table["full_time"] > 0]
    assert (staffed["households_per_worker"] == staffed["households"] / staffed["full_time"]).all()


def test_read_staff_chinese_headers_and_roles(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text("网格编码,岗位,姓名,联系电话\n450102001003001,网格长,黄丽,13800000001\n"
                    "450102001003001,专职网格员,李强,13800000002\n450102001003001,保安,王五,13800000003\n",
                    encoding="gbk")
    report = Report("t")
    staff = read_staff(path, report=report)
    assert staff.columns.tolist() == ["grid_code", "role", "name", "phone"]
    assert staff["role"].tolist()[:2] == ["leader", "full_time"] and pd.isna(staff["role"].iloc[2])
    assert staff["phone"].iloc[0] == "13800000001"
    assert report.to_frame()[["check", "record"]].values.tolist() == [["unknown_role", "record 3"]]
    (tmp_path / "bad.csv").write_text("姓名,电话\n黄丽,1\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="grid_code"):
        read_staff(tmp_path / "bad.csv")


def test_check_small_roster():
    grids = pd.DataFrame({"code": ["A", "B"], "community_code": ["450102001003"] * 2,
                          "households": [420, 380]})
    staff = pd.DataFrame({"grid_code": ["A", "A", "A", "A", "B", "B", "Z"],
                          "role": ["网格指导员", "网格长", "专职网格员", "专职网格员", "网格长", "网格长",
                                   "leader"]})
    report = check(grids, staff)
    assert report.to_frame()[["check", "record"]].values.tolist() == [
        ["unknown_grid", "Z"], ["several_leaders", "B"], ["no_instructor", "B"], ["no_full_time", "B"]]
    table = report.tables["grids"].set_index("code")
    assert table.loc["A", "households_per_worker"] == 210.0
    assert pd.isna(table.loc["B", "households_per_worker"])
    with pytest.raises(SchemaError, match="role"):
        check(grids, staff.drop(columns="role"))


def test_normalize_roles():
    roles = pd.Series(["网格指导员", "网格长", "专职网格员", "定岗网格员", "FULL_TIME"])
    assert normalize_roles(roles).tolist() == ["instructor", "leader", "full_time", "member", "full_time"]
