"""Base maps from your own tiles (gridmap.maps.tiles), without a browser: sources, errors, the tiles a page
carries, and the GCJ-02 / WGS84 alignment of the data drawn on them. The browser side is in
tests/test_tiles_browser.py."""

import json
import re
import sqlite3
import warnings

import folium
import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from maps_fixtures import small_city, small_grids
from shapely.geometry import box
from tiles_fixtures import city_tiles, png, tile_of, write_folder, write_mbtiles

from gridmap.crs import wgs84_to_gcj02
from gridmap.errors import GridmapError, GridmapWarning, ReadError
from gridmap.maps import base_map, cockpit, one_screen, overview_map, tile_source, to_html
from gridmap.maps.tiles import InlineTiles, _cover, _tile_box

CITY = (108.30, 22.80, 108.34, 22.84)  # the tiny city of maps_fixtures: west, south, east, north


@pytest.fixture(scope="module")
def city():
    return small_city()


@pytest.fixture(scope="module")
def grids():
    return small_grids()


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """The same tiles (zoom 10–15 over the city, and one far away) as a folder and as an MBTiles file."""
    root = tmp_path_factory.mktemp("底图 tiles")  # a Chinese name with a space
    tiles = city_tiles(CITY, range(10, 16))
    tiles[(15, 0, 0)] = png()  # the Pacific's north-west corner: never over the city
    return {"folder": write_folder(root / "xyz", tiles),
            "mbtiles": write_mbtiles(root / "城市.mbtiles", tiles), "tiles": tiles}


def page_tiles(page: str) -> set[tuple[int, int, int]]:
    """The tiles a page carries, as (z, x, y)."""
    return {tuple(int(v) for v in key.split("/"))
            for key in re.findall(r'"(\d+/\d+/\d+)":"data:image/(?:png|jpeg|webp|gif);base64,', page)}


def inline_spec(fmap) -> dict:
    layer = next(child for child in fmap._children.values() if isinstance(child, InlineTiles))
    return json.loads(layer.spec_json)


# --- sources and their errors -------------------------------------------------------------------------

def test_builtin_gaode_is_gcj02_over_https():
    for name in ("gaode", "amap"):
        fmap = base_map(tiles=name)
        assert fmap.gridmap_coords == "gcj02"
        page = to_html(fmap)
        assert "https://webrd0{s}.is.autonavi.com/appmaptile" in page and "http://webrd" not in page


def test_builtin_sources_use_https():
    page = to_html(base_map(tiles="osm")) + to_html(base_map(basemap="tianditu", tianditu_key="abc123"))
    urls = re.findall(r'"(https?://[^"]*\{z\}[^"]*)"', page.replace("\\u0026", "&"))
    assert urls and all(url.startswith("https://") for url in urls)


def test_url_template_is_loaded_from_where_it_says(city):
    source = tile_source("http://10.1.2.3/tiles/{z}/{x}/{y}.png", crs="wgs84", name="内网底图")
    page = to_html(overview_map(**city, tiles=source))
    assert '"http://10.1.2.3/tiles/{z}/{x}/{y}.png"' in page
    assert json.dumps("内网底图") in page  # the name, as folium writes it
    assert "L.TileLayer.extend" not in page  # loaded from the server, not carried


def test_folder_and_mbtiles_are_recognised(stores):
    folder = tile_source(stores["folder"], crs="wgs84")
    mbtiles = tile_source(str(stores["mbtiles"]), crs="gcj02")
    assert (folder.kind, folder.crs) == ("folder", "wgs84")
    assert (mbtiles.kind, mbtiles.crs, mbtiles.name) == ("mbtiles", "gcj02", "测试底图")  # name from metadata


@pytest.mark.parametrize("crs, expected", [("WGS84", "wgs84"), ("cgcs2000", "wgs84"), ("GCJ-02", "gcj02")])
def test_crs_spellings(crs, expected):
    assert tile_source("t/{z}/{x}/{y}.png", crs=crs).crs == expected


def test_own_tiles_must_declare_their_coordinates(stores):
    with pytest.raises(GridmapError, match=r"not declared.*crs='gcj02'.*crs='wgs84'"):
        tile_source(stores["folder"])


def test_baidu_tiles_are_refused_with_the_reason():
    with pytest.raises(GridmapError, match="Baidu tiles use a tiling of their own"):
        tile_source("t/{z}/{x}/{y}.png", crs="bd09")


def test_builtin_tiles_keep_their_own_coordinates():
    with pytest.raises(GridmapError, match="gaode tiles are drawn in GCJ02, not wgs84"):
        tile_source("gaode", crs="wgs84")


