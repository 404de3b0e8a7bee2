"""Grid geometry that tiles a community exactly: every square metre to exactly one unit, then one grid.

All functions work on shapely geometries in a **metric** CRS (metres), one community at a time.

How the land is shared out (:func:`unit_regions`):

1. seeds — points sampled every ``spacing`` metres along the boundary of each unit polygon (clipped to the
   community), and the unit points themselves;
2. the edges of the Voronoi diagram of the seeds (``shapely.voronoi_polygons(..., only_edges=True)``) that
   separate seeds of different units, so the land between units (roads, green, water) goes to the nearest
   unit;
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
from shapely.geometry.base import BaseGeometry

__all__ = [
    "unit_regions",
    "clip_units",
    "region_adjacency",
    "adjacent_pairs",
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
    """
    units = np.asarray(units, dtype=object)
    whole = shapely.set_precision(community, grid_size)
    if len(units) == 0:
        return np.empty(0, dtype=object)
    clipped = clip_units(units, community, grid_size=grid_size) if clipped is None else np.asarray(clipped)
    seeds, owners = _seeds(units, clipped, community, spacing=spacing, grid_size=grid_size)
    seed_points = cast(np.ndarray, shapely.points(seeds))
    owners = _hand_over(seed_points, owners, split or {})
    regions = np.full(len(units), _EMPTY, dtype=object)
    if len(np.unique(owners)) < 2:  # one unit (or one with seeds) takes the whole community
        regions[owners[0] if len(owners) else 0] = whole
        return regions
    edges = _dividing_edges(seeds, owners, community, grid_size)
    polygonal = shapely.area(clipped) > 0
    lines = np.concatenate([edges, shapely.boundary(clipped[polygonal]), [shapely.boundary(whole)]])
    # Merged into long lines first (GEOS unions a few long lines four times faster than thousands of
    # segments), then noded with snap-rounding rather than in floating point (six times faster) so that
    # near-touching edges merge or stay at least grid_size apart: the faces then stay valid when
    # reprojected to degrees and back.
    merged = shapely.line_merge(shapely.multilinestrings(shapely.get_parts(lines)))
    noded = shapely.union_all(merged, grid_size=grid_size)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    points = shapely.point_on_surface(faces)
    inside = shapely.intersects(whole, points)
    faces, points = faces[inside], points[inside]
    labels = _label_faces(points, clipped, seed_points, owners)
    for container, members in (split or {}).items():  # faces inside a split unit go to its nearest member
        at = np.flatnonzero(labels == container)
        labels[at] = _nearest_member(points[at], seed_points, owners, members, container)
    return dissolve(faces, labels, len(units))


def _hand_over(seed_points: np.ndarray, owners: np.ndarray, split: dict[int, list[int]]) -> np.ndarray:
    """Give each seed of a split container to the nearest of its members."""
    owners = owners.copy()
    for container, members in split.items():
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


