"""Tests of gridmap.io.write_layer: round trips through every format, append mode and atomic writes."""

from __future__ import annotations

import codecs
import json
import os
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point

import gridmap.io.write as write_module
from gridmap.errors import WriteError
from gridmap.io import list_layers, read_layer, read_table, write_layer
from gridmap.io.write import display_width

FORMATS = [".gpkg", ".parquet", ".geojson", ".csv", ".xlsx"]


def units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "unit_id": pd.Series(["001", "U-7"], dtype="str"),
            "name": pd.Series(["翠竹苑", "㐀家村"], dtype="str"),
            "community_code": pd.Series(["450102001003", "450102001203"], dtype="str"),
            "households": pd.array([320, None], dtype="Int64"),
            "面积": [1234.5, 0.25],
        },
        geometry=[Point(108.32031234567, 22.81712345678), Point(108.4102, 22.8705)],
        crs=4326,
    )


def grids() -> gpd.GeoDataFrame:
    cells = [shapely.box(108.30, 22.80, 108.31, 22.81),
             shapely.Polygon([(108.31, 22.80), (108.33, 22.80), (108.32, 22.82)], holes=[]),
             ]
    return gpd.GeoDataFrame({"grid_code": ["450102001003001", "450102001003002"], "population": [1800, 2100]},
                            geometry=cells, crs=4490)


