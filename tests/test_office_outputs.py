"""What a grid office hands out (issue 19): a chosen report period, phone pages per community, finished
Excel files, secondary suppression, and the small things a new user sees."""

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from gridmap.cli import main
from gridmap.datasets import sample_path

CASES = sample_path() / "cases.parquet"
PATROLS = sample_path() / "patrols.parquet"  # a week of GPS tracks in street 990102001
STREET = "990102001"


@pytest.fixture(scope="module")
def demo_gpkg(demo):
    """The run's ``gridmap demo --out demo`` (tests/conftest.py): read, never changed."""
    return demo.gpkg


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
@pytest.mark.slow
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


# --- 3. finished Excel files ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def city(demo_gpkg):
    from gridmap.cli.options import read_city

    return read_city(str(demo_gpkg))


def _levels(city, **options):
    from gridmap.stats.summary import summarize_levels

    names = [city["communities"], city["streets"], city["districts"]]
    return summarize_levels(city["grids"], city["cases"], city["staff"],
                            levels=("community", "street", "district"), names=names, **options)


def _sheet_frame(sheet):
    rows = list(sheet.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:-1], columns=rows[0]), rows[-1]


@pytest.mark.parametrize("period", [None, "month"])
def test_stats_workbook_looks_finished(city, tmp_path, period):
    import openpyxl

    from gridmap.stats.summary import write_stats

    tables = _levels(city, period=period)
    path = write_stats(tables, tmp_path / "stats.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["社区", "街道", "区县"]
    for level, sheet in zip(("community", "street", "district"), book.worksheets, strict=True):
        table, totals = _sheet_frame(sheet)
        header = [cell.value for cell in sheet[1]]
        assert header[:2] == ["编码", "名称"] and "户数" in header and "响应率" in header
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}{len(table) + 1}"
        formats = {name: sheet.cell(2, i + 1).number_format for i, name in enumerate(header)}
        assert formats["户数"] == formats["事件数"] == "#,##0"
        assert formats["响应率"] == formats["网格办结占比"] == "0.0%"
        for position, name in enumerate(header, start=1):  # fitted: the widest text, CJK counted double
            width = sheet.column_dimensions[sheet.cell(1, position).column_letter].width
            assert width >= min(len(name.encode("gbk")) + 2, 60), name
        assert sheet.column_dimensions["B"].width >= 2 * table["名称"].str.len().max()
        totals = dict(zip(header, totals, strict=True))
        assert totals["编码"] == "合计"
        assert totals["事件数"] == table["事件数"].sum() == tables[level]["cases"].sum()
        one_period = table.drop_duplicates("编码")
        for column in ("网格数", "户数", "人口", "专职网格员"):
            assert totals[column] == one_period[column].sum(), column
        assert totals["每千人事件数"] == pytest.approx(1000 * totals["事件数"] / totals["人口"])
        assert totals["人口密度(人/平方公里)"] == pytest.approx(totals["人口"] / totals["面积(平方公里)"])
        accepted = (table["响应率"] * table["事件数"]).sum()
        assert totals["响应率"] == pytest.approx(accepted / totals["事件数"])
        assert totals["网格办结占比"] is None, "a share cannot be recomputed from the table: left empty"
        assert sheet.cell(sheet.max_row, 1).font.bold


def test_workbook_keeps_numbers_numeric_and_formulas_out(tmp_path):
    import openpyxl

    from gridmap.io.write import write_workbook

    table = pd.DataFrame({"名称": ["=1+1", "@SUM(A1)", "翠竹苑小区第一网格"], "户数": [1200, -5, 0],
                          "上报时间": pd.to_datetime(["2025-01-02 09:30", "2025-01-03 00:00", None]),
                          "日期": pd.to_datetime(["2025-01-02", "2025-01-03", "2025-01-04"])})
    path = write_workbook({"网格": table}, tmp_path / "a.xlsx",
                          totals={"网格": {"名称": "-合计", "户数": 1195}})
    sheet = openpyxl.load_workbook(path)["网格"]
    names = [sheet.cell(r, 1).value for r in range(2, 6)]
    assert names == ["'=1+1", "'@SUM(A1)", "翠竹苑小区第一网格", "'-合计"]
    assert [sheet.cell(r, 2).value for r in range(2, 6)] == [1200, -5, 0, 1195]
    assert sheet["B2"].number_format == "#,##0"
    assert sheet["C2"].number_format == "yyyy-mm-dd hh:mm" and sheet["D2"].number_format == "yyyy-mm-dd"
    assert sheet.column_dimensions["A"].width == 2 * len("翠竹苑小区第一网格") + 2
    assert sheet.auto_filter.ref == "A1:D4" and sheet.freeze_panes == "A2"


