"""The patrol measures of a set of whole workers: patrols, units passed, time per grid and day, tracks.

:func:`prepare` turns clean records (a frame or one batch of a large file) into located points: worker,
time (int64 nanoseconds, naive Beijing time), coordinates, the grid each lies in and the worker's own grid
as positions in the :class:`~gridmap.cases.GridIndex`. :func:`measure` takes the points of some workers —
all the points of each of them — and returns a :class:`Part`: the patrols (one worker's records in one grid,
no more than ``patrol_gap_minutes`` apart), the units each day's track passed, the time and records per
worker, grid and day, and the drawn tracks. Parts of disjoint sets of workers add up (:func:`combine`) to
the part of all of them, which is how the out-of-core engine stays equal to the in-memory one.

Track points of one worker are joined into segments in time order when they are at most
``break_minutes`` apart and the move between them is not faster than ``max_speed_kmh``. A segment's time
counts in the grid (and day) of its first point. A grid's units are passed only by that grid's patrols:
the segments that start in the grid, and its records that start or end no segment in it, of the patrols
that count (long enough), within ``within_m`` metres (GEOS ``dwithin`` in bulk on an STR-tree of the
units, in a metric CRS: no loop per point). A neighbour walking their own grid along the shared edge
passes none of this grid's units, and a grid without a patrol has none passed. The units a patrol passes
count on the day the patrol starts, as the patrol itself does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap.cases.gridindex import GridIndex
from gridmap.crs import transformer
from gridmap.fieldwork.patrol_rules import PatrolRules

__all__ = ["Setting", "Part", "prepare", "measure", "combine", "no_points", "sum_by", "DAY_NS",
           "POINT_COLUMNS"]

#: Nanoseconds in a day: ``time // DAY_NS`` is the day's number (days since 1970-01-01, Beijing time).
DAY_NS = 86_400 * 10**9
_MINUTE_NS = 60 * 10**9
#: The columns of located points: worker, time (int64 ns), coordinates in the records' CRS, grid and own
#: grid (positions in the index, -1 for none).
POINT_COLUMNS = ["person", "time", "x", "y", "grid", "own"]
_QUERY_CHUNK = 250_000  # segments or points per STR-tree query (bounds the memory of the pairs)
_SEGMENTS_PER_LINE = 16  # consecutive segments queried as one line


@dataclass(frozen=True)
class Setting:
    """What every batch is measured against: grids, units, coordinate systems, kind and rules."""

    index: GridIndex
    crs: pyproj.CRS  # of the points' x, y
    metric: pyproj.CRS
    units: shapely.STRtree | None  # unit geometries in the metric CRS
    kind: str
    rules: PatrolRules
    tracks: bool

    def to_index(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates in the grids' CRS."""
        return _transform(self.crs, self.index.crs, x, y)

    def to_metric(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates in the metric CRS distances are measured in."""
        return _transform(self.crs, self.metric, x, y)


def _transform(source: pyproj.CRS, target: pyproj.CRS, x: np.ndarray, y: np.ndarray):
    if source.equals(_WGS84) and (target.geodetic_crs or target).equals(_CGCS2000):
        source = _CGCS2000  # PROJ joins the two by a no-op ("ballpark geographic offset"); skip its search
    if source.equals(target):
        return x, y
    return transformer(source, target).transform(x, y)


_WGS84, _CGCS2000 = pyproj.CRS(4326), pyproj.CRS(4490)


@dataclass
class Part:
    """The measures of some workers, in a form that adds up over disjoint sets of workers."""

    #: One row per patrol: person, grid, start, end (int64 ns), records, counts (long enough to count).
    sessions: pd.DataFrame
    #: One row per (person, grid, day): seconds of track and records; grid -1 is outside every grid.
    presence: pd.DataFrame
    #: Unique (unit, grid, day): the units each grid's patrols starting that day passed (unit: position
    #: among the units; the grid's own units are picked from these by the tables).
    hits: pd.DataFrame
    #: Unique (person, grid) pairs of the own grid the records name.
    owns: pd.DataFrame
    #: The tracks drawn, one row per worker and day (None when not asked for).
    tracks: gpd.GeoDataFrame | None
    #: Records left out or merged, by reason; "first" and "last" are the first and last times (ns).
    counts: Counter = field(default_factory=Counter)


def prepare(table: pd.DataFrame, x: np.ndarray, y: np.ndarray,
            setting: Setting) -> tuple[pd.DataFrame, Counter]:
    """Locate clean records: the points :func:`measure` takes, and the records left out by reason.

    ``table`` holds ``person_id``, ``time`` (datetime64), ``grid_code`` and ``own_grid`` (see
    :func:`gridmap.fieldwork.patrol_records.record_columns`); ``x``, ``y`` the coordinates in
    ``setting.crs`` (NaN: none). A check-in's 网格编码 names its grid; other records are put in the grid
    their point lies in (on a shared edge, the grid of smallest code, as :class:`GridIndex` says).
    """
    counts: Counter = Counter()
    codes = pd.Index(setting.index.codes)
    located = np.isfinite(x) & np.isfinite(y)
    grid = np.full(len(table), -1, dtype=np.int64)
    if located.any():
        ix, iy = setting.to_index(x[located], y[located])
        grid[located] = setting.index.locate(ix, iy)
    if setting.kind == "checkins":
        named = table["grid_code"].notna().to_numpy()
        by_code = codes.get_indexer(table["grid_code"].where(named, None))
        counts["unknown_grid"] = int((named & (by_code < 0)).sum())
        grid = np.where(by_code >= 0, by_code, grid)
    own_given = table["own_grid"].notna().to_numpy()
    own = codes.get_indexer(table["own_grid"].where(own_given, None)).astype(np.int64) if own_given.any() \
        else np.full(len(table), -1, dtype=np.int64)
    counts["unknown_own"] = int((own_given & (own < 0)).sum())
    person = table["person_id"].notna().to_numpy()
    timed = table["time"].notna().to_numpy()
    placed = located if setting.kind == "tracks" else located | (grid >= 0)
    keep = person & timed & placed
    counts.update({"no_worker": int((~person).sum()), "no_time": int((person & ~timed).sum()),
                   "no_location": int((person & timed & ~placed).sum()),
                   "outside": int((keep & (grid < 0)).sum())})
    points = pd.DataFrame({"person": table["person_id"].array[keep],
                           "time": table["time"].to_numpy(dtype="datetime64[ns]")[keep].astype(np.int64),
                           "x": x[keep], "y": y[keep], "grid": grid[keep], "own": own[keep]})
    return points, counts


def no_points() -> pd.DataFrame:
    """Return located points of nobody (what a source without one usable record gives)."""
    return pd.DataFrame({"person": pd.Series([], dtype=object), "time": np.array([], dtype=np.int64),
                         "x": np.array([]), "y": np.array([]), "grid": np.array([], dtype=np.int64),
                         "own": np.array([], dtype=np.int64)})


def measure(points: pd.DataFrame, setting: Setting) -> Part:
    """Measure the points of some workers (every point of each of them): see the module's docstring."""
    labels, p = _workers(points["person"])
    time = points["time"].to_numpy(dtype=np.int64)
    x, y = points["x"].to_numpy(dtype=float), points["y"].to_numpy(dtype=float)
    grid, own = points["grid"].to_numpy(dtype=np.int64), points["own"].to_numpy(dtype=np.int64)
    order = _by_worker_and_time(p, time, x, y, grid)
    p, time, x, y, grid, own = (column[order] for column in (p, time, x, y, grid, own))
    repeated = _repeats(p, time, x, y, grid)
    keep = ~repeated
    p, time, x, y, grid, own = (column[keep] for column in (p, time, x, y, grid, own))
    counts = Counter({"duplicate": int(repeated.sum())})
    if len(time):
        counts.update({"first": int(time.min()), "last": int(time.max())})
    mx, my = (np.asarray(v, dtype=float) for v in setting.to_metric(x, y))
    valid, seconds, length = _segments(p, time, mx, my, setting)
    counts["jump"] = int(_jumps(p, time, valid, setting))
    day = time // DAY_NS
    owned = own >= 0
    owns = pd.DataFrame({"person": labels[p[owned]], "grid": own[owned]}).drop_duplicates(ignore_index=True)
    tracks = None
    if setting.tracks:
        drawn = pd.DataFrame({"person": labels[p], "x": x, "y": y, "grid": grid})
        tracks = _tracks(drawn, day, valid, seconds, length, setting)
    sessions, session = _sessions(labels, p, time, grid, setting)
    return Part(sessions=sessions, presence=_presence(labels, p, grid, day, seconds),
                hits=_hits(mx, my, valid, session, sessions, setting), owns=owns, tracks=tracks,
                counts=counts)


def _workers(person: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return the workers' ids (object array) and each point's position among them (ids sorted)."""
    codes, uniques = pd.factorize(person, sort=True)
    return np.asarray(uniques, dtype=object), codes.astype(np.int64)


def _by_worker_and_time(p: np.ndarray, time: np.ndarray, x: np.ndarray, y: np.ndarray,
                        grid: np.ndarray) -> np.ndarray:
    """Return the order by worker and time, then by place: repeated points become neighbours."""
    order = np.lexsort((time, p))
    tie = np.zeros(len(order), dtype=bool)
    tie[1:] = (p[order][1:] == p[order][:-1]) & (time[order][1:] == time[order][:-1])
    if tie.any():  # rare: sort those runs by place too
        runs = np.flatnonzero(tie | np.r_[tie[1:], False])
        group = np.cumsum(~tie[runs])
        within = runs[np.lexsort((grid[order[runs]], y[order[runs]], x[order[runs]], group))]
        order[runs] = order[within]
    return order


def _repeats(p: np.ndarray, time: np.ndarray, x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Points (sorted) that repeat the one before: same worker, time, place (NaN equal to NaN) and grid."""
    same = np.zeros(len(p), dtype=bool)
    if len(p) > 1:
        same[1:] = (p[1:] == p[:-1]) & (time[1:] == time[:-1]) & (grid[1:] == grid[:-1]) \
            & _equal(x[1:], x[:-1]) & _equal(y[1:], y[:-1])
    return same


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b))


