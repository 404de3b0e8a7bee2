"""The cockpit's panels for people and field work: one figure per overlay, level shares, best and worst grids.

Each figure sums up what an :class:`~gridmap.maps.overlays.Overlay` draws, over the grids on the map:

* staffing — the share of grids meeting every staffing rule, vacancies, units above the grids breaking one;
* party — the share of grids with a grid party branch (支部建在网格上), grids without one;
* liaison — the share of grids, communities and streets with a liaison of the level above (全覆盖联系);
* zones — patrol zones and the grids they enter; circles — service centres and, with units, the households
  inside the longest walk and their share of all households;
* escalation — the share of settled cases settled at each level, as one stacked bar (小事不出网格 …);
* quality — the quality index's first and last grids, each row zooming the map to its grid;
* patrols — the share of the grids' units passed (or, for a frame of shares alone, their mean), the grids
  patrolled less than required, and the grids with the lowest coverage, each row zooming the map to its grid.

Counts of people are never shown by name; on a public cockpit a share whose count is below 5 is hidden.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.errors import GridmapWarning
from gridmap.maps.figures import THRESHOLD
from gridmap.maps.overlays import _SOURCES, Overlay
from gridmap.schema import HANDLING_LEVEL_NAMES_ZH, HANDLING_LEVELS, LEVELS, split_ids

__all__ = ["Card", "field_cards", "level_panel", "quality_panel", "patrol_panel", "TEXT"]

TEXT: dict[str, dict] = {
    "zh": {"staffing": "配备达标网格", "staffing_detail": "{ok}/{n} 个网格 · 缺员 {vacancies} 岗",
           "units_broken": " · 不达标社区/街道 {units} 个", "party": "网格党支部覆盖",
           "party_detail": "未建 {missing} 个网格", "members": " · 党员 {members} 名",
           "liaison": "联系领导覆盖", "liaison_detail": "缺位：{gaps}", "none_missing": "无缺位",
           "zones": "巡控区", "zones_detail": "涉及 {grids} 个网格 · {sites} 处场所", "unit_zones": "个",
           "circles": "服务中心步行圈", "circles_detail": "{steps} 分钟步行圈",
           "circles_households": " · {m:g}分钟圈内 {households} 户，占 {share}", "unit_centres": "个",
           "patrols": "巡查覆盖率", "patrols_detail": "{n} 个网格平均",
           "patrols_units": "途经单元 {passed}/{units} · {n} 个网格",
           "patrols_short": " · 巡查不足 {short} 个",
           "patrols_worst": "巡查覆盖率最低的{n}个网格", "coverage": "覆盖率", "done": "巡查/应巡",
           "levels": "各层级办结占比", "levels_note": "越级上报 {skipped} 件 · 退回下级 {returned} 件",
           "quality": "质效指数 前{n}名与后{n}名", "rank": "排名", "code": "网格编码", "community": "社区/村",
           "index": "指数", "suppressed": f"<{THRESHOLD}件",
           "gaps": {"grid": "网格", "community": "社区", "street": "街道"}},
    "en": {"staffing": "Grids fully staffed", "staffing_detail": "{ok}/{n} grids · {vacancies} vacancies",
           "units_broken": " · {units} communities/streets short", "party": "Grid party branches",
           "party_detail": "{missing} grids without one", "members": " · {members} members",
           "liaison": "Liaison coverage", "liaison_detail": "missing: {gaps}", "none_missing": "none missing",
           "zones": "Patrol zones", "zones_detail": "{grids} grids entered · {sites} sites", "unit_zones": "",
           "circles": "Walking circles", "circles_detail": "{steps}-minute walks",
           "circles_households": " · {households} households within {m:g} min ({share} of all)",
           "unit_centres": "centres",
           "patrols": "Patrol coverage", "patrols_detail": "mean of {n} grids",
           "patrols_units": "{passed}/{units} units passed · {n} grids", "patrols_short": " · {short} short",
           "patrols_worst": "Lowest patrol coverage: {n} grids", "coverage": "Coverage", "done": "Done",
           "levels": "Settled at each level",
           "levels_note": "{skipped} skipped a level · {returned} returned",
           "quality": "Quality index: first and last {n}", "rank": "#", "code": "Grid code",
           "community": "Community", "index": "Index", "suppressed": f"<{THRESHOLD}",
           "gaps": {"grid": "grids", "community": "communities", "street": "streets"}},
}
#: A cell of a table: its text and whether it is a number (right-aligned).
_Cell = tuple[str, bool]
#: Colours of the handling levels in the stacked bar, from the grid up.
LEVEL_COLORS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59")


@dataclass(frozen=True)
class Card:
    """A headline figure: label, value, unit and a detail line."""

    label: str
    value: str
    unit: str = ""
    detail: str = ""


def _share(part: float, whole: float) -> str:
    return "–" if not whole else f"{100 * part / whole:.1f}%"


def _mapped(frame: pd.DataFrame, codes: set[str]) -> pd.DataFrame:
    return frame[frame["code"].astype(str).isin(codes).to_numpy()]


def field_cards(overlays: Iterable[Overlay], grids: gpd.GeoDataFrame, *, units: gpd.GeoDataFrame | None,
                lang: str) -> list[Card]:
    """Return one card per overlay that has a headline figure, over the mapped ``grids`` (EPSG:4326)."""
    text = TEXT[lang]
    codes = set(grids["code"].astype(str))
    cards = []
    for made in overlays:
        source = _SOURCES[made.kind](made)
        if made.kind == "staffing":
            cards.append(_staffing_card(source, codes, text))
        elif made.kind == "party":
            cards.append(_party_card(_mapped(source, codes), text))
        elif made.kind == "liaison":
            cards.append(_liaison_card(source, codes, text))
        elif made.kind == "zones":
            cards.append(_zones_card(source, grids, text))
        elif made.kind == "circles":
            cards.append(_circles_card(source, units, text))
        elif made.kind == "patrols":
            cards.append(_patrols_card(_mapped(source, codes), made.column or "patrol_coverage",
                                       made.title(lang), text))
    return cards


def _patrols_card(frame: pd.DataFrame, column: str, title: str, text: dict) -> Card:
    """Return the share of units passed (for shares alone: their mean) and the grids patrolled too little."""
    if {"units", "units_passed"} <= set(frame.columns):
        units = pd.to_numeric(frame["units"], errors="coerce").fillna(0)
        passed = int(pd.to_numeric(frame["units_passed"], errors="coerce").fillna(0).sum())
        value = _share(passed, float(units.sum()))
        detail = text["patrols_units"].format(passed=f"{passed:,}", units=f"{int(units.sum()):,}",
                                              n=len(frame))
    else:
        values = pd.to_numeric(frame[column], errors="coerce").dropna()
        value = _share(values.mean(), 1) if len(values) else "–"
        detail = text["patrols_detail"].format(n=len(values))
    if {"patrols", "required"} <= set(frame.columns):
        short = pd.to_numeric(frame["patrols"], errors="coerce") < pd.to_numeric(frame["required"],
                                                                                errors="coerce")
        detail += text["patrols_short"].format(short=int(short.sum()))
    return Card(title, value, detail=detail)


def _staffing_card(tables: dict[str, pd.DataFrame], codes: set[str], text: dict) -> Card:
    grid = _mapped(tables["grid"], codes)
    broken = pd.to_numeric(grid["rules_broken"], errors="coerce").fillna(0).gt(0)
    vacancies = int(pd.to_numeric(grid["vacancies"], errors="coerce").fillna(0).sum())
    detail = text["staffing_detail"].format(ok=int((~broken).sum()), n=len(grid), vacancies=vacancies)
    above = sum(int(pd.to_numeric(tables[level]["rules_broken"], errors="coerce").fillna(0).gt(0).sum())
                for level in LEVELS if level in tables)
    if above:
        detail += text["units_broken"].format(units=above)
    return Card(text["staffing"], _share(int((~broken).sum()), len(grid)), detail=detail)


def _party_card(frame: pd.DataFrame, text: dict) -> Card:
    covered = frame["covered"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    detail = text["party_detail"].format(missing=int((~covered).sum()))
    if "members" in frame.columns and frame["members"].notna().any():
        detail += text["members"].format(members=f"{int(frame['members'].sum()):,}")
    return Card(text["party"], _share(int(covered.sum()), len(frame)), detail=detail)


def _liaison_card(tables: dict[str, pd.DataFrame], codes: set[str], text: dict) -> Card:
    gaps, covered, total = [], 0, 0
    for level in ("grid", *reversed(LEVELS)):
        table = tables.get(level)
        if table is None:
            continue
        if level == "grid":
            table = _mapped(table, codes)
        flags = table["covered"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        covered, total = covered + int(flags.sum()), total + len(flags)
        if (~flags).any():
            gaps.append(f"{text['gaps'].get(level, level)} {int((~flags).sum())}")
    detail = text["liaison_detail"].format(gaps=" · ".join(gaps)) if gaps else text["none_missing"]
    return Card(text["liaison"], _share(covered, total), detail=detail)


def _zones_card(zones: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, text: dict) -> Card:
    if "grid_codes" in zones.columns:
        entered = {code for value in zones["grid_codes"] for code in split_ids(value)}
        count = len(entered & set(grids["code"].astype(str)))
    else:
        shapes = np.asarray(zones.to_crs(grids.crs).geometry.values, dtype=object)
        tree = shapely.STRtree(np.asarray(grids.geometry.values, dtype=object))
        count = len(np.unique(tree.query(shapes, predicate="intersects")[1]))
    sites = int(pd.to_numeric(zones["n_sites"], errors="coerce").sum()) if "n_sites" in zones.columns \
        else len(zones)
    return Card(text["zones"], f"{len(zones):,}", text["unit_zones"],
                text["zones_detail"].format(grids=count, sites=sites))


def _circles_card(circles: gpd.GeoDataFrame, units: gpd.GeoDataFrame | None, text: dict) -> Card:
    minutes = pd.to_numeric(circles["minutes"], errors="coerce")
    steps = "/".join(f"{m:g}" for m in sorted(minutes.dropna().unique()))
    detail = text["circles_detail"].format(steps=steps)
    if units is not None and minutes.notna().any() and "households" in units.columns:
        from gridmap.fieldwork import circle_coverage

        longest = float(minutes.max())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GridmapWarning)
            covered = circle_coverage(circles[minutes.eq(longest).to_numpy()], units).communities
        households = float(pd.to_numeric(covered["households_in"], errors="coerce").sum())
        detail += text["circles_households"].format(
            m=longest, households=f"{round(households):,}",
            share=_share(households, float(pd.to_numeric(covered["households"], errors="coerce").sum())))
    return Card(text["circles"], f"{circles['centre_id'].nunique():,}", text["unit_centres"], detail)


def level_panel(overlays: Iterable[Overlay], *, lang: str, public: bool) -> str:
    """Return the stacked bar of the shares settled at each level, or "" without an escalation overlay."""
    made = next((o for o in overlays if o.kind == "escalation"), None)
    if made is None:
        return ""
    text = TEXT[lang]
    counts, skipped, returned = _level_counts(made)
    total = sum(counts.values())
    bar, keys = [], []
    x = 0.0
    for level, color in zip(HANDLING_LEVELS, LEVEL_COLORS, strict=True):
        count = counts[level]
        hidden = public and 0 < count < THRESHOLD
        share = count / total if total else 0.0
        name = HANDLING_LEVEL_NAMES_ZH[level] if lang == "zh" else level
        shown = text["suppressed"] if hidden else f"{100 * share:.1f}%"
        if share > 0:
            bar.append(f'<rect x="{x:.2f}" y="0" width="{100 * share:.2f}" height="18" fill="{color}">'
                       f"<title>{html.escape(name)}: {html.escape(shown)}</title></rect>")
            x += 100 * share
        keys.append(f'<span class="cockpit-level"><i style="background:{color}"></i>{html.escape(name)} '
                    f"{html.escape(shown)}</span>")
    note = text["levels_note"].format(skipped=_count(skipped, public, text), returned=_count(returned, public,
                                                                                           text))
    return (f'<div class="cockpit-panel cockpit-levels"><h2>{html.escape(text["levels"])}</h2>'
            f'<svg viewBox="0 0 100 18" preserveAspectRatio="none" role="img" '
            f'aria-label="{html.escape(text["levels"])}">{"".join(bar)}</svg>'
            f'<div class="cockpit-level-keys">{"".join(keys)}</div>'
            f'<div class="cockpit-note">{html.escape(note)}</div></div>')


def _count(value: int, public: bool, text: dict) -> str:
    return text["suppressed"] if public and 0 < value < THRESHOLD else f"{value:,}"


def _level_counts(made: Overlay) -> tuple[dict[str, int], int, int]:
    """Settled cases per level, cases that skipped a level, cases returned down."""
    data = made.data
    levels = getattr(data, "levels", None)
    cases = getattr(data, "cases", None)
    if isinstance(levels, pd.DataFrame) and isinstance(cases, pd.DataFrame):
        counts = dict(zip(levels["level"], levels["settled"].astype(int), strict=True))
        return ({level: int(counts.get(level, 0)) for level in HANDLING_LEVELS},
                int(cases["skipped"].sum()), int(cases["returned"].sum()))
    frame = _SOURCES["escalation"](made)
    settled = pd.to_numeric(frame.get("settled"), errors="coerce").fillna(0)
    counts = {level: int(round(float((settled * pd.to_numeric(frame.get(f"share_{level}", 0),
                                                               errors="coerce").fillna(0)).sum())))
              for level in HANDLING_LEVELS}
    totals = [int(pd.to_numeric(frame[c], errors="coerce").fillna(0).sum()) if c in frame.columns else 0
              for c in ("skipped", "returned")]
    return counts, totals[0], totals[1]


def _overlay_frame(overlays: Iterable[Overlay], kind: str) -> tuple[Overlay, pd.DataFrame] | None:
    """Return the overlay of ``kind`` and its table of grids, or None when the page has no such overlay."""
    made = next((o for o in overlays if o.kind == kind), None)
    return None if made is None else (made, _SOURCES[kind](made))


def quality_panel(overlays: Iterable[Overlay], grid_codes: list[str], community_names: list, *, lang: str,
                  rows: int = 5) -> str:
    """Return the table of the ``rows`` best and worst grids by quality index, or "" without that overlay.

    Each row carries its grid's position on the map (``data-grid``), so a click zooms to it.
    """
    found = _overlay_frame(overlays, "quality")
    if found is None:
        return ""
    _, frame = found
    text, position = TEXT[lang], {code: i for i, code in enumerate(grid_codes)}
    table = pd.DataFrame({"code": frame["code"].astype(str).to_numpy(),
                          "index": pd.to_numeric(frame["index"], errors="coerce").to_numpy()})
    table["rank"] = pd.to_numeric(frame["rank"], errors="coerce").to_numpy() if "rank" in frame.columns \
        else table["index"].rank(ascending=False, method="min").to_numpy()
    table = table[table["code"].isin(position).to_numpy() & table["index"].notna().to_numpy()]
    table = table.sort_values(["index", "code"], ascending=[False, True], kind="stable")
    shown = pd.concat([table.head(rows), table.iloc[rows:].tail(rows)])
    body = [(position[code], [(f"{int(rank)}", True), (code, False),
                              (community_names[position[code]] or "", False), (f"{value:.1f}", True)])
            for code, value, rank in shown.itertuples(index=False)]
    heads = [(text[key], key in ("rank", "index")) for key in ("rank", "code", "community", "index")]
    return _grid_rank_table(text["quality"].format(n=rows), heads, body, gap=rows)


def patrol_panel(overlays: Iterable[Overlay], grid_codes: list[str], community_names: list, *, lang: str,
                 rows: int = 5) -> str:
    """Return the table of the ``rows`` mapped grids with the lowest patrol coverage ("" without the overlay).

    Ties go to the grid patrolled least against its requirement, then to the lower code. Each row carries its
    grid's position on the map (``data-grid``), so a click zooms to it.
    """
    found = _overlay_frame(overlays, "patrols")
    if found is None:
        return ""
    made, frame = found
    text, position = TEXT[lang], {code: i for i, code in enumerate(grid_codes)}
    table = pd.DataFrame({"code": frame["code"].astype(str).to_numpy(),
                          "coverage": pd.to_numeric(frame[made.column or "patrol_coverage"],
                                                    errors="coerce").to_numpy(dtype=float)})
    done = {"patrols", "required"} <= set(frame.columns)
    if done:
        table["patrols"] = pd.to_numeric(frame["patrols"], errors="coerce").to_numpy(dtype=float)
        table["required"] = pd.to_numeric(frame["required"], errors="coerce").to_numpy(dtype=float)
        table["done"] = table["patrols"] / table["required"].where(table["required"] > 0)
    table = table[table["code"].isin(position).to_numpy() & table["coverage"].notna().to_numpy()]
    order = ["coverage", "done", "code"] if done else ["coverage", "code"]
    table = table.sort_values(order, kind="stable", na_position="last").head(rows)
    if table.empty:
        return ""
    body = [(position[row.code], [(row.code, False), (community_names[position[row.code]] or "", False),
                                  (f"{100 * row.coverage:.0f}%", True),
                                  *([(f"{row.patrols:g}/{row.required:g}", True)] if done else [])])
            for row in table.itertuples(index=False)]
    heads = [(text[key], key in ("coverage", "done"))
             for key in ("code", "community", "coverage", *(["done"] if done else []))]
    return _grid_rank_table(text["patrols_worst"].format(n=len(table)), heads, body, css=" cockpit-patrols")


def _grid_rank_table(title: str, heads: list[_Cell], body: list[tuple[int, list[_Cell]]],
                     *, css: str = "", gap: int | None = None) -> str:
    """Return a cockpit panel titled ``title`` with a table of grids, each row zooming the map to its grid.

    ``heads`` are the column headers and ``body`` the rows, each as the grid's position on the map (its
    ``data-grid``) and its cells; a header or cell is (text, numeric), a numeric one right-aligned
    (``class="num"``). The row at index ``gap`` opens the second part of the table (``cockpit-gap``); ``css``
    adds classes to the panel.
    """
    numeric, gap_class = ' class="num"', ' class="cockpit-gap"'

    def cells(tag: str, items: list[_Cell]) -> str:
        return "".join(f"<{tag}{numeric if num else ''}>{html.escape(value)}</{tag}>" for value, num in items)

    rows = "".join(f'<tr data-grid="{at}"{gap_class if order == gap else ""}>{cells("td", row)}</tr>'
                   for order, (at, row) in enumerate(body))
    return (f'<div class="cockpit-panel cockpit-top cockpit-rank{css}"><h2>{html.escape(title)}</h2>'
            f"<table><thead><tr>{cells('th', heads)}</tr></thead><tbody>{rows}</tbody></table></div>")
