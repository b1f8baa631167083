"""A query's inputs: validated parameters, the network, and the points snapped on its graph.

Every public function of :mod:`parcours.accessibility` turns its r5py-style keyword
arguments into :class:`QueryParams` (:func:`make_params`), resolves what it was given as a
network (:func:`resolve_network`) and snaps its points once (:class:`MatrixInputs`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd

from parcours.accessibility.network import PointSet, TransportNetwork
from parcours.accessibility.params import QueryParams, TransportMode, parse_modes
from parcours.accessibility.streets import SnappedPoints, StreetGraph, StreetMode
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


def make_params(
    *,
    transport_modes: Iterable[str | TransportMode] | str | None = None,
    modes: Iterable[str | TransportMode] | str | None = None,
    departure: dt.datetime | None = None,
    departure_time_window: dt.timedelta = dt.timedelta(minutes=10),
    percentiles: Sequence[int] = (50,),
    max_time: dt.timedelta = dt.timedelta(hours=2),
    max_time_walking: dt.timedelta | None = None,
    max_time_cycling: dt.timedelta | None = None,
    speed_walking: float = 3.6,
    speed_cycling: float = 12.0,
    max_public_transport_rides: int = 8,
    wheelchair: bool = False,
) -> QueryParams:
    """Build validated :class:`QueryParams` from r5py-style keyword arguments."""
    chosen = modes if modes is not None else transport_modes
    if chosen is None:
        chosen = ("transit", "walk")
    if departure is None:
        departure = dt.datetime.now().replace(second=0, microsecond=0)
    if departure.tzinfo is not None:
        raise InputError(
            tr(
                "l'heure de départ est une heure locale sans fuseau (celui des réseaux GTFS)",
                "the departure is a local time without timezone (the GTFS feeds' one)",
            ),
            field="departure",
        )
    return QueryParams(
        modes=parse_modes(chosen),
        departure=departure,
        departure_time_window=departure_time_window,
        percentiles=tuple(int(p) for p in percentiles),
        max_time=max_time,
        max_time_walking=max_time_walking,
        max_time_cycling=max_time_cycling,
        speed_walking=float(speed_walking),
        speed_cycling=float(speed_cycling),
        max_public_transport_rides=int(max_public_transport_rides),
        wheelchair=bool(wheelchair),
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
        graph = _street_graph(network, params)
        so = graph.snap(o.x_m, o.y_m)
        sd = so if destinations is None else graph.snap(d.x_m, d.y_m)
        return cls(network, params, o, d, graph, so, sd)

    def street_limit_s(self) -> float:
        """The time limit of the street-only search, seconds."""
        p = self.params
        limit = p.max_time.total_seconds()
        if TransportMode.BIKE in p.modes:
            return min(limit, p.max_time_cycling_s)
        if TransportMode.CAR in p.modes:
            return limit
        return min(limit, p.max_time_walking_s)


def _street_graph(network: TransportNetwork, params: QueryParams) -> StreetGraph:
    if TransportMode.BIKE in params.modes:
        return network.street_graph(StreetMode.BIKE, speed_kmh=params.speed_cycling)
    if TransportMode.CAR in params.modes:
        return network.street_graph(StreetMode.CAR)
    return network.street_graph(
        StreetMode.WALK, speed_kmh=params.speed_walking, wheelchair=params.wheelchair
    )


def seconds_of_day(when: dt.datetime) -> int:
    """Seconds after midnight of ``when``'s day."""
    return when.hour * 3600 + when.minute * 60 + when.second
