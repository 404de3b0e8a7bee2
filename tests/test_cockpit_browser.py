"""The cockpit in chromium with the network blocked: one 1920×1080 screen; rows zoom the map to their grid."""

import pytest
from browser import assert_clean, open_offline, popup, screenshot
from maps_fixtures import sample_city

from gridmap.maps import save_cockpit

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def cockpit_file(tmp_path_factory):
    sample, grids = sample_city()
    return save_cockpit(grids, tmp_path_factory.mktemp("cockpit") / "cockpit.html", cases=sample.cases,
                        staff=sample.staff, communities=sample.communities, streets=sample.streets,
                        districts=sample.districts, units=sample.units, period="2025-06",
                        title="示例市 网格化服务管理驾驶舱")


@pytest.fixture
def opened(browser, cockpit_file):
    page, log = open_offline(browser, cockpit_file, width=1920, height=1080)
    yield page, log
    page.close()


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


@pytest.mark.slow
def test_everything_fits_one_wall_screen(opened, tmp_path):
    page, log = opened
    assert page.evaluate("document.documentElement.scrollWidth") <= 1920
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080
    for selector in (".cockpit-head h1", ".cockpit-cards", ".cockpit-chart svg", ".cockpit-top table",
                     ".folium-map"):
        area = box(page, selector)
        assert area["x"] >= 0 and area["y"] >= 0
        assert area["x"] + area["width"] <= 1920 and area["y"] + area["height"] <= 1080, selector
    map_box = box(page, ".folium-map")
    assert map_box["width"] >= 900 and map_box["height"] >= 900
    assert page.evaluate("gridmap.maps[0].getSize().x") == round(map_box["width"])
    assert page.locator(".cockpit-chart svg rect[x]").count() == 12
    assert page.locator(".cockpit-top tbody tr").count() == 15
    assert page.locator(".gridmap-legend-measure").inner_text() == "案件密度 (件/km²)"
    screenshot(page, tmp_path, "cockpit_1920.png")
    assert_clean(log)


def test_clicking_a_row_zooms_the_map_to_its_grid(opened, tmp_path):
    page, log = opened
    grids = sample_city()[1].to_crs("EPSG:4326")
    row = page.locator(".cockpit-top tbody tr").nth(2)
    code = row.locator("td").nth(1).inner_text()
    before = page.evaluate("gridmap.maps[0].getZoom()")
    row.click()
    shown = popup(page)
    assert shown["title"] == code
    grid = grids.loc[grids["code"] == code].geometry.iloc[0]
    minx, miny, maxx, maxy = grid.bounds
    assert page.evaluate(f"gridmap.maps[0].getBounds().contains([[{miny}, {minx}], [{maxy}, {maxx}]])")
    assert page.evaluate("gridmap.maps[0].getZoom()") > before + 2
    assert "active" in row.get_attribute("class")
    screenshot(page, tmp_path, "cockpit_row_click.png")
    assert_clean(log)
