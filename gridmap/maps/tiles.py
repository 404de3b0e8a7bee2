"""Base maps: the built-in online tiles, and a city's own offline or intranet tiles.

A page's base map is one of

* none (the default): a plain background under the boundaries, and no request at all;
* a built-in online source, over https: ``"osm"``, ``"tianditu"`` 天地图 (with a key) or ``"gaode"`` 高德
  (also spelled ``"amap"``; its tiles are GCJ-02);
* your own tiles, declared with :func:`tile_source`:

  - a folder of XYZ tiles ``{z}/{x}/{y}.png`` (or ``.jpg``, ``.webp``); ``tms=True`` for a folder numbered
    from the south, as older gdal2tiles writes them;
  - an ``.mbtiles`` file (SQLite; its rows are numbered from the south, TMS, and are turned round here);
  - a URL template with ``{z}``, ``{x}`` and ``{y}`` (or ``{-y}``): an intranet tile server, or a folder
    beside the page (``tiles/{z}/{x}/{y}.png``).

**Tiles from a folder or an MBTiles file go into the page.** A gridmap page is one file that opens anywhere
(a phone, a USB stick, an intranet with no server to spare), so the tiles it needs are put into it as data:
those covering the map's area (squared, with a margin), zoom level by zoom level from the coarsest, up to
``max_mb`` (:data:`INLINE_MAX_MB`, 20 MB). Finer levels that would pass the cap are left out with a warning,
and Leaflet shows the finest level kept enlarged. For sharp tiles over a whole city, serve the folder on
the intranet (any web server) and pass its URL template: the page then loads the tiles it shows from there.

**Alignment.** Every source declares the coordinates its tiles are drawn in: ``crs="wgs84"`` (also
CGCS2000: OSM, 天地图, most GIS exports) or ``crs="gcj02"`` (高德, 腾讯 and tiles cut from them). On GCJ-02
tiles each gridmap layer converts its WGS84/CGCS2000 data to GCJ-02 for display
(:func:`gridmap.crs.wgs84_to_gcj02`, through the map's ``gridmap_coords``), so a boundary drawn along a road
stays on the road; the data themselves are never changed. Baidu (BD-09) tiles use a tiling of their own and
are not supported.

On the command line: ``gridmap map FILE --tiles SOURCE --tiles-crs gcj02|wgs84`` (also ``gridmap report``).

Examples
--------
>>> source = tile_source("https://tiles.example.gov.cn/{z}/{x}/{y}.png", crs="gcj02")
>>> source.kind, source.crs
('url', 'gcj02')
>>> tile_source("gaode").crs
'gcj02'
"""

from __future__ import annotations

import base64
import math
import os
import re
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import folium
from folium.template import Template
from folium.utilities import get_obj_in_upper_tree

from gridmap.errors import GridmapError, GridmapWarning, ReadError
from gridmap.maps._escape import control_label, js_string

__all__ = ["TileSource", "TilesLike", "tile_source", "tile_layers", "INLINE_MAX_MB", "TILE_CRS",
           "BUILTIN_TILES"]

#: Coordinates a tile source may be drawn in (``"cgcs2000"`` is taken as ``"wgs84"``: they differ by < 1 m).
TILE_CRS = ("wgs84", "gcj02")
#: The built-in online sources and the coordinates of their tiles.
BUILTIN_TILES = {"osm": "wgs84", "tianditu": "wgs84", "gaode": "gcj02", "amap": "gcj02"}
#: Default cap on the tiles put into one page, in MB of page text.
INLINE_MAX_MB = 20.0

_NAMES = {
    "zh": {"osm": "OpenStreetMap", "tianditu": "天地图", "gaode": "高德地图", "own": "底图"},
    "en": {"osm": "OpenStreetMap", "tianditu": "Tianditu", "gaode": "Amap (Gaode)", "own": "Base map"},
}
_GAODE_URL = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=7&x={x}&y={y}&z={z}"
_GAODE_ATTRIBUTION = '&copy; <a href="https://www.amap.com/">高德地图 Amap</a>'
_TIANDITU_URL = ("https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                 "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                 "&TILECOL={{x}}&tk={key}")
_TIANDITU_ATTRIBUTION = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>'
_SOURCES_FIX = ("give a folder holding the zoom folders of {z}/{x}/{y}.png tiles, an .mbtiles file, or a URL "
                "template such as http://tiles.example/{z}/{x}/{y}.png")
