import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely import LineString, Point, Polygon, box

from gridmap.errors import CodeError, GeometryError, SchemaError
from gridmap.io.admin import read_division_codes
from gridmap.io.validation import (
    MAX_HOUSEHOLDS,
    MAX_POPULATION,
    repair_geometries,
    validate_admin,
    validate_units,
)
from gridmap.schema import LABELS_ZH, UNIT_KINDS

# A bow-tie near Nanning: two triangles meeting at (108.305, 22.805).
BOW_TIE = Polygon([(108.30, 22.80), (108.31, 22.81), (108.31, 22.80), (108.30, 22.81)])
TRIANGLES = shapely.union(Polygon([(108.30, 22.80), (108.305, 22.805), (108.30, 22.81)]),
                          Polygon([(108.31, 22.80), (108.305, 22.805), (108.31, 22.81)]))


def cell(i, j=0, size=0.01):
    """A small square near Nanning (lon/lat)."""
    return box(108.3 + i * size, 22.8 + j * size, 108.3 + (i + 1) * size, 22.8 + (j + 1) * size)


def layer(columns, geometry, crs=4490, **kwargs):
    return gpd.GeoDataFrame(columns, geometry=geometry, crs=crs, **kwargs)


def findings(report, check):
    frame = report.to_frame()
    return frame[frame["check"] == check]


# --- repair_geometries -------------------------------------------------------------------------------------


def test_bow_tie_repair_keeps_both_lobes():
    frame = layer({"name": ["a", "b"]}, [cell(5), BOW_TIE])
    before = frame.copy()
    fixed, report = repair_geometries(frame, id_column="name")
    repaired = fixed.geometry.iloc[1]
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"
    # same shape as the two triangles drawn separately: no area lost or added
    assert repaired.symmetric_difference(TRIANGLES).area < 1e-12
    assert repaired.area == pytest.approx(TRIANGLES.area, rel=1e-9)
    assert fixed.geometry.iloc[0].equals(cell(5))
    pd.testing.assert_frame_equal(frame, before)  # input untouched
    found = findings(report, "invalid_geometry")
    assert found["record"].tolist() == ["row 2 (b)"] and found["severity"].tolist() == ["warning"]
    assert "Self-intersection" in found["message"].iloc[0]
    # the reported area after repair is the geodesic area of the triangles, within 0.1 %
    geodesic = abs(Geod(ellps="GRS80").geometry_area_perimeter(shapely.orient_polygons(TRIANGLES))[0])
    assert found["area_after_m2"].iloc[0] == pytest.approx(geodesic, rel=1e-3)
    assert found["area_before_m2"].iloc[0] < 1.0  # the crossed ring's signed area cancels out
    assert report.ok  # a repair is a warning


def test_repair_keeps_only_the_polygonal_part():
    # a square with a dangling edge: make_valid gives a polygon and a line
    spiky = Polygon([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0), (-1, -1), (0, 0)])
    assert {g.geom_type for g in shapely.get_parts(shapely.make_valid(spiky))} == {"Polygon", "LineString"}
    fixed, report = repair_geometries(layer({"name": ["s"]}, [spiky], crs=4545))
    assert fixed.geometry.iloc[0].geom_type == "Polygon"
    assert fixed.geometry.iloc[0].symmetric_difference(box(0, 0, 1, 1)).area == 0
    assert len(findings(report, "invalid_geometry")) == 1


def test_empty_missing_and_zero_area_are_errors_and_kept():
    flat = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])
    frame = layer({"name": ["none", "empty", "flat", "ok"]}, [None, Polygon(), flat, box(0, 0, 1, 1)],
                  crs=4545,
                  index=[10, 11, 12, 13])
    fixed, report = repair_geometries(frame)
    assert not report.ok
    assert list(fixed.index) == [10, 11, 12, 13] and len(fixed) == 4
    assert fixed.geometry.iloc[0] is None and fixed.geometry.iloc[1].is_empty
    assert fixed.geometry.iloc[2].equals(flat)  # left for the caller to decide
    empty = findings(report, "empty_geometry")
    assert empty["record"].tolist() == ["row 1", "row 2"]
    assert "no geometry" in empty["message"].iloc[0] and "empty" in empty["message"].iloc[1]
    zero = findings(report, "zero_area")
    assert zero["record"].tolist() == ["row 3"] and (zero["severity"] == "error").all()


def test_mixed_geometry_types_are_reported():
    frame = layer({"name": ["a", "b", "c"]}, [cell(0), Point(108.3, 22.8), cell(1)])
    _, report = repair_geometries(frame, id_column="name")
    mixed = findings(report, "mixed_geometry")
    assert mixed["record"].tolist() == ["row 2 (b)"]
    assert "point in a layer of polygons" in mixed["message"].iloc[0]


