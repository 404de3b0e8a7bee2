"""Outputs that appear whole or not at all: the one atomic-write helper of gridmap, for files and folders.

A file is written under a temporary name in its own folder, flushed to disk and moved over the target with
:func:`os.replace` (:func:`atomic_path`, :func:`write_text`). A folder is written as a sibling temporary
folder and swapped in whole (:func:`atomic_folder`). Whatever stops the work — an error, Ctrl-C, SIGTERM
(see :mod:`gridmap._interrupt`) — the temporary file or folder is removed and the target is left as it was.
An operating system error says what is wrong in words (disk full, read-only disk, permission denied) and
names the target, never the temporary name.

Examples
--------
>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with atomic_path(folder / "a.txt") as temporary:
...     _ = temporary.write_text("whole")
>>> sorted(p.name for p in folder.iterdir())
['a.txt']
"""

from __future__ import annotations

import errno
import fnmatch
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from gridmap._interrupt import deferred
from gridmap.errors import WriteError

__all__ = ["atomic_path", "atomic_folder", "write_text", "write_error", "folder_cause", "foreign_files",
           "same_file", "ignores_case", "resolved", "SIDECARS"]

#: Files SQLite (GeoPackage) can leave beside a database being written.
SIDECARS = ("-wal", "-shm", "-journal")
_REASONS: dict[int | None, tuple[str, str]] = {
    errno.ENOSPC: ("the disk is full", "free some space on the disk or write elsewhere"),
    errno.EDQUOT: ("the disk quota is used up", "free some space or write elsewhere"),
    errno.EROFS: ("the folder is on a read-only disk", "write to a folder on a writable disk"),
    errno.EACCES: ("permission denied", "write to a folder you may write to, or ask for write permission"),
    errno.EPERM: ("permission denied", "write to a folder you may write to, or ask for write permission"),
}


#: Words of SQLite, GDAL and the C library for a full disk.
_FULL_WORDS = ("database or disk is full", "no space left on device", "disk is full", "disk quota exceeded")
#: Below this much free space (bytes) a failed write is blamed on the disk.
_LOW_SPACE = 1 << 20


def _free_bytes(folder: Path) -> int | None:
    try:
        stat = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return None
    return stat.f_bavail * stat.f_frsize


def folder_cause(path: str | os.PathLike, message: str = "", *, needed: int = 0) -> OSError | None:
    """Return the operating system error behind a library's failure to write ``path``, if its folder says.

    GDAL and SQLite report a full disk or a read-only folder in their own words ("sqlite3_open(...) failed",
    "Failed to commit transaction", "disk I/O error"). This looks at the folder instead: a read-only disk,
    no write permission, a message naming a full disk, or less free space than ``needed`` bytes (or 1 MiB).

    Examples
    --------
    >>> folder_cause("grids.gpkg", "database or disk is full").errno == errno.ENOSPC
    True
    """
    folder = Path(path).parent
    if any(words in message.casefold() for words in _FULL_WORDS):
        return OSError(errno.ENOSPC, "No space left on device")
    if folder.is_dir():
        read_only = getattr(os, "ST_RDONLY", 0)
        with suppress(OSError, AttributeError):
            if read_only and os.statvfs(folder).f_flag & read_only:
                return OSError(errno.EROFS, "Read-only file system")
        if not os.access(folder, os.W_OK):
            return OSError(errno.EACCES, "Permission denied")
    free = _free_bytes(folder) if folder.is_dir() else None
    if free is not None and free < max(needed, _LOW_SPACE):
        return OSError(errno.ENOSPC, "No space left on device")
    return None


def write_error(error: OSError, path: str | os.PathLike, *, what: str = "the file", step: str = "write",
                option: str | None = None) -> WriteError:
    """Return the :class:`~gridmap.errors.WriteError` for an operating system error writing ``path``.

    ``step`` is ``"write"`` or ``"replace"`` (moving the finished file over the old one: refused on Windows
    while another program holds the file open); ``option`` names the command line option to change.

    Examples
    --------
    >>> print(write_error(OSError(errno.ENOSPC, "No space left on device"), "grids.gpkg"))
    grids.gpkg: cannot write the file: the disk is full. Fix: free some space on the disk or write
    elsewhere. The previous file, if any, is unchanged.
    """
    if error.errno not in _REASONS:
        error = folder_cause(path, str(error)) or error
    reason, fix = _REASONS.get(error.errno, (error.strerror or str(error) or type(error).__name__,
                                             "check that the folder exists and is writable and the disk is "
                                             "not full"))
    if step == "replace" and error.errno in (errno.EACCES, errno.EPERM):
        fix = "close it in other programs (QGIS, Excel) and check you may write to the folder"
    if option:
        fix += f", or choose another place with {option}"
    kept = "folder" if what == "the folder" else "file"
    return WriteError(f"cannot {step} {what}: {reason}", path=path,
                      fix=f"{fix}. The previous {kept}, if any, is unchanged")


