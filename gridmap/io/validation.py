"""Validation and repair of input layers: admin units and base units.

Each function returns the normalised layer (a new GeoDataFrame; the input is never changed) and a
:class:`gridmap.findings.Report` with one finding per problem. Records are named as the file they were read
from numbers them (:func:`gridmap.io.record_labels`: ``row 4`` of a CSV or sheet, as the spreadsheet shows
it, ``feature 3`` of a GeoJSON, the same as the readers' own messages), or ``row N`` counted from 1 for a
layer made in memory, followed by their code or id, e.g. ``row 4 (450102001003)``. Findings and errors
name the file the reader recorded in ``frame.attrs`` unless ``path=`` names another. Given values
are never overwritten: a value that disagrees with the code is reported and kept. With ``strict=True``
the first error (by row) is raised instead, as the :class:`gridmap.errors.GridmapError` subclass below;
strict mode also refuses to repair invalid geometries.

Checks (the stable names in the report's ``check`` column):

==================  ========  =============  ==========================================================
check               severity  strict raises  meaning
==================  ========  =============  ==========================================================
empty_geometry      error     GeometryError  no geometry, or an empty one (the record is kept)
invalid_geometry    warning   GeometryError  invalid geometry repaired with shapely.make_valid; reason
                                             and ``area_before_m2``/``area_after_m2``/``area_change_m2``
zero_area           error     GeometryError  a polygon that collapses to no area when repaired (kept)
mixed_geometry      warning   —              a record whose geometry type differs from the layer's
geometry_type       error     GeometryError  a geometry type the layer does not allow
renamed_column      info      —              a header alias renamed to the model column (户数→households)
translated_value    info      —              a level or kind given in Chinese or other words, translated
code_as_number      warning   —              a code column read as numbers, turned into text
code_digits         error     CodeError      a missing code, or one with characters other than digits
code_length         error     CodeError      a code of the wrong number of digits for its level
duplicate_code      error     CodeError      a code that more than one record has
derived_level       info      —              ``level`` filled from the code length
derived_parent      info      —              ``parent_code`` filled from the code
derived_kind        info      —              ``kind`` of communities filled from the village digits
level_mismatch      error     CodeError      the given level disagrees with the code length
parent_mismatch     error     CodeError      the given parent code is not the prefix of the code
unknown_parent      error     CodeError      the parent code is absent from the parent layer
unknown_level       error     SchemaError    a level that is not district, street or community
kind_mismatch       warning   —              the given community kind disagrees with the village digits
unknown_kind        error     SchemaError    a missing kind, or one gridmap does not know
generated_id        info      —              a missing unit_id generated as "U" + its position (1, 2, ...)
duplicate_id        error     SchemaError    a unit_id that more than one record has
count_value         error     SchemaError    a count that is not a whole number
negative_count      error     SchemaError    a negative count
absurd_count        error     SchemaError    an implausible count (see MAX_HOUSEHOLDS, MAX_POPULATION)
==================  ========  =============  ==========================================================

A layer that lacks a required column raises :class:`gridmap.errors.SchemaError` (``missing_column``)
whatever ``strict`` says, naming the column and the headers accepted for it.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Polygon
>>> bow_tie = Polygon([(108.30, 22.80), (108.31, 22.81), (108.31, 22.80), (108.30, 22.81)])
>>> layer = gpd.GeoDataFrame({"code": ["450102001"], "name": ["民生街道"]}, geometry=[bow_tie], crs=4490)
>>> fixed, report = validate_admin(layer)
>>> fixed[["code", "level", "parent_code"]]
        code   level parent_code
0  450102001  street      450102
>>> report.summary()
'admin layer: OK (derived_level 1, derived_parent 1, invalid_geometry 1)'
>>> print(report.to_frame()["message"].iloc[-1])
invalid geometry (Self-intersection[108.305 22.805]) repaired: area 0 m² -> 568,500 m². Fix: ...
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.crs import metric_crs
from gridmap.errors import CodeError, GeometryError, GridmapError, SchemaError
from gridmap.findings import Report
from gridmap.io.admin import _community_kinds, _parent_codes
from gridmap.io.read import SOURCE, record_labels
from gridmap.schema import (
    CODE_LENGTHS,
    COLUMN_ALIASES,
    COMMUNITY_KIND_WORDS,
    COMMUNITY_KINDS,
    COUNT_COLUMNS,
    LEVEL_WORDS,
    LEVELS,
    UNIT_KIND_WORDS,
    UNIT_KINDS,
    alias_renames,
    closest_word,
    unit_kind,
    vocabulary_key,
)

__all__ = ["repair_geometries", "validate_admin", "validate_units", "require_polygons", "MAX_HOUSEHOLDS",
           "MAX_POPULATION"]

#: More households than this in one base unit is reported as absurd (the largest compounds hold ~10,000).
MAX_HOUSEHOLDS = 20_000
#: More people than this in one base unit is reported as absurd.
MAX_POPULATION = 100_000

_ERROR_CLASS: dict[str, type[GridmapError]] = {
    **dict.fromkeys(("empty_geometry", "invalid_geometry", "zero_area", "geometry_type"), GeometryError),
    **dict.fromkeys(("code_digits", "code_length", "duplicate_code", "level_mismatch", "parent_mismatch",
                     "unknown_parent"), CodeError),
}
_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 4: "MultiPoint", 5: "MultiLineString",
               7: "GeometryCollection"}
_FAMILY = {0: "point", 4: "point", 1: "line", 2: "line", 5: "line", 3: "polygon", 6: "polygon",
           7: "collection"}


class _Finding(NamedTuple):
    """One problem before it goes into a report (or is raised in strict mode)."""

    row: int
    check: str
    problem: str
    record: str | None
    fix: str | None = None
    severity: str = "error"
    refuse: bool = False  # strict mode raises on it even though it is not an error (a refused repair)
    strict_fix: str | None = None  # the fix to name when strict mode raises, if not ``fix``
    extra: dict[str, Any] | None = None


def repair_geometries(
    frame: gpd.GeoDataFrame, *, strict: bool = False, path: str | os.PathLike | None = None,
    id_column: str | None = None,
) -> tuple[gpd.GeoDataFrame, Report]:
    """Repair invalid geometries and report empty, collapsed and odd-typed ones.

    Invalid geometries are repaired with :func:`shapely.make_valid`; a repaired polygon keeps only its
    polygonal part. Empty or missing geometries and polygons that collapse to no area are reported as
    errors and left as they are: the caller decides. Records whose geometry family (point, line,
    polygon) differs from most of the layer are reported as ``mixed_geometry``.

    Parameters
    ----------
    frame : GeoDataFrame
        Any layer.
    strict : bool, default False
        Raise :class:`~gridmap.errors.GeometryError` at the first bad record instead of repairing.
    path : str or os.PathLike, optional
        The file the layer came from, named in findings and errors (default: the file
        :func:`gridmap.io.read_layer` read it from).
    id_column : str, optional
        A column whose value names each record besides its label (row or feature).

    Returns
    -------
    (GeoDataFrame, Report)
        The layer with repaired geometries, and the findings.

    Examples
    --------
    >>> from shapely import Polygon
    >>> bow_tie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> layer = gpd.GeoDataFrame({"name": ["a"]}, geometry=[bow_tie], crs=3857)
    >>> fixed, report = repair_geometries(layer)
    >>> fixed.geometry.iloc[0].geom_type, float(fixed.area.iloc[0])
    ('MultiPolygon', 2.0)
    >>> report.to_frame().loc[0, "message"]
    'invalid geometry (Self-intersection[1 1]) repaired: area 0 m² -> 2 m²...'
    """
    path = _source(frame, path)
    _require_geometry(frame, path)
    table = frame.reset_index(drop=True)
    geometry, findings = _geometry_findings(table, _record_names(table, id_column, record_labels(frame)))
    report = _finish(Report(_title("geometries", path)), findings, strict=strict, path=path)
    return _result(table, geometry, frame.index), report


def validate_admin(
    frame: gpd.GeoDataFrame, *, level: str | None = None, parents: pd.DataFrame | None = None,
    strict: bool = False, path: str | os.PathLike | None = None,
) -> tuple[gpd.GeoDataFrame, Report]:
    """Check and normalise an admin layer (districts, streets or communities).

    Checks the codes (digits, length for the level, duplicates), the parent codes (prefix of the code,
    present in ``parents``), the level and kind columns, and the geometries (polygons, repaired with
    :func:`repair_geometries`). Fills ``level`` from the code length, ``parent_code`` from the code and
    the ``kind`` of communities from the village digits where they are absent; given values that
    disagree are reported and kept.

    Parameters
    ----------
    frame : GeoDataFrame
        Columns ``code`` and ``name`` (or their aliases), optional ``level``, ``parent_code``, ``kind``.
    level : {"district", "street", "community"}, optional
        The level every record must have; by default each code's length gives its level.
    parents : DataFrame, optional
        The layer above (or a table from :func:`gridmap.io.admin.read_division_codes`): every parent code
        must be one of its ``code`` values.
    strict : bool, default False
        Raise the first error instead of reporting it (CodeError for codes, GeometryError for
        geometries, SchemaError for values).
    path : str or os.PathLike, optional
        The file the layer came from, named in findings and errors (default: the file
        :func:`gridmap.io.read_layer` read it from).

    Returns
    -------
    (GeoDataFrame, Report)
        The normalised layer and the findings.

    Raises
    ------
    SchemaError
        When ``code`` or ``name`` is missing (always), or ``parents`` has no ``code`` column.

    Examples
    --------
    >>> from shapely import box
    >>> layer = gpd.GeoDataFrame({"区划代码": ["450102001003", "450102001203"], "名称": ["兴宁社区", "某村"]},
    ...                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)
    >>> fixed, report = validate_admin(layer, level="community")
    >>> fixed[["code", "kind", "parent_code"]]
               code   kind parent_code
    0  450102001003  urban   450102001
    1  450102001203  rural   450102001
    >>> report.ok
    True
    """
    if level is not None and level not in LEVELS:
        raise GridmapError(f"level={level!r} is not a division level",
                           fix=f"pass level= one of {', '.join(map(repr, LEVELS))}, or None")
    path = _source(frame, path)
    _require_geometry(frame, path)
    table, findings = _renamed(frame.reset_index(drop=True), ("code", "name", "level", "parent_code", "kind"))
    _require_columns(table, ("code", "name"), path)
    codes, more = _code_text(table["code"], "code")
    findings += more
    labels = record_labels(frame)
    records = _record_names(table.assign(code=codes), "code", labels)
    good, more = _code_format(codes, records, lengths=_lengths(level), column="code")
    findings += more + _duplicates(codes, records, labels, "duplicate_code", "code")
    filled = {"level": _levels(table, codes, good, records, findings)}
    filled["parent_code"] = _parents(table, codes, good, records, findings)
    if parents is not None:
        findings += _unknown_parents(filled["parent_code"], good, parents, records, path)
    filled["kind"] = _community_kind_column(table, codes, good & (filled["level"] == "community"),
                                            records, findings)
    geometry, more = _geometry_findings(table, records, allowed=("polygon",))
    findings += more
    report = _finish(Report(_title("admin layer", path)), findings, strict=strict, path=path)
    return _result(table.assign(code=codes, **filled), geometry, frame.index), report


def validate_units(
    frame: gpd.GeoDataFrame, *, strict: bool = False, path: str | os.PathLike | None = None,
) -> tuple[gpd.GeoDataFrame, Report]:
    """Check and normalise a layer of base units (compounds, natural villages, dedicated sites).

    Translates kinds given in Chinese (小区, 自然村/屯, 写字楼, 园区, 市场, 学校, 医院 …) to
    :data:`gridmap.schema.UNIT_KINDS`; checks that households, population and buildings are whole,
    non-negative and plausible (households ≤ :data:`MAX_HOUSEHOLDS`, population ≤
    :data:`MAX_POPULATION` and at least half the households); that unit ids are unique (missing ones
    become ``"U"`` + their position, 1, 2, ...); that ``community_code``, when given, has 12 digits; and that
    geometries are points or polygons (repaired with :func:`repair_geometries`).

    Parameters
    ----------
    frame : GeoDataFrame
        Columns ``name`` and ``kind`` (or their aliases), optional ``unit_id``, ``households``,
        ``population``, ``buildings``, ``community_code``.
    strict : bool, default False
        Raise the first error instead of reporting it.
    path : str or os.PathLike, optional
        The file the layer came from, named in findings and errors (default: the file
        :func:`gridmap.io.read_layer` read it from).

    Returns
    -------
    (GeoDataFrame, Report)
        The normalised layer (counts as nullable integers when they are all whole numbers) and the
        findings.

    Examples
    --------
    >>> from shapely import Point
    >>> layer = gpd.GeoDataFrame({"名称": ["翠竹苑", "那坡屯"], "类型": ["小区", "屯"], "户数": [420, -3]},
    ...                          geometry=[Point(108.3, 22.8), Point(108.4, 22.9)], crs=4326)
    >>> units, report = validate_units(layer)
    >>> units[["unit_id", "kind", "households"]]
      unit_id             kind  households
    0      U1         compound         420
    1      U2  natural_village          -3
    >>> errors = report.to_frame().query("severity == 'error'")
    >>> print(*errors["check"] + ", " + errors["record"] + ": " + errors["message"])
    negative_count, row 2 (U2): households is negative (-3). Fix: give the households count, 0 or more.
    """
    path = _source(frame, path)
    _require_geometry(frame, path)
    table, findings = _renamed(frame.reset_index(drop=True),
                               ("unit_id", "name", "kind", *COUNT_COLUMNS, "community_code"))
    _require_columns(table, ("name", "kind"), path)
    labels = record_labels(frame)
    ids = _unit_ids(table, labels, findings)
    records = _record_names(table.assign(unit_id=ids), "unit_id", labels)
    findings += _duplicates(ids, records, labels, "duplicate_id", "unit_id")
    kinds, more = _translated(table["kind"], unit_kind, "kind")
    findings += more + _unknown_kinds(kinds, records)
    normalised = {"unit_id": ids, "kind": kinds}
    for column in (c for c in COUNT_COLUMNS if c in table.columns):
        normalised[column], more = _count_column(table[column], records, column)
        findings += more
    findings += _absurd_counts(normalised, records)
    if "community_code" in table.columns:
        normalised["community_code"], more = _code_text(table["community_code"], "community_code")
        present = normalised["community_code"].notna()
        findings += more + _code_format(normalised["community_code"][present], records[present],
                                        lengths=(12,), column="community_code")[1]
    geometry, more = _geometry_findings(table, records, allowed=("point", "polygon"))
    findings += more
    report = _finish(Report(_title("units", path)), findings, strict=strict, path=path)
    return _result(table.assign(**normalised), geometry, frame.index), report


def require_polygons(frame: gpd.GeoDataFrame, what: str = "grids", *, path: str | os.PathLike | None = None,
                     shown: int = 3) -> None:
    """Refuse a layer whose records are points or lines where areas (grids, communities) are needed.

    Missing and empty geometries are left to the checks that report them by record.

    Parameters
    ----------
    frame : GeoDataFrame
        The layer.
    what : str, default "grids"
        What the layer holds, for the message.
    path : str or os.PathLike, optional
        The file it came from (default: the file :func:`gridmap.io.read_layer` read it from).
    shown : int, default 3
        How many of the wrong records the message names.

    Raises
    ------
    GeometryError
        Some records are not Polygon or MultiPolygon; the message names the file and the first records.

    Examples
    --------
    >>> from shapely import LineString, box
    >>> layer = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1), LineString([(0, 0), (1, 1)])])
    >>> try:
    ...     require_polygons(layer)
    ... except GeometryError as error:
    ...     print(error.record, "|", error.problem)
    row 2 (a LineString) | 1 of 2 grids are not polygons
    """
    _require_geometry(frame, _source(frame, path))
    geoms = frame.geometry.to_numpy()
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    wrong = present & ~np.isin(shapely.get_type_id(geoms), (3, 6))
    if not wrong.any():
        return
    labels = record_labels(frame).to_numpy()[wrong]
    types = shapely.get_type_id(geoms[wrong])
    names = [f"{label} (a {_TYPE_NAMES[kind]})"
             for label, kind in zip(labels[:shown], types[:shown], strict=True)]
    more = f" and {int(wrong.sum()) - shown} more" if wrong.sum() > shown else ""
    raise GeometryError(f"{int(wrong.sum())} of {len(frame)} {what} are not polygons",
                        path=_source(frame, path),
                        record=", ".join(names) + more,
                        fix=f"give the {what} as polygons (areas); an outline drawn as a line can be closed "
                            "into a polygon in QGIS (Vector > Geometry Tools > Lines to Polygons), points "
                            "cannot")


# --- reporting -----------------------------------------------------------------------------------------


def _title(what: str, path) -> str:
    return what if path is None else f"{what} ({os.fspath(path)})"


def _finish(report: Report, findings: list[_Finding], *, strict: bool, path) -> Report:
    """Raise the first refused finding (strict) or add all findings to ``report``."""
    if strict:
        refused = [f for f in findings if f.severity == "error" or f.refuse]
        if refused:
            first = min(refused, key=lambda f: f.row)
            raise _ERROR_CLASS.get(first.check, SchemaError)(first.problem, path=path, record=first.record,
                                                             fix=first.strict_fix or first.fix)
    for f in findings:
        message = f.problem if f.fix is None else f"{f.problem}. Fix: {f.fix.rstrip('.')}."
        report.add(f.check, message, record=f.record, severity=f.severity, **(f.extra or {}))
    return report


def _source(frame: pd.DataFrame, path) -> str | os.PathLike | None:
    """Return the file to name in findings: the caller's ``path``, else the one the reader recorded."""
    return path if path is not None else frame.attrs.get(SOURCE)


