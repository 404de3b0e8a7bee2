"""Levels of detail for a province on one screen: districts, then streets, then communities, then grids.

A page cannot draw 100,000 grids at once and stay smooth (nor can a reader see them). With
:func:`level_layers` the one-screen map draws, as the view zooms in,

* districts, then streets, then communities, each filled by the measure on display and clickable, with
  their totals (grids, households, population, area, density, cases) in the popup; a level stays on as
  outlines once a finer one is shown;
* the grids themselves only from the zoom at which a few communities fill the screen, and only those of the
  communities near the view: their shared arcs are decoded in the browser when a community first comes into
  view (:class:`LazyGridLayer`), so the page loads without making a single grid polygon.

Each level's geometry is the union of its grids (by code prefix: 6, 9 and 12 digits, with
``shapely.coverage_union_all``) where no boundary layer gives it, snapped and simplified as the grids are
(one pixel at :data:`GRID_ZOOM`: a level stays on as outlines over the grids) and embedded as shared arcs
(:mod:`gridmap.maps._topology`). A level appears at the zoom where its typical unit is about 120 pixels wide
(96 for grids); the page moves the thresholds so that the whole-area view always shows the top level and
each level has at least one zoom step.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> grids = gpd.GeoDataFrame({"code": ["990101001001001", "990101001002001"], "population": [900, 1100]},
...                          geometry=[box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.32, 22.81)],
...                          crs="EPSG:4326")
>>> codes, parts = dissolve(grids.geometry.values, grids["code"].str[:12].to_numpy())
>>> codes.tolist(), [round(p.area, 4) for p in parts]
(['990101001001', '990101001002'], [0.0001, 0.0001])
>>> start_zoom(0.01, 120)   # a level of units 0.01° wide appears at zoom 14.04
14.04
"""

from __future__ import annotations

import math
import re
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure, MacroElement
from folium.map import Layer
from folium.template import Template
from folium.utilities import get_obj_in_upper_tree

from gridmap.maps._merge import merged_topology
from gridmap.maps._topology import Topology, coverage_topology, encode_numbers, encode_shapes
from gridmap.maps.base import RawHTML, control_label, js_string
from gridmap.maps.choropleth import GridLayer, measure_spec, nan_to_none
from gridmap.maps.layers import BOUNDARY_STYLES, _shift, label_zooms, text_px

__all__ = ["LEVELS", "LOD_MIN_GRIDS", "GRID_ZOOM", "LazyGridLayer", "LevelLayer", "LevelsControl",
           "compact_codes", "compact_field", "dissolve", "group_bounds", "label_points", "start_zoom",
           "rollup", "level_layers"]

#: Levels above the grids and the digits of their codes.
LEVELS = {"district": 6, "street": 9, "community": 12}
#: With this many grids or more, the one-screen map draws levels of detail (see gridmap.maps.one_screen).
LOD_MIN_GRIDS = 5_000
#: Grid vertices are snapped and simplified to one pixel at this zoom (about 4.8 m at the equator, 4.4 m at
#: 23° N); the page zooms in to GRID_ZOOM + 3.
GRID_ZOOM = 15
#: Integer steps per degree of the stored vertices: one pixel at GRID_ZOOM.
GRID_SCALE = 256 * 2**GRID_ZOOM / 360
_ADMIN_PX, _GRID_PX = 120, 96
_TEXT = {
    "zh": {"district": "城区/县", "street": "街道/乡镇", "community": "社区/村", "grids": "网格数",
           "code": "编码", "kind": "类型", "households": "户数", "population": "人口", "area": "面积",
           "km2": "km²", "cases": "案件数", "suppressed": "少于5件"},
    "en": {"district": "District/county", "street": "Street/township", "community": "Community/village",
           "grids": "Grids", "code": "Code", "kind": "Type", "households": "Households",
           "population": "Population", "area": "Area", "km2": "km²", "cases": "Cases",
           "suppressed": "fewer than 5"},
}


