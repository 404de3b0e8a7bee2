"""The sample city's roster.csv and liaison.csv: the id rule, and the gaps data/sample/README.md documents."""

from __future__ import annotations

import re

import pandas as pd
import pyogrio
from cases_fixtures import sample_city
from test_staffing import documented_gaps, first_coded_grids

from gridmap.people import check_liaison, check_staffing, read_liaison, read_roster

#: The check and rule each kind of roster gap of the README is found by.
ROSTER_GAPS = {"rural village without its 辅警": ("understaffed", 7),
               "community with 9 法律明白人": ("understaffed", 8),
               "community whose 党建网格长": ("not_party_member", 9),
               "community without its 综治网格长": ("understaffed", 10),
               "street without its 乡镇": ("understaffed", 12),
               "grid that does not exist": ("unknown_unit", None)}
#: The check and rule each gap of staff.csv is found by.
STAFF_GAPS = {"no_leader": ("understaffed", 2), "several_leaders": ("overstaffed", 2),
              "no_full_time": ("understaffed", 3)}


def people_section() -> str:
    text = (sample_city().path / "README.md").read_text(encoding="utf-8")
    return text.split("## People on the grid", 1)[1]


def roster_gaps() -> set[tuple]:
    rows = re.findall(r"^\| ([^|]+?) \| (\d+) \| [^|]* \|$", people_section(), flags=re.MULTILINE)
    found = set()
    for what, code in rows:
        (check, rule), = [value for key, value in ROSTER_GAPS.items() if what.startswith(key)]
        found.add((check, code, rule))
    return found


def test_roster_keeps_everyone_of_staff_csv_under_their_row_number():
    folder = sample_city().path
    staff = pd.read_csv(folder / "staff.csv", dtype=str)
    roster = read_roster(folder / "roster.csv")
    mine = roster.set_index("person_id").loc[[f"P{k:06d}" for k in range(1, len(staff) + 1)]]
    assert mine["name"].tolist() == staff["name"].tolist()
    assert mine["phone"].tolist() == staff["phone"].tolist()
    assert mine["unit_code"].tolist() == staff["grid_code"].tolist() and (mine["level"] == "grid").all()
    same = mine["role"].to_numpy() == staff["role"].to_numpy()
    # only members differ: a grid's third member is a 定岗 doctor or police officer
    assert set(staff.loc[~same, "role"]) == {"member"}
    assert set(mine.loc[~same, "role"]) == {"doctor", "police"}
    others = roster[~roster["person_id"].isin(mine.index)]
    assert others["person_id"].is_unique and roster["person_id"].is_unique
    assert (others["person_id"].str[1:].astype(int) >= 100_001).all()
    assert len(set(roster["role"])) == 16  # every role of the vocabulary


def test_staffing_check_finds_exactly_the_documented_gaps():
    folder = sample_city().path
    grids = first_coded_grids()
    admin = [pyogrio.read_dataframe(folder / "sample_city.gpkg", layer=layer, read_geometry=False)
             for layer in ("districts", "streets", "communities")]
    roster = read_roster(folder / "roster.csv")
    report = check_staffing(roster, grids, units=admin)
    expected = roster_gaps() | {(STAFF_GAPS[check][0], code, STAFF_GAPS[check][1])
                                for check, code in documented_gaps()}
    # 3-4 网格员 per grid (001), counted here from the roster itself
    workers = roster[roster["role"].isin(["leader", "full_time", "member"])].groupby("unit_code").size()
    workers = workers.reindex(grids["code"], fill_value=0)
    expected |= {("understaffed", code, 5) for code in workers.index[workers < 3]}
    expected |= {("overstaffed", code, 5) for code in workers.index[workers > 4]}
    frame = report.to_frame().query("severity == 'error'")
    rules = [None if pd.isna(rule) else int(rule) for rule in frame["rule"]]
    assert set(zip(frame["check"], frame["unit_code"], rules, strict=True)) == expected
    # the two-leader grid has 5 网格员, the grid without a full-time worker 2
    assert len(expected) == 6 + 4 + 2


def test_liaison_gaps_are_the_documented_ones():
    folder = sample_city().path
    documented = set(re.findall(r"^\| (city|district|street|community) \| (\d+) \|$", people_section(),
                                flags=re.MULTILINE))
    report = check_liaison(read_liaison(folder / "liaison.csv"), first_coded_grids())
    frame = report.to_frame()
    assert set(frame["check"]) == {"no_liaison"}
    assert set(zip(frame["leader_level"], frame["unit_code"], strict=True)) == documented
    assert len(documented) == 4