def _record_names(table: pd.DataFrame, id_column: str | None, labels: pd.Series) -> pd.Series:
    """Name records by their label (``row 3``, as the file numbers them) and their id when they have one."""
    rows = pd.Series(labels.to_numpy(), index=table.index, dtype=object)
    if id_column is None or id_column not in table.columns:
        return rows
    ids = table[id_column]
    return rows.where(ids.isna(), rows + " (" + ids.astype(str) + ")")


def _rows(mask: pd.Series) -> list[int]:
    """Labels of the True rows of ``mask``: row positions, as layers are worked on with a RangeIndex."""
    return [int(i) for i in mask.index[mask.fillna(False).to_numpy(dtype=bool)]]


# --- columns -------------------------------------------------------------------------------------------


def _require_geometry(frame, path) -> None:
    if not isinstance(frame, gpd.GeoDataFrame) or frame.active_geometry_name is None:
        raise SchemaError("the layer has no geometry column", path=path,
                          fix="read it with gridmap's readers or geopandas.read_file, or make a GeoDataFrame")


def _renamed(frame: gpd.GeoDataFrame, wanted: tuple[str, ...]) -> tuple[gpd.GeoDataFrame, list[_Finding]]:
    """Rename header aliases (schema.COLUMN_ALIASES) to the model columns in ``wanted`` that are absent."""
    names = alias_renames(frame.columns, dict.fromkeys(wanted, ()))
    findings = [_Finding(-1, "renamed_column", f"column {old!r} read as {new!r}", None, severity="info")
                for old, new in names.items()]
    return frame.rename(columns=names), findings


