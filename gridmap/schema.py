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

__all__ = [
    "LEVELS",
    "CODE_LENGTHS",
    "UNIT_KINDS",
    "DEDICATED_KINDS",
    "STAFF_ROLES",
    "HANDLING_LEVELS",
    "SUMMARY_LEVELS",
    "PERIODS",
    "COLUMN_ALIASES",
    "CODE_COLUMNS",
    "COUNT_COLUMNS",
    "LABELS_ZH",
]

#: Administrative levels gridmap models, from the largest down, with the length of their codes.
LEVELS = ("district", "street", "community")
CODE_LENGTHS = {"province": 2, "city": 4, "district": 6, "street": 9, "community": 12}

#: Kinds of base unit. The five dedicated kinds form dedicated grids (专属网格).
DEDICATED_KINDS = ("office_building", "industrial_park", "market", "school", "hospital")
UNIT_KINDS = ("compound", "natural_village", *DEDICATED_KINDS, "other")

#: The "1+1+1+N" roles of grid staff.
STAFF_ROLES = ("instructor", "leader", "full_time", "member")

#: Where a case was settled: 小事不出网格、大事不出社区、难事不出街道.
HANDLING_LEVELS = ("grid", "community", "street", "district")

#: Levels a summary can be made at, finest first (the grid, then the admin levels above it).
SUMMARY_LEVELS = ("grid", "community", "street", "district")

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

#: Chinese labels for model values, used in maps, legends and reports.
LABELS_ZH = {
    "district": "城区/县", "street": "街道/乡镇", "community": "社区/村",
    "urban": "城市", "rural": "农村", "other": "其他",
    "compound": "住宅小区", "natural_village": "自然村/屯", "office_building": "商务楼宇",
    "industrial_park": "产业园区", "market": "商圈市场", "school": "学校", "hospital": "医院",
    "city": "城市网格", "dedicated": "专属网格",
    "households": "户数", "population": "人口", "buildings": "楼栋数",
    "instructor": "网格指导员", "leader": "网格长", "full_time": "专职网格员", "member": "定岗网格员",
    "grid": "网格", "code": "编码", "name": "名称", "kind": "类型",
}
