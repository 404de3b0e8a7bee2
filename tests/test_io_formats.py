"""Files Chinese analysts really have: DataV GeoJSON, CRS-suffixed coordinate headers, KML/KMZ, EPSG:4490.

Fixtures are written in code; the DataV layout follows
``geo.datav.aliyun.com/areas_v3/bound/450100_full.json`` (see tests/fixtures/README.md), with simplified
squares for the districts.
"""

from __future__ import annotations

import json
import warnings
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridmap.cases import read_cases
from gridmap.cli import main
from gridmap.crs import bd09_to_gcj02, gcj02_to_wgs84
from gridmap.errors import CRSError, GridmapWarning, ReadError
from gridmap.io import read_layer, read_table, record_labels, write_layer
from gridmap.io._columns import header_system

# --- DataV atlas --------------------------------------------------------------------------------------------

def _square(x: float, y: float, size: float = 0.1) -> dict:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "MultiPolygon", "coordinates": [[ring]]}


def _district(adcode, name, index, geometry, *, parent=450100, level="district") -> dict:
    x, y = geometry or (108.0, 22.0)
    return {"type": "Feature", "geometry": _square(x, y) if geometry else None,
            "properties": {"adcode": adcode, "name": name, "center": [x + 0.02, y + 0.02],
                           "centroid": [x + 0.05, y + 0.05], "childrenNum": 6, "level": level,
                           "parent": {"adcode": parent}, "subFeatureIndex": index,
                           "acroutes": [100000, 450000, parent]}}


