"""The French (and English) pages: login, advisor, committee, planner, admin.

Server-rendered Jinja2 templates (``parcours/api/templates``), the session cookie
(HttpOnly, SameSite=Lax, Secure behind TLS) and a CSRF token in every form. The pages
call the same functions as the JSON API (:mod:`parcours.service`); they hold no rule of
their own.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from parcours.api.access import ANY_ROLE, PUBLIC, SESSION_COOKIE, allow
from parcours.api.routes import (
    DiagnosticRequest,
    Id,
    PlatformInput,
    UserChange,
    UserInput,
    add_platform,
    add_user,
    change_user,
    database_of,
    job_of,
    match_answer,
    start_batch_match,
    visible_territories,
    workspace_of,
)
from parcours.api.web import page_language, render_page
from parcours.errors import InputError, ParcoursError
from parcours.i18n import tr
from parcours.maps.labels import VERDICT_LABELS, label
from parcours.maps.report import COMPARED
from parcours.matching.profile import questionnaire
from parcours.service import people
from parcours.service.audit import audit
from parcours.service.jobs import job_view
from parcours.service.models import Job, LegalBasis, Platform, Role, StepStatus, User
from parcours.service.security import Principal, login, logout, new_session

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_HOME = {
    Role.ADVISOR: "/personnes",
    Role.PRESCRIBER: "/personnes",
    Role.COMMITTEE: "/comite",
    Role.PLANNER: "/planification",
    Role.ADMIN: "/admin",
}

_LEGAL_BASES = {
    LegalBasis.CONSENT: ("Consentement de la personne", "The person's consent"),
    LegalBasis.PUBLIC_TASK: ("Mission d'intérêt public", "Task in the public interest"),
    LegalBasis.CONTRACT: ("Exécution d'un contrat", "Performance of a contract"),
    LegalBasis.LEGAL_OBLIGATION: ("Obligation légale", "Legal obligation"),
}

_STEP_LABELS = {
    StepStatus.PROPOSED: ("Proposée", "Proposed"),
    StepStatus.DECIDED: ("Décidée", "Decided"),
    StepStatus.STARTED: ("Commencée", "Started"),
    StepStatus.DONE: ("Terminée", "Done"),
    StepStatus.DROPPED: ("Abandonnée", "Dropped"),
}


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "?"


# --------------------------------------------------------------------------- login


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, _: Annotated[None, allow(PUBLIC)], next: str = "/"
) -> HTMLResponse:
    """The login form."""
    return render_page(request, "login.html", {"next": _safe_next(next), "error": None})


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    _: Annotated[None, allow(PUBLIC)],
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password (rate-limited) and open a session."""
    settings = request.app.state.settings
    try:
        with database_of(request).session() as session:
            user = login(
                session,
                email,
                password,
                client=_client(request),
                attempts=settings.login_attempts,
                window_min=settings.login_window_min,
            )
            token, _csrf = new_session(session, user, hours=settings.session_hours)
            audit(
                session,
                None,
                "user.login",
                object_type="user",
                object_id=user.id,
                platform_id=user.platform_id,
            )
    except InputError as exc:
        status = 429 if exc.code == "auth.limited" else 401
        return render_page(
            request,
            "login.html",
            {"next": _safe_next(next), "error": exc.render(page_language(request))},
            status_code=status,
        )
    response = _see_other(_safe_next(next))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=int(settings.session_hours * 3600),
        path="/",
    )
    return response


@router.post("/logout")
def logout_submit(request: Request, _: Annotated[Principal, allow(*ANY_ROLE)]) -> RedirectResponse:
    """Close the session."""
    with database_of(request).session() as session:
        logout(session, request.cookies.get(SESSION_COOKIE, ""))
    response = _see_other("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/favicon.ico")
def favicon(_: Annotated[None, allow(PUBLIC)]) -> Response:
    """No icon (browsers ask for one on every page)."""
    return Response(status_code=204)


@router.get("/")
def home(principal: Annotated[Principal, allow(*ANY_ROLE)]) -> RedirectResponse:
    """Each role's first page."""
    return _see_other(_HOME[principal.role])


# --------------------------------------------------------------------------- advisor

_PEOPLE = (Role.ADVISOR, Role.PRESCRIBER)


