#!/usr/bin/env python3
"""Generate a fictional province of grids (default 100,000) as a GeoPackage, for province-scale maps.

Usage (from the project folder)::

    python scripts/make_province.py --grids 3000 --out province-small.gpkg     # 3,000 grids, a second
    python scripts/make_province.py --grids 3000 --cases 2000 --admin --out province-named.gpkg

Without ``--grids`` the province has 100,000 grids of about 30 vertices in 14 districts, 140 streets and 2,800
communities (about 40 s); ``gridmap map province.gpkg --out province.html`` maps it. Smaller provinces keep
the 14 × 10 × 20 hierarchy while every community can have 12 grids, and shrink it otherwise.

The layer ``grids`` has ``code`` (15 digits: district 6, street 3, community 3, grid 3), ``community_code``,
``type``, ``households`` and ``population``; ``--cases N`` adds a ``cases`` layer of N points reported in
2025; ``--admin`` adds ``districts``, ``streets`` and ``communities`` layers (``code``, ``name``, geometry
dissolved from the grids) so that names can be searched. Codes use the province prefix 99, which no real
province has. Everything is drawn from a seeded generator (``--seed``): the same arguments give the same
province.

How: ``N`` random points in a square about 300 m a grid, one Lloyd step, Voronoi cells clipped to the
square; cell edges are cut into pieces so that a grid has about 30 vertices, then every vertex is moved by
the same smooth displacement (neighbours keep their shared boundaries, which now wiggle like digitised
ones), and stored to 1e-7 degree (1 cm). Districts, streets and communities are nested k-means clusters
of the cell centres.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Districts, streets per district, communities per street of the full-size province.
HIERARCHY = (14, 10, 20)
_GRID_DEG = 0.003  # a grid is about 300 m across
_ORIGIN = (108.0, 22.5)
_VERTICES = 30


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grids", type=int, default=100_000, help="Number of grids [default: 100,000].")
    parser.add_argument("--cases", type=int, default=0, help="Number of case points [default: none].")
    parser.add_argument("--admin", action="store_true",
                        help="Also write districts, streets and communities with names.")
    parser.add_argument("--seed", type=int, default=0, help="Random seed [default: 0].")
    parser.add_argument("--out", required=True, type=Path, help="GeoPackage to write (replaced).")
    args = parser.parse_args(argv)
    if args.grids < 10 or args.cases < 0:
        parser.error("--grids must be at least 10 and --cases not negative")
    return args


def hierarchy(n: int) -> tuple[int, int, int]:
    """Districts, streets per district and communities per street for ``n`` grids (≥ 12 grids a community).

    Examples
    --------
    >>> hierarchy(100_000), hierarchy(6_000)
    ((14, 10, 20), (6, 6, 12))
    """
    districts, streets, communities = HIERARCHY
    while districts * streets * communities * 12 > n and (districts, streets, communities) != (1, 1, 1):
        districts, streets, communities = max(1, districts - 2), max(1, streets - 1), max(1, communities - 2)
    return districts, streets, communities


def _cells(n: int, rng: np.random.Generator) -> np.ndarray:
    side = _GRID_DEG * np.sqrt(n)
    x0, y0 = _ORIGIN
    frame = shapely.box(x0, y0, x0 + side, y0 + side)
    points = np.c_[x0 + rng.random(n) * side, y0 + rng.random(n) * side]
    for _ in range(2):  # the first pass is the tessellation, the second its Lloyd-relaxed version
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame))
        cells = shapely.intersection(cells, frame)
        points = shapely.get_coordinates(shapely.centroid(cells))
    cells = shapely.segmentize(cells, float(np.median(shapely.length(cells))) / _VERTICES)
    wave = 2 * np.pi / (_GRID_DEG * 2.3)

    def bend(xy):
        dx = _GRID_DEG * 0.06 * np.sin(wave * xy[:, 1] + 1.3) * np.cos(0.7 * wave * xy[:, 0])
        dy = _GRID_DEG * 0.06 * np.sin(1.1 * wave * xy[:, 0] + 0.4) * np.cos(0.9 * wave * xy[:, 1])
        return np.c_[xy[:, 0] + dx, xy[:, 1] + dy]

    return shapely.set_precision(shapely.transform(cells, bend), 1e-7)  # stored to 1 cm


def _clusters(xy: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means labels of the points, renumbered 0.. in reading order (north to south, west to east)."""
    from scipy.cluster.vq import kmeans2

    if k <= 1 or len(xy) <= k:
        return np.zeros(len(xy), dtype=int) if k <= 1 else np.arange(len(xy))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "one of the clusters is empty"
        centres, labels = kmeans2(xy, k, minit="++", seed=seed)
    used = np.unique(labels)
    order = used[np.lexsort((centres[used, 0], -np.round(centres[used, 1], 2)))]
    rank = np.empty(k, dtype=int)
    rank[order] = np.arange(len(order))
    return rank[labels]


