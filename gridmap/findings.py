"""Reports: the findings of a check or a build, one row per finding, readable by people and machines.

Functions that inspect data (:func:`gridmap.check`, validation in the readers, grid building) return or
attach a :class:`Report` instead of printing. A finding has a ``check`` (what was tested), a ``severity``
(``error`` — a violation; ``warning`` — repaired or suspicious; ``info``), the ``record`` it is about and a
``message``, and optionally the ``fix`` (what to do about it). Extra keyword values (an area, a distance)
become columns.

Examples
--------
>>> report = Report("units")
>>> report.add("outside", "unit lies outside every community", record="U7", distance_m=412.0)
>>> report.ok
False
>>> report.to_frame()[["check", "record", "distance_m"]]
     check record  distance_m
0  outside     U7       412.0
"""

from __future__ import annotations

import html
import json
import os
from typing import Any

import pandas as pd

from gridmap.errors import GridmapError

__all__ = ["Report", "SEVERITIES"]

SEVERITIES = ("error", "warning", "info")
_BASE_COLUMNS = ["check", "severity", "record", "message"]


class Report:
    """Findings of one check, with optional summary tables.

    Parameters
    ----------
    title : str
        What was checked (shown in headings and the CLI).
    """

    def __init__(self, title: str):
        self.title = title
        self._rows: list[dict[str, Any]] = []
        self.tables: dict[str, pd.DataFrame] = {}

    def add(self, check: str, message: str, *, record: Any = None, severity: str = "error",
            fix: str | None = None, **extra: Any) -> None:
        """Record one finding; ``fix`` says what to do; ``extra`` values become :meth:`to_frame` columns."""
        if severity not in SEVERITIES:
            raise GridmapError(f"severity={severity!r} is not a severity",
                               fix=f"pass severity= one of {', '.join(map(repr, SEVERITIES))}")
        row = {"check": check, "severity": severity, "record": None if record is None else str(record),
               "message": message, **extra}
        if fix is not None:
            row["fix"] = fix
        self._rows.append(row)

    def extend(self, other: Report) -> None:
        """Append the findings and tables of another report."""
        self._rows.extend(other._rows)
        self.tables.update(other.tables)

    @property
    def ok(self) -> bool:
        """True when no finding has severity ``error``."""
        return not any(row["severity"] == "error" for row in self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def to_frame(self) -> pd.DataFrame:
        """Return the findings as a DataFrame (columns check, severity, record, message, extras)."""
        frame = pd.DataFrame(self._rows)
        if frame.empty:
            return pd.DataFrame(columns=_BASE_COLUMNS)
        return frame[_BASE_COLUMNS + [c for c in frame.columns if c not in _BASE_COLUMNS]]

    def counts(self) -> pd.Series:
        """Return the number of findings per check, largest first."""
        return self.to_frame()["check"].value_counts()

    def raise_for_errors(self, error: type[GridmapError] = GridmapError, *,
                         path: str | os.PathLike | None = None) -> None:
        """Raise ``error`` naming the first violations when the report has any."""
        errors = [row for row in self._rows if row["severity"] == "error"]
        if not errors:
            return
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        record = f"record {first['record']}" if first["record"] is not None else None
        raise error(f"{first['check']}: {first['message']}{more}", path=path, record=record,
                    fix=first.get("fix"))

    def to_json(self) -> str:
        """Serialise findings and tables as JSON (non-ASCII text kept readable)."""
        payload = {
            "title": self.title,
            "ok": self.ok,
            "findings": json.loads(self.to_frame().to_json(orient="records", force_ascii=False)),
            "tables": {name: json.loads(t.to_json(orient="records", force_ascii=False))
                       for name, t in self.tables.items()},
        }
        return json.dumps(payload, ensure_ascii=False, indent=2)

    def summary(self) -> str:
        """One line: the title, OK or the number of errors and warnings per check."""
        if not self._rows:
            return f"{self.title}: OK, no findings"
        frame = self.to_frame()
        parts = [f"{check} {n}" for check, n in frame["check"].value_counts().items()]
        status = "OK" if self.ok else "FAILED"
        return f"{self.title}: {status} ({', '.join(parts)})"

    def __repr__(self) -> str:
        frame = self.to_frame()
        body = "" if frame.empty else "\n" + frame.head(20).to_string(index=False)
        return self.summary() + body

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        heading = f"<p><b>{html.escape(self.summary())}</b></p>"
        if frame.empty:
            return heading
        counts = frame.groupby(["check", "severity"]).size().rename("n").reset_index()
        return heading + counts.to_html(index=False) + frame.head(20).to_html(index=False)
