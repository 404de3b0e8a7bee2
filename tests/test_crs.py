"""Tests of gridmap.crs: GCJ-02/BD-09 conversion, the China outline, frames, metric CRS and normalize_crs."""

import logging
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon

from gridmap.crs import (
    COORDINATE_SYSTEMS,
    bd09_to_gcj02,
    convert,
    convert_frame,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    is_in_china,
    metric_crs,
    normalize_crs,
    wgs84_to_gcj02,
)
from gridmap.errors import CRSError, GridmapWarning

GEOD = pyproj.Geod(ellps="WGS84")

# WGS84 point -> GCJ-02 -> BD-09, computed with coord-convert 0.2.1 (coord_convert.transform.wgs2gcj, gcj2bd),
# an independent per-point implementation of the published formulas (prcoords 1.0.2 agrees to 1e-12 deg).
REFERENCE = {
    "nanning": (
        (108.366, 22.817),
        (108.37007082601342, 22.814313087665376),
        (108.37652501185083, 22.820596843294204),
    ),
    "beijing": (
        (116.3975, 39.9087),
        (116.40374357265176, 39.91010349934476),
        (116.4101165864734, 39.91644274963076),
    ),
    "urumqi": (
        (87.617, 43.826),
        (87.61985017544991, 43.827205324066675),
        (87.62630123927357, 43.83334738704532),
    ),
    "harbin": (
        (126.535, 45.803),
        (126.54104022096047, 45.804981763029424),
        (126.54765927112764, 45.81059612904087),
    ),
    "sanya": (
        (109.512, 18.253),
        (109.51608401961205, 18.251294425717298),
        (109.522631475907, 18.257077493132037),
    ),
    "lhasa": (
        (91.117, 29.647),
        (91.11856051293553, 29.644292285024235),
        (91.1251032920466, 29.650175200119747),
    ),
    "kashgar": (
        (75.99, 39.47),
        (75.9929556381645, 39.47022749677051),
        (75.99946519930792, 39.476187842272964),
    ),
}

CHINESE_CITIES = {
    "Urumqi": (87.617, 43.826),
    "Harbin": (126.535, 45.803),
    "Sanya": (109.512, 18.253),
    "Lhasa": (91.117, 29.647),
    "Kashgar": (75.99, 39.47),
    "Beijing": (116.397, 39.909),
    "Shanghai": (121.473, 31.23),
    "Nanning": (108.366, 22.817),
    "Hong Kong": (114.17, 22.32),
    "Mohe": (122.54, 52.97),
    "Ruili": (97.85, 24.01),
    "Tashkurgan": (75.23, 37.77),
    "Hunchun": (130.36, 42.86),
    "Altay": (88.13, 47.85),
    "Dongxing": (107.97, 21.55),
    "Sansha": (112.34, 16.83),
}
FOREIGN_CITIES = {
    "Seoul": (126.978, 37.566),
    "Ulaanbaatar": (106.917, 47.919),
    "Hanoi": (105.854, 21.029),
    "Kathmandu": (85.324, 27.717),
    "Pyongyang": (125.754, 39.034),
    "Vladivostok": (131.886, 43.115),
    "Thimphu": (89.639, 27.472),
    "Almaty": (76.886, 43.239),
    "Islamabad": (73.047, 33.684),
    "Vientiane": (102.633, 17.975),
    "Lang Son": (106.761, 21.853),
    "Naha": (127.68, 26.21),
    "Yonaguni": (123.0, 24.47),
    "Manila": (120.98, 14.6),
    "Gangtok": (88.61, 27.33),
}


def metres_between(lon1, lat1, lon2, lat2):
    """Geodesic distance in metres (pyproj), element-wise."""
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def china_grid(step=0.5, margin=0.02):
    """Points on a regular grid over China, at least ``margin`` degrees inside the outline's edge."""
    lon, lat = np.meshgrid(np.arange(73.0, 135.5, step), np.arange(3.5, 54.0, step))
    lon, lat = lon.ravel(), lat.ravel()
    inside = np.ones(lon.size, dtype=bool)
    for dx in (-margin, 0.0, margin):
        for dy in (-margin, 0.0, margin):
            inside &= is_in_china(lon + dx, lat + dy)
    return lon[inside], lat[inside]


# ---------------------------------------------------------------- formulas against an independent library


