"""Get data in: read and write layers and tables, build the admin hierarchy, validate and repair inputs.

* :mod:`gridmap.io.read` — what readers accept and clean (:func:`read_layer`, :func:`read_table`);
* :mod:`gridmap.io.write` — the formats written and the atomic write (:func:`write_layer`);
* :mod:`gridmap.io.admin` — division codes and the district → street → community hierarchy;
* :mod:`gridmap.io.city` — a city's layers in one bundle (:class:`City`, :func:`load_city`);
* :mod:`gridmap.io.validation` — input checks and repairs (:func:`validate_admin`, :func:`validate_units`).
"""

from gridmap.io.admin import add_hierarchy, read_division_codes
from gridmap.io.city import City, load_city
from gridmap.io.read import list_layers, read_layer, read_table, record_labels
from gridmap.io.validation import repair_geometries, validate_admin, validate_units
from gridmap.io.write import write_layer

__all__ = ["City", "load_city", "read_layer", "read_table", "list_layers", "record_labels", "write_layer",
           "add_hierarchy",
           "read_division_codes", "validate_admin", "validate_units", "repair_geometries"]
