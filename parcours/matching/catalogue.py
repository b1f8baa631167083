"""The platform's solution catalogue: what it offers, to whom, where, when, at what cost.

A catalogue is data (YAML or CSV), validated here (:func:`read_catalogue`) and stored in the
territory as the table layer ``solutions`` (:func:`store_catalogue`, what ``parcours
territory load NAME --solutions FILE`` does). Amounts and thresholds that change (aid
amounts, fares) live in the file with the date they are valid from (``montant.valide_depuis``
and the catalogue's ``date``), never in code.

YAML form::

    date: 2026-01-01
    parametres: {cout_km_voiture_eur: 0.32, abonnement_transports_mois_eur: 32}
    solutions:
      - id: pret-vae
        nom: "Prêt de vélo à assistance électrique"
        type: location_velo_electrique
        eligibilite: {statuts: [demandeur_emploi, rsa, jeune], revenu_max_eur: 1400}
        zone: {communes: ["03950", "03951"]}   # or {centre: [lon, lat], rayon_km: 20}
        cout: {mois_eur: 10}
        delai_jours: 1

CSV form: one row per solution, the same fields flattened (``eligibilite.statuts`` ->
``statuts`` with ``|`` between values; ``zone.communes`` -> ``communes``; ``cout.mois_eur``
-> ``cout_mois_eur``; see :data:`CSV_COLUMNS`). Every error names the file, the row (CSV) or
the solution (YAML) and the field, with the allowed values.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from parcours.errors import InputError
from parcours.i18n import tr
from parcours.matching._csv import delimiter_of, parse_bool, parse_number, read_text
from parcours.matching._text import t
from parcours.matching.profile import Contract, Licence, Motive, Profile, Status, pydantic_message
from parcours.matching.schedule import Shift, parse_schedule
from parcours.territories import Territory, Workspace
from parcours.territories.workspace import file_digest

__all__ = [
    "CSV_COLUMNS",
    "Catalogue",
    "Solution",
    "SolutionType",
    "catalogue_of",
    "read_catalogue",
    "store_catalogue",
]


class SolutionType(StrEnum):
    """The kinds of solution a platform offers."""

    SOCIAL_FARE = "tarif_social_transport"
    BIKE_LOAN = "pret_velo"
    BIKE_REPAIR = "reparation_velo"
    EBIKE_RENTAL = "location_velo_electrique"
    SCOOTER_RENTAL = "location_scooter"
    CARPOOL = "covoiturage"
    CAR_SHARING = "autopartage_social"
    VEHICLE_LOAN = "pret_vehicule"
    SOCIAL_GARAGE = "garage_solidaire"
    DRIVING_SCHOOL = "auto_ecole_solidaire"
    ON_DEMAND = "transport_a_la_demande"
    VOLUNTEER_DRIVERS = "transport_solidaire"
    MICROCREDIT = "microcredit"
    FT_MOBILITY_AID = "aide_mobilite_france_travail"
    FT_LICENCE_AID = "aide_permis"
    MOBILITY_TRAINING = "formation_mobilite"
    CYCLING_TRAINING = "formation_velo"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Eligibility(_Strict):
    """Who may use a solution (every rule given must hold)."""

    statuts: list[Status] | None = None
    age_min: int | None = None
    age_max: int | None = None
    permis: list[Licence] | None = None
    revenu_max_eur: float | None = None
    inscrit_depuis_mois_min: int | None = None
    #: registered with France Travail (whatever the status: job seeker, RSA, young person)
    inscrit_france_travail: bool | None = None
    motifs: list[Motive] | None = None
    #: the round trip must be over this distance (km) or over this time (minutes): France
    #: Travail's aide à la mobilité (60 km or 2 h; 20 km overseas)
    aller_retour_km_min: float | None = None
    aller_retour_min_min: float | None = None
    sait_rouler: bool | None = None
    #: for a job: the contracts accepted (France Travail: CDI, CDD of 3 months or more);
    #: a destination whose contract is not given is accepted (the advisor checks it)
    contrats: list[Contract] | None = None

    def check(
        self, profile: Profile, motive: Motive | None = None, contract: Contract | None = None
    ) -> str | None:
        """None when ``profile`` is eligible, else the reason (plain French)."""
        p = profile
        if (
            self.contrats is not None
            and contract is not None
            and motive is Motive.JOB
            and contract not in self.contrats
        ):
            names = ", ".join(c.value for c in self.contrats)
            return t(f"réservé aux contrats : {names}", f"only for contracts: {names}")
        if self.statuts is not None and p.statut not in self.statuts:
            names = ", ".join(s.value for s in self.statuts)
            return str(tr(f"réservé aux statuts : {names}", f"only for: {names}"))
        if self.age_min is not None and p.age < self.age_min:
            return str(tr(f"à partir de {self.age_min} ans", f"from age {self.age_min}"))
        if self.age_max is not None and p.age > self.age_max:
            return str(tr(f"jusqu'à {self.age_max} ans", f"up to age {self.age_max}"))
        if self.permis is not None and p.permis not in self.permis:
            names = ", ".join(x.value for x in self.permis)
            return str(tr(f"il faut le permis {names}", f"needs licence {names}"))
        if self.revenu_max_eur is not None and (
            p.revenu_mois_eur is not None and p.revenu_mois_eur > self.revenu_max_eur
        ):
            return str(
                tr(
                    f"ressources au-dessus du plafond de {self.revenu_max_eur:.0f} € par mois",
                    f"income above the {self.revenu_max_eur:.0f} EUR a month ceiling",
                )
            )
        if self.inscrit_france_travail and not p.registered:
            return t(
                "réservé aux inscrits à France Travail",
                "only for people registered with France Travail",
            )
        if self.inscrit_depuis_mois_min is not None and (
            (p.inscrit_depuis_mois or 0) < self.inscrit_depuis_mois_min
        ):
            return str(
                tr(
                    "inscription à France Travail depuis au moins "
                    f"{self.inscrit_depuis_mois_min} mois",
                    "registered with France Travail for at least "
                    f"{self.inscrit_depuis_mois_min} months",
                )
            )
        if self.motifs is not None and motive is not None and motive not in self.motifs:
            return str(tr("pas pour ce motif de déplacement", "not for this purpose"))
        if self.sait_rouler and not p.velo.sait_rouler:
            return str(tr("il faut savoir rouler à vélo", "needs to ride a bike"))
        return None


class Zone(_Strict):
    """Where a solution applies: communes (INSEE codes), a circle, or points (stations)."""

    communes: list[str] | None = None
    centre: tuple[float, float] | None = None
    rayon_km: float | None = Field(default=None, gt=0)
    points: list[tuple[float, float]] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Zone:
        if (self.centre is None) != (self.rayon_km is None):
            raise ValueError("centre et rayon_km vont ensemble / centre and rayon_km go together")
        return self


class Cost(_Strict):
    """What the person pays (euros)."""

    mois_eur: float | None = Field(default=None, ge=0)
    jour_eur: float | None = Field(default=None, ge=0)
    km_eur: float | None = Field(default=None, ge=0)
    trajet_eur: float | None = Field(default=None, ge=0)
    ponctuel_eur: float | None = Field(default=None, ge=0)


class Amount(_Strict):
    """An aid's amount, dated (amounts change: check them before use)."""

    valeur_eur: float | None = Field(default=None, ge=0)
    par_km_eur: float | None = Field(default=None, ge=0)
    plafond_annuel_eur: float | None = Field(default=None, ge=0)
    valide_depuis: dt.date
    source: str | None = None


