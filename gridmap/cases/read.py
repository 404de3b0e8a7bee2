r"""Cases (事件/案件/病例): read them from any file and clean them.

A case is a resident's request, an incident or an epidemic case, reported at a place and time, perhaps
accepted (接单), perhaps closed (办结) at some level of the hierarchy ("小事不出网格、大事不出社区、难事不出
街道、矛盾不上交": grid, community, street or district). One row may stand for several cases (``count``).

* :func:`read_cases` reads CSV, Excel, GeoJSON, GeoPackage or GeoParquet with coordinates in WGS84,
  CGCS2000, GCJ-02 (Amap) or BD-09 (Baidu), or with a compound's name or id instead of coordinates;
* :func:`clean_cases` normalises an in-memory frame the same way (levels in Chinese or English, statuses,
  times, counts) and flags impossible times (``times_ok``);
* :func:`gridmap.cases.assign` then puts every case in one grid, fast and exactly.

Times are read by one rule, whatever mix a column holds: a time with a zone (``2024-05-01T08:00+08:00``,
``2024-05-01T00:00Z``, ``-05:00``) is converted to Beijing time (Asia/Shanghai: UTC+8, UTC+9 in the
summers of 1986–1991); a time without a zone (``2024-05-01 08:00``, ``2024/5/1 8:00``, ``2024年5月1日 8:00``)
is taken as Beijing time already; a bare number from 1 to 109,575 is an Excel serial date (days since
1899-12-30). The result is naive Beijing time. A value that is none of these is reported (``bad_time``) and
left missing. Coordinates that are not finite numbers (``inf``, ``nan``, text) and counts that are not whole
numbers from 0 to :data:`MAX_COUNT` are reported by row and left missing; the rest of the case is kept.

Every problem is reported by record in a :class:`~gridmap.findings.Report` (pass ``report=`` to collect
them) and summarised in one :class:`~gridmap.errors.GridmapWarning`; ``strict=True`` raises
:class:`~gridmap.errors.CaseError` instead.
"""

from __future__ import annotations

import logging
import os
import unicodedata
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.cases.address import match_addresses
from gridmap.crs import convert_frame, normalize_crs
from gridmap.errors import CaseError, CRSError, GridmapWarning, SchemaError
from gridmap.findings import Report
from gridmap.io import read_layer, read_table
from gridmap.io._columns import COORDS_ATTR, agreed_coords
from gridmap.io.read import SOURCE
from gridmap.schema import HANDLING_LEVELS

__all__ = ["read_cases", "clean_cases", "normalize_level", "CASE_COLUMNS", "LEVEL_NAMES",
           "rename_case_columns", "points_from_table", "as_text", "parse_times"]

logger = logging.getLogger(__name__)

#: The columns of a clean case frame (before the geometry); ``times_ok`` is False for impossible times.
CASE_COLUMNS = ["case_id", "reported_at", "accepted_at", "closed_at", "category", "status", "level", "count",
                "times_ok"]

#: Names accepted for the handling levels (compared after NFKC, blanks removed, lower case, "级" dropped).
LEVEL_NAMES = {
    "grid": ("grid", "网格", "微网格"),
    "community": ("community", "社区", "村", "社区/村", "居委会", "村委会", "社区居委会", "村居"),
    "street": ("street", "township", "town", "街道", "乡镇", "镇", "乡", "街道/乡镇", "街镇"),
    "district": ("district", "county", "区县", "区", "县", "城区", "县级市", "区/县", "城区/县", "县区",
                 "区级"),
}
_LEVEL_LOOKUP = {name: level for level, names in LEVEL_NAMES.items() for name in names}

_STATUS_NAMES = {
    "closed": ("closed", "close", "done", "finished", "办结", "已办结", "结案", "已结案", "完成", "已完成",
               "关闭", "已关闭", "已处理", "处理完毕", "已办理"),
    "open": ("open", "pending", "inprogress", "办理中", "处理中", "待处理", "未办结", "待受理", "已受理",
             "受理", "在办", "未处理", "处置中", "待办"),
}
_STATUS_LOOKUP = {name: status for status, names in _STATUS_NAMES.items() for name in names}

