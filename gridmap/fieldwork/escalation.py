r"""Escalation steps: "小事不出网格、大事不出社区、难事不出街道" measured from each case's handling history.

A case's handling history is a sequence of steps (level, handler, time): it enters at some level (网格,
社区, 街道, 区县), may be reported up (上报), returned down (退回/下派) and is settled at the level of its
last step (seeds 000 and 004). :func:`read_steps` reads histories in either shape:

* one row per step — ``case_id``, ``level``, optional ``handler``, ``time`` and ``step`` (事件编号, 层级,
  处置人, 时间, 步骤 …);
* one row per case with numbered step columns — ``level_1``, ``handler_1``, ``time_1``, ``level_2`` …
  (层级1, 处置人1, 时间1, 第2步层级 …), e.g. the case list itself.

Both give the same canonical frame (:data:`STEP_COLUMNS`). Steps are put in order by their step number
when the file gives one (the column number in the wide shape), else by time (a step without a time stays
after the step listed before it). Times are read by the rule of :func:`gridmap.cases.read_cases` (a zone
is converted to Beijing time, a time without one is Beijing time already).

:func:`analyse_escalation` then measures, per case, level and grid: where cases were settled, the time
spent at each level, cases that skipped a level (a step up by more than one level: 网格 → 街道), cases
returned down (a step to a lower level) and the "settled inside the grid" rate — cases closed without
ever leaving their grid. :class:`TierRules` is the tiered response (分级响应, seed 004): which case types
may go to which levels; a case whose history breaks it is a finding.

Examples
--------
>>> steps = pd.DataFrame({"事件编号": ["A", "B", "B", "C", "C"],
...                       "层级": ["网格", "网格", "社区", "网格", "街道"],
...                       "时间": ["2025-03-01 09:00", "2025-03-01 10:00", "2025-03-01 12:00",
...                              "2025-03-02 08:00", "2025-03-02 09:00"]})
>>> result = analyse_escalation(steps)
>>> result.cases[["case_id", "path", "final_level", "skipped", "returned"]]
  case_id                  path final_level  skipped  returned
0       A                  grid        grid    False     False
1       B        grid>community   community    False     False
2       C           grid>street      street     True     False
>>> result.levels[["level", "settled", "share_settled", "skipped"]]
       level  settled  share_settled  skipped
0       grid        1       0.333333        0
1  community        1       0.333333        1
2     street        1       0.333333        0
3   district        0       0.000000        0
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sys
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.cases import clean_cases, in_grids, normalize_level
from gridmap.cases.read import parse_times, rename_case_columns
from gridmap.errors import CaseError, GridmapError, SchemaError
from gridmap.findings import Report
from gridmap.io import read_table, record_labels
from gridmap.io.read import SOURCE
from gridmap.schema import (
    HANDLING_LEVEL_NAMES_ZH,
    HANDLING_LEVELS,
    STEP_COLUMN_WORDS,
    TIER_RULES,
    header_key,
    model_columns,
    vocabulary_key,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "read_steps",
    "clean_steps",
    "analyse_escalation",
    "Escalation",
    "TierRules",
    "STEP_COLUMNS",
    "ESCALATION_HEADERS_ZH",
]

logger = logging.getLogger(__name__)

#: The columns of a clean handling history, one row per step, ordered by case and step.
STEP_COLUMNS = ["case_id", "step", "level", "handler", "time"]

#: Chinese headers of the tables :func:`analyse_escalation` returns.
ESCALATION_HEADERS_ZH = {
    "case_id": "事件编号",
    "grid_code": "网格编码",
    "category": "事件类型",
    "status": "状态",
    "path": "流转路径",
    "path_zh": "流转路径(中文)",
    "first_level": "首个层级",
    "final_level": "办结层级",
    "top_level": "最高层级",
    "n_steps": "步骤数",
    "skipped": "越级上报",
    "returned": "退回下级",
    "settled": "已办结",
    "settled_in_grid": "网格内化解",
    "times_ok": "时间有效",
    "tier_ok": "符合分级响应",
    "level": "层级",
    "level_zh": "层级名称",
    "share_settled": "办结占比",
    "reached": "到达事件数",
    "entered": "首入事件数",
    "returned_from": "由此退回数",
    "median_hours": "停留时长中位数(小时)",
    "mean_hours": "停留时长平均(小时)",
    "code": "编码",
    "community_code": "社区代码",
    "street_code": "街道代码",
    "district_code": "区县代码",
    "cases": "事件数",
    "settled_in_grid_rate": "网格内化解率",
    "tier_breaches": "违反分级响应数",
    "label": "标签",
    **{f"hours_{level}": f"{name}停留(小时)" for level, name in HANDLING_LEVEL_NAMES_ZH.items()},
    **{f"share_{level}": f"{name}办结占比" for level, name in HANDLING_LEVEL_NAMES_ZH.items()},
}

#: Count columns of the per-grid table and what derives from each, for
#: :func:`gridmap.stats.suppress_small_counts` (the table carries it in ``attrs["count_columns"]``).
GRID_COUNT_COLUMNS = {
    "cases": ("skipped", "returned", "tier_breaches"),
    "settled": ("settled_in_grid", "settled_in_grid_rate", *(f"share_{x}" for x in HANDLING_LEVELS), "label"),
}

_RANK = {level: rank for rank, level in enumerate(HANDLING_LEVELS)}
_WORDS = {header_key(word): column for column, words in STEP_COLUMN_WORDS.items() for word in words}
_NUMERALS = dict(zip("一二三四五六七八九十", range(1, 11), strict=True))
_STEP_AFTER = re.compile(r"^(?P<name>.+?)[_\-.#]?[(\[]?(?P<n>\d+)[)\]]?$")  # level_1, 层级1, 时间(2)
_STEP_BEFORE = re.compile(
    r"^(?:第|step|步骤)?(?P<n>\d+|[一二三四五六七八九十])(?:步|级|次|环节)?[_\-.]?"
    r"(?P<name>.+)$"
)  # 第2步层级, step2_level
_NUMBERED = ("level", "handler", "time")
_STR = "str" if int(pd.__version__.split(".")[0]) >= 3 else object
_ROW = "_row"  # the record label of the row a step came from, while cleaning


# --- reading --------------------------------------------------------------------------------------------


def read_steps(
    path: str | os.PathLike,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    report: Report | None = None,
) -> pd.DataFrame:
    r"""Read handling histories from a CSV (UTF-8, GBK …), Excel or Parquet file, in either shape.

    Parameters
    ----------
    path : str or os.PathLike
        One row per step (事件编号/case_id, 层级/level, 处置人/handler, 时间/time, optional 步骤/step) or one
        row per case with numbered step columns (层级1, 处置人1, 时间1, 层级2 … or level_1, handler_1 …).
    sheet : str, optional
        Sheet of a workbook.
    encoding : str, optional
        Text encoding of a CSV that is neither UTF-8 nor GBK/GB18030.
    report : gridmap.Report, optional
        Receives the findings (duplicate steps, steps without a level, unreadable times).

    Returns
    -------
    pandas.DataFrame
        :data:`STEP_COLUMNS`, see :func:`clean_steps`.

    Raises
    ------
    CaseError
        A level that is not a handling level, naming the file, the row and the case.
    SchemaError
        No case id or level column.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "steps.csv"
    >>> _ = path.write_text("事件编号,层级1,时间1,层级2,时间2\n"
    ...                     "E1,网格,2025-03-01 09:00,社区,2025-03-01 11:30\n",
    ...                     encoding="gbk")
    >>> read_steps(path)[["case_id", "step", "level", "time"]]
      case_id  step      level                time
    0      E1     1       grid 2025-03-01 09:00:00
    1      E1     2  community 2025-03-01 11:30:00
    """
    aliases: dict[str, str | None] = {
        word: column for column, words in STEP_COLUMN_WORDS.items() for word in words
    }
    table = read_table(path, sheet=sheet, encoding=encoding, aliases=aliases)
    return clean_steps(table, path=path, report=report)


def clean_steps(
    steps: pd.DataFrame, *, path: str | os.PathLike | None = None, report: Report | None = None
) -> pd.DataFrame:
    """Return handling histories as one row per step, in order, whichever shape they were given in.

    Headers in Chinese or English (:data:`gridmap.schema.STEP_COLUMN_WORDS`); levels in Chinese or English
    (:func:`gridmap.cases.normalize_level`: 网格, 社区, 村, 街道, 乡镇, 区县 …). Exact repeats of a step
    (same case, level, handler and time) are dropped with a ``duplicate_step`` finding; a step without a
    level is dropped with a ``missing_level`` finding; an unreadable time becomes missing (``bad_time``).
    Steps are numbered 1, 2 … per case in their order (see the module docstring).

    Parameters
    ----------
    steps : pandas.DataFrame
        Either shape; not modified.
    path : str or os.PathLike, optional
        The file the steps came from, named in errors.
    report : gridmap.Report, optional
        Receives the findings; without it they are logged.

    Returns
    -------
    pandas.DataFrame
        ``case_id`` (text), ``step`` (1, 2 …), ``level`` (grid / community / street / district), ``handler``
        (text or missing), ``time`` (naive Beijing time or missing), ordered by case id and step.

    Raises
    ------
    CaseError
        A level that is not a handling level (the row and case are named), or a step number that is not a
        whole number.
    SchemaError
        No case id or no level column.

    Examples
    --------
    >>> wide = pd.DataFrame({"case_id": ["A"], "level_1": ["grid"], "level_2": ["street"],
    ...                      "time_1": ["2025-03-01T01:00Z"], "time_2": ["2025-03-01 10:00"]})
    >>> clean_steps(wide)
      case_id  step   level handler                time
    0       A     1    grid     NaN 2025-03-01 09:00:00
    1       A     2  street     NaN 2025-03-01 10:00:00
    """
    path = path if path is not None else steps.attrs.get(SOURCE)
    findings = Report("handling steps")
    frame = steps.copy()
    frame[_ROW] = record_labels(frame).to_numpy()
    numbered = _numbered_columns(frame.columns)
    long = _from_wide(frame, numbered, path) if numbered else _from_long(frame, path)
    long = _drop_blank(long, findings)
    long["level"] = _levels(long, path)
    long["time"] = parse_times(long, "time", findings, path=path)
    long = _ordered(long, findings, path)
    if report is not None:
        report.extend(findings)
    elif len(findings):
        logger.warning("%s; pass report= to list them", findings.summary())
    return long[STEP_COLUMNS].reset_index(drop=True)


def _renamed(columns: Sequence[Hashable]) -> dict[Hashable, str]:
    """Headers that name a step column (事件编号, 层级, 时间 …) → the canonical name."""
    renames: dict[Hashable, str] = {}
    for column in columns:
        target = _WORDS.get(header_key(column))
        if target is not None and target not in renames.values() and target not in columns:
            renames[column] = target
    return renames


def _numbered_columns(columns: Sequence[Hashable]) -> dict[int, dict[str, Hashable]]:
    """Return ``{step number: {level/handler/time: header}}`` for the numbered headers of the wide shape."""
    found: dict[int, dict[str, Hashable]] = {}
    for column in columns:
        key = header_key(column)
        for pattern in (_STEP_AFTER, _STEP_BEFORE):
            match = pattern.match(key)
            target = _WORDS.get(match.group("name")) if match else None
            if match is not None and target in _NUMBERED:
                number = match.group("n")
                found.setdefault(int(_NUMERALS.get(number, number)), {})[target] = column
                break
    if not any("level" in parts for parts in found.values()):
        return {}
    return dict(sorted(found.items()))


def _case_ids(frame: pd.DataFrame, path) -> pd.Series:
    renames = _renamed(frame.columns)
    column = (
        "case_id"
        if "case_id" in frame.columns
        else next((header for header, target in renames.items() if target == "case_id"), None)
    )
    if column is None:
        listed = ", ".join(str(c) for c in frame.columns if c != _ROW)
        raise SchemaError(
            f"the handling steps have no case id column (columns: {listed})",
            path=path,
            fix="head the column of case ids 事件编号 or case_id",
        )
    return _text(frame[column])


def _from_wide(frame: pd.DataFrame, numbered: dict[int, dict[str, Hashable]], path) -> pd.DataFrame:
    """One row per case with numbered step columns → one row per filled step."""
    ids = _case_ids(frame, path)
    parts = []
    for number, columns in numbered.items():
        part = pd.DataFrame({"case_id": ids, "step": number, _ROW: frame[_ROW]}, index=frame.index)
        for target in _NUMBERED:
            part[target] = frame[columns[target]] if target in columns else pd.NA
        part["_column"] = str(columns.get("level", ""))
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _from_long(frame: pd.DataFrame, path) -> pd.DataFrame:
    """One row per step: rename the headers, check the required columns."""
    ids = _case_ids(frame, path)
    renamed = frame.rename(columns={k: v for k, v in _renamed(frame.columns).items() if v != "case_id"})
    if "level" not in renamed.columns:
        listed = ", ".join(str(c) for c in frame.columns if c != _ROW)
        raise SchemaError(
            f"the handling steps have no level column (columns: {listed})",
            path=path,
            fix="head the level of each step 层级 or level (or give level_1, level_2 … for one row per case)",
        )
    long = pd.DataFrame({"case_id": ids, _ROW: renamed[_ROW]}, index=frame.index)
    for target in ("step", *_NUMBERED):
        long[target] = renamed[target] if target in renamed.columns else pd.NA
    long["_column"] = str(next((h for h, t in _renamed(frame.columns).items() if t == "level"), "level"))
    return long.reset_index(drop=True)


def _text(values: pd.Series) -> pd.Series:
    """Values as stripped text (whole numbers without ``.0``), NA for missing and blank ones."""
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    text = values.astype("string").str.strip()
    return text.where(text.notna() & (text != ""), None).astype(_STR)


def _drop_blank(long: pd.DataFrame, findings: Report) -> pd.DataFrame:
    """Drop empty step slots, and steps that give a handler or time but no level (reported)."""
    long = long.assign(level=_text(long["level"]), handler=_text(long["handler"]))
    time_given = long["time"].notna() & long["time"].astype("string").str.strip().ne("").fillna(False)
    no_level = long["level"].isna()
    orphan = no_level & (long["handler"].notna() | time_given)
    if orphan.any():
        findings.add_many(
            "missing_level",
            "step {step} of case {case} has no level; it is left out",
            records=long.loc[orphan, _ROW].to_numpy(),
            severity="warning",
            step=long.loc[orphan, "step"].astype(str).to_numpy(),
            case=long.loc[orphan, "case_id"].astype(str).to_numpy(),
        )
    missing_id = long["case_id"].isna() & ~no_level
    if missing_id.any():
        findings.add_many(
            "missing_case_id",
            "a step has no case id; it is left out",
            records=long.loc[missing_id, _ROW].to_numpy(),
            severity="warning",
        )
    return long[~no_level & ~missing_id].reset_index(drop=True)


def _levels(long: pd.DataFrame, path) -> pd.Series:
    """Normalise the levels; the first unknown one raises a CaseError naming its row and case."""
    lookup: dict[object, str | None] = {}
    for value in pd.unique(long["level"]):
        try:
            lookup[value] = normalize_level(value)
        except CaseError as error:
            position = int(np.flatnonzero((long["level"] == value).to_numpy())[0])
            row = long.iloc[position]
            raise CaseError(
                f"level {value!r} of step {row['step'] if pd.notna(row['step']) else ''} "
                f"(column {row['_column']!r}) of case {row['case_id']} is not a handling level",
                path=path,
                record=str(row[_ROW]),
                fix=error.fix,
            ) from None
    return long["level"].map(lookup).astype(_STR)


def _ordered(long: pd.DataFrame, findings: Report, path) -> pd.DataFrame:
    """Drop repeated steps, put each case's steps in order and number them 1, 2 and so on."""
    content = ["case_id", "level", "handler", "time"]
    repeated = (long["step"].notna() & long.duplicated([*content, "step"], keep="first")) | (
        long["time"].notna() & long.duplicated(content, keep="first")
    )
    if repeated.any():
        findings.add_many(
            "duplicate_step",
            "a step of case {case} is listed twice; the repeat is left out",
            records=long.loc[repeated, _ROW].to_numpy(),
            severity="warning",
            case=long.loc[repeated, "case_id"].astype(str).to_numpy(),
        )
    long = long[~repeated.to_numpy()].reset_index(drop=True)
    long["_position"] = np.arange(len(long))
    if long["step"].notna().any():
        number = pd.to_numeric(long["step"], errors="coerce")
        bad = long["step"].notna() & (number.isna() | (number % 1 != 0))
        if bad.any():
            row = long[bad.to_numpy()].iloc[0]
            raise CaseError(
                f"step number {row['step']!r} of case {row['case_id']} is not a whole number",
                path=path,
                record=str(row[_ROW]),
                fix="number the steps of each case 1, 2, 3 …",
            )
        long["_key"] = number.astype("float64")
        clash = long["_key"].notna() & long.duplicated(["case_id", "_key"], keep="first")
        if clash.any():
            findings.add_many(
                "conflicting_step",
                "case {case} has two different steps numbered {step}; both are kept, in file order",
                records=long.loc[clash, _ROW].to_numpy(),
                case=long.loc[clash, "case_id"].astype(str).to_numpy(),
                step=long.loc[clash, "step"].astype(str).to_numpy(),
                severity="warning",
            )
    else:  # by time; a step without a time stays after the step listed before it
        filled = long.groupby("case_id", sort=False)["time"].ffill()
        long["_key"] = filled.fillna(pd.Timestamp.min).astype("int64").astype("float64")
    long = long.sort_values(["case_id", "_key", "_position"], kind="stable", na_position="last")
    long["step"] = long.groupby("case_id", sort=False).cumcount().to_numpy() + 1
    return long