def test_missing_folder_names_the_path_and_the_fix(tmp_path):
    missing = tmp_path / "没有的目录"
    with pytest.raises(ReadError, match=rf"{re.escape(str(missing))}: there is no tile folder or MBTiles "
                                        r"file here\. Fix: give a folder .*\{z\}/\{x\}/\{y\}\.png"):
        tile_source(missing, crs="wgs84")


def test_folder_without_tiles_is_refused(tmp_path):
    (tmp_path / "12" / "3").mkdir(parents=True)
    (tmp_path / "12" / "3" / "readme.txt").write_text("not a tile")
    with pytest.raises(ReadError, match=rf"{re.escape(str(tmp_path))}: the folder holds no .*tiles"):
        tile_source(tmp_path, crs="wgs84")


@pytest.mark.parametrize("content", [b"code,name\n1,x\n", b"", "编码,名称\n".encode("gbk")])
def test_a_file_that_is_not_sqlite_is_not_mbtiles(tmp_path, content):
    path = tmp_path / "city.mbtiles"
    path.write_bytes(content)
    with pytest.raises(ReadError, match=rf"{re.escape(str(path))}: the file is not an MBTiles file \(not "
                                        r"SQLite\)\. Fix: give a folder"):
        tile_source(path, crs="wgs84")


def test_sqlite_without_tiles_table_is_not_mbtiles(tmp_path):
    path = tmp_path / "registry.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE codes (code TEXT)")
    connection.close()
    with pytest.raises(ReadError, match="no 'tiles' table: it is not an MBTiles file"):
        tile_source(path, crs="wgs84")


def test_vector_mbtiles_are_refused(tmp_path):
    path = write_mbtiles(tmp_path / "v.mbtiles", {(0, 0, 0): b"\x1f\x8b"}, metadata={"format": "pbf"})
    with pytest.raises(ReadError, match=r"vector tiles \(format pbf\)"):
        tile_source(path, crs="wgs84")


def test_a_tile_that_is_not_an_image_names_the_file_and_the_tile(tmp_path, city):
    tiles = city_tiles(CITY, [12])
    z, (x, y) = 12, tile_of(108.32, 22.82, 12)
    tiles[(z, x, y)] = b"\x1f\x8bgzip"
    path = write_mbtiles(tmp_path / "bad.mbtiles", tiles)
    with pytest.raises(ReadError, match=rf"bad\.mbtiles: tile {z}/{x}/{y} is not a PNG, JPEG or WebP"):
        to_html(overview_map(**city, tiles=tile_source(path, crs="wgs84")))


@pytest.mark.parametrize("template, missing", [("http://intranet/{z}/{x}.png", "{y}"),
                                               ("http://intranet/tiles.png", "{z}, {x}, {y}"),
                                               ("http://intranet/{z}/{y}/{x", "{x}")])
def test_template_without_placeholders_names_them(template, missing):
    with pytest.raises(GridmapError, match=rf"tiles {re.escape(template)}: the URL template has no "
                                           rf"{re.escape(missing)}\. Fix: write where"):
        tile_source(template, crs="wgs84")


def test_template_that_would_run_as_jinja_is_refused():
    with pytest.raises(GridmapError, match="single braces"):
        tile_source("http://x/{{7*7}}/{z}/{x}/{y}.png", crs="wgs84")


def test_basemap_and_tiles_together_are_refused():
    with pytest.raises(GridmapError, match="give one of them"):
        base_map(basemap="osm", tiles="gaode")


def test_no_tiles_is_a_plain_background_and_no_tile_layer(city):
    fmap = overview_map(**city, tiles=None)
    page = to_html(fmap)
    assert fmap.gridmap_coords == "wgs84"
    assert not [c for c in fmap._children.values() if isinstance(c, folium.TileLayer)]
    assert "L.tileLayer" not in page and "L.TileLayer.extend" not in page


