"""scripts/: each script's documented Usage runs as written; batch_maps and check_existing_grids do their job.

The Usage lines of each script's docstring are run as a new user would, ``python scripts/NAME.py ...`` in a
project folder holding ``data/`` and the ``demo/`` that ``gridmap demo --out demo`` writes; lines marked
``# your files`` name files a new user does not have, and only their options are checked.
"""

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from command_lines import assert_opens, parse_command_lines

from gridmap.crs import metric_crs

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
#: Usage lines naming files a new user lacks, not yet marked "# your files" in a script this file's authors
#: do not own (batch_maps.py belongs to the HTML-safety work); skipped until the mark is there.
def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


batch_maps = _script("batch_maps")
check_existing_grids = _script("check_existing_grids")


def usage(name: str):
    """The command lines of the Usage block of ``scripts/NAME.py``'s docstring."""
    doc = ast.get_docstring(ast.parse((SCRIPTS / f"{name}.py").read_text(encoding="utf-8")))
    return parse_command_lines(doc.split("Usage", 1)[1], f"python scripts/{name}.py")


def run_script(name: str, argv: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, f"scripts/{name}.py", *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def demo_gpkg(demo):
    return demo.gpkg  # gridmap demo's output, made once per test run (tests/conftest.py)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["batch_maps", "check_existing_grids", "make_province"])
def test_documented_usage_runs_as_written(name, demo_gpkg, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "data").symlink_to(ROOT / "data", target_is_directory=True)
    (project / "scripts").symlink_to(SCRIPTS, target_is_directory=True)
    shutil.copytree(demo_gpkg.parent, project / "demo")
    examples = usage(name)
    for example in examples:  # every line's options exist, whether or not a new user has its files
        _script(name)._parse(example.argv)
    runnable = [e for e in examples if not e.own_files]
    assert runnable, f"scripts/{name}.py documents no command a new user can run"
    for example in runnable:
        result = run_script(name, example.argv, project)
        assert result.returncode == example.exit_code, f"{example.text}\n{result.stderr}"
        for path in example.promised:
            assert_opens(project / path)
        assert result.stdout.splitlines()[-1].startswith(f"wrote {example.promised[0]}"), result.stdout
        if name == "batch_maps":  # what the pages hold, checked on the documented run itself
            assert_every_district_and_street_with_an_index(project / example.promised[0],
                                                           gpd.read_file(demo_gpkg, layer="grids"),
                                                           result.stdout)


@pytest.mark.slow
def test_make_sample_data_usage_writes_the_shipped_sample_byte_for_byte(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    # a copy, not a link: by default the script writes data/sample/ beside its own folder
    for script in [SCRIPTS / "make_sample_data.py", *SCRIPTS.glob("sample_*.py")]:  # and the parts it imports
        shutil.copy2(script, project / "scripts")
    shipped = {p.name: p.read_bytes() for p in (ROOT / "data" / "sample").iterdir()}
    examples = usage("make_sample_data")
    assert {tuple(e.argv[:1]) for e in examples} == {(), ("--out",)}, "the default folder and --out"
    # The generator takes ten seconds: the --out line runs, the default line is checked for where it writes.
    (default,) = [e for e in examples if not e.argv]
    assert not default.promised and "writes data/sample/" in default.text
    monkeypatch.syspath_prepend(str(SCRIPTS))  # with the parts it imports
    assert importlib.import_module("make_sample_data").DEFAULT_OUT == SCRIPTS.parent / "data" / "sample"
    (example,) = [e for e in examples if e.argv]
    # a hash seed of its own (the shipped files were made under another): nothing hangs on set order
    result = run_script("make_sample_data", example.argv, project, env={**os.environ, "PYTHONHASHSEED": "7"})
    assert result.returncode == 0, result.stderr
    out = project / example.promised[0]
    written = {p.name: p.read_bytes() for p in out.iterdir()}
    # named, not diffed: pytest's diff of megabytes of bytes takes many minutes
    assert sorted(written) == sorted(shipped)
    assert [name for name in sorted(shipped)
            if not _same_sample_file(name, written[name], shipped[name])] == [], "differ from data/sample"
    last = result.stderr.splitlines()[-1]
    assert last.startswith("wrote ") and f"{out.relative_to(project)} ({len(shipped)} files" in last, last


def _same_sample_file(name: str, written: bytes, shipped: bytes) -> bool:
    """Whether a file the generator wrote is the shipped one: byte for byte, but for the versions of pandas,
    pyarrow and geopandas that a Parquet file records of its writers (a new pandas release changes them and
    nothing else): its columns, values and every other piece of metadata must be the same."""
    if written == shipped or not name.endswith(".parquet"):
        return written == shipped
    tables = [pq.read_table(pa.BufferReader(data)) for data in (written, shipped)]
    return tables[0].equals(tables[1]) and _without_writers(tables[0]) == _without_writers(tables[1])


def _without_writers(table) -> dict:
    """A Parquet table's metadata without the writers' versions."""
    metadata = {key: json.loads(value) if key in (b"pandas", b"geo") else value
                for key, value in (table.schema.metadata or {}).items()}
    for key in (b"pandas", b"geo"):
        if key in metadata:
            metadata[key] = {k: v for k, v in metadata[key].items() if k not in ("creator", "pandas_version")}
    return metadata


@pytest.fixture(scope="module")
def grids(demo_gpkg):
    return gpd.read_file(demo_gpkg, layer="grids")


def assert_every_district_and_street_with_an_index(out: Path, grids: gpd.GeoDataFrame, stdout: str) -> None:
    """``batch_maps.py --out OUT`` on the demo: a page per district and street, each of its own grids only."""
    districts = sorted(grids["community_code"].str[:6].unique())
    streets = sorted(grids["community_code"].str[:9].unique())
    assert sorted(p.stem for p in (out / "districts").iterdir()) == districts
    assert sorted(p.stem for p in (out / "streets").iterdir()) == streets
    index = (out / "index.html").read_text(encoding="utf-8")
    linked = re.findall(r'href="([^"]+)"', index)
    pages = [f"districts/{c}.html" for c in districts] + [f"streets/{c}.html" for c in streets]
    assert sorted(linked) == sorted(pages)
    assert all((out / page).is_file() for page in linked)
    for level, codes in (("districts", districts), ("streets", streets)):
        for code in codes:
            page = (out / level / f"{code}.html").read_text(encoding="utf-8")
            assert "<script src=" not in page, "self-contained"
            mine = grids.loc[grids["community_code"].str.startswith(code), "code"]
            others = grids.loc[~grids["community_code"].str.startswith(code), "code"]
            assert all(grid in page for grid in mine), f"{level}/{code} shows its grids"
            assert not any(grid in page for grid in others), f"{level}/{code} shows only its grids"
    assert "3 district and 8 street maps" in stdout


def test_batch_maps_bad_input_writes_nothing(demo_gpkg, tmp_path, capsys):
    out = tmp_path / "maps"
    assert batch_maps.main(["--gpkg", str(tmp_path / "missing.gpkg"), "--out", str(out)]) == 2
    assert "missing.gpkg" in capsys.readouterr().err
    assert not out.exists()


@pytest.fixture(scope="module")
def flawed(grids, tmp_path_factory):
    """The demo grids with one grid removed (a gap) and another duplicated under a new code (an overlap)."""
    removed, doubled = grids.iloc[0], grids.iloc[1]
    copy = grids.iloc[[1]].assign(code="990102001001999")
    layer = gpd.GeoDataFrame(pd.concat([grids.drop(index=grids.index[0]), copy], ignore_index=True),
                             crs=grids.crs)
    path = tmp_path_factory.mktemp("existing") / "existing.gpkg"
    layer[["code", "community_code", "households", "type", "geometry"]].to_file(path, layer="grids")
    return path, removed, doubled


def test_check_existing_grids_finds_the_gap_and_the_overlap(demo_gpkg, grids, flawed, tmp_path, capsys):
    path, removed, doubled = flawed
    out = tmp_path / "findings.gpkg"
    code = check_existing_grids.main([str(path), "--communities", str(demo_gpkg), "--other", str(demo_gpkg),
                                      "--other-layer", "communities", "--out", str(out)])
    assert code == 1, "a gap and an overlap are errors"
    layers = [name for name, _ in pyogrio.list_layers(out)]
    assert sorted(layers) == ["crosswalk", "crosswalk_summary", "findings", "gaps", "overlaps", "summary"]
    metric = metric_crs(grids)
    area = gpd.GeoSeries([removed.geometry, doubled.geometry], crs=grids.crs).to_crs(metric).area
    gaps = gpd.read_file(out, layer="gaps").to_crs(metric)
    overlaps = gpd.read_file(out, layer="overlaps").to_crs(metric)
    assert gaps.area.sum() == pytest.approx(area[0], rel=1e-3)
    assert overlaps.area.sum() == pytest.approx(area[1], rel=1e-3)
    printed = capsys.readouterr().out
    assert "gap" in printed and "overlap" in printed and str(out) in printed

    # crosswalk of the communities: each is covered by its grids, except the removed grid's land
    table = gpd.read_file(out, layer="crosswalk")
    inside = table.loc[table["grid_code"].notna()].groupby("other_code")["share_of_other"].sum()
    communities = gpd.read_file(demo_gpkg, layer="communities").set_index("code").to_crs(metric)
    missing = shapely.area(gpd.GeoSeries([removed.geometry], crs=grids.crs).to_crs(metric).iloc[0])
    expected = {c: 1.0 for c in communities.index}
    # the duplicated grid counts twice towards its community's share
    expected[removed["community_code"]] -= missing / communities.area[removed["community_code"]]
    expected[doubled["community_code"]] += area[1] / communities.area[doubled["community_code"]]
    assert inside.to_dict() == pytest.approx(expected, abs=1e-3)
    summary = gpd.read_file(out, layer="crosswalk_summary")
    assert len(summary) == len(communities) and summary.geometry.notna().all()


def test_check_existing_grids_passes_the_demo_grids(demo_gpkg, tmp_path):
    out = tmp_path / "findings.gpkg"
    argv = [str(demo_gpkg), "--communities", str(demo_gpkg), "--out", str(out)]
    assert check_existing_grids.main(argv) == 0
    assert len(gpd.read_file(out, layer="gaps")) == 0 and len(gpd.read_file(out, layer="overlaps")) == 0


def test_check_existing_grids_names_a_missing_code_column(flawed, demo_gpkg, tmp_path, capsys):
    path, _, _ = flawed
    out = tmp_path / "findings.gpkg"
    code = check_existing_grids.main([str(path), "--communities", str(demo_gpkg), "--code-column", "网格编码",
                                      "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "网格编码" in err and "--code-column" in err
    assert not out.exists()
