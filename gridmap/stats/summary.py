r"""Measures per grid, rolled up to communities, streets and districts, overall or per period.

:func:`summarize` gives one row per unit (and period): households, population, buildings, area, density,
cases and their rates, 同比/环比 change, how cases were settled ("小事不出网格": the share closed inside
the grid), response (accepted / reported), on-time acceptance ("接单不过夜"), time to close, open and
overdue cases, and staffing (1+1+1+N posts, households per full-time worker). Every level is computed from
the grids and the cases themselves, so a community's total equals the sum of its grids' totals exactly,
and medians are medians of cases, never medians of medians. The hierarchy comes from each grid's
``community_code`` (12 digits → street 9 → district 6), never from the grid code's layout.

:func:`suppress_small_counts` and ``publish=True`` hide small case counts; :func:`write_stats` writes the
tables atomically: Excel with Chinese (or English) headers, one sheet per level, or CSV / GeoPackage.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> grids = gpd.GeoDataFrame({"code": ["450102001003001", "450102001003002", "450102001004001"],
...     "community_code": ["450102001003", "450102001003", "450102001004"], "households": [300, 420, 380],
...     "population": [900, 1300, 1000], "buildings": [6, 9, 8]},
...     geometry=[box(108.300, 22.80, 108.305, 22.805), box(108.305, 22.80, 108.31, 22.805),
...               box(108.31, 22.80, 108.315, 22.805)], crs="EPSG:4490")
>>> cases = gpd.GeoDataFrame({"case_id": ["A", "B", "C"], "count": [1, 2, 1],
...     "reported_at": pd.to_datetime(["2025-03-01 09:00", "2025-03-02 10:00", "2025-03-02 22:00"]),
...     "accepted_at": pd.to_datetime(["2025-03-01 09:30", "2025-03-02 11:00", "2025-03-03 08:00"]),
...     "closed_at": pd.to_datetime(["2025-03-01 12:00", "2025-03-03 10:00", None]),
...     "level": ["grid", "community", None]},
...     geometry=[Point(108.302, 22.802), Point(108.307, 22.802), Point(108.312, 22.802)], crs="EPSG:4490")
>>> table = summarize(grids, cases, by="community")
>>> table[["code", "households", "cases", "share_grid", "on_time_rate", "open"]]
           code  households  cases  share_grid  on_time_rate  open
0  450102001003         720      3    0.333333         1.0     0
1  450102001004         380      1         NaN         0.0     1
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from gridmap.cases import clean_cases, in_grids
from gridmap.cases.periods import period_labels
from gridmap.crs import metric_crs
from gridmap.errors import GridmapWarning, SchemaError, WriteError
from gridmap.findings import Report
from gridmap.io import write_layer
from gridmap.io._atomic import atomic_path
from gridmap.io._columns import codes_in
from gridmap.io.write import write_workbook
from gridmap.schema import (
    CODE_LENGTHS,
    COUNT_COLUMNS,
    HANDLING_LEVELS,
    LEVELS,
    PERIODS,
    ROLLUP_LEVELS,
    STAFF_ROLES,
    model_columns,
)

__all__ = [
    "summarize",
    "summarize_levels",
    "suppress_small_counts",
    "write_stats",
    "totals_row",
    "PERIODS",
    "CASE_COUNT_COLUMNS",
    "HEADERS_ZH",
]

logger = logging.getLogger(__name__)

# Levels a summary can be made at: gridmap.schema.ROLLUP_LEVELS, finest first; their code lengths.
_CODE_LENGTH = {level: CODE_LENGTHS[level] for level in LEVELS}
#: Micro-grids (微网格, gridmap.division.build_microgrids) summarized as such; ``by="grid"`` then rolls them
#: up into the grids they divide (their ``grid_code``).
_MICROGRID = "microgrid"
_PARENTS = {_MICROGRID: ("grid_code", "community_code", "street_code", "district_code"),
            "grid": ("community_code", "street_code", "district_code"),
            "community": ("street_code", "district_code"), "street": ("district_code",), "district": ()}


#: Columns that count cases (suppressed below the threshold when publishing), and the columns derived
#: from each (suppressed with it).
CASE_COUNT_COLUMNS = {
    "cases": ("cases_per_1000", "cases_per_km2", "cases_change_mom", "cases_change_yoy", "response_rate",
              "on_time_rate"),
    "closed": ("share_grid", "share_community", "share_street", "share_district", "median_close_h",
               "p90_close_h"),
    "open": (),
    "overdue": (),
}

#: Chinese headers of every column summarize writes.
HEADERS_ZH = {
    "code": "编码", "name": "名称", "grid_code": "网格编码", "community_code": "社区代码",
    "street_code": "街道代码", "district_code": "区县代码", "period": "时期", "n_grids": "网格数",
    "households": "户数", "population": "人口", "buildings": "楼栋数", "area_km2": "面积(平方公里)",
    "density": "人口密度(人/平方公里)",
    "cases": "事件数", "cases_per_1000": "每千人事件数", "cases_per_km2": "每平方公里事件数",
    "cases_change_mom": "环比", "cases_change_yoy": "同比", "closed": "办结数",
    "share_grid": "网格办结占比", "share_community": "社区办结占比", "share_street": "街道办结占比",
    "share_district": "区县办结占比", "response_rate": "响应率", "on_time_rate": "当日接单率",
    "median_close_h": "办结时长中位数(小时)", "p90_close_h": "办结时长90分位(小时)", "open": "未办结数",
    "overdue": "超期未办结数", "instructors": "网格指导员", "leaders": "网格长", "full_time": "专职网格员",
    "members": "定岗网格员", "households_per_worker": "每名专职网格员户数", "leader_name": "网格长姓名",
    "leader_phone": "网格长电话", "suppressed": "已隐去(小于阈值)",
}
_SHEETS_ZH = {_MICROGRID: "微网格", "grid": "网格", "community": "社区", "street": "街道", "district": "区县"}
_ROLE_COLUMNS = {"instructor": "instructors", "leader": "leaders", "full_time": "full_time",
                 "member": "members"}
# Text columns: pandas' "str" from pandas 3 on, object before (where "str" turns NA into "nan").
_STR = "str" if int(pd.__version__.split(".")[0]) >= 3 else object


# --- public API -----------------------------------------------------------------------------------------

def summarize(grids: gpd.GeoDataFrame, cases: gpd.GeoDataFrame | pd.DataFrame | None = None,
              staff: pd.DataFrame | None = None, *, by: str = "grid", period: str | None = None,
              at: object = None, on_time: str | float = "same_day", overdue_days: float = 15,
              names: pd.DataFrame | Mapping[str, str] | None = None, publish: bool = False,
              threshold: int = 5, include_staff_contacts: bool = False) -> pd.DataFrame:
    """Measures per grid, community, street or district, overall or per day, week or month.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        ``code``, 12-digit ``community_code``, optional ``households``, ``population``, ``buildings``,
        polygons (area in the grids' metric CRS, :func:`gridmap.crs.metric_crs`).
    cases : geopandas.GeoDataFrame or pandas.DataFrame, optional
        Cases as read by :func:`gridmap.cases.read_cases`. Without a ``grid_code`` column they are put in
        grids with :func:`gridmap.cases.assign`; cases in no grid (or in a grid not in ``grids``) are left
        out of every level, with a warning.
    staff : pandas.DataFrame, optional
        Grid staff (``grid_code``, ``role``) as read by :func:`gridmap.people.read_staff`, or a roster
        (:func:`gridmap.people.read_roster`).
    by : {"grid", "community", "street", "district", "microgrid"}, default "grid"
        The level of the rows. Micro-grids (``grids`` with a ``grid_code`` column that starts each
        ``code``, as :func:`gridmap.division.build_microgrids` writes them) are rolled up into their grids by
        ``"grid"``; ``"microgrid"`` gives one row per micro-grid.
    period : {None, "day", "week", "month"}, default None
        One row per unit and period (cases by report time, every period from the first to the last case,
        zeros included) with 环比 (``cases_change_mom``: against the previous period) and 同比
        (``cases_change_yoy``: against the same period a year before: 12 months, 52 weeks, or the same date
        last year), as ratios ``(now - base) / base``, NA where the base is 0 or before the data.
    at : datetime-like, optional
        Reference time for open and overdue cases; default the latest time in the cases.
    on_time : "same_day" or float, default "same_day"
        When acceptance is on time: on the calendar day of the report ("接单不过夜"), or within this many
        hours. A case not accepted counts as late once its deadline has passed by ``at``.
    overdue_days : float, default 15
        A case is overdue when still open at ``at`` more than this many days after its report.
    names : DataFrame or mapping, optional
        Names of the units: a mapping code → name, or frames with ``code`` and ``name`` (the admin layers).
    publish : bool, default False
        Suppress small case counts (:func:`suppress_small_counts`) for publication.
    threshold : int, default 5
        Counts below it are suppressed when publishing.
    include_staff_contacts : bool, default False
        With ``by="grid"`` and a roster, add the grid leader's name and phone. Off by default: published
        tables never carry people's names or phones unless asked for.

    Returns
    -------
    pandas.DataFrame
        One row per unit (and period), ordered by code (and period). Columns: ``code``, parent codes,
        ``name`` (with ``names``), ``period``, ``n_grids``, ``households``, ``population``, ``buildings``,
        ``area_km2``, ``density`` (people per km²); with cases: ``cases`` (sum of ``count``),
        ``cases_per_1000`` (residents), ``cases_per_km2``, ``closed``, ``share_grid`` …
        ``share_district`` (share of closed cases settled at each level, of those whose level is known),
        ``response_rate`` (accepted / reported), ``on_time_rate`` (accepted on time / cases due by ``at``),
        ``median_close_h``, ``p90_close_h`` (hours from report to close, cases with possible times only),
        ``open``, ``overdue``; with staff: ``instructors``, ``leaders``, ``full_time``, ``members`` (posts;
        a person in three grids counts three times) and ``households_per_worker``. Ratios are NA where the
        denominator is 0.

    Raises
    ------
    SchemaError
        Grids without ``code`` or ``community_code``, unknown ``by`` or ``period``.
    """
    _check_options(by=by, period=period, on_time=on_time)
    prepared = _prepare(grids, cases, staff, at=at)
    return _summary(prepared, by=by, period=period, on_time=on_time, overdue_days=overdue_days, names=names,
                    publish=publish, threshold=threshold, include_staff_contacts=include_staff_contacts)


def summarize_levels(grids: gpd.GeoDataFrame, cases: gpd.GeoDataFrame | pd.DataFrame | None = None,
                     staff: pd.DataFrame | None = None, *, levels: Sequence[str] = ROLLUP_LEVELS,
                     **options: Any) -> dict[str, pd.DataFrame]:
    """:func:`summarize` at several levels at once (cases are put in grids once); a dict level → table.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"code": ["g1", "g2"], "community_code": ["450102001003", "450102002001"],
    ...     "population": [900, 1100]}, geometry=[box(108.30, 22.8, 108.31, 22.81),
    ...     box(108.31, 22.8, 108.32, 22.81)], crs="EPSG:4490")
    >>> tables = summarize_levels(grids, levels=("street", "district"))
    >>> tables["district"][["code", "n_grids", "population"]]
         code  n_grids  population
    0  450102        2        2000
    """
    at = options.pop("at", None)
    for level in levels:
        _check_options(by=level, period=options.get("period"), on_time=options.get("on_time", "same_day"))
    prepared = _prepare(grids, cases, staff, at=at)
    publish = options.pop("publish", False)
    tables = {level: _summary(prepared, by=level, **options) for level in levels}
    return _published(tables, options.get("threshold", 5)) if publish else tables


#: The level whose codes a group column holds (rule 5 of suppress_small_counts).
_PARENT_LEVEL = {"community_code": "community", "street_code": "street", "district_code": "district"}


def _published(tables: dict[str, pd.DataFrame], threshold: int) -> dict[str, pd.DataFrame]:
    """Suppress small counts in every level's table so that no level, nor several together, reveal one.

    Rules 1–3 of :func:`suppress_small_counts` in each table, and across levels until nothing changes:
    a group left unsafe hides its parent's count (rule 5), and a hidden count whose children (in the
    finer level's table) are all shown hides its smallest child, since the children would add up to it.
    """
    order = sorted(tables, key=ROLLUP_LEVELS.index)  # finest first
    keys = {level: _suppression_groups(tables[level]) for level in order}
    cells = {level: _cell_keys(tables[level]) for level in order}
    columns = {level: [c for c in _count_columns(tables[level]) if c in tables[level].columns]
               for level in order}
    masks = {level: _masks(tables[level], columns[level], threshold, keys[level], secondary=False)[0]
             for level in order}
    changed = True
    while changed:
        changed = False
        for position, level in enumerate(order):
            table = tables[level]
            parent = _PARENT_LEVEL.get(keys[level][0]) if keys[level] else None
            for column in columns[level]:
                values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                hidden, unsafe = _complementary(table, values, masks[level][column], keys[level], threshold)
                changed |= bool((hidden != masks[level][column]).any())
                masks[level][column] = hidden
                if parent in tables and column in masks[parent]:
                    left = set(unsafe)
                    wanted = np.array([cell in left for cell in cells[parent]], dtype=bool)
                    changed |= bool((wanted & ~masks[parent][column]).any())
                    masks[parent][column] |= wanted
                child = order[position - 1] if position else None
                if child is not None and keys[child] and _PARENT_LEVEL.get(keys[child][0]) == level:
                    changed |= _hide_a_child(tables[child], masks[child][column], keys[child],
                                             {cells[level][i] for i in np.flatnonzero(masks[level][column])},
                                             column)
    return {level: _hidden(tables[level], masks[level], secondary=True) for level in tables}


def _cell_keys(frame: pd.DataFrame) -> list[tuple]:
    """Each row's ``(code, period)`` (``(code,)`` without periods): how a child group names its parent."""
    codes = frame["code"].astype(str) if "code" in frame.columns else pd.Series("", index=frame.index)
    if "period" in frame.columns:
        return list(zip(codes, frame["period"].astype(str), strict=True))
    return [(code,) for code in codes]


