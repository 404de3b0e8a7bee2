"""Column headers and values as every reader cleans them: aliases, codes as strings, counts as integers.

Headers are compared by :func:`header_key` (Unicode NFKC, blanks and byte-order marks removed, lower case)
and renamed to model names with :data:`gridmap.schema.COLUMN_ALIASES`. Code columns
(:data:`~gridmap.schema.CODE_COLUMNS`) become strings, count columns (:data:`~gridmap.schema.COUNT_COLUMNS`)
nullable integers. Records are named for messages by their row in the file (``rows``, as a spreadsheet
numbers them) or, for vector layers, as ``feature N``.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({" 名称 ": ["兴宁社区"], "社区代码": [450102001003.0], "户数": ["1,250"]})
>>> frame, sources = rename_columns(frame, path="units.xlsx")
>>> frame = clean_values(frame, path="units.xlsx", rows=[2], sources=sources)
>>> frame.loc[0, "community_code"], frame.loc[0, "households"], sources["name"]
('450102001003', np.int64(1250), ' 名称 ')
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
import warnings
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from gridmap.errors import CodeError, CRSError, GridmapWarning, ReadError, SchemaError
from gridmap.schema import CODE_COLUMNS, COLUMN_ALIASES, COUNT_COLUMNS, header_key

__all__ = [
    "STRING_DTYPE",
    "header_key",
    "find_header_row",
    "header_rows",
    "unique_headers",
    "rename_columns",
    "clean_values",
    "infer_numbers",
    "codes_in",
    "record_label",
    "records_text",
    "record_numbers",
    "FeatureNumbers",
    "COORDS_ATTR",
    "header_system",
    "header_coords",
    "agreed_coords",
]

#: The dtype of text columns: pandas' "str" from pandas 3 on, object before (where "str" would turn
#: missing values into the text "nan").
STRING_DTYPE = "str" if int(pd.__version__.split(".")[0]) >= 3 else object

_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d*)?[eE][+-]?\d+")
_DOT_ZERO = re.compile(r"(\d+)\.0+")
_WHOLE = re.compile(r"[+-]?\d+(?:\.0*)?")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.0*)?")
_MAX_COUNT = 2**53  # whole numbers above this are not exact as floats (and soon overflow an int64)
_IDENTIFIER_LIKE = r"^[+-]?0\d|^\d{16,}"  # leading zero or more digits than a float keeps: stays text

#: Key of ``frame.attrs`` where :func:`~gridmap.io.read_table` records the coordinate system its lon/lat
#: headers name (``经度_gcj02`` → ``"gcj02"``), for readers that build the points later (case lists).
COORDS_ATTR = "gridmap_coords"
#: A coordinate system named in a header, with optional brackets (full-width ones are NFKC-folded).
_SYSTEM_IN_HEADER = re.compile(r"[(\[【]?(wgs[-_]?84|gcj[-_]?02|bd[-_]?09|cgcs[-_]?2000)[)\]】]?")
#: Coordinate systems in the order a pair of columns is preferred when a table has several.
_SYSTEM_ORDER = ("wgs84", "cgcs2000", "gcj02", "bd09")
_SYSTEM_NAMES = {"wgs84": "WGS84", "cgcs2000": "CGCS2000", "gcj02": "GCJ-02", "bd09": "BD-09"}


class _BadValue(Exception):
    """A value that cannot be converted; carries the reason for the user's message."""


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def find_header_row(rows: Sequence[Sequence[object]], *, scan: int = 20) -> int:
    """Return the index of the header row of a sheet whose first rows may be a title (表头标题).

    Government spreadsheets often carry a merged title row, a blank row or a "填报单位" line above the real
    header. The header is the first of the top ``scan`` rows that has at least two filled cells, at least
    half as many as the widest row, and a known header (:data:`~gridmap.schema.COLUMN_ALIASES`); failing
    that, the first row at least half as wide as the widest; failing that, row 0.

    Examples
    --------
    >>> find_header_row([["兴宁区网格统计表", None, None], [], ["名称", "户数", "备注"], ["A", 3, None]])
    2
    """
    top = [[cell for cell in row if not _blank(cell)] for row in rows[:scan]]
    width = max((len(cells) for cells in top), default=0)
    least = max(2, math.ceil(width / 2))
    wide = [i for i, cells in enumerate(top) if len(cells) >= least or (width == 1 and cells)]
    known = (*COLUMN_ALIASES, "geometry", "wkt")
    for i in wide:
        if any(header_key(cell) in known or header_system(cell) for cell in top[i]):
            return i
    return wide[0] if wide else 0


