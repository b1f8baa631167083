"""Match a person (or a whole caseload) to the solutions that make their trips feasible.

:func:`match` is the advisor's question: for this person's address, destinations and shift
hours, what is feasible now, what becomes feasible with which solution, and why. It returns
a :class:`MatchResult` whose :attr:`~MatchResult.answer` is the JSON other tools read
(fixed French names): ``options`` (one per destination, day, direction and mode, see
:mod:`parcours.matching.feasibility`) and ``plan`` (the ordered steps of the parcours,
``maintenant`` / ``dans_les_mois``, each naming solutions of the catalogue).

How the plan is built, per destination:

1. a mode is *retained* when every trip of the schedule (each day, there and back) is
   feasible with it, now or with solutions; among the retained modes the best is the one
   feasible without a solution, then the shortest total time, the cheapest, the most
   autonomous (alone before a service before a driver) and the quickest to set up (the
   solutions' ``delai_jours``); when no single mode covers every trip, the best option of
   each trip is kept;
2. the solutions the chosen options need go to ``maintenant`` when they take at most
   :data:`MONTHS_THRESHOLD_DAYS` to set up, to ``dans_les_mois`` otherwise;
3. what makes the person more autonomous later (the solidarity driving school and the
   licence aid for someone without a licence, cycling lessons for someone who cannot
   ride) goes to ``dans_les_mois``; France Travail's mobility aid goes to ``maintenant``
   when the round trip is over the catalogue's thresholds (60 km or 2 h).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import geopandas as gpd
import pandas as pd
import shapely

from parcours.accessibility import TransportNetwork
from parcours.errors import InputError
from parcours.geo.crs import WGS84
from parcours.i18n import tr
from parcours.matching._text import fixed_language
from parcours.matching._text import t as _t
from parcours.matching.catalogue import Catalogue, Solution, SolutionType, catalogue_of
from parcours.matching.feasibility import (
    BIKE_SPEED_KMH,
    COMMUTER_MAX_STRESS,
    EBIKE_SPEED_KMH,
    MODES,
    ROAD_FACTOR,
    SCOOTER_SPEED_KMH,
    Option,
    Person,
    Trip,
    communes_at,
    crow_km,
    day_name,
    evaluate,
)
from parcours.matching.profile import Licence, Motive, PersonFile, barriers
from parcours.matching.schedule import format_days
from parcours.territories import Territory

__all__ = ["MONTHS_THRESHOLD_DAYS", "MatchResult", "locate", "match", "match_people"]

#: A solution taking longer than this to set up is for "the next months".
MONTHS_THRESHOLD_DAYS: Final = 30

Geocoder = Callable[[Sequence[str]], pd.DataFrame]


@dataclass
class MatchResult:
    """One person's answer (:attr:`answer`, JSON-able) and the options behind it."""

    person: Person
    trips: list[Trip]
    options: list[list[Option]]
    catalogue: Catalogue
    week: dt.date

    @functools.cached_property
    def answer(self) -> dict[str, Any]:
        """The full answer (fixed French names): ``options``, ``plan``, ``destinations``..."""
        return _answer(self.person, self.trips, self.options, self.catalogue, self.week)

    @functools.cached_property
    def brief(self) -> dict[str, Any]:
        """The answer without its ``options`` list (what a caseload table needs)."""
        return _answer(
            self.person, self.trips, self.options, self.catalogue, self.week, with_options=False
        )

    def summary(self) -> str:
        """A short text for the advisor (French, or English with ``--lang en``)."""
        lines = []
        for dest in self.answer["destinations"]:
            lines.append(f"{dest['nom']} ({dest['horaires']}) :")
            for choice in dest["choix"]:
                lines.append(f"  {choice['jours']} {choice['trajet']} : {choice['texte']}")
        steps = self.answer["plan"]
        if steps:
            lines.append(_t("Plan :", "Plan:"))
            for step in steps:
                when = (
                    _t("maintenant", "now")
                    if step["quand"] == "maintenant"
                    else _t("dans les mois", "in the next months")
                )
                lines.append(f"  - {when} : {step['action']}")
        return "\n".join(lines)


