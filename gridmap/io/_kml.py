"""KML and KMZ files exported from map tools: Google Earth, 奥维互动地图 (Ovital), LocaSpace.

Each Placemark becomes a record (``feature N`` in document order): ``name`` from ``<name>`` (or
``placemark_name`` when a field of its own means the name), ``description``, ``folder`` (the folder path,
``网格/民生社区``), every ``<ExtendedData>`` field (``<Data name="户数"><value>``, ``<SchemaData>``'s
``<SimpleData name="网格编码">``) as a column, and the geometry: Point, LineString, Polygon with its holes,
MultiGeometry. KML coordinates are WGS84 ``lon,lat[,alt]``; the altitude is dropped. A KMZ is a zip
holding ``doc.kml`` (or another ``.kml``).

The file is parsed with the standard library's ElementTree, not GDAL: GDAL's LIBKML driver turns the
Chinese names of ``<Data>`` fields into underscores (``户数`` → ``______``, so two fields collide), drops
``<SchemaData>`` fields of KMZ files and adds a dozen styling columns. Expat (2.4 and later, as Python
ships it) refuses entity-expansion bombs.

Note that 奥维 exports are often GCJ-02 in reality while KML declares WGS84: they are read as WGS84 unless
``read_layer(..., coords="gcj02")`` says otherwise.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
import shapely.errors

from gridmap.errors import ReadError
from gridmap.io._columns import STRING_DTYPE, header_key, infer_numbers
from gridmap.schema import COLUMN_ALIASES

__all__ = ["read_kml"]

_EXPORT_AGAIN = "export the KML/KMZ again from the map tool and check that it opens in Google Earth"
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([\w.-]+)[\"'][^>]*\?>")
_FIXED = ("name", "description", "folder")
_COORDINATES = "write KML coordinates as lon,lat or lon,lat,alt separated by spaces"
_EXPAT_ENCODINGS = ("utf8", "utf16", "usascii", "iso88591")
_GB = {"gb2312": "gb18030", "gbk": "gb18030"}  # files declared GB2312 often hold GBK characters


def _local(tag: str) -> str:
    """Tag name without its namespace: KML 2.2, Google's 2.1 and files without any are read alike."""
    return tag.rpartition("}")[2]


def _kml_bytes(path: Path) -> tuple[bytes, str]:
    """Return the KML document of a .kml or .kmz file, and how to name it in messages."""
    if path.suffix.lower() != ".kmz":
        return path.read_bytes(), str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            listed = archive.namelist()
            names = [n for n in listed if n.lower().endswith(".kml") and not n.startswith("__MACOSX/")]
            if not names:
                raise ReadError(f"the KMZ holds no .kml document; it holds {', '.join(listed[:10])}",
                                path=path, fix=_EXPORT_AGAIN)
            member = "doc.kml" if "doc.kml" in names else min(names, key=lambda n: (n.count("/"), n))
            return archive.read(member), f"{path}/{member}"
    except zipfile.BadZipFile as exc:
        raise ReadError(f"cannot read the KMZ (a zip file): {exc}", path=path, fix=_EXPORT_AGAIN) from None


def _parse(data: bytes, shown: str) -> ET.Element:
    """Parse the XML; a document in an encoding expat does not know (GBK, GB18030) is decoded first."""
    match = _DECLARED.match(data)
    declared = match.group(1).decode("ascii") if match else "utf-8"
    try:
        if declared.lower().replace("-", "") not in _EXPAT_ENCODINGS:
            text = data.decode(_GB.get(declared.lower(), declared))
            return ET.fromstring(text[text.index("?>") + 2:])
        return ET.fromstring(data)
    except (ET.ParseError, LookupError, UnicodeDecodeError) as exc:
        cut = isinstance(exc, ET.ParseError) and "no element found" in str(exc)
        problem = "the KML is cut off (truncated)" if cut else f"invalid KML (XML): {exc}"
        raise ReadError(problem, path=shown, fix=_EXPORT_AGAIN) from None


