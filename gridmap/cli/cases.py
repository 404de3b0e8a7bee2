"""``gridmap cases``: put cases (事件) in grids."""

from __future__ import annotations

import click

__all__ = ["cases"]

_COORDS = ["wgs84", "cgcs2000", "gcj02", "bd09"]


def read_named_layer(path: str, layer: str | None, default: str):
    """Read ``layer`` of ``path``; without one, the layer called ``default`` when the file has several."""
    from gridmap.io import list_layers, read_layer

    if layer is None:
        layers = list_layers(path)
        if len(layers) > 1 and default in layers:
            layer = default
    return read_layer(path, layer)


@click.group(epilog="""
\b
Example:
  gridmap cases assign cases.csv --grids city.gpkg --coords gcj02 --out cases_in_grids.gpkg
""")
def cases() -> None:
    """Cases (事件/案件): read them, locate them, put each in exactly one grid."""


@cases.command("assign", epilog="""
\b
Examples:
  # cases geocoded by Amap (GCJ-02) into the grids layer of a GeoPackage
  gridmap cases assign cases.csv --grids city.gpkg --coords gcj02 --out cases_in_grids.gpkg
  # cases that name their compound (小区) instead of coordinates
  gridmap cases assign cases.xlsx --grids city.gpkg --units city.gpkg --out cases.csv
""")
@click.argument("cases_path", metavar="CASES", type=click.Path(exists=True, dir_okay=False))
@click.option("--grids", "grids_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Grid layer (GeoPackage, GeoJSON, GeoParquet, Shapefile) with code and community_code.")
@click.option("--layer", default=None, help="Layer of the grids file [default: 'grids', or the only one].")
@click.option("--coords", type=click.Choice(_COORDS), default=None,
              help="What the case coordinates are: GCJ-02 (Amap) and BD-09 (Baidu) are converted.")
@click.option("--units", "units_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Base units to locate cases by compound name or id [layer 'units' of a GeoPackage].")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output file: .gpkg, .parquet, .geojson, .csv or .xlsx (written atomically).")
@click.option("--strict", is_flag=True, help="Fail on the first bad case or case outside every grid.")
@click.pass_context
def assign_command(ctx: click.Context, cases_path: str, grids_path: str, layer: str | None,
                   coords: str | None, units_path: str | None, out: str, strict: bool) -> None:
    """Put every case of CASES in exactly one grid and write them with grid_code and community_code.

    A case on a boundary shared by grids goes to the grid with the smallest code; a case outside every
    grid keeps an empty grid_code and gets outside_m, its distance to the nearest grid in metres.
    """
    from gridmap.cases import assign, read_cases
    from gridmap.io import write_layer
    from gridmap.report import Report

    grids = read_named_layer(grids_path, layer, "grids")
    units = read_named_layer(units_path, None, "units") if units_path else None
    report = Report("cases")
    located = read_cases(cases_path, coords=coords, units=units, strict=strict, report=report)
    result = assign(located, grids, strict=strict, report=report)
    write_layer(result, out)
    if not (ctx.obj or {}).get("quiet"):
        placed, outside = int(result["grid_code"].notna().sum()), int(result["outside_m"].notna().sum())
        click.echo(f"{len(result)} cases: {placed} in grids, {outside} outside every grid, "
                   f"{int(result.geometry.isna().sum())} without location; wrote {out}")
        if len(report):
            click.echo(report.summary())
