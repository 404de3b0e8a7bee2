"""Walking circles (15分钟服务圈) around service centres: the area reached on foot in 5, 10 and 15 minutes.

Nanning (seed 001) plans its party and community service centres as 15-minute circles. :func:`service_circles`
computes, for each centre and each number of minutes, the area a walker reaches along a road or footpath
network at a given speed (4.5 km/h by default, :data:`gridmap.schema.WALK_SPEED_KMH`):

1. the lines are noded at every crossing (:func:`shapely.union_all` on a 1 cm grid, which also drops
   duplicate and zero-length segments) and made into a :mod:`networkx` graph weighted by length (metres, in
   :func:`gridmap.crs.metric_crs`);
2. each centre walks straight to the nearest point of the network (its snap point; that walk counts against
   the time and is drawn), and :func:`networkx.single_source_dijkstra_path_length` gives the distance to every
   node within reach;
3. the reached network is every edge walked in full, plus the partial edges cut where the remaining
   distance runs out (from either end), and the area is that network buffered by the walk-off distance
   (50 m by default, :data:`gridmap.schema.WALK_OFF_M`: how far off a path the reached area extends, to the
   doors set back from it).

Without a network the circles are straight-line discs of radius speed × minutes around each centre
(1,125 m for 15 minutes at 4.5 km/h), with a caveat in the ``caveat`` column and a warning: they overstate
what is reachable on foot. A network part that no path links to a centre is never reached from it.

:func:`circle_coverage` counts the households and population of the units (compounds, villages) inside each
circle, per community, the share of each community's households and area covered, and lists the compounds
and villages outside every circle. A unit given as a polygon counts by the share of its area inside the
circle (half its area inside: half its households, assumed spread evenly over it), so a compound cut by the
circle's edge counts in part rather than all or nothing by where its centre falls; a unit given as a point
counts whole when the circle covers the point. A unit is outside when no part of it is inside any circle.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import LineString, Point
>>> path = gpd.GeoDataFrame(geometry=[LineString([(500_000, 2_500_000), (502_000, 2_500_000)])], crs=4545)
>>> centre = gpd.GeoDataFrame({"名称": ["民主社区服务中心"]}, geometry=[Point(500_000, 2_500_000)], crs=4545)
>>> circles = service_circles(centre, path)
>>> circles[["minutes", "reach_m", "network_m", "method"]]
   minutes  reach_m  network_m   method
0      5.0    375.0      375.0  network
1     10.0    750.0      750.0  network
2     15.0   1125.0     1125.0  network
>>> print(circles["label"][2])
民主社区服务中心 15分钟步行圈
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap.crs import metric_crs
from gridmap.errors import GeometryError, GridmapWarning, SchemaError
from gridmap.fieldwork._layers import checked, records, require_geometry
from gridmap.fieldwork._layers import ids as _ids
from gridmap.fieldwork._reach import BufferTree, cut_lines
from gridmap.findings import Report
from gridmap.schema import RESIDENTIAL_KINDS, WALK_MINUTES, WALK_OFF_M, WALK_SPEED_KMH, unit_kind

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["service_circles", "circle_coverage", "CircleCoverage", "STRAIGHT_LINE_CAVEAT"]

_LOG = logging.getLogger(__name__)

#: The caveat of straight-line circles (the ``caveat`` column when no network is given).
STRAIGHT_LINE_CAVEAT = "未提供道路网络：按直线距离（步速×时间）画圆，实际步行可达范围更小"
#: Coordinates of the network are snapped to this grid (m) when it is noded: ends closer than this meet.
_NODE_GRID_M = 0.01
_QUAD_SEGS = 16
_CIRCLE_COLUMNS = ["centre_id", "name", "minutes", "speed_kmh", "reach_m", "method", "snap_m", "network_m",
                   "area_m2", "caveat", "label"]


def service_circles(centres: gpd.GeoDataFrame, roads: gpd.GeoDataFrame | None = None, *,
                    minutes: Sequence[float] = WALK_MINUTES, speed_kmh: float = WALK_SPEED_KMH,
                    walk_off_m: float = WALK_OFF_M) -> gpd.GeoDataFrame:
    """Draw the area reachable on foot from each service centre in each number of minutes.

    Parameters
    ----------
    centres : geopandas.GeoDataFrame
        Service centres: points or polygons, optional ``centre_id`` (or 编号 / 服务中心编号; default: the
        record, ``rowN``) and ``name`` (名称). Any CRS; Z is ignored.
    roads : geopandas.GeoDataFrame, optional
        Roads and footpaths (lines, any CRS). Without them the circles are straight-line discs (see the
        module docstring) and a warning says so.
    minutes : sequence of float, default (5, 10, 15)
        Walking times drawn.
    speed_kmh : float, default 4.5
        Walking speed.
    walk_off_m : float, default 50
        How far off the reached network the reached area extends (m).

    Returns
    -------
    geopandas.GeoDataFrame
        One polygon per centre and number of minutes (by centre, then minutes), in the centres' CRS:
        ``centre_id``, ``name``, ``minutes``, ``speed_kmh``, ``reach_m`` (speed × minutes), ``method``
        (``network`` or ``straight_line``), ``snap_m`` (the walk from the centre to the network; NaN
        without one), ``network_m`` (length of network reached; NaN without one), ``area_m2``, ``caveat``
        (empty, or :data:`STRAIGHT_LINE_CAVEAT`), ``label`` (Chinese, e.g. ``…服务中心 15分钟步行圈``).

    Raises
    ------
    SchemaError
        A layer is not a GeoDataFrame or is empty; minutes, speed or walk-off are not positive numbers.
    CRSError
        A layer has no CRS.
    GeometryError
        A centre has no geometry; a road is not a line; the roads hold no line of any length.

    Warns
    -----
    GridmapWarning
        No network (straight-line circles); centres farther from the network than the walk-off; roads
        without geometry left out.
    """
    frame, labels = checked(centres, "centres", "centres")
    require_geometry(frame, labels, "centres")
    times = _minutes(minutes)
    speed = _positive(speed_kmh, "speed_kmh", "e.g. speed_kmh=4.5", most=30)
    walk_off = _positive(walk_off_m, "walk_off_m", "e.g. walk_off_m=50", most=1000)
    reach = speed * 1000 / 60 * times
    metric = metric_crs(frame)
    geoms = shapely.force_2d(np.asarray(frame.geometry.to_crs(metric).values, dtype=object))
    if roads is None:
        warnings.warn("service_circles: no road network was given, so the circles are straight-line discs "
                      "(radius speed × minutes); they overstate what is reachable on foot", GridmapWarning,
                      stacklevel=2)
        rows, shapes = _straight(geoms, reach)
    else:
        network = _Network.from_lines(roads, metric)
        rows, shapes = _walked(geoms, reach, walk_off, network, labels)
    ids = _ids(frame, labels, "centre_id")
    names = frame["name"].astype("string").fillna(pd.Series(ids, index=frame.index)).to_numpy() \
        if "name" in frame.columns else ids
    return _circles(rows, shapes, ids, names, times, speed, metric, frame.crs)


def _positive(value: object, name: str, example: str, *, most: float) -> float:
    """Return ``value`` as a finite number above 0 and at most ``most``; else raise SchemaError naming it."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number) or not 0 < number <= most:
        raise SchemaError(f"{name} must be a number above 0 and at most {most:g}, got {value!r}",
                          record=name, fix=f"pass {example}")
    return number


