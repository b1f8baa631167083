"""Benchmark: jobs within 30/45/60 min for many origins, without and with the long matrix.

Workload (the diagnostic's): ``--origins`` points (default 5,000) and ``--opportunities``
weighted points (default 20,000 jobs) drawn over the Nantes OSM extract, walk + transit on
the full TAN feed, a 60-minute departure window from 07:00, percentile 50, cut-offs 30,
45 and 60 min. Two ways, each in a fresh process (peak memory is that run's own maximum
resident set size):

- ``cumulative_opportunities``: blocks of origins reduced as they come;
- ``travel_time_matrix`` then a pandas aggregation: the long frame of every pair.

Both must give the same counts (checked at the end). The network is built and its
timetable cached before timing (a warm-up run on a few origins in each process).

Usage: ``python bench/aggregate.py [--origins 5000] [--opportunities 20000] [--repeat 1]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FOLDER = DATA / "france_nantes_tempus"
DEPARTURE = dt.datetime(2014, 5, 13, 7, 0)
CUTOFFS = (30, 45, 60)


def _inputs(n_origins: int, n_opportunities: int) -> tuple[Any, Any, Any]:
    import geopandas as gpd
    import numpy as np

    from parcours.accessibility import TransportNetwork

    network = TransportNetwork.from_files(
        FOLDER / "nantes_subset_2014.osm.pbf",
        [FOLDER / "tan_nantes_gtfs_2014.zip"],
        home=Path(tempfile.gettempdir()) / "parcours-bench-aggregate",
    )
    rng = np.random.default_rng(7)

    def points(n: int, prefix: str) -> Any:
        lon = rng.uniform(-1.572, -1.540, n)
        lat = rng.uniform(47.201, 47.220, n)
        return gpd.GeoDataFrame(
            {"id": [f"{prefix}{i}" for i in range(n)]},
            geometry=gpd.points_from_xy(lon, lat),
            crs=4326,
        )

    origins = points(n_origins, "o")
    jobs = points(n_opportunities, "j")
    jobs["jobs"] = rng.integers(1, 30, n_opportunities).astype(float)
    return network, origins, jobs


QUERY: dict[str, Any] = {
    "transport_modes": ["walk", "transit"],
    "departure": DEPARTURE,
    "departure_time_window": dt.timedelta(minutes=60),
    "max_time": dt.timedelta(minutes=60),
}


def _aggregate(queue: Any, n_origins: int, n_opportunities: int) -> None:
    from parcours.accessibility import cumulative_opportunities

    network, origins, jobs = _inputs(n_origins, n_opportunities)
    cumulative_opportunities(network, origins.iloc[:5], jobs.iloc[:50], cutoffs=CUTOFFS, **QUERY)
    start = time.perf_counter()
    counts = cumulative_opportunities(network, origins, jobs, cutoffs=CUTOFFS, **QUERY)
    elapsed = time.perf_counter() - start
    queue.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, counts))


def _matrix(queue: Any, n_origins: int, n_opportunities: int) -> None:
    import pandas as pd

    from parcours.accessibility import travel_time_matrix

    network, origins, jobs = _inputs(n_origins, n_opportunities)
    travel_time_matrix(network, origins.iloc[:5], jobs.iloc[:50], **QUERY)
    start = time.perf_counter()
    matrix = travel_time_matrix(network, origins, jobs, **QUERY)
    weights = jobs.set_index("id")["jobs"]
    matrix["jobs"] = weights.reindex(matrix["to_id"]).to_numpy()
    counts = pd.DataFrame({"id": origins["id"].astype(str)})
    for cut in CUTOFFS:
        reached = matrix[matrix["travel_time"] < cut].groupby("from_id")["jobs"].sum()
        counts[f"jobs_{cut}"] = reached.reindex(counts["id"]).fillna(0.0).to_numpy()
    elapsed = time.perf_counter() - start
    queue.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, counts))


def _run(target: Any, *args: Any) -> tuple[float, float, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=target, args=(queue, *args))
    process.start()
    result = queue.get()
    process.join()
    return result[0], result[1] / 1024.0, result[2]


def main() -> None:
    """Run both ways and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origins", type=int, default=5000)
    parser.add_argument("--opportunities", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {mp.cpu_count()} cores")
    print(
        f"# {args.origins:,} origins x {args.opportunities:,} jobs points, walk+transit, "
        "60-min window from 07:00, p50, cut-offs 30/45/60 min, Nantes OSM + full TAN feed"
    )
    rows = []
    results = {}
    for name, target in (
        ("cumulative_opportunities (blocks)", _aggregate),
        ("travel_time_matrix + pandas groupby", _matrix),
    ):
        runs = [_run(target, args.origins, args.opportunities) for _ in range(args.repeat)]
        seconds = statistics.median(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        results[name] = runs[0][2]
        rows.append((name, seconds, peak))
    print(f"| {'method':<38} | {'seconds (median)':>16} | {'peak MiB':>9} |")
    print(f"|{'-' * 40}|{'-' * 18}|{'-' * 11}|")
    for name, seconds, peak in rows:
        print(f"| {name:<38} | {seconds:>16.1f} | {peak:>9.0f} |")
    first, second = results.values()
    columns = [f"jobs_{c}" for c in CUTOFFS]
    same = (first[columns].to_numpy() == second[columns].to_numpy()).all()
    print(f"\nsame counts for every origin and cut-off: {bool(same)}")


if __name__ == "__main__":
    main()
