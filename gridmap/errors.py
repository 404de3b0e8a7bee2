"""Errors a user can cause, and the warnings gridmap gives about recoverable data issues.

Every error raised because of the user's input is a :class:`GridmapError` (a ``ValueError``), so one
``except GridmapError`` catches them all. The message always says where (file and record), what was
wrong, and the fix.

Examples
--------
>>> err = CodeError("code has 11 digits", path="units.csv", record="row 7", fix="give the 12-digit code")
>>> str(err)
'units.csv, row 7: code has 11 digits. Fix: give the 12-digit code.'
"""

from __future__ import annotations

import os

__all__ = [
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


class GridmapError(ValueError):
    """Root of the errors a user can cause.

    Parameters
    ----------
    problem : str
        What is wrong, with the value received.
    path : str or os.PathLike, optional
        The file the problem is in.
    record : str, optional
        The record (row, feature, code) the problem is in.
    fix : str, optional
        What the user should do about it.
    """

    def __init__(self, problem: str, *, path: str | os.PathLike | None = None, record: str | None = None,
                 fix: str | None = None):
        self.problem = problem
        self.path = None if path is None else str(path)
        self.record = record
        self.fix = fix
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = ", ".join(part for part in (self.path, self.record) if part)
        message = f"{where}: {self.problem}" if where else self.problem
        if self.fix:
            message += f". Fix: {self.fix.rstrip('.')}."
        return message

    def at(self, path: str | os.PathLike | None) -> GridmapError:
        """Return the same error with the file it came from filled in (when it had none)."""
        if self.path is not None:
            return self
        return type(self)(self.problem, path=path, record=self.record, fix=self.fix)


class ReadError(GridmapError):
    """A file cannot be read: missing, empty, truncated, wrong format or undecodable text."""


class WriteError(GridmapError):
    """An output cannot be written (the previous file, if any, is left untouched)."""


class SchemaError(GridmapError):
    """A layer lacks a required column, or a column holds values of the wrong kind."""


class CodeError(GridmapError):
    """A division or grid code is malformed, duplicated, or inconsistent with its parent."""


class CRSError(GridmapError):
    """Coordinates have no usable coordinate reference system, or are implausible for it."""


class GeometryError(GridmapError):
    """Geometries are invalid, empty or of the wrong type (and strict mode refuses to repair them)."""


class TopologyError(GridmapError):
    """Layers do not fit together: overlapping communities, units outside every community (strict mode)."""


class RegistryError(GridmapError):
    """The code registry cannot be opened or refuses an operation (wrong schema, conflicting codes)."""


class CaseError(GridmapError):
    """Case records are unusable: no location, times out of order, unknown handling level."""


class GridmapWarning(UserWarning):
    """A recoverable data issue that gridmap repaired or worked around; it is also listed in reports."""
