"""Divide communities into grids (网格划分): assign units, group them, tile each community exactly.

:func:`build_grids` does the whole job and returns a :class:`GridBuild`; :class:`GridRules` holds the rules
(household range, population cap, rural and dedicated thresholds); :func:`assign_units` is the first step on
its own; with ``barriers=`` (streets, rivers, railways) grids follow them (:mod:`gridmap.division.barriers`).
:func:`build_microgrids` divides grids into micro-grids (微网格) of a few buildings (:class:`MicroRules`).
:mod:`gridmap.division.checks` is the 一张网 QA of any grid layer (:func:`check`: gaps, overlaps,
units in no or two grids) and :mod:`gridmap.division.crosswalk` matches grids to other networks (多网合一).
"""

from gridmap.division.assign import assign_units
from gridmap.division.build import GridBuild, build_grids
from gridmap.division.checks import check, coverage_gaps, coverage_overlaps
from gridmap.division.crosswalk import crosswalk, crosswalk_summary
from gridmap.division.microgrids import MicroBuild, build_microgrids
from gridmap.division.rules import GridRules, MicroRules

__all__ = ["build_grids", "GridBuild", "GridRules", "build_microgrids", "MicroBuild", "MicroRules",
           "assign_units", "check", "coverage_gaps", "coverage_overlaps", "crosswalk", "crosswalk_summary"]
