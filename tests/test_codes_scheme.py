"""Grid code schemes: format/parse round trips, validation messages, vectorised parsing, real division codes,
reading order and first-time numbering."""

import dataclasses
import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gridmap.codes import (
    CJT_349,
    COLUMNS,
    DEFAULT,
    SCHEMES,
    TYPE_DIGIT,
    CodeScheme,
    assign_sequential_codes,
    check_code,
    format_code,
    get_scheme,
    parse,
    parse_many,
    validate,
)
from gridmap.division.order import reading_order
from gridmap.errors import CodeError, GeometryError, SchemaError

# ---------------------------------------------------------------- schemes

def test_shipped_schemes_have_the_documented_layouts():
    assert (DEFAULT.length, DEFAULT.lengths, DEFAULT.sequence_max) == (15, (15, 17), 999)
    assert (TYPE_DIGIT.length, TYPE_DIGIT.grid_types) == (16, {"city": "1", "rural": "2", "dedicated": "3"})
    assert (CJT_349.length, CJT_349.lengths, CJT_349.sequence_max) == (20, (20,), 99)
    assert CJT_349.object_code == "000000"
    assert CJT_349.offsets["community"] == (6, 18) and CJT_349.offsets["sequence"] == (18, 20)
    assert {name: get_scheme(name) for name in ("default", "type_digit", "cjt349")} == dict(SCHEMES)
    assert get_scheme(TYPE_DIGIT) is TYPE_DIGIT


def test_unknown_scheme_name_lists_the_known_ones():
    with pytest.raises(CodeError, match="unknown code scheme 'beijing'.*default, type_digit, cjt349"):
        get_scheme("beijing")


@pytest.mark.parametrize("kwargs,match", [
    ({"fields": (("community", 11), ("sequence", 3))}, "'community' field of width 12"),
    ({"fields": (("community", 12),)}, "'sequence' field"),
    ({"fields": (("community", 12), ("grid", 2), ("sequence", 3))}, "unknown field 'grid'"),
    ({"fields": (("community", 12), ("type", 1), ("sequence", 3))}, "needs type_digits"),
    ({"fields": (("community", 12), ("type", 1), ("sequence", 3)),
      "type_digits": {"city": "1", "rural": "1"}},
     "distinct"),
    ({"fields": (("object", 4), ("community", 12), ("sequence", 2)), "object_code": "12"}, "object_code"),
    ({"fields": (("community", 12), ("sequence", 3)), "micro_width": 5}, "micro_width"),
])
def test_bad_scheme_definitions_are_refused(kwargs, match):
    with pytest.raises(CodeError, match=match):
        CodeScheme("bad", **kwargs)


def test_scheme_is_configurable_and_hashable():
    digits = {"city": "4", "rural": "5", "dedicated": "6"}
    wuhan = dataclasses.replace(TYPE_DIGIT, name="custom", type_digits=digits)
    assert format_code("420102001001", 3, scheme=wuhan, grid_type="rural") == "4201020010015003"
    assert parse("4201020010015003", scheme=wuhan).grid_type == "rural"
    assert validate("4201020010011003", scheme=wuhan) == [
        "type field '1' of code 4201020010011003 must be one of 4 (city), 5 (rural), 6 (dedicated)"]
    assert hash(wuhan) != hash(TYPE_DIGIT)
    water = dataclasses.replace(CJT_349, object_code="010100")
    assert format_code("450102001003", 0, scheme=water).startswith("010100450102001003")


# ---------------------------------------------------------------- format / parse round trips

def community_codes(merged: bool = False):
    village = st.integers(1, 599) | (st.integers(601, 999) if merged else st.nothing())
    return st.builds(lambda p, c, d, s, v: f"{p:02d}{c:02d}{d:02d}{s:03d}{v:03d}",
                     st.integers(11, 82), st.integers(0, 99), st.integers(0, 99), st.integers(1, 599),
                     village)


@settings(max_examples=150, deadline=None)
@given(community_codes(), st.integers(1, 999), st.none() | st.integers(1, 99))
def test_default_round_trip(community, sequence, micro):
    code = format_code(community, sequence, micro=micro)
    assert len(code) == (17 if micro else 15) and code.startswith(community)
    g = parse(code)
    assert (g.community_code, g.sequence, g.micro, g.grid_type) == (community, sequence, micro, None)
    assert (g.province_code, g.city_code, g.district_code, g.street_code) == (
        community[:2], community[:4], community[:6], community[:9])
    assert validate(code) == []


@settings(max_examples=150, deadline=None)
@given(community_codes(), st.integers(1, 999), st.sampled_from(["city", "rural", "dedicated"]),
       st.none() | st.integers(1, 99))