def start_zoom(width_degrees: float, pixels: int) -> float:
    """Return the zoom (to 0.01) at which something ``width_degrees`` wide is ``pixels`` wide on screen."""
    if not width_degrees > 0:
        return 0.0
    return round(math.log2(pixels * 360 / (256 * width_degrees)), 2)


def dissolve(geoms: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union the polygons by key; return the sorted keys and their unions.

    ``shapely.coverage_union_all`` (fast, for polygons that share their edges exactly); a group whose
    polygons are not noded together is united with ``shapely.union_all`` instead.
    """
    order = np.argsort(keys, kind="stable")
    keys, geoms = keys[order], geoms[order]
    uniques, starts = np.unique(keys, return_index=True)
    ends = np.r_[starts[1:], len(keys)]
    out = np.empty(len(uniques), dtype=object)
    for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        group = geoms[a:b]
        try:
            out[i] = group[0] if b - a == 1 else shapely.coverage_union_all(group)
        except shapely.errors.GEOSException:
            out[i] = shapely.union_all(group)
    return uniques, out


def rollup(grids: gpd.GeoDataFrame, figures: pd.DataFrame, communities: pd.Series, given: dict, *,
           raw_cases: pd.Series | None) -> dict[str, gpd.GeoDataFrame]:
    """Districts, streets and communities of the grids with their totals, names and given boundaries.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        The grids in EPSG:4326 (optional ``households``, ``population``).
    figures : pandas.DataFrame
        :func:`gridmap.maps.figures.grid_figures` of the grids (``area_km2``, optional ``cases``).
    communities : pandas.Series
        Each grid's 12-digit community code.
    given : dict
        Boundary layer of each level, or None: names from it, and its geometry where it has one.
    raw_cases : pandas.Series, optional
        Each grid's case count before small counts are hidden (public maps), else ``figures["cases"]``.

    Returns
    -------
    dict of geopandas.GeoDataFrame
        Per level, sorted by code: ``code``, ``name``, ``grids``, ``households``, ``population``,
        ``area_km2`` and ``cases`` when known. Geometry in EPSG:4326 from the level's boundary layer, the
        union of its grids for a unit the layer does not draw; missing for every unit of a level whose
        layer draws none (or no layer): :class:`LevelLayer` draws those from the grids' shared arcs, with
        no union made.
    """
    values = pd.DataFrame({"grids": 1, "area_km2": figures["area_km2"].to_numpy()}, index=grids.index)
    for column in ("households", "population"):
        if column in grids.columns:
            values[column] = pd.to_numeric(grids[column], errors="coerce").to_numpy()
    cases = raw_cases if raw_cases is not None else figures.get("cases")
    if cases is not None:
        values["cases"] = pd.to_numeric(cases, errors="coerce").to_numpy()
    codes = communities.to_numpy().astype(str)
    levels = {}
    for level, digits in LEVELS.items():
        keys = codes.astype(f"<U{digits}")
        totals = values.groupby(keys).sum(min_count=1)
        frame = gpd.GeoDataFrame({"code": totals.index.to_numpy(dtype=str)},
                                 geometry=gpd.GeoSeries([None] * len(totals), crs="EPSG:4326"))
        frame = frame.join(totals, on="code")
        levels[level] = _with_given(frame, given.get(level), grids.geometry.values, keys)
    return levels


def _with_given(frame: gpd.GeoDataFrame, layer, geoms: np.ndarray, keys: np.ndarray) -> gpd.GeoDataFrame:
    """Names (and ``kind``) from a boundary layer; its geometry where it has one, else the grids' union."""
    frame = frame.assign(name=frame["code"])
    if layer is None or "code" not in layer.columns:
        return frame
    layer = layer.drop_duplicates("code").set_index(layer["code"].astype(str).to_numpy())
    if "name" in layer.columns:
        names = layer["name"].where(layer["name"].notna(), None)
        frame["name"] = [names.get(c) or c for c in frame["code"]]
    if "kind" in layer.columns:
        frame["kind"] = [layer["kind"].get(c) for c in frame["code"]]
    drawn = layer[layer.geometry.notna() & ~layer.geometry.is_empty]
    if len(drawn):
        drawn = drawn if drawn.crs.equals("EPSG:4326") else drawn.to_crs("EPSG:4326")
        given = drawn.geometry.reindex(frame["code"].to_numpy())
        keep = given.notna().to_numpy()
        geometry = np.empty(len(frame), dtype=object)
        geometry[keep] = given.to_numpy()[keep]
        if not keep.all():  # units the layer does not draw: the unions of their grids
            missing = np.isin(keys, frame["code"].to_numpy()[~keep])
            geometry[~keep] = dissolve(np.asarray(geoms)[missing], keys[missing])[1]
        frame = frame.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs="EPSG:4326"))
    return frame


