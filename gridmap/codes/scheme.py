"""Grid codes: the layout of a grid's "identity card" and the functions that write, read and check it.

A grid code is the 12-digit statistical division code of the grid's community or village (county 6 +
street 3 + community 3) followed by the grid's fields. The layout is a :class:`CodeScheme`; three ship:

========================  ===========================================  ===========================
scheme                    layout                                       example
========================  ===========================================  ===========================
:data:`DEFAULT`           community 12 + sequence 3 (= 15)             ``450102001003007``
:data:`TYPE_DIGIT`        community 12 + type 1 + sequence 3 (= 16)    ``4501020010031007``
:data:`CJT_349`           object 6 + community 12 + sequence 2 (= 20)  ``00000045010200100307``
========================  ===========================================  ===========================

The default follows DB11/T 2157-2023 and common systems: the type of a grid (city / rural / dedicated)
is an attribute, not a digit. Schemes with ``micro_width`` accept micro-grid codes too: the grid code
followed by a micro-grid sequence (01–99). Codes are always strings.

Grids issued together in one community are numbered in reading order, "west to east, then north to
south" (DB6101/T 3185-2024, DB11/T 2157-2023): see :func:`gridmap.division.order.reading_order` and
:func:`assign_sequential_codes`. Later grids take the next free number (the registry's job).

Examples
--------
>>> code = format_code("450102001003", 7)
>>> code
'450102001003007'
>>> parse(code).street_code
'450102001'
>>> validate("450102000003007")
["street field '000' of code 450102000003007 must be 001–599"]
"""

from __future__ import annotations

import logging
import math
import operator
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.division.order import reading_order
from gridmap.errors import CodeError, SchemaError

__all__ = [
    "FIELD_NAMES",
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
    "assign_sequential_codes",
]

logger = logging.getLogger(__name__)

#: Names a scheme's fields may take. ``community`` is always the 12-digit statistical division code.
FIELD_NAMES = ("object", "community", "type", "sequence")
_COMMUNITY_WIDTH = 12
#: Division codes contained in a community code, by column name and length.
_PARENTS = {"province_code": 2, "city_code": 4, "district_code": 6, "street_code": 9}
#: Columns of :func:`parse_many` and of :meth:`GridCode.to_dict`, in order.
COLUMNS = ("code", *_PARENTS, "community_code", "grid_type", "sequence", "micro", "object_code")
_DIGITS = frozenset("0123456789")
_TEXT_FIX = "read codes as text (dtype=str), never as numbers, so leading zeros and long codes survive"


def _is_digits(value: str | None, width: int) -> bool:
    return value is not None and len(value) == width and set(value) <= _DIGITS


