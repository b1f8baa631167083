"""Commute feasibility at the shift's hours, mode by mode, for one person or a caseload.

For each person, destination, day of the schedule and direction (``aller``: arrive by
the shift's start; ``retour``: leave after its end), every mode gets a verdict with its
reason in plain French, its door-to-door time and its monthly cost:

========================  ===============================================================
mode                      how it is judged
========================  ===============================================================
marche                    walking time (wheelchair-usable paths for a wheelchair user)
                          within the person's ``marche_max_min``
velo                      own bike, or a bike loan; not for a wheelchair user or reduced
                          mobility; a trip before sunrise or after sunset needs night
                          riding (``roule_de_nuit``) or the catalogue's cycling training
velo_electrique           as velo at :data:`EBIKE_SPEED_KMH`, own e-bike or e-bike rental
transports                public transport arriving by the start / leaving after the end
                          (exact timetable search, walks to the stops within
                          ``marche_max_min``, accessible stops and trips for a wheelchair
                          user), within ``trajet_max_min``; travelling alone and reading a
                          timetable, or the mobility training; the monthly pass within the
                          budget, or the social fare
voiture                   licence B and a car; licence B without a car: vehicle loan or
                          social garage; no licence: the solidarity driving school, later
scooter                   licence AM (or B, which includes it): own scooter or rental
covoiturage               a driver offer matched (:mod:`parcours.matching.carpool`)
autopartage               licence B and a car-sharing station within walking reach
transport_a_la_demande    home and destination in the service's zone, open at those
                          hours, with its booking rule; wheelchair: accessible vehicles
========================  ===============================================================

Times come from the real engine, as one query per group of trips sharing a clock time
(:func:`parcours.accessibility.pair_times`): a caseload costs a few searches per shift time,
not one per person. Street times do not depend on the clock and are computed once per
person and destination. Sunrise and sunset come from ``astral`` at the home's position and
the day's date (Europe/Paris time).

Costs per month are estimates: a pass or a rental per month from the catalogue, a per-km
cost (``parametres.cout_km_voiture_eur``) on the road distance estimated as
:data:`ROAD_FACTOR` times the straight line, days per month from the schedule.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import astral
import astral.sun
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from parcours.accessibility import TransportNetwork, pair_times
from parcours.accessibility.streets import WALK_SPEED_KMH
from parcours.geo.crs import WGS84
from parcours.matching._text import t as _t
from parcours.matching.catalogue import Catalogue, Solution, SolutionType
from parcours.matching.profile import Licence, PersonFile, Profile
from parcours.matching.schedule import DAY_NAMES, DAY_NAMES_EN, Shift

__all__ = [
    "BIKE_SPEED_KMH",
    "COMMUTER_MAX_STRESS",
    "EBIKE_SPEED_KMH",
    "MODES",
    "ROAD_FACTOR",
    "SCOOTER_SPEED_KMH",
    "VERDICT_RANK",
    "Option",
    "Person",
    "Trip",
    "communes_at",
    "crow_km",
    "evaluate",
]

#: The modes judged, in the answer's order.
MODES: Final = (
    "marche",
    "velo",
    "velo_electrique",
    "transports",
    "voiture",
    "covoiturage",
    "autopartage",
    "transport_a_la_demande",
    "scooter",
)
BIKE_SPEED_KMH: Final = 15.0
#: A pedelec's assisted speed (the assistance stops at 25 km/h).
EBIKE_SPEED_KMH: Final = 20.0
#: A 50 cc scooter on roads open to it (no motorway), average.
SCOOTER_SPEED_KMH: Final = 30.0
#: On-demand transport: a shared ride is this much longer than the direct car trip.
ON_DEMAND_FACTOR: Final = 1.5
#: Cycling traffic stress accepted by a commuter (LTS 4: any road open to bikes). The
#: diagnostic keeps r5py's default of 3; a person who rides to work at 5 am takes the
#: departmental road.
COMMUTER_MAX_STRESS: Final = 4
#: Longest bike trip proposed, minutes (beyond, the person's ``trajet_max_min`` rules too).
MAX_BIKE_MIN: Final = 60
#: Road distance / straight-line distance (rural France, typical).
ROAD_FACTOR: Final = 1.3
_PARIS = zoneinfo.ZoneInfo("Europe/Paris")
#: The verdicts, best first.
VERDICT_RANK: Final = {"faisable": 0, "faisable_avec_solution": 1, "infaisable": 2}


@dataclass(frozen=True)
class Person:
    """A person with home and destinations located (WGS84)."""

    id: str
    file: PersonFile
    home: tuple[float, float]
    home_label: str
    destinations: tuple[tuple[float, float], ...]
    home_commune: str | None = None
    #: places outside the territory loaded (its perimeter and buffer): -1 the home, j the
    #: j-th destination; no time is computed to or from them
    outside: frozenset[int] = frozenset()

    @property
    def profile(self) -> Profile:
        """The person's profile."""
        return self.file.profil


@dataclass(frozen=True)
class Trip:
    """One trip to judge: a person, a destination, a day, a direction, a clock time."""

    person: int
    destination: int
    day: int
    date: dt.date
    direction: str  # aller | retour
    when: dt.datetime  # aller: arrive by; retour: leave at
    shift: Shift


@dataclass
class Option:
    """The verdict of one mode for one trip (the answer's ``options`` entry)."""

    trip: Trip
    mode: str
    verdict: str
    raison: str
    solution: str | None = None
    solutions: list[str] = field(default_factory=list)
    duree_min: int | None = None
    cout_mois_eur: float | None = None
    depart: dt.datetime | None = None
    arrivee: dt.datetime | None = None
    itineraire: list[dict[str, Any]] = field(default_factory=list)
    later: list[str] = field(default_factory=list)  # solutions that make it feasible in months
    sun_fact: str = ""  # the sunrise or sunset the reason quotes (redone for another day)
    autonomy: int = 0  # 0: on one's own; 1: needs a service; 2: needs someone

    def rank_key(self) -> tuple[float, ...]:
        """Feasibility, then time, cost, autonomy and lead time (smaller is better)."""
        return (
            VERDICT_RANK[self.verdict],
            self.duree_min if self.duree_min is not None else 1e9,
            self.cout_mois_eur if self.cout_mois_eur is not None else 1e9,
            self.autonomy,
        )


