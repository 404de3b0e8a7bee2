r"""Staffing rules as a table: which roles, at which level, how many per unit or per N households.

Each :class:`StaffingRule` says: the people of these roles serving one unit of this level (of this community
kind) must number at least ``min`` and at most ``max`` — per unit, or per ``per_households`` households
(rounded up) — and, optionally, must be party members. :meth:`StaffingRules.default` encodes the seeds;
a city writes its own in TOML (:meth:`StaffingRules.from_toml`; :meth:`StaffingRules.to_toml` writes the
defaults to start from). :func:`check_staffing` checks a roster against them.

The default rules (:data:`DEFAULT_RULES`), each with its seed:

1. 网格指导员, grid, 1 or more — 000, "1+1+1+N";
2. 网格长, grid, exactly 1 — 000;
3. 专职网格员, grid, 1 or more — 000;
4. 兼职/定岗网格员, 医生 and 民警 together (the N), grid, 0 or more — 000;
5. 网格长 + 专职 + 兼职/定岗网格员 (网格员), grid, 3–4 — 001, 每个网格配备3—4名网格员;
6. 微网格员, micro-grid, 1 or more — 003;
7. 辅警, rural community (村), 1 or more — 003, 一村一辅警;
8. 法律明白人, community, 10 or more — 003;
9. 党建网格长, a party member, community, exactly 1 — 003, "双长";
10. 综治网格长, community, exactly 1 — 003, "双长";
11–13. 县(区)级, 乡镇(街道)级 and 村(社区)级网格长, exactly 1 per district, street, community — 003.

Examples
--------
>>> rules = StaffingRules.default()
>>> print(rules.to_frame().loc[4, ["role", "level", "min", "max"]].to_string())
role     leader+full_time+member
level                                     grid
min                                          3
max                                          4
>>> rule = StaffingRule(role="辅警", level="村", min=1, kind="农村")
>>> rule.role, rule.level, rule.kind, rule.label
(('auxiliary_police',), 'community', 'rural', '社区/村: 辅警 1–')
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gridmap.errors import GridmapError, ReadError
from gridmap.findings import Report
from gridmap.io import record_labels
from gridmap.io._columns import STRING_DTYPE
from gridmap.people.roster import as_roster, public_roster
from gridmap.people.units import units_from_grids
from gridmap.schema import (
    COMMUNITY_KIND_WORDS,
    COMMUNITY_KINDS,
    LEVELS,
    ROLE_LEVELS,
    ROLE_NAMES_ZH,
    ROSTER_LEVEL_NAMES_ZH,
    ROSTER_LEVELS,
    ROSTER_ROLES,
    people_level,
    roster_role,
    vocabulary_key,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["StaffingRule", "StaffingRules", "check_staffing", "DEFAULT_RULES", "MAX_PEOPLE", "MAX_HOUSEHOLDS"]

#: The most people a rule may ask for in one unit (a larger count is a typing error).
MAX_PEOPLE = 100_000
#: The largest ``per_households`` a rule may give.
MAX_HOUSEHOLDS = 10_000_000
_WORKERS = ("leader", "full_time", "member")
#: Short Chinese names of the groups of roles the default rules count together.
_GROUP_NAMES: dict[tuple[str, ...], str] = {_WORKERS: "网格员", ("member", "doctor", "police"): "定岗网格员"}

#: The seeds' rules (see the module's table); :meth:`StaffingRules.default` reads them.
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"role": "instructor", "level": "grid", "min": 1,
     "description": "1+1+1+N: 1 网格指导员 per grid (000, Nanning)"},
    {"role": "leader", "level": "grid", "min": 1, "max": 1,
     "description": "1+1+1+N: 1 网格长 per grid (000, Nanning)"},
    {"role": "full_time", "level": "grid", "min": 1,
     "description": "1+1+1+N: 1 专职网格员 per grid (000, Nanning)"},
    {"role": ["member", "doctor", "police"], "level": "grid", "min": 0,
     "description": "1+1+1+N: N 定岗网格员 such as 医护人员 and 公安干警 (000, Nanning)"},
    {"role": list(_WORKERS), "level": "grid", "min": 3, "max": 4,
     "description": "每个网格配备3—4名网格员: 3-4 grid workers (网格长, 专职, 兼职) per grid (001, Nanning)"},
    {"role": "micro_worker", "level": "micro", "min": 1,
     "description": "a 微网格员 for each micro-grid (003, Guilin: 28,493 micro-grids)"},
    {"role": "auxiliary_police", "level": "community", "min": 1, "kind": "rural",
     "description": "一村一辅警: an auxiliary police officer in every administrative village (003, Guilin)"},
    {"role": "legal_helper", "level": "community", "min": 10,
     "description": "10名以上法律明白人 in every village or community (003, Guilin)"},
    {"role": "party_leader", "level": "community", "min": 1, "max": 1, "party_required": True,
     "description": "双长: a 党建网格长 in every village (003, Lipu: 288 posts in 144 villages)"},
    {"role": "order_leader", "level": "community", "min": 1, "max": 1,
     "description": "双长: a 综治网格长 in every village (003, Lipu: 288 posts in 144 villages)"},
    {"role": "district_leader", "level": "district", "min": 1, "max": 1,
     "description": "三级网格长: the county head is the first-level 网格长 (003, Guilin)"},
    {"role": "street_leader", "level": "street", "min": 1, "max": 1,
     "description": "三级网格长: the township head is the second-level 网格长 (003, Guilin)"},
    {"role": "village_leader", "level": "community", "min": 1, "max": 1,
     "description": "三级网格长: the village secretary is the third-level 网格长 (003, Guilin)"},
)
_KEYS = ("role", "level", "min", "max", "per_households", "party_required", "kind", "description")
_KIND_BY_KEY = {vocabulary_key(word): kind for word, kind in COMMUNITY_KIND_WORDS.items()}
_KIND_BY_KEY.update({kind: kind for kind in COMMUNITY_KINDS})


@dataclass(frozen=True)
class StaffingRule:
    """One staffing rule: the people of ``role`` at each unit of ``level`` number ``min``–``max``.

    Parameters
    ----------
    role : str or sequence of str
        The role or roles counted together (keys of :data:`~gridmap.schema.ROSTER_ROLES`, their Chinese
        names or aliases).
    level : str
        The level of the units (:data:`~gridmap.schema.ROSTER_LEVELS` or a Chinese word: 网格, 社区 …);
        every role must serve at it (:data:`~gridmap.schema.ROLE_LEVELS`).
    min : int, default 0
        Fewest people per unit (per ``per_households`` households when given), 0–:data:`MAX_PEOPLE`.
    max : int, optional
        Most people per unit (likewise), at least ``min``; None for no limit.
    per_households : int, optional
        Count ``min`` and ``max`` per this many households of the unit, rounded up (a unit of 1,200
        households with ``min=1, per_households=500`` needs 3).
    party_required : bool, default False
        The people of these roles must be party members (党员).
    kind : str, optional
        Only communities of this kind: ``urban`` (社区) or ``rural`` (村); level community only.
    description : str, optional
        What the rule is and the seed or document it comes from.

    Raises
    ------
    GridmapError
        An unknown role, level or kind, a count that is negative, not whole or implausibly large, ``max``
        below ``min``; the message says what is allowed.
    """

    role: tuple[str, ...]
    level: str
    min: int = 0
    max: int | None = None
    per_households: int | None = None
    party_required: bool = False
    kind: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        words = [self.role] if isinstance(self.role, str) else list(self.role)
        roles = tuple(dict.fromkeys(_role(word) for word in words))
        if not roles:
            raise GridmapError("the rule names no role", record="role", fix="give role = a role or a list")
        level = _level(self.level)
        for role in roles:
            if level not in ROLE_LEVELS[role]:
                raise GridmapError(f"{ROLE_NAMES_ZH[role]} ({role}) do not serve at level {level}",
                                   record="level",
                                   fix=f"give level {' or '.join(ROLE_LEVELS[role])} for {role}")
        object.__setattr__(self, "role", roles)
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "min", _count(self.min, "min", MAX_PEOPLE))
        if self.max is not None:
            object.__setattr__(self, "max", _count(self.max, "max", MAX_PEOPLE))
            if self.max < self.min:
                raise GridmapError(f"max = {self.max} is below min = {self.min}", record="max",
                                   fix="give max >= min, or leave max out")
        if self.per_households is not None:
            per = _count(self.per_households, "per_households", MAX_HOUSEHOLDS)
            if per == 0:
                raise GridmapError("per_households = 0", record="per_households",
                                   fix="give a number of households of 1 or more, or leave it out")
            object.__setattr__(self, "per_households", per)
        if not isinstance(self.party_required, (bool, np.bool_)):
            raise GridmapError(f"party_required = {self.party_required!r} is not true or false",
                               record="party_required", fix="write party_required = true or false")
        object.__setattr__(self, "party_required", bool(self.party_required))
        object.__setattr__(self, "kind", self._checked_kind())
        object.__setattr__(self, "description", "" if self.description is None else str(self.description))

    def _checked_kind(self) -> str | None:
        if self.kind is None:
            return None
        kind = _KIND_BY_KEY.get(vocabulary_key(str(self.kind)))
        if kind is None:
            raise GridmapError(f"kind = {self.kind!r} is not a kind of community", record="kind",
                               fix=f"give kind one of {', '.join(COMMUNITY_KINDS)} (社区 urban, 村 rural)")
        if self.level != "community":
            raise GridmapError(f"kind = {kind!r} applies to communities, not to level {self.level}",
                               record="kind", fix="leave kind out, or give level community")
        return kind

    @property
    def roles_zh(self) -> str:
        """The roles in Chinese: one role's name, a group's (网格员), or the names joined by ``+``."""
        return _GROUP_NAMES.get(self.role) or "+".join(ROLE_NAMES_ZH[role] for role in self.role)

    @property
    def label(self) -> str:
        """The rule in Chinese: roles, level and range (``网格: 网格长 1–1``)."""
        roles = self.roles_zh
        upper = "" if self.max is None else str(self.max)
        per = f"/{self.per_households}户" if self.per_households else ""
        return f"{ROSTER_LEVEL_NAMES_ZH[self.level]}: {roles} {self.min}–{upper}{per}"


class StaffingRules:
    """A table of staffing rules (iterable, indexable from 0; reports number them from 1).

    Parameters
    ----------
    rules : iterable of StaffingRule or mappings
        The rules, or mappings with the keys of :class:`StaffingRule`.

    Examples
    --------
    >>> rules = StaffingRules([{"role": "专职网格员", "level": "网格", "min": 1, "per_households": 500}])
    >>> len(rules), rules[0].role, rules[0].per_households
    (1, ('full_time',), 500)
    """

    def __init__(self, rules: Iterable[StaffingRule | Mapping[str, Any]] = ()) -> None:
        self._rules = tuple(_from_records(rules))

    @classmethod
    def default(cls) -> StaffingRules:
        """Return the rules of the seeds (:data:`DEFAULT_RULES`)."""
        return cls(DEFAULT_RULES)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> StaffingRules:
        r"""Read a city's rules from TOML: one ``[[rule]]`` table per rule, keys of :class:`StaffingRule`.

        Raises
        ------
        GridmapError
            The file is not UTF-8 TOML, has no ``[[rule]]``, or a rule has an unknown key or a bad value;
            the message names the file, the rule (``rule 3``, counted from 1) and the fix.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "rules.toml"
        >>> _ = path.write_text('[[rule]]\nrole = "网格长"\nlevel = "网格"\nmin = 1\nmax = 1\n',
        ...                     encoding="utf-8")
        >>> StaffingRules.from_toml(path).to_frame()[["role", "level", "min", "max"]]
             role level  min  max
        0  leader  grid    1    1
        >>> _ = path.write_text('[[rule]]\nrole = "网格长"\nlevel = "网格"\nmin = -1\n', encoding="utf-8")
        >>> StaffingRules.from_toml(path)
        Traceback (most recent call last):
        ...
        gridmap.errors.GridmapError: ...rules.toml, rule 1 (min): min = -1 is negative. Fix: ...
        """
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ReadError(f"cannot read staffing rules: {exc}", path=path,
                            fix="give a UTF-8 TOML file of [[rule]] tables (see gridmap.people.StaffingRules)"
                            ) from exc
        others = sorted(set(data) - {"rule"})
        if others or not isinstance(data.get("rule"), list):
            found = f"keys {', '.join(others)}" if others else "no [[rule]] table"
            raise GridmapError(f"the staffing rules file has {found}", path=path,
                               fix='write each rule as a [[rule]] table: role = "网格长", level = "网格", '
                                   'min = 1')
        return cls(_from_records(data["rule"], path=path))

    def to_toml(self) -> str:
        r"""Return the rules as TOML that :meth:`from_toml` reads back.

        Examples
        --------
        >>> print("\n".join(StaffingRules.default().to_toml().splitlines()[1:6]))
        [[rule]]
        role = "instructor"
        level = "grid"
        min = 1
        description = "1+1+1+N: 1 网格指导员 per grid (000, Nanning)"
        """
        lines = ["# staffing rules for gridmap staffing --rules (keys: gridmap.people.StaffingRule)"]
        for rule in self._rules:
            lines.append("[[rule]]")
            for key, value in asdict(rule).items():
                if value is None or (key in ("party_required", "description") and not value):
                    continue
                lines.append(f"{key} = {_toml_value(value)}")
            lines.append("")
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """Return the rules as a table: role (``+`` between roles counted together), level, min, max, …."""
        rows = [{**asdict(rule), "role": "+".join(rule.role), "label": rule.label} for rule in self._rules]
        frame = pd.DataFrame(rows, columns=[*_KEYS, "label"])
        frame.index = pd.RangeIndex(len(frame))
        for column in ("max", "per_households"):
            frame[column] = frame[column].astype("Int64")
        return frame.astype({"min": "int64", "party_required": bool})

    def __iter__(self) -> Iterator[StaffingRule]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, index: int) -> StaffingRule:
        return self._rules[index]

    def __repr__(self) -> str:
        return f"StaffingRules({len(self)} rules)\n" + self.to_frame().drop(columns="description").to_string()


def check_staffing(roster: pd.DataFrame, grids: pd.DataFrame, *, rules: StaffingRules | None = None,
                   units: pd.DataFrame | Sequence[pd.DataFrame] | None = None,
                   show_contacts: bool = False) -> Report:
    """Check a roster against staffing rules: every unit breaking a rule, vacancies, people at retired units.

    Findings, each with the ``unit_code`` it is about:

    * ``understaffed`` (error) — fewer people than a rule's minimum: ``present``, ``required``,
      ``vacancies`` (= required − present);
    * ``overstaffed`` (error) — more than its maximum: ``present``, ``allowed``, ``excess``;
    * ``not_party_member`` (error) / ``party_unknown`` (warning) — people of a rule asking for party
      members who are not, or whose membership the roster does not say;
    * ``unknown_unit`` (error) — people serving a code that is no unit of its level (a retired grid):
      ``people`` and their roles;
    * ``no_households`` (warning) — a rule per households at a unit whose households are unknown (skipped);
    * ``duplicate_person`` (warning) — the same person, role and unit twice (counted once);
      ``person_conflict`` (warning) — one person id with two names;
    * ``no_units`` (info) — a rule or people at a level without units (micro-grids, buildings: pass
      ``units``).

    No finding names a person: the records are unit codes and the roster's row labels.

    Parameters
    ----------
    roster : pandas.DataFrame
        A roster (:func:`~gridmap.people.read_roster`), or any table it reads (``staff.csv``).
    grids : pandas.DataFrame or geopandas.GeoDataFrame
        ``code``, optional ``community_code``, ``households``, ``name``. The communities, streets and
        districts are derived from the codes (:func:`~gridmap.people.units.units_from_grids`).
    rules : StaffingRules, optional
        Default :meth:`StaffingRules.default`.
    units : DataFrame or sequence of DataFrames, optional
        Admin layers, the buildings layer (``unit_id``: units of level ``building``) or units of other
        levels (micro-grids, buildings) with ``code`` and ``level``; see
        :func:`~gridmap.people.units.units_from_grids`.
    show_contacts : bool, default False
        Add the phones of the named people to the tables (never to the findings).

    Returns
    -------
    gridmap.Report
        Tables: ``rules`` (the rules checked, numbered from 1), ``checks`` (one row per unit and rule:
        ``present``, ``required``, ``allowed``, ``vacancies``, ``excess``, ``broken``), one table per
        level with units (``district``, ``street``, ``community``, ``grid``, and ``micro``/``building``
        when given), keyed by ``code``: people per role, ``households``, ``households_per_worker``
        (households per 专职网格员 of the unit or its grids), ``vacancies`` (posts to fill so that every
        minimum is met), ``rules_broken``, the public names of :func:`~gridmap.people.public_roster` and a
        Chinese ``label`` for maps.

    Examples
    --------
    >>> grids = pd.DataFrame({"code": ["450102001003001", "450102001003002"], "households": [420, 380]})
    >>> roster = pd.DataFrame({"grid_code": ["450102001003001"] * 4 + ["450102001003009"],
    ...                        "role": ["网格指导员", "网格长", "专职网格员", "兼职网格员", "网格长"],
    ...                        "name": ["甲", "黄丽", "李强", "丙", "丁"]})
    >>> rules = StaffingRules(DEFAULT_RULES[:5])
    >>> report = check_staffing(roster, grids, rules=rules)
    >>> report.to_frame()[["check", "record", "rule", "present", "required"]]
              check           record  rule  present  required
    0  unknown_unit  450102001003009   NaN      NaN       NaN
    1  understaffed  450102001003002   1.0      0.0       1.0
    2  understaffed  450102001003002   2.0      0.0       1.0
    3  understaffed  450102001003002   3.0      0.0       1.0
    4  understaffed  450102001003002   5.0      0.0       3.0
    >>> print(report.to_frame()["message"].iloc[4])
    grid 450102001003002 has 0 网格员, 3 required: 3 to fill (rule 5: 每个网格配备3—4名网格员:
    3-4 grid workers (网格长, 专职, 兼职) per grid (001, Nanning))
    >>> print(report.tables["grid"][["code", "vacancies", "label"]].to_string(index=False))
               code  vacancies                          label
    450102001003001          0 网格长：黄丽；专职网格员：李强；兼职/定岗网格员：丙
    450102001003002          4 缺员 4（网格指导员、网格长、专职网格员、网格员）
    """
    rules = StaffingRules.default() if rules is None else rules
    report = Report("staffing rules")
    table = units_from_grids(grids, units)
    people = _people(as_roster(roster), report)
    people = _at_known_units(people, table, report)
    counts = _counts(people, table)
    rows = [_apply(number, rule, table, counts, people, report) for number, rule in enumerate(rules, 1)]
    checked = _checks_table([part for part in rows if part is not None])
    report.tables["rules"] = rules.to_frame().assign(rule=lambda f: f.index + 1)
    report.tables["checks"] = checked
    public = public_roster(people, show_contacts=show_contacts) if len(people) else None
    for level in ROSTER_LEVELS:
        at_level = table[table["level"].eq(level)]
        if len(at_level):
            report.tables[level] = _level_table(at_level, counts, checked, rules, table, public)
    return report


# --- rules from records ----------------------------------------------------------------------------------

def _from_records(records: Iterable[StaffingRule | Mapping[str, Any]], *,
                  path: str | os.PathLike | None = None) -> Iterator[StaffingRule]:
    for number, record in enumerate(records, 1):
        if isinstance(record, StaffingRule):
            yield record
            continue
        where = f"rule {number}"
        if not isinstance(record, Mapping):
            raise GridmapError(f"{where} is {record!r}, not a table of keys", path=path,
                               fix="write each rule as a [[rule]] table")
        unknown = [key for key in record if key not in _KEYS]
        if unknown:
            raise GridmapError(f"{where} has unknown keys {', '.join(map(str, unknown))}", path=path,
                               record=f"{where} ({unknown[0]})", fix=f"use only the keys {', '.join(_KEYS)}")
        for key in ("role", "level"):
            if key not in record:
                raise GridmapError(f"{where} has no {key}", path=path, record=where,
                                   fix='give role (e.g. "网格长") and level (e.g. "网格")')
        try:
            yield StaffingRule(**record)
        except GridmapError as exc:
            record_name = f"{where} ({exc.record})" if exc.record else where
            raise GridmapError(exc.problem, path=path if path is not None else exc.path, record=record_name,
                               fix=exc.fix) from None


def _role(word: object) -> str:
    role = roster_role(word)
    if role is None:
        known = ", ".join(f"{key} ({ROLE_NAMES_ZH[key]})" for key in ROSTER_ROLES)
        raise GridmapError(f"role {word!r} is not a roster role", record="role", fix=f"use one of {known}")
    return role


def _level(word: object) -> str:
    level = people_level(word)
    if level not in ROSTER_LEVELS:
        known = ", ".join(f"{key} ({ROSTER_LEVEL_NAMES_ZH[key]})" for key in ROSTER_LEVELS)
        raise GridmapError(f"level {word!r} is not a roster level", record="level", fix=f"use one of {known}")
    return level


def _count(value: object, key: str, most: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float)):
        raise GridmapError(f"{key} = {value!r} is not a whole number", record=key,
                           fix=f"give a whole number from 0 to {most:,} for {key}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise GridmapError(f"{key} = {value!r} is not a whole number", record=key,
                           fix=f"give a whole number from 0 to {most:,} for {key}")
    if value < 0:
        raise GridmapError(f"{key} = {value} is negative", record=key,
                           fix=f"give a whole number from 0 to {most:,} for {key}")
    if value > most:
        raise GridmapError(f"{key} = {value:,} is more than any unit holds", record=key,
                           fix=f"give a whole number from 0 to {most:,} for {key}")
    return int(value)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return _toml_value(value[0]) if len(value) == 1 else "[" + ", ".join(map(_toml_value, value)) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


# --- checking --------------------------------------------------------------------------------------------

def _people(roster: pd.DataFrame, report: Report) -> pd.DataFrame:
    """Return the roster's countable rows, repeats dropped (``duplicate_person``, ``person_conflict``)."""
    labels = record_labels(roster)
    usable = roster["role"].notna() & roster["level"].notna() & roster["unit_code"].notna()
    people = roster[usable.to_numpy()].assign(row=labels[usable.to_numpy()].to_numpy())
    repeated = people.duplicated(["person_id", "role", "level", "unit_code"])
    if repeated.any():
        twice = people[repeated.to_numpy()]
        report.add_many("duplicate_person", "{row} repeats an earlier row (same person, role and unit): "
                        "counted once", records=twice["unit_code"].to_numpy(), severity="warning",
                        unit_code=twice["unit_code"].to_numpy(), row=twice["row"].to_numpy(),
                        fix="delete the repeated row")
    people = people[~repeated.to_numpy()]
    names = people.dropna(subset=["name"]).groupby("person_id")["name"].nunique()
    for person in names.index[names.to_numpy() > 1]:
        rows = people.loc[people["person_id"].eq(person).to_numpy(), "row"]
        report.add("person_conflict", f"{', '.join(rows)} give one person id two names", severity="warning",
                   record=", ".join(rows), fix="give each person one id and one name")
    return people