class LazyGridLayer(GridLayer):
    """The grid layer of a province: grids drawn only near the view from ``zoom`` on (see module doc).

    Takes :class:`~gridmap.maps.choropleth.GridLayer`'s parameters and ``communities`` (each grid's
    community code; the grids must be sorted by it).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gridmap.gridLayer({{ this.spec_json }}, {{ this.lazy_json }});
        {% endmacro %}
    """)

    def __init__(self, geometry: gpd.GeoSeries, *, communities: list, **kwargs: Any):
        super().__init__(geometry, **kwargs)
        self.communities = np.asarray(communities, dtype=str)
        self._centres: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        widths = shapely.bounds(self.geometry.values)
        self.zoom = start_zoom(float(np.nanmedian(widths[:, 2] - widths[:, 0])) if len(widths) else 0,
                               _GRID_PX)

    def drawn_topology(self) -> Topology:
        """Return the grids as drawn, as chained arcs at :data:`GRID_ZOOM` (made once per coordinates)."""
        coords = self._coords()
        if coords not in self._topologies:
            self._topologies[coords] = coverage_topology(self.drawn_geometry().values, scale=GRID_SCALE,
                                                         tolerance=1 / GRID_SCALE, chained=True)
        return self._topologies[coords]

    # branca types Element.render as returning str; MacroElement.render, the base here, returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Write the grids compactly: chained arcs at :data:`GRID_ZOOM`, codes and numbers encoded."""
        drawn = self.drawn_geometry()
        self.topology = topology = self.drawn_topology()
        bounds = shapely.bounds(np.asarray(drawn.values))
        keys = self.communities
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.array([], int)
        ends = np.r_[starts[1:], len(keys)]
        boxes = np.round(group_bounds(bounds, np.cumsum(np.r_[True, keys[1:] != keys[:-1]]) - 1, len(starts)),
                         6) if len(keys) else np.zeros((0, 4))
        groups = [[a, b, south, west, north, east] for a, b, (west, south, east, north) in
                  zip(starts.tolist(), ends.tolist(), boxes.tolist(), strict=True)]
        titles = None if list(self.titles) == list(self.codes) else self.titles  # null: the codes
        zooms = label_zooms(bounds[:, 2] - bounds[:, 0], self.titles)
        shapes = encode_shapes(topology)
        self.spec_json = js_string({
            "key": self.key, "scale": GRID_SCALE, "translate": list(topology.translate),
            "arcs": " ".join(topology.arcs), "shapes": shapes, "codes": compact_codes(self.codes),
            "titles": titles, "fields": [compact_field(field) for field in self.fields],
            "measures": self.measures, "measure": self.measure, "style": self.style, "lang": self.lang,
            "labels": -1 if self.labels else None, "labelAt": None})  # labels go where grids are made
        self.lazy_json = js_string({"zoom": self.zoom, "groups": groups, "chained": True,
                                    "labelZoom": _letters(zooms)})
        Layer.render(self, **kwargs)

    def drawn_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Return each grid's centroid and area as drawn (made once per coordinate system)."""
        coords = self._coords()
        if coords not in self._centres:
            geoms = np.asarray(self.drawn_geometry().values)
            self._centres[coords] = shapely.get_coordinates(shapely.centroid(geoms)), shapely.area(geoms)
        return self._centres[coords]


