"""Search on the map: find a grid by code, a compound or village by name, a community or street by name.

A small control of gridmap's own (no installed package ships leaflet-search, which folium loads from a
CDN): an input box whose matches are listed as text; picking one zooms to it and opens its popup. Grid
codes are searched in the grid layer's own data; compounds lead to the grid that holds them;
communities and streets to their boundary.

Examples
--------
>>> control = search_control(None, units=[["翠竹苑", "住宅小区", 0]], places=[], lang="zh")
>>> control.spec["placeholder"]
'搜索网格编码、小区、社区'
"""

from __future__ import annotations

from typing import Any

from branca.element import MacroElement
from folium.map import Layer
from folium.template import Template

from gridmap.maps.base import js_string

__all__ = ["search_control", "SearchControl"]

_TEXT = {
    "zh": {"placeholder": "搜索网格编码、小区、社区", "empty": "没有找到", "grid": "网格"},
    "en": {"placeholder": "Search grid code, compound, community", "empty": "Nothing found", "grid": "Grid"},
}


class SearchControl(MacroElement):
    """The search box (see :func:`search_control`)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        gridmap.search({{ this._parent.get_name() }}, {{ this.grid_name }}, {{ this.spec_json }});
        {% endmacro %}
    """)

    def __init__(self, grid: Layer | None, spec: dict):
        super().__init__()
        self._name = "GridmapSearch"
        self.grid = grid
        self.spec = spec

    # branca types Element.render as returning str; MacroElement.render, the base here, returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Write the search entries into the page."""
        self.grid_name = "null" if self.grid is None else self.grid.get_name()
        self.spec_json = js_string(self.spec)
        super().render(**kwargs)


def search_control(grid: Layer | None, *, units: list, places: list, lang: str = "zh") -> SearchControl:
    """Return the search box for a map.

    Parameters
    ----------
    grid : gridmap.maps.choropleth.GridLayer or None
        The grid layer: its codes are searched, and compounds lead to its grids.
    units : list of [name, kind label, grid position]
        Compounds, villages and sites, each with the position of its grid in ``grid``.
    places : list of [name, kind label, layer key, feature position or None, [[south, west], [north, east]]]
        Communities and streets: where to zoom, and which feature of ``gridmap.layers[layer key]`` to open.
    lang : {"zh", "en"}, default "zh"

    Returns
    -------
    SearchControl
        Add it to the map with ``.add_to(m)``.
    """
    text = _TEXT[lang]
    return SearchControl(grid, {"placeholder": text["placeholder"], "empty": text["empty"],
                                "gridKind": text["grid"], "units": units, "places": places})
