"""Bad values get a clear error (issue 14): never a traceback, never a silently wrong answer.

Each case asserts the exit code (2 for bad input), that the message names the file, record or command line
option and the fix, that no traceback is printed, and for the registry that the file is byte-identical
afterwards. Fixtures are made in code (tmp_path): a few grids near Nanning, a small registry.

Read-only registries are simulated two ways: a real read-only bind mount (``mount --bind`` then
``mount -o remount,ro,bind``; needs root and CAP_SYS_ADMIN, else skipped: chmod does not stop root), and,
always, ``os.access`` patched to say the folder cannot be written (gridmap's test for a read-only place).
A full disk is SQLite's own: ``PRAGMA max_page_count`` caps the file at its current size.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import shutil
import sqlite3
import subprocess
import warnings
from pathlib import Path

import geopandas as gpd
import matplotlib
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import gridmap
from gridmap.cases import read_cases
from gridmap.cli import main
from gridmap.cli.options import FiniteFloat
from gridmap.codes.registry import Registry
from gridmap.division import GridRules
from gridmap.errors import CaseError, CodeError, GeometryError, GridmapError, RegistryError
from gridmap.findings import Report
from gridmap.maps import static_map
from gridmap.maps.static import cjk_font

COMMUNITY = "450102001003"
CODES = [f"{COMMUNITY}{n:03d}" for n in (1, 2, 3)]


def run(*args: str):
    """Run the CLI in-process; stdout and stderr together in ``output``."""
    return CliRunner().invoke(main, list(args))


def assert_user_error(result, *names: str) -> str:
    """Exit 2, no traceback, and every one of ``names`` in the message."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(
        result.exception, SystemExit), result.output
    for name in names:
        assert name in result.output, (name, result.output)
    return result.output


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- fixtures ------------------------------------------------------------------------------------------

def _grids() -> gpd.GeoDataFrame:
    boxes = [shapely.box(108.30 + i * 0.01, 22.80, 108.31 + i * 0.01, 22.81) for i in range(3)]
    return gpd.GeoDataFrame({"code": CODES, "community_code": COMMUNITY, "type": "city",
                             "households": [320, 410, 380], "population": [900, 1100, 1000]},
                            geometry=boxes, crs="EPSG:4490")


@pytest.fixture
def grids_file(tmp_path) -> Path:
    path = tmp_path / "grids.gpkg"
    _grids().to_file(path, layer="grids")
    return path


@pytest.fixture(params=["LineString", "Point"])
def wrong_geometry_file(tmp_path, request) -> Path:
    grids = _grids()
    lines = request.param == "LineString"
    shapes = grids.geometry.boundary if lines else grids.geometry.representative_point()
    path = tmp_path / f"grids_{request.param}.geojson"
    grids.set_geometry(shapes).to_file(path)
    return path


def _build(tag: str, n: int) -> pd.DataFrame:
    units = [f"{tag}{i}" for i in range(n)]
    return pd.DataFrame({"community_code": COMMUNITY, "type": "city", "unit_ids": units})


@pytest.fixture
def registry_file(tmp_path) -> Path:
    path = tmp_path / "registry.sqlite"
    with Registry(path) as registry:
        registry.assign(_build("U", 3), when="2025-01-06")
    return path


def _damage(path: Path, sql: str) -> None:
    con = sqlite3.connect(path)
    con.executescript(sql)
    con.close()


# --- 1. case times in mixed time zones -----------------------------------------------------------------