def test_strict_refuses_to_repair_and_names_the_first_bad_record():
    frame = layer({"name": ["a", "b", "c"]}, [cell(0), BOW_TIE, None])
    with pytest.raises(GeometryError, match=r"areas.gpkg, row 2 \(b\): invalid geometry \(Self-intersection.*"
                                            r"Fix: redraw it, or call without strict=True"):
        repair_geometries(frame, strict=True, path="areas.gpkg", id_column="name")
    with pytest.raises(GeometryError, match=r"row 1: the record has no geometry. Fix: draw the geometry"):
        repair_geometries(frame.iloc[::-1], strict=True)
    fixed, report = repair_geometries(frame.iloc[:1], strict=True)
    assert len(report) == 0 and fixed.geometry.iloc[0].equals(cell(0))


def test_repair_needs_a_geodataframe():
    with pytest.raises(SchemaError, match="no geometry column"):
        repair_geometries(pd.DataFrame({"name": ["a"]}))


# --- validate_admin ----------------------------------------------------------------------------------------


def communities(codes, **columns):
    return layer({"code": codes, "name": [f"c{i}" for i in range(len(codes))], **columns},
                 [cell(i) for i in range(len(codes))])


def test_admin_fills_level_parent_and_kind_from_codes():
    frame = communities(["450102001003", "450102001203", "450102001498"])
    fixed, report = validate_admin(frame, level="community")
    assert report.ok
    assert fixed["level"].tolist() == ["community"] * 3
    assert fixed["parent_code"].tolist() == ["450102001"] * 3
    assert fixed["kind"].tolist() == ["urban", "rural", "other"]  # village digits 003, 203, 498
    assert {"derived_level", "derived_parent", "derived_kind"} <= set(report.to_frame()["check"])
    assert "level" not in frame.columns  # input untouched


def test_admin_missing_column_names_the_aliases():
    with pytest.raises(SchemaError, match=r"missing_column: .*no 'code' column.*区划代码.*adcode"):
        validate_admin(layer({"name": ["兴宁区"]}, [cell(0)]))


def test_admin_aliases_are_renamed():
    frame = layer({"区划代码": ["450102"], "名称": ["兴宁区"]}, [cell(0)])
    fixed, report = validate_admin(frame)
    assert {"code", "name"} <= set(fixed.columns)
    assert findings(report, "renamed_column")["message"].tolist() == [
        "column '区划代码' read as 'code'", "column '名称' read as 'name'"]


def test_admin_code_digits_and_length():
    frame = communities(["45010200100a", None, "450102001", "4501020010030"])
    _, report = validate_admin(frame, level="community")
    digits = findings(report, "code_digits")
    assert digits["record"].tolist() == ["row 1 (45010200100a)", "row 2"]
    length = findings(report, "code_length")
    assert length["record"].tolist() == ["row 3 (450102001)", "row 4 (4501020010030)"]
    assert "'450102001' has 9 digits, a community code has 12" in length["message"].iloc[0]
    # without a level any of 6, 9 or 12 digits is fine, 13 is not
    _, report = validate_admin(communities(["450102", "450102001", "4501020010030"]))
    assert findings(report, "code_length")["record"].tolist() == ["row 3 (4501020010030)"]


def test_admin_duplicate_codes_name_every_record():
    _, report = validate_admin(communities(["450102001003", "450102001004", "450102001003"]))
    dup = findings(report, "duplicate_code")
    assert dup["record"].tolist() == ["row 1 (450102001003)", "row 3 (450102001003)"]
    assert (dup["message"].str.contains("appears in rows 1, 3")).all()


def test_admin_parent_mismatch_names_both_codes_and_keeps_the_given_value():
    frame = communities(["450102001003", "450102001004", "450102001005", "450102001006"],
                        parent_code=["450103001", "450102", None, "450102001"])
    fixed, report = validate_admin(frame)
    bad = findings(report, "parent_mismatch")
    assert bad["record"].tolist() == ["row 1 (450102001003)", "row 2 (450102001004)"]
    assert "code '450102001003' does not start with its parent_code '450103001'" in bad["message"].iloc[0]
    assert "Fix: set parent_code to '450102001'" in bad["message"].iloc[0]
    assert "not the level directly above" in bad["message"].iloc[1]
    assert fixed["parent_code"].tolist() == ["450103001", "450102", "450102001", "450102001"]
    assert "1 empty parent_code values derived" in findings(report, "derived_parent")["message"].iloc[0]
    with pytest.raises(CodeError, match=r"c.gpkg, row 1 \(450102001003\): code .* Fix: set parent_code"):
        validate_admin(frame, strict=True, path="c.gpkg")


