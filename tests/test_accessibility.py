"""The public accessibility API on real data (Nantes OSM + full TAN GTFS)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from parcours.accessibility import (
    AccessibilityWarning,
    TransportNetwork,
    earliest_arrival_matrix,
    isochrones,
    itinerary,
    latest_departure_matrix,
    travel_time_matrix,
)
from parcours.errors import InputError

DEPARTURE = dt.datetime(2014, 5, 13, 8, 0)


@pytest.fixture(scope="module")
def nantes(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> TransportNetwork:
    folder = shared_data / "france_nantes_tempus"
    return TransportNetwork.from_files(
        folder / "nantes_subset_2014.osm.pbf",
        [folder / "tan_nantes_gtfs_2014.zip"],
        home=tmp_path_factory.mktemp("home"),
    )


@pytest.fixture(scope="module")
def points() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(42)
    n = 25
    lon = rng.uniform(-1.570, -1.541, n)
    lat = rng.uniform(47.202, 47.219, n)
    return gpd.GeoDataFrame(
        {"id": [f"p{i}" for i in range(n)]}, geometry=gpd.points_from_xy(lon, lat), crs=4326
    )


def test_matrix_schema_like_r5py(nantes: TransportNetwork, points: gpd.GeoDataFrame) -> None:
    matrix = travel_time_matrix(nantes, points, transport_modes=["walk"], departure=DEPARTURE)
    assert list(matrix.columns) == ["from_id", "to_id", "travel_time"]
    assert len(matrix) == len(points) ** 2
    assert matrix["from_id"].iloc[0] == "p0" and matrix["to_id"].iloc[1] == "p1"
    diagonal = matrix[matrix["from_id"] == matrix["to_id"]]
    assert (diagonal["travel_time"] == 0).all()
    values = matrix["travel_time"].dropna()
    assert (values == np.floor(values)).all()  # whole minutes, rounded down
    assert values.max() < 120


def test_unsnappable_point_is_reported_not_dropped(
    nantes: TransportNetwork, points: gpd.GeoDataFrame
) -> None:
    far = gpd.GeoDataFrame({"id": ["far"]}, geometry=[shapely.Point(-1.70, 47.10)], crs=4326)
    frame = gpd.GeoDataFrame(
        {"id": [*points["id"][:3], "far"]},
        geometry=[*points.geometry[:3], far.geometry[0]],
        crs=4326,
    )
    with pytest.warns(AccessibilityWarning, match="1 point"):
        matrix = travel_time_matrix(nantes, frame, transport_modes=["car"], departure=DEPARTURE)
    assert matrix.attrs["report"]["unsnapped_origins"] == ["far"]
    assert matrix.attrs["unsnapped_origins"] == ["far"]
    from_far = matrix[(matrix["from_id"] == "far") & (matrix["to_id"] != "far")]
    assert len(from_far) == 3 and from_far["travel_time"].isna().all()


def test_transit_percentiles_ordered_and_never_worse_than_walking(
    nantes: TransportNetwork, points: gpd.GeoDataFrame
) -> None:
    kwargs = {"departure": DEPARTURE, "departure_time_window": dt.timedelta(minutes=60)}
    transit = travel_time_matrix(
        nantes, points, transport_modes=["walk", "transit"], percentiles=[5, 50, 95], **kwargs
    )
    assert list(transit.columns[2:]) == ["travel_time_p5", "travel_time_p50", "travel_time_p95"]
    walk = travel_time_matrix(nantes, points, transport_modes=["walk"], **kwargs)
    p5, p50, p95 = (transit[c].to_numpy() for c in transit.columns[2:])
    both = ~np.isnan(p5) & ~np.isnan(p95)
    assert (p5[both] <= p50[both]).all() and (p50[both] <= p95[both]).all()
    walkable = ~np.isnan(walk["travel_time"].to_numpy())
    assert (p95[walkable] <= walk["travel_time"].to_numpy()[walkable]).all()
    # Transit really helps for some pairs (tram lines 1-3 cross the extract).
    assert (p50[walkable] < walk["travel_time"].to_numpy()[walkable] - 5).sum() > 20


def test_max_time_cuts(nantes: TransportNetwork, points: gpd.GeoDataFrame) -> None:
    matrix = travel_time_matrix(
        nantes,
        points,
        transport_modes=["walk"],
        departure=DEPARTURE,
        max_time=dt.timedelta(minutes=10),
    )
    values = matrix["travel_time"].dropna()
    assert values.max() < 10
    assert matrix["travel_time"].isna().sum() > 0


def test_wheelchair_walks_are_never_shorter(
    nantes: TransportNetwork, points: gpd.GeoDataFrame
) -> None:
    normal = travel_time_matrix(nantes, points, transport_modes=["walk"], departure=DEPARTURE)
    wheel = travel_time_matrix(
        nantes, points, transport_modes=["walk"], departure=DEPARTURE, wheelchair=True
    )
    a = normal["travel_time"].to_numpy()
    b = wheel["travel_time"].to_numpy()
    ok = ~np.isnan(a) & ~np.isnan(b)
    assert (b[ok] >= a[ok]).all()
    with pytest.raises(InputError, match="wheelchair"):
        travel_time_matrix(
            nantes, points, transport_modes=["car"], departure=DEPARTURE, wheelchair=True
        )


def test_latest_departure_is_latest(nantes: TransportNetwork, points: gpd.GeoDataFrame) -> None:
    deadline = dt.datetime(2014, 5, 13, 8, 30)
    origins, targets = points.iloc[:8], points.iloc[20:23]
    latest = latest_departure_matrix(
        nantes,
        origins,
        targets,
        arrive_by=deadline,
        transport_modes=["transit"],
        max_time=dt.timedelta(minutes=60),
    )
    assert list(latest.columns) == ["from_id", "to_id", "departure", "travel_time", "trip_time"]
    assert (latest["trip_time"].dropna() <= latest["travel_time"].dropna()).all()
    checked = 0
    for row in latest.dropna().itertuples():
        o = origins[origins["id"] == row.from_id]
        d = targets[targets["id"] == row.to_id]
        at = earliest_arrival_matrix(
            nantes, o, d, depart_after=row.departure.to_pydatetime(), transport_modes=["transit"]
        )
        assert at["arrival"].iloc[0] <= deadline
        later = earliest_arrival_matrix(
            nantes,
            o,
            d,
            depart_after=row.departure.to_pydatetime() + dt.timedelta(minutes=1),
            transport_modes=["transit"],
        )
        assert later["arrival"].iloc[0] > deadline
        checked += 1
    assert checked >= 20


def test_isochrones_are_nested_polygons(nantes: TransportNetwork) -> None:
    origin = gpd.GeoDataFrame({"id": ["c"]}, geometry=[shapely.Point(-1.555, 47.21)], crs=4326)
    walk = isochrones(
        nantes, origin, transport_modes=["walk"], departure=DEPARTURE, cutoffs=[5, 10, 15]
    )
    assert walk.crs.to_epsg() == 4326
    assert list(walk["cutoff"]) == [15, 10, 5]
    in_lambert = isochrones(
        nantes, origin.to_crs(2154), transport_modes=["walk"], departure=DEPARTURE, cutoffs=[5]
    )
    assert in_lambert.crs.to_epsg() == 2154  # results come back in the caller's CRS
    assert abs(in_lambert.geometry.iloc[0].area / 1e6 - walk["area_km2"].iloc[-1]) < 1e-6
    assert set(walk.geom_type) <= {"Polygon", "MultiPolygon"}
    areas = walk.set_index("cutoff")["area_km2"]
    assert areas[5] < areas[10] < areas[15]
    # 15 minutes at 3.6 km/h is 900 m: the network area stays inside that disc (+ buffer).
    assert areas[15] < np.pi * 0.95**2
    metric = walk.to_crs(2154).set_index("cutoff").geometry
    assert metric[5].difference(metric[15]).area < 1.0
    transit = isochrones(
        nantes, origin, transport_modes=["transit"], departure=DEPARTURE, cutoffs=[15]
    )
    assert transit["area_km2"].iloc[0] >= areas[15] - 1e-6


def test_itinerary_matches_the_matrix(nantes: TransportNetwork) -> None:
    origin, destination = (-1.571, 47.201), (-1.540, 47.219)
    legs = itinerary(nantes, origin, destination, transport_modes=["transit"], departure=DEPARTURE)
    assert legs["mode"].iloc[0] == "walk" and legs["mode"].iloc[-1] == "walk"
    rides = legs[legs["mode"] != "walk"]
    assert len(rides) >= 1 and rides["route_short_name"].notna().all()
    assert rides["from_name"].notna().all() and rides["to_name"].notna().all()
    assert legs["departure"].iloc[0] >= DEPARTURE
    assert (legs["departure"].iloc[1:].to_numpy() >= legs["arrival"].iloc[:-1].to_numpy()).all()
    total_min = (legs["arrival"].iloc[-1] - DEPARTURE).total_seconds() / 60
    pair = gpd.GeoDataFrame(
        {"id": ["o", "d"]}, geometry=[shapely.Point(origin), shapely.Point(destination)], crs=4326
    )
    matrix = travel_time_matrix(
        nantes,
        pair.iloc[:1],
        pair.iloc[1:],
        transport_modes=["transit"],
        departure=DEPARTURE,
        departure_time_window=dt.timedelta(minutes=1),
    )
    assert np.floor(total_min) == pytest.approx(matrix["travel_time"].iloc[0], abs=1)
    back = itinerary(
        nantes,
        origin,
        destination,
        transport_modes=["transit"],
        arrive_by=dt.datetime(2014, 5, 13, 8, 30),
    )
    assert back["arrival"].iloc[-1] <= dt.datetime(2014, 5, 13, 8, 30)


def test_bad_parameters_are_input_errors(
    nantes: TransportNetwork, points: gpd.GeoDataFrame
) -> None:
    with pytest.raises(InputError, match="mode inconnu"):
        travel_time_matrix(nantes, points, transport_modes=["plane"], departure=DEPARTURE)
    with pytest.raises(InputError, match="centiles"):
        travel_time_matrix(
            nantes, points, transport_modes=["walk"], departure=DEPARTURE, percentiles=[0]
        )
    with pytest.raises(InputError, match="moteur inconnu"):
        travel_time_matrix(
            nantes, points, transport_modes=["walk"], departure=DEPARTURE, engine="otp"
        )


def test_departure_outside_the_feeds_is_refused(
    nantes: TransportNetwork, points: gpd.GeoDataFrame
) -> None:
    with pytest.raises(InputError, match=r"2014-04-07 au 2014-07-11"):
        travel_time_matrix(
            nantes, points, transport_modes=["transit"], departure=dt.datetime(2014, 7, 12, 8, 0)
        )
    # Walking needs no timetable: any date is fine.
    walk = travel_time_matrix(
        nantes, points.iloc[:2], transport_modes=["walk"], departure=dt.datetime(2020, 1, 1, 8, 0)
    )
    assert walk["travel_time"].notna().all()


def test_same_id_in_two_files_is_not_zero(nantes: TransportNetwork) -> None:
    origin = gpd.GeoDataFrame({"id": ["1"]}, geometry=[shapely.Point(-1.5536, 47.2173)], crs=4326)
    other = gpd.GeoDataFrame({"id": ["1"]}, geometry=[shapely.Point(-1.5450, 47.2100)], crs=4326)
    matrix = travel_time_matrix(
        nantes, origin, other, transport_modes=["walk"], departure=DEPARTURE
    )
    assert matrix["travel_time"].iloc[0] > 10
    itself = travel_time_matrix(
        nantes, origin, origin.copy(), transport_modes=["walk"], departure=DEPARTURE
    )
    assert itself["travel_time"].iloc[0] == 0


def test_zero_walking_limit_is_refused(nantes: TransportNetwork, points: gpd.GeoDataFrame) -> None:
    with pytest.raises(InputError, match="au moins 1 minute"):
        travel_time_matrix(
            nantes,
            points,
            transport_modes=["walk"],
            departure=DEPARTURE,
            max_time_walking=dt.timedelta(0),
        )


def test_arrive_by_window_reaching_back_to_the_day_before(
    nantes: TransportNetwork, points: gpd.GeoDataFrame
) -> None:
    """A search window that starts the evening before still sees the morning's trips."""
    deadline = dt.datetime(2014, 5, 14, 9, 0)
    origins, targets = points.iloc[:4], points.iloc[20:22]
    short = latest_departure_matrix(
        nantes,
        origins,
        targets,
        arrive_by=deadline,
        transport_modes=["transit"],
        max_time=dt.timedelta(minutes=540),
    )
    long = latest_departure_matrix(
        nantes,
        origins,
        targets,
        arrive_by=deadline,
        transport_modes=["transit"],
        max_time=dt.timedelta(minutes=600),
    )
    assert short["departure"].notna().all()
    assert (long["departure"] == short["departure"]).all()


