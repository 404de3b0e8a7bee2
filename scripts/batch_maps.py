"""Write every district's and every street's one-screen map, and an index page linking them, in one command.

Reads what ``gridmap build`` or ``gridmap demo`` writes (layers ``grids``, ``communities``, optionally
``streets``, ``districts``, ``units`` and ``cases``). Each page is self-contained and opens offline.

Usage (from the repository root)::

    python scripts/batch_maps.py --gpkg demo/gridmap.gpkg --out maps
    python scripts/batch_maps.py --gpkg city.gpkg --cases cases.csv --coords gcj02 --out maps  # your files

Writes ``OUT/index.html``, ``OUT/districts/<code>.html`` and ``OUT/streets/<code>.html``; the folder is
staged and replaced whole, so a failure or Ctrl-C writes nothing and a rerun leaves no page of the last run
behind (a folder holding other files is refused). Exits 2 with the message on bad input.
"""

from __future__ import annotations

import argparse
import html
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd

from gridmap._interrupt import run_script
from gridmap.cli._output import refuse_overwriting, staged_folder
from gridmap.errors import GridmapError, GridmapWarning, SchemaError
from gridmap.io import list_layers, read_layer
from gridmap.io._atomic import write_text
from gridmap.maps import one_screen, save_html
from gridmap.maps.pages import VIEWPORT

__all__ = ["main", "write_maps"]

_MEASURES = ("population_density", "households", "cases_per_1000", "cases_per_km2")
_TEXT = {"zh": {"title": "网格地图索引", "districts": "区县", "streets": "街道（乡镇）", "grids": "个网格"},
         "en": {"title": "Grid maps", "districts": "Districts", "streets": "Streets", "grids": "grids"}}
_HTML_LANG = {"zh": "zh-CN", "en": "en"}
#: The files the maps folder holds: an existing --out holding anything else is refused, not replaced.
OWNED = ("index.html", "districts/*.html", "streets/*.html")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpkg", required=True, type=Path, help="GeoPackage with a 'grids' layer.")
    parser.add_argument("--out", required=True, type=Path, help="Folder to write (created if needed).")
    parser.add_argument("--cases", type=Path, default=None, help="Cases file [default: the 'cases' layer].")
    parser.add_argument("--coords", choices=("wgs84", "cgcs2000", "gcj02", "bd09"), default=None,
                        help="What the case coordinates are.")
    parser.add_argument("--measure", choices=_MEASURES, default=None,
                        help="Choropleth shown first [default: cases_per_km2 with cases, else "
                             "population_density].")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh")
    parser.add_argument("--public", action="store_true", help="Hide case counts below 5, no heat map.")
    return parser.parse_args(argv)


def read_city(gpkg: Path, *, cases: Path | None = None, coords: str | None = None) -> dict:
    """Read the layers of ``gpkg`` the maps show (and the cases file, when given)."""
    available = list_layers(gpkg)
    if "grids" not in available:
        raise GridmapError("the file has no 'grids' layer", path=gpkg,
                           fix="give the GeoPackage `gridmap build` or `gridmap demo` writes")
    wanted = ("grids", "communities", "streets", "districts", "units")
    layers = {name: read_layer(gpkg, name) for name in wanted if name in available}
    _check_community_codes(layers["grids"], path=gpkg)
    if cases is not None:
        from gridmap.cases import read_cases

        layers["cases"] = read_cases(cases, coords=coords)
    elif "cases" in available:
        layers["cases"] = read_layer(gpkg, "cases")
    return layers


def _by_prefix(frame: gpd.GeoDataFrame | None, column: str, prefix: str) -> gpd.GeoDataFrame | None:
    return None if frame is None else frame.loc[frame[column].astype(str).str.startswith(prefix)]


def _names(frame: gpd.GeoDataFrame | None) -> dict[str, str]:
    if frame is None or "name" not in frame.columns:
        return {}
    return dict(zip(frame["code"].astype(str), frame["name"].astype(str), strict=True))


