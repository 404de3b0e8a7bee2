"""Escalation steps (issue 21): "小事不出网格、大事不出社区、难事不出街道" from handling histories."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import Point, box

from gridmap.errors import CaseError, GridmapError, SchemaError
from gridmap.fieldwork.escalation import STEP_COLUMNS, TierRules, analyse_escalation, clean_steps, read_steps
from gridmap.schema import HANDLING_LEVELS, TIER_RULES

LEVELS_ZH = {"grid": "网格", "community": "社区", "street": "街道", "district": "区县"}
RULES = TierRules(
    {"环境卫生": ["网格", "社区"]}
)  # the fixture's tiered response: sanitation stays below the street


def four_cases() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A: grid, settled; B: grid → community; C: grid → street (community skipped); D: street → community."""
    steps = pd.DataFrame(
        {
            "case_id": ["A", "B", "B", "C", "C", "D", "D"],
            "level": ["grid", "grid", "community", "grid", "street", "street", "community"],
            "handler": ["P1", "P1", "社区", "P2", "街道", "街道", "社区"],
            "time": [
                "2025-03-01 09:00",
                "2025-03-01 09:00",
                "2025-03-01 10:00",
                "2025-03-01 09:00",
                "2025-03-01 13:00",
                "2025-03-01 09:00",
                "2025-03-02 09:00",
            ],
        }
    )
    cases = pd.DataFrame(
        {
            "case_id": list("ABCD"),
            "grid_code": ["G1", "G1", "G2", "G2"],
            "category": ["环境卫生", "环境卫生", "环境卫生", "矛盾纠纷"],
            "reported_at": ["2025-03-01 08:00"] * 4,
            "closed_at": ["2025-03-01 12:00", "2025-03-01 12:00", "2025-03-01 15:00", "2025-03-03 09:00"],
        }
    )
    return steps, cases


def test_four_cases_give_hand_checked_shares_times_skips_and_returns():
    steps, cases = four_cases()
    result = analyse_escalation(steps, cases, rules=RULES)
    levels = result.levels.set_index("level")
    assert levels["settled"].tolist() == [1, 2, 1, 0]
    assert levels["share_settled"].tolist() == [0.25, 0.5, 0.25, 0.0]
    assert levels["skipped"].tolist() == [0, 1, 0, 0]  # C jumped over the community
    assert levels["returned_from"].tolist() == [0, 0, 1, 0]  # D was sent down from the street
    assert levels["entered"].tolist() == [3, 0, 1, 0]
    by_case = result.cases.set_index("case_id")
    assert by_case["skipped"].tolist() == [False, False, True, False]
    assert by_case["returned"].tolist() == [False, False, False, True]
    assert by_case["path_zh"].tolist() == ["网格", "网格→社区", "网格→街道", "街道→社区"]
    # hours at each level: step to step, the last stay to closed_at
    assert by_case.loc["A", "hours_grid"] == 3.0
    assert by_case.loc["B", ["hours_grid", "hours_community"]].tolist() == [1.0, 2.0]
    assert by_case.loc["C", ["hours_grid", "hours_street"]].tolist() == [4.0, 2.0]
    assert by_case.loc["D", ["hours_street", "hours_community"]].tolist() == [24.0, 24.0]
    assert np.isnan(by_case.loc["A", "hours_community"])  # never there, not 0
    assert levels.loc["grid", "median_hours"] == 3.0 and levels.loc["grid", "mean_hours"] == pytest.approx(
        8 / 3
    )
    totals = result.totals()
    assert totals == {
        "cases": 4,
        "settled": 4,
        "skipped_rate": 0.25,
        "returned_rate": 0.25,
        "settled_in_grid_rate": 0.25,
        "tier_breaches": 1,
        "times_backwards": 0,
    }
    grids = result.grids.set_index("code")
    assert grids.loc["G1", ["cases", "settled", "settled_in_grid"]].tolist() == [2, 2, 1]
    assert grids.loc["G1", "settled_in_grid_rate"] == 0.5 and grids.loc["G2", "settled_in_grid_rate"] == 0.0
    assert grids.loc["G2", ["share_community", "share_street"]].tolist() == [0.5, 0.5]
    assert grids.loc["G1", "label"] == "网格内化解率 50%（2 件）"


