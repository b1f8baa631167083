"""Benchmark: ``parcours diagnose`` on Dask, 1, 2 and 4 local workers, against one process.

The workload is a city-size territory built from the real data of ``../shared/data`` by
tiling:

* **one tile** is central Nantes, a box of ``--tile-km`` (default 6 x 5 km) around the
  Place Royale: the real INSEE Filosofi 2019 200 m cells of Nantes Métropole inside it,
  the real TAN feed of 2014 clipped to it (stops inside the box, their stop times, the
  trips left with two stops or more), the real BPE 2021 general practitioners of
  Loire-Atlantique inside it;
* the territory is ``--tiles`` copies of that tile side by side, each shifted east by the
  tile's width in INSEE's grid (EPSG:3035 metres, a multiple of 200 m, so the cells stay
  on the grid): cells with shifted ids, each copy of the feed its own GTFS file with
  shifted stops (the multi-feed reader namespaces the ids), shifted GPs;
* streets: the data folder's Nantes PBF covers only the centre, so a synthetic street
  lattice (the transit bench's, every 150 m) is written over the whole tiled box;
* jobs: the data folder has no SIRENE extract, so a proxy: one job point per stop of the
  clipped feed, weighing a tenth of its stop times (rounded up). The job figures of the
  report are therefore not jobs; the searches, the cells and the network are real-sized.

Each run is the real command in a subprocess, ``parcours diagnose city --out DIR
--date 2014-05-13 --part-size N`` with every mode and band, on an empty run folder:
in one process (numba on the machine's 2 threads, the default without Dask; and with
``NUMBA_NUM_THREADS=1``, one core), then with ``--workers 1``, ``2`` and ``4`` (one
process and one numba thread per worker). Wall seconds, parallel efficiency against
``--workers 1`` (``T1 / (n x Tn)``), the peak resident memory of each worker process
(psutil, sampled every 0.2 s over the process tree) and whether the tables are byte-for-byte
those of the one-process run.

Usage::

    .venv/bin/python bench/cluster.py                 # 2 tiles, about 10 minutes
    .venv/bin/python bench/cluster.py --repeat 3      # medians of 3, about 30 minutes
    .venv/bin/python bench/cluster.py --tiles 1 --workers 1,2
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transit_speed import _lattice_pbf  # the same lattice writer as the transit bench

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PARCOURS = ROOT / ".venv" / "bin" / "parcours"
CENTRE = (-1.5536, 47.2184)  # Place Royale, Nantes
TAN = DATA / "france_nantes_tempus" / "tan_nantes_gtfs_2014.zip"
FILOSOFI = DATA / "france_nantes_filosofi2019_carreaux" / "carreaux_200m_nantes_metropole_2019.csv"
BPE = DATA / "france_loire_atlantique_bpe2021_sante" / "bpe21_D201_medecins_generalistes_dep44.csv"

TO_LAEA = Transformer.from_crs(4326, 3035, always_xy=True)
FROM_LAEA = Transformer.from_crs(3035, 4326, always_xy=True)


def _tile_box(width_km: float, height_km: float) -> tuple[float, float, float, float]:
    """The tile in EPSG:3035 metres, snapped outward to the 200 m grid."""
    x, y = TO_LAEA.transform(*CENTRE)
    west = math.floor((x - width_km * 500) / 200) * 200
    east = math.ceil((x + width_km * 500) / 200) * 200
    south = math.floor((y - height_km * 500) / 200) * 200
    north = math.ceil((y + height_km * 500) / 200) * 200
    return west, south, east, north


def _shift_lonlat(lon: np.ndarray, lat: np.ndarray, dx_m: float) -> tuple[np.ndarray, np.ndarray]:
    x, y = TO_LAEA.transform(lon, lat)
    return FROM_LAEA.transform(np.asarray(x) + dx_m, np.asarray(y))


def _clipped_feed(box: tuple[float, float, float, float]) -> dict[str, pd.DataFrame]:
    """The TAN feed's tables, clipped to the tile."""
    with zipfile.ZipFile(TAN) as archive:
        tables = {
            name.removesuffix(".txt"): pd.read_csv(archive.open(name), dtype=str)
            for name in archive.namelist()
            if name.endswith(".txt")
        }
    stops = tables["stops"]
    x, y = TO_LAEA.transform(stops["stop_lon"].astype(float), stops["stop_lat"].astype(float))
    inside = (x >= box[0]) & (x < box[2]) & (y >= box[1]) & (y < box[3])
    keep_ids = set(stops.loc[inside, "stop_id"])
    if "parent_station" in stops.columns:
        parents = set(stops.loc[inside, "parent_station"].dropna())
        keep_ids |= parents
    tables["stops"] = stops[stops["stop_id"].isin(keep_ids)].reset_index(drop=True)
    times = tables["stop_times"]
    times = times[times["stop_id"].isin(keep_ids)]
    counts = times.groupby("trip_id").size()
    trips_kept = set(counts[counts >= 2].index)
    times = times[times["trip_id"].isin(trips_kept)].copy()
    times["stop_sequence"] = times["stop_sequence"].astype(int)
    tables["stop_times"] = times.sort_values(["trip_id", "stop_sequence"]).reset_index(drop=True)
    tables["trips"] = tables["trips"][tables["trips"]["trip_id"].isin(trips_kept)]
    tables["routes"] = tables["routes"][
        tables["routes"]["route_id"].isin(set(tables["trips"]["route_id"]))
    ]
    if "transfers" in tables:
        t = tables["transfers"]
        tables["transfers"] = t[t["from_stop_id"].isin(keep_ids) & t["to_stop_id"].isin(keep_ids)]
    return tables


