"""The administrative hierarchy, read from statistical division codes (统计用区划代码).

A 12-digit code is province 2 + city 2 + county 2 + township 3 + village 3 digits. gridmap's levels
use its prefixes: 6 digits = district/county (城区/县), 9 = street/township (街道/乡镇),
12 = community/village (社区/村); 2 and 4 digits are the province and the city. A child's code starts
with its parent's. The township digits (7–9) tell the kind of township: 001–099 street (街道),
100–199 town (镇), 200–399 township (乡), others (400–599) development zones, farms and the like. The
village digits (10–12) tell the kind of community: 001–199 residents' committee (居委会, urban),
200–399 villagers' committee (村委会, rural), others special units.

Examples
--------
>>> code_level("450102001003")
'community'
>>> parent_code("450102001003"), ancestor_code("450102001003", "district")
('450102001', '450102')
>>> community_kind("450102001003"), township_kind("450122100")
('urban', 'town')
"""

from __future__ import annotations

import os
from typing import TypeVar

import numpy as np
import pandas as pd

from gridmap.errors import CodeError, ReadError, SchemaError
from gridmap.schema import CODE_LENGTHS, STATISTICAL_LEVELS, alias_renames, find_column

__all__ = [
    "code_level",
    "parent_code",
    "ancestor_code",
    "community_kind",
    "township_kind",
    "add_hierarchy",
    "read_division_codes",
]

FrameT = TypeVar("FrameT", bound=pd.DataFrame)

_LEVEL_BY_LENGTH = {length: level for level, length in CODE_LENGTHS.items()}
_PARENT_LENGTH = {12: 9, 9: 6, 6: 4, 4: 2}
# The levels add_hierarchy derives, with the code lengths they need.
_HIERARCHY = {"district_code": 6, "street_code": 9, "community_code": 12}
_GB2260_PATTERN = r"[0-9]{6}|[0-9]{9}|[0-9]{12}"
_TOWNSHIP_KINDS = ((1, 99, "street"), (100, 199, "town"), (200, 399, "township"))
_COMMUNITY_KINDS = ((1, 199, "urban"), (200, 399, "rural"))
# Parent columns of the NBS tables (china-division) and the adcode table (Vonng/adcode).
_PARENT_COLUMNS = ("streetCode", "areaCode", "cityCode", "provinceCode", "parent_code", "parent")


def _checked(code: str, *, allowed: tuple[int, ...] = tuple(_LEVEL_BY_LENGTH)) -> str:
    """Return ``code`` when it is a string of ASCII digits of an allowed length, else raise CodeError."""
    lengths = "/".join(str(n) for n in allowed)
    if not isinstance(code, str):
        raise CodeError(f"code {code!r} is a {type(code).__name__}, not text",
                        fix="pass division codes as strings (read the column with dtype=str)")
    if code and not (code.isascii() and code.isdigit()):
        raise CodeError(f"code {code!r} holds characters other than digits",
                        fix=f"give a code of {lengths} digits 0-9")
    if len(code) not in allowed:
        raise CodeError(f"code {code!r} has {len(code)} digits", fix=f"give a code of {lengths} digits")
    return code


def code_level(code: str) -> str:
    """Return the level of a division code: province, city, district, street or community.

    Parameters
    ----------
    code : str
        A code of 2, 4, 6, 9 or 12 digits.

    Returns
    -------
    str
        ``"province"``, ``"city"``, ``"district"``, ``"street"`` or ``"community"``.

    Raises
    ------
    CodeError
        When ``code`` is not text, holds non-digits or has another length.

    Examples
    --------
    >>> code_level("450102"), code_level("450102001")
    ('district', 'street')
    """
    return _LEVEL_BY_LENGTH[len(_checked(code))]


def parent_code(code: str) -> str | None:
    """Return the code of the unit one level up, or None for a province.

    Examples
    --------
    >>> parent_code("450102001"), parent_code("450102"), parent_code("45")
    ('450102', '4501', None)
    """
    length = _PARENT_LENGTH.get(len(_checked(code)))
    return None if length is None else code[:length]


def ancestor_code(code: str, level: str) -> str:
    """Return the code of the unit at ``level`` that contains ``code`` (the code itself at its own level).

    Parameters
    ----------
    code : str
        A division code.
    level : str
        One of ``"province"``, ``"city"``, ``"district"``, ``"street"``, ``"community"``, not below the
        level of ``code``.

    Examples
    --------
    >>> ancestor_code("450102001003", "city")
    '4501'
    """
    if level not in CODE_LENGTHS:
        raise CodeError(f"level={level!r} is not a division level",
                        fix=f"pass level= one of {', '.join(map(repr, CODE_LENGTHS))}")
    length = CODE_LENGTHS[level]
    if length > len(_checked(code)):
        raise CodeError(f"code {code!r} is a {code_level(code)} code and has no {level} ancestor",
                        record=code, fix=f"give a code of at least {length} digits")
    return code[:length]


def _kind(digits: int, ranges: tuple[tuple[int, int, str], ...]) -> str:
    return next((kind for low, high, kind in ranges if low <= digits <= high), "other")