def _points(element: ET.Element, record: str, shown: str) -> list[tuple[float, float]]:
    """Return the ``lon,lat[,alt]`` points of the ``<coordinates>`` inside ``element``, without altitude."""
    node = next((e for e in element.iter() if _local(e.tag) == "coordinates"), None)
    points = []
    for item in (node.text or "").split() if node is not None else []:
        parts = item.split(",")
        try:
            lon, lat = float(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            raise ReadError(f"the coordinates hold {item[:40]!r}, not lon,lat[,alt]", path=shown,
                            record=record, fix=_COORDINATES) from None
        points.append((lon, lat))
    if not points:
        raise ReadError(f"a {_local(element.tag)} without coordinates", path=shown, record=record,
                        fix="delete the empty shape in the map tool and export again")
    return points


def _rings(polygon: ET.Element, boundary: str, record: str, shown: str) -> list[list[tuple[float, float]]]:
    return [_points(ring, record, shown) for outer in polygon if _local(outer.tag) == boundary
            for ring in outer if _local(ring.tag) == "LinearRing"]


def _geometry(element: ET.Element, record: str, shown: str):
    """Return the shapely geometry of a KML geometry element; None for others (Model, gx:Track)."""
    kind = _local(element.tag)
    if kind == "Point":
        return shapely.Point(_points(element, record, shown)[0])
    if kind in ("LineString", "LinearRing"):
        return shapely.LineString(_points(element, record, shown))
    if kind == "Polygon":
        outer = _rings(element, "outerBoundaryIs", record, shown)
        if not outer:
            raise ReadError("a Polygon without its outer boundary", path=shown, record=record,
                            fix=_EXPORT_AGAIN)
        return shapely.Polygon(outer[0], _rings(element, "innerBoundaryIs", record, shown))
    if kind == "MultiGeometry":
        parts = [g for child in element if (g := _geometry(child, record, shown)) is not None]
        kinds = {part.geom_type for part in parts}
        if kinds <= {"Polygon", "MultiPolygon"} and parts:
            return shapely.MultiPolygon([p for part in parts for p in getattr(part, "geoms", [part])])
        if kinds == {"Point"}:
            return shapely.MultiPoint(parts)
        if kinds == {"LineString"}:
            return shapely.MultiLineString(parts)
        return shapely.GeometryCollection(parts) if parts else None
    return None


def _placemark_geometry(placemark: ET.Element, record: str, shown: str):
    """Return the first geometry of a Placemark; one shapely refuses (a ring of two points) is named."""
    try:
        return next((g for c in placemark if (g := _geometry(c, record, shown)) is not None), None)
    except (ValueError, shapely.errors.GEOSException) as exc:
        reason = str(exc).rstrip(".")
        raise ReadError(f"the geometry of the Placemark cannot be built: {reason}", path=shown, record=record,
                        fix="redraw the shape in the map tool and export again") from None


def _fields(placemark: ET.Element) -> dict[str, str | None]:
    """Return a Placemark's ``<ExtendedData>``: ``<Data name>`` values and ``<SimpleData name>`` texts."""
    fields: dict[str, str | None] = {}
    for data in (e for e in placemark if _local(e.tag) == "ExtendedData"):
        for element in data.iter():
            kind, name = _local(element.tag), element.get("name")
            if kind == "Data" and name:
                value = next((v.text for v in element if _local(v.tag) == "value"), None)
                fields[name] = value.strip() if value and value.strip() else None
            elif kind == "SimpleData" and name:
                fields[name] = element.text.strip() if element.text and element.text.strip() else None
    return fields


def _placemarks(element: ET.Element, folders: tuple[str, ...] = ()):
    """Yield ``(folder path, Placemark)`` in document order."""
    for child in element:
        kind = _local(child.tag)
        if kind == "Placemark":
            yield "/".join(folders) or None, child
        elif kind in ("Document", "Folder", "kml"):
            name = next((c.text for c in child if _local(c.tag) == "name" and c.text), None)
            inner = (*folders, name.strip()) if kind == "Folder" and name and name.strip() else folders
            yield from _placemarks(child, inner)


def _text(element: ET.Element, tag: str) -> str | None:
    found = next((c.text for c in element if _local(c.tag) == tag), None)
    return found.strip() if found and found.strip() else None


def read_kml(path: str | os.PathLike) -> gpd.GeoDataFrame:
    """Read the Placemarks of a KML or KMZ file as a layer in EPSG:4326 (see the module's description).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sites.kml"
    >>> _ = path.write_text('<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>市一医院'
    ...     '</name><ExtendedData><Data name="户数"><value>12</value></Data></ExtendedData>'
    ...     '<Point><coordinates>108.3,22.8,35</coordinates></Point></Placemark></Document></kml>', "utf-8")
    >>> sites = read_kml(path)
    >>> sites.loc[0, "name"], int(sites.loc[0, "户数"]), sites.geometry[0].wkt
    ('市一医院', 12, 'POINT (108.3 22.8)')
    """
    path = Path(path)
    data, shown = _kml_bytes(path)
    root = _parse(data, shown)
    records, geometries = [], []
    for position, (folder, placemark) in enumerate(_placemarks(root)):
        record = f"feature {position + 1}"
        shape = _placemark_geometry(placemark, record, shown)
        fields = {f"{key}.1" if key in _FIXED else key: value for key, value in _fields(placemark).items()}
        records.append({"name": _text(placemark, "name"), "description": _text(placemark, "description"),
                        "folder": folder, **fields})
        geometries.append(shape)
    return _layer(records, geometries)


def _layer(records: list[dict], geometries: list) -> gpd.GeoDataFrame:
    table = pd.DataFrame.from_records(records, columns=list(dict.fromkeys(k for r in records for k in r)) or
                                      list(_FIXED))
    fields = [c for c in table.columns if c not in _FIXED]
    if any(COLUMN_ALIASES.get(header_key(c)) == "name" for c in fields):
        table = table.rename(columns={"name": "placemark_name"})
    table = table.drop(columns=[c for c in ("description", "folder") if table[c].isna().all()])
    table = infer_numbers(table.astype(STRING_DTYPE), skip=[c for c in table.columns if c not in fields])
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometries, index=table.index), crs=4326)
