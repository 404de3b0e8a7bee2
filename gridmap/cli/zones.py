"""``gridmap zones``: patrol zones (巡控网格) around sensitive sites and the grids each one enters.

Reads the sites and the grids, draws the zones with :func:`gridmap.fieldwork.patrol_zones` and overlays them
on the grids with :func:`gridmap.fieldwork.zone_coverage`. ``--out`` writes one GeoPackage with the layers
``zones`` (the zones and the grids, communities and streets each enters), ``grids`` (every grid with the
zones entering it and the share covered), ``coverage`` (one row per zone and unit entered) and ``report``
(the findings), replacing the file only when everything succeeded.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd

from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting
from gridmap.cli.options import (
    COORDS,
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
from gridmap.errors import GridmapError
from gridmap.fieldwork import ZoneCoverage, patrol_zones, zone_coverage
from gridmap.io import write_layer
from gridmap.schema import SITE_KIND_NAMES_ZH, SITE_KINDS, SITE_RADII_M

__all__ = ["zones", "parse_radius", "optional_gpkg", "LAYERS"]

#: Layers ``gridmap zones --out`` writes, in order.
LAYERS = ("zones", "grids", "coverage", "report")

_RADII = ", ".join(f"{SITE_KIND_NAMES_ZH[kind]} {SITE_RADII_M[kind]:g}" for kind in SITE_KINDS)

_EXAMPLES = """
  # the sample city's schools, hospitals, station, malls and city entrance on the demo's grids
  gridmap zones --sites data/sample/sites.gpkg --grids demo/gridmap.gpkg --out zones.gpkg

  # wider zones around schools and kindergartens; the table of zones and grids entered as JSON
  gridmap -q zones --sites data/sample/sites.gpkg --grids demo/gridmap.gpkg \\
      --radius 学校=300,kindergarten=250 --json > zones.json

  # your sites (场所名称, 场所类型, 经度, 纬度 from Amap: GCJ-02) on your grids
  gridmap zones --sites 重点场所.xlsx --coords gcj02 --grids grids.gpkg --out zones.gpkg  # your files
