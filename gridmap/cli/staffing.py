"""``gridmap staffing``: check a roster against staffing rules (1+1+1+N, 3–4 网格员, 辅警, 双长 …).

Reads the roster (:func:`gridmap.people.read_roster`), the grids and, optionally, a city's rules (TOML,
:class:`gridmap.people.StaffingRules`) and units of other levels; prints every unit that breaks a rule with
the people present and required, the people serving codes that do not exist, and exits 1 when a rule is
broken. Public by default: the output names only grid leaders and grid workers (no phones, no ids); other
roles appear as counts. ``--show-contacts`` adds phones, for an internal cockpit.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from gridmap.cli import EXIT_OK, EXIT_VIOLATIONS
from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting
from gridmap.cli._roster import findings_text, out_path, read_grids, read_units, write_findings
from gridmap.cli.options import echo_warnings, epilog, is_quiet, json_option, quiet_option
from gridmap.findings import Report
from gridmap.people import StaffingRules, check_staffing, public_roster, read_roster
from gridmap.schema import ROLLUP_LEVELS

__all__ = ["staffing"]

_EXAMPLES = """
  # the sample roster against the demo's grids and the seeds' rules; exit 1: the sample has planted gaps
  gridmap staffing --roster data/sample/roster.csv --grids demo/gridmap.gpkg  # exit 1

  # with the sample's admin layers (names, 村 and 社区) and buildings (楼栋长); every table to a workbook
  gridmap staffing --roster data/sample/roster.csv --grids demo/gridmap.gpkg \\
      --units data/sample/sample_city.gpkg --units data/sample/buildings.gpkg --out staffing.xlsx  # exit 1

  # the old 1+1+1+N staff table reads too; the findings as JSON, each with the code of its unit
  gridmap -q staffing --roster data/sample/staff.csv --grids demo/gridmap.gpkg \\
      --json > staffing.json  # exit 1

  # a city's own rules (TOML, [[rule]] tables) and roster (Chinese headers, GBK or Excel); phones included
  #   [[rule]]
  #   role = "专职网格员"
  #   level = "网格"
  #   min = 1
  #   per_households = 500
  gridmap staffing --roster 网格员名单.xlsx --grids 网格.shp --rules rules.toml \\
      --show-contacts --out 内部名单.xlsx  # your files
"""


@click.command("staffing",
               epilog=epilog(_EXAMPLES, exits="0 every rule is met, 1 a rule is broken, 2 bad input"))
@click.option("--roster", "roster_path", required=True, type=click.Path(), metavar="FILE",
              help="Roster: CSV (UTF-8 or GBK), Excel or Parquet; 姓名, 岗位 (role), 层级 (level), "
                   "单位编码 or 网格编码 (unit served), 政治面貌, 电话 — or the staff.csv form (grid_code, "
                   "role, name, phone).")
@click.option("--grids", "grids_path", required=True, type=click.Path(), metavar="FILE",
              help="Grids: code (网格编码), optional community_code, households (户数); a layer or a table.")
@click.option("--grids-layer", default=None, metavar="NAME",
              help="Layer (or sheet) of the grids file [default: its only layer, else 'grids'].")
@click.option("--units", "units_paths", multiple=True, type=click.Path(), metavar="FILE",
              help="Units beyond the grids (repeatable): admin layers (districts, streets, communities), "
                   "micro-grids, buildings, or a table with code and level [default: communities, streets "
                   "and districts from the grid codes].")
@click.option("--rules", "rules_path", type=click.Path(), default=None, metavar="FILE.toml",
              help="Staffing rules: [[rule]] tables with role, level, min, max, per_households, "
                   "party_required, kind, description [default: the seeds' rules].")
@json_option
@click.option("--out", type=click.Path(dir_okay=False), callback=out_path, metavar="FILE",
              help="Also write the findings: .csv, or .xlsx (sheets findings, grid, community, street, "
                   "district, checks, rules, roster).")
@click.option("--show-contacts", is_flag=True,
              help="Add the phones of grid leaders and grid workers (internal use only; never published).")
@quiet_option
@click.pass_context
def staffing(ctx: click.Context, roster_path: str, grids_path: str, grids_layer: str | None,
             units_paths: tuple[str, ...], rules_path: str | None, as_json: bool, out: Path | None,
             show_contacts: bool) -> None:
    """Check a roster against staffing rules: every unit breaking one, vacancies, people at retired units.

    Exits 1 when a rule is broken or people serve a unit that does not exist, 0 otherwise, 2 on bad input.
    """
    inputs = {"--roster": roster_path, "--grids": grids_path, "--rules": rules_path,
              **{f"--units {path}": path for path in units_paths}}
    refuse_overwriting(inputs, {"--out": out})
    quiet = is_quiet(ctx)
    with echo_warnings(quiet=quiet), Steps("staffing", 3 + (out is not None), quiet=quiet) as step:
        rules = StaffingRules.default() if rules_path is None else StaffingRules.from_toml(rules_path)
        step(f"read {roster_path}")
        roster = read_roster(roster_path)
        step(f"read {grids_path}")
        grids, units = read_grids(grids_path, grids_layer), read_units(units_paths)
        step("check")
        report = check_staffing(roster, grids, rules=rules, units=units, show_contacts=show_contacts)
        if out is not None:
            step(f"write {out}")
            names = (*ROLLUP_LEVELS, "checks", "rules")
            sheets: dict[str, pd.DataFrame] = {name: report.tables[name] for name in names
                                               if name in report.tables}
            sheets["roster"] = public_roster(roster, show_contacts=show_contacts)
            written = write_findings(report, out, sheets)
    if as_json:
        click.echo(report.to_json())
    elif not quiet:
        click.echo(findings_text(report, _headline(report)))
    if out is not None and not as_json:
        echo_wrote(out, written, quiet=quiet)
    ctx.exit(EXIT_OK if report.ok else EXIT_VIOLATIONS)


def _headline(report: Report) -> str:
    """Units checked, units breaking a rule and posts to fill, per level."""
    parts = []
    for level, word in (("grid", "grids"), ("community", "communities"), ("street", "streets"),
                        ("district", "districts")):
        if level in report.tables:
            table = report.tables[level]
            broken = int(table["rules_broken"].gt(0).sum())
            posts = int(table["vacancies"].sum())
            parts.append(f"{word} {broken:,} of {len(table):,} break a rule, {posts:,} posts to fill")
    return "; ".join(parts)
