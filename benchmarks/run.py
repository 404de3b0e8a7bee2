"""Run every gridmap benchmark and print one table (also written as Markdown to benchmarks/RESULTS.md).

Run: ``python benchmarks/run.py [--quick] [--only NAME ...] [--output PATH] [--list]``

Each scenario runs its ``bench_*.py`` script as a child process, so its peak memory is its own: the resident
peak of the script and its children (``ru_maxrss`` from ``os.wait4``) unless the script reports finer peaks
(per method, resident or tracemalloc-traced; the ``memory`` column says which). A script's figures are read
from the lines it prints starting with ``BENCH `` followed by a JSON object with the keys of :data:`COLUMNS`
(missing ones empty); for scripts that print no such line yet, their human output is parsed.

``--quick`` runs reduced sizes (a smoke test of the whole suite, under two minutes on two idle cores).
A full run of every scenario writes ``benchmarks/RESULTS.md``; ``--quick`` and ``--only`` runs write it only
with ``--output``. The machine (cores, memory, load average), Python, package versions and date head both.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"

#: Row fields: what a ``BENCH {json}`` line may give.
COLUMNS = ("scenario", "size", "gridmap_s", "plain_s", "gridmap_peak_mb", "plain_peak_mb", "memory", "note")
HEADINGS = ("scenario", "size", "gridmap s", "plain s", "speed-up", "gridmap peak MB", "plain peak MB",
            "memory", "note")
PACKAGES = ("gridmap", "geopandas", "shapely", "pyproj", "pyogrio", "pyarrow", "pandas", "numpy", "folium",
            "dask", "distributed", "dask-geopandas")


@dataclass(frozen=True)
class Run:
    """One child process of a scenario: its label and arguments (``{tmp}`` becomes a temporary folder)."""

    label: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    script: str
    what: str
    full: tuple[Run, ...]
    quick: tuple[Run, ...]
    parse: Callable[[str, str], list[dict]]


# --- parsing the scripts' output ------------------------------------------------------------------------

def parse_bench_lines(output: str, label: str) -> list[dict]:
    """Rows from ``BENCH {json}`` lines (keys of COLUMNS; others ignored)."""
    rows = []
    for line in output.splitlines():
        if line.startswith("BENCH "):
            data = json.loads(line[len("BENCH "):])
            rows.append({"size": label, **{k: v for k, v in data.items() if k in COLUMNS}})
    return rows


def parse_build(output: str, label: str) -> list[dict]:
    """bench_build.py --child SCALE prints one JSON object."""
    data = json.loads(output.strip().splitlines()[-1])
    size = f"{data['grids']:,} grids ({data['communities']:,} communities, {data['units']:,} units)"
    return [
        {"scenario": "grid build", "size": f"{label}: {size}", "gridmap_s": data["build_s"],
         "gridmap_peak_mb": data["peak_mb"], "memory": "RSS of the child (all steps)",
         "note": f"build_grids; no plain equivalent; {data['build_cpu_s']:.1f} s CPU; "
                 f"{data['outside_range']} grids outside the range; load {data.get('load_start', 0):.1f} -> "
                 f"{data.get('load_end', 0):.1f}"},
        {"scenario": "units → communities", "size": f"{label}: {data['units']:,} units",
         "gridmap_s": data["assign_s"], "plain_s": data["geopandas_assign_s"],
         "gridmap_peak_mb": data["peak_mb"], "memory": "RSS of the grid build's child",
         "note": f"assign_units vs sjoin + overlay; same community for {data['assign_agree']:.1%}"},
    ]


def parse_registry(output: str, label: str) -> list[dict]:
    """bench_registry.py prints one dict per phase (assign, rerun, update, plain)."""
    phases = {}
    for line in output.splitlines():
        if line.startswith("{'phase'"):
            row = ast.literal_eval(line)
            phases[row["phase"]] = row
    first = phases["assign"]
    size = f"{first['grids']:,} grids in {first['communities']:,} communities"
    return [
        {"scenario": "code registration", "size": size, "gridmap_s": first["seconds"],
         "plain_s": phases["plain"]["seconds"], "gridmap_peak_mb": first["peak MB"],
         "plain_peak_mb": phases["plain"]["peak MB"], "memory": "RSS per phase",
         "note": "Registry.assign vs pandas cumcount + to_sql (no history, no matching)"},
        {"scenario": "code registration, re-run", "size": size, "gridmap_s": phases["rerun"]["seconds"],
         "gridmap_peak_mb": phases["rerun"]["peak MB"], "memory": "RSS per phase",
         "note": f"nothing changed; 1 % re-divided: {phases['update']['seconds']} s"},
    ]


def parse_maps(output: str, label: str) -> list[dict]:
    """bench_maps.py: one line per page (plain, gridmap) with size, build time, traced peak, load time."""
    pattern = (r"^(plain|gridmap)\s+([\d.]+) MiB\s+build\s+([\d.]+) s, peak\s+([\d.]+) MiB traced\s+"
               r"load\s+([\d.]+) ms")
    pages = {m.group(1): [float(v) for v in m.groups()[1:]]
             for m in re.finditer(pattern, output, re.MULTILINE)}
    size = re.search(r"^(\d+) grids", output, re.MULTILINE)
    mib, build, peak, load = pages["gridmap"]
    plain_mib, plain_build, plain_peak, plain_load = pages["plain"]
    return [{"scenario": "map payload", "size": f"{int(size.group(1)):,} grids" if size else label,
             "gridmap_s": build, "plain_s": plain_build, "gridmap_peak_mb": peak, "plain_peak_mb": plain_peak,
             "memory": "traced (tracemalloc)",
             "note": f"one_screen vs folium.GeoJson: page {mib:.2f} vs {plain_mib:.2f} MiB "
                     f"({mib / plain_mib:.2f}x), load {load:.0f} vs {plain_load:.0f} ms"}]


def parse_codes(output: str, label: str) -> list[dict]:
    """bench_codes.py prints a table: case, items, seconds, µs/item, traced peak, arrow MB."""
    rows = []
    for name in ("parse_many (default scheme)", "beidou level 10"):
        found = re.search(rf"^\s*{re.escape(name)}\s+([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", output,
                          re.MULTILINE)
        if found:
            rows.append({"scenario": name.split(" (")[0], "size": f"{found.group(1)} items",
                         "gridmap_s": float(found.group(2)), "gridmap_peak_mb": float(found.group(4)),
                         "memory": "traced (tracemalloc)", "note": f"{found.group(3)} µs/item; best of 3"})
    return rows


def parse_crs(output: str, label: str) -> list[dict]:
    """bench_crs.py prints a table of methods with points, µs/point, traced peak and errors."""
    pattern = r"^{}.*?\s([\d,]+)\s+([\d.]+)\s+[\d.]+\s+([\d.]+)\s+(\S+)\s+(\S+)\s*$"
    ours = re.search(pattern.format(re.escape("gridmap gcj02_to_wgs84")), output, re.MULTILINE)
    plain = re.search(pattern.format(re.escape("one-step approximation")), output, re.MULTILINE)
    points = int(ours.group(1).replace(",", ""))
    return [{"scenario": "GCJ-02 → WGS84", "size": f"{points:,} points",
             "gridmap_s": float(ours.group(2)) * points / 1e6,
             "plain_s": float(plain.group(2)) * points / 1e6 if plain else None,
             "gridmap_peak_mb": float(ours.group(3)),
             "plain_peak_mb": float(plain.group(3)) if plain else None,
             "memory": "traced (tracemalloc)",
             "note": f"iterated inverse vs one-step approximation; max error {ours.group(5)} m vs "
                     f"{plain.group(5) if plain else '?'} m"}]


SCENARIOS = (
    Scenario("build", "bench_build.py", "build_grids at Nanning scale and 4x",
             full=(Run("x1", ("--child", "1")), Run("x4", ("--child", "4"))),
             quick=(Run("x0.05", ("--child", "0.05")),), parse=parse_build),
    Scenario("microgrids", "bench_microgrids.py", "build_microgrids at Nanning scale (50 buildings per grid)",
             full=(Run("9,000 grids", ()),), quick=(Run("200 grids", ("--grids", "200")),),
             parse=parse_bench_lines),
    Scenario("barriers", "bench_barriers.py", "build_grids along a street lattice, with and without barriers",
             full=(Run("x1", ("--scale", "1")),), quick=(Run("x0.05", ("--scale", "0.05")),),
             parse=parse_bench_lines),
    Scenario("registry", "bench_registry.py", "permanent codes for about 3 million grids",
             full=(Run("all villages", ("--folder", "{tmp}")),),
             quick=(Run("2,000 villages", ("--communities", "2000", "--folder", "{tmp}")),),
             parse=parse_registry),
    Scenario("cases", "bench_cases.py", "case assignment in memory, 2 million cases, index prebuilt and not",
             full=(Run("2,000,000 cases", ("--cases", "2000000")),),
             quick=(Run("100,000 cases", ("--cases", "100000", "--grids", "900", "--repeat", "1")),),
             parse=parse_bench_lines),
    Scenario("scale", "bench_scale.py", "10 million cases out of core (partitioned GeoParquet)",
             full=(Run("10,000,000 cases", ("--cases", "10000000")),),
             quick=(Run("200,000 cases", ("--cases", "200000", "--grids", "900", "--batch-size", "50000")),),
             parse=parse_bench_lines),
    Scenario("patrols", "bench_patrols.py", "a month of GPS patrol tracks for 9,000 grids, out of core",
             full=(Run("x0.1: 3.2 million points", ("--scale", "0.1")),
                   Run("x1: 32.4 million points", ("--scale", "1", "--skip-plain"))),
             quick=(Run("x0.005: 162,000 points", ("--scale", "0.005", "--batch-size", "50000")),),
             parse=parse_bench_lines),
    Scenario("maps", "bench_maps.py", "one-screen map of 9,000 grids against plain folium",
             full=(Run("9,000 grids", ("--grids", "9000", "--out", "{tmp}")),),
             quick=(Run("500 grids", ("--grids", "500", "--runs", "1", "--out", "{tmp}")),),
             parse=parse_maps),
    Scenario("province", "bench_province.py",
             "one-screen map of a generated province (levels of detail) against plain folium",
             full=(Run("100,000 grids", ("--grids", "100000", "--out", "{tmp}")),),
             quick=(Run("6,000 grids", ("--grids", "6000", "--runs", "1", "--out", "{tmp}")),),
             parse=parse_bench_lines),
    Scenario("codes", "bench_codes.py", "parsing 3 million grid codes, Beidou codes of 1 million points",
             full=(Run("3,000,000 codes", ("--codes", "3000000")),),
             quick=(Run("100,000 codes", ("--codes", "100000", "--points", "50000")),), parse=parse_codes),
    Scenario("crs", "bench_crs.py", "GCJ-02 to WGS84 for 1 million points",
             full=(Run("1,000,000 points", ()),),
             quick=(Run("50,000 points", ("--points", "50000", "--sample", "2000")),), parse=parse_crs),
)


# --- running --------------------------------------------------------------------------------------------

@dataclass
class Finished:
    """What a child process left: exit code, output, resident peak (MB) and wall time."""

    returncode: int
    stdout: str
    stderr: str
    peak_mb: float
    seconds: float


def run_script(script: Path, args: list[str]) -> Finished:
    """Run ``python script args`` to the end; its ``ru_maxrss`` (with its children's) from ``os.wait4``."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = dt.datetime.now()
        process = subprocess.Popen([sys.executable, str(script), *args], stdout=out, stderr=err, cwd=ROOT,
                                   env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = (dt.datetime.now() - started).total_seconds()
        out.seek(0)
        err.seek(0)
        return Finished(process.returncode, out.read(), err.read(), usage.ru_maxrss / 1024, seconds)


def run_scenario(scenario: Scenario, *, quick: bool, log: Callable[[str], None] = print) -> list[dict]:
    """Rows of one scenario: figures parsed from each run, or a row saying why there are none."""
    script = HERE / scenario.script
    rows = []
    for run in scenario.quick if quick else scenario.full:
        base = {"scenario": scenario.name, "size": run.label}
        if not script.exists():
            rows.append({**base, "note": f"benchmarks/{scenario.script} not present"})
            continue
        with tempfile.TemporaryDirectory(prefix=f"gridmap-bench-{scenario.name}-") as tmp:
            args = [arg.replace("{tmp}", tmp) for arg in run.args]
            log(f"... {scenario.name} {run.label}: {scenario.script} {' '.join(args)}")
            finished = run_script(script, args)
        rows.extend(rows_of(scenario, run, finished))
        log(f"    {finished.seconds:.0f} s wall, peak RSS {finished.peak_mb:,.0f} MB")
    return rows


def rows_of(scenario: Scenario, run: Run, finished: Finished) -> list[dict]:
    """The rows a finished run gives (BENCH lines first), with the process peak where none is given."""
    base = {"scenario": scenario.name, "size": run.label}
    if finished.returncode:
        last = (finished.stderr.strip().splitlines() or ["no output"])[-1]
        return [{**base, "note": f"failed (exit {finished.returncode}): {last[:150]}"}]
    try:
        rows = parse_bench_lines(finished.stdout, run.label) or scenario.parse(finished.stdout, run.label)
    except (AttributeError, KeyError, ValueError, IndexError) as exc:
        return [{**base, "note": f"output not understood ({type(exc).__name__}: {exc})"}]
    for row in rows:
        row.setdefault("scenario", scenario.name)
        if row.get("gridmap_peak_mb") is None:
            row["gridmap_peak_mb"], row["memory"] = finished.peak_mb, "RSS of the whole script"
    return rows


# --- the table ------------------------------------------------------------------------------------------

def _number(value, digits: int | None = None) -> str:
    if value is None:
        return "—"
    value = float(value)
    if digits is None:
        digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:,.{digits}f}"


def cells(row: dict) -> list[str]:
    """The row as table cells: numbers rounded, speed-up = plain time / gridmap time, "—" where unknown."""
    ours, plain = row.get("gridmap_s"), row.get("plain_s")
    speed = f"{plain / ours:.1f}x" if ours and plain else "—"
    return [str(row.get("scenario", "")), str(row.get("size", "")), _number(ours), _number(plain), speed,
            _number(row.get("gridmap_peak_mb"), 0), _number(row.get("plain_peak_mb"), 0),
            str(row.get("memory") or "—"), str(row.get("note") or "")]


def text_table(rows: list[dict]) -> str:
    """A plain-text table, columns padded to their widest cell."""
    table = [list(HEADINGS)] + [cells(row) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADINGS))]
    right = {2, 3, 4, 5, 6}
    return "\n".join("  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(line, widths, strict=True))).rstrip()
                     for line in table)


