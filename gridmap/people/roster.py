r"""A roster of the people on the grid: who serves which unit, in which role, at which level.

One table, one row per person and post: ``person_id``, ``name``, ``role`` (a key of
:data:`~gridmap.schema.ROSTER_ROLES`), ``level`` (:data:`~gridmap.schema.ROSTER_LEVELS`), ``unit_code`` (the
grid, micro-grid, building, community, street or district served), ``party_member`` (pandas boolean, NA when
unknown) and ``phone``. :func:`read_roster` reads it from CSV (UTF-8 or GBK/GB18030), Excel or Parquet with
Chinese or English headers, or cleans a DataFrame; the old ``staff.csv`` form (``grid_code``,
``community_code``, ``role``, ``name``, ``phone``) is read too. :func:`public_roster` makes a roster safe to
publish.

Examples
--------
>>> roster = read_roster(pd.DataFrame({
...     "姓名": ["黄丽", "李强", "王五"], "岗位": ["网格长", "兼职网格员", "法律明白人"],
...     "单位编码": ["450102001003001", "450102001003001", "450102001003"],
...     "政治面貌": ["中共党员", "群众", None], "电话": ["13800000001", None, "13800000003"]}))
>>> roster[["person_id", "role", "level", "unit_code", "party_member"]]
  person_id          role      level        unit_code  party_member
0   P000001        leader       grid  450102001003001          True
1   P000002        member       grid  450102001003001         False
2   P000003  legal_helper  community     450102001003          <NA>
>>> public_roster(roster)[["unit_code", "role_zh", "name", "count"]]
         unit_code          role_zh name  count
0     450102001003            法律明白人  NaN      1
1  450102001003001              网格长   黄丽      1
2  450102001003001  兼职/定岗网格员   李强      1
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable

import numpy as np
import pandas as pd

from gridmap.errors import SchemaError
from gridmap.findings import Report
from gridmap.io import read_table, record_labels
from gridmap.io._columns import STRING_DTYPE, clean_values, rename_columns
from gridmap.schema import (
    LEVEL_LEADERS,
    PARTY_WORDS,
    ROLE_ALIASES,
    ROLE_LEVELS,
    ROLE_NAMES_ZH,
    ROSTER_COLUMNS,
    ROSTER_HEADERS,
    ROSTER_LEVEL_NAMES_ZH,
    ROSTER_LEVELS,
    ROSTER_ROLES,
    closest_word,
    party_membership,
    people_level,
    roster_role,
)

__all__ = ["read_roster", "as_roster", "public_roster", "PUBLIC_NAME_ROLES", "VACANT_WORDS", "text_values"]

logger = logging.getLogger(__name__)

#: Roles whose names a public output shows (community boards post the grid leader, 000); every other role
#: is shown only as a count, and no output shows ids or other personal fields unless asked.
PUBLIC_NAME_ROLES = ("leader", "full_time", "member")
#: Names that mark a post as vacant (a row with such a name, or none, and no person id is no person).
VACANT_WORDS = ("空缺", "暂缺", "待定", "待配备", "无", "vacant")
_ROLE_ORDER = {role: k for k, role in enumerate(ROSTER_ROLES)}
_KNOWN_ROLES = "、".join(ROLE_NAMES_ZH.values())


def read_roster(source: str | os.PathLike | pd.DataFrame, *, sheet: str | None = None,
                encoding: str | None = None, report: Report | None = None) -> pd.DataFrame:
    r"""Read a roster: person id, name, role, level, unit served, party membership and phone.

    Headers may be Chinese or English (:data:`~gridmap.schema.ROSTER_HEADERS`: 人员编号/编号, 姓名, 岗位/角色,
    层级, 单位编码 or 网格编码 or 社区代码, 政治面貌/是否党员, 电话/手机). Roles are read by their Chinese
    names, keys or aliases with blanks and full-width characters allowed (兼职网格员 and 定岗网格员 are
    ``member``; :func:`~gridmap.schema.roster_role`); a 网格长 listed at district, street or community
    level is that level's leader (:data:`~gridmap.schema.LEVEL_LEADERS`). A row without a level serves at
    its role's usual level (:data:`~gridmap.schema.ROLE_LEVELS`: grid for the 1+1+1+N roles, community for
    辅警 and 法律明白人 …). Party membership reads 是/否, 党员/群众, 中共党员, 1/0, True/False …
    (:data:`~gridmap.schema.PARTY_WORDS`).

    Rows left blank are skipped; a row whose name is blank or a word of :data:`VACANT_WORDS` (空缺, 待定 …)
    and that has no person id is a vacant post, not a person: it is left out (and listed in ``report``
    as ``vacant_post``). Without a person id column each row gets ``P`` and its 6-digit number among the
    roster's rows (``P000001`` for the first); blank ids in an id column get the row's label (``row 7``).

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        A CSV, Excel or Parquet file, or a frame with such headers.
    sheet : str, optional
        Sheet of a workbook (default: the first).
    encoding : str, optional
        Text encoding of a CSV that is neither UTF-8 nor GBK/GB18030.
    report : gridmap.Report, optional
        Rows with an unknown role, level or party membership are added to it as findings
        (``unknown_role``, ``unknown_level``, ``role_level``, ``unknown_party``, ``no_unit``) and kept with
        that value NA. Without a report such a row is an error.

    Returns
    -------
    pandas.DataFrame
        :data:`~gridmap.schema.ROSTER_COLUMNS` first, then the other columns of the source (the old form's
        ``community_code`` …); ids, codes and phones as text. The index is the source's, so
        :func:`gridmap.io.record_labels` names each row as the file does.

    Raises
    ------
    SchemaError
        No role column or no unit column, or (without ``report``) a row with an unknown role, level or
        party membership or without a unit; the message names the file, the row and the known values.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "staff.csv"
    >>> _ = path.write_text("grid_code,community_code,role,name,phone\n"
    ...                     "450102001003001,450102001003,instructor,黄丽,199-0000-0001\n", encoding="gbk")
    >>> read_roster(path).iloc[0].tolist()
    ['P000001', '黄丽', 'instructor', 'grid', '450102001003001', <NA>, '199-0000-0001', '450102001003']
    >>> read_roster(pd.DataFrame({"岗位": ["保安"], "网格编码": ["450102001003001"]}))
    Traceback (most recent call last):
    ...
    gridmap.errors.SchemaError: row 1: role '保安' is not a roster role. Fix: ...
    """
    path = None if isinstance(source, pd.DataFrame) else source
    table = _source_table(source, sheet=sheet, encoding=encoding)
    problems = Report(f"roster {os.fspath(path) if path is not None else ''}".strip())
    labels = record_labels(table)  # before any row is dropped: rows as the source numbers them
    table = table[~_blank_rows(table)]
    table, vacant = _without_vacancies(table)
    if len(vacant):
        problems.add_many("vacant_post", "{role} at {unit} is vacant (no name, no id): not counted",
                          records=labels[vacant.index].to_numpy(), severity="info",
                          role=vacant.get("role", pd.Series("", index=vacant.index)).astype(str).to_numpy(),
                          unit=_unit_column(vacant, path)[0].astype(str).to_numpy())
    labels = labels[table.index]
    units, unit_column = _unit_column(table, path)
    roles, levels = _roles_and_levels(table, labels, problems)
    roster = pd.DataFrame({
        "person_id": _person_ids(table, labels),
        "name": text_values(table["name"]) if "name" in table.columns else _missing(table.index),
        "role": roles, "level": levels, "unit_code": units,
        "party_member": _party(table, labels, problems),
        "phone": text_values(table["phone"]) if "phone" in table.columns else _missing(table.index),
    }, index=table.index)
    for position in np.flatnonzero(roster["unit_code"].isna().to_numpy()):
        problems.add("no_unit", "the row names no unit (grid, community … code) it serves",
                     record=labels.iloc[position], fix="fill in the code of the unit the person serves")
    _settle(problems, report, path)
    used = {unit_column, *ROSTER_COLUMNS}
    others = [c for c in table.columns if c not in used]
    return pd.concat([roster, table[others]], axis=1)


def as_roster(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` as a roster: itself when it has the roster columns, else :func:`read_roster` of it.

    Functions that take a roster accept either a roster or a table in any form :func:`read_roster` reads
    (the old ``staff.csv`` form with ``grid_code``, Chinese headers).

    Examples
    --------
    >>> as_roster(pd.DataFrame({"grid_code": ["G1"], "role": ["网格长"]}))[["role", "level", "unit_code"]]
         role level unit_code
    0  leader  grid        G1
    """
    columns = {"role", "level", "unit_code"}
    if columns <= set(frame.columns) and frame["role"].dropna().isin(ROSTER_ROLES).all():
        return frame
    return read_roster(frame)


