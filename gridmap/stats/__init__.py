"""Figures per grid and up the hierarchy: roll-ups and KPIs, hot spots (staffing: :mod:`gridmap.people`).

* :mod:`gridmap.stats.summary` — :func:`summarize`, :func:`summarize_levels`, small-count suppression and
  :func:`write_stats`;
* :mod:`gridmap.stats.quality` — the grid quality index (网格+ 质效评估): :func:`quality_measures`,
  :func:`quality_index`, :class:`IndexConfig`;
* :mod:`gridmap.stats.hotspots` — Getis-Ord, local Moran, case rates and kernel density
  (``pip install gridmap[analysis]`` for the first two).
"""

from gridmap.stats.hotspots import case_rates, getis_ord, kernel_density, local_moran
from gridmap.stats.quality import IndexConfig, quality_index, quality_measures
from gridmap.stats.summary import (
    CASE_COUNT_COLUMNS,
    HEADERS_ZH,
    PERIODS,
    summarize,
    summarize_levels,
    suppress_small_counts,
    write_stats,
)

__all__ = [
    "summarize",
    "summarize_levels",
    "suppress_small_counts",
    "write_stats",
    "getis_ord",
    "local_moran",
    "case_rates",
    "kernel_density",
    "PERIODS",
    "CASE_COUNT_COLUMNS",
    "HEADERS_ZH",
    "quality_measures",
    "quality_index",
    "IndexConfig",
]
