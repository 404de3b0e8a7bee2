"""Geometry checks of a grid build, shared by the division tests (independent of gridmap.division.checks)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely import affinity, box

from gridmap.crs import metric_crs

ORIGIN_CRS = "EPSG:4545"  # CGCS2000 3-degree Gauss-Krüger zone of Nanning (central meridian 108 E)
X0, Y0 = 540_000.0, 2_525_000.0  # Nanning (108.39 E, 22.83 N) in that zone


def frame(rows: list[dict], crs: str = "EPSG:4490") -> gpd.GeoDataFrame:
    """A layer drawn in metres around (X0, Y0) in EPSG:4545 and stored in ``crs``."""
    # densified so that edges straight in metres stay (nearly) straight once stored in degrees
    geoms = [shapely.segmentize(affinity.translate(row.pop("geometry"), X0, Y0), 10.0) for row in rows]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=ORIGIN_CRS).to_crs(crs)


def rect(x0: float, y0: float, x1: float, y1: float):
    return box(x0, y0, x1, y1)


def metric(layer: gpd.GeoDataFrame, like: gpd.GeoDataFrame, *, densify: bool = False) -> gpd.GeoDataFrame:
    """The layer in the metric CRS; ``densify`` input outlines first (their edges are straight in degrees)."""
    if densify:
        layer = layer.set_geometry(layer.geometry.segmentize(0.0002))
    return layer.to_crs(metric_crs(like))


def area_m2(geoms, like: gpd.GeoDataFrame) -> np.ndarray:
    """Area (m²) of geometries in ``like``'s CRS, their edges taken as straight in that CRS.

    Densified (about 10 m) before projecting: projecting the vertices alone measures a sliver microns wide
    along a kilometre-long edge drawn in degrees as the area between the edge's chord and its curve.
    """
    series = gpd.GeoSeries(list(geoms), crs=like.crs)
    if like.crs.is_geographic:
        series = series.segmentize(0.0001)
    return series.to_crs(metric_crs(like)).area.to_numpy()


def assert_exact_tiling(build, communities: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> None:
    """Grids tile every community, never overlap, hold every assigned unit once and contain its geometry."""
    grids = metric(build.grids, communities)
    comms = metric(communities, communities, densify=True).set_index("code")
    assert grids.is_valid.all()
    for code, community in comms.geometry.items():
        own = grids[grids["community_code"] == code]
        assert len(own) >= 1, code
        union = shapely.union_all(own.geometry.to_numpy())
        assert union.symmetric_difference(community).area / community.area < 1e-4, code
        assert shapely.coverage_is_valid(own.geometry.to_numpy()), code
        outside = shapely.area(shapely.difference(own.geometry.to_numpy(), community))
        assert outside.max() < 1.0, code  # grids never cross the community boundary
    # no two grids overlap (STRtree, not all pairs)
    geoms = grids.geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[keep]], geoms[right[keep]]))
    assert (overlap < 1.0).all()  # within a community and across (the communities themselves do not overlap)
    # every assigned unit is in exactly one grid, and lies in it
    members = grids["unit_ids"].str.split(";").explode()
    members = members[members != ""]
    assert not members.duplicated().any()
    assigned = build.units[build.units["community_code"].notna()]
    unlisted = set(assigned["unit_id"]) - set(members)
    assert set(members) <= set(assigned["unit_id"])
    # only buildings (grouped with their compound) and compounds split along their buildings go unlisted
    kinds = assigned.set_index("unit_id")["kind"]
    parents = set(assigned["parent_unit"].dropna()) if "parent_unit" in assigned else set()
    assert all(kinds[u] == "building" or u in parents for u in unlisted), unlisted
    by_code = dict(zip(grids["code"], grids.geometry, strict=True))
    listed_in = dict(zip(members, grids.loc[members.index, "code"], strict=True))
    codes = assigned["grid_code"].to_numpy(dtype=object)
    ids = assigned["unit_id"].to_numpy(dtype=object)
    assert all(listed_in.get(u, c) == c for u, c in zip(ids, codes, strict=True))
    # the land of each unit's grid(s) (several for a compound split along its buildings)
    grid = np.array(
        [
            by_code[c] if ";" not in c else shapely.union_all([by_code[k] for k in c.split(";")])
            for c in codes
        ],
        dtype=object,
    )
    community = np.array([comms.geometry[c.split("-")[0]] for c in codes], dtype=object)
    unit = metric(assigned, communities, densify=True).geometry.to_numpy()
    point = shapely.get_dimensions(unit) == 0
    assert (shapely.distance(grid[point], unit[point]) < 0.01).all(), ids[point]
    outside = shapely.area(
        shapely.difference(shapely.intersection(unit[~point], community[~point]), grid[~point])
    )
    assert (outside < 1.0).all(), ids[~point][outside >= 1.0]


def assert_range_or_reported(build, low: int = 300, high: int = 500) -> None:
    """City grids outside the household range are all listed, with a reason, in the report."""
    city = build.grids[build.grids["type"] == "city"]
    outside = city[(city["households"] < low) | (city["households"] > high)]
    listed = build.report.tables["outside_range"].set_index("code")
    assert set(outside["code"]) <= set(listed.index)
    assert (listed.loc[list(outside["code"]), "note"].str.len() > 0).all()


def part_count(geom) -> int:
    return int(np.asarray(shapely.get_num_geometries(geom)))
