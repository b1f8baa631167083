"""One person's trip, leg by leg: what an advisor shows ("bus 12 at 05:02, change at ...").

:func:`itinerary` returns the legs of the best trip between two points, leaving at a
given time (earliest arrival) or arriving by a given time (latest departure): walk,
bike, car or walk + public transport, with times, waits, route short names, stop names
and geometries. Street legs follow the street graph (the same costs as the matrices);
public-transport legs are drawn through their stops (shapes are not kept).

With ``engine="r5"``, r5py's ``DetailedItineraries`` finds the trip (leave-at only: R5
has no arrive-by search) and ``normalise_r5py_itinerary`` (in
:mod:`parcours.accessibility.r5`) brings its fastest option to the same legs, named
from the network's GTFS layers.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely import ops

from parcours.accessibility.legs import transit_legs
from parcours.accessibility.network import PointSet
from parcours.accessibility.params import QueryParams, TransportMode
from parcours.accessibility.query import (
    MatrixInputs,
    NetworkLike,
    make_params,
    resolve_network,
    seconds_of_day,
)
from parcours.accessibility.streets import SnappedPoints, StreetGraph
from parcours.accessibility.transit import Journey, earliest_arrival, latest_departure
from parcours.errors import InputError, ParcoursError
from parcours.geo.crs import WGS84
from parcours.i18n import tr

__all__ = ["itinerary"]

_LEG_COLUMNS = [
    "leg",
    "mode",
    "departure",
    "arrival",
    "duration_min",
    "wait_min",
    "distance_m",
    "route_short_name",
    "route_long_name",
    "headsign",
    "from_stop",
    "from_name",
    "to_stop",
    "to_name",
    "trip_id",
    "n_stops",
    "geometry",
]


@dataclass
class _Path:
    time_s: float
    geometry: Any  # LineString in the graph CRS


def _street_path(graph: StreetGraph, a: SnappedPoints, b: SnappedPoints) -> _Path | None:
    """Fastest street path between two snapped points, with its geometry."""
    time_s = float(graph.travel_times_s(a, b, max_time_s=24 * 3600)[0, 0])
    if not np.isfinite(time_s):
        return None
    edges = graph.edge_geometries()
    g = nx.DiGraph()
    order = np.argsort(-edges.travel_time_s)  # the fastest parallel edge is added last
    for i in order:
        g.add_edge(
            int(edges.from_node[i]),
            int(edges.to_node[i]),
            w=float(edges.travel_time_s[i]),
            e=int(i),
        )

    def ends(point: SnappedPoints, *, leaving: bool) -> list[tuple[int, float, Any]]:
        e = int(point.edge[0])
        f = float(point.fraction[0])
        geom = edges.geometry[e]
        out = []
        if leaving:  # from the point to the edge's ends
            out.append(
                (
                    int(edges.to_node[e]),
                    (1 - f) * edges.travel_time_s[e],
                    ops.substring(geom, f, 1.0, normalized=True),
                )
            )
            r = int(edges.reverse_edge[e])
            if r >= 0:
                out.append(
                    (
                        int(edges.from_node[e]),
                        f * edges.travel_time_s[r],
                        ops.substring(geom, f, 0.0, normalized=True),
                    )
                )
        else:  # from the edge's ends to the point
            out.append(
                (
                    int(edges.from_node[e]),
                    f * edges.travel_time_s[e],
                    ops.substring(geom, 0.0, f, normalized=True),
                )
            )
            r = int(edges.reverse_edge[e])
            if r >= 0:
                out.append(
                    (
                        int(edges.to_node[e]),
                        (1 - f) * edges.travel_time_s[r],
                        ops.substring(geom, 1.0, f, normalized=True),
                    )
                )
        return out

    start = ("start",)
    end = ("end",)
    first = {node: (cost, geom) for node, cost, geom in ends(a, leaving=True)}
    last = {node: (cost, geom) for node, cost, geom in ends(b, leaving=False)}
    for node, (cost, _) in first.items():
        g.add_edge(start, node, w=cost, e=-1)
    for node, (cost, _) in last.items():
        g.add_edge(node, end, w=cost, e=-1)
    points: list[tuple[float, float]] = [(float(a.point_x[0]), float(a.point_y[0]))]
    if int(a.edge[0]) == int(b.edge[0]):
        fa, fb = float(a.fraction[0]), float(b.fraction[0])
        e = int(a.edge[0])
        if fb >= fa or int(edges.reverse_edge[e]) >= 0:
            piece = ops.substring(edges.geometry[e], fa, fb, normalized=True)
            points.extend(shapely.get_coordinates(piece).tolist())
            points.append((float(b.point_x[0]), float(b.point_y[0])))
            return _Path(time_s, shapely.LineString(points))
    try:
        nodes = nx.shortest_path(g, start, end, weight="w")
    except nx.NetworkXNoPath:
        return _Path(
            time_s, shapely.LineString([points[0], (float(b.point_x[0]), float(b.point_y[0]))])
        )
    points.extend(shapely.get_coordinates(first[nodes[1]][1]).tolist())
    for u, v in itertools.pairwise(nodes[1:-1]):
        points.extend(shapely.get_coordinates(edges.geometry[g[u][v]["e"]]).tolist())
    points.extend(shapely.get_coordinates(last[nodes[-2]][1]).tolist())
    points.append((float(b.point_x[0]), float(b.point_y[0])))
    return _Path(time_s, shapely.LineString(points))


def _clock(service_date: dt.date, seconds: float) -> dt.datetime:
    return dt.datetime.combine(service_date, dt.time()) + dt.timedelta(seconds=round(seconds))


def itinerary(
    network: NetworkLike,
    origin: tuple[float, float] | gpd.GeoDataFrame,
    destination: tuple[float, float] | gpd.GeoDataFrame,
    *,
    departure: dt.datetime | None = None,
    arrive_by: dt.datetime | None = None,
    engine: str = "native",
    **kwargs: Any,
) -> gpd.GeoDataFrame:
    """The legs of the best trip for one person.

    Parameters
    ----------
    network
        A :class:`TransportNetwork`, a territory, or ``(osm_pbf, [gtfs, ...])``.
    origin, destination
        ``(lon, lat)`` in WGS84, or a one-row GeoDataFrame.
    departure
        Leave at this local time: the earliest arrival is searched.
    arrive_by
        Arrive by this local time: the latest departure is searched (give one of the two).
    engine
        ``"native"`` (default) or ``"r5"`` (r5py's ``DetailedItineraries``; no
        ``arrive_by``, no ``wheelchair``; the option arriving first is kept; route and
        stop names come from the network's GTFS layers, built once for a
        ``(osm_pbf, [gtfs, ...])`` pair).
    **kwargs
        ``modes`` (default walk + transit), speeds, ``max_time``, ``wheelchair``...

    Returns
    -------
    geopandas.GeoDataFrame
        One row per leg (WGS84): ``leg, mode`` (walk, bike, car, or the public transport
        mode: bus, tram, rail, on_demand...), ``departure, arrival`` (datetimes),
        ``duration_min, wait_min`` (waiting before the leg), ``distance_m``,
        ``route_short_name, route_long_name, headsign``, ``from_stop, from_name,
        to_stop, to_name, trip_id, n_stops``. Empty when no trip is possible within
        ``max_time`` (``attrs["reason"]`` says why).
    """
    if (departure is None) == (arrive_by is None):
        raise InputError(
            tr(
                "donnez une heure de départ ou une heure d'arrivée (une seule)",
                "give a departure or an arrive-by time (one of them)",
            ),
            field="departure",
        )
    when = departure or arrive_by
    assert when is not None
    params = make_params(departure=when, departure_time_window=dt.timedelta(minutes=1), **kwargs)
    o = _as_frame(origin, "origin")
    d = _as_frame(destination, "destination")
    if engine == "r5":
        return _r5_itinerary(network, o, d, params, arrive=arrive_by is not None)
    if engine != "native":
        raise InputError(
            tr("moteur inconnu (native ou r5)", "unknown engine (native or r5)"), field="engine"
        )
    net = resolve_network(network)
    inputs = MatrixInputs.prepare(net, o, d, params)
    graph = inputs.graph
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
    del graph
    return frame


def _r5_itinerary(
    network: NetworkLike,
    origin: gpd.GeoDataFrame,
    destination: gpd.GeoDataFrame,
    params: QueryParams,
    *,
    arrive: bool,
) -> gpd.GeoDataFrame:
    from parcours.accessibility.r5 import (
        R5Engine,
        import_r5py,
        normalise_r5py_itinerary,
        r5py_arguments,
        refuse_wheelchair,
    )

    if arrive:
        raise InputError(
            tr(
                "R5 n'a pas de recherche « arriver avant » : donnez un départ, ou le "
                "moteur natif pour une heure d'arrivée",
                "R5 has no arrive-by search: give a departure, or use the native engine "
                "for an arrive-by time",
            ),
            field="arrive_by",
        )
    refuse_wheelchair(params)
    ends = []
    for frame, name in ((origin, "origin"), (destination, "destination")):
        point = PointSet.from_frame(frame, WGS84, name=name)  # checks the CRS and geometry
        ends.append(
            gpd.GeoDataFrame(
                {"id": [name]}, geometry=[shapely.Point(point.lon[0], point.lat[0])], crs=WGS84
            )
        )
    r5py = import_r5py()
    arguments = r5py_arguments(params)
    arguments["transport_modes"] = [
        getattr(r5py.TransportMode, m) for m in arguments["transport_modes"]
    ]
    transport_network = R5Engine().transport_network(network)
    result = r5py.DetailedItineraries(
        transport_network, origins=ends[0], destinations=ends[1], **arguments
    )
    tables: dict[str, pd.DataFrame] | None = None
    names_missing = None
    if "route_id" in result.columns and result["route_id"].notna().any():
        try:  # the GTFS layers name the routes and stops
            tables = resolve_network(network)._tables
        except ParcoursError as exc:
            names_missing = str(exc)
    frame = normalise_r5py_itinerary(
        result,
        departure=params.departure,
        gtfs=tables,
        max_time=params.max_time,
        from_id="origin",
        to_id="destination",
    )
    if names_missing is not None:
        frame.attrs["names_missing"] = names_missing
    return frame


def _as_frame(point: tuple[float, float] | gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    if isinstance(point, gpd.GeoDataFrame):
        frame = point.iloc[:1].copy()
        frame["id"] = name
        return frame[["id", "geometry"]]
    lon, lat = point
    return gpd.GeoDataFrame({"id": [name]}, geometry=[shapely.Point(lon, lat)], crs=WGS84)


def _mode_name(params_modes: frozenset[TransportMode]) -> str:
    for mode in (TransportMode.CAR, TransportMode.BIKE):
        if mode in params_modes:
            return mode.value
    return "walk"


def _empty(reason: str) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {c: [] for c in _LEG_COLUMNS if c != "geometry"}, geometry=gpd.GeoSeries([], crs=WGS84)
    )
    frame.attrs["reason"] = reason
    return frame


def _finish(rows: list[dict[str, Any]], crs: Any, *, measure: bool = True) -> gpd.GeoDataFrame:
    """The legs in the itinerary schema, WGS84; ``measure``: distances from the geometries."""
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    if measure:
        frame["distance_m"] = frame.geometry.length.round(0)
    frame = frame.to_crs(WGS84)
    for column in _LEG_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    return frame[_LEG_COLUMNS]


def _street_itinerary(inputs: MatrixInputs, when: dt.datetime, *, arrive: bool) -> gpd.GeoDataFrame:
    path = _street_path(inputs.graph, inputs.snapped_origins, inputs.snapped_destinations)
    if path is None or path.time_s >= inputs.params.max_time.total_seconds():
        return _empty(tr("aucun chemin dans le temps maximal", "no path within the maximum time"))
    duration = dt.timedelta(seconds=round(path.time_s))
    start = when - duration if arrive else when
    row = {
        "leg": 1,
        "mode": _mode_name(inputs.params.modes),
        "departure": start,
        "arrival": start + duration,
        "duration_min": round(path.time_s / 60.0, 1),
        "wait_min": 0.0,
        "geometry": path.geometry,
    }
    return _finish([row], inputs.network.crs)


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
    common: dict[str, Any] = {
        "walk_only_s": walk if np.isfinite(walk) else None,
        "max_rides": p.max_public_transport_rides,
        "max_time_s": max_s,
    }
    args = (
        tt,
        legs.transfers,
        legs.access_stop,
        legs.access_s,
        legs.egress_stop,
        legs.egress_s,
        seconds,
    )
    journey: Journey | None = (
        latest_departure(*args, **common) if arrive else earliest_arrival(*args, **common)
    )
    if journey is None:
        frame = _empty(
            tr(
                "aucun trajet possible dans le temps maximal",
                "no trip possible within the maximum time",
            )
        )
    else:
        frame = _journey_frame(inputs, journey, service_date, stops)
    frame.attrs["warnings"] = legs.warnings
    return frame


def _journey_frame(
    inputs: MatrixInputs, journey: Journey, service_date: dt.date, stops: SnappedPoints
) -> gpd.GeoDataFrame:
    net, graph = inputs.network, inputs.graph
    tables = net._tables
    stop_table = tables["stops"].set_index("stop_id")
    routes = tables["routes"].set_index("route_id")
    trips = tables["trips"].set_index("trip_id")
    stop_times = tables["stop_times"]
    index = net.timetable(service_date, wheelchair=inputs.params.wheelchair).stop_index

    def snapped(stop_id: str | None, default: SnappedPoints) -> SnappedPoints:
        if stop_id is None:
            return default
        i = index[stop_id]
        return SnappedPoints(
            edge=stops.edge[i : i + 1],
            fraction=stops.fraction[i : i + 1],
            snap_distance_m=stops.snap_distance_m[i : i + 1],
            ok=stops.ok[i : i + 1],
            point_x=stops.point_x[i : i + 1],
            point_y=stops.point_y[i : i + 1],
            snapped_x=stops.snapped_x[i : i + 1],
            snapped_y=stops.snapped_y[i : i + 1],
        )

    def stop_name(stop_id: str | None) -> str | None:
        if stop_id is None:
            return None
        name: Any = stop_table.at[stop_id, "stop_name"] if stop_id in stop_table.index else None
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
            trip = trips.loc[leg.trip_id] if leg.trip_id in trips.index else None
            route_id = leg.route_id or (None if trip is None else trip["route_id"])
            route = routes.loc[route_id] if route_id in routes.index else None
            row["mode"] = None if route is None else route["mode"]
            row["route_short_name"] = None if route is None else route["route_short_name"]
            row["route_long_name"] = None if route is None else route["route_long_name"]
            row["headsign"] = None if trip is None else trip["trip_headsign"]
            row["trip_id"] = leg.trip_id
            sequence = stop_times.loc[stop_times["trip_id"] == leg.trip_id, "stop_id"].tolist()
            if leg.from_stop in sequence and leg.to_stop in sequence:
                i, j = sequence.index(leg.from_stop), sequence.index(leg.to_stop)
                ride = sequence[i : j + 1] if i <= j else [leg.from_stop, leg.to_stop]
            else:
                ride = [leg.from_stop, leg.to_stop]
            row["n_stops"] = len(ride) - 1
            where = stop_table.geometry
            coords = [where.loc[str(s)].coords[0] for s in ride if s in stop_table.index]
            row["geometry"] = shapely.LineString(coords if len(coords) > 1 else coords * 2)
        previous_arrival = leg.arrival_s
        rows.append(row)
    frame = _finish(rows, net.crs)
    frame.attrs["rides"] = journey.rides
    frame.attrs["wheelchair_unknown"] = journey.wheelchair_unknown
    return frame