def _check_community_codes(grids: gpd.GeoDataFrame, *, path: Path | None = None) -> None:
    """Refuse community codes that are not 12 ASCII digits: their prefixes name the pages written."""
    if "community_code" not in grids.columns:
        raise SchemaError("the grids have no community_code column", path=path, record="grids",
                          fix="give the GeoPackage `gridmap build` or `gridmap demo` writes")
    codes = grids["community_code"].astype(str)
    bad = ~codes.str.fullmatch(r"[0-9]{12}")
    if bad.any():
        position = int(bad.to_numpy().argmax())
        grid = grids["code"].astype(str).iloc[position] if "code" in grids.columns else f"row {position + 1}"
        raise SchemaError(f"{int(bad.sum())} grid(s) have a community_code that is not 12 digits, e.g. "
                          f"{codes.iloc[position]!r}", path=path, record=f"grid {grid}",
                          fix="give each grid the 12-digit code of its community (0-9 only)")


def write_maps(layers: dict, folder: Path, *, measure: str | None = None, lang: str = "zh",
               public: bool = False) -> dict[str, list[tuple[str, str, str, int]]]:
    """Write a map per district and per street into ``folder``; return the pages (code, name, file, grids)."""
    grids = layers["grids"]
    _check_community_codes(grids)
    admin = {name: layers.get(name) for name in ("communities", "streets", "districts")}
    options = {"units": layers.get("units"), "cases": layers.get("cases"), "lang": lang, "public": public,
               "measure": measure or ("cases_per_km2" if "cases" in layers else "population_density")}
    community = grids["community_code"].astype(str)
    pages: dict[str, list[tuple[str, str, str, int]]] = {"districts": [], "streets": []}
    for level, digits in (("districts", 6), ("streets", 9)):
        names = _names(admin[level])
        (folder / level).mkdir()
        for code in sorted(community.str[:digits].unique()):
            inside = community.str.startswith(code)
            name = names.get(code, code)
            if level == "streets":
                fmap = one_screen(grids, focus=code, title=name, **admin, **options)
            else:  # one_screen focuses on a street or community; a district is its grids and boundaries
                within = {kind: _by_prefix(frame, "code", code) for kind, frame in admin.items()}
                fmap = one_screen(grids.loc[inside], title=name, **within, **options)
            page = f"{level}/{code}.html"
            save_html(fmap, folder / page)
            pages[level].append((code, name, page, int(inside.sum())))
    return pages


def index_page(pages: dict[str, list[tuple[str, str, str, int]]], *, lang: str = "zh") -> str:
    """Return the index page linking every map, districts first."""
    text = _TEXT[lang]
    esc = html.escape  # every piece of text, data or not, is escaped
    parts = [f'<!DOCTYPE html>\n<html lang="{_HTML_LANG[lang]}"><head><meta charset="utf-8">{VIEWPORT}'
             f'<title>{esc(text["title"])}</title>'
             "<style>body{font-family:sans-serif;margin:2em}li{margin:.2em 0}</style></head><body>",
             f"<h1>{esc(text['title'])}</h1>"]
    for level in ("districts", "streets"):
        items = "".join(f'<li><a href="{esc(quote(page))}">{esc(name)}</a> {esc(code)} · '
                        f'{int(n)} {esc(text["grids"])}</li>' for code, name, page, n in pages[level])
        parts.append(f"<h2>{esc(text[level])}</h2><ul>{items}</ul>")
    return "\n".join(parts) + "\n</body></html>\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the script; return the exit code (0 written, 2 bad input)."""
    args = _parse(argv)
    try:
        refuse_overwriting({"--gpkg": args.gpkg, "--cases": args.cases}, {}, folders={"--out": args.out})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridmapWarning)
            layers = read_city(args.gpkg, cases=args.cases, coords=args.coords)
            with staged_folder(args.out, owned=OWNED, command="batch_maps.py") as staging:
                pages = write_maps(layers, staging, measure=args.measure, lang=args.lang, public=args.public)
                write_text(staging / "index.html", index_page(pages, lang=args.lang))
    except GridmapError as error:
        print(f"batch_maps: error: {error}", file=sys.stderr)
        return 2
    for warning in caught:
        print(f"batch_maps: warning: {warning.message}", file=sys.stderr)
    print(f"wrote {args.out}/index.html, {len(pages['districts'])} district and {len(pages['streets'])} "
          "street maps")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main, prog="batch_maps"))
