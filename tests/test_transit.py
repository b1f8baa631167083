"""Range-RAPTOR (parcours.accessibility.transit) against exact references and known answers.

* On the real Nantes TAN feed: single-departure RAPTOR equals a plain-Python Connection
  Scan (same journey model, unlimited rides); range RAPTOR equals repeated single
  departures (also with a ride limit); the arrive-by search equals a binary search over
  departures; the fused percentiles equal the step-by-step ones.
* Hand-made feeds (tables in the layer schema) with known answers: frequencies
  (half-headway, exact times, Monte Carlo draws), transfers.txt, calendar_dates,
  a trip of the day before crossing midnight, the 60 s boarding slack, the ride limit,
  wheelchair rules; R5's percentile rule.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from parcours.accessibility.reference import Connection, Connections, connection_scan
from parcours.accessibility.transit import (
    INF,
    Timetable,
    Transfers,
    combine_egress,
    earliest_arrival,
    latest_departure,
    percentiles_r5,
    raptor_range,
    travel_time_percentiles,
)
from parcours.errors import GtfsError
from parcours.geo.crs import metric_crs_for

DAY = dt.date(2014, 5, 13)  # a Tuesday
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SLACK_S = 60


def hms(text: str) -> int:
    """'25:10' or '25:10:30' -> seconds after midnight of the service day."""
    parts = [int(p) for p in text.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)


# --------------------------------------------------------------------------- hand-made feeds


def make_tables(
    stops: dict[str, int],
    trips: Sequence[tuple[str, str, Sequence[tuple[str, ...]]]],
    *,
    trip_wheelchair: dict[str, int] | None = None,
    calendar: Sequence[tuple[str, Sequence[str], str, str]] = (
        ("f:daily", DAYS, "2014-01-01", "2014-12-31"),
    ),
    calendar_dates: Sequence[tuple[str, str, int]] = (),
    frequencies: Sequence[tuple[str, str, str, int, int]] = (),
    transfers: Sequence[tuple[str, str, int, float]] = (),
    no_pickup: Sequence[tuple[str, str]] = (),
) -> dict[str, pd.DataFrame]:
    """GTFS layers (docs/layers.md) from compact literals.

    ``trips``: (trip id, service id, stop times) with stop times (stop, time) or (stop,
    arrival, departure); ids are used as given (namespaced ``f:``).
    """
    stop_frame = pd.DataFrame(
        {
            "stop_id": list(stops),
            "feed_id": "f",
            "location_type": np.zeros(len(stops), dtype=np.int8),
            "wheelchair_boarding": np.array(list(stops.values()), dtype=np.int8),
        }
    )
    wc = trip_wheelchair or {}
    trip_frame = pd.DataFrame(
        {
            "trip_id": [t[0] for t in trips],
            "feed_id": "f",
            "route_id": [f"f:route_{t[0][2:]}" for t in trips],
            "service_id": [t[1] for t in trips],
            "direction_id": np.zeros(len(trips), dtype=np.int8),
            "wheelchair_accessible": np.array([wc.get(t[0], 0) for t in trips], dtype=np.int8),
            "frequency_based": [any(f[0] == t[0] for f in frequencies) for t in trips],
        }
    )
    rows = []
    for trip_id, _, times in trips:
        for seq, item in enumerate(times, start=1):
            stop, arrival = item[0], item[1]
            departure = item[2] if len(item) > 2 else item[1]
            rows.append(
                {
                    "trip_id": trip_id,
                    "stop_sequence": seq,
                    "stop_id": stop,
                    "arrival_s": hms(arrival),
                    "departure_s": hms(departure),
                    "interpolated": False,
                    "pickup_type": 1 if (trip_id, stop) in no_pickup else 0,
                    "drop_off_type": 0,
                }
            )
    stop_times = pd.DataFrame(rows).astype(
        {
            "stop_sequence": np.int32,
            "arrival_s": np.int32,
            "departure_s": np.int32,
            "pickup_type": np.int8,
            "drop_off_type": np.int8,
        }
    )
    cal = pd.DataFrame(
        {
            "service_id": [c[0] for c in calendar],
            **{day: [day in c[1] for c in calendar] for day in DAYS},
            "start_date": pd.to_datetime([c[2] for c in calendar]),
            "end_date": pd.to_datetime([c[3] for c in calendar]),
        }
    )
    dates = pd.DataFrame(
        {
            "service_id": [c[0] for c in calendar_dates],
            "date": pd.to_datetime([c[1] for c in calendar_dates]),
            "exception_type": np.array([c[2] for c in calendar_dates], dtype=np.int8),
        }
    )
    freq = pd.DataFrame(
        {
            "trip_id": [f[0] for f in frequencies],
            "start_s": np.array([hms(f[1]) for f in frequencies], dtype=np.int32),
            "end_s": np.array([hms(f[2]) for f in frequencies], dtype=np.int32),
            "headway_s": np.array([f[3] for f in frequencies], dtype=np.int32),
            "exact_times": np.array([f[4] for f in frequencies], dtype=np.int8),
        }
    )
    transfer_frame = pd.DataFrame(
        {
            "from_stop_id": [t[0] for t in transfers],
            "to_stop_id": [t[1] for t in transfers],
            "transfer_type": np.array([t[2] for t in transfers], dtype=np.int8),
            "min_transfer_time_s": np.array([t[3] for t in transfers], dtype=np.float64),
        }
    )
    return {
        "stops": stop_frame,
        "trips": trip_frame,
        "stop_times": stop_times,
        "calendar": cal,
        "calendar_dates": dates,
        "frequencies": freq,
        "transfers": transfer_frame,
    }


def no_walks(tt: Timetable) -> Transfers:
    empty = np.empty(0)
    return Transfers.build(
        tt.n_stops, empty, empty, empty, gtfs_transfers=None, stop_index=tt.stop_ids
    )


def arrivals_from(
    tt: Timetable,
    transfers: Transfers,
    origin: str,
    departure: str | int,
    *,
    max_rides: int = 8,
    draw: int = 0,
) -> dict[str, int | None]:
    """Earliest arrival at every stop from one stop (0 s access) at one departure."""
    dep = hms(departure) if isinstance(departure, str) else departure
    out = raptor_range(
        tt,
        transfers,
        np.array([tt.stop_index[origin]]),
        np.array([0.0]),
        np.array([0]),
        1,
        dep,
        60,
        max_rides=max_rides,
        draw=draw,
    )
    return {
        str(s): (None if v == INF else int(v)) for s, v in zip(tt.stop_ids, out[0, 0], strict=True)
    }


# --------------------------------------------------------------------------- known answers


def test_slack_rule_stop_served_once_at_0510() -> None:
    tables = make_tables(
        {"f:A": 0, "f:B": 0}, [("f:t1", "f:daily", [("f:A", "05:10"), ("f:B", "05:30")])]
    )
    tt = Timetable.build(tables, DAY)
    tr = no_walks(tt)
    assert arrivals_from(tt, tr, "f:A", "05:00")["f:B"] == hms("05:30")
    assert arrivals_from(tt, tr, "f:A", "05:09")["f:B"] == hms("05:30")  # 05:09 + 60 s = 05:10
    assert arrivals_from(tt, tr, "f:A", "05:10")["f:B"] is None  # 60 s slack: missed
    assert arrivals_from(tt, tr, "f:A", "05:10")["f:A"] == hms("05:10")  # at the origin


def test_trip_of_previous_day_crossing_midnight() -> None:
    # Service only on Monday 2014-05-12 (D - 1); the trip runs 23:50 -> 24:40.
    tables = make_tables(
        {"f:A": 0, "f:M": 0, "f:B": 0},
        [("f:night", "f:mon", [("f:A", "23:50"), ("f:M", "24:25"), ("f:B", "24:40")])],
        calendar=[("f:mon", ("monday",), "2014-01-01", "2014-12-31")],
    )
    tt = Timetable.build(tables, DAY)
    tr = no_walks(tt)
    result = arrivals_from(tt, tr, "f:M", "00:20")
    assert result["f:B"] == hms("00:40")
    # On the service day itself the trip runs at its own times.
    monday = Timetable.build(tables, DAY - dt.timedelta(days=1))
    assert arrivals_from(monday, no_walks(monday), "f:A", "23:40")["f:B"] == hms("24:40")
    # The journey names the trip; times stay on the service day D.
    journey = earliest_arrival(
        tt,
        tr,
        np.array([tt.stop_index["f:M"]]),
        np.array([0]),
        np.array([tt.stop_index["f:B"]]),
        np.array([0]),
        hms("00:20"),
    )
    assert journey is not None
    assert [leg.trip_id for leg in journey.legs if leg.mode == "transit"] == ["f:night"]
    assert (journey.legs[1].departure_s, journey.arrival_s) == (hms("00:25"), hms("00:40"))
    assert tt.trip_day_offset_s.tolist() == [-86_400]


def test_next_day_trip_serves_a_late_evening_departure() -> None:
    # Night bus coded on the next service day at 00:30 (a common French practice).
    tables = make_tables(
        {"f:A": 0, "f:B": 0}, [("f:t", "f:daily", [("f:A", "00:30"), ("f:B", "00:50")])]
    )
    tt = Timetable.build(tables, DAY)
    assert arrivals_from(tt, no_walks(tt), "f:A", "23:50")["f:B"] == hms("24:50")


def test_calendar_dates_exception_removes_and_adds_service() -> None:
    tables = make_tables(
        {"f:A": 0, "f:B": 0, "f:C": 0},
        [
            ("f:t1", "f:daily", [("f:A", "08:00"), ("f:B", "08:10")]),
            ("f:t2", "f:extra", [("f:A", "08:00"), ("f:C", "08:10")]),
        ],
        calendar=[
            ("f:daily", DAYS, "2014-01-01", "2014-12-31"),
            ("f:extra", (), "2014-01-01", "2014-12-31"),
        ],
        calendar_dates=[("f:daily", "2014-05-13", 2), ("f:extra", "2014-05-13", 1)],
    )
    tt = Timetable.build(tables, DAY)
    result = arrivals_from(tt, no_walks(tt), "f:A", "07:50")
    assert result["f:B"] is None  # removed on the 13th
    assert result["f:C"] == hms("08:10")  # added on the 13th
    other = Timetable.build(tables, DAY + dt.timedelta(days=1))
    result = arrivals_from(other, no_walks(other), "f:A", "07:50")
    assert (result["f:B"], result["f:C"]) == (hms("08:10"), None)


def test_no_service_on_the_date_is_an_error() -> None:
    tables = make_tables(
        {"f:A": 0, "f:B": 0},
        [("f:t1", "f:daily", [("f:A", "08:00"), ("f:B", "08:10")])],
        calendar=[("f:daily", DAYS, "2015-01-01", "2015-12-31")],
    )
    with pytest.raises(GtfsError, match="aucune course ne circule le 2014-05-13"):
        Timetable.build(tables, DAY)


def _transfer_network(
    transfers: Sequence[tuple[str, str, int, float]],
) -> tuple[Timetable, Transfers]:
    tables = make_tables(
        {"f:A": 0, "f:B": 0, "f:C": 0, "f:D": 0},
        [
            ("f:l1", "f:daily", [("f:A", "08:00"), ("f:B", "08:10")]),
            ("f:l2a", "f:daily", [("f:C", "08:13"), ("f:D", "08:30")]),
            ("f:l2b", "f:daily", [("f:C", "08:20"), ("f:D", "08:37")]),
        ],
        transfers=transfers,
    )
    tt = Timetable.build(tables, DAY)
    b, c = tt.stop_index["f:B"], tt.stop_index["f:C"]
    tr = Transfers.build(
        tt.n_stops,
        np.array([b, c]),
        np.array([c, b]),
        np.array([60.0, 60.0]),
        gtfs_transfers=tables["transfers"],
        stop_index=tt.stop_index,
    )
    return tt, tr


def test_transfers_txt_min_time_and_forbidden_transfer() -> None:
    # Street walk B -> C 60 s: ready 08:11, + 60 s slack -> catches the 08:13.
    tt, tr = _transfer_network([])
    assert arrivals_from(tt, tr, "f:A", "07:55")["f:D"] == hms("08:30")
    # transfers.txt: 180 s from B to C -> ready 08:13, + slack -> the 08:20.
    tt, tr = _transfer_network([("f:B", "f:C", 2, 180.0)])
    result = arrivals_from(tt, tr, "f:A", "07:55")
    assert (result["f:C"], result["f:D"]) == (hms("08:13"), hms("08:37"))
    # transfer_type 3: not possible.
    tt, tr = _transfer_network([("f:B", "f:C", 3, math.nan)])
    assert arrivals_from(tt, tr, "f:A", "07:55")["f:D"] is None
    assert arrivals_from(tt, tr, "f:C", "08:00")["f:B"] == hms("08:01")  # C -> B untouched
    # A transfers.txt time without a street walk adds the transfer.
    tables = make_tables(
        {"f:A": 0, "f:B": 0}, [("f:t", "f:daily", [("f:A", "08:00"), ("f:B", "08:10")])]
    )
    tt = Timetable.build(tables, DAY)
    extra = pd.DataFrame(
        {
            "from_stop_id": ["f:A"],
            "to_stop_id": ["f:B"],
            "transfer_type": np.array([2], np.int8),
            "min_transfer_time_s": [300.0],
        }
    )
    empty = np.empty(0)
    tr = Transfers.build(
        tt.n_stops, empty, empty, empty, gtfs_transfers=extra, stop_index=tt.stop_ids
    )
    assert arrivals_from(tt, tr, "f:A", "07:00")["f:B"] == hms("07:05")


def test_max_rides_limit() -> None:
    tables = make_tables(
        {"f:A": 0, "f:B": 0, "f:C": 0, "f:D": 0},
        [
            ("f:l1", "f:daily", [("f:A", "08:00"), ("f:B", "08:10")]),
            ("f:l2", "f:daily", [("f:B", "08:15"), ("f:C", "08:25")]),
            ("f:l3", "f:daily", [("f:C", "08:30"), ("f:D", "08:40")]),
            ("f:slow", "f:daily", [("f:A", "08:01"), ("f:D", "09:30")]),
        ],
    )
    tt = Timetable.build(tables, DAY)
    tr = no_walks(tt)
    assert arrivals_from(tt, tr, "f:A", "07:50", max_rides=1)["f:D"] == hms("09:30")
    assert arrivals_from(tt, tr, "f:A", "07:50", max_rides=2)["f:D"] == hms("09:30")
    assert arrivals_from(tt, tr, "f:A", "07:50", max_rides=2)["f:C"] == hms("08:25")
    assert arrivals_from(tt, tr, "f:A", "07:50", max_rides=3)["f:D"] == hms("08:40")
    # The range search respects the limit too (labels reused across minutes).
    a = tt.stop_index["f:A"]
    for rides, expected in ((2, hms("09:30")), (3, hms("08:40"))):
        out = raptor_range(
            tt,
            tr,
            np.array([a]),
            np.array([0]),
            np.array([0]),
            1,
            hms("07:50"),
            600,
            max_rides=rides,
        )
        assert (out[:, 0, tt.stop_index["f:D"]] == expected).all()


def test_wheelchair_rules_and_unknown_counts() -> None:
    tables = make_tables(
        {"f:A": 1, "f:B": 2, "f:C": 0, "f:D": 1},
        [
            ("f:t1", "f:daily", [("f:A", "08:00"), ("f:B", "08:05"), ("f:C", "08:10")]),
            ("f:t2", "f:daily", [("f:A", "08:02"), ("f:D", "08:12")]),
            ("f:t3", "f:daily", [("f:A", "08:20"), ("f:D", "08:30")]),
        ],
        trip_wheelchair={"f:t1": 0, "f:t2": 2, "f:t3": 1},
    )
    tt = Timetable.build(tables, DAY)
    result = arrivals_from(tt, no_walks(tt), "f:A", "07:50")
    assert (result["f:B"], result["f:C"], result["f:D"]) == (
        hms("08:05"),
        hms("08:10"),
        hms("08:12"),
    )
    wtt = Timetable.build(tables, DAY, wheelchair=True)
    result = arrivals_from(wtt, no_walks(wtt), "f:A", "07:50")
    assert result["f:B"] is None  # wheelchair_boarding = 2: never alighted at
    assert result["f:C"] == hms("08:10")  # the trip passes B, still usable
    assert result["f:D"] == hms("08:30")  # t2 is not accessible
    assert (wtt.wheelchair_unknown_stops, wtt.wheelchair_unknown_trips) == (1, 1)
    journey = earliest_arrival(
        wtt,
        no_walks(wtt),
        np.array([wtt.stop_index["f:A"]]),
        np.array([0]),
        np.array([wtt.stop_index["f:C"]]),
        np.array([0]),
        hms("07:50"),
    )
    assert journey is not None
    assert journey.wheelchair_unknown == 2  # stop C and trip t1 are unknown
    assert journey.rides == 1


FREQ_STOPS = {"f:A": 0, "f:B": 0, "f:C": 0}
# Template: A -> B in 10 min; B -> C scheduled.
FREQ_TRIPS = [
    ("f:ab", "f:daily", [("f:A", "00:00"), ("f:B", "00:10")]),
    ("f:bc", "f:daily", [("f:B", "07:30"), ("f:C", "07:45")]),
]


def test_frequencies_half_headway() -> None:
    tables = make_tables(FREQ_STOPS, FREQ_TRIPS, frequencies=[("f:ab", "06:00", "08:00", 600, 0)])
    tt = Timetable.build(tables, DAY)
    assert (tt.frequency_method, tt.n_draws) == ("half_headway", 1)
    tr = no_walks(tt)
    # Ready 07:00 + 60 s slack, + half headway 300 s -> leaves A 07:06, B at 07:16.
    assert arrivals_from(tt, tr, "f:A", "07:00")["f:B"] == hms("07:16")
    # Before the service starts: waits for 06:00 + 300 s.
    assert arrivals_from(tt, tr, "f:A", "05:30")["f:B"] == hms("06:15")
    # Last departure of the band: 07:59 -> ready 07:59:59 < 08:00.
    assert arrivals_from(tt, tr, "f:A", hms("07:58:59"))["f:B"] == hms("08:14:59")
    assert arrivals_from(tt, tr, "f:A", "07:59")["f:B"] is None
    # Transfer to the scheduled B -> C at 07:30 (needs B by 07:29).
    assert arrivals_from(tt, tr, "f:A", "07:13")["f:C"] == hms("07:45")
    assert arrivals_from(tt, tr, "f:A", "07:14")["f:C"] is None


def test_frequencies_exact_times_are_expanded() -> None:
    tables = make_tables(FREQ_STOPS, FREQ_TRIPS, frequencies=[("f:ab", "06:00", "08:00", 600, 1)])
    tt = Timetable.build(tables, DAY)
    assert tt.frequency_method == "none"
    tr = no_walks(tt)
    assert arrivals_from(tt, tr, "f:A", "06:59")["f:B"] == hms("07:10")
    assert arrivals_from(tt, tr, "f:A", "07:00")["f:B"] == hms("07:20")
    assert arrivals_from(tt, tr, "f:A", "07:50")["f:B"] is None  # last vehicle 07:50


def test_frequencies_monte_carlo_draws() -> None:
    tables = make_tables(FREQ_STOPS, FREQ_TRIPS, frequencies=[("f:ab", "06:00", "08:00", 600, 0)])
    tt = Timetable.build(tables, DAY, frequency_draws=5, seed=42)
    assert (tt.frequency_method, tt.n_draws) == ("monte_carlo", 5)
    tr = no_walks(tt)
    a, b = tt.stop_index["f:A"], tt.stop_index["f:B"]
    waits = []
    for draw in range(5):
        arrival = arrivals_from(tt, tr, "f:A", "07:00", draw=draw)["f:B"]
        assert arrival is not None
        wait = arrival - 600 - (hms("07:00") + SLACK_S)
        assert 0 <= wait < 600  # some vehicle of the draw within one headway
        waits.append(wait)
    assert len(set(waits)) > 1
    again = Timetable.build(tables, DAY, frequency_draws=5, seed=42)
    assert np.array_equal(again.departure_s, tt.departure_s)  # seeded
    # Percentiles are taken over minutes x draws.
    window = 600
    fused = travel_time_percentiles(
        tt,
        tr,
        np.array([a]),
        np.array([0]),
        np.array([0]),
        1,
        np.array([b]),
        np.array([0]),
        np.array([0]),
        1,
        hms("07:00"),
        window,
        [5, 50, 95],
    )
    per_draw = [
        combine_egress(
            raptor_range(tt, tr, np.array([a]), np.array([0]), np.array([0]), 1,
                         hms("07:00"), window, draw=d),
            np.array([b]), np.array([0]), np.array([0]), 1, hms("07:00"), None, max_time_s=7200,
        )
        for d in range(5)
    ]  # fmt: skip
    expected = percentiles_r5(np.concatenate(per_draw, axis=0), [5, 50, 95])
    assert np.array_equal(fused, expected)


def test_latest_departure_mirrors_earliest_arrival_with_headways() -> None:
    tables = make_tables(
        {"f:A": 0, "f:B": 0, "f:C": 0, "f:D": 0},
        [
            ("f:ab", "f:daily", [("f:A", "00:00"), ("f:B", "00:07", "00:08"), ("f:C", "00:20")]),
            ("f:cd", "f:daily", [("f:C", "07:30"), ("f:D", "07:45")]),
            ("f:cd2", "f:daily", [("f:C", "08:02"), ("f:D", "08:20")]),
        ],
        frequencies=[("f:ab", "06:00", "07:00", 900, 0), ("f:ab", "07:00", "09:00", 420, 0)],
    )
    tt = Timetable.build(tables, DAY)
    tr = no_walks(tt)
    acc, egr = np.array([tt.stop_index["f:A"]]), np.array([tt.stop_index["f:D"]])
    for arrive_by in ("07:44", "07:45", "08:19", "08:20", "08:40"):
        check_arrive_by(tt, tr, acc, np.array([0]), egr, np.array([0]), hms(arrive_by))
    # Stop C reached directly (frequency leg only).
    egr = np.array([tt.stop_index["f:C"]])
    for arrive_by in ("06:30", "07:10", "08:00", "09:40"):
        check_arrive_by(tt, tr, acc, np.array([0]), egr, np.array([0]), hms(arrive_by))


def check_arrive_by(
    tt: Timetable,
    tr: Transfers,
    acc_stop: np.ndarray,
    acc_s: np.ndarray,
    egr_stop: np.ndarray,
    egr_s: np.ndarray,
    arrive_by: int,
    max_time_s: int = 7200,
) -> bool:
    """latest_departure == the last departure second whose earliest arrival is in time."""

    def arrival(dep: int) -> float:
        out = raptor_range(
            tt,
            tr,
            acc_stop,
            acc_s,
            np.zeros(len(acc_stop), np.int64),
            1,
            dep,
            60,
            max_time_s=max_time_s,
        )
        times = combine_egress(
            out, egr_stop, np.zeros(len(egr_stop), np.int64), egr_s, 1, dep, None
        )
        return float(times[0, 0, 0]) + dep

    journey = latest_departure(
        tt, tr, acc_stop, acc_s, egr_stop, egr_s, arrive_by, max_time_s=max_time_s
    )
    lo = arrive_by - max_time_s
    if arrival(lo) > arrive_by:
        assert journey is None
        return False
    assert journey is not None
    hi = arrive_by  # arrival(lo) <= T; find the last such departure
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if arrival(mid) <= arrive_by:
            lo = mid
        else:
            hi = mid - 1
    assert journey.departure_s == lo
    assert journey.arrival_s <= arrive_by
    assert journey.arrival_s == arrival(lo)
    return True


# --------------------------------------------------------------------------- percentiles


@pytest.mark.parametrize(
    ("n", "percentile", "index"),
    [
        (60, 5, 2),
        (60, 50, 29),
        (60, 95, 56),
        (60, 100, 59),
        (10, 25, 2),  # ceil(2.5) - 1
        (10, 50, 4),  # ceil(5) - 1: no interpolation between 4 and 5
        (5, 1, 0),
        (1, 50, 0),
        (120, 10, 11),
        (100, 7, 7),  # R5's double arithmetic: 7 / 100 * 100 = 7.000000000000001
        (60, 0, 0),
    ],
)
def test_percentiles_r5_index_rule(n: int, percentile: int, index: int) -> None:
    values = np.arange(n, dtype=np.float64)[::-1].copy()  # unsorted on purpose
    assert percentiles_r5(values[:, None], [percentile])[0, 0] == index


def test_percentiles_r5_unreachable_and_shape() -> None:
    times = np.array([[600.0, np.inf], [np.inf, np.inf], [300.0, np.nan], [900.0, 60.0]])
    result = percentiles_r5(times, [25, 50, 75, 100])
    assert result.shape == (4, 2)
    assert result[:, 0].tolist() == [300.0, 600.0, 900.0, np.inf]
    assert result[:, 1].tolist() == [60.0, np.inf, np.inf, np.inf]


# --------------------------------------------------------------------------- Nantes


NANTES_DEPARTURES = ("06:00", "20:00")


@pytest.fixture(scope="session")
def nantes(shared_data: Path) -> dict[str, pd.DataFrame]:
    from parcours.territories.readers._base import ReadContext
    from parcours.territories.readers.gtfs import read_gtfs

    crs = metric_crs_for(-1.55, 47.22)
    # Lambert-93 box covering metropolitan France: the whole feed is kept.
    ctx = ReadContext(crs=crs, area=shapely.box(-400_000, 6_000_000, 1_400_000, 7_200_000))
    path = shared_data / "france_nantes_tempus" / "tan_nantes_gtfs_2014.zip"
    return {layer.name: layer.frame for layer in read_gtfs([path], ctx)}


@pytest.fixture(scope="session")
def nantes_network(nantes: dict[str, pd.DataFrame]) -> tuple[Timetable, Transfers]:
    from scipy.spatial import cKDTree

    tt = Timetable.build(nantes, DAY)
    stops = nantes["stops"]
    xy = np.c_[stops.geometry.x.to_numpy(), stops.geometry.y.to_numpy()]
    pairs = cKDTree(xy).query_pairs(1000.0, output_type="ndarray")
    dist = np.linalg.norm(xy[pairs[:, 0]] - xy[pairs[:, 1]], axis=1)
    # Stand-in for the street engine: crow-fly x 1.3 detour at 1.3 m/s, i.e. 1 s per metre.
    walk = np.r_[dist, dist]
    tr = Transfers.build(
        tt.n_stops,
        np.r_[pairs[:, 0], pairs[:, 1]],
        np.r_[pairs[:, 1], pairs[:, 0]],
        walk,
        gtfs_transfers=nantes["transfers"],
        stop_index=tt.stop_index,
    )
    return tt, tr


def reference_connections(
    tables: dict[str, pd.DataFrame], stop_index: dict[str, int]
) -> Connections:
    """Connections (dep, arr, from, to, trip, board ok, alight ok) of D and of D - 1.

    Written independently of the module: services from calendar + calendar_dates, trips
    of the day before shifted by -86,400 s.
    """

    def services(day: dt.date) -> set[str]:
        cal = tables["calendar"]
        stamp = pd.Timestamp(day)
        running = (
            cal[DAYS[day.weekday()]] & (cal["start_date"] <= stamp) & (cal["end_date"] >= stamp)
        )
        active = set(cal.loc[running, "service_id"])
        dates = tables["calendar_dates"]
        today = dates[dates["date"] == stamp]
        active |= set(today.loc[today["exception_type"] == 1, "service_id"])
        active -= set(today.loc[today["exception_type"] == 2, "service_id"])
        return active

    trips = tables["trips"]
    st = tables["stop_times"].sort_values(["trip_id", "stop_sequence"])
    conns: list[Connection] = []
    trip_no = 0
    for shift, day in ((0, DAY), (-86_400, DAY - dt.timedelta(days=1))):
        running = set(trips.loc[trips["service_id"].isin(services(day)), "trip_id"])
        part = st[st["trip_id"].isin(running)]
        trip = part["trip_id"].to_numpy()
        stop = np.array([stop_index[s] for s in part["stop_id"]])
        arr = part["arrival_s"].to_numpy(np.int64) + shift
        dep = part["departure_s"].to_numpy(np.int64) + shift
        pick = part["pickup_type"].to_numpy() != 1
        drop = part["drop_off_type"].to_numpy() != 1
        same = trip[:-1] == trip[1:]
        numbers = np.cumsum(np.r_[True, ~same]) + trip_no
        trip_no = int(numbers[-1]) + 1
        for i in np.flatnonzero(same).tolist():
            conns.append(
                (
                    int(dep[i]),
                    int(arr[i + 1]),
                    int(stop[i]),
                    int(stop[i + 1]),
                    int(numbers[i]),
                    bool(pick[i]),
                    bool(drop[i + 1]),
                )
            )
    conns.sort(key=lambda c: (c[0], c[4]))  # stable: stop sequence kept within a trip
    return [c[0] for c in conns], conns


def test_raptor_equals_connection_scan_on_nantes(
    nantes: dict[str, pd.DataFrame], nantes_network: tuple[Timetable, Transfers]
) -> None:
    tt, tr = nantes_network
    conns = reference_connections(nantes, tt.stop_index)
    rng = np.random.default_rng(7)
    served = np.unique(tt.pattern_stops)
    lo, hi = (hms(t) for t in NANTES_DEPARTURES)
    max_time = 3 * 3600
    reached = 0
    for _ in range(30):
        origins = rng.choice(served, size=3, replace=False)
        access = [(int(s), int(a)) for s, a in zip(origins, rng.integers(0, 600, 3), strict=True)]
        departure = int(rng.integers(lo, hi))
        expected = connection_scan(conns, tr, tt.n_stops, access, departure, departure + max_time)
        out = raptor_range(
            tt,
            tr,
            np.array([s for s, _ in access]),
            np.array([a for _, a in access]),
            np.zeros(3, np.int64),
            1,
            departure,
            60,
            max_rides=40,
            max_time_s=max_time,
        )
        assert out[0, 0].tolist() == expected
        reached += sum(v < INF for v in expected)
    assert reached > 30 * 500  # the queries do reach much of the network


def test_range_equals_repeated_single_departures(
    nantes_network: tuple[Timetable, Transfers],
) -> None:
    tt, tr = nantes_network
    rng = np.random.default_rng(11)
    served = np.unique(tt.pattern_stops)
    n_orig, n_min = 6, 25
    acc_stop = rng.choice(served, size=12)
    acc_s = rng.integers(0, 400, size=12)
    acc_origin = np.repeat(np.arange(n_orig), 2)
    start = hms("07:20")
    for rides in (2, 8):
        ranged = raptor_range(
            tt,
            tr,
            acc_stop,
            acc_s,
            acc_origin,
            n_orig,
            start,
            n_min * 60,
            max_rides=rides,
            max_time_s=5400,
        )
        assert ranged.shape == (n_min, n_orig, tt.n_stops)
        for m in range(n_min):
            single = raptor_range(
                tt,
                tr,
                acc_stop,
                acc_s,
                acc_origin,
                n_orig,
                start + 60 * m,
                30,
                max_rides=rides,
                max_time_s=5400,
            )
            assert np.array_equal(ranged[m], single[0]), (rides, m)


def test_arrive_by_equals_search_over_departures_on_nantes(
    nantes_network: tuple[Timetable, Transfers],
) -> None:
    tt, tr = nantes_network
    rng = np.random.default_rng(3)
    served = np.unique(tt.pattern_stops)
    reached = tries = 0
    while reached < 6 and tries < 300:  # six pairs with a journey, not six draws
        tries += 1
        o, d = rng.choice(served, size=2, replace=False)
        arrive_by = int(rng.integers(hms("07:00"), hms("19:00")))
        reached += check_arrive_by(
            tt,
            tr,
            np.array([o]),
            np.array([0]),
            np.array([d]),
            np.array([0]),
            arrive_by,
            max_time_s=5400,
        )
    assert reached == 6


def test_fused_percentiles_equal_step_by_step(nantes_network: tuple[Timetable, Transfers]) -> None:
    tt, tr = nantes_network
    rng = np.random.default_rng(5)
    served = np.unique(tt.pattern_stops)
    n_orig, n_dest = 5, 40
    acc_stop, acc_s = rng.choice(served, size=10), rng.integers(0, 500, size=10)
    acc_origin = np.repeat(np.arange(n_orig), 2)
    eg_stop, eg_s = rng.choice(served, size=120), rng.integers(0, 500, size=120)
    eg_dest = rng.integers(0, n_dest, size=120)
    walk = np.where(
        rng.random((n_orig, n_dest)) < 0.3, rng.integers(300, 3000, (n_orig, n_dest)), np.inf
    )
    start, window, pct = hms("16:30"), 1800, [5, 25, 50, 75, 95]
    arrivals = raptor_range(
        tt, tr, acc_stop, acc_s, acc_origin, n_orig, start, window, max_time_s=3600
    )
    times = combine_egress(arrivals, eg_stop, eg_dest, eg_s, n_dest, start, walk, max_time_s=3600)
    expected = percentiles_r5(times, pct)
    fused = travel_time_percentiles(
        tt,
        tr,
        acc_stop,
        acc_s,
        acc_origin,
        n_orig,
        eg_stop,
        eg_dest,
        eg_s,
        n_dest,
        start,
        window,
        pct,
        max_time_s=3600,
        walk_only_s=walk,
        batch_size=2,
    )
    assert fused.shape == (len(pct), n_orig, n_dest)
    assert np.array_equal(fused, expected)
    assert np.isfinite(fused).any() and not np.isfinite(fused).all()
    assert (fused[np.isfinite(fused)] < 3600).all()


def test_nantes_timetable_shape(nantes_network: tuple[Timetable, Transfers]) -> None:
    tt, tr = nantes_network
    assert tt.n_stops == 3415
    assert tt.stop_ids[0].startswith("tan_nantes_gtfs_2014:")
    assert tt.frequency_method == "none"
    # Within each pattern, trips never overtake one another.
    for p in range(tt.n_patterns):
        ns = int(tt.pattern_stop_ptr[p + 1] - tt.pattern_stop_ptr[p])
        nt = int(tt.pattern_trip_ptr[p + 1] - tt.pattern_trip_ptr[p])
        base = int(tt.pattern_time_ptr[p])
        dep = tt.departure_s[base : base + ns * nt].reshape(ns, nt)
        arr = tt.arrival_s[base : base + ns * nt].reshape(ns, nt)
        assert (np.diff(dep, axis=1) >= 0).all() and (np.diff(arr, axis=1) >= 0).all()
    # transfers.txt rows are in (60 s between COME stops).
    come1 = tt.stop_index["tan_nantes_gtfs_2014:StopPoint:COME1"]
    come2 = tt.stop_index["tan_nantes_gtfs_2014:StopPoint:COME2"]
    targets = tr.to_stop[tr.ptr[come1] : tr.ptr[come1 + 1]].tolist()
    assert tr.walk_s[tr.ptr[come1] + targets.index(come2)] == 60
