"""Patrol zones around sensitive sites (issue 21, Guilin seed 003): buffers by kind, merging, grids entered.

Fixtures are hand-made in EPSG:4545 (CGCS2000 Gauss-Krüger, central meridian 108°E: Nanning's, metres), where
the expected areas are worked out by hand, and the same sites in degrees (EPSG:4490) where the CRS matters.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import MultiPolygon, Point, box

from gridmap.crs import convert
from gridmap.errors import CRSError, GeometryError, GridmapWarning, SchemaError
from gridmap.fieldwork import patrol_zones, zone_coverage
from gridmap.fieldwork.zones import QUAD_SEGS
from gridmap.schema import SITE_KIND_NAMES_ZH, SITE_KINDS, SITE_RADII_M, split_ids

METRIC = "EPSG:4545"
X0, Y0 = 500_000.0, 2_520_000.0  # about 108.0°E 22.8°N in EPSG:4545
#: A regular 4·QUAD_SEGS-gon inscribed in a circle has this share of the circle's area.
POLYGON_SHARE = (2 * QUAD_SEGS) * math.sin(2 * math.pi / (4 * QUAD_SEGS)) / (2 * math.pi)
TOLERANCE = 1.5 * (1 - POLYGON_SHARE)  # relative: what the buffer's polygon may miss of a true disc


def layer(kinds, geoms, crs=METRIC, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"kind": kinds, **columns}, geometry=list(geoms), crs=crs)


def at(dx: float, dy: float = 0.0) -> Point:
    return Point(X0 + dx, Y0 + dy)


def disc_union_area(r: float, d: float) -> float:
    """Area of the union of two discs of radius r whose centres are d apart (d < 2r)."""
    lens = 2 * r * r * math.acos(d / (2 * r)) - (d / 2) * math.sqrt(4 * r * r - d * d)
    return 2 * math.pi * r * r - lens


# --- drawing and merging ------------------------------------------------------------------------------------

@pytest.mark.parametrize("crs", [METRIC, "EPSG:4490"])
def test_two_schools_150_m_apart_merge_into_the_union_of_two_discs(crs):
    sites = layer(["学校", "小学"], [at(0), at(150)]).to_crs(crs)
    zones = patrol_zones(sites, radius={"school": 100})
    assert len(zones) == 1 and zones.crs == sites.crs
    zone = zones.iloc[0]
    assert (zone["zone_id"], zone["kind"], zone["n_sites"], split_ids(zone["site_ids"])) == \
        ("Z001", "school", 2, ["row1", "row2"])
    expected = disc_union_area(100, 150)  # 58,300 m²
    assert expected == pytest.approx(58_300, abs=5)
    assert zone["area_m2"] == pytest.approx(expected, rel=TOLERANCE)
    assert zone["area_m2"] < expected  # the polygon is inscribed in the true discs
    # the geometry is that union: compare with the discs drawn finely
    fine = shapely.union_all([at(0).buffer(100, quad_segs=256), at(150).buffer(100, quad_segs=256)])
    drawn = zones.to_crs(METRIC).geometry.iloc[0]
    assert drawn.symmetric_difference(fine).area < TOLERANCE * expected


@pytest.mark.parametrize("distance, n_zones", [(199.0, 1), (200.0, 1), (200.5, 2), (400.0, 2)])
def test_zones_merge_when_they_touch_or_overlap_and_only_then(distance, n_zones):
    zones = patrol_zones(layer(["school", "school"], [at(0), at(distance)]), radius={"school": 100})
    assert len(zones) == n_zones
    assert zones["n_sites"].sum() == 2


def test_a_chain_of_sites_merges_and_other_kinds_stay_apart():
    sites = layer(["学校", "学校", "学校", "医院"], [at(0), at(150), at(300), at(75)],
                  name=["一小", "二小", "三小", "人民医院"])
    zones = patrol_zones(sites, radius={"学校": 100})
    assert zones[["zone_id", "kind", "n_sites", "site_names"]].values.tolist() == [
        ["Z001", "school", 3, "一小、二小、三小"], ["Z002", "hospital", 1, "人民医院"]]
    assert zones["radius_m"].tolist() == [100.0, SITE_RADII_M["hospital"]]
    assert zones.geometry.iloc[0].intersects(zones.geometry.iloc[1])  # overlapping, yet different kinds


def test_zones_come_in_the_order_of_the_kinds_then_of_the_rows():
    kinds = ["治安复杂区", "车站", "幼儿园", "学校", "入城口", "商场", "医院"]
    sites = layer(kinds, [at(2000 * i) for i in range(len(kinds))])
    zones = patrol_zones(sites)
    assert zones["kind"].tolist() == list(SITE_KINDS)
    assert zones["zone_id"].tolist() == [f"Z{i:03d}" for i in range(1, 8)]
    assert zones["kind_zh"].tolist() == [SITE_KIND_NAMES_ZH[k] for k in SITE_KINDS]
    assert zones["radius_m"].tolist() == [SITE_RADII_M[k] for k in SITE_KINDS]


def test_a_polygon_site_is_buffered_from_its_edge():
    square = box(X0, Y0, X0 + 100, Y0 + 100)
    zones = patrol_zones(layer(["hospital"], [square]), radius={"医院": 50})
    expected = 100 * 100 + 4 * 100 * 50 + math.pi * 50 ** 2  # the square, four strips, four quarter discs
    assert zones["area_m2"].iloc[0] == pytest.approx(expected, rel=TOLERANCE)
    assert zones.geometry.iloc[0].covers(square)
    assert zones.geometry.iloc[0].distance(Point(X0 + 50, Y0 + 150)) == 0  # 50 m beyond the north edge


def test_a_multipolygon_site_is_one_zone_of_two_parts():
    campus = MultiPolygon([box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 400, Y0, X0 + 500, Y0 + 100)])
    zones = patrol_zones(layer(["大学"], [campus]), radius={"学校": 50})
    assert len(zones) == 1 and zones.geometry.iloc[0].geom_type == "MultiPolygon"
    one = 100 * 100 + 4 * 100 * 50 + math.pi * 50 ** 2
    assert zones["area_m2"].iloc[0] == pytest.approx(2 * one, rel=TOLERANCE)


def test_z_coordinates_are_ignored():
    flat = patrol_zones(layer(["车站"], [at(0)]))
    high = patrol_zones(layer(["车站"], [Point(X0, Y0, 87.5)]))
    assert not high.geometry.has_z.any()
    assert high.geometry.iloc[0].equals(flat.geometry.iloc[0])


def test_duplicate_sites_warn_and_count_once():
    sites = layer(["学校", "学校", "学校", "医院"], [at(0), at(0), at(3000), at(0)],
                  site_id=["S1", "S1", "S2", "H1"])
    with pytest.warns(GridmapWarning, match=r"patrol_zones: duplicate sites: row 1, row 2 are sites"):
        zones = patrol_zones(sites)
    by_id = zones.set_index("site_ids")
    assert by_id.loc["S1", "n_sites"] == 1 and by_id.loc["S2", "n_sites"] == 1
    assert by_id.loc["H1", "kind"] == "hospital"  # the same place, another kind: its own zone, no warning


def test_coincident_sites_of_one_kind_with_their_own_ids_share_a_zone():
    sites = layer(["商场", "购物中心"], [at(0), Point(X0 + 0.001, Y0)], site_id=["M1", "M2"])
    with pytest.warns(GridmapWarning, match="duplicate sites"):
        zones = patrol_zones(sites)
    assert zones[["site_ids", "n_sites"]].values.tolist() == [["M1;M2", 2]]


def test_gcj02_sites_land_where_they_really_are():
    lon, lat = 108.3660, 22.8170
    glon, glat = convert(lon, lat, "wgs84", "gcj02")
    amap = layer(["幼儿园"], [Point(float(glon), float(glat))], crs="EPSG:4326")
    shifted = patrol_zones(amap, coords="gcj02")
    unshifted = patrol_zones(amap)
    truth = gpd.GeoSeries([Point(lon, lat)], crs=4326).to_crs(METRIC).iloc[0]
    assert shifted.crs == amap.crs
    assert shifted.to_crs(METRIC).centroid.iloc[0].distance(truth) < 0.5
    assert unshifted.to_crs(METRIC).centroid.iloc[0].distance(truth) > 100  # GCJ-02 is off by hundreds of m


def test_chinese_headers_and_radius_by_chinese_words():
    sites = gpd.GeoDataFrame({"场所编号": ["K01", "K02"], "场所名称": ["阳光幼儿园", "红星幼儿园"],
                              "场所类型": ["幼儿园", "托儿所"]}, geometry=[at(0), at(1000)], crs=METRIC)
    zones = patrol_zones(sites, radius={"幼儿园": 80})
    assert zones[["site_ids", "site_names", "radius_m"]].values.tolist() == [
        ["K01", "阳光幼儿园", 80.0], ["K02", "红星幼儿园", 80.0]]
    assert zones["label"].tolist() == ["幼儿园巡控区 Z001：阳光幼儿园（半径80米）",
                                       "幼儿园巡控区 Z002：红星幼儿园（半径80米）"]
    assert list(sites.columns) == ["场所编号", "场所名称", "场所类型", "geometry"]  # the input is unchanged


def test_a_label_names_three_sites_and_counts_the_rest():
    sites = layer(["学校"] * 4, [at(100 * i) for i in range(4)], name=["甲", "乙", "丙", "丁"])
    assert patrol_zones(sites)["label"].iloc[0] == "学校巡控区 Z001：甲、乙、丙等4处（半径200米）"


def test_the_units_layers_dedicated_sites_are_read_as_site_kinds():
    sites = layer(["school", "hospital", "transport_hub", "market"], [at(3000 * i) for i in range(4)])
    assert patrol_zones(sites)["kind"].tolist() == ["school", "hospital", "station", "mall"]


def test_an_unknown_kind_is_an_error_naming_the_record_and_the_closest_word():
    with pytest.raises(SchemaError, match=r"row 2: site kind '幼儿圆' is not a kind.*closest is '幼儿园'"):
        patrol_zones(layer(["学校", "幼儿圆"], [at(0), at(500)]))
    with pytest.raises(SchemaError, match=r"row 1, row 2: site kind '加油站'.*Fix: use one of 学校, 幼儿园"):
        patrol_zones(layer(["加油站", "加油站"], [at(0), at(500)]))
    with pytest.raises(SchemaError, match="no kind column"):
        patrol_zones(gpd.GeoDataFrame({"name": ["x"]}, geometry=[at(0)], crs=METRIC))


@pytest.mark.parametrize("radius, message", [
    ({"加油站": 100}, "radius names '加油站', which is no kind of site"),
    ({"学校": -5}, r"radius of '学校' must be a number of metres above 0"),
    ({"school": float("nan")}, "must be a number of metres"),
    ({"school": "near"}, "must be a number of metres"),
    ({"school": 1e9}, "at most 100 km"),
])
def test_a_bad_radius_is_refused(radius, message):
    with pytest.raises(SchemaError, match=message):
        patrol_zones(layer(["学校"], [at(0)]), radius=radius)


def test_sites_without_crs_or_geometry_are_refused():
    with pytest.raises(CRSError, match="sites have no CRS"):
        patrol_zones(gpd.GeoDataFrame({"kind": ["学校"]}, geometry=[at(0)]))
    with pytest.raises(GeometryError, match="row 2: 1 sites have no geometry"):
        patrol_zones(layer(["学校", "医院"], [at(0), None]))
    with pytest.raises(SchemaError, match="must be a GeoDataFrame"):
        patrol_zones(pd.DataFrame({"kind": ["学校"]}))  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="hold no records"):
        patrol_zones(layer([], []))


sites_strategy = st.lists(st.tuples(st.floats(0, 2000), st.floats(0, 2000), st.sampled_from(SITE_KINDS)),
                          min_size=1, max_size=12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sites_strategy, st.floats(5, 400), st.sampled_from([METRIC, "EPSG:4490"]))
def test_zones_contain_their_sites_and_each_site_is_in_exactly_one_zone(rows, radius, crs):
    sites = layer([k for _, _, k in rows], [at(x, y) for x, y, _ in rows]).to_crs(crs)
    with warnings.catch_warnings(record=True) as caught:  # coincident draws warn of duplicates, nothing else
        warnings.simplefilter("always")
        zones = patrol_zones(sites, radius={kind: radius for kind in SITE_KINDS})
    assert all("duplicate sites" in str(w.message) for w in caught), [str(w.message) for w in caught]
    owner = {site: k for k, ids in enumerate(zones["site_ids"]) for site in split_ids(ids)}
    assert sorted(owner) == sorted(f"row{i + 1}" for i in range(len(rows)))
    for i, geom in enumerate(sites.geometry):
        zone = zones.iloc[owner[f"row{i + 1}"]]
        assert zone.geometry.covers(geom)
        assert zone["kind"] == rows[i][2]
    assert zones["area_m2"].max() <= len(rows) * math.pi * radius ** 2


# --- coverage of grids, communities and streets -----------------------------------------------------------

C1, C2 = "990102001001", "990102001002"


def grids_layer(crs=METRIC, **columns) -> gpd.GeoDataFrame:
    """Three 200 m squares in a row: G1 and G2 in community C1, G3 in C2 (one street)."""
    return gpd.GeoDataFrame({"code": [C1 + "001", C1 + "002", C2 + "001"], "community_code": [C1, C1, C2],
                             **columns},
                            geometry=[box(X0 + 200 * i, Y0, X0 + 200 * (i + 1), Y0 + 200) for i in range(3)],
                            crs=METRIC).to_crs(crs)


def zones_layer(*shapes, crs=METRIC) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"zone_id": [f"Z{i + 1:03d}" for i in range(len(shapes))], "kind": "school"},
                            geometry=list(shapes), crs=crs)


def rows(table: pd.DataFrame, level: str) -> dict:
    part = table[table["level"] == level]
    return {code: (round(z, 6), round(u, 6)) for code, z, u in
            zip(part["code"], part["share_of_zone"], part["share_of_unit"], strict=True)}


def test_a_zone_covering_exactly_half_a_square_grid_has_share_one_half():
    coverage = zone_coverage(zones_layer(box(X0, Y0, X0 + 100, Y0 + 200)), grids_layer())
    assert rows(coverage.table, "grid") == {C1 + "001": (1.0, 0.5)}
    assert coverage.table.loc[0, "area_m2"] == pytest.approx(20_000)
    grids = coverage.grids.set_index("code")
    assert grids["zone_share"].round(9).tolist() == [0.5, 0.0, 0.0]
    assert grids.loc[C1 + "001", "label"] == f"网格 {C1}001：1个巡控区（Z001），巡控区覆盖50%"
    assert coverage.report.to_frame().empty


def test_a_disc_on_the_edge_of_two_grids_lies_half_in_each():
    zones = patrol_zones(layer(["学校"], [at(200, 100)]), radius={"学校": 100})
    coverage = zone_coverage(zones, grids_layer())
    grid = coverage.table[coverage.table["level"] == "grid"]
    assert sorted(grid["code"]) == [C1 + "001", C1 + "002"]
    assert grid["share_of_zone"].tolist() == pytest.approx([0.5, 0.5], abs=1e-9)
    area = zones["area_m2"].iloc[0]
    assert grid["share_of_unit"].tolist() == pytest.approx([area / 2 / 40_000] * 2, rel=1e-9)
    assert area == pytest.approx(math.pi * 100 ** 2, rel=TOLERANCE)


def test_communities_and_streets_sum_the_pieces_in_their_grids():
    zone = box(X0 + 200, Y0, X0 + 500, Y0 + 200)  # all of G2 and the west half of G3
    coverage = zone_coverage(zones_layer(zone), grids_layer())
    assert rows(coverage.table, "grid") == {C1 + "002": (round(2 / 3, 6), 1.0),
                                            C2 + "001": (round(1 / 3, 6), 0.5)}
    assert rows(coverage.table, "community") == {C1: (round(2 / 3, 6), 0.5), C2: (round(1 / 3, 6), 0.5)}
    assert rows(coverage.table, "street") == {C1[:9]: (1.0, 0.5)}
    layer_ = coverage.zones.iloc[0]
    assert (layer_["n_grids"], layer_["grid_codes"], layer_["community_codes"], layer_["street_codes"]) == \
        (2, f"{C1}002;{C2}001", f"{C1};{C2}", C1[:9])
    found = coverage.report.to_frame()
    assert found[["check", "severity", "record", "code"]].values.tolist() == [
        ["crosses_communities", "info", "Z001", "Z001"]]
    assert found["message"].iloc[0] == f"zone Z001 enters 2 communities: {C1};{C2}"


def test_a_zone_partly_or_wholly_outside_every_grid_is_reported():
    half_out = box(X0 - 100, Y0, X0 + 100, Y0 + 200)
    away = box(X0 + 5000, Y0, X0 + 5100, Y0 + 100)
    coverage = zone_coverage(zones_layer(half_out, away), grids_layer())
    assert coverage.zones["outside_share"].round(9).tolist() == [0.5, 1.0]
    assert coverage.zones["n_grids"].tolist() == [1, 0]
    found = coverage.report.to_frame()
    assert found[["check", "record", "severity"]].values.tolist() == [
        ["outside_grids", "Z001", "warning"], ["outside_grids", "Z002", "warning"]]
    assert found["message"].tolist() == ["50% of zone Z001 lies outside every grid",
                                         "100% of zone Z002 lies outside every grid"]


def test_overlapping_zones_count_once_in_a_grids_share():
    west = box(X0, Y0, X0 + 100, Y0 + 200)
    coverage = zone_coverage(zones_layer(west, west.buffer(-10)), grids_layer())
    grid = coverage.grids.set_index("code").loc[C1 + "001"]
    assert (grid["n_zones"], grid["zone_ids"]) == (2, "Z001;Z002")
    assert grid["zone_share"] == pytest.approx(0.5)


def test_grids_with_chinese_headers_in_degrees_and_zones_in_metres():
    grids = grids_layer(crs="EPSG:4490").rename(columns={"code": "网格编码", "community_code": "社区代码"})
    before = grids.copy()
    coverage = zone_coverage(zones_layer(box(X0, Y0, X0 + 100, Y0 + 200)), grids)
    grid = coverage.table[coverage.table["level"] == "grid"]
    assert grid["code"].tolist() == [C1 + "001"]  # the overlay happens in degrees: shares agree to 1e-5
    assert grid[["share_of_zone", "share_of_unit"]].values.tolist()[0] == pytest.approx([1.0, 0.5], rel=1e-5)
    assert coverage.grids.crs == grids.crs
    pd.testing.assert_frame_equal(pd.DataFrame(grids), pd.DataFrame(before))


def test_the_community_comes_from_15_digit_grid_codes_without_a_community_column():
    coverage = zone_coverage(zones_layer(box(X0 + 300, Y0, X0 + 500, Y0 + 200)),
                             grids_layer().drop(columns="community_code"))
    assert set(coverage.table.loc[coverage.table["level"] == "community", "code"]) == {C1, C2}


def test_zones_need_distinct_ids():
    with pytest.raises(SchemaError, match="zone_id 'Z001' names several zones"):
        zone_coverage(zones_layer(box(X0, Y0, X0 + 1, Y0 + 1), box(X0, Y0, X0 + 2, Y0 + 2))
                      .assign(zone_id="Z001"), grids_layer())
    with pytest.raises(SchemaError, match="zone_id column"):
        zone_coverage(gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 1, Y0 + 1)], crs=METRIC), grids_layer())
