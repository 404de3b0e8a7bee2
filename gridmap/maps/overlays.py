"""Optional layers of the one-screen map for people, organisation and field work (issues 20 and 21).

An :class:`Overlay` is the result of a :mod:`gridmap.people`, :mod:`gridmap.fieldwork` or
:mod:`gridmap.stats` function made into a layer of :func:`gridmap.maps.one_screen` (and of the cockpit, which
also sums it up in a panel). Each is off when the page opens, one tick away in the layer control, and its
legend entries show only while it is on. :data:`OVERLAYS` lists the kinds:

========== ====================== ================================================================
kind       layer                  made from
========== ====================== ================================================================
staffing   人员配备不达标          :func:`gridmap.people.check_staffing` (its Report)
party      网格党支部覆盖          :func:`gridmap.people.party_coverage` (or its ``grids`` frame)
liaison    联系领导缺位            :func:`gridmap.people.check_liaison` (its Report)
zones      巡控区                  :func:`gridmap.fieldwork.patrol_zones` or ``zone_coverage(...).zones``
circles    步行服务圈              :func:`gridmap.fieldwork.service_circles`
escalation 网格内化解率            :func:`gridmap.fieldwork.analyse_escalation` (or its ``grids`` frame)
quality    网格质效指数            :func:`gridmap.stats.quality_index`
patrols    巡查覆盖率              ``summarize_patrols(...).grids`` (``column="coverage"``)
tracks     巡查轨迹                ``summarize_patrols(...).tracks`` (each worker's line of a day)
========== ====================== ================================================================

A per-grid overlay takes each grid's polygon from the grid layer in the page (nothing is embedded twice);
units above the grids (communities, streets, districts breaking a staffing rule or without a liaison) are
drawn as outlines when the map has their boundaries; zones and circles carry their own polygons, simplified
to a pixel at zoom 18. ``patrols`` colours the grids by the share of their units a patrol passed; its popup
gives the patrols done against required, the units passed, the longest gap and the days since the last patrol
when the frame has them (a :class:`~gridmap.fieldwork.PatrolSummary`'s ``grids``). Any other frame keyed by
grid ``code`` with a share column (``column=``) and an optional Chinese ``label`` is drawn the same way.

``tracks`` draws each worker's GPS track of a day as a line — for a community page: a map of a whole city
would carry every point of every worker. A day's line is drawn whole (not clipped) when any part of it passes
through a mapped grid, so that its popup — the worker's role, the day, the grid of most of the day's time, the
length in metres, the number of points and the time — describes the line drawn; a page without such a line
gets no tracks layer. Lines are simplified to one pixel at zoom 18, as zones are, and written as integer
steps of one such pixel in the compact text of the grid layer's arcs
(:func:`gridmap.maps._topology.encode_numbers`): a few bytes a point.

Popups are text (``textContent``), never HTML. They name people only as
:func:`gridmap.people.public_roster` allows — grid leaders and grid workers by name, nobody with a phone or
an id — and no one at all on a public map (``public=True``), where escalation counts below 5 are hidden. A
track shows its worker's role (``role`` column, from the roster; 巡查人员 when unknown), their name only
under the same rule, never their id.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> grids = gpd.GeoDataFrame({"code": ["450102001003001", "450102001003002"], "population": [900, 1100]},
...                          geometry=[box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.32, 22.81)],
...                          crs="EPSG:4490")
>>> covered = grids.assign(covered=[True, False])
>>> from gridmap.maps import one_screen, to_html
>>> page = to_html(one_screen(grids, overlays=[overlay(covered, kind="party")]))
>>> "gridmap.overlay(" in page and "未建网格党支部" in page
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.map import Layer
from folium.template import Template
from folium.utilities import get_obj_in_upper_tree

from gridmap.errors import GridmapError
from gridmap.findings import Report
from gridmap.maps._overlay_paint import (
    Context,
    Paint,
    paint_circles,
    paint_escalation,
    paint_liaison,
    paint_party,
    paint_patrols,
    paint_quality,
    paint_staffing,
    paint_tracks,
    paint_zones,
)
from gridmap.maps._topology import encode_numbers
from gridmap.maps.base import control_label, js_string
from gridmap.maps.choropleth import DETAIL_ZOOM, GridLayer
from gridmap.maps.layers import _SCALE, _UNIT_RADIUS, _shift, encode_geometry
from gridmap.schema import LEVELS, model_columns

__all__ = ["OVERLAYS", "OverlayKind", "Overlay", "overlay", "OverlayLayer", "overlay_layers"]


@dataclass(frozen=True)
class OverlayKind:
    """What one kind of overlay is called and what it is made from."""

    name_zh: str
    name_en: str
    source: str

    def name(self, lang: str) -> str:
        """Return the layer's name in ``lang``."""
        return self.name_zh if lang == "zh" else self.name_en


