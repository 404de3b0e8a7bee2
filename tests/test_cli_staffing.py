"""``gridmap staffing`` and ``gridmap liaison`` on the small hand-checked city, run with CliRunner."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from people_fixtures import (
    COMM_R,
    EXPECTED,
    R1,
    RETIRED,
    STREET_R,
    grids,
    personal_values,
    roster_frame,
    write_gbk_csv,
)
from test_liaison import links_frame

from gridmap.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATIONS, main
from gridmap.people import StaffingRules


def run(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


@pytest.fixture
def city(tmp_path):
    """The roster (GBK CSV and XLSX), the grids (CSV), the liaison table (XLSX) in tmp_path."""
    write_gbk_csv(tmp_path / "名单.csv", roster_frame())
    roster_frame().to_excel(tmp_path / "名单.xlsx", index=False)
    grids().to_csv(tmp_path / "网格.csv", index=False)
    links_frame().to_excel(tmp_path / "联系表.xlsx", index=False)
    return tmp_path


def staffing(city, *extra):
    return run("staffing", "--roster", city / "名单.csv", "--grids", city / "网格.csv", *extra)


def test_text_names_every_broken_rule_and_exits_1(city):
    result = staffing(city)
    assert result.exit_code == EXIT_VIOLATIONS, result.output
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("staffing rules: FAILED (understaffed 5, ")
    for count in ("overstaffed 2", "unknown_unit 1", "not_party_member 1"):
        assert count in lines[-1]
    assert "grids 2 of 3 break a rule" in lines[-2]
    for check, unit, _ in EXPECTED:
        shown = [line for line in lines if line.startswith("error") and check in line and unit in line]
        assert shown, (check, unit)
    assert "Traceback" not in result.output


def test_json_findings_carry_their_unit_and_xlsx_roster_reads_the_same(city):
    from_csv = staffing(city, "--json")
    from_xlsx = run("staffing", "--roster", city / "名单.xlsx", "--grids", city / "网格.csv", "--json")
    assert from_csv.exit_code == from_xlsx.exit_code == EXIT_VIOLATIONS
    payload = json.loads(from_csv.stdout)
    assert json.loads(from_xlsx.stdout)["findings"] == payload["findings"]
    errors = [f for f in payload["findings"] if f["severity"] == "error"]
    assert {(f["check"], f["unit_code"], f.get("rule")) for f in errors} == EXPECTED
    assert all(f["unit_code"] for f in errors)
    assert set(payload["tables"]) == {"rules", "checks", "district", "street", "community", "grid"}


def test_default_outputs_hold_no_phone_or_id_and_show_contacts_adds_phones(city):
    out = city / "staffing.xlsx"
    texts = [staffing(city).stdout, staffing(city, "--json").stdout]
    result = staffing(city, "--out", out)
    assert result.stdout.splitlines()[-1].startswith(f"wrote {out} (")
    sheets = pd.read_excel(out, sheet_name=None, dtype=str, engine="openpyxl")
    assert list(sheets) == ["findings", "grid", "community", "street", "district", "checks", "rules",
                            "roster"]
    texts += [frame.to_csv() for frame in sheets.values()]
    for value in personal_values(roster_frame()):
        assert not any(value in text for text in texts), value
    roster = sheets["roster"]
    assert "人员2" in roster["name"].tolist()  # a grid leader's name is public
    assert roster.loc[roster["role"] == "legal_helper", "name"].isna().all()
    inside = city / "内部.xlsx"
    assert staffing(city, "--show-contacts", "--out", inside).exit_code == EXIT_VIOLATIONS
    internal = pd.read_excel(inside, sheet_name=None, dtype=str, engine="openpyxl")
    assert "13800000002" in internal["roster"]["phone"].tolist()
    assert "13800000002" in internal["grid"]["leader_phone"].tolist()
    assert "ID0002" not in internal["roster"].to_csv()


def test_csv_out_and_quiet(city):
    out = city / "findings.csv"
    result = run("-q", "staffing", "--roster", city / "名单.csv", "--grids", city / "网格.csv", "--out", out)
    assert result.exit_code == EXIT_VIOLATIONS and result.stdout == ""
    findings = pd.read_csv(out, dtype=str)
    assert {RETIRED, R1, COMM_R, STREET_R} <= set(findings["unit_code"])


def test_city_rules_from_toml_can_make_the_roster_pass(city):
    rules = city / "rules.toml"
    rules.write_text('[[rule]]\nrole = "网格指导员"\nlevel = "网格"\nmin = 1\nmax = 1\n'
                     'description = "每格一名指导员"\n', encoding="utf-8")
    roster = roster_frame()
    roster = roster[roster["单位编码"] != RETIRED]
    write_gbk_csv(city / "名单.csv", roster)
    result = staffing(city, "--rules", rules)
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.splitlines()[-1] == "staffing rules: OK (no_units 1)"  # the micro-grid worker
    rules.write_text(StaffingRules.default().to_toml(), encoding="utf-8")
    assert staffing(city, "--rules", rules).exit_code == EXIT_VIOLATIONS


@pytest.mark.parametrize("setup, option, message", [
    (lambda p: (p / "r.toml").write_text("[[rule]]\nrole = \n", encoding="utf-8"), "--rules",
     "cannot read staffing rules"),
    (lambda p: (p / "r.toml").write_text('[[rule]]\nrole = "网格长"\nlevel = "网格"\nmin = -1\n',
                                         encoding="utf-8"), "--rules", "rule 1 (min): min = -1 is negative"),
    (lambda p: (p / "r.toml").write_text('[[rule]]\nrole = "保安"\nlevel = "网格"\n', encoding="utf-8"),
     "--rules", "rule 1 (role): role '保安' is not a roster role"),
])
def test_bad_rules_exit_2_naming_the_file(city, setup, option, message):
    setup(city)
    result = staffing(city, option, city / "r.toml")
    assert result.exit_code == EXIT_BAD_INPUT
    assert message in result.stderr and "r.toml" in result.stderr and "Fix:" in result.stderr
    assert "Traceback" not in result.output


def test_bad_roster_exits_2_naming_file_and_row(city):
    frame = roster_frame()
    frame.loc[4, "岗位"] = "保安"
    write_gbk_csv(city / "名单.csv", frame)
    result = staffing(city)
    assert result.exit_code == EXIT_BAD_INPUT
    assert "名单.csv, row 6: role '保安' is not a roster role" in result.stderr


def test_refuses_to_overwrite_an_input_and_a_bad_out_type(city):
    before = (city / "名单.csv").read_bytes()
    result = staffing(city, "--out", city / "名单.csv")
    assert result.exit_code == EXIT_BAD_INPUT and "same file" in result.stderr
    assert (city / "名单.csv").read_bytes() == before
    result = staffing(city, "--out", city / "x.gpkg")
    assert result.exit_code == EXIT_BAD_INPUT and ".csv or .xlsx" in result.stderr
    result = run("staffing", "--roster", city / "missing.csv", "--grids", city / "网格.csv")
    assert result.exit_code == EXIT_BAD_INPUT and "missing.csv" in result.stderr


def test_units_option_reads_admin_tables(city):
    pd.DataFrame({"code": ["450102001004"], "level": ["社区"], "name": ["新社区"]}).to_csv(city / "units.csv",
                                                                                      index=False)
    result = staffing(city, "--units", city / "units.csv", "--json")
    findings = json.loads(result.stdout)["findings"]
    assert any(f["unit_code"] == "450102001004" and f["check"] == "understaffed" for f in findings)


# --- gridmap liaison -------------------------------------------------------------------------------------

def liaison(city, *extra):
    return run("liaison", "--links", city / "联系表.xlsx", "--grids", city / "网格.csv", *extra)


def test_liaison_text_json_and_exit_codes(city):
    result = liaison(city)
    assert result.exit_code == EXIT_VIOLATIONS, result.output
    assert "streets covered 1 of 2; communities covered 2 of 2; grids covered 2 of 3" in result.stdout
    payload = json.loads(liaison(city, "--json").stdout)
    gaps = {(f["check"], f["unit_code"]) for f in payload["findings"] if f["severity"] == "error"}
    assert gaps == {("no_liaison", STREET_R), ("no_liaison", R1), ("unknown_unit", COMM_R + "009")}
    assert all(f["unit_code"] for f in payload["findings"])


def test_liaison_limit_privacy_and_out(city):
    out = city / "liaison.xlsx"
    result = liaison(city, "--limit", "2", "--out", out)
    assert result.stdout.splitlines()[-1].startswith(f"wrote {out} (")
    sheets = pd.read_excel(out, sheet_name=None, dtype=str, engine="openpyxl")
    assert list(sheets) == ["findings", "grid", "community", "street", "leaders"]
    over = sheets["findings"].query("check == 'too_many_links'")
    assert over["record"].tolist() == ["row 5"]  # 丁: three grids; rows as the workbook numbers them
    text = result.stdout + "".join(frame.to_csv() for frame in sheets.values())
    for value in [*links_frame()["联系电话"], *links_frame()["人员编号"], "丁"]:
        assert value not in text
    contacts = json.loads(liaison(city, "--limit", "2", "--show-contacts", "--json").stdout)
    named = [f for f in contacts["findings"] if f["check"] == "too_many_links"]
    assert [(f["name"], f["phone"]) for f in named] == [("丁", "13900000004")]


def test_liaison_bad_limit_and_bad_level(city):
    assert liaison(city, "--limit", "0").exit_code == EXIT_BAD_INPUT
    frame = links_frame()
    frame.loc[0, "层级"] = "省"
    frame.to_excel(city / "联系表.xlsx", index=False)
    result = liaison(city)
    assert result.exit_code == EXIT_BAD_INPUT and "联系表.xlsx, row 2: level '省'" in result.stderr
