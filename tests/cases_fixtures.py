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
def _sample_build_warned() -> tuple[GridBuild, tuple[type[Warning], ...]]:
    city = sample_city()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridmapWarning)  # the sample's deliberate flaws are reported
        build = build_grids(city.communities, city.units)
    for warning in caught:  # any other warning goes on as if nothing had caught it
        if not issubclass(warning.category, GridmapWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return build, tuple(w.category for w in caught if issubclass(w.category, GridmapWarning))


def sample_build() -> GridBuild:
    """``build_grids(city.communities, city.units)`` of the sample city (its warnings silenced)."""
    return _sample_build_warned()[0]


def sample_build_warnings() -> tuple[type[Warning], ...]:
    """The GridmapWarning classes ``sample_build``'s ``build_grids`` call warned with, in order."""
    return _sample_build_warned()[1]


def sample_grids() -> gpd.GeoDataFrame:
    """The sample city's grids from build_grids (temporary codes "<community>-NNN"), EPSG:4490."""
    return sample_build().grids


def reference_grid(points: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> pd.Series:
    """Plain geopandas: the smallest code among the grids each point intersects (NaN for none)."""
    joined = gpd.sjoin(points[[points.geometry.name]], grids[["code", grids.geometry.name]],
                       predicate="intersects", how="left")
    return joined.groupby(level=0)["code"].min().reindex(points.index)
