#!/usr/bin/env python3
"""Generate gridmap's fictional sample city, 示例市 (code 9901), into ``data/sample/``.

Usage (from the project folder)::

    python scripts/make_sample_data.py                     # writes data/sample/
    python scripts/make_sample_data.py --out sample-copy   # somewhere else

Everything is drawn from seeded ``numpy`` generators (the staff roster from its own, ``[seed, 2]``), so
two runs with the same libraries give byte-identical files (the GeoPackage's ``last_change`` timestamps are
pinned with GDAL's ``OGR_CURRENT_DATE``). The city is FICTIONAL: codes use the province prefix 99, which no
real province has. See ``data/sample/README.md`` (written by this script) for the layers, the columns and
the deliberate flaws.

How the geometry is made (all in the metric CRS EPSG:4545, then reprojected to EPSG:4490 for storage):

1. a city polygon (a wobbly disc) and an urban core cut out of its north-west edge; the core is split into two
   districts by a meandering line, the rest is the county;
2. districts and towns are split with Lloyd-relaxed Voronoi cells clipped to the parent; the towns get a small
   town-centre community (社区) and villages (村) around it;
3. all community boundaries are noded together on a 1 cm grid and polygonised, so neighbouring communities
   share exactly the same vertices; streets, districts and the city are the coverage union of their children;
4. residential compounds and dedicated sites are quads inside the blocks of a rotated road lattice (the roads
   keep them apart), natural villages are spaced points (some as small polygons) inside the villages;
5. cases are drawn over 2025 with seasons and two hot spots;
6. the grids are those ``gridmap.build_grids`` makes from the written GeoPackage, read back as
   ``gridmap.load_sample`` reads it, with their codes as a registry issues them first (the temporary
   ``<community>-NNN`` without the dash); the staff roster gives each of them a 1+1+1+N team;
7. each compound polygon gets its buildings (楼栋) as slab footprints on a lattice inside it, sharing out the
   compound's households (``buildings.gpkg``, for micro-grids), from a generator of their own.
"""

from __future__ import annotations

import argparse
import io
import logging
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import shapely
import shapely.affinity
from pyproj import Transformer
from sample_escalation import generate_escalation
from sample_org import generate_org
from sample_patrols import generate_patrols
from sample_roster import generate_roster
from sample_zones import generate_zones
from shapely.geometry import Point, Polygon
from shapely.ops import nearest_points

import gridmap
from gridmap.io._atomic import atomic_path
from gridmap.schema import HANDLING_LEVELS

log = logging.getLogger("make_sample_data")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "data" / "sample"
SEED = 9901
METRIC_CRS = "EPSG:4545"  # CGCS2000 / 3-degree Gauss-Kruger CM 108E
STORAGE_CRS = "EPSG:4490"  # CGCS2000 geographic
CENTRE_LONLAT = (108.30, 22.80)
CITY_CODE, CITY_NAME = "9901", "示例市"
NODE_GRID_M = 0.01  # boundaries are noded on a 1 cm grid
FIXED_GDAL_DATE = "2025-01-01T00:00:00.000Z"  # pins the GeoPackage timestamps
GPKG_NAME, STAFF_NAME, CASES_NAME = "sample_city.gpkg", "staff.csv", "cases.parquet"
BUILDINGS_NAME = "buildings.gpkg"
ROADS_NAME = "roads.gpkg"  # the street centre lines of the lattices, for gridmap build --barriers
STAFF_STREAM = 2  # the roster's generator is default_rng([seed, STAFF_STREAM])
BUILDINGS_STREAM = 3  # the buildings' generator is default_rng([seed, BUILDINGS_STREAM])
GRIDS_PER_INSTRUCTOR = 3
N_CASES = 20_000
YEAR_START, EXTRACT_TIME = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31 23:59:59")
FICTIONAL_NOTE = "示例市 is a FICTIONAL city (province prefix 99 does not exist); sample data of gridmap"

# ----------------------------------------------------------------------------------------------------------
# Names and the administrative plan (all invented; any likeness to a real place is a coincidence).

DISTRICTS = [("990102", "东城区", "urban"), ("990103", "西城区", "urban"), ("990121", "示例县", "rural")]
URBAN_STREETS = {  # district -> (street name, number of communities)
    "990102": [("民主街道", 6), ("朝阳街道", 5), ("金湖街道", 5)],
    "990103": [("新华街道", 5), ("江南街道", 5)],
}
URBAN_COMMUNITIES = ("金湖社区 翠竹社区 桃源社区 民乐社区 园湖社区 南湖社区 东葛社区 星光社区 "
    "滨江社区 新竹社区 望园社区 明秀社区 春晖社区 和平社区 友爱社区 长堽社区 凤翔社区 锦华社区 "
    "碧水社区 秀灵社区 悦湖社区 双拥社区 竹溪社区 青山社区 嘉和社区 荔园社区").split()
# county towns, nearest the core first: (digits, name, town-centre community or None, villages)
COUNTY_TOWNS = [
    ("100", "城关镇", "城关社区", ["六合村", "那良村", "板桥村", "大塘村"]),
    ("101", "石岭镇", "石岭社区", ["龙岗村", "新圩村", "平安村", "六景村"]),
    ("200", "坡林乡", None, ["坡林村", "那马村", "三江村", "岜山村"]),
]
COMPOUND_PREFIXES = ("翠竹 金湖 桃源 锦绣 丽水 朝阳 紫荆 凤凰 梧桐 荔枝 榕树 玉兰 春江 明月 星河 "
    "江南 悦景 怡和 康乐 嘉禾 碧园 青秀 南湖 滨江 龙腾 华彩 富丽 东方 阳光 绿城 书香 雅苑 君悦 "
    "盛世 佳和 金桂 银杏 香樟 芙蓉 水岸 御景 天悦 润和 金色 蓝湾 新民 园丁 光明 和谐 安居 福泰 "
    "瑞丰 华侨 荷塘 桂苑 清江").split()
COMPOUND_SUFFIXES = ("苑 花园 小区 家园 新村 雅居 名都 华庭 山庄 公寓 府 里 嘉园 湾 城").split()
WORK_UNIT_COMPOUNDS = ("机械厂宿舍 纺织厂生活区 供电局宿舍区 水利局宿舍 糖厂生活区 粮食局宿舍 "
    "铁路新村 邮电宿舍 化肥厂生活区 自来水公司宿舍").split()
HAMLET_FIRST = list("那板岜弄六百古都坡龙平上下新大小东西南北陇渌")
HAMLET_SECOND = list("坡良马蒙林塘岭江桥山寨洞湾垌排头尾浪感利念标")
SURNAMES = list("黄李陈韦梁刘张覃莫农蒙王杨周吴林何罗潘陆卢蓝谢苏廖邓赵唐")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国海燕志红文斌宁琳波辉鹏飞婷雪梅晓春冬")

