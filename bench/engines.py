"""Benchmark: parcours' native engine against networkx, pandana, pyraptor and exact references.

One process, one table. Two datasets:

* São Paulo (r5py sample): the 323 H3 hexgrid centroids, all to all, Monday 2019-05-13 08:00,
  ``spo_osm.pbf`` + ``spo_gtfs.zip`` (headway-based SPTrans feed);
* Nantes: the full TAN feed (2014) + the central-Nantes PBF, 1,000 seeded random origins x
  1,000 seeded random destinations inside the PBF's box (-1.575,47.199 to -1.536,47.222),
  Tuesday 2014-05-13 08:00.

Street modes (walk, bike, car). ``parcours`` is timed twice: the r5py-compatible
``travel_time_matrix`` on the points (snapping, off-street legs, the long result frame), and
``StreetGraph.travel_times_s`` between the graph nodes nearest to the points. The peers do what
an osmnx user does on ``graph.to_networkx()``: ``nx.single_source_dijkstra_path_length(G,
node, cutoff=7200, weight="travel_time")`` per origin node, and pandana's
``shortest_path_lengths`` (contraction hierarchies) on the same directed edges; both answer the
same node-level many-to-many as the second parcours row, and their times must equal it.
The peers have no car turn costs: that row runs with ``turn_costs=False``; a third car row
times the same node matrix with R5's turn costs (the edge-based search that
``travel_time_matrix`` runs for car).

Walk + transit, 60-minute window, percentiles 5/25/50/75/95, ``max_time`` 2 h (r5py's
defaults otherwise). ``parcours`` is range RAPTOR; the references are exact single-departure
searches, run at each of the 60 minutes:

* ``parcours x60``: parcours' own single-departure path, ``travel_time_matrix(...,
  departure_time_window=timedelta(minutes=1))`` called 60 times (full pipeline each time);
* ``CSA x60``: a plain-Python Connection Scan (same journey model and legs: access and egress
  walks and stop-to-stop transfers from the parcours street engine, 60 s boarding slack, no ride
  limit), scheduled feeds only (not São Paulo's headways);
* ``pyraptor``: pyraptor 1.3.10's pure-Python ``RaptorAlgorithm`` (its route scan and labels,
  60 searches per origin). Its own GTFS step (``pyraptor/gtfs/timetable.py``) is written for the
  Dutch NS feed and fails on both feeds (TAN's routes.txt has no agency_id, SPTrans has no
  trip_short_name), so the bench builds its ``Route``/``Trip``/``TripStopTime`` objects from the
  same service-day trips as parcours; the 60 s boarding slack is modelled by giving pyraptor
  departure times 60 s early (pyraptor uses them only to board), no-pickup and no-drop-off stop
  times are closed; origins start from all their access stops at once (pyraptor's ``run`` takes
  one start time: the bench's ``run_from`` gives each stop its own) and walking transfers replace
  its same-station platform changes (one walk after each ride, not a chain). pyraptor has no
  frequencies.txt: on São Paulo it runs on the trips of one seeded Monte Carlo draw of the
  headways (timing only). pyraptor is not exact; a check (5 departures of one origin) compares
  its stop arrivals, as is and with its route scan corrected, with parcours' exact RAPTOR to
  show where its differences come from.

The slow peers run on a seeded subsample of the origins (all destinations); their full-matrix
seconds are extrapolated linearly and labelled so. Peers that cannot run are listed with the
reason. Correctness is checked in the same run: node-level street times of networkx and
pandana against parcours (max abs difference, seconds), and the transit percentiles of the
exact references against parcours' range-RAPTOR percentiles on the subsample.

Timing: parcours rows are the median of ``--repeat`` (3) warm runs; the first call, which builds
the street graph (and, for transit, the timetable, the transfers and compiles the numba kernels),
is a separate row. Peers are one run (``[1 run]``) or extrapolated (``[extrap]``).
Peak MiB is the process's peak resident set size during that row's runs (Linux ``VmHWM``,
reset through ``/proc/self/clear_refs`` before each row; without it, the lifetime peak
``ru_maxrss``), so it includes the interpreter, the libraries and the loaded networks.

A temporary ``PARCOURS_HOME`` and ``NUMBA_CACHE_DIR`` are used (deleted at the end): the run does
not touch the user's workspace, and the numba compile time is a real cold compile.

Installing the peers (once, online; the benchmark then runs offline)::

    # pandana 0.8 has a cp311 manylinux wheel and downgrades nothing here:
    .venv/bin/pip install --dry-run pandana && .venv/bin/pip install pandana
    # pyraptor 1.3.10 pins pandas<2 (it would downgrade pandas): a throwaway venv. It also
    # imports attrs without declaring it, and pandas 1.5 wheels need numpy<2 to import:
    python3.11 -m venv /tmp/pyraptor-venv
    /tmp/pyraptor-venv/bin/pip install pyraptor==1.3.10 attrs "numpy<2"

pyraptor is then imported from that venv (``--pyraptor-site``, default
``/tmp/pyraptor-venv/lib/python3.11/site-packages``): the folder is appended to ``sys.path``
after ours, so numpy and pandas stay ours; the RAPTOR modules need only numpy, attrs, loguru
and joblib (not pandas).

Usage::

    .venv/bin/python bench/engines.py            # full run (several minutes)
    .venv/bin/python bench/engines.py --quick    # small smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SPO = DATA / "sao_paulo_r5py"
NANTES = DATA / "france_nantes_tempus"
NANTES_BBOX = (-1.575, 47.199, -1.536, 47.222)
DEFAULT_PYRAPTOR_SITE = "/tmp/pyraptor-venv/lib/python3.11/site-packages"
PERCENTILES = (5, 25, 50, 75, 95)
WINDOW_MIN = 60
MAX_TIME_S = 7200
SLACK_S = 60
MAX_RIDES = 8
INF32 = 2_147_483_647


# --------------------------------------------------------------------------- measuring


class Meter:
    """Wall time and peak resident memory of a call."""

    def __init__(self) -> None:
        self.resettable = self._reset()

    @staticmethod
    def _reset() -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    @staticmethod
    def _status_kib(key: str) -> float | None:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return float(line.split()[1])
        except OSError:
            return None
        return None

    def rss_mib(self) -> float:
        kib = self._status_kib("VmRSS")
        return (kib or 0.0) / 1024.0

    def begin(self) -> None:
        if self.resettable:
            self._reset()

    def peak_mib(self) -> float:
        if self.resettable:
            kib = self._status_kib("VmHWM")
            if kib is not None:
                return kib / 1024.0
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    def once(self, fn: Callable[[], Any]) -> tuple[float, Any, float]:
        """Run ``fn`` once: seconds, result, peak MiB."""
        self.begin()
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        return seconds, result, self.peak_mib()

    def median(self, fn: Callable[[], Any], repeat: int) -> tuple[float, Any, float]:
        """Median seconds of ``repeat`` runs, last result, peak MiB over the runs."""
        self.begin()
        times = []
        result = None
        for _ in range(repeat):
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times), result, self.peak_mib()


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence C-level writes to stdout (pandana's contraction-hierarchy messages)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with Path(os.devnull).open("wb") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


# --------------------------------------------------------------------------- the table


@dataclass
class Row:
    dataset: str
    mode: str
    engine: str
    size: str = ""
    seconds: float | None = None
    timing: str = ""  # "med3", "1 run", "extrap", "" (not run)
    n_origins: int = 0  # for the rates (full-matrix counts)
    n_pairs: int = 0
    peak_mib: float | None = None
    speedup: float | None = None
    note: str = ""

    def cells(self) -> list[str]:
        if self.seconds is None:
            secs = rate_o = rate_p = "-"
        else:
            secs = f"{_num(self.seconds)} [{self.timing}]"
            rate_o = _num(self.n_origins / self.seconds) if self.n_origins else "-"
            rate_p = _num(self.n_pairs / self.seconds) if self.n_pairs else "-"
        return [
            self.dataset,
            self.mode,
            self.engine,
            self.size,
            secs,
            rate_o,
            rate_p,
            "-" if self.peak_mib is None else f"{self.peak_mib:.0f}",
            "-" if self.speedup is None else f"{self.speedup:.1f}x",
            self.note,
        ]


HEADER = [
    "dataset",
    "mode",
    "engine",
    "origins x destinations",
    "seconds",
    "origins/s",
    "pairs/s",
    "peak MiB",
    "speedup vs parcours",
    "note",
]


def _num(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def render(rows: list[Row]) -> str:
    """A Markdown table (readable as plain text)."""
    cells = [HEADER, *(r.cells() for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    lines = []
    for n, line in enumerate(cells):
        lines.append(
            "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
        )
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# --------------------------------------------------------------------------- datasets


@dataclass
class Dataset:
    name: str
    osm: Path
    gtfs: Path
    departure: dt.datetime
    origins: Any  # GeoDataFrame
    destinations: Any  # GeoDataFrame or None (all to all)
    n_ref: int  # origins of the parcours x60 reference
    n_csa: int  # origins of the Connection Scan reference
    n_pyraptor: int  # origins of pyraptor
    scheduled: bool  # no headway-based trips

    @property
    def n_o(self) -> int:
        return len(self.origins)

    @property
    def n_d(self) -> int:
        return len(self.origins if self.destinations is None else self.destinations)

    @property
    def size(self) -> str:
        return f"{self.n_o} x {self.n_d}"


def _points(lon: Any, lat: Any, prefix: str) -> Any:
    import geopandas as gpd

    ids = [f"{prefix}{i}" for i in range(len(lon))]
    return gpd.GeoDataFrame({"id": ids}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def datasets(args: argparse.Namespace) -> list[Dataset]:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(args.seed)
    hexgrid = pd.read_csv(SPO / "spo_hexgrid.csv")
    if args.quick:
        hexgrid = hexgrid.iloc[np.sort(rng.choice(len(hexgrid), 40, replace=False))]
    spo_points = gpd.GeoDataFrame(
        {"id": hexgrid["id"].astype(str).to_numpy()},
        geometry=gpd.points_from_xy(hexgrid["lon"], hexgrid["lat"]),
        crs="EPSG:4326",
    )
    n = 100 if args.quick else 1000
    west, south, east, north = NANTES_BBOX
    o_lon, o_lat = rng.uniform(west, east, n), rng.uniform(south, north, n)
    d_lon, d_lat = rng.uniform(west, east, n), rng.uniform(south, north, n)
    quick = args.quick
    return [
        Dataset(
            "sao_paulo",
            SPO / "spo_osm.pbf",
            SPO / "spo_gtfs.zip",
            dt.datetime(2019, 5, 13, 8, 0),
            spo_points,
            None,
            n_ref=10 if quick else len(spo_points),
            n_csa=0,
            n_pyraptor=0 if quick else 1,
            scheduled=False,
        ),
        Dataset(
            "nantes",
            NANTES / "nantes_subset_2014.osm.pbf",
            NANTES / "tan_nantes_gtfs_2014.zip",
            dt.datetime(2014, 5, 13, 8, 0),
            _points(o_lon, o_lat, "o"),
            _points(d_lon, d_lat, "d"),
            n_ref=10 if quick else n,
            n_csa=3 if quick else 200,
            n_pyraptor=1 if quick else 3,
            scheduled=True,
        ),
    ]


# --------------------------------------------------------------------------- streets


@dataclass
class StreetContext:
    ds: Dataset
    network: Any
    rows: list[Row]
    meter: Meter
    repeat: int
    checks: list[str] = field(default_factory=list)


def _graph_for(network: Any, mode: str) -> Any:
    # the graphs travel_time_matrix uses with r5py's default speeds
    if mode == "walk":
        return network.street_graph("walk", speed_kmh=3.6)
    if mode == "bike":
        return network.street_graph("bike", speed_kmh=12.0)
    return network.street_graph("car")


def _node_points(graph: Any, nodes: Any) -> Any:
    """SnappedPoints exactly at graph nodes (on an edge leaving or entering each node)."""
    import numpy as np

    from parcours.accessibility.streets import SnappedPoints

    edges = graph.edge_geometries()
    first_out = np.full(graph.n_nodes, -1, dtype=np.int64)
    first_in = np.full(graph.n_nodes, -1, dtype=np.int64)
    index = np.arange(len(edges), dtype=np.int64)
    first_out[edges.from_node[::-1]] = index[::-1]
    first_in[edges.to_node[::-1]] = index[::-1]
    use_out = first_out[nodes] >= 0
    edge = np.where(use_out, first_out[nodes], first_in[nodes])
    fraction = np.where(use_out, 0.0, 1.0)
    ok = edge >= 0
    x, y = graph.node_x[nodes], graph.node_y[nodes]
    return SnappedPoints(
        edge=edge,
        fraction=np.where(ok, fraction, np.nan),
        snap_distance_m=np.where(ok, 0.0, np.nan),
        ok=ok,
        point_x=x,
        point_y=y,
        snapped_x=x,
        snapped_y=y,
    )


def _nearest_nodes(graph: Any, frame: Any, crs: Any) -> Any:
    import numpy as np
    from scipy.spatial import cKDTree

    from parcours.accessibility.network import PointSet

    points = PointSet.from_frame(frame, crs, name="points")
    tree = cKDTree(np.c_[graph.node_x, graph.node_y])
    _, nodes = tree.query(np.c_[points.x_m, points.y_m])
    return nodes  # one per point, repeats kept: an osmnx user loops over the points


def _compare(label: str, ours: Any, theirs: Any) -> tuple[str, float]:
    import numpy as np

    both = np.isfinite(ours) & np.isfinite(theirs)
    reach = int(np.count_nonzero(np.isfinite(ours) != np.isfinite(theirs)))
    diff = float(np.max(np.abs(ours[both] - theirs[both]))) if both.any() else 0.0
    text = (
        f"{label}: max |diff| {diff:.3g} s over {int(both.sum()):,} pairs reached by both"
        f", {reach} pairs reached by one only"
    )
    return text, diff if reach == 0 else math.inf


def street_mode(ctx: StreetContext, mode: str, peers: dict[str, Any]) -> None:
    import numpy as np

    from parcours.accessibility.matrix import travel_time_matrix

    ds, net, meter = ctx.ds, ctx.network, ctx.meter
    kw = {"transport_modes": [mode], "departure": ds.departure}

    def matrix() -> Any:
        return travel_time_matrix(net, ds.origins, ds.destinations, **kw)

    pairs = ds.n_o * ds.n_d
    seconds, _, peak = meter.once(matrix)
    ctx.rows.append(
        Row(
            ds.name,
            mode,
            "parcours cold (graph build + 1st call)",
            ds.size,
            seconds,
            "1 run",
            ds.n_o,
            pairs,
            peak,
            note="street graph built from the streets layer, then cached",
        )
    )
    base_s, frame, peak = meter.median(matrix, ctx.repeat)
    reached = float(frame["travel_time"].notna().mean())
    ctx.rows.append(
        Row(
            ds.name,
            mode,
            "parcours travel_time_matrix",
            ds.size,
            base_s,
            f"med{ctx.repeat}",
            ds.n_o,
            pairs,
            peak,
            1.0,
            f"points: snap + off-street legs + r5py frame; {reached:.0%} reached",
        )
    )

    graph = _graph_for(net, mode)
    dest_frame = ds.origins if ds.destinations is None else ds.destinations
    o_nodes = _nearest_nodes(graph, ds.origins, net.crs)
    d_nodes = _nearest_nodes(graph, dest_frame, net.crs)
    so, sd = _node_points(graph, o_nodes), _node_points(graph, d_nodes)
    n_size = (
        f"{len(o_nodes)} x {len(d_nodes)} nearest nodes "
        f"({len(np.unique(o_nodes))} x {len(np.unique(d_nodes))} distinct)"
    )
    n_pairs = len(o_nodes) * len(d_nodes)

    def nodes_matrix() -> Any:
        # the peers have no car turn costs: compared without them (timed below with them)
        return graph.travel_times_s(so, sd, max_time_s=MAX_TIME_S, turn_costs=False)

    node_s, ours, peak = meter.median(nodes_matrix, ctx.repeat)
    ctx.rows.append(
        Row(
            ds.name,
            mode,
            "parcours StreetGraph.travel_times_s",
            n_size,
            node_s,
            f"med{ctx.repeat}",
            len(o_nodes),
            n_pairs,
            peak,
            node_s / base_s,
            f"same node-level many-to-many as the peers; {graph.n_nodes} nodes, "
            f"{graph.n_edges} edges" + (", no turn costs" if mode == "car" else ""),
        )
    )
    if mode == "car":

        def turns_matrix() -> Any:
            return graph.travel_times_s(so, sd, max_time_s=MAX_TIME_S)

        turns_s, _, peak = meter.median(turns_matrix, ctx.repeat)
        ctx.rows.append(
            Row(
                ds.name,
                mode,
                "parcours StreetGraph.travel_times_s, turn costs",
                n_size,
                turns_s,
                f"med{ctx.repeat}",
                len(o_nodes),
                n_pairs,
                peak,
                turns_s / base_s,
                "R5's car turn costs (edge-based search), as travel_time_matrix",
            )
        )

    # networkx, as an osmnx user would
    import networkx as nx

    t0 = time.perf_counter()
    G = graph.to_networkx()
    to_nx_s = time.perf_counter() - t0
    osm = graph.node_osm_id
    o_ids, d_ids = osm[o_nodes].tolist(), osm[d_nodes].tolist()

    def run_nx() -> Any:
        out = np.empty((len(o_ids), len(d_ids)))
        for i, source in enumerate(o_ids):
            dist = nx.single_source_dijkstra_path_length(
                G, source, cutoff=MAX_TIME_S, weight="travel_time"
            )
            out[i] = [dist.get(d, math.inf) for d in d_ids]
        return out

    nx_s, theirs, peak = meter.once(run_nx)
    text, diff = _compare(f"{ds.name} {mode} networkx vs parcours (nodes)", ours, theirs)
    ctx.checks.append(text)
    ctx.rows.append(
        Row(
            ds.name,
            mode,
            f"networkx {nx.__version__} single_source_dijkstra",
            n_size,
            nx_s,
            "1 run",
            len(o_nodes),
            n_pairs,
            peak,
            nx_s / base_s,
            f"{nx_s / node_s:.0f}x parcours nodes; max |diff| {diff:.2g} s; "
            f"to_networkx() {to_nx_s:.2f} s not timed",
        )
    )

    pandana = peers.get("pandana")
    if isinstance(pandana, str):
        ctx.rows.append(Row(ds.name, mode, "pandana", n_size, note=pandana))
        return
    import pandas as pd

    edges = graph.edge_geometries()
    ids = np.arange(graph.n_nodes)

    def build() -> Any:
        with quiet_stdout():
            return pandana.Network(
                pd.Series(graph.node_x, index=ids),
                pd.Series(graph.node_y, index=ids),
                pd.Series(edges.from_node),
                pd.Series(edges.to_node),
                pd.DataFrame({"travel_time": edges.travel_time_s}),
                twoway=False,
            )

    build_s, pnet, peak = meter.once(build)
    ctx.rows.append(
        Row(
            ds.name,
            mode,
            f"pandana {pandana.__version__} build (contraction hierarchies)",
            f"{graph.n_nodes} nodes",
            build_s,
            "1 run",
            peak_mib=peak,
            note="one-off preprocessing of the graph",
        )
    )
    src = np.repeat(o_nodes, len(d_nodes))
    dst = np.tile(d_nodes, len(o_nodes))

    def run_pandana() -> Any:
        with warnings.catch_warnings(), quiet_stdout():
            warnings.simplefilter("ignore")
            lengths = pnet.shortest_path_lengths(src, dst, imp_name="travel_time")
        out = np.asarray(lengths, dtype=np.float64).reshape(len(o_nodes), len(d_nodes))
        # pandana's "unconnected" value, and no cutoff: apply the others' 2 h limit
        out[(out >= 4294967.0) | (out > MAX_TIME_S)] = math.inf
        return out

    pd_s, theirs, peak = meter.median(run_pandana, ctx.repeat)
    text, diff = _compare(f"{ds.name} {mode} pandana vs parcours (nodes)", ours, theirs)
    ctx.checks.append(text)
    ctx.rows.append(
        Row(
            ds.name,
            mode,
            f"pandana {pandana.__version__} shortest_path_lengths",
            n_size,
            pd_s,
            f"med{ctx.repeat}",
            len(o_nodes),
            n_pairs,
            peak,
            pd_s / base_s,
            f"{pd_s / node_s:.1f}x parcours nodes; max |diff| {diff:.2g} s "
            "(pandana stores ms integers)",
        )
    )


# --------------------------------------------------------------------------- transit legs


@dataclass
class Legs:
    """Access, egress and walk-only times, as parcours computes them (public API)."""

    access: list[list[tuple[int, int]]]  # per origin: (stop, seconds)
    egress: Any  # (n_stops, n_dest) float seconds, inf when none
    walk_only: Any  # (n_origins, n_dest) float seconds, inf when none
    same: Any  # (n_origins, n_dest) bool: same id (time 0)


def transit_legs(ds: Dataset, network: Any, tt: Any, origin_rows: Any) -> Legs:
    import numpy as np

    from parcours.accessibility.network import MAX_EGRESS_WALK_M, PointSet

    graph = network.street_graph("walk", speed_kmh=3.6)
    o = PointSet.from_frame(ds.origins.iloc[origin_rows], network.crs, name="origins")
    dest_frame = ds.origins if ds.destinations is None else ds.destinations
    d = PointSet.from_frame(dest_frame, network.crs, name="destinations")
    so, sd = graph.snap(o.x_m, o.y_m), graph.snap(d.x_m, d.y_m)
    stops = network.snapped_stops(tt, graph)
    limit = MAX_TIME_S  # max_time_walking defaults to max_time (r5py)
    access = graph.travel_times_s(so, stops, max_time_s=limit)
    egress_limit = min(limit, MAX_EGRESS_WALK_M / 1.0)  # R5's 2,000 m at 3.6 km/h (1 m/s)
    egress = graph.travel_times_s(stops, sd, max_time_s=egress_limit)
    walk = graph.travel_times_s(so, sd, max_time_s=limit)
    per_origin = []
    for i in range(len(o)):
        (hit,) = np.nonzero(access[i] <= limit)
        per_origin.append([(int(s), math.ceil(access[i, s])) for s in hit])
    egress = np.where(egress <= egress_limit, np.ceil(egress), np.inf)
    walk = np.where(walk <= limit, walk, np.inf)
    same = o.ids[:, None] == d.ids[None, :]
    return Legs(per_origin, egress, walk, same)


def percentile_minutes(times_s: Any, same: Any) -> Any:
    """R5's percentiles of per-minute travel seconds -> whole minutes, NaN unreachable."""
    import numpy as np

    ordered = np.sort(times_s, axis=0)
    n = times_s.shape[0]
    index = [min(max(math.ceil(p / 100.0 * n) - 1, 0), n - 1) for p in PERCENTILES]
    minutes = np.floor(ordered[index] / 60.0)
    minutes = np.where(np.isfinite(minutes) & (minutes < MAX_TIME_S / 60), minutes, np.nan)
    minutes[:, same] = 0.0
    return minutes


