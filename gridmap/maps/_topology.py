"""Shared boundaries: polygons that tile an area stored as arcs, each shared edge once (TopoJSON-style).

A city's grids tile it, so every inner boundary belongs to two grids; plain GeoJSON stores it twice, at
full float precision. :func:`coverage_topology` instead

1. nodes the boundaries on a grid of integer steps one pixel wide at the most detailed zoom
   (``shapely.union_all(..., grid_size=...)`` snap-rounds them, so neighbours that did not share their
   vertices exactly — a T-junction where a grid line meets a community line — now do) and rebuilds each
   polygon from the faces inside it;
2. simplifies all polygons together with ``shapely.coverage_simplify`` (GEOS ≥ 3.12): a shared edge is
   simplified once for both sides, so neighbours keep no gap and no overlap at any zoom;
3. splits the rings into arcs where the polygon on the other side changes and stores each arc once,
   delta-encoded in integer steps; a ring lists its arcs by index (``~i`` for arc ``i`` reversed).

Hand-written because no maintained Python package builds quantised, deduplicated arcs from shapely
geometry at this speed (``topojson`` depends on the whole stack again and is several times slower); the
decoder in the page (``gridmap.topology`` in :mod:`gridmap.maps._assets`) is twenty lines.

Examples
--------
>>> from shapely.geometry import box
>>> topo = coverage_topology([box(0, 0, 1, 1), box(1, 0, 2, 1)], scale=10)
>>> len(topo.arcs), topo.shapes        # the shared edge is arc 0; the right square walks it reversed
(3, [[[[0, 1]]], [[[-1, 2]]]])
>>> decode_arc(topo.arcs[0])
[(10, 0), (10, 10)]
>>> [polygon.area for polygon in topology_polygons(topo)]
[1.0, 1.0]
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import warnings
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike

from gridmap.errors import GridmapWarning

__all__ = ["Topology", "coverage_topology", "reused_topology", "stored_topology", "simplify_coverage",
           "topology_polygons", "encode_numbers", "encode_sequences", "decode_numbers", "decode_arc"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topology:
    """Polygons as shared arcs.

    Attributes
    ----------
    arcs : list of str
        Each arc's integer points, the first absolute (relative to ``translate``), then steps, written
        with :func:`encode_numbers`.
    shapes : list of list
        Per input polygon: its parts, each a list of rings, each a list of arc references (``i`` or
        ``~i`` = arc ``i`` reversed). An empty list when nothing is left of the polygon.
    scale : float
        Integer steps per degree.
    translate : tuple of int
        The integer point all arcs are relative to.
    geometry : numpy.ndarray
        The polygons as stored (noded, simplified, on the integer grid), in input units.
    chained : bool
        Each arc's first point is relative to the previous arc's first point (the first arc's to
        ``translate``): shorter, but arcs are read in order.
    coverage : bool
        The polygons are known to form a coverage (no piece lies in two of them), so unions of them can be
        read off the arcs (:func:`gridmap.maps._merge.merged_topology`).
    points, offsets : numpy.ndarray or None
        The arcs' integer points (relative to ``translate``) one after another, arc ``i`` at
        ``points[offsets[i]:offsets[i + 1]]``.
    rings : tuple of numpy.ndarray or None
        ``shapes`` flat: every ring's arc references one after another, the number of references of each
        ring, and the shape each ring belongs to; None in a topology of unions read off another one's arcs.

    Rings follow the right-hand rule of GeoJSON (RFC 7946): outer rings counter-clockwise, holes clockwise,
    so each polygon lies on the left of its rings.
    """

    arcs: list
    shapes: list
    scale: float
    translate: tuple
    geometry: np.ndarray | None
    chained: bool = False
    coverage: bool = False
    points: np.ndarray | None = None
    offsets: np.ndarray | None = None
    rings: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def encode_numbers(values: ArrayLike) -> str:
    """Write integers as printable ASCII, 5 bits a character (the Google polyline scheme).

    A step of less than 16 takes one character, of less than 512 two: about half of what the same numbers
    take as JSON. The characters are ``?`` to ``~`` (no quote, ``<`` or ``>``).

    Examples
    --------
    >>> encode_numbers([0, 1, -1, 100, -100000])
    '?A@gE~hbE'
    >>> decode_numbers(encode_numbers([0, 1, -1, 100, -100000]))
    [0, 1, -1, 100, -100000]
    """
    return _encode_array(np.asarray(values, dtype=np.int64).ravel())[0]


def decode_numbers(text: str) -> list[int]:
    """Read integers written by :func:`encode_numbers`."""
    values, value, shift = [], 0, 0
    for char in text:
        chunk = ord(char) - 63
        value |= (chunk & 0x1F) << shift
        shift += 5
        if chunk < 0x20:
            values.append(~(value >> 1) if value & 1 else value >> 1)
            value, shift = 0, 0
    return values


def decode_arc(text: str) -> list[tuple[int, int]]:
    """Return the integer points of an arc of :class:`Topology` (relative to its ``translate``)."""
    numbers = np.cumsum(np.asarray(decode_numbers(text), dtype=np.int64).reshape(-1, 2), axis=0)
    return [tuple(point) for point in numbers.tolist()]


def topology_polygons(topology: Topology) -> list:
    """Rebuild the polygons from the arcs, as the page does (for checks and static maps)."""
    arcs = [decode_arc(text) for text in topology.arcs]
    if topology.chained:
        start = (0, 0)
        for i, arc in enumerate(arcs):
            start = (start[0] + arc[0][0], start[1] + arc[0][1])
            arcs[i] = [(x + start[0] - arc[0][0], y + start[1] - arc[0][1]) for x, y in arc]
    x0, y0 = topology.translate

    def ring(refs):
        points: list[tuple[int, int]] = []
        for ref in refs:
            arc = arcs[ref] if ref >= 0 else arcs[~ref][::-1]
            points.extend(arc[1:] if points else arc)
        return [((x + x0) / topology.scale, (y + y0) / topology.scale) for x, y in points]

    polygons = []
    for shape in topology.shapes:
        parts = [shapely.Polygon(ring(rings[0]), [ring(hole) for hole in rings[1:]]) for rings in shape]
        polygons.append(parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts) if parts
                        else shapely.Polygon())
    return polygons


def simplify_coverage(geoms: ArrayLike, tolerance: float) -> np.ndarray:
    """Simplify polygons that tile an area together, keeping their shared edges shared.

    Noded first (see :func:`coverage_topology`) when the polygons do not form a valid coverage; when they
    overlap, each is simplified on its own with a :class:`~gridmap.errors.GridmapWarning`.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> left, right = simplify_coverage([box(0, 0, 1, 1).segmentize(0.1), box(1, 0, 2, 1)], 0.01)
    >>> int(shapely.get_num_coordinates(left)), left.intersection(right).length
    (5, 1.0)
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0 or tolerance <= 0:
        return geoms
    if not shapely.coverage_is_valid(geoms):
        geoms = _noded(geoms, None)[0]
    return _simplified(geoms, tolerance)