@router.get("/personnes", response_class=HTMLResponse)
def caseload(
    request: Request,
    principal: Annotated[Principal, allow(*_PEOPLE)],
    q: str = "",
    commune: str = "",
    statut: str = "",
) -> HTMLResponse:
    """The caseload: search by name or commune, filter by commune and situation."""
    with database_of(request).session() as session:
        rows = people.caseload_rows(session, principal, q=q, commune=commune, status=statut)
        communes = people.caseload_communes(session, principal)
    statuses = _choices("statut")
    return render_page(
        request,
        "people.html",
        {
            "rows": rows,
            "q": q,
            "commune": commune,
            "statut": statut,
            "communes": communes,
            "statuses": statuses,
            "advisor": principal.role is Role.ADVISOR,
        },
    )


@router.post("/personnes/appariement")
def caseload_match(
    request: Request, principal: Annotated[Principal, allow(Role.ADVISOR)]
) -> RedirectResponse:
    """Match every person of the platform in the background and show the job's progress.

    While one is queued or running, the button leads to it instead of starting another.
    """
    job = start_batch_match(request, principal, None)
    return _see_other(f"/personnes/appariement/{job.id}")


@router.get("/personnes/appariement/{job_id}", response_class=HTMLResponse)
def caseload_match_job(
    request: Request, job_id: str, principal: Annotated[Principal, allow(Role.ADVISOR)]
) -> HTMLResponse:
    """A batch match's progress (the page polls ``/api/jobs/{job_id}``) and its summary."""
    view = job_view(job_of(request, principal, job_id))
    failed = []
    with database_of(request).session() as session:
        for entry in view["summary"].get("failed", []):
            try:
                person = people.get_person(session, principal, int(entry["id"]))
            except people.PersonNotFoundError:  # erased since
                continue
            failed.append(
                {
                    "id": person.id,
                    "name": f"{person.first_name} {person.last_name}",
                    "field": entry.get("field") or "",
                }
            )
    return render_page(request, "job.html", {"job": view, "failed": failed})


def _choices(field: str) -> dict[str, str]:
    lang = "en"
    for section in questionnaire()["sections"]:
        for question in section["questions"]:
            if question["champ"] == field:
                from parcours.i18n import get_language

                lang = str(get_language())
                return {k: v[lang if lang in v else "fr"] for k, v in question["valeurs"].items()}
    return {}


def _form_sections(principal: Principal) -> list[dict[str, Any]]:
    """The questionnaire's sections (the health one for advisors only)."""
    from parcours.i18n import get_language

    lang = "en" if str(get_language()) == "en" else "fr"
    sections = []
    for section in questionnaire()["sections"]:
        questions = section["questions"]
        special = any(q["champ"] in people.SPECIAL_FIELDS for q in questions)
        if special and principal.role is not Role.ADVISOR:
            continue
        sections.append(
            {
                "title": section["titre"][lang],
                "note": section.get("note", {}).get(lang),
                "questions": [
                    {
                        "field": q["champ"],
                        "id": "f-" + q["champ"].replace(".", "-"),
                        "text": q[lang],
                        "type": q["type"],
                        "values": {k: v[lang] for k, v in q.get("valeurs", {}).items()},
                    }
                    for q in questions
                ],
            }
        )
    return sections


def _new_context(principal: Principal, values: dict[str, Any], error: str | None) -> dict[str, Any]:
    from parcours.i18n import get_language

    lang = "en" if str(get_language()) == "en" else "fr"
    return {
        "sections": _form_sections(principal),
        "bases": {k.value: v[1 if lang == "en" else 0] for k, v in _LEGAL_BASES.items()},
        "purpose": people.DEFAULT_PURPOSE,
        "values": values,
        "error": error,
        "motives": ["emploi", "formation", "entretien", "stage", "demarche", "sante", "autre"],
    }


@router.get("/personnes/nouvelle", response_class=HTMLResponse)
def new_person_form(
    request: Request, principal: Annotated[Principal, allow(*_PEOPLE)]
) -> HTMLResponse:
    """The "test mobilité" form."""
    return render_page(request, "person_new.html", _new_context(principal, {}, None))


def _number(text: str, kind: str) -> int | float:
    return int(text) if kind == "entier" else float(text.replace(",", "."))


