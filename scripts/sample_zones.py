"""Sample sensitive sites (for patrol zones) and a footpath network of one street (for walking circles).

Called by ``scripts/make_sample_data.py`` after the sample city, roads and buildings are written:
:func:`generate_zones` writes ``sites.gpkg`` and ``footpaths.gpkg`` into the sample folder and returns the
README section describing them. Random draws come from ``np.random.default_rng([seed, STREAM])`` only, so the
other sample files do not change when this one does.

* ``sites.gpkg`` (layer ``sites``, points and outlines in one layer): the sample's schools, hospitals and
  markets (their unit ids and outlines), with a kind word read from their names, plus sites added here: two
  kindergartens and a branch school close enough for their zones to merge (with each other, with the main
  school), a railway and a bus station, the city entrances where
  arterial roads leave the urban districts, and a complex public-order area around 朝阳农贸市场.
* ``footpaths.gpkg`` (layer ``footpaths``): the road centre lines of 民主街道 cut to the street, footpaths
  through some of its compounds, one footpath drawn twice (as survey data often is) and a park loop joined to
  no road (a part of the network the walking circles never reach).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import shapely.ops
from shapely.geometry import LineString, Point

import gridmap
from gridmap.io._atomic import atomic_path

__all__ = ["generate_zones", "STREAM"]

STREAM = 7  # this generator's stream: default_rng([seed, STREAM])
SITES_NAME, FOOTPATHS_NAME = "sites.gpkg", "footpaths.gpkg"
METRIC_CRS, STORAGE_CRS = "EPSG:4545", "EPSG:4490"
# as in make_sample_data.py (which imports this module, so it cannot be imported from here)
FIXED_GDAL_DATE = "2025-01-01T00:00:00.000Z"  # pins the GeoPackage timestamps
FICTIONAL_NOTE = "示例市 is a FICTIONAL city (province prefix 99 does not exist); sample data of gridmap"
FOOTPATH_STREET = "990102001"  # 民主街道: the street whose footpaths are drawn
URBAN_DISTRICTS = ("990102", "990103")
KINDERGARTEN_GAP_M = 220.0  # two kindergartens this far apart: their 150 m zones overlap and merge
BRANCH_GAP_M = 300.0  # a branch school this far from its main site: their 200 m zones overlap and merge

#: The kind word of a sample site, read from the end of its name (first match), else from its unit kind.
NAME_WORDS = (("幼儿园", "幼儿园"), ("小学", "小学"), ("中学", "中学"), ("教学点", "教学点"),
              ("学校", "学校"), ("卫生院", "卫生院"), ("卫生服务中心", "社区卫生服务中心"),
              ("卫生服务站", "卫生服务站"), ("保健院", "妇幼保健院"), ("医院", "医院"),
              ("农贸市场", "农贸市场"), ("批发市场", "批发市场"), ("商圈", "商圈"), ("商业街", "商业街"))
KIND_WORDS = {"school": "学校", "hospital": "医院", "market": "市场"}


def generate_zones(out: Path, grids: gpd.GeoDataFrame, seed: int) -> list[str]:
    """Write ``sites.gpkg`` and ``footpaths.gpkg`` into ``out``; return the README section about them."""
    rng = np.random.default_rng([seed, STREAM])
    city = out / "sample_city.gpkg"
    units = pd.concat([pyogrio.read_dataframe(city, layer=layer) for layer in ("units", "unit_points")],
                      ignore_index=True).sort_values("unit_id", ignore_index=True).to_crs(METRIC_CRS)
    admin = {layer: pyogrio.read_dataframe(city, layer=layer).to_crs(METRIC_CRS)
             for layer in ("districts", "streets", "communities")}
    roads = pyogrio.read_dataframe(out / "roads.gpkg").to_crs(METRIC_CRS)
    sites = build_sites(units, admin, roads, rng)
    paths = build_footpaths(units, admin["streets"], roads, rng)
    write_layer(out / SITES_NAME, sites, "sites", "Unknown")
    write_layer(out / FOOTPATHS_NAME, paths, "footpaths", "LineString")
    return readme_lines(sites, paths, grids)


# --- sites --------------------------------------------------------------------------------------------------

def build_sites(units: gpd.GeoDataFrame, admin: dict, roads: gpd.GeoDataFrame,
                rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The sample's schools, hospitals and markets, and the sites added here (ids K01 …)."""
    known = units[units["kind"].isin(list(KIND_WORDS))]
    rows = [{"site_id": row.unit_id, "name": row.name, "kind": site_word(row.name, row.kind),
             "geometry": row.geometry} for row in known.itertuples()]
    added = (kindergartens(units, rng) + [branch_school(units, rng)] + stations(admin, roads, rng)
             + city_entrances(admin, roads) + complex_area(units))
    rows += [{"site_id": f"K{k + 1:02d}", **row} for k, row in enumerate(added)]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)


