"""Out-of-core batches (gridmap.cases.engines.chunked) and the benchmark suite's table (benchmarks/run.py)."""

import importlib.util
import os
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from cases_fixtures import sample_build, sample_build_warnings, sample_city
from scale_fixtures import independent_counts, make_city, write_parts
from shapely import box

from gridmap.cases import assign
from gridmap.cases.engines import aggregate_partitioned, assign_partitioned
from gridmap.cases.gridindex import GridIndex
from gridmap.errors import CRSError, GeometryError, GridmapWarning, ReadError, SchemaError
from gridmap.findings import Report
from gridmap.stats import summarize

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample():
    """The sample's cases and grids, built once per session (tests/cases_fixtures.py)."""
    assert sample_build_warnings(), "the sample's deliberate flaws are warned about"
    return sample_city().cases, sample_build().grids


@pytest.fixture(scope="module")
def sample_folder(sample, tmp_path_factory) -> Path:
    return write_parts(sample[0], tmp_path_factory.mktemp("sample") / "cases", 3)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A generated city of 240 grids and 30,000 cases, as a Hive-partitioned folder (month=YYYY-MM)."""
    grids, cases = make_city(240, 30_000)
    folder = tmp_path_factory.mktemp("city") / "cases"
    month = cases["reported_at"].dt.strftime("%Y-%m").fillna("none")
    for value in sorted(month.unique()):
        write_parts(cases[(month == value).to_numpy()], folder / f"month={value}", 2, row_group=1000)
    # the dataset lists the partitions in folder order, so the cases in reading order are:
    order = np.concatenate([np.flatnonzero((month == value).to_numpy()) for value in sorted(month.unique())])
    return grids, cases.iloc[order].reset_index(drop=True), folder


# --- assignment in batches ------------------------------------------------------------------------------

def test_batches_concatenate_to_assign_on_the_sample(sample, sample_folder):
    cases, grids = sample
    found = Report("cases")
    batches = list(assign_partitioned(sample_folder, grids, batch_size=3000, report=found))
    assert [len(b) for b in batches] == [3000] * 6 + [2000]  # gathered across files and row groups
    pd.testing.assert_frame_equal(pd.concat(batches), assign(cases, grids, report=Report("memory")))
    assert len(found) == 0


def test_generated_city_batches_equal_assign_and_findings_are_counted(city):
    grids, cases, folder = city
    expected_findings = Report("memory")
    expected = assign(cases, grids, report=expected_findings)
    found = Report("batches")
    batches = assign_partitioned(folder, grids, columns=["case_id", "reported_at", "count"], batch_size=4096,
                                 report=found)
    result = pd.concat(list(batches))
    pd.testing.assert_frame_equal(result, expected)
    boundaries = shapely.STRtree(shapely.boundary(grids.geometry.to_numpy()))
    on_boundary = np.unique(boundaries.query(cases.geometry.to_numpy(), predicate="intersects")[0])
    assert len(on_boundary) > 1000  # the cases put on grid corners really are on boundaries
    expected_counts = expected_findings.counts()
    counted = found.to_frame().set_index("check")["records"]
    assert counted.to_dict() == expected_counts.to_dict()
    assert counted["outside"] == int(expected["outside_m"].notna().sum()) > 0


def test_hive_partition_folders_become_columns(city):
    grids, cases, folder = city
    first = next(assign_partitioned(folder, grids, batch_size=500, report=Report("x")))
    assert first["month"].iloc[0] == cases["reported_at"].dt.strftime("%Y-%m").iloc[0]


def test_warning_names_the_findings_without_a_report(city):
    grids, _, folder = city
    batches = assign_partitioned(folder, grids, batch_size=10_000)
    with pytest.warns(GridmapWarning, match=r"outside \d+.*pass report="):
        for _ in batches:
            pass


@pytest.mark.slow
def test_coordinate_columns_and_geoarrow_points_give_the_same_result(city, tmp_path):
    grids, cases, _ = city
    located = cases[cases.geometry.notna()].reset_index(drop=True)
    expected = assign(located, grids, report=Report("memory"))
    plain = pd.DataFrame({"case_id": located["case_id"], "lon": located.geometry.x,
                          "lat": located.geometry.y})
    plain.to_parquet(tmp_path / "xy.parquet")
    from_xy = pd.concat(list(assign_partitioned(tmp_path / "xy.parquet", grids, xy=("lon", "lat"),
                                                crs="EPSG:4490", batch_size=7000, report=Report("x"))))
    assert from_xy.columns.tolist() == ["case_id", "geometry", "grid_code", "community_code", "outside_m"]
    pd.testing.assert_series_equal(from_xy["grid_code"], expected["grid_code"])
    located[["case_id", "geometry"]].to_parquet(tmp_path / "arrow.parquet", geometry_encoding="geoarrow")
    from_arrow = pd.concat(list(assign_partitioned(tmp_path / "arrow.parquet", grids, batch_size=7000,
                                                   report=Report("x"))))
    pd.testing.assert_frame_equal(from_arrow, expected[from_arrow.columns])


def test_cases_in_another_crs_are_converted(sample, tmp_path):
    cases, grids = sample
    cases.iloc[:500].to_crs("EPSG:4545").to_parquet(tmp_path / "metric.parquet")
    result = pd.concat(list(assign_partitioned(tmp_path / "metric.parquet", grids, report=Report("x"))))
    expected = assign(cases.iloc[:500], grids, report=Report("memory"))
    assert (result["grid_code"] == expected["grid_code"]).all()
    counts = aggregate_partitioned(tmp_path / "metric.parquet", grids)
    assert counts.set_index("code")["records"].to_dict() == {
        code: int((expected["grid_code"] == code).sum()) for code in grids["code"]}


def test_points_not_in_two_dimensions_are_counted_through_shapely(city, tmp_path):
    """3D points (29 WKB bytes) take the slower path through shapely and count the same."""
    grids, cases, folder = city
    flat = aggregate_partitioned(folder, grids, period="month", report=Report("x"))
    raised = cases.set_geometry(shapely.force_3d(cases.geometry.to_numpy(), z=5.0), crs=cases.crs)
    write_parts(raised, tmp_path / "z", 3)
    pd.testing.assert_frame_equal(aggregate_partitioned(tmp_path / "z", grids, period="month",
                                                        report=Report("x")), flat)


# --- counting in batches --------------------------------------------------------------------------------

@pytest.mark.parametrize(("by", "period"), [("grid", None), ("community", "month"), ("street", "week"),
                                            ("district", "day")])
def test_counts_equal_summarize_on_the_sample(sample, sample_folder, by, period):
    cases, grids = sample
    table = aggregate_partitioned(sample_folder, grids, by=by, period=period, batch_size=4000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)  # summarize's notes on the sample's flaws
        expected = summarize(grids, cases, by=by, period=period)
    keys = ["code"] + (["period"] if period else [])
    pd.testing.assert_frame_equal(table[keys], expected[keys])
    assert table["cases"].tolist() == expected["cases"].tolist()
    assert table["records"].sum() == len(cases)


def test_counts_per_grid_and_month_match_an_independent_join(city):
    grids, cases, folder = city
    found = Report("counts")
    table = aggregate_partitioned(folder, grids, period="month", batch_size=5000, report=found)
    truth = independent_counts(cases, grids)
    truth["period"] = cases["reported_at"].dt.strftime("%Y-%m")
    known = truth[truth["grid"].notna() & truth["period"].notna()]
    expected = known.groupby(["grid", "period"])["weight"].agg(records="size", cases="sum")
    got = table.set_index(["code", "period"])
    assert len(got) == len(grids) * 5  # every grid x every month from 2024-11 to 2025-03
    got_nonzero = got[got["records"] > 0][["records", "cases"]]
    pd.testing.assert_frame_equal(got_nonzero, expected.rename_axis(["code", "period"]), check_dtype=False)
    findings = found.to_frame().set_index("check")
    outside = truth["grid"].isna() & truth["located"]
    assert findings.loc["outside", "records"] == outside.sum()
    assert findings.loc["outside", "cases"] == truth.loc[outside, "weight"].sum()
    assert findings.loc["no_location", "records"] == (~truth["located"]).sum()
    assert findings.loc["no_time", "records"] == (truth["grid"].notna() & truth["period"].isna()).sum()
    assert findings.loc["bad_count", "records"] == truth["bad"].sum()


def test_rolled_up_counts_equal_the_sum_of_their_grids(city):
    grids, _, folder = city
    per_grid = aggregate_partitioned(folder, grids, batch_size=8000, report=Report("x"))
    per_street = aggregate_partitioned(folder, grids, by="street", batch_size=8000, report=Report("x"))
    street = per_grid["code"].map(grids.set_index("code")["community_code"]).str[:9]
    expected = per_grid.groupby(street)[["records", "cases"]].sum()
    assert per_street.set_index("code")[["records", "cases"]].equals(expected.rename_axis("code"))


def test_counting_warns_about_cases_left_out(city):
    grids, _, folder = city
    with pytest.warns(GridmapWarning, match="outside .*no_location .*no_time .*bad_count"):
        aggregate_partitioned(folder, grids, period="week")


@pytest.mark.slow
def test_memory_stays_bounded_as_the_archive_grows(tmp_path):
    """Peak traced memory for 8 files is about that for 2 files of the same size, far below all at once.

    The grids' index is built beforehand: its memory does not grow with the archive (and with 40 grids
    and 80,000 cases it would weigh as much as the batches).
    """
    grids = gpd.GeoDataFrame({"code": [f"G{i:02d}" for i in range(40)]},
                             geometry=[box(i % 8, i // 8, i % 8 + 1, i // 8 + 1) for i in range(40)],
                             crs="EPSG:4547")
    rng = np.random.default_rng(3)
    n = 10_000
    for files in (2, 8):
        for number in range(files):
            part = gpd.GeoDataFrame({"count": rng.integers(1, 3, n)},
                                    geometry=gpd.points_from_xy(rng.uniform(0, 8, n), rng.uniform(0, 5, n)),
                                    crs="EPSG:4547")
            (tmp_path / f"f{files}").mkdir(exist_ok=True)
            part.to_parquet(tmp_path / f"f{files}" / f"part-{number}.parquet", row_group_size=2500)

    def peak(func) -> int:
        func()  # warm-up: lazy imports and caches are not the data's
        tracemalloc.start()
        func()
        value = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return value

    index = GridIndex(grids)
    small = peak(lambda: aggregate_partitioned(tmp_path / "f2", index, batch_size=5000))
    large = peak(lambda: aggregate_partitioned(tmp_path / "f8", index, batch_size=5000))
    whole = peak(lambda: assign(gpd.read_parquet(tmp_path / "f8"), index))
    assert large < 1.25 * small
    assert large < whole / 4


# --- refusals -------------------------------------------------------------------------------------------

def test_refuses_bad_sources_and_options(sample, sample_folder, tmp_path):
    cases, grids = sample
    with pytest.raises(ReadError, match="no such file"):
        aggregate_partitioned(tmp_path / "nothing", grids)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "notes.parquet").write_text("not parquet")
    with pytest.raises(ReadError, match="not a Parquet file"):
        aggregate_partitioned(tmp_path / "text", grids)
    pd.DataFrame({"lon": [108.3], "lat": [22.8]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(SchemaError, match="no GeoParquet metadata.*xy="):
        aggregate_partitioned(tmp_path / "plain.parquet", grids)
    with pytest.raises(CRSError, match="no CRS.*crs='EPSG:4490'"):
        aggregate_partitioned(tmp_path / "plain.parquet", grids, xy=("lon", "lat"))
    with pytest.raises(CRSError, match="not a coordinate reference system"):
        aggregate_partitioned(tmp_path / "plain.parquet", grids, xy=("lon", "lat"), crs="EPSG:99999")
    table = pq.read_table(tmp_path / "plain.parquet")
    pq.write_table(table.replace_schema_metadata({b"geo": b"{not json"}), tmp_path / "bad_geo.parquet")
    with pytest.raises(SchemaError, match="GeoParquet metadata cannot be read"):
        aggregate_partitioned(tmp_path / "bad_geo.parquet", grids)
    with pytest.raises(SchemaError, match="xy=.*does not name"):
        aggregate_partitioned(tmp_path / "plain.parquet", grids, xy=("x", "y"), crs="EPSG:4490")
    with pytest.raises(CRSError, match="contradicts"):
        aggregate_partitioned(sample_folder, grids, crs="EPSG:4326")
    with pytest.raises(SchemaError, match="by='province'"):
        aggregate_partitioned(sample_folder, grids, by="province")
    with pytest.raises(SchemaError, match="period='year'"):
        aggregate_partitioned(sample_folder, grids, period="year")
    with pytest.raises(SchemaError, match="batch_size=0"):
        aggregate_partitioned(sample_folder, grids, batch_size=0)
    with pytest.raises(SchemaError, match="no report time"):
        aggregate_partitioned(tmp_path / "plain.parquet", grids, xy=("lon", "lat"), crs="EPSG:4490",
                              period="month")
    with pytest.raises(SchemaError, match="no column 'community_code'"):
        aggregate_partitioned(sample_folder, grids.drop(columns="community_code"), by="community")
    with pytest.raises(SchemaError, match="no column 'case_no'"):
        assign_partitioned(sample_folder, grids, columns=["case_no"])


def test_bad_grids_are_refused_at_the_call_before_any_batch(sample_folder, sample):
    _, grids = sample
    with pytest.raises(SchemaError, match="no column 'code'"):
        assign_partitioned(sample_folder, grids.drop(columns="code"))  # no iteration needed


def test_bytes_that_are_not_wkb_are_a_geometry_error(sample, tmp_path):
    cases, grids = sample
    cases.iloc[:10].to_parquet(tmp_path / "good.parquet")
    table = pq.read_table(tmp_path / "good.parquet")
    broken = table.set_column(table.schema.get_field_index("geometry"), "geometry",
                              pa.array([b"\x01\x07garbage"] * 10, pa.binary()))
    pq.write_table(broken.replace_schema_metadata(table.schema.metadata), tmp_path / "broken.parquet")
    with pytest.raises(GeometryError, match="not WKB"):
        list(assign_partitioned(tmp_path / "broken.parquet", grids))
    with pytest.raises(GeometryError, match="not WKB"):
        aggregate_partitioned(tmp_path / "broken.parquet", grids)


# --- the benchmark suite --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def suite():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules["bench_run"]


def test_table_cells_round_and_compute_the_speed_up(suite):
    row = {"scenario": "cases", "size": "2,000,000 cases", "gridmap_s": 2.0, "plain_s": 9.0,
           "gridmap_peak_mb": 512.4, "memory": "RSS", "note": "a | b"}
    assert suite.cells(row) == ["cases", "2,000,000 cases", "2.00", "9.00", "4.5x", "512", "—", "RSS",
                                "a | b"]
    markdown = suite.markdown_table([row, {"scenario": "maps", "note": "bench_maps.py not present"}])
    lines = markdown.splitlines()
    assert lines[0].startswith("| scenario | size | gridmap s | plain s | speed-up |")
    assert len(lines) == 4 and all(line.count(" | ") == len(suite.HEADINGS) - 1 for line in lines[2:])
    assert "a \\| b" in lines[2]
    text = suite.text_table([row]).splitlines()
    assert len(text) == 2
    assert text[0].index("speed-up") + len("speed-up") == text[1].index("4.5x") + len("4.5x")  # right-aligned


def test_parsers_read_the_scripts_output(suite):
    bench = 'noise\nBENCH {"scenario": "x", "gridmap_s": 1.5, "plain_s": 3, "unknown": 1}\n'
    assert suite.parse_bench_lines(bench, "10 cases") == [
        {"size": "10 cases", "scenario": "x", "gridmap_s": 1.5, "plain_s": 3}]
    registry = "\n".join(str({"phase": p, "grids": 10, "communities": 2, "seconds": s, "peak MB": m})
                         for p, s, m in (("assign", 4.0, 100), ("rerun", 1.0, 90), ("update", 2.0, 95),
                                         ("plain", 2.0, 80)))
    first = suite.parse_registry(registry, "label")[0]
    figures = (first["gridmap_s"], first["plain_s"], first["gridmap_peak_mb"], first["plain_peak_mb"])
    assert figures == (4, 2, 100, 80)


@pytest.mark.slow
def test_a_run_measures_the_child_peak_and_reports_failures(suite, tmp_path):
    script = tmp_path / "bench_fake.py"
    script.write_text("import sys\nblock = bytearray(300 * 2**20)\n"
                      "block[::4096] = b'x' * len(block[::4096])\n"  # touch every page: resident
                      "print('BENCH {\"gridmap_s\": 1.0}')\nsys.exit(int(sys.argv[1]))\n")
    done = suite.run_script(script, ["0"])
    assert done.returncode == 0 and done.peak_mb > 300
    scenario = suite.Scenario("fake", "bench_fake.py", "", (suite.Run("tiny", ("0",)),), (),
                              suite.parse_bench_lines)
    (row,) = suite.rows_of(scenario, scenario.full[0], done)
    assert row["gridmap_peak_mb"] == done.peak_mb and row["memory"] == "RSS of the whole script"
    (failed,) = suite.rows_of(scenario, scenario.full[0], suite.run_script(script, ["3"]))
    assert failed["note"].startswith("failed (exit 3)")
    missing = suite.Scenario("gone", "bench_gone.py", "", (suite.Run("any"),), (), suite.parse_bench_lines)
    assert suite.run_scenario(missing, quick=False, log=lambda line: None)[0]["note"].endswith("not present")


@pytest.mark.slow
def test_the_case_benchmark_prints_both_comparisons_for_the_table(suite):
    """bench_cases at a tiny size: identical results, rows with the index prebuilt, built per call, loaded
    from a file, and with half the cases outside."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_cases.py"), "--cases", "3000",
                           "--grids", "60", "--repeat", "1"], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert "identical: True" in done.stdout
    rows = suite.parse_bench_lines(done.stdout, "3,000 cases")
    assert [row["scenario"] for row in rows] == ["case assignment, index prebuilt",
                                                 "case assignment, index built per call", "grid index load",
                                                 "case assignment, half outside the grids"]
    compared = [row for row in rows if row["scenario"] != "grid index load"]
    assert all(row["gridmap_s"] > 0 and row["plain_s"] > 0 for row in compared)
    assert all("identical: True" in row["note"] for row in compared)
    assert suite.cells(rows[0])[4].endswith("x")  # the speed-up column
    assert rows[2]["gridmap_s"] > 0 and suite.cells(rows[2])


@pytest.mark.slow
def test_the_suite_runs_its_cheapest_scenario_end_to_end(tmp_path):
    output = tmp_path / "results.md"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", "crs",
                           "--output", str(output)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = output.read_text(encoding="utf-8").splitlines()
    assert page[0] == "# gridmap benchmarks (quick (reduced sizes))"
    assert any(line.startswith("- machine: ") and " cores, " in line for line in page)
    (row,) = [line for line in page if line.startswith("| GCJ-02")]
    assert "50,000 points" in row and "traced" in row
