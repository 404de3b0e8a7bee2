"""``gridmap build``: divide communities into grids from base units and write one GeoPackage.

Reads and validates the communities and units, builds the grids with :func:`gridmap.build_grids`, and
writes the layers ``grids``, ``units`` (with ``grid_code``), ``communities`` and ``report`` (the findings
of validation and building, a table without geometry) to a temporary file that replaces ``--out`` only
when everything succeeded.

With ``--barriers`` (roads, rivers, railways: lines, or polygons by their outlines) each community is cut
into blocks along them first, and grids follow the blocks (see :mod:`gridmap.division.barriers`).

With ``--registry`` the grids get their permanent codes from a :class:`~gridmap.codes.registry.Registry`
(grids that continue registered ones keep their codes, new ones take the next free sequence). The registry
is updated before the GeoPackage is written; should writing fail, running the same build again gives the
same codes and changes nothing in the registry.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd

from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting, show_progress
from gridmap.cli.options import (
    COORDS,
    Input,
    coords_option,
    echo_warnings,
    epilog,
    gpkg_path,
    is_quiet,
    join_inputs,
    json_option,
    quiet_option,
    read_inputs,
    register_codes,
    staged_file,
)
from gridmap.division import GridBuild, GridRules, build_grids
from gridmap.findings import Report
from gridmap.io import write_layer
from gridmap.io.validation import validate_admin, validate_units

__all__ = ["build", "LAYERS"]

#: Layers ``--barriers`` reads from a file of several layers when no ``--barriers-layer`` is given.
BARRIER_LAYERS = ("roads", "rivers", "railways", "barriers")

#: Layers ``gridmap build`` writes, in order.
LAYERS = ("grids", "units", "communities", "report")

_EXAMPLES = """
  # the sample city (its units are in two layers, units and unit_points, read together)
  gridmap build --communities data/sample/sample_city.gpkg \\
                --units data/sample/sample_city.gpkg --out grids.gpkg

  # permanent codes from the demo's registry: the grids keep the codes the demo gave them; summary as JSON
  gridmap build --communities data/sample/sample_city.gpkg \\
                --units data/sample/sample_city.gpkg --registry demo/registry.sqlite --out coded.gpkg --json

  # grids that follow the sample city's streets: they cross one only where a block is too small
  gridmap build --communities data/sample/sample_city.gpkg \
                --units data/sample/sample_city.gpkg --barriers data/sample/roads.gpkg --out streets.gpkg

  # units geocoded with Amap (GCJ-02); rules.toml holds keys of gridmap.GridRules, e.g.
  #   [rules]
  #   city_households = [250, 450]
  gridmap build --communities 社区.shp --units 小区.xlsx --coords gcj02 \\
                --rules rules.toml --out grids.gpkg  # your files
