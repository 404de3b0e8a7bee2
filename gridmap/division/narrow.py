"""Units whose land is too narrow for a grid of its own share a grid with the neighbour next to it.

Two units a few metres apart near a community boundary (a corner, an edge) split the land between them
along their bisector, and the land of one can be a strip a few metres wide: a grid narrower than
:data:`MIN_WIDTH_M` that no one can patrol or draw. Such land (no disc of :data:`MIN_WIDTH_M` fits in it,
although one fits in the part of the community it lies in) is linked to the neighbouring land it shares
the longest edge with, so that the grouping puts both units in one grid. A link never takes a grid beyond
the household ceiling or the population cap: land that has no such neighbour stays narrow and is reported
(``grid_narrow``, a warning). Geometry is metric.

Examples
--------
>>> import numpy as np
>>> from shapely import box
>>> from gridmap import Report
>>> regions = np.array([box(0, 0, 4, 100), box(4, 0, 100, 100)], dtype=object)
>>> narrow_links(regions, box(0, 0, 100, 100), np.array(["a", "b"]), np.array([100.0, 100.0]),
...              np.array([200.0, 200.0]), np.zeros((0, 2), dtype=np.int64), high=500, max_population=2500,
...              report=Report("example")).tolist()
[[0, 1]]
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.division.tessellate import dissolve
from gridmap.findings import Report
from gridmap.schema import join_ids

__all__ = ["narrow_links", "thin_land", "inscribed_radius", "MIN_WIDTH_M"]

#: Least width (m) of a grid: a disc this wide fits in it (its inner buffer by half the width is not empty).
MIN_WIDTH_M = 10.0
#: Area (m²) of a narrow piece of land that must lie in the wide part of the community for it to count.
_WIDE_AREA_M2 = 0.5
#: How far (m) below the true radius :func:`inscribed_radius` may come out.
_RADIUS_TOLERANCE_M = 0.001

_EMPTY = shapely.Polygon()


def narrow_links(
    regions: np.ndarray,
    community: BaseGeometry,
    ids: np.ndarray,
    households: np.ndarray,
    population: np.ndarray,
    links: np.ndarray,
    *,
    high: float,
    max_population: float,
    report: Report,
    zones: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
    code: str = "",
) -> np.ndarray:
    """Return (member, head) links that join each too-narrow piece of land to a neighbour.

    Parameters
    ----------
    regions : numpy.ndarray of shapely geometries
        The land of each unit (a coverage of the community), metric.
    community : shapely Polygon or MultiPolygon
        The community, same CRS.
    ids, households, population : numpy.ndarray
        Per unit: id, households and people.
    links : numpy.ndarray of int, shape (n, 2)
        The (member, head) links already made: linked units form one piece of land.
    high, max_population : float
        A link keeps the households and people of the linked units within these.
    report : gridmap.Report
        Receives ``land_narrow`` (info) for each link and ``grid_narrow`` (warning) for narrow land that no
        neighbour can take.
    zones : numpy.ndarray of int, optional
        The block of each unit: links stay within a block.
    fixed : numpy.ndarray of bool, optional
        Units never linked (dedicated sites: a grid by themselves).
    code : str, optional
        The community code, for the findings.

    Returns
    -------
    numpy.ndarray of int, shape (m, 2)
        The new links.
    """
    n = len(regions)
    fixed = np.zeros(n, dtype=bool) if fixed is None else fixed
    label = _clusters(n, links.reshape(-1, 2))
    land = regions.copy() if not len(links) else dissolve(regions, label, label.max() + 1 if n else 0)
    thin = thin_land(land)
    if not thin.any():  # most communities: every piece of land is wide
        return np.empty((0, 2), dtype=np.int64)
    parts = shapely.get_parts(community)
    wide = shapely.union_all(parts[~shapely.is_empty(shapely.buffer(parts, -MIN_WIDTH_M / 2))])
    thin[thin] = _in_wide_part(land[thin], wide)
    pending = sorted(np.flatnonzero(thin).tolist(), key=lambda c: str(min(ids[label == c])))
    new = []
    while pending:
        cluster = pending.pop(0)
        members = np.flatnonzero(label == cluster)
        joinable = ~fixed & (_totals(households, label, cluster) <= high) & (
            _totals(population, label, cluster) <= max_population)
        if zones is not None:  # links stay within a block
            joinable &= zones == zones[members[0]]
        target = _neighbour(land[cluster], regions, ids, label, cluster, joinable)
        if target is None or fixed[members].any():
            nearest = _neighbour(land[cluster], regions, ids, label, cluster, np.ones(n, dtype=bool))
            why = _why_alone(members, nearest, ids, fixed, zones, _totals(households, label, cluster),
                             _totals(population, label, cluster), high, max_population)
            _report(report, ids[members], code, why=why)
            continue
        _report(report, ids[members], code, joined=ids[target])
        new.append((members[0], target))
        other = label[target]
        label[label == other] = cluster
        land[cluster], land[other] = shapely.coverage_union_all([land[cluster], land[other]]), _EMPTY
        if other in pending:
            pending.remove(other)
        if _narrow(land[cluster:cluster + 1], wide)[0]:
            pending.insert(0, cluster)
    return np.array(new, dtype=np.int64).reshape(-1, 2)


def _why_alone(members: np.ndarray, nearest: int | None, ids: np.ndarray, fixed: np.ndarray,
               zones: np.ndarray | None, households: np.ndarray, population: np.ndarray, high: float,
               max_population: float) -> dict:
    """Return why narrow land stays a grid of its own: a reason code, a sentence and the figures.

    The reason is the rule that forbids joining the neighbour the land shares the longest edge with
    (``nearest``): the household ceiling, the population cap, a dedicated site or a block edge.
    """
    why: dict = {"neighbour": None if nearest is None else ids[nearest], "households_joined": None,
                 "population_joined": None}
    if fixed[members].any():
        site = ids[members[fixed[members]][0]]
        return {**why, "reason": "dedicated_site",
                "text": f"unit {site} is a dedicated site or part of a split compound, a grid of its own"}
    if nearest is None:
        return {**why, "reason": "no_neighbour", "text": "no other unit's land shares an edge with it"}
    joined = {"households_joined": int(np.nan_to_num(households[nearest])),
              "population_joined": int(np.nan_to_num(population[nearest]))}
    unit = f"unit {ids[nearest]}, whose land shares the longest edge with it,"
    if zones is not None and zones[nearest] != zones[members[0]]:
        return {**why, **joined, "reason": "block_edge",
                "text": f"{unit} lies across a street, river or railway (another block)"}
    if fixed[nearest]:
        return {**why, **joined, "reason": "dedicated_site",
                "text": f"{unit} is a dedicated site or part of a split compound, a grid of its own"}
    if joined["households_joined"] > high:
        return {**why, **joined, "reason": "household_ceiling",
                "text": f"joining {unit} would make {joined['households_joined']} households, above the "
                        f"ceiling of {high:g}"}
    return {**why, **joined, "reason": "population_cap",
            "text": f"joining {unit} would make {joined['population_joined']} people, above the cap of "
                    f"{max_population:g}"}


def _report(report: Report, ids: np.ndarray, code: str, joined: str | None = None,
            why: dict | None = None) -> None:
    """Report narrow land: joined to unit ``joined``'s grid (info), or left a narrow grid (warning).

    A narrow grid is an exception to the width rule, made because of ``why`` (:func:`_why_alone`), which
    the finding names.
    """
    land = f"the land of unit(s) {join_ids(ids)} of community {code} is narrower than {MIN_WIDTH_M:g} m"
    if joined is not None:
        report.add("land_narrow", f"{land}: they share a grid with unit {joined}, whose land is next to it",
                   record=f"{code}: {join_ids(ids)}", severity="info", joined=joined)
        return
    why = why or {"reason": "no_neighbour", "text": "no other unit's land shares an edge with it"}
    report.add(
        "grid_narrow",
        f"{land}, but no neighbouring grid can take it: {why['text']}; its grid stays narrow (an exception "
        f"to the {MIN_WIDTH_M:g} m rule)",
        record=f"{code}: {join_ids(ids)}",
        severity="warning",
        fix="check the units' locations (points a few metres apart near the community boundary)"
            + ("; or raise the household ceiling (GridRules.city_households)"
               if why["reason"] == "household_ceiling" else ""),
        **{key: value for key, value in why.items() if key != "text"},
    )


def _clusters(n: int, links: np.ndarray) -> np.ndarray:
    """Cluster label of each unit, linked units together."""
    if not len(links):
        return np.arange(n)
    from scipy.sparse import coo_matrix  # scipy loads only when land is narrow: `import gridmap` stays light
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(links)), (links[:, 0], links[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _narrow(land: np.ndarray, wide: BaseGeometry) -> np.ndarray:
    """Whether each piece of land is narrower than the least width where the community is wider."""
    thin = thin_land(land)
    thin[thin] = _in_wide_part(land[thin], wide)
    return thin


def thin_land(land: np.ndarray) -> np.ndarray:
    """Whether each piece of land is narrower than :data:`MIN_WIDTH_M` (no disc that wide fits in it).

    :func:`narrow_links` links nothing where no unit's land, nor linked units' land, is thin.

    Examples
    --------
    >>> from shapely import box
    >>> thin_land(np.array([box(0, 0, 4, 100), box(4, 0, 100, 100)], dtype=object)).tolist()
    [True, False]
    """
    thin = ~shapely.is_empty(land)
    # a point of the land half the width from its edge proves it wide (most land, and cheaper than a buffer)
    inner = shapely.point_on_surface(land[thin])
    thin[thin] = shapely.distance(inner, shapely.boundary(land[thin])) < MIN_WIDTH_M / 2
    thin[thin] = inscribed_radius(land[thin]) < MIN_WIDTH_M / 2
    return thin


def inscribed_radius(land: np.ndarray) -> np.ndarray:
    """Return the radius (m) of the largest disc that fits in each piece of land, to a millimetre below.

    Not ``buffer(-r).is_empty``: GEOS's inward buffer comes out empty for some valid polygons that hold a
    disc well wider than ``r`` (libgeos/geos#984; a 13 m wide grid here measured narrower than 10 m).

    Examples
    --------
    >>> from shapely import box
    >>> inscribed_radius(np.array([box(0, 0, 4, 100), box(0, 0, 20, 30)], dtype=object)).round(2).tolist()
    [2.0, 10.0]
    """
    return shapely.length(shapely.maximum_inscribed_circle(land, _RADIUS_TOLERANCE_M))


def _in_wide_part(land: np.ndarray, wide: BaseGeometry) -> np.ndarray:
    """Whether each piece of land lies (by more than a trace) in the part of the community that is wide."""
    return shapely.area(shapely.intersection(land, wide)) >= _WIDE_AREA_M2


def _totals(values: np.ndarray, label: np.ndarray, cluster: int) -> np.ndarray:
    """Per unit, the sum of ``values`` over its cluster and ``cluster`` together (unknown values count 0)."""
    sums = np.bincount(label, weights=np.nan_to_num(values))
    return sums[label] + sums[cluster]


def _neighbour(land: BaseGeometry, regions: np.ndarray, ids: np.ndarray, label: np.ndarray, cluster: int,
               joinable: np.ndarray) -> int | None:
    """Return the joinable unit of another cluster whose land shares the longest edge with ``land``."""
    near = shapely.STRtree(regions).query(land, predicate="intersects")
    near = near[joinable[near] & (label[near] != cluster)]
    if not len(near):
        return None
    shared = np.round(shapely.length(shapely.intersection(shapely.boundary(land), regions[near])), 6)
    if shared.max() <= 0:
        return None
    return int(near[np.lexsort((ids[near].astype(str), -shared))[0]])  # the longest edge, then the first id
