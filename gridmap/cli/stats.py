"""``gridmap stats``: measures per grid, community, street and district, to Excel, CSV or GeoPackage."""

from __future__ import annotations

import click

__all__ = ["stats"]

_LEVELS = ["grid", "community", "street", "district"]


def _on_time(value: str):
    if value == "same_day":
        return value
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter("give 'same_day' or a number of hours, e.g. 24",
                                 param_hint="--on-time") from None


@click.command("stats", epilog="""
\b
Examples:
  # communities and up, per month, with cases and the staff roster, Chinese headers
  gridmap stats city.gpkg --cases cases.csv --coords gcj02 --staff staff.xlsx \\
      --by community --period month --out report.xlsx
  # for publication: small case counts hidden, English headers
  gridmap stats city.gpkg --cases cases.csv --by street --out public.xlsx --publish --lang en
""")
@click.argument("grids_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--layer", default=None, help="Grid layer of FILE [default: 'grids', or the only one].")
@click.option("--cases", "cases_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Cases (CSV, Excel, GeoJSON, GeoPackage, GeoParquet), with or without grid_code.")
@click.option("--coords", type=click.Choice(["wgs84", "cgcs2000", "gcj02", "bd09"]), default=None,
              help="What the case coordinates are (GCJ-02/BD-09 are converted).")
@click.option("--staff", "staff_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Staff roster (grid_code, role, name, phone).")
@click.option("--by", type=click.Choice(_LEVELS), default="community", show_default=True,
              help="Finest level written; every coarser level gets its own sheet too.")
@click.option("--period", type=click.Choice(["day", "week", "month"]), default=None,
              help="One row per unit and period, with 同比 and 环比.")
@click.option("--at", default=None,
              help="Reference time for open and overdue cases [default: latest case time].")
@click.option("--overdue-days", type=float, default=15, show_default=True,
              help="Open longer than this many days is overdue.")
@click.option("--on-time", default="same_day", show_default=True,
              help="On-time acceptance: 'same_day' (接单不过夜) or a number of hours.")
@click.option("--publish", is_flag=True, help="Hide case counts below --threshold (and rates from them).")
@click.option("--threshold", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--staff-contacts", is_flag=True, help="Add grid leaders' names and phones to the grid sheet.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of sheet names and headers.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output: .xlsx (one sheet per level), .csv, .parquet or .gpkg (written atomically).")
@click.pass_context
def stats(ctx: click.Context, grids_path: str, layer: str | None, cases_path: str | None, coords: str | None,
          staff_path: str | None, by: str, period: str | None, at: str | None, overdue_days: float,
          on_time: str, publish: bool, threshold: int, staff_contacts: bool, lang: str, out: str) -> None:
    """Households, population, area, cases, escalation, response and staffing per unit of FILE's grids."""
    from gridmap.cases import read_cases
    from gridmap.cli.cases import read_named_layer
    from gridmap.io import list_layers, read_layer
    from gridmap.staffing import read_staff
    from gridmap.stats import summarize_levels, write_stats

    grids = read_named_layer(grids_path, layer, "grids")
    cases = read_cases(cases_path, coords=coords) if cases_path else None
    staff = read_staff(staff_path) if staff_path else None
    admin = [name for name in ("districts", "streets", "communities") if name in list_layers(grids_path)]
    names = [read_layer(grids_path, name) for name in admin] or None
    levels = _LEVELS[_LEVELS.index(by):]
    tables = summarize_levels(grids, cases, staff, levels=levels, period=period, at=at,
                              on_time=_on_time(on_time), overdue_days=overdue_days, names=names,
                              publish=publish, threshold=threshold, include_staff_contacts=staff_contacts)
    write_stats(tables, out, lang=lang, grids=grids)
    if not (ctx.obj or {}).get("quiet"):
        rows = ", ".join(f"{level} {len(table)}" for level, table in tables.items())
        click.echo(f"wrote {out} ({rows} rows{', small counts suppressed' if publish else ''})")
