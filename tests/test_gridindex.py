"""gridmap.cases.GridIndex: locate equals brute force (every grid tested by shapely), any resolution."""

from __future__ import annotations

import pickle
import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import MultiPolygon, Polygon, box

from gridmap.cases import _nearest, assign, gridindex
from gridmap.cases.gridindex import GridIndex
from gridmap.cli.cases import cases as cases_group
from gridmap.crs import metric_crs
from gridmap.errors import CRSError, GeometryError, ReadError, SchemaError
from gridmap.findings import Report
from gridmap.io import read_layer, write_layer


def brute_force(grids: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Position of the smallest code among the grids each point intersects (-1: none), testing every pair."""
    points = shapely.points(x, y)
    hits = shapely.intersects(grids.geometry.to_numpy()[:, None], points[None, :])  # grids x points
    codes = grids["code"].to_numpy(dtype=str)
    order = np.argsort(codes, kind="stable")
    first = np.argmax(hits[order], axis=0)  # first grid in code order that the point intersects
    return np.where(hits.any(axis=0), order[first], -1)


def on_boundaries(grids: gpd.GeoDataFrame, n: int, rng) -> np.ndarray:
    """Vertices, edge midpoints and points at random fractions of edges: on boundaries or within rounding."""
    rings, ring = shapely.get_coordinates(shapely.boundary(grids.geometry.to_numpy()), return_index=True)
    same = np.flatnonzero(ring[1:] == ring[:-1])
    edges = same[rng.integers(0, len(same), n)]
    t = rng.uniform(0, 1, (n, 1))
    along = rings[edges] + t * (rings[edges + 1] - rings[edges])
    middle = (rings[edges] + rings[edges + 1]) / 2
    return np.vstack([rings[rng.integers(0, len(rings), n)], middle, along])


def voronoi_city(n: int, seed: int, *, origin=(0.0, 0.0), extent=5000.0, crs="EPSG:4545") -> gpd.GeoDataFrame:
    """Voronoi grids in random code order, one with a hole holding another grid, one with an empty hole,
    and one of two parts."""
    rng = np.random.default_rng(seed)
    frame = box(origin[0], origin[1], origin[0] + extent, origin[1] + extent)
    seeds = shapely.multipoints(rng.uniform(origin, np.add(origin, extent), (n, 2)))
    cells = list(shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame)),
                                      frame))
    holed, inner = cells[0], shapely.buffer(cells[0].centroid, 0.001 * extent, quad_segs=4)
    cells[0] = holed.difference(inner)
    cells.append(inner.buffer(-0.0002 * extent))  # inside the hole, leaving a gap on its rim
    empty_hole = shapely.buffer(cells[1].centroid, 0.0005 * extent, quad_segs=3)
    cells[1] = cells[1].difference(empty_hole)
    outside = box(origin[0] - 0.2 * extent, origin[1], origin[0] - 0.1 * extent, origin[1] + 0.1 * extent)
    cells[2] = MultiPolygon([cells[2], outside])
    codes = [f"45010200100{i:04d}" for i in rng.permutation(len(cells))]
    return gpd.GeoDataFrame({"code": codes, "community_code": [c[:12] for c in codes]}, geometry=cells,
                            crs=crs)


def city_points(grids: gpd.GeoDataFrame, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = grids.total_bounds
    pad = 0.05 * (xmax - xmin)
    holes = shapely.get_coordinates(shapely.centroid(grids.geometry.to_numpy()[:2]))  # in the holes
    xy = np.vstack([on_boundaries(grids, n, rng), holes,
                    rng.uniform([xmin - pad, ymin - pad], [xmax + pad, ymax + pad], (3 * n, 2))])
    return xy[:, 0], xy[:, 1]


@pytest.fixture(scope="module")
def metres():
    grids = voronoi_city(150, 0)
    return grids, GridIndex(grids), city_points(grids, 1500, 1)


@pytest.fixture(scope="module")
def degrees():
    grids = voronoi_city(150, 2, origin=(108.2, 22.7), extent=0.05, crs="EPSG:4490")
    return grids, GridIndex(grids), city_points(grids, 1500, 3)


# --- exactness ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("city", ["metres", "degrees"])
def test_locate_equals_brute_force_on_boundaries_vertices_holes_parts_and_outside(city, request):
    grids, index, (x, y) = request.getfixturevalue(city)
    expected = brute_force(grids, x, y)
    np.testing.assert_array_equal(index.locate(x, y), expected)
    assert (expected[: 1500] >= 0).mean() > 0.99  # vertices and edge points are on grids
    assert (expected == -1).sum() > 100  # and some points are outside every grid
    holed, empty_hole = grids.geometry.iloc[0], grids.geometry.iloc[1]
    in_holes = shapely.points(x[4500:4502], y[4500:4502])
    assert not holed.intersects(in_holes[0]) and not empty_hole.intersects(in_holes[1])
    assert expected[4500] == len(grids) - 1 and expected[4501] == -1  # the grid in the hole; nothing
    assert (expected == 2).any()  # the grid of two parts is found in both
    part = grids.geometry.iloc[2].geoms[1]
    assert part.contains(shapely.points(x[expected == 2], y[expected == 2])).any()


@pytest.mark.parametrize(("cells_per_grid", "refine"), [(1, 1), (4, 2), (64, 8), (1024, 16), (256, 4)])
def test_any_resolution_gives_the_same_positions(metres, cells_per_grid, refine):
    grids, _, (x, y) = metres
    index = GridIndex(grids, cells_per_grid=cells_per_grid, refine=refine)
    np.testing.assert_array_equal(index.locate(x, y), brute_force(grids, x, y))


def test_index_is_reused_across_calls_and_pieces_add_up(metres):
    grids, index, (x, y) = metres
    whole = index.locate(x, y)
    pieces = np.concatenate([index.locate(x[i:i + 997], y[i:i + 997]) for i in range(0, len(x), 997)])
    np.testing.assert_array_equal(pieces, whole)
    np.testing.assert_array_equal(index.locate(x[::-1], y[::-1]), whole[::-1])  # order does not matter
    np.testing.assert_array_equal(index.locate(x, y), whole)


def test_labels_of_32767_grids_or_more_are_looked_up_in_32_bits(metres, monkeypatch):
    """The 16-bit copy of the labels (what lookups read below 32,767 grids) and the labels agree."""
    grids, index, (x, y) = metres
    short = index._lattice._first_labels
    assert short.dtype == np.int16 and len(short) == len(index._lattice.label)
    whole = index.locate(x, y)
    monkeypatch.setattr(index._lattice, "_first_labels", index._lattice.label)  # as for 32,767 grids or more
    np.testing.assert_array_equal(index.locate(x, y), whole)


def test_segments_crossing_a_corner_touch_the_cell_on_their_side_only_when_clear_of_it():
    """Hand-checked, in cells: (0.5, 0.5) -> (1.5, 1.9) meets y = 1 at x = 0.857, before x = 1 (row first);
    (0.5, 0.5) -> (1.9, 1.5) meets x = 1 first; going down-left, the same seen from the other end; through
    the corner itself, or passing it within four margins, both cells."""
    x = np.array([0.5, 1.5, 0.5, 1.9, 1.5, 0.5, 0.5, 1.5, 0.5, 1.5])
    y = np.array([0.5, 1.9, 0.5, 1.5, 1.9, 0.5, 0.5, 1.5, 0.5, 1.5 + 3e-9])
    i, j = np.floor(x).astype(np.int32), np.floor(y).astype(np.int32)
    column_first, row_first = gridindex._corner_sides(x, y, i, j, np.array([0, 2, 4, 6, 8]), margin=1e-9)
    np.testing.assert_array_equal(column_first, [False, True, True, True, True])
    np.testing.assert_array_equal(row_first, [True, False, False, True, True])


def test_overlapping_grids_and_grids_in_one_cell():
    """Overlaps (centres in two grids), and 300 tiny grids in one first-level cell with a large grid of a
    later code (more candidates than a second-level label can number)."""
    tiny = [box(i % 20 * 0.1, i // 20 * 0.1, i % 20 * 0.1 + 0.1, i // 20 * 0.1 + 0.1) for i in range(300)]
    grids = gpd.GeoDataFrame({"code": [f"t{i:03d}" for i in range(300)] + ["big", "over", "b0", "zz"]},
                             geometry=[*tiny, box(500, 500, 1000, 1000), box(700, 700, 1200, 1200),
                                       box(900, 0, 1000, 800), box(2.1, 0, 40, 40)], crs="EPSG:4545")
    rng = np.random.default_rng(4)
    xy = np.vstack([np.round(rng.uniform(0, 2.1, (3000, 2)), 2), on_boundaries(grids, 500, rng),
                    rng.uniform(-10, 1210, (3000, 2)), rng.uniform(0, 45, (1000, 2))])
    for cells_per_grid, refine in ((1, 4), (256, 4), (16, 1)):
        index = GridIndex(grids, cells_per_grid=cells_per_grid, refine=refine)
        np.testing.assert_array_equal(index.locate(*xy.T), brute_force(grids, *xy.T))


def split(rectangle, cuts):
    """Cut a rectangle (x0, y0, x1, y1) by a list of (vertical?, fraction) into a partition of rectangles."""
    pieces = [rectangle]
    for vertical, fraction in cuts:
        x0, y0, x1, y1 = pieces.pop(0)
        if vertical and x1 - x0 >= 2:
            x = x0 + max(1, int((x1 - x0) * fraction))
            pieces += [(x0, y0, x, y1), (x, y0, x1, y1)]
        elif y1 - y0 >= 2:
            y = y0 + max(1, int((y1 - y0) * fraction))
            pieces += [(x0, y0, x1, y), (x0, y, x1, y1)]
        else:
            pieces.append((x0, y0, x1, y1))
    return pieces


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.tuples(st.booleans(), st.floats(0.1, 0.9)), min_size=1, max_size=25),
       xy=st.lists(st.tuples(st.integers(-2, 34), st.integers(-2, 34)), min_size=1, max_size=200),
       scale=st.sampled_from([1.0, 1e-4, 3e3]), shift=st.sampled_from([0.0, 108.0, 5e5]),
       cells_per_grid=st.sampled_from([1, 8, 256]), refine=st.sampled_from([1, 2, 4, 8]))
def test_any_partition_any_point_at_any_resolution(cuts, xy, scale, shift, cells_per_grid, refine):
    """Integer points on a partition into rectangles (most on edges or vertices exactly), shifted, scaled."""
    rectangles = split((0, 0, 32, 32), cuts)
    codes = [f"c{k:03d}" for k in np.random.default_rng(len(cuts)).permutation(len(rectangles))]
    polygons = [box(*(shift + scale * np.array(r))) for r in rectangles]
    grids = gpd.GeoDataFrame({"code": codes}, geometry=polygons, crs="EPSG:4545")
    x, y = (shift + scale * np.array(xy, dtype=float)).T
    index = GridIndex(grids, cells_per_grid=cells_per_grid, refine=refine)
    np.testing.assert_array_equal(index.locate(x, y), brute_force(grids, x, y))


def test_building_in_chunks_and_bands_changes_nothing(metres, monkeypatch):
    grids, index, (x, y) = metres
    monkeypatch.setattr(gridindex, "_CHUNK", 97)
    monkeypatch.setattr(gridindex, "_CELLS_PER_BAND", 5000)
    chunked = GridIndex(grids)
    np.testing.assert_array_equal(chunked.locate(x, y), index.locate(x, y))
    for name in ("label", "candidate_grids", "candidate_start", "fine"):  # the same lattice, not only answers
        np.testing.assert_array_equal(getattr(chunked._lattice, name), getattr(index._lattice, name))


# --- the index as an object -----------------------------------------------------------------------------

def test_pickled_index_locates_the_same(metres):
    grids, index, (x, y) = metres
    copy = pickle.loads(pickle.dumps(index))
    np.testing.assert_array_equal(copy.locate(x, y), index.locate(x, y))
    assert copy.crs.equals(index.crs) and (copy.codes == index.codes).all()
    np.testing.assert_allclose(copy.distances(x[-5:], y[-5:]), index.distances(x[-5:], y[-5:]))


def test_threads_sharing_an_index_get_the_same_positions(metres):
    grids, _, (x, y) = metres
    index = GridIndex(grids)  # fresh: prepared geometries build their own indexes at first use
    expected = brute_force(grids, x, y)
    results = [None] * 4

    def work(slot):
        results[slot] = index.locate(x, y)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_distances_in_metres_equal_shapely_in_the_metric_crs(degrees):
    grids, index, (x, y) = degrees
    outside = index.locate(x, y) < 0
    metric = metric_crs(grids)
    polygons = shapely.union_all(grids.to_crs(metric).geometry.to_numpy())
    points = gpd.GeoSeries(shapely.points(x[outside], y[outside]), crs=grids.crs).to_crs(metric)
    expected = shapely.distance(polygons, points.to_numpy())
    np.testing.assert_allclose(index.distances(x[outside], y[outside]), expected, rtol=1e-9, atol=1e-6)
    assert expected.max() > 100 and index.distances([108.225], [22.725])[0] == 0.0


def test_attributes_inputs_untouched_and_nan_points(metres):
    grids, index, _ = metres
    before = grids.copy()
    fresh = GridIndex(grids)
    assert len(fresh) == len(grids) and fresh.codes.tolist() == grids["code"].tolist()
    assert fresh.community_codes.tolist() == grids["community_code"].tolist()
    with pytest.raises(ValueError, match="read-only"):
        fresh.codes[0] = "x"
    assert not shapely.is_prepared(grids.geometry.to_numpy()).any()
    assert grids.equals(before)
    assert index.locate([np.nan, 1.0], [1.0, np.nan]).tolist() == [-1, -1]
    assert GridIndex(grids.drop(columns="community_code")).community_codes is None
    assert repr(fresh).startswith("GridIndex(151 grids, EPSG:4545, ")


def test_no_grids_locate_nothing():
    index = GridIndex(gpd.GeoDataFrame({"code": []}, geometry=[], crs="EPSG:4545"))
    assert index.locate([1.0], [2.0]).tolist() == [-1] and len(index) == 0


def test_bad_grids_and_options_are_refused():
    grids = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
                             crs="EPSG:4545")
    with pytest.raises(SchemaError, match="must be a GeoDataFrame"):
        GridIndex(grids.geometry)
    with pytest.raises(SchemaError, match="no column 'code'"):
        GridIndex(grids.rename(columns={"code": "id"}))
    with pytest.raises(SchemaError, match="is not text"):
        GridIndex(grids.assign(code=[1, 2]))
    with pytest.raises(SchemaError, match="more than one grid"):
        GridIndex(grids.assign(code=["a", "a"]))
    with pytest.raises(CRSError, match="grids have no CRS"):
        GridIndex(grids.set_crs(None, allow_override=True))
    with pytest.raises(GeometryError, match="grid b has no polygon"):
        GridIndex(grids.set_geometry([box(0, 0, 1, 1), shapely.Point(1, 1)], crs="EPSG:4545"))
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    with pytest.raises(GeometryError, match="grid a has an invalid polygon.*Fix: repair"):
        GridIndex(grids.set_geometry([bowtie, box(1, 0, 2, 1)], crs="EPSG:4545"))
    with pytest.raises(ValueError, match="refine=3 is not allowed"):
        GridIndex(grids, refine=3)
    with pytest.raises(ValueError, match="cells_per_grid=.* is not allowed"):
        GridIndex(grids, cells_per_grid=0)
    with pytest.raises(ValueError, match="different lengths"):
        GridIndex(grids).locate([1.0, 2.0], [1.0])


def test_outline_drops_only_segments_with_grids_on_both_sides():
    """2 x 2 boxes keep their 8 outer sides; a T-junction (no exact twin) keeps both sides of it."""
    boxes = [box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2), box(1, 1, 2, 2)]
    outline = gridindex._outline(np.array(boxes, dtype=object))
    assert len(outline) == 8
    assert shapely.equals(shapely.line_merge(shapely.union_all(shapely.linestrings(outline))),
                          box(0, 0, 2, 2).exterior)
    mixed = [box(0, 0, 1, 1, ccw=False), box(1, 0, 2, 1), shapely.reverse(boxes[2]), boxes[3]]
    assert len(gridindex._outline(np.array(mixed, dtype=object))) == 8  # any ring orientation
    holed = Polygon(box(0, 0, 3, 3, ccw=False).exterior.coords, holes=[box(1, 1, 2, 2).exterior.coords])
    assert len(gridindex._outline(np.array([holed, box(1, 1, 2, 2, ccw=False)], dtype=object))) == 4
    tall = [box(0, 0, 1, 2), box(1, 0, 2, 1), box(1, 1, 2, 2)]  # x = 1 is one side left, two right
    assert len(gridindex._outline(np.array(tall, dtype=object))) == 10


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(1, 9), min_size=1, max_size=4, unique=True),
       xy=st.lists(st.tuples(st.floats(-30, 40), st.floats(-30, 40)), min_size=1, max_size=30),
       hole=st.booleans())
def test_outside_distances_equal_the_distance_to_the_union(cuts, xy, hole):
    """For every point outside every grid, the outline gives shapely's distance to all the grids."""
    edges = [0, *sorted(cuts), 10]
    cells = [box(a, b, c, d) for a, c in zip(edges[:-1], edges[1:], strict=True)
             for b, d in zip([0, 10][:-1], [0, 10][1:], strict=True)]
    if hole:  # a hole through one grid, and a grid of two parts
        cells[0] = cells[0].difference(box(0.2, 2, 0.8, 3))
        cells[-1] = MultiPolygon([cells[-1], box(12, 12, 13, 14)])
    grids = gpd.GeoDataFrame({"code": [f"g{i}" for i in range(len(cells))]}, geometry=cells, crs="EPSG:4547")
    index = GridIndex(grids)
    x, y = np.array(xy).T
    outside = index.locate(x, y) < 0
    expected = shapely.distance(shapely.union_all(cells), shapely.points(x[outside], y[outside]))
    np.testing.assert_allclose(index.outside_distances(x[outside], y[outside]), expected, rtol=1e-12,
                               atol=1e-12)  # GEOS itself differs below that (1e-100 off an edge: 1e-45)
    np.testing.assert_array_equal(index.distances(x, y)[~outside], 0.0)


def _messy_grids(seed: int, *, dense: float) -> list:
    """Random star-shaped polygons (concave, some overlapping, merged), cut to ``dense`` metres, one
    with a hole, one of two parts."""
    rng = np.random.default_rng(seed)
    shapes = []
    for _ in range(rng.integers(2, 7)):
        centre, radius, n = rng.uniform(-500, 500, 2), rng.uniform(20, 300), rng.integers(3, 14)
        angle = np.sort(rng.uniform(0, 2 * np.pi, n))
        reach = radius * rng.uniform(0.2, 1.0, n)
        ring = np.column_stack([centre[0] + reach * np.cos(angle), centre[1] + reach * np.sin(angle)])
        shapes.append(shapely.segmentize(Polygon(ring).buffer(0), dense))
    shapes = list(shapely.get_parts(shapely.union_all(shapes)))
    shapes[0] = shapes[0].difference(shapes[0].centroid.buffer(shapes[0].area ** 0.5 / 8))
    if len(shapes) > 2:
        first = MultiPolygon([*shapely.get_parts(shapes[0]), shapes[1]]) if shapes[0].is_valid else shapes[0]
        shapes = [first, *shapes[2:]]
    return [shape for shape in shapes if not shape.is_empty]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), dense=st.sampled_from([1000.0, 25.0, 3.0]),
       far=st.sampled_from([1.0, 30.0, 5000.0]), cells=st.booleans())
