r"""Patrols (巡查): how often each grid is patrolled, what a patrol passes, where workers spend time.

Nanjing-Xuanwu's patrol rule "八定一轮两响应" (seed 002) asks every grid worker for one full round of their
grid a day. From patrol records — check-ins or GPS tracks (:mod:`gridmap.fieldwork.patrol_records`) — and
the grids, :func:`summarize_patrols` measures per grid and period (day, week or month):

* the patrols done against the count the rule table requires (:class:`PatrolRules`; default one a day);
* the share of the grid's units (compounds, villages, buildings) passed within ``within_m`` metres (default
  50) by the grid's own patrols: the track segments and check-ins inside the grid, of the patrols that
  count. A neighbour walking their own grid along the shared edge passes none of this grid's units, so a
  grid without a patrol has no unit passed (coverage 0);
* the longest stretch without a patrol, and the grids not patrolled for ``idle_days`` days;
* the time each worker spends inside and outside their own grid (from a roster, the records or most time).

It returns a :class:`PatrolSummary` whose frames are keyed by grid ``code``: ``grids`` is a map layer (one
row per grid with its polygon, the measures over the whole span and a Chinese ``label``), ``periods`` the
same per period, ``workers`` per worker and period, ``idle`` the unpatrolled grids and ``tracks`` each
worker's track per day as a LineString for the community page.

A month of tracks for a city of 9,000 grids — tens of millions of points — does not fit in memory as
geometries: :func:`gridmap.fieldwork.patrol_engines.summarize_patrols_partitioned` reads GeoParquet with the
out-of-core engine of the cases, and :func:`~gridmap.fieldwork.patrol_engines.summarize_patrols_dask` runs on
a dask cluster; both give the answer of :func:`summarize_patrols`.

Examples
--------
A worker walks along a row of four compounds, 10, 49, 51 and 200 m from the path, for half an hour:

>>> from shapely import Point, box
>>> grids = gpd.GeoDataFrame({"code": ["990102001001001"]}, geometry=[box(0, -300, 600, 300)],
...                          crs="EPSG:4547")
>>> units = gpd.GeoDataFrame({"unit_id": ["U1", "U2", "U3", "U4"]}, crs="EPSG:4547",
...                          geometry=[Point(100, 10), Point(200, 49), Point(300, -51), Point(400, 200)])
>>> times = pd.date_range("2025-03-03 09:00", periods=31, freq="min")
>>> tracks = gpd.GeoDataFrame({"person_id": "P000003", "time": times}, crs="EPSG:4547",
...                           geometry=gpd.points_from_xy(np.linspace(0, 600, 31), np.zeros(31)))
>>> summary = summarize_patrols(tracks, grids, units=units)
>>> summary.grids[["code", "patrols", "required", "units_passed", "coverage"]]
              code  patrols  required  units_passed  coverage
0  990102001001001        1       1.0             2       0.5
>>> summary.grids.loc[0, "label"]
'巡查1次/应1次，途经单元50%，最长间隔9小时'
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap.cases.gridindex import GridIndex
from gridmap.crs import metric_crs
from gridmap.errors import GridmapWarning, SchemaError
from gridmap.fieldwork._patrol_measures import DAY_NS, Part, Setting, measure, prepare
from gridmap.fieldwork._patrol_tables import (
    GRID_COLUMNS,
    Layout,
    idle_grids,
    skipped_findings,
    span_of,
    tables,
)
from gridmap.fieldwork.patrol_records import KIND_ATTR, _xy, clean_patrols
from gridmap.fieldwork.patrol_rules import PatrolRules
from gridmap.findings import Report
from gridmap.io._columns import STRING_DTYPE
from gridmap.schema import GRID_TYPE_NAMES_ZH, PATROL_KINDS, PERIODS, model_columns, split_ids

__all__ = ["summarize_patrols", "PatrolSummary", "PatrolRules"]

_TYPES = {**{name: key for key, name in GRID_TYPE_NAMES_ZH.items()},
          **{key: key for key in GRID_TYPE_NAMES_ZH}}  # city/rural/dedicated or 城市网格/农村网格/专属网格
_GRID_KEEP = ("name", "community_code", "type")  # grid columns the map layer keeps beside the code


@dataclass(frozen=True)
class PatrolSummary:
    """The patrol measures: frames keyed by grid ``code``, ready for maps and workbooks.

    Attributes
    ----------
    grids : geopandas.GeoDataFrame
        One row per grid over the whole span, with its polygon: the map layer. ``code`` (and the grids'
        ``name``, ``community_code``, ``type`` when they have them), the measures of ``periods``,
        ``last_patrol`` (NaT: none), ``idle_days`` and ``label``, a Chinese sentence for popups
        (巡查5次/应7次，途经单元80%，最长间隔30小时).
    periods : pandas.DataFrame
        One row per grid and period: ``code``, ``period`` (2025-03-03, 2025-W10, 2025-03), ``patrols``,
        ``required``, ``done_rate``, ``units``, ``units_passed``, ``coverage`` (NA without units),
        ``longest_gap_h``, ``workers``, ``records``, ``minutes`` (of track; NA for check-ins),
        ``own_share`` (the share of the grid's own workers' time inside their own grids) and ``label``.
    workers : pandas.DataFrame
        One row per worker and period: ``person_id``, ``period``, ``own_grids`` (codes joined by ``;``),
        ``own_from`` (roster, records or most_time), ``patrols``, ``minutes_inside``,
        ``minutes_outside`` (tracks), ``share_inside``, ``records_inside``, ``records_outside``.
    idle : pandas.DataFrame
        The grids not patrolled for ``idle_days`` days up to ``at``: ``code``, ``last_patrol``,
        ``idle_days``, ``label`` (已4.5天未巡查), longest idle first.
    tracks : geopandas.GeoDataFrame
        One row per worker and day with a line: ``person_id``, ``day``, ``code`` (the grid of most of the
        day's time), ``points``, ``minutes``, ``length_m`` and a LineString (a MultiLineString where the
        track breaks) in the records' CRS; empty for check-ins or when not asked for.
    report : gridmap.Report
        Records left out or merged (by reason, with counts), grids patrolled less than required
        (``under_patrolled``) and unpatrolled grids (``idle_grid``), each about a grid carrying its ``code``.
    kind : str
        ``checkins`` or ``tracks``.
    period : str
        ``day``, ``week`` or ``month``.
    """

    grids: gpd.GeoDataFrame
    periods: pd.DataFrame
    workers: pd.DataFrame
    idle: pd.DataFrame
    tracks: gpd.GeoDataFrame
    report: Report
    kind: str
    period: str


def summarize_patrols(records: pd.DataFrame, grids: gpd.GeoDataFrame, *,
                      units: gpd.GeoDataFrame | None = None, roster: pd.DataFrame | None = None,
                      kind: str | None = None, period: str = "day", rules: PatrolRules | None = None,
                      coords: str | None = None, within_m: float | None = None,
                      idle_days: float | None = None, start: object = None, end: object = None,
                      at: object = None, tracks: bool = True, report: Report | None = None) -> PatrolSummary:
    """Measure patrols per grid and period from check-ins or GPS tracks held in memory.

    Parameters
    ----------
    records : pandas.DataFrame or geopandas.GeoDataFrame
        Patrol records as :func:`~gridmap.fieldwork.patrol_records.read_patrols` returns them, or any frame
        it can clean (Chinese headers 巡查员/人员编号, 时间, 经度/纬度, 网格编码, 所属网格, 坐标系; points as
        a geometry, Z ignored). Not modified.
    grids : geopandas.GeoDataFrame
        Grids with a unique text ``code`` (网格编码) and polygons; ``type`` (city/rural/dedicated) picks
        type rows of the rule table; ``unit_ids`` lists their units when the units do not say.
    units : geopandas.GeoDataFrame, optional
        The units whose share passed is measured (points or polygons, any CRS: compounds, buildings). A unit
        belongs to the grids its ``grid_code`` (网格编码) names, else to the grids whose ``unit_ids`` name its
        ``unit_id``; a unit naming none of the grids belongs to the grid holding its representative point.
        A grid's unit is passed only by that grid's patrols (those that count): the track segments starting
        inside the grid (a segment goes with its first point, as its time does) and the points inside it,
        within ``within_m`` metres; a track in the next grid, however close, does not pass it. The units a
        patrol passes count in the period it starts in, as the patrol does. Without units, ``coverage`` is
        missing.
    roster : pandas.DataFrame, optional
        ``person_id`` and ``unit_code`` (see :func:`gridmap.people.read_roster`; ``grid_code`` is read as
        ``unit_code``): the own grids of the workers it lists.
    kind : {"checkins", "tracks"}, optional
        The shape of the records (default: see :func:`~gridmap.fieldwork.patrol_records.read_patrols`).
    period : {"day", "week", "month"}, default "day"
        The period of the rows of ``periods`` and ``workers``.
    rules : PatrolRules, optional
        The rule table and thresholds (default :class:`PatrolRules`).
    coords : {"wgs84", "cgcs2000", "gcj02", "bd09"}, optional
        What the coordinates are, for records whose 坐标系 says nothing.
    within_m, idle_days : float, optional
        Replace the rules' ``within_m`` and ``idle_days``.
    start, end : date, optional
        The first and last day measured (default the first and last record's).
    at : datetime, optional
        The time idle days and gaps are counted up to (default the last record's time).
    tracks : bool, default True
        Draw the tracks (one line per worker and day).
    report : gridmap.Report, optional
        Receives the findings (also in :attr:`PatrolSummary.report`); without one, records left out are
        summarised in one :class:`~gridmap.errors.GridmapWarning`.

    Returns
    -------
    PatrolSummary

    Raises
    ------
    SchemaError, CRSError, GeometryError
        Unusable records, grids, units or roster; an unknown period or kind; no usable record.
    """
    rules = _rules(rules, within_m=within_m, idle_days=idle_days)
    _check_period(period)
    findings = Report("patrols")
    given = records.attrs.get(KIND_ATTR)
    if given not in PATROL_KINDS or (kind is not None and kind != given):  # not read by read_patrols
        records = clean_patrols(records, kind=kind, coords=coords, report=findings)
    kind = records.attrs[KIND_ATTR]
    layout, setting = _prepared(grids, units, roster, rules, kind=kind, crs=records.crs, tracks=tracks)
    x, y = _xy(records.geometry.to_numpy())
    points, counts = prepare(records, x, y, setting)
    part = measure(points, setting)
    part.counts.update(counts)
    return _summary(part, layout, setting, grids, period=period, span=(start, end, at), findings=findings,
                    report=report)


# --- setting up -------------------------------------------------------------------------------------------

def _rules(rules: PatrolRules | None, *, within_m: float | None, idle_days: float | None) -> PatrolRules:
    if rules is not None and not isinstance(rules, PatrolRules):
        raise SchemaError(f"rules must be PatrolRules, got {type(rules).__name__}",
                          fix="pass gridmap.fieldwork.PatrolRules(...) or PatrolRules.from_toml(path)")
    rules = rules or PatrolRules()
    if within_m is None and idle_days is None:
        return rules
    return dataclasses.replace(rules, within_m=rules.within_m if within_m is None else within_m,
                               idle_days=rules.idle_days if idle_days is None else idle_days)


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise SchemaError(f"period={period!r} is not a period",
                          fix=f"pass period= one of {', '.join(PERIODS)}")


def _prepared(grids: gpd.GeoDataFrame, units: gpd.GeoDataFrame | None, roster: pd.DataFrame | None,
              rules: PatrolRules, *, kind: str, crs: object, tracks: bool) -> tuple[Layout, Setting]:
    """Index the grids and units and lay out the rule of every grid."""
    index = GridIndex(grids)
    grids = model_columns(grids, "grids")[0]
    metric = _metric_crs(grids)
    unit_grid, tree = _units(units, grids, index, metric)
    types = grids["type"].map(_TYPES) if "type" in grids.columns else pd.Series(None, index=grids.index)
    rule = [rules.rule_for(grid_type, code) for grid_type, code in zip(types, index.codes, strict=True)]
    layout = Layout(codes=np.asarray(index.codes, dtype=object),
                    count=np.array([count for count, _ in rule], dtype=float),
                    per=np.array([per for _, per in rule], dtype=object), unit_grid=unit_grid,
                    roster=_roster(roster, index.codes), rules=rules, kind=kind)
    setting = Setting(index=index, crs=pyproj.CRS(crs) if crs is not None else index.crs, metric=metric,
                      units=tree, kind=kind, rules=rules, tracks=tracks)
    return layout, setting


def _metric_crs(grids: gpd.GeoDataFrame) -> pyproj.CRS:
    """Return the grids' own CRS when in metres, else gridmap's metric CRS for them."""
    crs = pyproj.CRS(grids.crs)
    if crs.is_projected and crs.axis_info[0].unit_name in ("metre", "meter"):
        return crs
    return metric_crs(grids)


def _units(units: gpd.GeoDataFrame | None, grids: gpd.GeoDataFrame, index: GridIndex,
           metric: pyproj.CRS) -> tuple[pd.DataFrame, shapely.STRtree | None]:
    """Return (unit, grid) pairs and an STR-tree of the units in the metric CRS (None without units)."""
    if units is None:
        return _no_pairs(), None
    if not isinstance(units, gpd.GeoDataFrame) or units.crs is None:
        raise SchemaError("units must be a GeoDataFrame with a CRS", fix="read them with gridmap.read_layer")
    units = model_columns(units, "units")[0]
    codes = pd.Index(index.codes)
    if "grid_code" in units.columns:
        pairs = _listed(units["grid_code"], np.arange(len(units)))
        pairs["grid"] = codes.get_indexer(pairs.pop("value"))
    elif "unit_ids" in grids.columns and "unit_id" in units.columns:
        pairs = _listed(grids["unit_ids"], np.arange(len(grids))).rename(columns={"unit": "grid"})
        pairs["unit"] = pd.Index(units["unit_id"].astype(str)).get_indexer(pairs.pop("value"))
    else:
        pairs = _no_pairs()
    pairs = pairs[(pairs["unit"] >= 0) & (pairs["grid"] >= 0)]
    rest = np.setdiff1d(np.arange(len(units)), pairs["unit"].to_numpy())  # named no grid: where they lie
    present = units.geometry.iloc[rest].notna().to_numpy() & ~units.geometry.iloc[rest].is_empty.to_numpy()
    rest = rest[present]
    points = units.geometry.iloc[rest].representative_point().to_crs(index.crs)
    located = pd.DataFrame({"unit": rest, "grid": index.locate(points.x, points.y)})
    pairs = pd.concat([pairs, located[located["grid"] >= 0]]).drop_duplicates()
    geometry = np.asarray(units.geometry.to_crs(metric).to_numpy(), dtype=object)
    return pairs[["unit", "grid"]].astype(np.int64).reset_index(drop=True), shapely.STRtree(geometry)


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame({"unit": np.array([], dtype=np.int64), "grid": np.array([], dtype=np.int64)})


def _listed(values: pd.Series, rows: np.ndarray) -> pd.DataFrame:
    """One row per id of a list field (``U1;U2``): ``unit`` (the row) and ``value`` (the id)."""
    ids = [split_ids(value) for value in values]
    return pd.DataFrame({"unit": np.repeat(rows, [len(i) for i in ids]),
                         "value": [v for listed in ids for v in listed]})


def _roster(roster: pd.DataFrame | None, codes: np.ndarray) -> pd.DataFrame | None:
    """(person, grid) of a roster's workers whose unit is one of the grids."""
    if roster is None:
        return None
    unit = "unit_code" if "unit_code" in roster.columns else "grid_code"
    if "person_id" not in roster.columns or unit not in roster.columns:
        columns = ", ".join(map(str, roster.columns))
        raise SchemaError(f"the roster has no person_id and unit_code (columns: {columns})",
                          fix="give the roster as gridmap.people.read_roster returns it")
    grid = pd.Index(codes).get_indexer(roster[unit].astype(str))
    found = pd.DataFrame({"person": roster["person_id"].astype(str).to_numpy(dtype=object), "grid": grid})
    return found[found["grid"] >= 0].drop_duplicates().astype({"grid": np.int64}).reset_index(drop=True)


# --- the summary ------------------------------------------------------------------------------------------

def _summary(part: Part, layout: Layout, setting: Setting, grids: gpd.GeoDataFrame, *, period: str,
             span: tuple, findings: Report, report: Report | None) -> PatrolSummary:
    start, end, at = span
    measured = span_of(part, start=start, end=end, at=at)
    periods, workers = tables(part, layout, measured, period=period)
    whole, _ = tables(part, layout, measured, period=None)
    idle = idle_grids(part, layout, measured)
    layer = _layer(grids, whole, idle, layout)
    periods["label"] = _labels_zh(periods)
    idle_table = layer.loc[layer["idle_days"] >= layout.rules.idle_days,
                           ["code", "last_patrol", "idle_days"]].sort_values(
        ["idle_days", "code"], ascending=[False, True], kind="stable", ignore_index=True)
    idle_table["label"] = [f"已{days:.1f}天未巡查" for days in idle_table["idle_days"]]
    skipped_findings(part.counts, findings)
    if report is None and len(findings):  # problems of the data, before the findings about grids
        warnings.warn(f"{findings.summary()}; pass report= to list them", GridmapWarning, stacklevel=3)
    _grid_findings(layer, idle_table, findings, layout.rules)
    if report is not None:
        report.extend(findings)
    return PatrolSummary(grids=layer, periods=periods, workers=workers, idle=idle_table,
                         tracks=_tracks(part, layout, setting), report=findings, kind=layout.kind,
                         period=period)


def _layer(grids: gpd.GeoDataFrame, whole: pd.DataFrame, idle: pd.DataFrame,
           layout: Layout) -> gpd.GeoDataFrame:
    """Return the map layer: the grids' polygons, the measures over the span, idle days, a Chinese label."""
    model = model_columns(grids, "grids")[0]
    kept = ["code", *(c for c in _GRID_KEEP if c in model.columns)]
    layer = model[kept].reset_index(drop=True).astype({"code": STRING_DTYPE})
    layer = pd.concat([layer, whole[GRID_COLUMNS].reset_index(drop=True), idle.reset_index(drop=True)],
                      axis=1)
    idle_words = [f"，已{days:.1f}天未巡查" for days in layer["idle_days"]]
    idle = layer["idle_days"] >= layout.rules.idle_days
    layer["label"] = _labels_zh(layer) + np.where(idle, idle_words, "")
    return gpd.GeoDataFrame(layer, geometry=model.geometry.reset_index(drop=True), crs=grids.crs)


def _labels_zh(table: pd.DataFrame) -> pd.Series:
    """巡查3次/应7次，途经单元80%，最长间隔30小时 — a sentence per row for popups and tables."""
    def one(patrols, required, coverage, gap) -> str:
        parts = [f"巡查{patrols}次/应{required:.3g}次"]
        if pd.notna(coverage):
            parts.append(f"途经单元{coverage:.0%}")
        parts.append(f"最长间隔{gap:.3g}小时")
        return "，".join(parts)

    return pd.Series([one(*row) for row in table[["patrols", "required", "coverage", "longest_gap_h"]]
                      .itertuples(index=False)], index=table.index, dtype=STRING_DTYPE)


def _grid_findings(layer: gpd.GeoDataFrame, idle: pd.DataFrame, findings: Report, rules: PatrolRules) -> None:
    """One finding per grid patrolled less than required and per grid not patrolled for idle_days days."""
    under = layer[layer["patrols"] < layer["required"]]
    findings.add_many("under_patrolled", "{patrols} patrols of {required:.3g} required",
                      records=under["code"], severity="warning", code=under["code"].to_numpy(),
                      patrols=under["patrols"].to_numpy(), required=under["required"].to_numpy())
    rule = f"the rule: {rules.idle_days:g}"
    findings.add_many("idle_grid", f"not patrolled for {{idle_days:.1f}} days ({rule})",
                      records=idle["code"], severity="warning", code=idle["code"].to_numpy(),
                      idle_days=idle["idle_days"].to_numpy())


def _tracks(part: Part, layout: Layout, setting: Setting) -> gpd.GeoDataFrame:
    """Return the tracks per worker and day, with the code of the grid of most of the day's time."""
    columns = ["person_id", "day", "code", "points", "minutes", "length_m"]
    if part.tracks is None or not len(part.tracks):
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns},
                                geometry=gpd.GeoSeries([], crs=setting.crs))
    frame = part.tracks.sort_values(["person", "day"], kind="stable", ignore_index=True)
    grid = frame["grid"].to_numpy(dtype=np.int64)
    codes = np.where(grid >= 0, layout.codes[np.maximum(grid, 0)], None)
    table = pd.DataFrame({
        "person_id": frame["person"].astype(STRING_DTYPE),
        "day": pd.to_datetime(frame["day"].to_numpy() * DAY_NS).strftime("%Y-%m-%d").astype(STRING_DTYPE),
        "code": pd.Series(codes, dtype=STRING_DTYPE), "points": frame["points"].astype(np.int64),
        "minutes": frame["seconds"] / 60, "length_m": frame["length_m"]})
    return gpd.GeoDataFrame(table, geometry=frame.geometry.to_numpy(), crs=setting.crs)
