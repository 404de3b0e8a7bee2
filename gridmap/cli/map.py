"""``gridmap map``: the one-screen map, the cockpit or a static map of a grid layer."""

from __future__ import annotations

from pathlib import Path

import click

from gridmap.cli._output import Steps, counted, echo_wrote, refuse_overwriting, staged_folder
from gridmap.cli._overlays import OverlayFiles, field_overlays, overlay_options, read_overlay_files
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

__all__ = ["map_command"]

_MEASURES = ["population_density", "households", "cases_per_1000", "cases_per_km2"]
_STATIC = (".png", ".pdf", ".svg")


_EXAMPLES = """
  gridmap map demo/gridmap.gpkg --out map.html                            # every grid of the city, offline
  gridmap map demo/gridmap.gpkg --out minzhu.html --street 990102001      # one street (民主街道), for phones
  gridmap map demo/gridmap.gpkg --cockpit --period 2025-06 --out screen.html   # the 1920×1080 cockpit, June
  gridmap map demo/gridmap.gpkg --measure cases_per_1000 --public --out public.html   # for publication
  gridmap map demo/gridmap.gpkg --measure households --out households.png      # static map for a report
  gridmap map demo/gridmap.gpkg --per-community phone/ --street 990102001   # phone pages + index.html

  # layers for people and field work (off when the page opens; tick them in the layer menu)
  gridmap map demo/gridmap.gpkg --cockpit --roster data/sample/roster.csv --party data/sample/party.csv \
      --liaison data/sample/liaison.csv --steps data/sample/case_steps.csv --index --out people.html
  gridmap map demo/gridmap.gpkg --street 990102001 --sites data/sample/sites.gpkg \
      --centres data/sample/centres.gpkg --paths data/sample/footpaths.gpkg \
      --patrols data/sample/patrols.parquet --out field.html
  # one community: patrol coverage and each worker's GPS track of a day (巡查轨迹), with their role;
  # the layer options go on every phone page of --per-community OUTDIR too
  gridmap map demo/gridmap.gpkg --community 990102001006 --patrols data/sample/patrols.parquet \
      --roster data/sample/roster.csv --out tracks.html

  # cases geocoded with Amap (GCJ-02), shown on your own grids
  gridmap map city.gpkg --cases cases.csv --coords gcj02 --out map.html  # your files

  # your own base map, offline: tiles cut from Gaode (GCJ-02) in a folder, an MBTiles file or on a server
  gridmap map demo/gridmap.gpkg --tiles tiles/ --tiles-crs gcj02 --out map.html         # your files
  gridmap map demo/gridmap.gpkg --tiles city.mbtiles --tiles-crs gcj02 --out map.html   # your files
  gridmap map demo/gridmap.gpkg --tiles "http://tiles/{z}/{x}/{y}.png" --tiles-crs gcj02 --out map.html
"""


@click.command("map", epilog=epilog(_EXAMPLES))
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Output: .html (self-contained page), or .png/.pdf/.svg for a static map.")
@click.option("--per-community", "per_community", type=click.Path(file_okay=False), default=None,
              metavar="OUTDIR",
              help="Instead of --out: a light phone page per community (<code>.html) and index.html listing "
                   "them with a search box, written to OUTDIR as a whole (with --street: its communities); "
                   "the layer options below go on every page.")
@click.option("--layer", default=None, help="Grid layer of FILE [default: 'grids', or the only one].")
@click.option("--cockpit", "as_cockpit", is_flag=True,
              help="The 1920×1080 cockpit page: map, headline figures, cases by month, top grids.")
@click.option("--community", default=None, metavar="CODE", help="Map one community (12-digit code) alone.")
@click.option("--street", default=None, metavar="CODE", help="Map one street (9-digit code) alone.")
@click.option("--measure", type=click.Choice(_MEASURES), default=None,
              help="Choropleth shown first [default: population_density; cases_per_km2 on a cockpit with "
                   "cases].")
@click.option("--scheme", type=click.Choice(["quantiles", "natural_breaks"]), default="quantiles",
              show_default=True, help="How the classes are cut.")
@click.option("--classes", "k", type=click.IntRange(2, 9), default=5, show_default=True,
              help="Number of classes.")
@click.option("--cases", "cases_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Cases file [default: FILE's 'cases' layer, if any].")
@coords_option
@click.option("--staff", "staff_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Staff roster [default: FILE's 'staff' layer, if any].")
@click.option("--show-staff", is_flag=True,
              help="Show grid leaders' names and phones in popups (not with --public).")
@click.option("--period", default=None, metavar="PERIOD",
              help="Cases reported in this period only: 2025-06 (month), 2025Q2, 2025 [default: all].")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--basemap", type=click.Choice(["none", "osm", "tianditu", "amap"]), default="none",
              show_default=True, help="'none' works offline; the others load tiles from the internet.")