# --- tiered response ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierRules:
    """Tiered response (分级响应): the handling levels each case type may reach.

    Parameters
    ----------
    levels : mapping of str to sequence of str, optional
        Case type (事件类型, compared after :func:`gridmap.schema.vocabulary_key`) → the levels its cases
        may go to, in Chinese or English; ``default`` holds for the types not named. Rows given replace
        those of :data:`gridmap.schema.TIER_RULES`, the others are kept.

    Examples
    --------
    >>> rules = TierRules({"环境卫生": ["网格"]})
    >>> rules.allowed("环境卫生"), rules.allowed("矛盾纠纷"), rules.allowed("没有的类型")
    (('grid',), ('grid', 'community', 'street', 'district'), ('grid', 'community', 'street', 'district'))
    """

    levels: Mapping[str, Sequence[str]] = field(default_factory=dict)
    _table: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = {vocabulary_key(kind): tuple(levels) for kind, levels in TIER_RULES.items()}
        for kind, levels in dict(self.levels).items():
            if isinstance(levels, str) or not isinstance(levels, Sequence):
                raise GridmapError(
                    f"the levels of case type {kind!r} are {levels!r}, not a list",
                    record=f"key {kind}",
                    fix='write them as a list, e.g. ["网格", "社区"]',
                )
            try:
                normalised = [normalize_level(level) for level in levels]
            except CaseError as error:
                raise GridmapError(
                    f"case type {kind!r}: {error.problem}", record=f"key {kind}", fix=error.fix
                ) from None
            table[vocabulary_key(str(kind))] = tuple(
                level for level in HANDLING_LEVELS if level in normalised
            )
        object.__setattr__(self, "_table", table)

    def allowed(self, category: object) -> tuple[str, ...]:
        """Return the levels cases of ``category`` may reach (the ``default`` row for unknown types)."""
        key = vocabulary_key(category) if isinstance(category, str) else None
        return self._table.get(key, self._table["default"]) if key else self._table["default"]

    @classmethod
    def from_toml(cls, path: str | os.PathLike, *, table: str = "tiers") -> TierRules:
        r"""Read the rules from a TOML file: a ``[tiers]`` table (or top-level keys) of ``"type" = [levels]``.

        Chinese keys must be quoted in TOML (``"环境卫生" = ["网格", "社区"]``); ``default = [...]`` sets the
        levels of the types not named.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiers.toml"
        >>> _ = path.write_text('[tiers]\n"城市管理" = ["网格", "社区"]\n', encoding="utf-8")
        >>> TierRules.from_toml(path).allowed("城市管理")
        ('grid', 'community')
        """
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise GridmapError(
                f"cannot read the tiered response rules: {exc}",
                path=path,
                fix='give a UTF-8 TOML file with a [tiers] table of lines "城市管理" = ["网格", "社区"] '
                "(Chinese keys in double quotes)",
            ) from exc
        if isinstance(data.get(table), dict):
            data = data[table]
        try:
            return cls(data)
        except GridmapError as error:
            raise error.at(path) from None