def files(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("suffix", FORMATS)
def test_points_round_trip(tmp_path, suffix):
    frame = units()
    path = write_layer(frame, tmp_path / f"units{suffix}")
    assert path == tmp_path / f"units{suffix}" and files(tmp_path) == [path.name]
    back = read_layer(path)
    assert_geodataframe_equal(back, frame, check_less_precise=suffix == ".geojson")
    assert back["unit_id"].tolist() == ["001", "U-7"]
    assert back["community_code"].tolist() == ["450102001003", "450102001203"]


@pytest.mark.parametrize("suffix", FORMATS)
def test_polygons_round_trip_with_area(tmp_path, suffix):
    frame = grids()
    path = write_layer(frame, tmp_path / f"grids{suffix}")
    back = read_layer(path, crs=4490 if suffix in (".csv", ".xlsx") else None)  # CSV and Excel carry no CRS
    assert back.crs.to_epsg() == 4490
    assert back["grid_code"].tolist() == frame["grid_code"].tolist()
    assert back["population"].tolist() == [1800, 2100]
    metric = frame.to_crs(4545)
    difference = back.to_crs(4545).geometry.symmetric_difference(metric.geometry, align=False).area
    assert (difference < 1e-6 * metric.area).all()


def test_csv_is_utf8_with_bom_and_points_as_lon_lat(tmp_path):
    path = write_layer(units(), tmp_path / "units.csv")
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    header = data[len(codecs.BOM_UTF8):].decode("utf-8").splitlines()[0]
    assert header == "unit_id,name,community_code,households,面积,lon,lat"


def test_csv_of_projected_points_uses_x_y(tmp_path):
    path = write_layer(units().to_crs(4545), tmp_path / "metres.csv")
    assert path.read_text(encoding="utf-8-sig").splitlines()[0].endswith(",x,y")
    back, expected = read_layer(path, crs=4545), units()
    assert abs(back.geometry.x - expected.geometry.x).max() < 1e-8
    assert abs(back.geometry.y - expected.geometry.y).max() < 1e-8


def test_xlsx_codes_are_text_cells(tmp_path):
    path = write_layer(units(), tmp_path / "units.xlsx", "小区")
    sheet = openpyxl.load_workbook(path)["小区"]
    assert sheet["A2"].value == "001" and sheet["A2"].data_type == "s"
    assert sheet["C2"].value == "450102001003" and sheet["C2"].data_type == "s"


def test_table_without_geometry_to_csv_xlsx_parquet_and_gpkg(tmp_path):
    staff = pd.DataFrame({"grid_code": ["450102001003001"], "name": ["黄丽"], "role": ["leader"]})
    for suffix in (".csv", ".xlsx", ".parquet"):
        back = read_table(write_layer(staff, tmp_path / f"staff{suffix}"))
        pd.testing.assert_frame_equal(back, staff)
    gpkg = write_layer(units(), tmp_path / "city.gpkg", "units")
    write_layer(staff, gpkg, "staff", mode="a")
    assert list_layers(gpkg) == ["units", "staff"]
    back = pyogrio.read_dataframe(gpkg, layer="staff", read_geometry=False)
    assert list(back["grid_code"]) == ["450102001003001"] and list(back["name"]) == ["黄丽"]
    with pytest.raises(WriteError, match=r"staff\.geojson: a table without geometry.*Fix: write it as \.csv"):
        write_layer(staff, tmp_path / "staff.geojson")


def test_no_extension_writes_geopackage(tmp_path):
    path = write_layer(units(), tmp_path / "city")
    assert path.name == "city.gpkg" and list_layers(path) == ["city"]


def test_driver_argument_overrides_extension(tmp_path):
    path = write_layer(units(), tmp_path / "units.dat", driver="geojson")
    assert path.read_text(encoding="utf-8").lstrip().startswith("{")


def test_input_frame_is_not_changed(tmp_path):
    frame = units()
    copy = frame.copy()
    for suffix in FORMATS:
        write_layer(frame, tmp_path / f"units{suffix}")
    assert_geodataframe_equal(frame, copy)


# --- several layers -------------------------------------------------------------------------------------

def test_append_adds_and_replaces_geopackage_layers(tmp_path):
    path = tmp_path / "city.gpkg"
    write_layer(units(), path, "units", mode="a")  # mode="a" on a new file creates it
    write_layer(grids(), path, "grids", mode="a")
    assert list_layers(path) == ["units", "grids"]
    write_layer(units().iloc[:1], path, "units", mode="a")
    assert sorted(list_layers(path)) == ["grids", "units"]
    assert len(read_layer(path, "units")) == 1 and len(read_layer(path, "grids")) == 2
    write_layer(grids(), path, "grids")  # mode="w" replaces the whole file
    assert list_layers(path) == ["grids"]
    assert files(tmp_path) == ["city.gpkg"]


def test_append_adds_sheets_to_a_workbook(tmp_path):
    path = tmp_path / "city.xlsx"
    write_layer(units(), path, "units")
    write_layer(grids(), path, "grids", mode="a")
    write_layer(grids().iloc[:1], path, "grids", mode="a")
    assert list_layers(path) == ["units", "grids"]
    assert read_layer(path, "grids", crs=4490)["grid_code"].tolist() == ["450102001003001"]
    assert read_layer(path, "units")["unit_id"].tolist() == ["001", "U-7"]


def cells(path: Path) -> dict:
    book = openpyxl.load_workbook(path)
    return {name: [[(cell.value, cell.number_format) for cell in row] for row in book[name].iter_rows()]
            for name in book.sheetnames}


def test_a_workbook_written_at_once_holds_what_sheet_by_sheet_appends_hold(tmp_path):
    # write_workbook takes layers as write_layer does (points as lon/lat, polygons as WKT), in one save
    from gridmap.io.write import write_workbook

    write_layer(units(), tmp_path / "appended.xlsx", "units")
    write_layer(grids(), tmp_path / "appended.xlsx", "grids", mode="a")
    write_workbook({"units": units(), "grids": grids()}, tmp_path / "at_once.xlsx")
    at_once = cells(tmp_path / "at_once.xlsx")
    assert at_once == cells(tmp_path / "appended.xlsx")
    assert at_once["units"][0][-2:] == [("lon", "General"), ("lat", "General")]
    assert at_once["units"][1][3] == (320, "#,##0")
    assert at_once["grids"][1][-1][0].startswith("POLYGON ((108.31 22.8")


def messy_table() -> pd.DataFrame:
    import datetime
    from decimal import Decimal

    return pd.DataFrame({
        "社区": ["翠竹苑", None, "=1+1", " 空格 ", "a\rb\r\nc"],
        "户数": pd.array([12_345, None, -7, 0, 2**40], dtype="Int64"),
        "面积": [0.1 + 0.2, float("nan"), float("inf"), -1e-300, 1e300],
        "上报时间": pd.to_datetime(["2024-05-01 08:30", None, "1900-01-01", "2024-05-02",
                                "2024-12-31 23:59:59"], format="ISO8601"),
        "日期": [datetime.date(2024, 5, 1), None, datetime.date(1899, 12, 31), datetime.date(2000, 2, 29),
               None],
        "办结": [True, False, True, False, True],
        "用时": pd.to_timedelta(["1 days 02:00:00", None, "0 s", "36 h", "1 min"]),
        "金额": [Decimal("1.25"), None, Decimal("-3"), Decimal("1e20"), Decimal("0.1")],
        7: ["数字列名", "b", "", "d", "e"],
    })


def cell_facts(path: Path, sheet: str) -> tuple:
    book = openpyxl.load_workbook(path)[sheet]
    cells = [[(cell.value, type(cell.value).__name__, cell.number_format, bool(cell.font.b)) for cell in row]
             for row in book.iter_rows()]
    widths = {letter: dimension.width for letter, dimension in book.column_dimensions.items()}
    return cells, widths, book.freeze_panes, book.auto_filter.ref


def test_a_new_workbook_holds_the_cells_an_added_sheet_holds(tmp_path):
    # new workbooks are written with XlsxWriter, sheets added to a workbook with pandas and openpyxl:
    # the same values, types, number formats, bold totals, widths, frozen header and filter either way
    table = messy_table()
    totals = {"t": {"社区": "合计", "户数": 12_338, "面积": 0.5, 7: "=SUM(A1)"}}
    fresh = tmp_path / "fresh.xlsx"
    write_module._write_sheets({"t": table}, fresh, path=fresh, append=False, formats={"面积": "0.0%"},
                               totals=totals)
    added = tmp_path / "added.xlsx"
    write_layer(pd.DataFrame({"a": [1]}), added, "first")
    write_module._write_sheets({"t": table}, added, path=added, append=True, formats={"面积": "0.0%"},
                               totals=totals)
    cells, widths, frozen, ref = cell_facts(fresh, "t")
    assert (cells, widths, frozen, ref) == cell_facts(added, "t")
    assert cells[1][:3] == [("翠竹苑", "str", "General", False), (12_345, "int", "#,##0", False),
                            (0.3, "float", "0.0%", False)]  # 0.30000000000000004 as Excel keeps 16 digits
    assert cells[3][0][0] == "'=1+1" and cells[3][2][0] == "inf"  # a formula neutralised; infinity as text
    when = pd.Timestamp("2024-05-01 08:30").to_pydatetime()
    assert cells[1][3][:3] == (when, "datetime", "yyyy-mm-dd hh:mm")
    assert cells[6][:2] == [("合计", "str", "General", True), (12_338, "int", "#,##0", True)]
    assert widths["A"] == display_width("翠竹苑") + 2 and (frozen, ref) == ("A2", "A1:I6")


def test_a_workbook_refuses_a_column_of_lists_like_a_layer(tmp_path):
    from gridmap.io.write import write_workbook

    table = pd.DataFrame({"网格": ["A", "B"], "人员": [["张三"], "李四"]})
    with pytest.raises(WriteError, match=r"column '人员' holds a list \(\['张三'\]\) in record 1"):
        write_workbook({"findings": table}, tmp_path / "a.xlsx")
    assert files(tmp_path) == []


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".parquet"])
def test_append_to_single_layer_format_is_refused(tmp_path, suffix):
    with pytest.raises(WriteError,
                       match=rf"units{suffix}: a \w+ file holds one layer.*Fix: write to a \.gpkg"):
        write_layer(units(), tmp_path / f"units{suffix}", mode="a")


