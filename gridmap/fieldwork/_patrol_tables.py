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
from gridmap.fieldwork._patrol_measures import DAY_NS, Part, sum_by
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
    found = []
    if layout.roster is not None:
        found.append((layout.roster, "roster"))
    records = part.owns[~part.owns["person"].isin(found[0][0]["person"])] if found else part.owns
    found.append((records, "records"))
    presence = part.presence
    known = np.concatenate([frame["person"].to_numpy(dtype=object) for frame, _ in found])
    rest = presence[~presence["person"].isin(known) & (presence["grid"] >= 0)]
    found.append((_most_time(rest, layout), "most_time"))
    person = np.concatenate([frame["person"].to_numpy(dtype=object) for frame, _ in found])
    grid = np.concatenate([frame["grid"].to_numpy(dtype=np.int64) for frame, _ in found])
    source = np.concatenate([np.full(len(frame), name, dtype=object) for frame, name in found])
    order = np.lexsort((grid, pd.factorize(person, sort=True)[0]))
    return pd.DataFrame({"person": person[order], "grid": grid[order],
                         "own_from": pd.Series(source[order], dtype=STRING_DTYPE)})


def _most_time(presence: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    """(person, grid): the grid where each worker spent most time (check-ins: has most records)."""
    who, people = pd.factorize(presence["person"].to_numpy(dtype=object), sort=True)
    grid = presence["grid"].to_numpy(dtype=np.int64)
    cell, pairs = np.unique(who * len(layout.codes) + grid, return_inverse=True)
    seconds = sum_by(pairs, presence["seconds"].to_numpy(), len(cell))
    records = _count_by(pairs, presence["records"].to_numpy(), len(cell))
    weight = seconds if layout.kind == "tracks" else records
    who, grid = cell // len(layout.codes), cell % len(layout.codes)
    order = np.lexsort((grid, -records, -weight, who))
    best = order[np.r_[True, who[order][1:] != who[order][:-1]]] if len(order) else order
    return pd.DataFrame({"person": np.asarray(people, dtype=object)[who[best]], "grid": grid[best]})


def _workers(part: Part, layout: Layout, owns: pd.DataFrame, calendar: pd.DataFrame,
             span: Span) -> pd.DataFrame:
    """Per worker and period slot: own grids, patrols, seconds, minutes and records inside and outside them.

    One row per worker (sorted) and slot, in that order: the row of worker ``i`` and slot ``j`` is
    ``i * n_slots + j``.
    """
    presence = part.presence
    slot = _slots(presence["day"], span, calendar)
    kept = slot >= 0
    person, grid, slot = presence["person"].to_numpy()[kept], presence["grid"].to_numpy()[kept], slot[kept]
    roster = owns.loc[owns["own_from"] == "roster", "person"]
    people = pd.Index(sorted(set(person) | set(roster)), name="person", dtype=STRING_DTYPE)
    n_slots, n_people = int(calendar["slot"].max()) + 1, len(people)
    who = people.get_indexer(person)
    own_who = people.get_indexer(owns["person"])
    width = len(layout.codes) + 1  # grid -1 (outside every grid) included
    inside = np.isin(who * width + grid + 1, own_who * width + owns["grid"].to_numpy() + 1)
    seconds, records = presence["seconds"].to_numpy()[kept], presence["records"].to_numpy()[kept]
    seconds_inside, records_inside = np.where(inside, seconds, 0.0), np.where(inside, records, 0)
    cell, cells = who * n_slots + slot, n_people * n_slots
    sessions = part.sessions[part.sessions["counts"]]
    session_slot = _slots(sessions["start"] // DAY_NS, span, calendar)
    session_who = people.get_indexer(sessions["person"])
    counted = (session_slot >= 0) & (session_who >= 0)
    table = pd.DataFrame({
        "person_id": people.repeat(n_slots), "slot": np.tile(np.arange(n_slots, dtype=np.int64), n_people),
        "seconds": sum_by(cell, seconds, cells), "seconds_inside": sum_by(cell, seconds_inside, cells),
        "records": _count_by(cell, records, cells), "records_inside": _count_by(cell, records_inside, cells),
        "patrols": np.bincount(session_who[counted] * n_slots + session_slot[counted],
                               minlength=cells).astype(np.int64)})
    listed = _listed_owns(owns, layout)
    table = table.join(listed, on="person_id")
    table["minutes_inside"] = table["seconds_inside"] / 60
    table["minutes_outside"] = (table["seconds"] - table["seconds_inside"]) / 60
    measured = table["seconds"] if layout.kind == "tracks" else table["records"]
    inside_measure = table["seconds_inside"] if layout.kind == "tracks" else table["records_inside"]
    table["share_inside"] = (inside_measure / measured).where(measured > 0)
    table["records_outside"] = table["records"] - table["records_inside"]
    if layout.kind != "tracks":
        table[["minutes_inside", "minutes_outside"]] = np.nan
    return table


def _listed_owns(owns: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    """Per worker: ``own_grids`` (their grids' codes joined, in grid order) and ``own_from``.

    ``owns`` is sorted by worker and grid and names one source per worker.
    """
    person = owns["person"].to_numpy()
    first = np.flatnonzero(np.r_[True, person[1:] != person[:-1]]) if len(person) else np.array([], dtype=int)
    codes = np.split(layout.codes[owns["grid"].to_numpy()], first[1:])
    return pd.DataFrame({"own_grids": [join_ids(listed) for listed in codes] if len(first) else [],
                         "own_from": owns["own_from"].to_numpy()[first]},
                        index=pd.Index(person[first], name="person"))


def _count_by(key: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum integer ``values`` per ``key`` in ``0..n-1``."""
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, key, np.asarray(values, dtype=np.int64))
    return out


def _grids(part: Part, layout: Layout, span: Span, calendar: pd.DataFrame, workers: pd.DataFrame,
           owns: pd.DataFrame) -> pd.DataFrame:
    """Per grid and period slot: the measures of :data:`GRID_COLUMNS` (``grid`` and ``slot`` positions).

    One row per grid and slot, in that order: the row of grid ``g`` and slot ``j`` is ``g * n_slots + j``.
    """
    n_grids, n_slots = len(layout.codes), int(calendar["slot"].max()) + 1
    cells = n_grids * n_slots
    sessions = part.sessions[part.sessions["counts"]]
    slot = _slots(sessions["start"] // DAY_NS, span, calendar)
    cell = (sessions["grid"].to_numpy(dtype=np.int64) * n_slots + slot)[slot >= 0]
    table = pd.DataFrame({"grid": np.repeat(np.arange(n_grids, dtype=np.int64), n_slots),
                          "slot": np.tile(np.arange(n_slots, dtype=np.int64), n_grids),
                          "patrols": np.bincount(cell, minlength=cells).astype(np.int64),
                          "required": _required(layout, calendar).reshape(-1)})
    table["done_rate"] = (table["patrols"] / table["required"]).where(table["required"] > 0)
    units = np.bincount(layout.unit_grid["grid"].to_numpy(dtype=np.int64), minlength=n_grids)
    table["units"] = np.repeat(units, n_slots).astype(np.int64)
    table["units_passed"] = _passed(part, layout, span, calendar, n_slots)
    table["coverage"] = (table["units_passed"] / table["units"]).where(table["units"] > 0)
    table["longest_gap_h"] = _longest_gaps(sessions, span, calendar, n_grids).reshape(-1) / _HOUR_NS
    presence = part.presence
    slot = _slots(presence["day"], span, calendar)
    grid = presence["grid"].to_numpy(dtype=np.int64)
    kept = (slot >= 0) & (grid >= 0)
    cell = grid[kept] * n_slots + slot[kept]
    who = pd.factorize(presence["person"].to_numpy()[kept])[0]
    n_people = int(who.max(initial=0)) + 1
    pairs = np.unique(cell * n_people + who)  # each worker once per grid and slot
    table["workers"] = np.bincount(pairs // n_people, minlength=cells).astype(np.int64)
    table["records"] = _count_by(cell, presence["records"].to_numpy()[kept], cells)
    table["minutes"] = sum_by(cell, presence["seconds"].to_numpy()[kept], cells) / 60
    if layout.kind != "tracks":
        table["minutes"] = np.nan
    table["own_share"] = _own_share(workers, owns, layout, n_grids, n_slots)
    return table


def _required(layout: Layout, calendar: pd.DataFrame) -> np.ndarray:
    """Return the required patrols per grid and slot: a day weighs 1, 1/7 or 1/(days of its month)."""
    weights = {"day": np.ones(len(calendar)), "week": np.full(len(calendar), 1 / 7),
               "month": 1 / calendar["month_days"].to_numpy(dtype=float)}
    slot = calendar["slot"].to_numpy()
    n_slots = int(slot.max()) + 1
    per_slot = {per: np.bincount(slot, weights=weight, minlength=n_slots) for per, weight in weights.items()}
    rows = np.stack([per_slot[str(per)] for per in layout.per]) if len(layout.per) else np.zeros((0, n_slots))
    return layout.count[:, None] * rows


def _passed(part: Part, layout: Layout, span: Span, calendar: pd.DataFrame, n_slots: int) -> np.ndarray:
    """Return the units passed per grid and slot (``grid * n_slots + slot``).

    The grid's own units its patrols passed, each once per period.
    """
    n_grids = len(layout.codes)
    slot = _slots(part.hits["day"], span, calendar)
    unit, grid = part.hits["unit"].to_numpy(dtype=np.int64), part.hits["grid"].to_numpy(dtype=np.int64)
    held = layout.unit_grid["unit"].to_numpy(dtype=np.int64) * n_grids + layout.unit_grid["grid"].to_numpy()
    kept = (slot >= 0) & np.isin(unit * n_grids + grid, held)
    cell = grid[kept] * n_slots + slot[kept]
    once = np.unique(unit[kept] * (n_grids * n_slots) + cell) % (n_grids * n_slots)
    return np.bincount(once, minlength=n_grids * n_slots).astype(np.int64)


def _longest_gaps(sessions: pd.DataFrame, span: Span, calendar: pd.DataFrame, n_grids: int) -> np.ndarray:
    """Return the longest stretch (ns) without a patrol of each grid in each slot, from the start to ``at``.

    The gaps between patrols (merged where patrols of several workers overlap), before the first and after
    the last, are cut at the period bounds; the longest piece per grid and period wins.
    """
    stop = min(span.end, max(span.at, span.start))
    grid, start, end = (sessions[c].to_numpy(dtype=np.int64) for c in ("grid", "start", "end"))
    order = np.lexsort((start, grid))
    grid, start, end = grid[order], start[order], end[order]
    kept = (end >= span.start) & (start <= stop)
    grid, start, end = grid[kept], start[kept], end[kept]
    first = np.r_[True, grid[1:] != grid[:-1]] if len(grid) else np.zeros(0, dtype=bool)
    covered = _running_max(end, np.cumsum(first) - 1)
    # the end covered before each patrol, through float64 as pandas' shift gives it
    before = np.r_[np.nan, covered[:-1].astype(float)] if len(grid) else np.zeros(0)
    before = np.where(first, float(span.start), before).astype(np.int64)
    last_of = np.r_[first[1:], True] if len(grid) else first
    patrolled, last = grid[first], covered[last_of]
    idle = np.setdiff1d(np.arange(n_grids), patrolled)
    grid = np.concatenate([grid, patrolled, idle]).astype(np.int64)
    a = np.concatenate([before, last, np.full(len(idle), span.start)]).astype(np.int64)
    b = np.concatenate([start, np.full(len(last) + len(idle), stop)]).astype(np.int64)
    a, b = np.maximum(a, span.start), np.minimum(b, stop)
    keep = b > a
    grid, a, b = grid[keep], a[keep], b[keep]
    p_start, p_end = _period_bounds(calendar)
    first_slot = np.searchsorted(p_end, a, side="right")
    last_slot = np.searchsorted(p_start, b, side="left") - 1
    pieces = np.maximum(last_slot - first_slot + 1, 0)
    which = np.repeat(np.arange(len(a)), pieces)
    step = np.arange(len(which)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    slot = np.repeat(first_slot, pieces) + step
    length = np.minimum(b[which], p_end[slot]) - np.maximum(a[which], p_start[slot])
    longest = np.zeros((n_grids, len(p_start)), dtype=np.int64)
    np.maximum.at(longest, (grid[which], slot), length)
    return longest


def _running_max(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Return the running maximum of ``values`` within each run of equal, ascending ``group`` numbers."""
    if not len(values):
        return values
    distinct, rank = np.unique(values, return_inverse=True)
    lift = group * len(distinct)  # every group's ranks above the groups before it
    return distinct[np.maximum.accumulate(rank + lift) - lift]


def _period_bounds(calendar: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each slot's start and end (ns): the calendar's days are ascending and its slots in runs."""
    slot, day = calendar["slot"].to_numpy(), calendar["day"].to_numpy(dtype=np.int64)
    first = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
    last = np.r_[first[1:] - 1, len(day) - 1]
    return day[first] * DAY_NS, (day[last] + 1) * DAY_NS


def _own_share(workers: pd.DataFrame, owns: pd.DataFrame, layout: Layout, n_grids: int,
               n_slots: int) -> np.ndarray:
    """Per grid and slot: the share of the grid's own workers' time (check-ins: records) inside own grids.

    Summed over the grid's own workers in the order of ``owns`` (by worker), as a merge and groupby would.
    """
    measure = ("seconds", "seconds_inside") if layout.kind == "tracks" else ("records", "records_inside")
    row = pd.Index(workers["person_id"].to_numpy()[::n_slots]).get_indexer(owns["person"])
    kept = row >= 0
    rows = (row[kept, None] * n_slots + np.arange(n_slots)).reshape(-1)
    cell = (owns["grid"].to_numpy(dtype=np.int64)[kept, None] * n_slots + np.arange(n_slots)).reshape(-1)
    cells = n_grids * n_slots
    total, inside = (workers[column].to_numpy()[rows] for column in measure)
    if layout.kind == "tracks":
        total, inside = sum_by(cell, total, cells), sum_by(cell, inside, cells)
    else:
        total, inside = _count_by(cell, total, cells), _count_by(cell, inside, cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / np.where(total > 0, total, 1), np.nan)


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
