"""The JSON API (bearer token or session cookie; every route declares its rule).

=================================================  ========================  ===============
route                                              who                       what
=================================================  ========================  ===============
``GET  /health``                                   anyone                    status, version
``GET  /api/me``                                   any user                  the caller
``GET  /territories``                              any user but prescriber   territories seen
``POST /diagnostics``                              admin, planner            a diagnostic job
``GET  /diagnostics/{job_id}``                     admin, planner            its progress
``POST /diagnostics/{job_id}/rerun``               admin, planner            run it again
``GET  /territories/{name}/indicators``            admin, planner, advisor,  published means
                                                   committee (own)
``GET  /territories/{name}/cells.geojson``         same                      published cells
``GET  /territories/{name}/report``                same                      ``rapport.html``
``GET  /territories/{name}/maps``                  same                      the report's maps
``POST /territories/{name}/match``                 advisor (own)             a match, unsaved
``GET  /api/persons``                              advisor, prescriber       caseload search
``POST /api/persons``                              advisor, prescriber       open a file
``GET  /api/persons/{person_id}``                  advisor, prescriber       a person
``PUT  /api/persons/{person_id}/profile``          advisor                   new profile
``POST /api/persons/{person_id}/match``            advisor                   match and keep
``GET  /api/persons/{person_id}/export``           advisor                   all their data
``DELETE /api/persons/{person_id}``                advisor                   erasure
``POST /api/persons/{person_id}/steps``            advisor                   propose a step
``PATCH /api/persons/{person_id}/steps/{step_id}`` advisor                   move it on
``POST /api/batch-matches``                        advisor                   a batch job
``GET  /api/jobs/{job_id}``                        who may see the job       its progress
``GET  /api/aggregates``                           committee, advisor        >= 11 people
``GET|POST /api/users``, ``/api/platforms``        admin                     accounts
``PATCH /api/users/{user_id}``                     admin                     disable, enable
=================================================  ========================  ===============

A person outside the caller's scope, or any person for a role that sees none, is 404.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import geopandas as gpd
import pandas as pd
import pyogrio
from fastapi import APIRouter, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from parcours import __version__
from parcours.api.access import ANY_ROLE, PUBLIC, allow
from parcours.api.schemas import (
    Aggregates,
    FeatureCollection,
    GeoJSONResponse,
    Health,
    IndicatorRecord,
    JobStarted,
    JobView,
    MatchAnswer,
    Me,
    PersonExport,
    PersonView,
    PlatformView,
    TerritoryView,
    UserView,
)
from parcours.api.web import page_language
from parcours.errors import ResultNotFoundError
from parcours.i18n import tr
from parcours.maps.exports import AREA_LAYERS
from parcours.service import people
from parcours.service.accounts import set_active
from parcours.service.audit import audit
from parcours.service.db import Database
from parcours.service.jobs import JobRunner, job_view
from parcours.service.matcher import Matcher
from parcours.service.models import Job, Platform, Role, StoredText, User
from parcours.service.security import Principal, create_user
from parcours.territories import Workspace

__all__ = ["DiagnosticRequest", "router", "territory_for"]


class ErrorBody(BaseModel):
    """An error: the message in the request's language and a stable code."""

    error: str
    code: str | None = None


#: What any route may answer besides its success (documented in the OpenAPI spec).
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Not logged in (no or unknown token)."},
    403: {"model": ErrorBody, "description": "The caller's role may not do this."},
    404: {"model": ErrorBody, "description": "Not found, or outside the caller's scope."},
}

router = APIRouter(responses=_ERRORS)

#: The same, for a route whose success has another media type (errors stay JSON).
_JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {
        **answer,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for code, answer in _ERRORS.items()
}

#: The largest database id (an integer column: larger values cannot exist); also bounds
#: offsets (larger ones would overflow the database's integers: a 500, not an empty page).
MAX_ID = 2**31 - 1
#: A database id.
Id = Annotated[int, FastPath(ge=1, le=MAX_ID)]