def _minutes(minutes: Sequence[float]) -> np.ndarray:
    """Return the minutes as sorted unique positive numbers (at most a day)."""
    if isinstance(minutes, (int, float)):
        minutes = [minutes]
    values = [_positive(m, "minutes", "e.g. minutes=(5, 10, 15)", most=1440) for m in minutes]
    if not values:
        raise SchemaError("minutes is empty", record="minutes", fix="pass e.g. minutes=(5, 10, 15)")
    return np.unique(np.array(values, dtype=float))


def _straight(geoms: np.ndarray, reach: np.ndarray) -> tuple[list[dict], list]:
    """Straight-line discs: each centre buffered by each reach."""
    shapes = shapely.buffer(np.repeat(geoms, len(reach)), np.tile(reach, len(geoms)), quad_segs=_QUAD_SEGS)
    rows = [{"method": "straight_line", "snap_m": np.nan, "network_m": np.nan,
             "caveat": STRAIGHT_LINE_CAVEAT}] * len(shapes)
    return rows, list(shapes)


@dataclass
class _Network:
    """A noded line network in metres: edge geometries, lengths and end nodes, and its networkx graph."""

    edges: np.ndarray
    length: np.ndarray
    u: np.ndarray
    v: np.ndarray
    graph: nx.MultiGraph[int]  # networkx is imported only when a network is given

    @classmethod
    def from_lines(cls, roads: gpd.GeoDataFrame, metric: pyproj.CRS) -> _Network:
        """Node the roads at every crossing and build the graph (edges weighted by length in metres)."""
        import networkx as nx

        frame, labels = checked(roads, "roads", None)
        geoms = np.asarray(frame.geometry.to_crs(metric).values, dtype=object)
        absent = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        if absent.any():
            warnings.warn(f"service_circles: {int(absent.sum())} roads without geometry were left out "
                          f"({records(labels[absent])})", GridmapWarning, stacklevel=4)
        geoms = shapely.force_2d(geoms[~absent])
        lines = shapely.get_parts(geoms)
        not_lines = shapely.get_type_id(lines) != shapely.GeometryType.LINESTRING
        if not_lines.any():
            kinds = ", ".join(sorted({geom.geom_type for geom in lines[not_lines]}))
            raise GeometryError(f"roads must be lines; they hold {kinds}", record="roads",
                                fix="give the road centre lines or footpaths as LineStrings")
        lines = lines[shapely.length(lines) > 0]
        edges = shapely.get_parts(shapely.union_all(lines, grid_size=_NODE_GRID_M)) if len(lines) else lines
        edges = edges[shapely.length(edges) > 0]
        if not len(edges):
            raise GeometryError("roads hold no line of any length", record="roads",
                                fix="give the roads and footpaths as lines, or leave them out for "
                                    "straight-line circles")
        ends = np.vstack([shapely.get_coordinates(shapely.get_point(edges, 0)),
                          shapely.get_coordinates(shapely.get_point(edges, -1))])
        node = np.unique(np.round(ends / _NODE_GRID_M).astype(np.int64), axis=0,
                         return_inverse=True)[1].ravel()
        u, v, length = node[: len(edges)], node[len(edges):], shapely.length(edges)
        graph: nx.MultiGraph[int] = nx.MultiGraph()
        graph.add_nodes_from(range(int(node.max()) + 1))
        graph.add_weighted_edges_from(zip(u.tolist(), v.tolist(), length.tolist(), strict=True))
        _LOG.debug("network: %d lines noded into %d edges and %d nodes", len(lines), len(edges),
                   graph.number_of_nodes())
        return cls(edges=edges, length=length, u=u, v=v, graph=graph)

    def distances(self, edge: int, along: float, cutoff: float) -> tuple[np.ndarray, int]:
        """Distance from a point ``along`` metres into ``edge`` to every node (inf beyond ``cutoff``).

        The point is a temporary node (numbered after the last one, at distance 0) joined to both ends of
        its edge; it is removed again before returning.
        """
        import networkx as nx

        graph = self.graph
        start = graph.number_of_nodes()
        graph.add_weighted_edges_from([(start, int(self.u[edge]), along),
                                       (start, int(self.v[edge]), float(self.length[edge]) - along)])
        try:
            reached = nx.single_source_dijkstra_path_length(graph, start, cutoff=cutoff, weight="weight")
        finally:
            graph.remove_node(start)
        distance = np.full(start + 1, np.inf)
        distance[np.fromiter(reached.keys(), dtype=np.int64)] = np.fromiter(reached.values(), dtype=float)
        return distance, start


