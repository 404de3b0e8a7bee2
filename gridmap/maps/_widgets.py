"""Page code of the one-screen map: shared-arc grids, choropleth switching, legend, search, fullscreen, heat.

Written here rather than taken from Leaflet plugins because no installed Python package ships
Leaflet.fullscreen or leaflet-search (folium links them from CDNs), and because the grid layer reads
gridmap's own compact format (:mod:`gridmap.maps._topology`). Like the foundation's runtime, every text
from data is put in the page with ``textContent``; nothing is parsed as HTML.

:class:`WidgetRuntime` puts the code into the page header once, after gridmap's base runtime.
"""

from __future__ import annotations

from typing import Any, cast

from branca.element import Figure, MacroElement
from folium.template import Template

from gridmap.maps.base import RawHTML

__all__ = ["WIDGETS_JS", "WIDGETS_CSS", "WidgetRuntime"]

WIDGETS_JS = """(function () {
  "use strict";
  var gm = window.gridmap;
  if (gm.gridLayer) { return; }
  var el = gm.el;

  // Integers written by gridmap.maps._topology.encode_numbers (5 bits a character, zigzag sign).
  function numbers(text) {
    var out = [], value = 0, factor = 1;
    for (var i = 0; i < text.length; i++) {
      var chunk = text.charCodeAt(i) - 63;
      value += (chunk & 31) * factor;
      factor *= 32;
      if (chunk < 32) {
        out.push(value % 2 ? -(value + 1) / 2 : value / 2);
        value = 0;
        factor = 1;
      }
    }
    return out;
  }
  gm.numbers = numbers;

  // The first two integers of an encoded text.
  function firstTwo(text) {
    var out = [], value = 0, factor = 1;
    for (var i = 0; i < text.length && out.length < 2; i++) {
      var chunk = text.charCodeAt(i) - 63;
      value += (chunk & 31) * factor;
      factor *= 32;
      if (chunk < 32) {
        out.push(value % 2 ? -(value + 1) / 2 : value / 2);
        value = 0;
        factor = 1;
      }
    }
    return out;
  }

  // Points written as steps: [x0, y0, dx1, dy1, ...] -> [[lat, lng], ...].
  function points(text, spec) {
    var n = numbers(text), x = 0, y = 0, out = [];
    for (var i = 0; i < n.length; i += 2) {
      x += n[i];
      y += n[i + 1];
      out.push(L.latLng((y + spec.translate[1]) / spec.scale, (x + spec.translate[0]) / spec.scale));
    }
    return out;
  }

  // Shared arcs -> per shape a list of parts, each a list of rings of LatLngs. Neighbours share the very
  // same LatLng objects along their common edge.
  gm.topology = function (spec) {
    var arcs = spec.arcs.map(function (text) { return points(text, spec); });
    function ring(text) {
      var out = [], ref = 0, steps = numbers(text), i, j, arc;
      for (i = 0; i < steps.length; i++) {
        ref += steps[i];
        arc = arcs[ref >= 0 ? ref : ~ref];
        if (ref >= 0) {
          for (j = out.length ? 1 : 0; j < arc.length; j++) { out.push(arc[j]); }
        } else {
          for (j = arc.length - (out.length ? 2 : 1); j >= 0; j--) { out.push(arc[j]); }
        }
      }
      out.pop();  // the closing point repeats the first
      return out;
    }
    function shape(text) {
      return text ? text.split(";").map(function (part) { return part.split(",").map(ring); }) : [];
    }
    return spec.shapes.split(" ").map(shape);
  };

  // Compact lazy grids (gridmap.maps.levels.LazyGridLayer): codes with shared prefixes, numbers encoded.
  gm.expand = function (spec) {
    if (typeof spec.codes === "string") {
      var previous = "";
      spec.codes = spec.codes.split(" ").map(function (text) {
        previous = previous.slice(0, text.charCodeAt(0) - 65) + text.slice(1);
        return previous;
      });
    }
    spec.fields.forEach(function (field) {
      if (field.enc !== undefined) {
        field.values = numbers(field.enc).map(function (n) {
          return n === 0 ? null : (n > 0 ? n - 1 : n) / field.div;
        });
      }
      if (field.indexSteps !== undefined) {
        var at = 0;
        field.index = numbers(field.indexSteps).map(function (n) { at += n; return at < 0 ? null : at; });
      }
    });
  };

  // The same, one shape at a time (lazy grids): arcs are decoded the first time a shape needs them. Arcs
  // come as one string; chained: each arc's first point is relative to the previous arc's.
  gm.lazyTopology = function (spec, chained) {
    var texts = typeof spec.arcs === "string" ? spec.arcs.split(" ") : spec.arcs;
    var decoded = new Array(texts.length), starts = null;
    if (chained) {  // the absolute first point of each arc: sum the first two numbers of every arc
      starts = new Array(texts.length);
      var x = 0, y = 0;
      for (var k = 0; k < texts.length; k++) {
        var first = firstTwo(texts[k]);
        x += first[0];
        y += first[1];
        starts[k] = [x - first[0], y - first[1]];
      }
    }
    function arc(i) {
      if (!decoded[i]) {
        var shifted = starts ? {scale: spec.scale, translate: [spec.translate[0] + starts[i][0],
                                                               spec.translate[1] + starts[i][1]]} : spec;
        decoded[i] = points(texts[i], shifted);
      }
      return decoded[i];
    }
    function ring(text) {
      var out = [], ref = 0, steps = numbers(text), i, j, a;
      for (i = 0; i < steps.length; i++) {
        ref += steps[i];
        a = arc(ref >= 0 ? ref : ~ref);
        if (ref >= 0) {
          for (j = out.length ? 1 : 0; j < a.length; j++) { out.push(a[j]); }
        } else {
          for (j = a.length - (out.length ? 2 : 1); j >= 0; j--) { out.push(a[j]); }
        }
      }
      out.pop();
      return out;
    }
    // Other shapes over the same arcs (levels read off the grids' arcs), decoded once for all of them.
    function over(text) {
      var shapes = text.split(" "), shapeOf = function (i) {
        var shape = shapes[i];
        return shape ? shape.split(";").map(function (part) { return part.split(",").map(ring); }) : [];
      };
      shapeOf.over = over;
      return shapeOf;
    }
    return over(spec.shapes);
  };

  function textWidth(text) {
    var px = 6;
    for (var i = 0; i < text.length; i++) { px += text.charCodeAt(i) >= 0x2E80 ? 12 : 7; }
    return px;
  }

  gm.format = function (value, unit, lang) {
    if (value === null || value === undefined || value === "") { return null; }
    if (Array.isArray(value)) { return value.join(lang === "zh" ? "、" : ", "); }
    if (typeof value === "number") {
      value = value.toLocaleString("en-US", {maximumFractionDigits: 2});
    }
    return unit ? value + " " + unit : String(value);
  };

  // The grids: spec = {key, scale, translate, arcs, shapes, titles, fields: [{label, values | dict+index,
  // unit}], measures: [{name, unit, field, classes (one character per grid), colors, items}], measure,
  // style, labels (rank or null), labelAt (encoded points), lang, popupFocus}. titles null: the codes.
  // lazy (optional, gridmap.maps.levels): {zoom, groups: [[first, end, south, west, north, east]], labelZoom}
  // — the grids of a group (a community) are decoded and drawn only from that zoom on, near the view.
  gm.gridLayer = function (spec, lazy) {
    if (lazy) { gm.expand(spec); }
    var group = L.featureGroup(), polygons = [], titles = spec.titles || spec.codes;
    var shapeOf = lazy ? gm.lazyTopology(spec, lazy.chained) : null, shapes = lazy ? null : gm.topology(spec);
    var at = spec.labelAt ? points(spec.labelAt, spec) : null;
    function value(field, i) {
      return field.values ? field.values[i] : (field.index[i] === null ? null : field.dict[field.index[i]]);
    }
    group.value = value;
    group.rows = function (i) {
      return spec.fields.map(function (field) {
        return [field.label, gm.format(value(field, i), field.unit, spec.lang)];
      });
    };
    group.classOf = function (measure, i) {
      var c = measure.classes.charAt(i);
      return c >= "0" && c <= "9" ? Number(c) : c;
    };
    function fill(index, i) {
      var measure = index === null ? null : spec.measures[index];
      if (!measure) { return {fillColor: spec.style.fillColor, fillOpacity: spec.style.fillOpacity}; }
      var c = group.classOf(measure, i);
      return typeof c === "number" ? {fillColor: measure.colors[c], fillOpacity: 0.7}
        : {fillColor: c === "s" ? "#bdbdbd" : "#ffffff", fillOpacity: c === "s" ? 0.6 : 0.3};
    }
    group.measure = spec.measure;
    function make(parts, i) {
      if (!parts.length) { return null; }
      var polygon = L.polygon(parts.length === 1 ? parts[0] : parts,
                              L.extend({}, spec.style, fill(group.measure, i)));
      polygon.gridmapIndex = i;
      return polygon;
    }
    // The polygon of grid i, made when first wanted (lazy grids) — null when nothing of it is left.
    group.ensure = function (i) {
      if (polygons[i] === undefined) { polygons[i] = make(shapeOf(i), i); }
      return polygons[i];
    };
    if (lazy) {
      polygons.length = spec.codes.length;
    } else {
      shapes.forEach(function (parts, i) {
        polygons.push(make(parts, i));
        if (polygons[i]) { group.addLayer(polygons[i]); }
      });
    }
    // One tooltip and one popup for the whole layer (not one each for thousands of grids).
    // Popups pan clear of the controls at the top left (zoom, search, fullscreen) and the title.
    var tip = L.tooltip({sticky: true}), popup = L.popup({maxWidth: 320, autoPanPaddingTopLeft: [10, 175]});
    group.on("mouseover", function (e) {
      var map = group._map;
      if (!map || e.layer.gridmapIndex === undefined) { return; }
      tip.setContent(el("span", null, titles[e.layer.gridmapIndex])).setLatLng(e.latlng).addTo(map);
    });
    group.on("mousemove", function (e) {
      if (group._map && group._map.hasLayer(tip)) { tip.setLatLng(e.latlng); }
    });
    group.on("mouseout", function () { if (group._map) { group._map.removeLayer(tip); } });
    group.openAt = function (i, latlng) {
      var map = group._map, polygon = group.ensure(i);
      if (!map || !polygon) { return; }
      if (map.hasLayer(tip)) { map.removeLayer(tip); }
      popup.setLatLng(latlng || polygon.getCenter()).setContent(gm.table(titles[i], group.rows(i)));
      popup.openOn(map);
      group.opened = i;
    };
    group.on("click", function (e) {
      if (e.layer.gridmapIndex !== undefined) { group.openAt(e.layer.gridmapIndex, e.latlng); }
    });
    group.polygons = polygons;
    group.spec = spec;
    group.titles = titles;
    group.shapeOf = shapeOf;
    group.setMeasure = function (index) {
      if (index !== group.measure) {
        group.measure = index;
        polygons.forEach(function (polygon, i) { if (polygon) { polygon.setStyle(fill(index, i)); } });
      }
      group.fire("measurechange", {measure: index === null ? null : spec.measures[index]});
    };
    group.zoomTo = function (i) {
      var polygon = group.ensure(i), map = group._map;
      if (!polygon || !map) { return; }
      map.fitBounds(polygon.getBounds(), {maxZoom: 17, animate: false});
      group.openAt(i);
    };
    group.indexOf = function (code) { return spec.codes.indexOf(code); };
    if (lazy) { gm.lazyGrids(group, lazy, at, titles); } else if (spec.labels !== null && at) {
      gm.addLabels(group, polygons.map(function (polygon, i) {
        if (!polygon) { return null; }
        var bounds = polygon.getBounds(), width = bounds.getEast() - bounds.getWest();
        var zoom = width > 0 ? Math.ceil(Math.log2(textWidth(titles[i]) * 360 / (256 * width))) : 99;
        return {text: titles[i], latlng: at[i], zoom: Math.min(Math.max(zoom, 0), 22)};
      }).filter(function (item) { return item; }), spec.key, spec.labels);
    }
    group.gridmapGeo = group;
    gm.layers[spec.key] = group;
    gm.grid = group;
    return group;
  };

  // A choropleth as a base layer: adding it colours the grids, removing it takes the colours away.
  gm.measureLayer = function (grid, index) {
    var layer = L.layerGroup();
    layer.on("add", function () { grid.setMeasure(index); });
    layer.on("remove", function () { if (grid.measure === index) { grid.setMeasure(null); } });
    return layer;
  };

  // Legend of the shown measure (classes with units) above the boundary and unit keys.
  gm.measureLegend = function (map, grid, spec) {
    var control = L.control({position: "bottomright"}), box, classes;
    function key(color, border, shape) {
      var node = el("span", "gridmap-legend-key " + (shape || "area"));
      node.style.borderColor = border || color;
      node.style.background = color || "transparent";
      return node;
    }
    function row(node, text) {
      var line = el("div", "gridmap-legend-item");
      line.appendChild(node);
      line.appendChild(el("span", null, text));
      return line;
    }
    function render() {
      classes.textContent = "";
      // the measure of the level on display (gridmap.maps.levels), else of the grids
      var measure = grid.measure === null ? null : (grid.shownMeasures || grid.spec.measures)[grid.measure];
      if (!measure) { return; }
      classes.appendChild(el("div", "gridmap-legend-measure", measure.name + " (" + measure.unit + ")"));
      measure.items.forEach(function (item) {
        var color = typeof item.c === "number" ? measure.colors[item.c]
          : item.c === "s" ? "#bdbdbd" : "#ffffff";
        classes.appendChild(row(key(color, "#888"), item.label));
      });
    }
    // An entry of an optional layer (item.layer: its key in gridmap.layers) shows while the layer is on.
    function follow(item, line) {
      var layer = gm.layers[item.layer];
      line.style.display = layer && map.hasLayer(layer) ? "" : "none";
      if (layer) {
        layer.on("add remove", function (e) {
          if (e.target === layer) { line.style.display = e.type === "add" ? "" : "none"; }
        });
      }
    }
    control.onAdd = function () {
      box = el("details", "gridmap-legend leaflet-bar");
      box.open = map.getSize().x >= 600;
      box.appendChild(el("summary", null, spec.title));
      classes = el("div", "gridmap-legend-classes");
      box.appendChild(classes);
      spec.items.forEach(function (item) {
        var line;
        if (item.heading) {
          line = el("div", "gridmap-legend-measure", item.label);
        } else {
          var node = key(item.fill, item.color, item.shape);
          if (item.dashed) { node.style.borderStyle = "dashed"; }
          line = row(node, item.label);
        }
        if (item.layer) {
          line.setAttribute("data-layer", item.layer);
          follow(item, line);
        }
        box.appendChild(line);
      });
      render();
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    grid.on("measurechange", function () { if (classes) { render(); } });
    control.addTo(map);
    return control;
  };

  // An optional layer over the grids (gridmap.maps.overlays): spec = {key, scale, lineScale, radius, fields,
  // styles, features: [{g: grid position}, {geometry} or {lines}, v: [title, values of fields...], s: style
  // index]}. A feature on a grid takes that grid's polygon from the grid layer, made when the layer is first
  // shown; lines are texts of integer steps of 1/lineScale degree (gridmap.maps.overlays._line_texts).
  gm.overlay = function (spec, grid) {
    var group = L.featureGroup(), made = false, steps = {translate: [0, 0], scale: spec.lineScale};
    function line(text) { return points(text, steps); }
    function bind(layer, v) {
      layer.bindTooltip(function () { return el("span", null, v[0]); }, {sticky: true});
      layer.bindPopup(function () {
        return gm.table(v[0], spec.fields.map(function (name, i) { return [name, v[i + 1]]; }));
      }, {maxWidth: 360});
    }
    function make() {
      made = true;
      spec.features.forEach(function (f) {
        var style = spec.styles[f.s], layer;
        if (f.g !== undefined) {
          var polygon = grid.ensure(f.g);
          if (!polygon) { return; }
          layer = L.polygon(polygon.getLatLngs(), style);
          layer.gridmapIndex = f.g;
        } else if (f.lines) {
          layer = L.polyline(f.lines.map(line), style);
        } else {
          layer = L.geoJSON(gm.decode(f.geometry, spec.scale), {
            style: function () { return style; },
            pointToLayer: function (p, latlng) {
              return L.circleMarker(latlng, L.extend({radius: spec.radius}, style));
            }
          });
        }
        bind(layer, f.v);
        group.addLayer(layer);
      });
    }
    group.on("add", function (e) { if (e.target === group && !made) { make(); } });
    group.spec = spec;
    gm.layers[spec.key] = group;
    return group;
  };

  // Search by grid code, compound or village name, community or street name. spec = {placeholder, empty,
  // gridKind, units: [[name, kind label, grid index]], places: [[name, kind label, layer key, feature index,
  // bounds]]}.
  gm.search = function (map, grid, spec) {
    var control = L.control({position: "topleft"}), entries = [];
    if (grid) {
      grid.titles.forEach(function (title, i) {
        entries.push({text: grid.spec.codes[i], label: title, kind: spec.gridKind, grid: i});
      });
    }
    spec.units.forEach(function (u) { entries.push({text: u[0], label: u[0], kind: u[1], grid: u[2]}); });
    spec.places.forEach(function (p) {
      entries.push({text: p[0], label: p[0], kind: p[1], layer: p[2], feature: p[3], bounds: p[4]});
    });
    entries.forEach(function (e) {
      e.key = String(e.text).toLowerCase();
      e.alt = String(e.label).toLowerCase();
    });
    function go(entry) {
      if (entry.grid !== undefined) { grid.zoomTo(entry.grid); return; }
      map.fitBounds(entry.bounds, {animate: false});
      var layer = gm.layers[entry.layer];
      if (layer && layer.openAt && entry.feature !== null) { layer.openAt(entry.feature); return; }
      if (layer && map.hasLayer(layer) && entry.feature !== null) {
        var feature = layer.gridmapGeo.getLayers()[entry.feature];
        if (feature) { feature.openPopup(L.latLngBounds(entry.bounds).getCenter()); }
      }
    }
    control.onAdd = function () {
      var box = el("div", "gridmap-search leaflet-bar"), input = el("input"), list = el("ul"), found = [];
      input.type = "search";
      input.placeholder = spec.placeholder;
      input.setAttribute("aria-label", spec.placeholder);
      box.appendChild(input);
      box.appendChild(list);
      function show() {
        var q = input.value.trim().toLowerCase();
        list.textContent = "";
        found = [];
        if (!q) { return; }
        for (var i = 0; i < entries.length && found.length < 8; i++) {
          if (entries[i].key.indexOf(q) >= 0 || entries[i].alt.indexOf(q) >= 0) { found.push(entries[i]); }
        }
        if (!found.length) { list.appendChild(el("li", "gridmap-search-empty", spec.empty)); }
        found.forEach(function (entry) {
          var item = el("li", "gridmap-search-result");
          item.appendChild(el("span", null, entry.label));
          item.appendChild(el("small", null, entry.kind));
          item.addEventListener("click", function () { pick(entry); });
          list.appendChild(item);
        });
      }
      function pick(entry) {
        list.textContent = "";
        input.value = entry.label;
        input.blur();
        go(entry);
      }
      input.addEventListener("input", show);
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && found.length) { pick(found[0]); }
        if (e.key === "Escape") { input.value = ""; show(); }
      });
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    control.addTo(map);
    control.entries = entries;
    gm.searchControl = control;
    return control;
  };

  // Fullscreen with the browser's Fullscreen API (no plugin): the map, or the whole page (cockpit).
  gm.fullscreen = function (map, spec) {
    var root = document.documentElement;
    if (!(root.requestFullscreen || root.webkitRequestFullscreen)) { return null; }
    var control = L.control({position: "topleft"});
    function current() { return document.fullscreenElement || document.webkitFullscreenElement; }
    control.onAdd = function () {
      var bar = el("div", "leaflet-bar gridmap-fullscreen"), button = el("a");
      // four corner marks, drawn as SVG (the fullscreen sign U+26F6 is missing from most fonts)
      var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
      var path = document.createElementNS(ns, "path");
      svg.setAttribute("viewBox", "0 0 16 16");
      svg.setAttribute("width", "16");
      svg.setAttribute("height", "16");
      path.setAttribute("d", "M1 5V1h4M11 1h4v4M15 11v4h-4M5 15H1v-4");
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "#333");
      path.setAttribute("stroke-width", "2");
      svg.appendChild(path);
      button.appendChild(svg);
      button.href = "#";
      button.setAttribute("role", "button");
      button.title = spec.enter;
      button.setAttribute("aria-label", spec.enter);
      bar.appendChild(button);
      L.DomEvent.on(button, "click", function (e) {
        L.DomEvent.preventDefault(e);
        var target = spec.page ? root : map.getContainer();
        if (current()) {
          (document.exitFullscreen || document.webkitExitFullscreen).call(document);
        } else {
          (target.requestFullscreen || target.webkitRequestFullscreen).call(target);
        }
      });
      L.DomEvent.disableClickPropagation(bar);
      document.addEventListener("fullscreenchange", function () {
        button.title = current() ? spec.exit : spec.enter;
        map.invalidateSize();
      });
      return bar;
    };
    control.addTo(map);
    return control;
  };

  // Case heat map (Leaflet.heat): spec = {scale, translate, points (encoded steps), weights, options}.
  gm.heat = function (spec) {
    var latlngs = spec.points ? points(spec.points, spec) : [], weights = spec.weights;
    return L.heatLayer(latlngs.map(function (p, i) { return [p.lat, p.lng, weights ? weights[i] : 1]; }),
                       spec.options);
  };
})();"""

