"""Beidou grid location codes (GB/T 39409-2020): the standard's vectors, exact edges, decoding, refusals."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gridmap.codes import beidou, beidou_cell, beidou_decode, beidou_level
from gridmap.codes.beidou import LEVEL_LENGTHS, NOISE_ULPS
from gridmap.errors import CodeError, GridmapError

PER_DEGREE = 3600 * 2048  # level-10 ticks (1/2048 arc-second) per degree
# Cell sides in arc-seconds, from the standard's table (independent of the module's tick constants).
SIDE_ARCSEC = {1: (21600, 14400), 2: (1800, 1800), 3: (900, 600), 4: (60, 60), 5: (4, 4), 6: (2, 2),
               7: (Fraction(1, 4),) * 2, 8: (Fraction(1, 32),) * 2, 9: (Fraction(1, 256),) * 2,
               10: (Fraction(1, 2048),) * 2}


def dms(d, m, s):
    return d + m / 60 + s / 3600


# GB/T 39409-2020 test vectors: 39°59′35.38″N 116°18′45.37″E at levels 1–8.
POINT = (dms(116, 18, 45.37), dms(39, 59, 35.38))
VECTORS = ["N50J", "N50J47", "N50J475", "N50J47539", "N50J47539B8", "N50J47539B82", "N50J47539B8255",
           "N50J47539B825534"]


@pytest.mark.parametrize("level,expected", list(enumerate(VECTORS, start=1)))
def test_standard_vectors_levels_1_to_8(level, expected):
    assert beidou(*POINT, level=level) == expected


@pytest.mark.parametrize("lon,lat,expected", [
    (dms(116, 19, 14.3184), dms(39, 59, 56.1444), "N50J475493E"),
    (dms(116, 19, 5.9808), dms(39, 59, 59.7012), "N50J475491E"),
    (dms(116, 19, 9.3540), dms(39, 59, 56.5260), "N50J475492E"),
])
def test_standard_vectors_level_5(lon, lat, expected):
    assert beidou(lon, lat, level=5) == expected


def test_vectorised_matches_scalar_and_keeps_shape_and_index():
    lon = np.array([[POINT[0], 108.32], [73.5, 134.9]])
    lat = np.array([[POINT[1], 22.82], [39.4, 48.3]])
    codes = beidou(lon, lat, level=9)
    assert codes.shape == (2, 2)
    assert codes[0, 0] == beidou(*POINT, level=9)
    one_by_one = [beidou(x, y, level=9) for x, y in zip(lon.ravel(), lat.ravel(), strict=True)]
    assert one_by_one == codes.ravel().tolist()
    series = beidou(pd.Series(lon[0], index=["a", "b"]), lat[0], level=3)
    assert series.index.tolist() == ["a", "b"] and series["a"] == "N50J475"
    assert isinstance(beidou(108.3, 22.8), str) and len(beidou(108.3, 22.8)) == LEVEL_LENGTHS[7]


china_lon = st.floats(73.0, 135.5, allow_nan=False)
china_lat = st.floats(3.0, 54.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat, st.integers(1, 10))
def test_decoded_cell_contains_the_point_and_has_the_level_size(lon, lat, level):
    code = beidou(lon, lat, level=level)
    west, south, east, north = beidou_decode(code)
    tolerance = 1e-10  # degrees: the snap to 1/2,048,000″ (6.8e-11°) plus float rounding of the bounds
    assert west - tolerance <= lon < east + tolerance
    assert south - tolerance <= lat < north + tolerance
    width, height = SIDE_ARCSEC[level]
    assert math.isclose(east - west, width / 3600, rel_tol=0, abs_tol=1e-12)
    assert math.isclose(north - south, height / 3600, rel_tol=0, abs_tol=1e-12)
    assert beidou_level(code) == level


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_codes_are_hierarchical_and_child_cells_lie_in_parent_cells(lon, lat):
    codes = [beidou(lon, lat, level=level) for level in range(1, 11)]
    for parent, child in itertools.pairwise(codes):
        assert child.startswith(parent)
        outer, inner = beidou_cell(parent), beidou_cell(child)
        assert outer.buffer(1e-12).contains(inner)
    children = {1: 96, 2: 6, 3: 150, 4: 225, 5: 4, 6: 64, 7: 64, 8: 64, 9: 64}
    for level, n in children.items():
        ratio = beidou_cell(codes[level - 1]).area / beidou_cell(codes[level]).area
        assert math.isclose(ratio, n, rel_tol=1e-6)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10), st.integers(73 * 3600, 135 * 3600 - 1), st.integers(3 * 3600, 54 * 3600 - 1),
       st.integers(0, 2047))
def test_points_exactly_on_cell_edges_belong_to_the_cell_east_and_north(level, sec_x, sec_y, frac):
    # an edge of a level-k cell: a multiple of the cell side, in arc-seconds, made a float of degrees
    width, height = SIDE_ARCSEC[level]
    edge_x = Fraction(sec_x + Fraction(frac, 2048)) // width * width
    edge_y = Fraction(sec_y + Fraction(frac, 2048)) // height * height
    lon, lat = float(edge_x / 3600), float(edge_y / 3600)
    for code_level in (level, 10):
        west, south, _, _ = beidou_decode(beidou(lon, lat, level=code_level))
        assert west == float(Fraction(edge_x) / 3600) and south == float(Fraction(edge_y) / 3600)


def test_whole_minute_edges_where_naive_float_floor_fails():
    minutes = np.arange(73 * 60, 135 * 60)
    lon = minutes / 60
    naive = np.floor(lon * 60).astype(int)
    assert (naive != minutes).any(), "no float trap in this range: the test would prove nothing"
    west, _, _, _ = beidou_decode(beidou(lon, np.full(lon.size, 30.0), level=4))
    assert np.array_equal(np.rint(west * 60).astype(int), minutes)
    assert np.array_equal(west, lon)


def test_decode_known_cells_and_vectorised_decode():
    assert beidou_decode("N50J") == (114.0, 36.0, 120.0, 40.0)
    assert beidou_decode("N50J47") == (116.0, 39.5, 116.5, 40.0)
    assert beidou_decode("n50j47") == beidou_decode("N50J47")
    codes = [beidou(*POINT, level=level) for level in range(1, 11)]
    west, south, east, north = beidou_decode(np.array(codes, dtype=object))
    for i, code in enumerate(codes):
        assert (west[i], south[i], east[i], north[i]) == beidou_decode(code)
    cells = beidou_cell(codes)
    assert shapely.contains(cells, shapely.Point(*POINT)).all()
    assert beidou_cell("N50J47").equals(shapely.box(116.0, 39.5, 116.5, 40.0))


@pytest.mark.parametrize("lon,lat,match", [
    (-73.9, 40.7, "outside the north-eastern quadrant"),
    (151.2, -33.9, "outside the north-eastern quadrant"),
    (10.0, 89.0, "outside"),
    (180.0, 10.0, "outside"),
    (float("nan"), 22.8, "outside"),
    (22.8, 108.3, "swapped"),
])
def test_points_outside_the_supported_quadrant_are_refused(lon, lat, match):
    with pytest.raises(CodeError, match=match):
        beidou(lon, lat)


def test_array_with_one_bad_point_names_it():
    with pytest.raises(CodeError, match=r"point 1: .*1 of 3 points"):
        beidou([108.3, -1.0, 109.0], [22.8, 22.8, 22.8])


@pytest.mark.parametrize("level", [0, 11, True, 2.0, "7"])
def test_bad_levels_are_refused(level):
    with pytest.raises(CodeError, match="level must be an integer 1–10"):
        beidou(108.3, 22.8, level=level)


def test_mismatched_shapes_are_refused():
    with pytest.raises(CodeError, match="shape"):
        beidou([108.3, 108.4], [22.8])


@pytest.mark.parametrize("code,match", [
    ("S50J", "southern hemisphere"),
    ("N20J47", "western hemisphere"),
    ("N61J", "column '61'"),
    ("X50J", "must start with N"),
    ("N50W", "row 'W'"),
    ("N50JC7", "level-2 longitude digit 'C'; allowed 0–B"),
    ("N50J48", "level-2 latitude digit '8'; allowed 0–7"),
    ("N50J476", "level-3 digit '6'; allowed 0–5"),
    ("N50J475F0", "level-4 longitude digit 'F'; allowed 0–E"),
    ("N50J475A0", None),
    ("N50J475EA", "level-4 latitude digit 'A'; allowed 0–9"),
    ("N50J47539B8455", "level-6 digit '4'; allowed 0–3"),
    ("N50J47539B8258", "level-7 latitude digit '8'; allowed 0–7"),
    ("N50J4", "has 5 characters"),
    ("N50J47539B825534９", "has 17 characters"),
])
def test_invalid_codes_name_the_bad_character(code, match):
    if match is None:
        beidou_decode(code)  # a valid neighbour of the invalid codes: decodes
        return
    with pytest.raises(CodeError, match=match):
        beidou_decode(code)
    with pytest.raises(CodeError, match=match):
        beidou_level(code)


def test_invalid_code_among_many_names_its_position():
    with pytest.raises(GridmapError, match=r"code 1: .*row 'Z'.*1 of 3 codes"):
        beidou_decode(["N50J", "N50Z", "N49F"])
    with pytest.raises(CodeError, match="not a string"):
        beidou_decode([None, "N50J"])


# --- exact reference (issue 16): the code of the decimal the caller typed, float noise aside -------------

DIGITS = "0123456789ABCDEF"


def reference_beidou(lon: float, lat: float, level: int) -> str:
    """The GB/T 39409 code of the exact decimal ``repr(lon)``, ``repr(lat)``, computed with fractions.

    Independent of the module: cell sides come from SIDE_ARCSEC, digits from the standard's layout. The
    only tolerance is the module's documented one: a decimal within NOISE_ULPS ulps of the float input
    from a level-10 edge is read as on the edge.
    """
    def arcsec(value: float) -> Fraction:
        exact = Fraction(repr(value))
        edge = Fraction(round(exact * PER_DEGREE), PER_DEGREE)
        return 3600 * (edge if abs(exact - edge) <= NOISE_ULPS * Fraction(math.ulp(value)) else exact)

    x, y = arcsec(lon), arcsec(lat)
    code = f"N{x // SIDE_ARCSEC[1][0] + 31}{chr(ord('A') + y // SIDE_ARCSEC[1][1])}"
    for lev in range(2, level + 1):
        (pw, ph), (w, h) = SIDE_ARCSEC[lev - 1], SIDE_ARCSEC[lev]
        i, j = int(x % pw // w), int(y % ph // h)
        code += DIGITS[2 * j + i] if lev in (3, 6) else DIGITS[i] + DIGITS[j]
    return code


def test_reference_agrees_with_the_standards_vectors():
    assert [reference_beidou(*POINT, level) for level in range(1, 9)] == VECTORS


def test_a_point_1e11_below_an_edge_stays_west_of_it():
    assert beidou(116.24999999999, 39.9, 3) == reference_beidou(116.24999999999, 39.9, 3) == "N50J474"
    assert beidou(116.25, 39.9, 3) == "N50J475"


EDGE_OFFSETS = {
    "on": lambda v: v,
    "1 ulp below": lambda v: math.nextafter(v, -math.inf),
    "1 ulp above": lambda v: math.nextafter(v, math.inf),
    "1e-11 below": lambda v: v - 1e-11,
    "1e-9 below": lambda v: v - 1e-9,
}


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10), st.integers(73 * 3600, 135 * 3600 - 1), st.integers(4 * 3600, 54 * 3600 - 1),
       st.integers(0, 2047), st.sampled_from(sorted(EDGE_OFFSETS)))
def test_points_on_and_just_below_edges_match_the_exact_reference(edge_level, sec_x, sec_y, frac, offset):
    width, height = SIDE_ARCSEC[edge_level]
    edge_x = Fraction(sec_x + Fraction(frac, 2048)) // width * width
    edge_y = Fraction(sec_y + Fraction(frac, 2048)) // height * height
    move = EDGE_OFFSETS[offset]
    lon, lat = move(float(edge_x / 3600)), move(float(edge_y / 3600))
    for level in range(1, 11):
        assert beidou(lon, lat, level=level) == reference_beidou(lon, lat, level), (lon, lat, level)


@settings(max_examples=300, deadline=None)
@given(st.floats(73, 135.0), st.floats(3, 54.0), st.integers(1, 10))
def test_random_points_match_the_exact_reference(lon, lat, level):
    assert beidou(lon, lat, level=level) == reference_beidou(lon, lat, level)


def test_vectorised_codes_match_the_exact_reference_point_by_point():
    rng = np.random.default_rng(16)
    digits = rng.integers(3, 15, (2, 500))  # decimals as typed: 3 to 14 places
    lon = np.array([round(v, int(n)) for v, n in zip(rng.uniform(73, 135, 500), digits[0], strict=True)])
    lat = np.array([round(v, int(n)) for v, n in zip(rng.uniform(3, 54, 500), digits[1], strict=True)])
    for level in (3, 7, 10):
        codes = beidou(lon, lat, level=level)
        assert codes.tolist() == [reference_beidou(a, b, level) for a, b in zip(lon.tolist(), lat.tolist(),
                                                                                strict=True)]
