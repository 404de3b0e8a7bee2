"""Service centres (issue 20, seed 001): floor-area standards and the households far from every centre."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString, MultiPolygon, Point, box

from gridmap.crs import wgs84_to_gcj02
from gridmap.errors import GeometryError, GridmapError, GridmapWarning, SchemaError
from gridmap.people.centres import centre_standards, check_centres, clean_centres, read_centres
from gridmap.schema import (
    CENTRE_KIND_NAMES_ZH,
    CENTRE_KIND_WORDS,
    CENTRE_KINDS,
    CENTRE_STANDARDS,
    centre_kind,
)

URBAN, RURAL = "450102001003", "450102001201"  # village digits 003: 社区 (urban), 201: 村 (rural)
G1, G2, G3 = f"{URBAN}001", f"{URBAN}002", f"{RURAL}001"
E0, N0, S = 537_000.0, 2_524_000.0, 2_000.0  # EPSG:4545 metres: three 2 km grids in a row, west to east
METRIC = "EPSG:4545"


def grids_layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": [G1, G2, G3], "community_code": [URBAN, URBAN, RURAL]},
                            geometry=[box(E0 + i * S, N0, E0 + (i + 1) * S, N0 + S) for i in range(3)],
                            crs=METRIC)


def centres_layer(*rows) -> gpd.GeoDataFrame:
    """Centres ``(kind, floor area, geometry)`` named 中心1, 中心2 …"""
    return gpd.GeoDataFrame({"name": [f"中心{i + 1}" for i in range(len(rows))], "kind": [r[0] for r in rows],
                             "floor_area_m2": [r[1] for r in rows]}, geometry=[r[2] for r in rows],
                             crs=METRIC)


def units_layer(*rows, new=None) -> gpd.GeoDataFrame:
    """Units ``(unit_id, kind, households, geometry)``."""
    frame = gpd.GeoDataFrame({"unit_id": [r[0] for r in rows], "kind": [r[1] for r in rows],
                              "households": [r[2] for r in rows]}, geometry=[r[3] for r in rows], crs=METRIC)
    if new is not None:
        frame["是否新建"] = new
    return frame


def at(x: float, y: float = 1000.0) -> Point:
    """A point ``x`` m east and ``y`` m north of the first grid's south-west corner."""
    return Point(E0 + x, N0 + y)


def findings(result, check: str) -> pd.DataFrame:
    frame = result.report.to_frame()
    return frame[frame["check"] == check]


# --- vocabulary and standards -------------------------------------------------------------------------------

def test_every_centre_word_names_a_kind_and_the_standards_are_seed_001s():
    assert set(CENTRE_KIND_WORDS.values()) == set(CENTRE_KINDS) == set(CENTRE_KIND_NAMES_ZH)
    for kind, name in CENTRE_KIND_NAMES_ZH.items():
        assert centre_kind(name) == kind
    assert CENTRE_STANDARDS == {"community_m2": 500.0, "compound_m2": 300.0,
                                "new_compound_m2_per_100_households": 30.0, "max_distance_m": 1000.0}


@pytest.mark.parametrize("standards, message", [({"community": 400}, "'community' is not a centre standard"),
                                                ({"compound_m2": -1}, "compound_m2=-1 is not a positive"),
                                                ({"max_distance_m": float("nan")}, "is not a positive"),
                                                ({"compound_m2": True}, "is not a positive")])
def test_bad_standards_are_refused(standards, message):
    with pytest.raises(GridmapError, match=message):
        centre_standards(standards)


# --- communities -------------------------------------------------------------------------------------------

def test_a_450_m2_community_centre_is_50_m2_short():
    result = check_centres(centres_layer(("社区党群服务中心", 450.0, at(500))), grids_layer())
    found = findings(result, "community_below_standard")
    assert found["record"].tolist() == [URBAN] and found["severity"].tolist() == ["error"]
    assert found[["needed_m2", "present_m2", "short_m2"]].values.tolist() == [[500.0, 450.0, 50.0]]
    assert "450 m² present, 500 m² needed, 50 m² short" in found["message"].iloc[0]
    assert result.communities["community_code"].tolist() == [URBAN]  # the rural 村 has no such standard


def test_the_community_centres_of_a_community_add_up_and_other_kinds_do_not_count():
    centres = centres_layer(("社区服务用房", 300.0, at(500)), ("社区综合服务设施", 250.0, at(2500)),
                            ("小区党群服务中心", 900.0, at(700)))
    result = check_centres(centres, grids_layer())
    assert result.communities[["centres", "present_m2", "short_m2", "below"]].values.tolist() == \
        [[2, 550.0, 0.0, False]]
    assert findings(result, "community_below_standard").empty


