"""Barriers: grids follow streets, rivers and railways (gridmap.division.barriers, build_grids(barriers=...)).

The city is generated here: four communities of 600 m × 600 m, a street every 200 m (so 36 blocks, the
community outlines on streets too), compounds inside the blocks; one block without units, one block with too
few households to stand alone. Geometry claims are checked with geometry, against the lattice squares.
"""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from division_checks import ORIGIN_CRS, X0, Y0, assert_exact_tiling, frame, metric
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import LineString, MultiLineString, Point, box

from gridmap.cli import main as gridmap_main
from gridmap.crs import convert_frame
from gridmap.datasets import sample_path
from gridmap.division import GridRules, build_grids
from gridmap.division.barriers import MIN_BLOCK_WIDTH_M, along_barriers, barrier_lines, cut_blocks
from gridmap.division.checks import check
from gridmap.division.group import group_units
from gridmap.errors import CRSError, GeometryError, GridmapError
from gridmap.io import read_layer

CODES = ["450102001001", "450102001002", "450102001003", "450102001004"]
STEP, SIDE = 200.0, 1200.0
EMPTY_BLOCK, SMALL_BLOCK, TWO_GRID_BLOCKS = (2, 2), (4, 1), ((0, 5), (5, 5))


def squares() -> dict[tuple[int, int], shapely.Polygon]:
    """The lattice blocks, metric around the origin (before frame() moves them to X0, Y0)."""
    return {(i, j): box(i * STEP, j * STEP, (i + 1) * STEP, (j + 1) * STEP)
            for i in range(int(SIDE / STEP)) for j in range(int(SIDE / STEP))}


def road_lines() -> list:
    """A street every 200 m, reaching 50 m beyond the city (so partly outside every community)."""
    ticks = np.arange(0, SIDE + 1, STEP)
    return ([LineString([(x, -50), (x, SIDE + 50)]) for x in ticks]
            + [LineString([(-50, y), (SIDE + 50, y)]) for y in ticks])


def lattice_city(seed: int = 7) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Communities, units and roads of the street lattice, stored in EPSG:4490."""
    rng = np.random.default_rng(seed)
    outlines = [box(600 * (k // 2), 600 * (k % 2), 600 * (k // 2 + 1), 600 * (k % 2 + 1)) for k in range(4)]
    communities = frame([{"code": code, "name": f"社区{k}", "geometry": outline}
                         for k, (code, outline) in enumerate(zip(CODES, outlines, strict=True))])
    rows = []
    for i, j in squares():
        if (i, j) == EMPTY_BLOCK:
            continue
        x0, y0 = i * STEP, j * STEP
        if (i, j) == SMALL_BLOCK:
            totals = [40, 40]
        elif (i, j) in TWO_GRID_BLOCKS:
            totals = [450, 420]
        else:
            n = int(rng.integers(2, 5))
            totals = list(np.diff(np.sort(rng.choice(np.arange(20, 380), n - 1, replace=False)), prepend=0,
                                  append=380)[:n] + 8)
        width = (STEP - 30) / len(totals)
        for q, households in enumerate(totals):
            rows.append({"unit_id": f"U{i}{j}{q}", "name": f"小区{i}{j}{q}", "kind": "compound",
                         "households": int(households), "population": int(households) * 3,
                         "geometry": box(x0 + 15 + q * width, y0 + 15, x0 + 15 + (q + 1) * width - 6,
                                         y0 + STEP - 15)})
    # a point compound geocoded onto a street (x = 400): it goes to one block and lies inside its grid
    rows.append({"unit_id": "P1", "name": "路边小区", "kind": "compound", "households": 30, "population": 90,
                 "geometry": Point(400.0, 300.0)})
    units = frame(rows)
    roads = frame([{"name": f"路{k}", "kind": "道路", "geometry": line}
                   for k, line in enumerate(road_lines())])
    return communities, units, roads


@pytest.fixture(scope="module")
def city():
    return lattice_city()


@pytest.fixture(scope="module")
def built(city):
    communities, units, roads = city
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_grids(communities, units, barriers=roads)


def lattice_metric(like: gpd.GeoDataFrame) -> dict[tuple[int, int], shapely.Polygon]:
    """The lattice squares in the build's metric CRS (through the same EPSG:4490 storage as the inputs)."""
    keys = list(squares())
    stored = frame([{"key": k, "geometry": s} for k, s in zip(range(len(keys)), squares().values(),
                                                               strict=True)])
    return dict(zip(keys, metric(stored, like).geometry, strict=True))


