"""Worked examples read from help texts and docstrings, for tests that run them as a new user would.

Used by tests/test_cli_examples.py (every ``gridmap ... --help``) and tests/test_scripts.py (each script's
Usage). An example is a line starting with its program (``gridmap``, ``python scripts/batch_maps.py``), a
trailing backslash continuing it; a trailing comment ``# exit N`` gives its exit code (else 0) and
``# your files`` marks one naming files a new user does not have; ``> file`` sends stdout to a file.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio

from gridmap.io import read_layer


@dataclass
class Example:
    text: str  # as written, continuation lines joined
    argv: list[str]  # after the program
    stdout_to: str | None  # the file of "> file"
    exit_code: int
    own_files: bool  # "# your files": names files a new user does not have

    @property
    def promised(self) -> list[str]:
        """The files and folders the example says it writes (``--out``, ``> file``)."""
        paths = [self.argv[i + 1] for i, word in enumerate(self.argv) if word == "--out"]
        return paths + ([self.stdout_to] if self.stdout_to else [])


def parse_command_lines(text: str, program: str) -> list[Example]:
    """The examples of ``program`` in ``text`` (a help's Examples section, a docstring's Usage block)."""
    lines, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if pending:
            pending += " " + line
        elif line.startswith(program + " "):
            pending = line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
        elif pending:
            lines.append(pending)
            pending = ""
    return [_example(line, program) for line in lines]


def _example(line: str, program: str) -> Example:
    command, _, comment = line.partition(" #")
    comment = comment.strip()
    words = shlex.split(command)[len(program.split()):]
    stdout_to = None
    if ">" in words:
        at = words.index(">")
        words, stdout_to = words[:at], words[at + 1]
    exit_code = int(comment[5]) if comment.startswith("exit ") else 0
    return Example(line, words, stdout_to, exit_code, comment.startswith("your files"))


def assert_opens(path: Path) -> None:
    """A file or folder written by an example exists, is not empty and opens with the usual tools."""
    assert path.exists(), f"{path} was not written"
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        assert files and all(p.stat().st_size for p in files), f"{path} is empty or holds an empty file"
        return
    assert path.stat().st_size, f"{path} is empty"
    suffix = path.suffix.lower()
    if suffix in (".gpkg", ".geojson", ".parquet"):
        first = pyogrio.list_layers(path)[0][0] if suffix == ".gpkg" else None
        assert len(read_layer(path, first)) > 0
    elif suffix == ".xlsx":
        assert openpyxl.load_workbook(path, read_only=True).sheetnames
    elif suffix == ".csv":
        assert len(pd.read_csv(path)) > 0
    elif suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif suffix in (".html", ".htm"):
        assert "</html>" in path.read_text(encoding="utf-8").lower()
    elif suffix == ".png":
        assert path.read_bytes().startswith(b"\x89PNG")
