"""gridmap.people.staffing: reading rosters, finding 1+1+1+N gaps, on the sample city and inline data."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from cases_fixtures import sample_city, sample_grids

from gridmap.codes import assign_sequential_codes
from gridmap.errors import SchemaError
from gridmap.findings import Report
from gridmap.people.staffing import check, normalize_roles, read_staff

#: The check reporting each gap of the sample README's staff table.
CHECK_OF_GAP = {"no leader": "no_leader", "two leaders": "several_leaders",
                "no full-time worker": "no_full_time"}


def documented_gaps() -> set[tuple[str, str]]:
    """The sample roster's deliberate gaps as data/sample/README.md lists them: (check, grid code)."""
    text = (sample_city().path / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d{15}) \| [^|]+ \| ([^|]+?) \|$", text, flags=re.MULTILINE)
    return {(CHECK_OF_GAP[gap], code) for code, gap in rows}


def first_coded_grids() -> pd.DataFrame:
    """The sample's built grids with the codes a registry gives them first (per community, reading order)."""
    return assign_sequential_codes(sample_grids().drop(columns="code"))


def test_sample_roster_gaps_are_the_documented_ones():
    staff = sample_city().staff
    documented = documented_gaps()
    assert sorted(check_ for check_, _ in documented) == ["no_full_time", "no_leader", "no_leader",
                                                          "several_leaders"]
    report = check(first_coded_grids(), staff)
    found = set(map(tuple, report.to_frame()[["check", "record"]].to_numpy()))
    assert found == documented  # no unknown grid, no unstaffed grid: only the planted gaps
    assert not report.ok
    table = report.tables["grids"].set_index("code")
    two_leaders = next(code for check_, code in documented if check_ == "several_leaders")
    no_full_time = next(code for check_, code in documented if check_ == "no_full_time")
    assert table.loc[two_leaders, "leaders"] == 2
    assert table.loc[no_full_time, "gaps"] == "no_full_time"
    community = report.tables["community"].set_index("code")
    in_community = sum(code.startswith(two_leaders[:12]) for _, code in documented)
    assert community.loc[two_leaders[:12], "grids_with_gaps"] == in_community
    grids = report.tables["grids"]
    for level in ("community", "street", "district"):
        columns = ["instructors", "leaders", "full_time", "members", "households"]
        summed = grids.groupby(f"{level}_code")[columns].sum()
        assert (summed == report.tables[level].set_index("code")[columns]).all().all(), level
    assert report.tables["district"]["grids_with_gaps"].sum() == 4


def test_every_built_grid_of_the_sample_is_staffed():
    staff = sample_city().staff
    built = first_coded_grids()
    assert set(built["code"]) == set(staff["grid_code"])
    report = check(built, staff)
    found = report.to_frame()
    assert not found["check"].isin(["unknown_grid", "no_instructor", "unknown_role"]).any()
    no_leader = set(found.loc[found["check"] == "no_leader", "record"])
    assert no_leader == {code for check_, code in documented_gaps() if check_ == "no_leader"}
    table = report.tables["grids"].set_index("code")
    assert len(table) == len(built) and (table["instructors"] == 1).all() and (table["members"] >= 1).all()
    posts = ["instructors", "leaders", "full_time", "members"]
    assert table[posts].to_numpy().sum() == len(staff)  # every person counted in the grid they serve
    assert (table["households"] == built.set_index("code")["households"].reindex(table.index)).all()
    staffed = table[table["full_time"] > 0]
    assert len(staffed) == len(table) - 1
    assert (staffed["households_per_worker"] == staffed["households"] / staffed["full_time"]).all()


def test_read_staff_chinese_headers_and_roles(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text("网格编码,岗位,姓名,联系电话\n450102001003001,网格长,黄丽,13800000001\n"
                    "450102001003001,专职网格员,李强,13800000002\n450102001003001,保安,王五,13800000003\n",
                    encoding="gbk")
    report = Report("t")
    staff = read_staff(path, report=report)
    assert staff.columns.tolist() == ["grid_code", "role", "name", "phone", "person_id", "party_member"]
    assert staff["role"].tolist()[:2] == ["leader", "full_time"] and pd.isna(staff["role"].iloc[2])
    assert staff["phone"].iloc[0] == "13800000001"
    assert staff["person_id"].tolist() == ["P000001", "P000002", "P000003"]
    assert report.to_frame()[["check", "record"]].values.tolist() == [["unknown_role", "row 4"]]
    with pytest.raises(SchemaError, match=r"row 4: role '保安' is not a roster role"):
        read_staff(path)  # without a report an unknown role is an error naming the file and the row
    (tmp_path / "bad.csv").write_text("姓名,电话\n黄丽,1\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="no unit column"):
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
