"""Work in the field: patrols, patrol zones around sensitive sites, walking circles, escalation and satisfaction.

The stage after :mod:`gridmap.people` and before :mod:`gridmap.stats`.
"""

from gridmap.fieldwork.circles import STRAIGHT_LINE_CAVEAT, CircleCoverage, circle_coverage, service_circles
from gridmap.fieldwork.zones import ZoneCoverage, patrol_zones, zone_coverage

__all__: list[str] = [
    # patrol zones around sensitive sites (zones helper)
    "patrol_zones",
    "zone_coverage",
    "ZoneCoverage",
    # walking circles around service centres (zones helper)
    "service_circles",
    "circle_coverage",
    "CircleCoverage",
    "STRAIGHT_LINE_CAVEAT",
]
