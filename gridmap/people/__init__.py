"""People and organisation on the grid: who stands behind each grid and who answers for it at each level.

The stage after :mod:`gridmap.cases` and before :mod:`gridmap.fieldwork`: it reads rosters, party branches,
liaison tables and service centres and checks them against the grids and a table of rules.
"""

from gridmap.people.centres import CentreCheck, check_centres, read_centres
from gridmap.people.party import PartyCoverage, party_coverage, read_party

__all__: list[str] = []
# party organisation and service centres (issue 20)
__all__ += ["PartyCoverage", "party_coverage", "read_party", "CentreCheck", "check_centres", "read_centres"]
