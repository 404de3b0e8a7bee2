"""People and organisation on the grid: who stands behind each grid and who answers for it at each level.

The stage after :mod:`gridmap.cases` and before :mod:`gridmap.fieldwork`: it reads rosters, party branches,
liaison tables and service centres and checks them against the grids and a table of rules.

* :mod:`gridmap.people.roster` — :func:`read_roster` (roles and levels of every post, Chinese or English
  headers) and :func:`public_roster` (what a public output may show);
* :mod:`gridmap.people.staffing` — the "1+1+1+N" grid staff: :func:`read_staff` and its check;
* :mod:`gridmap.people.rules` — :class:`StaffingRules` (a table; defaults from the seeds, a city's TOML) and
  :func:`check_staffing`;
* :mod:`gridmap.people.liaison` — :func:`read_liaison` and :func:`check_liaison` (全覆盖联系, 004);
* :mod:`gridmap.people.units` — :func:`units_from_grids`: grids, communities, streets and districts.
"""

from gridmap.people import staffing
from gridmap.people.centres import CentreCheck, check_centres, read_centres
from gridmap.people.liaison import check_liaison, read_liaison
from gridmap.people.party import PartyCoverage, party_coverage, read_party
from gridmap.people.roster import as_roster, public_roster, read_roster
from gridmap.people.rules import StaffingRule, StaffingRules, check_staffing
from gridmap.people.staffing import grid_staff, read_staff
from gridmap.people.units import units_from_grids

__all__: list[str] = [
    # roster, staffing rules and liaison
    "read_roster",
    "as_roster",
    "public_roster",
    "read_staff",
    "grid_staff",
    "staffing",
    "StaffingRule",
    "StaffingRules",
    "check_staffing",
    "read_liaison",
    "check_liaison",
    "units_from_grids",
    # party organisation and service centres
    "PartyCoverage",
    "party_coverage",
    "read_party",
    "CentreCheck",
    "check_centres",
    "read_centres",
]