# --- refused writes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, pattern", [
    ({"path": "units.shp"}, r"units\.shp: cannot write \.shp: a shapefile cuts column names"
                            r".*Fix: write a GeoPackage"),
    ({"path": "units.gpkg", "driver": "KML"}, r"units\.gpkg: unknown driver 'KML'.*Fix: pass driver= one of"),
    ({"path": "units.gpkg", "mode": "x"}, r"units\.gpkg: mode='x' is not a write mode"),
    ({"path": "missing/units.gpkg"}, r"units\.gpkg: folder .*missing does not exist.*Fix: create the folder"),
    ({"path": "units.xlsx", "layer": "a/b"}, r"units\.xlsx: 'a/b' cannot name an Excel sheet"),
])
def test_refused_writes_name_file_and_fix(tmp_path, kwargs, pattern):
    kwargs = {**kwargs, "path": tmp_path / kwargs["path"]}
    with pytest.raises(WriteError, match=pattern):
        write_layer(units(), **kwargs)
    assert files(tmp_path) == []


def test_not_a_frame_is_refused(tmp_path):
    with pytest.raises(WriteError, match=r"x\.gpkg: expected a GeoDataFrame, got list"):
        write_layer([1, 2], tmp_path / "x.gpkg")


# --- atomicity ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix, mode", [*((suffix, "w") for suffix in FORMATS),
                                         (".gpkg", "a"), (".xlsx", "a")])
