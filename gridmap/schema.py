"""The data model: layer names, column names, allowed values and the header aliases readers accept.

gridmap's layers (see README, "Data model"):

* admin units — ``code`` (string of 6, 9 or 12 digits), ``name``, ``level`` (district / street /
  community), ``parent_code``, ``kind`` (urban / rural / other, for communities), polygon;
* base units — ``unit_id``, ``name``, ``kind`` (one of :data:`UNIT_KINDS`), ``households``,
  ``population``, ``buildings``, optional ``community_code``, point or polygon;
* grids, staff and cases — added by :mod:`gridmap.division`, :mod:`gridmap.stats.staffing`,
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
CODE_COLUMNS = (
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
