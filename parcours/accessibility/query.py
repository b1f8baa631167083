"""A query's inputs: validated parameters, the network, and the points snapped on its graph.

Every public function of :mod:`parcours.accessibility` turns its r5py-style keyword
arguments into :class:`QueryParams` (:func:`make_params`), resolves what it was given as a
network (:func:`resolve_network`) and snaps its points once (:class:`MatrixInputs`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd

from parcours.accessibility.network import PointSet, TransportNetwork
from parcours.accessibility.params import (
    QueryParams,
    TransportMode,
    parse_leg_modes,
    parse_modes,
    transit_submodes,
)
from parcours.accessibility.results import QueryReport
from parcours.accessibility.streets import (
    BIKE_SPEED_KMH,
    MAX_SNAP_M,
    WALK_SPEED_KMH,
    SnappedPoints,
    StreetGraph,
    StreetMode,
)
from parcours.errors import InputError
from parcours.i18n import tr
from parcours.territories import Territory

__all__ = [
    "MatrixInputs",
    "NetworkLike",
    "make_params",
    "resolve_network",
    "seconds_of_day",
]

NetworkLike = TransportNetwork | Territory | tuple[Any, Sequence[Any]]


def resolve_network(network: NetworkLike) -> TransportNetwork:
    """Accept a :class:`TransportNetwork`, a :class:`Territory` or ``(osm_pbf, [gtfs, ...])``."""
    if isinstance(network, TransportNetwork):
        return network
    if isinstance(network, Territory):
        return TransportNetwork(network)
    if isinstance(network, tuple) and len(network) == 2:
        osm, gtfs = network
        return TransportNetwork.from_files(osm, list(gtfs or []))
    raise TypeError("network must be a TransportNetwork, a Territory or (osm_pbf, [gtfs, ...])")


#: r5py's default departure window, percentiles and limits (r5py 1.x ``RegionalTask``).
DEFAULT_WINDOW: Final = dt.timedelta(minutes=10)
DEFAULT_MAX_TIME: Final = dt.timedelta(hours=2)
DEFAULT_MAX_RIDES: Final = 8
#: r5py's default ``max_bicycle_traffic_stress``: cyclists walk on LTS 4 streets.
DEFAULT_MAX_STRESS: Final = 3


def make_params(
    *,
    transport_modes: Iterable[str | TransportMode] | str | None = None,
    departure: dt.datetime | None = None,
    departure_time_window: dt.timedelta = DEFAULT_WINDOW,
    percentiles: Sequence[int] = (50,),
    max_time: dt.timedelta = DEFAULT_MAX_TIME,
    max_time_walking: dt.timedelta | None = None,
    max_time_cycling: dt.timedelta | None = None,
    max_time_driving: dt.timedelta | None = None,
    speed_walking: float = WALK_SPEED_KMH,
    speed_cycling: float = BIKE_SPEED_KMH,
    max_public_transport_rides: int = DEFAULT_MAX_RIDES,
    max_bicycle_traffic_stress: int | None = DEFAULT_MAX_STRESS,
    access_modes: Iterable[str | TransportMode] | str | None = None,
    egress_modes: Iterable[str | TransportMode] | str | None = None,
    snap_to_network: bool | float = False,
    wheelchair: bool = False,
    frequency_draws: int | None = None,
    seed: int = 0,
) -> QueryParams:
    """Build validated :class:`QueryParams` from r5py's keyword arguments.

    Parameters are r5py's (``TravelTimeMatrix`` / ``RegionalTask``), same names, types and
    defaults; ``wheelchair`` is parcours' own (native engine). ``snap_to_network``: R5
    links every point to the nearest usable street within 1,600 m whether or not it is
    set; a number gives that distance in metres. ``access_modes`` and ``egress_modes``:
    walk, bike and/or car to reach the first stop and to leave the last one (r5py's; with
    public transport only).
    ``transport_modes`` may name kinds of public transport (r5py's ``TRAM``, ``BUS``,
    ``RAIL``, ``SUBWAY``, ``FERRY``... or French ``tram``, ``bus``, ``train``, ``metro``):
    only those routes are ridden. ``frequency_draws`` and ``seed``: Monte Carlo draws of
    headway-based trips (see :class:`QueryParams`).
    """
    chosen = ("transit", "walk") if transport_modes is None else transport_modes
    if departure is None:
        departure = dt.datetime.now().replace(second=0, microsecond=0)
    if not isinstance(departure, dt.datetime):
        raise InputError(
            tr(
                "le départ est une date et une heure (datetime), pas une date seule",
                "the departure is a date and a time (datetime), not a date alone",
            ),
            field="departure",
        )
    if departure.tzinfo is not None:
        raise InputError(
            tr(
                "l'heure de départ est une heure locale sans fuseau (celui des réseaux GTFS)",
                "the departure is a local time without timezone (the GTFS feeds' one)",
            ),
            field="departure",
        )
    access = parse_leg_modes(access_modes, "access_modes")
    egress = parse_leg_modes(egress_modes, "egress_modes")
    if wheelchair and (access | egress) - {TransportMode.WALK}:
        raise InputError(
            tr(
                "wheelchair ne s'applique qu'à la marche et aux transports en commun",
                "wheelchair applies to walking and public transport only",
            ),
            field="access_modes" if access != {TransportMode.WALK} else "egress_modes",
        )
    radius = MAX_SNAP_M
    if not isinstance(snap_to_network, bool):
        radius = float(snap_to_network)
    for name, value in (
        ("departure_time_window", departure_time_window),
        ("max_time", max_time),
    ):
        if not isinstance(value, dt.timedelta):
            raise InputError(
                tr(
                    "une durée (datetime.timedelta) est attendue",
                    "a duration (datetime.timedelta) is expected",
                ),
                field=name,
            )
    return QueryParams(
        modes=parse_modes(chosen),
        departure=departure,
        departure_time_window=departure_time_window,
        percentiles=tuple(int(p) for p in percentiles),
        max_time=max_time,
        max_time_walking=max_time_walking,
        max_time_cycling=max_time_cycling,
        max_time_driving=max_time_driving,
        speed_walking=float(speed_walking),
        speed_cycling=float(speed_cycling),
        max_public_transport_rides=int(max_public_transport_rides),
        wheelchair=bool(wheelchair),
        snap_radius_m=radius,
        max_bicycle_traffic_stress=max_bicycle_traffic_stress,
        transit_submodes=transit_submodes(chosen),
        frequency_draws=frequency_draws,
        seed=int(seed),
        access_modes=access,
        egress_modes=egress,
    )


#: Share of points off the network above which the input is taken as wrong (swapped
#: coordinates, wrong territory) rather than a few points out of reach.
MAX_UNSNAPPED_SHARE: Final = 0.5


def _refuse_mostly_off_network(points: SnappedPoints, name: str) -> None:
    n = len(points)
    if n >= 2 and points.n_unsnapped > MAX_UNSNAPPED_SHARE * n:
        raise InputError(
            tr(
                f"{points.n_unsnapped} des {n} points sont à plus de la distance "
                "d'accrochage de toute rue du réseau : vérifiez les coordonnées "
                "(longitude et latitude inversées ?) et le territoire",
                f"{points.n_unsnapped} of the {n} points lie farther than the snapping "
                "distance from any street of the network: check the coordinates "
                "(longitude and latitude swapped?) and the territory",
            ),
            field=name,
        )


@dataclass
class MatrixInputs:
    """Origins and destinations snapped on the graphs a query needs (shared by the queries)."""

    network: TransportNetwork
    params: QueryParams
    origins: PointSet
    destinations: PointSet
    graph: StreetGraph
    snapped_origins: SnappedPoints
    snapped_destinations: SnappedPoints
    warnings: list[str] = field(default_factory=list)
    _on: dict[TransportMode, tuple[StreetGraph, SnappedPoints, SnappedPoints]] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def prepare(
        cls,
        network: TransportNetwork,
        origins: gpd.GeoDataFrame,
        destinations: gpd.GeoDataFrame | None,
        params: QueryParams,
    ) -> MatrixInputs:
        """Project and snap the points on the graph of the query's street mode."""
        o = PointSet.from_frame(origins, network.crs, name="origins")
        d = (
            o
            if destinations is None
            else PointSet.from_frame(destinations, network.crs, name="destinations")
        )
        if params.wheelchair and params.modes & {TransportMode.BIKE, TransportMode.CAR}:
            raise InputError(
                tr(
                    "wheelchair ne s'applique qu'à la marche et aux transports en commun",
                    "wheelchair applies to walking and public transport only",
                ),
                field="wheelchair",
            )
        graph = _street_graph(network, params, _main_mode(params))
        so = graph.snap(o.x_m, o.y_m, max_snap_m=params.snap_radius_m)
        _refuse_mostly_off_network(so, "origins")
        sd = so
        if destinations is not None:
            sd = graph.snap(d.x_m, d.y_m, max_snap_m=params.snap_radius_m)
            _refuse_mostly_off_network(sd, "destinations")
        return cls(network, params, o, d, graph, so, sd)

    def on(self, mode: TransportMode) -> tuple[StreetGraph, SnappedPoints, SnappedPoints]:
        """The graph of a street mode and the origins and destinations snapped on it.

        The query's own mode gives :attr:`graph` and its snapped points; another one (a
        bike or car access leg) is built and snapped once per query.
        """
        if mode is _main_mode(self.params):
            return self.graph, self.snapped_origins, self.snapped_destinations
        if mode not in self._on:
            graph = _street_graph(self.network, self.params, mode)
            radius = self.params.snap_radius_m
            so = graph.snap(self.origins.x_m, self.origins.y_m, max_snap_m=radius)
            sd = (
                so
                if self.destinations is self.origins
                else graph.snap(self.destinations.x_m, self.destinations.y_m, max_snap_m=radius)
            )
            self._on[mode] = (graph, so, sd)
        return self._on[mode]

    def report(self, engine: str = "native") -> QueryReport:
        """The query's warnings and unsnapped points, as a :class:`QueryReport`."""
        report = QueryReport(engine=engine)
        for message in self.warnings:
            report.add(message)
        for points, ids, label in (
            (self.snapped_origins, self.origins.ids, "origins"),
            (self.snapped_destinations, self.destinations.ids, "destinations"),
        ):
            unsnapped = [str(i) for i in ids[~points.ok]]
            if label == "origins":
                report.unsnapped_origins = unsnapped
            else:
                report.unsnapped_destinations = unsnapped
            unsnapped_message = points.unsnapped_message()
            if unsnapped_message is not None:
                report.add(unsnapped_message)
        p = self.params
        if p.wheelchair and TransportMode.TRANSIT in p.modes:
            tt = self.network.timetable(p.departure.date(), wheelchair=True)
            report.wheelchair_unknown_stops = int(tt.wheelchair_unknown_stops)
            report.wheelchair_unknown_trips = int(tt.wheelchair_unknown_trips)
        return report

    def street_limit_s(self) -> float:
        """The time limit of the street-only search, seconds."""
        p = self.params
        limit = p.max_time.total_seconds()
        if TransportMode.BIKE in p.modes:
            return min(limit, p.max_time_cycling_s)
        if TransportMode.CAR in p.modes:
            return min(limit, p.max_time_driving_s)
        return min(limit, p.max_time_walking_s)


def _main_mode(params: QueryParams) -> TransportMode:
    """The street mode of the query's points: its own, or walking for public transport."""
    for mode in (TransportMode.BIKE, TransportMode.CAR):
        if mode in params.modes:
            return mode
    return TransportMode.WALK


def _street_graph(
    network: TransportNetwork, params: QueryParams, mode: TransportMode
) -> StreetGraph:
    if mode is TransportMode.BIKE:
        return network.street_graph(
            StreetMode.BIKE,
            speed_kmh=params.speed_cycling,
            max_traffic_stress=params.max_bicycle_traffic_stress,
            walk_speed_kmh=params.speed_walking,
        )
    if mode is TransportMode.CAR:
        return network.street_graph(StreetMode.CAR)
    return network.street_graph(
        StreetMode.WALK, speed_kmh=params.speed_walking, wheelchair=params.wheelchair
    )


def seconds_of_day(when: dt.datetime) -> int:
    """Seconds after midnight of ``when``'s day."""
    return when.hour * 3600 + when.minute * 60 + when.second
