"""Messy real-world inputs (issues 14 and 16, reading half): Z coordinates, JSON nested too deep, NUL
characters in names, symlink loops, XLSX formulas without saved values and titles above the header, GBK
CSV with Windows line endings, GBK shapefiles without .cpg and GB18030-only characters.

Every fixture is made in code (tmp_path) with Chinese headers; bad inputs end in a ReadError that names
the file (library) and in exit 2 without a traceback (command line).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon, box

from gridmap.cli import EXIT_BAD_INPUT, EXIT_OK, main
from gridmap.errors import GridmapWarning, ReadError, SchemaError
from gridmap.io import list_layers, read_layer, read_table
from gridmap.io._encoding import dbf_cut_text

#: Four communities of 0.01 degree (about 1 km) in Nanning, and six units inside them.
COMMUNITIES = [("450102001001", "民生社区", 108.300, 22.800), ("450102001002", "兴宁社区", 108.310, 22.800),
               ("450102001003", "朝阳社区", 108.300, 22.810), ("450102001004", "望仙坡社区", 108.310, 22.810)]
UNITS = [("001", "翠竹苑", "小区", 320, 860, 108.3030, 22.8030),
         ("002", "民生花园", "小区", 410, 1100, 108.3070, 22.8060),
         ("003", "兴宁大厦", "写字楼", 0, 0, 108.3140, 22.8030),
         ("004", "朝阳小区", "小区", 280, 700, 108.3040, 22.8150),
         ("005", "望仙坡小区", "小区", 450, 1200, 108.3150, 22.8160),
         ("006", "滨江苑", "小区", 360, 900, 108.3170, 22.8070)]
#: 𠀀 (U+20000, CJK Extension B) and 䶮 (U+4DAE) exist in GB18030 and not in GBK.
RARE = "𠀀䶮"


def communities(*, z: float | None = None) -> gpd.GeoDataFrame:
    """The communities (one with a hole), flat or lifted to height ``z`` (metres, varying by vertex)."""
    shapes = [box(west, south, west + 0.01, south + 0.01) for _, _, west, south in COMMUNITIES]
    shapes[0] = Polygon(shapes[0].exterior, [box(108.3080, 22.8080, 108.3095, 22.8095).exterior.coords])
    frame = gpd.GeoDataFrame({"代码": [c[0] for c in COMMUNITIES], "名称": [c[1] for c in COMMUNITIES]},
                             geometry=shapes, crs=4326)
    return frame if z is None else frame.set_geometry(lifted(frame.geometry.values, z))


def units(*, z: float | None = None) -> gpd.GeoDataFrame:
    """The units: the first three as footprints (200 m squares), the others as points."""
    shapes = [box(u[5] - 0.001, u[6] - 0.001, u[5] + 0.001, u[6] + 0.001) if i < 3 else Point(u[5], u[6])
              for i, u in enumerate(UNITS)]
    frame = gpd.GeoDataFrame({"编号": [u[0] for u in UNITS], "名称": [u[1] for u in UNITS],
                              "类型": [u[2] for u in UNITS], "户数": [u[3] for u in UNITS],
                              "人口": [u[4] for u in UNITS]}, geometry=shapes, crs=4326)
    return frame if z is None else frame.set_geometry(lifted(frame.geometry.values, z))


def lifted(geometries: np.ndarray, z: float) -> np.ndarray:
    """Give every vertex a height: ``z`` plus a different amount per vertex (like surveyed terrain)."""
    def heights(xyz: np.ndarray) -> np.ndarray:
        return np.column_stack([xyz[:, :2], z + 1000 * (xyz[:, 0] - 108.3)])

    return shapely.transform(shapely.force_3d(geometries), heights, include_z=True)


def run(*args) -> object:
    """Run the gridmap command line; return click's result (stdout and stderr apart)."""
    return CliRunner().invoke(main, [str(arg) for arg in args])


def assert_bad_input(result, *words: str) -> None:
    """Exit 2, a one-line message holding ``words``, and no traceback."""
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def metric_area(frame: gpd.GeoDataFrame) -> pd.Series:
    """Areas in m² in an equal-area CRS (EPSG:6933), independent of gridmap's choice of metric CRS."""
    return frame.to_crs(6933).area


