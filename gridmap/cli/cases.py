"""``gridmap cases``: put cases (事件) in grids."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
import pandas as pd

from gridmap.cli._output import Steps, counted, echo_wrote, refuse_overwriting
from gridmap.cli.options import (
    coords_option,
    echo_warnings,
    epilog,
    is_quiet,
    json_option,
    quiet_option,
    read_named_layer,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["cases"]

_SHOWN = 5  # findings listed one per line after the summary of cases assign


@click.group(epilog=epilog("""
  gridmap cases assign data/sample/cases.parquet --grids demo/gridmap.gpkg --out cases_in_grids.gpkg
"""))
@quiet_option
def cases() -> None:
    """Cases (事件/案件): read them, locate them, put each in exactly one grid."""


@cases.command("assign", epilog=epilog("""
  # the sample's 20,000 cases into the demo's grids
  gridmap cases assign data/sample/cases.parquet --grids demo/gridmap.gpkg --out cases_in_grids.gpkg

  # the same as a table for Excel users, the summary as JSON
  gridmap cases assign data/sample/cases.parquet --grids demo/gridmap.gpkg --out cases.csv --json

  # cases geocoded by Amap (GCJ-02) into the grids layer of a GeoPackage
  gridmap cases assign cases.csv --grids city.gpkg --coords gcj02 --out cases_in_grids.gpkg  # your files

  # a 12345 export with addresses (地址) and no coordinates, matched to the demo's units (names, 别名, 地址)
  gridmap cases assign 12345.xlsx --grids demo/gridmap.gpkg --by-address 地址 --out cases.gpkg  # your files

  # the same with a gazetteer of your own (compound names, aliases and addresses)
  gridmap cases assign cases.csv --grids city.gpkg --by-address 发生地址 --gazetteer units.gpkg \\
      --out cases.gpkg  # your files