_LEVELS = {**AREA_LAYERS, "territory": "territory"}
ModeName = Literal["walk", "bike", "transit", "car"]
_TERRITORY_READERS = (Role.ADMIN, Role.PLANNER, Role.ADVISOR, Role.COMMITTEE)


def _all_modes() -> list[ModeName]:
    return ["walk", "bike", "transit", "car"]


class DiagnosticRequest(BaseModel):
    """A diagnostic to run."""

    territory: StoredText = Field(description="The territory's name in the workspace.")
    date: dt.date | None = Field(
        default=None, description="The study Tuesday (default: the first every feed serves)."
    )
    modes: list[ModeName] = Field(default_factory=_all_modes, min_length=1)
    lang: Literal["fr", "en"] = "fr"


class BatchRequest(BaseModel):
    """A batch match of the caller's platform."""

    week: dt.date | None = None


class StepInput(BaseModel):
    """A solution proposed to the person."""

    solution: StoredText = Field(min_length=1, max_length=200)
    note: StoredText = Field(default="", max_length=2000)


class StepChange(BaseModel):
    """A step moved on."""

    status: Literal["propose", "decide", "commence", "termine", "abandonne"]


class UserInput(BaseModel):
    """An account to create."""

    email: StoredText = Field(min_length=3, max_length=320)
    name: StoredText = Field(default="", max_length=200)
    password: StoredText = Field(min_length=1, max_length=1000)
    role: Role
    platform_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class UserChange(BaseModel):
    """An account enabled or disabled (disabling revokes its sessions and tokens)."""

    active: bool


class PlatformInput(BaseModel):
    """A platform and its territory."""

    name: StoredText = Field(min_length=1, max_length=200)
    territory: StoredText = Field(min_length=1, max_length=100)


def database_of(request: Request) -> Database:
    """The process's database."""
    database: Database = request.app.state.database
    return database


def workspace_of(request: Request) -> Workspace:
    """The process's workspace."""
    workspace: Workspace = request.app.state.workspace
    return workspace


def _not_found(name: str, what: str) -> ResultNotFoundError:
    return ResultNotFoundError(
        tr(f"{what} introuvable : « {name} »", f"{what} not found: '{name}'"), field="name"
    )


def territory_for(request: Request, principal: Principal, name: str) -> Path:
    """The folder of territory ``name`` if ``principal`` may read it (else 404)."""
    if principal.role not in (Role.ADMIN, Role.PLANNER) and principal.territory != name:
        raise _not_found(name, str(tr("territoire", "territory")))
    return workspace_of(request).open(name).path


def visible_territories(request: Request, principal: Principal) -> list[str]:
    """The territories ``principal`` may read."""
    names = workspace_of(request).names()
    if principal.role in (Role.ADMIN, Role.PLANNER):
        return list(names)
    return [n for n in names if n == principal.territory]


def _results_file(request: Request, principal: Principal, name: str, file: str) -> Path:
    path = territory_for(request, principal, name) / file
    if not path.exists():
        raise _not_found(
            name, str(tr("diagnostic (lancez-le d'abord)", "diagnostic (run it first)"))
        )
    return path


@router.get("/health", tags=["service"])
def health(_: Annotated[None, allow(PUBLIC)]) -> Health:
    """The service is up."""
    return Health(status="ok", version=__version__)


@router.get("/api/me", tags=["service"])
def me(principal: Annotated[Principal, allow(*ANY_ROLE)]) -> Me:
    """The caller: id, e-mail, role, platform, territory."""
    return Me(
        id=principal.user_id,
        email=principal.email,
        name=principal.name,
        role=principal.role,
        platform_id=principal.platform_id,
        territory=principal.territory,
    )


