"""gridmap — community grid management (网格化服务管理) for Chinese cities and counties.

Load administrative boundaries and base units, divide communities into grids, code them, analyse
population and cases per grid, and render offline one-screen maps.
"""

from gridmap.errors import (
    CodeError,
    CRSError,
    GeometryError,
    CaseError,
    RegistryError,
    TopologyError,
    GridmapError,
    GridmapWarning,
    ReadError,
    SchemaError,
    WriteError,
)
from gridmap.report import Report

__version__ = "0.1.0"

__all__ = [
    "__version__",
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
    "Report",
]
