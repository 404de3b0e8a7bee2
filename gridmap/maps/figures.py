"""The figures maps show, per grid and for a whole area, taken from :mod:`gridmap.stats` or from the grids.

Maps never redefine a measure: case counts, rates, response and on-time shares and the leaders'
contacts come from :func:`gridmap.stats.summarize` (suppression from
:func:`gridmap.stats.suppress_small_counts`). A column already on the grids frame (``population_density``
or ``density``, ``cases``, ``cases_per_1000``, ``cases_per_km2``, ``leader_name``, ``leader_phone``) is
used as given, so figures computed elsewhere can be mapped.

``period`` selects the cases reported in one span of time: a pandas period string (``"2025"``,
``"2025Q2"``, ``"2025-06"``, ``"2025-06-03"``), a ``pandas.Period``, or a ``(start, end)`` pair (start
included, end excluded); None takes every case.

Examples
--------
>>> period_bounds("2025-06")
(Timestamp('2025-06-01 00:00:00'), Timestamp('2025-07-01 00:00:00'))
>>> period_label(("2025-01-01", "2025-04-01"))
'2025-01-01 – 2025-03-31'
"""

from __future__ import annotations

import re
from typing import TypeAlias, overload

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.crs import metric_crs
from gridmap.errors import GridmapError, SchemaError
from gridmap.io._columns import codes_in

__all__ = ["period_bounds", "period_label", "in_period", "cases_in_period", "grid_figures", "area_figures",
           "community_codes", "THRESHOLD"]

#: Case counts below this are not published (``public=True``).
THRESHOLD = 5
_CASE_COLUMNS = ("cases", "cases_per_1000", "cases_per_km2")
#: What a ``period=`` argument may be: "2025", "2025Q2", "2025-06", "2025-06-01", a pandas Period, a pair
#: (start, end) of anything pandas reads as a time, or None for all time.
PeriodLike: TypeAlias = str | pd.Period | tuple | list | None

_PERIOD = re.compile(r"\d{4}(Q[1-4]|-\d{2}(-\d{2})?)?")
_PERIOD_FIX = "pass period= like '2025-06' (a month), '2025Q2', '2025', or a (start, end) pair of dates"


