"""The ``gridmap`` command line: a thin layer that parses, calls the public API and writes.

Exit codes, the same for every command: 0 ok, 1 a check found violations, 2 bad input (the
:class:`~gridmap.errors.GridmapError` message on stderr, naming the file and the fix; no traceback unless
``--debug``). A command that fails writes no output file.
"""

from __future__ import annotations

import logging
import re
import sys

import click

from gridmap import __version__
from gridmap._interrupt import describe, handle_signals
from gridmap.cli.options import epilog
from gridmap.errors import GridmapError

__all__ = ["main", "EXIT_OK", "EXIT_VIOLATIONS", "EXIT_BAD_INPUT"]

EXIT_OK, EXIT_VIOLATIONS, EXIT_BAD_INPUT = 0, 1, 2

_EXAMPLES = """
  gridmap demo --out demo           # the sample city: map, cockpit, GeoPackage and code registry in demo/
  gridmap build --communities data/sample/sample_city.gpkg \\
                --units data/sample/sample_city.gpkg --out grids.gpkg
  gridmap check grids.gpkg --communities communities --units units   # exit 1: 5 compounds lie in two grids
  gridmap report demo/gridmap.gpkg --out report      # the monthly folder: cockpit, street maps, workbook
"""
_EXITS = ("0 ok; 1 a check found violations (check, codes validate, staffing, liaison);\n"
          "  2 bad input: the message on stderr names the file and the fix (--debug shows the traceback).\n"
          "  A command that fails writes no output file")


def _usage_error(error: click.UsageError) -> click.exceptions.Exit:
    """Print a usage error (bad option, missing argument) as one line naming the help, not click's three.

    ``gridmap: error: Invalid value for '--x': … Fix: see gridmap build --help.`` on stderr; exit code 2.
    """
    names: list[str] = []
    ctx = error.ctx
    while ctx is not None and ctx.parent is not None:  # the root is "gridmap" however it was started
        names.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    command = " ".join(["gridmap", *names])
    message = " ".join(error.format_message().split()).rstrip(".")
    click.echo(f"gridmap: error: {message}. Fix: see {command} --help.", err=True)
    return click.exceptions.Exit(EXIT_BAD_INPUT)


class _GridmapGroup(click.Group):
    """A click group that turns user errors into exit code 2 and a one-line message.

    Usage errors (an unknown option, a bad value, a missing argument) are one line too, naming the command's
    ``--help`` (:func:`_usage_error`). While a command runs, Ctrl-C and SIGTERM unwind it like an error
    (every temporary file is removed) and end it with one line and exit 130 (SIGINT) or 143 (SIGTERM),
    never a traceback.
    """

    def main(self, *args, **kwargs):
        with handle_signals():
            return super().main(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            raise _usage_error(error) from error

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _usage_error(error) from error
        except GridmapError as error:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(f"gridmap: error: {_as_options(error, _options(self, ctx))}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except KeyboardInterrupt as interrupt:
            message, code = describe(interrupt)
            click.echo(message, err=True)
            ctx.exit(code)


def _options(group: click.Group, ctx: click.Context) -> dict[str, str]:
    """Map the Python names of the options of the command run (``layer``) to their flags (``--layer``)."""
    options: dict[str, str] = {}
    commands: list[click.Command | None] = [group.get_command(ctx, ctx.invoked_subcommand or "")]
    while commands:
        command = commands.pop()
        if isinstance(command, click.Group):
            commands.extend(command.commands.values())
        for param in getattr(command, "params", ()):
            if isinstance(param, click.Option) and param.name and param.opts[0].startswith("--"):
                options.setdefault(param.name, param.opts[0])
                options.setdefault(param.opts[0][2:].replace("-", "_"), param.opts[0])
    return options


def _as_options(error: GridmapError, options: dict[str, str]) -> GridmapError:
    """Name command line options, not the library's arguments: ``pass layer='x'`` becomes ``--layer 'x'``.

    The library's messages name its Python arguments (``layer=``), which mean nothing on the command line.
    Arguments the command has no option for are left as they are.
    """
    def option(match: re.Match) -> str:
        flag = options.get(match.group(1))
        return match.group(0) if flag is None else f"{flag} "

    def rewrite(text: str | None) -> str | None:
        return None if text is None else _ARGUMENT.sub(option, text)

    return type(error)(_ARGUMENT.sub(option, error.problem), path=error.path, record=error.record,
                       fix=rewrite(error.fix))


_ARGUMENT = re.compile(r"(?<![\w.'\"-])([a-z_][a-z0-9_]*)=(?!=) ?")  # layer= but not a==b, x.y=, 'k=v'


@click.group(cls=_GridmapGroup, epilog=epilog(_EXAMPLES, exits=_EXITS),
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gridmap")
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logging.")
@click.option("-q", "--quiet", is_flag=True,
              help="Print nothing but errors (and --json output); no progress bars. Every command takes "
                   "it too.")
@click.pass_context
def main(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """gridmap: community grid management (网格化服务管理) — load, divide, code, analyse and map grids.

    Every command has --help with worked examples and takes -q/--quiet; those whose result is a table take
    --json (the result on stdout). Steps that take a while show a progress bar on stderr (on a terminal), and
    each command ends with one line saying what it wrote where.
    """
    level = logging.DEBUG if debug else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = {"quiet": quiet, "debug": debug}


def _register_commands() -> None:
    # Imported here so that each command lives in its own module and `gridmap --help` stays fast.
    from gridmap.cli.build import build
    from gridmap.cli.cases import cases
    from gridmap.cli.centres import centres
    from gridmap.cli.check import check
    from gridmap.cli.circles import circles
    from gridmap.cli.codes import codes
    from gridmap.cli.demo import demo
    from gridmap.cli.escalation import escalation
    from gridmap.cli.index import index_command
    from gridmap.cli.liaison import liaison
    from gridmap.cli.map import map_command
    from gridmap.cli.microgrids import microgrids
    from gridmap.cli.party import party
    from gridmap.cli.patrols import patrols
    from gridmap.cli.report import report
    from gridmap.cli.staffing import staffing
    from gridmap.cli.stats import stats
    from gridmap.cli.zones import zones

    for command in (demo, build, microgrids, check, codes, cases, stats, map_command, report):
        main.add_command(command)
    for command in (staffing, liaison, party, centres, zones, circles, escalation, index_command, patrols):
        main.add_command(command)


_register_commands()
