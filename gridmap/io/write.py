"""Write layers atomically: GeoPackage, GeoParquet, GeoJSON, CSV and Excel.

The file is first written under a temporary name in the target folder, then moved over the target with
:func:`os.replace` (:func:`gridmap.io._atomic.atomic_path`), so a reader never sees half a file and a failed
or interrupted write leaves the previous file as it was. Adding a layer to an existing GeoPackage or
workbook (``mode="a"``) copies it to the temporary name first, adds the layer there, then replaces the
original.

CSV and Excel files are safe to open in a spreadsheet: text starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return gets a leading ``'`` (the OWASP rule against formula injection), so no cell written from
data is ever a formula; numbers stay numbers; CSV lines end in CRLF, so a field holding a line break is
quoted (:func:`spreadsheet_safe`, :func:`write_workbook`).

Examples
--------
>>> import pathlib, tempfile
>>> import geopandas as gpd
>>> from shapely.geometry import Point
>>> units = gpd.GeoDataFrame({"unit_id": ["001"], "name": ["翠竹苑"]},
...                          geometry=[Point(108.3, 22.8)], crs=4326)
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_layer(units, folder / "city.gpkg", "units").name
'city.gpkg'
>>> csv = write_layer(units, folder / "units.csv")
>>> print(csv.read_text(encoding="utf-8-sig"), end="")
unit_id,name,lon,lat
001,翠竹苑,108.3,22.8
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from gridmap.errors import GridmapError, WriteError
from gridmap.io._atomic import atomic_path, folder_cause, same_file, write_error
from gridmap.io._xlsx import Layout, display_width, write_new_book

__all__ = ["write_layer", "write_workbook", "spreadsheet_safe", "display_width", "DRIVERS"]

logger = logging.getLogger(__name__)

#: File extensions and the format written for them; any other extension is written as GeoPackage.
DRIVERS = {".gpkg": "GPKG", ".parquet": "Parquet", ".geoparquet": "Parquet", ".geojson": "GeoJSON",
           ".json": "GeoJSON", ".csv": "CSV", ".xlsx": "XLSX"}
_REFUSED = {".shp": "a shapefile cuts column names to 10 characters and spans several files",
            ".zip": "gridmap does not write zipped shapefiles", ".xls": "the old .xls format is read-only"}
_MULTI_LAYER = ("GPKG", "XLSX")
_EXCEL_TEXT_LIMIT = 32_767  # characters an Excel cell holds
#: First characters that make a spreadsheet read a cell as a formula (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Characters an XLSX file cannot hold (what openpyxl refuses): control characters but tab and line ends.
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTAINERS = (list, tuple, set, frozenset, dict)
#: What pandas.api.types.infer_dtype says of object columns that hold no container: no need to look inside.
_PLAIN_KINDS = ("string", "empty", "integer", "floating", "mixed-integer-float", "decimal", "boolean",
                "datetime", "date", "time", "bytes", "period", "interval", "categorical")


def _driver(path: Path, driver: str | None) -> str:
    if driver is not None:
        names = {name.lower(): name for name in set(DRIVERS.values())}
        if str(driver).lower() not in names:
            raise WriteError(f"unknown driver {driver!r}", path=path,
                             fix=f"pass driver= one of {', '.join(sorted(names.values()))}")
        return names[str(driver).lower()]
    suffix = path.suffix.lower()
    if suffix in _REFUSED:
        raise WriteError(f"cannot write {suffix}: {_REFUSED[suffix]}", path=path,
                         fix="write a GeoPackage (.gpkg) instead")
    return DRIVERS.get(suffix, "GPKG")


def _flat(frame: pd.DataFrame, *, path: Path, limit: int | None = None) -> pd.DataFrame:
    """Return a plain table for CSV/Excel: points as lon/lat (x/y if projected), other geometry as WKT."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame._geometry_column_name not in frame.columns:
        return pd.DataFrame(frame)
    name = frame._geometry_column_name
    table = pd.DataFrame(frame.drop(columns=[name]))
    geometry = frame.geometry
    present = geometry[geometry.notna() & ~geometry.is_empty]
    xy = ("lon", "lat") if frame.crs is None or frame.crs.is_geographic else ("x", "y")
    if len(present) and (present.geom_type == "Point").all() and not set(xy) & set(table.columns):
        table[xy[0]], table[xy[1]] = geometry.x, geometry.y
        return table
    wkt = pd.Series(shapely.to_wkt(geometry.to_numpy(), rounding_precision=-1), index=frame.index)
    too_long = wkt.str.len() > limit if limit else pd.Series(False, index=frame.index)
    if too_long.any():
        position = int(too_long.to_numpy().nonzero()[0][0])
        raise WriteError(f"the geometry of feature {position + 1} needs {len(wkt.iloc[position])} "
                         f"characters as WKT, more than an Excel cell holds ({limit})", path=path,
                         fix="write a GeoPackage (.gpkg) or simplify the geometry first")
    table["geometry"] = wkt
    return table


