r"""Read layers and tables: GeoJSON, Shapefile (also zipped), GeoPackage, GeoParquet, KML, CSV and Excel.

Every reader gives the same result for the same data: headers renamed to model names
(:data:`gridmap.schema.COLUMN_ALIASES`), codes as strings, counts as nullable integers, coordinates in
EPSG:4326 or EPSG:4490 (through :func:`gridmap.crs.normalize_crs`). Text encodings (UTF-8 with or without
BOM, GBK, GB18030) are detected, see :mod:`gridmap.io._encoding`. Problems raise a
:class:`~gridmap.errors.GridmapError` that names the file, the record and the fix.

Examples
--------
>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> csv = folder / "units.csv"
>>> _ = csv.write_bytes("小区名称,编号,户数,经度,纬度\n翠竹苑,001,320,108.32,22.82\n".encode("gbk"))
>>> units = read_layer(csv, coords="wgs84")
>>> units[["name", "unit_id", "households"]]
     name unit_id  households
0  翠竹苑     001         320
>>> units.crs.to_epsg(), units.geometry[0].wkt
(4326, 'POINT (108.32 22.82)')
>>> list_layers(csv)
['units']
"""

from __future__ import annotations

import csv
import errno
import io
import json
import logging
import os
import re
import sys
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path, PurePosixPath
from typing import cast
from xml.etree import ElementTree

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import shapely.errors

from gridmap.crs import convert_frame, is_in_china, normalize_crs
from gridmap.errors import CRSError, GridmapError, GridmapWarning, ReadError
from gridmap.io._columns import (
    COORDS_ATTR,
    STRING_DTYPE,
    clean_values,
    header_coords,
    header_key,
    header_rows,
    infer_numbers,
    record_label,
    record_numbers,
    records_text,
    rename_columns,
    unique_headers,
)
from gridmap.io._echarts import is_echarts, read_echarts
from gridmap.io._encoding import dbf_cut_text, dbf_encoding, decode_text
from gridmap.io._kml import read_kml
from gridmap.io._nested import GEOJSON_OPTIONS, flatten_properties

__all__ = ["read_layer", "read_table", "list_layers", "layers_listed_once", "record_labels", "SOURCE",
           "LAYER", "RECORDS"]

#: Keys of ``frame.attrs`` where the readers record the file, the layer and the record numbers.
SOURCE, LAYER, RECORDS = "gridmap_source", "gridmap_layer", "gridmap_records"

logger = logging.getLogger(__name__)

_VECTOR = (".geojson", ".json", ".shp", ".gpkg", ".zip", ".kml", ".kmz")
_PARQUET = (".parquet", ".geoparquet")
_TEXT = (".csv", ".tsv", ".txt")
_EXCEL = (".xlsx", ".xlsm", ".xls")
_SUPPORTED = (*_VECTOR, *_PARQUET, *_TEXT, *_EXCEL)
_COORDS = ("wgs84", "cgcs2000", "gcj02", "bd09")
_WKT_HEADERS = ("geometry", "wkt")
_SEPARATORS = (",", "\t", ";", "|")
_COPY_SHAPEFILE = ("copy the shapefile again, all its files (.shp, .shx, .dbf, .prj, .cpg), and check "
                   "that it opens in QGIS")
_SQLITE_DAMAGE = ("file is not a database", "database disk image is malformed", "file is encrypted")
_LINE_END = re.compile(r"\r\n|\r|\n")
_HEAD_LINES = 21  # lines searched for the header (a title may sit above it)
_JSON_NUL = re.compile(rb"\\[uU]0000|\x00")  # a NUL in JSON text: escaped, or a raw (invalid) byte
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")  # a formula in a worksheet's XML
_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DBF_BYTES = "ISO-8859-1"  # GDAL's name for the encoding that passes every .dbf byte through as one character
_EXPORT_AGAIN = "check that the file is complete (copy or download it again) and that it opens in QGIS"


# --- files ----------------------------------------------------------------------------------------------

def _checked_file(path: str | os.PathLike) -> Path:
    """Return ``path`` as a Path after checking it exists, is a non-empty file of a supported type."""
    path = Path(path)
    _check_reachable(path)
    if path.is_dir():
        raise ReadError("this is a folder, not a file", path=path, fix="name a file inside it")
    if path.suffix.lower() not in _SUPPORTED:
        raise ReadError(f"unknown file type {path.suffix or '(no extension)'!r}", path=path,
                        fix=f"convert it to one of {', '.join(_SUPPORTED)}")
    if path.stat().st_size == 0:
        raise ReadError("file is empty (0 bytes)", path=path, fix="export or copy the data again")
    return path


def _check_reachable(path: Path) -> None:
    """Refuse a path that cannot be opened: not found, a broken symlink, a symlink loop, no permission."""
    try:
        os.stat(path)
    except ValueError:  # "embedded null byte"
        raise ReadError("the file name holds a NUL character (\\x00)", path=repr(str(path)),
                        fix="give the file name without it") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ReadError("symlink loop: the link points back to itself through other links",
                            path=path, fix="point the link at the real file (ls -l shows where each link "
                                           "leads)") from None
        if path.is_symlink():
            raise ReadError(f"broken symlink: it points to {os.readlink(path)}, which does not exist",
                            path=path, fix="point the link at the real file or copy the file here") from None
        if isinstance(exc, FileNotFoundError):
            raise ReadError("file not found", path=path,
                            fix=f"check the name and folder (the current folder is {Path.cwd()})") from None
        raise _os_problem(exc, path) from None


def _os_problem(exc: OSError, path) -> ReadError:
    """Say why the system refused to open or read a file (no permission, I/O error), naming it."""
    reason = exc.strerror or type(exc).__name__
    fix = ("check you may read it (ls -l), or copy it to a folder of yours"
           if isinstance(exc, PermissionError)
           else "check the disk or network drive, or copy the file to a local folder")
    return ReadError(f"the system cannot read the file: {reason}", path=exc.filename or path, fix=fix)


@contextmanager
def _system_errors(path) -> Iterator[None]:
    """Turn an OSError raised while reading (permission, I/O) into a ReadError naming the file."""
    try:
        yield
    except OSError as exc:
        raise _os_problem(exc, path) from exc


@contextmanager
def _reading(path, *, what: str = "file", fix: str = _EXPORT_AGAIN) -> Iterator[None]:
    """Turn any library exception raised while reading into a ReadError naming the file."""
    try:
        yield
    except GridmapError:
        raise
    except ImportError:
        raise
    except Exception as exc:  # pyogrio, pandas, openpyxl, pyarrow and zipfile errors alike
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise ReadError(f"cannot read the {what}: {message}", path=path, fix=fix) from exc


def _nul_error(path, record: str, column: object, value: str) -> ReadError:
    """Refuse a text value holding a NUL character: GIS formats and GDAL cut the text there."""
    before = value.split("\x00", 1)[0][-12:]
    return ReadError(f"column {str(column)!r} holds a NUL character (\\x00) after {before!r}: GIS files "
                     "end the text there, so the value would be silently cut short", path=path, record=record,
                     fix="delete the NUL character from the value (it often comes from a damaged export: "
                         "export the data again)")


def _check_nuls(frame: pd.DataFrame, *, path, rows: Sequence[int] | None) -> None:
    """Refuse text values holding a NUL character (CSV, Parquet): writing them would cut them short."""
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.StringDtype):  # text only: searched at once
            found = np.flatnonzero(values.str.contains("\x00", regex=False).fillna(False).to_numpy(bool))
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            found = np.flatnonzero(values.map(lambda v: isinstance(v, str) and "\x00" in v).to_numpy())
        else:
            continue
        if len(found):
            position = int(found[0])
            raise _nul_error(path, record_label(rows, position), column, values.iloc[position])


