"""``gridmap build``: divide communities into grids from base units and write one GeoPackage.

Reads and validates the communities and units, builds the grids with :func:`gridmap.build_grids`, and
writes the layers ``grids``, ``units`` (with ``grid_code``), ``communities`` and ``report`` (the findings
of validation and building, a table without geometry) to a temporary file that replaces ``--out`` only
when everything succeeded.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd

from gridmap.cli.options import (
    Input,
    coords_option,
    echo_warnings,
    json_option,
    read_inputs,
    staged_file,
    write_table,
)
from gridmap.division import GridBuild, GridRules, build_grids
from gridmap.io import write_layer
from gridmap.report import Report
from gridmap.validation import validate_admin, validate_units

__all__ = ["build", "LAYERS"]

#: Layers ``gridmap build`` writes, in order.
LAYERS = ("grids", "units", "communities", "report")

_EXAMPLES = """
\b
Examples:
  # the sample city (its units are in two layers, units and unit_points, read together)
  gridmap build --communities data/sample/sample_city.gpkg \\
                --units data/sample/sample_city.gpkg --out grids.gpkg
\b
  # units geocoded with Amap (GCJ-02), 250-450 households per city grid, summary as JSON
  gridmap build --communities communities.shp --units 小区.xlsx --coords gcj02 \\
                --rules rules.toml --out grids.gpkg --json
\b
rules.toml holds keys of gridmap.GridRules, e.g.
  [rules]
  city_households = [250, 450]
"""


def _gpkg_path(ctx: click.Context, param: click.Parameter, value: str) -> Path:
    if Path(value).suffix.lower() != ".gpkg":
        raise click.BadParameter(f"{value!r} is not a GeoPackage name (it must end in .gpkg)", ctx=ctx,
                                 param=param)
    return Path(value)


@click.command("build", epilog=_EXAMPLES)
@click.option("--communities", "communities_path", required=True, type=click.Path(), metavar="FILE",
              help="Communities (社区/村): code, name, polygon; any format gridmap reads.")
@click.option("--communities-layer", default=None, metavar="NAME",
              help="Layer of the communities file [default: its only layer, else 'communities'].")
@click.option("--units", "units_path", required=True, type=click.Path(), metavar="FILE",
              help="Base units (小区, 自然村, dedicated sites): unit_id, name, kind, households, point or "
                   "polygon.")
@click.option("--units-layer", "units_layers", multiple=True, metavar="NAME",
              help="Layer of the units file; repeat to read several together "
                   "[default: its only layer, else 'units' and 'unit_points'].")
@coords_option
@click.option("--rules", "rules_path", type=click.Path(), default=None, metavar="FILE.toml",
              help="Division rules (keys of gridmap.GridRules) [default: 300-500 households per city grid, "
                   "at most 2,500 people].")
@click.option("--strict", is_flag=True,
              help="Refuse bad input instead of repairing or reporting it: invalid geometries, units outside "
                   "every community, overlapping communities.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=_gpkg_path,
              metavar="FILE.gpkg", help="GeoPackage to write (replaced whole, only when the build succeeds).")
@json_option
@click.pass_context
def build(ctx: click.Context, communities_path: str, communities_layer: str | None, units_path: str,
          units_layers: tuple[str, ...], coords: str | None, rules_path: str | None, strict: bool, out: Path,
          as_json: bool) -> None:
    """Divide communities into grids (网格) that tile them exactly, from base units.

    Writes the layers grids, units (with grid_code), communities and report (the findings) to one
    GeoPackage. Exits 0 when the grids are built (findings are warnings), 2 on bad input.
    """
    quiet = ctx.obj["quiet"]
    with staged_file(out) as staging, echo_warnings(quiet=quiet):
        rules = None if rules_path is None else GridRules.from_toml(rules_path)
        layer = [communities_layer] if communities_layer else []
        communities, community_report = _validated_communities(
            read_inputs(communities_path, layer, defaults=["communities"], option="--communities-layer",
                        coords=coords), strict=strict)
        units, unit_report = _validated_units(
            read_inputs(units_path, units_layers, defaults=["units", "unit_points"], option="--units-layer",
                        coords=coords), strict=strict)
        result = build_grids(communities, units, rules=rules, strict=strict, progress=not quiet)
        findings = _findings([community_report, unit_report, result.report])
        write_layer(result.grids, staging, "grids")
        write_layer(result.units, staging, "units", mode="a")
        write_layer(communities, staging, "communities", mode="a")
        write_table(findings, staging, "report")
    summary = _summary(out, result, findings)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    elif not quiet:
        click.echo(_summary_line(summary))


def _validated_communities(inputs: list[Input], *, strict: bool) -> tuple[gpd.GeoDataFrame, Report]:
    """Validate the communities; errors (malformed or duplicate codes, no polygons) are bad input."""
    (source,) = inputs
    frame, report = validate_admin(source.frame, level="community", strict=strict, path=source.label)
    report.raise_for_errors(path=source.label)
    return frame, report


def _validated_units(inputs: list[Input], *, strict: bool) -> tuple[gpd.GeoDataFrame, Report]:
    """Join the unit layers (in the first one's CRS) and validate them together; errors are bad input.

    Validated together so that unit ids are unique across layers; rows are counted across the layers in
    the order they were read.
    """
    crs = inputs[0].frame.crs
    frame = pd.concat([source.frame.to_crs(crs) for source in inputs], ignore_index=True)
    label = inputs[0].label if len(inputs) == 1 else \
        f"{inputs[0].path} (layers {' + '.join(str(source.layer) for source in inputs)})"
    frame = gpd.GeoDataFrame(frame, geometry=frame.geometry.name, crs=crs)
    units, report = validate_units(frame, strict=strict, path=label)
    report.raise_for_errors(path=label)
    return units, report


def _findings(reports: list[Report]) -> pd.DataFrame:
    """All findings in one table, with the ``source`` (the report's title) first."""
    frames = [report.to_frame().assign(source=report.title) for report in reports]
    table = pd.concat([frame for frame in frames if len(frame)] or frames[:1], ignore_index=True)
    return table[["source", *[c for c in table.columns if c != "source"]]]


def _summary(out: Path, result: GridBuild, findings: pd.DataFrame) -> dict:
    """Say what was written where: grids by type, units, findings by severity and by check."""
    by_type = result.grids["type"].value_counts()
    severities = findings["severity"].value_counts()
    return {
        "out": str(out),
        "layers": list(LAYERS),
        "grids": len(result.grids),
        "grids_by_type": {str(kind): int(n) for kind, n in by_type.sort_index().items()},
        "communities": int(result.grids["community_code"].nunique()),
        "units": len(result.units),
        "units_in_grids": int(result.units["grid_code"].notna().sum()),
        "findings": len(findings),
        "findings_by_severity": {s: int(severities.get(s, 0)) for s in ("error", "warning", "info")},
        "findings_by_check": {str(c): int(n) for c, n in findings["check"].value_counts().items()},
    }


def _summary_line(summary: dict) -> str:
    types = ", ".join(f"{kind} {n}" for kind, n in summary["grids_by_type"].items())
    severities = ", ".join(f"{s} {n}" for s, n in summary["findings_by_severity"].items() if n) or "none"
    return (f"wrote {summary['out']}: {summary['grids']} grids ({types}) in {summary['communities']} "
            f"communities, {summary['units']} units ({summary['units_in_grids']} in grids), "
            f"{summary['findings']} findings ({severities}) in layer report")