def test_a_community_without_centre_needs_the_whole_standard_and_the_kinds_are_configurable():
    result = check_centres(centres_layer(("社区服务用房", 600.0, at(500))), grids_layer(),
                           community_kinds=("urban", "rural"))
    found = findings(result, "community_below_standard")
    assert found["record"].tolist() == [RURAL] and found["short_m2"].tolist() == [500.0]


def test_the_communities_layer_places_centres_and_gives_the_kinds():
    communities = gpd.GeoDataFrame({"code": [URBAN, RURAL], "name": ["兴宁社区", "良村"],
                                    "kind": ["urban", "urban"]},
                                   geometry=[box(E0, N0, E0 + 2 * S, N0 + S),
                                             box(E0 + 2 * S, N0, E0 + 3 * S, N0 + S)],
                                   crs=METRIC)
    centres = centres_layer(("社区服务用房", 520.0, at(4500)))  # in 良村's polygon, treated as urban here
    result = check_centres(centres, grids_layer(), communities=communities)
    table = result.communities.set_index("community_code")
    assert table.loc[RURAL, "present_m2"] == 520.0 and table.loc[URBAN, "short_m2"] == 500.0


def test_a_centre_naming_an_unknown_community_is_an_error():
    centres = centres_layer(("社区服务用房", 520.0, at(500))).assign(社区代码=["450102001099"])
    result = check_centres(centres, grids_layer())
    assert findings(result, "unknown_community")["record"].tolist() == ["450102001099"]
    assert result.communities.loc[0, "present_m2"] == 0.0


# --- compounds -------------------------------------------------------------------------------------------

COMPOUND = box(E0 + 100, N0 + 100, E0 + 900, N0 + 900)


def test_a_new_compound_of_250_households_with_60_m2_needs_75_m2():
    units = units_layer(("C1", "住宅小区", 250, COMPOUND), new=["是"])
    result = check_centres(centres_layer(("小区党群服务中心", 60.0, at(500, 500))), grids_layer(),
                           units=units)
    row = result.compounds.set_index("compound").loc["C1"]
    assert row["rule"] == "new_compound_m2_per_100_households" and row["households"] == 250
    assert (row["needed_m2"], row["present_m2"], row["short_m2"]) == pytest.approx((75.0, 60.0, 15.0))
    found = findings(result, "compound_below_standard")
    assert found["record"].tolist() == ["C1"] and found["community_code"].tolist() == [URBAN]


def test_an_older_compound_needs_300_m2_and_a_new_one_without_centre_is_found_too():
    units = units_layer(("C1", "compound", 900, COMPOUND), ("C2", "compound", 1200, box(E0 + 2100, N0 + 100,
                                                                                        E0 + 2900, N0 + 900)),
                        ("C3", "compound", 400, at(3500)), new=[False, True, "否"])
    centres = centres_layer(("小区党群服务中心", 280.0, at(500, 500)))  # in C1's polygon: no unit_id needed
    result = check_centres(centres, grids_layer(), units=units)
    table = result.compounds.set_index("compound")
    assert table.index.tolist() == ["C1", "C2"]  # C3 is neither new nor has a centre
    assert table.loc["C1", ["needed_m2", "short_m2"]].tolist() == [300.0, 20.0]
    assert (table.loc["C2", ["centres", "needed_m2", "present_m2", "short_m2"]].tolist()
            == [0, 360.0, 0.0, 360.0])
    assert table.loc["C2", "grid_code"] == G2
    assert findings(result, "compound_below_standard")["record"].tolist() == ["C1", "C2"]


def test_a_multipolygon_footprint_centre_is_placed_by_a_point_inside_it():
    footprint = MultiPolygon([box(E0 + 200, N0 + 200, E0 + 260, N0 + 260), box(E0 + 300, N0 + 200,
                                                                               E0 + 360, N0 + 260)])
    units = units_layer(("C1", "compound", 500, COMPOUND))
    result = check_centres(centres_layer(("小区党群服务中心", 310.0, footprint)), grids_layer(), units=units)
    assert result.compounds[["compound", "present_m2", "below"]].values.tolist() == [["C1", 310.0, False]]
    assert result.grids["centres"].tolist() == [1, 0, 0]