@pytest.mark.parametrize("city", sorted(REFERENCE))
def test_forward_formulas_match_the_reference_implementation(city):
    (lon, lat), gcj, bd = REFERENCE[city]
    np.testing.assert_allclose(convert(lon, lat, "wgs84", "gcj02"), gcj, rtol=0, atol=1e-12)
    np.testing.assert_allclose(convert(lon, lat, "wgs84", "bd09"), bd, rtol=0, atol=1e-12)
    np.testing.assert_allclose(gcj02_to_bd09(*gcj), bd, rtol=0, atol=1e-12)


@pytest.mark.parametrize("city", sorted(REFERENCE))
def test_inverses_recover_the_reference_points(city):
    (lon, lat), gcj, bd = REFERENCE[city]
    np.testing.assert_allclose(gcj02_to_wgs84(*gcj), (lon, lat), rtol=0, atol=2e-10)  # 0.02 mm
    np.testing.assert_allclose(bd09_to_gcj02(*bd), gcj, rtol=0, atol=2e-10)
    np.testing.assert_allclose(convert(*bd, "bd09", "cgcs2000"), (lon, lat), rtol=0, atol=4e-10)


def test_gcj_shift_in_nanning_has_the_published_magnitude():
    lon, lat = REFERENCE["nanning"][0]
    shifted = wgs84_to_gcj02(lon, lat)
    assert 300 < metres_between(lon, lat, *shifted) < 600


def test_gcj_shift_over_china_stays_within_published_range():
    lon, lat = china_grid(step=1.0)
    shift = metres_between(lon, lat, *wgs84_to_gcj02(lon, lat))
    # PRIOR_ART.md: 27-694 m across China (about 405 m on average)
    assert shift.min() > 10 and shift.max() < 720
    assert 300 < shift.mean() < 500


# ---------------------------------------------------------------- round trips and the one-step approximation


def test_round_trips_over_china_are_far_below_half_a_metre():
    lon, lat = china_grid(step=0.25)
    assert lon.size > 10_000
    for via in ("gcj02", "bd09"):
        back = convert(*convert(lon, lat, "wgs84", via), via, "wgs84")
        assert metres_between(lon, lat, *back).max() < 0.001, via


def test_one_step_approximation_is_off_by_metres_and_iteration_fixes_it():
    lon, lat = china_grid(step=0.25)
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    fwd_lon, fwd_lat = wgs84_to_gcj02(gcj_lon, gcj_lat)
    one_step = metres_between(lon, lat, 2 * gcj_lon - fwd_lon, 2 * gcj_lat - fwd_lat)
    iterated = metres_between(lon, lat, *gcj02_to_wgs84(gcj_lon, gcj_lat))
    assert one_step.max() > 2.0  # PRIOR_ART.md measured 4.6-4.7 m for one-step tools
    assert one_step.mean() > 0.3
    assert iterated.max() < 1e-3
    assert iterated.max() < one_step.max() / 1000


def test_gcj02_inverse_is_within_ten_micrometres_near_105_east_and_at_the_edges_of_china():
    # sqrt|lon - 105| bends at 105 E (Newton's method then takes more steps); the edges of the outline are the
    # points farthest from the formula's centre (105 E, 35 N)
    lon, lat = china_grid(step=0.1)
    edge = (lon < lon.min() + 1) | (lon > lon.max() - 1) | (lat < lat.min() + 1) | (lat > lat.max() - 1)
    near_105 = np.linspace(105.0 - 0.02, 105.0 + 0.02, 801)
    lon = np.concatenate([lon[edge], near_105, near_105, [105.0, 105.0]])
    lat = np.concatenate([lat[edge], np.full(801, 25.0), np.full(801, 41.0), [30.0, 35.0]])
    assert edge.sum() > 500 and is_in_china(lon, lat).all()
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres_between(lon, lat, *back).max() < 1e-5


def china_grid_contains(lon, lat, margin=0.02):
    """True when the point and its neighbours ``margin`` degrees away are all inside the outline."""
    offsets = np.array([-margin, 0.0, margin])
    dx, dy = np.meshgrid(offsets, offsets)
    return bool(is_in_china(lon + dx, lat + dy).all())


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(lon=st.floats(73.0, 135.0), lat=st.floats(15.0, 53.5), via=st.sampled_from(["gcj02", "bd09"]))
def test_round_trip_property(lon, lat, via):
    assume(china_grid_contains(lon, lat))
    back = convert(*convert(lon, lat, "cgcs2000", via), via, "cgcs2000")
    assert metres_between(lon, lat, *back) < 0.5