@tiles_options
@click.option("--tianditu-key", default=None, envvar="TIANDITU_KEY",
              help="Tianditu (天地图) browser key, for --basemap tianditu [env: TIANDITU_KEY].")
@click.option("--public", is_flag=True,
              help="For publication: case counts below 5 hidden, no heat map, no staff names or phones.")
@click.option("--title", default=None, help="Title of the map or cockpit.")
@overlay_options
@quiet_option
@click.pass_context
def map_command(ctx: click.Context, path: str, out: str | None, per_community: str | None, layer: str | None,
                as_cockpit: bool,
                community: str | None, street: str | None, measure: str | None, scheme: str, k: int,
                cases_path: str | None, coords: str | None, staff_path: str | None, show_staff: bool,
                period: str | None, lang: str, basemap: str, tiles: str | None, tiles_crs: str | None,
                tianditu_key: str | None, public: bool, title: str | None, roster_path: str | None,
                liaison_path: str | None, party_path: str | None, sites_path: str | None,
                centres_path: str | None, paths_path: str | None, steps_path: str | None,
                feedback_path: str | None, patrols_path: str | None, patrol_rules_path: str | None,
                quality_index: bool) -> None:
    """Map the grids of FILE (what `gridmap build` writes, or any grid layer with codes) as one page.

    With --roster, --party, --liaison, --sites, --centres, --steps, --index or --patrols the page gains
    layers for people and field work, off when it opens: grids and units breaking a staffing rule, grids
    with and without a grid party branch, units without a liaison, patrol zones, walking circles, the
    settled-in-grid rate, the quality index and each grid's patrol coverage (a cockpit also sums each up);
    a --community page and the --per-community pages also draw the GPS tracks through their grids. Popups
    name grid leaders and workers only, no phone, no id; none at all with --public.
    """
    source = tile_source_of(tiles, tiles_crs, basemap=basemap)
    files = OverlayFiles(roster=roster_path, liaison=liaison_path, party=party_path, sites=sites_path,
                         centres=centres_path, paths=paths_path, steps=steps_path, feedback=feedback_path,
                         patrols=patrols_path, patrol_rules=patrol_rules_path)
    with_layers = files.any() or quality_index
    if per_community is not None:
        _per_community(ctx, path, per_community, layer=layer, as_cockpit=as_cockpit, community=community,
                       street=street, out=out, cases_path=cases_path, coords=coords, staff_path=staff_path,
                       files=files, quality=quality_index,
                       options={"measure": measure or "population_density", "scheme": scheme, "k": k,
                                "period": period, "lang": lang, "basemap": basemap, "tiles": source,
                                "tianditu_key": tianditu_key, "public": public, "title": title})
        return
    if out is None:
        raise click.UsageError("give --out FILE (a page or a static map), or --per-community OUTDIR")
    refuse_overwriting({"FILE": path, "--cases": cases_path, "--staff": staff_path, **tiles_input(source),
                        **files.inputs()}, {"--out": out})
    if community and street:
        raise click.UsageError("give --community or --street, not both")
    suffix = Path(out).suffix.lower()
    if suffix not in (".html", ".htm", *_STATIC):
        raise click.BadParameter("name a .html file, or .png/.pdf/.svg for a static map", param_hint="--out")
    if source is not None and suffix in _STATIC:
        raise click.UsageError("--tiles draws under a .html page; a static map has no base map")
    if as_cockpit and (community or street or suffix in _STATIC):
        raise click.UsageError("--cockpit maps the whole file to a .html page; drop --community/--street")
    if with_layers and suffix in _STATIC:
        raise click.UsageError("the layers for people and field work are drawn on .html pages: name a .html "
                               "--out, or drop the layer options")
    quiet = is_quiet(ctx)
    what = "cockpit" if as_cockpit else "static map" if suffix in _STATIC else "map"
    with echo_warnings(quiet=quiet), Steps("map", 3 if with_layers else 2, quiet=quiet) as step:
        step(f"read {path}")
        layers = read_city(path, layer=layer, cases_path=cases_path, coords=coords, staff_path=staff_path)
        overlays = []
        if with_layers:
            step("analyse people and field work")
            focus = community or street
            overlays = field_overlays(layers["grids"], read_overlay_files(files, coords=coords, area=focus),
                                      cases=layers.get("cases"), quality=quality_index,
                                      near=_focused(layers["grids"], focus) if focus else None,
                                      units=layers.get("units"), tracks=community is not None)
        step(f"draw the {what} {out}")
        _write(layers, out, suffix=suffix, as_cockpit=as_cockpit, focus=community or street, measure=measure,
               scheme=scheme, k=k, show_staff=show_staff, period=period, lang=lang, basemap=basemap,
               tiles=source, tianditu_key=tianditu_key, public=public, title=title, overlays=overlays)
    scope = f"community {community}" if community else f"street {street}" if street else \
        counted(len(layers["grids"]), "grid")
    extra = f", {counted(len(overlays), 'layer')} for people and field work" if overlays else ""
    echo_wrote(out, f"{what} of {scope}{extra}{', small counts suppressed' if public else ''}", quiet=quiet)


