"""Work in the field: patrols, patrol zones around sensitive sites, walking circles, escalation and satisfaction.

The stage after :mod:`gridmap.people` and before :mod:`gridmap.stats`.
"""

from gridmap.fieldwork.zones import ZoneCoverage, patrol_zones, zone_coverage

__all__: list[str] = [
    # patrol zones around sensitive sites (zones helper)
    "patrol_zones",
    "zone_coverage",
    "ZoneCoverage",
]