def test_tier_breaches_are_findings_with_the_grid_code():
    steps, cases = four_cases()
    result = analyse_escalation(steps, cases, rules=RULES)
    breach = result.report.to_frame().query("check == 'tier_breach'")
    assert breach["record"].tolist() == ["case C"] and breach["code"].tolist() == ["G2"]
    assert breach["severity"].tolist() == ["error"] and "网格/社区" in breach["message"].iloc[0]
    assert result.cases.set_index("case_id")["tier_ok"].tolist() == [True, True, False, True]
    strict = analyse_escalation(steps, cases, rules=TierRules({"矛盾纠纷": ["网格"], "环境卫生": ["网格"]}))
    assert strict.cases["tier_ok"].tolist() == [True, False, False, False]
    assert strict.grids.set_index("code")["tier_breaches"].tolist() == [1, 2]


def test_a_case_returned_to_the_grid_is_settled_at_grid_level_but_not_inside_the_grid():
    steps = pd.DataFrame({"case_id": ["R", "R", "R", "S"], "level": ["网格", "社区", "网格", "网格"]})
    result = analyse_escalation(steps)
    assert result.levels.set_index("level").loc["grid", "share_settled"] == 1.0
    assert result.cases["settled_in_grid"].tolist() == [False, True]
    assert result.cases["returned"].tolist() == [True, False]


def test_open_cases_are_not_settled():
    steps, cases = four_cases()
    cases.loc[cases["case_id"] == "B", "closed_at"] = None
    result = analyse_escalation(steps, cases)
    assert result.levels["settled"].tolist() == [1, 1, 1, 0]
    assert result.cases.set_index("case_id").loc["B", "status"] == "open"
    assert np.isnan(result.cases.set_index("case_id").loc["B", "hours_community"])  # still there: unknown


# --- both shapes --------------------------------------------------------------------------------------------


def wide_from_long(steps: pd.DataFrame, *, chinese: bool = True) -> pd.DataFrame:
    """One row per case with numbered step columns, written as people write them."""
    rows = []
    for case, group in steps.groupby("case_id", sort=False):
        row = {"事件编号" if chinese else "case_id": case}
        for number, step in enumerate(group.sort_values("step").itertuples(index=False), start=1):
            if chinese:
                row.update(
                    {
                        f"层级{number}": LEVELS_ZH[step.level],
                        f"处置人{number}": step.handler,
                        f"时间{number}": step.time,
                    }
                )
            else:
                row.update(
                    {
                        f"level_{number}": step.level,
                        f"handler_{number}": step.handler,
                        f"time_{number}": step.time,
                    }
                )
        rows.append(row)
    return pd.DataFrame(rows)


def test_both_shapes_give_identical_steps_and_results():
    steps, cases = four_cases()
    long = clean_steps(steps)
    for chinese in (True, False):
        wide = wide_from_long(long.assign(time=long["time"].astype(str)), chinese=chinese)
        assert clean_steps(wide).equals(long)
        a, b = analyse_escalation(steps, cases), analyse_escalation(wide, cases)
        pd.testing.assert_frame_equal(a.cases, b.cases)
        pd.testing.assert_frame_equal(a.levels, b.levels)
        pd.testing.assert_frame_equal(a.grids, b.grids)


histories = st.lists(  # per case: steps of (level, minutes after the previous step, may go backwards)
    st.lists(st.tuples(st.sampled_from(HANDLING_LEVELS), st.integers(-120, 3000)), min_size=1, max_size=6),
    min_size=1,
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories, st.randoms(use_true_random=False))
def test_any_history_reads_the_same_in_both_shapes(cases, random):
    rows = []
    for number, case in enumerate(cases):
        at = pd.Timestamp("2025-01-01 08:00")
        for step, (level, minutes) in enumerate(case, start=1):
            at += pd.Timedelta(minutes=minutes)
            rows.append(
                {
                    "case_id": f"E{number}",
                    "step": step,
                    "level": level,
                    "handler": f"H{step}",
                    "time": at.strftime("%Y-%m-%d %H:%M"),
                }
            )
    long = pd.DataFrame(rows)
    shuffled = long.sample(frac=1, random_state=random.randint(0, 2**31))  # rows in any order
    wide = wide_from_long(long)
    a, b = analyse_escalation(shuffled), analyse_escalation(wide)
    pd.testing.assert_frame_equal(a.cases, b.cases)
    pd.testing.assert_frame_equal(a.levels, b.levels)
    assert a.levels["settled"].sum() == len(cases)  # every history ends somewhere
    skips = [
        any(HANDLING_LEVELS.index(y) - HANDLING_LEVELS.index(x) > 1
            for (x, _), (y, _) in zip(c, c[1:], strict=False))
        for c in cases
    ]
    assert a.cases["skipped"].tolist() == skips
    backwards = [any(minutes < 0 for _, minutes in c[1:]) for c in cases]
    assert (~a.cases["times_ok"]).tolist() == backwards


