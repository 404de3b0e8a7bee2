r"""Party organisation on the grid (支部建在网格上): which grids and buildings it covers, and its members.

Nanjing-Xuanwu builds a four-level chain (seed 002): community party organisation (社区党组织) — grid party
branch (网格党支部) — building party group (楼栋党小组) — party member household (党员中心户). Nanning sets
up "a branch or a party group on every grid", alone or jointly for several grids (seeds 000, 001:
单独组建、联合组建, 实现党的组织和党的工作在网格的全覆盖) and merges the party-building grids into the one
network. :func:`read_party` reads a table of organisations keyed to grid, building or community codes (or
placed as points); :func:`party_coverage` measures coverage and members per grid and checks the chain.

Examples
--------
>>> import geopandas as gpd
>>> import pandas as pd
>>> from shapely import box
>>> grids = gpd.GeoDataFrame({"code": ["450102001003001", "450102001003002", "450102001003003"],
...                           "community_code": ["450102001003"] * 3},
...                          geometry=[box(108.30 + i / 100, 22.80, 108.31 + i / 100, 22.81)
...                                    for i in range(3)], crs="EPSG:4490")
>>> party = pd.DataFrame({"党组织名称": ["第一网格党支部", "第二网格党支部"], "类型": ["网格党支部"] * 2,
...                       "网格编码": ["450102001003001", "450102001003002"], "党员数": [12, 9]})
>>> result = party_coverage(grids, party)
>>> result.report.tables["summary"][["grids", "grids_covered", "grid_share", "members"]]
   grids  grids_covered  grid_share  members
0      3              2    0.666667       21
>>> result.grids[["code", "covered", "members", "label"]]
              code  covered  members               label
0  450102001003001     True       12  网格党支部：已建（党员 12 名）
1  450102001003002     True        9   网格党支部：已建（党员 9 名）
2  450102001003003    False     <NA>            网格党支部：未建
>>> result.report.to_frame()[["check", "record"]]
            check           record
0  no_grid_branch  450102001003003
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.cases.assign import assign
from gridmap.cases.read import points_from_table
from gridmap.errors import SchemaError
from gridmap.findings import Report
from gridmap.io import read_layer, read_table, record_labels
from gridmap.io._columns import rename_columns
from gridmap.people._located import grid_codes
from gridmap.people._values import (
    code_column,
    codes_as_text,
    flags,
    grid_frame,
    numbers,
    or_none,
    report_unknown_kinds,
    source_of,
)
from gridmap.schema import (
    PARTY_ALIASES,
    PARTY_KIND_NAMES_ZH,
    PARTY_KIND_WORDS,
    PARTY_KINDS,
    PARTY_MEMBERS_MAX,
    model_columns,
    party_kind,
    split_ids,
)

__all__ = ["PartyCoverage", "read_party", "clean_party", "party_coverage", "PARTY_HEADERS_ZH"]

#: The codes an organisation can be keyed to.
KEYS = ("grid_code", "building_code", "community_code")
#: The summary's column counting the organisations of each kind (:data:`gridmap.schema.PARTY_KINDS`).
KIND_COUNTS = {"community_committee": "community_committees", "grid_branch": "grid_branches",
               "building_group": "building_groups", "member_household": "member_households"}
#: Chinese headers of the columns of :func:`party_coverage`'s tables (``summary``, ``grids``,
#: ``communities``).
PARTY_HEADERS_ZH = {
    "code": "网格编码", "community_code": "社区代码", "grids": "网格数",
    "grids_covered": "已建网格党支部的网格数",
    "grid_share": "网格党支部覆盖率", "branches": "网格党支部数", "covered": "已建网格党支部",
    "joint": "联合组建", "members": "党员数", "buildings": "楼栋数",
    "buildings_covered": "已建楼栋党小组的楼栋数",
    "building_share": "楼栋党小组覆盖率", "leader_party_member": "网格长是党员",
    "leaders_not_party_members": "非党员网格长数", "label": "标签",
    **{column: f"{PARTY_KIND_NAMES_ZH[kind]}数" for kind, column in KIND_COUNTS.items()},
}
_TABLES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls")
_BUILDING_KINDS = ("building_group", "member_household")
_KIND_FIX = f"write one of {', '.join(PARTY_KIND_NAMES_ZH.values())} (or {', '.join(PARTY_KINDS)})"


@dataclass(frozen=True)
class PartyCoverage:
    """The result of :func:`party_coverage`.

    Attributes
    ----------
    grids : geopandas.GeoDataFrame
        One row per grid, in the grids' order and CRS, ready to be a map layer: ``code``,
        ``community_code``, ``covered`` (a grid branch, its own or a joint one, sits on it), ``branches``,
        ``joint`` (covered by a joint branch), ``members`` (party members of its branches; a joint branch's
        shared out, NA when a branch gives no count), ``buildings``, ``buildings_covered`` and
        ``building_share`` (NA without buildings), ``leader_party_member`` (NA without a roster or
        leader), ``label`` (Chinese, for a popup), polygon.
    report : gridmap.Report
        Findings and the tables ``summary`` (one row: ``grids``, ``grids_covered``, ``grid_share``,
        ``buildings``, ``buildings_covered``, ``building_share``, ``members``, ``leaders_not_party_members``
        and the organisations of each kind, ``community_committees``, ``grid_branches``,
        ``building_groups``, ``member_households``), ``grids`` (the above without geometry) and
        ``communities`` (per community code). :data:`PARTY_HEADERS_ZH` gives every column's Chinese
        header: ``table.rename(columns=PARTY_HEADERS_ZH)``.
    """

    grids: gpd.GeoDataFrame
    report: Report


def read_party(path: str | os.PathLike, *, layer: str | None = None, encoding: str | None = None,
               coords: str | None = None) -> pd.DataFrame:
    r"""Read a table of party organisations: CSV/Excel keyed to codes, or points in any layer format.

    Parameters
    ----------
    path : str or os.PathLike
        CSV or Excel (GBK/GB18030 detected) with 党组织名称/name, 类型/kind (:data:`PARTY_KIND_WORDS`),
        网格编码/grid_code (several codes, ``;``-separated, for a joint branch), 楼栋编号/building_code,
        社区代码/community_code and 党员数/members; with 经度/纬度 (or ``经度_gcj02`` …) the rows are points.
        Any layer :func:`gridmap.read_layer` reads gives points or polygons.
    layer : str, optional
        Layer of a GeoPackage or sheet of a workbook.
    encoding : str, optional
        Text encoding of a CSV that is neither UTF-8 nor GBK/GB18030.
    coords : {"wgs84", "cgcs2000", "gcj02", "bd09"}, optional
        The coordinate system of the points (GCJ-02 and BD-09 are shifted to WGS84).

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        :func:`clean_party`'s columns.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "party.csv"
    >>> _ = path.write_bytes("支部名称,类型,网格编码,楼栋,党员数\n"
    ...                      "一支部,网格党支部,450102001003001;450102001003002,,"
    ...                      "30\n三组,楼栋党小组,,C0001-01,5\n".encode("gbk"))
    >>> read_party(path)[["name", "kind", "grid_code", "building_code", "members"]]
      name            kind                        grid_code building_code  members
    0  一支部     grid_branch  450102001003001;450102001003002          None       30
    1   三组  building_group                             None      C0001-01        5
    """
    path = Path(path)
    if path.suffix.lower() not in _TABLES:
        return clean_party(read_layer(path, layer, coords=coords, encoding=encoding, aliases=PARTY_ALIASES))
    frame = read_table(path, sheet=layer, encoding=encoding, aliases=PARTY_ALIASES)
    if "lon" in frame.columns or "lat" in frame.columns:
        frame = _points(frame, coords=coords, path=path)
    return clean_party(frame)


def _points(table: pd.DataFrame, *, coords: str | None, path: Path) -> gpd.GeoDataFrame:
    """Make points where a row gives coordinates (a table may mix rows keyed to codes and placed rows)."""
    scratch = Report("coordinates")
    frame = points_from_table(table, coords=coords, crs=None, path=path, report=scratch)
    bad = scratch.to_frame()
    if len(bad):
        raise SchemaError(bad["message"].iloc[0].partition("; ")[0], path=path,
                          record=record_labels(table).iloc[int(bad["row"].iloc[0]) - 1],
                          fix="enter decimal degrees such as 108.3203, or leave both coordinates blank")
    return frame.drop(columns="located_by")


def clean_party(party: pd.DataFrame) -> pd.DataFrame:
    """Return a party table with gridmap's columns: headers renamed, kinds read, codes and counts checked.

    Columns ``name``, ``kind`` (one of :data:`PARTY_KINDS`, or NA for an unknown word, kept in
    ``kind_given``), ``grid_code``, ``building_code``, ``community_code`` (text or None) and ``members``
    (``Int64``); other columns and the geometry are kept. Calling it again changes nothing.

    Raises
    ------
    SchemaError
        No kind column; no code column and no geometry; a member count that is not a whole number from 0
        to :data:`PARTY_MEMBERS_MAX` (named by its record).

    Examples
    --------
    >>> party = clean_party(pd.DataFrame({"类型": ["党员中心户"], "楼栋编号": [101.0], "党员": ["2"]}))
    >>> party[["kind_given", "kind", "name", "building_code", "members"]]
      kind_given              kind   name building_code  members
    0      党员中心户  member_household  党员中心户           101        2
    """
    frame, _ = rename_columns(party, path=source_of(party), aliases=PARTY_ALIASES)
    if "kind" not in frame.columns:
        listed = ", ".join(map(str, frame.columns))
        raise SchemaError(f"the party table has no kind column (columns: {listed})", path=source_of(party),
                          fix="add a column 类型 (网格党支部, 楼栋党小组, 党员中心户 …)")
    geometry = isinstance(frame, gpd.GeoDataFrame)
    if not geometry and not any(key in frame.columns for key in KEYS):
        raise SchemaError("the party table has no grid, building or community code column and no points",
                          path=source_of(party), fix="add 网格编码, 楼栋编号 or 社区代码, or 经度/纬度")
    frame = frame.copy()
    if "kind_given" not in frame.columns:
        frame.insert(0, "kind_given", frame["kind"])
    words = frame["kind_given"].astype(object)
    frame["kind"] = words.map({w: party_kind(w) for w in pd.unique(words)}).astype(object)
    if "name" not in frame.columns:
        frame["name"] = frame["kind"].map(PARTY_KIND_NAMES_ZH).fillna(words.astype(str))
    for key in KEYS:
        frame[key] = code_column(frame, key)
    members = frame["members"] if "members" in frame.columns else pd.Series(np.nan, index=frame.index)
    frame["members"] = numbers(members, column="members", frame=frame, whole=True, low=0,
                               high=PARTY_MEMBERS_MAX).astype("Int64")
    return frame


def party_coverage(grids: gpd.GeoDataFrame, party: pd.DataFrame, *, roster: pd.DataFrame | None = None,
                   buildings: gpd.GeoDataFrame | None = None,
                   leader_party_member: bool = True) -> PartyCoverage:
    """Measure how party organisation covers the grids and buildings, and check the chain and the leaders.

    A grid is covered when a grid branch (网格党支部, a grid's 党小组 or a joint branch) lists its code or
    lies in it as a point. A building is covered when a building group (楼栋党小组) names its code or lies
    in its footprint. Organisations placed as points are put in grids with :func:`gridmap.cases.assign`.

    Findings: ``no_grid_branch`` (error: Nanning's rule is full coverage), ``leader_not_party_member``
    (error when ``leader_party_member``: the grid's leader 网格长 is not a party member, "党建引领") and
    ``leader_party_unknown`` (warning), ``unknown_grid``, ``unknown_building``, ``unknown_community``
    (errors: an organisation on a code that does not exist, e.g. a retired grid), ``unknown_kind`` (error),
    ``no_place`` (error: no code and no point), ``outside`` (error: a point in no grid), ``duplicate``
    (warning: the same organisation twice, counted once), ``group_without_branch`` (warning: a building
    group in a grid without branch), ``no_committee`` (warning: a covered grid whose community has no
    community party organisation, when the table lists any), ``unknown_grid_code`` and ``outside_grids``
    (warnings: a building whose grid code is none of the grids', placed by its location; a building in no
    grid). Every finding's ``record`` is the code of the unit it is about (the grid, building or
    community).

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Polygons with a unique ``code`` (or 网格编码) and ``community_code``.
    party : pandas.DataFrame or geopandas.GeoDataFrame
        Organisations, as :func:`read_party` returns them or with its Chinese headers.
    roster : pandas.DataFrame, optional
        People with ``role`` (``leader`` is 网格长), ``unit_code``, ``party_member`` (boolean, NA
        unknown; 是/否 accepted) and optionally ``level`` (leaders of level ``grid`` are taken).
    buildings : geopandas.GeoDataFrame, optional
        Buildings (楼栋) with ``unit_id`` and footprints or points, optionally ``grid_code``. A building
        without a grid code, or whose code is none of the grids' (the builder's temporary
        ``990102001001-001``, a retired grid: a ``GridmapWarning`` and an ``unknown_grid_code`` finding), is
        in the grid holding its representative point. Without buildings, building codes are not checked
        and building coverage is NA.
    leader_party_member : bool, default True
        Whether a grid's leader must be a party member.

    Returns
    -------
    PartyCoverage

    Examples
    --------
    A joint branch (联合组建) of 7 members on two grids, and a leader who is not a party member:

    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"code": ["G1", "G2"], "community_code": ["450102001003"] * 2},
    ...                          geometry=[box(108.30, 22.80, 108.31, 22.81),
    ...                                    box(108.31, 22.80, 108.32, 22.81)], crs="EPSG:4490")
    >>> party = pd.DataFrame({"类型": ["联合党支部"], "网格编码": ["G1;G2"], "党员数": [7]})
    >>> roster = pd.DataFrame({"role": ["leader", "leader"], "unit_code": ["G1", "G2"],
    ...                        "party_member": ["是", "否"]})
    >>> result = party_coverage(grids, party, roster=roster)
    >>> result.grids[["code", "members", "joint", "leader_party_member"]]
      code  members  joint  leader_party_member
    0   G1        4   True                 True
    1   G2        3   True                False
    >>> result.report.to_frame()[["check", "record"]]
                         check record
    0  leader_not_party_member     G2
    """
    grids = grid_frame(grids)
    report = Report("party organisation on the grid (支部建在网格上)")
    party = _known_kinds(clean_party(party), report)
    party = _unique(party, report)
    sites = None if buildings is None else _sites(buildings, grids, report)
    party = _placed(party, grids, sites, report)
    links = _links(party, grids, report)
    table = _per_grid(grids, links)
    table = _buildings_covered(table, party, sites, report)
    table["leader_party_member"] = _leaders(grids, roster, report, required=leader_party_member)
    _report_grids(table, party, links, report)
    table["label"] = _labels(table)
    report.tables.update(grids=pd.DataFrame(table.drop(columns="geometry")), summary=_summary(table, party),
                         communities=_communities(table))
    return PartyCoverage(grids=gpd.GeoDataFrame(table, geometry="geometry", crs=grids.crs), report=report)


def _known_kinds(party: pd.DataFrame, report: Report) -> pd.DataFrame:
    return report_unknown_kinds(party, report, words=PARTY_KIND_WORDS, what="a party organisation kind",
                                records=_first_codes(party), fix=_KIND_FIX)


def _first_codes(party: pd.DataFrame) -> pd.Series:
    """Return the first code each organisation is keyed to (grid, building, community), None when none.

    That code is the record a finding names.
    """
    records = pd.Series(np.full(len(party), None, dtype=object), index=party.index)
    for key in reversed(KEYS):  # an earlier key holding text wins
        text = party[key].map(lambda value: isinstance(value, str)).to_numpy(dtype=bool)
        records = records.mask(text, party[key].astype(object))
    return records


def _unique(party: pd.DataFrame, report: Report) -> pd.DataFrame:
    """Drop repeated organisations (same kind, name and codes; same point), with a warning each."""
    keys = party[["kind", "name", *KEYS]].astype(str)
    if isinstance(party, gpd.GeoDataFrame):
        keys["point"] = shapely.to_wkb(party.geometry.to_numpy())
    repeated = keys.duplicated()
    labels = record_labels(party)[repeated]
    codes = _first_codes(party)[repeated]
    for label, code, (_, row) in zip(labels, codes, party[repeated].iterrows(), strict=True):
        report.add("duplicate", f"{label}: {row['name']} ({row['kind']}) is listed twice; counted once",
                   record=code, severity="warning", row=label, fix="delete the repeated row")
    return party[~repeated]


def _sites(buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, report: Report) -> gpd.GeoDataFrame:
    """Return the buildings' ``unit_id`` (text) and ``grid_code``.

    The ``grid_code`` is theirs if a grid's, else the grid holding them
    (:func:`gridmap.people._located.grid_codes`).
    """
    frame = model_columns(buildings, "buildings")[0]
    if "unit_id" not in frame.columns:
        raise SchemaError("buildings have no unit_id (楼栋编号) column", path=source_of(buildings),
                          fix="give each building its code in a column unit_id or 楼栋编号")
    sites = gpd.GeoDataFrame({"unit_id": codes_as_text(frame["unit_id"]).to_numpy(),
                              "grid_code": code_column(frame, "grid_code").to_numpy()},
                             geometry=frame.geometry.to_numpy(), crs=frame.crs)
    sites["grid_code"] = grid_codes(sites, grids, report, what="buildings",
                                    ids=sites["unit_id"].fillna(pd.Series(record_labels(frame).to_numpy())),
                                    caller="party_coverage", stacklevel=3).to_numpy()
    return sites


def _placed(party: pd.DataFrame, grids: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None,
            report: Report) -> pd.DataFrame:
    """Fill the codes of organisations given as points, and the grid of those keyed to a building."""
    party = party.copy()
    if isinstance(party, gpd.GeoDataFrame):
        party = _from_points(party, grids, sites, report)
    if sites is not None:
        grid_of = pd.Series(sites["grid_code"].to_numpy(), index=sites["unit_id"].to_numpy())
        grid_of = grid_of[~grid_of.index.duplicated()]
        missing = party["grid_code"].isna() & party["building_code"].notna()
        party.loc[missing, "grid_code"] = party.loc[missing, "building_code"].map(grid_of).astype(object)
        party["grid_code"] = party["grid_code"].where(party["grid_code"].notna(), None)
    placeless = party[list(KEYS)].isna().all(axis=1)
    for label in record_labels(party)[placeless]:
        report.add("no_place", f"{label}: the organisation names no grid, building or community and has no "
                   "point", record=None, row=label, fix="give its 网格编码, 楼栋编号 or 社区代码")
    return party[~placeless]


def _from_points(party: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None,
                 report: Report) -> gpd.GeoDataFrame:
    geoms = party.geometry.to_numpy()
    has_point = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    points = party.set_geometry(party.geometry.representative_point())
    if sites is not None:
        wanted = has_point & party["kind"].isin(_BUILDING_KINDS).to_numpy() & party["building_code"].isna()
        if wanted.any():
            footprints = sites[["unit_id", "geometry"]].to_crs(party.crs)
            found = gpd.sjoin(points.loc[wanted, ["geometry"]], footprints, how="left", predicate="within")
            party.loc[wanted, "building_code"] = or_none(found[~found.index.duplicated()]["unit_id"])
    wanted = has_point & party["grid_code"].isna().to_numpy()
    if wanted.any():
        located = assign(points.loc[wanted, ["geometry"]], grids, report=Report("scratch"))
        party.loc[wanted, "grid_code"] = or_none(located["grid_code"])
        community = located["community_code"] if "community_code" in located.columns else None
        needs = wanted & party["community_code"].isna().to_numpy()
        if community is not None and needs.any():
            party.loc[needs, "community_code"] = or_none(community[needs[wanted]])
        outside = located["outside_m"].notna()
        labels = record_labels(party)[wanted][outside.to_numpy()]
        for label, distance in zip(labels, located["outside_m"][outside], strict=True):
            report.add("outside", f"{label}: the organisation's point lies {distance:,.0f} m outside every "
                       "grid; check its coordinates (GCJ-02/BD-09 not converted?)", record=None, row=label,
                       distance_m=round(float(distance), 1))
    return party


def _links(party: pd.DataFrame, grids: gpd.GeoDataFrame, report: Report) -> pd.DataFrame:
    """One row per grid branch and grid code it lists: ``position``, ``grid_code``, ``members`` (shared)."""
    branches = party[party["kind"] == "grid_branch"].copy()
    branches["position"] = np.arange(len(branches))
    branches["label"] = record_labels(branches).to_numpy()
    branches["grid_code"] = branches["grid_code"].map(split_ids)
    links = branches[["position", "label", "name", "grid_code", "members"]].explode("grid_code")
    links = links[links["grid_code"].notna()].drop_duplicates(["position", "grid_code"])
    known = links["grid_code"].isin(set(grids["code"]))
    for row in links[~known].itertuples(index=False):
        report.add("unknown_grid", f"{row.label}: {row.name} is set up on grid {row.grid_code}, which does "
                   "not exist (a retired or mistyped code)", record=row.grid_code, row=row.label,
                   fix="give the branch the code of a current grid")
    links = links[known].sort_values(["position", "grid_code"], kind="stable")
    links["n"] = links.groupby("position")["grid_code"].transform("size")
    links["members"] = _shared_out(links)
    return links


def _shared_out(links: pd.DataFrame) -> pd.Series:
    """Share a joint branch's members out over its grids in whole numbers that add up.

    Largest remainder: the grids with the smallest codes get one more.
    """
    members = links["members"].astype("Int64")
    base = members // links["n"]
    extra = links.groupby("position").cumcount() < (members % links["n"])
    return (base + extra.astype("Int64")).astype("Int64")


def _per_grid(grids: gpd.GeoDataFrame, links: pd.DataFrame) -> pd.DataFrame:
    grouped = links.groupby("grid_code")
    branches = grouped.size()
    unknown = links["members"].isna().groupby(links["grid_code"]).any()
    members = grouped["members"].sum(min_count=1).where(~unknown)
    joint = grouped["n"].max() > 1
    table = pd.DataFrame({"code": grids["code"], "community_code": grids["community_code"]})
    table["branches"] = branches.reindex(table["code"]).fillna(0).astype("int64").to_numpy()
    table["covered"] = table["branches"] > 0
    table["joint"] = joint.reindex(table["code"]).fillna(False).astype(bool).to_numpy()
    table["members"] = members.reindex(table["code"]).astype("Int64").array
    table["geometry"] = grids.geometry.to_numpy()
    return table


def _buildings_covered(table: pd.DataFrame, party: pd.DataFrame, sites: gpd.GeoDataFrame | None,
                       report: Report) -> pd.DataFrame:
    """Count the buildings per grid and those with a building group; report unknown building codes."""
    keyed = party[party["building_code"].notna()]
    if sites is None:
        table["buildings"] = table["buildings_covered"] = pd.array([pd.NA] * len(table), dtype="Int64")
        table["building_share"] = np.nan
        return table
    known = keyed["building_code"].isin(set(sites["unit_id"]))
    for label, (_, row) in zip(record_labels(keyed)[~known], keyed[~known].iterrows(), strict=True):
        report.add("unknown_building", f"{label}: {row['name']} is set up in building "
                   f"{row['building_code']}, which is not in the buildings layer",
                   record=row["building_code"], row=label,
                   fix="give the code of a building of the layer (楼栋编号)")
    groups = set(keyed.loc[known & (keyed["kind"] == "building_group"), "building_code"])
    covered = sites.assign(covered=sites["unit_id"].isin(groups)).groupby("grid_code")["covered"]
    table["buildings"] = covered.size().reindex(table["code"]).fillna(0).astype("Int64").array
    table["buildings_covered"] = covered.sum().reindex(table["code"]).fillna(0).astype("Int64").array
    share = table["buildings_covered"].astype("Float64") / table["buildings"].astype("Float64")
    table["building_share"] = share.astype("float64").where(table["buildings"] > 0, np.nan)
    table.attrs["sites"] = (len(sites), int(sites["unit_id"].isin(groups).sum()))
    return table


def _leaders(grids: gpd.GeoDataFrame, roster: pd.DataFrame | None, report: Report, *,
             required: bool) -> pd.Series:
    """Per grid: True when a leader is a party member, False when none is, NA when unknown or no leader."""
    none = pd.Series(pd.array([pd.NA] * len(grids), dtype="boolean"), index=grids.index)
    if roster is None:
        return none
    missing = [c for c in ("role", "unit_code", "party_member") if c not in roster.columns]
    if missing:
        listed = ", ".join(map(str, roster.columns))
        raise SchemaError(f"the roster has no column {missing[0]!r} (columns: {listed})",
                          path=source_of(roster), fix="read it with gridmap.people.read_roster")
    of_grid = roster["level"].isna() | roster["level"].eq("grid") if "level" in roster.columns else True
    leaders = roster[roster["role"].eq("leader") & of_grid]
    member = flags(leaders["party_member"], column="party_member", frame=leaders)
    by_grid = pd.DataFrame({"code": codes_as_text(leaders["unit_code"]), "member": member})
    status = by_grid.groupby("code")["member"].agg(lambda s: True if s.eq(True).any() else
                                                   (False if s.notna().all() else pd.NA))
    result = pd.Series(status.reindex(grids["code"]).to_numpy(), index=grids.index).astype("boolean")
    codes, communities = grids["code"], grids["community_code"]
    if required:
        no = result.eq(False).fillna(False).to_numpy()
        report.add_many("leader_not_party_member", "the grid leader (网格长) is not a party member; the rule "
                        "asks for one (党建引领)", records=codes[no].to_numpy(),
                        community_code=communities[no].to_numpy(),
                        fix="appoint a party member as grid leader, or turn the rule off")
        unknown = status.reindex(codes).isna().to_numpy() & codes.isin(status.index).to_numpy()
        report.add_many("leader_party_unknown", "the roster does not say whether the grid leader is a party "
                        "member", records=codes[unknown].to_numpy(), severity="warning",
                        community_code=communities[unknown].to_numpy(), fix="fill in party_member (是否党员)")
    return result


def _report_grids(table: pd.DataFrame, party: pd.DataFrame, links: pd.DataFrame, report: Report) -> None:
    """Uncovered grids, unknown communities, building groups without a branch, communities without one."""
    bare = ~table["covered"].to_numpy()
    report.add_many("no_grid_branch", "no grid party branch (网格党支部) is set up on this grid; "
                    "Nanning's rule is full coverage (支部建在网格上)",
                    records=table.loc[bare, "code"].to_numpy(),
                    community_code=table.loc[bare, "community_code"].to_numpy(),
                    fix="set up a branch on the grid, alone or jointly with a neighbouring grid")
    communities = set(table["community_code"].dropna())
    committees = party[party["kind"] == "community_committee"]
    for label, (_, row) in zip(record_labels(committees), committees.iterrows(), strict=True):
        if row["community_code"] is not None and row["community_code"] not in communities:
            report.add("unknown_community", f"{label}: {row['name']} is set up in community "
                       f"{row['community_code']}, which holds none of the grids",
                       record=row["community_code"], row=label,
                       fix="give the 12-digit code of a community of the grids")
    covered = set(table.loc[table["covered"], "code"])
    groups = party[(party["kind"] == "building_group") & party["grid_code"].isin(set(table["code"]))]
    for code in sorted(set(groups["grid_code"]) - covered):
        report.add("group_without_branch", f"building party groups (楼栋党小组) sit in grid {code}, "
                   "which has no grid branch above them", record=code, severity="warning",
                   fix="set up the grid's branch, or attach the groups to the branch that leads them")
    if len(committees):
        led = set(committees["community_code"].dropna())
        for code in sorted(set(table.loc[table["covered"], "community_code"].dropna()) - led):
            report.add("no_committee", f"community {code} has grid branches but no community party "
                       "organisation (社区党组织) in the table", record=code, severity="warning",
                       fix="add the community's party organisation")


def _labels(table: pd.DataFrame) -> pd.Series:
    """Return the Chinese label of each grid: branch or none, members, building groups, the leader."""
    members = table["members"].astype("Float64")
    text = pd.Series(np.where(table["covered"], "网格党支部：已建", "网格党支部：未建"), index=table.index)
    counted = table["covered"] & members.notna().to_numpy()
    text[counted] += "（党员 " + members[counted].astype("int64").astype(str) + " 名）"
    with_buildings = (table["buildings"].astype("Float64") > 0).fillna(False).to_numpy(dtype=bool)
    text[with_buildings] += ("；楼栋党小组 " + table.loc[with_buildings, "buildings_covered"].astype(str)
                             + "/" + table.loc[with_buildings, "buildings"].astype(str) + " 栋")
    text[table["leader_party_member"].eq(False).fillna(False).to_numpy(dtype=bool)] += "；网格长非党员"
    return text


def _summary(table: pd.DataFrame, party: pd.DataFrame) -> pd.DataFrame:
    sites, sites_covered = table.attrs.get("sites", (pd.NA, pd.NA))
    counts = party["kind"].value_counts()
    row = {"grids": len(table), "grids_covered": int(table["covered"].sum()),
           "grid_share": float(table["covered"].mean()) if len(table) else np.nan,
           "buildings": sites, "buildings_covered": sites_covered,
           "building_share": sites_covered / sites if isinstance(sites, int) and sites else np.nan,
           "members": table["members"].sum(min_count=1),
           "leaders_not_party_members": int(table["leader_party_member"].eq(False).sum()),
           **{column: int(counts.get(kind, 0)) for kind, column in KIND_COUNTS.items()}}
    frame = pd.DataFrame([row])
    for column in ("buildings", "buildings_covered", "members"):
        frame[column] = frame[column].astype("Int64")
    return frame


def _communities(table: pd.DataFrame) -> pd.DataFrame:
    grouped = table.assign(covered=table["covered"].astype("int64")).groupby("community_code", dropna=False)
    frame = grouped.agg(grids=("code", "size"), grids_covered=("covered", "sum"),
                        members=("members", lambda s: s.sum(min_count=1)),
                        buildings=("buildings", lambda s: s.sum(min_count=1)),
                        buildings_covered=("buildings_covered", lambda s: s.sum(min_count=1))).reset_index()
    frame["grid_share"] = frame["grids_covered"] / frame["grids"]
    for column in ("members", "buildings", "buildings_covered"):
        frame[column] = frame[column].astype("Int64")
    return frame
