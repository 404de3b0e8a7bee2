"""The layers for people and field work that ``gridmap map`` and ``gridmap demo`` add to their pages.

``gridmap map`` takes one file per layer (:func:`overlay_options`); ``gridmap demo`` takes the sample's.
Both run the same analyses (:func:`field_overlays`): the staffing rules on the roster, party coverage, the
liaison check, patrol zones around the sites, walking circles around the centres, escalation from the
handling histories, the quality index and patrol coverage from patrol records, and give them to the map as
:class:`gridmap.maps.Overlay`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import click
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.cli.options import join_inputs, read_inputs
from gridmap.errors import GridmapWarning

__all__ = ["OverlayFiles", "overlay_options", "read_overlay_files", "field_overlays", "patrol_coverage",
           "OVERLAY_HELP"]

#: One line per option, for the --help of the commands that take them.
OVERLAY_HELP = {
    "roster": "Roster of every role (person_id, name, role, level, unit_code): the layer of grids and units "
              "breaking a staffing rule (人员配备不达标).",
    "liaison": "Liaison table (leaders and the units they link to): the layer of units without a liaison "
               "of the level above (联系领导缺位).",
    "party": "Party organisations (网格党支部 …) keyed to grid codes or as points: the layer of grids "
             "with and without a grid party branch; with --roster, leaders who are not party members.",
    "sites": "Sensitive sites (schools, hospitals, stations …): the layer of patrol zones around them "
             "(巡控区).",
    "centres": "Service centres: the layer of 5-, 10- and 15-minute walking circles around them "
               "(步行服务圈).",
    "paths": "Roads and footpaths the walking circles follow [default: straight-line circles].",
    "steps": "Handling histories of the cases: the layer of each grid's settled-in-grid rate (网格内化解率).",
    "feedback": "Satisfaction per case (满意度): a measure of the quality index (needs --index).",
    "patrols": "Patrol records, GPS tracks or check-ins (any file `gridmap patrols` reads): the layer of "
               "each grid's patrol coverage, the share of its units passed (巡查覆盖率), over the grids of "
               "--street/--community or all; needs a units layer in FILE. GPS tracks also give a --community "
               "page and each --per-community page the layer of the tracks through its grids (巡查轨迹: a "
               "line per worker and day, with the role, day, metres and points; the name only as for "
               "the other layers, with --roster); a whole city or a street gets none (too many lines), "
               "nor do check-ins.",
    "patrol_rules": "Patrol rules (TOML, [patrols] table) for --patrols [default: one patrol per grid per "
                    "day, units passed within 50 m].",
}
#: The records checks the patrol layer leaves to ``gridmap patrols`` (the layer shows the shortfalls).
_GRID_CHECKS = ("under_patrolled", "idle_grid")


@dataclass(frozen=True)
class OverlayFiles:
    """The files of the layers for people and field work (None: not given)."""

    roster: str | None = None
    liaison: str | None = None
    party: str | None = None
    sites: str | None = None
    centres: str | None = None
    paths: str | None = None
    steps: str | None = None
    feedback: str | None = None
    patrols: str | None = None
    patrol_rules: str | None = None

    def inputs(self) -> dict[str, str | None]:
        """Return the files by option, for ``refuse_overwriting``."""
        return {_option(item.name): getattr(self, item.name) for item in fields(self)}

    def any(self) -> bool:
        """Whether any file is given."""
        return any(path is not None for path in self.inputs().values())


def overlay_options(command: Callable) -> Callable:
    """Add the options of the layers for people and field work (read them with :func:`read_overlay_files`).

    ``--roster``, ``--liaison``, ``--party``, ``--sites``, ``--centres``, ``--paths``, ``--steps``,
    ``--feedback``, ``--patrols``, ``--patrol-rules`` and the flag ``--index``.
    """
    command = click.option("--index", "quality_index", is_flag=True,
                           help="Add the layer of the grid quality index (网格质效指数), from the cases (and "
                                "--steps, --feedback when given).")(command)
    for name in reversed([item.name for item in fields(OverlayFiles)]):
        command = click.option(_option(name), f"{name}_path", type=click.Path(exists=True, dir_okay=False),
                               default=None, metavar="FILE", help=OVERLAY_HELP[name])(command)
    return command


def _option(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def read_overlay_files(files: OverlayFiles, *, coords: str | None, area: str | None = None) -> dict[str, Any]:
    """Read the files given, by name (what :func:`field_overlays` takes).

    ``area``: the code of the street or community mapped alone; patrols are measured on its grids.
    """
    from gridmap.fieldwork import PatrolRules, read_feedback, read_steps
    from gridmap.people import read_liaison, read_party, read_roster

    readers: dict[str, Callable[[str], Any]] = {
        "roster": read_roster, "liaison": read_liaison,
        "party": lambda path: read_party(path, coords=coords),
        "sites": lambda path: _layer(path, ["sites"], "--sites", coords),
        "centres": lambda path: _layer(path, ["centres"], "--centres", coords),
        "paths": lambda path: _layer(path, ["footpaths", "roads"], "--paths", coords, first=True),
        "steps": read_steps, "feedback": read_feedback,
        "patrols": lambda path: [(_patrol_records(path, coords), area)],
        "patrol_rules": PatrolRules.from_toml,
    }
    return {item.name: readers[item.name](getattr(files, item.name)) for item in fields(files)
            if getattr(files, item.name) is not None}


def _patrol_records(path: str, coords: str | None) -> gpd.GeoDataFrame:
    """Read patrol records; the records a value is missing from are counted in one warning."""
    from gridmap.fieldwork import read_patrols
    from gridmap.findings import Report

    findings = Report("patrol records")
    records = read_patrols(path, coords=coords, report=findings)
    counts = findings.counts()
    if len(counts):
        listed = ", ".join(f"{check} {n:,}" for check, n in counts.items())
        warnings.warn(f"{path}: patrol records with a value missing ({listed}); `gridmap patrols` lists them",
                      GridmapWarning, stacklevel=2)
    return records


def _layer(path: str, defaults: list[str], option: str, coords: str | None, *,
           first: bool = False) -> gpd.GeoDataFrame:
    """Read a file's only layer, else the ``defaults`` it holds (the first of them with ``first``)."""
    inputs = read_inputs(path, [], defaults=defaults, option=option, coords=coords)
    return join_inputs(inputs[:1] if first else inputs)


