"""Boundary and unit layers, their legend, and the overview map of a city.

A layer is a :class:`GeoLayer`: data reprojected to WGS84 (EPSG:4326) for Leaflet, coordinates rounded to
6 decimals (about 0.1 m) and delta-encoded as integers (:func:`encode_geometry`), text embedded as UTF-8
JSON and shown with ``textContent`` (a name such as ``<img src=x onerror=alert(1)>`` is displayed, never
run). Each feature gets a tooltip (its name) and a
popup (name, code, type, households, population, buildings); boundary layers of streets and communities
carry labels that appear from the zoom level at which the polygon is wider than its name.

On a map whose base map is in GCJ-02 (``basemap="amap"``), layers shift their data from WGS84 to GCJ-02
when drawn (with :func:`gridmap.crs.convert_frame`), because Leaflet cannot shift the tiles.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> communities = gpd.GeoDataFrame(
...     {"code": ["450102001001"], "name": ["翠竹社区"], "level": ["community"]},
...     geometry=[box(108.30, 22.80, 108.31, 22.81)], crs="EPSG:4326")
>>> m = overview_map(communities=communities)
>>> m.get_bounds()
[[22.8, 108.3], [22.81, 108.31]]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.map import Layer
from folium.template import Template
from folium.utilities import get_obj_in_upper_tree
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel

from gridmap.errors import CRSError, GridmapError, GridmapWarning, SchemaError
from gridmap.maps.base import base_map, control_label, js_string
from gridmap.maps.inline import inline
from gridmap.maps.tiles import TilesLike
from gridmap.schema import GRID_TYPE_NAMES_ZH, LABELS_ZH, LEVELS, UNIT_KINDS

__all__ = [
    "BOUNDARY_LEVELS",
    "BOUNDARY_STYLES",
    "UNIT_COLORS",
    "GeoLayer",
    "boundary_layer",
    "unit_layer",
    "legend",
    "label_zoom",
    "label_zooms",
    "text_px",
    "encode_geometry",
    "overview_map",
]

#: Decimals kept in coordinates: 1e-6 degree is about 0.1 m.
PRECISION = 6
_SCALE = 10**PRECISION
#: Levels :func:`boundary_layer` draws, from the largest down.
BOUNDARY_LEVELS = (*LEVELS, "grid")

#: Line styles of boundary layers (Leaflet path options): thicker and darker for larger units. Districts and
#: streets have an invisible fill (still clickable inside) so that fills do not pile up.
BOUNDARY_STYLES = {
    "district": {"color": "#1a1a1a", "weight": 3.5, "fillColor": "#1a1a1a", "fillOpacity": 0},
    "street": {"color": "#7b3294", "weight": 2.5, "dashArray": "8 5", "fillColor": "#7b3294",
               "fillOpacity": 0},
    "community": {"color": "#2166ac", "weight": 1.5, "fillColor": "#2166ac", "fillOpacity": 0.06},
    "grid": {"color": "#e66101", "weight": 1, "dashArray": "3 3", "fillColor": "#e66101",
             "fillOpacity": 0.04},
}

#: Colours of base units by kind (ColorBrewer Set1, colour-blind safe in the first five).
UNIT_COLORS = {
    "compound": "#e41a1c", "natural_village": "#4daf4a", "office_building": "#377eb8",
    "industrial_park": "#984ea3", "market": "#ff7f00", "school": "#a65628", "hospital": "#f781bf",
    "transport_hub": "#17becf", "institution": "#bcbd22", "building": "#fb9a99", "other": "#777777",
}

_LABELS = {
    "zh": {**LABELS_ZH, "unit_id": "编号", "units": "基本单元", "legend": "图例",
           "rural_grid": GRID_TYPE_NAMES_ZH["rural"],
           "district_layer": "城区/县界", "street_layer": "街道/乡镇界", "community_layer": "社区/村界",
           "grid_layer": "网格", "hidden": "（默认隐藏，在图层菜单中打开）", "unknown": "未知"},
    "en": {"district": "District/county", "street": "Street/township", "community": "Community/village",
           "grid": "Grid", "urban": "urban", "rural": "rural", "other": "Other",
           "compound": "Residential compound", "natural_village": "Natural village",
           "office_building": "Office building", "industrial_park": "Industrial park", "market": "Market",
           "school": "School", "hospital": "Hospital", "transport_hub": "Transport hub",
           "institution": "Government / institution", "building": "Building", "city": "City grid",
           "dedicated": "Dedicated grid",
           "rural_grid": "Rural grid", "households": "Households", "population": "Population",
           "buildings": "Buildings", "code": "Code", "kind": "Type", "name": "Name", "unit_id": "ID",
           "units": "Base units", "legend": "Legend", "district_layer": "District boundaries",
           "street_layer": "Street boundaries", "community_layer": "Community boundaries",
           "hidden": " (hidden; switch it on in the layers menu)", "unknown": "unknown",
           "grid_layer": "Grids"},
}
_COUNTS = ("households", "population", "buildings")
_UNIT_RADIUS = 6
# Width of a label's text in pixels (12 px font): CJK characters are square, others about 7 px.
_CJK_PX, _OTHER_PX, _LABEL_PAD_PX = 12, 7, 6


class GeoLayer(Layer):
    """A toggleable layer of polygons and points with safe tooltips, popups and optional labels.

    Made by :func:`boundary_layer` and :func:`unit_layer`; later map types reuse it with their own
    styles. Data is kept in WGS84 and shifted when drawn on a GCJ-02 base map.

    Parameters
    ----------
    geometry : geopandas.GeoSeries
        Geometries in EPSG:4326, none missing or empty.
    rows : list of list
        Per feature: the title (its name) followed by one value per field.
    fields : list of str
        Labels of the popup rows.
    styles : list of dict
        Leaflet path options; ``style_index`` picks one per feature.
    style_index : sequence of int
        Index into ``styles`` for each feature.
    key : str
        Name under which the page registers the layer (``window.gridmap.layers[key]``).
    name : str
        Name in the layer control.
    labels : bool, default False
        Show each feature's title as a label once its polygon is wider than the text.
    label_rank : int, default 0
        Where labels of different layers would overlap, those of the higher rank are shown (finer
        levels rank higher: communities over streets).
    show : bool, default True
        Whether the layer is on when the page opens.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gridmap.geoLayer({{ this.spec_json }});
        {% endmacro %}
    """)

    def __init__(self, geometry: gpd.GeoSeries, rows: list[list], *, fields: list[str], styles: list[dict],
                 style_index: Sequence[int], key: str, name: str, labels: bool = False, label_rank: int = 0,
                 show: bool = True):
        # Leaflet's layer control shows names as HTML; the legend shows ``title`` as text.
        super().__init__(name=control_label(name), overlay=True, control=True, show=show)
        self._name = "GeoLayer"
        self.title = name
        self.geometry = geometry.reset_index(drop=True)
        self.rows = rows
        self.fields = fields
        self.styles = styles
        self.style_index = [int(i) for i in style_index]
        self.key = key
        self.labels = labels
        self.label_rank = label_rank
        self._drawn: dict[str, gpd.GeoSeries] = {}

    def _coords(self) -> str:
        fmap = get_obj_in_upper_tree(self, folium.Map)
        return getattr(fmap, "gridmap_coords", "wgs84")

    def drawn_geometry(self) -> gpd.GeoSeries:
        """Return the geometry as drawn on this layer's map: WGS84, or GCJ-02 on an Amap base map."""
        coords = self._coords()
        if coords not in self._drawn:
            self._drawn[coords] = _shift(self.geometry, coords)
        return self._drawn[coords]

    def drawn_bounds(self) -> np.ndarray:
        """Return each feature's bounds as drawn (minx, miny, maxx, maxy)."""
        return self.drawn_geometry().bounds.to_numpy()

    def _get_self_bounds(self) -> list[list[float | None]]:
        if self.geometry.empty:  # folium's convention for "no bounds"
            return [[None, None], [None, None]]
        minx, miny, maxx, maxy = self.drawn_geometry().total_bounds
        return [[float(miny), float(minx)], [float(maxy), float(maxx)]]

    # branca types Element.render as returning str; MacroElement.render, the base here, returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Serialise the features (in the map's coordinates) into the page, then render as a folium layer."""
        geometry = self.drawn_geometry()
        label_points = _label_points(geometry, [row[0] for row in self.rows]) if self.labels else None
        features = []
        for i, geom in enumerate(geometry.values):
            properties = {"v": self.rows[i], "s": self.style_index[i]}
            if label_points is not None and label_points[i] is not None:
                properties["p"], properties["z"] = label_points[i]
            features.append({"type": "Feature", "geometry": encode_geometry(geom), "properties": properties})
        self.spec_json = js_string({
            "key": self.key, "scale": _SCALE, "fields": self.fields, "styles": self.styles,
            "radius": _UNIT_RADIUS,
            "labels": self.label_rank if self.labels else None,
            "data": {"type": "FeatureCollection", "features": features},
        })
        super().render(**kwargs)