# --- analysis -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    """What :func:`analyse_escalation` found.

    Attributes
    ----------
    cases : pandas.DataFrame
        One row per case with a history: ``case_id``, ``grid_code`` and ``category`` and ``status`` (with
        cases), ``path`` (``grid>community``), ``path_zh`` (网格→社区), ``first_level``, ``final_level``,
        ``top_level``, ``n_steps``, ``skipped``, ``returned``, ``settled``, ``settled_in_grid``,
        ``times_ok``, ``tier_ok`` and the hours spent at each level (``hours_grid`` …, NA where the case
        never was there or the time is unknown).
    levels : pandas.DataFrame
        One row per handling level: ``settled`` and ``share_settled`` (of the settled cases),
        ``reached`` (cases that were at the level at some step), ``entered`` (cases whose first step is
        there), ``skipped`` (cases that jumped over it), ``returned_from`` (cases sent down from it),
        ``median_hours`` and ``mean_hours`` spent there (cases with times in order only).
    grids : pandas.DataFrame or geopandas.GeoDataFrame or None
        One row per grid (every grid of ``grids`` when given, with its polygon): ``cases``, ``settled``,
        ``settled_in_grid``, ``settled_in_grid_rate``, ``share_grid`` … ``share_district``, ``skipped``,
        ``returned``, ``tier_breaches`` and a Chinese ``label``; None when the cases' grids are unknown.
    report : gridmap.Report
        Findings: ``tier_breach`` (error), ``time_backwards``, ``level_mismatch``, ``unknown_case`` and
        the reading findings (warnings), each with the ``code`` of the grid it is about when known.
    """

    cases: pd.DataFrame
    levels: pd.DataFrame
    grids: pd.DataFrame | None
    report: Report = dataclasses.field(repr=False)

    def totals(self) -> dict[str, Any]:
        """Return the city-wide figures: cases, settled, shares skipped, returned and settled in the grid.

        Examples
        --------
        >>> steps = pd.DataFrame({"case_id": ["A", "B", "B"], "level": ["grid", "grid", "community"]})
        >>> analyse_escalation(steps).totals()["settled_in_grid_rate"]
        0.5
        """
        cases = self.cases
        settled = int(cases["settled"].sum())
        return {
            "cases": len(cases),
            "settled": settled,
            "skipped_rate": _share(int(cases["skipped"].sum()), len(cases)),
            "returned_rate": _share(int(cases["returned"].sum()), len(cases)),
            "settled_in_grid_rate": _share(int(cases["settled_in_grid"].sum()), settled),
            "tier_breaches": int((~cases["tier_ok"]).sum()),
            "times_backwards": int((~cases["times_ok"]).sum()),
        }


def analyse_escalation(
    steps: pd.DataFrame,
    cases: pd.DataFrame | None = None,
    *,
    grids: gpd.GeoDataFrame | None = None,
    rules: TierRules | None = None,
    report: Report | None = None,
) -> Escalation:
    """Measure escalation from handling histories: settled shares, time per level, skips, returns, tiers.

    Parameters
    ----------
    steps : pandas.DataFrame
        Handling histories in either shape (:func:`clean_steps` is applied).
    cases : pandas.DataFrame or geopandas.GeoDataFrame, optional
        The cases (:func:`gridmap.cases.read_cases`): their ``category`` (for the tiered response),
        ``status`` and ``closed_at`` (a case is settled when closed; its last stay lasts until
        ``closed_at``), ``level`` (checked against the last step) and grid (``grid_code``, or points put in
        ``grids``). Without cases, every history counts as settled at its last step and the time of the
        last stay is unknown.
    grids : geopandas.GeoDataFrame, optional
        ``code`` (and ``community_code``) and polygons: the grids to put cases without a ``grid_code`` in;
        the per-grid table then has a row and a polygon for every grid.
    rules : TierRules, optional
        The tiered response; default :data:`gridmap.schema.TIER_RULES`.
    report : gridmap.Report, optional
        Findings are added to it as well as to the result's own report.

    Returns
    -------
    Escalation
        Per-case, per-level and per-grid tables and the findings.

    Notes
    -----
    "Settled inside the grid" (网格内化解) counts a settled case whose every step is at the grid level; a
    case returned down to the grid after going up counts as settled at the grid level (``share_grid``,
    the share :func:`gridmap.stats.summarize` gives) but not as settled inside the grid. Cases whose step
    times go backwards (or whose closing time comes before their last step) are reported and left out of
    the times spent at each level, but counted everywhere else.
    """
    findings = Report("escalation")
    history = clean_steps(steps, report=findings)
    known = _case_table(cases, grids, findings) if cases is not None else None
    history = _with_case_columns(history, known, findings)
    per_case = _per_case(history, known, rules or TierRules(), findings)
    levels = _per_level(history, per_case)
    per_grid = _per_grid(per_case, grids, findings) if "grid_code" in per_case.columns else None
    if report is not None:
        report.extend(findings)
    return Escalation(cases=per_case, levels=levels, grids=per_grid, report=findings)


def _case_table(
    cases: pd.DataFrame,
    grids: gpd.GeoDataFrame | None,
    findings: Report,
    *,
    columns: Sequence[str] = ("grid_code", "category", "status", "level", "closed_at"),
) -> pd.DataFrame:
    """Clean cases with their grid when it is known (grid_code, or points put in ``grids``), by case id.

    Cases with a report time go through :func:`gridmap.cases.clean_cases`; a bare list (case ids, types,
    grids) only has its ids made text and its levels normalised. ``columns``: those kept, when present.
    """
    cases = model_columns(cases, "cases")[0]
    if "grid_code" in cases.columns or (grids is not None and isinstance(cases, gpd.GeoDataFrame)):
        cases = in_grids(cases, grids if grids is not None else gpd.GeoDataFrame(), report=findings)
    frame = pd.DataFrame(cases.drop(columns=[getattr(cases, "_geometry_column_name", None)], errors="ignore"))
    if "reported_at" not in frame.columns:
        frame = rename_case_columns(frame, path=cases.attrs.get(SOURCE))
    frame = clean_cases(frame, report=findings) if "reported_at" in frame.columns else _light_clean(frame)
    kept = [c for c in ("case_id", *columns) if c in frame.columns]
    return frame[kept].drop_duplicates("case_id", keep="first").set_index("case_id")


def _light_clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Cases without report times (a list of case ids, types and grids): ids as text, levels normalised."""
    renames = {c: "case_id" for c, target in _renamed(frame.columns).items() if target == "case_id"}
    frame = frame.rename(columns=renames)
    if "case_id" not in frame.columns:
        raise SchemaError(
            "the cases have no case id column", fix="head the column of case ids 事件编号 or case_id"
        )
    frame = frame.assign(case_id=_text(frame["case_id"]))
    if "level" in frame.columns:
        frame["level"] = frame["level"].map(_level_or_none)
    return frame


