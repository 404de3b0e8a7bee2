"""The patrol tables: per grid and period, per worker and period, unpatrolled grids, from a measured part.

The records cover whole days, from the first day to the last (or ``start`` to ``end``). Per grid and
period:

* ``patrols`` — patrols that start in the period; ``required`` — the rule table's count spread over the
  period's days within the span (see :class:`~gridmap.fieldwork.patrol_rules.PatrolRules`); ``done_rate``;
* ``units``, ``units_passed``, ``coverage`` — the grid's units, those passed within ``within_m`` by the
  grid's own patrols starting in the period (their track segments and points inside the grid; a
  neighbour's track along the shared edge passes none), and their share: 0 for a grid without a patrol;
* ``longest_gap_h`` — the longest stretch of the period with no patrol of the grid, in hours: patrols
  before and after the period count, the span runs from the first day's midnight to ``at`` (default the
  last record's time);
* ``workers``, ``records``, ``minutes`` — the workers with records in the grid, their records, and the
  minutes of track in it; ``own_share`` — the share of its own workers' time (check-ins: records) spent
  inside their own grids.

A worker's own grids come from the roster (``unit_code``), else from the records (所属网格/own_grid),
else the grid where they spent most time (check-ins: most records); ``own_from`` says which.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridmap.cases.periods import period_labels
from gridmap.errors import SchemaError
from gridmap.fieldwork._patrol_measures import DAY_NS, Part
from gridmap.fieldwork.patrol_rules import PatrolRules
from gridmap.findings import Report
from gridmap.io._columns import STRING_DTYPE
from gridmap.schema import join_ids

__all__ = ["Layout", "Span", "span_of", "tables", "idle_grids", "skipped_findings", "GRID_COLUMNS",
           "WORKER_COLUMNS"]

#: The measures per grid (and period), in order.
GRID_COLUMNS = ["patrols", "required", "done_rate", "units", "units_passed", "coverage", "longest_gap_h",
                "workers", "records", "minutes", "own_share"]
#: The columns per worker and period, in order.
WORKER_COLUMNS = ["person_id", "period", "own_grids", "own_from", "patrols", "minutes_inside",
                  "minutes_outside", "share_inside", "records_inside", "records_outside"]
_HOUR_NS = 3_600 * 10**9
_SKIPPED = {
    "no_worker": "name no worker", "no_time": "have no usable time", "no_location": "have no location",
    "unknown_grid": "name a grid code (网格编码) that is not among the grids; located by their point if they "
                    "have one", "unknown_own": "name an own grid (所属网格) that is not among the grids",
    "outside": "lie outside every grid (GCJ-02/BD-09 not converted? pass coords=)",
    "duplicate": "repeat another record exactly (worker, time and place) and are counted once",
    "jump": "are too far from the worker's previous point for the time between them (GPS jumps); the track "
            "breaks there",
}


@dataclass(frozen=True)
class Layout:
    """The grids and units the tables are about."""

    codes: np.ndarray  # grid codes, in the index's order
    count: np.ndarray  # required count per grid (rule table)
    per: np.ndarray  # and its period (day/week/month)
    unit_grid: pd.DataFrame  # (unit, grid) pairs: which units each grid holds
    roster: pd.DataFrame | None  # (person, grid) own grids from a roster
    rules: PatrolRules
    kind: str


@dataclass(frozen=True)
class Span:
    """The days measured (first and last day numbers) and the reference time ``at`` (ns)."""

    first: int
    last: int
    at: int

    @property
    def start(self) -> int:
        return self.first * DAY_NS

    @property
    def end(self) -> int:
        return (self.last + 1) * DAY_NS


def span_of(part: Part, *, start: object = None, end: object = None, at: object = None) -> Span:
    """Return the days from ``start`` (default the first record's) to ``end`` (the last's), and ``at``."""
    bounds = []
    for given, key in ((start, "first"), (end, "last")):
        if given is not None:
            bounds.append(_timestamp(given, "start" if key == "first" else "end") // DAY_NS)
        elif key in part.counts:
            bounds.append(part.counts[key] // DAY_NS)
        else:
            raise SchemaError("no patrol record is usable (every one lacks a worker, a time or a location)",
                              fix="check the records' findings, or pass start= and end= to report the days "
                                  "anyway")
    first, last = int(bounds[0]), int(bounds[1])
    if last < first:
        raise SchemaError(f"end={end!r} is before start={start!r}", fix="pass an end on or after the start")
    reference = _timestamp(at, "at") if at is not None else min(part.counts.get("last", (last + 1) * DAY_NS),
                                                                 (last + 1) * DAY_NS)
    return Span(first, last, int(reference))


def _timestamp(value: object, name: str) -> int:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{name}={value!r} is not a date or time", fix=f"pass {name}= such as '2025-03-01'"
                          ) from exc
    if stamp is pd.NaT:
        raise SchemaError(f"{name}={value!r} is not a date or time", fix=f"pass {name}= such as '2025-03-01'")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("Asia/Shanghai").tz_localize(None)
    return int(stamp.as_unit("ns").value)


def tables(part: Part, layout: Layout, span: Span, *,
           period: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the table per grid and period and the table per worker and period.

    ``period=None`` gives one period, the whole span, labelled ``first day～last day``.
    """
    calendar = _calendar(span, period)
    labels = _period_labels(calendar, period)
    owns = _owns(part, layout)
    workers = _workers(part, layout, owns, calendar, span)
    grids = _grids(part, layout, span, calendar, workers, owns)
    grids.insert(0, "code", pd.Series(layout.codes[grids["grid"].to_numpy()], dtype=STRING_DTYPE))
    grids.insert(1, "period", pd.Series(labels[grids["slot"].to_numpy()], dtype=STRING_DTYPE))
    workers["period"] = pd.Series(labels[workers["slot"].to_numpy()], index=workers.index, dtype=STRING_DTYPE)
    return grids[["code", "period", *GRID_COLUMNS]], workers[WORKER_COLUMNS]


