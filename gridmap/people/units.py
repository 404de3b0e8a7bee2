"""The units people serve: grids, and the communities, streets and districts above them.

Checks of rosters and liaison tables need every unit of every level, including those nobody serves. Without a
boundary layer they come from the grid codes: a grid's community is its ``community_code`` (else the first 12
digits of its code), and streets and districts are the prefixes of the community codes
(:data:`~gridmap.schema.CODE_LENGTHS`). Admin layers or a table of units, when given, add their units (a
community without grids, micro-grids, buildings), their names, kinds and households.

Examples
--------
>>> grids = pd.DataFrame({"code": ["450102001003001", "450102001003002", "450127100201001"],
...                       "households": [420, 380, 300]})
>>> units_from_grids(grids)[["code", "level", "kind", "households", "parent_code"]]
              code      level   kind  households   parent_code
0           450102   district    NaN         800           NaN
1           450127   district    NaN         300           NaN
2        450102001     street    NaN         800        450102
3        450127100     street    NaN         300        450127
4     450102001003  community  urban         800     450102001
5     450127100201  community  rural         300     450127100
6  450102001003001       grid    NaN         420  450102001003
7  450102001003002       grid    NaN         380  450102001003
8  450127100201001       grid    NaN         300  450127100201
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gridmap.division.group import community_kinds
from gridmap.errors import SchemaError
from gridmap.io._columns import STRING_DTYPE
from gridmap.schema import (
    BUILDING_KIND,
    CODE_LENGTHS,
    LEVELS,
    ROSTER_LEVELS,
    model_columns,
    people_level,
    unit_kind,
)

__all__ = ["units_from_grids", "UNIT_COLUMNS"]

#: The columns of :func:`units_from_grids`.
UNIT_COLUMNS = ("code", "level", "name", "kind", "households", "parent_code")
_LEVEL_OF_LENGTH = {CODE_LENGTHS[level]: level for level in LEVELS}


def units_from_grids(grids: pd.DataFrame, units: pd.DataFrame | Sequence[pd.DataFrame] | None = None
                     ) -> pd.DataFrame:
    """Return every unit: the grids, their communities, streets and districts, and the ``units`` given.

    Parameters
    ----------
    grids : pandas.DataFrame or geopandas.GeoDataFrame
        ``code`` (or 网格编码), optional ``community_code``, ``households``, ``name``.
    units : DataFrame or sequence of DataFrames, optional
        Admin layers (``gridmap.load_sample().communities`` …) or any table of units with ``code`` and a
        ``level`` (:data:`~gridmap.schema.ROSTER_LEVELS` or its Chinese words; admin codes without a level
        are placed by their length, 6/9/12 digits), optional ``name``, ``kind`` and ``households``. A
        buildings layer (``unit_id`` or 楼栋编号, no ``code``: ``data/sample/buildings.gpkg``) gives units of
        level ``building`` coded by their ``unit_id``. Their units are added to those of the grids, and
        their names, kinds and households win.

    Returns
    -------
    pandas.DataFrame
        :data:`UNIT_COLUMNS`, one row per unit, from the districts down, sorted by code within a level.
        ``kind`` is the communities' urban/rural (their ``kind`` column, else the village digits 001–199
        urban, 200–399 rural); ``households`` is summed up from the grids where a unit gives none.
    """
    grids = _grids(grids)
    rows = [_derived(grids, level) for level in LEVELS] + [grids]
    table = pd.concat(rows, ignore_index=True)
    if units is not None:
        table = _merged(table, _given(units))
    table["households"] = _households(table)
    communities = table["level"].eq("community")
    kinds = community_kinds(table.loc[communities, ["code", "kind"]])
    table["kind"] = table["kind"].astype(object)
    table.loc[communities, "kind"] = kinds.to_numpy()
    order = table["level"].map({level: k for k, level in enumerate(ROSTER_LEVELS)})
    table = table.assign(order=order).sort_values(["order", "code"], kind="stable", ignore_index=True)
    for column in ("code", "level", "name", "kind", "parent_code"):
        table[column] = table[column].astype(STRING_DTYPE)
    return table[list(UNIT_COLUMNS)]


def _grids(grids: pd.DataFrame) -> pd.DataFrame:
    grids = model_columns(grids, "grids")[0]
    if "code" not in grids.columns:
        listed = ", ".join(map(str, grids.columns))
        raise SchemaError(f"the grids have no code column (columns: {listed})",
                          fix="give the grid codes in a column code (or 网格编码)")
    codes = grids["code"].astype(STRING_DTYPE)
    community = (grids["community_code"].astype(STRING_DTYPE) if "community_code" in grids.columns
                 else codes.str[:CODE_LENGTHS["community"]])
    households = grids["households"] if "households" in grids.columns else pd.Series(pd.NA, index=grids.index)
    names = grids["name"] if "name" in grids.columns else pd.Series(None, index=grids.index)
    return pd.DataFrame({"code": codes.to_numpy(), "level": "grid",
                         "name": names.astype(STRING_DTYPE).to_numpy(), "kind": None,
                         "households": pd.to_numeric(households, errors="coerce").to_numpy(),
                         "parent_code": community.fillna(codes.str[:CODE_LENGTHS["community"]]).to_numpy()})


def _derived(grids: pd.DataFrame, level: str) -> pd.DataFrame:
    """Return the units of an admin level above the grids: prefixes of the grids' community codes."""
    codes = grids["parent_code"].str[:CODE_LENGTHS[level]]
    parent = LEVELS[LEVELS.index(level) - 1] if level != LEVELS[0] else None
    frame = pd.DataFrame({"code": codes.drop_duplicates().to_numpy()})
    return frame.assign(level=level, name=None, kind=None, households=np.nan,
                        parent_code=frame["code"].str[:CODE_LENGTHS[parent]] if parent else None)


