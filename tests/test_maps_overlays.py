"""Layers for people and field work on the one-screen map and the cockpit, on small hand-made cities."""

from __future__ import annotations

import json
import re
import warnings

import geopandas as gpd
import pandas as pd
import people_fixtures as pf
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from maps_fixtures import small_grids
from shapely.geometry import Point, box

from gridmap.errors import GridmapError, GridmapWarning
from gridmap.fieldwork import analyse_escalation, patrol_zones, service_circles
from gridmap.maps import OVERLAYS, cockpit, one_screen, overlay, to_html
from gridmap.maps.overlays import OverlayLayer
from gridmap.people import check_liaison, check_staffing, party_coverage
from gridmap.stats import quality_index

UNCOVERED = "450102002001001"  # the grid of small_grids() without a grid party branch


# --- reading the page ---------------------------------------------------------------------------------------

def specs(page: str) -> list[dict]:
    """The spec of every overlay in the page, in order."""
    return [json.loads(text) for text in re.findall(r"gridmap\.overlay\((\{.*?\}), \w+\);\n", page)]


def grid_codes(page: str) -> list[str]:
    return json.loads(re.search(r"gridmap\.gridLayer\((\{.*?\})\);\n", page).group(1))["codes"]


def legend_items(page: str) -> list[dict]:
    text = re.search(r"gridmap\.measureLegend\(\w+, \w+,\s*(\{.*?\})\);\n", page, re.S).group(1)
    return json.loads(text)["items"]


def classes_by_code(page: str, spec: dict) -> dict[str, dict]:
    """Each grid feature's style, by grid code."""
    codes = grid_codes(page)
    return {codes[f["g"]]: spec["styles"][f["s"]] for f in spec["features"] if "g" in f}


def layers(fmap) -> list[OverlayLayer]:
    return [child for child in fmap._children.values() if isinstance(child, OverlayLayer)]


# --- a small city of three grids with a roster (tests/people_fixtures.py) -----------------------------------

def people_city() -> dict[str, gpd.GeoDataFrame]:
    """Grids U1, U2 (兴宁社区, street …001) and R1 (双安村, town …100) as boxes, with their areas."""
    grids = gpd.GeoDataFrame(pf.grids(), geometry=[box(108.30, 22.80, 108.31, 22.81),
                                                   box(108.31, 22.80, 108.32, 22.81),
                                                   box(108.32, 22.80, 108.33, 22.81)], crs="EPSG:4490")
    communities = gpd.GeoDataFrame({"code": [pf.COMM_U, pf.COMM_R], "name": ["兴宁社区", "双安村"]},
                                   geometry=[box(108.30, 22.80, 108.32, 22.81),
                                             box(108.32, 22.80, 108.33, 22.81)], crs="EPSG:4490")
    streets = gpd.GeoDataFrame({"code": [pf.STREET_U, pf.STREET_R], "name": ["民生街道", "双安镇"]},
                               geometry=list(communities.geometry), crs="EPSG:4490")
    districts = gpd.GeoDataFrame({"code": [pf.DISTRICT], "name": ["兴宁区"]},
                                 geometry=[box(108.30, 22.80, 108.33, 22.81)], crs="EPSG:4490")
    return {"grids": grids, "communities": communities, "streets": streets, "districts": districts}


@pytest.fixture(scope="module")
def staffing_page():
    city = people_city()
    grids = city.pop("grids")
    report = check_staffing(pf.roster_frame(), grids)
    made = overlay(report, kind="staffing")
    return {"grids": grids, "page": to_html(one_screen(grids, **city, overlays=[made])),
            "public": to_html(one_screen(grids, **city, overlays=[made], public=True))}


def test_staffing_layer_draws_the_grids_and_units_breaking_a_rule(staffing_page):
    page = staffing_page["page"]
    spec, = specs(page)
    styles = classes_by_code(page, spec)
    # U2 has 5 网格员 (at most 4): over a maximum; R1 has no 网格长 and 2 网格员 (at least 3): vacancies
    assert set(styles) == {pf.U2, pf.R1}
    assert styles[pf.R1]["fillColor"] == "#e31a1c" and styles[pf.U2]["fillColor"] == "#fd8d3c"
    outlined = sorted(f["v"][0] for f in spec["features"] if "geometry" in f)
    # 双安村 (辅警, 法律明白人), 双安镇 (乡镇级网格长) and the district (two 县级网格长) break rules
    assert outlined == [f"兴宁区 {pf.DISTRICT}", f"双安村 {pf.COMM_R}", f"双安镇 {pf.STREET_R}"]
    assert all(spec["styles"][f["s"]]["fill"] is False for f in spec["features"] if "geometry" in f)
    r1 = next(f["v"] for f in spec["features"] if f.get("g") == grid_codes(page).index(pf.R1))
    row = dict(zip(spec["fields"], r1[1:], strict=True))
    assert row["缺员（岗）"] == 1 and row["违反配备规则"] == 2 and row["专职网格员"] == "人员12"
    assert row["情况"].endswith("缺员 1（网格长、网格员）")


