"""A tiny city near Nanning (22.8°N, 108.3°E) for map tests: 1 district, 2 streets, 4 communities, 5 units.

Layout (degrees): the district is the box 108.30–108.34 E × 22.80–22.84 N; street 001 is its west half,
street 002 its east half; each street has a south and a north community. Units: two compounds and a school
as polygons, a hospital and a natural village as points. Unit U2 has a name that would run code if a page
inserted it as HTML.
"""

import geopandas as gpd
from shapely.geometry import Point, box

XSS_NAME = "<img src=x onerror=alert(1)>"

COMMUNITIES = {  # code: (name, kind, box)
    "450102001001": ("翠竹社区", "urban", (108.30, 22.80, 108.32, 22.82)),
    "450102001002": ("兴宁社区", "urban", (108.30, 22.82, 108.32, 22.84)),
    "450102002001": ("朝阳社区", "urban", (108.32, 22.80, 108.34, 22.82)),
    "450102002201": ("那坡村", "rural", (108.32, 22.82, 108.34, 22.84)),
}

UNITS = {  # unit_id: (name, kind, households, population, buildings, geometry)
    "U1": ("翠竹苑", "compound", 420, 1250, 12, box(108.303, 22.803, 108.308, 22.808)),
    "U2": (XSS_NAME, "compound", 310, 900, 8, box(108.323, 22.803, 108.328, 22.808)),
    "U3": ("市第一人民医院", "hospital", 0, 0, 3, Point(108.315, 22.835)),
    "U4": ("那坡屯", "natural_village", 95, 330, 40, Point(108.335, 22.835)),
    "U5": ("兴宁小学", "school", 0, 0, 4, box(108.305, 22.825, 108.309, 22.828)),
}


def small_city(crs: str = "EPSG:4326") -> dict[str, gpd.GeoDataFrame]:
    """Return the layers as keyword arguments for ``overview_map``."""
    districts = gpd.GeoDataFrame({"code": ["450102"], "name": ["兴宁区"], "level": ["district"]},
                                 geometry=[box(108.30, 22.80, 108.34, 22.84)], crs="EPSG:4326")
    streets = gpd.GeoDataFrame({"code": ["450102001", "450102002"], "name": ["民生街道", "朝阳街道"],
                                "level": ["street", "street"], "parent_code": ["450102", "450102"]},
                               geometry=[box(108.30, 22.80, 108.32, 22.84),
                                         box(108.32, 22.80, 108.34, 22.84)], crs="EPSG:4326")
    communities = gpd.GeoDataFrame(
        {"code": list(COMMUNITIES), "name": [v[0] for v in COMMUNITIES.values()],
         "level": ["community"] * 4, "parent_code": [code[:9] for code in COMMUNITIES],
         "kind": [v[1] for v in COMMUNITIES.values()]},
        geometry=[box(*v[2]) for v in COMMUNITIES.values()], crs="EPSG:4326")
    units = gpd.GeoDataFrame(
        {"unit_id": list(UNITS), "name": [v[0] for v in UNITS.values()],
         "kind": [v[1] for v in UNITS.values()],
         "households": [v[2] for v in UNITS.values()], "population": [v[3] for v in UNITS.values()],
         "buildings": [v[4] for v in UNITS.values()]},
        geometry=[v[5] for v in UNITS.values()], crs="EPSG:4326")
    layers = {"districts": districts, "streets": streets, "communities": communities, "units": units}
    return {name: frame.to_crs(crs) for name, frame in layers.items()}


def small_grids() -> gpd.GeoDataFrame:
    """Grids of the tiny city built by gridmap.division (five grids; U2's name would run code as HTML)."""
    import warnings

    from gridmap.division import build_grids
    from gridmap.errors import GridmapWarning

    layers = small_city()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)
        grids = build_grids(layers["communities"], layers["units"]).grids
    return grids.assign(code=grids["code"].str.replace("-", "", regex=False))


_SAMPLE = {}


def sample_city():
    """The sample city 示例市 and its grids with sequential codes (built once per test session)."""
    if not _SAMPLE:
        import warnings

        from gridmap.codes import assign_sequential_codes
        from gridmap.datasets import load_sample
        from gridmap.division import build_grids
        from gridmap.errors import GridmapWarning

        city = load_sample()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GridmapWarning)
            built = build_grids(city.communities, city.units)
        _SAMPLE["city"] = city
        _SAMPLE["grids"] = assign_sequential_codes(built.grids.drop(columns="code"))
    return _SAMPLE["city"], _SAMPLE["grids"]