def no_address_file(file: str | Path | None = None) -> InputError:
    """The error for addresses to geocode on a territory without an address file."""
    return InputError(
        tr(
            "des adresses sont à géocoder mais le territoire n'a pas de fichier d'adresses "
            "(parcours territory load NOM --addresses adresses.csv) : chargez-le ou donnez "
            "lon et lat",
            "addresses need geocoding but the territory has no address file (parcours "
            "territory load NAME --addresses addresses.csv): load one or give lon and lat",
        ),
        file=file,
        field="adresse",
    )


def locate(
    files: Sequence[PersonFile],
    geocoder: Geocoder | None,
    *,
    ids: Sequence[str] | None = None,
    communes: gpd.GeoDataFrame | None = None,
) -> list[Person]:
    """Give every home and destination coordinates (addresses through ``geocoder``).

    Raises
    ------
    InputError
        Listing every address not found or found with a low score (never placed silently).
    """
    queries: list[str] = []
    for f in files:
        for place in (f.domicile, *f.destinations):
            if place.lon is None and place.adresse:
                queries.append(place.adresse)
    found: dict[str, tuple[float, float, str]] = {}
    if queries:
        if geocoder is None:
            raise no_address_file()
        unique = list(dict.fromkeys(queries))
        result = geocoder(unique)
        bad = []
        records: Iterable[Any] = result.itertuples(index=False)
        for query, row in zip(unique, records, strict=True):
            if row.status != "ok":
                bad.append(f"« {query} » ({row.status}, score {row.score:.2f})")
            else:
                found[query] = (float(row.lon), float(row.lat), str(row.label))
        if bad:
            raise InputError(
                tr(
                    "adresses introuvables ou peu sûres, à corriger : " + " ; ".join(bad),
                    "addresses not found or uncertain, to fix: " + "; ".join(bad),
                ),
                field="adresse",
            )
    people = []
    for n, f in enumerate(files):

        def where(place: Any) -> tuple[float, float, str]:
            if place.lon is not None:
                return (
                    float(place.lon),
                    float(place.lat),
                    place.adresse or f"{place.lon:.5f}, {place.lat:.5f}",
                )
            return found[place.adresse]

        home = where(f.domicile)
        dests = tuple(where(d)[:2] for d in f.destinations)
        pid = (ids[n] if ids is not None else None) or f.id or f"P{n + 1:04d}"
        people.append(Person(pid, f, home[:2], home[2], dests))
    codes = communes_at(communes, [p.home for p in people])
    return [dataclasses.replace(p, home_commune=codes.get(p.home)) for p in people]


@dataclass(frozen=True)
class _Places:
    """A territory's communes and loaded area in WGS84 (built once per territory version)."""

    communes: gpd.GeoDataFrame | None
    area: shapely.Geometry


#: Per territory folder and version of its manifest.
_PLACES: dict[tuple[str, str], _Places] = {}


def _places_of(territory: Territory) -> _Places:
    """The territory's :class:`_Places`, cached: a warm service does not rebuild them."""
    key = (str(territory.path), str(territory.manifest.get("updated")))
    places = _PLACES.get(key)
    if places is None:
        communes = None
        if territory.has_layer("communes"):
            communes = cast(gpd.GeoDataFrame, territory.layer("communes")).to_crs(WGS84)
            _ = communes.sindex  # built now, not by the first request
        area = gpd.GeoSeries([territory.clip_area()], crs=territory.crs).to_crs(WGS84).iloc[0]
        shapely.prepare(area)
        places = _PLACES[key] = _Places(communes, area)
    return places


def _mark_outside(people: list[Person], area: shapely.Geometry) -> list[Person]:
    """Mark the homes and destinations outside the territory's perimeter and buffer."""
    out = []
    for person in people:
        places = [(-1, person.home), *enumerate(person.destinations)]
        outside = frozenset(
            j for j, (lon, lat) in places if not shapely.contains_xy(area, lon, lat)
        )
        out.append(dataclasses.replace(person, outside=outside) if outside else person)
    return out