@dataclass(frozen=True)
class CodeScheme:
    """The layout of grid codes: ordered fields with widths, and the rules for their values.

    Parameters
    ----------
    name : str
        Name the scheme is known by (:func:`get_scheme`).
    fields : tuple of (str, int)
        Ordered ``(name, width)`` pairs from :data:`FIELD_NAMES`: ``community`` (width 12, required),
        ``sequence`` (width 1–6, required), ``type`` (the grid type digit, when ``type_digits`` is given)
        and ``object`` (a constant prefix such as the CJ/T 349 object code).
    type_digits : mapping of str to str, optional
        Grid type -> digit(s) for the ``type`` field, e.g. ``{"city": "1", "rural": "2", "dedicated": "3"}``.
        Configurable: cities that use other digits pass their own mapping.
    micro_width : int, default 0
        Width of the optional micro-grid sequence appended to a grid code (0: no micro-grids).
    object_code : str, optional
        Value written into the ``object`` field when none is given (default all zeros).
    sequence_min : int, default 1
        Smallest valid sequence: 1, or 0 where a zero sequence has a meaning (CJ/T 349: "community not
        subdivided").
    merged_community_start : int, optional
        When set, community digits from this value up to 999 are accepted as codes of merged communities
        (CJ/T 349 numbers them from 601).
    description : str
        One line for people.

    Examples
    --------
    >>> scheme = CodeScheme("wide", (("community", 12), ("sequence", 4)))
    >>> scheme.length, scheme.sequence_max
    (16, 9999)
    >>> import dataclasses
    >>> digits = {"city": "1", "rural": "2", "dedicated": "9"}
    >>> dataclasses.replace(TYPE_DIGIT, name="custom", type_digits=digits).layout
    'community 12 + type 1 (city 1, rural 2, dedicated 9) + sequence 3 = 16 digits, micro-grids + 2'
    """

    name: str
    fields: tuple[tuple[str, int], ...]
    type_digits: Mapping[str, str] | tuple[tuple[str, str], ...] = ()
    micro_width: int = 0
    object_code: str | None = None
    sequence_min: int = 1
    merged_community_start: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        fields = tuple((str(name), int(width)) for name, width in self.fields)
        object.__setattr__(self, "fields", fields)
        object.__setattr__(self, "type_digits", tuple(dict(self.type_digits).items()))
        widths = dict(fields)
        if "object" in widths and self.object_code is None:
            object.__setattr__(self, "object_code", "0" * widths["object"])
        for problem in _scheme_problems(self):
            raise CodeError(f"scheme {self.name!r}: {problem}", fix="correct the scheme definition")

    @property
    def widths(self) -> dict[str, int]:
        """Field name -> width."""
        return dict(self.fields)

    @property
    def length(self) -> int:
        """Number of digits of a grid code (without micro-grid)."""
        return sum(width for _, width in self.fields)

    @property
    def lengths(self) -> tuple[int, ...]:
        """Accepted code lengths: grid codes, and micro-grid codes when the scheme has them."""
        return (self.length, self.length + self.micro_width) if self.micro_width else (self.length,)

    @property
    def offsets(self) -> dict[str, tuple[int, int]]:
        """Field name -> ``(start, stop)`` slice of the code (``micro`` included when present)."""
        spans, start = {}, 0
        for name, width in (*self.fields, ("micro", self.micro_width)):
            spans[name] = (start, start + width)
            start += width
        return spans

    @property
    def sequence_max(self) -> int:
        """Largest sequence the scheme holds (999 for three digits)."""
        return 10 ** self.widths["sequence"] - 1

    @property
    def grid_types(self) -> dict[str, str]:
        """Grid type -> digit (empty when the type is not part of the code)."""
        return dict(self.type_digits)

    @property
    def layout(self) -> str:
        """The layout in words, e.g. ``'community 12 + sequence 3 = 15 digits, micro-grids + 2'``."""
        parts = []
        for name, width in self.fields:
            extra = ""
            if name == "type":
                extra = " (" + ", ".join(f"{t} {d}" for t, d in self.grid_types.items()) + ")"
            parts.append(f"{name} {width}{extra}")
        micro = f", micro-grids + {self.micro_width}" if self.micro_width else ""
        return " + ".join(parts) + f" = {self.length} digits{micro}"


def _scheme_problems(scheme: CodeScheme) -> list[str]:
    names = [name for name, _ in scheme.fields]
    widths = dict(scheme.fields)
    allowed = ", ".join(FIELD_NAMES)
    problems = [f"unknown field {n!r} (allowed: {allowed})" for n in names if n not in FIELD_NAMES]
    problems += [f"field {n!r} appears twice" for n in set(names) if names.count(n) > 1]
    if widths.get("community") != _COMMUNITY_WIDTH:
        problems.append("needs a 'community' field of width 12 (the statistical division code)")
    if not 1 <= widths.get("sequence", 0) <= 6:
        problems.append("needs a 'sequence' field of width 1–6")
    digits = list(scheme.grid_types.values())
    if ("type" in widths) != bool(digits):
        problems.append("a 'type' field needs type_digits, and type_digits need a 'type' field")
    elif digits and (len(set(digits)) != len(digits) or
                     any(len(d) != widths["type"] or not set(d) <= _DIGITS for d in digits)):
        problems.append(f"type_digits must be distinct {widths['type']}-digit strings, got {digits}")
    if "object" in widths and not _is_digits(scheme.object_code, widths["object"]):
        problems.append(f"object_code must be {widths['object']} digits, got {scheme.object_code!r}")
    if not 0 <= scheme.micro_width <= 4:
        problems.append(f"micro_width must be 0–4, got {scheme.micro_width}")
    if scheme.sequence_min not in (0, 1):
        problems.append(f"sequence_min must be 0 or 1, got {scheme.sequence_min}")
    if scheme.merged_community_start is not None and not 600 <= scheme.merged_community_start <= 999:
        problems.append("merged_community_start must be 600–999")
    return problems


