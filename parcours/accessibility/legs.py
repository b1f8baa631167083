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

import numpy as np
import numpy.typing as npt

from parcours.accessibility.network import MAX_EGRESS_WALK_M
from parcours.accessibility.query import MatrixInputs
from parcours.accessibility.streets import SnappedPoints, StreetGraph
from parcours.accessibility.transit import Timetable, Transfers

__all__ = ["TransitLegs", "transit_legs"]

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
        Walking times origin x destination without transit (inf when too long).
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


def transit_legs(
    inputs: MatrixInputs,
    service_date: dt.date,
    *,
    until_s: int,
    destinations: SnappedPoints | None = None,
    origins: SnappedPoints | None = None,
    reuse: TransitLegs | None = None,
) -> TransitLegs:
    """Timetable, transfers, access and egress walks of a transit query.

    Parameters
    ----------
    inputs
        The snapped origins and destinations, on the walk graph.
    service_date
        The service day.
    until_s
        The latest time the search may reach (seconds after the day's midnight).
    destinations
        Other targets than ``inputs``' destinations (e.g. every graph node, for
        isochrones).
    origins
        Other sources than ``inputs``' origins (a block of them).
    reuse
        The legs of an earlier block of the same query: its timetable, transfers and
        egress walks are kept, only the access and walk-only legs are computed.
    """
    network, params, graph = inputs.network, inputs.params, inputs.graph
    targets = inputs.snapped_destinations if destinations is None else destinations
    sources = inputs.snapped_origins if origins is None else origins
    limit = min(params.max_time_walking_s, params.max_time.total_seconds())
    egress_limit = min(limit, MAX_EGRESS_WALK_M / (params.speed_walking / 3.6))
    if reuse is None:
        tt = network.timetable_for(params, service_date, until_s=until_s)
        transfers = network.transfers(
            service_date, speed_walking_kmh=params.speed_walking, wheelchair=params.wheelchair
        )
        stops = network.snapped_stops(tt, graph)
        e_stop, e_dest, e_s = _walks(graph, stops, targets, egress_limit)
    else:
        tt, transfers, stops = reuse.timetable, reuse.transfers, reuse.stops
        e_stop, e_dest, e_s = reuse.egress_stop, reuse.egress_dest, reuse.egress_s
    a_origin, a_stop, a_s = _walks(graph, sources, stops, limit)
    walk_only = graph.travel_times_s(sources, targets, max_time_s=limit)
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
        walk_only_s=np.where(walk_only <= limit, walk_only, np.inf),
        warnings=network.service_warnings(tt),
    )