def _hhmm(when: dt.datetime | None) -> str:
    return "" if when is None else when.strftime("%H:%M")


def _minutes(seconds: float) -> int | None:
    return None if seconds is None or not math.isfinite(seconds) else int(seconds // 60)


def trips_of(people: list[Person], week: dt.date) -> list[Trip]:
    """The trips of every person's schedule in the week starting on Monday ``week``."""
    out = []
    monday = week - dt.timedelta(days=week.weekday())
    for i, person in enumerate(people):
        for j, dest in enumerate(person.file.destinations):
            for shift in dest.shifts:
                for day in shift.days:
                    date = monday + dt.timedelta(days=day)
                    start = dt.datetime.combine(date, dt.time()) + dt.timedelta(minutes=shift.start)
                    end = dt.datetime.combine(date, dt.time()) + dt.timedelta(minutes=shift.end)
                    out.append(Trip(i, j, day, date, "aller", start, shift))
                    out.append(Trip(i, j, day, end.date(), "retour", end, shift))
    return out


def _points(coords: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    xy = np.asarray(coords, dtype=float).reshape(-1, 2)
    return gpd.GeoDataFrame(
        {"id": np.arange(len(xy))}, geometry=shapely.points(xy[:, 0], xy[:, 1]), crs=WGS84
    )


@dataclass
class _Street:
    """Street seconds per (person, destination) and direction, per street mode."""

    seconds: dict[tuple[str, str], dict[tuple[int, int], float]] = field(default_factory=dict)

    def get(self, mode: str, direction: str, key: tuple[int, int]) -> float:
        return self.seconds.get((mode, direction), {}).get(key, math.nan)


def _street_times(network: TransportNetwork, people: list[Person], when: dt.datetime) -> _Street:
    keys = [(i, j) for i, p in enumerate(people) for j in range(len(p.destinations))]
    n = len(keys)
    # one point set, homes then destinations; both directions in one query per mode
    points = _points(
        [people[i].home for i, _ in keys] + [people[i].destinations[j] for i, j in keys]
    )
    home, dest = np.arange(n), np.arange(n) + n
    pairs = pd.DataFrame(
        {"origin": np.concatenate([home, dest]), "destination": np.concatenate([dest, home])}
    )
    out = _Street()
    wheel = np.array([people[i].profile.fauteuil_roulant for i, _ in keys])
    # a scooter's time only for who may ride one (the others' verdict is the licence)
    rider = np.array(
        [
            people[i].profile.may_ride_scooter(when.year) and not people[i].profile.mobilite_reduite
            for i, _ in keys
        ]
    )
    specs: list[tuple[str, dict[str, Any], np.ndarray]] = [
        ("marche", {"transport_modes": "walk"}, ~wheel),
        ("marche", {"transport_modes": "walk", "wheelchair": True}, wheel),
        ("velo", {"transport_modes": "bike", "speed_cycling": BIKE_SPEED_KMH}, ~wheel),
        ("velo_electrique", {"transport_modes": "bike", "speed_cycling": EBIKE_SPEED_KMH}, ~wheel),
        (
            "scooter",
            {"transport_modes": "bike", "speed_cycling": SCOOTER_SPEED_KMH},
            ~wheel & rider,
        ),
        ("voiture", {"transport_modes": "car"}, np.ones(n, dtype=bool)),
    ]
    for mode, kwargs, mask in specs:
        if not mask.any():
            continue
        both = np.concatenate([mask, mask])
        stress: dict[str, Any] = (
            {"max_bicycle_traffic_stress": COMMUTER_MAX_STRESS}
            if kwargs["transport_modes"] == "bike"
            else {}
        )
        times = pair_times(
            network,
            points,
            points,
            pairs[both],
            departure=when,
            max_time=dt.timedelta(hours=2),
            **stress,
            **kwargs,
        )["duration_s"].to_numpy()
        rows = np.flatnonzero(mask).tolist()
        half = len(rows)
        aller = out.seconds.setdefault((mode, "aller"), {})
        retour = out.seconds.setdefault((mode, "retour"), {})
        for r, k in enumerate(rows):
            aller[keys[k]] = float(times[r])
            retour[keys[k]] = float(times[half + r])
    return out


@dataclass
class _Transit:
    """Public transport per trip: departure, arrival; the first arrival when too late."""

    departure: dict[int, dt.datetime | None] = field(default_factory=dict)
    arrival: dict[int, dt.datetime | None] = field(default_factory=dict)
    first_arrival: dict[int, dt.datetime | None] = field(default_factory=dict)
    no_service: set[int] = field(default_factory=set)


def _nat(value: Any) -> dt.datetime | None:
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def _transit_times(network: TransportNetwork, people: list[Person], trips: list[Trip]) -> _Transit:
    """Public transport for every trip: one engine query per direction and wheelchair need.

    Each trip carries its own clock time and its person's walking limit
    (:func:`~parcours.accessibility.pair_times` shares the day's timetable and walks and
    groups the searches by clock time); the longest trip anyone accepts bounds the search
    and each person's own ``trajet_max_min`` is applied when judging.
    """
    out = _Transit()
    if not network.has_transit:
        return out
    period = network.service_period
    runs: dict[tuple[str, bool], list[int]] = {}
    # days running the same services (and the same the day before, whose late trips run
    # past midnight) give the same answer at the same clock time: one is searched
    same: dict[tuple[Any, ...], int] = {}
    copies: list[tuple[int, int]] = []
    for k, trip in enumerate(trips):
        day = trip.when.date()
        outside = period is not None and not (period[0] <= day <= period[1])
        if outside or not network.active_services(day):
            out.no_service.add(k)
            continue
        key = (
            trip.person,
            trip.destination,
            trip.direction,
            trip.when.time(),
            network.active_services(day),
            network.active_services(day - dt.timedelta(days=1)),
        )
        if key in same:
            copies.append((k, same[key]))
            continue
        same[key] = k
        wheel = people[trip.person].profile.fauteuil_roulant
        runs.setdefault((trip.direction, wheel), []).append(k)
    homes = _points([p.home for p in people])
    keys = [(i, j) for i, p in enumerate(people) for j in range(len(p.destinations))]
    dpos = {key: n for n, key in enumerate(keys)}
    dests = _points([people[i].destinations[j] for i, j in keys])
    for (direction, wheel), rows in runs.items():
        profiles = [people[trips[k].person].profile for k in rows]
        max_min = max(p.trajet_max_min for p in profiles)
        common: dict[str, Any] = {
            "transport_modes": ["walk", "transit"],
            "max_time": dt.timedelta(minutes=max_min),
            "max_time_walking": [dt.timedelta(minutes=max(1, p.marche_max_min)) for p in profiles],
            "wheelchair": wheel,
        }
        home_of = [trips[k].person for k in rows]
        dest_of = [dpos[(trips[k].person, trips[k].destination)] for k in rows]
        whens = [trips[k].when for k in rows]
        if direction == "aller":
            pairs = pd.DataFrame({"origin": home_of, "destination": dest_of})
            res = pair_times(network, homes, dests, pairs, arrive_by=whens, **common)
            for k, when, dep in zip(rows, whens, res["departure"], strict=True):
                out.departure[k] = _nat(dep)
                out.arrival[k] = when if not pd.isna(dep) else None
            late = [n for n, k in enumerate(rows) if out.departure[k] is None]
            if late:
                # the first arrival at the destination, to say how late it is
                first = pair_times(
                    network,
                    homes,
                    dests,
                    pairs.iloc[late].reset_index(drop=True),
                    # from the longest trip before, but not before the day's midnight
                    # (the day before may run no service at all)
                    departure=[
                        max(
                            whens[n] - dt.timedelta(minutes=max_min),
                            dt.datetime.combine(whens[n].date(), dt.time()),
                        )
                        for n in late
                    ],
                    **{
                        **common,
                        "max_time": dt.timedelta(hours=4),
                        "max_time_walking": [common["max_time_walking"][n] for n in late],
                    },
                )
                for n, arr in zip(late, first["arrival"], strict=True):
                    out.first_arrival[rows[n]] = _nat(arr)
        else:
            pairs = pd.DataFrame({"origin": dest_of, "destination": home_of})
            res = pair_times(network, dests, homes, pairs, departure=whens, **common)
            for k, when, arr in zip(rows, whens, res["arrival"], strict=True):
                out.arrival[k] = _nat(arr)
                out.departure[k] = when if not pd.isna(arr) else None
    for k, rep in copies:
        shift = trips[k].when - trips[rep].when
        for table in (out.departure, out.arrival, out.first_arrival):
            if rep in table:
                value = table[rep]
                table[k] = None if value is None else value + shift
    return out


@functools.lru_cache(maxsize=65536)
def _sun(lon: float, lat: float, date: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
    """Sunrise and sunset (Europe/Paris local time) at a point (0.01 degree is enough)."""
    observer = astral.Observer(latitude=lat, longitude=lon)
    try:
        rise = astral.sun.sunrise(observer, date, tzinfo=_PARIS).replace(tzinfo=None)
        sets = astral.sun.sunset(observer, date, tzinfo=_PARIS).replace(tzinfo=None)
    except ValueError:  # polar day or night: not in France
        return None
    return rise, sets


def _is_dark(home: tuple[float, float], start: dt.datetime, end: dt.datetime) -> tuple[bool, str]:
    """Whether part of [start, end] is before sunrise or after sunset, and the fact to say.

    A trip crossing midnight is in the dark (after the evening's sunset, before the
    morning's sunrise); times are Europe/Paris local time at the home.
    """
    lon, lat = round(home[0], 2), round(home[1], 2)
    first, last = _sun(lon, lat, start.date()), _sun(lon, lat, end.date())
    if first is None or last is None:
        return False, ""
    if start < first[0]:
        return True, _sun_fact("rise", first[0])
    if end > first[1] or start.date() != end.date():
        if start > first[1] or end.date() == start.date():
            return True, _sun_fact("set", first[1])
        return True, _sun_fact("rise", last[0])
    return False, ""


def _sun_fact(kind: str, when: dt.datetime) -> str:
    month = _MONTHS[when.month - 1]
    if kind == "rise":
        return _t(
            f"lever du jour à {_hhmm(when)} en {month[0]}",
            f"sunrise at {_hhmm(when)} in {month[1]}",
        )
    return _t(
        f"coucher du soleil à {_hhmm(when)} en {month[0]}",
        f"sunset at {_hhmm(when)} in {month[1]}",
    )


_MONTHS = (
    ("janvier", "January"), ("février", "February"), ("mars", "March"), ("avril", "April"),
    ("mai", "May"), ("juin", "June"), ("juillet", "July"), ("août", "August"),
    ("septembre", "September"), ("octobre", "October"), ("novembre", "November"),
    ("décembre", "December"),
)  # fmt: skip


def crow_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Straight-line distance between two WGS84 points, km (equirectangular, < 100 km)."""
    lat = math.radians((a[1] + b[1]) / 2)
    dx = (a[0] - b[0]) * 111.32 * math.cos(lat)
    dy = (a[1] - b[1]) * 110.57
    return math.hypot(dx, dy)


@dataclass
class _Context:
    """What the rules need for one person."""

    person: Person
    catalogue: Catalogue
    communes: gpd.GeoDataFrame | None
    weeks_per_month: float
    commune_cache: dict[tuple[float, float], str | None]
    offer_cache: dict[tuple[Any, ...], tuple[Solution | None, str]] = field(default_factory=dict)

    @property
    def profile(self) -> Profile:
        return self.person.profile

    def offered(
        self, kind: SolutionType, motive: Any = None, *, where: tuple[float, float] | None = None
    ) -> tuple[Solution | None, str]:
        """The first solution of a type the person may use here, or the reason none fits."""
        key = (kind, motive, where)
        hit = self.offer_cache.get(key)
        if hit is None:
            hit = self.offer_cache[key] = self._offered(kind, motive, where)
        return hit

    def _offered(
        self, kind: SolutionType, motive: Any, where: tuple[float, float] | None
    ) -> tuple[Solution | None, str]:
        reasons = []
        for solution in self.catalogue.of_type(kind):
            why = solution.eligibilite.check(self.profile, motive)
            if why is None and solution.zone is not None:
                why = self.outside(solution, [self.person.home] + ([where] if where else []))
            if why is None:
                return solution, ""
            reasons.append(f"{solution.nom} : {why}")
        if not reasons:
            return None, _t("pas proposé sur le territoire", "not offered on the territory")
        return None, "; ".join(reasons)

    def outside(self, solution: Solution, places: list[tuple[float, float]]) -> str | None:
        zone = solution.zone
        assert zone is not None
        for lon, lat in places:
            if (
                zone.centre is not None
                and zone.rayon_km is not None
                and crow_km(zone.centre, (lon, lat)) > zone.rayon_km
            ):
                return _t("hors de la zone desservie", "outside the service area")
            if (
                zone.communes is not None
                and self.communes is not None
                and self.commune_of((lon, lat)) not in zone.communes
            ):
                return _t("hors des communes desservies", "outside the communes served")
        return None

    def commune_of(self, point: tuple[float, float]) -> str | None:
        """The INSEE code of the commune holding a WGS84 point (cached)."""
        if point not in self.commune_cache:
            assert self.communes is not None
            hits = self.communes.sindex.query(shapely.Point(point), predicate="intersects")
            self.commune_cache[point] = (
                str(self.communes["insee"].iloc[int(hits[0])]) if len(hits) else None
            )
        return self.commune_cache[point]


def _communes_of(
    communes: gpd.GeoDataFrame | None, people: list[Person]
) -> dict[tuple[float, float], str | None]:
    """The commune of every home and destination, in one spatial query."""
    return communes_at(communes, [pt for p in people for pt in (p.home, *p.destinations)])


def communes_at(
    communes: gpd.GeoDataFrame | None, places: Sequence[tuple[float, float]]
) -> dict[tuple[float, float], str | None]:
    """The INSEE code of the commune holding each WGS84 point (None outside them all).

    ``communes`` in WGS84 with an ``insee`` column; one spatial query for all the points.
    """
    points = list(dict.fromkeys(places))
    if communes is None or not points:
        return {}
    geoms = shapely.points(np.asarray(points, dtype=float))
    where, which = communes.sindex.query(geoms, predicate="intersects")
    codes = communes["insee"].astype(str).to_numpy()
    out: dict[tuple[float, float], str | None] = dict.fromkeys(points)
    for i, j in zip(where.tolist()[::-1], which.tolist()[::-1], strict=True):
        out[points[i]] = str(codes[j])  # reversed: the first commune found wins
    return out


def _monthly(ctx: _Context, trip: Trip, per_trip_eur: float) -> float:
    """A trip's cost as a month of this shift: there and back, each day of the shift."""
    return round(per_trip_eur * 2 * len(trip.shift.days) * ctx.weeks_per_month, 2)


def _solution_month(ctx: _Context, s: Solution, trip: Trip, km: float) -> float | None:
    c = s.cout
    total = 0.0
    seen = False
    if c.mois_eur is not None:
        total += c.mois_eur
        seen = True
    if c.jour_eur is not None:
        total += c.jour_eur * len(trip.shift.days) * ctx.weeks_per_month
        seen = True
    if c.trajet_eur is not None:
        total += _monthly(ctx, trip, c.trajet_eur)
        seen = True
    if c.km_eur is not None:
        total += _monthly(ctx, trip, c.km_eur * km)
        seen = True
    return round(total, 2) if seen else None


def _judge(
    ctx: _Context,
    trip: Trip,
    k: int,
    street: _Street,
    transit: _Transit,
    carpool: dict[int, dict[str, Any]],
) -> list[Option]:
    p = ctx.profile
    person = ctx.person
    dest = person.file.destinations[trip.destination]
    where = person.destinations[trip.destination]
    key = (trip.person, trip.destination)
    km = ROAD_FACTOR * crow_km(person.home, where)
    is_aller = trip.direction == "aller"
    start_txt = _hhmm(trip.when)
    options: list[Option] = []

    def refuse(mode: str, reason: str, **extra: Any) -> None:
        """Add the option of ``mode``: not feasible, and why."""
        options.append(Option(trip, mode, "infaisable", reason, **extra))

    if -1 in person.outside or trip.destination in person.outside:
        what = _t("le domicile", "the home") if -1 in person.outside else dest.nom
        text = _t(
            f"{what} est hors du territoire chargé : temps non calculés (chargez un "
            "territoire qui couvre les deux lieux)",
            f"{what} is outside the territory loaded: no times computed (load a territory "
            "covering both places)",
        )
        return [Option(trip, mode, "infaisable", text) for mode in MODES]

    def timed(seconds: float) -> tuple[dt.datetime | None, dt.datetime | None]:
        if not math.isfinite(seconds):
            return None, None
        if is_aller:
            return trip.when - dt.timedelta(seconds=seconds), trip.when
        return trip.when, trip.when + dt.timedelta(seconds=seconds)

    # walk
    s = street.get("marche", trip.direction, key)
    dep, arr = timed(s)
    m = _minutes(s)
    if m is None:
        refuse("marche", _t("pas de chemin praticable à pied", "no walkable path"))
    elif m <= p.marche_max_min:
        options.append(
            Option(
                trip,
                "marche",
                "faisable",
                _t(f"{m} min à pied", f"{m} min on foot"),
                duree_min=m,
                cout_mois_eur=0.0,
                depart=dep,
                arrivee=arr,
            )
        )
    else:
        refuse(
            "marche",
            _t(
                f"{m} min à pied, au-delà des {p.marche_max_min} min que vous pouvez marcher",
                f"{m} min on foot, more than your {p.marche_max_min} min",
            ),
            duree_min=m,
            depart=dep,
            arrivee=arr,
        )

    # bikes
    for mode, kind, owned in (
        ("velo", SolutionType.BIKE_LOAN, p.velo.possede),
        ("velo_electrique", SolutionType.EBIKE_RENTAL, p.velo.possede and p.velo.electrique),
    ):
        s = street.get(mode, trip.direction, key)
        m = _minutes(s)
        dep, arr = timed(s)
        if p.fauteuil_roulant or p.mobilite_reduite:
            options.append(
                Option(
                    trip,
                    mode,
                    "infaisable",
                    _t(
                        "pas de vélo avec une mobilité réduite",
                        "no cycling with reduced mobility",
                    ),
                )
            )
            continue
        if m is None or m > min(MAX_BIKE_MIN, p.trajet_max_min):
            text = (
                _t(f"{m} min à vélo : trop long", f"{m} min by bike: too long")
                if m is not None
                else _t("pas d'itinéraire cyclable", "no cycling route")
            )
            options.append(Option(trip, mode, "infaisable", str(text), duree_min=m))
            continue
        if not p.velo.sait_rouler:
            school, _ = ctx.offered(SolutionType.CYCLING_TRAINING)
            options.append(
                Option(
                    trip,
                    mode,
                    "infaisable",
                    _t(
                        f"{m} min à vélo, mais vous ne savez pas encore rouler",
                        f"{m} min by bike, but you cannot ride yet",
                    ),
                    duree_min=m,
                    later=[school.id] if school else [],
                )
            )
            continue
        needed: list[str] = []
        reasons = [_t(f"{m} min à vélo", f"{m} min by bike")]
        blocked = ""
        cost = 0.0
        if not owned:
            loan, why = ctx.offered(kind)
            if loan is None:
                blocked = _t(
                    f"pas de {'vélo électrique' if mode != 'velo' else 'vélo'} : {why}",
                    f"no {'e-bike' if mode != 'velo' else 'bike'}: {why}",
                )
            else:
                needed.append(loan.id)
                cost += _solution_month(ctx, loan, trip, km) or 0.0
                reasons.append(_t(f"avec « {loan.nom} »", f"with '{loan.nom}'"))
        assert dep is not None and arr is not None
        dark, fact = _is_dark(person.home, dep, arr)
        if dark and not p.velo.roule_de_nuit:
            training, why = ctx.offered(SolutionType.CYCLING_TRAINING)
            if training is None:
                blocked = blocked or _t(
                    f"vous ne roulez pas de nuit : {fact}", f"you do not ride at night: {fact}"
                )
            else:
                needed.append(training.id)
                reasons.append(
                    _t(
                        f"vous ne roulez pas de nuit ({fact}) : « {training.nom} »",
                        f"you do not ride at night ({fact}): '{training.nom}'",
                    )
                )
        quoted = fact if dark and not p.velo.roule_de_nuit else ""
        if blocked:
            options.append(
                Option(
                    trip,
                    mode,
                    "infaisable",
                    f"{reasons[0]}, {blocked}",
                    duree_min=m,
                    depart=dep,
                    arrivee=arr,
                    sun_fact=quoted,
                )
            )
            continue
        verdict = "faisable_avec_solution" if needed else "faisable"
        options.append(
            Option(
                trip,
                mode,
                verdict,
                " ; ".join(reasons),
                solution=needed[0] if needed else None,
                solutions=needed,
                duree_min=m,
                cout_mois_eur=round(cost, 2),
                depart=dep,
                arrivee=arr,
                autonomy=1 if needed else 0,
                sun_fact=quoted,
            )
        )

    # public transport
    dep_t, arr_t = transit.departure.get(k), transit.arrival.get(k)
    if k in transit.no_service or not (transit.departure or transit.arrival or transit.no_service):
        refuse(
            "transports",
            _t("pas de transport en commun ce jour-là", "no public transport that day"),
        )
    elif dep_t is None or arr_t is None:
        first = transit.first_arrival.get(k)
        if is_aller and first is not None and first > trip.when:
            text = _t(
                f"le premier bus arrive à {_hhmm(first)}, la prise de poste est à {start_txt}",
                f"the first bus arrives at {_hhmm(first)}, the shift starts at {start_txt}",
            )
        elif is_aller:
            text = _t(
                f"aucun transport en commun n'arrive à {start_txt} "
                f"en moins de {p.trajet_max_min} min "
                f"(avec {p.marche_max_min} min de marche au plus)",
                f"no public transport arrives by {start_txt} within {p.trajet_max_min} min "
                f"(walking at most {p.marche_max_min} min)",
            )
        else:
            text = _t(
                f"aucun transport en commun pour rentrer après {start_txt} (en moins de "
                f"{p.trajet_max_min} min)",
                f"no public transport home after {start_txt} (within {p.trajet_max_min} min)",
            )
        refuse("transports", str(text))
    elif (arr_t - dep_t).total_seconds() // 60 > p.trajet_max_min:
        m = int((arr_t - dep_t).total_seconds() // 60)
        refuse(
            "transports",
            _t(
                f"{m} min en transports en commun, plus que vos {p.trajet_max_min} min",
                f"{m} min by public transport, more than your {p.trajet_max_min} min",
            ),
            duree_min=m,
        )
    else:
        m = int((arr_t - dep_t).total_seconds() // 60)
        needed = []
        reasons = [
            _t(
                f"départ {_hhmm(dep_t)}, arrivée {_hhmm(arr_t)} ({m} min)",
                f"leave {_hhmm(dep_t)}, arrive {_hhmm(arr_t)} ({m} min)",
            )
        ]
        # the full monthly pass, unless it is over the budget and the social fare fits
        month = ctx.catalogue.parametres.abonnement_transports_mois_eur
        fare, _ = ctx.offered(SolutionType.SOCIAL_FARE, dest.motif)
        cheaper = fare is not None and fare.cout.mois_eur is not None and fare.cout.mois_eur < month
        if month > p.budget_mois_eur and fare is not None and cheaper:
            assert fare.cout.mois_eur is not None
            needed.append(fare.id)
            month = fare.cout.mois_eur
            reasons.append(
                _t(
                    f"abonnement à {month:.0f} € avec « {fare.nom} »",
                    f"pass at {month:.0f} EUR with '{fare.nom}'",
                )
            )
        elif cheaper and fare is not None and fare.cout.mois_eur is not None:
            reasons.append(
                _t(
                    f"abonnement {month:.0f} € par mois ({fare.cout.mois_eur:.0f} € possible "
                    f"avec « {fare.nom} »)",
                    f"pass {month:.0f} EUR a month ({fare.cout.mois_eur:.0f} EUR possible "
                    f"with '{fare.nom}')",
                )
            )
        if not p.transports_seul or not p.lit_carte_horaires:
            training, _ = ctx.offered(SolutionType.MOBILITY_TRAINING)
            if training is not None:
                needed.append(training.id)
                reasons.append(
                    _t(
                        f"avec l'accompagnement « {training.nom} »",
                        f"with the '{training.nom}' coaching",
                    )
                )
        verdict = "faisable_avec_solution" if needed else "faisable"
        if month > p.budget_mois_eur:
            reasons.append(
                _t(
                    f"abonnement {month:.0f} € par mois, au-delà de votre budget de "
                    f"{p.budget_mois_eur:.0f} €",
                    f"pass {month:.0f} EUR a month, over your {p.budget_mois_eur:.0f} EUR budget",
                )
            )
        options.append(
            Option(
                trip,
                "transports",
                verdict,
                " ; ".join(reasons),
                solution=needed[0] if needed else None,
                solutions=needed,
                duree_min=m,
                cout_mois_eur=month,
                depart=dep_t,
                arrivee=arr_t,
                autonomy=1 if needed else 0,
            )
        )

    # car
    s = street.get("voiture", trip.direction, key)
    m = _minutes(s)
    dep, arr = timed(s)
    car_cost = _monthly(ctx, trip, km * ctx.catalogue.parametres.cout_km_voiture_eur)
    if m is None:
        refuse("voiture", _t("pas d'itinéraire routier", "no road route"))
    elif p.permis is Licence.B and p.voiture:
        options.append(
            Option(
                trip,
                "voiture",
                "faisable",
                _t(f"{m} min en voiture", f"{m} min by car"),
                duree_min=m,
                cout_mois_eur=car_cost,
                depart=dep,
                arrivee=arr,
            )
        )
    elif p.permis is Licence.B:
        loan, why = ctx.offered(SolutionType.VEHICLE_LOAN, dest.motif)
        if loan is None:
            loan, why2 = ctx.offered(SolutionType.SOCIAL_GARAGE, dest.motif)
            why = why2 or why
        if loan is not None and p.fauteuil_roulant and not loan.accessible_fauteuil:
            why = _t(
                f"{loan.nom} : véhicule non adapté au fauteuil", f"{loan.nom}: vehicle not adapted"
            )
            loan = None
        if loan is None:
            refuse("voiture", _t(f"pas de voiture ({why})", f"no car ({why})"), duree_min=m)
        else:
            fuel = _monthly(ctx, trip, km * ctx.catalogue.parametres.carburant_km_voiture_eur)
            cost = (_solution_month(ctx, loan, trip, km) or 0.0) + fuel
            options.append(
                Option(
                    trip,
                    "voiture",
                    "faisable_avec_solution",
                    _t(
                        f"{m} min en voiture avec « {loan.nom} »",
                        f"{m} min by car with '{loan.nom}'",
                    ),
                    solution=loan.id,
                    solutions=[loan.id],
                    duree_min=m,
                    cout_mois_eur=round(cost, 2),
                    depart=dep,
                    arrivee=arr,
                    autonomy=1,
                )
            )
    else:
        school, _ = ctx.offered(SolutionType.DRIVING_SCHOOL)
        label = {
            Licence.SUSPENDED_B: _t("permis suspendu", "licence suspended"),
            Licence.LEARNING_B: _t("permis B en cours", "B licence being prepared"),
        }.get(p.permis, _t("pas de permis B", "no B licence"))
        refuse(
            "voiture",
            _t(f"{label} ({m} min en voiture)", f"{label} ({m} min by car)"),
            duree_min=m,
            later=[school.id] if school and p.permis is not Licence.SUSPENDED_B else [],
        )

    # scooter
    s = street.get("scooter", trip.direction, key)
    m = _minutes(s)
    dep, arr = timed(s)
    if p.fauteuil_roulant or p.mobilite_reduite:
        refuse(
            "scooter",
            _t(
                "pas de deux-roues avec une mobilité réduite",
                "no two-wheeler with reduced mobility",
            ),
        )
    elif not p.may_ride_scooter(trip.when.year):
        refuse(
            "scooter",
            _t(
                "il faut le permis AM (ou B) pour un scooter quand on est né après 1987",
                "a scooter needs the AM (or B) licence when born after 1987",
            ),
            duree_min=m,
        )
    elif m is None or m > p.trajet_max_min:
        refuse("scooter", _t("trajet trop long en scooter", "too long by scooter"), duree_min=m)
    elif p.deux_roues:
        options.append(
            Option(
                trip,
                "scooter",
                "faisable",
                _t(f"{m} min en scooter", f"{m} min by scooter"),
                duree_min=m,
                cout_mois_eur=_monthly(
                    ctx, trip, km * ctx.catalogue.parametres.cout_km_scooter_eur
                ),
                depart=dep,
                arrivee=arr,
            )
        )
    else:
        rent, why = ctx.offered(SolutionType.SCOOTER_RENTAL)
        if rent is None:
            refuse("scooter", _t(f"pas de scooter ({why})", f"no scooter ({why})"), duree_min=m)
        else:
            options.append(
                Option(
                    trip,
                    "scooter",
                    "faisable_avec_solution",
                    _t(
                        f"{m} min en scooter avec « {rent.nom} »",
                        f"{m} min by scooter with '{rent.nom}'",
                    ),
                    solution=rent.id,
                    solutions=[rent.id],
                    duree_min=m,
                    cout_mois_eur=round(
                        (_solution_month(ctx, rent, trip, km) or 0.0)
                        + _monthly(
                            ctx, trip, km * ctx.catalogue.parametres.carburant_km_scooter_eur
                        ),
                        2,
                    ),
                    depart=dep,
                    arrivee=arr,
                    autonomy=1,
                )
            )

    # carpool
    service, why = ctx.offered(SolutionType.CARPOOL, dest.motif)
    found = carpool.get(k)
    if service is None:
        refuse(
            "covoiturage",
            _t(f"pas de service de covoiturage ({why})", f"no carpool service ({why})"),
        )
    elif found is None:
        refuse(
            "covoiturage",
            _t(
                f"aucun conducteur proposé pour {start_txt} ({service.nom})",
                f"no driver offer for {start_txt} ({service.nom})",
            ),
        )
    else:
        m = _minutes(street.get("voiture", trip.direction, key))
        pickup = found.get("area_name") or _t("au domicile", "at home")
        text = _t(
            f"conducteur {found['offer_id']} : prise en charge {pickup}, "
            f"détour {found['detour_min']:.0f} min ({service.nom})",
            f"driver {found['offer_id']}: pick-up {pickup}, "
            f"detour {found['detour_min']:.0f} min ({service.nom})",
        )
        if p.fauteuil_roulant:
            text += _t(
                " ; fauteuil : transfert et rangement à voir avec le conducteur",
                "; wheelchair: transfer and storage to agree with the driver",
            )
        wait = dt.timedelta(minutes=float(found.get("wait_min") or 0.0))
        ride = dt.timedelta(minutes=m or 0)
        if is_aller:
            arrivee: dt.datetime = trip.when - wait
            depart: dt.datetime = arrivee - ride
        else:
            depart = trip.when + wait
            arrivee = depart + ride
        options.append(
            Option(
                trip,
                "covoiturage",
                "faisable_avec_solution",
                str(text),
                solution=service.id,
                solutions=[service.id],
                duree_min=m,
                cout_mois_eur=_solution_month(ctx, service, trip, km),
                depart=depart,
                arrivee=arrivee,
                autonomy=2,
            )
        )

    # car-sharing
    share, why = ctx.offered(SolutionType.CAR_SHARING, dest.motif)
    m_car = _minutes(street.get("voiture", trip.direction, key))
    if p.permis is not Licence.B:
        refuse(
            "autopartage",
            _t("l'autopartage demande le permis B", "car-sharing needs the B licence"),
        )
    elif share is None:
        refuse("autopartage", _t(f"pas d'autopartage ({why})", f"no car-sharing ({why})"))
    else:
        station = _nearest_station(share, person.home)
        # walking to the station: the road distance estimate at the engine's walking speed
        walk_min = station[1] * ROAD_FACTOR / WALK_SPEED_KMH * 60 if station else math.inf
        if walk_min > p.marche_max_min or m_car is None:
            refuse(
                "autopartage",
                _t(
                    f"station « {share.nom} » à plus de {p.marche_max_min} min à pied",
                    f"'{share.nom}' station more than {p.marche_max_min} min on foot",
                ),
            )
        elif p.fauteuil_roulant and not share.accessible_fauteuil:
            refuse(
                "autopartage",
                _t(
                    f"véhicules de « {share.nom} » non adaptés au fauteuil",
                    f"'{share.nom}' vehicles not wheelchair adapted",
                ),
            )
        elif not share.is_open(trip.day, trip.shift.start if is_aller else trip.shift.end):
            refuse(
                "autopartage",
                _t(
                    f"« {share.nom} » est fermé à {start_txt}",
                    f"'{share.nom}' is closed at {start_txt}",
                ),
            )
        else:
            m = int(walk_min) + m_car
            options.append(
                Option(
                    trip,
                    "autopartage",
                    "faisable_avec_solution",
                    _t(
                        f"{int(walk_min)} min à pied jusqu'à la station "
                        f"puis {m_car} min ({share.nom})",
                        f"{int(walk_min)} min walk to the station then {m_car} min ({share.nom})",
                    ),
                    solution=share.id,
                    solutions=[share.id],
                    duree_min=m,
                    cout_mois_eur=_solution_month(ctx, share, trip, km),
                    autonomy=1,
                )
            )

    # on-demand transport
    tad_list = ctx.catalogue.of_type(SolutionType.ON_DEMAND)
    chosen: Solution | None = None
    why_not = _t(
        "pas de transport à la demande sur le territoire",
        "no on-demand transport on the territory",
    )
    for tad in tad_list:
        reason = tad.eligibilite.check(p, dest.motif)
        if reason is None and tad.zone is not None:
            reason = ctx.outside(tad, [person.home, where])
        if reason is None and not tad.is_open(
            trip.day, trip.shift.start if is_aller else trip.shift.end
        ):
            reason = _t(f"ne circule pas à {start_txt}", f"does not run at {start_txt}")
        if reason is None and p.fauteuil_roulant and not tad.accessible_fauteuil:
            reason = _t(
                "véhicules non accessibles en fauteuil", "vehicles not wheelchair accessible"
            )
        if reason is None:
            chosen = tad
            break
        why_not = f"{tad.nom} : {reason}"
    if chosen is None or m_car is None:
        refuse("transport_a_la_demande", why_not)
    else:
        m = int(m_car * ON_DEMAND_FACTOR)
        booking = ""
        if chosen.reservation is not None and chosen.reservation.veille_avant:
            booking = _t(
                f", réservation la veille avant {chosen.reservation.veille_avant}",
                f", book the day before by {chosen.reservation.veille_avant}",
            )
        elif chosen.reservation is not None and chosen.reservation.delai_h:
            booking = _t(
                f", réservation {chosen.reservation.delai_h:.0f} h à l'avance",
                f", book {chosen.reservation.delai_h:.0f} h ahead",
            )
        options.append(
            Option(
                trip,
                "transport_a_la_demande",
                "faisable_avec_solution",
                _t(
                    f"environ {m} min avec « {chosen.nom} »{booking}",
                    f"about {m} min with '{chosen.nom}'{booking}",
                ),
                solution=chosen.id,
                solutions=[chosen.id],
                duree_min=m,
                cout_mois_eur=_solution_month(ctx, chosen, trip, km),
                autonomy=1,
            )
        )
    return options


def _nearest_station(
    solution: Solution, home: tuple[float, float]
) -> tuple[tuple[float, float], float] | None:
    zone = solution.zone
    if zone is None or not zone.points:
        return None
    best = min(zone.points, key=lambda pt: crow_km(pt, home))
    return best, crow_km(best, home)


def evaluate(
    network: TransportNetwork,
    people: list[Person],
    catalogue: Catalogue,
    week: dt.date,
    *,
    communes: gpd.GeoDataFrame | None = None,
    carpool: Any = None,
) -> tuple[list[Trip], list[list[Option]]]:
    """Judge every mode of every trip of ``people`` in the week of ``week``.

    Parameters
    ----------
    network
        The territory's network (kept warm by the caller).
    people
        The people, located.
    catalogue
        The platform's solutions.
    week
        A day of the week to evaluate (its Monday starts it).
    communes
        The territory's communes in WGS84 (for solutions whose zone lists communes).
    carpool
        A :class:`~parcours.matching.carpool.CarpoolIndex`, or None (no driver offers).

    Returns
    -------
    (trips, options)
        The trips, and for each trip the options of :data:`MODES`, in that order.
    """
    trips = trips_of(people, week)
    if not trips:
        return trips, []
    noon = dt.datetime.combine(week, dt.time(12))
    street = _street_times(network, people, noon)
    transit = _transit_times(network, people, trips)
    matches = _carpool(carpool, people, trips)
    per_month = catalogue.parametres.semaines_par_mois
    cache = _communes_of(communes, people)
    contexts = {i: _Context(p, catalogue, communes, per_month, cache) for i, p in enumerate(people)}
    order = {m: n for n, m in enumerate(MODES)}
    judged: dict[tuple[Any, ...], list[Option]] = {}
    timed = [solution.shifts or [] for solution in catalogue.solutions if solution.horaires]
    out = []
    for k, trip in enumerate(trips):
        key = _same_answer_key(network, people, trip, k, street, transit, matches, timed)
        first = judged.get(key)
        if first is None:
            options = _judge(contexts[trip.person], trip, k, street, transit, matches)
            judged[key] = first = sorted(options, key=lambda o: order[o.mode])
            out.append(first)
        else:
            home = people[trip.person].home
            out.append([_moved(o, trip, home) for o in first])
    return trips, out


def _moved(option: Option, trip: Trip, home: tuple[float, float]) -> Option:
    """An option judged on another day of the same shift, moved to ``trip``'s day.

    Its clock times move with the day; a sunrise or sunset its reason quotes is the new
    day's (the trips share the key of :func:`_same_answer_key`: dark on both days).
    """
    shift = trip.when - option.trip.when
    moved = Option.__new__(Option)
    moved.__dict__.update(option.__dict__)
    moved.trip = trip
    moved.depart = None if option.depart is None else option.depart + shift
    moved.arrivee = None if option.arrivee is None else option.arrivee + shift
    if option.sun_fact and moved.depart is not None and moved.arrivee is not None:
        fact = _is_dark(home, moved.depart, moved.arrivee)[1]
        moved.raison = option.raison.replace(option.sun_fact, fact)
        moved.sun_fact = fact
    return moved


def _same_answer_key(
    network: TransportNetwork,
    people: list[Person],
    trip: Trip,
    k: int,
    street: _Street,
    transit: _Transit,
    matches: dict[int, dict[str, Any]],
    timed: list[list[Shift]],
) -> tuple[Any, ...]:
    """Two trips with the same key get the same options (judged once, moved by day).

    The same person, destination, shift and direction, clock times of the public
    transport results, carpool match and darkness for each cycling mode: only the day
    differs (the sunrise or sunset a reason quotes is redone for each day by :func:`_moved`).
    """
    person = people[trip.person]
    dark = []
    for mode in ("velo", "velo_electrique"):
        seconds = street.get(mode, trip.direction, (trip.person, trip.destination))
        if math.isfinite(seconds):
            span = dt.timedelta(seconds=seconds)
            window = (
                (trip.when - span, trip.when)
                if trip.direction == "aller"
                else (trip.when, trip.when + span)
            )
            dark.append(_is_dark(person.home, *window)[0])
    found = matches.get(k)

    def rel(when: dt.datetime | None) -> float | None:
        return None if when is None else (when - trip.when).total_seconds()

    return (
        trip.person,
        trip.destination,
        trip.shift,
        trip.direction,
        trip.when.time(),
        rel(transit.departure.get(k)),
        rel(transit.arrival.get(k)),
        rel(transit.first_arrival.get(k)),
        k in transit.no_service,
        None if found is None else found.get("offer_id"),
        tuple(dark),
        tuple(
            any(
                period.covers(
                    trip.day, trip.shift.start if trip.direction == "aller" else trip.shift.end
                )
                for period in periods
            )
            for periods in timed
        ),
    )


def _carpool(index: Any, people: list[Person], trips: list[Trip]) -> dict[int, dict[str, Any]]:
    """The driver offer of each trip, seats counted.

    A trip's answer depends on its weekday only through the offers that run that day, so
    weekdays with the same offers are asked once per person, destination, direction and
    clock time. Then seats are handed out best detour first: an offer carries at most
    ``seats`` people per day and direction (the batch never promises a seat twice; a single
    match sees every offer).
    """
    if index is None or not len(index):
        return {}
    offers = {o.id: o for o in index.offers}
    signature = {d: tuple(d in o.days for o in offers.values()) for d in range(7)}
    asked: dict[tuple[Any, ...], int] = {}
    rows: list[dict[str, Any]] = []
    members: dict[int, list[int]] = {}
    for k, trip in enumerate(trips):
        day = trip.when.weekday()
        key = (trip.person, trip.destination, trip.direction, trip.when.time(), signature[day])
        if key not in asked:
            person = people[trip.person]
            dest = person.destinations[trip.destination]
            asked[key] = len(rows)
            rows.append(
                {
                    "request_id": len(rows),
                    "home_lon": person.home[0],
                    "home_lat": person.home[1],
                    "dest_lon": dest[0],
                    "dest_lat": dest[1],
                    "day": day,
                    "direction": trip.direction,
                    "time": trip.when.time(),
                    "max_walk_min": float(person.profile.marche_max_min),
                }
            )
        members.setdefault(asked[key], []).append(k)
    found = index.match(pd.DataFrame(rows), limit=5)
    candidates: dict[int, list[dict[str, Any]]] = {}
    for record in found.to_dict("records"):
        candidates.setdefault(int(record["request_id"]), []).append(record)
    taken: dict[tuple[str, dt.date, str], int] = {}
    out: dict[int, dict[str, Any]] = {}
    flat = [
        (cands[0]["detour_min"], k, request)
        for request, cands in candidates.items()
        for k in members[request]
    ]
    for _, k, request in sorted(flat, key=lambda item: (item[0], item[1])):
        trip = trips[k]
        for record in candidates[request]:
            slot = (str(record["offer_id"]), trip.when.date(), trip.direction)
            if taken.get(slot, 0) < offers[slot[0]].seats:
                taken[slot] = taken.get(slot, 0) + 1
                out[k] = record
                break
    return out


def day_name(day: int) -> str:
    """The French (or English) name of a weekday."""
    return _t(DAY_NAMES[day], DAY_NAMES_EN[day])
