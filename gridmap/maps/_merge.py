"""Unions of the polygons of a coverage read off its shared arcs: no dissolve, no second noding.

A province map draws its communities, streets and districts as unions of its grids. The grids' arcs
(:mod:`gridmap.maps._topology`) already hold every edge once, with the rings on each side, so a union's
outline is the set of arcs whose two sides lie in different groups (or one side in none), and its rings are
those arcs chained end to end — TopoJSON's "merge". The union is then written as references to the grids'
arcs: the page stores no coordinate twice, and the union's outline lies exactly on its grids' outlines.

How the rings are chained: every polygon's rings keep it on their left (outer rings counter-clockwise,
holes clockwise), so an arc shared by two polygons of one group is walked once each way and cancels; the
arcs left over, in the direction their group walks them, leave every node as often as they arrive. Where
a group touches itself at a node (two parts meeting at a point, a hole touching the outline), the walk
turns into the first arc clockwise from the one it came along, which keeps the group on its left; a walk
that comes back to a node it passed is cut there into two rings. Counter-clockwise rings are outer rings,
clockwise ones holes; a hole goes to the outer ring of its group around it (the smallest one, where a part
lies inside a hole of another).

Examples
--------
>>> from shapely.geometry import box
>>> from gridmap.maps._topology import coverage_topology, topology_polygons
>>> grids = coverage_topology([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], scale=10, chained=True)
>>> merged = merged_topology(grids, [0, 0, 1])
>>> merged.arcs is grids.arcs, [polygon.area for polygon in topology_polygons(merged)]
(True, [2.0, 1.0])
"""

from __future__ import annotations

import itertools

import numpy as np
import shapely
from numpy.typing import ArrayLike

from gridmap.maps._topology import Topology

__all__ = ["merged_topology"]


def merged_topology(topology: Topology, groups: ArrayLike) -> Topology:
    """Return the unions of a coverage's polygons by group, as shapes over the same arcs.

    Parameters
    ----------
    topology : Topology
        Polygons that form a coverage (``topology.coverage``), with their arcs' points.
    groups : array of int
        Each polygon's group, from 0: union ``k`` is shape ``k``. A negative group leaves the polygon out.

    Returns
    -------
    Topology
        The same arcs (the very same list), scale and translation; ``shapes`` per group; no ``geometry``
        (:func:`gridmap.maps._topology.topology_polygons` rebuilds it).

    Raises
    ------
    ValueError
        The polygons are not known to form a coverage, or their arcs' points are not kept.
    """
    if not topology.coverage or topology.points is None or topology.offsets is None or topology.rings is None:
        raise ValueError("merged_topology needs a coverage with its arcs' points (coverage_topology)")
    groups = np.asarray(groups, dtype=np.int64)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    edges = _Edges(topology, groups)
    rings = edges.rings()
    area = edges.areas(rings)
    outer, hole = np.flatnonzero(area > 0), np.flatnonzero(area < 0)
    group_of = edges.group[[ring[0] for ring in rings]] if rings else np.zeros(0, dtype=np.int64)
    owner = _hole_owners(edges, rings, outer, hole, group_of)
    refs = _ring_refs(edges, rings)
    parts: dict[int, list] = {r: [refs[r]] for r in outer.tolist()}
    for h, o in zip(hole.tolist(), owner.tolist(), strict=True):
        parts[o].append(refs[h])
    shapes: list[list] = [[] for _ in range(n_groups)]
    for r in outer.tolist():
        shapes[int(group_of[r])].append(parts[r])
    return Topology(topology.arcs, shapes, topology.scale, topology.translate, None, topology.chained, True,
                    topology.points, topology.offsets)


