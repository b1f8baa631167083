"""The legs of a transit search: timetable, transfers, access and egress walks.

:func:`transit_legs` gathers what the range-RAPTOR needs besides the timetable: the walks
from the origins to the stops, from the stops to the destinations (sparse triplets,
computed block by block to bound memory) and the walk-only times.

Walking limits, as R5 (``TravelTimeComputer``, ``EgressCostTable``, ``TransferFinder``):

* access (origin -> first stop) and the walk-only trip: at most ``max_time_walking``
  (r5py's per-leg limit; its default is ``max_time``), and never more than ``max_time``;
* egress (last stop -> destination): at most
  :data:`~parcours.accessibility.network.MAX_EGRESS_WALK_M` (2,000 m: R5 builds its
  stop -> destination tables up to ``TransitLayer.WALK_DISTANCE_LIMIT_METERS`` and
  scales the distances by the walking speed), and at most ``max_time_walking``;
* transfers (stop -> stop): at most 1,000 m
  (:data:`~parcours.accessibility.network.MAX_TRANSFER_WALK_M`).

R5 measures the egress and transfer limits in metres along the street; the native walk
graph's cost is its length at the walking speed, so the limit is applied as
``metres / speed`` seconds on the same search (the same edges, the same result).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from parcours.accessibility.network import MAX_EGRESS_WALK_M
from parcours.accessibility.params import WALK_ONLY, QueryParams, TransportMode
from parcours.accessibility.query import MatrixInputs
from parcours.accessibility.streets import SnappedPoints, StreetGraph
from parcours.accessibility.transit import Timetable, Transfers
from parcours.errors import InputError
from parcours.i18n import tr

__all__ = ["MAX_EGRESS_BIKE_M", "MAX_EGRESS_CAR_S", "TransitLegs", "street_modes", "transit_legs"]

FloatArray = npt.NDArray[np.float64]


@dataclass
class TransitLegs:
    """What a transit search needs besides the timetable (walks as sparse triplets).

    Attributes
    ----------
    timetable, transfers
        The service day's timetable and the walks between its stops.
    stops
        The timetable's stops snapped on the walk graph.
    access_stop, access_s, access_origin
        Walks from the origins to the stops (stop index, whole seconds, origin index).
    egress_stop, egress_dest, egress_s
        Walks from the stops to the destinations.
    walk_only_s
        Direct times origin x destination without public transport, by the fastest
        direct street mode (walking unless ``transport_modes`` names another), inf
        when too long.
    warnings
        Facts to tell the user (a day without service).
    """

    timetable: Timetable
    transfers: Transfers
    stops: SnappedPoints
    access_stop: npt.NDArray[np.int64]
    access_s: npt.NDArray[np.int64]
    access_origin: npt.NDArray[np.int64]
    egress_stop: npt.NDArray[np.int64]
    egress_dest: npt.NDArray[np.int64]
    egress_s: npt.NDArray[np.int64]
    walk_only_s: FloatArray
    warnings: list[str]


#: Stops per block when walking from the stops to many destinations (bounds memory).
_EGRESS_BLOCK_CELLS = 20_000_000


def _walks(
    graph: StreetGraph, sources: SnappedPoints, targets: SnappedPoints, limit_s: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Walks within ``limit_s`` as (source, target, whole seconds), block by block."""
    block = max(1, _EGRESS_BLOCK_CELLS // max(1, len(targets)))
    src: list[npt.NDArray[np.int64]] = []
    dst: list[npt.NDArray[np.int64]] = []
    sec: list[npt.NDArray[np.int64]] = []
    for first in range(0, len(sources), block):
        part = sources.take(slice(first, first + block))
        times = graph.travel_times_s(part, targets, max_time_s=limit_s)
        i, j = np.nonzero(times <= limit_s)
        src.append((i + first).astype(np.int64))
        dst.append(j.astype(np.int64))
        sec.append(np.ceil(times[i, j]).astype(np.int64))
    if not src:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(src), np.concatenate(dst), np.concatenate(sec)


#: R5's caps on the stop -> destination tables of the egress modes other than walking
#: (``EgressCostTable``): 5,000 m by bike; 30 minutes by car.
MAX_EGRESS_BIKE_M: Final = 5000.0
MAX_EGRESS_CAR_S: Final = 30 * 60.0


def _egress_limit_s(params: QueryParams, mode: TransportMode) -> float:
    """R5's egress cap of a street mode, within the leg's own time limit, seconds."""
    if mode is TransportMode.WALK:
        cap = MAX_EGRESS_WALK_M / (params.speed_walking / 3.6)
    elif mode is TransportMode.BIKE:
        cap = MAX_EGRESS_BIKE_M / (params.speed_cycling / 3.6)
    else:
        cap = MAX_EGRESS_CAR_S
    return min(cap, params.max_time_s(mode))


def _min_merge(
    parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The fastest of several (source, target, seconds) triplet sets, one per pair."""
    if len(parts) == 1:
        return parts[0]
    src = np.concatenate([p[0] for p in parts])
    dst = np.concatenate([p[1] for p in parts])
    sec = np.concatenate([p[2] for p in parts])
    order = np.lexsort((sec, dst, src))
    src, dst, sec = src[order], dst[order], sec[order]
    first = np.ones(len(src), dtype=bool)
    first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    return src[first], dst[first], sec[first]


def street_modes(params: QueryParams) -> tuple[frozenset[TransportMode], frozenset[TransportMode]]:
    """The access and direct street modes of a transit query (r5py 1.x's rule).

    The direct trips (no public transport) use the street modes of ``transport_modes``
    (walking when there is none); the first stop is reached by ``access_modes`` and by
    the direct modes too.
    """
    direct = frozenset(params.modes - {TransportMode.TRANSIT}) or WALK_ONLY
    return params.access_modes | direct, direct


def transit_legs(
    inputs: MatrixInputs,
    service_date: dt.date,
    *,
    until_s: int,
    destinations: SnappedPoints | None = None,
    origins: SnappedPoints | slice | None = None,
    reuse: TransitLegs | None = None,
    direct: bool = True,
) -> TransitLegs:
    """Timetable, transfers, access and egress legs of a transit query.

    Parameters
    ----------
    inputs
        The snapped origins and destinations, on the walk graph.
    service_date
        The service day.
    until_s
        The latest time the search may reach (seconds after the day's midnight).
    destinations
        Other targets than ``inputs``' destinations, on the walk graph (e.g. every graph
        node, for isochrones); walking egress only.
    origins
        A block of ``inputs``' origins (a slice), or other sources on the walk graph
        (walking access only).
    reuse
        The legs of an earlier block of the same query: its timetable, transfers and
        egress legs are kept, only the access and direct legs are computed.
    direct
        Compute the direct (walk-only) times of every origin x destination; False leaves
        ``walk_only_s`` empty, for a caller that needs only some pairs
        (:func:`~parcours.accessibility.pair_times`).

    Notes
    -----
    Each access mode (walk, bike, car) is a search on its own graph from the origin to
    the stops, limited by its ``max_time_*``; each egress mode one from the stops to the
    destinations, within R5's caps (:func:`_egress_limit_s`); several modes give the
    fastest leg per pair. R5 then keeps walking from where the bike or the car stopped
    (``keepRoutingOnFoot``) to reach stops inside pedestrian areas; here a stop is
    reached on the mode's own graph, from the nearest street that mode may use, the
    last metres off the street being the snapping leg.
    """
    network, params = inputs.network, inputs.params
    access_modes, direct_modes = street_modes(params)
    custom = destinations is not None or (origins is not None and not isinstance(origins, slice))
    if custom and (access_modes | params.egress_modes) != WALK_ONLY:
        raise InputError(
            tr(
                "le vélo ou la voiture pour rejoindre les arrêts ne s'applique qu'aux "
                "matrices (pas encore aux isochrones ni aux itinéraires)",
                "bike or car to and from the stops applies to matrices only (not yet to "
                "isochrones and itineraries)",
            ),
            field="access_modes" if params.access_modes != WALK_ONLY else "egress_modes",
        )
    block = origins if isinstance(origins, slice) else slice(None)
    walk_graph = inputs.graph
    if reuse is None:
        tt = network.timetable_for(params, service_date, until_s=until_s)
        transfers = network.transfers(
            service_date, speed_walking_kmh=params.speed_walking, wheelchair=params.wheelchair
        )
        stops = network.snapped_stops(tt, walk_graph)
        parts = []
        for mode in sorted(params.egress_modes):
            graph, _, targets = inputs.on(mode)
            if destinations is not None:
                targets = destinations
            parts.append(
                _walks(
                    graph, network.snapped_stops(tt, graph), targets, _egress_limit_s(params, mode)
                )
            )
        e_stop, e_dest, e_s = _min_merge(parts)
    else:
        tt, transfers, stops = reuse.timetable, reuse.transfers, reuse.stops
        e_stop, e_dest, e_s = reuse.egress_stop, reuse.egress_dest, reuse.egress_s
    access = []
    for mode in sorted(access_modes):
        graph, sources, _ = inputs.on(mode)
        if origins is not None and not isinstance(origins, slice):
            sources = origins
        else:
            sources = sources.take(block)
        access.append(
            _walks(graph, sources, network.snapped_stops(tt, graph), params.max_time_s(mode))
        )
    a_origin, a_stop, a_s = _min_merge(access)
    walk_only: FloatArray | None = None if direct else np.zeros((0, 0))
    for mode in sorted(direct_modes) if direct else ():
        graph, sources, targets = inputs.on(mode)
        if origins is not None and not isinstance(origins, slice):
            sources = origins
        else:
            sources = sources.take(block)
        if destinations is not None:
            targets = destinations
        limit = params.max_time_s(mode)
        times = graph.travel_times_s(sources, targets, max_time_s=limit)
        times = np.where(times <= limit, times, np.inf)
        walk_only = times if walk_only is None else np.minimum(walk_only, times)
    assert walk_only is not None
    return TransitLegs(
        timetable=tt,
        transfers=transfers,
        stops=stops,
        access_stop=a_stop,
        access_s=a_s,
        access_origin=a_origin,
        egress_stop=e_stop,
        egress_dest=e_dest,
        egress_s=e_s,
        walk_only_s=walk_only,
        warnings=network.service_warnings(tt),
    )
