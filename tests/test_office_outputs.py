"""What a grid office hands out (issue 19): a chosen report period, phone pages per community, finished
Excel files, secondary suppression, and the small things a new user sees."""

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from gridmap.cli import main
from gridmap.datasets import sample_path

CASES = sample_path() / "cases.parquet"
STREET = "990102001"


@pytest.fixture(scope="module")
def demo_gpkg(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "gridmap.gpkg"


def _street_cases(grids: gpd.GeoDataFrame, start: str, end: str) -> pd.Series:
    """Cases reported in [start, end) per street, put in grids with a plain geopandas spatial join."""
    cases = gpd.read_parquet(CASES)
    reported = pd.to_datetime(cases["reported_at"])
    cases = cases.loc[(reported >= start) & (reported < end)]
    joined = gpd.sjoin(cases.to_crs(grids.crs), grids[["community_code", "geometry"]], predicate="intersects")
    joined = joined.loc[~joined.index.duplicated()]
    return joined.groupby(joined["community_code"].str[:9])["count"].sum()


def _summary_cases(summary: str) -> dict[str, int]:
    rows = [line.split(" | ") for line in summary.splitlines() if line.startswith("| 99")]
    return {row[0].strip("| "): int(row[5]) for row in rows}


# --- 1. a chosen period ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "label", "start", "end"), [
    (["--month", "2025-06"], "2025-06", "2025-06-01", "2025-07-01"),
    (["--from", "2025-03-10", "--to", "2025-04-05"], "2025-03-10 – 2025-04-05", "2025-03-10", "2025-04-06"),
])
def test_report_of_a_chosen_period_counts_the_cases_of_that_period(demo_gpkg, tmp_path, options, label,
                                                                   start, end):
    out = tmp_path / "period"
    result = CliRunner().invoke(main, ["report", str(demo_gpkg), "--out", str(out), "--cases", str(CASES),
                                       "--street", STREET, *options])
    assert result.exit_code == 0, result.output
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert f"统计期: {label} ·" in summary
    grids = gpd.read_file(demo_gpkg, layer="grids")
    expected = _street_cases(grids, start, end)
    assert _summary_cases(summary) == {STREET: int(expected[STREET])}
    assert label in (out / "cockpit.html").read_text(encoding="utf-8")


def test_a_chosen_month_keeps_its_change_on_the_month_before(demo_gpkg, tmp_path):
    out = tmp_path / "june"
    result = CliRunner().invoke(main, ["report", str(demo_gpkg), "--out", str(out), "--cases", str(CASES),
                                       "--street", STREET, "--month", "2025-06"])
    assert result.exit_code == 0, result.output
    streets = pd.read_excel(out / "stats.xlsx", sheet_name="街道", engine="openpyxl")
    streets = streets.loc[streets["编码"].astype(str) == STREET].set_index("时期")
    assert str(streets.index[-1]).startswith("2025-06"), "no month after the chosen one"
    grids = gpd.read_file(demo_gpkg, layer="grids")
    june = _street_cases(grids, "2025-06-01", "2025-07-01")[STREET]
    may = _street_cases(grids, "2025-05-01", "2025-06-01")[STREET]
    assert streets["环比"].iloc[-1] == pytest.approx((june - may) / may)


@pytest.mark.parametrize(("options", "named"), [
    (["--month", "2025-13"], "--month"),
    (["--month", "June"], "--month"),
    (["--month", "2024-05"], "--month 2024-05"),
    (["--from", "2025-03-01", "--to", "2025-02-01"], "--from"),
    (["--from", "2025-02-30"], "--from"),
    (["--from", "2030-01-01"], "--from"),
    (["--month", "2025-05", "--from", "2025-05-01"], "--month or --from/--to"),
    (["--month", "2025-05", "--period", "week"], "--period week"),
])
def test_a_bad_period_exits_2_naming_the_option(demo_gpkg, tmp_path, options, named):
    out = tmp_path / "bad"
    result = CliRunner().invoke(main, ["report", str(demo_gpkg), "--out", str(out), "--cases", str(CASES),
                                       *options])
    assert result.exit_code == 2, result.output
    assert named in result.output and "Traceback" not in result.output
    assert not out.exists()