def test_outside_distances_by_the_hull_equal_brute_force(seed, dense, far, cells):
    """Messy grids (concave, holes, two-part grids, long finely cut sides): for points around them, near
    and up to thousands of kilometres away, on hull edges' extensions, in bays and in holes, the distance
    equals shapely's distance to the union of the grids — with the walks started from the hull's centre
    or (``cells``) from the cells the points lie in, as for thousands of points."""
    cells = _messy_grids(seed, dense=dense)
    grids = gpd.GeoDataFrame({"code": [f"g{i:02d}" for i in range(len(cells))]}, geometry=cells,
                             crs="EPSG:4547")
    rng = np.random.default_rng(seed)
    xy = [rng.uniform(-1000 * far, 1000 * far, (300, 2)), rng.uniform(-700, 700, (300, 2))]
    corners = shapely.get_coordinates(shapely.convex_hull(shapely.union_all(cells)))
    along = np.diff(corners, axis=0)
    xy += [corners[:-1] + along * 3, corners[:-1] - along * 2, corners[:-1]]  # on edges' extensions
    holes = shapely.get_coordinates(shapely.centroid(shapely.get_interior_ring(
        shapely.get_parts(cells[0]), 0)[~shapely.is_missing(shapely.get_interior_ring(
            shapely.get_parts(cells[0]), 0))]))
    x, y = np.vstack([*xy, holes]).T
    index = GridIndex(grids)
    outside = index.locate(x, y) < 0
    expected = shapely.distance(shapely.union_all(cells), shapely.points(x[outside], y[outside]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_nearest, "_CELLS_FROM", 0 if cells else 10**9)
        patch.setattr(_nearest, "_POINTS_PER_CELL", 1)
        got = index.outside_distances(x[outside], y[outside])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


def test_outside_distances_start_from_cells_and_equal_the_walk_from_the_centre(monkeypatch):
    """5,000 cases around a district of 300 finely cut grids with a bay (EPSG:4490), some coincident and
    some on cell corners: most start their walk from their cell's corners, and every distance is the one
    the walk from the hull's centre gives, and shapely's."""
    city = voronoi_city(300, 5, origin=(108.2, 22.7), extent=0.2, crs="EPSG:4490")
    city = city.set_geometry(shapely.segmentize(city.geometry.to_numpy(), 0.0005)).set_crs(4490,
                                                                                          allow_override=True)
    city = city.set_geometry(city.geometry.difference(box(108.35, 22.85, 108.41, 22.91)))
    city = city[~city.geometry.is_empty]
    rng = np.random.default_rng(1)
    x, y = rng.uniform(108.05, 108.55, 5000), rng.uniform(22.55, 23.05, 5000)  # the cells' box, about
    x[:50], y[:50] = x[50:100], y[50:100]  # coincident
    index = GridIndex(city)
    outside = np.flatnonzero(index.locate(x, y) < 0)
    x, y = x[outside], y[outside]
    searched = []
    original = _nearest._Hull._first_not_beyond
    monkeypatch.setattr(_nearest._Hull, "_first_not_beyond", lambda self, px, *rest: searched.append(len(px))
                        or original(self, px, *rest))
    monkeypatch.setattr(_nearest, "_CELLS_FROM", 10**9)
    walked = index.outside_distances(x, y)
    assert not searched
    monkeypatch.setattr(_nearest, "_CELLS_FROM", 0)
    monkeypatch.setattr(_nearest, "_POINTS_PER_CELL", 1)  # cells as small as those of a million cases
    got = index.outside_distances(x, y)
    assert sum(searched) > 0.7 * len(x)  # all but those near the bay and the hull's corners
    np.testing.assert_allclose(got, walked, rtol=1e-14, atol=0)
    metric = metric_crs(city)
    union = shapely.union_all(city.to_crs(metric).geometry.to_numpy())
    points = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=4490).to_crs(metric).to_numpy()
    np.testing.assert_allclose(got, shapely.distance(union, points), rtol=1e-12, atol=1e-9)


