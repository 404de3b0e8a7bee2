r"""Locate cases by address: match each case's address or compound name to a unit of a gazetteer.

Case lists (12345 hotline exports, daily epidemic lists) often give an address or a compound's name and no
coordinates. The gazetteer is the units layer: compound / village / site names (``name``), optional alias
names (``别名``, several split by ``;`` ``,`` ``、``), an optional address (``地址``), optional district and
street names (``区``/``街道``), and the unit's geometry and ``grid_code``.

How an address is matched, in this order:

1. **Normalised** (:func:`normalize_address`): full-width → half-width (NFKC), blanks and punctuation
   dropped, Chinese numerals → Arabic (``二二八一`` → 2281, ``十二`` → 12), province / city / district /
   street prefixes stripped (``上海市浦东新区``, ``XX街道``, ``XX镇`` and the admin names the gazetteer
   carries), house tails cut (``张东路2281弄3号601室`` → ``张东路2281弄``; ``阳光花园3号楼`` → ``阳光花园``).
2. **Exact**: a normalised key of the case (the whole address, its road + number, its compound part) equals
   a key of exactly one unit (its name, an alias or its address); failing that, the same without the
   compound suffix (小区/花园/苑/公寓/家园/新村): ``阳光小区`` or ``阳光`` finds ``阳光花园`` when it is the
   only 阳光, but ``阳光苑`` does not (two different suffixes name two compounds).
3. **Fuzzy** (``rapidfuzz``), among the units of the case's district or street when the case names one
   (a column such as ``街道`` or a prefix of the address), and only among keys with the **same house
   numbers**: numbers are never guessed. The best unit is taken when it scores at least ``min_score`` and
   the runner-up is more than ``margin`` points behind.

Two units within the margin make the address **ambiguous**, no unit good enough makes it **unmatched**:
both are listed in the report with their three best candidates and are never assigned.

Examples
--------
>>> normalize_address("上海市浦东新区张东路二二八一弄3号601室")
'张东路2281弄'
>>> normalize_address("阳光花园（二期）１２号楼")
'阳光花园2期'
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from gridmap.errors import CRSError, GridmapWarning, SchemaError
from gridmap.findings import Report

__all__ = ["normalize_address", "match_addresses", "MATCH_KINDS"]

#: Values of ``match_kind``: how each address was matched (NA when the case gives no address).
MATCH_KINDS = ("exact", "fuzzy", "ambiguous", "unmatched")

#: Compound suffixes dropped for the second, suffix-free key (longest first).
COMPOUND_SUFFIXES = ("住宅小区", "小区", "花园", "花苑", "家园", "新村", "公寓", "苑")
_GENERIC_SUFFIXES = ("住宅小区", "小区")  # 金桂小区 may be any 金桂 compound; 金桂花园 is not 金桂苑

# Headers of the gazetteer and case columns (compared after NFKC, blanks removed, lower case).
_ALIAS_HEADERS = ("别名", "alias", "aliases", "曾用名", "俗称", "其他名称", "又名")
_ADDRESS_HEADERS = ("地址", "address", "详细地址", "小区地址", "门牌地址", "标准地址")
_DISTRICT_HEADERS = ("district", "区", "区县", "县区", "所属区", "所在区", "所属区县", "区/县", "城区")
_STREET_HEADERS = ("street", "街道", "乡镇", "街镇", "街道/乡镇", "所属街道", "所在街道", "所属乡镇")

_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_POWERS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL_RUN = re.compile("[〇零一二三四五六七八九十百千]+")
_HAN = "[\u4e00-\u9fff]"
# Generic admin prefixes, tried at the start of an address; each must be followed by more than a number.
_PREFIXES = tuple(re.compile(pattern) for pattern in (
    rf"^{_HAN}{{2,3}}?省",
    rf"^{_HAN}{{2,6}}?(?:自治区|特别行政区)",
    rf"^{_HAN}{{2,8}}?自治州",
    rf"^{_HAN}{{2,3}}?市(?!场)",
    rf"^{_HAN}{{2,3}}?(?:新区|区|县)",
    rf"^{_HAN}{{2,4}}?(?:街道|镇|乡)",
))
# Words ending like an admin name that are not one (超市, 小区, 古镇 …): never stripped as a prefix.
_NOT_ADMIN = ("超市", "菜市", "集市", "夜市", "门市", "都市", "城市", "街市", "花市", "鱼市",
              "小区", "社区", "园区", "校区", "生活区", "厂区", "营区", "景区", "矿区", "住宅区", "宿舍区",
              "片区", "商业区", "工业区", "开发区", "别墅区", "水乡", "故乡", "家乡", "古镇", "城镇")
_ADMIN_SUFFIX = re.compile("(?:街道|新区|自治区|自治州|特别行政区|省|市|区|县|镇|乡)$")
_ROAD = re.compile(r"^(.+?(?:大道|大街|公路|胡同|路|街|巷|道)\d+(?:弄|号)|.*?\D\d+弄)")
_HOUSE = re.compile(r"^.*?\D\d+号")
_TAIL = re.compile(r"(?:\d+[a-z]?(?:号|栋|幢|座|单元|室|楼|层|户|弄)|[a-z](?:座|栋|幢)).*$")
_BRACKETS = re.compile(r"[(（\[【〔]([^)）\]】〕]*)[)）\]】〕]")
_DIGIT_RUNS = re.compile(r"\d+")
_NUMBERS = re.compile(r"\d+(?:弄|号)?")  # house numbers with their kind: 157弄 and 157号 differ


def normalize_address(text: object, *, admin_names: Iterable[str] = ()) -> str:
    """Return the key an address or unit name is compared by.

    Full-width → half-width (NFKC), lower case, blanks and punctuation dropped (``#`` and ``3-601`` read as
    号), Chinese numerals → Arabic, province / city / district / street prefixes stripped (``上海市``,
    ``浦东新区``, ``XX区``, ``XX县``, ``XX街道``, ``XX镇`` when more than a house number follows, and every
    name of ``admin_names``), then the house tail cut: a road with its lane or number is the key
    (``张东路2281弄3号601室`` → ``张东路2281弄``), else the text before the first building, unit or room
    number (``阳光花园3号楼601室`` → ``阳光花园``). Compound suffixes (小区, 花园 …) are kept. Normalising
    a key again gives the same key.

    Parameters
    ----------
    text : object
        An address or name; missing values give ``""``.
    admin_names : iterable of str, optional
        District, street or community names to strip from the start (``张江镇``, ``金湖社区``).

    Returns
    -------
    str
        The key; ``""`` when nothing is left.

    Examples
    --------
    >>> normalize_address("上海市浦东新区张江镇张东路2281弄3号601室")
    '张东路2281弄'
    >>> normalize_address("浦东新区 阳光花园二期 十二号楼")
    '阳光花园2期'
    >>> normalize_address("金湖社区星河里", admin_names=["金湖社区"])
    '星河里'
    """
    if _missing(text):
        return ""
    return _fixpoint(str(text), _admin_keys(admin_names))


def _missing(value: object) -> bool:
    """Tell whether a cell holds no value (None, NaN, NA, NaT)."""
    return value is None or value is pd.NA or value is pd.NaT or (
        isinstance(value, float | np.floating) and bool(np.isnan(value)))


def _fixpoint(text: str, admin: tuple[str, ...]) -> str:
    """Apply the normalising steps until nothing changes (so a key normalises to itself)."""
    for _ in range(8):
        key = _cut_tail(_strip_prefixes(_arabic(_clean(text)), admin))
        if key == text:
            break
        text = key
    return text


def _clean(text: str) -> str:
    """NFKC, lower case, ``#`` and ``3-601`` as 号, then only letters, digits and Han characters."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(\d)\s*[-—–~]\s*(?=\d)", r"\1号", text).replace("#", "号")
    return unicodedata.normalize("NFKC", "".join(ch for ch in text if ch.isalnum()))


