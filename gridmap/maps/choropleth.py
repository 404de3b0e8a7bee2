"""Choropleths of grids: measures, classes (mapclassify's), and the grid layer that draws them all at once.

A measure is a column of the grids frame: ``population_density`` (人/km²), ``households`` (户),
``cases_per_1000`` (件/千人) and ``cases_per_km2`` (件/km²) — see :data:`MEASURES`; the one-screen map
computes missing ones with :func:`gridmap.maps.onescreen.grid_figures`. :func:`classify` sorts the values
into classes as mapclassify does. :class:`GridLayer` embeds the grid geometry once, as shared arcs
(:mod:`gridmap.maps._topology`), with every measure's classes beside it; :class:`MeasureLayer` is a base
layer of the layer control that colours the grids by one measure, so switching measures restyles the same
polygons instead of drawing them again.

Examples
--------
>>> import numpy as np
>>> result = classify(np.array([1.0, 2, 3, 4, 10, 20, 30, 40, np.nan]), scheme="quantiles", k=4)
>>> result.bins, result.classes
([2.75, 7.0, 22.5, 40.0], '00112233-')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
from branca.element import MacroElement
from branca.utilities import color_brewer
from folium.map import Layer
from folium.template import Template
from folium.utilities import get_obj_in_upper_tree
from numpy.typing import ArrayLike

from gridmap.errors import GridmapError
from gridmap.maps._classes import fisher_jenks_bins, quantile_bins
from gridmap.maps._topology import Topology, encode_numbers, encode_shapes, reused_topology
from gridmap.maps.base import control_label, js_string
from gridmap.maps.layers import BOUNDARY_STYLES

__all__ = ["MEASURES", "SCHEMES", "DETAIL_ZOOM", "Measure", "Classes", "classify", "GridLayer",
           "MeasureLayer", "measure_legend"]

#: The zoom up to which grid boundaries are exact to one pixel (vertices snapped and simplified to it).
DETAIL_ZOOM = 18
#: Classification schemes: quantiles, or natural breaks (Fisher-Jenks).
SCHEMES = ("quantiles", "natural_breaks")
_NATURAL_SAMPLE = 300


@dataclass(frozen=True)
class Measure:
    """What a measure column holds: names and units in both languages and a ColorBrewer palette."""

    name_zh: str
    name_en: str
    unit_zh: str
    unit_en: str
    palette: str
    decimals: int

    def name(self, lang: str) -> str:
        """Return the measure's name in ``lang``."""
        return self.name_zh if lang == "zh" else self.name_en

    def unit(self, lang: str) -> str:
        """Return the measure's unit in ``lang``."""
        return self.unit_zh if lang == "zh" else self.unit_en


#: Measures the one-screen map can colour grids by.
MEASURES = {
    "population_density": Measure("人口密度", "Population density", "人/km²", "people/km²", "YlGnBu", 0),
    "households": Measure("户数", "Households", "户", "households", "Greens", 0),
    "cases_per_1000": Measure("每千人案件数", "Cases per 1,000 residents", "件/千人",
                              "cases/1,000 residents", "YlOrRd", 1),
    "cases_per_km2": Measure("案件密度", "Case density", "件/km²", "cases/km²", "OrRd", 1),
}

#: Class characters besides the digits: no value, suppressed (fewer than 5 cases on a public map).
NO_DATA, SUPPRESSED = "-", "s"


@dataclass(frozen=True)
class Classes:
    """A classification: upper bounds of the classes and one character per value.

    ``classes`` holds the class number (``0``–``8``) of each value, ``-`` for a missing value and ``s``
    for a suppressed one.
    """

    bins: list
    classes: str


