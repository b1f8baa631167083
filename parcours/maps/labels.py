"""What a committee reads: the French (or English) label of every diagnostic column.

The library's tables keep English column names (``share_jobs_45_transit_peak_p50``);
:func:`label` turns one into a sentence in the language in force
(:mod:`parcours.i18n`): "Part des emplois à moins de 45 min, transports en commun,
heure de pointe (médiane)". Maps, the report and the CLI use it; nothing else does.

The matching's answers use French codes (``velo_electrique``, ``faisable_avec_solution``,
``lundi``): :data:`OPTION_MODE_LABELS`, :data:`LEG_MODE_LABELS`, :data:`VERDICT_LABELS`,
:data:`PURPOSE_LABELS` and :data:`DAY_LABELS` name them for the advisor's pages.
"""

from __future__ import annotations

import re
from typing import Final

from parcours.diagnostic import BANDS
from parcours.i18n import tr

__all__ = [
    "CATEGORY_LABELS",
    "DAY_LABELS",
    "LEG_MODE_LABELS",
    "MODE_LABELS",
    "OPTION_MODE_LABELS",
    "PURPOSE_LABELS",
    "VERDICT_LABELS",
    "band_label",
    "label",
    "mode_label",
]

#: Modes, as a complement ("à pied").
MODE_LABELS: Final = {
    "walk": tr("à pied", "walking"),
    "bike": tr("à vélo", "cycling"),
    "transit": tr("en transports en commun", "by public transport"),
    "car": tr("en voiture", "by car"),
}
#: The matching's modes (an answer's ``options[].mode``), as a name ("Vélo électrique").
OPTION_MODE_LABELS: Final = {
    "marche": tr("À pied", "On foot"),
    "velo": tr("Vélo", "Bike"),
    "velo_electrique": tr("Vélo électrique", "Electric bike"),
    "transports": tr("Transports en commun", "Public transport"),
    "voiture": tr("Voiture", "Car"),
    "covoiturage": tr("Covoiturage", "Carpool"),
    "autopartage": tr("Voiture partagée", "Car sharing"),
    "transport_a_la_demande": tr("Transport à la demande", "On-demand transport"),
    "scooter": tr("Scooter", "Scooter"),
}
#: The legs of an itinerary (``itineraire[].mode``), as a name ("Bus").
LEG_MODE_LABELS: Final = {
    "walk": tr("À pied", "On foot"),
    "bike": tr("Vélo", "Bike"),
    "ebike": tr("Vélo électrique", "Electric bike"),
    "bus": tr("Bus", "Bus"),
    "coach": tr("Car", "Coach"),
    "tram": tr("Tram", "Tram"),
    "subway": tr("Métro", "Metro"),
    "metro": tr("Métro", "Metro"),
    "rail": tr("Train", "Train"),
    "ferry": tr("Bateau", "Ferry"),
    "car": tr("Voiture", "Car"),
    "carpool": tr("Covoiturage", "Carpool"),
    "on_demand": tr("Transport à la demande", "On-demand transport"),
    "scooter": tr("Scooter", "Scooter"),
}
#: The matching's verdicts (``options[].verdict``).
VERDICT_LABELS: Final = {
    "faisable": tr("possible", "possible"),
    "faisable_avec_solution": tr("possible avec une aide", "possible with support"),
    "infaisable": tr("pas possible", "not possible"),
}
#: Why a person goes to a destination (``destinations[].motif``).
PURPOSE_LABELS: Final = {
    "emploi": tr("travail", "work"),
    "formation": tr("formation", "training"),
    "entretien": tr("entretien d'embauche", "job interview"),
    "sante": tr("santé", "health"),
    "demarches": tr("démarches", "paperwork"),
    "enfants": tr("enfants", "children"),
}
#: The days of the week (the answer's ``jour``), Monday first.
DAY_LABELS: Final = {
    "lundi": tr("lundi", "Monday"),
    "mardi": tr("mardi", "Tuesday"),
    "mercredi": tr("mercredi", "Wednesday"),
    "jeudi": tr("jeudi", "Thursday"),
    "vendredi": tr("vendredi", "Friday"),
    "samedi": tr("samedi", "Saturday"),
    "dimanche": tr("dimanche", "Sunday"),
}
#: Service categories (the ``services`` layer's ``category``), carpool areas, stations.
CATEGORY_LABELS: Final = {
    "france_travail": tr("agence France Travail", "France Travail agency"),
    "france_services": tr("France Services", "France Services centre"),
    "mission_locale": tr("mission locale", "mission locale (youth employment)"),
    "hospital": tr("hôpital", "hospital"),
    "emergency": tr("urgences", "emergency department"),
    "gp": tr("médecin généraliste", "general practitioner"),
    "training": tr("centre de formation", "training centre"),
    "driving_school": tr("auto-école", "driving school"),
    "childcare": tr("crèche", "childcare"),
    "supermarket": tr("supermarché", "supermarket"),
    "grocery": tr("alimentation", "grocery"),
    "pharmacy": tr("pharmacie", "pharmacy"),
    "post_office": tr("bureau de poste", "post office"),
    "caf": tr("CAF", "family allowance office (CAF)"),
    "carpool": tr("aire de covoiturage", "carpool area"),
    "bikeshare": tr("station de vélos en libre-service", "bike-share station"),
    "station_rail": tr("gare", "railway station"),
    "nursery_school": tr("école maternelle", "nursery school"),
    "primary_school": tr("école élémentaire", "primary school"),
    "middle_school": tr("collège", "middle school"),
    "high_school": tr("lycée", "high school"),
}
_PERCENTILES: Final = {
    "50": tr("médiane", "median"),
    "80": tr("4 jours sur 5", "4 days in 5"),
}
_FIXED: Final = {
    "population": tr("habitants", "residents"),
    "households": tr("ménages", "households"),
    "poor_households": tr("ménages pauvres", "poor households"),
    "qpv": tr("quartier prioritaire (QPV)", "priority neighbourhood (QPV)"),
    "imputed": tr("valeurs estimées par l'Insee", "INSEE-estimated figures"),
    "commune": tr("code commune", "commune code"),
    "commune_name": tr("commune", "commune"),
    "epci_name": tr("EPCI", "EPCI"),
    "employment_zone_name": tr("zone d'emploi", "employment zone"),
    "departures_500m": tr("départs par jour à moins de 500 m", "departures a day within 500 m"),
    "first_departure": tr("premier départ", "first departure"),
    "last_departure": tr("dernier départ", "last departure"),
    "frequent_stop_500m": tr(
        "arrêt fréquent à moins de 500 m (≤ 20 min, 7 h-19 h)",
        "frequent stop within 500 m (≤ 20 min, 7 am-7 pm)",
    ),
    "no_service": tr(
        "zone sans desserte (aucun arrêt desservi à moins de 1 km)",
        "no service (no served stop within 1 km)",
    ),
    "car_dependency": tr(
        "dépendance à la voiture (emplois en 45 min : voiture / transports)",
        "car dependency (jobs within 45 min: car / public transport)",
    ),
    "need": tr(
        "besoin (ménages pauvres × manque d'accès)", "need (poor households × lack of access)"
    ),
    "cells": tr("carreaux", "cells"),
    "name": tr("nom", "name"),
    "area": tr("code", "code"),
}
_JOBS = re.compile(
    r"^(?P<share>share_)?jobs_(?P<cut>\d+)_(?P<mode>walk|bike|car|transit)"
    r"(?:_(?P<band>[a-z]+)_p(?P<p>\d+))?$"
)


