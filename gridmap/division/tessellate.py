"""Grid geometry that tiles a community exactly: every square metre to exactly one unit, then one grid.

All functions work on shapely geometries in a **metric** CRS (metres). Each community is divided on its own;
:func:`share_land` and :func:`adjacent_pairs_each` do so for many communities (or blocks, or grids) at
once, one vectorised call per step instead of a dozen per community.

How the land is shared out (:func:`unit_regions`):

1. seeds — points sampled every ``spacing`` metres along the boundary of each unit polygon (clipped to the
   community), and the unit points themselves;
2. the edges of the Voronoi diagram of the seeds that separate seeds of different units, so the land
   between units (roads, green, water) goes to the nearest unit; they are read from the Delaunay
   triangulation of the seeds (GEOS's, all areas in one call) and are the edges
   ``shapely.voronoi_polygons(seeds, extend_to=community)`` gives, coordinate for coordinate;
3. those edges, the unit polygons' boundaries and the community boundary are noded together with
   snap-rounding to ``grid_size`` (0.1 mm) and polygonised into faces; a face inside a unit polygon belongs to
   that unit (the smaller polygon where two overlap), any other face to the unit of the nearest seed;
   faces outside the community are dropped.

Because every face comes from one noded linework, neighbouring regions share their edges vertex for vertex:
the regions, and grids dissolved from them (:func:`dissolve`), form a valid coverage
(``shapely.coverage_is_valid``) whose union is the community. A momepy-style tessellation was not used: it
fails or runs out of memory on some inputs (momepy#123, #297), and a nearest-unit split clipped to the
community is exact and cheap (a few milliseconds per community).

Examples
--------
>>> from shapely import Point, box
>>> community = box(0, 0, 100, 50)
>>> regions = unit_regions([Point(25, 25), box(60, 10, 90, 40)], community)
>>> [round(r.area, -2) for r in regions], round(sum(r.area for r in regions), 6)   # nearest land: ~1986 m²
([2000.0, 3000.0], 5000.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike
from shapely.errors import GEOSException
from shapely.geometry.base import BaseGeometry

__all__ = [
    "unit_regions",
    "clip_units",
    "region_adjacency",
    "adjacent_pairs",
    "adjacent_pairs_each",
    "share_land",
    "dissolve",
    "connect_parts",
    "SAMPLE_SPACING_M",
    "MAX_SEEDS_PER_UNIT",
    "GRID_SIZE_M",
]

#: Distance between seeds sampled along unit boundaries (m).
SAMPLE_SPACING_M = 20.0
#: Most seeds sampled along one unit's boundary (large units get a coarser spacing).
MAX_SEEDS_PER_UNIT = 48
#: Precision grid of all output coordinates (m): neighbours share edges exactly.
GRID_SIZE_M = 0.0001

_EMPTY = shapely.Polygon()


def unit_regions(
    units: ArrayLike,
    community: BaseGeometry,
    *,
    split: dict[int, list[int]] | None = None,
    clipped: np.ndarray | None = None,
    spacing: float = SAMPLE_SPACING_M,
    grid_size: float = GRID_SIZE_M,
) -> np.ndarray:
    """Share a community's land among its units: one region per unit, together tiling the community.

    Parameters
    ----------
    units : sequence of shapely geometries
        Unit points or polygons in a metric CRS, in a fixed order (it breaks ties).
    community : shapely Polygon or MultiPolygon
        The community, in the same CRS.
    split : dict, optional
        ``{container: [members]}`` (positions in ``units``): the land a container unit would get (a
        compound split along its buildings) is shared among its members instead, each part going to the
        nearest member; the container itself gets none.
    clipped : sequence of shapely geometries, optional
        ``clip_units(units, community)`` when the caller has it already.
    spacing : float, default 20
        Distance between the seeds sampled along unit boundaries (m).
    grid_size : float, default 0.0001
        Precision of the output coordinates (m).

    Returns
    -------
    numpy.ndarray of shapely geometries
        The land of each unit (its own polygon plus the nearest surrounding land), an empty polygon for a
        unit that got none (a point at the same place as an earlier unit, a polygon covered by smaller ones).

    See Also
    --------
    share_land : the same for many communities at once.
    """
    units = np.asarray(units, dtype=object)
    return share_land(units, np.zeros(len(units), dtype=np.int64), np.array([community], dtype=object),
                      splits=[split] if split else None, clipped=clipped, spacing=spacing,
                      grid_size=grid_size)


def share_land(
    units: ArrayLike,
    where: ArrayLike,
    areas: ArrayLike,
    *,
    splits: Sequence[dict[int, list[int]]] | None = None,
    clipped: np.ndarray | None = None,
    spacing: float = SAMPLE_SPACING_M,
    grid_size: float = GRID_SIZE_M,
) -> np.ndarray:
    """Return :func:`unit_regions` of many areas (communities, blocks, grids) at once, each on its own.

    The regions are those :func:`unit_regions` gives area by area; each step is one vectorised call over
    all areas instead of one call per area, which costs more than the geometry when areas are small.

    Parameters
    ----------
    units : sequence of shapely geometries
        Unit points or polygons of every area, metric; the order of an area's units breaks ties.
    where : sequence of int
        The area of each unit (a position in ``areas``).
    areas : sequence of shapely Polygons or MultiPolygons
        The areas, in the same CRS; areas without units are ignored.
    splits : sequence of dict, optional
        ``{container: [members]}`` with positions in ``units`` (see ``split`` of :func:`unit_regions`),
        any number of them, each within one area.
    clipped : sequence of shapely geometries, optional
        ``clip_units(units, areas[where])`` when the caller has it already.
    spacing, grid_size : float
        As for :func:`unit_regions`.

    Returns
    -------
    numpy.ndarray of shapely geometries
        The land of each unit; the regions of an area's units tile the area.

    Examples
    --------
    >>> from shapely import Point, box
    >>> regions = share_land([Point(1, 1), Point(3, 1), Point(11, 1)], [0, 0, 1],
    ...                      [box(0, 0, 4, 2), box(10, 0, 12, 2)])
    >>> [tuple(round(v) for v in r.bounds) for r in regions]
    [(0, 0, 2, 2), (2, 0, 4, 2), (10, 0, 12, 2)]
    """
    units = np.asarray(units, dtype=object)
    where = np.asarray(where, dtype=np.int64)
    areas = np.asarray(areas, dtype=object)
    regions = np.full(len(units), _EMPTY, dtype=object)
    if not len(units):
        return regions
    clipped = clip_units(units, areas[where], grid_size=grid_size) if clipped is None else np.asarray(clipped)
    seeds, owners = _seeds(units, clipped, areas[where], where, spacing=spacing, grid_size=grid_size)
    split = [(container, members) for each in splits or [] for container, members in each.items()]
    seed_points = cast(np.ndarray, shapely.points(seeds)) if split else np.empty(0, dtype=object)
    of_area = _Sorted(where[owners])  # the seeds of each area (a split moves a seed within its area)
    for container, members in split:  # the seeds of a split container go to its members
        mine = of_area.of(where[[container]])
        owners[mine] = _hand_over(seed_points[mine], owners[mine], container, members)
    wholes = np.full(len(areas), None, dtype=object)
    used = np.unique(where)
    wholes[used] = _on_grid(areas[used], grid_size)
    divided = _divided_areas(where[owners], owners, where, wholes, regions)
    if not len(divided):
        return regions
    seed_area, of_units = where[owners], _Sorted(where)
    for batch in _batches(divided, np.bincount(seed_area, minlength=len(areas))[divided]):
        at, mine = of_area.of(batch), np.sort(of_units.of(batch))
        edges, edge_area = _dividing_edges(seeds[at], owners[at], seed_area[at], areas)
        faces, face_area = _faces(edges, edge_area, clipped[mine], where[mine], wholes, batch, grid_size)
        points = shapely.point_on_surface(faces)
        shapely.prepare(wholes[batch])
        inside = shapely.intersects(wholes[face_area], points)
        faces, points, face_area = faces[inside], points[inside], face_area[inside]
        labels = _label_faces(points, face_area, mine, clipped, where, seeds[at], owners[at])
        for container, members in split:  # faces inside a split unit go to its nearest member
            if where[container] in batch:
                inner, near = np.flatnonzero(labels == container), of_area.of(where[[container]])
                labels[inner] = _nearest_member(points[inner], seed_points[near], owners[near], members,
                                                container)
        regions[mine] = dissolve(faces, np.searchsorted(mine, labels), len(mine))
    return regions


class _Sorted:
    """Positions sorted by a key (stable), to find those with given keys without a pass over all of them."""

    def __init__(self, keys: np.ndarray):
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]

    def of(self, wanted: np.ndarray) -> np.ndarray:
        """Return the positions whose key is in ``wanted`` (sorted), in key order, stable within a key."""
        start, stop = np.searchsorted(self.keys, wanted[0]), np.searchsorted(self.keys, wanted[-1], "right")
        return self.order[start:stop][np.isin(self.keys[start:stop], wanted)]


#: Seeds per batch of areas in :func:`share_land`, and regions per batch in :func:`adjacent_pairs_each`:
#: the faces or segments of a batch are held at once.
_BATCH_SEEDS = 20_000
_BATCH_REGIONS = 5_000


def _batches(items: np.ndarray, sizes: np.ndarray, size: int = _BATCH_SEEDS) -> list[np.ndarray]:
    """Split the items into consecutive batches of about ``size`` in all (``sizes`` each)."""
    if not len(items):
        return []
    batch = np.cumsum(sizes) // size
    return np.split(items, np.flatnonzero(np.diff(batch)) + 1)


def _divided_areas(seed_area: np.ndarray, owners: np.ndarray, where: np.ndarray, wholes: np.ndarray,
                   regions: np.ndarray) -> np.ndarray:
    """Return the areas whose seeds belong to two units or more; give every other area whole to one unit.

    That unit is the one of the area's first seed, or the area's first unit when it has no seed.
    """
    owners_per_area = np.bincount(where[np.unique(owners)], minlength=len(wholes))
    used, first_unit = np.unique(where, return_index=True)
    seeded, first_seed = np.unique(seed_area, return_index=True)
    owner = first_unit.copy()
    has_seed = np.isin(used, seeded)
    owner[has_seed] = owners[first_seed]
    single = owners_per_area[used] < 2
    regions[owner[single]] = wholes[used[single]]
    return used[~single]


def _hand_over(seed_points: np.ndarray, owners: np.ndarray, container: int, members: list[int]) -> np.ndarray:
    """Return the owners of the seeds with each seed of a split container given to the nearest member."""
    owners = owners.copy()
    own = np.flatnonzero(owners == container)
    owners[own] = _nearest_member(seed_points[own], seed_points, owners, members, container)
    return owners


def _nearest_member(points: np.ndarray, seed_points: np.ndarray, owners: np.ndarray, members, fallback: int):
    """Return the member whose seed is nearest each point (``fallback`` when members have no seeds)."""
    candidates = np.flatnonzero(np.isin(owners, members))
    if not len(points) or not len(candidates):
        return np.full(len(points), fallback, dtype=owners.dtype)
    point, seed = shapely.STRtree(seed_points[candidates]).query_nearest(points, all_matches=False)
    found = np.full(len(points), fallback, dtype=owners.dtype)
    found[point] = owners[candidates[seed]]
    return found


def _dividing_edges(seeds: np.ndarray, owners: np.ndarray, seed_area: np.ndarray, areas: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Return the Voronoi edges between seeds of different units, each edge once, as pairs of points.

    One Voronoi diagram per area, of its seeds; returns the edges and the area of each. The diagram is
    read from the Delaunay triangulation (:func:`_triangles`): the edge between the cells of two
    neighbouring seeds joins the circumcentres of the two triangles on either side of them, or runs from
    the one triangle's circumcentre outwards beyond the area when the two seeds are on the hull (or beside
    a flat triangle). Inside the area these are the edges of ``shapely.voronoi_polygons(seeds,
    extend_to=area)``: the circumcentres are computed in extended precision, as GEOS does, so that they
    round to the same points, each edge is oriented as GEOS orients the cell of the seed of the smaller
    unit number (clockwise: that seed on its right), and the edges come in the order of those seeds. (The
    edges read off GEOS's cells cost about twice as much.)
    """
    order = np.argsort(seed_area, kind="stable")  # the seeds of each area together, in their order
    seeds, owners, seed_area = seeds[order], owners[order], seed_area[order]
    triangles, flat = _triangles(seeds, seed_area)
    centres = _circumcentres(seeds, triangles)
    one, two, third = (triangles[:, np.roll(np.arange(3), -shift)].ravel() for shift in range(3))
    triangle = np.repeat(np.arange(len(triangles)), 3)
    low, high = np.minimum(one, two), np.maximum(one, two)
    apart = owners[low] != owners[high]  # only the edges between two units
    low, high, third, triangle = low[apart], high[apart], third[apart], triangle[apart]
    order = np.lexsort((triangle, high, low))
    low, high, third, triangle = low[order], high[order], third[order], triangle[order]
    first = np.flatnonzero(_run_starts(np.column_stack([low, high])))  # one row per pair of seeds
    twice = np.r_[first[1:] - first[:-1] == 2, len(low) - first[-1:] == 2]
    start, far = centres[triangle[first]], third[first]
    end = np.full_like(start, np.nan)
    end[twice] = centres[triangle[first[twice] + 1]]
    known = np.isfinite(start).all(axis=1), np.isfinite(end).all(axis=1)
    swap = ~known[0] & known[1]  # a flat triangle on the first side: run from the second one
    start[swap], far[swap] = end[swap], third[first[swap] + 1]
    ray = known[0] != known[1]
    end[ray] = _beyond(start[ray], seeds[low[first[ray]]], seeds[high[first[ray]]], seeds[far[ray]],
                       areas[seed_area[low[first[ray]]]])
    keep = known[0] | known[1]
    segments = np.stack([start[keep], end[keep]], axis=1)
    pairs = np.column_stack([low[first[keep]], high[first[keep]]])
    bisectors, bisector_pairs = _collinear_edges(seeds, owners, flat, areas[seed_area])
    return _oriented(np.concatenate([segments, bisectors]), np.concatenate([pairs, bisector_pairs]), seeds,
                     owners, seed_area)