_CRS_FIX = ("say which coordinates the tiles are drawn in: crs='gcj02' (Gaode/Amap, Tencent and tiles cut "
            "from them) or crs='wgs84' (OSM, Tianditu, CGCS2000, most GIS exports)")
_TILE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
_SQLITE_HEADER = b"SQLite format 3\x00"
_MAX_LAT = 85.0511287798066
_MARGIN = 0.15  # share of the area's width added on each side of the tiles put into a page
_TILE_OVERHEAD = 40  # page text per tile besides its base64 data: key, quotes, "data:image/png;base64,"
_MAX_ZOOM = 22


@dataclass(frozen=True)
class TileSource:
    """A base map: where its tiles come from and the coordinates they are drawn in (see :func:`tile_source`).

    Attributes
    ----------
    kind : {"builtin", "url", "folder", "mbtiles"}
    location : str
        The built-in name, the URL template, or the absolute path of the folder or file.
    crs : {"wgs84", "gcj02"}
    name, attribution : str or None
        Shown in the layer control and in the map's corner.
    max_zoom : int or None
        The finest zoom level to use.
    tms : bool
        A folder or URL numbered from the south (TMS).
    max_mb : float
        Cap on the tiles a folder or MBTiles file puts into one page.
    """

    kind: str
    location: str
    crs: str
    name: str | None = None
    attribution: str | None = None
    max_zoom: int | None = None
    tms: bool = False
    max_mb: float = INLINE_MAX_MB


#: What the ``tiles=`` option of the map functions takes.
TilesLike = str | os.PathLike | TileSource | None


def tile_source(source: str | os.PathLike | TileSource, *, crs: str | None = None, name: str | None = None,
                attribution: str | None = None, max_zoom: int | None = None, tms: bool = False,
                max_mb: float = INLINE_MAX_MB) -> TileSource:
    """Return the base map ``source``, checked: a built-in name, a folder, an MBTiles file or a URL template.

    Parameters
    ----------
    source : str, os.PathLike or TileSource
        ``"osm"``, ``"tianditu"``, ``"gaode"``/``"amap"``; a folder of ``{z}/{x}/{y}.png`` tiles; an
        ``.mbtiles`` file; or a URL template with ``{z}``, ``{x}`` and ``{y}`` (or ``{-y}``; ``{s}`` for
        the subdomains a, b, c). A TileSource is returned as it is.
    crs : {"wgs84", "gcj02"}
        The coordinates the tiles are drawn in: required for your own tiles (a wrong guess would put every
        boundary a few hundred metres off), fixed for the built-in ones.
    name, attribution : str, optional
        The base map's name in the layer control, and the credit in the map's corner (plain text).
    max_zoom : int, optional
        The finest zoom level to use (the map still zooms further, enlarging these tiles).
    tms : bool, default False
        The folder or URL counts rows from the south (TMS). Not needed for MBTiles, which always does.
    max_mb : float, default 20
        Cap on the tiles a folder or MBTiles file puts into one page (MB of page text).

    Returns
    -------
    TileSource

    Raises
    ------
    GridmapError
        A missing folder or file, a file that is not MBTiles, a folder without tiles, vector tiles, a URL
        template without ``{z}``, ``{x}`` and ``{y}``, or coordinates not declared.

    Examples
    --------
    >>> tile_source("tiles/{z}/{x}/{y}.png", crs="wgs84").location
    'tiles/{z}/{x}/{y}.png'
    >>> tile_source("http://intranet/{z}/{x}.png", crs="wgs84")
    Traceback (most recent call last):
    ...
    gridmap.errors.GridmapError: tiles http://intranet/{z}/{x}.png: the URL template has no {y}. Fix: ...
    """
    if isinstance(source, TileSource):
        return source
    text = os.fspath(source)
    options: dict[str, Any] = {"name": name, "attribution": attribution, "max_zoom": max_zoom, "tms": tms,
                               "max_mb": float(max_mb)}
    if text.lower() in BUILTIN_TILES:
        return _builtin(text.lower(), crs, options)
    declared = _declared_crs(text, crs)
    if "{" in text or "://" in text:
        return TileSource("url", _checked_template(text), declared, **options)
    path = Path(text).expanduser()
    if path.is_dir():
        _FolderStore(path, tms=tms).check()
        return TileSource("folder", str(path.resolve()), declared, **options)
    if path.is_file():
        store = _MBTilesStore(path)
        store.check()
        options["name"] = options["name"] or store.metadata.get("name")
        options["attribution"] = options["attribution"] or store.metadata.get("attribution")
        return TileSource("mbtiles", str(path.resolve()), declared, **options)
    raise ReadError("there is no tile folder or MBTiles file here", path=text, fix=_SOURCES_FIX)


