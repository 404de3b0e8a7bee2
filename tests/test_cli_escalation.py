"""``gridmap escalation`` and ``gridmap index`` (issue 21): exit codes, outputs, JSON, refusals."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import box

from gridmap.cli import main
from gridmap.io import write_layer

C = "990102001001"
G1, G2, G3 = f"{C}001", f"{C}002", f"{C}003"


@pytest.fixture()
def files(tmp_path):
    """Grids (GeoPackage), a GBK case list with step columns, a separate steps file, feedback, rules."""
    grids = gpd.GeoDataFrame(
        {"code": [G1, G2, G3], "community_code": [C] * 3, "population": [900, 1200, 600]},
        geometry=[box(108.30 + i * 0.01, 22.80, 108.31 + i * 0.01, 22.81) for i in range(3)],
        crs=4490,
    )
    write_layer(grids, tmp_path / "grids.gpkg", "grids")
    cases = (
        "事件编号,网格编码,事件类型,上报时间,受理时间,办结时间,层级1,时间1,层级2,时间2\n"
        f"A,{G1},环境卫生,2025-03-01 08:00,2025-03-01 08:10,2025-03-01 12:00,网格,2025-03-01 08:10,,\n"
        f"B,{G1},环境卫生,2025-03-01 08:00,2025-03-01 08:10,2025-03-02 12:00,网格,2025-03-01 08:10,"
        "社区,2025-03-01 10:00\n"
        f"C,{G2},矛盾纠纷,2025-03-01 08:00,2025-03-01 08:10,2025-03-03 12:00,网格,2025-03-01 08:10,"
        "街道,2025-03-01 12:00\n"
    )
    (tmp_path / "cases.csv").write_bytes(cases.encode("gbk"))
    (tmp_path / "steps.csv").write_text(
        "case_id,level,time\nA,grid,2025-03-01 08:10\nB,grid,2025-03-01 08:10\n"
        "B,district,2025-03-01 09:00\nC,grid,2025-03-01 08:10\n",
        encoding="utf-8",
    )
    (tmp_path / "feedback.csv").write_text(
        "事件编号,满意度,调解结果,调解层级\nA,满意,,\nB,不满意,,\nC,基本满意,调解成功,乡镇调解站\n",
        encoding="utf-8",
    )
    (tmp_path / "tiers.toml").write_text('[tiers]\n"环境卫生" = ["网格"]\n', encoding="utf-8")
    return tmp_path


def run(*arguments: str):
    return CliRunner().invoke(main, [str(a) for a in arguments])


def test_escalation_reads_step_columns_of_the_case_list_and_writes_a_workbook(files):
    out = files / "esc.xlsx"
    result = run("escalation", "--cases", files / "cases.csv", "--grids", files / "grids.gpkg", "--out", out)
    assert result.exit_code == 0, result.output
    assert "3 cases with handling steps, 3 settled; settled inside the grid 33%" in result.output
    book = pd.read_excel(out, sheet_name=None, engine="openpyxl", dtype={"编码": str})
    assert list(book) == ["层级", "网格", "事件", "发现"]
    levels = book["层级"].set_index("层级")
    assert levels["已办结"].tolist() == [1, 1, 1, 0] and levels["办结占比"].sum() == pytest.approx(1)
    assert book["网格"]["编码"].tolist() == [G1, G2, G3]
    assert book["网格"]["网格内化解率"].tolist()[:2] == [0.5, 0.0]
    assert "越级上报" in book["事件"].columns


def test_tier_breaches_exit_1_and_json_findings_carry_the_grid_code(files):
    result = run(
        "-q",
        "escalation",
        "--cases",
        files / "cases.csv",
        "--steps",
        files / "steps.csv",
        "--rules",
        files / "tiers.toml",
        "--json",
    )
    assert result.exit_code == 1, result.output
    payload = json.loads(result.output)
    assert payload["totals"]["tier_breaches"] == 1 and payload["totals"]["skipped_rate"] == pytest.approx(
        1 / 3
    )
    breach = [f for f in payload["findings"] if f["check"] == "tier_breach"]
    assert [(f["record"], f["code"]) for f in breach] == [("case B", G1)]
    assert {row["code"] for row in payload["grids"]} == {G1, G2}
    assert [row["settled"] for row in payload["levels"]] == [2, 0, 0, 1]


def test_geopackage_with_the_grid_layer_feedback_and_publication(files):
    out = files / "esc.gpkg"
    result = run(
        "escalation",
        "--cases",
        files / "cases.csv",
        "--grids",
        files / "grids.gpkg",
        "--feedback",
        files / "feedback.csv",
        "--publish",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    layer = gpd.read_file(out, layer="grids")
    assert layer.geometry.notna().all() and len(layer) == 3
    assert layer["cases"].isna().all() and layer["suppressed"].str.contains("cases").all()  # all below 5
    satisfaction = gpd.read_file(out, layer="satisfaction")
    assert satisfaction["rated"].isna().all()
    import pyogrio

    assert {"levels", "grids", "findings", "satisfaction", "mediation_levels"} <= {
        name for name, _ in pyogrio.list_layers(out)
    }
    assert "cases" not in {name for name, _ in pyogrio.list_layers(out)}  # no case rows in public output


def test_bad_inputs_exit_2_and_write_nothing(files):
    result = run("escalation", "--cases", files / "cases.csv", "--out", files / "esc.txt")
    assert result.exit_code == 2 and "is not a .xlsx, .gpkg or .csv name" in result.output
    result = run("escalation", "--cases", files / "cases.csv", "--out", files / "cases.csv")
    assert result.exit_code == 2 and "same file" in result.output
    (files / "bad.csv").write_text("事件编号,层级\nA,网格\nB,居委办\n", encoding="utf-8")
    result = run(
        "escalation", "--cases", files / "cases.csv", "--steps", files / "bad.csv", "--out", files / "x.xlsx"
    )
    assert result.exit_code == 2 and "bad.csv, row 3: level '居委办'" in result.output
    assert not (files / "x.xlsx").exists()


def test_index_ranks_the_grids_and_writes_a_map_layer(files):
    out = files / "index.gpkg"
    (files / "patrols.csv").write_text(
        f"网格编码,patrol_coverage\n{G1},0.9\n{G2},0.4\n{G3},0.7\n", encoding="utf-8"
    )
    (files / "weights.toml").write_text(
        "[index.measures.patrol_coverage]\nweight = 0.5\nnormalisation = 'raw'\n", encoding="utf-8"
    )
    result = run(
        "index",
        "--grids",
        files / "grids.gpkg",
        "--cases",
        files / "cases.csv",
        "--steps",
        files / "steps.csv",
        "--feedback",
        files / "feedback.csv",
        "--measures",
        files / "patrols.csv",
        "--weights",
        files / "weights.toml",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    layer = gpd.read_file(out, layer="index")
    assert len(layer) == 3 and layer.geometry.notna().all()
    table = layer.set_index("code")
    # G3 has no cases: only patrols (0.5) and case density (0.1) of the weight 1.25 — less than half, no index
    assert table.loc[G3, "weight_used"] == pytest.approx(0.6 / 1.25) and pd.isna(table.loc[G3, "index"])
    assert table.loc[G3, "label"] == "指标不足，未参评"
    assert table.loc[[G1, G2], "label"].str.startswith("质效指数").all()
    assert table.loc[G1, "breakdown"].count("+") == 5  # six measures: response … patrols
    points = table.loc[G1, [c for c in layer.columns if c.endswith("_points")]].sum()
    assert points == pytest.approx(table.loc[G1, "index"])
    result = run("-q", "index", "--grids", files / "grids.gpkg", "--cases", files / "cases.csv", "--json")
    payload = json.loads(result.output)
    assert result.exit_code == 0 and payload["grids"] == 3 and payload["table"][0]["rank"] == 1
    # no steps and no 办结层级 column: settled inside the grid is unknown everywhere, so left out
    assert set(payload["weights"]) == {"response_rate", "on_time_closure", "case_density"}
    assert abs(sum(payload["weights"].values()) - 1) < 1e-9


def test_help_has_examples():
    for command, text in (
        ("escalation", "--steps data/sample/case_steps.csv"),
        ("index", "--weights index.toml"),
    ):
        result = run(command, "--help")
        assert result.exit_code == 0 and text in result.output
