"""Where the point units of one community stand for the division: shared spots spread, boundaries cleared.

Geocoders put many compounds on one coordinate (a road or village centroid), and points land on or
millimetres from community boundaries. Divided as they are, such points make giant grids (identical points
cannot be separated), slivers (points a few metres apart) and units that lie a hair's breadth from their
grid's edge, so that a checker or a case locator finds them in the neighbour. So, before division:

* **shared spots** — point units within ``coincident_m`` of each other (chained: a group of points each
  within reach of another) share a location. Their positions are low-confidence: they are reported
  (``units_shared_spot``, with the count per spot) and spread on a sunflower spiral around the spot,
  :data:`SPREAD_SPACING_M` apart, in the order of their ids, keeping inside the community (at least half a
  spacing from its boundary where it is wide enough, else at least :data:`CLEARANCE_M`) and away from unit
  polygons (half a spacing) and other points (two spacings);
* **outside** — a unit with no land in its community (a point at least :data:`CLEARANCE_M` outside it, a
  polygon without area inside it: a building of a compound split along its buildings stands beyond the
  compound's community, whose division it follows) stands at the nearest place that far inside the
  community, as a point (``unit_beyond_boundary``, warning). Divided where it lies, it would get no land of
  that community: its grid would be empty;
* **boundaries** — a point closer than :data:`CLEARANCE_M` (plus a margin) to its community's boundary is
  moved straight inward to that distance (``unit_near_boundary``, info).

Moved units get ``position="approximate"``; the grids that hold them are flagged the same way.
Geometry is metric.

Examples
--------
>>> import numpy as np
>>> from shapely import Point, box
>>> from gridmap import Report
>>> units = np.array([Point(50, 50)] * 3 + [Point(100, 20)], dtype=object)
>>> placed = place_points(units, box(0, 0, 100, 100), np.array(["a", "b", "c", "d"]), coincident_m=5,
...                       report=Report("example"))
>>> placed.moved.tolist()
[True, True, True, True]
>>> [round(p.distance(Point(50, 50)), 1) for p in placed.geoms[:3]], round(placed.geoms[3].x, 1)
([5.5, 9.5, 12.3], 99.4)
"""

from __future__ import annotations

from typing import NamedTuple, cast

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.division.tessellate import clip_units
from gridmap.findings import Report
from gridmap.schema import join_ids

__all__ = ["place_points", "points_to_place", "Placement", "CLEARANCE_M", "SPREAD_SPACING_M"]

#: Least distance (m) from a unit point to the edge of its grid: build, check and case location agree.
CLEARANCE_M = 0.5
#: Distance (m) between the units spread around a shared spot: their grids are at least 10 m wide.
SPREAD_SPACING_M = 12.0
#: A point is moved to this far inside its community (a margin over the clearance for rounding and
#: the reprojection to degrees).
_INSET_M = CLEARANCE_M + 0.1
#: Sunflower spiral: radius ``c * sqrt(k + 0.5)`` at angle ``k`` times the golden angle has neighbours at
#: least ``1.546 c`` apart.
_GOLDEN_ANGLE = np.pi * (3 - np.sqrt(5))
_SPIRAL_MIN_GAP = 1.546
#: Spiral positions tried per unit of a spot (at least :data:`_MIN_TRIES`, out to about 150 m) before the
#: spacing is halved.
_TRIES_PER_UNIT = 40
_MIN_TRIES = 400


class Placement(NamedTuple):
    """Positions of a community's units for the division (:func:`place_points`)."""

    geoms: np.ndarray  # the units, moved points replaced
    moved: np.ndarray  # bool: the unit's point was moved (position "approximate")