# ---------------------------------------------------------------- inside / outside China


@pytest.mark.parametrize("name", sorted(CHINESE_CITIES))
def test_chinese_cities_are_shifted(name):
    lon, lat = CHINESE_CITIES[name]
    assert is_in_china(lon, lat)
    shift = metres_between(lon, lat, *wgs84_to_gcj02(lon, lat))
    assert 20 < shift < 720
    assert metres_between(lon, lat, *convert(lon, lat, "wgs84", "bd09")) > 500


@pytest.mark.parametrize("name", sorted(FOREIGN_CITIES))
def test_foreign_cities_are_not_shifted(name):
    lon, lat = FOREIGN_CITIES[name]
    assert not is_in_china(lon, lat)
    for src, dst in [("wgs84", "gcj02"), ("gcj02", "wgs84"), ("wgs84", "bd09"), ("bd09", "wgs84")]:
        out = convert(lon, lat, src, dst)
        assert (float(out[0]), float(out[1])) == (lon, lat), (src, dst)


def test_the_rectangle_other_libraries_use_would_shift_the_neighbours():
    # PRIOR_ART.md: every library tests 72.004-137.8347 E, 0.8293-55.8271 N
    for name in ("Seoul", "Ulaanbaatar", "Hanoi", "Kathmandu"):
        lon, lat = FOREIGN_CITIES[name]
        assert 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271
        assert not is_in_china(lon, lat)


@pytest.mark.shared_data
def test_outline_covers_all_of_guangxi(shared_data):
    guangxi = gpd.read_file(shared_data / "boundaries" / "fastgeocn_guangxi_45_cgcs2000.geojson")
    xy = shapely.get_coordinates(guangxi.geometry.values)
    assert is_in_china(xy[:, 0], xy[:, 1]).all()


def test_outline_area_is_about_that_of_china():
    # China's land is about 9.6 million km2; the outline adds coastal waters and a margin of a few kilometres
    lon, lat = np.meshgrid(np.arange(70.05, 140, 0.1), np.arange(0.05, 56, 0.1))
    cell_km2 = (0.1 * 111.32) ** 2 * np.cos(np.radians(lat))
    area = cell_km2[is_in_china(lon, lat)].sum()
    assert 10.0e6 < area < 14.0e6


def test_is_in_china_shapes_and_nan():
    assert is_in_china(108.37, 22.82).shape == ()
    grid = is_in_china(np.full((3, 4), 108.37), 22.82)
    assert grid.shape == (3, 4) and grid.all()
    assert not is_in_china(np.nan, 22.82)
    # beyond each side of the outline's bounds (73.43-135.13 E, 3.6-53.64 N), infinite, not a number
    lon = [73.4, 135.2, 108.0, 108.0, np.inf, -np.inf, 108.0, 108.0, np.nan, 1e300]
    lat = [39.0, 48.0, 3.5, 53.7, 30.0, 30.0, np.inf, -np.inf, np.nan, -1e300]
    assert not is_in_china(lon, lat).any()


# ---------------------------------------------------------------- array handling


def test_vectorised_matches_point_by_point_on_100k_points():
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(73, 135, 100_000), rng.uniform(15, 54, 100_000)
    for src, dst in [("wgs84", "gcj02"), ("gcj02", "wgs84"), ("wgs84", "bd09"), ("bd09", "wgs84")]:
        out_lon, out_lat = convert(lon, lat, src, dst)
        assert out_lon.shape == lon.shape and out_lon.dtype == np.float64
        for i in range(0, 100_000, 9_973):  # each point iterates on its own, in or out of an array
            single = convert(lon[i], lat[i], src, dst)
            assert (float(single[0]), float(single[1])) == (out_lon[i], out_lat[i])


