"""Tests of gridmap.io reading: encodings, headers, codes, counts, coordinates, CRS and every error."""

from __future__ import annotations

import codecs
import json
import os
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, Polygon

from gridmap.crs import convert, is_in_china
from gridmap.errors import CodeError, CRSError, GridmapWarning, ReadError, SchemaError
from gridmap.io import list_layers, load_city, read_layer, read_table
from gridmap.io._encoding import detect_dbf_encoding
from gridmap.io.read import _read_geopackage, layers_listed_once

FIXTURES = Path(__file__).parent / "fixtures"

HEADER = "小区名称,单元编号,社区代码,户数,人口,经度,纬度,备注"
ROWS = [
    "翠竹苑,001,450102001003,320,1024,108.3203,22.8171,老小区",
    "那坡屯,002,450102001203,85,,108.4102,22.8705,",
]
#: 㐀 (U+3400) is in GB18030 but not in GBK: it proves a file is read as GB18030, not GBK.
RARE_ROWS = [*ROWS, "㐀家村,003,450102001204,40,120,108.4,22.9,生僻字"]


def csv_bytes(rows: list[str], encoding: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def units_frame(n: int = 2) -> gpd.GeoDataFrame:
    """The frame ROWS describe, built independently of the reader."""
    frame = gpd.GeoDataFrame(
        {
            "name": pd.Series(["翠竹苑", "那坡屯"][:n], dtype="str"),
            "unit_id": pd.Series(["001", "002"][:n], dtype="str"),
            "community_code": pd.Series(["450102001003", "450102001203"][:n], dtype="str"),
            "households": pd.array([320, 85][:n], dtype="Int64"),
            "population": pd.array([1024, None][:n], dtype="Int64"),
            "备注": pd.Series(["老小区", None][:n], dtype="str"),
        },
        geometry=[Point(108.3203, 22.8171), Point(108.4102, 22.8705)][:n],
        crs=4326,
    )
    return frame


# --- CSV encodings --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "encoding, rows",
    [("gbk", ROWS), ("gb18030", RARE_ROWS), ("utf-8-sig", RARE_ROWS), ("utf-16", RARE_ROWS)],
)
def test_csv_in_any_chinese_encoding_reads_like_its_utf8_twin(tmp_path, encoding, rows):
    twin = read_layer(write(tmp_path / "utf8.csv", csv_bytes(rows, "utf-8")))
    other = read_layer(write(tmp_path / f"{encoding}.csv", csv_bytes(rows, encoding)))
    assert_geodataframe_equal(other, twin)
    assert other["name"].tolist()[: len(rows)] == [row.split(",")[0] for row in rows]