def site_word(name: str, kind: str) -> str:
    """The kind word of a sample site: from the end of its name, else from its unit kind."""
    return next((word for suffix, word in NAME_WORDS if name.endswith(suffix)), KIND_WORDS[kind])


def kindergartens(units: gpd.GeoDataFrame, rng: np.random.Generator) -> list[dict]:
    """Two kindergartens KINDERGARTEN_GAP_M apart beside a compound of 民主街道 (their zones merge)."""
    compounds = units[(units["kind"] == "compound") & units.geom_type.eq("Polygon")
                      & units["community_code"].fillna("").str.startswith(FOOTPATH_STREET)]
    first = compounds.geometry.iat[int(rng.integers(len(compounds)))].representative_point()
    angle = rng.uniform(0, 2 * np.pi)
    second = Point(first.x + KINDERGARTEN_GAP_M * np.cos(angle), first.y + KINDERGARTEN_GAP_M * np.sin(angle))
    return [{"name": "阳光幼儿园", "kind": "幼儿园", "geometry": first},
            {"name": "红星幼儿园", "kind": "幼儿园", "geometry": second}]


def branch_school(units: gpd.GeoDataFrame, rng: np.random.Generator) -> dict:
    """A branch of 民主路小学 BRANCH_GAP_M from its main site: their 200 m school zones merge."""
    main = units.loc[units["name"] == "民主路小学", "geometry"].iat[0].representative_point()
    angle = rng.uniform(0, 2 * np.pi)
    where = Point(main.x + BRANCH_GAP_M * np.cos(angle), main.y + BRANCH_GAP_M * np.sin(angle))
    return {"name": "民主路小学分校", "kind": "小学", "geometry": where}


def stations(admin: dict, roads: gpd.GeoDataFrame, rng: np.random.Generator) -> list[dict]:
    """A railway station beside an arterial road of 江南街道 and a bus station in 城关镇's town centre."""
    street = admin["streets"].set_index("code").geometry["990103002"]
    arterial = roads[(roads["kind"] == "主干道") & roads.intersects(street)].sort_values("road_id")
    road = arterial.geometry.iat[int(rng.integers(len(arterial)))].intersection(street)
    road = max(shapely.get_parts(road), key=lambda part: part.length)
    middle = road.interpolate(0.5, normalized=True)
    ahead = road.interpolate(min(road.length, road.project(middle) + 1))
    dx, dy = ahead.x - middle.x, ahead.y - middle.y
    norm = np.hypot(dx, dy)
    railway = Point(middle.x - 60 * dy / norm, middle.y + 60 * dx / norm)  # 60 m off the road
    towns = admin["communities"]
    centre = towns[(towns["parent_code"] == "990121100") & (towns["kind"] == "urban")].geometry.iat[0]
    return [{"name": "示例市火车站", "kind": "火车站", "geometry": railway},
            {"name": "城关镇汽车站", "kind": "汽车站", "geometry": centre.representative_point()}]