def test_outside_distances_answer_most_far_points_without_the_tree(monkeypatch):
    """A district of 400 finely cut grids in EPSG:4490, cases across a wider city: the hull answers
    cases beyond it, exactly as shapely measures in the metric CRS; the tree only those in the bay or
    facing the hull edge across its mouth."""
    city = voronoi_city(400, 3, origin=(108.2, 22.7), extent=0.2, crs="EPSG:4490")
    city = city.set_geometry(shapely.segmentize(city.geometry.to_numpy(), 0.0005)).set_crs(4490,
                                                                                          allow_override=True)
    bay = box(108.35, 22.85, 108.41, 22.91)  # a square bite out of the north-east corner
    city = city.set_geometry(city.geometry.difference(bay))
    city = city[~city.geometry.is_empty]
    rng = np.random.default_rng(0)
    x, y = rng.uniform(107.6, 109.0, 4000), rng.uniform(22.1, 23.5, 4000)
    index = GridIndex(city)
    outside = index.locate(x, y) < 0
    queried = []
    original = _nearest.Outline._queried
    monkeypatch.setattr(_nearest.Outline, "_queried", lambda self, px, py: queried.append(len(px)) or
                        original(self, px, py))
    got = index.outside_distances(x[outside], y[outside])
    metric = metric_crs(city)
    union = shapely.union_all(city.to_crs(metric).geometry.to_numpy())
    points = gpd.GeoSeries(gpd.points_from_xy(x[outside], y[outside]), crs=4490).to_crs(metric).to_numpy()
    np.testing.assert_allclose(got, shapely.distance(union, points), rtol=1e-12, atol=1e-9)
    in_bay = shapely.contains_xy(bay, x[outside], y[outside])
    assert 0 < in_bay.sum() <= sum(queried) < outside.sum() / 4  # the bay, and the strip facing its mouth


