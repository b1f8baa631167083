"""Query parameters shared by both engines, with r5py's names, types and defaults."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from parcours.accessibility.streets import BIKE_SPEED_KMH, MAX_SNAP_M, WALK_SPEED_KMH
from parcours.errors import InputError
from parcours.i18n import tr

__all__ = [
    "MODE_NAMES",
    "TRANSIT_SUBMODES",
    "WALK_ONLY",
    "QueryParams",
    "TransportMode",
    "parse_leg_modes",
    "parse_modes",
    "route_modes",
    "transit_submodes",
]


class TransportMode(StrEnum):
    """Transport modes (r5py's ``TransportMode`` names; ``bike`` is r5py's ``BICYCLE``)."""

    WALK = "walk"
    BIKE = "bike"
    CAR = "car"
    TRANSIT = "transit"


#: Every accepted mode name (case does not matter): parcours' names, r5py's
#: ``TransportMode`` names and the French words an advisor types.
MODE_NAMES: Final[dict[str, TransportMode]] = {
    "walk": TransportMode.WALK,
    "foot": TransportMode.WALK,
    "marche": TransportMode.WALK,
    "bike": TransportMode.BIKE,
    "bicycle": TransportMode.BIKE,
    "velo": TransportMode.BIKE,
    "vélo": TransportMode.BIKE,
    "car": TransportMode.CAR,
    "voiture": TransportMode.CAR,
    "transit": TransportMode.TRANSIT,
    "public_transport": TransportMode.TRANSIT,
    "transports": TransportMode.TRANSIT,
    "tc": TransportMode.TRANSIT,
}

#: r5py's public-transport sub-modes (``TransportMode.TRAM``...) and French words ->
#: the ``mode`` values of the ``routes`` layer they keep (docs/layers.md). On-demand
#: routes (GTFS 715) are buses, as R5 reads extended route types.
TRANSIT_SUBMODES: Final[dict[str, tuple[str, frozenset[str]]]] = {
    "bus": ("BUS", frozenset({"bus", "on_demand"})),
    "tram": ("TRAM", frozenset({"tram"})),
    "subway": ("SUBWAY", frozenset({"subway"})),
    "metro": ("SUBWAY", frozenset({"subway"})),
    "métro": ("SUBWAY", frozenset({"subway"})),
    "rail": ("RAIL", frozenset({"rail"})),
    "train": ("RAIL", frozenset({"rail"})),
    "ferry": ("FERRY", frozenset({"ferry"})),
    "bateau": ("FERRY", frozenset({"ferry"})),
    "cable_car": ("CABLE_CAR", frozenset({"cable"})),
    "gondola": ("GONDOLA", frozenset({"cable"})),
    "funicular": ("FUNICULAR", frozenset({"cable"})),
    "air": ("AIR", frozenset({"other"})),
}


def transit_submodes(modes: str | Iterable[str | TransportMode]) -> frozenset[str] | None:
    """r5py's names of the public-transport sub-modes asked (``None``: all of them)."""
    items = modes.split(",") if isinstance(modes, str) else list(modes)
    keys = {str(getattr(i, "name", i)).strip().lower() for i in items}
    asked = frozenset(TRANSIT_SUBMODES[k][0] for k in keys if k in TRANSIT_SUBMODES)
    return asked or None


def route_modes(submodes: frozenset[str] | None) -> frozenset[str] | None:
    """The ``routes`` layer's ``mode`` values kept by r5py sub-modes (``None``: all)."""
    if submodes is None:
        return None
    by_name = dict(TRANSIT_SUBMODES.values())
    return frozenset().union(*(by_name[name] for name in submodes))


