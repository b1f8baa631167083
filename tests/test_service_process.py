"""``parcours serve`` as a real process: killed with SIGKILL during a diagnostic, restarted;
and the account commands (``parcours user add``, ``user token``, ``platform add``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from servicekit import seed, serve_process, service_env, wait_job, workspace_copy

from parcours.service import ServiceSettings

#: Every test here is end to end: parcours serve as a process, kill -9.
pytestmark = pytest.mark.slow

PUBLISHED = ("rapport.html", "diagnostic.gpkg", "tables")


@pytest.fixture
def settings(demo_loaded: tuple[Any, Any], tmp_path: Path) -> ServiceSettings:
    home = workspace_copy(demo_loaded[0].home, tmp_path / "home")
    return ServiceSettings(home=home)


def test_a_killed_service_publishes_nothing_and_marks_the_job_failed(
    settings: ServiceSettings,
) -> None:
    instance = seed(settings)
    planner = instance.headers("planner")
    folder = settings.home / "demo"
    with (
        serve_process(settings) as (process, base),
        httpx.Client(base_url=base, timeout=60) as http,
    ):
        # two modes: what is tested is the publication, killed and then run again
        body = {"territory": "demo", "modes": ["walk", "transit"]}
        started = http.post("/diagnostics", json=body, headers=planner)
        assert started.status_code == 202
        url = started.json()["status_url"]
        deadline = time.monotonic() + 300
        steps = []
        while time.monotonic() < deadline:  # kill it while it writes the report and files
            body = http.get(url, headers=planner).json()
            steps.append(body["step"])
            if body["status"] not in ("queued", "running"):
                break
            if (body["step"] or "").startswith("rapport"):
                break
            time.sleep(0.05)
        assert body["status"] == "running", (body, steps[-5:])
        assert (body["step"] or "").startswith("rapport"), steps[-5:]  # writing its files
        workers = psutil.Process(process.pid).children(recursive=True)  # the match processes
        assert workers, "no match process"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    # they notice that the service is gone and exit: no orphan holds the network in memory
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert alive == [], alive
    assert len({s for s in steps if s}) >= 2  # the progress moved on (steps and percents)
    for name in PUBLISHED:
        assert not (folder / name).exists(), name
    with serve_process(settings) as (_, base), httpx.Client(base_url=base, timeout=60) as http:
        body = http.get(url, headers=planner).json()
        assert body["status"] == "failed" and "interrompue" in body["error"]
        again = http.post(f"{url}/rerun", headers=planner)
        assert again.status_code == 202
        done = wait_job(http, again.json()["status_url"], planner)
        assert done["status"] == "done", done
        assert http.get("/territories/demo/report", headers=planner).status_code == 200
    for name in PUBLISHED:
        assert (folder / name).exists(), name
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".staging")]


def test_account_commands(settings: ServiceSettings) -> None:
    env = service_env(settings)
    parcours = [sys.executable, "-m", "parcours"]

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*parcours, *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = run("platform", "add", "Plateforme du Val", "--territory", "demo")
    assert made.returncode == 0, made.stderr
    unknown = run("platform", "add", "Ailleurs", "--territory", "nulle-part")
    assert unknown.returncode == 2 and "nulle-part" in unknown.stderr
    added = run(
        "user",
        "add",
        "Conseil@Val.fr",
        "--role",
        "advisor",
        "--platform",
        "Plateforme du Val",
        "--password-stdin",
        stdin="mot-de-passe-du-val\n",
    )
    assert added.returncode == 0 and "conseil@val.fr" in added.stderr, added.stderr
    short = run("user", "add", "x@val.fr", "--role", "planner", "--password-stdin", stdin="court\n")
    assert short.returncode == 2 and "12 caractères" in short.stderr
    orphan = run(
        "user",
        "add",
        "y@val.fr",
        "--role",
        "advisor",
        "--password-stdin",
        stdin="mot-de-passe-du-val\n",
    )
    assert orphan.returncode == 2 and "plateforme" in orphan.stderr
    token = run("user", "token", "conseil@val.fr")
    assert token.returncode == 0 and token.stdout.startswith("pcs_")
    assert "Traceback" not in "".join(r.stderr for r in (unknown, short, orphan))
    with serve_process(settings) as (_, base):
        me = httpx.get(
            f"{base}/api/me", headers={"Authorization": f"Bearer {token.stdout.strip()}"}
        )
        assert me.json()["role"] == "advisor" and me.json()["territory"] == "demo"
        disabled = run("user", "disable", "conseil@val.fr")
        assert disabled.returncode == 0 and "1 session(s) et jeton(s)" in disabled.stderr
        twice = run("user", "disable", "conseil@val.fr")
        assert twice.returncode == 0 and "déjà désactivé" in twice.stderr
        bearer = {"Authorization": f"Bearer {token.stdout.strip()}"}
        assert httpx.get(f"{base}/api/me", headers=bearer).status_code == 401
        enabled = run("user", "enable", "conseil@val.fr")
        assert enabled.returncode == 0 and "réactivé" in enabled.stderr
        assert httpx.get(f"{base}/api/me", headers=bearer).status_code == 401  # revoked
        nobody = run("user", "disable", "personne@val.fr")
        assert nobody.returncode == 2 and "compte inconnu" in nobody.stderr


def test_a_match_process_whose_service_is_already_gone_exits() -> None:
    """The service's pid is given to its match processes: one that starts after the
    service died (a spawn takes seconds) exits at once instead of living on."""
    code = (
        "import time\n"
        "from parcours.service.matcher import _start_worker\n"
        "_start_worker(1)  # pid 1 is not our parent: the service is gone\n"
        "time.sleep(600)  # without the watch: killed by the timeout below, the test fails\n"
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=120, check=False)
    assert done.returncode == 0