# --- 2. a phone page per community ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def phone_pages(demo_gpkg, tmp_path_factory):
    """The street's phone pages, with the patrol coverage and the tracks of the sample's week of patrols."""
    out = tmp_path_factory.mktemp("phone") / "phone"
    result = CliRunner().invoke(main, ["map", str(demo_gpkg), "--per-community", str(out),
                                       "--street", STREET, "--patrols", str(PATROLS)])
    assert result.exit_code == 0, result.output
    assert "index.html and 6 community pages, 2 layers for people and field work" in result.output
    return out


def _tracks_spec(page: str) -> dict:
    import json
    import re

    key = re.search(r'gridmap\.overlay\((\{"key":"overlay_tracks_\d+".*?\}), \w+\);\n', page)
    return json.loads(key.group(1))


def test_each_phone_page_draws_the_tracks_through_its_grids(phone_pages, demo_gpkg):
    import numpy as np
    import shapely

    from gridmap.fieldwork import read_patrols, summarize_patrols
    from gridmap.findings import Report
    from gridmap.maps._topology import decode_numbers

    grids = gpd.read_file(demo_gpkg, layer="grids").to_crs("EPSG:4326")
    grids = grids[grids["community_code"].str.startswith(STREET).to_numpy()]
    tracks = summarize_patrols(read_patrols(PATROLS), grids, report=Report("patrols")).tracks
    for community, own in grids.groupby("community_code"):
        through = tracks[tracks.intersects(own.union_all()).to_numpy()]
        spec = _tracks_spec((phone_pages / f"{community}.html").read_text(encoding="utf-8"))
        assert len(spec["features"]) == len(through) > 10, community
        assert spec["fields"] == ["人员", "日期", "主要所在网格", "轨迹长度", "定位点数", "时长"]
        shown = sorted((f["v"][2], f["v"][5]) for f in spec["features"])
        assert shown == sorted(zip(through["day"], through["points"], strict=True))
        for feature in spec["features"]:
            lines = [np.cumsum(np.reshape(decode_numbers(t), (-1, 2)), axis=0) / spec["lineScale"]
                     for t in feature["lines"]]
            assert shapely.multilinestrings([shapely.linestrings(line) for line in lines]).intersects(
                own.union_all()), feature["v"]
            assert feature["v"][1] == "巡查人员"  # no roster given: no role known, no name


def test_per_community_writes_a_light_page_per_community_and_an_index(phone_pages, demo_gpkg):
    grids = gpd.read_file(demo_gpkg, layer="grids")
    codes = sorted(grids.loc[grids["community_code"].str.startswith(STREET), "community_code"].unique())
    written = sorted(p.name for p in phone_pages.iterdir())
    assert written == sorted([f"{c}.html" for c in codes] + ["index.html"])
    index = (phone_pages / "index.html").read_text(encoding="utf-8")
    communities = gpd.read_file(demo_gpkg, layer="communities").set_index("code")["name"]
    for code in codes:
        page = phone_pages / f"{code}.html"
        text = page.read_text(encoding="utf-8")
        assert page.stat().st_size <= 300_000, f"{page.name} is {page.stat().st_size} bytes"
        assert 'name="viewport"' in text and "<script src=" not in text
        assert f"<title>{communities[code]}</title>" in text and 'href="index.html"' in text
        assert f'href="{code}.html"' in index and communities[code] in index
    assert 'name="viewport" content="width=device-width' in index and 'type="search"' in index