def parse_modes(modes: str | Iterable[str | TransportMode]) -> frozenset[TransportMode]:
    """Parse modes given as ``"walk,transit"`` or a list of names/enums.

    ``transit`` always includes walking (access, egress, transfers, and walk-only trips
    competing with transit), as in r5py.
    """
    items = modes.split(",") if isinstance(modes, str) else list(modes)
    result: set[TransportMode] = set()
    for item in items:
        key = str(getattr(item, "name", None) or getattr(item, "value", item)).strip().lower()
        if not key:
            continue
        if key in TRANSIT_SUBMODES:
            result.add(TransportMode.TRANSIT)  # one kind of public transport: a filter
            continue
        if key not in MODE_NAMES:
            raise InputError(
                tr(
                    f"mode inconnu « {key} » (attendu : walk/marche, bike/velo, "
                    "car/voiture, transit/transports, ou un transport en commun : bus, tram, "
                    "metro, train, ferry)",
                    f"unknown mode '{key}' (expected: walk, bike, car, transit, or one kind "
                    "of public transport: bus, tram, subway, rail, ferry; French marche, "
                    "velo, voiture, transports)",
                ),
                field="transport_modes",
            )
        result.add(MODE_NAMES[key])
    if not result:
        raise InputError(tr("aucun mode donné", "no mode given"), field="transport_modes")
    street = result - {TransportMode.TRANSIT, TransportMode.WALK}
    if TransportMode.TRANSIT in result and street:
        raise InputError(
            tr(
                "transit se combine avec walk seulement ; le vélo ou la voiture pour "
                "rejoindre les arrêts : access_modes (et egress_modes), ex. "
                "access_modes=['BICYCLE']",
                "transit combines with walk only; bike or car to reach the stops: "
                "access_modes (and egress_modes), e.g. access_modes=['BICYCLE']",
            ),
            field="transport_modes",
        )
    if len(street) > 1 or (street and TransportMode.WALK in result):
        raise InputError(
            tr(
                "un seul mode routier à la fois (walk, bike ou car)",
                "one street mode at a time (walk, bike or car)",
            ),
            field="transport_modes",
        )
    return frozenset(result)


#: r5py's default access and egress modes: walking to and from the stops.
WALK_ONLY: Final = frozenset({TransportMode.WALK})


def parse_leg_modes(
    modes: str | Iterable[str | TransportMode] | None, field: str
) -> frozenset[TransportMode]:
    """Parse r5py's ``access_modes`` / ``egress_modes``: street modes, one or several.

    ``None`` is r5py's default, walking. Public transport is not a way to reach a stop
    (an :class:`InputError` names ``field``).
    """
    if modes is None:
        return WALK_ONLY
    items = modes.split(",") if isinstance(modes, str) else list(modes)
    result: set[TransportMode] = set()
    for item in items:
        key = str(getattr(item, "name", None) or getattr(item, "value", item)).strip().lower()
        if not key:
            continue
        mode = MODE_NAMES.get(key)
        if mode is None or mode is TransportMode.TRANSIT:
            raise InputError(
                tr(
                    f"mode de rabattement inconnu « {key} » (attendu : walk/marche, "
                    "bike/velo, car/voiture)",
                    f"unknown access or egress mode '{key}' (expected: walk, bike, car)",
                ),
                field=field,
            )
        result.add(mode)
    if not result:
        raise InputError(tr("aucun mode donné", "no mode given"), field=field)
    return frozenset(result)


