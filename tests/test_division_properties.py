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