def test_per_community_replaces_the_folder_whole_or_not_at_all(demo_gpkg, tmp_path):
    out = tmp_path / "phone"
    out.mkdir()
    (out / "index.html").write_text("old", encoding="utf-8")
    result = CliRunner().invoke(main, ["map", str(demo_gpkg), "--per-community", str(out),
                                       "--street", "990199999"])
    assert result.exit_code == 2 and "990199999" in result.output
    assert [p.name for p in out.iterdir()] == ["index.html"]
    assert (out / "index.html").read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["phone"], "no staging folder left behind"
    result = CliRunner().invoke(main, ["map", str(demo_gpkg), "--per-community", str(out), "--out", "a.html"])
    assert result.exit_code == 2 and "--per-community" in result.output


@pytest.mark.browser
def test_phone_index_search_filters_and_a_page_opens_offline_at_360px(phone_pages, browser):
    from browser import assert_clean, open_offline

    page, log = open_offline(browser, phone_pages / "index.html", width=360, height=740)
    visible = "() => [...document.querySelectorAll('#pages li')].filter(li => !li.hidden).length"
    assert page.evaluate(visible) == 6
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling"
    page.fill("#search", "桃源")
    assert page.evaluate(visible) == 1 and "共 1 个" in page.inner_text("#count")
    page.fill("#search", "990102001006")
    assert page.evaluate(visible) == 1
    page.fill("#search", "没有这个社区")
    assert page.evaluate(visible) == 0 and page.is_visible("#none")
    page.fill("#search", "桃源")
    with page.expect_navigation():
        page.click("#pages li:not([hidden]) a")
    page.wait_for_load_state("load")
    assert page.url.endswith("990102001003.html")
    assert page.evaluate("gridmap.maps.length") >= 1
    assert "桃源社区" in page.inner_text("body")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    drawn = "gridmap.grid.polygons.filter(p => p && p._renderer && p._renderer._layers[L.stamp(p)])"
    drawn += ".length"
    assert page.evaluate(drawn) == 8, "the community's 8 grids are drawn"
    assert_clean(log)
    page.close()


@pytest.mark.browser
def test_phone_page_tracks_are_off_until_ticked_then_drawn_offline(phone_pages, browser):
    from browser import assert_clean, open_offline

    path = phone_pages / "990102001006.html"
    key = _tracks_spec(path.read_text(encoding="utf-8"))["key"]
    count = len(_tracks_spec(path.read_text(encoding="utf-8"))["features"])
    page, log = open_offline(browser, path, width=360, height=740)
    try:
        label = page.locator(".leaflet-control-layers-overlays label", has_text="巡查轨迹")
        assert label.count() == 1 and not label.locator("input").is_checked()
        assert page.evaluate(f"gridmap.maps[0].hasLayer(gridmap.layers['{key}'])") is False
        page.hover(".leaflet-control-layers")
        label.locator("input").click()
        assert label.locator("input").is_checked()
        assert page.evaluate(f"gridmap.maps[0].hasLayer(gridmap.layers['{key}'])") is True
        lines = page.evaluate(f"""() => gridmap.layers["{key}"].getLayers().map(l => [
            l instanceof L.Polyline && !(l instanceof L.Polygon), l._parts.length > 0])""")
        assert len(lines) == count > 50 and all(kind for kind, _ in lines)
        assert sum(shown for _, shown in lines) > count / 2  # on screen: clipped to the view, not empty
        legend = page.evaluate("[...document.querySelectorAll('.gridmap-legend [data-layer]')]"
                               ".filter(e => e.style.display !== 'none').map(e => e.textContent)")
        assert legend == ["巡查轨迹", "巡查轨迹（每人每天一条）"]
        assert_clean(log)
    finally:
        page.close()


# --- 4. secondary suppression ---------------------------------------------------------------------------

def _exposed(true: dict, published: dict, column: str, threshold: int = 5) -> list:
    """Hidden cells an attacker can solve back from everything published (by linear programming).

    The attacker knows every shown cell at every level, that a parent's count is the sum of its
    children's (community → street → district → the whole area, whose total is shown when at least the
    threshold), and that a hidden cell lies in [0, threshold - 1] when below the threshold and in
    [threshold, ∞) otherwise. A hidden cell is exposed when its smallest and largest feasible values
    differ by less than one. Hidden cells that share no equation constrain each other in no way, so each
    connected group of them is solved on its own (the same answer, far smaller programs).
    """
    exposed = []
    periods = true["district"]["period"].unique() if "period" in true["district"].columns else [None]
    for period in periods:
        cells, hidden, equations = _attacker_view(true, published, column, period, threshold)
        for group in _connected(equations, [key for key in hidden if hidden[key]]):
            exposed += [(period, *found) for found in _solved_back(group, equations, cells, threshold)]
    return exposed


