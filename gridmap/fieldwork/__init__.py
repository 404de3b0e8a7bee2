"""Work in the field: patrols, patrol zones around sensitive sites, walking circles, escalation, satisfaction.

The stage after :mod:`gridmap.people` and before :mod:`gridmap.stats`.

* :mod:`gridmap.fieldwork.escalation` — handling histories (one row per step or per case):
  :func:`read_steps`, :func:`analyse_escalation`, the tiered response :class:`TierRules`;
* :mod:`gridmap.fieldwork.satisfaction` — :func:`read_feedback`, :func:`satisfaction_rates`,
  :func:`mediation_rates`.
"""

from gridmap.fieldwork.circles import STRAIGHT_LINE_CAVEAT, CircleCoverage, circle_coverage, service_circles
from gridmap.fieldwork.escalation import Escalation, TierRules, analyse_escalation, clean_steps, read_steps
from gridmap.fieldwork.satisfaction import clean_feedback, mediation_rates, read_feedback, satisfaction_rates
from gridmap.fieldwork.zones import ZoneCoverage, patrol_zones, zone_coverage

__all__: list[str] = [
    # escalation and satisfaction
    "read_steps", "clean_steps", "analyse_escalation", "Escalation", "TierRules",
    "read_feedback", "clean_feedback", "satisfaction_rates", "mediation_rates",
    # patrol zones around sensitive sites 
    "patrol_zones",
    "zone_coverage",
    "ZoneCoverage",
    # walking circles around service centres 
    "service_circles",
    "circle_coverage",
    "CircleCoverage",
    "STRAIGHT_LINE_CAVEAT",
]