def _datav(tmp_path, features, name="450100_full.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


@pytest.fixture
def datav(tmp_path):
    """A DataV ``_full`` file of a city: three districts, the nine-dash line feature last."""
    features = [_district(450102, "兴宁区", 0, (108.3, 22.8)), _district(450103, "青秀区", 1, (108.4, 22.8)),
                _district(450105, "江南区", 2, (108.3, 22.7)),
                {"type": "Feature", "geometry": _square(112.0, 10.0, 0.01),
                 "properties": {"adcode": "100000_JD", "name": "", "adchar": "JD"}}]
    return _datav(tmp_path, features)


def test_datav_codes_parents_and_nested_values(datav):
    with pytest.warns(GridmapWarning, match=r"1 features left out: feature 4 \(100000_JD\)"):
        layer = read_layer(datav)
    assert layer["code"].tolist() == ["450102", "450103", "450105"]
    assert layer["parent_code"].tolist() == ["4501"] * 3  # 450100 is the city 4501, padded
    assert layer["name"].tolist() == ["兴宁区", "青秀区", "江南区"]
    assert (layer["level"] == "district").all()
    assert json.loads(layer.loc[0, "acroutes"]) == [100000, 450000, 450100]
    assert json.loads(layer.loc[1, "center"]) == pytest.approx([108.42, 22.82])
    assert "adcode" not in layer.columns and "parent" not in layer.columns
    assert layer["childrenNum"].tolist() == [6, 6, 6] and str(layer["subFeatureIndex"].dtype) == "int64"
    assert layer.crs.to_epsg() == 4326
    assert record_labels(layer).tolist() == ["feature 1", "feature 2", "feature 3"]
    assert shapely.equals(layer.geometry[2], shapely.geometry.shape(_square(108.3, 22.7))).all()


def test_datav_city_outline_and_municipality_parents(tmp_path):
    """The city's own feature is left out; a district whose DataV parent is the province gets its city."""
    features = [_district(450100, "南宁市", 0, (108.3, 22.7), parent=450000, level="city"),
                _district(450102, "兴宁区", 0, (108.3, 22.8)),
                _district(110101, "东城区", 0, (116.4, 39.9), parent=110000)]
    with pytest.warns(GridmapWarning, match=r"feature 1 \(450100 南宁市\): the outline"):
        layer = read_layer(_datav(tmp_path, features))
    assert layer["code"].tolist() == ["450102", "110101"]
    assert layer["parent_code"].tolist() == ["4501", "1101"]
    assert record_labels(layer).tolist() == ["feature 2", "feature 3"]


def test_datav_padded_levels(tmp_path):
    """Province and city adcodes are cut to 2 and 4 digits, 12-digit street codes to 9."""
    features = [_district(450000, "广西壮族自治区", 0, (108.3, 22.8), parent=100000, level="province"),
                _district(440100, "广州市", 0, (113.2, 23.1), parent=440000, level="city"),
                _district(450102001000, "民生街道", 0, (108.5, 22.8), parent=450102, level="street")]
    layer = read_layer(_datav(tmp_path, features, "mixed.json"))
    assert layer["code"].tolist() == ["45", "4401", "450102001"]
    assert pd.isna(layer.loc[0, "parent_code"]) and layer["parent_code"].tolist()[1:] == ["44", "450102"]


def test_datav_feature_without_geometry_is_kept_and_checked(tmp_path):
    features = [_district(450102, "兴宁区", 0, (108.3, 22.8)), _district(450103, "青秀区", 1, None)]
    layer = read_layer(_datav(tmp_path, features))
    assert layer["code"].tolist() == ["450102", "450103"]
    assert layer.geometry.isna().tolist() == [False, True]


@pytest.mark.parametrize("extra", [[], ["--communities"]])
def test_datav_through_gridmap_check(datav, extra):
    """``gridmap check`` on a DataV file exits 0 or 1 with findings, never with a traceback."""
    args = ["check", str(datav), *([*extra, str(datav)] if extra else [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "100000_JD" in result.output  # the feature left out is reported


@pytest.mark.parametrize("suffix", [".gpkg", ".csv", ".xlsx", ".parquet", ".geojson"])
def test_datav_layer_written_to_every_format_round_trips(datav, tmp_path, suffix):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)
        layer = read_layer(datav)
    out = write_layer(layer, tmp_path / f"out{suffix}")
    back = read_layer(out)
    assert back["code"].tolist() == layer["code"].tolist()
    assert back["parent_code"].tolist() == ["4501"] * 3
    assert back["name"].tolist() == ["兴宁区", "青秀区", "江南区"]
    assert [json.loads(text) for text in back["acroutes"]] == [[100000, 450000, 450100]] * 3
    assert shapely.equals_exact(back.geometry.to_numpy(), layer.geometry.to_numpy(), tolerance=1e-12).all()


def test_nested_properties_of_any_geojson_become_json_text(tmp_path):
    """Dicts and lists in an ordinary GeoJSON (not DataV): JSON text with Chinese kept; nulls stay missing."""
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [108.3, 22.8]},
                 "properties": {"名称": "翠竹苑", "户数": 320, "标签": ["老旧小区", "加装电梯"],
                                "联系人": {"姓名": "黄丽", "电话": "13800000000"},
                                "parent": {"adcode": 450102}}},
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [108.31, 22.81]},
                 "properties": {"名称": "金湖苑", "户数": None, "标签": None, "联系人": None,
                                "parent": None}}]
    path = tmp_path / "units.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    units = read_layer(path)
    assert units.loc[0, "标签"] == '["老旧小区", "加装电梯"]'
    assert json.loads(units.loc[0, "联系人"]) == {"姓名": "黄丽", "电话": "13800000000"}
    assert units.loc[0, "parent_code"] == '{"adcode": 450102}'  # not DataV: kept as text for the checks
    assert pd.isna(units.loc[1, "标签"]) and pd.isna(units.loc[1, "households"])
    for suffix in (".gpkg", ".csv", ".xlsx", ".parquet"):
        back = read_layer(write_layer(units, tmp_path / f"back{suffix}"))
        assert back.loc[0, "标签"] == '["老旧小区", "加装电梯"]'


def test_lists_in_a_parquet_table_become_json_text(tmp_path):
    path = tmp_path / "staff.parquet"
    pd.DataFrame({"姓名": ["黄丽", "韦强"], "网格": [["G1", "G2"], None]}).to_parquet(path)
    table = read_table(path)
    assert table["网格"].tolist() == ['["G1", "G2"]', None]


