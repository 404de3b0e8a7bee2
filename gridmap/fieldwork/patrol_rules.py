r"""The patrol rules (巡查规则): how often each grid must be patrolled and what counts as a patrol.

Nanjing-Xuanwu's "八定一轮两响应" (seed 002) asks every grid worker for one full round (一轮) of their grid a
day; :class:`PatrolRules` holds that rule as a table — a count per day, week or month, for every grid, for a
type of grid (城市/农村/专属网格) or for one grid by its code — and the thresholds the measures use: the
distance within which a track passes a unit, when records make one patrol, which track points are joined,
and after how many days a grid counts as unpatrolled. Rules are read from TOML (:meth:`PatrolRules.from_toml`,
table ``[patrols]``)::

    [patrols]
    within_m = 50          # a unit within 50 m of its grid's patrol is passed
    idle_days = 3          # grids not patrolled for 3 days are listed

    [[patrols.required]]   # the rule table: the row naming a grid's code wins, then its type, then the rest
    count = 1
    per = "day"

    [[patrols.required]]
    type = "rural"
    count = 3
    per = "week"

Examples
--------
>>> rules = PatrolRules(required=({"count": 2, "per": "week", "type": "rural"},))
>>> rules.within_m, rules.rule_for("rural"), rules.rule_for("city")
(50.0, (2.0, 'week'), (1.0, 'day'))
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from gridmap.division.rules import TomlRules
from gridmap.errors import GridmapError
from gridmap.schema import PERIODS

__all__ = ["PatrolRules", "DEFAULT_REQUIRED"]

#: The default rule table: one patrol (一轮) of every grid every day.
DEFAULT_REQUIRED: tuple[dict[str, Any], ...] = ({"count": 1, "per": "day"},)
_ROW_KEYS = ("count", "per", "type", "code")


@dataclass(frozen=True)
class PatrolRules(TomlRules):
    """Rules for patrols: the required count per grid and the thresholds of the measures.

    Parameters
    ----------
    required : tuple of dict, default one per day for every grid
        The rule table. Each row has ``count`` (a number, 0 or more) and ``per`` (day, week or month) and
        at most one of ``code`` (a grid code) or ``type`` (a grid type: city, rural, dedicated). A grid takes
        the row naming its code, else the row naming its type, else the row naming neither; when no row names
        neither, the rest keep the default, one per day. Counts per week or month are spread over their days:
        "3 per week" asks 3 for a whole week and 3/7 for one day.
    within_m : float, default 50
        A unit (a compound, a building) is passed when a patrol of its own grid comes within this many
        metres of it (measured in a metric CRS; a track through a unit is at 0 m); a neighbour's track
        along the shared edge does not pass it.
    patrol_gap_minutes : float, default 60
        Records of one worker in one grid closer in time than this belong to one patrol.
    min_patrol_minutes : float, default 5
        A patrol on a track shorter than this (a worker crossing a corner of a grid) does not count;
        check-ins always count.
    break_minutes : float, default 10
        Track points of one worker further apart in time are not joined: the track breaks there.
    max_speed_kmh : float, default 40
        Track points that would need a faster move are not joined (a GPS jump).
    idle_days : float, default 3
        Grids not patrolled for this many days are listed.
    """

    required: tuple[dict[str, Any], ...] = DEFAULT_REQUIRED
    within_m: float = 50.0
    patrol_gap_minutes: float = 60.0
    min_patrol_minutes: float = 5.0
    break_minutes: float = 10.0
    max_speed_kmh: float = 40.0
    idle_days: float = 3.0

    _TABLE, _WHAT = "patrols", "patrol rule"
    _VALUES = ("required is a list of tables with count, per (day/week/month) and at most one of code or "
               "type; the other keys are numbers")

    def __post_init__(self) -> None:
        for name in ("within_m", "patrol_gap_minutes", "min_patrol_minutes", "break_minutes", "max_speed_kmh",
                     "idle_days"):
            _check_number(name, getattr(self, name), positive=name in ("within_m", "max_speed_kmh"))
        if not isinstance(self.required, tuple | list):
            raise GridmapError(f"required={self.required!r} is not a list of rows", fix=self._VALUES)
        object.__setattr__(self, "required", tuple(_checked_row(row, n) for n, row in
                                                   enumerate(self.required, 1)))
        for key in ("code", "type"):
            named = [str(row[key]) for row in self.required if row.get(key) is not None]
            if len(named) != len(set(named)):
                raise GridmapError(f"two rows of required name the same {key}", fix=f"keep one row per {key}")
        defaults = [row for row in self.required if row.get("code") is None and row.get("type") is None]
        if len(defaults) > 1:
            raise GridmapError("two rows of required name neither code nor type",
                               fix="keep one default row (the one for every other grid)")

    def rule_for(self, grid_type: object = None, code: object = None) -> tuple[float, str]:
        """Return the (count, per) rule of a grid: by its code, else its type, else the default row."""
        for key, value in (("code", code), ("type", grid_type)):
            if value is not None:
                row = next((r for r in self.required if r.get(key) == value), None)
                if row is not None:
                    return float(row["count"]), str(row["per"])
        row = next((r for r in self.required if r.get("code") is None and r.get("type") is None),
                   DEFAULT_REQUIRED[0])
        return float(row["count"]), str(row["per"])


def _check_number(name: str, value: object, *, positive: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        allowed = "above 0" if positive else "0 or more"
        raise GridmapError(f"{name}={value!r} is not a finite number {allowed}",
                           fix=f"give {name} a number {allowed}")


def _checked_row(row: object, number: int) -> dict[str, Any]:
    """One row of the rule table, checked: count, per and at most one of code or type."""
    where = f"row {number} of required"
    if not isinstance(row, dict):
        raise GridmapError(f"{where} is {row!r}, not a table", fix="write rows as {count = 1, per = \"day\"}")
    unknown = [key for key in row if key not in _ROW_KEYS]
    if unknown:
        raise GridmapError(f"{where} has the unknown key {unknown[0]!r}",
                           fix=f"use only {', '.join(_ROW_KEYS)}")
    if "count" not in row:
        raise GridmapError(f"{where} has no count", fix="give the number of patrols, e.g. count = 1")
    _check_number(f"count ({where})", row["count"], positive=False)
    per = row.get("per", "day")
    if per not in PERIODS:
        raise GridmapError(f"per={per!r} ({where}) is not a period",
                           fix=f"give per one of {', '.join(PERIODS)}")
    if row.get("code") is not None and row.get("type") is not None:
        raise GridmapError(f"{where} names both a code and a type", fix="give one of them, or split the row")
    return {**row, "per": per}
