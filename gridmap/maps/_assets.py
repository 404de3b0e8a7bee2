"""Offline assets: the JavaScript and CSS a gridmap page inlines, read from installed packages.

folium links Leaflet, jQuery, Bootstrap and Font Awesome from public CDNs, so its pages are blank without
network (and in China, where some CDNs are blocked). gridmap inlines every asset instead. The files come
from installed Python packages, never from copies in this repository:

* Leaflet 1.9 (``leaflet.js``, ``leaflet.css`` and the images the CSS refers to) from
  ``django-js-lib-leaflet``, whose files are byte-identical to Leaflet's own npm release and which has no
  dependencies (the import name is ``js_lib_leaflet``; Django is not needed to read its files);
* the Leaflet.heat plugin folium ships in ``folium/templates``.

jQuery, Bootstrap and Font Awesome are not needed by gridmap's maps. folium uses jQuery for two small
things only (parsing a ``folium.Popup``'s HTML and ``$(document).ready``), which :data:`JQUERY_SHIM`
provides; Font Awesome and Bootstrap serve ``folium.Icon`` (awesome markers) only, which gridmap refuses.

The small pieces written here (:func:`runtime_js`, :data:`RUNTIME_CSS`) are gridmap's own page code: layers
whose popups, tooltips and labels are built with ``textContent`` (never ``innerHTML``) so that text from
data can never run as code, labels shown by zoom, and the legend.

Examples
--------
>>> "Leaflet 1.9" in asset_for_url(LEAFLET_JS_URL)[:200]
True
>>> "url(images/" in asset_for_url(LEAFLET_CSS_URL)
False
"""

from __future__ import annotations

import base64
import functools
import importlib.resources
import re
from dataclasses import dataclass
from typing import Literal, overload

from folium.folium import _default_css, _default_js

from gridmap.errors import GridmapError

__all__ = [
    "LEAFLET_JS_URL",
    "LEAFLET_CSS_URL",
    "JQUERY_SHIM",
    "RUNTIME_CSS",
    "runtime_js",
    "asset_for_url",
]

#: folium's own links to Leaflet: kept in the map so that folium's machinery works, replaced when inlined.
LEAFLET_JS_URL = dict(_default_js)["leaflet"]
LEAFLET_CSS_URL = dict(_default_css)["leaflet_css"]

_LEAFLET_PACKAGE = "js_lib_leaflet"
_LEAFLET_DIR = "static/js_lib_leaflet"
_INSTALL_LEAFLET = "pip install 'django-js-lib-leaflet>=1.9.4,<1.10' (it ships Leaflet's files)"


@dataclass(frozen=True)
class _Source:
    """Where the file behind a CDN address is found in an installed package."""

    pattern: re.Pattern
    package: str
    path: str
    install: str


_SOURCES = (
    _Source(re.compile(r"/leaflet@1\.9\.\d+/dist/leaflet\.js$"), _LEAFLET_PACKAGE,
            f"{_LEAFLET_DIR}/leaflet.js", _INSTALL_LEAFLET),
    _Source(re.compile(r"/leaflet@1\.9\.\d+/dist/leaflet\.css$"), _LEAFLET_PACKAGE,
            f"{_LEAFLET_DIR}/leaflet.css", _INSTALL_LEAFLET),
    _Source(re.compile(r"/folium(@[\w.]+)?/folium/templates/leaflet_heat\.min\.js$"), "folium",
            "templates/leaflet_heat.min.js", "pip install --upgrade folium"),
)

_SOURCE_MAP_COMMENT = re.compile(r"^\s*/[/*]# sourceMappingURL=\S+(\s*\*/)?\s*$", re.MULTILINE)
_CSS_URL = re.compile(r"url\((['\"]?)(images/[\w.@-]+\.png)\1\)")


