"""Page code of the levels of detail (:mod:`gridmap.maps.levels`): lazy grids, level layers, the switch.

Put into the page header by :class:`gridmap.maps.levels.LevelsControl`, after the widgets
(:mod:`gridmap.maps._widgets`) whose ``gridmap.gridLayer`` calls ``gridmap.lazyGrids``. Text from data is
set with ``textContent`` only.
"""

__all__ = ["LEVELS_JS"]

LEVELS_JS = """(function () {
  "use strict";
  var gm = window.gridmap;
  if (gm.levels) { return; }
  var el = gm.el;

  function chars(text, first) {
    var out = [];
    for (var i = 0; i < text.length; i++) { out.push(text.charCodeAt(i) - first); }
    return out;
  }
  function points(text, spec) {
    var n = gm.numbers(text), x = 0, y = 0, out = [];
    for (var i = 0; i < n.length; i += 2) {
      x += n[i];
      y += n[i + 1];
      out.push(L.latLng((y + spec.translate[1]) / spec.scale, (x + spec.translate[0]) / spec.scale));
    }
    return out;
  }

  // Grids drawn by community: those of the communities near the view, from lazy.zoom on (see gridLayer).
  gm.lazyGrids = function (grid, lazy, at, titles) {
    var shown = [], bounds = lazy.groups.map(function (g) {
      return L.latLngBounds([g[2], g[3]], [g[4], g[5]]);
    });
    grid.lazy = lazy;
    grid.update = function () {
      var map = grid._map;
      if (!map) { return; }
      var on = map.getZoom() >= lazy.zoom, view = map.getBounds().pad(0.1), count = 0;
      lazy.groups.forEach(function (g, k) {
        var want = on && view.intersects(bounds[k]), i, polygon;
        if (want && !shown[k]) {
          for (i = g[0]; i < g[1]; i++) { polygon = grid.ensure(i); if (polygon) { grid.addLayer(polygon); } }
        } else if (!want && shown[k]) {
          for (i = g[0]; i < g[1]; i++) { if (grid.polygons[i]) { grid.removeLayer(grid.polygons[i]); } }
        }
        shown[k] = want;
        if (want) { count += g[1] - g[0]; }
      });
      grid.drawnCount = count;
    };
    grid.on("add", function (e) {
      if (e.target !== grid) { return; }
      var map = grid._map;
      if (!map._gridmapLazy) {
        map._gridmapLazy = true;
        map.on("moveend", function () { if (grid._map) { grid.update(); } });
      }
      grid.update();
    });
    grid.on("remove", function (e) { if (e.target === grid) { shown = []; } });
    if (grid.spec.labels !== null) {  // a grid's label is placed when its polygon is made
      var zooms = chars(lazy.labelZoom, 65), ensure = grid.ensure;
      gm.addLabels(grid, [], grid.spec.key, -1);
      var labels = gm.labelSets[gm.labelSets.length - 1];
      grid.ensure = function (i) {
        var made = grid.polygons[i] === undefined, polygon = ensure(i);
        if (made && polygon) {
          labels.items.push({text: titles[i], latlng: middle(polygon), tip: null,
                             zoom: Math.max(zooms[i], Math.ceil(lazy.zoom))});
        }
        return polygon;
      };
    }
  };

  // The mean of the outer ring's vertices: inside a convex grid, near the middle of most others.
  function middle(polygon) {
    var ring = polygon.getLatLngs()[0], lat = 0, lng = 0;
    if (Array.isArray(ring[0])) { ring = ring[0]; }
    ring.forEach(function (p) { lat += p.lat; lng += p.lng; });
    return L.latLng(lat / ring.length, lng / ring.length);
  }

  // One level (districts, streets, communities): spec = {key, scale, translate, arcs, shapes, rows (title,
  // values), fields, measures (this level's classes of the grid measures), zoom, style, labelAt, labelZoom,
  // boxes (each unit's bounds around its label point)}. arcs null: the shapes refer to the arcs of the grid
  // layer (unions of its grids).
  gm.levelLayer = function (spec, grid) {
    var shapeOf = spec.arcs === null ? grid.shapeOf.over(spec.shapes) : gm.lazyTopology(spec, true);
    var group = L.featureGroup(), made = 0, boxes = null;
    var at = points(spec.labelAt, spec), zooms = chars(spec.labelZoom, 65), polygons = new Array(at.length);
    var tip = L.tooltip({sticky: true}), popup = L.popup({maxWidth: 320, autoPanPaddingTopLeft: [10, 175]});
    group.spec = spec;
    group.mode = "off";
    group.measure = null;
    group.renderer = gm.levelRenderer();
    function bounds(i) {
      if (!boxes) {
        var n = gm.numbers(spec.boxes), s = spec.scale;
        boxes = at.map(function (p, k) {
          return L.latLngBounds([p.lat + n[4 * k + 1] / s, p.lng + n[4 * k] / s],
                                [p.lat + n[4 * k + 3] / s, p.lng + n[4 * k + 2] / s]);
        });
      }
      return boxes[i];
    }
    // A unit's polygon is made when it first comes near the view (view: LatLngBounds) while its level is
    // shown, every one without a view: a province opens on its districts, a zoom makes nearby units only.
    group.build = function (view) {
      if (made === at.length) { return group; }
      at.forEach(function (latlng, i) {
        if (polygons[i] !== undefined || (view && !view.intersects(bounds(i)))) { return; }
        var parts = shapeOf(i), polygon = null;
        made += 1;
        if (parts.length) {
          polygon = L.polygon(parts.length === 1 ? parts[0] : parts,
                              L.extend({renderer: group.renderer}, spec.style, style(i)));
          polygon.options.interactive = group.mode === "fill";
          polygon.gridmapIndex = i;
          group.addLayer(polygon);
        }
        polygons[i] = polygon;
      });
      return group;
    };
    function style(i) {
      var fill = group.mode === "fill";
      var measure = group.measure === null ? null : spec.measures[group.measure];
      var s = {fill: fill, fillOpacity: 0, weight: spec.style.weight};
      if (fill && measure) {
        var c = measure.classes.charAt(i);
        if (c >= "0" && c <= "9") {
          s.fillColor = measure.colors[Number(c)];
          s.fillOpacity = 0.7;
        } else {
          s.fillColor = c === "s" ? "#bdbdbd" : "#ffffff";
          s.fillOpacity = c === "s" ? 0.6 : 0.3;
        }
      } else if (fill) {
        s.fillColor = spec.style.fillColor;
        s.fillOpacity = 0.05;
      }
      return s;
    }
    group.restyle = function () {
      polygons.forEach(function (polygon, i) {
        if (!polygon) { return; }
        polygon.options.interactive = group.mode === "fill";
        polygon.setStyle(style(i));
      });
    };
    group.rows = function (i) {
      return spec.fields.map(function (field, j) { return [field, gm.format(spec.rows[i][j + 1], null)]; });
    };
    group.on("mouseover", function (e) {
      var map = group._map;
      if (!map || e.layer.gridmapIndex === undefined || group.mode !== "fill") { return; }
      tip.setContent(el("span", null, spec.rows[e.layer.gridmapIndex][0])).setLatLng(e.latlng).addTo(map);
    });
    group.on("mousemove", function (e) {
      if (group._map && group._map.hasLayer(tip)) { tip.setLatLng(e.latlng); }
    });
    group.on("mouseout", function () { if (group._map) { group._map.removeLayer(tip); } });
    group.openAt = function (i, latlng) {
      var map = group._map;
      if (!map || !polygons[i]) { return; }
      if (map.hasLayer(tip)) { map.removeLayer(tip); }
      popup.setLatLng(latlng || at[i]).setContent(gm.table(spec.rows[i][0], group.rows(i))).openOn(map);
      group.opened = i;
    };
    group.on("click", function (e) {
      if (e.layer.gridmapIndex !== undefined && group.mode === "fill") {
        group.openAt(e.layer.gridmapIndex, e.latlng);
      }
    });
    group.polygons = polygons;
    group.labelItems = at.map(function (latlng, i) {
      return {text: spec.rows[i][0], latlng: latlng, zoom: zooms[i]};
    });
    gm.layers[spec.key] = group;
    return group;
  };

  // All levels draw on one canvas above the grids; it lets clicks through to the grids once they show.
  gm.levelRenderer = function () {
    var map = gm.maps[gm.maps.length - 1];
    if (!map._gridmapLevelRenderer) {
      var pane = map.createPane("gridmapLevels");
      pane.style.zIndex = 450;
      map._gridmapLevelRenderer = L.canvas({pane: "gridmapLevels", padding: 0.25});
    }
    return map._gridmapLevelRenderer;
  };

  // The switch: level k is filled from its zoom to the next level's, then drawn as outlines; the grids from
  // theirs. Thresholds move up so that the whole-area view shows the top level, one zoom step at least each.
  gm.levels = function (map, grid, layers) {
    var starts = [], view = map.getZoom(), last = 0;
    layers.forEach(function (layer, k) {
      var start = k === 0 ? -1 : Math.max(layer.spec.zoom, view + 0.5, last + 1);
      starts.push(start);
      last = Math.max(start, view);
    });
    var gridStart = Math.min(Math.max(grid.lazy.zoom, last + 1), map.getMaxZoom() - 1);
    grid.lazy.zoom = gridStart;
    var gridLabels = gm.labelSets.filter(function (set) { return set.group === grid; })[0];
    if (gridLabels) {
      gridLabels.items.forEach(function (item) { item.zoom = Math.max(item.zoom, Math.ceil(gridStart)); });
    }
    layers.forEach(function (layer, k) {
      var end = k + 1 < layers.length ? starts[k + 1] : gridStart;
      layer.start = starts[k];
      layer.end = end;
      var rank = ["district", "street", "community"].indexOf(layer.spec.key);
      gm.addLabels(layer, layer.labelItems.map(function (item) {
        var from = Math.ceil(Math.max(starts[k], 0));
        return {text: item.text, latlng: item.latlng, zoom: Math.max(item.zoom, from)};
      }), layer.spec.key, rank);
    });
    var control = {starts: starts, gridStart: gridStart, layers: layers, grid: grid, level: null};
    function update() {
      var zoom = map.getZoom(), level = zoom >= gridStart ? "grid" : null;
      layers.forEach(function (layer) {
        var mode = zoom < layer.start ? "off" : zoom < layer.end ? "fill" : "line";
        if (mode === "fill") { level = layer.spec.key; }
        if (mode !== layer.mode || layer.measure !== grid.measure) {
          layer.mode = mode;
          layer.measure = grid.measure;
          if (mode === "off") {
            if (map.hasLayer(layer)) { map.removeLayer(layer); }
          } else {
            layer.build(map.getBounds().pad(0.5));
            if (!map.hasLayer(layer)) { map.addLayer(layer); }
            layer.restyle();
          }
        }
      });
      map.getPane("gridmapLevels").style.pointerEvents = level === "grid" ? "none" : "";
      if (level !== control.level) {
        control.level = level;
        var active = layers.filter(function (layer) { return layer.spec.key === level; })[0];
        grid.shownMeasures = active ? active.spec.measures : null;
        grid.fire("measurechange", {measure: null});
      }
    }
    map.on("zoomend", update);
    map.on("moveend", function () {  // units that come near the view
      var view = map.getBounds().pad(0.5);
      layers.forEach(function (layer) { if (layer.mode !== "off") { layer.build(view); } });
    });
    if (!map._gridmapLabels) {
      map._gridmapLabels = true;
      map.on("moveend", function () { gm.placeLabels(map); });
    }
    grid.on("measurechange", function () {
      layers.forEach(function (layer) {
        if (layer.measure !== grid.measure && layer.mode !== "off") {
          layer.measure = grid.measure;
          layer.restyle();
        }
      });
    });
    update();
    gm.placeLabels(map);
    gm.levelControl = control;
    return control;
  };
})();"""
