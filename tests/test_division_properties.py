"""Property tests of build_grids: random cities always tile exactly, one grid per unit, deterministically."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import shapely
from division_checks import assert_exact_tiling, frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import Point, box

from gridmap.division import build_grids
from gridmap.division.tessellate import adjacent_pairs, share_land, unit_regions
from gridmap.errors import GridmapWarning

SIDE, CELL = 2000.0, 200.0  # the city is a 2 km square; units sit in distinct 200 m lattice cells
KINDS = ("compound", "compound", "compound", "natural_village", "school", "other")


@st.composite
def cities(draw):
    n_communities = draw(st.integers(1, 5))
    centres = draw(
        st.lists(
            st.tuples(st.floats(50, SIDE - 50), st.floats(50, SIDE - 50)),
            min_size=n_communities,
            max_size=n_communities,
            unique_by=lambda p: (round(p[0] / 10), round(p[1] / 10)),
        )
    )
    square = box(0, 0, SIDE, SIDE)
    if len(centres) == 1:
        polygons = [square]
    else:  # communities: the Voronoi cells of random centres, clipped to the city
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(centres), extend_to=square))
        polygons = [cell.intersection(square) for cell in cells]
    village_digits = draw(
        st.lists(st.sampled_from(["0", "2"]), min_size=len(polygons), max_size=len(polygons))
    )
    communities = frame(
        [
            {"code": f"450102001{digit}{i:02d}", "geometry": polygon}
            for i, (digit, polygon) in enumerate(zip(village_digits, polygons, strict=True))
        ]
    )
    n_cells = int(SIDE / CELL)
    chosen = draw(st.lists(st.integers(0, n_cells * n_cells - 1), min_size=0, max_size=25, unique=True))
    rows = []
    for number, index in enumerate(chosen):
        x0, y0 = (index % n_cells) * CELL, (index // n_cells) * CELL
        a, b = draw(st.floats(1, CELL - 11)), draw(st.floats(1, CELL - 11))
        is_point = draw(st.booleans())
        if is_point:
            geometry = Point(x0 + a, y0 + b)
        else:
            w, h = draw(st.floats(10, CELL - 1 - a)), draw(st.floats(10, CELL - 1 - b))
            geometry = box(x0 + a, y0 + b, x0 + a + w, y0 + b + h)
        rows.append(
            {
                "unit_id": f"U{number:03d}",
                "kind": draw(st.sampled_from(KINDS)),
                "households": draw(st.integers(0, 700)),
                "population": draw(st.integers(0, 2000)),
                "buildings": draw(st.integers(0, 12)),
                "geometry": geometry,
            }
        )
    units = (
        frame(rows)
        if rows
        else frame(
            [
                {
                    "unit_id": "none",
                    "kind": "other",
                    "households": 0,
                    "population": 0,
                    "buildings": 0,
                    "geometry": Point(-500, -500),
                }
            ]
        ).iloc[:0]
    )
    return communities, units


def build_quietly(communities, units):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)  # random units may straddle boundaries: reported
        return build_grids(communities, units)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cities())
def test_random_cities_tile_exactly_with_one_grid_per_unit(city):
    communities, units = city
    build = build_quietly(communities, units)
    assert_exact_tiling(build, communities, units)
    assigned = build.units["community_code"].notna()
    assert build.units.loc[assigned, "grid_code"].notna().all()
    assert build.grids["households"].sum() == units.loc[assigned.to_numpy(), "households"].sum()
    grid_of = dict(zip(build.units["unit_id"], build.units["grid_code"], strict=True))
    for code, ids in zip(build.grids["code"], build.grids["unit_ids"], strict=True):
        assert all(grid_of[unit] == code for unit in ids.split(";") if unit)
    city_grids = build.grids[(build.grids["type"] == "city") & (build.grids["n_units"] > 1)]
    assert (city_grids["households"] <= 500).all()  # merging never passes the upper bound


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cities(), st.randoms(use_true_random=False))
def test_row_order_does_not_change_the_grids(city, random):
    communities, units = city
    first = build_quietly(communities, units)
    order = list(range(len(units)))
    random.shuffle(order)
    second = build_quietly(communities.iloc[::-1], units.iloc[order])
    columns = ["code", "type", "community_code", "households", "unit_ids", "reason"]
    assert first.grids[columns].equals(second.grids[columns])
    assert np.all(first.grids.geometry.geom_equals_exact(second.grids.geometry, tolerance=0))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 19), st.integers(0, 19), st.booleans()),
        min_size=2,
        max_size=30,
        unique_by=lambda t: t[:2],
    )
)
def test_adjacent_pairs_agree_with_the_boundary_predicate(spots):
    """Shared ring segments find exactly the regions whose boundaries meet in a line (DE-9IM ****1****)."""
    units = [
        box(i * 100 + 10, j * 100 + 10, i * 100 + 70, j * 100 + 60)
        if areal
        else Point(i * 100 + 50, j * 100 + 50)
        for i, j, areal in spots
    ]
    regions = unit_regions(units, box(0, 0, SIDE, SIDE))
    left, right = np.triu_indices(len(regions), 1)
    touch = shapely.relate_pattern(regions[left], regions[right], "****1****")
    expected = sorted(zip(left[touch].tolist(), right[touch].tolist(), strict=True))
    found = adjacent_pairs(regions)
    assert list(zip(found[0].tolist(), found[1].tolist(), strict=True)) == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=2, max_size=40, unique=True),
    st.sampled_from(["lattice", "line", "jitter"]),
)
def test_point_units_get_their_voronoi_cells(spots, layout):
    """A point unit's land is its Voronoi cell within the community, as GEOS draws it.

    The edges come from the Delaunay triangulation (GEOS), not from GEOS's cells: checked against
    ``shapely.voronoi_polygons`` on points of a lattice (four or more on one circle everywhere), on one line
    (no triangle at all) and jittered, in a community reaching far beyond the points.
    """
    xy = np.array(spots, dtype=float) * 37.0
    if layout == "line":  # all on one slanted line
        xy = np.column_stack([xy[:, 0], 0.5 * xy[:, 0]])
        xy = np.unique(xy, axis=0)
    elif layout == "jitter":
        xy = xy + np.random.default_rng(len(spots)).uniform(-3, 3, xy.shape).round(4)
    if len(xy) < 2:
        return
    community = box(-400, -300, 900, 700)
    points = shapely.points(xy)
    regions = unit_regions(points, community)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=community,
                                                       ordered=True))
    expected = shapely.intersection(cells, community)
    difference = shapely.area(shapely.symmetric_difference(regions, expected))
    assert (difference < 1e-6 * community.area).all(), difference.max()
    assert abs(shapely.area(regions).sum() - community.area) < 1e-6 * community.area


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_sharing_land_of_many_areas_at_once_is_sharing_each_alone(data):
    """``share_land`` over several communities gives exactly the regions of ``unit_regions`` one by one."""
    n_areas = data.draw(st.integers(1, 4))
    areas = [box(i * 500, 0, i * 500 + 400 + 50 * i, 300) for i in range(n_areas)]  # touching or apart
    units, where = [], []
    for i in range(n_areas):
        for _ in range(data.draw(st.integers(0, 6))):
            x, y = data.draw(st.integers(1, 39)) * 10.0 + i * 500, data.draw(st.integers(1, 29)) * 10.0
            units.append(Point(x, y) if data.draw(st.booleans()) else box(x, y, x + 25, y + 15))
            where.append(i)
    order = data.draw(st.permutations(range(len(units))))  # areas' units interleaved
    units, where = np.array(units, dtype=object)[order], np.array(where, dtype=np.int64)[order]
    together = share_land(units, where, areas)
    for i, area in enumerate(areas):
        mine = np.flatnonzero(where == i)
        alone = unit_regions(units[mine], area)
        assert shapely.equals_exact(shapely.normalize(together[mine]), shapely.normalize(alone), 0).all()


def test_land_is_the_same_when_geos_cannot_triangulate(monkeypatch):
    """Where GEOS's Delaunay triangulation fails, Qhull's gives the same land (lattice: ties everywhere)."""
    units = [Point(x * 20.0 + 5, y * 20.0 + 5) for x in range(5) for y in range(4)] + [box(110, 10, 150, 40)]
    where = [0] * 20 + [1]
    areas = [box(0, 0, 100, 80), box(100, 0, 160, 80)]
    expected = share_land(units, where, areas)

    def fail(*args, **kwargs):
        raise shapely.errors.GEOSException("LocateFailureException: Locate failed to converge")

    monkeypatch.setattr(shapely, "delaunay_triangles", fail)
    found = share_land(units, where, areas)
    assert shapely.equals(found, expected).all()
    assert shapely.area(found[:20]).sum() == pytest.approx(100 * 80)
