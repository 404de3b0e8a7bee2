"""Options and helpers shared by gridmap's subcommands (after rasterio's ``rio/options.py``).

Options are click decorators (``coords_option``, ``json_option``, ``quiet_option``, ``households_option``) and
:func:`epilog` writes the end of every ``--help`` (worked examples, exit codes); the helpers read
input layers by file and layer name (:func:`read_inputs`), write an output file whole or not at all
(:func:`staged_file`) and show the library's :class:`~gridmap.errors.GridmapWarning` as one line each
(:func:`echo_warnings`).

Examples
--------
>>> parse_households(None, None, "300-500")
(300, 500)
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import click
import geopandas as gpd
import pandas as pd

from gridmap.codes.registry import Registry
from gridmap.division import GridBuild
from gridmap.errors import GridmapError, GridmapWarning, ReadError
from gridmap.io import list_layers, read_layer
from gridmap.io._atomic import atomic_path
from gridmap.io.city import load_city
from gridmap.io.read import layers_listed_once

__all__ = [
    "gpkg_path",
    "read_city",
    "read_named_layer",
    "register_codes",
    "COORDS",
    "coords_option",
    "json_option",
    "tiles_options",
    "tile_source_of",
    "tiles_input",
    "quiet_option",
    "is_quiet",
    "epilog",
    "households_option",
    "FiniteFloat",
    "parse_households",
    "Input",
    "read_inputs",
    "join_inputs",
    "staged_file",
    "echo_warnings",
]

#: Coordinate systems ``--coords`` accepts (see :func:`gridmap.read_layer`).
COORDS = ("wgs84", "cgcs2000", "gcj02", "bd09")
_SHEETS = (".xlsx", ".xlsm", ".xls")  # read_layer reads the first sheet of a workbook by default

coords_option = click.option(
    "--coords", type=click.Choice(COORDS), default=None,
    help="Coordinate system the inputs are really in: gcj02 (Amap, Tencent) and bd09 (Baidu) are shifted "
         "to WGS84 on load; wgs84/cgcs2000 name the CRS of files that declare none [default: their own].")

_TILES_HELP = ("Base map tiles: a folder of {z}/{x}/{y}.png tiles or an .mbtiles file (the tiles over the "
               "map go into the page, up to 20 MB; finer zooms are left out with a warning), a URL template "
               "http://host/{z}/{x}/{y}.png (an intranet tile server, loaded from there), or gaode, osm, "
               "tianditu. Your own tiles need --tiles-crs.")


def tiles_options(command):
    """Add ``--tiles SOURCE`` and ``--tiles-crs {wgs84,gcj02}`` (read with :func:`tile_source_of`)."""
    command = click.option("--tiles-crs", type=click.Choice(["wgs84", "gcj02"]), default=None,
                           help="Coordinates the --tiles are drawn in: gcj02 (Gaode/Amap, Tencent and tiles "
                                "cut from them; the map shifts your data to match) or wgs84 (OSM, Tianditu, "
                                "CGCS2000, most GIS exports).")(command)
    return click.option("--tiles", default=None, metavar="SOURCE", help=_TILES_HELP)(command)


def tile_source_of(tiles: str | None, tiles_crs: str | None, *, basemap: str = "none"):
    """Return the checked tile source ``--tiles``/``--tiles-crs`` name, or None (before reading anything).

    Raises
    ------
    click.UsageError
        ``--tiles-crs`` without ``--tiles``, your own ``--tiles`` without ``--tiles-crs``, or ``--tiles``
        with ``--basemap``.
    GridmapError
        A source that cannot be used (see :func:`gridmap.maps.tile_source`).
    """
    if tiles is None:
        if tiles_crs is not None:
            raise click.UsageError("--tiles-crs says what the --tiles are drawn in: give --tiles too")
        return None
    from gridmap.maps.tiles import BUILTIN_TILES, tile_source

    if basemap != "none":
        raise click.UsageError("give --basemap or --tiles, not both (--tiles also takes gaode, osm and "
                               "tianditu)")
    if tiles_crs is None and tiles.lower() not in BUILTIN_TILES:
        raise click.UsageError(f"--tiles {tiles} needs --tiles-crs: gcj02 (Gaode/Amap, Tencent and tiles cut "
                               "from them) or wgs84 (OSM, Tianditu, CGCS2000, most GIS exports)")
    return tile_source(tiles, crs=tiles_crs)


def tiles_input(source) -> dict[str, str]:
    """Return the ``--tiles`` folder or file as an input (for ``refuse_overwriting``)."""
    return {"--tiles": source.location} if source is not None and source.kind in ("folder", "mbtiles") else {}


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON on stdout (also with --quiet).")


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.ensure_object(dict)["quiet"] = True
    return value


quiet_option = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet,
                            help="Print nothing but errors (and --json output); no progress bars. "
                                 "The same as gridmap -q.")


def is_quiet(ctx: click.Context) -> bool:
    """Whether ``gridmap -q`` or the command's own ``--quiet`` was given."""
    return bool((ctx.obj or {}).get("quiet"))


