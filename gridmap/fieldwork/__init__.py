"""Work in the field: patrols, patrol zones around sensitive sites, walking circles, escalation, satisfaction.

The stage after :mod:`gridmap.people` and before :mod:`gridmap.stats`.

* :mod:`gridmap.fieldwork.patrols` — :func:`summarize_patrols`: patrols per grid and period from check-ins
  or GPS tracks, against the rule table of :class:`PatrolRules`; :func:`read_patrols` reads the records
  (:mod:`gridmap.fieldwork.patrol_records`); out of core and on dask, :func:`summarize_patrols_partitioned`
  and :func:`summarize_patrols_dask` (:mod:`gridmap.fieldwork.patrol_engines`).
"""

from gridmap.fieldwork.patrol_engines import summarize_patrols_dask, summarize_patrols_partitioned
from gridmap.fieldwork.patrol_records import clean_patrols, read_patrols
from gridmap.fieldwork.patrol_rules import PatrolRules
from gridmap.fieldwork.patrols import PatrolSummary, summarize_patrols

__all__: list[str] = [
    # patrols (issue 21)
    "read_patrols", "clean_patrols", "summarize_patrols", "summarize_patrols_partitioned",
    "summarize_patrols_dask", "PatrolRules", "PatrolSummary",
]
