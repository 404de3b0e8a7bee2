"""Assigning units to communities, and the grid rules (gridmap.division.assign / rules)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from division_checks import frame, metric, rect
from shapely import Point, Polygon, box

from gridmap.division import GridRules, assign_units
from gridmap.errors import (
    CodeError,
    CRSError,
    GeometryError,
    GridmapError,
    GridmapWarning,
    SchemaError,
    TopologyError,
)

A, B = "450102001001", "450102001002"


def two_communities(crs: str = "EPSG:4490") -> gpd.GeoDataFrame:
    """A and B, 1 km squares side by side (metres; shared edge at x = 1000)."""
    return frame(
        [
            {"code": A, "name": "甲社区", "geometry": rect(0, 0, 1000, 1000)},
            {"code": B, "name": "乙社区", "geometry": rect(1000, 0, 2000, 1000)},
        ],
        crs,
    )


def lonlat_communities() -> gpd.GeoDataFrame:
    # drawn in degrees so that a point can lie exactly on the shared edge (lon 108.31)
    return gpd.GeoDataFrame(
        {"code": [B, A]},
        geometry=[box(108.31, 22.80, 108.32, 22.81), box(108.30, 22.80, 108.31, 22.81)],
        crs="EPSG:4326",
    )


def test_point_inside_and_on_shared_boundary_goes_to_smallest_code():
    units = gpd.GeoDataFrame(
        {"unit_id": ["on_edge", "in_b", "corner"]},
        geometry=[Point(108.31, 22.805), Point(108.315, 22.805), Point(108.31, 22.80)],
        crs="EPSG:4326",
    )
    for order, community_order in (([0, 1, 2], [0, 1]), ([2, 1, 0], [1, 0])):
        assigned, report = assign_units(units.iloc[order], lonlat_communities().iloc[community_order])
        got = dict(zip(assigned["unit_id"], assigned["community_code"], strict=True))
        assert got == {"on_edge": A, "in_b": B, "corner": A}
        assert len(report) == 0


def test_polygon_goes_to_largest_overlap():
    communities = two_communities()
    # 100 x 200 m in A, 300 x 200 m in B
    units = frame(
        [
            {"unit_id": "straddle", "geometry": rect(900, 100, 1300, 300)},
            {"unit_id": "mostly_a", "geometry": rect(700, 500, 1050, 600)},
        ]
    )
    assigned, report = assign_units(units, communities)
    assert assigned.set_index("unit_id")["community_code"].to_dict() == {"straddle": B, "mostly_a": A}
    pieces = (
        metric(units, communities)
        .geometry.iloc[0]
        .intersection(metric(communities, communities).geometry.iloc[1])
    )
    assert pieces.area == pytest.approx(60_000, rel=1e-3)  # the area that decided it, measured independently
    assert report.ok


def test_unit_outside_every_community_is_reported_with_distance_and_excluded():
    communities = two_communities()
    units = frame(
        [
            {"unit_id": "U1", "name": "远郊小区", "geometry": Point(-300, 500)},
            {"unit_id": "U2", "name": "内", "geometry": Point(500, 500)},
        ]
    )
    with pytest.warns(GridmapWarning, match="unit_outside 1"):
        assigned, report = assign_units(units, communities)
    assert assigned["community_code"].isna().tolist() == [True, False]
    finding = report.to_frame().set_index("record").loc["U1"]
    assert finding["check"] == "unit_outside" and finding["name"] == "远郊小区"
    assert finding["distance_m"] == pytest.approx(300, abs=1)
    assert finding["nearest"] == A
    assert not report.ok
    with pytest.raises(
        TopologyError, match=r"unit U1 \(远郊小区\) lies 300 m outside.*Fix: check its coordinates"
    ):
        assign_units(units, communities, strict=True)


def test_given_community_code_conflict_location_wins_by_default():
    communities = two_communities()
    units = frame(
        [
            {"unit_id": "P", "community_code": A, "geometry": rect(800, 100, 1200, 300)},  # half/half-ish
            {"unit_id": "Q", "community_code": A, "geometry": Point(1500, 500)},  # clearly in B
            {"unit_id": "R", "community_code": B, "geometry": Point(1500, 600)},
        ]
    )  # agrees
    # P: 200 x 200 in A, 200 x 200 in B -> tie -> smallest code A; make it lean to B instead
    units.loc[0, "geometry"] = frame([{"geometry": rect(850, 100, 1250, 300)}]).geometry.iloc[0]
    with pytest.warns(GridmapWarning, match="community_code_conflict 2"):
        assigned, report = assign_units(units, communities)
    assert assigned["community_code"].tolist() == [B, B, B]
    findings = report.to_frame().set_index("record")
    assert findings.loc["P", "winner"] == "location" and findings.loc["P", "given"] == A
    assert "prefer='attribute'" in findings.loc["P", "message"]

    with pytest.warns(GridmapWarning):
        assigned, report = assign_units(units, communities, prefer="attribute")
    # P still overlaps A, so the attribute wins; Q does not touch A, so its location wins
    assert assigned["community_code"].tolist() == [A, B, B]
    findings = report.to_frame().set_index("record")
    assert findings.loc["P", "winner"] == "attribute" and findings.loc["Q", "winner"] == "location"


def test_unknown_given_code_is_reported():
    units = frame([{"unit_id": "U", "community_code": "450102001999", "geometry": Point(500, 500)}])
    with pytest.warns(GridmapWarning, match="unknown_community_code"):
        assigned, report = assign_units(units, two_communities())
    assert assigned["community_code"].tolist() == [A]
    assert report.to_frame()["check"].tolist() == ["unknown_community_code"]


def test_overlapping_communities_reported_with_area_and_strict_raises():
    communities = frame(
        [{"code": A, "geometry": rect(0, 0, 1000, 1000)}, {"code": B, "geometry": rect(900, 0, 2000, 1000)}]
    )
    units = frame([{"unit_id": "U", "geometry": Point(500, 500)}])
    with pytest.warns(GridmapWarning, match="community_overlap 1"):
        _, report = assign_units(units, communities)
    finding = report.to_frame().iloc[0]
    expected = (
        metric(communities, communities)
        .geometry.iloc[0]
        .intersection(metric(communities, communities).geometry.iloc[1])
        .area
    )
    assert finding["record"] == f"{A}/{B}" and finding["area_m2"] == pytest.approx(expected, rel=1e-3)
    assert finding["area_m2"] == pytest.approx(100_000, rel=1e-3)
    with pytest.raises(TopologyError, match="overlap by 100,0"):
        assign_units(units, communities, strict=True)


def test_bow_tie_community_is_repaired_or_refused():
    corners = frame([{"geometry": Point(x, y)} for x, y in [(0, 0), (1000, 1000), (1000, 0), (0, 1000)]])
    bow_tie = Polygon([(p.x, p.y) for p in corners.geometry])  # drawn in degrees, crossing itself
    communities = gpd.GeoDataFrame({"code": [A]}, geometry=[bow_tie], crs=corners.crs)
    units = frame([{"unit_id": "U", "geometry": Point(900, 500)}])
    with pytest.warns(GridmapWarning, match="invalid_geometry"):
        assigned, report = assign_units(units, communities)
    assert assigned["community_code"].tolist() == [A]
    assert "invalid_geometry" in set(report.to_frame()["check"])
    with pytest.raises(
        GeometryError, match="community 450102001001 has an invalid polygon.*gridmap.io.validation"
    ):
        assign_units(units, communities, strict=True)


def test_mixed_storage_crs_and_inputs_untouched():
    communities = two_communities("EPSG:4490")
    units = frame([{"unit_id": "U", "community_code": None, "geometry": Point(1500, 500)}], "EPSG:4326")
    before = units.copy()
    assigned, _ = assign_units(units, communities)
    assert assigned["community_code"].tolist() == [B]
    assert assigned.crs == units.crs
    assert units.equals(before) and "community_code" in units and units["community_code"].isna().all()


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda u, c: (u.set_crs(None, allow_override=True), c), CRSError, "no coordinate reference system"),
        (lambda u, c: (u.assign(unit_id=["X", "X"]), c), SchemaError, "unit_id X occurs more than once"),
        (lambda u, c: (u.assign(unit_id=[1, 2]), c), SchemaError, "unit_id must be non-empty text"),
        (lambda u, c: (u, c.assign(code=[450102001001, 450102001002])), CodeError, "not a 12-digit string"),
        (lambda u, c: (u, c.assign(code=[A, A])), CodeError, "occurs more than once"),
        (lambda u, c: (u.drop(columns="unit_id"), c), SchemaError, "lack the column"),
        (
            lambda u, c: (u.set_geometry([shapely.LineString([(0, 0), (1, 1)]), Point(0, 0)], crs=u.crs), c),
            GeometryError,
            "is a LineString",
        ),
        (lambda u, c: (u.set_geometry([None, Point(0, 0)], crs=u.crs), c), GeometryError, "has no geometry"),
    ],
)
def test_bad_inputs_raise_with_fix(change, error, match):
    units = frame(
        [{"unit_id": "U1", "geometry": Point(500, 500)}, {"unit_id": "U2", "geometry": Point(1500, 500)}]
    )
    units, communities = change(units, two_communities())
    with pytest.raises(error, match=match) as info:
        assign_units(units, communities)
    assert "Fix:" in str(info.value)


def test_rules_defaults_and_toml(tmp_path):
    rules = GridRules()
    assert (rules.city_households, rules.max_population, rules.rural_min_households) == (
        (300, 500),
        2500,
        100,
    )
    assert (rules.dedicated_min_people, rules.neighbour_distance_m) == (100, 150.0)
    path = tmp_path / "rules.toml"
    path.write_text("city_households = [250, 450]\nmax_population = 2000\n", encoding="utf-8")
    loaded = GridRules.from_toml(path)
    assert loaded.city_households == (250, 450) and loaded.max_population == 2000
    assert loaded.rural_min_households == 100
    with pytest.raises(AttributeError):
        loaded.max_population = 1  # frozen


@pytest.mark.parametrize(
    "text, match",
    [
        ("households = [300, 500]\n", r"unknown grid rule 'households'.*city_households, max_population"),
        ("[rules]\ncity_households = [500, 300]\n", "smaller first"),
        ("max_population = -1\n", "must not be negative"),
        ("city_households = 'many'\n", "bad value|city_households"),
        ("city_households = [300\n", "cannot read grid rules"),
    ],
)
def test_rules_from_bad_toml_names_key_and_fix(tmp_path, text, match):
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GridmapError, match=match) as info:
        GridRules.from_toml(path)
    assert str(path) in str(info.value) and "Fix:" in str(info.value)


def test_units_in_gcj02_declared_as_wgs84_are_recognised():
    from shapely import box

    from gridmap.crs import wgs84_to_gcj02

    # a 4 x 3 block of 500 m communities near Nanning, one unit at the centre of each
    size = 0.005
    cells = [(108.30 + i * size, 22.80 + j * size) for i in range(4) for j in range(3)]
    communities = gpd.GeoDataFrame(
        {"code": [f"450102001{k + 1:03d}" for k in range(len(cells))]},
        geometry=[box(x, y, x + size, y + size) for x, y in cells], crs="EPSG:4326")
    centres = np.array([(x + size / 2, y + size / 2) for x, y in cells])
    lon, lat = wgs84_to_gcj02(centres[:, 0], centres[:, 1])  # as Amap geocodes them
    units = gpd.GeoDataFrame(
        {"unit_id": [f"U{k}" for k in range(len(cells))], "kind": "compound", "households": 300,
         "community_code": communities["code"].to_numpy()},
        geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    with pytest.warns(GridmapWarning):
        _, report = assign_units(units, communities)
    findings = report.to_frame().set_index("check")
    assert "coordinate_shift" in findings.index
    assert findings.loc["coordinate_shift", "agreement_after"] == 1.0
    assert 'coords="gcj02"' in findings.loc["coordinate_shift", "fix"]

    _, clean = assign_units(units.set_geometry(gpd.points_from_xy(*centres.T), crs="EPSG:4326"), communities)
    assert "coordinate_shift" not in set(clean.to_frame()["check"])