_CODE = re.compile(r"[0-9A-Za-z_.-]*")


def compact_codes(codes: list) -> str | list:
    """Write codes as one string, each as what it shares with the one before and the rest.

    A code is ``chr(65 + n)`` for the ``n`` characters it shares with the code before (at most 57), then
    the rest; codes are separated by spaces. A list is returned as it is when some code has characters
    other than letters, digits and ``_.-``.

    Examples
    --------
    >>> compact_codes(["990101001001001", "990101001001002", "990101001002001"])
    'A990101001001001 O2 L2001'
    """
    if not all(isinstance(code, str) for code in codes) or not _CODE.fullmatch("".join(codes)):
        return codes
    chars = np.asarray(codes, dtype=str)
    if not len(chars) or not chars.itemsize:
        return " ".join("A" + code for code in codes)
    table = chars.view(np.uint32).reshape(len(chars), -1)
    differs = np.c_[table[1:] != table[:-1], np.ones((len(chars) - 1, 1), dtype=bool)]
    shared = np.minimum(np.r_[0, differs.argmax(axis=1)], 57)
    return " ".join(chr(65 + n) + code[n:] for n, code in zip(shared.tolist(), codes, strict=True))


def compact_field(field: dict) -> dict:
    """Write a popup field whose values are all numbers (or missing) as encoded integers (``enc``, ``div``).

    A value ``v`` is written as ``round(v * div) + 1`` when not negative, as itself when negative, 0 for
    missing (:func:`gridmap.maps._topology.encode_numbers`).

    Examples
    --------
    >>> compact_field({"label": "面积", "unit": "km²", "values": [0.25, None, 1.5]})
    {'label': '面积', 'unit': 'km²', 'enc': 's@?mH', 'div': 100}
    """
    if "index" in field:  # steps: grids sorted by community have long runs of the same index
        index = np.array([-1 if i is None else i for i in field["index"]], dtype=np.int64)
        return {key: value for key, value in field.items() if key != "index"} | \
            {"indexSteps": encode_numbers(np.diff(index, prepend=0))}
    values = field.get("values")
    if values is None or not all(kind is type(None) or (issubclass(kind, int | float)
                                                        and not issubclass(kind, bool))
                                 for kind in set(map(type, values))):
        return field
    numbers = np.array([np.nan if v is None else v for v in values], dtype=float)
    if not np.isfinite(numbers).sum() == len(values) - list(values).count(None):  # NaN or infinite values
        return field
    for div in (1, 10, 100, 1000):
        scaled = numbers * div
        if np.allclose(scaled[~np.isnan(scaled)], np.round(scaled[~np.isnan(scaled)]), rtol=0, atol=1e-6):
            break
    else:
        return field
    ints = np.round(np.nan_to_num(scaled, nan=0)).astype(np.int64)
    ints = np.where(np.isnan(scaled), 0, np.where(ints >= 0, ints + 1, ints))
    return {key: value for key, value in field.items() if key != "values"} | \
        {"enc": encode_numbers(ints), "div": div}