def test_type_digit_round_trip(community, sequence, grid_type, micro):
    code = format_code(community, sequence, scheme=TYPE_DIGIT, grid_type=grid_type, micro=micro)
    assert code[12] == {"city": "1", "rural": "2", "dedicated": "3"}[grid_type]
    g = parse(code, scheme="type_digit")
    assert (g.community_code, g.sequence, g.grid_type, g.micro) == (community, sequence, grid_type, micro)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(community_codes(merged=True), st.integers(0, 99), st.from_regex(r"\A[0-9]{6}\Z"))
def test_cjt349_round_trip(community, sequence, object_code):
    code = format_code(community, sequence, scheme=CJT_349, object_code=object_code)
    assert len(code) == 20 and code[:6] == object_code and code[6:18] == community
    g = parse(code, scheme=CJT_349)
    assert (g.object_code, g.community_code, g.sequence) == (object_code, community, sequence)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(list(SCHEMES)), st.lists(st.tuples(community_codes(), st.integers(1, 99),
                                                            st.sampled_from(["city", "rural", "dedicated"])),
                                                  min_size=1, max_size=20))
def test_parse_many_equals_parse_row_by_row(name, items):
    scheme = get_scheme(name)
    codes = [format_code(c, s, scheme=scheme, grid_type=t) for c, s, t in items]
    frame = parse_many(codes, scheme=scheme)
    assert list(frame.columns) == list(COLUMNS)
    expected = pd.DataFrame([parse(code, scheme=scheme).to_dict() for code in codes])
    for column in COLUMNS:
        got = [None if pd.isna(v) else v for v in frame[column]]
        assert got == [None if pd.isna(v) else v for v in expected[column]], column


def test_format_code_refuses_what_does_not_fit():
    with pytest.raises(CodeError, match=r"sequence 1000 does not fit scheme 'default' \(001–999\)"):
        format_code("450102001003", 1000)
    with pytest.raises(CodeError, match=r"sequence 0 does not fit"):
        format_code("450102001003", 0)
    with pytest.raises(CodeError, match="sequence must be a whole number"):
        format_code("450102001003", 1.0)
    with pytest.raises(CodeError, match="not a 12-digit string"):
        format_code(450102001003, 1)
    with pytest.raises(CodeError, match="grid_type None is not one of city, rural, dedicated"):
        format_code("450102001003", 1, scheme=TYPE_DIGIT)
    with pytest.raises(CodeError, match=r"micro-grid 1 does not fit scheme 'cjt349' \(micro-grids: none\)"):
        format_code("450102001003", 1, scheme=CJT_349, micro=1)
    with pytest.raises(CodeError, match="street field '000'"):
        format_code("450102000003", 1)
    assert format_code("450102001003", 5, grid_type="rural") == "450102001003005"  # type stays an attribute


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("code,scheme,message", [
    ("450102000003007", DEFAULT, "street field '000' of code 450102000003007 must be 001–599"),
    ("450102600003007", DEFAULT, "street field '600' of code 450102600003007 must be 001–599"),
    ("450102001000007", DEFAULT, "community field '000' of code 450102001000007 must be 001–599"),
    ("450102001601007", DEFAULT, "community field '601' of code 450102001601007 must be 001–599"),
    ("450102001003000", DEFAULT, "sequence field '000' of code 450102001003000 must be 001–999"),
    ("45010200100300700", DEFAULT, "micro-grid field '00' of code 45010200100300700 must be 01–99"),
    ("4501020010034007", TYPE_DIGIT,
     "type field '4' of code 4501020010034007 must be one of 1 (city), 2 (rural), 3 (dedicated)"),
    ("00000045010200100A07", CJT_349, "non-digit 'A' at position 18"),
    ("45010200100３007", DEFAULT, "non-digit '３' at position 12"),  # a full-width digit
    ("4501020010030070", DEFAULT, "has length 16; scheme 'default' needs 15 or 17"),
    ("450102001003007", CJT_349, "has length 15; scheme 'cjt349' needs 20"),
])
def test_validate_names_the_bad_field(code, scheme, message):
    problems = validate(code, scheme=scheme)
    assert len(problems) == 1 and message in problems[0]


def test_validate_lists_every_problem_and_accepts_scheme_specific_values():
    assert validate("450102000000000") == [
        "street field '000' of code 450102000000000 must be 001–599",
        "community field '000' of code 450102000000000 must be 001–599",
        "sequence field '000' of code 450102000000000 must be 001–999"]
    # CJ/T 349: sequence 00 = community not subdivided; community 601–999 = merged communities
    assert validate("00000045010200100300", scheme=CJT_349) == []
    assert validate("00000045010200160105", scheme=CJT_349) == []
    assert validate(None) == ["code is missing"]
    assert "not a string" in validate(450102001003007)[0]


