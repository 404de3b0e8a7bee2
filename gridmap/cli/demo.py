"""``gridmap demo``: every step gridmap has, run on the bundled sample city."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import click

from gridmap.cli._output import Steps, echo_wrote, show_progress, staged_folder
from gridmap.cli.options import epilog, is_quiet, quiet_option

__all__ = ["demo", "OWNED"]

#: The files the demo folder holds: an existing --out holding anything else is refused, not replaced.
OWNED = ("index.html", "cockpit.html", "gridmap.gpkg", "registry.sqlite", "registry.sqlite-*")

_EXAMPLES = """
  gridmap demo --out demo               # index.html (map), cockpit.html (一屏), gridmap.gpkg, registry.sqlite
  gridmap demo --out demo --lang en      # again, in English: the same folder keeps its grid codes
"""
#: The street whose footpaths the sample holds (data/sample/footpaths.gpkg): its centres' walking circles.
FOOTPATH_STREET = "990102001"
#: The sample's patrol records and the street or town each covers (data/sample/README.md, Patrols).
PATROL_AREAS = {"patrols.parquet": "990102001", "patrol_checkins.csv": "990121100"}


@click.command(epilog=epilog(_EXAMPLES))
@click.option("--out", "out", type=click.Path(file_okay=False), default="demo", show_default=True,
              help="Folder to write (created if needed, replaced whole); its registry.sqlite, if any, is "
                   "kept.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of map labels, legends and popups.")
@quiet_option
@click.pass_context
def demo(ctx: click.Context, out: str, lang: str) -> None:
    """Run everything on the sample city (示例市): validate, divide, code, check, locate cases and map.

    The sample city carries deliberate flaws (units without or with a wrong community code, compounds
    straddling a community line); the command reports them and carries on, as an analyst would. The map
    and the cockpit carry the layers for people and field work from data/sample (roster, party branches,
    liaison, patrol zones, the walking circles of 民主街道's centres along its footpaths, escalation, quality
    index, the patrol coverage of 民主街道's GPS tracks and 城关镇's check-ins), off when the page opens.
    """
    from gridmap.cases.assign import assign
    from gridmap.cli.options import register_codes
    from gridmap.datasets import load_sample, sample_path
    from gridmap.division import build_grids
    from gridmap.division.checks import check
    from gridmap.errors import GridmapWarning
    from gridmap.io import write_layer
    from gridmap.io.validation import validate_admin, validate_units
    from gridmap.maps import one_screen, save_cockpit, save_html

    quiet = is_quiet(ctx)
    with Steps("demo", 9, quiet=quiet) as step:
        step("read and validate the sample city")
        city = load_sample()
        layers: dict[str, Any] = {}
        reports = []
        gpkg = sample_path() / "sample_city.gpkg"  # where load_sample() read the city from
        for name, parents in (("districts", None), ("streets", "districts"), ("communities", "streets")):
            parent_layer = layers.get(parents) if parents else None
            layers[name], report = validate_admin(getattr(city, name), parents=parent_layer,
                                                  path=f"{gpkg}:{name}")
            reports.append(report)
        units, report = validate_units(city.units, path=gpkg)
        reports.append(report)

        with staged_folder(out, owned=OWNED, command="gridmap demo") as staging:
            registry = staging / "registry.sqlite"
            if (Path(out) / registry.name).exists():  # codes issued by an earlier run are kept
                shutil.copy2(Path(out) / registry.name, registry)
            with warnings.catch_warnings():
                # the sample's deliberate flaws are reported below, once, with the other findings
                warnings.simplefilter("ignore", GridmapWarning)
                step("divide into grids")
                build = build_grids(layers["communities"], units, progress=show_progress(quiet))
                step("give permanent codes")
                build = register_codes(build, registry)
                step("put cases in grids")
                cases = assign(city.cases, build.grids)
            step("check")
            reports += [build.report, check(build.grids, layers["communities"])]
            step("layers for people and field work")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", GridmapWarning)  # the sample's planted gaps are the point
                overlays = _sample_overlays(build.grids, cases, layers["streets"], build.units)
            layers.update(units=build.units, grids=build.grids, cases=cases, staff=city.staff)
            step("write gridmap.gpkg")
            gpkg = staging / "gridmap.gpkg"
            for name, frame in layers.items():
                write_layer(frame, gpkg, name, mode="a")
            maps = {name: layers[name] for name in ("districts", "streets", "communities", "units", "cases",
                                                     "staff")}
            title = "示例市 网格化服务管理" if lang == "zh" else "Sample city grid management"
            step("map index.html")
            save_html(one_screen(build.grids, **maps, lang=lang, title=title, overlays=overlays),
                      staging / "index.html")
            step("cockpit cockpit.html")
            save_cockpit(build.grids, staging / "cockpit.html", **maps, lang=lang, title=title,
                         overlays=overlays)

    if not quiet:
        for report in reports:
            click.echo(report.summary())
    echo_wrote(f"{out}/", f"index.html map, cockpit.html 一屏 ({len(overlays)} layers for people and field "
                          "work), "
                          f"gridmap.gpkg with {len(layers)} layers "
                          f"({', '.join(layers)}), registry.sqlite with {len(build.grids)} grid codes",
               quiet=quiet)


def _sample_overlays(grids, cases, streets, units) -> list:
    """Return the layers for people and field work from the sample's files (data/sample/README.md)."""
    from gridmap.cli._overlays import field_overlays
    from gridmap.datasets import sample_path
    from gridmap.fieldwork import read_feedback, read_patrols, read_steps
    from gridmap.io import read_layer
    from gridmap.people import read_liaison, read_party, read_roster

    folder = sample_path()
    centres = read_layer(folder / "centres.gpkg", "centres")
    street = streets.loc[streets["code"].astype(str).eq(FOOTPATH_STREET).to_numpy()].to_crs(centres.crs)
    given = {"roster": read_roster(folder / "roster.csv"), "liaison": read_liaison(folder / "liaison.csv"),
             "party": read_party(folder / "party.csv"), "sites": read_layer(folder / "sites.gpkg"),
             "centres": centres[centres.within(street.geometry.union_all()).to_numpy()],
             "paths": read_layer(folder / "footpaths.gpkg"), "steps": read_steps(folder / "case_steps.csv"),
             "feedback": read_feedback(folder / "case_feedback.csv"),
             "patrols": [(read_patrols(folder / name), area) for name, area in PATROL_AREAS.items()]}
    return field_overlays(grids, given, cases=cases, quality=True, units=units)