def _require_columns(table: pd.DataFrame, required: tuple[str, ...], path) -> None:
    missing = [c for c in required if c not in table.columns]
    if missing:
        accepted = "; ".join(f"{c}: " + ", ".join(a for a, model in COLUMN_ALIASES.items() if model == c)
                             for c in missing)
        raise SchemaError(f"missing_column: the layer has no {' and no '.join(map(repr, missing))} column "
                          f"(columns: {[c for c in table.columns]})", path=path,
                          fix=f"add or rename the column; headers accepted are {accepted}")


def _code_text(values: pd.Series, column: str) -> tuple[pd.Series, list[_Finding]]:
    """Codes as text; whole numbers (a spreadsheet's numeric cells) become digits, with a warning."""
    if values.map(lambda v: isinstance(v, str) or pd.isna(v)).all():
        return values.astype(object), []

    def text(value: Any) -> Any:
        if pd.isna(value) or isinstance(value, str):
            return value
        if isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer()):
            return str(int(value))
        return str(value)

    finding = _Finding(-1, "code_as_number", f"column {column!r} holds numbers; read as text", None,
                       fix="keep codes as text (leading zeros and 12 digits survive only as text)",
                       severity="warning")
    return values.map(text).astype(object), [finding]


def _translated(values: pd.Series, translate, column: str) -> tuple[pd.Series, list[_Finding]]:
    """Apply ``translate`` to each distinct value; report each translation once with its count."""
    mapping = {value: translate(value) for value in values.dropna().unique()}
    findings = [
        _Finding(-1, "translated_value", f"{column} {given!r} read as {model!r} "
                 f"({int((values == given).sum())} records)", None, severity="info")
        for given, model in mapping.items() if model is not None and model != given]
    return values.map(lambda v: mapping.get(v) or v if pd.notna(v) else v).astype(object), findings