def test_scalars_lists_series_and_2d_arrays():
    lon, lat = convert(108.366, 22.817, "wgs84", "gcj02")
    assert isinstance(lon, np.ndarray) and lon.shape == () and isinstance(float(lon), float)
    listed = convert([108.366, 2.35], [22.817, 48.86], "wgs84", "gcj02")
    assert listed[0].tolist()[1] == 2.35 and listed[0][0] == float(lon)
    series = convert(pd.Series([108.366]), pd.Series([22.817]), "wgs84", "gcj02")
    assert series[0][0] == float(lon)
    grid = convert(np.full((2, 3), 108.366), np.full((2, 3), 22.817), "wgs84", "gcj02")
    assert grid[0].shape == (2, 3) and (grid[0] == float(lon)).all()


def test_inputs_are_not_modified_and_nan_passes_through():
    lon, lat = np.array([108.366, np.nan]), np.array([22.817, 22.817])
    out = convert(lon, lat, "gcj02", "wgs84")
    assert lon[0] == 108.366 and np.isnan(out[0][1]) and out[1][1] == 22.817
    assert out[0] is not lon


def test_wgs84_and_cgcs2000_are_identity():
    lon, lat = np.array([108.366, 2.0]), np.array([22.817, 1.0])
    for src, dst in [("wgs84", "cgcs2000"), ("cgcs2000", "wgs84"), ("gcj02", "gcj02")]:
        out = convert(lon, lat, src, dst)
        assert (out[0] == lon).all() and (out[1] == lat).all()


def test_names_are_case_insensitive_and_unknown_names_are_refused():
    assert float(convert(108.366, 22.817, "WGS84", "GCJ02")[0]) == float(wgs84_to_gcj02(108.366, 22.817)[0])
    with pytest.raises(CRSError, match="unknown coordinate system 'mars'.*wgs84, cgcs2000, gcj02, bd09"):
        convert(1, 2, "mars", "wgs84")
    assert COORDINATE_SYSTEMS == ("wgs84", "cgcs2000", "gcj02", "bd09")


# ---------------------------------------------------------------- convert_frame

NANNING = (108.366, 22.817)


def square(x, y, size=0.01):
    return [(x, y), (x + size, y), (x + size, y + size), (x, y + size)]


GEOMETRIES = {
    "polygon with hole": Polygon(
        square(*NANNING, 0.02), [square(NANNING[0] + 0.005, NANNING[1] + 0.005, 0.005)]
    ),
    "multipolygon": MultiPolygon([Polygon(square(*NANNING)), Polygon(square(NANNING[0] + 0.03, NANNING[1]))]),
    "linestring": LineString([NANNING, (108.4, 22.85), (108.45, 22.8)]),
    "collection": GeometryCollection(
        [Point(NANNING), LineString([NANNING, (108.4, 22.85)]), Polygon(square(*NANNING))]
    ),
    "point with z": Point(108.366, 22.817, 75.0),
}


@pytest.mark.parametrize("kind", sorted(GEOMETRIES))
def test_convert_frame_moves_every_vertex_and_keeps_structure(kind):
    geom = GEOMETRIES[kind]
    frame = gpd.GeoDataFrame({"code": ["450102001003"]}, geometry=[geom], crs="EPSG:4326", index=[7])
    before = frame.copy()
    out = convert_frame(frame, "wgs84", "gcj02")
    new = out.geometry.iloc[0]
    assert new.geom_type == geom.geom_type
    assert shapely.get_num_geometries(new) == shapely.get_num_geometries(geom)
    assert (
        shapely.get_num_interior_rings(shapely.get_parts(new)).tolist()
        == shapely.get_num_interior_rings(shapely.get_parts(geom)).tolist()
    )
    old_xy = shapely.get_coordinates(geom, include_z=True)
    new_xy = shapely.get_coordinates(new, include_z=True)
    expected = np.column_stack(convert(old_xy[:, 0], old_xy[:, 1], "wgs84", "gcj02"))
    np.testing.assert_array_equal(new_xy[:, :2], expected)
    np.testing.assert_array_equal(new_xy[:, 2], old_xy[:, 2])  # z kept (NaN for 2-D)
    if geom.area:  # the offset varies slowly (its gradient stays below about 2e-3), so areas barely change
        metric = metric_crs(frame)
        area_before = frame.to_crs(metric).area.iloc[0]
        area_after = out.set_crs(4326, allow_override=True).to_crs(metric).area.iloc[0]
        assert abs(area_after / area_before - 1) < 5e-3
    pd.testing.assert_frame_equal(frame, before)  # input untouched
    assert out.index.tolist() == [7] and out["code"].tolist() == ["450102001003"]
    back = convert_frame(out, "gcj02", "wgs84")
    np.testing.assert_allclose(
        shapely.get_coordinates(back.geometry.iloc[0]), old_xy[:, :2], rtol=0, atol=1e-10
    )


