"""The service's tables (SQLAlchemy 2 declarative models; the schema is Alembic's).

What a platform keeps: its users, the people it supports (beneficiaries) with their
profile history, destinations and schedules, the match results, the parcours steps (what
it reports to its funders), the jobs, and an audit log that never holds personal data.
The territory layers stay in the GeoParquet workspace; a platform names its territory.

Special-category data (CNIL 2021-028, art. 9 GDPR): the health and disability answers
(wheelchair, reduced mobility) live in their own column, :attr:`Person.special`, that only
an advisor's views read.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, ClassVar

import shapely
from pydantic import AfterValidator
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import base as postgresql_base
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

__all__ = [
    "ApiToken",
    "AuditEntry",
    "AuthSession",
    "Base",
    "Job",
    "LegalBasis",
    "LoginFailure",
    "MatchRecord",
    "Person",
    "Platform",
    "Point",
    "ProfileVersion",
    "Role",
    "Step",
    "StepStatus",
    "StoredText",
    "User",
    "UtcDateTime",
    "storable",
    "utcnow",
]


def storable(value: str) -> str:
    """``value`` if both databases can store it, else a ValueError naming why."""
    if "\x00" in value:
        raise ValueError("caractère nul interdit / NUL character not allowed")
    return value


#: A string input the service stores or queries with: no NUL (PostgreSQL refuses it in
#: text; pydantic already refuses a lone surrogate).
StoredText = Annotated[str, AfterValidator(storable)]


def utcnow() -> dt.datetime:
    """Now, in UTC (every stored time is UTC)."""
    return dt.datetime.now(dt.UTC)


class Role(enum.StrEnum):
    """Who a user is (see DOMAIN.md)."""

    ADMIN = "admin"  #: runs the instance
    ADVISOR = "advisor"  #: a platform's mobility advisor
    PRESCRIBER = "prescriber"  #: France Travail, mission locale, social worker: refers people
    COMMITTEE = "committee"  #: steering committee: a territory's aggregates only
    PLANNER = "planner"  #: diagnostics and comparisons, no personal data


class LegalBasis(enum.StrEnum):
    """The GDPR legal basis recorded for a person (CNIL 2021-028)."""

    CONSENT = "consentement"
    PUBLIC_TASK = "mission_interet_public"
    CONTRACT = "contrat"
    LEGAL_OBLIGATION = "obligation_legale"


class StepStatus(enum.StrEnum):
    """Where a solution of the parcours stands."""

    PROPOSED = "propose"
    DECIDED = "decide"
    STARTED = "commence"
    DONE = "termine"
    DROPPED = "abandonne"


class _PostgisPoint(UserDefinedType[str]):
    cache_ok = True

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:  # reflection passes (Point, 4326)
        super().__init__()

    def get_col_spec(self, **kw: Any) -> str:
        return "geometry(Point,4326)"

    def bind_expression(self, bindvalue: Any) -> Any:
        return func.ST_GeomFromText(bindvalue, 4326, type_=self)


# reflected PostGIS columns (Alembic's comparison of the schema) are known as points
postgresql_base.ischema_names["geometry"] = _PostgisPoint


class Point(TypeDecorator[tuple[float, float]]):
    """A WGS84 point ``(lon, lat)``: PostGIS ``geometry(Point,4326)``, WKT text elsewhere."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PostgisPoint())
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        lon, lat = (float(v) for v in value)
        return f"POINT({lon!r} {lat!r})"

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[float, float] | None:
        if value is None:
            return None
        text = str(value).strip()
        if text.upper().startswith("POINT"):  # SQLite: the WKT written
            lon, lat = text[len("POINT(") : -1].split()
            return float(lon), float(lat)
        point = shapely.from_wkb(text)  # PostGIS: hex EWKB
        return float(point.x), float(point.y)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A UTC time, aware in Python on every database (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("aware datetimes only")
        return value.astimezone(dt.UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """The service's declarative base."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UtcDateTime(),
        dict[str, Any]: JSON,
        list[dict[str, Any]]: JSON,
    }


class Platform(Base):
    """A mobility platform: one territory of the workspace."""

    __tablename__ = "platforms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    territory: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    """An account: its role and, but for admins and planners, its platform."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    platform: Mapped[Platform | None] = relationship(lazy="joined")


class AuthSession(Base):
    """A logged-in browser: the cookie's hash, its CSRF token and its expiry."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]


class ApiToken(Base):
    """A bearer token for the API (only its hash is stored)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]


class LoginFailure(Base):
    """A failed login (the rate limit counts them per account and address)."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Person(Base):
    """A beneficiary: identity, home, destinations, current profile, purpose and legal basis."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"), index=True)
    referred_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    commune: Mapped[str] = mapped_column(String(200), default="")
    #: the profile's ``statut`` (a column, for the caseload's filter)
    status: Mapped[str] = mapped_column(String(40), default="", index=True)
    address: Mapped[str] = mapped_column(Text, default="")
    home: Mapped[tuple[float, float] | None] = mapped_column(Point())
    #: the purpose of the processing (CNIL 2021-028: recorded per person)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(String(40))
    consent_at: Mapped[dt.datetime | None]
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: the special-category answers (health, disability): advisors only
    special: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    destinations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_contact_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    steps: Mapped[list[Step]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="Step.id"
    )
    matches: Mapped[list[MatchRecord]] = relationship(
        cascade="all, delete-orphan", order_by="MatchRecord.id"
    )
    versions: Mapped[list[ProfileVersion]] = relationship(
        cascade="all, delete-orphan", order_by="ProfileVersion.id"
    )


class ProfileVersion(Base):
    """A past state of a person's profile and destinations (the profile history)."""

    __tablename__ = "profile_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    special: Mapped[dict[str, Any]] = mapped_column(JSON)
    destinations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class MatchRecord(Base):
    """A match result: the advisor's answer (options, verdicts, plan) at a date."""

    __tablename__ = "match_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the whole answer (options with their itineraries: large, loaded only when read)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    feasible: Mapped[bool] = mapped_column(Boolean, default=False)


class Step(Base):
    """A solution of the parcours and its dates (proposed, decided, started, done)."""

    __tablename__ = "steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    solution: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=StepStatus.PROPOSED.value)
    proposed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    done_at: Mapped[dt.datetime | None]
    dropped_at: Mapped[dt.datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")

    person: Mapped[Person] = relationship(back_populates="steps")


class Job(Base):
    """A background job (a diagnostic, a batch match): its state survives a restart."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    territory: Mapped[str] = mapped_column(String(100))
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    percent: Mapped[float] = mapped_column(Float, default=0.0)
    step: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    #: what a finished job reports (a batch match: people, matched, failed ids)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pid: Mapped[int | None] = mapped_column(Integer)
    #: the process that queued or runs it: ``host:pid:start time`` (see JobRunner.recover)
    runner: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class AuditEntry(Base):
    """Who did what to which object, when: ids and actions, never personal data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    platform_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