def _attacker_view(true: dict, published: dict, column: str, period, threshold: int):
    """Every cell's true value, whether it is hidden, and the equations parent - sum(children) = 0."""
    parents = {"community": "street_code", "street": "district_code"}
    cells, hidden, children = {}, {}, {}
    for level, table in true.items():
        rows = table if period is None else table.loc[table["period"] == period]
        shown = published[level].loc[rows.index, column]
        for code, value, is_hidden in zip(rows["code"], rows[column], shown.isna(), strict=True):
            cells[(level, code)] = float(value)
            hidden[(level, code)] = bool(is_hidden)
        if level in parents:
            for code, parent in zip(rows["code"], rows[parents[level]], strict=True):
                children.setdefault(parent, []).append((level, code))
    tops = [key for key in hidden if key[0] == "district"]
    area = sum(cells[key] for key in tops)  # withheld when every district's count is hidden (rule 6)
    cells[("area", "")] = area
    hidden[("area", "")] = area < threshold or all(hidden[key] for key in tops)
    equations = [[(key, 1.0)] + [(child, -1.0) for child in children.get(key[1], [])]
                 for key in hidden if key[0] in ("street", "district")]
    equations.append([(("area", ""), 1.0)] + [(key, -1.0) for key in tops])
    return cells, hidden, equations


def _connected(equations: list, unknown: list) -> list[list]:
    """The unknowns in groups that share equations (union-find)."""
    root = {key: key for key in unknown}

    def find(key):
        while root[key] != key:
            root[key] = root[root[key]]
            key = root[key]
        return key

    for terms in equations:
        keys = [find(key) for key, _ in terms if key in root]
        for key in keys[1:]:
            root[key] = keys[0]
    groups: dict = {}
    for key in unknown:
        groups.setdefault(find(key), []).append(key)
    return list(groups.values())


def _solved_back(unknown: list, equations: list, cells: dict, threshold: int) -> list:
    """(cell, true value, smallest, largest) of the cells of one group whose feasible range is under one."""
    from scipy.optimize import linprog

    position = {key: i for i, key in enumerate(unknown)}
    a_eq, b_eq = [], []
    for terms in equations:
        if not any(key in position for key, _ in terms):
            continue
        row, rhs = [0.0] * len(unknown), 0.0
        for key, weight in terms:
            if key in position:
                row[position[key]] += weight
            else:
                rhs -= weight * cells[key]
        a_eq.append(row)
        b_eq.append(rhs)
    bounds = [(0, threshold - 1) if cells[key] < threshold else (threshold, None) for key in unknown]

    def solve(objective: list[float]):
        return linprog(objective, A_eq=a_eq or None, b_eq=b_eq or None, bounds=bounds)

    # Every feasible point seen widens each cell's known range; a cell seen at two values one apart or more
    # is safe without a program of its own (the true values are one such point).
    seen_low = [cells[key] for key in unknown]
    seen_high = list(seen_low)

    def widen(point) -> None:
        for i, value in enumerate(point):
            seen_low[i], seen_high[i] = min(seen_low[i], value), max(seen_high[i], value)

    for sign in (1.0, -1.0):  # the group's smallest and largest total: most cells move between the two
        result = solve([sign] * len(unknown))
        if result.status == 0:
            widen(result.x)
    found = []
    for i, key in enumerate(unknown):
        if seen_high[i] - seen_low[i] >= 1 - 1e-6:
            continue
        objective = [0.0] * len(unknown)
        objective[i] = 1.0
        least = solve(objective)
        widen(least.x)
        most = solve([-x for x in objective])
        if most.status == 3:  # unbounded
            continue
        widen(most.x)
        if most.x[i] - least.x[i] < 1 - 1e-6:
            found.append((key, cells[key], least.fun, -most.fun))
    return found