# --- the tiles a page carries -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["folder", "mbtiles"])
def test_page_carries_the_tiles_over_the_map_and_no_other(stores, city, kind):
    fmap = overview_map(**city, tiles=tile_source(stores[kind], crs="wgs84"))
    page = to_html(fmap)
    carried = page_tiles(page)
    assert (15, 0, 0) not in carried
    # every tile under the city is there, at every zoom
    for z in range(10, 16):
        (x0, y0), (x1, y1) = tile_of(CITY[0], CITY[3], z), tile_of(CITY[2], CITY[1], z)
        under = {(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
        assert under <= carried
    assert carried <= set(stores["tiles"])
    spec = inline_spec(fmap)
    assert (spec["minNativeZoom"], spec["maxNativeZoom"]) == (10, 15)
    (south, west), (north, east) = spec["bounds"]
    assert west < CITY[0] and east > CITY[2] and south < CITY[1] and north > CITY[3]


def test_mbtiles_rows_are_turned_round_from_tms(tmp_path, city):
    """At zoom 12 the city lies in tile x 3280, y 1781 (XYZ, from the north: 288.32 / 360 × 4096 = 3280.4,
    (1 − asinh(tan 22.82°) / π) / 2 × 4096 = 1781.2), stored as row 4095 − 1781 = 2314."""
    assert tile_of(108.32, 22.82, 12) == (3280, 1781)
    path = write_mbtiles(tmp_path / "one.mbtiles", {(12, 3280, 1781): png()})
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT tile_column, tile_row FROM tiles").fetchall() == [(3280, 2314)]
    connection.close()
    page = to_html(overview_map(**city, tiles=tile_source(path, crs="wgs84")))
    assert page_tiles(page) == {(12, 3280, 1781)}


def test_tms_folder_is_turned_round(tmp_path, city):
    folder = write_folder(tmp_path / "tms", {(12, 3280, 1781): png()}, tms=True)
    assert (folder / "12" / "3280" / "2314.png").exists()
    page = to_html(overview_map(**city, tiles=tile_source(folder, crs="wgs84", tms=True)))
    assert page_tiles(page) == {(12, 3280, 1781)}


def test_jpeg_tiles_keep_their_type(tmp_path, city):
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (256, 256), (10, 20, 30)).save(out, format="JPEG")
    folder = write_folder(tmp_path / "jpg", {(12, 3280, 1781): out.getvalue()}, extension="jpg")
    page = to_html(overview_map(**city, tiles=tile_source(folder, crs="wgs84")))
    assert '"12/3280/1781":"data:image/jpeg;base64,' in page


def test_finer_levels_over_the_cap_are_left_out_with_a_warning(stores, city):
    source = tile_source(stores["mbtiles"], crs="wgs84", max_mb=0.02)
    with pytest.warns(GridmapWarning, match=r"tiles: .*城市\.mbtiles: zoom levels above (\d+) are left out "
                                            r"of the page .*over max_mb=0\.02.*URL template"):
        fmap = overview_map(**city, tiles=source)
        page = to_html(fmap)
    kept = {z for z, _, _ in page_tiles(page)}
    spec = inline_spec(fmap)
    assert kept == set(range(10, spec["maxNativeZoom"] + 1)) and spec["maxNativeZoom"] < 15
    assert len(page.encode()) < len(to_html(overview_map(**city))) + 0.02e6 + 10_000


def test_a_cap_below_the_coarsest_level_is_an_error(stores, city):
    source = tile_source(stores["folder"], crs="wgs84", max_mb=0.0001)
    with pytest.raises(GridmapError, match=r"xyz: the tiles over the map's area take .* at zoom 10, its "
                                           r"coarsest level, more than max_mb=0\.0001\. Fix: raise max_mb="):
        to_html(overview_map(**city, tiles=source))


def test_max_zoom_limits_the_levels(stores, city):
    page = to_html(overview_map(**city, tiles=tile_source(stores["folder"], crs="wgs84", max_zoom=12)))
    assert {z for z, _, _ in page_tiles(page)} == {10, 11, 12}


def test_tiles_elsewhere_are_warned_about(tmp_path, city):
    folder = write_folder(tmp_path / "beijing", city_tiles((116.38, 39.90, 116.42, 39.94), [12]))
    with pytest.warns(GridmapWarning, match="has no tile over the map's area.*tms=True"):
        page = to_html(overview_map(**city, tiles=tile_source(folder, crs="wgs84")))
    assert page_tiles(page) == set()


def test_page_with_tiles_is_self_contained_and_escapes_names(stores, city):
    source = tile_source(stores["mbtiles"], crs="wgs84", name="<b>{{7*7}}</b>",
                         attribution="</script><script>alert(1)</script>")
    page = to_html(overview_map(**city, tiles=source))  # to_html refuses anything loaded from outside
    assert "</script><script>alert(1)" not in page and "{{7*7}}" not in page and ">49<" not in page


def test_one_screen_and_cockpit_take_tiles(stores, city, grids):
    source = tile_source(stores["folder"], crs="gcj02")
    onescreen = one_screen(grids, **city, tiles=source)
    assert onescreen.gridmap_coords == "gcj02" and page_tiles(to_html(onescreen))
    assert page_tiles(cockpit(grids, **city, tiles=source))


def test_phone_pages_each_carry_the_tiles_of_their_community(stores, city, grids, tmp_path):
    from gridmap.maps.pages import save_community_pages

    source = tile_source(stores["mbtiles"], crs="wgs84")
    pages = save_community_pages(grids, tmp_path, communities=city["communities"], tiles=source)
    carried = [page_tiles((tmp_path / page["file"]).read_text(encoding="utf-8")) for page in pages]
    assert len(pages) >= 2 and all(carried)
    finest = [{(x, y) for z, x, y in tiles if z == 15} for tiles in carried]
    assert finest[0] != finest[1]  # each page its own area


# --- alignment -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("crs", ["gcj02", "wgs84"])
def test_data_are_drawn_in_the_tiles_coordinates(stores, grids, city, crs):
    """On GCJ-02 tiles every layer is shifted by wgs84_to_gcj02 (about 300–600 m here); on WGS84 tiles not."""
    fmap = one_screen(grids, **city, tiles=tile_source(stores["mbtiles"], crs=crs))
    to_html(fmap)
    grid = next(child for child in fmap._children.values() if type(child).__name__ == "GridLayer")
    drawn = grid.drawn_geometry()
    original = grids.to_crs("EPSG:4326").geometry.reset_index(drop=True)
    xy, xy0 = (np.concatenate([np.asarray(g.exterior.coords) for g in frame]) for frame in (drawn, original))
    expected = np.column_stack(wgs84_to_gcj02(xy0[:, 0], xy0[:, 1])) if crs == "gcj02" else xy0
    assert np.abs(xy - expected).max() < 1e-9
    shift_m = gpd.GeoSeries(gpd.points_from_xy(*xy.T), crs="EPSG:4326").to_crs("EPSG:32649").distance(
        gpd.GeoSeries(gpd.points_from_xy(*xy0.T), crs="EPSG:4326").to_crs("EPSG:32649"))
    assert (shift_m.between(300, 700) if crs == "gcj02" else shift_m < 1e-6).all()
    fit = next(child for child in fmap._children.values() if isinstance(child, folium.FitBounds))
    minx, miny, maxx, maxy = drawn.total_bounds
    assert np.allclose(fit.bounds, [[miny, minx], [maxy, maxx]])


def test_gcj02_tiles_are_taken_over_the_shifted_area(tmp_path, city):
    """The city shifted to GCJ-02 moves east by ~0.005°: at zoom 16 the tiles go with it."""
    z = 16
    gcj_west = float(wgs84_to_gcj02(CITY[0], CITY[1])[0])
    folder = write_folder(tmp_path / "t", city_tiles(CITY, [z], margin=6))
    pages = {crs: page_tiles(to_html(overview_map(**city, tiles=tile_source(folder, crs=crs))))
             for crs in ("wgs84", "gcj02")}
    cover_west = {crs: min(x for _, x, _ in tiles) for crs, tiles in pages.items()}
    assert cover_west["gcj02"] > cover_west["wgs84"]
    moved = tile_of(gcj_west, CITY[1], z)[0] - tile_of(*CITY[:2], z)[0]
    assert cover_west["gcj02"] - cover_west["wgs84"] == moved


@settings(max_examples=60, deadline=None)
@given(st.floats(73.5, 135), st.floats(18, 53.5), st.floats(0.0001, 2), st.floats(0.0001, 2),
       st.integers(0, 19))
def test_cover_holds_every_tile_under_the_bounds(west, south, width, height, z):
    east, north = west + width, min(south + height, 85)
    box_ = _tile_box(_cover([[south, west], [north, east]]), z)
    for lon, lat in ((west, south), (east, north), (west, north), (east, south)):
        x, y = tile_of(lon, lat, z)
        assert box_[0] <= x <= box_[2] and box_[1] <= y <= box_[3]


def test_no_bounds_covers_the_world():
    assert _tile_box(_cover([[None, None], [None, None]]), 2) == (0, 0, 3, 3)


def test_inputs_and_the_store_are_not_changed(stores, city):
    before = {name: frame.copy() for name, frame in city.items()}
    mtime = stores["mbtiles"].stat().st_mtime_ns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_html(overview_map(**city, tiles=tile_source(stores["mbtiles"], crs="gcj02")))
    assert stores["mbtiles"].stat().st_mtime_ns == mtime
    for name, frame in city.items():
        assert frame.geometry.geom_equals(before[name].geometry).all()
    assert box(*CITY).equals(box(*city["districts"].total_bounds))