@overload
def _read(package: str, path: str, install: str, *, binary: Literal[False] = ...) -> str: ...
@overload
def _read(package: str, path: str, install: str, *, binary: Literal[True]) -> bytes: ...
def _read(package: str, path: str, install: str, *, binary: bool = False) -> str | bytes:
    try:
        resource = importlib.resources.files(package).joinpath(path)
        return resource.read_bytes() if binary else resource.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise GridmapError(f"the offline map asset {package}/{path} is not installed ({exc})",
                           fix=install) from exc


def _data_uri(path: str) -> str:
    png = _read(_LEAFLET_PACKAGE, f"{_LEAFLET_DIR}/{path}", _INSTALL_LEAFLET, binary=True)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _inline_css_images(css: str) -> str:
    """Replace ``url(images/x.png)`` in Leaflet's CSS by data URIs of the same files."""
    return _CSS_URL.sub(lambda match: f'url("{_data_uri(match.group(2))}")', css)


@functools.cache
def asset_for_url(url: str) -> str:
    """Return the text of the file a CDN ``url`` stands for, read from an installed package.

    Parameters
    ----------
    url : str
        An address folium puts in a ``<script src>`` or ``<link href>``.

    Returns
    -------
    str
        The JavaScript or CSS, ready to inline: source-map comments removed, images as data URIs.

    Raises
    ------
    GridmapError
        When no installed package supplies the file.
    """
    for source in _SOURCES:
        if source.pattern.search(url):
            text = _SOURCE_MAP_COMMENT.sub("", _read(source.package, source.path, source.install))
            return _inline_css_images(text) if url.endswith(".css") else text
    raise GridmapError(
        f"the page links {url}, which gridmap cannot inline and which needs network to load",
        fix="use only gridmap layers and folium elements that need no extra library (folium.Icon, "
            "awesome markers and most folium.plugins load files from the internet), or add a source for "
            "this file to gridmap.maps._assets._SOURCES",
    )


#: folium's templates call jQuery twice: ``$(`<div>...</div>`)[0]`` to turn a folium.Popup's HTML into an
#: element, and ``$(document).ready(f)``. Written here because jQuery itself (90 kB) ships in no
#: dependency-free Python package and nothing else of it is used.
JQUERY_SHIM = """window.$ = window.$ || function (arg) {
  if (typeof arg === "string") {
    var t = document.createElement("template");
    t.innerHTML = arg.trim();
    return Array.prototype.slice.call(t.content.children);
  }
  return {ready: function (f) {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", f); } else { f(); }
  }};
};"""


@functools.cache
def runtime_js() -> str:
    """Return gridmap's page code, with Leaflet's default marker images filled in as data URIs."""
    icons = {key: _data_uri(f"images/{name}") for key, name in
             (("iconUrl", "marker-icon.png"), ("iconRetinaUrl", "marker-icon-2x.png"),
              ("shadowUrl", "marker-shadow.png"))}
    icon_options = ", ".join(f'{key}: "{uri}"' for key, uri in icons.items())
    return _RUNTIME_TEMPLATE.replace("/*ICON_OPTIONS*/", icon_options)