def test_every_grid_lies_in_one_block_except_reported_crossings(city, built):
    communities, units, _ = city
    blocks = lattice_metric(communities)
    grids = metric(built.grids, communities)
    points = metric(built.units, communities).set_index("unit_id").geometry.representative_point()
    block_of = {unit: next(k for k, s in blocks.items() if s.intersects(p)) for unit, p in points.items()}
    crossings = set(built.report.tables["barrier_crossings"]["code"])
    empty = blocks[EMPTY_BLOCK]
    holders = [code for code, g in zip(grids["code"], grids.geometry, strict=True)
               if g.intersection(empty).area > empty.area - 1]
    assert len(holders) == 1  # the block without units went whole to one grid
    for row in grids.itertuples():
        own = {block_of[u] for u in row.unit_ids.split(";")}
        if row.code not in crossings:
            assert len(own) == 1, row.code
        land = shapely.union_all([blocks[k] for k in own] + ([empty] if row.code == holders[0] else []))
        assert row.geometry.difference(land).area < 1.0, row.code  # the grid stays in its block(s)
    # the holder shares an edge with the empty block: the grid it joined is a neighbour
    holder = grids.geometry[grids["code"] == holders[0]].iloc[0]
    assert holder.difference(empty).intersection(empty).length > 100


def test_small_block_crosses_a_street_and_is_reported(city, built):
    table = built.report.tables["barrier_crossings"]
    grids = built.grids.set_index("code")
    small = {f"U{SMALL_BLOCK[0]}{SMALL_BLOCK[1]}{q}" for q in range(2)}
    holding = [code for code, ids in grids["unit_ids"].items() if small & set(ids.split(";"))]
    assert len(holding) == 1
    assert list(table["code"]) == holding  # the only crossing, by its final code
    assert table["block_households"].iloc[0] == 80 and table["blocks"].iloc[0] == 2
    findings = built.report.to_frame().query("check == 'grid_crosses_barrier'")
    assert findings["record"].tolist() == holding and "80 households" in findings["message"].iloc[0]
    assert 300 <= grids.loc[holding[0], "households"] <= 500


def test_grid_edges_run_along_streets(city, built):
    communities, units, roads = city
    share = along_barriers(built.grids, roads, communities)
    assert share >= 0.8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = build_grids(communities, units)
    assert along_barriers(plain.grids, roads, communities) < share - 0.2  # the barriers make the difference


def test_tiling_stays_exact_and_check_finds_no_error(city, built):
    communities, units, _ = city
    assert_exact_tiling(built, communities, units)
    findings = check(built.grids, communities, units=built.units).to_frame()
    assert not (findings["severity"] == "error").any(), findings.query("severity == 'error'")
    street_point = metric(built.units, communities).set_index("unit_id").geometry["P1"]
    grid = metric(built.grids, communities).set_index("code").geometry[
        built.units.set_index("unit_id")["grid_code"]["P1"]]
    assert grid.exterior.distance(street_point) >= 0.5 - 1e-6  # moved off the street into its block
    summary = built.report.to_frame().query("check == 'barriers'").iloc[0]
    assert summary["blocks"] == 36 and summary["empty_blocks"] == 1


