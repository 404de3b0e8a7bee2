"""The one-screen map (一屏): every grid of a city — or of one community, for a phone — on one offline page.

:func:`one_screen` draws district, street, community and grid boundaries with labels that appear as
the zoom allows; colours the grids by population density, households or case density (per 1,000
residents and per km²), switchable in the layer control, with a legend in units (人/km², 件/千人,
件/km²); adds a case heat map, dedicated sites as markers, compounds and villages, a search box (grid
code, compound or village, community, street), a fullscreen button and a scale bar. Clicking a grid shows
its code, type, community and street, leader and phone (only when asked for and not public), households,
population, buildings, its compounds or villages and its case figures for the period.

The page is one self-contained file (see :func:`gridmap.maps.save_html`); the grids are embedded once as
shared arcs (:mod:`gridmap.maps._topology`) however many measures are shown.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> grids = gpd.GeoDataFrame({"code": ["450102001003001", "450102001003002"], "type": ["city", "city"],
...                           "households": [420, 380], "population": [1250, 1100]},
...                          geometry=[box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.32, 22.81)],
...                          crs="EPSG:4490")
>>> m = one_screen(grids)
>>> from gridmap.maps import to_html
>>> page = to_html(m)
>>> "gridmap.gridLayer(" in page and "<script src=" not in page
True
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.errors import GridmapError, GridmapWarning, SchemaError
from gridmap.io._columns import codes_in
from gridmap.io.city import City, city_layers
from gridmap.io.validation import require_polygons
from gridmap.maps._topology import simplify_coverage
from gridmap.maps._widgets import WidgetRuntime
from gridmap.maps.base import LANGS, _check_choice, base_map
from gridmap.maps.choropleth import (
    DETAIL_ZOOM,
    MEASURES,
    SCHEMES,
    GridLayer,
    MeasureLayer,
    measure_legend,
    measure_spec,
    nan_to_none,
)
from gridmap.maps.controls import HeatLayer, fullscreen_control
from gridmap.maps.figures import (
    PeriodLike,
    community_codes,
    grid_figures,
    in_period,
    period_bounds,
    period_label,
)
from gridmap.maps.inline import inline
from gridmap.maps.layers import _check_frame, _drawable, boundary_layer, legend, unit_layer
from gridmap.maps.levels import GRID_ZOOM, LOD_MIN_GRIDS, LazyGridLayer, LevelsControl, level_layers
from gridmap.maps.overlays import Overlay, OverlayLayer, overlay_layers
from gridmap.maps.search import search_control
from gridmap.maps.tiles import TilesLike
from gridmap.schema import DEDICATED_KINDS, GRID_TYPE_NAMES_ZH, LABELS_ZH, model_columns, split_ids

__all__ = ["one_screen", "build_one_screen", "OneScreen", "TEXT"]

#: Texts of the one-screen map.
TEXT = {
    "zh": {"grid_layer": "网格", "code": "网格编码", "type": "类型", "community": "社区/村",
           "street": "街道/乡镇",
           "leader": "网格长", "phone": "联系电话", "households": "户数", "population": "人口",
           "buildings": "楼栋数", "units": "小区/自然村/场所", "area": "面积", "km2": "km²",
           "cases": "案件数", "outline": "仅边界（不填色）", "sites": "专属网格场所",
           "units_layer": "小区/自然村",
           "heat": "案件热力", "legend": "图例", "title": "网格化服务管理一屏", "suppressed": "少于5件",
           **GRID_TYPE_NAMES_ZH,
           "community_kind": "社区/村", "street_kind": "街道/乡镇", "all": "全部", "unknown": "未知"},
    "en": {"grid_layer": "Grids", "code": "Grid code", "type": "Type", "community": "Community/village",
           "street": "Street/township", "leader": "Grid leader", "phone": "Phone", "households": "Households",
           "population": "Population", "buildings": "Buildings", "units": "Compounds/villages/sites",
           "area": "Area", "km2": "km²", "cases": "Cases", "outline": "Outlines only (no fill)",
           "sites": "Dedicated sites", "units_layer": "Compounds and villages", "heat": "Case heat map",
           "legend": "Legend", "title": "Grid management at a glance", "suppressed": "fewer than 5",
           "city": "City grid", "rural": "Rural grid", "dedicated": "Dedicated grid",
           "community_kind": "Community", "street_kind": "Street", "all": "all", "unknown": "unknown"},
}
_GRID_STYLE = {"color": "#e66101", "weight": 1, "fillColor": "#e66101", "fillOpacity": 0.04}
_LINE_ONLY = {"fill": False, "interactive": False}
_HEAT_ZOOM = 16


def one_screen(grids: gpd.GeoDataFrame | City, *, communities: gpd.GeoDataFrame | None = None,
               streets: gpd.GeoDataFrame | None = None, districts: gpd.GeoDataFrame | None = None,
               units: gpd.GeoDataFrame | None = None, cases: gpd.GeoDataFrame | None = None,
               staff: pd.DataFrame | None = None, measure: str = "population_density",
               scheme: str = "quantiles", k: int = 5, lang: str = "zh", basemap: str = "none",
               tiles: TilesLike = None,
               tianditu_key: str | None = None, period: PeriodLike = None, show_staff: bool = False,
               public: bool = False, focus: str | None = None, title: str | None = None,
               levels: bool | None = None, overlays: Iterable[Overlay] = ()) -> folium.Map:
    """Return the one-screen map of a city's grids, or of one street or community (``focus``).

    Parameters
    ----------
    grids : geopandas.GeoDataFrame or gridmap.io.city.City
        ``code``, optional ``type`` (city / rural / dedicated), ``community_code``, ``households``,
        ``population``, ``buildings``, ``unit_ids`` (ids separated by ``;``), ``name``, and precomputed
        figures (``population_density``, ``cases``, ``cases_per_1000``, ``cases_per_km2``, used as given);
        polygons in any CRS. Or a whole :class:`~gridmap.io.city.City` (:func:`gridmap.load_city`), whose
        layers fill the ones below that are not given.
    communities, streets, districts : geopandas.GeoDataFrame, optional
        Admin boundaries (``code``, ``name``): drawn, named in popups, searchable.
    units : geopandas.GeoDataFrame, optional
        Base units (``unit_id``, ``name``, ``kind``): compounds and villages named in popups and searchable;
        dedicated sites drawn as markers.
    cases : geopandas.GeoDataFrame, optional
        Case points (:func:`gridmap.cases.read_cases`), with ``grid_code`` or put in grids with
        :func:`gridmap.cases.assign`. Figures come from :func:`gridmap.stats.summarize`.
    staff : pandas.DataFrame, optional
        The 1+1+1+N roster; the leader's name and phone are shown only with ``show_staff=True``.
    measure : {"population_density", "households", "cases_per_1000", "cases_per_km2"}
        The choropleth shown when the page opens; the others are one click away.
    scheme : {"quantiles", "natural_breaks"}, default "quantiles"
    k : int, default 5
        Number of classes (2–9).
    lang : {"zh", "en"}, default "zh"
    basemap : {"none", "osm", "tianditu", "amap"}, default "none"
        ``"none"`` is offline; ``"amap"`` shifts every layer to GCJ-02.
    tiles : str, os.PathLike or TileSource, optional
        Instead of ``basemap``: your own offline or intranet tiles, :func:`gridmap.maps.tile_source`
        ``(folder, .mbtiles file or URL template, crs="wgs84"|"gcj02")``, or a built-in name (``"gaode"``).
        On GCJ-02 tiles every layer is shifted to GCJ-02 for display.
    tianditu_key : str, optional
        Needed with ``basemap="tianditu"``.
    period : optional
        Cases reported in this period only (``"2025-06"``, ``"2025Q2"``, ``(start, end)``; see
        :mod:`gridmap.maps.figures`); None: every case.
    show_staff : bool, default False
        Show grid leaders' names and phones (never with ``public=True``).
    public : bool, default False
        For publication: case counts below 5 are suppressed (with their rates), and no heat map, case
        points, names or phones of staff are put in the page.
    focus : str, optional
        A 12-digit community code or 9-digit street code: map that area alone.
    title : str, optional
        Title on the map and of the page.
    levels : bool, optional
        Levels of detail (:mod:`gridmap.maps.levels`): districts, then streets, then communities with their
        totals as the view zooms in, and the grids only near the view once a few communities fill it.
        Default: on for a whole map (no ``focus``) of :data:`gridmap.maps.levels.LOD_MIN_GRIDS` grids or
        more. Needs community codes (``community_code``, or codes that start with them).
    overlays : iterable of Overlay, optional
        Optional layers for people and field work (:func:`gridmap.maps.overlay`: staffing, party coverage,
        liaison gaps, patrol zones, walking circles, settled-in-grid rate, quality index, patrol coverage),
        off when the page opens; their legend entries show while they are on. Popups name grid leaders and
        workers only (:func:`gridmap.people.public_roster`), nobody on a public map.

    Returns
    -------
    folium.Map
        Write it with :func:`gridmap.maps.save_html`; a notebook shows the same self-contained page inline
        (:mod:`gridmap.maps.inline`).

    Raises
    ------
    GridmapError
        Bad options, a focus with no grid, a case measure without cases, or bad layers.
    """
    layers = city_layers(grids, communities=communities, streets=streets, districts=districts, units=units,
                         cases=cases, staff=staff)
    built = build_one_screen(layers.pop("grids"), **layers, measure=measure, scheme=scheme, k=k,
                             lang=lang, basemap=basemap, tiles=tiles, tianditu_key=tianditu_key,
                             period=period, show_staff=show_staff, public=public, focus=focus, title=title,
                             levels=levels, overlays=overlays)
    return inline(built.map)


@dataclass(frozen=True)
class OneScreen:
    """A one-screen map and what it shows, for pages built around it (the cockpit).

    Attributes
    ----------
    map : folium.Map
    grid : GridLayer
        The grid layer (grid ``i`` of the frames below is polygon ``i`` of the page).
    grids : geopandas.GeoDataFrame
        The mapped grids in EPSG:4326.
    figures : pandas.DataFrame
        :func:`gridmap.maps.figures.grid_figures` of the grids (same order).
    cases : pandas.DataFrame or None
        The cases in the mapped grids, each with its ``grid_code`` (every period).
    community_names : list of str or None
        Each grid's community name (or code), None where unknown.
    overlays : list of OverlayLayer
        The optional layers drawn (:mod:`gridmap.maps.overlays`), in the order given.
    """

    map: folium.Map
    grid: GridLayer
    grids: gpd.GeoDataFrame
    figures: pd.DataFrame
    cases: pd.DataFrame | None
    community_names: list
    overlays: list[OverlayLayer] = dataclasses.field(default_factory=list)


def build_one_screen(grids: gpd.GeoDataFrame, *, communities: gpd.GeoDataFrame | None = None,
                     streets: gpd.GeoDataFrame | None = None, districts: gpd.GeoDataFrame | None = None,
                     units: gpd.GeoDataFrame | None = None, cases: gpd.GeoDataFrame | None = None,
                     staff: pd.DataFrame | None = None, measure: str = "population_density",
                     scheme: str = "quantiles", k: int = 5, lang: str = "zh", basemap: str = "none",
                     tiles: TilesLike = None,
                     tianditu_key: str | None = None, period: PeriodLike = None, show_staff: bool = False,
                     public: bool = False, focus: str | None = None, title: str | None = None,
                     levels: bool | None = None, overlays: Iterable[Overlay] = ()) -> OneScreen:
    """:func:`one_screen`, returning the map together with the grids and figures it shows."""
    _check_options(measure, scheme, lang)
    grids, units, staff = (model_columns(grids, "grids")[0], model_columns(units, "units")[0],
                           model_columns(staff, "staff")[0])
    communities, streets, districts = (model_columns(layer, "admin")[0]
                                       for layer in (communities, streets, districts))
    _check_frame(grids, "grid layer", ["code"])
    require_polygons(grids, "grids")
    if period is not None:
        period_bounds(period)
    text = TEXT[lang]
    grids = _drawable(grids, "grid layer", "code")
    grids = grids.assign(code=grids["code"].astype(str))
    if cases is not None:
        from gridmap.cases import in_grids

        # all grids, before focusing: no case is "outside" because of the focus
        cases = in_grids(cases, grids)
    scope = _Scope(grids, focus, communities=communities, streets=streets, districts=districts)
    grids = scope.grids
    lod = _use_levels(levels, scope)
    if lod and scope.community is not None:  # each community's grids together, drawn community by community
        order = np.lexsort((grids["code"].to_numpy(), scope.community.to_numpy()))
        grids, scope.community = grids.iloc[order], scope.community.iloc[order]
        scope.grids = grids
    cases = None if cases is None else cases[codes_in(cases["grid_code"], grids["code"])]
    contacts = show_staff and not public and staff is not None
    figures = grid_figures(grids, cases, staff, period=period, public=public, contacts=contacts)
    measures, fields = _fields_and_measures(grids, figures, scope, units, text, lang=lang, scheme=scheme, k=k,
                                            period=period, public=public, contacts=contacts)
    keys = [m["key"] for m in measures]
    if measure not in keys:
        raise GridmapError(f"measure={measure!r} cannot be shown: the grids have no figures for it",
                           fix="pass cases= for case measures, or a population/households column; "
                               f"available here: {', '.join(keys)}")
    fmap = base_map(basemap=basemap, tiles=tiles, tianditu_key=tianditu_key, lang=lang,
                    title=title if title is not None else scope.title(text))
    fmap.options["zoom_snap"] = 0.25  # fit one community to a phone closely, not to the next power of 2
    fmap.options["max_zoom"] = DETAIL_ZOOM + 1  # boundaries are exact to a pixel at DETAIL_ZOOM
    if lod:
        fmap.options["max_zoom"] = GRID_ZOOM + 3  # lazy grids are exact to a pixel at GRID_ZOOM
    for child in list(fmap._children.values()):
        if isinstance(child, folium.TileLayer):
            child.overlay = True  # measures are the base layers (radio buttons); tiles can be switched off
    WidgetRuntime().add_to(fmap)
    titles = grids["name"].fillna(grids["code"]).astype(str).tolist() if "name" in grids.columns \
        else grids["code"].tolist()
    grid_options = {"codes": grids["code"].tolist(), "titles": titles, "fields": fields, "measures": measures,
                    "measure": keys.index(measure), "name": text["grid_layer"], "lang": lang,
                    "style": _GRID_STYLE}
    grid = LazyGridLayer(grids.geometry, communities=scope.community.tolist(), **grid_options) \
        if lod and scope.community is not None else GridLayer(grids.geometry, **grid_options)
    grid.add_to(fmap)
    if lod:
        boundaries = _level_layers(grids, figures, scope, cases, measures, grid=grid, scheme=scheme, k=k,
                                   lang=lang, period=period, public=public)
    else:
        boundaries = list(_boundary_layers(scope, lang).values())
    for layer in boundaries:
        layer.add_to(fmap)
    unit_layers, unit_grid = _unit_layers(units, grids, text, lang=lang, show=focus is not None)
    for layer in unit_layers:
        layer.add_to(fmap)
    if cases is not None and not public:
        _heat_layer(cases, period, text).add_to(fmap)
    overlays = list(overlays)
    extra = overlay_layers(overlays, grid, areas=_areas(scope), lang=lang, public=public) if overlays else []
    for layer in extra:
        layer.add_to(fmap)
    MeasureLayer(grid, None, name=text["outline"], show=False).add_to(fmap)
    for index, spec in enumerate(measures):
        MeasureLayer(grid, index, name=f"{spec['name']} ({spec['unit']})",
                     show=spec["key"] == measure).add_to(fmap)
    keys_legend = legend(*boundaries, *unit_layers, lang=lang)
    items = keys_legend.items + [item for layer in extra for item in layer.legend_items()]
    measure_legend(grid, title=text["legend"], items=items).add_to(fmap)
    search_control(grid, units=_unit_entries(units, unit_grid, lang), places=_place_entries(boundaries, text),
                   lang=lang).add_to(fmap)
    fullscreen_control(lang=lang).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    bounds = grid.get_bounds()
    if None not in bounds[0]:
        fmap.fit_bounds(cast(list[list[float]], bounds))
    if lod and isinstance(grid, LazyGridLayer):  # after the view is fitted: the whole area, top level
        LevelsControl(grid, list(boundaries)).add_to(fmap)
    names = scope.names("community")
    community_names = [None] * len(grids) if scope.community is None else \
        [names.get(c, c) for c in scope.community.tolist()]
    return OneScreen(fmap, grid, grids, figures, cases, community_names, extra)


def _areas(scope: _Scope) -> dict[str, gpd.GeoDataFrame | None]:
    """Return the mapped districts, streets and communities in EPSG:4326 (overlays of units above grids)."""
    areas: dict[str, gpd.GeoDataFrame | None] = {}
    for level, frame in scope.layers.items():
        if frame is None or "code" not in frame.columns or frame.crs is None:
            areas[level] = None
            continue
        drawn = frame.loc[~(frame.geometry.isna() | frame.geometry.is_empty).to_numpy()]
        areas[level] = drawn if drawn.crs.equals("EPSG:4326") else drawn.to_crs("EPSG:4326")
    return areas


def _use_levels(levels: bool | None, scope: _Scope) -> bool:
    """Whether to draw levels of detail: as asked, else for a whole map of many grids with community codes."""
    if levels is False or (levels is None and (scope.focus is not None or len(scope.grids) < LOD_MIN_GRIDS)):
        return False
    if scope.community is None:
        try:
            scope.community = community_codes(scope.grids)
        except SchemaError:
            if levels:
                raise
            return False
    return True


def _level_layers(grids, figures, scope: _Scope, cases, measures, *, grid, scheme, k, lang, period,
                  public) -> list:
    """District, street and community layers with totals (case totals before small counts are hidden)."""
    raw_cases = None
    if public and "cases" in figures.columns:
        raw_cases = grid_figures(grids, cases, None, period=period)["cases"]
    given = {level: scope.layers[level] for level in ("district", "street", "community")}
    return level_layers(grids, figures, scope.community, given, grid=grid, measures=measures, scheme=scheme,
                        k=k, lang=lang, public=public, raw_cases=raw_cases)


def _check_options(measure: str, scheme: str, lang: str) -> None:
    _check_choice("measure", measure, tuple(MEASURES))
    _check_choice("scheme", scheme, SCHEMES)
    _check_choice("lang", lang, LANGS)


class _Scope:
    """The grids and admin units of the mapped area: the whole input, or one street or community."""

    def __init__(self, grids: gpd.GeoDataFrame, focus, *, communities, streets, districts):
        self.focus = None if focus is None else str(focus).strip()
        self.level = None
        community = community_codes(grids) if focus is not None or "community_code" in grids.columns else None
        if self.focus is not None and community is not None:  # a focus always has community codes
            if not re.fullmatch(r"\d{9}|\d{12}", self.focus):
                raise GridmapError(f"focus={focus!r} is not a street (9 digits) or community (12 digits) "
                                   "code",
                                   fix="pass focus= the code of one street or community, e.g. '450102001003'")
            self.level = "community" if len(self.focus) == 12 else "street"
            inside = community.str.startswith(self.focus).to_numpy()
            if not inside.any():
                raise GridmapError(f"no grid lies in {self.level} {self.focus}", record=f"focus {self.focus}",
                                   fix="check the code against the grids' community_code column")
            grids, community = grids.loc[inside], community.loc[inside]
        self.grids = grids
        self.community = community
        self.layers = {"district": self._within(districts, "district"),
                       "street": self._within(streets, "street"),
                       "community": self._within(communities, "community")}

    def _within(self, frame, level: str):
        if frame is None:
            return None
        if self.focus is None:
            return frame
        if level == "district" or (level == "street" and self.level == "community"):
            return None
        codes = frame["code"].astype(str) if "code" in frame.columns else None
        return frame if codes is None else frame.loc[codes.str.startswith(self.focus).to_numpy()]

    def names(self, level: str) -> dict:
        frame = self.layers.get(level)
        if frame is None or "name" not in frame.columns:
            return {}
        return dict(zip(frame["code"].astype(str), frame["name"].astype(str), strict=True))

    def title(self, text: dict) -> str:
        if self.focus is None or self.level is None:
            return text["title"]
        name = self.names(self.level).get(self.focus, self.focus)
        return f"{name} {text['title']}"


def _fields_and_measures(grids, figures, scope: _Scope, units, text, *, lang, scheme, k, period, public,
                         contacts) -> tuple[list, list]:
    """Popup rows and choropleth measures of the grids."""
    fields: list[dict] = []
    measures: list[dict] = []

    def add(label, values, unit=None):
        fields.append({"label": label, "unit": unit, "values": values})
        return len(fields) - 1

    def add_coded(label, values):
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        fields.append({"label": label, "unit": None, "dict": [str(u) for u in uniques],
                       "index": [None if c < 0 else int(c) for c in codes]})

    if "name" in grids.columns:
        add(text["code"], grids["code"].tolist())
    if "type" in grids.columns:
        add_coded(text["type"], [text.get("rural" if t == "rural" else t, t) if isinstance(t, str) else None
                                 for t in grids["type"]])
    community_names = scope.names("community")
    street_names = scope.names("street")
    if scope.community is not None:
        communities = scope.community.tolist()
        add_coded(text["community"], [community_names.get(c, c) for c in communities])
        if street_names:
            add_coded(text["street"], [street_names.get(c[:9]) for c in communities])
    if contacts:
        for column, label in (("leader_name", "leader"), ("leader_phone", "phone")):
            if column in figures.columns:
                add(text[label], [v if isinstance(v, str) and v else None for v in figures[column]])
    for column in ("households", "population", "buildings"):
        if column in grids.columns:
            values = nan_to_none(pd.to_numeric(grids[column], errors="coerce").astype(float))
            if column == "buildings":  # not needed to divide, so often not given: unknown, never 0
                values = [text["unknown"] if value is None else value for value in values]
            add(text[column], values)
    unit_names = _unit_names(grids, units)
    if unit_names is not None:
        add(text["units"], unit_names)
    add(text["area"], nan_to_none(figures["area_km2"].round(3)), text["km2"])
    density = figures["population_density"].round(0)
    density_measure = MEASURES["population_density"]
    measure_field = {"population_density": add(density_measure.name(lang), nan_to_none(density),
                                               density_measure.unit(lang))}
    if "households" in grids.columns:
        measure_field["households"] = next(i for i, f in enumerate(fields)
                                           if f["label"] == text["households"])
    if "cases" in figures.columns:
        label = text["cases"] + (f" ({period_label(period)})" if period is not None else "")
        counts = figures["cases"]
        shown = [text["suppressed"] if hidden else value for hidden, value in
                 zip(figures["suppressed"], nan_to_none(pd.to_numeric(counts, errors="coerce").astype(float)),
                     strict=True)]
        add(label, shown)
        for key in ("cases_per_1000", "cases_per_km2"):
            measure_field[key] = add(MEASURES[key].name(lang),
                                     nan_to_none(_numbers(figures[key]).round(1)),
                                     MEASURES[key].unit(lang))
    for key, field in measure_field.items():
        values = _numbers(pd.Series(fields[field]["values"], dtype=object))
        suppressed = figures["suppressed"].to_numpy(dtype=bool) if key.startswith("cases") else None
        measures.append(measure_spec(key, values.to_numpy(), field=field, scheme=scheme, k=k, lang=lang,
                                     suppressed=suppressed))
    order = list(MEASURES)
    measures.sort(key=lambda m: order.index(m["key"]))
    return measures, fields


def _numbers(values) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype(float)


def _unit_lists(grids: gpd.GeoDataFrame, units) -> list[list[str]] | None:
    """Each grid's unit ids: from ``unit_ids`` on the grids, else from the units' ``grid_code``."""
    if "unit_ids" in grids.columns:
        return [_split_ids(value) for value in grids["unit_ids"]]
    if units is not None and "grid_code" in units.columns and "unit_id" in units.columns:
        by_grid = units.groupby(units["grid_code"].astype(str))["unit_id"].agg(lambda s: [str(v) for v in s])
        return [by_grid.get(code, []) for code in grids["code"]]
    return None


def _split_ids(value) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return split_ids(value)
    if isinstance(value, Iterable):
        return [str(part) for part in value]
    return [str(value)]


def _unit_names(grids, units) -> list | None:
    lists = _unit_lists(grids, units)
    if lists is None:
        return None
    names = {}
    if units is not None and {"unit_id", "name"} <= set(units.columns):
        names = {str(u): str(n) for u, n in zip(units["unit_id"], units["name"], strict=True)
                 if isinstance(n, str) and n}
    return [[names.get(unit, unit) for unit in ids] or None for ids in lists]


def _boundary_layers(scope: _Scope, lang: str) -> dict:
    """District, street and community lines (only the lines are clickable: the grids take the clicks)."""
    layers = {}
    tolerance = 360 / (256 * 2**DETAIL_ZOOM)
    for level in ("community", "street", "district"):
        frame = scope.layers[level]
        if frame is None:
            continue
        drawable = _drawable(frame, f"{level} layer", "code") if "code" in frame.columns else frame
        if len(drawable):
            drawable = drawable.set_geometry(simplify_coverage(drawable.geometry.values, tolerance),
                                             crs=drawable.crs)
        layers[level] = boundary_layer(drawable, level=level, lang=lang, labels=True, style=_LINE_ONLY)
    return layers


def _unit_layers(units, grids, text, *, lang: str, show: bool) -> tuple[list, dict]:
    """Compounds and villages (areas), dedicated sites (markers); and the grid position of each unit id."""
    lists = _unit_lists(grids, units)
    unit_grid = {unit: position for position, ids in enumerate(lists or []) for unit in ids}
    if units is None:
        return [], unit_grid
    _check_frame(units, "unit layer", ["unit_id", "name", "kind"])
    ids = units["unit_id"].astype(str)
    if unit_grid:
        units = units.loc[ids.isin(unit_grid).to_numpy()]
    elif "community_code" in units.columns and len(grids):
        units = units.loc[units["community_code"].astype(str).isin(set(community_codes(grids))).to_numpy()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)  # units without geometry are listed, not drawn
        dedicated = units["kind"].isin(DEDICATED_KINDS).to_numpy()
        sites = units.loc[dedicated]
        sites = sites.set_geometry(sites.geometry.representative_point())
        layers = []
        rest = units.loc[~dedicated]
        if len(rest):
            layers.append(unit_layer(rest, lang=lang, name=text["units_layer"], show=show, key="units"))
        if len(sites):
            layers.append(unit_layer(sites, lang=lang, name=text["sites"], show=True, key="sites"))
    return layers, {unit: position for unit, position in unit_grid.items()}


def _unit_entries(units, unit_grid: dict, lang: str) -> list:
    """Search entries [name, kind label, grid position] of the units that lie in a mapped grid."""
    if units is None or not unit_grid or "name" not in units.columns:
        return []
    labels = LABELS_ZH if lang == "zh" else {}
    entries = []
    for unit, name, kind in zip(units["unit_id"].astype(str), units["name"], units["kind"], strict=True):
        if unit in unit_grid and isinstance(name, str) and name:
            entries.append([name, labels.get(kind, str(kind).replace("_", " ")), unit_grid[unit]])
    return entries


def _place_entries(layers: Iterable, text: dict) -> list:
    """Search entries for communities and streets: name, kind, layer, feature position, bounds."""
    entries = []
    for layer in layers:
        if layer.key not in ("community", "street"):
            continue
        kind = text[f"{layer.key}_kind"]
        bounds = layer.drawn_bounds()
        for position, row in enumerate(layer.rows):
            minx, miny, maxx, maxy = (float(v) for v in bounds[position])
            for label in dict.fromkeys([row[0], row[1]]):
                entries.append([label, kind, layer.key, position, [[miny, minx], [maxy, maxx]]])
    return entries


def _heat_layer(cases, period, text) -> HeatLayer:
    selected = cases.loc[in_period(cases, period)]
    selected = selected[selected.geometry.notna() & ~selected.geometry.is_empty]
    points = selected.geometry if selected.crs.equals("EPSG:4326") else selected.geometry.to_crs("EPSG:4326")
    weights = selected["count"].fillna(1).to_numpy() if "count" in selected.columns else None
    return HeatLayer(points, weights=weights, name=text["heat"], scale=256 * 2**_HEAT_ZOOM / 360, show=False)