def build_sources(work: Path, tiles: int, width_km: float, height_km: float) -> dict[str, object]:
    """Write the tiled territory's sources; return the load arguments and facts."""
    box = _tile_box(width_km, height_km)
    width_m = box[2] - box[0]
    feed = _clipped_feed(box)
    # cells of the tile, then shifted copies
    cells = pd.read_csv(FILOSOFI, dtype={"idcar_200m": str, "lcog_geo": str})
    corner = cells["idcar_200m"].str.extract(r"N(?P<n>\d+)E(?P<e>\d+)").astype(int)
    inside = (
        (corner["e"] >= box[0])
        & (corner["e"] < box[2])
        & (corner["n"] >= box[1])
        & (corner["n"] < box[3])
    )
    base, base_corner = cells[inside].reset_index(drop=True), corner[inside].reset_index(drop=True)
    parts = []
    for t in range(tiles):
        copy = base.copy()
        copy["idcar_200m"] = [
            f"CRS3035RES200mN{n}E{e + t * width_m}"
            for n, e in zip(base_corner["n"], base_corner["e"], strict=True)
        ]
        for column in ("idcar_1km", "idcar_nat"):
            if column in copy.columns:
                copy = copy.drop(columns=column)
        parts.append(copy)
    population = work / "carreaux_tuiles.csv"
    pd.concat(parts, ignore_index=True).to_csv(population, index=False)
    # one feed per tile
    gtfs_files = []
    jobs_rows = []
    per_stop = feed["stop_times"].groupby("stop_id").size()
    for t in range(tiles):
        stops = feed["stops"].copy()
        lon, lat = _shift_lonlat(
            stops["stop_lon"].astype(float).to_numpy(),
            stops["stop_lat"].astype(float).to_numpy(),
            t * width_m,
        )
        stops["stop_lon"] = np.round(lon, 7)
        stops["stop_lat"] = np.round(lat, 7)
        path = work / f"tan_tuile{t + 1}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, table in {**feed, "stops": stops}.items():
                buffer = io.StringIO()
                table.to_csv(buffer, index=False)
                archive.writestr(f"{name}.txt", buffer.getvalue())
        gtfs_files.append(path)
        weight = stops["stop_id"].map(per_stop).fillna(0)
        for lon_i, lat_i, w in zip(stops["stop_lon"], stops["stop_lat"], weight, strict=True):
            if w > 0:
                jobs_rows.append({"lon": lon_i, "lat": lat_i, "jobs": float(math.ceil(w / 10))})
    jobs = pd.DataFrame(jobs_rows)
    jobs.insert(0, "id", [f"stop-job-{i}" for i in range(len(jobs))])
    jobs_file = work / "emplois_proxy_arrets.csv"
    jobs.to_csv(jobs_file, index=False)
    # GPs of the tile, shifted
    bpe = pd.read_csv(BPE, sep=";", dtype=str)
    to_2154 = Transformer.from_crs(3035, 2154, always_xy=True)
    from_2154 = Transformer.from_crs(2154, 3035, always_xy=True)
    bx, by = from_2154.transform(bpe["LAMBERT_X"].astype(float), bpe["LAMBERT_Y"].astype(float))
    bx, by = np.asarray(bx), np.asarray(by)
    in_tile = (bx >= box[0]) & (bx < box[2]) & (by >= box[1]) & (by < box[3])
    copies = []
    for t in range(tiles):
        part = bpe[in_tile].copy()
        lx, ly = to_2154.transform(bx[in_tile] + t * width_m, by[in_tile])
        part["LAMBERT_X"] = np.round(lx, 2)
        part["LAMBERT_Y"] = np.round(ly, 2)
        lon, lat = FROM_LAEA.transform(bx[in_tile] + t * width_m, by[in_tile])
        part["Longitude"] = lon
        part["Latitude"] = lat
        copies.append(part)
    services = work / "bpe21_D201_tuiles.csv"
    pd.concat(copies).to_csv(services, sep=";", index=False)
    # streets over the whole tiled box
    west, south = FROM_LAEA.transform(box[0] - 300, box[1] - 300)
    east, north = FROM_LAEA.transform(box[2] + (tiles - 1) * width_m + 300, box[3] + 300)
    pbf = work / "lattice.osm.pbf"
    nodes = _lattice_pbf(pbf, (west, south, east, north), 150.0)
    inner_w, inner_s = FROM_LAEA.transform(box[0], box[1])
    inner_e, inner_n = FROM_LAEA.transform(box[2] + (tiles - 1) * width_m, box[3])
    return {
        "bbox": f"{inner_w:.6f},{inner_s:.6f},{inner_e:.6f},{inner_n:.6f}",
        "load": [
            "--osm",
            str(pbf),
            *[a for f in gtfs_files for a in ("--gtfs", str(f))],
            "--population",
            str(population),
            "--jobs",
            str(jobs_file),
            "--services",
            str(services),
        ],
        "facts": {
            "tiles": tiles,
            "tile m": f"{width_m} x {box[3] - box[1]}",
            "cells (Filosofi rows)": len(base) * tiles,
            "stops": len(feed["stops"]) * tiles,
            "trips": len(feed["trips"]) * tiles,
            "stop times": len(feed["stop_times"]) * tiles,
            "job points (proxy)": len(jobs),
            "GPs": int(in_tile.sum()) * tiles,
            "lattice nodes": nodes,
        },
    }