DEFAULT = CodeScheme(
    "default", (("community", 12), ("sequence", 3)), micro_width=2,
    description="community code 12 + sequence 001–999 (DB11/T 2157-2023); type is an attribute",
)
TYPE_DIGIT = CodeScheme(
    "type_digit", (("community", 12), ("type", 1), ("sequence", 3)),
    type_digits={"city": "1", "rural": "2", "dedicated": "3"}, micro_width=2,
    description="community code 12 + grid type digit (1 city, 2 rural, 3 dedicated; configurable) + sequence",
)
#: CJ/T 349-2010 (数字社区管理与服务 网格划分与编码规则):
#: object 6 + county 6 + street 3 + community 3 + grid sequence 2.
#: The object code is the CJ/T 348-2010 code of the managed or served object (管理或服务对象代码; a major
#: class ends in "00"). gridmap does not ship CJ/T 348's table: the default "000000" stands for the
#: comprehensive grid of all objects; pass ``object_code=`` (or ``dataclasses.replace``) for yours.
#: Sequence "00" means the community is not subdivided; community digits 601–999 number merged communities.
CJT_349 = CodeScheme(
    "cjt349", (("object", 6), ("community", 12), ("sequence", 2)), object_code="000000",
    sequence_min=0, merged_community_start=601,
    description="CJ/T 349-2010: object 6 + county 6 + street 3 + community 3 + grid sequence 2",
)
#: Schemes known by name.
SCHEMES: Mapping[str, CodeScheme] = MappingProxyType({s.name: s for s in (DEFAULT, TYPE_DIGIT, CJT_349)})


def get_scheme(name: str | CodeScheme) -> CodeScheme:
    """Return the scheme called ``name`` (a :class:`CodeScheme` is returned as it is).

    Examples
    --------
    >>> get_scheme("cjt349").length
    20
    """
    if isinstance(name, CodeScheme):
        return name
    if name not in SCHEMES:
        raise CodeError(f"unknown code scheme {name!r}",
                        fix=f"use one of {', '.join(SCHEMES)} or a CodeScheme")
    return SCHEMES[name]


@dataclass(frozen=True)
class GridCode:
    """A parsed grid code. ``to_dict()`` gives a row with the columns of :func:`parse_many`.

    Examples
    --------
    >>> g = parse("4501020010032007", scheme="type_digit")
    >>> g.district_code, g.grid_type, g.sequence
    ('450102', 'rural', 7)
    """

    code: str
    community_code: str
    sequence: int
    grid_type: str | None = None
    micro: int | None = None
    object_code: str | None = None

    @property
    def province_code(self) -> str:
        """The 2-digit province code."""
        return self.community_code[:2]

    @property
    def city_code(self) -> str:
        """The 4-digit city (prefecture) code."""
        return self.community_code[:4]

    @property
    def district_code(self) -> str:
        """The 6-digit county or district code (GB/T 2260)."""
        return self.community_code[:6]

    @property
    def street_code(self) -> str:
        """The 9-digit street or township code."""
        return self.community_code[:9]

    def to_dict(self) -> dict[str, Any]:
        """Return the fields and parent codes as a dict ordered like :data:`COLUMNS`."""
        return {column: getattr(self, column) for column in COLUMNS}


def _split(code: str, scheme: CodeScheme) -> dict[str, str]:
    return {name: code[start:stop] for name, (start, stop) in scheme.offsets.items()}


def _seq_range(scheme: CodeScheme, width: int) -> str:
    return f"{scheme.sequence_min:0{width}d}–{scheme.sequence_max}"


def _community_problems(community: str, code: str, scheme: CodeScheme) -> list[tuple[str, str]]:
    """(message, fix) for the street and community digits of a 12-digit community code."""
    problems = []
    street, village = community[6:9], community[9:12]
    if not "001" <= street <= "599":
        problems.append((f"street field '{street}' of code {code} must be 001–599",
                         "street digits (7–9 of the community code) are 001–099 streets, 100–199 towns, "
                         "200–399 townships, 400–599 development zones and farms; take them from the "
                         "statistical division codes"))
    merged = scheme.merged_community_start
    if not ("001" <= village <= "599" or (merged is not None and f"{merged:03d}" <= village <= "999")):
        allowed = "001–599" + (f" or {merged}–999 (merged communities)" if merged is not None else "")
        problems.append((f"community field '{village}' of code {code} must be {allowed}",
                         "community digits (10–12) are 001–199 residents' committees, 200–399 villagers' "
                         "committees, 400–599 similar units; take them from the statistical division codes"))
    return problems


