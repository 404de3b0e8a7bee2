"""Write the bad-input corpus: small malformed files, ``manifest.json`` and ``README.md`` (issue 9).

Run from the repository root: ``python tests/bad_inputs/make_corpus.py``. The output is deterministic
(fixed zip and dbf dates, fixed GeoPackage timestamps), so the committed files change only when this
script does; ``tests/test_bad_inputs.py`` checks that by regenerating into a temporary folder.

Each case in the manifest names its input file(s), the call to make (``op`` and ``args``, interpreted by
``tests/test_bad_inputs.py``) and what must happen:

* ``expect: "error"`` — ``error`` is the GridmapError subclass; ``words`` must all appear in the message,
  as must ``record`` when given, and the input file's name unless ``file_in_message`` is false;
* ``expect: "reads"`` — the call succeeds; ``rows``, ``columns``, ``values``, ``epsg`` and ``warns``
  say what the result must hold;
* ``expect: "report"`` — the call returns a report holding the ``checks`` named (default, non-strict
  mode);
* ``expect: "unchanged"`` — an output call fails with ``error`` and the previous file is byte-identical.

``gap``, when present, says why gridmap does not yet do what the case expects: the test is an
``xfail(strict=True)`` that turns into a failure once the gap is closed (then delete the ``gap``).

Coordinates are fictional points in Nanning (南宁市兴宁区, around 108.31 E, 22.81 N).
"""

from __future__ import annotations

import io
import json
import re
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pyogrio
import shapely
from shapely import LineString, Point, Polygon, box

HERE = Path(__file__).resolve().parent
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
_GPKG_DATE = "2020-01-01T00:00:00Z"
_GDAL_OPTIONS = {"OGR_CURRENT_DATE": _GPKG_DATE, "OGR_SQLITE_JOURNAL": "OFF"}
# Files this script writes besides the cases' inputs; anything else in the folder is left alone.
_OWN_FILES = ("manifest.json", "README.md")

# --- the small fictional city the cases are cut from -------------------------------------------------

STREET = "450102001"
COMMUNITIES = [  # code, name, west, south (boxes of 0.01 degree, about 1 km)
    ("450102001001", "民生社区", 108.300, 22.800),
    ("450102001002", "兴宁社区", 108.310, 22.800),
    ("450102001003", "朝阳社区", 108.300, 22.810),
    ("450102001004", "望仙坡社区", 108.310, 22.810),
]
UNITS = [  # unit_id, name, kind, households, population, lon, lat
    ("001", "翠竹苑", "小区", 320, 860, 108.3030, 22.8030),
    ("002", "民生花园", "小区", 410, 1100, 108.3070, 22.8060),
    ("003", "兴宁大厦", "写字楼", 0, 0, 108.3140, 22.8030),
    ("004", "朝阳小区", "小区", 280, 700, 108.3040, 22.8150),
    ("005", "望仙坡小区", "小区", 450, 1200, 108.3150, 22.8160),
    ("006", "滨江苑", "小区", 360, 900, 108.3170, 22.8070),
]
UNIT_HEADER = ["编号", "小区名称", "类型", "户数", "人口", "经度", "纬度"]


def community_features(**changes) -> list[dict]:
    """GeoJSON features of the communities; ``changes`` maps a row index to replaced properties/geometry."""
    features = []
    for i, (code, name, west, south) in enumerate(COMMUNITIES):
        props = {"code": code, "name": name}
        geometry = box(west, south, west + 0.01, south + 0.01)
        change = changes.get(f"row{i}", {})
        props.update({k: v for k, v in change.items() if k != "geometry"})
        geometry = change.get("geometry", geometry)
        features.append(_feature(props, geometry))
    return features


def unit_rows() -> list[list]:
    return [list(row) for row in UNITS]


def _feature(props: dict, geometry) -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": None if geometry is None else geometry.__geo_interface__}


# --- writers (deterministic bytes) -------------------------------------------------------------------

def _json_text(payload) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def write_geojson(folder: Path, name: str, features: list[dict], *, encoding: str = "utf-8") -> None:
    collection = {"type": "FeatureCollection", "features": features}
    (folder / name).write_bytes(_json_text(collection).encode(encoding))


def write_csv(folder: Path, name: str, rows: list[list], *, encoding: str = "utf-8") -> None:
    text = "".join(",".join("" if v is None else str(v) for v in row) + "\n" for row in rows)
    (folder / name).write_bytes(text.encode(encoding))