# Case headers gridmap.schema does not know (compared like header_key: NFKC, no blanks, lower case).
_CASE_ALIASES = {
    "case_id": ("case_id", "caseid", "事件编号", "案件编号", "工单编号", "工单号", "事件id", "案件号",
                "事件号",
                "病例编号", "诉求编号"),
    "reported_at": ("reported_at", "reported", "上报时间", "报告时间", "登记时间", "立案时间", "发生时间",
                    "反映时间", "来电时间"),
    "accepted_at": ("accepted_at", "accepted", "受理时间", "接单时间", "签收时间"),
    "closed_at": ("closed_at", "closed", "办结时间", "结案时间", "完成时间", "关闭时间"),
    "category": ("category", "事件类型", "事件类别", "案件类型", "案件类别", "诉求类型", "分类"),
    "status": ("status", "状态", "办理状态", "处理状态", "事件状态", "办结状态"),
    "level": ("办结层级", "处置层级", "办结级别", "处置层级", "办理层级", "handled_level", "handling_level"),
    "count": ("count", "数量", "件数", "病例数", "事件数", "案件数"),
    "unit_name": ("unit_name", "小区", "所在小区", "所属小区", "小区名", "单元", "所在单元"),
    "unit_id": ("unit_id", "单位编号", "小区编号", "单元编号"),  # named explicitly in a case list
}
_CASE_LOOKUP = {alias: column for column, aliases in _CASE_ALIASES.items() for alias in aliases}
# Headers that are the case id when no header above names it (a 12345 export's 编号), never a unit id.
_GENERIC_CASE_IDS = ("编号", "id")
# What the case reader tells read_table / read_layer: its own aliases win over gridmap.schema's.
_READER_ALIASES = {**dict.fromkeys(_GENERIC_CASE_IDS), **{a: "unit_id" for a in _CASE_ALIASES["unit_id"]}}
_TABLES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls")
_COORDS = ("wgs84", "cgcs2000", "gcj02", "bd09")
_TIMES = ("reported_at", "accepted_at", "closed_at")
#: The time zone every case time is given in once read: naive times are taken as Beijing time.
BEIJING = "Asia/Shanghai"
_ZONE = r"(?i)\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:z|utc|gmt|[+-]\d\d(?::?\d\d)?)$"  # a time ending in a zone
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # Excel's day 0 (its 1900 date system, leap-year bug included)
#: The largest ``count`` one record may stand for; larger counts (``1e30``) are reported as mistakes.
MAX_COUNT = 1_000_000
_EXCEL_LAST_SERIAL = 109_575  # 2199-12-31: larger bare numbers are not taken for dates
# Text columns: pandas' "str" from pandas 3 on, object before (where "str" turns NA into "nan").
_STR = "str" if int(pd.__version__.split(".")[0]) >= 3 else object


def _key(text: object) -> str:
    """Compare headers and values as gridmap's readers do: NFKC, blanks removed, lower case."""
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).lower()