def _hierarchy(counts: list[list[list[int]]], periods: int) -> dict:
    """Community, street and district tables of made-up case counts (district → street → community)."""
    rows = []
    for d, streets in enumerate(counts):
        for s, communities in enumerate(streets):
            for c, value in enumerate(communities):
                for p in range(periods):
                    rows.append({"code": f"9901{d:02d}{s:03d}{c:03d}", "street_code": f"9901{d:02d}{s:03d}",
                                 "district_code": f"9901{d:02d}", "period": f"2025-0{p + 1}",
                                 "cases": (value * (p + 3)) % 13})
    community = pd.DataFrame(rows)
    street = community.groupby(["street_code", "period"], as_index=False).agg(
        district_code=("district_code", "first"), cases=("cases", "sum"))
    street = street.rename(columns={"street_code": "code"})
    district = community.groupby(["district_code", "period"], as_index=False)["cases"].sum().rename(
        columns={"district_code": "code"})
    return {"community": community, "street": street[["code", "district_code", "period", "cases"]],
            "district": district}


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_COUNTS = st.lists(st.lists(st.lists(st.integers(0, 12), min_size=1, max_size=4), min_size=1, max_size=3),
                   min_size=1, max_size=2)


@settings(max_examples=40, deadline=None)
@given(counts=_COUNTS, periods=st.integers(1, 2))
@pytest.mark.slow
def test_no_suppressed_count_can_be_solved_back(counts, periods):
    from gridmap.stats.summary import _published

    true = _hierarchy(counts, periods)
    published = _published(true, 5)
    for level, table in published.items():
        small = true[level]["cases"] < 5
        assert table.loc[small, "cases"].isna().all(), f"{level}: a small count is shown"
        shown = table["cases"].notna()
        assert (table.loc[shown, "cases"] == true[level].loc[shown, "cases"]).all(), "shown counts are true"
    assert _exposed(true, published, "cases") == []


def test_the_attacker_solves_back_a_count_hidden_alone():
    true = _hierarchy([[[3, 40], [7, 9]]], periods=1)  # one district, two streets of two communities
    published = {level: table.copy() for level, table in true.items()}
    first = published["community"]["code"] == "990100000000"
    published["community"].loc[first, "cases"] = None  # hidden alone: its street total gives it away
    exposed = _exposed(true, published, "cases")
    assert [(key, value) for _, key, value, _, _ in exposed] == [
        (("community", "990100000000"), float(true["community"].loc[first, "cases"].iloc[0]))]
    assert exposed[0][3] == pytest.approx(exposed[0][4])  # smallest and largest feasible value agree


def test_secondary_suppression_hides_a_complement_in_the_same_group():
    from gridmap.stats.summary import suppress_small_counts

    table = pd.DataFrame({"code": ["a1", "a2", "a3", "b1", "b2"], "street_code": ["a", "a", "a", "b", "b"],
                          "cases": [3, 40, 9, 0, 0], "cases_per_1000": [1.0, 2.0, 3.0, 0.0, 0.0]})
    out = suppress_small_counts(table)
    assert out["cases"].isna().tolist() == [True, False, True, True, True]  # 9, the smallest shown in a
    assert out.loc[2, "suppressed"] == "cases, cases_per_1000"
    primary = suppress_small_counts(table, secondary=False)
    assert primary["cases"].isna().tolist() == [True, False, False, True, True]


def test_a_change_on_a_hidden_base_is_hidden():
    from gridmap.stats.summary import suppress_small_counts

    table = pd.DataFrame({"code": ["a"] * 3 + ["b"] * 3, "period": ["2025-01", "2025-02", "2025-03"] * 2,
                          "cases": [3, 30, 33, 2, 20, 22],
                          "cases_change_mom": [None, 9.0, 0.1, None, 9.0, 0.1]})
    table.attrs["period"] = "month"
    out = suppress_small_counts(table)
    assert out["cases"].isna().tolist() == [True, False, False, True, False, False]
    assert out["cases_change_mom"].isna().tolist() == [True, True, False, True, True, False]


@pytest.mark.slow
def test_published_report_tables_reveal_no_hidden_count(city):
    tables = _levels(city, period="month")
    published = _levels(city, period="month", publish=True)
    for column in ("cases", "closed", "open", "overdue"):
        assert _exposed(tables, published, column) == [], column