def test_failed_write_leaves_original_and_no_temporary(tmp_path, monkeypatch, suffix, mode):
    path = write_layer(units(), tmp_path / f"units{suffix}")
    original = path.read_bytes()
    driver = write_module._driver(path, None)
    real = write_module._WRITERS[driver]

    def disk_full(frame, temporary, layer, **kwargs):
        real(frame, temporary, layer, **kwargs)  # a (partial) temporary file exists when the disk fills up
        assert temporary.exists() and temporary.parent == path.parent
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(write_module._WRITERS, driver, disk_full)
    with pytest.raises(WriteError, match=rf"units{suffix}: cannot write {driver}: the disk is full"
                                         r".*The previous file, if any, is unchanged"):
        write_layer(grids(), path, "grids", mode=mode)
    assert path.read_bytes() == original
    assert files(tmp_path) == [path.name]


def test_failed_final_move_leaves_no_temporary(tmp_path, monkeypatch):
    path = write_layer(units(), tmp_path / "units.gpkg")
    original = path.read_bytes()

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(write_module.os, "replace", refuse)
    with pytest.raises(WriteError, match=r"units\.gpkg: cannot replace GPKG: permission denied.*Fix: close "
                                         r"it in other programs"):
        write_layer(grids(), path)
    monkeypatch.undo()
    assert path.read_bytes() == original and files(tmp_path) == ["units.gpkg"]


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".xlsx", ".parquet"])
def test_unsupported_column_type_raises_and_writes_nothing(tmp_path, suffix):
    when = pd.to_datetime(["2024-01-01 08:00", "2024-01-02 09:00"]).tz_localize("Asia/Shanghai")
    frame = units().assign(when=when,
                           complex=[1 + 2j, 3j])
    with pytest.raises(WriteError, match=rf"units{suffix}: cannot write \w+: .*Fix: check the column types"):
        write_layer(frame, tmp_path / f"units{suffix}")
    assert files(tmp_path) == []


def test_excel_cell_limit_for_long_wkt(tmp_path):
    circle = Point(108.3, 22.8).buffer(0.01, quad_segs=2000)
    frame = gpd.GeoDataFrame({"name": ["圆"]}, geometry=[circle], crs=4326)
    with pytest.raises(WriteError, match=r"big\.xlsx: the geometry of feature 1 needs \d+ characters as WKT"):
        write_layer(frame, tmp_path / "big.xlsx")
    assert files(tmp_path) == []


def test_geopackage_layers_written_by_pyogrio_are_readable_by_gdal(tmp_path):
    path = write_layer(grids(), tmp_path / "grids.gpkg")
    info = pyogrio.read_info(path)
    assert info["crs"] == "EPSG:4490" and info["features"] == 2 and info["geometry_type"] == "Polygon"


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("value", [["001", "002"], ("a", 1), {"a", "b"}, {"households": 3}])
def test_lists_sets_and_dicts_are_refused_naming_the_column(tmp_path, suffix, value):
    previous = write_layer(units(), tmp_path / f"units{suffix}").read_bytes()
    frame = units().assign(members=pd.Series(["003", value], dtype=object))
    with pytest.raises(WriteError, match=rf"units{suffix}: column 'members' holds a {type(value).__name__} "
                                         r".* in record 2; .*Fix: turn them into text first"):
        write_layer(frame, tmp_path / f"units{suffix}")
    assert (tmp_path / f"units{suffix}").read_bytes() == previous and files(tmp_path) == [f"units{suffix}"]


def test_text_and_mixed_plain_values_are_written(tmp_path):
    frame = units().assign(note=pd.Series(["a;b", None], dtype=object),
                           mixed=pd.Series([1, "x"], dtype=object))
    back = read_layer(write_layer(frame, tmp_path / "units.gpkg"))
    assert back["note"].iloc[0] == "a;b" and pd.isna(back["note"].iloc[1])
    assert back["mixed"].tolist() == ["1", "x"]


