"""Patrols (issue 21): records read in both shapes, patrols against the rule table, units passed, gaps,
time in the own grid, idle grids — on small hand-checked fixtures — and the out-of-core engine equal to
memory.

Fixtures are in EPSG:4545 (CGCS2000 Gauss-Krüger, 108 E) around Nanning, so distances are metres; degree
versions are made by reprojecting them.
"""

from __future__ import annotations

import importlib.util
import os
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import Point, box

from gridmap.crs import wgs84_to_gcj02
from gridmap.errors import GridmapError, GridmapWarning, SchemaError
from gridmap.fieldwork import (
    PatrolRules,
    clean_patrols,
    read_patrols,
    summarize_patrols,
    summarize_patrols_dask,
    summarize_patrols_partitioned,
)
from gridmap.findings import Report

X0, Y0 = 500_000.0, 2_524_000.0  # metres in EPSG:4545, about 108.0 E 22.8 N
METRIC = "EPSG:4545"
G1, G2 = "990102001001001", "990102001001002"
DAY = "2025-03-03"


def two_grids() -> gpd.GeoDataFrame:
    """G1 west of x0 + 600, G2 east of it; both 600 m square."""
    return gpd.GeoDataFrame({"code": [G1, G2], "type": ["city", "rural"]}, crs=METRIC,
                            geometry=[box(X0, Y0 - 300, X0 + 600, Y0 + 300),
                                      box(X0 + 600, Y0 - 300, X0 + 1200, Y0 + 300)])


def row_units(polygons: bool = False) -> gpd.GeoDataFrame:
    """Four units beside the line y = Y0 at 10, 49, 51 and 200 m (points, or squares whose near edge is)."""
    spots = [(100, 10), (200, 49), (300, -51), (400, 200)]
    shapes = [box(X0 + x - 5, Y0 + y, X0 + x + 5, Y0 + y + 20 * np.sign(y)) if polygons else
              Point(X0 + x, Y0 + y) for x, y in spots]
    return gpd.GeoDataFrame({"unit_id": ["U1", "U2", "U3", "U4"]}, geometry=shapes, crs=METRIC)