# Dedicated sites: (name, kind, where, geometry, population, buildings). ``where``: a street name (urban
# block), "town:<town>" (block in its town-centre community), "village:<village>" (a point near its largest
# hamlet), "edge" (industrial park in a village touching the urban core) or "near:<town>" (park in one of its
# villages).
SITES = [
    ("金湖商务大厦", "office_building", "金湖街道", "polygon", 1200, 1),
    ("民主路金融中心", "office_building", "民主街道", "polygon", 2600, 2),
    ("朝阳国际大厦", "office_building", "朝阳街道", "polygon", 1800, 1),
    ("江南科技大厦", "office_building", "江南街道", "polygon", 900, 1),
    ("新华商务中心", "office_building", "新华街道", "polygon", 1500, 3),
    ("东城政务服务中心", "office_building", "民主街道", "polygon", 450, 2),
    ("凤翔写字楼", "office_building", "朝阳街道", "polygon", 320, 1),
    ("滨江商务楼", "office_building", "江南街道", "polygon", 260, 1),
    ("锦华大厦", "office_building", "新华街道", "polygon", 700, 1),
    ("星光创意园", "office_building", "金湖街道", "polygon", 540, 6),
    ("青山商务楼", "office_building", "新华街道", "point", 80, 1),
    ("悦湖大厦", "office_building", "金湖街道", "point", 380, 1),
    ("嘉和写字楼", "office_building", "江南街道", "point", 60, 1),
    ("荔园商务中心", "office_building", "朝阳街道", "point", 210, 1),
    ("示例市高新技术产业园", "industrial_park", "edge", "polygon", 4800, 36),
    ("绿谷工业园", "industrial_park", "edge", "polygon", 3100, 28),
    ("江南物流园", "industrial_park", "edge", "polygon", 1300, 14),
    ("城关镇食品加工园", "industrial_park", "near:城关镇", "polygon", 620, 9),
    ("石岭镇建材产业园", "industrial_park", "near:石岭镇", "polygon", 410, 7),
    ("坡林乡农产品加工园", "industrial_park", "near:坡林乡", "polygon", 60, 3),
    ("朝阳农贸市场", "market", "朝阳街道", "polygon", 650, 3),
    ("江南综合批发市场", "market", "江南街道", "polygon", 1100, 8),
    ("民主路商圈", "market", "民主街道", "polygon", 2300, 12),
    ("新华农贸市场", "market", "新华街道", "polygon", 380, 2),
    ("东葛路商业街", "market", "金湖街道", "polygon", 900, 15),
    ("城关镇农贸市场", "market", "town:城关镇", "polygon", 240, 2),
    ("石岭镇圩市", "market", "town:石岭镇", "polygon", 150, 1),
    ("金湖夜市", "market", "金湖街道", "point", 90, 0),
    ("滨江花鸟市场", "market", "江南街道", "point", 120, 1),
    ("坡林乡圩场", "market", "village:坡林村", "point", 40, 0),
    ("示例市第一中学", "school", "民主街道", "polygon", 3200, 9),
    ("示例市第二中学", "school", "新华街道", "polygon", 2800, 8),
    ("示例市第三中学", "school", "金湖街道", "polygon", 2500, 7),
    ("东城区实验小学", "school", "朝阳街道", "polygon", 1900, 5),
    ("民主路小学", "school", "民主街道", "polygon", 1400, 4),
    ("朝阳小学", "school", "朝阳街道", "polygon", 1100, 4),
    ("金湖小学", "school", "金湖街道", "polygon", 1250, 4),
    ("西城区实验学校", "school", "江南街道", "polygon", 2100, 6),
    ("新华路小学", "school", "新华街道", "polygon", 980, 3),
    ("江南中学", "school", "江南街道", "polygon", 1700, 6),
    ("示例市职业技术学校", "school", "金湖街道", "polygon", 2400, 10),
    ("东城区第一幼儿园", "school", "民主街道", "polygon", 420, 2),
    ("西城区第二幼儿园", "school", "新华街道", "polygon", 360, 2),
    ("城关镇中学", "school", "town:城关镇", "polygon", 1300, 5),
    ("石岭镇中心小学", "school", "town:石岭镇", "polygon", 760, 3),
    ("那良村小学", "school", "village:那良村", "point", 210, 2),
    ("龙岗村教学点", "school", "village:龙岗村", "point", 45, 1),
    ("三江村小学", "school", "village:三江村", "point", 160, 2),
    ("示例市人民医院", "hospital", "民主街道", "polygon", 2500, 8),
    ("示例市中医医院", "hospital", "新华街道", "polygon", 1400, 5),
    ("示例市第二人民医院", "hospital", "金湖街道", "polygon", 1600, 6),
    ("东城区妇幼保健院", "hospital", "朝阳街道", "polygon", 600, 3),
    ("西城区人民医院", "hospital", "江南街道", "polygon", 900, 4),
    ("示例市口腔医院", "hospital", "朝阳街道", "polygon", 230, 1),
    ("江南社区卫生服务中心", "hospital", "江南街道", "polygon", 120, 1),
    ("城关镇卫生院", "hospital", "town:城关镇", "polygon", 260, 3),
    ("石岭镇卫生院", "hospital", "town:石岭镇", "polygon", 180, 2),
    ("坡林乡卫生院", "hospital", "village:坡林村", "point", 70, 2),
    ("民主社区卫生服务站", "hospital", "民主街道", "point", 30, 1),
    ("朝阳社区卫生服务站", "hospital", "朝阳街道", "point", 110, 1),
]
SITE_FILL = {"office_building": (0.35, 0.6), "market": (0.55, 0.9), "school": (0.8, 1.0),
             "hospital": (0.6, 0.9)}

# Cases: category -> (share, monthly profile Jan..Dec, where (compound, village, site, open), levels).
CASE_CATEGORIES = {
    "矛盾纠纷": (0.27, [14, 13, 9, 8, 8, 8, 8, 8, 8, 9, 9, 12], (0.72, 0.14, 0.04, 0.10), (62, 25, 10, 3)),
    "环境卫生": (0.24, [6, 6, 7, 8, 10, 12, 13, 13, 10, 8, 7, 6], (0.62, 0.15, 0.05, 0.18), (80, 14, 5, 1)),
    "治安隐患": (0.12, [9, 9, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9], (0.66, 0.08, 0.11, 0.15), (65, 20, 11, 4)),
    "民生诉求": (0.22, [8, 7, 9, 9, 8, 8, 9, 9, 9, 8, 8, 8], (0.74, 0.14, 0.04, 0.08), (70, 20, 8, 2)),
    "安全生产": (0.07, [6, 6, 7, 8, 9, 11, 12, 12, 10, 7, 6, 6], (0.25, 0.05, 0.55, 0.15), (45, 25, 20, 10)),
    "疫情防控": (0.02, [16, 12, 8, 5, 5, 5, 5, 5, 6, 8, 11, 14], (0.75, 0.15, 0.06, 0.04), (75, 20, 4, 1)),
    "城市管理": (0.06, [7, 7, 8, 8, 9, 9, 9, 9, 9, 9, 8, 8], (0.40, 0.02, 0.13, 0.45), (70, 18, 10, 2)),
}
LEVELS = HANDLING_LEVELS  # where cases are settled: grid, community, street, district
CLOSE_MEDIAN_HOURS = {"grid": 5.0, "community": 30.0, "street": 96.0, "district": 240.0}
HOT_SPOTS = ("朝阳农贸市场", "绿谷工业园")


@dataclass(frozen=True)
class Block:
    """One block between the roads of a lattice, in the lattice's local frame (metres)."""

    x0: float
    y0: float
    x1: float
    y1: float
    origin: tuple[float, float]
    angle: float  # radians

    def to_world(self, xy: np.ndarray) -> np.ndarray:
        c, s = math.cos(self.angle), math.sin(self.angle)
        x, y = xy[:, 0], xy[:, 1]
        return np.c_[self.origin[0] + c * x - s * y, self.origin[1] + s * x + c * y]

    @property
    def polygon(self) -> Polygon:
        xy = np.array([[self.x0, self.y0], [self.x1, self.y0], [self.x1, self.y1], [self.x0, self.y1]])
        return Polygon(self.to_world(xy))

    def quad(self, rng: np.random.Generator, fill: tuple[float, float]) -> Polygon:
        """A slightly rotated, slightly irregular quad covering ``fill`` of each side of the block."""
        w, h = self.x1 - self.x0, self.y1 - self.y0
        fw, fh = rng.uniform(*fill, size=2)
        qx0 = self.x0 + rng.uniform(0, 1) * w * (1 - fw)
        qy0 = self.y0 + rng.uniform(0, 1) * h * (1 - fh)
        xy = np.array([[qx0, qy0], [qx0 + fw * w, qy0], [qx0 + fw * w, qy0 + fh * h], [qx0, qy0 + fh * h]])
        turn = rng.uniform(-0.05, 0.05)
        centre = xy.mean(axis=0)
        rot = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
        moved = (xy - centre) @ rot.T + centre + rng.uniform(-3, 3, size=(4, 2))
        inside = ((moved[:, 0] > self.x0 + 1) & (moved[:, 0] < self.x1 - 1)
                  & (moved[:, 1] > self.y0 + 1) & (moved[:, 1] < self.y1 - 1)).all()
        return Polygon(self.to_world(moved if inside else xy))


# ----------------------------------------------------------------------------------------------------------
# Geometry helpers (metric CRS)


def blob(centre: tuple[float, float], radius: float, rng: np.random.Generator, *, wobble: float = 0.12,
         n: int = 160) -> Polygon:
    """A star-shaped wobbly disc: radius modulated by a few random harmonics (always a valid polygon)."""
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 6):
        r += rng.uniform(-wobble, wobble) / (k - 1) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    return Polygon(np.c_[centre[0] + radius * r * np.cos(theta), centre[1] + radius * r * np.sin(theta)])


