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

from gridmap.cli import EXIT_OK, EXIT_VIOLATIONS
from gridmap.cli._output import Steps, counted
from gridmap.cli.options import (
    echo_warnings,
    epilog,
    is_quiet,
    join_inputs,
    json_option,
    quiet_option,
    read_inputs,
)
from gridmap.codes.registry import Registry
from gridmap.codes.scheme import SCHEMES, CodeScheme, get_scheme, parse, parse_many, validate
from gridmap.errors import ReadError, SchemaError
from gridmap.io import read_table
from gridmap.io.admin import read_division_codes

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


@click.group("codes", epilog=epilog("""
  gridmap codes parse 990102001001001
  gridmap codes validate demo/gridmap.gpkg
  gridmap codes history 990102001001001 --registry demo/registry.sqlite
  gridmap codes diff --registry demo/registry.sqlite --since 2025-01-01
""", exits="0 ok, 1 codes validate found invalid codes, 2 bad input"))
@quiet_option
def codes() -> None:
    """Grid codes (网格编码): parse, validate, and the history of a code registry."""


@codes.command("parse", epilog=epilog("""
  gridmap codes parse 990102001001001
      990102001001001: community 12 + sequence 3 = 15 digits, micro-grids + 2
        ...
        community_code  990102001001
        sequence        1
  gridmap codes parse 9901020010013007 --scheme type_digit --json
      {"code": "9901020010013007", ..., "grid_type": "dedicated", "sequence": 7, ...}
  gridmap codes parse 99010200100100     # exit 2: 14 digits, the message says which layout to use
""", exits="0 a valid code, 2 bad input (a malformed code)"))
@click.argument("code")
@scheme_option
@json_option
@quiet_option
@click.pass_context
def parse_command(ctx: click.Context, code: str, scheme: str, as_json: bool) -> None:
    """Split a grid code into its fields and the division codes it contains (exit 2 if malformed)."""
    fields = parse(code.strip(), scheme=scheme).to_dict()
    if as_json:
        click.echo(json.dumps(fields, ensure_ascii=False))
        return
    if is_quiet(ctx):
        return
    click.echo(f"{code.strip()}: {get_scheme(scheme).layout}")
    width = max(len(name) for name in fields)
    for name, value in fields.items():
        if value is not None:
            click.echo(f"  {name:<{width}}  {value}")


@codes.command("validate", epilog=epilog("""
  # every code of the demo's grids layer (column code or grid_code); exit 1 if any is invalid
  gridmap codes validate demo/gridmap.gpkg

  # in a script: every problem as JSON (an empty list here)
  gridmap -q codes validate demo/gridmap.gpkg --json > codes.json

  # also check that each community exists in the statistical division codes (统计用区划代码)
  gridmap codes validate 网格.xlsx --admin villages.csv.gz  # your files
""", exits="0 every code valid, 1 a code invalid or duplicated, 2 bad input"))
@click.argument("path", metavar="FILE", type=click.Path())
@click.option("--admin", "admin_path", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Statistical division codes (CSV such as villages.csv.gz): communities must exist there.")
@click.option("--layer", default=None, metavar="NAME",
              help="Layer of FILE [default: its only layer, else grids].")
@click.option("--column", default=None, metavar="NAME",
              help="Column of codes [default: code, else grid_code].")
@scheme_option
@json_option
@quiet_option
@click.pass_context
def validate_command(ctx: click.Context, path: str, admin_path: str | None, layer: str | None,
                     column: str | None, scheme: str, as_json: bool) -> None:
    """Check every grid code of a layer or table; exit 1 if any is invalid or duplicated."""
    quiet = is_quiet(ctx)
    steps = 2 + (admin_path is not None)
    with echo_warnings(quiet=quiet), Steps("codes validate", steps, quiet=quiet) as step:
        step(f"read {path}")
        frame = _read_codes(Path(path), layer)
        values = _code_column(frame, column, path)
        if admin_path is not None:
            step(f"read {admin_path}")
        admin = None if admin_path is None else read_division_codes(admin_path)
        step(f"check {len(values):,} codes")
        problems = _problems(values, admin, get_scheme(scheme))
    if as_json:
        click.echo(json.dumps({"file": path, "codes": len(values), "invalid": len(problems),
                               "problems": problems.to_dict(orient="records")}, ensure_ascii=False, indent=2))
    elif not quiet:
        if len(problems):
            click.echo(problems.head(SHOWN).to_string(index=False))
        if len(problems) > SHOWN:
            click.echo(f"... {len(problems) - SHOWN:,} more (--json lists them all)")
        result = f"{len(problems):,} invalid" if len(problems) else "all valid"
        click.echo(f"{path}: {counted(len(values), 'code')}, {result}")
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


@codes.command("history", epilog=epilog("""
  gridmap codes history 990102001001001 --registry demo/registry.sqlite
      version       date  event type n_units unit_ids parents children lineage
            1 2026-11-23 issued city       1    C0001      (the day gridmap demo first ran)
""", exits="0 shown, 2 bad input (no such registry or code)"))
@click.argument("code")
@registry_option
@json_option
@quiet_option
@click.pass_context
def history_command(ctx: click.Context, code: str, registry_path: str, as_json: bool) -> None:
    """Show everything that happened to a code: issue, changes, retirement, parents and children."""
    with Registry(registry_path, create=False) as registry:
        history = registry.history(code.strip())
    if as_json:
        click.echo(history.to_json(orient="records", force_ascii=False, indent=2))
    elif not is_quiet(ctx):
        click.echo(history.drop(columns="code").astype(object).fillna("").to_string(index=False))


@codes.command("diff", epilog=epilog("""
  # what changed since 1 January 2025 (versions issued on or after that date)
  gridmap codes diff --registry demo/registry.sqlite --since 2025-01-01

  # since version 1 (the versions after it), as JSON for a report
  gridmap codes diff --registry demo/registry.sqlite --since 1 --json > changes.json
""", exits="0 shown, 2 bad input (no such registry, a bad --since)"))
@registry_option
@click.option("--since", required=True, metavar="DATE|VERSION",
              help="An ISO date (versions issued on or after it) or a version number (the versions after "
                   "it).")
@json_option
@quiet_option
@click.pass_context
def diff_command(ctx: click.Context, registry_path: str, since: str, as_json: bool) -> None:
    """Codes added, retired, split, merged and changed since a date or version, per street and community."""
    with Registry(registry_path, create=False) as registry:
        diff = registry.diff(since)
    if as_json:
        click.echo(diff.to_json())
        return
    if is_quiet(ctx):
        return
    click.echo(repr(diff))
    streets = diff.by_street[diff.by_street.drop(columns="street_code").sum(axis=1) > 0]
    if len(streets):
        click.echo("\n" + streets.to_string(index=False))
        changes = diff.changes[["version", "date", "event", "code", "parents", "children", "lineage"]]
        click.echo("\n" + changes.head(SHOWN).to_string(index=False))
    if len(diff.changes) > SHOWN:
        click.echo(f"... {len(diff.changes) - SHOWN:,} more changes (--json lists them all)")
