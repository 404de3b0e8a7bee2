"""The cockpit page without a browser: every figure equals one computed here with geopandas and pandas."""

import html
import os
import re

import geopandas as gpd
import pandas as pd
import pytest
from maps_fixtures import sample_city

from gridmap.errors import GridmapError, WriteError
from gridmap.maps import cockpit, save_cockpit
from gridmap.maps.cockpit import month_chart

PERIOD = "2025-06"
UTM49 = "EPSG:32649"
START, END = pd.Timestamp("2025-06-01"), pd.Timestamp("2025-07-01")


@pytest.fixture(scope="module")
def city():
    return sample_city()


@pytest.fixture(scope="module")
def page(city):
    sample, grids = city
    return cockpit(grids, cases=sample.cases, staff=sample.staff, communities=sample.communities,
                   streets=sample.streets, districts=sample.districts, units=sample.units, period=PERIOD,
                   title="示例市 驾驶舱")


@pytest.fixture(scope="module")
def located(city):
    """Every case with the code of the grid it lies in (geopandas sjoin), cases outside the grids dropped."""
    sample, grids = city
    joined = gpd.sjoin(sample.cases, grids[["code", "geometry"]].to_crs(sample.cases.crs), predicate="within")
    assert not joined.index.duplicated().any()
    return pd.DataFrame(joined.drop(columns="geometry"))


def cards(page: str) -> dict:
    """Headline cards: label -> (value, detail)."""
    found = re.findall(r'<div class="cockpit-card"><div class="label">(.*?)</div><div class="value">(.*?)'
                       r'(?:<small>.*?</small>)?</div>(?:<div class="detail">(.*?)</div>)?</div>', page)
    return {html.unescape(label): (html.unescape(value), html.unescape(detail))
            for label, value, detail in found}


def table(page: str) -> list[list[str]]:
    body = re.search(r'<section class="cockpit-right.*?<tbody>(.*?)</tbody>', page, re.DOTALL).group(1)
    return [[html.unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr data-grid=\"\d+\">(.*?)</tr>", body)]


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


def test_headline_figures_equal_an_independent_computation(city, page, located):
    sample, grids = city
    shown = cards(page)
    counts = grids["type"].value_counts()
    assert shown["网格"][0] == f"{len(grids):,}"
    labels = {"city": "城市网格", "rural": "农村网格", "dedicated": "专属网格"}
    detail = " · ".join(f"{labels[kind]} {counts[kind]}" for kind in labels if kind in counts)
    assert shown["网格"][1] == detail
    assert shown["人口"][0] == f"{grids['population'].sum():,}"
    assert shown["户数"][0] == f"{grids['households'].sum():,}"

    june = located[(located["reported_at"] >= START) & (located["reported_at"] < END)]
    weight = june["count"]
    assert shown["案件"] == (f"{weight.sum():,}", PERIOD)
    accepted = june["accepted_at"].notna()
    assert number(shown["响应率"][0]) == pytest.approx(100 * weight[accepted].sum() / weight.sum(), abs=0.05)
    # 接单不过夜: accepted on the day of the report; a case not accepted is due once its day has passed by the
    # latest time in the data (the sample has no impossible times, which stats would leave out)
    at = june[["reported_at", "accepted_at", "closed_at"]].max().max()
    deadline = june["reported_at"].dt.normalize() + pd.Timedelta(days=1)
    due = accepted | (deadline <= at)
    in_time = june["accepted_at"] < deadline
    assert number(shown["当日接单率"][0]) == pytest.approx(
        100 * weight[due & in_time].sum() / weight[due].sum(), abs=0.05)
    closed = june["status"] == "closed"
    assert number(shown["网格内办结"][0]) == pytest.approx(
        100 * weight[closed & (june["level"] == "grid")].sum() / weight[closed & june["level"].notna()].sum(),
        abs=0.05)
    staff = sample.staff[sample.staff["grid_code"].isin(grids["code"])]
    posts = staff["role"].value_counts()
    detail = f"网格长 {posts['leader']} · 定岗网格员 {posts['member']}"
    assert shown["专职网格员"] == (f"{posts['full_time']:,}", detail)