def _library_error(exc: Exception, frame: pd.DataFrame, path: Path, chosen: str) -> WriteError:
    """Return the error for a writer library's failure (pyogrio, pyarrow, openpyxl): folder, disk or data."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    cause = folder_cause(path, message, needed=int(frame.memory_usage(deep=True).sum()))
    if cause is not None and cause.errno == errno.ENOSPC:
        return write_error(cause, path, what=chosen)
    if cause is not None:
        return WriteError(f"cannot write {chosen}: the folder {path.parent} cannot be written (read-only or "
                          "no permission)", path=path,
                          fix="write to a folder you may write to, or make this one writable; the previous "
                              "file is unchanged")
    return WriteError(f"cannot write {chosen}: {message}", path=path,
                      fix="check the column types (text, numbers, dates) and the free disk space; the "
                          "previous file is unchanged")


def _write_gpkg(frame, temporary: Path, layer: str, *, path: Path) -> None:
    # a table without geometry becomes a GeoPackage attribute table (reports, staff rosters)
    pyogrio.write_dataframe(frame, temporary, layer=layer, driver="GPKG")


def _write_geojson(frame, temporary: Path, layer: str, *, path: Path) -> None:
    _need_geometry(frame, path=path)
    pyogrio.write_dataframe(frame, temporary, layer=layer, driver="GeoJSON")


def _write_parquet(frame, temporary: Path, layer: str, *, path: Path) -> None:
    frame.to_parquet(temporary, index=False)


def _write_csv(frame, temporary: Path, layer: str, *, path: Path) -> None:
    # UTF-8 with a byte-order mark: Excel opens Chinese text right only with it. CRLF line ends (RFC 4180):
    # the csv module then quotes a field holding a bare carriage return, which would otherwise split the row.
    spreadsheet_safe(_flat(frame, path=path)).to_csv(temporary, index=False, encoding="utf-8-sig",
                                                     lineterminator="\r\n")


def _write_xlsx(frame, temporary: Path, layer: str, *, path: Path) -> None:
    table = _flat(frame, path=path, limit=_EXCEL_TEXT_LIMIT)
    _write_sheets({layer: table}, temporary, path=path, append=temporary.exists())


def _may_hold_text(series: pd.Series) -> bool:
    """Whether a column can hold text (object, string or categorical): numbers and times cannot."""
    types = pd.api.types
    return not (types.is_numeric_dtype(series.dtype) or types.is_datetime64_any_dtype(series.dtype)
                or types.is_timedelta64_dtype(series.dtype))


def _neutralised(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    r"""Return ``table`` with text that a spreadsheet would run as a formula prefixed by ``'``.

    Text cells and column names starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a
    leading apostrophe (the OWASP rule against CSV injection); numbers, dates and every other cell are left
    as they are, so a negative number stays a number. The table is not changed.

    Examples
    --------
    >>> table = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "翠竹苑", "-1"], "households": [-5, 3, 0]})
    >>> spreadsheet_safe(table).to_dict("list")
    {'name': ['\'=HYPERLINK("http://x")', '翠竹苑', "'-1"], 'households': [-5, 3, 0]}
    """
    safe = table.rename(columns=_neutralised)
    for position in range(safe.shape[1]):
        series = safe.iloc[:, position]
        if _may_hold_text(series):
            safe.isetitem(position, series.map(_neutralised, na_action="ignore"))
    return safe


def _refuse_unwritable_characters(table: pd.DataFrame, sheet: str, *, path: Path) -> None:
    """Name the first cell (sheet, row, column) holding a character no XLSX file can hold."""
    from openpyxl.utils import get_column_letter

    for position, column in enumerate(table.columns):
        series = table.iloc[:, position]
        cells = [str(column), *series] if _may_hold_text(series) else [str(column)]
        if not _NOT_IN_XLSX.search("\n".join(value for value in cells if isinstance(value, str))):
            continue  # searched at once: a line feed is no character refused
        for row, value in enumerate(cells, start=1):
            found = _NOT_IN_XLSX.search(value) if isinstance(value, str) else None
            if found:
                raise WriteError(f"cell {get_column_letter(position + 1)}{row} (sheet {sheet}, row {row}, "
                                 f"column {column!r}) holds the control character "
                                 f"U+{ord(found.group()):04X}, which an Excel file cannot hold", path=path,
                                 fix="remove the character from the data (e.g. with "
                                     "frame[column].str.replace('\\x00', '')), or write a .csv or .gpkg")


def _write_sheets(sheets: Mapping[str, pd.DataFrame], temporary: Path, *, path: Path, append: bool,
                  formats: Mapping[str, str] | None = None,
                  totals: Mapping[str, Mapping[str, object]] | None = None) -> None:
    for sheet, table in sheets.items():
        if len(sheet) > 31 or re.search(r"[\[\]:*?/\\]", sheet):
            raise WriteError(f"{sheet!r} cannot name an Excel sheet (at most 31 characters, none of "
                             "[]:*?/\\)", path=path,
                             fix="pass a shorter layer= name without those characters")
        _refuse_unwritable_characters(table, sheet, path=path)
    safe = {sheet: spreadsheet_safe(table) for sheet, table in sheets.items()}
    footers = {sheet: spreadsheet_safe(pd.DataFrame([dict(totals[sheet])]).reindex(columns=table.columns))
               .iloc[0] for sheet, table in sheets.items() if totals is not None and sheet in totals}
    if not append:  # a new workbook: written in one pass
        write_new_book(safe, temporary, formats=formats or {}, totals=footers)
        return
    with pd.ExcelWriter(temporary, engine="openpyxl", mode="a", if_sheet_exists="replace") as writer:
        for sheet, table in safe.items():
            table.to_excel(writer, sheet_name=sheet, index=False)
            layout = Layout.of(table, formats or {}, footers.get(sheet))
            _finish_sheet(writer.sheets[sheet], layout, len(table))


def _finish_sheet(worksheet, layout: Layout, rows: int) -> None:
    """Give an openpyxl sheet of ``rows`` rows its number formats, widths, frozen filtered header, totals."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    worksheet.freeze_panes = "A2"
    worksheet.auto_filter.ref = f"A1:{get_column_letter(max(len(layout.widths), 1))}{rows + 1}"
    for position, (number_format, width) in enumerate(zip(layout.formats, layout.widths, strict=True), 1):
        if number_format:
            for (cell,) in worksheet.iter_rows(min_row=2, max_row=rows + 1, min_col=position,
                                               max_col=position):
                cell.number_format = number_format
        if layout.footer is not None:
            cell = worksheet.cell(row=rows + 2, column=position)
            cell.value = layout.footer[position - 1]
            cell.font = Font(bold=True)
            if number_format:
                cell.number_format = number_format
        worksheet.column_dimensions[get_column_letter(position)].width = width