def _choose_layer(layers: Sequence[str], layer: str | None, *, path, default_first: bool = False) -> str:
    """Return the layer to read: the one asked for, the only one, or (Excel) the first."""
    if not layers:
        raise ReadError("file holds no layer", path=path, fix=_EXPORT_AGAIN)
    if layer is None:
        if len(layers) == 1 or default_first:
            return layers[0]
        raise ReadError(f"file holds {len(layers)} layers: {', '.join(layers)}", path=path,
                        fix=f"pass layer= one of them, e.g. layer={layers[0]!r}")
    if layer not in layers:
        raise ReadError(f"no layer {layer!r}; the layers are {', '.join(layers)}", path=path,
                        fix="pass layer= one of the names listed")
    return layer


# --- shapefiles -----------------------------------------------------------------------------------------

def _shapefile_parts(names: Sequence[str], shp: str) -> dict[str, str]:
    """Map the lower-case extension of each file that belongs to shapefile ``shp`` to its name."""
    stem = str(PurePosixPath(shp).with_suffix("")).lower()
    return {PurePosixPath(name).suffix.lower(): name for name in names
            if str(PurePosixPath(name).with_suffix("")).lower() == stem}


def _shapefile_encoding(parts: dict[str, str], read_bytes, size_of, *, shown: str,
                        encoding: str | None) -> str:
    """Check the .shx and .dbf are there and the .shp complete; choose the attribute encoding.

    The encoding is the user's, else the ``.cpg``'s, else detected from the .dbf bytes.
    """
    for ext, role in ((".shx", "index"), (".dbf", "attribute table")):
        if ext not in parts:
            raise ReadError(f"the shapefile's {role} ({ext}) is missing", path=shown,
                            fix=f"copy the {ext} file with the same name beside the .shp "
                                "(a shapefile is .shp + .shx + .dbf, with .prj and .cpg)")
    _check_shp_length(read_bytes(parts[".shx"]), size_of(parts[".shp"]), shown=shown)
    if ".prj" not in parts:
        logger.info("%s: no .prj, the shapefile declares no CRS", shown)
    cpg = read_bytes(parts[".cpg"]).decode("ascii", "replace") if ".cpg" in parts else None
    dbf = read_bytes(parts[".dbf"])
    _check_dbf_length(dbf, shown=shown)
    codec = dbf_encoding(dbf, cpg=cpg, encoding=encoding, path=shown)
    cut = dbf_cut_text(dbf)
    if cut is not None:
        record, field, value = cut
        raise _nul_error(shown, f"feature {record + 1}", field.decode(codec, "replace"),
                         value.decode(codec, "replace"))
    return codec


def _check_dbf_length(dbf: bytes, *, shown: str) -> None:
    """Refuse a .dbf shorter than its header says (record count x record length after the header)."""
    if len(dbf) < 12:
        raise ReadError(f"the attribute table (.dbf) is cut off (truncated): {len(dbf)} bytes", path=shown,
                        fix=_COPY_SHAPEFILE)
    count = int.from_bytes(dbf[4:8], "little")
    header, width = int.from_bytes(dbf[8:10], "little"), int.from_bytes(dbf[10:12], "little")
    stored = (len(dbf) - header) // width if width else count
    if stored < count:
        raise ReadError(f"the attribute table (.dbf) is cut off (truncated): it holds {max(stored, 0)} of "
                        f"its {count} records", path=shown, record=f"feature {max(stored, 0) + 1}",
                        fix=_COPY_SHAPEFILE)


def _check_shp_length(shx: bytes, shp_size: int, *, shown: str) -> None:
    """Refuse a .shp shorter than its index (.shx) says: GDAL reads the lost records as empty geometries.

    The .shx holds, after a 100-byte header, one (offset, content length) pair per record, both big-endian
    counts of 16-bit words; a record also has an 8-byte header of its own.
    """
    if len(shx) < 100:
        raise ReadError(f"the shapefile's index (.shx) is cut off ({len(shx)} bytes, less than its header)",
                        path=shown, fix=_COPY_SHAPEFILE)
    count = (len(shx) - 100) // 8
    pairs = np.frombuffer(shx, dtype=">i4", count=2 * count, offset=100).reshape(count, 2).astype(np.int64)
    ends = (pairs[:, 0] + pairs[:, 1]) * 2 + 8
    lost = np.flatnonzero(ends > shp_size)
    if len(lost):
        first = int(lost[0]) + 1
        raise ReadError(
            f"the .shp is cut off (truncated): it has {shp_size:,} bytes but its index (.shx) lists "
            f"{count} features ending at byte {int(ends.max()):,}; features {first} to {count} are lost",
            path=shown, record=f"feature {first}", fix=_COPY_SHAPEFILE)
    declared = int.from_bytes(shx[24:28], "big") * 2
    if declared > len(shx):
        raise ReadError(f"the shapefile's index (.shx) is cut off (truncated): it has {len(shx):,} bytes, "
                        f"its header says {declared:,}", path=shown, fix=_COPY_SHAPEFILE)


def _read_vector(source, *, shown, what: str, **options) -> gpd.GeoDataFrame:
    """Read a vector layer with pyogrio; a geometry shapely refuses is named by its feature."""
    with _reading(shown, what=what), warnings.catch_warnings():
        # a property GDAL types as JSON but holding plain text (DataV's "100000_JD" adcode) stays text
        warnings.filterwarnings("ignore", "Could not parse column .* as JSON", UserWarning)
        try:
            return pyogrio.read_dataframe(source, **options)
        except shapely.errors.GEOSException as exc:
            raise _refused_geometry(source, shown, exc, layer=options.get("layer"),
                                    encoding=options.get("encoding")) from exc


def _refused_geometry(source, shown, exc: Exception, *, layer: str | None,
                      encoding: str | None = None) -> ReadError:
    """Find the first feature whose geometry shapely cannot build and explain it."""
    reason = re.sub(r"^\w+Exception: ", "", " ".join(str(exc).split()))
    wkb = pyogrio.raw.read(source, layer=layer, columns=[], encoding=encoding)[2]
    bad = np.flatnonzero(pd.notna(wkb) & pd.isna(shapely.from_wkb(wkb, on_invalid="ignore")))
    if not len(bad):
        return ReadError(f"cannot read the geometries: {reason}", path=shown, fix=_EXPORT_AGAIN)
    more = f" ({len(bad) - 1} more features like it)" if len(bad) > 1 else ""
    return ReadError(f"the geometry of the feature cannot be read: {reason}{more}", path=shown,
                     record=f"feature {int(bad[0]) + 1}", fix=f"{_EXPORT_AGAIN}; else redraw the feature")


def _read_shapefile(path: Path, *, encoding: str | None) -> gpd.GeoDataFrame:
    parts = _shapefile_parts(os.listdir(path.parent), path.name)
    codec = _shapefile_encoding(parts, lambda name: (path.parent / name).read_bytes(),
                                lambda name: (path.parent / name).stat().st_size, shown=str(path),
                                encoding=encoding)
    return _read_dbf_layer(path, shown=path, codec=codec)


def _read_dbf_layer(source, *, shown, codec: str) -> gpd.GeoDataFrame:
    """Read a shapefile and decode its attribute text (field names and values) with ``codec`` in Python.

    GDAL is told the table is ISO-8859-1, so each byte comes through as one character, and Python then
    decodes the bytes. Left to GDAL, a name or value that the .dbf's fixed width cut in the middle of a
    character (a field 区划代码 in UTF-8 is 12 bytes, the .dbf keeps 10) makes pyogrio fail, and codec names
    GDAL does not know (cp1252) are silently not applied.
    """
    frame = _read_vector(source, shown=shown, what="shapefile", encoding=_DBF_BYTES)
    cut: list[str] = []

    def decode(text: object) -> object:
        if not isinstance(text, str):
            return text
        raw = text.encode("latin-1")
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:  # only a character cut at the end is left: the bytes were checked
            cut.append(raw.decode(codec, "ignore"))
            return cut[-1]

    geometry = frame.geometry.name
    frame = frame.rename(columns={c: decode(c) for c in frame.columns if c != geometry})
    for column in frame.columns:
        if column != geometry and (frame[column].dtype == object
                                   or pd.api.types.is_string_dtype(frame[column])):
            frame[column] = frame[column].map(decode)
    if cut:
        warnings.warn(
            f"{shown}: {_count(len(cut), 'field name or value is', 'field names or values are')} cut in the "
            f"middle of a character by the .dbf's fixed width, the partial character dropped: "
            f"{', '.join(map(repr, cut[:5]))}. Shorten the field names (10 bytes: 3 Chinese characters in "
            "UTF-8, 5 in GBK) or save the layer as GeoPackage",
            GridmapWarning, stacklevel=5,  # the caller of read_layer
        )
    return frame


