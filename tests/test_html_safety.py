"""Issue #9, safe outputs: no page runs script from data, and pages for publication carry nothing personal.

Every text field of the sample city that can reach a page is poisoned (``maps_fixtures.poisoned_city``: a
payload from ``PAYLOADS`` followed by a marker «field.record»), and every HTML product is made from it: the
gridmap.maps pages (one-screen map of the city, of one community and for publication, cockpit and public
cockpit, overview map, a map of boundary and unit layers with poisoned layer names) and the command line ones
(``gridmap map``, ``gridmap map --cockpit --public``, a static SVG, the ``gridmap report --publish`` folder,
``scripts/batch_maps.py``'s maps and index). Each page is opened once in chromium with the network blocked
and used: every layer switched off and on, every popup and tooltip of every layer made (the first ones
opened), a grid hovered and clicked, every payload typed into the search box and its first result opened, a
cockpit row clicked. The tests then check that nothing ran (``window.__pwned``, dialogs, console and page
errors, requests, event-handler attributes, ``javascript:`` links) and that each payload was shown as the
very text it is (a marker counts only when the whole poisoned value around it is intact).

Each page is made and used once per run, also under pytest-xdist: the workers share one folder, and a lock
per page makes the first worker that needs it do the work (the pages and what was seen are kept as files;
``once`` in tests/conftest.py).
"""

import errno
import importlib.util
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import folium
import geopandas as gpd
import mistune
import pandas as pd
import pytest
from browser import open_offline
from click.testing import CliRunner
from maps_fixtures import MARKER, MIXED, PAYLOADS, PERSONAL, payloads_of, poison, poisoned_city, small_grids

from gridmap.cli import main
from gridmap.cli.report import report
from gridmap.errors import GridmapWarning, WriteError
from gridmap.io import write_layer
from gridmap.maps import (
    base_map,
    boundary_layer,
    legend,
    one_screen,
    overview_map,
    save_cockpit,
    save_html,
    static_map,
    unit_layer,
)
from gridmap.maps.base import write_page

if "report" not in main.commands:  # until the lead registers it in gridmap/cli/__init__.py
    main.add_command(report)

pytestmark = pytest.mark.browser

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
PERIOD = "2025-06"
COMMUNITY = "990102001003"
#: The command line runs on this district alone (two streets), to stay fast.
DISTRICT, STREET = "990103", "990103001"
#: A file name that would run code if a page showing it inserted it as HTML.
GPKG_NAME = '"><svg onload=window.__pwned=1>{{7*7}}.gpkg'
ADMIN = ("districts", "streets", "communities")
#: Fields every map with grids shows (in popups, tooltips, labels or search results).
GRID_FIELDS = frozenset({"grid_name", "grid_type", "community_name", "unit_name", "unit_id", "unit_kind"})
PLACES = frozenset({"district_name", "street_name", "community_name", "community_kind"})
STAFF = frozenset({"staff_name", "staff_phone"})
#: Library pages are made with poisoned grid codes too (the command line reads digit codes).
CODED = GRID_FIELDS | {"grid_code"}


@dataclass(frozen=True)
class Product:
    """A page under test: its file, what kind of page it is, whether it is for publication, what it shows."""

    file: str  # in the shared folder
    kind: str  # map (grids, search), geo (layers only), cockpit, doc, svg
    public: bool = False
    fields: frozenset = frozenset()  # poisoned fields the page must show as text
    title: str | None = MIXED  # a text option shown whole (None: none)


