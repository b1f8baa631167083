"""Accessibility: travel-time matrices, isochrones and itineraries, native or R5.

The public API mirrors r5py's (parameter names, timedelta durations, km/h speeds,
result schema) so that ``engine="native"`` (default, no JVM) and ``engine="r5"``
(r5py) are interchangeable.
"""

from parcours.accessibility.aggregate import cumulative_opportunities, nearest_opportunity
from parcours.accessibility.isochrones import isochrones
from parcours.accessibility.itinerary import itinerary
from parcours.accessibility.matrix import (
    earliest_arrival_matrix,
    latest_departure_matrix,
    travel_time_matrix,
)
from parcours.accessibility.network import TransportNetwork
from parcours.accessibility.pairs import pair_times
from parcours.accessibility.params import QueryParams, TransportMode
from parcours.accessibility.results import AccessibilityWarning, QueryReport

__all__ = [
    "AccessibilityWarning",
    "QueryParams",
    "QueryReport",
    "TransportMode",
    "TransportNetwork",
    "cumulative_opportunities",
    "earliest_arrival_matrix",
    "isochrones",
    "itinerary",
    "latest_departure_matrix",
    "nearest_opportunity",
    "pair_times",
    "travel_time_matrix",
]