def community_kind(code: str) -> str:
    """Return ``"urban"`` (居委会), ``"rural"`` (村委会) or ``"other"`` from a community's village digits.

    Examples
    --------
    >>> community_kind("450102001003"), community_kind("450122100201"), community_kind("450102400498")
    ('urban', 'rural', 'other')
    """
    return _kind(int(_checked(code, allowed=(12,))[9:]), _COMMUNITY_KINDS)


def township_kind(code: str) -> str:
    """Return ``"street"`` (街道), ``"town"`` (镇), ``"township"`` (乡) or ``"other"`` from township digits.

    ``code`` is a street (9 digits) or community (12 digits) code.

    Examples
    --------
    >>> township_kind("450102001"), township_kind("450126201005"), township_kind("450108400")
    ('street', 'township', 'other')
    """
    return _kind(int(_checked(code, allowed=(9, 12))[6:9]), _TOWNSHIP_KINDS)


def _parent_codes(codes: pd.Series) -> pd.Series:
    """Vectorised :func:`parent_code` of valid codes (NA where there is no parent)."""
    lengths = codes.str.len()
    parents = pd.Series(pd.NA, index=codes.index, dtype=codes.dtype)
    for length, parent_length in _PARENT_LENGTH.items():
        mask = lengths == length
        parents = parents.mask(mask, codes.str[:parent_length])
    return parents


def _community_kinds(codes: pd.Series) -> pd.Series:
    """Vectorised :func:`community_kind` of valid 12-digit codes."""
    digits = codes.str[9:].astype(int)
    kinds = pd.Series("other", index=codes.index, dtype=object)
    for low, high, kind in _COMMUNITY_KINDS:
        kinds = kinds.mask(digits.between(low, high), kind)
    return kinds


def add_hierarchy(frame: FrameT, *, code_column: str = "code") -> FrameT:
    """Return a copy of ``frame`` with the codes of the district, street and community of each row.

    Adds ``district_code`` and, down to the finest level present, ``street_code`` and
    ``community_code``. A row gets NA at levels below its own (a street has no community code).

    Parameters
    ----------
    frame : GeoDataFrame or DataFrame
        A layer whose ``code_column`` holds 6-, 9- or 12-digit codes as strings.
    code_column : str, default "code"
        The column with the codes (or a header that is an alias of it, such as 区划代码 for ``code``).

    Returns
    -------
    GeoDataFrame or DataFrame
        A new frame of the same type; ``frame`` is left untouched.

    Raises
    ------
    SchemaError
        When ``code_column`` is absent.
    CodeError
        When a code is not 6, 9 or 12 digits, or an existing hierarchy column disagrees with the codes.

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["450102001003", "450102002"]})
    >>> add_hierarchy(units)
               code district_code street_code community_code
    0  450102001003        450102   450102001   450102001003
    1     450102002        450102   450102002            NaN
    """
    found = find_column(frame.columns, code_column)  # 区划代码 for "code", or a reader's rename of it
    if found is None:
        raise SchemaError(f"the layer has no column {code_column!r} (columns: {list(frame.columns)})",
                          fix="pass code_column= the name of the column with division codes")
    codes = frame[found]
    if not (pd.api.types.is_string_dtype(codes) or codes.dtype == object):
        raise CodeError(f"column {found!r} holds {codes.dtype} numbers, not text",
                        fix="read division codes as text (dtype=str) so that they stay exact")
    codes = codes.astype("str")
    bad = ~codes.str.fullmatch(_GB2260_PATTERN).fillna(False).astype(bool) | frame[found].isna()
    if bad.any():
        first = _first(bad)
        raise CodeError(f"code {frame[found].iloc[first]!r} is not a 6-, 9- or 12-digit division code"
                        f" ({int(bad.sum())} such rows)", record=f"row {first + 1}",
                        fix="correct the code or drop the row")
    lengths = codes.str.len()
    finest = int(lengths.max()) if len(codes) else 6
    derived = {column: codes.str[:length].where(lengths >= length)
               for column, length in _HIERARCHY.items() if length <= finest}
    for column, values in derived.items():
        _check_agrees(frame, column, values)
    return frame.assign(**derived)


def _check_agrees(frame: pd.DataFrame, column: str, derived: pd.Series) -> None:
    """Raise CodeError when ``frame`` already has ``column`` and it disagrees with the derived codes."""
    if column not in frame.columns:
        return
    given = frame[column]
    differs = given.notna() & derived.notna() & (given.astype("str") != derived)
    if differs.any():
        first = _first(differs)
        raise CodeError(f"{column} {given.iloc[first]!r} disagrees with the code, which gives "
                        f"{derived.iloc[first]!r}", record=f"row {first + 1}",
                        fix=f"correct the code or drop the {column} column")


