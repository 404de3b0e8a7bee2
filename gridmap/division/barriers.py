"""Barriers: cut communities into blocks along streets, rivers and railways, so that grids follow them.

A street office draws grids along roads, rivers and railways, not across them. Given a line layer of such
barriers (an OpenStreetMap extract, a city's road file; polygons such as rivers drawn as areas count by
their outline), each community is first cut into **blocks** (街区): the faces of the community boundary and
the barrier lines, noded together with snap-rounding and polygonised (``shapely.polygonize``, as momepy's
``enclosures`` does; on a street lattice the direct shapely path is several times faster than
``momepy.enclosures``, see ``benchmarks/bench_barriers.py``). Dangling road ends, lines outside the community
and duplicate lines close no face, so they change nothing; faces smaller than ``GridRules.min_block_m2`` or
thinner than :data:`MIN_BLOCK_WIDTH_M` (a line drawn a metre beside the community boundary or beside a
duplicate of itself) are merged into the neighbouring block they share the longest edge with.

:func:`gridmap.division.build_grids` then groups units within blocks and tessellates each block's units
inside the block; a block without units joins the neighbouring grid that shares the longest edge with it.

All geometry is metric (metres), one community at a time.

Examples
--------
>>> from shapely import LineString, box
>>> community = box(0, 0, 400, 200)
>>> lines = np.array([LineString([(200, -50), (200, 250)]), LineString([(300, 0), (300, 10)])])
>>> blocks = cut_blocks(community, lines, min_area_m2=200)
>>> sorted(round(b.area) for b in blocks)    # the dangle at x=300 cuts nothing
[40000, 40000]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike
from shapely.geometry.base import BaseGeometry

from gridmap.crs import metric_crs
from gridmap.division.tessellate import GRID_SIZE_M, dissolve
from gridmap.errors import CRSError, GeometryError

__all__ = [
    "barrier_lines",
    "cut_blocks",
    "block_of",
    "common_edges",
    "absorb_blocks",
    "along_barriers",
    "MIN_BLOCK_WIDTH_M",
]

#: A block whose mean width (2 × area / perimeter) is below this (m) is a sliver and joins a neighbour.
MIN_BLOCK_WIDTH_M = 5.0

_LINE_TYPES = (shapely.GeometryType.LINESTRING, shapely.GeometryType.LINEARRING)


def barrier_lines(barriers: gpd.GeoDataFrame | gpd.GeoSeries, crs: pyproj.CRS) -> np.ndarray:
    """Return the barriers as single 2-D lines in the metric ``crs``: polygons by their outlines.

    Parameters
    ----------
    barriers : geopandas.GeoDataFrame or geopandas.GeoSeries
        Lines, multilines, polygons or multipolygons (roads, rivers, railways) with a CRS; Z coordinates
        are dropped, points and empty or missing geometries ignored.
    crs : pyproj.CRS
        The metric CRS of the division.

    Returns
    -------
    numpy.ndarray of shapely LineStrings

    Raises
    ------
    CRSError
        The layer has no CRS.
    GeometryError
        ``barriers`` is not a GeoDataFrame or GeoSeries, or holds no line or polygon (points only, or no
        records: surely the wrong file or layer).

    Examples
    --------
    >>> from shapely import LineString, box
    >>> frame = gpd.GeoDataFrame(geometry=[LineString([(0, 0, 5), (10, 0, 5)]), box(0, 0, 1, 1)], crs=3857)
    >>> [line.wkt for line in barrier_lines(frame, pyproj.CRS(3857))]
    ['LINESTRING (0 0, 10 0)', 'LINESTRING (1 0, 1 1, 0 1, 0 0, 1 0)']
    """
    if not isinstance(barriers, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise GeometryError(
            f"barriers must be a GeoDataFrame or GeoSeries of lines, got {type(barriers).__name__}",
            fix="read the road/river/railway file with gridmap.read_layer(path)",
        )
    geometry = barriers.geometry if isinstance(barriers, gpd.GeoDataFrame) else barriers
    if geometry.crs is None:
        raise CRSError(
            "the barriers layer has no CRS",
            fix="set it, e.g. roads.set_crs('EPSG:4326'), or read the file with gridmap.read_layer(path, "
            "coords='gcj02') when it comes from Amap",
        )
    geometry = geometry[~(geometry.isna() | geometry.is_empty)]
    projected = geometry.to_crs(crs).to_numpy()
    parts = shapely.get_parts(shapely.force_2d(projected))
    polygonal = shapely.get_dimensions(parts) == 2
    parts = np.concatenate([parts[~polygonal], shapely.get_parts(shapely.boundary(parts[polygonal]))])
    parts = shapely.get_parts(parts)  # a polygon with holes has a multi-line boundary
    lines = parts[np.isin(shapely.get_type_id(parts), _LINE_TYPES) & (shapely.length(parts) > 0)]
    if not len(lines):
        kinds = ", ".join(sorted(set(geometry.geom_type))) or "no geometry"
        raise GeometryError(
            f"the barriers layer holds no lines or polygons ({len(barriers)} records: {kinds})",
            path=barriers.attrs.get("gridmap_source"),
            fix="give the road, river or railway layer (lines, or polygons for rivers drawn as areas); "
            "choose its layer with --barriers-layer",
        )
    return cast(np.ndarray, shapely.linestrings(shapely.get_coordinates(lines), indices=_ring_index(lines)))


def _ring_index(lines: np.ndarray) -> np.ndarray:
    """Return the line each coordinate of ``lines`` belongs to (rings become plain lines)."""
    return np.repeat(np.arange(len(lines)), shapely.get_num_coordinates(lines))


def cut_blocks(
    community: BaseGeometry, lines: ArrayLike, *, min_area_m2: float, grid_size: float = GRID_SIZE_M
) -> np.ndarray:
    """Cut a community into blocks along the barrier lines; the blocks tile the community exactly.

    Parameters
    ----------
    community : shapely Polygon or MultiPolygon
        The community, metric.
    lines : sequence of shapely LineStrings
        Barrier lines (any extent: only their parts inside the community cut it).
    min_area_m2 : float
        Blocks smaller than this, or thinner than :data:`MIN_BLOCK_WIDTH_M`, are merged into the neighbouring
        block with the longest shared edge.
    grid_size : float, default 0.0001
        Precision of the output coordinates (m), the tessellation's.

    Returns
    -------
    numpy.ndarray of shapely Polygons
        The blocks, a coverage whose union is the community (on the ``grid_size`` grid), largest first.
    """
    whole = shapely.set_precision(community, grid_size)
    lines = np.asarray(lines, dtype=object)
    if len(lines):  # lines shorter than the precision cut nothing (and upset the snap-rounding)
        shapely.prepare(whole)
        lines = lines[(shapely.length(lines) > grid_size) & shapely.intersects(whole, lines)]
    if not len(lines):
        return np.array([whole], dtype=object)
    xmin, ymin, xmax, ymax = shapely.bounds(whole) + np.array([-1, -1, 1, 1])
    inside = shapely.clip_by_rect(lines, xmin, ymin, xmax, ymax)  # a cheap cut; faces outside are dropped
    linework = np.concatenate([shapely.get_parts(inside), shapely.get_parts(shapely.boundary(whole))])
    linework = linework[shapely.get_dimensions(linework) == 1]
    noded = shapely.union_all(shapely.line_merge(shapely.multilinestrings(linework)), grid_size=grid_size)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.intersects(whole, shapely.point_on_surface(faces))]
    if len(faces) < 2:
        return np.array([whole], dtype=object)
    blocks = _merge_slivers(faces, min_area_m2)
    return blocks[np.argsort(-shapely.area(blocks), kind="stable")]


def _is_sliver(faces: np.ndarray, min_area_m2: float) -> np.ndarray:
    area, perimeter = shapely.area(faces), shapely.length(faces)
    width = np.divide(2 * area, perimeter, out=np.zeros_like(area), where=perimeter > 0)
    return (area < min_area_m2) | (width < MIN_BLOCK_WIDTH_M)


def _merge_slivers(faces: np.ndarray, min_area_m2: float) -> np.ndarray:
    """Join each sliver face, smallest first, to the neighbour it shares the longest edge with."""
    for _ in range(8):  # a sliver joined to another sliver may still be one: a few rounds settle it
        slivers = np.flatnonzero(_is_sliver(faces, min_area_m2))
        if not len(slivers) or len(faces) < 2:
            return faces
        parent = np.arange(len(faces))
        tree = shapely.STRtree(faces)
        for face in slivers[np.argsort(shapely.area(faces[slivers]), kind="stable")]:
            touching = tree.query(faces[face], predicate="intersects")
            touching = touching[touching != face]
            if not len(touching):
                continue
            shared = shapely.length(shapely.intersection(faces[face], faces[touching]))
            if shared.max() <= 0:
                continue
            parent[face] = _root(parent, int(touching[np.argmax(shared)]))
        labels = np.array([_root(parent, i) for i in range(len(faces))])
        if (labels == np.arange(len(faces))).all():
            return faces
        _, labels = np.unique(labels, return_inverse=True)
        faces = dissolve(faces, labels, labels.max() + 1)
    return faces


def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        i = parent[i]
    return i


def block_of(units: ArrayLike, blocks: ArrayLike) -> np.ndarray:
    """Return the block of each unit: a point's block holds it, a polygon's holds most of it.

    Ties (a point on a street line) go to the block listed first; a unit touching no block goes to the
    nearest.

    Examples
    --------
    >>> from shapely import Point, box
    >>> block_of([Point(5, 5), box(8, 0, 14, 10), Point(20, 5)], [box(0, 0, 10, 10), box(10, 0, 20, 10)])
    array([0, 1, 1])
    """
    units, blocks = np.asarray(units, dtype=object), np.asarray(blocks, dtype=object)
    found = np.full(len(units), -1, dtype=np.int64)
    if len(blocks) == 1:
        return np.zeros(len(units), dtype=np.int64)
    tree = shapely.STRtree(blocks)
    unit, block = tree.query(units, predicate="intersects")
    score = np.where(shapely.get_dimensions(units[unit]) == 2,
                     shapely.area(shapely.intersection(units[unit], blocks[block])), 1.0)
    order = np.lexsort((block, -score, unit))
    unit, block = unit[order], block[order]
    first = np.r_[True, unit[1:] != unit[:-1]] if len(unit) else np.zeros(0, dtype=bool)
    found[unit[first]] = block[first]
    missing = np.flatnonzero(found < 0)
    if len(missing):
        near, hit = tree.query_nearest(units[missing], all_matches=False)
        found[missing[near]] = hit
    return found


def common_edges(pieces: ArrayLike, grid_size: float = GRID_SIZE_M) -> np.ndarray:
    """Return pieces that tile an area (made separately) noded together, so that neighbours share edges.

    Regions tessellated block by block meet along the block edges with different vertices;
    ``shapely.coverage_union_all`` needs shared edges vertex for vertex. The piece outlines are noded with
    snap-rounding and polygonised again; each face goes to the piece that holds it.
    """
    pieces = np.asarray(pieces, dtype=object)
    present = np.flatnonzero(~shapely.is_empty(pieces))
    if len(present) < 2:
        return pieces
    outlines = shapely.get_parts(shapely.boundary(pieces[present]))
    noded = shapely.union_all(shapely.line_merge(shapely.multilinestrings(outlines)), grid_size=grid_size)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    points = shapely.point_on_surface(faces)
    face, hit = shapely.STRtree(pieces[present]).query(points, predicate="within")
    labels = np.full(len(faces), -1, dtype=np.int64)
    labels[face[::-1]] = present[hit[::-1]]  # the first piece holding a face wins
    keep = labels >= 0  # a face outside every piece is a hole of the area
    out = dissolve(faces[keep], labels[keep], len(pieces))
    out[shapely.is_empty(pieces)] = pieces[shapely.is_empty(pieces)]
    return out


def absorb_blocks(grids: Iterable[BaseGeometry], blocks: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Give each block without units to the grid it shares the longest edge with.

    ``grids`` and ``blocks`` together form a coverage. A block that touches only other unit-less blocks
    waits until one of them has joined a grid. Returns the grids and, for each block, the grid it joined
    (-1 for a block that touches no grid, e.g. an island of a community in several pieces, which stays a
    part of the largest grid).

    Examples
    --------
    >>> from shapely import box
    >>> grids, joined = absorb_blocks([box(0, 0, 10, 10), box(10, 0, 20, 3)], [box(10, 3, 20, 10)])
    >>> [g.area for g in grids], joined.tolist()
    ([100.0, 100.0], [1])
    """
    grids, blocks = np.array(list(grids), dtype=object), np.asarray(blocks, dtype=object)
    joined = np.full(len(blocks), -1, dtype=np.int64)
    pending = list(range(len(blocks)))
    while pending:
        waiting = []
        for b in pending:
            shared = shapely.length(shapely.intersection(blocks[b], grids))
            if not len(shared) or shared.max() <= 0:
                waiting.append(b)
                continue
            target = int(np.argmax(shared))
            grids[target] = shapely.coverage_union_all([grids[target], blocks[b]])
            joined[b] = target
        if len(waiting) == len(pending):
            break
        pending = waiting
    if pending and len(grids):
        target = int(np.argmax(shapely.area(grids)))
        grids[target] = shapely.union_all([grids[target], *blocks[pending]])
    return grids, joined