def _frame(features: list[dict], crs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame.from_features(features, crs=crs)


def write_shapefile(folder: Path, stem: str, frame: gpd.GeoDataFrame, *, encoding: str = "UTF-8",
                    drop: tuple[str, ...] = (), cpg: str | None = None) -> None:
    """Write ``stem``.shp/.shx/.dbf/.prj/.cpg, then delete the parts in ``drop`` and set the .cpg text."""
    with tempfile.TemporaryDirectory() as tmp:
        pyogrio.write_dataframe(frame, Path(tmp) / f"{stem}.shp", driver="ESRI Shapefile",
                                encoding=encoding)
        for part in sorted(Path(tmp).iterdir()):
            data = part.read_bytes()
            if part.suffix == ".dbf":  # bytes 1-3 are the date of last update: fix it
                data = data[:1] + bytes([120, 1, 1]) + data[4:]
            if part.suffix == ".cpg" and cpg is not None:
                data = cpg.encode("ascii")
            if part.suffix not in drop:
                (folder / part.name).write_bytes(data)
    if cpg is not None and ".cpg" not in drop:
        (folder / f"{stem}.cpg").write_bytes(cpg.encode("ascii"))


def write_zip(folder: Path, name: str, members: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            info = zipfile.ZipInfo(member, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    (folder / name).write_bytes(buffer.getvalue())


def shapefile_members(stem: str, frame: gpd.GeoDataFrame, prefix: str = "") -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        write_shapefile(Path(tmp), stem, frame)
        return {f"{prefix}{p.name}": p.read_bytes() for p in sorted(Path(tmp).iterdir())}


def write_gpkg(folder: Path, name: str, layers: dict[str, gpd.GeoDataFrame]) -> None:
    pyogrio.set_gdal_config_options(_GDAL_OPTIONS)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / name
            for layer, frame in layers.items():
                pyogrio.write_dataframe(frame, target, layer=layer, driver="GPKG", append=target.exists())
            (folder / name).write_bytes(target.read_bytes())
    finally:
        pyogrio.set_gdal_config_options(dict.fromkeys(_GDAL_OPTIONS))


def write_xlsx(folder: Path, name: str, build) -> None:
    """Save the workbook ``build(book)`` fills, with fixed document dates and zip dates."""
    book = openpyxl.Workbook()
    build(book)
    buffer = io.BytesIO()
    book.save(buffer)
    (folder / name).write_bytes(_fixed_zip(buffer.getvalue()))


def _fixed_zip(data: bytes) -> bytes:
    """Rewrite an OOXML zip with fixed entry dates and fixed dcterms created/modified times."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            content = source.read(member.filename)
            if member.filename == "docProps/core.xml":
                content = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2020-01-01T00:00:00Z", content)
            info = zipfile.ZipInfo(member.filename, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return out.getvalue()


# --- messy files as analysts have them (issues 14 and 16) ----------------------------------------------

#: 𠀀 (U+20000) and 䶮 (U+4DAE) are in GB18030, not in GBK.
RARE = "𠀀䶮"


def _lifted(frame: gpd.GeoDataFrame, z: float) -> gpd.GeoDataFrame:
    """The frame with a height on every vertex (``z`` plus a little per vertex, like surveyed terrain)."""
    def heights(xyz):
        return np.column_stack([xyz[:, :2], z + 1000 * (xyz[:, 0] - 108.3)])

    return frame.set_geometry(shapely.transform(shapely.force_3d(frame.geometry.values), heights,
                                                include_z=True))


def messy_real_files(folder: Path, case, wgs: gpd.GeoDataFrame) -> None:  # noqa: C901 - one flat list
    """Z coordinates, JSON nested too deep, NUL in names, formulas without values, GBK and GB18030."""
    lifted = _lifted(wgs, 85.0)
    write_geojson(folder, "z_communities.geojson", [_feature(row, geom) for row, geom in
                                                    zip(wgs[["code", "name"]].to_dict("records"),
                                                        lifted.geometry, strict=True)])
    case("z_geojson", "GeoJSON communities whose positions have three numbers (height)",
         "z_communities.geojson", "read_layer", "reads", rows=4, epsg=4326,
         values={"code": [c[0] for c in COMMUNITIES]}, warns="4 of 4 records have Z (height)")
    write_shapefile(folder, "z_communities", lifted)
    case("z_shapefile", "a PolygonZ shapefile of communities", "z_communities.shp", "read_layer", "reads",
         rows=4, epsg=4326, values={"name": [c[1] for c in COMMUNITIES]},
         warns="4 of 4 records have Z (height)")
    units = gpd.GeoDataFrame({"unit_id": [u[0] for u in UNITS], "name": [u[1] for u in UNITS],
                              "kind": "compound", "households": [u[3] for u in UNITS]},
                             geometry=[Point(u[5], u[6]) for u in UNITS], crs=4326)
    write_geojson(folder, "z_units.geojson", [_feature(row, geom) for row, geom in
                                              zip(units.drop(columns="geometry").to_dict("records"),
                                                  _lifted(units, 12.0).geometry, strict=True)])
    case("z_build", "build_grids of 3D communities and 3D units (heights dropped on read)",
         "z_units.geojson", "build_grids", "report", args={"communities": "z_communities.geojson"},
         checks=[], warns="have Z (height)", warnings_ok=True)

    depth = 20_000
    (folder / "deep.geojson").write_text(
        '{"type": "FeatureCollection", "features": ' + "[" * depth + "]" * depth + "}\n", encoding="utf-8")
    case("json_nested_deep", f"a GeoJSON nested {depth:,} brackets deep", "deep.geojson", "read_layer",
         "error", error="ReadError", words=["nested"])

    rows = [UNIT_HEADER, *unit_rows()]
    rows[2][1] = "民生\x00花园"
    write_csv(folder, "nul_name.csv", rows)
    case("csv_nul_in_name", "a CSV whose name 民生花园 holds a NUL character (\\x00)", "nul_name.csv",
         "read_layer", "error", error="ReadError",
         words=["column '小区名称' holds a NUL character", "'民生'", "delete the NUL"], record="row 3")
    features = community_features(row1={"name": "兴宁\x00社区"})
    write_geojson(folder, "nul_name.geojson", features)
    case("geojson_nul_in_name", "a GeoJSON whose name holds a NUL character (\\u0000); GDAL alone cuts it",
         "nul_name.geojson", "read_layer", "error", error="ReadError",
         words=["NUL character", "'兴宁'", "delete the NUL"], record="feature 2")
    write_shapefile(folder, "nul_name", wgs, encoding="GBK", drop=(".cpg",))
    dbf = (folder / "nul_name.dbf").read_bytes()
    name = "兴宁社区".encode("gbk")
    (folder / "nul_name.dbf").write_bytes(dbf.replace(name, name[:4] + b"\x00" + name[4:7]))
    case("dbf_nul_in_name", "a GBK shapefile whose name holds a NUL byte; GDAL alone cuts it",
         "nul_name.shp", "read_layer", "error", error="ReadError", words=["NUL character", "'兴宁'"],
         record="feature 2")

    write_shapefile(folder, "gbk_no_cpg", wgs, encoding="GBK", drop=(".cpg",))
    case("shp_gbk_without_cpg", "a GBK shapefile without its .cpg (encoding detected)", "gbk_no_cpg.shp",
         "read_layer", "reads", rows=4, epsg=4326, values={"name": [c[1] for c in COMMUNITIES]})
    cut = wgs.rename(columns={"code": "区划代码"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL says it cuts the name: the point of the case
        write_shapefile(folder, "cut_field_name", cut)
    case("shp_utf8_field_name_cut", "a UTF-8 shapefile whose field 区划代码 the .dbf cut to 10 bytes "
         "(3⅓ characters)", "cut_field_name.shp", "read_layer", "reads", rows=4, epsg=4326,
         values={"name": [c[1] for c in COMMUNITIES]}, warns="'区划代'")

    text = "".join(",".join(map(str, row)) + "\r\n" for row in [UNIT_HEADER, *unit_rows()])
    (folder / "gbk_crlf_units.csv").write_bytes(text.encode("gbk"))
    case("csv_gbk_crlf", "a GBK CSV with Windows line endings (CRLF) and no BOM", "gbk_crlf_units.csv",
         "read_layer", "reads", rows=6, epsg=4326, values={"name": [u[1] for u in UNITS]})
    rows = [UNIT_HEADER, *unit_rows()]
    rows[1][1] = f"{RARE}苑"
    write_csv(folder, "gb18030_rare.csv", rows, encoding="gb18030")
    case("csv_gb18030_only_characters", f"a GB18030 CSV holding {RARE} (not in GBK)", "gb18030_rare.csv",
         "read_layer", "reads", rows=6, values={"name": [f"{RARE}苑", *(u[1] for u in UNITS[1:])]})

    def formulas(book):
        sheet = book.active
        sheet.title = "小区"
        sheet.append(["示例市网格统计表"])
        sheet.merge_cells("A1:G1")
        sheet.append([])
        sheet.append(UNIT_HEADER)
        for row in unit_rows():
            sheet.append(row)
        sheet["D4"] = "=320"
        sheet["G5"] = "=22.8+0.006"

    write_xlsx(folder, "formulas.xlsx", formulas)
    case("xlsx_formulas_without_values", "an Excel sheet written by openpyxl with formulas never computed "
         "(no saved value)", "formulas.xlsx", "read_layer", "error", error="ReadError",
         words=["2 cells hold formulas without a value", "小区!D4, 小区!G5", "paste them as values"])

    def title_and_blank_row(book):
        sheet = book.active
        sheet.title = "小区"
        sheet.append(["示例市网格统计表"])
        sheet.merge_cells("A1:G1")
        sheet.append([])
        sheet.append(UNIT_HEADER)
        for row in unit_rows():
            sheet.append(row)

    write_xlsx(folder, "title_blank_row.xlsx", title_and_blank_row)
    case("xlsx_title_and_blank_row", "an Excel sheet with a merged title row and a blank row above the "
         "header", "title_blank_row.xlsx", "read_layer", "reads", rows=6, epsg=4326,
         values={"name": [u[1] for u in UNITS]})


# --- the cases ---------------------------------------------------------------------------------------

def cases(folder: Path) -> list[dict]:  # noqa: C901 - one flat list reads best
    """Write every input file into ``folder`` and return the manifest entries."""
    out: list[dict] = []

    def case(id: str, what: str, file: str | None, op: str, expect: str, **fields) -> None:
        out.append({"id": id, "what": what, "file": file, "op": op, "expect": expect, **fields})

    communities = community_features()
    wgs = _frame(communities, 4326)

    # -- files that cannot be read -------------------------------------------------------------------
    text = _json_text({"type": "FeatureCollection", "features": communities})
    (folder / "truncated.geojson").write_text(text[: len(text) // 2], encoding="utf-8")
    case("truncated_geojson", "GeoJSON cut off half-way (interrupted download)", "truncated.geojson",
         "read_layer", "error", error="ReadError", words=["truncated", "download"], record="line")

    write_geojson(folder, "gbk.geojson", communities, encoding="gbk")
    case("gbk_geojson", "GeoJSON saved in GBK, not UTF-8 (Chinese names)", "gbk.geojson", "read_layer",
         "reads", rows=4, values={"name": [c[1] for c in COMMUNITIES]})

    latin = community_features(**{f"row{i}": {"name": f"Caf\u00e9 {i} \u00ff"} for i in range(4)})
    write_geojson(folder, "cp1252.geojson", latin, encoding="cp1252")
    case("cp1252_geojson", "GeoJSON in Windows-1252 (bytes neither UTF-8 nor GB18030)", "cp1252.geojson",
         "read_layer", "error", error="ReadError", words=["not UTF-8 or GB18030", "encoding="],
         record="line 8")

    (folder / "empty.geojson").write_bytes(b"")
    case("empty_file", "a GeoJSON file of 0 bytes", "empty.geojson", "read_layer", "error",
         error="ReadError", words=["empty", "export or copy the data again"])

    (folder / "blank.geojson").write_bytes(b"  \n\n")
    case("blank_geojson", "a GeoJSON file holding only blanks", "blank.geojson", "read_layer", "error",
         error="ReadError", words=["truncated", "download"])

    write_shapefile(folder, "zero_byte", wgs)
    (folder / "zero_byte.shp").write_bytes(b"")
    case("zero_byte_shp", "a shapefile whose .shp has 0 bytes (.shx, .dbf present)", "zero_byte.shp",
         "read_layer", "error", error="ReadError", words=["empty", "export or copy"])

    write_shapefile(folder, "no_dbf", wgs, drop=(".dbf",))
    case("shp_without_dbf", "a shapefile without its .dbf", "no_dbf.shp", "read_layer", "error",
         error="ReadError", words=[".dbf", "missing", "copy the .dbf"])

    write_shapefile(folder, "no_shx", wgs, drop=(".shx",))
    case("shp_without_shx", "a shapefile without its .shx", "no_shx.shp", "read_layer", "error",
         error="ReadError", words=[".shx", "missing", "copy the .shx"])

    write_shapefile(folder, "no_prj", wgs, drop=(".prj",))
    case("shp_without_prj_degrees", "a shapefile without .prj, coordinates in degrees: normalize_crs "
         "decides WGS84 (EPSG:4326)", "no_prj.shp", "read_layer", "reads", rows=4, epsg=4326)

    metres = wgs.to_crs(4545)
    write_shapefile(folder, "no_prj_metres", metres, drop=(".prj",))
    case("shp_without_prj_metres", "a shapefile without .prj, coordinates in metres: normalize_crs "
         "refuses", "no_prj_metres.shp", "read_layer", "error", error="CRSError",
         words=["no CRS declared", "projected metres", "crs=", "EPSG:"])

    write_zip(folder, "communities_shp.zip", shapefile_members("communities", wgs, prefix="communities/"))
    case("zip_valid", "a zipped shapefile in a folder of the zip", "communities_shp.zip", "read_layer",
         "reads", rows=4, epsg=4326, values={"code": [c[0] for c in COMMUNITIES]})

    write_zip(folder, "empty.zip", {})
    case("zip_empty", "an empty zip", "empty.zip", "read_layer", "error", error="ReadError",
         words=["no shapefile", "zip the .shp together with"])

    both = {**shapefile_members("communities", wgs), **shapefile_members("streets", wgs)}
    write_zip(folder, "two_shapefiles.zip", both)
    case("zip_two_shapefiles", "a zip holding two shapefiles, no layer named", "two_shapefiles.zip",
         "read_layer", "error", error="ReadError", words=["2 shapefiles", "layer="])
    case("zip_layer_missing", "a zip of two shapefiles, layer= names neither", "two_shapefiles.zip",
         "read_layer", "error", args={"layer": "grids"}, error="ReadError",
         words=["no layer 'grids'", "pass layer= one of the names"])

    write_shapefile(folder, "cpg_utf8_gbk", wgs, encoding="GBK", cpg="UTF-8")
    case("cpg_utf8_on_gbk_dbf", "a .cpg saying UTF-8 beside a GBK attribute table", "cpg_utf8_gbk.shp",
         "read_layer", "reads", rows=4, values={"name": [c[1] for c in COMMUNITIES]},
         warns="the .cpg says 'UTF-8' but the attribute table is gb18030")

    write_csv(folder, "gbk_units.csv", [UNIT_HEADER, *unit_rows()], encoding="gbk")
    case("csv_gbk_read_as_utf8", "a GBK CSV read with encoding='utf-8'", "gbk_units.csv", "read_layer",
         "error", args={"encoding": "utf-8"}, error="ReadError", words=["not utf-8", "encoding="],
         record="line 1")
    case("csv_gbk_detected", "the same GBK CSV read without encoding= (detected)", "gbk_units.csv",
         "read_layer", "reads", rows=6, epsg=4326, values={"name": [u[1] for u in UNITS]})

    rows = [["unit_id", "name", "kind", "households", "lon", "lat"]]
    traditional = ["翠竹苑", "民生花園", "興寧大廈"]
    rows += [[u[0], name, "compound", u[3], u[5], u[6]]
             for u, name in zip(UNITS[:3], traditional, strict=True)]
    write_csv(folder, "big5_units.csv", rows, encoding="big5")
    case("csv_big5", "a CSV in Big5 (Traditional Chinese, Taiwan/Hong Kong) with ASCII headers",
         "big5_units.csv", "read_layer", "reads", rows=3, values={"name": traditional},
         warns="the text is Big5 (Traditional Chinese), not GB18030")

    full = shapefile_members("truncated_shp", wgs)
    for name, data in full.items():
        (folder / name).write_bytes(data[: len(data) // 2] if name.endswith(".shp") else data)
    case("shp_truncated", "a shapefile whose .shp is cut in half (the .shx lists 4 records)",
         "truncated_shp.shp", "read_layer", "error", error="ReadError",
         words=["truncated", "features 2 to 4 are lost", "copy"], record="feature 2")

    full = shapefile_members("truncated_dbf", wgs)
    for name, data in full.items():
        (folder / name).write_bytes(data[: len(data) // 2] if name.endswith(".dbf") else data)
    case("dbf_truncated", "a shapefile whose .dbf is cut in half", "truncated_dbf.shp", "read_layer",
         "error", error="ReadError", words=["truncated", "1 of its 4 records", "copy"], record="feature 2")

    text = "".join(",".join(map(str, row)) + "\r" for row in [UNIT_HEADER, *unit_rows()])
    (folder / "mac_line_endings.csv").write_bytes(text.encode("utf-8"))
    case("csv_cr_line_endings", "a CSV with classic-Mac CR line endings (Excel 'CSV (Macintosh)')",
         "mac_line_endings.csv", "read_layer", "reads", rows=6, epsg=4326,
         values={"name": [u[1] for u in UNITS]})

    messy_real_files(folder, case, wgs)

    # -- geometry --------------------------------------------------------------------------------------
    mixed = community_features(row1={"geometry": Point(108.315, 22.805)},
                               row2={"geometry": LineString([(108.30, 22.81), (108.31, 22.82)])})
    write_geojson(folder, "mixed_geometry.geojson", mixed)
    case("mixed_geometry_strict", "communities holding a point and a line among polygons (strict)",
         "mixed_geometry.geojson", "validate_admin", "error", args={"strict": True},
         error="GeometryError", words=["point", "polygon", "give a polygon geometry"],
         record="feature 2 (450102001002)")
    case("mixed_geometry_report", "the same communities, default mode: reported",
         "mixed_geometry.geojson", "validate_admin", "report", checks=["geometry_type"])

    bow_tie = Polygon([(108.31, 22.80), (108.32, 22.81), (108.32, 22.80), (108.31, 22.81)])
    write_geojson(folder, "bow_tie.geojson", community_features(row1={"geometry": bow_tie}))
    case("bow_tie_strict", "a self-intersecting (bow-tie) community polygon, strict mode",
         "bow_tie.geojson", "validate_admin", "error", args={"strict": True}, error="GeometryError",
         words=["Self-intersection", "redraw it"], record="feature 2 (450102001002)")
    case("bow_tie_repaired", "the same bow-tie, default mode: repaired (area > 0) and reported",
         "bow_tie.geojson", "validate_admin", "report", checks=["invalid_geometry"], repaired_row=1)

    flat = Polygon([(108.31, 22.80), (108.32, 22.80), (108.315, 22.80), (108.31, 22.80)])
    write_geojson(folder, "zero_area.geojson", community_features(row1={"geometry": flat}))
    case("zero_area_strict", "a community polygon of zero area, strict mode", "zero_area.geojson",
         "validate_admin", "error", args={"strict": True}, error="GeometryError",
         words=["no area", "redraw"], record="feature 2 (450102001002)")
    case("zero_area_report", "the same zero-area polygon, default mode: reported", "zero_area.geojson",
         "validate_admin", "report", checks=["zero_area"])

    features = community_features(row1={"geometry": None})
    write_geojson(folder, "null_geometry.geojson", features)
    case("null_geometry", "a GeoJSON with one null geometry (validate_admin, strict)",
         "null_geometry.geojson", "validate_admin", "error", args={"strict": True}, error="GeometryError",
         words=["no geometry", "draw the geometry or drop the record"], record="feature 2 (450102001002)")

    write_geojson(folder, "all_null_geometry.geojson",
                  [dict(f, geometry=None) for f in community_features()])
    case("all_null_geometry", "a GeoJSON whose geometries are all null", "all_null_geometry.geojson",
         "read_layer", "error", error="ReadError", words=["no geometry"])

    open_ring = {"type": "Polygon", "coordinates": [[[108.31, 22.80], [108.32, 22.80]]]}
    features = community_features()
    features[1]["geometry"] = open_ring
    write_geojson(folder, "open_ring.geojson", features)
    case("open_ring", "a GeoJSON polygon whose ring has two points and is not closed", "open_ring.geojson",
         "read_layer", "error", error="ReadError", words=["closed", "check that the file is complete"],
         record="feature 2")

    flat_ring = {"type": "Polygon", "coordinates": [[108.31, 22.80], [108.32, 22.80], [108.32, 22.81],
                                                    [108.31, 22.80]]}
    features = community_features()
    features[1]["geometry"] = flat_ring
    write_geojson(folder, "polygon_missing_nesting.geojson", features)
    case("polygon_missing_nesting", "a GeoJSON polygon written without its ring's brackets",
         "polygon_missing_nesting.geojson", "read_layer", "error", error="ReadError",
         words=["geometry", "brackets are missing", "check"], record="feature 2")

    (folder / "single_feature.geojson").write_text(_json_text(communities[0]), encoding="utf-8")
    case("single_feature", "a GeoJSON that is one Feature, not a FeatureCollection",
         "single_feature.geojson", "read_layer", "reads", rows=1, epsg=4326,
         values={"code": [COMMUNITIES[0][0]]})

    (folder / "bare_geometry.geojson").write_text(_json_text(communities[0]["geometry"]), encoding="utf-8")
    case("bare_geometry", "a GeoJSON that is a bare Polygon geometry", "bare_geometry.geojson",
         "read_layer", "reads", rows=1, epsg=4326)

    # -- coordinates -----------------------------------------------------------------------------------
    swapped = [UNIT_HEADER] + [[*row[:5], row[6], row[5]] for row in unit_rows()]
    write_csv(folder, "swapped_lonlat.csv", swapped)
    case("latlon_swapped", "a CSV whose 经度 column holds latitudes and 纬度 longitudes",
         "swapped_lonlat.csv", "read_layer", "error", error="CRSError", words=["swapped", "swap x and y"])

    xy = metres.geometry.centroid
    rows = [["名称", "代码", "x", "y"]] + [[c[1], c[0], f"{p.x:.1f}", f"{p.y:.1f}"]
                                         for c, p in zip(COMMUNITIES, xy, strict=True)]
    write_csv(folder, "metres_no_crs.csv", rows)
    case("metres_without_crs", "a CSV of x/y in metres (CGCS2000 GK zone 108 E) and no CRS",
         "metres_no_crs.csv", "read_layer", "error", error="CRSError",
         words=["no CRS declared", "projected metres", "crs="])

    gk = wgs.to_crs(4547)  # CGCS2000 3-degree GK CM 114 E: declared, so it is read right
    collection = json.loads(gk.to_json(drop_id=True))
    collection["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4547"}}
    (folder / "declared_gk.geojson").write_text(_json_text(collection), encoding="utf-8")
    case("projected_declared", "GeoJSON in CGCS2000 GK metres with a crs member (old GeoJSON 2008)",
         "declared_gk.geojson", "read_layer", "reads", rows=4, epsg=4490,
         values={"code": [c[0] for c in COMMUNITIES]})

    rows = [UNIT_HEADER, *unit_rows()]
    rows[4][5], rows[4][6] = 531314.2, 2522975.1
    write_csv(folder, "one_row_in_metres.csv", rows)
    case("one_row_in_metres", "a CSV of degrees with one row in metres", "one_row_in_metres.csv",
         "read_layer", "error", error="CRSError", words=["not valid degrees", "correct or remove"],
         record="row 5")

    rows = [UNIT_HEADER, *unit_rows()]
    rows[3][5], rows[3][6] = 0, 0
    write_csv(folder, "null_island.csv", rows)
    case("null_island", "a CSV where one unit that failed geocoding has 0, 0", "null_island.csv",
         "read_layer", "reads", rows=6, epsg=4326,
         warns="1 of 6 records lie outside China, read as they are: row 4")

    zone36 = wgs.to_crs(4524)  # CGCS2000 3-degree GK zone 36 (108 E) with the zone number in front
    features = [_feature(f["properties"], g) for f, g in zip(communities, zone36.geometry, strict=True)]
    write_geojson(folder, "metres_as_degrees.geojson", features)
    case("metres_declared_degrees", "GeoJSON (WGS84 by definition) holding zone-prefixed GK metres",
         "metres_as_degrees.geojson", "read_layer", "error", error="CRSError",
         words=["projected metres declared as degrees", "EPSG:4524"])

    paris = community_features(**{f"row{i}": {"geometry": box(2.30 + i / 100, 48.85, 2.31 + i / 100, 48.86)}
                                  for i in range(4)})
    write_geojson(folder, "outside_china.geojson", paris)
    case("outside_china", "communities whose coordinates are in Paris", "outside_china.geojson",
         "read_layer", "error", error="CRSError", words=["outside China", "check the CRS"])

    from gridmap.crs import wgs84_to_gcj02  # the library's own formula makes the shifted copy

    lon, lat = wgs84_to_gcj02([u[5] for u in UNITS], [u[6] for u in UNITS])
    located = ["450102001001", "450102001001", "450102001002", "450102001003", "450102001004", "450102001002"]
    shifted = [_feature({"unit_id": u[0], "name": u[1], "kind": "compound", "households": u[3],
                         "community_code": code},
                        Point(round(float(x), 6), round(float(y), 6)))
               for u, code, x, y in zip(UNITS, located, lon, lat, strict=True)]
    write_geojson(folder, "units_gcj02_as_wgs84.geojson", shifted)
    write_geojson(folder, "communities.geojson", communities)
    case("gcj02_declared_wgs84", "units geocoded by Amap (GCJ-02, ~500 m off) saved as WGS84, against "
         "a WGS84 communities layer", "units_gcj02_as_wgs84.geojson", "build_grids", "report",
         args={"communities": "communities.geojson"}, checks=["coordinate_shift"], warnings_ok=True)

    # -- codes -----------------------------------------------------------------------------------------
    rows = [["名称", "社区代码", "户数", "经度", "纬度"],
            ["翠竹苑", "450102001001", 320, 108.303, 22.803],
            ["民生花园", "4.50102E+11", 410, 108.307, 22.806]]
    write_csv(folder, "codes_scientific.csv", rows)
    case("codes_as_float_text", "a CSV whose 社区代码 shows 4.50102E+11 (Excel's float display)",
         "codes_scientific.csv", "read_layer", "error", error="CodeError",
         words=["scientific notation", "设置单元格格式"], record="row 3")

    for n, code in ((11, "45010200100"), (13, "4501020010021")):
        write_geojson(folder, f"code_{n}_digits.geojson", community_features(row1={"code": code}))
        case(f"code_{n}_digits", f"a community code of {n} digits", f"code_{n}_digits.geojson",
             "validate_admin", "error", args={"level": "community", "strict": True}, error="CodeError",
             words=[f"has {n} digits", "12-digit code"], record=f"feature 2 ({code})")

    write_geojson(folder, "code_non_digit.geojson", community_features(row1={"code": "4501O2001002"}))
    case("code_non_digit", "a community code with the letter O for a zero", "code_non_digit.geojson",
         "validate_admin", "error", args={"level": "community", "strict": True}, error="CodeError",
         words=["not made of digits", "12 digits"], record="feature 2 (4501O2001002)")

    wrong = community_features(**{f"row{i}": {"parent_code": STREET} for i in range(4)})
    wrong[2]["properties"]["parent_code"] = "450102002"
    write_geojson(folder, "wrong_street.geojson", wrong)
    case("community_not_in_its_street", "a community whose code does not start with its street's",
         "wrong_street.geojson", "validate_admin", "error", args={"strict": True}, error="CodeError",
         words=["does not start with its parent_code", "set parent_code to '450102001'"],
         record="feature 3 (450102001003)")

    write_geojson(folder, "streets.geojson", [_feature({"code": STREET, "name": "民生街道"},
                                                        box(108.30, 22.80, 108.32, 22.82))])
    orphan = community_features(row3={"code": "450102003004"})
    write_geojson(folder, "orphan_community.geojson", orphan)
    case("community_street_unknown", "a community whose street is not in the streets layer",
         "orphan_community.geojson", "validate_admin", "error",
         args={"strict": True, "parents": "streets.geojson"}, error="CodeError",
         words=["not in the parent layer", "add the parent unit"], record="feature 4 (450102003004)")

    write_geojson(folder, "duplicate_codes.geojson", community_features(row2={"code": COMMUNITIES[0][0]}))
    case("duplicate_codes", "two communities with the same code", "duplicate_codes.geojson",
         "validate_admin", "error", args={"strict": True}, error="CodeError",
         words=["appears in features 1, 3", "give every record its own code"],
         record="feature 1 (450102001001)")

    # -- counts and kinds ------------------------------------------------------------------------------
    def units_csv(name: str, column: str, row: int, value) -> None:
        rows = [UNIT_HEADER, *unit_rows()]
        rows[row][UNIT_HEADER.index(column)] = value
        write_csv(folder, name, rows)

    units_csv("negative_households.csv", "户数", 2, -3)
    case("negative_households", "a unit with -3 households", "negative_households.csv", "read_layer",
         "error", error="SchemaError", words=["is negative", "whole numbers (0 or more)"], record="row 3")

    units_csv("fractional_households.csv", "户数", 2, "320.5")
    case("fractional_households", "a unit with 320.5 households", "fractional_households.csv",
         "read_layer", "error", error="SchemaError", words=["not a whole number", "whole numbers"],
         record="row 3")

    units_csv("duplicate_unit_ids.csv", "编号", 3, "001")
    case("duplicate_unit_ids", "two units with id 001", "duplicate_unit_ids.csv", "validate_units", "error",
         args={"strict": True}, error="SchemaError", words=["appears in rows 2, 4", "its own unit_id"],
         record="(001)")

    rows = [[v for j, v in enumerate(row) if j != 2] for row in [UNIT_HEADER, *unit_rows()]]
    write_csv(folder, "no_kind_column.csv", rows)
    case("units_without_kind", "a units CSV without the 类型 (kind) column", "no_kind_column.csv",
         "validate_units", "error", error="SchemaError", words=["no 'kind' column", "类型"])

    units_csv("absurd_households.csv", "户数", 2, 1_000_000_000)
    case("absurd_households", "a unit with 1,000,000,000 households", "absurd_households.csv",
         "validate_units", "error", args={"strict": True}, error="SchemaError",
         words=["exceed 20,000", "split the unit"], record="(002)")
    case("validation_row_is_file_row", "the same file: validation names the unit by the row the file shows",
         "absurd_households.csv", "validate_units", "error", args={"strict": True}, error="SchemaError",
         words=["exceed 20,000"], record="row 3 (002)")
    case("validation_names_the_file_read", "the same file validated without path=: the error names the file "
         "read_layer recorded in frame.attrs", "absurd_households.csv", "validate_units", "error",
         args={"strict": True, "pass_path": False}, error="SchemaError", words=["exceed 20,000"],
         record="row 3 (002)")

    units_csv("population_below_half.csv", "人口", 4, 100)
    case("population_below_half", "a compound of 280 households and 100 people",
         "population_below_half.csv", "validate_units", "error", args={"strict": True},
         error="SchemaError", words=["less than half the households", "swapped"], record="(004)")

    units_csv("unknown_kind.csv", "类型", 3, "幼儿园区")
    case("unknown_unit_kind", "a unit of kind 幼儿园区 (a typo: not a word for a unit kind)",
         "unknown_kind.csv",
         "validate_units", "error", args={"strict": True}, error="SchemaError",
         words=["'幼儿园区' is not known", "use one of compound", "the closest is '幼儿园'"], record="(003)")

    rows = [["事件编号", "上报时间", "办结时间", "办结层级", "经度", "纬度"],
            ["E1", "2025-03-01 09:00", "2025-03-01 17:30", "网格", 108.303, 22.803],
            ["E2", "2025-03-02 10:00", "2025-03-01 08:00", "社区", 108.314, 22.803]]
    write_csv(folder, "closed_before_reported.csv", rows)
    case("case_closed_before_reported", "a case closed the day before it was reported",
         "closed_before_reported.csv", "read_cases", "error", args={"coords": "wgs84", "strict": True},
         error="CaseError", words=["closed before it was reported"], record="E2")

    # -- spreadsheets and tables -----------------------------------------------------------------------
    def title_row(book):
        sheet = book.active
        sheet.title = "小区"
        sheet.append(["兴宁区基本单元统计表（2025年）"])
        sheet.merge_cells("A1:G1")
        sheet.append(["填报单位：民生街道"])
        sheet.append(UNIT_HEADER)
        for row in unit_rows():
            sheet.append(row)

    write_xlsx(folder, "title_row.xlsx", title_row)
    case("xlsx_title_row", "an Excel sheet with a merged title row and a 填报单位 line above the header",
         "title_row.xlsx", "read_layer", "reads", rows=6, epsg=4326,
         values={"name": [u[1] for u in UNITS], "households": [u[3] for u in UNITS]})

    def merged_header(book):
        sheet = book.active
        sheet.append(["编号", "小区名称", "类型", "户数", "人口", "位置", None])
        sheet.append([None, None, None, None, None, "经度", "纬度"])
        for col in "ABCDE":
            sheet.merge_cells(f"{col}1:{col}2")
        sheet.merge_cells("F1:G1")
        for row in unit_rows():
            sheet.append(row)

    write_xlsx(folder, "merged_header.xlsx", merged_header)
    case("xlsx_merged_header", "an Excel sheet with a two-row header (位置 merged over 经度/纬度)",
         "merged_header.xlsx", "read_layer", "reads", rows=6, epsg=4326,
         values={"name": [u[1] for u in UNITS], "households": [u[3] for u in UNITS]})

    def numeric_codes(book):
        sheet = book.active
        sheet.append(["名称", "社区代码", "户数", "经度", "纬度"])
        for u, c in zip(UNITS, [0, 0, 1, 2, 3, 1], strict=True):
            sheet.append([u[1], int(COMMUNITIES[c][0]), u[3], u[5], u[6]])

    write_xlsx(folder, "codes_as_numbers.xlsx", numeric_codes)
    case("xlsx_codes_as_numbers", "an Excel sheet whose 社区代码 cells are numbers",
         "codes_as_numbers.xlsx", "read_layer", "reads", rows=6,
         values={"community_code": [COMMUNITIES[c][0] for c in [0, 0, 1, 2, 3, 1]]})

    def long_codes(book):
        sheet = book.active
        sheet.append(["网格编码", "名称", "经度", "纬度"])
        sheet.append([f"{COMMUNITIES[0][0]}00101", "甲", 108.303, 22.803])
        sheet.append([float(f"{COMMUNITIES[0][0]}00102"), "乙", 108.307, 22.806])  # what Excel stores

    write_xlsx(folder, "long_codes_as_numbers.xlsx", long_codes)
    case("xlsx_long_codes_as_numbers", "an Excel sheet holding a 17-digit micro-grid code as a number",
         "long_codes_as_numbers.xlsx", "read_layer", "error", error="CodeError",
         words=["more digits than a spreadsheet number keeps", "设置单元格格式"], record="row 3")

    data = (folder / "title_row.xlsx").read_bytes()
    (folder / "truncated.xlsx").write_bytes(data[: len(data) // 2])
    case("xlsx_truncated", "an Excel workbook cut in half", "truncated.xlsx", "read_layer", "error",
         error="ReadError", words=["cannot read the Excel file", "check that the file is complete"])

    rows = [UNIT_HEADER, *unit_rows()]
    rows[3] = rows[3] + ["备注", "多余"]
    write_csv(folder, "ragged_rows.csv", rows)
    case("csv_ragged_rows", "a CSV whose line 4 has two fields more than the header", "ragged_rows.csv",
         "read_layer", "error", error="ReadError", words=["as many fields as the header"],
         record="line 4")

    write_csv(folder, "header_only.csv", [UNIT_HEADER])
    case("csv_header_only", "a CSV holding only its header line", "header_only.csv", "read_layer",
         "reads", rows=0, epsg=4326)

    rows = [UNIT_HEADER, *unit_rows()]
    rows[2][5], rows[2][6] = "东经108度18分", "北纬22度48分"
    write_csv(folder, "lonlat_text.csv", rows)
    case("csv_lonlat_text", "a CSV whose 经度/纬度 hold text (东经108度18分)", "lonlat_text.csv",
         "read_layer", "error", error="ReadError", words=["not a number", "decimal degrees"],
         record="row 3")

    write_xlsx(folder, "_xlsx_named_csv.xlsx", title_row)
    (folder / "xlsx_named.csv").write_bytes((folder / "_xlsx_named_csv.xlsx").read_bytes())
    (folder / "_xlsx_named_csv.xlsx").unlink()
    case("wrong_extension", "an Excel workbook saved under the name .csv", "xlsx_named.csv", "read_layer",
         "error", error="ReadError", words=["Excel workbook", "rename"])

    units_gpkg = gpd.GeoDataFrame(
        {"unit_id": [u[0] for u in UNITS], "name": [u[1] for u in UNITS]},
        geometry=[Point(u[5], u[6]) for u in UNITS], crs=4326)
    write_gpkg(folder, "two_layers.gpkg", {"communities": wgs, "units": units_gpkg})
    case("gpkg_two_layers", "a GeoPackage with two layers, no layer named", "two_layers.gpkg",
         "read_layer", "error", error="ReadError", words=["2 layers", "layer="])
    case("gpkg_layer_missing", "a GeoPackage read with a layer name it does not hold", "two_layers.gpkg",
         "read_layer", "error", args={"layer": "网格"}, error="ReadError",
         words=["no layer '网格'", "communities, units"])

    (folder / "folder.geojson").mkdir(exist_ok=True)
    (folder / "folder.geojson" / ".gitkeep").write_bytes(b"")
    case("directory", "a folder named like a file", "folder.geojson", "read_layer", "error",
         error="ReadError", words=["folder, not a file", "name a file inside it"])

    case("missing_path", "a path that does not exist", "does_not_exist.geojson", "read_layer", "error",
         error="ReadError", words=["file not found", "check the name and folder"])

    case("table_of_layer", "read_table given a GeoJSON", "communities.geojson", "read_table", "error",
         error="ReadError", words=["hold layers, not tables", "read_layer"])

    (folder / "not_a_zip.zip").write_text("这不是压缩包\n", encoding="utf-8")
    case("not_a_zip", "a text file named .zip", "not_a_zip.zip", "read_layer", "error", error="ReadError",
         words=["not a zip file", "check that the file is complete"])

    (folder / "corrupt.gpkg").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 4)
    case("corrupt_gpkg", "a GeoPackage whose bytes after the SQLite header are garbage", "corrupt.gpkg",
         "read_layer", "error", error="ReadError", words=["cannot read the GeoPackage", "opens in QGIS"])

    rows = [["名称", "小区名称", "户数", "经度", "纬度"], ["翠竹苑", "翠竹苑", 320, 108.303, 22.803]]
    write_csv(folder, "two_name_columns.csv", rows)
    case("two_alias_headers", "a CSV with both 名称 and 小区名称 (both mean name)", "two_name_columns.csv",
         "read_layer", "error", error="SchemaError", words=["both mean 'name'", "rename or delete one"])

    (folder / "utf16_units.csv").write_bytes(
        "".join(",".join(map(str, row)) + "\r\n" for row in [UNIT_HEADER, *unit_rows()]).encode("utf-16"))
    case("csv_utf16", "a CSV saved as UTF-16 with a byte-order mark (Excel 'Unicode text')",
         "utf16_units.csv", "read_layer", "reads", rows=6, epsg=4326, values={"name": [u[1] for u in UNITS]})

    rows = [UNIT_HEADER, *unit_rows()]
    rows[5][5] = rows[5][6] = None
    write_csv(folder, "missing_coords.csv", rows)
    case("csv_missing_coordinates", "a CSV with one unit whose 经度/纬度 are empty", "missing_coords.csv",
         "read_layer", "error", error="ReadError", words=["no coordinates", "fill in the coordinates"],
         record="row 6")

    def empty_sheet(book):
        book.active.title = "空表"

    write_xlsx(folder, "empty_sheet.xlsx", empty_sheet)
    case("xlsx_empty_sheet", "an Excel workbook whose only sheet is empty", "empty_sheet.xlsx", "read_layer",
         "error", error="ReadError", words=["sheet '空表' is empty", "name the sheet"])

    # -- layers that do not fit together (build_grids, check) ------------------------------------------
    far = [_feature({"unit_id": u[0], "name": u[1], "kind": "compound", "households": u[3]},
                    Point(u[5] + 0.05, u[6] + 0.05)) for u in UNITS]
    write_geojson(folder, "units_outside.geojson", far)
    case("units_outside_report", "units ~7 km north-east of every community (build_grids, default)",
         "units_outside.geojson", "build_grids", "report", args={"communities": "communities.geojson"},
         checks=["unit_outside"], warns="unit assignment")
    case("units_outside_strict", "the same units, strict mode", "units_outside.geojson", "build_grids",
         "error", args={"communities": "communities.geojson", "strict": True}, error="TopologyError",
         words=["outside every community", "check its coordinates"], record="unit 001",
         file_in_message=False)

    case("topology_error_names_file", "the units-outside error of build_grids(strict) names the units file",
         "units_outside.geojson", "build_grids", "error", args={"communities": "communities.geojson",
                                                                 "strict": True}, error="TopologyError",
         words=["outside every community"], record="unit 001")

    overlapping = community_features(row1={"geometry": box(108.305, 22.800, 108.320, 22.810)})
    write_geojson(folder, "overlapping_communities.geojson", overlapping)
    inside = [_feature({"unit_id": u[0], "name": u[1], "kind": "compound", "households": u[3]},
                       Point(u[5], u[6])) for u in UNITS]
    write_geojson(folder, "units.geojson", inside)
    case("overlapping_communities_report", "two communities overlapping by ~0.5 km² (build_grids, default)",
         "overlapping_communities.geojson", "build_grids", "report", args={"units": "units.geojson"},
         checks=["community_overlap"], warns="unit assignment")
    case("overlapping_communities_strict", "the same communities, strict mode",
         "overlapping_communities.geojson", "build_grids", "error",
         args={"units": "units.geojson", "strict": True}, error="TopologyError",
         words=["overlap", "correct the boundaries"], record="communities 450102001001/450102001002",
         file_in_message=False)

    # Found by fuzzing build_grids (hypothesis); kept here as plain inputs.
    pair = [("450102001001", 108.30), ("450102001201", 108.31)]
    write_geojson(folder, "two_communities.geojson",
                  [_feature({"code": code, "name": name}, box(west, 22.80, west + 0.01, 22.81))
                   for (code, west), name in zip(pair, ["民生社区", "那坡村"], strict=True)])
    twin = box(108.3121, 22.81, 108.3136, 22.8115)  # above the rural community, touching its edge
    write_geojson(folder, "twin_units_on_edge.geojson",
                  [_feature({"unit_id": f"U{i}", "kind": "school", "households": None}, twin)
                   for i in (1, 2)])
    case("twin_units_on_edge", "two identical school polygons touching a community's edge from outside",
         "twin_units_on_edge.geojson", "build_grids", "report",
         args={"communities": "two_communities.geojson"}, checks=[], warnings_ok=True)
    found = [  # x, y, households, kind, polygon, size (degrees)
        (108.3167, 22.8092, 683, "natural_village", True, 0.0009),
        (108.3081, 22.7957, None, "other", False, 0.0036),
        (108.31090237082485, 22.805161304373947, None, "school", False, 0.0),
        (108.3, 22.8143, None, "natural_village", True, 0.004),
        (108.3, 22.7977, 2964, "compound", True, 0.0015),
        (108.3034, 22.8111, 1133, "other", True, 0.0014),
        (108.3, 22.7973, None, "natural_village", False, 0.0),
        (108.308, 22.7991, None, "compound", False, 0.0),
        (108.31, 22.8022, 1, "natural_village", True, 0.0013),
        (108.3104, 22.8018, 690, "school", False, 0.0),
        (108.31090237082485, 22.805161304373947, None, "other", True, 0.0031804308218719964),
    ]
    write_geojson(folder, "fuzz_empty_grid_units.geojson", [
        _feature({"unit_id": f"U{i}", "kind": kind, "households": hh},
                 box(x, y, x + size, y + size) if polygon else Point(x, y))
        for i, (x, y, hh, kind, polygon, size) in enumerate(found)])
    case("fuzz_empty_grid", "11 units on and across community edges (found by fuzzing build_grids; a "
         "grid without land crashed it until 961a106)",
         "fuzz_empty_grid_units.geojson", "build_grids", "report",
         args={"communities": "two_communities.geojson"}, checks=[], warnings_ok=True)

    grids = [_feature({"code": f"{c[0]}001", "community_code": c[0]},
                      box(c[2], c[3], c[2] + 0.01, c[3] + 0.01)) for c in COMMUNITIES]
    grids[1]["geometry"] = box(108.308, 22.800, 108.320, 22.810).__geo_interface__
    write_geojson(folder, "grids_overlap.geojson", grids)
    case("grids_overlap", "grids overlapping their neighbour by 0.002 degree (check)",
         "grids_overlap.geojson", "check", "report", args={"communities": "communities.geojson"},
         checks=["overlap", "crosses_community"])

    # -- codes in memory -------------------------------------------------------------------------------
    for id, code, words in (
        ("grid_code_14_digits", "45010200100300", ["has length 14", "15"]),
        ("grid_code_float", "4.50102001003e+14", ["4.50102001003e+14"]),
        ("grid_code_sequence_zero", "450102001003000", ["sequence field '000'", "number grids"]),
    ):
        case(id, f"check_code({code!r}) of a grid code read from grids.csv", "grids.csv", "check_code",
             "error", args={"code": code, "record": "row 4"}, error="CodeError", words=words,
             record="row 4")

    # -- outputs that must not be damaged --------------------------------------------------------------
    write_gpkg(folder, "previous.gpkg", {"communities": wgs})
    case("write_unsupported_type", "write_layer of a complex-number column over an existing GeoPackage",
         "previous.gpkg", "write_layer", "unchanged", args={"column": "complex"}, error="WriteError",
         words=["cannot write GPKG", "the previous file is unchanged"])
    case("write_shapefile_refused", "write_layer to .shp over an existing shapefile", "no_prj.shp",
         "write_layer", "unchanged", error="WriteError", words=["cannot write .shp", ".gpkg"])
    (folder / "existing_out.txt").write_text("not a folder\n", encoding="utf-8")
    case("cli_out_is_file", "gridmap demo --out naming an existing file", "existing_out.txt", "cli_demo",
         "unchanged", error="exit 2", words=["is a file", "--out"])
    case("cli_out_read_only", "gridmap demo --out inside a read-only folder (simulated for root)", None,
         "cli_demo", "unchanged", args={"read_only": True}, error="exit 2",
         words=["permission", "--out"])
    case("cli_out_half_written", "gridmap demo --out into a folder where index.html is a folder: the "
         "second move fails", None, "cli_demo", "unchanged", args={"blocked": "index.html"},
         error="exit 2", words=["index.html", "--out"])

    # -- the command line: bad input exits 2 with one line, the previous output untouched -------------
    (folder / "previous_findings.csv").write_text("check,severity,record,message\n", encoding="utf-8")

    def cli(id: str, what: str, file: str, argv: list[str], words: list[str], **fields) -> None:
        case(id, what, file, "cli", "unchanged", args={"argv": argv, **fields.pop("args", {})},
             error="exit 2", words=words, **fields)

    build = ["build", "--communities", "@communities.geojson", "--units", "@units.geojson", "--out", "{out}"]
    cli("cli_build_truncated_input", "gridmap build with truncated communities over an existing output",
        "truncated.geojson", [*build[:2], "@truncated.geojson", *build[3:]], ["truncated", "download"],
        args={"out": "grids.gpkg", "previous": "previous.gpkg"})
    cli("cli_build_bad_codes", "gridmap build with 11-digit community codes", "code_11_digits.geojson",
        [*build[:2], "@code_11_digits.geojson", *build[3:]], ["11 digits", "12-digit"],
        args={"out": "grids.gpkg", "previous": "previous.gpkg"})
    cli("cli_build_strict_outside", "gridmap build --strict with units outside every community",
        "units_outside.geojson", [*build[:4], "@units_outside.geojson", "--strict", *build[5:]],
        ["outside every community", "check its coordinates"], file_in_message=False,
        args={"out": "grids.gpkg", "previous": "previous.gpkg"})
    cli("cli_build_out_folder_missing", "gridmap build --out into a folder that does not exist",
        "communities.geojson", [*build[:-1], "{tmp}/no/such/grids.gpkg"], ["does not exist", "mkdir"],
        file_in_message=False)
    cli("cli_build_out_locked", "gridmap build --out over a file another program holds (replace refused)",
        "communities.geojson", build, ["cannot replace", "close it in other programs"],
        file_in_message=False,
        args={"out": "grids.gpkg", "previous": "previous.gpkg", "refuse_replace": True})
    cli("cli_check_truncated_grids", "gridmap check of a truncated grid layer, findings --out existing",
        "truncated.geojson", ["check", "@truncated.geojson", "--communities", "@communities.geojson",
                              "--out", "{out}"], ["truncated", "download"],
        args={"out": "findings.csv", "previous": "previous_findings.csv"})
    cli("cli_check_deep_json", "gridmap check of a GeoJSON nested 20,000 brackets deep", "deep.geojson",
        ["check", "@deep.geojson", "--communities", "@communities.geojson", "--out", "{out}"],
        ["nested too deeply"], args={"out": "findings.csv", "previous": "previous_findings.csv"})
    cli("cli_build_formulas", "gridmap build with units from a sheet of formulas without values",
        "formulas.xlsx", [*build[:4], "@formulas.xlsx", *build[5:]], ["formulas without a value", "小区!D4"],
        args={"out": "grids.gpkg", "previous": "previous.gpkg"})
    cli("cli_check_unknown_layer", "gridmap check --communities naming neither a file nor a layer",
        "grids_overlap.geojson", ["check", "@grids_overlap.geojson", "--communities", "communes"],
        ["neither a file nor a layer", "give a file"])
    cli("cli_codes_parse_14_digits", "gridmap codes parse of a 14-digit grid code", None,
        ["codes", "parse", "45010200100300"], ["has length 14", "give codes laid out as"],
        file_in_message=False)
    cli("cli_codes_validate_scientific", "gridmap codes validate of a CSV whose codes show 4.50102E+11",
        "codes_scientific.csv", ["codes", "validate", "@codes_scientific.csv"],
        ["scientific notation", "设置单元格格式"])
    cli("cli_stats_truncated_grids", "gridmap stats of a truncated grid layer over an existing workbook",
        "truncated.geojson", ["stats", "@truncated.geojson", "--out", "{out}"], ["truncated", "download"],
        args={"out": "stats.xlsx", "previous": "title_row.xlsx"})
    cli("cli_cases_assign_strict", "gridmap cases assign --strict of a case closed before it was reported",
        "closed_before_reported.csv", ["cases", "assign", "@closed_before_reported.csv", "--grids",
                                       "@grids_overlap.geojson", "--strict", "--out", "{out}"],
        ["closed before it was reported"], args={"out": "cases.csv", "previous": "previous_findings.csv"})
    # -- bad values (issue 14): named by file, record or option -------------------------------------------
    cli("cli_check_lines_as_grids", "gridmap check of a layer holding a point and a line among polygons",
        "mixed_geometry.geojson", ["check", "@mixed_geometry.geojson"], ["not polygons", "Lines to Polygons"])
    cli("cli_stats_overdue_nan", "gridmap stats --overdue-days nan over an existing workbook",
        "grids_overlap.geojson",
        ["stats", "@grids_overlap.geojson", "--overdue-days", "nan", "--out", "{out}"],
        ["--overdue-days", "'nan'"], file_in_message=False,
        args={"out": "stats.xlsx", "previous": "title_row.xlsx"})
    (folder / "rules_nan.toml").write_text("[rules]\nmax_population = nan\n", encoding="utf-8")
    cli("cli_build_rules_nan", "gridmap build --rules with max_population = nan in the rules file",
        "rules_nan.toml", [*build[:-2], "--rules", "@rules_nan.toml", *build[-2:]],
        ["key max_population", "whole number"], args={"out": "grids.gpkg", "previous": "previous.gpkg"})
    return out


def readme(manifest: list[dict]) -> str:
    lines = [
        "# Bad-input corpus (issue 9)",
        "",
        "Small malformed inputs and what gridmap must do with each. Generated by `make_corpus.py`",
        "(deterministic; run `python tests/bad_inputs/make_corpus.py` after changing it), checked by",
        "`tests/test_bad_inputs.py`, counted by `scripts/reliability_figures.py`. `manifest.json` holds the",
        "same cases in machine form. Fictional data; no licence restrictions.",
        "",
        "A case marked **gap** is a known shortcoming: its test is `xfail(strict=True)` and fails once",
        "fixed (then delete its `gap` in `make_corpus.py` and run the script again).",
        "",
        "| case | input | what it is | expected |",
        "|---|---|---|---|",
    ]
    for entry in manifest:
        expected = _expected(entry)
        if entry.get("gap"):
            expected += " — **gap**"
        lines.append(f"| `{entry['id']}` | `{entry['file'] or '-'}` | {entry['what']} | {expected} |")
    return "\n".join(lines) + "\n"


def _expected(entry: dict) -> str:
    args = entry.get("args", {})
    if entry["op"] == "cli":
        call = "`gridmap " + " ".join(a.lstrip("@") for a in args["argv"]) + "`"
    else:
        shown = {k: v for k, v in args.items() if k not in ("record",)}
        call = entry["op"] + "(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"
    at = f" at {entry['record']}" if entry.get("record") else ""
    if entry["expect"] == "error":
        return f"{call} → {entry['error']}{at} ({'; '.join(entry['words'])})"
    if entry["expect"] == "unchanged":
        return f"{call} → {entry['error']} ({'; '.join(entry['words'])}), previous output byte-identical"
    if entry["expect"] == "report":
        return f"{call} → report: {', '.join(entry['checks']) or 'no exception'}"
    details = [f"{entry['rows']} rows"] + ([f"EPSG:{entry['epsg']}"] if "epsg" in entry else [])
    details += ["GridmapWarning"] if entry.get("warns") else []
    return f"{call} → reads ({', '.join(details)})"


def generate(folder: Path) -> list[dict]:
    """Write the corpus into ``folder`` (created if needed); return the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = cases(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                          encoding="utf-8")
    (folder / "README.md").write_text(readme(manifest), encoding="utf-8")
    return manifest


def corpus_files(folder: Path) -> list[Path]:
    """Every file of the corpus in ``folder`` except this script, sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != Path(__file__).name
                  and "__pycache__" not in p.parts)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    generated = generate(target)
    size = sum(p.stat().st_size for p in corpus_files(target))
    print(f"{len(generated)} cases, {len(corpus_files(target))} files, {size:,} bytes in {target}")
