"""Which registered grids the grids of a new build continue, split, merge or replace (private).

Works in memory on the few grids that member units alone did not match (the SQL step matches those):
overlaps are measured in a metric CRS, pairs are found with an ``STRtree`` and only intersecting pairs
are intersected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from gridmap.schema import ID_SEPARATOR

__all__ = ["OldGrids", "Plan", "overlap_pairs", "plan_matches", "unit_pairs", "LINK_KINDS"]

#: Kinds of lineage link (parent -> child), see :class:`gridmap.codes.registry.Registry`.
LINK_KINDS = ("split", "merge", "reshaped", "successor", "absorbed", "carved")
#: Intersections smaller than this (m²) are edge noise, not shared land.
MIN_SHARED_M2 = 1.0


@dataclass(frozen=True)
class OldGrids:
    """Registered grids taking part in the matching, in a metric CRS.

    ``candidate`` is True for grids no new grid matched by units (they are kept by overlap or retired),
    False for grids already kept by units that are loaded only as possible parents of new grids.
    """

    codes: np.ndarray
    ids: np.ndarray
    community: np.ndarray
    types: np.ndarray
    units: np.ndarray
    geometry: np.ndarray | None
    candidate: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)


@dataclass(frozen=True)
class Plan:
    """Decisions of one assignment: kept by overlap, retired, lineage links, and which positions are new."""

    keeps: list[tuple[int, str, int]]
    retired: list[tuple[str, int]]
    links: pd.DataFrame
    fresh: np.ndarray
    overlap_kept_old: np.ndarray
    overlap_kept_new: np.ndarray


def overlap_pairs(old: np.ndarray, new: np.ndarray) -> pd.DataFrame:
    """Return pairs (old position, new position) of metric polygons sharing land.

    With the shared ``area`` and its share of each polygon's area (``old_share``, ``new_share``).
    """
    empty = pd.DataFrame({"old": np.empty(0, np.int64), "new": np.empty(0, np.int64), "area": [],
                          "old_share": [], "new_share": []})
    present_old = np.flatnonzero(~(shapely.is_missing(old) | shapely.is_empty(old)))
    present_new = np.flatnonzero(~(shapely.is_missing(new) | shapely.is_empty(new)))
    if not present_old.size or not present_new.size:
        return empty
    olds, news = _valid(old[present_old]), _valid(new[present_new])
    i, j = shapely.STRtree(news).query(olds, predicate="intersects")
    area = shapely.area(shapely.intersection(olds[i], news[j]))
    keep = area >= MIN_SHARED_M2
    i, j, area = i[keep], j[keep], area[keep]
    return pd.DataFrame({"old": present_old[i], "new": present_new[j], "area": area,
                         "old_share": area / shapely.area(olds[i]),
                         "new_share": area / shapely.area(news[j])})


def _valid(geoms: np.ndarray) -> np.ndarray:
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return geoms


def _explode(units: np.ndarray | pd.Series, index: np.ndarray) -> pd.DataFrame:
    values = units.iloc[index].to_numpy(dtype=object) if isinstance(units, pd.Series) else units[index]
    text = pd.Series(values, index=index, dtype=object)
    text = text[text != ""]
    exploded = text.str.split(ID_SEPARATOR, regex=False).explode()  # normalised by registry._units
    return pd.DataFrame({"row": exploded.index.to_numpy(dtype=np.int64),
                         "unit": exploded.to_numpy(dtype=object)})


def unit_pairs(old_units: np.ndarray, old_rows: np.ndarray, new_units: pd.Series,
               new_rows: np.ndarray) -> pd.DataFrame:
    """Pairs (old position, new position) sharing member units, with the number shared."""
    left, right = _explode(old_units, old_rows), _explode(new_units, new_rows)
    shared = left.merge(right, on="unit", suffixes=("_old", "_new"))
    counts = shared.groupby(["row_old", "row_new"]).size()
    return pd.DataFrame({"old": counts.index.get_level_values(0).to_numpy(dtype=np.int64),
                         "new": counts.index.get_level_values(1).to_numpy(dtype=np.int64),
                         "shared_units": counts.to_numpy(dtype=np.int64)})


def _values(series: pd.Series, positions: np.ndarray) -> np.ndarray:
    part = series.iloc[positions]
    return part.astype(object).where(part.notna(), None).to_numpy(dtype=object)


def _overlap_keeps(pairs: pd.DataFrame, old: OldGrids, community: pd.Series, types: pd.Series,
                   matched: np.ndarray, *, typed: bool, keep_share: float) -> tuple[np.ndarray, np.ndarray]:
    """(old, new) positions kept by mutual overlap, greedily from the largest smaller share down."""
    o, n = pairs["old"].to_numpy(), pairs["new"].to_numpy()
    ok = old.candidate[o] & ~matched[n] & (old.community[o] == _values(community, n))
    ok &= (pairs["old_share"].to_numpy() >= keep_share) & (pairs["new_share"].to_numpy() >= keep_share)
    if typed:
        ok &= old.types[o] == _values(types, n)
    chosen = pairs[ok].assign(score=lambda f: np.minimum(f["old_share"], f["new_share"]))
    chosen = chosen.sort_values(["score", "old", "new"], ascending=[False, True, True], kind="stable")
    used_old, used_new, keep_old, keep_new = set(), set(), [], []
    for i, j in zip(chosen["old"].to_numpy(), chosen["new"].to_numpy(), strict=True):
        if i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            keep_old.append(i)
            keep_new.append(j)
    return np.array(keep_old, dtype=np.int64), np.array(keep_new, dtype=np.int64)


def _link_kinds(links: pd.DataFrame) -> pd.Series:
    """Name each link (see :data:`LINK_KINDS`).

    split / merge / reshaped / successor between retired and new grids; absorbed (retired into a kept
    grid); carved (a new grid taking land or units of a kept grid).
    """
    retired_links = links[links["parent_retired"]]
    children = retired_links.groupby("old").size()
    parents = retired_links.groupby("new").size()
    many_children = links["old"].map(children).fillna(0).to_numpy() > 1
    many_parents = links["new"].map(parents).fillna(0).to_numpy() > 1
    kind = np.select([many_children & many_parents, many_children, many_parents],
                     ["reshaped", "split", "merge"], "successor").astype(object)
    kind[~links["child_new"].to_numpy()] = "absorbed"
    kind[~links["parent_retired"].to_numpy()] = "carved"
    return pd.Series(kind, index=links.index)


def plan_matches(old: OldGrids, *, community: pd.Series, types: pd.Series, units: pd.Series,
                 geometry: np.ndarray | None, matched: np.ndarray, typed: bool, keep_share: float,
                 link_share: float) -> Plan:
    """Decide keeps by overlap, retirements and lineage for a build (attributes by row position).

    ``matched`` flags the new positions kept by units (or by an imported code they name); ``geometry``
    holds the new grids in the same metric CRS as ``old.geometry`` (None without geometry).
    """
    pairs = (overlap_pairs(old.geometry, geometry) if geometry is not None and old.geometry is not None
             else overlap_pairs(np.empty(0, object), np.empty(0, object)))
    keep_old, keep_new = _overlap_keeps(pairs, old, community, types, matched, typed=typed,
                                        keep_share=keep_share)
    kept_old = ~old.candidate
    kept_old[keep_old] = True
    kept_new = matched.copy()
    kept_new[keep_new] = True

    near = pairs[np.maximum(pairs["old_share"], pairs["new_share"]) >= link_share]
    shared = unit_pairs(old.units, np.flatnonzero(old.candidate), units, np.flatnonzero(~matched))
    links = near.merge(shared, on=["old", "new"], how="outer")
    links["shared_units"] = links["shared_units"].fillna(0).astype(np.int64)
    links["parent_retired"] = ~kept_old[links["old"].to_numpy(dtype=np.int64)]
    links["child_new"] = ~kept_new[links["new"].to_numpy(dtype=np.int64)]
    links = links[links["parent_retired"] | links["child_new"]].reset_index(drop=True)
    links["kind"] = _link_kinds(links)
    retired = np.flatnonzero(~kept_old)
    return Plan(
        keeps=[(int(j), old.codes[i], int(old.ids[i])) for i, j in zip(keep_old, keep_new, strict=True)],
        retired=[(old.codes[i], int(old.ids[i])) for i in retired],
        links=links, fresh=np.flatnonzero(~kept_new), overlap_kept_old=keep_old, overlap_kept_new=keep_new)