def _network_of(territory: Territory | TransportNetwork) -> TransportNetwork:
    return territory if isinstance(territory, TransportNetwork) else TransportNetwork(territory)


def territory_geocoder(territory: Territory) -> Geocoder | None:
    """The offline geocoder of a territory's ``addresses`` layer (None when not loaded).

    The index is built on the first address to geocode and kept for the process, per
    territory folder and version of the layer (a warm service does not rebuild it).
    """
    if not territory.has_layer("addresses"):
        return None
    entry = territory.manifest["layers"].get("addresses", {})
    key = (str(territory.path), str(entry.get("loaded")), int(entry.get("rows", 0)))

    def geocode(queries: Sequence[str]) -> pd.DataFrame:
        index = _ADDRESS_INDEXES.get(key)
        if index is None:
            index = _ADDRESS_INDEXES[key] = _address_index(territory)
        result: pd.DataFrame = index.geocode(queries)
        return result

    return geocode


#: Address indexes built, per territory folder and layer version.
_ADDRESS_INDEXES: dict[tuple[str, str, int], Any] = {}


def _address_index(territory: Territory) -> Any:
    from parcours.geo.geocoding import AddressIndex

    layer = cast(gpd.GeoDataFrame, territory.layer("addresses"))
    wgs = layer.geometry.to_crs(WGS84)
    frame = pd.DataFrame(
        {
            "numero": layer["housenumber"],
            "rep": layer["rep"].fillna(""),
            "nom_voie": layer["street"],
            "code_postal": layer["postcode"],
            "code_insee": layer["citycode"],
            "nom_commune": layer["city"],
            "lon": wgs.x,
            "lat": wgs.y,
        }
    )
    return AddressIndex.from_frame(frame)


def match_people(
    territory: Territory | TransportNetwork,
    files: Sequence[PersonFile],
    *,
    catalogue: Catalogue | None = None,
    week: dt.date | None = None,
    carpool: Any = None,
    ids: Sequence[str] | None = None,
    geocoder: Geocoder | None = None,
    people: list[Person] | None = None,
) -> list[MatchResult]:
    """Match several people at once (one engine query per shift time, see ``feasibility``).

    Parameters
    ----------
    territory
        The territory (or its network, kept warm between calls).
    files
        The person files.
    catalogue
        The solutions (default: the territory's ``solutions`` layer).
    week
        A day of the week evaluated (default: the first Monday of the GTFS service
        period on or after today, or the period's first Monday).
    carpool
        A :class:`~parcours.matching.carpool.CarpoolIndex` of driver offers, or None.
    ids
        The people's ids (default: the files' ``id`` or ``P0001``...).
    geocoder
        Addresses -> coordinates (default: the territory's ``addresses`` layer).
    people
        Already located people (skips the geocoding).
    """
    network = _network_of(territory)
    terr = network.territory
    if catalogue is None:
        catalogue = catalogue_of(terr)
    places = _places_of(terr)
    communes = places.communes
    if people is None:
        people = locate(files, geocoder or territory_geocoder(terr), ids=ids, communes=communes)
        people = _mark_outside(people, places.area)
    week = week or default_week(network)
    with fixed_language():
        return _results(network, people, catalogue, week, communes, carpool)


def _results(
    network: TransportNetwork,
    people: list[Person],
    catalogue: Catalogue,
    week: dt.date,
    communes: gpd.GeoDataFrame | None,
    carpool: Any,
) -> list[MatchResult]:
    trips, options = evaluate(network, people, catalogue, week, communes=communes, carpool=carpool)
    by_person: dict[int, list[int]] = {}
    for k, trip in enumerate(trips):
        by_person.setdefault(trip.person, []).append(k)
    results = []
    for i, person in enumerate(people):
        ks = by_person.get(i, [])
        t = [trips[k] for k in ks]
        o = [options[k] for k in ks]
        results.append(MatchResult(person, t, o, catalogue, week))
    return results