def _zip_shapefiles(archive: zipfile.ZipFile) -> list[str]:
    return [name for name in archive.namelist() if name.lower().endswith(".shp")
            and not name.startswith("__MACOSX/") and not PurePosixPath(name).name.startswith(".")]


def _read_zip(path: Path, layer: str | None, *, encoding: str | None) -> tuple[gpd.GeoDataFrame, str]:
    with _reading(path, what="zip file"), zipfile.ZipFile(path) as archive:
        members = _zip_shapefiles(archive)
        if not members:
            listed = ", ".join(archive.namelist()[:10]) or "nothing"
            raise ReadError(f"zip holds no shapefile (.shp); it holds {listed}", path=path,
                            fix="zip the .shp together with its .shx, .dbf, .prj and .cpg files")
        stems = [PurePosixPath(m).stem for m in members]
        if layer is None and len(members) > 1:
            raise ReadError(f"zip holds {len(members)} shapefiles: {', '.join(members)}", path=path,
                            fix=f"pass layer= the one to read, e.g. layer={stems[0]!r}")
        chosen = _choose_layer(stems, layer, path=path)
        member = members[stems.index(chosen)]
        shown = f"{path}/{member}"
        codec = _shapefile_encoding(_shapefile_parts(archive.namelist(), member), archive.read,
                                    lambda name: archive.getinfo(name).file_size, shown=shown,
                                    encoding=encoding)
    return _read_dbf_layer(f"/vsizip/{path.resolve()}/{member}", shown=shown, codec=codec), chosen


# --- other vector formats -------------------------------------------------------------------------------

def _load_json(text: str, path: Path) -> object:
    """Parse JSON text (control characters allowed in strings); nesting too deep is a ReadError."""
    try:
        return json.loads(text, strict=False)
    except RecursionError:
        raise ReadError(f"the JSON is nested too deeply: more than {sys.getrecursionlimit():,} levels of "
                        "brackets, while a GeoJSON needs at most 4 (a MultiPolygon's coordinates)",
                        path=path, fix="check how the file was made and export it again; it is no "
                                       "GeoJSON as written") from None


def _json_problem(text: str, path: Path) -> ReadError | None:
    """Explain why a GeoJSON text does not parse, with the line and column, or None when it parses."""
    try:
        _load_json(text, path)
    except json.JSONDecodeError as exc:
        cut = exc.msg.startswith("Unterminated") or exc.pos >= len(text.rstrip())
        problem = "GeoJSON is cut off (truncated)" if cut else f"invalid GeoJSON: {exc.msg}"
        return ReadError(problem, path=path, record=f"line {exc.lineno}, column {exc.colno}",
                         fix="copy or download the file again; if it was edited by hand, fix the JSON there")
    return None


def _read_geojson(path: Path, *, encoding: str | None) -> gpd.GeoDataFrame:
    """Read GeoJSON; on failure explain malformed JSON, or retry a GBK/GB18030 file in its encoding."""
    _refuse_binary(path, "GeoJSON (text)")  # GDAL would open a workbook named .geojson as a workbook
    codec = encoding or "utf-8"
    try:
        frame = _read_vector(path, shown=path, what="GeoJSON", encoding=encoding, **GEOJSON_OPTIONS)
    except ReadError as exc:
        if exc.record is not None:  # a feature is named: the JSON itself is sound
            raise
        text, codec = decode_text(path.read_bytes(), path=path, encoding=encoding)
        problem = _json_problem(text, path)
        if problem is not None:
            raise problem from exc
        if encoding is not None or codec not in ("gb18030", "big5"):
            raise
        frame = _read_vector(path, shown=path, what="GeoJSON", encoding=codec, **GEOJSON_OPTIONS)
    if frame.geometry.isna().any():
        _check_lost_geometries(frame, path, codec=codec)
    _check_json_nuls(path, codec=codec)
    return frame