def _segments(p: np.ndarray, time: np.ndarray, mx: np.ndarray, my: np.ndarray,
              setting: Setting) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which points start a segment to the next, and its seconds and metres (attributed to its start).

    Check-ins make no segments.
    """
    n = len(time)
    valid = np.zeros(n, dtype=bool)
    seconds, length = np.zeros(n), np.zeros(n)
    if setting.kind != "tracks" or n < 2:
        return valid, seconds, length
    dt = (time[1:] - time[:-1]) / 1e9
    dist = np.hypot(mx[1:] - mx[:-1], my[1:] - my[:-1])
    rules = setting.rules
    with np.errstate(invalid="ignore"):
        joined = (p[1:] == p[:-1]) & (dt > 0) & (dt <= rules.break_minutes * 60) \
            & (dist <= rules.max_speed_kmh / 3.6 * dt)
    valid[:-1] = joined
    seconds[:-1] = np.where(joined, dt, 0.0)
    length[:-1] = np.where(joined, dist, 0.0)
    return valid, seconds, length


def _jumps(p: np.ndarray, time: np.ndarray, valid: np.ndarray, setting: Setting) -> int:
    """Consecutive points of one worker close in time but too far apart to be joined (GPS jumps)."""
    if setting.kind != "tracks" or len(time) < 2:
        return 0
    near = (p[1:] == p[:-1]) & (time[1:] - time[:-1] <= setting.rules.break_minutes * _MINUTE_NS)
    return int((near & ~valid[:-1]).sum())


def _presence(labels: np.ndarray, p: np.ndarray, grid: np.ndarray, day: np.ndarray,
              seconds: np.ndarray) -> pd.DataFrame:
    """Seconds of track and records per (worker, grid, day)."""
    if not len(p):
        return pd.DataFrame({"person": np.array([], dtype=object), **{c: np.array([], dtype=np.int64)
                             for c in ("grid", "day")}, "seconds": np.array([]),
                             "records": np.array([], dtype=np.int64)})
    first_day, days = int(day.min()), int(day.max() - day.min()) + 1
    key = (p * (int(grid.max()) + 2) + grid + 1) * days + (day - first_day)  # per (worker, grid, day)
    keys, which = np.unique(key, return_inverse=True)
    return pd.DataFrame({"person": labels[keys // days // (int(grid.max()) + 2)],
                         "grid": (keys // days) % (int(grid.max()) + 2) - 1, "day": keys % days + first_day,
                         "seconds": np.bincount(which, weights=seconds, minlength=len(keys)),
                         "records": np.bincount(which, minlength=len(keys)).astype(np.int64)})


def _sessions(labels: np.ndarray, p: np.ndarray, time: np.ndarray, grid: np.ndarray,
              setting: Setting) -> tuple[pd.DataFrame, np.ndarray]:
    """Patrols: runs of one worker's records in one grid no more than ``patrol_gap_minutes`` apart.

    Returns the patrols and the patrol of each point (its row; -1 for points outside every grid).
    """
    inside = np.flatnonzero(grid >= 0)
    order = inside[np.lexsort((time[inside], grid[inside], p[inside]))]
    pp, g, t = p[order], grid[order], time[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (pp[1:] != pp[:-1]) | (g[1:] != g[:-1]) \
        | (t[1:] - t[:-1] > setting.rules.patrol_gap_minutes * _MINUTE_NS)
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(order)) - 1 if len(first) else first
    start, end = t[first], t[last]
    long_enough = end - start >= setting.rules.min_patrol_minutes * _MINUTE_NS
    session = np.full(len(p), -1, dtype=np.int64)
    session[order] = np.cumsum(new) - 1
    return pd.DataFrame({"person": labels[pp[first]], "grid": g[first].astype(np.int64), "start": start,
                         "end": end, "records": (last - first + 1).astype(np.int64),
                         "counts": long_enough | (setting.kind == "checkins")}), session


def _hits(mx: np.ndarray, my: np.ndarray, valid: np.ndarray, session: np.ndarray, sessions: pd.DataFrame,
          setting: Setting) -> pd.DataFrame:
    """Return unique (unit, grid, day): the units within ``within_m`` of the pieces of each counted patrol.

    A patrol's pieces are the segments starting at its points and its points that start or end no segment
    of it (a lone check-in, the last point before a break, a point a segment from the next grid ends at).
    ``grid`` is the patrol's grid and ``day`` the day it starts. Runs of up to :data:`_SEGMENTS_PER_LINE`
    consecutive segments of one patrol are queried as one line: the distance to a line is the least
    distance to its segments, so the units found are the same, for far fewer geometries to make and query.
    """
    empty = pd.DataFrame({c: np.array([], dtype=np.int64) for c in ("unit", "grid", "day")})
    if setting.units is None or not len(mx):
        return empty
    counted = sessions["counts"].to_numpy(dtype=bool)
    patrol_grid = sessions["grid"].to_numpy(dtype=np.int64)
    patrol_day = sessions["start"].to_numpy(dtype=np.int64) // DAY_NS
    mine = session >= 0
    mine[mine] = counted[session[mine]]
    start = np.flatnonzero(valid & mine)
    ends_own = np.zeros(len(mx), dtype=bool)
    ends_own[start + 1] = session[start + 1] == session[start]
    lone = np.flatnonzero(mine & ~valid & ~ends_own & np.isfinite(mx) & np.isfinite(my))
    vertex, line = _lines(start, session)
    found = [empty]
    lines_per_query = _QUERY_CHUNK // _SEGMENTS_PER_LINE
    n_lines = int(line[-1]) + 1 if len(line) else 0
    cuts = np.searchsorted(line, np.arange(0, n_lines + lines_per_query, lines_per_query))
    for begin, (low, high) in zip(range(0, n_lines, lines_per_query), zip(cuts[:-1], cuts[1:], strict=False),
                                  strict=False):
        chosen = np.arange(low, high)
        geometries = cast(np.ndarray, shapely.linestrings(
            np.column_stack([mx[vertex[chosen]], my[vertex[chosen]]]), indices=line[chosen] - begin))
        first = session[vertex[chosen][np.r_[True, line[chosen][1:] != line[chosen][:-1]]]]
        found.append(_passed(geometries, patrol_grid[first], patrol_day[first], setting))
    for begin in range(0, len(lone), _QUERY_CHUNK):
        chunk = lone[begin:begin + _QUERY_CHUNK]
        found.append(_passed(cast(np.ndarray, shapely.points(mx[chunk], my[chunk])),
                             patrol_grid[session[chunk]], patrol_day[session[chunk]], setting))
    return pd.concat(found, ignore_index=True).drop_duplicates(ignore_index=True)


def _lines(start: np.ndarray, session: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (point positions) and line numbers of the segments starting at ``start``, grouped in lines.

    A line is a run of consecutive segments starting in one patrol, at most :data:`_SEGMENTS_PER_LINE`
    long; each segment gives its first point, and the last of a line its end point too.
    """
    if not len(start):
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    run_start = np.r_[True, (start[1:] != start[:-1] + 1) | (session[start[1:]] != session[start[:-1]])]
    run_first = np.maximum.accumulate(np.where(run_start, np.arange(len(start)), 0))
    new = run_start | ((np.arange(len(start)) - run_first) % _SEGMENTS_PER_LINE == 0)
    line = np.cumsum(new) - 1
    last = np.r_[line[1:] != line[:-1], True]
    repeat = 1 + last.astype(np.int64)
    step = np.arange(repeat.sum()) - np.repeat(np.cumsum(repeat) - repeat, repeat)  # 0, or 1 for an end point
    vertex = np.repeat(start, repeat) + step
    return vertex, np.repeat(line, repeat)


