"""Engines for more cases than one in-memory frame holds: out-of-core batches and dask clusters.

* :mod:`gridmap.cases.engines.chunked` — partitioned GeoParquet read in bounded batches on one machine
  (:func:`assign_partitioned`, :func:`aggregate_partitioned`);
* :mod:`gridmap.cases.engines.dask` — the same assignment and roll-ups on a dask cluster (:func:`assign_dask`,
  :func:`aggregate_dask`; ``pip install gridmap[dask]``, imported only when called).

Both put cases in grids with :func:`gridmap.cases.assign`, so their results equal the in-memory ones.
"""

from gridmap.cases.engines.chunked import DEFAULT_BATCH_SIZE, aggregate_partitioned, assign_partitioned
from gridmap.cases.engines.dask import aggregate_dask, assign_dask

__all__ = ["assign_partitioned", "aggregate_partitioned", "assign_dask", "aggregate_dask",
           "DEFAULT_BATCH_SIZE"]