def test_compound_centres_named_by_unit_id_and_unknown_compounds():
    units = units_layer(("C1", "compound", 500, at(3000)), ("C2", "compound", 500, at(3100)))
    centres = centres_layer(("小区党群服务中心", 200.0, at(5000)), ("小区党群服务中心", 150.0, at(5000, 500)),
                            ("小区党群服务中心", 400.0, at(100))).assign(小区编号=["C2", "C2", "C9"])
    result = check_centres(centres, grids_layer(), units=units)
    table = result.compounds.set_index("compound")
    assert table.loc["C2", ["centres", "present_m2", "below"]].tolist() == [2, 350.0, False]
    assert findings(result, "unknown_compound")["record"].tolist() == ["C9"]
    assert table.loc["中心3", "needed_m2"] == 300.0  # checked alone: it serves no known compound


def test_without_units_each_compound_centre_is_checked_alone():
    result = check_centres(centres_layer(("小区党群服务中心", 250.0, at(100)), ("小区党群服务中心", 300.0,
                                                                          at(300))), grids_layer())
    assert findings(result, "compound_below_standard")["record"].tolist() == ["中心1"]
    assert result.grids["households"].isna().all()


# --- distance -----------------------------------------------------------------------------------------------

def test_households_beyond_1000_m_are_far_measured_in_metres():
    centres = centres_layer(("社区服务用房", 600.0, at(1000)))
    units = units_layer(("U1", "compound", 100, at(1999)), ("U2", "compound", 40, at(2001)),
                        ("U3", "natural_village", 70, at(1000, 1600)), ("U4", "school", 0, at(5000)))
    result = check_centres(centres, grids_layer(), units=units)
    far = findings(result, "far_from_centre")
    assert far["record"].tolist() == ["U2"] and far["severity"].tolist() == ["warning"]  # 1,001 m
    assert far["distance_m"].tolist() == [1001.0] and far["households"].tolist() == [40]
    assert far["grid_code"].tolist() == [G2]
    grids = result.grids.set_index("code")
    assert grids.loc[G1, ["households", "households_far"]].tolist() == [170, 0]
    assert grids.loc[G2, ["households", "households_far", "far_share"]].tolist() == [40, 40, 1.0]
    assert grids.loc[G2, "label"] == "1,000 米外 40 户（100.0%）"
    assert grids.loc[G1, "label"] == "服务中心 1 处；住户均在 1,000 米内"
    assert grids.loc[G3, "label"] == "无服务中心"
    summary = result.report.tables["summary"].iloc[0]
    assert (summary["households"], summary["households_far"]) == (210, 40)


def test_the_distance_is_configurable_and_polygons_count_from_their_edge():
    centres = centres_layer(("社区服务用房", 600.0, box(E0 + 900, N0 + 900, E0 + 1100, N0 + 1100)))
    units = units_layer(("U1", "compound", 100, at(1000)), ("U2", "compound", 40, at(1900)))
    assert findings(check_centres(centres, grids_layer(), units=units), "far_from_centre").empty  # 800 m
    near = check_centres(centres, grids_layer(), units=units, standards={"max_distance_m": 500})
    assert findings(near, "far_from_centre")[["record", "distance_m"]].values.tolist() == [["U2", 800.0]]
    assert near.grids.loc[0, "label"] == "服务中心 1 处；500 米外 40 户（28.6%）"


def test_z_coordinates_change_no_distance():
    flat = centres_layer(("社区服务用房", 600.0, at(1000)))
    high = centres_layer(("社区服务用房", 600.0, Point(E0 + 1000, N0 + 1000, 80.0)))
    units = units_layer(("U1", "compound", 100, Point(E0 + 2500, N0 + 1000, 5.0)))
    distances = [findings(check_centres(c, grids_layer(), units=units),
                          "far_from_centre")["distance_m"].tolist()
                 for c in (flat, high)]
    assert distances == [[1500.0], [1500.0]]


def test_walking_areas_replace_the_straight_line():
    centres = centres_layer(("社区服务用房", 600.0, at(1000)))
    units = units_layer(("U1", "compound", 100, at(1500)), ("U2", "compound", 40, at(300)))
    reach = gpd.GeoDataFrame(geometry=[box(E0 + 1000, N0, E0 + 2000, N0 + 2000),
                                       box(E0 + 1200, N0, E0 + 1800, N0 + 1500)], crs=METRIC)  # overlapping
    result = check_centres(centres, grids_layer(), units=units, reach=reach)
    assert findings(result, "far_from_centre").empty
    outside = findings(result, "outside_reach")
    # 700 m, but cut off
    assert outside["record"].tolist() == ["U2"] and outside["households"].tolist() == [40]
    assert result.grids.loc[0, "label"] == "服务中心 1 处；步行范围外 40 户（28.6%）"


