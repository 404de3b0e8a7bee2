"""``gridmap patrols`` (issue 21): the command line over the library, on small hand-checked files."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from test_patrols import G1, G2, edge_units, row_units, straight, two_grids, walk

from gridmap.cli import main


@pytest.fixture
def city(tmp_path):
    """grids.gpkg (grids, units in CGCS2000 degrees) and a GBK CSV of tracks with Chinese headers."""
    gpkg = tmp_path / "grids.gpkg"
    two_grids().to_crs(4490).to_file(gpkg, layer="grids")
    row_units().to_crs(4490).to_file(gpkg, layer="units")
    track = straight().to_crs(4490)
    table = pd.DataFrame({"巡查员": "P000003", "定位时间": track["time"].dt.strftime("%Y/%m/%d %H:%M"),
                          "经度": track.geometry.x.round(9), "纬度": track.geometry.y.round(9)})
    records = tmp_path / "tracks.csv"
    records.write_bytes(table.to_csv(index=False, lineterminator="\n").encode("gbk"))
    return gpkg, records


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_json_gives_the_hand_checked_measures_per_grid(city):
    gpkg, records = city
    result = invoke("patrols", "--grids", gpkg, "--records", records, "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    rows = {row["code"]: row for row in found["table"]}
    # the units name no grid: they are in G1, where they lie; 10 m and 49 m from the track are passed
    assert [rows[G1][k] for k in ("patrols", "units", "units_passed", "coverage")] == [1, 4, 2, 0.5]
    assert (rows[G2]["patrols"], rows[G2]["units"], rows[G2]["coverage"]) == (0, 0, None)
    assert found["kind"] == "tracks" and found["idle"] == [] and found["out"] is None
    assert {f["check"] for f in found["findings"]} == {"under_patrolled"}
    assert [f["code"] for f in found["findings"]] == [G2]


def test_a_track_along_the_shared_edge_passes_only_its_own_grids_unit(tmp_path):
    gpkg = tmp_path / "edge.gpkg"
    two_grids().to_crs(4490).to_file(gpkg, layer="grids")
    edge_units().to_crs(4490).to_file(gpkg, layer="units")  # 20 m and 40 m from the track, one per grid
    track = walk(590, np.linspace(-250, 250, 26)).to_crs(4490)  # G1's worker, 10 m inside G1
    records = tmp_path / "edge.csv"
    pd.DataFrame({"人员编号": "P000003", "时间": track["time"].astype(str), "经度": track.geometry.x.round(9),
                  "纬度": track.geometry.y.round(9)}).to_csv(records, index=False)
    result = invoke("patrols", "--grids", gpkg, "--records", records, "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    rows = {row["code"]: row for row in found["table"]}
    measures = ("patrols", "units", "units_passed", "coverage")
    assert [rows[G1][k] for k in measures] == [1, 1, 1, 1.0]
    assert [rows[G2][k] for k in measures] == [0, 1, 0, 0.0]
    assert rows[G2]["label"].startswith("巡查0次/应1次，途经单元0%") and found["coverage"] == 0.5


def test_out_geopackage_has_the_map_layer_tables_and_tracks(city, tmp_path):
    gpkg, records = city
    out = tmp_path / "patrols.gpkg"
    result = invoke("patrols", "--grids", gpkg, "--records", records, "--out", out, "--period", "week")
    assert result.exit_code == 0, result.output
    # one day measured: 1 required per grid
    assert result.stdout.splitlines()[-1].startswith(f"wrote {out} (2 grids, 1 patrols of 2 required")
    layers = dict(pyogrio.list_layers(out))
    assert {"patrol_grids", "patrol_periods", "patrol_workers", "patrol_idle", "patrol_tracks", "report"} <= \
        set(layers)
    grids = gpd.read_file(out, layer="patrol_grids")
    assert (grids.geom_type == "Polygon").all() and grids["label"].str.startswith("巡查").all()
    assert gpd.read_file(out, layer="patrol_periods")["period"].tolist() == ["2025-W10", "2025-W10"]
    tracks = gpd.read_file(out, layer="patrol_tracks")
    assert tracks["length_m"].round(3).tolist() == [600.0]
    assert tracks.crs.to_epsg() == 4326  # the records' CRS: a CSV of degrees is WGS84


def test_out_workbook_has_chinese_sheets_and_headers(city, tmp_path):
    gpkg, records = city
    out = tmp_path / "patrols.xlsx"
    result = invoke("patrols", "--grids", gpkg, "--records", records, "--out", out, "-q")
    assert result.exit_code == 0 and result.output == ""
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["网格", "周期", "网格员", "未巡查网格"]
    headers = [cell.value for cell in book["网格"][1]]
    assert headers[:4] == ["网格编码", "type", "巡查次数", "应巡查次数"] and "覆盖率" in headers


def test_checkins_rules_and_options_reach_the_library(tmp_path, city):
    gpkg, _ = city
    checkins = tmp_path / "checkins.csv"
    pd.DataFrame({"人员编号": ["P1", "P1", "P2"], "打卡时间": ["2025-03-03 08:00", "2025-03-05 08:00",
                                                            "2025-03-03 09:00"],
                  "网格编码": [G1, G1, G2]}).to_csv(checkins, index=False)
    rules = tmp_path / "patrols.toml"
    rules.write_text('[patrols]\n[[patrols.required]]\ntype = "rural"\ncount = 2\nper = "week"\n',
                     encoding="utf-8")
    result = invoke("patrols", "--grids", gpkg, "--records", checkins, "--rules", rules, "--idle-days", "2",
                    "--at", "2025-03-06 09:00", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    rows = {row["code"]: row for row in found["table"]}
    assert found["kind"] == "checkins" and rows[G1]["required"] == 3
    assert rows[G2]["required"] == pytest.approx(6 / 7)  # 2 a week over 3 days
    assert found["idle"] == [G2]  # G2 last checked in on the 3rd: 3 days before --at


def test_roster_names_the_own_grid(city, tmp_path):
    gpkg, _ = city
    away = walk(np.linspace(700, 1100, 11), 0).to_crs(4490)  # P000003 walks in G2 only
    records = tmp_path / "away.csv"
    pd.DataFrame({"人员编号": "P000003", "时间": away["time"].astype(str), "经度": away.geometry.x,
                  "纬度": away.geometry.y}).to_csv(records, index=False)
    roster = tmp_path / "roster.csv"
    pd.DataFrame({"person_id": ["P000003"], "网格编码": [G1]}).to_csv(roster, index=False)
    out = tmp_path / "p.gpkg"
    result = invoke("patrols", "--grids", gpkg, "--records", records, "--roster", roster, "--out", out)
    assert result.exit_code == 0, result.output
    worker = gpd.read_file(out, layer="patrol_workers").iloc[0]
    assert (worker["own_grids"], worker["own_from"], worker["minutes_inside"], worker["minutes_outside"]) == \
        (G1, "roster", 0.0, 10.0)


@pytest.mark.parametrize("case, args, match", [
    ("no time", [], "no time column"),
    ("area", ["--area", "4501"], "no grid code starts with '4501'"),
    ("overwrite", ["--out", "RECORDS"], "is the same file as --records"),
    ("out type", ["--out", "x.shp"], "not a .gpkg, .xlsx, .csv or .parquet"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(city, tmp_path, case, args, match):
    gpkg, records = city
    if case == "no time":
        records = tmp_path / "bad.csv"
        records.write_text("巡查员,经度,纬度\nP1,108.0,22.8\n", encoding="utf-8")
    args = [str(records) if a == "RECORDS" else a for a in args]
    before = records.read_bytes()
    result = CliRunner().invoke(main, ["patrols", "--grids", str(gpkg), "--records", str(records), *args])
    assert result.exit_code == 2, result.output
    assert match in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert records.read_bytes() == before
    assert {p.name for p in tmp_path.iterdir()} == {"grids.gpkg", "tracks.csv", records.name}


def test_records_left_out_are_warned_about_on_stderr(city, tmp_path):
    gpkg, _ = city
    track = pd.concat([straight(), straight().iloc[:2]], ignore_index=True).to_crs(4490)  # two duplicates
    records = tmp_path / "dup.parquet"
    pd.DataFrame({"person_id": track["person_id"], "time": track["time"], "lon": track.geometry.x,
                  "lat": track.geometry.y}).to_parquet(records)
    result = invoke("patrols", "--grids", gpkg, "--records", records, "--area", G1)
    assert result.exit_code == 0
    assert "gridmap: warning: 2 records repeat another record exactly" in result.stderr
    assert result.stdout.startswith("patrols: 1 grids, 1 patrols of 1 required")


@pytest.mark.slow
def test_the_samples_never_patrolled_grids_have_no_unit_passed(demo, monkeypatch):
    monkeypatch.chdir(demo.project)
    result = invoke("patrols", "--grids", demo.gpkg, "--records", "data/sample/patrols.parquet", "--area",
                    "990102001", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    rows = pd.DataFrame(found["table"]).set_index("code")
    never = ["990102001003001", "990102001006009"]  # the sample README's: their workers are away all week
    assert found["idle"] == never and rows.loc[never, "patrols"].tolist() == [0, 0]
    assert rows.loc[never, ["units_passed", "coverage"]].to_numpy().tolist() == [[0, 0], [0, 0]]
    assert rows.loc[never, "label"].str.startswith("巡查0次/应7次，途经单元0%").all()
    assert (rows.loc[rows["patrols"] == 0, "units_passed"] == 0).all()