#: The kinds of overlay, in the order the layer control and the legend list them.
OVERLAYS = {
    "staffing": OverlayKind("人员配备不达标", "Staffing rules broken",
                            "the Report of gridmap.people.check_staffing"),
    "party": OverlayKind("网格党支部覆盖", "Party branches on grids",
                         "gridmap.people.party_coverage(...) or its .grids frame (code, covered)"),
    "liaison": OverlayKind("联系领导缺位", "Units without a liaison",
                           "the Report of gridmap.people.check_liaison"),
    "zones": OverlayKind("巡控区", "Patrol zones",
                         "gridmap.fieldwork.patrol_zones(...) or zone_coverage(...) "
                         "(zone_id, kind, polygons)"),
    "circles": OverlayKind("步行服务圈", "Walking circles",
                           "gridmap.fieldwork.service_circles(...) (centre_id, minutes, polygons)"),
    "escalation": OverlayKind("网格内化解率", "Settled inside the grid",
                              "gridmap.fieldwork.analyse_escalation(...) or its .grids frame "
                              "(code, settled_in_grid_rate)"),
    "quality": OverlayKind("网格质效指数", "Grid quality index",
                           "gridmap.stats.quality_index(...) (code, index, rank, breakdown)"),
    "patrols": OverlayKind("巡查覆盖率", "Patrol coverage",
                           "gridmap.fieldwork.summarize_patrols(...).grids (column='coverage'), or a "
                           "per-grid frame: code and a 0–1 share column (column=, default patrol_coverage)"),
    "tracks": OverlayKind("巡查轨迹", "Patrol tracks",
                          "gridmap.fieldwork.summarize_patrols(...).tracks (day, points, length_m, lines; "
                          "role and name from the roster when known)"),
}

#: Geometry of zones, circles and tracks is simplified to one pixel at DETAIL_ZOOM.
_TOLERANCE = 360 / (256 * 2**DETAIL_ZOOM)
#: Lines are written in steps of that pixel (as the grid layer's arcs are).
_LINE_SCALE = 1 / _TOLERANCE
#: Shapely's type ids of LineString and MultiLineString (the lines kept only where they pass through a grid).
_LINE_TYPES = (1, 5)


@dataclass(frozen=True)
class Overlay:
    """An optional layer of the one-screen map: a result of the people or field-work stages, and its kind.

    Made by :func:`overlay`; pass a list of them to :func:`gridmap.maps.one_screen` or
    :func:`gridmap.maps.cockpit` (``overlays=``).

    Attributes
    ----------
    kind : str
        One of :data:`OVERLAYS`.
    data : object
        What the library function returned (a Report, a result object or a frame).
    column : str, optional
        The measure of a ``patrols`` overlay (default ``patrol_coverage``).
    name : str, optional
        The layer's name, instead of the kind's.
    """

    kind: str
    data: Any = field(repr=False)
    column: str | None = None
    name: str | None = None

    def title(self, lang: str) -> str:
        """Return the layer's name in ``lang``."""
        return self.name or OVERLAYS[self.kind].name(lang)