def _word(value: Any, words: dict[str, str], allowed: Iterable[str]) -> str | None:
    """Model name for ``value``: itself, a spelling variant or a Chinese word; None if unknown.

    :func:`gridmap.schema.vocabulary_key` compares them.
    """
    if not isinstance(value, str):
        return None
    key = vocabulary_key(value)
    known = {**{vocabulary_key(word): name for word, name in words.items()},
             **{vocabulary_key(name): name for name in allowed}}
    return known.get(key)


def _unknown_values(values: pd.Series, allowed: tuple[str, ...], records: pd.Series,
                    column: str) -> list[_Finding]:
    bad = ~values.isin(allowed)
    return [_Finding(i, f"unknown_{column}", f"{column} {values[i]!r} is not known" if pd.notna(values[i])
                     else f"{column} is missing", records[i], fix=f"use one of {', '.join(allowed)}")
            for i in _rows(bad)]


def _unknown_kinds(kinds: pd.Series, records: pd.Series) -> list[_Finding]:
    """unknown_kind findings naming the accepted kinds and words and the word closest to the one given."""
    words = ", ".join(UNIT_KIND_WORDS)
    findings = _unknown_values(kinds, UNIT_KINDS, records, "kind")
    for n, finding in enumerate(findings):
        closest = closest_word(kinds[finding.row], UNIT_KIND_WORDS)
        hint = f"; the closest is {closest!r} ({UNIT_KIND_WORDS[closest]})" if closest else ""
        findings[n] = finding._replace(fix=f"{finding.fix}, or one of the words {words}{hint}")
    return findings


