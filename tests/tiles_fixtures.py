"""Tile stores made in the test: a folder of ``{z}/{x}/{y}.png`` tiles and an MBTiles file over the tiny city.

Every tile is a plain 256×256 PNG of one colour (:data:`PAPER`), so a page that draws them is told from the
map's own background (#f2efe9); a tile may carry a red square (:data:`MARK`, 5×5 pixels) centred on the
pixel of one point, to check where a point lands on the tiles. ``pixel(lon, lat, z)`` is the Web Mercator
pixel of a point, written out here independently of gridmap.maps.tiles.
"""

import io
import math
import sqlite3
from pathlib import Path

from PIL import Image

PAPER = (200, 230, 255)
MARK = (255, 0, 0)


def pixel(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Global pixel (x, y from the north-west corner) of a point at zoom ``z``."""
    size = 256 * 2**z
    siny = math.sin(math.radians(lat))
    return (lon + 180) / 360 * size, (0.5 - math.log((1 + siny) / (1 - siny)) / (4 * math.pi)) * size


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    px, py = pixel(lon, lat, z)
    return int(px // 256), int(py // 256)


def png(mark: tuple[int, int] | None = None) -> bytes:
    """A plain tile, with a red 5×5 square centred on pixel ``mark`` of the tile."""
    image = Image.new("RGB", (256, 256), PAPER)
    if mark is not None:
        mx, my = mark
        for dx in range(-2, 3):
            for dy in range(-2, 3):
                if 0 <= mx + dx < 256 and 0 <= my + dy < 256:
                    image.putpixel((mx + dx, my + dy), MARK)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def city_tiles(bounds: tuple[float, float, float, float], zooms, *, mark=None, margin: int = 1) -> dict:
    """Tiles ``{(z, x, y): png}`` over ``bounds`` (lon/lat) plus ``margin`` tiles around.

    ``mark`` = (lon, lat) is put as a red square on its pixel at every zoom.
    """
    west, south, east, north = bounds
    plain = png()
    tiles = {}
    for z in zooms:
        x0, y0 = tile_of(west, north, z)
        x1, y1 = tile_of(east, south, z)
        for x in range(x0 - margin, x1 + margin + 1):
            for y in range(y0 - margin, y1 + margin + 1):
                tiles[(z, x, y)] = plain
        if mark is not None:
            px, py = pixel(*mark, z)
            tiles[(z, int(px // 256), int(py // 256))] = png((int(px % 256), int(py % 256)))
    return tiles


def write_folder(root: Path, tiles: dict, *, tms: bool = False, extension: str = "png") -> Path:
    for (z, x, y), data in tiles.items():
        row = 2**z - 1 - y if tms else y
        path = root / str(z) / str(x) / f"{row}.{extension}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_mbtiles(path: Path, tiles: dict, *, metadata: dict | None = None) -> Path:
    """An MBTiles 1.3 file: ``metadata`` and ``tiles`` tables, rows numbered from the south (TMS)."""
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        connection.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
                           "tile_data BLOB)")
        connection.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        meta = {"name": "测试底图", "format": "png", **(metadata or {})}
        connection.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
        connection.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                               [(z, x, 2**z - 1 - y, data) for (z, x, y), data in tiles.items()])
    connection.close()
    return path