# --- coordinate headers that name their system -------------------------------------------------------------

_GCJ = (108.33, 22.82)


@pytest.mark.parametrize("lon, lat", [
    ("经度_gcj02", "纬度_gcj02"), ("lng_gcj02", "lat_gcj02"), ("经度(GCJ02)", "纬度（GCJ02）"),
    ("gcj02_lng", "gcj02_lat"), ("GCJ02经度", "GCJ02纬度"), ("Longitude-GCJ-02", "Latitude-GCJ-02"),
])
def test_gcj02_headers_convert_as_coords_gcj02_would(tmp_path, lon, lat):
    path = tmp_path / "units.csv"
    path.write_text(f"小区名称,{lon},{lat},户数\n翠竹苑,{_GCJ[0]},{_GCJ[1]},\n", encoding="gbk")
    units = read_layer(path)
    plain = tmp_path / "plain.csv"
    plain.write_text(f"小区名称,经度,纬度\n翠竹苑,{_GCJ[0]},{_GCJ[1]}\n", encoding="utf-8")
    expected = read_layer(plain, coords="gcj02")
    assert units.crs == expected.crs
    assert units.geometry[0].equals_exact(expected.geometry[0], 1e-12)
    x, y = gcj02_to_wgs84(*_GCJ)
    assert (units.geometry[0].x, units.geometry[0].y) == pytest.approx((float(x), float(y)), abs=1e-9)
    assert list(units.columns) == ["name", "households", "geometry"]
    assert pd.isna(units.loc[0, "households"])


def test_bd09_wgs84_and_cgcs2000_headers(tmp_path):
    path = tmp_path / "bd.xlsx"
    sites = pd.DataFrame({"名称": ["市一医院"], "经度_bd09": [108.34], "纬度_bd09": [22.83]})
    sites.to_excel(path, index=False)
    point = read_layer(path).geometry[0]
    x, y = gcj02_to_wgs84(*bd09_to_gcj02(108.34, 22.83))
    assert (point.x, point.y) == pytest.approx((float(x), float(y)), abs=1e-9)
    wgs = tmp_path / "wgs.csv"
    wgs.write_text("名称,lng_wgs84,lat_wgs84\n甲,108.3,22.8\n", encoding="utf-8")
    layer = read_layer(wgs)
    assert layer.crs.to_epsg() == 4326 and layer.geometry[0].coords[0] == (108.3, 22.8)
    cgcs = tmp_path / "cgcs.csv"
    cgcs.write_text("名称,经度_cgcs2000,纬度_cgcs2000\n甲,108.3,22.8\n", encoding="utf-8")
    assert read_layer(cgcs).crs.to_epsg() == 4490


