"""``gridmap stats``: measures per grid, community, street and district, to Excel, CSV or GeoPackage."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting
from gridmap.cli.options import (
    FiniteFloat,
    coords_option,
    echo_warnings,
    epilog,
    is_quiet,
    quiet_option,
    read_city,
)
from gridmap.schema import ROLLUP_LEVELS

__all__ = ["stats"]

_LEVELS = list(ROLLUP_LEVELS)
_SPLIT = (".csv", ".parquet")  # formats that hold one table: write_stats writes a file per level

_EXAMPLES = """
  # communities and up, per month, with the sample's cases and staff roster; Chinese headers
  gridmap stats demo/gridmap.gpkg --cases data/sample/cases.parquet --staff data/sample/staff.csv \\
      --by community --period month --out report.xlsx

  # for publication: small case counts hidden, English headers (cases and staff: the file's own layers)
  gridmap stats demo/gridmap.gpkg --by street --out public.xlsx --publish --lang en

  # in a script: the street table as JSON on stdout, streets and districts in the workbook
  gridmap -q stats demo/gridmap.gpkg --by street --out streets.xlsx --json > streets.json
"""


@click.command("stats", epilog=epilog(_EXAMPLES))
@click.argument("grids_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--layer", default=None, help="Grid layer of FILE [default: 'grids', or the only one].")
@click.option("--cases", "cases_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Cases (CSV, Excel, GeoJSON, GeoPackage, GeoParquet), with or without grid_code "
                   "[default: FILE's 'cases' layer, if any].")
@coords_option
@click.option("--staff", "staff_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Staff roster (grid_code, role, name, phone) [default: FILE's 'staff' table, if any].")
@click.option("--by", type=click.Choice(_LEVELS), default="community", show_default=True,
              help="Finest level written; every coarser level gets its own sheet too.")
@click.option("--period", type=click.Choice(["day", "week", "month"]), default=None,
              help="One row per unit and period, with 同比 and 环比.")
@click.option("--at", default=None,
              help="Reference time for open and overdue cases [default: latest case time].")
@click.option("--overdue-days", type=FiniteFloat(min=0, max=36_500, unit="days"), default=15,
              show_default=True,
              help="Open longer than this many days is overdue.")
@click.option("--on-time", type=FiniteFloat(min=0, max=8_760, unit="hours", words=("same_day",)),
              default="same_day", show_default=True,
              help="On-time acceptance: 'same_day' (接单不过夜) or a number of hours.")
@click.option("--publish", is_flag=True, help="Hide case counts below --threshold (and rates from them).")
@click.option("--threshold", type=click.IntRange(1, 1_000_000), default=5, show_default=True)
@click.option("--staff-contacts", is_flag=True, help="Add grid leaders' names and phones to the grid sheet.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of sheet names and headers.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output: .xlsx (one sheet per level), .gpkg (one layer per level), .csv or .parquet (one "
                   "file per level, OUT's name + _level, when there are several); written atomically.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the rows of the finest level (machine column names) and the files written as JSON "
                   "on stdout (also with --quiet).")
@quiet_option
@click.pass_context
def stats(ctx: click.Context, grids_path: str, layer: str | None, cases_path: str | None, coords: str | None,
          staff_path: str | None, by: str, period: str | None, at: str | None, overdue_days: float,
          on_time: str | float, publish: bool, threshold: int, staff_contacts: bool, lang: str, out: str,
          as_json: bool) -> None:
    """Households, population, area, cases, escalation, response and staffing per unit of FILE's grids."""
    from gridmap.stats.summary import summarize_levels, write_stats

    levels = _LEVELS[_LEVELS.index(by):]
    written = _files(Path(out), levels)
    refuse_overwriting({"FILE": grids_path, "--cases": cases_path, "--staff": staff_path},
                       {"--out" if len(written) == 1 else f"--out ({Path(name).name})": name
                        for name in written})
    quiet = is_quiet(ctx)
    with echo_warnings(quiet=quiet), Steps("stats", 3, quiet=quiet) as step:
        step(f"read {grids_path}")
        layers = read_city(grids_path, layer=layer, cases_path=cases_path, coords=coords,
                           staff_path=staff_path)
        names = [layers[name] for name in ("districts", "streets", "communities") if name in layers] or None
        step(f"figures per {', '.join(levels)}")
        tables = summarize_levels(layers["grids"], layers.get("cases"), layers.get("staff"), levels=levels,
                                  period=period, at=at, on_time=on_time, overdue_days=overdue_days,
                                  names=names, publish=publish, threshold=threshold,
                                  include_staff_contacts=staff_contacts)
        step(f"write {out}")
        write_stats(tables, out, lang=lang, grids=layers["grids"])
    files = _files(Path(out), levels)
    rows = {level: len(table) for level, table in tables.items()}
    if as_json:
        table = json.loads(tables[by].to_json(orient="records", date_format="iso", force_ascii=False))
        click.echo(json.dumps({"files": files, "rows": rows, "by": by, "period": period, "publish": publish,
                               "table": table}, ensure_ascii=False, indent=2))
        return
    counts = ", ".join(f"{level} {n}" for level, n in rows.items())
    others = f"; also {', '.join(files[1:])}" if len(files) > 1 else ""
    suppressed = ", small counts suppressed" if publish else ""
    echo_wrote(files[0], f"{counts} rows{others}{suppressed}", quiet=quiet)


def _files(out: Path, levels: list[str]) -> list[str]:
    """Return the files :func:`gridmap.stats.write_stats` writes for ``out``."""
    if out.suffix.lower() in _SPLIT and len(levels) > 1:
        return [str(out.with_name(f"{out.stem}_{level}{out.suffix}")) for level in levels]
    return [str(out)]