def egress_times(arrival: Any, dep: int, legs: Legs, row: int) -> Any:
    """Travel seconds to every destination from the arrivals at the stops (one minute)."""
    import numpy as np

    arr = np.where(arrival < INF32, arrival.astype(np.float64), np.inf)
    best = np.min(arr[:, None] + legs.egress, axis=0) - dep
    best = np.minimum(best, legs.walk_only[row])
    return np.where(best < MAX_TIME_S, best, np.inf)


# --------------------------------------------------------------------------- connection scan


def walk_lists(transfers: Any) -> list[list[tuple[int, int]]]:
    ptr, to, secs = transfers.ptr.tolist(), transfers.to_stop.tolist(), transfers.walk_s.tolist()
    return [
        list(zip(to[ptr[s] : ptr[s + 1]], secs[ptr[s] : ptr[s + 1]], strict=True))
        for s in range(transfers.n_stops)
    ]


# --------------------------------------------------------------------------- pyraptor


def load_pyraptor(site: str) -> Any:
    """pyraptor's modules, or the reason they cannot be imported."""
    try:
        import pyraptor  # noqa: F401
    except ImportError:
        if site and Path(site).is_dir():
            sys.path.append(site)  # after ours: numpy and pandas stay ours
        else:
            return (
                f"not installed (no {site}): pip install pyraptor==1.3.10 attrs 'numpy<2' "
                "in a throwaway venv (it pins pandas<2)"
            )
    try:
        import pyraptor.model.raptor as raptor
        import pyraptor.model.structures as structures
        from loguru import logger

        logger.remove()  # its DEBUG/INFO logging of every round goes to stderr otherwise
    except Exception as exc:  # any import problem is reported in the table
        return f"not importable: {type(exc).__name__}: {exc}"
    try:
        from importlib.metadata import version

        raptor.VERSION = version("pyraptor")
    except Exception:
        raptor.VERSION = "?"
    return raptor, structures


