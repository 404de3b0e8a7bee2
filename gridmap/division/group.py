"""Which units form which grid, inside one community.

The rules (see :class:`~gridmap.division.rules.GridRules` for the numbers):

* **dedicated** — a dedicated site (office building, industrial park, market, school, hospital, transport
  hub, government office or institution; ``GridRules.dedicated_kinds``) given as a
  polygon, or as a point with at least ``dedicated_min_people``, is a grid by itself ("dedicated site");
  smaller sites are ordinary units;
* **city** (units of an urban community) — a unit with at least the lower bound of households, or more people
  than ``max_population``, is a grid by itself ("alone"); smaller units are merged with neighbouring units
  ("merged") until the grid reaches the household range, never beyond the upper bound or the population cap;
  the buildings of a compound split along its buildings (``split_of``) form grids among themselves ("split");
* **rural** (units of a rural community) — each natural village is a grid ("single village"); villages below
  ``rural_min_households`` are merged with neighbouring villages ("merged villages"); compounds and other
  units of a rural community join the rural grid of the village next to them (recorded in ``note``);
* **leftovers** — a grid still below the range joins an adjacent grid when the result stays within the upper
  bound and the population cap; otherwise it stays, and ``note`` says why;
* **blocks** (``zones``, the blocks streets, rivers and railways cut a community into; see
  :mod:`gridmap.division.barriers`) — units merge only with neighbours of their own block; a grid crosses a
  barrier only as a leftover (its block has too few households to stand alone), and then an adjacent grid of
  its own block is preferred.

*Neighbours* are units whose land (see :func:`~gridmap.division.tessellate.unit_regions`) shares a boundary
and whose gap is at most ``neighbour_distance_m`` (a point has no extent, so a point's neighbours are all
units whose land touches its land). *Adjacent* grids share a boundary, at any distance. Everything runs in
reading order — rows north to south, west to east within a row — with ties broken by ``unit_id``, so the same
input always gives the same grids.

Examples
--------
>>> import pandas as pd
>>> from gridmap.division.rules import GridRules
>>> units = pd.DataFrame({"unit_id": ["a", "b", "c"], "kind": ["compound"] * 3,
...     "households": [150, 200, 600], "population": [400, 500, 1500], "areal": [True] * 3,
...     "x": [0.0, 100.0, 200.0], "y": [0.0, 0.0, 0.0]})
>>> adjacency = pd.DataFrame({"left": [0, 1], "right": [1, 2], "gap_m": [20.0, 20.0]})
>>> labels, groups = group_units(units, adjacency, community_kind="urban", rules=GridRules())
>>> labels.tolist(), groups["reason"].tolist()
([1, 1, 0], ['alone', 'merged'])
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from gridmap.division.order import reading_order
from gridmap.division.rules import GridRules

__all__ = [
    "group_units",
    "group_unit_rows",
    "GridRow",
    "unit_roles",
    "community_kinds",
    "target_range",
    "REASONS",
]

#: Why units form a grid (the ``reason`` column of grids).
REASONS = (
    "alone",
    "merged",
    "split",
    "single village",
    "merged villages",
    "dedicated site",
    "empty community",
)


class GridRow(NamedTuple):
    """One grid of a community, as :func:`group_unit_rows` returns it (a row of :func:`group_units`)."""

    type: str
    reason: str
    note: str
    households: float
    population: float


def unit_roles(units: pd.DataFrame, rules: GridRules) -> pd.Series:
    """Return the role of each unit: ``dedicated``, ``village`` or ``ordinary``.

    Parameters
    ----------
    units : pandas.DataFrame
        Columns ``kind``, ``population`` and ``areal`` (True for a polygon unit).
    rules : GridRules
        ``dedicated_kinds`` and ``dedicated_min_people`` decide which sites are dedicated.

    Examples
    --------
    >>> units = pd.DataFrame({"kind": ["school", "school", "natural_village"], "population": [50, 800, 90],
    ...                       "areal": [False, False, True]})
    >>> unit_roles(units, GridRules()).tolist()
    ['ordinary', 'dedicated', 'village']
    """
    return pd.Series(_roles(units, rules), index=units.index, dtype=object)


def _roles(units, rules: GridRules) -> np.ndarray:
    """:func:`unit_roles` of a DataFrame or a dict of numpy columns, as an array."""
    kinds = np.asarray(units["kind"], dtype=object)
    special = set(rules.dedicated_kinds)  # a set lookup: np.isin on a few objects costs more
    dedicated = np.fromiter((kind in special for kind in kinds), dtype=bool, count=len(kinds)) & (
        np.asarray(units["areal"], dtype=bool)
        | (np.asarray(units["population"], dtype=float) >= rules.dedicated_min_people)
    )
    roles = np.where(dedicated, "dedicated", np.where(kinds == "natural_village", "village", "ordinary"))
    return roles.astype(object)


def community_kinds(communities: pd.DataFrame) -> pd.Series:
    """``urban``, ``rural`` or ``other`` for each community: the ``kind`` column, else the village digits.

    Village digits (the last three of the 12-digit code) 001–199 are residents' committees (urban), 200–399
    villagers' committees (rural); others (4xx–5xx, similar units) are ``other`` and form city grids.

    Examples
    --------
    >>> community_kinds(pd.DataFrame({"code": ["450102001003", "450127100201", "450127400401"]})).tolist()
    ['urban', 'rural', 'other']
    """
    village = pd.to_numeric(communities["code"].str[9:12], errors="coerce")
    derived = pd.Series(
        np.select([village.between(1, 199), village.between(200, 399)], ["urban", "rural"], "other"),
        index=communities.index,
        dtype=object,
    )
    if "kind" not in communities.columns:
        return derived
    given = communities["kind"].where(communities["kind"].isin(["urban", "rural", "other"]))
    return given.fillna(derived).astype(object)


def group_units(
    units: pd.DataFrame,
    adjacency: pd.DataFrame,
    *,
    community_kind: str,
    rules: GridRules,
    links: pd.DataFrame | None = None,
    zones: ArrayLike | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Group the units of one community into grids.

    Parameters
    ----------
    units : pandas.DataFrame or dict of numpy arrays
        One row per unit: ``unit_id``, ``kind``, ``households``, ``population``, ``areal`` (polygon unit),
        ``x``, ``y`` (a point of the unit in a metric CRS, for the reading order); optional ``split_of``:
        for the buildings of a compound split along its buildings, the compound's id (they form grids only
        with each other, reason "split"), else None.
    adjacency : pandas.DataFrame or dict of numpy arrays
        Pairs of units whose land touches: ``left``, ``right`` (row positions), ``gap_m`` (distance between
        the units themselves).
    community_kind : {"urban", "rural", "other"}
        Rural communities form rural grids; the others city grids.
    rules : GridRules
        The thresholds.
    links : pandas.DataFrame or dict of numpy arrays, optional
        Units that must share a grid: ``member``, ``head`` (row positions), e.g. a point inside another
        unit's polygon, or two points at the same place.
    zones : array-like of int, optional
        The block of each unit (see :mod:`gridmap.division.barriers`): units merge across blocks only when a
        grid would otherwise stay below the range. None: one block.

    Returns
    -------
    labels : numpy.ndarray
        The grid (position in ``groups``) of each unit.
    groups : pandas.DataFrame
        One row per grid: ``type`` (city / rural / dedicated), ``reason`` (one of :data:`REASONS`),
        ``note`` (why a grid is outside the range, which units joined), ``households``, ``population``.
    """
    labels, rows = group_unit_rows(units, adjacency, community_kind=community_kind, rules=rules, links=links,
                                   zones=zones)
    return labels, pd.DataFrame.from_records(rows, columns=list(GridRow._fields))