# --- Z coordinates --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["communities.shp", "communities.geojson", "communities.gpkg"])
def test_z_is_dropped_with_a_warning_naming_the_file(tmp_path, name):
    path = tmp_path / name
    communities(z=85.0).to_file(path)
    assert gpd.read_file(path).has_z.all()  # the file really is 3D
    warned = r"communities\.\w+( \(layer 'communities'\))?: 4 of 4 records have Z \(height\)"
    with pytest.warns(GridmapWarning, match=warned) as caught:
        frame = read_layer(path)
    assert str(path) in str(caught[0].message) and "feature 1" in str(caught[0].message)
    assert not frame.has_z.any() and frame.crs.to_epsg() == 4326  # not GDAL's 3D EPSG:4979 (GeoJSON)
    coordinates = shapely.get_coordinates(frame.geometry.values, include_z=True)
    assert np.isnan(coordinates[:, 2]).all() and not np.isnan(coordinates[:, :2]).any()
    flat = communities()
    assert frame.geometry.normalize().geom_equals_exact(flat.geometry.normalize(), tolerance=1e-12).all()
    assert len(frame.geometry[0].interiors) == 1  # the hole survives


def test_z_in_a_csv_wkt_column_is_dropped_and_a_height_column_kept(tmp_path):
    path = tmp_path / "小区.csv"
    path.write_text("名称,高程,WKT\n翠竹苑,86.5,POINT Z (108.303 22.803 86.5)\n"
                    "民生花园,,POINT (108.307 22.806)\n", encoding="utf-8")
    with pytest.warns(GridmapWarning, match=r"1 of 2 records have Z.*row 2"):
        frame = read_layer(path, crs=4326)
    assert not frame.has_z.any() and frame.geometry[0].equals(Point(108.303, 22.803))
    assert frame["高程"].tolist()[0] == 86.5 and pd.isna(frame["高程"].tolist()[1])


def test_2d_files_give_no_warning(tmp_path):
    path = tmp_path / "communities.gpkg"
    communities().to_file(path)
    read_layer(path)  # GridmapWarning is an error in this test suite


def test_a_3d_city_builds_and_checks_like_its_2d_twin(tmp_path):
    """Heights on every vertex change nothing: the same grids, the same areas, the same check.

    Before heights were dropped on read, this city built with exit 0 into grids holding NaN vertices and a
    grid of NaN area (and the sample city with heights ended in a GEOSException traceback).
    """
    communities().to_file(tmp_path / "c2.gpkg")
    units().to_file(tmp_path / "u2.geojson")
    communities(z=85.0).to_file(tmp_path / "c3.shp")
    units(z=12.0).to_file(tmp_path / "u3.geojson")
    built = {}
    for twin, (c, u) in {"2d": ("c2.gpkg", "u2.geojson"), "3d": ("c3.shp", "u3.geojson")}.items():
        result = run("build", "--communities", tmp_path / c, "--units", tmp_path / u, "--out",
                     tmp_path / f"{twin}.gpkg")
        assert result.exit_code == EXIT_OK, result.output
        assert ("have Z (height)" in result.stderr) == (twin == "3d")
        built[twin] = gpd.read_file(tmp_path / f"{twin}.gpkg", layer="grids").sort_values("code",
                                                                                          ignore_index=True)
    flat, lifted_ = built["2d"], built["3d"]
    assert not lifted_.has_z.any()
    assert not np.isnan(shapely.get_coordinates(lifted_.geometry.values)).any()
    assert np.isfinite(metric_area(lifted_)).all()
    assert lifted_["code"].tolist() == flat["code"].tolist()
    np.testing.assert_allclose(metric_area(lifted_), metric_area(flat), rtol=1e-9)
    assert metric_area(flat).sum() == pytest.approx(metric_area(communities()).sum(), rel=1e-6)
    # the grids written with heights check the same as without
    lifted_.set_geometry(lifted(lifted_.geometry.values, 40.0)).to_file(tmp_path / "grids3d.gpkg",
                                                                          layer="grids")
    checks = [run("check", tmp_path / name, "--communities", tmp_path / c)
              for name, c in (("2d.gpkg", "c2.gpkg"), ("grids3d.gpkg", "c3.shp"))]
    assert [r.exit_code for r in checks] == [EXIT_OK, EXIT_OK], [r.output for r in checks]
    assert checks[0].stdout.splitlines()[-1] == checks[1].stdout.splitlines()[-1]