def test_mixed_time_zones_are_normalised_to_beijing_time(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("事件编号,上报时间,经度,纬度\n"
                    "E1,2024-05-01T08:00:00+08:00,108.305,22.805\n"
                    "E2,2024-05-01T00:00:00Z,108.305,22.805\n"
                    "E3,2024-04-30T19:00-05:00,108.305,22.805\n"
                    "E4,2024-05-01 08:00,108.305,22.805\n"
                    "E5,2024/5/1 8:00,108.305,22.805\n"
                    "E6,2024年5月1日 08:00,108.305,22.805\n"
                    "E7,45413.3333333333,108.305,22.805\n"
                    "E8,not a time,108.305,22.805\n", encoding="utf-8")
    report = Report("cases")
    cases = read_cases(path, coords="wgs84", report=report)
    eight = pd.Timestamp("2024-05-01 08:00")
    assert (cases["reported_at"].iloc[:7] == eight).all(), cases[["case_id", "reported_at"]]
    assert pd.isna(cases["reported_at"].iloc[7]) and cases["reported_at"].dt.tz is None
    found = report.to_frame()
    assert found["check"].tolist() == ["bad_time"] and found["row"].tolist() == [8]


# From 1992 on: China kept summer time (UTC+9) from 1986 to 1991, and Asia/Shanghai knows it.
@settings(max_examples=30, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1992, 1, 1), max_value=dt.datetime(2090, 1, 1))
       .map(lambda t: t.replace(microsecond=0)),
       st.integers(min_value=-12 * 4, max_value=14 * 4))
def test_every_zoned_time_is_the_same_instant_in_beijing(moment, quarters):
    offset = pd.Timedelta(minutes=15 * quarters)
    sign, hours, minutes = "+" if quarters >= 0 else "-", abs(quarters) // 4, 15 * (abs(quarters) % 4)
    text = f"{moment.isoformat()}{sign}{hours:02d}:{minutes:02d}"
    naive = pd.Timestamp(moment).isoformat(sep=" ")
    clean = gridmap.cases.clean_cases(pd.DataFrame({"reported_at": [text, naive]}), report=Report("x"))
    expected = pd.Timestamp(moment) - offset + pd.Timedelta(hours=8)
    assert clean["reported_at"].tolist() == [expected, pd.Timestamp(moment)]


# --- 2. counts and coordinates -------------------------------------------------------------------------

