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
    command writes no output file. Moving in is all or nothing too: every target is checked first, and if a
    move still fails, the files already replaced are put back.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise WriteError(f"output path {out} exists and is not a folder", fix="give a folder name with --out")
    try:
        parent = out.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    except OSError as error:
        raise WriteError(f"cannot write beside {out}: {error.strerror or error}", path=out,
                         fix="choose a folder you can write to with --out") from error
    try:
        yield staging
        _move_all(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_all(staging: Path, out: Path) -> None:
    """Move every file of ``staging`` into ``out``, keeping the old files until all have moved."""
    files = sorted(path.relative_to(staging) for path in staging.rglob("*") if path.is_file())
    blocked = [name for name in files if (out / name).is_dir()]
    if blocked:
        raise WriteError(f"{out / blocked[0]} is a folder, where the command writes a file", path=out,
                         fix=f"remove or rename {out / blocked[0]}, or choose another folder with --out")
    backup = staging / ".previous"
    moved: list[Path] = []
    try:
        for name in files:
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                (backup / name).parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, backup / name)
            os.replace(staging / name, target)
            moved.append(name)
    except OSError as error:
        for name in moved:  # put the previous files back; remove the ones that are new
            if (backup / name).exists():
                os.replace(backup / name, out / name)
            else:
                (out / name).unlink(missing_ok=True)
        for name in files[len(moved):]:
            if (backup / name).exists():
                os.replace(backup / name, out / name)
        raise WriteError(f"cannot move the results into {out}: {error.strerror or error}", path=out,
                         fix="check the folder's permissions and free space; nothing in it was changed") from error