def overlay(data: Any, *, kind: str, column: str | None = None, name: str | None = None) -> Overlay:
    """Make a result of the people or field-work stages into an optional layer of the one-screen map.

    Parameters
    ----------
    data : object
        What the function :data:`OVERLAYS` names for ``kind`` returned: a :class:`gridmap.Report`
        (``staffing``, ``liaison``), a :class:`~gridmap.people.PartyCoverage`, zones, circles, an
        :class:`~gridmap.fieldwork.Escalation`, a quality index, a per-grid frame keyed by ``code``, or
        the ``tracks`` of a :class:`~gridmap.fieldwork.PatrolSummary` (with ``role`` and ``name`` columns
        from the roster, when known).
    kind : str
        One of :data:`OVERLAYS`: ``staffing``, ``party``, ``liaison``, ``zones``, ``circles``,
        ``escalation``, ``quality``, ``patrols`` or ``tracks``.
    column : str, optional
        The share (0–1) a ``patrols`` overlay colours the grids by (default ``patrol_coverage``;
        ``coverage`` for the ``grids`` of :func:`gridmap.fieldwork.summarize_patrols`, whose patrols,
        units passed, longest gap and idle days the popup shows); a frame of shares alone shows its
        ``label`` column, when present.
    name : str, optional
        Name in the layer control and the legend (default: the kind's Chinese name).

    Returns
    -------
    Overlay

    Raises
    ------
    GridmapError
        An unknown kind, or ``data`` that is not what the kind is made from (the message says what is).

    Examples
    --------
    >>> import pandas as pd
    >>> patrols = pd.DataFrame({"code": ["450102001003001"], "patrol_coverage": [0.8]})
    >>> overlay(patrols, kind="patrols").title("zh")
    '巡查覆盖率'
    """
    if kind not in OVERLAYS:
        raise GridmapError(f"kind={kind!r} is not a kind of overlay",
                           fix=f"use kind= one of {', '.join(repr(k) for k in OVERLAYS)}")
    made = Overlay(kind, data, column=column, name=name)
    _SOURCES[kind](made)  # refuse data of the wrong shape now, not when the page is drawn
    return made


# --- what each kind is made from ----------------------------------------------------------------------

def _frame(made: Overlay, data: Any, required: Iterable[str], attribute: str | None = None) -> pd.DataFrame:
    """Return the frame of ``data`` (or its ``attribute``), checked to have the ``required`` columns.

    A grid code given under another header (网格编码, grid_code) is read as ``code``.
    """
    if attribute is not None and not isinstance(data, pd.DataFrame) and hasattr(data, attribute):
        data = getattr(data, attribute)
    if isinstance(data, pd.DataFrame) and "code" not in data.columns:
        data = model_columns(data, "grids")[0]
    missing = [] if not isinstance(data, pd.DataFrame) else [c for c in required if c not in data.columns]
    if not isinstance(data, pd.DataFrame) or missing:
        got = type(data).__name__ if not isinstance(data, pd.DataFrame) else \
            f"a frame without {', '.join(missing)}"
        raise GridmapError(f"a {made.kind} overlay is made from {OVERLAYS[made.kind].source}; got {got}",
                           record=f"overlay {made.kind}", fix="pass what that function returns")
    return data


def _report_tables(made: Overlay, required: Iterable[str]) -> dict[str, pd.DataFrame]:
    """Return the per-level tables of a staffing or liaison Report (``grid`` at least)."""
    data = made.data
    if isinstance(data, pd.DataFrame):  # the grid table alone
        return {"grid": _frame(made, data, ["code", *required])}
    if not isinstance(data, Report) or "grid" not in data.tables:
        return {"grid": _frame(made, None, [])}  # refused: names what the kind is made from
    tables = {level: data.tables[level] for level in ("grid", *LEVELS) if level in data.tables}
    for table in tables.values():
        _frame(made, table, ["code", *required])
    return tables