def test_without_any_centre_every_household_is_far():
    units = units_layer(("U1", "compound", 100, at(1500)), ("B1", "楼栋", 60, at(1600)))
    result = check_centres(centres_layer(), grids_layer(), units=units)
    assert findings(result, "far_from_centre")["record"].tolist() == ["U1"]  # buildings are their compound's
    assert result.report.tables["summary"].loc[0, "households_far"] == 100


@settings(max_examples=10, deadline=None)
@given(points=st.lists(st.tuples(st.floats(0, 0.03), st.floats(0, 0.01), st.integers(0, 900)), min_size=1,
                       max_size=12),
       limits=st.lists(st.floats(1, 5000), min_size=2, max_size=2))
def test_the_households_far_never_grow_with_the_distance(points, limits):
    x, y = 108.30, 22.80  # in degrees (EPSG:4490), as real layers come
    grids = gpd.GeoDataFrame({"code": [G1, G2, G3], "community_code": [URBAN, URBAN, RURAL]},
                             geometry=[box(x + i / 100, y, x + (i + 1) / 100, y + 0.01) for i in range(3)],
                             crs=4490)
    centres = gpd.GeoDataFrame({"kind": ["社区服务用房", "网格党群服务站"], "floor_area_m2": [600.0, 40.0]},
                               geometry=[Point(x + 0.005, y + 0.005), Point(x + 0.022, y + 0.001)], crs=4490)
    units = gpd.GeoDataFrame({"unit_id": [f"U{i}" for i in range(len(points))], "kind": "compound",
                              "households": [h for _, _, h in points]},
                             geometry=[Point(x + dx, y + dy) for dx, dy, _ in points], crs=4490)
    far = [check_centres(centres, grids, units=units, standards={"max_distance_m": limit})
           .report.tables["summary"].loc[0, "households_far"]
           for limit in sorted(limits)]
    assert all(a >= b for a, b in zip(far, far[1:], strict=False))
    assert all(0 <= f <= sum(h for _, _, h in points) for f in far)


# --- messy inputs -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, reason", [("-20", "is not above 0"), ("0", "is not above 0"),
                                           ("2000000", "is larger than 100,000 m²"),
                                           ("大", "is not a number"), ("1e400", "is not a finite number")])
def test_bad_floor_areas_are_errors_naming_the_row(tmp_path, value, reason):
    path = tmp_path / "centres.csv"
    path.write_text(f"名称,类型,面积,经度,纬度\n甲,社区服务用房,600,108.3,22.8\n乙,社区服务用房,{value},108.3,22.8\n",
                    encoding="utf-8")
    with pytest.raises(SchemaError, match=rf"centres.csv, row 3: floor_area_m2 '{value}' {reason}"):
        read_centres(path)


def test_a_missing_floor_area_is_a_warning_and_counts_as_nothing():
    result = check_centres(centres_layer(("社区服务用房", None, at(500))), grids_layer())
    found = findings(result, "no_floor_area")
    assert found["severity"].tolist() == ["warning"] and found["record"].tolist() == ["中心1"]
    assert result.communities.loc[0, "short_m2"] == 500.0


def test_gbk_csv_with_chinese_headers_gcj02_points_and_an_unknown_kind(tmp_path):
    lon, lat = 108.3002, 22.8003
    glon, glat = wgs84_to_gcj02(lon, lat)
    path = tmp_path / "阵地.csv"
    path.write_bytes(("中心名称,阵地类型,建筑面积(平方米),经度,纬度\n"
                      f"兴宁社区党群服务中心,社区党群服务中心,\"1,200\",{float(glon):.7f},{float(glat):.7f}\n"
                      f"某站,党群服务占,30,{float(glon):.7f},{float(glat):.7f}\n").encode("gbk"))
    centres = read_centres(path, coords="gcj02")
    assert centres["floor_area_m2"].tolist() == [1200.0, 30.0]
    assert centres.geometry.iloc[0].distance(Point(lon, lat)) < 1e-5  # shifted back to WGS84
    grids = gpd.GeoDataFrame({"code": [G1], "community_code": [URBAN]},
                             geometry=[box(108.30, 22.80, 108.31, 22.81)], crs=4490)
    result = check_centres(centres, grids)
    assert result.communities.loc[0, "present_m2"] == 1200.0
    unknown = findings(result, "unknown_kind")
    assert (unknown["record"].tolist() == ["某站"]
            and "the closest is '党群服务站'" in unknown["message"].iloc[0])


