"""``gridmap microgrids``: divide grids into micro-grids (微网格) of a few buildings; one GeoPackage out.

Reads the grids and the buildings, divides with :func:`gridmap.build_microgrids` and writes the layers
``microgrids``, ``buildings`` (with ``grid_code`` and ``microgrid_code``) and ``report`` (the findings, a
table without geometry) to a temporary file that replaces ``--out`` only when everything succeeded.

With ``--registry`` the micro-grids get their permanent codes from a micro-grid registry
(``Registry(path, level="micro")``, a file of its own beside the grids' registry): micro-grids that continue
registered ones keep their codes, new ones take the next free sequence in their grid.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd

from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting
from gridmap.cli.options import (
    coords_option,
    echo_warnings,
    epilog,
    gpkg_path,
    is_quiet,
    join_inputs,
    json_option,
    quiet_option,
    read_inputs,
    staged_file,
)
from gridmap.codes.registry import Registry
from gridmap.division import MicroBuild, MicroRules, build_microgrids
from gridmap.io import write_layer

__all__ = ["microgrids", "LAYERS"]

#: Layers ``gridmap microgrids`` writes, in order.
LAYERS = ("microgrids", "buildings", "report")

_EXAMPLES = """
  # the demo's grids and the sample city's buildings (楼栋 footprints of its compounds)
  gridmap microgrids --grids demo/gridmap.gpkg --buildings data/sample/buildings.gpkg --out micro.gpkg

  # permanent micro-grid codes (grid code + 01, 02 ...) from a micro-grid registry; summary as JSON
  gridmap microgrids --grids demo/gridmap.gpkg --buildings data/sample/buildings.gpkg \\
                     --registry demo/microgrids.sqlite --out micro.gpkg --json

  # your buildings (楼栋: 户数, points or footprints); rules.toml holds keys of gridmap.MicroRules, e.g.
  #   [microgrids]
  #   households = [30, 50]
  gridmap microgrids --grids grids.gpkg --buildings 楼栋.xlsx --coords gcj02 \\
                     --rules rules.toml --out micro.gpkg  # your files