def along_barriers(
    grids: gpd.GeoDataFrame, barriers: gpd.GeoDataFrame | gpd.GeoSeries, communities: gpd.GeoDataFrame,
    *, tolerance_m: float = 1.0,
) -> float:
    """Share of the grids' inner boundary length (community outlines excluded) that runs along barriers.

    Parameters
    ----------
    grids, communities : geopandas.GeoDataFrame
        The built grids and the communities they tile.
    barriers : geopandas.GeoDataFrame or geopandas.GeoSeries
        The barrier layer given to the build.
    tolerance_m : float, default 1
        An edge within this distance of a barrier line runs along it.

    Returns
    -------
    float
        Between 0 and 1; 1.0 when the grids have no inner boundary.
    """
    crs = metric_crs(communities)
    edges = shapely.union_all(shapely.boundary(grids.to_crs(crs).geometry.to_numpy()))
    outlines = shapely.union_all(shapely.boundary(communities.to_crs(crs).geometry.to_numpy()))
    inner = shapely.difference(edges, shapely.buffer(outlines, tolerance_m))
    total = shapely.length(inner)
    if total <= 0:
        return 1.0
    lines = shapely.union_all(barrier_lines(barriers, crs))
    return float(shapely.length(shapely.intersection(inner, shapely.buffer(lines, tolerance_m))) / total)