WIDGETS_CSS = """.gridmap-search { background: #fff; padding: 2px; }
.gridmap-search input { width: 210px; max-width: 52vw; border: 0; padding: 6px 8px; font-size: 14px;
  outline: none; }
.gridmap-search ul { list-style: none; margin: 0; padding: 0; max-height: 40vh; overflow-y: auto; }
.gridmap-search li { padding: 5px 8px; border-top: 1px solid #eee; font-size: 13px; }
.gridmap-search li.gridmap-search-result { cursor: pointer; }
.gridmap-search li.gridmap-search-result:hover { background: #eef4fb; }
.gridmap-search li small { color: #777; margin-left: 8px; }
.gridmap-search-empty { color: #777; }
.gridmap-fullscreen a { display: flex; align-items: center; justify-content: center; }
.gridmap-legend-measure { font-weight: bold; margin-top: 4px; }
.gridmap-legend[open] { max-height: 45vh; overflow-y: auto; }
.leaflet-top.leaflet-right { z-index: 1001; }  /* the open layer control lies over a long legend */
.gridmap-legend-classes { margin-bottom: 4px; }
.leaflet-tooltip.gridmap-label-grid { font-size: 11px; color: #7a3b00; }"""


class WidgetRuntime(MacroElement):
    """Puts :data:`WIDGETS_JS` and :data:`WIDGETS_CSS` into the page header once."""

    _template = Template("")

    # branca types Element.render as returning str; MacroElement.render, the base here, returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        figure = cast(Figure, self.get_root())
        figure.header.add_child(RawHTML(f"<style>{WIDGETS_CSS}</style>"), name="gridmap_widgets_css")
        figure.header.add_child(RawHTML(f"<script>{WIDGETS_JS}</script>"), name="gridmap_widgets_js")
        super().render(**kwargs)
