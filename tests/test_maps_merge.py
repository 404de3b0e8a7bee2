"""Levels read off the grids' arcs (gridmap.maps._merge): the same outlines as dissolving the grids.

The messy city is a lattice of 6 × 10 cells 0.002° wide near Nanning (segmentised and bent, so that shared
edges agree only up to floating-point noise), one letter per cell in :data:`LAYOUT` naming its community,
``.`` no grid:

* A surrounds B's two cells (a hole filled by another community); B has a second part inside F;
* C is two clusters, apart (a multipolygon); a column of gaps runs between A and C;
* D surrounds G; one of D's grids has a courtyard hole that is a grid of community H (an island);
* E has a gap inside it (an empty hole) that touches its outline at one point, and touches itself
  diagonally; F's hole around B touches F's outline at one point;
* one of A's grids has an empty courtyard hole.
"""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from gridmap.errors import GridmapWarning
from gridmap.maps import one_screen, save_html, to_html
from gridmap.maps._merge import merged_topology
from gridmap.maps._topology import coverage_topology, topology_polygons
from gridmap.maps.levels import GRID_SCALE, LazyGridLayer, LevelLayer

LAYOUT = ("AAAA.CCDDD",
          "ABBA.CCDGD",
          "AAAA..DDDD",
          "EE.E.FFF..",
          "E.EE.FBF.C",
          "EEE..FF..C")
#: Community of each letter: district 01 street 001 (A, B, C), street 002 (D, G, H); district 02 street 003.
COMMUNITY = {"A": "450101001001", "B": "450101001002", "C": "450101001003", "D": "450101002001",
             "G": "450101002002", "H": "450101002003", "E": "450102003001", "F": "450102003002"}
CELL, X0, Y0 = 0.002, 108.30, 22.80
STEP = 1 / GRID_SCALE


def _bend(xy: np.ndarray) -> np.ndarray:
    k = 2 * np.pi / 0.0017
    return np.c_[xy[:, 0] + 0.00006 * np.sin(k * xy[:, 1]), xy[:, 1] + 0.00006 * np.sin(k * xy[:, 0])]


def messy_grids():
    """The grids of :data:`LAYOUT` (EPSG:4326) with code, community_code and population."""
    cells, letters = [], []
    for row, line in enumerate(LAYOUT):
        for col, letter in enumerate(line):
            if letter == ".":
                continue
            x, y = X0 + col * CELL, Y0 + (len(LAYOUT) - 1 - row) * CELL
            cell = box(x, y, x + CELL, y + CELL)
            if (row, col) == (2, 7):  # D's grid around H's island
                cell = cell.difference(box(x + 0.0006, y + 0.0006, x + 0.0014, y + 0.0014))
                cells.append(box(x + 0.0006, y + 0.0006, x + 0.0014, y + 0.0014))
                letters.append("H")
            if (row, col) == (0, 0):  # A's grid with an empty courtyard
                cell = cell.difference(box(x + 0.0005, y + 0.0005, x + 0.001, y + 0.001))
            cells.append(cell)
            letters.append(letter)
    cells = shapely.transform(shapely.segmentize(np.array(cells), 0.00045), _bend)
    counts: dict[str, int] = {}
    codes = []
    for letter in letters:
        counts[letter] = counts.get(letter, 0) + 1
        codes.append(f"{COMMUNITY[letter]}{counts[letter]:03d}")
    import geopandas as gpd

    return gpd.GeoDataFrame({"code": codes, "community_code": [c[:12] for c in codes],
                             "population": np.arange(len(codes)) * 10 + 100}, geometry=cells, crs="EPSG:4326")


def dissolved(grids, digits: int) -> dict:
    """The union of the grids of each unit (by code prefix): what a dissolve gives."""
    prefix = grids["code"].str[:digits]
    return {code: shapely.union_all(grids.geometry.values[(prefix == code).to_numpy()])
            for code in sorted(prefix.unique())}


@pytest.fixture(scope="module")
def mapped():
    grids = messy_grids()
    fmap = one_screen(grids, levels=True)
    to_html(fmap)  # renders: every layer makes its arcs
    layers = {child.key: child for child in fmap._children.values() if isinstance(child, LevelLayer)}
    grid = next(child for child in fmap._children.values() if isinstance(child, LazyGridLayer))
    return grids, fmap, layers, grid


def test_levels_are_the_dissolved_grids_within_the_quantisation(mapped):
    grids, _, layers, grid = mapped
    stored = topology_polygons(grid.topology)
    for level, digits in (("district", 6), ("street", 9), ("community", 12)):
        layer = layers[level]
        assert layer.from_grids and layer.topology.arcs is grid.topology.arcs  # no arcs of its own
        polygons = topology_polygons(layer.topology)
        want = dissolved(grids, digits)
        assert layer.frame["code"].tolist() == list(want)
        prefix = np.array([code[:digits] for code in grid.codes])  # the grid layer's order
        for polygon, (code, union) in zip(polygons, want.items(), strict=True):
            assert polygon.is_valid, (code, shapely.is_valid_reason(polygon))
            # within two steps of the grids as given (snapped to the grid, then simplified by a step): the
            # union of grids that share edges up to float noise keeps slivers, which the level closes
            assert polygon.difference(union.buffer(2 * STEP)).area < 1e-9 * union.area, code
            assert union.difference(polygon.buffer(2 * STEP)).area < 1e-9 * union.area, code
            assert abs(polygon.area - union.area) < union.length * STEP, code
            # exactly the union of the grids as drawn
            drawn = shapely.union_all([stored[i] for i in np.flatnonzero(prefix == code)])
            assert polygon.symmetric_difference(drawn).area < 1e-9 * drawn.area, code


