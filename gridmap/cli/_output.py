"""Output folders that appear whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gridmap.errors import WriteError

__all__ = ["staged_folder"]


@contextmanager
def staged_folder(out: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success move its files into ``out``.

    If the body raises, the temporary folder is removed and ``out`` is left exactly as it was, so a failed
    command writes no output file.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise WriteError(f"output path {out} exists and is not a folder", fix="give a folder name with --out")
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        yield staging
        out.mkdir(exist_ok=True)
        for item in sorted(staging.rglob("*")):
            target = out / item.relative_to(staging)
            if item.is_dir():
                target.mkdir(exist_ok=True)
            else:
                os.replace(item, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