def _level_or_none(value: object) -> str | None:
    try:
        return normalize_level(value)
    except CaseError:
        return None


def _with_case_columns(history: pd.DataFrame, known: pd.DataFrame | None, findings: Report) -> pd.DataFrame:
    """Join each step with its case's grid, type, status and closing time; report steps of unknown cases."""
    if known is None:
        return history
    joined = history.join(known.drop(columns=["level"], errors="ignore"), on="case_id")
    missing = ~_is_among(history["case_id"], known.index)
    if missing.any():
        ids = pd.unique(history.loc[missing, "case_id"])
        findings.add_many(
            "unknown_case",
            "case {case} has handling steps but is not in the case list; its "
            "steps are kept without grid or type",
            records=[f"case {i}" for i in ids],
            severity="warning",
            case=ids,
        )
    return joined


def _per_case(
    history: pd.DataFrame, known: pd.DataFrame | None, rules: TierRules, findings: Report
) -> pd.DataFrame:
    """One row per case: path, first/final/top level, skips, returns, time per level, tier rule."""
    rank = history["level"].map(_RANK).to_numpy(dtype="int64")
    case = history["case_id"].to_numpy()
    same = _same_case(case)
    jump = np.where(same, rank - (np.r_[0, rank[:-1]] if len(rank) else rank), 0)
    starts = np.flatnonzero(~same)
    groups = pd.Series(np.cumsum(~same) - 1)
    table = pd.DataFrame({"case_id": case[starts]})
    for column in ("grid_code", "category", "status"):
        if column in history.columns:
            table[column] = history[column].to_numpy()[starts]
    levels = history["level"].to_numpy()
    table["path"] = _joined(levels, starts)
    table["path_zh"] = table["path"].map(
        {
            path: "→".join(HANDLING_LEVEL_NAMES_ZH[x] for x in path.split(">"))
            for path in table["path"].unique()
        }
    )
    table["first_level"] = levels[starts]
    ends = np.r_[starts[1:], len(history)][: len(starts)] - 1
    table["final_level"] = levels[ends]
    table["top_level"] = (
        [HANDLING_LEVELS[r] for r in np.maximum.reduceat(rank, starts)] if len(starts) else []
    )
    table["n_steps"] = ends - starts + 1
    table["skipped"] = np.logical_or.reduceat(jump > 1, starts) if len(starts) else []
    table["returned"] = np.logical_or.reduceat(jump < 0, starts) if len(starts) else []
    closed = (
        table["status"].eq("closed").to_numpy(dtype=bool)
        if "status" in table.columns
        else np.ones(len(table), dtype=bool)
    )
    table["settled"] = closed
    all_grid = np.logical_and.reduceat(rank == 0, starts) if len(starts) else np.array([], dtype=bool)
    table["settled_in_grid"] = closed & all_grid
    table = _time_per_level(table, history, same, starts, groups, findings)
    table["tier_ok"] = _tiers(table, history, groups, rules, findings)
    if known is not None and "level" in known.columns:
        _check_final_levels(table, known, findings)
    return table


