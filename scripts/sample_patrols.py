"""Sample patrol records (巡查) of 示例市: a week of GPS tracks in one street and check-ins in a town.

Called by ``scripts/make_sample_data.py`` once the GeoPackage, the roster (``staff.csv``) and the buildings
are written: :func:`generate_patrols` writes ``patrols.parquet`` and ``patrol_checkins.csv`` into the
sample folder and returns the README section describing them. Everything is drawn from
``numpy.random.default_rng([seed, STREAM])``, so a rerun writes the same bytes.

The full-time workers (专职网格员) of the roster patrol: a worker's id is ``P`` and the 6-digit row of
``staff.csv`` (the first row is ``P000001``), as the sample roster numbers people.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely

from gridmap.crs import wgs84_to_gcj02
from gridmap.io._atomic import atomic_path
from gridmap.schema import split_ids

__all__ = ["generate_patrols", "STREAM", "TRACKS_NAME", "CHECKINS_NAME"]

STREAM = 6  # the patrols' generator is default_rng([seed, STREAM])
TRACKS_NAME, CHECKINS_NAME = "patrols.parquet", "patrol_checkins.csv"
TRACK_STREET, CHECKIN_STREET = "990102001", "990121100"  # 民主街道 (tracks), 城关镇 (check-ins)
WEEK = pd.date_range("2025-03-03", periods=7, freq="D")  # Monday 3 to Sunday 9 March 2025
METRIC_CRS, STORAGE_CRS = "EPSG:4545", "EPSG:4490"
STEP_S = 60  # one GPS point a minute
GCJ_WORKERS = 3  # workers whose phones record GCJ-02 (noted in coord_system)


def generate_patrols(out: Path, grids: gpd.GeoDataFrame, seed: int) -> list[str]:
    """Write ``patrols.parquet`` (tracks) and ``patrol_checkins.csv`` into ``out``; return the README section.

    ``grids`` is what ``built_grids()`` returns (code without dash, unit_ids, geometry in EPSG:4490).
    """
    rng = np.random.default_rng([seed, STREAM])
    staff = pd.read_csv(out / "staff.csv", dtype=str)
    workers = staff.assign(person_id=[f"P{n:06d}" for n in range(1, len(staff) + 1)])
    workers = workers[workers["role"] == "full_time"].set_index("grid_code")["person_id"]
    metric = grids.to_crs(METRIC_CRS).set_index("code")
    stops = _stops(out, metric)
    plan = _plan(metric.index[metric.index.str.startswith(TRACK_STREET)], workers, rng)
    tracks = _tracks(plan, metric, stops, rng)
    checkins, absent = _checkins(metric, workers, stops, rng)
    _write_tracks(out / TRACKS_NAME, tracks)
    with atomic_path(out / CHECKINS_NAME) as tmp:
        checkins.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
    return _readme(plan, tracks, checkins, absent)


def _stops(out: Path, grids: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """The places a worker walks to in each grid: its buildings (楼栋), else its units, in metres."""
    units = pd.concat([pyogrio.read_dataframe(out / "sample_city.gpkg", layer=layer)
                       for layer in ("units", "unit_points")], ignore_index=True).to_crs(METRIC_CRS)
    buildings = pyogrio.read_dataframe(out / "buildings.gpkg").to_crs(METRIC_CRS)
    places = pd.concat([buildings[["unit_id", "parent_unit", "geometry"]],
                        units.assign(parent_unit=units["unit_id"])[["unit_id", "parent_unit", "geometry"]]])
    split = places["parent_unit"].isin(buildings["parent_unit"]) & ~places["unit_id"].str.contains("-")
    places = places[~split]  # a compound with buildings is walked through its buildings
    xy = shapely.get_coordinates(places.geometry.representative_point().to_numpy())
    rows: dict[str, list[int]] = {}  # a listed id -> the places it names (as its own id or its compound's)
    for row, (place, unit) in enumerate(zip(places["unit_id"], places["parent_unit"], strict=True)):
        rows.setdefault(place, []).append(row)
        if unit != place:
            rows.setdefault(unit, []).append(row)
    stops = {}
    for code, ids, grid in zip(grids.index, grids["unit_ids"], grids.geometry, strict=True):
        # compounds, or the buildings of a compound split between grids; the places in their order
        chosen = sorted({row for listed in split_ids(ids) for row in rows.get(listed, ())})
        stops[code] = xy[chosen] if chosen else shapely.get_coordinates(grid.representative_point())
    return stops


def _plan(codes: pd.Index, workers: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """Who patrols which grid on which day: two grids never, one worker away Wednesday to Friday."""
    staffed = [code for code in sorted(codes) if code in workers.index]
    never = sorted(rng.choice(staffed, 2, replace=False))
    away = str(rng.choice([c for c in staffed if c not in never]))
    helper = str(rng.choice([c for c in staffed if c not in (*never, away)]))
    gcj = sorted(rng.choice([c for c in staffed if c not in never], GCJ_WORKERS, replace=False))
    rows = []
    for code in staffed:
        for day in WEEK:
            if code in never or (code == away and day.dayofweek in (2, 3, 4)) or \
                    (day.dayofweek >= 5 and rng.random() < 0.35):  # weekends are thinner
                continue
            rounds = 2 if rng.random() < 0.3 else 1
            for number in range(rounds):
                start = day + pd.Timedelta(minutes=int((510 if number == 0 else 870) + rng.integers(0, 90)))
                rows.append((code, str(workers[code]), start, code == helper and number == 0, code in gcj))
    plan = pd.DataFrame(rows, columns=["grid", "person_id", "start", "helps", "gcj02"])
    plan.attrs.update(never=never, away=away, helper=helper, gcj=gcj,
                      unstaffed=sorted(c for c in codes if c not in workers.index))
    return plan


def _tracks(plan: pd.DataFrame, grids: gpd.GeoDataFrame, stops: dict[str, np.ndarray],
            rng: np.random.Generator) -> pd.DataFrame:
    """One walk per planned round through some of the grid's buildings, a point a minute, GPS noise."""
    outline = dict(zip(grids.index, grids.geometry, strict=True))
    walks, seconds = [], []
    for row in plan.itertuples(index=False):
        path = _route(stops[row.grid], outline[row.grid], rng)
        if row.helps:  # then 40 minutes helping in the next grid of the street
            neighbour = grids.index[grids.index.get_loc(row.grid) + 1]
            path = np.vstack([path, _route(stops[neighbour], outline[neighbour], rng)])
        xy = _walk(path, speed=rng.uniform(0.35, 0.6)) + rng.normal(0, 4, (1, 2))  # walking and stopping
        walks.append(xy + rng.normal(0, 4, xy.shape))
        seconds.append(np.arange(len(xy)) * STEP_S + rng.integers(0, 5, len(xy)))
    points = [len(xy) for xy in walks]  # a row per point of each planned round, in the plan's order
    xy = np.vstack(walks)
    system = np.where(plan["gcj02"].to_numpy(), "gcj02", "wgs84").astype(object)
    tracks = pd.DataFrame({
        "person_id": np.repeat(plan["person_id"].to_numpy(), points),
        "time": pd.Series(np.repeat(plan["start"].to_numpy(), points))
        + pd.to_timedelta(np.concatenate(seconds), unit="s"),
        "x": xy[:, 0], "y": xy[:, 1], "own_grid": np.repeat(plan["grid"].to_numpy(), points),
        "coord_system": np.repeat(system, points)})
    stored = gpd.GeoSeries(gpd.points_from_xy(tracks["x"], tracks["y"]), crs=METRIC_CRS).to_crs(STORAGE_CRS)
    lon, lat = stored.x.to_numpy().copy(), stored.y.to_numpy().copy()
    shifted = (tracks["coord_system"] == "gcj02").to_numpy()
    lon[shifted], lat[shifted] = wgs84_to_gcj02(lon[shifted], lat[shifted])
    tracks = tracks.drop(columns=["x", "y"]).assign(lon=np.round(lon, 6), lat=np.round(lat, 6))
    jump = int(rng.integers(len(tracks)))
    tracks.loc[jump, "lon"] = round(float(tracks.loc[jump, "lon"]) + 0.03, 6)  # a GPS jump of about 3 km
    resent = rng.choice(len(tracks), max(1, len(tracks) // 200), replace=False)  # rows a phone sent twice
    tracks = pd.concat([tracks, tracks.iloc[np.sort(resent)]], ignore_index=True)
    tracks = tracks.sort_values(["person_id", "time"], kind="stable", ignore_index=True)  # as phones upload
    tracks.attrs["jump"] = jump
    return tracks[["person_id", "time", "lon", "lat", "coord_system", "own_grid"]]


def _route(stops: np.ndarray, grid, rng: np.random.Generator) -> np.ndarray:
    """Around the grid 25 m inside its edge, then through 60-100% of the stops, nearest first, and back."""
    inside = grid.buffer(-25)
    largest = max(getattr(inside, "geoms", [inside]), key=lambda part: part.area)
    ring = shapely.get_coordinates(largest.exterior if not inside.is_empty else grid.exterior)
    ring = ring[:: max(1, len(ring) // 40)]
    if len(stops) < 2:
        return ring
    chosen = stops[rng.choice(len(stops), max(2, int(len(stops) * rng.uniform(0.6, 1.0))), replace=False)]
    order, left = [0], list(range(1, len(chosen)))
    while left:
        nearest = min(left, key=lambda i: float(np.hypot(*(chosen[i] - chosen[order[-1]]))))
        order.append(nearest)
        left.remove(nearest)
    return np.vstack([ring, chosen[order], ring[:1]])


def _walk(path: np.ndarray, *, speed: float) -> np.ndarray:
    """Points along the path every STEP_S seconds at ``speed`` metres a second."""
    line = shapely.LineString(path)
    return shapely.get_coordinates(shapely.line_interpolate_point(
        line, np.arange(0.0, line.length + 1e-9, speed * STEP_S)))


def _checkins(grids: gpd.GeoDataFrame, workers: pd.Series, stops: dict[str, np.ndarray],
              rng: np.random.Generator) -> tuple[pd.DataFrame, list[str]]:
    """The town's full-time workers check in at a building of their grid once or twice a day."""
    codes = [code for code in sorted(grids.index[grids.index.str.startswith(CHECKIN_STREET)])
             if code in workers.index]
    absent = sorted(rng.choice(codes, 2, replace=False))
    rows = []
    for code in codes:
        if code in absent:
            continue
        for day in WEEK:
            for _ in range(int(rng.choice([0, 1, 1, 2]))):
                place = stops[code][int(rng.integers(len(stops[code])))]
                time = day + pd.Timedelta(minutes=int(rng.integers(480, 1050)))
                named = code if rng.random() < 0.85 else ""  # the app could not name the grid: the point does
                rows.append((str(workers[code]), time.strftime("%Y-%m-%d %H:%M"), named, *place))
    table = pd.DataFrame(rows, columns=["人员编号", "打卡时间", "网格编码", "x", "y"])
    points = gpd.GeoSeries(gpd.points_from_xy(table.pop("x"), table.pop("y")), crs=METRIC_CRS)
    points = points.to_crs(STORAGE_CRS)
    table["经度"], table["纬度"] = np.round(points.x.to_numpy(), 6), np.round(points.y.to_numpy(), 6)
    return table.sort_values(["打卡时间", "人员编号"], kind="stable", ignore_index=True), absent


def _write_tracks(path: Path, tracks: pd.DataFrame) -> None:
    """Plain Parquet (lon/lat: GCJ-02 rows cannot share a geometry's CRS), zstd, no timestamps."""
    table = pa.Table.from_pandas(tracks.astype({"time": "datetime64[s]"}), preserve_index=False)
    table = table.replace_schema_metadata({b"description": "示例市 patrol tracks — FICTIONAL sample data"})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def _readme(plan: pd.DataFrame, tracks: pd.DataFrame, checkins: pd.DataFrame, absent: list[str]) -> list[str]:
    info = plan.attrs
    return [
        f"## Patrols ({len(tracks):,} track points, {len(checkins)} check-ins)",
        "",
        f"A week (Monday {WEEK[0]:%Y-%m-%d} to Sunday {WEEK[-1]:%Y-%m-%d}) of patrols (巡查) by the",
        "full-time workers (专职网格员) of `staff.csv`, written by `scripts/sample_patrols.py`. A worker's",
        "`person_id` is `P` and the 6-digit row of `staff.csv` (`P000003` is its third row), as the sample",
        "roster numbers people. Times are naive Beijing time.",
        "",
        f"`{TRACKS_NAME}` — GPS tracks (轨迹) in the {plan['grid'].nunique()} grids of street {TRACK_STREET}",
        "(民主街道) that are patrolled: a point a minute along a round inside the grid's edge and through",
        "some of its buildings, once or twice a day, fewer at weekends. Plain Parquet (zstd), columns",
        "`person_id`, `time`, `lon`, `lat` (rounded to 1e-6°), `coord_system` (wgs84, or gcj02 for the",
        f"{GCJ_WORKERS} workers whose phones record Amap's GCJ-02, in grids {', '.join(info['gcj'])}),",
        "`own_grid` (the worker's grid). Deliberately:",
        "",
        f"- grids {' and '.join(info['never'])} are never patrolled (their workers are away all week);",
        f"- the worker of {info['away']} is away Wednesday to Friday: three days without a patrol;",
        f"- the worker of {info['helper']} spends the first round of each day also in the next grid",
        "  (time outside the own grid);",
        f"- grids without a full-time worker in `staff.csv`: {', '.join(info['unstaffed']) or 'none'};",
        "- one point jumps about 3 km east (a GPS error); about 0.5% of the points were sent twice.",
        "",
        f"`{CHECKINS_NAME}` — check-ins (打卡) of the full-time workers of town {CHECKIN_STREET}",
        "(城关镇), UTF-8, Chinese headers: `人员编号`, `打卡时间`, `网格编码` (empty where the app could not",
        f"name the grid: the point does), `经度`, `纬度` (CGCS2000). Grids {' and '.join(absent)} have no",
        "check-in all week.",
        "",
        "`gridmap patrols --grids demo/gridmap.gpkg --records data/sample/patrols.parquet --area 990102001",
        "--out patrols.gpkg` measures the tracks (`--records data/sample/patrol_checkins.csv "
        "--area 990121100`",
        "the check-ins).",
        "`gridmap demo` draws both as the patrol coverage layer (巡查覆盖率) of its map and "
        "cockpit: the tracks measured",
        f"on the grids of {TRACK_STREET}, the check-ins on those of {CHECKIN_STREET}.",
        "",
    ]
