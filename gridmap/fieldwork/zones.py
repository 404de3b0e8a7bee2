"""Patrol zones (巡控网格) around sensitive sites, and the grids, communities and streets each one enters.

Guilin (seed 003) draws patrol grids "以治安复杂区和入城口为点，以学校、幼儿园、医院、车站、大型商场等为面":
zones around schools, kindergartens, hospitals, stations and large malls, and around key areas such as city
entrances and complex public-order areas, patrolled by one team whatever grids they cross.

:func:`patrol_zones` draws one zone per site: a buffer of the site (point, line or polygon) by the radius
of its kind (:data:`gridmap.schema.SITE_RADII_M`, the kinds and their Chinese words in
:data:`gridmap.schema.SITE_KIND_WORDS`), made in a metric CRS (:func:`gridmap.crs.metric_crs`) and returned
in the sites' CRS. Zones of one kind whose buffers touch or overlap — the sites lie at most the two radii
apart — are merged into one zone that lists its sites. :func:`zone_coverage` overlays the zones on the grids
(:func:`gridmap.division.crosswalk`, areas in a metric CRS) and says which grids, communities and streets
each zone enters, with the share of the zone inside each and of each inside the zone.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point
>>> sites = gpd.GeoDataFrame({"名称": ["实验小学", "第二小学", "人民医院"], "类型": ["小学", "学校", "医院"]},
...     geometry=[Point(500_000, 2_500_000), Point(500_150, 2_500_000), Point(501_000, 2_500_000)],
...     crs="EPSG:4545")
>>> zones = patrol_zones(sites, radius={"学校": 100})
>>> zones[["zone_id", "kind", "radius_m", "n_sites", "site_names"]]
  zone_id      kind  radius_m  n_sites     site_names
0    Z001    school     100.0        2  实验小学、第二小学
1    Z002  hospital     200.0        1           人民医院
>>> print(zones["label"][0])
学校巡控区 Z001：实验小学、第二小学（半径100米）
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.crs import convert_frame, metric_crs
from gridmap.division import crosswalk
from gridmap.errors import GridmapWarning, SchemaError
from gridmap.fieldwork._layers import checked, records, require_geometry
from gridmap.fieldwork._layers import ids as _ids
from gridmap.findings import Report
from gridmap.schema import (
    CODE_LENGTHS,
    SITE_KIND_NAMES_ZH,
    SITE_KIND_WORDS,
    SITE_KINDS,
    SITE_RADII_M,
    closest_word,
    join_ids,
    model_columns,
    site_kind,
)

__all__ = ["patrol_zones", "zone_coverage", "ZoneCoverage", "QUAD_SEGS"]

#: Segments per quarter circle of a zone's round edge: a disc's area is then within 0.3% of πr².
QUAD_SEGS = 16
#: Sites of one kind whose geometries agree to this many metres are the same site entered twice.
_SAME_PLACE_M = 0.01
#: Names shown in a zone's label before "等N处".
_LABEL_NAMES = 3
_ZONE_COLUMNS = ["zone_id", "kind", "kind_zh", "radius_m", "n_sites", "site_ids", "site_names", "area_m2",
                 "label"]
_LEVELS = ("grid", "community", "street")


def patrol_zones(sites: gpd.GeoDataFrame, *, radius: Mapping[str, float] | None = None,
                 coords: str | None = None) -> gpd.GeoDataFrame:
    """Draw a patrol zone around each sensitive site; merge touching zones of one kind.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        One row per site: ``kind`` (or 类型 / 场所类型: a word of :data:`gridmap.schema.SITE_KIND_WORDS`
        such as 学校, 幼儿园, 医院, 车站, 商场, 入城口, 治安复杂区), optional ``site_id`` (or 编号 / 场所编号;
        default: the record, ``rowN``) and ``name`` (名称 / 场所名称); points, lines or polygons (Z is
        ignored; a polygon is buffered from its edge). Any CRS.
    radius : mapping of str to float, optional
        Radius in metres by kind (a kind or any of its words: ``{"学校": 300}``), overriding
        :data:`gridmap.schema.SITE_RADII_M` for the kinds named.
    coords : {"wgs84", "cgcs2000", "gcj02", "bd09"}, optional
        The coordinate system the sites' coordinates are really in: GCJ-02 (Amap, Tencent) and BD-09 (Baidu)
        are shifted to true coordinates first; the zones then carry the sites' CRS label (EPSG:4326, or
        EPSG:4490 when the sites declare it) with true positions.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per zone in the sites' CRS, ordered by kind (:data:`gridmap.schema.SITE_KINDS`) and then by
        the first site's row: ``zone_id`` (``Z001`` …), ``kind``, ``kind_zh`` (学校 …), ``radius_m``,
        ``n_sites``, ``site_ids`` (``;``-separated, :func:`gridmap.schema.split_ids` reads them),
        ``site_names`` (joined by 、), ``area_m2``, ``label`` (Chinese, for maps) and the polygon. A site
        entered twice (same kind, same place) counts once in ``n_sites``.

    Raises
    ------
    SchemaError
        ``sites`` is not a GeoDataFrame, has no kind column, or a kind no word names (the message names the
        records and the closest word); a radius that is not a positive number of metres or names no kind.
    CRSError
        The sites have no CRS.
    GeometryError
        A site has no geometry.

    Warns
    -----
    GridmapWarning
        Sites of one kind entered twice at the same place (``patrol_zones: duplicate sites``); invalid
        polygons repaired.
    """
    frame, labels = _sites(sites, coords)
    kinds = _kinds(frame, labels)
    radii = kinds.map(_radii(radius)).to_numpy(dtype=float)
    metric = metric_crs(frame)
    geoms = _repaired(shapely.force_2d(np.asarray(frame.geometry.to_crs(metric).values, dtype=object)))
    ids = _ids(frame, labels, "site_id")
    _warn_duplicates(geoms, kinds.to_numpy(), labels.to_numpy())
    group = _touching_groups(geoms, radii, kinds.to_numpy())
    names = frame["name"].astype("string").fillna(pd.Series(ids, index=frame.index)) \
        if "name" in frame.columns else pd.Series(ids, index=frame.index, dtype="string")
    buffers = shapely.buffer(geoms, radii, quad_segs=QUAD_SEGS)
    table = pd.DataFrame({"group": group, "kind": kinds.to_numpy(), "radius_m": radii, "id": ids,
                          "name": names.to_numpy(), "order": np.arange(len(frame)),
                          "rank": kinds.map(SITE_KINDS.index).to_numpy()})
    return _zones(table, buffers, metric, frame.crs)


def _sites(sites: gpd.GeoDataFrame, coords: str | None) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Check the sites; return them with model column names and true coordinates, and their record labels."""
    frame, labels = checked(sites, "sites", "sites")
    require_geometry(frame, labels, "sites")
    if coords is not None and coords.lower() not in ("wgs84", "cgcs2000"):
        target = "cgcs2000" if frame.crs.to_epsg() == 4490 else "wgs84"
        frame = convert_frame(frame, coords, target)
    return frame, labels


