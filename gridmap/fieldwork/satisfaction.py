r"""Satisfaction (满意度) and mediation (调解) rates per grid, unit or level, overall or per period.

Residents rate how their case was handled (满意 / 基本满意 / 不满意, or a score out of 5, 10 or 100), and
dispute cases (矛盾纠纷) carry the outcome of their mediation (调解成功 / 失败 / 未结) and the level of the
mediation centre that handled them (seed 003: 县、乡、村三级矛盾纠纷调解中心(站、点)).

* :func:`read_feedback` / :func:`clean_feedback` read these per case (in the vocabulary:
  :data:`gridmap.schema.SATISFACTION_WORDS`, :data:`~gridmap.schema.MEDIATION_WORDS`,
  :data:`~gridmap.schema.MEDIATION_LEVEL_WORDS`);
* :func:`satisfaction_rates` and :func:`mediation_rates` give one row per grid (or community, street,
  district, or level) and period, with 环比 and 同比 changes of the rates; :func:`feedback_rates` gives
  both, for several of these at once, joining the cases and their feedback once.

Public figures: the tables carry, in ``attrs``, which columns count cases and what derives from them, so
that :func:`gridmap.stats.suppress_small_counts` hides small counts in them exactly as in the other
published tables (secondary suppression included, and a 环比/同比 change whose base is hidden).

Numeric scores are read on the smallest scale of :data:`~gridmap.schema.SATISFACTION_SCALES` (5, 10,
100) that holds every score of the column, unless ``scale=`` says otherwise; a score of at least 80 % of the
scale is 满意, at least 60 % 基本满意, below that 不满意 (:data:`~gridmap.schema.SATISFACTION_THRESHOLDS`).
The satisfaction rate (满意率) is (满意 + 基本满意) / cases rated; the mediation success rate (调解成功率) is
successes / concluded mediations (成功 + 失败; pending ones are counted apart).

Examples
--------
>>> cases = pd.DataFrame({"case_id": ["A", "B", "C", "D"], "grid_code": ["G1", "G1", "G1", "G2"],
...                       "满意度": ["满意", "基本满意", "不满意", 5]})
>>> satisfaction_rates(cases)[["code", "rated", "satisfied", "basic", "dissatisfied", "satisfaction_rate"]]
  code  rated  satisfied  basic  dissatisfied  satisfaction_rate
0   G1      3          1      1             1           0.666667
1   G2      1          1      0             0           1.000000
"""

from __future__ import annotations

import logging
import os
from collections.abc import Hashable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.cases import normalize_level
from gridmap.cases.periods import period_labels
from gridmap.errors import CaseError, SchemaError
from gridmap.fieldwork.escalation import _case_table, _is_among, _text
from gridmap.findings import Report
from gridmap.io import read_table, record_labels
from gridmap.schema import (
    FEEDBACK_COLUMN_WORDS,
    HANDLING_LEVEL_NAMES_ZH,
    HANDLING_LEVELS,
    MEDIATION_LEVEL_WORDS,
    MEDIATION_LEVELS,
    MEDIATION_OUTCOMES,
    MEDIATION_WORDS,
    PERIODS,
    SATISFACTION_CLASSES,
    SATISFACTION_SCALES,
    SATISFACTION_THRESHOLDS,
    SATISFACTION_WORDS,
    STEP_COLUMN_WORDS,
    header_key,
    model_columns,
    vocabulary_key,
)

__all__ = [
    "read_feedback",
    "clean_feedback",
    "satisfaction_rates",
    "mediation_rates",
    "feedback_rates",
    "FEEDBACK_COLUMNS",
    "FEEDBACK_HEADERS_ZH",
]

logger = logging.getLogger(__name__)

#: The columns of a clean feedback table.
FEEDBACK_COLUMNS = ["case_id", "satisfaction", "score", "mediation", "mediation_level"]

