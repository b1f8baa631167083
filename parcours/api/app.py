"""The platform service: ``create_app(settings)`` builds the FastAPI app.

Advisors work on their caseload, the steering committee reads the diagnostic and the
caseload's aggregates, planners run diagnostics and compare territories, admins manage
users, platforms and catalogues. The state is in a database (SQLite in ``PARCOURS_HOME``
by default, PostgreSQL + PostGIS by ``PARCOURS_DATABASE_URL``, see
:mod:`parcours.service.settings`); the territory layers stay in the workspace.

The JSON API (:mod:`parcours.api.routes`, documented at ``/docs``) takes a bearer token
(``parcours user token EMAIL``) or the session cookie; the French pages
(:mod:`parcours.api.pages`) take the cookie and a CSRF token on every form. Each route's
rule is declared with :func:`parcours.api.access.allow`.

The lifespan opens and migrates the database, marks failed the jobs a previous process
left unfinished, and starts the match processes (:class:`parcours.service.matcher.Matcher`),
which load the networks of the platforms' territories once and keep them for every request.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy import select
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parcours import __version__
from parcours.api.access import LoginRequired
from parcours.api.web import page_language, render_page, wants_html
from parcours.errors import ParcoursError, outcome
from parcours.i18n import language, tr
from parcours.service.db import open_database
from parcours.service.jobs import JobRunner
from parcours.service.matcher import Matcher
from parcours.service.models import Platform
from parcours.service.settings import ServiceSettings
from parcours.service.works import job_works
from parcours.territories import Workspace

__all__ = ["app_from_environment", "create_app"]

_LOG = logging.getLogger(__name__)


def _settings_of(home: Path | str | ServiceSettings | None) -> ServiceSettings:
    if isinstance(home, ServiceSettings):
        return home
    if home is not None:
        return ServiceSettings(home=Path(home))
    return ServiceSettings()


#: Headers on every answer: no MIME sniffing, no referrer outside the service, pages framed
#: only by the service itself (the person's map is), forms posted only to it.
_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (
        b"content-security-policy",
        b"frame-ancestors 'self'; form-action 'self'; base-uri 'self'; object-src 'none'",
    ),
)


class SecurityHeaders:
    """ASGI middleware: :data:`_SECURITY_HEADERS` on every HTTP answer.

    And ``Cache-Control: no-store`` on all but the static files: pages and answers may
    hold personal data, and a shared computer's browser cache keeps no copy of them.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(("/static/", "/static-offline-docs/"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not static:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers + list(_SECURITY_HEADERS)}
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(
    settings: ServiceSettings | Path | str | None = None, *, warm: bool = True
) -> FastAPI:
    """The parcours service (``settings``, or a workspace folder, or the environment's).

    Parameters
    ----------
    settings
        The service's settings; a path is taken as ``PARCOURS_HOME``.
    warm
        Load the platforms' networks in the match processes at start-up.
    """
    settings = _settings_of(settings)
    workspace = Workspace(settings.home)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = open_database(settings.url)
        matcher = Matcher(settings.home, settings.match_processes)
        runner = JobRunner(database, job_works(workspace, matcher, database))
        runner.recover()
        app.state.database = database
        app.state.runner = runner
        app.state.matcher = matcher
        if warm:
            with database.session() as session:
                names = sorted(set(session.scalars(select(Platform.territory))))
            matcher.warm([n for n in names if n in workspace.names()])
        try:
            yield
        finally:
            runner.shutdown()
            matcher.shutdown()
            database.dispose()

    # FastAPI's /docs fetches Swagger UI from a CDN: fastapi-offline serves the same page
    # with the files of its package (/static-offline-docs). No /redoc: ReDoc's page
    # fetches its logo from cdn.redoc.ly.
    app = FastAPIOffline(
        redoc_url=None,
        title="parcours",
        version=__version__,
        lifespan=lifespan,
        description=str(
            tr(
                "Service des plateformes de mobilité : file active, test mobilité, "
                "faisabilité des trajets, diagnostic territorial. Authentification par "
                "jeton (Authorization: Bearer) ou cookie de session.",
                "Mobility platforms' service: caseload, mobility assessment, commute "
                "feasibility, territorial diagnostic. Bearer token or session cookie.",
            )
        ),
    )
    app.state.settings = settings
    app.state.workspace = workspace

    app.add_middleware(SecurityHeaders)
    static = resources.files("parcours.api").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    from parcours.api import pages, routes

    app.include_router(routes.router)
    app.include_router(pages.router)
    _error_handlers(app)
    return app


def app_from_environment() -> FastAPI:
    """The app of the ``PARCOURS_*`` settings (uvicorn's factory for ``--workers``)."""
    return create_app(ServiceSettings())


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ParcoursError)
    async def _parcours_error(request: Request, exc: ParcoursError) -> Response:
        found = outcome(exc)
        status = found.http_status if found is not None else 500
        lang = page_language(request)
        message = exc.render(lang)
        if wants_html(request):
            return render_page(request, "error.html", {"message": message}, status_code=status)
        return JSONResponse(
            status_code=status, content={"error": message, "code": getattr(exc, "code", None)}
        )

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        lang = page_language(request)
        with language(lang):
            message = str(tr("connexion requise", "login required"))
        return JSONResponse(
            status_code=401,
            content={"error": message, "code": "auth.required"},
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        lang = page_language(request)
        with language(lang):
            messages = {
                403: str(tr("accès refusé", "forbidden")),
                404: str(tr("page introuvable", "not found")),
                405: str(tr("méthode non permise", "method not allowed")),
            }
            message = messages.get(exc.status_code, str(exc.detail))
            if "CSRF" in str(exc.detail):
                message = str(
                    tr(
                        "formulaire expiré ou invalide : rechargez la page",
                        "form expired or invalid: reload the page",
                    )
                )
        if wants_html(request):
            return render_page(
                request, "error.html", {"message": message}, status_code=exc.status_code
            )
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": message, "code": f"http.{exc.status_code}"},
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DataError)
    async def _refused(request: Request, exc: DataError) -> Response:
        # A value the database refuses (a safety net behind the input types): the
        # request's fault, not the service's; logged for the operator.
        _LOG.warning("value refused by the database on %s: %s", request.url.path, exc.orig)
        lang = page_language(request)
        with language(lang):
            message = str(
                tr("valeur refusée par la base de données", "value refused by the database")
            )
        if wants_html(request):
            return render_page(request, "error.html", {"message": message}, status_code=422)
        return JSONResponse(status_code=422, content={"error": message, "code": "db.data"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors: list[dict[str, Any]] = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        if wants_html(request):
            text = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
            return render_page(request, "error.html", {"message": text}, status_code=422)
        return JSONResponse(status_code=422, content={"detail": errors})
