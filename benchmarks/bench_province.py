"""Benchmark ``gridmap map`` on a generated province against a plain ``folium.GeoJson`` of the same grids.

Run: ``python benchmarks/bench_province.py [--grids 100000] [--runs 3] [--out bench_province]``

The province comes from ``scripts/make_province.py`` (``--grids`` grids of about 30 vertices; 100,000 make
14 districts, 140 streets and 2,800 communities) with 20,000 cases. Each page is made in its own child
process, so that its wall time and peak resident memory (``wait4``'s ``ru_maxrss``) are its own; CPU time
(user + system) is given too, because wall time on a busy machine says little:

* gridmap: ``gridmap map province.gpkg --out gridmap.html`` (levels of detail, self-contained);
* plain: ``folium.Map()`` + ``folium.GeoJson(grids)`` + ``fit_bounds``, saved by folium (CDN links; for the
  load time Playwright serves Leaflet from the installed ``django-js-lib-leaflet``, see bench_maps.py).

In headless Chromium (Debian's), median of ``--runs`` fresh pages: the time to the ``load`` event and to
the second animation frame after it, the requests the gridmap page made (none expected), and on the gridmap
page the time to idle (two animation frames) after each zoom step from the whole area to the grids.
Prints one ``BENCH {json}`` line (see benchmarks/run.py).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_maps import DRAWN, serve_cdn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PLAIN = """
import sys, folium, geopandas as gpd
grids = gpd.read_file(sys.argv[1], layer="grids")
fmap = folium.Map()
folium.GeoJson(grids).add_to(fmap)
fmap.fit_bounds(fmap.get_bounds())
fmap.save(sys.argv[2])
"""
ZOOMS = """() => new Promise(resolve => {
    const m = gridmap.maps[0], c = gridmap.levelControl, times = [], z = m.getZoom();
    const zooms = c ? [c.starts[1] + 0.25, c.starts[2] + 0.25, c.gridStart + 0.25, c.gridStart + 1.25]
        : [z + 1, z + 2, z + 3];  // fewer grids than gridmap.maps.levels.LOD_MIN_GRIDS: no levels
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
})"""


def run(argv: list[str]) -> dict:
    """Run a child process; return its wall and CPU seconds and peak resident MiB."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {child.stderr.read().decode()[-2000:]}")
    return {"wall_s": round(seconds, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_mb": round(usage.ru_maxrss / 1024)}


def load(browser, path: Path, *, offline: bool) -> dict:
    """Milliseconds to the load event and to the page drawn; requests made; zoom idle times (gridmap)."""
    requests = []
    context = browser.new_context(viewport={"width": 1920, "height": 1080})

    def block(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            requests.append(route.request.url)
            route.abort()

    context.route("**/*", block if offline else serve_cdn)
    page = context.new_page()
    page.goto(path.resolve().as_uri(), wait_until="load", timeout=600_000)
    drawn = page.evaluate(DRAWN)
    loaded = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    zooms = page.evaluate(ZOOMS) if offline else []
    context.close()
    return {"load_ms": loaded, "drawn_ms": drawn, "requests": requests, "zoom_ms": zooms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default="bench_province", help="folder for the province and the pages")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(exist_ok=True)
    gpkg = out / "province.gpkg"
    run([sys.executable, "scripts/make_province.py", "--grids", str(args.grids), "--cases", "20000",
         "--out", str(gpkg)])
    pages = {"gridmap": out / "gridmap.html", "plain": out / "plain.html"}
    built = {"gridmap": run([sys.executable, "-m", "gridmap", "map", str(gpkg), "--out",
                             str(pages["gridmap"]), "-q"]),
             "plain": run([sys.executable, "-c", PLAIN, str(gpkg), str(pages["plain"])])}
    from playwright.sync_api import sync_playwright

    loads = {kind: [] for kind in pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu"])
        for _ in range(args.runs):  # interleaved, so that both see the same load of the machine
            for kind, path in pages.items():
                loads[kind].append(load(browser, path, offline=kind == "gridmap"))
        browser.close()
    result = {}
    for kind, path in pages.items():
        runs = loads[kind]
        result[kind] = {**built[kind], "page_mb": round(path.stat().st_size / 1e6, 2),
                        "load_ms": round(statistics.median(r["load_ms"] for r in runs)),
                        "drawn_ms": round(statistics.median(r["drawn_ms"] for r in runs))}
        print(f"{kind:8s} {json.dumps(result[kind])}")
    zooms = [round(max(r["zoom_ms"])) for r in loads["gridmap"]]
    requests = sorted({url for r in loads["gridmap"] for url in r["requests"]})
    print(f"gridmap page: longest time to idle after a zoom step {zooms} ms; requests {requests or 'none'}")
    g, p = result["gridmap"], result["plain"]
    print("BENCH " + json.dumps({
        "scenario": "province map", "size": f"{args.grids:,} grids", "gridmap_s": g["wall_s"],
        "plain_s": p["wall_s"],
        "gridmap_peak_mb": g["peak_mb"], "plain_peak_mb": p["peak_mb"],
        "memory": "RSS of the process writing each page",
        "note": f"gridmap map vs folium.GeoJson: page {g['page_mb']} vs {p['page_mb']} MB; load event "
                f"{g['load_ms']} vs {p['load_ms']} ms; "
                f"CPU {g['cpu_s']} vs {p['cpu_s']} s; zoom idle ≤ {max(zooms)} ms; "
                f"{len(requests)} requests"}, ensure_ascii=False))


if __name__ == "__main__":
    main()
