"""Party organisation and service centres of the FICTIONAL sample city: ``party.csv`` and ``centres.gpkg``.

Called by ``make_sample_data.py`` after the city, the roads, the roster, the cases and the buildings are
written: :func:`generate_org` reads them back from the output folder, draws with its own generator
``default_rng([seed, STREAM])`` and returns the README section describing what it wrote, deliberate flaws
included, so that ``gridmap party`` and ``gridmap centres`` have something to find.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from gridmap.io._atomic import atomic_path

STREAM = 5  # this generator is default_rng([seed, STREAM])
PARTY_NAME, CENTRES_NAME = "party.csv", "centres.gpkg"
METRIC_CRS, STORAGE_CRS = "EPSG:4545", "EPSG:4490"
FIXED_GDAL_DATE = "2025-01-01T00:00:00.000Z"  # pins the GeoPackage timestamps, as make_sample_data does
N_UNCOVERED, N_JOINT = 6, 3  # grids left without a branch; pairs of grids under one joint branch
GROUP_SHARE, HOUSEHOLD_SHARE = 0.4, 0.3  # buildings with a party group; groups with a member household
SMALL_COMMUNITY_M2 = (420.0, 460.0, 480.0)  # community centres below the 500 m² standard
SMALL_COMPOUND_M2 = (180.0, 240.0, 260.0, 290.0)  # compound centres below the 300 m² standard
COMPOUND_SHARE, STATION_SHARE = 0.25, 0.2  # compounds with a centre; grids with a station
PARTY_COLUMNS = ["branch_id", "name", "kind", "grid_code", "building_code", "community_code", "members"]
CENTRE_COLUMNS = ["centre_id", "name", "kind", "floor_area_m2", "community_code", "unit_id", "geometry"]


def generate_org(out: Path, grids: gpd.GeoDataFrame, seed: int) -> list[str]:
    """Write ``party.csv`` and ``centres.gpkg`` into ``out``; return the README lines describing them."""
    rng = np.random.default_rng([seed, STREAM])
    city = out / "sample_city.gpkg"
    communities = pyogrio.read_dataframe(city, layer="communities").sort_values("code", ignore_index=True)
    streets = pyogrio.read_dataframe(city, layer="streets").sort_values("code", ignore_index=True)
    units = pyogrio.read_dataframe(city, layer="units").sort_values("unit_id", ignore_index=True)
    buildings = pyogrio.read_dataframe(out / "buildings.gpkg").sort_values("unit_id", ignore_index=True)
    names = dict(zip(communities["code"], communities["name"], strict=True))
    party, party_flaws = build_party(grids, buildings, names, rng)
    points, footprints, centre_flaws = build_centres(grids, communities, streets, units, rng)
    with atomic_path(out / PARTY_NAME) as tmp:
        party.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
    write_centres(out / CENTRES_NAME, points, footprints)
    return readme_lines(party, points, footprints, party_flaws, centre_flaws, names)


# --- party organisation ------------------------------------------------------------------------------------

def build_party(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, names: dict[str, str],
                rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """Committees, grid branches (some joint, some grids none), building groups and member households."""
    codes = grids["code"].tolist()
    community_of = dict(zip(grids["code"], grids["community_code"], strict=True))
    uncovered = sorted(str(codes[i]) for i in rng.choice(len(codes), N_UNCOVERED, replace=False))
    joint = joint_pairs(codes, community_of, set(uncovered), rng)
    first_of, second = {pair[0]: pair for pair in joint}, {pair[1] for pair in joint}
    rows = []
    for code in codes:
        if code in uncovered or code in second:
            continue
        own, pair = names[community_of[code]], first_of.get(code)
        if pair is None:
            rows.append((f"{own}第{int(code[-3:])}网格党支部", "grid_branch", code, None, None))
        else:
            rows.append((f"{own}第{int(pair[0][-3:])}、{int(pair[1][-3:])}网格联合党支部", "grid_branch",
                         ";".join(pair), None, None))
    branches = pd.DataFrame(rows, columns=PARTY_COLUMNS[1:-1]).assign(members=rng.integers(5, 41, len(rows)))
    retired_community = str(rng.choice(sorted(names)))
    retired = pd.DataFrame([(f"{names[retired_community]}第99网格党支部", "grid_branch",
                             f"{retired_community}099", None, None, int(rng.integers(5, 20)))],
                           columns=PARTY_COLUMNS[1:])
    duplicate = branches.iloc[[int(rng.integers(len(branches)))]]
    groups = building_groups(buildings, rng)
    committees = pd.DataFrame({"name": [f"{names[c]}党委" for c in sorted(names)],
                               "kind": "community_committee", "grid_code": None, "building_code": None,
                               "community_code": sorted(names)})
    led = branches.assign(community=branches["grid_code"].str[:12]).groupby("community")["members"].sum()
    committees["members"] = (led.reindex(committees["community_code"]).fillna(0).astype(int).to_numpy()
                             + rng.integers(3, 15, len(committees)))
    party = pd.concat([committees, branches, retired, duplicate, groups], ignore_index=True)
    party.insert(0, "branch_id", [f"B{k:05d}" for k in range(1, len(party) + 1)])
    party["members"] = party["members"].astype("Int64")
    flaws = {"uncovered": uncovered, "joint": joint, "retired": f"{retired_community}099",
             "duplicate": str(duplicate["name"].iloc[0]), "unknown_building": groups.attrs["unknown"]}
    return party[PARTY_COLUMNS], flaws


def joint_pairs(codes: list[str], community_of: dict[str, str], uncovered: set[str],
                rng: np.random.Generator) -> list[tuple[str, str]]:
    """``N_JOINT`` pairs of neighbouring codes of one community, none uncovered, no code in two pairs."""
    candidates = [(a, b) for a, b in zip(codes, codes[1:], strict=False)
                  if community_of[a] == community_of[b] and not {a, b} & uncovered]
    pairs: list[tuple[str, str]] = []
    for k in rng.permutation(len(candidates)):
        pair = candidates[int(k)]
        if not any(set(pair) & set(p) for p in pairs):
            pairs.append(pair)
        if len(pairs) == N_JOINT:
            break
    return sorted(pairs)


def building_groups(buildings: gpd.GeoDataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Party groups in ``GROUP_SHARE`` of the buildings, member households in some; one on no building."""
    chosen = buildings[rng.random(len(buildings)) < GROUP_SHARE]
    groups = pd.DataFrame({"name": chosen["name"] + "党小组", "kind": "building_group", "grid_code": None,
                           "building_code": chosen["unit_id"], "community_code": None,
                           "members": rng.integers(3, 13, len(chosen))})
    homes = chosen[rng.random(len(chosen)) < HOUSEHOLD_SHARE]
    households = pd.DataFrame({"name": homes["name"] + "党员中心户", "kind": "member_household",
                               "grid_code": None, "building_code": homes["unit_id"], "community_code": None,
                               "members": rng.integers(1, 4, len(homes))})
    unknown = f"{chosen['unit_id'].iloc[0].split('-')[0]}-99"
    lost = pd.DataFrame([("第99栋党小组", "building_group", None, unknown, None, 4)], columns=groups.columns)
    frame = pd.concat([groups, households, lost]).sort_values(["building_code", "kind"], kind="stable")
    frame.attrs["unknown"] = unknown
    return frame.reset_index(drop=True)


