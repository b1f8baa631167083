"""The pages' plumbing: the request's language, Jinja2 templates, HTML or JSON errors."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from parcours.i18n import language, tr

__all__ = ["page_language", "render_page", "wants_html"]

LANG_COOKIE = "parcours_lang"


def page_language(request: Request) -> str:
    """``?lang=``, else the language cookie, else ``Accept-Language`` (French by default)."""
    wanted = (
        request.query_params.get("lang")
        or request.cookies.get(LANG_COOKIE)
        or request.headers.get("accept-language", "fr")
    )
    return "en" if wanted.lower().startswith("en") else "fr"


def wants_html(request: Request) -> bool:
    """A page (not an API call): not under ``/api`` and asked by a browser."""
    path = request.url.path
    if path.startswith(("/api/", "/territories", "/diagnostics", "/health", "/openapi")):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "POST"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("parcours.api", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["T"] = lambda fr, en: str(tr(fr, en))
    return env


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A page in the request's language, with the caller and their CSRF token."""
    lang = page_language(request)
    principal = getattr(request.state, "principal", None)
    values = {
        "lang": lang,
        "principal": principal,
        "csrf": principal.csrf if principal is not None else "",
        "path": request.url.path,
        **(context or {}),
    }
    with language(lang):
        html = _environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in ("fr", "en"):
        response.set_cookie(LANG_COOKIE, lang, httponly=True, samesite="lax")
    return response