def _arabic(text: str) -> str:
    """Write Chinese numerals in Arabic digits: 二二八一 → 2281, 十二 → 12, 一百零五 → 105 (百 stays)."""
    return _NUMERAL_RUN.sub(lambda m: _numeral(m.group()) or m.group(), text)


def _numeral(run: str) -> str | None:
    """Return one run of Chinese numerals in Arabic digits, or None when it is not a number (百, 千千)."""
    if all(ch in _DIGITS for ch in run):
        return "".join(str(_DIGITS[ch]) for ch in run)
    total, digit, last_power = 0, None, 10_000
    for ch in run:
        if ch in _DIGITS:
            if digit is not None and _DIGITS[ch]:
                return None  # two digits in a row inside 三百二五
            digit = _DIGITS[ch] or None
        else:
            power = _POWERS[ch]
            if power >= last_power or (digit is None and (power != 10 or total)):
                return None
            total, digit, last_power = total + (1 if digit is None else digit) * power, None, power
    return str(total + (digit or 0))


def _admin_keys(names: Iterable[str]) -> tuple[str, ...]:
    """Admin names as they appear in a cleaned address, longest first."""
    keys = {_arabic(_clean(str(name))) for name in names if isinstance(name, str)}
    return tuple(sorted((k for k in keys if len(k) >= 2), key=len, reverse=True))