def test_outside_distances_of_points_without_coordinates_are_nan():
    grids = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
                             crs="EPSG:4547")
    index = GridIndex(grids)
    got = index.outside_distances([np.nan, np.inf, 5.0, 5.0, 1.0, -3.0], [0.5, 0.5, 0.5, 0.5, 4.0, -4.0])
    np.testing.assert_array_equal(got, [np.nan, np.nan, 3.0, 3.0, 3.0, 5.0])  # coincident points too
    np.testing.assert_array_equal(index.distances([np.nan, 0.5, 2.0], [0.5, 0.5, 0.0]), [np.nan, 0.0, 0.0])


# --- saving and loading ---------------------------------------------------------------------------------

def test_saved_index_loads_and_answers_the_same(degrees, tmp_path):
    grids, index, (x, y) = degrees
    grids = grids.assign(community_code=[None, *grids["community_code"].iloc[1:]])  # a missing one too
    index = GridIndex(grids)
    path = index.save(tmp_path / "city.gpkg.gridindex")
    assert [p.name for p in tmp_path.iterdir()] == ["city.gpkg.gridindex"]  # no temporary file left
    loaded = GridIndex.load(path, grids=grids)
    assert repr(loaded) == repr(index) and loaded.crs.equals(index.crs)
    np.testing.assert_array_equal(loaded.locate(x, y), index.locate(x, y))
    np.testing.assert_array_equal(loaded.distances(x, y), index.distances(x, y))
    assert loaded.codes.tolist() == index.codes.tolist()
    missing = pd.isna(index.community_codes)
    assert missing[0] and missing.sum() == 1 and (pd.isna(loaded.community_codes) == missing).all()
    assert loaded.community_codes[~missing].tolist() == index.community_codes[~missing].tolist()
    again = pickle.loads(pickle.dumps(loaded))
    np.testing.assert_array_equal(again.locate(x, y), index.locate(x, y))
    assert gridindex.fingerprint(grids) == gridindex.fingerprint(grids.copy())