def mode_label(mode: str) -> str:
    """``"walk"`` -> "à pied" (the language in force)."""
    return str(MODE_LABELS.get(mode, mode))


def band_label(key: str) -> str:
    """``"peak"`` -> "heure de pointe (départ 7 h-9 h)"."""
    for band in BANDS:
        if band.key == key:
            return str(band.label)
    return key


def _band_text(band: str | None, p: str | None) -> str:
    if band is None:
        return ""
    text = f", {band_label(band)}"
    if p is not None:
        text += f" ({_PERCENTILES.get(p, f'p{p}')})"
    return text


def label(column: str) -> str:
    """The reader's label of a diagnostic column (the column itself when unknown).

    Suffixes of the area tables are understood: ``_pop`` (mean per resident), ``_poor``
    (mean per poor household), ``_unreached`` (share out of reach).
    """
    for suffix, fr, en in (
        ("_pop", "moyenne par habitant", "mean per resident"),
        ("_poor", "moyenne des ménages pauvres", "mean of poor households"),
        ("_unreached", "part hors d'atteinte", "share out of reach"),
    ):
        if column.endswith(suffix) and column != "population":
            return f"{label(column.removesuffix(suffix))} ({tr(fr, en)})"
    if column.startswith("share_") and column.removeprefix("share_") in _FIXED:
        return str(tr("part : ", "share: ")) + str(_FIXED[column.removeprefix("share_")])
    if column.startswith("share_no_service_"):
        return str(tr("part sans desserte, ", "share without service, ")) + band_label(
            column.removeprefix("share_no_service_")
        )
    if column.startswith("no_service_"):
        return str(tr("pas de départ à moins de 1 km, ", "no departure within 1 km, ")) + (
            band_label(column.removeprefix("no_service_"))
        )
    if column in _FIXED:
        return str(_FIXED[column])
    match = _JOBS.match(column)
    if match:
        head = (
            tr("Part des emplois du territoire", "Share of the territory's jobs")
            if match["share"]
            else tr("Emplois", "Jobs")
        )
        late = match["band"] == "late"
        within = (
            tr(" d'où l'on rentre en moins de ", " from which home is less than ")
            if late
            else tr(" à moins de ", " within ")
        )
        return (
            f"{head}{within}{match['cut']} min {mode_label(match['mode'])}"
            f"{_band_text(match['band'], match['p'])}"
        )
    for category, text in CATEGORY_LABELS.items():
        for mode in MODE_LABELS:
            if column == f"{category}_{mode}":
                return str(
                    tr(
                        f"minutes jusqu'à : {text} le plus proche, {mode_label(mode)}",
                        f"minutes to the nearest {text}, {mode_label(mode)}",
                    )
                )
    return column
