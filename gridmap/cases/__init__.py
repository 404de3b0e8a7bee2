"""Cases (事件/案件/病例): read and clean them, index the grids, put every case in one grid, at any scale.

* :mod:`gridmap.cases.read` — :func:`read_cases` and :func:`clean_cases`;
* :mod:`gridmap.cases.assign` — :func:`assign` (in memory or on a dask cluster) and :func:`in_grids`;
* :mod:`gridmap.cases.locate` — the in-memory assignment every engine shares;
* :mod:`gridmap.cases.address` — :func:`match_addresses` and :func:`normalize_address`: locate cases by
  address or compound name against the units (a gazetteer), never guessing between near candidates;
* :mod:`gridmap.cases.gridindex` — :class:`GridIndex`, the point-in-grid index built once and reused;
* :mod:`gridmap.cases.periods` — :func:`~gridmap.cases.periods.period_labels`, the one way every table
  labels its days, weeks and months;
* :mod:`gridmap.cases.engines` — out-of-core batches and dask clusters for archives larger than memory.
"""

from gridmap.cases.address import match_addresses, normalize_address
from gridmap.cases.assign import assign, in_grids
from gridmap.cases.gridindex import GridIndex
from gridmap.cases.read import CASE_COLUMNS, LEVEL_NAMES, clean_cases, normalize_level, read_cases

__all__ = ["read_cases", "clean_cases", "assign", "in_grids", "normalize_level", "match_addresses",
           "normalize_address", "GridIndex", "CASE_COLUMNS", "LEVEL_NAMES"]
