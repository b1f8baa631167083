"""Benchmark: loading the Nantes OSM extract and the full TAN GTFS feed.

Each measurement runs in a fresh process (so peak memory is that load's own maximum
resident set size) and is repeated; the table shows medians. As a baseline for the GTFS
reader, the same process also times a bare ``pandas.read_csv`` of ``stop_times.txt``
(parsing only, no validation), so the cost of validation is visible.

Usage: ``python bench/load.py [--repeat 3]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import resource
import statistics
import time
import zipfile
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PBF = DATA / "france_nantes_tempus" / "nantes_subset_2014.osm.pbf"
GTFS = DATA / "france_nantes_tempus" / "tan_nantes_gtfs_2014.zip"


def _context(bbox: tuple[float, float, float, float]) -> Any:
    import geopandas as gpd
    import shapely

    from parcours.geo.crs import LAMBERT93, WGS84
    from parcours.territories.readers import ReadContext

    area = gpd.GeoSeries([shapely.box(*bbox)], crs=WGS84).to_crs(LAMBERT93).iloc[0]
    return ReadContext(crs=LAMBERT93, area=area.buffer(5000))


def _osm(queue: Any) -> None:
    from parcours.territories.readers import read_osm

    start = time.perf_counter()
    layers = read_osm(PBF, _context((-1.575, 47.199, -1.536, 47.222)))
    elapsed = time.perf_counter() - start
    rows = sum(len(layer.frame) for layer in layers)
    queue.put((elapsed, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def _gtfs(queue: Any) -> None:
    from parcours.territories.readers import read_gtfs

    start = time.perf_counter()
    layers = read_gtfs([GTFS], _context((-1.80, 47.10, -1.30, 47.35)))
    elapsed = time.perf_counter() - start
    rows = sum(len(layer.frame) for layer in layers)
    queue.put((elapsed, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def _pandas_stop_times(queue: Any) -> None:
    import pandas as pd

    start = time.perf_counter()
    with zipfile.ZipFile(GTFS) as archive, archive.open("stop_times.txt") as stream:
        frame = pd.read_csv(stream, dtype=str)
    elapsed = time.perf_counter() - start
    queue.put((elapsed, len(frame), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def _run(target: Any) -> tuple[float, int, float]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=target, args=(queue,))
    process.start()
    elapsed, rows, maxrss_kib = queue.get(timeout=600)
    process.join()
    return elapsed, rows, maxrss_kib / 1024.0


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main() -> None:
    """Run the benchmark and print a table of medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = [
        ("parcours read_osm (Nantes PBF, streets+POIs)", _osm),
        ("parcours read_gtfs (TAN full feed, all tables)", _gtfs),
        ("baseline pandas.read_csv stop_times.txt only", _pandas_stop_times),
    ]
    print(
        f"machine: {_cpu_model()}, {mp.cpu_count()} cores, "
        f"Python {platform.python_version()}; median of {args.repeat} runs, fresh process each"
    )
    print(f"{'case':<50} {'seconds':>8} {'rows':>10} {'rows/s':>12} {'peak MiB':>9}")
    for label, target in cases:
        runs = [_run(target) for _ in range(args.repeat)]
        seconds = statistics.median(r[0] for r in runs)
        rows = runs[0][1]
        peak = statistics.median(r[2] for r in runs)
        print(f"{label:<50} {seconds:>8.2f} {rows:>10,} {rows / seconds:>12,.0f} {peak:>9.0f}")


if __name__ == "__main__":
    main()
