"""Maps that open anywhere: self-contained HTML pages built on folium and Leaflet, offline by default.

:func:`one_screen` is the one-screen map (一屏) of a city's grids or of one community (choropleths, case
heat map, search, popups, and optional layers for people and field work made with :func:`overlay`);
:func:`cockpit` puts it on a 1920×1080 page with headline figures, cases by month, the top grids and panels
for the overlays; :func:`static_map` draws a PNG/PDF for reports. :func:`overview_map` draws a city's
districts, streets, communities, grids and base units; :func:`base_map` is the empty offline map other map
types start from, with no base map, a built-in one or your own tiles (:func:`tile_source`: a folder,
an MBTiles file or an intranet URL, GCJ-02 or WGS84); :func:`save_html` writes a page with every script and
style inline, so it opens with no network (government intranet, a phone, behind blocked CDNs).

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> communities = gpd.GeoDataFrame({"code": ["450102001001"], "name": ["翠竹社区"]},
...                                geometry=[box(108.30, 22.80, 108.31, 22.81)], crs="EPSG:4326")
>>> page = to_html(overview_map(communities=communities))
>>> "翠竹社区" in page and "<script src=" not in page
True
"""

from gridmap.maps.base import BASEMAPS, LANGS, base_map, js_string, save_html, to_html
from gridmap.maps.choropleth import MEASURES, SCHEMES, classify
from gridmap.maps.cockpit import cockpit, save_cockpit
from gridmap.maps.layers import (
    BOUNDARY_LEVELS,
    BOUNDARY_STYLES,
    UNIT_COLORS,
    GeoLayer,
    boundary_layer,
    encode_geometry,
    label_zoom,
    legend,
    overview_map,
    unit_layer,
)
from gridmap.maps.onescreen import one_screen
from gridmap.maps.overlays import OVERLAYS, Overlay, overlay
from gridmap.maps.static import cjk_font, static_map
from gridmap.maps.tiles import TileSource, tile_source

__all__ = [
    "one_screen",
    "overlay",
    "Overlay",
    "OVERLAYS",
    "cockpit",
    "save_cockpit",
    "static_map",
    "cjk_font",
    "MEASURES",
    "SCHEMES",
    "classify",
    "BASEMAPS",
    "tile_source",
    "TileSource",
    "LANGS",
    "BOUNDARY_LEVELS",
    "BOUNDARY_STYLES",
    "UNIT_COLORS",
    "GeoLayer",
    "base_map",
    "boundary_layer",
    "unit_layer",
    "legend",
    "label_zoom",
    "encode_geometry",
    "overview_map",
    "to_html",
    "save_html",
    "js_string",
]
