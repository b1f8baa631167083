"""The people a platform supports, and the CNIL rules on their data.

Scoped access, the profile and its history, matches, the parcours steps; the CNIL rules:
purpose, legal basis, retention, export, erasure, special-category fields, aggregates of
at least 11 people.

Every read goes through :func:`visible_people`: an advisor sees the people of their
platform, a prescriber those they referred, everyone else no one. A person outside that
scope is "not found" (404), never "forbidden": the answer does not tell that they exist.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session, selectinload, undefer

from parcours.errors import InputError, ResultNotFoundError
from parcours.i18n import tr
from parcours.matching import MIN_PEOPLE
from parcours.matching.profile import PersonFile, person_from_mapping
from parcours.service.audit import audit
from parcours.service.models import (
    AuditEntry,
    LegalBasis,
    MatchRecord,
    Person,
    ProfileVersion,
    Role,
    Step,
    StepStatus,
    StoredText,
    storable,
    utcnow,
)
from parcours.service.security import Principal

__all__ = [
    "DEFAULT_PURPOSE",
    "SPECIAL_FIELDS",
    "PersonInput",
    "PersonNotFoundError",
    "add_step",
    "caseload_aggregates",
    "caseload_communes",
    "caseload_rows",
    "create_person",
    "erase_person",
    "export_person",
    "get_person",
    "last_match",
    "person_file",
    "person_view",
    "purge",
    "record_match",
    "search_people",
    "set_step_status",
    "update_person",
    "visible_people",
]

#: The profile's health and disability answers: special-category data, advisors only.
SPECIAL_FIELDS = ("fauteuil_roulant", "mobilite_reduite")

DEFAULT_PURPOSE = (
    "Accompagnement vers la mobilité (diagnostic mobilité, parcours et suivi des solutions), "
    "référentiel CNIL 2021-028"
)

_STEP_DATES = {
    StepStatus.DECIDED: "decided_at",
    StepStatus.STARTED: "started_at",
    StepStatus.DONE: "done_at",
    StepStatus.DROPPED: "dropped_at",
}


class PersonInput(BaseModel):
    """A person as the form or the API gives it: identity, CNIL fields, the person file."""

    first_name: StoredText = Field(min_length=1, max_length=200)
    last_name: StoredText = Field(min_length=1, max_length=200)
    commune: StoredText = Field(default="", max_length=200)
    purpose: StoredText = Field(default=DEFAULT_PURPOSE, min_length=1)
    legal_basis: LegalBasis
    consent: bool = Field(default=False, description="Consent given (when the basis is consent).")
    person: dict[str, Any] = Field(description="domicile, destinations, profil (as the YAML).")

    @model_validator(mode="after")
    def _consent(self) -> PersonInput:
        if self.legal_basis is LegalBasis.CONSENT and not self.consent:
            raise ValueError(
                "le consentement de la personne doit être recueilli / consent must be recorded"
            )
        return self


def visible_people(principal: Principal) -> Select[Person]:
    """The people ``principal`` may see (a query to refine)."""
    query = select(Person)
    if principal.role is Role.ADVISOR:
        return query.where(Person.platform_id == principal.platform_id)
    if principal.role is Role.PRESCRIBER:
        return query.where(
            Person.platform_id == principal.platform_id,
            Person.referred_by_id == principal.user_id,
        )
    return query.where(false())


class PersonNotFoundError(ResultNotFoundError):
    """No such person in the caller's scope."""

    code = "person.not_found"


def get_person(session: Session, principal: Principal, person_id: int) -> Person:
    """The person ``person_id`` if ``principal`` may see them.

    Raises
    ------
    PersonNotFoundError
        When there is no such person or they are outside the caller's scope (404).
    """
    person = session.scalar(visible_people(principal).where(Person.id == person_id))
    if person is None:
        raise PersonNotFoundError(
            tr(f"personne introuvable : {person_id}", f"person not found: {person_id}"),
            field="person_id",
        )
    return person


def search_people(
    session: Session,
    principal: Principal,
    *,
    q: str = "",
    commune: str = "",
    status: str = "",
    limit: int = 200,
    offset: int = 0,
) -> list[Person]:
    """The caseload: the visible people matching a name or commune, filtered."""
    query = _filtered(visible_people(principal), q, commune, status)
    query = query.order_by(Person.last_contact_at.desc(), Person.id.desc())
    query = query.options(selectinload(Person.steps))
    return list(session.scalars(query.limit(limit).offset(offset)))


