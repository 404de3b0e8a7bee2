"""gridmap.maps without a browser: self-contained pages, base maps, layers, escaping, coordinates, saving."""

import base64
import copy
import importlib.resources
import json
import os
import re

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pytest
import shapely
from branca.element import Element, JavascriptLink
from geopandas.testing import assert_geodataframe_equal
from maps_fixtures import COMMUNITIES, UNITS, XSS_NAME, small_city
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    box,
    shape,
)

from gridmap.errors import CRSError, GridmapError, GridmapWarning, SchemaError, WriteError
from gridmap.maps import (
    BOUNDARY_STYLES,
    GeoLayer,
    base_map,
    boundary_layer,
    encode_geometry,
    label_zoom,
    legend,
    overview_map,
    save_html,
    to_html,
    unit_layer,
)
from gridmap.schema import LABELS_ZH

LEAFLET = importlib.resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"


def specs(fmap) -> dict:
    """Render the map and return each GeoLayer's data as the page receives it, by layer key."""
    page = to_html(fmap)
    layers = [child for child in fmap._children.values() if isinstance(child, GeoLayer)]
    parsed = {layer.key: json.loads(layer.spec_json) for layer in layers}
    for layer in layers:
        assert layer.spec_json in page
    return parsed


def features(spec) -> list:
    return spec["data"]["features"]


def decode(geometry: dict, scale: int = 10**6):
    """Decode ``encode_geometry`` output into a shapely geometry (the page's decoder, written again)."""
    def line(flat):
        return (np.cumsum(np.array(flat, dtype=np.int64).reshape(-1, 2), axis=0) / scale).tolist()

    kind = geometry["type"]
    if kind == "GeometryCollection":
        return GeometryCollection([decode(part, scale) for part in geometry["geometries"]])
    c = geometry["coordinates"]
    coordinates = (line(c)[0] if kind == "Point" else line(c) if kind in ("LineString", "MultiPoint")
                   else [line(ring) for ring in c] if kind in ("Polygon", "MultiLineString")
                   else [[line(ring) for ring in polygon] for polygon in c])
    return shape({"type": kind, "coordinates": coordinates})


def geometries(spec) -> list:
    return [decode(f["geometry"], spec["scale"]) for f in features(spec)]


@pytest.fixture(scope="module")
def city():
    return small_city()


@pytest.fixture(scope="module")
def page(city):
    return to_html(overview_map(**city, title="示例市"))


# --- self-contained pages ---------------------------------------------------------------------------------

def test_page_inlines_installed_leaflet_and_links_nothing(page):
    leaflet_js = (LEAFLET / "leaflet.js").read_text(encoding="utf-8")
    body = leaflet_js[: leaflet_js.rindex("//# sourceMappingURL")].strip()
    assert body in page
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", page)
    for cdn in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "bootstrapcdn",
                "sourceMappingURL"):
        assert cdn not in page
    assert page.count("Leaflet 1.9.4") == 1


def test_leaflet_css_images_are_data_uris_of_the_installed_files(page):
    assert "url(images/" not in page
    for image in ("layers.png", "layers-2x.png", "marker-icon.png"):
        encoded = base64.b64encode((LEAFLET / "images" / image).read_bytes()).decode()
        assert f"data:image/png;base64,{encoded}" in page


def test_page_declares_utf8_and_language(page):
    assert '<html lang="zh-CN">' in page
    assert 'charset=UTF-8' in page
    assert "<title>示例市</title>" in page


def test_plain_folium_map_is_refused_naming_the_cdn_file():
    with pytest.raises(GridmapError, match=r"code\.jquery\.com.*Fix:"):
        to_html(folium.Map(tiles=None))


def test_unknown_external_script_is_refused():
    fmap = base_map()
    fmap.get_root().header.add_child(JavascriptLink("https://example.com/plugin.js"))
    with pytest.raises(GridmapError, match="example.com/plugin.js"):
        to_html(fmap)


def test_external_image_left_in_the_page_is_refused():
    fmap = base_map()
    fmap.get_root().html.add_child(Element('<img src="https://example.com/logo.png">'))
    with pytest.raises(GridmapError, match="example.com/logo.png"):
        to_html(fmap)


