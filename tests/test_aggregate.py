"""Aggregate indicators equal what the full matrix of the same query gives (real Nantes data)."""

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
    cumulative_opportunities,
    latest_departure_matrix,
    nearest_opportunity,
    travel_time_matrix,
)
from parcours.errors import InputError

DEPARTURE = dt.datetime(2014, 5, 13, 7, 30)
CUTOFFS = (10, 20, 30)


@pytest.fixture(scope="module")
def nantes(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> TransportNetwork:
    folder = shared_data / "france_nantes_tempus"
    return TransportNetwork.from_files(
        folder / "nantes_subset_2014.osm.pbf",
        [folder / "tan_nantes_gtfs_2014.zip"],
        home=tmp_path_factory.mktemp("home"),
    )


def _points(n: int, seed: int, prefix: str) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-1.572, -1.540, n)
    lat = rng.uniform(47.201, 47.220, n)
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i}" for i in range(n)]},
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )


@pytest.fixture(scope="module")
def origins() -> gpd.GeoDataFrame:
    return _points(30, 1, "o")


@pytest.fixture(scope="module")
def jobs(origins: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = _points(200, 2, "j")
    rng = np.random.default_rng(3)
    frame["jobs"] = rng.integers(0, 50, len(frame)).astype(float)
    frame.loc[frame.index[:5], "jobs"] = np.nan  # missing headcounts count 0
    frame["category"] = rng.choice(["A122", "D201", "E107"], len(frame))
    # The same point as an origin (same id, same place): 0 min, always within reach.
    same = origins.iloc[[4]].copy()
    same["jobs"] = 1000.0
    same["category"] = "A128"
    return gpd.GeoDataFrame(pd.concat([frame, same], ignore_index=True), crs=4326)


def _expected_counts(
    matrix: pd.DataFrame, jobs: gpd.GeoDataFrame, column: str, cut: int
) -> pd.Series:
    weights = jobs.set_index("id")["jobs"].fillna(0.0)
    reached = matrix[matrix[column] < cut]
    return reached.groupby("from_id")["to_id"].apply(lambda ids: weights[ids].sum())


@pytest.mark.parametrize(
    ("modes", "percentiles"),
    [(["walk"], (50,)), (["bike"], (50,)), (["car"], (50,)), (["transit"], (25, 50, 75))],
)
def test_cumulative_equals_the_matrix(
    nantes: TransportNetwork,
    origins: gpd.GeoDataFrame,
    jobs: gpd.GeoDataFrame,
    modes: list[str],
    percentiles: tuple[int, ...],
) -> None:
    query = {
        "transport_modes": modes,
        "departure": DEPARTURE,
        "departure_time_window": dt.timedelta(minutes=10),
        "percentiles": percentiles,
        "max_time": dt.timedelta(minutes=max(CUTOFFS)),
    }
    matrix = travel_time_matrix(nantes, origins, jobs, **query)
    counts = cumulative_opportunities(
        nantes, origins, jobs, cutoffs=CUTOFFS, block_size=7, **query
    ).set_index("id")
    checked = 0
    for p in percentiles:
        column = "travel_time" if len(percentiles) == 1 else f"travel_time_p{p}"
        suffix = "" if len(percentiles) == 1 else f"_p{p}"
        for cut in CUTOFFS:
            expected = _expected_counts(matrix, jobs, column, cut).reindex(counts.index)
            got = counts[f"jobs_{cut}{suffix}"]
            assert np.allclose(got.to_numpy(), expected.fillna(0.0).to_numpy())
            checked += int((got > 0).sum())
    assert checked > 20  # the comparison is not vacuous
    assert (counts.iloc[:, 0] <= counts.iloc[:, -1]).all()  # larger cut-off, more jobs
    assert counts.loc["o4", counts.columns[0]] >= 1000  # the same point counts at 0 min


def test_nearest_equals_the_matrix(
    nantes: TransportNetwork, origins: gpd.GeoDataFrame, jobs: gpd.GeoDataFrame
) -> None:
    query = {
        "transport_modes": ["transit"],
        "departure": DEPARTURE,
        "max_time": dt.timedelta(minutes=25),
    }
    matrix = travel_time_matrix(nantes, origins, jobs, **query)
    nearest = nearest_opportunity(nantes, origins, jobs, block_size=4, **query).set_index("id")
    assert list(nearest.columns) == ["A122", "A128", "D201", "E107"]
    category = jobs.set_index("id")["category"]
    matrix["category"] = category.reindex(matrix["to_id"]).to_numpy()
    expected = matrix.groupby(["from_id", "category"])["travel_time"].min().unstack()
    expected = expected.reindex(index=nearest.index, columns=nearest.columns)
    assert np.allclose(nearest.to_numpy(), expected.to_numpy(), equal_nan=True)
    assert nearest["A128"].isna().sum() > 0 and nearest.loc["o4", "A128"] == 0
    assert nearest["D201"].notna().sum() > 10


def test_arrive_by_equals_the_latest_departure_matrix(
    nantes: TransportNetwork, origins: gpd.GeoDataFrame, jobs: gpd.GeoDataFrame
) -> None:
    deadline = dt.datetime(2014, 5, 13, 5, 30)  # an early shift
    query = {"transport_modes": ["transit"], "max_time": dt.timedelta(minutes=40)}
    latest = latest_departure_matrix(nantes, origins, jobs, arrive_by=deadline, **query)
    counts = cumulative_opportunities(
        nantes, origins, jobs, cutoffs=(20, 40), arrive_by=deadline, block_size=9, **query
    ).set_index("id")
    assert list(counts.columns) == ["jobs_20", "jobs_40"]
    for cut in (20, 40):
        expected = _expected_counts(latest, jobs, "travel_time", cut).reindex(counts.index)
        assert np.allclose(counts[f"jobs_{cut}"].to_numpy(), expected.fillna(0.0).to_numpy())
    nearest = nearest_opportunity(nantes, origins, jobs, by=None, arrive_by=deadline, **query)
    best = latest.groupby("from_id")["travel_time"].min().reindex(nearest["id"])
    assert np.allclose(nearest["nearest"].to_numpy(), best.to_numpy(), equal_nan=True)


def test_origin_off_the_network_is_unknown_not_zero(
    nantes: TransportNetwork, origins: gpd.GeoDataFrame, jobs: gpd.GeoDataFrame
) -> None:
    far = gpd.GeoDataFrame({"id": ["far"]}, geometry=[shapely.Point(-1.70, 47.10)], crs=4326)
    mixed = gpd.GeoDataFrame(pd.concat([origins.iloc[:5], far], ignore_index=True), crs=4326)
    with pytest.warns(AccessibilityWarning, match="1 point"):
        counts = cumulative_opportunities(
            nantes, mixed, jobs, transport_modes=["walk"], departure=DEPARTURE, cutoffs=(15,)
        )
    assert counts.set_index("id").loc["far"].isna().all()
    assert counts.attrs["report"]["unsnapped_origins"] == ["far"]


def test_bad_arguments_are_named(
    nantes: TransportNetwork, origins: gpd.GeoDataFrame, jobs: gpd.GeoDataFrame
) -> None:
    with pytest.raises(InputError, match="max_time") as info:
        cumulative_opportunities(
            nantes, origins, jobs, cutoffs=(30, 60), max_time=dt.timedelta(minutes=45)
        )
    assert info.value.field == "max_time"
    with pytest.raises(InputError) as info:
        cumulative_opportunities(nantes, origins, jobs, weights="emplois", departure=DEPARTURE)
    assert info.value.field == "weights"
    with pytest.raises(InputError) as info:
        nearest_opportunity(nantes, origins, jobs, by="typequ", departure=DEPARTURE)
    assert info.value.field == "by"
    with pytest.raises(TypeError, match="modes"):
        cumulative_opportunities(nantes, origins, jobs, modes=["walk"])  # type: ignore[call-arg]