def test_holes_parts_and_touching_rings_by_hand(mapped):
    _, _, layers, _ = mapped
    shape = {}
    for layer in layers.values():
        for code, polygon in zip(layer.frame["code"], topology_polygons(layer.topology), strict=True):
            parts = list(getattr(polygon, "geoms", [polygon]))
            shape[code] = sorted(len(part.interiors) for part in parts)
    assert shape[COMMUNITY["A"]] == [2]  # around B, and the courtyard of its corner grid
    assert shape[COMMUNITY["B"]] == [0, 0]  # in A, and in F
    assert shape[COMMUNITY["C"]] == [0, 0]  # two clusters
    assert shape[COMMUNITY["D"]] == [2]  # around G, and around H's island
    assert shape[COMMUNITY["H"]] == [0]
    assert shape[COMMUNITY["E"]] == [1]  # the gap inside, touching the outline at a point
    assert shape[COMMUNITY["F"]] == [1]  # around B, touching the outline at a point
    assert shape["450101001"] == [0, 0, 0, 1]  # A + B with A's courtyard; B in F; C's two clusters
    assert shape["450101002"] == [0]  # D filled by G and H
    assert shape["450102003"] == [1, 1]  # E with its gap; F with B's cell inside (another street)
    assert shape["450101"] == [0, 0, 0, 1]  # C's northern cluster joins D
    assert shape["450102"] == [1, 1]


def test_the_page_stores_levels_as_references_to_the_grid_arcs(mapped):
    _, fmap, layers, grid = mapped
    page = to_html(fmap)
    assert page.count('"arcs": null') + page.count('"arcs":null') == 3
    assert "gridmap.levelLayer(" in page and f", {grid.get_name()});" in page


def test_overlapping_grids_are_dissolved_instead():
    grids = messy_grids()
    grids.loc[0, "geometry"] = grids.geometry[0].buffer(0.0003)  # overlaps its neighbours
    fmap = one_screen(grids, levels=True)
    with pytest.warns(GridmapWarning) as warned:
        to_html(fmap)
    assert any("more than one polygon" in str(w.message) for w in warned)
    layer = next(child for child in fmap._children.values() if isinstance(child, LevelLayer)
                 and child.key == "community")
    assert layer.topology.arcs is not next(child for child in fmap._children.values()
                                           if isinstance(child, LazyGridLayer)).topology.arcs
    want = dissolved(grids, 12)
    for polygon, union in zip(topology_polygons(layer.topology), want.values(), strict=True):
        assert polygon.symmetric_difference(union).area < union.length * 1.5 * STEP


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6).flatmap(lambda n: st.lists(st.lists(st.integers(-1, 2), min_size=n, max_size=n),
                                                   min_size=n, max_size=n)))
def test_any_lattice_of_groups_merges_to_the_union(labels):
    """Checkerboards touch at corners, gaps make holes: every group's union, exactly, and valid."""
    cells = [box(i, j, i + 1, j + 1) for i, row in enumerate(labels) for j, g in enumerate(row) if g >= 0]
    groups = [g for row in labels for g in row if g >= 0]
    if not cells:
        return
    merged = topology_polygons(merged_topology(coverage_topology(cells, scale=1), groups))
    for k in range(max(groups) + 1):
        union = shapely.union_all([c for c, g in zip(cells, groups, strict=True) if g == k])
        assert merged[k].is_valid
        assert merged[k].equals(union) or (merged[k].is_empty and union.is_empty)


@pytest.mark.browser
@pytest.mark.slow
def test_the_page_draws_the_levels_python_made(mapped, browser, tmp_path):
    from browser import assert_clean, open_offline

    _, fmap, layers, _ = mapped
    page, log = open_offline(browser, save_html(fmap, tmp_path / "messy.html"), width=1280, height=800)
    try:
        for key, layer in layers.items():
            drawn = page.evaluate(f"gridmap.layers.{key}.build().polygons.map(p => p.getLatLngs())")
            for rings, polygon in zip(drawn, topology_polygons(layer.topology), strict=True):
                parts = rings if isinstance(rings[0][0], list) else [rings]
                wanted = list(getattr(polygon, "geoms", [polygon]))
                assert len(parts) == len(wanted)
                for part, shape in zip(parts, wanted, strict=True):
                    want = [np.array(shape.exterior.coords)[:-1]] + [np.array(r.coords)[:-1]
                                                                     for r in shape.interiors]
                    assert len(part) == len(want)
                    for ring, expected in zip(part, want, strict=True):
                        got = np.array([[p["lng"], p["lat"]] for p in ring])
                        assert got.shape == expected.shape and np.abs(got - expected).max() < 1e-9
        assert_clean(log)
    finally:
        page.close()