PRODUCTS = {
    "one_screen": Product("library/one_screen.html", "map", fields=CODED | PLACES | STAFF),
    "one_community": Product("library/one_community.html", "map", title=None,
                             fields=CODED | STAFF | {"community_kind"}),
    "one_screen_public": Product("library/one_screen_public.html", "map", public=True, fields=CODED | PLACES),
    "overview": Product("library/overview.html", "geo", fields=CODED | PLACES),
    "layer_names": Product("library/layer_names.html", "geo", fields=CODED | PLACES | {"layer_name"}),
    "cockpit": Product("library/cockpit.html", "cockpit", fields=CODED | PLACES),
    "cockpit_public": Product("library/cockpit_public.html", "cockpit", public=True, fields=CODED | PLACES),
    "cli_map": Product("command_line/map.html", "map", fields=GRID_FIELDS | PLACES | STAFF),
    "cli_cockpit_public": Product("command_line/cockpit.html", "cockpit", public=True,
                                  fields=GRID_FIELDS | PLACES),
    "cli_static_svg": Product("command_line/static.svg", "svg", title=None),
    "report_summary": Product("command_line/report/summary.html", "doc", public=True,
                              fields=frozenset({"street_name"})),
    "report_cockpit": Product("command_line/report/cockpit.html", "cockpit", public=True,
                              fields=GRID_FIELDS | PLACES),
    "report_street_map": Product(f"command_line/report/maps/{STREET}.html", "map", public=True, title=None,
                                 fields=GRID_FIELDS | PLACES - {"district_name"}),
    "batch_index": Product("command_line/batch/index.html", "doc", title=None,
                           fields=frozenset({"district_name", "street_name"})),
    "batch_district_map": Product(f"command_line/batch/districts/{DISTRICT}.html", "map", title=None,
                                  fields=GRID_FIELDS | PLACES),
    "batch_street_map": Product(f"command_line/batch/streets/{STREET}.html", "map", title=None,
                                fields=GRID_FIELDS | PLACES - {"district_name"}),
}
PAGES = list(PRODUCTS)
PUBLIC = [name for name, product in PRODUCTS.items() if product.public]


# ------------------------------------------------------------------------------------------------ pages

def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _layer_names_map(city: dict):
    """Boundary and unit layers with poisoned names, their legend and the layer control, on a base map."""
    fmap = base_map(title=MIXED)
    frames = zip(("district", "street", "community", "grid"),
                 (*(city[name] for name in ADMIN), city["grids"]), strict=True)
    layers = [boundary_layer(frame, level=level, name=poison("layer_name", i))
              for i, (level, frame) in enumerate(frames)]
    layers.append(unit_layer(city["units"], name=poison("layer_name", 4)))
    for layer in layers:
        layer.add_to(fmap)
    legend(*layers).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    fmap.fit_bounds(fmap.get_bounds())
    return fmap


def _make_library_page(name: str, path: Path) -> None:
    city = poisoned_city(codes=True)
    admin = {layer: city[layer] for layer in ADMIN}
    grids, every = city["grids"], dict(admin, units=city["units"], cases=city["cases"], staff=city["staff"])
    if name.startswith("cockpit"):
        save_cockpit(grids, path, **every, period=PERIOD, public=name.endswith("public"), title=MIXED)
        return
    make = {
        "one_screen": lambda: one_screen(grids, **every, period=PERIOD, show_staff=True, title=MIXED),
        "one_community": lambda: one_screen(grids, **every, focus=COMMUNITY, show_staff=True),
        "one_screen_public": lambda: one_screen(grids, **every, period=PERIOD, show_staff=True, public=True,
                                                measure="cases_per_km2", title=MIXED),
        "overview": lambda: overview_map(**admin, units=city["units"], grids=grids, title=MIXED),
        "layer_names": lambda: _layer_names_map(city),
    }
    save_html(make[name](), path)


def _district_gpkg(folder: Path) -> Path:
    """The poisoned layers of one district as `gridmap build` writes them, cases already in their grids."""
    from gridmap.cases import assign

    city = poisoned_city(codes=False)
    grids = city["grids"].loc[city["grids"]["community_code"].str.startswith(DISTRICT)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)  # cases of the other districts lie outside
        cases = assign(city["cases"], grids)
    layers = {"grids": grids, "cases": cases.loc[cases["grid_code"].notna()],
              "units": city["units"].loc[city["units"]["community_code"].str.startswith(DISTRICT, na=False)],
              "staff": city["staff"].loc[city["staff"]["community_code"].str.startswith(DISTRICT)]}
    for name, level in zip(ADMIN, ("district", "street", "community"), strict=True):
        frame = city[name]
        if level != "community":  # few records: each carries every payload
            frame = frame.assign(name=[poison(f"{level}_name", i, mixed=True) for i in range(len(frame))])
        layers[name] = frame.loc[frame["code"].str.startswith(DISTRICT)]
    path = folder / GPKG_NAME
    for name, frame in layers.items():
        write_layer(frame, path, name, mode="a")
    return path


