"""``gridmap circles``: 15-minute walking circles (15分钟服务圈) around service centres.

Reads the centres and, optionally, a road or footpath network, draws the areas reached on foot with
:func:`gridmap.fieldwork.service_circles` (straight-line discs with a caveat without a network) and, with
``--units``, counts the households and population inside them per community with
:func:`gridmap.fieldwork.circle_coverage`. ``--out`` writes one GeoPackage with the layers ``circles``
and, with units, ``communities`` (per community and minutes; polygons with ``--communities``),
``circle_counts`` (per circle and community), ``outside`` (compounds and villages outside every circle) and
``report``, replacing the file only when everything succeeded.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd

from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting
from gridmap.cli.options import (
    COORDS,
    FiniteFloat,
    echo_warnings,
    epilog,
    is_quiet,
    join_inputs,
    json_option,
    quiet_option,
    read_inputs,
    staged_file,
)
from gridmap.cli.zones import optional_gpkg
from gridmap.fieldwork import CircleCoverage, circle_coverage, service_circles
from gridmap.io import write_layer
from gridmap.schema import WALK_MINUTES, WALK_OFF_M, WALK_SPEED_KMH

__all__ = ["circles", "parse_minutes"]

_EXAMPLES = """
  # the sample city's service centres along its footpaths; households reached per community
  gridmap circles --centres data/sample/centres.gpkg --roads data/sample/footpaths.gpkg \\
      --units data/sample/sample_city.gpkg --communities data/sample/sample_city.gpkg --out circles.gpkg

  # no network: straight-line circles (with a caveat) of 10 and 20 minutes at 4 km/h, as JSON
  gridmap -q circles --centres data/sample/centres.gpkg --minutes 10,20 --speed 4 \\
      --units data/sample/sample_city.gpkg --json > circles.json

  # your centres (服务中心名称, 经度, 纬度 from Amap: GCJ-02) and your road centre lines
  gridmap circles --centres 服务中心.xlsx --coords gcj02 --roads roads.shp --out circles.gpkg  # your files
