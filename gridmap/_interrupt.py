"""Ctrl-C and SIGTERM: a short message and exit 130/143, never a traceback or a half-written file.

The command line installs two kinds of handler. While it starts (imports take seconds) nothing has been
written yet, so a signal ends the process at once with a one-line message (:func:`install_at_startup`).
Once a command runs, a signal raises :class:`Interrupted` (a ``KeyboardInterrupt``) so that every writer's
cleanup runs, then the command line prints the message and exits 128 + the signal's number
(:func:`handle_signals`). :func:`deferred` holds signals back during the few steps that must not be cut in
two (removing temporary files, swapping a folder).

This module imports only the standard library: ``gridmap/__init__.py`` imports it before anything heavy,
and when the process is the ``gridmap`` command (:func:`started_as_command`) it installs the start-up
handlers then.

Examples
--------
>>> Interrupted(signal.SIGTERM).exit_code
143
>>> with deferred():
...     pass
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["Interrupted", "install_at_startup", "handle_signals", "deferred", "describe",
           "started_as_command", "run_script", "EXIT_CODES"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Exit code of a command stopped by each signal (the shell's 128 + signal number).
EXIT_CODES: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 143}
_NAMES: dict[int, str] = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived while a command ran; unwinds like Ctrl-C so every cleanup runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = EXIT_CODES.get(signum, 128 + signum)


def describe(error: KeyboardInterrupt) -> tuple[str, int]:
    """Return the line to print and the exit code for an interrupt (plain Ctrl-C counts as SIGINT)."""
    signum = getattr(error, "signum", signal.SIGINT)
    name = _NAMES.get(signum, f"signal {signum}")
    message = f"gridmap: stopped by {name}; no half-written file was left behind"
    return message, EXIT_CODES.get(signum, 128 + signum)


def _quit_now(signum: int, frame) -> None:
    """Start-up: nothing is written yet, so leave at once without a traceback."""
    os.write(2, (describe(Interrupted(signum))[0] + "\n").encode())
    os._exit(EXIT_CODES.get(signum, 128 + signum))


def _unwind(signum: int, frame) -> None:
    raise Interrupted(signum)


def install_at_startup() -> None:
    """Make SIGINT and SIGTERM end the process quietly while the command line imports its modules."""
    for signum in _SIGNALS:
        signal.signal(signum, _quit_now)


@contextmanager
def handle_signals() -> Iterator[None]:
    """While the body runs, SIGINT and SIGTERM raise :class:`Interrupted`; the old handlers come back after.

    Does nothing outside the main thread (Python delivers signals to the main thread only).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _unwind) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the body runs; one that arrived meanwhile is delivered after.

    Used around steps that must finish once begun: removing temporary files, swapping a folder in.
    """
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)


def run_script(main: Callable[[], int], *, prog: str) -> int:
    """Run a script's ``main`` with Ctrl-C and SIGTERM handled: its exit code, or one line and 130/143.

    Examples
    --------
    >>> run_script(lambda: 0, prog="batch_maps")
    0
    """
    with handle_signals():
        try:
            return main()
        except KeyboardInterrupt as interrupt:
            message, code = describe(interrupt)
            print(message.replace("gridmap:", f"{prog}:", 1), file=sys.stderr)
            return code


def started_as_command() -> bool:
    """Whether this process is the ``gridmap`` command (``python -m gridmap`` or the console script)."""
    arguments = list(getattr(sys, "orig_argv", []))
    if "-m" in arguments:
        after = arguments[arguments.index("-m") + 1:]
        return after[:1] == ["gridmap"]
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    return program.split(".")[0] in ("gridmap", "gridmap-script")


if started_as_command():  # imported first by gridmap/__init__.py, before anything heavy
    install_at_startup()