def test_bad_counts_and_coordinates_are_reported_by_row_and_the_good_rows_kept(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("事件编号,上报时间,经度,纬度,数量\n"
                    "G1,2025-03-01 09:00,108.305,22.805,2\n"
                    "B2,2025-03-01 09:00,inf,22.805,1\n"
                    "B3,2025-03-01 09:00,nan,22.805,1\n"
                    "B4,2025-03-01 09:00,108.305,22.805,1e30\n"
                    "B5,2025-03-01 09:00,108.305,22.805,-1\n"
                    "B6,2025-03-01 09:00,108.305,22.805,1.5\n"
                    "B7,2025-03-01 09:00,,,1\n", encoding="utf-8")
    report = Report("cases")
    cases = read_cases(path, coords="wgs84", report=report)
    assert len(cases) == 7 and cases.loc[0, "count"] == 2
    assert cases.geometry[0].equals(shapely.Point(108.305, 22.805))
    found = report.to_frame()
    assert set(found.loc[found["check"] == "bad_coordinates", "row"]) == {2, 3}
    assert set(found.loc[found["check"] == "bad_count", "row"]) == {4, 5, 6}
    assert set(found.loc[found["check"] == "no_location", "row"]) == {7}  # inf/nan rows: reported once
    assert cases["count"].iloc[3:6].isna().all() and cases.geometry.iloc[1:3].isna().all()
    with pytest.raises(CaseError, match=r"cases\.csv.*case B2.*lon 'inf' is not a finite number"):
        read_cases(path, coords="wgs84", strict=True)


def test_cases_assign_keeps_the_bad_rows_and_says_so(tmp_path, grids_file):
    path = tmp_path / "cases.csv"
    path.write_text("事件编号,上报时间,经度,纬度,数量\nG1,2025-03-01 09:00,108.305,22.805,1\n"
                    "B2,2025-03-01 09:00,inf,22.805,1e30\n", encoding="utf-8")
    out = tmp_path / "out.gpkg"
    result = run("cases", "assign", str(path), "--grids", str(grids_file), "--coords", "wgs84",
                 "--out", str(out))
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "FAILED" not in result.output
    assert "every case is kept" in result.output and "row 2, case B2" in result.output
    assert "cases.csv" in result.output and "--strict" in result.output
    assert len(gpd.read_file(out)) == 2
    strict = run("cases", "assign", str(path), "--grids", str(grids_file), "--coords", "wgs84", "--out",
                 str(tmp_path / "strict.gpkg"), "--strict")
    assert_user_error(strict, "cases.csv", "case B2")
    assert not (tmp_path / "strict.gpkg").exists()


@pytest.mark.parametrize("households", ["-1", "1e30", "1.5", "inf"])
def test_units_with_impossible_households_are_refused_naming_the_row(tmp_path, grids_file, households):
    units = tmp_path / "units.csv"
    units.write_text("unit_id,name,kind,households,lon,lat\nU1,翠竹苑,小区,420,108.305,22.805\n"
                     f"U2,那坡屯,小区,{households},108.315,22.805\n", encoding="utf-8")
    communities = tmp_path / "communities.geojson"
    gpd.GeoDataFrame({"code": [COMMUNITY], "name": ["那坡社区"]},
                     geometry=[shapely.box(108.30, 22.80, 108.33, 22.81)],
                     crs="EPSG:4490").to_file(communities)
    result = run("build", "--communities", str(communities), "--units", str(units), "--coords", "wgs84",
                 "--out", str(tmp_path / "built.gpkg"))
    assert_user_error(result, "units.csv", "row 3", "households")
    assert not (tmp_path / "built.gpkg").exists()


# --- 3. the registry -----------------------------------------------------------------------------------

DAMAGES = {
    "meta row missing": ("DELETE FROM meta WHERE key = 'scheme';", "table meta"),
    "meta row garbage": ("UPDATE meta SET value = '{not json' WHERE key = 'scheme';", "table meta"),
    "meta format gone": ("DELETE FROM meta WHERE key = 'format';", "table meta"),
    "counters missing": ("DROP TABLE counters;", "table counters"),
    "counter garbage": ("UPDATE counters SET last_sequence = 'x';", "table counters"),
    "counter negative": ("UPDATE counters SET last_sequence = -4;", "table counters"),
    "versions missing": ("DROP TABLE versions;", "table versions"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_registry_is_named_with_its_table(registry_file, damage):
    sql, table = DAMAGES[damage]
    _damage(registry_file, sql)
    before = sha(registry_file)
    for args in (("codes", "history", CODES[0], "--registry", str(registry_file)),
                 ("codes", "diff", "--registry", str(registry_file), "--since", "1")):
        assert_user_error(run(*args), "registry.sqlite", "registry damaged", table, "restore")
    with pytest.raises(RegistryError, match="registry damaged"):
        Registry(registry_file)
    assert sha(registry_file) == before


@pytest.mark.parametrize("content", [b"", b"\x00garbage" * 100, b"SQLite format 3\x00" + b"\x07" * 3000])
def test_a_file_that_is_no_sqlite_registry_is_refused(tmp_path, content):
    path = tmp_path / "registry.sqlite"
    path.write_bytes(content)
    before = sha(path)
    result = run("codes", "history", CODES[0], "--registry", str(path))
    if content:
        assert_user_error(result, "registry.sqlite")
        assert "not a code registry" in result.output or "registry damaged" in result.output
    else:  # an empty file is no registry to read (and a read writes nothing into it)
        assert_user_error(result, "registry.sqlite", "empty")
    assert sha(path) == before


def test_counters_behind_the_codes_refuse_to_issue_codes_again(registry_file):
    _damage(registry_file, "UPDATE counters SET last_sequence = 1;")
    before = sha(registry_file)
    with Registry(registry_file) as registry:
        with pytest.raises(RegistryError, match=r"registry damaged: table counters .* sequence 3"):
            registry.assign(_build("V", 2), when="2025-02-01", scope="communities")
    assert sha(registry_file) == before


def _read_only_place(monkeypatch, folder: Path) -> None:
    real = os.access

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and Path(path).resolve().is_relative_to(folder.resolve()):
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


@pytest.fixture
def mount_read_only(tmp_path):
    """Return a function showing a folder through a real read-only bind mount (skipped where not allowed)."""
    mounts: list[Path] = []

    def mount(folder: Path) -> Path:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("needs root to mount a read-only folder")
        target = tmp_path / f"mnt{len(mounts)}"
        target.mkdir()
        done = subprocess.run(["mount", "--bind", str(folder), str(target)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount here: {done.stderr.decode(errors='replace').strip()}")
        mounts.append(target)
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], capture_output=True).returncode:
            pytest.skip("cannot remount read-only here")
        return target

    yield mount
    for target in reversed(mounts):
        subprocess.run(["umount", str(target)], check=False)


@pytest.fixture
def read_only_mount(registry_file, mount_read_only):
    """The registry in a real read-only bind mount."""
    return mount_read_only(registry_file.parent) / registry_file.name


def _assert_read_only_registry_works(path: Path) -> None:
    before = sha(path)
    history = run("codes", "history", CODES[0], "--registry", str(path))
    assert history.exit_code == 0 and "issued" in history.output, history.output
    diff = run("codes", "diff", "--registry", str(path), "--since", "1", "--json")
    assert diff.exit_code == 0 and '"added"' in diff.output, diff.output
    with Registry(path) as registry:
        assert registry.read_only
        again = registry.assign(_build("U", 3), when="2025-01-06")  # nothing new: works read-only
        assert again["code"].tolist() == CODES
        with pytest.raises(RegistryError, match="read-only") as caught:
            registry.assign(_build("W", 2), when="2025-02-01", scope="communities")
    assert "backup" not in str(caught.value) and "registry.sqlite" in str(caught.value)
    assert sha(path) == before
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def test_a_registry_in_a_read_only_mount_is_read_and_says_read_only(read_only_mount):
    _assert_read_only_registry_works(read_only_mount)


def test_a_read_only_registry_shows_changes_still_in_its_wal_file(tmp_path, registry_file, mount_read_only):
    folder = tmp_path / "stopped"
    folder.mkdir()
    con = sqlite3.connect(registry_file)  # a writer stopped before SQLite copied its WAL into the file
    con.execute("PRAGMA wal_autocheckpoint = 0")
    con.execute("UPDATE versions SET note = 'only in the WAL'")
    con.commit()
    for name in ("registry.sqlite", "registry.sqlite-wal", "registry.sqlite-shm"):
        shutil.copy(registry_file.parent / name, folder / name)
    con.close()
    with Registry(mount_read_only(folder) / "registry.sqlite") as registry:
        assert registry.read_only and registry.versions()["note"].tolist() == ["only in the WAL"]


def test_a_registry_in_a_folder_gridmap_may_not_write_is_opened_read_only(registry_file, monkeypatch):
    _read_only_place(monkeypatch, registry_file.parent)  # os.access says no: opened with immutable=1
    _assert_read_only_registry_works(registry_file)
    with pytest.raises(RegistryError, match="read-only"):
        Registry(registry_file.parent / "new.sqlite")


def test_a_full_disk_says_disk_full_not_damaged(registry_file):
    before = sha(registry_file)
    with Registry(registry_file) as registry:
        pages = registry._con.execute("PRAGMA page_count").fetchone()[0]
        registry._con.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's SQLITE_FULL, as on a full disk
        with pytest.raises(RegistryError, match="disk full") as caught:
            registry.assign(_build("X", 400), when="2025-02-01", scope="communities")
    assert "backup" not in str(caught.value) and "damaged" not in str(caught.value)
    assert sha(registry_file) == before
    with Registry(registry_file) as registry:
        assert registry.check().ok and len(registry) == 3


# --- 4. wrong geometry types, missing columns, numeric options, rules files ----------------------------

@pytest.mark.parametrize("out", ["map.html", "map.png"])
def test_lines_or_points_given_as_grids_are_refused_by_map(tmp_path, wrong_geometry_file, out):
    kind = "LineString" if "LineString" in wrong_geometry_file.name else "Point"
    result = run("map", str(wrong_geometry_file), "--out", str(tmp_path / out))
    assert_user_error(result, wrong_geometry_file.name, f"feature 1 (a {kind})", "not polygons", "Fix:")
    assert not (tmp_path / out).exists()


def test_lines_or_points_given_as_grids_are_refused_by_check(wrong_geometry_file):
    result = run("check", str(wrong_geometry_file))
    assert_user_error(result, wrong_geometry_file.name, "feature 1", "not polygons")
    with pytest.raises(GeometryError, match=r"feature 1 .*3 of 3 grids are not polygons"):
        gridmap.check(gridmap.read_layer(wrong_geometry_file))


def test_lines_given_as_communities_are_refused_by_build(tmp_path):
    communities = tmp_path / "communities.geojson"
    gpd.GeoDataFrame({"code": [COMMUNITY], "name": ["那坡社区"]},
                     geometry=[shapely.box(108.30, 22.80, 108.33, 22.81).boundary],
                     crs="EPSG:4490").to_file(communities)
    units = tmp_path / "units.csv"
    units.write_text("unit_id,name,kind,households,lon,lat\nU1,翠竹苑,小区,420,108.305,22.805\n",
                     encoding="utf-8")
    result = run("build", "--communities", str(communities), "--units", str(units), "--coords", "wgs84",
                 "--out", str(tmp_path / "grids.gpkg"))
    assert_user_error(result, "communities.geojson", "feature 1", "polygon")


def test_library_maps_refuse_lines(tmp_path, wrong_geometry_file):
    frame = gridmap.read_layer(wrong_geometry_file)
    with pytest.raises(GeometryError, match=wrong_geometry_file.name):
        static_map(frame, tmp_path / "map.png", lang="en")
    with pytest.raises(GeometryError, match="not polygons"):
        gridmap.maps.one_screen(frame)


def test_report_on_grids_without_community_code(tmp_path, grids_file):
    path = tmp_path / "no_community.gpkg"
    gpd.read_file(grids_file).drop(columns="community_code").to_file(path, layer="grids")
    result = run("report", str(path), "--out", str(tmp_path / "report"))
    assert_user_error(result, "no_community.gpkg", "community_code", "Fix:")
    assert not (tmp_path / "report").exists()


NUMERIC_OPTIONS = [
    *((["stats", "{grids}", "--out", "{out}.xlsx", "--overdue-days", v], "--overdue-days")
      for v in ("nan", "inf", "-inf", "-1", "1e400", "NaN", "lots")),
    *((["stats", "{grids}", "--out", "{out}.xlsx", "--on-time", v], "--on-time")
      for v in ("nan", "inf", "-1", "soon")),
    *((["stats", "{grids}", "--out", "{out}.xlsx", "--threshold", v], "--threshold")
      for v in ("0", "-3", "1e30", "nan", "99999999999999999999")),
    *((["map", "{grids}", "--out", "{out}.html", "--classes", v], "--classes")
      for v in ("1", "10", "nan", "inf")),
    *((["build", "--communities", "{grids}", "--units", "{grids}", "--out", "{out}.gpkg", "--households", v],
       "--households") for v in ("300-inf", "nan-500", "500-300", "-1-5", "300")),
    *((["check", "{grids}", "--households", v], "--households") for v in ("inf-inf", "1e30")),
]


@pytest.mark.parametrize(("args", "option"), NUMERIC_OPTIONS)
def test_every_numeric_option_refuses_non_finite_and_out_of_range_values(tmp_path, grids_file, args, option):
    args = [a.format(grids=grids_file, out=tmp_path / "out") for a in args]
    result = run(*args)
    assert_user_error(result, option)
    assert not list(tmp_path.glob("out*"))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8)))
