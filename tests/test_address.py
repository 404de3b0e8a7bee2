"""gridmap.cases.address: cases located by address agree with the same cases located by their coordinates.

The fixture is a Shanghai-shaped gazetteer made in code: about 200 compounds in two districts and six
towns/streets, on shared roads with lane numbers (张东路2281弄), names with 小区/花园/苑 suffixes, near
duplicates (阳光花园 / 阳光花园二期) and one name in both districts. Its addresses are written as a map
geocoder writes them (上海市浦东新区张东路2281弄); the case lists write them as daily lists do (张东路2281弄,
张东路2281弄3号601室, full-width digits, 二期 for 2期, typos), each case with its true unit and a true point.
"""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Point, box

from gridmap.cases import assign, match_addresses, normalize_address, read_cases
from gridmap.cases.address import MATCH_KINDS
from gridmap.cli import main
from gridmap.errors import CRSError, GridmapWarning, SchemaError
from gridmap.findings import Report
from gridmap.io import read_layer, write_layer

# --- the fixture: a Shanghai-shaped gazetteer, grids over it, and case lists ---------------------------

STREETS = {  # street → (district, roads)
    "张江镇": ("浦东新区", ["张东路", "祖冲之路", "郭守敬路", "碧波路"]),
    "川沙新镇": ("浦东新区", ["川沙路", "妙境路", "华夏东路"]),
    "花木街道": ("浦东新区", ["锦绣路", "东方路", "芳甸路"]),
    "金桥镇": ("浦东新区", ["金桥路", "博兴路", "张杨路"]),
    "七宝镇": ("闵行区", ["七莘路", "漕宝路", "新镇路"]),
    "莘庄镇": ("闵行区", ["莘松路", "莘建路", "都市路"]),
}
PREFIXES = ["金桂", "银杏", "翠湖", "星河", "绿洲", "锦绣", "东方", "世纪", "春江", "名都", "海悦", "碧云",
            "仁恒", "中远", "古桐", "香梅", "明珠", "新月", "万源", "华丽", "梅园", "兰馨", "汇智", "晨阳",
            "御景", "瑞和", "丽水", "嘉园", "天山", "虹桥", "文化", "康桥", "园丁", "松涛", "青枫", "望江",
            "蓝湾", "盛世", "福泉", "安居"]
SUFFIXES = ["花园", "小区", "苑", "公寓", "家园", "新村", "雅苑", "名邸", "华庭", "城"]
TYPOS = {"花": "华", "园": "圆", "苑": "院", "东": "冬", "桂": "贵", "湖": "胡", "河": "和", "路": "陆",
         "锦": "金", "绿": "录", "新": "心", "江": "将", "明": "名", "海": "每", "云": "芸", "庭": "廷"}
CELL = 0.004  # degrees between compounds; a compound is a 0.003° square; a grid covers 2 × 2 compounds
ORIGIN = (121.50, 31.18)


