"""Resolve overlapping communities before division: each piece of land ends up in one community.

Real boundaries overlap their neighbours by a few square metres to a few hundred (digitised separately).
Every overlap of two communities goes, whole, to one of them (the other loses it), by this rule:

1. **units** — the community that holds more of its assigned units there (a point in the overlap, a
   polygon sharing area with it);
2. **share** — else the community of which the overlap is the larger share of its area (the smaller
   community: a slip of land matters more to it);
3. **code** — else the community with the smaller code.

Pairs are resolved in the order of their codes, each against the outlines left by the pairs before it, so
three-way overlaps are resolved too. Then every unit whose community lost the land under it moves to the
community that now holds it (a point: the one covering it, the smaller code on a shared edge; a polygon: the
one holding most of it), reported as ``unit_community_moved`` (info). Each overlap larger than
``tolerance_m2`` is reported as ``community_overlap`` with its area and winner, and every overlap is listed
in ``report.tables["community_overlaps"]``.

All geometry is metric; the outlines are on the precision grid of the tessellation, so the resolved
communities share their edges exactly.

Examples
--------
>>> import numpy as np
>>> from shapely import Point, box
>>> from gridmap import Report
>>> geoms = np.array([box(0, 0, 100, 100), box(90, 0, 200, 100)], dtype=object)
>>> report = Report("example")
>>> resolved, located = resolve_overlaps(geoms, np.array(["450102001001", "450102001002"]),
...     np.array([Point(95, 50)], dtype=object), np.array([1]), report)
>>> [round(g.area) for g in resolved], located.tolist()   # B holds the unit there, so B keeps the strip
([9000, 11000], [1])
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridmap.division.tessellate import GRID_SIZE_M
from gridmap.findings import Report

__all__ = ["overlapping_pairs", "resolve_overlaps", "OVERLAP_RULES"]

#: The rules that decide who keeps an overlap, in the order they are tried (the ``rule`` column).
OVERLAP_RULES = ("units", "share", "code")


def overlapping_pairs(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(left, right)``, ``left < right``, of the polygons whose interiors overlap."""
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    interiors = shapely.relate_pattern(geoms[left], geoms[right], "2********")  # share area, not just touch
    return left[interiors], right[interiors]


