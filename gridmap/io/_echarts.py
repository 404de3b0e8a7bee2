"""ECharts' compressed map files: GeoJSON whose coordinates are encoded as text (``"UTF8Encoding": true``).

The map files of older ECharts releases and of many dashboards built on them (``china.json``,
``guangxi.json``) store each ring as a string: the first point is ``encodeOffsets`` (coordinates times
``UTF8Scale``, 1024 by default), each following character the zigzag-encoded difference to the point before,
plus 64. GDAL reads such a ring as a broken geometry; :func:`read_echarts` decodes it as ECharts' own
``parseGeoJson`` does, to a precision of 1/1024 degree (about 100 m), and reads the features.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
import shapely.errors
import shapely.geometry

from gridmap.errors import ReadError

__all__ = ["is_echarts", "read_echarts"]

_MARK = b'"UTF8Encoding"'
_PEEK = 4096  # the mark sits at the start or the end of the file


def is_echarts(path: str | os.PathLike) -> bool:
    """Return True when a GeoJSON file is ECharts' compressed format (looks at its first and last bytes)."""
    with open(path, "rb") as file:
        head = file.read(_PEEK)
        file.seek(max(0, os.fstat(file.fileno()).st_size - _PEEK))
        tail = file.read()
    return _MARK in head or _MARK in tail


def _ring(text: str, offset: list[float], scale: float) -> list[list[float]]:
    """Decode one encoded ring (or line) into ``[lon, lat]`` points."""
    x, y = offset[0], offset[1]
    points = []
    for i in range(0, len(text) - 1, 2):
        dx, dy = ord(text[i]) - 64, ord(text[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        points.append([x / scale, y / scale])
    return points


def _decoded(geometry: dict | None, scale: float) -> dict | None:
    """Return a geometry with its encoded rings decoded; plain geometries are returned as they are."""
    if not isinstance(geometry, dict) or "encodeOffsets" not in geometry:
        return geometry
    kind, rings, offsets = geometry.get("type"), geometry["coordinates"], geometry["encodeOffsets"]
    coordinates: list
    if kind == "LineString":
        coordinates = _ring(rings, offsets, scale)
    elif kind in ("Polygon", "MultiLineString"):
        coordinates = [_ring(r, o, scale) for r, o in zip(rings, offsets, strict=True)]
    elif kind == "MultiPolygon":
        coordinates = [[_ring(r, o, scale) for r, o in zip(polygon, polygon_offsets, strict=True)]
                       for polygon, polygon_offsets in zip(rings, offsets, strict=True)]
    else:
        return geometry
    return {"type": kind, "coordinates": coordinates}


def read_echarts(path: str | os.PathLike) -> gpd.GeoDataFrame:
    """Read an ECharts compressed map file as a layer in EPSG:4326 (feature properties as they are)."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
        scale = float(document.get("UTF8Scale") or 1024)
        features = [{**feature, "geometry": _decoded(feature.get("geometry"), scale)}
                    for feature in document.get("features") or []]
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as exc:
        raise ReadError(f"cannot decode the ECharts map file (UTF8Encoding): {exc}", path=path,
                        fix="download the file again, or an uncompressed GeoJSON of the same area") from None
    geometries = [_shape(feature.get("geometry"), n, path) for n, feature in enumerate(features)]
    table = pd.DataFrame.from_records([feature.get("properties") or {} for feature in features])
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometries, index=table.index), crs=4326)


def _shape(geometry: dict | None, position: int, path: Path):
    """Build a decoded geometry; one shapely refuses (a ring of two points) is named by its feature."""
    if geometry is None:
        return None
    try:
        return shapely.geometry.shape(geometry)
    except (ValueError, TypeError, KeyError, IndexError, shapely.errors.GEOSException) as exc:
        reason = str(exc).rstrip(".")
        raise ReadError(f"the geometry of the feature cannot be decoded: {reason}", path=path,
                        record=f"feature {position + 1}",
                        fix="download the file again, or an uncompressed GeoJSON of the same area") from None
