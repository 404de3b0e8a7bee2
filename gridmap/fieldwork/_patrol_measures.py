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
counts in the grid (and day) of its first point. A unit is passed when a segment, or a record that starts
or ends none, comes within ``within_m`` metres of it (GEOS ``dwithin`` in bulk on an STR-tree of the
units, in a metric CRS: no loop per point).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap.cases.gridindex import GridIndex
from gridmap.fieldwork.patrol_rules import PatrolRules

__all__ = ["Setting", "Part", "prepare", "measure", "combine", "DAY_NS", "POINT_COLUMNS"]

#: Nanoseconds in a day: ``time // DAY_NS`` is the day's number (days since 1970-01-01, Beijing time).
DAY_NS = 86_400 * 10**9
_MINUTE_NS = 60 * 10**9
#: The columns of located points: worker, time (int64 ns), coordinates in the records' CRS, grid and own
#: grid (positions in the index, -1 for none).
POINT_COLUMNS = ["person", "time", "x", "y", "grid", "own"]
_QUERY_CHUNK = 250_000  # geometries per STR-tree query (bounds the memory of the pairs)


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
    if source.equals(target):
        return x, y
    return pyproj.Transformer.from_crs(source, target, always_xy=True).transform(x, y)


@dataclass
class Part:
    """The measures of some workers, in a form that adds up over disjoint sets of workers."""

    #: One row per patrol: person, grid, start, end (int64 ns), records, counts (long enough to count).
    sessions: pd.DataFrame
    #: One row per (person, grid, day): seconds of track and records; grid -1 is outside every grid.
    presence: pd.DataFrame
    #: Unique (unit, day) pairs: the units passed each day (unit: position among the units).
    hits: pd.DataFrame
    #: Unique (person, grid) pairs of the own grid the records name.
    owns: pd.DataFrame
    #: The tracks drawn, one row per worker and day (None when not asked for).
    tracks: gpd.GeoDataFrame | None
    #: Records left out or merged, by reason; "first" and "last" are the first and last times (ns).
    counts: Counter = field(default_factory=Counter)


def prepare(table: pd.DataFrame, x: np.ndarray, y: np.ndarray, setting: Setting) -> tuple[pd.DataFrame, Counter]:
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
    own = codes.get_indexer(table["own_grid"].where(own_given, None)).astype(np.int64)
    counts["unknown_own"] = int((own_given & (own < 0)).sum())
    person = table["person_id"].notna().to_numpy()
    timed = table["time"].notna().to_numpy()
    placed = located if setting.kind == "tracks" else located | (grid >= 0)
    keep = person & timed & placed
    counts.update({"no_worker": int((~person).sum()), "no_time": int((person & ~timed).sum()),
                   "no_location": int((person & timed & ~placed).sum()),
                   "outside": int((keep & (grid < 0)).sum())})
    points = pd.DataFrame({"person": table["person_id"].to_numpy(dtype=object)[keep],
                           "time": table["time"].to_numpy(dtype="datetime64[ns]")[keep].astype(np.int64),
                           "x": x[keep], "y": y[keep], "grid": grid[keep], "own": own[keep]})
    return points, counts


