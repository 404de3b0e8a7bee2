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
patrols    巡查覆盖率              a per-grid frame: ``code`` and a 0–1 ``patrol_coverage`` (``column=``)
========== ====================== ================================================================

A per-grid overlay takes each grid's polygon from the grid layer in the page (nothing is embedded twice);
units above the grids (communities, streets, districts breaking a staffing rule or without a liaison) are
drawn as outlines when the map has their boundaries; zones and circles carry their own polygons, simplified
to a pixel at zoom 18. ``patrols`` is the hook for per-grid measures still to come: any frame keyed by grid
``code`` with a share column (``column=``) and an optional Chinese ``label`` is drawn the same way.

Popups are text (``textContent``), never HTML. They name people only as
:func:`gridmap.people.public_roster` allows — grid leaders and grid workers by name, nobody with a phone or
an id — and no one at all on a public map (``public=True``), where escalation counts below 5 are hidden.

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

import math
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
from gridmap.fieldwork.escalation import GRID_COUNT_COLUMNS
from gridmap.findings import Report
from gridmap.maps.base import control_label, js_string
from gridmap.maps.choropleth import DETAIL_ZOOM, GridLayer, _colors, classify
from gridmap.maps.layers import _SCALE, _UNIT_RADIUS, _shift, encode_geometry
from gridmap.schema import (
    HANDLING_LEVEL_NAMES_ZH,
    HANDLING_LEVELS,
    LEVELS,
    ROLE_NAMES_ZH,
    ROSTER_LEVEL_NAMES_ZH,
    SITE_KIND_NAMES_ZH,
    SITE_KINDS,
    model_columns,
)

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
                           "a per-grid frame: code and a 0–1 share column "
                           "(column=, default patrol_coverage)"),
}

