"""A tiny city near Nanning (22.8°N, 108.3°E) for map tests: 1 district, 2 streets, 4 communities, 5 units.

Layout (degrees): the district is the box 108.30–108.34 E × 22.80–22.84 N; street 001 is its west half,
street 002 its east half; each street has a south and a north community. Units: two compounds and a school
as polygons, a hospital and a natural village as points. Unit U2 has a name that would run code if a page
inserted it as HTML.

``sample_city()`` is the bundled sample city with its grids; ``poisoned_city()`` is the same city with a
payload (:data:`PAYLOADS`) in every text field, for tests/test_html_safety.py.
"""

import re

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
        import cases_fixtures

        from gridmap.codes import assign_sequential_codes

        _SAMPLE["city"] = cases_fixtures.sample_city()
        _SAMPLE["grids"] = assign_sequential_codes(cases_fixtures.sample_grids().drop(columns="code"))
    return _SAMPLE["city"], _SAMPLE["grids"]


#: Text that would run code, load something or change what is shown if a page put it in as HTML, as script,
#: as a link or as a template. tests/test_html_safety.py puts one into every text field of the sample city.
PAYLOADS = {
    "img": '<img src=x onerror="window.__pwned=1">',
    "script": "</script><script>window.__pwned=1</script>",
    "attribute": '"><svg onload=window.__pwned=1>',
    "svg": "<svg/onload=window.__pwned=1>",
    "js_url": "javascript:window.__pwned=1//",
    "jinja": "{{7*7}}{%print(7*6)%}{#",
    "separators": "\u2028window.__pwned=1\u2029",
    "quotes": "'-alert(1)-'\"-alert(2)-\"\\'-alert(3)//",
    "comment": "--><!--<script>window.__pwned=1//",
    "template": "`${window.__pwned=1}`",
}
#: Every payload in one text: for options that take a single text (titles, layer names).
MIXED = "".join(PAYLOADS.values())
#: Fields that hold personal data (never in a page meant for publication; case fields never in any page).
PERSONAL = ("staff_name", "staff_phone", "staff_id_number", "case_description", "case_address",
            "case_reporter", "case_reporter_phone", "case_id_number")
#: A poisoned value is its payload followed by a marker «field.record» that names where it came from.
MARKER = re.compile(r"«([a-z_]+)\.(\d+)»")
_LISTED = re.compile(r"[;,，；、|\s]")  # separators of a grid's unit_ids (ids are poisoned without them)


def poison(field: str, i: int, *, listed: bool = False, mixed: bool = False) -> str:
    """Record ``i`` of ``field`` poisoned: a payload (chosen by record and field, or all), then a marker."""
    if mixed:
        return f"{MIXED}«{field}.{i}»"
    keys = [key for key, text in PAYLOADS.items() if not (listed and _LISTED.search(text))]
    return f"{PAYLOADS[keys[(i + sum(map(ord, field))) % len(keys)]]}«{field}.{i}»"


def payloads_of(text: str) -> list[str]:
    """The payload keys of a poisoned text."""
    if text.startswith(MIXED + "«"):
        return list(PAYLOADS)
    return [next(key for key, payload in PAYLOADS.items() if text.startswith(payload + "«"))]


def _poisoned(values, field: str, every: int = 1, *, listed: bool = False) -> list:
    return [poison(field, i, listed=listed) if i % every == 0 else value for i, value in enumerate(values)]


_POISONED = {}


def poisoned_city(*, codes: bool = True) -> dict:
    """The sample city with every text field poisoned (built once per session for each ``codes``).

    Names of districts, streets, communities, grids and units, community kinds, every ninth unit kind,
    every fifth unit id, every tenth grid type, staff names, phones and ID numbers, and case categories,
    descriptions, addresses, reporters and ID numbers. With ``codes``, every tenth grid code too (the staff
    roster follows). Returns the layers by name (``grids``, ``districts``, ``streets``, ``communities``,
    ``units``, ``staff``, ``cases``).
    """
    if codes not in _POISONED:
        city, grids = sample_city()
        units = city.units.assign(unit_id=_poisoned(city.units["unit_id"], "unit_id", 5, listed=True),
                                  name=_poisoned(city.units["name"], "unit_name"),
                                  kind=_poisoned(city.units["kind"], "unit_kind", 9))
        renamed = dict(zip(city.units["unit_id"], units["unit_id"], strict=True))
        grids = grids.assign(name=_poisoned(grids["code"], "grid_name"),
                             type=_poisoned(grids["type"], "grid_type", 10),
                             unit_ids=[";".join(renamed.get(u, u) for u in str(ids).split(";"))
                                       for ids in grids["unit_ids"]])
        staff = city.staff.assign(name=_poisoned(city.staff["name"], "staff_name"),
                                  phone=_poisoned(city.staff["phone"], "staff_phone"),
                                  id_number=_poisoned(city.staff["phone"], "staff_id_number"))
        if codes:
            coded = _poisoned(grids["code"], "grid_code", 10)
            recoded = dict(zip(grids["code"], coded, strict=True))
            grids = grids.assign(code=coded)
            staff = staff.assign(grid_code=staff["grid_code"].map(lambda code: recoded.get(code, code)))
        cases = city.cases.assign(**{column: _poisoned(city.cases["case_id"], f"case_{column}") for column in
                                     ("category", "description", "address", "reporter", "reporter_phone",
                                      "id_number")})
        _POISONED[codes] = {
            "districts": city.districts.assign(name=_poisoned(city.districts["name"], "district_name")),
            "streets": city.streets.assign(name=_poisoned(city.streets["name"], "street_name")),
            "communities": city.communities.assign(name=_poisoned(city.communities["name"], "community_name"),
                                                   kind=_poisoned(city.communities["kind"], "community_kind",
                                                                  2)),
            "units": units, "grids": grids, "staff": staff, "cases": cases}
    return _POISONED[codes]
