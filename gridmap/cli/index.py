"""``gridmap index``: the grid quality index (网格+ 质效评估), ranked, each grid's breakdown, a map layer."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd

from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting
from gridmap.cli.escalation import table_path, write_tables
from gridmap.cli.options import (
    coords_option,
    echo_warnings,
    epilog,
    is_quiet,
    json_option,
    quiet_option,
    read_named_layer,
)

__all__ = ["index_command"]

_EXAMPLES = """
  # the sample city: response, on-time closure, settled in the grid, satisfaction, case density
  gridmap index --grids demo/gridmap.gpkg --cases data/sample/cases.parquet \\
      --steps data/sample/case_steps.csv --feedback data/sample/case_feedback.csv --out index.gpkg

  # your weights and other stages' measures (a CSV keyed by 网格编码 with patrol_coverage, staffing …), e.g.
  #   [index.measures.patrol_coverage]
  #   weight = 0.3
  gridmap index --grids grids.gpkg --cases cases.csv --weights index.toml \\
      --measures patrols.csv --measures staffing.csv --out index.xlsx  # your files

  # the ranking as JSON
  gridmap -q index --grids demo/gridmap.gpkg --cases data/sample/cases.parquet --json > index.json
"""


@click.command("index", epilog=epilog(_EXAMPLES))
@click.option(
    "--grids",
    "grids_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="Grids: code, community_code, population, polygons.",
)
@click.option("--grids-layer", default=None, metavar="NAME", help="Layer of --grids [default: 'grids'].")
@click.option(
    "--cases",
    "cases_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="Cases (read as gridmap cases reads them), with grid codes or points.",
)
@coords_option
@click.option(
    "--steps",
    "steps_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE",
    help="Handling histories: settled inside the grid from them, not from the final level only.",
)
@click.option(
    "--feedback",
    "feedback_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE",
    help="Satisfaction per case (满意度): the satisfaction measure.",
)
@click.option(
    "--measures",
    "measures_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="More per-grid measures (CSV/Excel keyed by 网格编码); repeat for several.",
)
@click.option(
    "--weights",
    "weights_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE.toml",
    help="Weights, directions, normalisation, scope and the missing-measure rule "
    "([index] table; see gridmap.stats.quality) [default: the vocabulary's].",
)
@click.option(
    "--close-days",
    type=click.FloatRange(0, 3650, min_open=True),
    default=15,
    show_default=True,
    help="On-time closure: closed within this many days of the report.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    callback=table_path,
    metavar="FILE",
    help="Write the index: .gpkg (a map layer with the grids' polygons), .xlsx or .csv.",
)
@json_option
@quiet_option
@click.pass_context
def index_command(
    ctx: click.Context,
    grids_path: str,
    grids_layer: str | None,
    cases_path: str,
    coords: str | None,
    steps_path: str | None,
    feedback_path: str | None,
    measures_paths: tuple[str, ...],
    weights_path: str | None,
    close_days: float,
    out: Path | None,
    as_json: bool,
) -> None:
    """Rank the grids by one quality index made of their measures, each grid's points explained."""
    from gridmap.cases import read_cases
    from gridmap.fieldwork import analyse_escalation, read_feedback, read_steps, satisfaction_rates
    from gridmap.findings import Report
    from gridmap.io import read_table
    from gridmap.stats.quality import QUALITY_HEADERS_ZH, IndexConfig, quality_index, quality_measures

    refuse_overwriting(
        {
            "--grids": grids_path,
            "--cases": cases_path,
            "--steps": steps_path,
            "--feedback": feedback_path,
            "--weights": weights_path,
            **{f"--measures {p}": p for p in measures_paths},
        },
        {"--out": out},
    )
    quiet = is_quiet(ctx)
    with echo_warnings(quiet=quiet), Steps("index", 3, quiet=quiet) as step:
        config = IndexConfig.from_toml(weights_path) if weights_path else None
        step("read the grids and cases")
        grids = read_named_layer(grids_path, grids_layer, "grids")
        found = Report("index")
        cases = read_cases(cases_path, coords=coords, report=found)
        escalation = analyse_escalation(read_steps(steps_path), cases, grids=grids) if steps_path else None
        satisfaction = (
            satisfaction_rates(cases, read_feedback(feedback_path), grids=grids) if feedback_path else None
        )
        step("measures and index")
        measures = quality_measures(
            grids,
            cases,
            escalation=escalation,
            satisfaction=satisfaction,
            extra=[read_table(path) for path in measures_paths],
            close_days=close_days,
            report=found,
        )
        index = quality_index(measures, config=config)
        step(f"write {out}" if out else "rank")
        if out is not None:
            write_tables({"index": index}, out, headers=QUALITY_HEADERS_ZH, sheets={"index": "质效指数"})
    ranked = pd.DataFrame(index.drop(columns=[index.geometry.name])).sort_values(["rank", "code"])
    if as_json:
        rows = json.loads(ranked.to_json(orient="records", force_ascii=False))
        click.echo(
            json.dumps(
                {
                    "out": None if out is None else str(out),
                    "weights": index.attrs["weights"],
                    "grids": len(index),
                    "ranked": int(index["index"].notna().sum()),
                    "table": rows,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    weights = ", ".join(f"{name} {weight:.0%}" for name, weight in index.attrs["weights"].items())
    best = ranked.iloc[0] if len(ranked) and pd.notna(ranked["index"].iloc[0]) else None
    top = f"; first {best['code']} ({best['index']:.1f})" if best is not None else ""
    details = f"{int(index['index'].notna().sum())} of {len(index)} grids ranked; weights {weights}{top}"
    if out is not None:
        echo_wrote(out, details, quiet=quiet)
    elif not quiet:
        click.echo(details)