def _walked(geoms: np.ndarray, reach: np.ndarray, walk_off: float, network: _Network,
            labels: pd.Series) -> tuple[list[dict], list]:
    """Draw the network circles of every centre: snap, walk, cut the partial edges, buffer."""
    nearest = shapely.STRtree(network.edges).nearest(geoms)
    connectors = shapely.shortest_line(geoms, network.edges[nearest])
    snap = shapely.length(connectors)
    along = shapely.line_locate_point(network.edges[nearest], shapely.get_point(connectors, -1))
    far = snap > walk_off
    if far.any():
        listed = ", ".join(f"{label} ({metres:,.0f} m)"
                           for label, metres in zip(labels[far][:5], snap[far][:5], strict=False))
        warnings.warn(f"service_circles: {int(far.sum())} centres lie farther from the network than the "
                      f"walk-off ({walk_off:g} m): {listed}; the walk to the network is counted",
                      GridmapWarning, stacklevel=3)
    tree = BufferTree.build(network.edges, walk_off, _QUAD_SEGS)
    walks = cut_lines(np.repeat(connectors, len(reach)), np.zeros(len(geoms) * len(reach)),
                      np.minimum(np.tile(reach, len(geoms)), np.repeat(snap, len(reach))))
    rows, shapes = [], []
    for k, centre in enumerate(geoms):
        budget = reach - snap[k]
        distance, start = network.distances(int(nearest[k]), float(along[k]), float(max(budget[-1], 0.0)))
        edges, length, u, v, kept = _split_at(network, int(nearest[k]), float(along[k]), start, distance)
        for b, walk in zip(budget, walks[k * len(reach):(k + 1) * len(reach)], strict=True):
            whole, pieces, walked = _reached(edges, length, distance[u], distance[v], b)
            on_network = np.zeros(len(network.edges), dtype=bool)
            on_network[kept[whole[:-2]]] = True
            parts = np.array([centre, *([walk] if snap[k] > 0 else []), *edges[-2:][whole[-2:]], *pieces],
                             dtype=object)
            # the reached edges come as stored unions of groups of edge buffers (see BufferTree)
            shapes.append(shapely.union_all(np.array(
                [*shapely.buffer(parts, walk_off, quad_segs=_QUAD_SEGS), *tree.covering(on_network)],
                dtype=object)))
            rows.append({"method": "network", "snap_m": float(snap[k]), "network_m": walked, "caveat": ""})
    return rows, shapes