def coverage_topology(geoms: ArrayLike, *, scale: float, tolerance: float = 0.0,
                      chained: bool = False) -> Topology:
    """Node, simplify and split polygons into shared arcs on an integer grid of ``scale`` steps a unit.

    Parameters
    ----------
    geoms : array of shapely Polygon or MultiPolygon
        The polygons (normally a coverage: neighbours share edges). Gaps between them stay gaps;
        overlaps are kept but reported with a :class:`~gridmap.errors.GridmapWarning`.
    scale : float
        Integer steps per unit of the coordinates: vertices are snapped to multiples of ``1 / scale``.
    tolerance : float, default 0
        Simplification tolerance in coordinate units (0: none).
    chained : bool, default False
        Write each arc's first point relative to the previous arc's (see :class:`Topology`).

    Returns
    -------
    Topology
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return stored_topology(geoms, scale=scale, chained=chained, coverage=True)
    stored = _snapped(geoms, 1.0 / scale)
    coverage = stored is not None
    if stored is None:
        stored, coverage = _noded(geoms, 1.0 / scale)
    if tolerance > 0:
        stored = _simplified(stored, tolerance, coverage=coverage or None)
    return stored_topology(stored, scale=scale, chained=chained, coverage=coverage)


#: The last topologies :func:`reused_topology` made, by the polygons (their WKB) and the options, with the
#: size of that WKB; at most ``_MADE_BYTES`` of input are kept (a whole city's grids take about 1 MB).
_MADE: OrderedDict[tuple, tuple[Topology, int]] = OrderedDict()
_MADE_BYTES = 64 * 2**20


def reused_topology(geoms: ArrayLike, *, scale: float, tolerance: float = 0.0) -> Topology:
    """:func:`coverage_topology`, made once per process for the same polygons and options.

    Pages of the same grids (a city's map and its cockpit, the public and the office copy, a batch of
    reports) then share the slowest step of writing them. The polygons are compared by their WKB, so only
    exactly the same input is reused; a topology whose making warned (overlaps) is never kept, so every
    page built from such polygons warns again. The topology is shared: callers must not change it.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> first = reused_topology([box(0, 0, 1, 1), box(1, 0, 2, 1)], scale=10)
    >>> reused_topology([box(0, 0, 1, 1), box(1, 0, 2, 1)], scale=10) is first
    True
    >>> reused_topology([box(0, 0, 1, 1), box(1, 0, 2, 1)], scale=100) is first
    False
    """
    geoms = np.asarray(geoms, dtype=object)
    digest, size = hashlib.blake2b(digest_size=20), 0
    for wkb in shapely.to_wkb(geoms).tolist():
        digest.update(b"-" if wkb is None else len(wkb).to_bytes(8, "little") + wkb)
        size += 0 if wkb is None else len(wkb)
    key = (digest.digest(), len(geoms), float(scale), float(tolerance))
    if key in _MADE:
        _MADE.move_to_end(key)
        return _MADE[key][0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        topology = coverage_topology(geoms, scale=scale, tolerance=tolerance)
    for warning in caught:  # shown as if not caught (the caller's filters apply)
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if not caught:
        _MADE[key] = (topology, size)
        while sum(kept for _, kept in _MADE.values()) > _MADE_BYTES:
            _MADE.popitem(last=False)
    return topology


def stored_topology(stored: ArrayLike, *, scale: float, chained: bool = False,
                    coverage: bool = False) -> Topology:
    """Split polygons that are already on the integer grid, and share their edges, into arcs.

    No snapping, noding or simplifying: for polygons made from another topology's ``geometry``, such as
    the unions of its polygons, which share its vertices exactly. ``coverage``: they are known to form a
    coverage (see :class:`Topology`).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> grids = coverage_topology([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], scale=10)
    >>> merged = stored_topology([shapely.union_all(grids.geometry[:2]), grids.geometry[2]], scale=10)
    >>> len(merged.arcs), [polygon.area for polygon in topology_polygons(merged)]
    (3, [2.0, 1.0])
    """
    stored = np.asarray(stored, dtype=object)
    if len(stored) == 0:
        none = np.zeros(0, dtype=np.int64)
        return Topology([], [], scale, (0, 0), stored, chained, coverage, np.zeros((0, 2), dtype=np.int64),
                        np.zeros(1, dtype=np.int64), (none, none, none))
    arcs, shapes, translate, points, offsets, rings = _arcs(stored, scale, chained)
    return Topology(arcs, shapes, scale, translate, stored, chained, coverage, points, offsets, rings)


def _snapped(geoms: np.ndarray, grid_size: float) -> np.ndarray | None:
    """Return the polygons with their vertices on the grid, when that alone makes them a valid coverage.

    Much faster than noding (:func:`_noded`) for polygons that share their edges, exactly (as grids built
    by gridmap do) or up to floating-point noise (as reprojected or digitised files do: the two copies of a
    shared vertex snap to the same grid point). None when snapping leaves overlaps or T-junctions, or
    empties a polygon. Vertices are rounded one by one; only a polygon that rounding leaves invalid (a
    spike, a part narrower than a step) is snapped by GEOS's precision reducer, which mends it.
    """
    if not shapely.is_valid(geoms).all():
        return None
    snapped = shapely.remove_repeated_points(shapely.set_precision(geoms, grid_size, mode="pointwise"), 0)
    broken = ~shapely.is_valid(snapped)
    snapped[broken] = shapely.set_precision(geoms[broken], grid_size)
    if shapely.is_empty(snapped).any() or not shapely.coverage_is_valid(snapped):
        return None
    return snapped


def _noded(geoms: np.ndarray, grid_size: float | None) -> tuple[np.ndarray, bool]:
    """Rebuild the polygons from the faces of their noded (and snap-rounded) boundaries.

    Also whether they form a coverage (no face lies in two of them).
    """
    lines = shapely.union_all(shapely.boundary(geoms), grid_size=grid_size)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    which_face, which_geom = shapely.STRtree(geoms).query(shapely.point_on_surface(faces),
                                                          predicate="intersects")
    owners = np.bincount(which_face, minlength=len(faces))
    if (owners > 1).any():
        warnings.warn(f"{int((owners > 1).sum())} piece(s) of the map lie in more than one polygon "
                      "(overlapping grids); they are drawn in each (gridmap.check lists the overlaps)",
                      GridmapWarning, stacklevel=4)
    order = np.argsort(which_geom, kind="stable")
    which_geom, which_face = which_geom[order], which_face[order]
    starts = np.searchsorted(which_geom, np.arange(len(geoms) + 1))
    rebuilt = np.empty(len(geoms), dtype=object)
    for i in range(len(geoms)):
        mine = faces[which_face[starts[i]:starts[i + 1]]]
        if len(mine) == 1:
            rebuilt[i] = mine[0]
        elif len(mine):
            rebuilt[i] = shapely.coverage_union_all(mine)
        else:  # narrower than one step: nothing of it survives snap-rounding
            rebuilt[i] = shapely.Polygon()
    return rebuilt, not (owners > 1).any()


def _simplified(geoms: np.ndarray, tolerance: float, *, coverage: bool | None = None) -> np.ndarray:
    """Simplify a coverage together (``coverage``: known to be a valid coverage; None: test it)."""
    if coverage or (coverage is None and shapely.coverage_is_valid(geoms)):
        return shapely.coverage_simplify(geoms, tolerance)
    warnings.warn("the polygons overlap, so they are simplified one by one and neighbours may not match "
                  "exactly (gridmap.check lists the overlaps)", GridmapWarning, stacklevel=4)
    return shapely.simplify(geoms, tolerance, preserve_topology=True)


def _arcs(geoms: np.ndarray, scale: float, chained: bool = False) -> tuple[list, list, tuple, np.ndarray,
                                                                         np.ndarray, tuple]:
    """Split every ring where the set of rings on its edges changes; store each arc once.

    Returns the encoded arcs, the shapes, the translation, the arcs' points with their offsets and the
    shapes flat (see :class:`Topology`). All
    in numpy: rings are cut into runs of edges, and a run is the same arc as another when it holds the
    same smallest edge (walked the same way or the other).
    """
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy, vertex_of = shapely.get_coordinates(rings, return_index=True)
    ints = np.rint(xy * scale).astype(np.int64)
    translate = tuple(int(v) for v in ints.min(axis=0)) if len(ints) else (0, 0)
    ints -= np.asarray(translate, dtype=np.int64)
    keep = np.r_[vertex_of[1:] == vertex_of[:-1], False]  # drop each ring's closing vertex
    ints, vertex_of = ints[keep], vertex_of[keep]
    start = np.searchsorted(vertex_of, np.arange(len(rings) + 1))
    ints = ints[_oriented(ints, start, vertex_of, ring_of)]
    width = np.int64(ints[:, 1].max() + 1) if len(ints) else np.int64(1)
    keys, point_id = np.unique(ints[:, 0] * width + ints[:, 1], return_inverse=True)
    vertex = np.stack([keys // width, keys % width], axis=1)
    following = np.arange(len(point_id)) + 1
    following[start[1:] - 1] = start[:-1][np.diff(start) > 0]  # the last vertex of a ring wraps around
    edges, edge = np.unique(np.minimum(point_id, point_id[following]) * np.int64(len(vertex))
                            + np.maximum(point_id, point_id[following]), return_inverse=True)
    cut = _cuts(edge, vertex_of, following, point_id, edges, len(vertex))
    runs = _Runs(point_id, edge, cut, following, start)
    shapes: list[list] = [[] for _ in range(len(geoms))]
    polygon_of = part_of.tolist()
    for p, polygon in runs.parts(ring_of):
        shapes[polygon_of[p]].append(polygon)
    points, lengths = vertex[runs.arc_points], runs.arc_lengths
    return (_encode_arcs(points, lengths, chained), shapes, translate, points, np.r_[0, np.cumsum(lengths)],
            runs.flat(ring_of, part_of))


def _oriented(ints: np.ndarray, start: np.ndarray, vertex_of: np.ndarray, ring_of: np.ndarray) -> np.ndarray:
    """Return the vertex order that turns outer rings counter-clockwise and holes clockwise."""
    n = np.diff(start)
    following = np.arange(len(ints)) + 1
    following[start[1:] - 1] = start[:-1][n > 0]
    cross = ints[:, 0] * ints[following, 1] - ints[following, 0] * ints[:, 1]
    total = np.r_[0, np.cumsum(cross)]
    area = total[start[1:]] - total[start[:-1]]  # twice the signed area of each ring
    outer = np.r_[True, ring_of[1:] != ring_of[:-1]] if len(ring_of) else np.zeros(0, dtype=bool)
    flip = np.where(outer, area < 0, area > 0)
    index = np.arange(len(ints))
    lo, hi = start[vertex_of], start[vertex_of + 1]
    return np.where(flip[vertex_of], lo + hi - 1 - index, index)


def _cuts(edge: np.ndarray, ring: np.ndarray, following: np.ndarray, point_id: np.ndarray, edges: np.ndarray,
          n_points: int) -> np.ndarray:
    """Return where arcs start: the rings beside the ring change, or over two edges meet (rings touch)."""
    n = len(edges)
    count = np.bincount(edge, minlength=n)
    low = np.full(n, np.iinfo(np.int64).max)
    high = np.full(n, -1)
    np.minimum.at(low, edge, ring)
    np.maximum.at(high, edge, ring)
    total = np.bincount(edge, weights=ring, minlength=n)
    previous = np.empty_like(following)
    previous[following] = np.arange(len(following))
    here, before = edge, edge[previous]
    cut = (count[here] != count[before]) | (low[here] != low[before]) | (high[here] != high[before]) \
        | (total[here] != total[before])
    degree = np.bincount(np.r_[edges // n_points, edges % n_points], minlength=n_points)
    return cut | (degree[point_id] > 2)


class _Runs:
    """Rings cut into runs of edges (from one cut to the next), each run an arc walked one way or the other.

    A ring without a cut is one run from its smallest point. Rings of fewer than three points are left out.
    """

    def __init__(self, point_id: np.ndarray, edge: np.ndarray, cut: np.ndarray, following: np.ndarray,
                 start: np.ndarray):
        n = np.diff(start)
        ring = np.repeat(np.arange(len(n)), n)
        index = np.arange(len(point_id))
        first_cut = np.full(len(n), np.iinfo(np.int64).max)
        np.minimum.at(first_cut, ring, np.where(cut, index, np.iinfo(np.int64).max))
        smallest = np.lexsort((point_id, ring))
        lowest = smallest[np.r_[True, ring[smallest][1:] != ring[smallest][:-1]]] if len(ring) else smallest
        begin = start[:-1].copy()
        begin[n > 0] = np.where(first_cut[n > 0] < len(point_id), first_cut[n > 0], lowest)
        order = start[ring] + (begin[ring] - start[ring] + index - start[ring]) % np.maximum(n[ring], 1)
        order = order[n[ring] >= 3]  # rotated: each ring from its first cut
        self.ring_ids = ring[order]
        points, edges = point_id[order], edge[order]
        head = np.r_[True, self.ring_ids[1:] != self.ring_ids[:-1]]
        run_start = np.flatnonzero(cut[order] | head)
        run_end = np.r_[run_start[1:], len(order)]
        closing = np.r_[run_start[1:], 0]  # the point a run ends at: the next one's first, or the ring's
        ring_first = np.flatnonzero(head)
        last_of_ring = np.r_[head[1:], True][run_end - 1]
        closing[last_of_ring] = ring_first[np.searchsorted(ring_first, run_start[last_of_ring],
                                                           side="right") - 1]
        key = np.minimum.reduceat(edges, run_start) if len(run_start) else run_start
        run = np.repeat(np.arange(len(run_start)), run_end - run_start)
        at_key = np.flatnonzero(edges == key[run])
        at_key = at_key[np.r_[True, run[at_key][1:] != run[at_key][:-1]]] if len(at_key) else at_key
        after = np.r_[points[1:], 0]
        after[run_end - 1] = points[closing]
        forward = points[at_key] < after[at_key]  # the way the run walks its smallest edge
        _, first, which = np.unique(key, return_index=True, return_inverse=True)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        arc = rank[which.ravel()]  # arcs numbered in the order they are first met
        self.refs = np.where(forward == forward[first][which.ravel()], arc, ~arc)
        self.run_ring = self.ring_ids[run_start]
        stored = np.sort(first)
        self.arc_lengths = run_end[stored] - run_start[stored] + 1
        begins = np.repeat(run_start[stored] - np.r_[0, np.cumsum(self.arc_lengths)[:-1]], self.arc_lengths)
        self.arc_points = points[np.minimum(np.arange(int(self.arc_lengths.sum())) + begins, len(points) - 1)]
        ends = np.cumsum(self.arc_lengths) - 1
        self.arc_points[ends] = points[closing[stored]]

    def flat(self, ring_of: np.ndarray, part_of: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every ring's references one after another, each ring's number of them, and its polygon."""
        bounds = np.flatnonzero(np.r_[True, self.run_ring[1:] != self.run_ring[:-1], True]) \
            if len(self.run_ring) else np.zeros(1, dtype=np.int64)
        return self.refs, np.diff(bounds), part_of[ring_of[self.run_ring[bounds[:-1]]]]

    def parts(self, ring_of: np.ndarray) -> list[tuple[int, list]]:
        """Each part with its rings as lists of arc references, in order."""
        refs = self.refs.tolist()
        bounds = np.flatnonzero(np.r_[True, self.run_ring[1:] != self.run_ring[:-1], True]) \
            if len(self.run_ring) else np.zeros(1, dtype=np.int64)
        out: list[tuple[int, list]] = []
        for part, a, b in zip(ring_of[self.run_ring[bounds[:-1]]].tolist(), bounds[:-1].tolist(),
                              bounds[1:].tolist(), strict=True):
            if out and out[-1][0] == part:
                out[-1][1].append(refs[a:b])
            else:
                out.append((part, [refs[a:b]]))
        return out