def normalize_level(value: object) -> str | None:
    """Return the handling level named by ``value`` (grid / community / street / district), or None.

    Chinese names are accepted (网格, 社区, 村, 街道, 乡镇, 区县, 区, 县 …), with or without a final 级.
    Missing values give None; unknown names raise :class:`~gridmap.errors.CaseError` (a ``ValueError``).

    Examples
    --------
    >>> normalize_level("网格"), normalize_level("街道级"), normalize_level(" District ")
    ('grid', 'street', 'district')
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)) or not str(value).strip():
        return None
    key = _key(value)
    level = _LEVEL_LOOKUP.get(key) or (_LEVEL_LOOKUP.get(key[:-1]) if key.endswith("级") else None)
    if level is None:
        raise CaseError(f"unknown handling level {value!r}",
                        fix=f"give one of {', '.join(HANDLING_LEVELS)} or 网格/社区/街道/区县")
    return level


# --- reading --------------------------------------------------------------------------------------------

def read_cases(path: str | os.PathLike, *, coords: str | None = None, units: gpd.GeoDataFrame | None = None,
               address: str | None = None, admin_names: Iterable[str] = (), layer: str | None = None,
               crs: object = None, encoding: str | None = None, strict: bool = False,
               report: Report | None = None) -> gpd.GeoDataFrame:
    r"""Read a case list and locate every case, by coordinates, the compound it names or its address.

    Parameters
    ----------
    path : str or os.PathLike
        CSV/TSV, Excel, GeoJSON, GeoPackage or GeoParquet. Headers in Chinese or English: 事件编号/case_id,
        上报时间/reported_at, 受理时间/accepted_at, 办结时间/closed_at, 事件类型/category, 状态/status,
        办结层级/level (网格/社区/街道/区县 or grid/community/street/district), 数量/count, coordinates
        (经度/纬度, lon/lat) and, instead of coordinates, 小区/unit_name or 单位编号/小区编号/unit_id (a
        case list's ``编号`` is its case id).
    coords : {"wgs84", "cgcs2000", "gcj02", "bd09"}, optional
        What the coordinates really are. GCJ-02 (Amap, Tencent) and BD-09 (Baidu) are shifted to WGS84.
    units : geopandas.GeoDataFrame, optional
        Base units (``unit_id``, ``name``, geometry). A case without coordinates is put at the
        representative point of the unit whose id (column ``unit_id``) or name (``unit_name``, else
        ``name``) it gives. Names that match no unit or several units are reported by record.
    address : str, optional
        Column of the file holding each case's address or compound name (地址, 发生地址, 小区 …): cases
        still without a point are matched to ``units`` as the gazetteer (names, 别名 aliases, 地址) by
        :func:`gridmap.cases.address.match_addresses`, which adds ``address_match``, ``address_score`` and
        ``match_kind``; ambiguous and unmatched addresses are reported, never assigned.
    admin_names : iterable of str, optional
        District, street or community names to strip from the start of addresses (e.g. the ``name``
        column of the communities), besides the ``区``/``街道`` names the units carry.
    layer : str, optional
        Layer of a GeoPackage or sheet of a workbook.
    crs : optional
        CRS of coordinates in metres, or of a file that declares none (see :func:`gridmap.io.read_layer`).
    encoding : str, optional
        Text encoding of a CSV that is neither UTF-8 nor GBK/GB18030.
    strict : bool, default False
        Raise :class:`~gridmap.errors.CaseError` for the first bad record instead of reporting it.
    report : gridmap.Report, optional
        Findings are added to it (one row per bad record: no location, unknown or ambiguous unit or
        address, times out of order, unknown level, unreadable time or count).

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :data:`CASE_COLUMNS` first, then the file's other columns, ``located_by``
        (coordinates / unit_id / unit_name / address, NA for cases without location) and a point
        geometry (None when a case cannot be located) in EPSG:4326 or EPSG:4490.

    Raises
    ------
    ReadError, SchemaError, CRSError
        Unreadable file, bad headers, implausible coordinates.
    CaseError
        In strict mode, the first bad record.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cases.csv"
    >>> _ = path.write_text("事件编号,上报时间,办结时间,办结层级,经度,纬度\n"
    ...                     "E1,2025-03-01 09:00,2025-03-01 17:30,网格,108.3200,22.8200\n", encoding="utf-8")
    >>> cases = read_cases(path, coords="wgs84")
    >>> cases.loc[0, ["case_id", "status", "level"]].tolist(), int(cases.loc[0, "count"])
    (['E1', 'closed', 'grid'], 1)
    >>> cases.crs.to_epsg(), cases.geometry[0].x
    (4326, 108.32)
    """
    path = Path(path)
    findings = Report(f"cases {path.name}")
    if coords is not None and coords not in _COORDS:
        raise CRSError(f"coords={coords!r} is not a coordinate system gridmap knows", path=path,
                       fix=f"pass coords= one of {', '.join(map(repr, _COORDS))}")
    if path.suffix.lower() in _TABLES:
        table = rename_case_columns(read_table(path, sheet=layer, encoding=encoding, aliases=_READER_ALIASES),
                              path=path)
        frame = points_from_table(table, coords=coords, crs=crs, path=path, report=findings)
    else:
        frame = rename_case_columns(read_layer(path, layer, coords=coords, crs=crs, encoding=encoding,
                                         aliases=_READER_ALIASES), path=path)
        has_point = frame.geometry.notna() & ~frame.geometry.is_empty
        # numpy's type stubs refuse None as the fill value
        located_by = np.where(has_point, "coordinates", None)  # type: ignore[call-overload]
        frame["located_by"] = pd.Series(located_by, index=frame.index, dtype=_STR)
    frame = _locate_by_units(frame, units, report=findings, path=path)
    if address is not None:
        frame = _locate_by_address(frame, units, address, admin_names, report=findings, path=path)
    return clean_cases(frame, strict=strict, report=report, path=path, _findings=findings)


def rename_case_columns(frame: pd.DataFrame, *, path: str | os.PathLike | None) -> pd.DataFrame:
    """Rename case headers (事件编号, 上报时间, …) to model names; 类别/类型 (``kind``) is the category.

    ``编号`` or ``id`` is the case id when no other header names it. Two headers meaning one name raise
    :class:`~gridmap.errors.SchemaError` naming ``path``.

    Examples
    --------
    >>> import pandas as pd
    >>> rename_case_columns(pd.DataFrame(columns=["编号", "上报时间", "kind"]), path=None).columns.tolist()
    ['case_id', 'reported_at', 'category']
    """
    mapping: dict[str, str] = {}
    for column in frame.columns:
        target = _CASE_LOOKUP.get(_key(column))
        if target is None or column == target:
            continue
        if target in frame.columns or target in mapping.values():
            raise SchemaError(f"columns {column!r} and {target!r} both mean {target!r}", path=path,
                              fix="rename or delete one of them")
        mapping[column] = target
    if "case_id" not in frame.columns and "case_id" not in mapping.values():
        generic = [c for c in frame.columns if _key(c) in _GENERIC_CASE_IDS]
        if len(generic) == 1:
            mapping[generic[0]] = "case_id"
    frame = frame.rename(columns=mapping)
    if "category" not in frame.columns and "kind" in frame.columns:
        frame = frame.rename(columns={"kind": "category"})
    return frame


def points_from_table(table: pd.DataFrame, *, coords: str | None, crs: object,
                      path: str | os.PathLike | None, report: Report) -> gpd.GeoDataFrame:
    """Point geometry from lon/lat where given (None elsewhere), in a storage CRS like read_layer's.

    ``coords`` and ``crs`` are :func:`read_cases`'s; coordinates that are not finite numbers are reported
    (``bad_coordinates``) in ``report`` and left missing; ``located_by`` is "coordinates" for the rows with
    a point.
    """
    coords = agreed_coords(table.attrs.get(COORDS_ATTR), coords, path=path)  # headers such as 经度_gcj02
    if "lon" in table.columns and "lat" in table.columns:
        lon = pd.to_numeric(table["lon"], errors="coerce").astype("float64")
        lat = pd.to_numeric(table["lat"], errors="coerce").astype("float64")
        for column, numbers in (("lon", lon), ("lat", lat)):
            bad = ~np.isfinite(numbers) & table[column].notna() & (as_text(table[column]).notna())
            for position in np.flatnonzero(bad.to_numpy()):
                value = table[column].iloc[position]
                shown = f"'{value}'" if isinstance(value, str) else str(value)  # inf, not np.float64(inf)
                report.add("bad_coordinates", f"{column} {shown} is not a finite "
                           "number; the case is kept without location. Enter decimal degrees such as "
                           "108.3203", record=_label(table, position), row=position + 1)
            numbers[~np.isfinite(numbers)] = np.nan
        given = lon.notna() & lat.notna()
        points = cast(np.ndarray, shapely.points(lon.fillna(0).to_numpy(), lat.fillna(0).to_numpy()))
        # numpy's type stubs refuse None as the fill value
        geometry = np.where(given, points, None)  # type: ignore[call-overload]
        table = table.drop(columns=["lon", "lat"])
    elif "lon" in table.columns or "lat" in table.columns:
        raise SchemaError("the case list has only one coordinate column", path=path,
                          fix="give both 经度 (lon) and 纬度 (lat), or neither and a compound name or id")
    else:
        geometry = np.full(len(table), None, dtype=object)
    frame = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometry, index=table.index))
    # anything pyproj accepts, as read_layer's crs=; normalize_crs refuses the rest naming the fix
    assume: Any = crs if crs is not None else (coords if coords in ("wgs84", "cgcs2000") else None)
    frame = normalize_crs(frame, path=path, assume=assume)
    if coords in ("gcj02", "bd09"):
        frame = convert_frame(frame, coords, "wgs84")
    has_point = frame.geometry.notna() & ~frame.geometry.is_empty
    # numpy's type stubs refuse None as the fill value
    located_by = np.where(has_point, "coordinates", None)  # type: ignore[call-overload]
    frame["located_by"] = pd.Series(located_by, index=frame.index, dtype=_STR)
    return frame


def _label(frame: pd.DataFrame, position: int | np.integer) -> str:
    """Name a record for findings: its case id when it has one, else its position."""
    if "case_id" in frame.columns:
        value = frame["case_id"].iloc[position]
        if isinstance(value, str) and value.strip():
            return f"case {value.strip()}"
    return f"record {position + 1}"


def _unit_key(frame: pd.DataFrame, units: gpd.GeoDataFrame) -> tuple[str, str] | None:
    """(case column, unit column) to join on: unit_id when both have it, else the name."""
    if "unit_id" in frame.columns and "unit_id" in units.columns:
        return "unit_id", "unit_id"
    for column in ("unit_name", "name"):
        if column in frame.columns and "name" in units.columns:
            return column, "name"
    return None


def _locate_by_units(frame: gpd.GeoDataFrame, units: gpd.GeoDataFrame | None, *, report: Report,
                     path) -> gpd.GeoDataFrame:
    """Put cases without coordinates at the representative point of the unit they name."""
    missing = (frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
    if units is None or not missing.any():
        return frame
    if not isinstance(units, gpd.GeoDataFrame) or units.crs is None:
        raise SchemaError("units must be a GeoDataFrame with a CRS", path=path,
                          fix="read them with gridmap.io.read_layer")
    key = _unit_key(frame, units)
    if key is None:
        logger.info("%s: no unit_id or name column to locate %d cases by", path, int(missing.sum()))
        return frame
    case_column, unit_column = key
    crs = frame.crs if (~missing).any() else units.crs  # no case has coordinates: take the units' CRS
    points = units.geometry.representative_point()
    if not units.crs.equals(crs):
        points = points.to_crs(crs)
    names = units[unit_column].map(_name_key)
    by_key = pd.Series(np.arange(len(units))).groupby(names.to_numpy()).agg(list)
    wanted = frame[case_column].map(_name_key)
    geometry = frame.geometry.to_numpy().copy()
    located = frame["located_by"].to_numpy(dtype=object).copy()
    ids = units["unit_id"].to_numpy(dtype=object) if "unit_id" in units.columns else None
    for position in np.flatnonzero(missing & wanted.notna().to_numpy()):
        value = frame[case_column].iloc[position]
        matches = by_key.get(wanted.iloc[position], [])
        if len(matches) == 1:
            geometry[position] = points.iloc[matches[0]]
            located[position] = case_column
        elif not matches:
            report.add("unknown_unit", f"{case_column} {value!r} matches no unit; check the spelling or give "
                       "coordinates", record=_label(frame, position), row=position + 1)
        else:
            listed = ", ".join(str(ids[m]) for m in matches[:5]) if ids is not None else f"{len(matches)}"
            report.add("ambiguous_unit", f"{case_column} {value!r} matches {len(matches)} units ({listed}); "
                       "give the unit id or coordinates", record=_label(frame, position), row=position + 1)
    result = frame.copy()
    result["located_by"] = pd.Series(located, index=frame.index, dtype=_STR)
    return result.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=crs))


def _locate_by_address(frame: gpd.GeoDataFrame, units: gpd.GeoDataFrame | None, column: str,
                       admin_names: Iterable[str], *, report: Report, path) -> gpd.GeoDataFrame:
    """Put cases still without a point at the unit their address matches (see gridmap.cases.address)."""
    if units is None:
        raise SchemaError(f"cases are to be located by the address in column {column!r} but no units were "
                          "given", path=path, fix="pass units= (the gazetteer: the units layer with names)")
    if column not in frame.columns:  # the header may have been read as a model name (小区 → unit_name)
        column = _CASE_LOOKUP.get(_key(column), column)
    if column not in frame.columns:
        raise SchemaError(f"the case list has no column {column!r}", path=path, record=f"address={column!r}",
                          fix=f"name one of its columns: {', '.join(_file_columns(frame))}")
    return match_addresses(frame, units, column=column, admin_names=admin_names, only_missing=True,
                           report=report)


def _file_columns(frame: gpd.GeoDataFrame) -> list[str]:
    """Return the columns read from the file (not the geometry or ``located_by`` added on reading)."""
    return [str(c) for c in frame.columns if c not in (frame.geometry.name, "located_by")]


def _name_key(value: object) -> str | None:
    """Return a unit name or id as compared: NFKC, no blanks, lower case; None when blank or missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    key = _key(value)
    return key or None


# --- cleaning -------------------------------------------------------------------------------------------

def clean_cases(cases: pd.DataFrame, *, strict: bool = False, report: Report | None = None,
                path: str | os.PathLike | None = None, _findings: Report | None = None) -> pd.DataFrame:
    """Return a clean copy of a case frame: model columns, normalised values, impossible times flagged.

    ``case_id`` becomes text (``record N`` when absent), the three times datetimes (naive China Standard
    Time; time-zone aware values are converted), ``level`` one of grid / community / street / district
    (Chinese accepted, unknown names reported and set missing), ``status`` open / closed (derived from
    ``closed_at`` when missing or unknown), ``count`` a whole number (default 1). ``times_ok`` is False
    when a case was accepted or closed before it was reported, or closed before it was accepted: such
    cases count as cases but are left out of every time measure.

    Parameters
    ----------
    cases : pandas.DataFrame or geopandas.GeoDataFrame
        Cases with at least ``reported_at`` (or a Chinese header such as 上报时间); not modified.
    strict : bool, default False
        Raise :class:`~gridmap.errors.CaseError` for the first bad record instead of reporting it.
    report : gridmap.Report, optional
        Findings are added to it.
    path : str, optional
        The file the cases came from, named in errors.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        Same type as ``cases``.

    Examples
    --------
    >>> raw = pd.DataFrame({"case_id": ["A", "B"], "reported_at": ["2025-01-02 08:00", "2025-01-02 09:00"],
    ...                     "closed_at": ["2025-01-02 10:00", "2025-01-01 09:00"], "level": ["社区", "网格"]})
    >>> found = Report("cases")
    >>> clean = clean_cases(raw, report=found)
    >>> clean[["case_id", "status", "level", "times_ok"]]
      case_id  status      level  times_ok
    0       A  closed  community      True
    1       B  closed       grid     False
    >>> found.to_frame()[["check", "record"]]
            check  record
    0  time_order  case B
    """
    findings = _findings if _findings is not None else Report("cases")
    frame = cases.copy()
    if "reported_at" not in frame.columns:  # a frame not read by read_cases: 事件编号, 上报时间 …
        frame = rename_case_columns(frame, path=path)
    frame["case_id"] = _case_ids(frame, findings)
    for column in _TIMES:
        frame[column] = parse_times(frame, column, findings, path=path or cases.attrs.get(SOURCE))
    frame["times_ok"] = _time_order(frame, findings)
    frame["level"] = _levels(frame, findings)
    frame["status"] = _statuses(frame, findings)
    frame["count"] = _counts(frame, findings, cleaned="times_ok" in cases.columns)
    frame["category"] = frame["category"].astype(_STR) if "category" in frame.columns else pd.Series(
        pd.NA, index=frame.index, dtype=_STR)
    if isinstance(frame, gpd.GeoDataFrame) and "located_by" in frame.columns:
        _report_unlocated(frame, findings)
    ordered = CASE_COLUMNS + [c for c in frame.columns if c not in CASE_COLUMNS]
    frame = frame[ordered]
    _finish(findings, strict=strict, report=report, path=path)
    return frame


def _case_ids(frame: pd.DataFrame, findings: Report) -> pd.Series:
    if "case_id" not in frame.columns:
        logger.info("cases have no case_id column; numbering them 'record N'")
        return pd.Series([f"record {i + 1}" for i in range(len(frame))], index=frame.index, dtype=_STR)
    ids = as_text(frame["case_id"])
    missing = ids.isna().to_numpy()
    if missing.any():
        numbers = pd.Series([f"record {i + 1}" for i in range(len(frame))], index=frame.index)
        ids = ids.where(~missing, numbers)
    repeated = ids.duplicated(keep="first").to_numpy() & ~missing
    for position in np.flatnonzero(repeated):
        findings.add("duplicate_case", f"case id {ids.iloc[position]!r} appears more than once; check for a "
                     "repeated row", record=f"case {ids.iloc[position]}", severity="warning",
                     row=position + 1)
    return ids.astype(_STR)


def as_text(series: pd.Series) -> pd.Series:
    """Return a column as stripped text (whole numbers without ".0"), NA for missing and blank values.

    Examples
    --------
    >>> import pandas as pd
    >>> as_text(pd.Series([101.0, 7.0])).tolist()
    ['101', '7']
    >>> text = as_text(pd.Series([" 韦静梅 ", "", None]))
    >>> text[0], text.isna().tolist()
    ('韦静梅', [False, True, True])
    """
    if pd.api.types.is_float_dtype(series) and (series.dropna() % 1 == 0).all():
        series = series.astype("Int64")
    if _STR == "str":
        text = series.astype(_STR).str.strip()
    else:  # pandas 2: astype(str) would write missing values as "nan"
        text = series.map(lambda v: v if v is None or (not isinstance(v, str) and pd.isna(v))
                          else str(v).strip())
    return text.where(text != "")


def parse_times(frame: pd.DataFrame, column: str, findings: Report,
           path: str | os.PathLike | None = None) -> pd.Series:
    """Parse one time column to naive Beijing times; values that are not times are reported and set missing.

    The rule (see the module docstring): a time with a zone (``+08:00``, ``Z``, ``-05:00``) is converted to
    Asia/Shanghai; a time without one is taken as Beijing time; a bare number between 1 and 109,575 is an
    Excel serial date (days since 1899-12-30, the fraction the time of day). A missing ``reported_at``
    column raises :class:`~gridmap.errors.SchemaError`; another missing column is all NaT.

    Examples
    --------
    >>> import pandas as pd
    >>> from gridmap.findings import Report
    >>> found = Report("cases")
    >>> times = pd.DataFrame({"time": ["2025-03-01T01:30Z", "2025年3月1日 9:30", 45717.5, "昨天"]})
    >>> [str(time) for time in parse_times(times, "time", found)]
    ['2025-03-01 09:30:00', '2025-03-01 09:30:00', '2025-03-01 12:00:00', 'NaT']
    >>> found.to_frame()[["check", "record"]].values.tolist()
    [['bad_time', 'record 4']]
    """
    if column not in frame.columns:
        if column == "reported_at":
            raise SchemaError("the cases have no report time (上报时间 / reported_at)", path=path,
                              fix="add a column with the time each case was reported")
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    raw = frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert(BEIJING).dt.tz_localize(None)
        return parsed.astype("datetime64[ns]")
    text = as_text(raw)  # Excel's datetime cells become ISO text, parsed again below
    if pd.api.types.is_string_dtype(text) and text.str.contains("[年月日]", regex=True).any():
        text = text.str.replace("年", "-").str.replace("月", "-").str.replace("日", " ")
    parsed = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    given = text.notna()
    serial = pd.to_numeric(text.where(given & text.astype(str).str.fullmatch(r"\d+(\.\d+)?")),
                           errors="coerce")
    is_serial = serial.between(1, _EXCEL_LAST_SERIAL).fillna(False).to_numpy(dtype=bool)
    if is_serial.any():
        days = pd.to_timedelta(serial[is_serial].astype("float64"), unit="D")
        parsed[is_serial] = _EXCEL_EPOCH + days.dt.round("s")
    aware = (given & text.astype(str).str.contains(_ZONE, regex=True)).to_numpy(dtype=bool) & ~is_serial
    if aware.any():
        zoned = pd.to_datetime(text[aware].astype(str), errors="coerce", utc=True, format="mixed")
        parsed[aware] = zoned.dt.tz_convert(BEIJING).dt.tz_localize(None).astype("datetime64[ns]")
    naive = given.to_numpy(dtype=bool) & ~aware & ~is_serial
    if naive.any():
        parsed[naive] = _naive_times(text[naive].astype(str))
    for position in np.flatnonzero((parsed.isna() & given).to_numpy()):
        findings.add("bad_time", f"{column} {raw.iloc[position]!r} is not a date and time; write it as "
                     "2025-03-01 09:30 (Beijing time) or with its zone, 2025-03-01T01:30Z",
                     record=_label(frame, position), row=position + 1)
    return parsed


def _naive_times(text: pd.Series) -> pd.Series:
    """Parse times without a zone (one format for the column when pandas finds one, else value by value)."""
    try:
        with warnings.catch_warnings():  # pandas warns when it finds no one format: then value by value
            warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
            parsed = pd.to_datetime(text, errors="coerce")
    except (ValueError, TypeError):  # pandas could not settle on one format
        parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    parsed = parsed.astype("datetime64[ns]")
    retry = parsed.isna()
    if retry.any():
        parsed[retry] = pd.to_datetime(text[retry], errors="coerce", format="mixed").astype("datetime64[ns]")
    return parsed


def _time_order(frame: pd.DataFrame, findings: Report) -> pd.Series:
    """Return False where times contradict each other (closed before reported, …), reporting each."""
    reported, accepted, closed = (frame[c] for c in _TIMES)
    rules = (("closed before it was reported", closed < reported),
             ("accepted before it was reported", accepted < reported),
             ("closed before it was accepted", closed < accepted))
    ok = np.ones(len(frame), dtype=bool)
    for what, wrong in rules:
        wrong = wrong.fillna(False).to_numpy(dtype=bool)
        for position in np.flatnonzero(wrong & ok):
            findings.add("time_order", f"{what}; the case is left out of time measures until its times are "
                         "corrected", record=_label(frame, position), row=position + 1,
                         fix="correct reported_at, accepted_at and closed_at of this case in the source")
        ok &= ~wrong
    return pd.Series(ok, index=frame.index)


def _levels(frame: pd.DataFrame, findings: Report) -> pd.Series:
    if "level" not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype=_STR)
    raw = frame["level"]
    codes, uniques = pd.factorize(raw)
    named: list[str | None] = []
    for value in uniques:
        try:
            named.append(normalize_level(value))
        except ValueError:
            named.append(None)
    levels = _looked_up(raw, codes, named)
    for position in np.flatnonzero((levels.isna() & raw.notna()).to_numpy()):
        value = raw.iloc[position]
        if isinstance(value, str) and not value.strip():
            continue
        findings.add("unknown_level", f"level {value!r} is not one of grid, community, street, district "
                     "(网格, 社区, 街道, 区县)", record=_label(frame, position), row=position + 1)
    return levels