def _shift(geometry: gpd.GeoSeries, coords: str) -> gpd.GeoSeries:
    if coords == "wgs84":
        return geometry
    from gridmap.crs import convert_frame

    return convert_frame(geometry, "wgs84", coords)


def _encode_line(coords) -> list[int]:
    ints = np.round(np.asarray(coords, dtype=float)[:, :2] * _SCALE).astype(np.int64)
    ints[1:] = np.diff(ints, axis=0)
    return ints.ravel().tolist()


def encode_geometry(geom: BaseGeometry) -> dict:
    """Return a geometry as compact GeoJSON: each line or ring a flat list of integers.

    Coordinates are counted in units of 1e-6 degree (about 0.1 m): a line ``[x0, y0, dx1, dy1, ...]`` holds
    its first point and then the difference to each next point, which are short numbers (neighbouring
    vertices are close). This is about half the size of GeoJSON with 6 decimals; the page decodes it
    (``gridmap.decode`` in the runtime) before Leaflet reads it.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> encode_geometry(LineString([(108.3, 22.8), (108.300012, 22.8000034)]))
    {'type': 'LineString', 'coordinates': [108300000, 22800000, 12, 3]}
    """
    kind = geom.geom_type
    coordinates: list
    if kind == "GeometryCollection":
        parts = cast(shapely.GeometryCollection, geom).geoms
        return {"type": kind, "geometries": [encode_geometry(part) for part in parts]}
    if kind == "Point":
        coordinates = _encode_line([geom.coords[0]])
    elif kind in ("LineString", "MultiPoint"):
        coordinates = _encode_line(shapely.get_coordinates(geom))
    elif kind == "Polygon":
        polygon = cast(shapely.Polygon, geom)
        coordinates = [_encode_line(ring.coords) for ring in (polygon.exterior, *polygon.interiors)]
    elif kind == "MultiLineString":
        coordinates = [_encode_line(part.coords) for part in cast(shapely.MultiLineString, geom).geoms]
    else:  # MultiPolygon
        polygons = cast(shapely.MultiPolygon, geom).geoms
        coordinates = [encode_geometry(part)["coordinates"] for part in polygons]
    return {"type": kind, "coordinates": coordinates}


