"""The cockpit (驾驶舱, "一屏"): one 1920×1080 page with the map, headline figures, cases by month, top grids.

:func:`cockpit` returns the page as text; :func:`save_cockpit` writes it atomically. Like every gridmap
page it is one self-contained file that makes no request (unless an online base map is chosen). The
figures come from :mod:`gridmap.stats` (through :mod:`gridmap.maps.figures`): grids by type, population,
households, cases in the period, response rate (accepted / reported), on-time rate (accepted the day they
were reported, "接单不过夜") and the share of closed cases settled inside the grid ("小事不出网格"). The
monthly chart is an inline SVG written here; the table lists the grids with the most cases per km²;
clicking a row zooms the map to that grid and opens its popup.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> grids = gpd.GeoDataFrame({"code": ["450102001003001", "450102001003002"], "type": ["city", "rural"],
...                           "community_code": ["450102001003"] * 2, "households": [420, 380],
...                           "population": [1250, 1100]},
...                          geometry=[box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.32, 22.81)],
...                          crs="EPSG:4490")
>>> page = cockpit(grids, title="示例市")
>>> "<h1>示例市</h1>" in page and "2,350" in page
True
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Figure, MacroElement
from folium.template import Template

from gridmap.io.city import City, city_layers
from gridmap.maps._panels import Card, field_cards, level_panel, patrol_panel, quality_panel
from gridmap.maps.base import RawHTML, to_html, write_page
from gridmap.maps.figures import THRESHOLD, PeriodLike, area_figures, period_bounds, period_label
from gridmap.maps.onescreen import build_one_screen
from gridmap.maps.overlays import Overlay
from gridmap.maps.tiles import TilesLike
from gridmap.schema import GRID_TYPE_NAMES_ZH

__all__ = ["cockpit", "save_cockpit", "month_chart"]


_TEXT = {
    "zh": {"title": "网格化服务管理驾驶舱", "grids": "网格", **GRID_TYPE_NAMES_ZH,
           "population": "人口", "households": "户数", "cases": "案件",
           "response_rate": "响应率", "on_time_rate": "当日接单率", "share_grid": "网格内办结",
           "months": "各月案件数", "top": "案件密度最高的网格", "rank": "排名", "code": "网格编码",
           "community": "社区/村", "per_km2": "件/km²", "per_1000": "件/千人", "all": "全部案件",
           "suppressed": f"<{THRESHOLD}", "unit_people": "人", "unit_households": "户", "unit_cases": "件",
           "month": "{m}月", "none": "无案件数据", "public": "公开版：少于5件的数字不显示",
           "full_time": "专职网格员", "leaders": "网格长", "members": "定岗网格员",
           "field": "人员组织与基层治理"},
    "en": {"title": "Grid management cockpit", "grids": "Grids", "city": "City", "rural": "Rural",
           "dedicated": "Dedicated", "population": "Population", "households": "Households", "cases": "Cases",
           "response_rate": "Response rate", "on_time_rate": "Accepted same day",
           "share_grid": "Settled in grid",
           "months": "Cases by month", "top": "Grids with the most cases per km²", "rank": "#",
           "code": "Grid code", "community": "Community", "per_km2": "per km²", "per_1000": "per 1,000",
           "all": "all cases", "suppressed": f"<{THRESHOLD}", "unit_people": "", "unit_households": "",
           "unit_cases": "", "month": "{abbr}", "none": "no case data",
           "public": "Public version: counts below 5 are not shown", "full_time": "Full-time grid workers",
           "leaders": "Leaders", "members": "Members", "field": "People and field work"},
}
#: Rows of the top-grids table by the number of panels stacked below it (escalation, quality, patrols).
_TOP_ROWS = (15, 8, 8, 5)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CSS = """
html, html > body { width: 1920px; height: 1080px; max-width: 100vw; max-height: 100vh; margin: 0; }
html > body { display: grid; grid-template-columns: 420px 1fr 470px; grid-template-rows: 64px 1fr;
  grid-template-areas: "head head head" "left map right"; gap: 12px; padding: 0 12px 12px;
  box-sizing: border-box; background: #0b1f3a; color: #e8eef7; overflow: hidden;
  font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Helvetica Neue", Arial, sans-serif; }
@media (max-width: 1100px) {
  html, html > body { width: 100%; height: auto; max-height: none; overflow: auto; }
  html > body { grid-template-columns: 1fr; grid-template-rows: auto 70vh auto auto;
    grid-template-areas: "head" "map" "left" "right"; } }
.cockpit-head { grid-area: head; display: flex; align-items: baseline; gap: 24px; }
.cockpit-head h1 { margin: 0; font-size: 30px; letter-spacing: 2px; }
.cockpit-head span { color: #c9d8ec; font-size: 18px; }
html > body > .folium-map { grid-area: map; border-radius: 6px; overflow: hidden; color: #222; }
.cockpit-left { grid-area: left; display: flex; flex-direction: column; gap: 12px; min-height: 0; }
.cockpit-right { grid-area: right; min-height: 0; overflow: auto; }
.cockpit-panel { background: #12305a; border-radius: 6px; padding: 12px 14px; }
.cockpit-panel h2 { margin: 0 0 8px; font-size: 18px; color: #bfe0ff; font-weight: normal; }
.cockpit-cards { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
.cockpit-card { background: #12305a; border-radius: 6px; padding: 10px 12px; }
.cockpit-card .label { color: #c9d8ec; font-size: 15px; }
.cockpit-card .value { font-size: 28px; font-weight: bold; color: #ffd36b; white-space: nowrap; }
.cockpit-card .value small { font-size: 14px; color: #c9d8ec; margin-left: 4px; font-weight: normal; }
.cockpit-card .detail { font-size: 14px; color: #dde6f2; }
/* the chart and the table fill their column at any window size or browser zoom: no empty band below; the
   chart takes what the panel of people and field work leaves, and that panel gives way on a small screen */
.cockpit-chart { flex: 1 1 0; min-height: 60px; display: flex; flex-direction: column; }
.cockpit-chart svg { flex: 1 1 auto; width: 100%; height: 100%; min-height: 0; display: block; }
.cockpit-top { display: flex; flex-direction: column; }
.cockpit-top table { width: 100%; flex: 1 1 auto; border-collapse: collapse; font-size: 16px; }
.cockpit-top th { text-align: left; color: #c9d8ec; font-weight: normal; padding: 4px 6px; }
.cockpit-top td { padding: 6px; border-top: 1px solid #1f4475; white-space: nowrap; }
.cockpit-top td.num, .cockpit-top th.num { text-align: right; }
.cockpit-top tbody tr { cursor: pointer; }
.cockpit-top tbody tr:hover, .cockpit-top tbody tr.active { background: #1d4b85; }
.cockpit-note { font-size: 14px; color: #c9d8ec; margin-top: 6px; }
.cockpit-field { flex: 0 1 auto; min-height: 0; overflow: auto; }  /* yields to the chart on small screens */
.cockpit-field table { width: 100%; border-collapse: collapse; }
.cockpit-field th { text-align: left; font-weight: normal; color: #c9d8ec; font-size: 15px;
  padding: 3px 6px 3px 0; white-space: nowrap; }
.cockpit-field td.value { font-size: 20px; font-weight: bold; color: #ffd36b; white-space: nowrap;
  padding: 3px 8px; }
.cockpit-field td.value small { font-size: 13px; color: #c9d8ec; margin-left: 3px; font-weight: normal; }
.cockpit-field td.detail { font-size: 13px; color: #dde6f2; line-height: 1.25; }
.cockpit-stack { display: flex; flex-direction: column; gap: 10px; }
.cockpit-stack > .cockpit-panel { flex: 0 0 auto; padding-top: 10px; padding-bottom: 10px; }
.cockpit-stack > .cockpit-top:last-child { flex-grow: 1; }  /* a table last in the column fills it */
.cockpit-stack th, .cockpit-stack td { line-height: 1.2; }
.cockpit-stack th { padding: 3px 6px; }
.cockpit-stack .cockpit-top td { padding: 4px 6px; }
.cockpit-stack .cockpit-rank td { padding: 3px 6px; }
.cockpit-rank tr.cockpit-gap td { border-top: 3px double #4f77a8; }
.cockpit-levels svg { width: 100%; height: 22px; display: block; border-radius: 3px; }
.cockpit-level-keys { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 8px; font-size: 15px; }
.cockpit-level i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; border-radius: 2px; }
html > body > .folium-map .leaflet-tooltip.gridmap-label { font-size: 13px; color: #000; font-weight: 500; }
"""


class _RowClicks(MacroElement):
    """Rows of the top-grids table zoom the map to their grid (``data-grid`` = its position in the layer)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        document.querySelectorAll(".cockpit-top tbody tr[data-grid]").forEach(function (row) {
          row.addEventListener("click", function () {
            document.querySelectorAll(".cockpit-top tr.active").forEach(function (r) {
              r.classList.remove("active");
            });
            row.classList.add("active");
            gridmap.grid.zoomTo(Number(row.getAttribute("data-grid")));
          });
        });
        {% endmacro %}
    """)


def cockpit(grids: gpd.GeoDataFrame | City, *, cases: gpd.GeoDataFrame | None = None,
            staff: pd.DataFrame | None = None, communities: gpd.GeoDataFrame | None = None,
            streets: gpd.GeoDataFrame | None = None, districts: gpd.GeoDataFrame | None = None,
            units: gpd.GeoDataFrame | None = None, title: str | None = None, period: PeriodLike = None,
            lang: str = "zh", public: bool = False, basemap: str = "none", tiles: TilesLike = None,
            tianditu_key: str | None = None, top: int | None = None, overlays: Iterable[Overlay] = ()) -> str:
    """Return the cockpit page: map, headline figures, cases by month and top grids on one screen.

    With ``overlays`` (:func:`gridmap.maps.overlay`) the map gains their layers (off when the page opens) and
    the page a figure for each: the share of grids meeting every staffing rule, covered by a grid party
    branch and with their liaisons, the patrol zones, the walking circles (with units: the households inside
    the longest walk and their share), the share of units patrols passed, the shares settled at each level
    (a stacked bar), the quality index's first and last grids and the grids with the lowest patrol coverage
    (rows zoom the map to their grid).

    Parameters
    ----------
    grids : geopandas.GeoDataFrame or gridmap.io.city.City
        Grids as for :func:`gridmap.maps.one_screen` (``code``, ``type``, ``community_code``, counts), or a
        whole :class:`~gridmap.io.city.City` whose layers fill the arguments below not given.
    cases, communities, streets, districts, units : optional
        As for :func:`gridmap.maps.one_screen`.
    staff : pandas.DataFrame, optional
        The roster: counts of posts (full-time workers, leaders, members) are shown; names and phones never.
    title : str, optional
        The page heading (default 网格化服务管理驾驶舱).
    period : optional
        The period of "cases this period" and the case figures (``"2025-06"``, ``"2025Q2"``,
        ``(start, end)``); None: every case. The monthly chart shows every month and marks the period.
    lang : {"zh", "en"}, default "zh"
    public : bool, default False
        Suppress case counts below 5 and everything derived from them; no heat map.
    basemap, tiles, tianditu_key : optional
        As for :func:`gridmap.maps.one_screen`: no base map (the default), a built-in one, or your own
        tiles (:func:`gridmap.maps.tile_source`).
    top : int, optional
        Rows of the top-grids table (default 15; 8 when the escalation or quality panel shares the column, 5
        when the patrol panel joins them).
    overlays : iterable of Overlay, optional
        Layers and panels for people and field work (see :mod:`gridmap.maps.overlays`).

    Returns
    -------
    str
        The self-contained HTML page.
    """
    layers = city_layers(grids, cases=cases, staff=staff, communities=communities, streets=streets,
                         districts=districts, units=units)
    grids, cases, staff = layers["grids"], layers.get("cases"), layers.get("staff")
    communities, streets, districts, units = (layers.get(name) for name in ("communities", "streets",
                                                                             "districts", "units"))
    text = _TEXT[lang]
    measure = "cases_per_km2" if cases is not None or "cases" in grids.columns else "population_density"
    overlays = list(overlays)
    built = build_one_screen(grids, communities=communities, streets=streets, districts=districts,
                             units=units, cases=cases, measure=measure, lang=lang, basemap=basemap,
                             tiles=tiles, tianditu_key=tianditu_key, period=period, public=public, title="",
                             overlays=overlays)
    fmap = built.map
    heading = title or text["title"]
    figure = cast(Figure, fmap.get_root())
    figure.title = html.escape(heading)
    figure.header.add_child(RawHTML(f"<style>{_CSS}</style>"), name="cockpit_css")
    totals = _totals(built, staff, period=period, public=public)
    monthly = area_figures(built.grids, built.cases, by_month=True) if built.cases is not None else None
    if monthly is not None and public:
        from gridmap.stats.summary import suppress_small_counts

        monthly = suppress_small_counts(monthly, columns=["cases"], threshold=THRESHOLD)
    field = field_cards(overlays, built.grids, units=units, lang=lang)
    stacked = [level_panel(overlays, lang=lang, public=public),
               quality_panel(overlays, built.grid.codes, built.community_names, lang=lang),
               patrol_panel(overlays, built.grid.codes, built.community_names, lang=lang)]
    stacked = [panel for panel in stacked if panel]
    rows = top if top is not None else _TOP_ROWS[len(stacked)]
    panels = [_head(heading, period, text, public=public),
              _left(totals, monthly, period, text, lang=lang, field=field),
              _right(built, text, top=rows, stacked=stacked)]
    for i, panel in enumerate(panels):  # text from data is escaped, and must not be read as a template
        figure.html.add_child(RawHTML(panel), name=f"cockpit_panel_{i}")
    _RowClicks().add_to(fmap)
    return to_html(fmap)


def save_cockpit(grids: gpd.GeoDataFrame | City, path: str | os.PathLike, **options: Any) -> Path:
    """Write :func:`cockpit` ``(grids, **options)`` to ``path`` atomically (UTF-8); return the path.

    The page is made completely before anything is written; a failure leaves an existing file untouched.
    """
    return write_page(cockpit(grids, **options), path, what="cockpit")


def _totals(built, staff, *, period, public: bool) -> dict:
    """Headline figures: grids by type, population, households, staff posts and the case measures."""
    grids = built.grids
    totals: dict[str, Any] = {"grids": len(grids)}
    if staff is not None:
        row = area_figures(grids, staff=staff).iloc[0]
        totals["staff"] = {role: int(row[role]) for role in ("leaders", "full_time", "members")}
    if "type" in grids.columns:
        totals["by_type"] = grids["type"].value_counts().to_dict()
    for column in ("population", "households"):
        if column in grids.columns:
            totals[column] = int(pd.to_numeric(grids[column], errors="coerce").fillna(0).sum())
    if built.cases is not None:
        table = area_figures(grids, built.cases, period=period)
        if public:
            from gridmap.stats.summary import suppress_small_counts

            table = suppress_small_counts(table, columns=["cases"], threshold=THRESHOLD)
        row = table.iloc[0]
        for column in ("cases", "response_rate", "on_time_rate", "share_grid"):
            totals[column] = None if pd.isna(row[column]) else row[column]
    elif "cases" in built.figures.columns:
        totals["cases"] = int(pd.to_numeric(built.figures["cases"], errors="coerce").fillna(0).sum())
    return totals


def _number(value, decimals: int = 0) -> str:
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    return "–" if missing else f"{value:,.{decimals}f}"


def _percent(value) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{100 * value:.1f}%"


def _card(label: str, value: str, unit: str = "", detail: str = "", kind: str = "cockpit-card") -> str:
    unit_html = f"<small>{html.escape(unit)}</small>" if unit else ""
    detail_html = f'<div class="detail">{html.escape(detail)}</div>' if detail else ""
    return (f'<div class="{kind}"><div class="label">{html.escape(label)}</div>'
            f'<div class="value">{html.escape(value)}{unit_html}</div>{detail_html}</div>')


def _head(heading: str, period, text: dict, *, public: bool) -> str:
    label = period_label(period) or text["all"]
    note = f"<span>{html.escape(text['public'])}</span>" if public else ""
    return (f'<header class="cockpit-head"><h1>{html.escape(heading)}</h1>'
            f"<span>{html.escape(label)}</span>{note}</header>")


def _left(totals: dict, monthly, period, text: dict, *, lang: str, field: list[Card]) -> str:
    by_type = totals.get("by_type", {})
    detail = " · ".join(f"{text.get(kind, kind)} {count}" for kind, count in by_type.items()
                        if isinstance(kind, str))
    cards = [_card(text["grids"], _number(totals["grids"]), "", detail)]
    for key, unit in (("population", "unit_people"), ("households", "unit_households")):
        if key in totals:
            cards.append(_card(text[key], _number(totals[key]), text[unit]))
    if "staff" in totals:
        posts = totals["staff"]
        detail = " · ".join(f"{text[role]} {posts[role]}" for role in ("leaders", "members"))
        cards.append(_card(text["full_time"], _number(posts["full_time"]), text["unit_people"], detail))
    if "cases" in totals:
        cases = totals["cases"]
        shown = text["suppressed"] if cases is None else _number(cases)
        cards.append(_card(text["cases"], shown, text["unit_cases"], period_label(period) or text["all"]))
        for key in ("response_rate", "on_time_rate", "share_grid"):
            if key in totals:
                cards.append(_card(text[key], _percent(totals[key])))
    chart = month_chart(monthly, period=period, lang=lang, height=300) if monthly is not None else \
        f'<div class="cockpit-note">{html.escape(text["none"])}</div>'
    return (f'<section class="cockpit-left"><div class="cockpit-cards">{"".join(cards)}</div>'
            f"{_field_panel(field, text)}"
            f'<div class="cockpit-panel cockpit-chart"><h2>{html.escape(text["months"])}</h2>{chart}</div>'
            "</section>")


def _field_panel(field: list[Card], text: dict) -> str:
    """Write the figures of the people and field-work overlays, one line each; "" without overlays."""
    if not field:
        return ""
    rows = "".join(f'<tr><th>{html.escape(c.label)}</th><td class="value">{html.escape(c.value)}'
                   f'{f"<small>{html.escape(c.unit)}</small>" if c.unit else ""}</td>'
                   f'<td class="detail">{html.escape(c.detail)}</td></tr>' for c in field)
    return (f'<div class="cockpit-panel cockpit-field"><h2>{html.escape(text["field"])}</h2>'
            f"<table><tbody>{rows}</tbody></table></div>")


def month_chart(monthly: pd.DataFrame, *, period: PeriodLike = None, lang: str = "zh", width: int = 392,
                height: int = 230) -> str:
    """Return cases by month as an inline SVG bar chart (no script, no external file).

    ``monthly`` has ``period`` (``YYYY-MM``) and ``cases`` (NA where suppressed, drawn as a hatched
    stub labelled ``<5``); months inside ``period`` are highlighted.

    Examples
    --------
    >>> chart = month_chart(pd.DataFrame({"period": ["2025-01", "2025-02"], "cases": [30, 12]}))
    >>> chart.startswith("<svg") and chart.count("<rect x=") == 2 and ">30<" in chart
    True
    """
    text = _TEXT[lang]
    bounds = period_bounds(period)
    labels, values, marked = [], [], []
    for label, value in zip(monthly["period"].astype(str), monthly["cases"], strict=True):
        month = pd.Period(label, freq="M")
        labels.append(text["month"].format(m=month.month, abbr=_MONTHS[month.month - 1]))
        values.append(None if pd.isna(value) else float(value))
        marked.append(bounds is not None and bounds[0] <= month.start_time < bounds[1])
    top = max([v for v in values if v is not None] + [1.0])
    left, bottom, head = 8, 26, 22
    step = (width - 2 * left) / max(len(values), 1)
    bar = step * 0.66
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{html.escape(text["months"])}">',
             '<defs><pattern id="cockpit-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="3" height="6" fill="#5b7aa6"/></pattern></defs>']
    for i, (label, value, mark) in enumerate(zip(labels, values, marked, strict=True)):
        x = left + i * step + (step - bar) / 2
        full = height - bottom - head
        h = 4 if value is None else max(full * value / top, 1)
        y = height - bottom - h
        fill = "url(#cockpit-hatch)" if value is None else ("#ffd36b" if mark else "#4f9bea")
        shown = text["suppressed"] if value is None else _number(value)
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{fill}">'
                     f"<title>{html.escape(label)}: {html.escape(shown)}</title></rect>")
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" font-size="11" fill="#e8eef7" '
                     f'text-anchor="middle">{html.escape(shown)}</text>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 8}" font-size="12" fill="#c9d8ec" '
                     f'text-anchor="middle">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


_NUMERIC = (0, 3, 4, 5)  # columns of the top-grids table aligned right


def _cell(tag: str, text: str, numeric: bool) -> str:
    attribute = ' class="num"' if numeric else ""
    return f"<{tag}{attribute}>{html.escape(text)}</{tag}>"


def _right(built, text: dict, *, top: int, stacked: list[str]) -> str:
    """Write the table of grids with the most cases per km², then the ``stacked`` panels below it."""
    table = _top_table(built, text, top=top)
    if not stacked:
        return (f'<section class="cockpit-right cockpit-panel cockpit-top">{table}</section>' if table
                else '<section class="cockpit-right"></section>')
    first = f'<div class="cockpit-panel cockpit-top">{table}</div>' if table else ""
    return f'<section class="cockpit-right cockpit-stack">{first}{"".join(stacked)}</section>'


def _top_table(built, text: dict, *, top: int) -> str:
    """Write the grids with the most cases per km² (rows carry the grid's position on the map); "" without."""
    figures = built.figures
    if "cases_per_km2" not in figures.columns:
        return ""
    ranked = figures.assign(position=np.arange(len(figures)))
    ranked = ranked[pd.to_numeric(ranked["cases_per_km2"], errors="coerce").notna()]
    ranked = ranked.sort_values(["cases_per_km2", "cases"], ascending=False, kind="stable").head(top)
    communities = built.community_names
    rows = []
    for rank, (_, row) in enumerate(ranked.iterrows(), start=1):
        position = int(row["position"])
        cells = [str(rank), built.grid.codes[position], communities[position] or "",
                 _number(row["cases"]), _number(row["cases_per_1000"], 1), _number(row["cases_per_km2"], 1)]
        tds = "".join(_cell("td", c, i in _NUMERIC) for i, c in enumerate(cells))
        rows.append(f'<tr data-grid="{position}">{tds}</tr>')
    heads = [text["rank"], text["code"], text["community"], text["cases"], text["per_1000"], text["per_km2"]]
    ths = "".join(_cell("th", h, i in _NUMERIC) for i, h in enumerate(heads))
    return (f'<h2>{html.escape(text["top"])}</h2>'
            f"<table><thead><tr>{ths}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