def test_staffing_popups_name_leaders_and_workers_only_and_never_a_phone_or_an_id(staffing_page):
    page, public = staffing_page["page"], staffing_page["public"]
    roster = pf.roster_frame()
    for value in pf.personal_values(roster):
        assert value not in page and value not in public
    named = {"人员6", "人员7", "人员12", "人员13"}  # U2's leader and worker, R1's full-time and member worker
    for name in named:
        assert re.search(f"{name}(?!\\d)", page) and not re.search(f"{name}(?!\\d)", public)
    doctor = roster.loc[roster["岗位"] == "医生(定岗)", "姓名"].iloc[0]  # a 定岗 doctor: counted, never named
    assert not re.search(f"{doctor}(?!\\d)", page)


def test_party_layer_colours_the_uncovered_grid_as_uncovered():
    grids = small_grids()
    branches = pd.DataFrame({"类型": ["网格党支部"] * 4, "党员数": [5, 6, 7, 8],
                             "网格编码": [c for c in grids["code"] if c != UNCOVERED]})
    coverage = party_coverage(grids, branches)
    page = to_html(one_screen(grids, overlays=[overlay(coverage, kind="party")]))
    spec, = specs(page)
    styles = classes_by_code(page, spec)
    assert len(spec["features"]) == len(grids) == 5
    assert styles[UNCOVERED]["fillColor"] == "#d73027"
    assert {styles[c]["fillColor"] for c in grids["code"] if c != UNCOVERED} == {"#1a9850"}
    by_code = {grid_codes(page)[f["g"]]: dict(zip(spec["fields"], f["v"][1:], strict=True))
               for f in spec["features"]}
    assert by_code[UNCOVERED]["网格党支部"] == 0 and by_code[UNCOVERED]["情况"] == "网格党支部：未建"
    assert by_code[grids["code"].iloc[0]]["党员"] == 5


def test_legend_lists_only_the_layers_given_and_each_is_off_when_the_page_opens():
    grids = small_grids()
    made = [overlay(grids.assign(covered=[True, True, True, False, True]), kind="party"),
            overlay(pd.DataFrame({"code": grids["code"], "patrol_coverage": [0.9, 0.5, 0.2, 1.0, None]}),
                    kind="patrols")]
    fmap = one_screen(grids, overlays=made)
    page = to_html(fmap)
    items = legend_items(page)
    tied = [item for item in items if "layer" in item]
    keys = [layer.key for layer in layers(fmap)]
    assert {item["layer"] for item in tied} == set(keys) and len(keys) == 2
    headings = [item["label"] for item in tied if item.get("heading")]
    assert headings == ["网格党支部覆盖", "巡查覆盖率"]
    assert not any("巡控区" in item["label"] or "步行圈" in item["label"] for item in items)
    party = [item["label"] for item in tied if item["layer"] == keys[0] and not item.get("heading")]
    assert party == ["已建网格党支部", "未建网格党支部"]
    patrols = [item["label"] for item in tied if item["layer"] == keys[1] and not item.get("heading")]
    assert patrols[-1] == "无数据" and len(patrols) == 5  # 4 distinct shares, one grid without
    assert all(layer.show is False for layer in layers(fmap))
    for layer in layers(fmap):  # folium adds a shown layer to the map; these wait for a tick
        assert f"{layer.get_name()}.addTo(" not in page


def test_liaison_layer_draws_the_units_without_a_liaison_of_the_level_above():
    city = people_city()
    grids = city.pop("grids")
    links = pd.DataFrame({"level": ["社区", "街道"], "unit_code": [pf.COMM_U, pf.STREET_U],
                          "linked_codes": [f"{pf.U1}、{pf.U2}", pf.U1]})
    page = to_html(one_screen(grids, **city, overlays=[overlay(check_liaison(links, grids), kind="liaison")]))
    spec, = specs(page)
    # U2 lacks a street leader, R1 both; no district leader links to a community, no city leader to a street
    assert set(classes_by_code(page, spec)) == {pf.U2, pf.R1}
    outlined = {f["v"][0] for f in spec["features"] if "geometry" in f}
    assert outlined == {f"兴宁社区 {pf.COMM_U}", f"双安村 {pf.COMM_R}", f"民生街道 {pf.STREET_U}",
                        f"双安镇 {pf.STREET_R}"}