def public_roster(roster: pd.DataFrame, *, show_contacts: bool = False) -> pd.DataFrame:
    """Return what a public output may show of a roster: leaders' and workers' names, other roles counted.

    One row per named person of :data:`PUBLIC_NAME_ROLES` (网格长, 专职网格员, 兼职/定岗网格员) and one row
    per unit and other role with the number of people (``name`` missing). No ids, phones or other personal
    fields, unless ``show_contacts`` adds the phones of the named people (an internal cockpit).

    Parameters
    ----------
    roster : pandas.DataFrame
        A roster (:func:`read_roster`) or a table it reads.
    show_contacts : bool, default False
        Add ``phone`` for the named people.

    Returns
    -------
    pandas.DataFrame
        ``unit_code``, ``level``, ``role``, ``role_zh`` (Chinese role), ``name``, ``count`` and, with
        ``show_contacts``, ``phone``; sorted by unit, role and name.

    Examples
    --------
    >>> staff = pd.DataFrame({"grid_code": ["G1", "G1", "G1"], "role": ["网格长", "医生", "医生"],
    ...                       "name": ["黄丽", "甲", "乙"], "phone": ["138", "139", "137"]})
    >>> public_roster(staff, show_contacts=True)
      unit_code level    role  role_zh name  count phone
    0        G1  grid  leader      网格长   黄丽      1   138
    1        G1  grid  doctor  医生(定岗)  NaN      2   NaN
    """
    roster = as_roster(roster)
    roster = roster[roster["role"].notna() & roster["unit_code"].notna()]
    named = roster[roster["role"].isin(PUBLIC_NAME_ROLES)]
    shown = ["unit_code", "level", "role", "name", *(["phone"] if show_contacts else [])]
    people = named[shown].assign(count=1)
    counted = (roster[~roster["role"].isin(PUBLIC_NAME_ROLES)].groupby(["unit_code", "level", "role"])
               .size().rename("count").reset_index())
    table = pd.concat([people, counted], ignore_index=True)
    table["order"] = table["role"].map(_ROLE_ORDER)
    table = table.sort_values(["unit_code", "order", "name"], kind="stable", ignore_index=True)
    table.insert(3, "role_zh", table["role"].map(ROLE_NAMES_ZH))
    columns = ["unit_code", "level", "role", "role_zh", "name", "count", *shown[4:]]
    table["count"] = table["count"].astype("int64")
    return table[columns]