# --- codes ---------------------------------------------------------------------------------------------


def _lengths(level: str | None) -> tuple[int, ...]:
    return tuple(CODE_LENGTHS[name] for name in (LEVELS if level is None else (level,)))


def _code_format(codes: pd.Series, records: pd.Series, *, lengths: tuple[int, ...],
                 column: str) -> tuple[pd.Series, list[_Finding]]:
    """Mask of well-formed codes and the findings for the others (code_digits, code_length)."""
    text = codes.astype("str")
    digits = codes.notna() & text.str.fullmatch(r"[0-9]+").fillna(False).astype(bool)
    right_length = text.str.len().isin(lengths)
    expected = " or ".join(f"{n}" for n in lengths)
    findings = [_Finding(i, "code_digits", f"{column} {codes[i]!r} is not made of digits"
                         if pd.notna(codes[i]) else f"{column} is missing", records[i],
                         fix=f"give a code of {expected} digits")
                for i in _rows(~digits)]
    findings += [_Finding(i, "code_length", f"{column} {codes[i]!r} has {len(codes[i])} digits, "
                          f"a {_level_names(lengths)} code has {expected}", records[i],
                          fix=f"give the {expected}-digit code")
                 for i in _rows(digits & ~right_length)]
    return digits & right_length, findings


