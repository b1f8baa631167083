"""The service's test kit: databases (SQLite and PostgreSQL), a seeded instance, servers.

PostgreSQL: ``PARCOURS_TEST_DATABASE_URL`` (``.ci/postgres`` starts Debian's server with
PostGIS and prints it); each use gets its own schema, dropped afterwards. Without a
reachable server the PostgreSQL runs are skipped with the reason, except under CI
(``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from parcours.service import ServiceSettings, open_database
from parcours.service.models import Platform, User
from parcours.service.security import create_user, issue_api_token

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "parcours" / "matching" / "data" / "demo_catalogue.yaml"
DEFAULT_PG = "postgresql+psycopg://parcours:parcours@127.0.0.1:5432/parcours_test"
PASSWORD = "un-mot-de-passe-solide"
#: The service's tests run on both; PostgreSQL is an end-to-end run (a server): `slow`.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]

#: A person of the demo: home in Montclerval, the warehouse at 05:30.
PERSON = {
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
        "fauteuil_roulant": False,
        "mobilite_reduite": True,
    },
}


def free_port() -> int:
    """A free TCP port of 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pg_reachable(url: str) -> str | None:
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT postgis_version()")
        engine.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


@contextmanager
def database_url(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database of ``backend`` (its URL), removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'parcours-{uuid.uuid4().hex[:8]}.db'}"
        return
    import sqlalchemy

    base = os.environ.get("PARCOURS_TEST_DATABASE_URL", DEFAULT_PG)
    problem = _pg_reachable(base)
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and unreachable: {problem}")
        pytest.skip(f"no PostgreSQL + PostGIS server reachable at {base} ({problem})")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema},public"
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


@dataclass
class Instance:
    """A seeded instance: two platforms on the demo, one account per role on each."""

    settings: ServiceSettings
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    platforms: dict[str, int] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        """The bearer header of account ``who`` (``advisor_a``, ``committee_b``...)."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}


ACCOUNTS = {
    "admin": ("admin", None),
    "planner": ("planner", None),
    "advisor_a": ("advisor", "A"),
    "prescriber_a": ("prescriber", "A"),
    "prescriber2_a": ("prescriber", "A"),
    "committee_a": ("committee", "A"),
    "advisor_b": ("advisor", "B"),
    "prescriber_b": ("prescriber", "B"),
    "committee_b": ("committee", "B"),
}


def email_of(who: str) -> str:
    """The e-mail of a seeded account."""
    return f"{who.replace('_', '.')}@exemple.fr"


def seed(settings: ServiceSettings, territories: tuple[str, str] = ("demo", "autre")) -> Instance:
    """Platforms A and B (on ``territories``) and the accounts of :data:`ACCOUNTS`."""
    database = open_database(settings.url)
    instance = Instance(settings)
    with database.session() as session:
        platforms = {}
        for key, territory in zip(("A", "B"), territories, strict=True):
            platform = Platform(name=f"Plateforme {key}", territory=territory)
            session.add(platform)
            session.flush()
            platforms[key] = platform
            instance.platforms[key] = platform.id
        for who, (role, key) in ACCOUNTS.items():
            user: User = create_user(
                session,
                email=email_of(who),
                name=who.replace("_", " ").title(),
                password=PASSWORD,
                role=role,
                platform=platforms[key] if key else None,
            )
            instance.users[who] = user.id
            instance.tokens[who] = issue_api_token(session, user, "tests")
    database.dispose()
    return instance


def workspace_copy(demo_home: Path, target: Path) -> Path:
    """A private copy of the loaded demo workspace (with the demo catalogue)."""
    from parcours.matching import store_catalogue
    from parcours.territories import Workspace

    shutil.copytree(demo_home, target, ignore=shutil.ignore_patterns(".locks", "*.db*"))
    store_catalogue(Workspace(target), "demo", CATALOGUE)
    return target


@contextmanager
def running(settings: ServiceSettings, *, warm: bool = True) -> Iterator[httpx.Client]:
    """The app served by uvicorn on a free port of 127.0.0.1 (a thread).

    ``warm=False`` for tests that match nobody: the match process does not load the
    platforms' networks at start-up.
    """
    from parcours.api import create_app

    port = free_port()
    app = create_app(settings, warm=warm)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            yield http
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def service_env(settings: ServiceSettings) -> dict[str, str]:
    """The environment of a ``parcours serve`` subprocess for ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")}
    env.update(PARCOURS_HOME=str(settings.home), PARCOURS_DATABASE_URL=settings.url)
    return env


@contextmanager
def serve_process(
    settings: ServiceSettings, *args: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``parcours serve`` as a real process on a free port: the process and its base URL."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "parcours", "serve", "--port", str(port), *args],
            env=service_env(settings),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_up(process, base, log)
            yield process, base
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=30)


def wait_up(process: subprocess.Popen[bytes], base: str, log: Any, timeout_s: float = 90) -> None:
    """Wait for ``/health`` to answer (the server's log in the error if it exits)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")
            raise AssertionError(f"parcours serve exited {process.returncode}: {err[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError("parcours serve did not answer /health")
        time.sleep(0.2)


def wait_job(
    client: httpx.Client, url: str, headers: dict[str, str], timeout_s: float = 300
) -> dict[str, Any]:
    """Poll a job until it is done or failed."""
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(url, headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.25)
    raise AssertionError(f"job not finished: {body}")
