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
from parcours.accessibility.streets.dijkstra import _csr, _dijkstra_tree, _search, _unique_places
from parcours.accessibility.streets.profile import (
    WALK_SPEED_KMH,
    StreetMode,
    _mode_speed,
    _permissions,
)
from parcours.accessibility.streets.snapping import MAX_SNAP_M, SnappedPoints, snap_to_chains
from parcours.accessibility.streets.stress import traffic_stress
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
        if len(d_first) < len(o_first):
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
    ) -> StreetPath | None:
        """The fastest path between two snapped points, edge by edge, with its geometry.

        One compiled Dijkstra search from the origin's chain, recording predecessors and
        stopped as soon as both ends of the destination's chain are settled; the same
        costs, the same additions in the same order as :meth:`travel_times_s`, so that
        ``path(a, b).time_s == travel_times_s(a, b)[0, 0]``.

        Parameters
        ----------
        origin, destination
            Points snapped by this graph's :meth:`snap` (the first point of each).
        max_time_s
            Paths longer than this are not searched (None is returned).
        snap_speed_kmh
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
        via_u, via_v = dist[u1] + in_u[0], dist[v1] + in_v[0]
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
        node = u1 if via_u <= via_v else v1
        last = self._piece(c1, 0.0 if node == u1 else 1.0, f1)
        from_node = self._edge_from
        edges: list[int] = []
        while pred[node] >= 0:
            edge = int(edge_of[pred[node]])
            edges.append(edge)
            node = int(from_node[edge])
        edges.reverse()
        leave_by_u = node == u0 and (node != v0 or out_u[0] <= out_v[0])
        pieces = [self._piece(c0, f0, 0.0 if leave_by_u else 1.0)]
        pieces.extend(self._edge_xy(edge) for edge in edges)
        pieces.append(last)
        return _street_path(time_s, np.asarray(edges, dtype=np.int64), start, pieces, end)

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