def _level_names(lengths: tuple[int, ...]) -> str:
    names = {length: level for level, length in CODE_LENGTHS.items()}
    return "/".join(names[n] for n in lengths)


def _duplicates(ids: pd.Series, records: pd.Series, labels: pd.Series, check: str,
                column: str) -> list[_Finding]:
    dup = ids.notna() & ids.duplicated(keep=False)
    where: dict[Any, list[str]] = {}
    for i in _rows(dup):
        where.setdefault(ids[i], []).append(labels.iloc[i])
    return [_Finding(i, check, f"{column} {ids[i]!r} appears in {_listed(where[ids[i]])}",
                     records[i], fix=f"give every record its own {column}")
            for i in _rows(dup)]


def _listed(labels: list[str]) -> str:
    """``rows 2, 4`` for ``row 2`` and ``row 4`` (labels share their word: all come from one numbering)."""
    word = labels[0].split(" ")[0]
    return f"{word}s " + ", ".join(label.split(" ", 1)[1] for label in labels)


def _levels(table, codes, good, records, findings: list[_Finding]) -> pd.Series:
    """Return the level column: given values (translated) checked against the code, absent ones derived."""
    derived = codes.where(good).str.len().map({n: lvl for lvl, n in CODE_LENGTHS.items()})
    if "level" not in table.columns:
        findings.append(_Finding(-1, "derived_level", "column 'level' derived from the code lengths", None,
                                 severity="info"))
        return derived.astype(object)
    given, more = _translated(table["level"], lambda v: _word(v, LEVEL_WORDS, LEVELS), "level")
    findings += more
    present = given.notna()
    findings += _unknown_values(given[present], LEVELS, records[present], "level")
    disagree = present & good & given.isin(LEVELS) & (given != derived)
    findings += [_Finding(i, "level_mismatch", f"level {given[i]!r} disagrees with code {codes[i]!r}, "
                          f"a {derived[i]} code", records[i],
                          fix=f"set level to {derived[i]!r} or correct the code")
                 for i in _rows(disagree)]
    _note_filled(findings, ~present & good, "level", "the code lengths")
    return given.where(present, derived).astype(object)


def _note_filled(findings: list[_Finding], filled: pd.Series, column: str, source: str) -> None:
    if filled.any():
        findings.append(_Finding(-1, f"derived_{column.removesuffix('_code')}",
                                 f"{int(filled.sum())} empty {column} values derived from {source}", None,
                                 severity="info"))


def _parents(table, codes, good, records, findings: list[_Finding]) -> pd.Series:
    """Return the parent_code column: given values checked against the code, absent ones derived."""
    derived = _parent_codes(codes.where(good).astype("str")).astype(object)
    if "parent_code" not in table.columns:
        findings.append(_Finding(-1, "derived_parent", "column 'parent_code' derived from the codes", None,
                                 severity="info"))
        return derived
    given, more = _code_text(table["parent_code"], "parent_code")
    findings += more
    present = given.notna()
    disagree = present & good & (given != derived)
    findings += [_Finding(i, "parent_mismatch", _parent_problem(codes[i], given[i], derived[i]), records[i],
                          fix=f"set parent_code to {derived[i]!r}, or correct code {codes[i]!r}")
                 for i in _rows(disagree)]
    _note_filled(findings, ~present & good, "parent_code", "the codes")
    return given.where(present, derived)


def _parent_problem(code: str, given: Any, derived: str) -> str:
    if isinstance(given, str) and code.startswith(given):
        return (f"parent_code {given!r} of code {code!r} is not the level directly above "
                f"({len(derived)} digits)")
    return f"code {code!r} does not start with its parent_code {given!r}"