# --- 5. what a new user sees ----------------------------------------------------------------------------

def test_legend_marks_the_layers_hidden_when_the_page_opens(city):
    from gridmap.maps.onescreen import build_one_screen

    admin = {name: city[name] for name in ("communities", "streets", "districts")}
    for focus, hidden in ((None, True), ("990102001003", False)):
        built = build_one_screen(city["grids"], units=city["units"], focus=focus, **admin)
        page = built.map.get_root().render()
        shown = {layer.layer_name: layer.show for layer in built.map._children.values()
                 if getattr(layer, "layer_name", None) in ("住宅小区", "自然村/屯", "小区/自然村")}
        assert ("住宅小区（默认隐藏，在图层菜单中打开）" in page) == hidden
        assert all(show is not hidden for show in shown.values())


def test_readme_case_figures_agree_with_the_sample_and_the_cockpit(demo_gpkg):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    cases = gpd.read_parquet(CASES)
    assert f"{len(cases):,} case records" in readme
    assert f"{int(cases['count'].sum()):,} cases" in readme
    cockpit = (demo_gpkg.parent / "cockpit.html").read_text(encoding="utf-8")
    assert f"{int(cases['count'].sum()):,}" in cockpit


def test_summary_and_batch_index_have_a_viewport(demo_gpkg, tmp_path):
    import importlib.util
    from pathlib import Path

    out = tmp_path / "r"
    result = CliRunner().invoke(main, ["report", str(demo_gpkg), "--out", str(out), "--street", STREET])
    assert result.exit_code == 0, result.output
    assert '<meta name="viewport" content="width=device-width' in (out / "summary.html").read_text("utf-8")
    script = Path(__file__).resolve().parents[1] / "scripts" / "batch_maps.py"
    spec = importlib.util.spec_from_file_location("batch_maps", script)
    batch_maps = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(batch_maps)
    index = batch_maps.index_page({"districts": [], "streets": []})
    assert '<meta name="viewport" content="width=device-width' in index


def _blocks():
    from shapely.geometry import box

    communities = gpd.GeoDataFrame({"code": ["450102001003"], "name": ["兴宁社区"]},
                                   geometry=[box(0, 0, 600, 300)], crs="EPSG:4547")
    units = gpd.GeoDataFrame({"unit_id": ["u1", "u2", "u3"], "name": ["甲小区", "乙小区", "丙小区"],
                              "kind": ["compound"] * 3, "households": [350, 420, 380],
                              "population": [900, 1100, 1000]},
                             geometry=[box(10, 10, 190, 290), box(210, 10, 390, 290), box(410, 10, 590, 290)],
                             crs="EPSG:4547")
    return communities, units


def test_build_says_what_a_cli_user_can_do_and_counts_in_words():
    import warnings

    from gridmap import build_grids

    communities, units = _blocks()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build = build_grids(communities, units.assign(population=[900, None, 1000]))  # missing_count
    messages = [str(w.message) for w in caught if str(w.message).startswith("grid build:")]
    assert messages and all("build.report" not in m and "'report' layer" in m for m in messages)
    assert "in 1 community," in repr(build) and "1 communities" not in build._repr_html_()


def test_unknown_buildings_are_unknown_not_zero(city):
    from gridmap import build_grids
    from gridmap.maps import one_screen, to_html

    communities, units = _blocks()
    build = build_grids(communities, units)
    assert build.grids["buildings"].isna().all(), "no unit gives buildings: unknown, not 0"
    assert "the grids' buildings are unknown" in " ".join(build.report.to_frame()["message"])
    page = to_html(one_screen(build.grids))
    assert "未知" in page
    known = build_grids(communities, units.assign(buildings=[3, 4, 5]))
    assert known.grids["buildings"].tolist() == [3, 4, 5]


def test_check_gives_builds_reason_instead_of_contradicting_it(demo_gpkg, tmp_path):
    out = tmp_path / "findings.csv"
    result = CliRunner().invoke(main, ["check", str(demo_gpkg), "--out", str(out)])
    assert result.exit_code in (0, 1), result.output
    findings = pd.read_csv(out)
    flagged = findings.loc[findings["check"] == "households_out_of_range"]
    grids = gpd.read_file(demo_gpkg, layer="grids").set_index("code")
    assert len(flagged)
    for row in flagged.itertuples():
        note = grids.loc[str(row.record), "note"]
        assert f"gridmap build left it so because it is {note}" in row.message
        assert not row.message.endswith("Fix: split it") and "merge it with a neighbouring" not in row.message


