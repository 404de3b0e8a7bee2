r"""A precomputed index of grids: find the grid of millions of points exactly, building the index once.

:class:`GridIndex` checks the grids (a CRS, unique text codes, valid polygons) and rasterises them onto
two levels of square cells; :meth:`GridIndex.locate` then gives every point the position of its grid by
the rule of :func:`gridmap.cases.assign` — the grid the point ``intersects``, the smallest code when it lies
on a boundary shared by several — with numpy lookups for almost every point and an exact GEOS test only
for the few points within a few metres of a boundary. Build it once and pass it wherever grids are
expected (:func:`gridmap.cases.assign`, the engines of :mod:`gridmap.cases.engines`) to put any number of case
batches in the same grids without building it again.

How it stays exact
------------------
The cells are laid over the grids' bounds. A cell is *mixed* when its closed square, widened by a margin
far larger than floating-point rounding, may touch any grid boundary: every boundary segment is cut into
pieces no longer than a cell and each cell overlapping a piece's widened bounding box is marked (a
superset of the cells really touched). A cell that is not mixed touches no boundary, so it lies wholly in
one grid's interior or wholly outside every grid; which one is decided at its centre, at least half a
cell from any boundary, by a scanline fill (winding numbers, the even-odd rule for valid polygons, summed
along each row without sorting). A point in such a cell gets that answer directly: a
point strictly inside a grid intersects it and no other. Mixed cells of the first level are split into
4 x 4 cells of the second level, classified the same way, so only points in mixed cells of the second
level — a few percent — are tested with GEOS (``shapely.intersects_xy`` on prepared polygons) against
the grids listed for their first-level cell: every grid whose boundary may touch the cell plus the grid
holding its centre, which is every grid that can intersect it. Cells whose centre lies in two grids
(overlapping grids, an error :func:`gridmap.check` reports) are answered by an STR-tree query and the same
exact test. So every result equals the exact predicate; the lattice only decides how much work it takes.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> grids = gpd.GeoDataFrame({"code": ["B", "A"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
...                          crs="EPSG:4547")
>>> index = GridIndex(grids)
>>> index.locate([0.5, 1.0, 1.5, 5.0], [0.5, 0.5, 0.5, 0.5])  # 1.0 is on the shared edge: "A" < "B"
array([ 0,  1,  1, -1])
>>> index.codes[index.locate([0.5], [0.5])]
array(['B'], dtype=object)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from functools import cached_property, partial
from pathlib import Path
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike

from gridmap.cases._nearest import Outline
from gridmap.crs import metric_crs, transformer
from gridmap.errors import CRSError, GeometryError, GridmapError, ReadError, SchemaError
from gridmap.io._atomic import atomic_path
from gridmap.schema import model_columns

__all__ = ["GridIndex", "CELLS_PER_GRID", "REFINE", "fingerprint", "index_path", "checked_grids"]

logger = logging.getLogger(__name__)

#: First-level cells per grid on average (at most 4 million in all).
CELLS_PER_GRID = 256
#: Second-level cells per side of a mixed first-level cell.
REFINE = 4
_MIN_CELLS = 1024
_MAX_CELLS = 4_000_000
# The largest number of second-level cells (one byte each); beyond it ``refine`` is halved.
_MAX_FINE_CELLS = 64_000_000
# Boundary segments (or pieces of them) handled at once while building: small enough for the temporary
# arrays to stay in the processor's cache and be reused, not mapped afresh.
_CHUNK = 1 << 16
# Cells cumulated at once by the second-level scanline fill (bounds the memory of building).
_CELLS_PER_BAND = 4_000_000
# The scanline fill packs (grid + 1) above this many bits and the count of grids below.
_SHIFT_BITS = 20
_SHIFT = 1 << _SHIFT_BITS
# First-level labels besides grid positions (>= 0): outside every grid, and in a cell whose centre is in
# two grids (an STR-tree query decides).
_OUTSIDE, _TREE = -1, -2
# First-level labels <= _BLOCK are mixed cells: mixed cell number _BLOCK - label.
_BLOCK = -3
# Second-level labels (int8) besides slots (>= 0) into the first-level cell's list of candidate grids.
_FINE_OUTSIDE, _FINE_EXACT, _FINE_TREE = -1, -2, -3
_MAX_SLOT = 127
# What GridIndex.save writes: the format's version (load refuses others) and the lattice's attributes.
_FORMAT = 1
_LATTICE_ARRAYS = ("label", "candidate_grids", "candidate_start", "fine")
_LATTICE_NUMBERS = ("x0", "y0", "size", "nx", "ny", "stride", "_magnitude", "refine", "_shift")
# Odd multipliers hashing a segment's four coordinates (their bits) into one sort key.
_HASH = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)
# The cells of a bounding box w + 1 cells wide and h + 1 high (index h * 3 + w), as bits dj * 3 + di.
_BOX_BITS = np.array([sum(1 << (dj * 3 + di) for di in range(w + 1) for dj in range(h + 1))
                      for h in range(3) for w in range(3)], dtype=np.int16)


class GridIndex:
    """Grids prepared for locating points: checked once, rasterised once, reusable for any number of cases.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Valid polygons with a unique text ``code``, a CRS and, optionally, ``community_code``. Not
        modified (the index keeps its own copies of the polygons).
    cells_per_grid : int, default :data:`CELLS_PER_GRID`
        First-level cells per grid on average.
    refine : {1, 2, 4, 8, 16}, default :data:`REFINE`
        Second-level cells per side of a mixed first-level cell; 1 builds no second level. Any values
        give the same results: they trade the index's build time and size (a second level takes most
        of both) against the share of points tested with GEOS.

    Attributes
    ----------
    crs : pyproj.CRS
        The grids' CRS: :meth:`locate` takes coordinates in it.
    codes : numpy.ndarray
        The grid codes (text), in the grids' row order: ``codes[locate(x, y)]`` names the grids.
    community_codes : numpy.ndarray or None
        The grids' ``community_code`` values, or None when the grids have no such column.

    Raises
    ------
    SchemaError, CRSError, GeometryError
        Grids without unique text codes, without a CRS, or with missing, empty or invalid polygons.

    Examples
    --------
    Build once, reuse for every batch:

    >>> import geopandas as gpd
    >>> from shapely import Polygon, box
    >>> ring = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (3, 1), (3, 3), (1, 3)]])
    >>> grids = gpd.GeoDataFrame({"code": ["450102001003002", "450102001003001"]},
    ...                          geometry=[ring, box(1, 1, 3, 3)], crs="EPSG:4547")
    >>> index = GridIndex(grids)
    >>> index
    GridIndex(2 grids, EPSG:4547, ...)
    >>> index.codes[index.locate([0.5, 2.0, 3.0], [0.5, 2.0, 2.0])].tolist()  # 3, 2 is on both
    ['450102001003002', '450102001003001', '450102001003001']
    """

    #: Set by :meth:`load` only: the fingerprint stored in the file.
    _saved_fingerprint: str

    def __init__(self, grids: gpd.GeoDataFrame, *, cells_per_grid: int = CELLS_PER_GRID,
                 refine: int = REFINE):
        if isinstance(cells_per_grid, bool) or not isinstance(cells_per_grid, (int, np.integer)) \
                or cells_per_grid < 1:
            raise GridmapError(f"cells_per_grid={cells_per_grid!r} is not allowed",
                               fix="pass cells_per_grid= a whole number of at least 1")
        if refine not in (1, 2, 4, 8, 16) or isinstance(refine, bool):
            raise GridmapError(f"refine={refine!r} is not allowed", fix="pass refine= 1, 2, 4, 8 or 16")
        geoms, codes, communities = checked_grids(grids)
        self.crs = pyproj.CRS(grids.crs)
        self.codes = _read_only(codes)
        self.community_codes = None if communities is None else _read_only(communities)
        self._geoms = geoms
        self._rank = np.empty(len(codes), dtype=np.int64)
        self._rank[np.argsort(codes.astype(str), kind="stable")] = np.arange(len(codes))
        self._by_rank = np.argsort(self._rank)
        cells = min(max(int(cells_per_grid) * len(geoms), _MIN_CELLS), _MAX_CELLS)
        self._lattice = _Lattice(geoms, self._rank, cells=cells, refine=int(refine)) if len(geoms) else None
        self._start()

    def __len__(self) -> int:
        return len(self.codes)

    def __repr__(self) -> str:
        shape = self._lattice.describe() if self._lattice is not None else "no cells"
        return f"GridIndex({len(self):,} grids, {self.crs.to_string()}, {shape})"

    def __getstate__(self) -> dict:
        """Pickle without the lock and the trees (rebuilt where the index is unpickled)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_tree", "_metric")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._start()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the index to ``path`` (raw arrays behind a JSON header) to :meth:`load` it in milliseconds.

        The file holds the lattice, the grid polygons (coordinates), codes, CRS and the :func:`fingerprint` of
        the grids it was built from, so :meth:`load` can tell when the grids have changed since. It is
        written to a temporary file first and renamed: never half written.

        Returns
        -------
        pathlib.Path
            The path written.

        Examples
        --------
        >>> import geopandas as gpd, tempfile, pathlib
        >>> from shapely import box
        >>> grids = gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4547")
        >>> path = GridIndex(grids).save(pathlib.Path(tempfile.mkdtemp()) / "grids.gridindex")
        >>> GridIndex.load(path, grids=grids).locate([0.5], [0.5])
        array([0])
        """
        path = Path(path)
        arrays = {"crs": np.array(self.crs.to_wkt()), "fingerprint": np.array(self._fingerprint()),
                  "rank": self._rank, "codes": self.codes.astype(str)}
        if len(self._geoms):  # as coordinates and offsets: decoded three times faster than WKB
            kind, coords, offsets = shapely.to_ragged_array(self._geoms)
            arrays.update({"geometry_type": np.array(int(kind)), "coords": coords},
                          **{f"offsets_{i}": offset for i, offset in enumerate(offsets)})
        if self.community_codes is not None:
            missing = pd.isna(self.community_codes)
            arrays["community_codes"] = np.where(missing, "", self.community_codes).astype(str)
            arrays["community_missing"] = missing
        if self._lattice is not None:
            arrays.update({f"lattice_{name}": getattr(self._lattice, name) for name in _LATTICE_ARRAYS})
            arrays.update({f"lattice_{name}": np.array(getattr(self._lattice, name))
                           for name in _LATTICE_NUMBERS})
        with atomic_path(path, what="the grid index") as temporary, open(temporary, "wb") as handle:
            _write_arrays(handle, arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, *, grids: gpd.GeoDataFrame | None = None) -> GridIndex:
        """Read an index written by :meth:`save`.

        Parameters
        ----------
        path : path-like
            A file written by :meth:`save`.
        grids : geopandas.GeoDataFrame, optional
            The grids the index should answer for: when their :func:`fingerprint` differs from the one
            saved (grids, codes or CRS changed since), the index is stale and refused.

        Raises
        ------
        ReadError
            A missing, damaged or stale file (the message says which; build ``GridIndex(grids)`` again).
        """
        path = Path(path)
        arrays = _read_arrays(path)
        if grids is not None and fingerprint(grids) != str(arrays["fingerprint"]):
            raise ReadError("the grid index is stale: the grids changed since it was saved", path=path,
                            fix="build it again with GridIndex(grids).save(path)")
        return cls._from_arrays(arrays)

    @classmethod
    def _from_arrays(cls, arrays: dict[str, np.ndarray]) -> GridIndex:
        index = cls.__new__(cls)
        index.crs = pyproj.CRS.from_wkt(str(arrays["crs"]))
        index.codes = _read_only(arrays["codes"].astype(object))
        index.community_codes = None
        if "community_codes" in arrays:
            communities = arrays["community_codes"].astype(object)
            communities[arrays["community_missing"]] = None
            index.community_codes = _read_only(communities)
        index._geoms = np.empty(0, dtype=object)
        if "coords" in arrays:
            offsets = [arrays[f"offsets_{i}"] for i in range(3) if f"offsets_{i}" in arrays]
            kind = shapely.GeometryType(int(arrays["geometry_type"]))
            index._geoms = shapely.from_ragged_array(kind, arrays["coords"], tuple(offsets))
        index._rank = arrays["rank"]
        index._by_rank = np.argsort(index._rank)
        index._saved_fingerprint = str(arrays["fingerprint"])
        index._lattice = None
        if "lattice_label" in arrays:
            lattice = _Lattice.__new__(_Lattice)
            for name in _LATTICE_ARRAYS:
                setattr(lattice, name, arrays[f"lattice_{name}"])
            for name in _LATTICE_NUMBERS:
                setattr(lattice, name, arrays[f"lattice_{name}"].item())
            index._lattice = lattice
        index._start()
        return index

    def _fingerprint(self) -> str:
        """:func:`fingerprint` of the grids the index was built from."""
        if hasattr(self, "_saved_fingerprint"):
            return self._saved_fingerprint
        return _fingerprint(self.crs, {"code": self.codes, "community_code": self.community_codes},
                            self._geoms)

    def _start(self) -> None:
        shapely.prepare(self._geoms)
        # GEOS prepared geometries build their own indexes lazily and are not thread-safe
        # (libgeos/geos#825): threads sharing this index take turns for the exact tests.
        self._lock = threading.Lock()
        self._tree: shapely.STRtree | None = None
        self._metric: tuple[pyproj.CRS, Outline] | None = None  # built at the first distances()

    def locate(self, x: ArrayLike, y: ArrayLike) -> np.ndarray:
        """Return the position (row) of the grid of each point, -1 for points outside every grid.

        A point belongs to the grids it intersects (interior or boundary); on a boundary shared by
        several grids it gets the one with the smallest code. NaN coordinates give -1.

        Parameters
        ----------
        x, y : array_like of float
            Coordinates in the index's CRS (:attr:`crs`).

        Returns
        -------
        numpy.ndarray of int64
            Positions into :attr:`codes` (the grids' rows), -1 outside.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import box
        >>> index = GridIndex(gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4547"))
        >>> index.locate([0.0, 1.0, 1.5, float("nan")], [0.0, 0.5, 0.5, 0.5])
        array([ 0,  0, -1, -1])
        """
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise GridmapError(f"x and y have different lengths ({len(x)} and {len(y)})",
                               fix="pass one x and one y per point")
        if self._lattice is None:
            return np.full(len(x), -1, dtype=np.int64)
        label, exact, block, tree = self._lattice.look_up(x, y)
        if len(exact) or len(tree):
            with self._lock:
                if len(exact):
                    label[exact] = self._exact(self._lattice, x[exact], y[exact], block)
                if len(tree):
                    label[tree] = self._queried(x[tree], y[tree])
        return label

    def distances(self, x: ArrayLike, y: ArrayLike) -> np.ndarray:
        """Return the distance in metres from each point to the nearest grid (0 on or in a grid).

        Distances are measured in the grids' CRS when it is in metres, else in the metric CRS
        :func:`gridmap.crs.metric_crs` chooses for them.

        Parameters
        ----------
        x, y : array_like of float
            Coordinates in the index's CRS (:attr:`crs`).

        Returns
        -------
        numpy.ndarray of float64

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import box
        >>> index = GridIndex(gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4547"))
        >>> index.distances([0.5, 4.0], [0.5, 5.0])
        array([0., 5.])
        """
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        distance = self.outside_distances(x, y)
        distance[self.locate(x, y) >= 0] = 0.0
        return distance

    def outside_distances(self, x: ArrayLike, y: ArrayLike) -> np.ndarray:
        """Return :meth:`distances` for points known to lie outside every grid (``locate`` gave -1).

        The distance from a point outside every grid to the nearest grid is its distance to the outline
        of all grids: the boundary segments not shared, in opposite directions, by two grids (after
        orienting every ring with the interior on its left; a shared segment has grids on both sides,
        so no point of it is nearest), projected like the grids. Points whose nearest point on the convex
        hull of that outline lies on a grid are measured to the hull in numpy; the others (in a bay of the
        outline or a hole) by one bulk STR-tree ``query_nearest``: no Python loop per point
        (see :mod:`gridmap.cases._nearest`).

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import box
        >>> grids = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        ...                          crs="EPSG:4547")
        >>> GridIndex(grids).outside_distances([5.0, 1.0], [0.5, 4.0])
        array([3., 3.])
        """
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        if not len(self) or not len(x):
            return np.full(len(x), np.nan)
        with self._lock:
            if self._metric is None:
                metric = _metric_crs(gpd.GeoSeries(self._geoms, crs=self.crs))
                ends = _outline(self._geoms)
                if not metric.equals(self.crs):
                    ends = np.stack(_to_metric(self.crs, metric, ends[..., 0], ends[..., 1]), axis=-1)
                self._metric = metric, Outline(ends)
            metric, nearest = self._metric
        if not metric.equals(self.crs):
            x, y = _to_metric(self.crs, metric, x, y)
        with self._lock:  # the outline builds its STR-tree at the first point it cannot answer alone
            return nearest.distances(x, y)

    def _exact(self, lattice: _Lattice, x: np.ndarray, y: np.ndarray, block: np.ndarray) -> np.ndarray:
        """Grid of each point in a mixed cell, by GEOS against the candidates of its first-level cell.

        The candidates are in code order: each point is tested against its cell's first candidate, those
        not in it against the second, and so on; the first hit is the smallest code, and the rest of its
        candidates need no test (a quarter to a half of the tests). Each round tests its points grouped by
        grid (GEOS then walks the same prepared polygon again and again: four times faster than in the
        points' order, and faster than grouped by cell), by a stable sort of 16-bit keys (a radix sort).
        """
        start = lattice.candidate_start[block]
        n = lattice.candidate_start[block + 1] - start
        shift = max((len(self._geoms) - 1).bit_length() - 16, 0)
        found = np.full(len(x), -1, dtype=np.int64)
        active = np.arange(len(x))
        for t in range(int(n.max(initial=0))):
            active = active[n[active] > t]
            if not len(active):
                break
            grids = lattice.candidate_grids[start[active] + t]
            by_grid = np.argsort((grids >> shift).astype(np.uint16), kind="stable")
            active, grids = active[by_grid], grids[by_grid]
            hit = shapely.intersects_xy(self._geoms[grids], x[active], y[active])
            found[active[hit]] = grids[hit]
            active = active[~hit]
        return found

    def _queried(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Grid of each point, by an STR-tree query and GEOS (cells whose centre is in two grids)."""
        if self._tree is None:
            self._tree = shapely.STRtree(self._geoms)
        points, grids = self._tree.query(shapely.points(x, y))
        order = np.argsort(points, kind="stable")
        points, grids = points[order], grids[order]
        return self._first_hit(points, grids, x, y, points, len(x))

    def _first_hit(self, which, grids, x, y, local, n) -> np.ndarray:
        """Return, per point, the grid of smallest code it intersects among its candidates (-1: none).

        The candidate pairs (point ``which``, grid) are grouped by ``local`` (0 .. n-1, ascending).
        """
        hit = shapely.intersects_xy(self._geoms[grids], x[which], y[which])
        missing = np.iinfo(np.int64).max
        ranks = np.where(hit, self._rank[grids], missing)
        best = np.full(n, missing)
        if len(ranks):
            starts = np.flatnonzero(np.concatenate([[True], local[1:] != local[:-1]]))
            best[local[starts]] = np.minimum.reduceat(ranks, starts)
        found = best != missing
        result = np.full(n, -1, dtype=np.int64)
        result[found] = self._by_rank[best[found]]
        return result


_MAGIC = b"GRIDMAP-GRIDINDEX\n"
_ALIGN = 64


def _write_arrays(handle, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` raw, each aligned, behind a header naming their types, shapes and places."""
    entries, offset = [], 0
    for name, array in arrays.items():
        array = np.asarray(array)
        entries.append([name, array.dtype.str, list(array.shape), offset, array.nbytes])
        offset += -(-array.nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"format": _FORMAT, "arrays": entries}).encode()
    start = -(-(len(_MAGIC) + 8 + len(header)) // _ALIGN) * _ALIGN
    handle.write(_MAGIC + len(header).to_bytes(8, "little") + header)
    handle.write(b"\0" * (start - len(_MAGIC) - 8 - len(header)))
    for (*_, nbytes), array in zip(entries, arrays.values(), strict=True):
        handle.write(np.asarray(array).tobytes())  # C order
        handle.write(b"\0" * (-(-nbytes // _ALIGN) * _ALIGN - nbytes))


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read what :func:`_write_arrays` wrote (read-only arrays over one buffer: no copies)."""
    fix = "build it again with GridIndex(grids).save(path)"
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ReadError(f"cannot read the grid index: {error}", path=path, fix=fix) from error
    try:
        if not data.startswith(_MAGIC):
            raise ValueError("not a grid index")
        size = int.from_bytes(data[len(_MAGIC):len(_MAGIC) + 8], "little")
        header = json.loads(data[len(_MAGIC) + 8:len(_MAGIC) + 8 + size])
        if header.get("format") != _FORMAT:
            raise ValueError(f"format {header.get('format')!r}, this gridmap reads {_FORMAT}")
        start = -(-(len(_MAGIC) + 8 + size) // _ALIGN) * _ALIGN
        arrays = {}
        for name, dtype, shape, offset, nbytes in header["arrays"]:
            dtype = np.dtype(dtype)
            if dtype.hasobject or start + offset + nbytes > len(data):
                raise ValueError(f"array {name} is damaged")
            shape = tuple(shape)
            count = nbytes // dtype.itemsize
            arrays[name] = (np.frombuffer(data, dtype, count, start + offset).reshape(shape) if nbytes
                            else np.empty(shape, dtype))
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
        raise ReadError(f"the file is not a readable grid index ({error})", path=path, fix=fix) from error
    return arrays


def index_path(grids_path: str | os.PathLike, layer: str | None = None) -> Path:
    """Return where the index of the grids in ``grids_path`` (and ``layer``) is saved: beside them.

    Examples
    --------
    >>> index_path("demo/gridmap.gpkg", "grids").as_posix()
    'demo/gridmap.gpkg.grids.gridindex'
    """
    path = Path(grids_path)
    return path.with_name(f"{path.name}.{layer}.gridindex" if layer else f"{path.name}.gridindex")


def fingerprint(grids: gpd.GeoDataFrame) -> str:
    """Return a hash (SHA-256, hex) of the grids' codes, community codes, polygons (WKB) and CRS.

    Equal fingerprints mean an index saved for one set of grids answers for the other.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> a = gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4547")
    >>> fingerprint(a) == fingerprint(a.copy()), fingerprint(a) == fingerprint(a.assign(code=["b"]))
    (True, False)
    """
    columns = {name: grids[name].to_numpy(dtype=object) if name in grids.columns else None
               for name in ("code", "community_code")}
    return _fingerprint(None if grids.crs is None else pyproj.CRS(grids.crs), columns,
                        np.asarray(grids.geometry.to_numpy(), dtype=object))


def _fingerprint(crs: pyproj.CRS | None, columns: dict[str, np.ndarray | None], geoms: np.ndarray) -> str:
    digest = hashlib.sha256(b"" if crs is None else crs.to_wkt().encode())
    for name, values in columns.items():
        if values is not None:
            digest.update(f"\0{name}\0".encode())
            digest.update("\0".join(map(str, values.tolist())).encode())
    digest.update(b"".join(shapely.to_wkb(geoms)))
    return digest.hexdigest()


def _read_only(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False
    return values


def _metric_crs(grids: gpd.GeoSeries) -> pyproj.CRS:
    """Return the CRS to measure distances in: the grids' own when in metres, else gridmap's metric CRS."""
    crs = pyproj.CRS(grids.crs)
    if crs.is_projected and crs.axis_info[0].unit_name in ("metre", "meter"):
        return crs
    return metric_crs(grids)


def checked_grids(grids: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check grids as every grid index needs them; return their polygons, codes and community codes.

    The polygons are copies, so preparing them leaves the caller's alone; the community codes are None
    without a ``community_code`` column.

    Raises
    ------
    SchemaError
        Not a GeoDataFrame, no ``code``, a code that is not text or is used twice.
    CRSError
        No CRS.
    GeometryError
        A grid without a polygon or with an invalid one.
    """
    if not isinstance(grids, gpd.GeoDataFrame):
        raise SchemaError(f"grids must be a GeoDataFrame, got {type(grids).__name__}",
                          fix="read them with gridmap.io.read_layer")
    grids = model_columns(grids, "grids")[0]
    if "code" not in grids.columns:
        raise SchemaError(f"grids have no column 'code' (columns: {', '.join(map(str, grids.columns))})",
                          fix="give each grid its code in a column named code")
    if grids.crs is None:
        raise CRSError("grids have no CRS", fix="read them with gridmap.io.read_layer or set_crs()")
    column = grids["code"]
    codes = column.to_numpy(dtype=object)
    if isinstance(column.dtype, pd.StringDtype):  # text or missing: only those two to find
        bad = np.flatnonzero((column.isna() | (column == "")).to_numpy(dtype=bool)).tolist()
    else:
        bad = [i for i, code in enumerate(codes) if not isinstance(code, str) or not code]
    if bad:
        raise SchemaError(f"grid code {codes[bad[0]]!r} is not text", record=f"grid row {bad[0] + 1}",
                          fix="codes are text: read them with gridmap's readers (dtype str)")
    repeated = column.duplicated()
    if repeated.any():
        code = codes[int(np.flatnonzero(repeated.to_numpy())[0])]
        raise SchemaError(f"grid code {code!r} is used by more than one grid", record=f"grid {code}",
                          fix="give every grid its own code (gridmap.division.checks finds duplicates)")
    geoms = np.asarray(grids.geometry.to_numpy(), dtype=object)
    kinds = shapely.get_type_id(geoms)
    wrong = np.flatnonzero(~np.isin(kinds, (3, 6)) | shapely.is_empty(geoms))
    if len(wrong):
        raise GeometryError(f"grid {codes[wrong[0]]} has no polygon", record=f"grid {codes[wrong[0]]}",
                            fix="give every grid a polygon or drop it")
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if len(invalid):
        raise GeometryError(f"grid {codes[invalid[0]]} has an invalid polygon "
                            f"({shapely.is_valid_reason(geoms[invalid[0]])}) and {len(invalid) - 1} more",
                            record=f"grid {codes[invalid[0]]}",
                            fix="repair them with gridmap.io.validation.repair_geometries")
    # copies (GEOS clones, with the same SRID): four times faster than shapely.transform, eight than WKB
    geoms = shapely.set_srid(geoms, shapely.get_srid(geoms))
    has_communities = "community_code" in grids.columns
    communities = grids["community_code"].to_numpy(dtype=object) if has_communities else None
    return geoms, codes, communities


# --- the lattice ----------------------------------------------------------------------------------------

class _Lattice:
    """Two levels of square cells over the grids (see the module's docstring for why it is exact).

    First level: a label per cell (flat index ``j * stride + i``): a grid position (the cell is inside
    that grid), ``_OUTSIDE``, ``_TREE`` (centre inside two grids) or ``_BLOCK - b`` for mixed cell
    number ``b``. Each mixed cell has a list of candidate grids in code order (``candidate_grids`` from
    ``candidate_start[b]`` to ``candidate_start[b + 1]``) and ``refine x refine`` second-level labels
    (int8): a slot in that list, ``_FINE_OUTSIDE``, ``_FINE_EXACT`` (still mixed) or ``_FINE_TREE``.
    """

    def __init__(self, geoms: np.ndarray, rank: np.ndarray, *, cells: int, refine: int):
        boundary = _Boundary(geoms)
        xmin, ymin, xmax, ymax = boundary.bounds()
        width, height = max(xmax - xmin, 1e-300), max(ymax - ymin, 1e-300)
        size = max(np.sqrt(width * height / cells), max(width, height) / 4096)
        self.x0, self.y0, self.size = xmin, ymin, size
        self.nx = int(np.floor((xmax - xmin) / size)) + 1
        self.ny = int(np.floor((ymax - ymin) / size)) + 1
        self.stride = self.nx + 1  # column nx is the fill's spare column
        self._magnitude = max(abs(xmin), abs(xmax), abs(ymin), abs(ymax), size)
        n_grids = np.int64(len(geoms))
        mixed = np.zeros(self.ny * self.stride, dtype=bool)
        touched: list[tuple[np.ndarray, np.ndarray]] = []  # cells (int32: fewer than 2**31) and grids
        total = np.zeros(self.ny * self.stride, dtype=np.int64)
        boundary.scan(xmin, ymin, size, self.nx, self.ny, _margin(size, self._magnitude) / size,
                      partial(_touch, mixed, touched, np.int32(self.stride)), partial(_add_crossings, total))
        label, several = _labels(_row_sums(total, self.ny, self.stride, closed=True), n_grids)
        del total
        label[several] = _TREE
        blocks = np.flatnonzero(np.greater(mixed, several, out=mixed))  # mixed and not several
        del mixed
        centre = np.flatnonzero(label[blocks] >= 0)  # the mixed cells (numbers) whose centre a grid holds
        holder = label[blocks[centre]]
        label[blocks] = _BLOCK - np.arange(len(blocks), dtype=np.int32)
        self.label = label
        # Candidates of each mixed cell, by code: the grids whose boundary may touch it, and the grid
        # holding its centre (it can intersect the cell without its boundary touching it).
        keys = self._candidates(len(blocks), touched, bool(several.any()), (centre, holder), rank)
        del touched, several
        self.refine = refine
        while self.refine > 1 and len(blocks) * self.refine ** 2 > _MAX_FINE_CELLS:
            self.refine //= 2
        self._shift = self.refine.bit_length() - 1
        self.fine = self._fine_labels(boundary, blocks, keys, rank)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s", self.describe())

    def describe(self) -> str:
        """Cells, their size and the share of mixed cells at each level."""
        mixed = len(self.fine) / self.refine ** 2 / (self.nx * self.ny)
        still = float(np.mean(self.fine == _FINE_EXACT)) if len(self.fine) else 0.0
        return (f"{self.nx:,} x {self.ny:,} cells of {self.size:.3g}, {mixed:.1%} mixed, split in "
                f"{self.refine} x {self.refine}: {mixed * still:.1%} of the area tested exactly")

    def _candidates(self, n_blocks: int, touched: list[tuple[np.ndarray, np.ndarray]], overlapping: bool,
                    held: tuple[np.ndarray, np.ndarray], rank: np.ndarray) -> np.ndarray:
        """Set the candidate lists of the mixed cells; return their keys, ``block * n_grids + rank``, sorted.

        ``touched`` holds cells and the grids whose boundary may touch them, ``held`` the mixed cells
        (numbers) whose centre a grid holds and that grid. With ``overlapping`` grids, touched cells whose
        centre is in two grids are no mixed cells. The keys are 32-bit when they fit: sorted three times
        faster.
        """
        n_grids = len(rank)
        kind = np.uint32 if (n_blocks + 1) * n_grids < 2**32 else np.int64
        ranks = rank.astype(kind)
        centre, holder = held
        parts = [centre.astype(kind) * kind(n_grids) + ranks[holder]]
        for cell, grid in touched:
            number = _BLOCK - self.label[cell]
            if overlapping:
                keep = number >= 0
                number, grid = number[keep], grid[keep]
            key = number.astype(kind)
            key *= kind(n_grids)
            key += ranks[grid]
            parts.append(key)
        keys = np.concatenate(parts)
        keys.sort()
        new = np.empty(len(keys), dtype=bool)  # the first of equal keys
        new[:1] = True
        np.not_equal(keys[1:], keys[:-1], out=new[1:])
        keys = keys[new]
        block_of_key, rank_of_key = np.divmod(keys, kind(n_grids))
        self.candidate_grids = np.argsort(rank).astype(np.int32)[rank_of_key]
        # every mixed cell has a candidate (a grid touching it): each block's first key starts its list
        self.candidate_start = np.empty(n_blocks + 1, dtype=np.int64)
        self.candidate_start[0], self.candidate_start[-1] = 0, len(keys)
        np.add(np.flatnonzero(block_of_key[1:] != block_of_key[:-1]), 1, out=self.candidate_start[1:-1])
        return keys

    # --- looking up -------------------------------------------------------------------------------------

    @cached_property
    def _first_labels(self) -> np.ndarray:
        """The first-level labels :meth:`look_up` reads: a 16-bit copy of :attr:`label` below 32,767 grids.

        Mixed cells are all ``_BLOCK`` in the copy (their numbers are read from :attr:`label` for the points
        in them): looking up millions of points in half the memory takes half the time or less.
        """
        if int(self.label.max(initial=-1)) + 1 > np.iinfo(np.int16).max:
            return self.label
        return np.maximum(self.label, _BLOCK).astype(np.int16)

    def look_up(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return per point a grid position or ``_OUTSIDE``, and the points left to test.

        Those are the points in still mixed cells with the number of their first-level cell (to find
        its candidates), and the points in cells whose centre is in two grids (``_TREE``).
        """
        k, shift = self.refine, self._shift
        i, j = _column(x, self.x0, self.size / k), _column(y, self.y0, self.size / k)  # exact: k is 2**n
        inside = (i >= 0) & (i < self.nx * k) & (j >= 0) & (j < self.ny * k)
        everywhere = inside.all()
        if not everywhere:
            i[~inside], j[~inside] = 0, 0
        i, j = i.astype(np.int32), j.astype(np.int32)  # the lattice has fewer than 2**31 cells
        cell = (j >> shift) * np.int32(self.stride) + (i >> shift)
        label = np.take(self._first_labels, cell)
        if not everywhere:
            label[~inside] = _OUTSIDE
        which = np.flatnonzero(label <= _BLOCK)
        b = (_BLOCK - np.take(self.label, cell[which])).astype(np.int64)
        slot = self.fine[b * (k * k) + ((j[which] & (k - 1)) << shift) + (i[which] & (k - 1))]
        label = label.astype(np.int64)
        found = slot >= 0
        label[which[found]] = self.candidate_grids[self.candidate_start[b[found]] + slot[found]]
        label[which[~found]] = _OUTSIDE
        exact = slot == _FINE_EXACT
        tree = np.concatenate([np.flatnonzero(label == _TREE), which[slot == _FINE_TREE]])
        return label, which[exact], b[exact], tree

    # --- building ---------------------------------------------------------------------------------------

    def _fine_labels(self, boundary: _Boundary, blocks: np.ndarray, keys: np.ndarray, rank: np.ndarray
                     ) -> np.ndarray:
        """Second-level labels of the mixed cells (``refine ** 2`` per cell, row by row).

        ``keys`` are the candidates of the mixed cells, ``block * len(rank) + rank of grid``, sorted.
        """
        k, shift = self.refine, self._shift
        labels = np.full(len(blocks) * k * k, _FINE_EXACT, dtype=np.int8)
        if k == 1 or not len(blocks):
            return labels  # a mixed cell is its own second-level cell
        keys = keys.astype(np.int64)
        fine = self.size / k
        nx, ny, stride = self.nx * k, self.ny * k, self.nx * k + 1
        clear = np.ones(len(labels), dtype=bool)

        def touched(i: np.ndarray, j: np.ndarray, grid: np.ndarray) -> None:
            first = self.label[(j >> shift) * np.int64(self.stride) + (i >> shift)]
            keep = first <= _BLOCK  # only mixed first-level cells have a second level
            b = _BLOCK - first[keep].astype(np.int64)
            clear[b * k * k + ((j[keep] & (k - 1)) << shift) + (i[keep] & (k - 1))] = False

        # a second-level cell is ``refine`` (a power of two) times smaller: its coordinates are exactly
        # the first level's times ``refine``
        crossings: list[tuple[np.ndarray, np.ndarray]] = []
        boundary.scan(self.x0, self.y0, fine, nx, ny, _margin(fine, self._magnitude) / fine, touched,
                      lambda flat, weight: crossings.append((flat, weight)))
        flat, weight = (np.concatenate(column) for column in zip(*crossings, strict=True))
        block_row = blocks // self.stride
        pattern = (np.arange(k)[:, None] * stride + np.arange(k)[None, :]).ravel()
        by_row = np.argsort(flat)
        flat, weight = flat[by_row], weight[by_row]
        rows = max(k, _CELLS_PER_BAND // stride // k * k)  # whole first-level rows per band
        for start in range(0, ny, rows):
            stop = min(start + rows, ny)
            inside = np.flatnonzero((block_row >= start // k) & (block_row < stop // k))
            if not len(inside):
                continue
            cell = blocks[inside]
            corner = ((cell // self.stride) * k - start) * stride + (cell % self.stride) * k
            where = (inside[:, None] * k * k + np.arange(k * k)[None, :]).ravel()
            wanted = clear[where]
            where = where[wanted]
            lo, hi = np.searchsorted(flat, [start * stride, stop * stride])
            total = _fill(flat[lo:hi] - start * stride, weight[lo:hi], stop - start, stride)
            holder, several = _labels(total[(corner[:, None] + pattern[None, :]).ravel()[wanted]], len(rank))
            labels[where] = np.where(several | (holder >= 0), _FINE_TREE, _FINE_OUTSIDE)
            one = np.flatnonzero(~several & (holder >= 0))
            number = where[one] // (k * k)
            key = number * len(rank) + rank[holder[one]]
            position = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
            slot = position - self.candidate_start[number]
            listed = (keys[position] == key) & (slot <= _MAX_SLOT)
            labels[where[one[listed]]] = slot[listed]
        return labels


def _touch(mixed: np.ndarray, touched: list[tuple[np.ndarray, np.ndarray]], stride: np.int32,
           i: np.ndarray, j: np.ndarray, grid: np.ndarray) -> None:
    """Mark cells ``(i, j)`` (int32) as mixed and keep them, flat, with their grids."""
    cell = j * stride
    cell += i
    mixed[cell] = True
    touched.append((cell, grid))


def _add_crossings(total: np.ndarray, flat: np.ndarray, weight: np.ndarray) -> None:
    """Add the weights of crossings (whole numbers) into the totals of their cells."""
    np.add.at(total, flat, weight.astype(np.int64))


def _margin(size: float, magnitude: float) -> float:
    """How far beyond its square a cell counts as touched: far more than the rounding of a lookup."""
    return max(1e-9 * size, 1024 * float(np.spacing(magnitude)))


class _Boundary:
    """The grids' boundaries: every ring's vertices, the grid of every segment and which side is inside.

    Polygons without holes are read as they are (their coordinates are their exterior's); only the
    polygons with holes are split into rings.
    """

    def __init__(self, geoms: np.ndarray):
        parts, part_of = _polygons(geoms)
        simple = shapely.get_num_interior_rings(parts) == 0
        if simple.all():
            rings, ring_part, exterior = parts, np.arange(len(parts)), np.ones(len(parts), dtype=bool)
        else:
            holed = np.flatnonzero(~simple)
            split, split_of = shapely.get_rings(parts[holed], return_index=True)
            rings = np.concatenate([parts[simple], split])
            ring_part = np.concatenate([np.flatnonzero(simple), holed[split_of]])
            exterior = np.concatenate([np.ones(int(simple.sum()), dtype=bool),
                                       np.concatenate([[True], split_of[1:] != split_of[:-1]])])
        self.rings, self.exterior, self.grid = rings, exterior, part_of[ring_part]
        self.xy = shapely.get_coordinates(rings)
        self.counts = shapely.get_num_coordinates(rings)  # vertices per ring, the first one again last
        self.first = np.cumsum(self.counts) - self.counts  # each ring's first vertex
        self.vertex_grid = np.repeat(self.grid.astype(np.int32), self.counts)  # fewer than 2**31 grids
        # vertices v and v + 1 bound a segment but where v is a ring's last vertex
        self.real = np.ones(max(len(self.xy) - 1, 0), dtype=bool)
        self.real[self.first[1:] - 1] = False
        self.left: np.ndarray | None = None  # per ring: the interior lies on its left (the first scan)

    def bounds(self) -> tuple[float, float, float, float]:
        """Return the grids' bounds (those of their vertices)."""
        x, y = self.xy[:, 0], self.xy[:, 1]  # column by column: 40 times faster than min(axis=0)
        return float(x.min()), float(y.min()), float(x.max()), float(y.max())

    def scan(self, x0: float, y0: float, size: float, nx: int, ny: int, margin: float,
             touched: Callable[[np.ndarray, np.ndarray, np.ndarray], None],
             crossed: Callable[[np.ndarray, np.ndarray], None]) -> None:
        """Go over the segments on ``nx`` x ``ny`` cells of ``size`` from ``x0, y0``, whole rings at a time.

        Calls ``touched(i, j, grid)`` with the cells each segment may touch (those :func:`_touched` lists,
        ``margin`` in cells) and ``crossed(flat, weight)`` with the cell and weight of every crossing of
        a row's centre line (those of :func:`_crossings`, turned round for rings with the interior on
        their right). Most segments are shorter than a cell and end away from the cell lines (farther
        than twice the margin): the cells they touch are those of their ends and, when they cross a
        corner, the other two of their 2 x 2 box, and they cross at most one row's centre line; those are
        read off their vertices' cells, the others go through :func:`_touched` and :func:`_crossings`.
        The first scan also finds which side of each ring is inside, by the sign of its area in cells
        (coordinates of at most a few thousand: the shoelace is exact enough but for rings so thin that
        rounding could flip it, which ask GEOS).
        """
        first_scan = self.left is None
        if first_scan:
            self.left = np.empty(len(self.rings), dtype=bool)
        left = cast(np.ndarray, self.left)
        for rings in self._parts():
            start = int(self.first[rings.start])
            stop = int(self.first[rings.stop - 1] + self.counts[rings.stop - 1])
            x, y = self.xy[start:stop, 0] - x0, self.xy[start:stop, 1] - y0  # in cells, vertex by vertex
            x /= size
            y /= size
            if first_scan:
                cross = x[:-1] * y[1:]
                cross -= x[1:] * y[:-1]
                first = self.first[rings] - start
                area = _ring_sums(cross, first)
                spread = _ring_sums(np.abs(cross, out=cross), first)
                left[rings] = _interior_left(self.rings[rings], self.exterior[rings], area, spread)
            value = (self.grid[rings] + 1.0) * _SHIFT + 1.0
            np.negative(value, out=value, where=~left[rings])  # rings with the interior on the right
            signed = np.repeat(value, self.counts[rings])[:-1]  # per vertex, for the segment it starts
            grid, real = self.vertex_grid[start:stop - 1], self.real[start:stop - 1]
            _touched_part(x, y, grid, real, nx, ny, margin, touched)
            crossed(*_row_crossings(x, y, signed, real, nx, ny))

    def _parts(self) -> list[slice]:
        """Return runs of whole rings of about :data:`_CHUNK` vertices (a longer ring on its own)."""
        cuts = np.searchsorted(self.first, np.arange(_CHUNK, len(self.xy), _CHUNK))
        edges = np.unique(np.concatenate([[0], cuts, [len(self.rings)]])).tolist()
        return [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


def _ring_sums(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Sum per ring of values given per pair of consecutive vertices (those bounding no segment left out).

    ``first`` is each ring's first vertex; the rings follow each other.
    """
    at = np.empty(2 * len(first) - 1, dtype=np.int64)
    at[0::2] = first
    at[1::2] = first[1:] - 1  # a ring's last vertex: sums up to it, then read no further
    return np.add.reduceat(values, at)[0::2]


def _touched_part(x: np.ndarray, y: np.ndarray, grid: np.ndarray, real: np.ndarray, nx: int, ny: int,
                  margin: float, touched: Callable[[np.ndarray, np.ndarray, np.ndarray], None]) -> None:
    """Call ``touched(i, j, grid)`` with the cells the segments between consecutive vertices may touch.

    ``x, y`` (in cells) hold one vertex more than ``grid`` and ``real`` (whether the vertex starts a
    segment). Lists the cells :func:`_touched` lists, mostly without it: a segment shorter than a cell
    whose ends lie farther than twice ``margin`` from the cell lines touches the cells of its ends and,
    when it crosses a corner, the other one or two of their 2 x 2 box (:func:`_corner_sides`).
    """
    i, j = _vertex_cell(x, nx), _vertex_cell(y, ny)
    special = _near_line(x, i, margin)
    special |= _near_line(y, j, margin)
    special = special[:-1] | special[1:]
    special |= np.maximum(np.abs(x[1:] - x[:-1]), np.abs(y[1:] - y[:-1])) > 1.0  # more than one piece
    special &= real
    touched(i[:-1], j[:-1], grid)  # each vertex (a ring's last is its first again)
    corner = np.flatnonzero((i[:-1] != i[1:]) & (j[:-1] != j[1:]) & real & ~special)
    column_first, row_first = _corner_sides(x, y, i, j, corner, margin)
    touched(i[corner[row_first]], j[corner[row_first] + 1], grid[corner[row_first]])
    touched(i[corner[column_first] + 1], j[corner[column_first]], grid[corner[column_first]])
    other = np.flatnonzero(special)
    if len(other):
        for cells in _touched(x[other], y[other], x[other + 1], y[other + 1], grid[other], nx, ny, margin):
            touched(*cells)


def _corner_sides(x: np.ndarray, y: np.ndarray, i: np.ndarray, j: np.ndarray, corner: np.ndarray,
                  margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Which of the two other cells of their 2 x 2 box segments crossing a corner may touch.

    ``corner`` holds the segments (from vertex ``k`` to ``k + 1``, in cells ``i, j``) that end in
    diagonal cells. A segment whose line passes the cells' common corner farther than four margins away
    crosses the column line first (it touches the cell of its end's column and its start's row) or the
    row line first, and stays farther than that distance from the cell on the corner's other side:
    moving monotonically in x and y, its points are at least as far from that cell's quadrant as the
    corner is from its line. Returns masks over ``corner``: may touch the cell of (end column, start
    row); may touch the cell of (start column, end row). Nearer the corner both.
    """
    xa, ya = x[corner], y[corner]
    dx, dy = x[corner + 1] - xa, y[corner + 1] - ya
    cx, cy = np.maximum(i[corner], i[corner + 1]), np.maximum(j[corner], j[corner + 1])
    cross = dx * (cy - ya) - dy * (cx - xa)  # the corner's side of the line, times its length
    near = np.abs(cross) <= 4.0 * margin * np.hypot(dx, dy)
    column_first = (cross * dx * dy > 0) | near  # crosses x = cx before y = cy
    row_first = ~column_first | near
    return column_first, row_first


def _row_crossings(x: np.ndarray, y: np.ndarray, signed: np.ndarray, real: np.ndarray, nx: int, ny: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_crossings` of the segments between consecutive vertices: cell and weight of each crossing.

    ``x, y`` (in cells) hold one vertex more than ``signed`` (the weight of a crossing by the segment the
    vertex starts, when going south) and ``real`` (whether the vertex starts a segment). Segments crossing
    one row's centre line, nearly all, are done here; those crossing several by :func:`_crossings`.
    """
    row = np.ceil(y - 0.5)  # the first row whose centre line is at or above the vertex
    rows = row[1:] - row[:-1]
    np.abs(rows, out=rows)
    one = np.flatnonzero((rows == 1.0) & real)
    several = np.flatnonzero((rows > 1.0) & real)
    x0, y0, x1, y1 = x[one], y[one], x[one + 1], y[one + 1]
    crossed = np.minimum(row[one], row[one + 1])
    column = (crossed + 0.5 - y0) * (x1 - x0) / (y1 - y0) + x0 - 0.5
    column = np.clip(np.ceil(column, out=column), 0, nx, out=column).astype(np.int64)
    value = signed[one]
    weight = np.where(y0 > y1, value, -value)
    crossed = crossed.astype(np.int64)
    keep = (crossed >= 0) & (crossed < ny)
    more_flat, going, edge = _crossings(x[several], y[several], x[several + 1], y[several + 1],
                                        np.zeros(len(several), dtype=np.int64), nx, ny)
    more_weight = np.sign(going) * signed[several[edge]]  # _crossings' direction, the segment's weight
    return (np.concatenate([(crossed * (nx + 1) + column)[keep], more_flat]),
            np.concatenate([weight[keep], more_weight]))


def _interior_left(rings: np.ndarray, exterior: np.ndarray, area: np.ndarray, spread: np.ndarray
                   ) -> np.ndarray:
    """Whether each ring runs with its polygon's interior on its left, from its (doubled) signed area.

    ``spread`` is the sum of the magnitudes of the area's terms: rings whose area is so small beside it
    that rounding could flip its sign ask GEOS (``is_ccw``).
    """
    ccw = area > 0
    thin = np.flatnonzero(np.abs(area) <= 1e-9 * spread)
    if len(thin):
        lines = rings[thin].copy()
        polygon = shapely.get_type_id(lines) == 3
        lines[polygon] = shapely.get_exterior_ring(lines[polygon])
        ccw[thin] = shapely.is_ccw(lines)
    return ccw == exterior


def _chunks(n: int) -> list[slice]:
    """Slices of ``range(n)`` of :data:`_CHUNK` items."""
    return [slice(start, min(start + _CHUNK, n)) for start in range(0, n, _CHUNK)]


def _polygons(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the polygons of the grids (multipolygons split) and the grid position of each."""
    is_multi = shapely.get_type_id(geoms) == 6
    if is_multi.any():  # splitting copies every geometry: only multipolygons need it
        multi, single = np.flatnonzero(is_multi), np.flatnonzero(~is_multi)
        pieces, piece_of = shapely.get_parts(geoms[multi], return_index=True)
        parts = np.concatenate([geoms[single], pieces])
        part_of = np.concatenate([single, multi[piece_of]])
    else:
        parts, part_of = geoms, np.arange(len(geoms))
    return parts, part_of


def _to_metric(crs: pyproj.CRS, metric: pyproj.CRS, x: np.ndarray, y: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates projected as ``GeoSeries.to_crs`` projects them, without making geometries."""
    return cast(tuple[np.ndarray, np.ndarray], transformer(crs, metric).transform(x, y))


def _outline(geoms: np.ndarray) -> np.ndarray:
    """Return the boundary segments of the grids that no grid shares from the other side.

    As an array of ``(segment, end, x/y)``: two points per segment.

    Rings are taken with the interior on the left (exteriors counter-clockwise, holes clockwise, by the
    sign of their area); a segment met once in each direction (exactly the same end points) has a grid on
    both sides and is dropped. What is left holds the boundary of the union of the grids, so the distance
    from any point outside every grid to it is the distance to the nearest grid.
    """
    rings, ring_of = shapely.get_rings(_polygons(geoms)[0], return_index=True)
    exterior = np.concatenate([[True], ring_of[1:] != ring_of[:-1]])  # each polygon's first ring
    xy, vertex_of = shapely.get_coordinates(rings, return_index=True)
    start = np.flatnonzero(vertex_of[1:] == vertex_of[:-1])
    xa, ya, xb, yb = xy[start, 0], xy[start, 1], xy[start + 1, 0], xy[start + 1, 1]
    ring = vertex_of[start]
    first = np.flatnonzero(np.concatenate([[True], vertex_of[1:] != vertex_of[:-1]]))
    x0, y0 = xy[first[ring]].T  # shoelace about each ring's first vertex: exact sign
    area = np.bincount(ring, weights=(xa - x0) * (yb - y0) - (xb - x0) * (ya - y0), minlength=len(rings))
    backwards = (exterior != (area > 0))[ring]  # this ring runs with its interior on the right
    low = (xa > xb) | ((xa == xb) & (ya > yb))  # the segment's end points in a fixed order
    flip = low != backwards
    key = [np.where(low, xb, xa) + 0.0, np.where(low, yb, ya) + 0.0,  # -0.0 is 0.0
           np.where(low, xa, xb) + 0.0, np.where(low, ya, yb) + 0.0]
    # Sorted by a hash of the end points (one key sorts far faster than four); a pair is shared only
    # when its two segments are equal and opposite, so a collision merely keeps a segment.
    hashed = np.zeros(len(xa), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column, factor in zip(key, _HASH, strict=True):
            hashed += column.view(np.uint64) * np.uint64(factor)
    order = np.argsort(hashed)
    equal = np.concatenate([[False], hashed[order[1:]] == hashed[order[:-1]], [False]])
    pair = np.flatnonzero(equal[1:-1] & ~equal[:-2] & ~equal[2:])  # runs of exactly two equal hashes
    a, b = order[pair], order[pair + 1]
    shared = flip[a] != flip[b]
    for column in key:
        shared &= column[a] == column[b]
    kept = np.ones(len(xa), dtype=bool)
    kept[a[shared]] = kept[b[shared]] = False
    return np.stack([np.column_stack([xa[kept], ya[kept]]), np.column_stack([xb[kept], yb[kept]])], axis=1)


def _touched(xa, ya, xb, yb, grid, nx: int, ny: int, margin: float):
    """Yield (i, j, grid) of the cells whose square widened by ``margin`` may touch a segment, in chunks.

    Segments (in cells) are cut into pieces no longer than a cell; every cell overlapping a piece's
    bounding box, widened by ``margin`` (in cells), is listed (at most 3 x 3 cells per piece).
    """
    pieces = np.maximum(np.ceil(np.maximum(abs(xb - xa), abs(yb - ya))), 1).astype(np.int64)
    ends = np.cumsum(pieces)
    cuts = np.searchsorted(ends, np.arange(_CHUNK, int(ends[-1]), _CHUNK), side="right")
    edges = [0, *np.unique(cuts).tolist(), len(xa)]
    for first, last in zip(edges[:-1], edges[1:], strict=True):
        if first < last:
            yield _touched_chunk(*_pieces(xa[first:last], ya[first:last], xb[first:last], yb[first:last],
                                          grid[first:last], pieces[first:last]), nx, ny, margin)


def _pieces(xa: np.ndarray, ya: np.ndarray, xb: np.ndarray, yb: np.ndarray, grid: np.ndarray,
            pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut segments into ``pieces`` equal pieces each: start x, y, end x, y and grid of every piece."""
    if not (pieces > 1).any():
        return xa, ya, xb, yb, grid
    owner = np.repeat(np.arange(len(xa)), pieces)
    step = np.arange(len(owner)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    t0, t1 = step / pieces[owner], (step + 1) / pieces[owner]
    last = step + 1 == pieces[owner]
    dx, dy = xb[owner] - xa[owner], yb[owner] - ya[owner]
    px0, py0 = xa[owner] + dx * t0, ya[owner] + dy * t0
    px1 = np.where(last, xb[owner], xa[owner] + dx * t1)
    py1 = np.where(last, yb[owner], ya[owner] + dy * t1)
    return px0, py0, px1, py1, grid[owner]


def _touched_chunk(px0: np.ndarray, py0: np.ndarray, px1: np.ndarray, py1: np.ndarray, grid: np.ndarray,
                   nx: int, ny: int, margin: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the cell of each piece's start and the cells of its widened bounding box but its end's.

    A piece's end is the next piece's start (rings are closed), so these are the cells of the boxes,
    in about half as many pairs.
    """
    i0, i1 = _cell(np.minimum(px0, px1), nx, -margin), _cell(np.maximum(px0, px1), nx, margin)
    j0, j1 = _cell(np.minimum(py0, py1), ny, -margin), _cell(np.maximum(py0, py1), ny, margin)
    ia, ja, ib, jb = _cell(px0, nx), _cell(py0, ny), _cell(px1, nx), _cell(py1, ny)
    ends = (1 << ((ja - j0) * 3 + ia - i0)) | (1 << ((jb - j0) * 3 + ib - i0))
    bits = _BOX_BITS[(j1 - j0) * 3 + (i1 - i0)] & ~ends
    more = np.flatnonzero(bits)  # pieces crossing a corner, or near one: a few
    bits, i0, j0, more_grid = bits[more], i0[more], j0[more], grid[more]
    cells = [np.flatnonzero(bits & (1 << offset)) for offset in range(9)]
    di, dj = np.arange(9, dtype=np.int32) % 3, np.arange(9, dtype=np.int32) // 3
    return (np.concatenate([ia, *(i0[c] + di[o] for o, c in enumerate(cells))]),
            np.concatenate([ja, *(j0[c] + dj[o] for o, c in enumerate(cells))]),
            np.concatenate([grid, *(more_grid[c] for c in cells)]))


def _cell(v: np.ndarray, n: int, shift: float = 0.0) -> np.ndarray:
    """Return the column (or row) of coordinates (in cells) moved by ``shift``, clipped to 0 .. n - 1.

    Clipped first: then truncating is flooring.
    """
    v = v + shift if shift else v.copy()
    return np.clip(v, 0, n - 1, out=v).astype(np.int32)


def _vertex_cell(v: np.ndarray, n: int) -> np.ndarray:
    """Return :func:`_cell` of coordinates (in cells) from 0 up, as the vertices': truncating floors them."""
    cell = v.astype(np.int32)
    return np.minimum(cell, n - 1, out=cell)


def _near_line(v: np.ndarray, column: np.ndarray, margin: float) -> np.ndarray:
    """Whether coordinates (in cells) lie within twice ``margin`` of a line between cells.

    Away from the lines, moving a coordinate by the margin leaves its cell (``column``) unchanged.
    """
    offset = v - column
    return (offset <= 2.0 * margin) | (offset >= 1.0 - 2.0 * margin)


def _column(v: np.ndarray, origin: float, size: float) -> np.ndarray:
    """``floor((v - origin) / size)``: the column (or row) of a coordinate, NaN for NaN."""
    column = np.subtract(v, origin)
    column /= size
    return np.floor(column, out=column)


def _crossings(xa, ya, xb, yb, grid, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where segments (in cells) cross the centre lines of the rows: cell, weight and segment of each.

    Cells are numbered row by row, ``nx + 1`` per row. A crossing counts from
    the first cell whose centre is at or east of it (column ``nx`` is the spare column); its weight is
    ``(grid + 1) * 2**20 + 1``, positive where the segment goes south: where the boundary of a ring with
    its interior on the left enters the grid going east (:meth:`_Boundary.scan` turns the others round).
    Summed along a row (:func:`_fill`) they give at each cell centre the number of grids holding it and,
    packed above, their positions + 1: the winding rule, which is the even-odd rule for valid polygons,
    without sorting the crossings along the rows.
    """
    r0, r1 = np.minimum(ya, yb), np.maximum(ya, yb)
    r0, r1 = np.ceil(r0 - 0.5, out=r0), np.ceil(r1 - 0.5, out=r1)
    crossing = np.flatnonzero(r1 > r0)  # rows r0 .. r1 - 1 cross
    n = (r1[crossing] - r0[crossing]).astype(np.int64)
    edge = np.repeat(crossing, n)
    row = np.repeat(r0[crossing].astype(np.int64) - np.cumsum(n) + n, n) + np.arange(len(edge))
    x0, y0, x1, y1 = xa[edge], ya[edge], xb[edge], yb[edge]
    column = (row + 0.5 - y0) * (x1 - x0) / (y1 - y0) + x0 - 0.5
    column = np.clip(np.ceil(column, out=column), 0, nx, out=column).astype(np.int64)
    value = (grid[edge] + 1.0) * _SHIFT + 1.0
    weight = np.where(y0 > y1, value, -value)
    keep = (row >= 0) & (row < ny)
    return (row * (nx + 1) + column)[keep], weight[keep], edge[keep]


def _fill(flat: np.ndarray, weight: np.ndarray, rows: int, stride: int) -> np.ndarray:
    """Return the grids holding the centre of each cell of ``rows`` rows from the crossings' cells, packed.

    One value per cell (flat, ``stride`` per row); :func:`_labels` reads it.
    """
    total = np.zeros(rows * stride, dtype=np.int64)
    np.add.at(total, flat, weight.astype(np.int64))
    return _row_sums(total, rows, stride)


def _row_sums(total: np.ndarray, rows: int, stride: int, *, closed: bool = False) -> np.ndarray:
    """Sum the crossings' weights, added up per cell in ``total``, along the rows (in place).

    Each crossing adds its weight (a whole number) from its cell on: the sums are taken in int64 (seven
    times faster than in float64). With ``closed``, refuse boundaries whose crossings do not add up to
    nothing along a row.
    """
    sums = total.reshape(rows, stride)
    np.cumsum(sums, axis=1, out=sums)
    if closed and np.any(sums[:, -1] != 0):
        raise GeometryError("a grid boundary is not closed", fix="repair the grid polygons")
    return total


def _labels(total: np.ndarray, n_grids: int) -> tuple[np.ndarray, np.ndarray]:
    """Return per cell the grid holding its centre (``_OUTSIDE``: none) and whether several hold it.

    From :func:`_fill`'s sums. A centre within rounding of a boundary may sum to no clear answer; it
    counts as held by several grids (such a cell is mixed: its points are tested exactly). Overwrites
    ``total``.
    """
    held = total != 0
    label = np.empty(len(total), dtype=np.int32)
    np.right_shift(total, _SHIFT_BITS, out=label, casting="unsafe")  # as astype(np.int32): no int64 copy
    label -= 1  # _OUTSIDE where no grid holds the centre
    several = np.bitwise_and(total, _SHIFT - 1, out=total) != 1
    several |= label.view(np.uint32) >= n_grids
    several &= held
    return label, several