# --- messy inputs -------------------------------------------------------------------------------------------


def test_gbk_csv_with_chinese_headers_nulls_duplicates_and_unsorted_rows(tmp_path):
    path = tmp_path / "流转记录.csv"
    text = (
        "工单编号,处置层级,处置人,处置时间\n"
        "E2,街道,张三,2025-03-02 10:00\n"
        "E1,社区,李四,2025-03-01 12:00\n"
        "E1,网格,王五,2025-03-01 09:00\n"
        "E1,网格,王五,2025-03-01 09:00\n"  # a repeated row
        "E2,网格,,2025-03-02 08:00\n"  # no handler
        "E3,,赵六,2025-03-03 08:00\n"  # no level
        "E3,村,,\n"
    )  # no time
    path.write_bytes(text.encode("gbk"))
    from gridmap.findings import Report

    found = Report("steps")
    steps = read_steps(path, report=found)
    assert list(steps.columns) == STEP_COLUMNS
    assert steps[["case_id", "step", "level"]].values.tolist() == [
        ["E1", 1, "grid"],
        ["E1", 2, "community"],
        ["E2", 1, "grid"],
        ["E2", 2, "street"],
        ["E3", 1, "community"],
    ]
    assert steps["handler"].isna().tolist() == [False, False, True, False, True]
    assert pd.isna(steps["time"].iloc[4])
    checks = found.to_frame().set_index("check")
    assert checks.loc["duplicate_step", "record"] == "row 5"  # the file's row, header = row 1
    assert checks.loc["missing_level", "record"] == "row 7"


def test_mixed_time_zones_are_read_as_beijing_time():
    steps = pd.DataFrame(
        {
            "case_id": ["A"] * 3,
            "level": ["grid", "community", "street"],
            "time": ["2025-03-01T01:00:00Z", "2025-03-01 10:00", "2025-03-01T05:00:00+03:00"],
        }
    )
    clean = clean_steps(steps)
    assert clean["time"].dt.strftime("%H:%M").tolist() == ["09:00", "10:00", "10:00"]
    assert clean["level"].tolist() == ["grid", "community", "street"]  # ordered by time, ties in file order


def test_times_going_backwards_are_a_finding_and_left_out_of_times():
    wide = pd.DataFrame(
        {
            "事件编号": ["A", "B"],
            "层级1": ["网格", "网格"],
            "时间1": ["2025-03-01 10:00"] * 2,
            "层级2": ["社区", "社区"],
            "时间2": ["2025-03-01 09:00", "2025-03-01 11:00"],
            "层级3": [None, "街道"],
            "时间3": [None, "2025-03-01 12:00"],
        }
    )
    result = analyse_escalation(wide)
    found = result.report.to_frame().query("check == 'time_backwards'")
    assert found["record"].tolist() == ["case A"]
    by_case = result.cases.set_index("case_id")
    assert not by_case.loc["A", "times_ok"] and np.isnan(by_case.loc["A", "hours_grid"])
    assert by_case.loc["B", ["hours_grid", "hours_community"]].tolist() == [1.0, 1.0]
    assert by_case.loc["A", "path"] == "grid>community"  # the order given is kept
    # closed before its last step: backwards too
    cases = pd.DataFrame(
        {"case_id": ["B"], "reported_at": ["2025-03-01 09:00"], "closed_at": ["2025-03-01 11:30"]}
    )
    assert not analyse_escalation(wide.iloc[[1]], cases).cases["times_ok"].iloc[0]


def test_unknown_level_is_an_error_naming_the_file_row_and_case(tmp_path):
    path = tmp_path / "steps.csv"
    path.write_text("事件编号,层级1,层级2\nE1,网格,社区\nE2,网格,居委办\n", encoding="utf-8")
    with pytest.raises(
        CaseError, match=r"steps.csv, row 3: level '居委办' of step 2 \(column '层级2'\) of case E2"
    ):
        read_steps(path)
    with pytest.raises(CaseError, match="row 2: level 'x'"):
        clean_steps(pd.DataFrame({"case_id": ["A", "B"], "level": ["grid", "x"]}))


