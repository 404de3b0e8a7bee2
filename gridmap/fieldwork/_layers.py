"""Checks of the layers field work takes: a GeoDataFrame with a CRS, its records named as in the file.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point
>>> sites = gpd.GeoDataFrame({"编号": ["S1", None]}, crs=4490,
...                          geometry=[Point(108.3, 22.8), Point(108.4, 22.8)])
>>> frame, labels = checked(sites, "sites", "sites")
>>> ids(frame, labels, "site_id").tolist(), records(labels)
(['S1', 'row2'], 'row 1, row 2')
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.errors import CRSError, GeometryError, SchemaError
from gridmap.io.read import record_labels
from gridmap.schema import model_columns

__all__ = ["checked", "require_geometry", "ids", "records"]


def checked(frame: gpd.GeoDataFrame, name: str, layer: str | None) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Check a layer (a non-empty GeoDataFrame with a CRS); return it with model names and its record labels.

    ``layer`` names the :data:`gridmap.schema.LAYER_COLUMNS` entry whose aliases are renamed (None: none).
    The caller's frame is not changed.
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SchemaError(f"{name} must be a GeoDataFrame, got {type(frame).__name__}", record=name,
                          fix="read the file with gridmap.read_layer")
    if frame.crs is None:
        raise CRSError(f"{name} have no CRS", record=name,
                       fix="set it, e.g. frame.set_crs('EPSG:4490') for CGCS2000 or 'EPSG:4326' for WGS84")
    if frame.empty:
        raise SchemaError(f"{name} hold no records", record=name, fix=f"give at least one of the {name}")
    return (model_columns(frame, layer)[0] if layer else frame), record_labels(frame)


def require_geometry(frame: gpd.GeoDataFrame, labels: pd.Series, name: str) -> None:
    """Raise GeometryError naming the records without geometry, if any."""
    missing = (frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
    if missing.any():
        raise GeometryError(f"{int(missing.sum())} {name} have no geometry", record=records(labels[missing]),
                            fix="give each its point or outline, or drop the record")


def ids(frame: gpd.GeoDataFrame, labels: pd.Series, column: str) -> np.ndarray:
    """Each record's id: its ``column`` value, else its record label without the blank (``row3``).

    The blank goes so that a list of ids (:func:`gridmap.schema.join_ids`) splits back into them.
    """
    compact = labels.str.replace(" ", "", regex=False)
    if column not in frame.columns:
        return compact.to_numpy(dtype=object)
    given = frame[column].astype("string").str.strip()
    return given.where(given.notna() & (given != ""), compact).to_numpy(dtype=object)


def records(labels: pd.Series) -> str:
    """Name up to five records: ``row 3, row 7 and 4 more``."""
    shown = ", ".join(map(str, labels.iloc[:5]))
    return shown + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
