"""Benchmark: carpool matching on the demo territory (fictional), 500 offers x 1,000 requests.

Builds the demo territory in a temporary workspace, draws random offers (homes on streets,
destinations near four job sites) and requests, then times index construction (direct car
times of the offers) and ``CarpoolIndex.match``. Prints a table of medians over
``--repeat`` runs; also the share of (request, offer) pairs the rtree lets through.

Usage (from the checkout): ``PYTHONPATH=. python bench/carpool.py [--offers 500] [--requests 1000]
[--repeat 3]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from parcours.accessibility import TransportNetwork
from parcours.geo.crs import LAMBERT93, WGS84, transformer
from parcours.matching.carpool import CarpoolIndex, CarpoolOffer
from parcours.territories import Workspace
from parcours.territories.demo import load_demo, write_demo_sources

SITES = ("logistics_zone", "hospital", "france_travail", "station")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offers", type=int, default=500)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        workspace = Workspace(root / "workspace")
        sources = write_demo_sources(root / "sources")
        territory = load_demo(workspace, sources)
        network = TransportNetwork(territory)
        areas = territory.layer("carpool")
        rng = np.random.default_rng(11)
        to_wgs = transformer(LAMBERT93, WGS84)
        streets = territory.layer("streets").to_crs(LAMBERT93)
        streets = streets[streets["highway"].isin(["residential", "tertiary", "secondary"])]
        streets = streets[streets["access"].isna() & streets["motor_vehicle"].isna()]
        lines = streets.geometry.to_numpy()
        n_total = args.offers + args.requests
        picked = lines[rng.integers(0, len(lines), n_total)]
        points = shapely.line_interpolate_point(picked, rng.uniform(0, 1, n_total), normalized=True)
        hlon, hlat = to_wgs.transform(shapely.get_x(points), shapely.get_y(points))
        sites = np.array([sources.places[k] for k in SITES], dtype=float)
        dest = sites[rng.integers(0, len(sites), n_total)] + rng.uniform(-250, 250, (n_total, 2))
        dlon, dlat = to_wgs.transform(dest[:, 0], dest[:, 1])

        def clock(low_h: float, high_h: float) -> dt.time:
            m = int(rng.integers(int(low_h * 60), int(high_h * 60)))
            return dt.time(m // 60, m % 60)

        offers = []
        for i in range(args.offers):
            kind = rng.integers(0, 3)
            offers.append(
                CarpoolOffer(
                    f"o{i}",
                    (float(hlon[i]), float(hlat[i])),
                    (float(dlon[i]), float(dlat[i])),
                    frozenset(int(d) for d in rng.choice(7, int(rng.integers(1, 7)), False)),
                    clock(5, 9) if kind != 1 else None,
                    clock(12, 22) if kind != 0 else None,
                    flexibility_min=int(rng.integers(0, 31)),
                    seats=int(rng.integers(0, 4)),
                    max_detour_min=float(rng.uniform(2, 20)),
                )
            )
        j = np.arange(args.offers, n_total)
        aller = rng.integers(0, 2, args.requests).astype(bool)
        requests = pd.DataFrame(
            {
                "request_id": [f"r{k}" for k in range(args.requests)],
                "home_lon": hlon[j],
                "home_lat": hlat[j],
                "dest_lon": dlon[j],
                "dest_lat": dlat[j],
                "day": rng.integers(0, 7, args.requests),
                "direction": np.where(aller, "aller", "retour"),
                "time": [clock(5, 9.5) if a else clock(12, 22) for a in aller],
            }
        )
        build_s, match_s = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            index = CarpoolIndex(network, offers, areas=areas)
            build_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            found = index.match(requests)
            match_s.append(time.perf_counter() - start)
        frame = index._check_requests(requests, max_walk_min=10.0, limit=3)
        candidates = index._candidates(frame, index._near_areas(frame))
        kept = len(candidates) / (args.offers * args.requests)
        print(
            "| offers | requests | build index (s) | match (s) | matches | requests matched "
            "| rtree candidates |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {args.offers} | {args.requests} | {statistics.median(build_s):.2f} "
            f"| {statistics.median(match_s):.2f} | {len(found)} "
            f"| {found['request_id'].nunique()} | {len(candidates)} ({kept:.0%}) |"
        )


if __name__ == "__main__":
    main()
