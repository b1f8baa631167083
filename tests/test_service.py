"""The platform service on SQLite and on PostgreSQL + PostGIS: accounts, access, people.

Each test runs on both databases (``.ci/postgres`` starts the PostgreSQL server in CI). The
access tests are generated from the app's route table: a new route without a rule, or
with a rule that lets a person of platform A be read from platform B, fails here.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import socket
import subprocess
import sys
import time
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
from fastapi import FastAPI
from fastapi.routing import APIRoute
from servicekit import (
    ACCOUNTS,
    BACKENDS,
    PASSWORD,
    PERSON,
    Instance,
    database_url,
    email_of,
    running,
    seed,
    service_env,
    workspace_copy,
)

from parcours.api import create_app
from parcours.api.access import PUBLIC, route_table, rule_of
from parcours.errors import InputError
from parcours.service import ServiceSettings, open_database
from parcours.service.jobs import process_identity
from parcours.service.models import AuditEntry, Job, Person, Platform, utcnow

#: FastAPI's own documentation routes (public by design, no personal data).
DOCS_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect"}


@pytest.fixture(scope="module", params=BACKENDS)
def instance(
    request: pytest.FixtureRequest,
    demo_loaded: tuple[Any, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Instance]:
    folder = tmp_path_factory.mktemp(f"service-{request.param}")
    home = workspace_copy(demo_loaded[0].home, folder / "home")
    with database_url(request.param, folder) as url:
        yield seed(ServiceSettings(home=home, database_url=url))


@pytest.fixture(scope="module")
def client(instance: Instance) -> Iterator[httpx.Client]:
    with running(instance.settings) as http:
        yield http


def _new_person(
    client: httpx.Client, instance: Instance, who: str, last_name: str, **extra: Any
) -> dict[str, Any]:
    body = {
        "first_name": "Léa",
        "last_name": last_name,
        "commune": extra.pop("commune", "Montclerval"),
        "legal_basis": "consentement",
        "consent": True,
        "person": extra.pop("person", PERSON),
        **extra,
    }
    answer = client.post("/api/persons", json=body, headers=instance.headers(who))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


# --------------------------------------------------------------------------- routes


def routes_without_rule(app: FastAPI) -> list[str]:
    """The app's routes that declare no :func:`~parcours.api.access.allow` rule."""
    missing = []
    for route in route_table(app):
        if isinstance(route, APIRoute) and route.path not in DOCS_ROUTES and rule_of(route) is None:
            missing.append(f"{sorted(route.methods)} {route.path}")
    return missing


def test_every_route_declares_its_rule(tmp_path: Path) -> None:
    app = create_app(ServiceSettings(home=tmp_path), warm=False)
    assert routes_without_rule(app) == []
    public = {
        route.path
        for route in route_table(app)
        if isinstance(route, APIRoute) and (rule := rule_of(route)) and rule.roles == PUBLIC
    }
    assert public == {"/health", "/login", "/favicon.ico"}

    @app.get("/api/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    assert routes_without_rule(app) == ["['GET'] /api/forgotten"]


def _person_routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in route_table(app) if isinstance(r, APIRoute) and "{person_id}" in r.path]


#: A valid body for each route that takes one (so that a 404 is the rule, not the body).
def _body(method: str, path: str) -> dict[str, Any]:
    if path.endswith("/steps/{step_id}"):
        return {"json": {"status": "decide"}}
    if path.endswith("/steps"):
        return {"json": {"solution": "velo-ecole"}}
    if path.endswith("/profile"):
        return {"json": PERSON}
    if path.endswith("/etapes/{step_id}"):
        return {"data": {"status": "decide"}}
    if path.endswith("/etapes"):
        return {"data": {"solution": "velo-ecole"}}
    if path.endswith("/effacer"):
        return {"data": {"confirm": "oui"}}
    return {}


