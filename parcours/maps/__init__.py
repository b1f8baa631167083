"""parcours.maps: the diagnostic's report, maps and GIS files (see DESIGN.md).

Nothing here computes an indicator: it shows what :mod:`parcours.diagnostic` published.
"""

from parcours.maps.exports import write_geopackage, write_tables
from parcours.maps.report import MapSection, Outputs, diagnose, write_outputs, write_report

__all__ = [
    "MapSection",
    "Outputs",
    "diagnose",
    "write_geopackage",
    "write_outputs",
    "write_report",
    "write_tables",
]
