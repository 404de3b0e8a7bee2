"""An overlay in chromium, network blocked: ticked in the menu its legend shows; a click opens its popup."""

import pandas as pd
import pytest
from browser import assert_clean, click_at, open_offline, popup
from maps_fixtures import small_grids

from gridmap.maps import one_screen, overlay, save_html
from gridmap.people import party_coverage

pytestmark = pytest.mark.browser

UNCOVERED = "450102002001001"  # box 108.32–108.34 E × 22.80–22.82 N
ROWS = ("[...document.querySelectorAll('.gridmap-legend [data-layer]')]"
        ".filter(e => e.style.display !== 'none').map(e => e.textContent)")
PARTY = "网格党支部覆盖"


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    grids = small_grids()
    covered = [code for code in grids["code"] if code != UNCOVERED]
    branches = pd.DataFrame({"类型": ["网格党支部"] * 4, "网格编码": covered})
    patrols = pd.DataFrame({"code": grids["code"], "patrol_coverage": [0.9, 0.5, 0.2, 1.0, 0.4]})
    fmap = one_screen(grids, overlays=[overlay(party_coverage(grids, branches), kind="party"),
                                       overlay(patrols, kind="patrols")])
    return save_html(fmap, tmp_path_factory.mktemp("overlays") / "overlays.html")


def test_ticking_an_overlay_shows_its_legend_and_its_popups(browser, page_file):
    page, log = open_offline(browser, page_file, width=1280, height=800)
    try:
        assert page.evaluate(ROWS) == []  # off when the page opens: no legend entry
        page.hover(".leaflet-control-layers")
        page.locator(".leaflet-control-layers-overlays label", has_text=PARTY).locator("input").click()
        assert page.evaluate(ROWS) == [PARTY, "已建网格党支部", "未建网格党支部"]
        page.mouse.move(5, 400)  # close the layer menu
        click_at(page, 22.81, 108.33)
        shown = popup(page)
        assert shown["title"] == UNCOVERED
        assert shown["rows"]["情况"] == "网格党支部：未建" and shown["rows"]["网格党支部"] == "0"
        assert "script" not in shown["elements"]
        fill = page.evaluate("Object.values(gridmap.layers).filter(l => l.spec && l.spec.key === "
                             "'overlay_party_0')[0].getLayers().find(p => p.gridmapIndex === "
                             f"gridmap.grid.indexOf('{UNCOVERED}')).options.fillColor")
        assert fill == "#d73027"
        page.hover(".leaflet-control-layers")
        page.locator(".leaflet-control-layers-overlays label", has_text=PARTY).locator("input").click()
        assert page.evaluate(ROWS) == []  # off again: its entries leave the legend
        assert_clean(log)
    finally:
        page.close()