def _builtin(name: str, crs: str | None, options: dict) -> TileSource:
    own = BUILTIN_TILES[name]
    if crs is not None and _crs_name(crs, name) != own:
        raise GridmapError(f"the {name} tiles are drawn in {own.upper()}, not {crs}",
                           record=f"tiles {name}", fix=f"leave crs= out for tiles={name!r}")
    return TileSource("builtin", "gaode" if name == "amap" else name, own, **options)


def _declared_crs(source: str, crs: str | None) -> str:
    if crs is None:
        raise GridmapError("the coordinates of the tiles are not declared", record=f"tiles {source}",
                           fix=_CRS_FIX)
    return _crs_name(crs, source)


def _crs_name(crs: str, source: str) -> str:
    name = str(crs).strip().lower().replace("-", "")
    name = "wgs84" if name in ("cgcs2000", "epsg:4326", "epsg:4490") else name
    if name not in TILE_CRS:
        baidu = " (Baidu tiles use a tiling of their own and are not supported)" if name == "bd09" else ""
        raise GridmapError(f"crs={crs!r} is not a coordinate system tiles can be drawn in here{baidu}",
                           record=f"tiles {source}", fix=_CRS_FIX)
    return name


def _checked_template(template: str) -> str:
    missing = [part for part in ("{z}", "{x}") if part not in template]
    if "{y}" not in template and "{-y}" not in template:
        missing.append("{y}")
    if missing:
        raise GridmapError(f"the URL template has no {', '.join(missing)}", record=f"tiles {template}",
                           fix="write where the zoom, column and row go, e.g. "
                               "http://tiles.example/{z}/{x}/{y}.png (a local folder: give its path)")
    if re.search(r"\{[{%#]", template):
        raise GridmapError("the URL template contains '{{', '{%' or '{#'", record=f"tiles {template}",
                           fix="write each placeholder with single braces: {z}, {x}, {y}")
    return template


# --- tile stores: a folder of {z}/{x}/{y} files, an MBTiles file --------------------------------------------

class _Store(Protocol):
    label: str

    def zooms(self) -> list[int]: ...

    def sizes(self, z: int, box: tuple[int, int, int, int]) -> tuple[int, int]: ...

    def read(self, z: int, box: tuple[int, int, int, int]) -> Iterator[tuple[int, int, bytes]]: ...


