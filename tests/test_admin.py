import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

from gridmap.errors import CodeError, ReadError, SchemaError
from gridmap.io.admin import (
    add_hierarchy,
    ancestor_code,
    code_level,
    community_kind,
    parent_code,
    read_division_codes,
    township_kind,
)

# --- single codes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code, level", [("45", "province"), ("4501", "city"), ("450102", "district"),
                                         ("450102001", "street"), ("450102001003", "community")])
def test_code_level(code, level):
    assert code_level(code) == level


@pytest.mark.parametrize("code, match", [
    ("4501020", "7 digits"), ("45010200100", "11 digits"), ("", "0 digits"),
    ("45010a", "other than digits"), ("４５０１０２", "other than digits"), (" 450102", "other than digits"),
])
def test_code_level_refuses_malformed_codes(code, match):
    with pytest.raises(CodeError, match=match):
        code_level(code)


def test_numeric_code_is_refused_with_the_fix():
    with pytest.raises(CodeError, match=r"int, not text.*dtype=str"):
        code_level(450102)


def test_parent_chain_reaches_the_province():
    chain = ["450102001003"]
    while (parent := parent_code(chain[-1])) is not None:
        chain.append(parent)
    assert chain == ["450102001003", "450102001", "450102", "4501", "45"]
    # every child starts with its parent
    assert all(child.startswith(parent) for child, parent in zip(chain, chain[1:], strict=False))


def test_ancestor_code():
    assert ancestor_code("450102001003", "street") == "450102001"
    assert ancestor_code("450102001003", "community") == "450102001003"
    assert ancestor_code("450102", "province") == "45"
    with pytest.raises(CodeError, match="district code and has no street ancestor"):
        ancestor_code("450102", "street")
    with pytest.raises(ValueError, match="is not a division level"):
        ancestor_code("450102", "village")


@pytest.mark.parametrize("digits, kind", [("001", "urban"), ("199", "urban"), ("200", "rural"),
                                          ("399", "rural"), ("400", "other"), ("599", "other"),
                                          ("000", "other")])
def test_community_kind_boundaries(digits, kind):
    assert community_kind("450102001" + digits) == kind


@pytest.mark.parametrize("digits, kind", [("001", "street"), ("099", "street"), ("100", "town"),
                                          ("199", "town"), ("200", "township"), ("399", "township"),
                                          ("400", "other"), ("000", "other")])
def test_township_kind_boundaries(digits, kind):
    assert township_kind("450102" + digits) == kind
    assert township_kind("450102" + digits + "003") == kind


def test_kinds_need_codes_deep_enough():
    with pytest.raises(CodeError, match="450102001.*9 digits"):
        community_kind("450102001")
    with pytest.raises(CodeError, match="6 digits"):
        township_kind("450102")


# --- add_hierarchy -----------------------------------------------------------------------------------------


def test_add_hierarchy_mixed_levels_keeps_input_and_type():
    frame = gpd.GeoDataFrame({"code": ["450102", "450102001", "450102001003"]},
                             geometry=[box(0, 0, 1, 1)] * 3, crs=4326)
    before = frame.copy()
    out = add_hierarchy(frame)
    assert isinstance(out, gpd.GeoDataFrame) and out.crs == frame.crs
    assert out["district_code"].tolist() == ["450102"] * 3
    assert out["street_code"].isna().tolist() == [True, False, False]
    assert out["community_code"].isna().tolist() == [True, True, False]
    assert out.loc[2, "street_code"] == "450102001"
    pd.testing.assert_frame_equal(frame, before)
    assert "district_code" not in frame.columns


def test_add_hierarchy_only_down_to_the_finest_level():
    out = add_hierarchy(pd.DataFrame({"adcode": ["450102001", "450103002"]}), code_column="adcode")
    assert "community_code" not in out.columns
    assert out["street_code"].tolist() == ["450102001", "450103002"]


def test_add_hierarchy_errors_name_the_row():
    with pytest.raises(SchemaError, match="no column 'code'.*code_column="):
        add_hierarchy(pd.DataFrame({"x": ["450102"]}))
    with pytest.raises(CodeError, match=r"row 2: code '4501020' is not .*\(1 such rows\)"):
        add_hierarchy(pd.DataFrame({"code": ["450102", "4501020"]}))
    with pytest.raises(CodeError, match="row 1:.*None"):
        add_hierarchy(pd.DataFrame({"code": [None, "450102"]}, dtype=object))
    with pytest.raises(CodeError, match="int64 numbers, not text.*dtype=str"):
        add_hierarchy(pd.DataFrame({"code": [450102001003]}))
    with pytest.raises(CodeError, match="row 1: street_code '450102002' disagrees.*'450102001'"):
        add_hierarchy(pd.DataFrame({"code": ["450102001003"], "street_code": ["450102002"]}))