def test_check_code_raises_with_field_record_and_fix():
    with pytest.raises(CodeError, match=r"grids\.csv, row 9: street field '000' of code 450102000003007 "
                                        r"must be 001–599\. Fix: street digits"):
        check_code("450102000003007", path="grids.csv", record="row 9")
    with pytest.raises(CodeError, match="sequence field"):
        parse("450102001003000")
    check_code("450102001003007")  # valid: no error


ADMIN = pd.DataFrame({"code": ["450102", "450102001", "450102001003"],
                      "name": ["兴宁区", "民生街道", "兴宁社区居委会"]})


def test_validate_against_a_division_table():
    assert validate("450102001003007", ADMIN) == []
    assert validate("450102001099007", ADMIN) == [
        "community 450102001099 of code 450102001099007 is not in the division table; "
        "its street 450102001 民生街道 is"]
    assert "neither is its street 450102002" in validate("450102002001001", ADMIN)[0]
    # merged CJ/T 349 communities have no row: their street must exist
    assert validate("00000045010200160101", ADMIN, scheme=CJT_349) == []
    with pytest.raises(SchemaError, match="'code' column"):
        validate("450102001003007", ADMIN.rename(columns={"code": "id"}))


# ---------------------------------------------------------------- parse_many

def test_parse_many_keeps_the_index_and_reads_micro_grids():
    codes = pd.Series(["450102001003007", "45010200100300712"], index=["g1", "g2"])
    frame = parse_many(codes)
    assert frame.index.tolist() == ["g1", "g2"]
    assert frame["sequence"].tolist() == [7, 7] and frame["micro"].isna().tolist() == [True, False]
    assert frame.loc["g2", "micro"] == 12 and frame.loc["g1", "street_code"] == "450102001"
    assert codes.tolist() == ["450102001003007", "45010200100300712"]  # input untouched


def test_parse_many_raise_names_rows_and_coerce_leaves_na():
    codes = pd.Series(["450102001003007", "450102000003007", "45010200100300x", None], index=[10, 11, 12, 13])
    with pytest.raises(CodeError, match=r"3 of 4 codes are invalid: row 11: street field '000'"
                                        r".*row 12: .*non-digit"
                                        r".*row 13: code is missing.*errors='coerce'"):
        parse_many(codes)
    frame = parse_many(codes, errors="coerce")
    assert frame["community_code"].notna().tolist() == [True, False, False, False]
    assert frame["sequence"].dtype == "Int64" and frame.loc[10, "sequence"] == 7


def test_parse_many_refuses_numbers_and_unknown_errors_mode():
    with pytest.raises(CodeError, match=r"codes are numbers \(int64\).*dtype=str"):
        parse_many(pd.Series([450102001003007]))
    with pytest.raises(CodeError, match="errors must be"):
        parse_many(["450102001003007"], errors="ignore")
    assert parse_many([]).empty and list(parse_many([]).columns) == list(COLUMNS)


def test_parse_many_vectorised_checks_agree_with_validate():
    rng = np.random.default_rng(7)
    digits = rng.integers(0, 10, size=(3000, 16))
    digits[:, :6] = [4, 5, 0, 1, 0, 2]
    digits[::3, 6:9] = 0  # a third with street 000
    codes = ["".join(map(str, row[: 15 + (i % 2)])) for i, row in enumerate(digits)]
    for scheme in (DEFAULT, TYPE_DIGIT):
        frame = parse_many(codes, scheme=scheme, errors="coerce")
        expected = [validate(code, scheme=scheme) == [] for code in codes]
        assert frame["community_code"].notna().tolist() == expected
        assert 0 < sum(expected) < len(codes)


# ---------------------------------------------------------------- real division codes (Nanning)

@pytest.fixture(scope="module")
def nanning(shared_data):
    villages = pd.read_csv(shared_data / "admin-codes" / "villages_guangxi_45.csv", dtype=str)
    return villages[villages["cityCode"] == "4501"].reset_index(drop=True)


