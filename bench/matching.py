"""Advisor matching: single-match latency (engine warm) and batch throughput.

Builds the demo territory in a temporary workspace (catalogue, drivers' offers), then:

- single match: 100 fictional people of the demo caseload matched one by one with a warm
  network, each with the carpool index; median and p95 latency;
- batch: the demo caseload (300 people) and 10,000 synthetic people (homes drawn from the
  demo's population grid, destinations from its establishments, the four shift patterns
  of ``parcours.matching.demo.SHIFT_PATTERNS``), people per second.

Targets (issue): p95 under 300 ms, 10,000 people under 60 s on this machine.
Run: ``.venv/bin/python bench/matching.py [--repeat 3]`` (batch times: median of the runs).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from parcours.accessibility import TransportNetwork
from parcours.demo import DEMO_DAY, build_demo
from parcours.matching import (
    Caseload,
    carpool_index_of,
    match,
    match_caseload,
    read_caseload,
    stored_caseload,
)
from parcours.matching.demo import write_demo_caseload
from parcours.territories import Workspace


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each batch (median)")
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        workspace = Workspace(folder / "home")
        t0 = time.perf_counter()
        build_demo(workspace, folder / "out")
        print(f"demo built in {time.perf_counter() - t0:.1f} s")
        territory = workspace.open("demo")
        network = TransportNetwork(territory)
        carpool = carpool_index_of(network)
        caseload = stored_caseload(territory)
        week = DEMO_DAY
        match(network, caseload.files[0], week=week, carpool=carpool)  # warm
        times = []
        for person in caseload.files[:100]:
            t0 = time.perf_counter()
            match(network, person, week=week, carpool=carpool)
            times.append(time.perf_counter() - t0)
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        rows = [
            (
                "single match (100 people, warm, carpool index)",
                f"median {1000 * statistics.median(times):.0f} ms",
                f"p95 {1000 * p95:.0f} ms",
                "target p95 < 300 ms",
            )
        ]
        for n in (300, 10_000):
            if n == 300:
                people = caseload
            else:
                path = write_demo_caseload(territory, folder / "synth.csv", n=n, seed=11)
                ids, files, _ = read_caseload(path)
                people = Caseload(ids, files)
            runs = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                results = match_caseload(network, people, week=week, carpool=carpool)
                runs.append(time.perf_counter() - t0)
            elapsed = statistics.median(runs)
            rows.append(
                (
                    f"batch {n:,} people",
                    f"{elapsed:.1f} s",
                    f"{len(results) / elapsed:.0f} people/s",
                    "target 10,000 < 60 s" if n == 10_000 else "",
                )
            )
        width = max(len(r[0]) for r in rows)
        print(f"{'workload':<{width}} | time | rate | target")
        for r in rows:
            print(f"{r[0]:<{width}} | {r[1]} | {r[2]} | {r[3]}")


if __name__ == "__main__":
    main()