#: Chinese headers of the rate tables.
FEEDBACK_HEADERS_ZH = {
    "code": "编码",
    "level": "层级",
    "level_zh": "层级名称",
    "community_code": "社区代码",
    "street_code": "街道代码",
    "district_code": "区县代码",
    "period": "时期",
    "rated": "评价事件数",
    "satisfied": "满意",
    "basic": "基本满意",
    "dissatisfied": "不满意",
    "satisfaction_rate": "满意率",
    "dissatisfaction_rate": "不满意率",
    "satisfaction_rate_change_mom": "满意率环比(百分点)",
    "satisfaction_rate_change_yoy": "满意率同比(百分点)",
    "mediated": "调解事件数",
    "success": "调解成功",
    "failure": "调解失败",
    "pending": "未结",
    "success_rate": "调解成功率",
    "pending_rate": "未结占比",
    "success_rate_change_mom": "调解成功率环比(百分点)",
    "success_rate_change_yoy": "调解成功率同比(百分点)",
    "label": "标签",
    "suppressed": "已隐去(小于阈值)",
}

_UNITS = {"grid": None, "community": 12, "street": 9, "district": 6}
_BY = (*_UNITS, "level")
_HEADERS = {header_key(word): column for column, words in FEEDBACK_COLUMN_WORDS.items() for word in words}
_SATISFACTION = {vocabulary_key(word): value for word, value in SATISFACTION_WORDS.items()}
_OUTCOMES = {vocabulary_key(word): value for word, value in MEDIATION_WORDS.items()}
_CENTRES = sorted(
    ((vocabulary_key(word), level) for word, level in MEDIATION_LEVEL_WORDS.items()),
    key=lambda pair: -len(pair[0]),
)  # longest first: 县调解中心 before 调解中心
_STR = "str" if int(pd.__version__.split(".")[0]) >= 3 else object


# --- reading --------------------------------------------------------------------------------------------


def read_feedback(
    path: str | os.PathLike,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    scale: int | None = None,
    report: Report | None = None,
) -> pd.DataFrame:
    r"""Read satisfaction and mediation per case from a CSV (UTF-8, GBK …), Excel or Parquet file.

    Parameters
    ----------
    path : str or os.PathLike
        事件编号/case_id and any of 满意度/satisfaction, 调解结果/mediation, 调解层级/mediation_level.
    sheet, encoding
        As for :func:`gridmap.read_table`.
    scale : int, optional
        The top of the numeric score scale (default: see the module docstring).
    report : gridmap.Report, optional
        Receives the findings (unknown words, scores out of range, repeated cases).

    Returns
    -------
    pandas.DataFrame
        :data:`FEEDBACK_COLUMNS`, see :func:`clean_feedback`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "feedback.csv"
    >>> _ = path.write_text("事件编号,满意度,调解结果,调解层级\nE1,基本满意,,\nE2,,调解成功,乡镇调解站\n",
    ...                     encoding="gbk")
    >>> read_feedback(path)
      case_id satisfaction  score mediation mediation_level
    0      E1        basic    NaN       NaN             NaN
    1      E2          NaN    NaN   success          street
    """
    aliases: dict[str, str | None] = {word: "case_id" for word in STEP_COLUMN_WORDS["case_id"]}
    table = read_table(path, sheet=sheet, encoding=encoding, aliases=aliases)
    return clean_feedback(table, scale=scale, report=report, path=path)