def classify(values: ArrayLike, *, scheme: str = "quantiles", k: int = 5,
             suppressed: ArrayLike | None = None) -> Classes:
    """Sort values into ``k`` classes: mapclassify's quantiles or Fisher-Jenks breaks.

    ``natural_breaks`` is Fisher-Jenks (exact Jenks breaks) on at most 300 evenly spaced quantiles of the
    values, so it is deterministic and fast for thousands of grids (mapclassify's ``NaturalBreaks`` is
    k-means with random starts, ``FisherJenks`` is quadratic). The breaks are mapclassify's, computed by
    :mod:`gridmap.maps._classes` without importing it. With many equal values (zero cases) quantiles can
    give fewer than ``k`` classes.

    Parameters
    ----------
    values : array-like of float
        NaN for no value.
    scheme : {"quantiles", "natural_breaks"}, default "quantiles"
    k : int, default 5
        Number of classes, 2 to 9.
    suppressed : array-like of bool, optional
        Values not to show (left out of the breaks, class ``s``).

    Returns
    -------
    Classes

    Examples
    --------
    >>> classify([0.0, 0, 0, 5, 9], scheme="natural_breaks", k=2).classes
    '00011'
    """
    if scheme not in SCHEMES:
        raise GridmapError(f"scheme={scheme!r} is not allowed",
                           fix="use scheme='quantiles' or 'natural_breaks'")
    if not isinstance(k, int) or not 2 <= k <= 9:
        raise GridmapError(f"k={k!r} classes is not allowed", fix="use k= a whole number from 2 to 9")
    values = np.asarray(values, dtype=float)
    hidden = np.zeros(len(values), bool) if suppressed is None else np.asarray(suppressed, dtype=bool)
    shown = np.isfinite(values) & ~hidden
    chars = np.where(hidden, SUPPRESSED, NO_DATA).astype("<U1")
    data = values[shown]
    if len(data) == 0:
        return Classes([], "".join(chars))
    if len(np.unique(data)) <= k:
        bins = np.unique(data)
    elif scheme == "quantiles":
        bins = quantile_bins(data, k)
    else:
        bins = fisher_jenks_bins(np.quantile(data, np.linspace(0, 1, min(_NATURAL_SAMPLE, len(data)))), k)
    bins = np.unique(np.r_[bins[:-1], data.max()])
    chars[shown] = np.searchsorted(bins, data, side="left").astype(str)
    return Classes([float(b) for b in bins], "".join(chars))


def _colors(palette: str, n: int) -> list[str]:
    """``n`` colours of a ColorBrewer palette (its darkest ones when fewer than 3)."""
    if n == 0:
        return []
    return color_brewer(palette, 3)[-n:] if n < 3 else color_brewer(palette, n)


def _number(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def _class_items(measure: Measure, found: Classes, lang: str, *, any_missing: bool, any_suppressed: bool):
    items = []
    low = None
    for i, high in enumerate(found.bins):
        text = (f"≤ {_number(high, measure.decimals)}" if low is None
                else f"{_number(low, measure.decimals)} – {_number(high, measure.decimals)}")
        items.append({"c": i, "label": text})
        low = high
    if any_suppressed:
        label = "少于5件，不公开" if lang == "zh" else "fewer than 5 cases, not shown"
        items.append({"c": SUPPRESSED, "label": label})
    if any_missing:
        items.append({"c": NO_DATA, "label": "无数据" if lang == "zh" else "no data"})
    return items


def measure_spec(key: str, values, *, field: int, scheme: str, k: int, lang: str, suppressed=None) -> dict:
    """Describe one measure for the page: name, unit, classes, colours and legend entries."""
    measure = MEASURES[key]
    found = classify(values, scheme=scheme, k=k, suppressed=suppressed)
    return {"key": key, "name": measure.name(lang), "unit": measure.unit(lang), "field": field,
            "classes": found.classes, "bins": found.bins, "colors": _colors(measure.palette, len(found.bins)),
            "items": _class_items(measure, found, lang, any_missing=NO_DATA in found.classes,
                                  any_suppressed=SUPPRESSED in found.classes)}


class GridLayer(Layer):
    """The grids as one layer: geometry embedded once as shared arcs, popups, labels, every measure.

    Parameters
    ----------
    geometry : geopandas.GeoSeries
        Grid polygons in EPSG:4326.
    codes, titles : list of str
        Each grid's code (searched) and title (popup heading, tooltip and label).
    fields : list of dict
        Popup rows: ``{"label", "unit", "values": [...]}`` or, for repeated text,
        ``{"label", "dict": [...], "index": [...]}``.
    measures : list of dict
        From :func:`measure_spec`.
    measure : int, optional
        The measure the grids are coloured by when the page opens (its :class:`MeasureLayer` is shown).
    name : str
        Name in the layer control.
    lang : {"zh", "en"}
    labels : bool, default True
        Label each grid with its title once it is wider than the text.
    style : dict, optional
        Leaflet path options of the grids (default: the ``grid`` style of the boundary layers).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gridmap.gridLayer({{ this.spec_json }});
        {% endmacro %}
    """)

    def __init__(self, geometry: gpd.GeoSeries, *, codes: list, titles: list, fields: list, measures: list,
                 name: str, lang: str, measure: int | None = None, labels: bool = True, key: str = "grid",
                 show: bool = True, style: dict | None = None):
        super().__init__(name=control_label(name), overlay=True, control=True, show=show)
        self._name = "GridLayer"
        self.title = name
        self.key = key
        self.geometry = geometry.reset_index(drop=True)
        self.codes, self.titles, self.fields, self.measures = codes, titles, fields, measures
        self.measure = measure
        self.lang, self.labels = lang, labels
        self.style = dict(BOUNDARY_STYLES["grid"] if style is None else style)
        self.topology: Topology | None = None
        self._topologies: dict[str, Topology] = {}
        self._drawn: dict = {}

    def _coords(self) -> str:
        fmap = get_obj_in_upper_tree(self, folium.Map)
        return getattr(fmap, "gridmap_coords", "wgs84")

    def drawn_geometry(self) -> gpd.GeoSeries:
        """Return the grids as drawn: WGS84, or GCJ-02 on an Amap base map."""
        coords = self._coords()
        if coords == "wgs84":
            return self.geometry
        if coords not in self._drawn:
            from gridmap.crs import convert_frame

            self._drawn[coords] = convert_frame(self.geometry, "wgs84", coords)
        return self._drawn[coords]

    def _get_self_bounds(self):
        if self.geometry.empty:
            return [[None, None], [None, None]]
        minx, miny, maxx, maxy = self.drawn_geometry().total_bounds
        return [[float(miny), float(minx)], [float(maxy), float(maxx)]]

    # branca types Element.render as returning str; MacroElement.render, the base here, returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Build the shared arcs in the map's coordinates and write the layer's data into the page."""
        scale = 256 * 2**DETAIL_ZOOM / 360  # one step = one pixel at DETAIL_ZOOM
        drawn = self.drawn_geometry()
        coords = self._coords()
        if coords not in self._topologies:  # a page rendered twice is built once
            self._topologies[coords] = reused_topology(drawn.values, scale=scale, tolerance=1 / scale)
        self.topology = self._topologies[coords]
        label_at = None
        if self.labels and len(drawn):
            import shapely

            points = shapely.get_coordinates(shapely.point_on_surface(drawn.values))
            ints = np.rint(points * scale).astype(np.int64) - np.asarray(self.topology.translate)
            ints[1:] = np.diff(ints, axis=0)
            label_at = encode_numbers(ints.ravel())
        shapes = encode_shapes(self.topology)
        self.spec_json = js_string({
            "key": self.key, "scale": scale, "translate": list(self.topology.translate),
            "arcs": self.topology.arcs, "shapes": shapes, "codes": self.codes, "titles": self.titles,
            "fields": self.fields, "measures": self.measures, "measure": self.measure, "style": self.style,
            "lang": self.lang,
            "labels": -1 if self.labels else None, "labelAt": label_at,  # -1: placed after admin labels
        })
        super().render(**kwargs)