def _problems(code: Any, scheme: CodeScheme) -> list[tuple[str, str]]:
    """Every structural problem of ``code`` as (message, fix); empty when the code is well formed."""
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return [("code is missing", "fill in the code or drop the record")]
    if not isinstance(code, str):
        return [(f"code {code!r} is of type {type(code).__name__}, not a string", _TEXT_FIX)]
    if len(code) not in scheme.lengths:
        wanted = " or ".join(str(n) for n in scheme.lengths)
        return [(f"code {code!r} has length {len(code)}; scheme '{scheme.name}' needs {wanted} "
                 f"({scheme.layout})",
                 f"give codes laid out as {scheme.layout}, or choose the matching scheme")]
    bad = next((i for i, ch in enumerate(code) if ch not in _DIGITS), None)
    if bad is not None:
        return [(f"code {code!r} has the non-digit {code[bad]!r} at position {bad + 1}",
                 "grid codes hold digits only: remove spaces, letters and punctuation")]
    parts = _split(code, scheme)
    problems = _community_problems(parts["community"], code, scheme)
    if "type" in parts and parts["type"] not in set(scheme.grid_types.values()):
        allowed = ", ".join(f"{d} ({t})" for t, d in scheme.grid_types.items())
        problems.append((f"type field '{parts['type']}' of code {code} must be one of {allowed}",
                         "use the digit of the grid's type, or a scheme with your city's type digits"))
    sequence, width = parts["sequence"], len(parts["sequence"])
    if int(sequence) < scheme.sequence_min:
        problems.append((f"sequence field '{sequence}' of code {code} must be {_seq_range(scheme, width)}",
                         f"number grids in a community from {scheme.sequence_min:0{width}d}"))
    if parts.get("micro") == "0" * scheme.micro_width and len(code) > scheme.length:
        problems.append((f"micro-grid field '{parts['micro']}' of code {code} must be "
                         f"{1:0{scheme.micro_width}d}–{10 ** scheme.micro_width - 1}",
                         "number micro-grids in a grid from 01"))
    return problems


def _admin_problems(community: str, code: str, admin: pd.DataFrame) -> list[tuple[str, str]]:
    if not isinstance(admin, pd.DataFrame) or "code" not in admin.columns:
        raise SchemaError("admin must be a DataFrame with a 'code' column (and 'name')",
                          fix="pass the division table, e.g. gridmap.io.admin.read_division_codes(path)")
    known = admin["code"].astype(str)
    if known.eq(community).any():
        return []
    street = community[:9]
    hit = admin.loc[known.eq(street).to_numpy()]
    if not hit.empty:
        name = f" {hit['name'].iloc[0]}" if "name" in hit.columns else ""
        where = f"; its street {street}{name} is"
    else:
        where = f"; neither is its street {street}"
    return [(f"community {community} of code {code} is not in the division table{where}",
             "check the community digits against the statistical division codes of the same vintage")]


def _all_problems(code: Any, admin: pd.DataFrame | None, scheme: CodeScheme) -> list[tuple[str, str]]:
    problems = _problems(code, scheme)
    if problems or admin is None:
        return problems
    community = _split(code, scheme)["community"]
    merged = scheme.merged_community_start
    if merged is not None and int(community[9:]) >= merged:
        community = community[:9]  # a merged community has no row of its own: its street must exist
    return _admin_problems(community, code, admin)