def test_finite_float_accepts_exactly_the_finite_numbers_in_range(value):
    import click

    kind = FiniteFloat(min=0, max=100, unit="days")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if math.isfinite(number) and 0 <= number <= 100:
        assert kind.convert(str(value), None, None) == number
    else:
        with pytest.raises(click.BadParameter):
            kind.convert(str(value), None, None)


@pytest.mark.parametrize(("line", "key"), [("max_population = nan", "max_population"),
                                           ("neighbour_distance_m = inf", "neighbour_distance_m"),
                                           ("city_households = [300, inf]", "city_households"),
                                           ("rural_min_households = -inf", "rural_min_households"),
                                           ('max_population = "many"', "max_population"),
                                           ("dedicated_min_people = 2.5", "dedicated_min_people")])
def test_inf_and_nan_in_a_rules_file_name_the_file_and_key(tmp_path, grids_file, line, key):
    rules = tmp_path / "rules.toml"
    rules.write_text(f"[rules]\n{line}\n", encoding="utf-8")
    with pytest.raises(GridmapError, match=rf"rules\.toml, key {key}: .*Fix:"):
        GridRules.from_toml(rules)
    result = run("build", "--communities", str(grids_file), "--units", str(grids_file), "--rules", str(rules),
                 "--out", str(tmp_path / "out.gpkg"))
    assert_user_error(result, "rules.toml", f"key {key}")