def match(
    territory: Territory | TransportNetwork,
    person: PersonFile,
    **kwargs: Any,
) -> MatchResult:
    """Match one person (see :func:`match_people` for the parameters).

    The options feasible now or with a solution also get their itinerary, leg by leg
    (:func:`parcours.accessibility.itinerary`; one search per mode, direction and clock
    time, the same legs moved to each day).
    """
    result = match_people(territory, [person], **kwargs)[0]
    _attach_itineraries(_network_of(territory), result)
    return result


#: The engine's modes behind each mode of the answer (the speeds of the feasibility's).
_ITINERARY_MODES: dict[str, dict[str, Any]] = {
    "marche": {"transport_modes": ["walk"]},
    "velo": {
        "transport_modes": ["bike"],
        "speed_cycling": BIKE_SPEED_KMH,
        "max_bicycle_traffic_stress": COMMUTER_MAX_STRESS,
    },
    "velo_electrique": {
        "transport_modes": ["bike"],
        "speed_cycling": EBIKE_SPEED_KMH,
        "max_bicycle_traffic_stress": COMMUTER_MAX_STRESS,
    },
    "scooter": {
        "transport_modes": ["bike"],
        "speed_cycling": SCOOTER_SPEED_KMH,
        "max_bicycle_traffic_stress": 4,
    },
    "transports": {"transport_modes": ["walk", "transit"]},
    "voiture": {"transport_modes": ["car"]},
    "autopartage": {"transport_modes": ["car"]},
    "covoiturage": {"transport_modes": ["car"]},
    "transport_a_la_demande": {"transport_modes": ["car"]},
}


def _attach_itineraries(network: TransportNetwork, result: MatchResult) -> None:
    """Fill ``itineraire`` of the options retained for the plan (the way the plan shows).

    One engine search per destination, direction, mode and clock time; the legs (clock
    times of day) are the same on every day of the shift.
    """
    from parcours.accessibility import itinerary

    person = result.person
    wanted: set[int] = set()  # the options retained for the plan
    for j in range(len(person.destinations)):
        ks = [k for k, trip in enumerate(result.trips) if trip.destination == j]
        _, chosen = _choose([result.options[k] for k in ks], result.catalogue)
        wanted.update(id(o) for o in chosen)
    done: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for trip, options in zip(result.trips, result.options, strict=True):
        dest = person.destinations[trip.destination]
        for o in options:
            if o.verdict == "infaisable" or o.mode not in _ITINERARY_MODES:
                continue
            if id(o) not in wanted:
                continue
            services = network.active_services(trip.when.date())
            key = (trip.destination, trip.direction, o.mode, trip.when.time(), services)
            if key not in done:
                a, b = (person.home, dest) if trip.direction == "aller" else (dest, person.home)
                kwargs = dict(_ITINERARY_MODES[o.mode])
                if o.mode in ("marche", "transports"):
                    kwargs["wheelchair"] = person.profile.fauteuil_roulant
                when: dict[str, Any] = (
                    {"arrive_by": trip.when}
                    if trip.direction == "aller"
                    else {"departure": trip.when}
                )
                try:
                    legs = itinerary(network, a, b, **when, **kwargs)
                except InputError:
                    legs = None
                done[key] = [] if legs is None else _legs_json(legs)
            o.itineraire = done[key]
    result.__dict__.pop("answer", None)  # rebuilt with the itineraries
    result.__dict__.pop("brief", None)


def _legs_json(legs: Any) -> list[dict[str, Any]]:
    out = []
    for leg in legs.itertuples(index=False):
        coords = (
            [[round(x, 6), round(y, 6)] for x, y in leg.geometry.coords]
            if leg.geometry is not None
            else []
        )
        out.append(
            {
                "mode": str(leg.mode),
                "depart": pd.Timestamp(leg.departure).strftime("%H:%M"),
                "arrivee": pd.Timestamp(leg.arrival).strftime("%H:%M"),
                "ligne": None if pd.isna(leg.route_short_name) else str(leg.route_short_name),
                "de": None if pd.isna(leg.from_name) else str(leg.from_name),
                "vers": None if pd.isna(leg.to_name) else str(leg.to_name),
                "coordonnees": coords,
            }
        )
    return out