@router.get("/territories", tags=["diagnostic"])
def territories(
    request: Request, principal: Annotated[Principal, allow(*_TERRITORY_READERS)]
) -> list[TerritoryView]:
    """The territories the caller may read, and whether their diagnostic is done."""
    workspace = workspace_of(request)
    return [
        TerritoryView(name=name, diagnostic=(workspace.path_of(name) / "rapport.html").exists())
        for name in visible_territories(request, principal)
    ]


def _runner(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.runner
    return runner


def job_of(request: Request, principal: Principal, job_id: str) -> Job:
    """The job ``job_id`` if the caller may see it, else 404.

    Diagnostics: admins and planners; a batch match: its platform's advisors.
    """
    with database_of(request).session() as session:
        job = session.get(Job, job_id)
        visible = job is not None and (
            principal.role in (Role.ADMIN, Role.PLANNER)
            if job.kind == "diagnostic"
            else principal.role is Role.ADVISOR and job.platform_id == principal.platform_id
        )
        if job is None or not visible:
            raise _not_found(job_id, str(tr("tâche", "job")))
        return job


@router.post("/diagnostics", status_code=202, tags=["diagnostic"])
def start_diagnostic(
    request: Request,
    body: DiagnosticRequest,
    principal: Annotated[Principal, allow(Role.ADMIN, Role.PLANNER)],
) -> JobStarted:
    """Start a territory's diagnostic in the background (202, then poll ``status_url``)."""
    workspace_of(request).open(body.territory)  # an unknown territory is refused now
    params = body.model_dump(mode="json")
    job = _runner(request).submit(principal, "diagnostic", body.territory, params=params)
    return JobStarted(job_id=job.id, status_url=f"/diagnostics/{job.id}")


@router.get("/diagnostics/{job_id}", tags=["diagnostic"])
def diagnostic_status(
    request: Request,
    job_id: str,
    principal: Annotated[Principal, allow(Role.ADMIN, Role.PLANNER)],
) -> JobView:
    """Where a diagnostic job stands: status, step, percent, error, links."""
    return JobView(**job_view(job_of(request, principal, job_id)))


@router.post("/diagnostics/{job_id}/rerun", status_code=202, tags=["diagnostic"])
def rerun_diagnostic(
    request: Request,
    job_id: str,
    principal: Annotated[Principal, allow(Role.ADMIN, Role.PLANNER)],
) -> JobStarted:
    """Run a (failed) diagnostic job again."""
    job = _runner(request).rerun(principal, job_of(request, principal, job_id))
    return JobStarted(job_id=job.id, status_url=f"/diagnostics/{job.id}")


@router.get("/api/jobs/{job_id}", tags=["service"])
def job_status(
    request: Request,
    job_id: str,
    principal: Annotated[Principal, allow(Role.ADMIN, Role.PLANNER, Role.ADVISOR)],
) -> JobView:
    """Any job the caller may see (diagnostics: admins and planners; batch: the advisors)."""
    return JobView(**job_view(job_of(request, principal, job_id)))


@router.get(
    "/territories/{name}/indicators", tags=["diagnostic"], response_model=list[IndicatorRecord]
)
def indicators(
    request: Request,
    name: str,
    principal: Annotated[Principal, allow(*_TERRITORY_READERS)],
    level: Literal["commune", "epci", "employment_zone", "territory"] = Query("commune"),
) -> Response:
    """The published means of an area level, one record per area."""
    path = _results_file(request, principal, name, "diagnostic.gpkg")
    layer = _LEVELS[level]
    if layer not in {str(n) for n, _ in pyogrio.list_layers(path)}:
        raise _not_found(f"{name}/{level}", str(tr("niveau", "level")))
    frame = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
    records = pd.DataFrame(frame).to_json(orient="records", force_ascii=False)
    return Response(content=records, media_type="application/json")


@router.get(
    "/territories/{name}/cells.geojson",
    tags=["diagnostic"],
    response_model=FeatureCollection,
    response_class=GeoJSONResponse,
    responses=_JSON_ERRORS,
)
def cells(
    request: Request, name: str, principal: Annotated[Principal, allow(*_TERRITORY_READERS)]
) -> Response:
    """The published cells and their indicators (GeoJSON, WGS84)."""
    path = _results_file(request, principal, name, "diagnostic.gpkg")
    frame = gpd.read_file(path, layer="cells").to_crs(4326)
    return Response(
        content=frame.to_json(drop_id=True, to_wgs84=False), media_type="application/geo+json"
    )


@router.get("/territories/{name}/report", tags=["diagnostic"], response_class=FileResponse)
def report(
    request: Request, name: str, principal: Annotated[Principal, allow(*_TERRITORY_READERS)]
) -> FileResponse:
    """The diagnostic report (``rapport.html``, self-contained)."""
    return FileResponse(
        _results_file(request, principal, name, "rapport.html"), media_type="text/html"
    )


@router.get("/territories/{name}/maps", tags=["diagnostic"], response_class=RedirectResponse)
def maps(
    request: Request, name: str, principal: Annotated[Principal, allow(*_TERRITORY_READERS)]
) -> RedirectResponse:
    """The report's maps."""
    _results_file(request, principal, name, "rapport.html")
    return RedirectResponse(f"/territories/{name}/report#cartes")


def match_answer(
    request: Request, territory: str, file: Any, week: dt.date | None
) -> dict[str, Any]:
    """A person file matched on the territory's warm network (in a match process)."""
    matcher: Matcher = request.app.state.matcher
    return matcher.match(territory, file, week)


@router.post("/territories/{name}/match", tags=["matching"], response_model=MatchAnswer)
def match_person(
    request: Request,
    name: str,
    person: dict[str, Any],
    principal: Annotated[Principal, allow(Role.ADVISOR)],
    semaine: Annotated[dt.date | None, Query()] = None,
) -> dict[str, Any]:
    """Feasibility and plan for one person file (not kept: see ``/api/persons``)."""
    from parcours.matching.profile import person_from_mapping

    territory_for(request, principal, name)
    parsed = person_from_mapping(person, source="body")
    return match_answer(request, name, parsed, semaine)


# --------------------------------------------------------------------------- people

_PEOPLE = (Role.ADVISOR, Role.PRESCRIBER)


@router.get("/api/persons", tags=["people"], response_model=list[PersonView])
def list_people(
    request: Request,
    principal: Annotated[Principal, allow(*_PEOPLE)],
    q: StoredText = "",
    commune: StoredText = "",
    statut: StoredText = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[dict[str, Any]]:
    """The caller's caseload, searched by name or commune and filtered."""
    with database_of(request).session() as session:
        found = people.search_people(
            session, principal, q=q, commune=commune, status=statut, limit=limit, offset=offset
        )
        return [people.person_view(p, principal) for p in found]


@router.post("/api/persons", status_code=201, tags=["people"], response_model=PersonView)
def create_person(
    request: Request,
    body: people.PersonInput,
    principal: Annotated[Principal, allow(*_PEOPLE)],
) -> dict[str, Any]:
    """Open a person's file (the purpose and legal basis are required)."""
    with database_of(request).session() as session:
        person = people.create_person(session, principal, body)
        return people.person_view(person, principal)


@router.get("/api/persons/{person_id}", tags=["people"], response_model=PersonView)
def get_person(
    request: Request, person_id: Id, principal: Annotated[Principal, allow(*_PEOPLE, hide=True)]
) -> dict[str, Any]:
    """A person, as the caller may see them (health fields for advisors only)."""
    with database_of(request).session() as session:
        return people.person_view(people.get_person(session, principal, person_id), principal)


@router.put("/api/persons/{person_id}/profile", tags=["people"], response_model=PersonView)
def put_profile(
    request: Request,
    person_id: Id,
    body: dict[str, Any],
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
) -> dict[str, Any]:
    """A new person file (domicile, destinations, profil); the old one goes to history."""
    with database_of(request).session() as session:
        person = people.get_person(session, principal, person_id)
        return people.person_view(people.update_person(session, principal, person, body), principal)


@router.post("/api/persons/{person_id}/match", tags=["people"], response_model=MatchAnswer)
def match_stored(
    request: Request,
    person_id: Id,
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
    semaine: Annotated[dt.date | None, Query()] = None,
) -> dict[str, Any]:
    """Match the person on their platform's territory and keep the result."""
    database = database_of(request)
    with database.session() as session:
        file = people.person_file(people.get_person(session, principal, person_id))
    answer = match_answer(request, str(principal.territory), file, semaine)
    MatchAnswer.model_validate(answer)  # an answer the spec does not allow is not kept either
    with database.session() as session:
        person = people.get_person(session, principal, person_id)
        people.record_match(session, principal, person, answer)
    return answer


@router.get("/api/persons/{person_id}/export", tags=["people"], response_model=PersonExport)
def export_person(
    request: Request,
    person_id: Id,
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
) -> dict[str, Any]:
    """Everything kept about the person (right of access), as JSON."""
    with database_of(request).session() as session:
        return people.export_person(
            session, principal, people.get_person(session, principal, person_id)
        )


@router.delete("/api/persons/{person_id}", status_code=204, tags=["people"])
def erase_person(
    request: Request,
    person_id: Id,
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
) -> Response:
    """Erase the person and all their data (the audit entry stays, without the data)."""
    with database_of(request).session() as session:
        people.erase_person(session, principal, people.get_person(session, principal, person_id))
    return Response(status_code=204)


@router.post(
    "/api/persons/{person_id}/steps", status_code=201, tags=["people"], response_model=PersonView
)
def add_step(
    request: Request,
    person_id: Id,
    body: StepInput,
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
) -> dict[str, Any]:
    """Propose a solution (a new step of the parcours)."""
    with database_of(request).session() as session:
        person = people.get_person(session, principal, person_id)
        people.add_step(session, principal, person, body.solution, body.note)
        return people.person_view(person, principal)


@router.patch(
    "/api/persons/{person_id}/steps/{step_id}", tags=["people"], response_model=PersonView
)
def change_step(
    request: Request,
    person_id: Id,
    step_id: Id,
    body: StepChange,
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
) -> dict[str, Any]:
    """Move a step on (decided, started, done, dropped), dated."""
    with database_of(request).session() as session:
        person = people.get_person(session, principal, person_id)
        people.set_step_status(session, principal, person, step_id, body.status)
        return people.person_view(person, principal)


def start_batch_match(request: Request, principal: Principal, week: dt.date | None) -> Job:
    """The platform's batch match: the one queued or running, else a new one."""
    with database_of(request).session() as session:
        pending = session.scalar(
            select(Job)
            .where(
                Job.kind == "batch_match",
                Job.platform_id == principal.platform_id,
                Job.status.in_(("queued", "running")),
            )
            .order_by(Job.created_at.desc())
        )
    if pending is not None:
        return pending
    return _runner(request).submit(
        principal,
        "batch_match",
        str(principal.territory),
        platform_id=principal.platform_id,
        params={"week": week.isoformat() if week else None, "lang": page_language(request)},
    )


@router.post("/api/batch-matches", status_code=202, tags=["people"], response_model=JobStarted)
def batch_match(
    request: Request, body: BatchRequest, principal: Annotated[Principal, allow(Role.ADVISOR)]
) -> dict[str, str]:
    """Match every person of the caller's platform in the background.

    While one is queued or running, its id is returned instead of starting another.
    """
    job = start_batch_match(request, principal, body.week)
    return {"job_id": job.id, "status_url": f"/api/jobs/{job.id}"}


@router.get("/api/aggregates", tags=["people"], response_model=Aggregates)
def aggregates(
    request: Request, principal: Annotated[Principal, allow(Role.COMMITTEE, Role.ADVISOR)]
) -> dict[str, Any]:
    """The caseload of the caller's platform in groups of at least 11 people."""
    with database_of(request).session() as session:
        return people.caseload_aggregates(session, int(principal.platform_id or 0))


# --------------------------------------------------------------------------- admin


def _user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "platform_id": user.platform_id,
        "active": user.active,
    }


@router.get("/api/users", tags=["admin"], response_model=list[UserView])
def list_users(
    request: Request, _: Annotated[Principal, allow(Role.ADMIN)]
) -> list[dict[str, Any]]:
    """Every account."""
    with database_of(request).session() as session:
        return [_user_view(u) for u in session.scalars(select(User).order_by(User.id))]


def add_user(request: Request, principal: Principal, body: UserInput) -> User:
    """Create an account (admin)."""
    with database_of(request).session() as session:
        platform = session.get(Platform, body.platform_id) if body.platform_id else None
        if body.platform_id and platform is None:
            raise _not_found(str(body.platform_id), str(tr("plateforme", "platform")))
        user = create_user(
            session,
            email=body.email,
            name=body.name,
            password=body.password,
            role=body.role,
            platform=platform,
        )
        audit(
            session,
            principal,
            "user.created",
            object_type="user",
            object_id=user.id,
            role=user.role,
        )
        return user


@router.post("/api/users", status_code=201, tags=["admin"], response_model=UserView)
def create_user_route(
    request: Request, body: UserInput, principal: Annotated[Principal, allow(Role.ADMIN)]
) -> dict[str, Any]:
    """Create an account."""
    return _user_view(add_user(request, principal, body))


def change_user(request: Request, principal: Principal, user_id: int, body: UserChange) -> User:
    """Enable or disable an account (admin); one's own account stays enabled."""
    from parcours.errors import InputError

    with database_of(request).session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise _not_found(str(user_id), str(tr("compte", "account")))
        if user.id == principal.user_id and not body.active:
            raise InputError(
                tr(
                    "vous ne pouvez pas désactiver votre propre compte",
                    "you cannot disable your own account",
                ),
                field="active",
            )
        set_active(session, principal, user, body.active)
        return user


@router.patch("/api/users/{user_id}", tags=["admin"], response_model=UserView)
def change_user_route(
    request: Request,
    user_id: Id,
    body: UserChange,
    principal: Annotated[Principal, allow(Role.ADMIN)],
) -> dict[str, Any]:
    """Enable or disable an account: a disabled one can neither log in nor use a token."""
    return _user_view(change_user(request, principal, user_id, body))


@router.get("/api/platforms", tags=["admin"], response_model=list[PlatformView])
def list_platforms(
    request: Request, _: Annotated[Principal, allow(Role.ADMIN)]
) -> list[dict[str, Any]]:
    """Every platform and its territory."""
    with database_of(request).session() as session:
        return [
            {"id": p.id, "name": p.name, "territory": p.territory}
            for p in session.scalars(select(Platform).order_by(Platform.id))
        ]


def add_platform(request: Request, principal: Principal, body: PlatformInput) -> Platform:
    """Create a platform on a territory of the workspace (admin)."""
    workspace_of(request).open(body.territory)
    with database_of(request).session() as session:
        if session.scalar(select(Platform.id).where(Platform.name == body.name)) is not None:
            from parcours.errors import InputError

            raise InputError(
                tr(f"la plateforme « {body.name} » existe déjà", f"platform '{body.name}' exists"),
                field="name",
            )
        platform = Platform(name=body.name.strip(), territory=body.territory)
        session.add(platform)
        session.flush()
        audit(
            session,
            principal,
            "platform.created",
            object_type="platform",
            object_id=platform.id,
            platform_id=platform.id,
        )
        return platform


@router.post("/api/platforms", status_code=201, tags=["admin"], response_model=PlatformView)
def create_platform(
    request: Request, body: PlatformInput, principal: Annotated[Principal, allow(Role.ADMIN)]
) -> dict[str, Any]:
    """Create a platform."""
    platform = add_platform(request, principal, body)
    return {"id": platform.id, "name": platform.name, "territory": platform.territory}
