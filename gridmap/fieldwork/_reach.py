"""Geometry helpers of the walking circles: cutting many lines at once, and unions of buffered edges kept.

:func:`cut_lines` is :func:`shapely.ops.substring` (forward cuts) for an array of lines in one pass.
:class:`BufferTree` keeps the walk-off buffers of a network's edges and the unions of nested groups of them
(a k-d tree on the edges' midpoints), so the area of a set of reached edges is the union of a few stored
group unions and the odd edges, rather than of one buffer per edge: the same area, ~2 times faster for the
sample city's 765 circles.

Examples
--------
>>> import numpy as np
>>> from shapely import LineString
>>> line = LineString([(0, 0), (10, 0), (10, 10)])
>>> [part.wkt for part in cut_lines(np.array([line, line]), np.array([5.0, 0.0]), np.array([15.0, 0.0]))]
['LINESTRING (5 0, 10 0, 10 5)', 'POINT (0 0)']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

__all__ = ["cut_lines", "BufferTree"]

#: Edges in a group of the tree below which its edges are kept one by one.
_LEAF = 4


def cut_lines(lines: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Return the part of each line from ``start`` to ``end`` metres along it (``0 <= start <= end``).

    What :func:`shapely.ops.substring` returns for each, for all of them at once: a LineString from the
    point ``start`` along, through the vertices strictly between, to the point ``end`` along; a Point where
    ``start == end``.
    """
    lines = np.asarray(lines, dtype=object)
    if not len(lines):
        return lines
    first = shapely.line_interpolate_point(lines, start)
    last = shapely.line_interpolate_point(lines, end)
    coords, line = shapely.get_coordinates(lines, return_index=True)
    count = np.bincount(line, minlength=len(lines))
    position = np.arange(len(coords)) - np.repeat(np.cumsum(count) - count, count)
    along = _along(coords, line, position, count)
    inside = (position <= count[line] - 2) & (along > start[line]) & (along < end[line])
    ends = shapely.get_coordinates(np.concatenate([first, last]))
    points = np.concatenate([ends, coords[inside]])
    owner = np.concatenate([np.arange(len(lines)), np.arange(len(lines)), line[inside]])
    order = np.concatenate([np.full(len(lines), -1), np.full(len(lines), np.iinfo(np.int64).max),
                            position[inside]])
    sort = np.lexsort((order, owner))
    parts = np.asarray(shapely.linestrings(points[sort], indices=owner[sort]), dtype=object)
    return np.where(start == end, first, parts)


def _along(coords: np.ndarray, line: np.ndarray, position: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Distance along its line to each vertex, summed segment by segment from the line's start."""
    step = np.zeros(len(coords))
    later = position > 0
    step[later] = np.sqrt(((coords[1:] - coords[:-1]) ** 2).sum(axis=1))[later[1:]]
    table = np.zeros((len(count), int(count.max(initial=0))))
    table[line, position] = step
    return np.cumsum(table, axis=1)[line, position]


@dataclass
class BufferTree:
    """The walk-off buffers of a network's edges and the unions of nested groups of them."""

    buffers: np.ndarray
    members: list[np.ndarray]
    unions: list[shapely.Geometry]
    children: list[tuple[int, int] | None]

    @classmethod
    def build(cls, edges: np.ndarray, walk_off: float, quad_segs: int) -> BufferTree:
        """Buffer every edge and unite the buffers of each group, halving groups by x, then y, in turn."""
        tree = cls(shapely.buffer(edges, walk_off, quad_segs=quad_segs), [], [], [])
        middle = shapely.get_coordinates(shapely.line_interpolate_point(edges, 0.5, normalized=True))
        tree._add(np.arange(len(edges)), middle, 0)
        return tree

    def _add(self, members: np.ndarray, middle: np.ndarray, depth: int) -> int:
        children = None
        if len(members) > _LEAF:
            ordered = members[np.argsort(middle[members, depth % 2], kind="stable")]
            half = len(ordered) // 2
            children = (self._add(ordered[:half], middle, depth + 1),
                        self._add(ordered[half:], middle, depth + 1))
        self.members.append(members)
        self.children.append(children)
        self.unions.append(shapely.union_all(self.buffers[members]) if children is None
                           else shapely.union(self.unions[children[0]], self.unions[children[1]]))
        return len(self.members) - 1

    def covering(self, reached: np.ndarray) -> list[shapely.Geometry]:
        """Polygons whose union is the union of the buffers of the edges ``reached`` (a mask of the edges)."""
        found: list[shapely.Geometry] = []
        stack = [len(self.members) - 1]
        while stack:
            group = stack.pop()
            inside = reached[self.members[group]]
            if inside.all():
                found.append(self.unions[group])
            elif inside.any():
                children = self.children[group]
                if children is None:
                    found.extend(self.buffers[self.members[group][inside]])
                else:
                    stack.extend(children)
        return found
