"""Levels of detail (gridmap.maps.levels): roll-ups from the grids, when they are drawn, compact formats."""

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from gridmap.errors import SchemaError
from gridmap.maps import one_screen
from gridmap.maps._topology import coverage_topology, decode_numbers, topology_polygons
from gridmap.maps.choropleth import GridLayer
from gridmap.maps.figures import grid_figures
from gridmap.maps.levels import LazyGridLayer, LevelLayer, compact_codes, compact_field, rollup

ROOT = Path(__file__).resolve().parents[1]


def _province(n: int) -> gpd.GeoDataFrame:
    spec = importlib.util.spec_from_file_location("make_province", ROOT / "scripts" / "make_province.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.province(n, seed=3), module


@pytest.fixture(scope="module")
def province():
    grids, module = _province(1200)
    return grids.to_crs("EPSG:4326"), module


def test_rollup_totals_come_from_the_grids(province):
    grids, module = province
    figures = grid_figures(grids)
    levels = rollup(grids, figures, grids["community_code"], {}, raw_cases=None)
    for level, digits in (("district", 6), ("street", 9), ("community", 12)):
        frame = levels[level].set_index("code")
        prefix = grids["code"].str[:digits]
        assert sorted(frame.index) == sorted(prefix.unique())
        sums = grids.groupby(prefix)[["households", "population"]].sum()
        assert (frame.loc[sums.index, "population"] == sums["population"]).all()
        assert (frame.loc[sums.index, "households"] == sums["households"]).all()
        assert (frame.loc[sums.index, "grids"] == prefix.value_counts()[sums.index]).all()
        assert frame.geometry.isna().all(), "no boundary given: drawn from the grids' arcs (test_maps_merge)"
        assert frame["name"].tolist() == frame.index.tolist(), "no names given: the codes"


def test_rollup_takes_names_and_boundaries_from_given_layers(province):
    grids, module = province
    admin = module.admin_layers(grids)
    streets = admin["streets"].copy()
    streets.loc[0, "geometry"] = shapely.box(0, 0, 1, 1)  # a drawn boundary wins over the union
    streets.loc[1, "geometry"] = None  # no boundary: the union of its grids
    levels = rollup(grids, grid_figures(grids), grids["community_code"], {"street": streets}, raw_cases=None)
    street = levels["street"].set_index("code")
    assert street.loc[streets["code"][0], "name"] == streets["name"][0]
    assert street.loc[streets["code"][0]].geometry.equals(shapely.box(0, 0, 1, 1))
    inside = grids["code"].str.startswith(streets["code"][1]).to_numpy()
    own = shapely.union_all(grids.geometry.values[inside])
    assert street.loc[streets["code"][1]].geometry.symmetric_difference(own).area < 1e-12


def test_small_maps_draw_every_grid_large_ones_levels(province):
    grids, _ = province
    small = one_screen(grids)
    kinds = [type(child) for child in small._children.values()]
    assert GridLayer in kinds and LazyGridLayer not in kinds and LevelLayer not in kinds
    large = one_screen(grids, levels=True)
    levels = [child.key for child in large._children.values() if isinstance(child, LevelLayer)]
    assert levels == ["district", "street", "community"]
    assert any(isinstance(child, LazyGridLayer) for child in large._children.values())
    assert large.options["max_zoom"] == 18


def test_levels_need_community_codes(province):
    grids, _ = province
    odd = grids.drop(columns="community_code").assign(code=[f"G{i}" for i in range(len(grids))])
    assert not any(isinstance(c, LazyGridLayer) for c in one_screen(odd.iloc[:50])._children.values())
    with pytest.raises(SchemaError, match="community_code"):
        one_screen(odd.iloc[:50], levels=True)


def _decode_codes(text: str) -> list[str]:
    out, previous = [], ""
    for part in text.split(" "):
        previous = previous[: ord(part[0]) - 65] + part[1:]
        out.append(previous)
    return out


@given(st.lists(st.text(alphabet="0123456789AB-", min_size=1, max_size=20), min_size=1, max_size=30))
def test_compact_codes_round_trip(codes):
    assert _decode_codes(compact_codes(codes)) == codes


def test_compact_codes_keeps_odd_codes_as_a_list():
    assert compact_codes(["网格 1", "A B"]) == ["网格 1", "A B"]


@given(st.lists(st.one_of(st.none(), st.integers(-10**6, 10**6),
                          st.integers(-10**6, 10**6).map(lambda v: v / 100)), min_size=1, max_size=40))
def test_compact_field_round_trip(values):
    field = compact_field({"label": "x", "unit": None, "values": values})
    if "values" in field:
        assert field["values"] == values
        return
    decoded = [None if n == 0 else (n - 1 if n > 0 else n) / field["div"]
               for n in decode_numbers(field["enc"])]
    assert decoded == pytest.approx([None if v is None else float(v) for v in values], abs=1e-9)


def test_chained_arcs_rebuild_the_same_polygons(province):
    grids, _ = province
    geoms = grids.geometry.values[:300]
    scale = 256 * 2**15 / 360
    plain = coverage_topology(geoms, scale=scale, tolerance=1 / scale)
    chained = coverage_topology(geoms, scale=scale, tolerance=1 / scale, chained=True)
    assert sum(map(len, chained.arcs)) < sum(map(len, plain.arcs))
    for a, b in zip(topology_polygons(plain), topology_polygons(chained), strict=True):
        assert a.equals(b)
    for polygon, grid in zip(topology_polygons(chained), geoms, strict=True):  # within a step or two
        assert polygon.symmetric_difference(grid).area < 0.05 * grid.area


def test_snapping_a_valid_coverage_matches_noding_it(province):
    grids, _ = province
    geoms = grids.geometry.values[:200]
    assert shapely.coverage_is_valid(geoms)
    from gridmap.maps._topology import _noded, _snapped

    snapped, noded = _snapped(geoms, 1e-5), _noded(geoms, 1e-5)[0]
    assert snapped is not None
    assert np.allclose(shapely.area(snapped), shapely.area(noded), rtol=1e-6)
    overlapping = np.array([shapely.box(0, 0, 1, 1), shapely.box(0.5, 0, 1.5, 1)])
    assert _snapped(overlapping, 1e-5) is None