def _strip_prefixes(text: str, admin: tuple[str, ...]) -> str:
    return _split_prefixes(text, admin)[1]


def _split_prefixes(text: str, admin: tuple[str, ...]) -> tuple[list[str], str]:
    """Strip known admin names and generic admin prefixes from the start; return (prefixes, rest)."""
    found: list[str] = []
    while True:
        prefix = next((name for name in admin if text.startswith(name) and len(text) > len(name)), None)
        if prefix is None:
            matches = (p.match(text) for p in _PREFIXES)
            prefix = next((m.group() for m in matches if m and _is_admin(m.group(), text)), None)
        if prefix is None:
            return found, text
        found.append(prefix)
        text = text[len(prefix):]


def _is_admin(prefix: str, text: str) -> bool:
    """Tell whether a generic prefix is an admin name: not a 超市/小区-like word, and a name follows it."""
    rest = text[len(prefix):]
    return bool(rest) and not rest[0].isdigit() and not prefix.endswith(_NOT_ADMIN)


def _cut_tail(text: str) -> str:
    """Keep a road with its lane or number (or a lane: 弄), else the text before the first building number."""
    road = _ROAD.match(text)
    if road:
        return road.group(1)
    return _TAIL.sub("", text)


def _core(key: str) -> tuple[str, str]:
    """Drop the compound suffix of a key: (阳光2期, 花园) for 阳光花园2期; 小区 is generic and gives ''.

    The key stays whole when too little would be left (雅苑 stays 雅苑).
    """
    phase = re.search(r"(\d+期|[东西南北]区|\d+区)$", key)
    body, tail = (key[:phase.start()], phase.group()) if phase else (key, "")
    specific = ""
    for _ in range(2):
        suffix = next((s for s in COMPOUND_SUFFIXES if body.endswith(s) and len(body) - len(s) >= 2), None)
        if suffix is None:
            break
        body = body[:-len(suffix)]
        specific = specific or ("" if suffix in _GENERIC_SUFFIXES else suffix)
    return body + tail, specific