class LevelLayer(Layer):
    """One level (districts, streets or communities) as filled, clickable polygons with their totals.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        From :func:`rollup`.
    level : {"district", "street", "community"}
    measures : list of dict
        The grid layer's measures (keys in the same order): this level's classes of each.
    scheme, k, lang, public
        As for the one-screen map.
    grids : LazyGridLayer, optional
        The grid layer. Needed when the frame has no geometry (no boundary layer gave it): the level is then
        drawn from the grids' shared arcs (:func:`gridmap.maps._merge.merged_topology`), in the page as
        references to the grid layer's arcs.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gridmap.levelLayer({{ this.spec_json }}, {{ this.grid_name }});
        {% endmacro %}
    """)

    def __init__(self, frame: gpd.GeoDataFrame, *, level: str, measures: list, scheme: str, k: int, lang: str,
                 public: bool, grids: LazyGridLayer | None = None):
        text = _TEXT[lang]
        super().__init__(name=control_label(text[level]), overlay=True, control=False, show=True)
        self._name = "LevelLayer"
        self.key = level
        self.frame = frame.reset_index(drop=True)
        self.grids = grids
        self.topology: Topology | None = None  # made when the page is written
        self.from_grids = bool(self.frame.geometry.isna().all())
        if self.from_grids and grids is None:
            raise ValueError("a level without geometry is drawn from the grids: pass grids=")
        self.groups = pd.Index(self.frame["code"].astype(str)).get_indexer(
            grids.communities.astype(f"<U{LEVELS[level]}")) if grids is not None else None
        widths = self._bounds(None if self.from_grids else self.frame.geometry, drawn=False)
        self.zoom = start_zoom(float(np.median(widths[:, 2] - widths[:, 0])) if len(widths) else 0, _ADMIN_PX)
        self.rows, self.fields, values, suppressed = _rows(self.frame, level, text, public=public)
        self.measures = [measure_spec(m["key"], values[m["key"]], field=0, scheme=scheme, k=k, lang=lang,
                                      suppressed=suppressed if m["key"].startswith("cases") else None)
                         for m in measures]
        self.title = text[level]

    def drawn_geometry(self) -> gpd.GeoSeries:
        """Return the level's own polygons as drawn: WGS84, or GCJ-02 on an Amap base map."""
        fmap = get_obj_in_upper_tree(self, folium.Map)
        return _shift(self.frame.geometry, getattr(fmap, "gridmap_coords", "wgs84"))

    def drawn_bounds(self) -> np.ndarray:
        """Return each unit's bounds as drawn (minx, miny, maxx, maxy); its grids' when drawn from them."""
        return self._bounds(None if self.from_grids else self.drawn_geometry(), drawn=True)

    def _bounds(self, geometry: gpd.GeoSeries | None, *, drawn: bool) -> np.ndarray:
        """Bounds of the given polygons, or of each unit's grids (as drawn, or in EPSG:4326)."""
        if geometry is not None:
            return shapely.bounds(geometry.values)
        assert self.grids is not None and self.groups is not None
        grids = self.grids.drawn_geometry() if drawn else self.grids.geometry
        return group_bounds(shapely.bounds(grids.values), self.groups, len(self.frame))

    # branca types Element.render as returning str; MacroElement.render, the base here, returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Write the polygons as arcs on the grids' integer grid: they stay on as outlines over the grids."""
        self.topology = topology = self._topology()
        titles = [row[0] for row in self.rows]
        if self.from_grids:
            assert self.grids is not None and self.groups is not None
            points = label_points(np.asarray(self.grids.drawn_geometry().values), self.groups,
                                  len(self.frame), centres=self.grids.drawn_centres())
        else:
            own = np.asarray(self.drawn_geometry().values)
            points = shapely.get_coordinates(shapely.point_on_surface(own))
        at = np.rint(points * GRID_SCALE).astype(np.int64)
        widths = self.drawn_bounds()
        boxes = np.rint(widths * GRID_SCALE).astype(np.int64) - np.tile(at, 2)  # bounds around the label
        ints = at - np.asarray(topology.translate)
        ints[1:] = np.diff(ints, axis=0)
        zooms = label_zooms(widths[:, 2] - widths[:, 0], titles)
        shared = self.grids is not None and topology.arcs is self.grids.drawn_topology().arcs
        self.grid_name = self.grids.get_name() if shared and self.grids is not None else "null"
        self.spec_json = js_string({
            "key": self.key, "scale": GRID_SCALE, "translate": list(topology.translate),
            "arcs": None if shared else " ".join(topology.arcs),  # null: the grid layer's
            "shapes": encode_shapes(topology), "rows": self.rows, "fields": self.fields,
            "measures": self.measures, "zoom": self.zoom, "style": BOUNDARY_STYLES[self.key],
            "labelAt": encode_numbers(ints.ravel()), "labelZoom": _letters(zooms),
            "labelWidth": text_px(titles).tolist(), "boxes": encode_numbers(boxes.ravel())})
        super().render(**kwargs)

    def _topology(self) -> Topology:
        """Return the level's arcs: read off the grids' arcs when its geometry comes from them, else its own.

        Unions read off the grids' arcs need no dissolve, no noding and no arcs of their own (most of a
        province map's writing time before), and the level's outlines lie exactly on the grid outlines.
        Grids that overlap are dissolved, and their unions noded, instead.
        """
        if not self.from_grids:
            return coverage_topology(self.drawn_geometry().values, scale=GRID_SCALE, tolerance=1 / GRID_SCALE,
                                     chained=True)
        assert self.grids is not None and self.groups is not None
        grids = self.grids.drawn_topology()
        if grids.coverage:
            return merged_topology(grids, self.groups)
        assert grids.geometry is not None
        return coverage_topology(dissolve(grids.geometry, self.groups)[1], scale=GRID_SCALE, chained=True)