# --- real data -------------------------------------------------------------------------------------------


def test_nanning_counts_from_the_2023_lists(shared_data):
    codes = shared_data / "admin-codes"
    areas = read_division_codes(codes / "areas.csv")
    streets = read_division_codes(codes / "streets_guangxi_45.csv")
    villages = read_division_codes(codes / "villages_guangxi_45.csv")
    for table, level in ((areas, "district"), (streets, "street"), (villages, "community")):
        assert list(table.columns) == ["code", "name", "level", "parent_code"]
        assert (table["level"] == level).all()
        assert table["code"].map(type).eq(str).all()
    in_nanning = [t["code"].map(lambda c: ancestor_code(c, "city")) == "4501"
                  for t in (areas, streets, villages)]
    assert [int(mask.sum()) for mask in in_nanning] == [12, 138, 1856]
    assert "横州市" in set(areas.loc[in_nanning[0], "name"])


def test_village_codes_start_with_their_street_code(shared_data):
    path = shared_data / "admin-codes" / "villages_guangxi_45.csv"
    raw = pd.read_csv(path, dtype=str)
    villages = read_division_codes(path)
    assert (villages["code"] == raw["code"]).all()
    assert (villages["parent_code"] == raw["streetCode"]).all()
    assert all(code.startswith(street) for code, street in zip(raw["code"], raw["streetCode"], strict=True))
    streets = set(read_division_codes(shared_data / "admin-codes" / "streets_guangxi_45.csv")["code"])
    assert set(villages["parent_code"]) <= streets


def test_reads_the_padded_adcode_table(shared_data):
    path = shared_data / "admin-codes" / "adcode_2016_guangxi_45.csv"
    raw = pd.read_csv(path, dtype=str)
    table = read_division_codes(path)
    renamed = {"province": "province", "city": "city", "county": "district", "town": "street",
               "village": "community"}
    assert (table["level"] == raw["level"].map(renamed)).all()
    # the cut codes are the padded ones without their trailing zeros (for every non-village)
    assert all(padded.startswith(code) and set(padded[len(code):]) <= {"0"}
               for padded, code in zip(raw["code"], table["code"], strict=True))
    assert table.set_index("code").loc["450127", "name"] == "横县"
    assert table.set_index("code").loc["450127", "parent_code"] == "4501"


@pytest.mark.slow
def test_whole_country_hierarchy_points_to_real_streets(shared_data):
    codes = shared_data / "admin-codes"
    villages = read_division_codes(codes / "villages.csv.gz")
    out = add_hierarchy(villages)
    assert len(out) == len(villages) and out["street_code"].notna().all()
    streets = set(pd.read_csv(codes / "streets.csv", dtype=str, usecols=["code"])["code"])
    assert out["street_code"].isin(streets).all()
    assert (out["community_code"] == out["code"]).all()
    assert (out["street_code"] == out["parent_code"]).all()


# --- reading errors --------------------------------------------------------------------------------------


def test_read_division_codes_gb18030_and_errors(tmp_path):
    gbk = tmp_path / "streets.csv"
    gbk.write_bytes("区划代码,名称,areaCode\n450102001,民生街道,450102\n".encode("gb18030"))
    table = read_division_codes(gbk)
    assert table.iloc[0].tolist() == ["450102001", "民生街道", "street", "450102"]

    with pytest.raises(ReadError, match="missing.csv: file not found"):
        read_division_codes(tmp_path / "missing.csv")
    no_name = tmp_path / "no_name.csv"
    no_name.write_text("code,x\n450102,1\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="no_name.csv: no name column"):
        read_division_codes(no_name)
    wrong_parent = tmp_path / "wrong_parent.csv"
    wrong_parent.write_text("code,name,streetCode\n450102001003,兴宁社区,450102002\n", encoding="utf-8")
    with pytest.raises(CodeError, match=r"row 1: parent code '450102002' is not the prefix '450102001'"):
        read_division_codes(wrong_parent)
    bad_code = tmp_path / "bad_code.csv"
    bad_code.write_text("code,name\n4501020,某区\n", encoding="utf-8")
    with pytest.raises(CodeError, match="bad_code.csv, row 1: code '4501020'"):
        read_division_codes(bad_code)
