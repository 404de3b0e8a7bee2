"""``gridmap patrols``: patrols per grid and period from check-ins or GPS tracks (巡查)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pandas as pd

from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting
from gridmap.cli.options import (
    FiniteFloat,
    coords_option,
    echo_warnings,
    epilog,
    is_quiet,
    json_option,
    quiet_option,
    read_named_layer,
    staged_file,
)
from gridmap.schema import PATROL_KINDS, PERIODS

if TYPE_CHECKING:
    from gridmap.fieldwork.patrols import PatrolSummary
    from gridmap.findings import Report

__all__ = ["patrols"]

_OUT = (".gpkg", ".xlsx", ".csv", ".parquet")
_SHOWN = 5  # unpatrolled grids named in the summary line

_EXAMPLES = """
  # a week of the sample's GPS tracks in street 990102001, against the demo's grids and units (compounds)
  gridmap patrols --grids demo/gridmap.gpkg --records data/sample/patrols.parquet --area 990102001 \\
      --out patrols.gpkg

  # the same with the buildings (楼栋) as the units to pass, as a workbook with Chinese headers
  gridmap patrols --grids demo/gridmap.gpkg --records data/sample/patrols.parquet --area 990102001 \\
      --units data/sample/buildings.gpkg --out patrols.xlsx

  # the check-ins of town 990121100 per week; the summary and the table per grid as JSON
  gridmap patrols --grids demo/gridmap.gpkg --records data/sample/patrol_checkins.csv --area 990121100 \\
      --period week --json > checkins.json

  # an Amap (GCJ-02) export with Chinese headers (巡查员, 定位时间, 经度, 纬度), rules of your own
  gridmap patrols --grids city.gpkg --records tracks.csv --coords gcj02 --rules patrols.toml \\
      --within 30 --idle-days 2 --out patrols.gpkg  # your files