def group_unit_rows(
    units: pd.DataFrame | dict[str, np.ndarray],
    adjacency: pd.DataFrame | dict[str, np.ndarray],
    *,
    community_kind: str,
    rules: GridRules,
    links: pd.DataFrame | dict[str, np.ndarray] | None = None,
    zones: ArrayLike | None = None,
) -> tuple[np.ndarray, list[GridRow]]:
    """Return :func:`group_units` with the grids as a list of :class:`GridRow` instead of a DataFrame.

    For loops over many communities (``build_grids``), where building a small DataFrame per community
    costs more than the grouping.
    """
    data = _arrays(units)
    rank = np.empty(len(data["unit_id"]), dtype=np.int64)
    rank[reading_order(shapely.points(data["x"], data["y"]), keys=data["unit_id"])] = np.arange(len(rank))
    head = _heads(data["areal"], links, rank)
    nodes = _Nodes(data, head, rank, adjacency, rules, zones=zones)
    roles = _roles(units, rules)
    groups: list[dict] = []
    for node in nodes.ordered:
        if roles[node] == "dedicated":
            groups.append({"nodes": [node], "type": "dedicated", "reason": "dedicated site", "note": ""})
    split_of = np.asarray(units["split_of"], dtype=object) if "split_of" in units else None
    groups += _split_groups(nodes, split_of, rules)
    ordinary = [n for n in nodes.ordered if roles[n] != "dedicated" and not _is_split(split_of, n)]
    if community_kind == "rural":
        groups += _rural_groups(nodes, ordinary, roles, rules)
    else:
        groups += _city_groups(nodes, ordinary, rules)
    return _finish(data, nodes, groups, roles, rules)


