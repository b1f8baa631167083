"""Benchmark: one person's itinerary on Nantes, as the advisor's matching calls it.

Workload: ``--pairs`` random origin/destination pairs (default 50) drawn over the Nantes
OSM extract, the full TAN feed, Tuesday 2014-05-13; per pair and scenario one
:func:`parcours.accessibility.itinerary` call, the network warm (graphs, timetable,
transfers and GTFS lookups built by a warm-up call first, then every call timed):

- walk + transit, leaving at 08:00 (earliest arrival) and arriving by 08:30 (latest
  departure minute);
- walk only and bike only, leaving at 08:00.

The table gives the median and the 95th percentile of the wall time per call (ms). With
``--baseline REV`` the same calls are also timed with the itinerary module of git revision
``REV`` (the previous implementation: a networkx graph of the whole street network built
for every street leg), loaded beside the current one. ``--profile`` prints where the
time of the current implementation goes (cProfile, cumulative, walk + transit).

Usage: ``python bench/itinerary.py [--pairs 50] [--baseline 07aefac] [--profile]``
(timings on a shared machine are noisy: read the medians).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import importlib.util
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT.parent / "shared" / "data" / "france_nantes_tempus"
DAY = dt.date(2014, 5, 13)
LEAVE = dt.datetime.combine(DAY, dt.time(8, 0))
ARRIVE = dt.datetime.combine(DAY, dt.time(8, 30))
SCENARIOS: dict[str, tuple[list[str], dict[str, dt.datetime]]] = {
    "walk+transit, depart 08:00": (["walk", "transit"], {"departure": LEAVE}),
    "walk+transit, arrive by 08:30": (["walk", "transit"], {"arrive_by": ARRIVE}),
    "walk, depart 08:00": (["walk"], {"departure": LEAVE}),
    "walk, arrive by 08:30": (["walk"], {"arrive_by": ARRIVE}),
    "bike, depart 08:00": (["bike"], {"departure": LEAVE}),
}


def _network() -> Any:
    from parcours.accessibility import TransportNetwork

    return TransportNetwork.from_files(
        FOLDER / "nantes_subset_2014.osm.pbf",
        [FOLDER / "tan_nantes_gtfs_2014.zip"],
        home=Path(tempfile.gettempdir()) / "parcours-bench-itinerary",
    )


def _pairs(n: int) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    rng = np.random.default_rng(11)
    lon = rng.uniform(-1.572, -1.540, (n, 2))
    lat = rng.uniform(47.201, 47.220, (n, 2))
    return [((lon[i, 0], lat[i, 0]), (lon[i, 1], lat[i, 1])) for i in range(n)]


def _baseline(revision: str) -> Callable[..., Any]:
    """The ``itinerary`` function of an earlier revision, loaded as a separate module."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:parcours/accessibility/itinerary.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.gettempdir()) / f"parcours_itinerary_{revision}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"_itinerary_{revision}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.itinerary  # type: ignore[no-any-return]


def _time(
    function: Callable[..., Any], network: Any, pairs: list[Any], modes: list[str], when: Any
) -> tuple[list[float], int]:
    function(network, *pairs[0], transport_modes=modes, **when)  # warm-up
    times, empty = [], 0
    for origin, destination in pairs:
        start = time.perf_counter()
        legs = function(network, origin, destination, transport_modes=modes, **when)
        times.append(time.perf_counter() - start)
        empty += int(legs.empty)
    return times, empty


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--baseline", default=None, help="git revision to compare with")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from parcours.accessibility import itinerary

    network = _network()
    pairs = _pairs(args.pairs)
    versions: dict[str, Callable[..., Any]] = {"current": itinerary}
    if args.baseline:
        versions[args.baseline] = _baseline(args.baseline)
    machine = platform.processor() or platform.machine()
    print(f"# itinerary on Nantes, {args.pairs} pairs, {machine}, shared machine: noisy")
    print("| scenario | version | median ms | p95 ms | max ms | empty |")
    print("|---|---|---:|---:|---:|---:|")
    for scenario, (modes, when) in SCENARIOS.items():
        for name, function in versions.items():
            times, empty = _time(function, network, pairs, modes, when)
            ms = 1000 * np.asarray(times)
            print(
                f"| {scenario} | {name} | {np.median(ms):.1f} | {np.percentile(ms, 95):.1f} "
                f"| {ms.max():.1f} | {empty} |"
            )
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for origin, destination in pairs:
            for modes, when in (SCENARIOS[s] for s in list(SCENARIOS)[:2]):
                itinerary(network, origin, destination, transport_modes=modes, **when)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