def measure(points: pd.DataFrame, setting: Setting) -> Part:
    """Measure the points of some workers (every point of each of them): see the module's docstring."""
    points, duplicates = _sorted_unique(points)
    counts = Counter({"duplicate": duplicates})
    if len(points):
        counts.update({"first": int(points["time"].min()), "last": int(points["time"].max())})
    person = points["person"].to_numpy(dtype=object)
    time = points["time"].to_numpy(dtype=np.int64)
    grid = points["grid"].to_numpy(dtype=np.int64)
    mx, my = setting.to_metric(points["x"].to_numpy(dtype=float), points["y"].to_numpy(dtype=float))
    mx, my = np.asarray(mx, dtype=float), np.asarray(my, dtype=float)
    valid, seconds, length = _segments(person, time, mx, my, setting)
    counts["jump"] = int(_jumps(person, time, valid, setting))
    day = time // DAY_NS
    presence = pd.DataFrame({"person": person, "grid": grid, "day": day, "seconds": seconds, "records": 1})
    presence = presence.groupby(["person", "grid", "day"], sort=True, as_index=False)[["seconds", "records"]].sum()
    owned = points["own"].to_numpy() >= 0
    owns = pd.DataFrame({"person": person[owned], "grid": points["own"].to_numpy()[owned]}).drop_duplicates()
    tracks = _tracks(points, day, valid, seconds, length, setting) if setting.tracks else None
    return Part(sessions=_sessions(person, time, grid, setting), presence=presence,
                hits=_hits(mx, my, day, valid, setting), owns=owns.reset_index(drop=True), tracks=tracks,
                counts=counts)


