"""Satisfaction (满意度) and mediation (调解) rates (issue 21), published with small-count suppression."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Point, box

from gridmap.errors import SchemaError
from gridmap.fieldwork.satisfaction import (
    clean_feedback,
    feedback_rates,
    mediation_rates,
    read_feedback,
    satisfaction_rates,
)
from gridmap.findings import Report
from gridmap.stats.summary import suppress_small_counts

C1, C2 = "990102001001", "990102001002"


def grids() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [f"{C1}001", f"{C1}002", f"{C2}001"], "community_code": [C1, C1, C2]},
        geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10)],
        crs=4547,
    )


# --- reading ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scores, classes",
    [
        ([5, 4, 3, 2, 1], ["satisfied", "satisfied", "basic", "dissatisfied", "dissatisfied"]),  # 5-point
        ([10, 8, 7, 6, 5], ["satisfied", "satisfied", "basic", "basic", "dissatisfied"]),  # 10-point
        ([100, 80, 79, 60, 59.5], ["satisfied", "satisfied", "basic", "basic", "dissatisfied"]),  # 100-point
    ],
)
def test_numeric_scores_are_read_on_the_smallest_scale_holding_them(scores, classes):
    clean = clean_feedback(pd.DataFrame({"case_id": list("ABCDE"), "满意度": scores}))
    assert clean["satisfaction"].tolist() == classes
    assert clean["score"].iloc[0] == 1.0


def test_words_numbers_and_mistakes_in_one_column():
    found = Report("feedback")
    raw = pd.DataFrame(
        {
            "工单编号": ["A", "B", "C", "D", "E", "F", "G", "A"],
            "回访评价": ["非常满意", "基本满意", " 不满意 ", "4", "还行", -1, None, "不满意"],
        }
    )
    clean = clean_feedback(raw, report=found)
    assert clean["case_id"].tolist() == list("ABCDEFG")  # the second A is dropped
    assert clean["satisfaction"].tolist()[:4] == ["satisfied", "basic", "dissatisfied", "satisfied"]
    assert clean["satisfaction"].iloc[4:].isna().all()
    checks = found.to_frame().set_index("check")["record"]
    assert checks["unknown_satisfaction"] == "row 5" and checks["bad_score"] == "row 6"
    assert checks["duplicate_case"] == "row 8"
    assert clean_feedback(raw.iloc[[3]], scale=10)["satisfaction"].tolist() == ["dissatisfied"]
    with pytest.raises(SchemaError, match="scale=0"):
        clean_feedback(raw, scale=0)


def test_gbk_feedback_file_with_mediation_centres_named_as_people_write_them(tmp_path):
    path = tmp_path / "回访.csv"
    path.write_bytes(
        (
            "事件编号,满意度,调解结果,调解机构\n"
            "E1,满意,调解成功,石岭镇调解站\n"
            "E2,,调解失败,示例县矛盾纠纷调解中心\n"
            "E3,,调解中,桃源社区调解室\n"
            "E4,,成功,村\n"
            "E5,,谈崩了,法院\n"
        ).encode("gbk")
    )
    found = Report("feedback")
    clean = read_feedback(path, report=found)
    assert clean["mediation"].tolist()[:4] == ["success", "failure", "pending", "success"]
    assert clean["mediation_level"].tolist()[:4] == ["street", "district", "community", "community"]
    assert found.to_frame()["check"].tolist() == ["unknown_mediation", "unknown_mediation_level"]
    assert set(found.to_frame()["record"]) == {"row 6"}


# --- rates --------------------------------------------------------------------------------------------------


def hand_cases() -> pd.DataFrame:
    """Seven cases in three grids; six rated, three mediated."""
    return pd.DataFrame(
        {
            "case_id": list("ABCDEFG"),
            "grid_code": [f"{C1}001"] * 3 + [f"{C1}002"] * 3 + [f"{C2}001"],
            "reported_at": [
                "2025-01-05",
                "2025-02-05",
                "2025-02-06",
                "2025-01-07",
                "2025-02-07",
                "2025-02-08",
                "2025-02-09",
            ],
            "level": ["网格", "社区", "网格", "网格", "街道", "网格", "网格"],
            "满意度": ["满意", "不满意", "基本满意", "满意", None, 2, "满意"],
            "调解结果": [None, "成功", "失败", None, "调解中", None, "成功"],
            "调解层级": [None, "调解点", "调解站", None, "调解站", None, "调解点"],
        }
    )


def test_satisfaction_per_grid_and_community_hand_checked():
    per_grid = satisfaction_rates(hand_cases(), grids=grids()).set_index("code")
    assert per_grid["rated"].tolist() == [3, 2, 1]
    assert per_grid["satisfaction_rate"].tolist() == pytest.approx([2 / 3, 0.5, 1.0])
    assert per_grid["dissatisfaction_rate"].tolist() == pytest.approx([1 / 3, 0.5, 0.0])
    assert per_grid.loc[f"{C1}001", "community_code"] == C1
    assert per_grid.loc[f"{C1}001", "label"] == "满意率 67%（3 件评价）"
    community = satisfaction_rates(hand_cases(), by="community", grids=grids()).set_index("code")
    assert community.loc[C1, ["rated", "satisfied", "basic", "dissatisfied"]].tolist() == [5, 2, 1, 2]
    assert community.loc[C1, "street_code"] == "990102001"
    per_level = satisfaction_rates(hand_cases(), by="level").set_index("level")
    assert per_level["rated"].tolist() == [5, 1, 0, 0]
    assert (
        per_level.loc["community", "satisfaction_rate"] == 0.0
        and per_level.loc["community", "level_zh"] == "社区"
    )


def test_mediation_per_level_and_grid():
    per_level = mediation_rates(hand_cases(), by="level").set_index("level")
    assert per_level["mediated"].tolist() == [0, 2, 2, 0]
    assert per_level.loc["community", "success_rate"] == 1.0
    assert per_level.loc["street", "success_rate"] == 0.0  # one failure, one pending (left out)
    assert per_level.loc["street", "pending_rate"] == 0.5
    per_grid = mediation_rates(hand_cases(), grids=grids()).set_index("code")
    assert per_grid["mediated"].tolist() == [2, 1, 1] and per_grid.loc[f"{C1}002", "label"] == "无调解结果"


def test_feedback_from_a_separate_table_and_cases_located_by_points():
    cases = gpd.GeoDataFrame(
        {"事件编号": ["A", "B", "C"], "上报时间": ["2025-03-01"] * 3},
        geometry=[Point(5, 5), Point(15, 5), Point(99, 99)],
        crs=4547,
    )
    feedback = pd.DataFrame({"case_id": ["A", "B", "Z"], "满意度": ["满意", "不满意", "满意"]})
    found = Report("x")
    table = satisfaction_rates(cases, feedback, grids=grids(), report=found)
    assert table["rated"].tolist() == [1, 1, 0]
    checks = found.to_frame().set_index("check")["record"]
    assert checks["unknown_case"] == "case Z" and checks["outside"] == "record 3"


def test_month_on_month_and_year_on_year_changes_of_the_rate():
    months = ["2024-02-10"] * 2 + ["2025-01-10"] * 4 + ["2025-02-10"] * 5
    scores = ["满意", "不满意"] + ["满意"] * 2 + ["不满意"] * 2 + ["满意"] * 4 + ["不满意"]
    cases = pd.DataFrame(
        {
            "case_id": [f"E{i}" for i in range(11)],
            "grid_code": ["G"] * 11,
            "reported_at": months,
            "满意度": scores,
        }
    )
    table = satisfaction_rates(cases, period="month").set_index("period")
    assert len(table) == 13 and table.index[0] == "2024-02"  # every month, empty ones too
    assert (
        table.loc["2025-01", "satisfaction_rate"] == 0.5 and table.loc["2025-02", "satisfaction_rate"] == 0.8
    )
    assert table.loc["2025-02", "satisfaction_rate_change_mom"] == pytest.approx(0.3)
    assert table.loc["2025-02", "satisfaction_rate_change_yoy"] == pytest.approx(0.3)  # 2024-02: 0.5
    assert np.isnan(table.loc["2025-01", "satisfaction_rate_change_mom"])  # December: nothing rated
    weekly = satisfaction_rates(cases, period="week")
    assert weekly["period"].iloc[0] == "2024-W06"


@pytest.mark.parametrize("by, period", [(("grid", "level"), None), (("community",), "month")])
def test_both_rates_at_once_equal_the_rates_one_by_one(by, period):
    rates = feedback_rates(hand_cases(), by=by, period=period, grids=grids())
    for name, one in (("satisfaction", satisfaction_rates), ("mediation", mediation_rates)):
        for unit in by:
            alone = one(hand_cases(), by=unit, period=period, grids=grids())
            pd.testing.assert_frame_equal(rates[name][unit], alone)
            assert rates[name][unit].attrs == alone.attrs
    with pytest.raises(SchemaError, match="by='city'"):
        feedback_rates(hand_cases(), by=("grid", "city"))


def test_bad_options_are_errors():
    with pytest.raises(SchemaError, match="by='city'"):
        satisfaction_rates(hand_cases(), by="city")
    with pytest.raises(SchemaError, match="needs the grids"):
        satisfaction_rates(hand_cases(), by="street")
    with pytest.raises(SchemaError, match="period='year'"):
        mediation_rates(hand_cases(), period="year")
    with pytest.raises(SchemaError, match="no grid"):
        satisfaction_rates(hand_cases().drop(columns="grid_code"))


# --- publication --------------------------------------------------------------------------------------------


def test_suppression_hides_small_counts_their_rates_and_complements():
    table = satisfaction_rates(hand_cases(), grids=grids())
    published = suppress_small_counts(table)
    assert published["rated"].isna().all()  # 3, 2 and 1 are all below 5
    assert published[["satisfied", "satisfaction_rate", "label"]].isna().all().all()
    assert published["suppressed"].str.contains("satisfaction_rate").all()
    assert published["community_code"].notna().all()  # codes are not counts


def big_cases(rated: list[int], communities: list[str]) -> pd.DataFrame:
    rows = []
    for number, (n, community) in enumerate(zip(rated, communities, strict=True)):
        rows += [
            {"case_id": f"E{number}-{i}", "grid_code": f"{community}{number:03d}", "满意度": "满意"}
            for i in range(n)
        ]
    return pd.DataFrame(rows, columns=["case_id", "grid_code", "满意度"])


def exposed(true: pd.DataFrame, published: pd.DataFrame, totals: pd.Series, threshold: int = 5) -> list:
    """Hidden counts an attacker can solve back from the shown cells and the communities' shown totals.

    A hidden cell lies in [0, threshold - 1] when below the threshold, else in [threshold, ∞); it is exposed
    when its smallest and largest feasible values (linear programming) differ by less than one.
    """
    from scipy.optimize import linprog

    leaks = []
    for community, rows in true.groupby("community_code"):
        hidden = published.loc[rows.index, "rated"].isna().to_numpy()
        if not hidden.any() or pd.isna(totals.get(community)):
            continue  # nothing hidden, or the community's total is hidden too
        values = rows["rated"].to_numpy(dtype=float)
        total = totals[community] - values[~hidden].sum()
        bounds = [(0, threshold - 1) if v < threshold else (threshold, None) for v in values[hidden]]
        for i in range(int(hidden.sum())):
            objective = np.zeros(int(hidden.sum()))
            objective[i] = 1
            low = linprog(objective, A_eq=[np.ones_like(objective)], b_eq=[total], bounds=bounds).fun
            most = linprog(-objective, A_eq=[np.ones_like(objective)], b_eq=[total], bounds=bounds)
            high = np.inf if most.status == 3 else -most.fun
            if high - low < 1 - 1e-6:
                leaks.append((rows["code"].iloc[i], low, high))
    return leaks


@settings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.sampled_from([C1, C2])), min_size=1, max_size=7))
def test_no_hidden_count_can_be_solved_back_from_the_community_totals(cells):
    from gridmap.stats.summary import _published

    rated, communities = [n for n, _ in cells], [c for _, c in cells]
    layer = gpd.GeoDataFrame(
        {"code": [f"{c}{i:03d}" for i, c in enumerate(communities)], "community_code": communities},
        geometry=[box(i, 0, i + 1, 1) for i in range(len(cells))],
        crs=4547,
    )
    cases = big_cases(rated, communities)
    true = {level: satisfaction_rates(cases, by=level, grids=layer) for level in ("grid", "community")}
    published = _published(true, 5)  # both levels together: rule 5 hides a parent its grids cannot protect
    for level, table in published.items():
        small = true[level]["rated"] < 5
        assert table.loc[small, "rated"].isna().all()
        shown = table["rated"].notna()
        assert (table.loc[shown, "rated"] == true[level].loc[shown, "rated"]).all()
    totals = published["community"].set_index("code")["rated"]
    assert exposed(true["grid"], published["grid"], totals) == []


def test_a_rate_change_on_a_hidden_base_month_is_hidden():
    months = ["2025-01-10"] * 3 + ["2025-02-10"] * 6 + ["2025-03-10"] * 7
    cases = pd.DataFrame(
        {
            "case_id": [f"E{i}" for i in range(16)],
            "grid_code": ["G"] * 16,
            "reported_at": months,
            "满意度": ["满意", "不满意", "满意"] + ["满意"] * 13,
        }
    )
    table = satisfaction_rates(cases, period="month")
    published = suppress_small_counts(table).set_index("period")
    assert published["rated"].isna().tolist() == [True, False, False]
    # February's change would give January's rate back (rate - change): hidden; March's base is shown
    assert published["satisfaction_rate_change_mom"].isna().tolist() == [True, True, False]
    assert published.loc["2025-03", "satisfaction_rate_change_mom"] == 0.0