def _passed(geometries: np.ndarray, grid: np.ndarray, day: np.ndarray, setting: Setting) -> pd.DataFrame:
    assert setting.units is not None
    which, unit = setting.units.query(geometries, predicate="dwithin", distance=setting.rules.within_m)
    pairs = pd.DataFrame({"unit": unit.astype(np.int64), "grid": grid[which], "day": day[which]})
    return pairs.drop_duplicates(ignore_index=True)


def _tracks(points: pd.DataFrame, day: np.ndarray, valid: np.ndarray, seconds: np.ndarray, length: np.ndarray,
            setting: Setting) -> gpd.GeoDataFrame:
    """One line per worker and day: LineString, or MultiLineString where the track breaks.

    A segment running past midnight is measured but not drawn (each day's line stays within its day).
    """
    if not len(points):
        empty = {"person": np.array([], dtype=object), "day": np.array([], dtype=np.int64),
                 "points": np.array([], dtype=np.int64), "seconds": np.array([]), "length_m": np.array([]),
                 "grid": np.array([], dtype=np.int64)}
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=setting.crs))
    person = points["person"].to_numpy(dtype=object)
    drawn = valid.copy()
    drawn[:-1] &= day[1:] == day[:-1]
    piece = np.cumsum(np.concatenate([[True], ~drawn[:-1]])) - 1  # a new piece after every undrawn step
    sizes = np.bincount(piece)
    on_line = sizes[piece] >= 2
    _, line_of = np.unique(piece[on_line], return_inverse=True)
    xy = np.column_stack([points["x"].to_numpy()[on_line], points["y"].to_numpy()[on_line]])
    lines = cast(np.ndarray, shapely.linestrings(xy, indices=line_of))
    first = np.flatnonzero(on_line & np.concatenate([[True], piece[1:] != piece[:-1]]))
    group = np.cumsum(np.r_[True, (person[1:] != person[:-1]) | (day[1:] != day[:-1])]) - 1  # worker and day
    drawn_groups, line_group = np.unique(group[first], return_inverse=True)
    parts = cast(np.ndarray, shapely.multilinestrings(lines, indices=line_group)) if len(lines) else \
        np.array([], dtype=object)
    single = shapely.get_num_geometries(parts) == 1
    geometry = np.where(single, shapely.get_geometry(parts, 0), parts)
    n_groups = int(group[-1]) + 1
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    frame = pd.DataFrame({
        "person": person[starts], "day": day[starts], "points": np.bincount(group).astype(np.int64),
        "seconds": sum_by(group, seconds, n_groups), "length_m": sum_by(group, length, n_groups),
        "grid": _main_grid(group, points["grid"].to_numpy(dtype=np.int64), seconds)}).iloc[drawn_groups]
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=gpd.GeoSeries(geometry, crs=setting.crs))


