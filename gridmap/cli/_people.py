"""What ``gridmap party`` and ``gridmap centres`` share: the ``--out`` formats and the findings as text.

Both commands end with a per-grid layer (a map layer: code, measures, a Chinese label, polygon) and a
:class:`~gridmap.findings.Report` with tables; ``--out`` writes them whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd

from gridmap.cli.check import _table
from gridmap.cli.options import join_inputs, read_inputs, staged_file
from gridmap.findings import Report
from gridmap.io import write_layer
from gridmap.io.write import write_workbook

__all__ = ["OUT_TYPES", "out_path", "grids_options", "read_grids", "write_result", "written", "findings_text",
           "SHOWN"]

#: Formats ``--out`` writes: a GeoPackage (layers), a workbook (sheets) or a CSV (the per-grid table).
OUT_TYPES = (".gpkg", ".xlsx", ".csv")
#: Findings printed at most (the JSON and --out hold all of them).
SHOWN = 30
_ORDER = {"error": 0, "warning": 1, "info": 2}


def out_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """Click callback of ``--out``: a .gpkg, .xlsx or .csv path, else a usage error naming the formats."""
    if value is not None and Path(value).suffix.lower() not in OUT_TYPES:
        raise click.BadParameter(f"{value!r}: write to a {', '.join(OUT_TYPES)} file", ctx=ctx, param=param)
    return None if value is None else Path(value)


def grids_options(command: Callable) -> Callable:
    """Add ``--grids FILE`` and ``--grids-layer NAME`` (the layer the people checks measure against)."""
    command = click.option("--grids-layer", default=None, metavar="NAME",
                           help="Layer of the grids file [default: its only layer, else 'grids'].")(command)
    return click.option("--grids", "grids_path", required=True, type=click.Path(), metavar="FILE",
                        help="Grids: code (网格编码), community_code, polygon; "
                             "e.g. demo/gridmap.gpkg.")(command)


def read_grids(path: str, layer: str | None, coords: str | None) -> gpd.GeoDataFrame:
    """Read ``--grids``: the named layer, the only one, else ``grids``."""
    return join_inputs(read_inputs(path, [layer] if layer else [], defaults=["grids"], option="--grids-layer",
                                   coords=coords))


def write_result(out: Path, grids: gpd.GeoDataFrame, report: Report, tables: list[str]) -> None:
    """Write the per-grid layer, the findings and the report's ``tables`` to ``out`` atomically.

    GeoPackage: layers ``grids`` (polygons), ``findings`` and one per table; workbook: the same as sheets
    (the grids without geometry); CSV: the per-grid table alone.
    """
    plain = pd.DataFrame(grids.drop(columns=grids.geometry.name))
    with staged_file(out) as staging:
        if out.suffix.lower() == ".csv":
            write_layer(plain, staging)
            return
        layers = {"findings": _findings(report), **{name: report.tables[name] for name in tables}}
        if out.suffix.lower() == ".xlsx":  # at once: each sheet added to a workbook reads and saves it whole
            write_workbook({"grids": plain, **layers}, staging)
            return
        write_layer(grids, staging, "grids")
        for name, layer in layers.items():
            write_layer(layer, staging, name, mode="a")


def _findings(report: Report) -> pd.DataFrame:
    """Return the findings with text columns as text, so that an empty or mixed column writes anywhere."""
    frame = report.to_frame()
    return frame.astype({c: str for c in ("check", "severity", "record", "message") if c in frame.columns}) \
        if not frame.empty else pd.DataFrame({c: pd.Series(dtype=str) for c in frame.columns})


def written(out: Path, tables: list[str]) -> str:
    """Say what ``--out`` holds, for the summary line."""
    if out.suffix.lower() == ".csv":
        return "the per-grid table"
    kind = "layers" if out.suffix.lower() == ".gpkg" else "sheets"
    return f"{kind} {', '.join(['grids', 'findings', *tables])}"


def findings_text(report: Report) -> list[str]:
    """Up to :data:`SHOWN` findings, errors first, as aligned text; then the report's one-line verdict."""
    lines = findings_table(report, shown=SHOWN)
    return [*lines, "", report.summary()] if lines else [report.summary()]


def findings_table(report: Report, *, shown: int, unit_column: str | None = None) -> list[str]:
    """Up to ``shown`` findings, errors first, as aligned text lines ([] without findings).

    The unit column is ``unit_column`` where the findings have it (headed "unit"), else ``record``.
    """
    findings = report.to_frame()
    if findings.empty:
        return []
    order = findings["severity"].map(_ORDER).sort_values(kind="stable").index
    first = findings.loc[order[:shown]]
    by_unit = unit_column is not None
    units = first[unit_column] if by_unit and unit_column in first.columns else first["record"]
    rows = [[row.severity, row.check, "" if pd.isna(unit) else str(unit), row.message]
            for row, unit in zip(first.itertuples(), units, strict=True)]
    lines = _table(["severity", "check", "unit" if by_unit else "record", "message"], rows)
    if len(findings) > shown:
        lines.append(f"... {len(findings) - shown} more findings (--json or --out FILE lists them all)")
    return lines