def _check_json_nuls(path: Path, *, codec: str) -> None:
    """Refuse a GeoJSON whose property text holds a NUL character: GDAL would cut the text there."""
    data = path.read_bytes()
    if not _JSON_NUL.search(data):
        return
    try:
        document = _load_json(data.decode(codec, "replace").removeprefix("\ufeff"), path)
    except ValueError:  # GDAL reads more than the JSON standard (GeoJSON sequences): not checked
        return
    for number, feature in enumerate(_json_features(document), start=1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        for key, value in (properties.items() if isinstance(properties, dict) else ()):
            if isinstance(value, str) and "\x00" in value:
                raise _nul_error(path, f"feature {number}", key, value)


def _json_features(document: object) -> list:
    """Return the features of a GeoJSON document: a collection's, a single Feature, or a bare geometry."""
    if not isinstance(document, dict):
        return []
    if document.get("type") == "FeatureCollection":
        return document.get("features") or []
    if document.get("type") == "Feature":
        return [document]
    return [{"geometry": document}]


#: How deep the coordinates of each GeoJSON geometry type are nested, and how that reads.
_NESTING = {
    "Point": (1, "one [lon, lat] pair"),
    "LineString": (2, "a list of [lon, lat] points"),
    "MultiPoint": (2, "a list of [lon, lat] points"),
    "Polygon": (3, "a list of rings, each a list of [lon, lat] points, e.g. [[[108.31, 22.80], "
                   "[108.32, 22.80], ...]]"),
    "MultiLineString": (3, "a list of lines, each a list of [lon, lat] points"),
    "MultiPolygon": (4, "a list of polygons, each a list of rings of [lon, lat] points"),
}


def _nesting(coordinates: object) -> int:
    depth = 0
    while isinstance(coordinates, list) and coordinates:
        coordinates, depth = coordinates[0], depth + 1
    return depth


def _geojson_problem(geometry: object, kind: str) -> str:
    """Say why a GeoJSON geometry cannot be read: brackets missing, else what shapely says."""
    if isinstance(geometry, dict) and kind in _NESTING:
        depth, wanted = _nesting(geometry.get("coordinates")), _NESTING[kind][0]
        if depth != wanted:
            return (f"its coordinates are nested {depth} lists deep, a {kind}'s {wanted}: brackets are "
                    "missing or extra")
    try:
        shapely.from_geojson(json.dumps(geometry))
    except (shapely.errors.GEOSException, TypeError, ValueError) as exc:
        return re.sub(r"^\w+Exception: ", "", " ".join(str(exc).split()))
    return "GDAL could not read it"


def _check_lost_geometries(frame: gpd.GeoDataFrame, path: Path, *, codec: str) -> None:
    """Refuse a GeoJSON whose features have a geometry in the file that GDAL read as empty (NULL).

    GDAL turns a malformed geometry (a Polygon without its ring's brackets) into NULL with at most a
    warning; the record would then come back without geometry as if the file had none.
    """
    text = path.read_bytes().decode(codec, "replace")  # read once already: only the structure matters
    try:
        features = _json_features(_load_json(text.removeprefix("\ufeff"), path))
    except ValueError:  # GDAL reads more than the JSON standard (GeoJSON sequences): nothing to compare
        return
    if len(features) != len(frame):
        return
    given = np.array([isinstance(f, dict) and f.get("geometry") is not None for f in features])
    lost = np.flatnonzero(given & frame.geometry.isna().to_numpy())
    if not len(lost):
        return
    geometry = features[lost[0]]["geometry"]
    kind = geometry.get("type", "?") if isinstance(geometry, dict) else type(geometry).__name__
    reason = _geojson_problem(geometry, kind)
    more = f" ({len(lost) - 1} more features like it)" if len(lost) > 1 else ""
    raise ReadError(f"the {kind} geometry of the feature cannot be read ({reason}) and would come back "
                    f"empty{more}", path=path, record=f"feature {int(lost[0]) + 1}",
                    fix=f"check the geometry in the file: a {kind}'s coordinates are "
                        f"{_NESTING.get(kind, (0, 'as the GeoJSON standard (RFC 7946) says'))[1]}")


def _geopackage_layers(path: Path) -> list[str]:
    """List a GeoPackage's layers; a damaged file gets a short message instead of SQLite's query."""
    with _reading(path, what="GeoPackage"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's retries on a damaged file
                return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
        except Exception as exc:
            damage = next((words for words in _SQLITE_DAMAGE if words in str(exc)), None)
            if damage is None:
                raise
            raise ReadError(f"cannot read the GeoPackage: the file is damaged or is no GeoPackage "
                            f"(SQLite says '{damage}')", path=path,
                            fix="copy the file again and check that it opens in QGIS (a GeoPackage copied "
                                "while another program was writing it is often damaged)") from None


def _read_geopackage(path: Path, layer: str | None) -> tuple[gpd.GeoDataFrame, str]:
    """Read a layer through GDAL's Arrow interface: column by column, about five times faster than by feature.

    Feature by feature, 20,000 cases took 0.30 s, column by column 0.06 s, for the same frame but for columns
    holding no value at all, which come back as text and are put back as the feature-by-feature read gives
    them (``None``).
    """
    layers = _listed_geopackage(path)
    chosen = _choose_layer(layers, layer, path=path)
    frame = _read_vector(path, shown=path, what=f"layer {chosen!r}", layer=chosen, use_arrow=True)
    empty = [column for column, values in frame.items()
             if pd.api.types.is_string_dtype(values) and values.count() == 0]
    for column in empty:
        frame[column] = np.full(len(frame), None, dtype=object)
    return frame, chosen


def _read_parquet(path: Path) -> pd.DataFrame:
    """Read GeoParquet; a plain Parquet table (no geo metadata) comes back as a DataFrame."""
    with _reading(path, what="Parquet file"):
        try:
            frame = gpd.read_parquet(path)
        except ValueError as exc:
            if "geo metadata" not in str(exc).lower():
                raise
            frame = pd.read_parquet(path)
    _check_nuls(frame, path=path, rows=None)
    return frame


# --- tables (CSV, Excel) --------------------------------------------------------------------------------

def _frame_from_rows(rows: list[list[object]], *, path) -> tuple[pd.DataFrame, list[int]]:
    """Build a frame from the rows of a sheet: find the header, drop blank rows; return row numbers too."""
    start, depth, headers = header_rows(rows)
    if start:
        _note_header(path, "row", start, headers)
    if depth > 1:
        logger.info("%s: rows %d-%d form one header (merged cells); joined", path, start + 1, start + depth)
    body = rows[start + depth:]
    width = max([len(headers), *(len(row) for row in body)])
    headers = headers + [None] * (width - len(headers))
    keep = [i for i, row in enumerate(body) if any(not _blank(v) for v in row)]
    data = [list(body[i]) + [None] * (width - len(body[i])) for i in keep]
    frame = pd.DataFrame(data, columns=range(width))
    empty = [j for j in range(width) if _blank(headers[j]) and frame[j].map(_blank).all()]
    frame = frame.drop(columns=empty)
    frame.columns = unique_headers([headers[j] for j in frame.columns], path=path)
    return frame, [start + depth + 1 + i for i in keep]


def _note_header(path, unit: str, start: int, headers: Sequence[object]) -> None:
    """Log (WARNING, shown by the command line) where the header was found below a title."""
    shown = ", ".join(str(h) for h in headers if not _blank(h))
    logger.warning("%s: the header is on %s %d (%s); the %s above it (a title) skipped", path, unit,
                   start + 1, shown[:80], f"{unit}s" if start > 1 else unit)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def _separator(lines: Sequence[str], suffix: str) -> str:
    """Choose the field separator: tab for .tsv, else the one that splits the first lines most evenly.

    Each candidate splits the lines as CSV does (quotes respected); the winner gives the most lines the
    same number of fields (then the most fields), so a ``;`` list inside a comma file's field
    (``990101001;990101002``) or a decimal comma in a semicolon file (``1,5``) does not decide it. Ties go
    to the order of :data:`_SEPARATORS` (comma first); a file of one column is read with commas.
    """
    if suffix == ".tsv":
        return "\t"
    rows = [line for line in lines if line.strip()]
    best, best_score = ",", (0.0, 0)
    for sep in _SEPARATORS:
        widths = Counter(len(fields) for fields in csv.reader(rows, delimiter=sep))
        width, lines_with_it = max(widths.items(), key=lambda item: (item[1], item[0]), default=(1, 0))
        score = (lines_with_it / len(rows), width) if width > 1 else (0.0, 0)
        if score > best_score:
            best, best_score = sep, score
    return best


def _head_lines(text: str, limit: int) -> tuple[list[str], list[int]]:
    """Return the first ``limit`` lines and the offset just after each line's end.

    Any line ending counts: LF, CRLF and the lone CR of old-Mac files (Excel's "CSV (Macintosh)").
    ``str.splitlines`` is not used because it also splits at form feeds and Unicode separators that can
    sit inside a field.
    """
    lines: list[str] = []
    ends: list[int] = []
    start = 0
    for match in _LINE_END.finditer(text):
        lines.append(text[start:match.start()])
        start = match.end()
        ends.append(start)
        if len(lines) == limit:
            return lines, ends
    if start < len(text):
        lines.append(text[start:])
        ends.append(len(text))
    return lines, ends


def _binary_format(path: Path) -> tuple[str, str] | None:
    """Name the binary format the first bytes of a file show, and the extension it should have."""
    with open(path, "rb") as file:
        head = file.read(16)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            names = []
        if "xl/workbook.xml" in names:
            return "an Excel workbook (.xlsx)", ".xlsx"
        if any(name.lower().endswith(".shp") for name in names):
            return "a zipped shapefile", ".zip"
        return "a zip archive (an Excel workbook is one too)", ".xlsx or .zip"
    signatures = ((b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls)", ".xls"),
                  (b"SQLite format 3\x00", "a GeoPackage (SQLite database)", ".gpkg"),
                  (b"PAR1", "a Parquet file", ".parquet"))
    return next(((kind, suffix) for magic, kind, suffix in signatures if head.startswith(magic)), None)


def _refuse_binary(path: Path, what: str) -> None:
    """Raise ReadError when a file named as text (CSV, GeoJSON) holds a binary format."""
    found = _binary_format(path)
    if found is not None:
        kind, suffix = found
        first, *other = suffix.split(" or ")
        others = "".join(f" (or {path.stem}{o})" for o in other)
        raise ReadError(f"this is {kind}, not {what}, whatever its name says", path=path,
                        fix=f"rename it to {path.stem}{first}{others}")


def _ragged_line(exc: Exception, *, path, lines_before: int, header_width: int) -> ReadError | None:
    """Explain pandas' 'Expected N fields in line L, saw M' with the file's line number, or None."""
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if match is None:
        return None
    expected, line, saw = (int(n) for n in match.groups())
    above = "" if expected == header_width else f" and the lines above it {expected}"
    return ReadError(f"the line has {saw} fields, the header {header_width}{above}", path=path,
                     record=f"line {line + lines_before}",
                     fix="make every line have as many fields as the header (quote values that hold the "
                         "separator, e.g. \"1,250\")")


def _read_text(path: Path, *, encoding: str | None) -> tuple[pd.DataFrame, list[int]]:
    """Read a CSV/TSV file as text columns; return the frame and each row's line number."""
    _refuse_binary(path, "a text file (CSV)")
    text, codec = decode_text(path.read_bytes(), path=path, encoding=encoding)
    if codec.startswith("utf-8") and text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise ReadError("file holds no text", path=path, fix="export or copy the data again")
    lines, ends = _head_lines(text, _HEAD_LINES)
    sep = _separator(lines, path.suffix.lower())
    with _reading(path, what="CSV file", fix="make every line have as many fields as the header"):
        head = list(csv.reader(lines, delimiter=sep))
    start, depth, headers = header_rows(head)
    skipped = start + depth  # lines above the data: a title, the header's one or two rows
    body = text[ends[skipped - 1]:] if skipped <= len(ends) else ""
    with _reading(path, what="CSV file", fix="make every line have as many fields as the header"):
        try:
            frame = _parse_body(body, sep, width=len(headers))
        except pd.errors.ParserError as exc:
            ragged = _ragged_line(exc, path=path, lines_before=skipped, header_width=len(headers))
            if ragged is None:
                raise
            raise ragged from None
    width = max(len(headers), frame.shape[1])
    headers = headers + [None] * (width - len(headers))
    frame = frame.reindex(columns=range(width))
    keep = np.flatnonzero(frame.notna().any(axis=1).to_numpy())
    frame = frame.iloc[keep].reset_index(drop=True)
    empty = [j for j in range(width) if _blank(headers[j]) and frame[j].isna().all()]
    frame = frame.drop(columns=empty).astype(STRING_DTYPE)
    frame.columns = unique_headers([headers[j] for j in frame.columns], path=path)
    if start:
        _note_header(path, "line", start, headers)
    if depth > 1:
        logger.info("%s: lines %d-%d form one header; joined", path, start + 1, skipped)
    rows = [int(skipped + 1 + i) for i in keep]
    if "\x00" in body:
        _check_nuls(frame, path=path, rows=rows)
    return frame, rows


def _parse_body(body: str, sep: str, *, width: int) -> pd.DataFrame:
    """Parse the lines below the header as text columns (an empty frame of ``width`` columns if none)."""
    if not body.strip():
        return pd.DataFrame(columns=range(width), dtype=STRING_DTYPE)
    return pd.read_csv(io.StringIO(body), sep=sep, header=None, dtype=str, keep_default_na=False,
                       na_values=[""], skip_blank_lines=False)


def _excel_value(cell: object) -> object:
    """Return a cell's value; whole numbers shown zero-padded (format ``000``) become padded text."""
    value = getattr(cell, "value", None)
    fmt = getattr(cell, "number_format", None) or ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and re.fullmatch(r"0{2,}", fmt) \
            and float(value).is_integer() and value >= 0:
        return str(int(value)).zfill(len(fmt))
    return value


def _excel_sheets(path: Path) -> list[str]:
    if path.suffix.lower() == ".xls":
        with _reading(path, what="Excel file"), pd.ExcelFile(path, engine=_xls_engine()) as book:
            return [str(name) for name in book.sheet_names]
    with _reading(path, what="Excel file"):
        import openpyxl  # imported here: `import gridmap` stays light

        book = openpyxl.load_workbook(path, read_only=True)
        try:
            return list(book.sheetnames)
        finally:
            book.close()


def _xls_engine() -> str:
    """Pandas' engine for old .xls workbooks; python-calamine is optional (only .xls needs it)."""
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        raise ImportError("reading .xls workbooks needs python-calamine: pip install python-calamine "
                          "(or save the workbook as .xlsx)") from None
    return "calamine"


def _read_excel(path: Path, sheet: str | None) -> tuple[pd.DataFrame, list[int], str]:
    """Read one sheet (the first by default) as a frame; return it, each record's row number and the sheet."""
    chosen = _choose_layer(_excel_sheets(path), sheet, path=path, default_first=True)
    with _reading(path, what=f"sheet {chosen!r}"):
        if path.suffix.lower() == ".xls":
            raw = pd.read_excel(path, sheet_name=chosen, header=None, dtype=object, engine=_xls_engine())
            rows = [[None if _blank(v) else v for v in row] for row in raw.itertuples(index=False)]
        else:
            import openpyxl
            from openpyxl.worksheet._read_only import ReadOnlyWorksheet

            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                worksheet = cast(ReadOnlyWorksheet, book[chosen])  # what read_only=True gives
                worksheet.reset_dimensions()  # some tools write a wrong used range; read every stored cell
                # types-openpyxl gives ReadOnlyWorksheet the iter_rows of Worksheet (a wrong self type)
                cells = worksheet.iter_rows(min_row=1)  # type: ignore[misc]
                rows = [[_excel_value(cell) for cell in row] for row in cells]
                # the sheet's XML in the zip (openpyxl keeps it private, so its stubs omit it)
                part = worksheet._worksheet_path  # type: ignore[attr-defined]
            finally:
                book.close()
            _check_formula_values(path, chosen, part)
    if not any(any(not _blank(v) for v in row) for row in rows):
        raise ReadError(f"sheet {chosen!r} is empty", path=path, fix="name the sheet that holds the data")
    return (*_frame_from_rows(rows, path=path), chosen)


def _check_formula_values(path: Path, sheet: str, part: str) -> None:
    """Refuse a sheet holding formulas without a saved result: they would be read as empty cells."""
    with zipfile.ZipFile(path) as archive:
        cells = _formulas_without_values(archive, part, placeholders=_recalculated_on_load(archive))
    if cells:
        quoted = sheet if re.fullmatch(r"\w+", sheet) else "'" + sheet.replace("'", "''") + "'"
        shown = ", ".join(f"{quoted}!{cell}" for cell in cells[:8])
        more = f" (and {len(cells) - 8:,} more)" if len(cells) > 8 else ""
        raise ReadError(
            f"{_count(len(cells), 'cell holds a formula', 'cells hold formulas')} without a value: "
            f"{shown}{more}. The workbook was written by a program that stores formulas but not their "
            "results (openpyxl, XlsxWriter, pandas), and was never saved by Excel, so these cells would be "
            "read as empty (or as 0)", path=path,
            fix="open the workbook in Excel or WPS and save it (that stores the values), or copy the cells "
                "and paste them as values (选择性粘贴 → 数值)")


def _count(number: int, one: str, many: str) -> str:
    return f"1 {one}" if number == 1 else f"{number:,} {many}"


def _recalculated_on_load(archive: zipfile.ZipFile) -> bool:
    """Whether the workbook asks to be recalculated when opened (``fullCalcOnLoad``).

    XlsxWriter (pandas' writer when it is installed) sets it and stores 0 as every formula's result;
    Excel, WPS and LibreOffice save the real results without it.
    """
    try:
        with archive.open("xl/workbook.xml") as stream:
            return bool(re.search(rb"<(?:\w+:)?calcPr\b[^>]*\bfullCalcOnLoad=\"(?:1|true)\"", stream.read()))
    except KeyError:
        return False


def _formulas_without_values(archive: zipfile.ZipFile, part: str, *, placeholders: bool = False) -> list[str]:
    """Return the cells (A1 style) of a worksheet's XML that hold a formula but no saved result.

    Excel, WPS and LibreOffice save a formula's result in the cell's ``<v>``; openpyxl and pandas write the
    formula with an empty or no ``<v>``. A text result (``t="str"``) may rightly be empty; any other type
    (number by default, boolean, error) cannot. ``placeholders``: the workbook asks to be recalculated
    (:func:`_recalculated_on_load`), so a saved 0 is XlsxWriter's placeholder, not a result.
    """
    with archive.open(part) as stream:
        if not _FORMULA_TAG.search(stream.read()):
            return []
    cells = []
    with archive.open(part) as stream:
        for _, element in ElementTree.iterparse(stream):
            if element.tag == f"{_SHEET_NS}c":
                saved = element.findtext(f"{_SHEET_NS}v")
                if element.find(f"{_SHEET_NS}f") is not None and (placeholders and saved == "0" or (
                        not saved and element.get("t", "n") not in ("str", "s", "inlineStr"))):
                    cells.append(element.get("r") or "?")
            elif element.tag == f"{_SHEET_NS}row":
                element.clear()
    return cells


# --- geometry from columns ------------------------------------------------------------------------------

def _records(rows: Sequence[int] | None, positions: np.ndarray, limit: int = 5) -> str:
    labels = [record_label(rows, int(p)) for p in positions[:limit]]
    more = f" (and {len(positions) - limit} more)" if len(positions) > limit else ""
    return ", ".join(labels) + more


def _coordinate(frame: pd.DataFrame, column: str, *, path, rows, sources) -> pd.Series:
    values = frame[column]
    numbers = pd.to_numeric(values.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v),
                            errors="coerce").astype("float64")
    bad = np.flatnonzero((numbers.isna() & values.notna()).to_numpy())
    if len(bad):
        value = values.iloc[bad[0]]
        raise ReadError(f"column {sources.get(column, column)!r} holds {value!r}, not a number", path=path,
                        record=record_label(rows, int(bad[0])), fix="enter decimal degrees such as 108.3203")
    return numbers


def _points(frame: pd.DataFrame, *, path, rows, sources) -> gpd.GeoDataFrame:
    lon = _coordinate(frame, "lon", path=path, rows=rows, sources=sources)
    lat = _coordinate(frame, "lat", path=path, rows=rows, sources=sources)
    missing = np.flatnonzero((lon.isna() | lat.isna()).to_numpy())
    if len(missing):
        names = f"{sources.get('lon', 'lon')}/{sources.get('lat', 'lat')}"
        raise ReadError(f"{len(missing)} records have no coordinates ({names} empty)", path=path,
                        record=_records(rows, missing), fix="fill in the coordinates or delete those rows")
    geometry = gpd.points_from_xy(lon.to_numpy(), lat.to_numpy())
    return gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]), geometry=geometry)