def random_points_in(poly, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniformly random points inside ``poly`` (rejection sampling from its bounding box)."""
    minx, miny, maxx, maxy = poly.bounds
    found: list[np.ndarray] = []
    total = 0
    while total < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(max(4 * n, 64), 2))
        xy = xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]
        found.append(xy)
        total += len(xy)
    return np.concatenate(found)[:n]


def polygon_parts(geom) -> list[Polygon]:
    """The polygons of any geometry, largest first (lines and points from overlays dropped)."""
    parts = shapely.get_parts(shapely.get_parts(geom))
    return sorted((p for p in parts if p.geom_type == "Polygon" and p.area > 0), key=lambda p: -p.area)


def voronoi_cells(parent: Polygon, seeds: np.ndarray) -> list:
    """Voronoi cells of ``seeds`` clipped to ``parent``, in the order of the seeds."""
    extent = shapely.box(*parent.bounds).buffer(5000)
    regions = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=extent, ordered=True)
    return [shapely.union_all(polygon_parts(parent.intersection(r))) for r in shapely.get_parts(regions)]


def merge_fragments(cells: list) -> list[Polygon]:
    """Keep the largest part of every cell; give each smaller part to the cell it shares most border with."""
    cells = list(cells)
    fragments = []
    for i, cell in enumerate(cells):
        parts = polygon_parts(cell)
        cells[i] = parts[0]
        fragments.extend(parts[1:])
    for piece in fragments:
        contact = [piece.buffer(0.5).intersection(c).area for c in cells]
        j = int(np.argmax(contact))
        cells[j] = cells[j].union(piece)
    return cells


def partition(parent, n: int, rng: np.random.Generator, *, seeds: np.ndarray | None = None,
              iterations: int = 4) -> list:
    """Split ``parent`` into ``n`` compact cells (Lloyd-relaxed Voronoi cells clipped to it)."""
    seeds = random_points_in(parent, n, rng) if seeds is None else np.asarray(seeds, dtype=float)
    for _ in range(iterations):
        centres = []
        for cell in voronoi_cells(parent, seeds):
            c = cell.centroid
            centres.append(c if cell.contains(c) else cell.point_on_surface())
        seeds = shapely.get_coordinates(centres)
    return merge_fragments(voronoi_cells(parent, seeds))


def north_west_order(polys: list) -> list[int]:
    """Indices of ``polys`` from north to south in 1 km bands, west to east within a band."""
    cents = [p.centroid for p in polys]
    return sorted(range(len(polys)), key=lambda i: (-round(cents[i].y / 1000), cents[i].x))


def node_coverage(raw: list) -> list[Polygon]:
    """Rebuild ``raw`` (nearly tiling polygons) as an exact coverage whose neighbours share vertices.

    All boundaries are noded together on a 1 cm grid and polygonised; every face goes to the raw polygon
    holding it. Hand-written because no library call turns near-coincident clipped edges into one shared
    edge.
    """
    lines = shapely.union_all(shapely.boundary(np.array(raw, dtype=object)), grid_size=NODE_GRID_M)
    faces = polygon_parts(shapely.polygonize(shapely.get_parts(lines)))
    faces.sort(key=lambda f: (f.bounds, f.area))
    tree = shapely.STRtree(raw)
    owners: dict[int, list[Polygon]] = {i: [] for i in range(len(raw))}
    for face in faces:
        hits = tree.query(face.point_on_surface(), predicate="within")
        if len(hits) == 0:
            hits = [max(tree.query(face), key=lambda j: face.intersection(raw[j]).area)]
        owners[int(min(hits))].append(face)
    result = []
    for i in range(len(raw)):
        merged = shapely.coverage_union_all(owners[i])
        if merged.geom_type != "Polygon":
            raise RuntimeError(f"cell {i} is not one polygon after noding ({merged.geom_type})")
        result.append(merged)
    return result


def meander_split(core: Polygon, east_share: float, rng: np.random.Generator) -> tuple[Polygon, Polygon]:
    """Split ``core`` by a river-like north-south line so the east part has ``east_share`` of the area."""
    minx, miny, maxx, maxy = core.bounds
    ys = np.linspace(miny - 200, maxy + 200, 60)
    wiggle = 180 * np.sin(ys / 900 + rng.uniform(0, 6)) + 90 * np.sin(ys / 370 + rng.uniform(0, 6))

    def east_of(x: float) -> Polygon:
        line = np.c_[x + wiggle, ys]
        ring = np.vstack([line, [[maxx + 500, ys[-1]], [maxx + 500, ys[0]]]])
        return core.intersection(Polygon(ring))

    lo, hi = minx, maxx
    for _ in range(40):  # bisection on the position of the line
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if east_of(mid).area < east_share * core.area else (mid, hi)
    east = polygon_parts(east_of(lo))[0]
    west = core.difference(east)
    if west.geom_type != "Polygon":
        raise RuntimeError("the district line cuts the urban core into more than two pieces")
    return west, east


# ----------------------------------------------------------------------------------------------------------
# Administrative hierarchy


def build_admin(rng: np.random.Generator, centre: tuple[float, float]) -> dict[str, gpd.GeoDataFrame]:
    """Districts, streets and communities (metric CRS) tiling the city exactly."""
    city = blob(centre, 6900, rng, wobble=0.10)
    core = city.intersection(blob((centre[0] - 3700, centre[1] + 2900), 3500, rng, wobble=0.08))
    core = polygon_parts(core)[0]
    county = polygon_parts(city.difference(core))[0]
    west, east = meander_split(core, 0.6, rng)
    rows = []  # (code, name, kind, street code, street name, district code, raw polygon)
    for dcode, district in (("990102", east), ("990103", west)):
        plan = URBAN_STREETS[dcode]
        streets = partition(district, len(plan), rng)
        for s_no, i in enumerate(north_west_order(streets), start=1):
            sname, n_comm = plan[s_no - 1]
            scode = f"{dcode}{s_no:03d}"
            comms = partition(streets[i], n_comm, rng)
            for c_no, j in enumerate(north_west_order(comms), start=1):
                rows.append((f"{scode}{c_no:03d}", None, "urban", scode, sname, dcode, comms[j]))
    rows += county_communities(county, core, rng)
    names = iter(URBAN_COMMUNITIES)
    rows = [(code, name or next(names), *rest) for code, name, *rest in rows]
    return admin_frames(rows, [p for *_, p in rows])


def county_communities(county: Polygon, core: Polygon, rng: np.random.Generator) -> list[tuple]:
    """Towns (nearest the urban core first) with a town-centre community and villages around it."""
    towns = partition(county, len(COUNTY_TOWNS), rng)
    order = sorted(range(len(towns)), key=lambda i: towns[i].distance(core.centroid))
    rows = []
    for (digits, tname, centre_name, villages), i in zip(COUNTY_TOWNS, order, strict=True):
        town, scode = towns[i], f"990121{digits}"
        if centre_name is None:
            parts = partition(town, len(villages), rng)
            village_polys = [parts[k] for k in north_west_order(parts)]
        else:
            seat = town.buffer(-1500).point_on_surface()
            centre_poly = blob((seat.x, seat.y), 620, rng, wobble=0.15, n=48)
            ring = town.difference(centre_poly)
            angles = np.linspace(0, 2 * np.pi, len(villages), endpoint=False) + rng.uniform(0, np.pi)
            seeds = np.c_[seat.x + 2000 * np.cos(angles), seat.y + 2000 * np.sin(angles)]
            seeds = np.array([p if ring.contains(Point(p)) else shapely.get_coordinates(
                nearest_points(ring.buffer(-50), Point(p))[0])[0] for p in seeds])
            parts = partition(ring, len(villages), rng, seeds=seeds, iterations=2)
            village_polys = [parts[k] for k in north_west_order(parts)]
            rows.append((f"{scode}001", centre_name, "urban", scode, tname, "990121", centre_poly))
        for k, (vname, poly) in enumerate(zip(villages, village_polys, strict=True)):
            rows.append((f"{scode}{200 + k:03d}", vname, "rural", scode, tname, "990121", poly))
    return rows


def admin_frames(rows: list[tuple], raw: list) -> dict[str, gpd.GeoDataFrame]:
    """Node the communities into an exact coverage and build streets and districts as their unions."""
    polys = node_coverage(raw)
    comm = gpd.GeoDataFrame(
        {"code": [r[0] for r in rows], "name": [r[1] for r in rows], "level": "community",
         "parent_code": [r[3] for r in rows], "kind": [r[2] for r in rows]},
        geometry=polys, crs=METRIC_CRS).sort_values("code", ignore_index=True)
    street_names = {r[3]: r[4] for r in rows}
    district_names = {code: (name, kind) for code, name, kind in DISTRICTS}
    streets = dissolve(comm, "parent_code", lambda code: (
        street_names[code], "street", code[:6], district_names[code[:6]][1]))
    districts = dissolve(streets, "parent_code", lambda code: (
        district_names[code][0], "district", CITY_CODE, district_names[code][1]))
    return {"districts": districts, "streets": streets, "communities": comm}


def dissolve(children: gpd.GeoDataFrame, by: str, describe) -> gpd.GeoDataFrame:
    """Coverage union of ``children`` grouped by ``by``; ``describe(code)`` is (name, level, parent, kind)."""
    records, geoms = [], []
    for code, group in children.groupby(by, sort=True):
        name, level, parent, kind = describe(code)
        records.append({"code": code, "name": name, "level": level, "parent_code": parent, "kind": kind})
        merged = shapely.coverage_union_all(group.geometry.values)
        if merged.geom_type != "Polygon":
            raise RuntimeError(f"{code} is not one polygon ({merged.geom_type})")
        geoms.append(merged)
    return gpd.GeoDataFrame(records, geometry=geoms, crs=METRIC_CRS)


# ----------------------------------------------------------------------------------------------------------
# Base units: compounds, dedicated sites, natural villages


def lattice_blocks(region: Polygon, rng: np.random.Generator, roads: list[dict] | None = None) -> list[Block]:
    """Blocks of a randomly rotated road lattice that lie inside ``region``.

    With ``roads``, the lattice's street centre lines inside ``region`` are appended to it (no random draws:
    the other layers stay the same).
    """
    angle = rng.uniform(-0.35, 0.35)
    c = region.centroid
    local = shapely.affinity.rotate(region, -angle, origin=c, use_radians=True)
    minx, miny, maxx, maxy = local.bounds

    def breaks(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
        edges = [lo - 50]
        while edges[-1] < hi:
            edges.append(edges[-1] + rng.choice([rng.uniform(110, 160), rng.uniform(160, 230),
                                                 rng.uniform(230, 320)], p=[0.4, 0.45, 0.15]))
        roads = np.where(np.arange(len(edges)) % 4 == 0, rng.uniform(30, 45, len(edges)),
                         rng.uniform(12, 20, len(edges)))
        return np.array(edges), roads

    xs, rx = breaks(minx - c.x, maxx - c.x)
    ys, ry = breaks(miny - c.y, maxy - c.y)
    if roads is not None:
        roads += lattice_streets(region, xs, rx, ys, ry, Block(0, 0, 0, 0, (c.x, c.y), angle), len(roads))
    blocks = [Block(xs[i] + rx[i] / 2, ys[j] + ry[j] / 2, xs[i + 1] - rx[i + 1] / 2,
                    ys[j + 1] - ry[j + 1] / 2, (c.x, c.y), angle)
              for i in range(len(xs) - 1) for j in range(len(ys) - 1)]
    shapely.prepare(region)
    return [b for b in blocks if region.contains(b.polygon)]


def lattice_streets(region: Polygon, xs: np.ndarray, rx: np.ndarray, ys: np.ndarray, ry: np.ndarray,
                    frame: Block, first: int) -> list[dict]:
    """Centre lines of the lattice's streets inside ``region``: 纵 (along y) and 横 (along x) roads, every
    fourth an arterial (主干道, 30-45 m wide), the others branch roads (支路, 12-20 m)."""
    out = []
    lines = [(f"纵{i + 1}路", [[x, ys[0]], [x, ys[-1]]], rx[i], i) for i, x in enumerate(xs)]
    lines += [(f"横{j + 1}路", [[xs[0], y], [xs[-1], y]], ry[j], j) for j, y in enumerate(ys)]
    for name, local, width, index in lines:
        inside = shapely.intersection(shapely.LineString(frame.to_world(np.array(local))), region)
        for part in shapely.get_parts(inside):
            if part.geom_type == "LineString" and part.length > 0:
                out.append({"road_id": f"R{first + len(out) + 1:03d}", "name": name,
                            "kind": "主干道" if index % 4 == 0 else "支路", "width_m": round(float(width), 1),
                            "geometry": part})
    return out


def classify_blocks(blocks: list[Block], communities: gpd.GeoDataFrame) -> tuple[dict, list]:
    """Blocks inside one community (6 m from its edge) by community code, and blocks straddling two."""
    inner = shapely.buffer(communities.geometry.values, -6.0)
    shapely.prepare(inner)
    tree = shapely.STRtree(communities.geometry.values)
    single: dict[str, list[Block]] = {code: [] for code in communities["code"]}
    straddle = []
    for block in blocks:
        poly = block.polygon
        hits = sorted(int(h) for h in tree.query(poly, predicate="intersects"))
        inside = [h for h in hits if inner[h].contains(poly)]
        if inside:
            single[communities["code"].iat[inside[0]]].append(block)
        elif len(hits) == 2:
            shares = sorted(poly.intersection(communities.geometry.iat[h]).area / poly.area for h in hits)
            if 0.2 <= shares[0] <= 0.42:
                straddle.append(block)
    return single, straddle


def compound_attributes(area_m2: float, rng: np.random.Generator, *, median_density: float) -> tuple:
    """Households, population and buildings of a compound of ``area_m2`` (density per hectare is random)."""
    density = float(np.clip(rng.lognormal(math.log(median_density), 0.5), 40, 700))
    households = int(np.clip(round(area_m2 / 1e4 * density), 50, 3000))
    per_building = rng.uniform(6, 24) if density < 120 else rng.uniform(30, 90) if density < 300 else \
        rng.uniform(80, 200)
    population = int(round(households * rng.uniform(2.5, 3.2)))
    return households, population, max(1, int(round(households / per_building)))


def take(pool: list[Block], rng: np.random.Generator) -> Block:
    """Remove and return a random block of ``pool``."""
    return pool.pop(int(rng.integers(len(pool))))


def allocate(total: int, capacity: dict[str, int]) -> dict[str, int]:
    """Split ``total`` over keys in proportion to ``capacity`` (largest remainder, capped by capacity)."""
    cap_sum = sum(capacity.values())
    exact = {k: total * v / cap_sum for k, v in capacity.items()}
    alloc = {k: min(capacity[k], int(v)) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: (alloc[k] - exact[k], k)):
        if sum(alloc.values()) >= total:
            break
        if alloc[k] < capacity[k]:
            alloc[k] += 1
    if sum(alloc.values()) != total:
        raise RuntimeError(f"not enough blocks: {sum(capacity.values())} for {total}")
    return alloc


def build_urban_units(admin: dict, rng: np.random.Generator,
                      roads: list[dict] | None = None) -> tuple[list[dict], list[dict]]:
    """Compounds (400, five of them straddling two communities) and the dedicated sites on urban blocks.

    ``roads`` receives the street centre lines of the lattices (see :func:`lattice_blocks`).
    """
    comm = admin["communities"]
    urban = comm[comm["kind"] == "urban"]
    core = shapely.coverage_union_all(admin["districts"].geometry.values[:2])
    single, straddle = classify_blocks(lattice_blocks(core, rng, roads), urban)
    for code in urban.loc[urban["parent_code"].str.startswith("990121"), "code"]:
        town = comm.geometry[comm["code"] == code].iat[0]
        town_single, _ = classify_blocks(lattice_blocks(town, rng, roads), urban)
        single[code] = town_single[code]
    street_of = dict(zip(admin["streets"]["name"], admin["streets"]["code"], strict=True))
    sites = urban_sites(single, street_of, urban, rng)
    compounds = []
    picks = [straddle[i] for i in sorted(rng.choice(len(straddle), 5, replace=False))]
    for block in picks:
        compounds.append(make_compound(block, rng, fill=(0.93, 1.0), median_density=260))
    town_codes = [c for c in single if c.startswith("990121")]
    for code, n in zip(town_codes, (8, 7), strict=True):
        for _ in range(n):
            block = take(single[code], rng)
            compounds.append(make_compound(block, rng, fill=(0.6, 0.95), median_density=120))
    city_codes = [c for c in single if not c.startswith("990121")]
    counts = allocate(400 - len(compounds), {c: len(single[c]) for c in city_codes})
    for code in city_codes:
        for _ in range(counts[code]):
            compounds.append(make_compound(take(single[code], rng), rng, fill=(0.7, 1.0), median_density=230))
    names = compound_names(len(compounds), rng)
    for unit, name in zip(compounds, names, strict=True):
        unit["name"] = name
    return compounds, sites


def make_compound(block: Block, rng: np.random.Generator, *, fill, median_density: float) -> dict:
    quad = block.quad(rng, fill)
    households, population, buildings = compound_attributes(quad.area, rng, median_density=median_density)
    return {"kind": "compound", "households": households, "population": population, "buildings": buildings,
            "geometry": quad}


def compound_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct invented compound names (a few old work-unit compounds among them)."""
    combos = [p + s for p in COMPOUND_PREFIXES for s in COMPOUND_SUFFIXES]
    chosen = [combos[i] for i in rng.choice(len(combos), n - len(WORK_UNIT_COMPOUNDS), replace=False)]
    names = chosen + WORK_UNIT_COMPOUNDS
    return [names[i] for i in rng.permutation(n)]