def test_cli_errors_name_options_not_python_arguments(tmp_path, grids_file, registry_file):
    two = tmp_path / "two.gpkg"
    _grids().to_file(two, layer="first")
    _grids().to_file(two, layer="second")
    cases = tmp_path / "cases.csv"
    cases.write_text("事件编号,上报时间,经度,纬度\nE1,2025-03-01 09:00,108.305,22.805\n", encoding="utf-8")
    layer = run("cases", "assign", str(cases), "--grids", str(two), "--out", str(tmp_path / "o.gpkg"))
    since = run("codes", "diff", "--registry", str(registry_file), "--since", "last week")
    for result, option in ((layer, "--layer"), (since, "--since")):
        output = assert_user_error(result, option)
        assert f"{option[2:]}=" not in output, output


# --- 6, 7. static maps: literal text, real Chinese fonts ------------------------------------------------

def test_titles_are_drawn_as_typed_not_as_mathtext(tmp_path):
    svg = tmp_path / "map.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text in the SVG
        static_map(_grids(), svg, lang="en", title="$x^2$ & 50% of \\alpha")
    text = svg.read_text(encoding="utf-8")
    assert "$x^2$ &amp; 50% of \\alpha" in text


def test_the_last_resort_font_is_never_taken_for_chinese(monkeypatch):
    from matplotlib import font_manager

    stale = font_manager.FontManager.__new__(font_manager.FontManager)
    stale.__dict__.update(font_manager.fontManager.__dict__)
    stale.ttflist = [entry for entry in font_manager.fontManager.ttflist if "Last Resort" in entry.name]
    assert stale.ttflist, "matplotlib ships its Last Resort font"
    monkeypatch.setattr(font_manager, "fontManager", stale)
    monkeypatch.setattr(font_manager, "_load_fontmanager", lambda try_read_cache=True: stale)
    with pytest.raises(GridmapError, match="apt-get install fonts-noto-cjk"):
        cjk_font()


