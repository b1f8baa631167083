"""One person's itinerary on Nantes (OSM 2014 + the full TAN feed), against the matrices.

The itinerary and the matrices must tell the same story for the same pair: the same
travel time (whole minutes rounded down), and for an arrive-by query the same departure
minute and the same time to set aside as :func:`latest_departure_matrix`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from parcours.accessibility import (
    TransportNetwork,
    itinerary,
    latest_departure_matrix,
    travel_time_matrix,
)
from parcours.geo.crs import LAMBERT93, WGS84

DAY = dt.date(2014, 5, 13)  # a Tuesday of the TAN 2014 feed
LEAVE = dt.datetime.combine(DAY, dt.time(8, 0))
DEADLINE = dt.datetime.combine(DAY, dt.time(8, 30))
EARLY = dt.datetime.combine(DAY, dt.time(5, 30))  # first services: long waits
N_PAIRS = 12


@pytest.fixture(scope="module")
def nantes(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> TransportNetwork:
    folder = shared_data / "france_nantes_tempus"
    return TransportNetwork.from_files(
        folder / "nantes_subset_2014.osm.pbf",
        [folder / "tan_nantes_gtfs_2014.zip"],
        home=tmp_path_factory.mktemp("home"),
    )


@pytest.fixture(scope="module")
def pairs() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(5)
    lon = rng.uniform(-1.572, -1.540, (N_PAIRS, 2))
    lat = rng.uniform(47.201, 47.220, (N_PAIRS, 2))

    def frame(column: int, prefix: str) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"id": [f"{prefix}{i}" for i in range(N_PAIRS)]},
            geometry=gpd.points_from_xy(lon[:, column], lat[:, column]),
            crs=WGS84,
        )

    return frame(0, "o"), frame(1, "d")


def _diagonal(matrix: pd.DataFrame) -> pd.DataFrame:
    """The rows o{i} -> d{i}, in order."""
    keep = matrix["from_id"].str[1:] == matrix["to_id"].str[1:]
    rows = matrix.loc[keep].copy()
    rows["i"] = rows["from_id"].str[1:].astype(int)
    return rows.sort_values("i").reset_index(drop=True)


def _lonlat(points: gpd.GeoDataFrame, i: int) -> tuple[float, float]:
    point = points.geometry.iloc[i]
    return float(point.x), float(point.y)


def _check_legs(legs: gpd.GeoDataFrame) -> None:
    """Legs in order, clock times exact, the query's durations consistent with them."""
    assert not legs.empty
    departures = legs["departure"].tolist()
    arrivals = legs["arrival"].tolist()
    assert departures[0] == legs.attrs["departure"]
    assert arrivals[-1] == legs.attrs["arrival"]
    assert all(a <= d for a, d in zip(arrivals[:-1], departures[1:], strict=True))
    total = legs.attrs["arrival"] - legs.attrs["departure"]
    assert legs.attrs["travel_time"] == int(total.total_seconds() // 60)
    if "arrive_by" in legs.attrs:
        deadline = legs.attrs["arrive_by"]
        assert legs.attrs["arrival"] <= deadline
        assert legs.attrs["wait_at_destination"] == deadline - legs.attrs["arrival"]
        set_aside = deadline - legs.attrs["departure"]
        assert set_aside.total_seconds() % 60 == 0  # the departure is a whole minute
        assert legs.attrs["time_to_set_aside"] == int(set_aside.total_seconds() // 60)


@pytest.mark.parametrize("modes", [["walk"], ["bike"], ["walk", "transit"]], ids="+".join)
def test_depart_after_matches_the_matrix(
    nantes: TransportNetwork,
    pairs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
    modes: list[str],
) -> None:
    origins, destinations = pairs
    matrix = _diagonal(
        travel_time_matrix(
            nantes,
            origins,
            destinations,
            transport_modes=modes,
            departure=LEAVE,
            departure_time_window=dt.timedelta(minutes=1),
        )
    )
    for i in range(N_PAIRS):
        legs = itinerary(
            nantes,
            _lonlat(origins, i),
            _lonlat(destinations, i),
            transport_modes=modes,
            departure=LEAVE,
        )
        _check_legs(legs)
        assert legs.attrs["departure"] == LEAVE
        assert legs.attrs["travel_time"] == matrix["travel_time"].iloc[i]


@pytest.mark.parametrize("deadline", [DEADLINE, EARLY], ids=["08:30", "05:30"])
@pytest.mark.parametrize("modes", [["walk"], ["walk", "transit"]], ids="+".join)
def test_arrive_by_sets_aside_what_the_latest_departure_matrix_says(
    nantes: TransportNetwork,
    pairs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
    modes: list[str],
    deadline: dt.datetime,
) -> None:
    origins, destinations = pairs
    matrix = _diagonal(
        latest_departure_matrix(
            nantes, origins, destinations, transport_modes=modes, arrive_by=deadline
        )
    )
    for i in range(N_PAIRS):
        legs = itinerary(
            nantes,
            _lonlat(origins, i),
            _lonlat(destinations, i),
            transport_modes=modes,
            arrive_by=deadline,
        )
        row = matrix.iloc[i]
        if pd.isna(row["departure"]):
            assert legs.empty
            continue
        _check_legs(legs)
        assert legs.attrs["time_to_set_aside"] == row["travel_time"]
        assert legs.attrs["departure"] == row["departure"]
        assert legs.attrs["travel_time"] == row["trip_time"]


def test_walk_leg_is_the_street_path(
    nantes: TransportNetwork, pairs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]
) -> None:
    """A walk's geometry, walked at 3.6 km/h, takes the leg's exact duration."""
    origins, destinations = pairs
    for i in range(N_PAIRS):
        legs = itinerary(
            nantes,
            _lonlat(origins, i),
            _lonlat(destinations, i),
            transport_modes=["walk"],
            departure=LEAVE,
            max_time=dt.timedelta(hours=3),
        )
        leg = legs.to_crs(LAMBERT93).iloc[0]
        seconds = (leg["arrival"] - leg["departure"]).total_seconds()
        assert leg.geometry.length / 1.0 == pytest.approx(seconds, abs=1e-3)  # 3.6 km/h = 1 m/s


def test_legs_in_the_origin_crs(
    nantes: TransportNetwork, pairs: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]
) -> None:
    origins, destinations = pairs
    plain = itinerary(
        nantes,
        _lonlat(origins, 0),
        _lonlat(destinations, 0),
        transport_modes=["walk", "transit"],
        departure=LEAVE,
    )
    assert plain.crs == WGS84
    metric = itinerary(
        nantes,
        origins.iloc[:1].to_crs(LAMBERT93),
        destinations.iloc[:1],
        transport_modes=["walk", "transit"],
        departure=LEAVE,
    )
    assert metric.crs == LAMBERT93
    assert metric.attrs["travel_time"] == plain.attrs["travel_time"]
    start = shapely.get_coordinates(metric.geometry.iloc[0])[0]
    expected = origins.iloc[:1].to_crs(LAMBERT93).geometry.iloc[0]
    assert shapely.Point(start).distance(expected) < 1e-3  # the walk starts at the origin
    back = metric.to_crs(WGS84)
    for a, b in zip(back.geometry, plain.geometry, strict=True):
        assert a.hausdorff_distance(b) < 1e-6