def _invoke(args: list) -> None:
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output


def _make_command_line_pages(folder: Path) -> None:
    gpkg = _district_gpkg(folder)
    _invoke(["map", gpkg, "--out", folder / "map.html", "--show-staff", "--period", PERIOD, "--title", MIXED])
    _invoke(["map", gpkg, "--out", folder / "cockpit.html", "--cockpit", "--public", "--period", PERIOD,
             "--title", MIXED])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Glyph .* missing", UserWarning)  # U+2028/9 have no glyph
        _invoke(["map", gpkg, "--out", folder / "static.svg", "--title", MIXED])
    _invoke(["report", gpkg, "--out", folder / "report", "--publish", "--title", MIXED])
    assert _script("batch_maps").main(["--gpkg", str(gpkg), "--out", str(folder / "batch")]) == 0


@pytest.fixture(scope="module")
def shared(run_folder) -> Path:
    """The folder every xdist worker of this run shares (the worker's own without xdist or fcntl)."""
    folder = run_folder / "html_safety"
    for sub in ("library", "command_line"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def products(shared, once):
    """The path of a page, made on first use (the command line pages all together)."""

    def make(name: str) -> None:
        if name == "command_line":
            _make_command_line_pages(shared / "command_line")
        else:
            _make_library_page(name, shared / PRODUCTS[name].file)

    def get(name: str) -> Path:
        group = "command_line" if PRODUCTS[name].file.startswith("command_line/") else name
        once(f"html_safety/made-{group}", lambda: make(group))
        return shared / PRODUCTS[name].file

    return get


# ---------------------------------------------------------------------------------------- in the browser

# Text shown: of the whole document, or of the map's widgets (popups, tooltips and labels, search, legend,
# layer control, title).
TEXTS = """(whole) => {
    const skip = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"]), out = new Set();
    const roots = whole ? [document.documentElement] : document.querySelectorAll(
        ".leaflet-popup-content, .leaflet-tooltip, .gridmap-search, .gridmap-legend, "
        + ".leaflet-control-layers, .gridmap-title");
    roots.forEach(root => {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!skip.has(node.parentNode.nodeName) && node.nodeValue.trim()) { out.add(node.nodeValue); }
        }
    });
    return [...out];
}"""

STATE = """() => {
    const all = [...document.querySelectorAll("*")];
    const attribute = (e, name) => e.getAttribute(name)
        || e.getAttributeNS("http://www.w3.org/1999/xlink", name);
    return {
        pwned: typeof window.__pwned !== "undefined",
        handlers: all.filter(e => [...e.attributes].some(a => /^on/i.test(a.name)))
                     .map(e => e.outerHTML.slice(0, 120)),
        links: all.map(e => attribute(e, "href") || attribute(e, "src") || attribute(e, "action"))
                  .filter(v => v),
    };
}"""

# Every popup and tooltip of every layer, made by the functions Leaflet calls to fill them (a string would be
# put in as HTML, which is done here too: an injected handler would run); the first three of each boundary
# and unit layer opened on the map for real. All layers are put on the map first.
OPEN_ALL = """() => {
    const map = gridmap.maps[0], texts = [];
    const shown = (bound, layer) => {
        const content = typeof bound._content === "function" ? bound._content(layer) : bound._content;
        const box = document.createElement("div");
        if (typeof content === "string") { box.innerHTML = content; } else { box.appendChild(content); }
        return [...box.querySelectorAll("*")].map(e => e.textContent).concat([box.textContent]);
    };
    Object.values(gridmap.layers).forEach(group => { if (!map.hasLayer(group)) { map.addLayer(group); } });
    Object.values(gridmap.layers).forEach(group => {
        if (group === gridmap.grid) { return; }
        group.gridmapGeo.getLayers().forEach((layer, i) => {
            texts.push(...shown(layer.getPopup(), layer), ...shown(layer.getTooltip(), layer));
            if (i < 3) {
                layer.openPopup();
                texts.push(layer.getPopup().getElement().querySelector(".leaflet-popup-content").textContent);
                layer.openTooltip();
                texts.push(layer.getTooltip().getElement().textContent);
                layer.closeTooltip();
            }
        });
    });
    map.closePopup();
    if (gridmap.grid) {
        const grid = gridmap.grid;
        grid.spec.titles.forEach((title, i) => {
            const box = gridmap.table(title, grid.rows(i));
            texts.push(...[...box.querySelectorAll("*")].map(e => e.textContent));
        });
    }
    return texts;
}"""


def _snapshot(page, texts: set, *, whole: bool = False) -> None:
    texts.update(page.evaluate(TEXTS, whole))


def _popup_text(page) -> list:
    try:
        page.wait_for_selector(".leaflet-popup-content", timeout=2000)
    except Exception:  # playwright's TimeoutError: the pick opened no popup (nothing found)
        return []
    return page.evaluate("[...document.querySelectorAll('.leaflet-popup-content *')].map(e => e.textContent)")


def _switch_layers(page, texts: set) -> None:
    """Click every layer control input (overlays off and on again, each base layer), snapshotting."""
    if not page.locator(".leaflet-control-layers").count():
        return
    page.hover(".leaflet-control-layers")
    inputs = page.locator(".leaflet-control-layers-selector")
    checked = [inputs.nth(i).is_checked() for i in range(inputs.count())]
    radios = [inputs.nth(i).get_attribute("type") == "radio" for i in range(len(checked))]
    for i, radio in enumerate(radios):
        if inputs.nth(i).is_disabled():  # a layer not shown at this zoom
            continue
        inputs.nth(i).click()
        _snapshot(page, texts)
        if not radio:
            inputs.nth(i).click()
    first = next((i for i, (on, radio) in enumerate(zip(checked, radios, strict=True)) if on and radio), None)
    if first is not None:
        inputs.nth(first).click()
    page.mouse.move(5, 400)


# Zoom to the n-th grid and return the screen point of its centre once the map has been drawn.
GRID_POINT = """(n) => {
    const map = gridmap.maps[0], polygon = gridmap.grid.polygons.filter(p => p)[n];
    map.fitBounds(polygon.getBounds(), {animate: false});
    const point = map.latLngToContainerPoint(polygon.getCenter());
    const box = map.getContainer().getBoundingClientRect();
    return new Promise(done => requestAnimationFrame(() => requestAnimationFrame(
        () => done([box.left + point.x, box.top + point.y]))));
}"""
TOOLTIP = ".leaflet-tooltip:not(.gridmap-label)"


def _hover_and_click_grid(page, texts: set) -> None:
    """Hover a grid (its tooltip), click it (its popup), close up so that grid labels show."""
    for n in range(5):  # a grid whose centre lies outside it (an L shape) shows nothing: try the next
        x, y = page.evaluate(GRID_POINT, n)
        page.mouse.move(x - 2, y - 2)
        page.mouse.move(x, y)
        try:
            page.wait_for_selector(TOOLTIP, timeout=1500)
            break
        except Exception:  # playwright's TimeoutError
            continue
    else:
        pytest.fail("hovering grids shows no tooltip")
    _snapshot(page, texts)
    page.mouse.click(x, y)
    texts.update(_popup_text(page))
    _snapshot(page, texts)
    page.evaluate("void gridmap.maps[0].closePopup()")


def _search_every_payload(page, texts: set) -> None:
    for payload in PAYLOADS.values():  # typed into the search box, the first result opened
        page.fill(".gridmap-search input", payload)
        texts.update(page.evaluate("[...document.querySelectorAll('.gridmap-search li *')]"
                                   ".map(e => e.textContent)"))
        page.press(".gridmap-search input", "Enter")
        texts.update(_popup_text(page))
        _snapshot(page, texts)  # the labels where the pick zoomed to
        page.evaluate("void gridmap.maps[0].closePopup()")


def _use(browser, path: Path, kind: str) -> dict:
    """Open the page and use it; return what it showed (texts), did (log) and holds at the end (state)."""
    page, log = open_offline(browser, path, width=1920, height=1080)
    texts: set = set()
    try:
        if kind in ("map", "geo", "cockpit"):
            page.wait_for_function("window.gridmap && gridmap.maps.length > 0")
            _snapshot(page, texts, whole=True)
            _switch_layers(page, texts)
            texts.update(page.evaluate(OPEN_ALL))
        if kind in ("map", "cockpit"):
            _hover_and_click_grid(page, texts)
            _search_every_payload(page, texts)
        if kind == "cockpit":
            page.locator(".cockpit-top tbody tr").first.click()
            texts.update(_popup_text(page))
        _snapshot(page, texts, whole=True)
        state = page.evaluate(STATE)
    finally:
        page.close()
    return {"texts": sorted(texts), "state": state, "requests": log.requests,
            "console_errors": log.console_errors, "page_errors": log.page_errors, "dialogs": log.dialogs}


@pytest.fixture(scope="module")
def used(products, once, chromium):
    """What each page showed and did when used (once per run)."""

    def get(name: str) -> dict:
        path = products(name)
        return once(f"html_safety/used-{name}", lambda: _use(chromium(), path, PRODUCTS[name].kind))

    return get


def _shown(texts) -> tuple[set, list]:
    """(field, payload) pairs shown whole, and texts whose poisoned value was changed on the way."""
    shown, changed = set(), []
    for text in texts:
        for match in MARKER.finditer(text):
            name, record = match.group(1), int(match.group(2))
            values = (poison(name, record, mixed=True), poison(name, record, listed=name == "unit_id"))
            value = next((value for value in values if value in text), None)
            if value is None:
                changed.append(text)
            else:
                shown.update((name, key) for key in payloads_of(value))
    return shown, changed


# ---------------------------------------------------------------------------------------------- the tests

@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_page_runs_nothing_and_loads_nothing(used, products, name):
    seen = used(name)
    assert seen["state"]["pwned"] is False
    assert seen["dialogs"] == []
    assert seen["page_errors"] == []
    assert seen["console_errors"] == []
    assert seen["requests"] == []
    assert seen["state"]["handlers"] == [], "no element carries an event-handler attribute"
    schemes = [link for link in seen["state"]["links"]
               if re.match(r"[a-z][a-z0-9+.-]*:", re.sub(r"[\s\x00-\x1f]", "", link), re.IGNORECASE)
               and not link.startswith(("data:", "https:", "http:"))]
    assert schemes == [], "no javascript: (or other scheme) link"
    if PRODUCTS[name].kind == "doc":  # the index and the summary link files of their folder, nothing else
        folder = products(name).parent
        assert all((folder / link).is_file() for link in seen["state"]["links"]), seen["state"]["links"]


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_every_field_is_shown_as_the_text_it_is(used, name):
    product, seen = PRODUCTS[name], used(name)
    shown, changed = _shown(seen["texts"])
    assert changed == [], "poisoned text shown changed (evaluated, parsed or cut)"
    assert product.fields <= {field_name for field_name, _ in shown}, "fields the page must show"
    if product.title is not None:
        assert product.title in seen["texts"], "the title option, whole"
    if name == "report_summary":
        assert any(GPKG_NAME in text for text in seen["texts"]), "the input file's name"


@pytest.mark.slow
@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("name", PAGES)
def test_payload_is_text_not_code(used, products, name, payload):
    """The payload is not in the page as markup, and (unless the page shows no text) is shown whole."""
    product = PRODUCTS[name]
    source = products(name).read_text(encoding="utf-8")
    if re.search(r"[<>]", PAYLOADS[payload]):
        assert PAYLOADS[payload] not in source
    if product.kind == "svg":  # text drawn as paths; the title only in an XML comment
        elements = list(ElementTree.fromstring(source.encode("utf-8")).iter())
        assert not [e.tag for e in elements if e.tag.split("}")[-1] in ("script", "foreignObject", "a")]
        assert not [name for e in elements for name in e.attrib if name.lower().startswith("on")]
        return
    seen = used(name)
    in_data = {field_name for field_name, key in _shown(seen["texts"])[0] if key == payload}
    assert in_data or (product.title is not None and product.title in seen["texts"])
    if product.kind in ("map", "cockpit"):  # typed into the search box: found, and shown as data
        assert in_data


# ---------------------------------------------------------------------------------- pages for publication

def _grid_spec(source: str) -> dict:
    return json.loads(re.search(r"gridmap\.gridLayer\((\{.*?\})\);\n", source).group(1))


def _true_counts(spec: dict, codes: bool, period: str | None) -> pd.Series:
    """Cases per grid of the page, counted here with a plain spatial join (not gridmap.cases)."""
    city = poisoned_city(codes=codes)
    grids = city["grids"].set_index("code").loc[spec["codes"]].reset_index()
    cases = city["cases"]
    if period is not None:
        cases = cases.loc[pd.to_datetime(cases["reported_at"]).dt.strftime("%Y-%m") == period]
    joined = gpd.sjoin(cases[["count", "geometry"]].to_crs(grids.crs), grids[["code", "geometry"]],
                       predicate="intersects")
    joined = joined.loc[~joined.index.duplicated()]  # a case on a shared edge counts once
    return joined.groupby("code")["count"].sum().reindex(spec["codes"], fill_value=0)


@pytest.mark.slow
@pytest.mark.parametrize("name", PUBLIC)
def test_published_page_carries_no_personal_field(products, name):
    source = products(name).read_text(encoding="utf-8")
    personal = [found for found in MARKER.findall(source) if found[0] in PERSONAL]
    assert personal == [], "staff names, phones, ID numbers or case texts in a page for publication"
    assert "gridmap.heat(" not in source, "no case points"


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_no_page_carries_case_texts_or_id_numbers(products, name):
    source = products(name).read_text(encoding="utf-8")
    never = {"staff_id_number"} | {name for name in PERSONAL if name.startswith("case_")}
    assert not [found for found in MARKER.findall(source) if found[0] in never]


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in PUBLIC if PRODUCTS[name].kind != "doc"])
def test_published_map_hides_counts_below_five(products, name):
    spec = _grid_spec(products(name).read_text(encoding="utf-8"))
    label = next(f["label"] for f in spec["fields"] if f["label"].startswith("案件数"))
    period = re.search(r"\((\d{4}-\d{2})\)", label)
    counts = _true_counts(spec, PRODUCTS[name].file.startswith("library/"), period and period.group(1))
    values = next(f["values"] for f in spec["fields"] if f["label"] == label)
    small = (counts < 5).to_numpy()
    assert small.any() and (~small).any(), "the page has grids on both sides of the threshold"
    assert all(value == "少于5件" for value, hidden in zip(values, small, strict=True) if hidden)
    assert all(value == "少于5件" or value >= 5 for value in values)
    for measure in spec["measures"]:
        if measure["key"].startswith("cases"):
            assert all(c == "s" for c, hidden in zip(measure["classes"], small, strict=True) if hidden)
            rates = spec["fields"][measure["field"]]["values"]
            assert all(rate is None for rate, hidden in zip(rates, small, strict=True) if hidden)


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in PUBLIC if PRODUCTS[name].kind == "cockpit"])
def test_published_cockpit_figures_are_five_or_more(products, name):
    source = products(name).read_text(encoding="utf-8")
    rows = re.findall(r'<tr data-grid="\d+">(.*?)</tr>', source)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row)[3] for row in rows]
    months = re.findall(r"<title>[^<:]*: ([^<]*)</title></rect>", source)
    assert rows and months
    for shown in cells + months:
        assert shown == "&lt;5" or float(shown.replace(",", "")) >= 5, shown