def _staffing_source(made: Overlay) -> dict[str, pd.DataFrame]:
    return _report_tables(made, ["rules_broken", "vacancies"])


def _liaison_source(made: Overlay) -> dict[str, pd.DataFrame]:
    return _report_tables(made, ["covered"])


def _party_source(made: Overlay) -> pd.DataFrame:
    return _frame(made, made.data, ["code", "covered"], "grids")


def _zones_source(made: Overlay) -> gpd.GeoDataFrame:
    frame = _frame(made, made.data, ["zone_id", "kind"], "zones")
    return _geoframe(made, frame)


def _circles_source(made: Overlay) -> gpd.GeoDataFrame:
    return _geoframe(made, _frame(made, made.data, ["centre_id", "minutes"]))


def _escalation_source(made: Overlay) -> pd.DataFrame:
    data = made.data
    if not isinstance(data, pd.DataFrame) and getattr(data, "grids", "") is None:
        raise GridmapError("the escalation has no per-grid table: its cases' grids are unknown",
                           record="overlay escalation",
                           fix="pass cases with grid codes (or points and grids=) to analyse_escalation")
    return _frame(made, data, ["code", "settled_in_grid_rate"], "grids")


def _quality_source(made: Overlay) -> pd.DataFrame:
    return _frame(made, made.data, ["code", "index"])


def _patrols_source(made: Overlay) -> pd.DataFrame:
    return _frame(made, made.data, ["code", made.column or "patrol_coverage"])


def _tracks_source(made: Overlay) -> gpd.GeoDataFrame:
    return _geoframe(made, _frame(made, made.data, ["day", "points", "length_m"], "tracks"))


def _geoframe(made: Overlay, frame: pd.DataFrame) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        raise GridmapError(f"a {made.kind} overlay needs geometry with a coordinate reference system",
                           record=f"overlay {made.kind}", fix=f"pass {OVERLAYS[made.kind].source}")
    return frame


_SOURCES: dict[str, Callable[[Overlay], Any]] = {
    "staffing": _staffing_source, "party": _party_source, "liaison": _liaison_source, "zones": _zones_source,
    "circles": _circles_source, "escalation": _escalation_source, "quality": _quality_source,
    "patrols": _patrols_source, "tracks": _tracks_source,
}


# --- what a layer shows ---------------------------------------------------------------------------------

def _paint(made: Overlay, context: Context) -> Paint:
    source = _SOURCES[made.kind](made)
    if made.kind == "staffing":
        return paint_staffing(source, context)
    if made.kind == "liaison":
        return paint_liaison(source, context)
    if made.kind == "patrols":
        return paint_patrols(source, made.column or "patrol_coverage", made.title(context.lang), context)
    painters: dict[str, Callable[[Any, Context], Paint]] = {
        "party": paint_party, "zones": paint_zones, "circles": paint_circles,
        "escalation": paint_escalation, "quality": paint_quality, "tracks": paint_tracks}
    return painters[made.kind](source, context)


# --- the layer in the page ------------------------------------------------------------------------------

