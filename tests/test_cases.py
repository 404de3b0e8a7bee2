"""gridmap.cases: reading, cleaning and assigning cases, checked against plain geopandas (sjoin)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from cases_fixtures import reference_grid, sample_city, sample_grids
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Point, box

import gridmap
from gridmap.cases import assign, clean_cases, normalize_level, read_cases
from gridmap.cli import _GridmapGroup
from gridmap.cli.cases import cases as cases_group
from gridmap.crs import convert_frame, metric_crs
from gridmap.errors import CaseError, CRSError, GeometryError, GridmapWarning, SchemaError
from gridmap.findings import Report
from gridmap.io import read_layer, write_layer


def points(xy, crs="EPSG:4490", **columns):
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


def boundary_points(grids: gpd.GeoDataFrame, n: int, seed: int = 0) -> np.ndarray:
    """Vertices of the grids and midpoints of their edges: points exactly on shared boundaries."""
    rng = np.random.default_rng(seed)
    xy = shapely.get_coordinates(grids.geometry.to_numpy())
    rings, ring = shapely.get_coordinates(shapely.boundary(grids.geometry.to_numpy()), return_index=True)
    same = ring[1:] == ring[:-1]
    middles = ((rings[:-1] + rings[1:]) / 2)[same]  # on the edge up to rounding: either side is tested
    return np.vstack([xy[rng.choice(len(xy), n)], middles[rng.choice(len(middles), n)]])


def assert_matches_reference(result: gpd.GeoDataFrame, cases: gpd.GeoDataFrame, grids: gpd.GeoDataFrame):
    assert len(result) == len(cases) and result.index.equals(cases.index)  # each case exactly once
    expected = reference_grid(cases.to_crs(grids.crs), grids)
    pd.testing.assert_series_equal(result["grid_code"].astype(object), expected.astype(object),
                                   check_names=False)


# --- assign: exactness ----------------------------------------------------------------------------------

def test_sample_cases_match_sjoin():
    grids, cases = sample_grids(), sample_city().cases
    result = assign(cases, grids)
    assert_matches_reference(result, cases, grids)
    assert result["grid_code"].notna().all()  # the grids tile the city; every sample case is inside
    by_code = grids.set_index("code")["community_code"]
    assert (result["community_code"] == result["grid_code"].map(by_code)).all()
    assert list(result.columns[: len(cases.columns)]) == list(cases.columns)


def test_points_on_shared_edges_and_vertices_follow_the_smallest_code_rule():
    grids = sample_grids()
    rng = np.random.default_rng(3)
    xmin, ymin, xmax, ymax = grids.total_bounds
    xy = np.vstack([boundary_points(grids, 4000), np.column_stack([rng.uniform(xmin, xmax, 4000),
                                                                   rng.uniform(ymin, ymax, 4000)])])
    cases = points(xy)
    result = assign(cases, grids, report=Report("t"))
    assert_matches_reference(result, cases, grids)
    assert result["grid_code"].iloc[:4000].notna().all()  # vertices lie on grids exactly
    # random points: where the within predicate (interior) holds, the grid is the same (boundary points
    # can lie inside one grid and on another's vertex: the built grids overlap by slivers of ~1e-4 m²)
    within = gpd.sjoin(cases.iloc[8000:], grids[["code", "geometry"]], predicate="within", how="inner")
    assert (result.loc[within.index, "grid_code"] == within["code"]).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_random_voronoi_grids_in_metres(seed):
    rng = np.random.default_rng(seed)
    seeds = shapely.multipoints(rng.uniform(0, 5000, (300, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=box(0, 0, 5000, 5000)))
    cells = shapely.intersection(cells, box(0, 0, 5000, 5000))
    codes = [f"45010200100{i:04d}" for i in rng.permutation(len(cells))]
    grids = gpd.GeoDataFrame({"code": codes}, geometry=cells, crs="EPSG:4545")
    xy = np.vstack([boundary_points(grids, 3000, seed), rng.uniform(-100, 5100, (6000, 2)),
                    np.round(rng.uniform(0, 5000, (3000, 2)))])
    cases = points(xy, crs="EPSG:4545")
    result = assign(cases, grids, report=Report("t"))
    assert_matches_reference(result, cases, grids)
    assert "community_code" not in result.columns


def split(rectangle, cuts):
    """Cut a rectangle (x0, y0, x1, y1) by a list of (vertical?, fraction) into a partition of rectangles."""
    pieces = [rectangle]
    for vertical, fraction in cuts:
        x0, y0, x1, y1 = pieces.pop(0)
        if vertical and x1 - x0 >= 2:
            x = x0 + max(1, int((x1 - x0) * fraction))
            pieces += [(x0, y0, min(x, x1 - 1), y1), (min(x, x1 - 1), y0, x1, y1)]
        elif y1 - y0 >= 2:
            y = y0 + max(1, int((y1 - y0) * fraction))
            pieces += [(x0, y0, x1, min(y, y1 - 1)), (x0, min(y, y1 - 1), x1, y1)]
        else:
            pieces.append((x0, y0, x1, y1))
    return pieces


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.tuples(st.booleans(), st.floats(0.1, 0.9)), min_size=1, max_size=30),
       xy=st.lists(st.tuples(st.integers(-2, 66), st.integers(-2, 66)), min_size=1, max_size=300),
       scale=st.sampled_from([1.0, 0.001, 1000.0]))
def test_any_partition_any_point_on_edges_and_vertices(cuts, xy, scale):
    """Integer points on a partition into rectangles: most lie exactly on edges or at vertices."""
    rectangles = split((0, 0, 64, 64), cuts)
    codes = [f"c{k:03d}" for k in np.random.default_rng(len(cuts)).permutation(len(rectangles))]
    grids = gpd.GeoDataFrame({"code": codes}, geometry=[box(*(scale * np.array(r))) for r in rectangles],
                             crs="EPSG:4545")
    cases = points(scale * np.array(xy), crs="EPSG:4545")
    result = assign(cases, grids, report=Report("t"))
    assert_matches_reference(result, cases, grids)


def test_overlapping_grids_still_exact():
    grids = gpd.GeoDataFrame({"code": ["g2", "g1", "g3"]}, geometry=[box(0, 0, 60, 60), box(40, 40, 100, 100),
                                                                     box(60, 0, 100, 40)], crs="EPSG:4545")
    rng = np.random.default_rng(5)
    cases = points(np.vstack([rng.uniform(-5, 105, (5000, 2)), [[50, 50], [60, 40], [40, 40], [60, 20]]]),
                   crs="EPSG:4545")
    result = assign(cases, grids, report=Report("t"))
    assert_matches_reference(result, cases, grids)
    assert result["grid_code"].iloc[-4:].tolist() == ["g1", "g1", "g1", "g2"]


def test_crs_of_cases_and_grids_aligned():
    grids, city = sample_grids(), sample_city()
    cases = city.cases.iloc[:3000]
    in_4326 = assign(cases.to_crs(4326), grids)
    assert (in_4326["grid_code"] == assign(cases, grids)["grid_code"]).all()
    assert in_4326.crs.to_epsg() == 4326  # cases come back in their own CRS
    metric = grids.to_crs(metric_crs(grids))
    projected = assign(cases, metric)
    assert_matches_reference(projected, cases, metric)


def test_outside_cases_kept_with_distance_and_reported():
    grids = gpd.GeoDataFrame({"code": ["a"], "community_code": ["450102001003"]},
                             geometry=[box(108.30, 22.80, 108.31, 22.81)], crs="EPSG:4490")
    cases = points([[108.305, 22.805], [108.32, 22.805], [108.305, 22.79]], case_id=["in", "east", "south"])
    report = Report("t")
    result = assign(cases, grids, report=report)
    assert result["grid_code"].isna().tolist() == [False, True, True]
    assert result["community_code"].isna().tolist() == [False, True, True]
    metric = metric_crs(grids)
    expected = cases.to_crs(metric).distance(grids.to_crs(metric).geometry.iloc[0])
    assert np.isnan(result["outside_m"].iloc[0])
    assert np.allclose(result["outside_m"].iloc[1:], expected.iloc[1:], rtol=1e-9)
    assert 1000 < expected.iloc[1] < 1050  # 0.01 deg of longitude at 22.8 N is about 1,026 m
    found = report.to_frame()
    assert found["check"].tolist() == ["outside", "outside"]
    assert found["record"].tolist() == ["case east", "case south"]
    assert np.allclose(found["distance_m"], expected.iloc[1:].round(1))
    with pytest.warns(GridmapWarning, match="outside"):
        assign(cases, grids)
    with pytest.raises(CaseError, match="outside every grid"):
        assign(cases, grids, strict=True)


def test_missing_points_get_na_and_inputs_are_not_changed():
    grids = sample_grids()
    cases = sample_city().cases.iloc[:50].copy()
    cases.loc[cases.index[:2], "geometry"] = None
    before_cases, before_grids = cases.copy(), grids.copy()
    with pytest.warns(GridmapWarning, match="no_location"):
        result = assign(cases, grids)
    assert result["grid_code"].iloc[:2].isna().all() and result["grid_code"].iloc[2:].notna().all()
    assert np.isnan(result["outside_m"].iloc[:2]).all()
    pd.testing.assert_frame_equal(cases, before_cases)
    pd.testing.assert_frame_equal(grids, before_grids)
    assert not shapely.is_prepared(grids.geometry.to_numpy()).any()


def test_empty_cases():
    result = assign(points(np.empty((0, 2))), sample_grids())
    assert len(result) == 0 and {"grid_code", "community_code", "outside_m"} <= set(result.columns)


def test_bad_grids_and_cases_are_refused():
    grids = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
                             crs="EPSG:4545")
    cases = points([[0.5, 0.5]], crs="EPSG:4545")
    with pytest.raises(SchemaError, match="no column 'code'"):
        assign(cases, grids.rename(columns={"code": "id"}))
    with pytest.raises(SchemaError, match="more than one grid"):
        assign(cases, grids.assign(code=["a", "a"]))
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    with pytest.raises(GeometryError, match="invalid polygon.*Fix: repair"):
        assign(cases, grids.set_geometry([bowtie, box(1, 0, 2, 1)], crs="EPSG:4545"))
    with pytest.raises(GeometryError, match="not a point"):
        assign(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs="EPSG:4545"), grids)
    with pytest.raises(CRSError, match="cases have no CRS"):
        assign(cases.set_crs(None, allow_override=True), grids)


# --- real data: Guangxi counties as grids, cases geocoded in GCJ-02 -------------------------------------

@pytest.mark.shared_data
def test_gcj02_cases_land_in_their_county(shared_data, tmp_path):
    counties = read_layer(shared_data / "boundaries" / "fastgeocn_guangxi_45_cgcs2000.geojson")
    counties = counties.assign(code=counties["gb"].str[3:], community_code=counties["gb"].str[3:] + "001001")
    metric = metric_crs(counties)
    cores = counties.to_crs(metric).buffer(-2000)  # well inside: GCJ-02 shifts by a few hundred metres
    rng = np.random.default_rng(7)
    sampled = cores.sample_points(size=20, rng=rng).explode(index_parts=False)
    truth = gpd.GeoDataFrame({"county": counties["code"].to_numpy()[sampled.index]},
                             geometry=sampled.to_numpy(), crs=metric).to_crs(4490).reset_index(drop=True)
    amap = convert_frame(truth, "cgcs2000", "gcj02")
    table = pd.DataFrame({"事件编号": [f"E{i}" for i in range(len(amap))], "上报时间": "2025-05-01 08:00",
                          "经度": amap.geometry.x.round(7), "纬度": amap.geometry.y.round(7)})
    table.to_csv(tmp_path / "cases.csv", index=False, encoding="utf-8-sig")
    cases = read_cases(tmp_path / "cases.csv", coords="gcj02")
    result = assign(cases, counties)
    assert len(result) == len(truth) > 2000
    assert (result["grid_code"] == truth["county"]).all()
    shift = cases.to_crs(metric).distance(truth.to_crs(metric))
    assert shift.max() < 1.0  # read back to within a metre of the truth
    unconverted = read_cases(tmp_path / "cases.csv", coords="wgs84")
    assert unconverted.to_crs(metric).distance(truth.to_crs(metric)).median() > 100  # the conversion matters


# --- reading --------------------------------------------------------------------------------------------

CSV = """事件编号,上报时间,受理时间,办结时间,事件类型,状态,办结层级,数量,经度,纬度
E1,2025-03-01 09:00,2025-03-01 09:20,2025-03-01 12:00,环境卫生,已办结,网格,1,108.3030,22.8030
E2,2025-03-02 10:00,2025-03-02 10:30,2025-03-01 08:00,治安隐患,已办结,社区,2,108.3040,22.8040
E3,2025-03-03 11:00,,,矛盾纠纷,办理中,,,108.3050,22.8050
E4,2025-03-04 12:00,2025-03-04 12:10,2025-03-05 12:00,民生诉求,已办结,市里,1,108.3060,22.8060
"""


def test_read_csv_with_chinese_headers_and_bad_rows(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text(CSV, encoding="gbk")
    report = Report("t")
    cases = read_cases(path, coords="wgs84", report=report)
    assert cases["case_id"].tolist() == ["E1", "E2", "E3", "E4"]
    assert cases["level"].tolist()[:2] == ["grid", "community"]
    assert cases["level"].isna().tolist()[2:] == [True, True]
    assert cases["status"].tolist() == ["closed", "closed", "open", "closed"]
    assert cases["count"].tolist() == [1, 2, 1, 1]
    assert cases["times_ok"].tolist() == [True, False, True, True]
    assert cases["category"].iloc[0] == "环境卫生"
    found = report.to_frame()
    expected = [["time_order", "case E2"], ["unknown_level", "case E4"]]
    assert found[["check", "record"]].values.tolist() == expected
    assert "closed before it was reported" in found["message"].iloc[0]
    with pytest.raises(CaseError, match="case E2.*closed before it was reported"):
        read_cases(path, coords="wgs84", strict=True)
    with pytest.warns(GridmapWarning, match="time_order 1"):
        read_cases(path, coords="wgs84")


@pytest.mark.parametrize("coords", ["gcj02", "bd09", "cgcs2000"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".geojson", ".parquet"])
def test_formats_and_coordinate_systems(tmp_path, coords, suffix):
    truth = points([[108.3030, 22.8030], [108.3500, 22.7800]], crs="EPSG:4326",
                   case_id=["A", "B"], reported_at=["2025-01-01 08:00", "2025-01-02 08:00"],
                   level=["街道", "区县"])
    shifted = convert_frame(truth, "wgs84", coords)
    path = tmp_path / f"cases{suffix}"
    if suffix in (".csv", ".xlsx"):
        write_layer(shifted, path)  # points become lon/lat columns
    else:
        write_layer(shifted.set_crs(4490 if coords == "cgcs2000" else 4326, allow_override=True), path)
    report = Report("t")
    cases = read_cases(path, coords=coords, report=report)
    assert len(report) == 0
    assert cases["level"].tolist() == ["street", "district"]
    metric = metric_crs(truth)
    assert cases.to_crs(metric).distance(truth.to_crs(metric)).max() < 0.01


def test_cases_located_by_unit_name_or_id(tmp_path):
    units = gpd.GeoDataFrame({"unit_id": ["C1", "C2", "C3"], "name": ["翠竹苑", "兴宁花园", "兴宁花园"]},
                             geometry=[box(108.300, 22.800, 108.302, 22.802), Point(108.31, 22.81),
                                       Point(108.32, 22.82)], crs="EPSG:4490")
    table = "事件编号,上报时间,小区,经度,纬度\nA,2025-01-01 08:00,翠竹苑,,\nB,2025-01-01 09:00,兴宁花园,,\n" \
            "C,2025-01-01 10:00,无名小区,,\nD,2025-01-01 11:00,,108.33,22.83\nE,2025-01-01 12:00,,,\n"
    path = tmp_path / "cases.csv"
    path.write_text(table, encoding="utf-8")
    report = Report("t")
    cases = read_cases(path, units=units, coords="cgcs2000", report=report)
    assert cases["located_by"].tolist()[:1] == ["unit_name"] and cases["located_by"].iloc[3] == "coordinates"
    assert units.geometry.iloc[0].contains(cases.geometry.iloc[0])
    assert cases.geometry.iloc[1:3].isna().all() and cases.geometry.iloc[4] is None
    found = report.to_frame().set_index("record")
    assert found.loc["case B", "check"] == "ambiguous_unit" and "C2, C3" in found.loc["case B", "message"]
    assert found.loc["case C", "check"] == "unknown_unit"
    assert found.loc["case E", "check"] == "no_location"
    assert found["row"].to_dict() == {"case B": 2, "case C": 3, "case E": 5}
    by_id = tmp_path / "by_id.csv"
    by_id.write_text("事件编号,上报时间,unit_id\nA,2025-01-01 08:00,C2\n", encoding="utf-8")
    located = read_cases(by_id, units=units)
    assert located.geometry.iloc[0].equals(Point(108.31, 22.81)) and located.crs.to_epsg() == 4490


def test_bianhao_of_a_case_list_is_the_case_id_not_a_unit_id(tmp_path):
    units = gpd.GeoDataFrame({"unit_id": ["C1", "C2"], "name": ["翠竹苑", "兴宁花园"]},
                             geometry=[Point(108.30, 22.80), Point(108.31, 22.81)], crs="EPSG:4490")
    plain = tmp_path / "plain.csv"
    plain.write_text("编号,上报时间,小区编号\nA1,2025-01-01 08:00,C2\nA2,2025-01-01 09:00,C1\n",
                     encoding="gbk")
    report = Report("t")
    cases = read_cases(plain, units=units, report=report)
    assert cases["case_id"].tolist() == ["A1", "A2"] and "编号" not in cases.columns
    assert cases["located_by"].tolist() == ["unit_id", "unit_id"]
    assert cases.geometry.iloc[0].equals(Point(108.31, 22.81)) and len(report) == 0
    both = tmp_path / "both.csv"  # a named case-id header wins; 编号 is kept as it is
    both.write_text("编号,工单编号,上报时间,经度,纬度\n7,W1,2025-01-01,108.3,22.8\n", encoding="utf-8")
    cases = read_cases(both, coords="wgs84")
    assert cases["case_id"].tolist() == ["W1"] and cases["编号"].astype(str).tolist() == ["7"]
    assert "unit_id" not in cases.columns
    geo = tmp_path / "cases.geojson"  # vector case files too
    write_layer(gpd.GeoDataFrame({"编号": ["G1"], "上报时间": ["2025-01-01"]}, geometry=[Point(108.3, 22.8)],
                                 crs="EPSG:4326"), geo)
    assert read_cases(geo)["case_id"].tolist() == ["G1"]


def test_clean_cases_normalises_and_flags():
    raw = pd.DataFrame({"case_id": ["a", "b", "c", "d", "d"],
                        "reported_at": ["2025-01-02 08:00", "2025年1月3日 9:30", "not a time", "2025-01-02",
                                        "2025-01-02"],
                        "accepted_at": [None, "2025-01-03 09:00", None, None, None],
                        "level": ["网格级", "Community", "乡镇", "镇", " "], "count": [1, 3, "x", None, 2.5],
                        "status": ["办结", "受理", None, "???", None]})
    report = Report("t")
    clean = clean_cases(raw, report=report)
    assert clean["reported_at"].iloc[1] == pd.Timestamp("2025-01-03 09:30")
    assert clean["times_ok"].tolist() == [True, False, True, True, True]  # b accepted before reported
    assert clean["level"].tolist()[:4] == ["grid", "community", "street", "street"]
    assert pd.isna(clean["level"].iloc[4])
    assert clean["count"].iloc[:2].tolist() == [1, 3]
    assert clean["count"].iloc[2:].isna().tolist() == [True, False, True]
    assert clean["count"].iloc[3] == 1  # missing count: one case
    assert clean["status"].tolist() == ["closed", "open", "open", "open", "open"]
    checks = report.to_frame().groupby("check")["record"].apply(list).to_dict()
    assert checks == {"bad_count": ["case c", "case d"], "bad_time": ["case c"], "duplicate_case": ["case d"],
                      "time_order": ["case b"], "unknown_status": ["case d"]}
    pd.testing.assert_frame_equal(raw, raw.copy())


MESSY_COUNTS = st.one_of(st.none(), st.integers(-5, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                         st.sampled_from(["3", "x", "", " 2 ", "1e3", "２", "-1", "2.5", "9" * 20]))
MESSY_TIMES = st.one_of(st.none(), st.sampled_from(["2025-01-02 08:00", "2025年1月3日 9:30", "not a time",
                                                    "2025-01-01", "1900-01-01", "2099-12-31 23:59"]))
MESSY_LEVELS = st.one_of(st.none(), st.sampled_from(["网格级", "Community", "乡镇", "区县", "???", " "]))
MESSY_STATUS = st.one_of(st.none(), st.sampled_from(["办结", "受理", "closed", "open", "???"]))


@given(rows=st.lists(st.tuples(st.sampled_from(["a", "b", None]), MESSY_TIMES, MESSY_TIMES, MESSY_LEVELS,
                               MESSY_COUNTS, MESSY_STATUS), min_size=1, max_size=12))
@settings(max_examples=40, deadline=None)
def test_cleaning_clean_cases_again_changes_nothing(rows):
    # summarize() cleans the cases it is given, which read_cases() cleaned already: a count judged invalid
    # the first time (NA, reported) must not become one case the second time
    raw = pd.DataFrame(rows, columns=["case_id", "reported_at", "closed_at", "level", "count", "status"])
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        once = clean_cases(raw, report=Report("once"))
        twice = clean_cases(once, report=Report("twice"))
    pd.testing.assert_frame_equal(twice, once)
    assert not shown, [str(w.message) for w in shown]  # findings go to the report, pandas' noise nowhere


def test_a_case_with_an_invalid_count_counts_the_same_read_or_given(tmp_path):
    grids = sample_grids()
    cases = sample_city().cases.head(40).copy()
    cases["count"] = ["many"] + [2] * (len(cases) - 1)
    path = tmp_path / "cases.gpkg"
    write_layer(cases, path)
    found = Report("read")
    read = read_cases(path, report=found)
    assert pd.isna(read["count"].iloc[0]) and found.to_frame()["check"].tolist() == ["bad_count"]
    with pytest.warns(GridmapWarning, match="bad_count"):  # the raw frame's count is judged here
        raw_total = gridmap.summarize(grids, cases, by="district")["cases"].sum()
    read_total = gridmap.summarize(grids, read, by="district")["cases"].sum()  # judged already: no warning
    assert read_total == raw_total <= 2 * (len(cases) - 1)

def test_normalize_level():
    assert [normalize_level(v) for v in ("网格", "社区", "村", "街道", "乡镇", "区县", "县", "grid")] == \
        ["grid", "community", "community", "street", "street", "district", "district", "grid"]
    assert normalize_level(None) is None
    with pytest.raises(ValueError, match="unknown handling level"):
        normalize_level("省")


# --- command line ---------------------------------------------------------------------------------------

def test_cli_assign_writes_cases_with_grids(tmp_path):
    grids = sample_grids()
    write_layer(grids, tmp_path / "city.gpkg", "grids")
    write_layer(sample_city().communities, tmp_path / "city.gpkg", "communities", mode="a")
    cases = sample_city().cases.iloc[:500]
    amap = convert_frame(cases, "cgcs2000", "gcj02")
    write_layer(amap, tmp_path / "cases.csv")
    out = tmp_path / "assigned.gpkg"
    result = CliRunner().invoke(cases_group, ["assign", str(tmp_path / "cases.csv"), "--grids",
                                              str(tmp_path / "city.gpkg"), "--coords", "gcj02",
                                              "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "500 cases: 500 in grids" in result.output
    written = read_layer(out)
    expected = assign(cases, grids)["grid_code"].to_numpy()
    assert (written["grid_code"].to_numpy() == expected).mean() > 0.999  # 1e-7 deg rounding in the CSV


def test_cli_help_has_example_and_bad_input_exits_2(tmp_path):
    runner = CliRunner()
    help_text = runner.invoke(cases_group, ["assign", "--help"]).output
    assert "gridmap cases assign cases.csv --grids city.gpkg --coords gcj02" in help_text
    group = _GridmapGroup(name="gridmap", commands={"cases": cases_group})
    (tmp_path / "grids.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    (tmp_path / "cases.csv").write_text("事件编号,上报时间\nA,2025-01-01\n", encoding="utf-8")
    result = runner.invoke(group, ["cases", "assign", str(tmp_path / "cases.csv"), "--grids",
                                   str(tmp_path / "grids.geojson"), "--out", str(tmp_path / "o.gpkg"),
                                   "--strict"])
    assert result.exit_code == 2 and "no_location" in result.output
    assert not (tmp_path / "o.gpkg").exists()


@pytest.mark.parametrize("ids", [["a", " b ", "", None, 5, "  "],
                                 pd.array(["a", " b ", "", None, "x", "  "], dtype="string"), None])
def test_outside_findings_name_cases_as_one_by_one(ids):
    """The bulk labels of cases outside every grid are those of _label: the trimmed id, else the row."""
    from gridmap.cases.locate import _labels
    from gridmap.cases.read import _label

    frame = pd.DataFrame(index=range(6)) if ids is None else pd.DataFrame({"case_id": ids})
    for positions in (np.arange(6), np.array([4, 1]), np.array([], dtype=np.int64)):
        assert _labels(frame, positions).tolist() == [_label(frame, int(i)) for i in positions]