def read_division_codes(path: str | os.PathLike) -> pd.DataFrame:
    r"""Read a table of statistical division codes into one frame ``code, name, level, parent_code``.

    Reads the National Bureau of Statistics tables as packaged by china-division (``provinces.csv``,
    ``cities.csv``, ``areas.csv``, ``streets*.csv``, ``villages*.csv[.gz]``), the padded 12-digit
    adcode table (columns ``code, parent, name, level``) and any CSV with ``code`` and ``name``
    columns (or their aliases in :data:`gridmap.schema.COLUMN_ALIASES`). Codes come back as strings;
    ``level`` follows from the code length; ``parent_code`` from the code, checked against the file's
    parent column when it has one.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV file, optionally gzip-compressed, in UTF-8 or GB18030.

    Returns
    -------
    pandas.DataFrame
        Columns ``code``, ``name``, ``level``, ``parent_code`` (NA for provinces).

    Raises
    ------
    ReadError
        When the file is missing or not a readable CSV.
    SchemaError
        When it has no code or no name column.
    CodeError
        When a code is malformed or its parent column disagrees with the code.

    Examples
    --------
    >>> import io
    >>> text = io.StringIO("code,name,streetCode\n450102001003,兴宁社区居委会,450102001\n")
    >>> read_division_codes(text)
               code     name      level parent_code
    0  450102001003  兴宁社区居委会  community   450102001
    """
    raw = _read_csv(path)
    renamed = _standard_columns(raw, path)
    table = _unpad(renamed)
    codes = table["code"]
    bad = ~codes.str.fullmatch(r"[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}").fillna(False).astype(bool)
    if bad.any():
        first = _first(bad)
        raise CodeError(f"code {codes.iloc[first]!r} is not a 2-, 4-, 6-, 9- or 12-digit division code",
                        path=_name(path), record=f"row {first + 1}", fix="correct or drop the row")
    derived = _parent_codes(codes)
    if "parent_code" in table.columns:
        _check_parent_column(table["parent_code"], derived, path)
    levels = codes.str.len().map(_LEVEL_BY_LENGTH)
    return pd.DataFrame({"code": codes, "name": table["name"], "level": levels.astype("str"),
                         "parent_code": derived})


def _name(path) -> str | None:
    return os.fspath(path) if isinstance(path, (str, os.PathLike)) else None


def _read_csv(path) -> pd.DataFrame:
    """Read every column as text, trying UTF-8 then GB18030 (common in Chinese files)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            if hasattr(path, "seek"):
                path.seek(0)
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding=encoding)
        except UnicodeDecodeError:
            continue
        except FileNotFoundError as err:
            raise ReadError("file not found", path=_name(path), fix="check the path") from err
        except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, EOFError) as err:
            raise ReadError(f"not a readable CSV table ({err})", path=_name(path),
                            fix="give a CSV file (optionally .gz) of division codes") from err
    raise ReadError("text is neither UTF-8 nor GB18030", path=_name(path), fix="save the file as UTF-8")


def _standard_columns(raw: pd.DataFrame, path) -> pd.DataFrame:
    """Return ``code``, ``name``, optional ``level`` and the immediate ``parent_code`` column."""
    table = raw.rename(columns=alias_renames(raw.columns, dict.fromkeys(("code", "name", "level"), ())))
    missing = [c for c in ("code", "name") if c not in table.columns]
    if missing:
        raise SchemaError(f"no {' and no '.join(missing)} column (columns: {list(raw.columns)})",
                          path=_name(path), fix="give a table with columns code and name")
    table = table[[c for c in ("code", "name", "level") if c in table.columns]].copy()
    parent_column = next((c for c in _PARENT_COLUMNS if c in raw.columns), None)
    if parent_column is not None:
        table["parent_code"] = raw[parent_column]
    return table


def _unpad(table: pd.DataFrame) -> pd.DataFrame:
    """Cut codes padded to 12 digits (adcode table: 450100000000 = city 4501) to their level's length."""
    if "level" not in table.columns or not table["level"].isin(list(STATISTICAL_LEVELS)).all():
        return table
    lengths = table["level"].map(STATISTICAL_LEVELS)
    parent_lengths = lengths.map(_PARENT_LENGTH.get).astype("Int64")
    cut = table.assign(code=[code[:n] for code, n in zip(table["code"], lengths, strict=True)])
    if "parent_code" in table.columns:
        parents = [None if pd.isna(n) or pd.isna(p) else p[:n]
                   for p, n in zip(table["parent_code"], parent_lengths, strict=True)]
        cut["parent_code"] = pd.Series(parents, index=table.index, dtype="str")
    return cut


def _check_parent_column(given: pd.Series, derived: pd.Series, path) -> None:
    """Raise CodeError when the file's parent column contradicts the code prefixes."""
    differs = given.notna() & derived.notna() & (given != derived)
    if differs.any():
        first = _first(differs)
        raise CodeError(f"parent code {given.iloc[first]!r} is not the prefix {derived.iloc[first]!r} "
                        "of the code", path=_name(path), record=f"row {first + 1}",
                        fix="correct the code or its parent code")


def _first(mask: pd.Series) -> int:
    """Position of the first True value of ``mask``."""
    return int(np.flatnonzero(mask.to_numpy(dtype=bool))[0])
