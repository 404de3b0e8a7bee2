r"""Map creation and self-contained HTML: pages that open with no network.

:func:`base_map` makes a ``folium.Map`` whose page needs nothing but Leaflet (no jQuery, Bootstrap or
Font Awesome), with an optional base map; :func:`to_html` renders it with every script and style sheet
inline and refuses to return a page that would still load something from the internet; :func:`save_html`
writes that page atomically.

Only the online base maps (``"osm"``, ``"tianditu"``, ``"amap"``) make requests, for their tiles. Amap
(Gaode) tiles are in GCJ-02 coordinates: gridmap's layers on such a map shift their data from WGS84 to
GCJ-02 themselves (see :mod:`gridmap.maps.layers`).

Examples
--------
>>> m = base_map(title="示例市")
>>> page = to_html(m)
>>> page.count("<script src=") + page.count("<link rel=\"stylesheet\"")
0
>>> "<title>示例市</title>" in page
True
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import folium
from branca.element import Element, Figure, MacroElement
from folium.template import Template

from gridmap.errors import GridmapError
from gridmap.io._atomic import write_text
from gridmap.maps._assets import (
    JQUERY_SHIM,
    LEAFLET_CSS_URL,
    LEAFLET_JS_URL,
    RUNTIME_CSS,
    asset_for_url,
    runtime_js,
)

__all__ = ["BASEMAPS", "LANGS", "base_map", "to_html", "save_html", "write_page", "js_string",
           "control_label", "RawHTML"]

logger = logging.getLogger(__name__)

#: Base maps: ``none`` (offline, plain background), ``osm``, ``tianditu`` 天地图 (needs a key), ``amap`` 高德.
BASEMAPS = ("none", "osm", "tianditu", "amap")
#: Languages of map text.
LANGS = ("zh", "en")

#: The coordinate frame each base map's tiles are drawn in; layers shift their data to it.
_BASEMAP_COORDS = {"none": "wgs84", "osm": "wgs84", "tianditu": "wgs84", "amap": "gcj02"}
_HTML_LANG = {"zh": "zh-CN", "en": "en"}
_TIANDITU_URL = ("https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                 "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                 "&TILECOL={{x}}&tk={key}")
_TIANDITU_ATTRIBUTION = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>'
_BASEMAP_NAMES = {
    "zh": {"osm": "OpenStreetMap", "tianditu": "天地图", "amap": "高德地图"},
    "en": {"osm": "OpenStreetMap", "tianditu": "Tianditu", "amap": "Amap (Gaode)"},
}


_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


def js_string(value: Any) -> str:
    r"""Return ``value`` as JSON that is safe inside an HTML ``<script>``, keeping Chinese as UTF-8.

    ``<``, ``>`` and ``&`` become ``\u003c`` etc. (so no text can close the script), ``$`` becomes
    ``\u0024`` (so data never looks like jQuery to :func:`to_html`), ``{`` before ``{``, ``%`` or ``#``
    becomes ``\u007b`` (so data is never read as a Jinja template when folium renders the page), and the
    line separators U+2028/9 are escaped. Other characters are written as they are: a Chinese character
    takes 3 bytes, not 6.

    Examples
    --------
    >>> js_string({"name": "翠竹苑</script>"})
    '{"name":"翠竹苑\\u003c/script\\u003e"}'
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("$", "\\u0024"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    # branca renders each script once more as a Jinja template: "{{", "{%" and "{#" in data would be run
    # as template code. JSON itself never writes them outside a string, so escaping them there is enough.
    return _JINJA_OPEN.sub("\\\\u007b", text)


def control_label(name: str) -> str:
    """Return a layer name as folium's layer control may carry it: HTML-escaped, braces as entities.

    Leaflet's layer control shows names as HTML, so ``<`` and ``&`` are escaped; folium writes them into a
    script that branca reads once more as a Jinja template, so ``{`` becomes ``&#123;`` (a name such as
    ``{{7*7}}`` would otherwise be shown as 49, and ``{{ ... }}`` would run Python while the page is made).

    Examples
    --------
    >>> control_label("<b>{{7*7}}</b> & 网格")
    '&lt;b&gt;&#123;&#123;7*7}}&lt;/b&gt; &amp; 网格'
    """
    return html.escape(str(name)).replace("{", "&#123;")


class RawHTML(Element):
    """HTML put into the page exactly as given, never read as a Jinja template.

    ``branca.element.Element(text)`` treats ``text`` as a template: ``{{ ... }}`` in text from data (a
    community named ``{{7*7}}``) would be evaluated, with access to Python, when the page is rendered.
    Page panels written by gridmap (already HTML-escaped) are added with this class instead.

    Examples
    --------
    >>> RawHTML("<h1>{{7*7}}</h1>").render()
    '<h1>{{7*7}}</h1>'
    """

    def __init__(self, text: str):
        super().__init__()
        self._name = "RawHTML"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """Return the HTML as given."""
        return self.text


def _check_choice(name: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise GridmapError(f"{name}={value!r} is not allowed",
                           fix=f"use {name}= one of {', '.join(repr(a) for a in allowed)}")


class _Runtime(MacroElement):
    """gridmap's page code and styles, put once into the page header (after Leaflet).

    The page lists its map in ``window.gridmap.maps`` so that page code and tests can reach it.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        gridmap.maps.push({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    # branca types Element.render as returning str; MacroElement.render, the base here, returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        figure = cast(Figure, self.get_root())
        figure.header.add_child(RawHTML(f"<style>{RUNTIME_CSS}</style>"), name="gridmap_css")
        figure.header.add_child(RawHTML(f"<script>{runtime_js()}</script>"), name="gridmap_js")
        super().render(**kwargs)


class _Title(MacroElement):
    """A title box at the top of the map; the text is set with textContent."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        gridmap.title({{ this._parent.get_name() }}, {{ this.text_json }});
        {% endmacro %}
    """)

    def __init__(self, text: str):
        super().__init__()
        self._name = "GridmapTitle"
        self.text_json = js_string(text)


def _tile_layers(basemap: str, *, tianditu_key: str | None, lang: str) -> list[folium.TileLayer]:
    name = _BASEMAP_NAMES[lang].get(basemap)
    if basemap == "osm":
        return [folium.TileLayer("OpenStreetMap", name=name)]
    if basemap == "amap":
        import xyzservices.providers as providers  # a dependency of folium

        return [folium.TileLayer(providers.Gaode.Normal, name=name, max_zoom=18)]
    if basemap == "tianditu":
        key = _tianditu_key(tianditu_key)
        common: dict[str, Any] = {"attr": _TIANDITU_ATTRIBUTION, "subdomains": "01234567", "max_zoom": 18}
        return [folium.TileLayer(_TIANDITU_URL.format(layer="vec", key=key), name=name, **common),
                folium.TileLayer(_TIANDITU_URL.format(layer="cva", key=key), name=f"{name} (注记)",
                                 overlay=True, control=False, **common)]
    return []


def _tianditu_key(key: str | None) -> str:
    if not key:
        raise GridmapError("basemap='tianditu' needs a Tianditu (天地图) key",
                           fix="apply for a free browser key at console.tianditu.gov.cn and pass "
                               "tianditu_key='...', or use basemap='none' to work offline")
    if not re.fullmatch(r"[A-Za-z0-9]+", key):
        raise GridmapError(f"tianditu_key {key!r} is not a Tianditu key (letters and digits only)",
                           fix="copy the key from console.tianditu.gov.cn without spaces")
    return quote(key)


def base_map(*, basemap: str = "none", tianditu_key: str | None = None, title: str | None = None,
             lang: str = "zh", prefer_canvas: bool = True) -> folium.Map:
    """Return an empty ``folium.Map`` whose page works offline, with a scale bar.

    Parameters
    ----------
    basemap : {"none", "osm", "tianditu", "amap"}, default "none"
        ``"none"`` draws a plain background and makes no request; the others load tiles from the
        internet. ``"amap"`` tiles are GCJ-02: gridmap layers added to the map shift their data to match.
    tianditu_key : str, optional
        The Tianditu (天地图) browser key; required with ``basemap="tianditu"``.
    title : str, optional
        Shown at the top of the map and as the page title.
    lang : {"zh", "en"}, default "zh"
        Language of the page (base map names, and the ``lang`` of the HTML).
    prefer_canvas : bool, default True
        Draw vector layers on a canvas, which is much faster than SVG for thousands of polygons.

    Returns
    -------
    folium.Map
        Add layers to it, then write it with :func:`save_html` or :func:`to_html`.

    Raises
    ------
    GridmapError
        For an unknown ``basemap`` or ``lang``, or ``basemap="tianditu"`` without a usable key.

    Examples
    --------
    >>> m = base_map(basemap="osm")
    >>> "tile.openstreetmap.org" in to_html(m)
    True
    """
    _check_choice("basemap", basemap, BASEMAPS)
    _check_choice("lang", lang, LANGS)
    tiles = _tile_layers(basemap, tianditu_key=tianditu_key, lang=lang)
    fmap = folium.Map(location=[35.0, 105.0], zoom_start=4, tiles=None, prefer_canvas=prefer_canvas,
                      control_scale=True)
    # Leaflet only: jQuery, Bootstrap and Font Awesome are not needed (see gridmap.maps._assets).
    fmap.default_js = [("leaflet", LEAFLET_JS_URL)]
    fmap.default_css = [("leaflet_css", LEAFLET_CSS_URL)]
    fmap.gridmap_coords = _BASEMAP_COORDS[basemap]  # type: ignore[attr-defined]  # read back by the layers
    fmap.gridmap_lang = lang  # type: ignore[attr-defined]  # read back by to_html
    _Runtime().add_to(fmap)
    for tile in tiles:
        tile.add_to(fmap)
    if title:
        cast(Figure, fmap.get_root()).title = html.escape(title)
        _Title(title).add_to(fmap)
    return fmap


_EXTERNAL_SCRIPT = re.compile(r'<script\b[^>]*?\bsrc="([^"]+)"[^>]*>\s*</script>', re.IGNORECASE)
_EXTERNAL_STYLE = re.compile(r'<link\b[^>]*?\brel="stylesheet"[^>]*?\bhref="([^"]+)"[^>]*/?>', re.IGNORECASE)
_LOADING_TAG = re.compile(r"<(script|link|img|iframe|embed|source|video|audio|object)\b[^>]*?"
                          r"\b(?:src|href|data)\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL)
_CSS_LOAD = re.compile(r"(?:url\(\s*['\"]?|@import\s+['\"])([^'\")\s]+)", re.IGNORECASE)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.IGNORECASE | re.DOTALL)
_JQUERY_CALL = re.compile(r"(?<![\w$.])\$\(")
_JQUERY_OTHER = re.compile(r"(?<![\w$.])(?:\$\.\w+|jQuery\b)")


def _inline(url: str, tag: str) -> str:
    text = asset_for_url(url)
    if f"</{tag}" in text.lower():
        raise GridmapError(f"the asset {url} contains '</{tag}' and cannot be inlined safely",
                           fix="report this to gridmap's maintainers")
    return f"<{tag}>\n{text}\n</{tag}>"


def _check_page_scripts(page: str) -> str:
    """Refuse folium elements that need libraries gridmap does not bundle; return the shim they need."""
    code = "\n".join(_INLINE_SCRIPT.findall(page))
    if "L.AwesomeMarkers" in code:
        raise GridmapError("the map uses folium.Icon (awesome markers), which loads Font Awesome and "
                           "Bootstrap from the internet",
                           fix="use folium.CircleMarker, or folium.Marker without an icon")
    other = _JQUERY_OTHER.search(code)
    if other:
        raise GridmapError(f"the map's code calls jQuery ({other.group(0)!r}), which gridmap does not bundle",
                           fix="embed data instead of loading it (folium.GeoJson(embed=True)) and avoid "
                               "elements that need jQuery")
    return f"<script>{JQUERY_SHIM}</script>\n" if _JQUERY_CALL.search(code) else ""


def _check_self_contained(page: str) -> None:
    """Raise when anything in the page would still be loaded from outside it."""
    found = [match.group(2) for match in _LOADING_TAG.finditer(page)]
    for block in _STYLE_BLOCK.findall(page):
        found += _CSS_LOAD.findall(block)
    external = [ref for ref in found if not ref.startswith(("data:", "#"))]
    if external:
        raise GridmapError(f"the page would load {len(external)} file(s) from outside it: "
                           f"{', '.join(sorted(set(external))[:5])}",
                           fix="remove the elements that link these files, or make gridmap inline them")


def to_html(fmap: folium.Map) -> str:
    """Render ``fmap`` as one self-contained HTML page: every script and style sheet inline.

    Parameters
    ----------
    fmap : folium.Map
        A map made by :func:`base_map` (or :func:`gridmap.maps.overview_map`).

    Returns
    -------
    str
        The page. It makes no request when opened, except for the tiles of an online base map.

    Raises
    ------
    GridmapError
        When the page links a file no installed package supplies (folium's default jQuery/Bootstrap
        links on a plain ``folium.Map``, ``folium.Icon``, most ``folium.plugins``), or anything external
        would remain.

    Examples
    --------
    >>> page = to_html(base_map())
    >>> page.startswith("<!DOCTYPE html>") and "Leaflet 1.9" in page
    True
    """
    page = fmap.get_root().render()
    shim = _check_page_scripts(page)
    page = _EXTERNAL_SCRIPT.sub(lambda match: _inline(match.group(1), "script"), page)
    page = _EXTERNAL_STYLE.sub(lambda match: _inline(match.group(1), "style"), page)
    page = page.replace("</head>", shim + "</head>", 1)
    lang = _HTML_LANG[getattr(fmap, "gridmap_lang", "zh")]
    page = page.replace("<html>", f'<html lang="{lang}">', 1)
    _check_self_contained(page)
    return page


def save_html(fmap: folium.Map, path: str | os.PathLike) -> Path:
    """Write ``fmap`` as a self-contained HTML page (UTF-8), atomically.

    The page is rendered completely before anything is written; it goes to a temporary file in the same
    folder that then replaces ``path``, so a failure leaves any previous file untouched.

    Parameters
    ----------
    fmap : folium.Map
        The map.
    path : str or os.PathLike
        The ``.html`` file to write.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    GridmapError
        When the page cannot be made self-contained (see :func:`to_html`).
    WriteError
        When the file cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = save_html(base_map(), pathlib.Path(folder) / "map.html")
    ...     out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    True
    """
    return write_page(to_html(fmap), path)


def write_page(page: str, path: str | os.PathLike, *, what: str = "map") -> Path:
    """Write a rendered page (UTF-8) atomically, readable by others; return the path.

    The page goes to a temporary file in the same folder that then replaces ``path``
    (:func:`gridmap.io._atomic.write_text`), so a failure or an interruption leaves any previous file
    untouched. An existing file keeps its permissions.

    Raises
    ------
    WriteError
        When the folder is missing or the file cannot be written.
    """
    path = write_text(path, page, what=f"the {what}")
    logger.info("wrote %s (%d bytes)", path, len(page.encode("utf-8")))
    return path