def pyraptor_timetable(tt: Any, transfers: Any, modules: Any) -> tuple[Any, Any]:
    """pyraptor objects for the service day's scheduled trips (see the module docstring)."""
    raptor, S = modules
    large = raptor.LARGE_NUMBER if hasattr(raptor, "LARGE_NUMBER") else INF32
    stations, stops = S.Stations(), S.Stops()
    stop_objs = []
    for sid in tt.stop_ids.tolist():
        station = stations.add(S.Station(sid, sid))
        stop = S.Stop(sid, sid, station, "?")
        station.add_stop(stop)
        stop_objs.append(stops.add(stop))
    trips, routes = S.Trips(), S.Routes()
    arr_s, dep_s = tt.arrival_s, tt.departure_s
    for p in range(tt.n_patterns):
        if tt.pattern_freq_ptr[p + 1] != tt.pattern_freq_ptr[p] or tt.pattern_draw[p] > 0:
            continue
        s0, s1 = int(tt.pattern_stop_ptr[p]), int(tt.pattern_stop_ptr[p + 1])
        pstops = tt.pattern_stops[s0:s1].tolist()
        board = tt.pattern_board[s0:s1].tolist()
        alight = tt.pattern_alight[s0:s1].tolist()
        t0, t1 = int(tt.pattern_trip_ptr[p]), int(tt.pattern_trip_ptr[p + 1])
        nt, base = t1 - t0, int(tt.pattern_time_ptr[p])
        for k in range(nt):
            trip = S.Trip()
            trip.hint = str(tt.trip_ids[t0 + k])
            for i, s in enumerate(pstops):
                arrival = int(arr_s[base + i * nt + k]) if alight[i] else large
                # pyraptor boards when label <= dts_dep: 60 s early = R5's boarding slack
                departure = int(dep_s[base + i * nt + k]) - SLACK_S if board[i] else -large
                tst = S.TripStopTime(trip, i, stop_objs[s], arrival, departure, 0)
                # add_stop_time() asserts arrival <= departure, which the shift breaks
                trip.stop_times.append(tst)
                trip.stop_times_index[stop_objs[s]] = i
            trips.add(trip)
            routes.add(trip)
    table = S.Timetable(
        stations=stations,
        stops=stops,
        trips=trips,
        trip_stop_times=S.TripStopTimes(),
        routes=routes,
        transfers=S.Transfers(),
    )
    walks = {
        stop_objs[s]: [(stop_objs[r], w) for r, w in lst]
        for s, lst in enumerate(walk_lists(transfers))
    }
    return table, (stop_objs, walks)


