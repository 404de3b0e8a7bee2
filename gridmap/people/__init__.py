"""People and organisation on the grid: who stands behind each grid and who answers for it at each level.

The stage after :mod:`gridmap.cases` and before :mod:`gridmap.fieldwork`: it reads rosters, party branches,
liaison tables and service centres and checks them against the grids and a table of rules.
"""

__all__: list[str] = []
