"""The dask engine on a local cluster of two worker processes: results equal the in-memory engine exactly.

Skipped when dask, distributed or dask-geopandas is missing, unless GRIDMAP_REQUIRE_DASK=1 (then a failure).
"""

import importlib.util
import os
import sys
import warnings

import geopandas as gpd
import pandas as pd
import pytest
from cases_fixtures import sample_city, sample_grids
from scale_fixtures import independent_counts, make_city, write_parts
from shapely import Point

from gridmap.cases import assign
from gridmap.cases.engines import aggregate_dask, aggregate_partitioned, assign_dask
from gridmap.errors import CaseError, GridmapWarning, ReadError, SchemaError
from gridmap.findings import Report
from gridmap.stats import summarize


def installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, a broken package
        return False


MISSING = [name for name in ("dask", "distributed", "dask_geopandas") if not installed(name)]
needs_dask = pytest.mark.skipif(
    bool(MISSING) and os.environ.get("GRIDMAP_REQUIRE_DASK") != "1",
    reason=f"{', '.join(MISSING)} not installed: pip install gridmap[dask] "
           "(with GRIDMAP_REQUIRE_DASK=1 the tests fail instead)")


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    # one worker process (tasks are pickled to it, as to any cluster) running two threads at once; a second
    # process would cost its start-up (importing gridmap and geopandas) and test nothing more
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as connected:
            yield connected


@pytest.fixture(scope="module")
def sample():
    """The sample's cases with three outside every grid (in different partitions) and one without a point."""
    city, grids = sample_city(), sample_grids()  # built once per session (tests/cases_fixtures.py)
    cases = city.cases.copy()
    far = [Point(100.0, 30.0), Point(101.0, 30.0), Point(102.0, 30.0)]
    for position, point in zip((17, 9_000, 19_990), far, strict=True):
        cases.loc[position, "geometry"] = point
    cases.loc[5_000, "geometry"] = None
    return cases, grids


@pytest.mark.slow
@needs_dask
def test_assign_on_the_cluster_equals_assign_with_its_findings(client, sample):
    from distributed import get_task_stream

    cases, grids = sample
    expected_found, found = Report("memory"), Report("cluster")
    expected = assign(cases, grids, report=expected_found)
    with get_task_stream(client) as stream:
        result = assign_dask(cases, grids, npartitions=4, report=found)
    pd.testing.assert_frame_equal(result, expected)
    pd.testing.assert_frame_equal(found.to_frame(), expected_found.to_frame())
    assert found.counts().to_dict() == {"outside": 3, "no_location": 1}
    ran = [task for task in stream.data if "_assign_found" in str(task["key"])]
    assert len(ran) == 4 and {task["worker"] for task in ran} <= set(client.scheduler_info()["workers"])


@pytest.mark.slow
@needs_dask
def test_strict_mode_and_the_warning_are_those_of_assign(client, sample):
    cases, grids = sample
    with pytest.raises(CaseError) as in_memory:
        assign(cases, grids, strict=True)
    with pytest.raises(CaseError) as on_cluster:
        assign_dask(cases, grids, npartitions=3, strict=True)
    assert str(on_cluster.value) == str(in_memory.value)
    with pytest.warns(GridmapWarning) as memory_warning:
        assign(cases, grids)
    with pytest.warns(GridmapWarning) as cluster_warning:
        assign_dask(cases, grids, npartitions=3)
    assert str(cluster_warning[0].message) == str(memory_warning[0].message)


@pytest.mark.slow
@needs_dask
def test_lazy_frames_and_paths_give_lazy_results(client, sample, tmp_path):
    import dask_geopandas

    cases, grids = sample
    expected = assign(cases, grids, report=Report("memory"))
    lazy = assign_dask(dask_geopandas.from_geopandas(cases, npartitions=3), grids)
    assert isinstance(lazy, dask_geopandas.GeoDataFrame) and lazy.npartitions == 3
    pd.testing.assert_frame_equal(lazy.compute(), expected, check_dtype=False)
    folder = write_parts(cases, tmp_path / "cases", 2)
    from_path = assign_dask(folder, grids).compute()
    codes = from_path["grid_code"].reset_index(drop=True)
    assert (codes.fillna("-") == expected["grid_code"].fillna("-")).all()
    with pytest.raises(SchemaError, match="need the cases in memory"):
        assign_dask(folder, grids, strict=True)
    pd.DataFrame({"lon": [108.3]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(ReadError, match="cannot read GeoParquet"):
        aggregate_dask(str(tmp_path / "plain.parquet"), grids)
    with pytest.raises(ReadError, match="no such file"):
        aggregate_dask(tmp_path / "nothing", grids)


@pytest.mark.slow
@needs_dask
@pytest.mark.parametrize(("by", "period"), [("grid", None), ("district", "week")])
def test_counts_on_the_cluster_equal_the_other_engines_on_the_sample(client, sample, tmp_path, by, period):
    cases, grids = sample
    found = Report("cluster")
    table = aggregate_dask(cases, grids, by=by, period=period, npartitions=4, report=found)
    folder = write_parts(cases, tmp_path / "cases", 2)
    pd.testing.assert_frame_equal(table, aggregate_partitioned(folder, grids, by=by, period=period,
                                                               report=Report("batches")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)
        expected = summarize(grids, cases, by=by, period=period)
    assert table["code"].tolist() == expected["code"].tolist()
    assert table["cases"].tolist() == expected["cases"].tolist()
    assert found.to_frame().set_index("check")["records"].to_dict() == {"outside": 3, "no_location": 1}


@pytest.mark.slow
@needs_dask
def test_a_larger_generated_city_gives_the_same_results_on_the_cluster(client, tmp_path):
    grids, cases = make_city(300, 40_000, seed=7)
    expected = assign(cases, grids, report=Report("memory"))
    result = assign_dask(cases, grids, npartitions=6, report=Report("cluster"))
    pd.testing.assert_frame_equal(result, expected)
    folder = write_parts(cases, tmp_path / "cases", 4, row_group=5000)
    lazy_counts = aggregate_dask(str(folder), grids, by="street", period="month", report=Report("x"))
    batch_counts = aggregate_partitioned(folder, grids, by="street", period="month", batch_size=7000,
                                         report=Report("y"))
    pd.testing.assert_frame_equal(lazy_counts, batch_counts)
    truth = independent_counts(cases, grids)
    in_a_month = truth["grid"].notna() & cases["reported_at"].notna()
    assert lazy_counts["cases"].sum() == truth.loc[in_a_month, "weight"].sum()


def test_a_missing_dask_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_geopandas", None)  # import now raises ImportError
    grids = gpd.GeoDataFrame({"code": ["A"]}, geometry=[Point(0, 0).buffer(1)], crs="EPSG:4547")
    with pytest.raises(ImportError, match=r"pip install gridmap\[dask\]"):
        aggregate_dask(grids, grids)


@pytest.mark.slow
@needs_dask
def test_assign_engine_dask_equals_memory(client):
    city, grids = sample_city(), sample_grids()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)
        cases = city.cases.head(3000)
        in_memory = assign(cases, grids)
        on_cluster = assign(cases, grids, engine="dask")
    pd.testing.assert_frame_equal(pd.DataFrame(on_cluster.drop(columns="geometry")),
                                  pd.DataFrame(in_memory.drop(columns="geometry")))
