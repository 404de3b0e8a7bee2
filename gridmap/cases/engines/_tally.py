"""Case tallies: the small table both engines add up, batch by batch or partition by partition.

A tally has one row per (grid position, located, period) with the number of records, the number of
cases (sum of ``count``) and the records whose count or report time is unusable. Tallies of any number of
batches add up to the tally of all of them (:func:`combine`), and :func:`finish` turns one into a table per
grid, community, street or district (and period) with exactly the counts :func:`gridmap.stats.summarize`
gives.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from gridmap.cases.gridindex import GridIndex
from gridmap.cases.locate import assign_in_memory
from gridmap.cases.periods import period_labels
from gridmap.errors import GridmapWarning, SchemaError
from gridmap.findings import Report
from gridmap.schema import PERIODS, ROLLUP_LEVELS

__all__ = ["check_options", "check_columns", "grid_index", "tally", "tally_points", "combine", "finish",
           "add_findings", "NO_PERIOD"]

#: Period ordinal of records without a usable report time (pandas' NaT ordinal).
NO_PERIOD = np.iinfo(np.int64).min
_KEYS = ["grid", "located", "period"]  # grid: position among the grids, -1 for none
_SUMS = ["records", "cases", "bad_count", "no_time"]
_CODE_LENGTH = {"community": 12, "street": 9, "district": 6}


def check_options(grids: gpd.GeoDataFrame | GridIndex, *, by: str, period: str | None) -> None:
    """Refuse an unknown level or period, and grids that cannot be rolled up to ``by``."""
    if by not in ROLLUP_LEVELS:
        raise SchemaError(f"by={by!r} is not a level", fix=f"pass by= one of {', '.join(ROLLUP_LEVELS)}")
    if period is not None and period not in PERIODS:
        raise SchemaError(f"period={period!r} is not a period",
                          fix=f"pass period= one of {', '.join(PERIODS)}")
    if by == "grid" or not isinstance(grids, (pd.DataFrame, GridIndex)):
        return  # GridIndex checks the grids themselves
    codes: np.ndarray | None
    if isinstance(grids, GridIndex):
        codes, community = grids.codes, grids.community_codes
    else:
        codes = grids["code"].to_numpy(dtype=object) if "code" in grids.columns else None
        community = grids["community_code"].to_numpy(dtype=object) if "community_code" in grids.columns \
            else None
    if community is None:
        raise SchemaError(f"grids have no column 'community_code' to roll cases up by {by}",
                          fix="give every grid the 12-digit code of its community, or pass by='grid'")
    bad = [i for i, code in enumerate(community)
           if not (isinstance(code, str) and len(code) == 12 and code.isdigit())]
    if bad:
        grid = codes[bad[0]] if codes is not None else f"row {bad[0] + 1}"
        raise SchemaError(f"grid {grid!r} has community code {community[bad[0]]!r}, not 12 digits",
                          record=f"grid {grid}",
                          fix="give every grid the 12-digit statistical code of its community")


def check_columns(columns: Iterable[str], *, period: str | None,
                  path: str | os.PathLike | None = None) -> None:
    """Refuse cases without a report time when counting per period."""
    if period is not None and "reported_at" not in columns:
        raise SchemaError(f"the cases have no report time (reported_at) to count them per {period}",
                          path=path, fix="give the cases a reported_at column, or pass period=None")


def grid_index(grids: gpd.GeoDataFrame | GridIndex, crs: pyproj.CRS | str | None) -> GridIndex:
    """Return the grids' index (built once for all batches), checked by assigning no cases in ``crs``."""
    index = grids if isinstance(grids, GridIndex) else GridIndex(grids)
    assign_in_memory(gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=crs)), index, report=Report("grids"))
    return index


def tally(cases: gpd.GeoDataFrame, index: GridIndex, *, period: str | None) -> pd.DataFrame:
    """Put one batch of cases in grids and count them per grid (and period).

    ``cases`` needs a point geometry and may have ``count`` (default 1 per record; a count that is not a
    whole number of 0 or more counts 0, as in :func:`gridmap.stats.summarize`) and ``reported_at``
    (required with ``period``). Findings of the assignment are not kept: the tally counts them.
    """
    assigned = assign_in_memory(cases[[cases.geometry.name]], index, report=Report("tally"))
    grid = pd.Index(index.codes).get_indexer(assigned["grid_code"])  # -1 for NA
    located = (assigned["grid_code"].notna() | assigned["outside_m"].notna()).to_numpy()
    return _tallied(grid, located, cases, period=period)


def tally_points(x: np.ndarray, y: np.ndarray, cases: pd.DataFrame, index: GridIndex, *,
                 period: str | None) -> pd.DataFrame:
    """Count one batch of cases given by coordinates in the index's CRS (NaN: no point), as :func:`tally`.

    ``cases`` holds the batch's ``count`` and ``reported_at`` (when there are such columns).
    """
    located = np.isfinite(x) & np.isfinite(y)
    grid = np.full(len(x), -1, dtype=np.int64)
    grid[located] = index.locate(x[located], y[located])
    return _tallied(grid, located, cases, period=period)


def _tallied(grid: np.ndarray, located: np.ndarray, cases: pd.DataFrame, *,
             period: str | None) -> pd.DataFrame:
    weight, bad_count = _weights(cases)
    frame = pd.DataFrame({
        "grid": grid, "located": located,
        "period": _period_ordinals(cases["reported_at"], period) if period else NO_PERIOD,
        "records": 1, "cases": weight, "bad_count": bad_count.astype(np.int64),
    })
    frame["no_time"] = (frame["period"] == NO_PERIOD).astype(np.int64) if period else 0
    return combine([frame])