def test_gb18030_fixture_really_needs_gb18030():
    data = csv_bytes(RARE_ROWS, "gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_csv_reads_model_columns_codes_counts_and_points(tmp_path):
    frame = read_layer(write(tmp_path / "units.csv", csv_bytes(ROWS, "gbk")))
    assert_geodataframe_equal(frame, units_frame())
    assert frame.crs.to_epsg() == 4326


def test_csv_encoding_argument_reads_big5(tmp_path):
    header = "name,unit_id,code,lng,lat,備註"
    path = write(tmp_path / "big5.csv", csv_bytes(["翠竹園,001,450102001003,108.3,22.8,舊"], "big5", header))
    frame = read_layer(path, encoding="big5")
    assert frame.loc[0, "name"] == "翠竹園" and frame.loc[0, "備註"] == "舊"


def test_undecodable_csv_names_file_line_and_fix(tmp_path):
    path = write(tmp_path / "broken.csv", csv_bytes(ROWS, "utf-8") + b"\x80\x80,1\n")
    with pytest.raises(ReadError,
                       match=r"broken\.csv, line 4: text is not UTF-8 or GB18030.*Fix: pass.*encoding="):
        read_layer(path)


def test_wrong_encoding_argument_is_refused(tmp_path):
    path = write(tmp_path / "gb.csv", csv_bytes(RARE_ROWS, "gb18030"))
    with pytest.raises(ReadError, match=r"gb\.csv, line 1: text is not ascii.*encoding="):
        read_layer(path, encoding="ascii")


# --- headers --------------------------------------------------------------------------------------------

def test_headers_with_blanks_bom_and_fullwidth_spaces_are_normalised(tmp_path):
    header = "\ufeff 小区名称 ,单元编号,社区代码,户　数,人口,ＬＮＧ,Lat ,备注"
    frame = read_layer(write(tmp_path / "h.csv", csv_bytes(ROWS, "utf-8", header=header)))
    assert list(frame.columns) == ["name", "unit_id", "community_code", "households", "population", "备注",
                                   "geometry"]


def test_two_headers_for_one_column_name_both(tmp_path):
    path = write(tmp_path / "dup.csv", "名称,小区名称,经度,纬度\nA,B,108.3,22.8\n".encode())
    with pytest.raises(SchemaError, match=r"dup\.csv: columns '名称' and '小区名称' both mean 'name'"
                                          r".*Fix: rename or delete one"):
        read_layer(path)


def test_unknown_columns_are_kept_and_numbers_inferred_without_losing_identifiers(tmp_path):
    text = "名称,面积,楼号,身份证号,经度,纬度\nA,1.5,3,012345678901234567,108.3,22.8\nB,2,4,,108.4,22.9\n"
    frame = read_layer(write(tmp_path / "u.csv", text.encode()))
    assert frame["面积"].tolist() == [1.5, 2.0]
    assert frame["楼号"].tolist() == [3, 4]
    assert frame.loc[0, "身份证号"] == "012345678901234567"


def test_csv_title_row_above_header_is_skipped(tmp_path):
    text = "兴宁区小区统计表,,,,,,,\n\n" + "\n".join([HEADER, *ROWS]) + "\n"
    frame = read_layer(write(tmp_path / "title.csv", text.encode("gbk")))
    assert_geodataframe_equal(frame, units_frame())


def test_windows_line_ends_and_quoted_separators(tmp_path):
    text = '兴宁区小区统计表,,\r\n名称,经度,纬度\r\n"翠竹苑, 东区",108.3,22.8\r\n'
    frame = read_layer(write(tmp_path / "crlf.csv", text.encode("gbk")))
    assert frame["name"].tolist() == ["翠竹苑, 东区"] and frame.geometry[0].equals(Point(108.3, 22.8))


def test_semicolon_and_tab_separated_files(tmp_path):
    plain = read_layer(write(tmp_path / "c.csv", csv_bytes(ROWS, "utf-8")))
    semicolon = [row.replace(",", ";") for row in ROWS]
    assert_geodataframe_equal(
        read_layer(write(tmp_path / "s.csv", csv_bytes(semicolon, "utf-8", HEADER.replace(",", ";")))), plain)
    tabs = [row.replace(",", "\t") for row in ROWS]
    assert_geodataframe_equal(
        read_layer(write(tmp_path / "t.tsv", csv_bytes(tabs, "utf-8", HEADER.replace(",", "\t")))), plain)



def test_a_list_inside_a_field_does_not_decide_the_separator(tmp_path):
    # a comma file whose unquoted field lists codes with ';' (more ';' than ',' on a line)
    text = ("人员编号,姓名,联系社区\nP1,张三,990101001001;990101001002;990101001003;990101001004\n"
            "P2,李四,990101001005\n")
    table = read_table(write(tmp_path / "links.csv", text.encode("gbk")))
    assert table.shape == (2, 3)
    assert table.iloc[0, 2] == "990101001001;990101001002;990101001003;990101001004"


def test_a_decimal_comma_in_a_semicolon_file(tmp_path):
    text = "code;name;area\n990101001001;东区;1,5\n990101001002;西区;2,25\n"
    table = read_table(write(tmp_path / "eu.csv", text.encode("utf-8")))
    assert table.shape == (2, 3) and table.iloc[1, 2] == "2,25"

# --- codes and counts -----------------------------------------------------------------------------------

def test_scientific_notation_code_raises_naming_row_column_and_fix(tmp_path):
    rows = [ROWS[0], ROWS[1].replace("450102001203", "4.50102E+11")]
    path = write(tmp_path / "sci.csv", csv_bytes(rows, "gbk"))
    with pytest.raises(CodeError, match=r"sci\.csv, row 3: column '社区代码' \(community_code\): "
                                        r"'4\.50102E\+11' "
                                        r"is in scientific notation.*Fix: format column '社区代码' as text"):
        read_layer(path)


def test_codes_written_as_floats_by_other_tools_lose_the_dot_zero(tmp_path):
    rows = [ROWS[0].replace("450102001003", "450102001003.0"), ROWS[1]]
    frame = read_layer(write(tmp_path / "f.csv", csv_bytes(rows, "utf-8")))
    assert frame["community_code"].tolist() == ["450102001003", "450102001203"]


@pytest.mark.parametrize("value, problem", [("约300", "'约300' is not a whole number"),
                                            ("-5", "-5 is negative"),
                                            ("12.5", "'12.5' is not a whole number")])
def test_bad_counts_raise_naming_row_and_value(tmp_path, value, problem):
    rows = [ROWS[0], ROWS[1].replace(",85,", f",{value},")]
    path = write(tmp_path / "counts.csv", csv_bytes(rows, "utf-8"))
    with pytest.raises(SchemaError, match=rf"counts\.csv, row 3: column '户数' \(households\): {problem}.*"
                                          r"Fix: enter whole numbers"):
        read_layer(path)


def test_counts_accept_thousands_separators_and_blanks(tmp_path):
    rows = ['翠竹苑,001,450102001003,"1,250",,108.3,22.8,']
    frame = read_layer(write(tmp_path / "k.csv", csv_bytes(rows, "utf-8")))
    assert frame["households"].tolist() == [1250] and frame["population"].isna().all()
    assert str(frame["households"].dtype) == "Int64"


# --- coordinates and WKT --------------------------------------------------------------------------------

def test_rows_without_coordinates_are_listed(tmp_path):
    rows = [ROWS[0], "那坡屯,002,450102001203,85,,,22.87,", "C,003,450102001204,1,1,108.4,,"]
    path = write(tmp_path / "nocoords.csv", csv_bytes(rows, "utf-8"))
    with pytest.raises(ReadError, match=r"nocoords\.csv, row 3, row 4: 2 records have no coordinates "
                                        r"\(经度/纬度 empty\).*Fix: fill in"):
        read_layer(path)


def test_non_numeric_coordinate_names_row_and_value(tmp_path):
    rows = [ROWS[0], ROWS[1].replace("108.4102", "东经108度")]
    path = write(tmp_path / "deg.csv", csv_bytes(rows, "utf-8"))
    with pytest.raises(ReadError, match=r"deg\.csv, row 3: column '经度' holds '东经108度', not a number"
                                        r".*Fix: enter decimal degrees"):
        read_layer(path)


def test_coordinate_columns_named_by_lon_lat_arguments(tmp_path):
    text = "名称,东经,北纬,x\nA,108.3,22.8,7\n"
    frame = read_layer(write(tmp_path / "named.csv", text.encode()), lon="东经", lat="北纬")
    assert frame.geometry[0].equals(Point(108.3, 22.8))
    assert frame["x"].tolist() == [7]  # an alias the user overrode stays an ordinary column


def test_lon_argument_naming_no_column_lists_the_columns(tmp_path):
    path = write(tmp_path / "named.csv", "名称,东经,北纬\nA,108.3,22.8\n".encode())
    with pytest.raises(ReadError, match=r"named\.csv: no column 'E' \(given as lon=\); "
                                        r"the columns are 名称, 东经"):
        read_layer(path, lon="E", lat="北纬")


def test_wkt_column_builds_any_geometry(tmp_path):
    square = Polygon([(108.3, 22.8), (108.31, 22.8), (108.31, 22.81), (108.3, 22.81)])
    text = f'名称,WKT\nA,"{square.wkt}"\nB,POINT (108.4 22.9)\n'
    frame = read_layer(write(tmp_path / "wkt.csv", text.encode()))
    assert frame.geometry[0].equals(square) and frame.geometry[1].equals(Point(108.4, 22.9))
    assert list(frame.columns) == ["name", "geometry"]


def test_bad_wkt_names_row(tmp_path):
    path = write(tmp_path / "wkt.csv", "名称,geometry\nA,POINT (1 2)\nB,POLYGON ((1 2\n".encode())
    with pytest.raises(ReadError, match=r"wkt\.csv, row 3: column 'geometry' holds 'POLYGON \(\(1 2', "
                                        r"which is not WKT.*Fix: write geometries as WKT"):
        read_layer(path)


def test_table_without_geometry_or_coordinates_is_refused(tmp_path):
    path = write(tmp_path / "staff.csv", "姓名,电话\n黄丽,138\n".encode())
    with pytest.raises(ReadError, match=r"staff\.csv: no geometry and no coordinate columns"
                                        r".*Fix: add 经度/纬度"):
        read_layer(path)


def test_only_one_coordinate_column_is_refused(tmp_path):
    path = write(tmp_path / "half.csv", "名称,经度\nA,108.3\n".encode())
    with pytest.raises(ReadError, match=r"half\.csv: there is no latitude .* column to go with '经度'"
                                        r".*Fix: add the column"):
        read_layer(path)


# --- CRS and coordinate systems -------------------------------------------------------------------------

def test_gcj02_coordinates_are_shifted_to_wgs84(tmp_path):
    raw = read_layer(write(tmp_path / "amap.csv", csv_bytes(ROWS, "utf-8")))
    shifted = read_layer(tmp_path / "amap.csv", coords="gcj02")
    lon, lat = convert(raw.geometry.x, raw.geometry.y, "gcj02", "wgs84")
    assert np.allclose(shifted.geometry.x, lon, atol=1e-9) and np.allclose(shifted.geometry.y, lat, atol=1e-9)
    metres = raw.to_crs(4545).distance(shifted.to_crs(4545))
    assert (metres > 100).all() and (metres < 1000).all()  # GCJ-02 offsets are hundreds of metres


def test_cgcs2000_coords_declare_epsg_4490(tmp_path):
    frame = read_layer(write(tmp_path / "c.csv", csv_bytes(ROWS, "utf-8")), coords="cgcs2000")
    assert frame.crs.to_epsg() == 4490


def test_unknown_coords_value_is_refused(tmp_path):
    path = write(tmp_path / "c.csv", csv_bytes(ROWS, "utf-8"))
    with pytest.raises(CRSError, match=r"c\.csv: coords='gcj' is not.*Fix: pass coords= one of 'wgs84'"):
        read_layer(path, coords="gcj")


def test_csv_coordinates_in_metres_with_crs(tmp_path):
    to_metres = pyproj.Transformer.from_crs(4490, 4545, always_xy=True)
    x, y = to_metres.transform(108.3203, 22.8171)
    path = write(tmp_path / "gk.csv", f"名称,x,y\nA,{x!r},{y!r}\n".encode())
    frame = read_layer(path, crs=4545)
    assert frame.crs.to_epsg() == 4490
    assert frame.geometry[0].distance(Point(108.3203, 22.8171)) < 1e-8
    with pytest.raises(CRSError, match=r"gk\.csv.*not degrees"):
        read_layer(path)


# --- Excel ----------------------------------------------------------------------------------------------

def make_xlsx(path: Path, *, title: bool) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "小区"
    if title:
        sheet.append(["兴宁区基本单元统计表"])
        sheet.merge_cells("A1:H1")
        sheet.append([])
    sheet.append(HEADER.split(","))
    sheet.append(["翠竹苑", "001", 450102001003, 320, 1024, 108.3203, 22.8171, "老小区"])  # int code cell
    sheet.append(["那坡屯", 2, 450102001203.0, 85.0, None, 108.4102, 22.8705, None])  # float code cell
    sheet.cell(sheet.max_row, 2).number_format = "000"  # shown as 002 in Excel
    book.create_sheet("说明").append(["数据来源：测试"])
    book.save(path)
    return path


@pytest.mark.parametrize("title", [False, True])
def test_xlsx_numeric_code_cells_become_strings(tmp_path, title):
    frame = read_layer(make_xlsx(tmp_path / "units.xlsx", title=title))
    assert_geodataframe_equal(frame, units_frame())


def test_xlsx_errors_name_the_sheet_row(tmp_path):
    path = make_xlsx(tmp_path / "units.xlsx", title=True)
    book = openpyxl.load_workbook(path)
    book["小区"]["C5"] = "4.50102E+11"
    book.save(path)
    with pytest.raises(CodeError, match=r"units\.xlsx, row 5: column '社区代码' \(community_code\)"
                                        r".*scientific.*Fix: format column '社区代码' as text"):
        read_layer(path)


def test_xlsx_number_past_15_digits_is_refused(tmp_path):
    path = make_xlsx(tmp_path / "units.xlsx", title=False)
    book = openpyxl.load_workbook(path)
    book["小区"]["C2"] = 45010200100300123.0  # a micro-grid code typed as a number: Excel kept 15 digits
    book.save(path)
    with pytest.raises(CodeError, match=r"units\.xlsx, row 2: .*more digits than a spreadsheet number keeps"):
        read_layer(path)


def test_xlsx_sheet_by_layer_and_missing_sheet(tmp_path):
    path = make_xlsx(tmp_path / "units.xlsx", title=False)
    assert list_layers(path) == ["小区", "说明"]
    assert len(read_layer(path, "小区")) == 2
    with pytest.raises(ReadError, match=r"units\.xlsx: no layer '小区2'; the layers are 小区, 说明"
                                        r".*Fix: pass layer="):
        read_layer(path, "小区2")


def test_xls_workbook_with_title_row():
    pytest.importorskip("python_calamine")
    frame = read_layer(FIXTURES / "units_title.xls")
    assert frame["community_code"].tolist() == ["450102001003", "450102001203"]
    assert frame["unit_id"].tolist() == ["001", "002"]
    assert frame["households"].tolist() == [320, 85]
    assert frame.geometry[1].equals(Point(108.41, 22.87))
    assert list_layers(FIXTURES / "units_title.xls") == ["小区", "说明"]


def test_empty_sheet_is_refused(tmp_path):
    path = make_xlsx(tmp_path / "units.xlsx", title=False)
    book = openpyxl.load_workbook(path)
    book.create_sheet("空")
    book.save(path)
    with pytest.raises(ReadError, match=r"units\.xlsx: sheet '空' is empty.*Fix: name the sheet"):
        read_layer(path, "空")


# --- shapefiles -----------------------------------------------------------------------------------------

def shapefile(folder: Path, *, encoding: str = "gb18030", cpg: str | None = None,
              name: str = "units") -> Path:
    """A shapefile whose attribute table is in ``encoding``; ``cpg`` is the .cpg text (None: no .cpg)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = gpd.GeoDataFrame({"名称": ["翠竹苑", "㐀家村" if encoding == "gb18030" else "那坡屯"],
                              "编码": ["450102001003", "001"], "户数": [320, 40]},
                             geometry=[Point(108.3, 22.8), Point(108.4, 22.9)], crs=4326)
    path = folder / f"{name}.shp"
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    cpg_path = path.with_suffix(".cpg")
    cpg_path.unlink(missing_ok=True)
    if cpg is not None:
        cpg_path.write_text(cpg)
    return path


@pytest.mark.parametrize("encoding, cpg", [("gb18030", None), ("gb18030", "GB18030"), ("gbk", "936"),
                                           ("gbk", None), ("utf-8", None), ("utf-8", "UTF-8")])
def test_shapefile_encoding_from_cpg_or_detected(tmp_path, encoding, cpg):
    frame = read_layer(shapefile(tmp_path, encoding=encoding, cpg=cpg))
    second = "㐀家村" if encoding == "gb18030" else "那坡屯"
    assert frame["name"].tolist() == ["翠竹苑", second]
    assert frame["code"].tolist() == ["450102001003", "001"]
    assert frame["households"].tolist() == [320, 40]


def test_detected_dbf_encoding_is_gb18030_for_gbk_bytes(tmp_path):
    path = shapefile(tmp_path, encoding="gbk")
    assert detect_dbf_encoding(path.with_suffix(".dbf").read_bytes()) == "gb18030"


def dbf(field_width: int, values: list[bytes]) -> bytes:
    """A minimal dBase III table with one character field NAME."""
    header = bytes([3, 124, 1, 1]) + len(values).to_bytes(4, "little") + (65).to_bytes(2, "little")
    header += (field_width + 1).to_bytes(2, "little") + bytes(20)
    field = b"NAME".ljust(11, b"\x00") + b"C" + bytes(4) + bytes([field_width, 0]) + bytes(14)
    records = b"".join(b" " + value[:field_width].ljust(field_width) for value in values)
    return header + field + b"\r" + records + b"\x1a"


def test_utf8_value_cut_mid_character_by_the_field_width_is_still_utf8():
    cut = "兴宁社区".encode()  # 12 bytes; a 10-byte field cuts the fourth character after 1 byte
    assert detect_dbf_encoding(dbf(10, [cut, "那坡".encode()])) == "utf-8"
    assert detect_dbf_encoding(dbf(10, ["兴宁社区".encode("gbk"), "那坡".encode("gbk")])) == "gb18030"
    assert detect_dbf_encoding(dbf(4, [b"\x80\x80\x80\x80"])) is None


def test_wrong_cpg_warns_and_reads_the_real_encoding(tmp_path):
    path = shapefile(tmp_path, encoding="gb18030", cpg="UTF-8")
    with pytest.warns(GridmapWarning,
                      match=r"units\.shp: the \.cpg says 'UTF-8' but the attribute table is gb18030"):
        frame = read_layer(path)
    assert frame["name"].tolist() == ["翠竹苑", "㐀家村"]


@pytest.mark.parametrize("ext, role", [(".dbf", "attribute table"), (".shx", "index")])
def test_shapefile_missing_part_names_it(tmp_path, ext, role):
    path = shapefile(tmp_path)
    path.with_suffix(ext).unlink()
    with pytest.raises(ReadError, match=rf"units\.shp: the shapefile's {role} \({ext}\) is missing.*"
                                        rf"Fix: copy the {ext} file"):
        read_layer(path)


def test_shapefile_without_prj_takes_crs_argument(tmp_path):
    path = shapefile(tmp_path)
    path.with_suffix(".prj").unlink()
    assert read_layer(path, crs=4490).crs.to_epsg() == 4490
    assert read_layer(path).crs.to_epsg() == 4326  # degrees without CRS: normalize_crs assumes WGS84


def test_zipped_shapefile(tmp_path):
    path = shapefile(tmp_path / "src", encoding="gbk")
    archive = tmp_path / "units.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in path.parent.iterdir():
            zf.write(part, f"数据/{part.name}")
    assert list_layers(archive) == ["units"]
    assert_geodataframe_equal(read_layer(archive), read_layer(path))


def test_zip_with_several_shapefiles_needs_layer(tmp_path):
    first, second = shapefile(tmp_path / "a", name="one"), shapefile(tmp_path / "b", name="two")
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in [*first.parent.iterdir(), *second.parent.iterdir()]:
            zf.write(part, part.name)
    with pytest.raises(ReadError, match=r"two\.zip: zip holds 2 shapefiles: one\.shp, two\.shp.*layer='one'"):
        read_layer(archive)
    assert len(read_layer(archive, "two")) == 2


def test_zip_without_shapefile(tmp_path):
    archive = tmp_path / "none.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "nothing")
    with pytest.raises(ReadError, match=r"none\.zip: zip holds no shapefile \(\.shp\); it holds readme\.txt"
                                        r".*Fix: zip the \.shp together with"):
        read_layer(archive)


def test_zipped_shapefile_missing_dbf_names_member(tmp_path):
    path = shapefile(tmp_path / "src")
    archive = tmp_path / "units.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in path.parent.iterdir():
            if part.suffix != ".dbf":
                zf.write(part, part.name)
    with pytest.raises(ReadError, match=r"units\.zip/units\.shp: the shapefile's attribute table \(\.dbf\)"):
        read_layer(archive)


# --- GeoPackage, GeoJSON, GeoParquet --------------------------------------------------------------------

def numeric_code_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"adcode": [450102001003, 450102001203], "名称": ["兴宁社区", "那坡村"],
                             "人口": [2000.0, np.nan]},
                            geometry=[Point(108.3, 22.8), Point(108.4, 22.9)], crs=4490)


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".parquet"])
def test_numeric_code_fields_become_strings(tmp_path, suffix):
    path = tmp_path / f"communities{suffix}"
    frame = numeric_code_frame()
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_file(path)
    result = read_layer(path)
    assert result["code"].tolist() == ["450102001003", "450102001203"]
    assert result["population"].tolist()[0] == 2000 and pd.isna(result["population"].tolist()[1])
    assert result.crs.to_epsg() == 4490


def test_geopackage_with_several_layers(tmp_path):
    path = tmp_path / "city.gpkg"
    for layer in ("communities", "units"):
        numeric_code_frame().to_file(path, layer=layer)
    with pytest.raises(ReadError, match=r"city\.gpkg: file holds 2 layers: communities, units.*layer="):
        read_layer(path)
    with pytest.raises(ReadError, match=r"city\.gpkg: no layer 'grids'; the layers are communities, units"
                                        r".*Fix: pass layer="):
        read_layer(path, "grids")
    assert list_layers(path) == ["communities", "units"]
    assert len(read_layer(path, "units")) == 2


def test_layers_listed_once_in_a_block_yet_a_changed_file_is_listed_again(tmp_path, monkeypatch):
    """Reads in a layers_listed_once block (load_city's) list a GeoPackage once; a layer added in place or
    the file replaced by another is listed again at once, in a block or not."""
    path, other = tmp_path / "city.gpkg", tmp_path / "other.gpkg"
    pyogrio.write_dataframe(numeric_code_frame(), path, layer="grids")
    pyogrio.write_dataframe(numeric_code_frame(), other, layer="units")
    listed, list_gdal = [], pyogrio.list_layers
    monkeypatch.setattr(pyogrio, "list_layers", lambda source: listed.append(source) or list_gdal(source))
    assert list_layers(path) == ["grids"] and len(read_layer(path)) == 2 and len(listed) == 2
    with layers_listed_once():
        assert list_layers(path) == ["grids"] and len(read_layer(path, "grids")) == 2 and len(listed) == 3
        pyogrio.write_dataframe(numeric_code_frame(), path, layer="communities", append=True)  # in place
        assert list_layers(path) == ["grids", "communities"] and len(listed) == 4
        os.replace(other, path)
        with pytest.raises(ReadError, match=r"city\.gpkg: no layer 'grids'; the layers are units"):
            read_layer(path, "grids")
    assert len(listed) == 5
    city = load_city(path)
    assert city.grids["code"].tolist() == ["450102001003", "450102001203"] and len(listed) == 6


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_geojson(tmp_path, cut):
    text = numeric_code_frame().to_crs(4326).to_json()
    path = tmp_path / "cut.geojson"
    path.write_text(text[: int(len(text) * cut)], encoding="utf-8")
    with pytest.raises(ReadError, match=r"cut\.geojson, line 1, column \d+: GeoJSON is cut off \(truncated\)"
                                        r".*Fix: copy or download the file again"):
        read_layer(path)


def test_invalid_geojson(tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_text('{"type": "FeatureCollection",\n "features": [}\n', encoding="utf-8")
    with pytest.raises(ReadError,
                       match=r"bad\.geojson, line 2, column \d+: invalid GeoJSON.*Fix: copy or download"):
        read_layer(path)


def test_geojson_in_gbk_is_detected(tmp_path):
    frame = gpd.GeoDataFrame({"名称": ["兴宁社区"], "户数": [12]}, geometry=[Point(108.3, 22.8)], crs=4326)
    path = write(tmp_path / "gbk.geojson", frame.to_json(ensure_ascii=False, drop_id=True).encode("gbk"))
    back = read_layer(path)
    assert back["name"].tolist() == ["兴宁社区"] and back["households"].tolist() == [12]


def test_geojson_that_is_json_but_not_geojson(tmp_path):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(ReadError,
                       match=r"odd\.json: cannot read the GeoJSON.*Fix: check that the file is complete"):
        read_layer(path)


def test_plain_parquet_with_coordinate_columns(tmp_path):
    path = tmp_path / "table.parquet"
    pd.DataFrame({"名称": ["A"], "编码": [450102001003], "lng": [108.3], "lat": [22.8]}).to_parquet(path)
    frame = read_layer(path)
    assert frame.loc[0, "code"] == "450102001003" and frame.geometry[0].equals(Point(108.3, 22.8))


# --- file-level errors ----------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(ReadError, match=r"nothere\.gpkg: file not found.*Fix: check the name and folder"):
        read_layer(tmp_path / "nothere.gpkg")


@pytest.mark.parametrize("name", ["empty.csv", "empty.geojson", "empty.gpkg", "empty.xlsx", "empty.shp"])
def test_empty_file(tmp_path, name):
    path = write(tmp_path / name, b"")
    with pytest.raises(ReadError, match=rf"{name}: file is empty \(0 bytes\).*Fix: export or copy"):
        read_layer(path)


def test_file_with_only_a_bom_is_empty(tmp_path):
    path = write(tmp_path / "bom.csv", codecs.BOM_UTF8 + b"\n")
    with pytest.raises(ReadError, match=r"bom\.csv: file holds no text.*Fix: export"):
        read_layer(path)


def test_unknown_extension(tmp_path):
    path = write(tmp_path / "units.dwg", b"AC1027")
    with pytest.raises(ReadError, match=r"units\.dwg: unknown file type '\.dwg'.*Fix: convert it to one of"):
        read_layer(path)


def test_corrupt_geopackage_is_wrapped(tmp_path):
    path = write(tmp_path / "junk.gpkg", b"this is not sqlite" * 10)
    with pytest.raises(ReadError, match=r"junk\.gpkg: cannot read the GeoPackage.*Fix: check that the file"):
        read_layer(path)


def test_corrupt_xlsx_is_wrapped(tmp_path):
    path = write(tmp_path / "junk.xlsx", b"PK\x03\x04 broken")
    with pytest.raises(ReadError, match=r"junk\.xlsx: cannot read the Excel file.*Fix: check that the file"):
        read_layer(path)


def test_ragged_csv_is_wrapped(tmp_path):
    path = write(tmp_path / "ragged.csv", "名称,经度,纬度\nA,108.3,22.8\nB,108.4,22.9,1,2\n".encode())
    with pytest.raises(ReadError, match=r"ragged\.csv, line 3: the line has 5 fields.*Fix: make every line"):
        read_layer(path)


# --- read_table and list_layers -------------------------------------------------------------------------

def test_read_table_staff_roster_in_gbk(tmp_path):
    text = "网格编码,社区代码,姓名,电话,人数\n450102001003001,450102001003,黄丽,13800000000,3\n"
    table = read_table(write(tmp_path / "staff.csv", text.encode("gbk")))
    assert not isinstance(table, gpd.GeoDataFrame)
    assert table.loc[0, "grid_code"] == "450102001003001" and table.loc[0, "姓名"] == "黄丽"
    assert table.loc[0, "电话"] == 13800000000 and table.loc[0, "population"] == 3


def test_read_table_keeps_coordinates_as_numbers(tmp_path):
    table = read_table(write(tmp_path / "u.csv", csv_bytes(ROWS, "gbk")))
    assert table["lon"].tolist() == [108.3203, 108.4102]
    assert table["unit_id"].tolist() == ["001", "002"]


def test_read_table_sheet(tmp_path):
    path = make_xlsx(tmp_path / "units.xlsx", title=True)
    assert read_table(path, sheet="说明").columns.tolist() == ["数据来源：测试"]
    assert read_table(path)["community_code"].tolist() == ["450102001003", "450102001203"]


def test_read_table_refuses_layers(tmp_path):
    path = tmp_path / "c.gpkg"
    numeric_code_frame().to_file(path)
    with pytest.raises(ReadError, match=r"c\.gpkg: \.gpkg files hold layers, not tables.*read_layer"):
        read_table(path)


def test_list_layers_single_layer_files(tmp_path):
    assert list_layers(write(tmp_path / "units.csv", csv_bytes(ROWS, "utf-8"))) == ["units"]
    path = shapefile(tmp_path / "s")
    assert list_layers(path) == ["units"]


# --- real data ------------------------------------------------------------------------------------------

@pytest.mark.shared_data
def test_real_gcj02_boundaries_land_on_cgcs2000_after_conversion(shared_data):
    folder = shared_data / "boundaries"
    official = read_layer(folder / "fastgeocn_guangxi_45_cgcs2000.geojson")
    amap_raw = read_layer(folder / "cnmaps_amap_45_gcj02.geojson")
    amap = read_layer(folder / "cnmaps_amap_45_gcj02.geojson", coords="gcj02")
    assert official.crs.to_epsg() == 4490 and amap["code"].map(type).eq(str).all()
    xingning = official[official["gb"].astype(str) == "156450102"].to_crs(4545).geometry.iloc[0]

    def offset_and_overlap(frame):
        county = frame[frame["code"] == "450102"].to_crs(4545).geometry.iloc[0]
        return county.centroid.distance(xingning.centroid), county.intersection(xingning).area / county.union(
            xingning).area

    (before, overlap_before), (after, overlap_after) = offset_and_overlap(amap_raw), offset_and_overlap(amap)
    # The sources draw the county with different detail: the residual is tens of metres, the shift hundreds.
    assert 300 < before < 600 and after < 100 and overlap_after > overlap_before + 0.03


def test_no_temporary_or_extra_files_left_by_reading(tmp_path):
    path = shapefile(tmp_path)
    before = sorted(os.listdir(tmp_path))
    read_layer(path)
    assert sorted(os.listdir(tmp_path)) == before


def test_geometry_polygons_keep_their_area(tmp_path):
    square = shapely.box(108.3, 22.8, 108.31, 22.81)
    frame = gpd.GeoDataFrame({"名称": ["A"]}, geometry=[square], crs=4326)
    frame.to_file(tmp_path / "p.gpkg")
    back = read_layer(tmp_path / "p.gpkg")
    assert back.geometry[0].symmetric_difference(square).area < 1e-15


# --- line endings, ragged lines, files under the wrong name, two-row headers ---------------------------

@pytest.mark.parametrize("ending", ["\r", "\r\n"])
def test_csv_with_cr_line_endings_reads_like_lf(tmp_path, ending):
    twin = read_layer(write(tmp_path / "lf.csv", csv_bytes(ROWS, "utf-8")))
    text = ending.join(["单元统计表", HEADER, *ROWS]) + ending
    other = read_layer(write(tmp_path / "cr.csv", text.encode("utf-8")))
    assert_geodataframe_equal(other, twin)


@pytest.mark.parametrize("ending", ["\n", "\r"])
def test_ragged_line_is_named_by_its_line_in_the_file(tmp_path, ending):
    # line 1 title, 2 blank, 3 header, 4 and 5 data: line 5 has two fields too many
    lines = ["兴宁区小区表", "", "名称,经度,纬度", "A,108.3,22.8", "B,108.4,22.9,1,2"]
    path = write(tmp_path / "ragged.csv", ending.join(lines).encode())
    with pytest.raises(ReadError, match=r"ragged\.csv, line 5: the line has 5 fields, the header 3\. "
                                        r"Fix: make every line have as many fields as the header"):
        read_layer(path)


def _xlsx_bytes(tmp_path) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["名称", "经度", "纬度"])
    book.save(tmp_path / "book.xlsx")
    return (tmp_path / "book.xlsx").read_bytes()


def _zipped_shapefile_bytes(tmp_path) -> bytes:
    frame = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(108.3, 22.8)], crs=4326)
    pyogrio.write_dataframe(frame, tmp_path / "a.shp")
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        for part in tmp_path.glob("a.*"):
            if part.suffix != ".zip":
                archive.write(part, part.name)
    return (tmp_path / "a.zip").read_bytes()


@pytest.mark.parametrize("name", ["units.csv", "units.geojson"])
@pytest.mark.parametrize("make, kind, fix", [
    (_xlsx_bytes, "an Excel workbook", "rename it to units.xlsx"),
    (lambda tmp: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "an old Excel workbook", "units.xls"),
    (lambda tmp: b"SQLite format 3\x00" + bytes(600), "a GeoPackage", "units.gpkg"),
    (_zipped_shapefile_bytes, "a zipped shapefile", "units.zip"),
])
def test_binary_file_under_a_text_name_says_what_it_is(tmp_path, name, make, kind, fix):
    path = write(tmp_path / name, make(tmp_path))
    with pytest.raises(ReadError, match=rf"{name}: this is {kind}.*Fix: .*{fix}"):
        read_layer(path)


def merged_header_rows() -> list[list]:
    return [["兴宁区小区表", None, None, None, None],
            ["小区名称", "户数", "位置", None, "备注"],
            [None, None, "经度", "纬度", None],
            ["翠竹苑", 320, 108.3203, 22.8171, "老小区"],
            ["那坡屯", 85, 108.4102, 22.8705, None]]


def test_two_row_excel_header_is_joined(tmp_path):
    book = openpyxl.Workbook()
    for row in merged_header_rows():
        book.active.append(row)
    for cells in ("A1:E1", "A2:A3", "B2:B3", "C2:D2", "E2:E3"):
        book.active.merge_cells(cells)
    book.save(tmp_path / "merged.xlsx")
    units = read_layer(tmp_path / "merged.xlsx")
    assert units.columns.tolist() == ["name", "households", "备注", "geometry"]
    assert units["households"].tolist() == [320, 85]
    assert units.geometry.tolist() == [Point(108.3203, 22.8171), Point(108.4102, 22.8705)]
    with pytest.raises(SchemaError, match=r"merged\.xlsx, row 5: column '户数' \(households\)"):
        book.active["B5"] = 8.5
        book.save(tmp_path / "merged.xlsx")
        read_layer(tmp_path / "merged.xlsx")


def test_two_row_csv_header_is_joined_and_lines_counted(tmp_path):
    text = "\n".join(",".join("" if v is None else str(v) for v in row) for row in merged_header_rows())
    units = read_layer(write(tmp_path / "merged.csv", text.encode("gbk")))
    assert units["name"].tolist() == ["翠竹苑", "那坡屯"]
    assert units.geometry.tolist() == [Point(108.3203, 22.8171), Point(108.4102, 22.8705)]
    bad = text.replace("那坡屯,85", "那坡屯,-85")
    with pytest.raises(SchemaError, match=r"merged\.csv, row 5: .*is negative"):
        read_layer(write(tmp_path / "merged.csv", bad.encode("gbk")))


@pytest.mark.parametrize("first_data_row", [
    ["001", "自然村", "85", "108.4", "22.8"],  # numbers: data
    ["A1", "自然村", "POINT (108.4 22.8)"],  # as many cells as the header: data
])
def test_a_data_row_is_never_taken_for_a_second_header_row(tmp_path, first_data_row):
    header = ["编号", "类型", "户数", "经度", "纬度"] if len(first_data_row) == 5 else ["编号", "类型", "WKT"]
    text = "\n".join(",".join(row) for row in [header, first_data_row]) + "\n"
    units = read_layer(write(tmp_path / "units.csv", text.encode()))
    assert len(units) == 1 and units["kind"].tolist() == ["自然村"] and "name" not in units.columns


@pytest.mark.parametrize("value", [9.223372036854776e18, "99999999999999999999"])
def test_count_too_large_for_an_integer_is_refused(tmp_path, value):
    frame = gpd.GeoDataFrame({"户数": [3, value]}, geometry=[Point(108.3, 22.8)] * 2, crs=4326)
    if isinstance(value, str):
        frame["户数"] = frame["户数"].astype(str)
    pyogrio.write_dataframe(frame, tmp_path / "huge.geojson")
    with pytest.raises(SchemaError, match=r"huge\.geojson, feature 2: column '户数' \(households\): .* too "
                                          r"large"):
        read_layer(tmp_path / "huge.geojson")


# --- cut-off shapefiles and geometries GDAL or shapely cannot read --------------------------------------

def four_boxes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": list("abcd")},
                            geometry=[shapely.box(108.3 + i / 100, 22.8, 108.305 + i / 100, 22.805)
                                      for i in range(4)], crs=4326)


def shapefile_cut(folder: Path, part: str, keep: float) -> Path:
    pyogrio.write_dataframe(four_boxes(), folder / "cut.shp")
    data = (folder / f"cut{part}").read_bytes()
    (folder / f"cut{part}").write_bytes(data[: int(len(data) * keep)])
    return folder / "cut.shp"


@pytest.mark.parametrize("part, keep, words", [
    (".shp", 0.6, r"feature 3: the \.shp is cut off \(truncated\).*features 3 to 4 are lost"),
    (".dbf", 0.5, r"feature 2: the attribute table \(\.dbf\) is cut off \(truncated\): it holds 1 of its 4"),
    (".shx", 0.9, r"cut\.shp: the shapefile's index \(\.shx\) is cut off \(truncated\)"),
])
def test_cut_off_shapefile_names_the_first_lost_feature(tmp_path, part, keep, words):
    # .shp: 100-byte header + 4 records of 8 + 128 bytes; 60 % of 644 bytes keeps records 1 and 2
    path = shapefile_cut(tmp_path, part, keep)
    with pytest.raises(ReadError, match=words + r".*Fix: copy the shapefile again"):
        read_layer(path)


def test_cut_off_shapefile_in_a_zip(tmp_path):
    shapefile_cut(tmp_path, ".shp", 0.6)
    with zipfile.ZipFile(tmp_path / "cut.zip", "w") as archive:
        for part in sorted(tmp_path.glob("cut.*")):
            if part.suffix != ".zip":
                archive.write(part, f"data/{part.name}")
    with pytest.raises(ReadError, match=r"cut\.zip/data/cut\.shp, feature 3: the \.shp is cut off"):
        read_layer(tmp_path / "cut.zip")


def geojson_with(tmp_path: Path, geometries: dict[int, object]) -> Path:
    collection = json.loads(four_boxes().to_json(drop_id=True))
    for i, geometry in geometries.items():
        collection["features"][i]["geometry"] = geometry
    path = tmp_path / "layer.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    return path


def test_open_ring_names_the_feature(tmp_path):
    ring = {"type": "Polygon", "coordinates": [[[108.31, 22.80], [108.32, 22.80]]]}
    path = geojson_with(tmp_path, {2: ring, 3: ring})
    with pytest.warns(RuntimeWarning, match="Non closed ring"):  # GDAL's own, passed on by pyogrio
        with pytest.raises(ReadError, match=r"layer\.geojson, feature 3: .*not form a closed linestring "
                                            r"\(1 more features like it\).*Fix: check that the file"):
            read_layer(path)


@pytest.mark.parametrize("geometry, words", [
    ({"type": "Polygon", "coordinates": [[108.31, 22.80], [108.32, 22.80], [108.32, 22.81], [108.31, 22.80]]},
     r"the Polygon geometry .*nested 2 lists deep, a Polygon's 3: brackets are missing.*a list of rings"),
    ({"type": "Point", "coordinates": [[108.31, 22.80]]},
     r".*nested 2 lists deep, a Point's 1.*one \[lon, lat\]"),
])
def test_geometry_gdal_reads_as_null_is_refused(tmp_path, geometry, words):
    path = geojson_with(tmp_path, {1: geometry})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's, for some of these
        with pytest.raises(ReadError, match=rf"layer\.geojson, feature 2: {words}"):
            read_layer(path)


def test_null_geometry_in_the_file_is_kept(tmp_path):
    layer = read_layer(geojson_with(tmp_path, {1: None}))
    assert layer.geometry.isna().tolist() == [False, True, False, False]
    assert layer.geometry[0].equals(four_boxes().geometry[0])


# --- Big5 -----------------------------------------------------------------------------------------------

TRADITIONAL = ["翠竹苑", "民生花園", "興寧大廈", "朝陽小區"]
BIG5_ROWS = [f"{name},00{i},450102001003,320,1024,108.32,22.81,備註" for i, name in enumerate(TRADITIONAL)]
ASCII_HEADER = "name,unit_id,community_code,households,population,lon,lat,note"


def test_big5_csv_is_read_as_big5_with_a_warning(tmp_path):
    path = write(tmp_path / "hk.csv", csv_bytes(BIG5_ROWS, "big5", ASCII_HEADER))
    assert path.read_bytes().decode("gb18030")  # the trap: it decodes as GB18030 too
    with pytest.warns(GridmapWarning, match=r"hk\.csv: the text is Big5.*'翠竹苑', which GB18030 would make "
                                            r"'籄λ璪'.*encoding='big5'") as given:
        units = read_layer(path)
    assert given[0].filename == __file__  # points at the caller of read_layer
    assert units["name"].tolist() == TRADITIONAL and units["note"].tolist() == ["備註"] * 4


def test_big5_named_by_the_user_reads_without_warning(tmp_path):
    path = write(tmp_path / "hk.csv", csv_bytes(BIG5_ROWS, "big5", ASCII_HEADER))
    units = read_layer(path, encoding="big5")
    assert units["name"].tolist() == TRADITIONAL


def test_gbk_with_rare_characters_is_not_taken_for_big5(tmp_path):
    # 筼筜 (Xiamen) are outside GB2312: half the text is rare as GB18030, and it decodes as Big5 too; but
    # the Big5 reading (雊鈸誰耋...) has rare characters as well (1 in 8), so the file stays GB18030
    rows = ["筼筜街道,001,350203001001,320,1024,118.1,24.5,", "筼筜花园,002,350203001002,10,20,118.1,24.5,"]
    data = csv_bytes(rows, "gbk", ASCII_HEADER)
    assert data.decode("big5")
    units = read_layer(write(tmp_path / "xm.csv", data))
    assert units["name"].tolist() == ["筼筜街道", "筼筜花园"]


def test_short_big5_text_is_not_decided(tmp_path):
    # fewer than 8 non-ASCII characters: too little evidence, read as GB18030 as before
    text = "name,lon,lat\n臺北,121.5,25.0\n"
    units = read_layer(write(tmp_path / "tw.csv", text.encode("big5")))
    assert units["name"].tolist() == ["臺北".encode("big5").decode("gb18030")]


def test_big5_shapefile_attribute_table_is_detected(tmp_path):
    frame = gpd.GeoDataFrame({"name": TRADITIONAL}, geometry=[Point(108.3, 22.8)] * 4, crs=4326)
    pyogrio.write_dataframe(frame, tmp_path / "hk.shp", encoding="big5")
    (tmp_path / "hk.cpg").unlink(missing_ok=True)
    with pytest.warns(GridmapWarning, match=r"hk\.shp: the text is Big5"):
        units = read_layer(tmp_path / "hk.shp")
    assert units["name"].tolist() == TRADITIONAL


def test_big5_geojson_is_detected(tmp_path):
    frame = gpd.GeoDataFrame({"name": TRADITIONAL}, geometry=[Point(108.3, 22.8)] * 4, crs=4326)
    path = write(tmp_path / "hk.geojson", frame.to_json(ensure_ascii=False).encode("big5"))
    with pytest.warns(GridmapWarning, match=r"hk\.geojson: the text is Big5"):
        units = read_layer(path)
    assert units["name"].tolist() == TRADITIONAL


# --- records in metres, records outside China -------------------------------------------------------

def units_csv(rows: list[tuple], title: bool = False) -> bytes:
    lines = (["兴宁区小区表", ""] if title else []) + ["名称,经度,纬度"]
    return ("\n".join(lines + [f"{name},{x},{y}" for name, x, y in rows]) + "\n").encode()


NANNING = [(f"U{i}", 108.3 + i / 1000, 22.8) for i in range(6)]


def test_one_record_in_metres_is_named_by_its_row(tmp_path):
    rows = NANNING[:3] + [("米", 537600.0, 2524000.0)] + NANNING[3:]
    path = write(tmp_path / "units.csv", units_csv(rows, title=True))  # lines: title, blank, header, data
    with pytest.raises(CRSError, match=r"units\.csv, row 7: some coordinates are not valid degrees: 1 of 7 "
                                       r"records .*\(537600\.0, 2524000\.0\).*Fix: correct or remove"):
        read_layer(path)


def test_a_record_in_metres_outside_the_crs_sample_is_still_named(tmp_path):
    # 20,000 records: the CRS checks look at a sample of 2,000, the record check at all of them
    rows = [(f"U{i}", 108.3 + i / 1e6, 22.8) for i in range(20_000)]
    rows[7_777] = ("米", 537600.0, 22.8)
    with pytest.raises(CRSError, match=r"units\.csv, row 7779: .*1 of 20,000 records"):
        read_layer(write(tmp_path / "units.csv", units_csv(rows)))


def test_feature_in_metres_is_named_by_its_feature(tmp_path):
    geometry = [Point(108.3, 22.8)] * 20
    geometry[2] = shapely.box(108.3, 22.8, 537600, 2524000)
    frame = gpd.GeoDataFrame({"name": list("abcdefghijklmnopqrst")}, geometry=geometry, crs=4326)
    pyogrio.write_dataframe(frame, tmp_path / "u.geojson")
    with pytest.raises(CRSError, match=r"u\.geojson, feature 3: some coordinates are not valid degrees"):
        read_layer(tmp_path / "u.geojson")


def test_records_outside_china_are_named_in_a_warning(tmp_path):
    rows = NANNING + [("零", 0, 0)] + [(f"巴黎{i}", 2.35, 48.85) for i in range(5)]
    path = write(tmp_path / "units.csv", units_csv(rows))
    words = (r"units\.csv: 6 of 12 records lie outside China, read as they are: row 8, row 9, row 10, "
             r"row 11, row 12 \(and 1 more\), e\.g\. lon/lat \(0, 0\)")
    with pytest.warns(GridmapWarning, match=words) as given:
        units = read_layer(path)
    assert given[0].filename == __file__
    assert units.geometry[6].equals(Point(0, 0)) and len(units) == 12  # read as they are


def test_polygon_outside_china_is_placed_by_its_middle(tmp_path):
    border = shapely.box(97.5, 24.0, 98.5, 24.5)  # straddles the Yunnan-Myanmar border: middle inside
    far = shapely.box(100.0, 15.0, 100.1, 15.1)  # Thailand
    nanning = [shapely.box(108.3 + i / 100, 22.8, 108.305 + i / 100, 22.805) for i in range(6)]
    frame = gpd.GeoDataFrame({"name": list("abcdefgh")}, crs=4326, geometry=[*nanning[:3], border, far,
                                                                            *nanning[3:]])
    assert not is_in_china(97.5, 24.0) and is_in_china(98.0, 24.25)
    pyogrio.write_dataframe(frame, tmp_path / "areas.geojson")
    with pytest.warns(GridmapWarning, match=r"1 of 8 records lie outside China.*: feature 5, e\.g\. lon/lat "
                                            r"\(100\.05, 15\.05\)"):
        read_layer(tmp_path / "areas.geojson")


# --- where a frame came from: frame.attrs and record_labels ---------------------------------------------

def test_every_reader_records_its_file_layer_and_records(tmp_path):
    from gridmap.io import record_labels

    frame = four_boxes()
    pyogrio.write_dataframe(frame, tmp_path / "a.gpkg", layer="grids")
    pyogrio.write_dataframe(frame, tmp_path / "a.gpkg", layer="units", append=True)
    pyogrio.write_dataframe(frame, tmp_path / "a.geojson")
    book = openpyxl.Workbook()
    book.active.title = "封面"
    sheet = book.create_sheet("小区")
    for row in [["小区表"], ["名称", "经度", "纬度"], ["a", 108.3, 22.8], [None], ["b", 108.4, 22.9]]:
        sheet.append(row)
    book.save(tmp_path / "a.xlsx")
    cases = [
        (read_layer(tmp_path / "a.gpkg", layer="units"), "a.gpkg", "units", "feature 1-4"),
        (read_layer(tmp_path / "a.geojson"), "a.geojson", "a", "feature 1-4"),
        (read_layer(tmp_path / "a.xlsx", layer="小区"), "a.xlsx", "小区", "row 3,5"),
        (read_table(tmp_path / "a.xlsx", sheet="小区"), "a.xlsx", "小区", "row 3,5"),
    ]
    for layer, name, layer_name, records in cases:
        assert layer.attrs == {"gridmap_source": str(tmp_path / name), "gridmap_layer": layer_name,
                               "gridmap_records": records}
    assert record_labels(cases[0][0]).tolist() == ["feature 1", "feature 2", "feature 3", "feature 4"]
    assert record_labels(cases[2][0]).tolist() == ["row 3", "row 5"]


def test_zipped_shapefile_records_its_member(tmp_path):
    pyogrio.write_dataframe(four_boxes(), tmp_path / "grids.shp")
    with zipfile.ZipFile(tmp_path / "g.zip", "w") as archive:
        for part in sorted(tmp_path.glob("grids.*")):
            archive.write(part, f"data/{part.name}")
    layer = read_layer(tmp_path / "g.zip")
    assert layer.attrs["gridmap_source"] == str(tmp_path / "g.zip")
    assert layer.attrs["gridmap_layer"] == "grids"


def test_a_frame_with_its_source_writes_and_reads_back(tmp_path):
    from gridmap.io import write_layer

    units = read_layer(write(tmp_path / "units.csv", csv_bytes(ROWS, "utf-8")))
    for name in ("out.parquet", "out.gpkg"):
        write_layer(units, tmp_path / name)
        back = read_layer(tmp_path / name)
        assert back["name"].tolist() == units["name"].tolist()
        assert back.attrs["gridmap_source"] == str(tmp_path / name)  # the file it was read from now


def test_header_only_table_logs_that_the_layer_is_empty(tmp_path, caplog):
    layer = read_layer(write(tmp_path / "units.csv", (HEADER + "\n\n").encode()))
    assert len(layer) == 0 and layer.crs.to_epsg() == 4326
    book = openpyxl.Workbook()
    book.active.append(["名称", "经度", "纬度"])
    book.save(tmp_path / "units.xlsx")
    assert len(read_layer(tmp_path / "units.xlsx")) == 0
    empty = {"type": "FeatureCollection", "features": []}  # a layer file with no features: as it says
    assert len(read_layer(write(tmp_path / "gaps.geojson", json.dumps(empty).encode()))) == 0
    said = [(r.levelname, r.getMessage()) for r in caplog.records if "no records" in r.getMessage()]
    assert said == [("WARNING", f"{tmp_path / 'units.csv'}: the file holds a header but no records; the "
                                "layer is empty"),
                    ("WARNING", f"{tmp_path / 'units.xlsx'}: the sheet holds a header but no records; the "
                                "layer is empty")]


def test_damaged_geopackage_gets_a_short_message(tmp_path):
    path = write(tmp_path / "damaged.gpkg", b"SQLite format 3\x00" + bytes(range(256)) * 4)
    with pytest.raises(ReadError) as caught:
        read_layer(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: cannot read the GeoPackage: the file is damaged or is no GeoPackage "
                              "(SQLite says 'file is not a database'). Fix: copy the file again")
    assert "sqlite3_prepare" not in message and len(message) < 250 + len(str(path))


def test_big5_rule_takes_no_real_gbk_file_for_big5(shared_data):
    """Files of real street and village names (统计用区划代码) saved as GBK are never read as Big5."""
    import random

    from gridmap.io._encoding import _looks_big5

    names = []
    for name in ("streets.csv", "villages_guangxi_45.csv"):
        table = pd.read_csv(shared_data / "admin-codes" / name, dtype=str)
        names += table["name"].dropna().tolist()
    assert len(names) > 50_000
    chooser = random.Random(5)
    files = [names[i:i + 1] for i in range(0, len(names), 7)]  # one name a file: the hardest case
    files += [chooser.sample(names, chooser.choice([3, 6, 20])) for _ in range(3_000)]
    taken = []
    for group in files:
        data = "\n".join(group).encode("gbk", "ignore")
        try:
            big5 = data.decode("big5")
        except UnicodeDecodeError:
            continue
        if _looks_big5(data.decode("gb18030"), big5):
            taken.append(group)
    assert taken == []


def test_a_geopackage_layer_reads_as_gdal_gives_it_feature_by_feature(tmp_path):
    """The Arrow read (column by column) gives the very frame of pyogrio's feature-by-feature read."""
    import datetime

    path = tmp_path / "混合.gpkg"
    frame = gpd.GeoDataFrame({
        "名称": ["幸福小区", None, "𠀀 ext-B", ""], "empty": [None] * 4, "n": [1, -2**62, 2**62, 0],
        "maybe": pd.array([1, None, 3, None], dtype="Int64"), "x": [1.5, np.nan, -1e300, 1e300],
        "flag": [True, False, True, False],
        "day": [datetime.date(2025, 1, 1), None, datetime.date(1900, 3, 1), datetime.date(2099, 12, 31)],
        "at": pd.to_datetime(["2025-01-01 10:00", "2025-01-02 00:00", None, "1970-01-01 00:00"]),
        "local": pd.to_datetime(["2025-01-01 10:00+08:00", None, "2025-06-30 23:59+08:00",
                                 "2000-01-01 00:00+08:00"], utc=True).tz_convert("Asia/Shanghai"),
    }, geometry=[Point(108.3, 22.8, 5.0), None, Point(108.3, 22.8, 5.0),
                 Polygon([(0, 0), (1, 0), (1, 1), (0, 0)], [[(0.1, 0.1), (0.2, 0.1), (0.2, 0.2)]])],
        crs="EPSG:4490")
    with warnings.catch_warnings():
        # GDAL: mixed geometry types in one layer; "+08:00" read back from the text GeoPackage stores
        warnings.simplefilter("ignore", RuntimeWarning)
        pyogrio.write_dataframe(frame, path, layer="units")
        expected = pyogrio.read_dataframe(path, layer="units")
        got, layer = _read_geopackage(path, None)  # read_layer then drops the Z and cleans codes and text
    assert layer == "units"
    assert list(got.dtypes.astype(str)) == list(expected.dtypes.astype(str))
    assert_geodataframe_equal(got, expected)
    assert got["empty"].tolist() == [None] * 4
