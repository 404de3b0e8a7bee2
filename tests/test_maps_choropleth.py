"""The one-screen map without a browser: classes, figures, popups, privacy, focus, escaping, coordinates."""

import copy
import json
import re
import warnings

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st
from maps_fixtures import XSS_NAME, sample_city, small_city, small_grids
from shapely.geometry import box

from gridmap.errors import GridmapError
from gridmap.maps import MEASURES, classify, one_screen, to_html
from gridmap.maps._classes import fisher_jenks_bins, quantile_bins
from gridmap.maps._topology import topology_polygons
from gridmap.maps.choropleth import GridLayer, MeasureLayer
from gridmap.maps.controls import HeatLayer
from gridmap.maps.figures import grid_figures, period_bounds

PERIOD = "2025-06"
UTM49 = "EPSG:32649"  # an independent metric CRS for areas (gridmap uses the Gauss-Krüger zone)
STEP = 360 / (256 * 2**18)


def render(fmap) -> tuple[str, dict, GridLayer]:
    """The page, the grid layer's data as the page receives it, and the layer."""
    page = to_html(fmap)
    grid = next(child for child in fmap._children.values() if isinstance(child, GridLayer))
    assert grid.spec_json in page
    return page, json.loads(grid.spec_json), grid


def field(spec: dict, label: str) -> list:
    """A popup row's value for every grid."""
    found = next(f for f in spec["fields"] if f["label"] == label)
    if "values" in found:
        return found["values"]
    return [None if i is None else found["dict"][i] for i in found["index"]]


def layer_codes(layer) -> list:
    return [row[1] for row in layer.rows]


@pytest.fixture(scope="module")
def city():
    return sample_city()


@pytest.fixture(scope="module")
def whole(city):
    sample, grids = city
    fmap = one_screen(grids, communities=sample.communities, streets=sample.streets,
                      districts=sample.districts, units=sample.units, cases=sample.cases, staff=sample.staff,
                      period=PERIOD, show_staff=True)
    return render(fmap)


def cases_in_june(sample, grids) -> pd.Series:
    """Cases reported in June 2025 per grid code, counted with geopandas (not gridmap)."""
    cases = sample.cases
    start, end = pd.Timestamp("2025-06-01"), pd.Timestamp("2025-07-01")
    june = cases[(cases["reported_at"] >= start) & (cases["reported_at"] < end)]
    joined = gpd.sjoin(june, grids[["code", "geometry"]].to_crs(cases.crs), predicate="within")
    return joined.groupby("code")["count"].sum()


# --- classes ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mapclassify():
    """mapclassify, imported only by the worker that compares with it (it imports scipy.stats: 2.5 s)."""
    import mapclassify

    return mapclassify


def test_quantile_classes_are_mapclassify_quantiles(mapclassify):
    values = np.random.default_rng(1).lognormal(5, 1, 500)
    found = classify(values, scheme="quantiles", k=5)
    expected = mapclassify.Quantiles(values, k=5)
    assert found.bins == pytest.approx(list(expected.bins))
    assert found.classes == "".join(map(str, expected.yb))


def test_natural_breaks_are_fisher_jenks(mapclassify):
    values = np.random.default_rng(2).gamma(2, 50, 200)
    found = classify(values, scheme="natural_breaks", k=4)
    with pytest.warns(UserWarning, match="[Nn]umba"):
        expected = mapclassify.FisherJenks(values, k=4)
    assert found.bins == pytest.approx(list(expected.bins))
    assert found.classes == "".join(map(str, expected.yb))


_VALUES = st.lists(st.one_of(st.integers(-5, 5).map(float), st.floats(-1e9, 1e9, allow_nan=False),
                             st.sampled_from([0.0, 0.1, 1 / 3, 7.25])), min_size=2, max_size=40)


