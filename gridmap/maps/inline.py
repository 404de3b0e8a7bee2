"""Maps shown inline in Jupyter with no network: the notebook view is the same self-contained page.

folium's ``Map._repr_html_`` (what a notebook displays) renders the map with its CDN links — Leaflet from
a public CDN — so a gridmap map shown inline is blank offline, while the saved file works. :func:`inline`
makes a map display :func:`gridmap.maps.to_html`'s page instead, in an ``<iframe srcdoc>`` as folium does.

Examples
--------
>>> from gridmap.maps import base_map
>>> m = inline(base_map(title="示例市"))
>>> shown = m._repr_html_()
>>> shown.startswith("<div") and "srcdoc=" in shown and "https://cdn" not in shown
True
"""

from __future__ import annotations

import html
from typing import Any

import folium

from gridmap.maps.base import to_html

__all__ = ["OfflineMap", "inline"]


class OfflineMap(folium.Map):
    """A ``folium.Map`` that a notebook shows as its self-contained page (see :func:`inline`)."""

    def _repr_html_(self, **kwargs: Any) -> str:
        """Return the page of :func:`gridmap.maps.to_html` in an iframe, 60 % as high as wide."""
        page = html.escape(to_html(self))
        return ('<div style="width:100%;">'
                '<div style="position:relative;width:100%;height:0;padding-bottom:60%;">'
                f'<iframe srcdoc="{page}" style="position:absolute;width:100%;height:100%;left:0;top:0;'
                'border:none !important;" allowfullscreen webkitallowfullscreen mozallowfullscreen>'
                '</iframe></div></div>')


def inline(fmap: folium.Map) -> folium.Map:
    """Make ``fmap`` show inline (Jupyter) as its self-contained page; return it (the same object).

    Parameters
    ----------
    fmap : folium.Map
        A map made by :func:`gridmap.maps.base_map` (or a function built on it).

    Returns
    -------
    folium.Map
        ``fmap``, now an :class:`OfflineMap`.
    """
    if type(fmap) is folium.Map:
        fmap.__class__ = OfflineMap
    return fmap