def clean_feedback(
    feedback: pd.DataFrame,
    *,
    scale: int | None = None,
    report: Report | None = None,
    path: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Return satisfaction and mediation per case, in the vocabulary's terms.

    Parameters
    ----------
    feedback : pandas.DataFrame
        A case id column and any of the feedback columns (Chinese or English headers,
        :data:`gridmap.schema.FEEDBACK_COLUMN_WORDS`); the case list itself will do. Not modified.
    scale : int, optional
        The top of the numeric score scale; default the smallest of 5, 10, 100 holding every score.
    report : gridmap.Report, optional
        Receives the findings; without it they are logged.
    path : str or os.PathLike, optional
        Named in errors.

    Returns
    -------
    pandas.DataFrame
        ``case_id``; ``satisfaction`` (satisfied / basic / dissatisfied or NA); ``score`` (a numeric score
        as a share of its scale, 0–1, NA for words); ``mediation`` (success / failure / pending or NA);
        ``mediation_level`` (community / street / district, or grid, or NA). A case listed twice keeps its
        first row (``duplicate_case``). Unknown words and scores out of range are reported and left NA.

    Examples
    --------
    >>> scores = pd.DataFrame({"case_id": ["A", "B", "C"], "评分": [9, 6, 3]})
    >>> clean_feedback(scores)[["satisfaction", "score"]]
      satisfaction  score
    0    satisfied    0.9
    1        basic    0.6
    2 dissatisfied    0.3
    """
    findings = Report("feedback")
    frame = feedback.rename(columns={c: t for c, t in _renamed(feedback.columns).items()})
    if "case_id" not in frame.columns:
        listed = ", ".join(map(str, feedback.columns))
        raise SchemaError(
            f"the feedback has no case id column (columns: {listed})",
            path=path,
            fix="head the column of case ids 事件编号 or case_id",
        )
    labels = record_labels(feedback).to_numpy()
    result = pd.DataFrame({"case_id": _text(frame["case_id"])}, index=frame.index)
    given = frame["satisfaction"] if "satisfaction" in frame.columns else pd.Series(pd.NA, index=frame.index)
    result["satisfaction"], result["score"] = _satisfaction(given, scale, labels, findings, path)
    for column, read in (("mediation", _outcome), ("mediation_level", _centre)):
        values = frame[column] if column in frame.columns else pd.Series(pd.NA, index=frame.index)
        result[column] = _words(values, read, column, labels, findings)
    repeated = result["case_id"].notna() & result["case_id"].duplicated(keep="first")
    if repeated.any():
        findings.add_many(
            "duplicate_case",
            "case {case} has feedback twice; the first is kept",
            records=labels[repeated.to_numpy()],
            severity="warning",
            case=result.loc[repeated, "case_id"].to_numpy(),
        )
    if report is not None:
        report.extend(findings)
    elif len(findings):
        logger.warning("%s; pass report= to list them", findings.summary())
    return result[result["case_id"].notna() & ~repeated][FEEDBACK_COLUMNS].reset_index(drop=True)


def _renamed(columns: Sequence[Hashable]) -> dict[Hashable, str]:
    words = {**_HEADERS, **{header_key(w): "case_id" for w in STEP_COLUMN_WORDS["case_id"]}}
    renames: dict[Hashable, str] = {}
    for column in columns:
        target = words.get(header_key(column))
        if (
            target is not None
            and column != target
            and target not in columns
            and target not in renames.values()
        ):
            renames[column] = target
    return renames


def _satisfaction(
    values: pd.Series, scale: int | None, labels: np.ndarray, findings: Report, path
) -> tuple[pd.Series, pd.Series]:
    """Satisfaction classes from words or numeric scores; scores as shares of their scale."""
    text = _text(values)
    numbers = pd.to_numeric(text, errors="coerce")
    words = text.map({value: _SATISFACTION.get(vocabulary_key(value)) for value in text.dropna().unique()})
    if scale is None:
        top = numbers[numbers.between(0, SATISFACTION_SCALES[-1])].max()
        scale = (
            next((s for s in SATISFACTION_SCALES if s >= top), SATISFACTION_SCALES[-1])
            if pd.notna(top)
            else SATISFACTION_SCALES[0]
        )
    elif not isinstance(scale, (int, np.integer)) or isinstance(scale, bool) or scale <= 0:
        raise SchemaError(
            f"scale={scale!r} is not the top of a score scale",
            path=path,
            fix=f"pass scale= a whole number such as {', '.join(map(str, SATISFACTION_SCALES))}",
        )
    out_of_range = numbers.notna() & ~numbers.between(0, scale)
    unknown = text.notna() & numbers.isna() & words.isna()
    for check, mask, message in (
        ("bad_score", out_of_range, "satisfaction score {value} is outside 0–{scale}; it is left out"),
        (
            "unknown_satisfaction",
            unknown,
            "satisfaction {value!r} is not 满意, 基本满意, 不满意 or a score; it is left out",
        ),
    ):
        if mask.any():
            findings.add_many(
                check,
                message,
                records=labels[mask.to_numpy()],
                severity="warning",
                value=text[mask].to_numpy(),
                scale=np.full(int(mask.sum()), scale),
            )
    score = (numbers / scale).where(~out_of_range)
    classes = pd.Series(
        np.select(
            [
                score >= SATISFACTION_THRESHOLDS["satisfied"],
                score >= SATISFACTION_THRESHOLDS["basic"],
                score.notna(),
            ],
            ["satisfied", "basic", "dissatisfied"],
            default="",
        ),
        index=values.index,
    )
    classes = classes.where(classes != "", words)
    return classes.astype(_STR), score.astype("float64")


def _outcome(key: str) -> str | None:
    return _OUTCOMES.get(key)


def _centre(key: str) -> str | None:
    """Return the level of a mediation centre: a word of the vocabulary, a name ending in one, a level."""
    for word, level in _CENTRES:
        if key == word or key.endswith(word):
            return level
    try:
        return normalize_level(key)
    except CaseError:
        return None


def _words(values: pd.Series, read, column: str, labels: np.ndarray, findings: Report) -> pd.Series:
    """Read a column of words with ``read`` (on their vocabulary key); unknown words are reported, NA."""
    text = _text(values)
    lookup = {value: read(vocabulary_key(value)) for value in text.dropna().unique()}
    result = text.map(lookup)
    unknown = text.notna() & result.isna()
    if unknown.any():
        known = ", ".join(MEDIATION_OUTCOMES.values() if column == "mediation" else MEDIATION_LEVELS.values())
        findings.add_many(
            f"unknown_{column}",
            "{column} {value!r} is not one of " + known + "; it is left out",
            records=labels[unknown.to_numpy()],
            severity="warning",
            value=text[unknown].to_numpy(),
            column=np.full(int(unknown.sum()), column),
        )
    return result.astype(_STR)


# --- rates ----------------------------------------------------------------------------------------------


def satisfaction_rates(
    cases: pd.DataFrame,
    feedback: pd.DataFrame | None = None,
    *,
    by: str = "grid",
    period: str | None = None,
    grids: gpd.GeoDataFrame | None = None,
    scale: int | None = None,
    report: Report | None = None,
) -> pd.DataFrame:
    """Satisfaction rates (满意率) per grid, community, street, district or handling level, and period.

    Parameters
    ----------
    cases : pandas.DataFrame or geopandas.GeoDataFrame
        Cases with ``case_id``, their grid (``grid_code``, or points put in ``grids``), ``reported_at``
        (for periods), ``level`` (for ``by="level"``: where each was settled) and, without ``feedback``,
        the satisfaction column itself (满意度).
    feedback : pandas.DataFrame, optional
        Feedback per case (:func:`clean_feedback` is applied), joined on ``case_id``.
    by : {"grid", "community", "street", "district", "level"}, default "grid"
        Rows per unit (communities and up need ``grids`` with ``community_code``) or per handling level.
    period : {None, "day", "week", "month"}, default None
        One row per unit and period (by report time, every period from the first to the last case), with
        ``satisfaction_rate_change_mom`` (环比) and ``..._yoy`` (同比): the rate minus the rate of the
        previous period / the same period a year before (a difference of shares), NA where either is.
    grids : geopandas.GeoDataFrame, optional
        ``code``, ``community_code``: every grid gets a row (parent codes too, which group the cells for
        small-count suppression) and cases without a grid code are put in them.
    scale : int, optional
        The top of the numeric score scale.
    report : gridmap.Report, optional
        Receives the findings.

    Returns
    -------
    pandas.DataFrame
        ``code`` (or ``level`` and ``level_zh``), parent codes, ``period``, ``rated``, ``satisfied``,
        ``basic``, ``dissatisfied``, ``satisfaction_rate``, ``dissatisfaction_rate``, the changes and a
        Chinese ``label``. ``attrs`` tells :func:`gridmap.stats.suppress_small_counts` that ``rated`` is the
        count to check and the rest derives from it.
    """
    prepared = _prepare(cases, feedback, grids, by=(by,), period=period, scale=scale, report=report)
    return _satisfaction_table(prepared, grids, by=by, period=period)


def _satisfaction_table(prepared: pd.DataFrame, grids: gpd.GeoDataFrame | None, *, by: str,
                        period: str | None) -> pd.DataFrame:
    """Count and rate the satisfaction of the prepared cases per ``by`` (:func:`satisfaction_rates`)."""
    prepared = _levelled(prepared, "level")
    parts = {name: prepared["satisfaction"].eq(name).fillna(False) for name in SATISFACTION_CLASSES}
    parts = {"rated": prepared["satisfaction"].notna(), **parts}
    table = _counted(prepared, parts, grids, by=by, period=period)
    table["satisfaction_rate"] = _ratio(table["satisfied"] + table["basic"], table["rated"])
    table["dissatisfaction_rate"] = _ratio(table["dissatisfied"], table["rated"])
    table["label"] = [
        f"满意率 {rate:.0%}（{n} 件评价）" if pd.notna(rate) else "无评价"
        for rate, n in zip(table["satisfaction_rate"], table["rated"], strict=True)
    ]
    return _finished(table, "rated", "satisfaction_rate", by=by, period=period)


def mediation_rates(
    cases: pd.DataFrame,
    feedback: pd.DataFrame | None = None,
    *,
    by: str = "grid",
    period: str | None = None,
    grids: gpd.GeoDataFrame | None = None,
    report: Report | None = None,
) -> pd.DataFrame:
    """Mediation success rates (调解成功率) per grid, unit or mediation level (调解层级), and period.

    Parameters are those of :func:`satisfaction_rates`; ``by="level"`` groups by the level of the mediation
    centre (村(社区)调解点, 乡镇(街道)调解站, 县(区)调解中心). The dispute cases are those with a mediation
    outcome.

    Returns
    -------
    pandas.DataFrame
        ``code`` (or ``level``), parent codes, ``period``, ``mediated``, ``success``, ``failure``,
        ``pending``, ``success_rate`` (success / (success + failure)), ``pending_rate``, the changes of the
        success rate and a Chinese ``label``; ``mediated`` is the count checked for suppression.

    Examples
    --------
    >>> cases = pd.DataFrame({"事件编号": ["A", "B", "C"], "网格编码": ["G1"] * 3,
    ...                       "调解结果": ["调解成功", "失败", "调解中"], "调解层级": ["村调解点"] * 3})
    >>> mediation_rates(cases, by="level")[["level", "mediated", "success", "success_rate", "pending_rate"]]
           level  mediated  success  success_rate  pending_rate
    0       grid         0        0           NaN           NaN
    1  community         3        1           0.5      0.333333
    2     street         0        0           NaN           NaN
    3   district         0        0           NaN           NaN
    """
    prepared = _prepare(cases, feedback, grids, by=(by,), period=period, scale=None, report=report)
    return _mediation_table(prepared, grids, by=by, period=period)


def _mediation_table(prepared: pd.DataFrame, grids: gpd.GeoDataFrame | None, *, by: str,
                     period: str | None) -> pd.DataFrame:
    """Count and rate the mediations of the prepared cases per ``by`` (:func:`mediation_rates`)."""
    prepared = _levelled(prepared, "mediation_level")
    parts = {name: prepared["mediation"].eq(name).fillna(False) for name in MEDIATION_OUTCOMES}
    parts = {"mediated": prepared["mediation"].notna(), **parts}
    table = _counted(prepared, parts, grids, by=by, period=period)
    table["success_rate"] = _ratio(table["success"], table["success"] + table["failure"])
    table["pending_rate"] = _ratio(table["pending"], table["mediated"])
    table["label"] = [
        f"调解成功率 {rate:.0%}（{n} 件）" if pd.notna(rate) else "无调解结果"
        for rate, n in zip(table["success_rate"], table["mediated"], strict=True)
    ]
    return _finished(table, "mediated", "success_rate", by=by, period=period)


def feedback_rates(
    cases: pd.DataFrame,
    feedback: pd.DataFrame | None = None,
    *,
    by: Sequence[str] = ("grid", "level"),
    period: str | None = None,
    grids: gpd.GeoDataFrame | None = None,
    scale: int | None = None,
    report: Report | None = None,
) -> dict[str, dict[str, pd.DataFrame]]:
    """Satisfaction and mediation rates for each of ``by``, the cases and their feedback joined once.

    Equal to calling :func:`satisfaction_rates` and :func:`mediation_rates` once per ``by``, at a quarter
    of the cost for the two tables of each: the cases are put in grids and the feedback is read once.

    Parameters
    ----------
    cases, feedback, period, grids, scale, report
        As for :func:`satisfaction_rates` (``scale`` counts for the satisfaction only; the findings are
        reported once).
    by : sequence of {"grid", "community", "street", "district", "level"}, default ("grid", "level")
        The tables wanted.

    Returns
    -------
    dict
        ``{"satisfaction": {by: table}, "mediation": {by: table}}``.

    Examples
    --------
    >>> cases = pd.DataFrame({"事件编号": ["A", "B", "C"], "网格编码": ["G1"] * 3,
    ...                       "满意度": ["满意", "不满意", None], "调解结果": ["调解成功", "失败", "调解中"],
    ...                       "调解层级": ["村调解点"] * 3})
    >>> rates = feedback_rates(cases)
    >>> rates["satisfaction"]["grid"][["code", "rated", "satisfaction_rate"]]
      code  rated  satisfaction_rate
    0   G1      2                0.5
    >>> rates["mediation"]["level"][["level", "mediated", "success_rate"]]
           level  mediated  success_rate
    0       grid         0           NaN
    1  community         3           0.5
    2     street         0           NaN
    3   district         0           NaN
    """
    prepared = _prepare(cases, feedback, grids, by=tuple(by), period=period, scale=scale, report=report)
    tables = {"satisfaction": _satisfaction_table, "mediation": _mediation_table}
    return {name: {unit: table(prepared, grids, by=unit, period=period) for unit in by}
            for name, table in tables.items()}


def _prepare(
    cases: pd.DataFrame,
    feedback: pd.DataFrame | None,
    grids: gpd.GeoDataFrame | None,
    *,
    by: tuple[str, ...],
    period: str | None,
    scale: int | None,
    report: Report | None,
) -> pd.DataFrame:
    """Cases with their grid, report time, levels and feedback, one row per case (for the tables ``by``)."""
    for unit in by:
        if unit not in _BY:
            raise SchemaError(f"by={unit!r} is not a level", fix=f"pass by= one of {', '.join(_BY)}")
    if period is not None and period not in PERIODS:
        raise SchemaError(
            f"period={period!r} is not a period", fix=f"pass period= one of {', '.join(PERIODS)}"
        )
    for unit in by:
        if unit in ("community", "street", "district") and grids is None:
            raise SchemaError(f"by={unit!r} needs the grids (their community_code)", fix="pass grids=")
    findings = Report("satisfaction and mediation")
    wanted = ("grid_code", "reported_at", "level", *(c for c in _renamed_targets(cases) if c != "case_id"))
    known = _case_table(cases, grids, findings, columns=wanted).reset_index()
    if feedback is None:
        given = clean_feedback(known, scale=scale, report=findings)
    else:
        given = clean_feedback(feedback, scale=scale, report=findings)
        unknown = pd.Series(~_is_among(given["case_id"], known["case_id"]), index=given.index)
        if unknown.any():
            findings.add_many(
                "unknown_case",
                "case {case} has feedback but is not in the case list; left out",
                records=("case " + given.loc[unknown, "case_id"]).tolist(),
                severity="warning",
                case=given.loc[unknown, "case_id"].to_numpy(),
            )
    merged = known.drop(columns=[c for c in FEEDBACK_COLUMNS[1:] if c in known.columns]).merge(
        given, on="case_id", how="inner"
    )
    if set(by) - {"level"} and "grid_code" not in merged.columns:
        raise SchemaError(
            "the cases have no grid: no grid_code column and no points with grids",
            fix="give the cases a grid_code (网格编码) column, or points and grids=",
        )
    if period is not None and "reported_at" not in merged.columns:
        raise SchemaError(
            f"period={period!r} needs the cases' report times (上报时间 / reported_at)",
            fix="give the cases their report times, or leave out period=",
        )
    if report is not None:
        report.extend(findings)
    elif len(findings):
        logger.warning("%s; pass report= to list them", findings.summary())
    return merged


def _levelled(prepared: pd.DataFrame, column: str) -> pd.DataFrame:
    """Return the prepared cases with ``level`` taken from ``column`` (NA without it)."""
    if column == "level" and "level" in prepared.columns:
        return prepared
    values = prepared[column] if column in prepared.columns else pd.Series(pd.NA, index=prepared.index)
    return prepared.assign(level=values)


def _renamed_targets(frame: pd.DataFrame) -> list[str]:
    """Return the feedback columns a case list holds itself (满意度 …)."""
    return [str(c) for c in frame.columns if header_key(c) in _HEADERS or c in FEEDBACK_COLUMN_WORDS]


def _counted(
    prepared: pd.DataFrame,
    parts: dict[str, pd.Series],
    grids: gpd.GeoDataFrame | None,
    *,
    by: str,
    period: str | None,
) -> pd.DataFrame:
    """Sum ``parts`` per unit (and period); every unit (and period) gets a row, zeros included."""
    table = _grid_table(grids, prepared) if by != "level" else None
    units = _units(table, by)
    counts = pd.DataFrame({name: values.to_numpy(dtype="int64") for name, values in parts.items()})
    counts["code"] = _unit_of(prepared, table, by).to_numpy()
    keys = ["code"]
    if period is not None:
        counts["period"] = prepared["reported_at"].dt.to_period(PERIODS[period][0]).to_numpy()
        keys.append("period")
    sums = counts.dropna(subset=keys).groupby(keys, sort=True).sum()
    if period is not None:
        present = counts["period"].dropna()
        spans = (
            pd.period_range(present.min(), present.max(), freq=PERIODS[period][0])
            if len(present)
            else pd.PeriodIndex([], freq=PERIODS[period][0])
        )
        index: pd.Index = pd.MultiIndex.from_product([units["code"], spans], names=keys)
    else:
        index = pd.Index(units["code"], name="code")
    counted = sums.reindex(index, fill_value=0).reset_index()
    counted = units.merge(counted, on="code", how="right")
    for name in parts:
        counted[name] = counted[name].astype("int64")
    return counted


def _grid_table(grids: gpd.GeoDataFrame | None, prepared: pd.DataFrame) -> pd.DataFrame:
    """Every grid (of ``grids``, else of the cases) with its parent codes when known, by code."""
    if grids is None:
        return pd.DataFrame({"code": sorted(prepared["grid_code"].dropna().astype(str).unique())})
    frame = model_columns(grids, "grids")[0]
    table = pd.DataFrame({"code": frame["code"].astype(str).to_numpy()})
    if "community_code" in frame.columns:
        community = frame["community_code"].astype(str)
        table = table.assign(
            community_code=community.to_numpy(),
            street_code=community.str[:9].to_numpy(),
            district_code=community.str[:6].to_numpy(),
        )
    return table.sort_values("code", kind="stable").reset_index(drop=True)


def _units(table: pd.DataFrame | None, by: str) -> pd.DataFrame:
    """Return the rows of the result: every level, grid or unit of the grids (with parent codes)."""
    if table is None:
        return pd.DataFrame({"code": list(HANDLING_LEVELS)})
    if by == "grid":
        return table
    if "community_code" not in table.columns:
        raise SchemaError(f"by={by!r} needs the grids' community_code", fix="give the grids community_code")
    parents = {"community": ["street_code", "district_code"], "street": ["district_code"], "district": []}[by]
    units = table.assign(code=table["community_code"].str[: _UNITS[by]])[["code", *parents]]
    return units.drop_duplicates("code").sort_values("code").reset_index(drop=True)


def _unit_of(prepared: pd.DataFrame, table: pd.DataFrame | None, by: str) -> pd.Series:
    """Return the code of the row each case counts in (its level with ``by="level"``)."""
    if table is None:
        return prepared["level"]
    grid = prepared["grid_code"].astype(str).where(prepared["grid_code"].notna())
    if by == "grid":
        return grid
    return grid.map(table.set_index("code")["community_code"]).str[: _UNITS[by]]


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator.astype("float64") / denominator.astype("float64").where(denominator > 0)).astype(
        "float64"
    )


def _finished(table: pd.DataFrame, count: str, rate: str, *, by: str, period: str | None) -> pd.DataFrame:
    """Add the changes of the rate, the level names, the period labels and the suppression attributes."""
    changes: tuple[str, ...] = ()
    if period is not None:
        table = _changes(table, rate, period)
        changes = (f"{rate}_change_mom", f"{rate}_change_yoy")
    derived = [
        c
        for c in table.columns
        if c
        not in (
            "code",
            "level",
            "level_zh",
            "community_code",
            "street_code",
            "district_code",
            "period",
            count,
        )
    ]
    if by == "level":
        table = table.rename(columns={"code": "level"})
        table.insert(1, "level_zh", table["level"].map(HANDLING_LEVEL_NAMES_ZH))
        table.insert(0, "code", table["level"])  # suppression names cells by their code
    table = table.reset_index(drop=True)
    table.attrs.update(
        level=by,
        period=period,
        count_columns={count: tuple(derived)},
        changes={count: changes} if changes else {},
    )
    return table


def _changes(table: pd.DataFrame, rate: str, period: str) -> pd.DataFrame:
    """环比 and 同比 of a rate: the rate minus the base period's, NA where either is NA."""
    _, back_mom, back_yoy = PERIODS[period]
    rates = table.set_index(["code", "period"])[rate]
    periods = table["period"]
    bases = {"mom": periods - back_mom}
    if back_yoy is None:
        bases["yoy"] = (periods.dt.to_timestamp() - pd.DateOffset(years=1)).dt.to_period("D")
    else:
        bases["yoy"] = periods - back_yoy
    for name, base_period in bases.items():
        index = pd.MultiIndex.from_arrays([table["code"], base_period])
        table[f"{rate}_change_{name}"] = table[rate].to_numpy() - rates.reindex(index).to_numpy(
            dtype="float64"
        )
    table["period"] = period_labels(table["period"], period)
    return table
