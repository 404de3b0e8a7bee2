"""Grid codes (the grid's "identity card") and Beidou grid location codes (GB/T 39409-2020).

:mod:`gridmap.codes.scheme` writes, reads and checks grid codes laid out by a :class:`CodeScheme`
(community code + sequence by default) and numbers new grids in reading order;
:mod:`gridmap.codes.beidou` encodes points as Beidou grid location codes and decodes them to cells.
"""

from gridmap.codes.beidou import beidou, beidou_cell, beidou_decode, beidou_level
from gridmap.codes.registry import Registry, RegistryDiff
from gridmap.codes.scheme import (
    CJT_349,
    COLUMNS,
    DEFAULT,
    SCHEMES,
    TYPE_DIGIT,
    CodeScheme,
    GridCode,
    assign_sequential_codes,
    check_code,
    format_code,
    get_scheme,
    parse,
    parse_many,
    validate,
)
from gridmap.division.order import reading_order

__all__ = [
    "Registry",
    "RegistryDiff",
    "CodeScheme",
    "GridCode",
    "DEFAULT",
    "TYPE_DIGIT",
    "CJT_349",
    "SCHEMES",
    "COLUMNS",
    "get_scheme",
    "format_code",
    "parse",
    "parse_many",
    "validate",
    "check_code",
    "reading_order",
    "assign_sequential_codes",
    "beidou",
    "beidou_decode",
    "beidou_cell",
    "beidou_level",
]