def _at_known_units(people: pd.DataFrame, table: pd.DataFrame, report: Report) -> pd.DataFrame:
    """People at units of ``table``; the others are ``unknown_unit`` (or ``no_units`` at unlisted levels)."""
    listed = set(table["level"])
    key = people["level"] + "|" + people["unit_code"]
    known = key.isin(set(table["level"] + "|" + table["code"]))
    checkable = people["level"].isin(listed)
    for level in sorted(set(people.loc[~checkable.to_numpy(), "level"])):
        n = int((people["level"] == level).sum())
        report.add("no_units", f"{n} people serve {ROSTER_LEVEL_NAMES_ZH[level]} units, which were not "
                   "given: their codes are not checked and no rule counts them", severity="info",
                   record=level,
                   fix=f"pass units= with the {level} units (code, level)")
    unknown = people[(~known & checkable).to_numpy()]
    if len(unknown):
        groups = unknown.groupby(["level", "unit_code"], sort=True)["role"]
        summary = groups.agg(lambda roles: "、".join(f"{ROLE_NAMES_ZH[r]} {n}" for r, n in
                                                    roles.value_counts(sort=False).items()))
        sizes = groups.size()
        levels = summary.index.get_level_values(0).to_numpy()
        codes = summary.index.get_level_values(1).to_numpy()
        report.add_many("unknown_unit", "{level} {unit_code} is not a unit of the grids (a retired or "
                        "mistyped code), yet {people} on the roster serve it: {roles}", records=codes,
                        unit_code=codes,
                        level=levels, people=sizes.to_numpy(), roles=summary.to_numpy(),
                        role=groups.first().to_numpy(),
                        fix="move them to the unit that replaced it, or correct the code")
    return people[(known | ~checkable).to_numpy()]