def test_no_person_of_another_platform_by_id_search_or_export(
    client: httpx.Client, instance: Instance
) -> None:
    app = create_app(instance.settings, warm=False)
    person = _new_person(client, instance, "prescriber_a", "Idorova")
    pid = person["id"]
    step = client.post(
        f"/api/persons/{pid}/steps",
        json={"solution": "velo-ecole"},
        headers=instance.headers("advisor_a"),
    ).json()["steps"][0]["id"]
    routes = _person_routes(app)
    assert len(routes) == 15, [r.path for r in routes]  # 8 API routes, 7 pages
    outsiders = [
        "advisor_b",
        "prescriber_b",
        "prescriber2_a",
        "committee_a",
        "committee_b",
        "planner",
        "admin",
    ]
    for route in routes:
        for method in route.methods:
            url = route.path.replace("{person_id}", str(pid)).replace("{step_id}", str(step))
            for who in outsiders:
                answer = client.request(
                    method, url, headers=instance.headers(who), **_body(method, route.path)
                )
                assert answer.status_code == 404, (who, method, url, answer.status_code)
                assert "Idorova" not in answer.text
    # by search, API and page
    for who in outsiders[:3]:
        found = client.get("/api/persons", params={"q": "Idorova"}, headers=instance.headers(who))
        assert found.status_code == 200 and found.json() == [], who
        page = client.get("/personnes", params={"q": "Idorova"}, headers=instance.headers(who))
        assert page.status_code == 200 and f'href="/personnes/{pid}"' not in page.text, who
        assert "Aucune personne ne correspond" in page.text
    for who in ("committee_a", "planner", "admin"):
        assert client.get("/api/persons", headers=instance.headers(who)).status_code == 403
    # the owners see them: the advisor of A, the prescriber who referred
    for who in ("advisor_a", "prescriber_a"):
        found = client.get("/api/persons", params={"q": "idorova"}, headers=instance.headers(who))
        assert [p["id"] for p in found.json()] == [pid], who
        assert client.get(f"/personnes/{pid}", headers=instance.headers(who)).status_code == 200
    for route in routes:  # every person route works for the advisor (erasure last)
        for method in route.methods:
            if route.path.endswith(("/effacer", "{person_id}")) and method in ("POST", "DELETE"):
                continue
            url = route.path.replace("{person_id}", str(pid)).replace("{step_id}", str(step))
            if url.endswith(("/plan", "/carte")):
                continue  # need a match first (tested in the match test)
            answer = client.request(
                method, url, headers=instance.headers("advisor_a"), **_body(method, route.path)
            )
            assert answer.status_code in (200, 201, 303), (method, url, answer.text[:300])


def test_territories_and_jobs_are_scoped(client: httpx.Client, instance: Instance) -> None:
    database = open_database(instance.settings.url)
    with database.session() as session:
        for job_id, kind, platform in (
            ("a" * 32, "batch_match", instance.platforms["A"]),
            ("d" * 32, "diagnostic", None),
        ):
            if session.get(Job, job_id) is None:
                session.add(
                    Job(
                        id=job_id,
                        kind=kind,
                        territory="demo",
                        platform_id=platform,
                        status="failed",
                        error="test",
                    )
                )
    database.dispose()
    assert (
        client.get("/api/jobs/" + "a" * 32, headers=instance.headers("advisor_a")).status_code
        == 200
    )
    for who in ("advisor_b", "committee_a", "prescriber_a"):
        status = client.get("/api/jobs/" + "a" * 32, headers=instance.headers(who)).status_code
        assert status in (403, 404), who
    assert (
        client.get("/diagnostics/" + "d" * 32, headers=instance.headers("planner")).status_code
        == 200
    )
    assert (
        client.get("/api/jobs/" + "d" * 32, headers=instance.headers("advisor_a")).status_code
        == 404
    )
    # the committee of B (territory "autre") reads nothing of territory demo
    for path in (
        "/territories/demo/report",
        "/territories/demo/indicators",
        "/territories/demo/cells.geojson",
        "/territories/demo/maps",
    ):
        assert client.get(path, headers=instance.headers("committee_b")).status_code == 404, path
    assert [
        t["name"]
        for t in client.get("/territories", headers=instance.headers("committee_b")).json()
    ] == []
    assert [
        t["name"]
        for t in client.get("/territories", headers=instance.headers("committee_a")).json()
    ] == ["demo"]
    assert (
        client.post(
            "/territories/demo/match", json=PERSON, headers=instance.headers("advisor_b")
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/diagnostics", json={"territory": "demo"}, headers=instance.headers("advisor_a")
        ).status_code
        == 403
    )
    assert client.get("/api/users", headers=instance.headers("planner")).status_code == 403
    assert client.get("/api/users", headers=instance.headers("admin")).status_code == 200


# --------------------------------------------------------------------------- accounts


