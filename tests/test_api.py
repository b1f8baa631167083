"""The web service: a diagnostic started over HTTP, followed, and its results fetched.

The app runs on the demo territory (generated and loaded by the real ingest), called with
bearer tokens of seeded accounts; the
``parcours serve`` command is started as a real server on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema_rs
import pytest
from fixtures.demo import DemoWorld
from servicekit import PASSWORD, Instance, free_port, running, seed, service_env

from parcours.service import ServiceSettings


@pytest.fixture(scope="module")
def api_home(demo_world: DemoWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``parcours demo``'s workspace (the diagnostic over HTTP writes into it)."""
    return demo_world.copy("built", tmp_path_factory.mktemp("api") / "home")


@pytest.fixture(scope="module")
def instance(api_home: Path) -> Instance:
    """The service's database (SQLite in the workspace), a platform on the demo, accounts."""
    return seed(ServiceSettings(home=api_home))


@pytest.fixture(scope="module")
def client(instance: Instance) -> Iterator[httpx.Client]:
    """The app served by uvicorn on 127.0.0.1, called as the planner."""
    with running(instance.settings, warm=False) as http:  # no match here
        http.headers.update(instance.headers("planner"))
        yield http


def _wait(client: httpx.Client, url: str, timeout_s: float = 300.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if body["status"] in ("done", "failed"):
            return dict(body)
        time.sleep(0.2)
    raise AssertionError(f"job not finished: {body}")


def _conforms(
    client: httpx.Client, path: str, body: object, media: str = "application/json"
) -> None:
    """``body`` is what the spec says ``GET path`` answers (200), validated as JSON Schema.

    These routes send stored files as they are, so FastAPI does not validate them."""
    spec = client.get("/openapi.json").json()
    schema = spec["paths"][path]["get"]["responses"]["200"]["content"][media]["schema"]
    jsonschema_rs.validator_for({**schema, "components": spec["components"]}).validate(body)


def test_a_diagnostic_over_http(client: httpx.Client, api_home: Path) -> None:
    assert client.get("/health").json()["status"] == "ok"
    names = {t["name"] for t in client.get("/territories").json()}
    assert names == {"demo"}
    started = client.post("/diagnostics", json={"territory": "demo", "modes": ["walk", "transit"]})
    assert started.status_code == 202
    body = _wait(client, started.json()["status_url"])
    assert body["status"] == "done", body
    assert body["results"]["report"] == "/territories/demo/report"
    communes = client.get("/territories/demo/indicators", params={"level": "commune"}).json()
    _conforms(client, "/territories/{name}/indicators", communes)
    assert len(communes) == 13 and {"area", "name", "share_jobs_45_walk_pop"} <= set(communes[0])
    territory = client.get("/territories/demo/indicators", params={"level": "territory"}).json()
    assert len(territory) == 1 and territory[0]["households"] > 11
    cells = client.get("/territories/demo/cells.geojson")
    assert cells.headers["content-type"].startswith("application/geo+json")
    _conforms(client, "/territories/{name}/cells.geojson", cells.json(), "application/geo+json")
    features = cells.json()["features"]
    assert features and all(f["properties"]["households"] >= 11 for f in features)
    lon, lat = features[0]["geometry"]["coordinates"][0][0]
    assert 2.0 < lon < 4.0 and 46.0 < lat < 47.0  # WGS84, the demo's place
    report = client.get("/territories/demo/report")
    assert report.headers["content-type"].startswith("text/html")
    assert "Diagnostic territorial de mobilité" in report.text
    # The service and the CLI write the same files, in the territory's folder.
    assert (api_home / "demo" / "diagnostic.gpkg").exists()


def test_errors_in_the_request_language(client: httpx.Client) -> None:
    missing = client.post("/diagnostics", json={"territory": "nowhere"})
    assert missing.status_code == 404 and "nowhere" in missing.json()["error"]
    english = client.get("/territories/nowhere/report", params={"lang": "en"})
    assert english.status_code == 404
    assert "not" in english.json()["error"].lower()
    assert client.get("/diagnostics/unknown").status_code == 404
    bad = client.post("/diagnostics", json={"territory": "demo", "modes": ["plane"]})
    assert bad.status_code == 422
    level = client.get("/territories/demo/indicators", params={"level": "planet"})
    assert level.status_code == 422


@pytest.mark.slow  # parcours serve, as processes
def test_serve_listens_on_loopback_unless_tls_or_a_proxy(
    instance: Instance, tmp_path: Path
) -> None:
    env = {**service_env(instance.settings), "PARCOURS_MATCH_PROCESSES": "0"}  # no match here
    serve = [sys.executable, "-m", "parcours", "serve"]
    refused = subprocess.run(
        [*serve, "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "--behind-proxy" in refused.stderr
    assert "Traceback" not in refused.stderr
    half = subprocess.run(
        [*serve, "--host", "0.0.0.0", "--certfile", str(tmp_path / "none.pem")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert half.returncode == 2 and "--keyfile" in half.stderr
    bad_db = subprocess.run(
        serve,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "PARCOURS_DATABASE_URL": "postgresql+psycopg://x:y@127.0.0.1:1/none"},
    )
    assert bad_db.returncode == 1 and "base de données inaccessible" in bad_db.stderr
    assert "y@" not in bad_db.stderr  # the password is not shown
    port = free_port()
    server = subprocess.Popen(
        [*serve, "--host", "0.0.0.0", "--behind-proxy", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/territories",
                    headers=instance.headers("planner"),
                    timeout=2,
                )
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert answer.status_code == 200
        assert json.loads(answer.text)[0]["name"] == "demo"
        login = httpx.post(
            f"http://127.0.0.1:{port}/login",
            data={"email": "advisor.a@exemple.fr", "password": PASSWORD},
        )
        assert "Secure" in login.headers["set-cookie"]  # behind a TLS proxy
        assert httpx.get(f"http://127.0.0.1:{port}/territories").status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_match_endpoint(client: httpx.Client, instance: Instance) -> None:
    person = {
        "domicile": {"lon": 2.9990, "lat": 46.5040},
        "destinations": [
            {
                "nom": "Entrepôt",
                "lon": 3.07352,
                "lat": 46.48161,
                "motif": "emploi",
                "horaires": "lun-ven 05:30-13:00",
            }
        ],
        "profil": {
            "age": 34,
            "statut": "demandeur_emploi",
            "permis": "aucun",
            "velo": {"sait_rouler": True, "possede": True},
        },
    }
    advisor = instance.headers("advisor_a")
    answer = client.post(
        "/territories/demo/match?semaine=2026-03-10", json=person, headers=advisor
    ).json()
    bus = [o for o in answer["options"] if o["mode"] == "transports" and o["trajet"] == "aller"]
    assert bus and bus[0]["verdict"] == "infaisable" and "premier bus" in bus[0]["raison"]
    assert answer["plan"]
    bad = client.post(
        "/territories/demo/match",
        json={**person, "profil": {"age": 34, "statut": "x"}},
        headers=advisor,
    )
    assert bad.status_code == 422 and "statut" in bad.json()["error"]