def person_from_form(form: dict[str, str], principal: Principal) -> people.PersonInput:
    """The form's answers as a :class:`~parcours.service.people.PersonInput`."""
    profile: dict[str, Any] = {}
    for section in _form_sections(principal):
        for q in section["questions"]:
            raw = form.get("p." + q["field"], "").strip()
            if raw == "":
                continue
            if q["type"] == "oui_non":
                value: Any = raw == "oui"
            elif q["type"] in ("entier", "nombre"):
                try:
                    value = _number(raw, q["type"])
                except ValueError:
                    raise InputError(
                        tr(
                            f"« {q['text']} » : nombre attendu, pas « {raw} »",
                            f"'{q['text']}': a number expected, not '{raw}'",
                        ),
                        field=q["field"],
                    ) from None
            else:
                value = raw
            head, _, tail = q["field"].partition(".")
            if tail:
                profile.setdefault(head, {})[tail] = value
            else:
                profile[head] = value

    def place(prefix: str) -> dict[str, Any]:
        address = form.get(f"{prefix}adresse", "").strip()
        lon, lat = form.get(f"{prefix}lon", "").strip(), form.get(f"{prefix}lat", "").strip()
        out: dict[str, Any] = {}
        if address:
            out["adresse"] = address
        if lon or lat:
            try:
                out["lon"], out["lat"] = float(lon.replace(",", ".")), float(lat.replace(",", "."))
            except ValueError:
                raise InputError(
                    tr(
                        "longitude et latitude : nombres attendus",
                        "longitude and latitude: numbers",
                    ),
                    field=f"{prefix}lon",
                ) from None
        return out

    destination = {
        **place("d."),
        "nom": form.get("d.nom", "").strip(),
        "motif": form.get("d.motif", "emploi"),
        "horaires": form.get("d.horaires", "").strip(),
    }
    return people.PersonInput(
        first_name=form.get("first_name", ""),
        last_name=form.get("last_name", ""),
        commune=form.get("commune", ""),
        purpose=form.get("purpose", "") or people.DEFAULT_PURPOSE,
        legal_basis=form.get("legal_basis", ""),  # type: ignore[arg-type]
        consent=form.get("consent") == "oui",
        person={"domicile": place("h."), "destinations": [destination], "profil": profile},
    )


@router.post("/personnes", response_class=HTMLResponse)
async def create_person(
    request: Request, principal: Annotated[Principal, allow(*_PEOPLE)]
) -> Response:
    """Open a file from the form (the answers kept and the errors shown when refused)."""
    from pydantic import ValidationError

    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf"}

    def create() -> int:
        data = person_from_form(form, principal)
        with database_of(request).session() as session:
            return people.create_person(session, principal, data).id

    try:
        person_id = await run_in_threadpool(create)
    except (InputError, ValidationError) as exc:
        lang = page_language(request)
        if isinstance(exc, ValidationError):
            from parcours.matching.profile import pydantic_message

            message = pydantic_message(exc, None)
        else:
            message = exc.render(lang)
        return render_page(
            request, "person_new.html", _new_context(principal, form, message), status_code=422
        )
    return _see_other(f"/personnes/{person_id}")