def test_every_nanning_community_code_parses_back_to_its_street_and_district(nanning, shared_data):
    assert len(nanning) == 1856  # the count documented for the 2023 list
    sequences = np.arange(len(nanning)) % 999 + 1
    codes = pd.Series([format_code(c, int(s)) for c, s in zip(nanning["code"], sequences, strict=True)])
    frame = parse_many(codes)
    assert frame["community_code"].tolist() == nanning["code"].tolist()
    assert frame["street_code"].tolist() == nanning["streetCode"].tolist()
    assert frame["district_code"].tolist() == nanning["areaCode"].tolist()
    assert frame["city_code"].eq("4501").all() and frame["sequence"].tolist() == sequences.tolist()

    streets = pd.read_csv(shared_data / "admin-codes" / "streets_guangxi_45.csv", dtype=str)
    areas = pd.read_csv(shared_data / "admin-codes" / "areas.csv", dtype=str)
    named = (frame.merge(streets[["code", "name"]].rename(columns={"code": "street_code", "name": "street"}),
                         on="street_code", how="left", validate="many_to_one")
             .merge(areas[["code", "name"]].rename(columns={"code": "district_code", "name": "district"}),
                    on="district_code", how="left", validate="many_to_one"))
    assert named["street"].notna().all() and named["district"].notna().all()
    row = named.set_index("community_code").loc["450102001003"]
    assert (row["district"], row["street"]) == ("兴宁区", "民生街道")
    assert named["district"].nunique() == nanning["areaCode"].nunique() == 12


@pytest.mark.parametrize("scheme", [TYPE_DIGIT, CJT_349])
def test_nanning_codes_round_trip_in_other_schemes(nanning, scheme):
    codes = [format_code(c, 1, scheme=scheme, grid_type="rural") for c in nanning["code"]]
    frame = parse_many(codes, scheme=scheme)
    assert frame["street_code"].tolist() == nanning["streetCode"].tolist()


def test_validate_against_the_real_division_table_flags_a_fake_community(nanning, shared_data):
    from gridmap.io.admin import read_division_codes

    admin = pd.concat([read_division_codes(shared_data / "admin-codes" / "streets_guangxi_45.csv"),
                       read_division_codes(shared_data / "admin-codes" / "villages_guangxi_45.csv")])
    for community in nanning["code"].iloc[::97]:
        assert validate(format_code(community, 1), admin) == []
    assert not (admin["code"] == "450102001099").any()
    assert validate("450102001099001", admin) == [
        "community 450102001099 of code 450102001099001 is not in the division table; "
        "its street 450102001 民生街道 is"]


# ---------------------------------------------------------------- reading order

def lattice(columns, rows, *, jitter=0.0, seed=0):
    """Unit cells of a columns x rows block, shuffled; returns (cells, expected reading order positions)."""
    rng = np.random.default_rng(seed)
    cells, ranks = [], []
    for r in range(rows):
        for c in range(columns):
            dy = rng.uniform(-jitter, jitter)
            y = (rows - 1 - r) + dy
            cells.append(shapely.box(c, y, c + 1, y + 1))
            ranks.append(r * columns + c)  # reading rank: rows from the north, west to east
    shuffle = rng.permutation(len(cells))
    cells = [cells[i] for i in shuffle]
    ranks = np.array(ranks)[shuffle]
    return cells, np.argsort(ranks)


@pytest.mark.parametrize("jitter,seed", [(0.0, 3)] + [(0.3, seed) for seed in range(20)])
def test_reading_order_is_north_to_south_then_west_to_east(jitter, seed):
    # cells up to 0.3 of a row height off their row's line still land in their row
    cells, expected = lattice(4, 3, jitter=jitter, seed=seed)
    order = reading_order(gpd.GeoSeries(cells, crs=4546))
    assert order.tolist() == expected.tolist()
    # geometry check: every row lies north of the next, and within a row x grows
    points = [cells[i].representative_point() for i in order]
    rows = [points[i:i + 4] for i in range(0, 12, 4)]
    if jitter < 0.25:  # rows do not interleave
        for upper, lower in itertools.pairwise(rows):
            assert min(p.y for p in upper) > max(p.y for p in lower)
    for row in rows:
        assert [p.x for p in row] == sorted(p.x for p in row)


def test_reading_order_ties_keep_input_order_and_points_get_a_band():
    same = [shapely.box(0, 0, 1, 1)] * 3
    assert reading_order(same).tolist() == [0, 1, 2]
    points = [shapely.Point(x, y) for y in (0, 10) for x in (5, 0)]  # 0 SE, 1 SW, 2 NE, 3 NW
    assert reading_order(points).tolist() == [3, 2, 1, 0]
    assert reading_order(points, band=100).tolist() == [3, 1, 2, 0]  # one row: west to east only
    assert reading_order([]).tolist() == []


def test_reading_order_refuses_empty_geometries_and_bad_bands():
    with pytest.raises(GeometryError, match="missing or empty.*position 1"):
        reading_order([shapely.box(0, 0, 1, 1), shapely.Polygon()])
    with pytest.raises(CodeError, match="band"):
        reading_order([shapely.box(0, 0, 1, 1)], band=-1)