def _per_community(ctx: click.Context, path: str, folder: str, *, layer, as_cockpit: bool, community,
                   street, out, cases_path, coords, staff_path, files: OverlayFiles, quality: bool,
                   options: dict) -> None:
    """Write a phone page per community and their index into ``folder``, staged and swapped in whole.

    The layers for people and field work are made once, over the grids of ``street`` (or all), and each page
    draws what lies on its grids: patrol tracks too (:func:`field_overlays` with ``tracks``).
    """
    from gridmap.maps.pages import save_community_pages

    if out is not None or as_cockpit or community:
        raise click.UsageError("--per-community writes a folder of pages: drop --out, --cockpit and "
                               "--community (--street keeps the street's communities)")
    refuse_overwriting({"FILE": path, "--cases": cases_path, "--staff": staff_path,
                        **tiles_input(options["tiles"]), **files.inputs()}, {},
                       folders={"--per-community": folder})
    quiet = is_quiet(ctx)
    with_layers = files.any() or quality
    with echo_warnings(quiet=quiet), Steps("map", 3 if with_layers else 2, quiet=quiet) as step:
        step(f"read {path}")
        layers = read_city(path, layer=layer, cases_path=cases_path, coords=coords, staff_path=staff_path)
        grids = _focused(layers["grids"], street)
        overlays = []
        if with_layers:
            step("analyse people and field work")
            overlays = field_overlays(layers["grids"], read_overlay_files(files, coords=coords, area=street),
                                      cases=layers.get("cases"), quality=quality,
                                      near=grids if street else None, units=layers.get("units"), tracks=True)
        step.add(_community_count(grids))
        with staged_folder(folder, owned=("*.html",), command="gridmap map --per-community") as staging:
            pages = save_community_pages(
                grids, staging, communities=layers.get("communities"), streets=layers.get("streets"),
                districts=layers.get("districts"), units=layers.get("units"), cases=layers.get("cases"),
                progress=step, overlays=overlays, **options)
            step("index page")
    count = len(pages)
    extra = f", {counted(len(overlays), 'layer')} for people and field work" if overlays else ""
    echo_wrote(f"{folder}/", f"index.html and {count} community page{'s' * (count != 1)}{extra}"
                             f"{', small counts suppressed' if options['public'] else ''}", quiet=quiet)


def _community_count(grids) -> int:
    from gridmap.maps.figures import community_codes

    return int(community_codes(grids).nunique())


def _write(layers: dict, out: str, *, suffix: str, as_cockpit: bool, focus, measure, scheme, k, show_staff,
           period, lang, basemap, tiles, tianditu_key, public, title, overlays: list) -> None:
    from gridmap.maps import one_screen, save_cockpit, save_html, static_map

    grids = layers["grids"]
    admin = {name: layers.get(name) for name in ("communities", "streets", "districts")}
    if suffix in _STATIC:
        static_map(_focused(grids, focus), out, measure=measure or "population_density", lang=lang,
                   scheme=scheme, k=k, title=title, communities=admin["communities"],
                   cases=layers.get("cases"), period=period, public=public)
    elif as_cockpit:
        save_cockpit(grids, out, cases=layers.get("cases"), staff=layers.get("staff"),
                     units=layers.get("units"), title=title, period=period, lang=lang, public=public,
                     basemap=basemap, tiles=tiles, tianditu_key=tianditu_key, overlays=overlays, **admin)
    else:
        fmap = one_screen(grids, units=layers.get("units"), cases=layers.get("cases"),
                          staff=layers.get("staff"), measure=measure or "population_density", scheme=scheme,
                          k=k, lang=lang, basemap=basemap, tiles=tiles, tianditu_key=tianditu_key,
                          period=period, show_staff=show_staff, public=public, focus=focus, title=title,
                          overlays=overlays, **admin)
        save_html(fmap, out)


def _focused(grids, focus: str | None):
    """Return the grids of one street or community (for a static map)."""
    from gridmap.errors import GridmapError
    from gridmap.maps.figures import community_codes

    if focus is None:
        return grids
    inside = community_codes(grids).str.startswith(focus).to_numpy()
    if not inside.any():
        raise GridmapError(f"no grid lies in {focus}", record=f"focus {focus}",
                           fix="check the code against the grids' community_code column")
    return grids.loc[inside]