def write_workbook(sheets: Mapping[str, pd.DataFrame], path: str | os.PathLike, *,
                   formats: Mapping[str, str] | None = None,
                   totals: Mapping[str, Mapping[str, object]] | None = None) -> Path:
    """Write tables as the sheets of one Excel workbook, atomically and safe to open; return the path.

    Text is neutralised as :func:`spreadsheet_safe` says, so no cell is a formula; a control character no
    XLSX file can hold is refused naming its cell. Each sheet looks finished: the header row is frozen and
    filtered, columns are as wide as their text (a Chinese character counts two), whole numbers show
    thousands separators (``#,##0``), decimals two places, dates ``yyyy-mm-dd`` (with ``hh:mm`` when any
    has a time). A layer is written as :func:`write_layer` writes it to Excel (points as lon/lat, other
    geometry as WKT), so writing several sheets at once gives the workbook that many
    ``write_layer(..., mode="a")`` calls give, without reading and saving it again for each sheet.

    Parameters
    ----------
    sheets : mapping sheet name → DataFrame
    path : str or os.PathLike
    formats : mapping column → Excel number format, optional
        Formats that replace the defaults, e.g. ``{"受理率": "0.0%"}``.
    totals : mapping sheet name → (mapping column → value), optional
        A totals row written in bold below the table of that sheet (outside the filter range); columns not
        given stay empty.

    Raises
    ------
    WriteError
        A bad sheet name, a character Excel cannot hold (naming sheet, row and column), a column holding
        lists or dicts, a geometry too long for a cell, a missing folder or a failure while writing (disk
        full, read-only disk: the message says which).

    Examples
    --------
    >>> import pathlib, tempfile, openpyxl
    >>> table = pd.DataFrame({"社区": ["翠竹苑"], "户数": [12345]})
    >>> path = write_workbook({"社区": table}, pathlib.Path(tempfile.mkdtemp()) / "a.xlsx",
    ...                       totals={"社区": {"社区": "合计", "户数": 12345}})
    >>> sheet = openpyxl.load_workbook(path)["社区"]
    >>> sheet.freeze_panes, sheet.auto_filter.ref, sheet["B2"].number_format, sheet["A3"].value
    ('A2', 'A1:B2', '#,##0', '合计')
    """
    path = Path(path)
    for table in sheets.values():
        _refuse_containers(table, path=path)
    tables = {sheet: _flat(table, path=path, limit=_EXCEL_TEXT_LIMIT) for sheet, table in sheets.items()}
    try:
        with atomic_path(path, what="the workbook") as temporary:
            _write_sheets(tables, temporary, path=path, append=False, formats=formats, totals=totals)
    except OSError as error:
        raise write_error(error, path, what="the workbook") from error
    logger.info("wrote %s (%s)", path, ", ".join(sheets))
    return path