def _kinds(frame: gpd.GeoDataFrame, labels: pd.Series) -> pd.Series:
    """Return the site kind of each record; an unknown word raises, naming the records and closest word."""
    if "kind" not in frame.columns:
        raise SchemaError("sites have no kind column", record="sites",
                          fix="name the column kind, 类型 or 场所类型, holding words such as 学校, 医院")
    kinds = frame["kind"].map(site_kind)
    unknown = kinds.isna()
    if unknown.any():
        word = frame["kind"][unknown].iloc[0]
        closest = closest_word(word, SITE_KIND_WORDS)
        hint = "" if closest is None else f"; the closest is {closest!r} ({SITE_KIND_WORDS[closest]})"
        raise SchemaError(f"site kind {word!r} is not a kind of sensitive site{hint}",
                          record=records(labels[unknown]),
                          fix="use one of " + ", ".join(SITE_KIND_NAMES_ZH[k] for k in SITE_KINDS)
                          + " (or their English names), or drop the record")
    return kinds.astype(str)


def _radii(radius: Mapping[str, float] | None) -> dict[str, float]:
    """Radius by kind: the defaults, with ``radius`` (keyed by any word of a kind) over them."""
    radii = dict(SITE_RADII_M)
    for word, value in (radius or {}).items():
        kind = site_kind(word)
        if kind is None:
            closest = closest_word(word, SITE_KIND_WORDS)
            hint = "" if closest is None else f" (the closest is {closest!r})"
            raise SchemaError(f"radius names {word!r}, which is no kind of site{hint}", record="radius",
                              fix="key radii by " + ", ".join(SITE_KINDS) + " or their Chinese names")
        metres = _metres(value, word)
        radii[kind] = metres
    return radii


