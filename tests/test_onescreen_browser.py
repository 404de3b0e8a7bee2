"""The one-screen map in chromium, network blocked: it draws, clicks, searches, switches and stays safe."""

import numpy as np
import pytest
import shapely
from browser import assert_clean, click_at, close_popup, open_offline, popup, screenshot
from maps_fixtures import XSS_NAME, sample_city, small_city, small_grids

from gridmap.maps import one_screen, save_html
from gridmap.maps._topology import topology_polygons
from gridmap.maps.choropleth import GridLayer

pytestmark = pytest.mark.browser

PERIOD = "2025-06"
COMMUNITY = "990102001003"
#: Grid polygons the canvas renderer draws.
DRAWN = "gridmap.grid.polygons.filter(p => p && p._renderer && p._renderer._layers[L.stamp(p)]).length"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The maps under test, written once: the whole city, one community, the tiny city, a public map."""
    sample, grids = sample_city()
    folder = tmp_path_factory.mktemp("onescreen")
    admin = {"communities": sample.communities, "streets": sample.streets, "districts": sample.districts}
    whole = one_screen(grids, **admin, units=sample.units, cases=sample.cases, staff=sample.staff,
                       period=PERIOD, show_staff=True, title="示例市 网格一屏")
    layers = small_city()
    files = {
        "whole": save_html(whole, folder / "whole.html"),
        "phone": save_html(one_screen(grids, **admin, units=sample.units, cases=sample.cases,
                                      focus=COMMUNITY), folder / "phone.html"),
        "xss": save_html(one_screen(small_grids(), communities=layers["communities"], units=layers["units"]),
                         folder / "xss.html"),
        "public": save_html(one_screen(grids, cases=sample.cases, period=PERIOD, public=True,
                                       measure="cases_per_km2"), folder / "public.html"),
    }
    grid = next(child for child in whole._children.values() if isinstance(child, GridLayer))
    return files, grid


@pytest.fixture
def opened(browser):
    opened_pages = []

    def open_(path, width=1920, height=1080):
        page, log = open_offline(browser, path, width=width, height=height)
        opened_pages.append(page)
        return page, log

    yield open_
    for page in opened_pages:
        page.close()


def inside(grid_row) -> tuple[float, float]:
    """A point well inside a grid (lat, lon) in WGS84."""
    point = grid_row.geometry.representative_point() if hasattr(grid_row, "geometry") else grid_row
    return point.y, point.x


def zoom_to(page, position: int) -> None:
    page.evaluate(f"void gridmap.maps[0].fitBounds(gridmap.grid.polygons[{position}].getBounds(), "
                  "{animate: false})")


def grids_wgs84():
    return sample_city()[1].to_crs("EPSG:4326")


@pytest.mark.slow
def test_whole_city_on_a_wall_screen(opened, pages, tmp_path):
    files, _ = pages
    grids = grids_wgs84()
    page, log = opened(files["whole"])
    assert page.evaluate(DRAWN) == len(grids)
    legend = page.locator(".gridmap-legend")
    assert legend.is_visible() and page.evaluate("document.querySelector('.gridmap-legend').open")
    assert page.locator(".gridmap-legend-measure").inner_text() == "人口密度 (人/km²)"
    assert page.locator(".gridmap-legend-classes .gridmap-legend-item").count() == 5
    assert page.locator(".gridmap-title").inner_text() == "示例市 网格一屏"
    assert page.locator(".leaflet-control-scale").is_visible()
    position = 40
    zoom_to(page, position)
    click_at(page, *inside(grids.iloc[position]))
    shown = popup(page)
    assert shown["title"] == grids["code"].iloc[position]
    assert shown["rows"]["户数"] == f"{grids['households'].iloc[position]:,}"
    assert shown["rows"]["网格长"]
    screenshot(page, tmp_path, "onescreen_1920.png")
    assert_clean(log)


def test_measures_switch_in_the_layer_control(opened, pages):
    files, grid = pages
    page, log = opened(files["whole"])
    page.hover(".leaflet-control-layers")
    page.locator(".leaflet-control-layers-base label", has_text="每千人案件数").locator("input").click()
    assert page.locator(".gridmap-legend-measure").inner_text() == "每千人案件数 (件/千人)"
    measure = next(m for m in grid.measures if m["key"] == "cases_per_1000")
    colors = page.evaluate("gridmap.grid.polygons.map(p => p.options.fillColor)")
    expected = [measure["colors"][int(c)] if c.isdigit() else "#ffffff" for c in measure["classes"]]
    assert colors == expected
    page.locator(".leaflet-control-layers-base label", has_text="仅边界").locator("input").click()
    assert page.evaluate("gridmap.grid.polygons.every(p => p.options.fillOpacity === 0.04)")
    assert page.locator(".gridmap-legend-measure").count() == 0
    assert_clean(log)


def test_search_finds_a_compound_a_grid_code_and_a_community(opened, pages):
    files, _ = pages
    sample, _ = sample_city()
    grids = grids_wgs84()
    position = 60
    unit = grids["unit_ids"].iloc[position].split(";")[0]
    name = sample.units.set_index("unit_id").loc[unit, "name"]
    assert (sample.units["name"] == name).sum() == 1
    page, log = opened(files["whole"])
    page.fill(".gridmap-search input", name)
    assert name in page.locator(".gridmap-search li").first.inner_text()
    page.keyboard.press("Enter")
    assert popup(page)["title"] == grids["code"].iloc[position]
    center = grids.geometry.iloc[position].representative_point()
    assert page.evaluate(f"gridmap.maps[0].getBounds().contains([{center.y}, {center.x}])")
    close_popup(page)
    code = grids["code"].iloc[7]
    page.fill(".gridmap-search input", code)
    page.keyboard.press("Enter")
    assert popup(page)["title"] == code
    close_popup(page)
    page.fill(".gridmap-search input", "翠竹社区")
    page.locator(".gridmap-search li", has_text="翠竹社区").first.click()
    assert popup(page)["title"] == "翠竹社区"
    assert_clean(log)


def test_page_draws_the_python_topology(opened, pages):
    files, grid = pages
    page, log = opened(files["whole"])
    drawn = page.evaluate("gridmap.grid.polygons.slice(0, 40).map(p => p.getLatLngs())")
    expected = topology_polygons(grid.topology)[:40]
    for rings, polygon in zip(drawn, expected, strict=True):
        parts = rings if isinstance(rings[0][0], list) else [rings]
        wanted = list(getattr(polygon, "geoms", [polygon]))
        assert len(parts) == len(wanted)
        for part, shape in zip(parts, wanted, strict=True):
            got = np.array([[p["lng"], p["lat"]] for p in part[0]])
            ring = np.array(shape.exterior.coords)[:-1]
            assert got.shape == ring.shape and np.abs(got - ring).max() < 1e-9
    assert_clean(log)


def test_heat_map_switches_on_offline(opened, pages):
    files, _ = pages
    page, log = opened(files["whole"])
    page.hover(".leaflet-control-layers")
    page.locator(".leaflet-control-layers-overlays label", has_text="案件热力").locator("input").click()
    page.wait_for_selector("canvas.leaflet-heatmap-layer")
    assert_clean(log)


def test_phone_map_of_one_community(opened, pages, tmp_path):
    files, _ = pages
    grids = grids_wgs84()
    mine = grids[grids["community_code"] == COMMUNITY]
    page, log = opened(files["phone"], width=390, height=844)
    assert page.evaluate("gridmap.maps[0].getSize().x") == 390
    assert page.evaluate(DRAWN) == len(mine)
    assert page.evaluate("document.querySelector('.gridmap-legend').open") is False
    search = page.locator(".gridmap-search input").bounding_box()
    assert search["x"] >= 0 and search["x"] + search["width"] <= 390
    assert page.locator(".gridmap-fullscreen a").is_visible()
    bounds = mine.total_bounds
    assert page.evaluate(f"gridmap.maps[0].getBounds().contains([[{bounds[1]}, {bounds[0]}], "
                         f"[{bounds[3]}, {bounds[2]}]])")
    units = sample_city()[0].units.to_crs("EPSG:4326").geometry.to_numpy()
    units = shapely.union_all(shapely.buffer(units, 0.0002))  # compounds are drawn over the grids
    click_at(page, *inside(mine.geometry.iloc[0].difference(units).representative_point()))
    shown = popup(page)
    assert shown["title"] == mine["code"].iloc[0] and shown["width"] <= 390
    screenshot(page, tmp_path, "onescreen_390.png")
    assert_clean(log)


def test_fullscreen_button_fills_the_screen_with_the_map(opened, pages):
    files, _ = pages
    page, log = opened(files["phone"], width=390, height=844)
    page.click(".gridmap-fullscreen a")
    page.wait_for_function("document.fullscreenElement !== null", timeout=3000)
    assert page.evaluate("document.fullscreenElement === gridmap.maps[0].getContainer()")
    page.click(".gridmap-fullscreen a")
    page.wait_for_function("document.fullscreenElement === null", timeout=3000)
    assert_clean(log)


def test_names_that_look_like_html_stay_text(opened, pages):
    files, _ = pages
    grids = small_grids()
    position = grids.index[grids["unit_ids"] == "U2"][0]
    page, log = opened(files["xss"])
    page.fill(".gridmap-search input", "<img")
    assert page.locator(".gridmap-search li").first.inner_text().startswith(XSS_NAME)
    page.keyboard.press("Enter")
    shown = popup(page)
    assert shown["title"] == grids["code"].iloc[position]
    assert shown["rows"]["小区/自然村/场所"] == XSS_NAME
    assert "img" not in shown["elements"]
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert_clean(log)


def test_public_map_has_no_heat_map_and_hides_small_counts(opened, pages):
    files, _ = pages
    grids = grids_wgs84()
    page, log = opened(files["public"])
    overlays = page.evaluate("[...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
                             ".map(l => l.textContent.trim())")
    assert "案件热力" not in overlays and overlays
    rows = page.evaluate("gridmap.grid.spec.fields.find(f => f.label.startsWith('案件数')).values")
    position = rows.index("少于5件")
    zoom_to(page, position)
    click_at(page, *inside(grids.iloc[position]))
    shown = popup(page)
    assert shown["rows"]["案件数 (2025-06)"] == "少于5件" and "每千人案件数" not in shown["rows"]
    assert_clean(log)