def field_overlays(grids: gpd.GeoDataFrame, given: dict[str, Any], *, cases: pd.DataFrame | None,
                   quality: bool = False, near: gpd.GeoDataFrame | None = None,
                   units: gpd.GeoDataFrame | None = None, tracks: bool = False) -> list:
    """Run the analyses the ``given`` tables allow and return their layers, in the order of the map.

    ``near``: the grids of a map of one street or community; walking circles are drawn only around the
    centres inside them (the checks always run on all ``grids``). ``given["patrols"]`` lists (records, area)
    pairs: each set of patrol records is measured on the grids whose code starts with its area (all grids
    when None) against ``given["patrol_rules"]``, the share of the ``units`` passed being each grid's
    coverage (also a measure of the quality index). With ``tracks`` (community pages), GPS tracks are also
    drawn: a ``tracks`` layer of every worker's line of a day, with their role from ``given["roster"]``
    when it lists them (each page draws the lines through its grids); check-ins add nothing.

    Raises
    ------
    click.UsageError
        ``--steps`` or ``--index`` without cases, ``--paths`` without ``--centres``, ``--feedback`` without
        ``--index``, ``--patrol-rules`` without ``--patrols``, ``--patrols`` without units.
    """
    from gridmap.maps import overlay

    if cases is None and ("steps" in given or quality):
        raise click.UsageError("--steps and --index need cases: give --cases FILE, or a FILE with a cases "
                               "layer")
    if "paths" in given and "centres" not in given:
        raise click.UsageError("--paths is what the walking circles follow: give --centres too")
    if "feedback" in given and not quality:
        raise click.UsageError("--feedback is a measure of the quality index: give --index too")
    if "patrol_rules" in given and "patrols" not in given:
        raise click.UsageError("--patrol-rules are the rules of the patrol layer: give --patrols too")
    if "patrols" in given and units is None:
        raise click.UsageError("patrol coverage is the share of each grid's units passed: give a FILE with a "
                               "units layer (gridmap build writes one)")
    layers = _people(grids, given)
    if near is not None and "centres" in given:
        given = {**given, "centres": _inside(given["centres"], near)}
    patrols, drawn = None, None
    if "patrols" in given:
        patrols, drawn = patrol_coverage(grids, given["patrols"], units=units,
                                         rules=given.get("patrol_rules"), tracks=tracks)
    layers += _fieldwork(grids, given, cases=cases, quality=quality, patrols=patrols)
    made = [overlay(data, kind=kind) for kind, data in layers]
    if patrols is not None:
        made.append(overlay(patrols, kind="patrols", column="coverage"))
    if drawn is not None and len(drawn):
        made.append(overlay(_with_roles(drawn, given.get("roster")), kind="tracks"))
    return made


