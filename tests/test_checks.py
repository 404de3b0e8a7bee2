"""gridmap.division.checks: geometry fixtures built in metres (CGCS2000 GK CM 108E) near 22.8N 108.3E,
converted to WGS84, so that every expected area is known exactly."""

import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely import affinity, box

from gridmap.division import checks
from gridmap.division.checks import CHECKS, check, coverage_gaps, coverage_overlaps
from gridmap.errors import CRSError, GridmapError, SchemaError

METRIC = "EPSG:4545"  # CGCS2000 / 3-degree Gauss-Kruger CM 108E
X0, Y0 = Transformer.from_crs("EPSG:4326", METRIC, always_xy=True).transform(108.3, 22.8)
C1, C2 = "450102001001", "450102001002"
G11, G12, G21, G22 = C1 + "001", C1 + "002", C2 + "001", C2 + "002"


def wgs(geom):
    """A geometry drawn in local metres (origin at 108.3E 22.8N) as WGS84."""
    return gpd.GeoSeries([affinity.translate(geom, X0, Y0)], crs=METRIC).to_crs(4326).iloc[0]


def frame(codes, geoms, **columns):
    return gpd.GeoDataFrame({"code": codes, **columns}, geometry=[wgs(g) for g in geoms], crs="EPSG:4326")


def area_m2(geom):
    """Area of a WGS84 geometry in the fixture's metric CRS (independent of gridmap)."""
    return gpd.GeoSeries([geom], crs=4326).to_crs(METRIC).area.iloc[0]


def in_local(geom, lon, lat):
    """True when the lon/lat point lies in the local-metre geometry."""
    return wgs(geom).buffer(1e-9).contains(shapely.Point(lon, lat))


# Two communities of 200 m x 100 m side by side, each tiled by two 100 m x 100 m grids.
COMMUNITY_BOXES = {C1: box(0, 0, 200, 100), C2: box(200, 0, 400, 100)}
GRID_BOXES = {G11: box(0, 0, 100, 100), G12: box(100, 0, 200, 100),
              G21: box(200, 0, 300, 100), G22: box(300, 0, 400, 100)}


@pytest.fixture
def communities():
    return frame(list(COMMUNITY_BOXES), list(COMMUNITY_BOXES.values()), name=["一社区", "二社区"])


def grids_with(**replace):
    geoms = {code: replace.get(code, geom) for code, geom in GRID_BOXES.items()}
    return frame(list(geoms), list(geoms.values()), community_code=[c[:12] for c in geoms])


def findings(report, name):
    frame_ = report.to_frame()
    return frame_[frame_["check"] == name].reset_index(drop=True)