@dataclass(frozen=True)
class QueryParams:
    """Parameters of a travel-time query (r5py's names; durations as timedelta, km/h).

    Attributes
    ----------
    modes
        The transport modes (see :func:`parse_modes`).
    departure
        Local departure date and time (the feeds' agency timezone), naive.
    departure_time_window
        Departures are tried every minute over this window (r5py default 10 min).
    percentiles
        Percentiles of the per-minute travel times (r5py default ``(50,)``).
    max_time
        Longest trip considered (default 2 h).
    max_time_walking, max_time_cycling, max_time_driving
        Longest walk / ride / drive; default ``max_time``.
    speed_walking, speed_cycling
        km/h (defaults 3.6 and 12, as r5py).
    max_public_transport_rides
        Most boardings in one trip (default 8).
    wheelchair
        Only steps-free ways and accessible stops and trips.
    snap_radius_m
        Points farther than this from any usable street are unreachable (R5's 1,600 m;
        r5py's ``snap_to_network=<metres>``).
    max_bicycle_traffic_stress
        r5py's cyclist traffic-stress limit (1-4); ``None``: the engine's default.
    transit_submodes
        r5py's names of the kinds of public transport allowed (``{"TRAM"}``: tram only);
        ``None``: all of them.
    frequency_draws, seed
        Headway-based (``frequencies.txt``) trips: ``None`` for the half-headway rule, or
        that many seeded Monte Carlo draws of their phases per departure minute set (R5's
        method: the percentiles then run over minutes x draws).
    access_modes, egress_modes
        How one reaches the first stop and leaves the last one (r5py's; default walking):
        any of walk, bike and car (bike-and-ride, kiss-and-ride). Each has its own time
        limit (``max_time_walking`` / ``_cycling`` / ``_driving``) and R5's egress caps.
    """

    modes: frozenset[TransportMode]
    departure: dt.datetime
    departure_time_window: dt.timedelta = dt.timedelta(minutes=10)
    percentiles: tuple[int, ...] = (50,)
    max_time: dt.timedelta = dt.timedelta(hours=2)
    max_time_walking: dt.timedelta | None = None
    max_time_cycling: dt.timedelta | None = None
    max_time_driving: dt.timedelta | None = None
    speed_walking: float = WALK_SPEED_KMH
    speed_cycling: float = BIKE_SPEED_KMH
    max_public_transport_rides: int = 8
    wheelchair: bool = False
    snap_radius_m: float = MAX_SNAP_M
    max_bicycle_traffic_stress: int | None = None
    transit_submodes: frozenset[str] | None = None
    frequency_draws: int | None = None
    seed: int = 0
    access_modes: frozenset[TransportMode] = WALK_ONLY
    egress_modes: frozenset[TransportMode] = WALK_ONLY

    def __post_init__(self) -> None:
        """Validate the values (an :class:`InputError` names the parameter)."""
        checks: Sequence[tuple[bool, str, str, str]] = (
            (
                self.departure_time_window >= dt.timedelta(minutes=1),
                "departure_time_window",
                "la fenêtre de départ doit durer au moins 1 minute",
                "the departure window must last at least 1 minute",
            ),
            (
                dt.timedelta(minutes=1) <= self.max_time <= dt.timedelta(hours=24),
                "max_time",
                "la durée maximale doit être entre 1 minute et 24 heures",
                "the maximum time must be between 1 minute and 24 hours",
            ),
            (
                all(1 <= p <= 99 for p in self.percentiles) and len(self.percentiles) > 0,
                "percentiles",
                "les centiles doivent être entre 1 et 99",
                "percentiles must be between 1 and 99",
            ),
            (
                0.5 <= self.speed_walking <= 20 and math.isfinite(self.speed_walking),
                "speed_walking",
                "vitesse de marche hors limites (0,5 à 20 km/h)",
                "walking speed out of range (0.5 to 20 km/h)",
            ),
            (
                1 <= self.speed_cycling <= 60 and math.isfinite(self.speed_cycling),
                "speed_cycling",
                "vitesse à vélo hors limites (1 à 60 km/h)",
                "cycling speed out of range (1 to 60 km/h)",
            ),
            (
                1 <= self.max_public_transport_rides <= 20,
                "max_public_transport_rides",
                "nombre de trajets en transport entre 1 et 20",
                "number of transit rides between 1 and 20",
            ),
            (
                0 < self.snap_radius_m <= 10_000 and math.isfinite(self.snap_radius_m),
                "snap_to_network",
                "distance d'accrochage au réseau entre 1 m et 10 km",
                "snapping distance between 1 m and 10 km",
            ),
            (
                self.frequency_draws is None or 1 <= self.frequency_draws <= 100,
                "frequency_draws",
                "nombre de tirages entre 1 et 100",
                "number of draws between 1 and 100",
            ),
            (
                self.max_bicycle_traffic_stress in (None, 1, 2, 3, 4),
                "max_bicycle_traffic_stress",
                "niveau de stress cycliste entre 1 et 4",
                "bicycle traffic stress between 1 and 4",
            ),
        )
        for limit, name in (
            (self.max_time_walking, "max_time_walking"),
            (self.max_time_cycling, "max_time_cycling"),
            (self.max_time_driving, "max_time_driving"),
        ):
            if limit is not None and limit < dt.timedelta(minutes=1):
                raise InputError(
                    tr(
                        "les durées maximales de marche et de vélo durent au moins 1 minute",
                        "the maximum walking and cycling times last at least 1 minute",
                    ),
                    field=name,
                )
        for ok, name, fr, en in checks:
            if not ok:
                raise InputError(tr(fr, en), field=name)

    @property
    def max_time_walking_s(self) -> float:
        """Longest walk, seconds."""
        limit = self.max_time if self.max_time_walking is None else self.max_time_walking
        return limit.total_seconds()

    @property
    def max_time_cycling_s(self) -> float:
        """Longest ride, seconds."""
        limit = self.max_time if self.max_time_cycling is None else self.max_time_cycling
        return limit.total_seconds()

    @property
    def route_modes(self) -> frozenset[str] | None:
        """The ``routes`` layer's ``mode`` values the search may ride (``None``: all)."""
        return route_modes(self.transit_submodes)

    @property
    def max_time_driving_s(self) -> float:
        """Longest drive, seconds."""
        limit = self.max_time if self.max_time_driving is None else self.max_time_driving
        return limit.total_seconds()

    def max_time_s(self, mode: TransportMode) -> float:
        """The per-leg limit of a street mode (and never more than ``max_time``), seconds."""
        limit = {
            TransportMode.WALK: self.max_time_walking_s,
            TransportMode.BIKE: self.max_time_cycling_s,
            TransportMode.CAR: self.max_time_driving_s,
        }[mode]
        return min(limit, self.max_time.total_seconds())

    @property
    def window_minutes(self) -> int:
        """Number of departure minutes tried (at least 1)."""
        return max(1, int(self.departure_time_window.total_seconds() // 60))