def test_folium_icon_is_refused_with_the_alternative():
    fmap = base_map()
    folium.Marker([22.8, 108.3], icon=folium.Icon(color="red")).add_to(fmap)
    with pytest.raises(GridmapError, match="CircleMarker"):
        to_html(fmap)


def test_jquery_shim_only_when_folium_uses_jquery():
    assert "window.$" not in to_html(base_map())
    fmap = base_map()
    folium.Marker([22.8, 108.3], popup="你好").add_to(fmap)
    assert "window.$ = window.$ ||" in to_html(fmap)


def test_folium_heatmap_plugin_is_inlined_from_folium():
    fmap = base_map()
    folium.plugins.HeatMap([[22.8, 108.3], [22.81, 108.31]]).add_to(fmap)
    heat = (importlib.resources.files("folium") / "templates" / "leaflet_heat.min.js").read_text("utf-8")
    assert heat.strip()[:200] in to_html(fmap)


# --- base maps --------------------------------------------------------------------------------------------

def test_offline_base_map_has_no_tiles():
    page = to_html(base_map())
    assert "L.tileLayer" not in page and "{z}" not in page


def test_osm_base_map_loads_osm_tiles():
    assert "tile.openstreetmap.org/{z}/{x}/{y}.png" in to_html(base_map(basemap="osm"))


def test_tianditu_without_key_names_the_fix():
    with pytest.raises(GridmapError, match="tianditu_key=.*basemap='none'"):
        base_map(basemap="tianditu")


def test_tianditu_key_must_be_a_plain_token():
    with pytest.raises(GridmapError, match="letters and digits"):
        base_map(basemap="tianditu", tianditu_key="abc&x=1")


def test_tianditu_draws_vector_and_label_layers_in_web_mercator():
    page = to_html(base_map(basemap="tianditu", tianditu_key="0123abcd")).replace("\\u0026", "&")
    for layer in ("vec", "cva"):
        assert f"tianditu.gov.cn/{layer}_w/wmts?" in page
        assert f"LAYER={layer}&STYLE=default&TILEMATRIXSET=w" in page
    assert page.count("tk=0123abcd") == 2


def test_amap_base_map_draws_in_gcj02():
    fmap = base_map(basemap="amap")
    assert fmap.gridmap_coords == "gcj02"
    assert "autonavi.com/appmaptile" in to_html(fmap)


@pytest.mark.parametrize("option", [{"basemap": "baidu"}, {"lang": "fr"}])
def test_unknown_option_lists_the_allowed_values(option):
    with pytest.raises(GridmapError, match="one of"):
        base_map(**option)


# --- overview map: content and escaping -------------------------------------------------------------------

def test_layers_are_separate_and_in_drawing_order(city):
    fmap = overview_map(**city)
    layers = [child for child in fmap._children.values() if isinstance(child, GeoLayer)]
    assert [layer.key for layer in layers] == ["district", "street", "community", "units"]
    assert len({layer.layer_name for layer in layers}) == 4
    assert all(layer.overlay and layer.control for layer in layers)
    assert any(isinstance(child, folium.LayerControl) for child in fmap._children.values())
    assert len({json.dumps(BOUNDARY_STYLES[level], sort_keys=True) for level in BOUNDARY_STYLES}) == 4


def test_every_feature_is_drawn_once_with_its_own_geometry(city):
    drawn = specs(overview_map(**city))
    for key, frame in (("district", city["districts"]), ("street", city["streets"]),
                       ("community", city["communities"]), ("units", city["units"])):
        got = geometries(drawn[key])
        assert len(got) == len(frame)
        for geom, expected in zip(got, frame.geometry, strict=True):
            assert geom.symmetric_difference(expected).area < 1e-12
            assert geom.geom_type == expected.geom_type


def test_popups_carry_name_code_kind_and_counts(city):
    drawn = specs(overview_map(**city))
    assert drawn["units"]["fields"] == ["编号", LABELS_ZH["kind"], LABELS_ZH["households"],
                                        LABELS_ZH["population"], LABELS_ZH["buildings"]]
    rows = {f["properties"]["v"][1]: f["properties"]["v"] for f in features(drawn["units"])}
    for unit_id, (name, kind, households, population, buildings, _) in UNITS.items():
        assert rows[unit_id] == [name, unit_id, LABELS_ZH[kind], households, population, buildings]
    communities = {f["properties"]["v"][1]: f["properties"]["v"] for f in features(drawn["community"])}
    for code, (name, kind, _) in COMMUNITIES.items():
        assert communities[code][0] == name
        assert communities[code][2] == f"{LABELS_ZH['community']} · {LABELS_ZH[kind]}"