# gridmap's page code. Every piece of text that comes from data is set with textContent, never innerHTML.
_RUNTIME_TEMPLATE = """(function () {
  "use strict";
  var gm = window.gridmap = window.gridmap || {layers: {}, maps: []};
  if (gm.geoLayer) { return; }

  // Leaflet finds its default marker images beside leaflet.css; offline they are data URIs.
  L.Icon.Default.imagePath = "";
  L.Icon.Default.mergeOptions({/*ICON_OPTIONS*/});

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  gm.el = el;

  // A popup: a title and a table of label/value rows; empty values are left out.
  gm.table = function (title, rows) {
    var box = el("div", "gridmap-popup"), table = el("table");
    box.appendChild(el("div", "gridmap-popup-title", title));
    rows.forEach(function (row) {
      if (row[1] === null || row[1] === undefined || row[1] === "") { return; }
      var tr = el("tr");
      tr.appendChild(el("th", null, row[0]));
      tr.appendChild(el("td", null, row[1]));
      table.appendChild(tr);
    });
    box.appendChild(table);
    return box;
  };

  // Permanent labels, each shown from its own zoom level on (where its polygon is wider than the text) and
  // only near the view (a city has thousands of grid labels). Labels must not overlap: finer levels (higher
  // rank: grids over communities over streets) are placed first, and a label that would overlap one already
  // placed is hidden. All wanted labels are added first and measured together (one layout, not one each).
  gm.labelSets = [];
  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }
  // A label's tooltip is made the first time it is wanted (a city has thousands that are never shown).
  gm.labelTip = function (set, item) {
    if (!item.tip) {
      item.tip = L.tooltip({permanent: true, direction: "center", interactive: false, opacity: 1,
                            className: "gridmap-label gridmap-label-" + set.key});
      item.tip.setLatLng(item.latlng).setContent(el("span", null, item.text));
    }
    return item.tip;
  };
  function placeLabels(map) {
    var zoom = map.getZoom(), view = map.getBounds().pad(0.2), wanted = [], placed = [];
    gm.labelSets.slice().sort(function (a, b) { return b.rank - a.rank; }).forEach(function (set) {
      var active = set.group._map === map;
      set.items.forEach(function (item) {
        var shown = item.tip && set.labels.hasLayer(item.tip);
        if (active && zoom >= item.zoom && view.contains(item.latlng)) {
          if (!shown) { set.labels.addLayer(gm.labelTip(set, item)); }
          wanted.push([set, item]);
        } else if (shown) {
          set.labels.removeLayer(item.tip);
        }
      });
    });
    var boxes = wanted.map(function (w) { return w[1].tip.getElement().getBoundingClientRect(); });
    wanted.forEach(function (w, i) {
      if (placed.some(function (other) { return overlaps(boxes[i], other); })) {
        w[0].labels.removeLayer(w[1].tip);
      } else {
        placed.push(boxes[i]);
      }
    });
  }
  gm.placeLabels = placeLabels;
  // items: [{text, latlng, zoom}]
  function addLabels(group, items, key, rank) {
    var labels = L.layerGroup();
    items = items.map(function (item) {
      return {text: item.text, latlng: L.latLng(item.latlng), zoom: item.zoom, tip: null};
    });
    labels.addTo(group);
    gm.labelSets.push({group: group, labels: labels, items: items, rank: rank, key: key});
    group.on("add", function (e) {
      if (e.target !== group) { return; }
      var map = group._map;
      if (!map._gridmapLabels) {
        map._gridmapLabels = true;
        map.on("moveend", function () { placeLabels(map); });
      }
      placeLabels(map);
    });
    group.on("remove", function (e) {
      var map = e.target === group && group._map;
      if (map) { setTimeout(function () { placeLabels(map); }, 0); }  // once the group is off the map
    });
    group.gridmapLabels = labels;
  }
  gm.addLabels = addLabels;

  // Geometry from gridmap.maps.layers.encode_geometry: each line a flat list [x0, y0, dx1, dy1, ...] of
  // integers in units of 1/scale degree.
  gm.decode = function (geometry, scale) {
    function line(flat) {
      var out = [], x = 0, y = 0;
      for (var i = 0; i < flat.length; i += 2) {
        x += flat[i];
        y += flat[i + 1];
        out.push([x / scale, y / scale]);
      }
      return out;
    }
    var c = geometry.coordinates, type = geometry.type;
    if (type === "GeometryCollection") {
      return {type: type, geometries: geometry.geometries.map(function (g) { return gm.decode(g, scale); })};
    }
    var coordinates = type === "Point" ? line(c)[0]
      : (type === "LineString" || type === "MultiPoint") ? line(c)
      : (type === "Polygon" || type === "MultiLineString") ? c.map(line)
      : c.map(function (polygon) { return polygon.map(line); });
    return {type: type, coordinates: coordinates};
  };

  // A data layer: spec = {key, scale, fields, styles, radius, labels (rank or null), data}; properties =
  // {v: [title, values of fields...], s: index into styles, p: label point, z: label zoom}.
  gm.geoLayer = function (spec) {
    var group = L.featureGroup();
    spec.data.features.forEach(function (f) { f.geometry = gm.decode(f.geometry, spec.scale); });
    var geo = L.geoJSON(spec.data, {
      style: function (f) { return spec.styles[f.properties.s]; },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, L.extend({radius: spec.radius}, spec.styles[f.properties.s]));
      },
      onEachFeature: function (f, layer) {
        var v = f.properties.v;
        layer.bindTooltip(function () { return el("span", null, v[0]); }, {sticky: true});
        layer.bindPopup(function () {
          return gm.table(v[0], spec.fields.map(function (name, i) { return [name, v[i + 1]]; }));
        });
      }
    });
    geo.addTo(group);
    if (spec.labels !== null) {
      addLabels(group, spec.data.features.filter(function (f) { return f.properties.p; }).map(function (f) {
        return {text: f.properties.v[0], latlng: f.properties.p, zoom: f.properties.z};
      }), spec.key, spec.labels);
    }
    group.gridmapGeo = geo;
    gm.layers[spec.key] = group;
    return group;
  };

  // The legend: a collapsible box, open on wide screens, closed on phones.
  gm.legend = function (map, spec) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var box = el("details", "gridmap-legend leaflet-bar");
      box.open = map.getSize().x >= 600;
      box.appendChild(el("summary", null, spec.title));
      spec.items.forEach(function (item) {
        var row = el("div", "gridmap-legend-item"), key = el("span", "gridmap-legend-key " + item.shape);
        key.style.borderColor = item.color;
        key.style.background = item.fill || "transparent";
        if (item.dashed) { key.style.borderStyle = "dashed"; }
        row.appendChild(key);
        row.appendChild(el("span", null, item.label));
        box.appendChild(row);
      });
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    control.addTo(map);
    return control;
  };

  gm.title = function (map, text) {
    var node = el("div", "gridmap-title", text);
    map.getContainer().appendChild(node);
    L.DomEvent.disableClickPropagation(node);
    return node;
  };
})();"""