def test_a_stale_font_cache_is_rebuilt_once(monkeypatch):
    from matplotlib import font_manager

    real = font_manager.fontManager
    try:
        path = cjk_font()
    except GridmapError:
        pytest.skip("no Chinese font installed here")
    stale = font_manager.FontManager.__new__(font_manager.FontManager)
    stale.__dict__.update(real.__dict__)
    stale.ttflist = [entry for entry in real.ttflist if "Last Resort" in entry.name]
    rebuilt = []
    monkeypatch.setattr(font_manager, "fontManager", stale)
    monkeypatch.setattr(font_manager, "_load_fontmanager",
                        lambda try_read_cache=True: rebuilt.append(try_read_cache) or real)
    assert cjk_font() == path and rebuilt == [False]
    charmap = font_manager.get_font(path).get_charmap()
    assert len({charmap[ord(char)] for char in "网格社区"}) == 4  # a glyph of its own for each


# --- 9. library errors are GridmapErrors ---------------------------------------------------------------

def test_library_argument_errors_are_gridmap_errors():
    with pytest.raises(CaseError, match="unknown handling level 'galaxy'.*Fix:"):
        gridmap.cases.normalize_level("galaxy")
    with pytest.raises(GridmapError, match="refine=3"):
        gridmap.GridIndex(_grids(), refine=3)
    with pytest.raises(GridmapError, match="severity='fatal'"):
        Report("x").add("check", "message", severity="fatal")
    with pytest.raises(CodeError, match="level='planet'"):
        gridmap.io.admin.ancestor_code(COMMUNITY, "planet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(GridmapError, match="engine='spark'"):
            gridmap.cases.assign(gpd.GeoDataFrame(geometry=[], crs="EPSG:4490"), _grids(), engine="spark")


# --- messages name the file the frame came from (issue 14) ----------------------------------------------

def test_buildings_without_parent_unit_name_the_units_file(tmp_path):
    units = tmp_path / "bld.csv"
    pd.DataFrame({"unit_id": ["b1", "b2"], "name": ["楼1", "楼2"], "kind": ["building"] * 2,
                  "lon": [108.301, 108.305], "lat": [22.801, 22.805], "community_code": ["450102001003"] * 2,
                  "households": [10, 20]}).to_csv(units, index=False)
    communities = tmp_path / "c.gpkg"
    gpd.GeoDataFrame({"code": ["450102001003"], "name": ["翠竹社区"]}, crs=4490,
                     geometry=[shapely.box(108.30, 22.80, 108.31, 22.81)]).to_file(communities)
    result = run("build", "--communities", str(communities), "--units", str(units),
                 "--out", str(tmp_path / "g.gpkg"))
    assert_user_error(result, f"{units}: units of kind 'building' need a parent_unit column", "Fix:")


def test_cases_without_a_report_time_name_the_cases_file(tmp_path, grids_file):
    cases = tmp_path / "cases.csv"
    pd.DataFrame({"事件编号": ["A"], "经度": [108.301], "纬度": [22.801]}).to_csv(cases, index=False)
    result = run("cases", "assign", str(cases), "--grids", str(grids_file), "--out", str(tmp_path / "o.gpkg"))
    assert_user_error(result, f"{cases}: the cases have no report time (上报时间 / reported_at)", "Fix:")


def test_cases_findings_show_no_python(tmp_path, grids_file):
    from gridmap.cases.read import points_from_table
    table = pd.DataFrame({"case_id": ["G1", "B2"], "lon": [108.305, float("inf")], "lat": [22.805, 22.805]})
    report = Report("cases")
    points_from_table(table, coords="wgs84", crs=None, path=None, report=report)  # numbers: numpy floats
    message = report.to_frame()["message"].iloc[0]
    assert message.startswith("lon inf is not a finite number") and "np.float64" not in message
    path = tmp_path / "cases.csv"
    path.write_text("事件编号,上报时间,经度,纬度\nG1,2025-03-01 09:00,108.305,22.805\n"
                    "B2,2025-03-01 09:00,,\n", encoding="utf-8")
    result = run("cases", "assign", str(path), "--grids", str(grids_file), "--coords", "wgs84",
                 "--out", str(tmp_path / "out.gpkg"))
    assert result.exit_code == 0, result.output
    assert "(and the units: --units" in result.output and "(with units=)" not in result.output