def _from_wkt(frame: pd.DataFrame, column: str, *, path, rows) -> gpd.GeoDataFrame:
    text = np.array([v.strip() if isinstance(v, str) and v.strip() else None for v in frame[column]],
                    dtype=object)
    geometry = shapely.from_wkt(text, on_invalid="ignore")
    bad = np.flatnonzero(pd.notna(text) & pd.isna(geometry))
    if len(bad):
        raise ReadError(f"column {column!r} holds {str(text[bad[0]])[:60]!r}, which is not WKT", path=path,
                        record=record_label(rows, int(bad[0])),
                        fix="write geometries as WKT, e.g. POINT (108.3 22.8)")
    missing = np.flatnonzero(pd.isna(text))
    if len(missing):
        raise ReadError(f"{len(missing)} records have no geometry (column {column!r} empty)", path=path,
                        record=_records(rows, missing), fix="fill in the geometry or delete those rows")
    return gpd.GeoDataFrame(frame.drop(columns=[column]), geometry=geometry)


def _geometry_from_columns(frame: pd.DataFrame, *, path, rows, sources, explicit: bool) -> gpd.GeoDataFrame:
    """Build the geometry of a table: from lon/lat (named or aliased), else from a WKT column."""
    wkt = next((c for c in frame.columns if header_key(c) in _WKT_HEADERS), None)
    has = {"lon": "lon" in frame.columns, "lat": "lat" in frame.columns}
    if explicit or (has["lon"] and has["lat"] and wkt is None):
        return _points(frame, path=path, rows=rows, sources=sources)
    if wkt is not None:
        return _from_wkt(frame, wkt, path=path, rows=rows)
    if has["lon"] != has["lat"]:
        missing = "latitude (纬度/lat/y)" if has["lon"] else "longitude (经度/lon/x)"
        raise ReadError(f"there is no {missing} column to go with "
                        f"{sources.get('lon' if has['lon'] else 'lat')!r}", path=path,
                        fix="add the column, or pass lon= and lat= naming the coordinate columns")
    raise ReadError(f"no geometry and no coordinate columns (columns: {', '.join(map(str, frame.columns))})",
                    path=path, fix="add 经度/纬度 (lon/lat) columns or a WKT column named geometry, or pass "
                                   "lon= and lat= naming the coordinate columns")