def _split_at(network: _Network, edge: int, along: float, start: int, distance: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the edges with an end within reach, ``edge`` replaced by its halves either side of the snap.

    Edges, lengths, end nodes, and the network's number of each edge but the two halves (the last two).
    """
    keep = np.isfinite(distance[network.u]) | np.isfinite(distance[network.v])
    keep[edge] = False
    total = float(network.length[edge])
    halves = cut_lines(np.repeat(network.edges[edge], 2), np.array([0.0, along]), np.array([along, total]))
    return (np.concatenate([network.edges[keep], halves]),
            np.concatenate([network.length[keep], [along, total - along]]),
            np.concatenate([network.u[keep], [network.u[edge], start]]),
            np.concatenate([network.v[keep], [start, network.v[edge]]]),
            np.flatnonzero(keep))


def _reached(edges: np.ndarray, length: np.ndarray, from_u: np.ndarray, from_v: np.ndarray,
             budget: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Return which edges are walked whole, the walked parts of the others, and the length walked.

    From each end a walker goes ``budget - distance to that end`` into the edge; when the two stretches
    meet, the whole edge is reached, else each stretch is cut from its end.
    """
    into_u = np.clip(budget - from_u, 0.0, length)
    into_v = np.clip(budget - from_v, 0.0, length)
    whole = (into_u + into_v >= length) & (length > 0)
    from_start = np.flatnonzero(~whole & (into_u > 0))
    from_end = np.flatnonzero(~whole & (into_v > 0))
    pieces = cut_lines(edges[np.concatenate([from_start, from_end])],
                       np.concatenate([np.zeros(len(from_start)), length[from_end] - into_v[from_end]]),
                       np.concatenate([into_u[from_start], length[from_end]]))
    walked = float(length[whole].sum() + into_u[~whole].sum() + into_v[~whole].sum())
    return whole, pieces, walked


def _circles(rows: list[dict], shapes: list, ids: np.ndarray, names: np.ndarray, times: np.ndarray,
             speed: float, metric: pyproj.CRS, crs: object) -> gpd.GeoDataFrame:
    """Assemble the circles frame (by centre, then minutes) in the centres' CRS."""
    n = len(ids)
    circles = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=shapes, crs=metric)
    circles["centre_id"] = np.repeat(ids, len(times))
    circles["name"] = np.repeat(names, len(times))
    circles["minutes"] = np.tile(times, n)
    circles["speed_kmh"] = speed
    circles["reach_m"] = np.tile(speed * 1000 / 60 * times, n)
    circles["area_m2"] = circles.area
    suffix = np.where(circles["method"] == "straight_line", "（直线距离）", "")
    circles["label"] = [f"{name} {m:g}分钟步行圈{s}" for name, m, s in
                        zip(circles["name"], circles["minutes"], suffix, strict=True)]
    return circles[[*_CIRCLE_COLUMNS, "geometry"]].to_crs(crs)


# --- who lives inside the circles ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CircleCoverage:
    """Households and population inside walking circles, per community (:func:`circle_coverage`).

    Attributes
    ----------
    circles : pandas.DataFrame
        One row per circle (centre and minutes) and community it reaches units of: ``centre_id``, ``name``,
        ``minutes``, ``community_code``, ``units`` (reached at least in part), ``households``,
        ``population`` (polygons by the share of their area inside: not whole numbers), ``share_households``
        (of the community's households).
    communities : pandas.DataFrame or geopandas.GeoDataFrame
        One row per community and minutes, all centres together: ``community_code``, ``name`` (with
        communities), ``minutes``, ``units``, ``households``, ``population`` (the community's totals),
        ``units_in`` (reached at least in part), ``households_in``, ``population_in`` (polygons by the
        share of their area inside any circle; floats), ``share_households``, ``share_population``,
        ``share_area`` (of the community's area inside any circle; NaN without communities) and ``label``
        (Chinese). With communities it is a GeoDataFrame of their polygons: a map layer per minutes.
    outside : geopandas.GeoDataFrame
        The units counted (compounds, natural villages, units of no known kind) no part of which lies
        inside any circle: ``unit_id``, ``name``, ``kind``, ``community_code``, ``households``,
        ``population``, ``distance_m`` (from the unit's nearest edge or point to the nearest circle; 0 for
        a polygon that only touches one), ``label``, geometry.
    report : gridmap.findings.Report
        ``outside_circles`` (one per unit outside), ``straight_line`` (one per centre drawn without a
        network), ``no_community`` and ``no_households`` (units counted without them), each with
        ``community_code`` or ``centre_id``; ``no_residents`` when no unit is a compound or village.
    """

    circles: pd.DataFrame
    communities: pd.DataFrame
    outside: gpd.GeoDataFrame
    report: Report


