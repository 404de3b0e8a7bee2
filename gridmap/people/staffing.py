r"""Grid staff, "1+1+1+N": one instructor, one leader, one full-time worker and N members per grid.

Each grid has 1 grid instructor (网格指导员, usually a community cadre, who may instruct several grids),
1 grid leader (网格长), 1 full-time grid worker (专职网格员) and N assigned members (定岗网格员: doctors,
police officers …). :func:`read_staff` reads a roster; :func:`check` finds the gaps.

Examples
--------
>>> import pandas as pd
>>> grids = pd.DataFrame({"code": ["450102001003001", "450102001003002"],
...                       "community_code": ["450102001003"] * 2, "households": [420, 380]})
>>> staff = pd.DataFrame({"grid_code": ["450102001003001"] * 3 + ["450102001003002", "450102001003009"],
...                       "role": ["网格指导员", "网格长", "专职网格员", "网格长", "网格长"]})
>>> report = check(grids, staff)
>>> report.to_frame()[["check", "record"]]
           check           record
0   unknown_grid  450102001003009
1  no_instructor  450102001003002
2   no_full_time  450102001003002
>>> report.tables["grids"][["code", "instructors", "leaders", "full_time", "households_per_worker"]]
              code  instructors  leaders  full_time  households_per_worker
0  450102001003001            1        1          1                  420.0
1  450102001003002            0        1          0                    NaN
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from gridmap.errors import SchemaError
from gridmap.findings import Report
from gridmap.people.roster import as_roster, read_roster
from gridmap.schema import STAFF_ROLES, roster_role

__all__ = ["read_staff", "grid_staff", "check", "normalize_roles"]

_COUNTS = {"instructor": "instructors", "leader": "leaders", "full_time": "full_time", "member": "members"}
_LEVEL_KEYS = {"community": "community_code", "street": "street_code", "district": "district_code"}
_STR = "str" if int(pd.__version__.split(".")[0]) >= 3 else object


def normalize_roles(roles: pd.Series) -> pd.Series:
    """Map role names (English or Chinese) to role keys (:func:`gridmap.schema.roster_role`); NA if unknown.

    Examples
    --------
    >>> normalize_roles(pd.Series(["网格长", "专职网格员", "Member", "保安"])).tolist()
    ['leader', 'full_time', 'member', nan]
    """
    codes, words = pd.factorize(roles)  # each distinct word looked up once
    keys = pd.array([roster_role(word) for word in words], dtype=_STR).take(codes, allow_fill=True)
    return pd.Series(keys, index=roles.index, name=roles.name)


def read_staff(path: str | os.PathLike, *, sheet: str | None = None, encoding: str | None = None,
               report: Report | None = None) -> pd.DataFrame:
    r"""Read a roster and return its grid staff: :func:`~gridmap.people.read_roster` then :func:`grid_staff`.

    Parameters
    ----------
    path : str or os.PathLike
        CSV or Excel that :func:`~gridmap.people.read_roster` reads: the old form 网格编码/grid_code,
        岗位/role, 姓名/name, 电话/phone, or a roster with roles at every level.
    sheet : str, optional
        Sheet of a workbook (default: the first).
    encoding : str, optional
        Text encoding of a CSV that is neither UTF-8 nor GBK/GB18030.
    report : gridmap.Report, optional
        Rows with an unknown role are added to it (``unknown_role``) and kept with role NA; without it
        they are an error.

    Returns
    -------
    pandas.DataFrame
        :func:`grid_staff` of the roster: ``grid_code``, ``role``, ``name``, ``phone``, ``person_id``,
        ``party_member`` and the other columns.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "staff.csv"
    >>> _ = path.write_text("网格编码,岗位,姓名,电话\n450102001003001,网格长,黄丽,13800000000\n",
    ...                     encoding="utf-8")
    >>> read_staff(path)[["grid_code", "role", "name", "phone"]]
             grid_code    role name        phone
    0  450102001003001  leader   黄丽  13800000000
    """
    return grid_staff(read_roster(path, sheet=sheet, encoding=encoding, report=report))


def grid_staff(roster: pd.DataFrame) -> pd.DataFrame:
    """Return the people of a roster who serve grids, in the ``grid_code`` form the statistics and maps read.

    Rows whose role could not be read (NA, kept by :func:`~gridmap.people.read_roster` with a report) stay,
    so :func:`check` can list them.

    Examples
    --------
    >>> roster = pd.DataFrame({"grid_code": ["G1", "G1"], "role": ["网格长", "法律明白人"],
    ...                        "name": ["黄丽", "甲"]})
    >>> grid_staff(roster)[["grid_code", "role", "name"]]
      grid_code    role name
    0        G1  leader   黄丽
    """
    roster = as_roster(roster)
    at_grid = roster["level"].eq("grid") | roster["level"].isna()
    staff = roster[at_grid.to_numpy()].rename(columns={"unit_code": "grid_code"}).drop(columns="level")
    first = ["grid_code", "role", "name", "phone", "person_id", "party_member"]
    return staff[first + [c for c in staff.columns if c not in first]]


def check(grids: pd.DataFrame, staff: pd.DataFrame) -> Report:
    """Check a roster against the grids: 1+1+1+N in every grid, no one in a grid that does not exist.

    Findings (severity error): ``no_leader`` and ``several_leaders`` (a grid needs exactly one),
    ``no_instructor``, ``no_full_time``, ``unknown_grid`` (people listed in a grid that is not in
    ``grids``), ``unknown_role``. Members (N) may be none.

    Parameters
    ----------
    grids : pandas.DataFrame or geopandas.GeoDataFrame
        ``code``, ``community_code`` (12 digits) and, optionally, ``households``.
    staff : pandas.DataFrame
        The grid staff: ``grid_code``, ``role`` (English or Chinese role names), as :func:`read_staff` or
        :func:`grid_staff` give them, or a roster (:func:`~gridmap.people.read_roster`).

    Returns
    -------
    gridmap.Report
        With tables ``grids`` (per grid: posts by role, households, households per full-time worker and
        the gaps found) and ``community``, ``street``, ``district`` (the same summed, with the number of
        grids with a gap).
    """
    if "grid_code" not in staff.columns and "role" in staff.columns:
        staff = grid_staff(staff)
    needed = ((grids, "grids", ("code", "community_code")), (staff, "staff", ("grid_code", "role")))
    for frame, name, columns in needed:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            listed = ", ".join(map(str, frame.columns))
            raise SchemaError(f"{name} have no column {missing[0]!r} (columns: {listed})",
                              fix=f"{name} need the columns {', '.join(columns)}")
    report = Report("staffing 1+1+1+N")
    roles = normalize_roles(staff["role"])
    for position in np.flatnonzero((roles.isna() & staff["role"].notna()).to_numpy()):
        report.add("unknown_role", f"role {staff['role'].iloc[position]!r} is not one of 网格指导员, 网格长, "
                   "专职网格员, 定岗网格员", record=f"staff row {position + 1}")
    codes = grids["code"].astype(str)
    known = staff["grid_code"].isin(set(codes))
    for code, rows in staff[~known].groupby("grid_code", sort=True).groups.items():
        report.add("unknown_grid", f"{len(rows)} people are listed in grid {code}, which does not exist; "
                   "correct their grid code", record=code, people=len(rows))
    table = _per_grid(grids, staff[known], roles[known])
    for row in table.itertuples(index=False):
        for gap, message in _gaps(row):
            report.add(gap, message, record=row.code)
    table["gaps"] = [", ".join(g for g, _ in _gaps(row)) for row in table.itertuples(index=False)]
    report.tables["grids"] = table
    for level, key in _LEVEL_KEYS.items():
        report.tables[level] = _rolled_up(table, key)
    return report


def _per_grid(grids: pd.DataFrame, staff: pd.DataFrame, roles: pd.Series) -> pd.DataFrame:
    counts = pd.crosstab(staff["grid_code"], roles).reindex(columns=list(STAFF_ROLES), fill_value=0)
    table = pd.DataFrame({"code": grids["code"].astype(str).to_numpy(),
                          "community_code": grids["community_code"].astype(str).to_numpy()})
    table["street_code"] = table["community_code"].str[:9]
    table["district_code"] = table["community_code"].str[:6]
    households = grids["households"] if "households" in grids.columns else pd.Series(pd.NA, index=grids.index)
    table["households"] = pd.to_numeric(households, errors="coerce").astype("Int64").to_numpy()
    for role, column in _COUNTS.items():
        table[column] = counts[role].reindex(table["code"]).fillna(0).astype("int64").to_numpy()
    table["households_per_worker"] = _per_worker(table["households"], table["full_time"])
    return table


def _per_worker(households: pd.Series, workers: pd.Series) -> pd.Series:
    return (households.astype("Float64") / workers.where(workers > 0).astype("Float64")).astype("float64")


def _gaps(row) -> list[tuple[str, str]]:
    gaps = []
    if row.leaders == 0:
        gaps.append(("no_leader", "the grid has no grid leader (网格长); appoint one"))
    elif row.leaders > 1:
        gaps.append(("several_leaders", f"the grid has {row.leaders} grid leaders (网格长); it needs one"))
    if row.instructors == 0:
        gaps.append(("no_instructor", "the grid has no grid instructor (网格指导员); assign a cadre"))
    if row.full_time == 0:
        gaps.append(("no_full_time", "the grid has no full-time grid worker (专职网格员); assign one"))
    return gaps


def _rolled_up(table: pd.DataFrame, key: str) -> pd.DataFrame:
    with_gap = table["gaps"].ne("")
    grouped = table.assign(grids_with_gaps=with_gap.astype("int64")).groupby(key, sort=True)
    sums = grouped.agg(n_grids=("code", "size"), households=("households", lambda s: s.sum(min_count=1)),
                       instructors=("instructors", "sum"), leaders=("leaders", "sum"),
                       full_time=("full_time", "sum"), members=("members", "sum"),
                       grids_with_gaps=("grids_with_gaps", "sum")).reset_index().rename(columns={key: "code"})
    sums["households"] = sums["households"].astype("Int64")
    sums["households_per_worker"] = _per_worker(sums["households"], sums["full_time"])
    return sums
