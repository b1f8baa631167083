"""A territory's layers written back as PBF and GTFS read back as the same layers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from parcours.accessibility import TransportNetwork, travel_time_matrix
from parcours.accessibility.r5 import network_files
from parcours.territories.rewrite import write_sources


@pytest.fixture(scope="module")
def nantes(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> TransportNetwork:
    folder = shared_data / "france_nantes_tempus"
    return TransportNetwork.from_files(
        folder / "nantes_subset_2014.osm.pbf",
        [folder / "tan_nantes_gtfs_2014.zip"],
        home=tmp_path_factory.mktemp("home"),
    )


def test_round_trip_gives_the_same_layers_and_times(
    nantes: TransportNetwork, tmp_path: Path
) -> None:
    written = write_sources(nantes.territory)
    assert written.osm.parent.parent == nantes.territory.cache_dir() / "sources"
    again = write_sources(nantes.territory)  # written once, then reused
    assert again.osm == written.osm and again.osm.stat().st_mtime == written.osm.stat().st_mtime
    back = TransportNetwork.from_files(written.osm, written.gtfs, home=tmp_path / "home")
    a, b = nantes.territory, back.territory
    streets_a = a.layer("streets").set_index("osm_id").sort_index()
    streets_b = b.layer("streets").set_index("osm_id").sort_index()
    assert streets_b.index.equals(streets_a.index)
    for column in ("highway", "oneway", "maxspeed", "foot", "access"):
        assert streets_b[column].equals(streets_a[column]), column
    assert all(
        np.array_equal(x, y)
        for x, y in zip(streets_a["node_ids"], streets_b["node_ids"], strict=True)
    )
    assert streets_b.geometry.geom_equals_exact(streets_a.geometry, tolerance=0.05).all()
    for name, keys in (
        ("stops", ["stop_id"]),
        ("trips", ["trip_id"]),
        ("stop_times", ["trip_id", "stop_sequence"]),
        ("calendar_dates", ["service_id", "date"]),
        ("transfers", ["from_stop_id", "to_stop_id"]),
    ):
        left = pd.DataFrame(a.layer(name)).drop(columns="geometry", errors="ignore")
        if "service_id" in left.columns:  # services no kept trip runs are not written
            left = left[left["service_id"].isin(a.layer("trips")["service_id"])]
        right = pd.DataFrame(b.layer(name)).drop(columns="geometry", errors="ignore")
        left = left.sort_values(keys).reset_index(drop=True)
        right = right.sort_values(keys).reset_index(drop=True)[left.columns]
        pd.testing.assert_frame_equal(left, right, check_dtype=False, obj=name)
    rng = np.random.default_rng(9)
    points = gpd.GeoDataFrame(
        {"id": [f"p{i}" for i in range(15)]},
        geometry=gpd.points_from_xy(rng.uniform(-1.57, -1.54, 15), rng.uniform(47.20, 47.22, 15)),
        crs=4326,
    )
    query = {"transport_modes": ["transit"], "departure": dt.datetime(2014, 5, 13, 8, 0)}
    pd.testing.assert_frame_equal(
        travel_time_matrix(nantes, points, **query), travel_time_matrix(back, points, **query)
    )


def test_r5_gets_the_territory_files_not_the_downloads(nantes: TransportNetwork) -> None:
    osm, gtfs = network_files(nantes)
    assert Path(osm).is_relative_to(nantes.territory.cache_dir())
    assert [Path(g).name for g in gtfs] == ["tan_nantes_gtfs_2014.zip"]
