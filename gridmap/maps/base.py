r"""Map creation and self-contained HTML: pages that open with no network.

:func:`base_map` makes a ``folium.Map`` whose page needs nothing but Leaflet (no jQuery, Bootstrap or
Font Awesome), with an optional base map; :func:`to_html` renders it with every script and style sheet
inline and refuses to return a page that would still load something from the internet; :func:`save_html`
writes that page atomically.

Only the online base maps (``"osm"``, ``"tianditu"``, ``"amap"``) and a URL template of your own make
requests, for their tiles; a folder of tiles or an MBTiles file is put into the page (see
:mod:`gridmap.maps.tiles`). Amap (Gaode) tiles, and your own declared ``crs="gcj02"``, are in GCJ-02
coordinates: gridmap's layers on such a map shift their data from WGS84 to GCJ-02 themselves (see
:mod:`gridmap.maps.layers`).

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
import logging
import os
import re
from pathlib import Path
from typing import Any, cast

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
from gridmap.maps._escape import control_label, js_string
from gridmap.maps.tiles import TilesLike, TileSource, tile_layers, tile_source

__all__ = ["BASEMAPS", "LANGS", "base_map", "to_html", "save_html", "write_page", "js_string",
           "control_label", "RawHTML"]

logger = logging.getLogger(__name__)

#: Base maps: ``none`` (offline, plain background), ``osm``, ``tianditu`` 天地图 (needs a key), ``amap`` 高德.
BASEMAPS = ("none", "osm", "tianditu", "amap")
#: Languages of map text.
LANGS = ("zh", "en")

_HTML_LANG = {"zh": "zh-CN", "en": "en"}

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


def base_map(*, basemap: str = "none", tiles: TilesLike = None,
             tianditu_key: str | None = None, title: str | None = None, lang: str = "zh",
             prefer_canvas: bool = True) -> folium.Map:
    """Return an empty ``folium.Map`` whose page works offline, with a scale bar.

    Parameters
    ----------
    basemap : {"none", "osm", "tianditu", "amap"}, default "none"
        ``"none"`` draws a plain background and makes no request; the others load tiles from the
        internet. ``"amap"`` tiles are GCJ-02: gridmap layers added to the map shift their data to match.
    tiles : str, os.PathLike or TileSource, optional
        Instead of ``basemap``: a built-in name (``"gaode"``, ``"osm"``, ``"tianditu"``) or your own offline
        or intranet tiles, :func:`gridmap.maps.tile_source` ``(folder, .mbtiles file or URL template,
        crs="wgs84"|"gcj02")`` (see :mod:`gridmap.maps.tiles`). On GCJ-02 tiles the layers shift their data.
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
        For an unknown ``basemap`` or ``lang``, ``basemap="tianditu"`` without a usable key, both
        ``basemap`` and ``tiles``, or unusable ``tiles`` (see :func:`gridmap.maps.tile_source`).

    Examples
    --------
    >>> m = base_map(basemap="osm")
    >>> "tile.openstreetmap.org" in to_html(m)
    True
    """
    _check_choice("basemap", basemap, BASEMAPS)
    _check_choice("lang", lang, LANGS)
    source = _source(basemap, tiles)
    layers = tile_layers(source, lang=lang, tianditu_key=tianditu_key)
    fmap = folium.Map(location=[35.0, 105.0], zoom_start=4, tiles=None, prefer_canvas=prefer_canvas,
                      control_scale=True)
    # Leaflet only: jQuery, Bootstrap and Font Awesome are not needed (see gridmap.maps._assets).
    fmap.default_js = [("leaflet", LEAFLET_JS_URL)]
    fmap.default_css = [("leaflet_css", LEAFLET_CSS_URL)]
    # read back by the layers, which shift their data to the tiles' coordinates
    fmap.gridmap_coords = "wgs84" if source is None else source.crs  # type: ignore[attr-defined]
    fmap.gridmap_lang = lang  # type: ignore[attr-defined]  # read back by to_html
    _Runtime().add_to(fmap)
    for layer in layers:
        layer.add_to(fmap)
    if title:
        cast(Figure, fmap.get_root()).title = html.escape(title)
        _Title(title).add_to(fmap)
    return fmap


def _source(basemap: str, tiles) -> TileSource | None:
    """Return the base map's tiles: ``tiles`` (a source or a built-in name), else the built-in ``basemap``."""
    if tiles is not None and not (isinstance(tiles, str) and tiles == "none"):
        if basemap != "none":
            raise GridmapError(f"basemap={basemap!r} and tiles= both name a base map",
                               fix="give one of them (tiles= also takes the built-in names)")
        return tile_source(tiles)
    return None if basemap == "none" else tile_source(basemap)


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
    other = _JQUERY_OTHER.search(code) if "$." in code or "jQuery" in code else None  # look only if it may
    if other:
        raise GridmapError(f"the map's code calls jQuery ({other.group(0)!r}), which gridmap does not bundle",
                           fix="embed data instead of loading it (folium.GeoJson(embed=True)) and avoid "
                               "elements that need jQuery")
    return f"<script>{JQUERY_SHIM}</script>\n" if "$(" in code and _JQUERY_CALL.search(code) else ""


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