_TEXT = {
    "zh": {"level": "层级", "rules_broken": "违反配备规则", "vacancies": "缺员（岗）",
           "households_per_worker": "每名专职网格员服务户数", "state": "情况", "branches": "网格党支部",
           "joint": "联合党支部", "members": "党员", "building_share": "楼栋党小组覆盖",
           "leader_party_member": "网格长为党员", "yes": "是", "no": "否", "kind": "类型", "radius": "半径",
           "metres": "米", "sites": "场所", "grids": "涉及网格", "communities": "涉及社区",
           "centre": "服务中心", "minutes": "步行时间", "minute_unit": "分钟", "method": "计算方式",
           "network": "沿道路网络", "straight_line": "直线距离", "caveat": "说明", "cases": "有流转记录事件",
           "settled": "已办结", "settled_in_grid": "网格内化解", "skipped": "越级上报",
           "returned": "退回下级",
           "index": "质效指数", "rank": "排名", "breakdown": "得分构成", "measures_used": "参评指标数",
           "no_data": "无数据", "suppressed": "少于5件，不公开", "unranked": "指标不足，未参评",
           "understaffed": "缺员网格", "other_broken": "超员或其他不达标网格",
           "units_broken": "不达标的社区、街道、城区", "covered": "已建网格党支部",
           "uncovered": "未建网格党支部",
           "no_liaison_grid": "缺联系领导的网格", "no_liaison_unit": "缺联系领导的社区、街道",
           "circle": "{m:g}分钟步行圈", "zone": "{kind}巡控区", "share": "{name}办结占比",
           "coverage": "覆盖率"},
    "en": {"level": "Level", "rules_broken": "Rules broken", "vacancies": "Vacancies",
           "households_per_worker": "Households per full-time worker", "state": "State",
           "branches": "Grid party branches", "joint": "Joint branch", "members": "Party members",
           "building_share": "Buildings with a party group",
           "leader_party_member": "Leader is a party member",
           "yes": "yes", "no": "no", "kind": "Kind", "radius": "Radius", "metres": "m", "sites": "Sites",
           "grids": "Grids entered", "communities": "Communities entered", "centre": "Service centre",
           "minutes": "Walk", "minute_unit": "min", "method": "Method", "network": "along the network",
           "straight_line": "straight line", "caveat": "Note", "cases": "Cases with a history",
           "settled": "Settled", "settled_in_grid": "Settled inside the grid", "skipped": "Skipped a level",
           "returned": "Returned down", "index": "Quality index", "rank": "Rank", "breakdown": "Points",
           "measures_used": "Measures", "no_data": "no data", "suppressed": "fewer than 5 cases, not shown",
           "unranked": "too few measures, not ranked", "understaffed": "Grids with vacancies",
           "other_broken": "Grids over a maximum or breaking another rule",
           "units_broken": "Communities, streets, districts breaking a rule",
           "covered": "Grid party branch", "uncovered": "No grid party branch",
           "no_liaison_grid": "Grids without a liaison",
           "no_liaison_unit": "Communities, streets without one",
           "circle": "{m:g}-minute walk", "zone": "{kind} zone", "share": "Settled at {name}",
           "coverage": "Coverage"},
}
_LEVEL_EN = {"grid": "grid", "community": "community", "street": "street", "district": "district"}
#: Colours of zones by site kind (ColorBrewer Dark2, one per kind of :data:`gridmap.schema.SITE_KINDS`).
ZONE_COLORS = dict(zip(SITE_KINDS, ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                                    "#a6761d"), strict=True))
_CIRCLE_COLORS = ("#08519c", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef")
#: Path styles of the overlays.
_FILL = {"weight": 1.5, "fillOpacity": 0.55}
_OUTLINE = {"weight": 3, "fill": False, "dashArray": "6 4"}
#: Geometry of zones and circles is simplified to one pixel at DETAIL_ZOOM.
_TOLERANCE = 360 / (256 * 2**DETAIL_ZOOM)
_SHARE_DECIMALS = 1


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
        :class:`~gridmap.fieldwork.Escalation`, a quality index, or a per-grid frame keyed by ``code``.
    kind : str
        One of :data:`OVERLAYS`: ``staffing``, ``party``, ``liaison``, ``zones``, ``circles``,
        ``escalation``, ``quality`` or ``patrols``.
    column : str, optional
        The share (0–1) a ``patrols`` overlay colours the grids by (default ``patrol_coverage``); a
        ``label`` column, when present, is shown in the popup.
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


def _geoframe(made: Overlay, frame: pd.DataFrame) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        raise GridmapError(f"a {made.kind} overlay needs polygons with a coordinate reference system",
                           record=f"overlay {made.kind}", fix=f"pass {OVERLAYS[made.kind].source}")
    return frame


_SOURCES: dict[str, Callable[[Overlay], Any]] = {
    "staffing": _staffing_source, "party": _party_source, "liaison": _liaison_source, "zones": _zones_source,
    "circles": _circles_source, "escalation": _escalation_source, "quality": _quality_source,
    "patrols": _patrols_source,
}


# --- what a layer shows ---------------------------------------------------------------------------------

@dataclass
class _Paint:
    """Features of one overlay: on grids (by code) and with their own geometry, one class each."""

    fields: list[str]
    classes: list[dict] = field(default_factory=list)  # {"label", "style"}; index = class
    codes: list[str] = field(default_factory=list)
    code_rows: list[list] = field(default_factory=list)
    code_classes: list[int] = field(default_factory=list)
    shapes: list = field(default_factory=list)
    shape_rows: list[list] = field(default_factory=list)
    shape_classes: list[int] = field(default_factory=list)

    def add_class(self, label: str, style: dict) -> int:
        self.classes.append({"label": label, "style": style})
        return len(self.classes) - 1


@dataclass(frozen=True)
class _Context:
    """What painting needs besides the data: language, publication, the admin areas by level."""

    lang: str
    public: bool
    areas: Mapping[str, gpd.GeoDataFrame | None]

    @property
    def text(self) -> dict[str, str]:
        return _TEXT[self.lang]


def _style(color: str, base: dict) -> dict:
    return {"color": color, "fillColor": color, **base}


def _value(value: Any) -> Any:
    """Return a number or text for a popup: NaN/NA is None, whole floats are ints."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else round(float(value), 2)
    return str(value)


def _percent(value: Any) -> str | None:
    if _value(value) is None:
        return None
    return f"{100 * float(value):.{_SHARE_DECIMALS}f}%"


def _yes_no(value: Any, text: dict) -> str | None:
    number = _value(value)
    return None if number is None else text["yes"] if number else text["no"]


def _column(frame: pd.DataFrame, name: str) -> list:
    return [_value(v) for v in frame[name]] if name in frame.columns else [None] * len(frame)


def _percents(frame: pd.DataFrame, name: str) -> list:
    """Return a share column as ``85.0%`` texts (None where missing)."""
    return [_percent(v) for v in frame[name]] if name in frame.columns else [None] * len(frame)


def _role_name(column: str, lang: str) -> str:
    """Return the role of a ``<role>_name`` column as a popup label."""
    role = column.removesuffix("_name")
    return ROLE_NAMES_ZH[role] if lang == "zh" else role.replace("_", " ")


def _level_name(level: str, lang: str) -> str:
    return ROSTER_LEVEL_NAMES_ZH[level] if lang == "zh" else _LEVEL_EN[level]


def _unit_shapes(table: pd.DataFrame, level: str, context: _Context) -> tuple[pd.DataFrame, list, list]:
    """Rows of ``table`` whose unit has a boundary among the map's areas; their polygons and titles."""
    area = context.areas.get(level)
    if area is None or "code" not in area.columns or not len(table):
        return table.iloc[:0], [], []
    shapes = dict(zip(area["code"].astype(str), area.geometry.values, strict=True))
    names = dict(zip(area["code"].astype(str), area["name"].astype(str), strict=True)) \
        if "name" in area.columns else {}
    codes = table["code"].astype(str)
    kept = table[codes.isin(shapes).to_numpy()]
    kept_codes = kept["code"].astype(str)
    titles = [f"{names[c]} {c}" if c in names else c for c in kept_codes]
    return kept, [shapes[c] for c in kept_codes], titles


def _paint_staffing(tables: dict[str, pd.DataFrame], context: _Context) -> _Paint:
    text, lang = context.text, context.lang
    names = [] if context.public else [column for column in ("leader_name", "full_time_name", "member_name")]
    paint = _Paint(fields=[text["level"], text["rules_broken"], text["vacancies"],
                           text["households_per_worker"],
                           *(_role_name(column, lang) for column in names),
                           *([] if context.public else [text["state"]])])
    short = paint.add_class(text["understaffed"], _style("#e31a1c", _FILL))
    other = paint.add_class(text["other_broken"], _style("#fd8d3c", _FILL))
    units = paint.add_class(text["units_broken"], _style("#800026", _OUTLINE))

    def rows(table: pd.DataFrame, level: str, titles: list) -> list[list]:
        values = [_column(table, c) for c in ("rules_broken", "vacancies")]
        per_worker = [None if v is None else round(float(v), 1)
                      for v in _column(table, "households_per_worker")]
        named = [_column(table, c) for c in names]
        state = [] if context.public else [_column(table, "label")]
        return [[title, _level_name(level, lang), *row] for title, *row in
                zip(titles, *values, per_worker, *named, *state, strict=True)]

    grid = tables["grid"]
    broken = grid[pd.to_numeric(grid["rules_broken"], errors="coerce").fillna(0).gt(0).to_numpy()]
    paint.codes = broken["code"].astype(str).tolist()
    paint.code_rows = rows(broken, "grid", paint.codes)
    vacant = pd.to_numeric(broken["vacancies"], errors="coerce").fillna(0).gt(0).to_numpy()
    paint.code_classes = np.where(vacant, short, other).tolist()
    for level in LEVELS:
        table = tables.get(level)
        if table is None:
            continue
        table = table[pd.to_numeric(table["rules_broken"], errors="coerce").fillna(0).gt(0).to_numpy()]
        kept, shapes, titles = _unit_shapes(table, level, context)
        paint.shapes += shapes
        paint.shape_rows += rows(kept, level, titles)
        paint.shape_classes += [units] * len(shapes)
    return paint


def _paint_party(frame: pd.DataFrame, context: _Context) -> _Paint:
    text = context.text
    paint = _Paint(fields=[text["branches"], text["joint"], text["members"], text["building_share"],
                           text["leader_party_member"], text["state"]])
    covered = paint.add_class(text["covered"], _style("#1a9850", {**_FILL, "fillOpacity": 0.35}))
    uncovered = paint.add_class(text["uncovered"], _style("#d73027", _FILL))
    flags = frame["covered"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    paint.codes = frame["code"].astype(str).tolist()
    joint = [_yes_no(v, text) for v in _column(frame, "joint")]
    leader = [_yes_no(v, text) for v in _column(frame, "leader_party_member")]
    share = _percents(frame, "building_share")
    paint.code_rows = [list(row) for row in zip(paint.codes, _column(frame, "branches"), joint,
                                                _column(frame, "members"), share, leader,
                                                _column(frame, "label"), strict=True)]
    paint.code_classes = np.where(flags, covered, uncovered).tolist()
    return paint


def _paint_liaison(tables: dict[str, pd.DataFrame], context: _Context) -> _Paint:
    text, lang = context.text, context.lang
    paint = _Paint(fields=[text["level"], text["state"]])
    grids = paint.add_class(text["no_liaison_grid"], _style("#6a3d9a", _FILL))
    units = paint.add_class(text["no_liaison_unit"], _style("#6a3d9a", _OUTLINE))

    def missing(table: pd.DataFrame) -> pd.DataFrame:
        return table[~table["covered"].astype("boolean").fillna(False).to_numpy(dtype=bool)]

    grid = missing(tables["grid"])
    paint.codes = grid["code"].astype(str).tolist()
    paint.code_rows = [[code, _level_name("grid", lang), label]
                       for code, label in zip(paint.codes, _column(grid, "label"), strict=True)]
    paint.code_classes = [grids] * len(paint.codes)
    for level in LEVELS:
        if level in tables:
            kept, shapes, titles = _unit_shapes(missing(tables[level]), level, context)
            paint.shapes += shapes
            paint.shape_rows += [[title, _level_name(level, lang), label]
                                 for title, label in zip(titles, _column(kept, "label"), strict=True)]
            paint.shape_classes += [units] * len(shapes)
    return paint


def _paint_zones(zones: gpd.GeoDataFrame, context: _Context) -> _Paint:
    text, lang = context.text, context.lang
    paint = _Paint(fields=[text["kind"], text["radius"], text["sites"], text["grids"], text["communities"]])
    kinds = [k if k in ZONE_COLORS else "other" for k in zones["kind"].astype(str)]
    classes = {}
    for kind in [k for k in (*SITE_KINDS, "other") if k in kinds]:
        label = SITE_KIND_NAMES_ZH.get(kind, kind) if lang == "zh" else kind.replace("_", " ")
        classes[kind] = paint.add_class(text["zone"].format(kind=label),
                                        _style(ZONE_COLORS.get(kind, "#666666"), {"weight": 2,
                                                                                  "fillOpacity": 0.25}))
    kind_names = _column(zones, "kind_zh") if "kind_zh" in zones.columns else _column(zones, "kind")
    radius = [None if r is None else f"{r:g} {text['metres']}" for r in _column(zones, "radius_m")]
    titles = [label or zone for label, zone in zip(_column(zones, "label"), _column(zones, "zone_id"),
                                                   strict=True)]
    paint.shapes = list(zones.geometry.values)
    paint.shape_rows = [list(row) for row in zip(titles, kind_names, radius, _column(zones, "site_names"),
                                                 _codes_text(zones, "grid_codes", "n_grids"),
                                                 _codes_text(zones, "community_codes", "n_communities"),
                                                 strict=True)]
    paint.shape_classes = [classes[k] for k in kinds]
    return paint


def _codes_text(frame: pd.DataFrame, codes: str, count: str) -> list:
    """``n`` and the codes (``;``-separated, as :func:`gridmap.schema.join_ids` writes them) of each row."""
    from gridmap.schema import split_ids

    if codes not in frame.columns:
        return [None] * len(frame)
    texts = []
    for value in frame[codes]:
        listed = split_ids(value)
        texts.append(f"{len(listed)}：{'、'.join(listed)}" if listed else None)
    return texts


def _paint_circles(circles: gpd.GeoDataFrame, context: _Context) -> _Paint:
    text = context.text
    paint = _Paint(fields=[text["centre"], text["minutes"], text["method"], text["caveat"]])
    minutes = pd.to_numeric(circles["minutes"], errors="coerce").to_numpy(dtype=float)
    order = np.argsort(-np.nan_to_num(minutes, nan=0.0), kind="stable")  # the shortest walk drawn on top
    circles, minutes = circles.iloc[order], minutes[order]
    steps = sorted(set(minutes[np.isfinite(minutes)].tolist()))
    straight = circles["method"].eq("straight_line").to_numpy(dtype=bool) if "method" in circles.columns \
        else np.zeros(len(circles), dtype=bool)
    classes = {}
    for i, step in enumerate(steps):
        label = text["circle"].format(m=step)
        if straight[minutes == step].all():
            label += f"（{text['straight_line']}）"
        color = _CIRCLE_COLORS[min(i, len(_CIRCLE_COLORS) - 1)]
        classes[step] = paint.add_class(label, _style(color, {"weight": 1, "fillOpacity": 0.2}))
    methods = [text.get(m, m) if m else None for m in _column(circles, "method")]
    titles = [label or centre for label, centre in
              zip(_column(circles, "label"), _column(circles, "centre_id"), strict=True)]
    names = _column(circles, "name") if "name" in circles.columns else _column(circles, "centre_id")
    kept = np.isfinite(minutes)
    paint.shapes = list(circles.geometry.values[kept])
    paint.shape_rows = [[title, name, f"{m:g} {text['minute_unit']}", method, caveat or None]
                        for title, name, m, method, caveat, keep in
                        zip(titles, names, minutes, methods, _column(circles, "caveat"), kept, strict=True)
                        if keep]
    paint.shape_classes = [classes[m] for m in minutes[kept]]
    return paint


def _paint_measure(frame: pd.DataFrame, column: str, *, context: _Context, fields: list[tuple[str, list]],
                   label_none: str, palette: str, decimals: int, percent: bool,
                   suppressed: np.ndarray | None = None) -> _Paint:
    """Paint a per-grid choropleth: classes of ``column`` (mapclassify quantiles), missing, suppressed."""
    text = context.text
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    shown = values * 100 if percent else values
    found = classify(shown, scheme="quantiles", k=5, suppressed=suppressed)
    colors = _colors(palette, len(found.bins))
    paint = _Paint(fields=[name for name, _ in fields])
    unit = "%" if percent else ""
    low = None
    for high, color in zip(found.bins, colors, strict=True):
        upper = f"{high:.{decimals}f}{unit}"
        label = f"≤ {upper}" if low is None else f"{low:.{decimals}f}{unit} – {upper}"
        paint.add_class(label, _style(color, {"weight": 1, "fillOpacity": 0.7}))
        low = high
    extra = {}
    for char, label, color in (("s", text["suppressed"], "#bdbdbd"), ("-", label_none, "#ffffff")):
        if char in found.classes:
            extra[char] = paint.add_class(label, _style(color, {"weight": 1, "color": "#888888",
                                                                "fillOpacity": 0.6}))
    paint.codes = frame["code"].astype(str).tolist()
    paint.code_classes = [int(c) if c.isdigit() else extra[c] for c in found.classes]
    paint.code_rows = [[code, *row] for code, *row in zip(paint.codes, *(v for _, v in fields), strict=True)]
    return paint


def _paint_escalation(frame: pd.DataFrame, context: _Context) -> _Paint:
    text, lang = context.text, context.lang
    suppressed = None
    if context.public:
        from gridmap.stats.summary import suppress_small_counts

        plain = pd.DataFrame(frame)
        plain.attrs.update(frame.attrs)  # the count columns and what derives from each
        plain.attrs.setdefault("count_columns", GRID_COUNT_COLUMNS)
        hidden = suppress_small_counts(plain, columns=list(plain.attrs["count_columns"]))
        suppressed = hidden["settled"].isna().to_numpy() & frame["settled"].notna().to_numpy() \
            if "settled" in frame.columns else None
        frame = hidden
    shares = [(text["share"].format(name=HANDLING_LEVEL_NAMES_ZH[level] if lang == "zh" else level),
               _percents(frame, f"share_{level}")) for level in HANDLING_LEVELS]
    fields = [(text["settled_in_grid"] + "率" if lang == "zh" else text["settled_in_grid"],
               _percents(frame, "settled_in_grid_rate")),
              (text["cases"], _column(frame, "cases")), (text["settled"], _column(frame, "settled")),
              (text["settled_in_grid"], _column(frame, "settled_in_grid")), *shares,
              (text["skipped"], _column(frame, "skipped")), (text["returned"], _column(frame, "returned"))]
    return _paint_measure(frame, "settled_in_grid_rate", context=context, fields=fields,
                          label_none=text["no_data"], palette="RdYlGn", decimals=0, percent=True,
                          suppressed=suppressed)


def _paint_quality(frame: pd.DataFrame, context: _Context) -> _Paint:
    text = context.text
    ranked = int(pd.to_numeric(frame["index"], errors="coerce").notna().sum())
    ranks = [None if r is None else f"{r}/{ranked}" for r in _column(frame, "rank")]
    index = [None if v is None else round(float(v), 1) for v in _column(frame, "index")]
    fields: list[tuple[str, list]] = [(text["index"], index), (text["rank"], ranks),
                                      (text["breakdown"], _column(frame, "breakdown")),
                                      (text["measures_used"], _column(frame, "measures_used"))]
    return _paint_measure(frame, "index", context=context, fields=fields, label_none=text["unranked"],
                          palette="RdYlGn", decimals=1, percent=False)


def _paint_patrols(frame: pd.DataFrame, column: str, name: str, context: _Context) -> _Paint:
    text = context.text
    fields = [(name, _percents(frame, column)), (text["state"], _column(frame, "label"))]
    return _paint_measure(frame, column, context=context, fields=fields, label_none=text["no_data"],
                          palette="YlGn", decimals=0, percent=True)


def _paint(made: Overlay, context: _Context) -> _Paint:
    source = _SOURCES[made.kind](made)
    if made.kind == "staffing":
        return _paint_staffing(source, context)
    if made.kind == "liaison":
        return _paint_liaison(source, context)
    if made.kind == "patrols":
        return _paint_patrols(source, made.column or "patrol_coverage", made.title(context.lang), context)
    painters: dict[str, Callable[[Any, _Context], _Paint]] = {
        "party": _paint_party, "zones": _paint_zones, "circles": _paint_circles,
        "escalation": _paint_escalation, "quality": _paint_quality}
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
                          "dashed": "dashArray" in style, "shape": "area", "layer": self.key})
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
        """Write the features (own geometry in the map's coordinates) into the page."""
        drawn = _shift(self.geometry, self._coords())
        features: list[dict] = [{"g": position, "v": self.rows[i], "s": self.class_index[i]}
                                for i, position in enumerate(self.positions)]
        offset = len(self.positions)
        features += [{"geometry": encode_geometry(geom), "v": self.rows[offset + i],
                      "s": self.class_index[offset + i]} for i, geom in enumerate(drawn.values)]
        self.spec_json = js_string({"key": self.key, "scale": _SCALE, "radius": _UNIT_RADIUS,
                                    "fields": self.fields, "styles": [c["style"] for c in self.classes],
                                    "features": features})
        super().render(**kwargs)


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
    context = _Context(lang=lang, public=public, areas=areas)
    position = {code: i for i, code in enumerate(grid.codes)}
    bounds = shapely.box(*grid.geometry.total_bounds) if len(grid.geometry) else None
    layers = []
    for number, made in enumerate(overlays):
        if not isinstance(made, Overlay):
            raise GridmapError(f"overlays[{number}] is a {type(made).__name__}, not an Overlay",
                               fix="make each with gridmap.maps.overlay(data, kind=...)")
        paint = _paint(made, context)
        keep = [i for i, code in enumerate(paint.codes) if code in position]
        geometry, shape_keep = _drawable_shapes(paint.shapes, bounds, made)
        rows = [paint.code_rows[i] for i in keep] + [paint.shape_rows[i] for i in shape_keep]
        classes = [paint.code_classes[i] for i in keep] + [paint.shape_classes[i] for i in shape_keep]
        layers.append(OverlayLayer(grid, [position[paint.codes[i]] for i in keep], geometry, rows,
                                   fields=paint.fields, classes=paint.classes, class_index=classes,
                                   key=f"overlay_{made.kind}_{number}", name=made.title(lang)))
    return layers


def _drawable_shapes(shapes: list, bounds, made: Overlay) -> tuple[gpd.GeoSeries, list[int]]:
    """Return the features' own geometry in EPSG:4326, 2-D, simplified; only those over the mapped grids."""
    if not shapes:
        return gpd.GeoSeries([], crs="EPSG:4326"), []
    crs = _crs_of(made)
    series = gpd.GeoSeries(shapes, crs=crs).to_crs("EPSG:4326")
    geoms = shapely.simplify(shapely.force_2d(np.asarray(series.values, dtype=object)), _TOLERANCE,
                             preserve_topology=True)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if bounds is not None:
        keep &= shapely.intersects(geoms, bounds)
    kept = np.flatnonzero(keep)
    return gpd.GeoSeries(geoms[kept], crs="EPSG:4326"), kept.tolist()


def _crs_of(made: Overlay):
    """Return the CRS of an overlay's own shapes: its frame's, or the admin areas' (units of a Report)."""
    if made.kind in ("zones", "circles"):
        return _SOURCES[made.kind](made).crs
    return "EPSG:4326"  # units above the grids come from the map's areas, already in EPSG:4326