def pyraptor_engine(modules: Any) -> Any:
    raptor, _ = modules
    from copy import deepcopy

    class AccessRaptor(raptor.RaptorAlgorithm):
        """pyraptor's RAPTOR started from several stops at their own times, with footpaths."""

        def __init__(self, timetable: Any, walks: dict[Any, list[tuple[Any, int]]]) -> None:
            super().__init__(timetable)
            self.walks = walks

        def run_from(self, access: list[tuple[Any, int]], rounds: int) -> dict[Any, Any]:
            # RaptorAlgorithm.run with one start time per access stop, and walks in round 0
            label = raptor.Label
            bag: dict[int, dict[Any, Any]] = {
                k: {p: label() for p in self.timetable.stops} for k in range(rounds + 1)
            }
            self.bag_star = {p: label() for p in self.timetable.stops}
            marked = []
            for stop, t in access:
                if t < bag[0][stop].earliest_arrival_time:
                    bag[0][stop].update(t, None, None)
                    self.bag_star[stop].update(t, None, None)
                    marked.append(stop)
            walked_from = [(stop, bag[0][stop].earliest_arrival_time) for stop in marked]
            for stop, t in walked_from:  # one walk after the access walk, not a chain
                for other, w in self.walks[stop]:
                    if t + w < self.bag_star[other].earliest_arrival_time:
                        bag[0][other].update(t + w, None, stop)
                        self.bag_star[other].update(t + w, None, stop)
                        marked.append(other)
            for k in range(1, rounds + 1):
                bag[k] = deepcopy(bag[k - 1])
                if not marked:
                    break
                route_marked_stops = self.accumulate_routes(marked)
                bag, marked_trip_stops = self.traverse_routes(bag, k, route_marked_stops)
                bag, marked_transfer_stops = self.add_transfer_time(bag, k, marked_trip_stops)
                marked = set(marked_trip_stops).union(marked_transfer_stops)
            return self.bag_star

        def add_transfer_time(self, bag_round_stop: Any, k: int, marked_stops: Any) -> Any:
            # pyraptor's loop, over the walking transfers instead of a station's platforms;
            # walks start from the ride arrivals (read before any walk of this round changes
            # a label: pyraptor's loop would otherwise chain walks)
            new_stops = []
            rides = [(s, bag_round_stop[k][s].earliest_arrival_time) for s in set(marked_stops)]
            for current_stop, time_sofar in rides:
                for arrive_stop, w in self.walks[current_stop]:
                    new_earliest_arrival = time_sofar + w
                    if new_earliest_arrival < self.bag_star[arrive_stop].earliest_arrival_time:
                        bag_round_stop[k][arrive_stop].update(
                            new_earliest_arrival, None, current_stop
                        )
                        self.bag_star[arrive_stop].update(new_earliest_arrival, None, current_stop)
                        new_stops.append(arrive_stop)
            return bag_round_stop, new_stops

    class PatchedRaptor(AccessRaptor):
        """pyraptor with its route scan corrected, R5's walk rule: for the check only."""

        def run_from(self, access: list[tuple[Any, int]], rounds: int) -> dict[Any, Any]:
            self.ride_labels: dict[tuple[int, Any], int] = {}
            return super().run_from(access, rounds)

        def traverse_routes(self, bag_round_stop: Any, k: int, route_marked_stops: Any) -> Any:
            bag_round_stop = deepcopy(bag_round_stop)
            new_stops = []
            for marked_route, marked_stop in route_marked_stops:
                current_trip = None
                start = marked_route.stop_index(marked_stop)
                for current_stop in marked_route.stops[start:]:
                    if current_trip is not None:
                        new_arrival_time = current_trip.get_stop(current_stop).dts_arr
                        # fix 3: walks start from every improved ride arrival (R5, parcours)
                        if new_arrival_time < self.ride_labels.get((k, current_stop), INF32):
                            self.ride_labels[k, current_stop] = new_arrival_time
                            new_stops.append(current_stop)
                        if new_arrival_time < self.bag_star[current_stop].earliest_arrival_time:
                            bag_round_stop[k][current_stop].update(new_arrival_time, current_trip)
                            self.bag_star[current_stop].update(new_arrival_time, current_trip)
                    # fix 1: board from the previous round's label (pyraptor: round k's)
                    previous = bag_round_stop[k - 1][current_stop].earliest_arrival_time
                    tst = marked_route.earliest_trip_stop_time(previous, current_stop)
                    # fix 2: switch only to an earlier trip (pyraptor: to any catchable one)
                    if (
                        tst is not None
                        and previous <= tst.dts_dep
                        and (
                            current_trip is None
                            or tst.dts_dep < current_trip.get_stop(current_stop).dts_dep
                        )
                    ):
                        current_trip = tst.trip
            return bag_round_stop, new_stops

        def add_transfer_time(self, bag_round_stop: Any, k: int, marked_stops: Any) -> Any:
            new_stops = []
            for stop in set(marked_stops):
                ride = self.ride_labels[k, stop]
                for other, w in self.walks[stop]:
                    if ride + w < self.bag_star[other].earliest_arrival_time:
                        bag_round_stop[k][other].update(ride + w, None, stop)
                        self.bag_star[other].update(ride + w, None, stop)
                        new_stops.append(other)
            return bag_round_stop, new_stops

    return AccessRaptor, PatchedRaptor


