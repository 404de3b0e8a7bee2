"""The sample city's roster of every role (``roster.csv``) and its liaison table (``liaison.csv``).

Called by ``make_sample_data.py`` after the GeoPackage, ``staff.csv`` and ``buildings.gpkg`` are written;
draws from its own generator ``default_rng([seed, STREAM])``. ``roster.csv`` holds every person of
``staff.csv`` with id ``P`` + their 6-digit row number there (``P000001`` is its first row) and the posts the
seeds add — 双长, three levels of 网格长, 辅警, 法律明白人, 微网格员, 楼栋长, volunteers — with ids from
``P100001``; ``liaison.csv`` links city, district, street and community leaders to the units below them
(全覆盖联系, 004). Both carry a few deliberate gaps, listed in the README section this module returns.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from gridmap.io._atomic import atomic_path

STREAM = 4  # the roster's generator is default_rng([seed, STREAM])
ROSTER_NAME, LIAISON_NAME = "roster.csv", "liaison.csv"
ROSTER_COLUMNS = ["person_id", "name", "role", "level", "unit_code", "party_member", "phone"]
LIAISON_COLUMNS = ["person_id", "name", "level", "unit_code", "linked_codes", "phone"]
FIRST_OTHER_ID = 100_001
#: Between the codes of ``linked_codes``: the enumeration comma people type (``split_ids`` reads it); not
#: ";", which a CSV reader may take for the field separator.
LINK_SEPARATOR = "、"
CITY_CODE = "9901"
SURNAMES = list("黄李陈韦梁刘张覃莫农蒙王杨周吴林何罗潘陆卢蓝谢苏廖邓赵唐")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国海燕志红文斌宁琳波辉鹏飞婷雪梅晓春冬")
#: Share of party members (党员) per role; the rest are not, but for a few unknown.
PARTY_SHARE = {"instructor": 0.85, "leader": 0.7, "full_time": 0.45, "member": 0.3, "doctor": 0.4,
               "police": 0.6, "party_leader": 1.0, "order_leader": 0.6, "district_leader": 1.0,
               "street_leader": 1.0, "village_leader": 0.9, "auxiliary_police": 0.3, "legal_helper": 0.35,
               "volunteer": 0.3, "micro_worker": 0.3, "building_head": 0.25}


class _People:
    """Names, ids from ``P100001`` and fake phones ``199-1000-nnnn`` for the people the roster adds."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.next_id = rng, FIRST_OTHER_ID

    def name(self) -> str:
        given = "".join(self.rng.choice(GIVEN, int(self.rng.choice([1, 2], p=[0.3, 0.7]))))
        return str(self.rng.choice(SURNAMES)) + given

    def new(self) -> tuple[str, str, str]:
        person = f"P{self.next_id:06d}"
        self.next_id += 1
        return person, self.name(), f"199-1000-{self.next_id - FIRST_OTHER_ID:04d}"

    def party(self, role: str) -> str:
        if self.rng.random() < 0.03:
            return ""
        return "true" if self.rng.random() < PARTY_SHARE[role] else "false"


def generate_roster(out: Path, grids: gpd.GeoDataFrame, seed: int) -> list[str]:
    """Write ``roster.csv`` and ``liaison.csv`` into ``out``; return their README section."""
    rng = np.random.default_rng([seed, STREAM])
    people = _People(rng)
    staff = pd.read_csv(out / "staff.csv", dtype=str, keep_default_na=False)
    admin = {layer: pyogrio.read_dataframe(out / "sample_city.gpkg", layer=layer, read_geometry=False)
             .sort_values("code", ignore_index=True) for layer in ("districts", "streets", "communities")}
    buildings = pyogrio.read_dataframe(out / "buildings.gpkg", layer="buildings", read_geometry=False)
    gaps = _pick_gaps(admin, grids, rng)
    roster = pd.concat([_grid_staff(staff, people), _admin_posts(admin, gaps, people),
                        _small_units(grids, buildings, people), _planted(grids, gaps, people)],
                       ignore_index=True)
    leaders = roster[roster["role"].isin(["district_leader", "street_leader", "village_leader"])]
    liaison, liaison_gaps = _liaison(admin, grids, leaders, people, rng)
    _write(out / ROSTER_NAME, roster[ROSTER_COLUMNS])
    _write(out / LIAISON_NAME, liaison[LIAISON_COLUMNS])
    return _readme(roster, liaison, gaps, liaison_gaps, admin)