def messy_roads(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The clean roads plus dangles, duplicates, a MultiLineString, a line beside a community outline, lines
    outside the city and Z coordinates (all metric around the origin, stored in EPSG:4490)."""
    extra = [
        LineString([(100, 100), (100, 130)]),  # a dangle inside a block
        LineString([(200, 350), (245, 350)]),  # a dangle from a street into a block
        LineString([(0, 400.5), (1200, 400.5)]),  # a duplicate half a metre beside a street
        MultiLineString([[(600.3, -20), (600.3, 1220)], [(-20, 799.8), (300, 799.8)]]),  # beside outlines
        LineString([(3000, 3000), (3500, 3000)]),  # far outside
        LineString([(-30, -30), (-30, 1230)]),  # outside, along the city
    ]
    rows = [{"name": f"杂{k}", "kind": "道路", "geometry": g} for k, g in enumerate(extra)]
    messy = pd.concat([roads, roads.iloc[:3], frame(rows)], ignore_index=True)  # three exact duplicates
    z = shapely.force_3d(messy.geometry.to_numpy(), 12.5)
    return messy.set_geometry(gpd.GeoSeries(z, crs=messy.crs))


def grid_members(build) -> set[frozenset]:
    return {frozenset(ids.split(";")) for ids in build.grids["unit_ids"]}


def test_messy_barriers_make_no_slivers_and_the_same_grids(city, built):
    communities, units, roads = city
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        messy = build_grids(communities, units, barriers=messy_roads(roads))
    assert grid_members(messy) == grid_members(built)
    assert_exact_tiling(messy, communities, units)
    findings = check(messy.grids, communities, units=messy.units, sliver_width_m=MIN_BLOCK_WIDTH_M).to_frame()
    assert not findings["check"].isin(["sliver", "gap", "overlap"]).any()
    assert messy.report.to_frame().query("check == 'barriers'")["blocks"].iloc[0] == 36


def test_river_polygon_counts_by_its_banks(city, built):
    """A river drawn as an area (here along the street at y = 400) counts by its outline: its thin strips
    between bank and street are slivers merged into the blocks beside them, and no grid crosses it."""
    communities, units, roads = city
    river = frame([{"name": "邕江", "kind": "河流", "geometry": box(-50, 396, 1250, 404)}])
    barriers = pd.concat([roads, river], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build = build_grids(communities, units, barriers=barriers)
    assert grid_members(build) == grid_members(built)
    assert_exact_tiling(build, communities, units)
    water = metric(river, communities).geometry.iloc[0]
    crossing = set(build.report.tables["barrier_crossings"]["code"])
    empty = lattice_metric(communities)[EMPTY_BLOCK]
    for code, grid in zip(build.grids["code"], metric(build.grids, communities).geometry, strict=True):
        if code not in crossing and grid.intersection(empty).area < 1:  # the empty block joined a grid
            low, high = grid.bounds[1], grid.bounds[3]
            assert high <= water.bounds[3] + 0.01 or low >= water.bounds[1] - 0.01, code
    findings = check(build.grids, communities, sliver_width_m=MIN_BLOCK_WIDTH_M).to_frame()
    assert findings["check"].ne("sliver").all()


def test_gcj02_roads_declared_on_reading_give_the_same_grids(city, built, tmp_path):
    communities, units, roads = city
    amap = convert_frame(roads.to_crs(4326), "wgs84", "gcj02")
    path = tmp_path / "高德道路.geojson"
    amap.to_file(path, driver="GeoJSON")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        declared = read_layer(path, coords="gcj02")
        undeclared = read_layer(path)
        build = build_grids(communities, units, barriers=declared)
        shifted = build_grids(communities, units, barriers=undeclared)
    assert grid_members(build) == grid_members(built)
    # read as WGS84, the streets lie some 500 m off: the grids no longer follow them
    assert along_barriers(shifted.grids, roads, communities) < 0.8


def test_barrier_lines_take_lines_polygons_and_z():
    holed = box(0, 0, 1, 1).difference(box(0.4, 0.4, 0.6, 0.6))
    lines = gpd.GeoSeries([LineString([(0, 0, 1), (10, 0, 2)]), holed, Point(3, 3), None,
                           MultiLineString([[(0, 5), (5, 5)], [(6, 5), (9, 5)]])], crs=ORIGIN_CRS)
    out = barrier_lines(lines, lines.crs)
    assert list(shapely.get_type_id(out)) == [shapely.GeometryType.LINESTRING] * 5  # ring, hole, two lines
    assert not shapely.has_z(out).any()
    assert round(float(shapely.length(out).sum()), 6) == 10 + 4 + 0.8 + 5 + 3
    with pytest.raises(CRSError, match="no CRS"):
        barrier_lines(gpd.GeoSeries([LineString([(0, 0), (1, 1)])]), lines.crs)
    with pytest.raises(GridmapError, match="GeoDataFrame or GeoSeries"):
        barrier_lines([LineString([(0, 0), (1, 1)])], lines.crs)
    with pytest.raises(GeometryError, match=r"no lines or polygons \(2 records: Point\)"):
        barrier_lines(gpd.GeoSeries([Point(0, 0), Point(1, 1)], crs=ORIGIN_CRS), lines.crs)
    with pytest.raises(GeometryError, match="0 records: no geometry"):
        barrier_lines(gpd.GeoDataFrame(geometry=[], crs=ORIGIN_CRS), lines.crs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(*[st.floats(-50, 350) for _ in range(4)]), max_size=12),
       st.floats(0, 2000))
def test_blocks_tile_the_community_and_none_is_a_sliver(segments, min_area):
    community = shapely.Polygon([(0, 0), (300, 0), (300, 200), (150, 260), (0, 200)],
                                holes=[[(100, 80), (140, 80), (140, 120), (100, 120)]])
    lines = [LineString([(a, b), (c, d)]) for a, b, c, d in segments if (a, b) != (c, d)]
    blocks = cut_blocks(community, lines, min_area_m2=min_area)
    # exact up to the snap-rounding of the noding (0.1 mm): vertices move less than that along the outline
    snapped = community.length * 1e-4
    assert shapely.union_all(blocks).symmetric_difference(community).area < snapped
    assert abs(sum(b.area for b in blocks) - community.area) < snapped  # and no overlaps
    assert shapely.coverage_is_valid(blocks)
    if len(blocks) > 1:
        width = 2 * shapely.area(blocks) / shapely.length(blocks)
        assert (shapely.area(blocks) >= min_area).all() or len(blocks) == 1
        assert (width >= MIN_BLOCK_WIDTH_M).all()


def test_units_merge_within_their_block_first():
    units = pd.DataFrame({"unit_id": ["a", "b", "c"], "kind": ["compound"] * 3, "households": [200, 150, 200],
                          "population": [600, 450, 600], "areal": [True] * 3, "x": [0.0, 200.0, 100.0],
                          "y": [0.0, 0.0, 0.0]})
    adjacency = pd.DataFrame({"left": [0, 0, 1], "right": [2, 1, 2], "gap_m": [10.0, 100.0, 10.0]})
    plain, _ = group_units(units, adjacency, community_kind="urban", rules=GridRules())
    assert plain[0] == plain[2] != plain[1]  # nearest first: a with c
    zoned, groups = group_units(units, adjacency, community_kind="urban", rules=GridRules(), zones=[0, 0, 1])
    assert zoned[0] == zoned[1] != zoned[2]  # a with b, in its block; c across the street stays apart
    assert groups["households"].tolist() == [350, 200] or groups["households"].tolist() == [200, 350]


def test_min_block_rule_is_checked():
    with pytest.raises(GridmapError, match="min_block_m2"):
        GridRules(min_block_m2=-1)
    assert GridRules().min_block_m2 == 200


def test_cli_build_with_barriers(city, built, tmp_path):
    communities, units, roads = city
    paths = {name: tmp_path / f"{name}.geojson" for name in ("communities", "units", "roads")}
    for name, layer in zip(paths, (communities, units, roads), strict=True):
        layer.to_file(paths[name], driver="GeoJSON")
    amap = tmp_path / "roads_gcj02.gpkg"
    convert_frame(roads.to_crs(4326), "wgs84", "gcj02").to_file(amap, layer="roads", driver="GPKG")
    out = tmp_path / "grids.gpkg"
    args = ["build", "--communities", str(paths["communities"]), "--units", str(paths["units"]),
            "--barriers", str(amap), "--barriers-coords", "gcj02", "--out", str(out), "--json", "--quiet"]
    result = CliRunner().invoke(gridmap_main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["findings_by_check"]["grid_crosses_barrier"] == 1
    grids = pyogrio.read_dataframe(out, layer="grids")
    assert {frozenset(ids.split(";")) for ids in grids["unit_ids"]} == grid_members(built)
    report = pyogrio.read_dataframe(out, layer="report")
    assert (report["check"] == "barriers").sum() == 1


def test_cli_refuses_a_missing_barriers_file(city, tmp_path):
    communities, units, _ = city
    paths = {name: tmp_path / f"{name}.geojson" for name in ("communities", "units")}
    communities.to_file(paths["communities"], driver="GeoJSON")
    units.to_file(paths["units"], driver="GeoJSON")
    result = CliRunner().invoke(gridmap_main, [
        "build", "--communities", str(paths["communities"]), "--units", str(paths["units"]),
        "--barriers", str(tmp_path / "道路.shp"), "--out", str(tmp_path / "out.gpkg")])
    assert result.exit_code == 2
    assert "道路.shp" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.gpkg").exists()


def test_split_compound_and_rural_villages_follow_barriers():
    """A compound split along its buildings with a road through it, and a rural community cut by a river."""
    urban, rural = "450102001003", "450127100201"
    communities = frame([{"code": urban, "geometry": box(0, 0, 600, 300)},
                         {"code": rural, "geometry": box(0, 300, 1400, 700)}])
    building = {"kind": "building", "households": 225, "population": 675, "buildings": 1}
    village = {"kind": "natural_village", "population": 300, "buildings": 10}
    units = frame([
        {"unit_id": "big", "kind": "compound", "households": 900, "population": 2700, "buildings": 4,
         "geometry": box(10, 10, 290, 290)},
        {"unit_id": "small", "kind": "compound", "households": 350, "population": 1000, "buildings": 1,
         "geometry": box(310, 10, 590, 290)},
        *[{"unit_id": f"big-{k + 1}", "parent_unit": "big", "geometry": Point(x, y), **building}
          for k, (x, y) in enumerate([(70, 230), (220, 230), (70, 60), (220, 60)])],
        *[{"unit_id": f"V{k}", "households": h, "geometry": Point(x, 500), **village}
          for k, (x, h) in enumerate([(100, 250), (600, 60), (800, 200), (1250, 120)])],
    ])
    barriers = frame([{"geometry": LineString([(300, -10), (300, 310)])},  # between the compounds
                      {"geometry": LineString([(0, 150), (300, 150)])},  # through the big compound
                      {"geometry": LineString([(650, 290), (650, 710)])}])  # a stream across the village land
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build = build_grids(communities, units, barriers=barriers)
    assert_exact_tiling(build, communities, units)
    assert grid_members(build) == {frozenset({"big-1", "big-2"}), frozenset({"big-3", "big-4"}),
                                   frozenset({"small"}), frozenset({"V0", "V1"}), frozenset({"V2"}),
                                   frozenset({"V3"})}
    stream = metric(barriers.iloc[[2]], communities).geometry.iloc[0]
    grids = metric(build.grids, communities).set_index("unit_ids").geometry
    assert grids["V0;V1"].bounds[2] <= stream.bounds[0] + 0.01 <= grids["V2"].bounds[0] + 0.02
    road = metric(barriers.iloc[[1]], communities).geometry.iloc[0]
    assert grids["big-1;big-2"].bounds[1] >= road.bounds[1] - 0.01 >= grids["big-3;big-4"].bounds[3] - 0.02
    # (a compound split along its buildings lies in two grids by design: check the tiling, not the units)
    assert check(build.grids, communities).to_frame()["severity"].ne("error").all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = build_grids(communities, units)
    assert frozenset({"V1", "V2"}) in grid_members(plain)  # without the stream, V1 joins its nearer neighbour


def test_sample_roads_run_between_the_compounds():
    """data/sample/roads.gpkg: street centre lines of the lattices the sample's compounds were drawn in."""
    roads = read_layer(sample_path() / "roads.gpkg")
    units = read_layer(sample_path() / "sample_city.gpkg", "units")
    assert set(roads.geom_type) == {"LineString"} and set(roads["kind"]) == {"主干道", "支路"}
    assert roads["road_id"].is_unique
    compounds = units[units["kind"] == "compound"].geometry.to_numpy()
    lines = roads.geometry.to_numpy()
    hit, _ = shapely.STRtree(lines).query(compounds, predicate="intersects")
    assert len(hit) == 0  # no street runs through a compound


def test_cli_refuses_a_barriers_layer_of_points(city, tmp_path):
    communities, units, _ = city
    paths = {name: tmp_path / f"{name}.geojson" for name in ("communities", "units")}
    communities.to_file(paths["communities"], driver="GeoJSON")
    units.to_file(paths["units"], driver="GeoJSON")
    units[units.geom_type == "Point"].to_file(tmp_path / "路口.geojson", driver="GeoJSON")
    result = CliRunner().invoke(gridmap_main, [
        "build", "--communities", str(paths["communities"]), "--units", str(paths["units"]),
        "--barriers", str(tmp_path / "路口.geojson"), "--out", str(tmp_path / "out.gpkg")])
    assert result.exit_code == 2
    assert "路口.geojson" in result.output and "no lines or polygons" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out.gpkg").exists()


def test_no_barrier_crossing_the_community_keeps_todays_grids(city):
    communities, units, _ = city
    far = gpd.GeoDataFrame(geometry=[LineString([(X0 + 5000, Y0), (X0 + 6000, Y0)])], crs=ORIGIN_CRS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = build_grids(communities, units)
        with_far = build_grids(communities, units, barriers=far)
    assert grid_members(plain) == grid_members(with_far)
    assert shapely.equals(shapely.union_all(plain.grids.geometry.to_numpy()),
                          shapely.union_all(with_far.grids.geometry.to_numpy()))
