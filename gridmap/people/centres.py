r"""Service centres (党群服务中心) against Nanning's standards: floor area, and the households they reach.

Seed 001 (Nanning 2022) fixes three floor-area standards: every urban community's service space at least
500 m² (全市260个城市社区服务用房面积均已达到500平方米), every compound's party-and-people service centre at
least 300 m² (居民小区党群服务中心按照不低于300平方米配备), and new compounds at least 30 m² per 100
households (新建住宅小区…每百户居民不低于30平方米); it builds "15-minute" circles around the centres
(15分钟…圈). :func:`check_centres` reports each community and compound below its standard (the area needed
against the area present) and the households farther than a distance from every centre.

Why 1,000 m by default: 15 minutes on foot at 4 km/h, an elderly resident's pace, is 1,000 m, the upper end
of the 800–1,000 m walking distance the national standard for residential areas gives the 15-minute life
circle (GB 50180-2018). The distance is measured in a straight line, which is never longer than the walk,
so a household beyond 1,000 m in a straight line is beyond a 15-minute walk at that pace; one within may
still be farther on foot. The walking areas the field-work stage computes can be passed as ``reach`` to
count households outside them instead.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> grids = gpd.GeoDataFrame({"code": ["450102001003001", "450102001003002"],
...                           "community_code": ["450102001003"] * 2},
...                          geometry=[box(108.30, 22.80, 108.31, 22.81), box(108.31, 22.80, 108.32, 22.81)],
...                          crs="EPSG:4490")
>>> centres = gpd.GeoDataFrame({"name": ["兴宁社区党群服务中心"], "kind": ["社区服务用房"], "面积": [450.0]},
...                            geometry=[Point(108.302, 22.805)], crs="EPSG:4490")
>>> units = gpd.GeoDataFrame({"unit_id": ["C1", "C2"], "kind": ["compound"] * 2, "households": [250, 400]},
...                          geometry=[Point(108.303, 22.805), Point(108.318, 22.805)], crs="EPSG:4490")
>>> result = check_centres(centres, grids, units=units)
>>> result.communities[["community_code", "needed_m2", "present_m2", "short_m2"]]
  community_code  needed_m2  present_m2  short_m2
0   450102001003      500.0       450.0      50.0
>>> result.report.to_frame()[["check", "record", "households"]]
                      check        record  households
0  community_below_standard  450102001003         NaN
1           far_from_centre            C2       400.0
>>> result.grids[["code", "households", "households_far", "label"]]
              code  households  households_far                              label
0  450102001003001         250               0  服务中心 1 处；住户均在 1,000 米内
1  450102001003002         400             400    1,000 米外 400 户（100.0%）
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.cases.assign import assign
from gridmap.crs import metric_crs
from gridmap.errors import CodeError, GeometryError, GridmapError, SchemaError
from gridmap.findings import Report
from gridmap.io import read_layer, record_labels
from gridmap.io._columns import rename_columns
from gridmap.io.admin import community_kind
from gridmap.people._located import grid_codes
from gridmap.people._values import (
    code_column,
    codes_as_text,
    flags,
    grid_frame,
    numbers,
    or_none,
    report_unknown_kinds,
    source_of,
)
from gridmap.schema import (
    BUILDING_KIND,
    CENTRE_ALIASES,
    CENTRE_KIND_NAMES_ZH,
    CENTRE_KIND_WORDS,
    CENTRE_KINDS,
    CENTRE_STANDARDS,
    FLOOR_AREA_MAX_M2,
    NEW_COMPOUND_HEADERS,
    centre_kind,
    header_key,
    model_columns,
    unit_kind,
)

__all__ = ["CentreCheck", "read_centres", "clean_centres", "check_centres", "centre_standards"]

_KIND_FIX = f"write one of {', '.join(CENTRE_KIND_NAMES_ZH.values())} (or {', '.join(CENTRE_KINDS)})"


@dataclass(frozen=True)
class CentreCheck:
    """The result of :func:`check_centres`.

    Attributes
    ----------
    grids : geopandas.GeoDataFrame
        One row per grid, in the grids' order and CRS, ready to be a map layer: ``code``,
        ``community_code``, ``centres`` (located in it), ``floor_area_m2`` (theirs), ``households``,
        ``households_far`` (farther than the distance, or outside ``reach``), ``far_share``, ``label``
        (Chinese), polygon. Household columns are NA without units.
    communities : pandas.DataFrame
        One row per community the standard applies to: ``community_code``, ``kind``, ``centres``,
        ``needed_m2``, ``present_m2``, ``short_m2`` (0 when met), ``below``.
    compounds : pandas.DataFrame
        One row per compound with a compound centre, and per new compound: ``compound`` (its
        ``unit_id``, or the centre's name for a centre in no known compound), ``households``, ``new``,
        ``rule`` (``compound_m2`` or ``new_compound_m2_per_100_households``), ``needed_m2``, ``present_m2``,
        ``short_m2``, ``below``, ``community_code``, ``grid_code``.
    report : gridmap.Report
        The findings, and the three tables above (``grids`` without geometry) and ``summary``.
    """

    grids: gpd.GeoDataFrame
    communities: pd.DataFrame
    compounds: pd.DataFrame
    report: Report


def centre_standards(standards: Mapping[str, float] | None = None) -> dict[str, float]:
    """Return :data:`gridmap.schema.CENTRE_STANDARDS` with ``standards`` overriding some of them.

    Raises
    ------
    GridmapError
        An unknown key, or a value that is not a positive finite number.

    Examples
    --------
    >>> centre_standards({"max_distance_m": 800})["max_distance_m"]
    800.0
    """
    merged = dict(CENTRE_STANDARDS)
    for key, value in (standards or {}).items():
        if key not in CENTRE_STANDARDS:
            raise GridmapError(f"{key!r} is not a centre standard",
                               fix=f"use the keys {', '.join(CENTRE_STANDARDS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value <= 0:
            raise GridmapError(f"standard {key}={value!r} is not a positive number",
                               fix=f"give {key} a positive number (default {CENTRE_STANDARDS[key]:g})")
        merged[key] = float(value)
    return merged


def read_centres(path: str | os.PathLike, *, layer: str | None = None, encoding: str | None = None,
                 coords: str | None = None) -> gpd.GeoDataFrame:
    r"""Read service centres: points or polygons with kind and floor area.

    Any layer :func:`gridmap.read_layer` reads, or a CSV/Excel with 经度/纬度 (``经度_gcj02`` …).

    Parameters
    ----------
    path : str or os.PathLike
        With 名称/name, 类型/kind (:data:`gridmap.schema.CENTRE_KIND_WORDS`), 面积/建筑面积/floor_area_m2
        (m²), optionally 社区代码/community_code and 小区编号/unit_id (the compound served).
    layer : str, optional
        Layer of a GeoPackage or sheet of a workbook.
    encoding : str, optional
        Text encoding of a CSV or shapefile that is neither UTF-8 nor GBK/GB18030.
    coords : {"wgs84", "cgcs2000", "gcj02", "bd09"}, optional
        The coordinate system the coordinates are in (GCJ-02 and BD-09 are shifted to WGS84).

    Returns
    -------
    geopandas.GeoDataFrame
        :func:`clean_centres`' columns.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "centres.csv"
    >>> _ = path.write_bytes("中心名称,类型,建筑面积,经度,纬度\n"
    ...                      "翠竹小区党群服务中心,小区党群服务中心,320,108.3,22.8\n"
    ...                      .encode("gbk"))
    >>> read_centres(path)[["name", "kind", "floor_area_m2"]]
             name             kind  floor_area_m2
    0  翠竹小区党群服务中心  compound_centre          320.0
    """
    layer_read = read_layer(Path(path), layer, coords=coords, encoding=encoding, aliases=CENTRE_ALIASES)
    return clean_centres(layer_read)


def clean_centres(centres: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return centres with gridmap's columns: headers renamed, kinds read, floor areas checked.

    Columns ``name``, ``kind`` (one of :data:`gridmap.schema.CENTRE_KINDS`, NA for an unknown word, kept
    in ``kind_given``), ``floor_area_m2`` (float, NaN when blank), ``community_code`` and ``unit_id``
    (text or None); other columns and the geometry are kept. Calling it again changes nothing.

    Raises
    ------
    SchemaError
        No kind column, or a floor area that is no number, not above 0 or above
        :data:`gridmap.schema.FLOOR_AREA_MAX_M2` (named by its record).
    GeometryError
        Centres that are not points or polygons.
    """
    if not isinstance(centres, gpd.GeoDataFrame):
        raise SchemaError(f"centres must be a GeoDataFrame, got {type(centres).__name__}",
                          fix="read them with gridmap.people.read_centres (points or polygons)")
    frame, _ = rename_columns(centres, path=source_of(centres), aliases=CENTRE_ALIASES)
    if "kind" not in frame.columns:
        raise SchemaError(f"the centres have no kind column (columns: {', '.join(map(str, frame.columns))})",
                          path=source_of(centres),
                          fix="add a column 类型 (社区党群服务中心, 小区党群服务中心 …)")
    _check_shapes(frame)
    frame = frame.copy()
    if "kind_given" not in frame.columns:
        frame.insert(0, "kind_given", frame["kind"])
    words = frame["kind_given"].astype(object)
    frame["kind"] = words.map({w: centre_kind(w) for w in pd.unique(words)}).astype(object)
    if "name" not in frame.columns:
        frame["name"] = [f"centre {label}" for label in record_labels(frame)]
    area = frame.get("floor_area_m2", pd.Series(np.nan, index=frame.index))
    frame["floor_area_m2"] = numbers(area, column="floor_area_m2", frame=frame, whole=False, low=0,
                                     high=FLOOR_AREA_MAX_M2, unit=" m²")
    for key in ("community_code", "unit_id"):
        frame[key] = code_column(frame, key)
    return frame


def _check_shapes(frame: gpd.GeoDataFrame) -> None:
    geoms = frame.geometry.to_numpy()
    bad = np.flatnonzero(~np.isin(shapely.get_type_id(geoms), (0, 3, 4, 6)) & ~shapely.is_missing(geoms))
    if len(bad):
        raise GeometryError(f"a centre is a {shapely.get_type_id(geoms[bad[0]])} geometry "
                            f"({geoms[bad[0]].geom_type}), not a point or polygon", path=source_of(frame),
                            record=record_labels(frame).iloc[bad[0]],
                            fix="give each centre its location (a point) or its footprint (a polygon)")


def check_centres(centres: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *,
                  units: gpd.GeoDataFrame | None = None, communities: gpd.GeoDataFrame | None = None,
                  standards: Mapping[str, float] | None = None, reach: gpd.GeoDataFrame | None = None,
                  community_kinds: tuple[str, ...] = ("urban",)) -> CentreCheck:
    """Check service centres against the floor-area standards and find the households far from all of them.

    Communities: the floor areas of the community centres (社区党群服务中心, 社区服务用房) in each
    community add up to its service space, needed ``community_m2`` (500 m²) in every community whose kind
    is in ``community_kinds`` (urban 社区 by default: seed 001 sets it for 城市社区). A centre is in the
    community its ``community_code`` names, else the one its point (a polygon's representative point)
    lies in: of ``communities`` when given, else of the grid holding it.

    Compounds: the compound centres (小区党群服务中心) of a compound add up to its centre, needed
    ``compound_m2`` (300 m²); a compound marked new (a units column ``new``/``新建``/``是否新建``) needs
    ``new_compound_m2_per_100_households`` (30 m²) per 100 households instead, whether it has a centre
    or not. A centre's compound is the ``unit_id`` it names, else the compound polygon holding its point.

    Distance: each unit's households (its representative point) are far when every centre, of any kind, is
    farther than ``max_distance_m`` (1,000 m, see the module's notes) in a straight line measured in a
    metric CRS (:func:`gridmap.crs.metric_crs`); with ``reach`` (polygons of walking areas), when the
    point lies outside all of them instead. Units of kind ``building`` are left out (their compound holds
    their households).

    Findings: ``community_below_standard`` and ``compound_below_standard`` (errors, with ``needed_m2``,
    ``present_m2``, ``short_m2``), ``far_from_centre`` or ``outside_reach`` (warnings, with
    ``households``), ``unknown_kind``, ``unknown_community``, ``unknown_compound`` (errors),
    ``no_floor_area``, ``centre_outside`` and ``duplicate`` (warnings: counted as 0 m²; in no grid; the
    same centre twice, counted once), ``unknown_grid_code`` and ``outside_grids`` (warnings: a unit whose
    ``grid_code`` is none of the grids', placed by its location instead; a unit in no grid, whose
    households count in no grid's figures). Each finding's
    ``record`` is the code of the community or compound (``unit_id``) it is about, or the centre's name.

    Parameters
    ----------
    centres : geopandas.GeoDataFrame
        Points or polygons (multipolygons, Z coordinates too) with kind and floor area, as
        :func:`read_centres` returns them or with its Chinese headers.
    grids : geopandas.GeoDataFrame
        Polygons with a unique ``code`` and ``community_code``.
    units : geopandas.GeoDataFrame, optional
        Base units with ``unit_id``, ``kind``, ``households`` and optionally ``new`` and ``grid_code``. A
        unit without a grid code, or whose code is none of the grids' (the builder's temporary
        ``990102001001-001`` before the registry's codes, a retired grid: a ``GridmapWarning`` says how
        many), is in the grid holding its representative point.
    communities : geopandas.GeoDataFrame, optional
        Community polygons with ``code`` and optionally ``kind`` (urban/rural; else read from the code).
    standards : mapping, optional
        Overrides of :data:`gridmap.schema.CENTRE_STANDARDS` (``community_m2``, ``compound_m2``,
        ``new_compound_m2_per_100_households``, ``max_distance_m``).
    reach : geopandas.GeoDataFrame, optional
        Walking areas around the centres (polygons).
    community_kinds : tuple of str, default ("urban",)
        Kinds of community the community standard applies to.

    Returns
    -------
    CentreCheck

    Examples
    --------
    A new compound of 250 households needs 75 m² (30 m² per 100 households); its centre has 60 m²:

    >>> from shapely import Point, box
    >>> grids = gpd.GeoDataFrame({"code": ["G1"], "community_code": ["450102001003"]},
    ...                          geometry=[box(108.30, 22.80, 108.31, 22.81)], crs="EPSG:4490")
    >>> units = gpd.GeoDataFrame({"unit_id": ["C1"], "kind": ["住宅小区"], "households": [250],
    ...                           "新建": ["是"]},
    ...                          geometry=[box(108.301, 22.801, 108.303, 22.803)], crs="EPSG:4490")
    >>> centres = gpd.GeoDataFrame({"kind": ["小区党群服务中心"], "floor_area_m2": [60.0]},
    ...                            geometry=[Point(108.302, 22.802)], crs="EPSG:4490")
    >>> result = check_centres(centres, grids, units=units)
    >>> result.compounds[["compound", "needed_m2", "present_m2", "short_m2"]]
      compound  needed_m2  present_m2  short_m2
    0       C1       75.0        60.0      15.0
    """
    rules = centre_standards(standards)
    grids = grid_frame(grids)
    report = Report("service centres (党群服务中心)")
    centres = _unique(_known_kinds(clean_centres(centres), report), report)
    centres = _placed(centres, grids, communities, report)
    homes = None if units is None else _homes(units, grids, report)
    compounds = _compound_table(centres, homes, rules, report)
    community_table = _community_table(centres, grids, communities, rules, community_kinds, report)
    table = _grid_table(grids, centres, homes, rules, reach, report)
    report.tables.update(grids=pd.DataFrame(table.drop(columns="geometry")), communities=community_table,
                         compounds=compounds, summary=_summary(table, community_table, compounds, rules))
    return CentreCheck(grids=gpd.GeoDataFrame(table, geometry="geometry", crs=grids.crs),
                       communities=community_table, compounds=compounds, report=report)


def _known_kinds(centres: gpd.GeoDataFrame, report: Report) -> gpd.GeoDataFrame:
    """Drop (and report) centres of unknown kind; report those without floor area."""
    centres = report_unknown_kinds(centres, report, words=CENTRE_KIND_WORDS, what="a service-centre kind",
                                   records=centres["name"], fix=_KIND_FIX)
    missing = centres["floor_area_m2"].isna()
    for label, name in zip(record_labels(centres)[missing], centres.loc[missing, "name"], strict=True):
        report.add("no_floor_area", f"{label}: {name} gives no floor area; counted as 0 m²", record=name,
                   severity="warning", row=label, fix="fill in its floor area (面积, m²)")
    return centres


def _unique(centres: gpd.GeoDataFrame, report: Report) -> gpd.GeoDataFrame:
    """Drop repeated centres (same name, kind, floor area and place), with a warning each."""
    keys = centres[["name", "kind", "floor_area_m2"]].astype(str)
    keys["place"] = shapely.to_wkb(centres.geometry.to_numpy())
    repeated = keys.duplicated().to_numpy()
    for label, name in zip(record_labels(centres)[repeated], centres.loc[repeated, "name"], strict=True):
        report.add("duplicate", f"{label}: {name} is listed twice; counted once", record=name,
                   severity="warning", row=label, fix="delete the repeated row")
    return centres[~repeated]


def _placed(centres: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None,
            report: Report) -> gpd.GeoDataFrame:
    """Give each centre its point, the grid holding it and its community (named, else located)."""
    centres = centres.copy()
    geoms = centres.geometry.to_numpy()
    located = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    points = gpd.GeoDataFrame(geometry=centres.geometry.representative_point(), crs=centres.crs)
    in_grids = assign(points[located], grids, report=Report("scratch"))
    centres["grid_code"] = None
    centres.loc[located, "grid_code"] = or_none(in_grids["grid_code"])
    where = centres["grid_code"].isna().to_numpy() & located
    for label, name in zip(record_labels(centres)[where], centres.loc[where, "name"], strict=True):
        report.add("centre_outside", f"{label}: {name} lies in no grid", record=name, severity="warning",
                   row=label, fix="check its coordinates (GCJ-02/BD-09 not converted?)")
    if communities is not None:
        known = _community_frame(communities)
        holding = assign(points[located], known[["code", "geometry"]], report=Report("scratch"))["grid_code"]
    else:
        holding = in_grids["community_code"]
    found = pd.Series(None, index=centres.index, dtype=object)
    found[located] = holding.astype(object).where(holding.notna()).to_numpy()
    centres["community_code"] = centres["community_code"].where(centres["community_code"].notna(), found)
    centres["community_code"] = centres["community_code"].where(centres["community_code"].notna(), None)
    return centres


def _community_frame(communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = model_columns(communities, "admin")[0]
    if "code" not in frame.columns:
        raise SchemaError("communities have no code column", path=source_of(communities),
                          fix="give each community its 12-digit code (社区代码)")
    kinds = frame["kind"] if "kind" in frame.columns else pd.Series(None, index=frame.index, dtype=object)
    return gpd.GeoDataFrame({"code": codes_as_text(frame["code"]).to_numpy(), "kind": kinds.to_numpy()},
                            geometry=frame.geometry.to_numpy(), crs=frame.crs)


def _homes(units: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, report: Report) -> gpd.GeoDataFrame:
    """Return the units that hold households: ``unit_id``, ``kind``, ``households``, ``new``, grid, point."""
    frame = model_columns(units, "units")[0]
    for column in ("unit_id", "households"):
        if column not in frame.columns:
            raise SchemaError(f"units have no {column} column", path=source_of(units),
                              fix="give the units unit_id (编号) and households (户数)")
    kinds = frame["kind"].map(unit_kind) if "kind" in frame.columns else pd.Series(None, index=frame.index)
    households = numbers(frame["households"], column="households", frame=frame, whole=True, low=0,
                         high=2**53)
    header = next((h for h in frame.columns if header_key(h) in map(header_key, NEW_COMPOUND_HEADERS)), None)
    new = flags(frame[header], column=str(header), frame=frame).fillna(False) if header is not None \
        else pd.Series(False, index=frame.index)
    homes = gpd.GeoDataFrame({"unit_id": codes_as_text(frame["unit_id"]).to_numpy(), "kind": kinds.to_numpy(),
                              "name": frame["name"].to_numpy() if "name" in frame.columns else None,
                              "households": households.to_numpy(), "new": new.to_numpy(dtype=bool)},
                             geometry=frame.geometry.to_numpy(), crs=frame.crs)
    homes = homes[homes["kind"].ne(BUILDING_KIND).to_numpy()]
    geoms = homes.geometry.to_numpy()
    homes = homes[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    given = frame.loc[homes.index, ["grid_code"]] if "grid_code" in frame.columns else None
    homes["grid_code"] = grid_codes(homes.join(given) if given is not None else homes, grids, report,
                                    what="units", ids=homes["unit_id"], caller="check_centres",
                                    stacklevel=3).to_numpy()
    homes["point"] = homes.geometry.representative_point().to_numpy()
    return homes


def _compound_table(centres: gpd.GeoDataFrame, homes: gpd.GeoDataFrame | None, rules: dict[str, float],
                    report: Report) -> pd.DataFrame:
    """Needed and present floor area of each compound with a centre, and of each new compound."""
    mine = centres[centres["kind"] == "compound_centre"].copy()
    compounds = None if homes is None else homes[homes["kind"] == "compound"]
    if compounds is not None:
        mine["unit_id"] = _compound_of(mine, compounds, report)
    mine["compound"] = mine["unit_id"].where(mine["unit_id"].notna(), mine["name"])
    present = mine.assign(area=mine["floor_area_m2"].fillna(0)).groupby("compound", sort=False).agg(
        present_m2=("area", "sum"), centres=("area", "size"), grid_code=("grid_code", "first"),
        community_code=("community_code", "first"))
    keys = list(present.index)
    if compounds is not None:
        keys += [u for u in compounds.loc[compounds["new"], "unit_id"] if u not in present.index]
    table = present.reindex(keys).rename_axis("compound").reset_index()
    table["present_m2"] = table["present_m2"].fillna(0.0)
    table["centres"] = table["centres"].fillna(0).astype("int64")
    info = (compounds.set_index("unit_id") if compounds is not None else
            pd.DataFrame(columns=["households", "new", "grid_code"]))
    info = info[~info.index.duplicated()]
    table["households"] = table["compound"].map(info["households"]).astype("Float64").astype("Int64")
    table["new"] = table["compound"].map(info["new"]).eq(True).to_numpy(dtype=bool)
    own_grid = table["compound"].map(info["grid_code"])
    table["grid_code"] = table["grid_code"].where(table["grid_code"].notna(), own_grid)
    per_household = rules["new_compound_m2_per_100_households"] / 100
    table["rule"] = np.where(table["new"], "new_compound_m2_per_100_households", "compound_m2")
    table["needed_m2"] = np.where(table["new"], table["households"].astype("float64") * per_household,
                                  rules["compound_m2"])
    table["short_m2"] = (table["needed_m2"] - table["present_m2"]).clip(lower=0)
    table["below"] = table["short_m2"] > 0
    _report_short(table[table["below"]], "compound_below_standard", "compound", report)
    return table[["compound", "households", "new", "rule", "centres", "needed_m2", "present_m2", "short_m2",
                  "below", "community_code", "grid_code"]]


def _compound_of(mine: gpd.GeoDataFrame, compounds: gpd.GeoDataFrame, report: Report) -> pd.Series:
    """Return each compound centre's compound: the unit_id it names, else the compound polygon holding it."""
    named = mine["unit_id"].notna()
    unknown = named & ~mine["unit_id"].isin(set(compounds["unit_id"]))
    for label, (_, row) in zip(record_labels(mine)[unknown], mine[unknown].iterrows(), strict=True):
        report.add("unknown_compound", f"{label}: {row['name']} serves compound {row['unit_id']}, which is "
                   "not a compound of the units", record=row["unit_id"], row=label,
                   fix="give the unit_id (小区编号) of a compound of the units layer")
    result = mine["unit_id"].where(named & ~unknown, None)
    polygons = compounds[np.isin(shapely.get_type_id(compounds.geometry.to_numpy()), (3, 6))]
    wanted = ~named
    if wanted.any() and len(polygons):
        points = gpd.GeoDataFrame(geometry=mine.loc[wanted].geometry.representative_point(), crs=mine.crs)
        found = gpd.sjoin(points, polygons[["unit_id", "geometry"]].to_crs(mine.crs), how="left",
                          predicate="within")
        found = found[~found.index.duplicated()]
        result[wanted] = found["unit_id"].astype(object).where(found["unit_id"].notna(), None)
    return result


def _community_table(centres: gpd.GeoDataFrame, grids: gpd.GeoDataFrame,
                     communities: gpd.GeoDataFrame | None, rules: dict[str, float],
                     community_kinds: tuple[str, ...], report: Report) -> pd.DataFrame:
    """Needed and present service space of each community the standard applies to."""
    known = _community_frame(communities) if communities is not None else \
        pd.DataFrame({"code": pd.unique(grids["community_code"].dropna()), "kind": None})
    kinds = known["kind"].where(known["kind"].notna(), known["code"].map(_code_kind))
    mine = centres[centres["kind"] == "community_centre"]
    stray = mine["community_code"].notna() & ~mine["community_code"].isin(set(known["code"]))
    for label, (_, row) in zip(record_labels(mine)[stray], mine[stray].iterrows(), strict=True):
        report.add("unknown_community", f"{label}: {row['name']} is in community {row['community_code']}, "
                   "which is not a community of the grids", record=row["community_code"], row=label,
                   fix="give the 12-digit code of a community (社区代码)")
    present = mine.assign(area=mine["floor_area_m2"].fillna(0)).groupby("community_code")["area"]
    table = pd.DataFrame({"community_code": known["code"].to_numpy(), "kind": kinds.to_numpy()})
    table = table[table["kind"].isin(community_kinds).to_numpy()]
    table = table.sort_values("community_code", ignore_index=True)
    table["centres"] = present.size().reindex(table["community_code"]).fillna(0).astype("int64").to_numpy()
    table["needed_m2"] = rules["community_m2"]
    table["present_m2"] = present.sum().reindex(table["community_code"]).fillna(0.0).to_numpy()
    table["short_m2"] = (table["needed_m2"] - table["present_m2"]).clip(lower=0)
    table["below"] = table["short_m2"] > 0
    _report_short(table[table["below"]], "community_below_standard", "community_code", report)
    return table


def _code_kind(code: object) -> str:
    try:
        return community_kind(str(code))
    except CodeError:
        return "other"


def _report_short(short: pd.DataFrame, check: str, key: str, report: Report) -> None:
    what = {"community_below_standard": "community service space (社区服务用房)",
            "compound_below_standard": "compound party-and-people service centre (小区党群服务中心)"}[check]
    extra = {"community_code": short["community_code"].to_numpy()} if key != "community_code" else {}
    report.add_many(check, f"{what}: {{present_m2:,.0f}} m² present, {{needed_m2:,.0f}} m² needed, "
                    f"{{short_m2:,.0f}} m² short", records=short[key].to_numpy(),
                    needed_m2=short["needed_m2"].to_numpy(float),
                    present_m2=short["present_m2"].to_numpy(float),
                    short_m2=short["short_m2"].to_numpy(float), **extra,
                    fix="enlarge or add a centre (seed 001: 社区≥500 m², 小区≥300 m², 新建小区每百户≥30 m²)")


def _grid_table(grids: gpd.GeoDataFrame, centres: gpd.GeoDataFrame, homes: gpd.GeoDataFrame | None,
                rules: dict[str, float], reach: gpd.GeoDataFrame | None, report: Report) -> pd.DataFrame:
    by_grid = centres.assign(area=centres["floor_area_m2"].fillna(0)).groupby("grid_code")["area"]
    table = pd.DataFrame({"code": grids["code"], "community_code": grids["community_code"]})
    table["centres"] = by_grid.size().reindex(table["code"]).fillna(0).astype("int64").to_numpy()
    table["floor_area_m2"] = by_grid.sum().reindex(table["code"]).fillna(0.0).to_numpy()
    if homes is None:
        table["households"] = table["households_far"] = pd.array([pd.NA] * len(table), dtype="Int64")
        table["far_share"] = np.nan
    else:
        far = _far(homes, centres, rules["max_distance_m"], reach, report)
        per_grid = homes.assign(far=np.where(far, homes["households"].fillna(0), 0)).groupby("grid_code")
        for column, source in (("households", "households"), ("households_far", "far")):
            table[column] = per_grid[source].sum().reindex(table["code"]).fillna(0).astype("Int64").array
        share = table["households_far"].astype("Float64") / table["households"].astype("Float64")
        table["far_share"] = share.astype("float64").where(table["households"] > 0, np.nan)
    table["label"] = _labels(table, rules["max_distance_m"], reach is not None)
    table["geometry"] = grids.geometry.to_numpy()
    return table


def _far(homes: gpd.GeoDataFrame, centres: gpd.GeoDataFrame, limit: float, reach: gpd.GeoDataFrame | None,
         report: Report) -> np.ndarray:
    """Whether each home is farther than ``limit`` from every centre (or outside ``reach``); reported."""
    if not len(homes):
        return np.zeros(0, dtype=bool)
    points = gpd.GeoSeries(homes["point"].to_numpy(), crs=homes.crs)
    crs = metric_crs(points)
    xy = points.to_crs(crs).to_numpy()
    distance = _distances(xy, centres, crs)
    if reach is None:
        far = distance > limit
        check = "far_from_centre"
        message = (f"{{households:,}} households live {{distance_m:,.0f}} m from the nearest service centre, "
                   f"farther than {limit:,.0f} m (15-minute circle, straight line)")
    else:
        areas = shapely.union_all(reach.to_crs(crs).geometry.make_valid().to_numpy()) if len(reach) \
            else shapely.Polygon()
        far = ~shapely.covers(areas, xy)
        check = "outside_reach"
        message = "{households:,} households live outside every walking area (reach) of the service centres"
    far &= homes["households"].fillna(0).to_numpy() > 0
    report.add_many(check, message, records=homes.loc[far, "unit_id"].to_numpy(), severity="warning",
                    households=homes.loc[far, "households"].to_numpy().astype("int64"),
                    distance_m=np.round(distance[far], 1), grid_code=homes.loc[far, "grid_code"].to_numpy(),
                    fix="open a centre or a station nearer, or check the walking areas")
    return far


def _distances(xy: np.ndarray, centres: gpd.GeoDataFrame, crs) -> np.ndarray:
    """Return the straight-line distance (m) to the nearest centre (0 inside a footprint; inf if none)."""
    geoms = centres.to_crs(crs).geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(geoms) or not len(xy):
        return np.full(len(xy), np.inf)
    (_, nearest), distance = shapely.STRtree(geoms).query_nearest(xy, return_distance=True, all_matches=False)
    return distance


def _labels(table: pd.DataFrame, limit: float, with_reach: bool) -> pd.Series:
    where = "步行范围外" if with_reach else f"{limit:,.0f} 米外"
    centres = pd.Series(np.where(table["centres"] > 0,
                                 "服务中心 " + table["centres"].astype(str) + " 处", ""),
                        index=table.index)
    households = table["households"].astype("Float64")
    far = table["households_far"].astype("Float64")
    within = "住户均在步行范围内" if with_reach else f"住户均在 {limit:,.0f} 米内"
    text = pd.Series("", index=table.index)
    some = (far > 0).fillna(False).to_numpy(dtype=bool)
    if some.any():
        text[some] = (where + " " + far[some].astype("int64").map("{:,}".format) + " 户（"
                      + (100 * table.loc[some, "far_share"]).map("{:.1f}%".format) + "）")
    none = ((far == 0) & (households > 0)).fillna(False).to_numpy(dtype=bool)
    text[none] = within
    return (centres + np.where((centres != "") & (text != ""), "；", "") + text).where(
        lambda s: s != "", "无服务中心")


def _summary(table: pd.DataFrame, communities: pd.DataFrame, compounds: pd.DataFrame,
             rules: dict[str, float]) -> pd.DataFrame:
    households = table["households"].sum(min_count=1)
    far = table["households_far"].sum(min_count=1)
    row = {"centres": int(table["centres"].sum()), "communities": len(communities),
           "communities_below": int(communities["below"].sum()), "compounds": len(compounds),
           "compounds_below": int(compounds["below"].sum()), "households": households, "households_far": far,
           "far_share": float(far / households) if pd.notna(households) and households else np.nan,
           "max_distance_m": rules["max_distance_m"]}
    frame = pd.DataFrame([row])
    for column in ("households", "households_far"):
        frame[column] = frame[column].astype("Int64")
    return frame