def _hide_a_child(child: pd.DataFrame, mask: np.ndarray, keys: list[str], hidden_parents: set,
                  column: str) -> bool:
    """Hide the smallest child of each hidden parent whose children are all shown; return whether any was."""
    if not hidden_parents:
        return False
    values = pd.to_numeric(child[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    changed = False
    groups = child[keys].astype(str).reset_index(drop=True).groupby(keys, sort=False).indices
    for key, positions in groups.items():
        key = key if isinstance(key, tuple) else (key,)
        group = np.asarray(positions)
        group = group[~np.isnan(values[group])]
        if key in hidden_parents and len(group) and not mask[group].any():
            mask[group[np.argmin(values[group])]] = True
            changed = True
    return changed


def suppress_small_counts(frame: pd.DataFrame, columns: Sequence[str] | None = None, threshold: int = 5, *,
                          secondary: bool = True, groups: Sequence[str] | None = None) -> pd.DataFrame:
    """Replace case counts below ``threshold`` (and what is derived from them) with NA, and mark them.

    Counts of cases about few people can identify them. Each count column below the threshold becomes
    NA, with the rates derived from it (:data:`CASE_COUNT_COLUMNS`); the ``suppressed`` column lists,
    per row, the columns hidden ("" when none). Zero counts are below the threshold too.

    With ``secondary=True`` (the default) enough other cells are hidden that no hidden count can be
    solved back from the totals published beside the table. The rule, for each count column:

    1. The cells are grouped by the unit's parent (the first of ``community_code``, ``street_code``,
       ``district_code`` in the table: a parent's count at its own level is the sum of its group) and by
       ``period``; without a parent column the whole table (per period) is one group, whose sum a totals
       row shows. ``groups`` names other grouping columns.
    2. An attacker knows the group's sum, every shown cell, and that a hidden cell lies in
       ``[0, threshold - 1]`` if it was below the threshold (primary) or in ``[threshold, ∞)`` if it was
       hidden as a complement. Then a hidden cell ``i`` of the hidden sum ``S`` lies in
       ``[max(lo_i, S - Σ_{j≠i} hi_j), min(hi_i, S - Σ_{j≠i} lo_j)]``.
    3. A group is safe when that range holds at least two whole numbers for every hidden cell (so a group
       never has exactly one hidden cell, and two hidden zeros are not left alone). Until it is safe, the
       smallest shown cell of the group (the first in table order on ties) is hidden as a complement.
    4. In a per-period table (``frame.attrs["period"]``, as :func:`summarize` sets it) a 环比/同比 change
       whose base count is hidden is hidden too (the base would be ``count / (1 + change)``).

    5. A group whose cells are all hidden and still not safe (all zeros, say) cannot be protected inside
       this table: with ``publish=True``, :func:`summarize_levels` hides the parent's count in the
       parent level's table too (then protects that table by the same rules), when that level is one of
       the levels asked for.
    6. The whole area's total of a column (the sum of the top level's group) is to be withheld when every
       top-level cell of it is hidden: :func:`totals_row` leaves a column with any hidden cell empty.

    Rates derived from a hidden count are hidden with it. A table may name its own count columns and what
    derives from each in ``frame.attrs["count_columns"]`` (and its 环比/同比 columns per count in
    ``frame.attrs["changes"]``), as the satisfaction, mediation and escalation tables of
    :mod:`gridmap.fieldwork` do; they are then checked instead of :data:`CASE_COUNT_COLUMNS`.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table from :func:`summarize`; not modified.
    columns : sequence of str, optional
        Count columns to check; default those of ``frame.attrs["count_columns"]`` or
        :data:`CASE_COUNT_COLUMNS` present.
    threshold : int, default 5
    secondary : bool, default True
        Hide complementary cells as described above.
    groups : sequence of str, optional
        Columns whose values form the groups of rule 1 (default: the parent code and ``period``).

    Examples
    --------
    >>> table = pd.DataFrame({"code": ["a", "b", "c"], "cases": [3, 12, 20],
    ...                       "cases_per_1000": [1.5, 6.0, 7.0]})
    >>> suppress_small_counts(table)
      code  cases  cases_per_1000             suppressed
    0    a   <NA>             NaN  cases, cases_per_1000
    1    b   <NA>             NaN  cases, cases_per_1000
    2    c     20             7.0
    """
    if not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise SchemaError(f"threshold must be a whole number of at least 1, got {threshold!r}",
                          fix="pass threshold=5 (the default) or another whole number")
    counts = _count_columns(frame)
    columns = [c for c in counts if c in frame.columns] if columns is None else list(columns)
    missing = [c for c in [*columns, *(groups or ())] if c not in frame.columns]
    if missing:
        listed = ", ".join(map(str, frame.columns))
        raise SchemaError(f"no column {missing[0]!r} to suppress (columns: {listed})",
                          fix="name count columns of the table")
    keys = _suppression_groups(frame) if groups is None else list(groups)
    masks, _ = _masks(frame, columns, threshold, keys, secondary=secondary)
    return _hidden(frame, masks, secondary=secondary)


def _masks(frame: pd.DataFrame, columns: Sequence[str], threshold: int, keys: list[str], *, secondary: bool,
           forced: Mapping[str, set] | None = None) -> tuple[dict[str, np.ndarray], list[tuple[str, tuple]]]:
    """Return the hidden cells per count column, and the groups that stay unsafe (column, group key).

    ``forced`` maps a column to the ``(code, period)`` (or ``(code,)``) keys of cells to hide whatever
    their value: a group below them could not be protected (rule 5 of :func:`suppress_small_counts`).
    """
    masks, unsafe = {}, []
    cells = frame["code"].astype(str) if "code" in frame.columns else pd.Series("", index=frame.index)
    if "period" in frame.columns:
        cells = list(zip(cells, frame["period"].astype(str), strict=True))
    else:
        cells = [(code,) for code in cells]
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        small = values < threshold
        if forced and column in forced:
            small |= np.array([cell in forced[column] for cell in cells], dtype=bool)
        if secondary:
            small, left = _complementary(frame, values, small, keys, threshold)
            unsafe += [(column, key) for key in left]
        masks[column] = small
    return masks, unsafe


def _suppression_groups(frame: pd.DataFrame) -> list[str]:
    """Return the columns grouping cells whose sum is published elsewhere: the parent code, the period."""
    parents = [c for c in ("community_code", "street_code", "district_code") if c in frame.columns]
    return parents[:1] + (["period"] if "period" in frame.columns else [])


def _complementary(frame: pd.DataFrame, values: np.ndarray, primary: np.ndarray, keys: list[str],
                   threshold: int) -> tuple[np.ndarray, list[tuple]]:
    """Return ``primary`` with complementary cells hidden until every group is safe (rules 1–3).

    Also returns the keys of the groups left unsafe (every cell hidden).
    """
    hidden, unsafe = primary.copy(), []
    known = ~np.isnan(values)
    if keys:
        key_frame = frame[keys].astype(str).reset_index(drop=True)
        groups = key_frame.groupby(keys, sort=False).indices.items()
    else:
        groups = [((), np.arange(len(frame)))]
    for key, positions in groups:
        group = np.asarray(positions)[known[np.asarray(positions)]]
        if not hidden[group].any():
            continue
        while not _safe(values[group], hidden[group], threshold):
            shown = group[~hidden[group]]
            if not len(shown):
                unsafe.append(key if isinstance(key, tuple) else (key,))
                break
            hidden[shown[np.argmin(values[shown])]] = True
    return hidden, unsafe


def _safe(values: np.ndarray, hidden: np.ndarray, threshold: int) -> bool:
    """Whether every hidden cell can take two values given the hidden sum and the cells' bounds (rule 2)."""
    cells = values[hidden]
    if not len(cells):
        return True
    low = np.where(cells < threshold, 0.0, float(threshold))
    high = np.where(cells < threshold, float(threshold - 1), np.inf)
    total = cells.sum()
    unbounded = np.isinf(high)
    finite = np.where(unbounded, 0.0, high)
    others_low = low.sum() - low
    others_high = np.where(unbounded.sum() - unbounded > 0, np.inf, finite.sum() - finite)
    lowest = np.maximum(low, total - others_high)
    highest = np.minimum(high, total - others_low)
    return bool((highest - lowest >= 1).all())


def _hidden(frame: pd.DataFrame, masks: dict[str, np.ndarray], *, secondary: bool) -> pd.DataFrame:
    """Return ``frame`` with the masked counts, what derives from them and the ``suppressed`` column."""
    result = frame.copy()
    hidden: list[list[str]] = [[] for _ in range(len(frame))]
    for column, mask in masks.items():
        derived = [c for c in _count_columns(frame).get(column, ()) if c in frame.columns]
        if frame[column].dtype.kind in "iu":
            result[column] = result[column].astype("Int64")
        for target in (column, *derived):
            result.loc[mask, target] = pd.NA
        for position in np.flatnonzero(mask):
            hidden[position] += [column, *derived]
    changes = frame.attrs.get("changes", _CASE_CHANGES) if "count_columns" in frame.attrs else _CASE_CHANGES
    for count, columns in changes.items() if secondary else ():
        if count not in masks:
            continue
        for column, leaking in _leaking_changes(frame, masks[count], columns).items():
            result.loc[leaking, column] = pd.NA
            for position in np.flatnonzero(leaking):
                hidden[position].append(column)
    result["suppressed"] = pd.Series([", ".join(dict.fromkeys(names)) for names in hidden],
                                     index=frame.index, dtype=_STR)
    return result


def _count_columns(frame: pd.DataFrame) -> Mapping[str, Sequence[str]]:
    """Return the count columns of a table and what derives from each.

    ``attrs["count_columns"]`` when the table carries them (the rate tables of :mod:`gridmap.fieldwork`),
    else :data:`CASE_COUNT_COLUMNS`.
    """
    return frame.attrs.get("count_columns") or CASE_COUNT_COLUMNS


#: The 环比 and 同比 columns of each count column (rule 4), in that order; a table may carry its own in
#: ``attrs["changes"]`` (with its ``count_columns``).
_CASE_CHANGES = {"cases": ("cases_change_mom", "cases_change_yoy")}


def _leaking_changes(frame: pd.DataFrame, hidden: np.ndarray,
                     columns: Sequence[str] = _CASE_CHANGES["cases"]) -> dict[str, np.ndarray]:
    """Rows whose 环比/同比 (``columns``: the mom and yoy columns) has a hidden base (rule 4), per column."""
    period = frame.attrs.get("period")
    kinds = dict(zip(columns, ("cases_change_mom", "cases_change_yoy"), strict=False))
    changes = [c for c in columns if c in frame.columns]
    if period not in PERIODS or not changes or "period" not in frame.columns or not hidden.any():
        return {}
    labels = frame["period"].astype(str)
    hidden_cells = set(zip(frame["code"].astype(str)[hidden], labels[hidden], strict=True))
    bases = _base_labels(labels, period)
    return {column: np.array([(code, base) in hidden_cells
                              for code, base in zip(frame["code"].astype(str), bases[kinds[column]],
                                                    strict=True)])
            for column in changes}


def _base_labels(labels: pd.Series, period: str) -> dict[str, list[str]]:
    """Return the period label each row's 环比 and 同比 compare with (as :func:`_add_changes` does)."""
    freq, back_mom, back_yoy = PERIODS[period]
    if period == "week":
        starts = pd.to_datetime(labels.to_numpy(dtype=str) + "-1", format="%G-W%V-%u")
        periods = pd.Series(starts.to_period(freq))
    else:
        periods = pd.Series(pd.PeriodIndex(labels.to_numpy(dtype=str), freq=freq))
    yoy = (periods.dt.to_timestamp() - pd.DateOffset(years=1)).dt.to_period("D") if back_yoy is None \
        else periods - back_yoy
    return {"cases_change_mom": period_labels(periods - back_mom, period).tolist(),
            "cases_change_yoy": period_labels(yoy, period).tolist()}


def write_stats(tables: pd.DataFrame | Mapping[str, pd.DataFrame], path: str | os.PathLike, *,
                lang: str = "zh", grids: gpd.GeoDataFrame | None = None) -> Path:
    """Write summary tables atomically: Excel (one sheet per level), CSV, GeoPackage or Parquet.

    Parameters
    ----------
    tables : DataFrame or mapping level → DataFrame
        Tables from :func:`summarize` / :func:`summarize_levels`.
    path : str or os.PathLike
        ``.xlsx``: one sheet per level (网格, 社区, 街道, 区县; English names with ``lang="en"``), headers in
        Chinese (:data:`HEADERS_ZH`) or, with ``lang="en"``, the column names; thousands separators,
        percentages for shares and rates of change, widths fitted, the header frozen and filtered, and a
        bold totals row (:func:`totals_row`) below each table. ``.csv`` or ``.parquet``:
        one table, or one file per level named ``<stem>_<level><suffix>`` for several. ``.gpkg``: one
        layer per level, with the grids' polygons (dissolved per unit) when ``grids`` is given, else
        attribute tables. Column names stay English in machine formats.
    lang : {"zh", "en"}, default "zh"
    grids : geopandas.GeoDataFrame, optional
        The grids summarised, to give GeoPackage layers geometry.

    Returns
    -------
    pathlib.Path
        The file written (the first file for several CSV files).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> table = pd.DataFrame({"code": ["450102001003"], "households": [720], "cases": [3]})
    >>> path = write_stats({"community": table}, pathlib.Path(tempfile.mkdtemp()) / "stats.xlsx")
    >>> pd.read_excel(path, sheet_name=None, engine="openpyxl")["社区"].columns.tolist()
    ['编码', '户数', '事件数']
    """
    if lang not in ("zh", "en"):
        raise SchemaError(f"lang={lang!r} is not a language gridmap writes",
                          fix="pass lang='zh' or lang='en'")
    if isinstance(tables, pd.DataFrame):
        tables = {tables.attrs.get("level", "stats"): tables}
    if not tables:
        raise WriteError("no table to write", path=path, fix="pass at least one table")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _write_excel(tables, path, lang=lang)
    if suffix == ".gpkg":
        return _write_geopackage(tables, path, grids=grids)
    if suffix in (".csv", ".parquet"):
        if len(tables) == 1:
            return write_layer(_machine(next(iter(tables.values()))), path)
        written = [write_layer(_machine(t), path.with_name(f"{path.stem}_{level}{path.suffix}"))
                   for level, t in tables.items()]
        return written[0]
    raise WriteError(f"cannot write statistics as {suffix or '(no extension)'}", path=path,
                     fix="name a .xlsx, .csv, .parquet or .gpkg file")


def _check_options(*, by, period, on_time) -> None:
    """Refuse unknown options before any work (and any warning about the data)."""
    _key_column(by)
    if period is not None and period not in PERIODS:
        raise SchemaError(f"period={period!r} is not a period",
                          fix=f"pass period= one of {', '.join(PERIODS)}")
    _deadline(pd.Series([], dtype="datetime64[ns]"), on_time)


# --- preparation ----------------------------------------------------------------------------------------

class _Prepared:
    """Grids with hierarchy and area, cases with their grid, and the roster, ready for any level."""

    def __init__(self, grids: pd.DataFrame, cases: pd.DataFrame | None, staff: pd.DataFrame | None, at):
        self.grids, self.cases, self.staff, self.at = grids, cases, staff, at


def _prepare(grids, cases, staff, *, at) -> _Prepared:
    grids, staff = model_columns(grids, "grids")[0], model_columns(staff, "staff")[0]
    table = _grid_table(grids)
    prepared_cases = None
    if cases is not None:
        prepared_cases = _case_table(cases, grids, table)
        if at is None:
            times = prepared_cases[["reported_at", "accepted_at", "closed_at"]]
            at = times.max().max()
        at = _timestamp(at)
    prepared_staff = _staff_table(staff, table) if staff is not None else None
    return _Prepared(table, prepared_cases, prepared_staff, at)


def _timestamp(value) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"at={value!r} is not a date and time", fix="write it as 2025-12-31 23:59") from exc
    if pd.isna(stamp):
        raise SchemaError("there is no reference time: the cases have no times", fix="pass at=")
    return stamp.tz_convert("Asia/Shanghai").tz_localize(None) if stamp.tzinfo is not None else stamp


def _grid_table(grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """code, community/street/district codes, counts and area (km²) of every grid."""
    if not isinstance(grids, gpd.GeoDataFrame):
        raise SchemaError(f"grids must be a GeoDataFrame, got {type(grids).__name__}",
                          fix="read them with gridmap.io.read_layer")
    for column in ("code", "community_code"):
        if column not in grids.columns:
            listed = ", ".join(map(str, grids.columns))
            raise SchemaError(f"grids have no column {column!r} (columns: {listed})",
                              fix="grids need their code and the 12-digit code of their community")
    community = grids["community_code"].astype(_STR)
    bad = ~community.str.fullmatch(r"\d{12}").fillna(False).astype(bool)
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise SchemaError(f"grid {grids['code'].iloc[position]!r} has community code "
                          f"{grids['community_code'].iloc[position]!r}, not 12 digits",
                          record=f"grid {grids['code'].iloc[position]}",
                          fix="give every grid the 12-digit statistical code of its community")
    if grids["code"].duplicated().any():
        code = grids["code"][grids["code"].duplicated()].iloc[0]
        raise SchemaError(f"grid code {code!r} is used by more than one grid", record=f"grid {code}",
                          fix="give every grid its own code")
    table = pd.DataFrame({"code": grids["code"].astype(_STR).to_numpy(),
                          "community_code": community.to_numpy()})
    if _micro_grids(grids):
        table.insert(1, "grid_code", grids["grid_code"].astype(_STR).to_numpy())
    table["street_code"] = table["community_code"].str[:9]
    table["district_code"] = table["community_code"].str[:6]
    for column in COUNT_COLUMNS:
        values = grids[column] if column in grids.columns else pd.Series(pd.NA, index=grids.index)
        table[column] = pd.to_numeric(values, errors="coerce").astype("Int64").to_numpy()
    table["area_km2"] = _areas_km2(grids)
    return table


def _micro_grids(grids: pd.DataFrame) -> bool:
    """Whether the layer is micro-grids: each code starts with its ``grid_code`` and is longer."""
    if "grid_code" not in grids.columns or not len(grids):
        return False
    codes, parents = grids["code"].astype(_STR), grids["grid_code"].astype(_STR)
    starts = [isinstance(c, str) and isinstance(g, str) and len(c) > len(g) and c.startswith(g)
              for c, g in zip(codes, parents, strict=True)]
    return all(starts)


def _areas_km2(grids: gpd.GeoDataFrame) -> np.ndarray:
    crs = pyproj.CRS(grids.crs) if grids.crs is not None else None
    if crs is not None and crs.is_projected and crs.axis_info[0].unit_name in ("metre", "meter"):
        return grids.geometry.area.to_numpy() / 1e6
    return grids.geometry.to_crs(metric_crs(grids)).area.to_numpy() / 1e6


#: The columns of the cases that :func:`gridmap.cases.clean_cases` reads (case_id names records in findings;
#: times_ok marks cases it cleaned before, whose missing counts were judged invalid and stay missing).
_CASE_INPUTS = frozenset(("case_id", "reported_at", "accepted_at", "closed_at", "category", "status", "level",
                          "count", "grid_code", "times_ok"))


def _case_table(cases, grids: gpd.GeoDataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Clean cases with the grid each is in (assigned when not given); cases in no known grid dropped."""
    findings = Report("cases for statistics")
    cases = in_grids(cases, grids, report=findings)
    if "reported_at" in cases.columns:  # model names already: clean only what statistics use
        cases = cases[[c for c in cases.columns if c in _CASE_INPUTS]]
    frame = clean_cases(pd.DataFrame(cases.drop(columns=[getattr(cases, "_geometry_column_name", None)],
                                                errors="ignore")), report=findings)
    known = codes_in(frame["grid_code"], table["code"])
    dropped = int(frame.loc[~known, "count"].fillna(0).sum())
    if dropped:
        findings.add("not_in_grids", f"{dropped} cases are in no grid of the layer and are left out",
                     severity="warning", cases=dropped)
    if len(findings):
        warnings.warn(f"statistics: {findings.summary()}", GridmapWarning, stacklevel=4)
    columns = ["grid_code", "reported_at", "accepted_at", "closed_at", "status", "level", "count", "times_ok"]
    return frame.loc[known, columns].reset_index(drop=True)


def _staff_table(staff: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    from gridmap.people.staffing import grid_staff, normalize_roles

    if "grid_code" not in staff.columns and {"unit_code", "role"} <= set(staff.columns):
        staff = grid_staff(staff)
    for column in ("grid_code", "role"):
        if column not in staff.columns:
            raise SchemaError(f"the roster has no column {column!r}",
                              fix="read it with gridmap.people.read_staff")
    roster = staff.copy()
    roster["role"] = normalize_roles(roster["role"])
    return roster[codes_in(roster["grid_code"], table["code"])].reset_index(drop=True)


# --- summaries ------------------------------------------------------------------------------------------

def _key_column(by: str, *, micro: bool = False) -> str:
    if by not in (*ROLLUP_LEVELS, _MICROGRID):
        raise SchemaError(f"by={by!r} is not a level",
                          fix=f"pass by= one of {', '.join(ROLLUP_LEVELS)} (or {_MICROGRID} for micro-grids)")
    if by == "grid":
        return "grid_code" if micro else "code"
    return "code" if by == _MICROGRID else f"{by}_code"


def _summary(prepared: _Prepared, *, by: str = "grid", period: str | None = None, on_time="same_day",
             overdue_days: float = 15, names=None, publish: bool = False, threshold: int = 5,
             include_staff_contacts: bool = False) -> pd.DataFrame:
    micro = "grid_code" in prepared.grids.columns
    if by == _MICROGRID and not micro:
        raise SchemaError("by='microgrid' needs micro-grids; these grids are not micro-grids (no grid_code "
                          "column whose code starts each code)",
                          fix="pass the micro-grids of gridmap.division.build_microgrids, or by='grid'")
    key = _key_column(by, micro=micro)
    units = _units(prepared.grids, by, key)
    result = units
    if prepared.cases is not None:
        measures = _case_measures(prepared, prepared.cases, key, period, on_time=on_time,
                                  overdue_days=overdue_days)
        result = _join_periods(units, measures, period)
        result = _add_rates(result)
        if period is not None:
            result = _add_changes(result, period)
    if prepared.staff is not None:
        contacts = include_staff_contacts and by == "grid"
        staff = _staff_measures(prepared, prepared.staff, result, key, contacts=contacts)
        result = pd.concat([result.assign(code=staff.pop("code")), staff], axis=1)
        result["households_per_worker"] = _ratio(result["households"], result["full_time"])
    if names is not None:
        result.insert(1, "name", result["code"].map(_names(names)).astype(_STR))
    result = _ordered(result)
    result.attrs.update(level=by, period=period)
    if publish:
        result = suppress_small_counts(result, threshold=threshold)
    return result


def _units(grids: pd.DataFrame, by: str, key: str) -> pd.DataFrame:
    """Return one row per unit of the level: code, parents, number of grids, summed counts and area."""
    grouped = grids.groupby(key, sort=True)
    sums = grouped[[*COUNT_COLUMNS, "area_km2"]].sum(min_count=1)  # a unit without counts stays NA
    parents = [p for p in _PARENTS[by] if p != key]
    columns = {"code": sums.index.array}
    if parents:
        first = grouped[parents].first()
        columns.update((parent, first[parent].array) for parent in parents)
    columns["n_grids"] = grouped.size().to_numpy()
    columns.update((column, sums[column].astype("Int64").array) for column in COUNT_COLUMNS)
    columns["area_km2"] = area = sums["area_km2"].to_numpy()
    columns["density"] = _quotient(_floats(sums["population"]), area)
    return pd.DataFrame(columns)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """Numerator / denominator as floats, NA where the denominator is 0 or missing."""
    return pd.Series(_quotient(_floats(numerator), _floats(denominator)), index=numerator.index,
                     dtype="float64")


def _quotient(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Numerator / denominator (float arrays), NaN where the denominator is 0 or NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return numerator / np.where(denominator != 0, denominator, np.nan)


def _floats(values: pd.Series) -> np.ndarray:
    """Return a column as float64 numbers, NaN where missing or not a number."""
    if values.dtype.kind in "iufb":  # numbers already (nullable ones too): no parsing needed
        return values.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _periods(times: pd.Series, period: str) -> pd.Series:
    return times.dt.to_period(PERIODS[period][0])


def _case_measures(prepared: _Prepared, cases: pd.DataFrame, key: str, period: str | None, *, on_time,
                   overdue_days) -> pd.DataFrame:
    """Sum the cases (``prepared.cases``) and take quantiles of their times per unit (and period).

    One row per unit (and period) with cases, ordered by them: the keys, the sums of :func:`_case_parts`,
    and ``median_close_h``, ``p90_close_h`` when any case has a time to close.
    """
    keys = [_unit_of(cases["grid_code"], prepared.grids, key)]
    if period is not None:
        keys.append(_periods(cases["reported_at"], period).rename("period"))
    group, table = _groups(keys)
    parts = _case_parts(cases, prepared.at, on_time=on_time, overdue_days=overdue_days)
    grouped = group >= 0
    rows = np.flatnonzero(grouped)[np.argsort(group[grouped], kind="stable")]  # group by group
    starts = np.searchsorted(group[rows], np.arange(len(table)))  # every group has a case
    matrix = np.column_stack(list(parts.values()))[rows]
    sums = np.add.reduceat(matrix, starts, axis=0) if len(table) else matrix  # exact int64 sums
    table = pd.concat([table, pd.DataFrame(sums, columns=list(parts))], axis=1)
    hours = ((cases["closed_at"] - cases["reported_at"]).dt.total_seconds() / 3600).to_numpy()
    weight = parts["cases"]
    closed = parts["closed"] > 0  # closed cases (of weight 0 they add no duration)
    timed = grouped & closed & cases["times_ok"].to_numpy(dtype=bool) & ~np.isnan(hours)
    repeat = np.repeat(np.flatnonzero(timed), weight[timed])  # a row of count n is n cases
    if len(repeat):
        quantiles = pd.Series(hours[repeat]).groupby(group[repeat], sort=True).quantile([0.5, 0.9]).unstack()
        for q, name in ((0.5, "median_close_h"), (0.9, "p90_close_h")):
            table[name] = np.nan
            table.loc[quantiles.index.to_numpy(), name] = quantiles[q].to_numpy()
    return table


def _groups(keys: Sequence[pd.Series]) -> tuple[np.ndarray, pd.DataFrame]:
    """Return each row's group number and the groups' keys, as ``groupby(keys, sort=True, dropna=True)``.

    Rows with a missing key are in no group (-1); the frame of keys has one row per group, in order.
    """
    grouped = pd.DataFrame({key.name: key.array for key in keys}).groupby([key.name for key in keys],
                                                                           sort=True, dropna=True)
    return grouped.ngroup().fillna(-1).to_numpy(dtype=np.int64), grouped.size().index.to_frame(index=False)


def _case_parts(cases: pd.DataFrame, at: pd.Timestamp, *, on_time, overdue_days) -> dict[str, np.ndarray]:
    """Return each case's weight (``count``) in every sum: cases, closed, settled per level, due, ….

    Columns starting with ``_`` are parts of rates (:func:`_add_rates`), dropped once the rates are made.
    """
    weight = cases["count"].fillna(0).astype("int64").to_numpy()
    status = _matches(cases["status"], ("closed", "open"))
    closed = status["closed"]
    ok = cases["times_ok"].to_numpy(dtype=bool)
    parts = {"cases": weight, "closed": weight * closed}
    levels = _matches(cases["level"], HANDLING_LEVELS)
    for name in HANDLING_LEVELS:
        parts[f"_settled_{name}"] = weight * (closed & levels[name])
    parts["_settled_known"] = weight * (closed & cases["level"].notna().to_numpy())
    accepted = cases["accepted_at"].notna().to_numpy()
    parts["_accepted"] = weight * accepted
    deadline = _deadline(cases["reported_at"], on_time)
    due = ok & (accepted | (deadline <= at).to_numpy(dtype=bool))
    in_time = accepted & (cases["accepted_at"] < deadline).fillna(False).to_numpy(dtype=bool)
    parts["_due"] = weight * due
    parts["_in_time"] = weight * (due & in_time)
    reported = (cases["reported_at"] <= at).fillna(False).to_numpy(dtype=bool)
    unclosed = status["open"] & cases["closed_at"].isna().to_numpy()
    is_open = reported & (unclosed | (cases["closed_at"] > at).fillna(False).to_numpy(dtype=bool))
    late = (at - cases["reported_at"] > pd.Timedelta(days=overdue_days)).fillna(False).to_numpy(dtype=bool)
    parts["open"] = weight * is_open
    parts["overdue"] = weight * (is_open & late)
    return parts


def _matches(values: pd.Series, wanted: Sequence[str]) -> dict[str, np.ndarray]:
    """Where ``values`` equals each of ``wanted`` (False where missing); each distinct value compared once."""
    codes, uniques = pd.factorize(values)
    position = {value: i for i, value in enumerate(uniques)}
    return {name: codes == position.get(name, -2) for name in wanted}


def _unit_of(grid_codes: pd.Series, grids: pd.DataFrame, key: str) -> pd.Series:
    """Return the code of the unit (level of ``key``) each grid code belongs to, named ``code``."""
    if key == "code":
        return grid_codes.rename("code")
    units = grids[key]
    positions = pd.Index(grids["code"]).get_indexer(grid_codes)  # grid codes are unique; -1: not a grid
    values = units.array.take(positions, allow_fill=True)
    return pd.Series(values, index=grid_codes.index, name="code")


def _deadline(reported: pd.Series, on_time) -> pd.Series:
    if isinstance(on_time, str):
        if on_time != "same_day":
            raise SchemaError(f"on_time={on_time!r} is not a rule",
                              fix="pass 'same_day' or a number of hours")
        return reported.dt.normalize() + pd.Timedelta(days=1)
    if isinstance(on_time, bool) or not isinstance(on_time, (int, float)) or not on_time > 0:
        raise SchemaError(f"on_time={on_time!r} is not a number of hours", fix="pass 'same_day' or hours > 0")
    return reported + pd.Timedelta(hours=float(on_time))


def _join_periods(units: pd.DataFrame, measures: pd.DataFrame, period: str | None) -> pd.DataFrame:
    """Units joined with their case measures; with periods, every unit × every period in the data.

    Rows are the units in order; with periods, each unit's periods in order, unit after unit (the layout
    :func:`_add_changes` reads). Sums are 0 where a unit (or period) has no case.
    """
    slots = pd.Index(units["code"]).get_indexer(measures["code"])  # the units of cases are units
    if period is None:
        result = units
    else:
        present = measures["period"]
        if len(present):
            spans = pd.period_range(present.min(), present.max(), freq=present.iloc[0].freq)
            slots = slots * len(spans) + (present.array.asi8 - spans[0].ordinal)
        else:
            spans = pd.PeriodIndex([], freq=PERIODS[period][0])
        result = units.take(np.repeat(np.arange(len(units)), len(spans))).reset_index(drop=True)
        result.insert(1, "period", spans.take(np.tile(np.arange(len(spans)), len(units))).array)
    joined = {}
    for column in measures.columns.drop(["code", "period"], errors="ignore"):
        quantile = column in ("median_close_h", "p90_close_h")
        values = np.full(len(result), np.nan) if quantile else np.zeros(len(result), dtype="int64")
        values[slots] = measures[column].to_numpy()
        joined[column] = values
    return pd.concat([result.reset_index(drop=True), pd.DataFrame(joined, index=result.index)], axis=1)


def _add_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the frame with its rates after its columns, without the private ``_`` parts of the rates."""
    def ratio(numerator: str, denominator: str) -> np.ndarray:
        return _quotient(_floats(frame[numerator]), _floats(frame[denominator]))

    rates = {"cases_per_1000": 1000 * ratio("cases", "population"),
             "cases_per_km2": ratio("cases", "area_km2")}
    for name in HANDLING_LEVELS:
        rates[f"share_{name}"] = ratio(f"_settled_{name}", "_settled_known")
    rates["response_rate"] = ratio("_accepted", "cases")
    rates["on_time_rate"] = ratio("_in_time", "_due")
    kept = frame[[c for c in frame.columns if not c.startswith("_")]]
    return pd.concat([kept, pd.DataFrame(rates, index=frame.index)], axis=1)


def _add_changes(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    """环比 and 同比 as (now - base) / base, NA where the base is 0 or outside the data.

    ``frame`` is laid out as :func:`_join_periods` makes it: each unit's periods in order, unit after unit.
    """
    _, back_mom, back_yoy = PERIODS[period]
    periods = frame["period"]
    bases = {"cases_change_mom": periods - back_mom}
    if back_yoy is None:
        bases["cases_change_yoy"] = (periods.dt.to_timestamp() - pd.DateOffset(years=1)).dt.to_period("D")
    else:
        bases["cases_change_yoy"] = periods - back_yoy
    ordinals = periods.array.asi8
    first = ordinals.min() if len(ordinals) else 0
    spans = int(ordinals.max() - first + 1) if len(ordinals) else 1
    block = np.arange(len(frame)) - (ordinals - first)  # the row of each unit's first period
    cases = frame["cases"].to_numpy(dtype="float64")
    frame = frame.copy()
    for column, base_period in bases.items():
        offset = base_period.array.asi8 - first
        inside = (offset >= 0) & (offset < spans)
        base = np.where(inside, cases[np.where(inside, block + offset, 0)], np.nan) if len(frame) else cases
        frame[column] = _quotient(cases - base, base)
    frame["period"] = period_labels(frame["period"], period)
    return frame


def _staff_measures(prepared: _Prepared, roster: pd.DataFrame, result: pd.DataFrame, key: str, *,
                    contacts: bool) -> pd.DataFrame:
    """Count posts of ``roster`` per role of each row's unit in ``result``; with ``contacts``, leaders' names.

    A frame aligned to ``result``: ``code`` (as a merge of the posts on it would type it), a column of posts
    per role (0 where none; roles missing in the roster are not counted) and, with ``contacts``,
    ``leader_name`` and ``leader_phone`` (joined with "、").
    """
    unit = _unit_of(roster["grid_code"], prepared.grids, key)
    rows, codes = pd.factorize(result["code"])
    slot = codes.get_indexer(unit)  # -1: a grid whose unit has no code
    role = pd.Index(list(STAFF_ROLES)).get_indexer(roster["role"])  # -1: no known role
    counted = (slot >= 0) & (role >= 0)
    posts = np.zeros((len(codes), len(STAFF_ROLES)), dtype="int64")
    np.add.at(posts, (slot[counted], role[counted]), 1)
    columns = pd.DataFrame(posts[rows], columns=[_ROLE_COLUMNS[r] for r in STAFF_ROLES], index=result.index)
    code = result["code"]
    if unit.dtype != code.dtype:  # merging on code would type it from both sides (str and object: object)
        units = unit[counted].drop_duplicates().to_frame("code")
        code = result[["code"]].merge(units, on="code", how="left")["code"].set_axis(result.index)
    columns.insert(0, "code", code)
    if contacts:
        leaders = roster.assign(code=unit)[roster["role"].eq("leader").to_numpy()]
        for column in ("name", "phone"):
            values = leaders[column] if column in leaders.columns else pd.Series("", index=leaders.index)
            joined = values.fillna("").astype(str).groupby(leaders["code"]).agg("、".join)
            columns[f"leader_{column}"] = result["code"].map(joined).astype(_STR)
    return columns


def _names(names) -> Mapping[str, str]:
    if isinstance(names, Mapping):
        return names
    frames = names if isinstance(names, (list, tuple)) else [names]
    mapping: dict[str, str] = {}
    for frame in frames:
        if not {"code", "name"} <= set(frame.columns):
            raise SchemaError("names must have columns code and name", fix="pass the admin layers or a dict")
        mapping.update(zip(frame["code"].astype(str), frame["name"].astype(str), strict=True))
    return mapping


_ORDER = ["code", "name", "grid_code", "community_code", "street_code", "district_code", "period",
          "n_grids", "households", "population", "buildings", "area_km2", "density", "cases",
          "cases_per_1000", "cases_per_km2", "cases_change_mom", "cases_change_yoy", "closed",
          "share_grid", "share_community", "share_street", "share_district", "response_rate",
          "on_time_rate", "median_close_h", "p90_close_h", "open", "overdue", "instructors", "leaders",
          "full_time", "members", "households_per_worker", "leader_name", "leader_phone"]


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    columns = [c for c in _ORDER if c in frame.columns] + [c for c in frame.columns if c not in _ORDER]
    return frame[columns].reset_index(drop=True)


# --- writing --------------------------------------------------------------------------------------------

def _machine(table: pd.DataFrame) -> pd.DataFrame:
    """Return a table for machine formats: periods as text, everything else as it is."""
    table = table.copy()
    if "period" in table.columns:
        table["period"] = table["period"].astype(str)
    return table


#: Excel number formats of the columns (others: thousands separators for counts, two decimals).
_FORMATS = {**dict.fromkeys(("cases_change_mom", "cases_change_yoy", "share_grid", "share_community",
                             "share_street", "share_district", "response_rate", "on_time_rate"), "0.0%"),
            **dict.fromkeys(("density", "households_per_worker"), "#,##0"),
            **dict.fromkeys(("cases_per_1000", "cases_per_km2", "median_close_h", "p90_close_h"), "#,##0.0"),
            "area_km2": "#,##0.00"}
#: Counts of what a unit has (the same in every period of a per-period table), and counts of cases.
_STOCKS = ("n_grids", *COUNT_COLUMNS, "area_km2", *_ROLE_COLUMNS.values())
_FLOWS = tuple(CASE_COUNT_COLUMNS)


def totals_row(table: pd.DataFrame, *, label: str = "合计") -> dict[str, object]:
    """Return the totals of a :func:`summarize` table: counts summed, rates recomputed from the totals.

    Counts of what units have (grids, households, population, buildings, area, staff posts) are summed
    over the units (once per unit in a per-period table); case counts over every row. Rates are recomputed
    from those totals, never summed: ``density``, ``cases_per_1000``, ``cases_per_km2``,
    ``households_per_worker``, and ``response_rate`` (accepted cases, ``response_rate × cases`` per row,
    over the cases). Rates whose parts the table does not hold (settled shares, on-time rate, times to
    close, 环比/同比) are left empty, as is a count whose column has hidden (suppressed) cells: the sum of
    the shown cells would be wrong. ``label`` goes in the ``code`` column.

    Examples
    --------
    >>> table = pd.DataFrame({"code": ["a", "b"], "population": [1000, 3000], "area_km2": [1.0, 1.0],
    ...                       "cases": [10, 30], "cases_per_1000": [10.0, 10.0]})
    >>> totals_row(table)
    {'code': '合计', 'population': 4000, 'area_km2': 2.0, 'cases': 40, 'cases_per_1000': 10.0}
    """
    units = table.drop_duplicates("code") if "code" in table.columns else table
    row: dict[str, Any] = {}
    for column in table.columns:
        source = units if column in _STOCKS else table if column in _FLOWS else None
        if source is not None and not source[column].isna().any():
            total = source[column].sum()
            row[column] = total.item() if hasattr(total, "item") else total

    def ratio(numerator: str, denominator: str, scale: float = 1.0) -> float | None:
        top, bottom = row.get(numerator), row.get(denominator)
        return None if top is None or not bottom else scale * float(top) / float(bottom)
    recomputed = {"density": ratio("population", "area_km2"),
                  "cases_per_1000": ratio("cases", "population", 1000.0),
                  "cases_per_km2": ratio("cases", "area_km2"),
                  "households_per_worker": ratio("households", "full_time")}
    if {"response_rate", "cases"} <= set(table.columns) and "cases" in row:
        accepted = (pd.to_numeric(table["response_rate"], errors="coerce")
                    * pd.to_numeric(table["cases"], errors="coerce")).sum()
        recomputed["response_rate"] = float(accepted) / float(row["cases"]) if row["cases"] else None
    row.update({column: value for column, value in recomputed.items()
                if column in table.columns and value is not None})
    if "code" in table.columns:
        row["code"] = label
    return {column: row[column] for column in table.columns if column in row}


def _write_excel(tables: Mapping[str, pd.DataFrame], path: Path, *, lang: str) -> Path:
    sheets, totals = {}, {}
    headers = HEADERS_ZH if lang == "zh" else {}
    for level, table in tables.items():
        sheet = (_SHEETS_ZH.get(level, str(level)) if lang == "zh" else str(level))[:31]
        table = _machine(table)
        sheets[sheet] = table.rename(columns=headers)
        totals[sheet] = {headers.get(c, c): v
                         for c, v in totals_row(table, label="合计" if lang == "zh" else "Total").items()}
    formats = {headers.get(column, column): number_format for column, number_format in _FORMATS.items()}
    return write_workbook(sheets, path, formats=formats, totals=totals)


def _write_geopackage(tables: Mapping[str, pd.DataFrame], path: Path, *, grids) -> Path:
    with atomic_path(path, what="the GeoPackage") as temporary:
        for level, table in tables.items():
            layer = _machine(table)
            if grids is not None:
                layer = _with_geometry(layer, grids, level)
            write_layer(layer, temporary, str(level), mode="a")
    return path


def _with_geometry(table: pd.DataFrame, grids: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """Return the table with each unit's polygon: the grid's, or the union of its grids."""
    key = _key_column(level) if level in ROLLUP_LEVELS else "code"
    shapes = gpd.GeoDataFrame({"code": grids["code"].astype(str).to_numpy(),
                               "community_code": grids["community_code"].astype(str).to_numpy()},
                              geometry=grids.geometry.to_numpy(), crs=grids.crs)
    if key != "code":
        length = _CODE_LENGTH[level]
        shapes = shapes.assign(code=shapes["community_code"].str[:length]).dissolve("code").reset_index()
    merged = table.merge(shapes[["code", "geometry"]], on="code", how="left")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=grids.crs)