def _dividing_edges(seeds: np.ndarray, owners: np.ndarray, community, grid_size: float) -> np.ndarray:
    """Return the Voronoi edges between seeds of different units, each edge once, as 2-point lines.

    GEOS computes neighbouring cells separately, so their shared edges can differ in the last bit and the
    cells cannot be dissolved as a coverage. So only the segments are used. A cell's segment lies on the
    perpendicular bisector of the cell's seed and the seed across it, so mirroring the seed in the segment
    finds the seed across (seeds lie on the ``grid_size`` grid, so the mirror image rounds to it exactly).
    A segment is kept when that seed belongs to another unit — by the cell of the smaller unit number only,
    so that each edge is kept once; segments on the diagram's outer frame have no seed across and are
    dropped. The noding in :func:`unit_regions` then makes the faces exact. (``voronoi_polygons(
    only_edges=True)`` gives each edge once directly, but is about four times slower.)
    """
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=community, ordered=True)
    # GEOS 3.14 returns some ordered cells as a GeometryCollection of the polygon and a zero-length line
    cells = shapely.get_parts(cells)
    cell = np.arange(len(cells))
    if (shapely.get_type_id(cells) == shapely.GeometryType.GEOMETRYCOLLECTION).any():
        cells, cell = shapely.get_parts(cells, return_index=True)
    polygon = shapely.get_type_id(cells) == shapely.GeometryType.POLYGON
    coords, ring = shapely.get_coordinates(shapely.get_exterior_ring(cells[polygon]), return_index=True)
    start = np.flatnonzero(ring[1:] == ring[:-1])
    first, second = coords[start], coords[start + 1]
    own = cell[polygon][ring[start]]
    direction = second - first
    squared = (direction**2).sum(axis=1)
    keep = squared > 0
    first, second, direction, squared, own = (
        first[keep],
        second[keep],
        direction[keep],
        squared[keep],
        own[keep],
    )
    along = ((seeds[own] - first) * direction).sum(axis=1) / squared
    mirror = 2 * (first + along[:, None] * direction) - seeds[own]
    across = _find_seed(seeds, mirror, grid_size)
    # a very short segment (two Voronoi vertices close together) gives an imprecise mirror image: take the
    # nearest seed when it is close relative to the distance mirrored (the diagram's outer frame has none)
    missed = np.flatnonzero(across < 0)
    if len(missed):
        reach = np.hypot(*(mirror[missed] - seeds[own[missed]]).T)
        (found, seed), distance = shapely.STRtree(cast(np.ndarray, shapely.points(seeds))).query_nearest(
            shapely.points(mirror[missed]), return_distance=True, all_matches=False
        )
        near = distance <= 1e-3 * reach[found]
        across[missed[found[near]]] = seed[near]
    found = across >= 0
    dividing = found & (owners[own] < np.where(found, owners[across], -1))
    return cast(np.ndarray, shapely.linestrings(np.stack([first[dividing], second[dividing]], axis=1)))


def _find_seed(seeds: np.ndarray, points: np.ndarray, grid_size: float) -> np.ndarray:
    """Index of the seed at each point (rounded to the grid), -1 where there is none."""
    origin = seeds.min(axis=0)
    span = int(np.ceil((seeds.max(axis=0) - origin).max() / grid_size)) + 3

    def keys(xy):
        cells = np.round((xy - origin) / grid_size).astype(np.int64)
        inside = ((cells >= 0) & (cells < span)).all(axis=1)
        return np.where(inside, cells[:, 0] * span + cells[:, 1], -1)

    seed_keys = keys(seeds)
    order = np.argsort(seed_keys)
    wanted = keys(points)
    at = np.clip(np.searchsorted(seed_keys[order], wanted), 0, len(order) - 1)
    hit = (seed_keys[order][at] == wanted) & (wanted >= 0)
    return np.where(hit, order[at], -1)


def clip_units(units: ArrayLike, community: BaseGeometry, *, grid_size: float = GRID_SIZE_M) -> np.ndarray:
    """Return the part of each unit inside the community (points unchanged) on the ``grid_size`` grid."""
    units = np.asarray(units, dtype=object)
    clipped = units.copy()
    polygonal = shapely.get_dimensions(units) == 2
    shapely.prepare(community)  # cached on the geometry: repeated predicates against it are fast
    inside = polygonal & shapely.contains_properly(community, units)  # most units: no overlay needed
    if inside.any():
        clipped[inside] = shapely.set_precision(units[inside], grid_size)
    crossing = polygonal & ~inside
    if crossing.any():
        inside = shapely.intersection(units[crossing], community, grid_size=grid_size)
        clipped[crossing] = _polygonal_part(inside)
    return clipped


def _polygonal_part(geometries: np.ndarray) -> np.ndarray:
    """Drop the lines and points an overlay adds where a unit only touches the community's edge."""
    geometries = geometries.copy()
    for i in np.flatnonzero(shapely.get_type_id(geometries) == shapely.GeometryType.GEOMETRYCOLLECTION):
        parts = shapely.get_parts(geometries[i])
        polygons = parts[shapely.get_dimensions(parts) == 2]
        geometries[i] = shapely.union_all(polygons) if len(polygons) else shapely.Polygon()
    return geometries


