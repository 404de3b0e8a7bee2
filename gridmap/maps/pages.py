"""One phone page per community, and an index page that lists them with a search box.

:func:`save_community_pages` writes ``<community code>.html`` (the one-screen map of that community alone,
:func:`gridmap.maps.one_screen` with ``focus``) for every community of the grids, and ``index.html``: the
communities with their street, grids, households and population, a search box that filters the list as one
types (name, code or street), and a link to each page. Every page is self-contained and offline, has a
``viewport`` meta so a phone shows it at its own width, and stays light (a community's page is about
200–300 KB). Writing the folder whole is the caller's job (``gridmap map --per-community`` stages it).

Examples
--------
>>> import pathlib, tempfile
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> grids = gpd.GeoDataFrame({"code": ["450102001003001", "450102001004001"],
...                           "community_code": ["450102001003", "450102001004"], "households": [420, 380],
...                           "population": [1250, 1100]},
...                          geometry=[box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.32, 22.81)],
...                          crs="EPSG:4490")
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> [page["file"] for page in save_community_pages(grids, folder)]
['450102001003.html', '450102001004.html']
>>> sorted(p.name for p in folder.iterdir())
['450102001003.html', '450102001004.html', 'index.html']
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import pandas as pd
from branca.element import Figure

from gridmap.maps.base import RawHTML, write_page
from gridmap.maps.figures import community_codes

__all__ = ["save_community_pages", "community_entries", "index_page", "VIEWPORT"]

#: The viewport meta of gridmap's plain pages (index, summary): the phone's own width, zoom allowed.
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'

_TEXT = {
    "zh": {"title": "各社区（村）网格地图", "search": "搜索社区、街道或编码", "count": "共 {n} 个社区（村）",
           "grids": "网格", "households": "户", "population": "人", "unknown": "未知",
           "none": "没有匹配的社区", "back": "‹ 全部社区",
           "public": "公开版：少于5件的数字不显示"},
    "en": {"title": "Grid maps by community", "search": "Search a community, street or code",
           "count": "{n} communities", "count_one": "{n} community", "back": "‹ All communities",
           "grids": "grids", "grids_one": "grid", "households": "households", "households_one": "household",
           "population": "people", "population_one": "person", "unknown": "unknown",
           "none": "No community matches", "public": "Public version: counts below 5 are not shown"},
}
_CSS = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0;
  padding: 12px; color: #1a1a1a; background: #fff; font-size: 16px; line-height: 1.5; }
h1 { font-size: 20px; margin: 4px 0 10px; }
input[type=search] { width: 100%; box-sizing: border-box; font-size: 16px; padding: 10px 12px;
  border: 1px solid #888; border-radius: 6px; }
p.count, p.note { color: #444; font-size: 14px; margin: 8px 0; }
ul { list-style: none; margin: 0; padding: 0; }
li { border-bottom: 1px solid #ddd; }
li a { display: block; padding: 10px 4px; color: #0645ad; text-decoration: none; }
li a b { font-size: 17px; color: #1a1a1a; }
li a span { display: block; font-size: 14px; color: #444; }
li[hidden] { display: none; }
"""
_BACK_CSS = (".gridmap-back { position: absolute; z-index: 1000; left: 10px; bottom: 64px; "
             "padding: 8px 12px; "
             "background: #fff; color: #0645ad; border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.4); "
             "font: 15px sans-serif; text-decoration: none; }")
_SCRIPT = """
(function () {
  var box = document.getElementById("search"), items = document.querySelectorAll("#pages li"),
      count = document.getElementById("count"), none = document.getElementById("none");
  var template = count.getAttribute("data-template"), one = count.getAttribute("data-one");
  function filter() {
    var words = box.value.trim().toLowerCase().split(/\\s+/).filter(Boolean), shown = 0;
    items.forEach(function (item) {
      var text = item.getAttribute("data-search");
      var match = words.every(function (word) { return text.indexOf(word) >= 0; });
      item.hidden = !match;
      if (match) { shown += 1; }
    });
    count.textContent = (shown === 1 ? one : template).replace("{n}", shown);
    none.hidden = shown > 0;
  }
  box.addEventListener("input", filter);
  filter();
})();
"""