def _need_geometry(frame, *, path: Path) -> None:
    if not isinstance(frame, gpd.GeoDataFrame) or frame._geometry_column_name not in frame.columns:
        raise WriteError("a table without geometry cannot be written as a layer of this format", path=path,
                         fix="write it as .csv, .xlsx or .parquet, or give it a geometry")


def _refuse_containers(frame: pd.DataFrame, *, path: Path) -> None:
    """Refuse columns holding lists, tuples, sets or dicts: formats would write them as Python text.

    GeoPackage, GeoJSON, CSV and Excel would store ``['a', 'b']`` as that text, which no reader turns back
    into a list; Parquet stores lists but refuses a column that mixes them with other values.
    """
    geometry = getattr(frame, "_geometry_column_name", None)
    for column in frame.columns:
        series = frame[column]
        if column == geometry or series.dtype != object:
            continue
        if pd.api.types.infer_dtype(series, skipna=True) in _PLAIN_KINDS:
            continue
        found = series.map(lambda value: isinstance(value, _CONTAINERS)).to_numpy()
        if found.any():
            position = int(found.nonzero()[0][0])
            value = series.iloc[position]
            shown = f"a {type(value).__name__} ({str(value)[:40]})"
            raise WriteError(f"column {column!r} holds {shown} in record {position + 1}; files hold text and "
                             "numbers", path=path,
                             fix=f"turn them into text first, e.g. frame[{column!r}].map(';'.join) for lists "
                                 "of text, or drop the column")


_WRITERS: dict[str, Callable[..., None]] = {"GPKG": _write_gpkg, "GeoJSON": _write_geojson,
                                            "Parquet": _write_parquet, "CSV": _write_csv, "XLSX": _write_xlsx}