def urban_sites(single: dict, street_of: dict, urban: gpd.GeoDataFrame,
                rng: np.random.Generator) -> list[dict]:
    """Dedicated sites on blocks of their street or town centre (removed from the pool for compounds)."""
    town_centre = {row.parent_code: row.code for row in urban.itertuples()
                   if row.parent_code.startswith("990121")}
    town_code = {name: code for name, code in street_of.items() if code.startswith("990121")}
    sites = []
    for name, kind, where, geom, population, buildings in SITES:
        if where.startswith("town:"):
            codes = [town_centre[town_code[where[5:]]]]
        elif where in street_of:
            codes = [c for c in single if c.startswith(street_of[where]) and len(single[c]) > 8]
        else:
            continue
        code = codes[int(rng.integers(len(codes)))]
        block = take(single[code], rng)
        if geom == "polygon":
            shape = block.quad(rng, SITE_FILL[kind])
        else:
            middle = np.array([[(block.x0 + block.x1) / 2, (block.y0 + block.y1) / 2]])
            local = middle + rng.uniform(-20, 20, (1, 2))
            shape = Point(block.to_world(local)[0])
        sites.append({"name": name, "kind": kind, "households": 0, "population": population,
                      "buildings": buildings, "geometry": shape})
    return sites


def rural_sites(admin: dict, rng: np.random.Generator) -> list[dict]:
    """Industrial parks at the urban edge and near the towns (rotated rectangles inside villages)."""
    comm, streets = admin["communities"], admin["streets"]
    villages = comm[comm["kind"] == "rural"]
    core = shapely.coverage_union_all(admin["districts"].geometry.values[:2])
    town_code = dict(zip(streets["name"], streets["code"], strict=True))
    placed: list[Polygon] = []
    sites = []
    for name, kind, where, _geom, population, buildings in SITES:
        if where == "edge":
            pool = villages[villages.intersects(core.buffer(1))]
            zone = core.buffer(1800)
            size = (rng.uniform(500, 800), rng.uniform(400, 650))
        elif where.startswith("near:"):
            pool = villages[villages["parent_code"] == town_code[where[5:]]]
            zone = None
            size = (rng.uniform(250, 450), rng.uniform(200, 350)) if population > 100 else (180, 140)
        else:
            continue
        rect = place_rectangle(pool, zone, size, placed, rng)
        placed.append(rect)
        sites.append({"name": name, "kind": kind, "households": 0, "population": population,
                      "buildings": buildings, "geometry": rect})
    return sites


