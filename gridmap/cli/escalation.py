"""``gridmap escalation``: where cases were settled, time per level, skips, returns and the tiered response.

Reads the cases (and their handling histories, from ``--steps`` or from the case list's own numbered step
columns), analyses them with :func:`gridmap.fieldwork.analyse_escalation` and, with ``--feedback``, adds the
satisfaction and mediation rates of :mod:`gridmap.fieldwork.satisfaction`. Exit code 1 when a case broke
the tiered response (分级响应).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd

from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting
from gridmap.cli.options import (
    coords_option,
    echo_warnings,
    epilog,
    is_quiet,
    json_option,
    quiet_option,
    read_named_layer,
    staged_file,
)
from gridmap.findings import Report

__all__ = ["escalation", "write_tables", "table_path"]

_SUFFIXES = (".xlsx", ".gpkg", ".csv")

_EXAMPLES = """
  # the sample city's case histories: shares per level, per grid, findings; a workbook with Chinese headers
  gridmap escalation --cases data/sample/cases.parquet --steps data/sample/case_steps.csv \\
      --grids demo/gridmap.gpkg --out escalation.xlsx  # exit 1: some cases broke the tiered response

  # with satisfaction and mediation, small counts hidden for publication; the result as JSON
  gridmap -q escalation --cases data/sample/cases.parquet --steps data/sample/case_steps.csv \\
      --grids demo/gridmap.gpkg --feedback data/sample/case_feedback.csv --publish --json > esc.json  # exit 1

  # one row per case with step columns (层级1, 处置人1, 时间1, 层级2 …) and your own tier rules, e.g.
  #   [tiers]
  #   "环境卫生" = ["网格", "社区"]
  gridmap escalation --cases 事件.xlsx --rules tiers.toml --out escalation.gpkg  # your files
"""


def table_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """Click callback for ``--out``: a workbook, GeoPackage or CSV name, or a usage error naming it."""
    if value is None:
        return None
    if Path(value).suffix.lower() not in _SUFFIXES:
        raise click.BadParameter(f"{value!r} is not a .xlsx, .gpkg or .csv name", ctx=ctx, param=param)
    return Path(value)


@click.command(
    "escalation", epilog=epilog(_EXAMPLES, exits="0 written, 1 tiered response broken, 2 bad input")
)
@click.option(
    "--cases",
    "cases_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="Cases (CSV, Excel, GeoJSON, GeoPackage, GeoParquet): 事件编号, 事件类型, "
    "办结时间, 网格编码 or coordinates; may hold the step columns itself.",
)
@click.option(
    "--steps",
    "steps_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE",
    help="Handling histories: one row per step (事件编号, 层级, 处置人, 时间) or one "
    "row per case (层级1, 时间1, …) [default: the step columns of --cases].",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE.toml",
    help='Tiered response rules: a [tiers] table of "type" = [levels] [default: gridmap.schema.TIER_RULES].',
)
@click.option(
    "--grids",
    "grids_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE",
    help="Grids (code, community_code, polygons) to put cases without a grid code in; every grid gets a row.",
)
@click.option("--grids-layer", default=None, metavar="NAME", help="Layer of --grids [default: 'grids'].")
@coords_option
@click.option(
    "--feedback",
    "feedback_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE",
    help="Satisfaction and mediation per case (满意度, 调解结果, 调解层级): adds their "
    "rates per grid and level.",
)
@click.option(
    "--publish", is_flag=True, help="Hide counts below --threshold in the per-grid and rate tables."
)
@click.option("--threshold", type=click.IntRange(1, 1_000_000), default=5, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    callback=table_path,
    metavar="FILE",
    help="Write the tables: .xlsx (one sheet each, Chinese headers), .gpkg (the per-grid layer with "
    "polygons, the others as tables) or .csv (the per-grid table, else the levels).",
)
@json_option
@quiet_option
@click.pass_context
def escalation(
    ctx: click.Context,
    cases_path: str,
    steps_path: str | None,
    rules_path: str | None,
    grids_path: str | None,
    grids_layer: str | None,
    coords: str | None,
    feedback_path: str | None,
    publish: bool,
    threshold: int,
    out: Path | None,
    as_json: bool,
) -> None:
    """Escalation of cases: 小事不出网格、大事不出社区、难事不出街道 from each case's handling steps."""
    from gridmap.cases import read_cases
    from gridmap.fieldwork import TierRules, analyse_escalation, clean_steps, read_steps
    from gridmap.fieldwork.escalation import ESCALATION_HEADERS_ZH
    from gridmap.fieldwork.satisfaction import FEEDBACK_HEADERS_ZH

    refuse_overwriting(
        {
            "--cases": cases_path,
            "--steps": steps_path,
            "--rules": rules_path,
            "--grids": grids_path,
            "--feedback": feedback_path,
        },
        {"--out": out},
    )
    quiet = is_quiet(ctx)
    with echo_warnings(quiet=quiet), Steps("escalation", 4, quiet=quiet) as step:
        rules = TierRules.from_toml(rules_path) if rules_path else None
        step(f"read {cases_path}")
        reading = Report("reading")
        cases = read_cases(cases_path, coords=coords, report=reading)
        grids = read_named_layer(grids_path, grids_layer, "grids") if grids_path else None
        steps = (
            read_steps(steps_path, report=reading)
            if steps_path
            else clean_steps(pd.DataFrame(cases.drop(columns=cases.geometry.name)), report=reading)
        )
        step("analyse the handling steps")
        result = analyse_escalation(steps, cases, grids=grids, rules=rules)
        tables = {"levels": result.levels, "grids": result.grids, "cases": result.cases}
        if feedback_path:
            tables.update(_rates(cases, feedback_path, grids))
        if publish:
            tables = _published(tables, threshold)
        findings = _findings(result.report, reading, has_grids="grid_code" in result.cases.columns)
        tables["findings"] = findings
        step(f"write {out}" if out else "summarise")
        if out is not None:
            write_tables(
                {k: v for k, v in tables.items() if v is not None},
                out,
                headers={**FEEDBACK_HEADERS_ZH, **ESCALATION_HEADERS_ZH},
                sheets=_SHEETS,
            )
    totals = result.totals()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "out": None if out is None else str(out),
                    "totals": totals,
                    "publish": publish,
                    **{
                        name: _records(table)
                        for name, table in tables.items()
                        if table is not None and name != "cases"
                    },
                },
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
    elif out is not None:
        echo_wrote(out, _details(totals), quiet=quiet)
    elif not quiet:
        click.echo(_details(totals))
    if totals["tier_breaches"]:
        ctx.exit(1)


