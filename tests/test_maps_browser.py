"""gridmap pages in a real browser (chromium) with the network blocked: they draw, click and stay safe."""

import folium
import geopandas as gpd
import pytest
from browser import click_at, open_offline
from maps_fixtures import UNITS, XSS_NAME, small_city
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon, box, shape

from gridmap.maps import base_map, boundary_layer, overview_map, save_html, unit_layer

pytestmark = pytest.mark.browser

N_DRAWN = 1 + 2 + 4 + len(UNITS)  # district, streets, communities, units (3 polygons, 2 circle markers)
MAP = "gridmap.maps[0]"


@pytest.fixture(scope="module")
def overview_file(tmp_path_factory):
    return save_html(overview_map(**small_city(), title="示例市 网格化服务管理"),
                     tmp_path_factory.mktemp("maps") / "overview.html")


@pytest.fixture
def opened(browser):
    pages = []

    def open_(path, width=1920, height=1080):
        page, log = open_offline(browser, path, width=width, height=height)
        pages.append(page)
        return page, log

    yield open_
    for page in pages:
        page.close()


def assert_clean(log):
    assert log.requests == []
    assert log.console_errors == []
    assert log.page_errors == []
    assert log.dialogs == []


def drawn_count(page) -> int:
    """Paths Leaflet drew on the map's canvas renderer."""
    return page.evaluate(f"Object.keys({MAP}._renderer._layers).length")


def popup(page) -> dict:
    page.wait_for_selector(".leaflet-popup-content .gridmap-popup-title")
    return page.evaluate("""() => {
        const box = document.querySelector(".leaflet-popup-content");
        return {title: box.querySelector(".gridmap-popup-title").textContent,
                cells: [...box.querySelectorAll("td")].map(td => td.textContent),
                elements: [...box.querySelectorAll("*")].map(e => e.tagName.toLowerCase())};
    }""")


def close_popup(page) -> None:
    page.evaluate(f"{MAP}.closePopup()")
    page.wait_for_selector(".leaflet-popup", state="detached", timeout=3000)  # popups fade out


def test_overview_on_a_wide_screen(opened, overview_file, tmp_path):
    page, log = opened(overview_file)
    assert drawn_count(page) == N_DRAWN
    counts = page.evaluate("Object.fromEntries(Object.entries(gridmap.layers)"
                           ".map(([k, g]) => [k, g.gridmapGeo.getLayers().length]))")
    assert counts == {"district": 1, "street": 2, "community": 4, "units": len(UNITS)}
    assert page.locator(".gridmap-legend").is_visible()
    assert page.evaluate("document.querySelector('.gridmap-legend').open") is True
    assert page.locator(".gridmap-legend-item").count() == 3 + 4
    assert page.locator(".gridmap-title").inner_text() == "示例市 网格化服务管理"

    click_at(page, 22.822, 108.317)  # inside 兴宁社区, away from units
    shown = popup(page)
    assert shown["title"] == "兴宁社区"
    assert "450102001002" in shown["cells"]
    close_popup(page)

    click_at(page, 22.8055, 108.3255)  # the unit named like an HTML tag
    shown = popup(page)
    assert shown["title"] == XSS_NAME
    assert "img" not in shown["elements"]
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    close_popup(page)

    click_at(page, 22.835, 108.335)  # a natural village drawn as a circle marker
    assert popup(page)["title"] == "那坡屯"

    page.screenshot(path=str(tmp_path / "overview_1920.png"))
    assert_clean(log)


def test_overview_on_a_phone(opened, overview_file, tmp_path):
    page, log = opened(overview_file, width=390, height=844)
    assert page.evaluate(f"{MAP}.getSize().x") == 390
    assert drawn_count(page) == N_DRAWN
    assert page.evaluate("document.querySelector('.gridmap-legend').open") is False
    assert page.locator(".gridmap-legend summary").is_visible()
    click_at(page, 22.8055, 108.3255)
    assert popup(page)["title"] == XSS_NAME
    page.screenshot(path=str(tmp_path / "overview_390.png"))
    assert_clean(log)


def shown_labels(page, count: int) -> list:
    """Label texts on screen, once their number is ``count`` (labels fade out over 200 ms)."""
    page.wait_for_function(f"document.querySelectorAll('.gridmap-label').length === {count}", timeout=3000)
    return sorted(page.evaluate("[...document.querySelectorAll('.gridmap-label')].map(e => e.textContent)"))


LABEL_STATE = """(zoom) => {
    const map = gridmap.maps[0];
    map.setZoom(zoom, {animate: false});
    const box = tip => { const r = tip.getElement().getBoundingClientRect();
                         return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
    const items = [];
    gridmap.labelSets.forEach(set => set.items.forEach(item => {
        const shown = !!item.tip && set.labels.hasLayer(item.tip);
        let rect = null;
        if (shown) { rect = box(item.tip); }
        else if (zoom >= item.zoom) {
            const tip = gridmap.labelTip(set, item);
            tip.addTo(map); rect = box(tip); map.removeLayer(tip);
        }
        items.push({text: item.text, rank: set.rank, minZoom: item.zoom,
                    shown, rect, inView: map.getBounds().pad(0.2).contains(item.latlng)});
    }));
    return items;
}"""