class OverlayLayer(Layer):
    """An optional layer over the grid layer: grid features reuse the grids' polygons, others carry theirs.

    Parameters
    ----------
    grid : GridLayer
        The page's grid layer.
    positions : list of int
        The grid (its position in ``grid``) of each grid feature.
    geometry : geopandas.GeoSeries
        The other features' geometry, in EPSG:4326.
    rows : list of list
        Per feature (grid features first): the title followed by one value per field.
    fields : list of str
        Labels of the popup rows.
    classes : list of dict
        ``{"label", "style"}``: the legend entry and Leaflet path options of each class.
    class_index : list of int
        The class of each feature.
    key : str
        Name under which the page registers the layer (``window.gridmap.layers[key]``).
    name : str
        Name in the layer control and heading of its legend entries.
    show : bool, default False
        Whether the layer is on when the page opens.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gridmap.overlay({{ this.spec_json }}, {{ this.grid.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, grid: GridLayer, positions: list[int], geometry: gpd.GeoSeries, rows: list[list], *,
                 fields: list[str], classes: list[dict], class_index: list[int], key: str, name: str,
                 show: bool = False):
        super().__init__(name=control_label(name), overlay=True, control=True, show=show)
        self._name = "OverlayLayer"
        self.grid, self.positions, self.geometry = grid, positions, geometry.reset_index(drop=True)
        self.rows, self.fields, self.classes, self.class_index = rows, fields, classes, class_index
        self.key, self.title = key, name

    def legend_items(self) -> list[dict]:
        """Return the legend entries: a heading, then one per class drawn, each tied to this layer."""
        items: list[dict] = [{"label": self.title, "heading": True, "layer": self.key}]
        for index in sorted(set(self.class_index)):
            entry = self.classes[index]
            style = entry["style"]
            items.append({"label": entry["label"], "color": style["color"],
                          "fill": None if style.get("fill") is False else style["fillColor"],
                          "dashed": "dashArray" in style, "shape": entry.get("shape", "area"),
                          "layer": self.key})
        return items

    def _coords(self) -> str:
        fmap = get_obj_in_upper_tree(self, folium.Map)
        return getattr(fmap, "gridmap_coords", "wgs84")

    def _get_self_bounds(self) -> list[list[float | None]]:
        if self.geometry.empty:
            return [[None, None], [None, None]]
        minx, miny, maxx, maxy = _shift(self.geometry, self._coords()).total_bounds
        return [[float(miny), float(minx)], [float(maxy), float(maxx)]]

    # branca types Element.render as returning str; MacroElement.render, the base here, returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Write the features (own geometry in the map's coordinates) into the page.

        Lines are written as texts of integer steps (:func:`_line_texts`), other geometry as compact GeoJSON
        (:func:`gridmap.maps.layers.encode_geometry`).
        """
        drawn = _shift(self.geometry, self._coords())
        features: list[dict] = [{"g": position, "v": self.rows[i], "s": self.class_index[i]}
                                for i, position in enumerate(self.positions)]
        offset = len(self.positions)
        features += [{**_encoded(geom), "v": self.rows[offset + i], "s": self.class_index[offset + i]}
                     for i, geom in enumerate(drawn.values)]
        self.spec_json = js_string({"key": self.key, "scale": _SCALE, "lineScale": _LINE_SCALE,
                                    "radius": _UNIT_RADIUS, "fields": self.fields,
                                    "styles": [c["style"] for c in self.classes], "features": features})
        super().render(**kwargs)


def _encoded(geom) -> dict:
    if geom.geom_type in ("LineString", "MultiLineString"):
        return {"lines": _line_texts(geom)}
    return {"geometry": encode_geometry(geom)}


def _line_texts(geom, scale: float = _LINE_SCALE) -> list[str]:
    """Return each line of a (Multi)LineString as a text of integer steps of ``1/scale`` degree.

    A line's first point, then the step to each next one, written with
    :func:`gridmap.maps._topology.encode_numbers` (two or three characters a number): what the page's
    ``gridmap.overlay`` decodes. Steps of zero (points that fall on one pixel) are dropped.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> from gridmap.maps._topology import decode_arc
    >>> line = LineString([(0, 0), (0.001, 0), (0.001, 0), (0.001, 0.002)])
    >>> [decode_arc(text) for text in _line_texts(line, scale=1000)]
    [[(0, 0), (1, 0), (1, 2)]]
    """
    texts = []
    for part in shapely.get_parts(geom):
        ints = np.rint(shapely.get_coordinates(part) * scale).astype(np.int64)
        ints = ints[np.r_[True, (np.diff(ints, axis=0) != 0).any(axis=1)]]
        ints[1:] = np.diff(ints, axis=0)
        texts.append(encode_numbers(ints.ravel()))
    return texts