def test_coords_that_contradict_the_header_is_an_error(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("名称,经度_gcj02,纬度_gcj02\n甲,108.33,22.82\n", encoding="utf-8")
    with pytest.raises(CRSError, match=r"'经度_gcj02'/'纬度_gcj02' say the coordinates are GCJ-02, "
                                       r"but coords='bd09'.*pass coords='gcj02'"):
        read_layer(path, coords="bd09")
    assert read_layer(path, coords="gcj02").geometry[0].equals(read_layer(path).geometry[0])


def test_longitude_and_latitude_headers_naming_different_systems(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("名称,经度_gcj02,纬度_bd09\n甲,108.33,22.82\n", encoding="utf-8")
    with pytest.raises(CRSError, match="name different coordinate systems: '经度_gcj02' GCJ-02 and "
                                       "'纬度_bd09' BD-09"):
        read_layer(path)


def test_wgs84_pair_preferred_over_gcj02_pair_and_said(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("名称,经度_gcj02,纬度_gcj02,经度_wgs84,纬度_wgs84\n甲,108.33,22.82,108.3245,22.8228\n",
                    encoding="utf-8")
    with pytest.warns(GridmapWarning, match=r"coordinates read from '经度_wgs84'/'纬度_wgs84'.*'经度_gcj02'"):
        layer = read_layer(path)
    assert layer.geometry[0].coords[0] == (108.3245, 22.8228)
    assert layer.loc[0, "经度_gcj02"] == 108.33  # the other pair is kept as it is
    with pytest.warns(GridmapWarning, match=r"read from '经度_gcj02'/'纬度_gcj02'"):
        declared = read_layer(path, coords="gcj02")  # the declared system's pair wins
    x, y = gcj02_to_wgs84(*_GCJ)
    assert declared.geometry[0].x == pytest.approx(float(x), abs=1e-9)


def test_plain_headers_win_over_suffixed_ones(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("名称,经度,纬度,lng_bd09,lat_bd09\n甲,108.3,22.8,108.34,22.83\n", encoding="utf-8")
    with pytest.warns(GridmapWarning, match="kept as they are"):
        layer = read_layer(path)
    assert layer.geometry[0].coords[0] == (108.3, 22.8)


def test_suffixed_headers_in_a_geojson_do_not_touch_its_geometry(tmp_path):
    path = tmp_path / "units.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [108.3, 22.8]},
         "properties": {"名称": "甲", "lng_gcj02": 108.31, "lat_gcj02": 22.81}}]}), encoding="utf-8")
    assert read_layer(path).geometry[0].coords[0] == (108.3, 22.8)


