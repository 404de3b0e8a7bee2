"""The patrol tracks layer (巡查轨迹) of a community page, from messy GPS records through to the page.

A hand-made street of two communities, each two grids of 0.002° (about 205 × 222 m) side by side along
22.80–22.802 N:

    A = 450102001001: A1 108.300–108.302 E, A2 108.302–108.304 E
    B = 450102001002: B1 108.304–108.306 E, B2 108.306–108.308 E

Tracks, one point a minute, walked in WGS84 and recorded in GCJ-02 (Amap, about 500 m off there), Chinese
headers, a GBK roster:

    P000001 (专职网格员 韦静梅)  2025-03-03  A1 → A2, 31 points       on A's page
    P000001                     2025-03-04  inside B2, 21 points     on B's page
    P000002 (志愿者 张三)        2025-03-03  inside B1 → B2, 31 points on B's page
    P000003 (not in the roster)  2025-03-04  A2 → B1, 21 points (plus one point twice and one without a
                                                time, left out)          on both pages
    P000004                     2025-03-03  one point in A1: no line, on no page

A's page draws 2 lines, B's 3; a line is drawn whole, also where it leaves the community.
"""

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from gridmap.cli._overlays import field_overlays
from gridmap.crs import convert, metric_crs
from gridmap.errors import GridmapError
from gridmap.findings import Report
from gridmap.maps import one_screen, overlay, to_html
from gridmap.maps._topology import decode_numbers
from gridmap.maps.overlays import OverlayLayer
from gridmap.people import read_roster

A, B = "450102001001", "450102001002"
NAMED, VOLUNTEER = "韦静梅", "张三"
IDS = ("P000001", "P000002", "P000003", "P000004")


def grids() -> gpd.GeoDataFrame:
    codes = [f"{A}001", f"{A}002", f"{B}001", f"{B}002"]
    return gpd.GeoDataFrame({"code": codes, "community_code": [c[:12] for c in codes],
                             "households": [300, 250, 280, 310]},
                            geometry=[box(108.300 + 0.002 * i, 22.800, 108.302 + 0.002 * i, 22.802)
                                      for i in range(4)], crs="EPSG:4490")


def walk(person: str, day: str, start: tuple[float, float], end: tuple[float, float], n: int) -> pd.DataFrame:
    """n points a minute apart from start to end, wavering 10 m north and south (WGS84)."""
    t = np.linspace(0, 1, n)
    lon = start[0] + (end[0] - start[0]) * t
    lat = start[1] + (end[1] - start[1]) * t + 0.0001 * np.sin(np.arange(n))
    return pd.DataFrame({"person": person, "time": pd.date_range(f"{day} 09:00", periods=n, freq="min"),
                         "lon": lon, "lat": lat})


def truth() -> pd.DataFrame:
    return pd.concat([walk("P000001", "2025-03-03", (108.3005, 22.8010), (108.3035, 22.8010), 31),
                      walk("P000001", "2025-03-04", (108.3064, 22.8008), (108.3076, 22.8012), 21),
                      walk("P000002", "2025-03-03", (108.3045, 22.8005), (108.3075, 22.8005), 31),
                      walk("P000003", "2025-03-04", (108.3030, 22.8015), (108.3050, 22.8015), 21),
                      walk("P000004", "2025-03-03", (108.3010, 22.8010), (108.3010, 22.8010), 1)],
                     ignore_index=True)


def records() -> pd.DataFrame:
    """The truth as a phone app exports it: GCJ-02, Chinese headers, a point twice, a point without time."""
    walked = truth()
    lon, lat = convert(walked["lon"].to_numpy(), walked["lat"].to_numpy(), "wgs84", "gcj02")
    table = pd.DataFrame({"人员编号": walked["person"],
                          "定位时间": walked["time"].dt.strftime("%Y-%m-%d %H:%M"),
                          "经度": lon, "纬度": lat, "坐标系": "高德"})
    third = table.index[table["人员编号"].eq("P000003")]
    repeated = table.loc[[third[5]]]
    untimed = table.loc[[third[7]]].assign(定位时间=None, 经度=108.0, 纬度=22.0)  # would be a GPS jump
    return pd.concat([table, repeated, untimed], ignore_index=True)