# --- service centres ---------------------------------------------------------------------------------------

def build_centres(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, streets: gpd.GeoDataFrame,
                  units: gpd.GeoDataFrame,
                  rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict]:
    """Community, street, regional and compound centres and grid stations; a few below standard."""
    comm = communities.to_crs(METRIC_CRS)
    urban = comm["kind"] == "urban"
    small = sorted(str(c) for c in rng.choice(comm.loc[urban, "code"], len(SMALL_COMMUNITY_M2),
                                              replace=False))
    areas = np.where(urban, rng.integers(52, 151, len(comm)) * 10.0, rng.integers(20, 46, len(comm)) * 10.0)
    areas[comm["code"].isin(small).to_numpy()] = SMALL_COMMUNITY_M2
    rows = [{"name": f"{name}党群服务中心", "kind": "community_centre", "floor_area_m2": area,
             "community_code": code, "unit_id": None, "geometry": point}
            for name, code, area, point in zip(comm["name"], comm["code"], areas,
                                               comm.geometry.representative_point(), strict=True)]
    street = streets.to_crs(METRIC_CRS)
    rows += [{"name": f"{name}党群服务中心", "kind": "street_centre", "floor_area_m2": float(area),
              "community_code": None, "unit_id": None, "geometry": point}
             for name, area, point in zip(street["name"], rng.integers(80, 201, len(street)) * 10,
                                          street.geometry.representative_point().translate(150.0, 0.0),
                                          strict=True)]
    compounds, small_compounds = compound_centres(units.to_crs(METRIC_CRS), rng)
    stations = grid_stations(grids.to_crs(METRIC_CRS), rng)
    centres = gpd.GeoDataFrame(rows + compounds + stations, geometry="geometry", crs=METRIC_CRS)
    community_rows = centres.index[centres["kind"].eq("community_centre")].to_numpy()
    footprint = community_rows[:: max(1, len(comm) // 3)][:3]
    centres.loc[footprint, "geometry"] = centres.loc[footprint, "geometry"].buffer(15.0, cap_style="square")
    regional = regional_centres(units.to_crs(METRIC_CRS), rng)
    centres = pd.concat([centres, regional], ignore_index=True)
    centres.insert(0, "centre_id", [f"Z{k:04d}" for k in range(1, len(centres) + 1)])
    centres = centres[CENTRE_COLUMNS].to_crs(STORAGE_CRS)
    is_polygon = (centres.geom_type == "Polygon").to_numpy()
    flaws = {"small_communities": small, "small_compounds": small_compounds}
    return centres[~is_polygon].reset_index(drop=True), centres[is_polygon].reset_index(drop=True), flaws


def compound_centres(units: gpd.GeoDataFrame, rng: np.random.Generator) -> tuple[list[dict], list[tuple]]:
    """Centres in ``COMPOUND_SHARE`` of the compound polygons, half naming their compound; four too small."""
    compounds = units[units["kind"] == "compound"]
    chosen = compounds[rng.random(len(compounds)) < COMPOUND_SHARE]
    areas = rng.integers(30, 61, len(chosen)) * 10.0
    small = sorted(str(u) for u in rng.choice(chosen["unit_id"], len(SMALL_COMPOUND_M2), replace=False))
    areas[chosen["unit_id"].isin(small).to_numpy()] = SMALL_COMPOUND_M2
    named = rng.random(len(chosen)) < 0.5
    rows = [{"name": f"{name}党群服务中心", "kind": "compound_centre", "floor_area_m2": area,
             "community_code": None, "unit_id": unit if own else None, "geometry": point}
            for name, unit, area, own, point in zip(chosen["name"], chosen["unit_id"], areas, named,
                                                    chosen.geometry.representative_point(), strict=True)]
    return rows, [(row["unit_id"] or unit, row["name"], row["floor_area_m2"])
                  for row, unit in zip(rows, chosen["unit_id"], strict=True) if unit in small]


def grid_stations(grids: gpd.GeoDataFrame, rng: np.random.Generator) -> list[dict]:
    """A 网格党群服务站 in ``STATION_SHARE`` of the grids, at the grid's representative point."""
    chosen = grids[rng.random(len(grids)) < STATION_SHARE]
    return [{"name": f"第{code}网格党群服务站", "kind": "grid_station", "floor_area_m2": float(area),
             "community_code": None, "unit_id": None, "geometry": point}
            for code, area, point in zip(chosen["code"], rng.integers(4, 13, len(chosen)) * 10,
                                         chosen.geometry.representative_point(), strict=True)]


def regional_centres(units: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Two regional centres (区域性党群服务中心) as footprints in office buildings and industrial parks."""
    sites = units[units["kind"].isin(["office_building", "industrial_park"])]
    chosen = sites.iloc[np.sort(rng.choice(len(sites), 2, replace=False))]
    return gpd.GeoDataFrame({"name": chosen["name"] + "区域性党群服务中心", "kind": "regional_centre",
                             "floor_area_m2": rng.integers(60, 141, 2) * 10.0, "community_code": None,
                             "unit_id": None},
                            geometry=chosen.geometry.representative_point().buffer(20.0, cap_style="square")
                            .to_numpy(), crs=units.crs)


def write_centres(path: Path, points: gpd.GeoDataFrame, footprints: gpd.GeoDataFrame) -> None:
    """Write layers ``centres`` (Point) and ``centre_footprints`` (Polygon), timestamps pinned."""
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GDAL_DATE})
    with atomic_path(path) as tmp:
        for k, (layer, frame, kind) in enumerate((("centres", points, "Point"),
                                                   ("centre_footprints", footprints, "Polygon"))):
            pyogrio.write_dataframe(frame, tmp, layer=layer, driver="GPKG", geometry_type=kind,
                                    layer_options={"DESCRIPTION": f"示例市 {layer} — FICTIONAL sample data"},
                                    metadata={"TITLE": "示例市 sample city (FICTIONAL)",
                                              "SOURCE": "scripts/sample_org.py"} if k == 0 else None)


# --- README ------------------------------------------------------------------------------------------------

def readme_lines(party: pd.DataFrame, points: gpd.GeoDataFrame, footprints: gpd.GeoDataFrame,
                 party_flaws: dict, centre_flaws: dict, names: dict[str, str]) -> list[str]:
    """The README section on ``party.csv`` and ``centres.gpkg``, flaws listed from the data itself."""
    kinds = party["kind"].value_counts()
    centres = pd.concat([points, footprints])
    by_kind = centres.assign(layer=np.r_[["centres"] * len(points), ["centre_footprints"] * len(footprints)])
    counts = by_kind.groupby(["kind", "layer"]).size().rename("rows").reset_index()
    community_area = dict(zip(centres["community_code"], centres["floor_area_m2"], strict=False))
    lines = [
        f"## Party organisation ({PARTY_NAME}, {len(party)} rows)", "",
        "Xuanwu's four-level chain (seed 002) keyed to codes, UTF-8: `branch_id`, `name`, `kind` "
        "(`gridmap.schema.PARTY_KINDS`: community_committee 社区党组织, grid_branch 网格党支部, "
        "building_group 楼栋党小组, member_household 党员中心户), `grid_code` "
        "(`;`-separated for a joint branch, 联合组建), "
        "`building_code` (a `unit_id` of `buildings.gpkg`), `community_code`, `members` (party members). "
        f"Rows: {kinds.get('community_committee', 0)} community committees, "
        f"{kinds.get('grid_branch', 0)} grid branches ({N_JOINT} joint), "
        f"{kinds.get('building_group', 0)} building groups (about {GROUP_SHARE:.0%} of the buildings), "
        f"{kinds.get('member_household', 0)} member households. "
        "`gridmap party --branches data/sample/party.csv --grids demo/gridmap.gpkg --buildings "
        "data/sample/buildings.gpkg` measures the coverage. Deliberate flaws:", "",
        "* grids without a grid branch: " + ", ".join(
            f"{code} ({names[code[:12]]})" for code in party_flaws["uncovered"]) + ";",
        "* joint branches: " + ", ".join(" + ".join(pair) for pair in party_flaws["joint"]) + ";",
        f"* a branch on grid {party_flaws['retired']}, which does not exist (a retired code);",
        f"* {party_flaws['duplicate']} listed twice;",
        f"* a building group in building {party_flaws['unknown_building']}, which does not exist.", "",
        f"## Service centres ({CENTRES_NAME}, {len(centres)} rows)", "",
        "Layers `centres` (Point) and `centre_footprints` (Polygon), EPSG:4490, the same columns: "
        "`centre_id`, `name`, `kind` (`gridmap.schema.CENTRE_KINDS`), `floor_area_m2`, `community_code` "
        "(community centres), `unit_id` (the compound served, for about half the compound centres; the "
        "others lie in their compound's polygon).", "",
        md_table(counts), "",
        "Below seed 001's standards (`gridmap centres --centres data/sample/centres.gpkg --grids "
        "demo/gridmap.gpkg --units data/sample/sample_city.gpkg` finds them): the community centres of "
        + ", ".join(f"{code} {names[code]} ({community_area[code]:,.0f} m² < 500 m²)"
                    for code in centre_flaws["small_communities"])
        + "; the compound centres " + ", ".join(f"{name} (compound {unit}, {area:,.0f} m² < 300 m²)"
                                               for unit, name, area in centre_flaws["small_compounds"])
        + ". Rural 村 centres are smaller (200–450 m²): the 500 m² standard is set for urban "
        "communities. No unit is marked new (新建), so the 30 m² per 100 households standard has nothing to "
        "check here.",
    ]
    return _wrap(lines)


def _wrap(lines: list[str]) -> list[str]:
    """Wrap long prose lines at 110 characters as the README's template does; tables stay as they are."""
    wrapped: list[str] = []
    for line in lines:
        if line.startswith("|") or "\n" in line or len(line) <= 110:
            wrapped.append(line)
        else:
            indent = "  " if line.startswith("* ") else ""
            wrapped += textwrap.wrap(line, width=110, subsequent_indent=indent, break_on_hyphens=False,
                                     break_long_words=False)
    return wrapped


def md_table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
