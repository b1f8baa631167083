"""Who may call a route: every route of the app declares its rule with :func:`allow`.

``allow(Role.ADVISOR, ...)`` is a FastAPI dependency that finds the caller (a bearer token
``Authorization: Bearer pcs_...`` or the session cookie), checks the role, and, for a
state-changing request made with the cookie, the CSRF token (form field ``csrf`` or header
``X-CSRF-Token``). ``allow(PUBLIC)`` marks the few open routes. The tests walk the route
table and fail on a route without a rule (tests/test_service.py).

A wrong role on a route about a person answers 404 (``hide=True``), as a person outside
one's platform does: the answer never tells that a person exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from parcours.service.db import Database
from parcours.service.models import Role
from parcours.service.security import (
    Principal,
    check_csrf,
    principal_of_session,
    principal_of_token,
)
from parcours.service.settings import ServiceSettings

__all__ = [
    "ANY_ROLE",
    "PUBLIC",
    "SESSION_COOKIE",
    "Allow",
    "LoginRequired",
    "allow",
    "route_table",
    "rule_of",
]

SESSION_COOKIE: Final = "parcours_session"
PUBLIC: Final = "public"
ANY_ROLE: Final = tuple(Role)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No valid session or token (pages redirect to the login form; the API says 401)."""


@dataclass(frozen=True)
class Allow:
    """The rule of a route: the roles allowed, or :data:`PUBLIC`; ``hide``: 404, not 403."""

    roles: tuple[Role, ...] | str
    hide: bool = False

    async def __call__(self, request: Request) -> Principal | None:
        if self.roles == PUBLIC:
            return None
        database: Database = request.app.state.database
        settings: ServiceSettings = request.app.state.settings
        header = request.headers.get("authorization", "")
        principal: Principal | None = None
        by_cookie = False
        if header.lower().startswith("bearer "):
            token = header[7:].strip()

            def by_token() -> Principal | None:
                with database.session() as session:
                    return principal_of_token(session, token)

            principal = await run_in_threadpool(by_token)
        elif cookie := request.cookies.get(SESSION_COOKIE):
            by_cookie = True

            def by_session() -> Principal | None:
                with database.session() as session:
                    return principal_of_session(session, cookie, hours=settings.session_hours)

            principal = await run_in_threadpool(by_session)
        if principal is None:
            raise LoginRequired()
        if principal.role not in self.roles:
            if self.hide:
                raise HTTPException(status_code=404, detail="not found")
            raise HTTPException(status_code=403, detail="forbidden")
        if by_cookie and request.method not in _SAFE_METHODS:
            given = request.headers.get("x-csrf-token")
            if given is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                given = str((await request.form()).get("csrf") or "")
            if not check_csrf(principal.csrf, given):
                raise HTTPException(status_code=403, detail="CSRF token missing or wrong")
        request.state.principal = principal
        return principal


def allow(*roles: Role | str, hide: bool = False) -> Any:
    """The dependency of a route's rule (``allow(PUBLIC)`` for an open route)."""
    if roles == (PUBLIC,):
        return Depends(Allow(PUBLIC))
    return Depends(Allow(tuple(Role(r) for r in roles), hide=hide))


def route_table(app: Any) -> list[Any]:
    """Every route of ``app``, those of included routers too (as their routers hold them)."""
    table: list[Any] = []
    stack = list(reversed(app.routes))
    while stack:
        route = stack.pop()
        inner = getattr(route, "original_router", None)  # an included router
        if inner is not None:
            stack.extend(reversed(inner.routes))
        else:
            table.append(route)
    return table


def rule_of(route: Any) -> Allow | None:
    """The :class:`Allow` rule among a route's dependencies (None if it has none)."""
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Allow):
            return dep.call
        stack.extend(dep.dependencies)
    return None