def _drop_z(frame: gpd.GeoDataFrame, *, path, rows, layer: str | None) -> gpd.GeoDataFrame:
    """Drop Z (height) and M (measure) coordinates with a warning, and a CRS's height axis.

    GDAL reads 3D shapefiles, GeoJSON positions of three numbers and GeoPackage PolygonZ as they are;
    overlays and areas on them mix planar and 3D rules and can give NaN coordinates further on.
    """
    if frame.crs is not None and len(frame.crs.axis_info) > 2:  # GDAL gives 3D GeoJSON EPSG:4979
        frame = frame.set_crs(frame.crs.to_2d(), allow_override=True)
    values = np.asarray(frame.geometry.values, dtype=object)
    extra = shapely.has_z(values) | shapely.has_m(values)
    if not extra.any():
        return frame
    frame = frame.copy()
    frame[frame.geometry.name] = gpd.GeoSeries(shapely.force_2d(values), index=frame.index, crs=frame.crs)
    found = np.flatnonzero(extra)
    where = str(path) if layer is None else f"{path} (layer {layer!r})"
    warnings.warn(
        f"{where}: {len(found):,} of {len(frame):,} records have Z (height) or M coordinates, dropped "
        f"(gridmap works on the map plane; areas and lengths are flat): {_records(rows, found)}. To keep "
        "heights, put them in a column such as 高程",
        GridmapWarning, stacklevel=3,  # the caller of read_layer
    )
    return frame


# --- CRS ------------------------------------------------------------------------------------------------

def _apply_crs(frame: gpd.GeoDataFrame, *, path, layer, crs, coords, rows) -> gpd.GeoDataFrame:
    """Normalise the CRS (``crs=`` replaces the declared one) and shift GCJ-02/BD-09 data to WGS84."""
    if coords is not None and coords not in _COORDS:
        raise CRSError(f"coords={coords!r} is not a coordinate system gridmap knows", path=path,
                       fix=f"pass coords= one of {', '.join(map(repr, _COORDS))}")
    assume = crs
    if assume is None and frame.crs is None and coords in ("wgs84", "cgcs2000"):
        assume = coords
    frame = normalize_crs(frame, path=path, layer=layer, assume=assume,
                          records=lambda position: record_label(rows, position))
    _warn_outside_china(frame, path=path, rows=rows)
    if coords in ("gcj02", "bd09"):
        frame = convert_frame(frame, coords, "wgs84")
    return frame


def _warn_outside_china(frame: gpd.GeoDataFrame, *, path, rows) -> None:
    """Warn about the records outside China of a layer that is mostly inside (normalize_crs refuses others).

    A record is placed by the middle of its bounds; (0, 0) is where a failed geocoding puts it.
    """
    bounds = shapely.bounds(np.asarray(frame.geometry.values, dtype=object))
    lon, lat = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    present = ~np.isnan(lon)
    outside = np.flatnonzero(present & ~is_in_china(lon, lat))
    if not len(outside):
        return
    first = outside[0]
    warnings.warn(
        f"{path}: {len(outside):,} of {int(present.sum()):,} records lie outside China, read as they are: "
        f"{_records(rows, outside)}, e.g. lon/lat ({lon[first]:.6g}, {lat[first]:.6g}). Check their "
        "coordinates (0, 0 is where a failed geocoding puts a record)",
        GridmapWarning, stacklevel=4,  # the caller of read_layer
    )


# --- public API -----------------------------------------------------------------------------------------

