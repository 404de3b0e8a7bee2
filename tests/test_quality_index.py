"""The grid quality index (网格+ 质效评估, issue 21): weights, normalisation, missing measures, breakdown."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Point, box

from gridmap.errors import GridmapError, GridmapWarning, SchemaError
from gridmap.fieldwork.escalation import analyse_escalation
from gridmap.fieldwork.satisfaction import satisfaction_rates
from gridmap.stats.quality import (
    QUALITY_HEADERS_ZH,
    IndexConfig,
    MeasureRule,
    quality_index,
    quality_measures,
)

C = "990102001001"


def three_grids() -> pd.DataFrame:
    """Min-max scores: response A 1, B 0, C 0.5; satisfaction A 0, B 1, C 2/3."""
    return pd.DataFrame(
        {"code": ["A", "B", "C"], "response_rate": [0.9, 0.7, 0.8], "satisfaction": [0.6, 0.9, 0.8]}
    )


@pytest.mark.parametrize(
    "response, satisfaction, ranks",
    [
        (2, 1, [1, 3, 2]),  # A 66.7, B 33.3, C 55.6
        (1, 2, [3, 1, 2]),  # A 33.3, B 66.7, C 61.1
        (1, 1, [2, 2, 1]),  # A 50, B 50 (tied), C 58.3
    ],
)
def test_changing_a_weight_changes_the_rank_as_predicted(response, satisfaction, ranks):
    index = quality_index(
        three_grids(),
        weights={"response_rate": response, "satisfaction": satisfaction},
        config=IndexConfig(measures={}),
    )
    scores = {"A": (1.0, 0.0), "B": (0.0, 1.0), "C": (0.5, 2 / 3)}
    predicted = [
        100 * (response * r + satisfaction * s) / (response + satisfaction) for r, s in scores.values()
    ]
    assert index["index"].tolist() == pytest.approx(predicted)
    assert index["rank"].tolist() == ranks
    points = index[["response_rate_points", "satisfaction_points"]].sum(axis=1)
    assert points.tolist() == pytest.approx(index["index"].tolist())  # the breakdown adds up
    assert index.attrs["weights"] == pytest.approx(
        {
            "response_rate": response / (response + satisfaction),
            "satisfaction": satisfaction / (response + satisfaction),
        }
    )


def test_breakdown_and_label_explain_the_number():
    index = quality_index(
        three_grids(), weights={"response_rate": 2, "satisfaction": 1}, config=IndexConfig(measures={})
    )
    assert index.loc[2, "breakdown"] == "响应率 33.3 + 满意率 22.2"
    assert index.loc[0, "label"] == "质效指数 66.7（第 1/3 名）"


def test_lower_is_better_rank_and_raw_normalisations():
    measures = pd.DataFrame(
        {
            "code": ["A", "B", "C", "D"],
            "case_density": [5.0, 20.0, 10.0, 10.0],
            "patrol_coverage": [0.5, 1.0, 0.25, 0.0],
        }
    )
    config = IndexConfig(
        measures={
            "case_density": MeasureRule(1, "lower", "rank"),
            "patrol_coverage": MeasureRule(1, normalisation="raw"),
        }
    )
    index = quality_index(measures, config=config)
    assert index["case_density_score"].tolist() == pytest.approx([1.0, 0.0, 0.5, 0.5])  # ties share a rank
    assert index["patrol_coverage_score"].tolist() == [0.5, 1.0, 0.25, 0.0]
    assert index["index"].tolist() == pytest.approx([75.0, 50.0, 37.5, 25.0])
    with pytest.raises(SchemaError, match="outside 0–1, but its normalisation is raw"):
        quality_index(measures.assign(patrol_coverage=[0.5, 1.5, 0, 0]), config=config)


def test_equal_values_score_one_and_normalisation_is_per_city():
    measures = pd.DataFrame(
        {
            "code": ["A", "B", "C", "D"],
            "community_code": ["990102001001", "990102001002", "990201001001", "990201001001"],
            "response_rate": [0.5, 0.9, 0.7, 0.7],
        }
    )
    index = quality_index(measures, weights={"response_rate": 1}, config=IndexConfig(measures={}))
    assert index["response_rate_score"].tolist() == [0.0, 1.0, 1.0, 1.0]  # city 9902: all equal
    whole = quality_index(
        measures, weights={"response_rate": 1}, config=IndexConfig(measures={}, scope="all")
    )
    assert whole["response_rate_score"].tolist() == pytest.approx([0.0, 1.0, 0.5, 0.5])


def test_missing_measures_are_reweighted_or_exclude_the_grid():
    measures = three_grids().assign(satisfaction=[0.6, 0.9, None])
    config = IndexConfig(measures={})
    index = quality_index(measures, weights={"response_rate": 1, "satisfaction": 1}, config=config)
    assert index.loc[2, "index"] == pytest.approx(50.0)  # response only, re-weighted to the whole index
    assert index.loc[2, "weight_used"] == 0.5 and index.loc[2, "measures_used"] == 1
    assert index.loc[2, "satisfaction_points"] != index.loc[2, "satisfaction_points"]  # NaN
    assert index["no_index_reason"].tolist() == ["", "", ""]
    with pytest.warns(GridmapWarning, match="quality_index: 1 of 3 grids have no index"):
        light = quality_index(measures, weights={"response_rate": 1, "satisfaction": 3}, config=config)
    assert np.isnan(light.loc[2, "index"]) and light.loc[2, "label"] == "指标不足，未参评"  # 25 % < half
    assert light["rank"].tolist()[:2] == [2, 1] and pd.isna(light["rank"].iloc[2])
    assert light["no_index_reason"].tolist() == ["", "", "参评指标权重 25% 低于最低要求 50%（缺 满意率）"]
    with pytest.warns(GridmapWarning, match="each lacks a measure and missing='exclude'.*missing='reweight'"):
        strict = quality_index(
            measures,
            weights={"response_rate": 1, "satisfaction": 1},
            config=IndexConfig(measures={}, missing="exclude"),
        )
    assert np.isnan(strict.loc[2, "index"])
    assert strict.loc[2, "no_index_reason"] == '缺 满意率（missing="exclude"：缺任一指标即不参评）'
    absent = quality_index(
        three_grids(), weights={"response_rate": 1, "patrol_coverage": 5}, config=config
    )  # no patrol column at all: left out everywhere
    assert absent.attrs["weights"] == {"response_rate": 1.0}
    assert absent["index"].tolist() == pytest.approx([100.0, 0.0, 50.0])


def test_a_heavy_weight_on_a_measure_few_grids_have_leaves_them_unranked_and_says_why_and_what_to_do():
    """Defaults plus satisfaction 0.5: total 1.3; a grid with response and case density only carries 0.25."""
    measures = pd.DataFrame({"code": ["G1", "G2", "G3", "G4"], "response_rate": [0.9, 0.8, 0.7, None],
                             "case_density": [3.0, 5.0, 4.0, None], "satisfaction": [0.9, 0.95, None, None]})
    with pytest.warns(GridmapWarning) as caught:
        index = quality_index(measures, weights={"satisfaction": 0.5})
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith("quality_index: 2 of 4 grids have no index: the measures each has carry less "
                              "than min_weight=0.5 of the weight (e.g. grid G3: "
                              "参评指标权重 33% 低于最低要求 50%（缺 满意率）)")
    assert message.endswith("Fix: give those grids the measures they lack, lower min_weight "
                            "(config=IndexConfig(min_weight=0.33) ranks every grid with a measure) "
                            "or give less weight to the measures they lack")
    assert index["index"].notna().tolist() == [True, True, False, False]
    assert index["weight_used"].tolist() == pytest.approx([1.0, 1.0, 0.25 / 0.75, 0.0])
    assert index["no_index_reason"].tolist() == ["", "", "参评指标权重 33% 低于最低要求 50%（缺 满意率）",
                                                 "没有任何参评指标"]
    assert QUALITY_HEADERS_ZH["no_index_reason"] == "未参评原因"
    with pytest.warns(GridmapWarning, match=r"1 of 4 grids .*G4: 没有任何参评指标.*Fix: give those grids the "
                                            r"measures they lack or give less weight"):
        lower = quality_index(measures, weights={"satisfaction": 0.5}, config=IndexConfig(min_weight=0.33))
    assert lower["index"].notna().tolist() == [True, True, True, False]  # G4 has nothing: still no index


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=2, max_size=8),
    st.floats(0.1, 10),
    st.floats(0.1, 10),
)
def test_points_always_add_up_and_the_index_stays_in_range(values, w1, w2):
    measures = pd.DataFrame(
        {
            "code": [f"G{i}" for i in range(len(values))],
            "response_rate": [a for a, _ in values],
            "satisfaction": [b for _, b in values],
        }
    )
    index = quality_index(
        measures, weights={"response_rate": w1, "satisfaction": w2}, config=IndexConfig(measures={})
    )
    assert index["index"].between(-1e-9, 100 + 1e-9).all()
    total = index[["response_rate_points", "satisfaction_points"]].sum(axis=1)
    assert np.allclose(total, index["index"])
    best = index["index"].max()
    assert (index.loc[index["rank"] == 1, "index"] == best).all()


def test_configuration_from_toml_and_its_errors(tmp_path):
    path = tmp_path / "index.toml"
    path.write_text(
        "[index]\nmissing = 'exclude'\n[index.measures.satisfaction]\nweight = 0.4\n"
        "[index.measures.party_members]\nweight = 0.1\ndirection = 'higher'\n",
        encoding="utf-8",
    )
    config = IndexConfig.from_toml(path)
    assert config.missing == "exclude" and config.measures["satisfaction"].weight == 0.4
    assert config.measures["party_members"].weight == 0.1 and config.measures["response_rate"].weight == 0.15
    for text, message in [
        ("[index]\ncolour = 1\n", "unknown index setting 'colour'"),
        ("[index.measures.satisfaction]\nweight = -1\n", "measures.satisfaction: weight -1"),
        ("[index.measures.satisfaction]\ndirection = 'up'\n", "direction 'up'"),
        ("[index.measures.satisfaction]\ncolour = 'red'\n", "unexpected keyword"),
        ("[index]\nscope = 'world'\n", "scope 'world'"),
        ("[index\n", "cannot read"),
    ]:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(GridmapError, match=message):
            IndexConfig.from_toml(path)


def test_bad_measures_tables_are_errors():
    with pytest.raises(SchemaError, match="no grid code"):
        quality_index(pd.DataFrame({"x": [1]}))
    with pytest.raises(SchemaError, match="grid A has two rows"):
        quality_index(pd.DataFrame({"code": ["A", "A"], "response_rate": [1, 2]}))
    with pytest.raises(SchemaError, match="not numeric"):
        quality_index(pd.DataFrame({"code": ["A"], "response_rate": ["85%"]}))
    with pytest.raises(SchemaError, match="none of the weighted measures"):
        quality_index(pd.DataFrame({"code": ["A"], "other": [1.0]}))
    with pytest.raises(SchemaError, match="infinite"):
        quality_index(pd.DataFrame({"code": ["A", "B"], "response_rate": [1.0, np.inf]}))


# --- measures from grids, cases and other stages ------------------------------------------------------------


def grid_layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"网格编码": [f"{C}001", f"{C}002"], "community_code": [C, C], "population": [1000, 2000]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs=4547,
    )


def cases_layer() -> gpd.GeoDataFrame:
    """Grid 1: 2 cases, both accepted, one closed in 2 days, one in 20; grid 2: 2 cases, 1 accepted, open."""
    return gpd.GeoDataFrame(
        {
            "case_id": ["A", "B", "C", "D"],
            "reported_at": pd.to_datetime(["2025-03-01", "2025-03-01", "2025-03-01", "2025-03-02"]),
            "accepted_at": pd.to_datetime(["2025-03-01 10:00", "2025-03-01 10:00", "2025-03-01 10:00", None]),
            "closed_at": pd.to_datetime(["2025-03-03", "2025-03-21", None, None]),
            "level": ["grid", "community", None, None],
            "category": ["民生诉求"] * 4,
        },
        geometry=[Point(50, 50), Point(60, 50), Point(150, 50), Point(160, 50)],
        crs=4547,
    )


def test_measures_from_cases_hand_checked():
    measures = quality_measures(grid_layer(), cases_layer(), at="2025-04-01")
    assert isinstance(measures, gpd.GeoDataFrame) and measures.crs.to_epsg() == 4547
    table = measures.set_index("code")
    assert table["response_rate"].tolist() == [1.0, 0.5]
    assert table["on_time_closure"].tolist() == [0.5, 0.0]  # grid 2: both open past 15 days
    assert table["settled_in_grid"].tolist()[0] == 0.5 and np.isnan(table["settled_in_grid"].iloc[1])
    assert table["case_density"].tolist() == [2.0, 1.0]  # per 1,000 residents


def test_measures_from_escalation_satisfaction_and_extra_tables_make_a_map_layer():
    cases = cases_layer().assign(满意度=["满意", "不满意", "满意", None])
    steps = pd.DataFrame({"case_id": ["A", "B", "B"], "level": ["网格", "网格", "社区"]})
    escalation = analyse_escalation(steps, cases, grids=grid_layer())
    satisfaction = satisfaction_rates(cases, grids=grid_layer())
    patrols = pd.DataFrame({"网格编码": [f"{C}002", f"{C}001"], "patrol_coverage": [0.9, 0.3]})
    measures = quality_measures(
        grid_layer(),
        cases,
        escalation=escalation,
        satisfaction=satisfaction,
        extra=[patrols],
        at="2025-04-01",
    )
    table = measures.set_index("code")
    assert table["settled_in_grid"].tolist()[0] == 0.5  # A never left the grid, B did
    assert table["satisfaction"].tolist() == [0.5, 1.0]
    assert table["patrol_coverage"].tolist() == [0.3, 0.9]
    layer = quality_index(measures)
    assert isinstance(layer, gpd.GeoDataFrame) and layer.geometry.area.tolist() == [10_000.0, 10_000.0]
    assert layer["index"].notna().all() and set(layer["rank"]) == {1, 2}
    assert layer["label"].str.startswith("质效指数").all()
    with pytest.raises(SchemaError, match="lists grid .* twice"):
        quality_measures(grid_layer(), extra=[pd.concat([patrols, patrols])])
    with pytest.raises(SchemaError, match="no grid code column"):
        quality_measures(grid_layer(), extra=[pd.DataFrame({"x": [1]})])
