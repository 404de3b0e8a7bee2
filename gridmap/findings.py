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
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from gridmap.errors import GridmapError

__all__ = ["Report", "SEVERITIES"]

SEVERITIES = ("error", "warning", "info")
_BASE_COLUMNS = ["check", "severity", "record", "message"]
#: One value per record for :meth:`Report.add_many`: a list, a tuple, a numpy array or a pandas Series.
_Values: TypeAlias = Sequence[Any] | np.ndarray | pd.Series


class Report:
    """Findings of one check, with optional summary tables.

    Parameters
    ----------
    title : str
        What was checked (shown in headings and the CLI).
    """

    def __init__(self, title: str):
        self.title = title
        self._rows: list[dict[str, Any] | _Many] = []
        self._count = 0
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
        self._count += 1

    def add_many(self, check: str, message: str, *, records: _Values, severity: str = "error",
                 fix: str | None = None, **extra: _Values) -> None:
        """Record one finding per record at once, as :meth:`add` would in a loop, in no time.

        ``message`` is formatted per finding with its ``extra`` values (``str.format`` fields named after
        them) only when the findings are read, so millions of findings cost no Python loop here.

        Examples
        --------
        >>> report = Report("cases")
        >>> report.add_many("outside", "{distance_m:,.0f} m outside", records=["c1", "c2"],
        ...                 distance_m=[1234.5, 8.0])
        >>> report.to_frame()[["record", "message", "distance_m"]]
          record         message  distance_m
        0     c1  1,234 m outside      1234.5
        1     c2      8 m outside         8.0
        """
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
        many = _Many(check, message, records, severity, fix, extra)
        if len(many):
            self._rows.append(many)
            self._count += len(many)

    def extend(self, other: Report) -> None:
        """Append the findings and tables of another report."""
        self._rows.extend(other._rows)
        self._count += other._count
        self.tables.update(other.tables)

    @property
    def ok(self) -> bool:
        """True when no finding has severity ``error``."""
        return not any(row["severity"] == "error" for row in self._rows)

    def __len__(self) -> int:
        return self._count

    def to_frame(self) -> pd.DataFrame:
        """Return the findings as a DataFrame (columns check, severity, record, message, extras)."""
        parts: list[pd.DataFrame] = []
        singles: list[dict] = []
        for row in self._rows:  # runs of single findings make one frame each: thousands stay fast
            if isinstance(row, _Many):
                if singles:
                    parts.append(pd.DataFrame(singles))
                    singles = []
                parts.append(row.frame())
            else:
                singles.append(row)
        if singles:
            parts.append(pd.DataFrame(singles))
        frame = (pd.concat(parts, ignore_index=True) if len(parts) > 1
                 else parts[0] if parts else pd.DataFrame())
        if frame.empty:
            return pd.DataFrame(columns=_BASE_COLUMNS)
        return frame[_BASE_COLUMNS + [c for c in frame.columns if c not in _BASE_COLUMNS]]

    def counts(self) -> pd.Series:
        """Return the number of findings per check, largest first."""
        counts: dict[str, int] = {}
        for row in self._rows:
            counts[row["check"]] = counts.get(row["check"], 0) + (len(row) if isinstance(row, _Many) else 1)
        series = pd.Series(counts, name="count", dtype="int64").rename_axis("check")
        return series.sort_values(ascending=False, kind="stable")

    def raise_for_errors(self, error: type[GridmapError] = GridmapError, *,
                         path: str | os.PathLike | None = None) -> None:
        """Raise ``error`` naming the first violations when the report has any."""
        errors = [row for row in self._rows if row["severity"] == "error"]
        if not errors:
            return
        first = errors[0].first() if isinstance(errors[0], _Many) else errors[0]
        total = sum(len(row) if isinstance(row, _Many) else 1 for row in errors)
        more = f" (and {total - 1} more)" if total > 1 else ""
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
        parts = [f"{check} {n}" for check, n in self.counts().items()]
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


class _Many:
    """Findings of one check for many records, kept as columns and made into rows only when read."""

    def __init__(self, check: str, message: str, records: _Values, severity: str, fix: str | None,
                 extra: dict[str, _Values]):
        self.check, self.message, self.severity, self.fix = check, message, severity, fix
        # a Series (say of Arrow strings) is kept as it is: millions of labels need no Python object each
        self.records = records if isinstance(records, pd.Series) else np.asarray(records, dtype=object)
        self.extra = {name: np.asarray(values) for name, values in extra.items()}
        if any(len(values) != len(self.records) for values in self.extra.values()):
            raise ValueError("add_many needs one value of each extra per record")

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: str) -> Any:
        return {"check": self.check, "severity": self.severity}[key]

    def frame(self) -> pd.DataFrame:
        """Return the findings as rows, like :meth:`Report.add` makes them."""
        extra = pd.DataFrame(self.extra, index=pd.RangeIndex(len(self)))
        messages = ([self.message.format(**row) for row in extra.to_dict("records")] if self.extra
                    else [self.message] * len(self))
        records = [None if record is None else str(record) for record in self.records]
        frame = pd.DataFrame({"check": self.check, "severity": self.severity, "record": records,
                              "message": messages}, index=extra.index)
        frame = pd.concat([frame, extra], axis=1)
        if self.fix is not None:
            frame["fix"] = self.fix
        return frame

    def first(self) -> dict[str, Any]:
        """Return the first finding as a row."""
        extra = {name: values[:1].tolist()[0] for name, values in self.extra.items()}
        record = self.records.iloc[0] if isinstance(self.records, pd.Series) else self.records[0]
        return {"check": self.check, "severity": self.severity,
                "record": None if record is None else str(record),
                "message": self.message.format(**extra), "fix": self.fix, **extra}