def _text_px(text: str) -> int:
    cjk = sum(1 for char in text if ord(char) >= 0x2E80)
    return cjk * _CJK_PX + (len(text) - cjk) * _OTHER_PX + _LABEL_PAD_PX


def text_px(texts: Sequence[str]) -> np.ndarray:
    """Return the width in pixels of each label (:func:`label_zoom`'s), all at once.

    Examples
    --------
    >>> text_px(["翠竹社区", "450102001003001", ""]).tolist()
    [54, 111, 6]
    """
    chars = np.asarray([str(text) for text in texts], dtype=str)
    codes = chars.view(np.uint32).reshape(len(chars), -1) if chars.itemsize else np.zeros((len(chars), 0))
    cjk = (codes >= 0x2E80).sum(axis=1)
    return cjk * _CJK_PX + ((codes != 0).sum(axis=1) - cjk) * _OTHER_PX + _LABEL_PAD_PX


def label_zooms(widths: np.ndarray, texts: Sequence[str], *, never: int = 22) -> np.ndarray:
    """:func:`label_zoom` of many polygons at once; ``never`` where a polygon has no width.

    Examples
    --------
    >>> label_zooms(np.array([0.01, 0.0, 1e-7]), ["翠竹社区", "x", "y"]).tolist()
    [13, 22, 22]
    """
    widths = np.asarray(widths, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        zoom = np.ceil(np.log2(text_px(texts) * 360 / (256 * widths)))
    return np.where(widths > 0, np.clip(np.nan_to_num(zoom, nan=never), 0, 22), never).astype(np.int64)


def label_zoom(width_degrees: float, text: str) -> int | None:
    """Return the first zoom at which a polygon ``width_degrees`` wide is wider than ``text`` on screen.

    In Web Mercator a longitude span ``dx`` is ``dx / 360 * 256 * 2**zoom`` pixels wide at any latitude.

    Examples
    --------
    >>> label_zoom(0.01, "翠竹社区")   # 54 px of text; 0.01° is 58 px wide at zoom 13
    13
    """
    if width_degrees <= 0:
        return None
    zoom = math.ceil(math.log2(_text_px(text) * 360 / (256 * width_degrees)))
    return min(max(zoom, 0), 22)


def _label_points(geometry: gpd.GeoSeries, texts: list) -> list:
    """For each polygon: a point well inside its largest part and the zoom from which to label it."""
    points: list[tuple[list[float], int] | None] = []
    for geom, text in zip(geometry.values, texts, strict=True):
        parts = getattr(geom, "geoms", [geom])
        polygons = [part for part in parts if part.geom_type == "Polygon"]
        if not polygons or not text:
            points.append(None)
            continue
        largest = max(polygons, key=lambda part: part.area)
        minx, miny, maxx, maxy = largest.bounds
        point = polylabel(largest, tolerance=max(maxx - minx, maxy - miny) / 50)
        zoom = label_zoom(maxx - minx, str(text))
        points.append(None if zoom is None else
                      ([round(point.y, PRECISION), round(point.x, PRECISION)], zoom))
    return points


def _check_frame(frame, what: str, required: Sequence[str]) -> None:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SchemaError(f"{what} must be a GeoDataFrame, got {type(frame).__name__}", record=what,
                          fix="read the layer with gridmap.io.read_layer or geopandas.read_file")
    missing = [column for column in required if column not in frame.columns]
    if missing:
        columns = ", ".join(map(str, frame.columns))
        raise SchemaError(f"{what} has no column {', '.join(missing)} (columns: {columns})", record=what,
                          fix="rename the columns to gridmap's names (see gridmap.schema)")
    if frame.crs is None:
        raise CRSError(f"{what} has no coordinate reference system", record=what,
                       fix="declare it, e.g. frame.set_crs('EPSG:4490') for CGCS2000 "
                           "or 'EPSG:4326' for WGS84")


def _drawable(frame: gpd.GeoDataFrame, what: str, id_column: str) -> gpd.GeoDataFrame:
    """Return the rows that have a geometry, in EPSG:4326; warn about the others."""
    empty = frame.geometry.isna() | frame.geometry.is_empty
    if empty.any():
        ids = ", ".join(str(value) for value in frame.loc[empty, id_column].head(5))
        warnings.warn(f"{what}: {int(empty.sum())} feature(s) without geometry are not drawn ({ids})",
                      GridmapWarning, stacklevel=4)
    kept = frame.loc[~empty]
    return kept if kept.crs.equals("EPSG:4326") else kept.to_crs("EPSG:4326")


def _count(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):  # not a number: shown as given (validation reports it)
        return str(value)
    return int(number) if number.is_integer() else round(number, 2)


def _text(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA \
        else str(value)


def _counts(frame: gpd.GeoDataFrame, unknown: str) -> list[list]:
    """Return each feature's households, population and buildings; ``unknown`` for empty buildings."""
    columns = [[_count(value) for value in frame[column].tolist()] if column in frame.columns
               else [None] * len(frame) for column in _COUNTS]
    if "buildings" in frame.columns:
        columns[2] = [unknown if value is None else value for value in columns[2]]
    return [list(counts) for counts in zip(*columns, strict=True)] if len(frame) else []


def _column(frame: gpd.GeoDataFrame, column: str) -> list:
    """Return a column's values as a list, or None for each row when the frame has no such column."""
    return frame[column].tolist() if column in frame.columns else [None] * len(frame)


def _labels(lang: str) -> dict[str, str]:
    if lang not in _LABELS:
        raise GridmapError(f"lang={lang!r} is not allowed", fix="use lang='zh' or lang='en'")
    return _LABELS[lang]


def _type_label(labels: dict, level: str, kind) -> str:
    text = labels[level]
    if level == "grid" and _text(kind):
        kind = "rural_grid" if kind == "rural" else kind
        return labels.get(kind, str(kind))
    if _text(kind) and level == "community":
        return f"{text} · {labels.get(kind, str(kind))}"
    return text


def boundary_layer(frame: gpd.GeoDataFrame, *, level: str, lang: str = "zh", name: str | None = None,
                   show: bool = True, labels: bool | None = None, style: dict | None = None) -> GeoLayer:
    """Return the boundaries of districts, streets, communities or grids as a :class:`GeoLayer`.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Admin units (``code``, ``name``, optional ``kind`` and counts) or grids (``code``, optional
        ``name``, ``type`` and counts), in any CRS.
    level : {"district", "street", "community", "grid"}
        Which boundaries these are: sets the style, the layer name and the type shown in popups.
    lang : {"zh", "en"}, default "zh"
        Language of the popup labels and the layer name.
    name : str, optional
        Name in the layer control (default: by level, e.g. 社区/村界).
    show : bool, default True
        Whether the layer is on when the page opens.
    labels : bool, optional
        Label each unit with its name from a suitable zoom on (default: streets and communities).
    style : dict, optional
        Leaflet path options that replace those of :data:`BOUNDARY_STYLES` (e.g. ``{"fill": False}`` to
        make only the line clickable).

    Returns
    -------
    GeoLayer

    Raises
    ------
    SchemaError
        When ``code`` is missing.
    CRSError
        When the frame has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> streets = gpd.GeoDataFrame({"code": ["450102001"], "name": ["民生街道"]},
    ...                            geometry=[box(108.3, 22.8, 108.4, 22.9)], crs="EPSG:4490")
    >>> layer = boundary_layer(streets, level="street")
    >>> layer.layer_name, layer.rows[0][:3]
    ('街道/乡镇界', ['民生街道', '450102001', '街道/乡镇'])
    """
    if level not in BOUNDARY_LEVELS:
        raise GridmapError(f"level={level!r} is not allowed", fix=f"use one of {', '.join(BOUNDARY_LEVELS)}")
    text = _labels(lang)
    what = f"{level} layer"
    _check_frame(frame, what, ["code"])
    data = _drawable(frame, what, "code")
    kind_column = "type" if level == "grid" else "kind"
    rows = [[_text(title) or _text(code), _text(code), _type_label(text, level, kind), *counts]
            for code, title, kind, counts in zip(data["code"].tolist(), _column(data, "name"),
                                                 _column(data, kind_column), _counts(data, text["unknown"]),
                                                 strict=True)]
    return GeoLayer(data.geometry, rows, fields=[text["code"], text["kind"], *(text[c] for c in _COUNTS)],
                    styles=[{**BOUNDARY_STYLES[level], **(style or {})}], style_index=[0] * len(rows),
                    key=level,
                    name=name or text[f"{level}_layer"],
                    labels=level in ("street", "community") if labels is None else labels,
                    label_rank=BOUNDARY_LEVELS.index(level), show=show)


def _unit_style(kind: str) -> dict:
    color = UNIT_COLORS[kind]
    return {"color": color, "weight": 1, "fillColor": color, "fillOpacity": 0.45}


def unit_layer(frame: gpd.GeoDataFrame, *, lang: str = "zh", name: str | None = None,
               show: bool = True, key: str = "units") -> GeoLayer:
    """Return base units (compounds, villages, dedicated sites) coloured by kind as a :class:`GeoLayer`.

    Polygons are drawn as areas, points as circle markers; a kind gridmap does not know is drawn as
    ``other`` and shown as given.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Units with ``unit_id``, ``name``, ``kind`` and optional ``households``, ``population``,
        ``buildings``, in any CRS.
    lang : {"zh", "en"}, default "zh"
        Language of the popup labels and the layer name.
    name : str, optional
        Name in the layer control (default 基本单元 / Base units).
    show : bool, default True
        Whether the layer is on when the page opens.
    key : str, default "units"
        Name under which the page registers the layer (``window.gridmap.layers[key]``).

    Returns
    -------
    GeoLayer

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> units = gpd.GeoDataFrame({"unit_id": ["U1"], "name": ["市第一人民医院"], "kind": ["hospital"],
    ...                           "households": [0]}, geometry=[Point(108.3, 22.8)], crs="EPSG:4326")
    >>> unit_layer(units).rows
    [['市第一人民医院', 'U1', '医院', 0, None, None]]
    """
    text = _labels(lang)
    _check_frame(frame, "unit layer", ["unit_id", "name", "kind"])
    data = _drawable(frame, "unit layer", "unit_id")
    kinds = [kind if kind in UNIT_COLORS else "other" for kind in data["kind"]]
    rows = [[_text(title) or _text(unit_id), _text(unit_id), text.get(str(kind), _text(kind)), *counts]
            for title, unit_id, kind, counts in zip(data["name"].tolist(), data["unit_id"].tolist(),
                                                   data["kind"].tolist(), _counts(data, text["unknown"]),
                                                   strict=True)]
    return GeoLayer(data.geometry, rows, fields=[text["unit_id"], text["kind"], *(text[c] for c in _COUNTS)],
                    styles=[_unit_style(kind) for kind in UNIT_KINDS],
                    style_index=[UNIT_KINDS.index(kind) for kind in kinds], key=key,
                    name=name or text["units"], show=show)


class _Legend(MacroElement):
    """The legend control; its text is set with textContent."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        gridmap.legend({{ this._parent.get_name() }}, {{ this.spec_json }});
        {% endmacro %}
    """)

    def __init__(self, title: str, items: list[dict]):
        super().__init__()
        self._name = "GridmapLegend"
        self.items = items
        self.spec_json = js_string({"title": title, "items": items})


def legend(*layers: GeoLayer, lang: str = "zh") -> _Legend:
    """Return a legend for boundary and unit layers: one entry per boundary level and unit kind shown.

    An entry of a layer hidden when the page opens (compounds and villages on a city map) says so and
    where to switch it on, so the legend never lists what the map does not show.

    Parameters
    ----------
    *layers : GeoLayer
        Layers made by :func:`boundary_layer` or :func:`unit_layer`.
    lang : {"zh", "en"}, default "zh"
        Language of the legend.

    Returns
    -------
    branca.element.MacroElement
        Add it to the map with ``.add_to(m)``; ``.items`` lists the entries.
    """
    text = _labels(lang)
    items = []
    for layer in layers:
        hint = "" if getattr(layer, "show", True) else text["hidden"]
        if layer.key in BOUNDARY_STYLES:
            style = BOUNDARY_STYLES[layer.key]
            items.append({"label": layer.title + hint, "color": style["color"], "fill": None,
                          "dashed": "dashArray" in style, "shape": "area"})
            continue
        for index in sorted(set(layer.style_index)):
            kind = UNIT_KINDS[index]
            points = all(layer.geometry.values[i].geom_type == "Point"
                         for i, s in enumerate(layer.style_index) if s == index)
            items.append({"label": text[kind] + hint, "color": UNIT_COLORS[kind], "fill": UNIT_COLORS[kind],
                          "dashed": False, "shape": "point" if points else "area"})
    return _Legend(text["legend"], items)


def overview_map(*, districts: gpd.GeoDataFrame | None = None, streets: gpd.GeoDataFrame | None = None,
                 communities: gpd.GeoDataFrame | None = None, units: gpd.GeoDataFrame | None = None,
                 grids: gpd.GeoDataFrame | None = None, lang: str = "zh", basemap: str = "none",
                 tiles: TilesLike = None, tianditu_key: str | None = None,
                 title: str | None = None) -> folium.Map:
    """Return a map of a city: boundaries by level, base units by kind, a legend and a layer control.

    Districts, streets, communities and grids are separate layers that can be switched on and off;
    street and community names appear as labels once zoomed in far enough; clicking a feature opens its
    name, code, type, households, population and buildings. The map fits the data. The inputs are not
    changed.

    Parameters
    ----------
    districts, streets, communities : geopandas.GeoDataFrame, optional
        Admin layers (``code``, ``name``, ...), in any CRS.
    units : geopandas.GeoDataFrame, optional
        Base units (``unit_id``, ``name``, ``kind``, counts), points or polygons.
    grids : geopandas.GeoDataFrame, optional
        Grids (``code``, ``type``, counts).
    lang : {"zh", "en"}, default "zh"
        Language of labels, legend and popups.
    basemap : {"none", "osm", "tianditu", "amap"}, default "none"
        See :func:`gridmap.maps.base_map`; ``"none"`` works offline.
    tiles : str, os.PathLike or TileSource, optional
        Your own tiles instead (:func:`gridmap.maps.tile_source`); see :func:`gridmap.maps.base_map`.
    tianditu_key : str, optional
        Needed with ``basemap="tianditu"``.
    title : str, optional
        Shown at the top of the map and as the page title.

    Returns
    -------
    folium.Map
        Write it with :func:`gridmap.maps.save_html`; a notebook shows the same self-contained page inline.

    Raises
    ------
    GridmapError
        When no layer is given, or for a bad option or layer (see :func:`boundary_layer`).
    """
    given = {"district": districts, "street": streets, "community": communities, "grid": grids}
    if all(frame is None for frame in (*given.values(), units)):
        raise GridmapError("overview_map got no layer to draw",
                           fix="pass at least one of districts=, streets=, communities=, grids=, units=")
    fmap = base_map(basemap=basemap, tiles=tiles, tianditu_key=tianditu_key, title=title, lang=lang)
    layers = [boundary_layer(frame, level=level, lang=lang)
              for level, frame in given.items() if frame is not None]
    if units is not None:
        layers.append(unit_layer(units, lang=lang))
    for layer in layers:
        layer.add_to(fmap)
    legend(*layers, lang=lang).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    bounds = fmap.get_bounds()
    if None not in bounds[0]:
        fmap.fit_bounds(cast(list[list[float]], bounds))
    return inline(fmap)