def default_week(network: TransportNetwork) -> dt.date:
    """The Monday of the week evaluated by default (inside the GTFS service period)."""
    period = network.service_period
    today = dt.date.today()
    if period is None:
        return today - dt.timedelta(days=today.weekday())
    day = min(max(today, period[0]), period[1])
    monday = day - dt.timedelta(days=day.weekday())
    if monday < period[0]:
        monday += dt.timedelta(days=7)
    return monday


def _option_json(o: Option, dest_name: str) -> dict[str, Any]:
    return {
        "destination": dest_name,
        "jour": day_name(o.trip.day),
        "horaire": o.trip.shift.text(),
        "date": o.trip.when.date().isoformat(),
        "heure": o.trip.when.strftime("%H:%M"),
        "trajet": o.trip.direction,
        "mode": o.mode,
        "verdict": o.verdict,
        "solution": o.solution,
        "solutions": o.solutions,
        "raison": o.raison,
        "duree_min": o.duree_min,
        "cout_mois_eur": o.cout_mois_eur,
        "depart": o.depart.strftime("%H:%M") if o.depart else None,
        "arrivee": o.arrivee.strftime("%H:%M") if o.arrivee else None,
        "itineraire": o.itineraire,
    }


def _lead(catalogue: Catalogue, ids: Iterable[str]) -> int:
    return max((catalogue.get(i).delai_jours for i in ids), default=0)


def _choose(per_trip: list[list[Option]], catalogue: Catalogue) -> tuple[str | None, list[Option]]:
    """The retained mode covering every trip, or the best option of each trip."""
    best_mode, best_key = None, None
    for mode in MODES:
        chosen = [next(o for o in opts if o.mode == mode) for opts in per_trip]
        if any(o.verdict == "infaisable" for o in chosen):
            continue
        key = (
            max(0 if o.verdict == "faisable" else 1 for o in chosen),
            len({x for o in chosen for x in o.solutions}),
            sum(o.duree_min or 0 for o in chosen),
            sum(o.cout_mois_eur or 0 for o in chosen) / max(1, len(chosen)),
            max(o.autonomy for o in chosen),
            _lead(catalogue, {s for o in chosen for s in o.solutions}),
        )
        if best_key is None or key < best_key:
            best_mode, best_key = mode, key
    if best_mode is not None:
        return best_mode, [next(o for o in opts if o.mode == best_mode) for opts in per_trip]
    return None, [
        min(opts, key=lambda o: (*o.rank_key(), _lead(catalogue, o.solutions))) for opts in per_trip
    ]


def _mode_label(mode: str) -> str:
    labels = {
        "marche": _t("à pied", "on foot"),
        "velo": _t("à vélo", "by bike"),
        "velo_electrique": _t("à vélo électrique", "by e-bike"),
        "transports": _t("en transports en commun", "by public transport"),
        "voiture": _t("en voiture", "by car"),
        "covoiturage": _t("en covoiturage", "by carpool"),
        "autopartage": _t("en autopartage", "by car-sharing"),
        "transport_a_la_demande": _t("en transport à la demande", "by on-demand transport"),
        "scooter": _t("en scooter", "by scooter"),
    }
    return str(labels.get(mode, mode))