def circle_coverage(circles: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *,
                    communities: gpd.GeoDataFrame | None = None) -> CircleCoverage:
    """Count the households and population inside each walking circle, per community.

    Parameters
    ----------
    circles : geopandas.GeoDataFrame
        What :func:`service_circles` returns (``centre_id``, ``minutes``, polygons; any CRS).
    units : geopandas.GeoDataFrame
        Base units (compounds, natural villages, sites): ``households`` (户数), ``population`` (人口),
        optional ``unit_id`` (编号), ``name``, ``kind``, ``community_code`` (社区代码); points or polygons,
        any CRS. A polygon counts inside a circle by the share of its area inside (its households and
        population times that share); a point (or a line) counts whole when the circle covers it (a line's
        point on its surface). Only units where people live count: compounds and natural villages
        (:data:`gridmap.schema.RESIDENTIAL_KINDS`) and units of no known kind; sites (schools, markets …)
        and buildings (楼栋, which would count their compound's households twice) are left out.
    communities : geopandas.GeoDataFrame, optional
        Community polygons (``code``, ``name``). A unit's community is then the one holding its point (a
        polygon's representative point), and
        the share of each community's area inside the circles is measured; without them the units'
        ``community_code`` is used and ``share_area`` is NaN.

    Returns
    -------
    CircleCoverage

    Raises
    ------
    SchemaError
        A layer is not a GeoDataFrame, circles lack their columns, counts are negative.
    CRSError, GeometryError
        A layer has no CRS; a unit has no geometry.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> circles = gpd.GeoDataFrame({"centre_id": ["A"], "minutes": [15.0]}, crs=4545,
    ...                            geometry=[Point(500_000, 2_500_000).buffer(1125)])
    >>> units = gpd.GeoDataFrame({"编号": ["C1", "C2"], "类型": ["小区", "小区"], "户数": [300, 500],
    ...     "人口": [900, 1400], "社区代码": ["990102001001"] * 2}, crs=4545,
    ...     geometry=[Point(500_500, 2_500_000), Point(502_000, 2_500_000)])
    >>> coverage = circle_coverage(circles, units)
    >>> coverage.communities[["community_code", "households", "households_in", "share_households"]]
      community_code  households  households_in  share_households
    0   990102001001         800          300.0             0.375
    >>> coverage.outside[["unit_id", "households", "distance_m"]].round(0)
      unit_id  households  distance_m
    0      C2         500       875.0

    A compound half inside the circle counts half its 400 households, and is not outside:

    >>> from shapely import box
    >>> half = gpd.GeoDataFrame({"编号": ["C3"], "户数": [400], "社区代码": ["990102001001"]}, crs=4545,
    ...                         geometry=[box(500_000, 2_501_000, 500_100, 2_501_400)])
    >>> circle = gpd.GeoDataFrame({"centre_id": ["A"], "minutes": [15.0]}, crs=4545,
    ...                           geometry=[box(499_000, 2_500_000, 501_000, 2_501_200)])
    >>> coverage = circle_coverage(circle, half)
    >>> coverage.communities[["units_in", "households_in", "share_households"]], len(coverage.outside)
    (   units_in  households_in  share_households
    0         1          200.0               0.5, 0)
    """
    if not isinstance(circles, gpd.GeoDataFrame) or not {"centre_id", "minutes"} <= set(circles.columns):
        raise SchemaError("circles must be a GeoDataFrame with centre_id and minutes columns",
                          record="circles", fix="pass what gridmap.fieldwork.service_circles returns")
    frame, labels = checked(units, "units", "units")
    metric = metric_crs(circles)
    rings = circles.to_crs(metric).reset_index(drop=True)
    table, report = _units(frame, labels, communities, metric)
    zones = np.asarray(rings.geometry.values, dtype=object)
    pairs = shapely.STRtree(table["metric_shape"].to_numpy()).query(zones, predicate="intersects")
    share, pieces = _shares(table, zones, pairs)
    holds = pd.DataFrame({"circle": pairs[0], "unit": pairs[1], "share": share})[share > 0]
    by_circle = _by_circle(rings, table, holds)
    levels, level = np.unique(rings["minutes"].to_numpy(dtype=float), return_inverse=True)
    inside = _shares_by_level(table, pairs, share, pieces, level.ravel(), len(levels))
    by_community = _by_community(rings, table, levels, inside, communities, metric)
    outside = _outside(zones, table, inside.max(axis=0, initial=0.0) == 0, report, frame.crs)
    _report_straight(circles, report)
    return CircleCoverage(circles=by_circle, communities=by_community, outside=outside, report=report)


