"""Your own tiles in chromium: a folder and an MBTiles file carried by the page, a URL template served from
127.0.0.1; tiles are drawn, nothing else is requested, and a known point lands on its tile pixel on GCJ-02
and on WGS84 tiles.

The tiles (tests/tiles_fixtures.py) are plain, with a red 5×5 square centred on the pixel of the hospital of
the tiny city, 108.315 E 22.835 N: at its WGS84 position in the WGS84 store, at its GCJ-02 position
(wgs84_to_gcj02, ~0.005° east) in the GCJ-02 stores. The map draws the hospital as a marker; at zoom 16 the
red square must sit under the marker (within 2 px), and on GCJ-02 tiles far (> 100 px) from where the
unshifted point would be.
"""

import functools
import http.server
import io
import threading

import numpy as np
import pytest
from browser import assert_clean, open_offline
from maps_fixtures import small_city, small_grids
from PIL import Image
from tiles_fixtures import MARK, PAPER, city_tiles, write_folder, write_mbtiles

from gridmap.crs import wgs84_to_gcj02
from gridmap.maps import one_screen, save_html, tile_source

pytestmark = pytest.mark.browser

CITY = (108.30, 22.80, 108.34, 22.84)
HOSPITAL = (108.315, 22.835)  # unit U3 of the tiny city, a dedicated site drawn as a marker
ZOOM = 16
ZOOMS = range(12, 17)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A folder of GCJ-02 tiles served over http on 127.0.0.1, as an intranet tile server would."""
    gcj = tuple(float(v) for v in wgs84_to_gcj02(*HOSPITAL))
    folder = write_folder(tmp_path_factory.mktemp("served"), city_tiles(CITY, ZOOMS, mark=gcj, margin=2))
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def pages(tmp_path_factory, server):
    root = tmp_path_factory.mktemp("tiles 底图")
    gcj = tuple(float(v) for v in wgs84_to_gcj02(*HOSPITAL))
    gcj_tiles = city_tiles(CITY, ZOOMS, mark=gcj, margin=2)
    wgs_tiles = city_tiles(CITY, ZOOMS, mark=HOSPITAL, margin=2)
    sources = {
        "folder_gcj02": tile_source(write_folder(root / "xyz", gcj_tiles), crs="gcj02"),
        "mbtiles_wgs84": tile_source(write_mbtiles(root / "城市.mbtiles", wgs_tiles), crs="wgs84"),
        "mbtiles_gcj02": tile_source(write_mbtiles(root / "gcj.mbtiles", gcj_tiles), crs="gcj02"),
        "url_gcj02": tile_source(f"{server}/{{z}}/{{x}}/{{y}}.png", crs="gcj02"),
    }
    city, grids = small_city(), small_grids()
    return {name: save_html(one_screen(grids, **city, tiles=source), root / f"{name}.html")
            for name, source in sources.items()}


@pytest.fixture
def opened(browser):
    opened_pages = []

    def open_(path, *, allow: str | None = None):
        page, log = open_offline(browser, path, width=800, height=600, allow=allow)
        opened_pages.append(page)
        return page, log

    yield open_
    for page in opened_pages:
        page.close()


def show_hospital(page, crs: str) -> dict:
    """Centre the map on the hospital's marker at ZOOM, wait for the tiles, hide everything but the tiles.

    The marker is the one nearest to where the hospital should be drawn on ``crs`` tiles. Returns its
    position as drawn (lat, lon), its point on the screen, and the screen point of the hospital's own WGS84
    coordinates.
    """
    lon, lat = wgs84_to_gcj02(*HOSPITAL) if crs == "gcj02" else HOSPITAL
    found = page.evaluate("""([zoom, lon, lat, wlon, wlat]) => {
        const map = gridmap.maps[0];
        let marker = null, best = Infinity;
        map.eachLayer(l => {
          if (!(l instanceof L.CircleMarker)) { return; }
          const d = Math.hypot(l.getLatLng().lat - lat, l.getLatLng().lng - lon);
          if (d < best) { best = d; marker = l; }
        });
        map.setView(marker.getLatLng(), zoom, {animate: false});
        const box = map.getContainer().getBoundingClientRect();
        const at = p => { const c = map.latLngToContainerPoint(p); return [box.left + c.x, box.top + c.y]; };
        return {drawn: [marker.getLatLng().lat, marker.getLatLng().lng], screen: at(marker.getLatLng()),
                wgs84: at([wlat, wlon])};
    }""", [ZOOM, float(lon), float(lat), *HOSPITAL])
    page.wait_for_function("""() => {
        const tiles = [...document.querySelectorAll(".leaflet-tile-pane img")];
        return tiles.length > 0 && tiles.every(t => t.classList.contains("leaflet-tile-loaded"));
    }""", timeout=15000)
    page.add_style_tag(content=".leaflet-pane:not(.leaflet-tile-pane):not(.leaflet-map-pane), "
                               ".leaflet-control-container, .gridmap-title "
                               "{ visibility: hidden !important; } "
                               # loaded tiles fade in over 0.2 s: a loaded machine may take the shot mid-fade
                               ".leaflet-tile { opacity: 1 !important; transition: none !important; }")
    return found


def red_centre(page) -> tuple[float, float]:
    """The centre of the red square on the screen (CSS pixels), and the colour far from it."""
    image = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)
    red = (np.abs(image - np.array(MARK)).sum(axis=2) < 60)
    ys, xs = np.nonzero(red)
    assert 15 <= len(xs) <= 40, f"{len(xs)} red pixels: the square is missing or smeared"
    return float(xs.mean()) + 0.5, float(ys.mean()) + 0.5


def tile_sources(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll(".leaflet-tile-pane img.leaflet-tile-loaded")]
                                    .map(t => t.src)""")


@pytest.mark.parametrize("name, crs", [("folder_gcj02", "gcj02"), ("mbtiles_wgs84", "wgs84"),
                                       ("mbtiles_gcj02", "gcj02")])
def test_carried_tiles_are_drawn_with_no_request_and_the_point_on_its_pixel(opened, pages, name, crs):
    page, log = opened(pages[name])
    found = show_hospital(page, crs)
    sources = tile_sources(page)
    assert sum(src.startswith("data:image/png;base64,") for src in sources) >= 6
    _check_alignment(page, found, crs)
    assert_clean(log)


def test_url_template_tiles_come_from_the_local_server_only(opened, pages, server):
    page, log = opened(pages["url_gcj02"], allow=server)
    found = show_hospital(page, "gcj02")
    sources = tile_sources(page)
    assert len(sources) >= 6 and all(src.startswith(f"{server}/16/") for src in sources)
    assert log.allowed and all(url.startswith(f"{server}/") for url in log.allowed)
    _check_alignment(page, found, "gcj02")
    assert log.requests == [] and log.console_errors == [] and log.page_errors == []


def _check_alignment(page, found: dict, crs: str) -> None:
    expected = wgs84_to_gcj02(*HOSPITAL) if crs == "gcj02" else HOSPITAL
    assert np.allclose(found["drawn"], [expected[1], expected[0]], atol=1e-6)
    x, y = red_centre(page)
    assert np.hypot(x - found["screen"][0], y - found["screen"][1]) < 2
    unshifted = np.hypot(x - found["wgs84"][0], y - found["wgs84"][1])
    assert unshifted > 100 if crs == "gcj02" else unshifted < 2
    image = np.asarray(Image.open(io.BytesIO(page.screenshot(clip={"x": 5, "y": 300, "width": 4,
                                                                    "height": 4}))).convert("RGB"))
    assert (image.reshape(-1, 3) == PAPER).all()  # the tiles, not the plain background, fill the map
