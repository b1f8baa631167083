"""Benchmark: walk + transit matrices on city-size workloads, the whole CLI command and its phases.

The workload of the r5r paper's benchmark (a city's OSM extract and GTFS, every hexagon
centroid to every other, walk + transit, 120-minute departure window, percentiles
5/25/50/75/95, ``--max-time 120``), on the data of ``../shared/data``:

* ``sao_paulo``: r5py's São Paulo sample, the 323 H3 centroids of ``spo_hexgrid.csv`` all to
  all, ``spo_osm.pbf`` + ``spo_gtfs.zip`` (SPTrans, headway-based), Monday 2019-05-13 07:00.
* ``nantes_city``: the **full** TAN feed of 2014 (3,415 stops, 41k trips), which the central
  Nantes PBF of the data folder covers only in part (233 stops). To run the whole network,
  the bench writes a synthetic street lattice over the feed's extent (every stop's box plus
  500 m; streets every 150 m, one primary street in ten, the others residential; about
  33,000 nodes) as an OSM PBF that the real reader ingests. The origins and destinations are
  1,500 real INSEE Filosofi 2019 200 m cells of Nantes Métropole (seeded sample of the 6,842
  populated cells; their centres), all to all: 2.25 million pairs. Tuesday 2014-05-13 07:00.
  The lattice is not Nantes' streets (its walks are Manhattan distances); the transit network,
  the point density and the matrix size are real.

For each workload the bench runs, in one table:

* ``parcours CLI``: the whole ``parcours access matrix --osm ... --gtfs ... --window 120
  --percentiles 5,25,50,75,95 --max-time 120 --out m.parquet`` command in a subprocess, first
  with an empty network cache (the PBF and GTFS read and the network built), then with the
  cache warm (the median of ``--repeat`` runs); wall seconds, origins/s and the peak RSS of
  the child process.
* the phases of the same query in this process (network warm): snapping, timetable,
  transfers, egress table (stops -> destinations), access walks and walk-only times, the
  compiled range-RAPTOR with egress and percentiles (timed also without egress, to separate
  the rounds from the egress and the percentile reduction), and the output frame.
* ``exact x120``: the exact reference, parcours' single-departure search (``--window 1``)
  run at each of the 120 minutes on a seeded sample of origins (``--exact-origins``), with
  R5's percentile rule applied to the 120 results; the table says whether every percentile
  of every sampled pair equals the range search's.
* R5's published figure: under 2 minutes for the r5r paper's workload (1,227 x 1,227,
  120-minute window) on a 4-core laptop, scaled to the 2 cores here (x 2), and the ratio.

Usage::

    .venv/bin/python bench/transit_speed.py                 # both workloads (a few minutes)
    .venv/bin/python bench/transit_speed.py --only sao_paulo
    .venv/bin/python bench/transit_speed.py --points 300    # smaller Nantes sample

A temporary ``PARCOURS_HOME`` is used (deleted at the end); the numba cache is the user's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PERCENTILES = (5, 25, 50, 75, 95)
WINDOW_MIN = 120
MAX_TIME_MIN = 120
#: R5's published time for the r5r paper's workload (4-core laptop), per 2 cores here.
R5_PUBLISHED_S = 120.0
R5_PUBLISHED_CORES = 4


@dataclass
class Workload:
    name: str
    osm: Path
    gtfs: list[Path]
    points: pd.DataFrame  # id, lon, lat
    departure: dt.datetime
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- workloads


def sao_paulo() -> Workload:
    folder = DATA / "sao_paulo_r5py"
    grid = pd.read_csv(folder / "spo_hexgrid.csv")
    points = pd.DataFrame({"id": grid["id"].astype(str), "lon": grid["lon"], "lat": grid["lat"]})
    return Workload(
        "sao_paulo",
        folder / "spo_osm.pbf",
        [folder / "spo_gtfs.zip"],
        points,
        dt.datetime(2019, 5, 13, 7, 0),
    )


def _lattice_pbf(path: Path, bbox: tuple[float, float, float, float], spacing_m: float) -> int:
    """Write a street lattice over ``bbox`` (lon/lat) as an OSM PBF; return its node count."""
    import osmium

    min_lon, min_lat, max_lon, max_lat = bbox
    lat0 = np.radians((min_lat + max_lat) / 2)
    d_lat = spacing_m / 111_320.0
    d_lon = spacing_m / (111_320.0 * np.cos(lat0))
    lons = np.arange(min_lon, max_lon + d_lon / 2, d_lon)
    lats = np.arange(min_lat, max_lat + d_lat / 2, d_lat)
    nx, ny = len(lons), len(lats)

    def node_id(i: int, j: int) -> int:
        return 1 + j * nx + i

    if path.exists():
        path.unlink()
    writer = osmium.SimpleWriter(str(path))
    try:
        for j, lat in enumerate(lats):
            for i, lon in enumerate(lons):
                writer.add_node(
                    osmium.osm.mutable.Node(
                        id=node_id(i, j), location=(float(lon), float(lat)), version=1
                    )
                )
        way = 1
        for j in range(ny):
            kind = "primary" if j % 10 == 0 else "residential"
            writer.add_way(
                osmium.osm.mutable.Way(
                    id=way,
                    nodes=[node_id(i, j) for i in range(nx)],
                    tags={"highway": kind, "name": f"Rang {j}"},
                    version=1,
                )
            )
            way += 1
        for i in range(nx):
            kind = "primary" if i % 10 == 0 else "residential"
            writer.add_way(
                osmium.osm.mutable.Way(
                    id=way,
                    nodes=[node_id(i, j) for j in range(ny)],
                    tags={"highway": kind, "name": f"Colonne {i}"},
                    version=1,
                )
            )
            way += 1
    finally:
        writer.close()
    return nx * ny


def _filosofi_centres(n_points: int, seed: int) -> pd.DataFrame:
    from pyproj import Transformer

    cells = pd.read_csv(
        DATA / "france_nantes_filosofi2019_carreaux" / "carreaux_200m_nantes_metropole_2019.csv",
        usecols=["idcar_200m", "ind"],
    )
    cells = cells[cells["ind"] > 0]
    corner = cells["idcar_200m"].str.extract(r"N(?P<n>\d+)E(?P<e>\d+)").astype(float)
    to_wgs = Transformer.from_crs(3035, 4326, always_xy=True)
    lon, lat = to_wgs.transform(corner["e"].to_numpy() + 100.0, corner["n"].to_numpy() + 100.0)
    frame = pd.DataFrame({"id": cells["idcar_200m"].to_numpy(), "lon": lon, "lat": lat})
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(frame), size=min(n_points, len(frame)), replace=False))
    return frame.iloc[take].reset_index(drop=True)


def nantes_city(work: Path, n_points: int, seed: int) -> Workload:
    gtfs = DATA / "france_nantes_tempus" / "tan_nantes_gtfs_2014.zip"
    with zipfile.ZipFile(gtfs) as archive, archive.open("stops.txt") as handle:
        stops = pd.read_csv(handle, usecols=["stop_lon", "stop_lat"])
    margin_lat = 500 / 111_320.0
    margin_lon = 500 / (111_320.0 * np.cos(np.radians(stops["stop_lat"].mean())))
    bbox = (
        float(stops["stop_lon"].min() - margin_lon),
        float(stops["stop_lat"].min() - margin_lat),
        float(stops["stop_lon"].max() + margin_lon),
        float(stops["stop_lat"].max() + margin_lat),
    )
    pbf = work / "nantes_lattice.osm.pbf"
    n_nodes = _lattice_pbf(pbf, bbox, 150.0)
    points = _filosofi_centres(n_points, seed)
    inside = (
        points["lon"].between(bbox[0], bbox[2]) & points["lat"].between(bbox[1], bbox[3])
    ).to_numpy()
    points = points[inside].reset_index(drop=True)
    return Workload(
        "nantes_city",
        pbf,
        [gtfs],
        points,
        dt.datetime(2014, 5, 13, 7, 0),
        [f"synthetic 150 m street lattice, {n_nodes:,} nodes; {len(points):,} Filosofi cells"],
    )


# --------------------------------------------------------------------------- measuring


def _cli(
    workload: Workload, points_csv: Path, out: Path, env: dict[str, str]
) -> tuple[float, float]:
    """Run the CLI matrix command; return (wall seconds, peak RSS MiB of the child)."""
    command = [
        str(ROOT / ".venv" / "bin" / "parcours"),
        "access",
        "matrix",
        "--osm",
        str(workload.osm),
        *[arg for g in workload.gtfs for arg in ("--gtfs", str(g))],
        "--origins",
        str(points_csv),
        "--departure",
        workload.departure.strftime("%Y-%m-%dT%H:%M"),
        "--window",
        str(WINDOW_MIN),
        "--percentiles",
        ",".join(str(p) for p in PERCENTILES),
        "--max-time",
        str(MAX_TIME_MIN),
        "--out",
        str(out),
    ]
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    stderr = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"parcours access matrix failed:\n{stderr[-3000:]}")
    return wall, usage.ru_maxrss / 1024.0


@contextmanager
def _phase(table: list[tuple[str, float]], label: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    table.append((label, time.perf_counter() - start))


def phases(
    workload: Workload, home: Path, n_exact: int, seed: int
) -> tuple[list[tuple[str, float]], tuple[int, int, float] | None]:
    """Time the query's phases in this process (network loaded first, not timed).

    Then, when ``n_exact`` > 0, the exact reference on ``n_exact`` seeded origins: the
    compiled search run once per departure minute (a 1-minute window) with the same legs,
    R5's percentile rule over the 120 results, compared with the range search's seconds.
    """
    import geopandas as gpd

    from parcours.accessibility import TransportNetwork
    from parcours.accessibility.legs import transit_legs
    from parcours.accessibility.query import MatrixInputs, make_params, seconds_of_day
    from parcours.accessibility.results import matrix_frame, percentile_columns, to_minutes
    from parcours.accessibility.transit import percentiles_r5, travel_time_percentiles

    network = TransportNetwork.from_files(workload.osm, workload.gtfs, home=home)
    points = gpd.GeoDataFrame(
        {"id": workload.points["id"]},
        geometry=gpd.points_from_xy(workload.points["lon"], workload.points["lat"]),
        crs=4326,
    )
    params = make_params(
        transport_modes=["WALK", "TRANSIT"],
        departure=workload.departure,
        departure_time_window=dt.timedelta(minutes=WINDOW_MIN),
        percentiles=PERCENTILES,
        max_time=dt.timedelta(minutes=MAX_TIME_MIN),
    )
    table: list[tuple[str, float]] = []
    network.street_graph("walk")  # loaded, not timed (the CLI's cache)
    with _phase(table, "snapping points"):
        inputs = MatrixInputs.prepare(network, points, None, params)
    day = params.departure.date()
    departure_s = seconds_of_day(params.departure)
    until_s = departure_s + WINDOW_MIN * 60 + MAX_TIME_MIN * 60
    with _phase(table, "timetable + transfers + egress table"):
        legs = transit_legs(
            inputs, day, until_s=until_s, origins=inputs.snapped_origins.take(slice(0, 0))
        )
    with _phase(table, "access walks + walk-only"):
        block = transit_legs(inputs, day, until_s=until_s, reuse=legs)
    n = len(points)
    max_s = MAX_TIME_MIN * 60
    empty = np.zeros(0, dtype=np.int64)

    def search(
        first_s: int, window_s: int, *, egress: bool, pick: np.ndarray | None = None
    ) -> np.ndarray:
        a_origin, a_stop, a_s = block.access_origin, block.access_stop, block.access_s
        walk = block.walk_only_s
        n_o = n
        if pick is not None:
            keep = np.isin(a_origin, pick)
            remap = np.full(n, -1, dtype=np.int64)
            remap[pick] = np.arange(len(pick))
            a_origin, a_stop, a_s = remap[a_origin[keep]], a_stop[keep], a_s[keep]
            walk = walk[pick]
            n_o = len(pick)
        return travel_time_percentiles(
            block.timetable,
            block.transfers,
            a_stop,
            a_s,
            a_origin,
            n_o,
            block.egress_stop if egress else empty,
            block.egress_dest if egress else empty,
            block.egress_s if egress else empty,
            n,
            first_s,
            window_s,
            PERCENTILES,
            max_time_s=max_s,
            walk_only_s=walk if egress else None,
        )

    with _phase(table, "range-RAPTOR rounds only (no egress)"):
        search(departure_s, WINDOW_MIN * 60, egress=False)
    with _phase(table, "range-RAPTOR + egress + percentiles"):
        seconds = search(departure_s, WINDOW_MIN * 60, egress=True)
    with _phase(table, "output frame"):
        columns = {
            name: to_minutes(seconds[k], params.max_time)
            for k, name in enumerate(percentile_columns(PERCENTILES))
        }
        matrix_frame(inputs.origins, inputs.destinations, columns)
    table.append(("(egress table entries)", float(len(block.egress_s))))
    table.append(("(access walk entries)", float(len(block.access_s))))
    table.append(("(stops)", float(block.timetable.n_stops)))
    table.append(("(patterns)", float(block.timetable.n_patterns)))
    if n_exact <= 0:
        return table, None
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n, size=min(n_exact, n), replace=False))
    start = time.perf_counter()
    per_minute = [
        search(departure_s + 60 * m, 60, egress=True, pick=pick)[0] for m in range(WINDOW_MIN)
    ]
    elapsed = time.perf_counter() - start
    expected = np.floor(percentiles_r5(np.stack(per_minute), PERCENTILES) / 60.0)
    got = np.floor(seconds[:, pick] / 60.0)
    same = (got == expected) | (np.isinf(got) & np.isinf(expected))
    return table, (int(same.sum()), int(same.size), elapsed)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["sao_paulo", "nantes_city"], action="append")
    parser.add_argument("--points", type=int, default=1500, help="Nantes Filosofi cells (1,500)")
    parser.add_argument("--repeat", type=int, default=3, help="warm CLI runs (median)")
    parser.add_argument("--exact-origins", type=int, default=10)
    parser.add_argument("--no-exact", action="store_true")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    chosen = args.only or ["sao_paulo", "nantes_city"]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="parcours-bench-") as tmp:
        work = Path(tmp)
        home = work / "home"
        env = dict(os.environ, PARCOURS_HOME=str(home), PARCOURS_LANG="en")
        os.environ["PARCOURS_HOME"] = str(home)
        rows: list[tuple[str, str, float, float, float, str]] = []
        details: dict[str, list[tuple[str, float]]] = {}
        exact: dict[str, tuple[int, int, float]] = {}
        for name in chosen:
            workload = (
                sao_paulo() if name == "sao_paulo" else nantes_city(work, args.points, args.seed)
            )
            csv = work / f"{name}.csv"
            workload.points.to_csv(csv, index=False)
            n = len(workload.points)
            out = work / f"{name}.parquet"
            cold, cold_mib = _cli(workload, csv, out, env)
            rows.append((name, "parcours CLI, network built", cold, n / cold, cold_mib, "[1 run]"))
            warm = [_cli(workload, csv, out, env) for _ in range(args.repeat)]
            wall = statistics.median(w for w, _ in warm)
            rows.append(
                (
                    name,
                    "parcours CLI, network cached",
                    wall,
                    n / wall,
                    max(m for _, m in warm),
                    f"[median of {args.repeat}]",
                )
            )
            scaled = R5_PUBLISHED_S * R5_PUBLISHED_CORES / 2 * (n * n) / (1227 * 1227)
            rows.append(
                (
                    name,
                    "R5 published, per 2 cores, scaled to n^2",
                    scaled,
                    n / scaled,
                    float("nan"),
                    "[published]",
                )
            )
            table, check = phases(
                workload, home, 0 if args.no_exact else args.exact_origins, args.seed
            )
            details[name] = table + [(note, float("nan")) for note in workload.notes]
            if check is not None:
                exact[name] = check
        print()
        print(f"{'workload':<12} {'run':<44} {'seconds':>9} {'orig/s':>8} {'peak MiB':>9}")
        for name, run, seconds, rate, mib, how in rows:
            print(f"{name:<12} {run:<44} {seconds:>9.1f} {rate:>8.1f} {mib:>9.0f}  {how}")
        for name, table in details.items():
            print(f"\nphases, {name} (in process, network warm):")
            for label, value in table:
                if label.startswith("("):
                    print(f"  {label:<44} {value:>12,.0f}")
                elif np.isnan(value):
                    print(f"  {label}")
                else:
                    print(f"  {label:<44} {value:>9.2f} s")
        for name, (equal, total, seconds) in exact.items():
            verdict = "all equal" if equal == total else f"{total - equal} differ"
            print(
                f"\nexact x{WINDOW_MIN} ({name}, {args.exact_origins} origins x all, "
                f"{seconds:.0f} s): "
                f"{equal:,}/{total:,} percentile values equal to the range search: {verdict}"
            )
    print(
        f"\ntotal benchmark time: {time.perf_counter() - started:.0f} s (load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})"
    )


if __name__ == "__main__":
    main()