def _statuses(frame: pd.DataFrame, findings: Report) -> pd.Series:
    if "status" not in frame.columns:
        return _derived_statuses(frame)
    raw = frame["status"]
    codes, uniques = pd.factorize(raw)
    given = _looked_up(raw, codes, [_STATUS_LOOKUP.get(_key(v)) if isinstance(v, str) else None
                                    for v in uniques])
    unknown = (given.isna() & raw.notna()).to_numpy()
    for position in np.flatnonzero(unknown):
        findings.add("unknown_status", f"status {raw.iloc[position]!r} is neither open nor closed "
                     "(办理中/已办结); taken from the closing time", record=_label(frame, position),
                     severity="warning", row=position + 1)
    missing = given.isna()
    return given.where(~missing, _derived_statuses(frame)) if missing.any() else given


def _derived_statuses(frame: pd.DataFrame) -> pd.Series:
    """Return "closed" where ``closed_at`` is given, else "open"."""
    codes = frame["closed_at"].notna().to_numpy().astype(np.intp)
    return pd.Series(pd.array(["open", "closed"], dtype=_STR).take(codes), index=frame.index)


def _looked_up(raw: pd.Series, codes: np.ndarray, values: list[str | None]) -> pd.Series:
    """``raw`` with each value replaced by ``values[code]`` (codes of ``pd.factorize``); NA if missing."""
    return pd.Series(pd.array(values, dtype=_STR).take(codes, allow_fill=True), index=raw.index)