def patrol_coverage(grids: gpd.GeoDataFrame, patrols: list[tuple[gpd.GeoDataFrame, str | None]], *,
                    units: gpd.GeoDataFrame, rules: Any = None,
                    tracks: bool = False) -> tuple[pd.DataFrame, gpd.GeoDataFrame | None]:
    """Return the patrol measures per grid (``PatrolSummary.grids`` without polygons) of each set of records.

    ``patrols``: (records, area) pairs, as :func:`read_overlay_files` gives them; each is measured on the
    grids whose code starts with its area (all grids when None). Records left out or merged are summed up in
    one warning; the grids patrolled less than required are what the layer shows. With ``tracks``, the
    second item is every set's ``PatrolSummary.tracks`` (EPSG:4326; empty for check-ins), else None.
    """
    from gridmap.fieldwork import summarize_patrols
    from gridmap.findings import Report

    codes = grids["code"].astype(str)
    frames, lines, messages = [], [], []
    for records, area in patrols:
        measured = grids if area is None else grids[codes.str.startswith(area).to_numpy()]
        findings = Report("patrols")
        summary = summarize_patrols(records, measured, units=units, rules=rules, tracks=tracks,
                                    report=findings)
        frames.append(pd.DataFrame(summary.grids.drop(columns="geometry")))
        lines.append(summary.tracks.to_crs("EPSG:4326"))
        table = findings.to_frame()
        messages += table.loc[~table["check"].isin(_GRID_CHECKS), "message"].tolist()
    if messages:
        warnings.warn(f"patrol records: {'; '.join(messages)}", GridmapWarning, stacklevel=2)
    drawn = gpd.GeoDataFrame(pd.concat(lines, ignore_index=True), crs="EPSG:4326") if tracks else None
    return pd.concat(frames, ignore_index=True), drawn


def _with_roles(tracks: gpd.GeoDataFrame, roster: pd.DataFrame | None) -> gpd.GeoDataFrame:
    """Add each worker's ``role`` and ``name`` from the roster (the first role of the roster's order).

    The tracks layer shows the role, and the name only where the roster's privacy rule allows it.
    """
    if roster is None:
        return tracks
    from gridmap.schema import ROSTER_ROLES

    people = roster.loc[roster["person_id"].notna(), ["person_id", "role", "name"]]
    order = people["role"].map({role: k for k, role in enumerate(ROSTER_ROLES)})
    people = people.assign(order=order).sort_values("order", kind="stable").drop_duplicates("person_id")
    found = people.set_index(people["person_id"].astype(str))
    ids = tracks["person_id"].astype(str)
    return tracks.assign(role=ids.map(found["role"]).to_numpy(), name=ids.map(found["name"]).to_numpy())


def _inside(centres: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the centres that lie in the ``grids`` (a polygon centre: any part of it)."""
    area = shapely.union_all(np.asarray(grids.to_crs(centres.crs).geometry.values, dtype=object))
    return centres[centres.intersects(area).to_numpy()]


def _people(grids: gpd.GeoDataFrame, given: dict[str, Any]) -> list[tuple[str, object]]:
    from gridmap.people import check_liaison, check_staffing, party_coverage

    layers: list[tuple[str, object]] = []
    roster = given.get("roster")
    if roster is not None:
        layers.append(("staffing", check_staffing(roster, grids)))
    if "party" in given:
        layers.append(("party", party_coverage(grids, given["party"], roster=roster)))
    if "liaison" in given:
        layers.append(("liaison", check_liaison(given["liaison"], grids)))
    return layers


def _fieldwork(grids: gpd.GeoDataFrame, given: dict[str, Any], *, cases: pd.DataFrame | None,
               quality: bool, patrols: pd.DataFrame | None) -> list[tuple[str, object]]:
    from gridmap.fieldwork import (
        analyse_escalation,
        patrol_zones,
        satisfaction_rates,
        service_circles,
        zone_coverage,
    )

    layers: list[tuple[str, object]] = []
    if "sites" in given:
        layers.append(("zones", zone_coverage(patrol_zones(given["sites"]), grids)))
    if "centres" in given:
        layers.append(("circles", service_circles(given["centres"], given.get("paths"))))
    escalation = None
    if "steps" in given:
        escalation = analyse_escalation(given["steps"], cases, grids=grids)
        layers.append(("escalation", escalation))
    if quality:
        from gridmap.stats import quality_index, quality_measures

        satisfaction = satisfaction_rates(cases, given["feedback"], grids=grids) if "feedback" in given \
            else None
        extra = [] if patrols is None else [patrols[["code"]].assign(patrol_coverage=patrols["coverage"])]
        measures = quality_measures(grids, cases, escalation=escalation, satisfaction=satisfaction,
                                    extra=extra)
        layers.append(("quality", quality_index(measures)))
    return layers