""", exits="0 written (cases outside every grid are reported), 2 bad input"))
@click.argument("cases_path", metavar="CASES", type=click.Path(exists=True, dir_okay=False))
@click.option("--grids", "grids_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Grid layer (GeoPackage, GeoJSON, GeoParquet, Shapefile) with code and community_code.")
@click.option("--layer", default=None, help="Layer of the grids file [default: 'grids', or the only one].")
@coords_option
@click.option("--units", "units_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Base units to locate cases by compound name or id [layer 'units' of a GeoPackage].")
@click.option("--by-address", "address", metavar="COLUMN", default=None,
              help="Locate cases without coordinates by the address or compound name in COLUMN (地址, 小区); "
                   "ambiguous and unmatched addresses are reported, never assigned.")
@click.option("--gazetteer", "gazetteer_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Units to match addresses to (name, 别名, 地址, 街道) [default: --units, else the 'units' "
                   "layer of --grids]; its districts/streets/communities layers' names are stripped from "
                   "addresses.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output file: .gpkg, .parquet, .geojson, .csv or .xlsx (written atomically).")
@click.option("--strict", is_flag=True, help="Fail on the first bad case or case outside every grid.")
@click.option("--save-index", is_flag=True,
              help="Also save the grids' index beside them (GRIDS.gridindex) for the next runs.")
@json_option
@quiet_option
@click.pass_context
def assign_command(ctx: click.Context, cases_path: str, grids_path: str, layer: str | None,
                   coords: str | None, units_path: str | None, address: str | None,
                   gazetteer_path: str | None, out: str, strict: bool, save_index: bool,
                   as_json: bool) -> None:
    """Put every case of CASES in exactly one grid and write them with grid_code and community_code.

    A case on a boundary shared by grids goes to the grid with the smallest code; a case outside every
    grid keeps an empty grid_code and gets outside_m, its distance to the nearest grid in metres.
    With --by-address, cases without coordinates are matched by address (normalised, exact, then fuzzy
    within their district or street) and get address_match, address_score and match_kind. An index saved
    beside the grids (--save-index) is used while the grids are unchanged.
    """
    from gridmap.cases import assign, read_cases
    from gridmap.cases.address import MATCH_KINDS
    from gridmap.findings import Report
    from gridmap.io import write_layer

    refuse_overwriting({"CASES": cases_path, "--grids": grids_path, "--units": units_path,
                        "--gazetteer": gazetteer_path}, {"--out": out})
    quiet = is_quiet(ctx)
    with echo_warnings(quiet=quiet), Steps("cases assign", 4, quiet=quiet) as step:
        step(f"read {grids_path}")
        grids = read_named_layer(grids_path, layer, "grids")
        units = read_named_layer(units_path, None, "units") if units_path else None
        if address is not None:
            units = _gazetteer(gazetteer_path, units_path, grids_path, units)
        step(f"read {cases_path}")
        report = Report("cases")
        admin = _admin_names(gazetteer_path or units_path or grids_path) if address is not None else []
        located = read_cases(cases_path, coords=coords, units=units, address=address, admin_names=admin,
                             strict=strict, report=report)
        step(f"put {len(located):,} cases in {len(grids):,} grids")
        result = assign(located, _grid_index(grids, grids_path, layer, save=save_index), strict=strict,
                        report=report)
        step(f"write {out}")
        write_layer(result, out)
    checks = report.to_frame()["check"].value_counts() if len(report) else {}
    summary = {"out": out, "cases": len(result), "in_grids": int(result["grid_code"].notna().sum()),
               "outside": int(result["outside_m"].notna().sum()),
               "without_location": int(result.geometry.isna().sum()),
               "findings_by_check": {str(check): int(n) for check, n in checks.items()}}
    if address is not None:
        kinds = result["match_kind"].value_counts()
        summary["by_address"] = {kind: int(kinds.get(kind, 0)) for kind in MATCH_KINDS}
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    if len(report) and not quiet:
        click.echo(_kept_summary(report, cases_path, out), err=True)
    echo_wrote(out, f"{counted(len(result), 'case')}: {summary['in_grids']} in grids, "
                    f"{summary['outside']} outside every grid, {summary['without_location']} without "
                    "location", quiet=quiet)


def _kept_summary(report, cases_path: str, out: str) -> str:
    """Say what was found and that every case was kept (the reason the command still succeeds)."""
    frame = report.to_frame()
    parts = ", ".join(f"{check} {n}" for check, n in frame["check"].value_counts().items())
    lines = [f"cases: {cases_path}: {len(frame)} findings ({parts}); every case is kept in {out}: a bad "
             "value is left empty and a case without location has no grid_code. Correct these records in the "
             "source, or pass --strict to stop at the first one:"]
    for row in frame.head(_SHOWN).itertuples():
        where = f"row {int(row.row)}, " if "row" in frame.columns and pd.notna(row.row) else ""
        lines.append(f"  {where}{row.record}: {row.message}")
    if len(frame) > _SHOWN:
        lines.append(f"  … and {len(frame) - _SHOWN} more")
    return "\n".join(lines)


def _grid_index(grids, grids_path: str, layer: str | None, *, save: bool):
    """Return the index saved beside the grids when fresh, a new one when asked to save it, else the grids.

    A stale or unreadable index is left alone (and rebuilt with --save-index): assignment never uses it.
    """
    from gridmap.cases.gridindex import GridIndex, index_path
    from gridmap.errors import ReadError

    path = index_path(grids_path, layer)
    if path.exists() and not save:
        try:
            return GridIndex.load(path, grids=grids)
        except ReadError:
            return grids
    if save:
        index = GridIndex(grids)
        index.save(path)
        return index
    return grids


def _gazetteer(gazetteer_path: str | None, units_path: str | None, grids_path: str,
               units: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Return the units to match addresses to: --gazetteer, else --units, else the grids file's units."""
    from gridmap.io import list_layers

    if gazetteer_path is not None:
        return read_named_layer(gazetteer_path, None, "units")
    if units is not None:
        return units
    if "units" in list_layers(grids_path):
        return read_named_layer(grids_path, "units", "units")
    raise click.UsageError(f"--by-address needs units to match addresses to, and {grids_path} has no "
                           "'units' layer: give --gazetteer units.gpkg (or --units)")


def _admin_names(path: str) -> list[str]:
    """Return the names of the districts, streets and communities layers of ``path``, when it has them."""
    from gridmap.io import list_layers, read_layer

    layers = [name for name in ("districts", "streets", "communities") if name in list_layers(path)]
    return [str(n) for layer in layers for n in read_layer(path, layer).get("name", []) if isinstance(n, str)]