"""


def parse_radius(ctx: click.Context | None, param: click.Parameter | None, value: str | None
                 ) -> dict[str, float]:
    """Parse ``kind=metres,…`` (``学校=300,hospital=250``) into a mapping; the callback of ``--radius``.

    Kinds are checked by :func:`gridmap.fieldwork.patrol_zones` (any word of a kind is taken).

    Examples
    --------
    >>> parse_radius(None, None, "学校=300， hospital = 250.5")
    {'学校': 300.0, 'hospital': 250.5}
    """
    radii: dict[str, float] = {}
    for part in (value or "").replace("，", ",").split(","):
        if not part.strip():
            continue
        word, sep, metres = part.partition("=")
        try:
            number = float(metres) if sep and word.strip() else float("nan")
        except ValueError:
            number = float("nan")
        if not 0 < number < float("inf"):
            raise click.BadParameter(f"expected KIND=METRES such as 学校=300, got {part.strip()!r}", ctx=ctx,
                                     param=param)
        radii[word.strip()] = number
    return radii


def optional_gpkg(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """Click callback for an optional GeoPackage output: None, the path, or a usage error naming it."""
    return None if value is None else gpkg_path(ctx, param, value)


@click.command("zones", epilog=epilog(_EXAMPLES, exits="0 done (findings are warnings), 2 bad input"))
@click.option("--sites", "sites_path", required=True, type=click.Path(), metavar="FILE",
              help="Sensitive sites: kind (类型: 学校, 幼儿园, 医院, 车站, 商场, 入城口, 治安复杂区 …), "
                   "optional site_id (编号) and name (名称); points or outlines.")
@click.option("--sites-layer", default=None, metavar="NAME",
              help="Layer of the sites file [default: its only layer, else 'sites'].")
@click.option("--coords", type=click.Choice(COORDS), default=None,
              help="Coordinate system the sites are really in: gcj02 (Amap, Tencent) and bd09 (Baidu) are "
                   "shifted on load [default: their own].")
@click.option("--grids", "grids_path", required=True, type=click.Path(), metavar="FILE",
              help="Grids: code (网格编码), community_code (社区代码), polygon; e.g. what gridmap build "
                   "writes.")
@click.option("--grids-layer", default=None, metavar="NAME",
              help="Layer of the grids file [default: its only layer, else 'grids'].")
@click.option("--radius", "radius", default=None, callback=parse_radius, metavar="KIND=METRES,…",
              help=f"Zone radius by kind, over the defaults (metres: {_RADII}).")
@click.option("--out", type=click.Path(dir_okay=False), callback=optional_gpkg, default=None,
              metavar="FILE.gpkg",
              help="GeoPackage to write: layers zones, grids, coverage, report (replaced whole).")
@json_option
@quiet_option
@click.pass_context
def zones(ctx: click.Context, sites_path: str, sites_layer: str | None, coords: str | None, grids_path: str,
          grids_layer: str | None, radius: dict[str, float], out: Path | None, as_json: bool) -> None:
    """Draw patrol zones (巡控网格) around sensitive sites and say whose grids each enters.

    Each site gets a zone of the radius of its kind; touching zones of one kind merge into one that lists
    its sites. Each zone is overlaid on the grids: the grids, communities and streets it enters, with the
    share of the zone inside each and of each inside the zone.
    """
    refuse_overwriting({"--sites": sites_path, "--grids": grids_path}, {"--out": out})
    quiet = is_quiet(ctx)
    with echo_warnings(quiet=quiet), Steps("zones", 4 + (out is not None), quiet=quiet) as step:
        step(f"read {sites_path}")
        sites = join_inputs(read_inputs(sites_path, [sites_layer] if sites_layer else [], defaults=["sites"],
                                        option="--sites-layer", coords=coords))
        step(f"read {grids_path}")
        grids = join_inputs(read_inputs(grids_path, [grids_layer] if grids_layer else [],
                                        defaults=["grids"], option="--grids-layer"))
        step("draw the zones")
        try:
            drawn = patrol_zones(sites, radius=radius)
        except GridmapError as error:  # name the sites file (a bad --radius names itself)
            if error.record == "radius":
                raise
            raise error.at(sites_path) from error
        step("overlay the grids")
        coverage = zone_coverage(drawn, grids)
        if out is not None:
            step(f"write {out}")
            _write(coverage, out)
    summary = _summary(out, drawn, coverage)
    if as_json:
        table = json.loads(coverage.table.to_json(orient="records", force_ascii=False))
        click.echo(json.dumps({**summary, "table": table}, ensure_ascii=False, indent=2))
    elif out is not None:
        echo_wrote(out, _details(summary), quiet=quiet)
    elif not quiet:
        click.echo(_details(summary))


def _write(coverage: ZoneCoverage, out: Path) -> None:
    """Write the four layers to a temporary GeoPackage that replaces ``out`` at the end."""
    with staged_file(out) as staging:
        write_layer(coverage.zones, staging, "zones")
        write_layer(coverage.grids, staging, "grids", mode="a")
        write_layer(coverage.table, staging, "coverage", mode="a")
        write_layer(coverage.report.to_frame(), staging, "report", mode="a")


def _summary(out: Path | None, drawn: pd.DataFrame, coverage: ZoneCoverage) -> dict:
    """Say what was found: zones per kind, sites, grids, communities and streets entered, findings."""
    table, findings = coverage.table, coverage.report.to_frame()
    entered = {level: int(table.loc[table["level"] == level, "code"].nunique())
               for level in ("grid", "community", "street")}
    return {
        "out": None if out is None else str(out),
        "layers": list(LAYERS) if out is not None else [],
        "zones": len(drawn),
        "zones_by_kind": {str(k): int(n) for k, n in drawn["kind"].value_counts(sort=False).items()},
        "sites": int(drawn["n_sites"].sum()),
        "grids_entered": entered["grid"],
        "communities_entered": entered["community"],
        "streets_entered": entered["street"],
        "findings": json.loads(findings.to_json(orient="records", force_ascii=False)),
    }


def _details(summary: dict) -> str:
    kinds = ", ".join(f"{SITE_KIND_NAMES_ZH[k]} {n}" for k, n in summary["zones_by_kind"].items())
    checks = pd.Series([f["check"] for f in summary["findings"]], dtype=str).value_counts()
    found = ", ".join(f"{check} {n}" for check, n in checks.items()) or "none"
    return (f"{summary['zones']} zones ({kinds}) around {summary['sites']} sites entering "
            f"{summary['grids_entered']} grids, {summary['communities_entered']} communities, "
            f"{summary['streets_entered']} streets; findings: {found}")
