"""A generated province (scripts/make_province.py) mapped by ``gridmap map``, in chromium, network blocked.

The province is small enough for CI (6,000 grids in 6 districts, 36 streets, 432 communities) but large
enough for the map to draw levels of detail: districts at the whole-area view, streets and communities as
the view zooms in, and grids only near the view once a few communities fill it.
"""

import html
import importlib.util
import re
import time
from pathlib import Path

import geopandas as gpd
import pytest
from browser import assert_clean, click_at, close_popup, open_offline, popup
from click.testing import CliRunner

from gridmap.cli import main as gridmap_main
from gridmap.maps import overview_map

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
GRIDS = 6000
#: A tag that would load something from the internet (a script, style sheet, image or frame).
LOADS = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""",
                   re.IGNORECASE)
#: What the page has drawn: the mode and polygon count of each level, the grids on the map.
STATE = """() => {
    const c = gridmap.levelControl, m = gridmap.maps[0];
    const drawn = layer => m.hasLayer(layer) ? layer.polygons.filter(p => p && layer.hasLayer(p)).length : 0;
    return {zoom: m.getZoom(), level: c.level, gridStart: c.gridStart, starts: c.starts,
            levels: Object.fromEntries(c.layers.map(l => [l.spec.key, [l.mode, drawn(l)]])),
            grids: gridmap.grid.polygons.filter(p => p && gridmap.grid.hasLayer(p)).length};
}"""


def _script():
    spec = importlib.util.spec_from_file_location("make_province", ROOT / "scripts" / "make_province.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """The province's GeoPackage (grids, named admin layers, cases) and its page made by ``gridmap map``."""
    folder = tmp_path_factory.mktemp("province")
    gpkg = folder / "province.gpkg"
    assert _script().main(["--grids", str(GRIDS), "--cases", "3000", "--admin", "--out", str(gpkg)]) == 0
    out = folder / "province.html"
    result = CliRunner().invoke(gridmap_main, ["map", str(gpkg), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    layers = {name: gpd.read_file(gpkg, layer=name)
              for name in ("grids", "districts", "streets", "communities")}
    return folder / "province.html", layers


@pytest.fixture
def opened(browser, province):
    page, log = open_offline(browser, province[0], width=1920, height=1080)
    yield page, log
    page.close()


def state(page) -> dict:
    return page.evaluate(STATE)


def fit(page, bounds) -> None:
    """Fit the map to (minx, miny, maxx, maxy) at once, as after a search."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    page.evaluate(f"void gridmap.maps[0].fitBounds([[{miny}, {minx}], [{maxy}, {maxx}]], {{animate: false}})")


def test_page_is_small_loads_fast_and_requests_nothing(province, opened):
    path, layers = province
    page, log = opened
    size = path.stat().st_size
    assert size < 1_500_000, f"{size:,} bytes for {GRIDS} grids"
    load_ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    assert load_ms < 3000, f"load event after {load_ms:.0f} ms"
    assert_clean(log)


def test_whole_area_shows_districts_only_and_their_popup(province, opened):
    _, layers = province
    page, log = opened
    now = state(page)
    assert now["level"] == "district"
    assert now["levels"] == {"district": ["fill", len(layers["districts"])], "street": ["off", 0],
                             "community": ["off", 0]}
    assert now["grids"] == 0, "no grid is drawn at the whole-area view"
    # a click at the province view opens the district under it, with its totals
    district = layers["districts"].iloc[0]
    point = district.geometry.representative_point()
    click_at(page, point.y, point.x)
    shown = popup(page)
    assert shown["title"] == district["name"]
    grids = layers["grids"]
    mine = grids[grids["code"].str.startswith(district["code"])]
    assert shown["rows"]["编码"] == district["code"]
    assert shown["rows"]["网格数"] == f"{len(mine):,}"
    assert shown["rows"]["人口"] == f"{int(mine['population'].sum()):,}"
    assert shown["rows"]["户数"] == f"{int(mine['households'].sum()):,}"
    assert_clean(log)


def test_zooming_in_shows_streets_then_communities_then_nearby_grids(province, opened):
    _, layers = province
    page, log = opened
    start = state(page)
    street = layers["streets"].iloc[3]
    point = street.geometry.representative_point()
    page.evaluate(f"void gridmap.maps[0].setView([{point.y}, {point.x}], {start['starts'][1] + 0.25}, "
                  "{animate: false})")
    now = state(page)
    assert now["level"] == "street" and now["levels"]["district"][0] == "line" and now["grids"] == 0
    click_at(page, point.y, point.x)
    assert popup(page)["title"] == street["name"]
    close_popup(page)
    page.evaluate(f"void gridmap.maps[0].setZoom({start['starts'][2] + 0.25}, {{animate: false}})")
    now = state(page)
    assert now["level"] == "community" and now["grids"] == 0
    community = layers["communities"].iloc[40]
    fit(page, community.geometry.bounds)
    now = state(page)
    grids = layers["grids"]
    mine = grids[grids["code"].str.startswith(community["code"])]
    assert now["level"] == "grid"
    assert len(mine) <= now["grids"] < GRIDS // 5, "the community's grids and their neighbours', not all"
    # a grid's popup, as on a city map
    grid = mine.iloc[0]
    inside = grid.geometry.representative_point()
    click_at(page, inside.y, inside.x)
    shown = popup(page)
    assert shown["title"] == grid["code"]
    assert shown["rows"]["社区/村"] == community["name"]
    assert shown["rows"]["人口"] == f"{grid['population']:,}"
    assert_clean(log)


def test_zoom_settles_quickly(opened):
    page, log = opened
    idle_ms = page.evaluate("""() => new Promise(resolve => {
        const m = gridmap.maps[0], c = gridmap.levelControl, times = [];
        const zooms = [c.starts[1] + 0.25, c.starts[2] + 0.25, c.gridStart + 0.5, c.gridStart + 1.5];
        let i = 0;
        function next() {
            if (i === zooms.length) { resolve(times); return; }
            const t = performance.now();
            m.setZoom(zooms[i++], {animate: false});
            requestAnimationFrame(() => requestAnimationFrame(() => {
                times.push(performance.now() - t);
                next();
            }));
        }
        next();
    })""")
    print("time to idle after each zoom step (ms):", [round(t) for t in idle_ms])
    # about 0.1-0.3 s a step on a free 2-core machine; the bound leaves room for a busy CI runner
    assert max(idle_ms) < 2500, f"time to idle after each zoom step: {idle_ms}"
    assert_clean(log)


def test_search_flies_to_a_community_a_street_and_a_grid(province, opened):
    _, layers = province
    page, log = opened
    box = page.locator(".gridmap-search input")
    community = layers["communities"].iloc[100]
    box.fill(community["name"])
    page.keyboard.press("Enter")
    shown = popup(page)
    assert shown["title"] == community["name"]
    now = state(page)
    assert now["level"] == "grid" and now["grids"] > 0
    close_popup(page)
    street = layers["streets"].iloc[5]
    box.fill(street["name"])
    page.keyboard.press("Enter")
    assert popup(page)["title"] == street["name"]
    close_popup(page)
    code = layers["grids"]["code"].iloc[4321]
    box.fill(code)
    page.keyboard.press("Enter")
    assert popup(page)["title"] == code
    assert state(page)["grids"] > 0
    assert_clean(log)


def test_notebook_view_works_offline(province, browser, tmp_path):
    """What a notebook shows (_repr_html_) is the self-contained page: it renders with the network blocked."""
    _, layers = province
    shown = overview_map(communities=layers["communities"].iloc[:20])._repr_html_()
    assert "srcdoc=" in shown
    inner = html.unescape(shown)
    assert not LOADS.findall(shown) and not LOADS.findall(inner), "no script, style or image from outside"
    assert "Leaflet 1.9" in inner
    path = tmp_path / "notebook.html"
    path.write_text(f"<!DOCTYPE html><html><body>{shown}</body></html>", encoding="utf-8")
    page, log = open_offline(browser, path, width=1000, height=700)
    try:
        frame = page.frames[1]
        frame.wait_for_function("window.gridmap && gridmap.maps.length === 1")
        assert frame.evaluate("gridmap.layers.community.gridmapGeo.getLayers().length") == 20
        assert_clean(log)
    finally:
        page.close()


def test_one_screen_of_many_grids_shows_inline_offline(province):
    """The one-screen map's notebook view inlines its assets too (no CDN link)."""
    from gridmap.maps import one_screen

    _, layers = province
    fmap = one_screen(layers["grids"].iloc[:300])
    started = time.perf_counter()
    shown = fmap._repr_html_()
    assert time.perf_counter() - started < 30
    assert not LOADS.findall(html.unescape(shown))
    assert html.unescape(shown).count("Leaflet 1.9") == 1
