"""The street graph of one mode: built from the ``streets`` layer, saved, loaded, queried.

A :class:`StreetGraph` is built once per territory and mode (access, direction and speed
rules in :mod:`parcours.accessibility.streets.profile`), cached on disk
(:func:`cached_street_graph`), and answers travel times with the compiled Dijkstra of
:mod:`parcours.accessibility.streets.dijkstra`.

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

"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.sparse import csgraph

import parcours.accessibility.streets as _package
from parcours.accessibility.streets._types import (
    BoolArray,
    FloatArray,
    IntArray,
    ObjectArray,
    _Pieces,
)
from parcours.accessibility.streets.dijkstra import (
    TurnArrays,
    _csr,
    _dijkstra_tree,
    _search,
    _turn_probe,
    _turn_search,
    _turn_search_one,
    _unique_places,
)
from parcours.accessibility.streets.profile import (
    WALK_SPEED_KMH,
    StreetMode,
    _mode_speed,
    _permissions,
)
from parcours.accessibility.streets.snapping import MAX_SNAP_M, SnappedPoints, snap_to_chains
from parcours.accessibility.streets.stress import traffic_stress
from parcours.accessibility.streets.turns import (
    chain_bearings_brads,
    edge_bearings_deg,
    turn_graph,
)
from parcours.errors import InputError
from parcours.i18n import tr
from parcours.territories.workspace import file_digest

__all__ = ["ENGINE_VERSION", "StreetEdges", "StreetGraph", "StreetPath", "cached_street_graph"]

#: Changes whenever the graph built from the same layer could change (part of cache keys).
ENGINE_VERSION: Final = "streets-2"
#: R5's smallest kept island (``StreetLayer.MIN_SUBGRAPH_SIZE``), in graph nodes.
MIN_ISLAND_NODES: Final = 40

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
    "lanes",
    "junction",
    "wheelchair",
    "service",
)
_READ_COLUMNS: Final = ("osm_id", *_TAG_COLUMNS, "node_ids", "geometry")


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


@dataclass(frozen=True, eq=False)
class StreetPath:
    """The fastest street path between two points (the result of :meth:`StreetGraph.path`).

    Attributes
    ----------
    time_s
        Travel time in seconds, off-street legs included: what
        :meth:`StreetGraph.travel_times_s` gives for the same two points.
    length_m
        Length of :attr:`geometry` (off-street legs included).
    edges
        The directed edges run from end to end, in order (indices into
        :meth:`StreetGraph.edge_geometries`); the partial edges at both ends and a
        direct path along one chain are not listed.
    geometry
        LineString from the point to its snapped point, along the streets, to the
        other snapped point and point, in the graph's CRS.

    """

    time_s: float
    length_m: float
    edges: IntArray
    geometry: shapely.LineString


def _street_path(
    time_s: float,
    edges: IntArray,
    start: list[tuple[float, float]],
    pieces: list[FloatArray],
    end: list[tuple[float, float]],
) -> StreetPath:
    """Join the off-street legs and the pieces into one LineString (repeated points dropped)."""
    xy = np.vstack([np.asarray(start), *pieces, np.asarray(end)])
    keep = np.ones(len(xy), dtype=np.bool_)
    keep[1:] = np.any(xy[1:] != xy[:-1], axis=1)
    xy = xy[keep]
    if len(xy) < 2:
        xy = np.vstack((xy, xy))
    length_m = float(np.hypot(*np.diff(xy, axis=0).T).sum())
    return StreetPath(time_s, length_m, edges, shapely.LineString(xy))


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
        max_traffic_stress: int | None = None,
        walk_speed_kmh: float = WALK_SPEED_KMH,
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
        max_traffic_stress
            Bike only: chains of a higher level of traffic stress
            (:mod:`~parcours.accessibility.streets.stress`, R5's labels) are walked,
            bike in hand, at ``walk_speed_kmh``; ``None`` or 4: no limit.
        walk_speed_kmh
            The walking speed on those chains, km/h.

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
            chain_speed = _package._car_speeds(frame, pieces)  # via the package: patchable
        else:
            chain_speed = np.full(len(pieces.way), speed, dtype=np.float64)
        if mode is StreetMode.BIKE and max_traffic_stress is not None:
            car_fwd, car_bwd = _permissions(frame, StreetMode.CAR, wheelchair=False)
            fwd, bwd = traffic_stress(frame, car_fwd | car_bwd)
            fwd, bwd = fwd[pieces.way], bwd[pieces.way]
            ridden = np.maximum(np.where(pieces.forward, fwd, 0), np.where(pieces.backward, bwd, 0))
            chain_speed = np.where(ridden > max_traffic_stress, walk_speed_kmh, chain_speed)

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
    def _adjacency(self) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
        """The directed edges as (row, column, time, edge), parallel edges reduced (fastest)."""
        from_node, to_node, time_s = self._edge_ends()
        order = np.lexsort((time_s, to_node, from_node))
        rows, cols, times = from_node[order], to_node[order], time_s[order]
        first = np.ones(len(rows), dtype=np.bool_)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        return rows[first], cols[first], times[first], order[first].astype(np.int64)

    @cached_property
    def _csr_forward(self) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
        """The reduced edges as CSR ``(indptr, indices, weights, edge)``, by from-node."""
        rows, cols, times, edge = self._adjacency
        indptr, indices, weights, order = _csr(rows, cols, times, self.n_nodes)
        return indptr, indices, weights, edge[order]

    @cached_property
    def _csr_backward(self) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
        """The reduced edges reversed, as CSR ``(indptr, indices, weights, edge)``, by to-node."""
        rows, cols, times, edge = self._adjacency
        indptr, indices, weights, order = _csr(cols, rows, times, self.n_nodes)
        return indptr, indices, weights, edge[order]

    @cached_property
    def _edge_bearings_deg(self) -> tuple[IntArray, IntArray]:
        """R5's in- and out-bearing of every directed edge, whole degrees (``turns``)."""
        coords, offsets = self._chain_coords
        first, last = chain_bearings_brads(
            np.ascontiguousarray(coords, dtype=np.float64), offsets.astype(np.int64)
        )
        return edge_bearings_deg(first, last, self._edge_chain, self._edge_reversed)

    def _turn_graph(self, *, backward: bool) -> TurnArrays:
        """The edge-based search's arrays (recomputed lazily: not saved with the graph)."""
        name = "_turn_backward" if backward else "_turn_forward"
        arrays: TurnArrays | None = self.__dict__.get(name)
        if arrays is None:
            from_node, to_node, time_s = self._edge_ends()
            in_deg, out_deg = self._edge_bearings_deg
            arrays = turn_graph(
                from_node, to_node, time_s, in_deg, out_deg, self.n_nodes, backward=backward
            )
            self.__dict__[name] = arrays
        return arrays

    def _with_turns(self, turn_costs: bool) -> bool:
        """Whether the searches pay R5's turn costs (car only)."""
        return bool(turn_costs) and self.mode is StreetMode.CAR

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
        return snap_to_chains(
            x_m,
            y_m,
            tree_and_chains=self._snap_tree,
            chain_geometry=self._geometry,
            chain_edges=self._chain_edges,
            max_snap_m=max_snap_m,
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
        turn_costs: bool = True,
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
        turn_costs
            Car only: pay R5's turn costs (10 s right, 30 s left, 90 s U-turn, see
            :mod:`~parcours.accessibility.streets.turns`) with an edge-based search;
            False gives the node-based search without them. Walk and bike have none.

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
        snap_speed_ms = self._snap_speed_ms(snap_speed_kmh)
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

        # Points snapped to the same place of the same chain share one search; their
        # off-street legs are added afterwards (a constant per point).
        o_first, o_inverse = _unique_places(o_chain, o_fraction)
        d_first, d_inverse = _unique_places(d_chain, d_fraction)
        if self._with_turns(turn_costs):
            block = self._turn_block(
                (o_chain, o_fraction, out_u, out_v, o_snap_s, o_first, o_inverse),
                (d_chain, d_fraction, in_u, in_v, d_snap_s, d_first, d_inverse),
                max_time_s,
            )
        elif len(d_first) < len(o_first):
            # fewer destinations: search backwards from them, on the reversed graph
            block = (
                _search(
                    self._csr_backward[:3],
                    (d_u[d_first], d_v[d_first], in_u[d_first], in_v[d_first]),
                    (o_u, o_v, out_u, out_v, o_snap_s),
                    max_time_s,
                ).T[:, d_inverse]
                + d_snap_s[None, :]
            )
        else:
            block = (
                _search(
                    self._csr_forward[:3],
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

    def _chain_ends(
        self, chain: IntArray, fraction: FloatArray
    ) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """How points on chains meet the edge-based search, towards ``v`` and towards ``u``.

        Returns
        -------
        tuple of numpy.ndarray
            ``(state_v, node_v, state_u, node_u)``: the directed edge from the point to
            the chain's ``v`` (-1 when closed, or when the point is on ``v``: then
            ``node_v`` is ``v``, otherwise -1), and the same towards ``u``.

        """
        forward, backward = self._chain_edges
        at_u, at_v = fraction == 0.0, fraction == 1.0
        state_v = np.where(at_v, -1, forward[chain])
        state_u = np.where(at_u, -1, backward[chain])
        node_v = np.where(at_v, self._v[chain], -1)
        node_u = np.where(at_u, self._u[chain], -1)
        return state_v, node_v, state_u, node_u

    def _probes(self, state: IntArray, node: IntArray) -> IntArray:
        """Probe codes of :func:`_turn_search`: a node, else a state (0 when neither)."""
        return np.where(node >= 0, self.n_edges + node, np.maximum(state, 0))

    def _turn_block(
        self,
        origins: tuple[
            IntArray, FloatArray, FloatArray, FloatArray, FloatArray, IntArray, IntArray
        ],
        destinations: tuple[
            IntArray, FloatArray, FloatArray, FloatArray, FloatArray, IntArray, IntArray
        ],
        max_time_s: float,
    ) -> FloatArray:
        """Car times between snapped points with turn costs (edge-based searches).

        Forward (from the origins): each origin starts on the directed edges of its
        chain, towards ``v`` and towards ``u``, with the partial costs (on a node: from
        the node, no turn); a destination takes the best time at either end of its
        chain plus the partial cost (no turn onto it). Backward (fewer destinations):
        the destinations are node seeds of the reversed turn graph, and an origin reads
        the label of the edge it starts on. Both give the same times.
        """
        o_chain, o_fraction, out_u, out_v, o_snap_s, o_first, o_inverse = origins
        d_chain, _, in_u, in_v, d_snap_s, d_first, d_inverse = destinations
        none = np.full(1, -1, dtype=np.int64)
        if len(d_first) < len(o_first):
            d_c = d_chain[d_first]
            n = len(d_c)
            seeds = (
                np.repeat(none, 2 * n),
                np.column_stack((self._u[d_c], self._v[d_c])).reshape(-1),
                np.column_stack((in_u[d_first], in_v[d_first])).reshape(-1),
            )
            state_v, node_v, state_u, node_u = self._chain_ends(o_chain, o_fraction)
            code_v, code_u = self._probes(state_v, node_v), self._probes(state_u, node_u)
            cost_v = np.where((state_v >= 0) | (node_v >= 0), out_v, np.inf)
            cost_u = np.where((state_u >= 0) | (node_u >= 0), out_u, np.inf)
            probes, inverse = np.unique(np.concatenate((code_v, code_u)), return_inverse=True)
            values = _turn_search(
                self._turn_graph(backward=True), seeds, 2, probes.astype(np.int64), max_time_s
            )
            inverse = inverse.reshape(-1)
            m = len(o_chain)
            block = np.minimum(values[:, inverse[:m]] + cost_v, values[:, inverse[m:]] + cost_u)
            return (block + o_snap_s[None, :]).T[:, d_inverse] + d_snap_s[None, :]
        o_c, o_f = o_chain[o_first], o_fraction[o_first]
        state_v, node_v, state_u, node_u = self._chain_ends(o_c, o_f)
        seeds = (
            np.column_stack((state_v, state_u)).reshape(-1),
            np.column_stack((node_v, node_u)).reshape(-1),
            np.column_stack((out_v[o_first], out_u[o_first])).reshape(-1),
        )
        d_u, d_v = self._u[d_chain], self._v[d_chain]
        probes, inverse = np.unique(np.concatenate((d_u, d_v)) + self.n_edges, return_inverse=True)
        values = _turn_search(
            self._turn_graph(backward=False), seeds, 2, probes.astype(np.int64), max_time_s
        )
        inverse = inverse.reshape(-1)
        m = len(d_chain)
        block = np.minimum(values[:, inverse[:m]] + in_u, values[:, inverse[m:]] + in_v)
        return (block + d_snap_s[None, :])[o_inverse] + o_snap_s[:, None]

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

    def _snap_speed_ms(self, snap_speed_kmh: float | None) -> float:
        """The speed of the off-street legs in m/s (the walking speed by default)."""
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
        return float(snap_speed_kmh) / 3.6

    # --- one path -----------------------------------------------------------------------

    def path(
        self,
        origin: SnappedPoints,
        destination: SnappedPoints,
        *,
        max_time_s: float = math.inf,
        snap_speed_kmh: float | None = None,
        turn_costs: bool = True,
    ) -> StreetPath | None:
        """The fastest path between two snapped points, edge by edge, with its geometry.

        One compiled Dijkstra search from the origin's chain, recording predecessors and
        stopped as soon as the destination cannot improve; the same costs, the same
        additions in the same order as :meth:`travel_times_s` (edge-based with turn
        costs for car), so that ``path(a, b).time_s == travel_times_s(a, b)[0, 0]``.

        Parameters
        ----------
        origin, destination
            Points snapped by this graph's :meth:`snap` (the first point of each).
        max_time_s
            Paths longer than this are not searched (None is returned).
        snap_speed_kmh, turn_costs
            As :meth:`travel_times_s`.

        Returns
        -------
        StreetPath or None
            None when a point is unsnapped or the destination is not reachable within
            ``max_time_s``.

        """
        snap_speed_ms = self._snap_speed_ms(snap_speed_kmh)
        a, b = origin.take(slice(0, 1)), destination.take(slice(0, 1))
        if not len(a) or not len(b) or not (a.ok[0] and b.ok[0]):
            return None
        o_chain, o_fraction = self._on_chain(a, "origin")
        d_chain, d_fraction = self._on_chain(b, "destination")
        out_u, out_v, _, _ = self._partial_costs(o_chain, o_fraction)
        _, _, in_u, in_v = self._partial_costs(d_chain, d_fraction)
        c0, c1 = int(o_chain[0]), int(d_chain[0])
        f0, f1 = float(o_fraction[0]), float(d_fraction[0])
        o_snap_s = float(a.snap_distance_m[0]) / snap_speed_ms
        d_snap_s = float(b.snap_distance_m[0]) / snap_speed_ms
        if self._with_turns(turn_costs):
            via_u, via_v, node, edges, leave = self._turn_path(
                (o_chain, o_fraction, out_u, out_v), (d_chain, in_u, in_v), max_time_s
            )
        else:
            via_u, via_v, node, edges, leave = self._node_path(
                (c0, out_u, out_v), (c1, in_u, in_v), max_time_s
            )
        # the same sums in the same order as travel_times_s and _same_chain
        time_s = (min(via_u, via_v) + d_snap_s) + o_snap_s
        direct_s = math.inf
        if c0 == c1:
            delta, chain_s = f1 - f0, float(self._time_s[c0])
            if delta >= 0 and self._forward[c0]:
                direct_s = delta * chain_s
            if delta <= 0 and self._backward[c0]:
                direct_s = min(direct_s, -delta * chain_s)
            direct_s = (direct_s + o_snap_s) + d_snap_s
        start = [(float(a.point_x[0]), float(a.point_y[0]))]
        end = [(float(b.point_x[0]), float(b.point_y[0]))]
        if direct_s <= time_s and math.isfinite(direct_s):
            if direct_s > max_time_s:
                return None
            return _street_path(
                direct_s, np.zeros(0, dtype=np.int64), start, [self._piece(c0, f0, f1)], end
            )
        if not math.isfinite(time_s) or time_s > max_time_s:
            return None
        last = self._piece(c1, 0.0 if node == int(self._u[c1]) else 1.0, f1)
        pieces = [self._piece(c0, f0, leave)]
        pieces.extend(self._edge_xy(edge) for edge in edges)
        pieces.append(last)
        return _street_path(time_s, np.asarray(edges, dtype=np.int64), start, pieces, end)

    def _node_path(
        self,
        origin: tuple[int, FloatArray, FloatArray],
        destination: tuple[int, FloatArray, FloatArray],
        max_time_s: float,
    ) -> tuple[float, float, int, list[int], float]:
        """The node-based search of :meth:`path`.

        Returns
        -------
        tuple
            The time to the destination through ``u`` and through ``v`` of its chain,
            the end it is reached by, the full edges run, and the fraction of the
            origin's chain it leaves by (0: ``u``, 1: ``v``).

        """
        c0, out_u, out_v = origin
        c1, in_u, in_v = destination
        u0, v0, u1, v1 = int(self._u[c0]), int(self._v[c0]), int(self._u[c1]), int(self._v[c1])
        indptr, indices, weights, edge_of = self._csr_forward
        dist, pred = _dijkstra_tree(
            indptr,
            indices,
            weights,
            np.asarray([u0, v0], dtype=np.int64),
            np.asarray([out_u[0], out_v[0]], dtype=np.float64),
            np.asarray([u1, v1], dtype=np.int64),
            float(max_time_s),
        )
        via_u, via_v = float(dist[u1] + in_u[0]), float(dist[v1] + in_v[0])
        node = target = u1 if via_u <= via_v else v1
        from_node = self._edge_from
        edges: list[int] = []
        while pred[node] >= 0:
            edge = int(edge_of[pred[node]])
            edges.append(edge)
            node = int(from_node[edge])
        edges.reverse()
        leave_by_u = node == u0 and (node != v0 or out_u[0] <= out_v[0])
        return via_u, via_v, target, edges, 0.0 if leave_by_u else 1.0

    def _turn_path(
        self,
        origin: tuple[IntArray, FloatArray, FloatArray, FloatArray],
        destination: tuple[IntArray, FloatArray, FloatArray],
        max_time_s: float,
    ) -> tuple[float, float, int, list[int], float]:
        """The edge-based search of :meth:`path` (car turn costs); as :meth:`_node_path`."""
        o_chain, o_fraction, out_u, out_v = origin
        d_chain, in_u, in_v = destination
        state_v, node_v, state_u, node_u = self._chain_ends(o_chain, o_fraction)
        seed_state = np.asarray([state_v[0], state_u[0]], dtype=np.int64)
        seed_node = np.asarray([node_v[0], node_u[0]], dtype=np.int64)
        seed_cost = np.asarray([out_v[0], out_u[0]], dtype=np.float64)
        u1, v1 = int(self._u[d_chain[0]]), int(self._v[d_chain[0]])
        graph = self._turn_graph(backward=False)
        label, pred = _turn_search_one(
            graph,
            seed_state,
            seed_node,
            seed_cost,
            self._edge_ends()[1],
            np.asarray([u1, v1], dtype=np.int64),
            np.asarray([in_u[0], in_v[0]], dtype=np.float64),
            float(max_time_s),
        )
        at_u = _turn_probe(graph, self.n_edges + u1, label, seed_node, seed_cost)
        at_v = _turn_probe(graph, self.n_edges + v1, label, seed_node, seed_cost)
        via_u, via_v = float(at_u + in_u[0]), float(at_v + in_v[0])
        target = u1 if via_u <= via_v else v1
        best = at_u if target == u1 else at_v
        edges: list[int] = []
        leave = float(o_fraction[0])  # from a node seed: the origin is on that node
        if not math.isfinite(best) or (seed_node == target)[seed_cost == best].any():
            return via_u, via_v, target, edges, leave
        look_ptr, look_idx = graph[6], graph[7]
        entering = look_idx[look_ptr[target] : look_ptr[target + 1]]
        state = int(entering[np.argmin(label[entering])])
        while True:
            previous = int(pred[state])
            if previous == -1:  # the origin's own edge, run in part
                leave = 1.0 if state == state_v[0] else 0.0
                break
            edges.append(state)
            if previous == -2:
                break
            state = previous
        edges.reverse()
        return via_u, via_v, target, edges, leave

    @cached_property
    def _edge_from(self) -> IntArray:
        """The from-node of every directed edge."""
        return self._edge_ends()[0]

    @cached_property
    def _chain_coords(self) -> tuple[FloatArray, IntArray]:
        """The coordinates of every chain, flat, and the offset of each chain."""
        return _flat_lines(self._geometry)

    def _chain_xy(self, chain: int) -> FloatArray:
        coords, offsets = self._chain_coords
        return coords[offsets[chain] : offsets[chain + 1]]

    def _edge_xy(self, edge: int) -> FloatArray:
        """The coordinates of a directed edge, from its from-node to its to-node."""
        xy = self._chain_xy(int(self._edge_chain[edge]))
        return xy[::-1] if self._edge_reversed[edge] else xy

    def _piece(self, chain: int, start: float, stop: float) -> FloatArray:
        """The part of a chain from fraction ``start`` to ``stop`` (way order 0 -> 1)."""
        xy = self._chain_xy(chain)
        cum = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))))
        total = float(cum[-1])
        lo, hi = min(start, stop) * total, max(start, stop) * total
        inside = xy[(cum > lo) & (cum < hi)]
        first = [np.interp(lo, cum, xy[:, 0]), np.interp(lo, cum, xy[:, 1])]
        last = [np.interp(hi, cum, xy[:, 0]), np.interp(hi, cum, xy[:, 1])]
        piece = np.vstack(([first], inside, [last]))
        return piece[::-1] if start > stop else piece

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


def cached_street_graph(
    streets_path: Path,
    cache_dir: Path,
    mode: StreetMode | str,
    *,
    speed_kmh: float | None = None,
    wheelchair: bool = False,
    max_traffic_stress: int | None = None,
    walk_speed_kmh: float = WALK_SPEED_KMH,
) -> StreetGraph:
    """Return the graph of a ``streets`` layer, built once and kept in ``cache_dir``.

    Parameters
    ----------
    streets_path
        The ``streets`` GeoParquet file (``layers/streets.parquet``).
    cache_dir
        Where graphs are kept (the territory's ``cache/`` folder).
    mode, speed_kmh, wheelchair, max_traffic_stress, walk_speed_kmh
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
            **(
                {"max_traffic_stress": max_traffic_stress, "walk_speed_kmh": walk_speed_kmh}
                if mode is StreetMode.BIKE and max_traffic_stress is not None
                else {}
            ),
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
    graph = StreetGraph.from_streets(
        streets,
        mode,
        speed_kmh=speed_kmh,
        wheelchair=wheelchair,
        max_traffic_stress=max_traffic_stress,
        walk_speed_kmh=walk_speed_kmh,
    )
    graph.save(path)
    return graph


# --- building blocks --------------------------------------------------------------------


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
