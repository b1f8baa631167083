"""One person's trip, leg by leg: what an advisor shows ("bus 12 at 05:02, change at ...").

:func:`itinerary` returns the legs of the best trip between two points, leaving at a
given time (earliest arrival) or arriving by a given time (latest departure): walk,
bike, car or walk + public transport, with times, waits, route short names, stop names
and geometries. Street legs follow the street graph: the fastest path of
:meth:`StreetGraph.path` (the compiled Dijkstra of the matrices, recording predecessors,
so a leg's time is the matrix's time); public-transport legs are drawn through their
stops (shapes are not kept). The legs come back in the CRS of the origin given (a
GeoDataFrame's CRS; a ``(lon, lat)`` tuple is WGS84), as r5py does.

Durations and minute rounding
-----------------------------
One rule, r5py's, shared with the matrices:

- clock times are exact: each leg's ``departure`` and ``arrival`` keep their seconds
  (transit legs are whole seconds; a street-only trip keeps the fraction of the street
  time), so no rounding happens on either side of a subtraction;
- ``travel_time`` = ``floor((arrival - departure) / 60 s)``: whole minutes rounded
  *down* of the exact seconds, as :func:`travel_time_matrix` gives for that departure;
- leave at ``departure``: the trip leaves at that time (seconds kept) and the earliest
  arrival is searched;
- arrive by ``arrive_by``: the trip leaves at the latest departure ``arrive_by - k``
  whole minutes (a whole clock minute when the deadline is one) that still arrives by
  the deadline, the departure minute of :func:`latest_departure_matrix`; the
  ``time_to_set_aside`` is ``arrive_by - departure`` in whole minutes (the matrix's
  ``travel_time``, waiting at the destination included), the ``wait_at_destination``
  is ``arrive_by - arrival`` and ``travel_time`` the trip's own minutes (the matrix's
  ``trip_time``). A walk of 11 min 15 s to arrive by 08:30 leaves at 08:18: 12 min to
  set aside, 11 min of travel, 45 s of wait.

These per-query values are in ``attrs`` (``departure``, ``arrival``, ``travel_time``;
``arrive_by``, ``wait_at_destination``, ``time_to_set_aside``): show those, not
differences of rounded clock times.

With ``engine="r5"``, r5py's ``DetailedItineraries`` finds the trip (leave-at only: R5
has no arrive-by search) and ``normalise_r5py_itinerary`` (in
:mod:`parcours.accessibility.r5`) brings its fastest option to the same legs, named
from the network's GTFS layers.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import weakref
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from parcours.accessibility.legs import transit_legs
from parcours.accessibility.params import TransportMode
from parcours.accessibility.query import (
    DEFAULT_MAX_RIDES,
    DEFAULT_MAX_STRESS,
    DEFAULT_MAX_TIME,
    MatrixInputs,
    NetworkLike,
    make_params,
    resolve_network,
    seconds_of_day,
)
from parcours.accessibility.r5 import R5Engine
from parcours.accessibility.results import (
    attach_durations,
    empty_legs,
    legs_frame,
)
from parcours.accessibility.streets import (
    BIKE_SPEED_KMH,
    WALK_SPEED_KMH,
    SnappedPoints,
    StreetGraph,
    StreetPath,
)
from parcours.accessibility.transit import (
    Journey,
    Timetable,
    Transfers,
    earliest_arrival,
    latest_departure,
)
from parcours.errors import InputError
from parcours.geo.crs import WGS84
from parcours.i18n import tr

__all__ = ["itinerary"]

#: timetable, transfers, access stops and seconds, egress stops and seconds
_SearchArgs = tuple[Timetable, Transfers, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _street_path(
    graph: StreetGraph, a: SnappedPoints, b: SnappedPoints, max_time_s: float = math.inf
) -> StreetPath | None:
    """Fastest street path between two snapped points (compiled Dijkstra, predecessors)."""
    return graph.path(a, b, max_time_s=max_time_s)


def _clock(service_date: dt.date, seconds: float) -> dt.datetime:
    """The clock time ``seconds`` after the service day's midnight (exact, past 24:00 too)."""
    return dt.datetime.combine(service_date, dt.time()) + dt.timedelta(seconds=seconds)