def place_rectangle(pool: gpd.GeoDataFrame, zone, size: tuple[float, float], placed: list,
                    rng: np.random.Generator) -> Polygon:
    """A rotated rectangle of ``size`` in one village of ``pool`` (and ``zone``), apart from ``placed``."""
    for _ in range(2000):
        village = pool.geometry.iat[int(rng.integers(len(pool)))]
        area = village.buffer(-60) if zone is None else village.buffer(-60).intersection(zone)
        if area.is_empty:
            continue
        (x, y), = random_points_in(area, 1, rng)
        w, h = size
        rect = shapely.affinity.rotate(shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2),
                                       rng.uniform(0, 180), origin=(x, y))
        if village.buffer(-60).contains(rect) and not any(rect.distance(p) < 300 for p in placed):
            return rect
    raise RuntimeError("could not place an industrial park")


def build_hamlets(admin: dict, parks: list[Polygon], rng: np.random.Generator) -> list[dict]:
    """200 natural villages (自然村/屯), spaced at least 450 m apart; 40 of them drawn as small polygons."""
    comm = admin["communities"]
    villages = comm[comm["kind"] == "rural"].reset_index(drop=True)
    hectares = (villages.area / 1e4).round().astype(int)
    counts = allocate(200, dict(zip(villages["code"], hectares, strict=True)))
    avoid = shapely.union_all([p.buffer(350) for p in parks])
    points: list[tuple[float, float]] = []
    for code, village in zip(villages["code"], villages.geometry, strict=True):
        zone = village.buffer(-220).difference(avoid)
        need, candidates = counts[code], random_points_in(zone, 4000, rng)
        for x, y in candidates:
            if need == 0:
                break
            if all((x - px) ** 2 + (y - py) ** 2 >= 450 ** 2 for px, py in points):
                points.append((x, y))
                need -= 1
        if need:
            raise RuntimeError(f"could not place the natural villages of {code}")
    as_polygon = set(rng.choice(len(points), 40, replace=False).tolist())
    names = hamlet_names(len(points), rng)
    hamlets = []
    for k, (xy, name) in enumerate(zip(points, names, strict=True)):
        households = int(np.clip(round(rng.lognormal(math.log(85), 0.6)), 15, 450))
        shape = blob(xy, rng.uniform(70, 140), rng, wobble=0.15, n=14) if k in as_polygon else Point(xy)
        population = int(round(households * rng.uniform(2.5, 3.2)))
        buildings = max(1, int(round(households * rng.uniform(0.8, 1.3))))
        hamlets.append({"name": name, "kind": "natural_village", "households": households,
                        "population": population, "buildings": buildings, "geometry": shape})
    return hamlets