def pyraptor_check(
    tt: Any,
    transfers: Any,
    access: list[tuple[int, int]],
    prepared: tuple[Any, list[Any], dict[Any, Any]],
    classes: tuple[Any, Any],
    dep0: int,
    n_minutes: int,
) -> str:
    """Stop arrivals of pyraptor (as is, and patched) against parcours' exact RAPTOR."""
    import numpy as np

    from parcours.accessibility.transit import raptor_range

    table, stop_objs, walks = prepared
    exact = raptor_range(
        tt,
        transfers,
        np.array([s for s, _ in access], dtype=np.int64),
        np.array([a for _, a in access], dtype=np.int64),
        np.zeros(len(access), dtype=np.int64),
        1,
        dep0,
        n_minutes * 60,
        max_rides=MAX_RIDES,
        max_time_s=MAX_TIME_S,
    )[:, 0]
    counts = []
    for cls in classes:
        engine = cls(table, walks)
        later = earlier = 0
        for m in range(n_minutes):
            dep = dep0 + 60 * m
            star = engine.run_from([(stop_objs[s], dep + a) for s, a in access], MAX_RIDES)
            best = np.array([star[s].earliest_arrival_time for s in stop_objs])
            best = np.where(best > dep + MAX_TIME_S, INF32, best)
            later += int(np.count_nonzero(best > exact[m]))
            earlier += int(np.count_nonzero(best < exact[m]))
        counts.append((later, earlier))
    n = exact.size
    (later, earlier), (p_later, p_earlier) = counts
    return (
        f"stop arrivals, 1 origin x {n_minutes} minutes ({n:,} labels) vs parcours' exact "
        f"RAPTOR: pyraptor as is later on {later:,}, earlier on {earlier:,}; patched (board "
        f"from round k-1 labels, switch only to an earlier trip, walk from every improved "
        f"ride arrival) later on {p_later:,}, earlier on {p_earlier:,}"
    )


