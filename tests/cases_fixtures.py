"""Shared data for the case, statistics, staffing and hot-spot tests: the sample city with built grids.

Building the sample's grids takes a few seconds, so it is done once per test session (``lru_cache``; under
pytest-xdist once per worker): every test that needs the sample city's grids takes them from here (the maps
tests through ``maps_fixtures.sample_city``).
The plain-geopandas reference answers (``sjoin`` + ``groupby``) live here too, written independently of
gridmap.cases and gridmap.stats.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import geopandas as gpd
import pandas as pd

from gridmap.datasets import load_sample
from gridmap.division import GridBuild, build_grids
from gridmap.errors import GridmapWarning


@lru_cache(maxsize=1)
def sample_city():
    return load_sample()


@lru_cache(maxsize=1)
def sample_build() -> GridBuild:
    """``build_grids(city.communities, city.units)`` of the sample city (its warnings silenced)."""
    city = sample_city()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)  # the sample's deliberate flaws are reported
        return build_grids(city.communities, city.units)


def sample_grids() -> gpd.GeoDataFrame:
    """The sample city's grids from build_grids (temporary codes "<community>-NNN"), EPSG:4490."""
    return sample_build().grids


def reference_grid(points: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> pd.Series:
    """Plain geopandas: the smallest code among the grids each point intersects (NaN for none)."""
    joined = gpd.sjoin(points[[points.geometry.name]], grids[["code", grids.geometry.name]],
                       predicate="intersects", how="left")
    return joined.groupby(level=0)["code"].min().reindex(points.index)