# --- zones, circles, escalation, quality ------------------------------------------------------------------

def test_zones_and_circles_carry_their_own_polygons_by_kind_and_minutes():
    grids = small_grids()
    sites = gpd.GeoDataFrame({"名称": ["兴宁小学", "人民医院", "远郊学校"], "类型": ["小学", "医院", "学校"]},
                             geometry=[Point(108.305, 22.826), Point(108.315, 22.835), Point(109.5, 23.5)],
                             crs="EPSG:4326")
    centre = gpd.GeoDataFrame({"名称": ["翠竹社区服务中心"]}, geometry=[Point(108.31, 22.81)],
                              crs="EPSG:4326")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)  # straight-line circles
        circles = service_circles(centre)
    page = to_html(one_screen(grids, overlays=[overlay(patrol_zones(sites), kind="zones"),
                                               overlay(circles, kind="circles")]))
    zones, walks = specs(page)
    assert len(zones["features"]) == 2  # the far school lies beyond every mapped grid
    assert [zones["styles"][f["s"]]["color"] for f in zones["features"]] == ["#1b9e77", "#7570b3"]
    assert [f["v"][2] for f in zones["features"]] == ["200 米", "200 米"]
    assert [f["v"][2] for f in walks["features"]] == ["15 分钟", "10 分钟", "5 分钟"]  # the shortest on top
    labels = [item["label"] for item in legend_items(page) if item.get("layer") == "overlay_circles_1"]
    assert labels == ["步行服务圈", *(f"{m}分钟步行圈（直线距离）" for m in (5, 10, 15))]
    drawn = shapely.Polygon(_decoded(walks["features"][2]["geometry"], walks["scale"]))
    disc = gpd.GeoSeries([Point(108.31, 22.81)], crs=4326).to_crs(32649).buffer(375, 64).to_crs(4326).iloc[0]
    assert drawn.symmetric_difference(disc).area / disc.area < 0.01  # 5 minutes at 4.5 km/h: 375 m


def _decoded(geometry: dict, scale: float) -> list[tuple[float, float]]:
    flat = geometry["coordinates"][0]
    x = y = 0
    points = []
    for dx, dy in zip(flat[::2], flat[1::2], strict=True):
        x, y = x + dx, y + dy
        points.append((x / scale, y / scale))
    return points