def epilog(examples: str, *, exits: str = "0 written, 2 bad input") -> str:
    r"""Return the end of a command's ``--help``: worked examples run in the project folder, exit codes.

    ``examples`` holds lines ``gridmap ...`` (a trailing backslash continues one), ``# comments`` and indented
    output; a command ending in ``# exit N`` exits with N, and one ending in ``# your files`` names files
    a new user does not have (tests/test_cli_examples.py runs every other one as written).

    Examples
    --------
    >>> text = epilog("  gridmap codes parse 990102001001001", exits="0 valid, 2 malformed")
    >>> text.splitlines()[3:]
    ['  gridmap codes parse 990102001001001', '\x08', 'Exit codes: 0 valid, 2 malformed.']
    """
    paragraphs = examples.strip("\n").replace("\n\n", "\n\n\b\n")  # \b: click keeps the lines as written
    return (f"\n\b\nExamples (in the project folder; demo/ is what `gridmap demo --out demo` writes):\n"
            f"{paragraphs}\n\b\nExit codes: {exits}.")


def parse_households(ctx: click.Context | None, param: click.Parameter | None, value: str) -> tuple[int, int]:
    """Parse ``LOW-HIGH`` (e.g. ``300-500``) into two whole numbers; the callback of ``--households``."""
    parts = str(value).replace("–", "-").split("-")
    try:
        low, high = (int(part) for part in parts)
    except ValueError:
        raise click.BadParameter(f"expected LOW-HIGH such as 300-500, got {value!r}", ctx=ctx,
                                 param=param) from None
    if not 0 <= low <= high:
        raise click.BadParameter(f"expected 0 <= LOW <= HIGH, got {value!r}", ctx=ctx, param=param)
    return low, high


class FiniteFloat(click.ParamType):
    """A click type for a finite number within ``[min, max]``: ``nan``, ``inf`` and ``1e400`` are refused.

    Parameters
    ----------
    min, max : float, optional
        The smallest and largest value allowed (inclusive).
    unit : str, default ""
        What the number counts (``days``), for the message.
    words : sequence of str, default ()
        Words allowed besides numbers (``same_day`` for ``--on-time``); they are returned as given.

    Examples
    --------
    >>> FiniteFloat(min=0).convert("15", None, None)
    15.0
    >>> FiniteFloat(min=0, words=("same_day",)).convert("same_day", None, None)
    'same_day'
    """

    name = "number"

    def __init__(self, *, min: float | None = None, max: float | None = None, unit: str = "",
                 words: Sequence[str] = ()):
        self.min, self.max, self.unit, self.words = min, max, unit, tuple(words)

    def _expected(self) -> str:
        bounds = (f"from {self.min:g} to {self.max:g}" if self.min is not None and self.max is not None
                  else f"{self.min:g} or more" if self.min is not None
                  else f"{self.max:g} or less" if self.max is not None else "finite")
        number = f"a number {bounds}{' ' + self.unit if self.unit else ''}"
        return " or ".join([*(repr(word) for word in self.words), number])

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float | str:
        """Return ``value`` as a float (or one of ``words``); fail with click's usage error otherwise."""
        if isinstance(value, str) and value.strip() in self.words:
            return value.strip()
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"expected {self._expected()}, got {value!r}", param, ctx)
        if not math.isfinite(number) or (self.min is not None and number < self.min) or (
                self.max is not None and number > self.max):
            self.fail(f"expected {self._expected()}, got {value!r}", param, ctx)
        return number


households_option = click.option(
    "--households", type=str, default="300-500", show_default=True, callback=parse_households,
    metavar="LOW-HIGH", help="Range of households of a city grid (城市网格).")


class Input(NamedTuple):
    """A layer read for a command: the frame, its file and its layer (None: the file's only or first one)."""

    frame: gpd.GeoDataFrame
    path: Path
    layer: str | None

    @property
    def label(self) -> str:
        """How messages name it: the file, and the layer when the file has several."""
        return str(self.path) if self.layer is None else f"{self.path} (layer {self.layer})"


def _layers_to_read(path: Path, layers: Sequence[str], defaults: Sequence[str], option: str,
                    available: list[str]) -> list[str | None]:
    """Choose the layers to read: those asked for, else the only one, else the default names present."""
    if layers:
        return list(layers)
    if len(available) == 1 or path.suffix.lower() in _SHEETS:
        return [None]
    chosen: list[str | None] = [name for name in defaults if name in available]
    if not chosen:
        raise ReadError(f"file holds {len(available)} layers: {', '.join(available)}", path=path,
                        fix=f"choose one with {option} NAME, e.g. {option} {available[0]}")
    return chosen


