"""``gridmap party``: party organisation on the grid (支部建在网格上) — coverage, members, leaders, the chain.

Reads a table of party organisations (社区党组织, 网格党支部, 楼栋党小组, 党员中心户) keyed to grid,
building or community codes or placed as points, measures with :func:`gridmap.people.party_coverage` how
they cover the grids and buildings, prints the findings (or JSON), optionally writes the per-grid layer and
the findings, and exits 1 when a finding is an error (a grid without branch, a leader who is not a party
member, an organisation on a code that does not exist), 0 otherwise, 2 on bad input.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from gridmap.cli import EXIT_OK, EXIT_VIOLATIONS
from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting
from gridmap.cli._people import findings_text, grids_options, out_path, read_grids, write_result, written
from gridmap.cli.options import (
    coords_option,
    echo_warnings,
    epilog,
    is_quiet,
    join_inputs,
    json_option,
    quiet_option,
    read_inputs,
)
from gridmap.io import read_table
from gridmap.people.party import PartyCoverage, party_coverage, read_party

__all__ = ["party"]

_TABLES = ["summary", "communities"]

_EXAMPLES = """
  # the sample's party organisations against the demo's grids and the sample's buildings
  gridmap party --branches data/sample/party.csv --grids demo/gridmap.gpkg \\
                --buildings data/sample/buildings.gpkg  # exit 1: grids without a branch

  # covered and uncovered grids as a map layer (layer grids of party.gpkg), findings and summary beside it
  gridmap party --branches data/sample/party.csv --grids demo/gridmap.gpkg --out party.gpkg  # exit 1

  # in a script: findings and tables as JSON, each finding with the code of its grid, building or community
  gridmap -q party --branches data/sample/party.csv --grids demo/gridmap.gpkg --json > party.json  # exit 1

  # your roster (person_id, name, role, level, unit_code, party_member, phone): leaders must be members
  gridmap party --branches 党组织.xlsx --grids grids.gpkg --roster roster.csv --out party.xlsx  # your files
"""


@click.command("party", epilog=epilog(_EXAMPLES, exits="0 no error found, 1 errors found (a grid without "
                                                       "branch, a leader not a member …), 2 bad input"))
@click.option("--branches", "branches_path", required=True, type=click.Path(), metavar="FILE",
              help="Party organisations: 类型/kind (社区党组织, 网格党支部, 楼栋党小组, 党员中心户), "
                   "网格编码 (several, ;-separated, for a joint branch), 楼栋编号, 社区代码, 党员数; "
                   "or points.")
@click.option("--branches-layer", default=None, metavar="NAME",
              help="Layer (or sheet) of the branches file [default: its only or first one].")
@grids_options
@click.option("--roster", "roster_path", type=click.Path(), default=None, metavar="FILE",
              help="Roster (person_id, name, role, level, unit_code, party_member, phone): grid leaders "
                   "(role leader) who are not party members are reported.")
@click.option("--buildings", "buildings_path", type=click.Path(), default=None, metavar="FILE",
              help="Buildings (楼栋: unit_id, footprints or points) for the share with a building group.")
@click.option("--buildings-layer", default=None, metavar="NAME",
              help="Layer of the buildings file [default: its only layer, else 'buildings'].")
@click.option("--leader-rule/--no-leader-rule", default=True, show_default=True,
              help="Whether a grid's leader (网格长) must be a party member (党建引领).")
@coords_option
@json_option
@click.option("--out", type=click.Path(dir_okay=False), callback=out_path, metavar="FILE",
              help="Also write the per-grid layer (covered, members, Chinese label), the findings, summary "
                   "and communities: .gpkg (layers), .xlsx (sheets) or .csv (the per-grid table).")
@quiet_option
@click.pass_context
def party(ctx: click.Context, branches_path: str, branches_layer: str | None, grids_path: str,
          grids_layer: str | None, roster_path: str | None, buildings_path: str | None,
          buildings_layer: str | None, leader_rule: bool, coords: str | None, as_json: bool,
          out: Path | None) -> None:
    """Measure how party organisation covers the grids and buildings (支部建在网格上).

    Reports grids without a grid party branch, building groups and branches on codes that do not exist,
    breaks in the chain 社区党组织 — 网格党支部 — 楼栋党小组, and grid leaders who are not party members.
    """
    refuse_overwriting({"--branches": branches_path, "--grids": grids_path, "--roster": roster_path,
                        "--buildings": buildings_path}, {"--out": out})
    quiet = is_quiet(ctx)
    steps = 3 + (roster_path is not None) + (buildings_path is not None) + (out is not None)
    with echo_warnings(quiet=quiet), Steps("party", steps, quiet=quiet) as step:
        step(f"read {branches_path}")
        branches = read_party(branches_path, layer=branches_layer, coords=coords)
        step(f"read {grids_path}")
        grids = read_grids(grids_path, grids_layer, coords)
        roster = buildings = None
        if roster_path is not None:
            step(f"read {roster_path}")
            roster = read_table(roster_path)  # roster: read_roster after merge
        if buildings_path is not None:
            step(f"read {buildings_path}")
            layers = [buildings_layer] if buildings_layer else []
            buildings = join_inputs(read_inputs(buildings_path, layers, defaults=["buildings"],
                                                option="--buildings-layer", coords=coords))
        step("coverage")
        result = party_coverage(grids, branches, roster=roster, buildings=buildings,
                                leader_party_member=leader_rule)
        if out is not None:
            step(f"write {out}")
            write_result(out, result.grids, result.report, _TABLES)
    if as_json:
        click.echo(result.report.to_json())
    elif not quiet:
        click.echo("\n".join([_headline(result), "", *findings_text(result.report)]))
    if out is not None and not as_json:
        echo_wrote(out, written(out, _TABLES), quiet=quiet)
    ctx.exit(EXIT_OK if result.report.ok else EXIT_VIOLATIONS)


def _headline(result: PartyCoverage) -> str:
    """One line of figures: grids covered, buildings with a group, members, leaders not members."""
    row = result.report.tables["summary"].to_dict("records")[0]
    parts = [f"{row['grids']:,} grids, {row['grids_covered']:,} with a grid branch ({row['grid_share']:.1%})"]
    if pd.notna(row["buildings"]):
        share = f" ({row['building_share']:.1%})" if row["buildings"] else ""
        parts.append(f"{row['buildings']:,} buildings, {row['buildings_covered']:,} with a building "
                     f"group{share}")
    if pd.notna(row["members"]):
        parts.append(f"{row['members']:,} party members in grid branches")
    if row["leaders_not_party_members"]:
        parts.append(f"{row['leaders_not_party_members']:,} grid leaders not party members")
    return "party organisation: " + "; ".join(parts)