def header_rows(rows: Sequence[Sequence[object]], *, scan: int = 20) -> tuple[int, int, list[object]]:
    """Return where the header starts, how many rows it spans (1 or 2) and the column headers.

    A two-row header (a group cell such as 位置 merged over 经度 and 纬度 in the row below, the other
    headers merged down over both rows) is joined into one: a column takes the name in the second row
    when it has one, else the name above it. The second row counts as header only when it is text
    without numbers, fills fewer cells than the first and adds a known header
    (:data:`~gridmap.schema.COLUMN_ALIASES`) the first row lacks, so a data row is never taken for one.

    Examples
    --------
    >>> header_rows([["名称", "户数", "位置", None], [None, None, "经度", "纬度"], ["A", 3, 108.3, 22.8]])
    (0, 2, ['名称', '户数', '经度', '纬度'])
    >>> header_rows([["名称", "户数"], ["A", 3]])
    (0, 1, ['名称', '户数'])
    """
    if not rows:
        return 0, 1, []
    start = find_header_row(rows, scan=scan)
    top = list(rows[start])
    joined = _joined_header(top, list(rows[start + 1])) if start + 1 < len(rows) else None
    return (start, 1, top) if joined is None else (start, 2, joined)


def _is_number_text(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        float(value.replace(",", ""))
    except ValueError:
        return False
    return True


def _joined_header(top: list[object], sub: list[object]) -> list[object] | None:
    """Join a header row with the second header row below it, or None when ``sub`` is not one."""
    filled = [v for v in sub if not _blank(v)]
    if not filled or any(_is_number_text(v) for v in filled):
        return None
    if len(filled) >= sum(not _blank(v) for v in top):
        return None
    known = {_model_name(v) for v in top if not _blank(v)}
    if not {_model_name(v) for v in filled} - known - {None}:
        return None
    width = max(len(top), len(sub))
    top, sub = top + [None] * (width - len(top)), sub + [None] * (width - len(sub))
    headers: list[object] = []
    group: object = None
    for above, below in zip(top, sub, strict=True):
        group = group if _blank(above) else above
        if _blank(below):
            headers.append(above)
        elif _model_name(below) is not None or _blank(group):
            headers.append(below)
        else:
            headers.append(f"{group}_{below}")
    return headers


def _model_name(header: object) -> str | None:
    """Return the model column a header means: an alias's, or lon/lat for ``经度_gcj02``; else None."""
    found = header_system(header)
    return COLUMN_ALIASES.get(header_key(header)) or (found[0] if found else None)


def unique_headers(headers: Sequence[object], *, path: str | os.PathLike | None = None) -> list[str]:
    """Return headers as text, blanks named ``unnamed_N`` and repeats numbered (``备注``, ``备注.1``).

    A repeated header that is a known alias is ambiguous and raises :class:`~gridmap.errors.SchemaError`.
    """
    names: list[str] = []
    for j, header in enumerate(headers):
        name = f"unnamed_{j + 1}" if _blank(header) else str(header).strip()
        base, n = name, 0
        while name in names:
            if header_key(base) in COLUMN_ALIASES:
                raise SchemaError(f"two columns are headed {base!r}", path=path,
                                  fix="rename or delete one of them")
            n += 1
            name = f"{base}.{n}"
        names.append(name)
    return names


def _find_column(columns: Sequence[str], wanted: str, *, option: str, path) -> str:
    for column in columns:
        if column == wanted or header_key(column) == header_key(wanted):
            return column
    listed = ", ".join(map(str, columns))
    raise ReadError(f"no column {wanted!r} (given as {option}=); the columns are {listed}", path=path,
                    fix=f"pass {option}= one of the column names above")


def header_system(name: object) -> tuple[str, str] | None:
    """Return ``(lon or lat, system)`` for a coordinate header that names its coordinate system, else None.

    The system (wgs84, cgcs2000, gcj02, bd09) may come after or before a longitude/latitude header
    (:data:`~gridmap.schema.COLUMN_ALIASES`), joined by ``_``, ``-`` or brackets, full-width ones too.

    Examples
    --------
    >>> header_system("经度_gcj02"), header_system("纬度（GCJ02）"), header_system("gcj02_lng")
    (('lon', 'gcj02'), ('lat', 'gcj02'), ('lon', 'gcj02'))
    >>> header_system("BD09经度"), header_system("lat_WGS-84"), header_system("经度")
    (('lon', 'bd09'), ('lat', 'wgs84'), None)
    >>> header_system("备注_gcj02") is None
    True
    """
    key = header_key(name)
    match = _SYSTEM_IN_HEADER.search(key)
    if match is None:
        return None
    base = (key[:match.start()] + key[match.end():]).strip("_-.:")
    target = COLUMN_ALIASES.get(base)
    if target not in ("lon", "lat"):
        return None
    return target, re.sub(r"[-_]", "", match.group(1))


def _suffixed_pairs(columns: Sequence[str], *, path) -> dict[str, dict[str, str]]:
    """Group the coordinate headers that name a system: ``{system: {"lon": header, "lat": header}}``."""
    pairs: dict[str, dict[str, str]] = {}
    for column in columns:
        found = header_system(column)
        if found is None:
            continue
        target, system = found
        other = pairs.setdefault(system, {}).get(target)
        if other is not None:
            raise SchemaError(f"columns {other!r} and {column!r} both mean {target!r} "
                              f"({_SYSTEM_NAMES[system]})", path=path, fix="rename or delete one of them")
        pairs[system][target] = column
    return pairs


def _chosen_coordinates(pairs: dict[str, dict[str, str]], wanted: Collection[str], *,
                        coords: str | None) -> dict[str, str]:
    """Choose the suffixed headers to read as ``wanted`` (lon, lat): a whole pair, the declared one first.

    The pair of the system ``coords=`` declares wins, then WGS84, CGCS2000, GCJ-02, BD-09. Without a whole
    pair, each column is taken on its own, so the reader can say which one lacks its partner.
    """
    order = sorted(pairs, key=lambda s: (s != coords, _SYSTEM_ORDER.index(s)))
    whole = [s for s in order if set(wanted) <= set(pairs[s])]
    if whole:
        return {pairs[whole[0]][target]: target for target in wanted}
    chosen: dict[str, str] = {}
    for target in wanted:
        system = next((s for s in order if target in pairs[s]), None)
        if system is not None:
            chosen[pairs[system][target]] = target
    return chosen


def rename_columns(frame: pd.DataFrame, *, path: str | os.PathLike | None = None,
                   explicit: dict[str, str] | None = None, coords: str | None = None,
                   aliases: Mapping[str, str | None] | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename headers to model names; return the new frame and ``{model name: original header}``.

    ``explicit`` maps model names to headers the user named (``lon=``, ``lat=``); it wins over aliases.
    ``aliases`` maps headers to the names a reader of one kind of file gives them (compared like
    :func:`~gridmap.schema.header_key`); they win over :data:`~gridmap.schema.COLUMN_ALIASES`, and a header
    mapped to None is kept as it is (a case list's ``编号`` is its case id, not a unit id).
    Coordinate headers that name their system (``经度_gcj02``, see :func:`header_system`) become ``lon``
    and ``lat`` when no plain header does; of several such pairs, the one of the system ``coords`` names,
    else the WGS84 one, is taken (:func:`header_coords` says so). Two headers that mean the same model
    column raise :class:`~gridmap.errors.SchemaError` naming both. Unknown headers are kept as they are.
    The geometry column is left alone.
    """
    geometry = getattr(frame, "_geometry_column_name", None)
    columns = [c for c in frame.columns if c != geometry]
    mapping: dict[str, str] = {}
    sources: dict[str, str] = {}
    for target, wanted in (explicit or {}).items():
        column = _find_column(columns, wanted, option=target, path=path)
        mapping[column], sources[target] = target, column
    own = {header_key(header): target for header, target in (aliases or {}).items()}
    for column in columns:
        key = header_key(column)
        alias = own[key] if key in own else COLUMN_ALIASES.get(key)
        if column in mapping or alias is None or alias in (explicit or {}):
            continue
        if alias in sources:
            raise SchemaError(f"columns {sources[alias]!r} and {column!r} both mean {alias!r}", path=path,
                              fix="rename or delete one of them")
        mapping[column], sources[alias] = alias, column
    missing = [name for name in ("lon", "lat") if name not in sources]
    pairs = _suffixed_pairs([c for c in columns if c not in mapping], path=path)
    for column, name in (_chosen_coordinates(pairs, missing, coords=coords) if missing else {}).items():
        mapping[column], sources[name] = name, column
    kept = set(columns) - set(mapping)
    clash = [target for target in sources if target in kept]
    if clash:
        raise SchemaError(f"column {clash[0]!r} is there twice: as itself and as {sources[clash[0]]!r}",
                          path=path, fix="rename or delete one of them")
    return frame.rename(columns=mapping), sources


def header_coords(sources: dict[str, str], columns: Sequence[str], *, coords: str | None,
                  path: str | os.PathLike | None = None, explicit: bool = False) -> str | None:
    """Return the coordinate system to read a table's lon/lat in: the one its headers name, else ``coords``.

    ``sources`` is what :func:`rename_columns` returned, ``columns`` the headers after renaming. A table
    with a WKT column (``geometry``/``wkt``) takes its geometry from there unless ``explicit`` (``lon=`` and
    ``lat=`` given), so its coordinate headers name nothing then. Raises
    :class:`~gridmap.errors.CRSError` when the longitude and latitude headers name different systems or
    when ``coords`` contradicts them; warns (:class:`~gridmap.errors.GridmapWarning`) when other coordinate
    columns naming a system are left as they are.

    Examples
    --------
    >>> header_coords({"lon": "lng_gcj02", "lat": "lat_gcj02"}, ["name", "lon", "lat"], coords=None)
    'gcj02'
    >>> header_coords({"lon": "经度", "lat": "纬度"}, ["lon", "lat"], coords="bd09")
    'bd09'
    """
    wkt = any(header_key(column) in ("geometry", "wkt") for column in columns)
    if "lon" not in sources or "lat" not in sources or (wkt and not explicit):
        return coords
    lon, lat = (_named_system(sources[target]) for target in ("lon", "lat"))
    if lon != lat:
        said = " and ".join(f"{sources[target]!r} {_SYSTEM_NAMES[found] if found else 'no system'}"
                            for target, found in (("lon", lon), ("lat", lat)))
        raise CRSError(f"the coordinate headers name different coordinate systems: {said}", path=path,
                       fix="name the same system in both headers (e.g. 经度_gcj02 and 纬度_gcj02), "
                           "or rename them 经度 and 纬度 and pass coords=")
    others = [c for c in columns if header_system(c) is not None]
    if others:
        warnings.warn(f"{path}: coordinates read from {sources['lon']!r}/{sources['lat']!r}; the coordinate "
                      f"columns {', '.join(map(repr, others))} are kept as they are. Pass lon= and lat= to "
                      "read the others", GridmapWarning, stacklevel=3)
    where = f"the headers {sources['lon']!r}/{sources['lat']!r}"
    return agreed_coords(lon, coords, where=where, path=path)


def _named_system(header: str) -> str | None:
    """Return the system a coordinate header names, whatever the rest says (``东经_gcj02`` given as lon=)."""
    match = _SYSTEM_IN_HEADER.search(header_key(header))
    return re.sub(r"[-_]", "", match.group(1)) if match else None


def agreed_coords(declared: str | None, coords: str | None, *, where: str = "the coordinate headers",
                  path: str | os.PathLike | None = None) -> str | None:
    """Return the coordinate system ``where`` declares, or ``coords``; raise CRSError when they disagree.

    Examples
    --------
    >>> agreed_coords("gcj02", None), agreed_coords(None, "bd09"), agreed_coords("wgs84", "wgs84")
    ('gcj02', 'bd09', 'wgs84')
    """
    if declared is None or coords is None or declared == coords:
        return declared or coords
    raise CRSError(f"{where} say the coordinates are {_SYSTEM_NAMES[declared]}, but coords={coords!r} "
                   f"says {_SYSTEM_NAMES.get(coords, coords)}", path=path,
                   fix=f"leave out coords= (the headers name the system), or pass coords={declared!r}; "
                       "if the headers are wrong, rename them")


class FeatureNumbers(list):
    """The 1-based numbers in the file of the features a vector layer kept (some were left out)."""


def _word(rows: Sequence[int]) -> str:
    return "feature" if isinstance(rows, FeatureNumbers) else "row"


def record_label(rows: Sequence[int] | None, position: int) -> str:
    """Name a record for messages: ``row N`` (the file's row number) or ``feature N`` (1-based).

    ``rows`` is None for a vector layer whose features are all kept, :class:`FeatureNumbers` for one of
    which some were left out.
    """
    return f"feature {position + 1}" if rows is None else f"{_word(rows)} {rows[position]}"


def records_text(rows: Sequence[int] | None, count: int) -> str:
    """Describe how a layer's records are numbered in its file, compactly (kept in ``frame.attrs``).

    Examples
    --------
    >>> records_text([3, 4, 5, 7], 4), records_text(None, 3), records_text([], 0)
    ('row 3-5,7', 'feature 1-3', 'row ')
    >>> records_text(FeatureNumbers([2, 3]), 2)
    'feature 2-3'
    """
    if rows is None:
        return f"feature 1-{count}" if count else "feature "
    runs: list[list[int]] = []
    for row in rows:
        if runs and row == runs[-1][1] + 1:
            runs[-1][1] = row
        else:
            runs.append([row, row])
    return f"{_word(rows)} " + ",".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs)


def record_numbers(text: str) -> tuple[str, np.ndarray]:
    """Return the word (``row``/``feature``) and the numbers a :func:`records_text` describes.

    Examples
    --------
    >>> word, numbers = record_numbers("row 3-5,7")
    >>> word, numbers.tolist()
    ('row', [3, 4, 5, 7])
    """
    word, _, runs = text.partition(" ")
    parts = [[int(n) for n in run.split("-")] for run in runs.split(",") if run]
    numbers = [np.arange(part[0], part[-1] + 1) for part in parts]
    return word, np.concatenate(numbers) if numbers else np.array([], dtype=int)


def _column_label(target: str, sources: dict[str, str]) -> str:
    source = sources.get(target, target)
    return f"column {source!r}" if source == target else f"column {source!r} ({target})"


def _code_text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        raise _BadValue(f"{value!r} is not a code")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            raise _BadValue(f"{value!r} is a number with decimals, not a code")
        if abs(value) >= 1e15:
            raise _BadValue(f"{value!r} has more digits than a spreadsheet number keeps (15); "
                            "digits were lost")
        return str(int(value))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if _SCIENTIFIC.fullmatch(text):
        raise _BadValue(f"{text!r} is in scientific notation; the last digits of the code were lost")
    dot_zero = _DOT_ZERO.fullmatch(text)
    return dot_zero.group(1) if dot_zero else (text or None)


def _count_value(value: object) -> int | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        raise _BadValue(f"{value!r} is not a whole number")
    if isinstance(value, (int, np.integer, float, np.floating)):
        number = float(value)
        if not number.is_integer():
            raise _BadValue(f"{value!r} is not a whole number")
        count = int(value)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        if not text:
            return None
        if _THOUSANDS.fullmatch(text):
            text = text.replace(",", "")
        if not _WHOLE.fullmatch(text):
            raise _BadValue(f"{text!r} is not a whole number")
        count = int(text.split(".")[0])
    if count < 0:
        raise _BadValue(f"{count} is negative")
    if count > _MAX_COUNT:
        raise _BadValue(f"{value!r} is too large to be a count")
    return count


def _convert(series: pd.Series, convert, *, error, target, sources, path, rows, fix) -> np.ndarray:
    """Apply a scalar converter once per distinct value; name the first bad record in file order."""
    codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
    converted = []
    for k, value in enumerate(uniques):  # distinct values in order of first appearance
        try:
            converted.append(convert(value))
        except _BadValue as exc:
            position = int(np.flatnonzero(codes == k)[0])
            raise error(f"{_column_label(target, sources)}: {exc}", path=path,
                        record=record_label(rows, position), fix=fix) from None
    return np.array([*converted, None], dtype=object)[codes]  # code -1 (missing) takes the last: None


def _plain_text(series: pd.Series, pattern: str) -> pd.Series | None:
    """Return the stripped text (blanks missing) when every value fully matches ``pattern``, else None.

    The fast path for clean text columns; anything unusual goes value by value through the converters.
    """
    if not pd.api.types.is_string_dtype(series):
        return None
    text = series.str.strip()
    text = text.where(text != "")
    present = text.dropna()
    if not present.str.fullmatch(pattern).all():
        return None
    return text


def _arrow_strings(series: pd.Series) -> object | None:
    """Return the Arrow strings (a ``pyarrow.ChunkedArray``) behind a text column, None for other columns.

    pandas' ``str`` dtype (and ``string[pyarrow]``) keeps its text in Arrow: pyarrow's compute functions
    check it at once, without the Python objects pandas' ``.str`` methods make for a column of a few rows.
    """
    array = series.array
    return array.__arrow_array__() if isinstance(array, pd.arrays.ArrowStringArray) else None


def _all(mask: object) -> bool:
    """Whether every value present of an Arrow boolean array is true (so also for no value at all)."""
    return bool(pc.all(mask, min_count=0).as_py())


def _clean_code_text(series: pd.Series) -> pd.Series | None:
    """Return a text column of codes as it is when nothing in it needs cleaning, else None.

    Nothing needs cleaning when every value present is ASCII letters and digits (no blank, nothing to
    strip, what :func:`_plain_text` would accept) and, unless they are all digits, none is in scientific
    notation (``4E11``): :func:`_clean_codes` would give the very values.
    """
    strings = _arrow_strings(series)
    if strings is None or not _all(pc.ascii_is_alnum(strings)):
        return None
    if not _all(pc.ascii_is_decimal(strings)) and not _all(
            pc.invert(pc.match_substring_regex(strings, f"^(?:{_SCIENTIFIC.pattern})$"))):
        return None
    return series.astype(STRING_DTYPE)


def _clean_codes(series: pd.Series, **where) -> pd.Series:
    clean = _clean_code_text(series)
    if clean is not None:
        return clean
    text = _plain_text(series, r"[0-9A-Za-z_-]+")
    if text is not None and not text.dropna().str.fullmatch(_SCIENTIFIC.pattern).any():
        return text.astype(STRING_DTYPE)
    values = _convert(series, _code_text, error=CodeError, **where)
    return pd.Series(values, index=series.index, dtype=STRING_DTYPE)


def _whole_numbers(series: pd.Series) -> bool:
    """Whether a numeric column holds only counts: whole numbers from 0 to :data:`_MAX_COUNT`, or missing."""
    numbers = (series.to_numpy(dtype="float64") if isinstance(series.dtype, np.dtype)  # no Series in between
               else series.astype("float64").to_numpy())
    with np.errstate(invalid="ignore"):  # inf % 1 is NaN, which is no count: no warning needed
        whole = numbers % 1 == 0
    return bool((whole & (numbers >= 0) & (numbers <= _MAX_COUNT) | np.isnan(numbers)).all())


def _digit_text(series: pd.Series) -> bool:
    """Whether a text column (Arrow strings) holds only 1 to 15 ASCII digits per value present."""
    strings = _arrow_strings(series)
    return strings is not None and _all(pc.ascii_is_decimal(strings)) and (
        pc.max(pc.binary_length(strings)).as_py() or 0) <= 15


def _clean_counts(series: pd.Series, **where) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        if _whole_numbers(series):
            return series.astype("Int64")
    if _digit_text(series):  # fewer than 16 digits: below _MAX_COUNT, exact whichever way they are parsed
        return series.astype("Int64")
    text = _plain_text(series, r"\d{1,15}")  # fewer than 16 digits: below _MAX_COUNT
    if text is not None:
        return pd.to_numeric(text).astype("Int64")
    values = _convert(series, _count_value, error=SchemaError, **where)
    return pd.Series(pd.array(values, dtype="Int64"), index=series.index)


def clean_values(frame: pd.DataFrame, *, path: str | os.PathLike | None = None,
                 rows: Sequence[int] | None = None, sources: dict[str, str] | None = None) -> pd.DataFrame:
    """Return ``frame`` with code columns as stripped strings and count columns as nullable integers.

    Codes: whole numbers (numeric spreadsheet cells, 450102001003.0) become their digits; blanks become
    missing; scientific notation (``4.50102E+11``) and numbers past 15 digits raise
    :class:`~gridmap.errors.CodeError` because digits were lost. Counts: whole numbers 0 or more (``1,250``
    accepted); anything else raises :class:`~gridmap.errors.SchemaError` naming the row and the value.
    """
    sources = sources or {}
    frame = frame.copy()
    for target in CODE_COLUMNS:
        if target in frame.columns:
            source = sources.get(target, target)
            frame[target] = _clean_codes(frame[target], target=target, sources=sources, path=path, rows=rows,
                                         fix=f"format column {source!r} as text in the spreadsheet "
                                             "(设置单元格格式 → 文本), re-enter the codes and export again")
    for target in COUNT_COLUMNS:
        if target in frame.columns:
            source = sources.get(target, target)
            frame[target] = _clean_counts(frame[target], target=target, sources=sources, path=path, rows=rows,
                                          fix=f"enter whole numbers (0 or more) in column {source!r}")
    return frame


def infer_numbers(frame: pd.DataFrame, *, skip: Sequence[str] = ()) -> pd.DataFrame:
    """Return ``frame`` with text columns that hold only numbers converted to numbers (CSV columns).

    A column keeps its text when any value has a leading zero or more than 15 digits (an identifier
    such as 身份证号 or a code the schema does not know), so no digit is ever lost.

    Examples
    --------
    >>> frame = infer_numbers(pd.DataFrame({"面积": ["1.5", None], "楼号": ["3", "4"], "编号": ["007", "8"]},
    ...                                    dtype=STRING_DTYPE))
    >>> [str(t) for t in frame.dtypes]
    ['float64', 'int64', 'str']
    """
    frame = frame.copy()
    for column in frame.columns:
        series = frame[column]
        if column in skip or not pd.api.types.is_string_dtype(series):
            continue
        text = series[series.notna()].astype(str).str.strip()
        if text.empty or text.str.contains(_IDENTIFIER_LIKE, regex=True).any():
            continue
        numbers = pd.to_numeric(text, errors="coerce")
        if numbers.isna().any():
            continue
        if text.str.contains(r"[.eEnN]", regex=True).any():
            frame[column] = pd.to_numeric(series, errors="coerce").astype("float64")
        else:
            frame[column] = pd.to_numeric(series).astype("int64" if len(text) == len(series) else "Int64")
    return frame


def codes_in(values: pd.Series, codes: object) -> np.ndarray:
    """Whether each of ``values`` is one of ``codes``: ``values.isin(codes)``, fast for string columns.

    pandas' ``isin`` on a column of the default (Arrow-backed) string type turns each of ``codes`` into an
    Arrow scalar in Python, about half a second for 100,000 grid codes; a hash lookup takes a tenth of it.

    Examples
    --------
    >>> codes_in(pd.Series(["450102001003001", None, "450102001003009"], dtype="str"),
    ...          pd.Series(["450102001003001", "450102001003001"])).tolist()
    [True, False, False]
    """
    known = pd.Index(pd.unique(pd.Series(codes).dropna()))
    return known.get_indexer(values) >= 0