def hamlet_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct invented hamlet names in the Zhuang style of Guangxi (那坡屯, 岜蒙屯 …)."""
    combos = [a + b for a in HAMLET_FIRST for b in HAMLET_SECOND if a != b]
    picks = [combos[i] for i in rng.choice(len(combos), n, replace=False)]
    return [p + ("坡" if rng.random() < 0.12 else "屯") for p in picks]


def village_point_sites(admin: dict, hamlets: list[dict], parks: list[Polygon],
                        rng: np.random.Generator) -> list[dict]:
    """Schools, clinics and markets drawn as points 150–300 m from the largest hamlet of their village."""
    comm = admin["communities"]
    sites = []
    for name, kind, where, _geom, population, buildings in SITES:
        if not where.startswith("village:"):
            continue
        village = comm.geometry[comm["name"] == where[8:]].iat[0]
        mine = [h for h in hamlets if village.contains(h["geometry"])]
        anchor = max(mine, key=lambda h: h["households"])["geometry"].centroid
        for _ in range(1000):
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(150, 300)
            point = Point(anchor.x + dist * math.cos(angle), anchor.y + dist * math.sin(angle))
            others = [h["geometry"] for h in hamlets] + [s["geometry"] for s in sites] + parks
            if village.buffer(-30).contains(point) and all(point.distance(g) > 60 for g in others):
                break
        else:
            raise RuntimeError(f"could not place {name}")
        sites.append({"name": name, "kind": kind, "households": 0, "population": population,
                      "buildings": buildings, "geometry": point})
    return sites


def true_community(geom, communities: gpd.GeoDataFrame) -> str:
    """The community holding a point, or the one with the largest overlap with a polygon."""
    overlaps = communities.geometry.intersection(geom).area if geom.geom_type != "Point" else \
        communities.geometry.contains(geom).astype(float)
    return communities["code"].iat[int(np.argmax(overlaps.to_numpy()))]


def finish_units(compounds, hamlets, sites, admin, rng) -> tuple[gpd.GeoDataFrame, dict]:
    """Number the units, attach their community code and plant the documented flaws."""
    comm = admin["communities"]
    frames = []
    for prefix, units in (("C", compounds), ("V", hamlets), ("S", sites)):
        frame = gpd.GeoDataFrame(units, geometry="geometry", crs=METRIC_CRS)
        frame["true_code"] = [true_community(g, comm) for g in frame.geometry]
        centre = frame.geometry.centroid
        frame = frame.assign(_band=-(centre.y / 500).round(), _x=centre.x).sort_values(
            ["true_code", "_band", "_x"], kind="stable").reset_index(drop=True)
        frame["unit_id"] = [f"{prefix}{i:04d}" for i in range(1, len(frame) + 1)]
        frames.append(frame.drop(columns=["_band", "_x"]))
    units = pd.concat(frames, ignore_index=True)
    units["community_code"] = units["true_code"].astype(object)
    straddlers = [uid for uid, g in zip(units["unit_id"], units.geometry, strict=True)
                  if g.geom_type == "Polygon" and (comm.geometry.intersection(g).area > 1).sum() > 1]
    wrong = plant_wrong_codes(units, comm, straddlers, rng)
    free = [i for i in range(len(units)) if units["unit_id"].iat[i] not in wrong]
    empty = sorted(rng.choice(free, round(0.1 * len(units)), replace=False).tolist())
    units.loc[empty, "community_code"] = None
    flaws = {"wrong": wrong, "straddlers": straddlers, "empty": units["unit_id"].iloc[empty].tolist()}
    return units, flaws


def plant_wrong_codes(units, comm, straddlers, rng) -> dict[str, str]:
    """Give one compound, one natural village and one site the code of a neighbouring community."""
    wrong = {}
    for kind_test in (lambda k: k == "compound", lambda k: k == "natural_village", lambda k: k not in (
            "compound", "natural_village")):
        pool = [i for i in range(len(units)) if kind_test(units["kind"].iat[i])
                and units["unit_id"].iat[i] not in straddlers]
        i = pool[int(rng.integers(len(pool)))]
        home = comm.geometry[comm["code"] == units["true_code"].iat[i]].iat[0]
        neighbours = comm[comm.geometry.intersection(home).length > 0]
        neighbours = neighbours[neighbours["code"] != units["true_code"].iat[i]]
        code = neighbours["code"].iat[int(rng.integers(len(neighbours)))]
        units.loc[i, "community_code"] = code
        wrong[units["unit_id"].iat[i]] = code
    return wrong


# ----------------------------------------------------------------------------------------------------------
# Staff and cases


def person_name(rng: np.random.Generator) -> str:
    given = "".join(rng.choice(GIVEN, int(rng.choice([1, 2], p=[0.3, 0.7]))))
    return str(rng.choice(SURNAMES)) + given


def built_grids(gpkg: Path) -> gpd.GeoDataFrame:
    """The grids gridmap builds from the written sample, with the codes a registry issues first.

    The layers are read back exactly as ``gridmap.load_sample`` reads them (units and unit points joined,
    sorted by ``unit_id``), so the roster follows what a user builds. ``build_grids`` numbers the grids in
    a registry's reading order, so ``<community>-NNN`` without the dash is the code a registry issues first.
    Columns: ``code``, ``community_code``, ``type``, ``households``, ``population``, ``unit_ids`` and the
    geometry (EPSG:4490), sorted by ``code``; the generators of the other sample files
    (``scripts/sample_*.py``) receive this frame.
    """
    communities = pyogrio.read_dataframe(gpkg, layer="communities")
    units = pd.concat([pyogrio.read_dataframe(gpkg, layer=layer) for layer in ("units", "unit_points")],
                      ignore_index=True).sort_values("unit_id", ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gridmap.GridmapWarning)  # the sample's deliberate flaws
        grids = gridmap.build_grids(communities, units).grids
    grids = grids.assign(code=grids["code"].str.replace("-", "", regex=False))
    columns = ["code", "community_code", "type", "households", "population", "unit_ids", "geometry"]
    return grids[columns].sort_values("code", ignore_index=True)


def build_staff(grids: pd.DataFrame, rng: np.random.Generator) -> tuple:
    """A 1+1+1+N roster for every grid, with four documented gaps.

    A community cadre instructs up to three consecutive grids of the community.
    """
    rows, phone = [], iter(range(1, 10_000))

    def person() -> tuple[str, str]:
        return person_name(rng), f"199-0000-{next(phone):04d}"

    for code, mine in grids.groupby("community_code", sort=True)["code"]:
        cadres = [person() for _ in range(math.ceil(len(mine) / GRIDS_PER_INSTRUCTOR))]
        for k, grid in enumerate(mine):
            team = [("instructor", cadres[k // GRIDS_PER_INSTRUCTOR]), ("leader", person()),
                    ("full_time", person())]
            team += [("member", person()) for _ in range(int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25])))]
            rows += [(grid, code, role, name, tel) for role, (name, tel) in team]
    staff = pd.DataFrame(rows, columns=["grid_code", "community_code", "role", "name", "phone"])
    codes = staff["grid_code"].unique()
    picked = [str(g) for g in codes[np.sort(rng.choice(len(codes), 4, replace=False))]]
    gaps = dict(zip(picked, ["no leader", "no leader", "two leaders", "no full-time worker"], strict=True))
    drop = staff.index[((staff["grid_code"].isin(picked[:2])) & (staff["role"] == "leader"))
                       | ((staff["grid_code"] == picked[3]) & (staff["role"] == "full_time"))]
    staff = staff.drop(drop)
    extra = pd.DataFrame([(picked[2], picked[2][:12], "leader", *person())], columns=staff.columns)
    rank = {role: k for k, role in enumerate(("instructor", "leader", "full_time", "member"))}
    staff = pd.concat([staff, extra]).sort_values(
        ["grid_code", "role"], key=lambda col: col.map(rank) if col.name == "role" else col, kind="stable",
        ignore_index=True)
    return staff, gaps


def case_days(profile: list[float]) -> np.ndarray:
    """Weight of every day of 2025 for a monthly ``profile``: weekends and the Spring Festival are quieter."""
    days = pd.date_range(YEAR_START, periods=365, freq="D")
    weight = np.asarray(profile, dtype=float)[days.month - 1] / days.days_in_month.to_numpy()
    weight = weight * np.where(days.day_of_week >= 5, 0.75, 1.0)
    weight = weight * np.where((days >= "2025-01-28") & (days <= "2025-02-04"), 0.6, 1.0)
    return weight / weight.sum()


def case_locations(where: np.ndarray, category: np.ndarray, units: gpd.GeoDataFrame, comm: gpd.GeoDataFrame,
                   city: Polygon, rng: np.random.Generator) -> np.ndarray:
    """A point for every case: inside a unit (weighted by population and the hot spots) or in the open."""
    xy = np.zeros((len(where), 2))
    hot = {name: units.geometry[units["name"] == name].iat[0].centroid for name in HOT_SPOTS}
    for source, kinds in (("compound", ["compound"]), ("village", ["natural_village"]), ("site", None)):
        pool = units[units["kind"].isin(kinds)] if kinds else units[~units["kind"].isin(
            ["compound", "natural_village"])]
        idx = np.flatnonzero(where == source)
        weight = pool["population"].to_numpy(float) + 50
        centres = pool.geometry.centroid
        weight = weight * np.where(centres.distance(hot[HOT_SPOTS[0]]) < 800, 6.0, 1.0)
        weight = weight * np.where(centres.distance(hot[HOT_SPOTS[1]]) < 1200, 4.0, 1.0)
        safety = pool["kind"].isin(["industrial_park", "market"]).to_numpy()
        for is_safety in (False, True):
            sub = idx[(category[idx] == "安全生产") == is_safety]
            w = weight * np.where(safety, 8.0, 1.0) if is_safety else weight
            chosen = rng.choice(len(pool), len(sub), p=w / w.sum())
            for k in np.unique(chosen):
                xy[sub[chosen == k]] = points_for(pool.geometry.iat[k], int((chosen == k).sum()), city, rng)
    idx = np.flatnonzero(where == "open")
    around_market = idx[rng.random(len(idx)) < 0.3]
    xy[around_market] = gaussian_points(hot[HOT_SPOTS[0]], 220, len(around_market), city, rng)
    rest = np.setdiff1d(idx, around_market)
    weight = np.where(comm["kind"] == "urban", 4.0, 1.0) * comm.area / 1e6
    chosen = rng.choice(len(comm), len(rest), p=weight / weight.sum())
    for k in np.unique(chosen):
        n = int((chosen == k).sum())
        xy[rest[chosen == k]] = random_points_in(comm.geometry.iat[k].buffer(-2), n, rng)
    return xy


def points_for(geom, n: int, city: Polygon, rng: np.random.Generator) -> np.ndarray:
    """``n`` points inside a polygon unit, or scattered around a point unit."""
    if geom.geom_type == "Point":
        return gaussian_points(geom, 60, n, city, rng)
    return random_points_in(geom, n, rng)


def gaussian_points(centre: Point, sigma: float, n: int, city: Polygon,
                    rng: np.random.Generator) -> np.ndarray:
    """``n`` points normally scattered around ``centre``, kept inside the city."""
    inner = city.buffer(-5)
    found = np.empty((0, 2))
    while len(found) < n:
        xy = rng.normal((centre.x, centre.y), sigma, size=(2 * n + 8, 2))
        found = np.vstack([found, xy[shapely.contains_xy(inner, xy[:, 0], xy[:, 1])]])
    return found[:n]


def build_cases(units: gpd.GeoDataFrame, comm: gpd.GeoDataFrame, city: Polygon,
                rng: np.random.Generator) -> gpd.GeoDataFrame:
    """20,000 cases over 2025 with seasons, two hot spots, escalation levels and handling times."""
    names = list(CASE_CATEGORIES)
    category = np.array(names)[rng.choice(len(names), N_CASES, p=[CASE_CATEGORIES[c][0] for c in names])]
    day, where, level = np.zeros(N_CASES, int), np.empty(N_CASES, object), np.empty(N_CASES, object)
    for name, (_share, profile, sources, levels) in CASE_CATEGORIES.items():
        idx = np.flatnonzero(category == name)
        day[idx] = rng.choice(365, len(idx), p=case_days(profile))
        where[idx] = np.array(["compound", "village", "site", "open"])[rng.choice(4, len(idx), p=sources)]
        level[idx] = np.array(LEVELS)[rng.choice(4, len(idx), p=np.array(levels) / sum(levels))]
    hour_w = np.array([1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 13, 10, 7, 8, 11, 12, 11, 9, 7, 6, 5, 4, 2, 1], float)
    seconds = rng.choice(24, N_CASES, p=hour_w / hour_w.sum()) * 3600 + rng.integers(0, 3600, N_CASES)
    reported = YEAR_START + pd.to_timedelta(day * 86400 + seconds, unit="s")
    quick = rng.random(N_CASES) < 0.92
    delay = np.where(quick, np.maximum(60, rng.exponential(25 * 60, N_CASES)),
                     rng.uniform(4, 60, N_CASES) * 3600)
    accepted = pd.Series(reported + pd.to_timedelta(np.round(delay), unit="s"))
    accepted[rng.random(N_CASES) < 0.02] = pd.NaT
    median = np.array([CLOSE_MEDIAN_HOURS[lv] for lv in level])
    closing = pd.to_timedelta(np.round(rng.lognormal(np.log(median * 3600), 0.9)), unit="s")
    closed = accepted + closing
    closed[(closed > EXTRACT_TIME) | (rng.random(N_CASES) < 0.01)] = pd.NaT
    count = np.where(rng.random(N_CASES) < 0.95, 1, rng.integers(2, 7, N_CASES))
    xy = case_locations(where, category, units, comm, city, rng)
    cases = gpd.GeoDataFrame({
        "reported_at": reported, "accepted_at": accepted.to_numpy(), "closed_at": closed.to_numpy(),
        "category": category, "status": np.where(closed.isna(), "open", "closed"), "level": level.astype(str),
        "count": count.astype("int64")}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=METRIC_CRS)
    cases = cases.sort_values("reported_at", kind="stable", ignore_index=True)
    cases.insert(0, "case_id", [f"E{i:06d}" for i in range(1, N_CASES + 1)])
    for col in ("reported_at", "accepted_at", "closed_at"):
        cases[col] = cases[col].astype("datetime64[s]")
    return cases


# ----------------------------------------------------------------------------------------------------------
# Writing


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp)`` on a temporary name in the same folder, then move it over ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)


UNIT_COLUMNS = ["unit_id", "name", "kind", "households", "population", "buildings", "community_code",
                "geometry"]


def write_gpkg(path: Path, admin: dict, units: gpd.GeoDataFrame) -> None:
    """All polygon and point layers in one GeoPackage with pinned timestamps (byte-reproducible)."""
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GDAL_DATE})
    polys = units[units.geom_type == "Polygon"]
    layers = [(name, admin[name], "Polygon") for name in ("districts", "streets", "communities")]
    layers += [("units", polys[UNIT_COLUMNS], "Polygon"),
               ("unit_points", units.loc[units.geom_type == "Point", UNIT_COLUMNS], "Point")]

    def write(tmp: Path) -> None:
        for k, (layer, frame, geometry_type) in enumerate(layers):
            pyogrio.write_dataframe(
                frame.to_crs(STORAGE_CRS), tmp, layer=layer, driver="GPKG", geometry_type=geometry_type,
                layer_options={"DESCRIPTION": f"{CITY_NAME} {layer} — FICTIONAL sample data"},
                metadata={"TITLE": f"{CITY_NAME} sample city (FICTIONAL)", "DESCRIPTION": FICTIONAL_NOTE,
                          "SOURCE": "scripts/make_sample_data.py"} if k == 0 else None)

    atomic_write(path, write)


def build_buildings(units: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Slab footprints on a lattice inside each compound polygon, sharing out its households and people."""
    compounds = units[(units["kind"] == "compound") & (units.geom_type == "Polygon")].sort_values("unit_id")
    rows = []
    for unit in compounds.itertuples():
        centres, (half_x, half_y) = building_lattice(unit.geometry, int(unit.buildings))
        shares = rng.dirichlet(np.full(len(centres), 4.0))
        households, population = share_out(unit.households, shares), share_out(unit.population, shares)
        for k, ((x, y), h, p) in enumerate(zip(centres, households, population, strict=True), start=1):
            rows.append({"unit_id": f"{unit.unit_id}-{k:02d}", "name": f"{unit.name}{k}栋", "households": h,
                         "population": p, "parent_unit": unit.unit_id,
                         "geometry": shapely.box(x - half_x, y - half_y, x + half_x, y + half_y)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)


def building_lattice(compound: Polygon, n: int) -> tuple[np.ndarray, tuple[float, float]]:
    """Return up to ``n`` slab centres on a lattice inside ``compound`` and the slab's half sizes."""
    minx, miny, maxx, maxy = compound.bounds
    step = math.sqrt(compound.area / max(n, 1))
    while True:
        xs = np.arange(minx + step / 2, maxx, step)
        ys = np.arange(maxy - step / 2, miny, -step * 0.7)
        grid_x, grid_y = np.meshgrid(xs, ys)
        half = (min(0.35 * step, 30.0), min(0.2 * step, 9.0))
        slabs = shapely.box(grid_x.ravel() - half[0], grid_y.ravel() - half[1], grid_x.ravel() + half[0],
                            grid_y.ravel() + half[1])
        inside = shapely.within(slabs, compound)
        if inside.sum() >= n or step < 8:
            centres = np.column_stack([grid_x.ravel(), grid_y.ravel()])[inside][:n]
            return np.round(centres, 2), half
        step *= 0.85


def share_out(total: int, shares: np.ndarray) -> list[int]:
    """``total`` split by ``shares`` into whole numbers that add up to it (largest remainders)."""
    exact = total * shares
    whole = np.floor(exact).astype(int)
    whole[np.argsort(whole - exact, kind="stable")[: total - whole.sum()]] += 1
    return whole.tolist()


def write_buildings(path: Path, buildings: gpd.GeoDataFrame) -> None:
    """The buildings layer in a GeoPackage of its own, pinned timestamps (byte-reproducible)."""
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GDAL_DATE})
    atomic_write(path, lambda tmp: pyogrio.write_dataframe(
        buildings.to_crs(STORAGE_CRS), tmp, layer="buildings", driver="GPKG", geometry_type="Polygon",
        layer_options={"DESCRIPTION": f"{CITY_NAME} buildings — FICTIONAL sample data"},
        metadata={"TITLE": f"{CITY_NAME} sample city (FICTIONAL)", "DESCRIPTION": FICTIONAL_NOTE,
                  "SOURCE": "scripts/make_sample_data.py"}))


