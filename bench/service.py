"""The platform service under load, and killed during a diagnostic.

Builds the demo territory in a temporary workspace, seeds a platform with 50 advisors and
the demo caseload's 300 people (through the API), then runs ``parcours serve`` as a real
process on 127.0.0.1 and:

- load: 50 concurrent clients (asyncio + httpx), each a bounded loop of requests mixing
  page views (caseload list, search, a person's page, the committee page, the planner's
  page) and match requests (``POST /api/persons/{id}/match``, stored), one in ten; each
  client waits a random 0.5-1.5 s between requests (``--think``), seeded, and starts
  after a random 0-1.5 s (``--burst``: all 50 start at once, a worst case).
  Latency per kind (p50, p95, max) and errors. Target (issue): p95 <= 500 ms, no error.
  A second run without waits (``--no-think``) shows the saturation point;
- kill: a diagnostic job started, the service killed with SIGKILL while it writes the
  report, then restarted: the files published and the job's state.

Run: ``.venv/bin/python bench/service.py [--clients 50] [--requests 40] [--repeat 3]
[--workers 1] [--match-processes 1] [--think 0.5-1.5] [--burst] [--no-think]``
(latencies: the median over the runs of each run's percentile).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from parcours.demo import build_demo
from parcours.matching import stored_caseload
from parcours.service import ServiceSettings, open_database
from parcours.service.models import Platform
from parcours.service.security import create_user, issue_api_token
from parcours.territories import Workspace

PASSWORD = "bench-mot-de-passe"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


WORKERS = 1
MATCH_PROCESSES = 1
THINK_S = (0.5, 1.5)


def _serve(settings: ServiceSettings, log: Any) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")}
    env.update(
        PARCOURS_HOME=str(settings.home),
        PARCOURS_DATABASE_URL=settings.url,
        PARCOURS_MATCH_PROCESSES=str(MATCH_PROCESSES),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "parcours", "serve", "--port", str(port), "--workers", str(WORKERS)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,  # its own process group: the kill reaches every worker
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("parcours serve did not start")


def _seed(settings: ServiceSettings, advisors: int) -> dict[str, Any]:
    database = open_database(settings.url)
    tokens: dict[str, Any] = {"advisors": []}
    with database.session() as session:
        platform = Platform(name="Plateforme du Val de Clerve", territory="demo")
        session.add(platform)
        session.flush()
        for i in range(advisors):
            user = create_user(
                session,
                email=f"conseil{i}@val.fr",
                name=f"Conseil {i}",
                password=PASSWORD,
                role="advisor",
                platform=platform,
            )
            tokens["advisors"].append(issue_api_token(session, user))
        for role in ("committee", "planner"):
            user = create_user(
                session,
                email=f"{role}@val.fr",
                name=role,
                password=PASSWORD,
                role=role,
                platform=platform if role == "committee" else None,
            )
            tokens[role] = issue_api_token(session, user)
    database.dispose()
    return tokens


def _people(base: str, token: str, workspace: Workspace) -> list[int]:
    files = stored_caseload(workspace.open("demo")).files
    ids = []
    with httpx.Client(
        base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        for i, file in enumerate(files):
            body = {
                "first_name": f"Prénom{i}",
                "last_name": f"Nom{i}",
                "commune": "",
                "legal_basis": "mission_interet_public",
                "person": file.model_dump(mode="json", exclude_none=True, exclude={"id"}),
            }
            answer = http.post("/api/persons", json=body)
            answer.raise_for_status()
            ids.append(int(answer.json()["id"]))
    return ids


async def _client(
    base: str,
    tokens: dict[str, Any],
    ids: list[int],
    n: int,
    seed: int,
    think: bool,
    out: list[tuple[str, float, int]],
    stagger: bool = True,
) -> None:
    rng = random.Random(seed)
    advisor = tokens["advisors"][seed % len(tokens["advisors"])]
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        if think and stagger:  # users arrive one by one, not all in the same millisecond
            await asyncio.sleep(rng.uniform(0, THINK_S[1]))
        for _ in range(n):
            pick = rng.random()
            person = rng.choice(ids)
            headers = {"Authorization": f"Bearer {advisor}", "Accept": "text/html"}
            if pick < 0.10:
                kind, method, url = "match", "POST", f"/api/persons/{person}/match"
                headers["Accept"] = "application/json"
            elif pick < 0.40:
                kind, method, url = "person page", "GET", f"/personnes/{person}"
            elif pick < 0.65:
                kind, method, url = "caseload", "GET", "/personnes"
            elif pick < 0.80:
                kind, method, url = "search", "GET", f"/personnes?q=Nom{rng.randrange(300)}"
            elif pick < 0.90:
                kind, method, url = "committee", "GET", "/comite"
                headers["Authorization"] = f"Bearer {tokens['committee']}"
            else:
                kind, method, url = "planner", "GET", "/planification"
                headers["Authorization"] = f"Bearer {tokens['planner']}"
            t0 = time.perf_counter()
            try:
                answer = await http.request(method, url, headers=headers)
                status = answer.status_code
            except httpx.HTTPError:
                status = -1
            out.append((kind, time.perf_counter() - t0, status))
            if think:
                await asyncio.sleep(rng.uniform(*THINK_S))


def _load(
    base: str,
    tokens: dict[str, Any],
    ids: list[int],
    clients: int,
    requests: int,
    think: bool,
    stagger: bool = True,
) -> tuple[list[tuple[str, float, int]], float]:
    out: list[tuple[str, float, int]] = []

    async def run() -> None:
        await asyncio.gather(
            *(_client(base, tokens, ids, requests, i, think, out, stagger) for i in range(clients))
        )

    t0 = time.perf_counter()
    asyncio.run(run())
    return out, time.perf_counter() - t0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _table(runs: list[tuple[list[tuple[str, float, int]], float]], title: str) -> None:
    kinds = ["match", "person page", "caseload", "search", "committee", "planner", "all"]
    print(f"\n{title} (median over {len(runs)} run(s) of each run's figure)")
    print(f"{'requests':<13}{'n/run':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'errors':>8}")
    for kind in kinds:
        stats = []
        for out, _ in runs:
            rows = [r for r in out if kind == "all" or r[0] == kind]
            times = [r[1] * 1000 for r in rows]
            errors = sum(1 for r in rows if not 200 <= r[2] < 400)
            stats.append((len(rows), _pct(times, 0.5), _pct(times, 0.95), max(times), errors))
        med = [statistics.median(s[i] for s in stats) for i in range(4)]
        errors = sum(s[4] for s in stats)
        print(f"{kind:<13}{med[0]:>7.0f}{med[1]:>9.0f}{med[2]:>9.0f}{med[3]:>9.0f}{errors:>8}")
    rate = statistics.median(len(out) / wall for out, wall in runs)
    print(f"throughput: {rate:.1f} requests/s (median)")


def _kill(settings: ServiceSettings, tokens: dict[str, Any], log: Any) -> None:
    folder = settings.home / "demo"
    planner = {"Authorization": f"Bearer {tokens['planner']}"}
    process, base = _serve(settings, log)
    started = httpx.post(f"{base}/diagnostics", json={"territory": "demo"}, headers=planner)
    job = started.json()["status_url"]
    url = base + job
    step = ""
    while True:
        body = httpx.get(url, headers=planner).json()
        step = body["step"] or ""
        if body["status"] != "running" or step.startswith("rapport"):
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the service and its workers
    process.wait()
    published = [n for n in ("rapport.html", "diagnostic.gpkg", "tables") if (folder / n).exists()]
    process, base = _serve(settings, log)
    url = base + job
    after = httpx.get(url, headers=planner).json()
    rerun = httpx.post(f"{url}/rerun", headers=planner).json()
    t0 = time.perf_counter()
    while True:
        done = httpx.get(base + rerun["status_url"], headers=planner).json()
        if done["status"] in ("done", "failed"):
            break
        time.sleep(0.2)
    rerun_s = time.perf_counter() - t0
    published_after = [
        n for n in ("rapport.html", "diagnostic.gpkg", "tables") if (folder / n).exists()
    ]
    process.terminate()
    process.wait()
    print("\nkill -9 during a diagnostic job")
    print(f"{'killed during step':<38}{step}")
    print(f"{'files published after the kill':<38}{len(published)} {published}")
    print(f"{'job after restart':<38}{after['status']}: {after['error']}")
    print(f"{'re-run':<38}{done['status']} in {rerun_s:.1f} s, {len(published_after)} published")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="requests per client")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-think", action="store_true", help="also run without waits")
    parser.add_argument(
        "--burst", action="store_true", help="also run with every client starting at once"
    )
    parser.add_argument("--workers", type=int, default=1, help="parcours serve --workers")
    parser.add_argument("--match-processes", type=int, default=1, help="PARCOURS_MATCH_PROCESSES")
    parser.add_argument("--think", default="0.5-1.5", help="seconds between requests: MIN-MAX")
    args = parser.parse_args()
    global WORKERS, MATCH_PROCESSES, THINK_S
    WORKERS, MATCH_PROCESSES = args.workers, args.match_processes
    low, high = (float(x) for x in args.think.split("-"))
    THINK_S = (low, high)
    print(f"parcours serve --workers {WORKERS}, {MATCH_PROCESSES} match process(es)")
    with tempfile.TemporaryDirectory() as tmp, Path(tmp, "serve.log").open("wb") as log:
        folder = Path(tmp)
        workspace = Workspace(folder / "home")
        t0 = time.perf_counter()
        build_demo(workspace, folder / "out")
        print(f"demo built in {time.perf_counter() - t0:.1f} s")
        settings = ServiceSettings(home=folder / "home")
        tokens = _seed(settings, args.clients)
        process, base = _serve(settings, log)
        try:
            t0 = time.perf_counter()
            ids = _people(base, tokens["advisors"][0], workspace)
            print(f"{len(ids)} people created through the API in {time.perf_counter() - t0:.1f} s")
            _load(base, tokens, ids, 5, 4, think=False)  # warm the process
            runs = [
                _load(base, tokens, ids, args.clients, args.requests, think=True)
                for _ in range(args.repeat)
            ]
            _table(
                runs, f"{args.clients} clients x {args.requests} requests, {args.think} s between"
            )
            if args.burst:
                runs = [
                    _load(base, tokens, ids, args.clients, args.requests, think=True, stagger=False)
                    for _ in range(args.repeat)
                ]
                _table(runs, f"{args.clients} clients x {args.requests} requests, all at once")
            if args.no_think:
                runs = [
                    _load(base, tokens, ids, args.clients, args.requests, think=False)
                    for _ in range(args.repeat)
                ]
                _table(runs, f"{args.clients} clients x {args.requests} requests, no wait")
        finally:
            process.terminate()
            process.wait()
        _kill(settings, tokens, log)


if __name__ == "__main__":
    main()