def combine(tallies: list[pd.DataFrame]) -> pd.DataFrame:
    """Add tallies up: one row per (grid, located, period)."""
    filled = [t for t in tallies if len(t)]
    if not filled:
        return pd.DataFrame({"grid": pd.Series(dtype=np.int64), "located": pd.Series(dtype=bool),
                             **{c: pd.Series(dtype=np.int64) for c in ["period", *_SUMS]}})
    frame = pd.concat(filled, ignore_index=True)
    summed = frame.groupby(_KEYS, sort=False)[_SUMS].sum().reset_index()
    return summed.astype({"grid": np.int64, "located": bool, "period": np.int64,
                          **dict.fromkeys(_SUMS, np.int64)})


def finish(tallies: pd.DataFrame, index: GridIndex, *, by: str, period: str | None,
           report: Report | None = None) -> pd.DataFrame:
    """Return records and cases per unit of ``by`` (and period), and account for the cases left out.

    Every unit of the grids gets a row (zeros included) and, with ``period``, every period from the
    first to the last one with cases, like :func:`gridmap.stats.summarize`. Cases outside every grid,
    without a location or (with ``period``) without a report time are left out and summarised in
    ``report`` (a :class:`~gridmap.errors.GridmapWarning` without one).
    """
    in_grid = (tallies["grid"] >= 0).to_numpy()
    timed = (tallies["period"] != NO_PERIOD).to_numpy() if period else np.ones(len(tallies), dtype=bool)
    add_findings(report, _left_out(tallies, in_grid, timed, period=period), stacklevel=4)
    known = tallies[in_grid & timed]
    if by == "grid":
        unit_of = np.asarray(index.codes, dtype=object)
    else:
        communities = index.community_codes
        assert communities is not None, "the option check refuses a level above grid without community codes"
        unit_of = np.array([code[:_CODE_LENGTH[by]] for code in communities], dtype=object)
    keys = [pd.Series(unit_of[known["grid"].to_numpy()], index=known.index, name="code")]
    if period:
        keys.append(known["period"])
    counts = known.groupby(keys, sort=False)[["records", "cases"]].sum()
    units = pd.Index(np.unique(unit_of.astype(str)), name="code")
    if period:
        spans = _span(known["period"], period)
        counts = counts.reindex(pd.MultiIndex.from_product([units, spans], names=["code", "period"]),
                                fill_value=0).reset_index()
        counts["period"] = period_labels(counts["period"].to_numpy(), period)
    else:
        counts = counts.reindex(units, fill_value=0).reset_index()
    return counts.astype({"code": _STR, "records": np.int64, "cases": np.int64}).reset_index(drop=True)


def add_findings(report: Report | None, findings: Report, *, stacklevel: int) -> None:
    """Hand summary findings to the caller's report, or warn once when there is none."""
    if report is not None:
        report.extend(findings)
    elif len(findings):
        warnings.warn(f"{findings.summary()}; pass report= to list them", GridmapWarning,
                      stacklevel=stacklevel)


# Text columns: pandas' "str" from pandas 3 on, object before (where "str" turns NA into "nan").
_STR = "str" if int(pd.__version__.split(".")[0]) >= 3 else object


def _weights(cases: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Cases per record (missing count: 1) and which records have an unusable count (counted 0)."""
    if "count" not in cases.columns:
        return np.ones(len(cases), dtype=np.int64), np.zeros(len(cases), dtype=bool)
    raw = cases["count"]
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    given = raw.notna().to_numpy()
    with np.errstate(invalid="ignore"):
        bad = given & (np.isnan(numbers) | (numbers < 0) | (numbers % 1 != 0))
    weight = np.where(bad, 0, np.where(given, numbers, 1))
    return weight.astype(np.int64), bad


def _period_ordinals(reported: pd.Series, period: str) -> np.ndarray:
    """Pandas period ordinal of each report time (China Standard Time); NO_PERIOD where there is none."""
    times = reported
    if not pd.api.types.is_datetime64_any_dtype(times):
        times = pd.to_datetime(reported, errors="coerce")
        retry = times.isna() & reported.notna()
        if retry.any():  # several layouts in one column: parse those element by element
            times = times.astype("datetime64[ns]")
            times[retry] = pd.to_datetime(reported[retry].astype(str), errors="coerce", format="mixed")
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    return pd.PeriodIndex(times.dt.to_period(PERIODS[period][0])).asi8


def _span(ordinals: pd.Series, period: str) -> pd.Index:
    """Every period ordinal from the first to the last present."""
    if not len(ordinals):
        return pd.Index([], dtype=np.int64, name="period")
    return pd.RangeIndex(int(ordinals.min()), int(ordinals.max()) + 1, name="period")


def _left_out(tallies: pd.DataFrame, in_grid: np.ndarray, timed: np.ndarray, *, period: str | None) -> Report:
    """One finding per reason cases are left out, with the numbers of cases and records."""
    findings = Report("case tallies")
    located = tallies["located"].to_numpy(dtype=bool)
    reasons = (
        ("outside", ~in_grid & located, "lie outside every grid; check their coordinates (GCJ-02/BD-09 not "
         "converted?) or the grids' coverage"),
        ("no_location", ~located, "have no point and cannot be put in a grid"),
        ("no_time", in_grid & ~timed, f"have no usable report time (reported_at) and are in no {period}"),
    )
    for check, rows, what in reasons:
        cases, records = (int(tallies.loc[rows, column].sum()) for column in ("cases", "records"))
        if records:
            findings.add(check, f"{cases:,} cases ({records:,} records) {what}; they are left out",
                         severity="warning", cases=cases, records=records)
    bad = int(tallies["bad_count"].sum())
    if bad:
        findings.add("bad_count", f"{bad:,} records have a count that is not a whole number of cases (0 or "
                     "more); they count 0", severity="warning", records=bad)
    return findings