def place_points(
    geoms: np.ndarray,
    community: BaseGeometry,
    ids: np.ndarray,
    *,
    coincident_m: float,
    report: Report,
    code: str = "",
) -> Placement:
    """Spread the point units of shared spots and move points off the community boundary.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        The community's units (points and polygons) in a metric CRS.
    community : shapely Polygon or MultiPolygon
        The community (overlaps resolved), same CRS.
    ids : numpy.ndarray of str
        Unit ids, aligned with ``geoms``; spread positions follow their order.
    coincident_m : float
        Points this close (m) share a location; 0 turns spreading off.
    report : gridmap.Report
        Receives ``units_shared_spot`` (warning, one per spot), ``unit_beyond_boundary`` (warning) and
        ``unit_near_boundary`` (info).
    code : str, optional
        The community code, for the findings.

    Returns
    -------
    Placement
        ``geoms`` with moved points (a unit outside the community becomes a point), and ``moved``.
    """
    geoms = np.array(geoms, dtype=object)
    moved = np.zeros(len(geoms), dtype=bool)
    _bring_inside(geoms, moved, community, ids, report=report, code=code)
    points = np.flatnonzero((shapely.get_type_id(geoms) == shapely.GeometryType.POINT) & ~moved)
    if not len(points):
        return Placement(geoms, moved)
    polygons = geoms[shapely.get_dimensions(geoms) == 2]
    for spot in _spots(geoms[points], ids[points], coincident_m):
        members = points[spot]
        centre = shapely.centroid(shapely.multipoints(geoms[members]))
        others = np.setdiff1d(points, members)
        spread = _spread(centre, len(members), community, polygons, geoms[others])
        geoms[members], moved[members] = spread, True
        report.add(
            "units_shared_spot",
            f"{len(members)} units of community {code} share one location (within {coincident_m:g} m): "
            f"their positions are approximate; they are spread {SPREAD_SPACING_M:g} m apart around it and "
            "their grids are marked position=approximate",
            record=f"{code}: {join_ids(ids[members])}",
            severity="warning",
            fix="geocode the units to their own addresses, or give them polygons",
            count=len(members),
            x_m=round(float(centre.x), 2),
            y_m=round(float(centre.y), 2),
        )
    near = points[~moved[points]]
    distance = shapely.distance(geoms[near], shapely.boundary(community))
    close = near[distance < _INSET_M]
    if len(close):
        geoms[close] = _inward(geoms[close], community)
        moved[close] = True
        for unit, gap in zip(ids[close], distance[distance < _INSET_M], strict=True):
            report.add(
                "unit_near_boundary",
                f"unit {unit} lies {gap:.3f} m from the boundary of community {code}; it is moved "
                f"{_INSET_M - gap:.2f} m inward so that it lies clearly inside its grid",
                record=unit,
                severity="info",
                distance_m=round(float(gap), 4),
            )
    return Placement(geoms, moved)


def _bring_inside(geoms: np.ndarray, moved: np.ndarray, community: BaseGeometry, ids: np.ndarray, *,
                  report: Report, code: str) -> None:
    """Put each unit without land in the community at the nearest point inside it (in place)."""
    beyond = _beyond(geoms, community)
    if not beyond.any():
        return
    distance = shapely.distance(geoms[beyond], community)
    geoms[beyond], moved[beyond] = _inward(geoms[beyond], community), True
    for unit, gap in zip(ids[beyond], distance, strict=True):
        report.add(
            "unit_beyond_boundary",
            f"unit {unit} has no land in community {code}, to which it belongs (it lies {gap:.1f} m outside "
            "it; a building belongs to its compound's community): for the division it stands at the nearest "
            f"point {_INSET_M:g} m inside, and its position is approximate",
            record=unit,
            severity="warning",
            fix="check the unit's location, or the compound its parent_unit names",
            distance_m=round(float(gap), 2),
        )


def _beyond(geoms: np.ndarray, community: BaseGeometry) -> np.ndarray:
    """Whether each unit has no land in the community: a point the clearance outside, a polygon without area.

    A polygon's area inside is measured as the division clips it (:func:`~gridmap.division.tessellate.
    clip_units`), so a polygon that clips to nothing is found here.
    """
    beyond = np.zeros(len(geoms), dtype=bool)
    points = shapely.get_dimensions(geoms) == 0
    if points.any():
        beyond[points] = shapely.distance(geoms[points], community) >= CLEARANCE_M
    polygons = np.flatnonzero(shapely.get_dimensions(geoms) == 2)
    if len(polygons):
        beyond[polygons] = shapely.area(clip_units(geoms[polygons], community)) == 0
    return beyond


def points_to_place(geoms: np.ndarray, where: np.ndarray, areas: np.ndarray, *, coincident_m: float,
                    clipped: np.ndarray | None = None) -> np.ndarray:
    """Whether :func:`place_points` would move a unit of each area, for many areas at once.

    True for an area with two point units within ``coincident_m`` of each other, a point unit closer to its
    boundary than the clearance (plus margin) or outside it, or a polygon unit without area in it;
    :func:`place_points` changes nothing in the others. ``clipped`` is ``clip_units(geoms, areas[where])``
    when the caller has it.

    Examples
    --------
    >>> from shapely import Point, box
    >>> points_to_place(np.array([Point(50, 50), Point(52, 50), Point(150, 50), Point(190, 50)]),
    ...                 np.array([0, 0, 1, 1]), np.array([box(0, 0, 100, 100), box(100, 0, 200, 100)]),
    ...                 coincident_m=5).tolist()
    [True, False]
    >>> points_to_place(np.array([box(120, 0, 130, 10), Point(150, 50)]), np.array([0, 1]),
    ...                 np.array([box(0, 0, 100, 100), box(100, 0, 200, 100)]), coincident_m=5).tolist()
    [True, False]
    """
    flagged = np.zeros(len(areas), dtype=bool)
    polygons = np.flatnonzero(shapely.get_dimensions(geoms) == 2)
    if len(polygons):
        inside = (clip_units(geoms[polygons], areas[where[polygons]]) if clipped is None
                  else np.asarray(clipped)[polygons])
        landless = shapely.area(inside) == 0
        flagged[where[polygons[landless]]] = True
    points = np.flatnonzero(shapely.get_type_id(geoms) == shapely.GeometryType.POINT)
    if not len(points):
        return flagged
    if coincident_m > 0:
        left, right = shapely.STRtree(geoms[points]).query(geoms[points], predicate="dwithin",
                                                           distance=coincident_m)
        same = (left < right) & (where[points[left]] == where[points[right]])
        flagged[where[points[left[same]]]] = True
    used = np.unique(where[points])
    boundaries = np.full(len(areas), None, dtype=object)
    boundaries[used] = shapely.boundary(areas[used])
    near = shapely.distance(geoms[points], boundaries[where[points]]) < _INSET_M
    near |= ~shapely.intersects(areas[where[points]], geoms[points])
    flagged[where[points[near]]] = True
    return flagged