class _FolderStore:
    """XYZ (or TMS) tiles in ``root/{z}/{x}/{y}.<png|jpg|webp>``."""

    def __init__(self, root: Path, *, tms: bool):
        self.root, self.tms, self.label = root, tms, str(root)

    def zooms(self) -> list[int]:
        return sorted(int(entry.name) for entry in os.scandir(self.root)
                      if entry.is_dir() and entry.name.isdigit())

    def check(self) -> None:
        for z in self.zooms():
            for column in sorted(os.scandir(self.root / str(z)), key=lambda entry: entry.name):
                if column.is_dir() and column.name.isdigit() and any(self._files(z, int(column.name))):
                    return
        raise ReadError("the folder holds no {z}/{x}/{y}.png tiles (.png, .jpg or .webp files in numbered "
                        "zoom and column folders)", path=self.root, fix=_SOURCES_FIX)

    def _files(self, z: int, x: int) -> Iterator[tuple[int, os.DirEntry]]:
        column = self.root / str(z) / str(x)
        if not column.is_dir():
            return
        last = 2**z - 1
        for entry in os.scandir(column):
            stem, dot, extension = entry.name.partition(".")
            if stem.isdigit() and f".{extension.lower()}" in _TILE_EXTENSIONS and entry.is_file():
                yield (last - int(stem) if self.tms else int(stem)), entry

    def _entries(self, z: int, box: tuple[int, int, int, int]) -> Iterator[tuple[int, int, os.DirEntry]]:
        x0, y0, x1, y1 = box
        for x in range(x0, x1 + 1):
            for y, entry in self._files(z, x):
                if y0 <= y <= y1:
                    yield x, y, entry

    def sizes(self, z: int, box: tuple[int, int, int, int]) -> tuple[int, int]:
        found = [entry.stat().st_size for _, _, entry in self._entries(z, box)]
        return len(found), sum(found)

    def read(self, z: int, box: tuple[int, int, int, int]) -> Iterator[tuple[int, int, bytes]]:
        for x, y, entry in self._entries(z, box):
            yield x, y, Path(entry.path).read_bytes()


class _MBTilesStore:
    """Raster tiles in an MBTiles file: SQLite, table ``tiles``, rows numbered from the south (TMS)."""

    def __init__(self, path: Path):
        self.path, self.label = path, str(path)
        self.metadata: dict[str, str] = {}

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)

    def _query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        try:
            with closing(self._connect()) as connection:
                return connection.execute(sql, parameters).fetchall()
        except sqlite3.DatabaseError as error:
            raise ReadError(f"the MBTiles file cannot be read ({error})", path=self.path,
                            fix="give an .mbtiles file of raster tiles (a SQLite file with a 'tiles' table)"
                            ) from None

    def check(self) -> None:
        with open(self.path, "rb") as file:
            header = file.read(len(_SQLITE_HEADER))
        if header != _SQLITE_HEADER:
            raise ReadError("the file is not an MBTiles file (not SQLite)", path=self.path, fix=_SOURCES_FIX)
        names = {row[0] for row in
                 self._query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        if "tiles" not in names:
            raise ReadError("the SQLite file has no 'tiles' table: it is not an MBTiles file", path=self.path,
                            fix=_SOURCES_FIX)
        if "metadata" in names:
            self.metadata = {str(k): str(v) for k, v in self._query("SELECT name, value FROM metadata")}
        if self.metadata.get("format", "").lower() == "pbf":
            raise ReadError("the MBTiles file holds vector tiles (format pbf), which gridmap cannot draw",
                            path=self.path,
                            fix="give raster tiles (png, jpg or webp), e.g. rendered from these")
        if not self.zooms():
            raise ReadError("the MBTiles file holds no tile", path=self.path, fix=_SOURCES_FIX)

    def zooms(self) -> list[int]:
        rows = self._query("SELECT DISTINCT zoom_level FROM tiles ORDER BY zoom_level")
        return [int(row[0]) for row in rows]

    def _where(self, z: int, box: tuple[int, int, int, int]) -> tuple[str, tuple]:
        x0, y0, x1, y1 = box
        last = 2**z - 1
        return ("WHERE zoom_level = ? AND tile_column BETWEEN ? AND ? AND tile_row BETWEEN ? AND ?",
                (z, x0, x1, last - y1, last - y0))

    def sizes(self, z: int, box: tuple[int, int, int, int]) -> tuple[int, int]:
        where, parameters = self._where(z, box)
        count, total = self._query(f"SELECT count(*), coalesce(sum(length(tile_data)), 0) FROM tiles {where}",
                                   parameters)[0]
        return int(count), int(total)

    def read(self, z: int, box: tuple[int, int, int, int]) -> Iterator[tuple[int, int, bytes]]:
        where, parameters = self._where(z, box)
        last = 2**z - 1
        for x, row, data in self._query(f"SELECT tile_column, tile_row, tile_data FROM tiles {where}",
                                        parameters):
            yield int(x), last - int(row), bytes(data)


def _store(source: TileSource) -> _Store:
    if source.kind == "folder":
        return _FolderStore(Path(source.location), tms=source.tms)
    return _MBTilesStore(Path(source.location))


# --- which tiles a page needs -----------------------------------------------------------------------------

def _cover(bounds: list[list[float | None]]) -> tuple[float, float, float, float]:
    """Return the area whose tiles go into a page, in Web Mercator units (0–1, y down): squared, padded."""
    (south, west), (north, east) = bounds
    if None in (south, west, north, east):
        return 0.0, 0.0, 1.0, 1.0
    x0, x1 = (float(west) + 180) / 360, (float(east) + 180) / 360  # type: ignore[arg-type]
    y0, y1 = _mercator_y(float(north)), _mercator_y(float(south))  # type: ignore[arg-type]
    half = max(x1 - x0, y1 - y0) * (0.5 + _MARGIN)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return max(cx - half, 0.0), max(cy - half, 0.0), min(cx + half, 1.0), min(cy + half, 1.0)


def _mercator_y(lat: float) -> float:
    lat = max(min(lat, _MAX_LAT), -_MAX_LAT)
    return (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2


def _latitude(y: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y))))