def _calendar(span: Span, period: str | None) -> pd.DataFrame:
    """One row per day of the span: its period's ordinal ``k`` and position ``slot`` among the periods."""
    days = np.arange(span.first, span.last + 1)
    stamps = pd.to_datetime(days, unit="D")
    k = np.zeros(len(days), dtype=np.int64) if period is None else \
        stamps.to_period({"day": "D", "week": "W-SUN", "month": "M"}[period]).asi8
    return pd.DataFrame({"day": days, "k": k, "slot": pd.factorize(k, sort=True)[0],
                         "month_days": stamps.days_in_month})


def _period_labels(calendar: pd.DataFrame, period: str | None) -> np.ndarray:
    ordinals = calendar.drop_duplicates("slot")["k"].to_numpy()
    if period is None:
        first, last = (pd.Timestamp(int(d), unit="D").strftime("%Y-%m-%d")
                       for d in (calendar["day"].iloc[0], calendar["day"].iloc[-1]))
        return np.array([first if first == last else f"{first}～{last}"], dtype=object)
    return period_labels(ordinals, period).to_numpy(dtype=object)


def _slots(days: pd.Series | np.ndarray, span: Span, calendar: pd.DataFrame) -> np.ndarray:
    """Return the period slot of each day, -1 outside the span."""
    days = np.asarray(days, dtype=np.int64)
    inside = (days >= span.first) & (days <= span.last)
    slot = np.full(len(days), -1, dtype=np.int64)
    slot[inside] = calendar["slot"].to_numpy()[days[inside] - span.first]
    return slot


def _owns(part: Part, layout: Layout) -> pd.DataFrame:
    """(person, grid, own_from): each worker's own grids, from the roster, the records or most time."""
    people = pd.Index(pd.unique(part.presence["person"]))
    found = []
    if layout.roster is not None:
        found.append(layout.roster.assign(own_from="roster"))
    records = part.owns[~part.owns["person"].isin(found[0]["person"])] if found else part.owns
    found.append(records.assign(own_from="records"))
    known = pd.Index(pd.concat(found)["person"].unique())
    presence = part.presence
    rest = presence[presence["person"].isin(people.difference(known)) & (presence["grid"] >= 0)]
    weight = "seconds" if layout.kind == "tracks" else "records"
    most = rest.groupby(["person", "grid"], as_index=False)[["seconds", "records"]].sum()
    most = most.sort_values(["person", weight, "records", "grid"], ascending=[True, False, False, True],
                            kind="stable").drop_duplicates("person")
    found.append(most[["person", "grid"]].assign(own_from="most_time"))
    owns = pd.concat(found, ignore_index=True)
    owns = owns.astype({"person": object, "grid": np.int64})
    return owns.sort_values(["person", "grid"], ignore_index=True)