def test_english_labels(city):
    drawn = specs(overview_map(**city, lang="en"))
    assert drawn["units"]["fields"] == ["ID", "Type", "Households", "Population", "Buildings"]
    assert features(drawn["units"])[0]["properties"]["v"][2] == "Residential compound"
    assert '<html lang="en">' in to_html(overview_map(**city, lang="en"))


def test_text_from_data_cannot_open_a_tag_or_close_the_script(city, page):
    assert XSS_NAME not in page
    assert "<img src=x" not in page
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page
    units = city["units"].copy()
    units.loc[0, "name"] = "</script><script>alert(2)</script>"
    assert "alert(2)</script>" not in to_html(overview_map(units=units))


def test_layer_names_are_escaped_for_the_layer_control_and_plain_in_the_legend(city):
    layer = boundary_layer(city["streets"], level="street", name="<b>街道</b>")
    assert layer.layer_name == "&lt;b&gt;街道&lt;/b&gt;"
    fmap = base_map()
    layer.add_to(fmap)
    control = folium.LayerControl().add_to(fmap)
    to_html(fmap)
    assert list(control.overlays) == ["&lt;b&gt;街道&lt;/b&gt;"]  # Leaflet's control sets innerHTML
    assert legend(layer).items[0]["label"] == "<b>街道</b>"  # the legend sets textContent


def test_counts_that_are_not_numbers_are_shown_as_given(city):
    units = city["units"].astype({"households": object})
    units.loc[0, "households"] = "约400"
    assert unit_layer(units).rows[0][3] == "约400"


def test_chinese_text_is_embedded_as_utf8_not_escapes(page):
    assert "翠竹苑" in page and "那坡村" in page
    assert "\\u7fe0" not in page.lower()


def test_title_is_escaped():
    page = to_html(base_map(title="<b>示例</b>"))
    assert "<title>&lt;b&gt;示例&lt;/b&gt;</title>" in page
    assert "<b>示例" not in page


def test_legend_lists_boundaries_and_the_unit_kinds_present(city):
    fmap = overview_map(**city)
    legend = next(child for child in fmap._children.values() if child._name == "GridmapLegend")
    labels = [item["label"] for item in legend.items]
    kinds = [kind for kind in ("compound", "natural_village", "school", "hospital")]
    assert labels[:3] == ["城区/县界", "街道/乡镇界", "社区/村界"]
    assert sorted(labels[3:]) == sorted(LABELS_ZH[kind] for kind in kinds)
    shapes = {item["label"]: item["shape"] for item in legend.items}
    assert shapes[LABELS_ZH["hospital"]] == "point" and shapes[LABELS_ZH["compound"]] == "area"


# --- overview map: coordinates ----------------------------------------------------------------------------

def test_map_fits_the_data(city):
    fmap = overview_map(**city)
    fit = next(child for child in fmap._children.values() if isinstance(child, folium.FitBounds))
    minx, miny, maxx, maxy = city["districts"].total_bounds
    assert np.allclose(fit.bounds, [[miny, minx], [maxy, maxx]])


def test_coordinates_are_rounded_to_six_decimals_and_sent_as_integer_steps():
    fine = box(108.300000123456, 22.800000987654, 108.310000555555, 22.810000444444)
    frame = gpd.GeoDataFrame({"code": ["450102001001"], "name": ["翠竹社区"]}, geometry=[fine],
                             crs="EPSG:4326")
    spec = specs(overview_map(communities=frame))["community"]
    ring = features(spec)[0]["geometry"]["coordinates"][0]
    assert all(isinstance(value, int) for value in ring)
    coords = np.array(geometries(spec)[0].exterior.coords)
    assert np.abs(coords - np.round(np.array(fine.exterior.coords), 6)).max() < 1e-9


