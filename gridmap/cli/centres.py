"""``gridmap centres``: service centres (党群服务中心) against Nanning's standards and households they reach.

Reads the centres (points or footprints with kind and floor area), checks with
:func:`gridmap.people.check_centres` each community (≥ 500 m²) and compound (≥ 300 m²; new compounds ≥ 30 m²
per 100 households) and finds the households farther than ``--max-distance`` from every centre (or outside
``--reach``), prints the findings (or JSON), optionally writes the per-grid layer and the tables, and exits
1 when a community or compound is below its standard (or a centre names a code that does not exist), 0
otherwise, 2 on bad input.
"""

from __future__ import annotations

from pathlib import Path

import click
import geopandas as gpd
import pandas as pd

from gridmap.cli import EXIT_OK, EXIT_VIOLATIONS
from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting
from gridmap.cli._people import findings_text, grids_options, out_path, read_grids, write_result, written
from gridmap.cli.options import (
    FiniteFloat,
    coords_option,
    echo_warnings,
    epilog,
    is_quiet,
    join_inputs,
    json_option,
    quiet_option,
    read_inputs,
)
from gridmap.people.centres import CentreCheck, check_centres
from gridmap.schema import CENTRE_ALIASES, CENTRE_STANDARDS

__all__ = ["centres"]

_TABLES = ["summary", "communities", "compounds"]
#: Layers read from a file of centres that holds several: the sample keeps points and footprints apart.
CENTRE_LAYERS = ("centres", "centre_footprints")

_EXAMPLES = """
  # the sample's centres against the demo's grids, compounds and communities
  gridmap centres --centres data/sample/centres.gpkg --grids demo/gridmap.gpkg \\
                  --units data/sample/sample_city.gpkg \\
                  --communities data/sample/sample_city.gpkg  # exit 1: centres below standard

  # households beyond 800 m; the per-grid layer (a map of the far households) and the tables to a workbook
  gridmap centres --centres data/sample/centres.gpkg --grids demo/gridmap.gpkg \\
                  --units data/sample/sample_city.gpkg --max-distance 800 --out centres.xlsx  # exit 1

  # in a script: findings and tables as JSON, each finding with its community or compound code
  gridmap -q centres --centres data/sample/centres.gpkg --grids demo/gridmap.gpkg \\
                     --json > centres.json  # exit 1

  # your centres located on Amap (headers 经度_gcj02, 纬度_gcj02 name the system; --coords would shift every
  # input), counted against the walking areas the field-work stage computed
  gridmap centres --centres 阵地.xlsx --grids grids.gpkg --units units.gpkg \\
                  --reach walking.gpkg --out centres.gpkg  # your files
"""


@click.command("centres", epilog=epilog(_EXAMPLES, exits=(
    "0 every standard met, 1 a community or compound below its standard (or a code that does not exist), "
    "2 bad input")))
@click.option("--centres", "centres_path", required=True, type=click.Path(), metavar="FILE",
              help="Service centres, points or footprints: 类型/kind (社区党群服务中心, 小区党群服务中心 …), "
                   "面积/floor_area_m2 (m²), optional 社区代码 and 小区编号 (the compound served).")
@click.option("--centres-layer", "centres_layers", multiple=True, metavar="NAME",
              help="Layer of the centres file; repeat to read several [default: its only layer, else "
                   "'centres' and 'centre_footprints'].")
@grids_options
@click.option("--units", "units_path", type=click.Path(), default=None, metavar="FILE",
              help="Base units with households (户数) and kind: compounds for their standard, every unit for "
                   "the distance; a column 新建 (是/否) marks new compounds [default: none, no distances].")
@click.option("--communities", "communities_path", type=click.Path(), default=None, metavar="FILE",
              help="Community polygons (code, kind) [default: the communities of the grids].")
@click.option("--reach", "reach_path", type=click.Path(), default=None, metavar="FILE",
              help="Walking areas of the centres (polygons): households outside them are counted instead "
                   "of those beyond --max-distance.")
