r"""The grid quality index (网格+ 质效评估, seed 002): per-grid measures made one number that explains itself.

:func:`quality_measures` gathers, per grid, the measures it can compute from the grids and cases (response
rate, on-time closure, settled-in-grid rate, case density) and those other stages give (satisfaction from
:func:`gridmap.fieldwork.satisfaction_rates`, settled inside the grid from
:func:`gridmap.fieldwork.analyse_escalation`, patrol coverage, staffing completeness or any other column, as
plain tables keyed by grid code). :func:`quality_index` turns them into the index:

1. **Normalise** each measure to a score from 0 to 1 within each city (the first 4 digits of
   ``community_code``; ``scope="all"`` or ``"district"`` in the configuration): ``minmax`` (default:
   (value − min) / (max − min); every grid 1 when all are equal), ``rank`` (percentile rank) or ``raw``
   (the value is already a share from 0 to 1). A measure where ``lower`` is better scores 1 − that.
2. **Weigh**: the index is 100 × Σ weightᵢ × scoreᵢ / Σ weightᵢ over the measures the grid has. A measure
   missing for a grid is left out *for that grid* and the others are re-weighted in proportion
   (``missing="reweight"``, the default), provided the measures it has carry at least ``min_weight`` (default
   half) of the total weight, else the grid gets no index; with ``missing="exclude"`` a grid missing any
   measure gets no index. A measure missing in every grid (not computed, not given) is left out of the
   index altogether. Grids left without an index say why in ``no_index_reason`` (the weight their
   measures carry, the measures they lack), and a ``GridmapWarning`` says how many there are and what to do:
   give them the missing measures, lower ``min_weight`` or give weight to measures they have. A large
   weight on a measure many grids lack (``weights={"satisfaction": 0.5}``: grids without rated cases have
   no satisfaction rate) leaves the grids without it below ``min_weight``.
3. **Explain**: each measure's points (``<measure>_points``: 100 × its weight × its score / the weight the
   grid has) add up to the index exactly; ``breakdown`` writes them out in Chinese, ``rank`` ranks the
   grids (1 = best, ties share the better rank).

Weights, directions, normalisations and the rules above are the defaults of
:data:`gridmap.schema.QUALITY_MEASURES` and :class:`IndexConfig`, which :meth:`IndexConfig.from_toml` reads::

    [index]
    scope = "city"          # or "district", "all"
    missing = "reweight"    # or "exclude"
    min_weight = 0.5
    [index.measures.satisfaction]
    weight = 0.3
    [index.measures.patrol_coverage]
    weight = 0.2
    normalisation = "raw"

Examples
--------
>>> measures = pd.DataFrame({"code": ["A", "B", "C"], "response_rate": [1.0, 0.8, 0.9],
...                          "case_density": [10.0, 30.0, 20.0]})
>>> index = quality_index(measures, weights={"response_rate": 1, "case_density": 1})
>>> index[["code", "response_rate_points", "case_density_points", "index", "rank"]]
  code  response_rate_points  case_density_points  index  rank
0    A                  50.0                 50.0  100.0     1
1    B                   0.0                  0.0    0.0     3
2    C                  25.0                 25.0   50.0     2
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.cases import clean_cases, in_grids
from gridmap.errors import GridmapError, GridmapWarning, SchemaError
from gridmap.fieldwork.escalation import Escalation
from gridmap.findings import Report
from gridmap.schema import QUALITY_MEASURES, model_columns
from gridmap.stats.summary import summarize

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["quality_measures", "quality_index", "IndexConfig", "MeasureRule", "QUALITY_HEADERS_ZH"]

_DIRECTIONS = ("higher", "lower")
_NORMALISATIONS = ("minmax", "rank", "raw")
_SCOPES = {"city": 4, "district": 6, "all": 0}
_MISSING = ("reweight", "exclude")

#: Chinese headers of the index table (measures: their names in :data:`gridmap.schema.QUALITY_MEASURES`).
QUALITY_HEADERS_ZH = {
    "code": "网格编码",
    "community_code": "社区代码",
    "index": "质效指数",
    "rank": "排名",
    "measures_used": "参评指标数",
    "weight_used": "参评权重占比",
    "no_index_reason": "未参评原因",
    "breakdown": "得分构成",
    "label": "标签",
    **{name: zh for name, (zh, _, _) in QUALITY_MEASURES.items()},
    **{f"{name}_score": f"{zh}(标准化)" for name, (zh, _, _) in QUALITY_MEASURES.items()},
    **{f"{name}_points": f"{zh}得分" for name, (zh, _, _) in QUALITY_MEASURES.items()},
}


@dataclass(frozen=True)
class MeasureRule:
    """How one measure enters the index: its weight, which direction is better, how it is normalised.

    Examples
    --------
    >>> MeasureRule(0.2, direction="lower")
    MeasureRule(weight=0.2, direction='lower', normalisation='minmax')
    """

    weight: float
    direction: str = "higher"
    normalisation: str = "minmax"

    def __post_init__(self) -> None:
        weight = self.weight
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not math.isfinite(weight)
            or weight < 0
        ):
            raise GridmapError(
                f"weight {weight!r} is not a number of at least 0", fix="give weights such as 0.2"
            )
        if self.direction not in _DIRECTIONS:
            raise GridmapError(
                f"direction {self.direction!r} is not one of {', '.join(_DIRECTIONS)}",
                fix="say whether a higher or a lower value is better",
            )
        if self.normalisation not in _NORMALISATIONS:
            raise GridmapError(
                f"normalisation {self.normalisation!r} is not one of {', '.join(_NORMALISATIONS)}",
                fix="use minmax (default), rank or raw (values already from 0 to 1)",
            )


def _default_measures() -> dict[str, MeasureRule]:
    return {name: MeasureRule(weight, direction) for name, (_, direction, weight) in QUALITY_MEASURES.items()}


@dataclass(frozen=True)
class IndexConfig:
    """The rules of the quality index (see the module docstring).

    Parameters
    ----------
    measures : mapping of str to MeasureRule, optional
        Rules by measure; default those of :data:`gridmap.schema.QUALITY_MEASURES`.
    scope : {"city", "district", "all"}, default "city"
        The grids normalised together: those of one city (or district: ``community_code`` prefix), or all.
    missing : {"reweight", "exclude"}, default "reweight"
        What a measure missing for a grid does: re-weight the others, or leave the grid without index.
    min_weight : float, default 0.5
        With ``reweight``: the least share of the total weight the measures a grid has must carry.
    """

    measures: Mapping[str, MeasureRule] = field(default_factory=_default_measures)
    scope: str = "city"
    missing: str = "reweight"
    min_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.scope not in _SCOPES:
            raise GridmapError(
                f"scope {self.scope!r} is not one of {', '.join(_SCOPES)}",
                fix="normalise per city (default), per district or over all grids",
            )
        if self.missing not in _MISSING:
            raise GridmapError(
                f"missing {self.missing!r} is not one of {', '.join(_MISSING)}",
                fix="re-weight the measures a grid has (default) or exclude the grid",
            )
        if not 0 <= self.min_weight <= 1:
            raise GridmapError(
                f"min_weight {self.min_weight!r} is not from 0 to 1", fix="give a share, e.g. 0.5"
            )

    def with_weights(self, weights: Mapping[str, float]) -> IndexConfig:
        """Return the configuration with these weights (new measures count ``higher`` as better)."""
        measures = dict(self.measures)
        for name, weight in weights.items():
            rule = measures.get(name, MeasureRule(0.0))
            measures[name] = dataclasses.replace(rule, weight=weight)
        return dataclasses.replace(self, measures=measures)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> IndexConfig:
        r"""Read the configuration: an ``[index]`` table (or top-level keys), ``[index.measures.X]`` tables.

        Measures not named keep their defaults; a measure given only ``weight = 0`` is left out.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "index.toml"
        >>> _ = path.write_text("[index]\nscope = 'all'\n[index.measures.satisfaction]\nweight = 0.5\n")
        >>> config = IndexConfig.from_toml(path)
        >>> config.scope, config.measures["satisfaction"].weight, config.measures["case_density"].direction
        ('all', 0.5, 'lower')
        """
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise GridmapError(
                f"cannot read the index configuration: {exc}",
                path=path,
                fix="give a UTF-8 TOML file with an [index] table (see gridmap.stats.quality)",
            ) from exc
        data = data.get("index", data) if isinstance(data.get("index", data), dict) else data
        allowed = ("measures", "scope", "missing", "min_weight")
        unknown = [key for key in data if key not in allowed]
        if unknown:
            raise GridmapError(
                f"unknown index setting {unknown[0]!r}",
                path=path,
                record=f"key {unknown[0]}",
                fix=f"use only {', '.join(allowed)}",
            )
        measures = _default_measures()
        for name, values in dict(data.get("measures", {})).items():
            if not isinstance(values, dict):
                raise GridmapError(
                    f"measure {name!r} is not a table",
                    path=path,
                    record=f"key measures.{name}",
                    fix=f"write [index.measures.{name}] with weight, direction, normalisation",
                )
            try:
                rule = measures.get(name, MeasureRule(0.0))
                measures[name] = dataclasses.replace(rule, **values)
            except TypeError as exc:
                raise GridmapError(
                    f"measure {name!r}: {exc}",
                    path=path,
                    record=f"key measures.{name}",
                    fix="give only weight, direction and normalisation",
                ) from exc
            except GridmapError as error:
                raise GridmapError(
                    error.problem, path=path, record=f"key measures.{name}", fix=error.fix
                ) from None
        settings = {key: value for key, value in data.items() if key != "measures"}
        try:
            return cls(measures=measures, **settings)
        except GridmapError as error:
            raise error.at(path) from None


# --- the measures ---------------------------------------------------------------------------------------


def quality_measures(
    grids: gpd.GeoDataFrame,
    cases: pd.DataFrame | None = None,
    *,
    escalation: Escalation | None = None,
    satisfaction: pd.DataFrame | None = None,
    extra: Iterable[pd.DataFrame] = (),
    close_days: float = 15,
    at: object = None,
    report: Report | None = None,
) -> gpd.GeoDataFrame:
    """Per-grid measures for :func:`quality_index`, from the grids, cases and other stages' tables.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        ``code``, ``community_code``, ``population`` and polygons (as :func:`gridmap.stats.summarize`).
    cases : pandas.DataFrame or geopandas.GeoDataFrame, optional
        Cases (:func:`gridmap.cases.read_cases`): give ``response_rate`` (accepted / reported),
        ``on_time_closure`` (closed within ``close_days`` of the report, of the cases closed or open past
        that), ``settled_in_grid`` (the share of closed cases settled at the grid level, when no
        ``escalation`` is given) and ``case_density`` (cases per 1,000 residents).
    escalation : gridmap.fieldwork.Escalation, optional
        Its per-grid ``settled_in_grid_rate`` (cases never leaving the grid) is the ``settled_in_grid``
        measure.
    satisfaction : pandas.DataFrame, optional
        :func:`gridmap.fieldwork.satisfaction_rates` per grid: its ``satisfaction_rate``.
    extra : iterable of pandas.DataFrame
        Other per-grid measures keyed by grid code (``code``, ``grid_code`` or 网格编码), e.g.
        ``patrol_coverage`` or ``staffing``; every other numeric column is a measure (a column named like
        a measure computed here replaces it).
    close_days : float, default 15
        The deadline of on-time closure, in days after the report.
    at : datetime-like, optional
        The reference time for cases still open; default the latest case time.
    report : gridmap.Report, optional
        Receives the findings about the cases.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per grid: ``code``, ``community_code``, the measures available, the grids' polygons.
    """
    frame = model_columns(grids, "grids")[0]
    table = gpd.GeoDataFrame(
        {"code": frame["code"].astype(str).to_numpy()}, geometry=frame.geometry.to_numpy(), crs=frame.crs
    )
    if "community_code" in frame.columns:
        table.insert(1, "community_code", frame["community_code"].astype(str).to_numpy())
    if cases is not None:
        table = _case_measures(table, frame, cases, close_days=close_days, at=at, report=report)
    if escalation is not None and escalation.grids is not None:
        rates = escalation.grids.set_index(escalation.grids["code"].astype(str))["settled_in_grid_rate"]
        table["settled_in_grid"] = table["code"].map(rates).astype("float64")
    if satisfaction is not None:
        rates = satisfaction.set_index(satisfaction["code"].astype(str))["satisfaction_rate"]
        if rates.index.duplicated().any():
            raise SchemaError(
                "the satisfaction table has several rows per grid (one per period?)",
                fix="pass satisfaction_rates(...) per grid without period=",
            )
        table["satisfaction"] = table["code"].map(rates).astype("float64")
    for number, more in enumerate(extra, start=1):
        table = _joined(table, more, number)
    return table


def _case_measures(
    table: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    cases: pd.DataFrame,
    *,
    close_days: float,
    at: object,
    report: Report | None,
) -> gpd.GeoDataFrame:
    """Response rate, on-time closure, share settled at grid level and cases per 1,000 residents."""
    if not (isinstance(close_days, (int, float)) and not isinstance(close_days, bool) and close_days > 0):
        raise SchemaError(f"close_days={close_days!r} is not a number of days", fix="pass close_days=15, say")
    findings = report if report is not None else Report("quality measures")
    summary = summarize(grids, cases, at=at).set_index("code")
    table["response_rate"] = table["code"].map(summary["response_rate"]).astype("float64")
    table["settled_in_grid"] = table["code"].map(summary["share_grid"]).astype("float64")
    table["case_density"] = table["code"].map(summary["cases_per_1000"]).astype("float64")
    located = in_grids(cases, grids, report=findings)
    frame = clean_cases(
        pd.DataFrame(
            located.drop(columns=[getattr(located, "_geometry_column_name", None)], errors="ignore")
        ),
        report=findings,
    )
    reference = pd.Timestamp(at) if at is not None else frame[["reported_at", "closed_at"]].max().max()
    deadline = frame["reported_at"] + pd.Timedelta(days=close_days)
    closed = frame["status"].eq("closed") & frame["closed_at"].notna() & frame["times_ok"]
    on_time = closed & (frame["closed_at"] <= deadline)
    due = closed | (frame["status"].eq("open") & (deadline < reference))
    weight = frame["count"].fillna(0).astype("int64")
    sums = pd.DataFrame({"code": frame["grid_code"], "on_time": weight * on_time, "due": weight * due})
    sums = sums.groupby("code").sum()
    table["on_time_closure"] = table["code"].map(sums["on_time"] / sums["due"].where(sums["due"] > 0))
    table["on_time_closure"] = table["on_time_closure"].astype("float64")
    return table


def _joined(table: gpd.GeoDataFrame, more: pd.DataFrame, number: int) -> gpd.GeoDataFrame:
    """Join an extra per-grid table by grid code; its numeric columns are measures."""
    more = model_columns(pd.DataFrame(more), "grids")[0]
    key = "code" if "code" in more.columns else "grid_code" if "grid_code" in more.columns else None
    if key is None:
        raise SchemaError(
            f"extra measures table {number} has no grid code column (columns: "
            f"{', '.join(map(str, more.columns))})",
            fix="key it by code, grid_code or 网格编码",
        )
    codes = more[key].astype(str)
    if codes.duplicated().any():
        raise SchemaError(
            f"extra measures table {number} lists grid {codes[codes.duplicated()].iloc[0]} twice",
            record=f"grid {codes[codes.duplicated()].iloc[0]}",
            fix="give one row per grid",
        )
    columns = [
        c
        for c in more.columns
        if c not in ("code", "grid_code", "community_code", "geometry", "name")
        and pd.api.types.is_numeric_dtype(more[c])
    ]
    values = more[columns].set_axis(codes.to_numpy())
    for column in columns:
        table[str(column)] = table["code"].map(values[column]).astype("float64")
    return table


# --- the index ------------------------------------------------------------------------------------------


def quality_index(
    measures: pd.DataFrame, weights: Mapping[str, float] | None = None, *, config: IndexConfig | None = None
) -> pd.DataFrame:
    """Combine per-grid measures into the quality index, ranked, with each measure's share of it.

    Parameters
    ----------
    measures : pandas.DataFrame or geopandas.GeoDataFrame
        One row per grid: ``code`` (or 网格编码), optional ``community_code`` (for per-city normalisation),
        and measure columns (:func:`quality_measures`, or your own).
    weights : mapping of str to float, optional
        Weights by measure, replacing the configuration's (a measure not in the configuration counts
        ``higher`` as better and is normalised min-max).
    config : IndexConfig, optional
        Weights, directions, normalisations, scope and the rule for missing measures; default
        :class:`IndexConfig`.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        The input with, per measure used, ``<measure>_score`` (0–1) and ``<measure>_points``, and ``index``
        (0–100, NA for grids without enough measures), ``rank`` (1 = best), ``measures_used``,
        ``weight_used`` (the share of the total weight the grid's measures carry), ``no_index_reason``
        (Chinese, empty for a grid with an index: e.g. ``参评指标权重 33% 低于最低要求 50%（缺 满意率）``),
        ``breakdown`` and ``label`` (Chinese). ``attrs["weights"]`` holds the weights used (summing to 1); a
        GeoDataFrame in is a map layer out.

    Warns
    -----
    GridmapWarning
        Some grids get no index: how many, an example with its reason, and the fix (give the measures
        they lack, lower ``min_weight`` with ``config=IndexConfig(min_weight=…)``, or weigh less the
        measures they lack; with ``missing="exclude"``, re-weight instead).

    Raises
    ------
    SchemaError
        No grid code, a duplicate grid, a measure column that is not numeric, a ``raw`` measure outside
        0–1, or no measure with a weight.
    """
    config = config or IndexConfig()
    if weights:
        config = config.with_weights(weights)
    frame, names = model_columns(measures, "grids")
    if "code" not in frame.columns:
        raise SchemaError("the measures have no grid code column", fix="key them by code (网格编码)")
    if frame["code"].duplicated().any():
        code = frame["code"][frame["code"].duplicated()].iloc[0]
        raise SchemaError(
            f"grid {code} has two rows of measures", record=f"grid {code}", fix="give one row per grid"
        )
    used = _used(frame, config)
    groups = _scope(frame, config.scope)
    result = frame.copy()
    total = sum(config.measures[name].weight for name in used)
    points = pd.DataFrame(index=frame.index)
    weight_had = pd.Series(0.0, index=frame.index)
    for name in used:
        rule = config.measures[name]
        score = _normalised(frame, name, rule, groups)
        result[f"{name}_score"] = score
        points[name] = rule.weight * score
        weight_had += rule.weight * score.notna()
    share = weight_had / total
    enough = (share >= config.min_weight - 1e-12) if config.missing == "reweight" else (share >= 1 - 1e-12)
    for name in used:
        result[f"{name}_points"] = (100 * points[name] / weight_had.where(weight_had > 0)).where(enough)
    result["index"] = (100 * points.sum(axis=1, min_count=1) / weight_had.where(weight_had > 0)).where(enough)
    result["rank"] = result["index"].rank(ascending=False, method="min").astype("Int64")
    result["measures_used"] = points.notna().sum(axis=1).astype("int64")
    result["weight_used"] = share
    result["no_index_reason"] = _reasons(result, used, config, share, enough)
    result["breakdown"] = _breakdown(result, used)
    ranked = int(result["index"].notna().sum())
    result["label"] = [
        f"质效指数 {value:.1f}（第 {rank}/{ranked} 名）" if pd.notna(value) else "指标不足，未参评"
        for value, rank in zip(result["index"], result["rank"], strict=True)
    ]
    result.attrs["weights"] = {name: config.measures[name].weight / total for name in used}
    return _caller(result, names)


def _used(frame: pd.DataFrame, config: IndexConfig) -> list[str]:
    """Return the measures that enter: a weight above 0, a value in some grid; numeric columns only."""
    used = []
    for name, rule in config.measures.items():
        if rule.weight <= 0 or name not in frame.columns or frame[name].isna().all():
            continue
        if not pd.api.types.is_numeric_dtype(frame[name]):
            raise SchemaError(
                f"measure {name!r} is not numeric (e.g. {frame[name].dropna().iloc[0]!r})",
                record=f"column {name}",
                fix="give numbers, shares as 0.85 rather than 85%",
            )
        used.append(name)
    if not used:
        weighted = ", ".join(name for name, rule in config.measures.items() if rule.weight > 0)
        raise SchemaError(
            f"none of the weighted measures ({weighted}) is in the measures table (columns: "
            f"{', '.join(map(str, frame.columns))})",
            fix="give the grids' cases, extra measure columns, or weights for the columns given",
        )
    return used


def _scope(frame: pd.DataFrame, scope: str) -> pd.Series:
    length = _SCOPES[scope]
    if length and "community_code" in frame.columns:
        return frame["community_code"].astype(str).str[:length]
    return pd.Series("all", index=frame.index)


def _normalised(frame: pd.DataFrame, name: str, rule: MeasureRule, groups: pd.Series) -> pd.Series:
    """Return a measure as a score from 0 to 1 (1 best) within each scope group."""
    values = frame[name].astype("float64")
    if not np.isfinite(values.dropna()).all():
        raise SchemaError(
            f"measure {name!r} holds an infinite value",
            record=f"column {name}",
            fix="give finite numbers (a rate over zero cases is missing, not infinite)",
        )
    if rule.normalisation == "raw":
        outside = values.notna() & ~values.between(0, 1)
        if outside.any():
            code = frame.loc[outside, "code"].iloc[0]
            raise SchemaError(
                f"measure {name!r} is {values[outside].iloc[0]!r} for grid {code}, outside 0–1, "
                "but its normalisation is raw",
                record=f"grid {code}",
                fix="give shares from 0 to 1, or normalise it minmax",
            )
        score = values
    elif rule.normalisation == "rank":
        grouped = values.groupby(groups)
        count = grouped.transform("count")
        score = ((grouped.rank(method="average") - 1) / (count - 1).where(count > 1)).where(count > 1, 1.0)
    else:
        grouped = values.groupby(groups)
        low, high = grouped.transform("min"), grouped.transform("max")
        score = ((values - low) / (high - low).where(high > low)).where(high > low, 1.0)
    score = score.where(values.notna())
    return (1 - score if rule.direction == "lower" else score).astype("float64")


def _reasons(result: pd.DataFrame, used: list[str], config: IndexConfig, share: pd.Series,
             enough: pd.Series) -> pd.Series:
    """Say, in Chinese, why each grid has no index ('' when it has one); warn once when some have none."""
    names = {name: QUALITY_MEASURES[name][0] if name in QUALITY_MEASURES else name for name in used}
    lacking = result[[f"{name}_score" for name in used]].isna().to_numpy()
    reasons = pd.Series("", index=result.index, dtype=object)
    short = np.flatnonzero(~enough.to_numpy())
    for row in short:  # only grids without an index: few, and each needs its own sentence
        lack = "、".join(names[used[k]] for k in np.flatnonzero(lacking[row]))
        if share.iloc[row] == 0:
            reasons.iloc[row] = "没有任何参评指标"
        elif config.missing == "exclude":
            reasons.iloc[row] = f"缺 {lack}（missing=\"exclude\"：缺任一指标即不参评）"
        else:
            reasons.iloc[row] = (f"参评指标权重 {share.iloc[row]:.0%} 低于最低要求 {config.min_weight:.0%}"
                                 f"（缺 {lack}）")
    if len(short):
        _warn_unranked(result, short, reasons, config, share)
    return reasons


def _warn_unranked(result: pd.DataFrame, short: np.ndarray, reasons: pd.Series, config: IndexConfig,
                   share: pd.Series) -> None:
    some = share.iloc[short][share.iloc[short] > 0]
    if config.missing == "exclude":
        why = "each lacks a measure and missing='exclude'"
        fix = "pass config=IndexConfig(missing='reweight') to re-weight the measures a grid has"
    else:
        why = f"the measures each has carry less than min_weight={config.min_weight:g} of the weight"
        lower = (f", lower min_weight (config=IndexConfig(min_weight={math.floor(some.min() * 100) / 100:g}) "
                 "ranks every grid with a measure)" if len(some) else "")
        fix = f"give those grids the measures they lack{lower} or give less weight to the measures they lack"
    first = short[0]
    warnings.warn(f"quality_index: {len(short):,} of {len(result):,} grids have no index: {why} (e.g. grid "
                  f"{result['code'].iloc[first]}: {reasons.iloc[first]}); the column no_index_reason says "
                  f"why for each. Fix: {fix}", GridmapWarning, stacklevel=4)


def _breakdown(result: pd.DataFrame, used: list[str]) -> list[str]:
    """Return each grid's points per measure in Chinese, largest first: 满意率 20.0 + 响应率 15.0."""
    names = {name: QUALITY_MEASURES[name][0] if name in QUALITY_MEASURES else name for name in used}
    points = result[[f"{name}_points" for name in used]].to_numpy(dtype="float64")
    texts = []
    for row in points:
        order = np.argsort(-np.nan_to_num(row, nan=-1.0), kind="stable")
        parts = [f"{names[used[i]]} {row[i]:.1f}" for i in order if not np.isnan(row[i])]
        texts.append(" + ".join(parts))
    return texts


def _caller(result: pd.DataFrame, names: Mapping[str, Any]) -> pd.DataFrame:
    """Give the caller's header of the grid code back."""
    back = {model: header for model, header in names.items() if model in result.columns}
    attrs = dict(result.attrs)
    renamed = result.rename(columns=back) if back else result
    renamed.attrs.update(attrs)
    return renamed