def _units(frame: gpd.GeoDataFrame, labels: pd.Series, communities: gpd.GeoDataFrame | None,
           metric: pyproj.CRS) -> tuple[pd.DataFrame, Report]:
    """One row per unit where people live: id, kind, community, counts, its shape and point (metric CRS).

    Units of a kind where nobody lives (schools, offices, markets …, and buildings, which would count their
    compound twice) are left out; units of no known kind are kept.
    """
    report = Report("walking circles")
    require_geometry(frame, labels, "units")
    if "kind" in frame.columns:
        kinds = frame["kind"].map(unit_kind)
        lived_in = (kinds.isna() | kinds.isin(RESIDENTIAL_KINDS)).to_numpy()
        if not lived_in.any():
            report.add("no_residents", f"none of the {len(frame)} units is a compound or a village; "
                       "nothing is counted", severity="warning",
                       fix="give the compounds (小区) and villages (自然村)")
        frame, labels = frame[lived_in], labels[lived_in]
    shapes = shapely.force_2d(np.asarray(frame.geometry.to_crs(metric).values, dtype=object))
    shapes = np.where(shapely.is_valid(shapes), shapes, shapely.make_valid(shapes))
    points = shapely.point_on_surface(shapes)
    table = pd.DataFrame({"unit_id": frame["unit_id"].astype("string").fillna(labels).to_numpy()
                          if "unit_id" in frame.columns else labels.to_numpy(), "point": points})
    for count in ("households", "population"):
        table[count] = _counts(frame, labels, count, report)
    table["kind"] = frame["kind"].map(unit_kind).to_numpy() if "kind" in frame.columns else None
    table["community_code"] = _community_of(frame, points, communities, metric)
    table["name"] = frame["name"].astype("string").to_numpy() if "name" in frame.columns else table["unit_id"]
    table["shape"] = frame.geometry.to_numpy()
    table["metric_shape"] = shapes
    table["area"] = shapely.area(shapes)
    lost = table["community_code"] == ""
    report.add_many("no_community", "unit {unit_id} lies in no community; it is counted under ''",
                    records=labels[lost.to_numpy()].to_numpy(), severity="warning",
                    fix="give its community_code, or the communities layer",
                    unit_id=table["unit_id"][lost].to_numpy(),
                    community_code=table["community_code"][lost].to_numpy())
    return table, report


def _counts(frame: gpd.GeoDataFrame, labels: pd.Series, column: str, report: Report) -> np.ndarray:
    """Return a count column (int64 when whole): missing values count 0 (reported); negative ones raise."""
    if column not in frame.columns:
        report.add("no_households" if column == "households" else "no_population",
                   f"units have no {column} column; every unit counts 0", severity="warning",
                   fix=f"give the {column} (户数 / 人口) of the units")
        return np.zeros(len(frame))
    values = pd.to_numeric(frame[column], errors="coerce")
    negative = values < 0
    if negative.any():
        raise SchemaError(f"{column} is negative ({values[negative].iloc[0]:g})",
                          record=records(labels[negative]), fix=f"correct the {column} of these units")
    absent = values.isna()
    if absent.any() and column == "households":
        codes = frame["community_code"].astype("string").fillna("") if "community_code" in frame.columns \
            else pd.Series("", index=frame.index)
        report.add_many("no_households", "unit has no households; it counts 0",
                        records=labels[absent].to_numpy(), severity="info",
                        community_code=codes[absent].to_numpy())
    counts = values.fillna(0).to_numpy(dtype=float)
    return counts.astype(np.int64) if np.array_equal(counts, np.round(counts)) else counts


def _community_of(frame: gpd.GeoDataFrame, points: np.ndarray, communities: gpd.GeoDataFrame | None,
                  metric: pyproj.CRS) -> np.ndarray:
    """Each unit's community: the polygon holding its point, else its ``community_code`` ('' if none)."""
    if communities is None:
        if "community_code" not in frame.columns:
            return np.full(len(frame), "", dtype=object)
        return frame["community_code"].astype("string").str.strip().fillna("").to_numpy(dtype=object)
    admin, _ = checked(communities, "communities", "admin")
    if "code" not in admin.columns:
        raise SchemaError("communities have no code column", record="communities",
                          fix="name the column code or 区划代码")
    shapes = np.asarray(admin.to_crs(metric).geometry.values, dtype=object)
    point, polygon = shapely.STRtree(shapes).query(points, predicate="intersects")
    codes = admin["code"].astype("string").to_numpy(dtype=object)
    found = pd.Series(codes[polygon], index=point).groupby(level=0).min()  # on an edge: the lower code
    result = np.full(len(frame), "", dtype=object)
    result[found.index.to_numpy()] = found.to_numpy()
    return result