def _metres(value: object, word: str) -> float:
    """Return a radius as a positive, finite number of metres; else raise SchemaError."""
    try:
        metres = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        metres = float("nan")
    if not np.isfinite(metres) or not 0 < metres <= 100_000:
        raise SchemaError(f"radius of {word!r} must be a number of metres above 0 (at most 100 km), "
                          f"got {value!r}", record="radius", fix=f"pass e.g. {word}=200")
    return metres


def _repaired(geoms: np.ndarray) -> np.ndarray:
    """Geometries with invalid ones repaired by shapely.make_valid (with a warning)."""
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        warnings.warn(f"patrol_zones: {int(invalid.sum())} invalid site outlines were repaired with "
                      "shapely.make_valid", GridmapWarning, stacklevel=3)
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return geoms


def _warn_duplicates(geoms: np.ndarray, kinds: np.ndarray, labels: np.ndarray) -> None:
    """Warn about sites of one kind at the same place (they share a zone and count once)."""
    keys = pd.Series(shapely.to_wkb(shapely.normalize(shapely.set_precision(geoms, _SAME_PLACE_M))))
    duplicated = pd.DataFrame({"kind": kinds, "key": keys}).duplicated(keep=False).to_numpy()
    if duplicated.any():
        warnings.warn(f"patrol_zones: duplicate sites: {records(pd.Series(labels[duplicated]))} are sites "
                      "of one kind at the same place; each group shares one zone", GridmapWarning,
                      stacklevel=3)


