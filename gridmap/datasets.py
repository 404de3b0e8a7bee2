"""The bundled sample city 示例市 — FICTIONAL — loaded in one call.

示例市 (code 9901; province prefix 99 does not exist) has 3 districts, 8 streets and 40 communities that
tile it exactly, 400 residential compounds, 200 natural villages, 60 dedicated sites, a 1+1+1+N staff roster
and 20,000 cases of 2025. ``scripts/make_sample_data.py`` writes it into the repository's ``data/sample/``
folder, whose README lists the columns and the deliberate flaws (missing and wrong community codes, staffing
gaps). The folder is found from a checkout or an editable install (``pip install -e .``).

Examples
--------
>>> city = load_sample()
>>> city.districts[["code", "name", "kind"]]
     code name   kind
0  990102  东城区  urban
1  990103  西城区  urban
2  990121  示例县  rural
>>> city.units.groupby("kind").size()["compound"], len(city.cases), city.communities.crs.to_epsg()
(np.int64(400), 20000, 4490)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from gridmap.errors import ReadError
from gridmap.io.city import City

__all__ = ["load_sample", "sample_path"]

log = logging.getLogger(__name__)

#: Where ``scripts/make_sample_data.py`` writes the sample: ``<repository>/data/sample``.
_SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
_GPKG, _STAFF, _CASES = "sample_city.gpkg", "staff.csv", "cases.parquet"
_FIX = "run `python scripts/make_sample_data.py` in the gridmap repository (the sample ships with the " \
       "repository, not with a wheel; install gridmap with `pip install -e .`)"


def sample_path() -> Path:
    """Return the folder holding the sample city, checking that its files are there.

    Returns
    -------
    pathlib.Path
        ``<repository>/data/sample``.

    Raises
    ------
    gridmap.ReadError
        When the folder or one of its files is missing (the error says how to generate them).

    Examples
    --------
    >>> sorted(p.name for p in sample_path().iterdir() if p.suffix != ".md")
    ['buildings.gpkg', 'case_feedback.csv', 'case_steps.csv', 'cases.parquet', 'centres.gpkg',
     'footpaths.gpkg', 'liaison.csv', 'party.csv', 'patrol_checkins.csv', 'patrols.parquet', 'roads.gpkg',
     'roster.csv', 'sample_city.gpkg', 'sites.gpkg', 'staff.csv']
    """
    return _checked(_SAMPLE_DIR)


def load_sample(*, path: str | os.PathLike | None = None) -> City:
    """Load every layer of the fictional sample city 示例市.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A folder written by ``scripts/make_sample_data.py --out``; by default :func:`sample_path`.

    Returns
    -------
    gridmap.io.city.City
        Districts, streets, communities, units (polygons and points together), staff and cases, all in
        EPSG:4490 except the staff table; codes are str. No grids: :func:`gridmap.build_grids` makes them.

    Raises
    ------
    gridmap.ReadError
        When a file is missing or unreadable.

    Examples
    --------
    >>> city = load_sample()
    >>> city.summary()
             layer   rows        crs
    0    districts      3  EPSG:4490
    1      streets      8  EPSG:4490
    2  communities     40  EPSG:4490
    3        units    660  EPSG:4490
    4        staff   2546          -
    5        cases  20000  EPSG:4490
    >>> city.communities["code"].str.len().unique().tolist()
    [12]
    """
    folder = _checked(Path(path)) if path is not None else sample_path()
    gpkg = folder / _GPKG
    admin = {layer: _read_layer(gpkg, layer) for layer in ("districts", "streets", "communities")}
    units = pd.concat([_read_layer(gpkg, "units"), _read_layer(gpkg, "unit_points")], ignore_index=True)
    units = units.sort_values("unit_id", ignore_index=True)
    staff = _read(folder / _STAFF, pd.read_csv, dtype=str, keep_default_na=False, encoding="utf-8")
    cases = _read(folder / _CASES, gpd.read_parquet)
    log.debug("loaded the sample city from %s", folder)
    return City(**admin, units=units, staff=staff, cases=cases, name="示例市 (fictional)", path=folder)


def _checked(folder: Path) -> Path:
    """``folder`` when it holds every file of the sample; a ReadError naming the first missing one."""
    if not folder.is_dir():
        raise ReadError("the sample city folder does not exist", path=folder, fix=_FIX)
    for name in (_GPKG, _STAFF, _CASES):
        if not (folder / name).is_file():
            raise ReadError("the sample city is incomplete: this file is missing", path=folder / name,
                            fix=_FIX)
    return folder


def _read_layer(gpkg: Path, layer: str) -> gpd.GeoDataFrame:
    return _read(gpkg, pyogrio.read_dataframe, layer=layer, record=f"layer {layer}")


def _read(file: Path, reader, *, record: str | None = None, **options):
    """``reader(file, **options)`` with every failure turned into a ReadError naming the file."""
    try:
        return reader(file, **options)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise ReadError(f"cannot read the sample city ({exc})", path=file, record=record, fix=_FIX) from exc