class _Edges:
    """The outline arcs of every group, each in the direction that keeps its group on the left."""

    def __init__(self, topology: Topology, groups: np.ndarray):
        assert topology.rings is not None and topology.points is not None and topology.offsets is not None
        refs, lengths, shape = topology.rings
        offsets: np.ndarray = topology.offsets
        owner = np.repeat(shape, lengths)
        group = groups[owner] if len(owner) else np.zeros(0, dtype=np.int64)
        keep = group >= 0
        refs, group = refs[keep], group[keep]
        n_arcs = np.int64(len(offsets) - 1)
        arc = np.where(refs >= 0, refs, ~refs)
        keys, which = np.unique(group * n_arcs + arc, return_inverse=True)
        net = np.bincount(which.ravel(), weights=np.where(refs >= 0, 1, -1), minlength=len(keys))
        outline = net != 0  # walked once more one way than the other by its group
        self.group, self.arc = keys[outline] // n_arcs, keys[outline] % n_arcs
        self.forward = net[outline] > 0
        self.points: np.ndarray = topology.points
        first, last = offsets[:-1][self.arc], offsets[1:][self.arc] - 1
        self.tail = np.where(self.forward, first, last)  # index of the point each edge leaves
        self.head = np.where(self.forward, last, first)  # and of the point it arrives at
        self.step = np.where(self.forward, 1, -1)
        points = self.points
        _, node = np.unique(np.r_[points[self.tail], points[self.head]], axis=0, return_inverse=True)
        node = node.ravel()
        n_nodes = np.int64(node.max() + 1) if len(node) else np.int64(0)
        self.leaves = self.group * n_nodes + node[:len(self.arc)]
        self.arrives = self.group * n_nodes + node[len(self.arc):]

    def refs(self) -> np.ndarray:
        """Each edge as an arc reference (``~i``: arc ``i`` walked backwards)."""
        return np.where(self.forward, self.arc, ~self.arc)

    def rings(self) -> list[list[int]]:
        """Chain the edges end to end into closed walks, cut into rings that pass each node once."""
        walks = self._walks()
        if not self.pinched.any():
            return walks
        arrives = self.arrives.tolist()
        pinched = self.pinched.tolist()
        return [ring for walk in walks for ring in
                (_split(walk, arrives) if any(pinched[edge] for edge in walk) else [walk])]

    def _walks(self) -> list[list[int]]:
        """Chain the edges end to end into closed walks."""
        order = np.argsort(self.leaves, kind="stable")
        leaving = self.leaves[order]
        lo = np.searchsorted(leaving, self.arrives, side="left")
        hi = np.searchsorted(leaving, self.arrives, side="right")
        if (hi == lo).any():
            raise ValueError("an outline does not close (the polygons do not form a coverage)")
        following = order[np.minimum(lo, len(order) - 1)]
        self.pinched = hi - lo > 1  # the group touches itself where these edges arrive
        pinched = np.flatnonzero(self.pinched)
        pinched = pinched[np.argsort(self.arrives[pinched], kind="stable")]
        bounds = np.flatnonzero(np.r_[True, np.diff(self.arrives[pinched]) != 0, True]) if len(pinched) \
            else np.zeros(1, dtype=np.int64)
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            into = pinched[a:b]
            following[into] = self._turns(into, order[lo[into[0]]:hi[into[0]]])
        following = following.tolist()
        seen = bytearray(len(following))
        walks = []
        for start in range(len(following)):
            walk = []
            edge = start
            while not seen[edge]:
                seen[edge] = 1
                walk.append(edge)
                edge = following[edge]
            if walk:
                walks.append(walk)
        return walks

    def _turns(self, into: np.ndarray, out: np.ndarray) -> np.ndarray:
        """At a node a group touches itself: for each edge coming in, the first edge out clockwise from it."""
        points = self.points
        back = points[self.head[into] - self.step[into]] - points[self.head[into]]
        ahead = points[self.tail[out] + self.step[out]] - points[self.tail[out]]
        came = np.arctan2(back[:, 1], back[:, 0])
        goes = np.arctan2(ahead[:, 1], ahead[:, 0])
        turn = np.mod(came[:, None] - goes[None, :], 2 * np.pi)
        turn[turn == 0] = 2 * np.pi
        chosen = out[np.argmin(turn, axis=1)]
        if len(np.unique(chosen)) < len(chosen):  # not a proper node (cannot happen in a coverage)
            chosen = out
        return chosen

    def areas(self, rings: list[list[int]]) -> np.ndarray:
        """Twice the signed area of each ring (positive: counter-clockwise), exact in integers."""
        points = self.points
        cross = points[:-1, 0] * points[1:, 1] - points[1:, 0] * points[:-1, 1]
        total = np.r_[0, np.cumsum(cross)]
        edge = np.where(self.forward, 1, -1) * (total[np.maximum(self.tail, self.head)]
                                                - total[np.minimum(self.tail, self.head)])
        lengths = np.fromiter((len(ring) for ring in rings), dtype=np.int64, count=len(rings))
        flat = np.fromiter(itertools.chain.from_iterable(rings), dtype=np.int64, count=int(lengths.sum()))
        sums = np.r_[0, np.cumsum(edge[flat])]
        ends = np.cumsum(lengths)
        return sums[ends] - sums[ends - lengths]

    def ring_coordinates(self, rings: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Return the points of rings (each point once, not closed) and the ring of each point."""
        pieces = [np.arange(self.tail[e], self.head[e], self.step[e]) for ring in rings for e in ring]
        which = np.repeat(np.arange(len(rings)), [sum(abs(int(self.head[e] - self.tail[e])) for e in ring)
                                                  for ring in rings])
        index = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
        return self.points[index].astype(float), which


def _ring_refs(edges: _Edges, rings: list[list[int]]) -> list[list[int]]:
    """Each ring's arc references."""
    lengths = np.fromiter((len(ring) for ring in rings), dtype=np.int64, count=len(rings))
    flat = edges.refs()[np.fromiter(itertools.chain.from_iterable(rings), dtype=np.int64,
                                    count=int(lengths.sum()))].tolist()
    ends = np.cumsum(lengths).tolist()
    return [flat[end - n:end] for end, n in zip(ends, lengths.tolist(), strict=True)]


def _split(walk: list[int], arrives: list) -> list[list[int]]:
    """Cut a walk where it comes back to a node it passed (``arrives``: each edge's node): simple rings."""
    rings, stack, at = [], [], {arrives[walk[-1]]: 0}
    for edge in walk:
        stack.append(edge)
        node = arrives[edge]
        i = at.get(node)
        if i is None:
            at[node] = len(stack)
            continue
        ring = stack[i:]
        for passed in ring[:-1]:
            del at[arrives[passed]]
        del stack[i:]
        rings.append(ring)
    return rings


def _hole_owners(edges: _Edges, rings: list, outer: np.ndarray, hole: np.ndarray,
                 group_of: np.ndarray) -> np.ndarray:
    """Return the outer ring each hole belongs to: its group's only one, else the smallest around it."""
    n_outer = np.bincount(group_of[outer], minlength=int(group_of.max()) + 1 if len(group_of) else 0)
    only = np.full(len(n_outer), -1, dtype=np.int64)
    only[group_of[outer]] = outer
    owner = only[group_of[hole]] if len(hole) else np.zeros(0, dtype=np.int64)
    unsure = np.flatnonzero(n_outer[group_of[hole]] > 1) if len(hole) else np.zeros(0, dtype=np.int64)
    owner[unsure] = -1
    if len(unsure):
        _around(edges, rings, outer, hole[unsure], group_of, owner, unsure)
    if (owner < 0).any():
        raise ValueError("a hole lies in no outer ring of its group (the polygons do not form a coverage)")
    return owner


def _around(edges: _Edges, rings: list, outer: np.ndarray, holes: np.ndarray, group_of: np.ndarray,
            owner: np.ndarray, at: np.ndarray) -> None:
    """Set ``owner[at]`` to the smallest outer ring of its group around each of ``holes``."""
    candidates = outer[np.isin(group_of[outer], group_of[holes])]
    xy, which = edges.ring_coordinates([rings[r] for r in candidates])
    shells = np.asarray(shapely.polygons(shapely.linearrings(xy, indices=which)))
    xy, which = edges.ring_coordinates([rings[r] for r in holes])
    found_hole, found_shell = shapely.STRtree(shells).query(shapely.linearrings(xy, indices=which),
                                                            predicate="covered_by")
    same = group_of[holes[found_hole]] == group_of[candidates[found_shell]]
    found_hole, found_shell = found_hole[same], found_shell[same]
    order = np.lexsort((np.asarray(shapely.area(shells))[found_shell], found_hole))
    first = np.r_[True, found_hole[order][1:] != found_hole[order][:-1]] if len(order) else order > 0
    owner[at[found_hole[order][first]]] = candidates[found_shell[order][first]]