def _sorted_unique(points: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Points in (worker, time) order without exact repeats (same worker, time, place and grid)."""
    points = points.sort_values(["person", "time"], kind="stable", ignore_index=True)
    repeated = points.duplicated(["person", "time", "x", "y", "grid"]).to_numpy()
    return points[~repeated].reset_index(drop=True), int(repeated.sum())


def _segments(person: np.ndarray, time: np.ndarray, mx: np.ndarray, my: np.ndarray,
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
        joined = (person[1:] == person[:-1]) & (dt > 0) & (dt <= rules.break_minutes * 60) \
            & (dist <= rules.max_speed_kmh / 3.6 * dt)
    valid[:-1] = joined
    seconds[:-1] = np.where(joined, dt, 0.0)
    length[:-1] = np.where(joined, dist, 0.0)
    return valid, seconds, length


def _jumps(person: np.ndarray, time: np.ndarray, valid: np.ndarray, setting: Setting) -> int:
    """Consecutive points of one worker close in time but too far apart to be joined (GPS jumps)."""
    if setting.kind != "tracks" or len(time) < 2:
        return 0
    near = (person[1:] == person[:-1]) & (time[1:] - time[:-1] <= setting.rules.break_minutes * _MINUTE_NS)
    return int((near & ~valid[:-1]).sum())


def _sessions(person: np.ndarray, time: np.ndarray, grid: np.ndarray, setting: Setting) -> pd.DataFrame:
    """Patrols: runs of one worker's records in one grid no more than ``patrol_gap_minutes`` apart."""
    inside = np.flatnonzero(grid >= 0)
    frame = pd.DataFrame({"person": person[inside], "grid": grid[inside], "time": time[inside]})
    frame = frame.sort_values(["person", "grid", "time"], kind="stable", ignore_index=True)
    p, g, t = (frame[c].to_numpy() for c in ("person", "grid", "time"))
    new = np.ones(len(frame), dtype=bool)
    new[1:] = (p[1:] != p[:-1]) | (g[1:] != g[:-1]) \
        | (t[1:] - t[:-1] > setting.rules.patrol_gap_minutes * _MINUTE_NS)
    frame["session"] = np.cumsum(new)
    sessions = frame.groupby("session", sort=False).agg(person=("person", "first"), grid=("grid", "first"),
                                                         start=("time", "min"), end=("time", "max"),
                                                         records=("time", "size")).reset_index(drop=True)
    long_enough = sessions["end"] - sessions["start"] >= setting.rules.min_patrol_minutes * _MINUTE_NS
    sessions["counts"] = long_enough.to_numpy() | (setting.kind == "checkins")
    return sessions.astype({"grid": np.int64, "start": np.int64, "end": np.int64, "records": np.int64})


def _hits(mx: np.ndarray, my: np.ndarray, day: np.ndarray, valid: np.ndarray, setting: Setting) -> pd.DataFrame:
    """Unique (unit, day): the units within ``within_m`` of a segment, or of a point that is on none."""
    empty = pd.DataFrame({"unit": np.array([], dtype=np.int64), "day": np.array([], dtype=np.int64)})
    if setting.units is None or not len(mx):
        return empty
    start = np.flatnonzero(valid)
    on_segment = np.zeros(len(mx), dtype=bool)
    on_segment[start] = True
    on_segment[start + 1] = True
    lone = np.flatnonzero(~on_segment & np.isfinite(mx) & np.isfinite(my))
    found = [empty]
    for begin in range(0, len(start), _QUERY_CHUNK):
        chunk = start[begin:begin + _QUERY_CHUNK]
        lines = shapely.linestrings(np.stack([mx[chunk], my[chunk], mx[chunk + 1], my[chunk + 1]],
                                             axis=1).reshape(-1, 2, 2))
        found.append(_passed(lines, day[chunk], setting))
    for begin in range(0, len(lone), _QUERY_CHUNK):
        chunk = lone[begin:begin + _QUERY_CHUNK]
        found.append(_passed(shapely.points(mx[chunk], my[chunk]), day[chunk], setting))
    return pd.concat(found, ignore_index=True).drop_duplicates(ignore_index=True)


def _passed(geometries: np.ndarray, day: np.ndarray, setting: Setting) -> pd.DataFrame:
    assert setting.units is not None
    which, unit = setting.units.query(geometries, predicate="dwithin", distance=setting.rules.within_m)
    pairs = pd.DataFrame({"unit": unit.astype(np.int64), "day": day[which]})
    return pairs.drop_duplicates(ignore_index=True)


def _tracks(points: pd.DataFrame, day: np.ndarray, valid: np.ndarray, seconds: np.ndarray, length: np.ndarray,
            setting: Setting) -> gpd.GeoDataFrame:
    """One line per worker and day: LineString, or MultiLineString where the track breaks.

    A segment running past midnight is measured but not drawn (each day's line stays within its day).
    """
    if not len(points):
        return gpd.GeoDataFrame({"person": [], "day": [], "points": [], "seconds": [], "length_m": [], "grid": []},
                                geometry=gpd.GeoSeries([], crs=setting.crs))
    person = points["person"].to_numpy(dtype=object)
    drawn = valid.copy()
    drawn[:-1] &= day[1:] == day[:-1]
    piece = np.cumsum(np.concatenate([[True], ~drawn[:-1]])) - 1  # a new piece after every undrawn step
    sizes = np.bincount(piece)
    on_line = sizes[piece] >= 2
    _, line_of = np.unique(piece[on_line], return_inverse=True)
    lines = shapely.linestrings(np.column_stack([points["x"].to_numpy()[on_line], points["y"].to_numpy()[on_line]]),
                                indices=line_of)
    first = np.flatnonzero(on_line & np.concatenate([[True], piece[1:] != piece[:-1]]))
    keys = pd.DataFrame({"person": person[first], "day": day[first]})
    group = keys.groupby(["person", "day"], sort=False).ngroup().to_numpy()
    parts = shapely.multilinestrings(lines, indices=group) if len(lines) else np.array([], dtype=object)
    single = shapely.get_num_geometries(parts) == 1
    geometry = np.where(single, shapely.get_geometry(parts, 0), parts)
    daily = pd.DataFrame({"person": person, "day": day, "grid": points["grid"].to_numpy(), "seconds": seconds,
                          "length": length})
    summary = daily.groupby(["person", "day"], sort=False).agg(points=("grid", "size"), seconds=("seconds", "sum"),
                                                               length_m=("length", "sum"))
    main = daily.groupby(["person", "day", "grid"], sort=True)["seconds"].agg(["sum", "size"]).reset_index()
    main = main.sort_values(["person", "day", "sum", "size", "grid"], ascending=[True, True, False, False, True],
                            kind="stable").drop_duplicates(["person", "day"]).set_index(["person", "day"])["grid"]
    drawn_keys = keys.drop_duplicates().set_index(["person", "day"]).index
    frame = summary.loc[drawn_keys].assign(grid=main.loc[drawn_keys].to_numpy()).reset_index()
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=setting.crs))


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