class Booking(_Strict):
    """Booking rule of on-demand transport: the day before by a time, or hours ahead."""

    veille_avant: str | None = None
    delai_h: float | None = Field(default=None, ge=0)


class Solution(_Strict):
    """One solution of the catalogue."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    nom: str = Field(min_length=1)
    type: SolutionType
    description: str | None = None
    eligibilite: Eligibility = Eligibility()
    zone: Zone | None = None
    horaires: str | None = None
    capacite: int | None = Field(default=None, ge=0)
    cout: Cost = Cost()
    delai_jours: int = Field(default=0, ge=0)
    reservation: Booking | None = None
    accessible_fauteuil: bool = False
    montant: Amount | None = None
    contact: str | None = None
    vitesse_kmh: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _hours(self) -> Solution:
        if self.horaires is not None:
            parse_schedule(self.horaires, where="horaires")
        return self

    @property
    def shifts(self) -> list[Shift] | None:
        """Opening hours (None: always open)."""
        return None if self.horaires is None else parse_schedule(self.horaires)

    def is_open(self, day: int, minute: float) -> bool:
        """Whether the solution runs at minute ``minute`` of weekday ``day``."""
        shifts = self.shifts
        return shifts is None or any(s.covers(day, minute) for s in shifts)


class Parameters(_Strict):
    """Territory-wide figures of the cost estimates (dated with the catalogue)."""

    #: owning a car: fuel, upkeep, insurance, wear, per km
    cout_km_voiture_eur: float = Field(default=0.32, ge=0)
    #: a car on loan or rented (upkeep and insurance in the rental): fuel per km
    carburant_km_voiture_eur: float = Field(default=0.12, ge=0)
    #: owning a 50 cc scooter, per km; and its fuel alone (a rented one)
    cout_km_scooter_eur: float = Field(default=0.10, ge=0)
    carburant_km_scooter_eur: float = Field(default=0.04, ge=0)
    abonnement_transports_mois_eur: float = Field(default=35.0, ge=0)
    #: weeks in a month (a shift on N days a week: N x this days a month)
    semaines_par_mois: float = Field(default=52 / 12, gt=0)


class Catalogue(_Strict):
    """A platform's solutions."""

    date: dt.date
    territoire: str | None = None
    parametres: Parameters = Parameters()
    solutions: list[Solution]

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        seen: set[str] = set()
        for s in self.solutions:
            if s.id in seen:
                raise ValueError(f"identifiant en double / duplicate id: {s.id}")
            seen.add(s.id)
        return self

    def of_type(self, *kinds: SolutionType) -> list[Solution]:
        """The solutions of some types, in catalogue order."""
        return [s for s in self.solutions if s.type in kinds]

    def get(self, solution_id: str) -> Solution:
        """A solution by id."""
        for s in self.solutions:
            if s.id == solution_id:
                return s
        raise InputError(
            tr(f"solution inconnue « {solution_id} »", f"unknown solution '{solution_id}'"),
            field="solution",
        )