@click.option("--max-distance", type=FiniteFloat(min=1, max=100_000, unit="m"),
              default=CENTRE_STANDARDS["max_distance_m"], show_default=True, metavar="M",
              help="Straight-line distance (m) to the nearest centre beyond which households are counted "
                   "(15 minutes on foot at 4 km/h).")
@coords_option
@json_option
@click.option("--out", type=click.Path(dir_okay=False), callback=out_path, metavar="FILE",
              help="Also write the per-grid layer (households far, Chinese label), the findings, summary, "
                   "communities and compounds: .gpkg (layers), .xlsx (sheets) or .csv (the per-grid table).")
@quiet_option
@click.pass_context
def centres(ctx: click.Context, centres_path: str, centres_layers: tuple[str, ...], grids_path: str,
            grids_layer: str | None, units_path: str | None, communities_path: str | None,
            reach_path: str | None, max_distance: float, coords: str | None, as_json: bool,
            out: Path | None) -> None:
    """Check service centres against the floor-area standards and find the households far from them.

    Standards (seed 001, Nanning): every urban community's service space ≥ 500 m², every compound's
    party-and-people service centre ≥ 300 m², new compounds ≥ 30 m² per 100 households.
    """
    inputs = {"--centres": centres_path, "--grids": grids_path, "--units": units_path,
              "--communities": communities_path, "--reach": reach_path}
    refuse_overwriting(inputs, {"--out": out})
    quiet = is_quiet(ctx)
    given = [option for option, path in inputs.items() if path is not None]
    steps = len(given) + 1 + (out is not None)
    with echo_warnings(quiet=quiet), Steps("centres", steps, quiet=quiet) as step:
        step(f"read {centres_path}")
        found = join_inputs(read_inputs(centres_path, centres_layers, defaults=CENTRE_LAYERS,
                                        option="--centres-layer", coords=coords, aliases=CENTRE_ALIASES))
        step(f"read {grids_path}")
        grids = read_grids(grids_path, grids_layer, coords)
        units = communities = reach = None
        if units_path is not None:
            step(f"read {units_path}")
            units = _layer(units_path, None, ["units", "unit_points"], "--units", coords)
        if communities_path is not None:
            step(f"read {communities_path}")
            communities = _layer(communities_path, None, ["communities"], "--communities", coords)
        if reach_path is not None:
            step(f"read {reach_path}")
            reach = _layer(reach_path, None, ["reach"], "--reach", coords)
        step("check")
        result = check_centres(found, grids, units=units, communities=communities, reach=reach,
                               standards={"max_distance_m": max_distance})
        if out is not None:
            step(f"write {out}")
            write_result(out, result.grids, result.report, _TABLES)
    if as_json:
        click.echo(result.report.to_json())
    elif not quiet:
        click.echo("\n".join([_headline(result, reach is not None), "", *findings_text(result.report)]))
    if out is not None and not as_json:
        echo_wrote(out, written(out, _TABLES), quiet=quiet)
    ctx.exit(EXIT_OK if result.report.ok else EXIT_VIOLATIONS)


def _layer(path: str, layer: str | None, defaults: list[str], option: str,
           coords: str | None) -> gpd.GeoDataFrame:
    """Read ``path``: its only layer, else the ``defaults`` it holds, joined."""
    return join_inputs(read_inputs(path, [layer] if layer else [], defaults=defaults, option=option,
                                   coords=coords))


def _headline(result: CentreCheck, with_reach: bool) -> str:
    """One line of figures: centres, communities and compounds below standard, households far."""
    row = result.report.tables["summary"].to_dict("records")[0]
    parts = [f"{row['centres']:,} centres",
             f"{row['communities']:,} communities checked, {row['communities_below']:,} below standard",
             f"{row['compounds']:,} compounds checked, {row['compounds_below']:,} below standard"]
    if pd.notna(row["households"]):
        where = "outside the walking areas" if with_reach else f"farther than {row['max_distance_m']:,.0f} m"
        share = f" ({row['far_share']:.1%})" if pd.notna(row["far_share"]) else ""
        parts.append(f"{row['households_far']:,} of {row['households']:,} households {where}{share}")
    return "service centres: " + "; ".join(parts)