def _filtered(query: Select[Person], q: str, commune: str, status: str) -> Select[Person]:
    for word in q.split():
        like = f"%{word}%"
        query = query.where(
            or_(
                Person.first_name.ilike(like),
                Person.last_name.ilike(like),
                Person.commune.ilike(like),
            )
        )
    if commune:
        query = query.where(Person.commune == commune)
    if status:
        query = query.where(Person.status == status)
    return query


def caseload_rows(
    session: Session,
    principal: Principal,
    *,
    q: str = "",
    commune: str = "",
    status: str = "",
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The caseload list in one query: each person with their steps and match counts."""
    steps = select(func.count(Step.id)).where(Step.person_id == Person.id).scalar_subquery()
    matches = (
        select(func.count(MatchRecord.id))
        .where(MatchRecord.person_id == Person.id)
        .scalar_subquery()
    )
    people = _filtered(visible_people(principal), q, commune, status).subquery()
    query = (
        select(
            people.c.id,
            people.c.first_name,
            people.c.last_name,
            people.c.commune,
            people.c.status,
            people.c.last_contact_at,
        )
        .order_by(people.c.last_contact_at.desc(), people.c.id.desc())
        .limit(limit)
    )
    rows = session.execute(query).all()
    ids = [row.id for row in rows]
    counts = {}
    if ids:
        counted = select(Person.id, steps, matches).where(Person.id.in_(ids))
        counts = {pid: (n_steps, n_matches) for pid, n_steps, n_matches in session.execute(counted)}
    return [
        {
            "id": row.id,
            "name": f"{row.last_name.upper()} {row.first_name}",
            "commune": row.commune,
            "status": row.status,
            "last_contact": row.last_contact_at.date().isoformat(),
            "steps": counts.get(row.id, (0, 0))[0],
            "matched": counts.get(row.id, (0, 0))[1] > 0,
        }
        for row in rows
    ]


def caseload_communes(session: Session, principal: Principal) -> list[str]:
    """The communes of the visible people (for the caseload's filter)."""
    people = visible_people(principal).subquery()
    query = select(people.c.commune).distinct().where(people.c.commune != "")
    return sorted(str(c) for c in session.scalars(query))


def last_match(session: Session, person: Person) -> MatchRecord | None:
    """The person's latest match result (its answer loaded), None if never matched."""
    query = (
        select(MatchRecord)
        .where(MatchRecord.person_id == person.id)
        .order_by(MatchRecord.id.desc())
        .limit(1)
        .options(undefer(MatchRecord.answer))
    )
    return session.scalar(query)


def _split(person: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[Any], Any]:
    """Validate a person file; its profile without and with the special fields."""
    parsed = person_from_mapping(person, source="personne")
    data = parsed.model_dump(mode="json", exclude_none=True)
    _check_storable(data, "personne")
    profile = dict(data["profil"])
    special = {name: profile.pop(name) for name in SPECIAL_FIELDS if name in profile}
    return profile, special, data["destinations"], data["domicile"]


def _check_storable(value: Any, where: str) -> None:
    """Refuse, naming the field, a string of the person file no database can store."""
    if isinstance(value, str):
        try:
            storable(value)
        except ValueError as exc:
            raise InputError(f"{where} : {exc}") from None
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_storable(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_storable(item, f"{where}[{index}]")


def _home_of(domicile: Mapping[str, Any]) -> tuple[float, float] | None:
    if domicile.get("lon") is not None and domicile.get("lat") is not None:
        return float(domicile["lon"]), float(domicile["lat"])
    return None


def create_person(session: Session, principal: Principal, data: PersonInput) -> Person:
    """Record a person referred by a prescriber or opened by an advisor."""
    if principal.role not in (Role.ADVISOR, Role.PRESCRIBER) or principal.platform_id is None:
        raise InputError(
            tr(
                "seuls conseillers et prescripteurs ouvrent un dossier",
                "advisors and prescribers only",
            ),
            field="role",
        )
    profile, special, destinations, domicile = _split(data.person)
    now = utcnow()
    person = Person(
        platform_id=principal.platform_id,
        referred_by_id=principal.user_id if principal.role is Role.PRESCRIBER else None,
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        commune=data.commune.strip(),
        status=str(profile.get("statut", "")),
        address=str(domicile.get("adresse") or ""),
        home=_home_of(domicile),
        purpose=data.purpose.strip(),
        legal_basis=data.legal_basis.value,
        consent_at=now if data.consent else None,
        profile=profile,
        special=special,
        destinations=destinations,
        created_at=now,
        last_contact_at=now,
    )
    session.add(person)
    session.flush()
    session.add(
        ProfileVersion(
            person_id=person.id,
            by_user_id=principal.user_id,
            profile=profile,
            special=special,
            destinations=destinations,
        )
    )
    audit(
        session,
        principal,
        "person.created",
        object_type="person",
        object_id=person.id,
        legal_basis=person.legal_basis,
    )
    return person


def update_person(
    session: Session, principal: Principal, person: Person, new: Mapping[str, Any]
) -> Person:
    """A new profile or destinations: the old ones go to the history."""
    profile, special, destinations, domicile = _split(new)
    person.profile, person.special, person.destinations = profile, special, destinations
    person.status = str(profile.get("statut", ""))
    person.address = str(domicile.get("adresse") or "")
    person.home = _home_of(domicile)
    person.last_contact_at = utcnow()
    session.add(
        ProfileVersion(
            person_id=person.id,
            by_user_id=principal.user_id,
            profile=profile,
            special=special,
            destinations=destinations,
        )
    )
    audit(session, principal, "person.updated", object_type="person", object_id=person.id)
    return person


def person_file(person: Person) -> PersonFile:
    """The person file the matching reads (profile and special fields merged)."""
    domicile: dict[str, Any] = {}
    if person.home is not None:
        domicile = {"lon": person.home[0], "lat": person.home[1]}
    if person.address:
        domicile = {"adresse": person.address, **domicile}
    return person_from_mapping(
        {
            "domicile": domicile,
            "destinations": person.destinations,
            "profil": {**person.profile, **person.special},
            "id": f"p{person.id}",
        },
        source=f"personne {person.id}",
    )


def record_match(
    session: Session, principal: Principal, person: Person, answer: Mapping[str, Any]
) -> MatchRecord:
    """Keep a match result (and its home, once geocoded, as the person's point)."""
    feasible = any(
        option.get("verdict") == "faisable"
        for option in answer.get("options", [])
        if isinstance(option, Mapping)
    )
    record = MatchRecord(
        person_id=person.id, by_user_id=principal.user_id, answer=dict(answer), feasible=feasible
    )
    session.add(record)
    home = answer.get("domicile")
    if person.home is None and isinstance(home, Mapping) and home.get("lon") is not None:
        person.home = (float(home["lon"]), float(home["lat"]))
    person.last_contact_at = utcnow()
    session.flush()
    audit(session, principal, "person.matched", object_type="person", object_id=person.id)
    return record


def add_step(
    session: Session, principal: Principal, person: Person, solution: str, note: str = ""
) -> Step:
    """Propose a solution to the person (a new step of the parcours)."""
    solution = solution.strip()
    if not solution:
        raise InputError(tr("solution vide", "empty solution"), field="solution")
    step = Step(person_id=person.id, solution=solution[:200], note=note)
    session.add(step)
    person.last_contact_at = utcnow()
    session.flush()
    audit(
        session, principal, "step.proposed", object_type="step", object_id=step.id, person=person.id
    )
    return step


def set_step_status(
    session: Session, principal: Principal, person: Person, step_id: int, status: str
) -> Step:
    """Move a step on (decided, started, done, dropped), dating the change."""
    step = next((s for s in person.steps if s.id == step_id), None)
    if step is None:
        raise PersonNotFoundError(
            tr(f"étape introuvable : {step_id}", f"step not found: {step_id}"), field="step_id"
        )
    try:
        new = StepStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in StepStatus)
        raise InputError(
            tr(
                f"statut inconnu « {status} » (permis : {allowed})",
                f"unknown status '{status}' ({allowed})",
            ),
            field="status",
        ) from None
    step.status = new.value
    if new in _STEP_DATES and getattr(step, _STEP_DATES[new]) is None:
        setattr(step, _STEP_DATES[new], utcnow())
    person.last_contact_at = utcnow()
    audit(
        session,
        principal,
        "step.status",
        object_type="step",
        object_id=step.id,
        person=person.id,
        status=new.value,
    )
    return step


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def person_view(person: Person, principal: Principal) -> dict[str, Any]:
    """A person as shown to ``principal``: the special fields for advisors only."""
    profile = dict(person.profile)
    if principal.role is Role.ADVISOR:
        profile.update(person.special)
    return {
        "id": person.id,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "commune": person.commune,
        "status": person.status,
        "address": person.address,
        "home": list(person.home) if person.home is not None else None,
        "purpose": person.purpose,
        "legal_basis": person.legal_basis,
        "consent_at": _iso(person.consent_at),
        "created_at": _iso(person.created_at),
        "last_contact_at": _iso(person.last_contact_at),
        "profile": profile,
        "destinations": person.destinations,
        "steps": [_step_view(s) for s in person.steps],
    }


def _step_view(step: Step) -> dict[str, Any]:
    return {
        "id": step.id,
        "solution": step.solution,
        "status": step.status,
        "proposed_at": _iso(step.proposed_at),
        "decided_at": _iso(step.decided_at),
        "started_at": _iso(step.started_at),
        "done_at": _iso(step.done_at),
        "dropped_at": _iso(step.dropped_at),
        "note": step.note,
    }


def export_person(session: Session, principal: Principal, person: Person) -> dict[str, Any]:
    """Everything kept about one person (GDPR right of access), as JSON-able data."""
    view = person_view(person, principal)
    view["profile"] = {**person.profile, **person.special}
    view["special_category_fields"] = sorted(person.special)
    view["profile_history"] = [
        {"at": _iso(v.at), "profile": {**v.profile, **v.special}, "destinations": v.destinations}
        for v in person.versions
    ]
    records = session.scalars(
        select(MatchRecord)
        .where(MatchRecord.person_id == person.id)
        .order_by(MatchRecord.id)
        .options(undefer(MatchRecord.answer))
    )
    view["matches"] = [{"at": _iso(m.at), "answer": m.answer} for m in records]
    view["audit"] = [
        {"at": _iso(e.at), "action": e.action, "user_id": e.user_id}
        for e in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == "person", AuditEntry.object_id == str(person.id))
            .order_by(AuditEntry.id)
        )
    ]
    audit(session, principal, "person.exported", object_type="person", object_id=person.id)
    return view


