#!/usr/bin/env python3
"""Make the README's screenshots of the province map: a generated province mapped and photographed offline.

Usage (from the project folder)::

    python scripts/make_screenshots.py                       # docs/province.png, docs/province-grids.png
    python scripts/make_screenshots.py --grids 6000 --out shots/province.png    # a small province, a minute

The province comes from ``scripts/make_province.py`` (``--grids`` grids, 2 cases per 10 grids, named
districts, streets and communities); ``gridmap.maps.one_screen`` maps it (levels of detail from 5,000 grids)
and the page is opened in headless Chromium (Debian's ``/usr/bin/chromium`` through Playwright:
``pip install playwright``, ``apt-get install chromium fonts-noto-cjk``) with every request blocked, at
``--width`` × ``--height`` CSS pixels, once it has drawn: ``--out`` shows the whole province (districts),
``<name>-grids.png`` beside it the view zoomed in until the grids appear. Each PNG is reduced to a palette of
256 colours or fewer so that it stays small (under ``--max-kb``, 300 KB by default; the script fails rather
than write a bigger one). With 100,000 grids it takes a few minutes and about 2 GB of memory.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
TITLE = "示例省 网格化服务管理一屏"


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grids", type=int, default=100_000, help="Grids of the province [default: 100000].")
    parser.add_argument("--out", type=Path, default=Path("docs/province.png"),
                        help="PNG to write [default: docs/province.png].")
    parser.add_argument("--width", type=int, default=1200, help="Page width in CSS pixels [default: 1200].")
    parser.add_argument("--height", type=int, default=720, help="Page height in CSS pixels [default: 720].")
    parser.add_argument("--max-kb", type=int, default=300, help="Largest PNG allowed [default: 300 KB].")
    args = parser.parse_args(argv)
    if args.grids < 10 or args.width < 320 or args.height < 240:
        parser.error("--grids must be at least 10, the page at least 320 × 240")
    return args


def _make_province():
    spec = importlib.util.spec_from_file_location("make_province", HERE / "make_province.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def province_page(grids: int, folder: Path) -> Path:
    """Write the one-screen page of a generated province of ``grids`` grids; return its path."""
    from gridmap.errors import GridmapWarning
    from gridmap.maps import one_screen, save_html

    maker = _make_province()
    frame = maker.province(grids)
    admin = maker.admin_layers(frame)
    cases = maker.cases(frame, max(grids // 5, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)
        fmap = one_screen(frame, cases=cases, title=TITLE, **admin)
    return save_html(fmap, folder / "province.html")


def photograph(page: Path, *, width: int, height: int) -> list[bytes]:
    """Open ``page`` offline in headless Chromium; return screenshots (PNG) of the whole area and of grids."""
    from playwright.sync_api import sync_playwright

    blocked = []

    def block(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM) if CHROMIUM.exists() else None,
                                             args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": width, "height": height})
        context.route("**/*", block)
        tab = context.new_page()
        tab.goto(page.resolve().as_uri(), wait_until="load", timeout=600_000)
        shots = [_drawn(tab)]
        tab.evaluate(_GRID_VIEW)
        shots.append(_drawn(tab))
        browser.close()
    if blocked:
        raise SystemExit(f"the page asked for {len(blocked)} file(s) from outside: {blocked[:3]}")
    return shots


#: Zoom in on the middle of the area until grids are drawn (levels of detail: where they start).
_GRID_VIEW = """() => {
    const map = gridmap.maps[0], levels = gridmap.levelControl;
    map.setZoom(levels ? levels.gridStart + 0.5 : map.getZoom() + 2, {animate: false});
}"""


def _drawn(tab) -> bytes:
    tab.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    tab.wait_for_timeout(800)  # labels are placed and lazy grids decoded after the first frames
    return tab.screenshot(type="png")


def small_png(png: bytes, max_kb: int) -> bytes:
    """Return ``png`` with a palette of 256 colours or fewer, under ``max_kb`` KB."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    for colours in (256, 128, 64):
        out = io.BytesIO()
        image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            out, format="PNG", optimize=True)
        if out.tell() <= max_kb * 1024:
            return out.getvalue()
    raise SystemExit(f"the screenshot takes {out.tell() // 1024} KB even with 64 colours, over --max-kb "
                     f"{max_kb}: make the page smaller (--width, --height)")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gridmap-shots-") as folder:
        page = province_page(args.grids, Path(folder))
        shots = photograph(page, width=args.width, height=args.height)
        pngs = [small_png(shot, args.max_kb) for shot in shots]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    paths = [args.out, args.out.with_name(f"{args.out.stem}-grids{args.out.suffix}")]
    for path, png in zip(paths, pngs, strict=True):
        path.write_bytes(png)
    sizes = " and ".join(f"{path} ({len(png) // 1024} KB)" for path, png in zip(paths, pngs, strict=True))
    print(f"wrote {sizes}: {args.width}×{args.height}, a province of {args.grids:,} grids, in "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
