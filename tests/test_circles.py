"""Walking circles around service centres (issue 21, Nanning seed 001): networks where the reach is known.

At the default 4.5 km/h a walker covers 75 m a minute: 375 m in 5 minutes, 750 m in 10, 1,125 m in 15.
Fixtures are hand-made in EPSG:4545 (metres); offsets are from (X0, Y0).
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import LineString, MultiLineString, Point, Polygon, box

from gridmap.errors import CRSError, GeometryError, GridmapWarning, SchemaError
from gridmap.fieldwork import STRAIGHT_LINE_CAVEAT, circle_coverage, service_circles

METRIC = "EPSG:4545"
X0, Y0 = 500_000.0, 2_520_000.0
WALK_OFF = 50.0
QUAD = 16
DISC_SHARE = (2 * QUAD) * math.sin(2 * math.pi / (4 * QUAD)) / (2 * math.pi)  # inscribed 64-gon / disc


def line(*points) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in points])


def at(x: float, y: float = 0.0) -> Point:
    return Point(X0 + x, Y0 + y)


def roads(*geoms, crs=METRIC) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [f"路{i}" for i in range(len(geoms))]}, geometry=list(geoms), crs=crs)


def centres(*geoms, crs=METRIC, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=crs)


def same_area(a, b, tolerance_m2: float = 1.0) -> bool:
    return a.symmetric_difference(b).area <= tolerance_m2


PATH = line((0, 0), (2000, 0))


# --- the reach along a network ------------------------------------------------------------------------------

def test_a_straight_2_km_path_from_one_end_is_walked_1125_m_in_15_minutes():
    circles = service_circles(centres(at(0)), roads(PATH))
    assert circles[["minutes", "reach_m", "network_m", "snap_m", "method"]].values.tolist() == [
        [5.0, 375.0, 375.0, 0.0, "network"], [10.0, 750.0, 750.0, 0.0, "network"],
        [15.0, 1125.0, 1125.0, 0.0, "network"]]
    for reach, shape in zip((375, 750, 1125), circles.geometry, strict=True):
        assert same_area(shape, line((0, 0), (reach, 0)).buffer(WALK_OFF, quad_segs=QUAD))
    # the segment buffered by the walk-off: a 100 m wide strip with two round ends
    expected = 1125 * 2 * WALK_OFF + math.pi * WALK_OFF ** 2
    assert circles["area_m2"].iloc[2] == pytest.approx(expected, rel=(1 - DISC_SHARE) * 0.1)
    assert circles["caveat"].tolist() == ["", "", ""]
    assert circles["label"].tolist() == [f"row1 {m}分钟步行圈" for m in (5, 10, 15)]


def test_from_the_middle_of_the_path_the_walk_goes_both_ways_until_the_path_ends():
    circles = service_circles(centres(at(500)), roads(PATH), minutes=[15])
    assert circles["network_m"].iloc[0] == pytest.approx(500 + 1125)
    assert same_area(circles.geometry.iloc[0], line((0, 0), (1625, 0)).buffer(WALK_OFF, quad_segs=QUAD))


def lattice(n: int = 5, step: float = 100.0) -> list[LineString]:
    """n horizontal and n vertical lines, ``step`` apart, each one piece crossing the others (unnoded)."""
    span = step * (n - 1)
    return ([line((0, step * k), (span, step * k)) for k in range(n)]
            + [line((step * k, 0), (step * k, span)) for k in range(n)])


def diamond_lines(reach: float, centre=(200, 200), n: int = 5, step: float = 100.0) -> MultiLineString:
    """The lattice lines within a walk of ``reach`` of ``centre`` along the lattice (L1 distance)."""
    span, (cx, cy), parts = step * (n - 1), centre, []
    for k in range(n):
        for horizontal, free, origin in ((True, cx, cy), (False, cy, cx)):
            fixed = step * k
            left = reach - abs(fixed - origin)
            if left < 0:
                continue
            lo, hi = max(0.0, free - left), min(span, free + left)
            parts.append(line((lo, fixed), (hi, fixed)) if horizontal else line((fixed, lo), (fixed, hi)))
    return MultiLineString(parts)


@pytest.mark.parametrize("minutes, network_m", [(1.0, 400.0), (2.5, 2400.0), (30.0, 4000.0)])
def test_a_grid_network_is_walked_as_far_as_the_lattice_allows(minutes, network_m):
    # 6 km/h: 100 m a minute; lines 100 m apart, the centre at the middle crossing
    circles = service_circles(centres(at(200, 200)), roads(*lattice()), minutes=[minutes], speed_kmh=6)
    assert circles["network_m"].iloc[0] == pytest.approx(network_m)
    expected = diamond_lines(100 * minutes).buffer(WALK_OFF, quad_segs=QUAD)
    assert same_area(circles.geometry.iloc[0], expected, tolerance_m2=5.0)


def test_crossing_lines_are_noded_where_they_cross():
    cross = [line((0, 0), (1000, 0)), line((500, -500), (500, 500))]
    circles = service_circles(centres(at(0)), roads(*cross), minutes=[10, 15])
    # 10 min: 750 m along the first line, then 250 m up and down the second; 15 min: everything
    assert circles["network_m"].tolist() == pytest.approx([750 + 2 * 250, 2000])


def test_a_disconnected_part_of_the_network_is_never_reached():
    island = line((0, 120), (2000, 120))  # parallel, 120 m away, joined to nothing
    circles = service_circles(centres(at(0), at(0, 120), centre_id=["A", "B"]), roads(PATH, island),
                              minutes=[15])
    a, b = circles.geometry
    assert circles["network_m"].tolist() == pytest.approx([1125, 1125])
    assert a.intersection(island).length == 0 and b.intersection(PATH).length == 0
    assert same_area(a, line((0, 0), (1125, 0)).buffer(WALK_OFF, quad_segs=QUAD))


def test_a_centre_off_the_network_walks_to_its_nearest_point_first():
    circles = service_circles(centres(at(300, 30)), roads(PATH), minutes=[15])
    row = circles.iloc[0]
    assert row["snap_m"] == pytest.approx(30)
    assert row["network_m"] == pytest.approx(300 + (1125 - 30))  # back to the start, and on to 1,395 m
    walked = shapely.union_all([line((0, 0), (1395, 0)), line((300, 30), (300, 0))])
    assert same_area(row.geometry, walked.buffer(WALK_OFF, quad_segs=QUAD))


def test_a_centre_far_from_the_network_warns_and_may_not_reach_it():
    with pytest.warns(GridmapWarning, match=r"1 centres lie farther from the network than the walk-off "
                                            r"\(50 m\): row 1 \(1,500 m\)"):
        circles = service_circles(centres(at(300, 1500)), roads(PATH))
    assert circles["network_m"].tolist() == pytest.approx([0, 0, 0])
    # the walk towards the path: 375, 750 and 1,125 m of the 1,500 m straight line, buffered
    for reach, shape in zip((375, 750, 1125), circles.geometry, strict=True):
        assert same_area(shape, line((300, 1500), (300, 1500 - reach)).buffer(WALK_OFF, quad_segs=QUAD))


def test_a_polygon_centre_walks_out_from_its_point_nearest_the_network():
    diamond = Polygon([(X0 + 300, Y0 + 20), (X0 + 350, Y0 + 70), (X0 + 300, Y0 + 120), (X0 + 250, Y0 + 70)])
    circles = service_circles(centres(diamond), roads(PATH), minutes=[15])
    assert circles["snap_m"].iloc[0] == pytest.approx(20)
    assert circles["network_m"].iloc[0] == pytest.approx(300 + 1125 - 20)
    assert circles.geometry.iloc[0].covers(diamond)


@pytest.mark.parametrize("messy", [
    [PATH, PATH],  # the same path twice
    [line((0, 0), (700, 0)), line((700, 0), (2000, 0)), line((300, 0), (300, 0))],  # pieces, zero length
    [line((0, 0), (1000, 0)), line((500, 0), (2000, 0))],  # overlapping stretches
    [MultiLineString([[(X0, Y0), (X0 + 900, Y0)], [(X0 + 900, Y0), (X0 + 2000, Y0)]])],
    [LineString([(X0, Y0, 12.0), (X0 + 2000, Y0, 30.0)])],  # heights
], ids=["duplicate", "pieces-and-zero-length", "overlap", "multilinestring", "z"])
def test_messy_lines_give_the_same_circles_as_the_clean_path(messy):
    clean = service_circles(centres(at(0)), roads(PATH))
    got = service_circles(centres(Point(X0, Y0, 5.0)), roads(*messy))
    assert got["network_m"].tolist() == pytest.approx(clean["network_m"].tolist())
    for a, b in zip(got.geometry, clean.geometry, strict=True):
        assert same_area(a, b)
    assert not got.geometry.has_z.any()


def test_layers_in_degrees_come_back_in_the_centres_crs():
    circles = service_circles(centres(at(0)).to_crs(4326), roads(PATH).to_crs(4490), minutes=[15])
    assert circles.crs.to_epsg() == 4326
    assert circles["network_m"].iloc[0] == pytest.approx(1125, abs=0.05)
    assert circles["area_m2"].iloc[0] == pytest.approx(1125 * 100 + math.pi * 2500, rel=0.002)


def test_chinese_headers_name_the_centres():
    frame = centres(at(0), at(2000), **{"编号": ["SC01", "SC02"], "名称": ["民主社区党群服务中心", None]})
    circles = service_circles(frame, roads(PATH), minutes=[15])
    assert circles[["centre_id", "name", "label"]].values.tolist() == [
        ["SC01", "民主社区党群服务中心", "民主社区党群服务中心 15分钟步行圈"],
        ["SC02", "SC02", "SC02 15分钟步行圈"]]


def test_without_a_network_the_circles_are_straight_line_discs_with_a_caveat():
    with pytest.warns(GridmapWarning, match="no road network was given, so the circles are straight-line"):
        circles = service_circles(centres(at(0), name=["甲中心"]))
    assert circles["reach_m"].tolist() == [375.0, 750.0, 1125.0]
    assert circles["method"].eq("straight_line").all() and circles["caveat"].eq(STRAIGHT_LINE_CAVEAT).all()
    assert circles["network_m"].isna().all() and circles["snap_m"].isna().all()
    assert circles["area_m2"].iloc[2] == pytest.approx(math.pi * 1125 ** 2, rel=1 - DISC_SHARE)
    assert circles.geometry.iloc[2].covers(at(1120)) and not circles.geometry.iloc[2].covers(at(1130))
    assert circles["label"].iloc[2] == "甲中心 15分钟步行圈（直线距离）"


@pytest.mark.parametrize("options, message", [
    ({"minutes": [0]}, "minutes must be a number above 0"),
    ({"minutes": [-5, 10]}, "minutes must be a number above 0"),
    ({"minutes": ["一刻钟"]}, "minutes must be a number"),
    ({"minutes": []}, "minutes is empty"),
    ({"minutes": [float("inf")]}, "minutes must be a number"),
    ({"speed_kmh": 0}, "speed_kmh must be a number above 0"),
    ({"speed_kmh": 1e6}, "at most 30"),
    ({"walk_off_m": 0}, "walk_off_m must be a number above 0"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(SchemaError, match=message):
        service_circles(centres(at(0)), roads(PATH), **options)


def test_bad_layers_are_refused():
    with pytest.raises(GeometryError, match="roads must be lines; they hold Polygon"):
        service_circles(centres(at(0)), roads(PATH, box(X0, Y0, X0 + 10, Y0 + 10)))
    with pytest.raises(GeometryError, match="roads hold no line of any length"):
        service_circles(centres(at(0)), roads(line((5, 5), (5, 5))))
    with pytest.raises(CRSError, match="centres have no CRS"):
        service_circles(gpd.GeoDataFrame(geometry=[at(0)]), roads(PATH))
    with pytest.raises(GeometryError, match="row 2: 1 centres have no geometry"):
        service_circles(centres(at(0), None), roads(PATH))
    with pytest.warns(GridmapWarning, match=r"1 roads without geometry were left out \(row 2\)"):
        service_circles(centres(at(0)), roads(PATH, None))


segments = st.lists(st.tuples(*[st.integers(0, 10)] * 4), min_size=1, max_size=10)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(segments, st.integers(0, 10), st.integers(0, 10), st.floats(0.5, 8), st.floats(0.5, 8))
def test_the_reached_area_grows_with_the_minutes_and_stays_within_the_straight_line_circle(
        lines, cx, cy, first, second):
    # segments between the points of a 100 m lattice (some crossing, some apart, some of zero length)
    geoms = [line((100 * a, 100 * b), (100 * c, 100 * d)) for a, b, c, d in lines]
    if all(g.length == 0 for g in geoms):
        geoms.append(line((0, 0), (100, 0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)  # centres off the network are expected
        circles = service_circles(centres(at(100 * cx, 100 * cy)), roads(*geoms), minutes=[first, second])
    small, large = (circles.iloc[0], circles.iloc[1]) if len(circles) == 2 else (circles.iloc[0],) * 2
    assert small["network_m"] <= large["network_m"] + 1e-6
    assert small.geometry.difference(large.geometry).area <= 1e-3 * small["area_m2"] + 1.0
    for row in (small, large):
        straight = at(100 * cx, 100 * cy).buffer(row["reach_m"] + WALK_OFF + 2, quad_segs=64)
        assert row.geometry.difference(straight).area < 1.0


# --- households inside the circles --------------------------------------------------------------------------

C1, C2 = "990102001001", "990102001002"


def units_layer(rows, crs=METRIC) -> gpd.GeoDataFrame:
    """rows: (unit_id, kind, households, population, community_code, geometry)."""
    return gpd.GeoDataFrame({"unit_id": [r[0] for r in rows], "kind": [r[1] for r in rows],
                             "households": pd.array([r[2] for r in rows], dtype="Int64"),
                             "population": pd.array([r[3] for r in rows], dtype="Int64"),
                             "community_code": [r[4] for r in rows]}, geometry=[r[5] for r in rows], crs=crs)


def square_circles(*specs, crs=METRIC) -> gpd.GeoDataFrame:
    """Hand-made 'circles' (boxes, so that the expected areas are exact): (centre_id, minutes, box)."""
    return gpd.GeoDataFrame({"centre_id": [s[0] for s in specs], "minutes": [float(s[1]) for s in specs],
                             "method": "network"}, geometry=[s[2] for s in specs], crs=crs)


UNITS = [
    ("C1", "小区", 300, 900, C1, at(100, 100)),
    ("C2", "compound", 200, 560, C1, at(400, 100)),  # on the east edge of the box: counts
    ("C3", "住宅小区", 500, 1400, C2, box(X0 + 700, Y0, X0 + 800, Y0 + 100)),  # its west edge lies 300 m out
    ("S1", "学校", 0, 1200, C1, at(150, 150)),  # a school: not a household, nor listed outside
    ("V1", "自然村", 80, 250, C2, at(1000, 100)),
]


def test_households_and_population_inside_each_circle_per_community():
    circles = square_circles(("A", 15, box(X0, Y0, X0 + 400, Y0 + 200)))
    coverage = circle_coverage(circles, units_layer(UNITS))
    assert coverage.circles[["centre_id", "minutes", "community_code", "units", "households", "population"]] \
        .values.tolist() == [["A", 15.0, C1, 2, 500, 1460]]
    assert coverage.circles["share_households"].tolist() == [1.0]
    table = coverage.communities.set_index("community_code")
    assert table.loc[C1, ["households", "households_in", "population_in"]].tolist() == [500, 500, 1460]
    assert table.loc[C2, ["households", "households_in", "share_households"]].tolist() == [580, 0, 0.0]
    assert table["share_area"].isna().all()
    assert table.loc[C1, "label"] == f"{C1} 15分钟步行圈覆盖100%的户"


def test_the_compounds_and_villages_outside_every_circle_are_listed_with_their_distance():
    circles = square_circles(("A", 15, box(X0, Y0, X0 + 400, Y0 + 200)))
    coverage = circle_coverage(circles, units_layer(UNITS))
    outside = coverage.outside
    assert outside["unit_id"].tolist() == ["C3", "V1"]  # the school outside is no household: not listed
    assert outside["distance_m"].tolist() == pytest.approx([300.0, 600.0])  # from C3's nearest edge
    assert outside.geometry.iloc[0].geom_type == "Polygon" and outside.crs == circles.crs
    assert outside["label"].iloc[1] == "V1：不在任何步行圈内（距最近的圈约600米）"
    found = coverage.report.to_frame()
    assert found[["check", "record", "community_code"]].values.tolist() == [
        ["outside_circles", "C3", C2], ["outside_circles", "V1", C2]]
    assert found["message"].iloc[0] == "C3 (500 households) lies 300 m outside every walking circle"


def test_units_inside_two_circles_count_once_for_their_community():
    circles = square_circles(("A", 15, box(X0, Y0, X0 + 300, Y0 + 200)),
                             ("B", 15, box(X0 + 50, Y0, X0 + 450, Y0 + 200)))
    coverage = circle_coverage(circles, units_layer(UNITS))
    assert coverage.circles[["centre_id", "households"]].values.tolist() == [["A", 300], ["B", 500]]
    assert coverage.communities.set_index("community_code").loc[C1, "households_in"] == 500


def test_with_communities_units_are_placed_by_polygon_and_the_covered_area_is_measured():
    communities = gpd.GeoDataFrame({"区划代码": [C1, C2], "名称": ["民主社区", "朝阳社区"]},
                                   geometry=[box(X0, Y0, X0 + 600, Y0 + 200),
                                             box(X0 + 600, Y0, X0 + 1200, Y0 + 200)],
                                   crs=METRIC).to_crs(4490)
    units = units_layer(UNITS).assign(community_code=[C2, None, None, C1, C1])  # wrong or missing codes
    circles = square_circles(("A", 10, box(X0, Y0, X0 + 300, Y0 + 200)),
                             ("A", 15, box(X0, Y0, X0 + 900, Y0 + 200)))
    coverage = circle_coverage(circles, units, communities=communities)
    table = coverage.communities
    assert isinstance(table, gpd.GeoDataFrame) and table.crs == communities.crs
    got = table.set_index(["community_code", "minutes"])
    assert got["share_area"].to_dict() == pytest.approx({(C1, 10.0): 0.5, (C2, 10.0): 0.0,
                                                         (C1, 15.0): 1.0, (C2, 15.0): 0.5}, abs=1e-6)
    assert got.loc[(C1, 15.0), ["name", "households", "households_in"]].tolist() == ["民主社区", 500, 500]
    assert got.loc[(C2, 15.0), ["households", "households_in"]].tolist() == [580, 500]
    assert got.loc[(C1, 10.0), "label"] == "民主社区 10分钟步行圈覆盖60%的户"


def test_units_with_chinese_headers_missing_counts_and_no_community():
    units = gpd.GeoDataFrame({"编号": ["C1", "C2"], "类型": ["小区", "小区"],
                              "户数": pd.array([300, None], dtype="Int64"), "人口": [900, 100],
                              "社区代码": [C1, None]}, geometry=[at(100, 100), at(200, 100)], crs=METRIC)
    before = units.copy()
    coverage = circle_coverage(square_circles(("A", 15, box(X0, Y0, X0 + 400, Y0 + 200))), units)
    assert coverage.communities.set_index("community_code")["households_in"].to_dict() == {"": 0, C1: 300}
    found = coverage.report.to_frame()
    assert found[["check", "severity", "record"]].values.tolist() == [["no_households", "info", "row 2"],
                                                                      ["no_community", "warning", "row 2"]]
    pd.testing.assert_frame_equal(pd.DataFrame(units), pd.DataFrame(before))


def test_negative_counts_and_units_without_geometry_are_refused():
    circles = square_circles(("A", 15, box(X0, Y0, X0 + 400, Y0 + 200)))
    with pytest.raises(SchemaError, match="row 1: households is negative"):
        circle_coverage(circles, units_layer([("C1", "小区", -3, 9, C1, at(1))]))
    with pytest.raises(GeometryError, match="row 2: 1 units have no geometry"):
        circle_coverage(circles, units_layer([UNITS[0], ("C9", "小区", 3, 9, C1, None)]))
    with pytest.raises(SchemaError, match="centre_id and minutes"):
        circle_coverage(circles.drop(columns="minutes"), units_layer(UNITS))


def test_sites_alone_count_nobody_and_say_so():
    circles = square_circles(("A", 15, box(X0, Y0, X0 + 400, Y0 + 200)))
    coverage = circle_coverage(circles, units_layer([u for u in UNITS if u[0] == "S1"]))
    assert coverage.communities.empty and coverage.outside.empty
    assert coverage.report.to_frame()["check"].tolist() == ["no_residents"]


def test_straight_line_circles_are_reported_once_per_centre():
    with pytest.warns(GridmapWarning, match="straight-line"):
        circles = service_circles(centres(at(0), at(5000), centre_id=["A", "B"]), minutes=[10, 15])
    coverage = circle_coverage(circles, units_layer(UNITS[:1]))
    found = coverage.report.to_frame()
    assert found.loc[found["check"] == "straight_line", "record"].tolist() == ["A", "B"]


def test_end_to_end_a_compound_beside_the_path_is_reached_in_15_minutes_not_in_10():
    units = units_layer([("C1", "小区", 400, 1000, C1, at(1000, 40)),
                         ("C2", "小区", 100, 300, C1, at(1200, 0))])
    circles = service_circles(centres(at(0), name=["服务中心"]), roads(PATH), minutes=[10, 15])
    coverage = circle_coverage(circles, units)
    got = coverage.communities.set_index("minutes")
    assert got.loc[10.0, "households_in"] == 0 and got.loc[15.0, "households_in"] == 400
    assert got.loc[15.0, "share_households"] == pytest.approx(0.8)
    assert coverage.outside["unit_id"].tolist() == ["C2"]
    assert coverage.outside["distance_m"].iloc[0] == pytest.approx(25, abs=0.5)  # 1,200 - 1,125 - 50 m
    assert np.isclose(coverage.circles["households"].sum(), 400)


# --- compounds cut by a circle's edge -----------------------------------------------------------------------

CIRCLE = box(X0, Y0, X0 + 400, Y0 + 200)


def test_a_compound_30_percent_inside_counts_30_percent_of_its_households_though_its_centre_is_outside():
    """60 m of its 200 m width lie inside: 0.3 × 400 households, 0.3 × 1,000 people; never listed outside."""
    units = units_layer([("C1", "小区", 400, 1000, C1, box(X0 + 340, Y0, X0 + 540, Y0 + 100)),
                         ("C2", "小区", 100, 300, C1, at(100, 100))])
    assert not CIRCLE.covers(units.geometry[0].representative_point())  # the old rule counted it 0
    coverage = circle_coverage(square_circles(("A", 15, CIRCLE)), units)
    got = coverage.communities.iloc[0]
    assert (got["units"], got["units_in"]) == (2, 2)
    assert got["households_in"] == pytest.approx(100 + 0.3 * 400)
    assert got["population_in"] == pytest.approx(300 + 0.3 * 1000)
    assert got["share_households"] == pytest.approx(220 / 500)
    assert coverage.circles["households"].tolist() == pytest.approx([220.0])
    assert coverage.outside.empty and coverage.report.to_frame().empty


def test_a_compound_in_two_overlapping_circles_counts_once_by_the_union_and_in_part_in_each():
    units = units_layer([("C1", "小区", 400, 1000, C1, box(X0 + 200, Y0, X0 + 400, Y0 + 100))])
    circles = square_circles(("A", 15, box(X0, Y0, X0 + 300, Y0 + 200)),
                             ("B", 15, box(X0 + 250, Y0, X0 + 450, Y0 + 200)))
    coverage = circle_coverage(circles, units)
    assert coverage.circles[["centre_id", "households"]].values.tolist() == [["A", 200.0], ["B", 300.0]]
    assert coverage.communities.loc[0, "households_in"] == pytest.approx(400.0)  # wholly inside the union


def test_a_multipolygon_village_with_a_hole_counts_the_share_of_its_own_area():
    """One part 100 × 100 m inside, another 100 × 300 m outside, a 50 × 50 m hole in the first.

    7,500 of 37,500 m² lie inside.
    """
    inner = Polygon(box(X0 + 100, Y0, X0 + 200, Y0 + 100).exterior.coords,
                    [box(X0 + 125, Y0 + 25, X0 + 175, Y0 + 75).exterior.coords])
    village = shapely.MultiPolygon([inner, box(X0 + 500, Y0, X0 + 800, Y0 + 100)])
    units = units_layer([("V1", "自然村", 150, 500, C1, village)])
    coverage = circle_coverage(square_circles(("A", 15, CIRCLE)), units)
    assert coverage.communities.loc[0, "share_households"] == pytest.approx(7_500 / 37_500)


def test_compounds_2_m_from_a_circle_are_outside_and_a_point_on_its_edge_is_inside():
    units = units_layer([("C1", "小区", 40, 90, C1, box(X0 + 402, Y0, X0 + 500, Y0 + 100)),
                         ("C2", "小区", 60, 150, C1, at(400, 50)),
                         ("C3", "小区", 80, 200, C1, Polygon([(X0 + 400, Y0), (X0 + 450, Y0),
                                                               (X0 + 450, Y0 + 50), (X0 + 400, Y0 + 50)]))])
    coverage = circle_coverage(square_circles(("A", 15, CIRCLE)), units)
    assert coverage.outside[["unit_id", "distance_m"]].values.tolist() == [["C1", pytest.approx(2.0)],
                                                                            ["C3", 0.0]]  # C3 only touches
    assert coverage.communities.loc[0, "households_in"] == 60


def test_no_unit_in_any_circle_gives_an_empty_table_not_an_error():
    units = units_layer([("C1", "小区", 40, 90, C1, box(X0 + 1000, Y0, X0 + 1010, Y0 + 10))])
    coverage = circle_coverage(square_circles(("A", 15, CIRCLE)), units)
    assert coverage.circles.empty and coverage.circles["households"].dtype == float
    assert coverage.communities[["units_in", "households_in"]].values.tolist() == [[0, 0.0]]
    assert coverage.outside["distance_m"].tolist() == [600.0]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boxes=st.lists(st.tuples(st.floats(-300, 700), st.floats(-100, 300), st.floats(1, 300),
                                st.floats(1, 300), st.integers(0, 2_000)), min_size=1, max_size=6),
       cut=st.floats(1, 399))
def test_cutting_a_circle_in_two_changes_no_count(boxes, cut):
    """The households of a circle equal those of its two halves; no unit counts more than its households."""
    units = units_layer([(f"C{i}", "小区", h, 2 * h, C1, box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + d))
                         for i, (x, y, w, d, h) in enumerate(boxes)])
    whole = circle_coverage(square_circles(("A", 15, CIRCLE)), units)
    halves = circle_coverage(square_circles(("L", 15, box(X0, Y0, X0 + cut, Y0 + 200)),
                                            ("R", 15, box(X0 + cut, Y0, X0 + 400, Y0 + 200))), units)
    total = whole.circles["households"].sum()
    assert halves.circles["households"].sum() == pytest.approx(total, abs=1e-6)
    assert halves.communities["households_in"].sum() == pytest.approx(total, abs=1e-6)
    assert 0 <= total <= sum(b[4] for b in boxes) + 1e-6
    reached = set(units["unit_id"]) - set(whole.outside["unit_id"])
    assert whole.communities["units_in"].sum() == len(reached)


def test_a_compound_under_two_overlapping_circles_of_the_same_minutes_counts_the_area_of_their_union():
    # a 100 × 100 compound; circle A covers x 0–60, B x 40–80 (same 15 minutes): the union covers 80 %
    compound = units_layer([("C1", "小区", 100, 250, C1, box(X0, Y0, X0 + 100, Y0 + 100))])
    circles = square_circles(("A", 15, box(X0 - 10, Y0 - 10, X0 + 60, Y0 + 110)),
                             ("B", 15, box(X0 + 40, Y0 - 10, X0 + 80, Y0 + 110)),
                             ("A", 5, box(X0 - 10, Y0 - 10, X0 + 20, Y0 + 110)))
    coverage = circle_coverage(circles, compound)
    per_minute = coverage.communities.set_index("minutes")
    assert per_minute.loc[15.0, "households_in"] == pytest.approx(80.0)
    assert per_minute.loc[15.0, "population_in"] == pytest.approx(200.0)
    assert per_minute.loc[5.0, "households_in"] == pytest.approx(20.0)
    assert coverage.circles["households"].tolist() == pytest.approx([20.0, 60.0, 40.0])  # each circle alone
    assert coverage.outside.empty


# --- the geometry helpers: cutting lines, unions of stored groups of buffers --------------------------------

polylines = st.lists(st.tuples(st.integers(-50, 50), st.integers(-50, 50)), min_size=2, max_size=6)


@settings(max_examples=60, deadline=None)
@given(polylines, st.floats(0, 1), st.floats(0, 1), st.booleans())
def test_cut_lines_cuts_as_shapely_substring_does(points, a, b, whole_numbers):
    from shapely.ops import substring

    from gridmap.fieldwork._reach import cut_lines

    shape = LineString([(X0 + 7 * x, Y0 + 7 * y) for x, y in points])
    length = shape.length
    start, end = sorted((a * length, b * length))
    if whole_numbers:  # cuts on the vertices themselves, and at both ends
        start, end = float(round(start / 7) * 7), float(min(round(end / 7) * 7, length))
        start = min(start, end)
    cut = cut_lines(np.array([shape, shape]), np.array([start, 0.0]), np.array([end, length]))
    assert shapely.equals_exact(cut[0], substring(shape, start, end), tolerance=0)
    assert shapely.equals_exact(cut[1], substring(shape, 0.0, length), tolerance=0)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.booleans(), min_size=24, max_size=24))
def test_the_stored_groups_of_buffers_unite_to_the_buffers_of_the_edges_reached(reached):
    from gridmap.fieldwork._reach import BufferTree

    edges = np.array(shapely.get_parts(shapely.union_all(lattice(4), grid_size=0.01)), dtype=object)
    assert len(edges) == 24  # 4 lines each way, noded into 3 edges each
    mask = np.array(reached)
    tree = BufferTree.build(edges, WALK_OFF, QUAD)
    found = shapely.union_all(np.array(tree.covering(mask), dtype=object))
    expected = shapely.union_all(shapely.buffer(edges[mask], WALK_OFF, quad_segs=QUAD))
    assert shapely.symmetric_difference(found, expected).area <= 1e-6 * max(expected.area, 1.0)
    assert len(tree.covering(np.ones(24, dtype=bool))) == 1  # everything reached: the stored union of all
