"""Divide communities into grids (网格划分): assign units, group them, tile each community exactly.

:func:`build_grids` does the whole job and returns a :class:`GridBuild`; :class:`GridRules` holds the rules
(household range, population cap, rural and dedicated thresholds); :func:`assign_units` is the first step on
its own.
"""

from gridmap.division.assign import assign_units
from gridmap.division.build import GridBuild, build_grids
from gridmap.division.rules import GridRules

__all__ = ["build_grids", "GridBuild", "GridRules", "assign_units"]