def markdown_table(rows: list[dict]) -> str:
    """A GitHub Markdown table ("|" in cells escaped)."""
    lines = ["| " + " | ".join(HEADINGS) + " |",
             "|" + "|".join("---:" if i in (2, 3, 4, 5, 6) else "---" for i in range(len(HEADINGS))) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells(row)) + " |")
    return "\n".join(lines)


def machine() -> list[str]:
    """Lines about the machine, the Python and the packages, and the date."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return [f"date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
            f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
            f"{memory:.1f} GiB memory; load average (1, 5, 15 min) at start: {load}",
            f"python {platform.python_version()}; " + ", ".join(versions)]


def write_markdown(path: Path, header: list[str], rows: list[dict], footer: list[str], *,
                   quick: bool) -> None:
    """Write the results page atomically."""
    kind = "quick (reduced sizes)" if quick else "full"
    intro = "Written by `python benchmarks/run.py`; benchmarks/README.md says what each scenario measures."
    text = "\n".join([f"# gridmap benchmarks ({kind})", "", intro, "",
                      *[f"- {line}" for line in header + footer], "", markdown_table(rows), ""])
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes: a smoke test of the suite")
    parser.add_argument("--only", action="append", choices=[s.name for s in SCENARIOS], metavar="NAME",
                        help="run only this scenario (repeatable): " + ", ".join(s.name for s in SCENARIOS))
    parser.add_argument("--output", type=Path, help="Markdown file to write (default: benchmarks/RESULTS.md "
                        "for a full run of every scenario, none otherwise)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)
    if args.list:
        for s in SCENARIOS:
            print(f"{s.name:10s} {s.script:18s} {s.what}")
        return 0
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    header = machine()
    print("\n".join(header), flush=True)
    rows = []
    for scenario in chosen:
        rows.extend(run_scenario(scenario, quick=args.quick, log=lambda line: print(line, flush=True)))
    footer = [f"load average at end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}"]
    print()
    print(text_table(rows))
    print("\n" + footer[0])
    output = args.output or (RESULTS if not args.quick and not args.only else None)
    if output is not None:
        write_markdown(output, header, rows, footer, quick=args.quick)
        print(f"wrote {output}")
    return 1 if any(str(row.get("note", "")).startswith("failed") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