def overlap(a, b) -> bool:
    return (a["left"] < b["right"] and b["left"] < a["right"]
            and a["top"] < b["bottom"] and b["top"] < a["bottom"])


def test_labels_follow_the_zoom_and_the_view_and_never_overlap(opened, overview_file):
    page, log = opened(overview_file)
    collisions = most = 0
    for zoom in (15, 10, 11, 12, 13, 17):
        items = page.evaluate(LABEL_STATE, zoom)
        shown = [item for item in items if item["shown"]]
        hidden = [item for item in items if not item["shown"] and item["minZoom"] <= zoom and item["inView"]]
        assert all(item["minZoom"] <= zoom and item["inView"] for item in shown)
        assert not any(overlap(a["rect"], b["rect"]) for i, a in enumerate(shown) for b in shown[i + 1:])
        collisions += len(hidden)
        for item in hidden:  # hidden only because a label of the same or a finer level is in the way
            assert any(overlap(item["rect"], other["rect"]) and other["rank"] >= item["rank"]
                       for other in shown)
        assert shown_labels(page, len(shown)) == sorted(item["text"] for item in shown)
        most = max(most, len(shown))
    assert most >= 4 and collisions > 0  # the street labels sit on community labels in this city
    assert_clean(log)


def test_layer_control_switches_a_layer_and_its_labels_off(opened, overview_file):
    page, log = opened(overview_file)
    page.hover(".leaflet-control-layers")
    page.locator(".leaflet-control-layers label", has_text="社区/村界").locator("input").click()
    assert page.evaluate(f"{MAP}.hasLayer(gridmap.layers.community)") is False
    assert drawn_count(page) == N_DRAWN - 4
    assert shown_labels(page, 2) == ["朝阳街道", "民生街道"]
    assert_clean(log)


def test_svg_renderer_draws_one_path_per_feature(opened, tmp_path):
    layers = small_city()
    fmap = base_map(prefer_canvas=False)
    boundary_layer(layers["communities"], level="community").add_to(fmap)
    unit_layer(layers["units"]).add_to(fmap)
    fmap.fit_bounds(fmap.get_bounds())
    page, log = opened(save_html(fmap, tmp_path / "svg.html"))
    assert page.locator("path.leaflet-interactive").count() == 4 + len(UNITS)
    assert_clean(log)


def test_page_decodes_every_geometry_type(opened, tmp_path):
    shapes = [Point(108.3, 22.8), MultiPoint([(108.3, 22.8), (108.31, 22.81)]),
              LineString([(108.3, 22.8), (108.3000004, 22.8000006), (108.31, 22.79)]),
              Polygon([(108.3, 22.8), (108.32, 22.8), (108.32, 22.82), (108.3, 22.8)],
                      [[(108.315, 22.801), (108.319, 22.801), (108.319, 22.805), (108.315, 22.801)]]),
              MultiPolygon([box(108.3, 22.8, 108.31, 22.81), box(108.32, 22.8, 108.33, 22.81)])]
    grids = gpd.GeoDataFrame({"code": [f"G{i}" for i in range(len(shapes))]}, geometry=shapes,
                             crs="EPSG:4326")
    page, log = opened(save_html(overview_map(grids=grids), tmp_path / "shapes.html"))
    drawn = page.evaluate("gridmap.layers.grid.gridmapGeo.getLayers().map(l => l.toGeoJSON(7).geometry)")
    for got, want in zip(drawn, shapes, strict=True):
        assert shape(got).equals_exact(want, tolerance=1e-6)
    assert_clean(log)


def test_folium_marker_and_popup_work_offline(opened, tmp_path):
    fmap = base_map()
    folium.Marker([22.8, 108.3], popup="你好").add_to(fmap)
    page, log = opened(save_html(fmap, tmp_path / "marker.html"))
    icon = page.locator(".leaflet-marker-icon")
    assert icon.get_attribute("src").startswith("data:image/png;base64,")
    assert page.evaluate("document.querySelector('.leaflet-marker-icon').naturalWidth") == 25
    icon.click()
    page.wait_for_selector(".leaflet-popup-content")
    assert page.locator(".leaflet-popup-content").inner_text().strip() == "你好"
    assert_clean(log)


def test_only_an_online_base_map_makes_requests_and_only_for_tiles(opened, tmp_path):
    page, log = opened(save_html(overview_map(**small_city(), basemap="osm"), tmp_path / "osm.html"))
    page.wait_for_timeout(200)
    assert log.requests
    assert all(url.startswith("https://tile.openstreetmap.org/") for url in log.requests)
    assert log.page_errors == [] and log.dialogs == []


def test_the_whole_sample_city_offline(opened, tmp_path):
    from cases_fixtures import sample_city

    city = sample_city()
    layers = {name: getattr(city, name) for name in ("districts", "streets", "communities", "units")}
    page, log = opened(save_html(overview_map(**layers, title="示例市"), tmp_path / "sample.html"))
    assert drawn_count(page) == sum(len(frame) for frame in layers.values())
    assert page.locator(".gridmap-label").count() > 0
    assert page.locator(".gridmap-legend-item").count() == 3 + city.units["kind"].nunique()
    page.screenshot(path=str(tmp_path / "sample_1920.png"))
    assert_clean(log)
