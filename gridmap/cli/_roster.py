"""What ``gridmap staffing`` and ``gridmap liaison`` share: reading grids and units, showing findings.

Both print the findings of a :class:`~gridmap.findings.Report` as a table (errors first, at most
:data:`SHOWN`), exit 1 when the report has errors, and write ``--out`` as CSV (the findings) or Excel (the
findings and the report's tables, one sheet each). Nothing they print or write names a person beyond what
:func:`gridmap.people.public_roster` allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import click
import pandas as pd

from gridmap.cli._people import findings_table
from gridmap.cli.options import read_named_layer, staged_file
from gridmap.findings import Report
from gridmap.io import list_layers, read_layer, read_table, write_layer
from gridmap.io.write import write_workbook

__all__ = ["read_grids", "read_units", "findings_text", "write_findings", "out_path", "SHOWN", "OUT_TYPES"]

#: Findings printed at most (``--json`` and ``--out`` hold all of them).
SHOWN = 50
#: What ``--out`` may be.
OUT_TYPES = (".csv", ".xlsx")
_TABLES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".xlsm", ".parquet")
#: The level of the units of each layer name ``--units`` reads from a GeoPackage.
UNIT_LAYERS = {"districts": "district", "streets": "street", "communities": "community",
               "microgrids": "micro", "buildings": "building"}


def out_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """Click callback of ``--out``: a .csv or .xlsx name, or a usage error."""
    if value is not None and Path(value).suffix.lower() not in OUT_TYPES:
        raise click.BadParameter(f"{value!r}: write the findings to a {' or '.join(OUT_TYPES)} file",
                                 ctx=ctx, param=param)
    return None if value is None else Path(value)


def read_grids(path: str, layer: str | None) -> pd.DataFrame:
    """Read the grids: a table (CSV, Excel, Parquet) or a layer of a file ('grids' when it has several)."""
    if Path(path).suffix.lower() in _TABLES:
        return read_table(path, sheet=layer)
    return read_named_layer(path, layer, "grids")


def read_units(paths: Sequence[str]) -> list[pd.DataFrame] | None:
    """Units of other levels: the admin, micro-grid and building layers of each file, or its one table."""
    frames: list[pd.DataFrame] = []
    for path in paths:
        if Path(path).suffix.lower() in _TABLES:
            frames.append(read_table(path))
            continue
        layers = list_layers(path)
        named: list[str | None] = [name for name in layers if name in UNIT_LAYERS]
        for name in named or [None]:
            frame = pd.DataFrame(read_layer(path, name).drop(columns="geometry", errors="ignore"))
            if name is not None:
                frame = _unit_layer(frame, UNIT_LAYERS[name])
            frames.append(frame)
    return frames or None


def _unit_layer(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    """Return a layer's units with their level; buildings are known by ``unit_id``."""
    if "code" not in frame.columns and "unit_id" in frame.columns:
        frame = frame.rename(columns={"unit_id": "code"})
    return frame.assign(level=level)[[c for c in ("code", "level", "name", "kind", "households")
                                      if c in frame.columns or c == "level"]]


def findings_text(report: Report, headline: str) -> str:
    """Format the findings for people: a table (errors first, :data:`SHOWN` at most), headline, verdict."""
    lines = findings_table(report, shown=SHOWN, unit_column="unit_code")
    return "\n".join([*lines, *([""] if lines else []), headline, report.summary()])


def write_findings(report: Report, out: Path, sheets: Mapping[str, pd.DataFrame]) -> str:
    """Write the findings (CSV) or the findings and ``sheets`` (Excel) whole; say what was written."""
    findings = report.to_frame()
    with staged_file(out) as staging:
        if out.suffix.lower() == ".csv":
            write_layer(findings, staging)
            return f"{len(findings):,} findings"
        write_workbook({"findings": findings, **sheets}, staging)  # at once: each added sheet re-saves it
    return f"{len(findings):,} findings; sheets findings, {', '.join(sheets)}"
