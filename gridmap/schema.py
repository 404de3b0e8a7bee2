"""The data model: layer names, column names, allowed values and the header aliases readers accept.

gridmap's layers (see README, "Data model"):

* admin units — ``code`` (string of 6, 9 or 12 digits), ``name``, ``level`` (district / street /
  community), ``parent_code``, ``kind`` (urban / rural / other, for communities), polygon;
* base units — ``unit_id``, ``name``, ``kind`` (one of :data:`UNIT_KINDS`), ``households``,
  ``population``, ``buildings``, optional ``community_code``, point or polygon;
* grids, staff and cases — added by :mod:`gridmap.division`, :mod:`gridmap.people`,
  :mod:`gridmap.cases`.

Codes are always strings: leading zeros and 12-digit precision survive every reader.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, TypeVar

FrameT = TypeVar("FrameT", bound=Any)  # a pandas or geopandas frame (schema does not import pandas)
_BLANKS = re.compile(r"[\s\ufeff\u200b]+")

__all__ = [
    "LEVELS",
    "CODE_LENGTHS",
    "ROLLUP_LEVELS",
    "STATISTICAL_LEVELS",
    "LEVEL_WORDS",
    "UNIT_KINDS",
    "DEDICATED_KINDS",
    "BUILDING_KIND",
    "UNIT_KIND_WORDS",
    "COMMUNITY_KINDS",
    "COMMUNITY_KIND_WORDS",
    "GRID_TYPES",
    "GRID_TYPE_NAMES_ZH",
    "vocabulary_key",
    "unit_kind",
    "closest_word",
    "unit_kind_table",
    "LAYER_COLUMNS",
    "header_key",
    "alias_renames",
    "model_columns",
    "caller_columns",
    "find_column",
    "ID_SEPARATOR",
    "ID_SEPARATORS",
    "split_ids",
    "join_ids",
    "STAFF_ROLES",
    "HANDLING_LEVELS",
    "PERIODS",
    "COLUMN_ALIASES",
    "CODE_COLUMNS",
    "COUNT_COLUMNS",
    "LABELS_ZH",
    # issue 21: escalation, satisfaction, mediation, quality index
    "HANDLING_LEVEL_NAMES_ZH",
    "STEP_COLUMN_WORDS",
    "TIER_RULES",
    "SATISFACTION_CLASSES",
    "SATISFACTION_WORDS",
    "SATISFACTION_SCALES",
    "SATISFACTION_THRESHOLDS",
    "MEDIATION_OUTCOMES",
    "MEDIATION_WORDS",
    "MEDIATION_LEVELS",
    "MEDIATION_LEVEL_WORDS",
    "FEEDBACK_COLUMN_WORDS",
    "QUALITY_MEASURES",
    # patrol zones and walking circles (issue 21)
    "SITE_KINDS",
    "SITE_RADII_M",
    "SITE_KIND_NAMES_ZH",
    "SITE_KIND_WORDS",
    "site_kind",
    "WALK_SPEED_KMH",
    "WALK_MINUTES",
    "WALK_OFF_M",
    "RESIDENTIAL_KINDS",
    # party organisation and service centres (issue 20)
    "PARTY_KINDS",
    "PARTY_KIND_NAMES_ZH",
    "PARTY_KIND_WORDS",
    "PARTY_MEMBERS_MAX",
    "PARTY_ALIASES",
    "CENTRE_KINDS",
    "CENTRE_KIND_NAMES_ZH",
    "CENTRE_KIND_WORDS",
    "CENTRE_STANDARDS",
    "FLOOR_AREA_MAX_M2",
    "CENTRE_ALIASES",
    "NEW_COMPOUND_HEADERS",
    "party_kind",
    "centre_kind",
    # people: roster roles and levels (issue 20)
    "ROSTER_ROLES",
    "ROLE_NAMES_ZH",
    "ROLE_ALIASES",
    "ROSTER_LEVELS",
    "ROSTER_LEVEL_NAMES_ZH",
    "PEOPLE_LEVEL_WORDS",
    "ROLE_LEVELS",
    "LEVEL_LEADERS",
    "PARTY_WORDS",
    "ROSTER_COLUMNS",
    "ROSTER_HEADERS",
    "LIAISON_LEVELS",
    "LIAISON_COVERS",
    "roster_role",
    "people_level",
    "party_membership",
    # patrols (issue 21)
    "PATROL_KINDS",
    "PATROL_ALIASES",
    "PATROL_COORD_WORDS",
    "PATROL_HEADERS_ZH",
]

#: Administrative levels gridmap models, from the largest down, with the length of their codes.
LEVELS = ("district", "street", "community")
CODE_LENGTHS = {"province": 2, "city": 4, "district": 6, "street": 9, "community": 12}
#: The levels figures roll up to, from the grid upwards (grid, community, street, district).
ROLLUP_LEVELS = ("grid", *reversed(LEVELS))
#: The level names of the national statistical division codes (统计用区划代码) and the length of their
#: codes before they are padded to 12 digits.
STATISTICAL_LEVELS = {"province": 2, "city": 4, "county": 6, "town": 9, "village": 12}

#: Words for the levels (Chinese, and the Chinese labels of :data:`LABELS_ZH`), by level.
LEVEL_WORDS = {
    **dict.fromkeys(("城区/县", "区", "县", "城区", "县级市", "区县"), "district"),
    **dict.fromkeys(("街道/乡镇", "街道", "乡镇", "镇", "乡"), "street"),
    **dict.fromkeys(("社区/村", "社区", "村", "居委会", "村委会", "行政村"), "community"),
}

#: Kinds of community (社区 urban, 村 rural) and the words read as each.
COMMUNITY_KINDS = ("urban", "rural", "other")
COMMUNITY_KIND_WORDS = {
    **dict.fromkeys(("城市", "城镇", "社区", "居委会"), "urban"),
    **dict.fromkeys(("农村", "乡村", "村", "村委会", "行政村"), "rural"),
    "其他": "other",
}

#: Types of grid, with their Chinese names.
GRID_TYPES = ("city", "rural", "dedicated")
GRID_TYPE_NAMES_ZH = {"city": "城市网格", "rural": "农村网格", "dedicated": "专属网格"}

#: Kinds of base unit. The dedicated kinds form dedicated grids (专属网格).
DEDICATED_KINDS = ("office_building", "industrial_park", "market", "school", "hospital", "transport_hub",
                   "institution")
#: Kind of the building-level units (楼栋) that let a large compound be split; ``parent_unit`` names
#: the compound.
BUILDING_KIND = "building"
UNIT_KINDS = ("compound", "natural_village", *DEDICATED_KINDS, BUILDING_KIND, "other")

#: The words read as each unit kind: Chinese words first, then English ones. Compared after
#: :func:`vocabulary_key` (full-width → half-width, blanks, ``_`` and ``-`` dropped, lower case); the
#: README's data-model table is :func:`unit_kind_table`.
UNIT_KIND_WORDS = {
    **dict.fromkeys(("住宅小区", "小区", "居民小区", "住宅区", "院落", "compound", "residential compound",
                     "residential area"), "compound"),
    **dict.fromkeys(("楼栋", "楼宇", "住宅楼", "居民楼", "单元楼", "building", "residential building"),
                    BUILDING_KIND),
    **dict.fromkeys(("自然村/屯", "自然村", "屯", "组", "村民小组", "自然屯", "寨", "natural village",
                     "hamlet"), "natural_village"),
    **dict.fromkeys(("商务楼宇", "写字楼", "商务楼", "办公楼", "office building", "office"),
                    "office_building"),
    **dict.fromkeys(("产业园区", "工业园区", "园区", "科技园", "创业园", "industrial park", "business park"),
                    "industrial_park"),
    **dict.fromkeys(("商圈市场", "商圈", "市场", "农贸市场", "菜市场", "批发市场", "商场", "购物中心",
                     "商业综合体", "market", "shopping mall", "mall"), "market"),
    **dict.fromkeys(("学校", "小学", "中学", "初中", "高中", "幼儿园", "大学", "高校", "职业学校",
                     "school", "kindergarten", "university"), "school"),
    **dict.fromkeys(("医院", "卫生院", "社区卫生服务中心", "卫生服务中心", "卫生室", "hospital", "clinic",
                     "health centre"), "hospital"),
    **dict.fromkeys(("交通枢纽", "车站", "火车站", "汽车站", "客运站", "高铁站", "地铁站", "机场", "码头",
                     "transport hub", "station"), "transport_hub"),
    **dict.fromkeys(("机关企事业单位", "机关", "企事业单位", "机关单位", "事业单位", "企业", "单位",
                     "institution", "government office"), "institution"),
    **dict.fromkeys(("其他", "other"), "other"),
}

#: The "1+1+1+N" roles of grid staff.
STAFF_ROLES = ("instructor", "leader", "full_time", "member")

#: Where a case was settled: 小事不出网格、大事不出社区、难事不出街道 (the roll-up levels).
HANDLING_LEVELS = ROLLUP_LEVELS

#: Summary periods: pandas frequency, 环比 base (periods back), 同比 base (periods back; None: a year).
PERIODS = {"day": ("D", 1, None), "week": ("W-SUN", 1, 52), "month": ("M", 1, 12)}

#: Columns that hold codes: always read as strings, never as numbers.
CODE_COLUMNS: tuple[str, ...] = (
    "code", "parent_code", "community_code", "street_code", "district_code", "grid_code", "unit_id",
)

#: Columns that hold counts of people, households or buildings.
COUNT_COLUMNS = ("households", "population", "buildings")

#: Header aliases (compared after stripping blanks and lower-casing) mapped to model column names.
COLUMN_ALIASES = {
    # identity
    "名称": "name", "名字": "name", "小区名称": "name", "单元名称": "name", "村名": "name",
    "自然村": "name", "屯名": "name", "社区名称": "name", "网格名称": "name", "name": "name",
    "区划代码": "code", "行政区划代码": "code", "统计用区划代码": "code", "代码": "code", "编码": "code",
    "code": "code", "adcode": "code",
    "上级代码": "parent_code", "上级区划代码": "parent_code", "parent_code": "parent_code",
    "parent": "parent_code",
    "社区代码": "community_code", "村代码": "community_code", "社区编码": "community_code",
    "所属社区代码": "community_code", "community_code": "community_code",
    "网格编码": "grid_code", "网格代码": "grid_code", "grid_code": "grid_code",
    "单元编号": "unit_id", "编号": "unit_id", "unit_id": "unit_id", "id": "unit_id",
    "楼栋名称": "name", "楼栋编号": "unit_id", "楼栋代码": "unit_id",
    "层级": "level", "级别": "level", "level": "level",
    # "type" is left as it is: grids use it (city/rural/dedicated); units use "kind"
    "类型": "kind", "类别": "kind", "kind": "kind",
    # counts
    "户数": "households", "住户数": "households", "总户数": "households", "households": "households",
    "人口": "population", "人数": "population", "人口数": "population", "常住人口": "population",
    "population": "population", "pop": "population",
    "楼栋数": "buildings", "楼栋": "buildings", "栋数": "buildings", "buildings": "buildings",
    # coordinates (used by the CSV/XLSX readers, then dropped into the geometry)
    "经度": "lon", "lng": "lon", "lon": "lon", "long": "lon", "longitude": "lon", "x": "lon",
    "纬度": "lat", "lat": "lat", "latitude": "lat", "y": "lat",
}

#: The model columns functions read from each kind of layer, each with the other model columns that may
#: stand for it (a grid layer's code is often headed 网格编码, read as ``grid_code``). See
#: :func:`model_columns`.
LAYER_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "admin": {"code": (), "name": (), "level": (), "parent_code": (), "kind": ()},
    "grids": {"code": ("grid_code",), "community_code": (), "name": (), **dict.fromkeys(COUNT_COLUMNS, ())},
    "units": {"unit_id": (), "name": (), "kind": (), "community_code": (), "grid_code": (),
              **dict.fromkeys(COUNT_COLUMNS, ())},
    # buildings divided into micro-grids (微网格); grid_code is the grid a building was given
    "buildings": {"unit_id": (), "name": (), "households": (), "population": (), "grid_code": ()},
    "cases": {"grid_code": (), "community_code": ()},
    "staff": {"grid_code": (), "community_code": (), "name": ()},
    # a build given to the registry: its "code" is a temporary id and grid_code a claimed code, so the two
    # never stand for each other
    "build": {"community_code": (), "grid_code": ()},
}

#: Chinese labels for model values, used in maps, legends and reports.
LABELS_ZH = {
    "district": "城区/县", "street": "街道/乡镇", "community": "社区/村",
    "urban": "城市", "rural": "农村", "other": "其他",
    "compound": "住宅小区", "natural_village": "自然村/屯", "office_building": "商务楼宇",
    "industrial_park": "产业园区", "market": "商圈市场", "school": "学校", "hospital": "医院",
    "transport_hub": "交通枢纽", "institution": "机关企事业单位", "building": "楼栋",
    "city": GRID_TYPE_NAMES_ZH["city"], "dedicated": GRID_TYPE_NAMES_ZH["dedicated"],
    "households": "户数", "population": "人口", "buildings": "楼栋数",
    "instructor": "网格指导员", "leader": "网格长", "full_time": "专职网格员", "member": "定岗网格员",
    "grid": "网格", "code": "编码", "name": "名称", "kind": "类型",
}

#: How list fields such as ``unit_ids`` are written: ``"U1;U2"``.
ID_SEPARATOR = ";"
#: The separators :func:`split_ids` reads (a regular expression): gridmap's ``;`` and those people type.
ID_SEPARATORS = r"[;,，；、|\s]+"
_ID_SPLIT = re.compile(ID_SEPARATORS)


def vocabulary_key(word: str) -> str:
    """Return ``word`` as the vocabulary compares it.

    NFKC (full-width → half-width), without blanks, ``_`` or ``-``, lower case.

    Examples
    --------
    >>> vocabulary_key("  Ｏｆｆｉｃｅ_Building ")
    'officebuilding'
    >>> vocabulary_key("小　学")
    '小学'
    """
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", word)).lower()


_KIND_BY_KEY = {**{vocabulary_key(kind): kind for kind in UNIT_KINDS},
                **{vocabulary_key(word): kind for word, kind in UNIT_KIND_WORDS.items()}}


def unit_kind(word: object) -> str | None:
    """Return the unit kind a word names (:data:`UNIT_KIND_WORDS` or a kind itself), None if unknown.

    Examples
    --------
    >>> unit_kind("农贸市场"), unit_kind(" 楼栋 "), unit_kind("Natural-Village"), unit_kind("菜地")
    ('market', 'building', 'natural_village', None)
    """
    if not isinstance(word, str):
        return None
    return _KIND_BY_KEY.get(vocabulary_key(word))


def closest_word(word: object, words: Iterable[str]) -> str | None:
    """Return the word of ``words`` closest to ``word`` (rapidfuzz ratio ≥ 50), None when none is close.

    Examples
    --------
    >>> closest_word("农贸市埸", UNIT_KIND_WORDS)
    '农贸市场'
    >>> closest_word("offce building", UNIT_KIND_WORDS)
    'office building'
    """
    from rapidfuzz import fuzz, process, utils

    if not isinstance(word, str) or not word.strip():
        return None
    found = process.extractOne(unicodedata.normalize("NFKC", word), list(words), scorer=fuzz.ratio,
                               processor=utils.default_process, score_cutoff=50)
    return None if found is None else found[0]


def unit_kind_table() -> str:
    """Return the Markdown table of :data:`UNIT_KIND_WORDS` the README shows (one row per kind).

    Examples
    --------
    >>> print(unit_kind_table().splitlines()[4])
    | `office_building` | 商务楼宇 | 商务楼宇, 写字楼, 商务楼, 办公楼, office building, office |
    """
    rows = ["| kind | 中文 | words read as this kind |", "|---|---|---|"]
    for kind in UNIT_KINDS:
        words = [word for word, value in UNIT_KIND_WORDS.items() if value == kind]
        rows.append(f"| `{kind}` | {LABELS_ZH[kind]} | {', '.join(words)} |")
    return "\n".join(rows)


def split_ids(text: object) -> list[str]:
    """Split a list field (``unit_ids``, a unit's ``grid_code``) into its ids.

    Reads gridmap's own ``;`` and the separators people type (``,`` ``，`` ``；`` ``、`` ``|``, blanks);
    empty parts and missing values give no ids.

    Examples
    --------
    >>> split_ids("U1;U2"), split_ids("U1，U2、 U3"), split_ids(None)
    (['U1', 'U2'], ['U1', 'U2', 'U3'], [])
    """
    if not isinstance(text, str):
        return []
    return [part for part in _ID_SPLIT.split(text) if part]


def join_ids(ids: Iterable[object]) -> str:
    """Join ids into a list field, the inverse of :func:`split_ids` for ids without separators.

    Examples
    --------
    >>> join_ids(["U1", "U2"])
    'U1;U2'
    """
    return ID_SEPARATOR.join(str(i) for i in ids)


def header_key(name: object) -> str:
    r"""Return the form a header is compared in: NFKC, no blanks or byte-order marks, lower case.

    Examples
    --------
    >>> header_key("\ufeff 户　数 "), header_key("ＣＯＤＥ")
    ('户数', 'code')
    """
    return _BLANKS.sub("", unicodedata.normalize("NFKC", str(name))).lower()


def alias_renames(columns: Iterable[Hashable], wanted: Mapping[str, tuple[str, ...]]) -> dict[Hashable, str]:
    """Return ``{header: model column}`` for the wanted model columns the headers lack but an alias gives.

    A model column present under its own name is never replaced. Otherwise the first header that is an
    alias of it (:data:`COLUMN_ALIASES`) is taken, then one standing for a model column it may stand for
    (``wanted[model]``). A header is used once.

    Examples
    --------
    >>> alias_renames(["网格编码", "户数", "备注"], LAYER_COLUMNS["grids"])
    {'网格编码': 'code', '户数': 'households'}
    >>> alias_renames(["code", "编号"], {"code": (), "unit_id": ()})
    {'编号': 'unit_id'}
    """
    headers = list(columns)
    models = {header: COLUMN_ALIASES.get(header_key(header)) for header in headers}
    renames: dict[Hashable, str] = {}
    for model, stand_ins in wanted.items():
        if model in headers:
            continue
        for name in (model, *stand_ins):
            found = next((h for h in headers if models[h] == name and h not in renames
                          and (h == name or h not in wanted)), None)
            if found is not None and found != model:
                renames[found] = model
                break
    return renames


def model_columns(frame: FrameT, layer: str) -> tuple[FrameT, dict[str, Hashable]]:
    """Return ``frame`` with the model names of :data:`LAYER_COLUMNS` ``[layer]`` and the headers renamed.

    Public functions call this on the frames they are given, so a caller's own headers (网格编码, 户数,
    编号 …) work; :func:`caller_columns` gives the caller's names back on the rows a function returns.
    The caller's frame is not changed; anything without columns is returned as it is.

    Examples
    --------
    >>> import pandas as pd
    >>> grids, names = model_columns(pd.DataFrame({"网格编码": ["G1"], "人口": [900]}), "grids")
    >>> list(grids.columns), names
    (['code', 'population'], {'code': '网格编码', 'population': '人口'})
    """
    renames = alias_renames(getattr(frame, "columns", ()), LAYER_COLUMNS[layer])
    if not renames:
        return frame, {}
    return frame.rename(columns=renames), {model: header for header, model in renames.items()}


def caller_columns(frame: FrameT, names: Mapping[str, Hashable]) -> FrameT:
    """Give back the caller's headers :func:`model_columns` renamed (``names``: model → header).

    Examples
    --------
    >>> import pandas as pd
    >>> caller_columns(pd.DataFrame({"code": ["G1"], "n": [1]}), {"code": "网格编码"}).columns.tolist()
    ['网格编码', 'n']
    """
    back = {model: header for model, header in names.items() if model in frame.columns}
    return frame.rename(columns=back) if back else frame


def find_column(columns: Iterable[Hashable], name: str) -> Hashable | None:
    """Return the header that holds the column a caller named; None if none does.

    That is ``name`` itself, else a header that is an alias of the same model column (``编号`` after a
    reader renamed it to ``unit_id``).

    Examples
    --------
    >>> find_column(["unit_id", "name"], "编号"), find_column(["编号"], "编号"), find_column(["x"], "名称")
    ('unit_id', '编号', None)
    """
    headers = list(columns)
    if name in headers:
        return name
    model = COLUMN_ALIASES.get(header_key(name))
    if model is None:
        return None
    return next((h for h in headers if COLUMN_ALIASES.get(header_key(h)) == model), None)


# === SECTION: escalation, tiered response, satisfaction, mediation, quality index (issue 21) ==============
# Vocabulary of gridmap.fieldwork.escalation, gridmap.fieldwork.satisfaction and gridmap.stats.quality.

#: Chinese names of the handling levels (:data:`HANDLING_LEVELS`), for labels and report headers.
HANDLING_LEVEL_NAMES_ZH = {"grid": "网格", "community": "社区", "street": "街道", "district": "区县"}

#: Headers of a handling history (one row per step), by canonical column; compared after
#: :func:`header_key`. In the one-row-per-case shape the level, handler and time headers carry the step
#: number (``level_1``, ``层级1``, ``第2步处置人``, ``时间(3)``).
STEP_COLUMN_WORDS = {
    "case_id": ("case_id", "caseid", "事件编号", "案件编号", "工单编号", "工单号", "事件id", "案件号",
                "事件号",
                "诉求编号", "编号", "id"),
    "step": ("step", "step_no", "步骤", "序号", "环节", "第几步", "流转序号", "处置步骤"),
    "level": ("level", "层级", "级别", "处置层级", "流转层级", "办理层级", "所在层级", "handling_level"),
    "handler": ("handler", "处置人", "处理人", "经办人", "办理人", "承办人", "处置单位", "承办单位",
                "处置部门"),
    "time": ("time", "at", "时间", "处置时间", "流转时间", "办理时间", "到达时间", "转办时间", "流转时间点"),
}

#: Tiered response (分级响应, seed 004): the handling levels each case type may reach. Types are compared
#: after :func:`vocabulary_key`; ``default`` holds for types the table does not name. A TOML file
#: (``[tiers]``, see :class:`gridmap.fieldwork.escalation.TierRules`) replaces rows of it.
TIER_RULES = {
    "default": ("grid", "community", "street", "district"),
    "环境卫生": ("grid", "community", "street"),  # sanitation never needs the district
    "城市管理": ("grid", "community", "street"),
    "民生诉求": ("grid", "community", "street", "district"),
    "矛盾纠纷": ("grid", "community", "street", "district"),
    "治安隐患": ("grid", "community", "street", "district"),
    "安全生产": ("grid", "community", "street", "district"),
    "疫情防控": ("grid", "community", "street", "district"),
}

#: Satisfaction classes (满意度), best first, with their Chinese names.
SATISFACTION_CLASSES = {"satisfied": "满意", "basic": "基本满意", "dissatisfied": "不满意"}
#: Words read as each satisfaction class (compared after :func:`vocabulary_key`).
SATISFACTION_WORDS = {
    **dict.fromkeys(("满意", "非常满意", "很满意", "十分满意", "satisfied", "very satisfied"), "satisfied"),
    **dict.fromkeys(("基本满意", "比较满意", "较满意", "一般", "basically satisfied", "basic", "neutral"),
                    "basic"),
    **dict.fromkeys(("不满意", "非常不满意", "很不满意", "不太满意", "dissatisfied", "unsatisfied",
                     "very dissatisfied"), "dissatisfied"),
}
#: Numeric scores: the scales recognised (a 5-point, 10-point or 100-point score; the smallest that holds
#: every score of a file) and the share of the scale from which a score is 满意 and 基本满意.
SATISFACTION_SCALES = (5, 10, 100)
SATISFACTION_THRESHOLDS = {"satisfied": 0.8, "basic": 0.6}

#: Mediation outcomes (调解结果) with their Chinese names, and the words read as each.
MEDIATION_OUTCOMES = {"success": "调解成功", "failure": "调解失败", "pending": "未结"}
MEDIATION_WORDS = {
    **dict.fromkeys(("成功", "调解成功", "达成协议", "已调解", "化解", "已化解", "success", "succeeded"),
                    "success"),
    **dict.fromkeys(("失败", "调解失败", "未达成协议", "调解不成", "未化解", "failure", "failed"), "failure"),
    **dict.fromkeys(("未结", "调解中", "在调", "进行中", "待调解", "未办结", "pending", "open"), "pending"),
}
#: The three levels of mediation centres (seed 003: 县、乡、村三级矛盾纠纷调解中心(站、点)) and the words
#: read as each (besides the handling level names of :func:`gridmap.cases.normalize_level`).
MEDIATION_LEVELS = {"community": "村(社区)调解点", "street": "乡镇(街道)调解站", "district": "县(区)调解中心"}
MEDIATION_LEVEL_WORDS = {
    **dict.fromkeys(("调解点", "调解室", "村调解点", "社区调解室", "村(社区)调解点", "人民调解委员会",
                     "调委会"),
                    "community"),
    **dict.fromkeys(("调解站", "乡镇调解站", "街道调解站", "乡镇(街道)调解站", "司法所"), "street"),
    **dict.fromkeys(("调解中心", "县调解中心", "区调解中心", "县(区)调解中心", "县级调解中心",
                     "矛盾纠纷调解中心"), "district"),
}
#: Headers of a feedback table (satisfaction and mediation per case), by canonical column.
FEEDBACK_COLUMN_WORDS = {
    "satisfaction": ("satisfaction", "满意度", "满意程度", "评价", "回访评价", "群众评价", "回访结果",
                     "评分"),
    "mediation": ("mediation", "mediation_outcome", "调解结果", "调解情况", "调解结论"),
    "mediation_level": ("mediation_level", "调解层级", "调解级别", "调解机构", "调解组织", "调解地点"),
}

#: Measures of the grid quality index (网格+ 质效评估, seed 002): Chinese name, direction (``higher`` or
#: ``lower`` is better) and default weight. See :mod:`gridmap.stats.quality`.
QUALITY_MEASURES = {
    "response_rate": ("响应率", "higher", 0.15),
    "on_time_closure": ("按期办结率", "higher", 0.15),
    "settled_in_grid": ("网格内化解率", "higher", 0.15),
    "patrol_coverage": ("巡查覆盖率", "higher", 0.15),
    "staffing": ("人员配备完整率", "higher", 0.10),
    "satisfaction": ("满意率", "higher", 0.20),
    "case_density": ("每千人事件数", "lower", 0.10),
}
# --- SECTION: patrol zones around sensitive sites and walking circles (issue 21, fieldwork.zones/circles) ---
# Guilin (seed 003) draws patrol grids (巡控网格) "以治安复杂区和入城口为点，以学校、幼儿园、医院、
# 车站、大型商场等为面"; Nanning (seed 001) plans 15-minute service circles (15分钟服务圈) around its
# service centres.

#: Kinds of sensitive site a patrol zone is drawn around (:func:`gridmap.fieldwork.patrol_zones`).
SITE_KINDS = ("school", "kindergarten", "hospital", "station", "mall", "city_entrance", "complex_area")

#: Default radius of a patrol zone around each kind of site, in metres. No standard publishes these: they
#: are gridmap's defaults (a few minutes' walk around the site; wider around stations, city entrances and
#: complex areas); set a city's own with ``patrol_zones(..., radius={"school": 300})`` or
#: ``gridmap zones --radius 学校=300``.
SITE_RADII_M = {"school": 200.0, "kindergarten": 150.0, "hospital": 200.0, "station": 300.0, "mall": 200.0,
                "city_entrance": 500.0, "complex_area": 300.0}

#: Chinese names of the site kinds (labels, legends and reports).
SITE_KIND_NAMES_ZH = {"school": "学校", "kindergarten": "幼儿园", "hospital": "医院", "station": "车站",
                      "mall": "大型商场", "city_entrance": "入城口", "complex_area": "治安复杂区"}

#: The words read as each site kind, compared after :func:`vocabulary_key`: Chinese first, then English.
#: The unit kinds ``school``, ``hospital``, ``transport_hub`` and ``market`` are among them, so the dedicated
#: sites of a units layer can be given as they are.
SITE_KIND_WORDS = {
    **dict.fromkeys(("学校", "小学", "中学", "初中", "高中", "完全中学", "九年一贯制学校", "大学", "高校",
                     "职业学校", "中职", "技工学校", "教学点", "school", "primary school", "middle school",
                     "university"), "school"),
    **dict.fromkeys(("幼儿园", "托儿所", "托育机构", "kindergarten", "nursery"), "kindergarten"),
    **dict.fromkeys(("医院", "卫生院", "社区卫生服务中心", "卫生服务中心", "社区卫生服务站", "卫生服务站",
                     "卫生室", "妇幼保健院", "门诊部", "诊所", "hospital", "clinic", "health centre"),
                    "hospital"),
    **dict.fromkeys(("车站", "火车站", "汽车站", "客运站", "高铁站", "地铁站", "公交枢纽", "交通枢纽", "码头",
                     "机场", "station", "bus station", "railway station", "transport hub"), "station"),
    **dict.fromkeys(("大型商场", "商场", "购物中心", "商业综合体", "商业街", "商圈", "商圈市场", "市场",
                     "农贸市场", "批发市场", "超市", "mall", "shopping mall", "market"), "mall"),
    **dict.fromkeys(("入城口", "城市出入口", "出入城口", "进城口", "高速出入口", "高速路口", "收费站",
                     "city entrance"), "city_entrance"),
    **dict.fromkeys(("治安复杂区", "治安复杂区域", "治安复杂地区", "复杂区域", "重点区域", "城中村",
                     "complex area", "public order area"), "complex_area"),
}

_SITE_KIND_BY_KEY = {**{vocabulary_key(kind): kind for kind in SITE_KINDS},
                     **{vocabulary_key(word): kind for word, kind in SITE_KIND_WORDS.items()}}

#: Header aliases of the sites and service-centre layers (besides :data:`COLUMN_ALIASES`).
COLUMN_ALIASES.update({
    "场所编号": "site_id", "场所代码": "site_id", "site_id": "site_id",
    "场所名称": "name", "场所类型": "kind", "场所类别": "kind",
    "服务中心编号": "centre_id", "中心编号": "centre_id", "centre_id": "centre_id", "center_id": "centre_id",
    "服务中心名称": "name", "中心名称": "name",
})
#: Site and centre ids are codes: always read as strings.
CODE_COLUMNS = (*CODE_COLUMNS, "site_id", "centre_id")
LAYER_COLUMNS.update({
    "sites": {"site_id": ("unit_id", "code"), "name": (), "kind": ()},
    "centres": {"centre_id": ("unit_id", "code"), "name": ()},
})

#: Walking speed of the walking circles (km/h) and the minutes drawn by default (Nanning's 15-minute circle).
WALK_SPEED_KMH = 4.5
WALK_MINUTES = (5, 10, 15)
#: Walk-off distance (m): how far off a path the area reached along it extends (building entrances set
#: back from the path, crossing a square); a circle is the reached network buffered by it.
WALK_OFF_M = 50.0
#: Unit kinds whose households a walking circle serves and whose units outside every circle are listed.
RESIDENTIAL_KINDS = ("compound", "natural_village")


def site_kind(word: object) -> str | None:
    """Return the site kind a word names (:data:`SITE_KIND_WORDS` or a kind itself), None if unknown.

    Examples
    --------
    >>> site_kind("幼儿园"), site_kind(" 火车站 "), site_kind("City-Entrance"), site_kind("transport_hub")
    ('kindergarten', 'station', 'city_entrance', 'station')
    >>> site_kind("加油站") is None
    True
    """
    if not isinstance(word, str):
        return None
    return _SITE_KIND_BY_KEY.get(vocabulary_key(word))
# ==========================================================================================================
# SECTION: party organisation on the grid and service centres (issue 20; gridmap.people.party, .centres)
# ==========================================================================================================

#: Kinds of party organisation on the grid, Xuanwu's four-level chain from the top down (seed 002:
#: 社区党组织 — 网格党支部 — 楼栋党小组 — 党员中心户). Nanning sets up "a branch or a party group on each
#: grid" (seed 001: 将党支部或党小组建在网格上), alone or jointly for several grids (seed 000:
#: 单独组建、联合组建), so a grid's 党小组 and a joint branch are grid branches too.
PARTY_KINDS = ("community_committee", "grid_branch", "building_group", "member_household")

#: Chinese names of :data:`PARTY_KINDS`.
PARTY_KIND_NAMES_ZH = {"community_committee": "社区党组织", "grid_branch": "网格党支部",
                       "building_group": "楼栋党小组", "member_household": "党员中心户"}

#: The words read as each party kind (compared after :func:`vocabulary_key`).
PARTY_KIND_WORDS = {
    **dict.fromkeys(("社区党组织", "社区党委", "社区党总支", "社区党支部", "社区大党委", "村党组织", "村党委",
                     "村党总支", "村党支部", "community committee", "community party committee"),
                    "community_committee"),
    **dict.fromkeys(("网格党支部", "网格支部", "网格党小组", "联合党支部", "网格联合党支部", "grid branch",
                     "grid party branch"), "grid_branch"),
    **dict.fromkeys(("楼栋党小组", "楼门党小组", "楼道党小组", "楼栋党支部", "楼栋小组", "building group",
                     "building party group"), "building_group"),
    **dict.fromkeys(("党员中心户", "党员示范户", "member household", "party member household"),
                    "member_household"),
}

#: The largest member count a party organisation may give (more is a typing error, not a branch).
PARTY_MEMBERS_MAX = 100_000

#: Header aliases of a party organisation table (they win over :data:`COLUMN_ALIASES`): ``branch_id``,
#: ``name``, ``kind``, ``grid_code`` (one code, or several for a joint branch), ``building_code``,
#: ``community_code``, ``members``.
PARTY_ALIASES: dict[str, str | None] = {
    **dict.fromkeys(("编号", "组织编号", "支部编号", "branch_id", "id"), "branch_id"),
    **dict.fromkeys(("党组织名称", "支部名称", "组织名称", "党组织", "党支部名称", "名称", "name"), "name"),
    **dict.fromkeys(("组织类型", "党组织类型", "类型", "层级", "组织层级", "kind"), "kind"),
    **dict.fromkeys(("所在网格", "所属网格", "网格", "网格编码", "grid_code", "grid_codes"), "grid_code"),
    **dict.fromkeys(("楼栋编号", "楼栋代码", "楼栋号", "楼栋", "building", "building_code", "building_id"),
                    "building_code"),
    **dict.fromkeys(("党员数", "党员人数", "党员数量", "党员", "members", "party_members"), "members"),
}

#: Kinds of service centre (党群服务中心 and the like; seed 001 names the community and compound ones).
CENTRE_KINDS = ("community_centre", "compound_centre", "street_centre", "regional_centre", "grid_station")

#: Chinese names of :data:`CENTRE_KINDS`.
CENTRE_KIND_NAMES_ZH = {"community_centre": "社区党群服务中心", "compound_centre": "小区党群服务中心",
                        "street_centre": "街道党群服务中心", "regional_centre": "区域性党群服务中心",
                        "grid_station": "网格党群服务站"}

#: The words read as each centre kind (compared after :func:`vocabulary_key`).
CENTRE_KIND_WORDS = {
    **dict.fromkeys(("社区党群服务中心", "社区服务用房", "社区综合服务设施", "社区服务中心",
                     "社区综合服务中心", "村党群服务中心", "村级综合服务中心", "community centre",
                     "community center", "community service centre"), "community_centre"),
    **dict.fromkeys(("小区党群服务中心", "居民小区党群服务中心", "小区党群服务站", "小区服务用房",
                     "compound centre", "compound center"), "compound_centre"),
    **dict.fromkeys(("街道党群服务中心", "乡镇党群服务中心", "street centre", "street center"),
                    "street_centre"),
    **dict.fromkeys(("区域性党群服务中心", "楼宇党群服务中心", "园区党群服务中心", "商圈党群服务中心",
                     "regional centre", "regional center"), "regional_centre"),
    **dict.fromkeys(("网格党群服务站", "网格工作站", "党群服务站", "微幸福服务站", "grid station"),
                    "grid_station"),
}

#: Floor-area standards of seed 001 (Nanning): every urban community's service space ≥ 500 m², every
#: compound's party-and-people service centre ≥ 300 m², new compounds ≥ 30 m² per 100 households; and the
#: default straight-line distance (m) a household may live from the nearest centre (see
#: :mod:`gridmap.people.centres` for why 1,000 m stands for the "15-minute" circle).
CENTRE_STANDARDS = {"community_m2": 500.0, "compound_m2": 300.0, "new_compound_m2_per_100_households": 30.0,
                    "max_distance_m": 1000.0}

#: The largest floor area (m²) a centre may give; more is a unit mistake (a site area, cm²), not a centre.
FLOOR_AREA_MAX_M2 = 100_000.0

#: Header aliases of a service-centre layer (they win over :data:`COLUMN_ALIASES`).
CENTRE_ALIASES: dict[str, str | None] = {
    **dict.fromkeys(("编号", "中心编号", "centre_id", "center_id", "id"), "centre_id"),
    **dict.fromkeys(("中心名称", "阵地名称", "名称", "name"), "name"),
    **dict.fromkeys(("类型", "中心类型", "阵地类型", "kind"), "kind"),
    **dict.fromkeys(("面积", "建筑面积", "使用面积", "服务用房面积", "用房面积", "面积(m2)", "面积(平方米)",
                     "建筑面积(m2)", "建筑面积(平方米)", "floor_area", "floor_area_m2", "area_m2"),
                    "floor_area_m2"),
    **dict.fromkeys(("小区编号", "所在小区编号", "小区代码", "compound_id"), "unit_id"),
}

#: Headers of a units layer read as ``new`` (a newly built compound, held to the per-household standard).
NEW_COMPOUND_HEADERS = ("new", "new_compound", "新建", "是否新建", "新建小区")

_PARTY_BY_KEY = {**{vocabulary_key(kind): kind for kind in PARTY_KINDS},
                 **{vocabulary_key(word): kind for word, kind in PARTY_KIND_WORDS.items()}}
_CENTRE_BY_KEY = {**{vocabulary_key(kind): kind for kind in CENTRE_KINDS},
                  **{vocabulary_key(word): kind for word, kind in CENTRE_KIND_WORDS.items()}}


def party_kind(word: object) -> str | None:
    """Return the party kind a word names (:data:`PARTY_KIND_WORDS` or a kind itself), None if unknown.

    Examples
    --------
    >>> party_kind("网格党支部"), party_kind(" 楼门党小组 "), party_kind("Grid_Branch"), party_kind("工会")
    ('grid_branch', 'building_group', 'grid_branch', None)
    """
    return _PARTY_BY_KEY.get(vocabulary_key(word)) if isinstance(word, str) else None


def centre_kind(word: object) -> str | None:
    """Return the centre kind a word names (:data:`CENTRE_KIND_WORDS` or a kind itself), None if unknown.

    Examples
    --------
    >>> centre_kind("社区服务用房"), centre_kind("小区党群服务中心"), centre_kind("compound-centre")
    ('community_centre', 'compound_centre', 'compound_centre')
    """
    return _CENTRE_BY_KEY.get(vocabulary_key(word)) if isinstance(word, str) else None
# ==========================================================================================================
# SECTION people: roster roles, levels and party membership (issue 20; read by gridmap.people)
# ==========================================================================================================

#: The roles of a roster (:func:`gridmap.people.read_roster`): the "1+1+1+N" :data:`STAFF_ROLES` first, then
#: the other posts the seeds name (003: micro-grid workers, 双长, three levels of 网格长, 辅警, 法律明白人;
#: 004: volunteers; 000: doctors and police as 定岗 members).
ROSTER_ROLES = (*STAFF_ROLES, "micro_worker", "building_head", "party_leader", "order_leader",
                "district_leader", "street_leader", "village_leader", "auxiliary_police", "legal_helper",
                "volunteer", "doctor", "police")

#: The Chinese name of each role (what reports and maps show; a roster may use it too).
ROLE_NAMES_ZH = {
    "instructor": "网格指导员", "leader": "网格长", "full_time": "专职网格员", "member": "兼职/定岗网格员",
    "micro_worker": "微网格员", "building_head": "楼栋长", "party_leader": "党建网格长",
    "order_leader": "综治网格长", "district_leader": "县(区)级网格长", "street_leader": "乡镇(街道)级网格长",
    "village_leader": "村(社区)级网格长", "auxiliary_police": "辅警", "legal_helper": "法律明白人",
    "volunteer": "志愿者", "doctor": "医生(定岗)", "police": "民警(定岗)",
}

#: Other words read as each role (besides the key and :data:`ROLE_NAMES_ZH`), compared after
#: :func:`vocabulary_key` (full-width → half-width, blanks, ``_`` and ``-`` dropped, lower case).
ROLE_ALIASES = {
    **dict.fromkeys(("指导员", "grid instructor"), "instructor"),
    **dict.fromkeys(("grid leader", "基础网格长"), "leader"),
    **dict.fromkeys(("专职", "专职化网格员", "全职网格员", "grid worker", "fulltime"), "full_time"),
    **dict.fromkeys(("兼职网格员", "定岗网格员", "网格员", "定岗", "兼职", "grid member", "part time"),
                    "member"),
    **dict.fromkeys(("微网格长", "micro grid worker"), "micro_worker"),
    **dict.fromkeys(("楼长", "楼门长", "单元长", "楼栋负责人"), "building_head"),
    **dict.fromkeys(("党建网格员",), "party_leader"),
    **dict.fromkeys(("综治网格员", "public order leader"), "order_leader"),
    **dict.fromkeys(("县级网格长", "区级网格长", "城区级网格长", "一级网格长", "county leader"),
                    "district_leader"),
    **dict.fromkeys(("乡镇级网格长", "街道级网格长", "二级网格长", "township leader"), "street_leader"),
    **dict.fromkeys(("村级网格长", "社区级网格长", "三级网格长"), "village_leader"),
    **dict.fromkeys(("协警", "村辅警", "auxiliary police officer"), "auxiliary_police"),
    **dict.fromkeys(("legal aware resident",), "legal_helper"),
    **dict.fromkeys(("网格志愿者", "楼栋志愿者", "社区志愿者"), "volunteer"),
    **dict.fromkeys(("医生", "医护人员", "家庭医生", "医务人员", "定岗医生"), "doctor"),
    **dict.fromkeys(("民警", "社区民警", "公安干警", "警察", "定岗民警", "police officer"), "police"),
}

#: The levels a person serves at (the unit their ``unit_code`` names), from the largest unit down.
ROSTER_LEVELS = (*LEVELS, "grid", "micro", "building")
#: Chinese names of the roster levels.
ROSTER_LEVEL_NAMES_ZH = {"district": "城区/县", "street": "街道/乡镇", "community": "社区/村", "grid": "网格",
                         "micro": "微网格", "building": "楼栋", "city": "市"}
#: Words read as each level of people (:data:`ROSTER_LEVELS` and ``city``, the liaison tables' top level).
PEOPLE_LEVEL_WORDS = {
    **LEVEL_WORDS,
    **dict.fromkeys(("市", "市级", "地级市", "全市", "市级领导", "市领导", "city"), "city"),
    **dict.fromkeys(("县级", "区级", "城区级", "县(区)级", "县(市、区)", "城区领导", "区领导", "县领导",
                     "county"), "district"),
    **dict.fromkeys(("乡镇级", "街道级", "乡镇(街道)", "乡镇(街道)级", "街道领导", "乡镇领导", "township",
                     "town"), "street"),
    **dict.fromkeys(("村级", "社区级", "村(社区)", "村(社区)级", "社区领导", "村领导", "社区干部", "village"),
                    "community"),
    **dict.fromkeys(("网格", "网格级", "基础网格", "grid"), "grid"),
    **dict.fromkeys(("微网格", "micro", "micro grid", "microgrid"), "micro"),
    **dict.fromkeys(("楼栋", "楼宇", "楼门", "单元", "building"), "building"),
}

#: The levels each role serves at; the first is assumed when a roster gives no level.
ROLE_LEVELS = {
    **dict.fromkeys(STAFF_ROLES, ("grid",)),
    "micro_worker": ("micro",), "building_head": ("building",),
    "party_leader": ("community", "grid"), "order_leader": ("community", "grid"),
    "district_leader": ("district",), "street_leader": ("street",), "village_leader": ("community",),
    "auxiliary_police": ("community", "grid"), "legal_helper": ("community", "grid"),
    "volunteer": ("community", *ROSTER_LEVELS), "doctor": ("grid", "community"),
    "police": ("grid", "community"),
}

#: The 网格长 of each administrative level (003: 县、乡、村三级网格长): a ``leader`` a roster lists at one of
#: these levels is read as that level's leader.
LEVEL_LEADERS = {"district": "district_leader", "street": "street_leader", "community": "village_leader"}

#: Words read as party membership (政治面貌 or 是否党员), compared after :func:`vocabulary_key`.
PARTY_WORDS = {
    **dict.fromkeys(("是", "党员", "中共党员", "中国共产党党员", "预备党员", "中共预备党员", "正式党员",
                     "yes", "y", "true", "t", "1", "√", "✓"), True),
    **dict.fromkeys(("否", "不是", "群众", "非党员", "共青团员", "团员", "民主党派", "无党派", "无党派人士",
                     "no", "n", "false", "f", "0", "×", "✗"), False),
}

#: The columns :func:`gridmap.people.read_roster` returns, in this order (other columns follow).
ROSTER_COLUMNS = ("person_id", "name", "role", "level", "unit_code", "party_member", "phone")

#: Header aliases of rosters and liaison tables; they win over :data:`COLUMN_ALIASES` when a roster is
#: read (a roster's 编号 is a person's id, not a unit id).
ROSTER_HEADERS = {
    **dict.fromkeys(("人员编号", "人员id", "人员代码", "工号", "编号", "序号id", "id", "person_id",
                     "personid"), "person_id"),
    **dict.fromkeys(("姓名", "名字", "人员姓名", "name"), "name"),
    **dict.fromkeys(("角色", "岗位", "职务", "职位", "身份", "人员类别", "role"), "role"),
    **dict.fromkeys(("层级", "级别", "所在层级", "level"), "level"),
    **dict.fromkeys(("单位编码", "服务单元编码", "所在单位编码", "服务单位编码", "负责单元编码", "unit_code"),
                    "unit_code"),
    **dict.fromkeys(("是否党员", "政治面貌", "党员", "party_member", "party"), "party_member"),
    **dict.fromkeys(("电话", "联系电话", "手机", "手机号", "手机号码", "联系方式", "phone", "tel", "mobile"),
                    "phone"),
    **dict.fromkeys(("联系单位", "联系对象", "包联单位", "挂点单位", "联系网格", "联系社区", "联系街道",
                     "linked", "links", "linked_codes", "linked_code"), "linked_codes"),
}

#: The levels of the liaison chain (004: 市—城区—街道(乡镇)—社区), from the top.
LIAISON_LEVELS = ("city", *LEVELS)
#: The units each level of leaders must all be linked to (004: 市级全覆盖联系街道、城区全覆盖联系社区、
#: 街道(乡镇)和社区全覆盖联系网格).
LIAISON_COVERS = {"city": "street", "district": "community", "street": "grid", "community": "grid"}

_ROLE_BY_KEY = {vocabulary_key(word): role
                for role in ROSTER_ROLES for word in (role, ROLE_NAMES_ZH[role])}
_ROLE_BY_KEY.update({vocabulary_key(word): role for word, role in ROLE_ALIASES.items()})
_PEOPLE_LEVEL_BY_KEY = {vocabulary_key(word): level for word, level in PEOPLE_LEVEL_WORDS.items()}
_PEOPLE_LEVEL_BY_KEY.update({vocabulary_key(level): level for level in (*ROSTER_LEVELS, "city")})
_PARTY_MEMBER_BY_KEY = {vocabulary_key(word): value for word, value in PARTY_WORDS.items()}


def roster_role(word: object) -> str | None:
    """Return the role a word names (a key, its Chinese name or an alias), None if unknown.

    Examples
    --------
    >>> [roster_role(word) for word in ("兼职网格员", "定岗网格员", " 网 格 长 ", "ＬＥＡＤＥＲ")]
    ['member', 'member', 'leader', 'leader']
    >>> roster_role("县（区）级网格长"), roster_role("保安")
    ('district_leader', None)
    """
    if not isinstance(word, str):
        return None
    return _ROLE_BY_KEY.get(vocabulary_key(word))


def people_level(word: object) -> str | None:
    """Return the level a word names (:data:`PEOPLE_LEVEL_WORDS` or a level itself), None if unknown.

    Examples
    --------
    >>> people_level("街道"), people_level("村（社区）级"), people_level("Micro-Grid"), people_level("组")
    ('street', 'community', 'micro', None)
    """
    if not isinstance(word, str):
        return None
    return _PEOPLE_LEVEL_BY_KEY.get(vocabulary_key(word))


def party_membership(word: object) -> bool | None:
    """Return whether a value says "party member" (:data:`PARTY_WORDS`, 1/0, True/False); None if blank.

    Raises ``KeyError`` for a value that says neither (the roster reader names its row).

    Examples
    --------
    >>> [party_membership(v) for v in ("中共党员", "群众", 1, 0.0, " ", "是", "否")]
    [True, False, True, False, None, True, False]
    """
    if word is None or (isinstance(word, float) and word != word):
        return None
    if isinstance(word, bool) or (isinstance(word, (int, float)) and word in (0, 1)):
        return bool(word)
    key = vocabulary_key(str(word))
    if not key or key in ("nan", "<na>", "none"):
        return None
    return _PARTY_MEMBER_BY_KEY[key]


# === SECTION: patrols (巡查, issue 21; the patrols helper's) ===============================================
# Patrol records, read by gridmap.fieldwork.patrol_records: check-ins (打卡) and GPS tracks (轨迹).

#: The two shapes of patrol records: check-ins (a worker at a grid or a point at a time) and GPS tracks
#: (a worker's positions over time).
PATROL_KINDS = ("checkins", "tracks")

#: Header aliases of patrol records (compared like :func:`header_key`); they win over
#: :data:`COLUMN_ALIASES` when patrol records are read. 经度/纬度 (lon/lat) and 网格编码 (grid_code) come from
#: :data:`COLUMN_ALIASES`. A worker named only by name (巡查员, 姓名) is told apart by that name.
PATROL_ALIASES = {
    **dict.fromkeys(("person_id", "人员编号", "人员id", "工号", "网格员编号", "巡查员编号", "巡查人员编号",
                     "worker_id", "staff_id"), "person_id"),
    **dict.fromkeys(("person_name", "巡查员", "巡查人", "巡查人员", "网格员", "姓名", "人员", "人员姓名",
                     "worker"), "person_name"),
    **dict.fromkeys(("time", "时间", "巡查时间", "打卡时间", "定位时间", "采集时间", "记录时间", "上报时间",
                     "gps时间", "时刻", "timestamp", "datetime", "gps_time"), "time"),
    **dict.fromkeys(("打卡网格", "巡查网格", "网格编码", "网格代码", "grid_code", "grid"), "grid_code"),
    **dict.fromkeys(("own_grid", "所属网格", "责任网格", "本人网格", "所属网格编码"), "own_grid"),
    **dict.fromkeys(("coord_system", "坐标系", "坐标系统", "坐标类型", "coords"), "coord_system"),
    "编号": None, "id": None,  # a record number, not a unit id
}

#: Words of a ``coord_system`` column (坐标系) and the coordinate system each names (compared after
#: :func:`vocabulary_key`).
PATROL_COORD_WORDS = {
    **dict.fromkeys(("wgs84", "wgs-84", "gps", "wgs"), "wgs84"),
    **dict.fromkeys(("cgcs2000", "2000", "国家2000", "cgcs"), "cgcs2000"),
    **dict.fromkeys(("gcj02", "gcj-02", "高德", "腾讯", "火星", "火星坐标", "amap"), "gcj02"),
    **dict.fromkeys(("bd09", "bd-09", "百度", "baidu"), "bd09"),
}

#: Chinese headers of the patrol tables (gridmap.fieldwork.patrols.PatrolSummary), for workbooks and maps.
PATROL_HEADERS_ZH = {
    "code": "网格编码", "period": "周期", "patrols": "巡查次数", "required": "应巡查次数",
    "done_rate": "完成率", "units": "单元数", "units_passed": "途经单元数", "coverage": "覆盖率",
    "longest_gap_h": "最长间隔(小时)", "last_patrol": "最近巡查", "idle_days": "未巡查天数",
    "workers": "巡查人数", "records": "记录数", "minutes": "巡查时长(分钟)", "own_share": "本网格员在格率",
    "label": "说明", "person_id": "人员编号", "own_grids": "所属网格", "own_from": "所属网格来源",
    "minutes_inside": "格内时长(分钟)", "minutes_outside": "格外时长(分钟)", "share_inside": "在格率",
    "records_inside": "格内记录数", "records_outside": "格外记录数", "day": "日期", "points": "轨迹点数",
    "length_m": "长度(米)",
}