def city_entrances(admin: dict, roads: gpd.GeoDataFrame) -> list[dict]:
    """Where arterial roads reach the edge of the urban districts: the easternmost and northernmost one."""
    districts = admin["districts"]
    core = shapely.union_all(districts[districts["code"].isin(URBAN_DISTRICTS)].geometry.values)
    arterial = roads[roads["kind"] == "主干道"]
    ends = shapely.get_parts(shapely.intersection(arterial.geometry.values, core.boundary.buffer(5)))
    points = [part.centroid for part in ends if not part.is_empty]
    east = max(points, key=lambda p: (p.x, p.y))
    north = max(points, key=lambda p: (p.y, p.x))
    return [{"name": "东入城口", "kind": "入城口", "geometry": east},
            {"name": "北入城口", "kind": "入城口", "geometry": north}]


def complex_area(units: gpd.GeoDataFrame) -> list[dict]:
    """A 350 m square around 朝阳农贸市场 (the sample's case hot spot): a complex public-order area."""
    market = units.loc[units["name"] == "朝阳农贸市场", "geometry"].iat[0].centroid
    square = shapely.box(market.x - 175, market.y - 175, market.x + 175, market.y + 175)
    return [{"name": "朝阳农贸市场周边", "kind": "治安复杂区", "geometry": square}]


# --- footpaths ----------------------------------------------------------------------------------------------

def build_footpaths(units: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, roads: gpd.GeoDataFrame,
                    rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The street's road centre lines, footpaths through eight compounds, a duplicate and a park loop."""
    street = streets.set_index("code").geometry[FOOTPATH_STREET]
    rows = []
    for road in roads.sort_values("road_id").itertuples():
        for part in shapely.get_parts(road.geometry.intersection(street)):
            if part.geom_type == "LineString" and part.length > 1:
                rows.append({"name": road.name, "kind": "道路", "geometry": part})
    lines = np.array([row["geometry"] for row in rows], dtype=object)
    compounds = units[(units["kind"] == "compound") & units.geom_type.eq("Polygon")
                      & units.representative_point().within(street)]
    for k in sorted(rng.choice(len(compounds), size=min(8, len(compounds)), replace=False).tolist()):
        path = cut_through(compounds.geometry.iat[k].representative_point(), lines)
        if path is not None:
            rows.append({"name": f"{compounds['name'].iat[k]}内部步道", "kind": "步道", "geometry": path})
    footpaths = [row for row in rows if row["kind"] == "步道"]
    if footpaths:
        rows.append(dict(footpaths[0]))  # the same footpath drawn twice
    rows.append({"name": "民主公园环形步道", "kind": "步道", "geometry": park_loop(street, lines, rng)})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)
    frame.insert(0, "path_id", [f"F{k + 1:03d}" for k in range(len(frame))])
    return frame


def cut_through(centre: Point, lines: np.ndarray) -> LineString | None:
    """A footpath from the nearest road through ``centre`` to the nearest road on its other side."""
    distance = shapely.distance(lines, centre)
    first = int(np.argmin(distance))
    start = shapely.ops.nearest_points(lines[first], centre)[0]
    towards = np.array([start.x - centre.x, start.y - centre.y])
    for k in np.argsort(distance, kind="stable")[1:]:
        end = shapely.ops.nearest_points(lines[k], centre)[0]
        if np.dot(towards, [end.x - centre.x, end.y - centre.y]) < 0:  # on the other side
            return LineString([start, centre, end])
    return None


def park_loop(street, lines: np.ndarray, rng: np.random.Generator) -> LineString:
    """A ring path around the point of the street farthest from every road (of 200 tries), touching none."""
    minx, miny, maxx, maxy = street.bounds
    tries = shapely.points(rng.uniform(minx, maxx, 200), rng.uniform(miny, maxy, 200))
    tries = tries[shapely.within(tries, street.buffer(-80))]
    clear = shapely.distance(tries[:, None], lines[None, :]).min(axis=1)
    best = int(np.argmax(clear))
    radius = min(60.0, 0.6 * float(clear[best]))
    return LineString(tries[best].buffer(radius, quad_segs=6).exterior.coords)