# ---------------------------------------------------------------- first-time numbering

def two_communities():
    a, order_a = lattice(3, 2, seed=1)
    b, order_b = lattice(2, 2, seed=2)
    b = [shapely.affinity.translate(cell, 10, 0) for cell in b]
    communities = ["450102001003"] * len(a) + ["450102001004"] * len(b)
    frame = gpd.GeoDataFrame({"community_code": communities, "grid_type": ["city"] * 6 + ["rural"] * 4},
                             geometry=a + b, crs=4546, index=[f"g{i}" for i in range(10)])
    return frame.iloc[np.random.default_rng(5).permutation(10)], order_a, order_b


def test_assign_sequential_codes_numbers_each_community_in_reading_order():
    grids, _, _ = two_communities()
    before = grids.copy()
    coded = assign_sequential_codes(grids)
    pd.testing.assert_frame_equal(grids, before)  # input untouched
    assert coded.index.tolist() == grids.index.tolist() and "code" not in grids.columns
    parsed = parse_many(coded["code"])
    assert (parsed["community_code"] == coded["community_code"]).all()
    for _community, group in coded.groupby("community_code"):
        seq = parsed.loc[group.index, "sequence"].to_numpy()
        assert sorted(seq) == list(range(1, len(group) + 1))
        expected = reading_order(group.geometry)
        assert group.index[np.argsort(seq)].tolist() == group.index[expected].tolist()
    # geometry: grid 001 of community ...003 is its north-westernmost cell
    first = coded.loc[coded["code"] == "450102001003001"].geometry.iloc[0]
    cells = coded.loc[coded["community_code"] == "450102001003"].geometry
    assert first.bounds[0] == cells.bounds["minx"].min() and first.bounds[3] == cells.bounds["maxy"].max()


def test_assign_sequential_codes_continues_after_start_and_uses_the_type_digit():
    grids, _, _ = two_communities()
    coded = assign_sequential_codes(grids, start={"450102001004": 41})
    sequences = parse_many(coded["code"])["sequence"][coded["community_code"] == "450102001004"]
    assert sorted(sequences) == [42, 43, 44, 45]
    typed = assign_sequential_codes(grids, scheme="type_digit")
    assert parse_many(typed["code"], scheme="type_digit")["grid_type"].tolist() == grids["grid_type"].tolist()
    cjt = assign_sequential_codes(grids, scheme=CJT_349)
    assert cjt["code"].str.len().eq(20).all() and cjt["code"].str.startswith("000000").all()


def test_assign_sequential_codes_refuses_overflow_naming_the_community():
    grids, _, _ = two_communities()
    with pytest.raises(CodeError, match=r"community 450102001004: community 450102001004 needs sequences "
                                        r"998–1001 but scheme 'default' holds at most 999"):
        assign_sequential_codes(grids, start={"450102001004": 997})
    with pytest.raises(CodeError, match="needs sequences 1–100 but scheme 'cjt349' holds at most 99"):
        cells = [shapely.box(i, 0, i + 1, 1) for i in range(100)]
        assign_sequential_codes(gpd.GeoDataFrame({"community_code": ["450102001003"] * 100}, geometry=cells),
                                scheme=CJT_349)


def test_assign_sequential_codes_refuses_bad_input():
    grids, _, _ = two_communities()
    with pytest.raises(SchemaError, match="no column 'community'"):
        assign_sequential_codes(grids, community_column="community")
    with pytest.raises(CodeError, match=r"row g\d: street field '000'"):
        assign_sequential_codes(grids.assign(community_code="450102000003"))
    with pytest.raises(CodeError, match="not text"):
        assign_sequential_codes(grids.assign(community_code=450102001003))
    with pytest.raises(CodeError, match=r"row g\d: community code is missing"):
        assign_sequential_codes(grids.assign(community_code=None))
    with pytest.raises(CodeError, match="already have codes"):
        assign_sequential_codes(grids.assign(code="x"))
    with pytest.raises(CodeError, match=r"grid type 'town' is not one of city, rural, dedicated"):
        assign_sequential_codes(grids.assign(grid_type="town"), scheme=TYPE_DIGIT)
    with pytest.raises(SchemaError, match="grid type but grids have no column"):
        assign_sequential_codes(grids.drop(columns="grid_type"), scheme=TYPE_DIGIT)
    with pytest.raises(SchemaError, match="GeoDataFrame"):
        assign_sequential_codes(pd.DataFrame(grids.drop(columns="geometry")))