def _address_keys(text: object, admin: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Return (prefixes stripped, keys) of one address, in the order they are tried.

    The keys: the address as written (cleaned), normalised, its compound part after a road + number, a
    misspelt road's house number, the parts in and out of brackets.
    """
    if _missing(text):
        return [], []
    text = str(text)
    whole = _arabic(_clean(text))
    prefixes, rest = _split_prefixes(whole, admin)
    keys = [whole, _fixpoint(rest, admin)]  # 西城区人民医院 as written first: 示例市人民医院 is another
    road = _ROAD.match(rest)
    if road:
        keys.append(_fixpoint(rest[road.end():], admin))
    elif house := _HOUSE.match(rest):  # 张东陆2623号: a misspelt road keeps its number for fuzzy matching
        keys.append(house.group())
    keys += [_fixpoint(part, admin) for part in _BRACKETS.findall(text)]
    keys.append(_fixpoint(_BRACKETS.sub("", text), admin))
    unique = list(dict.fromkeys(k for k in keys if len(_DIGIT_RUNS.sub("", k)) >= 2))  # not 2期 or 12 alone
    return prefixes, unique


def _header(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    keys = {"".join(unicodedata.normalize("NFKC", n).split()).lower() for n in names}
    return next((c for c in frame.columns
                 if "".join(unicodedata.normalize("NFKC", str(c)).split()).lower() in keys), None)


def _scope_key(value: object) -> str | None:
    """Return a district or street name as compared: normalised, without 区/县/街道/镇/乡."""
    if _missing(value):
        return None
    key = _ADMIN_SUFFIX.sub("", _arabic(_clean(str(value))))
    return key or None


class _Gazetteer:
    """Keys of every unit (names, aliases, addresses) with the lookups used to match addresses."""

    def __init__(self, units: gpd.GeoDataFrame, *, name: str, admin_names: Iterable[str]):
        self.units = units
        self.names = units[name].to_numpy(dtype=object)
        self.ids = units["unit_id"].to_numpy(dtype=object) if "unit_id" in units.columns else None
        self.has_point = (units.geometry.notna() & ~units.geometry.is_empty).to_numpy()
        alias = _header(units, _ALIAS_HEADERS)
        address = _header(units, _ADDRESS_HEADERS)
        self.scopes: dict[str, np.ndarray] = {}
        extra_admin: list[str] = []
        for level, headers in (("street", _STREET_HEADERS), ("district", _DISTRICT_HEADERS)):
            column = _header(units, headers)
            if column is not None:
                self.scopes[level] = np.array([_scope_key(v) for v in units[column]], dtype=object)
                extra_admin += [v for v in units[column].dropna().astype(str).unique()]
        self.admin = _admin_keys([*admin_names, *extra_admin])
        self.exact: dict[str, set[int]] = defaultdict(set)
        self.core: dict[str, set[tuple[int, str]]] = defaultdict(set)  # (unit position, its suffix)
        # (key, its words with numbers as '#', unit position), by house numbers and all together
        self.by_numbers: dict[tuple[str, ...], list[tuple[str, str, int]]] = defaultdict(list)
        self.all_keys: list[tuple[str, str, int]] = []
        for position in range(len(units)):
            texts = [self.names[position]]
            if alias is not None and isinstance(units[alias].iloc[position], str):
                texts += [a for a in re.split(r"[;；,，、|/]", units[alias].iloc[position]) if a.strip()]
            if address is not None:
                texts.append(units[address].iloc[position])
            for text in texts:
                for key in _address_keys(text, self.admin)[1]:
                    self._add(key, position)

    def _add(self, key: str, position: int) -> None:
        self.exact[key].add(position)
        core, suffix = _core(key)
        self.core[core].add((position, suffix))
        words = _DIGIT_RUNS.sub("#", key)
        self.by_numbers[tuple(_NUMBERS.findall(key))].append((key, words, position))
        self.all_keys.append((key, words, position))

    def label(self, position: int) -> str:
        name = str(self.names[position])
        return f"{name} ({self.ids[position]})" if self.ids is not None else name


def match_addresses(cases: pd.DataFrame, gazetteer: gpd.GeoDataFrame, *, column: str, name: str = "name",
                    admin_names: Iterable[str] = (), min_score: float = 75.0, margin: float = 5.0,
                    only_missing: bool = False, report: Report | None = None) -> gpd.GeoDataFrame:
    r"""Match every case's address to one unit of ``gazetteer`` and put matched cases at that unit.

    See :mod:`gridmap.cases.address` for how addresses are normalised and matched. A case is assigned only
    when its address matches exactly one unit (exactly, or fuzzily with a clear lead); ambiguous and
    unmatched addresses are reported with their three best candidates and keep no location.

    Parameters
    ----------
    cases : pandas.DataFrame or geopandas.GeoDataFrame
        Cases with the address column; not modified. A ``区``/``district`` or ``街道``/``street`` column,
        when the gazetteer has one too, limits each case's candidates to its district or street.
    gazetteer : geopandas.GeoDataFrame
        Units with ``name`` and a CRS; optional ``unit_id``, ``grid_code``, ``别名``/``alias`` (several
        names split by ``;`` ``,`` ``、``), ``地址``/``address``, ``区``/``district``, ``街道``/``street``.
    column : str
        The case column holding the address or compound name.
    name : str, default "name"
        The gazetteer's name column.
    admin_names : iterable of str, optional
        More district / street / community names to strip from addresses (e.g. ``communities["name"]``).
    min_score : float, default 75
        Lowest fuzzy score to accept (0–100: ``rapidfuzz.fuzz.ratio`` of the two keys with each house
        number, equal on both sides, written as one sign).
    margin : float, default 5
        A fuzzy match needs this lead over the next unit; closer candidates make the case ambiguous.
    only_missing : bool, default False
        Match only cases without a point (the others keep theirs and get NA match columns).
    report : gridmap.Report, optional
        ``address_unmatched`` and ``address_ambiguous`` findings, with the candidates, are added to it.

    Returns
    -------
    geopandas.GeoDataFrame
        The cases with ``address_key`` (the normalised address), ``address_match`` (the unit's name),
        ``address_unit`` (its ``unit_id``), ``address_score`` (100 for exact, the fuzzy score, or the best
        candidate's score when not assigned), ``match_kind`` (:data:`MATCH_KINDS`, NA without address),
        ``grid_code`` (when the gazetteer has it) and, for matched cases without a point, the unit's
        representative point; ``located_by`` is ``"address"`` for them.

    Raises
    ------
    SchemaError
        No such case column, a gazetteer without names or CRS, or a bad ``min_score`` / ``margin``.

    Examples
    --------
    >>> from shapely import box
    >>> units = gpd.GeoDataFrame(
    ...     {"unit_id": ["U1", "U2", "U3"], "name": ["阳光花园", "阳光花园二期", "金桂苑"],
    ...      "地址": ["上海市浦东新区张东路2281弄", "上海市浦东新区张东路2299弄", None],
    ...      "grid_code": ["G1", "G2", "G3"]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], crs="EPSG:4547")
    >>> cases = pd.DataFrame({"case_id": ["A", "B", "C", "D"],
    ...                       "地址": ["张东路２２８１弄3号601室", "阳光花园2期", "金桂小区12栋", "银杏苑"]})
    >>> found = Report("cases")
    >>> located = match_addresses(cases, units, column="地址", report=found)
    >>> located[["case_id", "address_match", "match_kind", "grid_code"]]
      case_id address_match match_kind grid_code
    0       A          阳光花园      exact        G1
    1       B        阳光花园二期      exact        G2
    2       C           金桂苑      exact        G3
    3       D          <NA>  unmatched      <NA>
    >>> found.to_frame()[["check", "record"]]
                   check record
    0  address_unmatched case D
    """
    if column not in cases.columns:
        raise SchemaError(f"the cases have no column {column!r}", record=f"option column={column!r}",
                          fix=f"name one of the columns: {', '.join(map(str, cases.columns))}")
    _check_gazetteer(gazetteer, name)
    if not 0 <= min_score <= 100 or margin < 0:
        raise SchemaError(f"min_score={min_score!r}, margin={margin!r} are out of range",
                          fix="give min_score between 0 and 100 and a margin of 0 or more")
    gaz = _Gazetteer(gazetteer, name=name, admin_names=admin_names)
    frame = cases if isinstance(cases, gpd.GeoDataFrame) else gpd.GeoDataFrame(
        cases, geometry=gpd.GeoSeries(np.full(len(cases), None, dtype=object), index=cases.index,
                                      crs=gazetteer.crs))
    missing = (frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
    if frame.crs is None and (~missing).any():
        raise CRSError("the cases have points but no CRS", fix="read them with read_cases(..., coords=...)")
    todo = missing if only_missing else np.ones(len(frame), dtype=bool)
    scopes = _case_scopes(frame, gaz)
    results: list[tuple[str | None, int | None, float, list[tuple[int, float]]]] = []
    cache: dict[tuple[object, object], tuple] = {}
    keys: dict[str, str] = {}
    for position, value in enumerate(frame[column].to_numpy(dtype=object)):
        text = None if _missing(value) else str(value).strip()
        if not todo[position] or not text:
            results.append((None, None, np.nan, []))
            continue
        if text not in keys:
            keys[text] = _fixpoint(text, gaz.admin)
        if (text, scopes[position]) not in cache:
            cache[text, scopes[position]] = _match_one(text, scopes[position], gaz, min_score, margin)
        results.append(cache[text, scopes[position]])
    findings = Report("address matching")
    _report_misses(frame, column, results, gaz, findings)
    if report is not None:
        report.extend(findings)
    elif len(findings):
        warnings.warn(f"{findings.summary()}; pass report= to list them", GridmapWarning, stacklevel=2)
    return _located(frame, column, results, gaz, missing, keys)


def _check_gazetteer(gazetteer: gpd.GeoDataFrame, name: str) -> None:
    if not isinstance(gazetteer, gpd.GeoDataFrame) or gazetteer.crs is None:
        raise SchemaError("the gazetteer must be a GeoDataFrame with a CRS (the units layer)",
                          fix="read it with gridmap.io.read_layer")
    if name not in gazetteer.columns:
        raise SchemaError(f"the gazetteer has no name column {name!r}", record=f"option name={name!r}",
                          fix=f"name one of its columns: {', '.join(map(str, gazetteer.columns))}")


def _case_scopes(frame: pd.DataFrame, gaz: _Gazetteer) -> list[tuple[str, str] | None]:
    """(level, key) of each case's street (else district) from its columns, when the gazetteer has it."""
    levels = (("street", _STREET_HEADERS), ("district", _DISTRICT_HEADERS))
    columns = [(level, column) for level, headers in levels
               if level in gaz.scopes and (column := _header(frame, headers)) is not None]
    scopes: list[tuple[str, str] | None] = [None] * len(frame)
    for level, column in reversed(columns):  # the street, when given, wins over the district
        for position, key in enumerate(_scope_key(value) for value in frame[column]):
            if key is not None:
                scopes[position] = (level, key)
    return scopes


def _exact_hits(key: str, gaz: _Gazetteer) -> set[int]:
    return gaz.exact.get(key, set())


def _core_hits(key: str, gaz: _Gazetteer) -> set[int]:
    """Return the units whose key equals ``key`` but for the suffix, unless both name different ones."""
    core, suffix = _core(key)
    return {p for p, theirs in gaz.core.get(core, ()) if not suffix or not theirs or suffix == theirs}


def _match_one(address: str, scope: tuple[str, str] | None, gaz: _Gazetteer, min_score: float,
               margin: float) -> tuple[str, int | None, float, list[tuple[int, float]]]:
    """(kind, unit position, score, best candidates) for one address."""
    prefixes, keys = _address_keys(address, gaz.admin)
    if scope is None:
        scope = _prefix_scope(prefixes, gaz)
    allowed = None if scope is None else gaz.scopes[scope[0]] == scope[1]
    for lookup in (_exact_hits, _core_hits):
        for key in keys:  # the whole address first, then its road + number, then its compound part
            hits = sorted(p for p in lookup(key, gaz) if allowed is None or allowed[p])
            if len(hits) == 1:
                return "exact", hits[0], 100.0, [(hits[0], 100.0)]
            if len(hits) > 1:
                return "ambiguous", None, 100.0, [(p, 100.0) for p in hits[:3]]
    ranked = _ranked(keys, gaz, allowed, same_numbers=True)
    if not ranked or ranked[0][1] < min_score:
        hints = _ranked(keys, gaz, allowed, same_numbers=False)  # for the report: other numbers too
        return "unmatched", None, hints[0][1] if hints else np.nan, hints
    if len(ranked) > 1 and ranked[1][1] >= ranked[0][1] - margin and ranked[1][1] >= min_score:
        return "ambiguous", None, ranked[0][1], ranked
    return "fuzzy", ranked[0][0], ranked[0][1], ranked


def _ranked(keys: list[str], gaz: _Gazetteer, allowed: np.ndarray | None, *,
            same_numbers: bool) -> list[tuple[int, float]]:
    """Return the three units whose keys score best against any of ``keys`` (``fuzz.ratio``).

    With ``same_numbers``, only keys with the same numbers (and 弄/号) compete, scored on their words (a
    number counts as one sign). Without, every key competes (for the report's hints), scored on the mean
    of its words' and its whole key's ratio, so other lanes of the same road come first.
    """
    best: dict[int, float] = {}
    for key in keys:
        words = _DIGIT_RUNS.sub("#", key)
        pool = gaz.by_numbers.get(tuple(_NUMBERS.findall(key)), []) if same_numbers else gaz.all_keys
        choices = pool if allowed is None else [c for c in pool if allowed[c[2]]]
        if not choices:
            continue
        scores = process.cdist([words], [w for _, w, _ in choices], scorer=fuzz.ratio)[0]
        if not same_numbers:
            scores = (scores + process.cdist([key], [k for k, _, _ in choices], scorer=fuzz.ratio)[0]) / 2
        for (_, _, p), score in zip(choices, scores, strict=True):
            best[p] = max(best.get(p, 0.0), float(score))
    return sorted(best.items(), key=lambda item: (-item[1], item[0]))[:3]


def _prefix_scope(prefixes: list[str], gaz: _Gazetteer) -> tuple[str, str] | None:
    """Return the street (else district) an address names in its prefix, when the gazetteer knows it."""
    for level in ("street", "district"):
        if level in gaz.scopes:
            known = set(gaz.scopes[level]) - {None}
            key = next((k for k in map(_scope_key, prefixes) if k in known), None)
            if key is not None:
                return level, key
    return None


def _report_misses(frame: pd.DataFrame, column: str, results: list, gaz: _Gazetteer,
                   findings: Report) -> None:
    """One finding per ambiguous or unmatched address, naming its best candidates."""
    for position, (kind, unit, _, ranked) in enumerate(results):
        if unit is not None and not gaz.has_point[unit]:
            findings.add("address_unit_without_location", f"address {frame[column].iloc[position]!r} matches "
                         f"{gaz.label(unit)}, which has no geometry; the case is not located",
                         record=_record(frame, position), fix="draw the unit or give the case coordinates",
                         row=position + 1)
        if kind not in ("ambiguous", "unmatched"):
            continue
        value = frame[column].iloc[position]
        candidates = "; ".join(f"{gaz.label(p)} {score:.0f}" for p, score in ranked) or "none"
        if kind == "ambiguous":
            message = f"address {value!r} fits several units equally well ({candidates}); it is not assigned"
            fix = "write the unit's exact name, add the district or street, or give coordinates"
        else:
            message = f"address {value!r} matches no unit (best candidates: {candidates}); it is not assigned"
            fix = "correct the address, add the name as an alias (别名) of its unit, or give coordinates"
        findings.add(f"address_{kind}", message, record=_record(frame, position), fix=fix, row=position + 1,
                     address=str(value), candidates=candidates)


def _record(frame: pd.DataFrame, position: int) -> str:
    """Name a record as the case readers do: its case id when it has one, else its position."""
    value = frame["case_id"].iloc[position] if "case_id" in frame.columns else None
    return f"case {value.strip()}" if isinstance(value, str) and value.strip() else f"record {position + 1}"


def _located(frame: gpd.GeoDataFrame, column: str, results: list, gaz: _Gazetteer,
             missing: np.ndarray, keys: dict[str, str]) -> gpd.GeoDataFrame:
    """Return the cases with the match columns, and the unit's point for matched cases without one."""
    kinds = [kind for kind, _, _, _ in results]
    units = np.array([-1 if unit is None else unit for _, unit, _, _ in results], dtype=np.int64)
    matched = units >= 0
    result = frame.copy()
    texts = zip(kinds, frame[column], strict=True)
    result["address_key"] = pd.array([None if kind is None else keys[str(value).strip()]
                                      for kind, value in texts], dtype="string")
    result["address_match"] = _pick(gaz.names, units, matched)
    if gaz.ids is not None:
        result["address_unit"] = _pick(gaz.ids, units, matched)
    result["address_score"] = np.array([score for _, _, score, _ in results], dtype="float64")
    result["match_kind"] = pd.array(kinds, dtype="string")
    if "grid_code" in gaz.units.columns:
        before = result["grid_code"].to_numpy(dtype=object) if "grid_code" in result.columns else None
        result["grid_code"] = _pick(gaz.units["grid_code"].to_numpy(dtype=object), units, matched, before)
    crs = frame.crs if (~missing).any() and frame.crs is not None else gaz.units.crs
    points = gaz.units.geometry.representative_point()
    if crs is not None and not crs.equals(gaz.units.crs):
        points = points.to_crs(crs)
    place = matched & missing & gaz.has_point[units]
    geometry = frame.geometry.to_numpy().copy()
    geometry[place] = points.to_numpy()[units[place]]
    if "located_by" in result.columns or place.any():
        located = result["located_by"].to_numpy(dtype=object).copy() if "located_by" in result.columns else \
            np.full(len(result), None, dtype=object)
        located[place] = "address"
        result["located_by"] = pd.array(located, dtype="string")
    return result.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=crs))


def _pick(values: np.ndarray, units: np.ndarray, matched: np.ndarray,
          before: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
    """Return the matched units' values as text, ``before`` (or NA) for the other cases."""
    out = np.full(len(units), None, dtype=object) if before is None else before.copy()
    out[matched] = [_text(v) for v in values[units[matched]]]
    return pd.array(out, dtype="string")


def _text(value: object) -> str | None:
    """Return a cell as text: whole numbers without ".0" (codes read as floats), None when missing."""
    if _missing(value):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)