def _triangles(seeds: np.ndarray, seed_area: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return the Delaunay triangles of each area's seeds, and the seeds of areas without a triangle.

    Triangles are rows of 3 seed positions, their corners in the order GEOS gives them; an area whose seeds
    all lie on one line (or that has fewer than three) has none. ``seeds`` are sorted by area. GEOS
    triangulates every area in one call (``shapely.delaunay_triangles``, the triangulation under its
    ``voronoi_polygons``), about half the cost of scipy's Qhull area by area. Each area's seeds go in as
    the vertices of one line (no point objects to build) with their position as Z, which the triangles'
    corners keep: no lookup by coordinates.
    """
    _, starts = np.unique(seed_area, return_index=True)
    bounds = np.r_[starts, len(seeds)]
    sizes = np.diff(bounds)
    several = np.flatnonzero(sizes >= 3)
    take = np.repeat(sizes >= 3, sizes)
    numbered = np.column_stack([seeds[take], np.flatnonzero(take).astype(np.float64)])
    lines = shapely.from_ragged_array(shapely.GeometryType.LINESTRING, numbered,
                                      (np.r_[0, np.cumsum(sizes[several])],))
    try:
        triangulated = shapely.delaunay_triangles(lines)
    except GEOSException:  # GEOS's triangulation can fail on near-degenerate seeds
        return _qhull_triangles(seeds, bounds)
    corners = shapely.get_coordinates(triangulated, include_z=True)
    triangles = corners[:, 2].astype(np.int64).reshape(-1, 4)[:, :3]  # each ring: 3 corners and closing
    flat = np.setdiff1d(np.arange(len(starts)), several[shapely.get_num_geometries(triangulated) > 0])
    return triangles, [np.arange(bounds[g], bounds[g + 1]) for g in flat]


def _qhull_triangles(seeds: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return :func:`_triangles` from scipy's Qhull, area by area (``bounds``: where each area's seeds start).

    Slower, but where GEOS fails; Qhull may split four seeds on one circle along the other diagonal, which
    changes no edge between cells (that edge has length zero).
    """
    from scipy.spatial import Delaunay, QhullError  # scipy loads only when land is shared out

    triangles, flat = [np.empty((0, 3), dtype=np.int64)], []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        own = seeds[start:stop]
        try:
            triangles.append(start + Delaunay(own - own.min(axis=0)).simplices.astype(np.int64))
        except QhullError:  # fewer than three seeds, or all on one line
            flat.append(np.arange(start, stop))
    return np.concatenate(triangles), flat


def _circumcentres(seeds: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Circumcentre of each triangle, computed in extended precision; not finite for a flat triangle."""
    a, b, c = (seeds[triangles[:, k]].astype(np.longdouble) for k in range(3))
    ab, cb = a - b, c - b  # relative to one corner, as GEOS's Triangle::circumcentreDD
    ab2, cb2 = (ab**2).sum(axis=1), (cb**2).sum(axis=1)
    denominator = 2 * (ab[:, 0] * cb[:, 1] - ab[:, 1] * cb[:, 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (cb[:, 1] * ab2 - ab[:, 1] * cb2) / denominator
        y = (ab[:, 0] * cb2 - cb[:, 0] * ab2) / denominator
        return np.column_stack([b[:, 0] + x, b[:, 1] + y]).astype(np.float64)


def _beyond(start: np.ndarray, a: np.ndarray, b: np.ndarray, inner: np.ndarray, area: np.ndarray
            ) -> np.ndarray:
    """Return the end of the edge from ``start`` along the bisector of seeds ``a`` and ``b``, out of ``area``.

    The edge runs away from ``inner`` (the triangle's third corner), far enough to leave the area.
    """
    normal = np.column_stack([a[:, 1] - b[:, 1], b[:, 0] - a[:, 0]])
    normal *= np.where(((inner - a) * normal).sum(axis=1) > 0, -1.0, 1.0)[:, None]
    normal /= np.hypot(*normal.T)[:, None]
    x0, y0, x1, y1 = shapely.bounds(area).T
    reach = np.hypot(start[:, 0] - (x0 + x1) / 2, start[:, 1] - (y0 + y1) / 2) + np.hypot(x1 - x0, y1 - y0)
    return start + normal * reach[:, None]


def _collinear_edges(seeds: np.ndarray, owners: np.ndarray, flat: list[np.ndarray], area: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Return the Voronoi edges of the areas whose seeds all lie on one line, and their pairs of seeds.

    The edges are the bisectors of neighbouring seeds of different units, across the whole area.
    """
    pairs = [np.empty((0, 2), dtype=np.int64)]
    for group in flat:
        along = group[np.lexsort((seeds[group, 1], seeds[group, 0]))]  # in order along the line
        pairs.append(np.column_stack([along[:-1], along[1:]]))
    pair = np.concatenate(pairs)
    pair = pair[owners[pair[:, 0]] != owners[pair[:, 1]]]
    a, b = seeds[pair[:, 0]], seeds[pair[:, 1]]
    middle = (a + b) / 2
    if not len(pair):
        return np.empty((0, 2, 2)), pair
    where = area[pair[:, 0]]
    segments = np.stack([_beyond(middle, a, b, a, where), _beyond(middle, b, a, b, where)], axis=1)
    return segments, np.sort(pair, axis=1)


def _oriented(segments: np.ndarray, pairs: np.ndarray, seeds: np.ndarray, owners: np.ndarray,
              seed_area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the edges (shape ``(n, 2, 2)``) as GEOS's clockwise cells give them, and the area of each.

    Each edge has the seed of the smaller unit number on its right, and they come in the order of that
    seed. Zero-length edges (between the equal circumcentres of four seeds on one circle) are dropped.
    """
    own = np.where(owners[pairs[:, 0]] < owners[pairs[:, 1]], pairs[:, 0], pairs[:, 1])
    start, end = segments[:, 0], segments[:, 1]
    direction = end - start
    to_seed = seeds[own] - start
    left = direction[:, 0] * to_seed[:, 1] - direction[:, 1] * to_seed[:, 0] > 0
    segments[left] = segments[left][:, ::-1]
    keep = (direction != 0).any(axis=1)
    order = np.flatnonzero(keep)[np.argsort(own[keep], kind="stable")]
    return segments[order], seed_area[own[order]]


def _nearest_seed(points: np.ndarray, point_area: np.ndarray, seeds: np.ndarray, seed_area: np.ndarray
                  ) -> np.ndarray:
    """Index of the nearest seed of the same area to each point (coordinates, ``(n, 2)``)."""
    from scipy.spatial import cKDTree  # scipy loads only when land is shared out

    found = np.asarray(cKDTree(seeds).query(points)[1], dtype=np.int64)
    other = np.flatnonzero(seed_area[found] != point_area)  # the nearest is across the area's edge
    if not len(other):
        return found
    by_area = np.argsort(seed_area, kind="stable")
    other = other[np.argsort(point_area[other], kind="stable")]
    areas, starts = np.unique(point_area[other], return_index=True)
    seed_bounds = np.searchsorted(seed_area[by_area], np.stack([areas, areas + 1]))
    for area_points, (a, b) in zip(np.split(other, starts[1:]), seed_bounds.T, strict=True):
        candidates = by_area[a:b]
        found[area_points] = candidates[cKDTree(seeds[candidates]).query(points[area_points])[1]]
    return found


def _faces(edges: np.ndarray, edge_area: np.ndarray, clipped: np.ndarray, where: np.ndarray,
           wholes: np.ndarray, divided: np.ndarray, grid_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the faces of each divided area's linework, and the area of each face.

    The linework of an area: its dividing edges (``(n, 2, 2)`` points), the rings of its unit polygons and
    its own rings, one MultiLineString per area built straight from the coordinates.
    """
    polygonal = (shapely.area(clipped) > 0) & np.isin(where, divided)
    parts, part = shapely.get_parts(np.concatenate([clipped[polygonal], wholes[divided]]), return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_coords, ring = shapely.get_coordinates(rings, return_index=True)
    coords = np.concatenate([edges.reshape(-1, 2), ring_coords])
    sizes = np.r_[np.full(len(edges), 2), np.bincount(ring, minlength=len(rings))]
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    line_area = np.r_[edge_area, np.r_[where[polygonal], divided][part[ring_part]]]
    order = np.argsort(line_area, kind="stable")  # each area's lines together: edges, units, its own rings
    sizes, starts = sizes[order], starts[order]
    take = np.repeat(starts - np.r_[0, np.cumsum(sizes)[:-1]], sizes) + np.arange(sizes.sum())
    lines_per_area = np.bincount(np.searchsorted(divided, line_area[order]), minlength=len(divided))
    linework = shapely.from_ragged_array(shapely.GeometryType.MULTILINESTRING, coords[take],
                                         (np.r_[0, np.cumsum(sizes)], np.r_[0, np.cumsum(lines_per_area)]))
    # Merged into long lines first (GEOS unions a few long lines four times faster than thousands of
    # segments), then noded with snap-rounding rather than in floating point (six times faster) so that
    # near-touching edges merge or stay at least grid_size apart: the faces then stay valid when
    # reprojected to degrees and back.
    noded = cast(np.ndarray, shapely.union_all(shapely.line_merge(linework)[:, None], grid_size=grid_size,
                                               axis=1))
    polygons = cast(np.ndarray, shapely.polygonize(noded[:, None], axis=1))  # type: ignore[call-overload]
    faces, face = shapely.get_parts(polygons, return_index=True)
    return faces, divided[face]


def clip_units(units: ArrayLike, community: BaseGeometry | ArrayLike, *,
               grid_size: float = GRID_SIZE_M) -> np.ndarray:
    """Return the part of each unit inside the community (points unchanged) on the ``grid_size`` grid.

    ``community`` is one polygon, or one per unit.
    """
    units = np.asarray(units, dtype=object)
    areas = np.broadcast_to(np.asarray(community, dtype=object), units.shape)
    clipped = units.copy()
    polygonal = shapely.get_dimensions(units) == 2
    shapely.prepare(areas)  # cached on the geometry: repeated predicates against it are fast
    inside = polygonal & shapely.contains_properly(areas, units)  # most units: no overlay needed
    if inside.any():
        clipped[inside] = _on_grid(units[inside], grid_size)
    crossing = polygonal & ~inside
    if crossing.any():
        inside = shapely.intersection(units[crossing], areas[crossing], grid_size=grid_size)
        clipped[crossing] = _polygonal_part(inside)
    return clipped


def _on_grid(polygons: np.ndarray, grid_size: float) -> np.ndarray:
    """Return the polygons with their coordinates on the ``grid_size`` grid: ``shapely.set_precision``.

    Most polygons only need their coordinates rounded: rounding point by point and normalising (shells
    clockwise, as ``set_precision`` gives them) costs a sixth of ``set_precision``, which repairs the
    topology with an overlay. Polygons that rounding leaves invalid or with repeated points get that repair.

    Examples
    --------
    >>> from shapely import box
    >>> _on_grid(np.array([box(0.04, 0, 1.02, 1), box(0, 0, 0.04, 1)]), 0.1)[0].bounds
    (0.0, 0.0, 1.0, 1.0)
    """
    rounded = shapely.normalize(shapely.set_precision(polygons, grid_size, mode="pointwise"))
    coords, at = shapely.get_coordinates(rounded, return_index=True)
    repeated = at[1:][(coords[1:] == coords[:-1]).all(axis=1) & (at[1:] == at[:-1])]
    broken = ~shapely.is_valid(rounded)
    broken[repeated] = True
    rounded[broken] = shapely.set_precision(polygons[broken], grid_size)
    return rounded


def _polygonal_part(geometries: np.ndarray) -> np.ndarray:
    """Drop the lines and points an overlay adds where a unit only touches the community's edge."""
    geometries = geometries.copy()
    for i in np.flatnonzero(shapely.get_type_id(geometries) == shapely.GeometryType.GEOMETRYCOLLECTION):
        parts = shapely.get_parts(geometries[i])
        polygons = parts[shapely.get_dimensions(parts) == 2]
        geometries[i] = shapely.union_all(polygons) if len(polygons) else shapely.Polygon()
    return geometries


def _seeds(
    units: np.ndarray, clipped: np.ndarray, own_area: np.ndarray, where: np.ndarray, *, spacing: float,
    grid_size: float
) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi seeds and the unit each belongs to.

    Duplicate seeds of an area keep the label of a point unit (its location is its only seed: a polygon's
    outline passing through it must not leave it without land), else of the first unit.
    """
    rings = shapely.boundary(clipped)
    # large units get at most MAX_SEEDS_PER_UNIT seeds: the split of the land between two big compounds
    # hardly changes, and the Voronoi diagram and the noding stay small
    step = np.maximum(spacing, shapely.length(rings) / MAX_SEEDS_PER_UNIT)
    outlines = np.where(shapely.area(clipped) > 0, shapely.segmentize(rings, step), clipped)
    touching = (shapely.get_dimensions(units) == 2) & (shapely.area(clipped) == 0)
    if touching.any():  # a polygon that only touches its area: seed where it is nearest
        outlines[touching] = shapely.get_point(shapely.shortest_line(units[touching], own_area[touching]), -1)
    coords, owners = shapely.get_coordinates(outlines, return_index=True)
    coords = np.round(coords / grid_size) * grid_size
    area = where[owners]
    outline = shapely.get_dimensions(clipped[owners]) == 2
    order = np.lexsort((outline, coords[:, 1], coords[:, 0], area))  # stable: then the first unit's
    key = np.column_stack([area[order], coords[order]])
    first = np.sort(order[_run_starts(key)])
    return coords[first], owners[first]


def _label_faces(points: np.ndarray, face_area: np.ndarray, units: np.ndarray, clipped: np.ndarray,
                 where: np.ndarray, seeds: np.ndarray, owners: np.ndarray) -> np.ndarray:
    """Return the unit of each face: the smallest unit polygon holding it, else the nearest seed's unit.

    ``units`` are the positions of the units of the faces' areas, ``seeds`` and ``owners`` the seeds of
    those areas (of the same area as the face) and their units.
    """
    labels = np.full(len(points), -1, dtype=np.int64)
    polygon_units = units[shapely.area(clipped[units]) > 0]
    if len(polygon_units):
        face, hit = shapely.STRtree(clipped[polygon_units]).query(points, predicate="within")
        unit = polygon_units[hit]
        same = where[unit] == face_area[face]
        face, unit = face[same], unit[same]
        order = np.lexsort(
            (unit, shapely.area(clipped[unit]), face)
        )  # smaller polygon, then earlier unit wins
        face, unit = face[order], unit[order]
        first = _run_starts(face)
        labels[face[first]] = unit[first]
    rest = np.flatnonzero(labels < 0)
    if len(rest):
        nearest = _nearest_seed(shapely.get_coordinates(points[rest]), face_area[rest], seeds, where[owners])
        labels[rest] = owners[nearest]
    return labels


def dissolve(pieces: ArrayLike, labels: ArrayLike, n: int) -> np.ndarray:
    """Union of the pieces of each label ``0 .. n-1`` (empty polygon for a label without pieces).

    The pieces must form a coverage (share edges exactly), as faces, regions and Voronoi cells do here;
    ``shapely.coverage_union_all`` then dissolves them exactly and fast, all labels in one call.

    Examples
    --------
    >>> from shapely import box
    >>> merged = dissolve([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], [0, 0, 1], 3)
    >>> [g.area for g in merged]
    [2.0, 1.0, 0.0]
    """
    pieces = np.asarray(pieces, dtype=object)
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(n, _EMPTY, dtype=object)
    order = np.argsort(labels, kind="stable")
    pieces, labels = pieces[order], labels[order]
    new = _run_starts(labels)
    starts = np.flatnonzero(new)
    sizes = np.diff(np.r_[starts, len(labels)])
    out[labels[starts[sizes == 1]]] = pieces[starts[sizes == 1]]
    several = np.repeat(sizes > 1, sizes)
    if several.any():  # one collection per label, all dissolved in one call
        group = np.cumsum(new[several]) - 1
        collections = shapely.geometrycollections(pieces[several], indices=group)
        out[labels[starts[sizes > 1]]] = shapely.coverage_union_all(collections[:, None], axis=1)
    return out


def _run_starts(keys: np.ndarray) -> np.ndarray:
    """Whether each row of sorted ``keys`` starts a run of equal rows."""
    new = np.ones(len(keys), dtype=bool)
    different = keys[1:] != keys[:-1]
    new[1:] = different.any(axis=1) if different.ndim > 1 else different
    return new


def region_adjacency(regions: ArrayLike) -> pd.DataFrame:
    """Pairs of regions that share a boundary of positive length (not just a corner).

    Returns
    -------
    pandas.DataFrame
        Columns ``left``, ``right`` (positions, ``left < right``), sorted.

    Examples
    --------
    >>> from shapely import box
    >>> region_adjacency([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 1, 3, 2)])
       left  right
    0     0      1
    """
    left, right = adjacent_pairs(regions)
    return pd.DataFrame({"left": left, "right": right})


def adjacent_pairs(regions: ArrayLike, groups: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return :func:`region_adjacency` as two arrays ``left``, ``right``, sorted.

    The regions must form a coverage (neighbours share their edges vertex for vertex, as regions and grids
    here do): two regions then share a boundary of positive length exactly when they have a ring segment
    in common, which sorting every segment finds without a spatial predicate per pair. With ``groups``
    (one label per region, each group's regions together in ``regions``: the regions of many
    communities), only pairs within a group count.

    Examples
    --------
    >>> from shapely import box
    >>> [pair.tolist() for pair in adjacent_pairs([box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2)])]
    [[0, 0], [1, 2]]
    >>> [pair.tolist() for pair in adjacent_pairs([box(0, 0, 1, 1), box(1, 0, 2, 1)], groups=[0, 1])]
    [[], []]
    """
    regions = np.asarray(regions, dtype=object)
    polygons, region = shapely.get_parts(regions, return_index=True)
    rings, polygon = shapely.get_rings(polygons, return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same_ring = np.flatnonzero(ring[1:] == ring[:-1])
    start, end = coords[same_ring], coords[same_ring + 1]
    flip = (start[:, 0] > end[:, 0]) | ((start[:, 0] == end[:, 0]) & (start[:, 1] > end[:, 1]))
    start[flip], end[flip] = end[flip], start[flip].copy()
    owner = region[polygon[ring[same_ring]]]
    first, last = start[:, 0] + 1j * start[:, 1], end[:, 0] + 1j * end[:, 1]  # complex: x, then y
    order = np.lexsort((owner, last, first))
    first, last, owner = first[order], last[order], owner[order]
    shared = np.flatnonzero((first[1:] == first[:-1]) & (last[1:] == last[:-1]) & (owner[1:] != owner[:-1]))
    left, right = owner[shared], owner[shared + 1]  # left < right: owners are sorted within a segment
    if groups is not None:
        group = np.asarray(groups)
        left, right = left[group[left] == group[right]], right[group[left] == group[right]]
    n = max(len(regions), 1)
    pair = np.unique(left.astype(np.int64) * n + right)
    return np.asarray(pair // n), np.asarray(pair % n)


def adjacent_pairs_each(regions: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return :func:`adjacent_pairs` of each array of regions (each a coverage: a community's regions).

    Many arrays at once, in batches of about :data:`_BATCH_REGIONS` regions: a few vectorised calls
    instead of a dozen per array.

    Examples
    --------
    >>> from shapely import box
    >>> pairs = adjacent_pairs_each([np.array([box(0, 0, 1, 1), box(1, 0, 2, 1)]),
    ...                              np.array([box(1, 0, 2, 1)])])
    >>> [(left.tolist(), right.tolist()) for left, right in pairs]
    [([0], [1]), ([], [])]
    """
    sizes = np.array([len(r) for r in regions], dtype=np.int64)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for batch in _batches(np.arange(len(sizes)), sizes, _BATCH_REGIONS):
        bounds = np.r_[0, np.cumsum(sizes[batch])]
        regions_of_batch = np.concatenate([np.empty(0, dtype=object), *(regions[i] for i in batch)])
        left, right = adjacent_pairs(regions_of_batch, groups=np.repeat(np.arange(len(batch)), sizes[batch]))
        cut = np.asarray(np.searchsorted(left, bounds))
        out += [(left[a:b] - start, right[a:b] - start)
                for start, a, b in zip(bounds[:-1], cut[:-1], cut[1:], strict=True)]
    return out


def connect_parts(grids: Iterable[BaseGeometry],
                  anchors: Sequence[ArrayLike]) -> tuple[np.ndarray, list[int]]:
    """Give detached parts of a grid that hold none of its units to the neighbour they share most edge with.

    Parameters
    ----------
    grids : sequence of shapely geometries
        The grids of one community, forming a coverage.
    anchors : sequence of sequences of shapely geometries
        The (clipped) unit geometries of each grid.

    Returns
    -------
    grids : numpy.ndarray
        The grids after moving the detached parts.
    multipart : list of int
        Positions of the grids that still have several parts (their units lie apart, or a part touches no
        other grid, as in a community of several pieces).

    Examples
    --------
    >>> from shapely import MultiPolygon, Point, box
    >>> grids = [MultiPolygon([box(0, 0, 1, 1), box(2, 0, 3, 1)]), box(1, 0, 2, 1)]
    >>> fixed, multipart = connect_parts(grids, [[Point(0.5, 0.5)], [Point(1.5, 0.5)]])
    >>> [g.area for g in fixed], multipart
    ([1.0, 2.0], [])
    """
    grids = np.array(list(grids), dtype=object)
    changed = bool((shapely.get_num_geometries(grids) > 1).any())  # most grids are one polygon
    while changed:
        changed = False
        for g in range(len(grids)):
            parts = shapely.get_parts(grids[g])
            if len(parts) < 2:
                continue
            held = _holds(parts, np.asarray(anchors[g], dtype=object))
            if not held.any():
                held[np.argmax(shapely.area(parts))] = True
            for index in np.flatnonzero(~held):
                shared = shapely.length(shapely.intersection(parts[index], grids))
                shared[g] = 0
                if shared.max() <= 0:  # touches no other grid (a community in several pieces): it stays
                    held[index] = True
                    continue
                target = int(np.argmax(shared))
                grids[target] = shapely.coverage_union_all([grids[target], parts[index]])
                changed = True
            kept = parts[held]
            grids[g] = kept[0] if len(kept) == 1 else shapely.multipolygons(kept)
    multipart = [g for g in range(len(grids)) if shapely.get_num_geometries(grids[g]) > 1]
    return grids, multipart


def _holds(parts: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Whether each part holds one of the anchors (a point on it, or a polygon overlapping its interior)."""
    if not len(anchors):
        return np.zeros(len(parts), dtype=bool)
    pieces = shapely.get_parts(anchors)
    part, anchor = shapely.STRtree(pieces).query(parts, predicate="intersects")
    areal = shapely.get_dimensions(pieces[anchor]) == 2
    inner = ~areal | shapely.relate_pattern(parts[part], pieces[anchor], "T********")
    held = np.zeros(len(parts), dtype=bool)
    held[part[inner]] = True
    return held