def test_convert_frame_sets_the_output_crs():
    series = gpd.GeoSeries([Point(NANNING), None], crs="EPSG:4326", name="where")
    assert convert_frame(series, "gcj02", "cgcs2000").crs.to_epsg() == 4490
    for dst in ("wgs84", "gcj02", "bd09"):
        out = convert_frame(series, "cgcs2000", dst)
        assert isinstance(out, gpd.GeoSeries) and out.name == "where" and out.crs.to_epsg() == 4326
        assert out.iloc[1] is None
    assert convert_frame(series.set_crs(None, allow_override=True), "gcj02", "wgs84").crs.to_epsg() == 4326


def test_convert_frame_refuses_projected_data():
    metres = gpd.GeoSeries([Point(537600.0, 2524000.0)], crs="EPSG:4545")
    with pytest.raises(CRSError, match="degrees.*Gauss-Kruger.*to_crs"):
        convert_frame(metres, "gcj02", "wgs84")
    with pytest.raises(CRSError, match="unknown coordinate system"):
        convert_frame(metres.to_crs(4326), "gcj02", "baidu")


# ---------------------------------------------------------------- metric_crs


@pytest.mark.parametrize("lon", np.arange(73.6, 136.4, 1.7).round(2).tolist())
def test_metric_crs_is_the_gauss_kruger_zone_nearest_the_data(lon):
    crs = metric_crs(gpd.GeoSeries([Point(lon, 30.0)], crs="EPSG:4490"))
    assert 4534 <= crs.to_epsg() <= 4554
    assert crs.geodetic_crs.equals(pyproj.CRS.from_epsg(4490))
    params = {param.name: param.value for param in crs.coordinate_operation.params}
    central_meridian = params["Longitude of natural origin"]
    assert abs(central_meridian - lon) <= 1.5
    assert central_meridian % 3 == 0


def test_metric_crs_examples_and_fallbacks():
    assert metric_crs(gpd.GeoSeries([Point(NANNING)], crs=4326)).to_epsg() == 4545  # CM 108 E
    assert metric_crs(gpd.GeoSeries([Point(126.535, 45.803)], crs=4326)).to_epsg() == 4551  # Harbin, CM 126 E
    assert metric_crs(gpd.GeoSeries([Point(2.35, 48.86)], crs=4326)).to_epsg() == 32631  # Paris: UTM 31N
    assert metric_crs(gpd.GeoSeries([Point(151.2, -33.9)], crs=4326)).to_epsg() == 32756  # Sydney: UTM 56S
    projected = gpd.GeoSeries([Point(NANNING)], crs=4326).to_crs(3857)
    assert metric_crs(projected).to_epsg() == 4545


def test_metric_crs_gives_true_areas():
    square_km = gpd.GeoSeries([Polygon(square(*NANNING, 0.05))], crs=4490)
    geodesic = abs(GEOD.geometry_area_perimeter(square_km.iloc[0])[0])
    assert abs(square_km.to_crs(metric_crs(square_km)).area.iloc[0] / geodesic - 1) < 1e-3


def test_metric_crs_refuses_missing_crs_and_empty_data():
    with pytest.raises(CRSError, match="without a CRS"):
        metric_crs(gpd.GeoSeries([Point(NANNING)]))
    with pytest.raises(CRSError, match="without geometries"):
        metric_crs(gpd.GeoSeries([], crs=4326))


# ---------------------------------------------------------------- normalize_crs


def layer(points, crs=None, **columns):
    return gpd.GeoDataFrame(columns or None, geometry=[Point(p) for p in points], crs=crs)


NANNING_METRES = [(537600.0 + 100 * i, 2524000.0 + 50 * i) for i in range(5)]  # EPSG:4545
NANNING_DEGREES = [(108.30 + 0.01 * i, 22.80 + 0.01 * i) for i in range(5)]