def itinerary(
    network: NetworkLike,
    origin: tuple[float, float] | gpd.GeoDataFrame,
    destination: tuple[float, float] | gpd.GeoDataFrame,
    *,
    departure: dt.datetime | None = None,
    arrive_by: dt.datetime | None = None,
    transport_modes: Iterable[str | TransportMode] | str | None = None,
    max_time: dt.timedelta = DEFAULT_MAX_TIME,
    max_time_walking: dt.timedelta | None = None,
    max_time_cycling: dt.timedelta | None = None,
    max_time_driving: dt.timedelta | None = None,
    speed_walking: float = WALK_SPEED_KMH,
    speed_cycling: float = BIKE_SPEED_KMH,
    max_public_transport_rides: int = DEFAULT_MAX_RIDES,
    max_bicycle_traffic_stress: int | None = DEFAULT_MAX_STRESS,
    snap_to_network: bool | float = False,
    wheelchair: bool = False,
    engine: str = "native",
) -> gpd.GeoDataFrame:
    """The legs of the best trip for one person.

    Parameters
    ----------
    network
        A :class:`TransportNetwork`, a territory, or ``(osm_pbf, [gtfs, ...])``.
    origin, destination
        ``(lon, lat)`` in WGS84, or a one-row GeoDataFrame (any declared CRS).
    departure
        Leave at this local time: the earliest arrival is searched.
    arrive_by
        Arrive by this local time: the latest departure minute is searched (give one of
        the two).
    engine
        ``"native"`` (default) or ``"r5"`` (r5py's ``DetailedItineraries``; no
        ``arrive_by``, no ``wheelchair``; the option arriving first is kept; route and
        stop names come from the network's GTFS layers, built once for a
        ``(osm_pbf, [gtfs, ...])`` pair).
    transport_modes, max_time, max_time_walking, max_time_cycling, max_time_driving, \
    speed_walking, speed_cycling, max_public_transport_rides, max_bicycle_traffic_stress, \
    snap_to_network, wheelchair
        As :func:`~parcours.accessibility.travel_time_matrix` (modes default to walk +
        transit).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per leg, in the CRS of ``origin`` (WGS84 for a ``(lon, lat)`` tuple):
        ``leg, mode`` (walk, bike, car, or the public transport mode: bus, tram, rail,
        on_demand...), ``departure, arrival`` (exact datetimes, seconds kept),
        ``duration_min, wait_min`` (waiting before the leg; minutes with one decimal),
        ``distance_m``, ``route_short_name, route_long_name, headsign``, ``from_stop,
        from_name, to_stop, to_name, trip_id, n_stops``. Empty when no trip is possible
        within ``max_time`` (``attrs["reason"]`` says why). The query's durations, by
        the rule of the module docstring, are in ``attrs``: ``departure``, ``arrival``
        (datetimes), ``travel_time`` (whole minutes); for ``arrive_by`` also
        ``arrive_by``, ``wait_at_destination`` (timedelta) and ``time_to_set_aside``
        (whole minutes, :func:`latest_departure_matrix`'s ``travel_time``).
    """
    if (departure is None) == (arrive_by is None):
        raise InputError(
            tr(
                "donnez un départ ou une heure d'arrivée (un seul des deux)",
                "give a departure or an arrival deadline (one of them)",
            ),
            field="departure",
        )
    when = departure or arrive_by
    assert when is not None
    params = make_params(
        transport_modes=transport_modes,
        departure=when,
        departure_time_window=dt.timedelta(minutes=1),
        max_time=max_time,
        max_time_walking=max_time_walking,
        max_time_cycling=max_time_cycling,
        max_time_driving=max_time_driving,
        speed_walking=speed_walking,
        speed_cycling=speed_cycling,
        max_public_transport_rides=max_public_transport_rides,
        max_bicycle_traffic_stress=max_bicycle_traffic_stress,
        snap_to_network=snap_to_network,
        wheelchair=wheelchair,
    )
    o = _as_frame(origin, "origin")
    d = _as_frame(destination, "destination")
    crs = o.crs if o.crs is not None else WGS84
    if engine == "r5":
        frame = R5Engine().itinerary(network, o, d, params, arrive=arrive_by is not None)
        return _in_crs(frame, crs)
    if engine != "native":
        raise InputError(
            tr("moteur inconnu (native ou r5)", "unknown engine (native or r5)"), field="engine"
        )
    inputs = MatrixInputs.prepare(resolve_network(network), o, d, params)
    for points, label in (
        (inputs.snapped_origins, "origin"),
        (inputs.snapped_destinations, "destination"),
    ):
        if not points.ok[0]:
            raise InputError(
                tr(
                    f"point trop loin de toute rue utilisable (> 1,6 km) : {label}",
                    f"point too far from any usable street (> 1.6 km): {label}",
                ),
                field=label,
            )
    if TransportMode.TRANSIT not in params.modes:
        frame = _street_itinerary(inputs, when, arrive=arrive_by is not None)
    else:
        frame = _transit_itinerary(inputs, when, arrive=arrive_by is not None)
    return _in_crs(frame, crs)