@pytest.mark.parametrize("geom", [
    Point(108.3, 22.8),
    MultiPoint([(108.3, 22.8), (108.31, 22.81)]),
    LineString([(108.3, 22.8), (108.3000004, 22.8000006), (108.31, 22.79)]),
    MultiLineString([[(108.3, 22.8), (108.31, 22.8)], [(108.3, 22.81), (108.31, 22.82)]]),
    Polygon([(108.3, 22.8), (108.32, 22.8), (108.32, 22.82), (108.3, 22.8)],
            [[(108.315, 22.801), (108.319, 22.801), (108.319, 22.805), (108.315, 22.801)]]),
    MultiPolygon([box(108.3, 22.8, 108.31, 22.81), box(108.32, 22.8, 108.33, 22.81)]),
    GeometryCollection([Point(108.3, 22.8), box(108.3, 22.8, 108.31, 22.81)]),
])
def test_encoded_geometry_decodes_to_the_rounded_geometry(geom):
    rounded = shapely.transform(geom, lambda xy: np.round(xy, 6))
    decoded = decode(json.loads(json.dumps(encode_geometry(geom))))
    assert decoded.geom_type == geom.geom_type
    assert decoded.equals_exact(rounded, tolerance=1e-9)


def test_encoding_halves_the_size_of_six_decimal_geojson():
    ring = box(108.3, 22.8, 108.304, 22.804).segmentize(0.0004)
    six = json.dumps(shapely.geometry.mapping(shapely.transform(ring, lambda xy: np.round(xy, 6))))
    assert len(json.dumps(encode_geometry(ring))) < len(six) / 2


@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:32649", "EPSG:4547"])
def test_any_input_crs_is_drawn_in_wgs84(crs):
    layers = small_city(crs)
    drawn = specs(overview_map(**layers))
    expected = layers["communities"].to_crs("EPSG:4326").geometry
    got = geometries(drawn["community"])
    for geom, want in zip(got, expected, strict=True):
        assert geom.hausdorff_distance(want) < 2e-6


def test_inputs_are_not_changed(city):
    before = copy.deepcopy(city)
    overview_map(**city, basemap="amap")
    to_html(overview_map(**city))
    for name in city:
        assert_geodataframe_equal(city[name], before[name])


def test_amap_shifts_the_data_to_gcj02_and_fits_the_shifted_data(city):
    from gridmap.crs import convert_frame

    fmap = overview_map(**city, basemap="amap")
    drawn = specs(fmap)
    expected = convert_frame(city["communities"], "wgs84", "gcj02").geometry
    got = geometries(drawn["community"])
    for geom, want, original in zip(got, expected, city["communities"].geometry, strict=True):
        assert geom.hausdorff_distance(want) < 1e-6
        shift_m = gpd.GeoSeries([geom.centroid, original.centroid], crs="EPSG:4326").to_crs("EPSG:32649")
        assert 27 < shift_m.iloc[0].distance(shift_m.iloc[1]) < 700
    fit = next(child for child in fmap._children.values() if isinstance(child, folium.FitBounds))
    minx, miny, maxx, maxy = convert_frame(city["districts"], "wgs84", "gcj02").total_bounds
    assert np.allclose(fit.bounds, [[miny, minx], [maxy, maxx]])


def test_labels_sit_inside_their_polygon_and_appear_once_wider_than_the_text(city):
    drawn = specs(overview_map(**city))
    for key, frame in (("street", city["streets"]), ("community", city["communities"])):
        for feature, polygon in zip(features(drawn[key]), frame.geometry, strict=True):
            lat, lon = feature["properties"]["p"]
            zoom = feature["properties"]["z"]
            assert polygon.contains(Point(lon, lat))
            width = polygon.bounds[2] - polygon.bounds[0]
            text_px = 12 * len(feature["properties"]["v"][0]) + 6  # Chinese names: 12 px a character + 6
            assert width / 360 * 256 * 2**zoom >= text_px > width / 360 * 256 * 2 ** (zoom - 1)
    assert all("p" not in f["properties"] for f in features(drawn["district"]) + features(drawn["units"]))


def test_label_zoom_grows_by_one_when_the_polygon_halves():
    assert label_zoom(0.005, "翠竹社区") == label_zoom(0.01, "翠竹社区") + 1
    assert label_zoom(0, "翠竹社区") is None


