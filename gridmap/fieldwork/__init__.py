"""Work in the field: patrols, patrol zones around sensitive sites, walking circles, escalation and satisfaction.

The stage after :mod:`gridmap.people` and before :mod:`gridmap.stats`.
"""

__all__: list[str] = []