def test_lines_are_not_centres_and_a_table_without_kind_is_refused():
    with pytest.raises(GeometryError, match="row 1: a centre is a 1 geometry \\(LineString\\)"):
        clean_centres(centres_layer(("社区服务用房", 500.0, LineString([(E0, N0), (E0 + 10, N0)]))))
    with pytest.raises(SchemaError, match="no kind column"):
        clean_centres(centres_layer(("社区服务用房", 500.0, at(1))).drop(columns="kind"))
    with pytest.raises(SchemaError, match="must be a GeoDataFrame"):
        clean_centres(pd.DataFrame({"kind": ["社区服务用房"]}))


def test_a_repeated_centre_is_counted_once():
    centres = centres_layer(("社区服务用房", 300.0, at(500)),
                            ("社区服务用房", 300.0, at(500))).assign(name="甲")
    result = check_centres(centres, grids_layer())
    assert findings(result, "duplicate")["record"].tolist() == ["甲"]
    assert result.communities.loc[0, "present_m2"] == 300.0


def test_a_centre_outside_every_grid_is_a_warning_and_the_callers_frames_stay():
    centres = centres_layer(("社区服务用房", 600.0, at(-5000)))
    units = units_layer(("U1", "compound", 10, at(100)))
    before = (centres.copy(), units.copy())
    result = check_centres(centres, grids_layer(), units=units)
    assert findings(result, "centre_outside")["record"].tolist() == ["中心1"]
    pd.testing.assert_frame_equal(centres, before[0])
    pd.testing.assert_frame_equal(units, before[1])
    assert isinstance(result.grids, gpd.GeoDataFrame) and result.grids.crs == METRIC
    assert np.isclose(result.grids.area.sum(), 3 * S * S)


# --- units whose grid code is none of the grids' ------------------------------------------------------------

def test_units_with_the_builders_temporary_grid_codes_are_placed_by_their_location_with_a_warning():
    """The builder's units carry 450102001003-001 until the registry gives codes: they must not count 0."""
    centres = centres_layer(("社区服务用房", 600.0, at(400)))
    units = units_layer(("U1", "compound", 100, at(500)),  # 100 m from the centre, in G1
                        ("U2", "compound", 200,
                         box(E0 + 2400, N0 + 900, E0 + 2600, N0 + 1100)),  # G2, 2,100 m
                        ("U3", "natural_village", 300, at(4500)))  # G3, 4,100 m
    units["grid_code"] = [f"{URBAN}-001", G2, f"{URBAN}-003"]  # U2's code is a grid's: trusted
    with pytest.warns(GridmapWarning, match=r"check_centres: 2 of 3 units name a grid code that is none "
                      r"of the grids' \(e.g. 450102001003-001, a temporary code of the builder\).*Fix: "
                      r".*temp_code"):
        result = check_centres(centres, grids_layer(), units=units)
    grids = result.grids.set_index("code")
    assert grids["households"].tolist() == [100, 200, 300]
    assert grids["households_far"].tolist() == [0, 200, 300]
    summary = result.report.tables["summary"].iloc[0]
    assert (summary["households"], summary["households_far"]) == (600, 500)
    stray = findings(result, "unknown_grid_code")
    assert stray["record"].tolist() == ["U1", "U3"] and set(stray["severity"]) == {"warning"}
    assert stray["grid_code_given"].tolist() == [f"{URBAN}-001", f"{URBAN}-003"]
    assert stray["grid_code"].tolist() == [G1, G3]
    assert findings(result, "far_from_centre")["grid_code"].tolist() == [G2, G3]
    without = check_centres(centres, grids_layer(), units=units.drop(columns="grid_code"))
    pd.testing.assert_frame_equal(pd.DataFrame(without.grids), pd.DataFrame(result.grids))


def test_a_unit_in_no_grid_is_a_warning_and_a_blank_grid_code_is_placed_silently():
    units = units_layer(("U1", "compound", 100, at(500)), ("U2", "compound", 70, at(-800)))
    units["网格编码"] = [None, None]  # blank codes: placed by location, no GridmapWarning (it would raise)
    result = check_centres(centres_layer(("社区服务用房", 600.0, at(400))), grids_layer(), units=units)
    assert findings(result, "unknown_grid_code").empty
    outside = findings(result, "outside_grids")
    assert outside["record"].tolist() == ["U2"] and outside["severity"].tolist() == ["warning"]
    assert result.grids["households"].tolist() == [100, 0, 0]