def write_roads(path: Path, roads: list[dict]) -> None:
    """The street centre lines as one GeoPackage layer ``roads`` (pinned timestamps, byte-reproducible)."""
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GDAL_DATE})
    frame = gpd.GeoDataFrame(roads, geometry="geometry", crs=METRIC_CRS).to_crs(STORAGE_CRS)
    atomic_write(path, lambda tmp: pyogrio.write_dataframe(
        frame, tmp, layer="roads", driver="GPKG", geometry_type="LineString",
        layer_options={"DESCRIPTION": f"{CITY_NAME} roads — FICTIONAL sample data"},
        metadata={"TITLE": f"{CITY_NAME} sample city roads (FICTIONAL)", "DESCRIPTION": FICTIONAL_NOTE,
                  "SOURCE": "scripts/make_sample_data.py"}))


def write_cases(path: Path, cases: gpd.GeoDataFrame) -> None:
    """Cases as GeoParquet (zstd), coordinates rounded to 1e-6 degree (about 0.1 m)."""
    stored = cases.to_crs(STORAGE_CRS)
    xy = np.round(shapely.get_coordinates(stored.geometry.values), 6)
    stored = stored.set_geometry(gpd.points_from_xy(xy[:, 0], xy[:, 1], crs=STORAGE_CRS))
    buffer = io.BytesIO()
    stored.to_parquet(buffer, index=False, compression="zstd")
    table = pq.read_table(io.BytesIO(buffer.getvalue()))
    table = table.replace_schema_metadata({**table.schema.metadata, b"description": FICTIONAL_NOTE.encode()})
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def write_rest(out: Path, admin: dict, units, staff, cases, flaws: dict, gaps: dict) -> None:
    """Everything but the GeoPackage (written first: the grids of the roster are built from it)."""
    atomic_write(out / STAFF_NAME, lambda tmp: staff.to_csv(tmp, index=False, lineterminator="\n",
                                                             encoding="utf-8"))
    write_cases(out / CASES_NAME, cases)
    text = readme(admin, units, staff, cases, flaws, gaps)
    atomic_write(out / "README.md", lambda tmp: tmp.write_text(text, encoding="utf-8"))


def md_table(frame: pd.DataFrame) -> str:
    """A markdown table (hand-written: pandas' to_markdown needs the extra package tabulate)."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def readme(admin: dict, units, staff, cases, flaws: dict, gaps: dict) -> str:
    """The data folder's README, with the hierarchy and the deliberate flaws taken from the data itself."""
    comm = admin["communities"]
    streets = admin["streets"].assign(
        area_km2=lambda f: (f.area / 1e6).round(1),
        communities=lambda f: [int((comm["parent_code"] == c).sum()) for c in f["code"]])
    hierarchy = pd.concat([admin["districts"].assign(area_km2=(admin["districts"].area / 1e6).round(1),
                                                     communities=""), streets])
    hierarchy = hierarchy.sort_values("code")[["code", "name", "level", "kind", "area_km2", "communities"]]
    name_of = dict(zip(units["unit_id"], units["name"], strict=True))
    comm_name = dict(zip(comm["code"], comm["name"], strict=True))
    true_of = dict(zip(units["unit_id"], units["true_code"], strict=True))
    wrong = pd.DataFrame([(u, name_of[u], c, true_of[u]) for u, c in flaws["wrong"].items()],
                         columns=["unit_id", "name", "stored community_code", "true community_code"])
    straddle = pd.DataFrame([(u, name_of[u], true_of[u], comm_name[true_of[u]]) for u in flaws["straddlers"]],
                            columns=["unit_id", "name", "largest-overlap community", "community name"])
    gap_table = pd.DataFrame([(g, comm_name[g[:12]], what) for g, what in gaps.items()],
                             columns=["grid_code", "community", "gap"])
    small = units[(units["population"] < 100) & ~units["kind"].isin(["compound", "natural_village"])]
    kinds = units.assign(geometry_type=units.geom_type).groupby(["kind", "geometry_type"]).size()
    kinds = kinds.rename("rows").reset_index()
    return README_TEMPLATE.format(
        note=FICTIONAL_NOTE, seed=SEED, hierarchy=md_table(hierarchy), n_comm=len(comm),
        n_urban=int((comm["kind"] == "urban").sum()), n_rural=int((comm["kind"] == "rural").sum()),
        kinds=md_table(kinds), n_units=len(units), n_empty=len(flaws["empty"]), wrong=md_table(wrong),
        straddle=md_table(straddle), n_staff=len(staff), n_grids=staff["grid_code"].nunique(),
        gaps=md_table(gap_table), small=", ".join(f"{n} ({k}, {p})" for n, k, p in zip(
            small["name"], small["kind"], small["population"], strict=True)),
        n_cases=len(cases), categories=", ".join(CASE_CATEGORIES), hot=" and ".join(HOT_SPOTS))


