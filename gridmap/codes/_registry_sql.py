"""SQLite storage of the code registry: schema, migrations, connection settings and set-based statements.

Private to :mod:`gridmap.codes.registry`. Every statement that touches many rows is one SQL statement over
one JSON array (``json_each``, built by Arrow) or temporary tables, never a query per row. The assignment
statements are called through this module (``_registry_sql.issue_codes(...)``), one per step, so that the
process tests can stop a writer between two steps.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import json
import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gridmap.codes.scheme import CodeScheme, parse_many
from gridmap.errors import CodeError, RegistryError
from gridmap.io._atomic import folder_cause

__all__ = [
    "Types",
    "SCHEMA_VERSION",
    "APPLICATION_ID",
    "open_connection",
    "translated_errors",
    "damaged",
    "immediate",
    "read_scheme",
    "claim_level",
    "next_version",
    "create_temp_tables",
    "load_new",
    "match_units",
    "fetch_matched",
    "count_active",
    "holds_current_grids",
    "fetch_unmatched_old",
    "fetch_old_near",
    "fetch_matched_old",
    "match_claims",
    "write_plan",
    "issue_codes",
    "close_versions",
    "insert_versions",
    "retire_codes",
    "insert_lineage",
    "record_version",
    "drop_temp_tables",
    "arrow_text",
]

logger = logging.getLogger(__name__)

#: Layout version of the registry file; stored in ``PRAGMA user_version`` and the ``schema_version`` table.
SCHEMA_VERSION = 1
#: ``PRAGMA application_id`` of a registry: "GRMR" (gridmap registry).
APPLICATION_ID = 0x47524D52
_GEOPACKAGE_ID = 0x47504B47  # "GPKG"
_FORMAT = "gridmap code registry"
_SQLITE_HEADER = b"SQLite format 3\x00"
_NOT_OURS = "give the registry file gridmap wrote, or a new file name"
#: Page size of a new registry file: bulk registrations of millions of codes write a quarter faster than
#: with SQLite's default 4096 (fewer pages to split, log and copy).
_PAGE_SIZE = 16384
#: Page cache of a connection (KiB, negative = size in KiB): bulk assignments of millions of codes keep
#: their indexes in memory instead of spilling half-written pages to the WAL.
_CACHE_KIB = 131_072

_SCHEMA = """
CREATE TABLE schema_version (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE versions (
    version INTEGER PRIMARY KEY,
    issued_on TEXT NOT NULL,
    created_at TEXT NOT NULL,
    grids INTEGER NOT NULL,
    kept INTEGER NOT NULL,
    added INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    retired INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE codes (
    community_code TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    code TEXT NOT NULL,
    type TEXT,
    issued_version INTEGER NOT NULL,
    retired_version INTEGER,
    PRIMARY KEY (community_code, sequence)
) WITHOUT ROWID;
CREATE UNIQUE INDEX codes_code_unique ON codes (code);
CREATE TABLE grid_versions (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    version INTEGER NOT NULL,
    until_version INTEGER,
    community_code TEXT NOT NULL,
    type TEXT,
    units TEXT NOT NULL,
    n_units INTEGER NOT NULL,
    geometry BLOB,
    minx REAL, miny REAL, maxx REAL, maxy REAL
);
CREATE UNIQUE INDEX grid_versions_code_version ON grid_versions (code, version);
CREATE UNIQUE INDEX grid_versions_current_units ON grid_versions (community_code, units)
    WHERE until_version IS NULL AND units <> '';
CREATE TABLE lineage (
    parent TEXT NOT NULL,
    child TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    parent_share REAL,
    child_share REAL,
    shared_units INTEGER NOT NULL,
    PRIMARY KEY (parent, child, version)
) WITHOUT ROWID;
CREATE INDEX lineage_child ON lineage (child);
CREATE TABLE counters (community_code TEXT PRIMARY KEY, last_sequence INTEGER NOT NULL) WITHOUT ROWID;
"""

_TEMP_TABLES = {
    "new": "pos INTEGER PRIMARY KEY, community_code TEXT NOT NULL, kind TEXT, units TEXT NOT NULL, "
           "geometry BLOB, minx REAL, miny REAL, maxx REAL, maxy REAL",
    "kinds": "kind TEXT PRIMARY KEY, type TEXT NOT NULL",
    "matched": "pos INTEGER PRIMARY KEY, code TEXT NOT NULL, old_id INTEGER NOT NULL UNIQUE, "
               "differs INTEGER NOT NULL",
    "claims": "pos INTEGER PRIMARY KEY, code TEXT NOT NULL",
    "changed": "pos INTEGER PRIMARY KEY, code TEXT NOT NULL, old_id INTEGER NOT NULL",
    "retired": "code TEXT PRIMARY KEY, old_id INTEGER NOT NULL",
}


@dataclasses.dataclass(frozen=True)
class Types:
    """Grid types as small numbers: per grid its ``index`` into ``kinds`` (-1: no type)."""

    index: np.ndarray
    kinds: list[str]

    @classmethod
    def of(cls, types: pd.Series) -> Types:
        """Return the types of a build, numbered (at most 26: each is written as a letter)."""
        index, kinds = pd.factorize(types)
        if len(kinds) > 26:
            raise RegistryError(f"grids have {len(kinds)} different types", fix="use at most 26 grid types")
        return cls(np.asarray(index, dtype=np.int64), [str(kind) for kind in kinds])

    def take(self, positions: np.ndarray) -> Types:
        """Return the types of the grids at ``positions``."""
        return Types(self.index[positions], self.kinds)

    def letters(self) -> np.ndarray:
        """Return a letter per grid: A, B, … for the kinds, "-" without a type (ASCII bytes)."""
        return np.array([*"ABCDEFGHIJKLMNOPQRSTUVWXYZ"[: len(self.kinds)], "-"], dtype="S1")[self.index]

    def sql(self, letter: str) -> str:
        """Return SQL turning the expression ``letter`` back into the type (``kinds``, bound as values)."""
        if not self.kinds:
            return "NULL"
        cases = " ".join(f"WHEN '{chr(ord('A') + i)}' THEN ?" for i in range(len(self.kinds)))
        return f"CASE {letter} {cases} END"

    def values(self) -> list[str | None]:
        """Return the type of each grid (None without one)."""
        return np.array([*self.kinds, None], dtype=object)[self.index].tolist()


# ------------------------------------------------------------------------------------------- opening

def _check_file(path: Path, *, create: bool) -> None:
    if path.is_dir():
        raise RegistryError("is a folder, not a registry file", path=path,
                            fix="give the registry's file name, e.g. grids_registry.sqlite")
    if not path.exists():
        if not create:
            raise RegistryError("no registry at this path", path=path,
                                fix="check the path, or create the registry with "
                                    "Registry(path).assign(grids)")
        if not path.parent.is_dir():
            raise RegistryError(f"folder {path.parent} does not exist", path=path,
                                fix="create the folder first or give another path")
        return
    with open(path, "rb") as handle:
        header = handle.read(len(_SQLITE_HEADER))
    if header and header != _SQLITE_HEADER:
        raise RegistryError("not a code registry: the file is not an SQLite database (or it is damaged)",
                            path=path, fix=_NOT_OURS + "; if it was your registry, " + _RESTORE)


def writable(path: Path) -> bool:
    """Return whether the registry at ``path`` and its folder (SQLite's -wal and -shm files) can be written.

    False on a read-only mount or for a read-only file (root may write read-only files: True).
    """
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def _connect(path: Path, timeout: float, *, read_only: bool) -> sqlite3.Connection:
    """Connect to ``path``; to a read-only registry read-only.

    ``mode=ro``, or ``immutable=1`` when its folder is read-only too (SQLite can create no -shm file there,
    and nobody can be writing the file meanwhile) unless a -wal file holds changes not yet copied into the
    file (a writer that was stopped): ``mode=ro`` reads them.
    """
    if not read_only:
        return sqlite3.connect(path, timeout=timeout, isolation_level=None)
    wal = Path(f"{path}-wal")
    pending = wal.exists() and wal.stat().st_size > 0
    query = "mode=ro" if pending or os.access(path.parent, os.W_OK) else "immutable=1"
    return sqlite3.connect(f"{path.resolve().as_uri()}?{query}", timeout=timeout, isolation_level=None,
                           uri=True)


def open_connection(path: Path, *, scheme: CodeScheme, timeout: float, create: bool
                    ) -> tuple[sqlite3.Connection, bool]:
    """Open (creating or migrating when needed) the registry at ``path`` and tune the connection.

    Returns the connection and whether it is read-only (a registry in a read-only file or folder is read,
    not written: it can be queried; an assignment that needs new codes raises a read-only RegistryError).
    """
    _check_file(path, create=create)
    read_only = not writable(path)
    if read_only and not path.exists():
        raise RegistryError(f"cannot create the registry: folder {path.parent} is read-only", path=path,
                            fix="give a registry path in a folder you may write to")
    con = _connect(path, timeout, read_only=read_only)
    try:
        con.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        version = _recognise(con, path)
        if version is None and not create:
            raise RegistryError("the file is empty, not a code registry", path=path,
                                fix="give the registry file gridmap wrote")
        if version is not None:
            _check_structure(con, path, version)
        if version != SCHEMA_VERSION and read_only:
            raise RegistryError(f"the registry has schema version {version} and must be upgraded to "
                                f"{SCHEMA_VERSION} once, but it is read-only", path=path,
                                fix="open it once where it can be written (a copy in a writable folder)")
        if version is None:  # an empty file: its page size can still be chosen
            con.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
        if version != SCHEMA_VERSION:
            _use_wal(con, path)
            with immediate(con, path):
                version = _recognise(con, path)  # another process may have created it meanwhile
                if version is None:
                    _create(con, scheme)
                else:
                    for old in range(version, SCHEMA_VERSION):
                        _MIGRATIONS[old](con, scheme, path)
        if not read_only:
            _use_wal(con, path)
        for pragma in ("synchronous = FULL", f"cache_size = -{_CACHE_KIB}", "temp_store = MEMORY",
                       "journal_size_limit = 67108864"):
            con.execute(f"PRAGMA {pragma}")
    except sqlite3.DatabaseError as err:
        con.close()
        raise explain(err, path) from err
    except BaseException:
        con.close()
        raise
    return con, read_only


_RESTORE = ("restore the registry file from a backup (a copy taken before the damage); never edit it by "
            "hand, and do not start a new registry: codes already issued would be issued again")


def damaged(path: Path, table: str, what: str) -> RegistryError:
    """Return the error for a registry whose ``table`` is damaged (missing, wrong columns, bad values)."""
    return RegistryError(f"registry damaged: table {table} {what}", path=path, fix=_RESTORE)


def _busy(err: sqlite3.Error) -> bool:
    """Whether an error means another process holds the lock (not a disk or file problem)."""
    name = getattr(err, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(err)


def _disk_full(err: sqlite3.Error, path: Path) -> bool:
    """Whether an I/O error is a full disk: SQLite often says only "disk I/O error" (growing -shm files)."""
    name = getattr(err, "sqlite_errorname", "") or ""
    if not (name.startswith("SQLITE_IOERR") or "disk I/O error" in str(err)):
        return False
    cause = folder_cause(path.resolve(), str(err))
    return cause is not None and cause.errno == errno.ENOSPC


def explain(err: sqlite3.Error, path: Path) -> RegistryError:
    """Turn an SQLite error into a RegistryError that says what is wrong: read-only, disk full, damaged."""
    name = getattr(err, "sqlite_errorname", "") or ""
    folder = path.resolve().parent
    if name.startswith("SQLITE_READONLY") or "readonly database" in str(err):
        return RegistryError(f"the registry is read-only (the file or its folder {folder} cannot be written) "
                             "and this needs to write it: new codes, versions or an upgrade", path=path,
                             fix="run it where the registry can be written (make the folder writable, or "
                                 "copy the registry to a writable folder and use the copy from now on); "
                                 "reading it (gridmap codes history, gridmap codes diff) works as it is")
    if name == "SQLITE_FULL" or "disk is full" in str(err) or _disk_full(err, path):
        return RegistryError(f"disk full: the registry could not be written; nothing was changed ({err})",
                             path=path, fix=f"free space on the disk that holds {folder}, then run again")
    if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) or "disk I/O error" in str(err):
        return RegistryError(f"cannot read or write the registry file ({err})", path=path,
                             fix=f"check the disk and the permissions of {folder}, then run again")
    missing = str(err).partition("no such table: ")[2] or str(err).partition("no such column: ")[2]
    if missing:
        return damaged(path, missing.split(".")[0], f"or a column of it is missing ({err})")
    return RegistryError(f"registry damaged: {err}", path=path, fix=_RESTORE)


@contextmanager
def translated_errors(path: Path) -> Iterator[None]:
    """Raise SQLite errors met in the body as :func:`explain` names them (RegistryError)."""
    try:
        yield
    except sqlite3.Error as err:
        raise explain(err, path) from err


def _use_wal(con: sqlite3.Connection, path: Path) -> None:
    mode = con.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            logger.warning("%s: the file system refused WAL mode (journal mode %s); concurrent readers "
                           "will wait for writers", path, mode)


def _tables(con: sqlite3.Connection) -> set[str]:
    return {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in con.execute(f"PRAGMA table_info({table})")}


def _recognise(con: sqlite3.Connection, path: Path) -> int | None:
    """Return the file's schema version (None: an empty database); refuse files that are not registries."""
    application_id = con.execute("PRAGMA application_id").fetchone()[0]
    user_version = con.execute("PRAGMA user_version").fetchone()[0]
    if application_id == _GEOPACKAGE_ID:
        raise RegistryError("not a code registry: the file is a GeoPackage", path=path,
                            fix=_NOT_OURS + "; export a registry's grids to a GeoPackage with "
                                            "gridmap.write_layer(registry.current(), 'grids.gpkg')")
    if application_id not in (0, APPLICATION_ID):
        raise RegistryError(f"not a code registry: the SQLite file belongs to another application "
                            f"(application_id {application_id:#x})", path=path, fix=_NOT_OURS)
    tables = _tables(con)
    if application_id == APPLICATION_ID:
        if user_version > SCHEMA_VERSION:
            raise RegistryError(f"the registry has schema version {user_version}, written by a newer "
                                f"gridmap; this gridmap reads versions up to {SCHEMA_VERSION}", path=path,
                                fix="upgrade gridmap (pip install -U gridmap) to open it; do not edit the "
                                    "file")
        missing = [table for table in _expected_columns() if table not in tables]
        if missing:
            raise damaged(path, missing[0], "is missing" + (f" (also {', '.join(missing[1:])})"
                                                            if missing[1:] else ""))
        return user_version
    if not tables:
        return None
    if "codes" in tables and "schema_version" not in tables \
            and {"code", "community_code", "sequence"} <= _columns(con, "codes"):
        return 0
    shown = ", ".join(sorted(tables)[:5])
    raise RegistryError(f"not a code registry: the SQLite file holds other tables ({shown})", path=path,
                        fix=_NOT_OURS)


def _expected_columns() -> dict[str, set[str]]:
    """Return the tables of a registry of the current schema and their columns (from ``_SCHEMA`` itself)."""
    if not _EXPECTED:
        with sqlite3.connect(":memory:") as memory:
            for statement in _statements(_SCHEMA):
                memory.execute(statement)
            _EXPECTED.update({table: _columns(memory, table) for table in sorted(_tables(memory))})
        memory.close()
    return _EXPECTED


_EXPECTED: dict[str, set[str]] = {}


def _check_structure(con: sqlite3.Connection, path: Path, version: int) -> None:
    """Refuse a registry with tables lacking columns, missing or garbage meta rows, or impossible counters.

    Each of them would make gridmap issue wrong or duplicate codes.
    """
    if version < SCHEMA_VERSION:
        return  # migrated from what it holds
    for table, columns in _expected_columns().items():
        lacking = columns - _columns(con, table)
        if lacking:
            raise damaged(path, table, f"lacks column {', '.join(sorted(lacking))}")
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("format") != _FORMAT:
        raise damaged(path, "meta", f"row 'format' is {meta.get('format')!r}, not {_FORMAT!r}")
    try:
        _scheme_from(meta.get("scheme"))
    except (TypeError, ValueError, KeyError) as err:
        raise damaged(path, "meta", f"row 'scheme' is missing or unreadable ({err})") from err
    bad = con.execute("SELECT community_code, last_sequence FROM counters WHERE typeof(last_sequence) <> "
                      "'integer' OR last_sequence < 0 OR typeof(community_code) <> 'text' LIMIT 1").fetchone()
    if bad:
        raise damaged(path, "counters", f"holds an impossible counter {bad[1]!r} for community {bad[0]!r}")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _create(con: sqlite3.Connection, scheme: CodeScheme) -> None:
    for statement in _statements(_SCHEMA):
        con.execute(statement)
    _write_meta(con, scheme)
    con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", (SCHEMA_VERSION, _now(), "created"))
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT the open transaction; statements are run one by one inside it instead.
    return [part.strip() for part in script.split(";") if part.strip()]


def _scheme_json(scheme: CodeScheme) -> str:
    return json.dumps(dataclasses.asdict(scheme), ensure_ascii=False, sort_keys=True)


def _write_meta(con: sqlite3.Connection, scheme: CodeScheme) -> None:
    con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [("format", _FORMAT), ("scheme", _scheme_json(scheme)), ("crs", "EPSG:4490"),
                     ("created_at", _now())])


def read_scheme(con: sqlite3.Connection) -> CodeScheme:
    """Return the code scheme the registry was created with."""
    (text,) = con.execute("SELECT value FROM meta WHERE key = 'scheme'").fetchone()
    return _scheme_from(text)


def _scheme_from(text: str | None) -> CodeScheme:
    if text is None:
        raise ValueError("no such row")
    fields = json.loads(text)
    fields["fields"] = tuple(tuple(pair) for pair in fields["fields"])
    fields["type_digits"] = tuple(tuple(pair) for pair in fields["type_digits"])
    return CodeScheme(**fields)


def claim_level(con: sqlite3.Connection, level: str) -> str:
    """Return the level of the codes the registry holds: "grid" or "micro".

    A registry without versions takes ``level``; files written before micro-grids hold grid codes.
    """
    row = con.execute("SELECT value FROM meta WHERE key = 'level'").fetchone()
    if row is not None:
        return row[0]
    if level != "grid" and con.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 0:
        con.execute("INSERT OR IGNORE INTO meta VALUES ('level', ?)", (level,))
        return con.execute("SELECT value FROM meta WHERE key = 'level'").fetchone()[0]
    return "grid"


# ------------------------------------------------------------------------------------------ migrations

def _migrate_0_to_1(con: sqlite3.Connection, scheme: CodeScheme, path: Path) -> None:
    """Migrate schema 0, one table ``codes(code, community_code, sequence[, type, issued_on, retired_on])``.

    That is how registries were kept before gridmap (a table exported from a spreadsheet): each distinct
    issue or retirement date becomes a version, counters start after the highest sequence ever issued in
    each community, and grids have no member units or geometry until the next assignment.
    """
    columns = _columns(con, "codes")
    optional = (name if name in columns else "NULL" for name in ("type", "issued_on", "retired_on"))
    query = "SELECT code, community_code, sequence, {}, {}, {} FROM codes".format(*optional)
    rows = con.execute(query).fetchall()
    _check_v0_codes(rows, scheme, path)
    today = dt.date.today().isoformat()
    dates = sorted({row[4] or today for row in rows} | {row[5] for row in rows if row[5]})
    number = {date: version for version, date in enumerate(dates, start=1)}
    con.execute("ALTER TABLE codes RENAME TO codes_v0")
    for statement in _statements(_SCHEMA):
        con.execute(statement)
    _write_meta(con, scheme)
    issued = [(r[1], int(r[2]), r[0], r[3], number[r[4] or today], number[r[5]] if r[5] else None)
              for r in rows]
    con.executemany("INSERT INTO codes VALUES (?, ?, ?, ?, ?, ?)", issued)
    con.execute("INSERT INTO grid_versions (code, version, until_version, community_code, type, units, "
                "n_units) SELECT code, issued_version, retired_version, community_code, type, '', 0 "
                "FROM codes")
    con.execute("INSERT INTO counters SELECT community_code, MAX(sequence) FROM codes "
                "GROUP BY community_code")
    for date, version in number.items():
        con.execute(
            "INSERT INTO versions SELECT ?, ?, ?, (SELECT COUNT(*) FROM codes WHERE issued_version <= ?1 AND "
            "(retired_version IS NULL OR retired_version > ?1)), 0, "
            "(SELECT COUNT(*) FROM codes WHERE issued_version = ?1), 0, "
            "(SELECT COUNT(*) FROM codes WHERE retired_version = ?1), 'imported from a schema 0 registry'",
            (version, date, _now()))
    con.execute("DROP TABLE codes_v0")
    con.executemany("INSERT INTO schema_version VALUES (?, ?, ?)",
                    [(0, _now(), "found: a plain table of codes"), (1, _now(), "migrated from schema 0")])
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute("PRAGMA user_version = 1")
    logger.info("%s: migrated %d codes from registry schema 0 to 1", path, len(rows))


def _check_v0_codes(rows: list[tuple], scheme: CodeScheme, path: Path) -> None:
    codes = [row[0] for row in rows]
    try:
        parsed = parse_many(codes, scheme=scheme)
    except CodeError as err:
        raise RegistryError(f"the schema 0 registry holds codes that are not of scheme '{scheme.name}' "
                            f"({err.problem})", path=path,
                            fix="open it with the scheme its codes use, e.g. "
                                "Registry(path, scheme='type_digit')") from err
    micro = parsed["micro"].notna().to_numpy()
    if micro.any():
        code = codes[int(np.argmax(micro))]
        raise RegistryError(f"code {code} is a micro-grid code; the registry holds grid codes", path=path,
                            record=f"code {code}", fix="remove micro-grid rows, then open the registry again")
    agree = (parsed["community_code"].to_numpy() == np.array([row[1] for row in rows], dtype=object)) & (
        parsed["sequence"].to_numpy() == np.array([int(row[2]) for row in rows]))
    if not agree.all():
        bad = rows[int(np.flatnonzero(~agree)[0])]
        raise RegistryError(f"code {bad[0]} disagrees with its community_code {bad[1]} or sequence "
                            f"{bad[2]}", path=path, record=f"code {bad[0]}",
                            fix="correct the row, then open the registry again")
    if len(set(codes)) < len(codes):
        duplicate = Counter(codes).most_common(1)[0][0]
        raise RegistryError(f"code {duplicate} appears twice", path=path, record=f"code {duplicate}",
                            fix="keep one row per code, then open the registry again")


#: Migration from each schema version to the next.
_MIGRATIONS = {0: _migrate_0_to_1}


# ---------------------------------------------------------------------------------------- transactions

@contextmanager
def immediate(con: sqlite3.Connection, path: Path) -> Iterator[None]:
    """Run the body in one write transaction: COMMIT on success, ROLLBACK otherwise.

    ``BEGIN IMMEDIATE`` takes the write lock at once (waiting up to the busy timeout), so no two writers
    read the counters at the same time.
    """
    try:
        con.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as err:
        if not _busy(err):
            raise explain(err, path) from err
        raise RegistryError(f"the registry is busy: another process kept it locked too long ({err})",
                            path=path,
                            fix="retry when the other assignment has finished, or open the registry with a "
                                "longer timeout=") from err
    try:
        yield
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def next_version(con: sqlite3.Connection) -> tuple[int, str | None]:
    """Return the number the next version gets, and the issue date of the last one."""
    last, date = con.execute(
        "SELECT version, issued_on FROM versions ORDER BY version DESC LIMIT 1").fetchone() or (0, None)
    return last + 1, date


# ------------------------------------------------------------------------------------ assignment steps

#: The rows of a JSON array of strings bound as its UTF-8 bytes (a numpy buffer, bound without a copy in
#: Python: no Python string of hundreds of MB, decoded, sliced and joined), read by SQLite as text.
_JSON_ROWS = "json_each(CAST(? AS TEXT))"

#: The new build with its grid types and numbers of units spelt out (``temp.new`` holds a one-letter kind:
#: computing those for the few rows written is cheaper than for millions of rows loaded).
_NEW_GRIDS = ("CREATE TEMP VIEW new_grids AS SELECT n.pos, n.community_code, k.type, n.units, "
              "CASE WHEN n.units = '' THEN 0 "
              "ELSE length(n.units) - length(replace(n.units, ';', '')) + 1 END AS n_units, "
              "n.geometry, n.minx, n.miny, n.maxx, n.maxy "
              "FROM temp.new AS n LEFT JOIN temp.kinds AS k ON k.kind = n.kind")


def create_temp_tables(con: sqlite3.Connection) -> None:
    """(Re)create the empty temporary tables of one assignment."""
    drop_temp_tables(con)
    for name, columns in _TEMP_TABLES.items():
        con.execute(f"CREATE TEMP TABLE {name} ({columns})")
    con.execute(_NEW_GRIDS)


def drop_temp_tables(con: sqlite3.Connection) -> None:
    """Drop the temporary tables of an assignment (they live as long as the connection otherwise)."""
    con.execute("DROP VIEW IF EXISTS temp.new_grids")
    for name in _TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def load_new(con: sqlite3.Connection, communities: pd.Series, types: Types, units: pd.Series,
             geometry: tuple[list[bytes], np.ndarray] | None) -> None:
    """Load the new build into ``temp.new`` (position, community, type letter, units, geometry WKB, bbox).

    Without geometry the rows travel as one JSON array of strings (community 12 + type letter + units),
    split by SQLite's ``json_each``: about three times faster than ``executemany`` for millions of rows.
    With geometry (thousands of grids), by ``executemany``.
    """
    letters = types.letters()
    con.executemany("INSERT INTO temp.kinds VALUES (?, ?)",
                    zip([chr(ord("A") + i) for i in range(len(types.kinds))], types.kinds, strict=True))
    if geometry is None:
        con.execute("INSERT INTO temp.new (pos, community_code, kind, units) "
                    "SELECT key, substr(value, 1, 12), substr(value, 13, 1), substr(value, 14) "
                    f"FROM {_JSON_ROWS}", (_json_array(communities, letters, units),))
        return
    wkb, bounds = geometry
    tags = letters.astype("U1").tolist()
    rows = zip(range(len(communities)), communities.tolist(), tags, units.tolist(), wkb,
               *(bounds[:, i].tolist() for i in range(4)), strict=True)
    con.executemany("INSERT INTO temp.new VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def match_units(con: sqlite3.Connection, *, typed: bool) -> None:
    """Match new grids to current grids with the same member units in the same community.

    The type must agree too when it is part of the code; ``differs`` flags a changed type or different
    geometry bytes. A registry without current grids (the first build) skips the join: probing the index
    once per new grid costs about a tenth of that assignment.
    """
    if not con.execute("SELECT EXISTS (SELECT 1 FROM grid_versions WHERE until_version IS NULL "
                       "AND units <> '')").fetchone()[0]:
        return
    con.execute(
        "INSERT INTO temp.matched (pos, code, old_id, differs) "
        "SELECT n.pos, g.code, g.id, (n.type IS NOT g.type) OR (n.geometry IS NOT NULL AND "
        "n.geometry IS NOT g.geometry) "
        "FROM temp.new_grids AS n JOIN grid_versions AS g ON g.community_code = n.community_code "
        "AND g.units = n.units AND g.until_version IS NULL AND g.units <> '' "
        f"WHERE n.units <> '' {'AND g.type IS n.type' if typed else ''}")


def match_claims(con: sqlite3.Connection, claims: Sequence[tuple[int, str]]) -> None:
    """Match new grids to imported codes they name (``grid_code``).

    Only codes of the same community that have neither member units nor geometry (from a schema 0 table)
    and were not matched otherwise.
    """
    con.executemany("INSERT INTO temp.claims VALUES (?, ?)", claims)
    con.execute(
        "INSERT INTO temp.matched (pos, code, old_id, differs) "
        "SELECT c.pos, g.code, g.id, 1 FROM temp.claims AS c JOIN temp.new AS n ON n.pos = c.pos "
        "JOIN grid_versions AS g ON g.code = c.code AND g.until_version IS NULL AND g.units = '' "
        "AND g.geometry IS NULL AND g.community_code = n.community_code "
        "WHERE c.pos NOT IN (SELECT pos FROM temp.matched)")


def _codes(text: str | None, count: int, width: int) -> np.ndarray:
    """Codes sent as one string of ``count`` codes of ``width`` digits, as a numpy array of ASCII bytes."""
    if not count:
        return np.empty(0, dtype=f"S{width}")
    assert text is not None, "SQLite gives the codes whenever it counts some"
    return np.frombuffer(text.encode("ascii"), dtype=f"S{width}")


def _positions(con: sqlite3.Connection, table: str) -> np.ndarray:
    query = f"SELECT json_group_array(pos) FROM (SELECT pos FROM temp.{table} ORDER BY pos)"
    (text,) = con.execute(query).fetchone()
    return np.array(json.loads(text), dtype=np.int64)


def fetch_matched(con: sqlite3.Connection, *, n: int,
                  width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return positions and codes of the matched grids, and the positions flagged ``differs``.

    The codes travel as one string of fixed-width codes (registries hold codes of one length), the
    positions not at all when every grid matched (the common re-run).
    """
    count, text = con.execute("SELECT COUNT(*), group_concat(code, '') FROM "
                              "(SELECT code FROM temp.matched ORDER BY pos)").fetchone()
    positions = np.arange(n, dtype=np.int64) if count == n else _positions(con, "matched")
    differs = np.array([p for (p,) in con.execute("SELECT pos FROM temp.matched WHERE differs ORDER BY pos")],
                       dtype=np.int64)
    return positions, _codes(text, count, width), differs


def _scope_sql(scope: str, alias: str = "g") -> str:
    if scope == "all":
        return ""
    return f" AND {alias}.community_code IN (SELECT DISTINCT community_code FROM temp.new)"


def count_active(con: sqlite3.Connection, scope: str) -> int:
    """Count the active codes the assignment may retire (all, or those of the build's communities).

    For the whole registry the versions table has the answer (codes added minus codes retired), which
    spares a scan of millions of codes; :meth:`Registry.check` verifies the two agree.
    """
    if scope == "all":
        return con.execute("SELECT COALESCE(SUM(added) - SUM(retired), 0) FROM versions").fetchone()[0]
    return con.execute("SELECT COUNT(*) FROM codes AS g WHERE retired_version IS NULL"
                       + _scope_sql(scope)).fetchone()[0]


def holds_current_grids(con: sqlite3.Connection) -> bool:
    """Whether any grid is current: registered and not retired (False for a new registry).

    The versions table says none cheaply (codes added minus retired); a scan confirms it then.
    """
    return bool(count_active(con, "all")) or con.execute(
        "SELECT EXISTS (SELECT 1 FROM grid_versions WHERE until_version IS NULL)").fetchone()[0] == 1


_OLD_COLUMNS = "g.code, g.id, g.community_code, g.type, g.units, g.geometry"


def fetch_unmatched_old(con: sqlite3.Connection, scope: str) -> list[tuple]:
    """Return the current grids in scope no new grid matched: code, id, community, type, units, WKB."""
    return con.execute(
        f"SELECT {_OLD_COLUMNS} FROM grid_versions AS g WHERE g.until_version IS NULL "
        f"AND NOT EXISTS (SELECT 1 FROM temp.matched AS m WHERE m.old_id = g.id)"
        + _scope_sql(scope)).fetchall()


def fetch_old_near(con: sqlite3.Connection, scope: str, bounds: Sequence[float] | np.ndarray) -> list[tuple]:
    """Return grids in scope matched by units whose bounding box meets ``bounds`` (minx, miny, maxx, maxy)."""
    return con.execute(
        f"SELECT {_OLD_COLUMNS} FROM grid_versions AS g JOIN temp.matched AS m ON m.old_id = g.id "
        "WHERE g.maxx >= ? AND g.minx <= ? AND g.maxy >= ? AND g.miny <= ?" + _scope_sql(scope),
        (bounds[0], bounds[2], bounds[1], bounds[3])).fetchall()


def fetch_matched_old(con: sqlite3.Connection, positions: Iterable[int]) -> list[tuple]:
    """Return (position, version id, type, units, WKB) of the grids matched at ``positions``."""
    con.execute("DROP TABLE IF EXISTS temp.wanted")
    con.execute("CREATE TEMP TABLE wanted (pos INTEGER PRIMARY KEY)")
    con.executemany("INSERT INTO temp.wanted VALUES (?)", ((int(p),) for p in positions))
    return con.execute("SELECT m.pos, m.old_id, g.type, g.units, g.geometry FROM temp.wanted AS w "
                       "JOIN temp.matched AS m ON m.pos = w.pos JOIN grid_versions AS g ON g.id = m.old_id"
                       ).fetchall()


def write_plan(con: sqlite3.Connection, *, keeps: Sequence[tuple[int, str, int]],
               changed: Sequence[tuple[int, str, int]], retired: Sequence[tuple[str, int]]) -> None:
    """Load the decisions taken in Python.

    They are: grids kept by overlap (position, code, old version id), changed grids (position, code, old
    version id) and retired grids (code, old version id).
    """
    con.executemany("INSERT INTO temp.matched VALUES (?, ?, ?, 0)", keeps)
    con.executemany("INSERT INTO temp.changed VALUES (?, ?, ?)", changed)
    con.executemany("INSERT INTO temp.retired VALUES (?, ?)", retired)


def issue_codes(con: sqlite3.Connection, scheme: CodeScheme, version: int, path: Path, *, fresh: np.ndarray,
                order: np.ndarray, communities: np.ndarray, types: Types,
                micro_width: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Give the new grids codes: per community after the highest sequence ever issued, in ``order``.

    ``fresh`` are the positions of the new grids, ``order`` their reading order within their community
    (ties by position), ``communities`` and ``types`` their community codes (12 digits, ASCII bytes) and
    grid types.
    The numbering and the codes are computed with numpy from the counters of those communities (no
    window function: sorting millions of rows in SQL took most of an assignment), written into ``codes``
    in index order as one string, and the counters move on. With ``micro_width`` the grids are
    micro-grids, their "community" the grid they divide: the code is that grid's code and a sequence of
    ``micro_width`` digits. Returns the positions (ascending) and codes (ASCII bytes) issued.
    """
    width = scheme.length + micro_width
    if not len(fresh):  # nothing to write: a rerun also works on a read-only registry
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=f"S{width}")
    community_width = scheme.length if micro_width else 12
    limit = 10 ** micro_width - 1 if micro_width else scheme.sequence_max
    number, rank, first, names = _numbering(con, fresh, order, communities, path)
    sequence = first[number] + rank
    _check_room(sequence, number, names, limit, scheme, path)
    communities = np.asarray(communities, dtype=f"S{community_width}")
    codes = _code_bytes(scheme, communities, types, sequence, micro_width)
    # the order of the table's primary key: community numbers follow the order of the community codes
    by_key = np.lexsort((sequence, number))
    records = _json_strings(_ascii(communities[by_key]), _digits(sequence[by_key], 6), _ascii(codes[by_key]),
                            _ascii(types.letters()[by_key]))
    kind = types.sql(f"substr(value, {community_width + width + 7}, 1)")
    con.execute(
        f"INSERT INTO codes (community_code, sequence, code, type, issued_version) SELECT "
        f"substr(value, 1, {community_width}), CAST(substr(value, {community_width + 1}, 6) AS INTEGER), "
        f"substr(value, {community_width + 7}, {width}), {kind}, ? FROM {_JSON_ROWS}",
        (*types.kinds, version, records))
    last = np.zeros(len(names), dtype=np.int64)
    np.maximum.at(last, number, sequence)
    counters = _json_strings(_ascii(np.asarray(names, dtype=f"S{community_width}")), _digits(last, 6))
    con.execute(f"INSERT INTO counters SELECT substr(value, 1, {community_width}), "
                f"CAST(substr(value, {community_width + 1}) AS INTEGER) FROM {_JSON_ROWS} WHERE true "
                "ON CONFLICT (community_code) DO UPDATE "
                "SET last_sequence = max(last_sequence, excluded.last_sequence)",
                (counters,))
    order_by_pos = np.argsort(fresh)
    return np.asarray(fresh, dtype=np.int64)[order_by_pos], codes[order_by_pos]


def _numbering(con: sqlite3.Connection, fresh: np.ndarray, order: np.ndarray, communities: np.ndarray,
               path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the new grids numbered in their communities.

    Returns per new grid its community's number and its rank (from 1) there; per community number the
    sequence its ranks start after (its counter, 0 for a community without codes) and its code. Refuses
    counters behind the codes of their community (a damaged registry: new codes would repeat old ones).
    """
    names, number = _factorize(np.asarray(communities, dtype="S"))
    names = names.astype(str)
    # a new registry has neither codes nor counters: nothing to check or read for its millions of grids
    has_codes, has_counters = con.execute(
        "SELECT EXISTS (SELECT 1 FROM codes), EXISTS (SELECT 1 FROM counters)").fetchone()
    listed = json.dumps(names.tolist()) if has_codes or has_counters else "[]"
    behind = con.execute(
        "SELECT n.value, COALESCE(c.last_sequence, 0), (SELECT MAX(sequence) FROM codes AS k "
        "WHERE k.community_code = n.value) AS highest FROM json_each(?) AS n LEFT JOIN counters AS c "
        "ON c.community_code = n.value WHERE highest > COALESCE(c.last_sequence, 0) LIMIT 1", (listed,)
    ).fetchone() if has_codes else None
    if behind:
        raise damaged(path, "counters", f"says community {behind[0]} has issued up to sequence {behind[1]}, "
                                        f"but table codes holds sequence {behind[2]}: new codes would repeat "
                                        "old ones")
    first = np.zeros(len(names), dtype=np.int64)
    if has_counters:
        rows = con.execute(
            "SELECT json_group_array(json_array(community_code, last_sequence)) FROM counters WHERE "
            "community_code IN (SELECT value FROM json_each(?))", (listed,)).fetchone()[0]
        counters = dict(json.loads(rows)) if rows else {}
        first = pd.Series(counters, dtype=np.int64).reindex(names).fillna(0).to_numpy(dtype=np.int64)
    ranked = np.lexsort((fresh, order, number))
    start = np.flatnonzero(np.concatenate([[True], number[ranked][1:] != number[ranked][:-1]]))
    rank = np.empty(len(fresh), dtype=np.int64)
    rank[ranked] = np.arange(len(fresh)) - np.repeat(start, np.diff(np.append(start, len(fresh)))) + 1
    return number, rank, first, names


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct values, sorted, and the number of each value among them.

    As ``np.unique(values, return_inverse=True)``, by a stable sort: several times faster on builds listed
    community by community.
    """
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.concatenate([[True], ordered[1:] != ordered[:-1]]) if len(values) else np.empty(0, dtype=bool)
    number = np.empty(len(values), dtype=np.int64)
    number[order] = np.cumsum(first) - 1
    return ordered[first], number


def _check_room(sequence: np.ndarray, number: np.ndarray, names: np.ndarray, limit: int, scheme: CodeScheme,
                path: Path) -> None:
    """Refuse a numbering past the scheme's last sequence, naming the first community (by code) it hits."""
    full = np.unique(number[sequence > limit])
    if not len(full):
        return
    which = full[np.argmin(names[full])]
    community, mine = names[which], number == which
    first, last, count = int(sequence[mine].min()), int(sequence[mine].max()), int(mine.sum())
    raise RegistryError(f"community {community} needs {count} new codes ({first}–{last}) but scheme "
                        f"'{scheme.name}' holds sequences up to {limit}; numbers are never "
                        "reused", path=path, record=f"community {community}",
                        fix="check for a build that splits the community into too many grids, or move "
                            "to a scheme with a wider sequence field")


def _code_bytes(scheme: CodeScheme, communities: np.ndarray, types: Types, sequence: np.ndarray,
                micro_width: int) -> np.ndarray:
    """Return the codes (ASCII bytes) of ``scheme`` for these communities, grid types and sequences."""
    if micro_width:
        parts = [_ascii(communities), _digits(sequence, micro_width)]
    else:
        parts = []
        for name, width in scheme.fields:
            if name == "community":
                parts.append(_ascii(communities))
            elif name == "sequence":
                parts.append(_digits(sequence, width))
            elif name == "object":
                parts.append(np.tile(np.frombuffer(str(scheme.object_code).encode("ascii"), np.uint8),
                                     (len(sequence), 1)))
            else:
                digits = [scheme.grid_types[kind] for kind in types.kinds]  # each type has a digit (checked)
                parts.append(_ascii(np.array([*digits, ""], dtype=f"S{width}")[types.index]))
    matrix = np.ascontiguousarray(np.hstack(parts))
    return matrix.view(f"S{matrix.shape[1]}").ravel()


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative whole numbers, as an ``(n, width)`` array of ASCII.

    One digit at a time, by a division by the scalar 10 (numpy divides by a scalar several times faster
    than by an array of powers of ten).
    """
    rest = np.array(values, dtype=np.int64)
    digits = np.empty((len(rest), width), dtype=np.uint8)
    for column in range(width - 1, -1, -1):
        tens = rest // 10
        digits[:, column] = rest - tens * 10 + ord("0")
        rest = tens
    return digits


def _ascii(values: np.ndarray) -> np.ndarray:
    """Fixed-width bytes as an ``(n, width)`` array of their bytes."""
    return np.ascontiguousarray(values).view(np.uint8).reshape(len(values), -1)


def _json_strings(*columns: np.ndarray) -> memoryview:
    """Return a JSON array of strings, row ``i`` joining row ``i`` of every ``(n, width)`` array of ASCII.

    The columns are copied once, into the text of the array (UTF-8 bytes, for :data:`_JSON_ROWS`).
    """
    n, width = len(columns[0]), sum(column.shape[1] for column in columns)
    if not n:
        return memoryview(b"[]")
    text = np.empty(1 + n * (width + 3), dtype=np.uint8)
    quoted = text[1:].reshape(n, width + 3)
    quoted[:, 0] = quoted[:, -2] = ord('"')
    quoted[:, -1] = ord(",")
    at = 1
    for column in columns:
        quoted[:, at:at + column.shape[1]] = column
        at += column.shape[1]
    text[0], text[-1] = ord("["), ord("]")
    return text.data


def _rows(matrix: np.ndarray) -> np.ndarray:
    """Return the rows of an ``(n, width)`` array of ASCII as fixed-width bytes."""
    matrix = np.ascontiguousarray(matrix)
    return matrix.view(f"S{matrix.shape[1]}").ravel()


def _json_array(*columns: np.ndarray | pd.Series) -> memoryview:
    """Return a JSON array of strings, each joining one value of every column, built by Arrow.

    Columns are numpy arrays of ASCII bytes (nothing to escape) or pandas text (escaped here; text with
    control characters goes through :func:`json.dumps`). No Python string per value: for millions of rows
    several times faster than ``json.dumps(list)``.
    """
    arrays, text = [], []
    for column in columns:
        if isinstance(column, np.ndarray):
            arrays.append(arrow_text(column))
        else:
            array = pa.array(column)
            arrays.append((array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array)
                          .cast(pa.large_string()))
        text.append(not isinstance(column, np.ndarray))
    nothing = pa.scalar("", pa.large_string())
    if any(_bytes_below(array, 0x20) for array, escape in zip(arrays, text, strict=True) if escape):
        listed = json.dumps(pc.binary_join_element_wise(*arrays, nothing).to_pylist(), ensure_ascii=False)
        return memoryview(listed.encode("utf-8"))
    arrays = [pc.replace_substring(pc.replace_substring(array, "\\", "\\\\"), '"', '\\"')
              if escape and (_holds(array, b"\\") or _holds(array, b'"')) else array
              for array, escape in zip(arrays, text, strict=True)]
    joined = _text_bytes(pc.binary_join_element_wise(pa.scalar('"', pa.large_string()), *arrays,
                                                     pa.scalar('",', pa.large_string()), nothing))
    if not len(joined):
        return memoryview(b"[]")
    buffer = np.empty(len(joined) + 1, dtype=np.uint8)  # "[" and the rows, the last "," becoming "]"
    buffer[1:] = joined
    buffer[0], buffer[-1] = ord("["), ord("]")
    return buffer.data


def arrow_text(values: np.ndarray) -> pa.LargeStringArray:
    """Fixed-width ASCII bytes as Arrow text on their own buffer (offsets every ``width`` bytes, no copy).

    Values shorter than their width (numpy pads them with NULs, and drops those) are converted by Arrow.
    """
    values = np.ascontiguousarray(values)
    width = values.dtype.itemsize
    if not len(values) or not width or (values.view(np.uint8) == 0).any():
        array = pa.array(values)
        whole = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
        return whole.cast(pa.large_string())
    offsets = np.arange(0, width * (len(values) + 1), width, dtype=np.int64)
    text = pa.LargeStringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(values))
    text.validate(full=True)  # UTF-8, as the conversion checks it
    return text


def _text_bytes(array: pa.LargeStringArray) -> np.ndarray:
    """Return the UTF-8 bytes of all values of an Arrow text array (its data buffer), as numpy uint8."""
    data = array.buffers()[2]
    if data is None or not len(array):
        return np.empty(0, dtype=np.uint8)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)
    return np.frombuffer(data, dtype=np.uint8)[offsets[array.offset]:offsets[array.offset + len(array)]]


def _bytes_below(array: pa.LargeStringArray, limit: int) -> bool:
    """Whether any value holds a byte below ``limit`` (control characters, for 0x20)."""
    return bool((_text_bytes(array) < limit).any())


def _holds(array: pa.LargeStringArray, character: bytes) -> bool:
    """Whether any value holds the ASCII ``character``."""
    return bool((_text_bytes(array) == character[0]).any())


def close_versions(con: sqlite3.Connection, version: int) -> None:
    """End the current version of changed and retired grids."""
    con.execute("UPDATE grid_versions SET until_version = ? WHERE id IN "
                "(SELECT old_id FROM temp.changed UNION ALL SELECT old_id FROM temp.retired)", (version,))


def insert_versions(con: sqlite3.Connection, version: int, *, codes: np.ndarray, communities: np.ndarray,
                    types: Types, units: pd.Series, n_units: np.ndarray,
                    geometry: tuple[list[bytes], np.ndarray] | None, changed: bool) -> None:
    """Write the new current version of changed grids and the first version of new grids.

    One row per code (ASCII bytes, one width), ordered by code: the grid's community (fixed width),
    type, member units (";"-joined) and their number and, when the build has geometry, WKB and bounds.
    ``changed``: some are changed grids, whose type in ``codes`` follows too.
    """
    if geometry is None:  # millions of rows as one JSON array of strings, the fixed-width fields first
        digits = len(str(int(n_units.max()))) if len(n_units) else 1
        fixed = np.hstack([_ascii(codes), _ascii(communities), _ascii(types.letters()),
                           _digits(n_units, digits)])
        width, community_width = codes.dtype.itemsize, communities.dtype.itemsize
        at = width + community_width + 2  # where the number of units starts
        con.execute(
            "INSERT INTO grid_versions (code, version, community_code, type, units, n_units) SELECT "
            f"substr(value, 1, {width}), ?, substr(value, {width + 1}, {community_width}), "
            f"{types.sql(f'substr(value, {at - 1}, 1)')}, substr(value, {at + digits}), "
            f"CAST(substr(value, {at}, {digits}) AS INTEGER) FROM {_JSON_ROWS}",
            (version, *types.kinds, _json_array(_rows(fixed), units)))
    else:
        wkb, bounds = geometry
        rows = zip(codes.astype(str).tolist(), communities.astype(str).tolist(),
                   types.values(), units.tolist(),
                   n_units.tolist(),
                   wkb, *(bounds[:, i].tolist() for i in range(4)), strict=True)
        con.executemany("INSERT INTO grid_versions (code, version, community_code, type, units, n_units, "
                        f"geometry, minx, miny, maxx, maxy) VALUES "
                        f"(?, {int(version)}, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows)
    if changed:
        con.execute("UPDATE codes SET type = n.type FROM temp.changed AS c "
                    "JOIN temp.new_grids AS n ON n.pos = c.pos WHERE codes.code = c.code")


def retire_codes(con: sqlite3.Connection, version: int) -> None:
    """Mark the retired codes (they stay in the registry; their numbers are never issued again)."""
    con.execute("UPDATE codes SET retired_version = ? WHERE code IN (SELECT code FROM temp.retired)",
                (version,))


def insert_lineage(con: sqlite3.Connection, version: int, links: Sequence[tuple]) -> None:
    """Record parent -> child links: parent code, child code, kind, shares of each, shared units."""
    con.executemany("INSERT INTO lineage (parent, child, version, kind, parent_share, child_share, "
                    f"shared_units) VALUES (?, ?, {int(version)}, ?, ?, ?, ?)", links)


def record_version(con: sqlite3.Connection, version: int, issued_on: str, counts: dict[str, int]) -> None:
    """Add the row of this version to ``versions``."""
    con.execute("INSERT INTO versions (version, issued_on, created_at, grids, kept, added, changed, retired) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (version, issued_on, _now(), *(counts[name] for name in ("grids", "kept", "added", "changed",
                                                                         "retired"))))