def _write(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")


def _pick_gaps(admin: dict, grids: gpd.GeoDataFrame, rng: np.random.Generator) -> dict[str, str]:
    """The units given a deliberate gap, one per kind of gap, drawn in a fixed order."""
    communities = admin["communities"]
    rural = communities.loc[communities["kind"] == "rural", "code"].tolist()
    urban = communities.loc[communities["kind"] == "urban", "code"].tolist()
    picked_urban = [str(code) for code in rng.choice(urban, 4, replace=False)]
    retired_in = picked_urban[3]
    last = grids.loc[grids["community_code"] == retired_in, "code"].max()
    return {
        "no_auxiliary_police": str(rng.choice(rural)),
        "nine_legal_helpers": picked_urban[0],
        "party_leader_not_member": picked_urban[1],
        "no_order_leader": picked_urban[2],
        "no_street_leader": str(rng.choice(admin["streets"]["code"])),
        "retired_grid": f"{retired_in}{int(last[12:]) + 1:03d}",
    }


def _grid_staff(staff: pd.DataFrame, people: _People) -> pd.DataFrame:
    """Everyone of staff.csv, id ``P`` + row number; a grid's third member is a 定岗 doctor or police."""
    roles = staff["role"].to_numpy(dtype=object).copy()
    members = staff["role"].eq("member")
    order = members.groupby(staff["grid_code"]).cumsum().to_numpy()
    grid_number = staff["grid_code"].rank(method="dense").astype(int).to_numpy()
    third = members.to_numpy() & (order == 3)
    roles[third] = np.where(grid_number[third] % 2 == 0, "doctor", "police")
    return pd.DataFrame({
        "person_id": [f"P{k:06d}" for k in range(1, len(staff) + 1)], "name": staff["name"], "role": roles,
        "level": "grid", "unit_code": staff["grid_code"], "party_member": [people.party(r) for r in roles],
        "phone": staff["phone"]})


def _admin_posts(admin: dict, gaps: dict[str, str], people: _People) -> pd.DataFrame:
    """三级网格长, 双长, 法律明白人, 辅警 and community volunteers, minus the planted gaps."""
    rows = []

    def post(role: str, level: str, code: str, party: str | None = None) -> None:
        person, name, phone = people.new()
        rows.append((person, name, role, level, code, people.party(role) if party is None else party, phone))

    for code in admin["districts"]["code"]:
        post("district_leader", "district", code)
    for code in admin["streets"]["code"]:
        if code != gaps["no_street_leader"]:
            post("street_leader", "street", code)
    for code, kind in zip(admin["communities"]["code"], admin["communities"]["kind"], strict=True):
        post("village_leader", "community", code)
        not_member = code == gaps["party_leader_not_member"]
        post("party_leader", "community", code, "false" if not_member else "true")
        if code != gaps["no_order_leader"]:
            post("order_leader", "community", code)
        helpers = 9 if code == gaps["nine_legal_helpers"] else int(people.rng.integers(10, 14))
        for _ in range(helpers):
            post("legal_helper", "community", code)
        if kind == "rural" and code != gaps["no_auxiliary_police"]:
            post("auxiliary_police", "community", code)
        for _ in range(int(people.rng.integers(0, 4))):
            post("volunteer", "community", code)
    return pd.DataFrame(rows, columns=ROSTER_COLUMNS)


def _small_units(grids: gpd.GeoDataFrame, buildings: pd.DataFrame, people: _People) -> pd.DataFrame:
    """微网格员 of micro-grid 01 of one grid in ten, 楼栋长 of one building in six, grid volunteers."""
    rows = []
    codes = grids["code"].to_numpy(dtype=object)
    for code in codes[people.rng.random(len(codes)) < 0.1]:
        rows.append((*people.new(), "micro_worker", "micro", f"{code}01", people.party("micro_worker")))
    for code in codes[people.rng.random(len(codes)) < 0.1]:
        rows.append((*people.new(), "volunteer", "grid", code, people.party("volunteer")))
    ids = buildings["unit_id"].sort_values().to_numpy(dtype=object)
    for unit in ids[people.rng.random(len(ids)) < 1 / 6]:
        rows.append((*people.new(), "building_head", "building", unit, people.party("building_head")))
    frame = pd.DataFrame(rows, columns=["person_id", "name", "phone", "role", "level", "unit_code",
                                        "party_member"])
    return frame[ROSTER_COLUMNS]


def _planted(grids: gpd.GeoDataFrame, gaps: dict[str, str], people: _People) -> pd.DataFrame:
    """A 兼职网格员 still listed in a grid that no longer exists (retired)."""
    person, name, phone = people.new()
    row = (person, name, "member", "grid", gaps["retired_grid"], people.party("member"), phone)
    return pd.DataFrame([row], columns=ROSTER_COLUMNS)


def _liaison(admin: dict, grids: gpd.GeoDataFrame, leaders: pd.DataFrame, people: _People,
             rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, str]]:
    """Leaders of each level linked round-robin to the units below; one unit of each level left out."""
    rows: list[tuple] = []
    gaps: dict[str, str] = {}
    streets = admin["streets"]["code"].tolist()
    units_of = {"city": {CITY_CODE: streets},
                "district": {d: [c for c in admin["communities"]["code"] if c.startswith(d)]
                             for d in admin["districts"]["code"]},
                "street": {s: sorted(grids.loc[grids["code"].str.startswith(s), "code"]) for s in streets},
                "community": {c: sorted(grids.loc[grids["community_code"] == c, "code"])
                              for c in admin["communities"]["code"]}}
    own = {"district": "district_leader", "street": "street_leader", "community": "village_leader"}
    for level, units in units_of.items():
        below = [code for codes in units.values() for code in codes]
        gaps[level] = str(rng.choice(below))
        for unit, codes in units.items():
            codes = [code for code in codes if code != gaps[level]]
            team = _team(level, unit, leaders, own, people, rng)
            for k, (person, name, phone) in enumerate(team):
                mine = codes[k::len(team)]
                rows.append((person, name, level, unit, LINK_SEPARATOR.join(mine), phone))
    return pd.DataFrame(rows, columns=LIAISON_COLUMNS), gaps