# --- JSON nested too deep -------------------------------------------------------------------------------

DEPTH = 100_000
DEEP = {
    "bare array": "[" * DEPTH + "]" * DEPTH,
    "objects": '{"a":' * DEPTH + "1" + "}" * DEPTH,
    "in a property": ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"名称":"甲",'
                      '"x":' + "[" * DEPTH + "]" * DEPTH + '},"geometry":{"type":"Point",'
                      '"coordinates":[108.3,22.8]}}]}'),
    "in coordinates": '{"type":"Polygon","coordinates":' + "[" * DEPTH + "]" * DEPTH + "}",
    "cut off": "[" * DEPTH,
}


@pytest.mark.parametrize("shape", list(DEEP))
@pytest.mark.parametrize("suffix", [".geojson", ".json"])
def test_json_nested_100000_levels_is_a_read_error(tmp_path, shape, suffix):
    path = tmp_path / f"深层{suffix}"
    path.write_text(DEEP[shape], encoding="utf-8")
    with pytest.raises(ReadError) as caught:
        read_layer(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "nested too deeply" in message or "nested objects" in message or "nesting too deep" in message


def test_cli_check_of_deeply_nested_json_exits_2(tmp_path):
    path = tmp_path / "grids.geojson"
    path.write_text(DEEP["bare array"], encoding="utf-8")
    assert_bad_input(run("check", path), str(path), "nested too deeply")


# --- NUL characters inside names ------------------------------------------------------------------------

def test_nul_in_a_csv_name_is_refused_naming_row_and_column(tmp_path):
    path = tmp_path / "小区.csv"
    text = "名称,户数,人口,经度,纬度\r\n翠竹苑,320,860,108.303,22.803\r\n民生\x00花园,410,,108.307,22.806\r\n"
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(ReadError, match=r"小区\.csv, row 3: column '名称' holds a NUL character \(\\x00\) "
                                        r"after '民生'"):
        read_layer(path)
    with pytest.raises(ReadError, match="row 3"):
        read_table(path)


def test_nul_in_a_geojson_name_is_refused_not_cut_short(tmp_path):
    features = [{"type": "Feature", "properties": {"名称": name, "户数": households},
                 "geometry": {"type": "Point", "coordinates": [108.303, 22.803]}}
                for name, households in (("翠竹苑", 320), ("民生\u0000花园", None))]
    path = tmp_path / "小区.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    assert gpd.read_file(path)["名称"].tolist()[1] == "民生"  # what GDAL alone makes of it
    with pytest.raises(ReadError, match=r"feature 2: column '名称' holds a NUL character .* after '民生'"):
        read_layer(path)
    assert_bad_input(run("check", path), f"{path}, feature 2", "NUL character")


def test_escaped_backslash_before_u0000_is_not_a_nul(tmp_path):
    path = tmp_path / "sites.geojson"
    feature = {"type": "Feature", "properties": {"名称": "C:\\u0000"},
               "geometry": {"type": "Point", "coordinates": [108.303, 22.803]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    assert read_layer(path)["name"].tolist() == ["C:\\u0000"]


def gbk_shapefile(folder: Path, names: list[str], *, cpg: bool = False) -> Path:
    """A GBK point shapefile of the given names, with or without its .cpg."""
    points = [Point(108.303 + i / 1000, 22.803) for i in range(len(names))]
    frame = gpd.GeoDataFrame({"名称": names, "户数": range(len(names))}, geometry=points, crs=4326)
    path = folder / "小区.shp"
    frame.to_file(path, encoding="GBK")
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def test_nul_inside_a_dbf_value_is_refused_naming_the_feature(tmp_path):
    path = gbk_shapefile(tmp_path, ["翠竹苑", "民生花园"])
    dbf = path.with_suffix(".dbf")
    data = dbf.read_bytes()
    name = "民生花园".encode("gbk")
    assert data.count(name) == 1
    dbf.write_bytes(data.replace(name, name[:4] + b"\x00" + name[4:7]))  # 民生 NUL 花 (one byte of 园 lost)
    assert gpd.read_file(path, encoding="gbk")["名称"].tolist()[1] == "民生"  # GDAL cuts it
    with pytest.raises(ReadError, match=r"小区\.shp, feature 2: column '名称' holds a NUL .*'民生'"):
        read_layer(path)


def test_dbf_values_padded_with_nul_bytes_are_fine(tmp_path):
    path = gbk_shapefile(tmp_path, ["翠竹苑", "民生花园"])
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    at = data.index("翠竹苑".encode("gbk")) + 6
    data[at: at + 4] = b"\x00" * 4  # padding after the value written as NUL bytes, not blanks
    dbf.write_bytes(bytes(data))
    assert dbf_cut_text(bytes(data)) is None
    assert read_layer(path)["name"].tolist() == ["翠竹苑", "民生花园"]


# --- symlink loops and other paths ----------------------------------------------------------------------

def test_symlink_loop_is_named_as_such(tmp_path):
    first, second = tmp_path / "a.geojson", tmp_path / "b.geojson"
    first.symlink_to(second)
    second.symlink_to(first)
    for call in (read_layer, list_layers):
        with pytest.raises(ReadError, match=r"a\.geojson: symlink loop"):
            call(first)
    assert_bad_input(run("check", first), str(first), "symlink loop")
    assert_bad_input(run("build", "--communities", first, "--units", first, "--out", tmp_path / "o.gpkg"),
                     "symlink loop")
    assert not (tmp_path / "o.gpkg").exists()


def test_a_nul_in_the_file_name_is_a_read_error():
    with pytest.raises(ReadError, match=r"'units\\x00\.csv': the file name holds a NUL character"):
        read_layer("units\x00.csv")


def test_broken_symlink_names_its_target(tmp_path):
    link = tmp_path / "units.csv"
    link.symlink_to(tmp_path / "moved" / "units.csv")
    with pytest.raises(ReadError, match=r"units\.csv: broken symlink: it points to .*moved/units\.csv"):
        read_table(link)


def test_a_file_the_system_cannot_read_is_named(tmp_path, monkeypatch):
    path = tmp_path / "units.csv"
    path.write_text("名称,经度,纬度\n甲,108.3,22.8\n", encoding="utf-8")

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ReadError, match=r"units\.csv: the system cannot read the file: Permission denied"):
        read_layer(path)


BAD_FILES = {  # name: bytes of a file gridmap cannot read; each message must name the file
    "cut.geojson": b'{"type": "FeatureCollection", "features": [',
    "deep.json": b"[" * 5000,
    "latin.csv": "名称,经度\nCafé,108\n".encode().replace("é".encode(), b"\xe9\xff"),
    "lonlat_text.csv": "名称,经度,纬度\n甲,东经108度,22.8\n".encode(),
    "no_coords.csv": "名称,户数\n甲,3\n".encode(),
    "workbook.csv": b"PK\x03\x04" + bytes(40),
    "damaged.xlsx": b"PK\x03\x04" + bytes(100),
    "damaged.gpkg": b"SQLite format 3\x00" + bytes(200),
    "damaged.parquet": b"PAR1" + bytes(30),
    "units.shp": b"\x00\x00\x27\x0a" + bytes(96),
    "notes.txt": "说明\n".encode(),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_every_read_error_names_its_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(ReadError) as caught:
        read_layer(path)
    assert str(caught.value).startswith(str(path)), str(caught.value)
    assert_bad_input(run("check", path), str(path))


# --- XLSX: formulas without saved values, titles above the header -----------------------------------------

HEADER = ["名称", "社区代码", "户数", "人口", "经度", "纬度"]


def workbook(path: Path, rows: list[list], *, title: str | None = None, blank: bool = False,
             sheet: str = "小区") -> Path:
    """Save a workbook as openpyxl (and pandas) do: formulas without their results."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    if blank:
        ws.append([])
    for row in [HEADER, *rows]:
        ws.append(row)
    book.save(path)
    return path


def test_xlsx_formulas_without_values_are_refused_naming_the_cells(tmp_path):
    rows = [["翠竹苑", "450102001001", 320, "=C4*2.5", 108.303, "=22.8+0.003"],
            ["民生花园", "450102001001", None, None, 108.307, 22.806]]
    path = workbook(tmp_path / "小区.xlsx", rows, title="示例市网格统计表", blank=True)
    with pytest.raises(ReadError) as caught:
        read_layer(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: 2 cells hold formulas without a value: 小区!D4, 小区!F4")
    assert "paste them as values" in message and "Excel or WPS" in message
    with pytest.raises(ReadError, match="小区!D4"):
        read_table(path)
    assert_bad_input(run("check", path), str(path), "小区!D4")


def test_pandas_formula_in_a_sheet_with_spaces_is_quoted(tmp_path):
    path = tmp_path / "units.xlsx"
    frame = pd.DataFrame({"名称": ["甲", "乙"], "经度": ["=107.3+1", 108.31], "纬度": [22.8, 22.81]})
    frame.to_excel(path, index=False, sheet_name="my units", engine="openpyxl")  # no saved values
    with pytest.raises(ReadError, match=r"1 cell holds a formula without a value: 'my units'!B2\."):
        read_layer(path)


def test_formulas_saved_by_xlsxwriter_with_placeholder_results_are_refused(tmp_path):
    # XlsxWriter (pandas' default writer when installed) saves 0 as each result and asks for recalculation
    path = tmp_path / "小区.xlsx"
    frame = pd.DataFrame({"名称": ["甲", "乙"], "经度": ["=107.3+1", 108.31], "纬度": [22.8, 22.81]})
    frame.to_excel(path, index=False, sheet_name="小区", engine="xlsxwriter")
    with zipfile.ZipFile(path) as archive:
        assert b"<v>0</v>" in archive.read("xl/worksheets/sheet1.xml")
    with pytest.raises(ReadError, match=r"1 cell holds a formula without a value: 小区!B2\..*XlsxWriter"):
        read_layer(path)
    frame.assign(经度=[107.3, 108.31]).to_excel(path, index=False, sheet_name="小区", engine="xlsxwriter")
    assert read_layer(path)["name"].tolist() == ["甲", "乙"]  # no formula: read as usual


def test_xlsx_formulas_with_saved_values_are_read(tmp_path):
    """A workbook saved by Excel keeps each result in <v>; an empty text result is not refused."""
    path = workbook(tmp_path / "小区.xlsx", [["翠竹苑", "450102001001", 320, "=C2*2.5", 108.303, 22.803]])
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    assert re.search(rb"<f>C2\*2\.5</f><v ?/>", sheet)
    sheet = re.sub(rb"<f>C2\*2\.5</f><v ?/>", b"<f>C2*2.5</f><v>800</v>", sheet)
    empty_text = b'<c r="G2" t="str"><f>IF(1,"")</f><v></v></c>'
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(b'<c r="F2"', empty_text + b'<c r="F2"')
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    frame = read_layer(path)
    assert frame["population"].tolist() == [800]


@pytest.mark.parametrize("blank", [False, True])
def test_xlsx_title_above_the_header_is_skipped_with_a_note(tmp_path, caplog, blank):
    rows = [["翠竹苑", "450102001001", 320, 860, 108.303, 22.803],
            ["民生花园", 450102001001, None, None, 108.307, 22.806],
            ["兴宁大厦", "450102001002", 0, 99_999_999, 108.314, 22.803]]
    path = workbook(tmp_path / "统计表.xlsx", rows, title="示例市网格统计表", blank=blank)
    with caplog.at_level(logging.WARNING, logger="gridmap.io.read"):
        frame = read_layer(path)
    header_row = 3 if blank else 2
    assert f"the header is on row {header_row} (名称, 社区代码, 户数, 人口, 经度, 纬度)" in caplog.text
    assert frame.columns.tolist() == ["name", "community_code", "households", "population", "geometry"]
    assert frame["name"].tolist() == ["翠竹苑", "民生花园", "兴宁大厦"]
    assert frame["community_code"].tolist() == ["450102001001", "450102001001", "450102001002"]
    assert frame["households"].tolist()[::2] == [320, 0] and pd.isna(frame["households"][1])
    assert frame["population"].tolist()[2] == 99_999_999
    assert frame.geometry[1].equals(Point(108.307, 22.806))
    assert frame.attrs["gridmap_records"]  # rows named as the sheet shows them
    from gridmap.io import record_labels
    assert record_labels(frame).tolist() == [f"row {header_row + i}" for i in (1, 2, 3)]


def test_xlsx_negative_households_below_a_title_name_the_sheet_row(tmp_path):
    path = workbook(tmp_path / "统计表.xlsx", [["翠竹苑", "450102001001", -5, 860, 108.303, 22.803]],
                    title="示例市网格统计表")
    with pytest.raises(SchemaError, match=r"统计表\.xlsx, row 3: column '户数'.*-5 is negative"):
        read_layer(path)


# --- encodings: GBK CSV with CRLF, GBK shapefile without .cpg, GB18030-only characters ---------------------

CSV_ROWS = [["翠竹苑", "450102001001", "320", "860", "108.303", "22.803"],
            ["民生花园", "450102001001", "", "", "108.307", "22.806"],
            [f"{RARE}家园", "450102001002", "0", "99999999", "108.314", "22.803"]]


def csv_text(rows: list[list[str]], *, end: str = "\r\n") -> str:
    return "".join(",".join(row) + end for row in [HEADER, *rows])


def test_gbk_csv_with_crlf_and_no_bom(tmp_path):
    path = tmp_path / "小区.csv"
    data = csv_text(CSV_ROWS[:2]).encode("gbk")
    assert not data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == 3
    path.write_bytes(data)
    frame = read_layer(path)
    assert frame["name"].tolist() == ["翠竹苑", "民生花园"]
    assert frame["community_code"].tolist() == ["450102001001"] * 2
    assert frame["households"].tolist()[0] == 320 and pd.isna(frame["households"][1])
    assert not any("\r" in str(value) for value in frame.drop(columns="geometry").to_numpy().ravel())
    assert frame.geometry[1].equals(Point(108.307, 22.806))


def test_gb18030_only_characters_in_a_csv(tmp_path):
    text = csv_text(CSV_ROWS)
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    path = tmp_path / "小区.csv"
    path.write_bytes(text.encode("gb18030"))
    frame = read_layer(path)
    assert frame["name"].tolist()[2] == f"{RARE}家园"
    assert frame["population"].tolist()[2] == 99_999_999


def test_huge_population_in_a_gbk_csv_is_refused_naming_the_row(tmp_path):
    rows = [*CSV_ROWS[:2], ["滨江苑", "450102001002", "360", "1e30", "108.317", "22.807"]]
    path = tmp_path / "小区.csv"
    path.write_bytes(csv_text(rows).encode("gbk"))
    with pytest.raises(SchemaError, match=r"小区\.csv, row 4: column '人口'"):
        read_layer(path)


@pytest.mark.parametrize("zipped", [False, True])
def test_gbk_shapefile_without_cpg(tmp_path, zipped):
    names = ["翠竹苑", "民生花园", "望仙坡小区"]
    path = gbk_shapefile(tmp_path, names)
    assert not path.with_suffix(".cpg").exists()
    assert "翠竹苑".encode("gbk") in path.with_suffix(".dbf").read_bytes()
    if zipped:
        archive = tmp_path / "小区.zip"
        with zipfile.ZipFile(archive, "w") as out:
            for part in sorted(tmp_path.glob("小区.*")):
                if part != archive:
                    out.write(part, f"数据/{part.name}")
        path = archive
    frame = read_layer(path)
    assert frame["name"].tolist() == names
    assert frame["households"].tolist() == [0, 1, 2]


def test_utf8_field_names_cut_by_the_dbf_width_are_read_with_a_warning(tmp_path):
    """GDAL keeps 10 bytes of 区划代码 (12 in UTF-8): pyogrio alone fails on the half character."""
    frame = gpd.GeoDataFrame({"区划代码": ["450102001001"], "备注": ["老小区" * 100]},
                             geometry=[Point(108.303, 22.803)], crs=4326)
    path = tmp_path / "社区.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL says it shortens the name and the value
        frame.to_file(path)  # UTF-8, with a .cpg
    with pytest.raises(UnicodeDecodeError):
        gpd.read_file(path)
    with pytest.warns(GridmapWarning, match=r"社区\.shp: 1 field name or value is cut in the middle of a "
                                            r"character .* '区划代'"):
        read = read_layer(path)
    assert read.columns.tolist() == ["区划代", "备注", "geometry"]
    assert read["区划代"].tolist() == ["450102001001"]
    assert read["备注"][0] == ("老小区" * 100)[:84]  # GDAL cuts a value at a character boundary


def test_gb18030_shapefile_without_cpg_keeps_rare_characters(tmp_path):
    frame = gpd.GeoDataFrame({"名称": [f"{RARE}村", "那坡屯"]},
                             geometry=[Point(108.41, 22.87), Point(108.42, 22.88)], crs=4326)
    path = tmp_path / "村.shp"
    frame.to_file(path, encoding="GB18030")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    assert read_layer(path)["name"].tolist() == [f"{RARE}村", "那坡屯"]


def test_gbk_crlf_csv_builds_from_the_command_line(tmp_path):
    rows = [[u[1], u[2], str(u[3]), str(u[4]), str(u[5]), str(u[6])] for u in UNITS]
    header = ["名称", "类型", "户数", "人口", "经度", "纬度"]
    text = "".join(",".join(row) + "\r\n" for row in [header, *rows])
    (tmp_path / "units.csv").write_bytes(text.encode("gbk"))
    communities().to_file(tmp_path / "communities.gpkg")
    result = run("build", "--communities", tmp_path / "communities.gpkg", "--units", tmp_path / "units.csv",
                 "--out", tmp_path / "grids.gpkg")
    assert result.exit_code == EXIT_OK, result.output
    built = gpd.read_file(tmp_path / "grids.gpkg", layer="units")
    assert sorted(built["name"]) == sorted(u[1] for u in UNITS)


def test_no_temporary_files_left(tmp_path):
    """The readers write nothing beside the files they read."""
    path = workbook(tmp_path / "小区.xlsx", [["翠竹苑", "450102001001", 320, "=C2", 108.303, 22.803]])
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ReadError):
        read_layer(path)
    assert sorted(os.listdir(tmp_path)) == before


# --- properties -----------------------------------------------------------------------------------------

#: Characters of real names: common ones, GB18030-only ones, full-width and ASCII digits and letters.
NAME_CHARACTERS = "翠竹苑民生花园兴宁大厦朝阳小区望仙坡滨江那坡屯号楼栋（）·" + RARE + "0123456789ABCab"
names = st.lists(st.text(alphabet=NAME_CHARACTERS, min_size=1, max_size=30), min_size=1, max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=names, encoding=st.sampled_from(["UTF-8", "GB18030"]))
def test_any_names_survive_a_shapefile_round_trip(tmp_path, values, encoding):
    """Shapefile text is decoded in Python: every name comes back as written, in either encoding."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    frame = gpd.GeoDataFrame({"名称": values}, geometry=[Point(108.3 + i / 100, 22.8) for i in
                                                       range(len(values))], crs=4326)
    frame.to_file(folder / "小区.shp", encoding=encoding)
    assert read_layer(folder / "小区.shp")["name"].tolist() == values


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=names, end=st.sampled_from(["\r\n", "\n", "\r"]))
def test_any_names_survive_a_gb18030_csv(tmp_path, values, end):
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "小区.csv"
    rows = [[value, str(i), "108.3", "22.8"] for i, value in enumerate(values)]
    text = "".join(",".join(row) + end for row in [["名称", "户数", "经度", "纬度"], *rows])
    path.write_bytes(text.encode("gb18030"))
    frame = read_layer(path)
    assert frame["name"].tolist() == values
    assert frame["households"].tolist() == list(range(len(values)))