def test_earliest_arrival_zero_only_for_the_same_point(nantes: TransportNetwork) -> None:
    origin = gpd.GeoDataFrame({"id": ["1"]}, geometry=[shapely.Point(-1.5536, 47.2173)], crs=4326)
    apart = gpd.GeoDataFrame({"id": ["1"]}, geometry=[shapely.Point(-1.5450, 47.2100)], crs=4326)
    when = dt.datetime(2014, 5, 13, 8, 0)
    far = earliest_arrival_matrix(
        nantes,
        origin,
        apart,
        depart_after=when,
        transport_modes=["walk"],
        max_time=dt.timedelta(minutes=3),
    )
    assert far["travel_time"].isna().all() and far["arrival"].isna().all()  # 1 km: no
    same = earliest_arrival_matrix(
        nantes,
        origin,
        origin.copy(),
        depart_after=when,
        transport_modes=["walk"],
        max_time=dt.timedelta(minutes=3),
    )
    assert same["travel_time"].iloc[0] == 0 and same["arrival"].iloc[0] == when


def test_transfer_and_access_walks_round_up_alike(nantes: TransportNetwork) -> None:
    from parcours.accessibility.streets import StreetMode

    day = DEPARTURE.date()
    transfers = nantes.transfers(day)
    tt = nantes.timetable(day)
    graph = nantes.street_graph(StreetMode.WALK, speed_kmh=3.6)
    stops = nantes.snapped_stops(tt, graph)
    exact = graph.travel_times_s(stops.take(slice(0, 40)), stops, max_time_s=1000 / 1.0)
    pairs = np.argwhere(np.isfinite(exact) & (exact > 0))[:200]
    assert len(pairs) > 20
    rounded_up = compared = 0
    for i, j in pairs:
        row = slice(transfers.ptr[i], transfers.ptr[i + 1])
        hit = np.flatnonzero(transfers.to_stop[row] == j)
        if len(hit):
            compared += 1
            rounded_up += int(transfers.walk_s[row][hit[0]] == np.ceil(exact[i, j]))
    # transfers.txt may set other minimum times on a few pairs; every walk is rounded up.
    assert compared > 20 and rounded_up >= 0.9 * compared