def _shares(table: pd.DataFrame, zones: np.ndarray, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the share of each unit inside each zone, for the (zone, unit) pairs that intersect; the pieces.

    A polygon: the share of its area inside (the piece inside is returned too); a point or line (no area):
    1 when the zone covers its point (no piece: None).
    """
    zone, unit = pairs
    area = table["area"].to_numpy(dtype=float)[unit]
    share = np.zeros(len(unit))
    pieces = np.full(len(unit), None, dtype=object)
    polygon = area > 0
    if polygon.any():
        pieces[polygon] = shapely.intersection(table["metric_shape"].to_numpy()[unit[polygon]],
                                               zones[zone[polygon]])
        share[polygon] = np.minimum(shapely.area(pieces[polygon]) / area[polygon], 1.0)
    point = ~polygon
    if point.any():
        share[point] = shapely.covers(zones[zone[point]], table["point"].to_numpy()[unit[point]])
    return share, pieces


def _shares_by_level(table: pd.DataFrame, pairs: np.ndarray, share: np.ndarray, pieces: np.ndarray,
                     level: np.ndarray, levels: int) -> np.ndarray:
    """Return the share of every unit inside the union of the zones of each level, ``(levels, units)``.

    From the pairs' shares and pieces: a point is inside when a zone of the level covers it; a polygon's
    share is the area of the union of its pieces inside the level's zones (the area of the polygon inside
    their union: no union of a level's zones, which holds every vertex of them, is built).
    """
    result = np.zeros((levels, len(table)))
    zone, unit = pairs
    key = level[zone] * len(table) + unit
    hit = share > 0
    point = hit & shapely.is_missing(pieces)
    flat = result.reshape(-1)  # a view: writing to it writes to result
    np.maximum.at(flat, key[point], share[point])
    polygon = np.flatnonzero(hit & ~point)
    order = polygon[np.argsort(key[polygon], kind="stable")]
    keys, first, count = np.unique(key[order], return_index=True, return_counts=True)
    whole = np.maximum.reduceat(share[order], first) >= 1.0 if len(first) else np.zeros(0, dtype=bool)
    several = (count > 1) & ~whole  # a unit wholly inside one zone is wholly inside their union
    within = np.where(whole, 1.0, share[order[first]])
    area = table["area"].to_numpy(dtype=float)[keys[several] % len(table)]
    within[several] = np.minimum([shapely.area(shapely.union_all(pieces[order[f:f + n]])) for f, n in
                                  zip(first[several], count[several], strict=True)] / area, 1.0)
    flat[keys] = within
    return result


def _by_circle(rings: gpd.GeoDataFrame, table: pd.DataFrame, holds: pd.DataFrame) -> pd.DataFrame:
    """Households and population of each circle per community (polygons by their share inside)."""
    inside = table.iloc[holds["unit"].to_numpy()].assign(circle=holds["circle"].to_numpy())
    share = holds["share"].to_numpy()
    inside = inside.assign(households=inside["households"].to_numpy() * share,
                           population=inside["population"].to_numpy() * share)
    summed = inside.groupby(["circle", "community_code"], as_index=False).agg(
        units=("unit_id", "size"), households=("households", "sum"), population=("population", "sum"))
    summed = summed.astype({"circle": np.int64, "units": np.int64, "households": float, "population": float})
    totals = table.groupby("community_code")["households"].sum()
    summed["share_households"] = (summed["households"]
                                  / summed["community_code"].map(totals).astype(float).replace(0, np.nan))
    keys = rings[[c for c in ("centre_id", "name", "minutes") if c in rings.columns]]
    summed = keys.iloc[summed["circle"]].reset_index(drop=True).join(summed.drop(columns="circle"))
    return summed.sort_values([*keys.columns[:1], "minutes", "community_code"], kind="stable",
                              ignore_index=True)


def _by_community(rings: gpd.GeoDataFrame, table: pd.DataFrame, levels: np.ndarray, inside: np.ndarray,
                  communities: gpd.GeoDataFrame | None, metric: pyproj.CRS) -> pd.DataFrame:
    """Per community and minutes, all centres together: counts inside any circle and shares."""
    totals = table.groupby("community_code").agg(units=("unit_id", "size"), households=("households", "sum"),
                                                 population=("population", "sum"))
    parts = []
    for m, share in zip(levels, inside, strict=True):
        reached = table.assign(units=(share > 0).astype(np.int64), households=table["households"] * share,
                               population=table["population"] * share)
        inside_m = reached.groupby("community_code").agg(
            units_in=("units", "sum"), households_in=("households", "sum"),
            population_in=("population", "sum"))
        parts.append(totals.join(inside_m).fillna(0).assign(minutes=m))
    result = pd.concat(parts).rename_axis("community_code").reset_index()
    result["units_in"] = result["units_in"].astype(np.int64)
    for count in ("households", "population"):
        result[f"{count}_in"] = result[f"{count}_in"].astype("float64")
    result["share_households"] = result["households_in"] / result["households"].replace(0, np.nan)
    result["share_population"] = result["population_in"] / result["population"].replace(0, np.nan)
    result["share_area"] = np.nan
    result = result[["community_code", "minutes", "units", "households", "population", "units_in",
                     "households_in", "population_in", "share_households", "share_population", "share_area"]]
    if communities is not None:
        return _with_areas(result, rings, communities, metric)
    result["label"] = _community_labels(result["community_code"], result)
    return result


def _with_areas(result: pd.DataFrame, rings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame,
                metric: pyproj.CRS) -> gpd.GeoDataFrame:
    """Add each community's share of area inside the circles, its name and polygon (a map layer)."""
    admin = checked(communities, "communities", "admin")[0]
    admin = admin.assign(code=admin["code"].astype("string")).drop_duplicates("code")
    shapes = admin.set_index("code").geometry
    metric_shapes = gpd.GeoSeries(shapes.to_crs(metric))
    for m in result["minutes"].unique():
        union = shapely.union_all(np.asarray(rings.geometry[rings["minutes"] == m].values, dtype=object))
        share = (shapely.area(shapely.intersection(metric_shapes.values, union))
                 / metric_shapes.area.to_numpy())
        rows = result["minutes"] == m
        result.loc[rows, "share_area"] = result.loc[rows, "community_code"].map(
            pd.Series(share, index=metric_shapes.index)).to_numpy()
    names = admin.set_index("code")["name"] if "name" in admin.columns else pd.Series(dtype="string")
    result.insert(1, "name", result["community_code"].map(names))
    result["label"] = _community_labels(result["name"].fillna(result["community_code"]), result)
    geometry = result["community_code"].map(shapes)
    return gpd.GeoDataFrame(result, geometry=gpd.GeoSeries(geometry.to_numpy(), crs=communities.crs),
                            crs=communities.crs)


def _community_labels(names: pd.Series, result: pd.DataFrame) -> list[str]:
    """``民主社区 15分钟步行圈覆盖 82% 的户``."""
    return [f"{name or '未知社区'} {m:g}分钟步行圈覆盖{share:.0%}的户" if pd.notna(share)
            else f"{name or '未知社区'} {m:g}分钟步行圈：无户数" for name, m, share in
            zip(names, result["minutes"], result["share_households"], strict=True)]


def _outside(zones: np.ndarray, table: pd.DataFrame, outside: np.ndarray, report: Report,
             crs: object) -> gpd.GeoDataFrame:
    """List the compounds and villages no part of which is inside a circle, with their distance to one."""
    chosen = table[outside]
    distance = np.full(len(chosen), np.nan)  # to the nearest circle: the distance to their union
    found, nearest = shapely.STRtree(zones).query_nearest(chosen["metric_shape"].to_numpy(),
                                                          return_distance=True, all_matches=False)
    distance[found[0]] = nearest
    columns = ["unit_id", "name", "kind", "community_code", "households", "population"]
    layer = gpd.GeoDataFrame({**{c: chosen[c].to_numpy() for c in columns}, "distance_m": distance},
                             geometry=chosen["shape"].to_numpy(), crs=crs)
    layer["label"] = [f"{name}：不在任何步行圈内（距最近的圈约{d:,.0f}米）"
                      for name, d in zip(layer["name"].fillna(layer["unit_id"]), distance, strict=True)]
    report.add_many("outside_circles", "{unit_id} ({households:.0f} households) lies {distance_m:,.0f} m "
                    "outside every walking circle", records=layer["unit_id"].to_numpy(), severity="warning",
                    unit_id=layer["unit_id"].to_numpy(), households=layer["households"].to_numpy(),
                    distance_m=distance, community_code=layer["community_code"].to_numpy())
    return layer


def _report_straight(circles: gpd.GeoDataFrame, report: Report) -> None:
    """One finding per centre whose circles are straight-line discs."""
    if "method" not in circles.columns:
        return
    straight = circles.loc[circles["method"] == "straight_line", "centre_id"].drop_duplicates()
    report.add_many("straight_line", "the circles of centre {centre_id} are straight-line discs: "
                    + STRAIGHT_LINE_CAVEAT, records=straight.to_numpy(), severity="warning",
                    fix="give the road and footpath network", centre_id=straight.to_numpy())

