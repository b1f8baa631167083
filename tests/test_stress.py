"""Cyclists' level of traffic stress: R5's labels, and cyclists walking on stressful streets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from parcours.accessibility import TransportNetwork, travel_time_matrix
from parcours.accessibility.streets.stress import traffic_stress

TAGS = ("highway", "maxspeed", "lanes", "cycleway", "cycleway_left", "cycleway_right")


def _labels(rows: list[dict[str, str]], cars: list[bool]) -> list[tuple[int, int]]:
    frame = pd.DataFrame([{t: row.get(t) for t in TAGS} for row in rows])
    forward, backward = traffic_stress(frame, np.array(cars))
    return list(zip(forward.tolist(), backward.tolist(), strict=True))


def test_r5_labels_by_rule() -> None:
    rows = [
        {"highway": "cycleway"},  # no car: 1
        {"highway": "service"},  # unlabelled
        {"highway": "residential", "maxspeed": "50"},  # small street: 1
        {"highway": "primary", "maxspeed": "30", "lanes": "2"},  # slow, few lanes, no bike lane: 4
        {"highway": "primary", "maxspeed": "30", "cycleway": "lane"},  # bike lane: default 2
        {"highway": "primary", "maxspeed": "50", "cycleway_right": "lane"},  # lane along: 3 / 4
        {"highway": "tertiary"},  # no speed, lanes unknown: default 3, LTS 3 both ways
        {"highway": "tertiary", "lanes": "2"},  # <= 3 lanes, no speed: 2
        {"highway": "tertiary", "maxspeed": "70", "cycleway": "opposite"},  # 2 against, 3 along
        {"highway": "secondary", "maxspeed": "20 mph", "lanes": "4"},  # 32 km/h but 4 lanes: 4
        {"highway": "unclassified", "maxspeed": "FR:urban"},  # not a speed for R5: 3
    ]
    cars = [False, True, True, True, True, True, True, True, True, True, True]
    assert _labels(rows, cars) == [
        (1, 1),
        (0, 0),
        (1, 1),
        (4, 4),
        (2, 2),
        (3, 4),
        (3, 3),
        (2, 2),
        (3, 2),
        (4, 4),
        (3, 3),
    ]


@pytest.fixture(scope="module")
def nantes(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> TransportNetwork:
    folder = shared_data / "france_nantes_tempus"
    return TransportNetwork.from_files(
        folder / "nantes_subset_2014.osm.pbf",
        [folder / "tan_nantes_gtfs_2014.zip"],
        home=tmp_path_factory.mktemp("home"),
    )


def test_a_lower_stress_limit_is_never_faster(nantes: TransportNetwork) -> None:
    rng = np.random.default_rng(8)
    points = gpd.GeoDataFrame(
        {"id": [f"p{i}" for i in range(40)]},
        geometry=gpd.points_from_xy(
            rng.uniform(-1.572, -1.540, 40), rng.uniform(47.201, 47.220, 40)
        ),
        crs=4326,
    )
    when = dt.datetime(2014, 5, 13, 8, 0)
    times = {
        lts: travel_time_matrix(
            nantes, points, transport_modes=["bike"], departure=when, max_bicycle_traffic_stress=lts
        )["travel_time"].to_numpy()
        for lts in (1, 2, 3, 4)
    }
    for low, high in ((1, 2), (2, 3), (3, 4)):
        assert (times[low] >= times[high]).all()
    assert (times[1] > times[4]).sum() > 100  # central Nantes has stressful streets
    graph = nantes.street_graph("bike", speed_kmh=12.0, max_traffic_stress=1)
    assert set(np.unique(graph._speed_kmh)) == {3.6, 12.0}  # ridden, or walked
