"""``gridmap liaison``: check 全覆盖联系 — every unit has a leader of the level above linked to it (004).

City leaders must be linked to every street, district leaders to every community, street and community
leaders to every grid. Reads the liaison table (:func:`gridmap.people.read_liaison`) and the grids, prints the
units nobody of the level above is linked to, links to codes that do not exist, and leaders linked to more
units than ``--limit``; exits 1 when there is any. Leaders are named by their rows in the table, not by name,
unless ``--show-contacts`` is given.
"""

from __future__ import annotations

from pathlib import Path

import click

from gridmap.cli import EXIT_OK, EXIT_VIOLATIONS
from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting
from gridmap.cli._roster import findings_text, out_path, read_grids, read_units, write_findings
from gridmap.cli.options import echo_warnings, epilog, is_quiet, json_option, quiet_option
from gridmap.findings import Report
from gridmap.people import check_liaison, read_liaison

__all__ = ["liaison"]

_EXAMPLES = """
  # the sample's liaison table against the demo's grids; exit 1: the sample leaves a few units without one
  gridmap liaison --links data/sample/liaison.csv --grids demo/gridmap.gpkg  # exit 1

  # no leader linked to more than 45 units (two street leaders are); the tables to a workbook
  gridmap liaison --links data/sample/liaison.csv --grids demo/gridmap.gpkg --limit 45 \\
      --out liaison.xlsx  # exit 1

  # in a script: the findings as JSON, each with the code of the unit it is about
  gridmap -q liaison --links data/sample/liaison.csv --grids demo/gridmap.gpkg --json > liaison.json  # exit 1

  # a city's own table: 姓名, 层级 (市级/城区/街道/社区), 联系单位 (codes separated by 、 or ;)
  gridmap liaison --links 联系表.xlsx --grids 网格.shp --units 社区.shp --limit 30  # your files
"""


@click.command("liaison", epilog=epilog(_EXAMPLES, exits="0 every unit is covered, 1 a gap or a leader over "
                                                        "the limit, 2 bad input"))
@click.option("--links", "links_path", required=True, type=click.Path(), metavar="FILE",
              help="Liaison table: 层级 (level: 市级, 城区, 街道, 社区), 联系单位 (linked_codes: one or "
                   "more codes), optional 姓名, 人员编号, 单位编码 (the leader's own unit), 电话.")
@click.option("--grids", "grids_path", required=True, type=click.Path(), metavar="FILE",
              help="Grids: code (网格编码), optional community_code; a layer or a table.")
@click.option("--grids-layer", default=None, metavar="NAME",
              help="Layer (or sheet) of the grids file [default: its only layer, else 'grids'].")
@click.option("--units", "units_paths", multiple=True, type=click.Path(), metavar="FILE",
              help="Admin layers or a table of units with code and level (repeatable), for units without "
                   "grids and for names [default: from the grid codes].")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=None, metavar="N",
              help="Most units one leader may be linked to [default: no limit].")
@json_option
@click.option("--out", type=click.Path(dir_okay=False), callback=out_path, metavar="FILE",
              help="Also write the findings: .csv, or .xlsx (sheets findings, grid, community, street, "
                   "leaders).")
@click.option("--show-contacts", is_flag=True,
              help="Name the leaders and add their phones (internal use only; never published).")
@quiet_option
@click.pass_context
def liaison(ctx: click.Context, links_path: str, grids_path: str, grids_layer: str | None,
            units_paths: tuple[str, ...], limit: int | None, as_json: bool, out: Path | None,
            show_contacts: bool) -> None:
    """Check that every street, community and grid has a leader of the level above linked to it (全覆盖联系).

    Exits 1 when a unit has no liaison, a link names a unit that does not exist or a leader is over --limit,
    0 otherwise, 2 on bad input.
    """
    refuse_overwriting({"--links": links_path, "--grids": grids_path,
                        **{f"--units {path}": path for path in units_paths}}, {"--out": out})
    quiet = is_quiet(ctx)
    with echo_warnings(quiet=quiet), Steps("liaison", 3 + (out is not None), quiet=quiet) as step:
        step(f"read {links_path}")
        links = read_liaison(links_path)
        step(f"read {grids_path}")
        grids, units = read_grids(grids_path, grids_layer), read_units(units_paths)
        step("check")
        report = check_liaison(links, grids, limit=limit, units=units, show_contacts=show_contacts)
        if out is not None:
            step(f"write {out}")
            sheets = {name: report.tables[name] for name in ("grid", "community", "street", "leaders")}
            written = write_findings(report, out, sheets)
    if as_json:
        click.echo(report.to_json())
    elif not quiet:
        click.echo(findings_text(report, _headline(report)))
    if out is not None and not as_json:
        echo_wrote(out, written, quiet=quiet)
    ctx.exit(EXIT_OK if report.ok else EXIT_VIOLATIONS)


def _headline(report: Report) -> str:
    """Units covered per level."""
    parts = []
    for level, word in (("street", "streets"), ("community", "communities"), ("grid", "grids")):
        table = report.tables[level]
        parts.append(f"{word} covered {int(table['covered'].sum()):,} of {len(table):,}")
    return "; ".join(parts)