def _html_tables(source: str) -> list[pd.DataFrame]:
    """The tables of the summary (a header row of th, then rows of td), as text."""
    tables = []
    for table in re.findall(r"<table>(.*?)</table>", source, re.DOTALL):
        rows = re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)
        heads = re.findall(r"<th>(.*?)</th>", rows[0])
        tables.append(pd.DataFrame([re.findall(r"<td>(.*?)</td>", row) for row in rows[1:]], columns=heads))
    return tables


@pytest.mark.slow
def test_published_summary_and_workbook_hide_small_counts_and_people(products):
    summary = products("report_summary")
    tables = _html_tables(summary.read_text(encoding="utf-8"))
    assert [len(table) for table in tables] == [1, 2]  # the overview, and the district's two streets
    for table in tables:
        shown = pd.to_numeric(table["事件数"], errors="coerce").dropna()
        assert len(shown) and (shown >= 5).all()
    sheets = pd.read_excel(summary.parent / "stats.xlsx", sheet_name=None, engine="openpyxl")
    for sheet in sheets.values():
        shown = pd.to_numeric(sheet["事件数"], errors="coerce").dropna()
        assert len(shown) and (shown >= 5).all()
        text = " ".join(map(str, sheet.to_numpy().ravel()))
        assert not [found for found in MARKER.findall(text) if found[0] in PERSONAL]