def validate(code: str, admin: pd.DataFrame | None = None, *,
             scheme: CodeScheme | str = DEFAULT) -> list[str]:
    """List what is wrong with a grid code; an empty list means it is valid.

    Checks the length, that it holds digits only, the street digits (7–9 of the community code, 001–599),
    the community digits (10–12, 001–599), the type digit, the sequence (not all zeros unless the scheme
    allows it) and the micro-grid sequence; with ``admin``, that the community exists in the division table.

    Parameters
    ----------
    code : str
        The grid code.
    admin : DataFrame, optional
        Division table with ``code`` (str) and ``name`` columns, any levels.
    scheme : CodeScheme or str, default DEFAULT

    Returns
    -------
    list of str
        One message per problem, naming the field, e.g. ``"street field '000' of code ... must be 001–599"``.

    See Also
    --------
    check_code : raise :class:`~gridmap.errors.CodeError` instead.

    Examples
    --------
    >>> admin = pd.DataFrame({"code": ["450102001", "450102001003"], "name": ["民生街道", "兴宁社区居委会"]})
    >>> validate("450102001003007", admin)
    []
    >>> print(*validate("450102001099007", admin))
    community 450102001099 of code 450102001099007 is not in the division table;
    its street 450102001 民生街道 is
    >>> print(*validate("4501020010030070"))
    code '4501020010030070' has length 16; scheme 'default' needs 15 or 17
    (community 12 + sequence 3 = 15 digits, micro-grids + 2)
    """
    return [message for message, _ in _all_problems(code, admin, get_scheme(scheme))]


def check_code(code: str, admin: pd.DataFrame | None = None, *, scheme: CodeScheme | str = DEFAULT,
               record: str | None = None, path: str | os.PathLike | None = None) -> None:
    """Raise :class:`~gridmap.errors.CodeError` naming the bad field and the fix when ``code`` is invalid.

    Parameters
    ----------
    code, admin, scheme
        As for :func:`validate`.
    record, path : optional
        Where the code came from, for the message.

    Examples
    --------
    >>> check_code("450102001003000", record="row 4")
    Traceback (most recent call last):
    ...
    gridmap.errors.CodeError: row 4: sequence field '000' of code 450102001003000 must be 001–999.
    Fix: number grids in a community from 001.
    """
    problems = _all_problems(code, admin, get_scheme(scheme))
    if problems:
        message, fix = problems[0]
        more = "; " + "; ".join(m for m, _ in problems[1:]) if len(problems) > 1 else ""
        raise CodeError(message + more, path=path, record=record, fix=fix)


def parse(code: str, *, scheme: CodeScheme | str = DEFAULT) -> GridCode:
    """Split a grid code into its fields and the division codes it contains.

    Raises
    ------
    CodeError
        When the code is malformed (see :func:`validate`).

    Examples
    --------
    >>> parse("45010200100300712").to_dict()
    {'code': '45010200100300712', 'province_code': '45', 'city_code': '4501', 'district_code': '450102',
     'street_code': '450102001', 'community_code': '450102001003', 'grid_type': None, 'sequence': 7,
     'micro': 12, 'object_code': None}
    """
    scheme = get_scheme(scheme)
    check_code(code, scheme=scheme)
    parts = _split(code, scheme)
    return GridCode(
        code=code,
        community_code=parts["community"],
        sequence=int(parts["sequence"]),
        grid_type={d: t for t, d in scheme.grid_types.items()}.get(parts.get("type", "")),
        micro=int(parts["micro"]) if len(code) > scheme.length else None,
        object_code=parts.get("object"),
    )


def _as_int(value: Any, what: str) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise CodeError(f"{what} must be a whole number, got {value!r}",
                        fix=f"pass the {what} as an int") from None