def _as_frame(point: tuple[float, float] | gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    if isinstance(point, gpd.GeoDataFrame):
        frame = point.iloc[:1].copy()
        frame["id"] = name
        return frame[["id", "geometry"]]
    lon, lat = point
    return gpd.GeoDataFrame({"id": [name]}, geometry=[shapely.Point(lon, lat)], crs=WGS84)


def _in_crs(frame: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """The legs in the caller's CRS (attrs kept)."""
    if frame.crs is not None and CRS.from_user_input(crs) == frame.crs:
        return frame
    attrs = dict(frame.attrs)
    frame = frame.to_crs(crs)
    frame.attrs.update(attrs)
    return frame


def _mode_name(params_modes: frozenset[TransportMode]) -> str:
    for mode in (TransportMode.CAR, TransportMode.BIKE):
        if mode in params_modes:
            return mode.value
    return "walk"


def _latest_minute(deadline: dt.datetime, trip: dt.timedelta) -> dt.datetime:
    """The latest departure ``deadline - k`` whole minutes that arrives by ``deadline``."""
    return deadline - dt.timedelta(minutes=math.ceil(trip.total_seconds() / 60.0))


def _no_path() -> str:
    return tr("aucun chemin dans le temps maximal", "no path within the maximum time")


def _street_itinerary(inputs: MatrixInputs, when: dt.datetime, *, arrive: bool) -> gpd.GeoDataFrame:
    max_s = inputs.params.max_time.total_seconds()
    path = _street_path(inputs.graph, inputs.snapped_origins, inputs.snapped_destinations)
    if path is None or path.time_s >= max_s:
        return empty_legs(
            tr("aucun chemin dans le temps maximal", "no path within the maximum time")
        )
    trip = dt.timedelta(seconds=path.time_s)
    start = _latest_minute(when, trip) if arrive else when
    if arrive and when - start > inputs.params.max_time:
        return empty_legs(
            tr("aucun chemin dans le temps maximal", "no path within the maximum time")
        )
    row = {
        "leg": 1,
        "mode": _mode_name(inputs.params.modes),
        "departure": start,
        "arrival": start + trip,
        "duration_min": round(path.time_s / 60.0, 1),
        "wait_min": 0.0,
        "geometry": path.geometry,
    }
    frame = legs_frame([row], inputs.network.crs, to_crs=None)
    return attach_durations(frame, start, start + trip, when if arrive else None)


def _transit_itinerary(
    inputs: MatrixInputs, when: dt.datetime, *, arrive: bool
) -> gpd.GeoDataFrame:
    net, p, graph = inputs.network, inputs.params, inputs.graph
    service_date = when.date()
    seconds = seconds_of_day(when)
    max_s = int(p.max_time.total_seconds())
    legs = transit_legs(inputs, service_date, until_s=seconds if arrive else seconds + max_s)
    tt = legs.timetable
    stops = net.snapped_stops(tt, graph)
    walk = float(legs.walk_only_s[0, 0])
    # the walk rounded up to the second: with whole-second clocks, "leaving at t, the walk
    # arrives by T" and "it beats a ride arriving at T" then read as on the exact seconds,
    # as in the matrices (transit.py rounds walk_only_s to the nearest second)
    common: dict[str, Any] = {
        "walk_only_s": math.ceil(walk) if np.isfinite(walk) else None,
        "max_rides": p.max_public_transport_rides,
        "max_time_s": max_s,
    }
    args: _SearchArgs = (
        tt,
        legs.transfers,
        legs.access_stop,
        legs.access_s,
        legs.egress_stop,
        legs.egress_s,
    )
    journey: Journey | None
    if arrive:
        journey = _latest_minute_journey(args, common, seconds)
    else:
        journey = earliest_arrival(*args, seconds, **common)
    if journey is None:
        frame = empty_legs(
            tr(
                "aucun trajet possible dans le temps maximal",
                "no trip possible within the maximum time",
            ),
            crs=net.crs,
        )
    else:
        frame = _journey_frame(inputs, journey, service_date, stops)
        arrival = _clock(service_date, journey.arrival_s)
        if journey.rides == 0 and len(journey.legs) == 1:  # walk only: its exact time
            arrival = _clock(service_date, journey.departure_s + walk)
            frame["arrival"] = [arrival]
            frame["duration_min"] = [round(walk / 60.0, 1)]
        attach_durations(
            frame, _clock(service_date, journey.departure_s), arrival, when if arrive else None
        )
    frame.attrs["warnings"] = legs.warnings
    return frame


def _latest_minute_journey(
    args: _SearchArgs, common: dict[str, Any], deadline_s: int
) -> Journey | None:
    """The journey leaving at the latest minute ``deadline - k min`` that arrives by the deadline.

    :func:`latest_departure` gives the latest departure to the second; the departure is
    moved back to the minute grid of :func:`latest_departure_matrix` (whole minutes
    before the deadline) and the earliest arrival from there is the journey, checked
    (and moved a minute at a time) so that it arrives by the deadline and the next
    minute would not.
    """
    latest = latest_departure(*args, deadline_s, **common)
    if latest is None:
        return None
    max_s = int(common["max_time_s"])
    k = max(0, math.ceil((deadline_s - latest.departure_s) / 60))
    journey = None
    while k * 60 <= max_s:  # back, until it arrives in time
        journey = earliest_arrival(*args, deadline_s - 60 * k, **common)
        if journey is not None and journey.arrival_s <= deadline_s:
            break
        journey, k = None, k + 1
    if journey is None:
        return None
    while k > 0:  # forward, while the next minute still arrives in time
        later = earliest_arrival(*args, deadline_s - 60 * (k - 1), **common)
        if later is None or later.arrival_s > deadline_s:
            break
        journey, k = later, k - 1
    return journey


class _Gtfs:
    """The GTFS lookups of one network, indexed once (stops, routes, trips, trip stops)."""

    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        stops = tables["stops"]
        self.stop_name = dict(zip(stops["stop_id"].astype(str), stops["stop_name"], strict=True))
        self.stop_xy = {
            str(i): (float(x), float(y))
            for i, x, y in zip(stops["stop_id"], stops.geometry.x, stops.geometry.y, strict=True)
        }
        self.stop_crs = stops.crs
        self._transformers: dict[str, Transformer] = {}
        self.routes = tables["routes"].set_index("route_id")
        self.trips = tables["trips"].set_index("trip_id")
        stop_times = tables["stop_times"]
        order = stop_times.sort_values(["trip_id", "stop_sequence"], kind="stable")
        ids = order["stop_id"].astype(str).to_numpy()
        self.trip_stops = {
            str(trip): ids[index]
            for trip, index in order.groupby("trip_id", sort=False).indices.items()
        }

    def transformer(self, crs: CRS) -> Transformer:
        """A cached transformer from the stops' CRS to ``crs`` (x, y order)."""
        key = crs.to_wkt()
        if key not in self._transformers:
            self._transformers[key] = Transformer.from_crs(self.stop_crs, crs, always_xy=True)
        return self._transformers[key]


_GTFS: weakref.WeakKeyDictionary[Any, _Gtfs] = weakref.WeakKeyDictionary()
_GTFS_LOCK = threading.Lock()


def _gtfs(network: Any) -> _Gtfs:
    """The network's GTFS lookups, built on first use and kept while the network lives."""
    with _GTFS_LOCK:
        found = _GTFS.get(network)
        if found is None:
            found = _GTFS[network] = _Gtfs(network._tables)
        return found


def _journey_frame(
    inputs: MatrixInputs, journey: Journey, service_date: dt.date, stops: SnappedPoints
) -> gpd.GeoDataFrame:
    net, graph = inputs.network, inputs.graph
    gtfs = _gtfs(net)
    index = net.timetable(service_date, wheelchair=inputs.params.wheelchair).stop_index
    to_graph = gtfs.transformer(graph.crs)

    def snapped(stop_id: str | None, default: SnappedPoints) -> SnappedPoints:
        if stop_id is None:
            return default
        i = index[stop_id]
        return stops.take(slice(i, i + 1))

    def stop_name(stop_id: str | None) -> str | None:
        name: Any = None if stop_id is None else gtfs.stop_name.get(stop_id)
        return None if name is None or pd.isna(name) else str(name)

    rows: list[dict[str, Any]] = []
    previous_arrival = journey.departure_s
    for number, leg in enumerate(journey.legs, start=1):
        row: dict[str, Any] = {
            "leg": number,
            "departure": _clock(service_date, leg.departure_s),
            "arrival": _clock(service_date, leg.arrival_s),
            "duration_min": round((leg.arrival_s - leg.departure_s) / 60.0, 1),
            "wait_min": round(max(0, leg.departure_s - previous_arrival) / 60.0, 1),
            "from_stop": leg.from_stop,
            "from_name": stop_name(leg.from_stop),
            "to_stop": leg.to_stop,
            "to_name": stop_name(leg.to_stop),
        }
        if leg.mode == "walk":
            a = snapped(leg.from_stop, inputs.snapped_origins)
            b = snapped(leg.to_stop, inputs.snapped_destinations)
            path = _street_path(graph, a, b)
            row["mode"] = "walk"
            row["geometry"] = (
                path.geometry
                if path is not None
                else shapely.LineString(
                    [(a.point_x[0], a.point_y[0]), (b.point_x[0], b.point_y[0])]
                )
            )
        else:
            trip = gtfs.trips.loc[leg.trip_id] if leg.trip_id in gtfs.trips.index else None
            route_id = leg.route_id or (None if trip is None else trip["route_id"])
            route = gtfs.routes.loc[route_id] if route_id in gtfs.routes.index else None
            row["mode"] = None if route is None else route["mode"]
            row["route_short_name"] = None if route is None else route["route_short_name"]
            row["route_long_name"] = None if route is None else route["route_long_name"]
            row["headsign"] = None if trip is None else trip["trip_headsign"]
            row["trip_id"] = leg.trip_id
            sequence = list(gtfs.trip_stops.get(str(leg.trip_id), ()))
            if leg.from_stop in sequence and leg.to_stop in sequence:
                i, j = sequence.index(leg.from_stop), sequence.index(leg.to_stop)
                ride = sequence[i : j + 1] if i <= j else [leg.from_stop, leg.to_stop]
            else:
                ride = [str(leg.from_stop), str(leg.to_stop)]
            row["n_stops"] = len(ride) - 1
            coords = [gtfs.stop_xy[s] for s in ride if s in gtfs.stop_xy]
            coords = coords if len(coords) > 1 else coords * 2
            x, y = to_graph.transform([c[0] for c in coords], [c[1] for c in coords])
            row["geometry"] = shapely.LineString(np.column_stack((x, y)))
        previous_arrival = leg.arrival_s
        rows.append(row)
    frame = legs_frame(rows, graph.crs, to_crs=None)
    frame.attrs["rides"] = journey.rides
    frame.attrs["wheelchair_unknown"] = journey.wheelchair_unknown
    return frame