def _answer(
    person: Person,
    trips: list[Trip],
    options: list[list[Option]],
    catalogue: Catalogue,
    week: dt.date,
    *,
    with_options: bool = True,
) -> dict[str, Any]:
    f = person.file
    p = f.profil
    out_options: list[dict[str, Any]] = []
    destinations = []
    steps: list[dict[str, Any]] = []
    now_ids: dict[str, str] = {}
    later_ids: dict[str, str] = {}
    for j, dest in enumerate(f.destinations):
        ks = [k for k, t in enumerate(trips) if t.destination == j]
        mode, chosen = _choose([options[k] for k in ks], catalogue)
        for k, best in zip(ks, chosen, strict=True):
            # best first: the option retained, then the others by rank
            if with_options:
                rest = sorted((o for o in options[k] if o is not best), key=lambda o: o.rank_key())
                out_options.extend(_option_json(o, dest.nom) for o in (best, *rest))
            elif best.solution:
                out_options.append({"solution": best.solution})
        choices = []
        groups: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
        for k, o in zip(ks, chosen, strict=True):
            text = (
                f"{_mode_label(o.mode)} — {o.raison}"
                if o.verdict != "infaisable"
                else _t(f"aucune solution : {o.raison}", f"no solution: {o.raison}")
            )
            group = groups.setdefault((trips[k].direction, o.verdict, o.mode), [])
            group.append((trips[k].day, text))
        for (direction, verdict, _), items in groups.items():
            days = tuple(d for d, _ in items)
            choices.append(
                {
                    "jours": format_days(days),
                    "trajet": direction,
                    "verdict": verdict,
                    "texte": items[0][1],
                }
            )
        for o in chosen:
            for sid in o.solutions:
                s = catalogue.get(sid)
                (later_ids if s.delai_jours > MONTHS_THRESHOLD_DAYS else now_ids).setdefault(
                    sid, f"{_mode_label(o.mode)}, {dest.nom}"
                )
        # France Travail's mobility aid: the round trip over the distance or time threshold
        # (by the options retained: the longest trip there plus the longest trip back)
        km = 2 * ROAD_FACTOR * crow_km(person.home, person.destinations[j])
        usable = [(trips[k].direction, o.duree_min) for k, o in zip(ks, chosen, strict=True)]
        legs = {
            d: max((m for dd, m in usable if dd == d and m is not None), default=None)
            for d in ("aller", "retour")
        }
        round_min = None if None in legs.values() else sum(v for v in legs.values() if v)
        if any(o.verdict == "infaisable" for o in chosen):
            round_min = None  # no trip to measure: the distance alone decides
        for aid in catalogue.of_type(SolutionType.FT_MOBILITY_AID):
            e = aid.eligibilite
            if e.check(p, dest.motif, dest.contrat) is not None:
                continue
            over_km = e.aller_retour_km_min is not None and km > e.aller_retour_km_min
            over_min = (
                e.aller_retour_min_min is not None
                and round_min is not None
                and round_min > e.aller_retour_min_min
            )
            if not (over_km or over_min):
                continue
            if over_km:
                why = _t(
                    f"aller-retour d'environ {km:.0f} km vers {dest.nom}",
                    f"round trip of about {km:.0f} km to {dest.nom}",
                )
            else:
                why = _t(
                    f"aller-retour de {round_min} min vers {dest.nom}",
                    f"round trip of {round_min} min to {dest.nom}",
                )
            if e.contrats is not None and dest.contrat is None and dest.motif is Motive.JOB:
                why += _t(
                    " ; à vérifier : contrat de 3 mois et plus",
                    "; to check: a contract of 3 months or more",
                )
            now_ids.setdefault(aid.id, why)
        # what makes the person autonomous later
        if (
            p.permis in (Licence.NONE, Licence.AM, Licence.LEARNING_B)
            and p.age >= 17
            and mode not in ("marche",)
        ):
            for later in {
                x for k in ks for o in options[k] if o.mode == "voiture" for x in o.later
            }:
                later_ids.setdefault(later, _t("passer le permis B", "get the B licence"))
                for aid in catalogue.of_type(SolutionType.FT_LICENCE_AID, SolutionType.MICROCREDIT):
                    if aid.eligibilite.check(p, dest.motif) is None:
                        later_ids.setdefault(aid.id, _t("financer le permis", "fund the licence"))
        if not p.velo.sait_rouler and not p.fauteuil_roulant and not p.mobilite_reduite:
            for later in {x for k in ks for o in options[k] if o.mode == "velo" for x in o.later}:
                later_ids.setdefault(later, _t("apprendre à rouler à vélo", "learn to ride a bike"))
        if any(o.verdict == "infaisable" for o in chosen):
            steps.append(
                {
                    "quand": "maintenant",
                    "action": _no_solution_step(dest.nom, dest.motif),
                    "solutions": [],
                    "delai_jours": 0,
                }
            )
        destinations.append(
            {
                "nom": dest.nom,
                "motif": dest.motif.value,
                "horaires": dest.horaires,
                "lon": person.destinations[j][0],
                "lat": person.destinations[j][1],
                "mode_retenu": mode,
                "choix": choices,
            }
        )
    for bucket, ids in (("maintenant", now_ids), ("dans_les_mois", later_ids)):
        for sid, why in sorted(ids.items(), key=lambda kv: catalogue.get(kv[0]).delai_jours):
            s = catalogue.get(sid)
            steps.append(
                {
                    "quand": bucket,
                    "action": f"{s.nom} ({why})",
                    "solutions": [sid],
                    "delai_jours": s.delai_jours,
                }
            )
    steps.sort(key=lambda s: (s["quand"] != "maintenant", s["delai_jours"]))
    used = {sid for step in steps for sid in step["solutions"]} | {
        o["solution"] for o in out_options if o["solution"]
    }
    return {
        "personne": {
            "id": person.id,
            "domicile": {"lon": person.home[0], "lat": person.home[1], "label": person.home_label},
            "commune": person.home_commune,
            "barrieres": [b.model_dump() for b in barriers(p)],
        },
        "semaine": (week - dt.timedelta(days=week.weekday())).isoformat(),
        "destinations": destinations,
        **({"options": out_options} if with_options else {}),
        "plan": steps,
        "solutions": {sid: _solution_json(catalogue.get(sid)) for sid in sorted(used)},
    }