def test_monthly_chart_counts_every_case_by_month(page, located):
    months = located.groupby(located["reported_at"].dt.to_period("M"))["count"].sum()
    bars = re.findall(r"<title>(\d+)月: ([\d,]+)</title>", page)
    assert [int(month) for month, _ in bars] == [p.month for p in months.index]
    assert [number(value) for _, value in bars] == months.tolist()
    highlighted = re.findall(r'fill="#ffd36b"><title>(\d+)月', page)
    assert highlighted == ["6"]


def test_top_grids_are_those_with_the_most_cases_per_km2(city, page, located):
    _, grids = city
    june = located[(located["reported_at"] >= START) & (located["reported_at"] < END)]
    counts = june.groupby("code")["count"].sum().reindex(grids["code"]).fillna(0)
    density = pd.Series(counts.to_numpy() / (grids.to_crs(UTM49).area.to_numpy() / 1e6), index=grids["code"])
    rows = table(page)
    assert len(rows) == 15
    assert [int(row[0]) for row in rows] == list(range(1, 16))
    shown = [number(row[5]) for row in rows]
    assert shown == sorted(shown, reverse=True)
    names = dict(zip(city[0].communities["code"], city[0].communities["name"], strict=True))
    for row in rows:
        code = row[1]
        assert number(row[3]) == counts[code]
        assert number(row[5]) == pytest.approx(density[code], rel=5e-3, abs=0.06)
        assert row[2] == names[code[:12]]
    others = density.drop([row[1] for row in rows])
    assert others.max() <= min(shown) * 1.005 + 0.06


def test_rows_carry_the_position_of_their_grid_on_the_map(city, page):
    _, grids = city
    positions = [int(p) for p in re.findall(r'<tr data-grid="(\d+)">', page)]
    assert [grids["code"].iloc[p] for p in positions] == [row[1] for row in table(page)]


def test_page_is_self_contained_and_titled(page):
    assert "<title>示例市 驾驶舱</title>" in page and "<h1>示例市 驾驶舱</h1>" in page
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", page)
    assert "gridmap.gridLayer(" in page


def test_public_cockpit_hides_small_counts_and_people(city):
    sample, grids = city
    page = cockpit(grids, cases=sample.cases, staff=sample.staff, period=PERIOD, public=True)
    assert all(number(row[3]) >= 5 for row in table(page))
    assert "199-0000-" not in page and "gridmap.heat(" not in page
    assert not any(name in page for name in sample.staff["name"].head(100))
    assert "公开版" in page


def test_month_chart_marks_suppressed_months():
    monthly = pd.DataFrame({"period": ["2025-05", "2025-06"], "cases": [pd.NA, 12]})
    chart = month_chart(monthly, period="2025-06", lang="en")
    assert "<title>May: &lt;5</title>" in chart and 'fill="url(#cockpit-hatch)"' in chart
    assert "<title>Jun: 12</title>" in chart


def test_cockpit_without_cases_shows_people_and_grids(city):
    _, grids = city
    shown = cards(cockpit(grids, lang="en"))
    assert set(shown) == {"Grids", "Population", "Households"}
    assert shown["Population"][0] == f"{grids['population'].sum():,}"


def test_save_cockpit_is_atomic(tmp_path, city):
    sample, grids = city
    target = tmp_path / "cockpit.html"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(GridmapError, match="period="):
        save_cockpit(grids, target, cases=sample.cases, period="June")
    assert target.read_text(encoding="utf-8") == "old" and os.listdir(tmp_path) == ["cockpit.html"]
    save_cockpit(grids.head(20), target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert target.stat().st_mode & 0o777 == 0o644  # readable by others, like the file it replaced
    with pytest.raises(WriteError, match="folder"):
        save_cockpit(grids.head(5), tmp_path / "missing" / "cockpit.html")
    assert os.listdir(tmp_path) == ["cockpit.html"]
