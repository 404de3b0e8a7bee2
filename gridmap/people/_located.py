"""The grid of each unit (compound, building …): the grid code it gives if the grids have it, else its place.

A units layer may carry a ``grid_code`` that is no code of the grids it is checked against: the builder's
temporary codes (``990102001001-001``, before :meth:`gridmap.Registry.assign` gives permanent ones), a
retired grid, a typing error. Trusting such a code would put the unit in no grid and silently count its
households nowhere; :func:`grid_codes` places those units by their location instead (a polygon's
representative point, in the grid :func:`gridmap.cases.assign` finds) and says so: a ``GridmapWarning``
naming how many units and the fix, and one ``unknown_grid_code`` finding (warning) per unit. A unit
whose location lies in no grid is an ``outside_grids`` finding (warning): it is counted in no grid.

Examples
--------
>>> import warnings
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> grids = gpd.GeoDataFrame({"code": ["450102001003001"], "community_code": ["450102001003"]},
...                          geometry=[box(0, 0, 100, 100)], crs="EPSG:4545")
>>> units = gpd.GeoDataFrame({"unit_id": ["C1", "C2"], "grid_code": ["450102001003001", "450102001003-001"]},
...                          geometry=[Point(10, 10), Point(50, 50)], crs="EPSG:4545")
>>> report = Report("units")
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     grid_codes(units, grids, report, what="units", ids=units["unit_id"], caller="check")
0    450102001003001
1    450102001003001
dtype: object
>>> print(caught[0].message)  # doctest: +ELLIPSIS
check: 1 of 2 units name a grid code that is none of the grids' (e.g. 450102001003-001, a temporary code of
the builder); they were placed in the grids by their location instead. Fix: ...
>>> report.to_frame()[["check", "record", "grid_code_given", "grid_code"]]
               check record   grid_code_given        grid_code
0  unknown_grid_code     C2  450102001003-001  450102001003001
"""

from __future__ import annotations

import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.cases.assign import assign
from gridmap.errors import GridmapWarning
from gridmap.findings import Report
from gridmap.people._values import code_column, or_none

__all__ = ["grid_codes", "TEMPORARY_CODE"]

#: The builder's temporary grid codes: the community code, a dash and a sequence (``990102001001-001``).
TEMPORARY_CODE = re.compile(r"^\d{12}-\d+$")
_FIX = ("give the units the grids' permanent codes (after grids = Registry.assign(build.grids): "
        "units['grid_code'].map(dict(zip(grids['temp_code'], grids['code'])))), or drop their grid_code "
        "column to place every unit by its location")


def grid_codes(units: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, report: Report, *, what: str,
               ids: pd.Series, caller: str, stacklevel: int = 2) -> pd.Series:
    """Return each unit's grid code: its ``grid_code`` if the grids have it, else the grid holding its point.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Units with an optional ``grid_code`` column and points or polygons (none or empty: no grid).
    grids : geopandas.GeoDataFrame
        Grids with a unique text ``code`` (:func:`gridmap.people._values.grid_frame`).
    report : gridmap.Report
        Receives one ``unknown_grid_code`` warning per unit whose code is none of the grids', one
        ``outside_grids`` warning per other unit placed by its location in no grid.
    what : str
        What the units are, for the messages (``"units"``, ``"buildings"``).
    ids : pandas.Series
        Each unit's id, the findings' records.
    caller : str
        The public function, the warning's prefix.
    stacklevel : int, default 2
        Of the warning, counted from the caller of this function.

    Returns
    -------
    pandas.Series
        Grid codes (text, None for a unit in no grid), on ``units``' index.
    """
    given = code_column(units, "grid_code")
    known = given.isin(set(grids["code"])).to_numpy()
    result = given.where(known, None)
    geoms = units.geometry.to_numpy()
    wanted = ~known & ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if wanted.any():
        points = gpd.GeoDataFrame(geometry=units.geometry[wanted].representative_point(), crs=units.crs)
        result[wanted] = or_none(assign(points, grids, report=Report("scratch"))["grid_code"]).to_numpy()
    stray = given.notna().to_numpy() & ~known
    if stray.any():
        _report(given[stray], result[stray], ids[stray], report, what=what, total=len(units), caller=caller,
                stacklevel=stacklevel + 1)
    lost = wanted & result.isna().to_numpy() & ~stray
    report.add_many("outside_grids", "{unit} lies in no grid; it is counted in no grid's figures",
                    records=ids[lost].to_numpy(dtype=object), severity="warning",
                    unit=ids[lost].to_numpy(dtype=object),
                    fix="check its coordinates (GCJ-02/BD-09 not converted?) or give the grids around it")
    return result


def _report(given: pd.Series, placed: pd.Series, ids: pd.Series, report: Report, *, what: str, total: int,
            caller: str, stacklevel: int) -> None:
    """Warn once (how many, an example, the fix) and add one finding per unit."""
    example = str(given.iloc[0])
    why = ", a temporary code of the builder" if TEMPORARY_CODE.match(example) else ""
    warnings.warn(f"{caller}: {len(given):,} of {total:,} {what} name a grid code that is none of the grids' "
                  f"(e.g. {example}{why}); they were placed in the grids by their location instead. "
                  f"Fix: {_FIX}", GridmapWarning, stacklevel=stacklevel + 1)
    where = np.where(placed.notna(), "placed by its location in grid " + placed.fillna("").astype(str),
                     "its location is in no grid either")
    report.add_many("unknown_grid_code", "{unit} names grid {grid_code_given}, which is none of the grids; "
                    "{where}", records=ids.to_numpy(dtype=object), severity="warning", fix=_FIX,
                    unit=ids.to_numpy(dtype=object), grid_code_given=given.to_numpy(dtype=object),
                    grid_code=placed.to_numpy(dtype=object), where=where)
