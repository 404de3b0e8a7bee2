"""How each overlay is drawn: its classes (colours, legend entries), its popup rows, its features.

The painters of :mod:`gridmap.maps.overlays`: each takes the checked data of one kind and returns a
:class:`Paint` — features on grids (by code) and features with their own polygons, one class each. Names of
people appear only as :func:`gridmap.people.public_roster` gives them (the staffing tables), and not at all
on a public map.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.fieldwork.escalation import GRID_COUNT_COLUMNS
from gridmap.maps.choropleth import _colors, classify
from gridmap.people.roster import PUBLIC_NAME_ROLES
from gridmap.schema import (
    HANDLING_LEVEL_NAMES_ZH,
    HANDLING_LEVELS,
    LEVELS,
    ROLE_NAMES_ZH,
    ROSTER_LEVEL_NAMES_ZH,
    SITE_KIND_NAMES_ZH,
    SITE_KINDS,
    split_ids,
)

__all__ = ["Paint", "Context", "ZONE_COLORS", "paint_staffing", "paint_party", "paint_liaison", "paint_zones",
           "paint_circles", "paint_escalation", "paint_quality", "paint_patrols", "paint_tracks"]

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
           "patrols": "巡查次数（实际/应巡）", "units_passed": "途经单元（已途经/总数）",
           "longest_gap": "最长间隔", "hours": "小时", "since": "距上次巡查", "days": "天",
           "never": "期间未巡查", "worker": "巡查人员", "role": "人员", "name": "姓名", "day": "日期",
           "main_grid": "主要所在网格", "length": "轨迹长度", "points": "定位点数", "duration": "时长",
           "track": "巡查轨迹（每人每天一条）"},
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
           "patrols": "Patrols (done/required)", "units_passed": "Units passed (of all)",
           "longest_gap": "Longest gap", "hours": "h", "since": "Since the last patrol", "days": "days",
           "never": "none in the span", "worker": "Patrol worker", "role": "Worker", "name": "Name",
           "day": "Day", "main_grid": "Grid of most time", "length": "Length", "points": "Points",
           "duration": "Time", "track": "Patrol track (one a worker a day)"},
}
#: Colours of zones by site kind (ColorBrewer Dark2, one per kind of :data:`gridmap.schema.SITE_KINDS`).
ZONE_COLORS = dict(zip(SITE_KINDS, ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                                    "#a6761d"), strict=True))
_CIRCLE_COLORS = ("#08519c", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef")
#: Path styles of the overlays.
_FILL = {"weight": 1.5, "fillOpacity": 0.55}
_LINE = {"color": "#c51b7d", "weight": 2.5, "opacity": 0.75, "fill": False}
_OUTLINE = {"weight": 3, "fill": False, "dashArray": "6 4"}
#: Decimals of shares in popups (85.0%).
_SHARE_DECIMALS = 1


@dataclass
class Paint:
    """Features of one overlay: on grids (by code) and with their own geometry, one class each."""

    fields: list[str]
    classes: list[dict] = field(default_factory=list)  # {"label", "style", "shape"}; index = class
    codes: list[str] = field(default_factory=list)
    code_rows: list[list] = field(default_factory=list)
    code_classes: list[int] = field(default_factory=list)
    shapes: list = field(default_factory=list)
    shape_rows: list[list] = field(default_factory=list)
    shape_classes: list[int] = field(default_factory=list)

    def add_class(self, label: str, style: dict, *, shape: str = "area") -> int:
        self.classes.append({"label": label, "style": style, "shape": shape})
        return len(self.classes) - 1


@dataclass(frozen=True)
class Context:
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
    return ROSTER_LEVEL_NAMES_ZH[level] if lang == "zh" else level


def _unit_shapes(table: pd.DataFrame, level: str, context: Context) -> tuple[pd.DataFrame, list, list]:
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


def paint_staffing(tables: dict[str, pd.DataFrame], context: Context) -> Paint:
    text, lang = context.text, context.lang
    names = [] if context.public else [column for column in ("leader_name", "full_time_name", "member_name")]
    paint = Paint(fields=[text["level"], text["rules_broken"], text["vacancies"],
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


def paint_party(frame: pd.DataFrame, context: Context) -> Paint:
    text = context.text
    paint = Paint(fields=[text["branches"], text["joint"], text["members"], text["building_share"],
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


def paint_liaison(tables: dict[str, pd.DataFrame], context: Context) -> Paint:
    text, lang = context.text, context.lang
    paint = Paint(fields=[text["level"], text["state"]])
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


def paint_zones(zones: gpd.GeoDataFrame, context: Context) -> Paint:
    text, lang = context.text, context.lang
    paint = Paint(fields=[text["kind"], text["radius"], text["sites"], text["grids"], text["communities"]])
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
    if codes not in frame.columns:
        return [None] * len(frame)
    texts = []
    for value in frame[codes]:
        listed = split_ids(value)
        texts.append(f"{len(listed)}：{'、'.join(listed)}" if listed else None)
    return texts


def paint_circles(circles: gpd.GeoDataFrame, context: Context) -> Paint:
    text = context.text
    paint = Paint(fields=[text["centre"], text["minutes"], text["method"], text["caveat"]])
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


def _paint_measure(frame: pd.DataFrame, column: str, *, context: Context, fields: list[tuple[str, list]],
                   label_none: str, palette: str, decimals: int, percent: bool,
                   suppressed: np.ndarray | None = None) -> Paint:
    """Paint a per-grid choropleth: classes of ``column`` (quantiles), missing, suppressed."""
    text = context.text
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    shown = values * 100 if percent else values
    found = classify(shown, scheme="quantiles", k=5, suppressed=suppressed)
    colors = _colors(palette, len(found.bins))
    paint = Paint(fields=[name for name, _ in fields])
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


def paint_escalation(frame: pd.DataFrame, context: Context) -> Paint:
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


def paint_quality(frame: pd.DataFrame, context: Context) -> Paint:
    text = context.text
    ranked = int(pd.to_numeric(frame["index"], errors="coerce").notna().sum())
    ranks = [None if r is None else f"{r}/{ranked}" for r in _column(frame, "rank")]
    index = [None if v is None else round(float(v), 1) for v in _column(frame, "index")]
    fields: list[tuple[str, list]] = [(text["index"], index), (text["rank"], ranks),
                                      (text["breakdown"], _column(frame, "breakdown")),
                                      (text["measures_used"], _column(frame, "measures_used"))]
    return _paint_measure(frame, "index", context=context, fields=fields, label_none=text["unranked"],
                          palette="RdYlGn", decimals=1, percent=False)


def paint_patrols(frame: pd.DataFrame, column: str, name: str, context: Context) -> Paint:
    """Colour the grids by a share; a patrol summary's grids (patrols, units passed …) say each in a row."""
    text = context.text
    fields: list[tuple[str, list]] = [(name, _percents(frame, column))]
    if {"patrols", "required"} <= set(frame.columns):
        fields.append((text["patrols"], _ratios(frame, "patrols", "required")))
    if {"units_passed", "units"} <= set(frame.columns):
        fields.append((text["units_passed"], _ratios(frame, "units_passed", "units")))
    if "longest_gap_h" in frame.columns:
        fields.append((text["longest_gap"], _with_unit(frame["longest_gap_h"], text["hours"])))
    if "last_patrol" in frame.columns and "idle_days" in frame.columns:
        since = _with_unit(frame["idle_days"], text["days"])
        never = frame["last_patrol"].isna().to_numpy()
        fields.append((text["since"], [text["never"] if n else v for n, v in zip(never, since, strict=True)]))
    if len(fields) == 1:  # a frame of shares alone: its label, if any, says the rest
        fields.append((text["state"], _column(frame, "label")))
    return _paint_measure(frame, column, context=context, fields=fields, label_none=text["no_data"],
                          palette="YlGn", decimals=0, percent=True)


