r"""Static maps for reports: the grid choropleth as PNG, PDF or SVG, drawn with matplotlib in Chinese.

:func:`static_map` colours the grids by the same measures and classes as the one-screen map
(:data:`gridmap.maps.MEASURES`, :func:`gridmap.maps.classify`), draws community boundaries when given,
and adds a title and a legend with units. Chinese text needs a font with Chinese characters:
:func:`cjk_font` finds one among the installed fonts (Noto Sans CJK SC first; ``fonts-noto-cjk`` on
Debian/Ubuntu) and raises a clear error when there is none, rather than drawing empty boxes. The
drawing is in the grids' metric CRS, so shapes are true to scale; a scale bar is added.

Examples
--------
>>> import geopandas as gpd, pathlib, tempfile
>>> from shapely.geometry import box
>>> grids = gpd.GeoDataFrame({"code": ["450102001003001", "450102001003002"], "population": [1250, 600]},
...                          geometry=[box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.32, 22.81)],
...                          crs="EPSG:4490")
>>> out = static_map(grids, pathlib.Path(tempfile.mkdtemp()) / "grids.png", title="人口密度")
>>> out.read_bytes()[:4] == b"\x89PNG"
True
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np

from gridmap.crs import metric_crs
from gridmap.errors import GridmapError, WriteError
from gridmap.io._atomic import atomic_path, write_error
from gridmap.io.city import City, city_layers
from gridmap.io.validation import require_polygons
from gridmap.maps.base import LANGS, _check_choice
from gridmap.maps.choropleth import MEASURES, SCHEMES, measure_spec
from gridmap.maps.figures import PeriodLike, grid_figures
from gridmap.schema import model_columns

__all__ = ["static_map", "cjk_font", "CJK_FAMILIES", "FORMATS"]

logger = logging.getLogger(__name__)

#: Font families tried for Chinese text, best first.
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Serif CJK SC", "Source Han Serif SC",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
                "Heiti SC", "AR PL UMing CN")
#: File formats static_map writes.
FORMATS = (".png", ".pdf", ".svg")
_PROBE = "网格人口密度户数案件社区街道图例千"


def cjk_font(text: str = _PROBE) -> str:
    """Return the path of an installed font that has every character of ``text`` (Chinese by default).

    A font counts only when its character map gives each character a glyph of its own: matplotlib's
    "Last Resort" fallback maps every character to one placeholder box and is never chosen. When no listed
    font has the characters (a stale font cache: fonts installed after matplotlib first ran), matplotlib's
    font list is rebuilt once and searched again.

    Returns
    -------
    matplotlib.font_manager.FontPath or str
        Usable as ``FontProperties(fname=...)``.

    Raises
    ------
    GridmapError
        When no installed font has the characters.

    Examples
    --------
    >>> from matplotlib import font_manager
    >>> font = font_manager.get_font(cjk_font())
    >>> all(ord(char) in font.get_charmap() for char in "网格人口")
    True
    """
    from matplotlib import font_manager

    wanted = {ord(char) for char in text if not char.isspace()}
    found = _font_with(font_manager, font_manager.fontManager.ttflist, wanted)
    if found is None:  # a stale cache lists fonts since removed and misses those installed since: rebuild it
        # rewrites the cache file too; private, so not in matplotlib's type hints
        rebuilt = font_manager._load_fontmanager(try_read_cache=False)  # type: ignore[attr-defined]
        found = _font_with(font_manager, rebuilt.ttflist, wanted)
    if found is not None:
        return found
    raise GridmapError("no installed font has Chinese characters, so a static map would show empty boxes",
                       fix="install Noto CJK fonts (Debian/Ubuntu: apt-get install fonts-noto-cjk; then "
                           "delete matplotlib's font cache ~/.cache/matplotlib), or pass lang='en'")


def _font_with(font_manager, fonts: list, wanted: set[int]) -> str | None:
    """Return the first of ``fonts`` (preferred families first) that draws every character of ``wanted``."""
    preferred = [entry.fname for family in CJK_FAMILIES for entry in fonts if entry.name == family]
    candidates = preferred + [entry.fname for entry in fonts if "Last Resort" not in entry.name]
    for path in candidates:
        try:
            charmap = font_manager.get_font(path).get_charmap()
        except (OSError, RuntimeError):  # a broken or vanished font file: try the next
            continue
        glyphs = {charmap.get(code) for code in wanted}
        if None not in glyphs and len(glyphs) == len(wanted):  # one placeholder glyph for all: not a font
            return path
    return None


def static_map(grids: gpd.GeoDataFrame | City, path: str | os.PathLike, *,
               measure: str = "population_density", lang: str = "zh", scheme: str = "quantiles", k: int = 5,
               title: str | None = None,
               communities: gpd.GeoDataFrame | None = None, cases: gpd.GeoDataFrame | None = None,
               period: PeriodLike = None, public: bool = False, dpi: int = 200) -> Path:
    """Draw the grids coloured by ``measure`` into a PNG, PDF or SVG file (written atomically).

    Parameters
    ----------
    grids : geopandas.GeoDataFrame or gridmap.io.city.City
        As for :func:`gridmap.maps.one_screen` (precomputed measure columns are used as given), or a city
        whose communities and cases are used unless given below.
    path : str or os.PathLike
        ``.png``, ``.pdf`` or ``.svg``.
    measure : {"population_density", "households", "cases_per_1000", "cases_per_km2"}
    lang : {"zh", "en"}, default "zh"
    scheme : {"quantiles", "natural_breaks"}, default "quantiles"
    k : int, default 5
    title : str, optional
        Default: the measure's name and unit.
    communities : geopandas.GeoDataFrame, optional
        Boundaries drawn over the grids.
    cases : geopandas.GeoDataFrame, optional
        Needed for the case measures unless the grids carry them.
    period : optional
        Cases of this period (see :mod:`gridmap.maps.figures`).
    public : bool, default False
        Grids with fewer than 5 cases are drawn grey, without their figure.
    dpi : int, default 200
        Resolution of a PNG.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    GridmapError
        Unknown option, a measure without data, or no Chinese font for ``lang="zh"``.
    WriteError
        The file cannot be written.
    """
    layers = city_layers(grids, communities=communities, cases=cases)
    grids, communities, cases = layers["grids"], layers.get("communities"), layers.get("cases")
    path = Path(path)
    _check_choice("measure", measure, tuple(MEASURES))
    _check_choice("lang", lang, LANGS)
    _check_choice("scheme", scheme, SCHEMES)
    if path.suffix.lower() not in FORMATS:
        raise WriteError(f"cannot draw a static map as {path.suffix or '(no extension)'}", path=path,
                         fix="name a .png, .pdf or .svg file")
    if not path.parent.is_dir():
        raise WriteError("the folder does not exist", path=path, fix="create the folder first")
    require_polygons(grids, "grids")
    grids, communities = model_columns(grids, "grids")[0], model_columns(communities, "admin")[0]
    values, suppressed = _values(grids, measure, cases=cases, period=period, public=public)
    font = cjk_font() if lang == "zh" else None
    figure = _draw(grids, values, suppressed, measure=measure, lang=lang, scheme=scheme, k=k,
                   title=title, communities=communities, font=font)
    _save(figure, path, dpi=dpi)
    return path


def _values(grids, measure: str, *, cases, period, public: bool) -> tuple[np.ndarray, np.ndarray]:
    if measure == "households" and "households" in grids.columns:
        import pandas as pd

        return pd.to_numeric(grids["households"], errors="coerce").to_numpy(float), np.zeros(len(grids), bool)
    figures = grid_figures(grids, cases, period=period, public=public)
    if measure not in figures.columns:
        raise GridmapError(f"measure={measure!r} cannot be drawn: the grids have no figures for it",
                           fix="pass cases= for case measures, or a population/households column")
    return figures[measure].to_numpy(dtype=float), figures["suppressed"].to_numpy(dtype=bool)


def _draw(grids, values, suppressed, *, measure, lang, scheme, k, title, communities, font):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import font_manager
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    props = font_manager.FontProperties(fname=font) if font is not None else font_manager.FontProperties()
    spec = measure_spec(measure, values, field=0, scheme=scheme, k=k, lang=lang, suppressed=suppressed)
    colors = np.array([_class_color(spec, c) for c in spec["classes"]], dtype=object)
    crs = metric_crs(grids)
    figure = Figure(figsize=(10, 8), layout="constrained")
    axes = figure.add_subplot()
    grids.to_crs(crs).plot(ax=axes, color=list(colors), edgecolor="#e66101", linewidth=0.3)
    if communities is not None:
        communities.to_crs(crs).boundary.plot(ax=axes, color="#2166ac", linewidth=1.0)
    axes.set_axis_off()
    axes.set_aspect("equal")
    handles = [Patch(facecolor=_class_color(spec, item["c"]), edgecolor="#888", label=item["label"])
               for item in spec["items"]]
    legend = axes.legend(handles=handles, title=f"{spec['name']} ({spec['unit']})", prop=props,
                         title_fontproperties=props, loc="lower left", frameon=True, fontsize=9)
    heading = axes.set_title(title or f"{spec['name']} ({spec['unit']})", fontproperties=props, fontsize=15)
    _scale_bar(axes, props, lang)
    for text in (heading, legend.get_title(), *legend.get_texts(), *axes.texts):
        _literal(text)
    return figure


def _literal(text) -> None:
    """Draw a matplotlib Text as typed: ``$x^2$`` stays dollars and caret (no mathtext, no LaTeX)."""
    text.set_parse_math(False)
    text.set_usetex(False)


def _class_color(spec: dict, c) -> str:
    if isinstance(c, int) or (isinstance(c, str) and c.isdigit()):
        return spec["colors"][int(c)]
    return "#bdbdbd" if c == "s" else "#ffffff"


def _scale_bar(axes, props, lang: str) -> None:
    """Draw a bar of a round length (metres) in the lower right corner."""
    x0, x1 = axes.get_xlim()
    y0, y1 = axes.get_ylim()
    target = (x1 - x0) / 5
    length = 10 ** np.floor(np.log10(target))
    length *= 5 if target / length >= 5 else 2 if target / length >= 2 else 1
    x, y = x1 - (x1 - x0) * 0.04 - length, y0 + (y1 - y0) * 0.04
    axes.plot([x, x + length], [y, y], color="black", linewidth=3, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    axes.text(x + length / 2, y + (y1 - y0) * 0.012, label, ha="center", va="bottom", fontproperties=props,
              fontsize=9)


def _save(figure, path: Path, *, dpi: int) -> None:
    with atomic_path(path, what="the static map") as temporary:
        try:
            figure.savefig(temporary, dpi=dpi, metadata=None if path.suffix.lower() == ".svg" else {})
        except OSError as exc:
            raise write_error(exc, path, what="the static map") from exc
    logger.info("wrote %s", path)