def overlay_layers(overlays: Iterable[Overlay], grid: GridLayer, *,
                   areas: Mapping[str, gpd.GeoDataFrame | None], lang: str = "zh",
                   public: bool = False) -> list[OverlayLayer]:
    """Return the layers of ``overlays`` over ``grid`` (the grids it draws; codes elsewhere are left out).

    Parameters
    ----------
    overlays : iterable of Overlay
    grid : GridLayer
        The page's grid layer (its ``codes`` say which grids are mapped).
    areas : mapping of level to GeoDataFrame or None
        The map's districts, streets and communities (``code``, ``name``), for units above the grids.
    lang : {"zh", "en"}
    public : bool
        No names of people; escalation counts below 5 hidden.
    """
    context = Context(lang=lang, public=public, areas=areas)
    position = {code: i for i, code in enumerate(grid.codes)}
    polygons = np.asarray(grid.geometry.values, dtype=object)
    layers = []
    for number, made in enumerate(overlays):
        if not isinstance(made, Overlay):
            raise GridmapError(f"overlays[{number}] is a {type(made).__name__}, not an Overlay",
                               fix="make each with gridmap.maps.overlay(data, kind=...)")
        paint = _paint(made, context)
        keep = [i for i, code in enumerate(paint.codes) if code in position]
        geometry, shape_keep = _drawable_shapes(paint.shapes, polygons, made)
        if made.kind == "tracks" and not shape_keep:
            continue  # no track passes through the mapped grids: no layer
        rows = [paint.code_rows[i] for i in keep] + [paint.shape_rows[i] for i in shape_keep]
        classes = [paint.code_classes[i] for i in keep] + [paint.shape_classes[i] for i in shape_keep]
        layers.append(OverlayLayer(grid, [position[paint.codes[i]] for i in keep], geometry, rows,
                                   fields=paint.fields, classes=paint.classes, class_index=classes,
                                   key=f"overlay_{made.kind}_{number}", name=made.title(lang)))
    return layers


def _drawable_shapes(shapes: list, polygons: np.ndarray, made: Overlay) -> tuple[gpd.GeoSeries, list[int]]:
    """Return the features' own geometry in EPSG:4326, 2-D, simplified; only those over the mapped grids.

    ``polygons``: the mapped grids (EPSG:4326). A line is over them when it passes through one of them; other
    shapes when they meet the grids' bounding box.
    """
    if not shapes:
        return gpd.GeoSeries([], crs="EPSG:4326"), []
    crs = _crs_of(made)
    series = gpd.GeoSeries(shapes, crs=crs).to_crs("EPSG:4326")
    given = shapely.force_2d(np.asarray(series.values, dtype=object))
    geoms = shapely.simplify(given, _TOLERANCE, preserve_topology=True)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if len(polygons):
        over = shapely.intersects(geoms, shapely.box(*shapely.total_bounds(polygons)))
        lines = np.isin(shapely.get_type_id(given), _LINE_TYPES)
        if lines.any():
            passing = shapely.STRtree(polygons).query(given[lines], predicate="intersects")[0]
            over[lines] = np.isin(np.arange(lines.sum()), passing)
        keep &= over
    kept = np.flatnonzero(keep)
    return gpd.GeoSeries(geoms[kept], crs="EPSG:4326"), kept.tolist()



def _crs_of(made: Overlay):
    """Return the CRS of an overlay's own shapes: its frame's, or the admin areas' (units of a Report)."""
    if made.kind in ("zones", "circles", "tracks"):
        return _SOURCES[made.kind](made).crs
    return "EPSG:4326"  # units above the grids come from the map's areas, already in EPSG:4326