def read_layer(path: str | os.PathLike, layer: str | None = None, *, coords: str | None = None,
               crs: object = None, encoding: str | None = None, lon: str | None = None,
               lat: str | None = None, aliases: Mapping[str, str | None] | None = None) -> gpd.GeoDataFrame:
    r"""Read a spatial layer from any supported file into a clean GeoDataFrame.

    Parameters
    ----------
    path : str or os.PathLike
        GeoJSON (``.geojson``/``.json``, DataV atlas files too), Shapefile (``.shp``, or a ``.zip`` holding
        one), GeoPackage (``.gpkg``), GeoParquet (``.parquet``), KML/KMZ (``.kml``/``.kmz``), CSV/TSV
        (``.csv``/``.tsv``/``.txt``) or Excel (``.xlsx``/``.xls``) with coordinate columns (headers such as
        ``经度_gcj02`` name their coordinate system) or a WKT column (``geometry``/``wkt``).
    layer : str, optional
        Layer of a GeoPackage, shapefile in a zip, or sheet of a workbook (default: the only layer; the
        first sheet). A GeoPackage with several layers needs it.
    coords : {"wgs84", "cgcs2000", "gcj02", "bd09"}, optional
        The coordinate system the coordinates are really in. GCJ-02 (Amap, Tencent) and BD-09 (Baidu) are
        shifted to WGS84 on load; for a file without CRS, "wgs84"/"cgcs2000" set EPSG:4326/4490.
    crs : optional
        CRS of a file that declares none (or of CSV coordinates in metres), e.g. ``4547``; it replaces a
        CRS the file declares. Without it, a file without CRS whose values are degrees is taken as WGS84
        (see :func:`gridmap.crs.normalize_crs`).
    encoding : str, optional
        Text encoding of a CSV or shapefile attribute table when it is neither UTF-8 nor GBK/GB18030
        (which are detected), e.g. ``"big5"``. A shapefile's ``.cpg`` is honoured.
    lon, lat : str, optional
        Headers of the coordinate columns when they are not 经度/纬度, lon/lat, lng,
        longitude/latitude or x/y.
    aliases : mapping of str to str or None, optional
        Header aliases of one kind of file that win over :data:`gridmap.schema.COLUMN_ALIASES`; a header
        mapped to None is kept as it is (:func:`gridmap.cases.read_cases` keeps a case list's ``编号``).

    Returns
    -------
    geopandas.GeoDataFrame
        Model column names (``name``, ``code``, ``households``…) with codes as strings and counts as
        ``Int64``, unknown columns kept; geometry in EPSG:4326 or EPSG:4490. ``frame.attrs`` records the
        file, the layer and how the file numbers the records (see :func:`record_labels`).

    Raises
    ------
    ReadError
        Missing, empty, truncated (.shp, .shx, .dbf too) or undecodable file; a symlink loop, a broken
        symlink or a file the system refuses to read; a binary file under a text name (a workbook named
        .csv); unknown type; layer not found; shapefile without .shx/.dbf; a line with more fields than the
        header; a geometry that cannot be read (named by its feature); JSON nested too deeply; a text value
        holding a NUL character (CSV, GeoJSON, .dbf, Parquet: named by its record and column); Excel cells
        holding formulas without a saved value (named ``sheet!A1``); no geometry and no coordinate columns;
        records without coordinates.
    SchemaError, CodeError, CRSError
        Two headers for one column, a count that is not a whole number, a code in scientific notation,
        no usable CRS, records whose coordinates are not degrees (named by their row).

    Warns
    -----
    GridmapWarning
        Text read as Big5; a shapefile's .cpg that is wrong; shapefile field names or values cut in the
        middle of a character by the .dbf's fixed width; Z (height) or M coordinates, dropped (named by
        record); records outside China (named) in a layer that is mostly inside. A table with a header and no
        records, and a header found below a title, are logged (WARNING).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sites.csv"
    >>> _ = path.write_text("名称,社区代码,WKT\n市一医院,450102001003,POINT (108.3 22.8)\n", encoding="utf-8")
    >>> sites = read_layer(path, crs=4490)
    >>> sites.columns.tolist(), sites.crs.to_epsg()
    (['name', 'community_code', 'geometry'], 4490)
    """
    path = _checked_file(path)
    explicit = {key: value for key, value in (("lon", lon), ("lat", lat)) if value is not None}
    if len(explicit) == 1:
        raise ReadError(f"only {next(iter(explicit))}= is given", path=path, fix="pass both lon= and lat=")
    with _system_errors(path):
        frame, rows, chosen = _read_any(path, layer, encoding=encoding)
    frame, rows = flatten_properties(frame, rows, path=path)  # DataV atlas; dicts and lists as JSON text
    if rows is not None and not rows:  # logged, not warned: an empty list of cases or sites can be right
        logger.warning("%s: the %s holds a header but no records; the layer is empty", path,
                       "sheet" if path.suffix.lower() in _EXCEL else "file")
    frame, sources = rename_columns(frame, path=path, explicit=explicit, coords=coords, aliases=aliases)
    frame = clean_values(frame, path=path, rows=rows, sources=sources)
    if path.suffix.lower() in _TEXT:
        frame = infer_numbers(frame, skip=list(sources))
    if explicit or not _has_geometry(frame):
        geometry = getattr(frame, "_geometry_column_name", None)
        table = pd.DataFrame(frame).drop(columns=[geometry], errors="ignore")
        coords = header_coords(sources, table.columns, coords=coords, path=path,  # 经度_gcj02: gcj02
                               explicit=bool(explicit))
        frame = _geometry_from_columns(table, path=path, rows=rows, sources=sources,
                                       explicit=bool(explicit))
    frame = _drop_z(frame, path=path, rows=rows,
                    layer=chosen if path.suffix.lower() in (".gpkg", ".zip", *_EXCEL) else None)
    frame = _apply_crs(frame, path=path, layer=layer, crs=crs, coords=coords, rows=rows)
    return _with_source(frame, path=path, layer=chosen, rows=rows)


def _with_source(frame: pd.DataFrame, *, path: Path, layer: str, rows: Sequence[int] | None) -> pd.DataFrame:
    """Record where the frame came from in ``frame.attrs`` (see :func:`record_labels`).

    The values are short strings: pandas deep-copies ``attrs`` on every operation, compares them when
    concatenating and writes them to Parquet as JSON.
    """
    frame.attrs.update({SOURCE: str(path), LAYER: layer, RECORDS: records_text(rows, len(frame))})
    return frame


def record_labels(frame: pd.DataFrame) -> pd.Series:
    r"""Name each record of a layer as the file it was read from does: ``row 3`` or ``feature 2``.

    :func:`read_layer` and :func:`read_table` keep the file, layer and record numbers in ``frame.attrs``
    (``gridmap_source``, ``gridmap_layer``, ``gridmap_records``); messages about a record should use these
    labels, so that a user who opens the file finds the record the message means. The labels follow the
    records through filtering and sorting (the index is kept). When the records can no longer be matched
    to the file (``reset_index`` after a filter: a new 0, 1, ... index of fewer records), records are named
    ``record N`` by position; a frame that was not read from a file has ``row N`` by position. A sorted
    frame whose index was then reset cannot be told from the frame as read: do not reset the index.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame

    Returns
    -------
    pandas.Series
        Text labels aligned to ``frame.index``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "units.csv"
    >>> _ = path.write_text("兴宁区小区表\n名称,经度,纬度\n甲,108.3,22.8\n\n乙,108.4,22.9\n", encoding="utf8")
    >>> units = read_layer(path)
    >>> units.attrs["gridmap_source"] == str(path), record_labels(units).tolist()
    (True, ['row 3', 'row 5'])
    >>> record_labels(units[units["name"] == "乙"]).tolist(), record_labels(units.iloc[::-1]).tolist()
    (['row 5'], ['row 5', 'row 3'])
    >>> record_labels(units.drop(index=0).reset_index(drop=True)).tolist()
    ['record 1']
    """
    positions = np.arange(1, len(frame) + 1)
    text = frame.attrs.get(RECORDS)
    if not isinstance(text, str):
        return pd.Series([f"row {n}" for n in positions], index=frame.index, dtype=object)
    word, numbers = record_numbers(text)
    at = _file_positions(frame.index, len(numbers))
    if at is None:
        word, at = "record", positions - 1
        numbers = positions
    return pd.Series([f"{word} {n}" for n in numbers[at]], index=frame.index, dtype=object)