README_TEMPLATE = """# 示例市 — gridmap's FICTIONAL sample city

**{note}.** Every name, code, person, phone number and case here is invented by
`scripts/make_sample_data.py` (seed {seed}); this README is written by that script — edit the template there.
The city sits around 22.8°N 108.3°E (Nanning's latitude) so that real map tiles look plausible underneath; it
may overlap real places, but it describes none of them. Load it with `gridmap.datasets.load_sample()`.

## Files

| file | layers | what |
|---|---|---|
| `sample_city.gpkg` | `districts`, `streets`, `communities` | administrative polygons, EPSG:4490 |
| `sample_city.gpkg` | `units` (Polygon), `unit_points` (Point) | base units, same columns (note 1) |
| `roads.gpkg` | `roads` (LineString) | street centre lines of the road lattices (note 2), EPSG:4490 |
| `staff.csv` | — | grid staff roster, UTF-8, no geometry |
| `cases.parquet` | — | GeoParquet points (WKB, zstd), EPSG:4490, coordinates rounded to 1e-6° |
| `buildings.gpkg` | `buildings` (Polygon) | buildings (楼栋) of the compounds, for micro-grids (note 3) |

Note 1: a GeoPackage layer holds one geometry type, so polygon and point units are two layers;
`load_sample()` joins them into one frame sorted by `unit_id`.

Note 2: `road_id`, `name` (纵N路 / 横N路), `kind` (主干道 arterial / 支路 branch road), `width_m`; the
compounds lie in the blocks between them. `gridmap build ... --barriers data/sample/roads.gpkg` makes grids
that follow them.

Note 3: slab footprints on a lattice inside each compound polygon, as many as the compound's `buildings`;
columns `unit_id` (compound id + `-NN`), `name` (…栋), `households` and `population` (the compound's, shared
out), `parent_unit` (the compound). Villages and point compounds have none. `gridmap microgrids --grids
demo/gridmap.gpkg --buildings data/sample/buildings.gpkg --out micro.gpkg` divides the grids into micro-grids.

Reproducible: running the script twice gives byte-identical files with the same library versions (the
GeoPackage timestamps are pinned by GDAL's `OGR_CURRENT_DATE`; no file records the time it was written). Other
GEOS/GDAL/Arrow versions may change the last digits of coordinates.

## How it was made

A wobbly disc is the city; an urban core cut from its north-west edge is split by a meandering line into
two districts, the rest is the county. Districts and towns are split into streets and communities with
Lloyd-relaxed Voronoi cells clipped to their parent (EPSG:4545, metres); each town gets a small town-centre
社区 with its 村 around it. All community boundaries are then noded together on a 1 cm grid, so neighbours
share exactly the same vertices (`shapely.coverage_is_valid` holds on every level), and streets, districts
and the city are the coverage union of their children. Compounds and dedicated sites are quads inside the
blocks of a rotated road lattice, so roads separate them; natural villages are points at least 450 m apart
inside the 村, 40 of them small polygons.

## Hierarchy ({n_comm} communities: {n_urban} urban 社区, {n_rural} rural 村)

{hierarchy}

Admin layer columns: `code` (str; 6, 9 or 12 digits, starting with its parent's code), `name`, `level`
(district / street / community), `parent_code` (str; `9901` for districts), `kind` (urban / rural).
Street digits: 001–099 街道, 100–199 镇, 200–399 乡; community digits: 001–199 社区, 200–399 村.

## Units ({n_units} rows)

{kinds}

Columns: `unit_id` (str: `C0001` compounds, `V0001` natural villages, `S0001` dedicated sites), `name`, `kind`
(`gridmap.schema.UNIT_KINDS`), `households` (0 for dedicated sites; compounds 50–3,000), `population` (2.5–3.2
per household for compounds and natural villages; people working or studying there for sites), `buildings`,
`community_code` (str or missing). Sites with fewer than 100 people (for rules that skip them): {small}.

Deliberate flaws, so that checks have something to find:

* `community_code` is missing for {n_empty} units (10%).
* `community_code` is wrong (a neighbouring community) for exactly these units:

{wrong}

* these compounds straddle a community boundary (their `community_code`, when present, is the community
  with the largest overlap):

{straddle}

## Staff ({n_staff} rows, {n_grids} grids)

One team per grid that gridmap builds from this sample, `gridmap.build_grids(city.communities,
city.units)`, coded as a registry codes them first: the temporary code `<community>-NNN` without the dash
(`990102001001-002` becomes `990102001001002`), as `gridmap demo` registers them. Columns: `grid_code`,
`community_code`, `role` (instructor / leader / full_time / member), `name` (invented), `phone`
(`199-0000-nnnn`, fake). Every grid follows 1+1+1+N (one instructor — a community cadre instructs up to
three grids of its community —, one leader, one full-time worker, one to three members) except:

{gaps}

## Cases ({n_cases} rows)

Columns: `case_id` (str), `reported_at`, `accepted_at` (missing: not accepted), `closed_at` (missing:
open) — naive China Standard Time (UTC+8); reported in 2025, extracted at 2025-12-31 23:59:59 —,
`category` ({categories}), `status` (open / closed), `level` where it was settled (grid / community /
street / district, mostly grid), `count` (1, occasionally 2–6). Cases lie mostly in compounds and natural
villages, with hot spots around {hot}; disputes peak around the Spring Festival and sanitation in summer.
About 90% are accepted the same day.
"""


def generate(out: Path, seed: int = SEED) -> None:
    """Build every layer from seeded generators and write them to ``out`` (the roster after the GPKG)."""
    rng = np.random.default_rng(seed)
    centre = Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True).transform(*CENTRE_LONLAT)
    admin = build_admin(rng, centre)
    roads: list[dict] = []
    compounds, sites = build_urban_units(admin, rng, roads)
    parks = rural_sites(admin, rng)
    park_shapes = [p["geometry"] for p in parks]
    hamlets = build_hamlets(admin, park_shapes, rng)
    points = village_point_sites(admin, hamlets, park_shapes, rng)
    units, flaws = finish_units(compounds, hamlets, sites + parks + points, admin, rng)
    city = shapely.coverage_union_all(admin["districts"].geometry.values)
    cases = build_cases(units, admin["communities"], city, rng)
    out.mkdir(parents=True, exist_ok=True)
    write_gpkg(out / GPKG_NAME, admin, units)
    write_roads(out / ROADS_NAME, roads)
    grids = built_grids(out / GPKG_NAME)
    staff, gaps = build_staff(grids, np.random.default_rng([seed, STAFF_STREAM]))
    write_rest(out, admin, units, staff, cases, flaws, gaps)
    buildings = build_buildings(units, np.random.default_rng([seed, BUILDINGS_STREAM]))
    write_buildings(out / BUILDINGS_NAME, buildings)
    add_readme_section(out, generate_roster(out, grids, seed))  # roster.csv, liaison.csv (issue 20)
    add_readme_section(out, generate_org(out, grids, seed))  # party.csv, centres.gpkg (issue 20)
    add_readme_section(out, generate_escalation(out, grids, seed))  # case_steps.csv, case_feedback.csv
    add_readme_section(out, generate_zones(out, grids, seed))  # sites.gpkg, footpaths.gpkg
    add_readme_section(out, generate_patrols(out, grids, seed))  # patrols.parquet, patrol_checkins.csv


def add_readme_section(out: Path, lines: list[str]) -> None:
    """Append the section a ``sample_*.py`` generator returns to the README (written by write_rest)."""
    text = ((out / "README.md").read_text(encoding="utf-8").rstrip("\n") + "\n\n"
            + "\n".join(lines).rstrip() + "\n")
    atomic_write(out / "README.md", lambda tmp: tmp.write_text(text, encoding="utf-8"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: data/sample)")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    start = time.perf_counter()
    generate(args.out, args.seed)
    sizes = {p.name: p.stat().st_size for p in sorted(args.out.iterdir()) if p.is_file()}
    for name, size in sizes.items():
        log.info("%-18s %9d bytes", name, size)
    log.info("wrote %s (%d files, %d bytes, %.1f s)", args.out, len(sizes), sum(sizes.values()),
             time.perf_counter() - start)


if __name__ == "__main__":
    main()