def _run(command: list[str], env: dict[str, str]) -> tuple[float, list[float], str]:
    """Run a command; wall seconds, each worker process's peak RSS (MiB), stderr."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        peaks: dict[int, float] = {}
        names: dict[int, str] = {}
        stop = threading.Event()

        def sample() -> None:
            try:
                parent = psutil.Process(child.pid)
            except psutil.NoSuchProcess:
                return
            while not stop.is_set():
                try:
                    family = [parent, *parent.children(recursive=True)]
                except psutil.NoSuchProcess:
                    break
                for process in family:
                    try:
                        rss = process.memory_info().rss / 2**20
                        names.setdefault(process.pid, " ".join(process.cmdline()))
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
                    peaks[process.pid] = max(peaks.get(process.pid, 0.0), rss)
                stop.wait(0.2)

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        code = child.wait()
        stop.set()
        watcher.join()
        wall = time.perf_counter() - start
        err.seek(0)
        text = err.read().decode(errors="replace")
    if code != 0:
        raise SystemExit(f"{' '.join(command[1:4])} failed ({code}):\n{text[-3000:]}")
    # the worker processes are the nannies' children started by multiprocessing's spawn
    workers = [peaks[pid] for pid, name in names.items() if "spawn_main" in name]
    if not workers:  # in process: the command itself
        workers = [peaks.get(child.pid, float("nan"))]
    return wall, sorted(workers, reverse=True), text


def _same_tables(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in (a / "tables").glob("*.csv"))
    return bool(names) and all(
        (a / "tables" / n).read_bytes() == (b / "tables" / n).read_bytes() for n in names
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiles", type=int, default=2)
    parser.add_argument("--tile-km", default="6x5", help="width x height of a tile, km")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--part-size", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (median)")
    parser.add_argument("--work", type=Path, default=None, help="keep the files here")
    parser.add_argument(
        "--no-one-process", action="store_true", help="only the Dask runs (a quicker check)"
    )
    args = parser.parse_args()
    width_km, height_km = (float(v) for v in args.tile_km.split("x"))
    counts = [int(v) for v in args.workers.split(",")]
    tmp = tempfile.TemporaryDirectory(prefix="parcours-bench-cluster-")
    work = args.work or Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    subprocess.run(["rm", "-rf", str(home)], check=True)
    env = {**os.environ, "PARCOURS_HOME": str(home), "PARCOURS_LANG": "en"}
    print(f"date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}")
    print(
        f"machine: nproc={os.cpu_count()}, RAM {psutil.virtual_memory().total / 2**30:.1f} GiB, "
        f"{platform.platform()}, python {platform.python_version()}"
    )
    print(f"command: python bench/cluster.py {' '.join(sys.argv[1:])}")
    started = time.perf_counter()
    sources = build_sources(work, args.tiles, width_km, height_km)
    subprocess.run(
        [str(PARCOURS), "territory", "create", "city", f"--bbox={sources['bbox']}",
         "--buffer-km", "0"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [str(PARCOURS), "territory", "load", "city", *sources["load"]],  # type: ignore[list-item]
        env=env,
        check=True,
        capture_output=True,
    )
    print(f"sources built and loaded in {time.perf_counter() - started:.0f} s")
    for key, value in sources["facts"].items():  # type: ignore[attr-defined]
        print(f"  {key}: {value}")
    base = [
        str(PARCOURS), "diagnose", "city", "--date", "2014-05-13",
        "--part-size", str(args.part_size),
    ]  # fmt: skip
    cases: list[tuple[str, list[str], dict[str, str]]] = [
        ("one process, numba 2 threads", [], {}),
        ("one process, numba 1 thread", [], {"NUMBA_NUM_THREADS": "1"}),
        *[(f"--workers {n}", ["--workers", str(n)], {}) for n in counts],
    ]
    if args.no_one_process:
        cases = cases[2:]
    rows = []
    reference: Path | None = None
    for label, extra, more_env in cases:
        walls = []
        peaks: list[float] = []
        for r in range(args.repeat):
            subprocess.run(["rm", "-rf", str(home / ".runs")], check=True)
            out = work / f"out-{len(rows)}-{r}"
            wall, peaks, _ = _run([*base, "--out", str(out), *extra], {**env, **more_env})
            walls.append(wall)
            if reference is None:
                reference = out
            same = _same_tables(reference, out)
        rows.append((label, statistics.median(walls), peaks, same, extra))
        print(f"  ... {label}: {statistics.median(walls):.1f} s", flush=True)
    one = next((r[1] for r in rows if r[4] == ["--workers", "1"]), None)
    print()
    print(
        f"{'run':<32} {'wall s':>8} {'efficiency':>11} {'workers':>8} "
        f"{'peak MiB per worker':<24} {'tables = one process':<20}"
    )
    for label, wall, peaks, same, extra in rows:
        n = int(extra[1]) if extra else None
        efficiency = f"{one / (n * wall):.0%}" if one and n else ""
        peak_text = ", ".join(f"{p:.0f}" for p in peaks)
        print(
            f"{label:<32} {wall:>8.1f} {efficiency:>11} {n or 1:>8} {peak_text:<24} "
            f"{'yes' if same else 'NO':<20}"
        )
    print(f"median of {args.repeat} run(s) each; the run folder emptied before each run")
    if args.work is None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
