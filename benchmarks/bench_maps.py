"""Benchmark the one-screen map against a plain ``folium.GeoJson`` of the same grids: size, load time, memory.

Run: ``python benchmarks/bench_maps.py [--grids 9000] [--vertices 35] [--runs 3] [--out bench_maps]``

The city is synthetic: a Voronoi tessellation of ``--grids`` cells (about 300 m across, near Nanning) whose
edges are densified to about ``--vertices`` vertices a grid and bent by a smooth displacement, so boundaries
wiggle like digitised ones and neighbours share them (within floating-point noise, as real data does).
Each grid has the columns ``gridmap.build_grids`` writes (code, type, community_code, households,
population, buildings) and a case count, so the map offers all four choropleths.

* plain: ``folium.Map()`` + ``folium.GeoJson(grids)``, saved by folium. It links Leaflet, jQuery and
  Bootstrap from CDNs; for the offline comparison Playwright serves Leaflet from the installed
  ``django-js-lib-leaflet`` files and an empty stylesheet/script for the rest (nothing on the plain page
  needs them).
* gridmap: ``gridmap.maps.one_screen(grids)`` saved with ``save_html`` (self-contained).

Load time is measured in headless Chromium (Debian's) from navigation start to the second animation frame
after the ``load`` event (every layer drawn), median of ``--runs`` fresh pages; browser memory is the
JavaScript heap then (Chrome DevTools Protocol ``Performance.getMetrics``); build memory is the peak of
Python-tracked allocations (tracemalloc) while making and writing the page.
"""

import argparse
import importlib.resources
import os
import statistics
import time
import tracemalloc
import warnings
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import shapely

from gridmap.maps import one_screen, save_html
from gridmap.maps._assets import JQUERY_SHIM

LEAFLET = importlib.resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"


def synthetic_grids(n: int, vertices: int, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` wiggly Voronoi grids near Nanning with about ``vertices`` vertices each."""
    rng = np.random.default_rng(seed)
    side = 0.003 * np.sqrt(n)
    x0, y0 = 108.2, 22.7
    frame = shapely.box(x0, y0, x0 + side, y0 + side)
    points = shapely.multipoints(np.c_[x0 + rng.random(n) * side, y0 + rng.random(n) * side])
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(points, extend_to=frame)), frame)
    cells = shapely.segmentize(cells, float(np.median(shapely.length(cells))) / vertices)

    def bend(xy):
        k = 2 * np.pi / 0.0007
        dx = 0.00004 * np.sin(k * xy[:, 1] + 1.3) * np.cos(0.7 * k * xy[:, 0])
        dy = 0.00004 * np.sin(1.1 * k * xy[:, 0] + 0.4) * np.cos(0.9 * k * xy[:, 1])
        return np.c_[xy[:, 0] + dx, xy[:, 1] + dy]

    cells = shapely.transform(cells, bend)
    community = [f"990102{1 + i // 4000:03d}{1 + i // 20 % 200:03d}" for i in range(n)]
    households = rng.integers(250, 520, n)
    grids = gpd.GeoDataFrame({
        "code": [f"{c}{1 + i % 20:03d}" for i, c in enumerate(community)],
        "type": rng.choice(["city", "rural", "dedicated"], n, p=[0.8, 0.15, 0.05]),
        "community_code": community, "households": households, "population": households * 3,
        "buildings": rng.integers(1, 30, n), "cases": rng.poisson(12, n),
    }, geometry=cells, crs="EPSG:4490")
    return grids


def write(kind: str, grids: gpd.GeoDataFrame, path: Path) -> None:
    """Write the plain or the gridmap page."""
    if kind == "plain":
        fmap = folium.Map()
        folium.GeoJson(grids).add_to(fmap)
        fmap.fit_bounds(fmap.get_bounds())
        fmap.save(str(path))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            save_html(one_screen(grids), path)


def build(kind: str, grids: gpd.GeoDataFrame, path: Path) -> tuple[float, float]:
    """Write the page twice: seconds untraced, then the peak of traced MiB."""
    start = time.perf_counter()
    write(kind, grids, path)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    write(kind, grids, path)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak


def serve_cdn(route) -> None:
    """Leaflet from the installed package; jQuery as gridmap's shim; other CDN files empty."""
    url = route.request.url
    if url.endswith("leaflet.js"):
        route.fulfill(body=(LEAFLET / "leaflet.js").read_text("utf-8"), content_type="text/javascript")
    elif url.endswith("leaflet.css"):
        route.fulfill(body=(LEAFLET / "leaflet.css").read_text("utf-8"), content_type="text/css")
    elif "jquery" in url:
        route.fulfill(body=JQUERY_SHIM, content_type="text/javascript")
    elif url.startswith(("file:", "data:")):
        route.continue_()
    else:
        route.fulfill(body="", content_type="text/css" if url.endswith(".css") else "text/javascript")


DRAWN = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"


def load(browser, path: Path) -> tuple[float, float, list]:
    """Milliseconds from navigation to every layer drawn, JS heap MiB then, and page errors."""
    errors = []
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    context.route("**/*", serve_cdn)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(path.resolve().as_uri(), wait_until="load", timeout=120_000)
    drawn = page.evaluate(DRAWN)
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    context.close()
    return drawn, metrics["JSHeapUsedSize"] / 2**20, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=9000)
    parser.add_argument("--vertices", type=int, default=35)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default="bench_maps", help="folder for the two pages")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    grids = synthetic_grids(args.grids, args.vertices)
    vertices = shapely.get_num_coordinates(grids.geometry.values).mean()
    print(f"{len(grids)} grids, {vertices:.1f} vertices a grid on average")
    from playwright.sync_api import sync_playwright

    kinds = ("plain", "gridmap")
    built = {}
    for kind in kinds:
        path = out / f"{kind}.html"
        built[kind] = (path, *build(kind, grids, path))
    loads = {kind: [] for kind in kinds}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu"])
        for _ in range(args.runs):  # interleaved, so that both see the same load of the machine
            for kind in kinds:
                loads[kind].append(load(browser, built[kind][0]))
        browser.close()
    results = {}
    for kind in kinds:
        path, seconds, peak = built[kind]
        size = os.path.getsize(path)
        ms = statistics.median(run[0] for run in loads[kind])
        heap = statistics.median(run[1] for run in loads[kind])
        errors = [error for run in loads[kind] for error in run[2]]
        results[kind] = size, ms
        print(f"{kind:8s} {size / 2**20:7.2f} MiB  build {seconds:5.1f} s, peak {peak:6.0f} MiB traced  "
              f"load {ms:6.0f} ms (median of {args.runs}: {', '.join(f'{r[0]:.0f}' for r in loads[kind])}), "
              f"JS heap {heap:5.0f} MiB" + (f"  ERRORS {errors[:2]}" if errors else ""))
    ratio = results["gridmap"][0] / results["plain"][0]
    speed = results["gridmap"][1] / results["plain"][1]
    print(f"size ratio gridmap/plain {ratio:.3f} ({'<' if ratio < 0.15 else '>='} 0.15); "
          f"load time ratio {speed:.2f} ({'no slower' if speed <= 1 else 'SLOWER'})")


if __name__ == "__main__":
    main()
