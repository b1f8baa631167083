"""Geographic plumbing with no mobility concept: CRS policy, vector and CSV I/O, grids."""

from parcours.geo.crs import LAMBERT93, WGS84, metric_crs_for, require_crs, transformer
from parcours.geo.tables import (
    TextTable,
    decode_text,
    line_of,
    read_text_table,
    require_columns,
    to_float,
    to_int,
)
from parcours.geo.vector import read_points, read_vector, write_layer

__all__ = [
    "LAMBERT93",
    "WGS84",
    "TextTable",
    "decode_text",
    "line_of",
    "metric_crs_for",
    "read_points",
    "read_text_table",
    "read_vector",
    "require_columns",
    "require_crs",
    "to_float",
    "to_int",
    "transformer",
    "write_layer",
]