def test_login_session_cookie_csrf_and_rate_limit(client: httpx.Client, instance: Instance) -> None:
    base = str(client.base_url)
    with httpx.Client(base_url=base, timeout=60) as browser:
        assert browser.get("/personnes", headers={"accept": "text/html"}).status_code == 303
        assert browser.get("/api/persons").status_code == 401
        answer = browser.post("/login", data={"email": email_of("advisor_a"), "password": PASSWORD})
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
        page = browser.get("/personnes/nouvelle")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        form = {
            "first_name": "Sans",
            "last_name": "Jeton",
            "legal_basis": "mission_interet_public",
            "h.lon": "2.999",
            "h.lat": "46.504",
            "d.nom": "Entrepôt",
            "d.lon": "3.07352",
            "d.lat": "46.48161",
            "d.horaires": "lun-ven 08:00-12:00",
            "p.age": "40",
            "p.statut": "rsa",
        }
        refused = browser.post("/personnes", data=form)
        assert refused.status_code == 403 and "formulaire" in refused.text
        saved = browser.post("/personnes", data={**form, "csrf": csrf.group(1)})
        assert saved.status_code == 303 and saved.headers["location"].startswith("/personnes/")
        # a refused form keeps the answers and names the field
        bad = browser.post("/personnes", data={**form, "csrf": csrf.group(1), "p.age": "7"})
        assert bad.status_code == 422 and "age" in bad.text and 'value="Jeton"' in bad.text
        assert browser.post("/logout", data={"csrf": csrf.group(1)}).status_code == 303
        assert browser.get("/api/persons").status_code == 401
    with httpx.Client(base_url=base, timeout=60) as attacker:
        email = email_of("committee_a")
        for _ in range(5):
            wrong = attacker.post("/login", data={"email": email, "password": "pas-le-bon-mot"})
            assert wrong.status_code == 401 and "incorrect" in wrong.text
        limited = attacker.post("/login", data={"email": email, "password": PASSWORD})
        assert limited.status_code == 429 and "trop d'essais" in html.unescape(limited.text)
    assert client.get("/api/me", headers={"Authorization": "Bearer pcs_nope"}).status_code == 401
    me = client.get("/api/me", headers=instance.headers("committee_b")).json()
    assert me["role"] == "committee" and me["territory"] == "autre"


