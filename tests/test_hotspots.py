"""gridmap.stats.hotspots: Gi* and local Moran against the textbook formulas, kernel density integrated."""

from __future__ import annotations

import importlib.util
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely
from cases_fixtures import sample_city, sample_grids
from shapely import Point, box

from gridmap.errors import SchemaError
from gridmap.stats.hotspots import case_rates, getis_ord, kernel_density, local_moran

# found, not imported: importing esda and libpysal takes 2.5 s, paid only by a worker that runs these tests
pytestmark = pytest.mark.skipif(any(importlib.util.find_spec(name) is None for name in ("esda", "libpysal")),
                                reason="esda and libpysal are not installed: pip install gridmap[analysis]")


def lattice(values: np.ndarray) -> gpd.GeoDataFrame:
    """A 6 x 6 block of 100 m squares holding ``values`` row by row."""
    cells = [box(100 * i, 100 * j, 100 * (i + 1), 100 * (j + 1)) for j in range(6) for i in range(6)]
    return gpd.GeoDataFrame({"code": [f"g{k:02d}" for k in range(36)], "rate": values}, geometry=cells,
                            crs="EPSG:4545")


def queen(grids: gpd.GeoDataFrame) -> np.ndarray:
    """Binary queen contiguity from shapely (touching at an edge or a corner), no self-links."""
    geoms = grids.geometry.to_numpy()
    return shapely.touches(geoms[:, None], geoms[None, :]).astype(float)


def values() -> np.ndarray:
    rng = np.random.default_rng(4)
    base = rng.gamma(2.0, 5.0, 36)
    base[[0, 1, 6, 7]] += 60  # a hot corner
    return base


def test_gi_star_matches_the_formula():
    grids = lattice(values())
    result = getis_ord(grids, column="rate", permutations=99)
    x, n = values(), 36
    w = queen(grids) + np.eye(n)  # Gi*: the grid itself included
    mean, sd = x.mean(), np.sqrt((x**2).mean() - x.mean() ** 2)
    weights = w.sum(axis=1)
    expected = (w @ x - mean * weights) / (sd * np.sqrt((n * (w**2).sum(axis=1) - weights**2) / (n - 1)))
    assert np.allclose(result["gi_z"], expected)
    assert set(result.loc[result["hotspot"] == "hot", "code"]) >= {"g00", "g01"}
    assert (result["gi_p"] > 0).all() and (result["gi_p"] <= 1).all()
    assert "gi_z" not in grids.columns


def test_gi_star_permutes_in_this_process(monkeypatch):
    """esda's default pool of worker processes costs seconds of start-up for a few hundred grids."""
    crand = pytest.importorskip("esda.crand")

    def no_pool(*args, **kwargs):
        raise AssertionError("getis_ord started a pool of worker processes")

    monkeypatch.setattr(crand, "parallel_crand", no_pool)
    result = getis_ord(lattice(values()), column="rate", permutations=99)
    assert result["gi_p"].between(0, 1, inclusive="right").all()


def test_local_moran_matches_the_formula():
    grids = lattice(values())
    result = local_moran(grids, column="rate", permutations=99)
    x = values()
    z = x - x.mean()
    w = queen(grids)
    w = w / w.sum(axis=1, keepdims=True)
    m2 = (z**2).sum() / (len(z) - 1)  # esda's convention (Anselin 1995 divides by n)
    assert np.allclose(result["moran_i"], z / m2 * (w @ z))
    assert result.loc[0, "cluster"] in ("HH", "")
    assert set(result["cluster"]) <= {"HH", "LL", "HL", "LH", ""}


def test_sample_hot_spot_at_the_market():
    grids, city = sample_grids(), sample_city()
    rated = case_rates(grids, city.cases)
    assert rated["cases"].sum() == city.cases["count"].sum()
    result = getis_ord(rated, column="cases_per_km2", permutations=199)
    hottest = result.sort_values("gi_z").iloc[-10:]
    assert hottest["community_code"].eq("990102002005").any()  # 朝阳农贸市场's community (data README)
    assert (result.loc[result["hotspot"] == "hot", "gi_z"] > 0).all()


def test_missing_values_and_missing_packages(monkeypatch):
    grids = lattice(values())
    grids.loc[3, "rate"] = np.nan
    with pytest.raises(SchemaError, match="no rate value.*g03"):
        getis_ord(grids, column="rate")
    monkeypatch.setitem(sys.modules, "esda", None)
    with pytest.raises(ImportError, match=r"pip install gridmap\[analysis\]"):
        local_moran(lattice(values()), column="rate")


def test_kernel_density_integrates_and_peaks_at_the_cases():
    cases = gpd.GeoDataFrame({"count": [3, 1]},
                             geometry=[Point(500_050, 2_520_050), Point(502_050, 2_520_050)], crs="EPSG:4545")
    heat = kernel_density(cases, bandwidth_m=200, cell_m=50)
    assert heat.crs == cases.crs
    assert heat["density"].sum() * 50 * 50 / 1e6 == pytest.approx(4, rel=1e-3)
    top = heat.loc[heat["density"].idxmax()].geometry
    assert top.contains(cases.geometry.iloc[0])
    # a cell centred on the case holding 3: 3 cases x the kernel at its centre, in cases per km2
    centre_cell = heat[heat.geometry.centroid.distance(cases.geometry.iloc[0]) < 1e-6]
    assert centre_cell["density"].item() == pytest.approx(3 / (2 * np.pi * 200**2) * 1e6, rel=0.02)
    geographic = kernel_density(cases.to_crs(4490), bandwidth_m=200, cell_m=50, weights=None)
    assert geographic["density"].sum() * 50 * 50 / 1e6 == pytest.approx(2, rel=1e-3)
    with pytest.raises(SchemaError, match="larger cell_m"):
        kernel_density(cases, bandwidth_m=200, cell_m=0.01)
