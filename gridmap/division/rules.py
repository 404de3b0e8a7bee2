"""The rules a grid division follows: household range, population cap, rural and dedicated thresholds.

The defaults follow the practice described in the project's domain notes (Nanning, Guilin, Nanjing-Xuanwu):
a city grid holds about 300–500 households and at most 2,500 people; a rural grid is one natural village,
small villages merged with their neighbours; a dedicated site (office building, industrial park, market,
school, hospital, transport hub, government office or institution) forms its own dedicated grid.

Examples
--------
>>> rules = GridRules(city_households=(200, 400))
>>> rules.city_households, rules.max_population
((200, 400), 2500)
>>> GridRules(colour="red")
Traceback (most recent call last):
...
TypeError: GridRules.__init__() got an unexpected keyword argument 'colour'
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, cast

from gridmap.errors import GridmapError
from gridmap.schema import DEDICATED_KINDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["GridRules", "MicroRules", "TomlRules"]


class TomlRules:
    """TOML loading shared by the rule classes (grid, micro-grid and patrol rules): keys are the field names.

    A subclass is a dataclass; it names its TOML table and what its rules are called (``_TABLE``,
    ``_WHAT``) and how its values are written (``_VALUES``, for the fix of a bad value).
    """

    #: Given by ``@dataclass`` on each subclass.
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    #: The table of a TOML file holding the keys, when the file has one; what the rules are called.
    _TABLE, _WHAT = "rules", "grid rule"
    #: How the values are written, for the fix of a bad value.
    _VALUES = "city_households is a list of two integers, the other keys are numbers"

    @classmethod
    def from_toml(cls, path: str | os.PathLike, *, table: str | None = None) -> Any:
        r"""Read rules from a TOML file; keys not given keep their defaults.

        Parameters
        ----------
        path : str or os.PathLike
            The TOML file. Keys are the field names of the class, either at the top level or in its table.
        table : str or None, optional
            Name of the table holding the keys, when the file has one (default ``[rules]`` for
            :class:`GridRules`, ``[microgrids]`` for :class:`MicroRules`).

        Raises
        ------
        GridmapError
            The file cannot be read or parsed, a key is unknown (the message lists the allowed keys) or a
            value is out of range.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "rules.toml"
        >>> _ = path.write_text("[rules]\ncity_households = [250, 450]\nneighbour_distance_m = 100\n")
        >>> GridRules.from_toml(path).city_households
        (250, 450)
        """
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise GridmapError(
                f"cannot read {cls._WHAT}s: {exc}",
                path=path,
                fix=f"give a UTF-8 TOML file with keys of gridmap.division.{cls.__name__}",
            ) from exc
        table = cls._TABLE if table is None else table
        if table and isinstance(data.get(table), dict):
            data = data[table]
        return cls._from_mapping(data, path=path)

    @classmethod
    def _from_mapping(cls, data: dict[str, Any], *, path: str | os.PathLike | None = None) -> Any:
        allowed = [field.name for field in dataclasses.fields(cls)]
        for key in data:
            if key not in allowed:
                raise GridmapError(
                    f"unknown {cls._WHAT} {key!r}",
                    path=path,
                    record=f"key {key}",
                    fix=f"use only the keys {', '.join(allowed)}",
                )
        values = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
        try:
            return cls(**values)
        except GridmapError as exc:
            raise exc.at(path) from None
        except (TypeError, ValueError) as exc:
            raise GridmapError(
                f"bad value in {cls._WHAT}s: {exc}",
                path=path,
                fix=cls._VALUES,
            ) from exc


@dataclass(frozen=True)
class GridRules(TomlRules):
    """Rules for dividing communities into grids.

    Parameters
    ----------
    city_households : tuple of int, default (300, 500)
        Target range of households of a city grid (城市网格), inclusive.
    max_population : int, default 2500
        Most people a city grid may hold; small compounds are not merged beyond it.
    rural_min_households : int, default 100
        A natural village below this many households is merged with its neighbouring villages.
    dedicated_kinds : tuple of str, default the five dedicated kinds of :mod:`gridmap.schema`
        Unit kinds that can form dedicated grids (专属网格).
    dedicated_min_people : int, default 100
        A dedicated site given as a point forms its own grid only with at least this population;
        a site given as a polygon always does. Smaller sites are ordinary units of their community's grid.
    neighbour_distance_m : float, default 150
        Two units whose land touches are merge neighbours when they are at most this far apart (across a
        road, say); units further apart are only joined when a grid would otherwise stay below the range.
    coincident_m : float, default 5
        Point units this close to each other share a location (a geocoder's road or village centroid):
        they are reported as low-confidence positions and spread around the spot so that they can form
        separate grids (see :mod:`gridmap.division.positions`); 0 keeps them where they are.
    min_block_m2 : float, default 200
        With barriers (streets, rivers, railways; see :mod:`gridmap.division.barriers`), a block smaller than
        this is merged into the neighbouring block it shares the longest edge with: dangling road ends,
        duplicate lines and lines along the community boundary make no slivers.
    """

    city_households: tuple[int, int] = (300, 500)
    max_population: int = 2500
    rural_min_households: int = 100
    dedicated_kinds: tuple[str, ...] = DEDICATED_KINDS
    dedicated_min_people: int = 100
    neighbour_distance_m: float = 150.0
    coincident_m: float = 5.0
    min_block_m2: float = 200.0

    def __post_init__(self) -> None:
        _require_numbers(self)
        low, high = self.city_households
        if not 0 <= low <= high:
            raise GridmapError(
                f"city_households must be (low, high) with 0 <= low <= high, got {self.city_households}",
                record="city_households",
                fix="give two numbers, the smaller first, e.g. [300, 500]",
            )
        for name in (
            "max_population",
            "rural_min_households",
            "dedicated_min_people",
            "neighbour_distance_m",
            "coincident_m",
            "min_block_m2",
        ):
            if getattr(self, name) < 0:
                raise GridmapError(
                    f"{name} must not be negative, got {getattr(self, name)}",
                    record=name,
                    fix=f"give a number >= 0 for {name}",
                )
        unknown = sorted(set(self.dedicated_kinds) - set(DEDICATED_KINDS) - {"other"})
        if unknown:
            raise GridmapError(
                f"dedicated_kinds has unknown kinds {unknown}",
                record="dedicated_kinds",
                fix=f"use kinds among {', '.join(DEDICATED_KINDS + ('other',))}",
            )


@dataclass(frozen=True)
class MicroRules(TomlRules):
    r"""Rules for dividing grids into micro-grids (微网格) of a few buildings.

    Guilin, for one, runs 28,493 micro-grids inside 5,765 grids: a micro-grid is a handful of buildings,
    about 30–50 households, looked after by one micro-grid worker. A building above the ceiling is a
    micro-grid by itself (a building is never divided).

    Parameters
    ----------
    households : tuple of int, default (30, 50)
        Target range of households of a micro-grid, inclusive.
    max_population : int, default 250
        Most people a micro-grid of several buildings may hold.
    neighbour_distance_m : float, default 60
        Two buildings whose land touches are merge neighbours when they are at most this far apart;
        buildings further apart are joined only when a micro-grid would otherwise stay below the range.

    Examples
    --------
    >>> MicroRules().households, MicroRules(households=(20, 40)).as_grid_rules().city_households
    ((30, 50), (20, 40))
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rules.toml"
    >>> _ = path.write_text("[rules]\ncity_households = [250, 450]\n[microgrids]\nhouseholds = [20, 40]\n")
    >>> MicroRules.from_toml(path).households
    (20, 40)
    """

    _TABLE, _WHAT = "microgrids", "micro-grid rule"
    _VALUES = "households is a list of two integers, the other keys are numbers"

    households: tuple[int, int] = (30, 50)
    max_population: int = 250
    neighbour_distance_m: float = 60.0

    def __post_init__(self) -> None:
        self.as_grid_rules()  # the same range checks as GridRules, reported under these names

    def as_grid_rules(self) -> GridRules:
        """Return these rules as the :class:`GridRules` that :mod:`gridmap.division.group` applies."""
        try:
            households = cast(tuple[int, int], tuple(self.households))
            return GridRules(city_households=households, max_population=self.max_population,
                             neighbour_distance_m=self.neighbour_distance_m)
        except GridmapError as exc:
            raise GridmapError(exc.problem.replace("city_households", "households"),
                               record=(exc.record or "").replace("city_households", "households") or None,
                               fix=(exc.fix or "").replace("city_households", "households") or None) from None


_NUMBERS = ("city_households", "max_population", "rural_min_households", "dedicated_min_people",
            "neighbour_distance_m", "coincident_m", "min_block_m2")
_WHOLE = ("city_households", "max_population", "rural_min_households", "dedicated_min_people")


def _require_numbers(rules: GridRules) -> None:
    """Refuse a rule that is not a finite number (``inf``, ``nan``, text, true/false).

    Rules that count households or people must be whole numbers too.
    """
    for field in dataclasses.fields(rules):
        if field.name not in _NUMBERS:
            continue
        given = getattr(rules, field.name)
        values = given if isinstance(given, tuple) else (given,)
        whole = field.name in _WHOLE
        pair = field.name == "city_households"
        if (not pair or len(values) == 2) and all(_finite(value, whole=whole) for value in values):
            continue
        kind = "two whole numbers" if pair else "a whole number" if whole else "a finite number"
        example = list(GridRules.city_households) if pair else field.default
        raise GridmapError(f"{field.name} = {given!r} is not {kind}", record=f"key {field.name}",
                           fix=f"give {kind}, e.g. {field.name} = {example}")


def _finite(value: object, *, whole: bool) -> bool:
    """Whether ``value`` is a real, finite number (and whole when ``whole``); bools and text are not."""
    if isinstance(value, (bool, str)) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return False
    return not whole or float(value).is_integer()