# --- GDAL's own words for a read-only folder or a full disk (issue 14) -----------------------------------

def _gdal_failure(message: str):
    def fail(frame, temporary, layer, **kwargs):
        raise pyogrio.errors.DataSourceError(message.format(temporary=temporary))
    return fail


@pytest.mark.parametrize("message", ["Failed to commit transaction", "sqlite3_exec(COMMIT) failed: database "
                                     "or disk is full", "disk I/O error"])
def test_gdal_failure_on_a_full_disk_says_the_disk_is_full(tmp_path, monkeypatch, message):
    path = write_layer(units(), tmp_path / "units.gpkg")
    previous = path.read_bytes()
    monkeypatch.setitem(write_module._WRITERS, "GPKG", _gdal_failure(message))
    monkeypatch.setattr(write_module, "folder_cause", _full_unless_said(message))
    with pytest.raises(WriteError, match=r"units\.gpkg: cannot write GPKG: the disk is full\. Fix: free some "
                                         r"space"):
        write_layer(grids(), path)
    assert path.read_bytes() == previous and files(tmp_path) == ["units.gpkg"]


def _full_unless_said(message: str):
    """folder_cause as on a disk with no free space left (statvfs says 0 bytes free)."""
    from gridmap.io import _atomic

    def cause(path, text="", *, needed=0):
        assert text == message
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_atomic, "_free_bytes", lambda folder: 0)
            return _atomic.folder_cause(path, text, needed=needed)
    return cause


def test_gdal_failure_in_a_read_only_folder_names_the_folder(tmp_path, monkeypatch):
    monkeypatch.setitem(write_module._WRITERS, "GPKG", _gdal_failure(
        "sqlite3_open({temporary}) failed: unable to open database file"))
    monkeypatch.setattr(os, "access", lambda path, mode, **kwargs: False)
    with pytest.raises(WriteError) as raised:
        write_layer(grids(), tmp_path / "grids.gpkg")
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'grids.gpkg'}: cannot write GPKG: the folder {tmp_path} cannot "
                              "be written (read-only or no permission). Fix: write to a folder you may write")
    assert ".tmp." not in message and "column types" not in message


def test_gdal_failure_with_room_and_permission_still_points_at_the_data(tmp_path, monkeypatch):
    monkeypatch.setitem(write_module._WRITERS, "GPKG", _gdal_failure("Failed to commit transaction"))
    with pytest.raises(WriteError, match=r"cannot write GPKG: Failed to commit transaction\. Fix: check the "
                                         r"column types"):
        write_layer(grids(), tmp_path / "grids.gpkg")


_SUBPROCESS = "import json, sys, gridmap, geopandas as gpd, shapely\n" \
              "n = int(sys.argv[1])\n" \
              "points = shapely.points([[108 + i * 1e-5, 22.8] for i in range(n)])\n" \
              "frame = gpd.GeoDataFrame({'code': [f'x{i}' * 20 for i in range(n)]}, geometry=points)\n" \
              "said = []\n" \
              "for path in sys.argv[2:]:\n" \
              "    try:\n        gridmap.write_layer(frame, path)\n        said.append('')\n" \
              "    except gridmap.GridmapError as error:\n        said.append(str(error))\n" \
              "print(json.dumps(said))\n"


def _run(*prefix: str, paths: list[Path], rows: int) -> list[str]:
    """What writing ``rows`` points to each of ``paths`` in turn, in one new interpreter, said (the
    GridmapError's text, or "" when the write went through)."""
    import subprocess
    import sys
    result = subprocess.run([*prefix, sys.executable, "-c", _SUBPROCESS, str(rows), *map(str, paths)],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_real_read_only_folder(tmp_path):
    import shutil
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to drop the permission override (non-root is the same case)")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    (said,) = _run("setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--",
                   paths=[folder / "x.gpkg"], rows=3)
    assert f"the folder {folder} cannot be written (read-only or no permission)" in said, said
    assert list(folder.iterdir()) == []


def test_real_full_disk(tmp_path):
    import subprocess
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        for said in _run(paths=[folder / "x.gpkg", folder / "x.geojson"], rows=5000):
            assert "the disk is full. Fix: free some space" in said, said
        assert list(folder.iterdir()) == []
    finally:
        subprocess.run(["umount", str(folder)], check=True)
