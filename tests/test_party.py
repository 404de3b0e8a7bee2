"""Party organisation on the grid (issue 20): coverage of grids and buildings, members, leaders, the chain."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import MultiPolygon, Point, box

from gridmap.crs import wgs84_to_gcj02
from gridmap.errors import GridmapWarning, SchemaError
from gridmap.people.party import PARTY_HEADERS_ZH, clean_party, party_coverage, read_party
from gridmap.schema import PARTY_KIND_NAMES_ZH, PARTY_KIND_WORDS, PARTY_KINDS, party_kind

X, Y, W = 108.30, 22.80, 0.01  # three grids of 0.01° (about 1 km) in a row, west to east
COMMUNITY, OTHER = "450102001003", "450102001004"
G1, G2, G3 = (f"{COMMUNITY}00{i}" for i in (1, 2, 3))
G4 = f"{OTHER}001"


def grids_layer(n: int = 3) -> gpd.GeoDataFrame:
    codes = [f"{COMMUNITY}{i + 1:03d}" for i in range(n)]
    return gpd.GeoDataFrame({"code": codes, "community_code": [COMMUNITY] * n},
                            geometry=[box(X + i * W, Y, X + (i + 1) * W, Y + W) for i in range(n)], crs=4490)


def four_grids() -> gpd.GeoDataFrame:
    """The three grids and a fourth, north of the first, in another community."""
    grids = grids_layer()
    extra = gpd.GeoDataFrame({"code": [G4], "community_code": [OTHER]},
                             geometry=[box(X, Y + W, X + W, Y + 2 * W)], crs=4490)
    return pd.concat([grids, extra], ignore_index=True)


def buildings_layer() -> gpd.GeoDataFrame:
    """Two building footprints in each grid: B1, B2 in G1 … B5, B6 in G3 (B6 a two-part multipolygon)."""
    rows = []
    for i in range(3):
        for k in range(2):
            x = X + i * W + 0.002 + k * 0.005
            rows.append((f"B{2 * i + k + 1}", box(x, Y + 0.004, x + 0.002, Y + 0.006)))
    parts = [box(X + 2 * W + 0.007, Y + 0.001, X + 2 * W + 0.008, Y + 0.002),
             box(X + 2 * W + 0.007, Y + 0.007, X + 2 * W + 0.008, Y + 0.008)]
    rows[-1] = ("B6", MultiPolygon(parts))
    return gpd.GeoDataFrame({"unit_id": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=4490)


def branches(*rows) -> pd.DataFrame:
    """Party rows ``(kind, grid_code, members)``; names 支部1, 支部2 …"""
    return pd.DataFrame({"name": [f"支部{i + 1}" for i in range(len(rows))], "kind": [r[0] for r in rows],
                         "grid_code": [r[1] for r in rows], "members": [r[2] for r in rows]})


def findings(result, check: str) -> list:
    frame = result.report.to_frame()
    return frame.loc[frame["check"] == check, "record"].tolist()


# --- vocabulary ------------------------------------------------------------------------------------------

def test_every_party_word_names_a_kind_and_every_kind_has_its_chinese_name_as_a_word():
    assert set(PARTY_KIND_WORDS.values()) == set(PARTY_KINDS) == set(PARTY_KIND_NAMES_ZH)
    for kind, name in PARTY_KIND_NAMES_ZH.items():
        assert party_kind(name) == kind and party_kind(kind) == kind
    assert party_kind("楼门党小组") == "building_group" and party_kind("网格党小组") == "grid_branch"
    assert party_kind("ＧＲＩＤ Branch") == "grid_branch" and party_kind(None) is None


# --- grid coverage -----------------------------------------------------------------------------------------

def test_three_grids_two_with_a_branch_is_two_thirds_and_the_third_is_an_error():
    result = party_coverage(grids_layer(), branches(("网格党支部", G1, 12), ("网格党支部", G2, 9)))
    summary = result.report.tables["summary"].iloc[0]
    assert summary["grids"] == 3 and summary["grids_covered"] == 2
    assert summary["grid_share"] == pytest.approx(2 / 3)  # 66.7 %
    assert summary["members"] == 21 and summary["grid_branches"] == 2
    assert findings(result, "no_grid_branch") == [G3]
    assert not result.report.ok
    grids = result.grids.set_index("code")
    assert grids["covered"].tolist() == [True, True, False]
    assert grids["members"].tolist() == [12, 9, pd.NA]
    assert grids.loc[G1, "label"] == "网格党支部：已建（党员 12 名）"
    assert grids.loc[G3, "label"] == "网格党支部：未建"


def test_the_summary_counts_each_kind_in_its_plural_and_every_column_has_a_chinese_header():
    party = pd.DataFrame({"类型": ["社区党组织", "网格党支部", "联合党支部", "楼栋党小组", "党员中心户",
                                   "党员中心户"],
                          "网格编码": [None, G1, f"{G2};{G3}", None, None, None],
                          "社区代码": [COMMUNITY, None, None, None, None, None],
                          "楼栋编号": [None, None, None, "B1", "B2", "B3"]})
    result = party_coverage(grids_layer(), party, buildings=buildings_layer())
    summary = result.report.tables["summary"]
    counts = ["community_committees", "grid_branches", "building_groups", "member_households"]
    assert summary[counts].iloc[0].tolist() == [1, 2, 1, 2]
    assert not any(column.endswith("hs") for column in summary.columns)
    assert [PARTY_HEADERS_ZH[c] for c in counts] == ["社区党组织数", "网格党支部数", "楼栋党小组数",
                                                     "党员中心户数"]
    for table in ("summary", "grids", "communities"):
        assert set(result.report.tables[table].columns) <= set(PARTY_HEADERS_ZH), table
    headers = summary.rename(columns=PARTY_HEADERS_ZH).columns
    assert headers.is_unique and all(re.search("[\u4e00-\u9fff]", h) for h in headers)


def test_the_per_grid_frame_is_a_map_layer_with_the_grids_geometry_and_crs():
    grids = grids_layer()
    result = party_coverage(grids, branches(("网格党支部", G1, 3)))
    assert isinstance(result.grids, gpd.GeoDataFrame) and result.grids.crs == grids.crs
    assert result.grids.geometry.geom_equals(grids.geometry).all()
    assert {"code", "community_code", "covered", "members", "label"} <= set(result.grids.columns)
    assert "geometry" not in result.report.tables["grids"].columns


def test_a_joint_branch_covers_its_grids_and_shares_its_members_out_in_whole_numbers():
    result = party_coverage(grids_layer(), branches(("联合党支部", f"{G2}，{G1}", 7)))  # 联合组建, seed 000
    grids = result.grids.set_index("code")
    assert grids.loc[[G1, G2], "covered"].all() and grids.loc[[G1, G2], "joint"].all()
    # the smaller code gets the one left
    assert grids.loc[G1, "members"] == 4 and grids.loc[G2, "members"] == 3
    assert result.report.tables["summary"].loc[0, "members"] == 7
    assert findings(result, "no_grid_branch") == [G3]


def test_a_branch_without_member_count_leaves_the_grid_count_unknown_not_zero():
    result = party_coverage(grids_layer(), branches(("网格党支部", G1, None), ("网格党支部", G1, 5),
                                                    ("网格党支部", G2, 4)))
    grids = result.grids.set_index("code")
    assert grids.loc[G1, "branches"] == 2 and pd.isna(grids.loc[G1, "members"])
    assert grids.loc[G2, "members"] == 4
    assert grids.loc[G1, "label"] == "网格党支部：已建"


def test_a_branch_on_a_retired_grid_is_an_error_carrying_that_code_and_covers_nothing():
    retired = f"{COMMUNITY}009"
    result = party_coverage(grids_layer(), branches(("网格党支部", G1, 5), ("网格党支部", retired, 8),
                                                    ("网格党支部", f"{G2};{retired}", 6)))
    assert findings(result, "unknown_grid") == [retired, retired]
    grids = result.grids.set_index("code")
    assert grids.loc[G2, "members"] == 6  # shared over the grids that exist
    assert result.report.tables["summary"].loc[0, "grids_covered"] == 2


def test_duplicate_rows_are_counted_once_with_a_warning():
    party = branches(("网格党支部", G1, 5), ("网格党支部", G1, 5)).assign(name="一支部")
    result = party_coverage(grids_layer(), party)
    assert result.grids.set_index("code").loc[G1, ["branches", "members"]].tolist() == [1, 5]
    frame = result.report.to_frame()
    duplicate = frame[frame["check"] == "duplicate"]
    assert duplicate["severity"].tolist() == ["warning"] and duplicate["record"].tolist() == [G1]


def test_an_unknown_kind_is_an_error_naming_the_closest_word():
    result = party_coverage(grids_layer(), branches(("网格党支布", G1, 5), (None, G2, 3)))
    frame = result.report.to_frame().query("check == 'unknown_kind'")
    assert frame["record"].tolist() == [G1, G2]
    assert "the closest is '网格党支部'" in frame["message"].iloc[0]
    assert result.report.tables["summary"].loc[0, "grids_covered"] == 0


def test_the_callers_frames_are_left_as_they_were():
    grids, party = grids_layer(), branches(("网格党支部", G1, 5))
    before = (grids.copy(), party.copy())
    party_coverage(grids, party)
    pd.testing.assert_frame_equal(grids, before[0])
    pd.testing.assert_frame_equal(party, before[1])


# --- buildings ----------------------------------------------------------------------------------------------

def test_building_coverage_counts_buildings_with_a_group_per_grid_and_overall():
    party = pd.DataFrame({"类型": ["网格党支部", "楼栋党小组", "楼栋党小组", "党员中心户", "楼栋党小组"],
                          "网格编码": [G1, None, None, None, None],
                          "楼栋编号": [None, "B1", "B3", "B2", "B99"], "党员数": [10, 4, 3, 1, 2]})
    result = party_coverage(grids_layer(), party, buildings=buildings_layer())
    summary = result.report.tables["summary"].iloc[0]
    assert (summary["buildings"], summary["buildings_covered"]) == (6, 2)  # a member household is no group
    assert summary["building_share"] == pytest.approx(2 / 6)
    grids = result.grids.set_index("code")
    assert grids["buildings"].tolist() == [2, 2, 2] and grids["buildings_covered"].tolist() == [1, 1, 0]
    assert grids.loc[G1, "building_share"] == 0.5 and grids.loc[G3, "building_share"] == 0
    assert findings(result, "unknown_building") == ["B99"]
    # B3's group sits in G2, which has no branch: the chain 网格党支部 — 楼栋党小组 is broken there
    assert findings(result, "group_without_branch") == [G2]
    assert grids.loc[G1, "label"] == "网格党支部：已建（党员 10 名）；楼栋党小组 1/2 栋"


def test_without_buildings_building_coverage_is_unknown_not_zero():
    result = party_coverage(grids_layer(), branches(("网格党支部", G1, 5)))
    assert result.grids["buildings"].isna().all() and result.grids["building_share"].isna().all()
    assert pd.isna(result.report.tables["summary"].loc[0, "building_share"])


def test_groups_given_as_points_are_placed_in_their_building_and_grid_multipolygons_too():
    b3 = buildings_layer().set_index("unit_id").geometry["B3"].centroid
    b6_part = Point(X + 2 * W + 0.0075, Y + 0.0075)  # in the second part of B6's multipolygon
    party = gpd.GeoDataFrame({"kind": ["网格党支部", "楼栋党小组", "楼栋党小组"], "members": [8, 3, 2]},
                             geometry=[Point(X + 1.5 * W, Y + 0.5 * W), b3, b6_part], crs=4490)
    result = party_coverage(grids_layer(), party, buildings=buildings_layer())
    grids = result.grids.set_index("code")
    assert grids["covered"].tolist() == [False, True, False]
    assert grids["buildings_covered"].tolist() == [0, 1, 1]
    assert findings(result, "group_without_branch") == [G3]


def test_buildings_with_their_own_grid_code_are_not_placed_again():
    buildings = buildings_layer().assign(网格编码=[G1, G1, G1, G1, G2, G2])  # as microgrids writes them
    party = pd.DataFrame({"kind": ["building_group"], "building_code": ["B4"]})
    result = party_coverage(grids_layer(), party, buildings=buildings)
    assert result.grids["buildings"].tolist() == [4, 2, 0]
    assert result.grids["buildings_covered"].tolist() == [1, 0, 0]


def test_buildings_with_the_builders_temporary_grid_codes_are_placed_by_their_footprint_with_a_warning():
    """B1–B6 lie two per grid; B1, B2 and B5 carry codes no grid has (temporary, retired): placed,
    not lost.
    """
    buildings = buildings_layer().assign(grid_code=[f"{COMMUNITY}-001", "450102001003099", G2, G2,
                                                    f"{COMMUNITY}-003", G3])
    party = pd.DataFrame({"kind": ["building_group", "building_group"], "building_code": ["B1", "B5"]})
    with pytest.warns(GridmapWarning, match=r"party_coverage: 3 of 6 buildings name a grid code that is none "
                      r"of the grids' \(e.g. 450102001003-001, a temporary code of the builder\)"):
        result = party_coverage(grids_layer(), party, buildings=buildings)
    assert result.grids["buildings"].tolist() == [2, 2, 2]
    assert result.grids["buildings_covered"].tolist() == [1, 0, 1]
    frame = result.report.to_frame().query("check == 'unknown_grid_code'")
    assert frame[["record", "grid_code_given", "grid_code"]].values.tolist() == [
        ["B1", f"{COMMUNITY}-001", G1], ["B2", "450102001003099", G1], ["B5", f"{COMMUNITY}-003", G3]]
    assert set(frame["severity"]) == {"warning"} and frame["fix"].str.contains("temp_code").all()
    assert findings(result, "group_without_branch") == [G1, G3]  # the groups found their grids


# --- points ----------------------------------------------------------------------------------------------

def test_branch_points_go_to_their_grid_the_edge_to_the_smaller_code_and_outside_is_reported():
    party = gpd.GeoDataFrame({"kind": ["grid_branch"] * 3, "name": ["甲", "乙", "丙"]},
                             geometry=[Point(X + 2.5 * W, Y + 0.5 * W, 35.0),  # with a Z coordinate
                                       Point(X + W, Y + 0.5 * W),             # on the edge of G1 and G2
                                       Point(X + 9 * W, Y)], crs=4490)
    result = party_coverage(grids_layer(), party)
    assert result.grids["covered"].tolist() == [True, False, True]
    outside = result.report.to_frame().query("check == 'outside'")
    assert outside["row"].tolist() == ["row 3"] and outside["distance_m"].iloc[0] > 5000


def test_gcj02_points_are_shifted_before_they_are_placed(tmp_path):
    # a point in G1, 300 m from its east edge: Amap's GCJ-02 shift (~550 m east here) would put it in G2
    lon, lat = X + W - 0.003, Y + 0.5 * W
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert glon > X + W, "the raw GCJ-02 coordinates lie in G2"
    path = tmp_path / "党组织.csv"
    path.write_bytes(f"支部名称,类型,经度,纬度\n甲支部,网格党支部,{float(glon):.7f},{float(glat):.7f}\n"
                     .encode("gbk"))
    shifted = party_coverage(grids_layer(), read_party(path, coords="gcj02"))
    assert shifted.grids["covered"].tolist() == [True, False, False]
    raw = party_coverage(grids_layer(), read_party(path))
    assert raw.grids["covered"].tolist() == [False, True, False]


# --- reading -----------------------------------------------------------------------------------------------

def test_read_party_reads_a_gbk_csv_with_chinese_headers_nulls_and_joint_codes(tmp_path):
    path = tmp_path / "party.csv"
    text = ("编号,支部名称,组织类型,网格编码,楼栋编号,社区代码,党员人数\n"
            f"1,兴宁社区党委,社区党委,,,{COMMUNITY},120\n"
            f"2,第一联合党支部,联合党支部,{G1}、{G2},,,\n"
            f"3,一栋党小组,楼门党小组,,B1,,4\n"
            f"4,王家,党员中心户,,B1,,\n")
    path.write_bytes(text.encode("gbk"))
    party = read_party(path)
    assert party["kind"].tolist() == ["community_committee", "grid_branch", "building_group",
                                      "member_household"]
    assert party["branch_id"].tolist() == ["1", "2", "3", "4"]
    assert party["members"].tolist() == [120, pd.NA, 4, pd.NA]
    assert party.loc[0, "community_code"] == COMMUNITY and party.loc[2, "building_code"] == "B1"
    result = party_coverage(grids_layer(), party, buildings=buildings_layer())
    assert result.grids["covered"].tolist() == [True, True, False]
    assert result.grids["joint"].tolist() == [True, True, False]
    assert result.report.tables["summary"].loc[0, "community_committees"] == 1


def test_read_party_reads_excel(tmp_path):
    path = tmp_path / "party.xlsx"
    pd.DataFrame({"党组织名称": ["一支部"], "类型": ["网格党支部"], "网格编码": [G1],
                  "党员": [6]}).to_excel(path, index=False)
    party = read_party(path)
    assert party[["kind", "grid_code", "members"]].values.tolist() == [["grid_branch", G1, 6]]


@pytest.mark.parametrize("value, reason", [("-3", "is negative"), ("3.5", "is not a whole number"),
                                           ("10000000", "is larger than 100,000"), ("十", "is not a number"),
                                           ("inf", "is not a finite number")])
def test_bad_member_counts_are_errors_naming_the_row(tmp_path, value, reason):
    path = tmp_path / "party.csv"
    path.write_text(f"类型,网格编码,党员数\n网格党支部,{G1},5\n网格党支部,{G2},{value}\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=rf"party.csv, row 3: members '{value}' {reason}.*Fix: enter whole"):
        read_party(path)


def test_a_longitude_that_is_no_number_is_refused_naming_the_row(tmp_path):
    path = tmp_path / "party.csv"
    path.write_text(f"类型,网格编码,经度,纬度\n网格党支部,{G1},,\n楼栋党小组,,东经108度,22.8\n",
                    encoding="utf-8")
    with pytest.raises(SchemaError, match="party.csv, row 3: lon '东经108度' is not a finite number"
                                          ".*Fix: enter"):
        read_party(path)


def test_a_table_without_kind_or_without_any_place_is_refused():
    with pytest.raises(SchemaError, match="no kind column.*Fix: add a column 类型"):
        clean_party(pd.DataFrame({"网格编码": [G1]}))
    with pytest.raises(SchemaError, match="no grid, building or community code column and no points"):
        clean_party(pd.DataFrame({"类型": ["网格党支部"], "党员": [3]}))


def test_a_row_without_code_or_point_is_reported():
    result = party_coverage(grids_layer(), branches(("网格党支部", None, 5), ("网格党支部", G1, 2)))
    assert result.report.to_frame().query("check == 'no_place'")["row"].tolist() == ["row 1"]


# --- the chain and the leaders -----------------------------------------------------------------------------

def test_committees_of_unknown_communities_and_communities_without_one_are_reported():
    party = pd.DataFrame({"kind": ["社区党组织", "社区党组织", "网格党支部", "网格党支部"],
                          "community_code": [COMMUNITY, "450102001099", None, None],
                          "grid_code": [None, None, G1, G4]})
    result = party_coverage(four_grids(), party)
    assert findings(result, "unknown_community") == ["450102001099"]
    assert findings(result, "no_committee") == [OTHER]
    communities = result.report.tables["communities"].set_index("community_code")
    assert communities.loc[COMMUNITY, ["grids", "grids_covered"]].tolist() == [3, 1]
    assert communities.loc[OTHER, "grid_share"] == 1.0


def roster(members: list) -> pd.DataFrame:
    n = len(members)
    return pd.DataFrame({"person_id": [f"P{i:06d}" for i in range(1, n + 1)], "name": ["甲", "乙", "丙"][:n],
                         "role": ["leader"] * n, "level": ["grid"] * n, "unit_code": [G1, G2, G3][:n],
                         "party_member": pd.array(members, dtype="boolean"), "phone": [None] * n})


def test_a_leader_who_is_not_a_party_member_is_an_error_and_an_unknown_one_a_warning():
    result = party_coverage(grids_layer(), branches(("网格党支部", f"{G1};{G2};{G3}", 9)),
                            roster=roster([True, False, None]))
    frame = result.report.to_frame()
    assert frame.query("check == 'leader_not_party_member'")["record"].tolist() == [G2]
    unknown = frame.query("check == 'leader_party_unknown'")
    assert unknown["record"].tolist() == [G3] and unknown["severity"].tolist() == ["warning"]
    assert result.grids["leader_party_member"].tolist() == [True, False, pd.NA]
    assert result.grids.set_index("code").loc[G2, "label"].endswith("；网格长非党员")
    assert result.report.tables["summary"].loc[0, "leaders_not_party_members"] == 1


def test_the_leader_rule_can_be_turned_off_and_other_roles_do_not_count():
    people = pd.concat([roster([False, False]),
                        roster([True]).assign(role="member", unit_code=G2)], ignore_index=True)
    result = party_coverage(grids_layer(), branches(("网格党支部", G1, 3)), roster=people,
                            leader_party_member=False)
    assert not findings(result, "leader_not_party_member")
    assert result.grids["leader_party_member"].tolist() == [False, False, pd.NA]
    strict = party_coverage(grids_layer(), branches(("网格党支部", G1, 3)), roster=people)
    assert findings(strict, "leader_not_party_member") == [G1, G2]


def test_party_membership_words_are_read_and_nonsense_refused():
    people = roster([True, True, True]).assign(party_member=["是", "群众", ""])
    result = party_coverage(grids_layer(), branches(("网格党支部", G1, 3)), roster=people)
    assert result.grids["leader_party_member"].tolist() == [True, False, pd.NA]
    with pytest.raises(SchemaError, match="row 2: party_member '也许' is neither yes nor no"):
        party_coverage(grids_layer(), branches(("网格党支部", G1, 3)),
                       roster=people.assign(party_member=["是", "也许", "否"]))


def test_a_roster_without_the_canonical_columns_is_refused():
    with pytest.raises(SchemaError, match="the roster has no column 'party_member'"):
        party_coverage(grids_layer(), branches(("网格党支部", G1, 3)), roster=roster([True]).drop(
            columns="party_member"))


# --- properties ------------------------------------------------------------------------------------------

@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 6), rows=st.lists(st.tuples(st.lists(st.integers(0, 8), min_size=1, max_size=3),
                                                    st.integers(0, 500)), max_size=8))
def test_the_grid_share_is_covered_over_total_and_members_add_up(n, rows):
    grids = grids_layer(n)
    codes = [f"{COMMUNITY}{k + 1:03d}" for k in range(9)]  # codes beyond n do not exist
    party = branches(*[("网格党支部", ";".join(codes[k] for k in ks), m) for ks, m in rows])
    result = party_coverage(grids, party)
    summary = result.report.tables["summary"].iloc[0]
    covered = {codes[k] for ks, _ in rows for k in ks if k < n}
    assert summary["grids_covered"] == len(covered) == result.grids["covered"].sum()
    assert 0 <= summary["grid_share"] <= 1 and summary["grid_share"] == pytest.approx(len(covered) / n)
    expected = sum(m for ks, m in rows if any(k < n for k in ks))
    assert result.grids["members"].fillna(0).sum() == expected  # shared out, never lost or made up
    assert len(findings(result, "no_grid_branch")) == n - len(covered)
    assert np.isclose(result.grids.to_crs(4545).area.sum(), grids.to_crs(4545).area.sum())
    assert shapely.equals(result.grids.geometry.union_all(), grids.geometry.union_all())