#: CSV columns -> path in the YAML form (lists are ``|``-separated).
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "nom": ("nom",),
    "type": ("type",),
    "description": ("description",),
    "statuts": ("eligibilite", "statuts"),
    "age_min": ("eligibilite", "age_min"),
    "age_max": ("eligibilite", "age_max"),
    "permis": ("eligibilite", "permis"),
    "revenu_max_eur": ("eligibilite", "revenu_max_eur"),
    "inscrit_depuis_mois_min": ("eligibilite", "inscrit_depuis_mois_min"),
    "inscrit_france_travail": ("eligibilite", "inscrit_france_travail"),
    "motifs": ("eligibilite", "motifs"),
    "contrats": ("eligibilite", "contrats"),
    "sait_rouler": ("eligibilite", "sait_rouler"),
    "aller_retour_km_min": ("eligibilite", "aller_retour_km_min"),
    "aller_retour_min_min": ("eligibilite", "aller_retour_min_min"),
    "communes": ("zone", "communes"),
    "centre_lon": ("zone", "centre", "0"),
    "centre_lat": ("zone", "centre", "1"),
    "rayon_km": ("zone", "rayon_km"),
    "points": ("zone", "points"),
    "horaires": ("horaires",),
    "capacite": ("capacite",),
    "cout_mois_eur": ("cout", "mois_eur"),
    "cout_jour_eur": ("cout", "jour_eur"),
    "cout_km_eur": ("cout", "km_eur"),
    "cout_trajet_eur": ("cout", "trajet_eur"),
    "cout_ponctuel_eur": ("cout", "ponctuel_eur"),
    "delai_jours": ("delai_jours",),
    "reservation_veille_avant": ("reservation", "veille_avant"),
    "reservation_delai_h": ("reservation", "delai_h"),
    "accessible_fauteuil": ("accessible_fauteuil",),
    "montant_eur": ("montant", "valeur_eur"),
    "montant_par_km_eur": ("montant", "par_km_eur"),
    "plafond_annuel_eur": ("montant", "plafond_annuel_eur"),
    "valide_depuis": ("montant", "valide_depuis"),
    "contact": ("contact",),
    "vitesse_kmh": ("vitesse_kmh",),
}
_LIST_COLUMNS = {"statuts", "permis", "motifs", "communes", "contrats"}
_BOOL_COLUMNS = {"sait_rouler", "accessible_fauteuil", "inscrit_france_travail"}
_NUMBER_COLUMNS = {
    "age_min", "age_max", "revenu_max_eur", "inscrit_depuis_mois_min", "aller_retour_km_min",
    "aller_retour_min_min", "centre_lon", "centre_lat", "rayon_km", "capacite",
    "cout_mois_eur", "cout_jour_eur", "cout_km_eur", "cout_trajet_eur", "cout_ponctuel_eur",
    "delai_jours", "reservation_delai_h", "montant_eur", "montant_par_km_eur",
    "plafond_annuel_eur", "vitesse_kmh",
}  # fmt: skip


def _csv_value(column: str, value: str) -> Any:
    """A CSV cell as the YAML form has it (lists split on ``|``; points ``lon lat|...``)."""
    if column in _LIST_COLUMNS:
        return [v.strip() for v in value.split("|") if v.strip()]
    if column in _BOOL_COLUMNS:
        return parse_bool(value)
    if column == "points":
        return [[parse_number(c) for c in p.split()] for p in value.split("|") if p.strip()]
    if column in _NUMBER_COLUMNS:
        number = parse_number(value)
        return int(number) if number.is_integer() and column in _INT_COLUMNS else number
    return value


_INT_COLUMNS = {"age_min", "age_max", "inscrit_depuis_mois_min", "capacite", "delai_jours"}


