"""What a command shows and writes: progress bars, the summary line, folders that appear whole or not at all.

Every command reports the same way: progress on stderr while it works (:class:`Steps`), then one line on
stdout saying what it wrote where (:func:`echo_wrote`), and nothing of either with ``--quiet``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import click
from tqdm import tqdm

from gridmap.errors import WriteError

__all__ = ["Steps", "echo_wrote", "show_progress", "staged_folder"]


def _terminal() -> bool:
    return sys.stderr.isatty()


def show_progress(quiet: bool) -> bool:
    """Whether to draw progress bars: never with ``--quiet``, and only when stderr is a terminal.

    A log file or a pipe gets no bars (what tqdm's ``disable=None`` does), so scripts and cron jobs capture
    the summary line and the messages only.
    """
    return not quiet and _terminal()


class Steps:
    """The named steps of a command as one progress bar on stderr, e.g. ``report: map of street 990102001``.

    Call the object with the name of each step as it starts; the bar counts the steps done and disappears
    when the command ends, leaving the summary line alone. Drawn only when :func:`show_progress` says so.

    Parameters
    ----------
    command : str
        The command's name, shown before each step.
    total : int
        The number of steps; :meth:`add` adds more once they are known (a map per street).
    quiet : bool
        ``--quiet``: no bar.

    Examples
    --------
    >>> with Steps("demo", 2, quiet=True) as step:
    ...     step("validate")
    ...     step("divide into grids")
    >>> step.done
    2
    """

    def __init__(self, command: str, total: int, *, quiet: bool) -> None:
        self.command, self.done, self.current = command, 0, None
        self._bar = tqdm(total=total, desc=command, unit="step", leave=False, file=sys.stderr,
                         disable=not show_progress(quiet),
                         bar_format="{desc} |{bar}| {n_fmt}/{total_fmt} steps [{elapsed}]")

    def __call__(self, name: str) -> None:
        """Mark the current step done and show ``name`` as the one running."""
        self._finish_current()
        self.current = name
        self._bar.set_description_str(f"{self.command}: {name}")

    def add(self, steps: int) -> None:
        """Count ``steps`` more steps (known only once the input is read)."""
        self._bar.total += steps
        self._bar.refresh()

    def _finish_current(self) -> None:
        if self.current is not None:
            self.done += 1
            self._bar.update()

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self._finish_current()
            self.current = None
        self._bar.close()


def echo_wrote(path: str | os.PathLike, details: str, *, quiet: bool) -> None:
    """Print the line that ends a command, ``wrote PATH (DETAILS)``, on stdout (nothing with ``--quiet``)."""
    if not quiet:
        click.echo(f"wrote {path} ({details})")


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
                         fix="check the folder's permissions and free space; nothing in it was changed"
                         ) from error