# --------------------------------------------------------------------------- transit


def _agreement(label: str, ours: Any, theirs: Any) -> tuple[str, bool, str]:
    """Compare percentile minutes (NaN = unreachable) on the same pairs."""
    import numpy as np

    equal = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))
    p50 = PERCENTILES.index(50)
    n = equal[p50].size
    ok50 = int(equal[p50].sum())
    both = np.isfinite(ours[p50]) & np.isfinite(theirs[p50])
    diff = float(np.max(np.abs(ours[p50][both] - theirs[p50][both]))) if both.any() else 0.0
    all_ok = bool(equal.all())
    text = (
        f"{label}: p50 equal on {ok50:,}/{n:,} pairs (max |diff| {diff:.0f} min); "
        f"all five percentiles equal: {all_ok} ({int(equal.sum()):,}/{equal.size:,})"
    )
    short = f"p50 equal {ok50 / n:.1%}" + ("" if ok50 == n else f", max |diff| {diff:.0f} min")
    return text, ok50 == n, short


def transit(
    ds: Dataset,
    network: Any,
    rows: list[Row],
    meter: Meter,
    repeat: int,
    checks: list[str],
    peers: dict[str, Any],
    seed: int,
    first_dataset: bool,
) -> float:
    import numpy as np

    from parcours.accessibility.matrix import travel_time_matrix
    from parcours.accessibility.reference import connection_scan, timetable_connections

    mode = "walk+transit"
    kw = {
        "transport_modes": ["transit", "walk"],
        "departure": ds.departure,
        "departure_time_window": dt.timedelta(minutes=WINDOW_MIN),
        "percentiles": list(PERCENTILES),
        "max_time": dt.timedelta(seconds=MAX_TIME_S),
    }
    n_o, n_d = ds.n_o, ds.n_d
    pairs = n_o * n_d

    def matrix() -> Any:
        return travel_time_matrix(network, ds.origins, ds.destinations, **kw)

    cold_s, _, peak = meter.once(matrix)
    compile_note = "numba JIT compile (cold cache)" if first_dataset else "kernels compiled"
    rows.append(
        Row(
            ds.name,
            mode,
            "parcours cold (timetable + transfers + 1st call)",
            ds.size,
            cold_s,
            "1 run",
            n_o,
            pairs,
            peak,
            note=f"includes {compile_note}",
        )
    )
    base_s, frame, peak = meter.median(matrix, repeat)
    cols = [f"travel_time_p{p}" for p in PERCENTILES]
    ours = np.stack([frame[c].to_numpy(dtype=np.float64).reshape(n_o, n_d) for c in cols])
    reached = float(np.isfinite(ours[PERCENTILES.index(50)]).mean())
    rows.append(
        Row(
            ds.name,
            mode,
            "parcours travel_time_matrix (range RAPTOR)",
            ds.size,
            base_s,
            f"med{repeat}",
            n_o,
            pairs,
            peak,
            1.0,
            f"60-min window, p5..p95, 2 threads; p50 reached {reached:.0%}",
        )
    )

    service_day = ds.departure.date()
    tt = network.timetable(service_day)
    transfers = network.transfers(service_day, speed_walking_kmh=3.6)
    order = np.random.default_rng(seed).permutation(n_o)
    dep0 = ds.departure.hour * 3600 + ds.departure.minute * 60

    # --- reference 1: parcours' single-departure path, 60 times
    sub = np.sort(order[: ds.n_ref])
    sub_frame = ds.origins.iloc[sub]
    dests = ds.origins if ds.destinations is None else ds.destinations

    def single_x60() -> Any:
        out = np.empty((WINDOW_MIN, len(sub), n_d), dtype=np.float32)  # whole minutes
        for m in range(WINDOW_MIN):
            single = travel_time_matrix(
                network,
                sub_frame,
                dests,
                transport_modes=["transit", "walk"],
                departure=ds.departure + dt.timedelta(minutes=m),
                departure_time_window=dt.timedelta(minutes=1),
                percentiles=[50],
                max_time=dt.timedelta(seconds=MAX_TIME_S),
            )
            minutes = single["travel_time"].to_numpy(dtype=np.float64).reshape(len(sub), n_d)
            out[m] = np.where(np.isnan(minutes), np.inf, minutes * 60.0)
        return out

    ref_s, per_minute, peak = meter.once(single_x60)
    same = np.zeros((len(sub), n_d), dtype=bool)  # travel_time_matrix already set them to 0
    ref_minutes = percentile_minutes(per_minute, same)
    del per_minute
    text, _, short = _agreement(
        f"{ds.name} parcours x60 single departures vs range (subsample {len(sub)} origins)",
        ours[:, sub],
        ref_minutes,
    )
    checks.append(text)
    full_s = ref_s * n_o / len(sub)
    rows.append(
        Row(
            ds.name,
            mode,
            "parcours x60 (window=1 min, exact reference)",
            f"{len(sub)} x {n_d} of {ds.size}",
            full_s,
            "extrap" if len(sub) < n_o else "1 run",
            n_o,
            pairs,
            peak,
            full_s / base_s,
            (f"extrapolated from {len(sub)} origins ({ref_s:.1f} s); " if len(sub) < n_o else "")
            + short,
        )
    )

    # --- reference 2: plain-Python Connection Scan, 60 times
    n_csa = min(ds.n_csa, n_o)
    if not ds.scheduled or n_csa == 0:
        rows.append(
            Row(
                ds.name,
                mode,
                "CSA x60 (plain Python, exact reference)",
                "-",
                note="not run: headway-based feed (frequencies.txt); this CSA has scheduled "
                "trips only",
            )
        )
    else:
        sub_c = np.sort(order[:n_csa])
        legs = transit_legs(ds, network, tt, sub_c)
        t0 = time.perf_counter()
        conns = timetable_connections(tt)
        prep_s = time.perf_counter() - t0

        def run_csa() -> Any:
            out = np.empty((WINDOW_MIN, len(sub_c), n_d))
            for i in range(len(sub_c)):
                for m in range(WINDOW_MIN):
                    dep = dep0 + 60 * m
                    best = connection_scan(
                        conns, transfers, tt.n_stops, legs.access[i], dep, dep + MAX_TIME_S
                    )
                    out[m, i] = egress_times(np.asarray(best), dep, legs, i)
            return out

        csa_s, per_minute, peak = meter.once(run_csa)
        text, _, short = _agreement(
            f"{ds.name} CSA x60 vs parcours range (subsample {len(sub_c)} origins)",
            ours[:, sub_c],
            percentile_minutes(per_minute, legs.same),
        )
        checks.append(text)
        full_s = csa_s * n_o / len(sub_c)
        rows.append(
            Row(
                ds.name,
                mode,
                "CSA x60 (plain Python, exact reference)",
                f"{len(sub_c)} x {n_d} of {ds.size}",
                full_s,
                "extrap",
                n_o,
                pairs,
                peak,
                full_s / base_s,
                f"extrapolated from {len(sub_c)} origins ({csa_s:.1f} s; {len(conns[0]):,} "
                f"connections, built in {prep_s:.2f} s); {short}",
            )
        )

    # --- pyraptor
    modules = peers.get("pyraptor")
    if isinstance(modules, str):
        rows.append(Row(ds.name, mode, "pyraptor 1.3.10", "-", note=modules))
        return base_s
    raptor, _ = modules
    n_pyr = min(ds.n_pyraptor, n_o)
    sub_p = np.sort(order[: max(n_pyr, 1)])
    legs = transit_legs(ds, network, tt, sub_p)
    if ds.scheduled:
        tt_p, model_note = tt, ""
    else:
        from parcours.accessibility.transit import Timetable

        tt_p = Timetable.build(network._tables, service_day, frequency_draws=1, seed=seed)
        model_note = "headways as one seeded draw of scheduled trips: timing only; "
    build_s, (table, (stop_objs, walks)), peak = meter.once(
        lambda: pyraptor_timetable(tt_p, transfers, modules)
    )
    rows.append(
        Row(
            ds.name,
            mode,
            f"pyraptor {raptor.VERSION} build (bench's GTFS step)",
            f"{len(table.trips)} trips",
            build_s,
            "1 run",
            peak_mib=peak,
            note=f"{len(table.routes)} routes; Route/Trip/TripStopTime objects",
        )
    )
    classes = pyraptor_engine(modules)
    check = pyraptor_check(
        tt_p, transfers, legs.access[0], (table, stop_objs, walks), classes, dep0, 5
    )
    checks.append(f"{ds.name} pyraptor {check}")
    if n_pyr == 0:
        rows.append(
            Row(
                ds.name,
                mode,
                f"pyraptor {raptor.VERSION} RaptorAlgorithm x60",
                "-",
                note="skipped in --quick (about 80 s per origin here)",
            )
        )
        return base_s

    def run_pyraptor() -> Any:
        out = np.empty((WINDOW_MIN, len(sub_p), n_d))
        engine = classes[0](table, walks)
        for i in range(len(sub_p)):
            for m in range(WINDOW_MIN):
                dep = dep0 + 60 * m
                access = [(stop_objs[s], dep + a) for s, a in legs.access[i]]
                star = engine.run_from(access, MAX_RIDES)
                best = np.array([star[s].earliest_arrival_time for s in stop_objs])
                best = np.where(best > dep + MAX_TIME_S, INF32, best)
                out[m, i] = egress_times(best, dep, legs, i)
        return out

    pyr_s, per_minute, peak = meter.once(run_pyraptor)
    theirs = percentile_minutes(per_minute, legs.same)
    if ds.scheduled:
        text, _, short = _agreement(
            f"{ds.name} pyraptor vs parcours range (subsample {len(sub_p)} origins)",
            ours[:, sub_p],
            theirs,
        )
        checks.append(text + " (informative: pyraptor is not an exact reference)")
    else:
        short = "not compared (other frequency model)"
    full_s = pyr_s * n_o / len(sub_p)
    rows.append(
        Row(
            ds.name,
            mode,
            f"pyraptor {raptor.VERSION} RaptorAlgorithm x60",
            f"{len(sub_p)} x {n_d} of {ds.size}",
            full_s,
            "extrap",
            n_o,
            pairs,
            peak,
            full_s / base_s,
            f"extrapolated from {len(sub_p)} origins ({pyr_s:.1f} s); {model_note}{short}",
        )
    )
    return base_s


