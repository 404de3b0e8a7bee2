"""``gridmap check``: check a grid layer for gaps, overlaps, community crossings and unit assignment.

Runs :func:`gridmap.check` on any grid layer — one ``gridmap build`` wrote, or a city's own (headers such
as 网格编码 and 社区代码 are understood) — prints the report or JSON, optionally writes the findings, and
exits 1 when the layer violates "全覆盖、不交叉" (a gap, an overlap, a grid crossing its community, a unit
in no grid or in several, a duplicate code), 0 otherwise, 2 on bad input.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd

from gridmap.cli import EXIT_OK, EXIT_VIOLATIONS
from gridmap.cli._output import Steps, counted, echo_wrote, refuse_overwriting
from gridmap.cli.options import (
    Input,
    coords_option,
    echo_warnings,
    epilog,
    households_option,
    is_quiet,
    join_inputs,
    json_option,
    quiet_option,
    read_inputs,
    staged_file,
)
from gridmap.division.checks import check as check_grids
from gridmap.division.checks import coverage_gaps, coverage_overlaps
from gridmap.errors import ReadError
from gridmap.findings import Report
from gridmap.io import list_layers, write_layer
from gridmap.io.write import write_workbook

__all__ = ["check"]

#: Findings printed at most (the JSON and --out hold all of them).
SHOWN = 50
_OUT_TYPES = (".csv", ".xlsx", ".gpkg")
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

_EXAMPLES = """
  # the demo's grids against the communities and units in the same file
  gridmap check demo/gridmap.gpkg --communities communities --units units  # exit 1: 5 units in two grids

  # coverage only, against the sample's communities; every finding (gaps and overlaps as polygons) to a file
  gridmap check demo/gridmap.gpkg --communities data/sample/sample_city.gpkg --out findings.gpkg

  # in a script: the exit code says whether the layer passes; the findings as JSON
  gridmap -q check demo/gridmap.gpkg --communities communities --json > check.json

  # a city's own grid layer: headers such as 网格编码, 社区代码 and 户数 are understood
  gridmap check 网格.shp --communities 社区.shp --households 250-450  # your files
"""


def _out_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    if value is not None and Path(value).suffix.lower() not in _OUT_TYPES:
        raise click.BadParameter(f"{value!r}: write the findings to a {', '.join(_OUT_TYPES)} file",
                                 ctx=ctx, param=param)
    return None if value is None else Path(value)


@click.command("check", epilog=epilog(_EXAMPLES, exits="0 the layer passes, 1 it violates 全覆盖、不交叉, "
                                                      "2 bad input"))
@click.argument("path", metavar="FILE", type=click.Path())
@click.option("--grids-layer", default=None, metavar="NAME",
              help="Layer of FILE holding the grids [default: its only layer, else 'grids'].")
@click.option("--communities", default=None, metavar="FILE_OR_LAYER",
              help="Communities to check coverage against: a file (its only layer, or 'communities'), or a "
                   "layer of FILE. Without them, gaps are the holes inside the grid layer.")
@click.option("--units", default=None, metavar="FILE_OR_LAYER",
              help="Base units that must each lie in exactly one grid (the one their grid_code names): a "
                   "file (its only layer, or 'units' and 'unit_points'), or a layer of FILE.")
@coords_option
@households_option
@json_option
@click.option("--out", type=click.Path(dir_okay=False), callback=_out_path, metavar="FILE",
              help="Also write the findings: .csv, .xlsx (sheets findings, summary) or .gpkg (findings as "
                   "points, gaps and overlaps as polygons, summary).")
@quiet_option
@click.pass_context
def check(ctx: click.Context, path: str, grids_layer: str | None, communities: str | None, units: str | None,
          coords: str | None, households: tuple[int, int], as_json: bool, out: Path | None) -> None:
    """Check a grid layer: full coverage, no overlap (一张网、全覆盖、不交叉、无死角).

    Exits 1 when the check finds violations (report not OK), 0 otherwise, 2 on bad input.
    """
    refuse_overwriting({"FILE": path, "--communities": communities, "--units": units}, {"--out": out})
    quiet = is_quiet(ctx)
    companions = [name for name, value in (("communities", communities), ("units", units)) if value]
    steps = 2 + bool(companions) + (out is not None)
    with echo_warnings(quiet=quiet), Steps("check", steps, quiet=quiet) as step:
        step(f"read {path}")
        grids = _grids(read_inputs(path, [grids_layer] if grids_layer else [], defaults=["grids"],
                                   option="--grids-layer", coords=coords))
        if companions:
            step(f"read the {' and '.join(companions)}")
        comm = _companion(communities, path, "--communities", ["communities"], coords)
        unit_layer = _companion(units, path, "--units", ["units", "unit_points"], coords)
        step("check")
        report = check_grids(grids, comm, unit_layer, households=households)
        if out is not None:
            step(f"write {out}")
            _write(report, out, grids, comm)
    if as_json:
        click.echo(report.to_json())
    elif not quiet:
        click.echo(_text(report))
    if out is not None and not as_json:
        echo_wrote(out, _written(report, out), quiet=quiet)
    ctx.exit(EXIT_OK if report.ok else EXIT_VIOLATIONS)


def _grids(inputs: list[Input]) -> gpd.GeoDataFrame:
    """Join the grid layers; name the code column ``code`` (readers call 网格编码 ``grid_code``)."""
    grids = join_inputs(inputs)
    if "code" not in grids.columns and "grid_code" in grids.columns:
        grids = grids.rename(columns={"grid_code": "code"})
    return grids


def _companion(value: str | None, path: str, option: str, defaults: list[str],
               coords: str | None) -> gpd.GeoDataFrame | None:
    """Read ``--communities``/``--units``: a file of that name, else a layer of the grids' file."""
    if value is None:
        return None
    if Path(value).is_file():
        return join_inputs(read_inputs(value, defaults=defaults, option=option, coords=coords))
    layers = list_layers(path)
    if value not in layers:
        raise ReadError(f"{option} {value!r} is neither a file nor a layer of {path}", path=value,
                        fix=f"give a file, or one of the layers of {path}: {', '.join(layers)}")
    return join_inputs(read_inputs(path, [value], coords=coords))