def _seeds(
    units: np.ndarray, clipped: np.ndarray, community: BaseGeometry, *, spacing: float, grid_size: float
) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi seeds and the unit each belongs to; duplicate seeds keep the first unit's label."""
    rings = shapely.boundary(clipped)
    # large units get at most MAX_SEEDS_PER_UNIT seeds: the split of the land between two big compounds
    # hardly changes, and the Voronoi diagram and the noding stay small
    step = np.maximum(spacing, shapely.length(rings) / MAX_SEEDS_PER_UNIT)
    outlines = np.where(shapely.area(clipped) > 0, shapely.segmentize(rings, step), clipped)
    touching = (shapely.get_dimensions(units) == 2) & (shapely.area(clipped) == 0)
    if touching.any():  # a polygon that only touches the community: seed where it is nearest
        outlines[touching] = shapely.get_point(shapely.shortest_line(units[touching], community), -1)
    coords, owners = shapely.get_coordinates(outlines, return_index=True)
    coords = np.round(coords / grid_size) * grid_size
    _, first = np.unique(coords, axis=0, return_index=True)
    first = np.sort(first)
    return coords[first], owners[first]


def _label_faces(
    points: np.ndarray, clipped: np.ndarray, seed_points: np.ndarray, owners: np.ndarray
) -> np.ndarray:
    """Return the unit of each face: the smallest unit polygon holding it, else the nearest seed's unit."""
    labels = np.full(len(points), -1, dtype=np.int64)
    polygon_units = np.flatnonzero(shapely.area(clipped) > 0)
    if len(polygon_units):
        face, hit = shapely.STRtree(clipped[polygon_units]).query(points, predicate="within")
        unit = polygon_units[hit]
        order = np.lexsort(
            (unit, shapely.area(clipped[unit]), face)
        )  # smaller polygon, then earlier unit wins
        face, unit = face[order], unit[order]
        first = np.ones(len(face), dtype=bool)
        first[1:] = face[1:] != face[:-1]
        labels[face[first]] = unit[first]
    rest = np.flatnonzero(labels < 0)
    if len(rest):
        face, seed = shapely.STRtree(seed_points).query_nearest(points[rest], all_matches=False)
        labels[rest[face]] = owners[seed]
    return labels


def dissolve(pieces: ArrayLike, labels: ArrayLike, n: int) -> np.ndarray:
    """Union of the pieces of each label ``0 .. n-1`` (empty polygon for a label without pieces).

    The pieces must form a coverage (share edges exactly), as faces, regions and Voronoi cells do here;
    ``shapely.coverage_union_all`` then dissolves them exactly and fast.

    Examples
    --------
    >>> from shapely import box
    >>> merged = dissolve([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], [0, 0, 1], 3)
    >>> [g.area for g in merged]
    [2.0, 1.0, 0.0]
    """
    pieces = np.asarray(pieces, dtype=object)
    labels = np.asarray(labels)
    out = np.full(n, _EMPTY, dtype=object)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.r_[True, labels[order][1:] != labels[order][:-1], True])
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        group = pieces[order[start:stop]]
        out[labels[order[start]]] = group[0] if len(group) == 1 else shapely.coverage_union_all(group)
    return out


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


def adjacent_pairs(regions: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return :func:`region_adjacency` as two arrays ``left``, ``right``, sorted.

    The regions must form a coverage (neighbours share their edges vertex for vertex, as regions and grids
    here do): two regions then share a boundary of positive length exactly when they have a ring segment
    in common, which sorting every segment finds without a spatial predicate per pair.

    Examples
    --------
    >>> from shapely import box
    >>> [pair.tolist() for pair in adjacent_pairs([box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2)])]
    [[0, 0], [1, 2]]
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
    order = np.lexsort((owner, end[:, 1], end[:, 0], start[:, 1], start[:, 0]))
    key = np.column_stack([start, end])[order]
    owner = owner[order]
    shared = np.flatnonzero((key[1:] == key[:-1]).all(axis=1) & (owner[1:] != owner[:-1]))
    pairs = np.unique(np.column_stack([owner[shared], owner[shared + 1]]), axis=0).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


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
    changed = True
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
