"""Read and write layers and tables: read_layer, read_table, list_layers, write_layer.

See :mod:`gridmap.io.read` for what readers accept and clean, :mod:`gridmap.io.write` for the formats
written and the atomic write.
"""

from gridmap.io.read import list_layers, read_layer, read_table, record_labels
from gridmap.io.write import write_layer

__all__ = ["read_layer", "read_table", "list_layers", "record_labels", "write_layer"]
