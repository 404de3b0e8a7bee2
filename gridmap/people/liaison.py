r"""Liaison up the hierarchy (全覆盖联系): every unit has a leader of the level above linked to it.

Nanning (004) runs a four-level chain, 市—城区—街道(乡镇)—社区: city leaders are linked to every street,
district leaders to every community, and street and community leaders to every grid
(:data:`~gridmap.schema.LIAISON_COVERS`). A liaison table lists the leaders and the units each is linked to;
:func:`check_liaison` finds the units nobody of the level above is linked to, links to units that do not
exist or lie outside the leader's own unit, and leaders linked to more units than a limit.

The table (:func:`read_liaison`): ``level`` of the leader (市级, 城区, 街道, 社区 or city, district, street,
community), the codes of the units linked (联系单位 / ``linked_codes``: several in one cell, separated by
``;`` ``，`` ``、`` …, or one row per link), and optionally ``person_id``, ``name``, ``phone`` and the
leader's own unit (``unit_code``; links outside it do not count).

Examples
--------
>>> grids = pd.DataFrame({"code": ["450102001003001", "450102001003002", "450102001004001"]})
>>> links = pd.DataFrame({"姓名": ["甲", "乙", "丙", "丁"], "层级": ["市级", "城区", "街道", "社区"],
...                       "联系单位": ["450102001", "450102001003", "450102001003001、450102001004001",
...                                "450102001003001；450102001003002"]})
>>> report = check_liaison(links, grids)
>>> report.to_frame()[["check", "record", "leader_level"]]
        check           record leader_level
0  no_liaison     450102001004     district
1  no_liaison  450102001003002       street
2  no_liaison  450102001004001    community
>>> report.tables["grid"][["code", "street_liaisons", "community_liaisons", "covered"]]
              code  street_liaisons  community_liaisons  covered
0  450102001003001                1                   1     True
1  450102001003002                0                   1    False
2  450102001004001                1                   0    False
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from gridmap.errors import SchemaError
from gridmap.findings import Report
from gridmap.io import read_table, record_labels
from gridmap.io._columns import STRING_DTYPE, rename_columns
from gridmap.people.roster import text_values
from gridmap.people.units import units_from_grids
from gridmap.schema import (
    LIAISON_COVERS,
    LIAISON_LEVELS,
    ROSTER_HEADERS,
    ROSTER_LEVEL_NAMES_ZH,
    people_level,
    split_ids,
)

__all__ = ["read_liaison", "check_liaison", "LINK_COLUMNS"]

#: The columns :func:`read_liaison` returns: one row per leader and unit linked.
LINK_COLUMNS = ("person_id", "name", "level", "unit_code", "linked_code", "phone", "row")
_ZH = {**ROSTER_LEVEL_NAMES_ZH, "city": "市"}


def read_liaison(source: str | os.PathLike | pd.DataFrame, *, sheet: str | None = None,
                 encoding: str | None = None) -> pd.DataFrame:
    r"""Read a liaison table: one row per leader and unit linked (:data:`LINK_COLUMNS`).

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        CSV (UTF-8 or GBK), Excel or Parquet, or a frame: 层级/``level`` (required), 联系单位/``linked_codes``
        (required; several codes per cell or one row per link), 人员编号/``person_id``, 姓名/``name``,
        电话/``phone``, 单位编码/``unit_code`` (the leader's own unit).
    sheet : str, optional
        Sheet of a workbook (default: the first).
    encoding : str, optional
        Text encoding of a CSV that is neither UTF-8 nor GBK/GB18030.

    Returns
    -------
    pandas.DataFrame
        :data:`LINK_COLUMNS`; ``row`` names the source row (``row 3``). A leader without a person id is
        known by name, level and unit (by row when unnamed). A leader with no unit linked has one row with
        ``linked_code`` NA.

    Raises
    ------
    SchemaError
        No level or linked-units column, or a level that is not one of the chain's (named with its row).

    Examples
    --------
    >>> links = read_liaison(pd.DataFrame({"level": ["街道"], "联系网格": ["G1;G2"]}))
    >>> links[["level", "linked_code", "row"]]
        level linked_code    row
    0  street          G1  row 1
    1  street          G2  row 1
    """
    path = None if isinstance(source, pd.DataFrame) else source
    if isinstance(source, pd.DataFrame):
        table = rename_columns(pd.DataFrame(source), aliases=ROSTER_HEADERS)[0]
    else:
        table = read_table(source, sheet=sheet, encoding=encoding, aliases=ROSTER_HEADERS)
    for column, header in (("level", "层级"), ("linked_codes", "联系单位")):
        if column not in table.columns:
            raise SchemaError(f"the liaison table has no {column} column "
                              f"(columns: {', '.join(map(str, table.columns))})", path=path,
                              fix=f"head the column {header} (or {column})")
    rows = record_labels(table)
    levels = _levels(table["level"], rows, path)
    names, own = _text(table, "name"), _text(table, "unit_code")
    frame = pd.DataFrame({
        "person_id": _text(table, "person_id").fillna(_person_keys(names, levels, own)).fillna(rows),
        "name": names, "level": levels, "unit_code": own,
        "linked_code": _text(table, "linked_codes").map(split_ids), "phone": _text(table, "phone"),
        "row": rows,
    }, index=table.index)
    frame = frame.explode("linked_code", ignore_index=True)
    for column in LINK_COLUMNS:
        frame[column] = frame[column].astype(STRING_DTYPE)
    return frame[list(LINK_COLUMNS)]


def check_liaison(links: pd.DataFrame, grids: pd.DataFrame, *, limit: int | Mapping[str, int] | None = None,
                  units: pd.DataFrame | Sequence[pd.DataFrame] | None = None,
                  show_contacts: bool = False) -> Report:
    """Check that every unit has a liaison of the level above, and that no leader has too many units.

    Findings, each with the ``unit_code`` it is about:

    * ``no_liaison`` (error) — a street without a city leader, a community without a district leader, a
      grid without a street leader or without a community leader (``leader_level`` says which);
    * ``unknown_unit`` (error) — a link to a code that is no unit of the grids (a retired grid);
    * ``outside_unit`` (warning) — a link to a unit outside the leader's own unit (not counted);
    * ``other_level`` (warning) — a link to a unit of a level the leader's level does not cover (a district
      leader linked to a grid; not counted);
    * ``too_many_links`` (error) — a leader linked to more units than ``limit``; the record is the
      leader's rows in the table and ``unit_code`` their own unit (names only with ``show_contacts``).

    Parameters
    ----------
    links : pandas.DataFrame
        :func:`read_liaison`'s table, or a frame it reads.
    grids : pandas.DataFrame or geopandas.GeoDataFrame
        ``code`` (and optionally ``community_code``); streets and communities come from the codes
        (:func:`~gridmap.people.units.units_from_grids`).
    limit : int or mapping of level to int, optional
        Most units one leader may be linked to (one number for every level, or per level); None: no limit.
    units : DataFrame or sequence of DataFrames, optional
        Admin layers, for streets or communities without grids and for names.
    show_contacts : bool, default False
        Add the leaders' names and phones to the ``leaders`` table and the ``too_many_links`` findings.

    Returns
    -------
    gridmap.Report
        Tables ``street``, ``community`` and ``grid`` (keyed by ``code``: liaisons per covering level, e.g.
        ``street_liaisons``, ``covered`` and a Chinese ``label`` for maps) and ``leaders`` (one row per
        leader: ``rows``, ``level``, ``unit_code``, ``links``, ``over_limit``).

    Examples
    --------
    >>> grids = pd.DataFrame({"code": ["450102001003001", "450102001003002"]})
    >>> links = pd.DataFrame({"level": ["社区", "街道", "市级"], "unit_code": ["450102001003", None, None],
    ...                       "linked_codes": ["450102001003001、450102001003002", "450102001003001",
    ...                                        "450102001"]})
    >>> report = check_liaison(links, grids, limit=1)
    >>> report.to_frame()[["check", "record", "unit_code"]]
                check           record        unit_code
    0      no_liaison     450102001003         450102001003
    1      no_liaison  450102001003002  450102001003002
    2  too_many_links            row 1     450102001003
    """
    links = links if {"level", "linked_code", "row"} <= set(links.columns) else read_liaison(links)
    table = units_from_grids(grids, units)
    report = Report("liaison")
    limits = _limits(limit)
    known = dict(zip(table["code"], table["level"], strict=False))
    linked = links[links["linked_code"].notna()]
    counted = _counted_links(linked, known, report)
    for level, covers in LIAISON_COVERS.items():
        _coverage(level, covers, counted, table, report)
    report.tables["leaders"] = _leaders(links, limits, report, show_contacts=show_contacts)
    for target in dict.fromkeys(LIAISON_COVERS.values()):
        report.tables[target] = _target_table(target, counted, table)
    return report


def _levels(words: pd.Series, rows: pd.Series, path) -> pd.Series:
    levels = words.map(people_level)
    bad = ~levels.isin(LIAISON_LEVELS)
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        named = ", ".join(f"{level} ({_ZH[level]})" for level in LIAISON_LEVELS)
        raise SchemaError(f"level {words.iloc[first]!r} is not a level of the liaison chain "
                          f"({int(bad.sum())} rows)", path=path, record=rows.iloc[first],
                          fix=f"use one of {named}")
    return levels.astype(STRING_DTYPE)


def _text(table: pd.DataFrame, column: str) -> pd.Series:
    if column in table.columns:
        return text_values(table[column])
    return pd.Series(None, index=table.index, dtype=STRING_DTYPE)


def _person_keys(names: pd.Series, levels: pd.Series, own: pd.Series) -> pd.Series:
    """Who a leader without a person id is: name, level and own unit together (NA when unnamed)."""
    return (names + "|" + levels + "|" + own.fillna("")).where(names.notna())


def _limits(limit: int | Mapping[str, int] | None) -> dict[str, int]:
    if limit is None:
        return {}
    values = dict(limit) if isinstance(limit, Mapping) else dict.fromkeys(LIAISON_LEVELS, limit)
    for level, value in values.items():
        if level not in LIAISON_LEVELS:
            raise SchemaError(f"limit for {level!r}: not a level of the liaison chain",
                              fix=f"give limits for {', '.join(LIAISON_LEVELS)}")
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise SchemaError(f"limit={value!r} is not a whole number of units of 1 or more",
                              fix="pass limit= a whole number such as 30")
    return values


def _counted_links(linked: pd.DataFrame, known: dict[str, str], report: Report) -> pd.DataFrame:
    """Return the links that count: to a unit of the level their leader covers, inside the leader's unit."""
    level_of = linked["linked_code"].map(known)
    unknown = linked[level_of.isna().to_numpy()]
    if len(unknown):
        report.add_many("unknown_unit", "{row}: a {leader_level} leader is linked to {unit_code}, which is "
                        "not a unit of the grids (a retired or mistyped code)",
                        records=unknown["linked_code"].to_numpy(),
                        unit_code=unknown["linked_code"].to_numpy(), leader_level=unknown["level"].to_numpy(),
                        row=unknown["row"].to_numpy(), fix="link the leader to the unit that replaced it")
    covers = linked["level"].map(LIAISON_COVERS)
    wrong = linked[(level_of.notna() & level_of.ne(covers)).to_numpy()]
    if len(wrong):
        report.add_many("other_level", "{row}: a {leader_level} leader is linked to {unit_level} "
                        "{unit_code}; {leader_level} leaders cover {covers}s, so it is not counted",
                        records=wrong["linked_code"].to_numpy(), unit_code=wrong["linked_code"].to_numpy(),
                        leader_level=wrong["level"].to_numpy(), row=wrong["row"].to_numpy(),
                        unit_level=wrong["linked_code"].map(known).to_numpy(),
                        covers=wrong["level"].map(LIAISON_COVERS).to_numpy(), severity="warning",
                        fix="link each leader to units of the level it covers")
    fits = linked[level_of.eq(covers).to_numpy()]
    own = fits["unit_code"].fillna("")
    inside = np.array([code.startswith(unit) for code, unit in zip(fits["linked_code"], own, strict=True)],
                      dtype=bool)
    outside = fits[~inside]
    if len(outside):
        report.add_many("outside_unit", "{row}: a {leader_level} leader of {own} is linked to {unit_code}, "
                        "outside that unit: not counted", records=outside["linked_code"].to_numpy(),
                        unit_code=outside["linked_code"].to_numpy(), leader_level=outside["level"].to_numpy(),
                        own=outside["unit_code"].to_numpy(), row=outside["row"].to_numpy(),
                        severity="warning",
                        fix="link the leader to units of their own district, street or community")
    return fits[inside].drop_duplicates(["person_id", "level", "linked_code"])


