"""Regression tests for the bad inputs a new user hit (issue: accessibility foundation)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pytest
from typer.testing import CliRunner

from parcours.accessibility import TransportNetwork, travel_time_matrix
from parcours.accessibility.query import make_params
from parcours.cli import app
from parcours.errors import InputError
from parcours.territories.perimeter import parse_bbox


def test_a_lat_lon_bbox_is_refused_with_the_swap_hint() -> None:
    with pytest.raises(InputError) as refused:
        parse_bbox("47.199,-1.575,47.222,-1.536")
    assert refused.value.code == "input.bbox_swapped"
    assert parse_bbox("-1.575,47.199,-1.536,47.222") == (-1.575, 47.199, -1.536, 47.222)


def test_a_date_alone_is_not_midnight() -> None:
    with pytest.raises(InputError) as refused:
        make_params(departure=dt.date(2014, 5, 13))  # type: ignore[arg-type]
    assert refused.value.field == "departure"
    result = CliRunner().invoke(
        app,
        [
            "access",
            "matrix",
            "--osm",
            "x.pbf",
            "--origins",
            "o.csv",
            "--departure",
            "2014-05-13",
            "--out",
            "m.csv",
        ],
    )
    assert result.exit_code == 2


def test_points_mostly_off_the_network_are_bad_input(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "france_nantes_tempus"
    network = TransportNetwork.from_files(
        folder / "nantes_subset_2014.osm.pbf", [], home=tmp_path / "home"
    )
    swapped = gpd.GeoDataFrame(  # lat, lon given as lon, lat: the Gulf of Aden
        {"id": ["a", "b", "c"]},
        geometry=gpd.points_from_xy([47.205, 47.21, 47.215], [-1.55, -1.56, -1.545]),
        crs=4326,
    )
    with pytest.raises(InputError, match="inversées") as refused:
        travel_time_matrix(
            network, swapped, transport_modes=["walk"], departure=dt.datetime(2014, 5, 13, 8)
        )
    assert refused.value.field == "origins"
