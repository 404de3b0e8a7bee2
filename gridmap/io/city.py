"""A city's layers in one bundle: :class:`City`, read whole from a build by :func:`load_city`.

The map functions, the statistics and the command line all take the same layers — grids, communities, streets,
districts, units, cases and the staff roster. A :class:`City` carries them together, so
``gridmap.maps.one_screen(city)`` replaces seven keyword arguments, and :func:`load_city` fills one from the
GeoPackage that ``gridmap build`` or ``gridmap demo`` wrote.

Examples
--------
>>> import gridmap
>>> city = gridmap.load_sample()
>>> sorted(city.layers())
['cases', 'communities', 'districts', 'staff', 'streets', 'units']
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from gridmap.errors import SchemaError
from gridmap.io.read import layers_listed_once, list_layers, read_layer

__all__ = ["City", "load_city", "city_layers", "LAYERS"]

#: The layers a city may carry, in the order they are shown.
LAYERS = ("grids", "districts", "streets", "communities", "units", "staff", "cases")


@dataclass(frozen=True, eq=False, repr=False)
class City:
    """The layers of one city (any may be missing), as the map, statistics and report functions take them.

    Attributes
    ----------
    grids : geopandas.GeoDataFrame, optional
        Grids with ``code``, ``community_code``, ``type``, counts.
    districts, streets, communities : geopandas.GeoDataFrame, optional
        Administrative polygons: ``code``, ``name``, ``parent_code``.
    units : geopandas.GeoDataFrame, optional
        Compounds, natural villages and dedicated sites (polygons and points together).
    staff : pandas.DataFrame, optional
        The grid staff roster: ``grid_code``, ``role``, ``name``, ``phone``.
    cases : geopandas.GeoDataFrame, optional
        Case points, with ``grid_code`` when they were assigned.
    name : str
        What the city is called in its ``repr``.
    path : pathlib.Path, optional
        The file or folder the layers were read from.
    """

    grids: gpd.GeoDataFrame | None = None
    districts: gpd.GeoDataFrame | None = None
    streets: gpd.GeoDataFrame | None = None
    communities: gpd.GeoDataFrame | None = None
    units: gpd.GeoDataFrame | None = None
    staff: pd.DataFrame | None = None
    cases: gpd.GeoDataFrame | None = None
    name: str = "city"
    path: Path | None = None

    def layers(self) -> dict[str, pd.DataFrame]:
        """Return the layers the city has, by name (the keyword arguments of the map functions)."""
        return {layer: getattr(self, layer) for layer in LAYERS if getattr(self, layer) is not None}

    def summary(self) -> pd.DataFrame:
        """One row per layer present: its name, number of rows and CRS (``-`` for tables)."""
        rows = []
        for layer, frame in self.layers().items():
            crs = getattr(frame, "crs", None)
            rows.append({"layer": layer, "rows": len(frame), "crs": crs.to_string() if crs else "-"})
        return pd.DataFrame(rows, columns=["layer", "rows", "crs"])

    def __repr__(self) -> str:
        where = f" from {self.path}" if self.path is not None else ""
        return f"City {self.name}{where}\n{self.summary().to_string(index=False)}"

    def _repr_html_(self) -> str:
        where = f" from <code>{html.escape(str(self.path))}</code>" if self.path is not None else ""
        return f"<p><b>City {html.escape(self.name)}</b>{where}</p>" + self.summary().to_html(index=False)


def city_layers(grids: gpd.GeoDataFrame | City | None, **layers: Any) -> dict[str, Any]:
    """Return the layers a function was given: a :class:`City`'s, overridden by the ones passed by name.

    The map functions take either the grids or a whole city as their first argument; this is how they
    unpack it. Layers passed by keyword win over the city's.

    Examples
    --------
    >>> city = City(grids="G", communities="C")
    >>> city_layers(city, communities=None, units="U") == {"grids": "G", "communities": "C", "units": "U"}
    True
    >>> city_layers("G", communities="C")
    {'grids': 'G', 'communities': 'C'}
    """
    given = {name: value for name, value in layers.items() if value is not None}
    if isinstance(grids, City):
        if grids.grids is None:
            raise SchemaError(f"the city {grids.name} has no grids", record="grids",
                              fix="build them (gridmap.build_grids) and pass dataclasses.replace(city, "
                                  "grids=build.grids), or load a build with gridmap.load_city")
        return {**grids.layers(), **given}
    return {"grids": grids, **layers}


def load_city(path: str | os.PathLike, *, layer: str | None = None, skip: Iterable[str] = ()) -> City:
    """Read the grids of a GeoPackage (or any layer file) and whatever else it holds, as a :class:`City`.

    Reads the layers ``gridmap build`` and ``gridmap demo`` write: ``grids`` (or ``layer``), and when present
    ``communities``, ``streets``, ``districts``, ``units`` with ``unit_points``, ``cases`` and the ``staff``
    attribute table. Cases and staff from files of their own are read with
    :func:`gridmap.cases.read_cases` and :func:`gridmap.people.read_staff` and put in with
    ``dataclasses.replace(city, cases=...)``.

    Parameters
    ----------
    path : str or os.PathLike
        The file; a single-layer file is the grids.
    layer : str, optional
        The grid layer, when it is not called ``grids``.
    skip : iterable of str, optional
        Layers not to read (e.g. ``("cases",)`` when the cases come from a file of their own).

    Returns
    -------
    City

    Examples
    --------
    >>> import gridmap, tempfile, pathlib
    >>> sample = gridmap.load_sample()
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "city.gpkg"
    >>> _ = gridmap.write_layer(sample.communities, path, "grids")
    >>> _ = gridmap.write_layer(sample.districts, path, "districts", mode="a")
    >>> sorted(load_city(path).layers())
    ['districts', 'grids']
    """
    with layers_listed_once():  # each read_layer would list the file's layers again
        available = [name for name in list_layers(path) if name not in set(skip)]
        found: dict[str, Any] = {"grids": read_layer(path, _grid_layer(available, layer))}
        found |= {name: read_layer(path, name) for name in ("communities", "streets", "districts", "cases")
                  if name in available}
        units = [read_layer(path, name) for name in ("units", "unit_points") if name in available]
    if units:
        found["units"] = pd.concat([frame.to_crs(units[0].crs) for frame in units], ignore_index=True)
    if "staff" in available:
        roster = pyogrio.read_dataframe(path, layer="staff", read_geometry=False)
        found["staff"] = roster.astype({c: "string" for c in ("grid_code", "community_code") if c in roster})
    return City(**found, name=Path(path).stem, path=Path(path))


def _grid_layer(available: list[str], layer: str | None) -> str | None:
    """Return the grid layer: the one asked for, else ``grids`` when the file has several layers."""
    if layer is None and len(available) > 1 and "grids" in available:
        return "grids"
    return layer