_SHEETS = {
    "levels": "层级",
    "grids": "网格",
    "cases": "事件",
    "findings": "发现",
    "satisfaction": "满意度",
    "satisfaction_levels": "满意度(层级)",
    "mediation": "调解",
    "mediation_levels": "调解(层级)",
}


def _rates(cases: gpd.GeoDataFrame, path: str, grids: gpd.GeoDataFrame | None) -> dict[str, pd.DataFrame]:
    """Satisfaction and mediation rates per grid and per level."""
    from gridmap.fieldwork import feedback_rates, read_feedback

    rates = feedback_rates(cases, read_feedback(path), by=("grid", "level"), grids=grids)
    return {f"{name}{suffix}": rates[name][by] for name in ("satisfaction", "mediation")
            for by, suffix in (("grid", ""), ("level", "_levels"))}


def _published(tables: dict[str, pd.DataFrame | None], threshold: int) -> dict[str, pd.DataFrame | None]:
    """Small counts hidden in the per-grid and rate tables; the per-case table is left out."""
    from gridmap.stats import suppress_small_counts

    published: dict[str, pd.DataFrame | None] = {"levels": tables["levels"]}
    for name, table in tables.items():
        if name not in ("levels", "cases") and table is not None:
            published[name] = suppress_small_counts(table, threshold=threshold)
    return published


def _findings(report: Report, reading: Report, *, has_grids: bool) -> pd.DataFrame:
    """All findings, each with the code of the grid it is about (empty when unknown)."""
    noise = ("no_location",) if has_grids else ()  # cases located by their grid code need no point
    frames = [frame[~frame["check"].isin(noise)] for frame in (reading.to_frame(), report.to_frame())]
    found = (
        pd.concat([f for f in frames if len(f)], ignore_index=True)
        if any(len(f) for f in frames)
        else pd.DataFrame(columns=["check", "severity", "record", "message"])
    )
    if "code" not in found.columns:
        found["code"] = None
    keep = ["check", "severity", "record", "code", "message", *(["fix"] if "fix" in found.columns else [])]
    return found[keep].astype(object).where(found[keep].notna(), None)


def _records(table: pd.DataFrame) -> list:
    frame = (
        pd.DataFrame(table.drop(columns=[table.geometry.name]))
        if isinstance(table, gpd.GeoDataFrame)
        else table
    )
    return json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))


def _details(totals: dict) -> str:
    def share(value: float) -> str:
        return "-" if value != value else f"{value:.0%}"

    return (
        f"{totals['cases']} cases with handling steps, {totals['settled']} settled; settled inside the grid "
        f"{share(totals['settled_in_grid_rate'])}, skipped a level {share(totals['skipped_rate'])}, returned "
        f"down {share(totals['returned_rate'])}; {totals['tier_breaches']} broke the tiered response"
    )


def write_tables(
    tables: Mapping[str, pd.DataFrame], out: Path, *, headers: Mapping[str, str], sheets: Mapping[str, str]
) -> Path:
    """Write named tables to ``out``: a workbook (Chinese sheets and headers), a GeoPackage or one CSV.

    The first table with geometry is the GeoPackage's map layer; the others become attribute tables. A CSV
    holds the first table with geometry, else the first table.
    """
    from gridmap.io import write_layer
    from gridmap.io.write import write_workbook

    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        plain = {
            sheets.get(name, name)[:31]: _plain(table).rename(columns=headers)
            for name, table in tables.items()
        }
        return write_workbook(plain, out)
    mapped = next((name for name, t in tables.items() if isinstance(t, gpd.GeoDataFrame)), next(iter(tables)))
    if suffix == ".csv":
        return write_layer(_plain(tables[mapped]), out)
    with staged_file(out) as staging:
        for number, (name, table) in enumerate(tables.items()):
            layer = table if name == mapped else _plain(table)
            write_layer(_texts(layer), staging, name, mode="w" if number == 0 else "a")
    return out


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """Return the table without its geometry."""
    if isinstance(table, gpd.GeoDataFrame):
        return pd.DataFrame(table.drop(columns=[table.geometry.name]))
    return table


def _texts(table: pd.DataFrame) -> pd.DataFrame:
    """Object columns of mixed values as text (a GeoPackage column holds one type)."""
    table = table.copy()
    for column in table.columns:
        if table[column].dtype == object and column != getattr(table, "_geometry_column_name", None):
            table[column] = table[column].map(lambda v: None if v is None else str(v))
    return table
