"""What a command shows and writes: progress, the summary line, whole folders, and no input overwritten.

Every command reports the same way: progress on stderr while it works (:class:`Steps`), then one line on
stdout saying what it wrote where (:func:`echo_wrote`), and nothing of either with ``--quiet``. Folders
appear whole or not at all (:func:`staged_folder`), and :func:`refuse_overwriting` keeps every command from
writing over its own inputs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import click
from tqdm import tqdm

from gridmap.errors import WriteError
from gridmap.io._atomic import atomic_folder, ignores_case, resolved, same_file

__all__ = ["Steps", "echo_wrote", "counted", "show_progress", "staged_folder", "refuse_overwriting"]


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
        self.command, self.done = command, 0
        self.current: str | None = None
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
        self._bar.total = (self._bar.total or 0) + steps
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


def counted(number: int, one: str, many: str | None = None) -> str:
    """Return ``number`` with the word for one or many: "1 grid", "9,000 grids", "1 community".

    Examples
    --------
    >>> counted(1, "community", "communities"), counted(12000, "grid"), counted(0, "finding")
    ('1 community', '12,000 grids', '0 findings')
    """
    return f"{number:,} {one if number == 1 else many or one + 's'}"


def echo_wrote(path: str | os.PathLike, details: str, *, quiet: bool) -> None:
    """Print the line that ends a command, ``wrote PATH (DETAILS)``, on stdout (nothing with ``--quiet``)."""
    if not quiet:
        click.echo(f"wrote {path} ({details})")


@contextmanager
def staged_folder(out: str | os.PathLike, *, owned: Iterable[str] | None = None,
                  command: str = "gridmap") -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out`` whole.

    If the body raises or is interrupted (Ctrl-C, SIGTERM), the temporary folder is removed and ``out`` is
    left exactly as it was, so a failed command writes nothing; a rerun replaces the folder rather than
    adding to it. ``owned`` lists the files (``fnmatch`` patterns) the command writes: an existing folder
    holding anything else is refused instead of deleted (see :func:`gridmap.io._atomic.atomic_folder`).
    """
    with atomic_folder(out, owned=owned, command=command) as staging:
        yield staging


def _inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    inner, outer = resolved(path), resolved(folder).rstrip(os.sep) + os.sep
    if inner.startswith(outer):
        return True
    return inner.casefold().startswith(outer.casefold()) and ignores_case(outer)


def _given(paths: Mapping[str, str | os.PathLike | None]) -> list[tuple[str, str | os.PathLike]]:
    return [(option, path) for option, path in paths.items() if path is not None and str(path) != ""]


def refuse_overwriting(inputs: Mapping[str, str | os.PathLike | None],
                       outputs: Mapping[str, str | os.PathLike | None], *,
                       folders: Mapping[str, str | os.PathLike | None] | None = None) -> None:
    """Refuse, before anything is read, an output that would overwrite an input or another output.

    Every command that writes calls this first. Two paths are the same file when they resolve to one file
    (through ``./``, ``..`` and symbolic links, :func:`os.path.samefile`) or differ only in case on a disk
    that ignores case (Windows and macOS disks; see :func:`gridmap.io._atomic.ignores_case`).

    Parameters
    ----------
    inputs : mapping option → path
        What the command reads, by the option (or argument) naming it, e.g. ``{"FILE": "city.gpkg"}``;
        None for an option not given.
    outputs : mapping option → path
        Files the command writes or changes (``--out``, ``--registry``): none may be an input, nor each
        other.
    folders : mapping option → path, optional
        Folders the command replaces whole (``report --out``): none may hold an input or be one.

    Raises
    ------
    WriteError
        Naming both paths and the options they came from.

    Examples
    --------
    >>> refuse_overwriting({"FILE": "city.gpkg"}, {"--out": "./x/../city.gpkg"})
    Traceback (most recent call last):
    ...
    gridmap.errors.WriteError: ./x/../city.gpkg: --out ./x/../city.gpkg is the same file as FILE ...
    """
    given_inputs, given_outputs = _given(inputs), _given(outputs)
    for number, (option, out) in enumerate(given_outputs):
        for source_option, source in [*given_inputs, *given_outputs[:number]]:
            reason = same_file(out, source)
            if reason:
                damage = "destroy the input" if (source_option, source) in given_inputs else \
                    f"mix the two outputs into one file and damage {source_option}"
                raise WriteError(f"{option} {out} is {reason} as {source_option} {source}; writing it would "
                                 f"{damage}", path=out, fix=f"write to another file with {option}")
    for option, folder in _given(folders or {}):
        for source_option, source in given_inputs:
            if same_file(folder, source) or _inside(source, folder):
                raise WriteError(f"{option} folder {folder} holds {source_option} {source}; the folder is "
                                 "replaced whole, which would delete the input", path=folder,
                                 fix=f"write to another folder with {option}, or move the input out of it")