def _counts(people: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """People per role (columns) and unit (rows: ``table``'s order)."""
    key = people["level"] + "|" + people["unit_code"]
    counts = (pd.crosstab(key, people["role"]) if len(people)
              else pd.DataFrame(index=pd.Index([], dtype=object)))
    index = table["level"] + "|" + table["code"]
    counts = counts.reindex(index=index, columns=list(ROSTER_ROLES), fill_value=0).fillna(0).astype("int64")
    return counts.set_axis(table.index)


def _apply(number: int, rule: StaffingRule, table: pd.DataFrame, counts: pd.DataFrame, people: pd.DataFrame,
           report: Report) -> dict[str, np.ndarray] | None:
    """Check one rule at every unit it applies to; return its rows of the ``checks`` table as columns."""
    levels = table["level"].to_numpy(dtype=object)
    applies = levels == rule.level
    if rule.kind is not None:
        applies &= table["kind"].to_numpy(dtype=object) == rule.kind
    if not applies.any():
        if not (levels == rule.level).any():
            report.add("no_units", f"rule {number} ({rule.label}) is not checked: no {rule.level} units were "
                       "given", severity="info", record=f"rule {number}",
                       fix=f"pass units= with the {rule.level} units (code, level)")
        return None
    n = int(applies.sum())
    households = pd.to_numeric(table["households"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    columns = [ROSTER_ROLES.index(role) for role in rule.role]
    present = counts.to_numpy()[applies][:, columns].sum(axis=1).astype(float)
    required, allowed = _bounds(rule, households[applies])
    rows = {"code": table["code"].to_numpy(dtype=object)[applies],
            "level": np.full(n, rule.level, dtype=object),
            "rule": np.full(n, number), "role": np.full(n, "+".join(rule.role), dtype=object),
            "households": households[applies], "present": present, "required": required, "allowed": allowed,
            "vacancies": np.maximum(required - present, 0), "excess": np.maximum(present - allowed, 0)}
    rows["broken"] = (np.nan_to_num(rows["vacancies"]) > 0) | (np.nan_to_num(rows["excess"]) > 0)
    _report_rule(rule, rows, report)
    if rule.party_required:
        _report_party(number, rule, set(rows["code"]), people, report)
    return rows


def _bounds(rule: StaffingRule, households: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the least and most people each unit needs (NaN: no maximum, or households unknown)."""
    blocks = np.ceil(households / rule.per_households) if rule.per_households else np.ones(len(households))
    allowed = blocks * rule.max if rule.max is not None else np.full(len(households), np.nan)
    return blocks * rule.min, allowed


def _checks_table(rows: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """Return the ``checks`` table: one row per unit and rule, counts as nullable integers."""
    columns = ["code", "level", "rule", "role", "households", "present", "required", "allowed", "vacancies",
               "excess", "broken"]
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame({column: np.concatenate([part[column] for part in rows]) for column in columns})
    for column in ("households", "present", "required", "allowed", "vacancies", "excess"):
        table[column] = pd.array(table[column].to_numpy(), dtype="Float64").astype("Int64")
    return table.astype({"code": STRING_DTYPE, "level": STRING_DTYPE, "role": STRING_DTYPE, "rule": "int64",
                         "broken": bool})


def _report_rule(rule: StaffingRule, rows: dict[str, np.ndarray], report: Report) -> None:
    """Add the rule's ``understaffed``, ``overstaffed`` and ``no_households`` findings."""
    role_zh = rule.roles_zh
    number = int(rows["rule"][0])
    where = f"rule {number}: {rule.description or rule.label}".replace("{", "{{").replace("}", "}}")
    common = {"unit_code": rows["code"], "level": rows["level"], "role": rows["role"], "rule": rows["rule"],
              "role_zh": np.full(len(rows["code"]), role_zh, dtype=object)}
    short = np.nan_to_num(rows["vacancies"]) > 0
    if short.any():
        report.add_many("understaffed", "{level} {unit_code} has {present} {role_zh}, {required} required: "
                        "{vacancies} to fill (" + where + ")", records=rows["code"][short],
                        **{key: values[short] for key, values in common.items()},
                        present=rows["present"][short].astype("int64"),
                        required=rows["required"][short].astype("int64"),
                        vacancies=rows["vacancies"][short].astype("int64"),
                        fix=f"appoint the missing {role_zh}, or correct the roster")
    over = np.nan_to_num(rows["excess"]) > 0
    if over.any():
        report.add_many("overstaffed", "{level} {unit_code} has {present} {role_zh}, at most {allowed} "
                        "allowed (" + where + ")", records=rows["code"][over],
                        **{key: values[over] for key, values in common.items()},
                        present=rows["present"][over].astype("int64"),
                        allowed=rows["allowed"][over].astype("int64"),
                        excess=rows["excess"][over].astype("int64"),
                        fix="move the extra people to a unit that lacks them, or correct the roster")
    unknown = np.isnan(rows["required"])
    if unknown.any():
        report.add_many("no_households", "{level} {unit_code}: households unknown, rule {rule} (per "
                        "households) not checked", records=rows["code"][unknown],
                        **{key: values[unknown] for key, values in common.items()}, severity="warning",
                        fix="give the grids' households (户数)")


def _report_party(number: int, rule: StaffingRule, units: set[str], people: pd.DataFrame,
                  report: Report) -> None:
    """Add ``not_party_member`` and ``party_unknown`` for a rule asking for party members."""
    mine = people[people["role"].isin(rule.role).to_numpy() & people["level"].eq(rule.level).to_numpy()
                  & people["unit_code"].isin(units).to_numpy()]
    kinds = (("not_party_member", "error", mine["party_member"].eq(False), "are not"),
             ("party_unknown", "warning", mine["party_member"].isna(), "may not be"))
    for check, severity, mask, says in kinds:
        found = mine[mask.fillna(False).to_numpy(dtype=bool)]
        if not len(found):
            continue
        grouped = found.groupby(["unit_code", "role"], sort=True).size()
        codes = grouped.index.get_level_values(0).to_numpy()
        roles = grouped.index.get_level_values(1).to_numpy()
        report.add_many(check, "{unit_code}: {people} {role_zh} {says} party members; rule " + str(number)
                        + " asks for party members", records=codes, unit_code=codes,
                        level=np.full(len(codes), rule.level, dtype=object), role=roles,
                        role_zh=np.array([ROLE_NAMES_ZH[r] for r in roles], dtype=object),
                        people=grouped.to_numpy(), says=np.full(len(codes), says),
                        rule=np.full(len(codes), number),
                        severity=severity, fix="appoint a party member, or fill in 政治面貌 in the roster")


# --- per-level tables ------------------------------------------------------------------------------------

def _level_table(units: pd.DataFrame, counts: pd.DataFrame, checked: pd.DataFrame, rules: StaffingRules,
                 table: pd.DataFrame, public: pd.DataFrame | None) -> pd.DataFrame:
    """Return one level's units: people per role, households per worker, rules broken, vacancies, label."""
    level = units["level"].iloc[0]
    roles = [role for role in ROSTER_ROLES if level in ROLE_LEVELS[role]]
    columns = ["code", "name", "parent_code", *(["kind"] if level == "community" else []), "households"]
    people = counts.to_numpy()[units.index.to_numpy()]
    frame = pd.DataFrame({**{column: units[column].to_numpy() for column in columns},
                          **{role: people[:, ROSTER_ROLES.index(role)] for role in roles}})
    frame["households"] = frame["households"].astype("Int64")
    frame["households_per_worker"] = _per_worker(frame, level, counts, table)
    broken = checked[checked["broken"].to_numpy() & checked["level"].eq(level).to_numpy()]
    frame["rules_broken"] = frame["code"].map(broken["code"].value_counts()).fillna(0).astype("int64")
    frame["vacancies"] = _vacancies(frame, level, roles, rules).to_numpy()
    frame = _with_names(frame, public, level)
    frame["label"] = _labels(frame, broken)
    return frame


def _per_worker(frame: pd.DataFrame, level: str, counts: pd.DataFrame, table: pd.DataFrame) -> np.ndarray:
    """Households per 专职网格员: of the grid, or of all the grids of a higher unit."""
    if level == "grid":
        workers = frame["full_time"].to_numpy(dtype=float)
    elif level in LEVELS:
        grids = table["level"].eq("grid").to_numpy()
        prefix = table["parent_code"][grids].str[:len(frame["code"].iloc[0])]
        which, prefixes = pd.factorize(prefix)  # NA prefixes: -1, counted nowhere
        full_time = counts["full_time"].to_numpy(dtype=float)[grids]
        totals = np.bincount(which[which >= 0], weights=full_time[which >= 0], minlength=len(prefixes))
        found = pd.Index(prefixes).get_indexer(frame["code"])
        workers = np.where(found >= 0, totals[found], 0.0)
    else:
        return np.full(len(frame), np.nan)
    households = pd.to_numeric(frame["households"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(workers > 0, households / workers, np.nan)


def _vacancies(frame: pd.DataFrame, level: str, roles: list[str], rules: StaffingRules) -> pd.Series:
    """Count the posts to fill so that every rule's minimum is met: single-role rules first, then the rest.

    The posts a rule over several roles still lacks go to one of its roles that no rule caps at this level.
    """
    hires = {role: np.zeros(len(frame), dtype=np.int64) for role in roles}
    mine = [rule for rule in rules if rule.level == level]
    capped = {role for rule in mine if rule.max is not None for role in rule.role}
    households = pd.to_numeric(frame["households"], errors="coerce").astype("Float64")
    for rule in sorted(mine, key=lambda r: len(r.role) > 1):
        applies = np.ones(len(frame), dtype=bool)
        if rule.kind is not None:
            applies = frame["kind"].eq(rule.kind).fillna(False).to_numpy(dtype=bool)
        need = (np.ceil(households / rule.per_households) * rule.min if rule.per_households
                else pd.Series(rule.min, index=frame.index, dtype="Float64"))
        need_values = need.fillna(0).to_numpy(dtype=float)
        have = sum(frame[role].to_numpy() + hires[role] for role in rule.role)
        short = np.where(applies, np.maximum(0, need_values - have), 0).astype(np.int64)
        target = next((role for role in rule.role if role not in capped), rule.role[0])
        hires[target] = hires[target] + short
    total = sum(hires.values(), np.zeros(len(frame), dtype=np.int64))
    return pd.Series(total, index=frame.index, dtype="int64")


def _with_names(frame: pd.DataFrame, public: pd.DataFrame | None, level: str) -> pd.DataFrame:
    """Add the public names (``leader_name`` …) and, when ``public`` has them, phones, joined by 、."""
    if public is None:
        return frame
    named = public[public["name"].notna().to_numpy() & public["level"].eq(level).to_numpy()]
    roles = named["role"].to_numpy(dtype=object)
    for role in ("leader", "full_time", "member"):
        mine = roles == role
        if not mine.any():
            continue
        of_role = named[mine]
        for column in ("name", "phone"):
            if column in of_role.columns:
                values = frame["code"].map(_joined(of_role[column], of_role["unit_code"]))
                if values.notna().any():
                    frame[f"{role}_{column}"] = values
    return frame


def _joined(values: pd.Series, units: pd.Series) -> pd.Series:
    """Join the values of each unit with 、 in order (a pass per position in the unit, no loop per unit)."""
    unit, uniques = pd.factorize(units.to_numpy())
    text = values.fillna("").astype(str).to_numpy(dtype=object)
    order = np.argsort(unit, kind="stable")
    order = order[unit[order] >= 0]
    unit, text = unit[order], text[order]
    first = np.r_[True, unit[1:] != unit[:-1]] if len(unit) else np.zeros(0, dtype=bool)
    position = np.arange(len(unit)) - np.maximum.accumulate(np.where(first, np.arange(len(unit)), 0))
    joined = text[first]
    for number in range(1, int(position.max(initial=0)) + 1):
        at = position == number
        joined[unit[at]] = joined[unit[at]] + "、" + text[at]
    return pd.Series(joined, index=pd.Index(uniques, name="unit"), dtype=STRING_DTYPE)


def _labels(frame: pd.DataFrame, broken: pd.DataFrame) -> pd.Series:
    """Return a Chinese label per unit for map popups: its named leaders and workers, and what it lacks."""
    parts = []
    for role in ("leader", "full_time", "member"):
        column = f"{role}_name"
        if column in frame.columns:
            parts.append([f"{ROLE_NAMES_ZH[role]}：{names}" if isinstance(names, str) else ""
                          for names in frame[column].to_numpy(dtype=object)])
    short = broken[broken["vacancies"].fillna(0).gt(0)] if len(broken) else broken
    roles: dict[str, list[str]] = {}
    for code, role in zip(short["code"], short["role"], strict=True):
        roles.setdefault(code, []).append(role)
    lacking = {code: "、".join(_role_words(listed)) for code, listed in roles.items()}
    parts.append([f"缺员 {vacancies}（{lacking.get(code, '')}）" if vacancies > 0 else ""
                  for code, vacancies in zip(frame["code"], frame["vacancies"].to_numpy(), strict=True)])
    return pd.Series(["；".join(p for p in row if p) for row in zip(*parts, strict=True)], index=frame.index)


def _role_words(roles: Iterable[str]) -> list[str]:
    words = []
    for role in roles:
        word = "网格员" if "+" in role else ROLE_NAMES_ZH[role]
        if word not in words:
            words.append(word)
    return words
