"""Shared arcs: noding, coverage simplification and arc encoding keep neighbours exactly together."""

import warnings

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon, box

from gridmap.errors import GridmapWarning
from gridmap.maps._topology import (
    coverage_topology,
    decode_arc,
    decode_numbers,
    encode_numbers,
    encode_sequences,
    simplify_coverage,
    topology_polygons,
)

SCALE = 256 * 2**18 / 360  # one step = one pixel at zoom 18
STEP = 1 / SCALE


def wiggly_cells(n: int = 120, seed: int = 1) -> np.ndarray:
    """A Voronoi coverage near Nanning whose edges wiggle (shared vertices moved the same way)."""
    rng = np.random.default_rng(seed)
    x0, y0, side = 108.3, 22.8, 0.003 * np.sqrt(n)
    frame = box(x0, y0, x0 + side, y0 + side)
    points = shapely.multipoints(np.c_[x0 + rng.random(n) * side, y0 + rng.random(n) * side])
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(points, extend_to=frame)), frame)
    cells = shapely.segmentize(cells, 0.0001)

    def move(xy):
        k = 2 * np.pi / 0.0007
        return np.c_[xy[:, 0] + 0.00004 * np.sin(k * xy[:, 1]), xy[:, 1] + 0.00004 * np.sin(k * xy[:, 0])]

    return shapely.transform(cells, move)


def t_junction() -> np.ndarray:
    """Two grids on the west side of a line, one on the east: the east grid lacks the junction vertex."""
    return np.array([box(108.30, 22.80, 108.31, 22.805), box(108.30, 22.805, 108.31, 22.81),
                     box(108.31, 22.80, 108.32, 22.81)], dtype=object)


def assert_exact_coverage(polygons, original) -> None:
    """No overlap, no gap inside the original area, every polygon within a pixel and a half of its source."""
    polygons = np.asarray(polygons, dtype=object)
    assert shapely.coverage_is_valid(polygons, gap_width=20 * STEP)
    union = shapely.coverage_union_all(polygons)
    assert sum(p.area for p in polygons) == pytest.approx(union.area, rel=1e-12)  # no overlap
    source = shapely.union_all(original)
    assert union.symmetric_difference(source).area < source.length * 2 * STEP  # no gap, same outline
    for got, want in zip(polygons, original, strict=True):
        assert got.hausdorff_distance(want) < 1.5 * STEP


def test_t_junction_is_noded_so_neighbours_share_the_vertex():
    cells = t_junction()
    assert not shapely.coverage_is_valid(cells)
    topology = coverage_topology(cells, scale=SCALE)
    assert shapely.coverage_is_valid(topology.geometry)
    east = topology.geometry[2]
    junction = (round(108.31 * SCALE) / SCALE, round(22.805 * SCALE) / SCALE)
    assert junction in [tuple(c) for c in np.asarray(east.exterior.coords)]
    assert_exact_coverage(topology.geometry, cells)


def test_simplified_neighbours_keep_no_gap_or_overlap():
    cells = wiggly_cells()
    topology = coverage_topology(cells, scale=SCALE, tolerance=20 * STEP)  # coarse, to move edges visibly
    before = shapely.get_num_coordinates(cells).sum()
    after = shapely.get_num_coordinates(topology.geometry).sum()
    assert after < before * 0.7
    polygons = np.asarray(topology.geometry, dtype=object)
    assert shapely.coverage_is_valid(polygons)  # shared edges match vertex for vertex
    union = shapely.coverage_union_all(polygons)
    assert sum(p.area for p in polygons) == pytest.approx(union.area, rel=1e-12)  # no overlap
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no gap opened between neighbours
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    pairs = left < right
    shared = shapely.intersection(polygons[left[pairs]], polygons[right[pairs]])
    assert np.all(shapely.area(shared) < 1e-18)  # neighbours touch along lines, never overlap


def test_one_pixel_simplification_stays_within_a_pixel_and_a_half():
    cells = wiggly_cells(60, seed=3)
    topology = coverage_topology(cells, scale=SCALE, tolerance=STEP)
    assert_exact_coverage(topology.geometry, cells)


def test_arcs_decode_to_the_stored_polygons_and_each_edge_is_stored_once():
    cells = wiggly_cells(80, seed=5)
    topology = coverage_topology(cells, scale=SCALE, tolerance=STEP)
    rebuilt = topology_polygons(topology)
    for got, want in zip(rebuilt, topology.geometry, strict=True):
        assert got.normalize().equals_exact(want.normalize(), tolerance=1e-12)
    uses = np.zeros(len(topology.arcs), dtype=int)
    for shape in topology.shapes:
        for part in shape:
            for ring in part:
                for ref in ring:
                    uses[ref if ref >= 0 else ~ref] += 1
    assert uses.min() >= 1 and uses.max() <= 2
    stored = sum(len(decode_arc(arc)) - 1 for arc in topology.arcs)
    drawn = int(shapely.get_num_coordinates(topology.geometry).sum()) - 2 * len(cells)  # closing points
    assert stored < 0.6 * drawn  # shared edges stored once