def _file_positions(index: pd.Index, count: int) -> np.ndarray | None:
    """Positions in the file of the records of a frame whose index read_layer made, or None if unknown.

    read_layer gives a RangeIndex 0..n-1: filtering and sorting keep each record's label, so the label is
    its position in the file. An index 0..k-1 of fewer records is a reset index (or the first records):
    unknown.
    """
    if not len(index) or not (pd.api.types.is_integer_dtype(index) and index.is_unique):
        return None
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and len(index) < count:
        return None
    at = index.to_numpy()
    return at if at.min() >= 0 and at.max() < count else None


def _has_geometry(frame: pd.DataFrame) -> bool:
    return isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns \
        and not (len(frame) and frame.geometry.isna().all())


def _read_any(path: Path, layer: str | None, *,
              encoding: str | None) -> tuple[pd.DataFrame, list[int] | None, str]:
    """Read any supported file as it is; return the frame, each record's file row (tables) and the layer."""
    suffix = path.suffix.lower()
    if suffix in _EXCEL:
        return _read_excel(path, layer)
    if suffix in (".zip", ".gpkg"):
        frame, chosen = (_read_zip(path, layer, encoding=encoding) if suffix == ".zip"
                         else _read_geopackage(path, layer))
        return frame, None, chosen
    if layer is not None:
        _choose_layer([path.stem], layer, path=path)
    if suffix in _TEXT:
        return (*_read_text(path, encoding=encoding), path.stem)
    if suffix in _PARQUET:
        return _read_parquet(path), None, path.stem
    if suffix == ".shp":
        return _read_shapefile(path, encoding=encoding), None, path.stem
    if suffix in (".kml", ".kmz"):
        return read_kml(path), None, path.stem
    if is_echarts(path):  # ECharts' compressed map files ("UTF8Encoding": true)
        return read_echarts(path), None, path.stem
    return _read_geojson(path, encoding=encoding), None, path.stem


def read_table(path: str | os.PathLike, *, sheet: str | None = None, encoding: str | None = None,
               aliases: Mapping[str, str | None] | None = None) -> pd.DataFrame:
    r"""Read a table without geometry (staff rosters, case lists): CSV, Excel or Parquet.

    Headers, codes and counts are cleaned as by :func:`read_layer`; coordinate columns, if any, are kept
    as the numeric columns ``lon`` and ``lat``.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``/``.tsv``/``.txt``, ``.xlsx``/``.xls`` or ``.parquet``.
    sheet : str, optional
        Sheet of a workbook (default: the first).
    encoding : str, optional
        Text encoding of a CSV when it is neither UTF-8 nor GBK/GB18030.
    aliases : mapping of str to str or None, optional
        Header aliases that win over :data:`gridmap.schema.COLUMN_ALIASES` (see :func:`read_layer`).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "staff.csv"
    >>> _ = path.write_text("网格编码,姓名,电话\n450102001003001,黄丽,13800000000\n", encoding="utf-8-sig")
    >>> staff = read_table(path)
    >>> staff.loc[0, "grid_code"], staff.loc[0, "姓名"]
    ('450102001003001', '黄丽')
    """
    path = _checked_file(path)
    suffix = path.suffix.lower()
    if suffix not in (*_TEXT, *_EXCEL, *_PARQUET):
        raise ReadError(f"{suffix} files hold layers, not tables", path=path, fix="read it with read_layer")
    if sheet is not None and suffix not in _EXCEL:
        raise ReadError("sheet= applies to Excel workbooks only", path=path, fix="leave out sheet=")
    with _system_errors(path):
        frame, rows, chosen = _read_any(path, sheet, encoding=encoding)
    frame, rows = flatten_properties(frame, rows, path=path, datav=False)  # Parquet lists as JSON text
    frame, sources = rename_columns(pd.DataFrame(frame), path=path, aliases=aliases)
    frame = clean_values(frame, path=path, rows=rows, sources=sources)
    system = header_coords(sources, frame.columns, coords=None, path=path)  # 经度_gcj02: for read_cases
    if system is not None:
        frame.attrs[COORDS_ATTR] = system
    if suffix in _TEXT:
        frame = infer_numbers(frame, skip=[c for c in sources if c not in ("lon", "lat")])
    return _with_source(frame, path=path, layer=chosen, rows=rows)


def list_layers(path: str | os.PathLike) -> list[str]:
    """Return the names of the layers in a file: GeoPackage layers, shapefiles in a zip, workbook sheets.

    Files that hold one layer (GeoJSON, Shapefile, CSV, Parquet) give their file name without extension.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "grids.geojson"
    >>> _ = path.write_text('{"type": "FeatureCollection", "features": []}')
    >>> list_layers(path)
    ['grids']
    """
    path = _checked_file(path)
    with _system_errors(path):
        return _layer_names(path)


def _layer_names(path: Path) -> list[str]:
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        return _listed_geopackage(path)
    if suffix == ".zip":
        with _reading(path, what="zip file"), zipfile.ZipFile(path) as archive:
            return [PurePosixPath(name).stem for name in _zip_shapefiles(archive)]
    if suffix in _EXCEL:
        return _excel_sheets(path)
    return [path.stem]


#: The listings kept by the outermost :func:`layers_listed_once` block, by file state; None outside blocks.
_LISTINGS: ContextVar[dict[tuple[object, ...], list[str]] | None] = ContextVar("gridmap_listings",
                                                                              default=None)


@contextmanager
def layers_listed_once() -> Iterator[None]:
    """List the layers of each GeoPackage once within the block, while the file stays as it is.

    :func:`read_layer` lists the layers of a GeoPackage to choose and check the layer: about 10 ms for a 6 MB
    GeoPackage, and :func:`gridmap.load_city` reads up to seven layers of one file. Inside the block a file's
    listing is kept and reused as long as the file's inode, size, modification and change times stay the
    same; outside any block nothing is kept, so a file rewritten between two reads is never read with stale
    layers. Do not write the files read inside the block. A block within a block shares the outer one's
    listings.

    Examples
    --------
    >>> import pathlib, tempfile, geopandas, shapely
    >>> from gridmap.io import write_layer
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "city.gpkg"
    >>> sites = geopandas.GeoDataFrame({"名称": ["市一医院"]}, geometry=[shapely.Point(108.3, 22.8)],
    ...                                crs=4326)
    >>> for name in ("sites", "clinics"):
    ...     _ = write_layer(sites, path, name, mode="a")
    >>> with layers_listed_once():  # the file is listed once, not three times
    ...     frames = {name: read_layer(path, name) for name in list_layers(path)}
    >>> {name: frame.loc[0, "name"] for name, frame in frames.items()}
    {'sites': '市一医院', 'clinics': '市一医院'}
    """
    if _LISTINGS.get() is not None:
        yield
        return
    token = _LISTINGS.set({})
    try:
        yield
    finally:
        _LISTINGS.reset(token)


def _listed_geopackage(path: Path) -> list[str]:
    """Return a GeoPackage's layers; in a :func:`layers_listed_once` block, once per state of the file."""
    kept = _LISTINGS.get()
    if kept is None:
        return _geopackage_layers(path)
    state = path.stat()
    key = (os.path.realpath(path), state.st_dev, state.st_ino, state.st_size, state.st_mtime_ns,
           state.st_ctime_ns)
    if key not in kept:
        kept[key] = _geopackage_layers(path)
    return list(kept[key])
