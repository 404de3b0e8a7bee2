"""gridmap — community grid management (网格化服务管理) for Chinese cities and counties.

Load administrative boundaries and base units, divide communities into grids, code them, analyse
population and cases per grid, and render offline one-screen maps.

Examples
--------
>>> import gridmap
>>> city = gridmap.load_sample()
>>> sorted(city.communities["kind"].unique())
['rural', 'urban']
>>> gridmap.validate_admin(city.communities, parents=city.streets)[1].ok
True
"""

__version__ = "0.1.0"

# first, before the heavy imports below: started as the `gridmap` command, Ctrl-C or SIGTERM while they load
# ends the process with one line instead of a KeyboardInterrupt traceback (see gridmap._interrupt)
from gridmap import _interrupt  # noqa: F401, I001
from typing import TYPE_CHECKING

from gridmap.errors import (
    CaseError,
    CodeError,
    CRSError,
    GeometryError,
    GridmapError,
    GridmapWarning,
    ReadError,
    RegistryError,
    SchemaError,
    TopologyError,
    WriteError,
)

if TYPE_CHECKING:  # what __getattr__ imports on first use, for type checkers and readers
    from gridmap import cases, codes, crs, fieldwork, maps, people, stats
    from gridmap.cases import GridIndex, read_cases
    from gridmap.codes.registry import Registry
    from gridmap.datasets import load_sample
    from gridmap.division import (
        GridBuild,
        GridRules,
        MicroBuild,
        MicroRules,
        assign_units,
        build_grids,
        build_microgrids,
        check,
        coverage_gaps,
        coverage_overlaps,
        crosswalk,
        crosswalk_summary,
    )
    from gridmap.fieldwork import (  # issue 21: zones and circles
        CircleCoverage,
        PatrolRules,
        ZoneCoverage,
        analyse_escalation,
        circle_coverage,
        feedback_rates,
        mediation_rates,
        patrol_zones,
        read_patrols,
        read_steps,
        satisfaction_rates,
        service_circles,
        summarize_patrols,
        zone_coverage,
    )
    from gridmap.findings import Report
    from gridmap.io import (
        City,
        add_hierarchy,
        list_layers,
        load_city,
        read_division_codes,
        read_layer,
        read_table,
        repair_geometries,
        validate_admin,
        validate_units,
        write_layer,
    )
    from gridmap.people import (
        CentreCheck,
        PartyCoverage,
        StaffingRules,
        check_centres,
        check_liaison,
        check_staffing,
        party_coverage,
        public_roster,
        read_centres,
        read_liaison,
        read_party,
        read_roster,
        read_staff,
        staffing,
    )
    from gridmap.stats import quality_index, quality_measures, summarize

#: Where each public name lives: imported on first use, so `import gridmap` costs little more than geopandas
#: and a script that only reads a layer never loads the registry, the cases engines or the maps.
_LAZY = {
    **dict.fromkeys(("cases", "codes", "crs", "maps", "stats", "io", "division", "datasets", "schema",
                     "findings", "people"), ""),
    **dict.fromkeys(("GridIndex", "read_cases"), "gridmap.cases"),
    "Registry": "gridmap.codes.registry",
    "load_sample": "gridmap.datasets",
    **dict.fromkeys(("GridBuild", "GridRules", "MicroBuild", "MicroRules", "assign_units", "build_grids",
                     "build_microgrids", "check", "coverage_gaps", "coverage_overlaps", "crosswalk",
                     "crosswalk_summary"), "gridmap.division"),
    "Report": "gridmap.findings",
    **dict.fromkeys(("patrol_zones", "zone_coverage", "ZoneCoverage", "service_circles", "circle_coverage",
                     "CircleCoverage"), "gridmap.fieldwork"),  # issue 21: zones and circles
    "fieldwork": "",  # issue 21: patrols
    **dict.fromkeys(("PatrolRules", "read_patrols", "summarize_patrols"), "gridmap.fieldwork"),
    **dict.fromkeys(("City", "add_hierarchy", "list_layers", "load_city", "read_division_codes", "read_layer",
                     "read_table", "repair_geometries", "validate_admin", "validate_units", "write_layer"),
                    "gridmap.io"),
    **dict.fromkeys(("summarize", "quality_measures", "quality_index"), "gridmap.stats"),
    **dict.fromkeys(("read_steps", "analyse_escalation", "satisfaction_rates", "mediation_rates",
                     "feedback_rates"), "gridmap.fieldwork"),
    # people and organisation (issue 20)
    **dict.fromkeys(("read_roster", "public_roster", "read_staff", "staffing", "StaffingRules",
                     "check_staffing", "read_liaison", "check_liaison", "PartyCoverage", "party_coverage",
                     "read_party", "CentreCheck", "check_centres", "read_centres"), "gridmap.people"),
}


def __getattr__(name: str) -> object:
    """Import a public name's module on first use (PEP 562) and keep the name in the package."""
    if name not in _LAZY:
        raise AttributeError(f"module 'gridmap' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(_LAZY[name] or f"gridmap.{name}")
    value = module if not _LAZY[name] else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "__version__",
    # reading and writing
    "read_layer",
    "read_table",
    "list_layers",
    "write_layer",
    "load_sample",
    "load_city",
    "City",
    "read_cases",
    "read_staff",
    "read_roster",
    "read_liaison",
    "crs",
    "codes",
    "cases",
    "stats",
    "staffing",
    "people",
    "maps",
    # checking inputs
    "validate_admin",
    "validate_units",
    "repair_geometries",
    "add_hierarchy",
    "read_division_codes",
    # dividing and checking grids
    "build_grids",
    "build_microgrids",
    "MicroBuild",
    "MicroRules",
    "assign_units",
    "GridRules",
    "GridBuild",
    "check",
    "coverage_gaps",
    "coverage_overlaps",
    "crosswalk",
    "crosswalk_summary",
    # codes and analysis
    "Registry",
    "GridIndex",
    "summarize",
    "read_steps",
    "analyse_escalation",
    "satisfaction_rates",
    "mediation_rates",
    "feedback_rates",
    "quality_measures",
    "quality_index",
    # field work (issue 21): patrol zones and walking circles
    "patrol_zones",
    "zone_coverage",
    "ZoneCoverage",
    "service_circles",
    "circle_coverage",
    "CircleCoverage",
    # party organisation and service centres (issue 20)
    "party_coverage",
    "read_party",
    "PartyCoverage",
    "check_centres",
    "read_centres",
    "CentreCheck",
    # people on the grid
    "StaffingRules",
    "check_staffing",
    "check_liaison",
    "public_roster",
    # field work (issue 21)
    "fieldwork",
    "read_patrols",
    "summarize_patrols",
    "PatrolRules",
    # results and errors
    "Report",
    "GridmapError",
    "ReadError",
    "WriteError",
    "SchemaError",
    "CodeError",
    "CRSError",
    "GeometryError",
    "TopologyError",
    "RegistryError",
    "CaseError",
    "GridmapWarning",
]