def _tile_box(cover: tuple[float, float, float, float], z: int) -> tuple[int, int, int, int]:
    n = 2**z
    x0, y0, x1, y1 = cover
    return (min(int(x0 * n), n - 1), min(int(y0 * n), n - 1),
            min(int(math.ceil(x1 * n)) - 1, n - 1), min(int(math.ceil(y1 * n)) - 1, n - 1))


def _mime(data: bytes, where: str) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    raise ReadError(f"tile {where} is not a PNG, JPEG or WebP image", path=None,
                    fix="give raster tiles; vector tiles (pbf) cannot be drawn")


def _levels(store: _Store, cover, source: TileSource) -> list[int]:
    """Return the zoom levels whose tiles over ``cover`` fit in ``source.max_mb``, coarsest first."""
    cap, total, found = source.max_mb * 1e6, 0, 0
    kept: list[int] = []
    zooms = [z for z in store.zooms() if source.max_zoom is None or z <= source.max_zoom]
    for z in zooms:
        count, size = store.sizes(z, _tile_box(cover, z))
        text = math.ceil(size / 3) * 4 + _TILE_OVERHEAD * count
        if total + text > cap:
            if not kept:
                raise GridmapError(f"the tiles over the map's area take {_mb(text)} at zoom {z}, its "
                                   f"coarsest level, more than max_mb={source.max_mb:g}", path=store.label,
                                   fix="raise max_mb= (the page grows as much), or serve the tiles on the "
                                       "intranet and pass a URL template http://host/{z}/{x}/{y}.png")
            warnings.warn(f"tiles: {store.label}: zoom levels above {kept[-1]} are left out of the page "
                          f"(zoom {z} would add {_mb(text)} to {_mb(total)}, over "
                          f"max_mb={source.max_mb:g}); closer in, the zoom-{kept[-1]} tiles are shown "
                          "enlarged. For sharp tiles serve them on the intranet and pass a URL template, or "
                          "raise max_mb=", GridmapWarning, stacklevel=2)
            break
        total, found = total + text, found + count
        kept.append(z)
    if not found:
        warnings.warn(f"tiles: {store.label} has no tile over the map's area, which shows a plain "
                      "background; check that the tiles cover the area (and tms=True for a folder numbered "
                      "from the south)",
                      GridmapWarning, stacklevel=2)
    return kept


def _mb(size: int) -> str:
    return f"{size / 1e6:.{1 if size >= 1e6 else 2}f} MB"


def _inline(source: TileSource, bounds) -> tuple[dict[str, str], list[int], list[list[float]]]:
    """Return the page's tiles as data URIs by ``"z/x/y"``, the zoom levels kept and the area covered."""
    store = _store(source)
    cover = _cover(bounds)
    levels = _levels(store, cover, source)
    tiles = {}
    for z in levels:
        for x, y, data in store.read(z, _tile_box(cover, z)):
            where = f"{z}/{x}/{y}"
            try:
                mime = _mime(data, where)
            except ReadError as error:
                raise error.at(store.label) from None
            tiles[where] = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    x0, y0, x1, y1 = cover
    area = [[_latitude(y1), x0 * 360 - 180], [_latitude(y0), x1 * 360 - 180]]
    return tiles, levels, area


