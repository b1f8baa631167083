"""The JSON API's answers, as declared in its OpenAPI spec.

Every JSON route declares one of these as its response model, so the spec says what a
client receives and a wrong body fails (FastAPI validates what a route returns; the
schemathesis tests validate every answer against the spec). Names are those of the
answers (English for the service's objects, French for the advisor's match answer, as
in the person file and the catalogue).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from parcours.service.models import Role

__all__ = [
    "AggregateGroup",
    "Aggregates",
    "AuditView",
    "FeatureCollection",
    "GeoJSONResponse",
    "Health",
    "IndicatorRecord",
    "JobStarted",
    "JobView",
    "MatchAnswer",
    "Me",
    "PersonExport",
    "PersonView",
    "PlatformView",
    "StepView",
    "TerritoryView",
    "UserView",
]


class _Answer(BaseModel):
    """Closed: a field the spec does not name is an error."""

    model_config = ConfigDict(extra="forbid")


class Health(_Answer):
    """The service is up."""

    status: Literal["ok"]
    version: str


class Me(_Answer):
    """The caller."""

    id: int
    email: str
    name: str
    role: Role
    platform_id: int | None
    territory: str | None


class TerritoryView(_Answer):
    """A territory the caller may read."""

    name: str
    diagnostic: bool = Field(description="Whether its diagnostic report exists.")


class JobStarted(_Answer):
    """A job accepted (202): poll ``status_url``."""

    job_id: str
    status_url: str


class JobView(_Answer):
    """Where a job stands."""

    job_id: str
    kind: Literal["diagnostic", "batch_match"]
    territory: str
    status: Literal["queued", "running", "done", "failed"]
    step: str | None
    percent: float = Field(ge=0, le=100)
    fraction: float = Field(ge=0, le=1)
    error: str | None
    created: str
    started: str | None
    finished: str | None
    results: dict[str, str] = Field(description="Links to a done diagnostic's results.")
    summary: dict[str, Any] = Field(description="A batch match's counts and error codes.")


#: A published indicator record: the area's id and name, then its figures.
IndicatorRecord = dict[str, str | bool | float | None]


class Geometry(BaseModel):
    """A GeoJSON geometry (WGS84)."""

    type: Literal["Polygon", "MultiPolygon", "Point", "MultiPoint", "LineString"]
    coordinates: list[Any]


class Feature(_Answer):
    """A GeoJSON feature."""

    type: Literal["Feature"]
    geometry: Geometry | None
    properties: dict[str, str | bool | float | None]


class FeatureCollection(_Answer):
    """A GeoJSON feature collection (RFC 7946)."""

    type: Literal["FeatureCollection"]
    features: list[Feature]


class GeoJSONResponse(JSONResponse):
    """GeoJSON's own media type."""

    media_type = "application/geo+json"


class StepView(_Answer):
    """A step of the person's parcours (dates in UTC, ISO 8601)."""

    id: int
    solution: str
    status: Literal["propose", "decide", "commence", "termine", "abandonne"]
    proposed_at: str | None
    decided_at: str | None
    started_at: str | None
    done_at: str | None
    dropped_at: str | None
    note: str


class PersonView(_Answer):
    """A person as the caller may see them (health fields for advisors only)."""

    id: int
    first_name: str
    last_name: str
    commune: str
    status: str
    address: str | None
    home: list[float] | None = Field(description="lon, lat (WGS84).")
    purpose: str
    legal_basis: str
    consent_at: str | None
    created_at: str | None
    last_contact_at: str | None
    profile: dict[str, Any]
    destinations: list[dict[str, Any]]
    steps: list[StepView]


class ProfileVersion(_Answer):
    """A former person file."""

    at: str | None
    profile: dict[str, Any]
    destinations: list[dict[str, Any]]


class StoredMatch(_Answer):
    """A match kept in the person's file."""

    at: str | None
    answer: dict[str, Any]


class AuditView(_Answer):
    """An audit entry about the person."""

    at: str | None
    action: str
    user_id: int | None


class PersonExport(PersonView):
    """Everything kept about the person (right of access)."""

    special_category_fields: list[str]
    profile_history: list[ProfileVersion]
    matches: list[StoredMatch]
    audit: list[AuditView]


class AggregateGroup(_Answer):
    """A group of at least 11 people (smaller ones pooled)."""

    group: str
    people: int = Field(ge=11)


class Aggregates(_Answer):
    """A caseload as a steering committee sees it."""

    people: int | None = Field(description="None under ``min_people``.")
    min_people: int
    by_commune: list[AggregateGroup]
    by_status: list[AggregateGroup]
    steps: list[AggregateGroup]
    feasible_share: float | None = Field(ge=0, le=1)


class UserView(_Answer):
    """An account."""

    id: int
    email: str
    name: str
    role: Role
    platform_id: int | None
    active: bool


class PlatformView(_Answer):
    """A platform and its territory."""

    id: int
    name: str
    territory: str


# ------------------------------------------------------------------- the match answer


class Home(_Answer):
    """Where the person lives."""

    lon: float
    lat: float
    label: str | None


class Barrier(_Answer):
    """A barrier the person faces."""

    categorie: str
    code: str
    texte: str


class PersonSummary(_Answer):
    """Who the answer is for."""

    id: str | None
    domicile: Home
    commune: str | None
    barrieres: list[Barrier]


class Choice(_Answer):
    """Days with the same verdict for one direction."""

    jours: str
    trajet: Literal["aller", "retour"]
    verdict: str
    texte: str


class DestinationAnswer(_Answer):
    """One destination: the mode retained and the choices by day."""

    nom: str
    motif: str
    horaires: str
    lon: float
    lat: float
    mode_retenu: str | None
    choix: list[Choice]


class Leg(_Answer):
    """A leg of an itinerary (WGS84 coordinates)."""

    mode: str
    depart: str
    arrivee: str
    ligne: str | None
    de: str | None
    vers: str | None
    coordonnees: list[list[float]]


class OptionAnswer(_Answer):
    """One mode for one trip, and its verdict."""

    destination: str
    jour: str
    horaire: str
    date: str
    heure: str
    trajet: Literal["aller", "retour"]
    mode: str
    verdict: str
    solution: str | None
    solutions: list[str]
    raison: str
    duree_min: int | None
    cout_mois_eur: float | None
    depart: str | None
    arrivee: str | None
    itineraire: list[Leg]


class PlanStep(_Answer):
    """A step of the plan."""

    quand: Literal["maintenant", "dans_les_mois"]
    action: str
    solutions: list[str]
    delai_jours: int


class SolutionSummary(_Answer):
    """A solution of the catalogue named in the answer."""

    nom: str
    type: str
    contact: str | None
    cout: str | None
    delai_jours: int
    description: str | None


class MatchAnswer(_Answer):
    """Feasibility and plan for one person (fixed French names, as the person file)."""

    personne: PersonSummary
    semaine: str
    destinations: list[DestinationAnswer]
    options: list[OptionAnswer]
    plan: list[PlanStep]
    solutions: dict[str, SolutionSummary]