def test_case_list_with_gcj02_headers(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("事件编号,上报时间,经度_gcj02,纬度_gcj02\nE1,2024-01-02 09:00,108.33,22.82\n",
                    encoding="utf-8")
    cases = read_cases(path)
    x, y = gcj02_to_wgs84(*_GCJ)
    assert (cases.geometry[0].x, cases.geometry[0].y) == pytest.approx((float(x), float(y)), abs=1e-9)
    with pytest.raises(CRSError, match="say the coordinates are GCJ-02, but coords='wgs84'"):
        read_cases(path, coords="wgs84")


_SYSTEMS = {"wgs84": ["wgs84", "WGS-84", "wgs_84"], "gcj02": ["gcj02", "GCJ-02"], "bd09": ["bd09", "BD-09"],
            "cgcs2000": ["cgcs2000", "CGCS2000"]}
_FORMS = ["{base}_{system}", "{base}({system})", "{base}（{system}）", "{system}_{base}", "{system}{base}",
          "{base}-{system}", "{base}{system}", " {base}_{system} "]


@given(target=st.sampled_from(["lon", "lat"]), system=st.sampled_from(sorted(_SYSTEMS)), data=st.data())
def test_every_spelling_of_a_suffixed_header_is_recognised(target, system, data):
    bases = {"lon": ["经度", "lng", "lon", "Longitude", "x"], "lat": ["纬度", "lat", "LATITUDE", "y"]}[target]
    base, spelled = data.draw(st.sampled_from(bases)), data.draw(st.sampled_from(_SYSTEMS[system]))
    header = data.draw(st.sampled_from(_FORMS)).format(base=base, system=spelled)
    assert header_system(header) == (target, system)


@pytest.mark.parametrize("header", ["经度", "备注_gcj02", "gcj02", "地址(WGS84)", "经度_gcj"])
def test_other_headers_name_no_system(header):
    assert header_system(header) is None


# --- KML / KMZ ----------------------------------------------------------------------------------------------

_KML = """<?xml version="1.0" encoding="{encoding}"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>兴宁区网格</name>
<Schema name="grids" id="grids"><SimpleField name="网格编码" type="string"/>
<SimpleField name="户数" type="int"/></Schema>
<Folder><name>网格</name>
<Placemark><name>民生社区第一网格</name>
 <ExtendedData><SchemaData schemaUrl="#grids"><SimpleData name="网格编码">450102001003001</SimpleData>
 <SimpleData name="户数">320</SimpleData></SchemaData></ExtendedData>
 <Polygon><outerBoundaryIs><LinearRing><coordinates>108.30,22.80,0 108.31,22.80,0 108.31,22.81,0
 108.30,22.81,0 108.30,22.80,0</coordinates></LinearRing></outerBoundaryIs>
 <innerBoundaryIs><LinearRing><coordinates>108.302,22.802 108.304,22.802 108.304,22.804 108.302,22.802
 </coordinates></LinearRing></innerBoundaryIs></Polygon></Placemark>
<Placemark><name>民生社区第二网格</name>
 <ExtendedData><SchemaData schemaUrl="#grids"><SimpleData name="网格编码">450102001003002</SimpleData>
 </SchemaData></ExtendedData>
 <MultiGeometry><Polygon><outerBoundaryIs><LinearRing><coordinates>108.31,22.80 108.32,22.80 108.32,22.81
 108.31,22.80</coordinates></LinearRing></outerBoundaryIs></Polygon><Polygon><outerBoundaryIs><LinearRing>
 <coordinates>108.33,22.80 108.34,22.80 108.34,22.81 108.33,22.80</coordinates></LinearRing></outerBoundaryIs>
 </Polygon></MultiGeometry>
</Placemark></Folder>
<Folder><name>小区</name>
<Placemark><name>翠竹苑</name><description>老旧小区</description>
 <ExtendedData><Data name="户数"><value>120</value></Data><Data name="类型"><value>小区</value></Data>
 <Data name="备注"><value></value></Data></ExtendedData>
 <Point><coordinates>108.305,22.805,35.5</coordinates></Point></Placemark>
</Folder></Document></kml>
"""


def _kml(tmp_path, name="ovital.kml", encoding="UTF-8"):
    path = tmp_path / name
    path.write_bytes(_KML.format(encoding=encoding).encode(encoding))
    return path


def _check_kml_layer(layer):
    assert layer["name"].tolist() == ["民生社区第一网格", "民生社区第二网格", "翠竹苑"]
    assert layer["folder"].tolist() == ["网格", "网格", "小区"]
    assert layer["grid_code"].tolist()[:2] == ["450102001003001", "450102001003002"]
    assert layer["households"].tolist()[0] == 320 and pd.isna(layer["households"][1])
    assert layer.loc[2, "households"] == 120 and layer.loc[2, "kind"] == "小区"
    assert layer["备注"].isna().all() and layer.loc[2, "description"] == "老旧小区"
    assert layer.crs.to_epsg() == 4326
    assert not shapely.has_z(layer.geometry.to_numpy()).any()  # altitude dropped
    assert layer.geometry.geom_type.tolist() == ["Polygon", "MultiPolygon", "Point"]
    assert len(layer.geometry[0].interiors) == 1
    assert layer.geometry[2].coords[0] == (108.305, 22.805)
    assert record_labels(layer).tolist() == ["feature 1", "feature 2", "feature 3"]


def test_kml_from_a_map_tool(tmp_path):
    _check_kml_layer(read_layer(_kml(tmp_path)))


@pytest.mark.parametrize("encoding", ["GBK", "GB18030"])
def test_kml_declared_gbk(tmp_path, encoding):
    _check_kml_layer(read_layer(_kml(tmp_path, encoding=encoding)))


def test_kml_declared_gb2312_holding_gbk_characters(tmp_path):
    path = tmp_path / "gb2312.kml"
    path.write_bytes(_KML.format(encoding="GB2312").replace("翠竹苑", "翠竹苑·堃").encode("gbk"))
    assert read_layer(path).loc[2, "name"] == "翠竹苑·堃"  # 堃 is GBK, not GB2312


def test_kml_field_called_name_keeps_the_placemark_name(tmp_path):
    path = tmp_path / "fields.kml"
    path.write_text('<kml><Document><Placemark><name>市一医院</name><ExtendedData><Data name="name"><value>'
                    'No.1 Hospital</value></Data></ExtendedData><Point><coordinates>108.3,22.8</coordinates>'
                    '</Point></Placemark></Document></kml>', encoding="utf-8")
    layer = read_layer(path)
    assert layer.loc[0, "name"] == "市一医院" and layer.loc[0, "name.1"] == "No.1 Hospital"


def test_kmz_is_a_zip_with_doc_kml(tmp_path):
    kml = _kml(tmp_path)
    kmz = tmp_path / "ovital.kmz"
    with zipfile.ZipFile(kmz, "w") as archive:
        archive.write(kml, "doc.kml")
        archive.writestr("files/icon.png", b"\x89PNG")
    _check_kml_layer(read_layer(kmz))


def test_kml_read_as_wgs84_unless_coords_says_gcj02(tmp_path):
    path = _kml(tmp_path)
    shifted = read_layer(path, coords="gcj02").geometry[2]
    x, y = gcj02_to_wgs84(108.305, 22.805)
    assert (shifted.x, shifted.y) == pytest.approx((float(x), float(y)), abs=1e-9)


def test_broken_kml_files_are_named(tmp_path):
    cut = tmp_path / "cut.kml"
    cut.write_bytes(_kml(tmp_path).read_bytes()[:300])
    with pytest.raises(ReadError, match="cut.kml: .*(cut off|invalid KML)"):
        read_layer(cut)
    bad = tmp_path / "bad.kml"
    bad.write_text(_KML.format(encoding="UTF-8").replace("108.305,22.805,35.5", "108.305;22.805"), "utf-8")
    with pytest.raises(ReadError, match=r"feature 3.*'108.305;22.805', not lon,lat"):
        read_layer(bad)
    short = tmp_path / "short.kml"
    short.write_text(_KML.format(encoding="UTF-8").replace(
        "108.31,22.80 108.32,22.80 108.32,22.81\n 108.31,22.80", "108.31,22.80 108.32,22.80"), "utf-8")
    with pytest.raises(ReadError, match=r"short.kml, feature 2: the geometry .* cannot be built"):
        read_layer(short)
    empty = tmp_path / "empty.kmz"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "no kml")
    with pytest.raises(ReadError, match="the KMZ holds no .kml document"):
        read_layer(empty)


