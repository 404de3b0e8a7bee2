"""Tests of the fictional sample city (data/sample, written by scripts/make_sample_data.py) and its loader."""

import math
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from cases_fixtures import sample_build, sample_build_warnings, sample_grids

from gridmap.codes import Registry
from gridmap.datasets import load_sample, sample_path
from gridmap.errors import GridmapError, ReadError
from gridmap.io.city import City
from gridmap.schema import DEDICATED_KINDS, HANDLING_LEVELS, STAFF_ROLES, UNIT_KINDS

ROOT = Path(__file__).resolve().parents[1]
METRIC = "EPSG:4545"  # CGCS2000 3-degree Gauss-Kruger CM 108E, the zone of the sample city
ADMIN = ("districts", "streets", "communities")
RESIDENTIAL = ("compound", "natural_village")


@pytest.fixture(scope="module")
def city() -> City:
    return load_sample()


@pytest.fixture(scope="module")
def metric(city) -> dict:
    """Every spatial layer in metres."""
    return {name: getattr(city, name).to_crs(METRIC) for name in (*ADMIN, "units", "cases")}


@pytest.fixture(scope="module")
def readme(city) -> str:
    return (city.path / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def true_codes(metric) -> pd.Series:
    """Each unit's community from geometry alone: the one holding a point, or most of a polygon."""
    comm, units = metric["communities"], metric["units"]
    codes = []
    for geom in units.geometry:
        if geom.geom_type == "Point":
            hits = comm["code"][comm.contains(geom)]
            codes.append(hits.iat[0] if len(hits) else None)
        else:
            codes.append(comm["code"].iat[int(np.argmax(comm.intersection(geom).area.to_numpy()))])
    return pd.Series(codes, index=units.index)


def readme_table(text: str, header: str) -> pd.DataFrame:
    """The markdown table of the data README whose header row starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return pd.DataFrame(rows[2:], columns=rows[0])


def overlapping_pairs(frame: gpd.GeoDataFrame, min_area: float) -> list[tuple[int, int, float]]:
    """Pairs of rows of ``frame`` (metric CRS) whose intersection is larger than ``min_area`` m²."""
    left, right = frame.sindex.query(frame.geometry, predicate="intersects")
    keep = left < right
    geoms = frame.geometry.values
    areas = shapely.area(shapely.intersection(geoms[left[keep]], geoms[right[keep]]))
    pairs = zip(left[keep], right[keep], areas, strict=True)
    return [(int(a), int(b), float(s)) for a, b, s in pairs if s > min_area]


# ------------------------------------------------------------------ loader


def test_every_layer_is_loaded_in_cgcs2000(city):
    assert city.path == sample_path() == ROOT / "data" / "sample"
    for name in (*ADMIN, "units", "cases"):
        frame = getattr(city, name)
        assert isinstance(frame, gpd.GeoDataFrame)
        assert frame.crs.to_epsg() == 4490, name
    assert not isinstance(city.staff, gpd.GeoDataFrame)
    layers = (*ADMIN, "units", "staff", "cases")
    assert city.summary()["rows"].tolist() == [len(getattr(city, n)) for n in layers]


def test_repr_shows_a_summary_table(city):
    text = repr(city)
    assert "fictional" in text and "EPSG:4490" in text
    assert all(layer in text for layer in (*ADMIN, "units", "staff", "cases"))
    page = city._repr_html_()
    assert "<table" in page and "communities" in page and "20000" in page


def test_load_sample_reads_a_folder_given_by_path(tmp_path, city):
    for name in ("sample_city.gpkg", "staff.csv", "cases.parquet"):
        shutil.copy(city.path / name, tmp_path / name)
    other = load_sample(path=tmp_path)
    assert other.path == tmp_path
    assert other.communities["code"].tolist() == city.communities["code"].tolist()


def test_missing_folder_says_how_to_generate_it(tmp_path):
    with pytest.raises(ReadError, match=r"does not exist.*make_sample_data\.py"):
        load_sample(path=tmp_path / "nowhere")


def test_missing_file_is_named(tmp_path, city):
    shutil.copy(city.path / "sample_city.gpkg", tmp_path / "sample_city.gpkg")
    with pytest.raises(ReadError, match=r"staff\.csv: the sample city is incomplete.*make_sample_data\.py"):
        load_sample(path=tmp_path)


@pytest.mark.parametrize("broken, where", [("cases.parquet", r"cases\.parquet"),
                                           ("sample_city.gpkg", r"sample_city\.gpkg, layer districts")])
def test_corrupt_file_raises_read_error(tmp_path, city, broken, where):
    for name in ("sample_city.gpkg", "staff.csv", "cases.parquet"):
        shutil.copy(city.path / name, tmp_path / name)
    (tmp_path / broken).write_bytes(b"not a data file")
    with pytest.raises(GridmapError, match=where + ": cannot read the sample city"):
        load_sample(path=tmp_path)


# ------------------------------------------------------------------ administrative hierarchy


def test_codes_are_strings_of_digits(city):
    columns = {name: ["code", "parent_code"] for name in ADMIN}
    columns |= {"units": ["unit_id", "community_code"], "staff": ["grid_code", "community_code"],
                "cases": ["case_id"]}
    for name, cols in columns.items():
        frame = getattr(city, name)
        for col in cols:
            values = frame[col].dropna()
            assert len(values) > 0.85 * len(frame), (name, col)
            assert all(isinstance(v, str) for v in values), (name, col)
    for name in ADMIN:
        assert getattr(city, name)["code"].str.fullmatch(r"99\d+").all()


def test_child_codes_extend_their_parent(city):
    lengths = {"districts": 6, "streets": 9, "communities": 12}
    parents = {"districts": {"9901"}, "streets": set(city.districts["code"]),
               "communities": set(city.streets["code"])}
    for name in ADMIN:
        frame = getattr(city, name)
        assert (frame["code"].str.len() == lengths[name]).all()
        assert frame["code"].is_unique and frame["name"].is_unique
        assert set(frame["parent_code"]) <= parents[name]
        pairs = zip(frame["code"], frame["parent_code"], strict=True)
        assert all(code.startswith(parent) for code, parent in pairs)
        assert set(frame["level"]) == {name.rstrip("s") if name != "communities" else "community"}


def test_code_digits_match_the_kind_of_unit(city):
    digits = city.streets["code"].str[6:].astype(int)
    name = city.streets["name"]
    assert digits[name.str.endswith("街道")].between(1, 99).all()
    assert digits[name.str.endswith("镇")].between(100, 199).all()
    assert digits[name.str.endswith("乡")].between(200, 399).all()
    urban_districts = set(city.districts.loc[city.districts["kind"] == "urban", "code"])
    assert name[city.streets["parent_code"].isin(urban_districts)].str.endswith("街道").all()
    comm = city.communities
    village_digits = comm["code"].str[9:].astype(int)
    is_shequ, is_cun = comm["name"].str.endswith("社区"), comm["name"].str.endswith("村")
    assert (is_shequ | is_cun).all()
    assert village_digits[is_shequ].between(1, 199).all() and (comm.loc[is_shequ, "kind"] == "urban").all()
    assert village_digits[is_cun].between(200, 399).all() and (comm.loc[is_cun, "kind"] == "rural").all()
    assert comm.loc[is_shequ & comm["code"].str[:6].isin(["990121"]), "code"].size >= 1  # a town-centre 社区


def test_the_issue_minimum_counts(city):
    kinds = city.districts["kind"].value_counts()
    assert kinds["urban"] >= 2 and kinds["rural"] >= 1
    assert len(city.streets) >= 8 and len(city.communities) >= 40


@pytest.mark.parametrize("child, parent", [("streets", "districts"), ("communities", "streets")])
def test_children_tile_their_parent_exactly(metric, child, parent):
    children, parents = metric[child], metric[parent]
    for code, geom in zip(parents["code"], parents.geometry, strict=True):
        mine = children[children["parent_code"] == code].geometry
        assert len(mine) >= 1
        union = shapely.union_all(mine.values)
        assert union.symmetric_difference(geom).area / geom.area < 1e-6, code
        assert abs(mine.area.sum() - geom.area) / geom.area < 1e-6, code  # no overlap hidden by the union


@pytest.mark.parametrize("layer", ADMIN)
def test_units_of_a_level_never_overlap(metric, layer):
    frame = metric[layer]
    assert frame.geom_type.eq("Polygon").all() and frame.is_valid.all()
    assert overlapping_pairs(frame, 1.0) == []
    assert shapely.coverage_is_valid(frame.geometry.values)  # neighbours share their vertices exactly
    assert shapely.union_all(frame.geometry.values).geom_type == "Polygon"


def test_urban_communities_are_small_and_villages_larger(metric):
    comm = metric["communities"]
    km2 = comm.area / 1e6
    urban, rural = km2[comm["kind"] == "urban"], km2[comm["kind"] == "rural"]
    assert urban.between(0.3, 2.0).all()
    assert rural.min() > urban.max()
    kind_of_street = dict(zip(metric["streets"]["code"], metric["streets"]["kind"], strict=True))
    rural_streets = {code for code, kind in kind_of_street.items() if kind == "rural"}
    assert set(comm.loc[comm["kind"] == "rural", "parent_code"]) <= rural_streets


# ------------------------------------------------------------------ units


def test_unit_counts_kinds_and_ids(city):
    units = city.units
    assert set(units["kind"]) <= set(UNIT_KINDS)
    assert units["unit_id"].is_unique
    compounds = units[units["kind"] == "compound"]
    villages = units[units["kind"] == "natural_village"]
    sites = units[units["kind"].isin(DEDICATED_KINDS)]
    assert len(compounds) == 400 and compounds.geom_type.eq("Polygon").all()
    assert len(villages) == 200 and set(villages.geom_type) == {"Point", "Polygon"}
    # the sample city has the five classic dedicated kinds, not transport hubs or institutions
    assert len(sites) == 60 and set(sites["kind"]) == set(DEDICATED_KINDS) - {"transport_hub", "institution"}
    assert set(sites.geom_type) == {"Point", "Polygon"}
    assert (sites["population"] < 100).sum() >= 3 and (sites["population"] >= 100).sum() >= 40
    for prefix, frame in (("C", compounds), ("V", villages), ("S", sites)):
        assert frame["unit_id"].str.fullmatch(prefix + r"\d{4}").all()
    assert units["name"].is_unique


def test_households_population_and_buildings(city):
    units = city.units
    compounds = units[units["kind"] == "compound"]
    assert compounds["households"].between(50, 3000).all()
    assert compounds["households"].max() > 1500 and compounds["households"].min() < 150
    residential = units[units["kind"].isin(RESIDENTIAL)]
    ratio = residential["population"] / residential["households"]
    slack = 0.5 / residential["households"]  # population is rounded to whole people
    assert ((ratio >= 2.5 - slack) & (ratio <= 3.2 + slack)).all()
    assert (units["buildings"] >= 0).all() and (residential["buildings"] >= 1).all()
    assert (units.loc[units["kind"].isin(DEDICATED_KINDS), "households"] == 0).all()


def test_polygon_units_never_overlap_and_leave_roads_between_compounds(metric):
    units = metric["units"]
    polygons = units[units.geom_type == "Polygon"].reset_index(drop=True)
    assert polygons.is_valid.all()
    assert overlapping_pairs(polygons, 0.0) == []
    compounds = polygons[polygons["kind"] == "compound"].reset_index(drop=True)
    left, right = compounds.sindex.query(compounds.geometry, predicate="dwithin", distance=5.0)
    assert (left == right).all()  # no two compounds closer than 5 m: roads or green space between them


def test_units_lie_in_communities_of_their_kind(metric, true_codes, readme):
    units, comm = metric["units"], metric["communities"]
    kind_of = dict(zip(comm["code"], comm["kind"], strict=True))
    assert true_codes.notna().all()
    compounds = units["kind"] == "compound"
    assert (true_codes[compounds].map(kind_of) == "urban").all()
    assert (true_codes[units["kind"] == "natural_village"].map(kind_of) == "rural").all()
    parks = units[units["kind"] == "industrial_park"]
    assert (true_codes[parks.index].map(kind_of) == "rural").sum() >= 3  # industrial parks at the urban edge
    sites = units["kind"].isin(DEDICATED_KINDS)
    assert (true_codes[sites].str[:6] != "990121").sum() >= 40  # dedicated sites mostly in urban districts
    straddling = []
    for uid, geom in zip(units["unit_id"], units.geometry, strict=True):
        if geom.geom_type == "Polygon":
            shares = comm.intersection(geom).area / geom.area
            if (shares > 1e-6).sum() > 1:
                straddling.append(uid)
                assert shares.max() < 0.95 and sorted(shares)[-2] > 0.05  # a real straddle, not a sliver
            else:
                assert shares.max() > 1 - 1e-9, uid
    documented = readme_table(readme, "| unit_id | name | largest-overlap community")
    assert sorted(straddling) == sorted(documented["unit_id"]) and len(straddling) == 5
    by_id = dict(zip(units["unit_id"], true_codes, strict=True))
    assert [by_id[u] for u in documented["unit_id"]] == documented["largest-overlap community"].tolist()


def test_community_codes_are_missing_or_wrong_exactly_as_documented(city, true_codes, readme):
    units = city.units
    missing = units["community_code"].isna()
    assert 0.08 <= missing.mean() <= 0.12
    wrong = units[~missing & (units["community_code"] != true_codes)]
    documented = readme_table(readme, "| unit_id | name | stored community_code")
    assert len(documented) == 3
    found = zip(wrong["unit_id"], wrong["community_code"], true_codes[wrong.index], strict=True)
    expected = zip(documented["unit_id"], documented["stored community_code"],
                   documented["true community_code"], strict=True)
    assert {u: (stored, true) for u, stored, true in found} == {u: (s, t) for u, s, t in expected}
    assert set(units.loc[~missing, "community_code"]) <= set(city.communities["code"])


# ------------------------------------------------------------------ staff


def test_roster_grids_are_the_grids_gridmap_builds_as_first_registered(city, readme, tmp_path):
    built = sample_grids()  # gridmap.build_grids(city.communities, city.units), temporary codes
    with Registry(tmp_path / "registry.sqlite") as registry:
        registered = registry.assign(built)
    permanent = dict(zip(registered["temp_code"], registered["code"], strict=True))
    assert all(permanent[t] == t.replace("-", "") for t in built["code"])  # first registration drops the dash
    staff = city.staff
    assert staff["grid_code"].str.fullmatch(r"\d{15}").all()
    assert (staff["grid_code"].str[:12] == staff["community_code"]).all()
    assert set(staff["grid_code"]) == set(registered["code"])  # every built grid has a team, no other grid
    community_of = dict(zip(registered["code"], registered["community_code"], strict=True))
    assert (staff["community_code"] == staff["grid_code"].map(community_of)).all()
    heading = f"## Staff ({len(staff)} rows, {len(built)} grids)"
    assert heading in readme


def test_staff_follow_1_1_1_n_except_the_documented_gaps(city, readme):
    staff = city.staff
    assert set(staff["role"]) == set(STAFF_ROLES)
    roles = staff.groupby(["grid_code", "role"]).size().unstack(fill_value=0)
    assert (roles["instructor"] == 1).all() and (roles["member"] >= 1).all()
    found = {}
    for grid, row in roles.iterrows():
        if row["leader"] == 0:
            found[grid] = "no leader"
        elif row["leader"] == 2:
            found[grid] = "two leaders"
        if row["full_time"] == 0:
            found[grid] = "no full-time worker"
        assert row["leader"] in (0, 1, 2) and row["full_time"] in (0, 1), grid
    documented = readme_table(readme, "| grid_code | community | gap")
    assert found == dict(zip(documented["grid_code"], documented["gap"], strict=True))
    assert sorted(found.values()) == ["no full-time worker", "no leader", "no leader", "two leaders"]
    assert staff["phone"].str.fullmatch(r"199-0000-\d{4}").all()
    assert staff.notna().all().all()
    assert staff.drop_duplicates(["name", "phone"])["phone"].is_unique  # a phone number is one person
    assert staff.loc[staff["role"] != "instructor", "phone"].is_unique  # only instructors serve several grids
    instructors = staff[staff["role"] == "instructor"].groupby("phone")
    grids_per_instructor = instructors["grid_code"].nunique()
    assert grids_per_instructor.between(1, 3).all() and (grids_per_instructor == 3).any()
    assert (instructors["community_code"].nunique() == 1).all()  # a cadre instructs grids of one community


# ------------------------------------------------------------------ cases


def test_cases_times_status_and_levels(city):
    cases = city.cases
    assert len(cases) == 20_000 and cases["case_id"].is_unique
    reported, accepted, closed = cases["reported_at"], cases["accepted_at"], cases["closed_at"]
    assert reported.between(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31 23:59:59")).all()
    assert sorted(reported.dt.month.unique()) == list(range(1, 13))
    assert (accepted.dropna() >= reported[accepted.notna()]).all()
    both = closed.notna()
    assert (closed[both] >= reported[both]).all() and (closed[both] >= accepted[both]).all()
    assert accepted[both].notna().all()  # a case is accepted before it is closed
    assert ((cases["status"] == "open") == closed.isna()).all()
    assert set(cases["level"]) <= set(HANDLING_LEVELS) and (cases["level"] == "grid").mean() > 0.5
    same_day = (accepted.dt.normalize() == reported.dt.normalize()).mean()
    assert 0.85 <= same_day <= 0.95
    assert (cases["count"] >= 1).all() and (cases["count"] == 1).mean() > 0.9 and (cases["count"] > 1).any()
    assert {"矛盾纠纷", "环境卫生", "治安隐患", "民生诉求", "安全生产", "疫情防控"} <= set(cases["category"])


def test_cases_lie_in_the_city_mostly_in_units(metric):
    cases = metric["cases"]
    city = shapely.union_all(metric["districts"].geometry.values)
    assert shapely.contains(city, cases.geometry.values).all()
    units = metric["units"]
    areas = units.geometry.where(units.geom_type == "Polygon", units.geometry.buffer(200))
    zone = gpd.GeoDataFrame(geometry=areas.values, crs=METRIC)
    in_units = gpd.sjoin(cases[["geometry"]], zone, predicate="within")
    assert in_units.index.unique().size / len(cases) > 0.7


def test_cases_show_seasons_and_a_hot_spot(metric, city):
    cases = city.cases
    month = cases["reported_at"].dt.month
    sanitation = cases["category"] == "环境卫生"
    summer = sanitation[month.isin([6, 7, 8])].sum() / 3
    winter = sanitation[month.isin([12, 1, 2])].sum() / 3
    assert summer > 1.3 * winter
    market = metric["units"].loc[metric["units"]["name"] == "朝阳农贸市场", "geometry"].iat[0].centroid
    near = (metric["cases"].distance(market) < 500).sum() / (math.pi * 0.25)
    comm = metric["communities"]
    urban_area = comm.loc[comm["kind"] == "urban"].area.sum() / 1e6
    urban_cases = shapely.contains(shapely.union_all(comm.loc[comm["kind"] == "urban"].geometry.values),
                                   metric["cases"].geometry.values).sum()
    assert near > 5 * urban_cases / urban_area  # cases per km² near the market vs. the urban average


# ------------------------------------------------------------------ files


def test_sample_is_small(city):
    files = [p for p in city.path.iterdir() if p.is_file()]
    assert {p.name for p in files} == {"README.md", "sample_city.gpkg", "roads.gpkg", "staff.csv",
                                       "cases.parquet", "buildings.gpkg", "roster.csv", "liaison.csv",
                                       "party.csv", "centres.gpkg", "case_steps.csv", "case_feedback.csv",
                                       "sites.gpkg", "footpaths.gpkg", "patrols.parquet",
                                       "patrol_checkins.csv"}
    assert sum(p.stat().st_size for p in files) < 5_000_000


def test_data_readme_says_it_is_fictional(readme):
    assert "FICTIONAL" in readme and "99" in readme and "make_sample_data.py" in readme


def test_a_city_bundle_feeds_the_map_functions(tmp_path, city):
    """load_city reads a build back as a City; maps take it in place of seven keyword arguments."""
    import dataclasses

    import gridmap
    from gridmap.errors import SchemaError
    from gridmap.maps import cockpit

    with pytest.raises(SchemaError, match="has no grids"):
        cockpit(city)  # the sample carries no grids until they are built
    build = sample_build()  # build_grids(city.communities, city.units), once per session (cases_fixtures)
    assert sample_build_warnings(), "the sample's deliberate flaws are warned about"
    path = tmp_path / "build.gpkg"
    gridmap.write_layer(build.grids, path, "grids")
    for name in ("communities", "streets", "districts"):
        gridmap.write_layer(getattr(city, name), path, name, mode="a")
    loaded = gridmap.load_city(path)
    assert sorted(loaded.layers()) == ["communities", "districts", "grids", "streets"]
    assert loaded.grids["code"].tolist() == build.grids["code"].tolist()
    assert gridmap.load_city(path, skip=["streets"]).streets is None
    with_cases = dataclasses.replace(loaded, cases=city.cases.head(200))
    page = cockpit(with_cases, title="城市驾驶舱")
    by_keywords = cockpit(loaded.grids, communities=loaded.communities, streets=loaded.streets,
                          districts=loaded.districts, cases=city.cases.head(200), title="城市驾驶舱")
    assert len(page) == len(by_keywords) and "城市驾驶舱" in page
    from gridmap.maps import one_screen, to_html

    separate = one_screen(loaded.grids, cases=city.cases.head(200), communities=loaded.communities,
                          streets=loaded.streets, districts=loaded.districts)
    assert len(to_html(one_screen(with_cases))) == len(to_html(separate))
