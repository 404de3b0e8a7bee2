"""``gridmap report``: the monthly batch job — cockpit, street maps, statistics and a summary in one folder.

The folder is staged (:func:`gridmap.cli._output.staged_folder`): a failure half-way writes nothing.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import click
import pandas as pd

from gridmap.cli._output import Steps, echo_wrote, refuse_overwriting, staged_folder
from gridmap.cli.options import (
    coords_option,
    echo_warnings,
    epilog,
    is_quiet,
    quiet_option,
    read_city,
    tile_source_of,
    tiles_input,
    tiles_options,
)
from gridmap.io._atomic import write_text
from gridmap.schema import ROLLUP_LEVELS

__all__ = ["report"]

_LEVELS = ROLLUP_LEVELS[1:]  # community, street, district
#: The files a report folder holds: an existing --out holding anything else is refused, not replaced.
OWNED = ("summary.md", "summary.html", "stats.xlsx", "cockpit.html", "maps/*.html")

_TEXT = {
    "zh": {
        "title": "网格化服务管理报告", "source": "数据", "made": "生成时间", "period": "统计期",
        "all": "全部事件", "overview": "概况", "streets": "各街道（乡镇）", "files": "文件",
        "grids": "网格数", "households": "户数", "population": "人口", "area_km2": "面积（平方千米）",
        "cases": "事件数", "cases_change_mom": "环比", "cases_change_yoy": "同比",
        "response_rate": "受理率", "on_time_rate": "接单不过夜率", "share_grid": "网格内办结占比",
        "households_per_worker": "专职网格员户数", "code": "编码", "name": "名称",
        "cockpit": "驾驶舱", "map": "地图", "stats": "统计表（Excel）", "summary": "本摘要",
        "public": "已隐藏小于 5 的事件数（公开版）。", "none": "—",
    },
    "en": {
        "title": "Grid management report", "source": "Data", "made": "Made", "period": "Period",
        "all": "every case", "overview": "Overview", "streets": "Streets and townships", "files": "Files",
        "grids": "Grids", "households": "Households", "population": "Population", "area_km2": "Area (km²)",
        "cases": "Cases", "cases_change_mom": "Change on previous period",
        "cases_change_yoy": "Change on a year before", "response_rate": "Response rate",
        "on_time_rate": "Accepted on time", "share_grid": "Settled in the grid",
        "households_per_worker": "Households per full-time worker", "code": "Code", "name": "Name",
        "cockpit": "Cockpit", "map": "Map", "stats": "Statistics (Excel)", "summary": "This summary",
        "public": "Case counts below 5 are hidden (public edition).", "none": "—",
    },
}
_SHARES = ("cases_change_mom", "cases_change_yoy", "response_rate", "on_time_rate", "share_grid")
_STREET_COLUMNS = ("code", "name", "n_grids", "households", "population", "cases", "cases_change_mom",
                   "response_rate", "on_time_rate", "share_grid", "households_per_worker")


_EXAMPLES = """
  # the monthly folder of the demo city (cases and staff: the file's own layers)
  gridmap report demo/gridmap.gpkg --out report

  # one street in English, with the sample's cases and staff roster; the summary as JSON
  gridmap report demo/gridmap.gpkg --out street --street 990102001 --lang en \\
      --cases data/sample/cases.parquet --staff data/sample/staff.csv --json > street.json

  # for publication: case counts below 5 hidden, no staff names or phones
  gridmap report demo/gridmap.gpkg --out public --publish

  # a chosen month (with 环比 and 同比), or any span of days as one period
  gridmap report demo/gridmap.gpkg --out 2025-06 --month 2025-06 --street 990102001
  gridmap report demo/gridmap.gpkg --out q1 --from 2025-01-01 --to 2025-03-31 --street 990102001

  # the maps on the office's own tiles (an MBTiles file cut from Gaode: GCJ-02)
  gridmap report city.gpkg --out report --tiles city.mbtiles --tiles-crs gcj02   # your files