"""


@click.command("patrols", epilog=epilog(_EXAMPLES, exits="0 written (shortfalls are findings, not failures), "
                                                        "2 bad input"))
@click.option("--grids", "grids_path", required=True, type=click.Path(exists=True, dir_okay=False),
              metavar="FILE", help="Grids: code (网格编码), polygon; optional type and unit_ids.")
@click.option("--grids-layer", default=None, metavar="NAME",
              help="Layer of the grids file [default: 'grids', or the only one].")
@click.option("--records", "records_path", required=True, type=click.Path(exists=True, dir_okay=False),
              metavar="FILE",
              help="Patrol records: CSV/Excel/Parquet or a point layer; 人员编号 or 巡查员, 时间, 经度/纬度 "
                   "and/or 网格编码, optional 所属网格 and 坐标系.")
@click.option("--area", default=None, metavar="CODE",
              help="Only the grids whose code starts with CODE (a district, street or community code).")
@click.option("--kind", type=click.Choice(PATROL_KINDS), default=None,
              help="checkins (打卡) or tracks (轨迹) [default: check-ins when the records name grids or have "
                   "no coordinates].")
@click.option("--units", "units_path", type=click.Path(exists=True, dir_okay=False), default=None,
              metavar="FILE", help="Units whose share passed is measured [default: the 'units' layer of "
                                   "--grids, if any].")
@click.option("--roster", "roster_path", type=click.Path(exists=True, dir_okay=False), default=None,
              metavar="FILE", help="Roster (person_id, unit_code) giving each worker's own grid [default: "
                                   "所属网格 in the records, else the grid of most time].")
@click.option("--period", type=click.Choice(list(PERIODS)), default="day", show_default=True,
              help="Rows per grid and period.")
@click.option("--within", "within_m", type=FiniteFloat(min=0.01, max=10_000, unit="metres"), default=None,
              metavar="M",
              help="A unit within M metres of a patrol of its own grid is passed [default: 50, or --rules].")
@click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False), default=None,
              metavar="FILE.toml",
              help="Patrol rules ([patrols] table: required rows, within_m, idle_days, …) [default: one "
                   "patrol per grid per day].")
@click.option("--idle-days", type=FiniteFloat(min=0, max=3650, unit="days"), default=None, metavar="N",
              help="List grids not patrolled for N days [default: 3, or --rules].")
@click.option("--at", default=None, metavar="TIME",
              help="Count idle days up to TIME [default: the last record's time].")
@coords_option
@click.option("--out", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Write: .gpkg (layers patrol_grids with polygons, patrol_periods, patrol_workers, "
                   "patrol_idle, patrol_tracks, report), .xlsx (sheets with Chinese headers), .csv or "
                   ".parquet (the table per grid and period); atomically.")
@json_option
@quiet_option
@click.pass_context
def patrols(ctx: click.Context, grids_path: str, grids_layer: str | None, records_path: str, area: str | None,
            kind: str | None,
            units_path: str | None, roster_path: str | None, period: str, within_m: float | None,
            rules_path: str | None, idle_days: float | None, at: str | None, coords: str | None,
            out: str | None, as_json: bool) -> None:
    """Patrols (巡查) per grid and period: done against required, units passed, gaps, time in own grid.

    A patrol is one worker's records in one grid no more than an hour apart (a track shorter than 5
    minutes does not count); the rule table asks one a day per grid by default. A grid's units are passed
    within --within metres of the grid's own patrols only (its track segments and check-ins inside it): a
    neighbour walking the shared edge passes none, and a grid without a patrol has none passed. Grids not
    patrolled for --idle-days days are listed.
    """
    from gridmap.fieldwork.patrols import PatrolRules, summarize_patrols
    from gridmap.findings import Report

    if out is not None and Path(out).suffix.lower() not in _OUT:
        raise click.BadParameter(f"{out!r} is not a .gpkg, .xlsx, .csv or .parquet file",
                                 param_hint="'--out'")
    refuse_overwriting({"--grids": grids_path, "--records": records_path, "--units": units_path,
                        "--roster": roster_path, "--rules": rules_path}, {"--out": out})
    quiet = is_quiet(ctx)
    report = Report("patrols")
    with echo_warnings(quiet=quiet), Steps("patrols", 3 + (out is not None), quiet=quiet) as step:
        rules = PatrolRules.from_toml(rules_path) if rules_path else None
        step(f"read {grids_path}")
        grids = _area(read_named_layer(grids_path, grids_layer, "grids"), area, grids_path)
        units = _units(units_path, grids_path)
        roster = _roster(roster_path) if roster_path else None
        step(f"read {records_path}")
        records = _records(records_path, kind=kind, coords=coords, report=report)
        step(f"measure {len(records):,} records")
        summary = summarize_patrols(records, grids, units=units, roster=roster, period=period, rules=rules,
                                    within_m=within_m, idle_days=idle_days, at=at, report=report)
        if out is not None:
            step(f"write {out}")
            _write(summary, out)
    result = _result(summary, records_path, out)
    if not quiet and not as_json:
        _echo_data_findings(summary.report)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    elif out is not None:
        echo_wrote(out, _details(result), quiet=quiet)
    elif not quiet:
        click.echo(f"patrols: {_details(result)}")


def _area(grids, area: str | None, path: str):
    """Return the grids of ``area`` (a code prefix), all of them without one."""
    from gridmap.errors import SchemaError
    from gridmap.schema import model_columns

    if area is None:
        return grids
    codes = model_columns(grids, "grids")[0]["code"].astype(str)
    inside = codes.str.startswith(area.strip()).to_numpy()
    if not inside.any():
        raise SchemaError(f"no grid code starts with {area!r}", path=path,
                          fix=f"give --area a district, street or community code, e.g. {codes.iloc[0][:9]}")
    return grids[inside]


def _echo_data_findings(report: Report) -> None:
    """Say on stderr which records were left out or merged (the findings about grids are in the output)."""
    frame = report.to_frame()
    data = frame[~frame["check"].isin(["under_patrolled", "idle_grid"])]
    for row in data.itertuples():
        click.echo(f"gridmap: warning: {row.message}", err=True)


def _records(path: str, *, kind: str | None, coords: str | None, report: Report):
    from gridmap.fieldwork.patrol_records import read_patrols

    return read_patrols(path, kind=kind, coords=coords, report=report)


def _units(units_path: str | None, grids_path: str):
    """--units, else the grids file's units (and unit_points) layers, else none."""
    from gridmap.cli.options import join_inputs, read_inputs
    from gridmap.io import list_layers

    if units_path is not None:
        return read_named_layer(units_path, None, "units")
    layers = [name for name in ("units", "unit_points") if name in list_layers(grids_path)]
    return join_inputs(read_inputs(grids_path, layers)) if layers else None