def _write(report: Report, out: Path, grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None) -> None:
    """Write the findings (and, to a GeoPackage, the gap and overlap polygons) whole or not at all."""
    findings = report.to_frame()
    summary = report.tables["summary"]
    suffix = out.suffix.lower()
    with staged_file(out) as staging:
        if suffix == ".csv":
            write_layer(findings, staging)
        elif suffix == ".xlsx":  # at once: each sheet added to a workbook reads and saves it whole
            write_workbook({"findings": findings, "summary": summary}, staging)
        else:
            write_layer(_located(findings, grids.crs), staging, "findings")
            write_layer(coverage_gaps(grids, communities), staging, "gaps", mode="a")
            write_layer(coverage_overlaps(grids), staging, "overlaps", mode="a")
            write_layer(summary, staging, "summary", mode="a")


def _located(findings: pd.DataFrame, crs) -> gpd.GeoDataFrame:
    """Return the findings as points at their ``lon``/``lat`` (none where a finding has no location)."""
    if "lon" not in findings.columns:
        return gpd.GeoDataFrame(findings, geometry=gpd.GeoSeries([None] * len(findings), crs=crs), crs=crs)
    points = gpd.points_from_xy(findings["lon"], findings["lat"], crs=crs)
    points[findings["lon"].isna().to_numpy()] = None
    return gpd.GeoDataFrame(findings, geometry=points, crs=crs)


def _text(report: Report) -> str:
    """Format the report for people: findings per check, the findings (errors first), then the verdict."""
    summary = report.tables["summary"]
    found = summary[summary["count"] > 0]
    findings = report.to_frame()
    lines = []
    if len(findings):
        per_check = [[row.check, row.severity, f"{row.count:,}", f"{row.area_m2:,.1f}"]
                     for row in found.itertuples()]
        lines += [*_table(["check", "severity", "count", "area_m2"], per_check, right=(2, 3)), "",
                  *_finding_lines(findings), ""]
    return "\n".join([*lines, report.summary()])


def _written(report: Report, out: Path) -> str:
    """Say what ``--out`` holds, for the summary line."""
    layers = {".csv": "", ".xlsx": "; sheets findings, summary",
              ".gpkg": "; layers findings, gaps, overlaps, summary"}[out.suffix.lower()]
    return f"{counted(len(report.to_frame()), 'finding')}{layers}"


def _finding_lines(findings: pd.DataFrame) -> list[str]:
    """Up to SHOWN findings, errors first, as a table whose last column is the message."""
    order = findings["severity"].map(_SEVERITY_ORDER).sort_values(kind="stable").index
    shown = findings.loc[order[:SHOWN]]
    areas = shown["area_m2"] if "area_m2" in shown.columns else pd.Series(float("nan"), index=shown.index)
    rows = [[row.severity, row.check, "" if pd.isna(row.record) else str(row.record),
             "" if pd.isna(area) else f"{area:,.1f}", row.message]
            for row, area in zip(shown.itertuples(), areas, strict=True)]
    lines = _table(["severity", "check", "record", "area_m2", "message"], rows, right=(3,))
    if len(findings) > SHOWN:
        lines.append(f"... {len(findings) - SHOWN} more findings (--json or --out FILE lists them all)")
    return lines


def _width(text: str) -> int:
    """Columns a text takes in a terminal: Chinese characters take two."""
    # unicodedata is enough for the Chinese in codes, names and messages; wcwidth would add a dependency
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _table(header: list[str], rows: list[list[str]], *, right: tuple[int, ...] = ()) -> list[str]:
    """Aligned text columns, two spaces apart (right-aligned where ``right`` says); no trailing blanks."""
    widths = [max(_width(row[k]) for row in [header, *rows]) for k in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(" " * (w - _width(c)) + c if k in right else c + " " * (w - _width(c))
                         for k, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(header), *(line(row) for row in rows)]