def resolved(path: str | os.PathLike) -> str:
    """Return the absolute path with symbolic links, ``.`` and ``..`` resolved (case folded on Windows)."""
    return os.path.normcase(os.path.realpath(path))


def ignores_case(folder: str | os.PathLike) -> bool:
    """Whether the disk holding ``folder`` takes names differing only in case for one (Windows, macOS).

    Probes the disk: a temporary file is created in ``folder`` (or its nearest existing parent) and its
    name with the case swapped looked up. A folder that cannot be written falls back to the system's usual
    disks (case ignored on Windows and macOS).

    Examples
    --------
    >>> import tempfile
    >>> ignores_case(tempfile.gettempdir()) == (sys.platform in ("win32", "darwin"))
    True
    """
    folder = Path(folder)
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        handle, name = tempfile.mkstemp(prefix=".gridmap-case-probe-", dir=folder)
    except OSError:
        return sys.platform in ("win32", "darwin")
    os.close(handle)
    probe = Path(name)
    try:
        return probe.with_name(probe.name.swapcase()).exists()
    finally:
        with suppress(OSError):
            probe.unlink()


def same_file(first: str | os.PathLike, second: str | os.PathLike) -> str | None:
    """Say why two paths name one file (None if they do not): the same file, or names differing only in case.

    Names differing only in case are one file only on a disk that ignores case (:func:`ignores_case`); on
    other disks (Linux) ``city.gpkg`` and ``CITY.gpkg`` are two files.

    Examples
    --------
    >>> same_file("city.gpkg", "./x/../city.gpkg")
    'the same file'
    >>> same_file("city.gpkg", "grids.gpkg") is None
    True
    """
    try:
        if os.path.exists(first) and os.path.exists(second) and os.path.samefile(first, second):
            return "the same file"
    except OSError:
        pass
    one, other = resolved(first), resolved(second)
    if one == other:
        return "the same file"
    if one.casefold() == other.casefold() and ignores_case(Path(one).parent):
        return "the same file on a disk that ignores case (Windows, macOS)"
    return None


def _remove(temporary: Path) -> None:
    """Remove a temporary file and its SQLite sidecars; never raises (the real error matters more)."""
    for suffix in ("", *SIDECARS):
        with suppress(OSError):
            Path(f"{temporary}{suffix}").unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk; a file system that cannot is left as it is."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        handle = os.open(path, flags)
    except OSError:
        return
    try:
        with suppress(OSError):  # e.g. folders on Windows, some network disks
            os.fsync(handle)
    finally:
        os.close(handle)


def _check_target(path: Path) -> None:
    if path.is_dir():
        raise WriteError("the output path is a folder", path=path, fix="name a file, e.g. grids.gpkg")
    if not path.parent.is_dir():
        raise WriteError(f"folder {path.parent} does not exist", path=path,
                         fix=f"create it first (mkdir -p {path.parent}) or write elsewhere")


@contextmanager
def atomic_path(path: str | os.PathLike, *, what: str = "the file") -> Iterator[Path]:
    """Yield a temporary name beside ``path`` (same extension); when the body succeeds, move it over ``path``.

    The body writes the temporary file (any writer: GDAL, openpyxl, matplotlib). The file is then flushed to
    disk and replaces ``path`` in one step, keeping the old file's permissions. If the body or the move
    fails or is interrupted (any exception, Ctrl-C, SIGTERM), the temporary file and its SQLite sidecars
    are removed and ``path`` is left exactly as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    what : str
        How messages call the file ("the workbook", "the map").

    Raises
    ------
    WriteError
        ``path`` is a folder or its folder does not exist (before the body runs), or moving the file in
        failed (disk full, read-only disk, no permission): the message says which.
    """
    path = Path(path)
    _check_target(path)
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")
    try:
        yield temporary
        try:
            _fsync(temporary)
            if path.exists():
                os.chmod(temporary, path.stat().st_mode & 0o7777)
            os.replace(temporary, path)
        except OSError as error:
            raise write_error(error, path, what=what, step="replace") from error
        _fsync(path.parent)
    finally:
        with deferred():
            _remove(temporary)