# --- bad input --------------------------------------------------------------------------------------------

def test_nothing_to_draw():
    with pytest.raises(GridmapError, match="no layer"):
        overview_map()


def test_missing_crs_names_the_fix(city):
    frame = city["communities"].set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="community layer.*set_crs"):
        overview_map(communities=frame)


def test_missing_column_names_the_column(city):
    with pytest.raises(SchemaError, match="unit layer.*kind"):
        unit_layer(city["units"].drop(columns="kind"))


def test_not_a_frame():
    with pytest.raises(SchemaError, match="GeoDataFrame"):
        boundary_layer([box(0, 0, 1, 1)], level="community")


def test_unknown_level():
    with pytest.raises(GridmapError, match="level="):
        boundary_layer(small_city()["streets"], level="province")


def test_features_without_geometry_are_skipped_with_a_warning(city):
    units = city["units"].copy()
    units.loc[units["unit_id"] == "U3", "geometry"] = None
    with pytest.warns(GridmapWarning, match="1 feature.*U3"):
        layer = unit_layer(units)
    assert [row[1] for row in layer.rows] == ["U1", "U2", "U4", "U5"]


def test_an_empty_layer_draws_nothing_and_the_map_fits_the_others(city):
    fmap = overview_map(communities=city["communities"].iloc[:0], streets=city["streets"])
    fit = next(child for child in fmap._children.values() if isinstance(child, folium.FitBounds))
    minx, miny, maxx, maxy = city["streets"].total_bounds
    assert np.allclose(fit.bounds, [[miny, minx], [maxy, maxx]])
    assert features(specs(fmap)["community"]) == []


def test_grids_show_their_type():
    grids = gpd.GeoDataFrame({"code": ["450102001001001", "450102001001002"], "type": ["city", "dedicated"],
                              "households": [410, 0]},
                             geometry=[box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.32, 22.81)],
                             crs="EPSG:4326")
    drawn = specs(overview_map(grids=grids))
    rows = [f["properties"]["v"] for f in features(drawn["grid"])]
    assert rows[0][:4] == ["450102001001001", "450102001001001", "城市网格", 410]
    assert rows[1][2] == "专属网格"


# --- saving -----------------------------------------------------------------------------------------------

def test_save_html_writes_the_page_atomically(tmp_path, city):
    fmap = overview_map(**city)
    out = save_html(fmap, tmp_path / "map.html")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    layers = [child for child in fmap._children.values() if isinstance(child, GeoLayer)]
    assert all(layer.spec_json in text for layer in layers)
    assert os.listdir(tmp_path) == ["map.html"]


def test_saved_page_is_readable_by_others_or_keeps_the_old_mode(tmp_path):
    new = save_html(base_map(), tmp_path / "new.html")
    assert new.stat().st_mode & 0o777 == 0o644
    old = tmp_path / "old.html"
    old.write_text("old", encoding="utf-8")
    old.chmod(0o640)
    assert save_html(base_map(), old).stat().st_mode & 0o777 == 0o640


def test_failed_render_leaves_the_previous_file(tmp_path):
    target = tmp_path / "map.html"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(GridmapError):
        save_html(folium.Map(tiles=None), target)
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["map.html"]


def test_missing_folder_is_a_write_error(tmp_path):
    with pytest.raises(WriteError, match="missing does not exist.*create it first"):
        save_html(base_map(), tmp_path / "missing" / "map.html")


# --- size -------------------------------------------------------------------------------------------------

def test_layer_data_is_smaller_than_folium_geojson():
    cells = [box(108.3 + 0.001 * i, 22.8, 108.3 + 0.001 * (i + 1), 22.801).segmentize(0.0001)
             for i in range(200)]
    frame = gpd.GeoDataFrame({"code": [f"450102001001{i:03d}" for i in range(200)], "name": ["网格"] * 200,
                              "households": [300] * 200}, geometry=cells, crs="EPSG:4326")
    fmap = overview_map(grids=frame)
    to_html(fmap)
    ours = next(child for child in fmap._children.values() if isinstance(child, GeoLayer)).spec_json
    plain = json.dumps(folium.GeoJson(frame).data)
    assert len(ours.encode()) < len(plain.encode())