def format_code(community_code: str, sequence: int, *, scheme: CodeScheme | str = DEFAULT,
                grid_type: str | None = None, micro: int | None = None,
                object_code: str | None = None) -> str:
    """Write the grid code of grid ``sequence`` in community ``community_code``.

    Parameters
    ----------
    community_code : str
        12-digit statistical division code of the community or village.
    sequence : int
        Sequence of the grid within its community (1–999 by default).
    scheme : CodeScheme or str, default DEFAULT
    grid_type : {"city", "rural", "dedicated"}, optional
        Needed when the scheme has a type digit; otherwise the type stays an attribute and this is ignored.
    micro : int, optional
        Micro-grid sequence (1–99), for schemes with micro-grids.
    object_code : str, optional
        Value of the ``object`` field (CJ/T 349); default ``scheme.object_code``.

    Examples
    --------
    >>> format_code("450102001003", 7, scheme="type_digit", grid_type="dedicated")
    '4501020010033007'
    >>> format_code("450102001003", 7, micro=3)
    '45010200100300703'
    >>> format_code("450102001003", 7, scheme=CJT_349)
    '00000045010200100307'
    """
    scheme = get_scheme(scheme)
    widths = scheme.widths
    if not isinstance(community_code, str) or not _is_digits(community_code, 12):
        raise CodeError(f"community code {community_code!r} is not a 12-digit string",
                        fix="give the 12-digit statistical division code of the community as text")
    sequence = _as_int(sequence, "sequence")
    if not scheme.sequence_min <= sequence <= scheme.sequence_max:
        raise CodeError(f"sequence {sequence} does not fit scheme '{scheme.name}' "
                        f"({_seq_range(scheme, widths['sequence'])})",
                        fix="a community cannot hold more grids under this scheme; "
                            "use a wider sequence field")
    values = {"community": community_code, "sequence": f"{sequence:0{widths['sequence']}d}",
              "object": (scheme.object_code if object_code is None else object_code) or ""}
    if "type" in widths:
        if grid_type not in scheme.grid_types:
            allowed = ", ".join(scheme.grid_types)
            raise CodeError(f"grid_type {grid_type!r} is not one of {allowed}",
                            fix=f"pass grid_type= one of {allowed} for scheme '{scheme.name}'")
        values["type"] = scheme.grid_types[grid_type]
    code = "".join(values[name] for name, _ in scheme.fields)
    if micro is not None:
        micro = _as_int(micro, "micro")
        if not scheme.micro_width or not 1 <= micro < 10 ** scheme.micro_width:
            limit = f"1–{10 ** scheme.micro_width - 1}" if scheme.micro_width else "none"
            raise CodeError(f"micro-grid {micro} does not fit scheme '{scheme.name}' (micro-grids: {limit})",
                            fix="use a scheme with micro-grids (micro_width=2) and numbers 1–99")
        code += f"{micro:0{scheme.micro_width}d}"
    check_code(code, scheme=scheme)
    return code


def _code_series(codes: Iterable[str]) -> tuple[pd.Series, pd.Series]:
    """Return the codes as given (for messages) and as str with non-strings missing (for parsing)."""
    if isinstance(codes, pd.Series):
        raw = codes
    else:
        raw = pd.Series(codes if isinstance(codes, np.ndarray) else list(codes))
    if len(raw) and pd.api.types.is_numeric_dtype(raw.dtype):
        raise CodeError(f"codes are numbers ({raw.dtype}), not text", fix=_TEXT_FIX)
    text = raw
    if len(raw) and pd.api.types.infer_dtype(raw, skipna=True) != "string":
        text = raw.where(raw.map(lambda v: isinstance(v, str)))
    return raw, text.astype("str")


def _valid_mask(s: pd.Series, scheme: CodeScheme) -> tuple[pd.Series, dict[str, pd.Series]]:
    """Per-row validity of the fields, vectorised with pandas string ops."""
    length = s.str.len()
    shaped = (length.isin(scheme.lengths) & s.str.isascii() & s.str.isdigit()).fillna(False).astype(bool)
    fields = {name: s.str.slice(start, stop) for name, (start, stop) in scheme.offsets.items()}
    street, village = fields["community"].str.slice(6, 9), fields["community"].str.slice(9, 12)
    ok_village = village.between("001", "599")
    if scheme.merged_community_start is not None:
        ok_village |= village.between(f"{scheme.merged_community_start:03d}", "999")
    width = scheme.widths["sequence"]
    checks = {
        "street": street.between("001", "599"),
        "community": ok_village,
        "sequence": fields["sequence"] >= f"{scheme.sequence_min:0{width}d}",
        "micro": (length == scheme.length) | (fields["micro"] != "0" * scheme.micro_width),
    }
    if "type" in fields:
        checks["type"] = fields["type"].isin(list(scheme.grid_types.values()))
    valid = shaped.copy()
    for ok in checks.values():
        valid &= ok.fillna(False).astype(bool)
    return valid, fields