def write_layer(frame: pd.DataFrame, path: str | os.PathLike, layer: str | None = None, *,
                driver: str | None = None, mode: str = "w",
                source: str | os.PathLike | Sequence[str | os.PathLike] | None = None) -> Path:
    """Write a layer (or a table) to a file atomically; return the path written.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame or pandas.DataFrame
        The data; a DataFrame without geometry can be written to CSV, Excel and Parquet. It is not changed.
    path : str or os.PathLike
        Target file. The format follows the extension: ``.gpkg`` GeoPackage, ``.parquet`` GeoParquet,
        ``.geojson``/``.json`` GeoJSON, ``.csv`` CSV (UTF-8 with BOM, points as lon/lat columns, other
        geometry as WKT in ``geometry``), ``.xlsx`` Excel (as CSV). No extension writes ``<path>.gpkg``;
        any other unknown extension is written as GeoPackage.
    layer : str, optional
        Layer (GeoPackage) or sheet (Excel) name; default the file name without extension.
    driver : {"GPKG", "Parquet", "GeoJSON", "CSV", "XLSX"}, optional
        Format to write whatever the extension.
    mode : {"w", "a"}
        ``"w"`` replaces the file; ``"a"`` adds the layer to an existing GeoPackage or workbook (a layer of
        the same name is replaced, the others are kept).
    source : path or sequence of paths, optional
        The file(s) ``frame`` was read from: ``path`` naming one of them (through links, ``..`` or another
        case) is refused, so a script cannot write over its own input.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    WriteError
        Unknown driver or mode, missing folder, ``path`` is a ``source``, a type the format cannot hold, or
        any failure while writing; the previous file, if any, is left untouched and no temporary file
        remains.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> frame = gpd.GeoDataFrame({"code": ["450102001003"]}, geometry=[Point(108.3, 22.8)], crs=4326)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_layer(frame, folder / "city.gpkg", "communities")
    >>> _ = write_layer(frame, folder / "city.gpkg", "grids", mode="a")
    >>> import pyogrio; pyogrio.list_layers(folder / "city.gpkg")[:, 0].tolist()
    ['communities', 'grids']
    """
    path = Path(path)
    if not path.suffix and driver is None:
        path = path.with_suffix(".gpkg")
    chosen = _driver(path, driver)
    if mode not in ("w", "a"):
        raise WriteError(f"mode={mode!r} is not a write mode", path=path, fix="pass mode='w' or mode='a'")
    if mode == "a" and chosen not in _MULTI_LAYER:
        raise WriteError(f"a {chosen} file holds one layer; mode='a' cannot add another", path=path,
                         fix="write to a .gpkg or .xlsx file, or use mode='w'")
    if not isinstance(frame, pd.DataFrame):
        raise WriteError(f"expected a GeoDataFrame, got {type(frame).__name__}", path=path,
                         fix="pass a geopandas.GeoDataFrame or pandas.DataFrame")
    if not path.parent.is_dir():
        raise WriteError(f"folder {path.parent} does not exist", path=path, fix="create the folder first")
    if path.is_dir():
        raise WriteError("path is a folder", path=path, fix="name a file")
    sources = [] if source is None else [source] if isinstance(source, (str, os.PathLike)) else source
    for read in sources:
        reason = same_file(path, read)
        if reason:
            raise WriteError(f"{path} is {reason} as the source {read}; writing it would destroy the data "
                             "read", path=path, fix="write to another file")
    _refuse_containers(frame, path=path)
    try:
        with atomic_path(path, what=chosen) as temporary:
            if mode == "a" and path.exists():
                shutil.copy2(path, temporary)
            try:
                _WRITERS[chosen](frame, temporary, layer or path.stem, path=path)
            except (GridmapError, OSError):
                raise
            except Exception as exc:  # judged while the temporary file still takes its space on the disk
                raise _library_error(exc, frame, path, chosen) from exc
    except GridmapError:
        raise
    except OSError as exc:
        raise write_error(exc, path, what=chosen) from exc
    logger.info("wrote %s (%s, layer %s, %d records)", path, chosen, layer or path.stem, len(frame))
    return path