"""


@click.command("build", epilog=epilog(_EXAMPLES, exits="0 built (findings are warnings), 2 bad input"))
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
@click.option("--barriers", "barriers_path", type=click.Path(), default=None, metavar="FILE",
              help="Streets, rivers, railways (lines; polygons count by their outline) that grids follow and "
                   "cross only when a block has too few households; any format gridmap reads.")
@click.option("--barriers-layer", "barriers_layers", multiple=True, metavar="NAME",
              help="Layer of the barriers file; repeat to read several together "
                   "[default: its only layer, else 'roads', 'rivers', 'railways' and 'barriers'].")
@click.option("--barriers-coords", type=click.Choice(COORDS), default=None,
              help="Coordinate system of the barriers when it differs from --coords (e.g. gcj02 for an "
                   "Amap road layer) [default: --coords].")
@click.option("--rules", "rules_path", type=click.Path(), default=None, metavar="FILE.toml",
              help="Division rules (keys of gridmap.GridRules) [default: 300-500 households per city grid, "
                   "at most 2,500 people].")
@click.option("--strict", is_flag=True,
              help="Refuse bad input instead of repairing or reporting it: invalid geometries, units outside "
                   "every community, overlapping communities.")
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Code registry (SQLite, created when missing) giving the grids permanent codes "
                   "[default: temporary codes, community code + '-' + sequence].")
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=gpkg_path,
              metavar="FILE.gpkg", help="GeoPackage to write (replaced whole, only when the build succeeds).")
@json_option
@quiet_option
@click.pass_context
def build(ctx: click.Context, communities_path: str, communities_layer: str | None, units_path: str,
          units_layers: tuple[str, ...], coords: str | None, barriers_path: str | None,
          barriers_layers: tuple[str, ...], barriers_coords: str | None, rules_path: str | None,
          strict: bool, registry_path: str | None, out: Path, as_json: bool) -> None:
    """Divide communities into grids (网格) that tile them exactly, from base units.

    Writes the layers grids, units (with grid_code), communities and report (the findings) to one
    GeoPackage. Exits 0 when the grids are built (findings are warnings), 2 on bad input.
    """
    refuse_overwriting({"--communities": communities_path, "--units": units_path, "--rules": rules_path,
                        "--barriers": barriers_path},
                       {"--registry": registry_path, "--out": out})
    quiet = is_quiet(ctx)
    steps = 5 + (registry_path is not None) + (barriers_path is not None)
    with staged_file(out) as staging, echo_warnings(quiet=quiet), Steps("build", steps, quiet=quiet) as step:
        rules = None if rules_path is None else GridRules.from_toml(rules_path)
        layer = [communities_layer] if communities_layer else []
        step(f"read and validate {communities_path}")
        communities, community_report = _validated_communities(
            read_inputs(communities_path, layer, defaults=["communities"], option="--communities-layer",
                        coords=coords), strict=strict)
        step(f"read and validate {units_path}")
        units, unit_report = _validated_units(
            read_inputs(units_path, units_layers, defaults=["units", "unit_points"], option="--units-layer",
                        coords=coords), strict=strict)
        barriers = None
        if barriers_path is not None:
            step(f"read {barriers_path}")
            barriers = join_inputs(read_inputs(barriers_path, barriers_layers, defaults=BARRIER_LAYERS,
                                               option="--barriers-layer", coords=barriers_coords or coords))
        step("divide into grids")
        result = build_grids(communities, units, rules=rules, strict=strict, progress=show_progress(quiet),
                             barriers=barriers)
        if registry_path is not None:
            step(f"codes from {registry_path}")
            result = register_codes(result, registry_path)
        step("findings")
        findings = _findings([community_report, unit_report, result.report])
        step(f"write {out}")
        write_layer(result.grids, staging, "grids")
        write_layer(result.units, staging, "units", mode="a")
        write_layer(communities, staging, "communities", mode="a")
        write_layer(findings, staging, "report", mode="a")
    summary = _summary(out, result, findings, registry_path)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        echo_wrote(out, _details(summary), quiet=quiet)


def _validated_communities(inputs: list[Input], *, strict: bool) -> tuple[gpd.GeoDataFrame, Report]:
    """Validate the communities; errors (malformed or duplicate codes, no polygons) are bad input."""
    (source,) = inputs
    frame, report = validate_admin(source.frame, level="community", strict=strict, path=source.label)
    _refuse_errors(report, source.label)
    return frame, report


def _validated_units(inputs: list[Input], *, strict: bool) -> tuple[gpd.GeoDataFrame, Report]:
    """Join the unit layers and validate them together; errors are bad input.

    Validated together so that unit ids are unique across layers; rows are counted across the layers in
    the order they were read.
    """
    label = inputs[0].label if len(inputs) == 1 else \
        f"{inputs[0].path} (layers {' + '.join(str(source.layer) for source in inputs)})"
    units, report = validate_units(join_inputs(inputs), strict=strict, path=label)
    _refuse_errors(report, label)
    return units, report


def _refuse_errors(report: Report, label: str) -> None:
    """Raise the first error of a validation; list them all on stderr first when there are several."""
    errors = report.to_frame().query("severity == 'error'")
    if len(errors) > 1:
        click.echo(f"gridmap: {len(errors)} errors in {label}:", err=True)
        for row in errors.itertuples():
            click.echo(f"  {row.record}: {row.check}: {row.message}", err=True)
    report.raise_for_errors(path=label)


def _findings(reports: list[Report]) -> pd.DataFrame:
    """All findings in one table, with the ``source`` (the report's title) first."""
    frames = [report.to_frame().assign(source=report.title) for report in reports]
    table = pd.concat([frame for frame in frames if len(frame)] or frames[:1], ignore_index=True)
    return table[["source", *[c for c in table.columns if c != "source"]]]


def _summary(out: Path, result: GridBuild, findings: pd.DataFrame, registry: str | None) -> dict:
    """Say what was written where: grids by type, codes, units, findings by severity and by check."""
    by_type = result.grids["type"].value_counts()
    severities = findings["severity"].value_counts()
    codes = result.grids["status"].value_counts() if registry is not None else pd.Series(dtype=int)
    return {
        "out": str(out),
        "layers": list(LAYERS),
        "grids": len(result.grids),
        "grids_by_type": {str(kind): int(n) for kind, n in by_type.sort_index().items()},
        "communities": int(result.grids["community_code"].nunique()),
        "registry": registry,
        "codes_by_status": {str(status): int(n) for status, n in codes.sort_index().items()},
        "units": len(result.units),
        "units_in_grids": int(result.units["grid_code"].notna().sum()),
        "findings": len(findings),
        "findings_by_severity": {s: int(severities.get(s, 0)) for s in ("error", "warning", "info")},
        "findings_by_check": {str(c): int(n) for c, n in findings["check"].value_counts().items()},
    }


def _details(summary: dict) -> str:
    types = ", ".join(f"{kind} {n}" for kind, n in summary["grids_by_type"].items())
    codes = ", ".join(f"{status} {n}" for status, n in summary["codes_by_status"].items())
    registry = f"; codes from {summary['registry']}: {codes}" if summary["registry"] else ""
    severities = ", ".join(f"{s} {n}" for s, n in summary["findings_by_severity"].items() if n) or "none"
    grids, communities = summary["grids"], summary["communities"]
    units, findings = summary["units"], summary["findings"]
    places = f"communit{'y' if communities == 1 else 'ies'}"
    return (f"{grids} grid{'s' * (grids != 1)} in {communities} {places}: {types}{registry}; "
            f"{units} unit{'s' * (units != 1)}, {summary['units_in_grids']} in grids; "
            f"{findings} finding{'s' * (findings != 1)} in layer report: {severities}")