"""


@click.command("report", epilog=epilog(_EXAMPLES))
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder to write (created if needed).")
@click.option("--cases", "cases_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Cases file [default: FILE's 'cases' layer, if any].")
@coords_option
@click.option("--staff", "staff_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Staff roster [default: FILE's 'staff' layer, if any].")
@click.option("--street", default=None, metavar="CODE", help="Report on one street (9-digit code) alone.")
@click.option("--period", type=click.Choice(["day", "week", "month"]), default="month", show_default=True,
              help="Statistics per period, with 环比 and 同比; the summary and cockpit show the latest one.")
@click.option("--month", default=None, metavar="YYYY-MM",
              help="Report this month (statistics per month up to it, with 环比 and 同比) "
                   "[default: the latest].")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
              help="Report the cases reported from this day on, as one period (with --to).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
              help="Report the cases reported up to this day, included, as one period (with --from).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--publish", is_flag=True,
              help="For publication: case counts below 5 hidden, no heat map, no staff names or phones.")
@click.option("--title", default=None, help="Title of the cockpit and the summary.")
@tiles_options
@click.option("--json", "as_json", is_flag=True,
              help="Print the files written and the summary's street table (latest period, machine column "
                   "names) as JSON on stdout (also with --quiet).")
@quiet_option
@click.pass_context
def report(ctx: click.Context, path: str, out: str, cases_path: str | None, coords: str | None,
           staff_path: str | None, street: str | None, period: str, month: str | None,
           start: dt.datetime | None, end: dt.datetime | None, lang: str, publish: bool,
           title: str | None, tiles: str | None, tiles_crs: str | None, as_json: bool) -> None:
    """Write the report folder of FILE (what `gridmap build` or `gridmap demo` writes).

    OUT gets cockpit.html (map, headline figures, cases by month), maps/<street code>.html (one map per
    street), stats.xlsx (community, street and district sheets) and summary.md / summary.html.
    """
    source = tile_source_of(tiles, tiles_crs)
    refuse_overwriting({"FILE": path, "--cases": cases_path, "--staff": staff_path, **tiles_input(source)},
                       {}, folders={"--out": out})
    explicit_period = ctx.get_parameter_source("period") is not click.core.ParameterSource.DEFAULT
    window = _window(month, start, end, period=period, explicit_period=explicit_period)
    quiet = is_quiet(ctx)
    with echo_warnings(quiet=quiet), Steps("report", 1, quiet=quiet) as step:
        step(f"read {path}")
        layers = read_city(path, cases_path=cases_path, coords=coords, staff_path=staff_path)
        _require_grid_columns(layers["grids"], path)
        layers = _scoped(layers, street)
        layers, window = _chosen_cases(layers, window)
        with staged_folder(out, owned=OWNED, command="gridmap report") as staging:
            written = _write(layers, staging, step=step, source=path, window=window, lang=lang,
                             publish=publish, title=title, tiles=source)
    if as_json:
        click.echo(json.dumps({"out": out, **written}, ensure_ascii=False, indent=2))
        return
    maps = sum(name.startswith("maps/") for name in written["files"])
    pages = f"{maps} street map{'s' * (maps != 1)} in maps/"
    echo_wrote(f"{out}/", f"summary.md, summary.html, stats.xlsx, cockpit.html, {pages}"
                          f"{', small counts suppressed' if publish else ''}", quiet=quiet)


def _require_grid_columns(grids, path: str) -> None:
    """Refuse grids without the codes a report is organised by (grid code, community code)."""
    from gridmap.errors import SchemaError

    missing = [column for column in ("code", "community_code") if column not in grids.columns]
    if missing:
        raise SchemaError(f"the grids have no {' or '.join(missing)} column (columns: "
                          f"{', '.join(map(str, grids.columns))})", path=path, record="layer grids",
                          fix="give every grid its code and the 12-digit code of its community "
                              "(community_code), as `gridmap build` writes them")


def _scoped(layers: dict, street: str | None) -> dict:
    """Return the layers of one street (grids by their community code, admin layers by code prefix)."""
    from gridmap.errors import GridmapError

    if street is None:
        return layers
    grids = layers["grids"]
    inside = grids["community_code"].astype(str).str.startswith(street)
    if not inside.any():
        raise GridmapError(f"no grid lies in street {street}", record=f"--street {street}",
                           fix="give a 9-digit street code of the grids' community_code column")
    scoped = dict(layers, grids=grids.loc[inside])
    for name in ("communities", "streets"):
        if name in layers:
            scoped[name] = layers[name].loc[layers[name]["code"].astype(str).str.startswith(street)]
    if "units" in layers and "grid_code" in layers["units"].columns:
        scoped["units"] = layers["units"].loc[layers["units"]["grid_code"].isin(scoped["grids"]["code"])]
    if "cases" in layers:  # the street's cases: those in its grids (put in the city's grids first)
        from gridmap.cases import in_grids

        cases = in_grids(layers["cases"], grids)
        scoped["cases"] = cases.loc[cases["grid_code"].isin(scoped["grids"]["code"])]
    if "staff" in layers:
        scoped["staff"] = layers["staff"].loc[layers["staff"]["grid_code"].isin(scoped["grids"]["code"])]
    return scoped


_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class _Window:
    """The period a report is about: what the statistics are cut by, which cases count, how it is shown.

    ``period`` is the statistics' period (``"month"``, …, or None for one span of days); ``start`` and
    ``end`` bound the chosen period (start included, end excluded; None: open, filled from the cases);
    ``history`` keeps the cases before ``start`` too (a month's 环比 and 同比 need them); ``option`` is the
    command line option that chose the period (None: the latest period, as without options).
    """

    period: str | None
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    history: bool = False
    option: str | None = None

    @property
    def label(self) -> str | None:
        """The period as the summary names it: ``2025-06`` or ``2025-01-01 – 2025-06-30``."""
        if self.option is None or self.start is None or self.end is None:
            return None
        if self.period == "month":
            return f"{self.start:%Y-%m}"
        from gridmap.maps.figures import period_label

        return period_label((self.start, self.end))


def _window(month: str | None, start: dt.datetime | None, end: dt.datetime | None, *, period: str,
            explicit_period: bool) -> _Window:
    """Check ``--month`` / ``--from`` / ``--to`` against each other and ``--period``; return the window."""
    if month is not None and (start is not None or end is not None):
        raise click.UsageError("give --month or --from/--to, not both")
    if month is not None:
        if not _MONTH.fullmatch(month.strip()):
            raise click.BadParameter(f"{month!r} is not a month; write it as YYYY-MM, e.g. 2025-06",
                                     param_hint="--month")
        if explicit_period and period != "month":
            raise click.UsageError(f"--month reports a month: drop --period {period}")
        chosen = pd.Period(month.strip(), freq="M")
        return _Window("month", chosen.start_time, (chosen + 1).start_time, history=True, option="--month")
    if start is None and end is None:
        return _Window(period)
    if start is not None and end is not None and start > end:
        raise click.BadParameter(f"{start:%Y-%m-%d} is after --to {end:%Y-%m-%d}; the period would be empty",
                                 param_hint="--from")
    if explicit_period:
        raise click.UsageError(f"--from/--to report one span of days as one period: drop --period {period}")
    option = "--from/--to" if start is not None and end is not None else "--from" if start else "--to"
    return _Window(None, None if start is None else pd.Timestamp(start),
                   None if end is None else pd.Timestamp(end) + pd.Timedelta(days=1), option=option)


def _chosen_cases(layers: dict, window: _Window) -> tuple[dict, _Window]:
    """Return the layers with the cases the window keeps, and the window with open ends filled from them.

    Raises
    ------
    GridmapError
        A chosen period (``window.option``) without cases, naming the option and the span of the cases.
    """
    from gridmap.errors import GridmapError

    if window.option is None:
        return layers, window
    if "cases" not in layers:
        raise GridmapError(f"{window.option} chooses a period of cases, but there are no cases",
                           record=window.option, fix=f"give the cases with --cases, or drop {window.option}")
    cases = layers["cases"]
    reported = pd.to_datetime(cases["reported_at"], errors="coerce")
    inside = reported.notna().to_numpy(dtype=bool, copy=True)
    if window.start is not None:
        inside &= (reported >= window.start).fillna(False).to_numpy(dtype=bool)
    if window.end is not None:
        inside &= (reported < window.end).fillna(False).to_numpy(dtype=bool)
    known = reported.dropna()
    if not inside.any():
        span = f"{known.min():%Y-%m-%d} to {known.max():%Y-%m-%d}" if len(known) else "no dates"
        given = window.label if window.start is not None and window.end is not None else \
            f"or after {window.start:%Y-%m-%d}" if window.start is not None else \
            f"or before {window.end - pd.Timedelta(days=1):%Y-%m-%d}"
        raise GridmapError(f"no case was reported in {given} (the cases span {span})",
                           record=f"{window.option} {window.label or ''}".strip(),
                           fix=f"choose a period within {span} with {window.option}")
    window = replace(window, start=known.min().normalize() if window.start is None else window.start,
                     end=known.max().normalize() + pd.Timedelta(days=1) if window.end is None else window.end)
    if window.history:
        inside = (reported < window.end).fillna(False).to_numpy(dtype=bool)
    return dict(layers, cases=cases.loc[inside]), window


def _write(layers: dict, folder: Path, *, step: Steps, source: str, window: _Window, lang: str,
           publish: bool, title: str | None, tiles=None) -> dict:
    """Write every file of the report into ``folder``, one step each (a map per street).

    Returns the names of the files relative to ``folder``, the latest period and the summary's street table
    (as records), for ``--json``.
    """
    from gridmap.maps import one_screen, save_cockpit, save_html
    from gridmap.stats.summary import summarize_levels, write_stats

    grids, cases, staff = layers["grids"], layers.get("cases"), layers.get("staff")
    admin = {name: layers.get(name) for name in ("communities", "streets", "districts")}
    names = [frame for frame in admin.values() if frame is not None] or None
    codes = sorted(grids["community_code"].astype(str).str[:9].unique())
    step.add(3 + len(codes))
    step(f"figures per {', '.join(_LEVELS)}")
    tables = summarize_levels(grids, cases, staff, levels=_LEVELS, names=names, publish=publish,
                              period=window.period if cases is not None else None)
    latest = _latest(tables["street"])
    map_period = (window.start, window.end) if window.period is None and window.option else \
        latest if window.period == "month" else None
    files = {"stats": "stats.xlsx", "cockpit": "cockpit.html"}
    step(f"write {files['stats']}")
    write_stats(tables, folder / files["stats"], lang=lang, grids=grids)
    step(f"cockpit {files['cockpit']}")
    save_cockpit(grids, folder / files["cockpit"], cases=cases, staff=staff, units=layers.get("units"),
                 title=title, period=map_period, lang=lang, public=publish, tiles=tiles, **admin)
    street_names = _names(admin["streets"])
    maps = {}
    (folder / "maps").mkdir()
    for code in codes:
        maps[f"{street_names.get(code, '')} {code}".strip()] = page = f"maps/{code}.html"
        step(f"map of street {code}")
        fmap = one_screen(grids, units=layers.get("units"), cases=cases, lang=lang, period=map_period,
                          public=publish, focus=code, title=street_names.get(code, code),
                          communities=admin["communities"], streets=admin["streets"],
                          districts=admin["districts"], tiles=tiles)
        save_html(fmap, folder / page)
    blocks = _summary(tables["street"], latest, files=files, maps=maps, source=source, lang=lang,
                      publish=publish, title=title, label=window.label)
    write_text(folder / "summary.md", _markdown(blocks))
    write_text(folder / "summary.html", _html(blocks, title or _TEXT[lang]["title"]))
    streets = tables["street"] if latest is None else \
        tables["street"].loc[tables["street"]["period"].astype(str) == latest]
    return {"files": ["summary.md", "summary.html", files["stats"], files["cockpit"], *maps.values()],
            "period": window.label or latest,
            "streets": json.loads(streets.to_json(orient="records", date_format="iso", force_ascii=False))}


def _latest(table: pd.DataFrame) -> str | None:
    """Return the last period of a per-period table (None without periods)."""
    if "period" not in table.columns or table["period"].isna().all():
        return None
    return str(table["period"].dropna().astype(str).max())


def _names(frame) -> dict[str, str]:
    if frame is None or "name" not in frame.columns:
        return {}
    return dict(zip(frame["code"].astype(str), frame["name"].astype(str), strict=True))


def _summary(streets: pd.DataFrame, latest: str | None, *, files: dict, maps: dict, source: str, lang: str,
             publish: bool, title: str | None, label: str | None = None) -> list[tuple[str, object]]:
    """Return the summary as blocks (heading, paragraph, table) that render to both Markdown and HTML."""
    text = _TEXT[lang]
    if latest is not None:
        streets = streets.loc[streets["period"].astype(str) == latest]
    made = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    blocks: list[tuple[str, object]] = [
        ("h1", title or text["title"]),
        ("p", f"{text['source']}: {Path(source).name} · {text['period']}: {label or latest or text['all']} · "
              f"{text['made']}: {made}"),
    ]
    if publish:
        blocks.append(("p", text["public"]))
    overview = {text["grids"]: streets["n_grids"].sum(), text["households"]: streets["households"].sum(),
                text["population"]: streets["population"].sum(),
                text["area_km2"]: round(float(streets["area_km2"].sum()), 2)}
    if "cases" in streets.columns:
        # the sum of the shown counts would be wrong where some are hidden: leave it empty then
        shown = streets["cases"].notna().all()
        overview[text["cases"]] = streets["cases"].sum(min_count=1) if shown else None
    blocks += [("h2", text["overview"]), ("table", pd.DataFrame([overview]))]
    columns = [c for c in _STREET_COLUMNS if c in streets.columns]
    table = streets[columns].rename(columns={"n_grids": "grids"})
    for column in _SHARES:
        if column in table.columns:
            table[column] = table[column].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
    if "households_per_worker" in table.columns:
        table["households_per_worker"] = table["households_per_worker"].round(0).astype("Int64")
    blocks += [("h2", text["streets"]), ("table", table.rename(columns=text))]
    links = [(text["summary"], "summary.html"), (text["cockpit"], files["cockpit"]),
             (text["stats"], files["stats"])]
    links += [(f"{text['map']} {label}", page) for label, page in maps.items()]
    blocks += [("h2", text["files"]), ("links", links)]
    return blocks


def _cell(value) -> str:
    return "—" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


# Markdown and HTML are written by hand: a few headings, two small tables and a list of links do not need
# a templating or Markdown library.
_MD_MARKUP = re.compile(r"([\\`*_\[\]|])")


def _md(value) -> str:
    """Text as Markdown shows it: on one line, HTML escaped (viewers render raw HTML), markup escaped."""
    text = html.escape(re.sub(r"[\r\n]+", " ", str(value)), quote=False)
    return _MD_MARKUP.sub(r"\\\1", text)


def _markdown(blocks: list) -> str:
    lines: list[str] = []
    for kind, body in blocks:
        if kind == "h1":
            lines += [f"# {_md(body)}", ""]
        elif kind == "h2":
            lines += [f"## {_md(body)}", ""]
        elif kind == "p":
            lines += [_md(body), ""]
        elif kind == "table":
            lines.append("| " + " | ".join(map(_md, body.columns)) + " |")
            lines.append("|" + "---|" * len(body.columns))
            lines += ["| " + " | ".join(_md(_cell(v)) for v in row) + " |"
                      for row in body.itertuples(index=False)]
            lines.append("")
        else:
            lines += [f"- [{_md(label)}]({target})" for label, target in body] + [""]
    return "\n".join(lines)


def _html(blocks: list, title: str) -> str:
    from gridmap.maps.pages import VIEWPORT

    esc = html.escape
    parts = [f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">{VIEWPORT}<title>{esc(title)}</title>'
             "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;display:block;"
             "overflow-x:auto}td,th{border:1px solid #ccc;padding:.2em .6em}td{text-align:right}</style>"
             "</head><body>"]
    for kind, body in blocks:
        if kind in ("h1", "h2", "p"):
            parts.append(f"<{kind}>{esc(body)}</{kind}>")
        elif kind == "table":
            head = "".join(f"<th>{esc(str(c))}</th>" for c in body.columns)
            rows = "".join("<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in row) + "</tr>"
                           for row in body.itertuples(index=False))
            parts.append(f"<table><tr>{head}</tr>{rows}</table>")
        else:
            items = "".join(f'<li><a href="{esc(target)}">{esc(label)}</a></li>' for label, target in body)
            parts.append(f"<ul>{items}</ul>")
    return "\n".join(parts) + "\n</body></html>\n"
