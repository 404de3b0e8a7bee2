"""The code registry: every grid code ever issued, in one SQLite file, and permanent codes for new builds.

A grid's code is its identity card: the code of its community followed by a sequence counted in the order
grids are added, never reused (DOMAIN, "Grid codes"). :class:`Registry` keeps that promise across builds:

* a grid of a new build that is the same as a registered grid keeps its code — same member units in the
  same community, or, when the units changed, at least 90% mutual area overlap (intersection / area
  >= :data:`KEEP_SHARE` both ways, measured in :func:`gridmap.crs.metric_crs`);
* a new grid gets the next sequence of its community after the highest ever issued there; the new grids of
  one community are numbered in :func:`~gridmap.division.order.reading_order` (rows north to south, west to
  east within a row);
* a registered grid that matches nothing is retired, never deleted, and its number is never issued again;
* splits, merges and replacements record parent -> child lineage; a kept grid whose member units or
  geometry changed gets a new version.

Storage. The registry is a plain SQLite file (not a GeoPackage): geometry as WKB in EPSG:4490 with bounding
box columns. A GeoPackage would reserve ``PRAGMA user_version`` and ``application_id`` for its own version,
which the registry needs for its schema version and to recognise its files, and GDAL writing into the same
file would bypass the registry's one-transaction-per-assignment rule. For QGIS, export the current grids:
``gridmap.write_layer(registry.current(), "grids.gpkg")``.

Concurrency and durability. The file is in WAL mode (readers never wait for the writer). An assignment is
one ``BEGIN IMMEDIATE`` transaction: it takes the write lock before reading the counters, so two processes
never number the same community at once (they wait up to ``timeout`` seconds), and a writer killed half-way
leaves the registry exactly as before. A UNIQUE index on ``code`` (and on community + sequence) makes a
duplicate impossible even for other writers. ``synchronous = FULL``: a committed code survives a power cut.

Examples
--------
>>> import tempfile, pathlib, shapely, pandas as pd, geopandas as gpd
>>> path = pathlib.Path(tempfile.mkdtemp()) / "registry.sqlite"
>>> cells = [shapely.box(108.30 + 0.01 * i, 22.80, 108.31 + 0.01 * i, 22.81) for i in range(3)]
>>> grids = gpd.GeoDataFrame({"code": ["450102001003-001", "450102001003-002", "450102001003-003"],
...     "community_code": ["450102001003"] * 3, "type": ["city"] * 3, "unit_ids": ["A", "B", "C;D"]},
...     geometry=cells, crs="EPSG:4490")
>>> registry = Registry(path)
>>> first = registry.assign(grids, when="2025-01-06")
>>> first[["code", "temp_code", "status"]]
              code         temp_code status
0  450102001003001  450102001003-001    new
1  450102001003002  450102001003-002    new
2  450102001003003  450102001003-003    new
>>> added = gpd.GeoDataFrame({"code": ["450102001003-004"], "community_code": ["450102001003"],
...     "type": ["city"], "unit_ids": ["D"]}, geometry=[shapely.box(108.33, 22.80, 108.34, 22.81)],
...     crs="EPSG:4490")
>>> rebuilt = pd.concat([grids.assign(unit_ids=["A", "B", "C"]), added], ignore_index=True)  # D alone
>>> registry.assign(rebuilt, when="2025-03-03")[["code", "status", "changed"]]
              code status  changed
0  450102001003001   kept    False
1  450102001003002   kept    False
2  450102001003003   kept     True
3  450102001003004    new    False
>>> registry.versions()[["version", "issued_on", "kept", "added", "changed", "retired"]]
   version   issued_on  kept  added  changed  retired
0        1  2025-01-06     0      3        0        0
1        2  2025-03-03     3      1        1        0
>>> registry.close()
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely

from gridmap.codes import _registry_sql
from gridmap.codes._registry_match import OldGrids, plan_matches
from gridmap.codes.beidou import beidou
from gridmap.codes.scheme import DEFAULT, CodeScheme, get_scheme, parse_many, validate
from gridmap.crs import metric_crs
from gridmap.division.order import reading_order
from gridmap.errors import CodeError, CRSError, GeometryError, RegistryError
from gridmap.findings import Report
from gridmap.schema import ID_SEPARATOR, ID_SEPARATORS, caller_columns, join_ids, model_columns, split_ids

_T = TypeVar("_T")

__all__ = ["Registry", "RegistryDiff", "KEEP_SHARE", "LINK_SHARE", "GEOMETRY_TOLERANCE_M2", "SCHEMA_VERSION",
           "DIFF_COUNTS", "SCOPES", "REGISTRY_LEVELS"]

logger = logging.getLogger(__name__)

#: A grid whose units changed keeps its code when it and a registered grid share at least this share of
#: each other's area.
KEEP_SHARE = 0.9
#: Grids sharing at least this share of either one's area (or any member unit) are linked parent -> child.
LINK_SHARE = 0.1
#: A kept grid's geometry has changed when the symmetric difference exceeds this area (m²).
GEOMETRY_TOLERANCE_M2 = 1.0
#: Layout version of registry files this gridmap writes (older ones are migrated when opened).
SCHEMA_VERSION = _registry_sql.SCHEMA_VERSION
#: Counts of :meth:`Registry.diff` per community and street.
DIFF_COUNTS = ("added", "retired", "split", "merged", "changed")
#: What an assignment may retire: every registered grid, or those of the communities in the build.
SCOPES = ("all", "communities")
_REPLACED_COLUMNS = ("temp_code", "status", "changed", "parents", "beidou")
#: What a registry holds: grid codes, or micro-grid codes (微网格: a grid's code and a sequence), each level
#: in a registry file of its own.
REGISTRY_LEVELS = ("grid", "micro")


@dataclass(frozen=True)
class _Build:
    """A new build, checked; columns are Series on a RangeIndex (row positions), text kept in Arrow."""

    community: pd.Series
    types: pd.Series
    units: pd.Series
    n_units: np.ndarray
    temp: pd.Series
    claims: list[tuple[int, str]]
    geometry: np.ndarray | None = None
    metric: np.ndarray | None = None
    metric_crs: pyproj.CRS | None = None

    def __len__(self) -> int:
        return len(self.community)

    def storage(self) -> tuple[list[bytes], np.ndarray] | None:
        """WKB and bounds in EPSG:4490, or None without geometry."""
        if self.geometry is None:
            return None
        return list(shapely.to_wkb(self.geometry)), shapely.bounds(self.geometry)


@dataclass(frozen=True)
class _Outcome:
    codes: np.ndarray  # ASCII bytes
    status: np.ndarray  # True: new
    changed: np.ndarray
    parents: pd.Series
    counts: dict[str, int]


@dataclass(frozen=True)
class RegistryDiff:
    """What changed in a registry since a version or date (:meth:`Registry.diff`).

    Attributes
    ----------
    since : str
        The ``since=`` given, as text.
    versions : list of int
        The versions covered.
    changes : pandas.DataFrame
        One row per event: ``version``, ``date``, ``event`` (added / retired / changed), ``code``,
        ``community_code``, ``street_code``, ``type``, ``parents`` and ``children`` (";"-joined codes),
        ``lineage`` (kinds of the links: split, merge, reshaped, successor, absorbed, carved), ``split`` and
        ``merged`` (bool).
    by_community, by_street : pandas.DataFrame
        Counts :data:`DIFF_COUNTS` per ``community_code`` / ``street_code``.
    """

    since: str
    versions: list[int]
    changes: pd.DataFrame
    by_community: pd.DataFrame
    by_street: pd.DataFrame

    def totals(self) -> dict[str, int]:
        """Return the counts :data:`DIFF_COUNTS` over the whole registry."""
        return {name: int(self.by_community[name].sum()) for name in DIFF_COUNTS}

    def to_json(self) -> str:
        """Return the diff as JSON (non-ASCII text kept readable)."""
        payload = {"since": self.since, "versions": self.versions, "totals": self.totals()}
        for name in ("changes", "by_community", "by_street"):
            payload[name] = json.loads(getattr(self, name).to_json(orient="records", force_ascii=False))
        return json.dumps(payload, ensure_ascii=False, indent=2)

    def __repr__(self) -> str:
        totals = ", ".join(f"{name} {count}" for name, count in self.totals().items())
        span = f"versions {self.versions[0]}–{self.versions[-1]}" if self.versions else "no versions"
        return f"RegistryDiff(since {self.since}: {span}; {totals})"

    def _repr_html_(self) -> str:
        span = f"versions {self.versions[0]}–{self.versions[-1]}" if self.versions else "no versions"
        heading = f"<p><b>Changes since {html.escape(self.since)}</b> ({span})</p>"
        totals = pd.DataFrame([self.totals()]).to_html(index=False)
        by_street = self.by_street.head(20).to_html(index=False) if len(self.by_street) else ""
        return heading + totals + by_street


def _sqlite_errors(method: Callable[..., _T]) -> Callable[..., _T]:
    """Raise the SQLite errors of a Registry method as RegistryErrors saying what is wrong (read-only, …)."""
    @functools.wraps(method)
    def wrapper(self: Registry, *args: Any, **kwargs: Any) -> _T:
        with _registry_sql.translated_errors(self.path):
            return method(self, *args, **kwargs)
    return wrapper


class Registry:
    """Every grid code ever issued, in an SQLite file; gives new builds their permanent codes.

    Parameters
    ----------
    path : str or os.PathLike
        The registry file (created when missing, e.g. ``grids_registry.sqlite``). Files of an older
        registry schema are migrated when opened.
    scheme : CodeScheme or str, optional
        Code layout. A new registry uses it (default :data:`~gridmap.codes.scheme.DEFAULT`); an existing one
        keeps the scheme it was created with, and refuses a different one.
    timeout : float, default 60
        Seconds to wait for another process's assignment to finish before giving up.
    create : bool, default True
        Create the file when missing; with False a missing file raises :class:`~gridmap.errors.RegistryError`.
    level : {"grid", "micro"}, default "grid"
        What the registry holds. ``"micro"``: micro-grids (微网格, :func:`gridmap.division.build_microgrids`),
        in a registry file of their own, with the same rules as grids one level down: a micro-grid's
        "community" is the grid it divides (its ``grid_code``), its code that grid's code and the next
        sequence of ``scheme.micro_width`` digits there; kept, new, retired and lineage as for grids. A
        new file takes the level it is first opened with; a file holding the other level is refused.

    Attributes
    ----------
    path : pathlib.Path
    scheme : CodeScheme
    read_only : bool
        The file or its folder cannot be written (a read-only mount, a read-only file): the registry was
        opened read-only (SQLite ``mode=ro``, or ``immutable=1`` in a read-only folder). Queries work; an
        assignment that needs new codes raises a RegistryError saying the registry is read-only.
    level : str

    Raises
    ------
    RegistryError
        The file is not a registry, was written by a newer gridmap, was created with another scheme, or is
        locked by another process for longer than ``timeout``; it is damaged ("registry damaged", naming the
        table: missing tables or columns, a missing or garbage ``meta`` row, impossible counters); it is
        read-only or the disk is full when it must be written (each says so: no backup is needed then).

    Notes
    -----
    Lineage kinds (parent -> child): ``split`` (a retired grid went into several grids), ``merge`` (a new
    grid took several retired grids), ``reshaped`` (both), ``successor`` (one retired grid, one new grid),
    ``absorbed`` (a retired grid went into a kept grid), ``carved`` (a new grid took land or units of a kept
    grid).
    """

    def __init__(self, path: str | os.PathLike, *, scheme: CodeScheme | str | None = None,
                 timeout: float = 60.0, create: bool = True, level: str = "grid"):
        self.path = Path(path)
        if level not in REGISTRY_LEVELS:
            raise RegistryError(f"level must be one of {', '.join(REGISTRY_LEVELS)}, got {level!r}",
                                path=self.path, fix="pass level='grid' or level='micro'")
        wanted = None if scheme is None else get_scheme(scheme)
        self._con, self.read_only = _registry_sql.open_connection(self.path, scheme=wanted or DEFAULT,
                                                                  timeout=timeout, create=create)
        self.scheme = _registry_sql.read_scheme(self._con)
        if wanted is not None and replace(wanted, description="") != replace(self.scheme, description=""):
            self.close()
            raise RegistryError(f"the registry holds codes of scheme '{self.scheme.name}' "
                                f"({self.scheme.layout}), not of scheme '{wanted.name}' ({wanted.layout})",
                                path=self.path,
                                fix=f"open it without scheme= (or with scheme='{self.scheme.name}'), or keep "
                                    "the codes of another scheme in another registry file")
        self.level = _registry_sql.claim_level(self._con, level)
        if self.level != level or (level == "micro" and not self.scheme.micro_width):
            self.close()
            held = "micro-grid" if self.level == "micro" else "grid"
            raise RegistryError(f"the registry holds {held} codes of scheme '{self.scheme.name}' "
                                f"({self.scheme.layout}), not {level}-level codes", path=self.path,
                                fix="keep micro-grids in a registry file of their own, opened with "
                                    "Registry(path, level='micro'), and grids in another")
        self._width = self.scheme.length + (self.scheme.micro_width if self.level == "micro" else 0)

    # ------------------------------------------------------------------------------------------- basics

    def close(self) -> None:
        """Close the database connection (the registry cannot be used afterwards)."""
        self._con.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @_sqlite_errors
    def __len__(self) -> int:
        """Return the number of active (not retired) codes."""
        return self._con.execute("SELECT COUNT(*) FROM codes WHERE retired_version IS NULL").fetchone()[0]

    def __repr__(self) -> str:
        versions = self._con.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
        return f"Registry({str(self.path)!r}, scheme='{self.scheme.name}': {len(self)} active codes, " \
               f"{versions} versions)"

    def _repr_html_(self) -> str:
        heading = (f"<p><b>Registry</b> <code>{html.escape(str(self.path))}</code>, scheme "
                   f"'{html.escape(self.scheme.name)}': <b>{len(self)}</b> active codes</p>")
        columns = ["version", "issued_on", "grids", "kept", "added", "changed", "retired"]
        return heading + self.versions()[columns].tail(10).to_html(index=False)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        con = self._con
        try:
            with _registry_sql.immediate(con, self.path):
                _registry_sql.create_temp_tables(con)
                yield con
        finally:
            _registry_sql.drop_temp_tables(con)

    # --------------------------------------------------------------------------------------- assignment

    @_sqlite_errors
    def assign(self, grids: pd.DataFrame, *, when: Any = None, scope: Literal["all", "communities"] = "all",
               beidou_level: int = 7) -> pd.DataFrame:
        """Give the grids of a new build their permanent codes, in one transaction.

        Parameters
        ----------
        grids : GeoDataFrame or DataFrame
            A build, e.g. ``gridmap.division.build_grids(communities, units).grids``: ``community_code``
            (12-digit str, required), ``unit_ids`` (";"-joined member unit ids), ``type`` (or
            ``grid_type``), ``code`` (the builder's temporary id) and polygons in any CRS. Without geometry
            (a DataFrame), grids are matched by member units only; that is the fast path for millions.
            A ``grid_code`` column may name the code of a grid imported from a schema 0 registry.
        when : date, datetime or ISO date str, optional
            Date the codes take effect (default today); not before the registry's last version.
        scope : {"all", "communities"}, default "all"
            ``"all"``: the build is the whole network, registered grids it does not continue are retired.
            ``"communities"``: only grids of the communities in the build may be retired.
        beidou_level : int, default 7
            Level (1–10) of the Beidou grid location code (GB/T 39409) of each grid's representative point.

        Returns
        -------
        GeoDataFrame (DataFrame for a build without geometry)
            A copy of ``grids`` with ``code`` (permanent), ``temp_code`` (the builder's id), ``status``
            (``kept`` / ``new``), ``changed`` (a kept grid whose units, type or geometry changed: a new
            version), ``parents`` (";"-joined codes it came from), ``beidou`` (None without geometry).
            Re-running the same build returns the same codes and writes nothing.

        Raises
        ------
        RegistryError
            Grids without ``community_code`` or with malformed ones, duplicated grids, types the scheme
            has no digit for, a community out of sequences, ``when`` before the last version, a busy
            registry.
        """
        if scope not in SCOPES:
            raise RegistryError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}", path=self.path,
                                fix="pass scope='all' (the whole network) or scope='communities'")
        _check_level(beidou_level)
        issued_on = _as_date(when, self.path)
        grids, names = model_columns(grids, "build")
        build = _prepare(grids, self.scheme, self.path, micro=self.level == "micro")
        with self._transaction() as con:
            version, last = _registry_sql.next_version(con)
            if last is not None and issued_on < last:
                raise RegistryError(f"when={issued_on} is before the registry's last version {version - 1} "
                                    f"({last})", path=self.path, fix=f"give a date on or after {last}")
            try:
                outcome = self._apply(con, build, version=version, issued_on=issued_on, scope=scope)
            except sqlite3.IntegrityError as err:  # the UNIQUE indexes refuse one grid twice
                pair = _duplicate_grids(build)
                if pair is None:
                    raise
                raise RegistryError(f"two grids have the same member units {build.units.iloc[pair[0]]!r}",
                                    path=self.path,
                                    record=f"{_row(grids, pair[0])} and {_row(grids, pair[1])}",
                                    fix="every unit belongs to one grid: rebuild the grids or drop the "
                                        "duplicate") from err
        counts = outcome.counts
        logger.info("%s: %d grids, %d kept, %d new, %d changed, %d retired%s", self.path, len(build),
                    counts["kept"], counts["added"], counts["changed"], counts["retired"],
                    f" (version {version})" if counts["written"] else " (nothing changed)")
        return caller_columns(_result(grids, build, outcome, beidou_level), names)

    def _apply(self, con: Any, build: _Build, *, version: int, issued_on: str, scope: str) -> _Outcome:
        n = len(build)
        typed = "type" in self.scheme.widths and self.level == "grid"
        types = _registry_sql.Types.of(build.types)
        if build.claims or _registry_sql.holds_current_grids(con):  # else every grid is new: nothing to match
            _registry_sql.load_new(con, build.community, types, build.units, build.storage())
            _registry_sql.match_units(con, typed=typed)
        if build.claims:
            _registry_sql.match_claims(con, build.claims)
        m_pos, m_codes, differs = _registry_sql.fetch_matched(con, n=n, width=self._width)
        matched = np.zeros(n, dtype=bool)
        matched[m_pos] = True
        unmatched = _registry_sql.count_active(con, scope) - len(m_pos)
        old = self._old_grids(con, build, scope, matched, unmatched=unmatched)
        plan = None if old is None else plan_matches(
            old, community=build.community, types=build.types, units=build.units, geometry=build.metric,
            matched=matched, typed=typed, keep_share=KEEP_SHARE, link_share=LINK_SHARE)
        fresh = np.flatnonzero(~matched) if plan is None else plan.fresh
        differing = np.isin(m_pos, differs)
        code_of = dict(zip(m_pos[differing].tolist(), m_codes[differing].astype(str).tolist(), strict=True))
        changed = _changed_units_matched(con, build, differs, code_of)
        if plan is not None and old is not None:
            changed += _changed_overlap_kept(build, old, plan)
        order = fresh if build.geometry is None else _fresh_order(build, build.geometry, fresh)
        _registry_sql.write_plan(con, keeps=[] if plan is None else plan.keeps, changed=changed,
                                 retired=[] if plan is None else plan.retired)
        community = _ascii_text(build.community, self.scheme.length if self.level == "micro" else 12)
        i_pos, i_codes = _registry_sql.issue_codes(
            con, self.scheme, version, self.path, fresh=fresh, order=order, communities=community[fresh],
            types=types.take(fresh), micro_width=self.scheme.micro_width if self.level == "micro" else 0)
        codes = _codes(n, (m_pos, m_codes), (i_pos, i_codes), plan, self._width)
        added = len(i_pos)
        counts = {"grids": n, "kept": n - added, "added": added, "changed": len(changed),
                  "retired": 0 if plan is None else len(plan.retired)}
        counts["written"] = bool(added or changed or counts["retired"])
        if counts["written"]:
            _registry_sql.close_versions(con, version)
            changed_at = np.array([position for position, _, _ in changed], dtype=np.int64)
            positions = np.concatenate([changed_at, i_pos])
            positions = positions[np.argsort(codes[positions], kind="stable")]
            storage = build.storage()
            _registry_sql.insert_versions(
                con, version, codes=codes[positions], communities=community[positions],
                types=types.take(positions), units=build.units.iloc[positions],
                n_units=build.n_units[positions], changed=len(changed) > 0,
                geometry=None if storage is None else ([storage[0][p] for p in positions.tolist()],
                                                       storage[1][positions]))
            _registry_sql.retire_codes(con, version)
            _registry_sql.insert_lineage(con, version, [] if plan is None or old is None
                                         else _link_rows(plan, old, codes))
            _registry_sql.record_version(con, version, issued_on, counts)
        return _outcome(codes, i_pos, plan, old, changed, counts)

    def _old_grids(self, con: Any, build: _Build, scope: str, matched: np.ndarray,
                   *, unmatched: int) -> OldGrids | None:
        """Load the registered grids that may be kept by overlap, retired, or be parents of new grids."""
        rows = _registry_sql.fetch_unmatched_old(con, scope) if unmatched > 0 else []
        candidate = [True] * len(rows)
        if build.geometry is not None and not matched.all():
            bounds = shapely.total_bounds(build.geometry[~matched])
            near = _registry_sql.fetch_old_near(con, scope, bounds)
            rows, candidate = rows + near, candidate + [False] * len(near)
        if not rows:
            return None
        codes, ids, community, types, units, wkb = (np.array(column, dtype=object)
                                                    for column in zip(*rows, strict=True))
        geometry = None
        if build.metric is not None:
            geometry = gpd.GeoSeries.from_wkb(wkb, crs=4490).to_crs(build.metric_crs).to_numpy()
        return OldGrids(codes=codes, ids=ids.astype(np.int64), community=community, types=types, units=units,
                        geometry=geometry, candidate=np.array(candidate, dtype=bool))

    # ------------------------------------------------------------------------------------------ queries

    @_sqlite_errors
    def versions(self) -> pd.DataFrame:
        """Return one row per version.

        Columns ``version``, ``issued_on``, ``created_at`` (UTC), ``grids`` in the build, ``kept``,
        ``added``, ``changed``, ``retired``, ``note``.
        """
        return pd.read_sql_query("SELECT * FROM versions ORDER BY version", self._con)

    @_sqlite_errors
    def current(self, *, beidou_level: int = 7) -> gpd.GeoDataFrame:
        """Return the active grids with their codes, in EPSG:4490 (geometry None where there is none).

        Columns: ``code``, ``community_code``, ``street_code``, ``type``, ``sequence``, ``unit_ids``,
        ``n_units``, ``issued_version``, ``issued_on``, ``version`` (of the current geometry and units),
        ``beidou``, geometry.
        """
        _check_level(beidou_level)
        rows = self._con.execute(
            "SELECT c.code, c.community_code, g.type, c.sequence, g.units, g.n_units, c.issued_version, "
            "vi.issued_on, g.version, g.geometry FROM codes AS c "
            "JOIN grid_versions AS g ON g.code = c.code AND g.until_version IS NULL "
            "JOIN versions AS vi ON vi.version = c.issued_version "
            "WHERE c.retired_version IS NULL ORDER BY c.code").fetchall()
        columns = ["code", "community_code", "type", "sequence", "unit_ids", "n_units", "issued_version",
                   "issued_on", "version", "geometry"]
        frame = pd.DataFrame.from_records(rows, columns=columns)
        if self.level == "micro":  # a micro-grid's "community" is its grid
            frame.insert(1, "grid_code", frame["community_code"])
            frame["community_code"] = parse_many(frame["code"], scheme=self.scheme)["community_code"]
        frame.insert(frame.columns.get_loc("community_code") + 1, "street_code",
                     frame["community_code"].str.slice(0, 9))
        geometry = shapely.from_wkb(frame.pop("geometry").to_numpy(dtype=object))
        frame["beidou"] = _beidou(geometry, beidou_level)
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=4490)

    @_sqlite_errors
    def history(self, code: str) -> pd.DataFrame:
        """Everything that happened to one code: issue, changes, retirement, parents and children.

        Returns
        -------
        DataFrame
            One row per event, oldest first: ``code``, ``version``, ``date``, ``event`` (issued / changed /
            retired), ``type``, ``n_units``, ``unit_ids``, ``parents``, ``children`` (";"-joined codes),
            ``lineage`` (kinds of those links).

        Raises
        ------
        RegistryError
            The code is not a code of the registry's scheme, or was never issued.
        """
        self._check_code(code)
        issued = self._con.execute("SELECT issued_version, retired_version FROM codes WHERE code = ?",
                                   (code,)).fetchone()
        if issued is None:
            raise RegistryError(f"code {code} was never issued by this registry", path=self.path,
                                record=f"code {code}",
                                fix="check the code; registry.current() lists the active codes")
        rows = self._con.execute(
            "SELECT g.version, v.issued_on, g.type, g.n_units, g.units FROM grid_versions AS g "
            "JOIN versions AS v ON v.version = g.version WHERE g.code = ? ORDER BY g.version",
            (code,)).fetchall()
        events = [(version, date, "issued" if version == issued[0] else "changed", kind, n_units, units)
                  for version, date, kind, n_units, units in rows]
        if issued[1] is not None:
            (date,) = self._con.execute("SELECT issued_on FROM versions WHERE version = ?",
                                        (issued[1],)).fetchone()
            events.append((issued[1], date, "retired", None, None, None))
        frame = pd.DataFrame(events, columns=["version", "date", "event", "type", "n_units", "unit_ids"])
        frame["n_units"] = frame["n_units"].astype("Int64")
        frame.insert(0, "code", code)
        parents = self._links("child", "parent", code)
        children = self._links("parent", "child", code)
        frame["parents"] = [parents.get(v, ("", set()))[0] for v in frame["version"]]
        frame["children"] = [children.get(v, ("", set()))[0] for v in frame["version"]]
        frame["lineage"] = [join_ids(sorted(parents.get(v, ("", set()))[1] | children.get(v, ("", set()))[1]))
                            for v in frame["version"]]
        return frame

    def _links(self, side: str, other: str, code: str) -> dict[int, tuple[str, set[str]]]:
        found: dict[int, tuple[list[str], set[str]]] = {}
        for related, version, kind in self._con.execute(
                f"SELECT {other}, version, kind FROM lineage WHERE {side} = ? ORDER BY {other}", (code,)):
            codes, kinds = found.setdefault(version, ([], set()))
            codes.append(related)
            kinds.add(kind)
        return {version: (join_ids(codes), kinds) for version, (codes, kinds) in found.items()}

    def _check_code(self, code: Any) -> None:
        problems = validate(code, scheme=self.scheme)
        if problems:
            raise RegistryError(f"{problems[0]}; the registry holds codes of scheme '{self.scheme.name}' "
                                f"({self.scheme.layout})", path=self.path, record=f"code {code!r}",
                                fix="give a code of the registry's scheme")

    @_sqlite_errors
    def diff(self, since: Any) -> RegistryDiff:
        """Codes added, retired, split, merged and changed since a version or a date.

        Parameters
        ----------
        since : int, date or str
            A version number (the diff covers the versions after it; 0 covers everything) or a date (the
            versions issued on or after it). A str of digits only is a version number, any other str an
            ISO date (``"2025-03-01"``).

        Returns
        -------
        RegistryDiff
            ``changes`` (one row per event) and counts per community and per street.
        """
        first = self._first_version(since)
        con = self._con
        added = con.execute("SELECT code, community_code, type, issued_version FROM codes "
                            "WHERE issued_version >= ?", (first,)).fetchall()
        retired = con.execute("SELECT code, community_code, type, retired_version FROM codes "
                              "WHERE retired_version >= ?", (first,)).fetchall()
        changed = con.execute("SELECT g.code, g.community_code, g.type, g.version FROM grid_versions AS g "
                              "JOIN codes AS c ON c.code = g.code WHERE g.version >= ? "
                              "AND g.version > c.issued_version", (first,)).fetchall()
        links = con.execute("SELECT parent, child, version, kind FROM lineage WHERE version >= ?",
                            (first,)).fetchall()
        lineage = pd.DataFrame(links, columns=["parent", "child", "version", "kind"])
        dates = dict(con.execute("SELECT version, issued_on FROM versions WHERE version >= ?",
                                 (first,)).fetchall())
        changes = _diff_changes({"added": added, "retired": retired, "changed": changed}, lineage, dates)
        return RegistryDiff(since=str(since), versions=sorted(dates), changes=changes,
                            by_community=_diff_counts(changes, "community_code"),
                            by_street=_diff_counts(changes, "street_code"))

    def _first_version(self, since: Any) -> int:
        if isinstance(since, str) and since.strip().isdigit():
            since = int(since)
        if isinstance(since, (int, np.integer)) and not isinstance(since, bool):
            if since < 0:
                raise RegistryError(f"since={since} is not a version", path=self.path,
                                    fix="give a version number >= 0 (registry.versions() lists them) or a "
                                        "date")
            return int(since) + 1
        date = _as_date(since, self.path, what="since")
        (first,) = self._con.execute("SELECT MIN(version) FROM versions WHERE issued_on >= ?",
                                     (date,)).fetchone()
        return first if first is not None else _registry_sql.next_version(self._con)[0]

    # -------------------------------------------------------------------------------------------- check

    @_sqlite_errors
    def check(self) -> Report:
        """Check the registry's consistency (after a crash, a copy, a manual edit).

        Findings (severity error): ``integrity`` (SQLite's ``PRAGMA integrity_check``), ``duplicate_code``,
        ``counter`` (a community's counter differs from the highest sequence issued there),
        ``current_version`` (an active code without exactly one current version, or a retired code with
        one), ``invalid_code``
        (a code that is not of the scheme or disagrees with its community and sequence), ``version_counts``
        (the active codes are not the codes added minus those retired by the versions).
        """
        report = Report(f"code registry {self.path}")
        con = self._con
        for (message,) in con.execute("PRAGMA integrity_check"):
            if message != "ok":
                report.add("integrity", message)
        for code, count in con.execute("SELECT code, COUNT(*) FROM codes GROUP BY code HAVING COUNT(*) > 1"):
            report.add("duplicate_code", f"code {code} is registered {count} times", record=code)
        for community, counter, highest in con.execute(
                "SELECT community_code, MAX(counter), MAX(highest) FROM ("
                "SELECT community_code, last_sequence AS counter, NULL AS highest FROM counters UNION ALL "
                "SELECT community_code, NULL, MAX(sequence) FROM codes GROUP BY community_code) "
                "GROUP BY community_code HAVING MAX(counter) IS NOT MAX(highest)"):
            report.add("counter", f"community {community}: counter {counter} but highest sequence issued "
                       f"{highest}", record=community)
        for code, retired, current in con.execute(
                "SELECT c.code, c.retired_version, COUNT(g.id) FROM codes AS c LEFT JOIN grid_versions AS g "
                "ON g.code = c.code AND g.until_version IS NULL GROUP BY c.code "
                "HAVING COUNT(g.id) <> (c.retired_version IS NULL)"):
            state = "retired" if retired is not None else "active"
            report.add("current_version", f"{state} code {code} has {current} current versions", record=code)
        active, counted = con.execute(
            "SELECT (SELECT COUNT(*) FROM codes WHERE retired_version IS NULL), "
            "(SELECT COALESCE(SUM(added) - SUM(retired), 0) FROM versions)").fetchone()
        if active != counted:
            report.add("version_counts", f"{active} active codes but the versions add up to {counted}")
        _check_codes(con, self.scheme, report, micro=self.level == "micro")
        return report


# ------------------------------------------------------------------------------------------- the build


def _check_level(level: Any) -> None:
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 1 <= level <= 10:
        raise CodeError(f"beidou_level must be an integer 1–10, got {level!r}",
                        fix="pass beidou_level=1 … 10")


def _as_date(value: Any, path: Path, *, what: str = "when") -> str:
    if value is None:
        return dt.date.today().isoformat()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10]).isoformat()
        except ValueError:
            pass
    raise RegistryError(f"{what}={value!r} is not a date", path=path,
                        fix=f"give {what} as a date or an ISO date string such as '2025-03-01'")


def _row(grids: pd.DataFrame, position: int) -> str:
    label = grids.index[position]
    code = grids["code"].iloc[position] if "code" in grids.columns else None
    return f"row {label}" + (f" ({code})" if isinstance(code, str) else "")


def _communities(grids: pd.DataFrame, scheme: CodeScheme, path: Path) -> pd.Series:
    if "community_code" not in grids.columns:
        raise RegistryError("grids have no community_code column", path=path,
                            fix="give grids as built by gridmap.division.build_grids, or add the 12-digit "
                                "community code of each grid "
                                f"(columns: {', '.join(map(str, grids.columns))})")
    raw = grids["community_code"].reset_index(drop=True)
    missing = raw.isna().to_numpy()
    if missing.any():
        raise RegistryError("community_code is missing", path=path,
                            record=_row(grids, int(np.argmax(missing))),
                            fix="give every grid the 12-digit code of its community")
    if pd.api.types.infer_dtype(raw, skipna=False) != "string":
        is_text = raw.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        raise RegistryError(f"community_code {raw[~is_text].iloc[0]!r} is not text", path=path,
                            record=_row(grids, int(np.argmin(is_text))),
                            fix="read codes as text (dtype=str) so leading zeros survive")
    text = raw.astype("str")
    unique = pd.Series(text.unique(), dtype="str")
    probes = _probe_codes(unique, scheme)
    bad = parse_many(probes, scheme=scheme, errors="coerce")["community_code"].isna().to_numpy()
    if bad.any():
        community = unique.iloc[int(np.argmax(bad))]
        problem = validate(probes.iloc[int(np.argmax(bad))], scheme=scheme)[0] \
            if len(community) == 12 and community.isdigit() else "it is not 12 digits"
        raise RegistryError(f"community_code {community!r} is not a community or village code ({problem})",
                            path=path, record=_row(grids, int(np.argmax((text == community).to_numpy()))),
                            fix="give the 12-digit statistical division code of the grid's community")
    return text


def _probe_codes(communities: pd.Series, scheme: CodeScheme) -> pd.Series:
    """Write a code of sequence 1 in each community (with the first type digit), to check communities."""
    parts = {"community": communities, "object": scheme.object_code,
             "type": next(iter(scheme.grid_types.values()), ""),
             "sequence": f"{1:0{scheme.widths['sequence']}d}"}
    codes = pd.Series("", index=communities.index, dtype="str")
    for name, _ in scheme.fields:
        codes = codes + parts[name]
    return codes


def _types(grids: pd.DataFrame, scheme: CodeScheme, path: Path) -> pd.Series:
    column = "type" if "type" in grids.columns else "grid_type" if "grid_type" in grids.columns else None
    if column is None:
        if scheme.grid_types:
            raise RegistryError(f"scheme '{scheme.name}' writes the grid type but grids have no type column",
                                path=path, fix="add type (city / rural / dedicated) to every grid")
        return pd.Series(np.nan, index=pd.RangeIndex(len(grids)), dtype="str")
    values = grids[column].reset_index(drop=True).astype("str")
    if scheme.grid_types:
        bad = ~values.isin(list(scheme.grid_types)).to_numpy()
        if bad.any():
            first = int(np.argmax(bad))
            raise RegistryError(f"grid type {grids[column].iloc[first]!r} has no digit in scheme "
                                f"'{scheme.name}'", path=path, record=_row(grids, first),
                                fix=f"set {column} to one of {', '.join(scheme.grid_types)}")
    return values


def _units(grids: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """Member unit ids (:func:`gridmap.schema.split_ids`) as sorted joined text, and their number."""
    if "unit_ids" not in grids.columns:
        empty = pd.Series(pa.repeat("", len(grids)), dtype="str")
        return empty, np.zeros(len(grids), dtype=np.int64)
    text = grids["unit_ids"].reset_index(drop=True).astype("str").fillna("").str.strip()
    several = np.flatnonzero(pc.match_substring_regex(pa.array(text, pa.large_string()), ID_SEPARATORS)
                             .to_numpy(zero_copy_only=False))
    unsorted = several[~_canonical(text.iloc[several])]
    if len(unsorted):  # builders write sorted ids: usually nothing to replace
        text = text.copy()
        text.iloc[unsorted] = [join_ids(sorted(set(split_ids(v)))) for v in text.iloc[unsorted].tolist()]
    array = pa.array(text, pa.large_string())
    separators = pc.count_substring(array, ID_SEPARATOR).to_numpy(zero_copy_only=False)  # literal: no regex
    counts = np.where(pc.binary_length(array).to_numpy(zero_copy_only=False) == 0, 0, separators + 1)
    return text, counts.astype(np.int64)


def _canonical(text: pd.Series) -> np.ndarray:
    """Which lists of ids are written as :func:`_units` writes them: ``;`` between ids in ascending order.

    Vectorised (Arrow): ids compared as UTF-8 bytes, which orders them as Python orders text.
    """
    canonical = np.ones(len(text), dtype=bool)
    if not len(text):
        return canonical
    lists = pc.split_pattern(pa.array(text, pa.large_string()), ID_SEPARATOR)
    ids, owner = pc.list_flatten(lists), pc.list_parent_indices(lists).to_numpy()
    wrong = pc.or_(pc.equal(pc.utf8_length(ids), 0), pc.match_substring_regex(ids, ID_SEPARATORS))
    bad = owner[wrong.to_numpy(zero_copy_only=False)]
    same = owner[1:] == owner[:-1]
    rising = pc.greater(ids.slice(1), ids.slice(0, len(ids) - 1)).to_numpy(zero_copy_only=False)
    canonical[bad] = False
    canonical[owner[1:][same & ~rising]] = False
    return canonical


def _claims(grids: pd.DataFrame, path: Path) -> list[tuple[int, str]]:
    if "grid_code" not in grids.columns:
        return []
    named = grids["grid_code"].notna().to_numpy()
    positions, codes = np.flatnonzero(named), grids["grid_code"].to_numpy(dtype=object)[named]
    duplicated = pd.Series(codes).duplicated().to_numpy()
    if duplicated.any():
        raise RegistryError(f"grid_code {codes[duplicated][0]} is given to two grids", path=path,
                            record=_row(grids, int(positions[duplicated][0])),
                            fix="give each existing code once")
    return [(int(p), str(c)) for p, c in zip(positions, codes, strict=True)]


def _geometry(grids: pd.DataFrame, path: Path) -> dict[str, Any]:
    if not isinstance(grids, gpd.GeoDataFrame) or grids._geometry_column_name not in grids.columns:
        return {}
    series = grids.geometry
    if series.isna().all():
        return {}
    if series.crs is None:
        raise CRSError("grids have no CRS", path=path,
                       fix="set the CRS of the grids (EPSG:4490 or EPSG:4326) with set_crs, or read them "
                           "with gridmap.read_layer")
    values = series.to_numpy()
    empty = shapely.is_missing(values) | shapely.is_empty(values)
    if empty.any():
        raise GeometryError(f"{int(empty.sum())} grids have no geometry", path=path,
                            record=_row(grids, int(np.argmax(empty))),
                            fix="give every grid its polygon, or pass a DataFrame without geometry to match "
                                "by units only")
    crs = metric_crs(series)
    return {"geometry": series.to_crs(4490).to_numpy(), "metric": series.to_crs(crs).to_numpy(),
            "metric_crs": crs}


def _temp_codes(grids: pd.DataFrame) -> pd.Series:
    """Return the builder's ids: ``temp_code`` (of a frame assign returned, rows added), else ``code``."""
    columns = [grids[c].reset_index(drop=True) for c in ("temp_code", "code") if c in grids.columns]
    if not columns:
        return pd.Series(None, index=pd.RangeIndex(len(grids)), dtype=object)
    return columns[0] if len(columns) == 1 else columns[0].where(columns[0].notna(), columns[1])


def _prepare(grids: Any, scheme: CodeScheme, path: Path, *, micro: bool = False) -> _Build:
    if not isinstance(grids, pd.DataFrame):
        raise RegistryError(f"grids must be a GeoDataFrame or DataFrame, got {type(grids).__name__}",
                            path=path, fix="pass gridmap.division.build_grids(...).grids")
    if grids.empty:
        raise RegistryError("the build has no grids", path=path,
                            fix="pass the grids of the whole network (an empty build would retire every "
                                "code)")
    if micro:
        return _prepare_micro(grids, scheme, path)
    community = _communities(grids, scheme, path)
    types = _types(grids, scheme, path)
    units, n_units = _units(grids)
    build = _Build(community=community, types=types, units=units, n_units=n_units, temp=_temp_codes(grids),
                   claims=_claims(grids, path), **_geometry(grids, path))
    if build.geometry is None and not n_units.any() and not build.claims:
        raise RegistryError("grids have neither member units (unit_ids) nor geometry", path=path,
                            fix="give unit_ids or polygons so that grids can be recognised in later builds")
    return build


def _prepare_micro(grids: pd.DataFrame, scheme: CodeScheme, path: Path) -> _Build:
    """Check a micro-grid build: the grid each divides (``grid_code``) stands for a grid's community."""
    if "grid_code" not in grids.columns:
        raise RegistryError("micro-grids have no grid_code column", path=path,
                            fix="give micro-grids as built by gridmap.division.build_microgrids: each "
                                "with the permanent code of the grid it divides in grid_code")
    parents = grids["grid_code"].reset_index(drop=True)
    text = parents.where(parents.map(lambda v: isinstance(v, str)))
    parsed = parse_many(text.astype("str"), scheme=scheme, errors="coerce")
    bad = (parsed["sequence"].isna() | parsed["micro"].notna()).to_numpy()
    if bad.any():
        first = int(np.argmax(bad))
        raise RegistryError(f"grid_code {parents.iloc[first]!r} is not a grid code of scheme '{scheme.name}' "
                            f"({scheme.layout})", path=path, record=_row(grids, first),
                            fix="give micro-grids of grids that have their permanent codes (gridmap build "
                                "--registry, or Registry.assign) before registering the micro-grids")
    units, n_units = _units(grids)
    geometry = _geometry(grids, path)
    if not geometry:
        raise RegistryError("micro-grids have no geometry", path=path,
                            fix="give the micro-grids with their polygons (build_microgrids(...).microgrids)")
    return _Build(community=text.astype("str"), types=pd.Series(np.nan, index=text.index, dtype="str"),
                  units=units, n_units=n_units, temp=_temp_codes(grids), claims=[], **geometry)


def _objects(series: pd.Series, positions: np.ndarray | None = None) -> np.ndarray:
    """Values as an object array, missing ones as None (at ``positions``, or all)."""
    part = series if positions is None else series.iloc[positions]
    return part.astype(object).where(part.notna(), None).to_numpy(dtype=object)


# -------------------------------------------------------------------------------------- the decisions

def _fresh_order(build: _Build, geometry: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """Return the rank of each new grid in its community's reading order."""
    rank = np.zeros(len(fresh), dtype=np.int64)
    groups = pd.Series(np.arange(len(fresh))).groupby(build.community.iloc[fresh].to_numpy()).indices
    for members in groups.values():
        rank[members[reading_order(geometry[fresh[members]])]] = np.arange(len(members))
    return rank


def _differs(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Metric geometries whose symmetric difference is larger than the tolerance (missing old: differs)."""
    missing = shapely.is_missing(old)
    area = np.zeros(len(old))
    area[~missing] = shapely.area(shapely.symmetric_difference(old[~missing], new[~missing]))
    return missing | (area > GEOMETRY_TOLERANCE_M2)


def _changed_units_matched(con: Any, build: _Build, positions: np.ndarray,
                           code_of: dict[int, str]) -> list[tuple]:
    """Grids kept by units (or by an imported code) whose type, units or geometry changed."""
    if not len(positions):
        return []
    found, old_ids, types, units, wkb = zip(*_registry_sql.fetch_matched_old(con, positions), strict=True)
    pos = np.array(found, dtype=np.int64)
    changed = (np.array(types, dtype=object) != _objects(build.types, pos)) | (
        np.array(units, dtype=object) != _objects(build.units, pos))
    if build.metric is not None:
        old = gpd.GeoSeries.from_wkb(list(wkb), crs=4490).to_crs(build.metric_crs).to_numpy()
        changed |= _differs(old, build.metric[pos])
    return [(int(p), code_of[int(p)], int(i)) for p, i, c in zip(pos, old_ids, changed, strict=True) if c]


def _changed_overlap_kept(build: _Build, old: OldGrids, plan: Any) -> list[tuple]:
    """Grids kept by overlap whose units, type or geometry changed."""
    i, j = plan.overlap_kept_old, plan.overlap_kept_new
    changed = (old.units[i] != _objects(build.units, j)) | (old.types[i] != _objects(build.types, j))
    if build.metric is not None and old.geometry is not None and len(i):
        changed |= _differs(old.geometry[i], build.metric[j])
    return [(int(p), old.codes[k], int(old.ids[k])) for k, p in zip(i[changed], j[changed], strict=True)]


def _link_rows(plan: Any, old: OldGrids, codes: np.ndarray) -> list[tuple]:
    """Lineage links as rows: parent code, child code, kind, shares of each, shared units."""
    links = plan.links
    shares = links[["old_share", "new_share"]]
    shares = shares.astype(object).where(shares.notna(), None)
    parents = old.codes[links["old"].to_numpy(dtype=np.int64)]
    children = codes[links["new"].to_numpy(dtype=np.int64)].astype(str)
    return list(zip(parents.tolist(), children.tolist(), links["kind"].tolist(),
                    shares["old_share"].tolist(), shares["new_share"].tolist(),
                    links["shared_units"].astype(int).tolist(), strict=True))


def _codes(n: int, matched: tuple[np.ndarray, np.ndarray], issued: tuple[np.ndarray, np.ndarray], plan: Any,
           width: int) -> np.ndarray:
    """Return the code of every grid of the build (ASCII bytes): kept by units or overlap, or newly issued."""
    codes = np.zeros(n, dtype=f"S{width}")
    codes[matched[0]] = matched[1]
    codes[issued[0]] = issued[1]
    for position, code, _ in [] if plan is None else plan.keeps:
        codes[position] = code.encode("ascii")
    return codes


def _outcome(codes: np.ndarray, issued: np.ndarray, plan: Any, old: OldGrids | None, changed: list[tuple],
             counts: dict[str, Any]) -> _Outcome:
    n = len(codes)
    parents = pd.Series(pa.repeat("", n), dtype="str")
    if plan is not None and old is not None and len(plan.links):
        named = plan.links.assign(parent=old.codes[plan.links["old"].to_numpy(dtype=np.int64)])
        joined = named.sort_values("parent").groupby("new")["parent"].agg(";".join)
        parents.iloc[joined.index.to_numpy(dtype=np.int64)] = joined.to_numpy(dtype=object)
    is_new = np.zeros(n, dtype=bool)
    is_new[issued] = True
    flags = np.zeros(n, dtype=bool)
    flags[[position for position, _, _ in changed]] = True
    return _Outcome(codes=codes, status=is_new, changed=flags, parents=parents, counts=counts)


def _ascii_text(text: pd.Series, width: int) -> np.ndarray:
    """Text of ``width`` ASCII characters each (checked before) as fixed-width bytes.

    Read from the Arrow buffer when it holds exactly that: no Python string per value.
    """
    array = pa.array(text)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_large_string(array.type) and not array.null_count and len(array) \
            and pc.all(pc.equal(pc.binary_length(array), width)).as_py():
        start = int(np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset])
        return np.frombuffer(array.buffers()[2], dtype=f"S{width}", count=len(array), offset=start)
    return np.asarray(text.to_numpy(dtype=object), dtype=f"S{width}")


def _duplicate_grids(build: _Build) -> tuple[int, int] | None:
    """Return the first and last position of the first grids with the same member units in a community.

    None when every grid has units of its own (or none).
    """
    key = build.community + "\0" + build.units
    twice = np.flatnonzero(key.duplicated(keep=False).to_numpy() & (build.units != "").to_numpy())
    if not len(twice):
        return None
    same = np.flatnonzero((key == key.iloc[twice[0]]).to_numpy())
    return int(same[0]), int(same[-1])


def _beidou(geometry: np.ndarray, level: int) -> np.ndarray:
    codes = np.full(len(geometry), None, dtype=object)
    present = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    if present.any():
        points = shapely.point_on_surface(geometry[present])
        codes[present] = beidou(shapely.get_x(points), shapely.get_y(points), level)
    return codes


def _result(grids: pd.DataFrame, build: _Build, outcome: _Outcome, level: int) -> pd.DataFrame:
    out = grids.drop(columns=[c for c in _REPLACED_COLUMNS if c in grids.columns])
    at = out.columns.get_loc("code") if "code" in out.columns else 0
    out = out.drop(columns=["code"], errors="ignore")
    # codes are ASCII: Arrow text on their buffer, without a detour through Python or UCS-4 text
    codes = pd.array(_registry_sql.arrow_text(outcome.codes), dtype="str")
    status = pd.array(pc.if_else(pa.array(outcome.status), "new", "kept"), dtype="str")
    columns = (("code", codes), ("temp_code", build.temp.array), ("status", status),
               ("changed", outcome.changed), ("parents", outcome.parents.array))
    for offset, (name, values) in enumerate(columns):
        out.insert(at + offset, name, values)
    geometry = build.geometry if build.geometry is not None else np.full(len(build), None, dtype=object)
    beidou_codes = _beidou(geometry, level)
    if isinstance(out, gpd.GeoDataFrame) and out._geometry_column_name in out.columns:
        out.insert(out.columns.get_loc(out._geometry_column_name), "beidou", beidou_codes)
    else:
        out["beidou"] = beidou_codes
    return out


# ------------------------------------------------------------------------------------------------ diff

def _diff_changes(events: dict[str, list[tuple]], lineage: pd.DataFrame,
                  dates: dict[int, str]) -> pd.DataFrame:
    frames = [pd.DataFrame(rows, columns=["code", "community_code", "type", "version"]).assign(event=event)
              for event, rows in events.items()]
    changes = pd.concat(frames, ignore_index=True)
    parents = _related(lineage, "child", "parent", "parents")
    children = _related(lineage, "parent", "child", "children")
    changes = changes.merge(parents, on=["code", "version"], how="left")
    changes = changes.merge(children, on=["code", "version"], how="left", suffixes=("", "_children"))
    for column in ("parents", "children", "kinds", "kinds_children"):
        changes[column] = changes[column].fillna("").astype(object)
    kinds = (changes["kinds"] + ID_SEPARATOR + changes["kinds_children"]).map(split_ids)
    changes["lineage"] = [join_ids(sorted(set(k))) for k in kinds]
    n_children = changes["children"].str.count(ID_SEPARATOR).where(changes["children"] != "", -1) + 1
    changes["split"] = (changes["event"] == "retired") & (n_children >= 2)
    changes["merged"] = changes["event"].isin(["added", "changed"]) & changes["kinds"].str.contains(
        "merge|reshaped|absorbed", regex=True)
    changes["date"] = changes["version"].map(dates)
    changes["street_code"] = changes["community_code"].str.slice(0, 9)
    columns = ["version", "date", "event", "code", "community_code", "street_code", "type", "parents",
               "children", "lineage", "split", "merged"]
    order = {"retired": 0, "changed": 1, "added": 2}
    changes = changes.assign(_order=changes["event"].map(order)).sort_values(["version", "_order", "code"])
    return changes[columns].reset_index(drop=True)


def _related(lineage: pd.DataFrame, side: str, other: str, name: str) -> pd.DataFrame:
    if lineage.empty:
        return pd.DataFrame({"code": pd.Series(dtype=object), "version": pd.Series(dtype=np.int64),
                             name: pd.Series(dtype=object), "kinds": pd.Series(dtype=object)})
    grouped = lineage.sort_values(other).groupby([side, "version"])
    frame = pd.DataFrame({name: grouped[other].agg(join_ids),
                          "kinds": grouped["kind"].agg(lambda k: join_ids(sorted(set(k))))}).reset_index()
    return frame.rename(columns={side: "code"})


def _diff_counts(changes: pd.DataFrame, by: str) -> pd.DataFrame:
    flags = pd.DataFrame({by: changes[by], "added": changes["event"] == "added",
                          "retired": changes["event"] == "retired", "split": changes["split"],
                          "merged": changes["merged"], "changed": changes["event"] == "changed"})
    counts = flags.groupby(by)[list(DIFF_COUNTS)].sum().astype(np.int64)
    return counts.reset_index()


def _check_codes(con: Any, scheme: CodeScheme, report: Report, *, micro: bool = False) -> None:
    codes = pd.DataFrame(con.execute("SELECT code, community_code, sequence FROM codes").fetchall(),
                         columns=["code", "community_code", "sequence"])
    parsed = parse_many(codes["code"].astype(object), scheme=scheme, errors="coerce")
    if micro:  # a micro-grid's code is its grid's code (stored as its community) and its sequence
        parent = codes["code"].str.slice(0, scheme.length).to_numpy(object)
        same_community = (parent == codes["community_code"].to_numpy(object)) & parsed["micro"].notna()
        sequence = parsed["micro"].to_numpy(object)
    else:
        same_community = parsed["community_code"].to_numpy(object) == codes["community_code"].to_numpy(object)
        sequence = parsed["sequence"].to_numpy(object)
    agree = same_community & (sequence == codes["sequence"].to_numpy(object))
    for code in codes["code"][~agree].head(20):
        report.add("invalid_code", f"code {code} is not a code of scheme '{scheme.name}' with its community "
                   "and sequence", record=code)