def _arrays(units: pd.DataFrame | dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return the columns grouping needs as numpy arrays (pandas indexing per unit dominates run time)."""
    return {
        "unit_id": np.asarray(units["unit_id"], dtype=object),
        "households": np.asarray(units["households"], dtype=float),
        "population": np.asarray(units["population"], dtype=float),
        "areal": np.asarray(units["areal"], dtype=bool),
        "x": np.asarray(units["x"], dtype=float),
        "y": np.asarray(units["y"], dtype=float),
    }


def _heads(areal: np.ndarray, links: pd.DataFrame | None, rank: np.ndarray) -> np.ndarray:
    """Return the head unit of each unit's linked cluster (a polygon before points, then reading order)."""
    parent = np.arange(len(areal))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = [] if links is None else zip(np.asarray(links["member"]).tolist(),
                                           np.asarray(links["head"]).tolist(), strict=True)
    for member, head in pairs:
        a, b = find(int(member)), find(int(head))
        if a != b:
            keep, drop = sorted((a, b), key=lambda i: (not areal[i], rank[i]))
            parent[drop] = keep
    return np.array([find(i) for i in range(len(areal))], dtype=np.int64)


class _Nodes:
    """Clusters of linked units and their neighbourhoods (internal state of one grouping run)."""

    def __init__(
        self,
        data: dict[str, np.ndarray],
        head: np.ndarray,
        rank: np.ndarray,
        adjacency: pd.DataFrame,
        rules: GridRules,
        zones: ArrayLike | None = None,
    ):
        self.head = head
        self.zone = None if zones is None else np.asarray(zones)
        heads = np.unique(head)
        self.ordered = [int(h) for h in heads[np.argsort(rank[heads])]]
        self.rank = rank
        self.members: dict[int, list[int]] = defaultdict(list)
        for unit in np.argsort(rank):
            self.members[int(head[unit])].append(int(unit))
        households = np.bincount(head, weights=data["households"], minlength=len(head))  # the sums at once
        population = np.bincount(head, weights=data["population"], minlength=len(head))
        self.households = {node: float(households[node]) for node in self.ordered}
        self.population = {node: float(population[node]) for node in self.ordered}
        self.is_point = {node: not data["areal"][node] for node in self.ordered}
        self.gap: dict[int, dict[int, float]] = defaultdict(dict)
        for left, right, gap in zip(
            head[np.asarray(adjacency["left"], dtype=int)],
            head[np.asarray(adjacency["right"], dtype=int)],
            np.asarray(adjacency["gap_m"], dtype=float),
            strict=True,
        ):
            if left != right:
                best = min(gap, self.gap[left].get(right, np.inf))
                self.gap[left][right] = self.gap[right][left] = best
        self.limit = rules.neighbour_distance_m

    def neighbours(self, node: int) -> list[tuple[float, int, int]]:
        """Merge neighbours of ``node`` as (gap, rank, node), nearest first."""
        near = [
            (gap, int(self.rank[other]), other)
            for other, gap in self.gap[node].items()
            if (gap <= self.limit or self.is_point[node] or self.is_point[other])
            and self.same_zone(node, other)
        ]
        return sorted(near)

    def same_zone(self, node: int, other: int) -> bool:
        """Whether two nodes lie in one block (always, without blocks)."""
        return self.zone is None or self.zone[node] == self.zone[other]

    def crosses(self, group: list[int], other: list[int]) -> bool:
        """Whether joining two groups of nodes would cross a block edge (no node of one block in both)."""
        if self.zone is None:
            return False
        return not set(self.zone[group]) & set(self.zone[other])

    def adjacent(self, node: int) -> dict[int, float]:
        """Nodes whose land touches ``node``'s land, with the gap between them."""
        return self.gap[node]


def _grow(nodes: _Nodes, pool: list[int], low: float, high: float, max_population: float) -> list[list[int]]:
    """Grids of the ``pool`` nodes: big ones alone, small ones grown from seeds in reading order."""
    group_of: dict[int, int] = {}
    groups: list[list[int]] = []
    h, p = nodes.households, nodes.population
    for node in pool:
        if h[node] >= low or p[node] > max_population:
            group_of[node] = len(groups)
            groups.append([node])
    members = set(pool)
    for seed in pool:
        if seed in group_of:
            continue
        group_of[seed] = len(groups)
        group, total_h, total_p = [seed], h[seed], p[seed]
        groups.append(group)
        while total_h < low:
            options = [
                (gap, rank, other)
                for node in group
                for gap, rank, other in nodes.neighbours(node)
                if other in members
                and other not in group_of
                and total_h + h[other] <= high
                and total_p + p[other] <= max_population
            ]
            if not options:
                break
            other = min(options)[2]
            group.append(other)
            group_of[other] = group_of[seed]
            total_h, total_p = total_h + h[other], total_p + p[other]
    return _absorb_leftovers(nodes, groups, low, high, max_population)


def _absorb_leftovers(
    nodes: _Nodes, groups: list[list[int]], low: float, high: float, max_population: float
) -> list[list[int]]:
    """Join each grid below ``low`` to an adjacent grid when the result stays within the bounds."""
    h, p = nodes.households, nodes.population
    total_h = [sum(h[n] for n in g) for g in groups]
    total_p = [sum(p[n] for n in g) for g in groups]
    alive = [True] * len(groups)
    changed = True
    while changed:
        changed = False
        owner = {node: gid for gid, group in enumerate(groups) if alive[gid] for node in group}
        for gid, group in enumerate(groups):
            if not alive[gid] or total_h[gid] >= low:
                continue
            touching = {
                owner[other] for node in group for other in nodes.adjacent(node) if other in owner
            } - {gid}
            options = [
                (nodes.crosses(group, groups[t]), total_h[t] >= low, total_h[t],
                 min(nodes.rank[n] for n in groups[t]), t)
                for t in touching
                if total_h[gid] + total_h[t] <= high and total_p[gid] + total_p[t] <= max_population
            ]
            if not options:
                continue
            target = min(options)[-1]
            groups[target] = groups[target] + group
            total_h[target] += total_h[gid]
            total_p[target] += total_p[gid]
            alive[gid], changed = False, True
            owner.update({node: target for node in group})
    return [group for gid, group in enumerate(groups) if alive[gid]]


def _is_split(split_of: np.ndarray | None, node: int) -> bool:
    return split_of is not None and split_of[node] is not None and not pd.isna(split_of[node])


def _split_groups(nodes: _Nodes, split_of: np.ndarray | None, rules: GridRules) -> list[dict]:
    """Grids of the buildings of each split compound, grown among the compound's own buildings."""
    if split_of is None:
        return []
    compounds = list(dict.fromkeys(split_of[node] for node in nodes.ordered if _is_split(split_of, node)))
    groups = []
    low, high = rules.city_households
    for compound in compounds:
        pool = [node for node in nodes.ordered if _is_split(split_of, node) and split_of[node] == compound]
        for group in _grow(nodes, pool, low, high, rules.max_population):
            groups.append({"nodes": group, "type": "city", "reason": "split", "note": f"part of {compound}"})
    return groups


def _city_groups(nodes: _Nodes, pool: list[int], rules: GridRules) -> list[dict]:
    low, high = rules.city_households
    groups = _grow(nodes, pool, low, high, rules.max_population)
    return [{"nodes": g, "type": "city", "reason": None, "note": ""} for g in groups]


def _rural_groups(nodes: _Nodes, pool: list[int], roles: np.ndarray, rules: GridRules) -> list[dict]:
    """Villages (or, without villages, all units) grouped; other units join the village grid next to them."""
    villages = [node for node in pool if roles[node] == "village"] or pool
    others = [node for node in pool if node not in set(villages)]
    high = rules.city_households[1]
    groups = _grow(nodes, villages, rules.rural_min_households, high, rules.max_population)
    owner = {node: gid for gid, group in enumerate(groups) for node in group}
    joined: dict[int, list[int]] = defaultdict(list)
    pending = list(others)
    while pending:
        placed = []
        for node in pending:
            near = [
                (not nodes.same_zone(node, o), gap, sum(nodes.households[n] for n in groups[owner[o]]),
                 owner[o])
                for o, gap in nodes.adjacent(node).items()
                if o in owner
            ]
            if near:
                gid = min(near)[-1]
                groups[gid].append(node)
                owner[node] = gid
                joined[gid].append(node)
                placed.append(node)
        if not placed:
            break
        pending = [node for node in pending if node not in owner]
    groups += _grow(nodes, pending, rules.rural_min_households, high, rules.max_population)
    out = []
    for gid, group in enumerate(groups):
        note = f"{len(joined[gid])} non-village unit(s) joined this village grid" if joined.get(gid) else ""
        out.append({"nodes": group, "type": "rural", "reason": None, "note": note})
    return out


def _finish(
    data: dict[str, np.ndarray], nodes: _Nodes, groups: list[dict], roles: np.ndarray, rules: GridRules
) -> tuple[np.ndarray, list[GridRow]]:
    labels = np.full(len(data["unit_id"]), -1, dtype=np.int64)
    rows = []
    for gid, group in enumerate(groups):
        members = [unit for node in group["nodes"] for unit in nodes.members[node]]
        labels[members] = gid
        rows.append(
            GridRow(
                group["type"],
                group["reason"] or _reason(group["type"], members, roles),
                group["note"],
                float(data["households"][members].sum()),
                float(data["population"][members].sum()),
            )
        )
    totals: dict[str, float] = defaultdict(float)  # plain Python: pandas per community costs more
    for row in rows:
        totals[row.type] += row.households
    return labels, [row._replace(note=_join(row.note, _range_note(row, totals, rules))) for row in rows]


def _reason(grid_type: str, members: list[int], roles: np.ndarray) -> str:
    villages = sum(roles[m] == "village" for m in members)
    if grid_type == "rural" and villages:
        return "single village" if villages == 1 else "merged villages"
    return "alone" if len(members) == 1 else "merged"


def target_range(grid_type: str, rules: GridRules) -> tuple[float, float]:
    """Return the household range a grid of this type should fall in (dedicated grids have none).

    Examples
    --------
    >>> target_range("rural", GridRules())
    (100, 500)
    """
    if grid_type == "city":
        return rules.city_households
    if grid_type == "rural":
        return rules.rural_min_households, rules.city_households[1]
    return 0, float("inf")


def _range_note(row, totals: dict[str, float], rules: GridRules) -> str:
    """Why a grid is outside its range ('' when it is inside)."""
    low, high = target_range(row.type, rules)
    cap = rules.max_population if row.type == "city" else float("inf")
    alone = row.reason in ("alone", "single village")
    if row.households > high or row.population > cap:
        what = f"{row.households:.0f} households, {row.population:.0f} people"
        if row.reason == "split":
            return f"above the range: one building ({what}) is never divided"
        if alone:
            return (
                f"above the range: one natural village ({what}) is never split"
                if row.type == "rural"
                else f"above the range: one unit ({what}); give its buildings as units to split it"
            )
        return f"above the range ({what}): units that must share a grid (points inside a polygon)"
    if row.households < low and row.reason == "split":
        return f"below the range ({row.households:.0f} households): the rest of a split compound's buildings"
    if row.households < low:
        total = totals[row.type]
        if total < low:
            return (
                f"below the range: the community's {row.type} units hold only {total:.0f} households in all"
            )
        return (
            f"below the range ({row.households:.0f} households): no adjacent grid can take it without "
            f"exceeding {high} households or {rules.max_population} people"
        )
    return ""


def _join(*notes: str) -> str:
    return "; ".join(note for note in notes if note)