def walk(xs, ys, *, person="P000003", start=f"{DAY} 09:00", minutes=1.0, crs=METRIC, **columns):
    """A track: one point a ``minutes`` apart through the coordinates (offsets from X0, Y0)."""
    xs, ys = np.broadcast_arrays(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
    times = pd.Timestamp(start) + pd.to_timedelta(np.arange(len(xs)) * minutes, unit="min")
    return gpd.GeoDataFrame({"person_id": person, "time": times, **columns},
                            geometry=gpd.points_from_xy(X0 + xs, Y0 + ys), crs=crs)


def straight() -> gpd.GeoDataFrame:
    """Along the row of units, 0 to 600 m, 20 m a minute: 31 points, 30 minutes, all in G1."""
    return walk(np.linspace(0, 600, 31), 0)


def quiet(records, grids, **options):
    report = Report("test")
    return summarize_patrols(records, grids, report=report, **options), report


def to_degrees(frame: gpd.GeoDataFrame, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    return frame.to_crs(crs)


# --- units passed -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("polygons", [False, True])
def test_a_track_passes_exactly_the_units_within_50_m(polygons):
    summary, report = quiet(straight(), two_grids().iloc[:1], units=row_units(polygons))
    row = summary.grids.iloc[0]
    assert (row["units"], row["units_passed"], row["coverage"]) == (4, 2, 0.5)  # 10 m and 49 m, not 51 m
    assert (row["patrols"], row["required"], row["minutes"]) == (1, 1.0, 30.0)
    assert report.ok and row["label"] == "巡查1次/应1次，途经单元50%，最长间隔9小时"


@pytest.mark.parametrize("within, passed", [(9.99, 0), (10, 1), (50, 2), (51, 3), (199, 3), (200, 4)])
def test_the_distance_is_inclusive_and_configurable(within, passed):
    summary, _ = quiet(straight(), two_grids().iloc[:1], units=row_units(), within_m=within)
    assert summary.grids.loc[0, "units_passed"] == passed


def test_units_belong_to_the_grids_they_name_or_that_name_them():
    units = row_units().assign(网格编码=[G1, G1, f"{G1};{G2}", G2])  # a unit in two grids counts in both
    summary, _ = quiet(straight(), two_grids(), units=units)
    assert summary.grids.set_index("code")[["units", "units_passed"]].to_dict("index") == {
        G1: {"units": 3, "units_passed": 2}, G2: {"units": 2, "units_passed": 0}}
    listed = two_grids().assign(unit_ids=["U1;U2", "U3;U4"])
    summary, _ = quiet(straight(), listed, units=row_units())
    assert summary.grids["units"].tolist() == [2, 2] and summary.grids["units_passed"].tolist() == [2, 0]


def edge_units() -> gpd.GeoDataFrame:
    """U1 in G1 30 m west of the shared edge (x0 + 600), U2 in G2 30 m east of it."""
    return gpd.GeoDataFrame({"unit_id": ["U1", "U2"]}, crs=METRIC,
                            geometry=[Point(X0 + 570, Y0), Point(X0 + 630, Y0)])


@pytest.mark.parametrize("kind", ["tracks", "checkins"])
def test_a_neighbour_walking_the_shared_edge_passes_none_of_the_grids_units(kind):
    track = walk(590, np.linspace(-250, 250, 26))  # G1's worker, 10 m inside G1, 25 minutes northwards
    units = edge_units()
    path = shapely.LineString(np.column_stack([track.geometry.x, track.geometry.y]))
    assert track.within(two_grids().geometry[0]).all()  # every point in G1, none on the edge
    assert path.distance(units.geometry[0]) == 20 and path.distance(units.geometry[1]) == 40  # both within 50
    summary, report = quiet(track, two_grids(), units=units, kind=kind)
    grids = summary.grids.set_index("code")
    measures = ["patrols", "units", "units_passed", "coverage"]
    assert grids.loc[G1, measures].tolist() == [1, 1, 1, 1.0]  # G1's own unit, passed by G1's patrol
    assert grids.loc[G2, measures].tolist() == [0, 1, 0, 0.0]  # G2's unit: G1's patrol does not pass it
    assert grids.loc[G2, "label"].startswith("巡查0次/应1次，途经单元0%，")
    assert summary.periods.set_index("code").loc[G2, "units_passed"] == 0


def test_only_a_grids_counted_patrols_pass_its_units_in_the_period_they_start():
    # Monday: G1's worker walks G1 for 9 minutes, then 2 points (1 minute) in G2 past U2 (10 m away):
    # the segment 580 -> 620 m is G1's (its first point is), the minute in G2 is no patrol.
    crossing = walk(np.r_[np.linspace(400, 580, 10), 620, 640], 0, start=f"{DAY} 09:00")
    # Tuesday 23:55 to Wednesday 00:05: G2's worker walks G2 west to U2, within 50 m of it from 00:03 on.
    own = walk(1000 - 38 * np.arange(11), 0, person="P000009", start="2025-03-04 23:55")
    assert (own.geometry.x - X0 > 600).all() and (np.abs(own.geometry.x[:8] - X0 - 630) > 50).all()
    records = gpd.GeoDataFrame(pd.concat([crossing, own], ignore_index=True), crs=METRIC)
    summary, _ = quiet(records, two_grids(), units=edge_units())
    days = summary.periods.query("code == @G2").set_index("period")
    assert days["records"].tolist() == [2, 5, 6] and days["patrols"].tolist() == [0, 1, 0]
    assert days["units_passed"].tolist() == [0, 1, 0]  # Tuesday's patrol passed U2, on Tuesday
    assert days["coverage"].tolist() == [0.0, 1.0, 0.0]
    assert summary.grids.set_index("code").loc[G2, ["patrols", "units_passed"]].tolist() == [1, 1]


def test_without_units_coverage_is_missing_not_zero():
    summary, _ = quiet(straight(), two_grids())
    assert summary.grids["coverage"].isna().all() and summary.grids["units"].tolist() == [0, 0]
    assert "途经单元" not in summary.grids.loc[0, "label"]


# --- patrols, the rule table and gaps -----------------------------------------------------------------------

def checkins(times, grid=G1, person="P000003") -> pd.DataFrame:
    return pd.DataFrame({"人员编号": person, "打卡时间": times, "网格编码": grid})


def test_gaps_between_patrols_per_day_and_over_the_span():
    records = checkins(["2025-03-03 08:00", "2025-03-03 20:00", "2025-03-05 10:00"])
    summary, _ = quiet(records, two_grids().iloc[:1])
    days = summary.periods.set_index("period")
    assert days["patrols"].tolist() == [2, 0, 1] and days["required"].tolist() == [1.0, 1.0, 1.0]
    assert days["done_rate"].tolist() == [2.0, 0.0, 1.0]
    # day 3: 08:00-20:00; day 4: all of it; day 5: midnight to 10:00, the last record's time (at)
    assert days["longest_gap_h"].tolist() == [12.0, 24.0, 10.0]
    assert summary.grids.loc[0, "longest_gap_h"] == 38.0  # 20:00 on the 3rd to 10:00 on the 5th
    assert summary.kind == "checkins" and summary.grids["minutes"].isna().all()


def test_idle_grids_are_listed_from_their_last_patrol():
    records = checkins(["2025-03-03 08:00", "2025-03-03 20:00", "2025-03-05 10:00"])
    summary, report = quiet(records, two_grids(), at="2025-03-09 10:00")
    assert summary.idle["code"].tolist() == [G2, G1]  # G2 never: idle since midnight on the 3rd
    assert summary.idle["idle_days"].tolist() == pytest.approx([6 + 10 / 24, 4.0])
    assert summary.idle["label"].tolist() == ["已6.4天未巡查", "已4.0天未巡查"]
    assert pd.isna(summary.grids.set_index("code").loc[G2, "last_patrol"])
    found = report.to_frame().query("check == 'idle_grid'")
    assert found["code"].tolist() == [G2, G1] and found["severity"].eq("warning").all()
    assert summary.grids.set_index("code").loc[G1, "longest_gap_h"] == 38.0  # gaps stop at the last day
    later, _ = quiet(records, two_grids(), at="2025-03-09 10:00", idle_days=5)
    assert later.idle["code"].tolist() == [G2]


def test_records_close_in_time_are_one_patrol_and_short_tracks_do_not_count():
    records = checkins(["2025-03-03 08:00", "2025-03-03 08:59", "2025-03-03 10:00", "2025-03-03 10:00"])
    summary, report = quiet(records, two_grids().iloc[:1])
    assert summary.grids.loc[0, "patrols"] == 2  # 08:00 + 08:59, then 10:00 (twice: a duplicate)
    assert report.to_frame().set_index("check").loc["duplicate", "records"] == 1
    brief = walk(np.linspace(0, 80, 5), 0)  # four minutes in the grid
    assert quiet(brief, two_grids())[0].grids.loc[0, "patrols"] == 0


def test_the_rule_table_by_type_code_and_period():
    records = checkins([f"2025-03-0{d} 09:00" for d in range(3, 10)])  # Monday to Sunday
    rules = PatrolRules(required=({"type": "rural", "count": 2, "per": "week"},
                                  {"code": G1, "count": 14, "per": "week"}))
    summary, _ = quiet(records, two_grids(), rules=rules, period="week")
    week = summary.periods.set_index("code")
    assert week["period"].unique().tolist() == ["2025-W10"]
    assert week.loc[G1, "required"] == pytest.approx(14) and week.loc[G2, "required"] == pytest.approx(2)
    assert week.loc[G1, "done_rate"] == pytest.approx(0.5) and week.loc[G2, "patrols"] == 0
    daily, _ = quiet(records, two_grids(), rules=rules)
    assert daily.periods.query("code == @G2")["required"].tolist() == pytest.approx([2 / 7] * 7)
    monthly, _ = quiet(records, two_grids(), rules=PatrolRules(required=({"count": 31, "per": "month"},)),
                       period="month")
    assert monthly.periods["required"].tolist() == pytest.approx([7.0, 7.0])  # 7 days of March's 31


def test_rules_from_toml_and_their_errors(tmp_path):
    path = tmp_path / "patrols.toml"
    path.write_text('[patrols]\nwithin_m = 30\nidle_days = 2\n[[patrols.required]]\ntype = "rural"\n'
                    'count = 3\nper = "week"\n', encoding="utf-8")
    rules = PatrolRules.from_toml(path)
    assert (rules.within_m, rules.idle_days, rules.rule_for("rural"), rules.rule_for("city")) == \
        (30, 2, (3.0, "week"), (1.0, "day"))
    for text, match in [("within_m = -1", "within_m=-1"), ("colour = 1", "unknown patrol rule 'colour'"),
                        ('[[required]]\ncount = 1\nper = "year"', "per='year'"),
                        ('[[required]]\ncount = 1\ncode = "a"\ntype = "city"', "both a code and a type"),
                        ("idle_days = nan", "idle_days=nan")]:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(GridmapError, match=match) as error:
            PatrolRules.from_toml(path)
        assert str(path) in str(error.value)


# --- time in and outside the own grid -------------------------------------------------------------------

def in_then_out() -> gpd.GeoDataFrame:
    """Ten minutes in G1, then six points (five minutes) in G2."""
    return walk(np.concatenate([np.linspace(100, 550, 10), np.linspace(650, 900, 6)]), 0)


@pytest.mark.parametrize("source", ["roster", "records", "most_time"])
def test_time_inside_and_outside_the_own_grid(source):
    records, roster = in_then_out(), None
    if source == "roster":
        roster = pd.DataFrame({"person_id": ["P000003", "P000003", "P000009"],
                               "unit_code": [G1, "990102001001", G2]})  # a community is no grid
    elif source == "records":
        records = records.assign(所属网格=G1)
    summary, _ = quiet(records, two_grids(), roster=roster)
    worker = summary.workers.set_index("person_id").loc["P000003"]
    assert (worker["own_grids"], worker["own_from"]) == (G1, source)
    assert (worker["minutes_inside"], worker["minutes_outside"]) == (10.0, 5.0)
    assert (worker["records_inside"], worker["records_outside"]) == (10, 6)
    assert worker["share_inside"] == pytest.approx(2 / 3)
    assert summary.grids.set_index("code").loc[G1, "own_share"] == pytest.approx(2 / 3)
    if source == "roster":  # a worker of the roster without records is listed with nothing done
        idle = summary.workers.set_index("person_id").loc["P000009"]
        assert (idle["own_grids"], idle["patrols"], idle["minutes_inside"]) == (G2, 0, 0.0)


def test_a_point_on_the_shared_edge_goes_to_the_smaller_code():
    edge = walk([600, 600], [0, 10])  # on the edge between G1 and G2
    summary, _ = quiet(edge, two_grids())
    assert summary.grids.set_index("code")["records"].to_dict() == {G1: 2, G2: 0}
    point = pd.DataFrame({"person_id": ["P1"], "time": [f"{DAY} 09:00"]})
    shared = gpd.GeoDataFrame(point, geometry=[Point(X0 + 600, Y0)], crs=METRIC)
    summary, _ = quiet(shared, two_grids(), kind="checkins")
    assert summary.grids["patrols"].tolist() == [1, 0]


def test_duplicate_and_coincident_points():
    still = walk([100] * 11, 0)  # standing still for ten minutes, every point twice
    doubled = pd.concat([still, still], ignore_index=True)
    summary, report = quiet(doubled, two_grids(), units=row_units())
    row = summary.grids.loc[0]
    assert [row["records"], row["minutes"], row["patrols"], row["units_passed"]] == [11, 10.0, 1, 1]
    assert report.to_frame().set_index("check").loc["duplicate", "records"] == 11
    assert summary.tracks.loc[0, "length_m"] == 0 and summary.tracks.loc[0, "points"] == 11


def test_gps_jumps_and_long_breaks_split_the_track():
    xs = np.array([0, 20, 40, 5000, 60, 80, 100, 120, 140])  # a 5 km jump in one minute at the fourth point
    track = walk(xs, 0)
    track.loc[6:, "time"] += pd.Timedelta(minutes=30)  # and a 30-minute break before the seventh
    wide = gpd.GeoDataFrame({"code": [G1]}, geometry=[box(X0 - 100, Y0 - 100, X0 + 6000, Y0 + 100)],
                            crs=METRIC)
    summary, report = quiet(track, wide)
    line = summary.tracks.geometry.iloc[0]
    # 0-40 m, then 60-80 m (the jump's point is on no line), then 100-140 m after the break
    assert line.geom_type == "MultiLineString" and [len(p.coords) for p in line.geoms] == [3, 2, 3]
    assert summary.tracks.loc[0, "minutes"] == 5.0 and summary.tracks.loc[0, "length_m"] == 100.0
    assert report.to_frame().set_index("check").loc["jump", "records"] == 2


# --- coordinate systems, messy values ----------------------------------------------------------------------

def degrees_case():
    grids, units = to_degrees(two_grids(), "EPSG:4490"), to_degrees(row_units(), "EPSG:4490")
    track = to_degrees(in_then_out().pipe(lambda t: pd.concat([straight(), t.assign(
        time=t["time"] + pd.Timedelta(hours=2))], ignore_index=True)).pipe(gpd.GeoDataFrame, crs=METRIC))
    return grids, units, track


def same_answer(a, b, *, tracks_m=0.0):
    for frame in ("periods", "workers"):
        pd.testing.assert_frame_equal(getattr(a, frame), getattr(b, frame))
    pd.testing.assert_frame_equal(pd.DataFrame(a.grids).drop(columns="geometry"),
                                  pd.DataFrame(b.grids).drop(columns="geometry"))
    pd.testing.assert_frame_equal(pd.DataFrame(a.tracks).drop(columns=["geometry", "length_m"]),
                                  pd.DataFrame(b.tracks).drop(columns=["geometry", "length_m"]))
    np.testing.assert_allclose(a.tracks["length_m"], b.tracks["length_m"], atol=2 * tracks_m + 1e-6)
    shift = a.tracks.to_crs(METRIC).geometry.hausdorff_distance(b.tracks.to_crs(METRIC).geometry, align=False)
    assert (shift <= tracks_m + 1e-6).all(), shift


def test_gcj02_tracks_give_the_answer_of_their_wgs84_originals():
    grids, units, track = degrees_case()
    original, _ = quiet(track, grids, units=units)
    lon, lat = wgs84_to_gcj02(track.geometry.x.to_numpy(), track.geometry.y.to_numpy())
    shifted = gpd.GeoDataFrame(track.drop(columns="geometry"), geometry=gpd.points_from_xy(lon, lat),
                               crs=4326)
    assert shifted.to_crs(METRIC).distance(track.to_crs(METRIC), align=False).min() > 100  # really shifted
    same_answer(original, quiet(shifted, grids, units=units, coords="gcj02")[0], tracks_m=0.5)
    rows = shifted.assign(坐标系=np.where(np.arange(len(shifted)) % 2, "高德", "GCJ-02"))  # stated row by row
    same_answer(original, quiet(rows, grids, units=units)[0], tracks_m=0.5)


def test_mixed_coordinate_systems_row_by_row():
    grids, units, track = degrees_case()
    original, _ = quiet(track, grids, units=units)
    lon, lat = track.geometry.x.to_numpy(), track.geometry.y.to_numpy()
    odd = np.arange(len(track)) % 2 == 1
    glon, glat = wgs84_to_gcj02(lon, lat)
    mixed = pd.DataFrame({"巡查员": "P000003", "时间": track["time"], "经度": np.where(odd, glon, lon),
                          "纬度": np.where(odd, glat, lat), "坐标系": np.where(odd, "gcj02", "wgs84")})
    same_answer(original, quiet(mixed, grids, units=units)[0], tracks_m=0.5)
    clean = clean_patrols(mixed)
    assert clean["converted_from"].tolist() == [("gcj02" if o else np.nan) for o in odd]
    again = clean_patrols(clean, kind="tracks")  # no 坐标系 any more: cleaning again converts nothing
    assert again.geometry.geom_equals_exact(clean.geometry, tolerance=0).all()
    assert again["converted_from"].tolist() == clean["converted_from"].tolist()
    mixed.loc[0, "坐标系"] = "火星2"
    summary, report = quiet(mixed, grids, units=units)
    assert report.to_frame()["check"].tolist()[0] == "bad_coord_system"
    assert summary.grids["records"].sum() == len(mixed) - 1


def test_z_coordinates_give_the_flat_answer():
    flat = straight()
    raised = flat.set_geometry(shapely.force_3d(flat.geometry.to_numpy(), z=np.arange(len(flat)) * 10.0),
                               crs=METRIC)
    assert raised.has_z.all()
    same_answer(quiet(flat, two_grids(), units=row_units())[0],
                quiet(raised, two_grids(), units=row_units())[0])


def test_nulls_are_left_out_and_reported():
    track = straight()
    messy = pd.concat([track, track.iloc[:3]], ignore_index=True)
    messy.loc[31, "person_id"] = None
    messy.loc[32, "time"] = pd.NaT
    messy.loc[33, "geometry"] = None
    summary, report = quiet(messy, two_grids().iloc[:1], units=row_units())
    same_answer(summary, quiet(track, two_grids().iloc[:1], units=row_units())[0])
    checks = report.to_frame()["check"].tolist()
    assert {"no_worker", "no_location"} <= set(checks)
    with pytest.warns(GridmapWarning, match="no_worker"):
        summarize_patrols(messy, two_grids().iloc[:1])


def test_time_zones_are_read_as_beijing_time():
    times = ["2025-03-03T01:00:00Z", "2025-03-03 09:01", "2025-03-03T09:02:00+08:00", "2025/3/3 9:03",
             "2025年3月3日 9:04", "2025-03-02T20:05:00-05:00"]
    records = pd.DataFrame({"person_id": "P1", "time": times, "lon": 108.0 + np.arange(6) * 1e-4,
                            "lat": 22.8})
    clean = clean_patrols(records)
    assert clean["time"].dt.strftime("%H:%M").tolist() == [f"09:0{minute}" for minute in range(6)]
    assert clean.attrs["patrol_kind"] == "tracks"


def write_csv(frame: pd.DataFrame, path, encoding: str) -> None:
    path.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode(encoding))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_chinese_headers_in_a_gbk_csv(tmp_path, encoding):
    grids, units, track = degrees_case()
    table = pd.DataFrame({"巡查员": "韦静梅", "定位时间": track["time"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                          "经度": track.geometry.x.round(9), "纬度": track.geometry.y.round(9),
                          "备注": "日常巡查"})
    write_csv(table, tmp_path / "tracks.csv", encoding)
    read = read_patrols(tmp_path / "tracks.csv")
    assert read["person_id"].unique().tolist() == ["韦静梅"] and read["备注"].iloc[0] == "日常巡查"
    expected, _ = quiet(track.assign(person_id="韦静梅"), grids, units=units)
    same_answer(expected, quiet(read, grids, units=units)[0], tracks_m=0.001)


def test_checkins_by_grid_code_or_point_and_unknown_codes(tmp_path):
    table = pd.DataFrame({"巡查员编号": ["P1", "P1", "P2", "P2"],
                          "打卡时间": [f"{DAY} 0{h}:00" for h in (8, 9, 8, 9)],
                          "打卡网格": [G1, "990102001001099", None, G2]})
    places = [None, Point(X0 + 700, Y0), Point(X0 + 100, Y0), None]
    points = gpd.GeoDataFrame(table, geometry=places, crs=METRIC)
    summary, report = quiet(points, two_grids())
    assert summary.grids.set_index("code")["patrols"].to_dict() == {G1: 2, G2: 2}
    assert report.to_frame().set_index("check").loc["unknown_grid", "records"] == 1
    assert summary.workers.set_index("person_id")["patrols"].to_dict() == {"P1": 2, "P2": 2}


@pytest.mark.parametrize("records, options, error, match", [
    (pd.DataFrame({"person_id": ["P1"], "lon": [108.0], "lat": [22.8]}), {}, SchemaError, "no time column"),
    (pd.DataFrame({"time": [DAY], "lon": [108.0], "lat": [22.8]}), {}, SchemaError, "no worker column"),
    (pd.DataFrame({"person_id": ["P1"], "time": [DAY], "grid_code": [G1]}), {"kind": "tracks"}, SchemaError,
     "GPS tracks need coordinates"),
    (pd.DataFrame({"person_id": ["P1"], "time": [DAY], "grid_code": [G1]}), {"period": "year"}, SchemaError,
     "period='year'"),
    (pd.DataFrame({"person_id": ["P1"], "time": [None], "grid_code": [G1]}), {}, SchemaError,
     "no patrol record is usable"),
    (pd.DataFrame({"person_id": ["P1"], "time": [DAY], "lon": [108.0]}), {}, SchemaError,
     "only one coordinate column"),
])
def test_unusable_records_are_refused_with_the_fix(records, options, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)
        with pytest.raises(error, match=match):
            summarize_patrols(records, two_grids(), **options)


def test_inputs_are_not_changed():
    track, grids, units = straight(), two_grids(), row_units()
    before = [track.copy(), grids.copy(), units.copy()]
    quiet(track, grids, units=units)
    for frame, copy in zip((track, grids, units), before, strict=True):
        pd.testing.assert_frame_equal(frame, copy)


def test_tracks_are_lines_per_worker_and_day_in_the_records_crs():
    track = pd.concat([straight(), walk(np.linspace(0, 300, 16), 5, start="2025-03-04 09:00"),
                       walk(np.linspace(700, 1100, 21), 0, person="P000007")], ignore_index=True)
    summary, _ = quiet(gpd.GeoDataFrame(track, crs=METRIC), two_grids())
    tracks = summary.tracks
    assert tracks[["person_id", "day", "code", "points"]].values.tolist() == [
        ["P000003", DAY, G1, 31], ["P000003", "2025-03-04", G1, 16], ["P000007", DAY, G2, 21]]
    assert (tracks.geom_type == "LineString").all() and tracks.crs == METRIC
    assert tracks["length_m"].tolist() == pytest.approx([600, 300, 400])


# --- out of core --------------------------------------------------------------------------------------------

def many_workers(seed: int, n_workers: int = 6, days: int = 2) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for w in range(n_workers):
        for d in range(days):
            n = int(rng.integers(2, 40))
            start = f"2025-03-0{3 + d} 0{int(rng.integers(6, 9))}:00"
            parts.append(walk(rng.uniform(-50, 1250) + np.cumsum(rng.normal(0, 40, n)),
                              np.cumsum(rng.normal(0, 40, n)), person=f"P{w:06d}", start=start,
                              minutes=rng.uniform(0.2, 3)))
    frame = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(frame.sample(frac=1, random_state=seed, ignore_index=True), crs=METRIC)


def test_the_partitioned_engine_equals_memory(tmp_path):
    track = to_degrees(many_workers(1), "EPSG:4490")
    track.to_parquet(tmp_path / "tracks.parquet", row_group_size=37)
    grids, units = to_degrees(two_grids(), "EPSG:4490"), to_degrees(row_units(), "EPSG:4490")
    memory, _ = quiet(track, grids, units=units)
    chunked = summarize_patrols_partitioned(tmp_path / "tracks.parquet", grids, units=units, batch_size=50,
                                            tracks=True, report=Report("chunked"), workdir=tmp_path)
    same_answer(memory, chunked)
    assert list(tmp_path.iterdir()) == [tmp_path / "tracks.parquet"]  # no temporary file left


def test_the_partitioned_engine_refuses_a_source_without_usable_records(tmp_path):
    track = straight().to_crs(4490).assign(time=pd.NaT)
    track.to_parquet(tmp_path / "tracks.parquet")
    with pytest.raises(SchemaError, match="no patrol record is usable"):
        summarize_patrols_partitioned(tmp_path / "tracks.parquet", two_grids(), report=Report("x"))
    with pytest.raises(SchemaError, match="kind='walks'"):
        summarize_patrols_partitioned(tmp_path / "tracks.parquet", two_grids(), kind="walks")


def test_the_partitioned_engine_reads_chinese_columns_and_gcj02(tmp_path):
    grids, units, track = degrees_case()
    expected, _ = quiet(track, grids, units=units)
    lon, lat = wgs84_to_gcj02(track.geometry.x.to_numpy(), track.geometry.y.to_numpy())
    table = pd.DataFrame({"巡查员": track["person_id"], "定位时间": track["time"].astype(str), "lng": lon,
                          "lat": lat})
    table.to_parquet(tmp_path / "tracks.parquet")
    found = summarize_patrols_partitioned(tmp_path / "tracks.parquet", grids, units=units, xy=("lng", "lat"),
                                          crs=4326, coords="gcj02", batch_size=7, tracks=True,
                                          report=Report("chunked"))
    same_answer(expected, found, tracks_m=0.5)


needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("dask_geopandas") is None and os.environ.get("GRIDMAP_REQUIRE_DASK") != "1",
    reason="dask-geopandas not installed: pip install gridmap[dask]")


@needs_dask
def test_the_dask_engine_equals_memory(tmp_path):
    track = many_workers(2)
    memory, _ = quiet(track, two_grids(), units=row_units())
    found = summarize_patrols_dask(track, two_grids(), units=row_units(), npartitions=3, tracks=True,
                                   report=Report("dask"))
    same_answer(memory, found)
    track.to_parquet(tmp_path / "tracks.parquet", row_group_size=40)  # a path, read by dask-geopandas
    same_answer(memory, summarize_patrols_dask(tmp_path / "tracks.parquet", two_grids(), units=row_units(),
                                               tracks=True, report=Report("dask")))


# --- properties ---------------------------------------------------------------------------------------------

@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), near=st.floats(1, 120), far=st.floats(1, 400))
def test_coverage_is_a_share_and_grows_with_the_distance(seed, near, far):
    near, far = sorted((near, far))
    track = many_workers(seed, n_workers=2, days=1)
    grids = two_grids()
    rng = np.random.default_rng(seed)
    units = gpd.GeoDataFrame(geometry=gpd.points_from_xy(X0 + rng.uniform(0, 1200, 15),
                                                         Y0 + rng.uniform(-300, 300, 15)), crs=METRIC)
    small, _ = quiet(track, grids, units=units, within_m=near)
    large, _ = quiet(track, grids, units=units, within_m=far)
    for summary in (small, large):
        shares = pd.concat([summary.grids["coverage"], summary.periods["coverage"]]).dropna()
        assert ((shares >= 0) & (shares <= 1)).all()
        for table in (summary.grids, summary.periods):  # only a grid's own patrols pass its units
            assert (table.loc[table["patrols"] == 0, "units_passed"] == 0).all()
    assert (large.grids["units_passed"] >= small.grids["units_passed"]).all()
    assert (large.periods["units_passed"] >= small.periods["units_passed"]).all()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), batch=st.integers(1, 60))
def test_any_batch_size_gives_the_in_memory_answer(tmp_path_factory, seed, batch):
    folder = tmp_path_factory.mktemp("chunks")
    track = many_workers(seed, n_workers=4, days=2)
    track.to_parquet(folder / "tracks.parquet", row_group_size=max(1, batch // 2))
    memory, _ = quiet(track, two_grids(), units=row_units())
    chunked = summarize_patrols_partitioned(folder / "tracks.parquet", two_grids(), units=row_units(),
                                            batch_size=batch, tracks=True, report=Report("chunked"))
    same_answer(memory, chunked)