def _joined(levels: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Join the levels of each case (its steps from ``starts``) by ``>``: ``grid>community``."""
    if not len(starts):
        return np.array([], dtype=object)
    return np.array([path[:-1] for path in np.add.reduceat(np.asarray(levels, dtype=object) + ">", starts)],
                    dtype=object)


def _is_among(values: pd.Series, allowed: pd.Index | pd.Series) -> np.ndarray:
    """Whether each of ``values`` is one of ``allowed`` (as ``Series.isin``, in one pass for text too).

    Examples
    --------
    >>> _is_among(pd.Series(["A1", "B2", None], dtype="str"), pd.Index(["B2", "C3"])).tolist()
    [False, True, False]
    """
    # pandas' isin on Arrow text builds one Arrow scalar per allowed value: seconds for a few thousand ids
    return values.astype(object).isin(pd.Index(allowed).astype(object)).to_numpy(dtype=bool)


def _same_case(case: np.ndarray) -> np.ndarray:
    """Whether each step's previous step (in order) is of the same case."""
    same = np.zeros(len(case), dtype=bool)
    same[1:] = case[1:] == case[:-1]
    return same


def _time_per_level(
    table: pd.DataFrame,
    history: pd.DataFrame,
    same: np.ndarray,
    starts: np.ndarray,
    groups: pd.Series,
    findings: Report,
) -> pd.DataFrame:
    """Hours at each level: from a step to the next (the last to ``closed_at``); backwards times reported."""
    times = history["time"].to_numpy(dtype="datetime64[ns]")
    following = np.r_[times[1:], np.datetime64("NaT", "ns")][: len(times)]
    last = ~np.r_[same[1:], False][: len(times)]
    if "closed_at" in history.columns:
        closing = history["closed_at"].to_numpy(dtype="datetime64[ns]")
        following = np.where(last, closing, following)
    else:
        following = np.where(last, np.datetime64("NaT", "ns"), following)
    hours = (following - times) / np.timedelta64(1, "h")
    backwards = hours < 0
    bad_case = np.logical_or.reduceat(backwards, starts) if len(starts) else np.array([], dtype=bool)
    table["times_ok"] = ~bad_case
    if bad_case.any():
        findings.add_many(
            "time_backwards",
            "the times of case {case} go backwards (a step, or its closing "
            "time, before the step listed before it); it is left out of the times spent at "
            "each level",
            records=("case " + table.loc[bad_case, "case_id"].astype(str)).tolist(),
            severity="warning",
            case=table.loc[bad_case, "case_id"].to_numpy(),
            code=_codes(table, bad_case),
        )
    usable = ~bad_case[groups.to_numpy()]
    stays = pd.DataFrame(
        {"group": groups, "level": history["level"].to_numpy(), "hours": np.where(usable, hours, np.nan)}
    )
    spent = stays.groupby(["group", "level"])["hours"].sum(min_count=1).unstack()
    for level in HANDLING_LEVELS:
        column = spent[level] if level in spent.columns else pd.Series(dtype="float64")
        table[f"hours_{level}"] = column.reindex(range(len(table))).to_numpy(dtype="float64")
    return table


def _codes(table: pd.DataFrame, mask: np.ndarray) -> np.ndarray:
    """Return the grid code of the cases ``mask`` selects (None where unknown), for the findings."""
    if "grid_code" not in table.columns:
        return np.full(int(mask.sum()), None, dtype=object)
    return (
        table.loc[mask, "grid_code"]
        .astype(object)
        .where(table.loc[mask, "grid_code"].notna(), None)
        .to_numpy()
    )


def _tiers(
    table: pd.DataFrame, history: pd.DataFrame, groups: pd.Series, rules: TierRules, findings: Report
) -> np.ndarray:
    """Whether every step of each case is at a level its type may reach; breaches are findings (errors)."""
    if "category" not in table.columns:
        return np.ones(len(table), dtype=bool)
    kind_of_case, kinds = pd.factorize(table["category"])  # a missing type is -1: the last row, default
    allowed = {kind: rules.allowed(kind) for kind in kinds}
    matrix = np.array(
        [[level in rules.allowed(kind) for level in HANDLING_LEVELS] for kind in [*kinds, None]], dtype=bool
    )
    rank = history["level"].map(_RANK).to_numpy(dtype="int64")
    ok_step = matrix[kind_of_case[groups.to_numpy()], rank]
    ok = pd.Series(ok_step).groupby(groups).all().to_numpy(dtype=bool)
    if (~ok).any():
        bad = table[~ok]
        findings.add_many(
            "tier_breach",
            "a {category} case may go to {allowed} (分级响应); case {case} went {path}",
            records=("case " + bad["case_id"].astype(str)).tolist(),
            case=bad["case_id"].to_numpy(),
            category=bad["category"].astype(str).to_numpy(),
            allowed=[
                "/".join(HANDLING_LEVEL_NAMES_ZH[x] for x in allowed.get(c, ())) for c in bad["category"]
            ],
            path=bad["path_zh"].to_numpy(),
            code=_codes(table, ~ok),
            fix="handle the case at the levels the tiered response allows, or change the rules",
        )
    return ok


def _check_final_levels(table: pd.DataFrame, known: pd.DataFrame, findings: Report) -> None:
    """Report cases whose recorded level (the case list's) is not the level of their last step."""
    recorded = table["case_id"].map(known["level"])
    differs = (recorded.notna() & recorded.ne(table["final_level"])).to_numpy(dtype=bool)
    if differs.any():
        findings.add_many(
            "level_mismatch",
            "case {case} is recorded as settled at {recorded} but its last step is at {final}",
            records=("case " + table.loc[differs, "case_id"]).tolist(),
            severity="warning",
            case=table.loc[differs, "case_id"].to_numpy(),
            recorded=recorded[differs].to_numpy(),
            final=table.loc[differs, "final_level"].to_numpy(),
            code=_codes(table, differs),
        )


def _per_level(history: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """One row per handling level: settled, reached, entered, skipped over, returned from, time spent."""
    settled = table.loc[table["settled"], "final_level"].value_counts()
    total = int(table["settled"].sum())
    reached = history.drop_duplicates(["case_id", "level"])["level"].value_counts()
    entered = table["first_level"].value_counts()
    rank = history["level"].map(_RANK).to_numpy(dtype="int64")
    case = history["case_id"].to_numpy()
    same = _same_case(case)
    before = np.r_[0, rank[:-1]] if len(rank) else rank
    rows = []
    for level, position in _RANK.items():
        over = same & (before < position) & (rank > position)
        down = same & (before == position) & (rank < before)
        hours = table[f"hours_{level}"].dropna()
        rows.append(
            {
                "level": level,
                "level_zh": HANDLING_LEVEL_NAMES_ZH[level],
                "settled": int(settled.get(level, 0)),
                "share_settled": _share(int(settled.get(level, 0)), total),
                "reached": int(reached.get(level, 0)),
                "entered": int(entered.get(level, 0)),
                "skipped": int(pd.unique(case[over]).size),
                "returned_from": int(pd.unique(case[down]).size),
                "median_hours": float(hours.median()) if len(hours) else np.nan,
                "mean_hours": float(hours.mean()) if len(hours) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def _per_grid(table: pd.DataFrame, grids: gpd.GeoDataFrame | None, findings: Report) -> pd.DataFrame:
    """Per grid: cases, settled, settled inside the grid, shares per level, skips, returns, tier breaches."""
    known = table[table["grid_code"].notna()]
    flags = pd.DataFrame(
        {
            "code": known["grid_code"].astype(str),
            "cases": 1,
            "settled": known["settled"].astype(int),
            "settled_in_grid": known["settled_in_grid"].astype(int),
            "skipped": known["skipped"].astype(int),
            "returned": known["returned"].astype(int),
            "tier_breaches": (~known["tier_ok"]).astype(int),
        }
    )
    for level in HANDLING_LEVELS:
        flags[f"_at_{level}"] = (known["settled"] & known["final_level"].eq(level)).astype(int)
    sums = flags.groupby("code", sort=True).sum()
    if grids is not None:
        frame = model_columns(grids, "grids")[0]
        base = pd.DataFrame({"code": frame["code"].astype(str).to_numpy()})
        if "community_code" in frame.columns:
            base["community_code"] = frame["community_code"].astype(str).to_numpy()
            base["street_code"] = base["community_code"].str[:9]
            base["district_code"] = base["community_code"].str[:6]
        result = base.join(sums, on="code").fillna({c: 0 for c in sums.columns})
        outside = sorted(set(sums.index) - set(base["code"]))
        if outside:
            findings.add_many(
                "not_in_grids",
                "{n} cases with histories are in grid {code}, which is not in the "
                "grids given; they are left out of the per-grid table",
                records=outside,
                severity="warning",
                code=outside,
                n=sums.loc[outside, "cases"].to_numpy(),
            )
    else:
        result = sums.reset_index()
    for column in sums.columns:
        result[column] = result[column].astype("int64")
    result["settled_in_grid_rate"] = result["settled_in_grid"] / result["settled"].where(
        result["settled"] > 0
    )
    for level in HANDLING_LEVELS:
        result[f"share_{level}"] = result.pop(f"_at_{level}") / result["settled"].where(result["settled"] > 0)
    result["label"] = [
        f"网格内化解率 {rate:.0%}（{n} 件）" if pd.notna(rate) else "无已办结事件"
        for rate, n in zip(result["settled_in_grid_rate"], result["settled"], strict=True)
    ]
    if grids is not None:
        result = gpd.GeoDataFrame(result, geometry=grids.geometry.to_numpy(), crs=grids.crs)
    result.attrs["count_columns"] = GRID_COUNT_COLUMNS
    return result