def shanghai_units(seed: int = 16) -> gpd.GeoDataFrame:
    """About 200 compounds with names, aliases (别名), geocoder addresses (地址), 区 and 街道."""
    rng = random.Random(seed)
    names = [p + s for p in PREFIXES for s in SUFFIXES]
    rng.shuffle(names)
    names = names[:190] + ["阳光花园", "阳光花园二期", "阳光苑", "海上海", "阳光花园", "金色家园三期",
                           "金色家园", "新华公寓", "新华公寓二村", "古北新城"]
    streets = list(STREETS)
    rows, used = [], set()
    for i, name in enumerate(names):
        street = streets[(i // 2) % len(streets)]  # the two 阳光花园 fall in 莘庄镇 and 川沙新镇
        district, roads = STREETS[street]
        road = roads[i % len(roads)]
        while True:
            number = rng.randrange(2, 3000)
            if (road, number) not in used:
                used.add((road, number))
                break
        kind = "号" if name.endswith("公寓") or rng.random() < 0.2 else "弄"
        column, row = i % 20, i // 20
        x0, y0 = ORIGIN[0] + column * CELL, ORIGIN[1] + row * CELL
        rows.append({"unit_id": f"SH{i + 1:04d}", "name": name, "区": district, "街道": street,
                     "地址": f"上海市{district}{road}{number}{kind}", "road": road, "number": number,
                     "lane": kind, "别名": "", "geometry": box(x0, y0, x0 + 0.003, y0 + 0.003)})
    rows[3]["别名"] = f"{rows[3]['name'][:2]}一期;老{rows[3]['name'][:2]}、{rows[3]['name']}北区"
    units = gpd.GeoDataFrame(rows, crs="EPSG:4326")
    units["grid_code"] = [f"310115{(i % 20) // 2:03d}{(i // 20) // 2:03d}" for i in range(len(units))]
    return units


def shanghai_grids(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One square grid over each 2 × 2 block of compounds, coded like the units' grid_code."""
    bounds = units.geometry.bounds.groupby(units["grid_code"]).agg({"minx": "min", "miny": "min",
                                                                    "maxx": "max", "maxy": "max"})
    pad = (CELL - 0.003) / 2  # grids meet halfway between compounds
    geometry = [box(r.minx - pad, r.miny - pad, r.maxx + pad, r.maxy + pad) for r in bounds.itertuples()]
    return gpd.GeoDataFrame({"code": bounds.index}, geometry=geometry, crs=units.crs)


def _typo(text: str, rng: random.Random) -> str | None:
    spots = [i for i, ch in enumerate(text) if ch in TYPOS]
    if not spots:
        return None
    i = rng.choice(spots)
    return text[:i] + TYPOS[text[i]] + text[i + 1:]


def _swap_digits(number: int, rng: random.Random) -> int:
    """The number as mistyped: two neighbouring digits swapped, or one dropped (2281 → 2218, 281)."""
    digits = str(number)
    if len(digits) > 1 and digits[0] != digits[1] and rng.random() < 0.5:
        return int(digits[1] + digits[0] + digits[2:])
    i = rng.randrange(len(digits))
    return int(digits[:i] + digits[i + 1:] or "1")


def _chinese_digits(number: int) -> str:
    return "".join("〇一二三四五六七八九"[int(d)] for d in str(number))


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def case_list(units: gpd.GeoDataFrame, n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """Cases written as a daily list writes them, each with its true unit, true point and form."""
    rng = random.Random(seed)
    forms = ["road", "road_room", "road_fullwidth", "road_chinese", "name", "name_room", "name_prefixed",
             "name_phase", "road_typo", "name_typo", "district_road", "number_typo"]
    rows = []
    for i in range(n):
        unit = units.iloc[rng.randrange(len(units))]
        road = f"{unit['road']}{unit['number']}{unit['lane']}"
        form = rng.choice(forms)
        name = unit["name"]
        address = {
            "road": road,
            "road_room": f"{road}{rng.randrange(1, 40)}号{rng.randrange(1, 30)}0{rng.randrange(1, 6)}室",
            "road_fullwidth": _fullwidth(road),
            "road_chinese": f"{unit['road']}{_chinese_digits(unit['number'])}{unit['lane']}",
            "name": name,
            "name_room": f"{name}{rng.randrange(1, 30)}号楼{rng.randrange(1, 4)}单元{rng.randrange(1, 9)}02",
            "name_prefixed": f"{unit['区']}{unit['街道']}{name}",
            "name_phase": name.replace("二期", "2期").replace("三期", "三 期"),
            "road_typo": _typo(road, rng),
            "name_typo": _typo(name, rng),
            "district_road": f"上海市{unit['区']} {road}",
            "number_typo": f"{unit['road']}{_swap_digits(unit['number'], rng)}{unit['lane']}",
        }[form]
        if address is None:
            form, address = "name", name
        x0, y0, x1, y1 = unit.geometry.bounds
        rows.append({"case_id": f"C{i + 1:05d}", "reported_at": "2025-05-01 09:00", "地址": address,
                     "form": form, "true_unit": unit["unit_id"],
                     "区": unit["区"] if rng.random() < 0.5 else None,
                     "lon": rng.uniform(x0, x1), "lat": rng.uniform(y0, y1)})
    rows += [  # never assigned: a number no compound has, a compound that does not exist
        {"case_id": "X1", "reported_at": "2025-05-01", "地址": "张东路9999弄", "form": "no_unit"},
        {"case_id": "X2", "reported_at": "2025-05-01", "地址": "梧桐雅居5号楼", "form": "no_unit"},
        {"case_id": "X3", "reported_at": "2025-05-01", "地址": "阳光花园", "form": "two_districts"},
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def city():
    units = shanghai_units()
    return units, shanghai_grids(units), case_list(units)


@pytest.fixture(scope="module")
def matched(city):
    units, grids, cases = city
    report = Report("address")
    result = match_addresses(cases.drop(columns=["lon", "lat"]), units, column="地址", report=report)
    return result, report


# --- agreement with coordinate-based assignment -------------------------------------------------------

def test_fixture_is_real_shaped(city):
    units, grids, cases = city
    assert 195 <= len(units) <= 205 and units["unit_id"].is_unique
    assert {"阳光花园", "阳光花园二期", "阳光苑"} <= set(units["name"])
    shared = units.loc[units["name"] == "阳光花园"]
    assert len(shared) == 2 and shared["区"].nunique() == 2
    assert units["road"].value_counts().max() >= 10  # many compounds share a road
    assert units["地址"].str.startswith("上海市").all()
    assert grids.geometry.is_valid.all() and len(grids) == units["grid_code"].nunique()
    inside = assign(gpd.GeoDataFrame(geometry=units.representative_point(), crs=units.crs), grids,
                    report=Report("t"))
    assert (inside["grid_code"] == units["grid_code"]).all()


def test_address_match_agrees_with_coordinates(city, matched):
    units, grids, cases = city
    result, _ = matched
    truth = cases.dropna(subset=["lon"])
    by_point = assign(gpd.GeoDataFrame(truth, geometry=gpd.points_from_xy(truth["lon"], truth["lat"]),
                                       crs="EPSG:4326"), grids, report=Report("t"))
    by_address = assign(result.loc[truth.index], grids, report=Report("t"))
    located = result.loc[truth.index, "match_kind"].isin(["exact", "fuzzy"]).to_numpy()
    agree = (by_address["grid_code"] == by_point["grid_code"]).to_numpy()[located]
    wrong_numbers = (truth["form"] == "number_typo").to_numpy()  # no unit has them: left unmatched
    assert not located[wrong_numbers].any()
    share = located[~wrong_numbers].mean()
    assert share >= 0.95, f"only {share:.1%} of the cases with a right number were matched"
    assert agree.mean() >= 0.99, f"{agree.mean():.2%} of {located.sum()} matched cases agree"
    same_unit = (result.loc[truth.index, "address_unit"] == truth["true_unit"]).to_numpy()[located]
    assert same_unit.mean() >= 0.99
    # the gazetteer's grid_code travels with the match and equals the grid the point falls in
    assert (result.loc[truth.index, "grid_code"].to_numpy()[located] == by_address["grid_code"].to_numpy()[
        located]).all()


@pytest.mark.parametrize("form", ["road", "road_room", "road_fullwidth", "road_chinese", "name", "name_room",
                                  "name_prefixed", "name_phase", "district_road"])
def test_every_clean_form_matches_exactly_its_own_unit(city, matched, form):
    units, _, cases = city
    result, _ = matched
    shared = units.loc[units["name"] == "阳光花园", "unit_id"]
    rows = cases.index[(cases["form"] == form) & ~(cases["true_unit"].isin(shared) & cases["区"].isna())]
    assert len(rows) > 50
    assert (result.loc[rows, "match_kind"] == "exact").all(), result.loc[rows].query("match_kind != 'exact'")
    assert (result.loc[rows, "address_unit"] == cases.loc[rows, "true_unit"]).all()
    assert (result.loc[rows, "address_score"] == 100).all()


def test_typos_are_matched_fuzzily_or_left_out(city, matched):
    _, _, cases = city
    result, report = matched
    rows = cases.index[cases["form"].isin(["road_typo", "name_typo"])]
    kinds = result.loc[rows, "match_kind"]
    assert set(kinds) <= {"fuzzy", "unmatched", "ambiguous", "exact"}
    fuzzy = kinds == "fuzzy"
    assert fuzzy.sum() > 0.7 * len(rows)
    assert (result.loc[rows[fuzzy], "address_unit"] == cases.loc[rows[fuzzy], "true_unit"]).mean() >= 0.99
    assert result.loc[rows[fuzzy], "address_score"].between(75, 100, inclusive="left").all()
    assert result.loc[rows[fuzzy], "address_match"].notna().all()


def test_unmatched_and_ambiguous_are_reported_never_assigned(city, matched):
    units, _, cases = city
    result, report = matched
    on_zhangdong = set(units.loc[units["road"] == "张东路", "name"])
    missed = result["match_kind"].isin(["ambiguous", "unmatched"])
    assert result.loc[missed].geometry.isna().all()
    assert result.loc[missed, ["address_match", "address_unit", "grid_code"]].isna().all().all()
    assert (result.loc[~missed].geometry.notna()).all()
    found = report.to_frame().set_index("record")
    assert set(found.index) == {f"case {c}" for c in cases.loc[missed, "case_id"]}
    assert found.loc["case X1", "check"] == "address_unmatched"
    assert found.loc["case X1", "address"] == "张东路9999弄"
    hints = found.loc["case X1", "candidates"].split("; ")  # other lanes of 张东路 first
    assert len(hints) == 3 and all(name in on_zhangdong for name in (h.split(" (")[0] for h in hints))
    assert found.loc["case X2", "check"] == "address_unmatched"
    # 阳光花园 without a district is in 浦东新区 and 闵行区: both are named, neither is chosen
    assert found.loc["case X3", "check"] == "address_ambiguous"
    assert found.loc["case X3", "candidates"].count("阳光花园 (SH") == 2
    assert "not assigned" in found.loc["case X3", "message"] and found.loc["case X3", "severity"] == "error"
    assert set(result["match_kind"].dropna()) <= set(MATCH_KINDS)


def test_district_column_and_prefix_settle_a_name_shared_by_two_districts(city):
    units = city[0]
    cases = pd.DataFrame({"case_id": ["A", "B", "C"], "地址": ["阳光花园", "闵行区阳光花园", "阳光花园"],
                          "区": ["浦东新区", None, None]})
    result = match_addresses(cases, units, column="地址", report=Report("t"))
    expected = units.loc[units["name"] == "阳光花园"].set_index("区")["unit_id"]
    assert result["address_unit"].tolist()[:2] == [expected["浦东新区"], expected["闵行区"]]
    assert result["match_kind"].tolist() == ["exact", "exact", "ambiguous"]


def test_candidates_of_a_miss_are_the_nearest_names(city):
    units = city[0]
    report = Report("t")
    result = match_addresses(pd.DataFrame({"地址": ["阳光花园四期"]}), units, column="地址", report=report)
    row = report.to_frame().iloc[0]  # another phase is never guessed: no unit has 4期
    assert result["match_kind"].iloc[0] == "unmatched" and row["record"] == "record 1"
    assert row["candidates"].startswith("阳光花园二期 (SH") and row["candidates"].count("; ") == 2


def test_aliases_are_names_too(city):
    units = city[0]
    first = units.iloc[3]
    cases = pd.DataFrame({"地址": [f"老{first['name'][:2]}", f"{first['name']}北区3号楼"]})
    result = match_addresses(cases, units, column="地址")
    assert result["address_unit"].tolist() == [first["unit_id"]] * 2


def test_cases_with_points_keep_them_and_inputs_are_not_modified(city):
    units = city[0]
    cases = gpd.GeoDataFrame({"地址": ["阳光苑", "阳光苑"]}, geometry=[Point(121.0, 31.0), None],
                             crs="EPSG:4326")
    before = cases.copy()
    result = match_addresses(cases, units, column="地址", only_missing=True)
    assert result.geometry.iloc[0].equals(Point(121.0, 31.0)) and pd.isna(result["match_kind"].iloc[0])
    assert units.loc[units["name"] == "阳光苑"].geometry.iloc[0].contains(result.geometry.iloc[1])
    assert result["located_by"].tolist()[1] == "address"
    pd.testing.assert_frame_equal(cases, before)


def test_bad_calls_name_the_fix(city):
    units = city[0]
    with pytest.raises(SchemaError, match="no column '地点'.*Fix: name one of the columns: 地址"):
        match_addresses(pd.DataFrame({"地址": ["x"]}), units, column="地点")
    with pytest.raises(SchemaError, match="GeoDataFrame with a CRS"):
        match_addresses(pd.DataFrame({"地址": ["x"]}), pd.DataFrame({"name": ["x"]}), column="地址")
    with pytest.raises(SchemaError, match="no name column 'name'"):
        match_addresses(pd.DataFrame({"地址": ["x"]}), units.rename(columns={"name": "名"}), column="地址")
    with pytest.raises(SchemaError, match="min_score"):
        match_addresses(pd.DataFrame({"地址": ["x"]}), units, column="地址", min_score=120)
    with pytest.raises(CRSError, match="no CRS"):
        match_addresses(gpd.GeoDataFrame({"地址": ["x"]}, geometry=[Point(1, 1)]), units, column="地址")


def test_blank_and_missing_addresses_get_no_kind(city):
    units = city[0]
    report = Report("t")
    cases = pd.DataFrame({"地址": [None, "  ", np.nan]})
    result = match_addresses(cases, units, column="地址", report=report)
    assert result["match_kind"].isna().all() and result.geometry.isna().all() and len(report) == 0


# --- normalize_address ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, key", [
    ("上海市浦东新区张东路2281弄", "张东路2281弄"),
    ("张东路2281弄3号601室", "张东路2281弄"),
    ("张东路２２８１弄", "张东路2281弄"),
    ("张东路二二八一弄", "张东路2281弄"),
    ("上海市 浦东新区 张江镇 张东路2281弄", "张东路2281弄"),
    ("上海市黄浦区南京东路100号", "南京东路100号"),
    ("碧波路690号3幢", "碧波路690号"),
    ("阳光花园二期", "阳光花园2期"),
    ("阳光花园（二期）12号楼", "阳光花园2期"),
    ("阳光花园3号楼2单元502室", "阳光花园"),
    ("阳光花园 3-502", "阳光花园"),
    ("阳光花园3#楼", "阳光花园"),
    ("浦东新区阳光东区3号楼", "阳光东区"),
    ("盛世小区12栋", "盛世小区"),
    ("十二", "12"),
    ("一百零五弄", ""),
    ("百草园", "百草园"),
    ("新都市花园", "新都市花园"),
    ("华润超市", "华润超市"),
    ("梦里水乡", "梦里水乡"),
    ("广西壮族自治区南宁市青秀区金湖路58号", "金湖路58号"),
    ("川沙新镇妙境路1288弄", "妙境路1288弄"),
    ("ＡＢＣ花园Ｂ座", "abc花园"),
    (None, ""),
])
def test_normalize_address_by_hand(text, key):
    assert normalize_address(text) == key


def test_normalize_address_strips_the_admin_names_given():
    assert normalize_address("金湖社区星河里5栋") == "金湖社区星河里"
    assert normalize_address("金湖社区星河里5栋", admin_names=["金湖社区"]) == "星河里"
    assert normalize_address("金湖社区", admin_names=["金湖社区"]) == "金湖社区"  # nothing would be left


ADDRESS_TEXT = st.text(alphabet=st.sampled_from(list(
    "上海市浦东新区张江镇街道路弄号栋幢单元室楼层小区花园苑公寓家园新村二期阳光金桂〇零一二三四五六七八九十百千"
    "0123456789abcXYZ #-()（）·、 ")), max_size=30)


def _to_fullwidth(text: str) -> str:
    wide = {ord(" "): "\u3000", **{code: chr(code + 0xFEE0) for code in range(ord("!"), ord("~") + 1)}}
    return text.translate(wide)


@settings(max_examples=300, deadline=None)
@given(ADDRESS_TEXT | st.text(max_size=20))
def test_normalize_address_is_idempotent_and_width_blind(text):
    key = normalize_address(text)
    assert normalize_address(key) == key
    assert normalize_address(_to_fullwidth(text)) == key
    assert normalize_address(unicodedata.normalize("NFKC", text)) == key


# --- read_cases and the command line ---------------------------------------------------------------------

def _small_files(tmp_path, city):
    units, grids, cases = city
    sample = cases.iloc[list(range(40)) + [len(cases) - 3, len(cases) - 2, len(cases) - 1]]
    table = tmp_path / "12345.csv"
    export = sample[["case_id", "reported_at", "地址", "区"]]
    export.rename(columns={"case_id": "工单编号", "reported_at": "来电时间"}).to_csv(table, index=False,
                                                                                  encoding="gbk")
    gpkg = tmp_path / "city.gpkg"
    write_layer(grids, gpkg, "grids")
    write_layer(units.drop(columns=["road", "number", "lane"]), gpkg, "units", mode="a")
    return sample, table, gpkg


def test_read_cases_locates_by_address(tmp_path, city):
    sample, table, gpkg = _small_files(tmp_path, city)
    units = read_layer(gpkg, "units")
    report = Report("cases")
    located = read_cases(table, units=units, address="地址", report=report)
    assert located["case_id"].tolist() == sample["case_id"].tolist()
    kinds = located["match_kind"]
    assert (located.loc[kinds.isin(["exact", "fuzzy"]), "located_by"] == "address").all()
    assert located.loc[kinds.isin(["exact", "fuzzy"])].geometry.notna().all()
    checks = report.to_frame().set_index("record")["check"]
    assert checks["case X1"] == "address_unmatched" and checks["case X3"] == "address_ambiguous"
    assert "no_location" not in set(checks)  # each miss is reported once, as an address finding
    with pytest.raises(SchemaError, match="no units were given"):
        read_cases(table, address="地址")
    with pytest.raises(SchemaError, match="no column '门牌'"):
        read_cases(table, units=units, address="门牌")


def test_cli_assigns_by_address(tmp_path, city):
    sample, table, gpkg = _small_files(tmp_path, city)
    out = tmp_path / "out.gpkg"
    result = CliRunner().invoke(main, ["cases", "assign", str(table), "--grids", str(gpkg),
                                       "--by-address", "地址", "--out", str(out), "--json", "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    written = read_layer(out)
    assert summary["by_address"]["unmatched"] >= 2 and summary["by_address"]["ambiguous"] >= 1
    assert summary["in_grids"] == int(written["match_kind"].isin(["exact", "fuzzy"]).sum())
    assert summary["findings_by_check"]["address_unmatched"] == summary["by_address"]["unmatched"]
    truth = sample.set_index("case_id")["true_unit"]
    hit = written.dropna(subset=["address_unit"])
    assert (hit["address_unit"].to_numpy() == truth[hit["case_id"]].to_numpy()).mean() >= 0.99
    # the same with the gazetteer given apart from the grids
    grids_only = tmp_path / "grids.gpkg"
    write_layer(read_layer(gpkg, "grids"), grids_only, "grids")
    again = CliRunner().invoke(main, ["cases", "assign", str(table), "--grids", str(grids_only),
                                      "--by-address", "地址", "--gazetteer", str(gpkg),
                                      "--out", str(tmp_path / "b.csv"), "-q"])
    assert again.exit_code == 0, again.output
    missing = CliRunner().invoke(main, ["cases", "assign", str(table), "--grids", str(grids_only),
                                        "--by-address", "地址", "--out", str(tmp_path / "c.csv"), "-q"])
    assert missing.exit_code == 2 and "--gazetteer" in missing.output and "Traceback" not in missing.output


def test_messy_gazetteer_and_cases(city):
    units = city[0].to_crs("EPSG:4547")  # a metric gazetteer; cases with points in WGS84
    units.loc[units.index[5], "geometry"] = None  # a unit not drawn yet
    drawn, undrawn = units.iloc[4], units.iloc[5]
    cases = gpd.GeoDataFrame({"case_id": ["A", "B", "C", "D"],
                              "地址": [drawn["name"], undrawn["name"], 2281, "阳光花园"]},
                             geometry=[None, None, None, Point(121.51, 31.19)], crs="EPSG:4326")
    report = Report("t")
    result = match_addresses(cases, units, column="地址", report=report)
    assert result.crs.to_epsg() == 4326
    assert drawn.geometry.contains(gpd.GeoSeries([result.geometry.iloc[0]], crs=4326).to_crs(4547).iloc[0])
    assert result.geometry.iloc[1] is None and result["address_match"].iloc[1] == undrawn["name"]
    assert result["match_kind"].tolist()[2] == "unmatched"  # a bare number names no unit
    assert result.geometry.iloc[3].equals(Point(121.51, 31.19))  # its own point is kept
    checks = report.to_frame().set_index("record")["check"]
    assert checks["case B"] == "address_unit_without_location" and checks["case C"] == "address_unmatched"
    with pytest.warns(GridmapWarning, match="address_unmatched 1.*pass report="):
        match_addresses(cases.iloc[[2]], units, column="地址")


def test_cli_names_a_missing_address_column(tmp_path, city):
    _, table, gpkg = _small_files(tmp_path, city)
    result = CliRunner().invoke(main, ["cases", "assign", str(table), "--grids", str(gpkg),
                                       "--by-address", "门牌", "--out", str(tmp_path / "x.gpkg")])
    assert result.exit_code == 2 and "门牌" in result.output and "地址" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "x.gpkg").exists()


def test_suffix_free_match_needs_the_same_or_a_generic_suffix():
    units = gpd.GeoDataFrame({"unit_id": ["U1", "U2"], "name": ["金桂苑", "阳光花园"]},
                             geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4547")
    cases = pd.DataFrame({"地址": ["金桂小区", "金桂", "阳光5号楼", "金桂花园", "阳光公寓"]})
    report = Report("t")
    result = match_addresses(cases, units, column="地址", report=report)
    assert result["address_unit"].tolist()[:3] == ["U1", "U1", "U2"]
    assert result["match_kind"].tolist() == ["exact"] * 3 + ["unmatched"] * 2  # 花园 is not 苑
    assert report.to_frame()["candidates"].str.startswith(("金桂苑 (U1)", "阳光花园 (U2)")).all()


def test_every_sample_unit_name_finds_its_own_unit():
    units = read_layer(Path(__file__).resolve().parents[1] / "data" / "sample" / "sample_city.gpkg", "units")
    result = match_addresses(pd.DataFrame({"小区": units["name"]}), units, column="小区")
    # 示例市人民医院 and 西城区人民医院 both normalise to 人民医院: the name as written tells them apart
    assert (result["match_kind"] == "exact").all() and (result["address_unit"] == units["unit_id"]).all()


def test_numeric_ids_and_codes_come_back_as_text():
    units = gpd.GeoDataFrame({"unit_id": [101, 102], "name": ["星河湾", "桃源里"],
                              "grid_code": [310115001, None]},  # read as floats, as from Excel
                             geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4547")
    result = match_addresses(pd.DataFrame({"小区": ["桃源里", "星河湾3栋"]}), units, column="小区")
    assert result["address_unit"].tolist() == ["102", "101"]
    assert pd.isna(result["grid_code"].iloc[0]) and result["grid_code"].iloc[1] == "310115001"


def test_cli_strips_the_community_names_of_the_file(tmp_path, city):
    units, grids, _ = city
    gpkg = tmp_path / "city.gpkg"
    write_layer(grids, gpkg, "grids")
    write_layer(units.drop(columns=["road", "number", "lane"]), gpkg, "units", mode="a")
    write_layer(gpd.GeoDataFrame({"code": ["310115001001"], "name": ["金湖社区"]},
                                 geometry=[grids.geometry.union_all().envelope], crs=grids.crs),
                gpkg, "communities", mode="a")
    name = units["name"].iloc[7]
    table = tmp_path / "list.csv"
    table.write_text(f"事件编号,上报时间,住址\nE1,2025-05-02,金湖社区{name}3号楼\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["cases", "assign", str(table), "--grids", str(gpkg),
                                       "--by-address", "住址", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, encoding="utf-8-sig")
    assert written["address_unit"].tolist() == [units["unit_id"].iloc[7]]
    assert written["match_kind"].tolist() == ["exact"]
    assert written["grid_code"].astype(str).tolist() == [units["grid_code"].iloc[7]]