def test_no_crs_and_degrees_is_taken_as_wgs84_and_logged(caplog):
    frame = layer(NANNING_DEGREES)
    with caplog.at_level(logging.INFO, logger="gridmap.crs"):
        out = normalize_crs(frame, path="units.geojson", layer="units")
    assert out.crs.to_epsg() == 4326 and frame.crs is None
    assert shapely.equals_exact(out.geometry.values, frame.geometry.values, 0).all()
    assert "units.geojson, layer 'units': no CRS declared; assuming WGS84 (EPSG:4326)" in caplog.text


def test_no_crs_and_metres_is_refused_with_the_fix():
    with pytest.raises(
        CRSError,
        match=r"units\.shp, layer 'units': no CRS declared and the coordinates are not "
        r"degrees: 5 of 5 sampled points.*537600\.0, 2524000\.0.*look like projected "
        r"metres.*read_layer\(\.\.\., crs=\"EPSG:4545\"\).*\.prj",
    ):
        normalize_crs(layer(NANNING_METRES), path="units.shp", layer="units")


def test_metres_declared_as_degrees_is_refused():
    with pytest.raises(
        CRSError,
        match=r"grids\.gpkg.*projected metres declared as degrees: the layer says WGS 84 "
        r"\(EPSG:4326\).*537600\.0",
    ):
        normalize_crs(layer(NANNING_METRES, crs=4326), path="grids.gpkg")


def test_swapped_latitude_longitude_is_refused():
    swapped = [(lat, lon) for lon, lat in NANNING_DEGREES]
    for crs in (None, 4490):
        with pytest.raises(
            CRSError, match=r"latitude and longitude are swapped: 5 of 5.*\(22\.8, 108\.3\).*swap"
        ):
            normalize_crs(layer(swapped, crs=crs), path="cases.csv")


def test_points_outside_china_are_refused():
    paris = [(2.35 + 0.01 * i, 48.86) for i in range(5)]
    with pytest.raises(
        CRSError, match=r"cases\.csv.*outside China: 5 of 5 sampled points read as WGS 84.*2\.35"
    ):
        normalize_crs(layer(paris, crs=4326), path="cases.csv")
    mostly_inside = layer(NANNING_DEGREES + paris[:2], crs=4326)
    assert normalize_crs(mostly_inside).crs.to_epsg() == 4326  # a few strays are validation's business


def test_gauss_kruger_with_zone_prefix_names_the_prefixed_crs():
    prefixed = [(36_000_000 + x, y) for x, y in NANNING_METRES]
    with pytest.raises(
        CRSError, match=r"outside China.*crs=\"EPSG:4524\".*zone number 36: CGCS2000 / 3-degree"
    ):
        normalize_crs(layer(prefixed, crs=4545), path="parcels.shp")
    with pytest.raises(CRSError, match=r"look like projected metres.*crs=\"EPSG:4524\""):
        normalize_crs(layer(prefixed), path="parcels.shp")
    six_degree = [(19_000_000 + x, y) for x, y in NANNING_METRES]
    with pytest.raises(CRSError, match=r"crs=\"EPSG:4497\".*Gauss-Kruger zone 19"):
        normalize_crs(layer(six_degree, crs=4326), path="parcels.shp")
    # the suggestion is right: read with it, the points land in Nanning
    out = normalize_crs(layer(prefixed), assume="EPSG:4524")
    np.testing.assert_allclose(out.geometry.x, normalize_crs(layer(NANNING_METRES, crs=4545)).geometry.x)


def test_storage_crs_are_kept_and_others_reprojected_to_cgcs2000():
    for epsg in (4326, 4490):
        frame = layer(NANNING_DEGREES, crs=epsg, code=["1"] * 5)
        out = normalize_crs(frame)
        assert out.crs.to_epsg() == epsg and out is not frame
        assert shapely.equals_exact(out.geometry.values, frame.geometry.values, 0).all()
    metres = layer(NANNING_METRES, crs=4545)
    out = normalize_crs(metres)
    expected = pyproj.Transformer.from_crs(4545, 4490, always_xy=True).transform(*np.array(NANNING_METRES).T)
    assert out.crs.to_epsg() == 4490
    np.testing.assert_allclose(
        shapely.get_coordinates(out.geometry.values), np.column_stack(expected), atol=1e-9
    )
    with pytest.warns(GridmapWarning, match="Xian 1980"):  # Xi'an 1980, geographic: no datum shift known
        assert normalize_crs(layer(NANNING_DEGREES, crs=4610)).crs.to_epsg() == 4490
    assert normalize_crs(layer(NANNING_DEGREES, crs="OGC:CRS84")).crs.to_epsg() == 4326


