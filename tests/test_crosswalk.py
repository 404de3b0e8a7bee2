"""gridmap.division.crosswalk: fixtures in metres (CGCS2000 GK CM 108E) near 22.8N 108.3E, as WGS84."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely import affinity, box

from gridmap.division.crosswalk import crosswalk, crosswalk_summary
from gridmap.errors import CodeError, CRSError, GridmapWarning, SchemaError

METRIC = "EPSG:4545"
X0, Y0 = Transformer.from_crs("EPSG:4326", METRIC, always_xy=True).transform(108.3, 22.8)


def frame(codes, geoms, column="code"):
    """A layer drawn in local metres (origin at 108.3E 22.8N), as WGS84."""
    moved = gpd.GeoSeries([affinity.translate(g, X0, Y0) for g in geoms], crs=METRIC).to_crs(4326)
    return gpd.GeoDataFrame({column: codes}, geometry=moved.values, crs="EPSG:4326")


def rows(table, other):
    return table[table["other_code"] == other].set_index("grid_code", drop=False)


def test_departmental_grid_straddling_two_unified_grids_70_30_is_split():
    grids = frame(["G1", "G2"], [box(0, 0, 70, 100), box(70, 0, 100, 100)])
    other = frame(["D1"], [box(0, 0, 100, 100)])
    table = crosswalk(grids, other)
    d1 = rows(table, "D1")
    assert d1["grid_code"].tolist() == ["G1", "G2"]  # largest piece first
    assert d1["share_of_other"].tolist() == pytest.approx([0.7, 0.3], rel=1e-3)
    assert d1["area_m2"].tolist() == pytest.approx([7000.0, 3000.0], rel=1e-3)
    assert d1["share_of_grid"].tolist() == pytest.approx([1.0, 1.0], rel=1e-6)
    assert d1["split"].all() and (d1["n_grids"] == 2).all()
    assert not d1["gathers"].any()
    summary = crosswalk_summary(table).set_index("other_code")
    assert summary.loc["D1", "best_grid"] == "G1"
    assert summary.loc["D1", "best_share"] == pytest.approx(0.7, rel=1e-3)
    assert summary.loc["D1", "relation"] == "split"
    assert summary.loc["D1", "area_m2"] == pytest.approx(10000.0, rel=1e-3)


def test_unified_grid_gathering_three_departmental_grids_is_flagged():
    grids = frame(["U"], [box(0, 0, 300, 100)])
    other = frame(["D1", "D2", "D3"], [box(0, 0, 100, 100), box(100, 0, 200, 100), box(200, 0, 300, 100)])
    table = crosswalk(grids, other)
    assert len(table) == 3 and table["gathers"].all() and (table["n_others"] == 3).all()
    assert not table["split"].any()
    assert table["share_of_grid"].tolist() == pytest.approx([1 / 3] * 3, rel=1e-3)
    # Not exactly 1: U's long straight edges in degrees pass a few mm from D's corners drawn in metres.
    assert table["share_of_other"].tolist() == pytest.approx([1.0] * 3, rel=1e-4)
    summary = crosswalk_summary(table)
    assert summary["relation"].tolist() == ["part_of"] * 3
    assert summary["best_grid"].tolist() == ["U"] * 3


def test_one_to_one_and_outside():
    grids = frame(["G1", "G2"], [box(0, 0, 100, 100), box(100, 0, 200, 100)])
    other = frame(["D1", "D2", "D3"], [box(0, 0, 100, 100), box(150, 0, 250, 100), box(500, 0, 600, 100)])
    table = crosswalk(grids, other)
    d2 = rows(table, "D2")
    assert d2["share_of_other"].tolist() == pytest.approx([0.5, 0.5], rel=1e-3)
    assert sorted(d2["grid_code"].isna()) == [False, True]
    outside = table[table["grid_code"].isna()].set_index("other_code")
    assert outside.loc["D2", "area_m2"] == pytest.approx(5000.0, rel=1e-3)
    assert np.isnan(outside.loc["D2", "share_of_grid"])
    assert outside.loc["D3", "share_of_other"] == pytest.approx(1.0, rel=1e-9)
    # D2 has only one unified grid: not split; G2 holds one departmental grid: nothing gathered.
    assert not d2["split"].any() and not d2["gathers"].any()
    summary = crosswalk_summary(table).set_index("other_code")
    assert summary["relation"].to_dict() == {"D1": "one_to_one", "D2": "one_to_one", "D3": "outside"}
    assert summary.loc["D2", "outside_share"] == pytest.approx(0.5, rel=1e-3)
    assert pd.isna(summary.loc["D3", "best_grid"]) and summary.loc["D3", "best_share"] == 0.0


def test_shares_of_a_fully_covered_departmental_grid_sum_to_one():
    # Irregular unified grids (a rotated lattice) covering the departmental grids entirely.
    lattice = [affinity.rotate(box(x, y, x + 60, y + 60), 20, origin=(0, 0))
               for x in range(-300, 400, 60) for y in range(-300, 400, 60)]
    grids = frame([f"G{i}" for i in range(len(lattice))], lattice)
    other = frame(["D1", "D2"], [box(10, 10, 130, 90), box(130, 10, 170, 200)])
    table = crosswalk(grids, other, tolerance_m2=0)
    assert table["grid_code"].notna().all()
    sums = table.groupby("other_code")["share_of_other"].sum()
    # Pieces are cut in degrees and measured in metres: their areas add up to the whole within 1e-6.
    assert sums.tolist() == pytest.approx([1.0, 1.0], abs=1e-6)
    assert table["split"].all()


def test_min_share_decides_what_counts_as_split():
    grids = frame(["G1", "G2"], [box(0, 0, 99.5, 100), box(99.5, 0, 200, 100)])
    other = frame(["D1"], [box(0, 0, 100, 100)])
    assert not crosswalk(grids, other)["split"].any()  # 0.5% in G2 is below min_share=1%
    assert crosswalk(grids, other, min_share=0.001)["split"].all()


def test_other_layer_in_another_crs_and_code_column():
    grids = frame(["G1", "G2"], [box(0, 0, 70, 100), box(70, 0, 100, 100)])
    other = frame(["D1"], [box(0, 0, 100, 100)], column="网格编号").to_crs(METRIC)
    table = crosswalk(grids, other, other_code="网格编号")
    assert table["share_of_other"].tolist() == pytest.approx([0.7, 0.3], rel=1e-3)


def test_rows_sharing_a_code_are_merged_with_a_warning():
    grids = frame(["G1"], [box(0, 0, 200, 100)])
    other = frame(["D1", "D1"], [box(0, 0, 100, 100), box(100, 0, 200, 100)])
    with pytest.warns(GridmapWarning, match="share a code"):
        table = crosswalk(grids, other)
    assert table["other_code"].tolist() == ["D1"]
    assert table["share_of_other"].iloc[0] == pytest.approx(1.0, rel=1e-9)


def test_bad_input_raises_gridmap_errors():
    grids = frame(["G1"], [box(0, 0, 100, 100)])
    other = frame(["D1"], [box(0, 0, 100, 100)])
    with pytest.raises(SchemaError, match="'unit_code'"):
        crosswalk(grids, other, other_code="unit_code")
    with pytest.raises(CRSError, match="no CRS"):
        crosswalk(grids, other.set_crs(None, allow_override=True))
    with pytest.raises(CodeError, match="row 0 has no code"):
        crosswalk(grids, other.assign(code=[None]))
    with pytest.raises(SchemaError, match="crosswalk columns"):
        crosswalk_summary(other)


@pytest.mark.slow
@pytest.mark.shared_data
def test_real_amap_counties_converted_to_wgs84_match_the_official_counties(shared_data):
    from gridmap.crs import convert_frame, metric_crs

    official = gpd.read_file(shared_data / "boundaries" / "fastgeocn_guangxi_45_cgcs2000.geojson")
    official["code"] = official["gb"].str[3:]
    amap = gpd.read_file(shared_data / "boundaries" / "cnmaps_amap_45_gcj02.geojson")
    amap = amap[amap["level"] == "区县"]
    amap = convert_frame(amap.assign(code=amap["adcode"].astype(str)), "gcj02", "wgs84")
    table = crosswalk(official, amap)
    summary = crosswalk_summary(table).set_index("other_code")
    assert len(summary) == 111
    renamed = {"450127": "450181"}  # 横县 became 横州市
    assert all(summary.loc[code, "best_grid"] == renamed.get(code, code) for code in summary.index)
    # Of each Amap county's part on official land, at least 94% lies in the official county of the same
    # code (median over 98%). Coastal Amap polygons also hold sea: up to 28% outside every official county.
    on_land = summary["best_share"] / (1 - summary["outside_share"])
    assert (on_land > 0.94).all() and summary["best_share"].median() > 0.98
    assert (summary.loc[summary["outside_share"] < 0.01, "best_share"] > 0.94).all()
    # The worst matches, recomputed independently with geopandas.overlay.
    metric = metric_crs(official)
    for code in summary.nsmallest(3, "best_share").index:
        mine = amap[amap["code"] == code].to_crs(official.crs)
        theirs = official[official["code"] == summary.loc[code, "best_grid"]]
        shared = gpd.overlay(mine[["geometry"]], theirs[["geometry"]], how="intersection")
        shared = shared.to_crs(metric).area.sum()
        expected = shared / mine.to_crs(metric).area.sum()
        assert summary.loc[code, "best_share"] == pytest.approx(expected, rel=1e-6)