"""


@click.command("microgrids", epilog=epilog(_EXAMPLES, exits="0 written (findings are warnings), 2 bad input"))
@click.option("--grids", "grids_path", required=True, type=click.Path(), metavar="FILE",
              help="Grids: code (网格编码), polygon; e.g. the grids layer gridmap build writes.")
@click.option("--grids-layer", default=None, metavar="NAME",
              help="Layer of the grids file [default: its only layer, else 'grids'].")
@click.option("--buildings", "buildings_path", required=True, type=click.Path(), metavar="FILE",
              help="Buildings (楼栋): households (户数), optional unit_id (编号), name (楼栋名称), "
                   "population; points or footprints.")
@click.option("--buildings-layer", "buildings_layers", multiple=True, metavar="NAME",
              help="Layer of the buildings file; repeat to read several together "
                   "[default: its only layer, else 'buildings', else 'units' and 'unit_points'].")
@coords_option
@click.option("--rules", "rules_path", type=click.Path(), default=None, metavar="FILE.toml",
              help="Micro-grid rules (keys of gridmap.MicroRules in a [microgrids] table) [default: 30-50 "
                   "households per micro-grid].")
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Micro-grid code registry (SQLite, created when missing; not the grids' registry) giving "
                   "permanent codes [default: grid code + sequence, not registered].")
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=gpkg_path,
              metavar="FILE.gpkg",
              help="GeoPackage to write (replaced whole, only when the division succeeds).")
@json_option
@quiet_option
@click.pass_context
def microgrids(ctx: click.Context, grids_path: str, grids_layer: str | None, buildings_path: str,
               buildings_layers: tuple[str, ...], coords: str | None, rules_path: str | None,
               registry_path: str | None, out: Path, as_json: bool) -> None:
    """Divide grids into micro-grids (微网格) of a few buildings that tile them exactly.

    Each building goes to the grid holding it; each grid is divided into micro-grids of about 30-50
    households (a building above that stands alone), coded as the grid's code and a two-digit sequence in
    reading order. A grid without buildings stays whole (sequence 01). Writes the layers microgrids,
    buildings (with grid_code and microgrid_code) and report to one GeoPackage.
    """
    refuse_overwriting({"--grids": grids_path, "--buildings": buildings_path, "--rules": rules_path},
                       {"--out": out, "--registry": registry_path})
    quiet = is_quiet(ctx)
    with staged_file(out) as staging, echo_warnings(quiet=quiet), \
            Steps("microgrids", 4 + (registry_path is not None), quiet=quiet) as step:
        rules = None if rules_path is None else MicroRules.from_toml(rules_path)
        step(f"read {grids_path}")
        (grids,) = read_inputs(grids_path, [grids_layer] if grids_layer else [], defaults=["grids"],
                               option="--grids-layer", coords=coords)
        step(f"read {buildings_path}")
        buildings = join_inputs(read_inputs(buildings_path, buildings_layers,
                                            defaults=_building_layers(buildings_path, buildings_layers),
                                            option="--buildings-layer", coords=coords))
        step("divide into micro-grids")
        result = build_microgrids(grids.frame, buildings, rules)
        if registry_path is not None:
            step(f"codes from {registry_path}")
            result = _register(result, registry_path)
        step(f"write {out}")
        findings = result.report.to_frame()
        write_layer(result.microgrids, staging, "microgrids")
        write_layer(result.buildings, staging, "buildings", mode="a")
        write_layer(findings, staging, "report", mode="a")
    summary = _summary(out, result, findings, registry_path)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        echo_wrote(out, _details(summary), quiet=quiet)


def _building_layers(path: str, layers: tuple[str, ...]) -> list[str]:
    """Default layers: 'buildings' when the file has one, else the units layers of the sample city."""
    from gridmap.io import list_layers

    if layers or Path(path).suffix.lower() != ".gpkg":
        return ["buildings"]
    return ["buildings"] if "buildings" in list_layers(path) else ["units", "unit_points"]


def _register(result: MicroBuild, path: str) -> MicroBuild:
    """Give the micro-grids their permanent codes, and the buildings their micro-grid's."""
    with Registry(path, level="micro") as registry:
        coded = registry.assign(result.microgrids)
    permanent = dict(zip(coded["temp_code"], coded["code"], strict=True))
    buildings = result.buildings.assign(microgrid_code=result.buildings["microgrid_code"].map(permanent))
    return MicroBuild(microgrids=coded, buildings=buildings, report=result.report)


def _summary(out: Path, result: MicroBuild, findings: pd.DataFrame, registry: str | None) -> dict:
    """Say what was written where: micro-grids, grids divided, codes, buildings, findings."""
    micro = result.microgrids
    codes = micro["status"].value_counts() if registry is not None else pd.Series(dtype=int)
    severities = findings["severity"].value_counts() if len(findings) else pd.Series(dtype=int)
    return {
        "out": str(out),
        "layers": list(LAYERS),
        "microgrids": len(micro),
        "grids": int(micro["grid_code"].nunique()),
        "grids_divided": int((micro.groupby("grid_code").size() > 1).sum()),
        "households_median": float(micro.loc[micro["buildings"] > 0, "households"].median())
        if (micro["buildings"] > 0).any() else None,
        "registry": registry,
        "codes_by_status": {str(status): int(n) for status, n in codes.sort_index().items()},
        "buildings": len(result.buildings),
        "buildings_in_microgrids": int(result.buildings["microgrid_code"].notna().sum()),
        "findings": len(findings),
        "findings_by_severity": {s: int(severities.get(s, 0)) for s in ("error", "warning", "info")},
    }


def _details(summary: dict) -> str:
    codes = ", ".join(f"{status} {n}" for status, n in summary["codes_by_status"].items())
    registry = f"; codes from {summary['registry']}: {codes}" if summary["registry"] else ""
    severities = ", ".join(f"{s} {n}" for s, n in summary["findings_by_severity"].items() if n) or "none"
    return (f"{summary['microgrids']} micro-grids in {summary['grids']} grids ({summary['grids_divided']} "
            f"divided){registry}; {summary['buildings']} buildings, {summary['buildings_in_microgrids']} in "
            f"micro-grids; {summary['findings']} findings in layer report: {severities}")