def test_admin_unknown_parent():
    streets = pd.DataFrame({"code": ["450102001"]})
    _, report = validate_admin(communities(["450102001003", "450102002001"]), parents=streets)
    unknown = findings(report, "unknown_parent")
    assert unknown["record"].tolist() == ["row 2 (450102002001)"]
    assert "'450102002' is not in the parent layer" in unknown["message"].iloc[0]
    with pytest.raises(SchemaError, match="parent layer has no 'code' column"):
        validate_admin(communities(["450102001003"]), parents=pd.DataFrame({"x": [1]}))


def test_admin_level_given_is_checked_not_overwritten():
    frame = communities(["450102001", "450102001003", "450102002", "450102003"],
                        level=["街道", "street", "省", None])
    fixed, report = validate_admin(frame)
    assert fixed["level"].tolist() == ["street", "street", "省", "street"]
    assert findings(report, "level_mismatch")["record"].tolist() == ["row 2 (450102001003)"]
    assert findings(report, "unknown_level")["record"].tolist() == ["row 3 (450102002)"]
    assert "level '街道' read as 'street'" in findings(report, "translated_value")["message"].iloc[0]
    with pytest.raises(CodeError, match=r"row 2 \(450102001003\): level 'street' disagrees"):
        validate_admin(frame.iloc[:2], strict=True)
    with pytest.raises(SchemaError, match=r"row 1 \(450102002\): level '省' is not known. Fix: use one of"):
        validate_admin(frame.iloc[2:3], strict=True)


def test_admin_kind_disagreement_is_a_warning_and_kept():
    frame = communities(["450102001003", "450102001203", "450102001204", "450102001205"],
                        kind=["农村", "城市", "rural", "花园"])
    fixed, report = validate_admin(frame)
    assert fixed["kind"].tolist() == ["rural", "urban", "rural", "花园"]
    mismatch = findings(report, "kind_mismatch")
    assert mismatch["record"].tolist() == ["row 1 (450102001003)", "row 2 (450102001203)"]
    assert (mismatch["severity"] == "warning").all()
    assert findings(report, "unknown_kind")["record"].tolist() == ["row 4 (450102001205)"]


def test_admin_numeric_codes_become_text():
    frame = layer({"code": [450102, 450103], "name": ["兴宁区", "青秀区"]}, [cell(0), cell(1)])
    fixed, report = validate_admin(frame)
    assert fixed["code"].tolist() == ["450102", "450103"]
    assert fixed["parent_code"].tolist() == ["4501", "4501"]
    assert findings(report, "code_as_number")["severity"].tolist() == ["warning"]


def test_admin_geometry_must_be_polygons_and_is_repaired():
    frame = communities(["450102001003", "450102001004", "450102001005"])
    frame.loc[1, "geometry"] = Point(108.3, 22.8)
    frame.loc[2, "geometry"] = BOW_TIE
    fixed, report = validate_admin(frame)
    assert findings(report, "geometry_type")["record"].tolist() == ["row 2 (450102001004)"]
    assert fixed.geometry.iloc[2].symmetric_difference(TRIANGLES).area < 1e-12
    with pytest.raises(GeometryError,
                       match=r"row 2 \(450102001004\): the geometry is a point.*Fix: give a polygon"):
        validate_admin(frame, strict=True)


