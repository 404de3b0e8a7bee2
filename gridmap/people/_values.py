"""Values of the people tables: codes as text, yes/no flags, whole and positive numbers, each checked.

Bad values raise :class:`~gridmap.errors.SchemaError` naming the file, the record (as
:func:`gridmap.io.record_labels` names it) and the fix; the checks are vectorised (one pass per column).

Examples
--------
>>> import pandas as pd
>>> codes_as_text(pd.Series([450102001003001.0, " G1 ", None])).tolist()
['450102001003001', 'G1', None]
>>> flags(pd.Series(["是", "否", None, True]), column="party_member").tolist()
[True, False, <NA>, True]
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.cases.gridindex import checked_grids
from gridmap.errors import SchemaError
from gridmap.findings import Report
from gridmap.io import record_labels
from gridmap.io.read import SOURCE
from gridmap.schema import closest_word, model_columns, vocabulary_key

__all__ = ["codes_as_text", "code_column", "or_none", "flags", "numbers", "source_of", "grid_frame",
           "report_unknown_kinds", "FLAG_WORDS"]

#: Words read as yes and no in a flag column (party membership 是否党员, a new compound 是否新建); compared
#: after :func:`gridmap.schema.vocabulary_key`. A probationary member (预备党员) is a party member.
FLAG_WORDS = {
    **dict.fromkeys(("是", "有", "yes", "y", "true", "t", "1", "√", "✓", "党员", "中共党员", "预备党员",
                     "中共预备党员", "新建"), True),
    **dict.fromkeys(("否", "无", "no", "n", "false", "f", "0", "×", "✗", "群众", "非党员", "共青团员",
                     "团员"), False),
}


def grid_frame(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Check the grids (unique text codes, polygons, CRS); return ``code``, ``community_code``, geometry."""
    checked_grids(grids)
    frame = model_columns(grids, "grids")[0]
    return gpd.GeoDataFrame({"code": frame["code"].astype(str).to_numpy(),
                             "community_code": code_column(frame, "community_code").to_numpy()},
                            geometry=frame.geometry.to_numpy(), crs=frame.crs)


def report_unknown_kinds(frame: pd.DataFrame, report: Report, *, words: Mapping[str, str], what: str,
                         records: pd.Series, fix: str) -> pd.DataFrame:
    """Report the rows of unknown kind (``kind`` NA), naming the closest word; return the others."""
    unknown = frame["kind"].isna()
    for label, given, record in zip(record_labels(frame)[unknown], frame.loc[unknown, "kind_given"],
                                    records[unknown], strict=True):
        closest = closest_word(given, words)
        hint = f"; the closest is {closest!r}" if closest else ""
        report.add("unknown_kind", f"{label}: kind {given!r} is not {what}{hint}", record=record, row=label,
                   fix=fix)
    return frame[~unknown]


def source_of(frame: pd.DataFrame) -> str | None:
    """Return the file a frame was read from (``frame.attrs``), None for a frame made in Python."""
    return frame.attrs.get(SOURCE)


def _code(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


def codes_as_text(values: pd.Series) -> pd.Series:
    """Return codes as stripped text (a spreadsheet's ``101.0`` as ``101``), missing values as None."""
    unique = pd.unique(values.astype(object))
    lookup = {value: _code(value) for value in unique if not (isinstance(value, float) and np.isnan(value))}
    return pd.Series([lookup.get(v) for v in values.astype(object)], index=values.index, dtype=object)


def code_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return ``frame[column]`` as :func:`codes_as_text`, or a column of None when the frame has none."""
    if column in frame.columns:
        return codes_as_text(frame[column])
    return pd.Series(None, index=frame.index, dtype=object)


def or_none(values: pd.Series) -> pd.Series:
    """Return ``values`` as objects with None for every missing value (NaN, NA)."""
    return values.astype(object).where(values.notna(), None)


def flags(values: pd.Series, *, column: str, frame: pd.DataFrame | None = None) -> pd.Series:
    """Return a yes/no column as pandas ``boolean`` (NA when blank): True/False, 是/否, 1/0, 党员/群众 ….

    Raises
    ------
    SchemaError
        A value that is neither a yes nor a no word, naming its record.
    """
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    words = values.astype(object)
    keys = {v: vocabulary_key(str(v)) for v in pd.unique(words) if not _missing(v)}
    result = pd.Series([None if _missing(v) else FLAG_WORDS.get(keys[v]) for v in words], index=values.index,
                       dtype=object)
    bad = result.isna() & ~words.map(_missing).astype(bool)
    if bad.any():
        where = frame if frame is not None else values.to_frame()
        first = bad.to_numpy().nonzero()[0][0]
        raise SchemaError(f"{column} {words.iloc[first]!r} is neither yes nor no "
                          f"({int(bad.sum())} such values)",
                          path=source_of(where), record=record_labels(where).iloc[first],
                          fix=f"write 是/否 (or true/false, 1/0) in column {column!r}, blank when unknown")
    return result.astype("boolean")


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def numbers(values: pd.Series, *, column: str, frame: pd.DataFrame, whole: bool, low: float, high: float,
            unit: str = "") -> pd.Series:
    """Return a numeric column as floats (NaN when blank), each in ``(low, high]`` and whole if asked.

    ``low`` is excluded when positive numbers are required (a floor area) and included at 0 for counts
    (``whole=True``: 0 members is a count).

    Raises
    ------
    SchemaError
        Text that is no number, a fraction where a whole number is needed, a number out of range; the
        message names the first such record and how many there are.
    """
    raw = values.astype(object)
    text = raw.map(lambda v: unicodedata.normalize("NFKC", v).replace(",", "").strip() if isinstance(v, str)
                   else v)
    number = pd.to_numeric(text.map(lambda v: None if _missing(v) else v), errors="coerce").astype("float64")
    blank = raw.map(_missing).astype(bool).to_numpy()
    value = number.to_numpy()
    problems = [
        (~blank & np.isnan(value), "is not a number"),
        (~np.isfinite(value) & ~np.isnan(value), "is not a finite number"),
        (np.isfinite(value) & (value < low if whole else value <= low),
         ("is negative" if low == 0 else f"is below {low:g}") if whole else f"is not above {low:g}{unit}"),
        (np.isfinite(value) & (value > high), f"is larger than {high:,.0f}{unit}, no plausible value"),
    ]
    if whole:
        fraction = np.mod(value, 1, where=np.isfinite(value), out=np.zeros_like(value))
        problems.append((fraction != 0, "is not a whole number"))
    for mask, reason in problems:
        if mask.any():
            first = int(mask.nonzero()[0][0])
            allowed = (f"whole numbers from {low:g} to {high:,.0f}" if whole
                       else f"numbers above {low:g} and at most {high:,.0f}{unit}")
            raise SchemaError(f"{column} {raw.iloc[first]!r} {reason} ({int(mask.sum())} such values)",
                              path=source_of(frame), record=record_labels(frame).iloc[first],
                              fix=f"enter {allowed} in column {column!r} (blank when unknown)")
    return number