# --- GeoJSON with a legacy crs member -----------------------------------------------------------------------

def test_geojson_in_epsg_4490_with_a_crs_member(tmp_path):
    path = tmp_path / "communities.geojson"
    ring = [[108.30, 22.80], [108.31, 22.80], [108.31, 22.81], [108.30, 22.80]]
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
        "features": [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                      "properties": {"名称": "民生社区", "社区代码": "450102001003", "户数": None}}],
    }, ensure_ascii=False), encoding="utf-8")
    layer = read_layer(path)
    assert layer.crs.to_epsg() == 4490
    assert layer.geometry[0].exterior.coords[0] == (108.30, 22.80)  # lon, lat: no axis swap
    assert layer.loc[0, "community_code"] == "450102001003" and pd.isna(layer.loc[0, "households"])
    written = write_layer(layer, tmp_path / "back.gpkg")
    assert gpd.read_file(written).crs.to_epsg() == 4490
    assert np.allclose(read_layer(written).geometry[0].exterior.coords, ring)


# --- ECharts' compressed map files --------------------------------------------------------------------------

def _encode_ring(points: list[list[float]], offsets: list[int]) -> str:
    """Encode a ring as ECharts' encoder does (quantise by 1024, zigzag deltas, plus 64)."""
    previous = [int(np.ceil(points[0][0] * 1024)), int(np.ceil(points[0][1] * 1024))]
    offsets.extend(previous)
    text = ""
    for point in points:
        for axis in (0, 1):
            value = int(np.ceil(point[axis] * 1024))
            delta = value - previous[axis]
            text += chr(((delta << 1) ^ (delta >> 15)) + 64)
            previous[axis] = value
    return text


