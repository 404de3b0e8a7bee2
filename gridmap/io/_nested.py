"""Properties that hold objects and lists: the Aliyun DataV atlas layout, and JSON text for the rest.

GeoJSON properties may be objects or lists; GDAL hands them over as Python dicts and lists, which no
code column, check or file format takes. The boundary files most Chinese analysts download, the Aliyun
DataV atlas (``100000_full.json``, ``450100_full.json`` from ``geo.datav.aliyun.com/areas_v3/bound``, and
the copies ECharts examples use), carry such properties::

    {"adcode": 450102, "name": "兴宁区", "level": "district", "parent": {"adcode": 450100},
     "center": [108.32, 22.82], "centroid": [108.39, 22.87], "childrenNum": 6, "subFeatureIndex": 0,
     "acroutes": [100000, 450000, 450100]}

:func:`flatten_properties` reads that layout into the data model: ``adcode`` becomes ``code`` as text, cut
to the length of its level where DataV pads it with zeros (province ``450000`` → ``45``, city ``450100`` →
``4501``, district ``450102`` stays), ``parent.adcode`` becomes ``parent_code`` (the level directly above
when DataV skips one, as for the districts of Beijing whose parent is the province ``110000``). Features
that are no division (the nine-dash line ``100000_JD``) and the outline of the area the other features
divide (a city's own feature in its ``_full`` file) are left out with a warning. Every other object or
list, in any layer, becomes JSON text (``[108.32, 22.82]``).

DataV draws its boundaries from Amap: their coordinates are GCJ-02 whatever GeoJSON declares; read them
with ``coords="gcj02"`` to shift them to WGS84.
"""

from __future__ import annotations

import json
import math
import os
import warnings

import numpy as np
import pandas as pd

from gridmap.errors import GridmapWarning
from gridmap.io._columns import FeatureNumbers

__all__ = ["GEOJSON_OPTIONS", "flatten_properties", "is_datav", "nested_as_text"]

#: GDAL open options for GeoJSON: arrays as JSON (lists), never as GDAL list fields, which pyogrio reads
#: wrongly (``[false, false]`` as one False) or not at all (a list of booleans raises).
GEOJSON_OPTIONS = {"ARRAY_AS_STRING": "YES"}

#: Properties only DataV files have beside ``adcode``; one of them is enough to recognise the layout.
_DATAV_KEYS = ("parent", "acroutes", "childrenNum", "subFeatureIndex", "centroid", "center", "adchar")
_COUNTRY = "100000"  # DataV's code for China as a whole: no division code of gridmap's model
_LEVEL_LENGTHS = (2, 4, 6, 9)  # province, city, district, street: the lengths a padded code is cut to
_PARENT_LENGTH = {12: 9, 9: 6, 6: 4, 4: 2}
_CONTAINERS = (dict, list, tuple, np.ndarray)


def is_datav(frame: pd.DataFrame) -> bool:
    """Return True when a layer has the DataV atlas layout: ``adcode`` and a DataV property beside it.

    Examples
    --------
    >>> is_datav(pd.DataFrame({"adcode": [450102], "name": ["兴宁区"], "parent": [{"adcode": 450100}]}))
    True
    >>> is_datav(pd.DataFrame({"adcode": [450102], "name": ["兴宁区"]}))
    False
    """
    return "adcode" in frame.columns and any(key in frame.columns for key in _DATAV_KEYS)


def _adcode_text(value: object) -> str | None:
    """Return an adcode as text: ``450102``, ``{"adcode": 450100}`` and ``"450102"`` alike; None if absent."""
    if isinstance(value, str) and value.strip().startswith("{"):
        text = value.strip()
        try:
            value = json.loads(text)
        except ValueError:
            return text
    if isinstance(value, dict):
        value = value.get("adcode")
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip() or None


def _unpadded(code: str | None) -> str | None:
    """Cut a code padded with zeros to its level's length: ``450100`` → ``4501``, ``450102001000`` → 9 digits.

    Real codes never end in a segment of zeros at their own level, so the padding shows the level.
    """
    if code is None or code == _COUNTRY or not (code.isascii() and code.isdigit()):
        return code
    return next((code[:n] for n in _LEVEL_LENGTHS if len(code) > n and not code[n:].strip("0")), code)


def _parent_code(parent: str | None, code: str | None) -> str | None:
    """Return the parent code in gridmap's model: the level directly above ``code`` when DataV skips one."""
    parent = None if parent == _COUNTRY else _unpadded(parent)
    direct = _PARENT_LENGTH.get(len(code)) if code else None
    if parent and code and direct and code.startswith(parent) and len(parent) < direct:
        return code[:direct]
    return parent