def _coverage(level: str, covers: str, counted: pd.DataFrame, table: pd.DataFrame, report: Report) -> None:
    targets = table.loc[table["level"].eq(covers), "code"]
    reached = set(counted.loc[counted["level"].eq(level), "linked_code"])
    missing = targets[~targets.isin(reached)].to_numpy()
    if len(missing):
        report.add_many("no_liaison", "{unit_level} {unit_code} has no {leader_level}-level leader linked "
                        f"to it (全覆盖联系: {_ZH[level]}级 → {_ZH[covers]})", records=missing,
                        unit_code=missing,
                        unit_level=np.full(len(missing), covers), leader_level=np.full(len(missing), level),
                        fix=f"link a {level} leader to each {covers}")


def _leaders(links: pd.DataFrame, limits: dict[str, int], report: Report, *,
             show_contacts: bool) -> pd.DataFrame:
    """One row per leader: rows, level, own unit, units linked; ``too_many_links`` beyond the limit."""
    grouped = links.groupby("person_id", sort=False)
    leaders = grouped.agg(rows=("row", lambda rows: ", ".join(dict.fromkeys(rows))), level=("level", "first"),
                          unit_code=("unit_code", "first"), links=("linked_code", "nunique"),
                          name=("name", "first"), phone=("phone", "first")).reset_index(drop=True)
    leaders["limit"] = pd.array(leaders["level"].map(limits), dtype="Int64")
    leaders["over_limit"] = leaders["links"].gt(leaders["limit"]).fillna(False).astype(bool)
    over = leaders[leaders["over_limit"]]
    if len(over):
        contacts = ({"name": over["name"].to_numpy(), "phone": over["phone"].to_numpy()} if show_contacts
                    else {})
        report.add_many("too_many_links", "{rows}: a {level} leader is linked to {links} units, more than "
                        "the limit of {limit}", records=over["rows"].to_numpy(),
                        unit_code=over["unit_code"].to_numpy(),
                        level=over["level"].to_numpy(), links=over["links"].to_numpy(),
                        limit=over["limit"].to_numpy(dtype="int64"), rows=over["rows"].to_numpy(), **contacts,
                        fix="share the units among more leaders of that level")
    shown = ["rows", "level", "unit_code", "links", "limit", "over_limit",
             *(["name", "phone"] if show_contacts else [])]
    return leaders[shown]


def _target_table(target: str, counted: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Units of one level with the number of leaders of each covering level linked to them."""
    units = table[table["level"].eq(target)]
    frame = units[["code", "name", "parent_code"]].reset_index(drop=True)
    parts = []
    for level in [level for level, covers in LIAISON_COVERS.items() if covers == target]:
        mine = counted[counted["level"].eq(level)]
        per_unit = mine.groupby("linked_code")["person_id"].nunique()
        frame[f"{level}_liaisons"] = frame["code"].map(per_unit).fillna(0).astype("int64")
        values = frame[f"{level}_liaisons"]
        parts.append(f"{_ZH[level]}级联系领导 " + values.astype(str) + np.where(values.eq(0), "（缺）", ""))
    columns = [c for c in frame.columns if c.endswith("_liaisons")]
    frame["covered"] = frame[columns].gt(0).all(axis=1)
    frame["label"] = ["；".join(row) for row in zip(*parts, strict=True)] if parts else ""
    return frame