def resolve_overlaps(
    geoms: np.ndarray,
    codes: np.ndarray,
    unit_geoms: np.ndarray,
    unit_community: np.ndarray,
    report: Report,
    *,
    unit_ids: np.ndarray | None = None,
    tolerance_m2: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Give every overlap of two communities to one of them.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        Community outlines in a metric CRS.
    codes : numpy.ndarray of str
        Community codes, aligned with ``geoms``.
    unit_geoms : numpy.ndarray of shapely geometries
        Unit geometries in the same CRS.
    unit_community : numpy.ndarray of int
        Position of each unit's community (-1 outside every community).
    report : gridmap.Report
        Receives one ``community_overlap`` finding per overlap above ``tolerance_m2`` and one
        ``unit_community_moved`` per unit moved.
    unit_ids : numpy.ndarray of str, optional
        Unit ids for the findings (row positions when None).
    tolerance_m2 : float, default 1.0
        Smaller overlaps are resolved silently.

    Returns
    -------
    geoms : numpy.ndarray
        The outlines with no two overlapping (unchanged when nothing overlaps).
    unit_community : numpy.ndarray
        The units' communities after units in lost land moved to the winner.
    """
    left, right = overlapping_pairs(geoms)
    columns = ["community_a", "community_b", "winner", "rule", "area_m2"]
    if not len(left):
        report.tables["community_overlaps"] = pd.DataFrame(columns=columns)
        return geoms, unit_community
    geoms, unit_community = geoms.copy(), unit_community.copy()
    tree = shapely.STRtree(unit_geoms)
    rows, losers = [], set()
    pairs = [(a, b) if codes[a] <= codes[b] else (b, a) for a, b in zip(left, right, strict=True)]
    for a, b in sorted(pairs, key=lambda p: (codes[p[0]], codes[p[1]])):
        piece = _polygonal(shapely.intersection(geoms[a], geoms[b], grid_size=GRID_SIZE_M))
        area = shapely.area(piece)
        if area <= 0:
            continue
        held = _units_in(piece, unit_geoms, tree)
        winner, rule = _winner(a, b, [int((unit_community[held] == c).sum()) for c in (a, b)], geoms)
        loser = b if winner == a else a
        geoms[loser] = _polygonal(shapely.difference(geoms[loser], geoms[winner], grid_size=GRID_SIZE_M))
        losers.add(loser)
        rows.append((codes[a], codes[b], codes[winner], rule, round(float(area), 1)))
        if area > tolerance_m2:
            report.add(
                "community_overlap",
                f"communities {codes[a]} and {codes[b]} overlap by {area:,.0f} m²; the overlap goes to "
                f"{codes[winner]} ({_RULE_TEXT[rule]})",
                record=f"{codes[a]}/{codes[b]}",
                severity="warning",
                fix="correct the boundaries so that communities only touch (gridmap.validation)",
                area_m2=round(float(area), 1),
                winner=codes[winner],
                rule=rule,
            )
    report.tables["community_overlaps"] = pd.DataFrame(rows, columns=columns)
    ids = np.arange(len(unit_geoms)).astype(str) if unit_ids is None else np.asarray(unit_ids, dtype=object)
    _relocate(unit_geoms, unit_community, geoms, codes, ids, sorted(losers), report)
    return geoms, unit_community


_RULE_TEXT = {
    "units": "it holds more of its units there",
    "share": "no units decide; the overlap is the larger share of its area",
    "code": "no units or sizes decide; the smaller code",
}


def _polygonal(geometry):
    """Drop the lines and points an overlay leaves where outlines only touch."""
    parts = shapely.get_parts(geometry)
    polygons = parts[shapely.get_dimensions(parts) == 2]
    return shapely.union_all(polygons) if len(polygons) > 1 else (polygons[0] if len(polygons) else
                                                                   shapely.Polygon())


def _units_in(piece, unit_geoms: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    """Positions of the units lying in ``piece``: points on it, polygons sharing area with it."""
    hit = tree.query(piece, predicate="intersects")
    areal = shapely.get_dimensions(unit_geoms[hit]) == 2
    inner = ~areal | shapely.relate_pattern(piece, unit_geoms[hit], "2********")
    return hit[inner]


def _winner(a: int, b: int, held: list[int], geoms: np.ndarray) -> tuple[int, str]:
    """Return who keeps the overlap of ``a`` and ``b`` (``a`` has the smaller code), and the rule."""
    if held[0] != held[1]:
        return (a if held[0] > held[1] else b), "units"
    area_a, area_b = np.round(shapely.area(geoms[[a, b]]), 2)
    if area_a != area_b:
        return (a if area_a < area_b else b), "share"
    return a, "code"


def _relocate(unit_geoms: np.ndarray, unit_community: np.ndarray, geoms: np.ndarray, codes: np.ndarray,
              ids: np.ndarray, losers: list[int], report: Report) -> None:
    """Move the units of communities that lost land, where they no longer lie in them (in place)."""
    mine = np.flatnonzero(np.isin(unit_community, losers))
    if not len(mine):
        return
    units = unit_geoms[mine]
    areal = shapely.get_dimensions(units) == 2
    home = geoms[unit_community[mine]]
    stays = np.where(areal, shapely.area(shapely.intersection(units, home)) > 0,
                     shapely.dwithin(units, home, GRID_SIZE_M))
    tree = shapely.STRtree(geoms)
    for unit in mine[~stays]:
        found = tree.query(unit_geoms[unit], predicate="dwithin", distance=GRID_SIZE_M)
        if not len(found):
            continue
        if shapely.get_dimensions(unit_geoms[unit]) == 2:
            shares = np.round(shapely.area(shapely.intersection(unit_geoms[unit], geoms[found])), 4)
            best = found[np.lexsort((codes[found], -shares))[0]]
        else:
            best = found[np.argsort(codes[found], kind="stable")[0]]
        report.add(
            "unit_community_moved",
            f"unit {ids[unit]} moves from community {codes[unit_community[unit]]} to {codes[best]}: the land "
            "under it went to that community when their overlap was resolved",
            record=ids[unit],
            severity="info",
            community_from=codes[unit_community[unit]],
            community_to=codes[best],
        )
        unit_community[unit] = best