@overload
def period_bounds(period: None) -> None: ...
@overload
def period_bounds(period: str | pd.Period | tuple | list) -> tuple[pd.Timestamp, pd.Timestamp]: ...
@overload
def period_bounds(period: PeriodLike) -> tuple[pd.Timestamp, pd.Timestamp] | None: ...
def period_bounds(period: PeriodLike) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Return ``(start, end)`` of ``period`` (start included, end excluded), or None for no period."""
    if period is None:
        return None
    try:
        if isinstance(period, (tuple, list)) and len(period) == 2:
            start, end = pd.Timestamp(period[0]), pd.Timestamp(period[1])
        else:
            if not isinstance(period, pd.Period) and not _PERIOD.fullmatch(str(period).strip()):
                raise ValueError("expected YYYY, YYYYQn, YYYY-MM or YYYY-MM-DD")
            span = period if isinstance(period, pd.Period) else pd.Period(str(period).strip())
            start, end = span.start_time, (span + 1).start_time
    except (ValueError, TypeError) as exc:
        raise GridmapError(f"period={period!r} is not a period ({exc})", fix=_PERIOD_FIX) from exc
    if not start < end:
        raise GridmapError(f"period={period!r} ends before it starts", fix=_PERIOD_FIX)
    return start, end


def period_label(period: PeriodLike) -> str | None:
    """Return the period as shown on maps: a span of whole days names its first and its last day."""
    if period is None:
        return None
    if isinstance(period, (tuple, list)):
        start, end = period_bounds(period)
        if end == end.normalize():  # ends at midnight: the day before is the last one
            end = end - pd.Timedelta(days=1)
        return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"
    return str(period)


def community_codes(grids: pd.DataFrame) -> pd.Series:
    """Each grid's 12-digit community code: the ``community_code`` column, else the code's first 12 digits."""
    if "community_code" in grids.columns:
        return grids["community_code"].astype(str)
    derived = grids["code"].astype(str).str[:12]
    if not derived.str.fullmatch(r"\d{12}").all():
        raise SchemaError("grids have no community_code column and their codes do not start with one",
                          record="grid layer",
                          fix="add a community_code column (the 12-digit code of each grid's community)")
    return derived


def in_period(cases: pd.DataFrame, period: PeriodLike) -> np.ndarray:
    """Which cases were reported in ``period`` (all for None)."""
    bounds = period_bounds(period)
    if bounds is None:
        return np.ones(len(cases), dtype=bool)
    if "reported_at" not in cases.columns:
        raise SchemaError("cases have no reported_at column, so period= cannot select them",
                          record="cases", fix="read cases with gridmap.cases.read_cases, or drop period=")
    reported = pd.to_datetime(cases["reported_at"])
    return ((reported >= bounds[0]) & (reported < bounds[1])).fillna(False).to_numpy(dtype=bool)


def cases_in_period(cases: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, period: PeriodLike) -> pd.DataFrame:
    """Return the cases reported in ``period`` that lie in ``grids``, each with its ``grid_code``."""
    from gridmap.cases import in_grids

    cases = in_grids(cases, grids)
    keep = codes_in(cases["grid_code"], grids["code"]) & in_period(cases, period)
    return cases.loc[keep]


def _areas_km2(grids: gpd.GeoDataFrame) -> np.ndarray:
    return grids.geometry.to_crs(metric_crs(grids)).area.to_numpy() / 1e6


def grid_figures(grids: gpd.GeoDataFrame, cases: pd.DataFrame | None = None,
                 staff: pd.DataFrame | None = None, *, period: PeriodLike = None, public: bool = False,
                 contacts: bool = False) -> pd.DataFrame:
    """Figures per grid, aligned to ``grids`` (same index).

    Columns: ``area_km2``, ``population_density``; with cases (or case columns on the grids):
    ``cases``, ``cases_per_1000``, ``cases_per_km2``; with ``contacts`` and a roster: ``leader_name``,
    ``leader_phone``; always ``suppressed`` (True where ``public`` hides the case figures: fewer than
    :data:`THRESHOLD` cases, zero included, as :func:`gridmap.stats.suppress_small_counts` does).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> grids = gpd.GeoDataFrame({"code": ["450102001003001"], "population": [1000]},
    ...                          geometry=[box(108.30, 22.80, 108.31, 22.81)], crs="EPSG:4490")
    >>> figures = grid_figures(grids)
    >>> round(float(figures["area_km2"].iloc[0]), 3), round(float(figures["population_density"].iloc[0]))
    (1.137, 880)
    """
    result = pd.DataFrame(index=grids.index)
    result["area_km2"] = _areas_km2(grids)
    if "population_density" in grids.columns or "density" in grids.columns:
        given = grids["population_density"] if "population_density" in grids.columns else grids["density"]
        result["population_density"] = pd.to_numeric(given, errors="coerce").astype(float)
    else:
        population = pd.to_numeric(grids["population"], errors="coerce") if "population" in grids.columns \
            else pd.Series(np.nan, index=grids.index)
        area = result["area_km2"].where(result["area_km2"] > 0)
        result["population_density"] = (population / area).astype(float)
    stats = _stats_table(grids, cases, staff, period=period, contacts=contacts)
    for column in (*_CASE_COLUMNS, "leader_name", "leader_phone"):
        if column in grids.columns:
            result[column] = grids[column].to_numpy()
        elif stats is not None and column in stats.columns:
            result[column] = stats[column].to_numpy()
    if "cases" in result.columns:
        result["cases"] = pd.to_numeric(result["cases"], errors="coerce")
        for column, denominator in (("cases_per_1000", "population"), ("cases_per_km2", "area_km2")):
            if column not in result.columns:
                base = grids[denominator] if denominator in grids.columns else result.get(denominator)
                base = pd.to_numeric(base, errors="coerce")
                scale = 1000 if column == "cases_per_1000" else 1
                result[column] = (scale * result["cases"] / base.where(base > 0)).astype(float)
    result["suppressed"] = public & (result["cases"] < THRESHOLD).fillna(False).to_numpy(dtype=bool) \
        if "cases" in result.columns else False
    if public:
        result = _suppressed(result)
    return result


def _suppressed(figures: pd.DataFrame) -> pd.DataFrame:
    """Hide small counts with gridmap.stats' rule; keep the mask in ``suppressed``."""
    from gridmap.stats.summary import suppress_small_counts

    mask = figures["suppressed"].to_numpy(dtype=bool)
    if "cases" not in figures.columns:
        return figures
    hidden = suppress_small_counts(figures.drop(columns="suppressed"), columns=["cases"], threshold=THRESHOLD)
    hidden["suppressed"] = mask
    return hidden


def _stats_table(grids, cases, staff, *, period, contacts: bool) -> pd.DataFrame | None:
    """:func:`gridmap.stats.summarize` by grid, rows in the order of ``grids``; None when nothing to add."""
    if cases is None and not (contacts and staff is not None):
        return None
    from gridmap.stats.summary import summarize

    frame = grids.assign(community_code=community_codes(grids).to_numpy())
    selected = cases_in_period(cases, frame, period) if cases is not None else None
    table = summarize(frame, selected, staff if contacts else None, by="grid",
                      include_staff_contacts=contacts)
    return table.set_index("code").reindex(frame["code"].astype(str)).reset_index()


def area_figures(grids: gpd.GeoDataFrame, cases: pd.DataFrame | None = None,
                 staff: pd.DataFrame | None = None, *, period: PeriodLike = None,
                 by_month: bool = False) -> pd.DataFrame:
    """Totals for all ``grids`` together, from :func:`gridmap.stats.summarize`.

    Returns a one-row table (households, population, cases, response_rate, on_time_rate, share_grid, staff
    posts, …) or, with ``by_month``, one row per month of the cases (every case, whatever ``period``).
    """
    from gridmap.stats.summary import summarize

    # summarize rolls grids up by community code: one shared code makes the whole area one unit.
    frame = grids.assign(community_code="0" * 12)
    selected = None if cases is None else cases_in_period(cases, frame, None if by_month else period)
    return summarize(frame, selected, staff, by="community", period="month" if by_month else None)