def _roster(path: str) -> pd.DataFrame:
    """Read the roster's person_id and unit_code (网格编码 read as the unit)."""
    from gridmap.errors import SchemaError
    from gridmap.io import read_table
    from gridmap.schema import PATROL_ALIASES

    table = read_table(path, aliases={key: value for key, value in PATROL_ALIASES.items()
                                      if value == "person_id"})
    if "unit_code" not in table.columns and "grid_code" in table.columns:
        table = table.rename(columns={"grid_code": "unit_code"})
    missing = [c for c in ("person_id", "unit_code") if c not in table.columns]
    if missing:
        columns = ", ".join(map(str, table.columns))
        raise SchemaError(f"the roster has no column {missing[0]!r} (columns: {columns})", path=path,
                          fix="give person_id (人员编号) and unit_code (the code of the grid, 网格编码)")
    return table


def _write(summary: PatrolSummary, out: str) -> None:
    """Write the tables: GeoPackage layers, workbook sheets (Chinese headers) or the period table."""
    from gridmap.io import write_layer
    from gridmap.io.write import write_workbook
    from gridmap.schema import PATROL_HEADERS_ZH

    suffix = Path(out).suffix.lower()
    if suffix in (".csv", ".parquet"):
        write_layer(summary.periods, out)
        return
    tables = {"patrol_grids": summary.grids, "patrol_periods": summary.periods,
              "patrol_workers": summary.workers, "patrol_idle": summary.idle}
    if suffix == ".xlsx":
        names = {"patrol_grids": "网格", "patrol_periods": "周期", "patrol_workers": "网格员",
                 "patrol_idle": "未巡查网格"}
        write_workbook({names[name]: pd.DataFrame(table).drop(columns="geometry", errors="ignore")
                       .rename(columns=PATROL_HEADERS_ZH) for name, table in tables.items()}, out)
        return
    with staged_file(out) as staging:
        write_layer(summary.grids, staging, "patrol_grids")
        for name in ("patrol_periods", "patrol_workers", "patrol_idle"):
            write_layer(tables[name], staging, name, mode="a")
        if len(summary.tracks):
            write_layer(summary.tracks, staging, "patrol_tracks", mode="a")
        write_layer(summary.report.to_frame(), staging, "report", mode="a")


def _result(summary: PatrolSummary, records_path: str, out: str | None) -> dict:
    """Return what the command found, for --json and the summary line."""
    grids = summary.grids
    findings = summary.report.to_frame()
    columns = ["code", "patrols", "required", "done_rate", "units", "units_passed", "coverage",
               "longest_gap_h", "last_patrol", "idle_days", "label"]
    units = grids["units"].sum()
    return {
        "out": out, "records": records_path, "kind": summary.kind, "period": summary.period,
        "grids": len(grids), "patrols": int(grids["patrols"].sum()),
        "required": float(grids["required"].sum()),
        "grids_short": int((grids["patrols"] < grids["required"]).sum()),
        "coverage": float(grids["units_passed"].sum() / units) if units else None,
        "idle": summary.idle["code"].tolist(), "workers": int(summary.workers["person_id"].nunique()),
        "tracks": len(summary.tracks),
        "table": json.loads(pd.DataFrame(grids[columns]).to_json(orient="records", date_format="iso",
                                                                 force_ascii=False)),
        "findings": json.loads(findings.to_json(orient="records", force_ascii=False)),
    }


def _details(result: dict) -> str:
    coverage = f", units passed {result['coverage']:.0%}" if result["coverage"] is not None else ""
    idle = result["idle"]
    named = f": {', '.join(idle[:_SHOWN])}{' …' if len(idle) > _SHOWN else ''}" if idle else ""
    return (f"{result['grids']} grids, {result['patrols']} patrols of {result['required']:.0f} required, "
            f"{result['grids_short']} grids short{coverage}; {len(idle)} grids not patrolled lately{named}")