def _given(units: pd.DataFrame | Sequence[pd.DataFrame]) -> pd.DataFrame:
    frames = [units] if isinstance(units, pd.DataFrame) else list(units)
    tables = []
    for frame in frames:
        frame = pd.DataFrame(frame.drop(columns=getattr(frame, "_geometry_column_name", []), errors="ignore"))
        if "code" not in frame.columns:
            frame = model_columns(frame, "admin")[0]
        if "code" not in frame.columns:
            frame = _buildings(frame)
        codes = frame["code"].astype(STRING_DTYPE).str.strip()
        levels = (frame["level"].map(people_level) if "level" in frame.columns
                  else pd.Series(None, index=frame.index, dtype=object))
        levels = levels.fillna(codes.str.len().map(_LEVEL_OF_LENGTH))
        bad = levels.isna() | ~levels.isin(ROSTER_LEVELS)
        if bad.any():
            first = codes[bad].iloc[0]
            raise SchemaError(f"unit {first!r} has no level this table can place ({int(bad.sum())} units)",
                              record=first, fix="give a column level (district, street, community, grid, "
                                                "micro, building) or admin codes of 6, 9 or 12 digits")
        tables.append(pd.DataFrame({
            "code": codes, "level": levels,
            **{c: frame[c] if c in frame.columns else None for c in ("name", "kind", "households")},
            "parent_code": (frame["parent_code"].astype(STRING_DTYPE) if "parent_code" in frame.columns
                            else None),
        }))
    return pd.concat(tables, ignore_index=True)


def _buildings(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a buildings layer (``unit_id``/楼栋编号, no ``code``) as units: unit_id as code, level building.

    Raises
    ------
    SchemaError
        No unit_id either, or units of another kind (compounds, villages …: no level of the roster).
    """
    frame = model_columns(frame, "units")[0]
    if "unit_id" not in frame.columns:
        listed = ", ".join(map(str, frame.columns))
        raise SchemaError(f"the units have no code column (columns: {listed})",
                          fix="pass admin layers (code), the buildings layer (unit_id, 楼栋编号) or a table "
                              "with each unit's code and level (district, street, community, grid, micro, "
                              "building)")
    kinds = frame["kind"].map(unit_kind) if "kind" in frame.columns else pd.Series(None, index=frame.index)
    other = kinds.notna() & kinds.ne(BUILDING_KIND)
    if other.any() and "level" not in frame.columns:
        first = frame.loc[other, "unit_id"].iloc[0]
        raise SchemaError(f"the units are base units, not buildings: {int(other.sum())} of them, such as "
                          f"{first!r}, are of kind {kinds[other].iloc[0]!r}, which no roster serves",
                          record=str(first),
                          fix="pass the buildings layer (buildings.gpkg: unit_id per building), or a table "
                              "with columns code and level for micro-grids and buildings")
    level = frame["level"] if "level" in frame.columns else BUILDING_KIND
    return frame.assign(code=frame["unit_id"], level=level, kind=kinds.to_numpy())


def _merged(table: pd.DataFrame, given: pd.DataFrame) -> pd.DataFrame:
    """Return the units of both tables; where a unit is in both, the given values that are there win."""
    given = given.drop_duplicates(["level", "code"], keep="first")
    key = ["level", "code"]
    both = table.merge(given, on=key, how="outer", suffixes=("", "_given"))
    for column in ("name", "kind", "households", "parent_code"):
        ours = both[column].astype(object)
        both[column] = both[f"{column}_given"].astype(object).where(both[f"{column}_given"].notna(), ours)
    return both[list(UNIT_COLUMNS)]


def _households(table: pd.DataFrame) -> pd.Series:
    """Households per unit: its own, else the sum of its grids' (NA when none is known)."""
    own = pd.to_numeric(table["households"], errors="coerce")
    grids = table[table["level"].eq("grid")]
    counts = pd.to_numeric(grids["households"], errors="coerce")
    summed = pd.Series(np.nan, index=table.index)
    for level in LEVELS:
        prefix = grids["parent_code"].str[:CODE_LENGTHS[level]]
        totals = counts.groupby(prefix).sum(min_count=1)
        at = table["level"].eq(level)
        summed[at] = table.loc[at, "code"].map(totals).to_numpy(dtype=float)
    return own.fillna(summed).astype("Int64")
