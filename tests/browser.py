"""Helpers for tests that open gridmap pages in a real browser (Playwright + Debian's chromium).

``launch_chromium()`` skips the test when playwright or /usr/bin/chromium is missing, unless the environment
sets ``GRIDMAP_REQUIRE_BROWSER=1`` (CI does), in which case it fails. ``open_offline()`` opens a file with the
network blocked and records what the page tried to load, its console errors, page errors and dialogs.

Pages open in one browser context per browser, in which a page is kept open: a new page then starts in the
renderer process that page holds instead of a fresh one (a renderer costs chromium ~1 CPU-s to start).
Each page still loads its file anew, with its own viewport, route, log and document; close it with
``page.close()``.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def _unavailable(reason: str):
    if os.environ.get("GRIDMAP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (GRIDMAP_REQUIRE_BROWSER=1 requires the browser tests to run)")
    pytest.skip(reason)


def launch_chromium():
    """Start Playwright and Debian's chromium; return ``(playwright, browser)`` (stop both when done)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)")
    playwright = sync_playwright().start()
    try:
        return playwright, playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise


@dataclass
class PageLog:
    """What a page did: requests it attempted (blocked), requests let through (``allow`` of ``open_offline``),
    console errors, page errors, dialogs."""

    requests: list = field(default_factory=list)
    allowed: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)


#: The context pages open in, per browser, with the page that keeps its renderer process running.
_CONTEXTS: dict = {}


def pages_context(browser):
    """The browser's context for pages (made again if a test closed it), a page kept open in it."""
    context = _CONTEXTS.get(browser)
    if context is None or context not in browser.contexts:
        context = browser.new_context()
        context.new_page().goto(Path(__file__).resolve().as_uri())  # a file: page holds the renderer
        _CONTEXTS[browser] = context
    return context


def _route(log: PageLog, allow: str | None):
    def handle(route):
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        elif allow is not None and url.startswith(allow + "/"):
            log.allowed.append(url)
            route.continue_()
        else:
            log.requests.append(url)
            route.abort()
    return handle


def open_offline(browser, path: Path, *, width: int, height: int, allow: str | None = None):
    """Open ``path`` in a new page of the given viewport with every non-file request blocked, but those
    under ``allow`` (a server's address: let through and recorded in ``log.allowed``).

    Returns ``(page, log)``; close the page when done (``page.close()``).
    """
    page = pages_context(browser).new_page()
    page.set_viewport_size({"width": width, "height": height})
    log = PageLog()
    page.route("**/*", _route(log, allow))
    page.on("console", lambda msg: log.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    page.on("dialog", lambda dialog: (log.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page, log


def assert_clean(log: PageLog) -> None:
    """The page requested nothing, logged no error, threw nothing and opened no dialog."""
    assert log.requests == []
    assert log.console_errors == []
    assert log.page_errors == []
    assert log.dialogs == []


def click_at(page, lat: float, lon: float, map_expr: str = "gridmap.maps[0]") -> None:
    """Click the map at a latitude and longitude."""
    x, y = page.evaluate(f"""([lat, lon]) => {{
        const map = {map_expr}, point = map.latLngToContainerPoint([lat, lon]);
        const box = map.getContainer().getBoundingClientRect();
        return [box.left + point.x, box.top + point.y];
    }}""", [lat, lon])
    page.mouse.click(x, y)


def popup(page) -> dict:
    """The open popup: its title, its cells and the tags inside it."""
    page.wait_for_selector(".leaflet-popup-content .gridmap-popup-title")
    return page.evaluate("""() => {
        const box = document.querySelector(".leaflet-popup-content");
        return {title: box.querySelector(".gridmap-popup-title").textContent,
                rows: Object.fromEntries([...box.querySelectorAll("tr")].map(
                    tr => [tr.querySelector("th").textContent, tr.querySelector("td").textContent])),
                elements: [...box.querySelectorAll("*")].map(e => e.tagName.toLowerCase()),
                width: document.querySelector(".leaflet-popup").getBoundingClientRect().width};
    }""")


def close_popup(page, map_expr: str = "gridmap.maps[0]") -> None:
    """Close the popup and wait until it has faded out."""
    page.evaluate(f"void {map_expr}.closePopup()")
    page.wait_for_selector(".leaflet-popup", state="detached", timeout=3000)


def screenshot(page, tmp_path: Path, name: str) -> Path:
    """Save a screenshot for review: into $GRIDMAP_SCREENSHOTS when set, else the test's tmp_path."""
    folder = Path(os.environ.get("GRIDMAP_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.wait_for_timeout(400)  # popups fade in and pan the map into view
    page.screenshot(path=str(path))
    return path