def test_an_admin_disables_and_enables_an_account(client: httpx.Client, instance: Instance) -> None:
    """A disabled account (an advisor leaving) can neither log in nor use its token or its
    open session; enabled again, its old token stays revoked."""
    admin = instance.headers("admin")
    made = client.post(
        "/api/users",
        json={
            "email": "depart@exemple.fr",
            "password": PASSWORD,
            "role": "advisor",
            "platform_id": instance.platforms["A"],
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    user_id = made.json()["id"]
    database = open_database(instance.settings.url)
    with database.session() as session:
        from parcours.service.models import User
        from parcours.service.security import issue_api_token

        user = session.get(User, user_id)
        assert user is not None
        token = {"Authorization": f"Bearer {issue_api_token(session, user, 'test')}"}
    assert client.get("/api/persons", headers=token).status_code == 200
    base = str(client.base_url)
    with httpx.Client(base_url=base, timeout=60) as browser:
        login = {"email": "depart@exemple.fr", "password": PASSWORD}
        assert browser.post("/login", data=login).status_code == 303
        assert browser.get("/api/persons").status_code == 200
        # only an admin changes an account; an admin cannot disable their own
        for who in ("advisor_a", "planner"):
            refused = client.patch(
                f"/api/users/{user_id}", json={"active": False}, headers=instance.headers(who)
            )
            assert refused.status_code == 403, who
        own = client.patch(
            f"/api/users/{instance.users['admin']}", json={"active": False}, headers=admin
        )
        assert own.status_code == 422 and "propre compte" in own.text
        assert (
            client.patch("/api/users/999999", json={"active": False}, headers=admin).status_code
            == 404
        )
        # disabled from the admin page: a cookie session needs the form's CSRF token
        with httpx.Client(base_url=base, timeout=60) as admin_browser:
            signed = admin_browser.post(
                "/login", data={"email": email_of("admin"), "password": PASSWORD}
            )
            assert signed.status_code == 303
            forged = admin_browser.post(
                f"/admin/utilisateurs/{user_id}/actif", data={"active": "0"}
            )
            assert forged.status_code == 403
        odd = client.post(
            f"/admin/utilisateurs/{user_id}/actif", data={"active": "2"}, headers=admin
        )
        assert odd.status_code == 422
        assert client.get("/api/persons", headers=token).status_code == 200  # still enabled
        page = client.get("/admin", headers=admin).text
        assert f'action="/admin/utilisateurs/{user_id}/actif"' in page
        assert f'action="/admin/utilisateurs/{instance.users["admin"]}/actif"' not in page
        off = client.post(
            f"/admin/utilisateurs/{user_id}/actif", data={"active": "0"}, headers=admin
        )
        assert off.status_code == 303, off.text
        assert client.get("/api/persons", headers=token).status_code == 401
        assert browser.get("/api/persons").status_code == 401  # the open session is closed
        assert browser.post("/login", data=login).status_code == 401
        assert "désactivé" in client.get("/admin", headers=admin).text
        on = client.patch(f"/api/users/{user_id}", json={"active": True}, headers=admin)
        assert on.status_code == 200 and on.json()["active"] is True
        assert client.get("/api/persons", headers=token).status_code == 401
        assert browser.post("/login", data=login).status_code == 303
    with database.session() as session:
        actions = list(
            session.scalars(
                sqlalchemy.select(AuditEntry.action)
                .where(AuditEntry.object_type == "user", AuditEntry.object_id == str(user_id))
                .order_by(AuditEntry.id)
            )
        )
    database.dispose()
    assert [a for a in actions if a != "user.login"] == [
        "user.created",
        "user.disabled",
        "user.enabled",
    ]


def test_answers_carry_security_headers(client: httpx.Client, instance: Instance) -> None:
    """No sniffing, no framing by another site, no cached copy of a page of personal data."""
    adv = instance.headers("advisor_a")
    for path in ("/personnes", "/api/persons", "/login", "/nulle-part"):
        answer = client.get(path, headers=adv)
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["x-frame-options"] == "SAMEORIGIN", path
        assert "frame-ancestors 'self'" in answer.headers["content-security-policy"], path
        assert answer.headers["referrer-policy"] == "same-origin", path
        assert answer.headers.get_list("cache-control") == ["no-store"], path
    static = client.get("/static/job.js")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")
    assert static.headers["x-content-type-options"] == "nosniff"


# --------------------------------------------------------------------------- people


def test_special_category_fields_are_for_advisors_only(
    client: httpx.Client, instance: Instance
) -> None:
    person = _new_person(client, instance, "prescriber_a", "Santé")
    assert (
        "mobilite_reduite" not in person["profile"] and "fauteuil_roulant" not in person["profile"]
    )
    seen = client.get(f"/api/persons/{person['id']}", headers=instance.headers("advisor_a")).json()
    assert seen["profile"]["mobilite_reduite"] is True
    page = client.get(f"/personnes/{person['id']}", headers=instance.headers("prescriber_a"))
    assert "mobilite_reduite" not in page.text
    form = client.get("/personnes/nouvelle", headers=instance.headers("prescriber_a"))
    assert "fauteuil" not in form.text
    assert (
        "fauteuil" in client.get("/personnes/nouvelle", headers=instance.headers("advisor_a")).text
    )
    database = open_database(instance.settings.url)
    with database.session() as session:
        row = session.get(Person, person["id"])
        assert row is not None and row.special == {
            "fauteuil_roulant": False,
            "mobilite_reduite": True,
        }
        assert "mobilite_reduite" not in row.profile
        if database.is_postgresql:  # PostGIS holds the home as a point in WGS84
            srid, lon = session.execute(
                sqlalchemy.text("SELECT ST_SRID(home), ST_X(home) FROM people WHERE id = :i"),
                {"i": person["id"]},
            ).one()
            assert srid == 4326 and lon == pytest.approx(2.999)
        assert row.home == pytest.approx((2.999, 46.504))
    database.dispose()


def test_values_no_database_can_store_are_refused(client: httpx.Client, instance: Instance) -> None:
    """Found by schemathesis: an id past the integer column and a NUL byte (PostgreSQL
    refuses it in text) were 500s; they are the caller's 422s and nothing is stored."""
    admin, adv = instance.headers("admin"), instance.headers("advisor_a")
    database = open_database(instance.settings.url)
    with database.session() as session:
        before = session.scalar(sqlalchemy.select(sqlalchemy.func.count()).select_from(Person))
    too_big = {"email": "x@example.org", "password": "pw", "role": "advisor"}
    answer = client.post("/api/users", json={**too_big, "platform_id": 2**75}, headers=admin)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][-1] == "platform_id"
    body = {
        "first_name": "L\x00a",
        "last_name": "Nul",
        "legal_basis": "mission_interet_public",
        "person": PERSON,
    }
    answer = client.post("/api/persons", json=body, headers=adv)
    assert answer.status_code == 422 and "NUL" in answer.text
    lone = json.dumps({**body, "first_name": "\ud800"})  # ASCII: the escape of a lone surrogate
    answer = client.post(
        "/api/persons", content=lone, headers={**adv, "Content-Type": "application/json"}
    )
    assert answer.status_code == 422 and "first_name" in answer.text
    found = client.get("/api/persons", params={"q": "L\x00"}, headers=adv)
    assert found.status_code == 422
    step = client.post("/api/persons/1/steps", json={"solution": "v\x00lo"}, headers=adv)
    assert step.status_code == 422
    with database.session() as session:
        after = session.scalar(sqlalchemy.select(sqlalchemy.func.count()).select_from(Person))
    assert after == before
    pid = _new_person(client, instance, "advisor_a", "Nul")["id"]
    name = {**PERSON["destinations"][0], "nom": "E\x00"}
    changed = client.put(
        f"/api/persons/{pid}/profile", json={**PERSON, "destinations": [name]}, headers=adv
    )
    assert changed.status_code == 422, changed.text
    assert "personne.destinations[0].nom" in changed.json()["error"]
    assert client.get("/territories/a%00b/summary", headers=adv).status_code == 404
    database.dispose()


#: Integers no database column holds (PostgreSQL's and SQLite's are 64-bit at most).
PAST_THE_DATABASE = (370821880026950553602430599168, 2**63, 2**31, -1)
#: The account that may call a route of each rule (the first allowed).
CALLERS = ("advisor_a", "admin", "planner", "committee_a", "prescriber_a")


def _int_params(route: APIRoute) -> list[tuple[str, str]]:
    """(where, name) of a route's integer path and query parameters."""
    found = []
    for where, params in (
        ("path", route.dependant.path_params),
        ("query", route.dependant.query_params),
    ):
        for param in params:
            annotation = param.field_info.annotation
            if annotation is int or int in typing.get_args(annotation):
                found.append((where, param.name))
    return found


def test_integers_past_the_database_are_refused_everywhere(
    client: httpx.Client, instance: Instance
) -> None:
    """Found by schemathesis: ``GET /api/persons?offset=370821880026950553602430599168``
    was a 500. Every integer parameter of the API and the pages, from the route table,
    is bounded in the schema: values no column holds are the caller's 422."""
    app = create_app(instance.settings, warm=False)
    checked = []
    for route in route_table(app):
        if not isinstance(route, APIRoute) or not (params := _int_params(route)):
            continue
        rule = rule_of(route)
        assert rule is not None
        who = next(w for w in CALLERS if ACCOUNTS[w][0] in {r.value for r in rule.roles})
        method = sorted(route.methods)[0]
        for _where, name in params:
            for value in PAST_THE_DATABASE:
                path = route.path
                query = {}
                for other_where, other in params:
                    number = value if other == name else 1
                    if other_where == "path":
                        path = path.replace("{" + other + "}", str(number))
                    else:
                        query[other] = number
                answer = client.request(
                    method,
                    path,
                    params=query,
                    headers=instance.headers(who),
                    **_body(method, route.path),
                )
                assert answer.status_code == 422, (
                    method,
                    path,
                    query,
                    answer.status_code,
                    answer.text[:300],
                )
            checked.append(f"{method} {route.path} {name}")
    assert "GET /api/persons offset" in checked and "GET /api/persons limit" in checked
    assert "PATCH /api/persons/{person_id}/steps/{step_id} step_id" in checked
    assert any(c.startswith("GET /personnes/{person_id}") for c in checked)  # a page


def test_match_plan_steps_export_erase(client: httpx.Client, instance: Instance) -> None:
    adv = instance.headers("advisor_a")
    person = _new_person(client, instance, "advisor_a", "Parcours")
    pid = person["id"]
    answer = client.post(f"/api/persons/{pid}/match", params={"semaine": "2026-03-09"}, headers=adv)
    assert answer.status_code == 200, answer.text
    bus = [
        o for o in answer.json()["options"] if o["mode"] == "transports" and o["trajet"] == "aller"
    ]
    assert bus[0]["verdict"] == "infaisable" and "premier bus" in bus[0]["raison"]
    page = client.get(f"/personnes/{pid}", headers=adv).text
    assert "premier bus" in page and "Plan imprimable" in page
    plan = client.get(f"/personnes/{pid}/plan", headers=adv)
    assert plan.status_code == 200 and "<svg" in plan.text
    assert f'src="/personnes/{pid}/carte"' in page
    drawn = client.get(f"/personnes/{pid}/carte", headers=adv)
    assert drawn.status_code == 200 and "L.geoJson" in drawn.text and "Entrepôt" in drawn.text
    assert 'content="noindex"' in drawn.text
    changed = client.put(
        f"/api/persons/{pid}/profile",
        json={**PERSON, "profil": {**PERSON["profil"], "permis": "B", "voiture": True}},
        headers=adv,
    )
    assert changed.json()["profile"]["permis"] == "B"
    step = client.post(f"/api/persons/{pid}/steps", json={"solution": "microcredit"}, headers=adv)
    step_id = step.json()["steps"][-1]["id"]
    for status in ("decide", "commence", "termine"):
        moved = client.patch(
            f"/api/persons/{pid}/steps/{step_id}", json={"status": status}, headers=adv
        )
        assert moved.status_code == 200
    done = moved.json()["steps"][-1]
    assert (
        done["status"] == "termine"
        and done["decided_at"]
        and done["started_at"]
        and done["done_at"]
    )
    bad = client.patch(f"/api/persons/{pid}/steps/{step_id}", json={"status": "fini"}, headers=adv)
    assert bad.status_code == 422
    export = client.get(f"/api/persons/{pid}/export", headers=adv).json()
    assert (
        len(export["profile_history"]) == 2
        and export["profile_history"][0]["profile"]["permis"] == "aucun"
    )
    assert len(export["matches"]) == 1 and export["legal_basis"] == "consentement"
    assert export["special_category_fields"] == ["fauteuil_roulant", "mobilite_reduite"]
    assert {"person.created", "person.matched", "person.updated"} <= {
        a["action"] for a in export["audit"]
    }
    assert client.delete(f"/api/persons/{pid}", headers=adv).status_code == 204
    assert client.get(f"/api/persons/{pid}", headers=adv).status_code == 404
    database = open_database(instance.settings.url)
    with database.session() as session:
        entries = list(
            session.scalars(sqlalchemy.select(AuditEntry).where(AuditEntry.object_id == str(pid)))
        )
        assert "person.erased" in {e.action for e in entries}
        text = json.dumps([e.detail for e in entries]) + " ".join(e.action for e in entries)
        assert "Parcours" not in text and "Léa" not in text
    database.dispose()


@pytest.mark.slow  # parcours purge as a process
def test_retention_purge_command(client: httpx.Client, instance: Instance) -> None:
    old = _new_person(client, instance, "advisor_a", "Ancienne")
    recent = _new_person(client, instance, "advisor_a", "Recente")
    database = open_database(instance.settings.url)
    with database.session() as session:
        row = session.get(Person, old["id"])
        assert row is not None
        row.last_contact_at = utcnow() - dt.timedelta(days=731)
    command = [sys.executable, "-m", "parcours", "purge"]
    env = service_env(instance.settings)
    dry = subprocess.run(
        [*command, "--dry-run"], env=env, capture_output=True, text=True, check=False
    )
    assert dry.returncode == 0 and "1 personne(s) à effacer" in dry.stderr, dry.stderr
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "1 personne(s) effacée(s)" in done.stderr
    with database.session() as session:
        assert session.get(Person, old["id"]) is None
        assert session.get(Person, recent["id"]) is not None
        actions = set(
            session.scalars(
                sqlalchemy.select(AuditEntry.action).where(AuditEntry.object_id == str(old["id"]))
            )
        )
        assert "person.purged" in actions
    database.dispose()


def test_committee_sees_aggregates_of_eleven_or_more(
    client: httpx.Client, instance: Instance
) -> None:
    headers = instance.headers("committee_b")
    assert client.get("/api/aggregates", headers=headers).json()["people"] is None
    for i, commune in enumerate(["Val"] * 12 + ["Mont"] * 11 + ["Bois"] * 3):
        _new_person(client, instance, "advisor_b", f"Agg{i}", commune=commune)
    figures = client.get("/api/aggregates", headers=headers).json()
    assert figures["people"] == 26
    # Bois (3) alone would be hidden but worked out from the total: Mont (11) joins it
    assert figures["by_commune"] == [
        {"group": "Val", "people": 12},
        {"group": "autres communes", "people": 14},
    ]
    page = client.get("/comite", headers=headers)
    assert page.status_code == 200 and "Agg" not in page.text and "26 personnes" in page.text
    anyone = client.get("/api/persons", headers=instance.headers("advisor_b")).json()[0]["id"]
    assert client.get(f"/personnes/{anyone}", headers=headers).status_code == 404


def test_migrations_equal_the_models(instance: Instance) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from parcours.service.db import ours
    from parcours.service.models import Base

    database = open_database(instance.settings.url)
    assert database.revision() == "0002"
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": ours})
        diff = compare_metadata(context, Base.metadata)
    database.dispose()
    assert diff == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_database_of_the_first_schema_is_upgraded_keeping_its_rows(
    backend: str, tmp_path: Path
) -> None:
    """A platform's database at revision 0001 (before the jobs' summary) upgrades in place,
    its jobs kept; the downgrade gives the column back."""
    from alembic import command

    from parcours.service.db import _alembic_config

    with database_url(backend, tmp_path) as url:
        database = open_database(url, upgrade=False)
        database.upgrade("0001")
        with database.engine.begin() as connection:
            connection.execute(
                sqlalchemy.text(
                    "INSERT INTO jobs (id, kind, territory, params, status, percent, step, "
                    "runner, created_at) VALUES (:id, 'diagnostic', 'demo', '{}', 'done', "
                    "100, '', '', :at)"
                ),
                {"id": "o" * 32, "at": utcnow()},
            )
        database.dispose()
        database = open_database(url)  # as `parcours serve` does at start
        assert database.revision() == "0002"
        with database.session() as session:
            job = session.get(Job, "o" * 32)
            assert job is not None and job.status == "done" and job.summary is None
        command.downgrade(_alembic_config(database.engine), "0001")
        assert database.revision() == "0001"
        with database.engine.connect() as connection:
            columns = {c["name"] for c in sqlalchemy.inspect(connection).get_columns("jobs")}
            kept = connection.execute(sqlalchemy.text("SELECT count(*) FROM jobs")).scalar()
        assert "summary" not in columns and "status" in columns and kept == 1
        database.dispose()


def test_an_interrupted_job_is_marked_failed_at_start(instance: Instance) -> None:
    database = open_database(instance.settings.url)
    with database.session() as session:
        gone = f"{socket.gethostname()}:{2**22 + 7}:1"  # no such process
        session.add(
            Job(id="r" * 32, kind="diagnostic", territory="demo", status="running", runner=gone)
        )
        alive = process_identity()  # this test process: its job is left alone
        session.add(
            Job(id="s" * 32, kind="diagnostic", territory="demo", status="running", runner=alive)
        )
    with running(instance.settings) as http:
        body = http.get("/diagnostics/" + "r" * 32, headers=instance.headers("planner")).json()
        assert body["status"] == "failed" and "interrompue" in body["error"]
        other = http.get("/diagnostics/" + "s" * 32, headers=instance.headers("planner")).json()
        assert other["status"] == "running"
    database.dispose()


def test_a_job_running_when_the_service_stops_ends_failed(instance: Instance) -> None:
    """Stopping the service stops its running job at the job's next step: the job says so,
    nothing is published, and the job writes nothing once the service is gone."""
    folder = instance.settings.home / "demo"

    def published() -> list[tuple[str, int]]:  # the outputs, and any staging folder
        names = ("rapport.html", "diagnostic.gpkg", "tables")
        paths = [folder / name for name in names] + list(folder.glob(".staging-*"))
        return sorted((p.name, p.stat().st_mtime_ns) for p in paths if p.exists())

    before = published()
    planner = instance.headers("planner")
    with running(instance.settings) as http:
        answer = http.post("/diagnostics", json={"territory": "demo"}, headers=planner)
        assert answer.status_code == 202, answer.text
        url = f"/diagnostics/{answer.json()['job_id']}"
        deadline = time.monotonic() + 60
        while http.get(url, headers=planner).json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    database = open_database(instance.settings.url)
    with database.session() as session:
        job = session.get(Job, url.rsplit("/", 1)[1])
        assert job is not None
        assert job.status == "failed" and "interrompue" in str(job.error), job.error
        assert job.finished_at is not None
    database.dispose()
    assert published() == before


def test_batch_match_of_a_platforms_caseload(client: httpx.Client, instance: Instance) -> None:
    """The advisor's button matches every person of the platform (and only theirs) in a job;
    its page names the people without an answer."""
    adv = instance.headers("advisor_a")
    ours = [_new_person(client, instance, "advisor_a", f"Lot{i}")["id"] for i in range(2)]
    lost = _new_person(
        client,
        instance,
        "advisor_a",
        "Introuvable",
        person={**PERSON, "domicile": {"adresse": "12 rue des Brumes, 99999 Nullepart"}},
    )["id"]
    theirs = _new_person(client, instance, "advisor_b", "Autreplateforme")["id"]
    platform_a = [p["id"] for p in client.get("/api/persons", headers=adv).json()]
    assert set(ours) | {lost} <= set(platform_a) and theirs not in platform_a
    before = {
        pid: len(client.get(f"/api/persons/{pid}/export", headers=adv).json()["matches"])
        for pid in platform_a
    }
    assert "Évaluer toute la file active" in client.get("/personnes", headers=adv).text
    prescriber = instance.headers("prescriber_a")
    assert "Évaluer toute la file active" not in client.get("/personnes", headers=prescriber).text
    assert client.post("/personnes/appariement", headers=prescriber).status_code == 403

    started = client.post("/personnes/appariement", headers=adv, follow_redirects=False)
    assert started.status_code == 303, started.text
    page_url = started.headers["location"]
    job_id = page_url.rsplit("/", 1)[1]
    assert page_url == f"/personnes/appariement/{job_id}"
    deadline = time.monotonic() + 300
    while (job := client.get(f"/api/jobs/{job_id}", headers=adv).json())["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job["status"] == "done", job
    assert job["summary"]["people"] == len(platform_a)
    assert job["summary"]["matched"] == len(platform_a) - 1
    (failure,) = job["summary"]["failed"]  # ids and codes only, no address
    assert failure["id"] == lost and failure["code"] and "Brumes" not in json.dumps(job)
    for pid in platform_a:  # one more stored match each, but the one without an answer
        export = client.get(f"/api/persons/{pid}/export", headers=adv).json()
        assert len(export["matches"]) == before[pid] + (pid != lost), pid
    other = client.get(f"/api/persons/{theirs}/export", headers=instance.headers("advisor_b"))
    assert other.json()["matches"] == []
    page = client.get(page_url, headers=adv)
    assert page.status_code == 200
    assert f"{len(platform_a) - 1} personne(s) évaluée(s) sur {len(platform_a)}" in page.text
    assert f'<a href="/personnes/{lost}">Léa Introuvable</a>' in page.text
    assert "Lot0" not in page.text
    # the job is the platform's: no other advisor, no planner sees it
    for who in ("advisor_b", "planner", "committee_a"):
        assert client.get(page_url, headers=instance.headers(who)).status_code in (403, 404), who
        seen = client.get(f"/api/jobs/{job_id}", headers=instance.headers(who)).status_code
        assert seen in (403, 404), who
    # while a batch match is queued or running, the button leads to it: no second pass
    database = open_database(instance.settings.url)
    with database.session() as session:
        session.add(
            Job(
                id="b" * 32,
                kind="batch_match",
                territory="demo",
                platform_id=instance.platforms["A"],
                user_id=instance.users["advisor_a"],
                status="running",
                runner=process_identity(),
            )
        )
    again = client.post("/personnes/appariement", headers=adv, follow_redirects=False)
    assert again.headers["location"] == "/personnes/appariement/" + "b" * 32
    api = client.post("/api/batch-matches", json={}, headers=adv).json()
    assert api["job_id"] == "b" * 32
    with database.session() as session:
        pending = session.get(Job, "b" * 32)
        assert pending is not None
        pending.status = "failed"
    # a job whose author was disabled stops before its next person
    from parcours.service.matcher import Matcher
    from parcours.service.security import create_user
    from parcours.service.works import job_works
    from parcours.territories import Workspace

    with database.session() as session:
        platform = session.get(Platform, instance.platforms["A"])
        leaver = create_user(
            session,
            email="partie@exemple.fr",
            name="Partie",
            password=PASSWORD,
            role="advisor",
            platform=platform,
        )
        leaver.active = False
        orphan = Job(
            id="c" * 32,
            kind="batch_match",
            territory="demo",
            platform_id=instance.platforms["A"],
            user_id=leaver.id,
            params={},
        )
        session.add(orphan)
    works = job_works(
        Workspace(instance.settings.home), Matcher(instance.settings.home, 0), database
    )
    with pytest.raises(InputError, match="désactivé"):
        works["batch_match"](orphan, lambda label, fraction: None)
    database.dispose()


def test_a_step_outlasting_the_stop_is_failed_and_writes_nothing_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner waits a while for its job's next step; past that the job is marked
    failed at once and what the job writes of its row afterwards is dropped."""
    import threading

    from parcours.service import jobs
    from parcours.service.jobs import JobRunner
    from parcours.service.security import Principal

    monkeypatch.setattr(jobs, "_STOP_WAIT_S", 0.5)
    database = open_database(f"sqlite:///{tmp_path / 'jobs.db'}")
    started, release = threading.Event(), threading.Event()

    def long_step(job: Job, progress: Any) -> dict[str, Any]:
        progress("une longue étape", 0.1)
        started.set()
        release.wait(30)  # a step that calls no progress for a long time
        progress("la suivante", 0.9)  # too late: the service has stopped
        return {"fini": True}

    from parcours.service.security import create_user

    with database.session() as session:
        planner = Principal.of(
            create_user(session, email="p@exemple.fr", name="P", password=PASSWORD, role="planner")
        )
    runner = JobRunner(database, {"diagnostic": long_step})
    job = runner.submit(planner, "diagnostic", "demo")
    assert started.wait(30)
    runner.shutdown()
    with database.session() as session:
        row = session.get(Job, job.id)
        assert row is not None and row.status == "failed" and "interrompue" in str(row.error)
        assert row.step == "une longue étape"
    release.set()
    time.sleep(0.5)  # the job's thread goes on, and its writes are dropped
    with database.session() as session:
        row = session.get(Job, job.id)
        assert row is not None and row.status == "failed" and row.summary is None
        assert row.step == "une longue étape"
    database.dispose()