def _options_table(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The verdicts, the days with the same verdict and reason grouped ("du lundi au ...")."""
    from parcours.maps.labels import OPTION_MODE_LABELS
    from parcours.maps.plan import group_days

    groups: dict[tuple[Any, ...], list[str]] = {}
    for option in answer.get("options", []):
        key = (
            option.get("destination", ""),
            option.get("trajet", ""),
            option.get("mode", ""),
            option.get("verdict", ""),
            option.get("raison", ""),
        )
        groups.setdefault(key, []).append(str(option.get("jour", "")))
    order = {"faisable": 0, "faisable_avec_solution": 1, "infaisable": 2}
    rows = [
        {
            "destination": destination,
            "direction": direction,
            "mode": str(OPTION_MODE_LABELS.get(mode, mode)),
            "verdict": verdict,
            "verdict_label": str(VERDICT_LABELS.get(verdict, verdict)),
            "reason": reason,
            "days": group_days(days),
        }
        for (destination, direction, mode, verdict, reason), days in groups.items()
    ]
    rows.sort(
        key=lambda r: (r["destination"], r["direction"] != "aller", order.get(r["verdict"], 3))
    )
    return rows


def _profile_rows(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """The profile's answers under their questions ("Oui"/"Non" for yes-no)."""
    from parcours.i18n import get_language

    lang = "en" if str(get_language()) == "en" else "fr"
    rows = []
    for section in questionnaire()["sections"]:
        for q in section["questions"]:
            head, _, tail = q["champ"].partition(".")
            value = profile.get(head)
            if tail:
                value = value.get(tail) if isinstance(value, dict) else None
            if value is None:
                continue
            if isinstance(value, bool):
                shown = str(tr("Oui", "Yes")) if value else str(tr("Non", "No"))
            elif q["type"] == "choix":
                shown = q.get("valeurs", {}).get(value, {}).get(lang, str(value))
            else:
                shown = str(value)
            rows.append(
                {"question": q[lang], "answer": shown, "special": head in people.SPECIAL_FIELDS}
            )
    return rows


@router.get("/personnes/{person_id}", response_class=HTMLResponse)
def person_page(
    request: Request, person_id: Id, principal: Annotated[Principal, allow(*_PEOPLE, hide=True)]
) -> HTMLResponse:
    """A person: profile, match result (verdicts and reasons), plan, parcours steps."""
    with database_of(request).session() as session:
        person = people.get_person(session, principal, person_id)
        view = people.person_view(person, principal)
        last = people.last_match(session, person)
        answer = last.answer if last is not None else None
        matched_at = last.at.strftime("%d/%m/%Y %H:%M") if last is not None else None
    from parcours.i18n import get_language

    lang = "en" if str(get_language()) == "en" else "fr"
    return render_page(
        request,
        "person.html",
        {
            "person": view,
            "options": _options_table(answer) if answer else [],
            "profile_rows": _profile_rows(view["profile"]),
            "plan": (answer or {}).get("plan"),
            "matched_at": matched_at,
            "advisor": principal.role is Role.ADVISOR,
            "step_labels": {k.value: v[1 if lang == "en" else 0] for k, v in _STEP_LABELS.items()},
            "special_fields": people.SPECIAL_FIELDS,
        },
    )


@router.post("/personnes/{person_id}/match")
def person_match(
    request: Request,
    person_id: Id,
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
) -> RedirectResponse:
    """Match the person now and keep the result."""
    database = database_of(request)
    with database.session() as session:
        file = people.person_file(people.get_person(session, principal, person_id))
    answer = match_answer(request, str(principal.territory), file, None)
    with database.session() as session:
        people.record_match(
            session, principal, people.get_person(session, principal, person_id), answer
        )
    return _see_other(f"/personnes/{person_id}#resultat")


@router.get("/personnes/{person_id}/plan", response_class=HTMLResponse)
def person_plan(
    request: Request,
    person_id: Id,
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
) -> HTMLResponse:
    """The printable plan of the last match (with the sketch of the itinerary)."""
    from parcours.maps.plan import render_plan

    answer = _last_answer(request, principal, person_id)
    return HTMLResponse(render_plan(answer, lang=page_language(request)))


def _last_answer(request: Request, principal: Principal, person_id: int) -> dict[str, Any]:
    """The person's last stored match answer (404 when none yet)."""
    with database_of(request).session() as session:
        person = people.get_person(session, principal, person_id)
        last = people.last_match(session, person)
        if last is None:
            raise people.PersonNotFoundError(
                tr("pas encore d'appariement pour cette personne", "no match for this person yet"),
                field="person_id",
            )
        return dict(last.answer)


@router.get("/personnes/{person_id}/carte", response_class=HTMLResponse)
def person_map(
    request: Request,
    person_id: Id,
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
) -> HTMLResponse:
    """The map of the last match's recommended ways (shown in the person's page)."""
    from parcours.maps import itinerary_map

    answer = _last_answer(request, principal, person_id)
    return HTMLResponse(itinerary_map(answer, lang=page_language(request)))


@router.post("/personnes/{person_id}/etapes")
def person_add_step(
    request: Request,
    person_id: Id,
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
    solution: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Propose a solution (a step of the parcours)."""
    with database_of(request).session() as session:
        person = people.get_person(session, principal, person_id)
        people.add_step(session, principal, person, solution, note)
    return _see_other(f"/personnes/{person_id}#parcours")


@router.post("/personnes/{person_id}/etapes/{step_id}")
def person_step_status(
    request: Request,
    person_id: Id,
    step_id: Id,
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
    status: Annotated[str, Form()],
) -> RedirectResponse:
    """Move a step on."""
    with database_of(request).session() as session:
        person = people.get_person(session, principal, person_id)
        people.set_step_status(session, principal, person, step_id, status)
    return _see_other(f"/personnes/{person_id}#parcours")


@router.get("/personnes/{person_id}/export")
def person_export(
    request: Request,
    person_id: Id,
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
) -> JSONResponse:
    """Download everything kept about the person (JSON)."""
    with database_of(request).session() as session:
        data = people.export_person(
            session, principal, people.get_person(session, principal, person_id)
        )
    return JSONResponse(
        data, headers={"Content-Disposition": f'attachment; filename="personne-{person_id}.json"'}
    )


@router.post("/personnes/{person_id}/effacer")
def person_erase(
    request: Request,
    person_id: Id,
    principal: Annotated[Principal, allow(Role.ADVISOR, hide=True)],
    confirm: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Erase the person (the form asks to confirm)."""
    if confirm != "oui":
        raise InputError(
            tr("cochez la confirmation pour effacer", "tick the confirmation to erase"),
            field="confirm",
        )
    with database_of(request).session() as session:
        people.erase_person(session, principal, people.get_person(session, principal, person_id))
    return _see_other("/personnes")


# --------------------------------------------------------------------------- committee


@router.get("/comite", response_class=HTMLResponse)
def committee(
    request: Request, principal: Annotated[Principal, allow(Role.COMMITTEE)]
) -> HTMLResponse:
    """The committee's page: the diagnostic report and the caseload's aggregates."""
    name = str(principal.territory)
    folder = workspace_of(request).path_of(name)
    with database_of(request).session() as session:
        figures = people.caseload_aggregates(session, int(principal.platform_id or 0))
    return render_page(
        request,
        "committee.html",
        {
            "territory": name,
            "has_report": (folder / "rapport.html").exists(),
            "figures": figures,
            "step_labels": {k.value: v[0] for k, v in _STEP_LABELS.items()},
        },
    )


# --------------------------------------------------------------------------- planner


def _territory_row(folder: Path) -> dict[str, str]:
    table = folder / "tables" / "territory.csv"
    if not table.exists():
        return {}
    with table.open(encoding="utf-8") as handle:
        return next(csv.DictReader(handle), {})


def _comparison(request: Request, names: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    workspace = workspace_of(request)
    rows = {name: _territory_row(workspace.path_of(name)) for name in names}
    done = [n for n in names if rows[n]]
    table = []
    for key in COMPARED:
        values = [rows[n].get(key, "") for n in done]
        if not any(values):
            continue
        shown = []
        for value in values:
            try:
                number = float(value)
            except ValueError:
                shown.append("—")
                continue
            shown.append(f"{number:.1%}" if "share" in key else f"{number:,.0f}".replace(",", " "))
        table.append({"key": key, "label": label(key), "values": shown})
    return done, table


@router.get("/planification", response_class=HTMLResponse)
def planner(
    request: Request, principal: Annotated[Principal, allow(Role.PLANNER, Role.ADMIN)]
) -> HTMLResponse:
    """Territories, their comparison, diagnostics to start and their progress."""
    names = visible_territories(request, principal)
    done, table = _comparison(request, names)
    with database_of(request).session() as session:
        jobs = list(
            session.scalars(
                select(Job)
                .where(Job.kind == "diagnostic")
                .order_by(Job.created_at.desc())
                .limit(20)
            )
        )
        recent = [
            {
                "id": j.id,
                "territory": j.territory,
                "status": j.status,
                "percent": round(j.percent),
                "step": j.step,
                "error": j.error,
                "created": j.created_at.strftime("%d/%m %H:%M"),
            }
            for j in jobs
        ]
    return render_page(
        request,
        "planner.html",
        {"territories": names, "compared": done, "table": table, "jobs": recent},
    )


@router.post("/planification/diagnostic")
def planner_start(
    request: Request,
    principal: Annotated[Principal, allow(Role.PLANNER, Role.ADMIN)],
    territory: Annotated[str, Form()],
) -> RedirectResponse:
    """Start a territory's diagnostic and show its progress."""
    workspace_of(request).open(territory)
    body = DiagnosticRequest(territory=territory, lang=page_language(request))  # type: ignore[arg-type]
    job = request.app.state.runner.submit(
        principal, "diagnostic", territory, params=body.model_dump(mode="json")
    )
    return _see_other(f"/planification/taches/{job.id}")


@router.get("/planification/taches/{job_id}", response_class=HTMLResponse)
def planner_job(
    request: Request, job_id: str, principal: Annotated[Principal, allow(Role.PLANNER, Role.ADMIN)]
) -> HTMLResponse:
    """A diagnostic job's progress (the page polls ``/api/jobs/{job_id}``)."""
    return render_page(request, "job.html", {"job": job_view(job_of(request, principal, job_id))})


# --------------------------------------------------------------------------- admin


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, principal: Annotated[Principal, allow(Role.ADMIN)]) -> HTMLResponse:
    """Users and roles, platforms, solution catalogues."""
    return _admin_page(request, None, None)


def _admin_page(
    request: Request, error: str | None, done: str | None, status: int = 200
) -> HTMLResponse:
    with database_of(request).session() as session:
        platforms = list(session.scalars(select(Platform).order_by(Platform.id)))
        users = list(session.scalars(select(User).order_by(User.id)))
        names = {p.id: p.name for p in platforms}
        context = {
            "platforms": [
                {"id": p.id, "name": p.name, "territory": p.territory} for p in platforms
            ],
            "users": [
                {
                    "id": u.id,
                    "email": u.email,
                    "name": u.name,
                    "role": u.role,
                    "platform": names.get(u.platform_id or -1, ""),
                    "active": u.active,
                }
                for u in users
            ],
            "roles": [r.value for r in Role],
            "territories": workspace_of(request).names(),
            "error": error,
            "done": done,
        }
    return render_page(request, "admin.html", context, status_code=status)


@router.post("/admin/utilisateurs", response_class=HTMLResponse)
def admin_add_user(
    request: Request,
    principal: Annotated[Principal, allow(Role.ADMIN)],
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    platform_id: Annotated[str, Form()] = "",
) -> Response:
    """Create an account."""
    try:
        body = UserInput(
            email=email,
            name=name,
            password=password,
            role=role,  # type: ignore[arg-type]
            platform_id=int(platform_id) if platform_id else None,
        )
        add_user(request, principal, body)
    except (InputError, ValueError) as exc:
        message = exc.render(page_language(request)) if isinstance(exc, ParcoursError) else str(exc)
        return _admin_page(request, message, None, status=422)
    return _see_other("/admin")


@router.post("/admin/utilisateurs/{user_id}/actif", response_class=HTMLResponse)
def admin_user_active(
    request: Request,
    user_id: Id,
    principal: Annotated[Principal, allow(Role.ADMIN)],
    active: Annotated[Literal["0", "1"], Form()],
) -> Response:
    """Disable an account (``active=0``: its sessions and tokens revoked) or enable it."""
    try:
        change_user(request, principal, user_id, UserChange(active=active == "1"))
    except InputError as exc:
        return _admin_page(request, exc.render(page_language(request)), None, status=422)
    return _see_other("/admin")


@router.post("/admin/plateformes", response_class=HTMLResponse)
def admin_add_platform(
    request: Request,
    principal: Annotated[Principal, allow(Role.ADMIN)],
    name: Annotated[str, Form()],
    territory: Annotated[str, Form()],
) -> Response:
    """Create a platform."""
    try:
        add_platform(request, principal, PlatformInput(name=name, territory=territory))
    except InputError as exc:
        return _admin_page(request, exc.render(page_language(request)), None, status=422)
    return _see_other("/admin")


@router.post("/admin/plateformes/{platform_id}/catalogue", response_class=HTMLResponse)
async def admin_catalogue(
    request: Request,
    platform_id: Id,
    principal: Annotated[Principal, allow(Role.ADMIN)],
    file: UploadFile,
) -> Response:
    """Upload a platform's solution catalogue (YAML or CSV); its errors are shown."""
    from parcours.matching import store_catalogue

    content = await file.read()
    suffix = Path(file.filename or "catalogue.yaml").suffix.lower() or ".yaml"
    if suffix not in (".yaml", ".yml", ".csv"):
        return _admin_page(
            request,
            str(tr("catalogue : fichier .yaml ou .csv attendu", "catalogue: a .yaml or .csv file")),
            None,
            status=422,
        )

    def store() -> str:
        with database_of(request).session() as session:
            platform = session.get(Platform, platform_id)
            if platform is None:
                raise people.PersonNotFoundError(
                    tr(
                        f"plateforme introuvable : {platform_id}",
                        f"platform not found: {platform_id}",
                    ),
                    field="platform_id",
                )
            territory = platform.territory
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{Path(file.filename or 'catalogue').stem}{suffix}"
            path.write_bytes(content)
            catalogue = store_catalogue(workspace_of(request), territory, path)
        with database_of(request).session() as session:
            audit(
                session,
                principal,
                "catalogue.loaded",
                object_type="platform",
                object_id=platform_id,
                platform_id=platform_id,
                solutions=len(catalogue.solutions),
            )
        return str(
            tr(
                f"catalogue chargé : {len(catalogue.solutions)} solutions",
                f"catalogue loaded: {len(catalogue.solutions)} solutions",
            )
        )

    try:
        done = await run_in_threadpool(store)
    except InputError as exc:
        return _admin_page(request, exc.render(page_language(request)), None, status=422)
    return _admin_page(request, None, done)