def _left_out(frame: pd.DataFrame, adcodes: list[str | None], parents: list[str | None],
              path: str | os.PathLike | None) -> np.ndarray:
    """Mark the features that are no division (``100000_JD``) or the outline of the others' parent; warn."""
    outlines = {p for p in parents if p is not None}
    names = frame["name"].tolist() if "name" in frame.columns else [None] * len(frame)
    reasons: list[str | None] = []
    for position, (adcode, name) in enumerate(zip(adcodes, names, strict=True)):
        name = name if isinstance(name, str) else ""
        shown = f"feature {position + 1} ({adcode} {name})".replace(" )", ")")
        if adcode is None or not (adcode.isascii() and adcode.isdigit()):
            reasons.append(f"{shown}: no division code (DataV's nine-dash line or a decoration)")
        elif adcode in outlines:
            reasons.append(f"{shown}: the outline of the area the other features divide")
        else:
            reasons.append(None)
    drop = np.array([reason is not None for reason in reasons], dtype=bool)
    if drop.any():
        listed = "; ".join(reason for reason in reasons if reason is not None)
        warnings.warn(f"{path}: DataV layer: {int(drop.sum())} features left out: {listed}",
                      GridmapWarning, stacklevel=5)  # the caller of read_layer
    return drop


def _from_datav(frame: pd.DataFrame, *,
                path: str | os.PathLike | None) -> tuple[pd.DataFrame, FeatureNumbers | None]:
    """Read the DataV layout: ``code`` and ``parent_code`` from the adcodes, the odd features left out.

    Return the layer and, when features were left out, the file's numbers of those kept.
    """
    adcodes = [_adcode_text(value) for value in frame["adcode"]]
    raw_parents: list[str | None] = [None] * len(frame)
    if "parent" in frame.columns:
        raw_parents = [_adcode_text(value) for value in frame["parent"]]
    drop = _left_out(frame, adcodes, raw_parents, path)
    codes = [_unpadded(adcode) for adcode in adcodes]
    parents = [_parent_code(parent, code) for parent, code in zip(raw_parents, codes, strict=True)]
    table = frame.drop(columns=["adcode", "parent"], errors="ignore")
    table.insert(0, "code", pd.array(codes, dtype="str"))
    table.insert(1, "parent_code", pd.array(parents, dtype="str"))
    if not drop.any():
        return table, None
    kept = _whole_numbers(table.loc[~drop].reset_index(drop=True))
    return kept, FeatureNumbers((np.flatnonzero(~drop) + 1).tolist())


def _whole_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn float columns of whole numbers back into integers (``childrenNum``, ``subFeatureIndex``).

    GDAL reads them as floats when a feature left out (the nine-dash line) lacks them.
    """
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_float_dtype(series) and series.notna().all() and (series % 1 == 0).all():
            frame[column] = series.astype("int64")
    return frame


def _json_text(value: object) -> object:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (dict, list, tuple)):
        return value
    return json.dumps(value, ensure_ascii=False, default=_plain)


def _plain(value: object) -> object:
    """JSON form of what json cannot write itself: numpy numbers and arrays as Python ones, else text."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def nested_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with every object or list value as JSON text (Chinese kept as it is).

    Examples
    --------
    >>> frame = nested_as_text(pd.DataFrame({"center": [[108.3, 22.8], None], "名称": ["兴宁区", "青秀区"]}))
    >>> frame["center"].tolist()
    ['[108.3, 22.8]', None]
    """
    geometry = getattr(frame, "_geometry_column_name", None)
    nested = [column for column in frame.columns if column != geometry and frame[column].dtype == object
              and frame[column].map(lambda value: isinstance(value, _CONTAINERS)).any()]
    if not nested:
        return frame
    frame = frame.copy()
    for column in nested:
        frame[column] = pd.Series([_json_text(value) for value in frame[column]], index=frame.index,
                                  dtype=object)
    return frame


def flatten_properties(frame: pd.DataFrame, rows: list[int] | None = None, *,
                       path: str | os.PathLike | None = None,
                       datav: bool = True) -> tuple[pd.DataFrame, list[int] | None]:
    """Read the DataV layout (:func:`is_datav`) of a vector layer and turn nested values into JSON text.

    ``rows`` numbers the records as a reader does (None: ``feature N`` by position); the result's rows
    are :class:`~gridmap.io._columns.FeatureNumbers` when DataV features were left out. Tables (``rows``
    given) and ``datav=False`` only have their nested values turned into text.

    Examples
    --------
    >>> frame = pd.DataFrame({"adcode": [450102, "100000_JD"], "name": ["兴宁区", ""],
    ...                       "parent": [{"adcode": 450100}, None],
    ...                       "acroutes": [[100000, 450000, 450100], None]})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     flat, rows = flatten_properties(frame)
    >>> flat.loc[0, ["code", "parent_code", "name", "acroutes"]].tolist()
    ['450102', '4501', '兴宁区', '[100000, 450000, 450100]']
    >>> len(flat), rows
    (1, [1])
    """
    if datav and rows is None and is_datav(frame):
        frame, rows = _from_datav(frame, path=path)
    return nested_as_text(frame), rows
