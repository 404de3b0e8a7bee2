"""``gridmap codes``: read and check grid codes, and look into a code registry.

``parse`` splits one code into its fields; ``validate`` checks every code of a layer (exit 1 when any is
invalid or duplicated); ``history`` and ``diff`` read a :class:`~gridmap.codes.registry.Registry` file
without changing it. Bad input (an unreadable file, a malformed code given to ``parse``, a missing registry)
exits 2 with the message, as everywhere in gridmap.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pandas as pd

from gridmap.admin import read_division_codes
from gridmap.cli import EXIT_OK, EXIT_VIOLATIONS
from gridmap.cli.options import echo_warnings, join_inputs, json_option, read_inputs
from gridmap.codes.registry import Registry
from gridmap.codes.scheme import SCHEMES, CodeScheme, get_scheme, parse, parse_many, validate
from gridmap.errors import ReadError, SchemaError
from gridmap.io import read_table

__all__ = ["codes", "SHOWN"]

#: Invalid codes (or changes) printed at most; --json lists them all.
SHOWN = 50
_TABLES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet")

scheme_option = click.option("--scheme", type=click.Choice(list(SCHEMES)), default="default",
                             show_default=True,
                             help="Code layout: default (community 12 + sequence 3), type_digit (+ type "
                                  "digit), cjt349 (CJ/T 349, 20 digits).")
registry_option = click.option("--registry", "registry_path", required=True, metavar="FILE",
                               type=click.Path(dir_okay=False),
                               help="The code registry (SQLite file written by gridmap build --registry or "
                                    "gridmap.Registry).")


def _quiet(ctx: click.Context) -> bool:
    return bool((ctx.obj or {}).get("quiet"))


@click.group("codes", epilog="""
\b
Examples:
  gridmap codes parse 450102001003007
  gridmap codes validate grids.gpkg --admin villages_guangxi_45.csv
  gridmap codes history 450102001003007 --registry codes.sqlite
  gridmap codes diff --registry codes.sqlite --since 2025-01-01
""")
def codes() -> None:
    """Grid codes (网格编码): parse, validate, and the history of a code registry."""


@codes.command("parse", epilog="""
\b
Examples:
  gridmap codes parse 450102001003007
      community 450102001003, street 450102001, district 450102, sequence 7
  gridmap codes parse 4501020010033007 --scheme type_digit --json
      {"code": "4501020010033007", ..., "grid_type": "dedicated", "sequence": 7, ...}
""")
@click.argument("code")
@scheme_option
@json_option
def parse_command(code: str, scheme: str, as_json: bool) -> None:
    """Split a grid code into its fields and the division codes it contains (exit 2 if malformed)."""
    fields = parse(code.strip(), scheme=scheme).to_dict()
    if as_json:
        click.echo(json.dumps(fields, ensure_ascii=False))
        return
    click.echo(f"{code.strip()}: {get_scheme(scheme).layout}")
    width = max(len(name) for name in fields)
    for name, value in fields.items():
        if value is not None:
            click.echo(f"  {name:<{width}}  {value}")


@codes.command("validate", epilog="""
\b
Examples:
  # every code of the grids layer (column code or grid_code); exit 1 if any is invalid
  gridmap codes validate grids.gpkg
\b
  # also check that each community exists in the statistical division codes
  gridmap codes validate 网格.xlsx --admin ../shared/data/admin-codes/villages_guangxi_45.csv
\b
  # a staff roster's grid_code column, CJ/T 349 codes, all problems as JSON
  gridmap codes validate staff.csv --column grid_code --scheme cjt349 --json
""")
@click.argument("path", metavar="FILE", type=click.Path())
@click.option("--admin", "admin_path", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Statistical division codes (CSV such as villages.csv.gz): communities must exist there.")
@click.option("--layer", default=None, metavar="NAME",
              help="Layer of FILE [default: its only layer, else grids].")
@click.option("--column", default=None, metavar="NAME",
              help="Column of codes [default: code, else grid_code].")
@scheme_option
@json_option
@click.pass_context
def validate_command(ctx: click.Context, path: str, admin_path: str | None, layer: str | None,
                     column: str | None, scheme: str, as_json: bool) -> None:
    """Check every grid code of a layer or table; exit 1 if any is invalid or duplicated."""
    with echo_warnings(quiet=_quiet(ctx)):
        frame = _read_codes(Path(path), layer)
    values = _code_column(frame, column, path)
    admin = None if admin_path is None else read_division_codes(admin_path)
    problems = _problems(values, admin, get_scheme(scheme))
    if as_json:
        click.echo(json.dumps({"file": path, "codes": len(values), "invalid": len(problems),
                               "problems": problems.to_dict(orient="records")}, ensure_ascii=False, indent=2))
    elif not _quiet(ctx):
        click.echo(f"{path}: {len(values):,} codes, " + (f"{len(problems):,} invalid" if len(problems) else
                                                          "all valid"))
        if len(problems):
            click.echo(problems.head(SHOWN).to_string(index=False))
        if len(problems) > SHOWN:
            click.echo(f"... {len(problems) - SHOWN:,} more (--json lists them all)")
    ctx.exit(EXIT_VIOLATIONS if len(problems) else EXIT_OK)


def _read_codes(path: Path, layer: str | None) -> pd.DataFrame:
    """Read the layer with gridmap's readers; a table without coordinates (CSV, Excel) as a table."""
    try:
        return join_inputs(read_inputs(path, [layer] if layer else [], defaults=["grids"]))
    except ReadError:
        if path.suffix.lower() not in _TABLES or not path.is_file():
            raise
        return read_table(path, sheet=layer)