@pytest.mark.slow
def test_summary_markdown_shows_text_in_a_markdown_viewer(products, chromium, tmp_path):
    markdown = products("report_summary").with_name("summary.md").read_text(encoding="utf-8")
    body = mistune.create_markdown(escape=False, plugins=["table"])(markdown)  # raw HTML kept, as viewers do
    path = tmp_path / "summary.md.html"
    path.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{body}</body></html>',
                    encoding="utf-8")
    seen = _use(chromium(), path, "doc")
    assert seen["state"]["pwned"] is False and seen["state"]["handlers"] == [] and seen["dialogs"] == []
    shown, changed = _shown(seen["texts"])
    assert changed == [] and ("street_name", "img") in shown
    assert MIXED in seen["texts"] and any(GPKG_NAME in text for text in seen["texts"])


# -------------------------------------------------------------------------------- writing, and file names

@pytest.mark.parametrize("writer", ["save_html", "save_cockpit", "write_page", "static_map"])
def test_a_failed_write_leaves_the_old_file_and_no_other(tmp_path, monkeypatch, writer):
    grids = small_grids()
    target = tmp_path / ("grids.svg" if writer == "static_map" else "page.html")
    target.write_text("old", encoding="utf-8")
    write = {"save_html": lambda: save_html(one_screen(grids), target),
             "save_cockpit": lambda: save_cockpit(grids, target),
             "write_page": lambda: write_page("<p>new</p>", target),
             "static_map": lambda: static_map(grids, target)}[writer]

    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", disk_full)
        with pytest.raises(WriteError, match="the disk is full"):
            write()
    assert target.read_text(encoding="utf-8") == "old" and os.listdir(tmp_path) == [target.name]
    write()
    assert target.read_text(encoding="utf-8") != "old" and os.listdir(tmp_path) == [target.name]


def test_batch_maps_refuses_community_codes_that_would_name_files_elsewhere(tmp_path, capsys):
    grids = small_grids()
    grids.loc[grids.index[0], "community_code"] = "../../evil/0"  # the district page would be ../../.html
    gpkg = tmp_path / "city.gpkg"
    write_layer(grids, gpkg, "grids")
    out = tmp_path / "out" / "maps"
    out.parent.mkdir()
    assert _script("batch_maps").main(["--gpkg", str(gpkg), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "community_code" in error and "'../../evil/0'" in error and str(gpkg) in error
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["city.gpkg", "out"]


def test_batch_index_escapes_every_text():
    batch_maps = _script("batch_maps")
    page = batch_maps.index_page({"districts": [("<b>1</b>", PAYLOADS["img"], "districts/a b.html", 3)],
                                  "streets": []}, lang="en")
    assert "<b>" not in page and PAYLOADS["img"] not in page
    assert 'href="districts/a%20b.html"' in page and "&lt;b&gt;1&lt;/b&gt;" in page
