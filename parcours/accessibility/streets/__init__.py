"""The native street engine: per-mode graphs from the ``streets`` layer, snapping, shortest paths.

A :class:`StreetGraph` is built once per territory and mode from the normalised
``streets`` layer (one row per OSM way, raw routing tags, ``node_ids`` aligned with the
vertices of the geometry, in a metric CRS; see ``docs/layers.md``), cached on disk
(:func:`cached_street_graph`) and queried with compiled code only: snapping with a
shapely ``STRtree``, many-to-many travel times with a compiled (numba) binary-heap
Dijkstra, one search per source, sources in parallel, and one-person paths with the
same Dijkstra recording predecessors (:meth:`StreetGraph.path`).
Its semantics follow R5 (what r5py runs) for access and snapping, and osmnx for the graph
conventions (:meth:`StreetGraph.to_networkx` returns an osmnx-style ``MultiDiGraph``).

One module per idea, each with its part of the specification in its docstring:

- :mod:`~parcours.accessibility.streets.profile`: who may use a way, in which direction,
  how fast (R5's access, oneway and speed tables and every difference from R5);
- :mod:`~parcours.accessibility.streets.graph`: the graph (ways cut into chains, island
  pruning), its edges, persistence and travel times;
- :mod:`~parcours.accessibility.streets.snapping`: points to edges, and the first and
  last metres;
- :mod:`~parcours.accessibility.streets.dijkstra`: the compiled searches.
"""

from parcours.accessibility.streets._types import _Pieces
from parcours.accessibility.streets.graph import (
    ENGINE_VERSION,
    StreetEdges,
    StreetGraph,
    StreetPath,
    _prepared,
    cached_street_graph,
)
from parcours.accessibility.streets.profile import (
    BIKE_SPEED_KMH,
    CAR_SPEEDS_KMH,
    IMPLICIT_MAXSPEEDS_KMH,
    WALK_SPEED_KMH,
    StreetMode,
    _car_speeds,
    _direction_of,
    _parse_maxspeed_kmh,
    _permissions,
)
from parcours.accessibility.streets.snapping import MAX_SNAP_M, SnappedPoints

__all__ = [
    "BIKE_SPEED_KMH",
    "CAR_SPEEDS_KMH",
    "ENGINE_VERSION",
    "IMPLICIT_MAXSPEEDS_KMH",
    "MAX_SNAP_M",
    "WALK_SPEED_KMH",
    "SnappedPoints",
    "StreetEdges",
    "StreetGraph",
    "StreetMode",
    "StreetPath",
    "_Pieces",
    "_car_speeds",
    "_direction_of",
    "_parse_maxspeed_kmh",
    "_permissions",
    "_prepared",
    "cached_street_graph",
]
