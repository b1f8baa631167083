"""r5py options of the native transit engine: kinds of public transport, Monte Carlo draws."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from parcours.accessibility import TransportNetwork, itinerary, travel_time_matrix
from parcours.accessibility.query import make_params
from parcours.accessibility.r5 import r5py_arguments

NANTES_DAY = dt.datetime(2014, 5, 13, 8, 0)


@pytest.fixture(scope="module")
def nantes(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> TransportNetwork:
    folder = shared_data / "france_nantes_tempus"
    return TransportNetwork.from_files(
        folder / "nantes_subset_2014.osm.pbf",
        [folder / "tan_nantes_gtfs_2014.zip"],
        home=tmp_path_factory.mktemp("home"),
    )


@pytest.fixture(scope="module")
def sao_paulo(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> TransportNetwork:
    folder = shared_data / "sao_paulo_r5py"
    return TransportNetwork.from_files(
        folder / "spo_osm.pbf", [folder / "spo_gtfs.zip"], home=tmp_path_factory.mktemp("home")
    )


def _points(n: int, seed: int, box: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        {"id": [f"p{i}" for i in range(n)]},
        geometry=gpd.points_from_xy(rng.uniform(box[0], box[2], n), rng.uniform(box[1], box[3], n)),
        crs=4326,
    )


def test_tram_only_never_rides_a_bus(nantes: TransportNetwork) -> None:
    points = _points(30, 4, (-1.572, 47.201, -1.540, 47.220))
    query = {"departure": NANTES_DAY, "departure_time_window": dt.timedelta(minutes=10)}
    everything = travel_time_matrix(nantes, points, transport_modes=["transit"], **query)
    tram = travel_time_matrix(nantes, points, transport_modes=["TRAM", "WALK"], **query)
    walk = travel_time_matrix(nantes, points, transport_modes=["walk"], **query)
    a, t, w = (f["travel_time"].fillna(999).to_numpy() for f in (everything, tram, walk))
    assert (t >= a).all() and (
        t <= w
    ).all()  # fewer vehicles: never faster, never worse than walking
    assert (t > a).sum() > 10 and (t < w).sum() > 10  # buses mattered, and trams are ridden
    trams = nantes.timetable(NANTES_DAY.date(), route_modes=frozenset({"tram"}))
    assert 0 < trams.n_trips < nantes.timetable(NANTES_DAY.date()).n_trips
    # The itinerary of a pair the buses make faster rides trams only.
    frame = everything.assign(tram=tram["travel_time"])
    pair = frame[(frame["tram"] > frame["travel_time"]) & frame["tram"].notna()].iloc[0]
    origin = points.set_index("id").loc[[pair["from_id"]]].reset_index()
    target = points.set_index("id").loc[[pair["to_id"]]].reset_index()
    legs = itinerary(nantes, origin, target, departure=NANTES_DAY, transport_modes=["tram"])
    assert set(legs["mode"]) <= {"walk", "tram"} and "tram" in set(legs["mode"])


def test_sub_modes_reach_r5py_by_name() -> None:
    params = make_params(transport_modes=["tram", "bus"], departure=NANTES_DAY)
    assert r5py_arguments(params)["transport_modes"] == ["BUS", "TRAM", "WALK"]
    assert params.route_modes == {"tram", "bus", "on_demand"}
    assert make_params(transport_modes=["transit"], departure=NANTES_DAY).route_modes is None


def test_monte_carlo_draws_are_seeded(sao_paulo: TransportNetwork) -> None:
    cells = pd.read_csv(Path(sao_paulo.sources["osm"]).parent / "spo_hexgrid.csv")
    points = gpd.GeoDataFrame(
        {"id": cells["id"].astype(str)},
        geometry=gpd.points_from_xy(cells["lon"], cells["lat"]),
        crs=4326,
    ).iloc[::6]
    query = {
        "transport_modes": ["transit"],
        "departure": dt.datetime(2019, 5, 13, 14, 0),
        "departure_time_window": dt.timedelta(minutes=20),
        "percentiles": (25, 50, 75),
        "max_time": dt.timedelta(minutes=60),
    }
    half = travel_time_matrix(sao_paulo, points, **query)
    drawn = travel_time_matrix(sao_paulo, points, frequency_draws=5, seed=1, **query)
    again = travel_time_matrix(sao_paulo, points, frequency_draws=5, seed=1, **query)
    other = travel_time_matrix(sao_paulo, points, frequency_draws=5, seed=2, **query)
    pd.testing.assert_frame_equal(drawn, again)  # seeded: the same numbers
    columns = ["travel_time_p25", "travel_time_p50", "travel_time_p75"]
    assert not drawn[columns].equals(half[columns])  # draws are not the half-headway rule
    assert not drawn[columns].equals(other[columns])  # another seed, other phases
    values = drawn[columns].dropna().to_numpy()
    assert len(values) > 100 and (np.diff(values, axis=1) >= 0).all()


@pytest.mark.parametrize("speed_kmh", [3.6, 5.4])
def test_egress_walks_stop_at_r5s_2000_m(nantes: TransportNetwork, speed_kmh: float) -> None:
    """R5's egress tables reach 2,000 m from a stop; the access walk has only the time limit."""
    from parcours.accessibility.legs import transit_legs
    from parcours.accessibility.network import MAX_EGRESS_WALK_M
    from parcours.accessibility.query import MatrixInputs

    points = _points(60, 11, (-1.575, 47.199, -1.536, 47.222))
    params = make_params(
        transport_modes=["WALK", "TRANSIT"], departure=NANTES_DAY, speed_walking=speed_kmh
    )
    inputs = MatrixInputs.prepare(nantes, points, None, params)
    legs = transit_legs(inputs, NANTES_DAY.date(), until_s=12 * 3600)
    cap_s = MAX_EGRESS_WALK_M / (speed_kmh / 3.6)
    assert legs.egress_s.max() <= np.ceil(cap_s)
    # The cap removed walks the time limit alone allows, and only those.
    walks = inputs.graph.travel_times_s(
        legs.stops, inputs.snapped_destinations, max_time_s=params.max_time_walking_s
    )
    assert ((walks > cap_s) & (walks <= params.max_time_walking_s)).sum() > 100
    assert len(legs.egress_s) == int((walks <= cap_s).sum())
    # Access walks are limited by time only (r5py's max_time_walking), as in R5.
    assert legs.access_s.max() > np.ceil(cap_s)
