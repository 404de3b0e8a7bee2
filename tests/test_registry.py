"""The code registry: permanent codes across builds, lineage, versions, diff, schema migration and errors.

Grids are drawn in metres in the CGCS2000 Gauss-Krüger zone of Nanning (EPSG:4545) and stored in EPSG:4490,
so areas and shares are known exactly. Real processes (parallel writers, killed writers) are in
tests/test_registry_processes.py.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import warnings
from xml.etree import ElementTree

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from cases_fixtures import sample_build, sample_city
from hypothesis import given, settings
from hypothesis import strategies as st

from gridmap.codes import CJT_349, TYPE_DIGIT, beidou, beidou_decode, parse_many, reading_order
from gridmap.codes import registry as registry_module
from gridmap.codes.registry import KEEP_SHARE, SCHEMA_VERSION, Registry
from gridmap.crs import metric_crs
from gridmap.division import GridRules, build_grids
from gridmap.errors import GridmapWarning, RegistryError
from gridmap.schema import join_ids, split_ids

ZONE = "EPSG:4545"  # CGCS2000 3-degree Gauss-Krüger zone of Nanning (central meridian 108 E)
X0, Y0 = 540_000.0, 2_525_000.0
C1, C2 = "450102001003", "450102001004"


def layer(*rows, crs="EPSG:4490", kind="city"):
    """Grids from (temp code, community, unit ids, (x0, y0, x1, y1) in metres from a point in Nanning)."""
    temps, communities, units, boxes = zip(*rows, strict=True)
    geoms = [shapely.box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in boxes]
    frame = gpd.GeoDataFrame({"code": list(temps), "community_code": list(communities), "type": kind,
                              "unit_ids": list(units)}, geometry=geoms, crs=ZONE)
    return frame.to_crs(crs)


def by_temp(result):
    return dict(zip(result["temp_code"], result["code"], strict=True))


def metres(frame):
    return frame.to_crs(ZONE)


@pytest.fixture
def registry(tmp_path):
    with Registry(tmp_path / "registry.sqlite") as reg:
        yield reg


def table_counts(path):
    con = sqlite3.connect(path)
    try:
        return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("codes", "grid_versions", "lineage", "versions", "counters")}
    finally:
        con.close()


# ------------------------------------------------------------------------------------ first codes

def test_first_codes_follow_reading_order_and_carry_beidou(registry):
    # a 2 x 2 block given in scrambled order: NW, NE, SW, SE read like text are 001, 002, 003, 004
    grids = layer(("se", C1, "d", (100, 0, 200, 100)), ("nw", C1, "a", (0, 100, 100, 200)),
                  ("sw", C1, "c", (0, 0, 100, 100)), ("ne", C1, "b", (100, 100, 200, 200)))
    out = registry.assign(grids, when="2025-01-06")
    assert by_temp(out) == {"nw": C1 + "001", "ne": C1 + "002", "sw": C1 + "003", "se": C1 + "004"}
    assert (out["status"] == "new").all() and not out["changed"].any()
    points = out.geometry.representative_point()
    assert out["beidou"].tolist() == list(beidou(points.x.to_numpy(), points.y.to_numpy(), 7))
    for code, point in zip(out["beidou"], points, strict=True):  # the level-7 cell (7 m) holds the point
        assert len(code) == 14 and shapely.box(*beidou_decode(code)).covers(point)
    assert registry.assign(grids, when="2025-01-06", beidou_level=4)["beidou"].str.len().eq(9).all()


def test_input_is_not_mutated_and_output_keeps_rows_crs_and_columns(registry):
    grids = layer(("t1", C1, "a", (0, 0, 100, 100)), ("t2", C1, "b", (100, 0, 200, 100)), crs="EPSG:4326")
    before = grids.copy()
    out = registry.assign(grids, when="2025-01-06")
    pd.testing.assert_frame_equal(grids, before)
    assert out.crs == grids.crs and out.index.equals(grids.index)
    assert list(out.columns) == ["code", "temp_code", "status", "changed", "parents", "community_code",
                                 "type", "unit_ids", "beidou", "geometry"]
    assert shapely.equals_exact(out.geometry.to_numpy(), grids.geometry.to_numpy(), tolerance=0).all()


def test_rerun_of_the_same_build_writes_nothing(registry):
    grids = layer(("t1", C1, "a", (0, 0, 100, 100)), ("t2", C1, "", (100, 0, 200, 100)),
                  ("t3", C2, "c;b", (200, 0, 300, 100)))
    first = registry.assign(grids, when="2025-01-06")
    counts = table_counts(registry.path)
    again = registry.assign(grids.iloc[::-1], when="2025-02-03")  # order does not matter either
    assert by_temp(again) == by_temp(first)
    assert (again["status"] == "kept").all() and not again["changed"].any()
    assert table_counts(registry.path) == counts
    assert len(registry.versions()) == 1


# ------------------------------------------------------------------------ kept, changed, retired

def test_same_units_keep_the_code_and_a_new_geometry_is_a_new_version(registry):
    v1 = registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100)), ("t2", C1, "b", (100, 0, 200, 100))),
                         when="2025-01-06")
    moved = layer(("x1", C1, "a", (0, 0, 120, 100)), ("x2", C1, "b", (120, 0, 200, 100)))
    v2 = registry.assign(moved, when="2025-02-03")
    assert v2["code"].tolist() == v1["code"].tolist() and v2["changed"].all()
    history = registry.history(v1["code"][0])
    assert history["event"].tolist() == ["issued", "changed"] and history["version"].tolist() == [1, 2]
    current = metres(registry.current()).set_index("code")
    assert current.geometry[v1["code"][0]].area == pytest.approx(120 * 100, rel=1e-6)
    assert current["version"].tolist() == [2, 2]
    assert registry.versions()["changed"].tolist() == [0, 2]


def test_units_changed_with_enough_overlap_keep_the_code(registry):
    v1 = registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100)), ("t2", C1, "b", (100, 0, 200, 100))),
                         when="2025-01-06")
    # the first grid gains unit z and shrinks to 95 %: mutual shares 0.95 and 1.0 >= KEEP_SHARE
    v2 = registry.assign(layer(("x1", C1, "a;z", (0, 0, 95, 100)), ("x2", C1, "b", (95, 0, 200, 100))),
                         when="2025-02-03")
    assert 95 / 100 >= KEEP_SHARE
    assert v2["code"].tolist() == v1["code"].tolist()
    assert v2["status"].tolist() == ["kept", "kept"] and v2["changed"].tolist() == [True, True]
    history = registry.history(v1["code"][0])
    assert history["unit_ids"].tolist() == ["a", "a;z"]


def test_too_little_overlap_retires_the_code_with_lineage(registry):
    v1 = registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100))), when="2025-01-06")
    # 85 % of the old grid stays in one grid with another unit: below KEEP_SHARE, so a new code
    v2 = registry.assign(layer(("x1", C1, "a;x", (0, 0, 85, 100)), ("x2", C1, "y", (85, 0, 100, 100))),
                         when="2025-02-03")
    old = v1["code"][0]
    assert v2["status"].tolist() == ["new", "new"]
    assert v2["code"].tolist() == [C1 + "002", C1 + "003"]
    assert v2["parents"].tolist() == [old, old]
    history = registry.history(old)
    assert history["event"].tolist() == ["issued", "retired"]
    assert history["children"].iloc[-1] == ";".join(v2["code"]) and history["lineage"].iloc[-1] == "split"
    con = sqlite3.connect(registry.path)
    query = "SELECT child, parent_share, child_share, shared_units FROM lineage ORDER BY child"
    shares = con.execute(query).fetchall()
    assert shares == [(C1 + "002", pytest.approx(0.85), pytest.approx(1.0), 1),
                      (C1 + "003", pytest.approx(0.15), pytest.approx(1.0), 0)]


def test_split_and_merge_record_parents_and_number_after_the_highest(registry):
    v1 = registry.assign(layer(("A", C1, "a1;a2", (0, 0, 200, 100)), ("B", C1, "b", (200, 0, 300, 100)),
                               ("C", C1, "c", (300, 0, 400, 100))), when="2025-01-06")
    a, b, c = v1["code"]
    v2 = registry.assign(layer(("A1", C1, "a1", (0, 0, 100, 100)), ("A2", C1, "a2", (100, 0, 200, 100)),
                               ("BC", C1, "b;c", (200, 0, 400, 100))), when="2025-02-03")
    assert by_temp(v2) == {"A1": C1 + "004", "A2": C1 + "005", "BC": C1 + "006"}  # west to east after 003
    assert v2["parents"].tolist() == [a, a, f"{b};{c}"]
    assert registry.history(a)["lineage"].iloc[-1] == "split"
    assert registry.history(C1 + "006")["parents"].iloc[0] == f"{b};{c}"
    assert registry.history(C1 + "006")["lineage"].iloc[0] == "merge"
    assert len(registry) == 3
    diff = registry.diff(since=1)
    assert diff.totals() == {"added": 3, "retired": 3, "split": 1, "merged": 1, "changed": 0}
    assert diff.by_street[["street_code", "added", "retired"]].values.tolist() == [[C1[:9], 3, 3]]
    # the children of the split grid cover it exactly
    current = metres(registry.current()).set_index("code")
    parent = shapely.box(X0, Y0, X0 + 200, Y0 + 100)
    union = shapely.union_all(current.geometry[[C1 + "004", C1 + "005"]].to_numpy())
    assert union.symmetric_difference(parent).area < 1e-3


def test_absorbed_and_carved_links(registry):
    v1 = registry.assign(layer(("A", C1, "a", (0, 0, 100, 100)), ("B", C1, "b", (100, 0, 200, 100)),
                               ("C", C1, "c", (200, 0, 300, 100))), when="2025-01-06")
    a, b, c = v1["code"]
    # B disappears into A (A keeps its units, so its code); C gives 40 % of its land to a new grid D
    v2 = registry.assign(layer(("A", C1, "a", (0, 0, 200, 100)), ("C", C1, "c", (240, 0, 300, 100)),
                               ("D", C1, "d", (200, 0, 240, 100))), when="2025-02-03")
    assert v2["code"].tolist() == [a, c, C1 + "004"] and v2["changed"].tolist() == [True, True, False]
    assert v2["parents"].tolist() == [b, "", c]
    kinds = dict(sqlite3.connect(registry.path).execute("SELECT parent || '>' || child, kind FROM lineage"))
    assert kinds == {f"{b}>{a}": "absorbed", f"{c}>{C1}004": "carved"}
    assert registry.diff(since="2025-02-01").totals() == {"added": 1, "retired": 1, "split": 0, "merged": 1,
                                                          "changed": 2}


def test_a_retired_number_is_never_issued_again(registry):
    v1 = registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100)), ("t2", C1, "b", (100, 0, 200, 100)),
                               ("t3", C1, "c", (200, 0, 300, 100))), when="2025-01-06")
    v2 = registry.assign(v1.iloc[:2], when="2025-02-03")  # the output of assign is a valid build too
    assert v2["code"].tolist() == v1["code"].tolist()[:2]
    assert registry.history(C1 + "003")["event"].tolist() == ["issued", "retired"]
    v3 = registry.assign(pd.concat([v2, layer(("t4", C1, "c", (400, 0, 500, 100)))]), when="2025-03-03")
    assert v3["code"].tolist() == [C1 + "001", C1 + "002", C1 + "004"]  # 003 stays retired
    assert v3["temp_code"].tolist() == ["t1", "t2", "t4"]
    assert registry.check().ok


def test_scope_communities_retires_only_in_the_build_communities(registry):
    registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100)), ("t2", C2, "b", (0, 100, 100, 200))),
                    when="2025-01-06")
    registry.assign(layer(("t3", C1, "z", (0, 0, 100, 50))), when="2025-02-03", scope="communities")
    active = set(registry.current()["code"])
    assert active == {C1 + "002", C2 + "001"}
    registry.assign(layer(("t3", C1, "z", (0, 0, 100, 50))), when="2025-02-03")  # scope="all"
    assert set(registry.current()["code"]) == {C1 + "002"}


def test_units_only_path_matches_by_units_and_links_by_shared_units(registry):
    def table(*rows):
        return pd.DataFrame(rows, columns=["code", "community_code", "type", "unit_ids"])

    v1 = registry.assign(table(("A", C1, "city", "a1;a2"), ("B", C1, "city", "b"), ("C", C2, "rural", "c")),
                         when="2025-01-06")
    assert v1["code"].tolist() == [C1 + "001", C1 + "002", C2 + "001"]
    assert v1["beidou"].isna().all() and type(v1) is pd.DataFrame
    rebuilt = table(("A", C1, "city", "a2;a1"), ("B1", C1, "city", "b;x"), ("C", C2, "dedicated", "c"))
    v2 = registry.assign(rebuilt, when="2025-02-03")
    assert v2["code"].tolist() == [C1 + "001", C1 + "003", C2 + "001"]
    assert v2["status"].tolist() == ["kept", "new", "kept"] and v2["changed"].tolist() == [False, False, True]
    assert v2["parents"].tolist() == ["", C1 + "002", ""]
    assert registry.history(C2 + "001")["type"].tolist() == ["rural", "dedicated"]


@pytest.mark.parametrize("odd", ["", "\x01"])  # "\x01": a control character (JSON must escape it)
def test_unit_ids_of_any_text_are_stored_as_given_and_match_again(registry, odd):
    units = ["幸福里1栋;幸福里2栋", 'say"hi"', "back\\slash", f"odd{odd}id", "ＡＢ全角"]
    build = pd.DataFrame({"code": list("abcde"), "community_code": C1, "type": "city", "unit_ids": units})
    first = registry.assign(build, when="2025-01-06")
    stored = registry.current().set_index("code")["unit_ids"]
    assert stored[first["code"]].tolist() == units
    again = registry.assign(build.iloc[::-1], when="2025-02-03")
    assert (again["status"] == "kept").all() and again["code"].tolist() == first["code"].tolist()[::-1]


def test_type_digit_scheme_puts_the_type_in_the_code(tmp_path):
    with Registry(tmp_path / "typed.sqlite", scheme="type_digit") as registry:
        grids = layer(("t1", C1, "a", (0, 0, 100, 100)), ("t2", C1, "b", (100, 0, 200, 100)))
        grids["type"] = ["city", "dedicated"]
        v1 = registry.assign(grids, when="2025-01-06")
        assert v1["code"].tolist() == [C1 + "1001", C1 + "3002"]
        grids["type"] = ["city", "city"]  # a type change changes the code: retired, successor numbered 003
        v2 = registry.assign(grids, when="2025-02-03")
        assert v2["code"].tolist() == [C1 + "1001", C1 + "1003"]
        assert v2["parents"].tolist() == ["", C1 + "3002"]
    assert Registry(tmp_path / "typed.sqlite").scheme == TYPE_DIGIT  # the scheme is stored in the file


def test_cjt349_codes(tmp_path):
    with Registry(tmp_path / "cjt.sqlite", scheme=CJT_349) as registry:
        out = registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100))), when="2025-01-06")
    assert out["code"].tolist() == ["000000" + C1 + "01"]


def test_diff_by_version_and_date_and_current_export(registry):
    registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100)), ("t2", C2, "b", (0, 100, 100, 200))),
                    when="2025-01-06")
    registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100)), ("t3", C2, "c", (0, 100, 50, 200)),
                          ("t4", C2, "d", (50, 100, 100, 200))), when="2025-02-03")
    assert registry.diff(since=2).changes.empty and registry.diff(since="2026-01-01").versions == []
    diff = registry.diff(since="2025-01-07")
    assert diff.versions == [2]
    assert diff.changes[["event", "code", "parents", "children", "lineage"]].values.tolist() == [
        ["retired", C2 + "001", "", f"{C2}002;{C2}003", "split"],
        ["added", C2 + "002", C2 + "001", "", "split"], ["added", C2 + "003", C2 + "001", "", "split"]]
    assert diff.by_community.set_index("community_code").loc[C2].tolist() == [2, 1, 1, 0, 0]
    assert registry.diff(since=0).totals()["added"] == 4
    assert '"totals"' in diff.to_json()
    current = registry.current()
    assert current.crs.to_epsg() == 4490 and current["code"].tolist() == [C1 + "001", C2 + "002", C2 + "003"]
    assert current["street_code"].tolist() == [C1[:9], C2[:9], C2[:9]]
    assert metres(current).area.round(3).tolist() == [10_000, 5_000, 5_000]


def html_tables(page):
    """The tables of an HTML fragment as DataFrames of text (the fragment is well-formed XML)."""
    root = ElementTree.fromstring(f"<div>{page}</div>")
    frames = []
    for table in root.iter("table"):
        rows = [[cell.text or "" for cell in row] for row in table.iter("tr")]
        frames.append(pd.DataFrame(rows[1:], columns=rows[0]))
    return frames


def test_registry_and_diff_show_summary_tables_in_jupyter(registry):
    registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100)), ("t2", C2, "b", (0, 100, 100, 200))),
                    when="2025-01-06")
    registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100))), when="2025-02-03")
    (shown,) = html_tables(registry._repr_html_())
    assert shown["version"].tolist() == ["1", "2"] and shown["retired"].tolist() == ["0", "1"]
    assert "<b>1</b> active codes" in registry._repr_html_()
    diff = registry.diff(since="2025-01-07")
    totals, by_street = html_tables(diff._repr_html_())
    assert totals.iloc[0].astype(int).to_dict() == diff.totals() and diff.totals()["retired"] == 1
    assert by_street["street_code"].tolist() == [C2[:9]]


# --------------------------------------------------------------------------- the sample city

@pytest.fixture(scope="module")
def sample():
    """The sample city built twice: as is, then with two compounds added in empty land of two communities
    and one community re-divided with a smaller household range."""
    city, first = sample_city(), sample_build()  # built once per session (tests/cases_fixtures.py)
    crs = metric_crs(city.communities)
    communities = city.communities.to_crs(crs).set_index("code")
    blocked = shapely.union_all(shapely.buffer(city.units.to_crs(crs).geometry.to_numpy(), 40))
    grid_counts = first.grids[first.grids["type"] == "city"].groupby("community_code").size()
    redivided = grid_counts.idxmax()
    spots = []
    for code in communities.index[communities["kind"] == "urban"].drop(redivided):
        free = communities.geometry[code].difference(blocked)
        circle = shapely.maximum_inscribed_circle(free, tolerance=1.0)
        spots.append((circle.length, code, shapely.get_point(circle, 0)))
    added = []
    for number, (radius, code, centre) in enumerate(sorted(spots, reverse=True)[:2], start=1):
        assert radius > 50  # a 60 m square fits in the empty land
        added.append({"unit_id": f"NEW{number}", "name": f"新小区{number}", "kind": "compound",
                      "households": 400, "population": 1200, "buildings": 4, "community_code": code,
                      "geometry": centre.buffer(30, cap_style="square")})
    new_units = gpd.GeoDataFrame(added, crs=crs).to_crs(city.units.crs)
    units = pd.concat([city.units, new_units], ignore_index=True)
    with pytest.warns(GridmapWarning):
        second = build_grids(city.communities, units)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)  # its units' community-code conflicts, as above
        own_units = second.units[second.units["community_code"] == redivided].drop(columns="grid_code")
        redone = build_grids(city.communities[city.communities["code"] == redivided], own_units,
                             rules=GridRules(city_households=(150, 260)))
    rebuilt = pd.concat([second.grids[second.grids["community_code"] != redivided], redone.grids],
                        ignore_index=True)
    return {"first": first.grids, "rebuilt": rebuilt, "redivided": redivided, "added": new_units,
            "touched": {redivided, *new_units["community_code"]}}


def keys(frame):
    return frame["community_code"] + "|" + frame["unit_ids"]


def test_sample_city_codes_are_unique_valid_and_in_reading_order(sample, tmp_path):
    with Registry(tmp_path / "sample.sqlite") as registry:
        out = registry.assign(sample["first"], when="2025-01-06")
        assert registry.check().ok
    assert out["code"].is_unique and len(out) == len(sample["first"])
    parsed = parse_many(out["code"])  # raises on any invalid code
    assert (parsed["community_code"] == out["community_code"]).all()
    for community, group in out.groupby("community_code"):
        expected = [f"{community}{i:03d}" for i in range(1, len(group) + 1)]
        assert group["code"].iloc[reading_order(group.geometry)].tolist() == expected
    # the builder numbers grids the same way: -002 of the build becomes …002, not …003
    assert (out["temp_code"].str.replace("-", "") == out["code"]).all()


def test_sample_city_rebuild_keeps_untouched_codes_and_retires_with_lineage(sample, tmp_path):
    first, rebuilt, redivided = sample["first"], sample["rebuilt"], sample["redivided"]
    path = tmp_path / "sample.sqlite"
    with Registry(path) as registry:
        v1 = registry.assign(first, when="2025-01-06")
        v2 = registry.assign(rebuilt, when="2025-06-01")
        assert registry.check().ok
        counts = table_counts(path)
        v3 = registry.assign(rebuilt, when="2025-07-01")
        assert table_counts(path) == counts and v3["code"].tolist() == v2["code"].tolist()
        retired_codes = sorted(set(v1["code"]) - set(v2["code"]))
        histories = {code: registry.history(code) for code in retired_codes}
        current = metres(registry.current()).set_index("code")
        diff = registry.diff(since=1)

    # every grid whose member units did not change keeps its code
    old_code = dict(zip(keys(v1), v1["code"], strict=True))
    same = keys(v2).isin(old_code)
    assert same.mean() > 0.8
    assert (v2.loc[same, "code"] == keys(v2)[same].map(old_code)).all()
    # communities the rebuild did not touch: every code kept, no new version
    untouched = ~v2["community_code"].isin(sample["touched"])
    before = v1.loc[~v1["community_code"].isin(sample["touched"]), "code"]
    assert set(v2.loc[untouched, "code"]) == set(before)
    assert not v2.loc[untouched, "changed"].any()
    # the added compounds lie in new grids
    for unit in sample["added"]["unit_id"]:
        holder = v2[v2["unit_ids"].str.split(";").apply(lambda ids, u=unit: u in ids)]
        assert len(holder) == 1 and holder["status"].iloc[0] == "new"
    # new codes continue after the highest ever issued, in reading order within each community
    assert v2["code"].is_unique and parse_many(v2["code"])["sequence"].notna().all()
    highest = parse_many(v1["code"]).groupby("community_code")["sequence"].max()
    new = v2[v2["status"] == "new"]
    for community, group in new.groupby("community_code"):
        start = highest[community] + 1
        expected = [f"{community}{i:03d}" for i in range(start, start + len(group))]
        assert group["code"].iloc[reading_order(group.geometry)].tolist() == expected
    # retired codes: in touched communities only, with children covering their land
    assert retired_codes and {code[:12] for code in retired_codes} <= sample["touched"]
    assert any(code.startswith(redivided) for code in retired_codes)
    old_land = metres(v1).set_index("code").geometry
    splits = 0
    for code, history in histories.items():
        assert history["event"].tolist() == ["issued", "retired"]
        children = history["children"].iloc[-1].split(";")
        splits += history["lineage"].iloc[-1] in ("split", "reshaped")
        covered = shapely.union_all(current.geometry[children].to_numpy()).intersection(old_land[code]).area
        assert covered / old_land[code].area > 0.9, code
    assert splits >= 1
    assert diff.totals()["added"] == len(new) and diff.totals()["retired"] == len(retired_codes)
    assert diff.totals()["split"] == splits
    assert diff.by_street[list(diff.totals())].sum().to_dict() == diff.totals()


# ------------------------------------------------------------------------ schema and migration

def write_v0(path, rows):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE codes (code TEXT, community_code TEXT, sequence INTEGER, issued_on TEXT, "
                "retired_on TEXT)")
    con.executemany("INSERT INTO codes VALUES (?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def test_schema_0_file_is_migrated_on_open(tmp_path):
    path = tmp_path / "old.sqlite"
    write_v0(path, [(C1 + "001", C1, 1, "2024-01-02", None), (C1 + "002", C1, 2, "2024-01-02", "2024-05-06"),
                    (C1 + "003", C1, 3, "2024-05-06", None)])
    with Registry(path) as registry:
        con = sqlite3.connect(path)
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [v for (v,) in con.execute("SELECT version FROM schema_version ORDER BY version")] == [0, 1]
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert registry.versions()[["version", "issued_on", "added", "retired"]].values.tolist() == [
            [1, "2024-01-02", 2, 0], [2, "2024-05-06", 1, 1]]
        assert registry.history(C1 + "002")["event"].tolist() == ["issued", "retired"]
        assert registry.check().ok
        # imported codes have no units or geometry: a build names them in grid_code to keep them
        grids = layer(("t1", C1, "a", (0, 0, 100, 100)), ("t3", C1, "c", (100, 0, 200, 100)),
                      ("t4", C1, "d", (200, 0, 300, 100)))
        grids["grid_code"] = [C1 + "001", C1 + "003", None]
        out = registry.assign(grids, when="2025-01-06")
        assert out["code"].tolist() == [C1 + "001", C1 + "003", C1 + "004"]
        assert out["status"].tolist() == ["kept", "kept", "new"]
        assert out["changed"].tolist() == [True, True, False]
        again = registry.assign(grids.drop(columns="grid_code"), when="2025-01-06")
        assert again["code"].tolist() == out["code"].tolist() and not again["changed"].any()


def test_schema_0_codes_of_another_scheme_are_refused(tmp_path):
    path = tmp_path / "old.sqlite"
    write_v0(path, [(C1 + "1001", C1, 1, "2024-01-02", None)])
    with pytest.raises(RegistryError, match=r"old.sqlite: .*not of scheme 'default'.*Fix: open it with"):
        Registry(path)
    with Registry(path, scheme="type_digit") as registry:
        assert len(registry) == 1


def test_schema_0_micro_grid_codes_are_refused(tmp_path):
    path = tmp_path / "old.sqlite"
    write_v0(path, [(C1 + "00101", C1, 1, "2024-01-02", None)])
    with pytest.raises(RegistryError, match=r"code 45010200100300101 is a micro-grid code"):
        Registry(path)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    Registry(path).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(RegistryError, match=r"new.sqlite: .*schema version 99.*Fix: upgrade gridmap"):
        Registry(path)


# ----------------------------------------------------------------------------------- errors

def test_files_that_are_not_registries(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("hello")
    with pytest.raises(RegistryError, match=r"notes.sqlite: not a code registry: .*not an SQLite.*Fix:"):
        Registry(text)
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE people (name TEXT)")
    con.close()
    with pytest.raises(RegistryError, match=r"other.db: not a code registry: .*other tables \(people\)"):
        Registry(other)
    gpkg = tmp_path / "grids.gpkg"
    layer(("t1", C1, "a", (0, 0, 100, 100))).to_file(gpkg)
    with pytest.raises(RegistryError, match=r"grids.gpkg: not a code registry: .*GeoPackage.*current"):
        Registry(gpkg)
    with pytest.raises(RegistryError, match=r"missing.sqlite: no registry at this path"):
        Registry(tmp_path / "missing.sqlite", create=False)
    with pytest.raises(RegistryError, match="is a folder"):
        Registry(tmp_path)


def test_another_scheme_is_refused(tmp_path):
    Registry(tmp_path / "r.sqlite").close()
    with pytest.raises(RegistryError, match=r"r.sqlite: the registry holds codes of scheme 'default'.*Fix:"):
        Registry(tmp_path / "r.sqlite", scheme="type_digit")


@pytest.mark.parametrize("change,match", [
    (lambda g: g.drop(columns="community_code"), r"registry.sqlite: grids have no community_code column"),
    (lambda g: g.assign(community_code=[None, C1]), r"row 0 \(t1\): community_code is missing"),
    (lambda g: g.assign(community_code=["450102000003", C1]), r"'450102000003' is not a community"),
    (lambda g: g.assign(community_code=["4501", C1]), r"'4501' is not a community .* \(it is not 12"),
    (lambda g: g.assign(unit_ids=["a", "a"]), r"row 0 \(t1\) and row 1 \(t2\): two grids have the"),
    (lambda g: g.iloc[:0], "the build has no grids"),
    (lambda g: pd.DataFrame(g.drop(columns=["unit_ids", "geometry"])), "neither member units"),
])
def test_bad_builds_are_refused(registry, change, match):
    grids = layer(("t1", C1, "a", (0, 0, 100, 100)), ("t2", C1, "b", (100, 0, 200, 100)))
    with pytest.raises(RegistryError, match=match):
        registry.assign(change(grids), when="2025-01-06")
    assert table_counts(registry.path)["codes"] == 0


def test_two_grids_continuing_one_registered_grid_are_refused(registry):
    registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100))), when="2025-01-06")
    twins = layer(("x1", C1, "a", (0, 0, 50, 100)), ("x2", C1, "a", (50, 0, 100, 100)))
    with pytest.raises(RegistryError, match=r"row 0 \(x1\) and row 1 \(x2\): two grids have the same member"):
        registry.assign(twins, when="2025-02-03")
    assert len(registry.versions()) == 1 and registry.check().ok


def test_bad_options_and_codes_are_refused(registry):
    grids = layer(("t1", C1, "a", (0, 0, 100, 100)))
    registry.assign(grids, when="2025-02-03")
    with pytest.raises(RegistryError, match=r"when=2025-01-06 is before .* last version 1 \(2025-02-03\)"):
        registry.assign(grids, when=dt.date(2025, 1, 6))
    with pytest.raises(RegistryError, match="when='soon' is not a date"):
        registry.assign(grids, when="soon")
    with pytest.raises(RegistryError, match="scope must be one of all, communities"):
        registry.assign(grids, scope="street")
    with pytest.raises(RegistryError, match=r"code '4501020010031001'.*length 16.*codes of scheme 'default'"):
        registry.history("4501020010031001")
    with pytest.raises(RegistryError, match=r"code 450102001003009 was never issued"):
        registry.history(C1 + "009")
    with pytest.raises(RegistryError, match="since=-1 is not a version"):
        registry.diff(since=-1)


def test_typed_scheme_needs_known_types(tmp_path):
    with Registry(tmp_path / "typed.sqlite", scheme=TYPE_DIGIT) as registry:
        grids = layer(("t1", C1, "a", (0, 0, 100, 100)), kind="micro")
        with pytest.raises(RegistryError, match=r"row 0 \(t1\): grid type 'micro' has no digit in scheme"):
            registry.assign(grids)


def test_a_community_out_of_sequences_is_refused_and_nothing_written(tmp_path):
    with Registry(tmp_path / "cjt.sqlite", scheme=CJT_349) as registry:  # sequences 01-99
        rows = [(f"t{i}", C1, f"u{i}", (10 * i, 0, 10 * i + 10, 10)) for i in range(100)]
        with pytest.raises(RegistryError, match=r"community 450102001003 needs 100 new codes \(1–100\)"):
            registry.assign(layer(*rows), when="2025-01-06")
        assert len(registry) == 0 and registry.versions().empty


def test_a_busy_registry_times_out_with_a_clear_error(tmp_path):
    path = tmp_path / "r.sqlite"
    Registry(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Registry(path, timeout=0.2) as registry:
            with pytest.raises(RegistryError, match=r"r.sqlite: the registry is busy.*Fix: retry"):
                registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100))))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_unique_index_refuses_a_duplicate_code_even_from_raw_sql(registry):
    registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100))), when="2025-01-06")
    con = sqlite3.connect(registry.path)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE constraint failed: codes.code"):
        con.execute("INSERT INTO codes VALUES (?, 5, ?, 'city', 1, NULL)", (C2, C1 + "001"))
    con.close()


def test_check_finds_a_tampered_counter(registry):
    registry.assign(layer(("t1", C1, "a", (0, 0, 100, 100))), when="2025-01-06")
    con = sqlite3.connect(registry.path)
    con.execute("UPDATE counters SET last_sequence = 0")
    con.commit()
    con.close()
    report = registry.check()
    assert not report.ok and report.to_frame()["check"].tolist() == ["counter"]


# --- a full disk under the registry: SQLite often says only "disk I/O error" (issue 14) -------------------

def test_disk_io_error_on_a_full_disk_says_disk_full(tmp_path, monkeypatch):
    from gridmap.codes import _registry_sql
    from gridmap.io import _atomic

    error = sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(_atomic, "_free_bytes", lambda folder: 0)
    said = _registry_sql.explain(error, tmp_path / "registry.sqlite")
    assert str(said).startswith(f"{tmp_path / 'registry.sqlite'}: disk full: the registry could not be "
                                "written; nothing was changed")
    monkeypatch.setattr(_atomic, "_free_bytes", lambda folder: 10 << 30)
    assert "cannot read or write the registry file (disk I/O error)" in \
        str(_registry_sql.explain(error, tmp_path / "registry.sqlite"))


def test_real_full_disk_under_the_registry(tmp_path):
    import subprocess
    grids = sample_build().grids
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        for filler in (100_000, 190_000):  # fails at COMMIT ("disk is full") or at BEGIN ("disk I/O error")
            (folder / "filler").write_bytes(b"x" * filler)
            with pytest.raises(RegistryError, match="disk full: the registry could not be written") as caught:
                with Registry(folder / "registry.sqlite") as registry:
                    registry.assign(grids, when="2025-01-01")
            assert "busy" not in str(caught.value) and "damaged" not in str(caught.value)
            for path in folder.iterdir():
                path.unlink()
    finally:
        subprocess.run(["umount", str(folder)], check=True)


_ID_PIECES = st.sampled_from(["U1", "U2", "u10", "Z", "a", "é", "e", "甲", "乙", "𠀀", "1", "01", " ", ";",
                              ",", "，", "；", "、", "|", "\t"])


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.lists(_ID_PIECES, max_size=8).map("".join)), min_size=1,
                       max_size=20))
def test_unit_ids_are_read_as_their_sorted_distinct_ids(values):
    """Arrow's check of which lists are already sorted (no Python loop per grid) changes no answer:
    every list comes out as ``join_ids(sorted(set(split_ids(...))))``, with the number of its ids."""
    text, counts = registry_module._units(pd.DataFrame({"unit_ids": values}, index=range(5, 5 + len(values))))
    expected = [join_ids(sorted(set(split_ids(v)))) for v in values]
    assert text.tolist() == expected
    assert counts.tolist() == [len(split_ids(e)) for e in expected]