class MeasureLayer(Layer):
    """A base layer of the layer control: colours ``grid`` by its measure number ``index`` (None: no fill)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gridmap.measureLayer({{ this.grid.get_name() }}, {{ this.index_json }});
        {% endmacro %}
    """)

    def __init__(self, grid: GridLayer, index: int | None, *, name: str, show: bool):
        super().__init__(name=control_label(name), overlay=False, control=True, show=show)
        self._name = "MeasureLayer"
        self.grid = grid
        self.index = index
        self.index_json = "null" if index is None else str(int(index))


class _MeasureLegend(MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
        gridmap.measureLegend({{ this._parent.get_name() }}, {{ this.grid.get_name() }},
                              {{ this.spec_json }});
        {% endmacro %}
    """)

    def __init__(self, grid: GridLayer, title: str, items: list):
        super().__init__()
        self._name = "GridmapLegend"
        self.grid = grid
        self.items = items
        self.spec_json = js_string({"title": title, "items": items})


def measure_legend(grid: GridLayer, *, title: str, items: list) -> MacroElement:
    """Return a legend of the classes of the measure on display, then the boundary and unit ``items``."""
    return _MeasureLegend(grid, title, items)


def nan_to_none(values) -> list:
    """Numbers for the page: NaN becomes null, whole numbers become ints.

    Examples
    --------
    >>> nan_to_none(np.array([1.0, 2.5, np.nan, -0.0, 1e30]))
    [1, 2.5, None, 0, 1000000000000000019884624838656]
    """
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.tolist()
    if array.dtype.kind != "f":
        return _nan_to_none_each(values)
    out = np.array(array.tolist() + [None], dtype=object)[:-1]  # Python floats (never a 2-D array)
    whole = np.isfinite(array) & (np.floor(array) == array)
    small = whole & (np.abs(array) < 2**62)
    out[small] = array[small].astype(np.int64).tolist()
    out[whole & ~small] = [int(value) for value in array[whole & ~small].tolist()]
    out[np.isnan(array)] = None
    return out.tolist()


def _nan_to_none_each(values) -> list:
    out: list[int | float | None] = []
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out.append(None)
        elif float(value).is_integer():
            out.append(int(value))
        else:
            out.append(float(value))
    return out