def test_missing_columns_and_bad_step_numbers_are_errors():
    with pytest.raises(SchemaError, match="no case id column"):
        clean_steps(pd.DataFrame({"level": ["grid"]}))
    with pytest.raises(SchemaError, match="no level column"):
        clean_steps(pd.DataFrame({"case_id": ["A"], "handler": ["x"]}))
    with pytest.raises(CaseError, match="step number '二' of case A"):
        clean_steps(pd.DataFrame({"case_id": ["A"], "step": ["二"], "level": ["grid"]}))


def test_numbered_headers_in_several_spellings():
    wide = pd.DataFrame(
        {
            "编号": ["A"],
            "第1步层级": ["网格"],
            "第2步层级": ["街道级"],
            "第二步处置人": ["街道办"],
            "层级(3)": ["district"],
        }
    )
    steps = clean_steps(wide)
    assert steps["level"].tolist() == ["grid", "street", "district"]
    assert steps["handler"].tolist()[1] == "街道办"


# --- cases, grids, rules ------------------------------------------------------------------------------------


def test_cases_with_points_are_put_in_grids_and_every_grid_gets_a_row():
    grids = gpd.GeoDataFrame(
        {
            "网格编码": ["990102001001001", "990102001001002", "990102001001003"],
            "community_code": ["990102001001"] * 3,
        },
        geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10)],
        crs=4547,
    )
    cases = gpd.GeoDataFrame(
        {
            "事件编号": ["A", "B"],
            "上报时间": ["2025-03-01 08:00"] * 2,
            "办结时间": ["2025-03-01 12:00"] * 2,
            "事件类型": ["民生诉求"] * 2,
        },
        geometry=[Point(5, 5), Point(15, 5)],
        crs=4547,
    )
    steps = pd.DataFrame({"case_id": ["A", "B", "B"], "level": ["网格", "网格", "社区"]})
    result = analyse_escalation(steps, cases, grids=grids)
    table = result.grids
    assert isinstance(table, gpd.GeoDataFrame) and table.crs.to_epsg() == 4547
    assert table["code"].tolist() == ["990102001001001", "990102001001002", "990102001001003"]
    assert table["cases"].tolist() == [1, 1, 0] and table["settled_in_grid_rate"].iloc[0] == 1.0
    assert np.isnan(table["settled_in_grid_rate"].iloc[2]) and table["label"].iloc[2] == "无已办结事件"
    assert table.geometry.area.tolist() == [100.0, 100.0, 100.0]
    assert table["street_code"].iloc[0] == "990102001"


def test_steps_of_unknown_cases_and_mismatched_levels_are_warnings():
    steps, cases = four_cases()
    cases = cases.assign(level=["网格", "社区", "社区", "社区"])  # C's last step is at the street
    more = pd.concat([steps, pd.DataFrame({"case_id": ["Z"], "level": ["grid"]})])
    result = analyse_escalation(more, cases, rules=RULES)
    found = result.report.to_frame().set_index("check")
    assert found.loc["level_mismatch", "record"] == "case C" and found.loc["level_mismatch", "code"] == "G2"
    assert found.loc["unknown_case", "record"] == "case Z"
    assert set(found["severity"].drop("tier_breach")) == {"warning"}


def test_tier_rules_from_toml_and_their_errors(tmp_path):
    path = tmp_path / "tiers.toml"
    path.write_text(
        '[tiers]\ndefault = ["网格", "社区"]\n"治安隐患" = ["grid", "街道", "区县"]\n', encoding="utf-8"
    )
    rules = TierRules.from_toml(path)
    assert rules.allowed("治安隐患") == ("grid", "street", "district")
    assert rules.allowed("新类型") == ("grid", "community")
    assert rules.allowed("环境卫生") == TIER_RULES["环境卫生"]  # rows not given keep their defaults
    assert rules.allowed(" 治安 隐患 ") == rules.allowed("治安隐患")
    path.write_text('[tiers]\n"治安隐患" = ["网格", "居委办"]\n', encoding="utf-8")
    with pytest.raises(
        GridmapError, match=r"tiers.toml, key 治安隐患: case type '治安隐患': unknown handling level"
    ):
        TierRules.from_toml(path)
    path.write_text('[tiers]\n"治安隐患" = "网格"\n', encoding="utf-8")
    with pytest.raises(GridmapError, match="not a list"):
        TierRules.from_toml(path)
    path.write_text("[tiers]\n治安隐患 = [\n", encoding="utf-8")
    with pytest.raises(GridmapError, match="Chinese keys in double quotes"):
        TierRules.from_toml(path)