class InlineTiles(folium.TileLayer):
    """Tiles of a folder or MBTiles file put into the page, those covering the map's area (see the module)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (tiles, options) {
          var blank = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";
          var Layer = L.TileLayer.extend({getTileUrl: function (c) {
            return tiles[c.z + "/" + c.x + "/" + c.y] || blank;
          }});
          return new Layer("", options);
        })({{ this.tiles_json }}, {{ this.spec_json }});
        {% endmacro %}
    """)

    def __init__(self, source: TileSource, *, name: str, attribution: str):
        super().__init__(tiles="", attr=attribution, name=name, max_zoom=_MAX_ZOOM)
        self._name = "InlineTiles"
        self.source = source
        self.tiles_json = self.spec_json = "{}"

    # branca types Element.render as returning str; MacroElement.render, the base here, returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Read the tiles over the area of everything on the map, and put them into the page."""
        fmap = get_obj_in_upper_tree(self, folium.Map)
        tiles, levels, area = _inline(self.source, fmap.get_bounds())
        options = {"attribution": self.options["attribution"], "maxZoom": _MAX_ZOOM, "bounds": area}
        if levels:
            options.update(minNativeZoom=levels[0], maxNativeZoom=levels[-1], minZoom=0)
        self.tiles_json, self.spec_json = js_string(tiles), js_string(options)
        super().render(**kwargs)


def tile_layers(source: TileSource | None, *, lang: str = "zh",
                tianditu_key: str | None = None) -> list[folium.TileLayer]:
    """Return the folium layers that draw ``source`` (none for None).

    Examples
    --------
    >>> [layer.tile_name for layer in tile_layers(tile_source("osm"))]
    ['OpenStreetMap']
    """
    if source is None:
        return []
    names = _NAMES.get(lang, _NAMES["zh"])
    if source.kind == "builtin":
        return _builtin_layers(source, names, tianditu_key)
    name = control_label(source.name or names["own"])
    attribution = control_label(source.attribution or source.name or names["own"])
    if source.kind == "url":
        return [folium.TileLayer(source.location, attr=attribution, name=name, max_zoom=_MAX_ZOOM,
                                 max_native_zoom=source.max_zoom or 18, tms=source.tms)]
    return [InlineTiles(source, name=name, attribution=attribution)]


def _builtin_layers(source: TileSource, names: dict, tianditu_key: str | None) -> list[folium.TileLayer]:
    name = control_label(source.name or names[source.location])
    zoom = source.max_zoom or 18
    if source.location == "osm":
        return [folium.TileLayer("OpenStreetMap", name=name, max_zoom=_MAX_ZOOM,
                                 max_native_zoom=min(zoom, 19))]
    if source.location == "gaode":
        return [folium.TileLayer(_GAODE_URL, attr=_GAODE_ATTRIBUTION, name=name, subdomains="1234",
                                 max_zoom=_MAX_ZOOM, max_native_zoom=zoom)]
    key = _tianditu_key(tianditu_key)
    common: dict[str, Any] = {"attr": _TIANDITU_ATTRIBUTION, "subdomains": "01234567", "max_zoom": _MAX_ZOOM,
                              "max_native_zoom": zoom}
    return [folium.TileLayer(_TIANDITU_URL.format(layer="vec", key=key), name=name, **common),
            folium.TileLayer(_TIANDITU_URL.format(layer="cva", key=key), name=f"{name} (注记)",
                             overlay=True, control=False, **common)]


def _tianditu_key(key: str | None) -> str:
    if not key:
        raise GridmapError("basemap='tianditu' needs a Tianditu (天地图) key",
                           fix="apply for a free browser key at console.tianditu.gov.cn and pass "
                               "tianditu_key='...', or use basemap='none' to work offline")
    if not re.fullmatch(r"[A-Za-z0-9]+", key):
        raise GridmapError(f"tianditu_key {key!r} is not a Tianditu key (letters and digits only)",
                           fix="copy the key from console.tianditu.gov.cn without spaces")
    return quote(key)