# --------------------------------------------------------------------------- machine


def machine() -> list[str]:
    def sh(cmd: str) -> str:
        try:
            return subprocess.run(
                cmd, shell=True, capture_output=True, text=True, check=False
            ).stdout.strip()
        except OSError:
            return "?"

    import networkx
    import numba
    import numpy
    import pandas
    import scipy

    import parcours

    mem_kib = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        line = Path("/proc/meminfo").read_text().splitlines()[0]
        mem_kib = float(line.split()[1])
    model = sh("lscpu | grep 'Model name'").split(":", 1)[-1].strip()
    return [
        f"date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine: nproc={os.cpu_count()} ({sh('nproc')} usable), CPU {model}, "
        f"RAM {mem_kib / 1024 / 1024:.1f} GiB, {platform.platform()}, load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        f"python {platform.python_version()}; parcours {parcours.__version__}, numpy "
        f"{numpy.__version__}, scipy {scipy.__version__}, numba {numba.__version__} "
        f"({numba.config.NUMBA_NUM_THREADS} threads), pandas {pandas.__version__}, networkx "
        f"{networkx.__version__}",
    ]


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--repeat", type=int, default=3, help="warm parcours runs (median)")
    parser.add_argument("--seed", type=int, default=20140513)
    parser.add_argument(
        "--pyraptor-site",
        default=os.environ.get("PARCOURS_BENCH_PYRAPTOR_SITE", DEFAULT_PYRAPTOR_SITE),
        help="site-packages of the venv holding pyraptor 1.3.10",
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="parcours-bench-"))
    os.environ["PARCOURS_HOME"] = str(home)
    os.environ["NUMBA_CACHE_DIR"] = str(home / "numba-cache")  # before numba is imported
    try:
        run(args, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def progress(started: float, text: str) -> None:
    elapsed = time.perf_counter() - started
    print(f"[{elapsed:6.0f} s, load {os.getloadavg()[0]:.2f}] {text}", flush=True)


def run(args: argparse.Namespace, home: Path) -> None:
    started = time.perf_counter()
    meter = Meter()
    peers: dict[str, Any] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pandana

        peers["pandana"] = pandana
    except ImportError as exc:
        peers["pandana"] = f"not installable/installed: {exc} (pip install pandana)"
    peers["pyraptor"] = load_pyraptor(args.pyraptor_site)

    from parcours.accessibility.network import TransportNetwork

    info = machine()
    print("\n".join(info), flush=True)
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}", flush=True)
    if not meter.resettable:
        print("note: /proc/self/clear_refs not writable: peak MiB is the lifetime peak")

    rows: list[Row] = []
    checks: list[str] = []
    summary: dict[str, float] = {}
    sizes: dict[str, str] = {}
    all_datasets = datasets(args)
    first = all_datasets[0].name
    for n, ds in enumerate(all_datasets):
        sizes[ds.name] = ds.size
        progress(started, f"{ds.name}: {ds.size}")
        baseline = meter.rss_mib()
        load_s, network, peak = meter.once(
            lambda ds=ds: TransportNetwork.from_files(ds.osm, [ds.gtfs], home=home)
        )
        rows.append(
            Row(
                ds.name,
                "-",
                "parcours network load (OSM + GTFS -> workspace)",
                f"{ds.osm.name} + {ds.gtfs.name}",
                load_s,
                "1 run",
                peak_mib=peak,
                note=f"cold, empty PARCOURS_HOME; process RSS before {baseline:.0f} MiB",
            )
        )
        ctx = StreetContext(ds, network, rows, meter, args.repeat, checks)
        for mode in ("walk", "bike", "car"):
            progress(started, f"{ds.name} {mode}")
            street_mode(ctx, mode, peers)
        progress(started, f"{ds.name} transit")
        summary[ds.name] = transit(
            ds, network, rows, meter, args.repeat, checks, peers, args.seed, n == 0
        )

    print()
    print(render(rows))
    print()
    print(
        "seconds: [medN] median of N warm runs, [1 run] single run, [extrap] measured on the "
        "subsample of origins shown and scaled linearly to the full matrix; origins/s and "
        "pairs/s are for the full matrix; speedup vs parcours = row seconds / seconds of "
        "'parcours travel_time_matrix' for the same dataset and mode (> 1: parcours is "
        "faster); peak MiB = process peak RSS during the row (interpreter, libraries and "
        "loaded networks included)."
    )
    print()
    print("correctness:")
    for line in checks:
        print(f"  {line}")
    print()
    print("targets:")
    ratios = []
    for row in rows:
        if row.engine.startswith("networkx") and row.seconds:
            node = next(
                r
                for r in rows
                if r.dataset == row.dataset
                and r.mode == row.mode
                and r.engine.startswith("parcours StreetGraph")
            )
            ratios.append((row.dataset, row.mode, row.seconds / node.seconds, row.speedup))
    for name, mode, node_ratio, api_ratio in ratios:
        print(
            f"  {name} {mode}: networkx / parcours = {node_ratio:.0f}x node-level, "
            f"{api_ratio:.1f}x vs travel_time_matrix (target >= 50x): "
            f"{'met' if node_ratio >= 50 else 'NOT met'} node-level, "
            f"{'met' if api_ratio >= 50 else 'NOT met'} travel_time_matrix"
        )
    for name, seconds in summary.items():
        cold = next(
            r.seconds
            for r in rows
            if r.dataset == name and r.mode == "walk+transit" and "cold" in r.engine
        )
        print(
            f"  {name} walk+transit {sizes[name]}, 60-min window: {seconds:.1f} s warm, "
            f"{cold:.1f} s for the first call (timetable, transfers"
            f"{', numba compile' if name == first else ''}) (target for Nantes < 120 s): "
            f"{'met' if max(seconds, cold or 0) < 120 else 'NOT met'}"
        )
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\ntotal benchmark time: {time.perf_counter() - started:.0f} s (load average {load})")


if __name__ == "__main__":
    main()