def voronoi_tiling(n, bounds, seed):
    """Irregular grids tiling a box exactly (shared edges, clipped to the box)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    points = shapely.multipoints(np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)]))
    cells = shapely.voronoi_polygons(points, extend_to=box(*bounds))
    return list(shapely.intersection(np.array(cells.geoms), box(*bounds)))


# ----------------------------------------------------------------------------------------------- coverage


def test_exact_tiling_has_no_gap_overlap_or_crossing(communities):
    grids = grids_with()
    # Independent geometry claim: the grids cover the communities exactly.
    assert area_m2(grids.union_all().symmetric_difference(communities.union_all())) < 1e-3
    for report in (check(grids, communities), check(grids)):
        assert report.ok, report
        assert len(report) == 0
        summary = report.tables["summary"].set_index("check")
        assert summary.loc[["gap", "overlap", "crosses_community"], "count"].sum() == 0


def test_irregular_exact_tiling_ignores_floating_point_noise():
    cells = voronoi_tiling(40, (0, 0, 600, 400), seed=3) + voronoi_tiling(30, (600, 0, 1000, 400), seed=4)
    codes = [f"{C1 if i < 40 else C2}{i:03d}" for i in range(len(cells))]
    # drawn straight in metres: densified so that the edges stay straight once stored in degrees (a cell
    # corner on a 600 m community edge is otherwise up to 5 mm off the edge the two corners draw in degrees)
    grids = frame(codes, shapely.segmentize(cells, 10.0), community_code=[c[:12] for c in codes])
    communities = frame([C1, C2], shapely.segmentize([box(0, 0, 600, 400), box(600, 0, 1000, 400)], 10.0))
    report = check(grids, communities, sliver_area_m2=0, sliver_width_m=0)
    assert report.ok, report
    assert len(report) == 0


@pytest.mark.parametrize("with_communities", [True, False])
@pytest.mark.parametrize("where", ["inside G11", "on the edge G11|G12"])
def test_removed_50_m2_square_is_one_gap_of_50_m2_at_its_place(communities, with_communities, where):
    side = math.sqrt(50.0)
    x = 40.0 if where == "inside G11" else 100.0 - side
    hole = box(x, 40.0, x + side, 40.0 + side)
    report = check(grids_with(**{G11: GRID_BOXES[G11].difference(hole)}),
                   communities if with_communities else None)
    gaps = findings(report, "gap")
    assert len(gaps) == 1
    gap = gaps.iloc[0]
    assert gap["area_m2"] == pytest.approx(50.0, rel=0.01)
    assert gap["severity"] == "error" and not report.ok
    assert in_local(hole, gap["lon"], gap["lat"])
    assert gap["record"] == (C1 if with_communities else None)
    expected_border = {G11} if where == "inside G11" else {G11, G12}
    assert set(gap["grids"].split(", ")) == expected_border
    summary = report.tables["summary"].set_index("check")
    assert summary.loc["gap", "area_m2"] == pytest.approx(50.0, rel=0.01)
    # The gap polygon itself, from the public helper, is the removed square.
    polygons = coverage_gaps(grids_with(**{G11: GRID_BOXES[G11].difference(hole)}),
                             communities if with_communities else None)
    assert area_m2(polygons.geometry.iloc[0].symmetric_difference(wgs(hole))) < 0.01


@pytest.mark.parametrize("hole_m2", [0.5, 2.0])
def test_gaps_near_the_tolerance_are_those_of_every_union(communities, monkeypatch, hole_m2):
    """A community proven gap-free skips the union of its grids: the findings are those of every union."""
    side = math.sqrt(hole_m2)
    grids = grids_with(**{G11: GRID_BOXES[G11].difference(box(40, 40, 40 + side, 40 + side))})
    proven, gap_free = [], checks._gap_free

    def every_union(*args):
        proven.append(gap_free(*args))
        return np.zeros_like(proven[-1])

    skipping = check(grids, communities).to_frame()
    monkeypatch.setattr(checks, "_gap_free", every_union)
    pd.testing.assert_frame_equal(skipping, check(grids, communities).to_frame())
    assert proven[0].tolist() == [hole_m2 < 1, True]  # C1 holds the hole; tolerance_m2 is 1
    assert (skipping["check"] == "gap").sum() == (hole_m2 > 1)


def test_gap_at_the_community_edge_needs_the_communities(communities):
    notch = box(0, 0, 10, 5)  # 50 m² cut at the community's corner: no hole in the layer
    grids = grids_with(**{G11: GRID_BOXES[G11].difference(notch)})
    assert len(findings(check(grids), "gap")) == 0
    gaps = findings(check(grids, communities), "gap")
    assert len(gaps) == 1 and gaps["area_m2"].iloc[0] == pytest.approx(50.0, rel=0.01)


def test_known_50_m2_gap_and_30_m2_overlap_are_both_found(communities):
    # G12 is shifted 0.3 m west: it overlaps G11 by 0.3 x 100 = 30 m² and leaves 30 m² of C1 uncovered
    # at its east side; a 50 m² square is cut out of G22.
    side = math.sqrt(50.0)
    hole = box(340, 40, 340 + side, 40 + side)
    grids = grids_with(**{G12: affinity.translate(GRID_BOXES[G12], -0.3, 0),
                          G22: GRID_BOXES[G22].difference(hole)})
    report = check(grids, communities)
    overlaps = findings(report, "overlap")
    assert len(overlaps) == 1
    pair = overlaps.iloc[0]
    assert {pair["grid_a"], pair["grid_b"]} == {G11, G12}
    assert pair["area_m2"] == pytest.approx(30.0, rel=0.01)
    assert in_local(box(99.7, 0, 100, 100), pair["lon"], pair["lat"])
    gaps = findings(report, "gap").sort_values("area_m2")
    assert gaps["area_m2"].tolist() == pytest.approx([30.0, 50.0], rel=0.01)
    assert gaps["record"].tolist() == [C1, C2]
    assert in_local(box(199.7, 0, 200, 100), gaps["lon"].iloc[0], gaps["lat"].iloc[0])
    # Both are thin or small: slivers too; the overlap's sliver names the pair.
    slivers = findings(report, "sliver")
    assert set(slivers["part"]) == {"gap", "overlap"}
    summary = report.tables["summary"].set_index("check")
    assert summary.loc["overlap", "area_m2"] == pytest.approx(30.0, rel=0.01)
    assert summary.loc["gap", "area_m2"] == pytest.approx(80.0, rel=0.01)
    # The public helper returns the shared strip itself.
    shared = coverage_overlaps(grids).geometry.iloc[0]
    assert area_m2(shared.symmetric_difference(wgs(box(99.7, 0, 100, 100)))) < 0.01


def test_overlap_prefilter_finds_every_overlapping_pair():
    # Random boxes with containments and exact duplicates: compare with a brute-force all-pairs overlay.
    rng = np.random.default_rng(7)
    x, y, w, h = rng.uniform(0, 500, (2, 40)).tolist() + rng.uniform(5, 120, (2, 40)).tolist()
    boxes = [box(*corner) for corner in zip(x, y, np.add(x, w), np.add(y, h), strict=True)]
    boxes += [boxes[0], box(*boxes[1].centroid.buffer(2).bounds)] + list(GRID_BOXES.values())
    grids = frame([f"g{i:02d}" for i in range(len(boxes))], boxes)
    found = {tuple(sorted((r.grid_a, r.grid_b))): r.area_m2 for r in coverage_overlaps(grids).itertuples()}
    geoms = grids.geometry.to_numpy()
    expected = {}
    for i, j in itertools.combinations(range(len(geoms)), 2):
        shared = area_m2(geoms[i].intersection(geoms[j]))
        if shared > 1.0:
            expected[(grids["code"][i], grids["code"][j])] = shared
    assert found.keys() == expected.keys()
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, rel=1e-6)


def test_overlap_between_two_stacked_coverages_is_found():
    # Two departments' layers loaded as one: each centre box matches its own ring of neighbours exactly, so
    # shapely.coverage_invalid_edges reports no edge of either centre; they still overlap by 80 x 100 m.
    def layer(dx, tag):
        centre = box(100 + dx, 100, 200 + dx, 200)
        ring = [box(0 + dx, 0, 300 + dx, 100), box(0 + dx, 200, 300 + dx, 300),
                box(0 + dx, 100, 100 + dx, 200), box(200 + dx, 100, 300 + dx, 200)]
        return list(shapely.segmentize([centre, *ring], 100)), [f"{tag}{i}" for i in range(5)]

    (a, codes_a), (b, codes_b) = layer(0, "a"), layer(20, "b")
    assert shapely.is_empty(shapely.coverage_invalid_edges([wgs(g) for g in a + b]))[[0, 5]].all()
    overlaps = coverage_overlaps(frame(codes_a + codes_b, a + b)).set_index(["grid_a", "grid_b"])
    assert overlaps.loc[("a0", "b0"), "area_m2"] == pytest.approx(8000.0, rel=0.01)


def test_grid_poking_20_m_into_the_next_community(communities):
    poking = box(100, 0, 220, 100)  # G12 reaches 20 m into C2: 2,000 m² outside its community
    for grids in (grids_with(**{G12: poking}), grids_with(**{G12: poking}).drop(columns="community_code")):
        report = check(grids, communities)
        crossing = findings(report, "crosses_community")
        assert crossing["record"].tolist() == [G12]
        row = crossing.iloc[0]
        assert row["area_m2"] == pytest.approx(2000.0, rel=0.01)
        assert row["community_code"] == C1 and row["into"] == C2
        assert in_local(box(200, 0, 220, 100), row["lon"], row["lat"])
        overlap = findings(report, "overlap").iloc[0]
        assert {overlap["grid_a"], overlap["grid_b"]} == {G12, G21}
        assert overlap["area_m2"] == pytest.approx(2000.0, rel=0.01)


def test_unknown_community_code_is_reported_and_the_overlap_used(communities):
    grids = grids_with()
    grids.loc[0, "community_code"] = "450102001999"
    report = check(grids, communities)
    unknown = findings(report, "unknown_community")
    assert unknown["record"].tolist() == [G11] and unknown["severity"].tolist() == ["warning"]
    assert len(findings(report, "crosses_community")) == 0


def test_layer_in_a_metric_crs_gives_the_same_findings_in_lon_lat(communities):
    grids = grids_with(**{G12: affinity.translate(GRID_BOXES[G12], -0.3, 0)})
    expected = findings(check(grids, communities), "overlap").iloc[0]
    found = findings(check(grids.to_crs(METRIC), communities), "overlap").iloc[0]
    assert found["area_m2"] == pytest.approx(expected["area_m2"], rel=1e-3)
    assert (found["lon"], found["lat"]) == pytest.approx((expected["lon"], expected["lat"]), abs=1e-6)


# ----------------------------------------------------------------------------------------------- units


def test_units_in_no_grid_in_two_grids_and_against_their_grid_code(communities):
    grids = grids_with(**{G12: box(90, 0, 200, 100)})  # G11 and G12 share the strip 90-100 m
    points = {"inside": shapely.Point(50, 50), "on_edge": shapely.Point(200, 50),
              "outside": shapely.Point(500, 50), "in_overlap": shapely.Point(95, 50),
              "wrong_code": shapely.Point(250, 50), "unknown_code": shapely.Point(350, 50)}
    polygons = {"straddling": box(280, 40, 320, 60), "compound": box(310, 10, 390, 90)}
    units = gpd.GeoDataFrame(
        {"unit_id": list(points) + list(polygons),
         "grid_code": [G11, None, None, None, G11, "450102001002099", None, G22]},
        geometry=[wgs(g) for g in [*points.values(), *polygons.values()]], crs="EPSG:4326")
    report = check(grids, communities, units)
    assert findings(report, "unit_unassigned")["record"].tolist() == ["outside"]
    multiple = findings(report, "unit_multiple")
    assert sorted(multiple["record"]) == ["in_overlap", "straddling"]
    assert set(multiple.set_index("record").loc["straddling", "grids"].split(", ")) == {G21, G22}
    mismatch = findings(report, "unit_grid_code").set_index("record")
    assert sorted(mismatch.index) == ["unknown_code", "wrong_code"]
    assert mismatch.loc["wrong_code", "grids"] == G21
    assert "names no grid" in mismatch.loc["unknown_code", "message"]
    assert not report.ok


def test_polygon_units_under_the_tolerance_lie_in_the_grid_holding_most_of_them(communities):
    tiny = {"tiny_inside": box(50, 50, 50.5, 51), "tiny_across": box(99.8, 50, 100.3, 51)}  # 0.5 m² each
    units = gpd.GeoDataFrame({"unit_id": list(tiny), "grid_code": [G11, G12]},
                             geometry=[wgs(g) for g in tiny.values()], crs="EPSG:4326")
    report = check(grids_with(), communities, units)
    assert report.ok and len(report) == 0, report  # not unassigned, not in two grids, grid codes agree
    wrong = units.assign(grid_code=[G11, G11])  # 0.3 of the 0.5 m² of tiny_across lie in G12
    assert findings(check(grids_with(), communities, wrong), "unit_grid_code")["record"].tolist() == [
        "tiny_across"]


def test_units_in_another_crs_are_located_the_same():
    units = gpd.GeoDataFrame({"unit_id": ["u1"]}, geometry=[wgs(shapely.Point(350, 50))], crs="EPSG:4326")
    report = check(grids_with(), units=units.to_crs(METRIC))
    assert report.ok and len(report) == 0


# ----------------------------------------------------------------------------------------------- records


def test_duplicate_and_missing_codes():
    grids = grids_with()
    grids.loc[1, "code"] = G11
    grids.loc[3, "code"] = None
    report = check(grids)
    duplicate = findings(report, "duplicate_code")
    assert duplicate["record"].tolist() == [G11] and duplicate["count"].tolist() == [2]
    assert duplicate["severity"].tolist() == ["error"]
    missing = findings(report, "missing_code")
    assert missing["record"].tolist() == ["row 3"] and missing["severity"].tolist() == ["warning"]


def test_multipart_grid_reports_its_stray_part(communities):
    stray = box(60, 0, 100, 100)
    split = shapely.MultiPolygon([box(0, 0, 50, 100), stray])
    report = check(grids_with(**{G11: split}), communities)
    multipart = findings(report, "multipart")
    assert multipart["record"].tolist() == [G11]
    assert multipart["parts"].tolist() == [2]
    assert multipart["area_m2"].iloc[0] == pytest.approx(4000.0, rel=0.01)
    assert in_local(stray, multipart["lon"].iloc[0], multipart["lat"].iloc[0])
    # The 10 m strip between the parts is a gap of the community (open to the outside: no hole in the layer).
    assert findings(report, "gap")["area_m2"].tolist() == pytest.approx([1000.0], rel=0.01)
    assert len(findings(check(grids_with(**{G11: split})), "gap")) == 0


def test_thin_and_tiny_grids_are_slivers():
    grids = frame(["thin", "tiny", "normal"],
                  [box(0, 0, 100, 0.5), box(200, 0, 205, 5), box(300, 0, 400, 100)])
    slivers = findings(check(grids), "sliver").set_index("record")
    assert sorted(slivers.index) == ["thin", "tiny"]
    assert slivers.loc["thin", "width_m"] == pytest.approx(2 * 50 / 201, rel=0.01)
    assert slivers.loc["tiny", "area_m2"] == pytest.approx(25.0, rel=0.01)
    assert set(slivers["severity"]) == {"warning"}


def test_invalid_and_missing_geometries_are_reported_and_the_rest_checked():
    bowtie = shapely.Polygon([wgs(shapely.Point(p)).coords[0]
                              for p in [(0, 0), (100, 100), (100, 0), (0, 100)]])
    grids = grids_with()
    grids.loc[0, "geometry"] = bowtie
    grids.loc[2, "geometry"] = None
    report = check(grids)
    invalid = findings(report, "invalid_geometry").set_index("record")
    assert sorted(invalid.index) == [G11, G21]
    assert "Self-intersection" in invalid.loc[G11, "message"]
    # The repaired bowtie (two triangles) leaves two triangular holes of 2,500 m² each beside G12.
    assert findings(report, "multipart")["record"].tolist() == [G11]
    assert report.to_frame()["check"].isin(CHECKS).all()


def test_households_out_of_range_is_a_warning_for_city_grids_only():
    grids = grids_with()
    grids["type"] = ["city", "city", "rural", "city"]
    grids["households"] = [800, 400, 800, None]
    report = check(grids, households=(300, 500))
    flagged = findings(report, "households_out_of_range")
    assert flagged["record"].tolist() == [G11] and flagged["households"].tolist() == [800]
    assert report.ok  # not a coverage violation
    untyped = check(grids.drop(columns="type"))
    assert findings(untyped, "households_out_of_range")["record"].tolist() == [G11, G21]


def test_summary_counts_every_check():
    grids = grids_with(**{G12: affinity.translate(GRID_BOXES[G12], -0.3, 0)})
    report = check(grids)
    summary = report.tables["summary"]
    assert summary["check"].tolist() == list(CHECKS)
    counts = report.to_frame()["check"].value_counts()
    for row in summary.itertuples():
        assert row.count == counts.get(row.check, 0)
    assert not summary.isna().any().any()
    assert "overlap" in report.summary()


# ----------------------------------------------------------------------------------------------- errors


def test_bad_input_raises_gridmap_errors():
    grids = grids_with()
    with pytest.raises(SchemaError, match="no 'code' column"):
        check(grids.rename(columns={"code": "序号"}))  # 编码, an alias of code, is read as code
    with pytest.raises(CRSError, match="no CRS"):
        check(grids.set_crs(None, allow_override=True))
    with pytest.raises(GridmapError, match="households must be"):
        check(grids, households=(500, 300))
    with pytest.raises(SchemaError, match="unit_id"):
        check(grids, units=grids)
    with pytest.raises(SchemaError, match="GeoDataFrame"):
        check(pd.DataFrame({"code": ["a"]}))


# ----------------------------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def counties(shared_data):
    layer = gpd.read_file(shared_data / "boundaries" / "fastgeocn_guangxi_45_cgcs2000.geojson")
    layer["code"] = layer["gb"].str[3:]
    return layer


@pytest.fixture(scope="module")
def amap_counties(shared_data):
    layer = gpd.read_file(shared_data / "boundaries" / "cnmaps_amap_45_gcj02.geojson")
    layer = layer[layer["level"] == "区县"].copy()
    layer["code"] = layer["adcode"].astype(str).replace({"450127": "450181"})
    return layer.set_crs("EPSG:4490", allow_override=True)  # really GCJ-02; only used as a second layer


def _overlay_overlaps(layer, metric):
    """Independent computation: geopandas.overlay of the layer with itself, pairs sharing > 1 m²."""
    pieces = gpd.overlay(layer[["code", "geometry"]], layer[["code", "geometry"]], how="intersection",
                         keep_geom_type=True)
    pieces = pieces[pieces["code_1"] < pieces["code_2"]]
    areas = pieces.segmentize(0.0005).to_crs(metric).area  # edges straight in degrees, as check measures
    return {(a, b): s for a, b, s in zip(pieces["code_1"], pieces["code_2"], areas, strict=True) if s > 1.0}


def _check_real(layer):
    from gridmap.crs import metric_crs

    report = check(layer)
    frame_ = report.to_frame()
    measured = frame_[frame_["check"].isin(["gap", "overlap", "sliver", "multipart", "crosses_community"])]
    assert not measured[["area_m2", "lon", "lat"]].isna().any().any()
    assert not report.tables["summary"].isna().any().any()
    overlaps = findings(report, "overlap")
    found = {tuple(sorted((r.grid_a, r.grid_b))): r.area_m2 for r in overlaps.itertuples()}
    expected = _overlay_overlaps(layer, metric_crs(layer))
    assert found.keys() == expected.keys()
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, rel=1e-6)
    return report


@pytest.mark.shared_data
def test_real_guangxi_counties_as_a_grid_layer(counties):
    report = _check_real(counties)
    # The CGCS2000 county layer is one clean coverage: independently, its union has no hole above 1 m².
    union = shapely.get_parts(counties.union_all())
    holes = [shapely.Polygon(r) for p in union for r in p.interiors]
    assert all(area_m2(h) <= 1.0 for h in gpd.GeoSeries(holes, crs=counties.crs).to_crs(4326))
    assert report.tables["summary"].set_index("check").loc[["gap", "overlap"], "count"].sum() == 0
    assert set(findings(report, "multipart")["record"]) <= set(counties["code"])


@pytest.mark.shared_data
def test_real_two_independent_county_layers_overlap_as_overlay_says(counties, amap_counties):
    # Nanning's counties from both sources in one layer: the two digitisations overlap each other.
    official = counties[counties["code"].str.startswith("4501")]
    amap = amap_counties[amap_counties["code"].str.startswith("4501")]
    nanning = pd.concat([official.assign(code=official["code"] + "-a")[["code", "geometry"]],
                         amap.assign(code=amap["code"] + "-b")[["code", "geometry"]]], ignore_index=True)
    report = _check_real(gpd.GeoDataFrame(nanning, geometry="geometry", crs=counties.crs))
    assert len(findings(report, "overlap")) > 12
