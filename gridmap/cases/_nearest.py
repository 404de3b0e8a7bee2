r"""Exact distances from points outside every grid to the nearest grid, in bulk and mostly in numpy.

Private to :mod:`gridmap.cases.gridindex`. The distance from a point outside every grid to the nearest grid
is its distance to the *outline*: the boundary segments no two grids share (see ``gridindex._outline``).
:class:`Outline` answers most points without GEOS by the convex hull of the outline's vertices:

* the hull ``H`` contains every grid, so ``distance(p, grids) >= distance(p, H)``;
* when the point of ``H`` nearest to ``p`` is a hull vertex (always a grid vertex) or lies on a hull edge
  that is itself an outline segment, that point belongs to a grid, so the two distances are equal.

Which feature of a convex polygon is nearest to an outside point is told by a local test: ``p`` is in the
region of edge ``i`` when it projects onto the edge from outside, in the region of vertex ``v`` when it lies
beyond both edges meeting there. A first guess (the edge whose outward normal points the way ``p`` lies
from the hull's centre) is walked along the hull until the test holds, a few steps at most, for all points
at once. For thousands of points, square cells over the hull's surroundings give a better start: the
features nearest to a cell's corners are found that way once per corner, and a binary search of the edges
between them finds each point's, which the local test then certifies in one step (feature regions are
convex, so a cell's points are nearest to features between its corners'). Points the test leaves
unanswered — inside the hull (in a bay of the outline or a hole), or facing a hull edge that bridges a
bay — get GEOS's ``STRtree.query_nearest`` over the outline segments, as before. Far from the grids almost
every point faces a hull vertex, so a city-wide file against one district's grids costs a few numpy
passes instead of a tree search per case.

Distances to a segment use GEOS's own formula (``Distance::pointToSegment``), so both paths agree with
``shapely.distance`` to the last bits.
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["Outline"]

#: Steps of the walk along the hull before a point is handed to the STR-tree.
_MAX_STEPS = 12
#: Points from which the hull's cells pay (:meth:`_Hull._cell_starts`), points per cell, cells along a side
#: at most, and how many fine edges at most a cell's corners' nearest features may span.
_CELLS_FROM, _POINTS_PER_CELL, _SIDE, _CELL_SPAN = 4096, 16, 1024, 32


class Outline:
    """The outline segments of a set of grids (metric coordinates), ready for :meth:`distances`.

    Parameters
    ----------
    ends : numpy.ndarray of float, shape (n, 2, 2)
        The end points of every grid boundary segment no two grids share, in a metric CRS.

    Examples
    --------
    >>> import shapely
    >>> square = shapely.get_coordinates(shapely.box(0, 0, 2, 2).exterior)
    >>> outline = Outline(np.stack([square[:-1], square[1:]], axis=1))
    >>> outline.distances(np.array([5.0, 1.0, 5.0]), np.array([1.0, -3.0, 6.0]))
    array([3., 3., 5.])
    """

    def __init__(self, ends: np.ndarray):
        self._ends = np.asarray(ends, dtype=np.float64).reshape(-1, 2, 2)
        self._tree: shapely.STRtree | None = None
        self._hull = _hull(self._ends) if len(self._ends) else None

    def distances(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the distance from each point (outside every grid) to the nearest outline segment.

        NaN for points with a missing (NaN) or infinite coordinate.
        """
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        distance = np.full(len(x), np.nan)
        usable = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        if not len(self._ends) or not len(usable):
            return distance
        left = usable
        if self._hull is not None:
            answered, value = self._hull.distances(x[usable], y[usable])
            distance[usable[answered]] = value
            left = usable[np.isnan(distance[usable])]
        if len(left):
            distance[left] = self._queried(x[left], y[left])
        return distance

    def _queried(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if self._tree is None:
            # Small nodes: far points face long runs of short segments at almost the same distance,
            # and a tree of 4 per node prunes them about twice as fast as the default 10.
            self._tree = shapely.STRtree(np.asarray(shapely.linestrings(self._ends)), node_capacity=4)
        (point, _), found = self._tree.query_nearest(shapely.points(x, y), return_distance=True,
                                                     all_matches=False)
        distance = np.full(len(x), np.nan)
        distance[point] = found
        return distance


class _Polygon:
    """A convex polygon, vertices counter-clockwise (vertex ``i`` starts edge ``i``)."""

    def __init__(self, vx: np.ndarray, vy: np.ndarray):
        self.vx, self.vy = vx, vy
        self.ex, self.ey = np.roll(vx, -1) - vx, np.roll(vy, -1) - vy
        self.cx, self.cy = float(vx.mean()), float(vy.mean())
        angle = np.arctan2(-self.ex, self.ey)  # outward normal (ey, -ex) of a counter-clockwise ring
        self._first = int(np.argmin(angle))
        self._angles = np.unwrap(np.roll(angle, -self._first))  # increasing from the smallest

    def first_guess(self, x: np.ndarray, y: np.ndarray, origin: tuple | None = None) -> np.ndarray:
        """Return the edge whose outward normal comes first at or after the direction ``origin`` -> point.

        ``origin`` is a point (or one per point) near the feature nearest the point; the centre by default.
        """
        ox, oy = (self.cx, self.cy) if origin is None else origin
        direction = np.arctan2(y - oy, x - ox)
        direction = self._angles[0] + np.mod(direction - self._angles[0], 2 * np.pi)
        position = np.searchsorted(self._angles, direction) % len(self._angles)
        return (position + self._first) % len(self._angles)

    def walk(self, x: np.ndarray, y: np.ndarray, edge: np.ndarray, steps: int
             ) -> tuple[np.ndarray, np.ndarray]:
        """Walk each point from ``edge`` to the feature of the polygon nearest to it, ``steps`` at most.

        Returns the edge reached and where the point lies: ``_START`` in the region of the edge's start
        vertex, ``_FACING`` in the edge's own region, ``_BEHIND`` projecting onto the edge from inside, or
        ``_WALKING`` (steps ran out).
        """
        m = len(self.vx)
        edge = edge.copy()
        state = np.full(len(x), _WALKING, dtype=np.int8)
        active = np.arange(len(x))
        for _ in range(steps):
            px, py, i = x[active], y[active], edge[active]
            wx, wy = px - self.vx[i], py - self.vy[i]
            along = wx * self.ex[i] + wy * self.ey[i]
            before, beyond = along < 0, along > self.ex[i] ** 2 + self.ey[i] ** 2
            h, j = (i - 1) % m, (i + 1) % m
            # before the edge's start: in the start vertex's region when beyond the end of the edge before;
            # beyond its end: in the end vertex's region (start of edge j) when before the start of edge j
            at_start = before & (wx * self.ex[h] + wy * self.ey[h] >= 0)
            at_end = beyond & ((px - self.vx[j]) * self.ex[j] + (py - self.vy[j]) * self.ey[j] <= 0)
            within = ~before & ~beyond
            facing = wx * self.ey[i] - wy * self.ex[i] >= 0
            state[active] = np.select([at_start | at_end, within & facing, within],
                                      [_START, _FACING, _BEHIND],
                                      _WALKING)
            edge[active] = np.where(before & ~at_start, h, np.where(beyond, j, i))
            active = active[(before & ~at_start) | (beyond & ~at_end)]
            if not len(active):
                break
        return edge, state


_WALKING, _START, _FACING, _BEHIND = 0, 1, 2, 3


class _Hull:
    """The outline's convex hull, which of its edges are outline segments, and a coarse copy to start from.

    The coarse polygon keeps every ``k``-th vertex (``k`` about the square root of their number): a walk
    along it crosses a long, finely cut side in a few steps, and a binary search of the fine edges the
    coarse edge it reaches spans finds where to start on the fine ring.
    """

    def __init__(self, vx: np.ndarray, vy: np.ndarray, on_grid: np.ndarray):
        self.fine, self.on_grid = _Polygon(vx, vy), on_grid
        m = len(vx)
        self.k = max(1, int(np.sqrt(m))) if m >= 16 else 1
        self.coarse = _Polygon(vx[:: self.k], vy[:: self.k]) if self.k > 1 else self.fine
        self._tables: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def distances(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the points whose nearest hull point is on a grid, and their distances."""
        start = np.empty(len(x), dtype=np.int64)
        rest = np.flatnonzero(~self._cell_starts(x, y, start))
        if len(rest):
            start[rest] = self._searched(x[rest], y[rest])
        distance, settled = self._settled(x, y, start)
        rest = np.flatnonzero(~settled)
        if len(rest):
            f = self.fine
            edge, state = f.walk(x[rest], y[rest], start[rest], _MAX_STEPS)
            corner = state == _START
            facing = (state == _FACING) & self.on_grid[edge]
            dx, dy = x[rest] - f.vx[edge], y[rest] - f.vy[edge]
            distance[rest[corner]] = np.sqrt(dx * dx + dy * dy)[corner]
            i = edge[facing]
            distance[rest[facing]] = _to_segment(x[rest[facing]], y[rest[facing]], f.vx[i], f.vy[i], f.ex[i],
                                                 f.ey[i])
        answered = np.flatnonzero(~np.isnan(distance))
        return answered, distance[answered]

    def _settled(self, x: np.ndarray, y: np.ndarray, edge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step of :meth:`_Polygon.walk` for every point.

        The distance of those in the region of ``edge``'s start vertex or facing ``edge`` (NaN when that
        edge bridges a bay) and which those are.
        """
        f = self.fine
        wx, wy, ex, ey = x - f.vx[edge], y - f.vy[edge], f.ex[edge], f.ey[edge]
        along, cross, length2 = wx * ex + wy * ey, wx * ey - wy * ex, ex * ex + ey * ey
        h = edge - 1  # -1 is the last edge
        corner = (along < 0) & (wx * f.ex[h] + wy * f.ey[h] >= 0)
        facing = (along >= 0) & (along <= length2) & (cross >= 0)
        # GEOS's formulas, as _to_segment and the walk's distances compute them, to the last bit
        distance = np.where(corner, np.sqrt(wx * wx + wy * wy), np.abs(cross / length2) * np.sqrt(length2))
        distance[~(corner | (facing & self.on_grid[edge]))] = np.nan
        return distance, corner | facing

    def _searched(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the fine edge to start each point's walk from, found from the hull's centre."""
        edge = self.coarse.first_guess(x, y)
        if self.k > 1:
            edge = self._fine_start(x, y, *self.coarse.walk(x, y, edge, len(self.coarse.vx)))
        return edge

    def _cell_starts(self, x: np.ndarray, y: np.ndarray, start: np.ndarray) -> np.ndarray:
        """Give points a fine edge to start from by the square cell they lie in; return which got one.

        Square cells are laid over the hull's box widened by its size on each side. The features nearest
        to the corners of a cell that holds points are found from the hull's centre, once per corner; the
        region of a feature is convex (a wedge or a half-strip), so a point of the cell is nearest to one
        of the features between its corners' along the ring: a binary search of those edges finds where
        its walk starts. Cells with a corner inside the hull, or whose corners' features lie far apart,
        and points beyond the cells, are left to :meth:`_searched`. The walk certifies every start, so the
        cells decide how much work a point takes, never its distance.
        """
        found = np.zeros(len(x), dtype=bool)
        if len(x) < _CELLS_FROM:
            return found
        f, m = self.fine, len(self.fine.vx)
        width, height = np.ptp(f.vx), np.ptp(f.vy)
        x0, y0 = f.vx.min() - width, f.vy.min() - height
        size = max(np.sqrt(9 * width * height / (len(x) / _POINTS_PER_CELL)), 3 * max(width, height) / _SIDE)
        nx, ny = int(np.ceil(3 * width / size)) or 1, int(np.ceil(3 * height / size)) or 1
        column, row = np.floor((x - x0) / size), np.floor((y - y0) / size)
        inside = np.flatnonzero((column >= 0) & (column < nx) & (row >= 0) & (row < ny))
        cell = column[inside].astype(np.int64) * ny + row[inside].astype(np.int64)
        used = np.flatnonzero(np.bincount(cell, minlength=nx * ny))
        # the corners of the used cells, each found once
        corner = (used // ny)[:, None] * (ny + 1) + (used % ny)[:, None] + np.array([0, 1, ny + 1, ny + 2])
        corners, slot = np.unique(corner, return_inverse=True)
        cx, cy = x0 + (corners // (ny + 1)) * size, y0 + (corners % (ny + 1)) * size
        edge, state = f.walk(cx, cy, self._searched(cx, cy), _MAX_STEPS)
        known = (state == _START) | (state == _FACING)
        # half-steps along the ring
        feature = (2 * edge + (state == _FACING)).reshape(-1)[slot.reshape(-1, 4)]
        offset = (feature - feature[:, :1] + m) % (2 * m) - m
        low, high = feature[:, 0] + offset.min(axis=1), feature[:, 0] + offset.max(axis=1)
        usable = known[slot.reshape(-1, 4)].all(axis=1) & (high - low <= 2 * _CELL_SPAN)
        lookup = np.full(nx * ny, -1, dtype=np.int64)
        lookup[used[usable]] = np.arange(int(usable.sum()))
        which = lookup[cell]
        mine = which >= 0
        points, which = inside[mine], which[mine]
        lo, hi = (low[usable] // 2 - 1)[which], (high[usable] // 2 + 2)[which]
        start[points] = self._first_not_beyond(x[points], y[points], lo, hi)
        found[points] = True
        return found

    def _first_not_beyond(self, x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Binary search of the fine edges ``lo`` .. ``hi - 1`` for the first each point is not beyond.

        Indices are taken round the ring (``-m`` to ``2m``). The edge found is the first whose end the point
        is not beyond: a guess, which the walk certifies.
        """
        f, m = self.fine, len(self.fine.vx)
        if self._tables is None:  # thrice round the ring, so that indices need no modulo
            ends = np.roll(f.vx, -1) * f.ex + np.roll(f.vy, -1) * f.ey  # beyond: p . e > end . e
            self._tables = np.tile(f.ex, 3), np.tile(f.ey, 3), np.tile(ends, 3)
        ex, ey, ends = self._tables
        lo, hi = lo + m, hi + m
        for _ in range(int(np.ceil(np.log2(max(int((hi - lo).max(initial=0)), 1) + 1)))):
            mid = (lo + hi) >> 1
            beyond = x * ex[mid] + y * ey[mid] > ends[mid]
            np.copyto(hi, mid, where=~beyond)
            mid += 1
            np.copyto(lo, mid, where=beyond)
        return lo % m

    def _fine_start(self, x: np.ndarray, y: np.ndarray, edge: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Return the fine edge to start from: a binary search of the fine edges of the coarse edge reached.

        Those of the edge before it too, for points facing the coarse edge's start vertex. Along the part of
        a convex ring a point sees, the point lies beyond the end of every edge before its nearest feature
        and of none after it: the search finds the first edge it is not beyond.
        """
        f, m, k = self.fine, len(self.fine.vx), self.k
        last = len(self.coarse.vx) - 1
        hi = np.minimum((edge + 1) * k, m)
        lo = np.where(state == _START, np.where(edge > 0, (edge - 1) * k, last * k - m), edge * k)
        for _ in range(int(np.ceil(np.log2(2 * k + m - last * k + 1)))):
            mid = (lo + hi) // 2
            i = mid % m
            beyond = (x - f.vx[i]) * f.ex[i] + (y - f.vy[i]) * f.ey[i] > f.ex[i] ** 2 + f.ey[i] ** 2
            lo, hi = np.where(beyond, mid + 1, lo), np.where(beyond, hi, mid)
        return lo % m


def _to_segment(px: np.ndarray, py: np.ndarray, ax: np.ndarray, ay: np.ndarray, ex: np.ndarray,
                ey: np.ndarray) -> np.ndarray:
    """Distance from points to segments they project onto (``a`` to ``a + e``): GEOS's formula."""
    length2 = ex * ex + ey * ey
    s = ((ay - py) * ex - (ax - px) * ey) / length2
    return np.abs(s) * np.sqrt(length2)


def _hull(ends: np.ndarray) -> _Hull | None:
    """Return the convex hull of the segments' end points, None when it is not a polygon."""
    # the hull of one line through every end point: GEOS's hull of the same coordinates as a multipoint's,
    # without making a point geometry each (a tenth of a second for the 32,000 ends of 9,000 grids)
    hull = shapely.convex_hull(shapely.linestrings(ends.reshape(-1, 2)))
    if not isinstance(hull, shapely.Polygon) or hull.is_empty:
        return None
    ring = shapely.get_coordinates(hull.exterior)[:-1]
    if not shapely.is_ccw(hull.exterior):
        ring = ring[::-1]
    start, end = ring, np.roll(ring, -1, axis=0)
    on_grid = np.isin(_keys(start, end), _keys(ends[:, 0], ends[:, 1]))
    return _Hull(ring[:, 0].copy(), ring[:, 1].copy(), on_grid)


def _keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One hashable key per segment, whichever way it runs: its end points in a fixed order, as bytes."""
    first = (a[:, 0] < b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] <= b[:, 1]))
    low, high = np.where(first[:, None], a, b), np.where(first[:, None], b, a)
    both = np.ascontiguousarray(np.column_stack([low, high]) + 0.0)  # -0.0 is 0.0
    return both.view(np.dtype((np.void, both.dtype.itemsize * 4))).ravel()
