"""Query parameters shared by both engines, with r5py's names, types and defaults."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from parcours.errors import InputError
from parcours.i18n import tr

__all__ = ["QueryParams", "TransportMode", "parse_modes"]


class TransportMode(StrEnum):
    """Transport modes (r5py's ``TransportMode`` names; ``bike`` is r5py's ``BICYCLE``)."""

    WALK = "walk"
    BIKE = "bike"
    CAR = "car"
    TRANSIT = "transit"


_ALIASES = {
    "walk": TransportMode.WALK,
    "foot": TransportMode.WALK,
    "bike": TransportMode.BIKE,
    "bicycle": TransportMode.BIKE,
    "velo": TransportMode.BIKE,
    "car": TransportMode.CAR,
    "transit": TransportMode.TRANSIT,
    "public_transport": TransportMode.TRANSIT,
}


def parse_modes(modes: str | Iterable[str | TransportMode]) -> frozenset[TransportMode]:
    """Parse modes given as ``"walk,transit"`` or a list of names/enums.

    ``transit`` always includes walking (access, egress, transfers, and walk-only trips
    competing with transit), as in r5py.
    """
    items = modes.split(",") if isinstance(modes, str) else list(modes)
    result: set[TransportMode] = set()
    for item in items:
        key = str(getattr(item, "value", item)).strip().lower()
        if not key:
            continue
        if key not in _ALIASES:
            raise InputError(
                tr(
                    f"mode inconnu « {key} » (attendu : walk, bike, car, transit)",
                    f"unknown mode '{key}' (expected: walk, bike, car, transit)",
                ),
                field="--modes",
            )
        result.add(_ALIASES[key])
    if not result:
        raise InputError(tr("aucun mode donné", "no mode given"), field="--modes")
    street = result - {TransportMode.TRANSIT, TransportMode.WALK}
    if TransportMode.TRANSIT in result and street:
        raise InputError(
            tr(
                "transit se combine avec walk seulement (vélo ou voiture en rabattement : "
                "moteur r5)",
                "transit combines with walk only (bike or car access: r5 engine)",
            ),
            field="--modes",
        )
    if len(street) > 1 or (street and TransportMode.WALK in result):
        raise InputError(
            tr(
                "un seul mode routier à la fois (walk, bike ou car)",
                "one street mode at a time (walk, bike or car)",
            ),
            field="--modes",
        )
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
    max_time_walking, max_time_cycling
        Longest walk / ride; default ``max_time``.
    speed_walking, speed_cycling
        km/h (defaults 3.6 and 12, as r5py).
    max_public_transport_rides
        Most boardings in one trip (default 8).
    wheelchair
        Only steps-free ways and accessible stops and trips.
    """

    modes: frozenset[TransportMode]
    departure: dt.datetime
    departure_time_window: dt.timedelta = dt.timedelta(minutes=10)
    percentiles: tuple[int, ...] = (50,)
    max_time: dt.timedelta = dt.timedelta(hours=2)
    max_time_walking: dt.timedelta | None = None
    max_time_cycling: dt.timedelta | None = None
    speed_walking: float = 3.6
    speed_cycling: float = 12.0
    max_public_transport_rides: int = 8
    wheelchair: bool = False
    extra: dict[str, object] = field(default_factory=dict)

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
        )
        for limit, name in (
            (self.max_time_walking, "max_time_walking"),
            (self.max_time_cycling, "max_time_cycling"),
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
    def window_minutes(self) -> int:
        """Number of departure minutes tried (at least 1)."""
        return max(1, int(self.departure_time_window.total_seconds() // 60))
