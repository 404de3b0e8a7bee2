"""Check a city's existing grid layer, and crosswalk another department's grids onto it (多网合一).

Runs :func:`gridmap.check` (gaps, overlaps, slivers, community crossings, households out of range, codes)
on the grids a city already has, and with ``--other`` :func:`gridmap.crosswalk` of a department's grid
layer (urban management, party building, ...) onto them. Writes one GeoPackage of findings and prints a
summary.

Usage (from the project folder; demo/ is what ``gridmap demo --out demo`` writes)::

    # the demo's grids against the sample's communities (exit 0: they pass)
    python scripts/check_existing_grids.py demo/gridmap.gpkg --communities data/sample/sample_city.gpkg \\
        --out findings.gpkg

    # crosswalk another layer onto them: here the demo's communities stand for a department's grids
    python scripts/check_existing_grids.py demo/gridmap.gpkg --communities data/sample/sample_city.gpkg \\
        --other demo/gridmap.gpkg --other-layer communities --out crosswalk.gpkg

    # a city's own grids, and urban management's grids with their own code column
    python scripts/check_existing_grids.py 网格.shp --communities 社区.gpkg \\
        --other 城管网格.shp --other-code 单元网格编码 --households 300-500  # your files

The findings GeoPackage holds ``findings`` (one point per finding), ``gaps`` and ``overlaps`` (polygons),
``summary`` (counts per check) and, with ``--other``, ``crosswalk`` (one row per piece) and
``crosswalk_summary`` (one polygon per departmental grid: its best unified grid and relation). Exits 0
when the grids pass, 1 when the check found errors, 2 on bad input (the message names the file and fix).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gridmap._interrupt import run_script
from gridmap.cli._output import refuse_overwriting
from gridmap.cli.options import join_inputs, parse_households, read_inputs, staged_file
from gridmap.division.checks import check, coverage_gaps, coverage_overlaps
from gridmap.division.crosswalk import crosswalk, crosswalk_summary
from gridmap.errors import GridmapError, GridmapWarning, SchemaError
from gridmap.findings import Report
from gridmap.io import write_layer

__all__ = ["main", "check_existing"]


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("grids", type=Path, metavar="GRIDS_FILE", help="The city's existing grid layer.")
    parser.add_argument("--layer", default=None,
                        help="Grid layer of GRIDS_FILE [default: 'grids' or the only one].")
    parser.add_argument("--code-column", default=None,
                        help="Column of GRIDS_FILE holding the grid codes [default: 'code' or an alias].")
    parser.add_argument("--communities", required=True, type=Path, help="Communities (code, polygon).")
    parser.add_argument("--other", type=Path, default=None, help="Another department's grid layer.")
    parser.add_argument("--other-layer", default=None,
                        help="Layer of --other [default: 'grids' or the only one].")
    parser.add_argument("--other-code", default="code", help="Code column of --other [default: code].")
    parser.add_argument("--households", default="300-500", help="Range of a city grid [default: 300-500].")
    parser.add_argument("--out", type=Path, default=Path("findings.gpkg"),
                        help="Findings GeoPackage to write [default: findings.gpkg].")
    return parser.parse_args(argv)


def _read(path: Path, layer: str | None, default: str, option: str) -> gpd.GeoDataFrame:
    return join_inputs(read_inputs(path, [layer] if layer else [], defaults=[default], option=option))


def _with_codes(grids: gpd.GeoDataFrame, column: str | None, path: Path) -> gpd.GeoDataFrame:
    """Return the grids with their codes in ``code`` (as text)."""
    column = column or "code"
    if column not in grids.columns:
        raise SchemaError(f"no grid code column {column!r} (columns: {', '.join(map(str, grids.columns))})",
                          path=path, fix="name the code column with --code-column")
    codes = grids[column].astype("string")
    return grids.drop(columns=[column]).assign(code=codes.to_numpy(object))


def check_existing(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, *,
                   other: gpd.GeoDataFrame | None = None, other_code: str = "code",
                   households: tuple[int, int] = (300, 500)) -> tuple[Report, dict[str, pd.DataFrame]]:
    """Check ``grids`` and crosswalk ``other`` onto them; return the report and the layers to write."""
    report = check(grids, communities, households=households)
    findings = report.to_frame()
    if "lon" in findings.columns:
        points = gpd.points_from_xy(findings["lon"], findings["lat"], crs=grids.crs)
        points[findings["lon"].isna().to_numpy()] = None
    else:
        points = gpd.GeoSeries([None] * len(findings), crs=grids.crs)
    layers: dict[str, pd.DataFrame] = {
        "findings": gpd.GeoDataFrame(findings, geometry=points, crs=grids.crs),
        "gaps": coverage_gaps(grids, communities),
        "overlaps": coverage_overlaps(grids),
        "summary": report.tables["summary"],
    }
    if other is not None:
        table = crosswalk(grids, other, other_code=other_code)
        summary = crosswalk_summary(table)
        shapes = other[[other_code, other.geometry.name]].rename(columns={other_code: "other_code"})
        shapes = shapes.assign(other_code=shapes["other_code"].astype(str))
        layers["crosswalk"] = table
        layers["crosswalk_summary"] = shapes.merge(summary, on="other_code", how="right")
    return report, layers


def _print_summary(report: Report, layers: dict, out: Path) -> None:
    print(report.summary())
    counts = layers["summary"]
    for row in counts.loc[counts["count"] > 0].itertuples(index=False):
        print(f"  {row.check}: {row.count}")
    gaps, overlaps = layers["gaps"], layers["overlaps"]
    print(f"gaps: {len(gaps)} ({gaps['area_m2'].sum():,.0f} m²); overlaps: {len(overlaps)} "
          f"({overlaps['area_m2'].sum():,.0f} m²)")
    if "crosswalk_summary" in layers:
        relations = layers["crosswalk_summary"]["relation"].value_counts()
        print("departmental grids: " + ", ".join(f"{name} {n}" for name, n in relations.items()))
    print(f"wrote {out} ({', '.join(layers)})")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the script; return the exit code (0 ok, 1 errors found, 2 bad input)."""
    args = _parse(argv)
    try:
        households = parse_households(None, None, args.households)
    except Exception as error:  # click.BadParameter outside a click command
        print(f"check_existing_grids: error: --households: {error}", file=sys.stderr)
        return 2
    try:
        refuse_overwriting({"GRIDS_FILE": args.grids, "--communities": args.communities,
                            "--other": args.other}, {"--out": args.out})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridmapWarning)
            grids = _read(args.grids, args.layer, "grids", "--layer")
            grids = _with_codes(grids, args.code_column, args.grids)
            communities = _read(args.communities, None, "communities", "--communities")
            other = args.other and _read(args.other, args.other_layer, "grids", "--other-layer")
            report, layers = check_existing(grids, communities, other=other, other_code=args.other_code,
                                            households=households)
            with staged_file(args.out) as staging:
                for i, (name, frame) in enumerate(layers.items()):
                    write_layer(frame, staging, name, mode="w" if i == 0 else "a")
    except GridmapError as error:
        print(f"check_existing_grids: error: {error}", file=sys.stderr)
        return 2
    for warning in caught:
        print(f"check_existing_grids: warning: {warning.message}", file=sys.stderr)
    _print_summary(report, layers, args.out)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(run_script(main, prog="check_existing_grids"))
