"""build_grids: grouping rules and exact tiling, checked with geometry (gridmap.division.build)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from division_checks import (
    area_m2,
    assert_exact_tiling,
    assert_range_or_reported,
    frame,
    metric,
    part_count,
    rect,
)
from shapely import Point, Polygon, box

from gridmap.crs import metric_crs
from gridmap.division import GridBuild, GridRules, build_grids
from gridmap.division.checks import check
from gridmap.errors import GridmapWarning, SchemaError, TopologyError

URBAN, URBAN2, RURAL, EMPTY = "450102001003", "450102001004", "450127100201", "450102001005"


def compound(unit_id, geometry, households, population=None, kind="compound", buildings=1):
    return {
        "unit_id": unit_id,
        "name": f"小区{unit_id}",
        "kind": kind,
        "households": households,
        "population": households * 3 if population is None else population,
        "buildings": buildings,
        "geometry": geometry,
    }


def blocks_city():
    """One urban community of 7 compounds on a street grid: roads 20 m east-west, 30 m north-south."""
    communities = frame([{"code": URBAN, "name": "兴宁社区", "geometry": rect(0, 0, 1000, 600)}])
    units = frame(
        [
            compound("C1", rect(20, 330, 300, 580), 620),
            compound("C2", rect(320, 330, 480, 580), 180),
            compound("C3", rect(500, 330, 660, 580), 160),
            compound("C4", rect(680, 330, 980, 580), 350),
            compound("C5", rect(20, 20, 300, 300), 120),
            compound("C6", rect(320, 20, 480, 300), 90),
            compound("C7", rect(500, 20, 980, 300), 400),
        ]
    )
    return communities, units


def members(build: GridBuild) -> dict[str, str]:
    return dict(zip(build.grids["unit_ids"], build.grids["reason"], strict=True))


def test_city_grids_alone_merged_and_leftovers():
    communities, units = blocks_city()
    build = build_grids(communities, units)
    assert_exact_tiling(build, communities, units)
    # C1, C4, C7 reach 300 households alone; C2+C3 reach the range; C5+C6 (210) cannot join any neighbour
    assert members(build) == {
        "C1": "alone",
        "C2;C3": "merged",
        "C4": "alone",
        "C5;C6": "merged",
        "C7": "alone",
    }
    assert build.grids["code"].tolist() == [f"{URBAN}-{n:03d}" for n in range(1, 6)]  # reading order
    assert build.grids.set_index("unit_ids")["households"].to_dict() == {
        "C1": 620,
        "C2;C3": 340,
        "C4": 350,
        "C5;C6": 210,
        "C7": 400,
    }
    outside = build.report.tables["outside_range"].set_index("code")["note"]
    assert set(outside.index) == {f"{URBAN}-001", f"{URBAN}-004"}
    assert "give its buildings as units to split it" in outside[f"{URBAN}-001"]
    assert "no adjacent grid can take it" in outside[f"{URBAN}-004"]
    assert_range_or_reported(build)
    table = build.report.tables["households"].iloc[0]
    assert (
        table["community_code"],
        table["n_grids"],
        table["min"],
        table["max"],
        table["n_outside_range"],
    ) == (URBAN, 5, 210, 620, 2)
    assert table["median"] == 350
    # grids carry the units' totals and the units carry their grid
    assert build.grids["buildings"].sum() == 7 and build.grids["n_units"].sum() == 7
    assert build.units.set_index("unit_id")["grid_code"]["C3"] == f"{URBAN}-002"


def test_compound_land_and_roads_go_to_nearest_grid():
    communities, units = blocks_city()
    build = build_grids(communities, units)
    grids = metric(build.grids, communities).set_index("unit_ids").geometry
    roads = (
        metric(communities, communities)
        .geometry.iloc[0]
        .difference(shapely.union_all(metric(units, communities).geometry.to_numpy()))
    )
    assert roads.area > 50_000  # there is land between units to share out ...
    # ... and a point on the road next to C7 goes to C7's grid, one next to C1 to C1's grid
    here = metric(frame([{"geometry": Point(990, 150)}, {"geometry": Point(10, 450)}]), communities).geometry
    assert grids["C7"].contains(here.iloc[0]) and grids["C1"].contains(here.iloc[1])
    assert all(part_count(g) == 1 for g in grids)


def test_small_leftover_joins_adjacent_grid_within_bound():
    communities = frame([{"code": URBAN, "geometry": rect(0, 0, 600, 300)}])
    units = frame([compound("a", rect(10, 10, 290, 290), 350), compound("b", rect(310, 10, 590, 290), 100)])
    build = build_grids(communities, units)
    assert_exact_tiling(build, communities, units)
    assert members(build) == {"a;b": "merged"}
    assert build.grids["households"].tolist() == [450]
    assert metric(build.grids, communities).area.iloc[0] == pytest.approx(180_000, rel=1e-5)


def test_population_cap_keeps_compounds_apart():
    communities = frame([{"code": URBAN, "geometry": rect(0, 0, 600, 300)}])
    units = frame(
        [
            compound("a", rect(10, 10, 290, 290), 150, population=1500),
            compound("b", rect(310, 10, 590, 290), 150, population=1200),
        ]
    )
    build = build_grids(communities, units, rules=GridRules(max_population=2500))
    assert sorted(build.grids["unit_ids"]) == ["a", "b"]  # 2700 people together > 2500
    assert_range_or_reported(build)
    merged = build_grids(communities, units, rules=GridRules(max_population=3000))
    assert merged.grids["unit_ids"].tolist() == ["a;b"]


def test_large_compound_is_split_along_its_buildings():
    communities = frame([{"code": URBAN, "geometry": rect(0, 0, 600, 300)}])
    building = {"kind": "building", "households": 225, "population": 675, "buildings": 1}
    units = frame(
        [
            compound("big", rect(10, 10, 290, 290), 900, buildings=4),
            compound("small", rect(310, 10, 590, 290), 350, buildings=2),
            {"unit_id": "big-1", "parent_unit": "big", "geometry": Point(70, 230), **building},
            {"unit_id": "big-2", "parent_unit": "big", "geometry": Point(220, 230), **building},
            {"unit_id": "big-3", "parent_unit": "big", "geometry": Point(70, 60), **building},
            {"unit_id": "big-4", "parent_unit": "big", "geometry": Point(220, 60), **building},
            {"unit_id": "small-1", "parent_unit": "small", "geometry": Point(400, 150), **building},
            {"unit_id": "small-2", "parent_unit": "small", "geometry": Point(500, 150), **building},
        ]
    )
    build = build_grids(communities, units)
    assert_exact_tiling(build, communities, units)
    # buildings 150 m apart in a row join first (450 households); rows are 170 m apart
    assert members(build) == {"big-1;big-2": "split", "big-3;big-4": "split", "small": "alone"}
    assert build.grids.set_index("unit_ids")["households"].to_dict() == {
        "big-1;big-2": 450,
        "big-3;big-4": 450,
        "small": 350,
    }
    codes = build.units.set_index("unit_id")["grid_code"]
    assert (
        codes["big"] == ";".join(sorted([codes["big-1"], codes["big-3"]]))
        and codes["big-1"] == codes["big-2"]
    )
    assert codes["small-1"] == codes["small-2"] == codes["small"]  # not split: its buildings follow it
    assert "compound_split" in set(build.report.to_frame()["check"])
    assert build.report.tables["outside_range"].empty
    # the compound's polygon is shared between its two grids along the line halfway between the rows (y 145)
    grids = metric(build.grids, communities).set_index("unit_ids").geometry
    big = metric(units, communities, densify=True).set_index("unit_id").geometry["big"]
    assert grids["big-1;big-2"].intersection(big).area == pytest.approx(280 * (290 - 145), rel=0.01)
    assert grids["big-1;big-2"].intersection(big).area + grids["big-3;big-4"].intersection(
        big
    ).area == pytest.approx(big.area, rel=1e-6)


def test_buildings_need_a_compound():
    communities, units = blocks_city()
    orphan = frame(
        [
            {
                "unit_id": "b",
                "kind": "building",
                "households": 10,
                "population": 30,
                "buildings": 1,
                "parent_unit": "nowhere",
                "geometry": Point(50, 50),
            }
        ]
    )
    with pytest.raises(SchemaError, match="building b has parent_unit 'nowhere'"):
        build_grids(communities, pd.concat([units, orphan], ignore_index=True))
    with pytest.raises(SchemaError, match="need a parent_unit column"):
        build_grids(communities, pd.concat([units, orphan.drop(columns="parent_unit")], ignore_index=True))


def test_compounds_across_a_bay_are_not_merged_and_grids_stay_connected():
    # a U-shaped community: the notch (x 300-700, y > 300) belongs to another community
    u_shape = rect(0, 0, 1000, 1000).difference(rect(300, 300, 700, 1000))
    communities = frame([{"code": URBAN, "geometry": u_shape}])
    units = frame(
        [
            compound("L", rect(50, 700, 250, 950), 150),
            compound("R", rect(750, 700, 950, 950), 150),
            compound("M", rect(350, 50, 650, 250), 400),
        ]
    )
    build = build_grids(communities, units)
    assert_exact_tiling(build, communities, units)
    assert sorted(build.grids["unit_ids"]) == ["L", "M", "R"]  # L and R are 500 m apart across the notch
    assert all(part_count(g) == 1 for g in metric(build.grids, communities).geometry)


def test_detached_voronoi_piece_is_reattached_to_its_neighbour():
    u_shape = rect(0, 0, 1000, 1000).difference(rect(300, 300, 700, 1000))
    communities = frame([{"code": URBAN, "geometry": u_shape}])
    # Y (right arm) is nearer than X to the top of the left arm as the crow flies, across the notch
    units = frame(
        [
            compound("X", Point(150, 100), 400),
            compound("Y", Point(850, 900), 400),
            compound("Z", Point(500, 150), 400),
        ]
    )
    build = build_grids(communities, units)
    assert_exact_tiling(build, communities, units)
    grids = metric(build.grids, communities).set_index("unit_ids").geometry
    top_left = metric(frame([{"geometry": Point(150, 900)}]), communities).geometry.iloc[0]
    assert grids["X"].contains(top_left) and not grids["Y"].intersects(top_left)
    assert all(part_count(g) == 1 for g in grids)
    assert "grid_multipart" not in set(build.report.to_frame()["check"])


def test_points_only_community():
    rng = np.random.default_rng(7)
    xy = rng.uniform(50, 950, size=(12, 2))
    households = rng.integers(40, 260, size=12)
    communities = frame([{"code": URBAN, "geometry": rect(0, 0, 1000, 1000)}])
    units = frame([compound(f"P{i:02d}", Point(*xy[i]), int(households[i])) for i in range(12)])
    build = build_grids(communities, units)
    assert_exact_tiling(build, communities, units)
    assert_range_or_reported(build)
    assert build.grids["households"].sum() == households.sum()
    assert (build.grids["households"] <= 500).all()  # merging never passes the upper bound


def test_dedicated_sites():
    communities = frame([{"code": URBAN, "geometry": rect(0, 0, 800, 400)}])
    units = frame(
        [
            compound("school", rect(20, 20, 200, 380), 0, population=0, kind="school"),  # polygon: dedicated
            compound(
                "hospital", Point(300, 300), 0, population=300, kind="hospital"
            ),  # 300 people: dedicated
            compound("market", Point(300, 100), 0, population=50, kind="market"),  # 50 people: ordinary
            compound("home", rect(500, 20, 780, 380), 320),
        ]
    )
    build = build_grids(communities, units)
    assert_exact_tiling(build, communities, units)
    by_members = build.grids.set_index("unit_ids")
    assert (
        by_members.loc["school", "type"] == "dedicated"
        and by_members.loc["school", "reason"] == "dedicated site"
    )
    assert by_members.loc["hospital", "type"] == "dedicated"
    assert (
        by_members.loc["home;market", "type"] == "city"
        and by_members.loc["home;market", "reason"] == "merged"
    )
    assert "hospital" not in set(
        build.report.tables["outside_range"]["code"]
    )  # dedicated grids have no range


def test_point_inside_a_compound_shares_its_grid():
    communities = frame([{"code": URBAN, "geometry": rect(0, 0, 600, 300)}])
    units = frame(
        [
            compound("Q", rect(10, 10, 290, 290), 350),
            compound("S", Point(150, 150), 0, population=500, kind="school"),
            compound("T", rect(310, 10, 590, 290), 330),
        ]
    )
    with pytest.warns(GridmapWarning, match="unit_inside_unit 1"):
        build = build_grids(communities, units)
    assert_exact_tiling(build, communities, units)
    assert sorted(build.grids["unit_ids"]) == ["Q;S", "T"]
    assert (build.grids["type"] == "city").all()


def test_rural_grids_villages_merge_and_compounds_join():
    communities = frame([{"code": RURAL, "name": "那坡村", "geometry": rect(0, 0, 1400, 400)}])
    village = "natural_village"
    units = frame(
        [
            compound("V2", Point(100, 200), 60, kind=village),
            compound("V1", Point(400, 200), 250, kind=village),
            compound("V3", Point(900, 200), 180, kind=village),
            compound("K", Point(1250, 200), 100),
        ]
    )
    build = build_grids(communities, units)
    assert_exact_tiling(build, communities, units)
    grids = build.grids.set_index("unit_ids")
    assert (grids["type"] == "rural").all()
    assert grids.loc["V1;V2", "reason"] == "merged villages" and grids.loc["V1;V2", "households"] == 310
    assert (
        grids.loc["K;V3", "reason"] == "single village"
        and "joined this village grid" in grids.loc["K;V3", "note"]
    )


def test_kind_column_overrides_village_digits():
    communities = frame([{"code": RURAL, "kind": "urban", "geometry": rect(0, 0, 600, 300)}])
    units = frame([compound("a", rect(10, 10, 290, 290), 350)])
    assert build_grids(communities, units).grids["type"].tolist() == ["city"]


def test_empty_community_is_one_grid():
    communities = frame(
        [
            {"code": URBAN, "geometry": rect(0, 0, 600, 300)},
            {"code": EMPTY, "geometry": rect(600, 0, 1200, 300)},
        ]
    )
    units = frame([compound("a", rect(10, 10, 290, 290), 350)])
    build = build_grids(communities, units)
    assert_exact_tiling(build, communities, units)
    empty = build.grids[build.grids["community_code"] == EMPTY].iloc[0]
    assert (empty["reason"], empty["households"], empty["n_units"], empty["unit_ids"]) == (
        "empty community",
        0,
        0,
        "",
    )
    assert metric(build.grids, communities).area[build.grids["community_code"] == EMPTY].iloc[
        0
    ] == pytest.approx(180_000, rel=1e-6)
    assert "community_empty" in set(build.report.to_frame()["check"])


def test_outside_unit_excluded_and_reported_strict_raises():
    communities, units = blocks_city()
    units = pd.concat([units, frame([compound("far", Point(1400, 300), 200)])], ignore_index=True)
    with pytest.warns(GridmapWarning, match="unit_outside"):
        build = build_grids(communities, units)
    assert_exact_tiling(build, communities, units)
    far = build.units.set_index("unit_id").loc["far"]
    assert far["community_code"] is None and far["grid_code"] is None
    assert not build.grids["unit_ids"].str.contains("far").any()
    finding = build.report.to_frame().set_index("record").loc["far"]
    assert finding["distance_m"] == pytest.approx(400, abs=1)
    with pytest.raises(TopologyError, match="unit far"):
        build_grids(communities, units, strict=True)


def test_wrong_community_code_location_wins():
    communities = frame(
        [
            {"code": URBAN, "geometry": rect(0, 0, 600, 300)},
            {"code": URBAN2, "geometry": rect(600, 0, 1200, 300)},
        ]
    )
    units = frame(
        [
            compound("a", rect(10, 10, 290, 290), 350) | {"community_code": URBAN2},
            compound("b", rect(610, 10, 890, 290), 350) | {"community_code": URBAN2},
        ]
    )
    with pytest.warns(GridmapWarning, match="community_code_conflict 1"):
        build = build_grids(communities, units)
    assert build.units.set_index("unit_id")["community_code"].to_dict() == {"a": URBAN, "b": URBAN2}
    assert build.grids.set_index("unit_ids")["community_code"].to_dict() == {"a": URBAN, "b": URBAN2}


def test_several_communities_with_crossing_unit_and_shared_boundary():
    communities = frame(
        [
            {"code": URBAN, "geometry": rect(0, 0, 600, 600)},
            {"code": URBAN2, "geometry": rect(600, 0, 1200, 600)},
            {"code": RURAL, "geometry": rect(0, 600, 1200, 1000)},
        ]
    )
    units = frame(
        [
            compound("a", rect(10, 10, 290, 590), 350),
            compound("b", rect(310, 10, 640, 590), 100),
            compound("c", rect(700, 10, 1190, 590), 150),
            compound("v", Point(300, 800), 250, kind="natural_village"),
        ]
    )
    with pytest.warns(GridmapWarning, match="unit_crosses_boundary 1"):
        build = build_grids(communities, units)
    assert_exact_tiling(build, communities, units)
    # b reaches 40 m into URBAN2, but stays with URBAN where most of it lies; that strip is URBAN2's land
    assert build.units.set_index("unit_id")["community_code"]["b"] == URBAN
    assert build.grids.groupby("community_code").size().to_dict() == {URBAN: 1, URBAN2: 1, RURAL: 1}


def test_same_input_same_grids_even_shuffled():
    communities, units = blocks_city()
    extra = frame([{"code": URBAN2, "geometry": rect(1000, 0, 1600, 600)}])
    communities = pd.concat([communities, extra], ignore_index=True)
    rng = np.random.default_rng(3)
    points = frame(
        [
            compound(f"P{i}", Point(1000 + x, y), int(h))
            for i, (x, y, h) in enumerate(
                zip(rng.uniform(20, 580, 9), rng.uniform(20, 580, 9), rng.integers(50, 300, 9), strict=True)
            )
        ]
    )
    units = pd.concat([units, points], ignore_index=True)
    first = build_grids(communities, units)
    second = build_grids(communities.iloc[::-1], units.sample(frac=1, random_state=1))
    columns = ["code", "type", "community_code", "households", "unit_ids", "reason"]
    assert first.grids[columns].equals(second.grids[columns])
    assert first.grids.geometry.geom_equals_exact(second.grids.geometry, tolerance=0).all()
    assert (
        first.units.set_index("unit_id")["grid_code"]
        .sort_index()
        .equals(second.units.set_index("unit_id")["grid_code"].sort_index())
    )


def test_rules_from_toml_change_the_grids(tmp_path):
    communities, units = blocks_city()
    path = tmp_path / "rules.toml"
    path.write_text("[rules]\ncity_households = [150, 700]\n", encoding="utf-8")
    build = build_grids(communities, units, rules=GridRules.from_toml(path))
    assert_exact_tiling(build, communities, units)
    assert build.report.tables["outside_range"].empty  # every grid now falls in 150-700
    assert "C2" in build.grids["unit_ids"].tolist()  # 180 households now reach the range alone


def test_bad_units_raise():
    communities, units = blocks_city()
    with pytest.raises(SchemaError, match="kind '住宅'.*validate_units"):
        build_grids(communities, units.assign(kind=["住宅"] + ["compound"] * 6))
    with pytest.raises(SchemaError, match="negative households"):
        build_grids(communities, units.assign(households=[-1] + [100] * 6))
    with pytest.raises(Exception, match="rules must be a GridRules"):
        build_grids(communities, units, rules={"city_households": (300, 500)})


def test_missing_counts_are_zero_and_reported():
    communities, units = blocks_city()
    with pytest.warns(GridmapWarning, match="missing_count 1"):
        build = build_grids(
            communities, units.assign(population=[np.nan] + [300] * 6).drop(columns="buildings")
        )
    assert build.grids["buildings"].sum() == 0
    assert {"missing_count", "missing_column"} <= set(build.report.to_frame()["check"])


def test_repr_html_and_progress(capsys):
    communities, units = blocks_city()
    build = build_grids(communities, units, progress=True)
    assert "communities" in capsys.readouterr().err  # the tqdm bar
    page = build._repr_html_()
    assert "5 grids" in page and "<table" in page and "city" in page
    summary = build.summary().set_index("type").loc["city"]
    assert (summary["grids"], summary["households_min"], summary["outside_range"]) == (5, 210, 2)
    assert "5 grids in 1 community," in repr(build)


def test_sample_city_end_to_end():
    pytest.importorskip("gridmap.datasets")
    from cases_fixtures import sample_build, sample_city

    city, build = sample_city(), sample_build()  # build_grids, its warnings silenced; once per session
    assert_exact_tiling(build, city.communities, city.units)
    assert_range_or_reported(build)


def long_strip_city():
    """Three strip communities 12 km long, 0.5 km wide, drawn in degrees (EPSG:4490) with four corners each.

    Their long edges are straight in degrees: in the metric CRS they are curves, 0.96 m off their chords at
    the middle. Each strip holds 14 compounds (every third one a point) that each make a grid, so grid
    boundaries meet the long edges every 850 m or so.
    """
    lon0, lat0, width, length, rise = 108.2852, 22.7724, 0.005, 0.05, 2.0
    communities, units = [], []
    for i in range(3):
        x = lon0 + i * width
        corners = [
            (x, lat0),
            (x + width, lat0),
            (x + width + length, lat0 + rise * length),
            (x + length, lat0 + rise * length),
        ]
        communities.append({"code": f"450102001{i + 1:03d}", "geometry": Polygon(corners)})
        for k, t in enumerate(np.arange(0.00175, length, 0.0035)):
            lon, lat = x + width / 2 + t, lat0 + rise * t
            where = box(lon - 0.0006, lat - 0.0004, lon + 0.0006, lat + 0.0004) if k % 3 else Point(lon, lat)
            units.append(compound(f"U{i}{k:02d}", where, 320 + 10 * (k % 5), population=900, buildings=4))
    return gpd.GeoDataFrame(communities, crs="EPSG:4490"), gpd.GeoDataFrame(units, crs="EPSG:4490")


def test_long_straight_edges_in_degrees_are_tiled_exactly():
    communities, units = long_strip_city()
    build = build_grids(communities, units)
    assert len(build.grids) == 42 and (build.grids["n_units"] == 1).all()
    assert_exact_tiling(build, communities, units)
    # topology in degrees, where the edges are straight, as gridmap.check does; measured densified
    grids, land = build.grids, communities.set_index("code").geometry
    own = land.reindex(grids["community_code"]).to_numpy()
    assert area_m2(shapely.difference(grids.geometry.to_numpy(), own), communities).max() < 0.1
    for code, community in land.items():
        cover = shapely.union_all(grids.geometry[grids["community_code"] == code].to_numpy())
        gaps = area_m2(shapely.get_parts(shapely.difference(community, cover)), communities)
        assert gaps.sum() < 1.0 and gaps.max(initial=0) < 0.1, code
    geoms = grids.geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    assert area_m2(shapely.intersection(geoms[left[keep]], geoms[right[keep]]), communities).max() < 0.1
    # every grid vertex on a community edge lies within 0.2 mm of the edge drawn straight in degrees
    plane = metric_crs(communities)
    edges = gpd.GeoSeries(shapely.boundary(own), crs=communities.crs).segmentize(0.0001).to_crs(plane)
    xy, row = shapely.get_coordinates(grids.to_crs(plane).geometry.to_numpy(), return_index=True)
    distance = shapely.distance(shapely.points(xy), edges.to_numpy()[row])
    on_edge = distance < 0.01
    assert on_edge.sum() > 1000 and distance[on_edge].max() < 0.0002


def test_long_straight_edges_in_degrees_pass_gridmap_check():
    communities, units = long_strip_city()
    build = build_grids(communities, units)
    report = check(build.grids, communities, build.units)
    errors = report.to_frame().query("severity == 'error'")
    assert errors.empty, errors[["check", "record", "message"]].to_string()