def province(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """The grids of a generated province (EPSG:4490), ordered by code."""
    rng = np.random.default_rng(seed)
    cells = _cells(n, rng)
    xy = shapely.get_coordinates(shapely.centroid(cells))
    districts, streets, communities = hierarchy(n)
    district = _clusters(xy, districts, seed)
    codes = np.empty(n, dtype=object)
    for d in np.unique(district):
        in_d = np.flatnonzero(district == d)
        street = _clusters(xy[in_d], streets, seed + 1 + int(d))
        for s in np.unique(street):
            in_s = in_d[street == s]
            community = _clusters(xy[in_s], communities, seed + 100 + int(d) * 50 + int(s))
            for c in np.unique(community):
                in_c = in_s[community == c]
                order = in_c[np.lexsort((xy[in_c, 0], -xy[in_c, 1]))]
                prefix = f"9901{d + 1:02d}{s + 1:03d}{c + 1:03d}"
                codes[order] = [f"{prefix}{g + 1:03d}" for g in range(len(order))]
    population = np.round(rng.lognormal(np.log(900), 0.5, n)).astype(int)
    households = np.round(population / rng.uniform(2.4, 3.2, n)).astype(int)
    grids = gpd.GeoDataFrame({"code": codes, "community_code": [c[:12] for c in codes],
                              "type": np.where(rng.random(n) < 0.8, "city", "rural"),
                              "households": households, "population": population},
                             geometry=cells, crs="EPSG:4490")
    return grids.sort_values("code", ignore_index=True)


def cases(grids: gpd.GeoDataFrame, n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` case points inside the grids, reported in 2025."""
    rng = np.random.default_rng([seed, 1])
    which = rng.integers(0, len(grids), n)
    points = shapely.point_on_surface(grids.geometry.values[which])
    reported = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86_400, n), unit="s")
    return gpd.GeoDataFrame({"case_id": [f"C{i:07d}" for i in range(n)], "reported_at": reported},
                            geometry=points, crs=grids.crs)


def admin_layers(grids: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Districts, streets and communities with names (示例3区5街12社区), geometry the union of their grids."""
    layers = {}
    for name, digits in (("districts", 6), ("streets", 9), ("communities", 12)):
        code = grids["code"].str[:digits]
        merged = grids.geometry.groupby(code.to_numpy()).agg(shapely.coverage_union_all)
        frame = gpd.GeoDataFrame({"code": merged.index}, geometry=merged.to_numpy(), crs=grids.crs)
        frame.insert(1, "name", [_name(c) for c in frame["code"]])
        layers[name] = frame
    return layers


def _name(code: str) -> str:
    """A made-up name from the code: 示例3区, 示例3区5街道, 示例3区5街12社区."""
    district = f"示例{int(code[4:6])}区"
    if len(code) == 6:
        return district
    street = f"{district}{int(code[6:9])}街"
    return street + "道" if len(code) == 9 else f"{street}{int(code[9:12])}社区"


def write(grids: gpd.GeoDataFrame, out: Path, *, n_cases: int, admin: bool, seed: int) -> list[str]:
    """Write the layers to ``out`` (replaced); return their names."""
    out.unlink(missing_ok=True)
    layers = {"grids": grids}
    if admin:
        layers |= admin_layers(grids)
    if n_cases:
        layers["cases"] = cases(grids, n_cases, seed)
    for name, frame in layers.items():
        frame.to_file(out, layer=name, driver="GPKG")
    return list(layers)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the script; return the exit code."""
    args = _parse(argv)
    started = time.perf_counter()
    grids = province(args.grids, args.seed)
    if not args.out.parent.is_dir():
        print(f"error: the folder {args.out.parent} does not exist (create it first)", file=sys.stderr)
        return 2
    names = write(grids, args.out, n_cases=args.cases, admin=args.admin, seed=args.seed)
    communities = grids["community_code"].nunique()
    print(f"wrote {args.out} ({len(grids):,} grids in {communities:,} communities; "
          f"layers {', '.join(names)}; {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