def _workers(part: Part, layout: Layout, owns: pd.DataFrame, calendar: pd.DataFrame,
             span: Span) -> pd.DataFrame:
    """Per worker and period slot: own grids, patrols, minutes and records inside and outside them."""
    presence = part.presence.assign(slot=_slots(part.presence["day"], span, calendar))
    presence = presence[presence["slot"] >= 0]
    own_pairs = pd.MultiIndex.from_frame(owns[["person", "grid"]])
    inside = pd.MultiIndex.from_frame(presence[["person", "grid"]]).isin(own_pairs)
    presence = presence.assign(seconds_inside=np.where(inside, presence["seconds"], 0.0),
                               records_inside=np.where(inside, presence["records"], 0))
    sums = presence.groupby(["person", "slot"])[
        ["seconds", "seconds_inside", "records", "records_inside"]].sum()
    sessions = part.sessions[part.sessions["counts"]]
    patrols = sessions.assign(slot=_slots(sessions["start"] // DAY_NS, span, calendar)).query("slot >= 0") \
        .groupby(["person", "slot"]).size().rename("patrols")
    people = pd.Index(sorted(set(presence["person"]) | set(owns.loc[owns["own_from"] == "roster", "person"])),
                      name="person")
    slots = pd.RangeIndex(int(calendar["slot"].max()) + 1, name="slot")
    full = pd.MultiIndex.from_product([people, slots])
    table = sums.reindex(full, fill_value=0).join(patrols.reindex(full, fill_value=0)).reset_index()
    listed = owns.groupby("person").agg(own_grids=("grid", lambda g: join_ids(layout.codes[np.sort(g)])),
                                        own_from=("own_from", "first"))
    table = table.join(listed, on="person")
    table["minutes_inside"] = table["seconds_inside"] / 60
    table["minutes_outside"] = (table["seconds"] - table["seconds_inside"]) / 60
    measured = table["seconds"] if layout.kind == "tracks" else table["records"]
    inside_measure = table["seconds_inside"] if layout.kind == "tracks" else table["records_inside"]
    table["share_inside"] = (inside_measure / measured).where(measured > 0)
    table["records_outside"] = table["records"] - table["records_inside"]
    if layout.kind != "tracks":
        table[["minutes_inside", "minutes_outside"]] = np.nan
    return table.rename(columns={"person": "person_id"})


def _grids(part: Part, layout: Layout, span: Span, calendar: pd.DataFrame, workers: pd.DataFrame,
           owns: pd.DataFrame) -> pd.DataFrame:
    """Per grid and period slot: the measures of :data:`GRID_COLUMNS` (``grid`` and ``slot`` positions)."""
    n_grids, n_slots = len(layout.codes), int(calendar["slot"].max()) + 1
    full = pd.MultiIndex.from_product([pd.RangeIndex(n_grids, name="grid"),
                                       pd.RangeIndex(n_slots, name="slot")])
    sessions = part.sessions[part.sessions["counts"]]
    slot = _slots(sessions["start"] // DAY_NS, span, calendar)
    patrols = pd.Series(1, index=pd.MultiIndex.from_arrays([sessions["grid"], slot], names=["grid", "slot"]))
    table = pd.DataFrame(index=full)
    table["patrols"] = patrols[slot >= 0].groupby(level=[0, 1]).sum().reindex(full, fill_value=0)
    table["required"] = _required(layout, calendar).reshape(-1)
    table["done_rate"] = (table["patrols"] / table["required"]).where(table["required"] > 0)
    units = np.bincount(layout.unit_grid["grid"].to_numpy(dtype=np.int64), minlength=n_grids)
    table["units"] = np.repeat(units, n_slots)
    table["units_passed"] = _passed(part, layout, span, calendar).reindex(full, fill_value=0)
    table["coverage"] = (table["units_passed"] / table["units"]).where(table["units"] > 0)
    table["longest_gap_h"] = _longest_gaps(sessions, span, calendar, n_grids).reshape(-1) / _HOUR_NS
    presence = part.presence.assign(slot=_slots(part.presence["day"], span, calendar))
    presence = presence[(presence["slot"] >= 0) & (presence["grid"] >= 0)]
    grouped = presence.groupby(["grid", "slot"])
    table["workers"] = grouped["person"].nunique().reindex(full, fill_value=0)
    table["records"] = grouped["records"].sum().reindex(full, fill_value=0)
    table["minutes"] = (grouped["seconds"].sum() / 60).reindex(full, fill_value=0.0)
    if layout.kind != "tracks":
        table["minutes"] = np.nan
    table["own_share"] = _own_share(workers, owns, layout).reindex(full)
    return table.reset_index()


def _required(layout: Layout, calendar: pd.DataFrame) -> np.ndarray:
    """Return the required patrols per grid and slot: a day weighs 1, 1/7 or 1/(days of its month)."""
    weights = {"day": np.ones(len(calendar)), "week": np.full(len(calendar), 1 / 7),
               "month": 1 / calendar["month_days"].to_numpy(dtype=float)}
    slot = calendar["slot"].to_numpy()
    n_slots = int(slot.max()) + 1
    per_slot = {per: np.bincount(slot, weights=weight, minlength=n_slots) for per, weight in weights.items()}
    rows = np.stack([per_slot[str(per)] for per in layout.per]) if len(layout.per) else np.zeros((0, n_slots))
    return layout.count[:, None] * rows


def _passed(part: Part, layout: Layout, span: Span, calendar: pd.DataFrame) -> pd.Series:
    """Units passed per (grid, slot): the grid's own units its patrols passed, each once per period."""
    hits = part.hits.assign(slot=_slots(part.hits["day"], span, calendar))
    hits = hits[hits["slot"] >= 0].merge(layout.unit_grid, on=["unit", "grid"])
    return hits.drop_duplicates(["unit", "grid", "slot"]).groupby(["grid", "slot"]).size()


def _longest_gaps(sessions: pd.DataFrame, span: Span, calendar: pd.DataFrame, n_grids: int) -> np.ndarray:
    """Return the longest stretch (ns) without a patrol of each grid in each slot, from the start to ``at``.

    The gaps between patrols (merged where patrols of several workers overlap), before the first and after
    the last, are cut at the period bounds; the longest piece per grid and period wins.
    """
    stop = min(span.end, max(span.at, span.start))
    s = sessions[["grid", "start", "end"]].sort_values(["grid", "start"], kind="stable", ignore_index=True)
    s = s[(s["end"] >= span.start) & (s["start"] <= stop)]
    covered = s.groupby("grid")["end"].cummax()
    before = covered.groupby(s["grid"]).shift(1).fillna(span.start).to_numpy(dtype=np.int64)
    last = covered.groupby(s["grid"]).max()
    idle = np.setdiff1d(np.arange(n_grids), last.index.to_numpy())
    grid = np.concatenate([s["grid"].to_numpy(), last.index.to_numpy(), idle]).astype(np.int64)
    a = np.concatenate([before, last.to_numpy(dtype=np.int64), np.full(len(idle), span.start)])
    b = np.concatenate([s["start"].to_numpy(), np.full(len(last) + len(idle), stop)]).astype(np.int64)
    a, b = np.maximum(a, span.start), np.minimum(b, stop)
    keep = b > a
    grid, a, b = grid[keep], a[keep], b[keep]
    bounds = calendar.groupby("slot")["day"].agg(["min", "max"])
    p_start = bounds["min"].to_numpy(dtype=np.int64) * DAY_NS
    p_end = (bounds["max"].to_numpy(dtype=np.int64) + 1) * DAY_NS
    first = np.searchsorted(p_end, a, side="right")
    last_slot = np.searchsorted(p_start, b, side="left") - 1
    pieces = np.maximum(last_slot - first + 1, 0)
    which = np.repeat(np.arange(len(a)), pieces)
    slot = np.repeat(first, pieces) + (np.arange(len(which)) - np.repeat(np.cumsum(pieces) - pieces, pieces))
    length = np.minimum(b[which], p_end[slot]) - np.maximum(a[which], p_start[slot])
    longest = np.zeros((n_grids, len(p_start)), dtype=np.int64)
    np.maximum.at(longest, (grid[which], slot), length)
    return longest


def _own_share(workers: pd.DataFrame, owns: pd.DataFrame, layout: Layout) -> pd.Series:
    """Per (grid, slot): the share of the grid's own workers' time (check-ins: records) inside own grids."""
    measure = ("seconds", "seconds_inside") if layout.kind == "tracks" else ("records", "records_inside")
    joined = owns[["person", "grid"]].merge(workers.rename(columns={"person_id": "person"}), on="person")
    sums = joined.groupby(["grid", "slot"])[list(measure)].sum()
    return (sums[measure[1]] / sums[measure[0]]).where(sums[measure[0]] > 0)


def idle_grids(part: Part, layout: Layout, span: Span) -> pd.DataFrame:
    """Return per grid the end of its last patrol up to ``at`` (NaT: none) and the days since."""
    sessions = part.sessions[part.sessions["counts"] & (part.sessions["start"] <= span.at)]
    last = sessions.groupby("grid")["end"].max().reindex(range(len(layout.codes)))
    since = np.where(last.notna(), last.to_numpy(dtype=float), span.start)
    idle = np.maximum(span.at - since, 0) / DAY_NS
    return pd.DataFrame({"last_patrol": pd.to_datetime(last.to_numpy(dtype=float)), "idle_days": idle})


def skipped_findings(counts: Counter, report: Report) -> None:
    """One finding per reason records were left out or merged, with the number of records."""
    for check, what in _SKIPPED.items():
        n = int(counts.get(check, 0))
        if n:
            report.add(check, f"{n:,} records {what}", severity="warning", records=n)