def write_text(path: str | os.PathLike, text: str, *, what: str = "the file") -> Path:
    """Write ``text`` (UTF-8, Unix line ends) to ``path`` atomically; return the path.

    Raises
    ------
    WriteError
        The folder is missing or cannot be written (the message says why).
    """
    path = Path(path)
    with atomic_path(path, what=what) as temporary:
        try:
            with open(temporary, "x", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        except OSError as error:
            raise write_error(error, path, what=what) from error
    return path


def foreign_files(folder: str | os.PathLike, owned: Iterable[str]) -> list[str]:
    """Return what ``folder`` holds (relative, ``/``-separated) that no pattern of ``owned`` accounts for.

    A file is accounted for when a pattern matches it, a subfolder when a pattern lies inside it.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "index.html").write_text("x"); _ = (folder / "notes.txt").write_text("y")
    >>> foreign_files(folder, ["index.html", "maps/*.html"])
    ['notes.txt']
    """
    folder, patterns = Path(folder), list(owned)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_dir() and not path.is_symlink():
            if not any(pattern.startswith(f"{name}/") for pattern in patterns):
                found.append(f"{name}/")
        elif not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            found.append(name)
    return [name for name in found if not any(name.startswith(other) for other in found if other != name
                                              and other.endswith("/"))]


def _refuse_foreign(out: Path, owned: Iterable[str] | None, command: str) -> None:
    if owned is None:
        return
    foreign = foreign_files(out, owned)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise WriteError(f"the folder holds {shown}, which {command} does not write; replacing the folder "
                         "would delete them", path=out,
                         fix="choose a new or empty folder with --out, or move those files away")


@contextmanager
def atomic_folder(out: str | os.PathLike, *, owned: Iterable[str] | None = None,
                  command: str = "gridmap") -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; when the body succeeds, it replaces ``out`` whole.

    After a failure or an interruption at any moment, ``out`` is entirely the old folder (or absent) and
    the temporary folder is gone; after success it is entirely the new one: files of an earlier run that
    this run did not write are gone too.

    Parameters
    ----------
    out : str or os.PathLike
        The folder to write (a symbolic link to a folder: the folder it points to is replaced).
    owned : iterable of str, optional
        Patterns (``fnmatch``, relative to ``out``) of the files the command writes. An existing ``out``
        holding any other file is refused (before the body runs) rather than deleted.
    command : str
        How messages name the command.

    Raises
    ------
    WriteError
        ``out`` is a file, holds files the command does not write, or cannot be written (the message says
        why).
    """
    shown = Path(out)
    if shown.exists() and not shown.is_dir():
        raise WriteError("the output path exists and is not a folder", path=shown,
                         fix="give a folder name with --out")
    target = Path(os.path.realpath(shown))
    _refuse_foreign(target, owned, command)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as error:
        raise write_error(error, shown, what="the folder", option="--out") from error
    try:
        yield staging
        _refuse_foreign(target, owned, command)  # it may have changed while the command ran
        _swap(staging, target, shown)
    finally:
        with deferred():
            shutil.rmtree(staging, ignore_errors=True)


def _swap(staging: Path, target: Path, shown: Path) -> None:
    """Put ``staging`` where ``target`` is, in two renames no signal can come between."""
    mask = os.umask(0)
    os.umask(mask)
    with deferred():
        try:
            os.chmod(staging, target.stat().st_mode & 0o7777 if target.is_dir() else 0o777 & ~mask)
            if not target.exists():
                os.rename(staging, target)
                return
            old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.old")
            os.rename(target, old)
            try:
                os.rename(staging, target)
            except OSError:
                os.rename(old, target)
                raise
        except OSError as error:
            raise write_error(error, shown, what="the folder", step="replace", option="--out") from error
        shutil.rmtree(old, ignore_errors=True)
        _fsync(target.parent)