def _encode_arcs(points: np.ndarray, lengths: np.ndarray, chained: bool = False) -> list[str]:
    """Each arc's points as steps (first point absolute), encoded; all arcs in one vectorised pass."""
    if not len(lengths):
        return []
    steps = points.copy()
    steps[1:] -= points[:-1]
    firsts = np.cumsum(lengths) - lengths
    steps[firsts] = points[firsts]
    if chained:
        steps[firsts[1:]] -= points[firsts[:-1]]
    text, sizes = _encode_array(steps.ravel())
    ends = np.cumsum(np.add.reduceat(sizes, 2 * firsts))
    starts = ends - np.add.reduceat(sizes, 2 * firsts)
    return [text[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


def encode_sequences(sequences: list) -> list[str]:
    """:func:`encode_numbers` of many integer sequences at once (one vectorised pass).

    Examples
    --------
    >>> encode_sequences([[0, 1], [], [-1]])
    ['?A', '', '@']
    """
    lengths = np.fromiter((len(seq) for seq in sequences), dtype=np.int64, count=len(sequences))
    values = np.fromiter((v for seq in sequences for v in seq), dtype=np.int64, count=int(lengths.sum()))
    return _encode_runs(values, lengths)


def _encode_runs(values: np.ndarray, lengths: np.ndarray) -> list[str]:
    """:func:`encode_sequences` of ``values`` cut into runs of ``lengths``."""
    text, sizes = _encode_array(values)
    chars = np.r_[0, np.cumsum(sizes)][np.r_[0, np.cumsum(lengths)]]  # where each sequence's text starts
    return [text[a:b] for a, b in zip(chars[:-1].tolist(), chars[1:].tolist(), strict=True)]


def encode_shapes(topology: Topology) -> str:
    """Encode the shapes of a topology as text: arc references as steps, rings by ``,``, parts by ``;``.

    Shapes are separated by spaces; each ring is the :func:`encode_sequences` text of its arc references as
    differences from the previous one (the page's decoder adds them back).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> encode_shapes(coverage_topology([box(0, 0, 1, 1), box(1, 0, 2, 1)], scale=10))  # [0, 1], [~0, 2]
    '?A @E'
    """
    rings = [ring for shape in topology.shapes for part in shape for ring in part]
    lengths = np.fromiter((len(ring) for ring in rings), dtype=np.int64, count=len(rings))
    refs = np.fromiter(itertools.chain.from_iterable(rings), dtype=np.int64, count=int(lengths.sum()))
    steps = refs.copy()
    steps[1:] -= refs[:-1]
    firsts = (np.cumsum(lengths) - lengths)[lengths > 0]
    steps[firsts] = refs[firsts]
    texts = iter(_encode_runs(steps, lengths))
    return " ".join(";".join(",".join(next(texts) for _ in part) for part in shape)
                    for shape in topology.shapes)


def _encode_array(values: np.ndarray) -> tuple[str, np.ndarray]:
    """:func:`encode_numbers` for a numpy array; also the number of characters of each value."""
    zigzag = np.where(values < 0, ~(values << 1), values << 1).astype(np.uint64)
    sizes = np.ones(len(values), dtype=np.int64)
    rest = zigzag >> np.uint64(5)
    while rest.any():
        sizes += rest > 0
        rest >>= np.uint64(5)
    width = int(sizes.max()) if len(sizes) else 1
    shifts = (np.arange(width, dtype=np.uint64) * np.uint64(5))[None, :]
    chunks = ((zigzag[:, None] >> shifts) & np.uint64(31)).astype(np.int64)
    more = np.arange(width)[None, :] < (sizes[:, None] - 1)
    codes = chunks + 32 * more + 63
    keep = np.arange(width)[None, :] < sizes[:, None]
    return codes[keep].astype(np.uint8).tobytes().decode("ascii"), sizes