def test_echarts_compressed_map_file(tmp_path):
    rings = [[[108.3, 22.8], [108.4, 22.8], [108.4, 22.9], [108.3, 22.9], [108.3, 22.8]],
             [[108.5, 22.8], [108.6, 22.8], [108.6, 22.9], [108.5, 22.8]]]
    offsets: list[list[int]] = [[], []]
    encoded = [_encode_ring(ring, offset) for ring, offset in zip(rings, offsets, strict=True)]
    document = {"type": "FeatureCollection", "UTF8Encoding": True, "features": [
        {"id": "450102", "type": "Feature",
         "properties": {"name": "兴宁区", "cp": [108.35, 22.85], "childNum": 1},
         "geometry": {"type": "MultiPolygon", "coordinates": [[encoded[0]], [encoded[1]]],
                      "encodeOffsets": [[offsets[0]], [offsets[1]]]}},
        {"id": "450103", "type": "Feature", "properties": {"name": "青秀区", "cp": None, "childNum": None},
         "geometry": {"type": "Polygon", "coordinates": [encoded[0]], "encodeOffsets": [offsets[0]]}}]}
    path = tmp_path / "nanning.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    layer = read_layer(path)
    assert layer["name"].tolist() == ["兴宁区", "青秀区"]
    assert layer.loc[0, "cp"] == "[108.35, 22.85]" and pd.isna(layer.loc[1, "cp"])
    expected = shapely.MultiPolygon([shapely.Polygon(rings[0]), shapely.Polygon(rings[1])])
    step = np.hypot(1, 1) / 1024  # ECharts keeps 1/1024 degree on each axis
    assert layer.geometry[0].equals_exact(expected, step)
    assert layer.geometry[1].equals_exact(shapely.Polygon(rings[0]), step)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.text("兴宁区abc-_ \"'\\{}[]:,", max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("名称abc", min_size=1, max_size=3),
                                                                inner, max_size=3),
    max_leaves=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nested=st.lists(st.lists(_JSON, max_size=3) | st.dictionaries(st.text("ab", min_size=1, max_size=2),
                                                                     _JSON, min_size=1, max_size=3),
                       min_size=3, max_size=3))
def test_any_nested_property_is_read_as_its_json_text(tmp_path, nested):
    """Lists and objects of text, whole numbers, booleans and nulls come back as JSON text loading equal."""
    keys = ["标签", "联系人", "extra"]
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [108.3, 22.8]},
               "properties": {"名称": "翠竹苑", **dict(zip(keys, nested, strict=True))}}
    path = tmp_path / "nested.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False),
                    encoding="utf-8")
    layer = read_layer(path)
    for key, value in zip(keys, nested, strict=True):
        assert json.loads(layer.loc[0, key]) == value
    back = read_layer(write_layer(layer, tmp_path / "nested.gpkg"))
    assert back.loc[0, keys].tolist() == layer.loc[0, keys].tolist()


def test_echarts_ring_too_short_is_named(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "UTF8Encoding": True, "features": [
        {"type": "Feature", "properties": {"name": "南宁市"},
         "geometry": {"type": "Polygon", "coordinates": ["@@BA"], "encodeOffsets": [[110900, 23347]]}}]}),
        encoding="utf-8")
    with pytest.raises(ReadError, match=r"broken.json, feature 1: the geometry .* cannot be decoded"):
        read_layer(path)


def test_lists_of_one_type_keep_every_value(tmp_path):
    """GDAL would type [false, false] as a boolean list (read as one False) and fail on [true, false]."""
    path = tmp_path / "lists.geojson"
    properties = {"名称": "翠竹苑", "整改": [True, False], "楼号": [1, 2, 3], "面积": [1.5, 2.25],
                  "空": [False]}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [108.3, 22.8]},
         "properties": properties}]}, ensure_ascii=False), encoding="utf-8")
    layer = read_layer(path)
    for key in ("整改", "楼号", "面积", "空"):
        assert json.loads(layer.loc[0, key]) == properties[key]