def _no_solution_step(name: str, motive: Motive) -> str:
    """What to do when some trips have no solution, by the purpose of the trip."""
    if motive in (Motive.JOB, Motive.INTERNSHIP):
        return _t(
            f"Pas de solution pour certains trajets vers {name} : voir avec l'employeur un "
            "décalage d'horaires ou un covoiturage entre collègues",
            f"No solution for some trips to {name}: ask the employer about other hours or "
            "carpooling with colleagues",
        )
    if motive is Motive.TRAINING:
        return _t(
            f"Pas de solution pour certains trajets vers {name} : voir avec l'organisme de "
            "formation d'autres horaires, un hébergement ou une formation plus proche",
            f"No solution for some trips to {name}: ask the training body about other "
            "hours, lodging or a nearer course",
        )
    return _t(
        f"Pas de solution pour certains trajets vers {name} : chercher un autre horaire "
        "ou un rendez-vous à distance",
        f"No solution for some trips to {name}: look for other hours or a remote appointment",
    )


def _solution_json(s: Solution) -> dict[str, Any]:
    cost = []
    c = s.cout
    for value, fr, en in (
        (c.mois_eur, "€ par mois", "EUR a month"),
        (c.jour_eur, "€ par jour", "EUR a day"),
        (c.km_eur, "€ par km", "EUR per km"),
        (c.trajet_eur, "€ par trajet", "EUR per trip"),
        (c.ponctuel_eur, "€ une fois", "EUR once"),
    ):
        if value is not None:
            cost.append(f"{value:g} {_t(fr, en)}")
    if s.montant is not None and s.montant.valeur_eur is not None:
        cost.append(
            _t(
                f"aide jusqu'à {s.montant.valeur_eur:g} € "
                f"(montant au {s.montant.valide_depuis.isoformat()})",
                f"aid up to {s.montant.valeur_eur:g} EUR "
                f"(amount as of {s.montant.valide_depuis.isoformat()})",
            )
        )
    return {
        "nom": s.nom,
        "type": s.type.value,
        "contact": s.contact,
        "cout": ", ".join(cost) or None,
        "delai_jours": s.delai_jours,
        "description": s.description,
    }
