"""parcours.maps: the diagnostic's report, maps and GIS files (see DESIGN.md).

Nothing here computes an indicator: it shows what :mod:`parcours.diagnostic` published,
and, for advisors, what :mod:`parcours.matching` answered (the printable plan of one
person and the map of their ways, the caseload's map).
"""

from parcours.maps.advisor import write_caseload_outputs
from parcours.maps.caseload import caseload_map
from parcours.maps.exports import write_geopackage, write_tables
from parcours.maps.itinerary import itinerary_map
from parcours.maps.plan import render_plan
from parcours.maps.report import MapSection, Outputs, diagnose, write_outputs, write_report

__all__ = [
    "MapSection",
    "Outputs",
    "caseload_map",
    "diagnose",
    "itinerary_map",
    "render_plan",
    "write_caseload_outputs",
    "write_geopackage",
    "write_outputs",
    "write_report",
    "write_tables",
]
