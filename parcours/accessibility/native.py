"""The native engine: street modes by the compiled Dijkstra, transit by range-RAPTOR.

:class:`NativeEngine` implements :class:`~parcours.accessibility.engine.Engine` with no
JVM. Origins are processed in blocks whose size bounds the memory of one block (times of
every percentile for the block's origins x every destination, plus the RAPTOR's per-minute
arrivals at the stops); the street snapping, the timetable, the transfers and the walks
from the stops to the destinations are computed once for the whole query and shared by
the blocks.

Street modes: the exact shortest travel seconds (the same for every percentile, as in
R5). Transit: range-RAPTOR over every minute of the departure window, walking access and
egress, walk-only trips competing, R5's percentile rule
(:func:`~parcours.accessibility.transit.travel_time_percentiles`). Arrive-by: every
departure minute of the ``max_time`` before the deadline is tried; the latest one whose
arrival is not after the deadline wins (:meth:`NativeEngine.latest_departures`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt

from parcours.accessibility.legs import TransitLegs, transit_legs
from parcours.accessibility.params import QueryParams, TransportMode
from parcours.accessibility.query import (
    MatrixInputs,
    NetworkLike,
    resolve_network,
    seconds_of_day,
)
from parcours.accessibility.results import QueryReport, TimeBlock, TravelTimes
from parcours.accessibility.transit import (
    combine_egress,
    raptor_range,
    travel_time_percentiles,
)
from parcours.progress import ProgressFn, no_progress

__all__ = ["NativeEngine"]

FloatArray = npt.NDArray[np.float64]

#: Float cells one block may hold (percentiles x origins x destinations, and the
#: per-minute arrivals at the stops or destinations): about 160 MB of float64.
BLOCK_CELLS: Final = 20_000_000


def _block_size(n_cells_per_origin: int, requested: int | None) -> int:
    if requested is not None:
        return max(1, int(requested))
    return max(1, BLOCK_CELLS // max(1, n_cells_per_origin))


class NativeEngine:
    """The default engine (no JVM): compiled street searches and range-RAPTOR."""

    name = "native"

    def travel_times(
        self,
        network: NetworkLike,
        origins: gpd.GeoDataFrame,
        destinations: gpd.GeoDataFrame | None,
        params: QueryParams,
        *,
        block_size: int | None = None,
        progress: ProgressFn | None = None,
    ) -> TravelTimes:
        """Travel seconds per percentile of the departure window, block by block."""
        inputs = MatrixInputs.prepare(resolve_network(network), origins, destinations, params)
        report = inputs.report("native")
        return TravelTimes(
            inputs.origins,
            inputs.destinations,
            report,
            self._blocks(inputs, report, block_size, progress or no_progress),
        )

    def _blocks(
        self,
        inputs: MatrixInputs,
        report: QueryReport,
        block_size: int | None,
        progress: ProgressFn,
    ) -> Iterator[TimeBlock]:
        p = inputs.params
        n_o, n_d = len(inputs.origins), len(inputs.destinations)
        n_pct = len(p.percentiles)
        max_s = p.max_time.total_seconds()
        label = "temps de parcours"
        if TransportMode.TRANSIT not in p.modes:
            size = _block_size(n_d * 2, block_size)
            limit = inputs.street_limit_s()
            for first in range(0, n_o, size):
                part = inputs.snapped_origins.take(slice(first, first + size))
                times = inputs.graph.travel_times_s(
                    part, inputs.snapped_destinations, max_time_s=limit
                )
                times = np.where(times < min(limit + 1e-9, max_s), times, np.inf)
                progress(label, min(1.0, (first + len(part)) / max(1, n_o)))
                yield TimeBlock(first, np.broadcast_to(times, (n_pct, *times.shape)))
            return
        departure_s = seconds_of_day(p.departure)
        window_s = p.window_minutes * 60
        until_s = departure_s + window_s + int(max_s)
        legs = transit_legs(
            inputs,
            p.departure.date(),
            until_s=until_s,
            origins=slice(0, 0),
        )
        for message in legs.warnings:
            inputs.warnings.append(message)
            report.add(message)
        per_origin = max(n_d * (n_pct + 2), p.window_minutes * legs.timetable.n_stops)
        size = _block_size(per_origin, block_size)
        for first in range(0, n_o, size):
            rows = slice(first, min(n_o, first + size))
            n_rows = rows.stop - first
            block = transit_legs(
                inputs, p.departure.date(), until_s=until_s, origins=rows, reuse=legs
            )
            seconds = travel_time_percentiles(
                block.timetable,
                block.transfers,
                block.access_stop,
                block.access_s,
                block.access_origin,
                n_rows,
                block.egress_stop,
                block.egress_dest,
                block.egress_s,
                n_d,
                departure_s,
                window_s,
                p.percentiles,
                max_rides=p.max_public_transport_rides,
                max_time_s=int(max_s),
                walk_only_s=block.walk_only_s,
            )
            progress(label, min(1.0, (first + n_rows) / max(1, n_o)))
            yield TimeBlock(first, np.asarray(seconds, dtype=np.float64))

    def latest_departures(
        self,
        network: NetworkLike,
        origins: gpd.GeoDataFrame,
        destinations: gpd.GeoDataFrame | None,
        params: QueryParams,
        *,
        arrive_by: dt.datetime,
        block_size: int | None = None,
        progress: ProgressFn | None = None,
    ) -> TravelTimes:
        """Seconds to set aside to arrive by ``arrive_by``, block by block.

        ``params.departure`` must be ``arrive_by - max_time`` and its window ``max_time``
        (the public function sets both). Street modes: the travel time rounded up to the
        whole minute (the departure is a whole minute). Transit: the latest departure
        minute of the window whose arrival is not after ``arrive_by``.
        """
        inputs = MatrixInputs.prepare(resolve_network(network), origins, destinations, params)
        report = inputs.report("native")
        return TravelTimes(
            inputs.origins,
            inputs.destinations,
            report,
            self._latest_blocks(inputs, report, arrive_by, block_size, progress or no_progress),
        )

    def _latest_blocks(
        self,
        inputs: MatrixInputs,
        report: QueryReport,
        arrive_by: dt.datetime,
        block_size: int | None,
        progress: ProgressFn,
    ) -> Iterator[TimeBlock]:
        p = inputs.params
        n_o, n_d = len(inputs.origins), len(inputs.destinations)
        start = p.departure
        max_s = p.max_time.total_seconds()
        label = "départs au plus tard"
        if TransportMode.TRANSIT not in p.modes:
            size = _block_size(n_d * 2, block_size)
            for first in range(0, n_o, size):
                part = inputs.snapped_origins.take(slice(first, first + size))
                times = inputs.graph.travel_times_s(
                    part, inputs.snapped_destinations, max_time_s=inputs.street_limit_s()
                )
                trip = np.where(times < max_s, times, np.inf)
                before = np.ceil(trip / 60.0) * 60.0
                before = np.where(before <= max_s, before, np.inf)
                trip = np.where(np.isfinite(before), trip, np.inf)
                progress(label, min(1.0, (first + len(part)) / max(1, n_o)))
                yield TimeBlock(first, before[None, :, :], trip_seconds=trip[None, :, :])
            return
        departure_s = seconds_of_day(start)
        deadline_s = seconds_of_day(arrive_by) + (arrive_by.date() - start.date()).days * 86400
        window_s = int(max_s)
        legs = transit_legs(
            inputs,
            start.date(),
            until_s=deadline_s,
            origins=slice(0, 0),
        )
        for message in legs.warnings:
            inputs.warnings.append(message)
            report.add(message)
        n_minutes = max(1, window_s // 60)
        per_origin = n_minutes * max(legs.timetable.n_stops, n_d)
        size = _block_size(per_origin, block_size)
        for first in range(0, n_o, size):
            rows = slice(first, min(n_o, first + size))
            n_rows = rows.stop - first
            block = transit_legs(inputs, start.date(), until_s=deadline_s, origins=rows, reuse=legs)
            before, trip = _latest_in_block(
                block, n_rows, n_d, departure_s, window_s, deadline_s, p
            )
            progress(label, min(1.0, (first + n_rows) / max(1, n_o)))
            yield TimeBlock(first, before[None, :, :], trip_seconds=trip[None, :, :])


def _latest_in_block(
    legs: TransitLegs,
    n_origins: int,
    n_dest: int,
    departure_s: int,
    window_s: int,
    deadline_s: int,
    params: QueryParams,
) -> tuple[FloatArray, FloatArray]:
    """Seconds to set aside and seconds of the trip, for the latest feasible departure minute.

    Returns ``(deadline - latest minute, arrival - latest minute)``, ``inf`` when no
    departure minute arrives in time.
    """
    arrivals = raptor_range(
        legs.timetable,
        legs.transfers,
        legs.access_stop,
        legs.access_s,
        legs.access_origin,
        n_origins,
        departure_s,
        window_s,
        max_rides=params.max_public_transport_rides,
        max_time_s=window_s,
    )
    travel = combine_egress(
        arrivals,
        legs.egress_stop,
        legs.egress_dest,
        legs.egress_s,
        n_dest,
        departure_s,
        legs.walk_only_s,
        max_time_s=None,
    )
    minutes = departure_s + 60 * np.arange(travel.shape[0])[:, None, None]
    arrival = minutes + travel
    feasible = np.isfinite(travel) & (arrival <= deadline_s)
    masked = np.where(feasible, minutes, -np.inf)
    latest_index = masked.argmax(axis=0)
    latest = np.take_along_axis(masked, latest_index[None], axis=0)[0]
    trip = np.take_along_axis(travel, latest_index[None], axis=0)[0]
    ok = np.isfinite(latest)
    return np.where(ok, deadline_s - latest, np.inf), np.where(ok, trip, np.inf)
