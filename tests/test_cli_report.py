"""`gridmap report`: the monthly batch job on the output of `gridmap demo`."""

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from gridmap.cli import main
from gridmap.cli.report import report
from gridmap.datasets import sample_path

if "report" not in main.commands:  # until the lead registers it in gridmap/cli/__init__.py
    main.add_command(report)

CASES = sample_path() / "cases.parquet"
STAFF = sample_path() / "staff.csv"


@pytest.fixture(scope="module")
def demo_gpkg(demo):
    return demo.gpkg  # gridmap demo's output, made once per test run (tests/conftest.py)


@pytest.fixture(scope="module")
def full_report(demo_gpkg, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "2025-12"
    result = CliRunner().invoke(main, ["report", str(demo_gpkg), "--out", str(out), "--cases", str(CASES),
                                       "--staff", str(STAFF)])
    assert result.exit_code == 0, result.output
    return out


def _street_cases_by_sjoin(grids: gpd.GeoDataFrame, month: str) -> pd.Series:
    """Cases of one month per street, put in grids with a plain geopandas spatial join."""
    cases = gpd.read_parquet(CASES)
    cases = cases.loc[pd.to_datetime(cases["reported_at"]).dt.strftime("%Y-%m") == month]
    joined = gpd.sjoin(cases.to_crs(grids.crs), grids[["community_code", "geometry"]], predicate="intersects")
    joined = joined.loc[~joined.index.duplicated()]  # a point on a shared edge counts once
    return joined.groupby(joined["community_code"].str[:9])["count"].sum()


@pytest.mark.slow
def test_report_writes_cockpit_street_maps_workbook_and_summary(full_report, demo_gpkg):
    grids = gpd.read_file(demo_gpkg, layer="grids")
    streets = sorted(grids["community_code"].str[:9].unique())
    assert sorted(p.name for p in full_report.iterdir()) == ["cockpit.html", "maps", "stats.xlsx",
                                                             "summary.html", "summary.md"]
    assert sorted(p.stem for p in (full_report / "maps").iterdir()) == streets
    for page in [full_report / "cockpit.html", *(full_report / "maps").iterdir()]:
        assert "<script src=" not in page.read_text(encoding="utf-8"), f"{page.name} is not self-contained"
    sheets = pd.read_excel(full_report / "stats.xlsx", sheet_name=None, engine="openpyxl")
    assert list(sheets) == ["社区", "街道", "区县"]
    summary = (full_report / "summary.md").read_text(encoding="utf-8")
    html = (full_report / "summary.html").read_text(encoding="utf-8")
    for code in streets:
        assert f"maps/{code}.html" in summary and f'href="maps/{code}.html"' in html


@pytest.mark.slow
def test_summary_figures_match_an_independent_count(full_report, demo_gpkg):
    grids = gpd.read_file(demo_gpkg, layer="grids")
    summary = (full_report / "summary.md").read_text(encoding="utf-8")
    assert "统计期: 2025-12" in summary  # the latest month of the sample's cases
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in summary.splitlines()
            if line.startswith("| 99")}
    expected = _street_cases_by_sjoin(grids, "2025-12")
    assert {code: int(row[5]) for code, row in rows.items()} == expected.to_dict()
    households = grids.groupby(grids["community_code"].str[:9])["households"].sum()
    assert {code: int(row[3]) for code, row in rows.items()} == households.to_dict()
    overview = summary.split("## 概况")[1].splitlines()[4].split(" | ")
    assert int(overview[0].strip("| ")) == len(grids)
    assert int(overview[4].strip("| ")) == expected.sum()


@pytest.mark.slow
def test_one_street_published_in_english(demo_gpkg, tmp_path):
    grids = gpd.read_file(demo_gpkg, layer="grids")
    street = sorted(grids["community_code"].str[:9].unique())[0]
    out = tmp_path / "street"
    result = CliRunner().invoke(main, ["report", str(demo_gpkg), "--out", str(out), "--cases", str(CASES),
                                       "--street", street, "--publish", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert [p.stem for p in (out / "maps").iterdir()] == [street]
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# Grid management report") and "hidden" in summary
    sheets = pd.read_excel(out / "stats.xlsx", sheet_name=None, engine="openpyxl",
                           skipfooter=1)  # without the totals row
    communities = sheets["community"]
    assert set(communities["code"].astype(str).str[:9]) == {street}
    shown = pd.to_numeric(communities["cases"], errors="coerce").dropna()
    assert len(shown) and (shown >= 5).all(), "published counts below 5 are hidden"
    assert communities.loc[communities["cases"].isna(), "suppressed"].str.contains("cases").all()
    assert int(sheets["street"].groupby("period")["n_grids"].first().iloc[0]) == \
        int(grids["community_code"].str.startswith(street).sum())


def test_report_without_cases_has_no_case_columns(demo_gpkg, tmp_path):
    plain = tmp_path / "plain.gpkg"
    for layer in ("grids", "streets"):
        gpd.read_file(demo_gpkg, layer=layer).to_file(plain, layer=layer)
    out = tmp_path / "plain"
    result = CliRunner().invoke(main, ["report", str(plain), "--out", str(out), "--street", "990121200"])
    assert result.exit_code == 0, result.output
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "事件数" not in summary and "全部事件" in summary and "坡林乡" in summary


def test_a_failed_report_writes_nothing(demo_gpkg, tmp_path):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("old", encoding="utf-8")
    result = CliRunner().invoke(main, ["report", str(demo_gpkg), "--out", str(out), "--street", "990199999"])
    assert result.exit_code == 2
    assert "no grid lies in street 990199999" in result.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["existing"], "no staging folder left behind"


@pytest.mark.slow
def test_report_reads_cases_and_staff_layers_of_the_file(demo_gpkg, tmp_path):
    out = tmp_path / "from-file"
    result = CliRunner().invoke(main, ["report", str(demo_gpkg), "--out", str(out), "--street", "990102001"])
    assert result.exit_code == 0, result.output
    summary = (out / "summary.md").read_text(encoding="utf-8")
    layers = [name for name, _ in pyogrio.list_layers(demo_gpkg)]
    assert ("事件数" in summary) == ("cases" in layers)
    assert ("专职网格员户数" in summary) == ("staff" in layers)


def test_report_maps_carry_the_tiles_of_an_mbtiles_file(demo_gpkg, tmp_path):
    from tiles_fixtures import city_tiles, write_mbtiles

    tiles = write_mbtiles(tmp_path / "城市.mbtiles", city_tiles((108.234, 22.734, 108.364, 22.869), [10, 11]))
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", str(demo_gpkg), "--out", str(out), "--street", "990102001",
                                       "--tiles", str(tiles), "--tiles-crs", "wgs84"])
    assert result.exit_code == 0, result.output
    for page in [out / "cockpit.html", *(out / "maps").iterdir()]:
        text = page.read_text(encoding="utf-8")
        assert "L.TileLayer.extend" in text and '"11/' in text and "<script src=" not in text, page.name
    refused = CliRunner().invoke(main, ["report", str(demo_gpkg), "--out", str(tmp_path), "--tiles",
                                        str(tiles), "--tiles-crs", "wgs84"])
    assert refused.exit_code == 2 and "--tiles" in refused.output and tiles.exists()