def parse_many(codes: Iterable[str], *, scheme: CodeScheme | str = DEFAULT,
               errors: Literal["raise", "coerce"] = "raise") -> pd.DataFrame:
    """Parse many grid codes at once (vectorised; millions of codes in seconds).

    Parameters
    ----------
    codes : Series, array or list of str
        The codes; a Series keeps its index.
    scheme : CodeScheme or str, default DEFAULT
    errors : {"raise", "coerce"}
        ``"raise"``: raise :class:`~gridmap.errors.CodeError` naming the first invalid codes and their rows;
        ``"coerce"``: keep going and leave every field of an invalid code missing (NA).

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`: ``code``, ``province_code``, ``city_code``, ``district_code``,
        ``street_code``, ``community_code`` (str), ``grid_type`` (str or NA), ``sequence`` and ``micro``
        (nullable ``Int64``), ``object_code`` (str or NA). Same index as ``codes``.

    Examples
    --------
    >>> parse_many(["450102001003007", "45010200100300803"])[["street_code", "sequence", "micro"]]
      street_code  sequence  micro
    0   450102001         7   <NA>
    1   450102001         8      3
    >>> parse_many(["450102001003007", "bad"], errors="coerce")["sequence"].tolist()
    [7, <NA>]
    """
    scheme = get_scheme(scheme)
    if errors not in ("raise", "coerce"):
        raise CodeError(f"errors must be 'raise' or 'coerce', got {errors!r}",
                        fix="pass errors='raise' or 'coerce'")
    raw, s = _code_series(codes)
    valid, fields = _valid_mask(s, scheme)
    if errors == "raise" and not valid.all():
        _raise_first_invalid(raw, valid, scheme)
    community = fields["community"].where(valid)
    frame = pd.DataFrame({"code": s}, index=s.index)
    for column, width in _PARENTS.items():
        frame[column] = community.str.slice(0, width)
    frame["community_code"] = community
    types = {d: t for t, d in scheme.grid_types.items()}
    missing = pd.Series(None, index=s.index, dtype="str")
    frame["grid_type"] = fields["type"].where(valid).map(types).astype("str") if types else missing
    frame["sequence"] = _to_int(fields["sequence"].where(valid))
    frame["micro"] = _to_int(fields["micro"].where(valid & (s.str.len() > scheme.length)))
    frame["object_code"] = fields["object"].where(valid) if "object" in fields else missing
    return frame


def _to_int(digits: pd.Series) -> pd.Series:
    # pyarrow's cast is about 30x faster than pd.to_numeric on strings
    return digits.astype("int64[pyarrow]").astype("Int64")


def _raise_first_invalid(raw: pd.Series, valid: pd.Series, scheme: CodeScheme) -> None:
    bad = np.flatnonzero(~valid.to_numpy())
    shown = [f"row {raw.index[i]}: {_problems(raw.iloc[i], scheme)[0][0]}" for i in bad[:3]]
    more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
    raise CodeError(f"{len(bad):,} of {len(raw):,} codes are invalid: " + "; ".join(shown) + more,
                    fix="correct those codes, or pass errors='coerce' to get NA fields for them")


def _communities(grids: pd.DataFrame, column: str, scheme: CodeScheme) -> pd.Series:
    if column not in grids.columns:
        raise SchemaError(f"grids have no column {column!r}", fix=f"add the community code column or pass "
                          f"community_column= (columns: {', '.join(map(str, grids.columns))})")
    communities = grids[column]
    for position, value in enumerate(communities):
        if not isinstance(value, str):
            missing = pd.isna(value)
            problem = "community code is missing" if missing else f"community code {value!r} is not text"
            raise CodeError(problem,
                            record=f"row {grids.index[position]}",
                            fix="give every grid its community code" if missing else _TEXT_FIX)
    for community in communities.unique():
        problems = _community_problems(community, community, scheme) if _is_digits(community, 12) else [
            (f"community code {community!r} is not 12 digits", "give the 12-digit statistical division code")]
        if problems:
            label = communities.index[communities.eq(community).to_numpy()][0]
            raise CodeError(problems[0][0], record=f"row {label}", fix=problems[0][1])
    return communities.astype("str")