def _code_column(frame: pd.DataFrame, column: str | None, path: str) -> pd.Series:
    found = column or next((name for name in ("code", "grid_code") if name in frame.columns), None)
    if found not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise SchemaError(f"no column {found or 'code or grid_code'} (columns: {columns})",
                          path=path, fix="name the column of grid codes with --column")
    values = frame[found].astype(object)
    return values.where(values.notna(), None).reset_index(drop=True)


def _problems(values: pd.Series, admin: pd.DataFrame | None, scheme: CodeScheme) -> pd.DataFrame:
    """One row per invalid or duplicated code: ``row`` (1-based), ``code``, ``problem``."""
    text = pd.Series([v if isinstance(v, str) else None for v in values], dtype=object)
    parsed = parse_many(text, scheme=scheme, errors="coerce")
    bad = parsed["sequence"].isna().to_numpy()
    nearby = None
    if admin is not None:
        division = parsed["community_code"]
        if scheme.merged_community_start is not None:  # a merged community has no row: its street must exist
            merged = division.str.slice(9, 12) >= f"{scheme.merged_community_start:03d}"
            division = division.where(~merged.fillna(False), parsed["street_code"])
        bad = bad | ~division.isin(set(admin["code"])).to_numpy()
        nearby = admin[admin["code"].str.slice(0, 9).isin(set(parsed["street_code"][bad].dropna()))]
    rows = [(i + 1, values[i], validate(values[i], nearby, scheme=scheme)[0]) for i in np.flatnonzero(bad)]
    repeated = text.duplicated().to_numpy() & text.notna().to_numpy() & ~bad
    once = ~text.duplicated().to_numpy()
    first = dict(zip(text[once], np.flatnonzero(once) + 1, strict=True))
    rows += [(i + 1, values[i], f"duplicate of row {first[values[i]]}") for i in np.flatnonzero(repeated)]
    return pd.DataFrame(sorted(rows), columns=["row", "code", "problem"])


@codes.command("history", epilog="""
\b
Example:
  gridmap codes history 450102001003001 --registry codes.sqlite
      version       date   event type n_units unit_ids parents                        children lineage
            1 2025-01-06  issued city       2  C01;C02
            2 2025-06-02 retired                               450102001003003;450102001003004   split
""")
@click.argument("code")
@registry_option
@json_option
def history_command(code: str, registry_path: str, as_json: bool) -> None:
    """Show everything that happened to a code: issue, changes, retirement, parents and children."""
    with Registry(registry_path, create=False) as registry:
        history = registry.history(code.strip())
    if as_json:
        click.echo(history.to_json(orient="records", force_ascii=False, indent=2))
    else:
        click.echo(history.drop(columns="code").astype(object).fillna("").to_string(index=False))


@codes.command("diff", epilog="""
\b
Examples:
  # what changed since 1 January (versions issued on or after that date)
  gridmap codes diff --registry codes.sqlite --since 2025-01-01
\b
  # since version 3 (the versions after it), as JSON for a report
  gridmap codes diff --registry codes.sqlite --since 3 --json > changes.json
""")
@registry_option
@click.option("--since", required=True, metavar="DATE|VERSION",
              help="An ISO date (versions issued on or after it) or a version number (the versions after "
                   "it).")
@json_option
def diff_command(registry_path: str, since: str, as_json: bool) -> None:
    """Codes added, retired, split, merged and changed since a date or version, per street and community."""
    with Registry(registry_path, create=False) as registry:
        diff = registry.diff(since)
    if as_json:
        click.echo(diff.to_json())
        return
    click.echo(repr(diff))
    streets = diff.by_street[diff.by_street.drop(columns="street_code").sum(axis=1) > 0]
    if len(streets):
        click.echo("\n" + streets.to_string(index=False))
        changes = diff.changes[["version", "date", "event", "code", "parents", "children", "lineage"]]
        click.echo("\n" + changes.head(SHOWN).to_string(index=False))
    if len(diff.changes) > SHOWN:
        click.echo(f"... {len(diff.changes) - SHOWN:,} more changes (--json lists them all)")