# --- writing and the README ---------------------------------------------------------------------------

def write_layer(path: Path, frame: gpd.GeoDataFrame, layer: str, geometry_type: str) -> None:
    """One layer in a GeoPackage of its own, EPSG:4490, pinned timestamps (byte-reproducible), atomically."""
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GDAL_DATE})
    with atomic_path(path) as tmp:
        pyogrio.write_dataframe(frame.to_crs(STORAGE_CRS), tmp, layer=layer, driver="GPKG",
                                geometry_type=geometry_type,
                                layer_options={"DESCRIPTION": f"示例市 {layer} — FICTIONAL sample data"},
                                metadata={"TITLE": "示例市 sample city (FICTIONAL)",
                                          "DESCRIPTION": FICTIONAL_NOTE, "SOURCE": "scripts/sample_zones.py"})


def readme_lines(sites: gpd.GeoDataFrame, paths: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> list[str]:
    """The README section: the two files, the sites by kind, the zones that merge, the footpaths."""
    stored = sites.to_crs(STORAGE_CRS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gridmap.GridmapWarning)
        zones = gridmap.patrol_zones(stored)
        coverage = gridmap.zone_coverage(zones, grids)
    kinds = stored.assign(type=stored.geom_type).groupby(["kind", "type"]).size().rename("sites")
    merged = zones[zones["n_sites"] > 1][["zone_id", "kind_zh", "radius_m", "site_ids", "site_names"]]
    entered = coverage.table.loc[coverage.table["level"] == "grid", "code"].nunique()
    twice = paths[paths.duplicated(subset=["name", "kind"], keep=False) & (paths["kind"] == "步道")]
    loop = paths.loc[paths["name"] == "民主公园环形步道", "path_id"].iat[0]
    count = paths["kind"].value_counts()
    return [
        "## Patrol-zone sites and footpaths",
        "",
        "Written by `scripts/sample_zones.py` (generator `default_rng([seed, 7])`).",
        "",
        "| file | layers | what |",
        "|---|---|---|",
        f"| `{SITES_NAME}` | `sites` (Point and Polygon) | {len(sites)} sensitive sites for patrol zones "
        "(巡控网格) |",
        f"| `{FOOTPATHS_NAME}` | `footpaths` (LineString) | roads and footpaths of 民主街道 for walking "
        "circles |",
        "",
        "Sites: columns `site_id` (the unit id of the sample's schools, hospitals and markets, `K01`… "
        "for the sites added here), `name`, `kind` (a word of `gridmap.schema.SITE_KIND_WORDS`, read "
        "from the name), and the outline of polygon units or a point:",
        "",
        md_table(kinds.reset_index()),
        "",
        f"With the default radii (`gridmap.schema.SITE_RADII_M`) they make {len(zones)} patrol zones "
        f"entering {entered} grids; these zones merge sites whose zones touch (`gridmap zones --sites "
        "data/sample/sites.gpkg --grids demo/gridmap.gpkg --out zones.gpkg`):",
        "",
        md_table(merged),
        "",
        f"Footpaths: columns `path_id`, `name`, `kind` (道路: a road centre line of `roads.gpkg` cut to "
        f"the street, {count['道路']} pieces; 步道: a footpath, {count['步道']}), EPSG:4490. The "
        f"footpaths cut through compounds from one road to the next; {' and '.join(twice['path_id'])} "
        f"are one path drawn twice, and {loop} is a park loop joined to no road, which walking circles "
        "never reach. The service centres the circles start from are `centres.gpkg` (written by the "
        "organisation generator): `gridmap circles --centres data/sample/centres.gpkg --roads "
        "data/sample/footpaths.gpkg --units data/sample/sample_city.gpkg` walks along these paths; "
        "centres outside 民主街道 lie far from them (a warning says so): give `--roads "
        "data/sample/roads.gpkg` for the whole urban area, or no roads for straight-line circles.",
        "",
    ]


def md_table(frame: pd.DataFrame) -> str:
    """A markdown table (as make_sample_data writes them)."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