def _type_digits(grids: pd.DataFrame, column: str, scheme: CodeScheme) -> pd.Series | None:
    if not scheme.grid_types:
        return None
    if column not in grids.columns:
        raise SchemaError(f"scheme '{scheme.name}' writes the grid type but grids have no column {column!r}",
                          fix="add a grid_type column (city / rural / dedicated) or pass type_column=")
    digits = grids[column].map(scheme.grid_types)
    if digits.isna().any():
        label = digits.index[digits.isna().to_numpy()][0]
        raise CodeError(f"grid type {grids[column][label]!r} is not one of {', '.join(scheme.grid_types)}",
                        record=f"row {label}", fix=f"set {column} to one of {', '.join(scheme.grid_types)}")
    return digits.astype("str")


def assign_sequential_codes(grids: gpd.GeoDataFrame, *, scheme: CodeScheme | str = DEFAULT,
                            community_column: str = "community_code", start: Mapping[str, int] | None = None,
                            type_column: str = "grid_type") -> gpd.GeoDataFrame:
    """Give grids their first codes: per community, sequences 1..n in reading order (no registry).

    Within each community the grids are numbered in :func:`reading_order` of their representative
    points (rows north to south, west to east within a row), each community with its own band (the
    median height of its grids).
    Sequences are unique within a community whatever the grid type.

    Parameters
    ----------
    grids : GeoDataFrame
        Grid polygons with the 12-digit community code (str) in ``community_column``.
    scheme : CodeScheme or str, default DEFAULT
    community_column : str, default "community_code"
    start : mapping of str to int, optional
        Last sequence already used per community; numbering continues after it (default 0).
    type_column : str, default "grid_type"
        Grid type column, read only when the scheme has a type digit.

    Returns
    -------
    GeoDataFrame
        A copy of ``grids`` (same order) with a ``code`` column.

    Raises
    ------
    CodeError
        A community code is malformed, a community would exceed the scheme's sequences (999), or the
        frame already has codes.

    Examples
    --------
    >>> import shapely
    >>> cells = [shapely.box(x, y, x + 1, y + 1) for y in (0, 1) for x in (1, 0)]   # SE, SW, NE, NW
    >>> grids = gpd.GeoDataFrame({"community_code": ["450102001003"] * 4}, geometry=cells, crs=4546)
    >>> assign_sequential_codes(grids)["code"].tolist()
    ['450102001003004', '450102001003003', '450102001003002', '450102001003001']
    >>> assign_sequential_codes(grids, start={"450102001003": 10})["code"].iloc[3]
    '450102001003011'
    """
    scheme = get_scheme(scheme)
    if not isinstance(grids, gpd.GeoDataFrame):
        raise SchemaError(f"grids must be a GeoDataFrame, got {type(grids).__name__}",
                          fix="read the grids with gridmap's readers or geopandas")
    if "code" in grids.columns and grids["code"].notna().any():
        raise CodeError("grids already have codes in column 'code'",
                        fix="drop the column to renumber, or give new grids the next free numbers (start=)")
    communities = _communities(grids, community_column, scheme)
    types = _type_digits(grids, type_column, scheme)
    start = {} if start is None else start
    geoms = np.asarray(grids.geometry.array, dtype=object)
    sequence = np.zeros(len(grids), dtype=np.int64)
    groups = pd.Series(np.arange(len(grids))).groupby(communities.to_numpy()).indices
    for community, positions in sorted(groups.items()):
        first = _as_int(start.get(community, 0), f"start[{community!r}]") + 1
        last = first + len(positions) - 1
        if last > scheme.sequence_max:
            raise CodeError(f"community {community} needs sequences {first}–{last} but scheme "
                            f"'{scheme.name}' holds at most {scheme.sequence_max}",
                            record=f"community {community}",
                            fix="split the community's numbering with a wider sequence scheme, or check for "
                                "duplicated grids")
        sequence[positions[reading_order(geoms[positions])]] = np.arange(first, last + 1)
    width = scheme.widths["sequence"]
    values = {"community": communities, "type": types,
              "object": pd.Series(scheme.object_code, index=grids.index, dtype="str"),
              "sequence": pd.Series(sequence, index=grids.index).astype("str").str.zfill(width)}
    pieces = [values[name] for name, _ in scheme.fields]
    result = grids.copy()
    result["code"] = pieces[0].str.cat(pieces[1:])
    logger.info("assigned %d grid codes in %d communities", len(grids), communities.nunique())
    return result