def test_a_count_of_one_is_singular(tmp_path):
    """"1 communities" (issue 19) was fixed in build; the English phone index and the CLI said it too."""
    from shapely.geometry import box

    from gridmap.cli._output import counted
    from gridmap.maps.pages import index_page

    entry = {"code": "450102001003", "name": "Cuizhu", "street": "Minzhu", "file": "a.html", "grids": 1,
             "households": 1, "population": 1}
    one, two = index_page([entry], lang="en"), index_page([entry, entry], lang="en")
    assert ">1 community</p>" in one and 'data-one="{n} community"' in one and ">2 communities</p>" in two
    assert "1 grid · 1 household · 1 person" in one and "1 grids" not in one
    assert "共 1 个社区（村）" in index_page([entry])
    assert [counted(n, "grid") for n in (0, 1, 2, 1234)] == ["0 grids", "1 grid", "2 grids", "1,234 grids"]
    grids = gpd.GeoDataFrame({"code": ["450102001003001"], "community_code": ["450102001003"],
                              "population": [800]}, geometry=[box(108.3, 22.8, 108.31, 22.81)],
                             crs="EPSG:4490")
    grids.to_file(tmp_path / "one.gpkg", layer="grids")
    out = tmp_path / "one.html"
    result = CliRunner().invoke(main, ["map", str(tmp_path / "one.gpkg"), "--out", str(out)])
    assert result.exit_code == 0 and result.output.strip() == f"wrote {out} (map of 1 grid)", result.output
    (tmp_path / "one.csv").write_text("code\n450102001003001\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["codes", "validate", str(tmp_path / "one.csv")])
    assert result.stdout == f"{tmp_path / 'one.csv'}: 1 code, all valid\n", result.output


@pytest.mark.slow
@pytest.mark.browser
def test_cockpit_fills_its_columns_and_reads_clearly(demo_gpkg, browser):
    from browser import open_offline

    for width, height in ((1920, 1080), (1280, 720)):
        page, _ = open_offline(browser, demo_gpkg.parent / "cockpit.html", width=width, height=height)
        boxes = page.evaluate("""() => Object.fromEntries(["body", ".cockpit-left", ".cockpit-chart",
            ".cockpit-chart svg", ".cockpit-top", ".cockpit-top table"].map(s => {
              const r = document.querySelector(s).getBoundingClientRect();
              return [s, {top: r.top, bottom: r.bottom}];
            }))""")
        left, chart, svg = boxes[".cockpit-left"], boxes[".cockpit-chart"], boxes[".cockpit-chart svg"]
        assert chart["bottom"] == pytest.approx(left["bottom"], abs=1), "the chart panel fills the column"
        assert svg["bottom"] <= chart["bottom"] + 1, "the chart is not cut off"
        top, table = boxes[".cockpit-top"], boxes[".cockpit-top table"]
        assert top["bottom"] - table["bottom"] < 30, "no empty band under the top-grids table"
        assert page.evaluate("document.documentElement.scrollHeight") <= height, "the page does not scroll"
        if width == 1920:  # every panel whole, the patrol panel last in the right column included
            cut = page.evaluate("""() => [".cockpit-left", ".cockpit-field", ".cockpit-right",
                ".cockpit-patrols"].filter(s => { const e = document.querySelector(s);
                  return e.scrollHeight > e.clientHeight + 1
                         || e.getBoundingClientRect().bottom > window.innerHeight; })""")
            assert cut == [], cut
        colors = page.evaluate("""() => [".cockpit-card .label", ".cockpit-top th", ".cockpit-head span"]
            .map(s => getComputedStyle(document.querySelector(s)).color)""")
        for color in colors:
            assert _contrast(color, "rgb(18, 48, 90)") >= 7, color  # WCAG AAA on the panels' blue
        page.close()


def _contrast(first: str, second: str) -> float:
    def luminance(color: str) -> float:
        channels = [int(v) / 255 for v in color[color.index("(") + 1:color.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