def test_suffixed_headers_under_a_title_and_a_group_cell(tmp_path):
    """A title row above, 位置 merged over 经度_gcj02/纬度_gcj02 in the row below: found and read."""
    path = tmp_path / "units.csv"
    path.write_text("兴宁区小区坐标表,,,\n小区,户数,位置,\n,,经度_gcj02,纬度_gcj02\n翠竹苑,320,108.33,22.82\n",
                    encoding="utf-8")
    units = read_layer(path)
    x, y = gcj02_to_wgs84(*_GCJ)
    assert (units.geometry[0].x, units.geometry[0].y) == pytest.approx((float(x), float(y)), abs=1e-9)
    assert units.loc[0, "households"] == 320 and record_labels(units).tolist() == ["row 4"]


def test_explicit_lon_lat_naming_a_suffixed_header(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("名称,东经_gcj02,北纬_gcj02\n甲,108.33,22.82\n", encoding="utf-8")
    with pytest.raises(ReadError, match="no coordinate columns"):
        read_layer(path)  # 东经/北纬 are no aliases: the user names them
    point = read_layer(path, lon="东经_gcj02", lat="北纬_gcj02").geometry[0]
    assert point.x == pytest.approx(float(gcj02_to_wgs84(*_GCJ)[0]), abs=1e-9)


def test_real_amap_polygons_in_the_datav_layout(shared_data, tmp_path):
    """Nanning's counties from Amap (DataV's source), written in the DataV layout, land on the CGCS2000 ones.

    Read with coords="gcj02" they must fall onto the official polygons: centroids a few metres apart, where
    the GCJ-02 shift puts them hundreds of metres off.
    """
    amap = gpd.read_file(shared_data / "boundaries" / "cnmaps_amap_45_gcj02.geojson")
    nanning = amap[amap["adcode"].str.startswith("4501")].reset_index(drop=True)
    names = nanning["district"].fillna(nanning["city"])
    features = [{"type": "Feature", "geometry": shapely.geometry.mapping(row.geometry),
                 "properties": {"adcode": int(row.adcode), "name": names[row.Index],
                                "level": "city" if row.level == "市" else "district",
                                "parent": {"adcode": 450000 if row.level == "市" else 450100},
                                "center": [row.geometry.centroid.x, row.geometry.centroid.y],
                                "acroutes": [100000, 450000] + ([] if row.level == "市" else [450100])}}
                for row in nanning.itertuples()]
    features.append({"type": "Feature", "geometry": None, "properties": {"adcode": "100000_JD", "name": ""}})
    path = _datav(tmp_path, features)
    with pytest.warns(GridmapWarning, match=r"2 features left out: feature 1 \(450100 南宁市\).*100000_JD"):
        layer = read_layer(path, coords="gcj02")
    assert len(layer) == 12 and (layer["parent_code"] == "4501").all()
    assert record_labels(layer).tolist() == [f"feature {n}" for n in range(2, 14)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)
        shifted = read_layer(path)
    official = gpd.read_file(shared_data / "boundaries" / "fastgeocn_guangxi_45_cgcs2000.geojson")
    official["code"] = official["gb"].str[3:]
    metric = 4545
    truth = official.set_index("code").to_crs(metric).centroid
    def offsets(frame):
        centroids = frame.set_index("code").to_crs(metric).centroid
        common = centroids.index.intersection(truth.index)
        return centroids[common].distance(truth[common])
    after, before = offsets(layer), offsets(shifted)
    assert len(after) >= 11  # 横州市 has a new code (450181) in the official file
    print(f"median centroid offset: {before.median():.0f} m as read, {after.median():.0f} m as GCJ-02")
    assert after.median() < 100 < 300 < before.median()


def test_a_wkt_column_wins_and_the_suffixed_headers_name_nothing(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text('名称,经度_gcj02,纬度_gcj02,WKT\n甲,108.33,22.82,"POINT (108.3 22.8)"\n',
                    encoding="utf-8")
    assert read_layer(path).geometry[0].coords[0] == (108.3, 22.8)
    named = read_layer(path, lon="经度_gcj02", lat="纬度_gcj02").geometry[0]
    assert named.x == pytest.approx(float(gcj02_to_wgs84(*_GCJ)[0]), abs=1e-9)