@pytest.fixture(scope="module")
def roster(tmp_path_factory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("roster") / "花名册.csv"
    path.write_bytes(("人员编号,姓名,岗位,网格编码,手机\n"
                      f"P000001,{NAMED},专职网格员,{A}001,13800000001\n"
                      f"P000002,{VOLUNTEER},志愿者,{B}001,13800000002\n").encode("gbk"))
    return read_roster(path)


@pytest.fixture(scope="module")
def layers(roster) -> list:
    """What gridmap map makes of the records and the roster for a community page (units: one a grid)."""
    units = gpd.GeoDataFrame({"unit_id": ["U1", "U2", "U3", "U4"]}, crs="EPSG:4490",
                             geometry=[Point(108.301 + 0.002 * i, 22.801) for i in range(4)])
    given = {"patrols": [(records(), None)], "roster": roster}
    with pytest.warns(Warning, match="patrol records"):  # the point without a time, the one repeated
        return field_overlays(grids(), given, cases=None, units=units, tracks=True)


def page_of(community: str, overlays: list, **options) -> str:
    return to_html(one_screen(grids(), focus=community, overlays=overlays, **options))


def tracks_spec(page: str) -> dict | None:
    specs = [json.loads(text) for text in re.findall(r"gridmap\.overlay\((\{.*?\}), \w+\);\n", page)]
    found = [spec for spec in specs if spec["key"].startswith("overlay_tracks_")]
    return found[0] if found else None


def drawn_lines(spec: dict) -> list[tuple[dict, shapely.Geometry]]:
    """Each feature's popup (field → value, and its title) and its line decoded as the page does."""
    drawn = []
    for feature in spec["features"]:
        parts = []
        for text in feature["lines"]:
            steps = np.asarray(decode_numbers(text), dtype=float).reshape(-1, 2)
            parts.append(LineString(np.cumsum(steps, axis=0) / spec["lineScale"]))
        row = dict(zip(spec["fields"], feature["v"][1:], strict=True)) | {"title": feature["v"][0]}
        drawn.append((row, shapely.multilinestrings(parts) if len(parts) > 1 else parts[0]))
    return drawn


def metres(geometry: shapely.Geometry) -> float:
    series = gpd.GeoSeries([geometry], crs="EPSG:4326")
    return float(series.to_crs(metric_crs(series)).length.iloc[0])


def test_a_community_page_draws_the_lines_through_its_grids_whole(layers):
    spec = tracks_spec(page_of(A, layers))
    drawn = drawn_lines(spec)
    assert sorted((row["日期"], row["主要所在网格"]) for row, _ in drawn) == \
        [("2025-03-03", f"{A}001"), ("2025-03-04", f"{A}002")]
    community = shapely.union_all(grids().geometry.values[:2])
    walked = truth()
    for row, line in drawn:
        assert line.intersects(community)
        person = "P000001" if row["日期"] == "2025-03-03" else "P000003"
        day = walked[(walked["person"] == person) & (walked["time"].dt.strftime("%Y-%m-%d") == row["日期"])]
        true_line = LineString(day[["lon", "lat"]].to_numpy())
        # converted back from GCJ-02 (500 m off), simplified and stored to a pixel at zoom 18 (0.6 m)
        assert line.hausdorff_distance(true_line) < 1.5e-5  # degrees: about 1.5 m
        shown = float(row["轨迹长度"].removesuffix(" 米").replace(",", ""))
        assert shown == pytest.approx(metres(line), rel=0.01)
        assert shown == pytest.approx(metres(true_line), rel=0.01)
    points = {row["日期"]: row["定位点数"] for row, _ in drawn}
    assert points == {"2025-03-03": 31, "2025-03-04": 21}  # P000003's repeated and untimed points left out
    ends = sorted(line.bounds[2] for _, line in drawn)  # drawn whole: A1 → A2, and A2 → into B1
    assert 108.302 < ends[0] < 108.304 < ends[1]


def test_the_other_community_draws_its_own(layers):
    drawn = drawn_lines(tracks_spec(page_of(B, layers)))
    assert sorted(row["日期"] for row, _ in drawn) == ["2025-03-03", "2025-03-04", "2025-03-04"]
    community = shapely.union_all(grids().geometry.values[2:])
    assert all(line.intersects(community) for _, line in drawn)


def test_roles_are_shown_names_only_as_the_roster_rule_allows_ids_never(layers):
    rows = {row["title"]: row for row, _ in drawn_lines(tracks_spec(page_of(B, layers)))}
    assert set(rows) == {f"专职网格员 {NAMED} 2025-03-04", "志愿者 2025-03-03", "巡查人员 2025-03-04"}
    assert rows["志愿者 2025-03-03"]["姓名"] is None and rows["志愿者 2025-03-03"]["人员"] == "志愿者"
    private = page_of(B, layers)
    assert VOLUNTEER not in private and not any(i in private for i in IDS) and "13800000001" not in private
    public = page_of(B, layers, public=True)
    spec = tracks_spec(public)
    assert "姓名" not in spec["fields"] and NAMED not in public and VOLUNTEER not in public
    assert sorted(row["人员"] for row, _ in drawn_lines(spec)) == ["专职网格员", "巡查人员", "志愿者"]
    english = tracks_spec(page_of(B, layers, lang="en", public=True))
    assert english["fields"][:2] == ["Worker", "Day"] and "Patrol worker 2025-03-04" in \
        [f["v"][0] for f in english["features"]]


def test_no_layer_where_no_line_passes_and_none_from_check_ins(layers):
    tracks = next(made for made in layers if made.kind == "tracks")
    others = grids().assign(geometry=lambda g: g.geometry.translate(0.1, 0))  # 10 km east of every track
    page = to_html(one_screen(others, focus=A, overlays=[tracks]))
    assert tracks_spec(page) is None and "巡查轨迹" not in page
    checkins = pd.DataFrame({"人员编号": ["P000001", "P000001"],
                             "打卡时间": ["2025-03-03 09:00", "2025-03-03 10:00"],
                             "网格编码": [f"{A}001", f"{A}002"]})
    units = gpd.GeoDataFrame({"unit_id": ["U1"]}, geometry=[Point(108.301, 22.801)], crs="EPSG:4490")
    made = field_overlays(grids(), {"patrols": [(checkins, None)]}, cases=None, units=units, tracks=True)
    assert [m.kind for m in made] == ["patrols"]


def test_the_layer_is_off_with_a_line_key_in_the_legend(layers):
    page = page_of(A, layers)
    variable = re.search(r'var (\w+) = gridmap\.overlay\(\{"key":"overlay_tracks_\d+"', page).group(1)
    assert f"{variable}.addTo(" not in page
    fmap = one_screen(grids(), focus=A, overlays=layers)
    (tracks,) = [layer for layer in fmap._children.values()
                 if isinstance(layer, OverlayLayer) and layer.key.startswith("overlay_tracks_")]
    items = tracks.legend_items()
    assert [item["label"] for item in items] == ["巡查轨迹", "巡查轨迹（每人每天一条）"]
    assert items[1]["shape"] == "line" and items[1]["fill"] is None


def test_tracks_are_refused_without_lines_or_a_crs():
    with pytest.raises(GridmapError, match="summarize_patrols"):
        overlay(pd.DataFrame({"day": ["2025-03-03"]}), kind="tracks")
    frame = pd.DataFrame({"day": ["2025-03-03"], "points": [2], "length_m": [10.0]})
    with pytest.raises(GridmapError, match="coordinate reference system"):
        overlay(gpd.GeoDataFrame(frame, geometry=[LineString([(0, 0), (1, 1)])]), kind="tracks")


def test_a_patrol_summary_makes_the_layer_itself():
    from gridmap.fieldwork import summarize_patrols

    summary = summarize_patrols(records(), grids(), report=Report("patrols"))
    page = page_of(A, [overlay(summary, kind="tracks")])
    assert len(tracks_spec(page)["features"]) == 2
