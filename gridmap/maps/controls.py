"""Small map controls and layers of gridmap's own: fullscreen, and the case heat map.

Fullscreen uses the browser's Fullscreen API directly (Leaflet.fullscreen ships in no installed package;
folium loads it from a CDN). The heat map is Leaflet.heat, inlined from folium's own copy, fed with
points rounded to the map's detail and shifted to GCJ-02 on an Amap base map.

Examples
--------
>>> import folium
>>> from gridmap.maps import base_map, to_html
>>> m = base_map()
>>> _ = fullscreen_control(lang="en").add_to(m)
>>> "gridmap.fullscreen(" in to_html(m)
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template
from folium.utilities import get_obj_in_upper_tree

from gridmap.maps._topology import encode_numbers
from gridmap.maps.base import control_label, js_string

__all__ = ["fullscreen_control", "HeatLayer"]

_TEXT = {"zh": ("全屏", "退出全屏"), "en": ("Full screen", "Exit full screen")}


class _Fullscreen(MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
        gridmap.fullscreen({{ this._parent.get_name() }}, {{ this.spec_json }});
        {% endmacro %}
    """)

    def __init__(self, spec: dict):
        super().__init__()
        self._name = "GridmapFullscreen"
        self.spec_json = js_string(spec)


def fullscreen_control(*, lang: str = "zh", page: bool = False) -> MacroElement:
    """Return a fullscreen button: the map (or, with ``page=True``, the whole page) fills the screen.

    Browsers without the Fullscreen API (Safari on iPhone) show no button.
    """
    enter, leave = _TEXT[lang]
    return _Fullscreen({"enter": enter, "exit": leave, "page": page})


class HeatLayer(JSCSSMixin, Layer):
    """A heat map of points (Leaflet.heat), weighted, drawn in the map's coordinates.

    Parameters
    ----------
    points : geopandas.GeoSeries
        Points in EPSG:4326.
    weights : array-like of float, optional
        One weight per point (e.g. the ``count`` of a case record).
    name : str
        Name in the layer control.
    scale : float
        Integer steps per degree the points are rounded to.
    show : bool, default True
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gridmap.heat({{ this.spec_json }});
        {% endmacro %}
    """)
    # folium.plugins.HeatMap's script, inlined from folium's installed copy by gridmap.maps.to_html; named
    # here, not read off HeatMap: importing folium.plugins imports every plugin (a third of a second)
    default_js = [("leaflet-heat.js",
                   "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/"
                   "leaflet_heat.min.js")]

    def __init__(self, points: gpd.GeoSeries, *, weights: Iterable[float] | None = None, name: str,
                 scale: float, show: bool = True):
        super().__init__(name=control_label(name), overlay=True, control=True, show=show)
        self._name = "HeatLayer"
        self.title = name
        self.points = points.reset_index(drop=True)
        self.weights = None if weights is None else [float(w) for w in weights]
        self.scale = scale

    def _drawn(self) -> gpd.GeoSeries:
        fmap = get_obj_in_upper_tree(self, folium.Map)
        coords = getattr(fmap, "gridmap_coords", "wgs84")
        if coords == "wgs84":
            return self.points
        from gridmap.crs import convert_frame

        return convert_frame(self.points, "wgs84", coords)

    # branca types Element.render as returning str; MacroElement.render, the base here, returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Write the rounded points into the page."""
        xy = shapely.get_coordinates(self._drawn().values)
        ints = np.rint(xy * self.scale).astype(np.int64)
        translate = ints.min(axis=0) if len(ints) else np.zeros(2, dtype=np.int64)
        steps = ints - translate
        steps[1:] = np.diff(steps, axis=0)
        weights = self.weights
        if weights is not None and all(w == 1 for w in weights):
            weights = None
        self.spec_json = js_string({
            "scale": self.scale, "translate": translate.tolist(), "points": encode_numbers(steps.ravel()),
            "weights": weights,
            "options": {"radius": 18, "blur": 15, "minOpacity": 0.3, "maxZoom": 16},
        })
        super().render(**kwargs)