def _unknown_parents(parent_codes, good, parents, records, path) -> list[_Finding]:
    if "code" not in parents.columns:
        raise SchemaError("the parent layer has no 'code' column", path=path,
                          fix="pass the layer above (with its codes in 'code') as parents")
    known = set(_code_text(parents["code"], "code")[0].dropna())
    missing = good & parent_codes.notna() & ~parent_codes.isin(known)
    return [_Finding(i, "unknown_parent", f"parent_code {parent_codes[i]!r} is not in the parent layer",
                     records[i], fix="add the parent unit to the parent layer or correct the code")
            for i in _rows(missing)]


def _community_kind_column(table, codes, communities, records, findings: list[_Finding]) -> pd.Series:
    """Return the kind column: derived for communities from the village digits, given values checked."""
    derived = pd.Series(None, index=table.index, dtype=object)
    if communities.any():
        derived[communities] = _community_kinds(codes[communities].astype("str"))
    if "kind" not in table.columns:
        _note_filled(findings, communities, "kind", "the village digits (001-199 urban, 200-399 rural)")
        return derived
    allowed = COMMUNITY_KINDS
    given, more = _translated(table["kind"], lambda v: _word(v, COMMUNITY_KIND_WORDS, allowed), "kind")
    present = given.notna()
    checked = present & communities
    findings += more + _unknown_values(given[checked], allowed, records[checked], "kind")
    disagree = present & communities & given.isin(allowed) & (given != derived)
    findings += [_Finding(i, "kind_mismatch", f"kind {given[i]!r} disagrees with code {codes[i]!r}, whose "
                          f"village digits make it {derived[i]!r}", records[i], severity="warning",
                          fix=f"check the kind; the statistical code says {derived[i]!r}")
                 for i in _rows(disagree)]
    _note_filled(findings, ~present & communities, "kind", "the village digits")
    return given.where(present, derived)


# --- unit values -----------------------------------------------------------------------------------------


def _unit_ids(table, labels: pd.Series, findings: list[_Finding]) -> pd.Series:
    """unit_id as text; missing ids become "U" + their position."""
    generated = pd.Series([f"U{n}" for n in range(1, len(table) + 1)], index=table.index, dtype=object)
    if "unit_id" not in table.columns:
        findings.append(_Finding(-1, "generated_id", "no unit_id column: ids U1, U2, ... generated from row "
                                 "numbers", None, severity="info"))
        return generated
    ids, more = _code_text(table["unit_id"], "unit_id")
    findings += more
    findings += [_Finding(i, "generated_id", f"no unit_id: {generated[i]} generated", labels.iloc[i],
                          severity="info") for i in _rows(ids.isna())]
    return ids.where(ids.notna(), generated)


def _count_column(values: pd.Series, records: pd.Series, column: str) -> tuple[pd.Series, list[_Finding]]:
    """Return counts (nullable integers when all are whole) and count_value, negative_count findings."""
    numbers = pd.to_numeric(values, errors="coerce")
    whole = numbers.notna() & (numbers % 1 == 0)
    bad = values.notna() & ~whole
    findings = [_Finding(i, "count_value", f"{column} {values[i]!r} is not a whole number", records[i],
                         fix=f"give {column} as a whole number (or leave it empty)") for i in _rows(bad)]
    findings += [_Finding(i, "negative_count", f"{column} is negative ({numbers[i]:g})", records[i],
                          fix=f"give the {column} count, 0 or more") for i in _rows(numbers < 0)]
    return (values if bad.any() else numbers.astype("Int64")), findings


def _absurd_counts(counts: dict[str, pd.Series], records: pd.Series) -> list[_Finding]:
    """Return absurd_count findings: too many households or people, or fewer people than households / 2."""
    nan = pd.Series(np.nan, index=records.index)
    hh, pop = (pd.to_numeric(counts.get(c, nan), errors="coerce").astype(float)
               for c in ("households", "population"))
    split = "check the number, or split the unit into its compounds"
    rules = [
        (hh > MAX_HOUSEHOLDS, lambda i: f"households {hh[i]:,.0f} exceed {MAX_HOUSEHOLDS:,} in a unit",
         split),
        (pop > MAX_POPULATION, lambda i: f"population {pop[i]:,.0f} exceeds {MAX_POPULATION:,} in a unit",
         split),
        ((pop >= 0) & (hh > 0) & (pop < hh / 2),
         lambda i: f"population {pop[i]:,.0f} is less than half the households {hh[i]:,.0f}",
         "check whether the households and population columns are swapped"),
    ]
    return [_Finding(i, "absurd_count", problem(i), records[i], fix=fix)
            for mask, problem, fix in rules for i in _rows(mask)]


