"""Work in the field: patrols, patrol zones around sensitive sites, walking circles, escalation, satisfaction.

The stage after :mod:`gridmap.people` and before :mod:`gridmap.stats`.

* :mod:`gridmap.fieldwork.patrols` — :func:`summarize_patrols` (and out of core,
  :func:`summarize_patrols_partitioned`): patrols per grid and period from check-ins or GPS tracks,
  against the rule table of :class:`PatrolRules`; :func:`read_patrols` reads the records.
"""

from gridmap.fieldwork.patrol_records import clean_patrols, read_patrols
from gridmap.fieldwork.patrol_rules import PatrolRules
from gridmap.fieldwork.patrols import PatrolSummary, summarize_patrols, summarize_patrols_partitioned

__all__: list[str] = [
    # patrols (issue 21)
    "read_patrols", "clean_patrols", "summarize_patrols", "summarize_patrols_partitioned", "PatrolRules",
    "PatrolSummary",
]
