"""Bike and car to and from public transport (r5py's ``access_modes`` / ``egress_modes``).

A hand-made line: one residential street 9.6 km long (a node every 100 m), a bus from
stop A (3 km from the west end) to stop B (6 km) every 10 minutes, riding 6 minutes.
The origin O is at the west end; destinations at 300 m and 3 km past B. The reference is
written out here: each leg is the street engine's own time between the two points on the
mode's graph (the street searches are checked against networkx elsewhere), then the rule
of the journey: leave at the departure minute, reach A, board the first bus leaving at
least 60 s later, alight at B, finish the last leg; the direct walk competes.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from handmade import (
    BUS_EVERY_S,
    BUS_FIRST_S,
    BUS_LAST_S,
    DAY,
    RIDE_S,
    bus_feed,
    leg_s,
    line_pbf,
    points,
)

from parcours.accessibility import TransportNetwork, travel_time_matrix
from parcours.accessibility.legs import MAX_EGRESS_BIKE_M, MAX_EGRESS_CAR_S
from parcours.accessibility.network import MAX_EGRESS_WALK_M
from parcours.accessibility.params import TransportMode
from parcours.accessibility.query import make_params
from parcours.errors import InputError


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> TransportNetwork:
    folder = tmp_path_factory.mktemp("line")
    line_pbf(folder / "line.osm.pbf")
    bus_feed(folder / "bus.zip")
    return TransportNetwork.from_files(
        folder / "line.osm.pbf", [folder / "bus.zip"], home=folder / "home"
    )


def reference_min(
    network: TransportNetwork,
    access: TransportMode,
    egress: TransportMode,
    dest_m: float,
    departure_s: int,
    *,
    egress_cap_s: float,
) -> float:
    """Travel minutes O -> destination leaving at ``departure_s`` (whole minutes down)."""
    walk = TransportMode.WALK
    best = leg_s(network, walk, 0.0, dest_m)  # the direct walk

    def first(stop_m: float) -> float:  # the access leg (walking is always an access mode)
        return min(leg_s(network, access, 0.0, stop_m), leg_s(network, walk, 0.0, stop_m))

    def last(stop_m: float) -> float:  # the egress leg, within its cap
        seconds = leg_s(network, egress, stop_m, dest_m)
        return seconds if seconds <= egress_cap_s else math.inf

    for stop_m in (3000.0, 6000.0):  # no ride: a stop reached by the access leg alone
        best = min(best, first(stop_m) + last(stop_m))
    at_a = departure_s + first(3000.0)
    boards = [t for t in range(BUS_FIRST_S, BUS_LAST_S + 1, BUS_EVERY_S) if t >= at_a + 60]
    if boards:
        best = min(best, boards[0] + RIDE_S + last(6000.0) - departure_s)
    return math.floor(best / 60.0) if best < 7200 else math.nan


def matrix(
    network: TransportNetwork, dest_m: float, departure: dt.datetime, **modes: object
) -> float:
    frame = travel_time_matrix(
        network,
        points(o=0.0),
        points(d=dest_m),
        transport_modes=["WALK", "TRANSIT"],
        departure=departure,
        departure_time_window=dt.timedelta(minutes=1),
        **modes,  # type: ignore[arg-type]
    )
    return float(frame["travel_time"].iloc[0])


@pytest.mark.parametrize("minute", [0, 3, 7])
@pytest.mark.parametrize(
    ("access", "egress", "dest_m"),
    [
        ("WALK", "WALK", 6300.0),
        ("BICYCLE", "WALK", 6300.0),
        ("CAR", "WALK", 6300.0),
        ("WALK", "BICYCLE", 9000.0),
        ("BICYCLE", "BICYCLE", 9000.0),
        ("CAR", "CAR", 9000.0),
    ],
)
def test_bike_and_car_legs_equal_the_reference(
    line: TransportNetwork, access: str, egress: str, dest_m: float, minute: int
) -> None:
    modes = {"BICYCLE": TransportMode.BIKE, "CAR": TransportMode.CAR, "WALK": TransportMode.WALK}
    caps = {
        TransportMode.WALK: MAX_EGRESS_WALK_M / 1.0,  # 3.6 km/h = 1 m/s
        TransportMode.BIKE: MAX_EGRESS_BIKE_M / (12.0 / 3.6),
        TransportMode.CAR: MAX_EGRESS_CAR_S,
    }
    departure = DAY + dt.timedelta(minutes=minute)
    expected = reference_min(
        line,
        modes[access],
        modes[egress],
        dest_m,
        8 * 3600 + 60 * minute,
        egress_cap_s=caps[modes[egress]],
    )
    got = matrix(line, dest_m, departure, access_modes=[access], egress_modes=[egress])
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def test_the_bike_makes_a_difference_here(line: TransportNetwork) -> None:
    """The case is not trivial: each option changes the answer, as the reference says."""
    walk = matrix(line, 6300.0, DAY)
    bike = matrix(line, 6300.0, DAY, access_modes=["BICYCLE"])
    assert bike < walk - 20  # 3 km: 50 min on foot, 15 by bike
    # 3 km past B: beyond the 2 km walking egress, within the 5 km by bike.
    far_walk = matrix(line, 9000.0, DAY)
    far_bike = matrix(line, 9000.0, DAY, egress_modes=["BICYCLE"])
    assert math.isnan(far_walk)  # 150 min on foot, and no bus trip ends within 2 km
    assert 70 < far_bike < 90  # 50 min on foot to A, the bus, 15 min by bike from B
    assert matrix(line, 9000.0, DAY, access_modes=["BICYCLE"], egress_modes=["BICYCLE"]) < 45
    # French names and several modes at once: the fastest leg per stop.
    both = matrix(line, 6300.0, DAY, access_modes=["marche", "velo"])
    assert both == bike


def test_the_legs_keep_their_own_limits(line: TransportNetwork) -> None:
    # The ride to A takes 15 min: a 10-minute cycling limit leaves only the walk.
    slow = matrix(
        line,
        6300.0,
        DAY,
        access_modes=["BICYCLE"],
        max_time_cycling=dt.timedelta(minutes=10),
    )
    assert slow == matrix(line, 6300.0, DAY)


def test_unknown_leg_mode_names_its_field() -> None:
    with pytest.raises(InputError) as error:
        make_params(access_modes=["TRANSIT"], departure=DAY)
    assert error.value.field == "access_modes"
    with pytest.raises(InputError) as error:
        make_params(egress_modes=["avion"], departure=DAY)
    assert error.value.field == "egress_modes"
    with pytest.raises(InputError) as error:
        make_params(access_modes=["CAR"], wheelchair=True, departure=DAY)
    assert error.value.field == "access_modes"


def test_caps_are_r5s() -> None:
    assert (MAX_EGRESS_WALK_M, MAX_EGRESS_BIKE_M, MAX_EGRESS_CAR_S) == (2000.0, 5000.0, 1800.0)