def save_community_pages(grids: gpd.GeoDataFrame, folder: str | os.PathLike, *,
                         communities: gpd.GeoDataFrame | None = None, streets: gpd.GeoDataFrame | None = None,
                         lang: str = "zh", title: str | None = None, public: bool = False,
                         progress: Callable[[str], None] | None = None, **options: Any) -> list[dict]:
    """Write one phone page per community of ``grids`` and ``index.html`` into ``folder``; return the pages.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Grids as for :func:`gridmap.maps.one_screen`; their ``community_code`` (or the first 12 digits of
        the code) says which page each goes on.
    folder : str or os.PathLike
        An existing folder; the files are written into it one by one (each atomically).
    communities, streets : geopandas.GeoDataFrame, optional
        Admin layers (``code``, ``name``): names on the pages and in the index.
    lang : {"zh", "en"}, default "zh"
    title : str, optional
        Title of the index page.
    public : bool, default False
        Small case counts hidden on every page (see :func:`gridmap.maps.one_screen`).
    progress : callable, optional
        Called with ``"community <code>"`` before each page is made (the CLI's progress steps).
    **options
        Passed to :func:`gridmap.maps.one_screen` (``units``, ``cases``, ``districts``, ``period``,
        ``measure``, ``basemap``, ``overlays`` …); each page draws what of an overlay lies on its grids
        (the lines of a ``tracks`` overlay that pass through them; no tracks layer where none does).

    Returns
    -------
    list of dict
        Per page, in code order: ``code``, ``name``, ``street``, ``file`` (relative to ``folder``),
        ``grids``, ``households``, ``population`` (None where unknown).
    """
    from gridmap.maps import one_screen, save_html

    folder, text = Path(folder), _TEXT[lang]
    entries = community_entries(grids, communities=communities, streets=streets)
    for entry in entries:
        if progress is not None:
            progress(f"community {entry['code']}")
        fmap = one_screen(grids, communities=communities, streets=streets, lang=lang, public=public,
                          focus=entry["code"], title=entry["name"] or entry["code"], **options)
        back = html.escape(text["back"])
        figure = cast(Figure, fmap.get_root())
        figure.html.add_child(RawHTML(f'<a class="gridmap-back" href="index.html">{back}</a>'
                                      f"<style>{_BACK_CSS}</style>"), name="gridmap_back")
        save_html(fmap, folder / entry["file"])
    write_page(index_page(entries, lang=lang, title=title, public=public), folder / "index.html",
               what="index page")
    return entries


def community_entries(grids: gpd.GeoDataFrame, *, communities: gpd.GeoDataFrame | None = None,
                      streets: gpd.GeoDataFrame | None = None) -> list[dict]:
    """Return the index entries of the communities of ``grids``, in code order (see the page writer)."""
    codes = community_codes(grids).reset_index(drop=True)
    table = pd.DataFrame({"code": codes})
    for column in ("households", "population"):
        table[column] = pd.to_numeric(grids[column], errors="coerce").to_numpy() if column in grids.columns \
            else float("nan")
    grouped = table.groupby("code", sort=True)
    # a community with one grid of unknown households has unknown households, not a smaller number
    sums = grouped[["households", "population"]].agg(lambda s: s.sum() if s.notna().all() else None)
    names, street_names = _names(communities), _names(streets)
    return [{"code": code, "name": names.get(code, ""), "street": street_names.get(code[:9], ""),
             "file": f"{code}.html", "grids": int(size),
             "households": _whole(sums.at[code, "households"]),
             "population": _whole(sums.at[code, "population"])}
            for code, size in grouped.size().items()]


def _whole(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _names(frame: gpd.GeoDataFrame | None) -> dict[str, str]:
    if frame is None or not {"code", "name"} <= set(frame.columns):
        return {}
    return dict(zip(frame["code"].astype(str), frame["name"].fillna("").astype(str), strict=True))


def index_page(entries: list[dict], *, lang: str = "zh", title: str | None = None,
               public: bool = False) -> str:
    """Return the index page: the communities as a list of links, with a search box that filters it.

    The page is plain HTML with a few lines of inline script (no library), a ``viewport`` meta and large
    touch targets, so it reads on a 360 px wide phone; it makes no request.

    Examples
    --------
    >>> page = index_page([{"code": "450102001003", "name": "翠竹社区", "street": "民主街道",
    ...                     "file": "450102001003.html", "grids": 4, "households": 1200, "population": None}])
    >>> 'href="450102001003.html"' in page and "人口 未知" not in page and "未知 人" in page
    True
    """
    text = _TEXT[lang]
    heading = title or text["title"]
    items = []
    for entry in entries:
        figures = " · ".join(f"{_figure(entry.get(key), text)} {_word(text, key, entry.get(key))}"
                             for key in ("grids", "households", "population"))
        label = entry["name"] or entry["code"]
        searched = " ".join([entry["name"], entry["code"], entry["street"]]).lower()
        items.append(f'<li data-search="{html.escape(searched)}"><a href="{html.escape(entry["file"])}">'
                     f"<b>{html.escape(label)}</b><span>{html.escape(entry['street'])} {entry['code']}</span>"
                     f"<span>{html.escape(figures)}</span></a></li>")
    note = f'<p class="note">{html.escape(text["public"])}</p>' if public else ""
    template, one = (json.dumps(_word(text, "count", n), ensure_ascii=False)[1:-1] for n in (2, 1))
    language = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
            f"{VIEWPORT}<title>{html.escape(heading)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(heading)}</h1>{note}"
            f'<input type="search" id="search" placeholder="{html.escape(text["search"])}" '
            f'aria-label="{html.escape(text["search"])}" autocomplete="off">'
            f'<p class="count" id="count" data-template="{html.escape(template)}" '
            f'data-one="{html.escape(one)}">'
            f"{html.escape(_word(text, 'count', len(entries)).format(n=len(entries)))}</p>"
            f'<ul id="pages">{"".join(items)}</ul>'
            f'<p class="note" id="none" hidden>{html.escape(text["none"])}</p>'
            f"<script>{_SCRIPT}</script></body></html>\n")


def _word(text: dict, key: str, number) -> str:
    """Return the word for ``number`` of a thing: "1 grid", "2 grids" (Chinese has one form)."""
    return text.get(f"{key}_one", text[key]) if number == 1 else text[key]


def _figure(value, text: dict) -> str:
    return text["unknown"] if value is None else f"{value:,}"