def read_inputs(path: str | os.PathLike, layers: Sequence[str] = (), *, defaults: Sequence[str] = (),
                option: str = "--layer", coords: str | None = None,
                aliases: Mapping[str, str | None] | None = None) -> list[Input]:
    """Read the layers of ``path`` a command works on.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`gridmap.read_layer` reads.
    layers : sequence of str
        Layer names the user gave; when empty, the only layer of the file, or else every name of
        ``defaults`` the file holds (the sample city keeps units in ``units`` and ``unit_points``).
    defaults : sequence of str
        Layer names to look for in a file with several layers.
    option : str
        The command line option that names layers, for the fix in the error message.
    coords, aliases : optional
        Passed to :func:`gridmap.read_layer` (``aliases``: the header aliases of one kind of file, e.g.
        :data:`gridmap.schema.CENTRE_ALIASES`).

    Returns
    -------
    list of Input
        One per layer read.

    Raises
    ------
    ReadError
        The file cannot be read, or it holds several layers and none was chosen.
    """
    path = Path(path)
    with layers_listed_once():  # each read_layer would list the file's layers again
        available = list_layers(path)
        chosen = _layers_to_read(path, layers, defaults, option, available)
        return [Input(read_layer(path, name, coords=coords, aliases=aliases), path,
                      None if len(available) == 1 else name)
                for name in chosen]


def join_inputs(inputs: Sequence[Input]) -> gpd.GeoDataFrame:
    """Return the layers read as one frame, in the first one's CRS (rows in the order read)."""
    crs = inputs[0].frame.crs
    frame = pd.concat([source.frame.to_crs(crs) for source in inputs], ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry=inputs[0].frame.geometry.name, crs=crs)


@contextmanager
def staged_file(out: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary name beside ``out`` (same extension); on success move it over ``out``.

    Commands that write several layers into one file write them all to the temporary name, so a failure or
    an interruption half-way leaves ``out`` exactly as it was (or absent) and no temporary file behind
    (:func:`gridmap.io._atomic.atomic_path`).

    Raises
    ------
    WriteError
        ``out`` is a folder or its folder does not exist (checked before the body runs), or it cannot be
        replaced (the message says why).
    """
    out = Path(out)
    temporary = None
    try:
        with atomic_path(out) as temporary:
            yield temporary
    except GridmapError as error:
        if temporary is None or error.path != str(temporary):
            raise
        # name the file the user asked for, not the temporary one
        raise type(error)(error.problem, path=out, record=error.record, fix=error.fix) from error


@contextmanager
def echo_warnings(*, quiet: bool) -> Iterator[None]:
    """Show each GridmapWarning raised in the body as a ``gridmap: warning:`` line on stderr (none if quiet).

    Python's default display (file, line and source of the warning call) means nothing to a command line
    user; the findings behind each warning are in the command's report.
    """
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridmapWarning)
            yield
    finally:
        for warning in caught:
            if not issubclass(warning.category, GridmapWarning):  # not ours: shown as Python shows it
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
            elif not quiet:
                click.echo(f"gridmap: warning: {warning.message}", err=True)


def register_codes(result: GridBuild, path: str | os.PathLike) -> GridBuild:
    """Give the grids their permanent codes from the registry at ``path``, and the units their grid's code."""
    with Registry(path) as registry:
        grids = registry.assign(result.grids)
    permanent = dict(zip(grids["temp_code"], grids["code"], strict=True))
    units = result.units.assign(grid_code=result.units["grid_code"].map(permanent))
    return GridBuild(grids=grids, units=units, report=result.report)


def read_city(path: str | os.PathLike, *, layer: str | None = None,
              cases_path: str | os.PathLike | None = None, coords: str | None = None,
              staff_path: str | os.PathLike | None = None) -> dict:
    """Read FILE as :func:`gridmap.io.city.load_city` does; cases and staff from their own files when given.

    Returns the city's layers by name (``grids`` and what else FILE holds).
    """
    from gridmap.cases.read import read_cases
    from gridmap.people.staffing import read_staff

    skip = [name for name, own in (("cases", cases_path), ("staff", staff_path)) if own]
    city = load_city(path, layer=layer, skip=skip)
    if cases_path:
        city = dataclasses.replace(city, cases=read_cases(cases_path, coords=coords))
    if staff_path:
        city = dataclasses.replace(city, staff=read_staff(staff_path))
    return city.layers()


def read_named_layer(path: str | os.PathLike, layer: str | None, default: str) -> gpd.GeoDataFrame:
    """Read ``layer`` of ``path``; without one, the layer called ``default`` when the file has several."""
    with layers_listed_once():
        if layer is None:
            layers = list_layers(path)
            if len(layers) > 1 and default in layers:
                layer = default
        return read_layer(path, layer)


def gpkg_path(ctx: click.Context, param: click.Parameter, value: str) -> Path:
    """Click callback for an output that must be a GeoPackage: the path, or a usage error naming it."""
    if Path(value).suffix.lower() != ".gpkg":
        raise click.BadParameter(f"{value!r} is not a GeoPackage name (it must end in .gpkg)", ctx=ctx,
                                 param=param)
    return Path(value)