def test_real_nanning_communities_validate_against_their_streets(shared_data):
    codes = shared_data / "admin-codes"
    villages = read_division_codes(codes / "villages_guangxi_45.csv")
    villages = villages[villages["code"].str.startswith("4501")].reset_index(drop=True)
    streets = read_division_codes(codes / "streets_guangxi_45.csv")
    frame = layer(villages[["code", "name"]], [cell(i % 50, i // 50, 0.001) for i in range(len(villages))])
    fixed, report = validate_admin(frame, level="community", parents=streets, strict=True)
    assert report.ok and len(fixed) == 1856
    assert (fixed["parent_code"] == villages["parent_code"]).all()
    digits = villages["code"].str[9:].astype(int)
    expected = np.select([digits <= 199, digits <= 399], ["urban", "rural"], "other")
    assert (fixed["kind"] == expected).all()
    # a street missing from the parent layer is found
    _, report = validate_admin(frame, parents=streets.iloc[1:])
    first_street = streets["code"].iloc[0]
    assert len(findings(report, "unknown_parent")) == int((villages["parent_code"] == first_street).sum()) > 0


# --- validate_units ----------------------------------------------------------------------------------------

KIND_WORDS = {
    "小区": "compound", "住宅小区": "compound", "自然村": "natural_village", "屯": "natural_village",
    "写字楼": "office_building", "商务楼宇": "office_building", "园区": "industrial_park",
    "产业园区": "industrial_park", "市场": "market", "商场": "market", "商圈": "market", "学校": "school",
    "医院": "hospital", "Natural village": "natural_village", " school ": "school",
}


def units(n, **columns):
    points = [Point(108.3 + i / 100, 22.8) for i in range(n)]
    return layer({"name": [f"u{i}" for i in range(n)], **columns}, points)


@pytest.mark.parametrize("word, kind", [*KIND_WORDS.items(),
                                        *((LABELS_ZH[k], k) for k in UNIT_KINDS if k in LABELS_ZH)])
def test_unit_kind_words(word, kind):
    fixed, report = validate_units(units(1, kind=[word]))
    assert fixed["kind"].tolist() == [kind] and report.ok


def test_unknown_and_missing_kinds_are_errors():
    fixed, report = validate_units(units(3, kind=["compound", "菜地", None], unit_id=["a", "b", "c"]))
    unknown = findings(report, "unknown_kind")
    assert unknown["record"].tolist() == ["row 2 (b)", "row 3 (c)"]
    assert "kind '菜地' is not known" in unknown["message"].iloc[0]
    assert "compound, natural_village" in unknown["message"].iloc[0]
    assert fixed["kind"].iloc[1] == "菜地"


def test_counts_negative_fractional_and_text():
    frame = units(4, kind=["小区"] * 4, households=[10, -5, 2.5, "abc"], population=[30, 20, 10, 10])
    fixed, report = validate_units(frame, path="units.csv")
    assert findings(report, "negative_count")["record"].tolist() == ["row 2 (U2)"]
    assert findings(report, "count_value")["record"].tolist() == ["row 3 (U3)", "row 4 (U4)"]
    assert fixed["population"].dtype == "Int64"
    with pytest.raises(SchemaError, match=r"units.csv, row 2 \(U2\): households is negative \(-5\). Fix: "):
        validate_units(frame, strict=True, path="units.csv")


def test_absurd_counts_name_record_and_fix():
    frame = units(4, kind=["小区"] * 4, unit_id=["a", "b", "c", "d"],
                  households=[MAX_HOUSEHOLDS + 1, 100, 500, 400],
                  population=[60_000, MAX_POPULATION + 1, 100, 200])
    _, report = validate_units(frame)
    absurd = findings(report, "absurd_count")
    assert absurd["record"].tolist() == ["row 1 (a)", "row 2 (b)", "row 3 (c)"]
    assert "households 20,001 exceed 20,000" in absurd["message"].iloc[0]
    assert "population 100,001 exceeds 100,000" in absurd["message"].iloc[1]
    assert "less than half the households 500. Fix: check whether" in absurd["message"].iloc[2]
    # exactly half is plausible (row 4): not reported


def test_unit_ids_generated_and_duplicates():
    fixed, report = validate_units(units(3, kind=["屯"] * 3, unit_id=["A", None, "A"]))
    assert fixed["unit_id"].tolist() == ["A", "U2", "A"]
    generated = findings(report, "generated_id")
    assert generated["record"].tolist() == ["row 2"] and (generated["severity"] == "info").all()
    assert findings(report, "duplicate_id")["record"].tolist() == ["row 1 (A)", "row 3 (A)"]
    fixed, report = validate_units(units(2, kind=["屯"] * 2))
    assert fixed["unit_id"].tolist() == ["U1", "U2"]


def test_units_points_or_polygons_only():
    frame = units(3, kind=["学校"] * 3)
    frame.loc[1, "geometry"] = cell(0)
    frame.loc[2, "geometry"] = LineString([(108.3, 22.8), (108.4, 22.9)])
    _, report = validate_units(frame)
    assert findings(report, "geometry_type")["record"].tolist() == ["row 3 (U3)"]
    assert findings(report, "mixed_geometry").empty  # points and polygons may mix


def test_units_community_code_must_have_12_digits():
    frame = units(3, kind=["小区"] * 3, community_code=["450102001003", "45010200100", "45010200100x"])
    _, report = validate_units(frame)
    assert findings(report, "code_length")["record"].tolist() == ["row 2 (U2)"]
    assert findings(report, "code_digits")["record"].tolist() == ["row 3 (U3)"]
    with pytest.raises(CodeError, match=r"row 2 \(U2\): community_code '45010200100' has 11 digits"):
        validate_units(frame, strict=True)


def test_units_chinese_headers_and_input_untouched():
    frame = layer({"编号": [7, 8], "名称": ["翠竹苑", "那坡屯"], "类型": ["小区", "自然村"],
                   "户数": [420, 60], "人口": [1200, 240], "楼栋数": [12, 0],
                   "社区代码": ["450102001003", "450102001203"]},
                  [Point(108.3, 22.8), cell(1)])
    before = frame.copy()
    fixed, report = validate_units(frame)
    assert report.ok, report
    assert fixed["unit_id"].tolist() == ["7", "8"]
    assert fixed["households"].tolist() == [420, 60] and fixed["buildings"].dtype == "Int64"
    assert fixed["community_code"].tolist() == ["450102001003", "450102001203"]
    pd.testing.assert_frame_equal(frame, before)


def test_units_missing_kind_column():
    with pytest.raises(SchemaError, match=r"no 'kind' column.*类型"):
        validate_units(layer({"name": ["a"]}, [Point(0, 0)]))


# --- records named as the file numbers them; the file named as the reader recorded it -----------------------

UNITS_CSV = """兴宁区小区表（2025年）

编号,小区名称,类型,户数,人口,经度,纬度
001,翠竹苑,小区,320,860,108.303,22.803
002,民生花园,小区,1000000000,1100,108.307,22.806

003,兴宁大厦,写字楼,0,0,108.314,22.803
001,朝阳小区,小区,280,700,108.304,22.815
"""


def absurd(report) -> list[str]:
    """The records with absurd counts (a unit may have two: too many households, too few people)."""
    return sorted(set(findings(report, "absurd_count")["record"]))


@pytest.fixture
def units_csv(tmp_path):
    from gridmap.io import read_layer

    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV, encoding="utf-8")
    return path, read_layer(path)


def test_validation_names_the_rows_the_reader_and_the_spreadsheet_name(units_csv):
    path, units = units_csv
    lines = UNITS_CSV.splitlines()
    assert lines[4].startswith("002") and lines[7].startswith("001")  # lines 5 and 8 (and the rows)
    _, report = validate_units(units)
    assert absurd(report) == ["row 5 (002)"]
    dup = findings(report, "duplicate_id")
    assert dup["record"].tolist() == ["row 4 (001)", "row 8 (001)"]
    assert dup["message"].str.contains("appears in rows 4, 8").all()
    with pytest.raises(SchemaError, match=rf"^{path}, row 4 \(001\): unit_id '001' appears in rows 4, 8"):
        validate_units(units, strict=True)


def test_validation_names_the_file_the_reader_recorded(units_csv):
    path, units = units_csv
    assert validate_units(units)[1].title == f"units ({path})"
    assert validate_units(units, path="其他.csv")[1].title == "units (其他.csv)"
    plain = units.copy()
    plain.attrs = {}
    with pytest.raises(SchemaError, match=r"^row 1 \(001\): unit_id"):  # no file: rows by position
        validate_units(plain, strict=True)


def test_file_rows_follow_the_records_through_filters_and_sorting(units_csv):
    _, units = units_csv
    sorted_units = units.sort_values("households", ascending=False)
    assert absurd(validate_units(sorted_units)[1]) == ["row 5 (002)"]
    later = units[units["unit_id"] != "001"]
    assert absurd(validate_units(later)[1]) == ["row 5 (002)"]
    reset = later.reset_index(drop=True)  # cannot be matched to the file any more: position, as a record
    assert absurd(validate_units(reset)[1]) == ["record 1 (002)"]
    # the first two records (index 0, 1) look like a reset index: named by position too, never wrongly
    assert absurd(validate_units(units[units["households"] > 300])[1]) == ["record 2 (002)"]
    fixed, _ = validate_units(later)
    assert fixed.index.equals(later.index) and fixed.attrs == units.attrs


def test_geojson_records_are_features_as_the_reader_names_them(tmp_path):
    from gridmap.io import read_layer

    layer_ = gpd.GeoDataFrame({"code": ["450102001001", "45010200100", "450102001001"], "name": list("abc")},
                              geometry=[cell(0), cell(1), cell(2)], crs=4490)
    layer_.to_file(tmp_path / "c.geojson")
    communities = read_layer(tmp_path / "c.geojson")
    _, report = validate_admin(communities, level="community")
    assert findings(report, "code_length")["record"].tolist() == ["feature 2 (45010200100)"]
    assert findings(report, "duplicate_code")["message"].str.contains("appears in features 1, 3").all()
