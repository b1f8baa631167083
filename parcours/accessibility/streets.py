"""The native street engine: per-mode graphs from the ``streets`` layer, snapping, matrices.

A :class:`StreetGraph` is built once per territory and mode from the normalised
``streets`` layer (one row per OSM way, raw routing tags, ``node_ids`` aligned with the
vertices of the geometry, in a metric CRS; see ``docs/layers.md``), cached on disk
(:func:`cached_street_graph`) and queried with compiled code only: snapping with a
shapely ``STRtree``, many-to-many travel times with a compiled (numba) binary-heap
Dijkstra, one search per source, sources in parallel.
Its semantics follow R5 (what r5py runs) for access and snapping, and osmnx for the graph
conventions (:meth:`StreetGraph.to_networkx` returns an osmnx-style ``MultiDiGraph``).

Graph
-----
The ways usable by the mode (in at least one direction) are cut at their *graph nodes*:
the OSM nodes shared by two usable ways or more (or met twice by one way) and the ends
of every way. Each piece of a way between two graph nodes is one *chain* (osmnx's
simplified edge, but never merged across two ways, so that an edge keeps one ``osmid``,
``highway`` and ``name``); it gives a directed edge per allowed direction, with its length
(planar, in the metric CRS) and its free-flow travel time. Like R5, small islands are
pruned: nodes in a strongly connected component of fewer than 40 nodes (or than the
largest component when that is smaller) are dropped with their chains, so that no point
snaps to a fragment from which nothing can be reached.

Access (who may use a way)
--------------------------
R5's ``TraversalPermissionLabeler`` (with the ``USTraversalPermissionLabeler`` defaults
that R5, and so r5py, applies everywhere) is the reference: a tree ``access -> foot``,
``access -> vehicle -> bicycle | motor vehicle`` with defaults by ``highway`` class
(- = none, inherited):

==========================================================  ======  ====  =======  ===
highway                                                     access  foot  bicycle  car
==========================================================  ======  ====  =======  ===
motorway, motorway_link                                     yes     no    no       -
trunk, primary, secondary, tertiary (and links),            yes     -     -        -
unclassified, residential, living_street, road, service,
track, any other value
pedestrian, path, bridleway, cycleway                       no      yes   yes      no
footway, steps, corridor, elevator, escalator, platform     no      yes   no       no
bus_guideway, busway                                        no      -     -        no
==========================================================  ======  ====  =======  ===

For each way and mode the first known label wins, in this order: the mode's own tags
(``foot``; ``bicycle``, then ``cycleway`` unless ``no``, then ``cycleway:both``;
``motor_vehicle``, then ``motorcar``); a restrictive ``access`` (*no* or *destination*
below); the class default of the mode; any other known ``access``; the class default
``access``. Tag values (the first of ``a;b``): *yes* = yes, 1, true, designated,
permissive, official, public, unknown, limited, lane, track, shared_lane, share_busway,
crossing; *no* = no, 0, false, private, agricultural, forestry, license, restricted,
prohibited, emergency, use_sidepath, dismount; *destination* = destination, customers,
customer, delivery, residents, resident, which R5 routes as "no through traffic": here
*no* for the car (a point there snaps to the nearest public road; no through traffic is
not modelled) and *yes* on foot and by bike. Other values are ignored. Differences from
R5: an explicit restrictive ``access`` beats the class default (R5 keeps
``access=private`` footways open to walkers); ``access=yes`` does not open a class that
the table closes to a mode (R5 opens ``access=yes`` footways to cars); the ``car`` and
``bicycle`` cells of the pedestrian rows and the bus-only classes (R5 treats them as
roads); private and destination ways (R5 allows them at the ends of a trip only).

``wheelchair=True`` (walk only) also drops ``highway=steps`` and the ways whose
``wheelchair`` tag says *no* (``limited`` is kept, as in R5).

Direction
---------
``oneway=yes|true|1`` forward only, ``oneway=-1|reverse`` backward only (any other value:
both ways); ``junction=roundabout|circular`` and ``highway=motorway`` imply
``oneway=yes`` unless ``oneway`` says otherwise. Pedestrians ignore oneway. Bicycles
follow ``oneway``, overridden by ``oneway:bicycle``; ``cycleway:right`` = *yes* (lane,
track...) opens the forward direction and ``cycleway:left`` = *yes* the backward one to
bicycles before oneway is applied; a contraflow (``cycleway``, ``cycleway:right`` or
``cycleway:left`` starting with ``opposite``) then reopens the direction against the
traffic (R5's rules, ``oneway:bicycle=no`` being the modern tagging of the same).

Speeds
------
Walk and bike: one speed for every edge, r5py's defaults 3.6 and 12 km/h. Car: free-flow
at the speed limit, like osmnx (no congestion, turn or signal delay; R5 adds turn
costs of 10 s right, 30 s left and 90 s for a U-turn, so its car times are longer in
dense centres, 2 to 6 minutes on the Helsinki references): the parsed
``maxspeed`` (numbers in km/h, ``mph`` and ``knots`` converted; ``a;b`` and lane lists
``a|b``: the lowest; ``FR:urban`` 50, ``FR:rural`` 80, ``FR:motorway`` 130,
``FR:zone30`` 30 and every ``*:zoneNN`` NN, ``FR:living_street`` 20, ``walk`` and
``FR:walk`` 6; other countries' implicit values from osmnx's table; ``none``,
``signals``, ``variable``: unknown). Without a usable ``maxspeed``, a ``*_link`` takes the
mean of the tagged ways of its class in the territory (osmnx's imputation), and
everything else the table below (km/h), urban or rural:

================  =====  =====
highway           urban  rural
================  =====  =====
motorway          110    130
motorway_link     70     90
trunk             70     110
other ``*_link``  50     70
primary           50     80
secondary         50     80
tertiary          50     80
unclassified      50     70
road              50     70
residential       30     50
living_street     20     20
service           20     30
parking aisle     10     10
track             20     20
other             30     50
================  =====  =====

**Urban or rural**: a chain is urban when the junctions of the car network (its nodes
of degree 3 or more) reach 38 per km² around it: counted on a grid of 100 m cells, in
the 1.1 km x 1.1 km square of 11 x 11 cells centred on the cell of the midpoint of the
chain's ends (46 junctions). Town centres have hundreds per km², suburbs 40 to 100,
villages and open country far fewer; on the test data, 98 % of the chains of central
Nantes, Helsinki and São Paulo are urban, 89 % in Cobb County (suburban Atlanta) and
16 % on Saint-Barthélemy (Gustavia and Saint-Jean).

Snapping and the first and last metres
--------------------------------------
A point snaps to the nearest point of the nearest edge usable by the mode (either
direction; R5 wants both), within ``max_snap_m`` (R5's 1,600 m); ``highway=motorway``
is never snapped to (R5's rule; tunnels and covered ways, also excluded by R5, are not in
the layer). A point with no edge in range is reported (``ok`` False, travel times
``inf``), never dropped. R5 then walks the off-street leg between the point and the
snapped point, for every mode: at a fixed 1.3 m/s at the origin
(``StreetRouter.setOrigin``) and at the request's walking speed at the destination
(``LinkedPointSet.eval``); the part along the edge to its ends is at the mode's speed.
This engine does the same with one walking speed at both ends: the graph's speed for
walk, r5py's walking speed (3.6 km/h) for bike and car, unless ``snap_speed_kmh`` is given.
An origin and a destination on the same edge are also joined directly along it when
the edge's direction allows (R5 always joins them, ignoring the direction).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from numba import njit, prange
from pyproj import CRS
from scipy import sparse
from scipy.sparse import csgraph

from parcours.errors import InputError
from parcours.i18n import tr
from parcours.territories.workspace import file_digest

__all__ = [
    "SnappedPoints",
    "StreetEdges",
    "StreetGraph",
    "StreetMode",
    "cached_street_graph",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]

#: Changes whenever the graph built from the same layer could change (part of cache keys).
ENGINE_VERSION: Final = "streets-1"
#: r5py's default walking speed, also the speed of the off-street legs of bike and car.
WALK_SPEED_KMH: Final = 3.6
#: r5py's default cycling speed.
BIKE_SPEED_KMH: Final = 12.0
#: R5's search radius around a point for a street to snap to (``LINK_RADIUS_METERS``).
MAX_SNAP_M: Final = 1600.0
#: R5's smallest kept island (``StreetLayer.MIN_SUBGRAPH_SIZE``), in graph nodes.
MIN_ISLAND_NODES: Final = 40
#: The urban rule (see the module docstring): grid cell, half window in cells, density.
URBAN_CELL_M: Final = 100.0
URBAN_HALF_WINDOW: Final = 5
URBAN_MIN_JUNCTIONS_PER_KM2: Final = 38.0
_MAX_URBAN_CELLS: Final = 10_000_000
#: Origins per Dijkstra batch times graph nodes: bounds the memory of one batch (float64).
_BATCH_CELLS: Final = 10_000_000


class StreetMode(StrEnum):
    """A street mode of the native engine."""

    WALK = "walk"
    BIKE = "bike"
    CAR = "car"


# --- access labels ----------------------------------------------------------------------

_UNKNOWN, _YES, _NO, _DESTINATION = 0, 1, 2, 3

_YES_VALUES = frozenset(
    {
        "yes",
        "1",
        "true",
        "designated",
        "permissive",
        "official",
        "public",
        "unknown",
        "limited",
        "lane",
        "track",
        "shared_lane",
        "share_busway",
        "crossing",
    }
)
_NO_VALUES = frozenset(
    {
        "no",
        "0",
        "false",
        "private",
        "agricultural",
        "forestry",
        "license",
        "restricted",
        "prohibited",
        "emergency",
        "use_sidepath",
        "dismount",
    }
)
_DESTINATION_VALUES = frozenset(
    {"destination", "customers", "customer", "delivery", "residents", "resident"}
)

# (access, foot, bicycle, car) defaults by highway; anything else is a road (access yes).
_ROAD: Final = (_YES, _UNKNOWN, _UNKNOWN, _UNKNOWN)
_PATH_LIKE: Final = (_NO, _YES, _YES, _NO)
_FOOT_ONLY: Final = (_NO, _YES, _NO, _NO)
_DEFAULT_ACCESS: dict[str, tuple[int, int, int, int]] = {
    "motorway": (_YES, _NO, _NO, _UNKNOWN),
    "motorway_link": (_YES, _NO, _NO, _UNKNOWN),
    "pedestrian": _PATH_LIKE,
    "path": _PATH_LIKE,
    "bridleway": _PATH_LIKE,
    "cycleway": _PATH_LIKE,
    "footway": _FOOT_ONLY,
    "steps": _FOOT_ONLY,
    "corridor": _FOOT_ONLY,
    "elevator": _FOOT_ONLY,
    "escalator": _FOOT_ONLY,
    "platform": _FOOT_ONLY,
    "bus_guideway": (_NO, _UNKNOWN, _UNKNOWN, _NO),
    "busway": (_NO, _UNKNOWN, _UNKNOWN, _NO),
}

# --- directions -------------------------------------------------------------------------

_BOTH, _FORWARD, _BACKWARD = 0, 1, 2
_ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
_ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
_ROUNDABOUT = frozenset({"roundabout", "circular"})

# --- car speeds -------------------------------------------------------------------------

#: (urban, rural) speed in km/h by highway class when ``maxspeed`` is missing.
CAR_SPEEDS_KMH: dict[str, tuple[float, float]] = {
    "motorway": (110.0, 130.0),
    "motorway_link": (70.0, 90.0),
    "trunk": (70.0, 110.0),
    "trunk_link": (50.0, 70.0),
    "primary": (50.0, 80.0),
    "primary_link": (50.0, 70.0),
    "secondary": (50.0, 80.0),
    "secondary_link": (50.0, 70.0),
    "tertiary": (50.0, 80.0),
    "tertiary_link": (50.0, 70.0),
    "unclassified": (50.0, 70.0),
    "road": (50.0, 70.0),
    "residential": (30.0, 50.0),
    "living_street": (20.0, 20.0),
    "service": (20.0, 30.0),
    "track": (20.0, 20.0),
}
_PARKING_AISLE_KMH: Final = 10.0
_OTHER_CAR_SPEED_KMH: Final = (30.0, 50.0)

#: Implicit ``maxspeed`` values (lower-case) read before osmnx's table.
IMPLICIT_MAXSPEEDS_KMH: dict[str, float] = {
    "fr:urban": 50.0,
    "fr:rural": 80.0,
    "fr:motorway": 130.0,
    "fr:living_street": 20.0,
    "fr:walk": 6.0,
    "walk": 6.0,
}
#: Last resort for ``CC:kind`` values of countries absent from both tables.
_GENERIC_MAXSPEEDS_KMH: dict[str, float] = {
    "urban": 50.0,
    "rural": 80.0,
    "motorway": 120.0,
    "trunk": 100.0,
    "living_street": 20.0,
    "walk": 6.0,
}
_MAXSPEED_NUMBER = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots)?$")
_MAXSPEED_ZONE = re.compile(r"(?:^|:)zone:?(\d+)$")
_UNIT_KMH = {None: 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0, "mph": 1.609344, "knots": 1.852}

#: Columns of the layer read by the engine (the tag columns may be absent).
_TAG_COLUMNS: Final = (
    "highway",
    "name",
    "access",
    "foot",
    "bicycle",
    "motor_vehicle",
    "motorcar",
    "oneway",
    "oneway_bicycle",
    "cycleway",
    "cycleway_left",
    "cycleway_right",
    "cycleway_both",
    "maxspeed",
    "junction",
    "wheelchair",
    "service",
)
_READ_COLUMNS: Final = ("osm_id", *_TAG_COLUMNS, "node_ids", "geometry")


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SnappedPoints:
    """Points snapped to a :class:`StreetGraph` (the result of :meth:`StreetGraph.snap`).

    Attributes
    ----------
    edge
        The directed edge each point snapped to (index into :meth:`StreetGraph.edge_geometries`),
        -1 when the point is unsnapped.
    fraction
        Where along that edge, from its ``from_node`` (0) to its ``to_node`` (1); NaN when
        unsnapped.
    snap_distance_m
        Distance from the point to the snapped point (the off-street leg), NaN when
        unsnapped.
    ok
        Whether the point snapped (an edge lay within the snapping distance).
    point_x, point_y
        The points as given, in the graph's CRS.
    snapped_x, snapped_y
        The snapped points on the edges (NaN when unsnapped).

    """

    edge: IntArray
    fraction: FloatArray
    snap_distance_m: FloatArray
    ok: BoolArray
    point_x: FloatArray
    point_y: FloatArray
    snapped_x: FloatArray
    snapped_y: FloatArray

    def __len__(self) -> int:
        """Return the number of points."""
        return len(self.edge)

    def take(self, index: IntArray | slice) -> SnappedPoints:
        """The points at ``index`` (an index array or a slice), in that order."""
        return SnappedPoints(
            edge=self.edge[index],
            fraction=self.fraction[index],
            snap_distance_m=self.snap_distance_m[index],
            ok=self.ok[index],
            point_x=self.point_x[index],
            point_y=self.point_y[index],
            snapped_x=self.snapped_x[index],
            snapped_y=self.snapped_y[index],
        )

    @property
    def n_unsnapped(self) -> int:
        """The number of points that found no street within the snapping distance."""
        return int(np.count_nonzero(~self.ok))

    def unsnapped_message(self) -> str | None:
        """Return a translated message counting the unsnapped points (None if none)."""
        n = self.n_unsnapped
        if n == 0:
            return None
        return tr(
            f"{n} point(s) sur {len(self)} sans voie utilisable à moins de la distance "
            "d'accrochage : temps de parcours inconnus (vérifiez leurs coordonnées et "
            "l'emprise de l'extrait OSM)",
            f"{n} of {len(self)} point(s) have no usable street within the snapping "
            "distance: travel times unknown (check their coordinates and the extent of "
            "the OSM extract)",
        )


@dataclass(frozen=True, eq=False)
class StreetEdges:
    """The directed edges of a :class:`StreetGraph`, as parallel arrays.

    Attributes
    ----------
    geometry
        LineStrings from ``from_node`` to ``to_node`` (a backward edge has the reversed
        geometry of its way piece), in the graph's CRS.
    from_node, to_node
        Graph node indices (see :attr:`StreetGraph.node_osm_id`).
    length_m, travel_time_s, speed_kmh
        Length, free-flow travel time and speed.
    osm_id
        The OSM way.
    highway, name
        The way's tags (``name`` None when absent).
    reversed
        Whether the edge runs against the way's node order.
    reverse_edge
        The edge of the same way piece in the other direction, -1 when it is one-way.
    crs
        The graph's CRS.

    """

    geometry: ObjectArray
    from_node: IntArray
    to_node: IntArray
    length_m: FloatArray
    travel_time_s: FloatArray
    speed_kmh: FloatArray
    osm_id: IntArray
    highway: ObjectArray
    name: ObjectArray
    reversed: BoolArray
    reverse_edge: IntArray
    crs: CRS

    def __len__(self) -> int:
        """Return the number of edges."""
        return len(self.from_node)

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """Return the edges as a GeoDataFrame (one row per directed edge)."""
        columns = {
            name: getattr(self, name)
            for name in (
                "from_node",
                "to_node",
                "length_m",
                "travel_time_s",
                "speed_kmh",
                "osm_id",
                "highway",
                "name",
                "reversed",
                "reverse_edge",
            )
        }
        return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(self.geometry, crs=self.crs))


# --- the graph --------------------------------------------------------------------------


class StreetGraph:
    """The street graph of one mode: nodes, way pieces (chains) and directed edges.

    Build it with :meth:`from_streets` (or :func:`cached_street_graph`), or read it with
    :meth:`load`. The graph nodes are OSM nodes; each chain is a piece of one way
    between two graph nodes and gives one directed edge per allowed direction.

    Attributes
    ----------
    mode
        The street mode.
    crs
        The metric CRS of the coordinates (the ``streets`` layer's).
    speed_kmh
        The speed of walk and bike graphs; None for car (per-edge speeds).
    wheelchair
        Whether steps and ways tagged ``wheelchair=no`` were left out.
    node_x, node_y, node_osm_id
        The graph nodes: coordinates and OSM node ids.

    """

    def __init__(
        self,
        *,
        mode: StreetMode,
        crs: CRS,
        speed_kmh: float | None,
        wheelchair: bool,
        node_x: FloatArray,
        node_y: FloatArray,
        node_osm_id: IntArray,
        chain_u: IntArray,
        chain_v: IntArray,
        chain_length_m: FloatArray,
        chain_speed_kmh: FloatArray,
        chain_forward: BoolArray,
        chain_backward: BoolArray,
        chain_linkable: BoolArray,
        chain_osm_id: IntArray,
        chain_highway: ObjectArray,
        chain_name: ObjectArray,
        chain_geometry: ObjectArray,
    ) -> None:
        self.mode = StreetMode(mode)
        self.crs = CRS.from_user_input(crs)
        self.speed_kmh = speed_kmh
        self.wheelchair = wheelchair
        self.node_x = node_x
        self.node_y = node_y
        self.node_osm_id = node_osm_id
        self._u = chain_u
        self._v = chain_v
        self._length_m = chain_length_m
        self._speed_kmh = chain_speed_kmh
        self._forward = chain_forward
        self._backward = chain_backward
        self._linkable = chain_linkable
        self._osm_id = chain_osm_id
        self._highway = chain_highway
        self._name = chain_name
        self._geometry = chain_geometry
        self._time_s = chain_length_m / (chain_speed_kmh / 3.6)

    def __repr__(self) -> str:
        """Mode, size and CRS."""
        return (
            f"StreetGraph(mode={self.mode.value!r}, nodes={self.n_nodes}, "
            f"edges={self.n_edges}, crs=EPSG:{self.crs.to_epsg()})"
        )

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_streets(
        cls,
        streets: gpd.GeoDataFrame,
        mode: StreetMode | str,
        *,
        speed_kmh: float | None = None,
        wheelchair: bool = False,
    ) -> StreetGraph:
        """Build the graph of a mode from the ``streets`` layer.

        Parameters
        ----------
        streets
            The ``streets`` layer (``docs/layers.md``) in a metric CRS: one LineString per
            OSM way, its raw tags and ``node_ids`` (one OSM node id per vertex).
        mode
            ``walk``, ``bike`` or ``car``.
        speed_kmh
            Walking or cycling speed (default 3.6 or 12 km/h, as r5py); not for car,
            whose speeds come from ``maxspeed`` and the highway class.
        wheelchair
            Walk only: leave out steps and ways tagged ``wheelchair=no``.

        Returns
        -------
        StreetGraph

        Raises
        ------
        InputError
            When the layer lacks a column, is not in a metric CRS, has ``node_ids`` that
            do not match its vertices, when the options do not fit the mode, or when no
            way is usable by the mode.

        """
        mode = StreetMode(mode)
        speed = _mode_speed(mode, speed_kmh, wheelchair)
        crs = _metric_crs(streets)
        frame = _prepared(streets)

        usable_fwd, usable_bwd = _permissions(frame, mode, wheelchair=wheelchair)
        keep = usable_fwd | usable_bwd
        if not keep.any():
            raise _no_usable_way(mode, len(frame))
        frame = frame.loc[keep].reset_index(drop=True)
        pieces = _split_ways(frame, usable_fwd[keep], usable_bwd[keep])

        highway = frame["highway"].to_numpy(dtype=object)[pieces.way]
        if mode is StreetMode.CAR:
            chain_speed = _car_speeds(frame, pieces)
        else:
            chain_speed = np.full(len(pieces.way), speed, dtype=np.float64)

        kept_chain, kept_node = _prune_islands(pieces)
        if not kept_chain.any():
            raise _no_usable_way(mode, len(streets))
        new_index = np.cumsum(kept_node) - 1
        name = frame["name"].to_numpy(dtype=object)[pieces.way]
        return cls(
            mode=mode,
            crs=crs,
            speed_kmh=None if mode is StreetMode.CAR else speed,
            wheelchair=wheelchair,
            node_x=pieces.node_x[kept_node],
            node_y=pieces.node_y[kept_node],
            node_osm_id=pieces.node_osm_id[kept_node],
            chain_u=new_index[pieces.u[kept_chain]],
            chain_v=new_index[pieces.v[kept_chain]],
            chain_length_m=pieces.length_m[kept_chain],
            chain_speed_kmh=chain_speed[kept_chain],
            chain_forward=pieces.forward[kept_chain],
            chain_backward=pieces.backward[kept_chain],
            chain_linkable=(highway != "motorway")[kept_chain],
            chain_osm_id=frame["osm_id"].to_numpy(dtype=np.int64)[pieces.way][kept_chain],
            chain_highway=highway[kept_chain],
            chain_name=name[kept_chain],
            chain_geometry=pieces.geometry[kept_chain],
        )

    # --- sizes and edges ----------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        """The number of graph nodes."""
        return len(self.node_osm_id)

    @property
    def n_edges(self) -> int:
        """The number of directed edges."""
        return len(self._edge_chain)

    @cached_property
    def _edge_chain(self) -> IntArray:
        """The chain of each directed edge: forward edge first, then backward, by chain."""
        counts = self._forward.astype(np.int64) + self._backward.astype(np.int64)
        return np.repeat(np.arange(len(self._u), dtype=np.int64), counts)

    @cached_property
    def _edge_reversed(self) -> BoolArray:
        """Whether each directed edge runs against its chain (the way's node order)."""
        chain = self._edge_chain
        first = np.ones(len(chain), dtype=np.bool_)
        first[1:] = chain[1:] != chain[:-1]
        # the first edge of a chain is forward when the chain allows it
        return np.where(first, ~self._forward[chain], True)

    @cached_property
    def _chain_edges(self) -> tuple[IntArray, IntArray]:
        """The forward and backward edge of each chain (-1 when not allowed)."""
        n = len(self._u)
        forward = np.full(n, -1, dtype=np.int64)
        backward = np.full(n, -1, dtype=np.int64)
        index = np.arange(self.n_edges, dtype=np.int64)
        rev = self._edge_reversed
        forward[self._edge_chain[~rev]] = index[~rev]
        backward[self._edge_chain[rev]] = index[rev]
        return forward, backward

    def _edge_ends(self) -> tuple[IntArray, IntArray, FloatArray]:
        """``from_node``, ``to_node`` and travel time of every directed edge."""
        chain = self._edge_chain
        rev = self._edge_reversed
        u, v = self._u[chain], self._v[chain]
        return np.where(rev, v, u), np.where(rev, u, v), self._time_s[chain]

    def edge_geometries(self) -> StreetEdges:
        """Return the directed edges with their geometries and attributes.

        Returns
        -------
        StreetEdges
            Parallel arrays, one entry per directed edge, in the order that
            :attr:`SnappedPoints.edge` refers to.

        """
        chain = self._edge_chain
        rev = self._edge_reversed
        from_node, to_node, time_s = self._edge_ends()
        geometry = self._geometry[chain].copy()
        if rev.any():
            geometry[rev] = shapely.reverse(geometry[rev])
        forward, backward = self._chain_edges
        reverse_edge = np.where(rev, forward[chain], backward[chain])
        return StreetEdges(
            geometry=geometry,
            from_node=from_node,
            to_node=to_node,
            length_m=self._length_m[chain],
            travel_time_s=time_s,
            speed_kmh=self._speed_kmh[chain],
            osm_id=self._osm_id[chain],
            highway=self._highway[chain],
            name=self._name[chain],
            reversed=rev,
            reverse_edge=reverse_edge,
            crs=self.crs,
        )

    @cached_property
    def _adjacency(self) -> tuple[IntArray, IntArray, FloatArray]:
        """The directed edges as (row, column, time), parallel edges reduced to the fastest."""
        from_node, to_node, time_s = self._edge_ends()
        order = np.lexsort((time_s, to_node, from_node))
        rows, cols, times = from_node[order], to_node[order], time_s[order]
        first = np.ones(len(rows), dtype=np.bool_)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        return rows[first], cols[first], times[first]

    # --- networkx -----------------------------------------------------------------------

    def to_networkx(self) -> nx.MultiDiGraph:
        """Return the graph as networkx, with osmnx's conventions.

        Returns
        -------
        networkx.MultiDiGraph
            Nodes keyed by OSM node id with ``x``, ``y`` (graph CRS) and
            ``street_count``; one edge per directed edge with ``osmid`` (way),
            ``length`` (m), ``speed_kph``, ``travel_time`` (s), ``highway``, ``name``,
            ``oneway``, ``reversed`` and ``geometry``; graph attributes ``crs``, ``mode``
            and ``simplified``. Parallel edges are kept (shortest paths take the fastest).

        """
        graph = nx.MultiDiGraph(crs=self.crs, mode=self.mode.value, simplified=True)
        street_count = np.bincount(
            np.concatenate((self._u, self._v)), minlength=self.n_nodes
        ).tolist()
        osm_ids = self.node_osm_id.tolist()
        graph.add_nodes_from(
            (node, {"x": x, "y": y, "street_count": count})
            for node, x, y, count in zip(
                osm_ids, self.node_x.tolist(), self.node_y.tolist(), street_count, strict=True
            )
        )
        edges = self.edge_geometries()
        oneway = (edges.reverse_edge < 0).tolist()
        graph.add_edges_from(
            (
                osm_ids[u],
                osm_ids[v],
                {
                    "osmid": way,
                    "length": length,
                    "speed_kph": speed,
                    "travel_time": time,
                    "highway": highway,
                    "name": name,
                    "oneway": one,
                    "reversed": rev,
                    "geometry": geometry,
                },
            )
            for u, v, way, length, speed, time, highway, name, one, rev, geometry in zip(
                edges.from_node.tolist(),
                edges.to_node.tolist(),
                edges.osm_id.tolist(),
                edges.length_m.tolist(),
                edges.speed_kmh.tolist(),
                edges.travel_time_s.tolist(),
                edges.highway.tolist(),
                edges.name.tolist(),
                oneway,
                edges.reversed.tolist(),
                edges.geometry.tolist(),
                strict=True,
            )
        )
        return graph

    # --- snapping -----------------------------------------------------------------------

    @cached_property
    def _snap_tree(self) -> tuple[shapely.STRtree, IntArray]:
        """A spatial index of the chains that points may snap to, and their chain ids."""
        linkable = np.flatnonzero(self._linkable)
        return shapely.STRtree(self._geometry[linkable]), linkable

    def snap(
        self, x_m: npt.ArrayLike, y_m: npt.ArrayLike, *, max_snap_m: float = MAX_SNAP_M
    ) -> SnappedPoints:
        """Snap points to the nearest point of the nearest usable edge.

        Parameters
        ----------
        x_m, y_m
            Coordinates in the graph's CRS (metres).
        max_snap_m
            The largest distance from a point to its street (R5's 1,600 m by default).

        Returns
        -------
        SnappedPoints
            One entry per point, in order; points with no street within ``max_snap_m``
            (or with non-finite coordinates) have ``ok`` False.

        """
        x = np.asarray(x_m, dtype=np.float64).ravel()
        y = np.asarray(y_m, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise InputError(
                tr(
                    "les tableaux x et y n'ont pas la même longueur",
                    "x and y arrays differ in length",
                ),
                field="x_m, y_m",
            )
        if not max_snap_m > 0:
            raise InputError(
                tr(
                    f"distance d'accrochage invalide : {max_snap_m} (attendu > 0 m)",
                    f"invalid snapping distance: {max_snap_m} (expected > 0 m)",
                ),
                field="max_snap_m",
            )
        n = len(x)
        edge = np.full(n, -1, dtype=np.int64)
        fraction = np.full(n, np.nan)
        distance = np.full(n, np.nan)
        snapped_x = np.full(n, np.nan)
        snapped_y = np.full(n, np.nan)
        finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        tree, linkable = self._snap_tree
        if len(finite) and len(linkable):
            points = shapely.points(x[finite], y[finite])
            (found, hit), dist = tree.query_nearest(
                points, max_distance=max_snap_m, return_distance=True, all_matches=False
            )
            index = finite[found]
            chain = linkable[hit]
            geometry = self._geometry[chain]
            along = shapely.line_locate_point(geometry, points[found])
            total = shapely.length(geometry)
            chain_fraction = np.where(total > 0, along / np.where(total > 0, total, 1.0), 0.0)
            chain_fraction = np.clip(chain_fraction, 0.0, 1.0)
            # a point projected on a node is exactly at that node
            chain_fraction[along <= 1e-9] = 0.0
            chain_fraction[total - along <= 1e-9] = 1.0
            on_line = shapely.line_interpolate_point(geometry, chain_fraction, normalized=True)
            forward, backward = self._chain_edges
            use_forward = forward[chain] >= 0
            edge[index] = np.where(use_forward, forward[chain], backward[chain])
            fraction[index] = np.where(use_forward, chain_fraction, 1.0 - chain_fraction)
            distance[index] = dist
            snapped_x[index] = shapely.get_x(on_line)
            snapped_y[index] = shapely.get_y(on_line)
        return SnappedPoints(
            edge=edge,
            fraction=fraction,
            snap_distance_m=distance,
            ok=edge >= 0,
            point_x=x,
            point_y=y,
            snapped_x=snapped_x,
            snapped_y=snapped_y,
        )

    # --- travel times -------------------------------------------------------------------

    def _on_chain(self, points: SnappedPoints, name: str) -> tuple[IntArray, FloatArray]:
        """Return the chain of snapped points and the fraction along it (way order)."""
        edge = np.asarray(points.edge, dtype=np.int64)
        if len(edge) and (edge.max() >= self.n_edges or edge.min() < -1):
            raise InputError(
                tr(
                    "points accrochés à un autre graphe : utilisez snap() de ce graphe",
                    "points snapped to another graph: use this graph's snap()",
                ),
                field=name,
            )
        safe = np.where(edge >= 0, edge, 0)
        chain = np.where(edge >= 0, self._edge_chain[safe] if self.n_edges else -1, -1)
        fraction = np.asarray(points.fraction, dtype=np.float64)
        chain_fraction = np.where(self._edge_reversed[safe], 1.0 - fraction, fraction)
        return chain, chain_fraction

    def _partial_costs(
        self, chain: IntArray, fraction: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Costs between points on chains and the chains' ends.

        Returns
        -------
        tuple of numpy.ndarray
            ``(out_u, out_v, in_u, in_v)``: seconds from the point to the chain's first
            node ``u`` (against the way), to its last node ``v`` (along the way), and
            from ``u`` and ``v`` to the point; ``inf`` when the direction is closed. A
            point exactly on a node is that node (cost 0 whatever the direction).

        """
        time_s = self._time_s[chain]
        fwd, bwd = self._forward[chain], self._backward[chain]
        at_u, at_v = fraction == 0.0, fraction == 1.0
        inf = np.inf
        out_v = np.where(at_v, 0.0, np.where(fwd, (1.0 - fraction) * time_s, inf))
        out_u = np.where(at_u, 0.0, np.where(bwd, fraction * time_s, inf))
        in_u = np.where(at_u, 0.0, np.where(fwd, fraction * time_s, inf))
        in_v = np.where(at_v, 0.0, np.where(bwd, (1.0 - fraction) * time_s, inf))
        return out_u, out_v, in_u, in_v

    def travel_times_s(
        self,
        origins: SnappedPoints,
        destinations: SnappedPoints,
        *,
        max_time_s: float,
        snap_speed_kmh: float | None = None,
    ) -> FloatArray:
        """Travel times from every origin to every destination.

        Parameters
        ----------
        origins, destinations
            Points snapped by this graph's :meth:`snap`.
        max_time_s
            Times above this are ``inf`` (the searches stop there).
        snap_speed_kmh
            Speed of the off-street legs between the points and their snapped points;
            by default the walking speed, as R5 does for every mode (see the module
            docstring): the graph's speed for walk, 3.6 km/h for bike and car.

        Returns
        -------
        numpy.ndarray
            float64, shape ``(len(origins), len(destinations))``, seconds; ``inf`` when
            unreachable within ``max_time_s`` or when a point is unsnapped.

        """
        if not max_time_s >= 0:
            raise InputError(
                tr(
                    f"durée maximale invalide : {max_time_s} s",
                    f"invalid maximum time: {max_time_s} s",
                ),
                field="max_time_s",
            )
        if snap_speed_kmh is None:
            snap_speed_kmh = self.speed_kmh if self.mode is StreetMode.WALK else WALK_SPEED_KMH
        if snap_speed_kmh is None or not snap_speed_kmh > 0:
            raise InputError(
                tr(
                    f"vitesse d'accès invalide : {snap_speed_kmh} km/h",
                    f"invalid snapping speed: {snap_speed_kmh} km/h",
                ),
                field="snap_speed_kmh",
            )
        snap_speed_ms = snap_speed_kmh / 3.6
        n_o, n_d = len(origins), len(destinations)
        result = np.full((n_o, n_d), np.inf)
        o_index = np.flatnonzero(origins.ok)
        d_index = np.flatnonzero(destinations.ok)
        if not len(o_index) or not len(d_index):
            return result

        o_chain, o_fraction = self._on_chain(origins, "origins")
        d_chain, d_fraction = self._on_chain(destinations, "destinations")
        o_chain, o_fraction = o_chain[o_index], o_fraction[o_index]
        d_chain, d_fraction = d_chain[d_index], d_fraction[d_index]
        o_snap_s = np.asarray(origins.snap_distance_m)[o_index] / snap_speed_ms
        d_snap_s = np.asarray(destinations.snap_distance_m)[d_index] / snap_speed_ms

        out_u, out_v, _, _ = self._partial_costs(o_chain, o_fraction)
        _, _, in_u, in_v = self._partial_costs(d_chain, d_fraction)
        o_u, o_v = self._u[o_chain], self._v[o_chain]
        d_u, d_v = self._u[d_chain], self._v[d_chain]

        rows, cols, times = self._adjacency
        # Points snapped to the same place of the same chain share one search; their
        # off-street legs are added afterwards (a constant per point).
        o_first, o_inverse = _unique_places(o_chain, o_fraction)
        d_first, d_inverse = _unique_places(d_chain, d_fraction)
        if len(d_first) < len(o_first):
            # fewer destinations: search backwards from them, on the reversed graph
            block = (
                _search(
                    (cols, rows, times, self.n_nodes),
                    (d_u[d_first], d_v[d_first], in_u[d_first], in_v[d_first]),
                    (o_u, o_v, out_u, out_v, o_snap_s),
                    max_time_s,
                ).T[:, d_inverse]
                + d_snap_s[None, :]
            )
        else:
            block = (
                _search(
                    (rows, cols, times, self.n_nodes),
                    (o_u[o_first], o_v[o_first], out_u[o_first], out_v[o_first]),
                    (d_u, d_v, in_u, in_v, d_snap_s),
                    max_time_s,
                )[o_inverse]
                + o_snap_s[:, None]
            )
        result[np.ix_(o_index, d_index)] = block
        self._same_chain(
            result,
            (o_index, o_chain, o_fraction, o_snap_s),
            (d_index, d_chain, d_fraction, d_snap_s),
        )
        result[result > max_time_s] = np.inf
        return result

    def _same_chain(
        self,
        result: FloatArray,
        origins: tuple[IntArray, IntArray, FloatArray, FloatArray],
        destinations: tuple[IntArray, IntArray, FloatArray, FloatArray],
    ) -> None:
        """Lower ``result`` where an origin and a destination share a chain (direct path)."""
        o_index, o_chain, o_fraction, o_snap_s = origins
        d_index, d_chain, d_fraction, d_snap_s = destinations
        common = np.intersect1d(o_chain, d_chain)
        if not len(common):
            return
        o_sel = np.flatnonzero(np.isin(o_chain, common))
        d_sel = np.flatnonzero(np.isin(d_chain, common))
        pairs = pd.merge(
            pd.DataFrame({"o": o_sel, "chain": o_chain[o_sel]}),
            pd.DataFrame({"d": d_sel, "chain": d_chain[d_sel]}),
            on="chain",
        )
        o = pairs["o"].to_numpy(dtype=np.int64)
        d = pairs["d"].to_numpy(dtype=np.int64)
        chain = pairs["chain"].to_numpy(dtype=np.int64)
        delta = d_fraction[d] - o_fraction[o]
        time_s = self._time_s[chain]
        along = np.full(len(chain), np.inf)
        forward = (delta >= 0) & self._forward[chain]
        backward = (delta <= 0) & self._backward[chain]
        along[forward] = delta[forward] * time_s[forward]
        along[backward] = np.minimum(along[backward], -delta[backward] * time_s[backward])
        direct = along + o_snap_s[o] + d_snap_s[d]
        rows, cols = o_index[o], d_index[d]
        result[rows, cols] = np.minimum(result[rows, cols], direct)

    # --- persistence --------------------------------------------------------------------

    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Everything needed to rebuild the graph, as plain (non-object) arrays."""
        highway_codes, highway_values = pd.factorize(pd.Series(self._highway, dtype=object))
        name_codes, name_values = pd.factorize(pd.Series(self._name, dtype=object))
        coords, offsets = _flat_lines(self._geometry)
        meta = {
            "version": ENGINE_VERSION,
            "mode": self.mode.value,
            "crs": self.crs.to_wkt(),
            "speed_kmh": self.speed_kmh,
            "wheelchair": self.wheelchair,
        }
        return {
            "meta": np.asarray(json.dumps(meta)),
            "node_x": self.node_x,
            "node_y": self.node_y,
            "node_osm_id": self.node_osm_id,
            "chain_u": self._u,
            "chain_v": self._v,
            "chain_length_m": self._length_m,
            "chain_speed_kmh": self._speed_kmh,
            "chain_forward": self._forward,
            "chain_backward": self._backward,
            "chain_linkable": self._linkable,
            "chain_osm_id": self._osm_id,
            "highway_codes": highway_codes.astype(np.int32),
            "highway_values": np.asarray(list(highway_values), dtype=str),
            "name_codes": name_codes.astype(np.int32),
            "name_values": np.asarray(list(name_values), dtype=str),
            "coords": coords,
            "offsets": offsets,
        }

    def save(self, path: Path) -> None:
        """Write the graph to an ``.npz`` file (atomically: a reader never sees half a file).

        Parameters
        ----------
        path
            The file to write.

        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, allow_pickle=False, **self._arrays())
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path | str) -> StreetGraph:
        """Read a graph written by :meth:`save`.

        Raises
        ------
        InputError
            When the file is not such a graph, or was written by another version of
            the engine.

        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
            meta = json.loads(str(arrays["meta"]))
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(
                tr(
                    f"graphe de rues illisible ({exc}) : supprimez le fichier, il sera reconstruit",
                    f"unreadable street graph ({exc}): delete the file, it will be rebuilt",
                ),
                file=path,
            ) from exc
        if meta.get("version") != ENGINE_VERSION:
            raise InputError(
                tr(
                    f"graphe de rues d'une autre version ({meta.get('version')}, attendu "
                    f"{ENGINE_VERSION}) : supprimez le fichier, il sera reconstruit",
                    f"street graph from another version ({meta.get('version')}, expected "
                    f"{ENGINE_VERSION}): delete the file, it will be rebuilt",
                ),
                file=path,
            )
        highway = _decode(arrays["highway_codes"], arrays["highway_values"])
        name = _decode(arrays["name_codes"], arrays["name_values"])
        geometry = np.asarray(
            shapely.linestrings(
                arrays["coords"],
                indices=np.repeat(
                    np.arange(len(arrays["offsets"]) - 1), np.diff(arrays["offsets"])
                ),
            ),
            dtype=object,
        )
        return cls(
            mode=StreetMode(meta["mode"]),
            crs=CRS.from_wkt(meta["crs"]),
            speed_kmh=meta["speed_kmh"],
            wheelchair=bool(meta["wheelchair"]),
            node_x=arrays["node_x"],
            node_y=arrays["node_y"],
            node_osm_id=arrays["node_osm_id"],
            chain_u=arrays["chain_u"],
            chain_v=arrays["chain_v"],
            chain_length_m=arrays["chain_length_m"],
            chain_speed_kmh=arrays["chain_speed_kmh"],
            chain_forward=arrays["chain_forward"],
            chain_backward=arrays["chain_backward"],
            chain_linkable=arrays["chain_linkable"],
            chain_osm_id=arrays["chain_osm_id"],
            chain_highway=highway,
            chain_name=name,
            chain_geometry=geometry,
        )


def _unique_places(chain: IntArray, fraction: FloatArray) -> tuple[IntArray, IntArray]:
    """Indices of the first point of each distinct (chain, fraction), and the inverse map."""
    keys = np.stack((chain.astype(np.float64), fraction.astype(np.float64)), axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return first.astype(np.int64), np.asarray(inverse, dtype=np.int64).reshape(-1)


@njit(cache=True)
def _heap_push(
    keys: npt.NDArray[np.float64], items: npt.NDArray[np.int64], size: int, key: float, item: int
) -> int:
    """Push onto a binary min-heap stored in two arrays; return the new size."""
    i = size
    keys[i] = key
    items[i] = item
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        items[parent], items[i] = items[i], items[parent]
        i = parent
    return size + 1


@njit(cache=True)
def _heap_pop(keys: npt.NDArray[np.float64], items: npt.NDArray[np.int64], size: int) -> int:
    """Remove the heap's minimum (read it at index 0 first); return the new size."""
    size -= 1
    keys[0] = keys[size]
    items[0] = items[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and keys[left + 1] < keys[left]:
            child = left + 1
        if keys[i] <= keys[child]:
            break
        keys[child], keys[i] = keys[i], keys[child]
        items[child], items[i] = items[i], items[child]
        i = child
    return size


@njit(cache=True, parallel=True)
def _dijkstra_rows(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    start_u: npt.NDArray[np.int64],
    start_v: npt.NDArray[np.int64],
    cost_u: npt.NDArray[np.float64],
    cost_v: npt.NDArray[np.float64],
    limit: float,
    out: npt.NDArray[np.float64],
) -> None:
    """One Dijkstra search per source (in parallel), each seeded at two nodes.

    Source ``s`` starts at node ``start_u[s]`` with cost ``cost_u[s]`` and at
    ``start_v[s]`` with ``cost_v[s]`` (``inf``: not at all); ``out[s]`` receives the
    times to every node, ``inf`` beyond ``limit``.
    """
    n_nodes = indptr.shape[0] - 1
    n_edges = indices.shape[0]
    for s in prange(out.shape[0]):
        dist = out[s]
        dist[:] = np.inf
        keys = np.empty(n_edges + 2, dtype=np.float64)
        items = np.empty(n_edges + 2, dtype=np.int64)
        size = 0
        if cost_u[s] <= limit:
            dist[start_u[s]] = cost_u[s]
            size = _heap_push(keys, items, size, cost_u[s], start_u[s])
        if cost_v[s] <= limit and cost_v[s] < dist[start_v[s]]:
            dist[start_v[s]] = cost_v[s]
            size = _heap_push(keys, items, size, cost_v[s], start_v[s])
        done = np.zeros(n_nodes, dtype=np.bool_)
        while size > 0:
            d = keys[0]
            node = items[0]
            size = _heap_pop(keys, items, size)
            if done[node]:
                continue
            done[node] = True
            for e in range(indptr[node], indptr[node + 1]):
                nxt = indices[e]
                nd = d + weights[e]
                if nd < dist[nxt] and nd <= limit:
                    dist[nxt] = nd
                    size = _heap_push(keys, items, size, nd, nxt)


def _search(
    graph: tuple[IntArray, IntArray, FloatArray, int],
    sources: tuple[IntArray, IntArray, FloatArray, FloatArray],
    targets: tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray],
    max_time_s: float,
) -> FloatArray:
    """Times from points on chains to points on chains, by compiled Dijkstra searches.

    Each source is seeded at the two ends of its chain with the partial costs; one
    search per source (a numba binary-heap Dijkstra over the CSR graph, sources in
    parallel, stopped at ``max_time_s``) gives the times to every graph node, and a
    target is reached through either end of its chain.

    Parameters
    ----------
    graph
        ``(rows, cols, times, n_nodes)``: the directed edges, parallel edges reduced.
    sources
        ``(node_u, node_v, cost_u, cost_v)``: the ends of each source's chain and the
        cost from the source to each (``inf`` when closed).
    targets
        ``(node_u, node_v, cost_u, cost_v, extra)``: the ends of each target's chain, the
        cost from each end to the target, and a cost added to every time (off-street).
    max_time_s
        Where the searches stop.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_sources, n_targets)``, seconds (``inf`` when unreachable; times above
        ``max_time_s`` may remain and are cut by the caller).

    """
    rows, cols, times, n = graph
    src_u, src_v, src_cost_u, src_cost_v = sources
    tgt_u, tgt_v, tgt_cost_u, tgt_cost_v, tgt_extra = targets
    order = np.argsort(rows, kind="stable")
    indices = np.ascontiguousarray(cols[order], dtype=np.int64)
    weights = np.ascontiguousarray(times[order], dtype=np.float64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    n_src = len(src_u)
    block = np.empty((n_src, len(tgt_u)))
    batch = max(1, _BATCH_CELLS // max(1, n))
    reach = np.empty((min(batch, n_src), n))
    limit = float(max_time_s)
    for start in range(0, n_src, batch):
        stop = min(start + batch, n_src)
        part = reach[: stop - start]
        _dijkstra_rows(
            indptr,
            indices,
            weights,
            np.ascontiguousarray(src_u[start:stop], dtype=np.int64),
            np.ascontiguousarray(src_v[start:stop], dtype=np.int64),
            np.ascontiguousarray(src_cost_u[start:stop], dtype=np.float64),
            np.ascontiguousarray(src_cost_v[start:stop], dtype=np.float64),
            limit,
            part,
        )
        block[start:stop] = (
            np.minimum(part[:, tgt_u] + tgt_cost_u, part[:, tgt_v] + tgt_cost_v) + tgt_extra
        )
    return block


def cached_street_graph(
    streets_path: Path,
    cache_dir: Path,
    mode: StreetMode | str,
    *,
    speed_kmh: float | None = None,
    wheelchair: bool = False,
) -> StreetGraph:
    """Return the graph of a ``streets`` layer, built once and kept in ``cache_dir``.

    Parameters
    ----------
    streets_path
        The ``streets`` GeoParquet file (``layers/streets.parquet``).
    cache_dir
        Where graphs are kept (the territory's ``cache/`` folder).
    mode, speed_kmh, wheelchair
        As :meth:`StreetGraph.from_streets`.

    Returns
    -------
    StreetGraph
        Read from the cache when a graph was built from the same file (sha256 of its
        bytes), with the same options and engine version; otherwise built and saved.

    """
    streets_path = Path(streets_path)
    mode = StreetMode(mode)
    _mode_speed(mode, speed_kmh, wheelchair)  # refuse bad options before hashing
    if not streets_path.is_file():
        raise InputError(
            tr(
                "couche des rues introuvable : chargez d'abord l'OSM du territoire",
                "streets layer not found: load the territory's OSM first",
            ),
            file=streets_path,
        )
    key = json.dumps(
        {
            "streets_sha256": file_digest(streets_path)["sha256"],
            "mode": mode.value,
            "speed_kmh": speed_kmh,
            "wheelchair": wheelchair,
            "version": ENGINE_VERSION,
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    suffix = "-wheelchair" if wheelchair else ""
    path = Path(cache_dir) / f"streets-{mode.value}{suffix}-{digest}.npz"
    if path.is_file():
        try:
            return StreetGraph.load(path)
        except InputError:
            path.unlink(missing_ok=True)  # corrupt or stale: rebuild below
    streets = gpd.read_parquet(streets_path, columns=_present_columns(streets_path))
    graph = StreetGraph.from_streets(streets, mode, speed_kmh=speed_kmh, wheelchair=wheelchair)
    graph.save(path)
    return graph


# --- building blocks --------------------------------------------------------------------


@dataclass(frozen=True)
class _Pieces:
    """Ways cut at the graph nodes (before island pruning)."""

    node_x: FloatArray
    node_y: FloatArray
    node_osm_id: IntArray
    way: IntArray  # the way (row of the prepared frame) of each chain
    u: IntArray
    v: IntArray
    length_m: FloatArray
    forward: BoolArray
    backward: BoolArray
    geometry: ObjectArray


def _mode_speed(mode: StreetMode, speed_kmh: float | None, wheelchair: bool) -> float:
    """Check the options of a mode and return its speed (NaN for car)."""
    if wheelchair and mode is not StreetMode.WALK:
        raise InputError(
            tr(
                "l'option fauteuil roulant ne vaut que pour la marche",
                "the wheelchair option only applies to walking",
            ),
            field="wheelchair",
        )
    if mode is StreetMode.CAR:
        if speed_kmh is not None:
            raise InputError(
                tr(
                    "la vitesse en voiture vient des limitations et du type de voie : "
                    "n'indiquez pas speed_kmh",
                    "car speeds come from speed limits and road classes: do not give speed_kmh",
                ),
                field="speed_kmh",
            )
        return math.nan
    speed = (
        (WALK_SPEED_KMH if mode is StreetMode.WALK else BIKE_SPEED_KMH)
        if speed_kmh is None
        else speed_kmh
    )
    if not (isinstance(speed, int | float) and math.isfinite(speed) and speed > 0):
        raise InputError(
            tr(
                f"vitesse invalide : {speed_kmh} km/h (attendu un nombre > 0)",
                f"invalid speed: {speed_kmh} km/h (expected a number > 0)",
            ),
            field="speed_kmh",
        )
    return float(speed)


def _metric_crs(streets: gpd.GeoDataFrame) -> CRS:
    """Return the layer's CRS, which must be declared and projected (metres)."""
    if streets.crs is None or not CRS.from_user_input(streets.crs).is_projected:
        raise InputError(
            tr(
                "la couche des rues doit être dans un SCR métrique (celui du territoire)",
                "the streets layer must be in a metric CRS (the territory's)",
            ),
            field="crs",
        )
    return CRS.from_user_input(streets.crs)


def _prepared(streets: gpd.GeoDataFrame) -> pd.DataFrame:
    """Keep the columns the engine reads (absent tags as nulls) and the usable rows."""
    for column in ("osm_id", "highway", "node_ids"):
        if column not in streets.columns:
            raise InputError(
                tr(
                    "colonne manquante dans la couche des rues (voir docs/layers.md)",
                    "column missing from the streets layer (see docs/layers.md)",
                ),
                field=column,
            )
    geometry = np.asarray(streets.geometry.to_numpy(), dtype=object)
    keep = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    keep &= shapely.get_type_id(geometry) == 1  # LineString
    keep &= streets["highway"].notna().to_numpy()
    data: dict[str, Any] = {"osm_id": streets["osm_id"].to_numpy(dtype=np.int64)[keep]}
    for column in _TAG_COLUMNS:
        if column in streets.columns:
            values = streets[column].to_numpy(dtype=object)[keep]
            data[column] = pd.Series(np.where(pd.isna(values), None, values), dtype=object)
        else:
            data[column] = pd.Series(np.full(int(keep.sum()), None), dtype=object)
    data["node_ids"] = streets["node_ids"].to_numpy(dtype=object)[keep]
    data["geometry"] = geometry[keep]
    return pd.DataFrame(data)


def _label_of(value: str | None) -> int:
    """R5's label of an access tag value (first of ``a;b``)."""
    if value is None:
        return _UNKNOWN
    text = str(value).split(";")[0].strip().lower()
    if text in _YES_VALUES:
        return _YES
    if text in _NO_VALUES:
        return _NO
    if text in _DESTINATION_VALUES:
        return _DESTINATION
    return _UNKNOWN


def _map_unique(values: pd.Series, function: Any, dtype: Any) -> npt.NDArray[Any]:
    """Apply ``function`` to each distinct value only (nulls give ``function(None)``)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.asarray([function(value) for value in uniques] + [function(None)], dtype=dtype)
    return mapped[np.where(codes >= 0, codes, len(uniques))]


def _labels(frame: pd.DataFrame, column: str) -> npt.NDArray[np.int8]:
    """Return the access label of each way for one tag column."""
    return _map_unique(frame[column], _label_of, np.int8)


def _resolve(*levels: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    """Return the most specific known label, ``levels`` going from the root to the leaf."""
    result = levels[0].copy()
    for level in levels[1:]:
        result = np.where(level != _UNKNOWN, level, result)
    return result


def _direction_of(value: str | None) -> int:
    """R5's direction of a oneway tag value (``_BOTH`` when unknown)."""
    if value is None:
        return _BOTH
    text = str(value).strip().lower()
    if text in _ONEWAY_FORWARD:
        return _FORWARD
    if text in _ONEWAY_BACKWARD:
        return _BACKWARD
    return _BOTH


def _permissions(
    frame: pd.DataFrame, mode: StreetMode, *, wheelchair: bool
) -> tuple[BoolArray, BoolArray]:
    """Whether each way may be used by the mode along and against its node order."""
    defaults = _map_unique(
        frame["highway"], lambda h: _DEFAULT_ACCESS.get(str(h).strip().lower(), _ROAD), object
    )
    default = np.asarray(list(defaults), dtype=np.int8).reshape(len(frame), 4)
    access = _labels(frame, "access")
    if mode is StreetMode.WALK:
        label = _mode_label(_labels(frame, "foot"), access, default[:, 1], default[:, 0])
        allowed = (label == _YES) | (label == _DESTINATION)
        if wheelchair:
            steps = frame["highway"].to_numpy(dtype=object) == "steps"
            chair = _resolve(
                np.where(steps, _NO, _UNKNOWN).astype(np.int8), _labels(frame, "wheelchair")
            )
            allowed &= chair != _NO
        return allowed, allowed.copy()

    direction = _map_unique(frame["oneway"], _direction_of, np.int8)
    implied = (frame["highway"].to_numpy(dtype=object) == "motorway") | frame["junction"].isin(
        _ROUNDABOUT
    ).to_numpy()
    direction = np.where(frame["oneway"].isna().to_numpy() & implied, _FORWARD, direction)

    if mode is StreetMode.CAR:
        own = _resolve(_labels(frame, "motor_vehicle"), _labels(frame, "motorcar"))
        allowed = _mode_label(own, access, default[:, 3], default[:, 0]) == _YES
        return allowed & (direction != _BACKWARD), allowed & (direction != _FORWARD)

    cycleway = _labels(frame, "cycleway")
    own = _resolve(
        _labels(frame, "bicycle"),
        np.where(cycleway == _NO, _UNKNOWN, cycleway).astype(np.int8),
        _labels(frame, "cycleway_both"),
    )
    label = _mode_label(own, access, default[:, 2], default[:, 0])
    allowed = (label == _YES) | (label == _DESTINATION)
    forward = allowed | (_labels(frame, "cycleway_right") == _YES)
    backward = allowed | (_labels(frame, "cycleway_left") == _YES)
    bike_direction = np.where(
        frame["oneway_bicycle"].notna().to_numpy(),
        _map_unique(frame["oneway_bicycle"], _direction_of, np.int8),
        direction,
    )
    forward &= bike_direction != _BACKWARD
    backward &= bike_direction != _FORWARD
    opposite = np.zeros(len(frame), dtype=np.bool_)
    for column in ("cycleway", "cycleway_right", "cycleway_left"):
        opposite |= _map_unique(frame[column], _is_opposite, np.bool_)
    against_backward = direction == _BACKWARD
    forward |= opposite & against_backward
    backward |= opposite & ~against_backward
    return forward, backward


def _mode_label(
    own: npt.NDArray[np.int8],
    access: npt.NDArray[np.int8],
    default_mode: npt.NDArray[np.int8],
    default_access: npt.NDArray[np.int8],
) -> npt.NDArray[np.int8]:
    """Return the label of a mode: own tags, restrictive access, defaults (see module)."""
    label = np.where(access != _UNKNOWN, access, default_access)
    label = np.where(default_mode != _UNKNOWN, default_mode, label)
    restrictive = (access == _NO) | (access == _DESTINATION)
    label = np.where(restrictive, access, label)
    return np.where(own != _UNKNOWN, own, label).astype(np.int8)


def _is_opposite(value: str | None) -> bool:
    """Whether a cycleway tag value is a contraflow lane (``opposite``, ``opposite_lane``...)."""
    return value is not None and str(value).strip().lower().startswith("opposite")


def _split_ways(frame: pd.DataFrame, forward: BoolArray, backward: BoolArray) -> _Pieces:
    """Cut the usable ways at the graph nodes into chains (vectorised)."""
    node_lists = frame["node_ids"].to_numpy(dtype=object)
    counts = np.fromiter((len(ids) for ids in node_lists), dtype=np.int64, count=len(frame))
    geometry = frame["geometry"].to_numpy(dtype=object)
    if (counts != shapely.get_num_coordinates(geometry)).any():
        bad = int(np.flatnonzero(counts != shapely.get_num_coordinates(geometry))[0])
        raise InputError(
            tr(
                f"la voie OSM {frame['osm_id'].iloc[bad]} a {counts[bad]} nœuds pour "
                f"{shapely.get_num_coordinates(geometry[bad])} sommets : rechargez l'OSM",
                f"OSM way {frame['osm_id'].iloc[bad]} has {counts[bad]} nodes for "
                f"{shapely.get_num_coordinates(geometry[bad])} vertices: reload the OSM",
            ),
            field="node_ids",
        )
    node_id = np.concatenate([np.asarray(ids, dtype=np.int64) for ids in node_lists])
    coords = shapely.get_coordinates(geometry)
    way_of = np.repeat(np.arange(len(frame), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    ends = starts + counts - 1

    unique_id, inverse, occurrences = np.unique(node_id, return_inverse=True, return_counts=True)
    is_vertex = occurrences >= 2
    is_vertex[inverse[starts]] = True
    is_vertex[inverse[ends]] = True
    positions = np.flatnonzero(is_vertex[inverse])
    same_way = way_of[positions[:-1]] == way_of[positions[1:]]
    a, b = positions[:-1][same_way], positions[1:][same_way]

    segment = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
    segment[ends[:-1]] = 0.0  # from the end of a way to the start of the next: not a segment
    length = np.add.reduceat(segment, a) if len(a) else np.zeros(0)
    # reduceat sums up to the next chain's start: equal to b - 1 within a way, and the
    # cross-way gap is zeroed above; the last chain of the last way is summed to the end
    vertex_index = np.cumsum(is_vertex) - 1
    u = vertex_index[inverse[a]]
    v = vertex_index[inverse[b]]
    keep = ~((u == v) & (length == 0.0))
    a, b, u, v, length = a[keep], b[keep], u[keep], v[keep], length[keep]

    n_points = b - a + 1
    first = np.cumsum(n_points) - n_points
    index = np.arange(int(n_points.sum()), dtype=np.int64) - np.repeat(first - a, n_points)
    lines = shapely.linestrings(
        coords[index], indices=np.repeat(np.arange(len(a), dtype=np.int64), n_points)
    )
    # node coordinates: the first occurrence of each graph node
    first_seen = np.full(len(unique_id), -1, dtype=np.int64)
    order = np.arange(len(node_id) - 1, -1, -1)
    first_seen[inverse[order]] = order
    vertex_ids = np.flatnonzero(is_vertex)
    way = way_of[a]
    return _Pieces(
        node_x=coords[first_seen[vertex_ids], 0],
        node_y=coords[first_seen[vertex_ids], 1],
        node_osm_id=unique_id[vertex_ids],
        way=way,
        u=u,
        v=v,
        length_m=length,
        forward=forward[way],
        backward=backward[way],
        geometry=np.asarray(lines, dtype=object),
    )


def _prune_islands(pieces: _Pieces) -> tuple[BoolArray, BoolArray]:
    """Keep the chains and nodes of the large strongly connected components."""
    n = len(pieces.node_osm_id)
    rows = np.concatenate((pieces.u[pieces.forward], pieces.v[pieces.backward]))
    cols = np.concatenate((pieces.v[pieces.forward], pieces.u[pieces.backward]))
    matrix = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, component = csgraph.connected_components(matrix, directed=True, connection="strong")
    size = np.bincount(component)
    threshold = min(MIN_ISLAND_NODES, int(size.max()))
    kept_node = size[component] >= threshold
    kept_chain = kept_node[pieces.u] & kept_node[pieces.v]
    # nodes left without any chain (their chains joined a pruned island) go too
    used = np.zeros(n, dtype=np.bool_)
    used[pieces.u[kept_chain]] = True
    used[pieces.v[kept_chain]] = True
    return kept_chain, kept_node & used


def _car_speeds(frame: pd.DataFrame, pieces: _Pieces) -> FloatArray:
    """Free-flow car speed of each chain (km/h): maxspeed, else link mean, else the table."""
    maxspeed = _map_unique(frame["maxspeed"], _parse_maxspeed_kmh, np.float64)
    highway = frame["highway"].to_numpy(dtype=object)
    # osmnx's imputation, for links only: the mean tagged speed of the class
    for link in {h for h in pd.unique(highway) if isinstance(h, str) and h.endswith("_link")}:
        of_class = highway == link
        tagged = maxspeed[of_class & np.isfinite(maxspeed)]
        if len(tagged):
            maxspeed[of_class & ~np.isfinite(maxspeed)] = float(tagged.mean())
    urban = _urban_chains(pieces)
    table = _map_unique(
        frame["highway"],
        lambda h: CAR_SPEEDS_KMH.get(str(h), _OTHER_CAR_SPEED_KMH),
        object,
    )
    table_kmh = np.asarray(list(table), dtype=np.float64).reshape(len(frame), 2)
    aisle = (frame["service"].to_numpy(dtype=object) == "parking_aisle") & (highway == "service")
    table_kmh[aisle] = _PARKING_AISLE_KMH
    way = pieces.way
    default = np.where(urban, table_kmh[way, 0], table_kmh[way, 1])
    speed = maxspeed[way]
    return np.where(np.isfinite(speed), speed, default)


def _urban_chains(pieces: _Pieces) -> BoolArray:
    """Whether each chain is urban: enough car-network junctions around its middle.

    The junctions are counted on a grid of ``URBAN_CELL_M`` cells (coarser when the
    territory would need more than ``_MAX_URBAN_CELLS`` cells), in the square of
    ``2 * URBAN_HALF_WINDOW + 1`` cells centred on the cell of the chain's middle, with
    a summed-area table.
    """
    degree = np.bincount(np.concatenate((pieces.u, pieces.v)), minlength=len(pieces.node_x))
    junction = degree >= 3
    if not junction.any():
        return np.zeros(len(pieces.u), dtype=np.bool_)
    mid_x = (pieces.node_x[pieces.u] + pieces.node_x[pieces.v]) / 2
    mid_y = (pieces.node_y[pieces.u] + pieces.node_y[pieces.v]) / 2
    x0, y0 = float(pieces.node_x.min()), float(pieces.node_y.min())
    width = float(pieces.node_x.max()) - x0
    height = float(pieces.node_y.max()) - y0
    cell = URBAN_CELL_M
    while (width / cell + 1) * (height / cell + 1) > _MAX_URBAN_CELLS:
        cell *= 2
    half = max(0, round(URBAN_HALF_WINDOW * URBAN_CELL_M / cell))
    n_x, n_y = int(width // cell) + 1, int(height // cell) + 1
    jx = ((pieces.node_x[junction] - x0) // cell).astype(np.int64)
    jy = ((pieces.node_y[junction] - y0) // cell).astype(np.int64)
    counts = np.bincount(jy * n_x + jx, minlength=n_x * n_y).reshape(n_y, n_x)
    table = np.zeros((n_y + 1, n_x + 1), dtype=np.int64)
    table[1:, 1:] = counts.cumsum(axis=0).cumsum(axis=1)
    cx = np.clip(((mid_x - x0) // cell).astype(np.int64), 0, n_x - 1)
    cy = np.clip(((mid_y - y0) // cell).astype(np.int64), 0, n_y - 1)
    left, right = np.clip(cx - half, 0, n_x), np.clip(cx + half + 1, 0, n_x)
    bottom, top = np.clip(cy - half, 0, n_y), np.clip(cy + half + 1, 0, n_y)
    around = table[top, right] - table[bottom, right] - table[top, left] + table[bottom, left]
    window_km2 = ((2 * half + 1) * cell / 1000.0) ** 2
    return np.asarray(around >= URBAN_MIN_JUNCTIONS_PER_KM2 * window_km2, dtype=np.bool_)


@lru_cache(maxsize=1)
def _osmnx_implicit_maxspeeds() -> dict[str, float]:
    """Return osmnx's table of implicit maxspeed values (``"DE:rural"``...), if any."""
    try:
        from osmnx import routing
    except ImportError:  # pragma: no cover - osmnx is a dependency
        return {}
    table = getattr(routing, "_IMPLICIT_MAXSPEEDS", {})
    return {str(key).lower(): float(value) for key, value in table.items()}


def _parse_maxspeed_kmh(value: Any) -> float:
    """Return the speed limit of a ``maxspeed`` value in km/h, NaN when unknown.

    Numbers are km/h unless followed by ``mph`` or ``knots``; several values (``a;b``,
    lanes ``a|b``) give the lowest; implicit values (``FR:urban``, ``DE:rural``,
    ``FR:zone30``, ``walk``...) are read from the tables of the module docstring.
    """
    if not isinstance(value, str):
        return math.nan
    speeds = [_parse_one_maxspeed(part) for part in re.split(r"[;|]", value)]
    valid = [speed for speed in speeds if math.isfinite(speed)]
    return min(valid) if valid else math.nan


def _parse_one_maxspeed(text: str) -> float:
    """One ``maxspeed`` value in km/h (NaN when unknown)."""
    low = text.strip().lower()
    if not low:
        return math.nan
    match = _MAXSPEED_NUMBER.match(low)
    if match:
        speed = float(match.group(1).replace(",", ".")) * _UNIT_KMH[match.group(2)]
        return speed if 0 < speed <= 300 else math.nan
    if low in IMPLICIT_MAXSPEEDS_KMH:
        return IMPLICIT_MAXSPEEDS_KMH[low]
    zone = _MAXSPEED_ZONE.search(low)
    if zone:
        return float(zone.group(1))
    implicit = _osmnx_implicit_maxspeeds().get(low)
    if implicit is not None:
        return implicit
    if ":" in low:
        return _GENERIC_MAXSPEEDS_KMH.get(low.split(":", 1)[1], math.nan)
    return math.nan


def _no_usable_way(mode: StreetMode, n_ways: int) -> InputError:
    """Return the error raised when a mode has no usable way."""
    return InputError(
        tr(
            f"aucune des {n_ways} voies de la couche n'est utilisable en mode « {mode.value} »",
            f"none of the {n_ways} ways of the layer is usable in mode '{mode.value}'",
        ),
        field="streets",
    )


def _flat_lines(lines: ObjectArray) -> tuple[FloatArray, IntArray]:
    """Return the coordinates of LineStrings, flat, and the offset of each line."""
    counts = shapely.get_num_coordinates(lines).astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    return shapely.get_coordinates(lines), offsets


def _decode(codes: npt.NDArray[np.int32], values: npt.NDArray[np.str_]) -> ObjectArray:
    """Text values from factorised codes (-1 is None)."""
    table = np.asarray([str(value) for value in values] + [None], dtype=object)
    return table[np.where(codes >= 0, codes, len(values))]


def _present_columns(path: Path) -> list[str]:
    """Return the columns of the streets file that the engine reads."""
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    return [column for column in _READ_COLUMNS if column in names]
