"""Data for the scale tests (chunked and dask engines): generated cities written as partitioned GeoParquet.

The reference counts (``independent_counts``) come from geopandas' sjoin, independently of gridmap.cases.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import box


def write_parts(cases: gpd.GeoDataFrame, folder: Path, parts: int, *, row_group: int = 2000) -> Path:
    """Split the cases into ``parts`` GeoParquet files in order (part-0, part-1, …)."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, rows in enumerate(np.array_split(np.arange(len(cases)), parts)):
        cases.iloc[rows].reset_index(drop=True).to_parquet(folder / f"part-{number}.parquet",
                                                           row_group_size=row_group)
    return folder


def make_city(n_grids: int, n_cases: int, seed: int = 0) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Voronoi grids in 3 districts near Nanning; cases inside, on shared boundaries, outside, without points.

    Counts include missing (1 case), negative and fractional values (0 cases); some report times are missing.
    """
    rng = np.random.default_rng(seed)
    frame = box(108.20, 22.70, 108.40, 22.90)
    seeds = shapely.multipoints(rng.uniform([108.20, 22.70], [108.40, 22.90], size=(n_grids, 2)))
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame)), frame)
    # 3 districts of 4 streets; 6 grids per community
    communities = [f"4501{2 + c % 3:02d}{1 + c // 3 % 4:03d}{1 + c // 12:03d}"
                   for c in np.arange(len(cells)) // 6]
    codes = [f"{c}{1 + i % 6:03d}" for i, c in enumerate(communities)]
    grids = gpd.GeoDataFrame({"code": codes, "community_code": communities}, geometry=cells, crs="EPSG:4490")
    xy = rng.uniform([108.18, 22.68], [108.42, 22.92], size=(n_cases, 2))  # a margin outside the grids
    vertices = shapely.get_coordinates(cells)
    on_boundary = vertices[rng.integers(0, len(vertices), n_cases // 20)]
    xy[: len(on_boundary)] = on_boundary
    points = shapely.points(xy).astype(object)
    points[rng.random(n_cases) < 0.01] = None
    count = rng.integers(1, 4, n_cases).astype(float)
    odd = rng.random(n_cases)
    count[odd < 0.02] = np.nan
    count[(odd >= 0.02) & (odd < 0.03)] = -1
    count[(odd >= 0.03) & (odd < 0.04)] = 2.5
    reported = pd.Timestamp("2024-11-01") + pd.to_timedelta(rng.integers(0, 150 * 86_400, n_cases), unit="s")
    reported = pd.Series(reported).where(rng.random(n_cases) > 0.01)
    cases = gpd.GeoDataFrame({"case_id": [f"C{i:06d}" for i in range(n_cases)], "reported_at": reported,
                              "count": count}, geometry=gpd.GeoSeries(points, crs="EPSG:4490"))
    return grids, cases


def independent_counts(cases: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """Grid of each case by sjoin(intersects) and the smallest code; cases per record by the count rules."""
    joined = gpd.sjoin(cases[[cases.geometry.name]], grids[["code", "geometry"]], predicate="intersects")
    grid = joined.groupby(level=0)["code"].min().reindex(cases.index)
    count = cases["count"]
    bad = count.notna() & ((count < 0) | (count % 1 != 0))
    weight = count.where(~bad, 0).fillna(1).astype("int64")
    return pd.DataFrame({"grid": grid, "weight": weight, "bad": bad, "located": cases.geometry.notna()})