def group_bounds(bounds: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """Return the bounds (minx, miny, maxx, maxy) of each of ``n`` groups of boxes (``groups``: each box's).

    Examples
    --------
    >>> group_bounds(np.array([[0, 0, 1, 1], [1, 0, 2, 3], [5, 5, 6, 6]]), np.array([0, 0, 1]), 2).tolist()
    [[0.0, 0.0, 2.0, 3.0], [5.0, 5.0, 6.0, 6.0]]
    """
    out = np.full((n, 4), np.inf)
    out[:, 2:] = -np.inf
    for column, at in ((0, np.minimum.at), (1, np.minimum.at), (2, np.maximum.at), (3, np.maximum.at)):
        at(out[:, column], groups, bounds[:, column])
    return out


def _letters(zooms: np.ndarray) -> str:
    """Zooms written one letter each (``A`` for 0)."""
    return (np.asarray(zooms, dtype=np.uint8) + 65).tobytes().decode("ascii")


def label_points(geoms: np.ndarray, groups: np.ndarray, n: int, *,
                 centres: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Return where to label each of ``n`` groups of polygons: in the polygon nearest the group's centre.

    The centre is the area-weighted mean of the polygons' centroids; the point is that polygon's
    ``point_on_surface``, so it lies in the group even where its centre does not (a ring of polygons, parts
    apart). ``centres``: the polygons' centroids and areas, when known.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> row = np.array([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1), box(7, 0, 8, 1)])
    >>> label_points(row, np.array([0, 0, 0, 1]), 2).tolist()
    [[1.5, 0.5], [7.5, 0.5]]
    """
    xy, area = centres if centres is not None else (shapely.get_coordinates(shapely.centroid(geoms)),
                                                     np.asarray(shapely.area(geoms)))
    weight = np.bincount(groups, weights=area, minlength=n)
    weight = np.where(weight > 0, weight, 1.0)
    middle = np.stack([np.bincount(groups, weights=area * xy[:, i], minlength=n) / weight
                       for i in (0, 1)], axis=1)
    distance = ((xy - middle[groups]) ** 2).sum(axis=1)
    order = np.lexsort((np.arange(len(groups)), distance, groups))
    first = order[np.r_[True, groups[order][1:] != groups[order][:-1]]]
    return shapely.get_coordinates(shapely.point_on_surface(geoms[first]))


def _rows(frame: gpd.GeoDataFrame, level: str, text: dict, *, public: bool):
    """Popup rows (title first), field names, measure values and the suppression mask of a level."""
    n = len(frame)

    def column(name):
        return pd.to_numeric(frame[name], errors="coerce").astype(float) if name in frame.columns \
            else pd.Series(np.nan, index=frame.index)

    area = column("area_km2")
    population, households, cases = column("population"), column("households"), column("cases")
    positive = area.where(area > 0)
    values = {"population_density": (population / positive).to_numpy(),
              "households": households.to_numpy(),
              "cases_per_1000": (1000 * cases / population.where(population > 0)).to_numpy(),
              "cases_per_km2": (cases / positive).to_numpy()}
    suppressed = (public & (cases < 5)).to_numpy(dtype=bool) if "cases" in frame.columns \
        else np.zeros(n, dtype=bool)
    fields = [text["code"], text["kind"], text["grids"], text["households"], text["population"],
              f"{text['area']} ({text['km2']})", "density"]
    columns = [frame["code"].tolist(), [text[level]] * n, nan_to_none(column("grids")),
               nan_to_none(households), nan_to_none(population), nan_to_none(area.round(2)),
               nan_to_none(pd.Series(values["population_density"]).round(0))]
    if "cases" in frame.columns:
        shown = [text["suppressed"] if hidden else value
                 for hidden, value in zip(suppressed, nan_to_none(cases), strict=True)]
        fields += [text["cases"], "cases_per_1000", "cases_per_km2"]
        columns += [shown,
                    [None if h else v for h, v in zip(suppressed, nan_to_none(
                        pd.Series(values["cases_per_1000"]).round(1)), strict=True)],
                    [None if h else v for h, v in zip(suppressed, nan_to_none(
                        pd.Series(values["cases_per_km2"]).round(1)), strict=True)]]
    titles = [str(name) for name in frame["name"]]
    rows = [[titles[i], *(col[i] for col in columns)] for i in range(n)]
    return rows, fields, values, suppressed


class LevelsControl(MacroElement):
    """Switches levels by zoom: the top level at the whole-area view, grids once a few communities fill it."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        gridmap.levels({{ this._parent.get_name() }}, {{ this.grid.get_name() }},
                       [{{ this.layer_names }}]);
        {% endmacro %}
    """)

    def __init__(self, grid: LazyGridLayer, layers: list[LevelLayer]):
        super().__init__()
        self._name = "GridmapLevels"
        self.grid = grid
        self.layers = layers

    # branca types Element.render as returning str; MacroElement.render, the base here, returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Put the level code into the page header once and switch the given layers."""
        from gridmap.maps._levels_js import LEVELS_JS

        self.layer_names = ", ".join(layer.get_name() for layer in self.layers)
        figure = cast(Figure, self.get_root())
        figure.header.add_child(RawHTML(f"<script>{LEVELS_JS}</script>"), name="gridmap_levels_js")
        super().render(**kwargs)


def level_layers(grids: gpd.GeoDataFrame, figures: pd.DataFrame, communities: pd.Series, given: dict, *,
                 grid: LazyGridLayer, measures: list, scheme: str, k: int, lang: str, public: bool,
                 raw_cases: pd.Series | None = None) -> list[LevelLayer]:
    """Return the district, street and community layers of a province map (see :func:`rollup`).

    ``grid`` is the grid layer of ``grids``: levels no boundary layer draws are drawn from its arcs.
    """
    frames = rollup(grids, figures, communities, given, raw_cases=raw_cases)
    layers = [LevelLayer(frame, level=level, measures=measures, scheme=scheme, k=k, lang=lang, public=public,
                         grids=grid)
              for level, frame in frames.items()]
    labels: dict[str, str | None] = {"density": None, "cases_per_1000": None, "cases_per_km2": None}
    for layer in layers:  # measure fields carry their names with units
        for spec in layer.measures:
            labels[{"population_density": "density"}.get(spec["key"], spec["key"])] = \
                f"{spec['name']} ({spec['unit']})"
        layer.fields = [labels.get(field) or field for field in layer.fields]
    return layers