def _spots(points: np.ndarray, ids: np.ndarray, reach: float) -> list[np.ndarray]:
    """Return the groups (positions, id order) of two or more points chained within ``reach``."""
    if reach <= 0 or len(points) < 2:
        return []
    left, right = shapely.STRtree(points).query(points, predicate="dwithin", distance=reach)
    keep = left < right
    if not keep.any():
        return []
    from scipy.sparse import coo_matrix  # scipy loads only when points share a spot
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(keep.sum()), (left[keep], right[keep])), shape=(len(points), len(points)))
    _, label = connected_components(graph, directed=False)
    sizes = np.bincount(label)
    groups = [np.flatnonzero(label == g) for g in np.flatnonzero(sizes > 1)]
    groups = [group[np.argsort(ids[group].astype(str), kind="stable")] for group in groups]
    return sorted(groups, key=lambda group: str(ids[group[0]]))


def _spread(centre, n: int, community: BaseGeometry, polygons: np.ndarray, others: np.ndarray) -> np.ndarray:
    """``n`` points on a sunflower spiral around ``centre``, inside the community and clear of other units.

    The spacing is halved until ``n`` positions fit (a small or narrow community); the last resort repeats
    the positions found (those units then share a grid).
    """
    spacing = SPREAD_SPACING_M
    inner = _inner(community, SPREAD_SPACING_M / 2)
    while True:
        found = _spiral_fit(centre, n, spacing, inner, polygons, others)
        if len(found) == n or spacing < 4 * CLEARANCE_M:
            break
        spacing /= 2
        inner = _inner(community, max(spacing / 2, _INSET_M))
    if not len(found):
        return np.array([_inward(np.array([centre], dtype=object), community)[0]] * n, dtype=object)
    return np.array([found[k % len(found)] for k in range(n)], dtype=object)


def _inner(community: BaseGeometry, inset: float) -> BaseGeometry:
    """Return the community shrunk by ``inset`` (by the clearance margin when it would vanish)."""
    inner = shapely.buffer(community, -inset)
    return inner if not inner.is_empty else shapely.buffer(community, -_INSET_M)


def _spiral_fit(centre, n: int, spacing: float, inner, polygons: np.ndarray, others: np.ndarray) -> list:
    """Return the first ``n`` spiral positions inside ``inner``, clear of polygons and points.

    Half a spacing from unit polygons, two spacings from other points: a point may stand half a metre from
    the community boundary, and its grid is only 10 m wide when its neighbours are about 20 m away.
    """
    k = np.arange(max(_TRIES_PER_UNIT * n, _MIN_TRIES))
    radius = spacing / _SPIRAL_MIN_GAP * np.sqrt(k + 0.5)
    candidates = shapely.points(centre.x + radius * np.cos(k * _GOLDEN_ANGLE),
                                centre.y + radius * np.sin(k * _GOLDEN_ANGLE))
    ok = shapely.contains_properly(inner, candidates) if not inner.is_empty else np.zeros(len(k), bool)
    if len(polygons):
        near, _ = shapely.STRtree(polygons).query(candidates, predicate="dwithin", distance=spacing / 2)
        ok[near] = False
    if len(others):
        near, _ = shapely.STRtree(others).query(candidates, predicate="dwithin", distance=2 * spacing)
        ok[near] = False
    return list(candidates[ok][:n])


def _inward(points: np.ndarray, community: BaseGeometry) -> np.ndarray:
    """Each point moved to the nearest place at least the clearance (plus margin) inside the community."""
    inner = shapely.buffer(community, -_INSET_M)
    if inner.is_empty:  # a community narrower than twice the clearance: its most inward point
        circle = shapely.maximum_inscribed_circle(cast(shapely.Polygon | shapely.MultiPolygon, community))
        return np.array([shapely.get_point(circle, 0)] * len(points), dtype=object)
    return shapely.get_point(shapely.shortest_line(points, inner), -1)