def _team(level: str, unit: str, leaders: pd.DataFrame, own: dict[str, str], people: _People,
          rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """The unit's 网格长 from the roster (if any) and one to three more leaders of that level."""
    size = {"city": 3, "district": 2, "street": int(rng.integers(2, 5)), "community": 2}[level]
    team = []
    if level in own:
        mine = leaders[(leaders["role"] == own[level]) & (leaders["unit_code"] == unit)]
        team += list(zip(mine["person_id"], mine["name"], mine["phone"], strict=True))
    while len(team) < size:
        team.append(people.new())
    return team


def _readme(roster: pd.DataFrame, liaison: pd.DataFrame, gaps: dict[str, str], liaison_gaps: dict[str, str],
            admin: dict) -> list[str]:
    """The README section: the two files, the roles counted, and every deliberate gap."""
    from gridmap.schema import ROLE_NAMES_ZH, ROSTER_ROLES

    counts = roster["role"].value_counts()
    roles = ", ".join(f"{ROLE_NAMES_ZH[role]} `{role}` {int(counts.get(role, 0))}" for role in ROSTER_ROLES)
    names = {**dict(zip(admin["communities"]["code"], admin["communities"]["name"], strict=True)),
             **dict(zip(admin["streets"]["code"], admin["streets"]["name"], strict=True))}
    planted = [
        ("no_auxiliary_police", "rural village without its 辅警 (一村一辅警, 003)"),
        ("nine_legal_helpers", "community with 9 法律明白人 (at least 10, 003)"),
        ("party_leader_not_member", "community whose 党建网格长 is not a party member"),
        ("no_order_leader", "community without its 综治网格长 (双长, 003)"),
        ("no_street_leader", "street without its 乡镇(街道)级网格长 (三级网格长, 003)"),
        ("retired_grid", "grid that does not exist (retired): one 兼职网格员 is still listed in it"),
    ]
    codes = liaison["linked_codes"]
    links = codes.str.split(LINK_SEPARATOR).str.len().where(codes != "", 0)
    most = liaison.assign(links=links).groupby("level")["links"].max()
    return [
        f"## People on the grid ({len(roster)} roster rows, {len(liaison)} liaison rows)",
        "",
        "| file | what |",
        "|---|---|",
        f"| `{ROSTER_NAME}` | roster of every role, UTF-8: `{'`, `'.join(ROSTER_COLUMNS)}` |",
        f"| `{LIAISON_NAME}` | leaders linked to the units below them (全覆盖联系, 004): "
        f"`{'`, `'.join(LIAISON_COLUMNS)}` |",
        "",
        f"`{ROSTER_NAME}` lists everyone of `staff.csv` with the id `P` + their 6-digit row number there "
        "(`P000001` is its first row), the same name, phone and grid (level `grid`); the third 兼职/定岗 "
        "member of a grid is recorded as a 定岗 `doctor` (even grids) or `police` officer (odd grids). The "
        f"other posts have ids from `P{FIRST_OTHER_ID:06d}`: the district, street and village 网格长, 双长 "
        "(`party_leader`, `order_leader`), 10–13 法律明白人 and 0–3 volunteers per community, a 辅警 per "
        "rural village, a 微网格员 for micro-grid `01` of one grid in ten, a 楼栋长 for one building of "
        "`buildings.gpkg` in six (`unit_code` is the building's `unit_id`) and volunteers of one grid in "
        "ten. `party_member` is `true`/`false` (blank: unknown). Names and phones (`199-1000-nnnn`) are "
        "invented.",
        "",
        f"Roles: {roles}.",
        "",
        "Deliberate gaps, beyond those of `staff.csv` (which `roster.csv` keeps):",
        "",
        "| gap | unit | name |",
        "|---|---|---|",
        *[f"| {what} | {gaps[key]} | {names.get(gaps[key], names.get(gaps[key][:12], ''))} |"
          for key, what in planted],
        "",
        f"`{LIAISON_NAME}`: one row per leader, `linked_codes` separated by `{LINK_SEPARATOR}`; `level` city "
        f"(unit `{CITY_CODE}`, linked to streets), district (to communities), street and community (to "
        "grids). The district, street and village 网格长 of the roster lead their unit's team (same ids). "
        "Most units one leader is linked to: " + ", ".join(f"{level} {int(n)}" for level, n in most.items())
        + ". Units left without a liaison of the level above:",
        "",
        "| leader level | unit without one |",
        "|---|---|",
        *[f"| {level} | {code} |" for level, code in liaison_gaps.items()],
        "",
    ]