def _csv_solutions(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter_of(text))
    unknown = [c for c in reader.fieldnames or [] if c not in CSV_COLUMNS and c != "date"]
    if unknown:
        raise InputError(
            tr(
                f"colonnes inconnues : {', '.join(unknown)} (colonnes possibles : "
                f"{', '.join(CSV_COLUMNS)})",
                f"unknown columns: {', '.join(unknown)} (allowed: {', '.join(CSV_COLUMNS)})",
            ),
            file=path,
            row=1,
        )
    rows = []
    for number, row in enumerate(reader, start=2):
        item: dict[str, Any] = {}
        for column, value in row.items():
            if column not in CSV_COLUMNS or value is None or not str(value).strip():
                continue
            value = str(value).strip()
            try:
                parsed: Any = _csv_value(column, value)
            except ValueError as exc:
                raise InputError(str(exc), file=path, row=number, field=column) from exc
            target = item
            keys = CSV_COLUMNS[column]
            for key in keys[:-1]:
                target = target.setdefault(key, {} if key != "centre" else [None, None])
            if isinstance(target, list):
                target[int(keys[-1])] = parsed
            else:
                target[keys[-1]] = parsed
        rows.append((number, item))
    return rows


def read_catalogue(path: Path | str) -> Catalogue:
    """Read and validate a solution catalogue (YAML, or CSV with one row per solution).

    Raises
    ------
    InputError
        Naming the file, the row (CSV) or solution (YAML), the field and the allowed values.
    """
    path = Path(path)
    text = read_text(path)
    if path.suffix.lower() == ".csv":
        solutions = []
        for number, item in _csv_solutions(text, path):
            try:
                solutions.append(Solution.model_validate(item))
            except ValidationError as exc:
                raise InputError(pydantic_message(exc), file=path, row=number) from exc
            except InputError as exc:
                raise InputError(str(exc), file=path, row=number) from exc
        data: dict[str, Any] = {"date": dt.date.today(), "solutions": solutions}
        dates = [d for d in (_csv_dates(text)) if d]
        if dates:
            data["date"] = max(dates)
        return Catalogue.model_validate(data)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(tr(f"YAML invalide ({exc})", f"invalid YAML ({exc})"), file=path) from exc
    if not isinstance(data, Mapping) or "solutions" not in data:
        raise InputError(
            tr("attendu les clés date et solutions", "expected the keys date and solutions"),
            file=path,
        )
    try:
        return Catalogue.model_validate(dict(data))
    except ValidationError as exc:
        raise InputError(_named(exc, data, path), file=path) from exc
    except InputError as exc:
        raise InputError(str(exc), file=path) from exc


def _csv_dates(text: str) -> list[dt.date | None]:
    out: list[dt.date | None] = []
    for row in csv.DictReader(io.StringIO(text), delimiter=delimiter_of(text)):
        value = (row.get("valide_depuis") or row.get("date") or "").strip()
        try:
            out.append(dt.date.fromisoformat(value) if value else None)
        except ValueError:
            out.append(None)
    return out


def _named(exc: ValidationError, data: Mapping[str, Any], path: Path) -> str:
    """The pydantic message with the solution's id in place of its list index."""
    message = pydantic_message(exc)
    solutions = data.get("solutions")
    if isinstance(solutions, list):
        for i, item in enumerate(solutions):
            if isinstance(item, Mapping) and "id" in item:
                message = message.replace(f"solutions.{i}.", f"solutions[{item['id']}].")
    return message


def store_catalogue(workspace: Workspace, name: str, path: Path | str) -> Catalogue:
    """Validate a catalogue and store it as territory ``name``'s ``solutions`` layer.

    Nothing is written when the file is invalid (the existing catalogue stays).
    """
    catalogue = read_catalogue(path)
    frame = pd.DataFrame(
        {
            "solution_id": [s.id for s in catalogue.solutions],
            "type": [s.type.value for s in catalogue.solutions],
            "name": [s.nom for s in catalogue.solutions],
            "definition": [s.model_dump_json() for s in catalogue.solutions],
        }
    )
    with workspace.transaction(name) as tx:
        tx.write_layer(
            "solutions",
            frame,
            sources=[file_digest(Path(path))],
            reader="parcours.matching.catalogue",
            summary={
                "date": catalogue.date.isoformat(),
                "parametres": json.loads(catalogue.parametres.model_dump_json()),
            },
        )
    return catalogue


def catalogue_of(territory: Territory) -> Catalogue:
    """The catalogue stored in a territory (:func:`store_catalogue`)."""
    frame = territory.layer("solutions")
    summary = territory.manifest["layers"]["solutions"].get("summary", {})
    return Catalogue.model_validate(
        {
            "date": summary.get("date", dt.date.today().isoformat()),
            "territoire": territory.name,
            "parametres": summary.get("parametres", {}),
            "solutions": [json.loads(d) for d in frame["definition"]],
        }
    )