def erase_person(
    session: Session, principal: Principal | None, person: Person, *, action: str = "person.erased"
) -> None:
    """Delete a person and all their data; the audit entry says so, without the data."""
    person_id, platform_id = person.id, person.platform_id
    session.delete(person)
    session.flush()
    audit(
        session,
        principal,
        action,
        object_type="person",
        object_id=person_id,
        platform_id=platform_id,
    )


def purge(
    session: Session, *, retention_days: int, now: dt.datetime | None = None, dry_run: bool = False
) -> list[int]:
    """Erase the people whose last contact is older than ``retention_days``; their ids."""
    limit = (now or utcnow()) - dt.timedelta(days=retention_days)
    expired = list(session.scalars(select(Person).where(Person.last_contact_at < limit)))
    ids = [p.id for p in expired]
    if not dry_run:
        for person in expired:
            erase_person(session, None, person, action="person.purged")
    return ids


def _secret(counts: Counter[str], other: str) -> list[dict[str, Any]]:
    """Groups of at least MIN_PEOPLE; the small ones pooled under ``other``.

    A pool under MIN_PEOPLE could be worked out from the published total, so the smallest
    groups join it until it reaches MIN_PEOPLE (or everything is pooled).
    """
    shown = sorted(((n, k) for k, n in counts.items() if n >= MIN_PEOPLE), reverse=True)
    pooled = sum(n for n in counts.values() if n < MIN_PEOPLE)
    while 0 < pooled < MIN_PEOPLE and shown:
        pooled += shown.pop()[0]
    groups = [{"group": k, "people": n} for n, k in sorted(shown, key=lambda g: g[1])]
    if pooled >= MIN_PEOPLE:
        groups.append({"group": other, "people": pooled})
    return groups