#: Styles of gridmap's page pieces; the plain background is what the map shows without a base map. The title
#: lies under Leaflet's controls (z-index 1000), so that a long title never hides the layer control or search.
RUNTIME_CSS = """.leaflet-container { background: #f2efe9; font-family: "Noto Sans CJK SC", "PingFang SC",
  "Microsoft YaHei", "Helvetica Neue", Arial, sans-serif; }
.gridmap-popup-title { font-weight: bold; font-size: 14px; margin-bottom: 4px; }
.gridmap-popup table { border-collapse: collapse; font-size: 12px; }
.gridmap-popup th { text-align: left; font-weight: normal; color: #666; padding: 1px 8px 1px 0;
  white-space: nowrap; }
.gridmap-popup td { padding: 1px 0; }
.leaflet-tooltip.gridmap-label { background: transparent; border: 0; box-shadow: none; padding: 0;
  font-size: 12px; color: #222; white-space: nowrap;
  text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff, 0 0 4px #fff; }
.leaflet-tooltip.gridmap-label:before { display: none; }
.leaflet-tooltip.gridmap-label-street { font-weight: bold; color: #4a1d5c; }
.gridmap-legend { background: #fff; padding: 4px 8px; font-size: 12px; line-height: 18px; max-width: 60vw; }
.gridmap-legend summary { cursor: pointer; font-weight: bold; }
.gridmap-legend-key { display: inline-block; width: 14px; height: 10px; margin-right: 6px; border: 2px solid;
  vertical-align: middle; box-sizing: border-box; }
.gridmap-legend-key.point { width: 10px; border-radius: 50%; }
.gridmap-legend-key.line { height: 0; border-width: 3px 0 0; }
.gridmap-title { position: absolute; z-index: 999; top: 10px; left: 50%; transform: translateX(-50%);
  max-width: calc(100% - 130px); overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  background: rgba(255, 255, 255, 0.9); padding: 4px 12px; border-radius: 4px; font-size: 16px;
  font-weight: bold; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); pointer-events: auto; }"""

