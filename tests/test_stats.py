"""gridmap.stats: measures per level, checked by hand and against plain geopandas (sjoin + groupby)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from cases_fixtures import reference_grid, sample_city, sample_grids
from click.testing import CliRunner
from shapely import box

from gridmap.cli.stats import stats as stats_command
from gridmap.codes import assign_sequential_codes
from gridmap.errors import SchemaError
from gridmap.io import write_layer
from gridmap.stats import HEADERS_ZH, summarize, summarize_levels, suppress_small_counts, write_stats

C1, C2 = "450102001003", "450102001004"


def two_grids() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": ["G1", "G2"], "community_code": [C1, C2], "households": [300, 500],
                             "population": [1000, 1500], "buildings": [5, 7]},
                            geometry=[box(0, 0, 1000, 1000), box(1000, 0, 3000, 1000)], crs="EPSG:4545")


def hand_cases() -> pd.DataFrame:
    """Ten rows, 13 cases, in grids G1 and G2; the reference time is 2025-03-09 23:30, overdue after 3 days.

    id grid n reported     accepted     closed       level  notes (on-time rule: same calendar day)
    1  G1   1 03-01 09:00  03-01 09:30  03-01 12:00  grid       3 h; on time
    2  G1   2 03-01 22:00  03-02 08:00  03-02 22:00  community  24 h each; accepted next day: late (x2)
    3  G1   1 03-02 10:00  03-02 11:00  03-04 10:00  grid       48 h; on time
    4  G1   1 03-03 08:00  03-03 08:05  03-02 08:00  street     closed before reported: no time measure
    5  G1   1 03-08 09:00  -            -            -          open; not accepted, deadline passed: late
    6  G1   1 03-05 09:00  03-05 10:00  -            -          open 4.6 days: overdue; on time
    7  G2   1 03-01 10:00  03-01 10:10  03-01 14:00  grid       4 h; on time
    8  G2   3 03-02 10:00  03-02 23:59  03-03 10:00  district   24 h each; on time (x3)
    9  G2   1 03-09 23:00  -            -            -          open; deadline not yet passed: not due
    10 G2   1 03-04 10:00  03-04 09:00  03-05 10:00  社区       accepted before reported: no time measure

    G1: 7 cases, 5 closed (grid 2, community 2, street 1), 6 accepted; due 6 (1,2,2,3,5,6), on time 3
        (1,3,6); hours 3, 24, 24, 48 -> median 24, p90 24 + 0.7 * 24 = 40.8; open 2 (5, 6), overdue 1 (6).
    G2: 6 cases, 5 closed (grid 1, district 3, community 1), 5 accepted; due 4 (7, 8 x3), on time 4;
        hours 4, 24, 24, 24 -> median 24, p90 24; open 1 (9), overdue 0.
    Street 450102001: 13 cases, 10 closed (grid 3, community 3, street 1, district 3), 11 accepted, due 10,
        on time 7; hours 3, 4, 24 x5, 48 -> median 24, p90 24 + 0.3 * 24 = 31.2; open 3, overdue 1.
    """
    rows = [
        ("1", "G1", 1, "03-01 09:00", "03-01 09:30", "03-01 12:00", "closed", "grid"),
        ("2", "G1", 2, "03-01 22:00", "03-02 08:00", "03-02 22:00", "closed", "community"),
        ("3", "G1", 1, "03-02 10:00", "03-02 11:00", "03-04 10:00", "closed", "grid"),
        ("4", "G1", 1, "03-03 08:00", "03-03 08:05", "03-02 08:00", "closed", "street"),
        ("5", "G1", 1, "03-08 09:00", None, None, "open", None),
        ("6", "G1", 1, "03-05 09:00", "03-05 10:00", None, "open", None),
        ("7", "G2", 1, "03-01 10:00", "03-01 10:10", "03-01 14:00", "closed", "grid"),
        ("8", "G2", 3, "03-02 10:00", "03-02 23:59", "03-03 10:00", "closed", "district"),
        ("9", "G2", 1, "03-09 23:00", None, None, "open", None),
        ("10", "G2", 1, "03-04 10:00", "03-04 09:00", "03-05 10:00", "closed", "社区"),
    ]
    frame = pd.DataFrame(rows, columns=["case_id", "grid_code", "count", "reported_at", "accepted_at",
                                        "closed_at", "status", "level"])
    for column in ("reported_at", "accepted_at", "closed_at"):
        frame[column] = pd.to_datetime("2025-" + frame[column])
    return frame


AT = "2025-03-09 23:30"


def hand_summary(by="grid", **options):
    with pytest.warns(Warning):  # the two impossible rows are reported
        return summarize(two_grids(), hand_cases(), by=by, at=AT, overdue_days=3, **options)


def test_escalation_and_response_match_the_hand_computed_fixture():
    table = hand_summary().set_index("code")
    expected = {
        "cases": (7, 6), "closed": (5, 5), "share_grid": (0.4, 0.2), "share_community": (0.4, 0.2),
        "share_street": (0.2, 0.0), "share_district": (0.0, 0.6), "response_rate": (6 / 7, 5 / 6),
        "on_time_rate": (0.5, 1.0), "median_close_h": (24.0, 24.0), "p90_close_h": (40.8, 24.0),
        "open": (2, 1), "overdue": (1, 0),
    }
    for column, values in expected.items():
        assert table.loc[["G1", "G2"], column].tolist() == pytest.approx(values), column
    street = hand_summary(by="street").iloc[0]
    assert street["code"] == "450102001" and street["cases"] == 13 and street["closed"] == 10
    assert [street[f"share_{x}"] for x in ("grid", "community", "street", "district")] == pytest.approx(
        [0.3, 0.3, 0.1, 0.3])
    assert street["response_rate"] == pytest.approx(11 / 13) and street["on_time_rate"] == pytest.approx(0.7)
    assert street["median_close_h"] == 24 and street["p90_close_h"] == pytest.approx(31.2)
    assert (street["open"], street["overdue"]) == (3, 1)


def test_on_time_within_hours():
    table = hand_summary(on_time=2).set_index("code")  # G1: 1, 3, 6 of 6; G2: only 7 of 4 (8 took 14 h)
    assert table["on_time_rate"].tolist() == pytest.approx([0.5, 0.25])
    with pytest.raises(SchemaError, match="on_time"):
        summarize(two_grids(), hand_cases(), on_time="overnight")
    with pytest.raises(SchemaError, match="not a date and time"):
        summarize(two_grids(), hand_cases().iloc[[0]], at="yesterday")


def test_areas_densities_and_rates():
    table = hand_summary().set_index("code")
    assert table["area_km2"].tolist() == pytest.approx([1.0, 2.0])
    assert table["density"].tolist() == pytest.approx([1000.0, 750.0])
    assert table["cases_per_1000"].tolist() == pytest.approx([7.0, 4.0])
    assert table["cases_per_km2"].tolist() == pytest.approx([7.0, 3.0])


def test_month_on_month_and_year_on_year():
    times = ["2024-01-05"] * 2 + ["2025-01-10"] * 3 + ["2025-02-01"] * 4
    cases = pd.DataFrame({"grid_code": "G1", "reported_at": pd.to_datetime(times)})
    table = summarize(two_grids(), cases, period="month")
    g1 = table[table["code"] == "G1"].set_index("period")
    assert list(g1.index[[0, -1]]) == ["2024-01", "2025-02"] and len(g1) == 14  # empty months included
    assert g1.loc["2024-06", "cases"] == 0
    assert g1.loc["2025-01", "cases_change_yoy"] == pytest.approx(0.5)  # 3 against 2
    assert pd.isna(g1.loc["2025-01", "cases_change_mom"])  # base 0 (December)
    assert g1.loc["2025-02", "cases_change_mom"] == pytest.approx(1 / 3)
    assert pd.isna(g1.loc["2025-02", "cases_change_yoy"])  # base 0
    assert pd.isna(g1.loc["2024-01", "cases_change_mom"])  # base before the data
    weeks = summarize(two_grids(), cases, period="week", by="community")
    assert weeks["period"].iloc[0] == "2024-W01"
    days = summarize(two_grids(), cases, period="day")
    assert days.loc[(days["code"] == "G1") & (days["period"] == "2025-01-10"), "cases"].item() == 3


def test_sample_roll_ups_match_plain_geopandas():
    city = sample_city()
    grids = assign_sequential_codes(sample_grids().drop(columns="code"))  # the roster's planned codes
    tables = summarize_levels(grids, city.cases, city.staff)
    # independent: sjoin + groupby (a point on a shared edge goes to the smallest code, as documented)
    located = reference_grid(city.cases, grids)
    by_grid = city.cases["count"].groupby(located).sum()
    grid_table = tables["grid"].set_index("code")
    assert (grid_table.loc[by_grid.index, "cases"] == by_grid).all()
    assert grid_table["cases"].sum() == city.cases["count"].sum()
    by_community = city.cases["count"].groupby(located.map(grids.set_index("code")["community_code"])).sum()
    community = tables["community"].set_index("code")
    assert (community.loc[by_community.index, "cases"] == by_community).all()
    areas = grids.to_crs("EPSG:4545").set_index("code").area / 1e6
    assert np.allclose(grid_table.loc[areas.index, "area_km2"], areas, rtol=1e-9)
    community_areas = grids.to_crs("EPSG:4545").dissolve("community_code").area / 1e6
    assert np.allclose(community.loc[community_areas.index, "area_km2"], community_areas, rtol=1e-6)
    population = grids.groupby("community_code")["population"].sum()
    assert (community.loc[population.index, "population"] == population).all()
    assert np.allclose(community["density"], population / community_areas.loc[community.index], rtol=1e-6)
    leaders = city.staff[(city.staff["role"] == "leader") & city.staff["grid_code"].isin(grids["code"])]
    assert (community["leaders"] == leaders.groupby("community_code").size().reindex(community.index,
                                                                                       fill_value=0)).all()
    # every level's totals equal the sum of the level below, exactly
    columns = ["cases", "households", "population", "buildings", "closed", "open", "overdue", "n_grids",
               "instructors", "leaders", "full_time", "members"]
    pairs = (("grid", "community", "community_code"), ("community", "street", "street_code"),
             ("street", "district", "district_code"))
    for child, parent, key in pairs:
        summed = tables[child].groupby(key)[columns].sum()
        assert (summed == tables[parent].set_index("code")[columns]).all().all(), (child, parent)
        assert np.allclose(tables[child].groupby(key)["area_km2"].sum(),
                           tables[parent].set_index("code")["area_km2"], rtol=1e-12)


def test_sample_staffing_columns_with_planned_codes():
    grids, city = sample_grids(), sample_city()
    coded = assign_sequential_codes(grids.drop(columns="code"))
    table = summarize(coded, staff=city.staff, by="community").set_index("code")
    roster = city.staff[city.staff["grid_code"].isin(coded["code"])]
    leaders = roster[roster["role"] == "leader"].groupby("community_code").size()
    assert (table.loc[leaders.index, "leaders"] == leaders).all()
    full_time = roster[roster["role"] == "full_time"].groupby("community_code").size()
    households = coded.groupby("community_code")["households"].sum()
    expected = households.loc[full_time.index] / full_time
    assert np.allclose(table.loc[full_time.index, "households_per_worker"], expected)


def test_publish_suppresses_small_counts_and_hides_people():
    grids, city = sample_grids(), sample_city()
    coded = assign_sequential_codes(grids.drop(columns="code"))
    cases = city.cases.iloc[:3000]
    plain = summarize(coded, cases, city.staff, include_staff_contacts=True)
    assert {"leader_name", "leader_phone"} <= set(plain.columns)
    published = summarize(coded, cases, city.staff, publish=True)
    assert not {"leader_name", "leader_phone", "name", "phone", "geometry"} & set(published.columns)
    small = plain["cases"] < 5
    assert small.any() and (~small).any()
    assert published.loc[small, ["cases", "cases_per_1000", "on_time_rate"]].isna().all().all()
    assert (published.loc[~small, "cases"] == plain.loc[~small, "cases"]).all()
    assert published.loc[small, "suppressed"].str.contains("cases").all()
    open_small = (plain["open"] < 5) & ~small
    assert published.loc[open_small, "open"].isna().all()
    assert published["households"].equals(plain["households"])  # not a case count


def test_suppress_small_counts_helper():
    table = pd.DataFrame({"code": ["a", "b", "c"], "cases": [0, 4, 5], "closed": [0, 4, 5],
                          "share_grid": [np.nan, 0.5, 0.4]})
    out = suppress_small_counts(table, ["cases", "closed"], threshold=5)
    assert out["cases"].isna().tolist() == [True, True, False]
    assert out["share_grid"].isna().tolist() == [True, True, False]
    assert out["suppressed"].tolist() == ["cases, closed, share_grid"] * 2 + [""]
    assert table["cases"].tolist() == [0, 4, 5]  # input untouched
    with pytest.raises(SchemaError, match="no column 'nope'"):
        suppress_small_counts(table, ["nope"])


def test_grids_without_community_code_are_refused():
    with pytest.raises(SchemaError, match="community_code"):
        summarize(two_grids().drop(columns="community_code"))
    with pytest.raises(SchemaError, match="not 12 digits"):
        summarize(two_grids().assign(community_code=["4501", C2]))
    with pytest.raises(SchemaError, match="by="):
        summarize(two_grids(), by="city")


def test_write_stats_excel_csv_geopackage(tmp_path):
    tables = summarize_levels(two_grids(), hand_cases().iloc[[0, 2, 6]],
                              levels=("grid", "community", "street"))
    path = write_stats(tables, tmp_path / "stats.xlsx")
    book = pd.read_excel(path, sheet_name=None, engine="openpyxl", dtype={"编码": str})
    assert list(book) == ["网格", "社区", "街道"]
    assert book["社区"].columns[0] == "编码" and HEADERS_ZH["cases"] in book["社区"].columns
    assert book["街道"]["编码"].tolist() == ["450102001", "合计"]  # the bold totals row below the table
    english = pd.read_excel(write_stats(tables, tmp_path / "en.xlsx", lang="en"), sheet_name=None,
                            engine="openpyxl")
    assert list(english) == ["grid", "community", "street"] and "cases" in english["grid"].columns
    write_stats(tables, tmp_path / "stats.csv")
    assert (tmp_path / "stats_community.csv").exists() and (tmp_path / "stats_street.csv").exists()
    gpkg = write_stats(tables, tmp_path / "stats.gpkg", grids=two_grids())
    street = gpd.read_file(gpkg, layer="street")
    assert street.geometry.iloc[0].area == pytest.approx(3e6)  # the union of both grids
    assert not list(tmp_path.glob(".*tmp*"))


def test_cli_stats_writes_levels(tmp_path):
    grids, city = sample_grids(), sample_city()
    coded = assign_sequential_codes(grids.drop(columns="code"))
    gpkg = tmp_path / "city.gpkg"
    write_layer(coded, gpkg, "grids")
    write_layer(city.communities, gpkg, "communities", mode="a")
    write_layer(city.cases.iloc[:2000], tmp_path / "cases.parquet")
    city.staff.to_csv(tmp_path / "staff.csv", index=False)
    out = tmp_path / "report.xlsx"
    arguments = [str(gpkg), "--cases", str(tmp_path / "cases.parquet"),
                 "--staff", str(tmp_path / "staff.csv"), "--by", "community", "--period", "month",
                 "--out", str(out), "--publish"]
    result = CliRunner().invoke(stats_command, arguments)
    assert result.exit_code == 0, result.output
    book = pd.read_excel(out, sheet_name=None, engine="openpyxl", dtype={"编码": str},
                         skipfooter=1)  # the totals row
    assert list(book) == ["社区", "街道", "区县"]
    community = book["社区"]
    assert community["名称"].notna().all() and community["时期"].iloc[0] == "2025-01"
    assert "网格长姓名" not in community.columns and community[HEADERS_ZH["cases"]].isna().any()
    help_text = CliRunner().invoke(stats_command, ["--help"]).output
    assert "--by community --period month --out report.xlsx" in help_text