def _touching_groups(geoms: np.ndarray, radii: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Label the sites whose zones touch or overlap, through any chain of sites of the same kind.

    Two buffers touch exactly when their sites lie at most the sum of the radii apart; testing that
    rather than the buffer polygons keeps the answer free of the polygons' approximation of a circle.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=2 * float(radii.max()))
    pairs = (left < right) & (kinds[left] == kinds[right])
    left, right = left[pairs], right[pairs]
    close = shapely.distance(geoms[left], geoms[right]) <= (radii[left] + radii[right]) * (1 + 1e-12)
    n = len(geoms)
    graph = coo_matrix((np.ones(int(close.sum())), (left[close], right[close])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _zones(table: pd.DataFrame, buffers: np.ndarray, metric: object, crs: object) -> gpd.GeoDataFrame:
    """One row per group of sites: the union of their buffers and the list of their sites."""
    first = table.groupby("group")[["rank", "order"]].min().sort_values(["rank", "order"])
    number = pd.Series(np.arange(1, len(first) + 1), index=first.index)
    width = max(3, len(str(len(first))))
    rows, shapes = [], []
    for group, members in table.sort_values("order").groupby("group", sort=False):
        ids = list(dict.fromkeys(members["id"]))
        names = list(dict.fromkeys(members["name"]))
        kind, metres = members["kind"].iloc[0], float(members["radius_m"].max())
        zone_id = f"Z{number[group]:0{width}d}"
        rows.append({"zone_id": zone_id, "kind": kind, "kind_zh": SITE_KIND_NAMES_ZH[kind],
                     "radius_m": metres, "n_sites": len(ids), "site_ids": join_ids(ids),
                     "site_names": "、".join(names),
                     "label": _label(zone_id, kind, names, metres), "number": number[group]})
        shapes.append(shapely.union_all(buffers[members.index.to_numpy()]))
    zones = gpd.GeoDataFrame(rows, geometry=shapes, crs=metric)
    zones["area_m2"] = zones.area
    zones = zones.sort_values("number", ignore_index=True)
    return zones[[*_ZONE_COLUMNS, "geometry"]].to_crs(crs)


def _label(zone_id: str, kind: str, names: list[str], metres: float) -> str:
    """``学校巡控区 Z001：实验小学、第二小学（半径100米）``; more than three sites end in 等N处."""
    shown = "、".join(names[:_LABEL_NAMES]) + (f"等{len(names)}处" if len(names) > _LABEL_NAMES else "")
    return f"{SITE_KIND_NAMES_ZH[kind]}巡控区 {zone_id}：{shown}（半径{metres:g}米）"


# --- coverage ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ZoneCoverage:
    """Which grids, communities and streets each patrol zone enters (:func:`zone_coverage`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per zone and unit it enters: ``zone_id``, ``kind``, ``level`` (grid, community, street),
        ``code`` (the unit's code), ``area_m2`` (the part of the zone inside the unit), ``share_of_zone``
        (that part's share of the zone's area) and ``share_of_unit`` (its share of the unit's area; a
        community's and a street's area is that of their grids). Ordered by zone, level and largest share.
    zones : geopandas.GeoDataFrame
        The zones, with ``n_grids``, ``grid_codes``, ``n_communities``, ``community_codes``, ``n_streets``,
        ``street_codes`` (``;``-separated, largest share first) and ``outside_share`` (share of the zone
        outside every grid): the map layer of the zones, its popups saying whose grids each enters.
    grids : geopandas.GeoDataFrame
        Every grid: ``code``, ``community_code``, ``n_zones``, ``zone_ids``, ``zone_share`` (the share of
        the grid inside any zone, overlaps counted once) and ``label`` (Chinese): a map layer keyed by grid.
    report : gridmap.findings.Report
        ``outside_grids`` (a zone partly or wholly outside every grid), ``crosses_communities`` (info: a
        zone whose patrol team works in several communities' grids), each with the codes it is about.
    """

    table: pd.DataFrame
    zones: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    report: Report


def zone_coverage(zones: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *, min_share: float = 0.01
                  ) -> ZoneCoverage:
    """Say which grids, communities and streets each zone enters, and with what share.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Polygons with a ``zone_id`` (what :func:`patrol_zones` returns, or zones drawn by hand), any CRS.
    grids : geopandas.GeoDataFrame
        Grids: ``code`` (or 网格编码), ``community_code`` (or 社区代码; else the first 12 digits of a 15-digit
        code), polygons. Streets are the first 9 digits of the community code.
    min_share : float, default 0.01
        A zone partly outside every grid is reported when that part is at least this share of it.

    Returns
    -------
    ZoneCoverage
        The table of pieces, the zones and grids as map layers, and the findings. Areas are measured in the
        grids' metric CRS (:func:`gridmap.crs.metric_crs`); pieces of 1 m² or less are left out.

    Raises
    ------
    SchemaError
        ``zones`` has no ``zone_id`` column or repeats one; grids lack their codes.
    CRSError, GeometryError, CodeError
        As :func:`gridmap.division.crosswalk` raises them.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"code": ["990102001001001", "990102001001002"]}, crs="EPSG:4545",
    ...     geometry=[box(500_000, 2_500_000, 500_100, 2_500_100),
    ...               box(500_100, 2_500_000, 500_200, 2_500_100)])
    >>> zones = gpd.GeoDataFrame({"zone_id": ["Z001"]}, crs="EPSG:4545",
    ...     geometry=[box(500_050, 2_500_000, 500_100, 2_500_100)])
    >>> coverage = zone_coverage(zones, grids)
    >>> coverage.table[["level", "code", "share_of_zone", "share_of_unit"]]
           level             code  share_of_zone  share_of_unit
    0       grid  990102001001001            1.0            0.5
    1  community     990102001001            1.0           0.25
    2     street        990102001            1.0           0.25
    """
    if not isinstance(zones, gpd.GeoDataFrame) or "zone_id" not in zones.columns:
        raise SchemaError("zones must be a GeoDataFrame with a zone_id column", record="zones",
                          fix="pass what gridmap.fieldwork.patrol_zones returns")
    repeated = zones["zone_id"].astype(str).duplicated()
    if repeated.any():
        raise SchemaError(f"zone_id {zones['zone_id'][repeated].iloc[0]!r} names several zones",
                          record="zones", fix="give each zone its own zone_id")
    grids = _grid_codes(grids)
    pieces = crosswalk(grids, zones, other_code="zone_id", min_share=0.0)
    metric = metric_crs(grids)
    grid_area = pd.Series(grids.to_crs(metric).area.to_numpy(), index=grids["code"].astype(str))
    table = _table(pieces, grids, grid_area, zones)
    layer = _zone_layer(zones, table, pieces)
    return ZoneCoverage(table=table, zones=layer, grids=_grid_layer(grids, zones, table, metric),
                        report=_findings(layer, min_share))


def _grid_codes(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the grids with model names and ``community_code`` (from 15-digit codes when absent)."""
    if not isinstance(grids, gpd.GeoDataFrame):
        raise SchemaError(f"grids must be a GeoDataFrame, got {type(grids).__name__}", record="grids",
                          fix="read the grids with gridmap.read_layer")
    grids = model_columns(grids, "grids")[0]
    if "code" not in grids.columns:
        raise SchemaError("grids have no code column", record="grids",
                          fix="name the column code or 网格编码")
    codes = grids["code"].astype("string").str.strip()
    if "community_code" in grids.columns:
        community = grids["community_code"].astype("string").str.strip()
    else:
        community = codes.str[:CODE_LENGTHS["community"]].where(codes.str.fullmatch(r"\d{15,}"))
    return grids.assign(code=codes, community_code=community.fillna(""))


def _table(pieces: pd.DataFrame, grids: gpd.GeoDataFrame, grid_area: pd.Series,
           zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Make the long table: each zone's pieces per grid, then summed per community and per street."""
    inside = pieces[pieces["grid_code"].notna()]
    community = grids.set_index("code")["community_code"]
    base = pd.DataFrame({"zone_id": inside["other_code"].astype(str), "grid": inside["grid_code"],
                         "area_m2": inside["area_m2"], "share_of_zone": inside["share_of_other"]})
    base["community"] = base["grid"].map(community)
    base["street"] = base["community"].str[:CODE_LENGTHS["street"]]
    units = pd.DataFrame({"grid": grid_area.index, "area": grid_area.to_numpy()})
    units["community"] = units["grid"].map(community)
    units["street"] = units["community"].str[:CODE_LENGTHS["street"]]
    parts = []
    for level, column in zip(_LEVELS, ("grid", "community", "street"), strict=True):
        known = base[base[column] != ""]
        summed = known.groupby(["zone_id", column], as_index=False)[["area_m2", "share_of_zone"]].sum()
        area = units[units[column] != ""].groupby(column)["area"].sum()
        summed["share_of_unit"] = summed["area_m2"] / summed[column].map(area)
        parts.append(summed.rename(columns={column: "code"}).assign(level=level))
    table = pd.concat(parts, ignore_index=True)
    table["kind"] = table["zone_id"].map(zones.set_index(zones["zone_id"].astype(str)).get("kind", {}))
    table["rank"] = table["level"].map(_LEVELS.index)
    table = table.sort_values(["zone_id", "rank", "share_of_zone"], ascending=[True, True, False],
                              kind="stable", ignore_index=True)
    return table[["zone_id", "kind", "level", "code", "area_m2", "share_of_zone", "share_of_unit"]]


def _zone_layer(zones: gpd.GeoDataFrame, table: pd.DataFrame, pieces: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return the zones with the units each enters (largest share first) and the share outside the grids."""
    layer = zones.copy()
    key = layer["zone_id"].astype(str)
    for level, plural in zip(_LEVELS, ("grids", "communities", "streets"), strict=True):
        codes = table[table["level"] == level].groupby("zone_id")["code"].agg(join_ids)
        layer[f"n_{plural}"] = key.map(table[table["level"] == level].groupby("zone_id").size()) \
            .fillna(0).astype(int).to_numpy()
        layer[f"{level}_codes"] = key.map(codes).fillna("").to_numpy()
    outside = pieces[pieces["grid_code"].isna()].groupby("other_code")["share_of_other"].sum()
    no_grid = ~key.isin(pieces.loc[pieces["grid_code"].notna(), "other_code"])
    layer["outside_share"] = key.map(outside).fillna(0.0).where(~no_grid, 1.0).to_numpy()
    return layer


def _grid_layer(grids: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, table: pd.DataFrame,
                metric: object) -> gpd.GeoDataFrame:
    """Every grid with the zones entering it and the share of it inside any zone (overlaps once)."""
    entered = table[table["level"] == "grid"]
    ids = entered.groupby("code")["zone_id"].agg(join_ids)
    counts = entered.groupby("code").size()
    metric_grids = np.asarray(grids.to_crs(metric).geometry.values, dtype=object)
    union = shapely.union_all(np.asarray(zones.to_crs(metric).geometry.values, dtype=object))
    share = shapely.area(shapely.intersection(metric_grids, union)) / shapely.area(metric_grids)
    codes = grids["code"]
    layer = gpd.GeoDataFrame({"code": codes.to_numpy(), "community_code": grids["community_code"].to_numpy(),
                              "n_zones": codes.map(counts).fillna(0).astype(int).to_numpy(),
                              "zone_ids": codes.map(ids).fillna("").to_numpy(), "zone_share": share},
                             geometry=grids.geometry.to_numpy(), crs=grids.crs)
    layer["label"] = [f"网格 {code}：{n}个巡控区{f'（{z}）' if z else ''}，巡控区覆盖{s:.0%}"
                      for code, n, z, s in zip(layer["code"], layer["n_zones"], layer["zone_ids"],
                                               layer["zone_share"], strict=True)]
    return layer


def _findings(layer: gpd.GeoDataFrame, min_share: float) -> Report:
    """Zones outside the grids, zones shared by several communities."""
    report = Report("patrol zones")
    out = layer[layer["outside_share"] >= max(min_share, 1e-9)]
    report.add_many("outside_grids", "{outside_share:.0%} of zone {code} lies outside every grid",
                    records=out["zone_id"].astype(str).to_numpy(), severity="warning",
                    fix="check the zone's site, or give the grids around it",
                    code=out["zone_id"].astype(str).to_numpy(), outside_share=out["outside_share"].to_numpy())
    shared = layer[layer["n_communities"] >= 2]
    report.add_many("crosses_communities",
                    "zone {code} enters {n_communities} communities: {community_codes}",
                    records=shared["zone_id"].astype(str).to_numpy(), severity="info",
                    code=shared["zone_id"].astype(str).to_numpy(),
                    n_communities=shared["n_communities"].to_numpy(),
                    community_codes=shared["community_codes"].to_numpy())
    return report