@pytest.mark.parametrize("change", ["code", "geometry", "crs"])
def test_stale_or_damaged_index_is_refused(metres, tmp_path, change):
    grids, index, _ = metres
    path = index.save(tmp_path / "grids.gridindex")
    changed = {"code": lambda g: g.assign(code=[f"{c}x" for c in g["code"]]),
               "geometry": lambda g: g.set_geometry(g.geometry.translate(0.001)),
               "crs": lambda g: g.set_crs("EPSG:4546", allow_override=True)}[change](grids)
    with pytest.raises(ReadError, match="stale.*Fix: build it again"):
        GridIndex.load(path, grids=changed)
    data = path.read_bytes()
    (tmp_path / "cut").write_bytes(data[: len(data) // 2])
    (tmp_path / "other").write_bytes(b"PK\x03\x04 not an index")
    for name in ("cut", "other", "missing"):
        with pytest.raises(ReadError, match="grid index"):
            GridIndex.load(tmp_path / name)


def test_cli_assign_saves_and_then_uses_a_fresh_index(tmp_path, monkeypatch):
    grids = voronoi_city(40, 5, origin=(108.2, 22.7), extent=0.05, crs="EPSG:4490")
    write_layer(grids, tmp_path / "city.gpkg", "grids")
    points = shapely.points(*city_points(grids, 100, 6))
    cases = gpd.GeoDataFrame({"case_id": [f"c{i}" for i in range(len(points))],
                              "reported_at": pd.Timestamp("2025-03-01 09:00")}, geometry=points,
                             crs="EPSG:4490")
    write_layer(cases, tmp_path / "cases.parquet")
    run = ["assign", str(tmp_path / "cases.parquet"), "--grids", str(tmp_path / "city.gpkg"), "--out"]
    first = CliRunner().invoke(cases_group, [*run, str(tmp_path / "a.parquet"), "--save-index"])
    assert first.exit_code == 0, first.output
    saved = gridindex.index_path(tmp_path / "city.gpkg")
    assert saved.exists()
    monkeypatch.setattr(GridIndex, "__init__", lambda *a, **k: pytest.fail("the saved index was not used"))
    second = CliRunner().invoke(cases_group, [*run, str(tmp_path / "b.parquet")])
    assert second.exit_code == 0, second.output
    a, b = read_layer(tmp_path / "a.parquet"), read_layer(tmp_path / "b.parquet")
    assert a["grid_code"].equals(b["grid_code"]) and a["outside_m"].notna().sum() > 10
    monkeypatch.undo()
    write_layer(grids.iloc[1:], tmp_path / "city.gpkg", "grids")  # the grids change: the index is stale
    third = CliRunner().invoke(cases_group, [*run, str(tmp_path / "c.parquet")])
    assert third.exit_code == 0, third.output
    c = read_layer(tmp_path / "c.parquet")
    expected = assign(cases, grids.iloc[1:], report=Report("cases"))["grid_code"]
    assert c["grid_code"].fillna("-").tolist() == expected.fillna("-").tolist()


def test_grids_with_z_are_copied_with_z_and_located_in_plan():
    """The index copies the polygons (Z kept, the caller's never prepared) and locates in x, y."""
    z_box = Polygon([(0, 0, 5.0), (2, 0, 5.0), (2, 2, 6.0), (0, 2, 6.0)])
    grids = gpd.GeoDataFrame({"code": ["z", "flat"]}, geometry=[z_box, box(2, 0, 4, 2)], crs="EPSG:4547")
    index = GridIndex(grids)
    assert index._geoms[0].has_z and not shapely.is_prepared(grids.geometry.to_numpy()).any()
    assert index.locate([1.0, 2.0, 3.0, 9.0], [1.0, 1.0, 1.0, 1.0]).tolist() == [0, 1, 1, -1]
    assert index.distances([9.0], [1.0]).tolist() == [5.0]