def _ratios(frame: pd.DataFrame, part: str, whole: str) -> list:
    """``5/7`` for each row (None where either is missing)."""
    return [None if p is None or w is None else f"{p:g}/{w:g}"
            for p, w in zip(_column(frame, part), _column(frame, whole), strict=True)]


def _with_unit(values: pd.Series, unit: str) -> list:
    """``30.5 小时`` for each value, one decimal at most (None where missing)."""
    return [None if v is None else f"{round(float(v), 1):g} {unit}" for v in (_value(v) for v in values)]


def paint_tracks(tracks: pd.DataFrame, context: Context) -> Paint:
    """Draw each worker's track of a day as a line: role (the name only where allowed), day, length, points.

    ``role`` and ``name`` are read when the frame has them (from the roster); the name is shown only for the
    roles :data:`gridmap.people.roster.PUBLIC_NAME_ROLES` names publicly, and never on a public map. The
    worker's id is never shown.
    """
    text, lang = context.text, context.lang
    roles = _column(tracks, "role")
    role_names = [text["worker"] if role is None else ROLE_NAMES_ZH.get(role, role) if lang == "zh"
                  else role.replace("_", " ") for role in roles]
    names = [name if role in PUBLIC_NAME_ROLES and not context.public else None
             for role, name in zip(roles, _column(tracks, "name"), strict=True)]
    named = any(name is not None for name in names)
    paint = Paint(fields=[text["role"], *([text["name"]] if named else []), text["day"], text["main_grid"],
                          text["length"], text["points"], text["duration"]])
    line = paint.add_class(text["track"], _LINE, shape="line")
    days = _column(tracks, "day")
    lengths = [None if v is None else f"{v:,.0f} {text['metres']}" for v in _column(tracks, "length_m")]
    minutes = [None if v is None else f"{v:,.0f} {text['minute_unit']}" for v in _column(tracks, "minutes")]
    paint.shapes = list(tracks.geometry.values)
    paint.shape_rows = [[" ".join(v for v in (role, name, day) if v), role, *([name] if named else []), day,
                         grid, length, points, time]
                        for role, name, day, grid, length, points, time in
                        zip(role_names, names, days, _column(tracks, "code"), lengths,
                            _column(tracks, "points"), minutes, strict=True)]
    paint.shape_classes = [line] * len(paint.shapes)
    return paint