"""


def parse_minutes(ctx: click.Context | None, param: click.Parameter | None, value: str) -> tuple[float, ...]:
    """Parse ``5,10,15`` into minutes (positive numbers, at most a day); the callback of ``--minutes``.

    Examples
    --------
    >>> parse_minutes(None, None, "5，10, 15")
    (5.0, 10.0, 15.0)
    """
    minutes = []
    for part in str(value).replace("，", ",").split(","):
        try:
            number = float(part)
        except ValueError:
            number = float("nan")
        if not 0 < number <= 1440:
            raise click.BadParameter(f"expected minutes such as 5,10,15 (each above 0, at most 1440), got "
                                     f"{value!r}", ctx=ctx, param=param)
        minutes.append(number)
    return tuple(minutes)


@click.command("circles", epilog=epilog(_EXAMPLES, exits="0 done (findings are warnings), 2 bad input"))
@click.option("--centres", "centres_path", required=True, type=click.Path(), metavar="FILE",
              help="Service centres: optional centre_id (编号) and name (名称); points or outlines.")
@click.option("--centres-layer", default=None, metavar="NAME",
              help="Layer of the centres file [default: its only layer, else 'centres'].")
@click.option("--roads", "roads_path", type=click.Path(), default=None, metavar="FILE",
              help="Roads and footpaths (lines) walked along [default: none: straight-line circles, with a "
                   "caveat].")
@click.option("--roads-layer", default=None, metavar="NAME",
              help="Layer of the roads file [default: its only layer, else 'footpaths', else 'roads'].")
@click.option("--minutes", default=",".join(map(str, WALK_MINUTES)), show_default=True,
              callback=parse_minutes, metavar="M,M,…", help="Walking times drawn.")
@click.option("--speed", "speed_kmh", type=FiniteFloat(min=0.1, max=30, unit="km/h"), default=WALK_SPEED_KMH,
              show_default=True, metavar="KMH", help="Walking speed.")
@click.option("--walk-off", "walk_off_m", type=FiniteFloat(min=0.1, max=1000, unit="m"), default=WALK_OFF_M,
              show_default=True, metavar="METRES",
              help="How far off the reached paths the reached area extends.")
@click.option("--units", "units_path", type=click.Path(), default=None, metavar="FILE",
              help="Base units (compounds, villages): households (户数), population (人口), community_code; "
                   "their households and population inside the circles are counted.")
@click.option("--units-layer", "units_layers", multiple=True, metavar="NAME",
              help="Layer of the units file; repeat to read several [default: its only layer, else 'units' "
                   "and 'unit_points'].")
@click.option("--communities", "communities_path", type=click.Path(), default=None, metavar="FILE",
              help="Community polygons (code, name): units are placed by them and the share of each "
                   "community's area covered is measured.")
@click.option("--communities-layer", default=None, metavar="NAME",
              help="Layer of the communities file [default: its only layer, else 'communities'].")
@click.option("--coords", type=click.Choice(COORDS), default=None,
              help="Coordinate system the inputs are really in: gcj02 (Amap, Tencent) and bd09 (Baidu) are "
                   "shifted on load [default: their own].")
@click.option("--out", type=click.Path(dir_okay=False), callback=optional_gpkg, default=None,
              metavar="FILE.gpkg", help="GeoPackage to write: the layers listed above (replaced whole).")
@json_option
@quiet_option
@click.pass_context
def circles(ctx: click.Context, centres_path: str, centres_layer: str | None, roads_path: str | None,
            roads_layer: str | None, minutes: tuple[float, ...], speed_kmh: float, walk_off_m: float,
            units_path: str | None, units_layers: tuple[str, ...], communities_path: str | None,
            communities_layer: str | None, coords: str | None, out: Path | None, as_json: bool) -> None:
    """Draw the areas reached on foot from service centres in 5, 10 and 15 minutes (15分钟服务圈).

    Along the roads and footpaths when given (the shortest walks over the noded network, the reached paths
    buffered by the walk-off), else as straight-line circles of radius speed × minutes with a caveat. With
    --units: households and population inside per community, and the compounds outside every circle.
    """
    refuse_overwriting({"--centres": centres_path, "--roads": roads_path, "--units": units_path,
                        "--communities": communities_path}, {"--out": out})
    quiet = is_quiet(ctx)
    steps = 2 + (roads_path is not None) + 2 * (units_path is not None) + (out is not None)
    with echo_warnings(quiet=quiet), Steps("circles", steps, quiet=quiet) as step:
        step(f"read {centres_path}")
        centres = _read(centres_path, [centres_layer] if centres_layer else [], ["centres"],
                        "--centres-layer", coords)
        roads = None
        if roads_path is not None:
            step(f"read {roads_path}")
            roads = _read(roads_path, [roads_layer] if roads_layer else [], ["footpaths", "roads"],
                          "--roads-layer", coords, first=True)
        step("walk")
        drawn = service_circles(centres, roads, minutes=minutes, speed_kmh=speed_kmh, walk_off_m=walk_off_m)
        coverage = None
        if units_path is not None:
            step(f"read {units_path}")
            units = _read(units_path, list(units_layers), ["units", "unit_points"], "--units-layer", coords)
            communities = None if communities_path is None else _read(
                communities_path, [communities_layer] if communities_layer else [], ["communities"],
                "--communities-layer", coords)
            step("count households")
            coverage = circle_coverage(drawn, units, communities=communities)
        if out is not None:
            step(f"write {out}")
            _write(drawn, coverage, out)
    summary = _summary(out, drawn, coverage)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    elif out is not None:
        echo_wrote(out, _details(summary), quiet=quiet)
    elif not quiet:
        click.echo(_details(summary))


def _read(path: str, layers: list[str], defaults: list[str], option: str, coords: str | None, *,
          first: bool = False) -> gpd.GeoDataFrame:
    """Read the layers of a file as one frame; ``first``: only the first default layer the file holds."""
    inputs = read_inputs(path, layers, defaults=defaults, option=option, coords=coords)
    return join_inputs(inputs[:1] if first else inputs)


def _write(drawn: gpd.GeoDataFrame, coverage: CircleCoverage | None, out: Path) -> None:
    """Write the circles (and the counts, the units outside and the findings) to ``out`` at once."""
    with staged_file(out) as staging:
        write_layer(drawn, staging, "circles")
        if coverage is not None:
            write_layer(coverage.communities, staging, "communities", mode="a")
            write_layer(coverage.circles, staging, "circle_counts", mode="a")
            if len(coverage.outside):
                write_layer(coverage.outside, staging, "outside", mode="a")
            write_layer(coverage.report.to_frame(), staging, "report", mode="a")


def _summary(out: Path | None, drawn: gpd.GeoDataFrame, coverage: CircleCoverage | None) -> dict:
    """Say what was drawn and counted: circles, method, caveat, communities and households reached."""
    summary: dict = {
        "out": None if out is None else str(out),
        "centres": int(drawn["centre_id"].nunique()),
        "minutes": sorted(float(m) for m in drawn["minutes"].unique()),
        "circles": len(drawn),
        "method": str(drawn["method"].iloc[0]),
        "caveat": str(drawn["caveat"].iloc[0]),
    }
    if coverage is None:
        return summary
    table = coverage.communities.drop(columns="geometry", errors="ignore")
    findings = coverage.report.to_frame()
    return {**summary,
            "households_in": {f"{m:g}": round(float(group["households_in"].sum()))
                              for m, group in table.groupby("minutes")},
            "households": int(table.loc[table["minutes"] == table["minutes"].max(), "households"].sum()),
            "outside": len(coverage.outside),
            "communities": json.loads(pd.DataFrame(table).to_json(orient="records", force_ascii=False)),
            "findings": json.loads(findings.to_json(orient="records", force_ascii=False))}


def _details(summary: dict) -> str:
    way = "along the network" if summary["method"] == "network" else "straight-line (no network)"
    text = (f"{summary['circles']} circles ({summary['centres']} centres × "
            f"{', '.join(f'{m:g}' for m in summary['minutes'])} minutes, {way})")
    if "households_in" not in summary:
        return text
    reached = ", ".join(f"{m} min {n:,}" for m, n in summary["households_in"].items())
    return (f"{text}; households reached of {summary['households']:,}: {reached}; "
            f"{summary['outside']} compounds outside every circle")