@settings(max_examples=60, deadline=None)
@given(_VALUES, st.integers(2, 9))
def test_breaks_are_mapclassifys_to_the_last_bit(mapclassify, values, k):
    """gridmap.maps._classes computes mapclassify's breaks without importing it (scipy.stats: seconds)."""
    data = np.array(values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # numba not installed; fewer classes than k
        quantiles = mapclassify.Quantiles(data, k=k).bins
        jenks = mapclassify.FisherJenks(data, k=k).bins if len(np.unique(data)) >= k else None
    assert np.array_equal(quantile_bins(data, k), quantiles)
    if jenks is not None:
        assert np.array_equal(fisher_jenks_bins(data, k), jenks)


def test_missing_and_suppressed_values_have_their_own_class_and_stay_out_of_the_breaks():
    values = np.array([1.0, 2, 3, 4, 1000, np.nan])
    found = classify(values, k=2, suppressed=[False, False, False, False, True, False])
    assert found.classes[-2:] == "s-"
    assert max(found.bins) == 4


@pytest.mark.parametrize("options, message", [({"k": 1}, "k=1"), ({"k": 10}, "k=10"),
                                               ({"scheme": "jenks"}, "natural_breaks")])
def test_bad_classification_options(options, message):
    with pytest.raises(GridmapError, match=message):
        classify([1.0, 2, 3], **options)


# --- the page's data --------------------------------------------------------------------------------------

def test_every_grid_is_drawn_once_as_a_gapless_coverage(city, whole):
    _, grids = city
    _, spec, grid = whole
    assert spec["codes"] == grids["code"].tolist()
    assert len(spec["shapes"].split(" ")) == len(grids)
    drawn = np.array(topology_polygons(grid.topology), dtype=object)
    assert shapely.coverage_is_valid(drawn)
    source = grids.to_crs("EPSG:4326").geometry.to_numpy()
    for got, want in zip(drawn, source, strict=True):
        assert got.hausdorff_distance(want) < 2 * STEP
    outline = shapely.union_all(source)
    assert shapely.union_all(drawn).symmetric_difference(outline).area < outline.length * STEP  # no gap


def test_popups_carry_names_counts_and_compounds(city, whole):
    sample, grids = city
    _, spec, _ = whole
    communities = dict(zip(sample.communities["code"], sample.communities["name"], strict=True))
    streets = dict(zip(sample.streets["code"], sample.streets["name"], strict=True))
    units = dict(zip(sample.units["unit_id"], sample.units["name"], strict=True))
    assert field(spec, "社区/村") == [communities[c] for c in grids["community_code"]]
    assert field(spec, "街道/乡镇") == [streets[c[:9]] for c in grids["community_code"]]
    assert field(spec, "户数") == grids["households"].tolist()
    assert field(spec, "人口") == grids["population"].tolist()
    assert field(spec, "楼栋数") == grids["buildings"].tolist()
    assert field(spec, "类型") == [{"city": "城市网格", "rural": "农村网格", "dedicated": "专属网格"}[t]
                                  for t in grids["type"]]
    expected = [[units[u] for u in ids.split(";")] for ids in grids["unit_ids"]]
    assert field(spec, "小区/自然村/场所") == expected


def test_population_density_and_case_figures_equal_an_independent_count(city, whole):
    sample, grids = city
    _, spec, _ = whole
    area_km2 = grids.to_crs(UTM49).area.to_numpy() / 1e6
    density = grids["population"].to_numpy() / area_km2
    shown = np.array(field(spec, "人口密度"), dtype=float)
    assert np.allclose(shown, density, rtol=5e-3, atol=1)
    counts = cases_in_june(sample, grids).reindex(grids["code"]).fillna(0).to_numpy()
    assert field(spec, "案件数 (2025-06)") == counts.astype(int).tolist()
    per_1000 = np.where(grids["population"] > 0, 1000 * counts / grids["population"].replace(0, 1), np.nan)
    got = np.array([np.nan if v is None else v for v in field(spec, "每千人案件数")], dtype=float)
    assert np.allclose(got, per_1000, atol=0.051, equal_nan=True)
    got = np.array(field(spec, "案件密度"), dtype=float)
    assert np.allclose(got, counts / area_km2, rtol=5e-3, atol=0.051)


def test_every_measure_is_classified_with_units_in_the_legend(whole):
    _, spec, _ = whole
    assert [m["key"] for m in spec["measures"]] == list(MEASURES)
    assert [m["unit"] for m in spec["measures"]] == ["人/km²", "户", "件/千人", "件/km²"]
    for measure in spec["measures"]:
        values = pd.to_numeric(pd.Series(spec["fields"][measure["field"]]["values"]), errors="coerce")
        assert len(measure["classes"]) == len(values)
        for value, c in zip(values, measure["classes"], strict=True):
            if np.isnan(value):
                assert c == "-"
            else:
                assert int(c) == np.searchsorted(measure["bins"], value)
        assert len(measure["colors"]) == len(measure["bins"])
        n = len(measure["bins"])
        assert [item["c"] for item in measure["items"][:n]] == list(range(n))


def test_the_chosen_measure_is_shown_first_and_others_are_base_layers(city):
    sample, grids = city
    fmap = one_screen(grids, cases=sample.cases, measure="cases_per_1000")
    layers = [child for child in fmap._children.values() if isinstance(child, MeasureLayer)]
    assert [layer.show for layer in layers] == [False, False, False, True, False]
    assert not any(layer.overlay for layer in layers)
    assert render(fmap)[1]["measure"] == 2


def test_leader_names_only_when_asked_and_never_in_public(city, whole):
    sample, grids = city
    page, spec, _ = whole
    leaders = sample.staff[sample.staff["role"] == "leader"].groupby("grid_code")["name"].agg("、".join)
    assert field(spec, "网格长") == [leaders.get(code) for code in grids["code"]]
    assert "199-0000-" in page
    for options in ({}, {"show_staff": True, "public": True}):
        hidden, spec, _ = render(one_screen(grids, cases=sample.cases, staff=sample.staff, **options))
        assert "199-0000-" not in hidden
        assert not any(name in hidden for name in sample.staff["name"].head(50))
        assert "网格长" not in [f["label"] for f in spec["fields"]]


def test_public_map_suppresses_small_counts_and_has_no_case_points(city):
    sample, grids = city
    fmap = one_screen(grids, cases=sample.cases, period=PERIOD, public=True, measure="cases_per_km2")
    page, spec, _ = render(fmap)
    counts = cases_in_june(sample, grids).reindex(grids["code"]).fillna(0).to_numpy()
    shown = field(spec, "案件数 (2025-06)")
    small = counts < 5
    assert small.any() and (~small).any()
    assert all(value == "少于5件" for value in np.array(shown, dtype=object)[small])
    assert np.array(shown, dtype=object)[~small].astype(int).tolist() == counts[~small].astype(int).tolist()
    for key in ("每千人案件数", "案件密度"):
        assert all(value is None for value in np.array(field(spec, key), dtype=object)[small])
    measure = next(m for m in spec["measures"] if m["key"] == "cases_per_km2")
    assert all(c == "s" for c in np.array(list(measure["classes"]))[small])
    assert not any(isinstance(child, HeatLayer) for child in fmap._children.values())
    assert "gridmap.heat(" not in page and "simpleheat" not in page  # no heat map code or data at all


def test_heat_map_holds_the_period_cases_weighted_by_count(city):
    sample, grids = city
    fmap = one_screen(grids, cases=sample.cases, period=PERIOD)
    heat = next(child for child in fmap._children.values() if isinstance(child, HeatLayer))
    start, end = period_bounds(PERIOD)
    june = sample.cases[(sample.cases["reported_at"] >= start) & (sample.cases["reported_at"] < end)]
    assert len(heat.points) == len(june)
    assert sum(heat.weights) == june["count"].sum()
    assert heat.show is False


def test_focus_on_a_community_maps_it_alone(city):
    sample, grids = city
    code = "990102001003"
    fmap = one_screen(grids, communities=sample.communities, streets=sample.streets,
                      districts=sample.districts, units=sample.units, focus=code)
    page, spec, _ = render(fmap)
    mine = grids[grids["community_code"] == code]
    assert spec["codes"] == mine["code"].tolist()
    name = sample.communities.set_index("code").loc[code, "name"]
    assert f"<title>{name} 网格化服务管理一屏</title>" in page
    boundaries = [child for child in fmap._children.values() if getattr(child, "key", None) in
                  ("district", "street", "community")]
    assert [layer.key for layer in boundaries] == ["community"] and layer_codes(boundaries[0]) == [code]
    fit = next(child for child in fmap._children.values() if isinstance(child, folium.FitBounds))
    minx, miny, maxx, maxy = mine.to_crs("EPSG:4326").total_bounds
    assert np.allclose(fit.bounds, [[miny, minx], [maxy, maxx]], atol=2 * STEP)


def test_focus_on_a_street(city):
    sample, grids = city
    spec = render(one_screen(grids, streets=sample.streets, focus="990102001"))[1]
    assert spec["codes"] == grids.loc[grids["community_code"].str.startswith("990102001"), "code"].tolist()


@pytest.mark.parametrize("focus, message", [("99010200100", "9 digits"), ("990102999003", "no grid lies")])
def test_bad_focus(city, focus, message):
    with pytest.raises(GridmapError, match=message):
        one_screen(city[1], focus=focus)


def test_names_from_data_cannot_open_a_tag_or_run_a_template():
    layers = small_city()
    units = layers["units"].copy()
    units.loc[units["unit_id"] == "U1", "name"] = "{{ 7*7 }}苑"
    page, spec, _ = render(one_screen(small_grids(), communities=layers["communities"], units=units))
    assert XSS_NAME not in page and "<img src=x" not in page
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page
    assert "\\u007b{ 7*7 }}苑" in page and "49苑" not in page
    assert [["{{ 7*7 }}苑"], [XSS_NAME]] == [v for v in field(spec, "小区/自然村/场所") if v in
                                             (["{{ 7*7 }}苑"], [XSS_NAME])]


def test_english_labels(city):
    sample, grids = city
    page, spec, _ = render(one_screen(grids, communities=sample.communities, cases=sample.cases, lang="en"))
    labels = [f["label"] for f in spec["fields"]]
    assert labels[:3] == ["Type", "Community/village", "Households"]
    assert [m["unit"] for m in spec["measures"]] == ["people/km²", "households", "cases/1,000 residents",
                                                     "cases/km²"]
    assert '<html lang="en">' in page


def test_amap_base_map_draws_the_grids_in_gcj02(city):
    from gridmap.crs import convert_frame

    grids = city[1].head(30)
    _, _, grid = render(one_screen(grids, basemap="amap"))
    drawn = topology_polygons(grid.topology)
    expected = convert_frame(grids.to_crs("EPSG:4326"), "wgs84", "gcj02").geometry
    for got, want, original in zip(drawn, expected, grids.to_crs("EPSG:4326").geometry, strict=True):
        assert got.hausdorff_distance(want) < 2 * STEP
        assert got.centroid.distance(original.centroid) > 0.0003  # about 30 m or more: really shifted


def test_tiles_can_be_switched_off_when_measures_are_the_base_layers(city):
    fmap = one_screen(city[1].head(5), basemap="osm")
    tiles = [child for child in fmap._children.values() if isinstance(child, folium.TileLayer)]
    assert tiles and all(tile.overlay for tile in tiles)


def test_case_measure_without_cases_names_the_fix(city):
    with pytest.raises(GridmapError, match="cases="):
        one_screen(city[1], measure="cases_per_1000")


@pytest.mark.parametrize("option, message", [({"measure": "density"}, "population_density"),
                                             ({"scheme": "jenks"}, "natural_breaks"),
                                             ({"period": "June"}, "period="),
                                             ({"lang": "fr"}, "lang=")])
def test_bad_options(city, option, message):
    with pytest.raises(GridmapError, match=message):
        one_screen(city[1].head(3), **option)


def test_precomputed_columns_are_used_as_given():
    grids = gpd.GeoDataFrame({"code": ["450102001003001", "450102001003002"], "population": [1000, 2000],
                              "population_density": [11.0, 22.0], "cases": [3, 40],
                              "cases_per_1000": [3.0, 20.0]},
                             geometry=[box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.32, 22.81)],
                             crs="EPSG:4490")
    figures = grid_figures(grids)
    assert figures["population_density"].tolist() == [11.0, 22.0]
    assert figures["cases_per_1000"].tolist() == [3.0, 20.0]
    area = grids.to_crs(UTM49).area.to_numpy() / 1e6
    assert np.allclose(figures["cases_per_km2"], np.array([3, 40]) / area, rtol=5e-3)
    spec = render(one_screen(grids, measure="cases_per_1000"))[1]
    assert field(spec, "每千人案件数") == [3, 20]


def test_inputs_are_not_changed(city):
    sample, grids = city
    before = copy.deepcopy((grids, sample.cases, sample.units))
    to_html(one_screen(grids, units=sample.units, cases=sample.cases, basemap="amap", period=PERIOD))
    for frame, old in zip((grids, sample.cases, sample.units), before, strict=True):
        assert_geodataframe_equal(frame, old)


def test_grid_data_is_a_fraction_of_folium_geojson(city, whole):
    _, grids = city
    _, _, grid = whole
    plain = json.dumps(folium.GeoJson(grids.to_crs("EPSG:4326")).data).encode()
    assert len(grid.spec_json.encode()) < 0.5 * len(plain)
    arcs = sum(len(arc) for arc in grid.topology.arcs)
    assert arcs < 0.25 * len(re.sub(r'"properties": \{[^}]*\}', "", plain.decode()))
