"""Work in the field: patrols, patrol zones around sensitive sites, walking circles, escalation, satisfaction.

The stage after :mod:`gridmap.people` and before :mod:`gridmap.stats`.

* :mod:`gridmap.fieldwork.escalation` — handling histories (one row per step or per case):
  :func:`read_steps`, :func:`analyse_escalation`, the tiered response :class:`TierRules`;
* :mod:`gridmap.fieldwork.satisfaction` — :func:`read_feedback`, :func:`satisfaction_rates`,
  :func:`mediation_rates`, both at once: :func:`feedback_rates`;
* :mod:`gridmap.fieldwork.patrols` — :func:`summarize_patrols`: patrols per grid and period from check-ins
  or GPS tracks, against the rule table of :class:`PatrolRules`; :func:`read_patrols` reads the records
  (:mod:`gridmap.fieldwork.patrol_records`); out of core and on dask, :func:`summarize_patrols_partitioned`
  and :func:`summarize_patrols_dask` (:mod:`gridmap.fieldwork.patrol_engines`).
"""

from gridmap.fieldwork.circles import STRAIGHT_LINE_CAVEAT, CircleCoverage, circle_coverage, service_circles
from gridmap.fieldwork.escalation import Escalation, TierRules, analyse_escalation, clean_steps, read_steps
from gridmap.fieldwork.patrol_engines import summarize_patrols_dask, summarize_patrols_partitioned
from gridmap.fieldwork.patrol_records import clean_patrols, read_patrols
from gridmap.fieldwork.patrol_rules import PatrolRules
from gridmap.fieldwork.patrols import PatrolSummary, summarize_patrols
from gridmap.fieldwork.satisfaction import (
    clean_feedback,
    feedback_rates,
    mediation_rates,
    read_feedback,
    satisfaction_rates,
)
from gridmap.fieldwork.zones import ZoneCoverage, patrol_zones, zone_coverage

__all__: list[str] = [
    # escalation and satisfaction
    "read_steps", "clean_steps", "analyse_escalation", "Escalation", "TierRules",
    "read_feedback", "clean_feedback", "satisfaction_rates", "mediation_rates", "feedback_rates",
    # patrol zones around sensitive sites
    "patrol_zones",
    "zone_coverage",
    "ZoneCoverage",
    # walking circles around service centres
    "service_circles",
    "circle_coverage",
    "CircleCoverage",
    "STRAIGHT_LINE_CAVEAT",
    # patrols (issue 21)
    "read_patrols", "clean_patrols", "summarize_patrols", "summarize_patrols_partitioned",
    "summarize_patrols_dask", "PatrolRules", "PatrolSummary",
]