def _counts(frame: pd.DataFrame, findings: Report, *, cleaned: bool) -> pd.Series:
    """Return the whole-number counts: missing → 1, not a whole number of cases → reported and NA.

    The counts of frames ``cleaned`` before (they have ``times_ok``) that are missing stay missing: they are
    the counts judged invalid the first time, so cleaning twice (as :func:`gridmap.summarize` does with cases
    from :func:`read_cases`) counts the same cases as cleaning once.
    """
    if "count" not in frame.columns:
        return pd.Series(1, index=frame.index, dtype="Int64")
    raw = frame["count"]
    counts = _numeric_counts(raw, findings, frame)
    return counts.mask(raw.isna()) if cleaned else counts


def _numeric_counts(raw: pd.Series, findings: Report, frame: pd.DataFrame) -> pd.Series:
    if raw.dtype.kind in "iuf":  # numbers already (nullable ones too)
        return _whole_counts(raw, findings, frame)
    numbers = pd.to_numeric(raw, errors="coerce")
    bad = (raw.notna() & (~numbers.between(0, MAX_COUNT).fillna(False) | (numbers % 1 != 0))).to_numpy()
    _report_counts(raw, bad, findings, frame)
    return numbers.where(~bad).fillna(1).where(~bad).astype("Int64")