def test_island_and_multipolygon():
    hole = box(108.302, 22.802, 108.304, 22.804)
    outer = Polygon(box(108.30, 22.80, 108.31, 22.81).exterior.coords, [hole.exterior.coords])
    split = MultiPolygon([box(108.31, 22.80, 108.315, 22.81), box(108.32, 22.80, 108.325, 22.81)])
    cells = np.array([outer, hole, split], dtype=object)
    topology = coverage_topology(cells, scale=SCALE)
    rebuilt = topology_polygons(topology)
    assert [len(shape) for shape in topology.shapes] == [1, 1, 2]
    assert len(topology.shapes[0][0]) == 2  # the outer grid has its hole
    hole_ring = topology.shapes[0][0][1]
    island_ring = topology.shapes[1][0][0]
    assert len(hole_ring) == len(island_ring) == 1 and hole_ring[0] in (island_ring[0], ~island_ring[0])
    for got, want in zip(rebuilt, cells, strict=True):
        assert got.symmetric_difference(want).area < want.length * STEP


def test_overlapping_polygons_are_kept_with_a_warning():
    cells = np.array([box(108.30, 22.80, 108.31, 22.81), box(108.305, 22.80, 108.315, 22.81)], dtype=object)
    with pytest.warns(GridmapWarning, match="more than one polygon"):
        topology = coverage_topology(cells, scale=SCALE)
    for got, want in zip(topology_polygons(topology), cells, strict=True):
        assert got.symmetric_difference(want).area < want.length * STEP


def test_gaps_stay_gaps():
    cells = np.array([box(108.30, 22.80, 108.31, 22.81), box(108.311, 22.80, 108.32, 22.81)], dtype=object)
    topology = coverage_topology(cells, scale=SCALE)
    a, b = topology_polygons(topology)
    assert a.distance(b) == pytest.approx(0.001, abs=2 * STEP)


def test_a_polygon_narrower_than_a_step_leaves_an_empty_shape():
    cells = np.array([box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.31 + STEP / 10, 22.81)],
                     dtype=object)
    topology = coverage_topology(cells, scale=SCALE)
    assert topology.shapes[1] == [] and topology_polygons(topology)[1].is_empty


def test_simplify_coverage_nodes_and_keeps_shared_edges():
    cells = t_junction()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        simplified = simplify_coverage(cells, 1e-6)
    assert shapely.coverage_is_valid(simplified)
    assert sum(p.area for p in simplified) == pytest.approx(shapely.union_all(cells).area, rel=1e-9)


@given(st.lists(st.integers(min_value=-(2**40), max_value=2**40), max_size=50))
def test_numbers_round_trip(values):
    text = encode_numbers(values)
    assert decode_numbers(text) == values
    assert all(63 <= ord(char) <= 126 for char in text)


@given(st.lists(st.lists(st.integers(min_value=-(2**30), max_value=2**30), max_size=6), max_size=8))
def test_many_sequences_encode_like_one_at_a_time(sequences):
    assert encode_sequences(sequences) == [encode_numbers(seq) for seq in sequences]


def test_small_steps_take_one_or_two_characters():
    assert len(encode_numbers(range(-16, 16))) == 32
    assert len(encode_numbers([511, -512])) == 4


def test_a_topology_is_reused_for_the_same_polygons_but_one_that_warned_is_made_again():
    from gridmap.maps._topology import reused_topology

    tiles = [box(0, 0, 1, 1), box(1, 0, 2, 1)]
    first = reused_topology(tiles, scale=10, tolerance=0.1)
    assert reused_topology([box(0, 0, 1, 1), box(1, 0, 2, 1)], scale=10, tolerance=0.1) is first
    assert reused_topology([box(0, 0, 1, 1), box(1, 0, 2, 1.5)], scale=10, tolerance=0.1) is not first
    overlapping = [box(0, 0, 2, 1), box(1, 0, 3, 1)]
    made = []
    for _ in range(2):  # warned both times, made both times
        with pytest.warns(GridmapWarning, match="more than one polygon"):
            made.append(reused_topology(overlapping, scale=10))
    assert made[0] is not made[1] and made[0].shapes == made[1].shapes