def text_values(values: pd.Series) -> pd.Series:
    """Return ids, codes or phones as text: whole numbers without ``.0``, blanks missing.

    Examples
    --------
    >>> text_values(pd.Series([13800000001.0, " P01 ", None, "", 7])).tolist()
    ['13800000001', 'P01', nan, nan, '7']
    """
    def one(value: object) -> str | None:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return str(int(value))
        return str(value).strip() or None

    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    converted = np.array([*(one(u) for u in uniques), None], dtype=object)
    return pd.Series(converted[codes], index=values.index, dtype=STRING_DTYPE)


def _source_table(source, *, sheet: str | None, encoding: str | None) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        frame, sources = rename_columns(pd.DataFrame(source), aliases=ROSTER_HEADERS)
        return clean_values(frame, sources=sources)
    return read_table(source, sheet=sheet, encoding=encoding, aliases=ROSTER_HEADERS)


def _blank_rows(table: pd.DataFrame) -> pd.Series:
    text = table.astype(object).where(table.notna(), "").astype(str).apply(lambda c: c.str.strip())
    return (text == "").all(axis=1) if len(table.columns) else pd.Series(True, index=table.index)


def _without_vacancies(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off the vacant posts: a blank or 空缺-like name and no person id (only when names are given)."""
    if "name" not in table.columns:
        return table, table.iloc[:0]
    names = text_values(table["name"])
    vacant = names.isna() | names.isin(VACANT_WORDS) | names.str.lower().isin(VACANT_WORDS)
    if "person_id" in table.columns:
        vacant &= text_values(table["person_id"]).isna()
    return table[~vacant.to_numpy()], table[vacant.to_numpy()]


def _unit_column(table: pd.DataFrame, path) -> tuple[pd.Series, str]:
    for column in ("unit_code", "grid_code", "community_code"):
        if column in table.columns:
            return text_values(table[column]), column
    raise SchemaError(f"the roster has no unit column (columns: {', '.join(map(str, table.columns))})",
                      path=path, fix="head the column of the codes served 单位编码 (or 网格编码 for grids, "
                                     "unit_code or grid_code)")


def _missing(index: pd.Index) -> pd.Series:
    return pd.Series(None, index=index, dtype=STRING_DTYPE)


def _person_ids(table: pd.DataFrame, labels: pd.Series) -> pd.Series:
    if "person_id" not in table.columns:
        numbers = np.arange(1, len(table) + 1)
        return pd.Series([f"P{n:06d}" for n in numbers], index=table.index, dtype=STRING_DTYPE)
    ids = text_values(table["person_id"])
    return ids.fillna(labels).astype(STRING_DTYPE)


def _roles_and_levels(table: pd.DataFrame, labels: pd.Series,
                      problems: Report) -> tuple[pd.Series, pd.Series]:
    """Role keys and levels: words read, levels filled from the role, a 网格长 at an admin level renamed."""
    if "role" not in table.columns:
        raise SchemaError(f"the roster has no role column (columns: {', '.join(map(str, table.columns))})",
                          fix="head the roles 岗位 (or 角色, role)")
    words = table["role"]
    roles = words.map(roster_role).astype(object)
    for position in np.flatnonzero(roles.isna().to_numpy()):
        word = words.iloc[position]
        problems.add("unknown_role", _unknown(word, "role", "a roster role", _role_words()),
                     record=labels.iloc[position],
                     fix=f"use one of {_KNOWN_ROLES} (or the keys {', '.join(ROSTER_ROLES)})")
    given = table["level"] if "level" in table.columns else pd.Series(None, index=table.index, dtype=object)
    read = given.map(people_level).astype(object)
    unknown = (given.notna() & given.astype(str).str.strip().ne("") & read.isna()) | read.eq("city")
    named = ", ".join(f"{level} ({ROSTER_LEVEL_NAMES_ZH[level]})" for level in ROSTER_LEVELS)
    for position in np.flatnonzero(unknown.to_numpy()):
        problems.add("unknown_level", _unknown(given.iloc[position], "level", "a roster level", []),
                     record=labels.iloc[position], fix=f"use one of {named}")
    read = read.where(~unknown)
    roles = roles.mask(roles.eq("leader") & read.isin(list(LEVEL_LEADERS)), read.map(LEVEL_LEADERS))
    defaults = roles.map(lambda role: ROLE_LEVELS[role][0] if isinstance(role, str) else None)
    levels = read.where(read.notna(), defaults).where(~unknown)
    wrong = [isinstance(role, str) and isinstance(level, str) and level not in ROLE_LEVELS[role]
             for role, level in zip(roles, levels, strict=True)]
    for position in np.flatnonzero(wrong):
        role, level = roles.iloc[position], levels.iloc[position]
        serves = " or ".join(ROLE_LEVELS[role])
        problems.add("role_level", f"a {ROLE_NAMES_ZH[role]} ({role}) serves at level {serves}, not {level}",
                     record=labels.iloc[position], fix=f"give level {serves}, or the right role")
    levels = levels.where(~np.asarray(wrong, dtype=bool))
    return roles.astype(STRING_DTYPE), levels.astype(STRING_DTYPE)


def _party(table: pd.DataFrame, labels: pd.Series, problems: Report) -> pd.Series:
    if "party_member" not in table.columns:
        return pd.Series(pd.NA, index=table.index, dtype="boolean")
    values = table["party_member"].to_numpy(dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    read: list[bool | None] = []
    for k, value in enumerate(uniques):
        try:
            read.append(party_membership(value))
        except KeyError:
            read.append(None)
            for position in np.flatnonzero(codes == k):
                problems.add("unknown_party", f"party membership {value!r} says neither yes nor no",
                             record=labels.iloc[position],
                             fix=f"write 是/否 or one of {', '.join(PARTY_WORDS)}")
    converted = np.array([*read, None], dtype=object)[codes]
    return pd.Series(pd.array(list(converted), dtype="boolean"), index=table.index)


def _role_words() -> list[str]:
    return [*ROLE_NAMES_ZH.values(), *ROLE_ALIASES, *ROSTER_ROLES]


def _unknown(word: object, what: str, allowed: str, words: Iterable[str]) -> str:
    if word is None or (isinstance(word, float) and math.isnan(word)) or not str(word).strip():
        return f"the {what} is blank"
    closest = closest_word(str(word), list(words)) if words else None
    hint = f" (the closest is {closest!r})" if closest else ""
    return f"{what} {str(word)!r} is not {allowed}{hint}"


def _settle(problems: Report, report: Report | None, path) -> None:
    """Hand the problems to ``report``; without one, raise the first error (info findings are logged)."""
    if report is not None:
        report.extend(problems)
        return
    found = problems.to_frame()
    errors = found[found["severity"] == "error"]
    if len(errors):
        first = errors.iloc[0]
        more = f" (and {len(errors) - 1} more rows)" if len(errors) > 1 else ""
        raise SchemaError(f"{first['message']}{more}", path=path, record=first["record"], fix=first["fix"])
    if len(problems):
        logger.info("%s", problems.summary())