def test_assume_overrides_the_declared_crs_and_undoes_gcj02():
    out = normalize_crs(layer(NANNING_METRES, crs=4326), assume="EPSG:4545")
    assert out.crs.to_epsg() == 4490 and 108 < out.geometry.x.min() < 109
    amap = layer(NANNING_DEGREES)
    out = normalize_crs(amap, assume="gcj02")
    assert out.crs.to_epsg() == 4326
    expected = gcj02_to_wgs84(*np.array(NANNING_DEGREES).T)
    np.testing.assert_allclose(
        shapely.get_coordinates(out.geometry.values), np.column_stack(expected), atol=1e-12
    )
    assert normalize_crs(amap, assume="cgcs2000").crs.to_epsg() == 4490
    with pytest.raises(CRSError, match=r"(?s)a\.shp.*cannot understand the CRS 'EPSG:99999'.*EPSG:4545"):
        normalize_crs(amap, assume="EPSG:99999", path="a.shp")


def test_empty_layers_pass_through():
    empty = gpd.GeoDataFrame({"code": []}, geometry=[], crs=None)
    assert normalize_crs(empty).crs.to_epsg() == 4326
    assert normalize_crs(empty.set_crs(4490)).crs.to_epsg() == 4490
    only_empty = gpd.GeoDataFrame(geometry=[Point(), None], crs=4545)
    assert len(normalize_crs(only_empty)) == 2


def test_a_minority_of_impossible_degrees_is_refused_as_such():
    frame = layer(NANNING_DEGREES + [(108.3, 922.8)], crs=4490)
    with pytest.raises(
        CRSError, match=r"some coordinates are not valid degrees: 1 of 6 .*\(108\.3, 922\.8\).*correct"
    ):
        normalize_crs(frame, path="units.xlsx")


def test_large_layers_are_checked_on_a_sample():
    rng = np.random.default_rng(3)
    xy = np.column_stack([rng.uniform(108.2, 108.5, 200_000), rng.uniform(22.7, 22.9, 200_000)])
    xy[::3] -= (106.0, -26.0)  # a third in Paris: outside China, but not "most", so accepted
    frame = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=4326)
    assert len(normalize_crs(frame)) == 200_000
    xy[::3] = xy[::3] + (106.0, -26.0)
    xy[::3] = xy[::3, ::-1]  # a third swapped: their |y| > 90 is refused
    with pytest.raises(CRSError, match="not valid degrees"):
        normalize_crs(gpd.GeoDataFrame(geometry=shapely.points(xy), crs=4326))


@pytest.mark.parametrize("epsg", [2381, 2435, 4214])  # Xi'an 1980 and Beijing 1954 Gauss-Kruger, Beijing 1954
def test_legacy_datums_warn_that_positions_may_be_off_and_name_the_fix(epsg):
    crs = pyproj.CRS.from_epsg(epsg)
    degrees = pyproj.Transformer.from_crs(4490, crs, always_xy=True).transform(*np.array(NANNING_DEGREES).T)
    frame = layer(list(zip(*degrees, strict=True)), crs=crs)
    with pytest.warns(GridmapWarning) as caught:
        out = normalize_crs(frame, path="社区.shp")
    message = str(caught[0].message)
    assert "社区.shp" in message and crs.name in message
    assert "7-parameter" in message and "EPSG:4490" in message
    # the coordinates are still converted (with a zero datum shift): within a centimetre of where they started
    np.testing.assert_allclose(shapely.get_coordinates(out.geometry.values), NANNING_DEGREES, atol=1e-7)


@pytest.mark.parametrize("epsg", [4545, 32649, 3857])  # CGCS2000 and WGS84 projections: no warning
def test_modern_datums_convert_without_a_warning(epsg):
    transform = pyproj.Transformer.from_crs(4490, epsg, always_xy=True).transform
    frame = layer(list(zip(*transform(*np.array(NANNING_DEGREES).T), strict=True)), crs=epsg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert normalize_crs(frame).crs.to_epsg() == 4490