def _main_grid(group: np.ndarray, grid: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Return the grid of most seconds of each group (ascending numbers), then of most points, the lowest."""
    width = int(grid.max()) + 2  # grid -1 (outside every grid) included
    cell, which = np.unique(group * width + grid + 1, return_inverse=True)
    total, size = sum_by(which, seconds, len(cell)), np.bincount(which, minlength=len(cell))
    of, in_grid = cell // width, cell % width - 1
    order = np.lexsort((in_grid, -size, -total, of))
    return in_grid[order[np.r_[True, of[order][1:] != of[order][:-1]]]]


def sum_by(key: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum float ``values`` per ``key`` in ``0..n-1`` (0 for a key without values).

    pandas' grouped sum, in the values' order: it compensates rounding (Kahan), so the figures are those
    of a ``groupby(...).sum()``, bit for bit.
    """
    out = np.zeros(n)
    if len(key):
        sums = pd.Series(values, dtype=float).groupby(key).sum()
        out[sums.index.to_numpy()] = sums.to_numpy()
    return out


def combine(parts: list[Part]) -> Part:
    """Add up the parts of disjoint sets of workers."""
    counts: Counter = Counter()
    for part in parts:
        for key, value in part.counts.items():
            if key == "first":
                counts[key] = min(counts.get(key, value), value)
            elif key == "last":
                counts[key] = max(counts.get(key, value), value)
            else:
                counts[key] += value
    tracks = [part.tracks for part in parts if part.tracks is not None]
    return Part(
        sessions=pd.concat([part.sessions for part in parts], ignore_index=True),
        presence=pd.concat([part.presence for part in parts], ignore_index=True),
        hits=pd.concat([part.hits for part in parts], ignore_index=True).drop_duplicates(ignore_index=True),
        owns=pd.concat([part.owns for part in parts], ignore_index=True).drop_duplicates(ignore_index=True),
        tracks=pd.concat(tracks, ignore_index=True) if tracks else None, counts=counts)