def escalation_steps() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grid A: 6 cases settled in the grid, 2 in the community; grid B: 3 cases, 1 settled in the grid."""
    grids = small_grids()
    a, b = grids["code"].iloc[0], grids["code"].iloc[3]
    rows, cases = [], []
    for n, (grid, path) in enumerate([(a, ["grid"])] * 6 + [(a, ["grid", "community"])] * 2
                                     + [(b, ["grid"])] + [(b, ["grid", "street"])] * 2):
        cases.append({"case_id": f"E{n}", "grid_code": grid})
        rows += [{"case_id": f"E{n}", "step": i + 1, "level": level} for i, level in enumerate(path)]
    return pd.DataFrame(rows), pd.DataFrame(cases)


def test_escalation_layer_shows_the_settled_in_grid_rate_and_hides_small_counts_when_public():
    grids = small_grids()
    steps, cases = escalation_steps()
    result = analyse_escalation(steps, cases, grids=grids)
    made = [overlay(result, kind="escalation")]
    spec, = specs(to_html(one_screen(grids, overlays=made)))
    rows = {f["v"][0]: dict(zip(spec["fields"], f["v"][1:], strict=True)) for f in spec["features"]}
    a, b = grids["code"].iloc[0], grids["code"].iloc[3]
    assert rows[a]["网格内化解率"] == "75.0%" and rows[a]["已办结"] == 8
    assert rows[a]["社区办结占比"] == "25.0%"
    assert rows[b]["网格内化解率"] == "33.3%" and rows[b]["街道办结占比"] == "66.7%"
    public = to_html(one_screen(grids, overlays=made, public=True))
    spec, = specs(public)
    rows = {f["v"][0]: dict(zip(spec["fields"], f["v"][1:], strict=True)) for f in spec["features"]}
    assert rows[b]["网格内化解率"] is None and rows[b]["已办结"] is None  # 3 settled: fewer than 5
    styles = classes_by_code(public, spec)
    assert styles[b]["fillColor"] == "#bdbdbd"
    assert "少于5件，不公开" in [item["label"] for item in legend_items(public)]


def test_quality_layer_explains_each_grid_in_its_popup():
    grids = small_grids()
    measures = pd.DataFrame({"code": grids["code"], "response_rate": [1.0, 0.8, 0.9, 0.6, None],
                             "case_density": [10.0, 30.0, 20.0, 40.0, None]})
    with pytest.warns(GridmapWarning, match="1 of 5 grids have no index"):  # the fifth has no measure
        index = quality_index(measures, weights={"response_rate": 1, "case_density": 1})
    spec, = specs(to_html(one_screen(grids, overlays=[overlay(index, kind="quality")])))
    rows = {f["v"][0]: dict(zip(spec["fields"], f["v"][1:], strict=True)) for f in spec["features"]}
    best = rows[grids["code"].iloc[0]]
    assert best["质效指数"] == 100 and best["排名"] == "1/4"
    assert best["得分构成"] == "响应率 50.0 + 每千人事件数 50.0"
    assert spec["styles"][next(f["s"] for f in spec["features"] if f["v"][0] == grids["code"].iloc[4])][
        "fillColor"] == "#ffffff"  # no index: 指标不足，未参评


def test_a_focused_map_draws_the_overlay_on_its_grids_only():
    grids = small_grids()
    made = overlay(grids.assign(covered=False), kind="party")
    page = to_html(one_screen(grids, focus="450102001002", overlays=[made]))
    spec, = specs(page)
    assert sorted(classes_by_code(page, spec)) == ["450102001002001", "450102001002002"]


def test_bad_overlays_are_refused_with_what_they_are_made_from():
    with pytest.raises(GridmapError, match="kind='staff' is not a kind of overlay") as caught:
        overlay(pd.DataFrame(), kind="staff")
    assert "staffing" in caught.value.fix
    with pytest.raises(GridmapError, match="check_staffing"):
        overlay(pd.DataFrame({"code": ["1"]}), kind="staffing")
    with pytest.raises(GridmapError, match="patrol_zones"):
        overlay(pd.DataFrame({"zone_id": ["Z1"], "kind": ["school"]}), kind="zones")
    with pytest.raises(GridmapError, match="without share"):
        overlay(pd.DataFrame({"code": ["1"]}), kind="patrols", column="share")
    with pytest.raises(GridmapError, match="not an Overlay"):
        one_screen(small_grids(), overlays=[small_grids()])
    assert list(OVERLAYS) == ["staffing", "party", "liaison", "zones", "circles", "escalation", "quality",
                              "patrols", "tracks"]


# --- the cockpit ------------------------------------------------------------------------------------------

def test_cockpit_sums_each_layer_up_beside_the_map():
    grids = small_grids()
    steps, cases = escalation_steps()
    index = quality_index(pd.DataFrame({"code": grids["code"], "response_rate": [1.0, 0.8, 0.9, 0.6, 0.7]}))
    party = grids.assign(covered=[True, True, True, False, True], members=[3, 4, 5, 0, 2])
    made = [overlay(party, kind="party"),
            overlay(analyse_escalation(steps, cases, grids=grids), kind="escalation"),
            overlay(index, kind="quality"),
            overlay(pd.DataFrame({"code": grids["code"], "patrol_coverage": [0.5, 1.0, 0.75, None, 0.75]}),
                    kind="patrols")]
    page = cockpit(grids, overlays=made)
    field = dict(re.findall(r"<tr><th>(.*?)</th><td class=\"value\">(.*?)</td>", page))
    assert field == {"网格党支部覆盖": "80.0%", "巡查覆盖率": "75.0%"}
    assert "未建 1 个网格 · 党员 14 名" in page
    keys = re.findall(r'<span class="cockpit-level"><i [^>]*></i>(.*?)</span>', page)
    assert keys == ["网格 63.6%", "社区 18.2%", "街道 18.2%", "区县 0.0%"]  # 7, 2, 2 of 11 settled
    assert "越级上报 2 件 · 退回下级 0 件" in page  # grid → street skips the community
    row = r'<tr data-grid="(\d+)"(?: class="cockpit-gap")?><td class="num">(\d+)</td><td>(\d+)</td>'
    ranks = re.findall(row, page)
    assert [(int(p), int(r)) for p, r, _ in ranks] == [(0, 1), (2, 2), (1, 3), (4, 4), (3, 5)]
    assert all(grids["code"].iloc[int(p)] == code for p, _, code in ranks)
    assert page.count("gridmap.overlay(") == 4


def test_a_per_grid_frame_with_chinese_headers_is_read():
    grids = small_grids()
    patrols = pd.DataFrame({"网格编码": grids["code"], "巡查覆盖": [0.9, 0.5, 0.2, 1.0, 0.4]})
    made = overlay(patrols, kind="patrols", column="巡查覆盖", name="巡查覆盖（6月）")
    page = to_html(one_screen(grids, overlays=[made]))
    spec, = specs(page)
    assert len(spec["features"]) == 5 and spec["fields"][0] == "巡查覆盖（6月）"
    assert [f["v"][1] for f in spec["features"]] == ["90.0%", "50.0%", "20.0%", "100.0%", "40.0%"]


def test_on_a_gcj02_base_map_own_polygons_shift_with_the_grids():
    from gridmap.crs import wgs84_to_gcj02

    grids = small_grids()
    sites = gpd.GeoDataFrame({"名称": ["兴宁小学"], "类型": ["小学"]}, geometry=[Point(108.305, 22.826)],
                             crs="EPSG:4326")
    made = [overlay(patrol_zones(sites), kind="zones")]
    plain, shifted = (specs(to_html(one_screen(grids, overlays=made, basemap=basemap)))[0]
                      for basemap in ("none", "amap"))
    first = [spec["features"][0]["geometry"]["coordinates"][0][:2] for spec in (plain, shifted)]
    x, y = (value / plain["scale"] for value in first[0])
    expected = wgs84_to_gcj02(x, y)
    assert abs(first[1][0] / shifted["scale"] - expected[0]) < 2e-6
    assert abs(first[1][1] / shifted["scale"] - expected[1]) < 2e-6
    assert abs(first[1][0] - first[0][0]) / plain["scale"] > 0.003  # GCJ-02 lies about 500 m off here


# --- patrol coverage from a summary of patrols --------------------------------------------------------------

WALKED, BESIDE = "450102001001001", "450102001001002"  # grid A, walked end to end; grid B east of it


def patrol_city() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    """Two 600 m grids side by side, six units, and one worker's 29-minute walk along A's middle line.

    Built in metres (EPSG:4545, CGCS2000 3° zone 108°E) and given as CGCS2000 lon/lat; the track as an Amap
    export (GCJ-02, Chinese headers, one point sent twice). From the line y = 300 m: in A, U1 lies 10 m off,
    U2 45 m, U3 45 m on the other side, U4 100 m (not passed); in B, U5 lies on the line and U6 10 m past the
    track's end at the shared edge — passed by no patrol of B, so B has none passed.
    """
    x0, y0 = 500_000, 2_520_000
    metric = "EPSG:4545"
    grids = gpd.GeoDataFrame({"code": [WALKED, BESIDE], "community_code": ["450102001001"] * 2,
                              "type": ["city", "city"], "households": [400, 300], "population": [1200, 900]},
                             geometry=[box(x0, y0, x0 + 600, y0 + 600),
                                       box(x0 + 600, y0, x0 + 1200, y0 + 600)],
                             crs=metric).to_crs("EPSG:4490")
    offsets = [(100, 310), (200, 345), (300, 255), (400, 400), (900, 300), (605, 300)]
    units = gpd.GeoDataFrame({"unit_id": [f"U{i}" for i in range(1, 7)],
                              "name": [f"小区{i}" for i in range(1, 7)], "kind": "compound",
                              "households": [50] * 6},
                             geometry=[Point(x0 + dx, y0 + dy) for dx, dy in offsets], crs=metric)
    along = gpd.GeoSeries([Point(x0 + 10 + 20 * i, y0 + 300) for i in range(30)], crs=metric).to_crs(4490)
    from gridmap.crs import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(along.x.to_numpy(), along.y.to_numpy())
    times = pd.date_range("2025-03-03 09:00", periods=30, freq="min").strftime("%Y-%m-%d %H:%M")
    tracks = pd.DataFrame({"巡查员": "韦静梅", "定位时间": times, "经度": lon, "纬度": lat, "坐标系": "高德"})
    return grids, units.to_crs("EPSG:4490"), pd.concat([tracks, tracks.iloc[[5]]], ignore_index=True)


@pytest.fixture(scope="module")
def patrolled():
    from gridmap.fieldwork import summarize_patrols

    grids, units, tracks = patrol_city()
    with pytest.warns(GridmapWarning, match="duplicate"):
        summary = summarize_patrols(tracks, grids, units=units)
    return grids, units, overlay(summary.grids, kind="patrols", column="coverage")


def test_patrol_layer_shows_the_share_of_units_a_track_passed(patrolled):
    grids, _, made = patrolled
    page = to_html(one_screen(grids, overlays=[made]))
    spec, = specs(page)
    rows = {f["v"][0]: dict(zip(spec["fields"], f["v"][1:], strict=True)) for f in spec["features"]}
    assert rows[WALKED] == {"巡查覆盖率": "75.0%", "巡查次数（实际/应巡）": "1/1",
                            "途经单元（已途经/总数）": "3/4",
                            "最长间隔": "9 小时",  # from 00:00, the day's start, to the walk at 09:00
                            "距上次巡查": "0 天"}
    assert rows[BESIDE]["巡查覆盖率"] == "0.0%" and rows[BESIDE]["途经单元（已途经/总数）"] == "0/2"
    assert rows[BESIDE]["巡查次数（实际/应巡）"] == "0/1" and rows[BESIDE]["距上次巡查"] == "期间未巡查"
    styles = classes_by_code(page, spec)
    assert styles[WALKED]["fillColor"] != styles[BESIDE]["fillColor"]
    assert [item["label"] for item in legend_items(page) if item.get("heading")] == ["巡查覆盖率"]


def test_cockpit_sums_patrols_up_and_lists_the_least_covered_grids(patrolled):
    grids, units, made = patrolled
    page = cockpit(grids, units=units, overlays=[made])
    field = dict(re.findall(r"<tr><th>(.*?)</th><td class=\"value\">(.*?)</td>", page))
    assert field == {"巡查覆盖率": "50.0%"}  # 3 of the 6 units, not the mean of 75% and 0%
    assert "途经单元 3/6 · 2 个网格 · 巡查不足 1 个" in page
    panel = page.split("巡查覆盖率最低的2个网格", 1)[1]
    rows = re.findall(r'<tr data-grid="(\d+)"><td>(\d+)</td><td>.*?</td><td class="num">(.*?)</td>'
                      r'<td class="num">(.*?)</td></tr>', panel)
    assert [row[1:] for row in rows] == [(BESIDE, "0%", "0/1"), (WALKED, "75%", "1/1")]
    assert [grids["code"].iloc[int(row[0])] for row in rows] == [BESIDE, WALKED]


@settings(max_examples=15)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(0, 9), st.integers(1, 9)),
                min_size=1, max_size=12))
def test_the_patrol_figures_are_the_units_passed_and_the_least_covered_grids_in_order(rows):
    from gridmap.maps._panels import TEXT, field_cards, patrol_panel

    frame = pd.DataFrame(rows, columns=["units", "passed", "patrols", "required"])
    frame["units_passed"] = frame[["units", "passed"]].min(axis=1)
    frame["coverage"] = (frame["units_passed"] / frame["units"]).where(frame["units"] > 0)
    frame["code"] = [f"4501020010010{i:02d}" for i in range(len(frame))]
    made = overlay(frame, kind="patrols", column="coverage")
    card, = field_cards([made], frame[["code"]], units=None, lang="zh")  # the mapped grids: their codes
    total = frame["units"].sum()
    assert card.value == ("–" if not total else f"{100 * frame['units_passed'].sum() / total:.1f}%")
    assert card.detail.endswith(f"巡查不足 {int((frame['patrols'] < frame['required']).sum())} 个")
    panel = patrol_panel([made], frame["code"].tolist(), [None] * len(frame), lang="zh")
    shown = [int(p) for p in re.findall(r'<tr data-grid="(\d+)">', panel)]
    measured = frame[frame["coverage"].notna()]
    assert len(shown) == min(5, len(measured)) and (panel == "") == measured.empty
    key = [(frame["coverage"][i], frame["patrols"][i] / frame["required"][i], frame["code"][i])
           for i in shown]
    assert key == sorted(key) and all(k[0] <= measured["coverage"].nsmallest(len(shown)).max() for k in key)
    if len(shown):
        assert TEXT["zh"]["patrols_worst"].format(n=len(shown)) in panel