def test_one_network_serves_threads(shared_data: Path, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    folder = shared_data / "france_nantes_tempus"
    cold = TransportNetwork.from_files(
        folder / "nantes_subset_2014.osm.pbf",
        [folder / "tan_nantes_gtfs_2014.zip"],
        home=tmp_path / "home",
    )
    rng = np.random.default_rng(5)
    pts = gpd.GeoDataFrame(
        {"id": [f"t{i}" for i in range(12)]},
        geometry=gpd.points_from_xy(rng.uniform(-1.57, -1.54, 12), rng.uniform(47.20, 47.22, 12)),
        crs=4326,
    )

    def query(minute: int) -> pd.DataFrame:
        return travel_time_matrix(
            cold,
            pts,
            transport_modes=["transit"],
            departure=DEPARTURE + dt.timedelta(minutes=minute),
        )

    with ThreadPoolExecutor(4) as pool:  # a cold network: every cache is filled concurrently
        together = list(pool.map(query, [0, 5, 0, 5]))
    assert together[0].equals(together[2]) and together[1].equals(together[3])
    assert len(cold._timetables) == 1 and len(cold._transfers) == 1
    assert together[0].equals(query(0))


def test_arrive_by_isochrone_matches_latest_departures(nantes: TransportNetwork) -> None:
    station = gpd.GeoDataFrame(
        {"id": ["gare"]}, geometry=[shapely.Point(-1.5425, 47.2170)], crs=4326
    )
    deadline = dt.datetime(2014, 5, 13, 8, 30)
    area = isochrones(
        nantes, station, transport_modes=["transit"], arrive_by=deadline, cutoffs=[12]
    ).to_crs(2154)
    assert area.attrs["report"]["engine"] == "native"
    rng = np.random.default_rng(11)
    homes = gpd.GeoDataFrame(
        {"id": [f"h{i}" for i in range(40)]},
        geometry=gpd.points_from_xy(
            rng.uniform(-1.56, -1.535, 40), rng.uniform(47.208, 47.222, 40)
        ),
        crs=4326,
    )
    latest = latest_departure_matrix(
        nantes,
        homes,
        station,
        arrive_by=deadline,
        transport_modes=["transit"],
        max_time=dt.timedelta(minutes=40),
    )
    polygon = area.geometry.iloc[0]
    where = homes.to_crs(2154).set_index("id").geometry
    inside = [polygon.distance(where[h]) < 60 for h in latest["from_id"]]
    within = (latest["travel_time"] < 12).to_numpy()
    assert within.sum() >= 3 and (~within).sum() >= 3
    assert all(ok for ok, w in zip(inside, within, strict=True) if w)  # reached: inside
    # Far beyond the cut-off (5 min more, or no trip): outside. Near it the two differ by
    # the street buffer and the walk from the home to its street.
    beyond = (latest["travel_time"].fillna(99) >= 17).to_numpy()
    assert beyond.sum() >= 3
    assert not any(ok for ok, out in zip(inside, beyond, strict=True) if out)