def _whole_counts(raw: pd.Series, findings: Report, frame: pd.DataFrame) -> pd.Series:
    """Return :func:`_counts` of a numeric column: missing → 1; not whole or out of range → reported, NA.

    The values are compared as floats: exact for every whole number up to :data:`MAX_COUNT`.
    """
    values = raw.to_numpy(dtype="float64", na_value=np.nan)
    missing = np.isnan(values)
    with np.errstate(invalid="ignore"):  # inf % 1 is NaN: not whole
        bad = ~missing & ((values < 0) | (values > MAX_COUNT) | (values % 1 != 0))
    _report_counts(raw, bad, findings, frame)
    whole = np.where(missing | bad, 1, values).astype("int64")
    return pd.Series(pd.arrays.IntegerArray(whole, bad), index=raw.index, name=raw.name)


def _report_counts(raw: pd.Series, bad: np.ndarray, findings: Report, frame: pd.DataFrame) -> None:
    """Report each count that is not a whole number of cases from 0 to MAX_COUNT."""
    for position in np.flatnonzero(bad):
        findings.add("bad_count", f"count '{raw.iloc[position]}' is not a whole number of cases from 0 to "
                     f"{MAX_COUNT:,}; the case is kept with its count missing",
                     record=_label(frame, position), row=position + 1,
                     fix="correct the count (数量) of this record in the source")


def _report_unlocated(frame: gpd.GeoDataFrame, findings: Report) -> None:
    unlocated = (frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
    known = findings.to_frame()
    matched_by = [
        "unknown_unit", "ambiguous_unit", "bad_coordinates", "address_unmatched", "address_ambiguous",
    ]
    already = set(known.loc[known["check"].isin(matched_by), "record"])
    for position in np.flatnonzero(unlocated):
        record = _label(frame, position)
        if record not in already:
            findings.add("no_location", "the case has no coordinates and names no known unit; give 经度/纬度 "
                         "or the compound's name or id (and the units: --units, units= in Python)",
                         record=record, row=position + 1)


def _finish(findings: Report, *, strict: bool, report: Report | None, path) -> None:
    """Raise (strict), or warn once and hand the findings to the caller's report."""
    if strict:
        findings.raise_for_errors(CaseError, path=path)
    if report is not None:
        report.extend(findings)
    elif len(findings):
        where = f"{path}: " if path is not None else ""
        warnings.warn(f"{where}{findings.summary()}; pass report= to list them", GridmapWarning,
                      stacklevel=3)