# --- geometry ------------------------------------------------------------------------------------------


def _result(table: gpd.GeoDataFrame, geometry: np.ndarray, index: pd.Index) -> gpd.GeoDataFrame:
    """``table`` with ``geometry`` and the caller's index back."""
    out = table.copy()
    out[table.geometry.name] = gpd.GeoSeries(geometry, index=table.index, crs=table.crs)
    out.index = index
    return out


def _geometry_findings(table: gpd.GeoDataFrame, records: pd.Series,
                       allowed: tuple[str, ...] | None = None) -> tuple[np.ndarray, list[_Finding]]:
    """Repair the geometries of ``table``; return them with the findings about them.

    With ``allowed`` families, other families are ``geometry_type`` errors; without, records whose
    family is not the layer's most common are ``mixed_geometry`` warnings.
    """
    geoms = table.geometry.to_numpy().copy()
    family = pd.Series(shapely.get_type_id(geoms), index=table.index).map(_FAMILY)
    present = pd.Series(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms), index=table.index)
    findings = [_Finding(i, "empty_geometry", "the record has no geometry" if geoms[i] is None
                         else "the geometry is empty", records[i], fix="draw the geometry or drop the record")
                for i in _rows(~present)]
    findings += _family_findings(family.where(present), records, allowed)
    ok_type = present & (family.isin(allowed) if allowed else True)
    rows = _rows(ok_type & ~pd.Series(shapely.is_valid(geoms), index=table.index))
    repaired = [_repaired(geoms[i]) for i in rows]
    before, after = _areas_m2(table, geoms[rows], repaired)
    for k, i in enumerate(rows):
        finding = _repair_finding(geoms[i], repaired[k], records[i], i, before[k], after[k])
        if finding.check == "invalid_geometry":
            geoms[i] = repaired[k]
        findings.append(finding)
    return geoms, findings


def _family_findings(family: pd.Series, records: pd.Series,
                     allowed: tuple[str, ...] | None) -> list[_Finding]:
    present = family.notna()
    if allowed is not None:
        return [_Finding(i, "geometry_type", f"the geometry is a {family[i]}; this layer takes "
                         f"{' or '.join(allowed)} geometries", records[i],
                         fix=f"give a {' or '.join(allowed)} geometry or drop the record")
                for i in _rows(present & ~family.isin(allowed))]
    if not present.any():
        return []
    dominant = family[present].mode().iloc[0]
    return [_Finding(i, "mixed_geometry", f"the geometry is a {family[i]} in a layer of {dominant}s",
                     records[i], severity="warning", fix="keep one geometry type per layer")
            for i in _rows(present & (family != dominant))]


def _is_polygonal(geom) -> bool:
    return _FAMILY[shapely.get_type_id(geom)] == "polygon"


def _repaired(geom):
    """Return shapely.make_valid(geom), cut to its polygons (Polygon or MultiPolygon) for a polygon."""
    repaired = shapely.make_valid(geom)
    if not _is_polygonal(geom):
        return repaired
    parts = shapely.get_parts(shapely.get_parts(repaired))
    polygons = [part for part in parts if part.geom_type == "Polygon"]
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def _areas_m2(table: gpd.GeoDataFrame, before: np.ndarray, after: list) -> tuple[np.ndarray, np.ndarray]:
    """Return the areas in m² (metric_crs of the layer) before and after repair; NaN without a CRS."""
    if table.crs is None or not len(before):
        return np.full(len(before), np.nan), np.full(len(before), np.nan)
    both = gpd.GeoSeries([*before, *after], crs=table.crs).to_crs(metric_crs(table)).area.to_numpy()
    return both[:len(before)], both[len(before):]


def _repair_finding(geom, repaired, record: str, row: int, before: float, after: float) -> _Finding:
    """Return the invalid_geometry finding of a repair, or zero_area when a polygon repairs to nothing."""
    reason = shapely.is_valid_reason(geom)
    if _is_polygonal(geom) and (repaired.is_empty or repaired.area == 0):
        return _Finding(row, "zero_area", f"the polygon has no area ({reason})", record,
                        fix="redraw the polygon or drop the record")
    extra: dict[str, Any] = {"reason": reason}
    problem = f"invalid geometry ({reason}) repaired"
    if _is_polygonal(geom):
        extra.update(area_before_m2=before, area_after_m2=after, area_change_m2=after - before)
        problem += f": area {before:,.0f} m² -> {after:,.0f} m²"
    return _Finding(row, "invalid_geometry", problem, record, fix="check the repaired shape, or redraw it",
                    severity="warning", refuse=True, extra=extra,
                    strict_fix="redraw it, or call without strict=True to repair it with shapely.make_valid")