def caseload_aggregates(session: Session, platform_id: int) -> dict[str, Any]:
    """What a steering committee sees of a caseload: counts over at least 11 people."""
    mine = Person.platform_id == platform_id
    total = int(session.scalar(select(func.count(Person.id)).where(mine)) or 0)
    if total < MIN_PEOPLE:
        return {
            "people": None,
            "min_people": MIN_PEOPLE,
            "by_commune": [],
            "by_status": [],
            "steps": [],
            "feasible_share": None,
        }

    def counts(column: Any, *where: Any, join: Any = None) -> Counter[str]:
        query = select(column, func.count()).select_from(Person)
        if join is not None:
            query = query.join(join)
        query = query.where(mine, *where).group_by(column)
        return Counter({str(k if k else "?"): int(n) for k, n in session.execute(query)})

    latest = (
        select(func.max(MatchRecord.id))
        .join(Person, Person.id == MatchRecord.person_id)
        .where(mine)
        .group_by(MatchRecord.person_id)
    )
    outcomes = list(session.scalars(select(MatchRecord.feasible).where(MatchRecord.id.in_(latest))))
    return {
        "people": total,
        "min_people": MIN_PEOPLE,
        "by_commune": _secret(counts(Person.commune), str(tr("autres communes", "other communes"))),
        "by_status": _secret(
            counts(Person.status), str(tr("autres situations", "other situations"))
        ),
        "steps": _secret(counts(Step.status, join=Step), str(tr("autres", "other"))),
        "feasible_share": (sum(outcomes) / len(outcomes)) if len(outcomes) >= MIN_PEOPLE else None,
    }
