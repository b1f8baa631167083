"""The native transit engine: range-RAPTOR over the GTFS layers.

The method is R5's (Conway, Byrd & van der Linden 2017, "Evidence-based transit and land
use sketch planning using interactive accessibility methods on combined schedule and
headway-based networks"), on flat numpy arrays and a compiled (numba) inner loop:

* :meth:`Timetable.build` turns the GTFS tables of a territory (``docs/layers.md``) into
  patterns (trips with the same stop sequence and pick-up/drop-off rules, sorted by
  departure, split where a trip overtakes another) for one **service day**. It takes the
  trips running on that day, the trips of the day before that are still running after
  midnight (their times shifted by -86,400 s: a 23:50 -> 24:40 trip of the day before
  serves a 00:20 departure) and the trips of the day after that leave before
  :data:`_NEXT_DAY_UNTIL_S` (shifted by +86,400 s, for late-evening departures). Times
  are seconds after midnight of the service day.
* :func:`raptor_range` runs RAPTOR for every departure minute of a window, from the last
  minute to the first, reusing the labels of the later minute (range RAPTOR: a journey
  leaving later can always be caught by leaving earlier); each round only scans the
  patterns serving a stop improved in the previous round; a vehicle is boarded when it
  leaves at least ``min_board_slack_s`` (60 s, R5's value) after the rider reached the
  stop; rounds are rides (``max_rides``).
* :func:`combine_egress` and :func:`travel_time_percentiles` add the walk from the stops
  to the destinations and the walk-only time, then :func:`percentiles_r5` reduces the
  per-minute travel times with R5's rule.
* :func:`earliest_arrival` (depart after T) and :func:`latest_departure` (arrive by T)
  answer one origin-destination query with the journey's legs.

Journey model, shared by every function (and by the reference in the tests): walk from
the origin to a stop (access), optionally walk once to another stop (a transfer), then
any number of (board, ride, alight, optionally walk once to another stop), then walk to
the destination (egress). Walks between stops come from :class:`Transfers` (the street
engine's stop-to-stop walks up to 1,000 m, overridden or forbidden by ``transfers.txt``).

Frequencies (``frequencies.txt``): rows with ``exact_times = 1`` are expanded into the
scheduled trips they describe. Rows with ``exact_times = 0`` (headway-based service) are
modelled, by default (``frequency_draws=None``), by the **half-headway** rule: a rider
who reaches a stop while the service runs boards ``headway / 2`` after being ready (the
vehicle's departure from the first stop must fall in ``[start_s, end_s)``, and a rider
arriving before the service starts waits until ``start_s + headway / 2``). With
``frequency_draws=N`` they are modelled by **seeded Monte Carlo draws** as R5 does: each
draw gives every frequency row a random phase in ``[0, headway)`` (numpy generator seeded
with ``seed``), turning it into scheduled trips; the range search runs once per draw and
the percentiles are taken over the ``n_minutes x N`` travel times.

Wheelchair (``wheelchair=True``): stops with ``wheelchair_boarding = 2`` are neither
boarded nor alighted at, trips with ``wheelchair_accessible = 2`` are left out; unknown
values (0) are kept and counted (:attr:`Timetable.wheelchair_unknown_stops`,
``wheelchair_unknown_trips``, and per journey :attr:`Journey.wheelchair_unknown`).

Percentiles follow R5 (``TravelTimeReducer.findPercentileIndex``): the per-minute times
are sorted and the value at index ``ceil(p / 100 * n) - 1`` is taken, without
interpolation, computed in double precision exactly as R5 does (so ``p = 7`` over 100
values gives index 7, not 6, since ``7 / 100 * 100 = 7.000000000000001`` in binary
floating point; the usual 5/25/50/75/95 over 60 or 120 minutes are exact). A travel
time is kept when it is below ``max_time_s`` (R5 keeps a time whose whole minutes are
below the maximum duration).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numba import njit, prange

from parcours.errors import GtfsError
from parcours.i18n import tr
from parcours.territories.readers._base import ProgressFn

__all__ = [
    "INF",
    "Journey",
    "Leg",
    "Timetable",
    "Transfers",
    "combine_egress",
    "earliest_arrival",
    "latest_departure",
    "percentiles_r5",
    "raptor_range",
    "travel_time_percentiles",
]

#: Sentinel of an unreached stop in the int32 arrival arrays (seconds).
INF: int = 2_147_483_647
_INF = 2_147_483_647
_DAY_S = 86_400
#: Trips of the next service day are kept when they leave their first stop before this
#: time (seconds after that day's midnight): late-evening departures can use them.
_NEXT_DAY_UNTIL_S = 6 * 3600
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Kinds of the arrival labels (parents, for journeys).
_BY_RIDE = 1  # reached by a ride (or by the access walk in round 0): see the ride parents
_BY_WALK = 2  # reached by a walk from another stop's ride label
_BY_COPY = 3  # same label as the previous round


# --------------------------------------------------------------------------- timetable


@dataclass(frozen=True, eq=False)
class Timetable:
    """The patterns and trips of one service day, as flat arrays.

    Built by :meth:`build`. Stop ``i`` of every array is ``stop_ids[i]`` (every row of
    the ``stops`` layer, stations included, in the layer's order).

    Attributes
    ----------
    stop_ids
        Namespaced stop ids; the index is the internal stop index.
    stop_wheelchair
        ``wheelchair_boarding`` of each stop (0 unknown, 1 yes, 2 no).
    service_date
        The service day: times are seconds after its midnight.
    wheelchair
        Whether the timetable was built for a wheelchair user.
    n_draws
        Number of Monte Carlo draws of the frequency-based trips (1 without draws).
    frequency_method
        ``"half_headway"``, ``"monte_carlo"`` or ``"none"`` (no headway-based rows).
    pattern_stop_ptr, pattern_stops, pattern_board, pattern_alight
        CSR of the stops of each pattern, with whether boarding (pick-up) and alighting
        (drop-off) are allowed at each position.
    pattern_trip_ptr
        Trips of pattern ``p`` are the global trips ``pattern_trip_ptr[p]`` to
        ``pattern_trip_ptr[p + 1] - 1``, by increasing departure.
    pattern_time_ptr, arrival_s, departure_s
        Times of pattern ``p``, stop position ``i``, trip ``k`` (within the pattern, of
        ``nt`` trips) are at ``pattern_time_ptr[p] + i * nt + k``. Headway-based patterns
        hold one template trip whose times are offsets from its first departure.
    pattern_draw
        Monte Carlo draw of the pattern's trips (-1: all draws).
    pattern_freq_ptr, freq_start_s, freq_end_s, freq_board_wait_s, freq_alight_wait_s
        Headway-based service of each pattern (empty for scheduled patterns): boarding
        at position ``i`` when ready at ``r`` gives a template shift
        ``max(r - departure_offset_i, start) + board_wait`` when that ``max`` is below
        ``end``; arrivals downstream are ``shift + arrival_offset + alight_wait``.
    stop_pattern_ptr, stop_patterns, stop_pattern_pos
        CSR from a stop to the (pattern, position) pairs that serve it.
    trip_ids, trip_route_ids, trip_wheelchair, trip_day_offset_s
        For each global trip: its GTFS id, route, ``wheelchair_accessible`` and the
        shift of its service day (-86,400 for the day before, 0, +86,400).
    wheelchair_unknown_stops, wheelchair_unknown_trips
        Stops served (and trips kept) whose accessibility is unknown (0).
    is_reversed
        True for the mirrored timetable used by arrive-by searches (times negated,
        patterns reversed).

    """

    stop_ids: np.ndarray
    stop_wheelchair: np.ndarray
    service_date: dt.date
    wheelchair: bool
    n_draws: int
    frequency_method: str
    pattern_stop_ptr: np.ndarray
    pattern_stops: np.ndarray
    pattern_board: np.ndarray
    pattern_alight: np.ndarray
    pattern_trip_ptr: np.ndarray
    pattern_time_ptr: np.ndarray
    arrival_s: np.ndarray
    departure_s: np.ndarray
    pattern_draw: np.ndarray
    pattern_freq_ptr: np.ndarray
    freq_start_s: np.ndarray
    freq_end_s: np.ndarray
    freq_board_wait_s: np.ndarray
    freq_alight_wait_s: np.ndarray
    stop_pattern_ptr: np.ndarray
    stop_patterns: np.ndarray
    stop_pattern_pos: np.ndarray
    trip_ids: np.ndarray
    trip_route_ids: np.ndarray
    trip_wheelchair: np.ndarray
    trip_day_offset_s: np.ndarray
    wheelchair_unknown_stops: int
    wheelchair_unknown_trips: int
    is_reversed: bool = False

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        tables: Mapping[str, pd.DataFrame],
        service_date: dt.date,
        *,
        wheelchair: bool = False,
        frequency_draws: int | None = None,
        seed: int = 0,
        next_day_until_s: int = _NEXT_DAY_UNTIL_S,
    ) -> Timetable:
        """Build the timetable of one service day from the GTFS layers.

        Parameters
        ----------
        tables
            The layers ``stops``, ``trips``, ``stop_times`` and, when present,
            ``calendar``, ``calendar_dates``, ``frequencies`` (``docs/layers.md``).
        service_date
            The service day (times of the results are seconds after its midnight).
        wheelchair
            Leave out stops with ``wheelchair_boarding = 2`` (never boarded nor
            alighted at) and trips with ``wheelchair_accessible = 2``.
        frequency_draws
            None: headway-based frequencies by the half-headway rule; an integer N >= 1:
            N seeded Monte Carlo draws of their phases (R5's method).
        seed
            Seed of the Monte Carlo draws.
        next_day_until_s
            Trips of the next service day are kept when they leave before this time of
            that day (default 06:00); a search running later into the next day (an
            arrive-by at 09:00 whose window starts the evening before) needs more.

        Returns
        -------
        Timetable

        Raises
        ------
        GtfsError
            A table or column is missing, a stop time references an unknown trip or
            stop, or no trip runs on ``service_date``.

        """
        return _build_timetable(
            tables, service_date, wheelchair, frequency_draws, seed, next_day_until_s
        )

    # ------------------------------------------------------------------ helpers

    @property
    def n_stops(self) -> int:
        """Number of stops (the length of :attr:`stop_ids`)."""
        return len(self.stop_ids)

    @property
    def n_patterns(self) -> int:
        """Number of patterns."""
        return int(len(self.pattern_stop_ptr) - 1)

    @property
    def n_trips(self) -> int:
        """Number of trips (frequency templates count once)."""
        return len(self.trip_ids)

    @cached_property
    def stop_index(self) -> dict[str, int]:
        """Map of a namespaced stop id to its internal index."""
        return {str(s): i for i, s in enumerate(self.stop_ids)}

    @cached_property
    def reversed(self) -> Timetable:
        """The mirrored timetable (times negated, stop sequences reversed).

        A forward search on it from a destination at ``-T`` gives, at each stop, minus
        the latest time one can be there and still arrive by ``T``; boarding and
        alighting swap roles (pick-up and drop-off rules too).
        """
        return _reverse_timetable(self)

    def _kernel_args(self) -> tuple[np.ndarray, ...]:
        return (
            self.pattern_stop_ptr,
            self.pattern_stops,
            self.pattern_board,
            self.pattern_alight,
            self.pattern_trip_ptr,
            self.pattern_time_ptr,
            self.arrival_s,
            self.departure_s,
            self.pattern_draw,
            self.pattern_freq_ptr,
            self.freq_start_s,
            self.freq_end_s,
            self.freq_board_wait_s,
            self.freq_alight_wait_s,
            self.stop_pattern_ptr,
            self.stop_patterns,
            self.stop_pattern_pos,
        )


def _column(tables: Mapping[str, pd.DataFrame], name: str, column: str) -> pd.Series:
    """Return a required column of a required layer, or raise a GtfsError."""
    frame = tables.get(name)
    if frame is None:
        raise GtfsError(
            tr(
                f"la couche « {name} » manque : chargez d'abord un GTFS",
                f"the '{name}' layer is missing: load a GTFS feed first",
            ),
            file=name,
        )
    if column not in frame.columns:
        raise GtfsError(tr("colonne manquante", "missing column"), file=name, field=column)
    return frame[column]


def _optional(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    frame = tables.get(name)
    return None if frame is None or frame.empty else frame


def _int_column(frame: pd.DataFrame, column: str, default: int, n: int) -> np.ndarray:
    if column not in frame.columns:
        return np.full(n, default, dtype=np.int64)
    values = pd.to_numeric(frame[column], errors="coerce")
    return values.fillna(default).to_numpy(dtype=np.int64)


def _active_services(
    calendar: pd.DataFrame | None, calendar_dates: pd.DataFrame | None, day: dt.date
) -> set[str]:
    """Service ids running on ``day`` (calendar, then calendar_dates added and removed)."""
    active: set[str] = set()
    stamp = pd.Timestamp(day)
    if calendar is not None:
        flags = calendar[_DAYS[day.weekday()]].to_numpy(dtype=bool, na_value=False)
        start = pd.to_datetime(calendar["start_date"]).to_numpy()
        end = pd.to_datetime(calendar["end_date"]).to_numpy()
        mask = flags & (start <= stamp.to_datetime64()) & (end >= stamp.to_datetime64())
        active.update(calendar["service_id"].astype(str).to_numpy()[mask].tolist())
    if calendar_dates is not None:
        dates = pd.to_datetime(calendar_dates["date"]).dt.normalize()
        rows = calendar_dates[(dates == stamp).to_numpy()]
        kind = rows["exception_type"].to_numpy(dtype=np.int64)
        ids = rows["service_id"].astype(str).to_numpy()
        active.update(ids[kind == 1].tolist())
        active.difference_update(ids[kind == 2].tolist())
    return active


@dataclass
class _Instances:
    """Scheduled vehicle runs before grouping into patterns (one list entry per run)."""

    trip_row: list[int]
    delta_s: list[int]  # added to the stop_times of the trip row
    draw: list[int]
    day_offset_s: list[int]


def _build_timetable(
    tables: Mapping[str, pd.DataFrame],
    service_date: dt.date,
    wheelchair: bool,
    frequency_draws: int | None,
    seed: int,
    next_day_until_s: int = _NEXT_DAY_UNTIL_S,
) -> Timetable:
    if frequency_draws is not None and frequency_draws < 1:
        raise ValueError("frequency_draws must be None or >= 1")
    stop_ids = _column(tables, "stops", "stop_id").astype(str).to_numpy(dtype=object)
    stops = tables["stops"]
    n_stops = len(stop_ids)
    stop_index = pd.Index(stop_ids)
    if not stop_index.is_unique:
        raise GtfsError(tr("stop_id en double", "duplicate stop_id"), file="stops", field="stop_id")
    stop_wc = _int_column(stops, "wheelchair_boarding", 0, n_stops).astype(np.int8)

    trip_ids = _column(tables, "trips", "trip_id").astype(str).to_numpy(dtype=object)
    trips = tables["trips"]
    n_trip_rows = len(trip_ids)
    trip_index = pd.Index(trip_ids)
    if not trip_index.is_unique:
        raise GtfsError(tr("trip_id en double", "duplicate trip_id"), file="trips", field="trip_id")
    services = _column(tables, "trips", "service_id").astype(str).to_numpy(dtype=object)
    routes = (
        trips["route_id"].astype(str).to_numpy(dtype=object)
        if "route_id" in trips.columns
        else np.full(n_trip_rows, "", dtype=object)
    )
    trip_wc_rows = _int_column(trips, "wheelchair_accessible", 0, n_trip_rows).astype(np.int8)

    for column in ("trip_id", "stop_id", "stop_sequence", "arrival_s", "departure_s"):
        _column(tables, "stop_times", column)
    st = tables["stop_times"]
    st_row = trip_index.get_indexer(st["trip_id"].astype(str))
    if (st_row < 0).any():
        bad = st["trip_id"].iloc[int(np.flatnonzero(st_row < 0)[0])]
        raise GtfsError(
            tr(f"course inconnue « {bad} »", f"unknown trip '{bad}'"),
            file="stop_times",
            field="trip_id",
        )
    st_stop = stop_index.get_indexer(st["stop_id"].astype(str))
    if (st_stop < 0).any():
        bad = st["stop_id"].iloc[int(np.flatnonzero(st_stop < 0)[0])]
        raise GtfsError(
            tr(f"arrêt inconnu « {bad} »", f"unknown stop '{bad}'"),
            file="stop_times",
            field="stop_id",
        )
    order = np.lexsort((st["stop_sequence"].to_numpy(dtype=np.int64), st_row))
    st_row = st_row[order]
    st_stop = st_stop[order].astype(np.int32)
    st_arr = st["arrival_s"].to_numpy(dtype=np.int64)[order]
    st_dep = st["departure_s"].to_numpy(dtype=np.int64)[order]
    n_st = len(order)
    pickup = _int_column(st, "pickup_type", 0, n_st)[order]
    drop_off = _int_column(st, "drop_off_type", 0, n_st)[order]
    board_ok = pickup != 1
    alight_ok = drop_off != 1
    if wheelchair:
        blocked = stop_wc[st_stop] == 2
        board_ok &= ~blocked
        alight_ok &= ~blocked
    first = np.searchsorted(st_row, np.arange(n_trip_rows), side="left")
    last = np.searchsorted(st_row, np.arange(n_trip_rows), side="right")
    # No boarding at a trip's last stop nor alighting at its first one.
    has_times = last > first
    board_ok[last[has_times] - 1] = False
    alight_ok[first[has_times]] = False
    usable = (last - first) >= 2
    if wheelchair:
        usable &= trip_wc_rows != 2

    calendar = _optional(tables, "calendar")
    calendar_dates = _optional(tables, "calendar_dates")
    active = {
        offset: _active_services(calendar, calendar_dates, service_date + dt.timedelta(days=offset))
        for offset in (-1, 0, 1)
    }
    runs = {offset: usable & np.isin(services, list(active[offset])) for offset in (-1, 0, 1)}

    freq = _optional(tables, "frequencies")
    freq_rows = np.empty(0, dtype=np.int64)
    if freq is not None:
        freq_rows = trip_index.get_indexer(freq["trip_id"].astype(str))
        if (freq_rows < 0).any():
            bad = freq["trip_id"].iloc[int(np.flatnonzero(freq_rows < 0)[0])]
            raise GtfsError(
                tr(f"course inconnue « {bad} »", f"unknown trip '{bad}'"),
                file="frequencies",
                field="trip_id",
            )
    is_template = np.zeros(n_trip_rows, dtype=bool)
    is_template[freq_rows] = True

    if n_st:
        first_dep = np.where(has_times, st_dep[np.minimum(first, n_st - 1)], 0)
        last_arr = np.where(has_times, st_arr[np.maximum(last - 1, 0)], 0)
    else:
        first_dep = last_arr = np.zeros(n_trip_rows, dtype=np.int64)

    inst = _Instances([], [], [], [])
    # Scheduled trips of the three service days.
    for offset in (-1, 0, 1):
        shift = offset * _DAY_S
        keep = runs[offset] & ~is_template
        if offset == -1:
            keep &= last_arr + shift >= 0
        elif offset == 1:
            keep &= first_dep < next_day_until_s
        rows = np.flatnonzero(keep)
        inst.trip_row.extend(rows.tolist())
        inst.delta_s.extend([shift] * len(rows))
        inst.draw.extend([-1] * len(rows))
        inst.day_offset_s.extend([shift] * len(rows))

    # Frequency-based trips.
    rng = np.random.default_rng(seed)
    headway_templates: dict[int, list[tuple[int, int, int]]] = {}
    any_headway = False
    n_draws = 1
    if freq is not None:
        f_start = freq["start_s"].to_numpy(dtype=np.int64)
        f_end = freq["end_s"].to_numpy(dtype=np.int64)
        f_headway = freq["headway_s"].to_numpy(dtype=np.int64)
        f_exact = _int_column(freq, "exact_times", 0, len(freq))
        any_headway = bool(((f_exact == 0) & usable[freq_rows]).any())
        if frequency_draws is not None and any_headway:
            n_draws = int(frequency_draws)
        # Phases drawn once per (row, draw), in table order, whatever the service day.
        phases = (
            rng.integers(0, np.maximum(f_headway, 1)[:, None], size=(len(freq), n_draws))
            if frequency_draws is not None
            else None
        )
        for j in range(len(freq)):
            row = int(freq_rows[j])
            if not usable[row] or f_headway[j] <= 0:
                continue
            for offset in (-1, 0, 1):
                if not runs[offset][row]:
                    continue
                shift = offset * _DAY_S
                span = last_arr[row] - first_dep[row]
                start, end, headway = int(f_start[j]), int(f_end[j]), int(f_headway[j])
                if offset == -1 and end + span + shift < 0:
                    continue
                if offset == 1 and start >= next_day_until_s:
                    continue
                if f_exact[j] == 1 or phases is not None:
                    draws = [(-1, 0)] if f_exact[j] == 1 else list(enumerate(phases[j]))  # type: ignore[index]
                    for draw, phase in draws:
                        starts = np.arange(start + int(phase), end, headway)
                        if offset == -1:
                            starts = starts[starts + span + shift >= 0]
                        elif offset == 1:
                            starts = starts[starts < next_day_until_s]
                        inst.trip_row.extend([row] * len(starts))
                        inst.delta_s.extend((starts - first_dep[row] + shift).tolist())
                        inst.draw.extend([draw] * len(starts))
                        inst.day_offset_s.extend([shift] * len(starts))
                else:
                    headway_templates.setdefault(row, []).append(
                        (start + shift, end + shift, headway)
                    )
    if any_headway:
        frequency_method = "monte_carlo" if frequency_draws is not None else "half_headway"
    else:
        frequency_method = "none"

    if not inst.trip_row and not headway_templates:
        raise GtfsError(
            tr(
                f"aucune course ne circule le {service_date.isoformat()} : choisissez une date "
                "comprise dans la période des GTFS (couche « feeds »)",
                f"no trip runs on {service_date.isoformat()}: choose a date within the "
                "feeds' service period (the 'feeds' layer)",
            ),
            file="calendar",
        )

    parts = _group_patterns(
        inst,
        headway_templates,
        first,
        last,
        st_stop,
        st_arr,
        st_dep,
        board_ok,
        alight_ok,
        first_dep,
    )
    (
        pat_stops_list,
        pat_board_list,
        pat_alight_list,
        pat_arr_list,
        pat_dep_list,
        pat_draw,
        pat_freq_list,
        pat_trip_rows,
        pat_trip_offsets,
    ) = parts

    n_pat = len(pat_stops_list)
    ns = np.array([len(s) for s in pat_stops_list], dtype=np.int64)
    nt = np.array([len(r) for r in pat_trip_rows], dtype=np.int64)
    pattern_stop_ptr = np.zeros(n_pat + 1, dtype=np.int64)
    pattern_stop_ptr[1:] = np.cumsum(ns)
    pattern_trip_ptr = np.zeros(n_pat + 1, dtype=np.int64)
    pattern_trip_ptr[1:] = np.cumsum(nt)
    pattern_time_ptr = np.zeros(n_pat + 1, dtype=np.int64)
    pattern_time_ptr[1:] = np.cumsum(ns * nt)
    cat_i32 = _concat_int32
    pattern_stops = cat_i32(pat_stops_list)
    pattern_board = np.concatenate(pat_board_list).astype(np.uint8) if n_pat else _u8()
    pattern_alight = np.concatenate(pat_alight_list).astype(np.uint8) if n_pat else _u8()
    # Stop-major layout: times[(i * nt) + k].
    arrival_s = cat_i32([a.T.ravel() for a in pat_arr_list])
    departure_s = cat_i32([d.T.ravel() for d in pat_dep_list])
    n_freq = np.array([len(f) for f in pat_freq_list], dtype=np.int64)
    pattern_freq_ptr = np.zeros(n_pat + 1, dtype=np.int64)
    pattern_freq_ptr[1:] = np.cumsum(n_freq)
    entries = [e for f in pat_freq_list for e in f]
    freq_arr = np.array(entries, dtype=np.int64).reshape(-1, 3)
    trip_rows_all = (
        np.concatenate(pat_trip_rows).astype(np.int64) if n_pat else np.empty(0, np.int64)
    )
    trip_offsets_all = (
        np.concatenate(pat_trip_offsets).astype(np.int64) if n_pat else np.empty(0, np.int64)
    )
    stop_pattern_ptr, stop_patterns, stop_pattern_pos = _stop_patterns(
        n_stops, pattern_stop_ptr, pattern_stops
    )
    served = np.zeros(n_stops, dtype=bool)
    served[pattern_stops] = True
    kept_rows = np.unique(trip_rows_all)
    return Timetable(
        stop_ids=stop_ids,
        stop_wheelchair=stop_wc,
        service_date=service_date,
        wheelchair=wheelchair,
        n_draws=n_draws,
        frequency_method=frequency_method,
        pattern_stop_ptr=pattern_stop_ptr,
        pattern_stops=pattern_stops,
        pattern_board=pattern_board,
        pattern_alight=pattern_alight,
        pattern_trip_ptr=pattern_trip_ptr,
        pattern_time_ptr=pattern_time_ptr,
        arrival_s=arrival_s,
        departure_s=departure_s,
        pattern_draw=np.asarray(pat_draw, dtype=np.int32),
        pattern_freq_ptr=pattern_freq_ptr,
        freq_start_s=freq_arr[:, 0].astype(np.int64),
        freq_end_s=freq_arr[:, 1].astype(np.int64),
        freq_board_wait_s=(freq_arr[:, 2] // 2).astype(np.int64),
        freq_alight_wait_s=np.zeros(len(freq_arr), dtype=np.int64),
        stop_pattern_ptr=stop_pattern_ptr,
        stop_patterns=stop_patterns,
        stop_pattern_pos=stop_pattern_pos,
        trip_ids=trip_ids[trip_rows_all],
        trip_route_ids=routes[trip_rows_all],
        trip_wheelchair=trip_wc_rows[trip_rows_all],
        trip_day_offset_s=trip_offsets_all.astype(np.int32),
        wheelchair_unknown_stops=int((served & (stop_wc == 0)).sum()),
        wheelchair_unknown_trips=int((trip_wc_rows[kept_rows] == 0).sum()),
    )


def _u8() -> np.ndarray:
    return np.empty(0, dtype=np.uint8)


def _concat_int32(parts: list[np.ndarray]) -> np.ndarray:
    if not parts:
        return np.empty(0, dtype=np.int32)
    out = np.concatenate(parts)
    if len(out) and (out.max() >= _INF or out.min() <= -_INF):
        raise GtfsError(tr("heure hors limites", "time out of range"), file="stop_times")
    return out.astype(np.int32)


def _group_patterns(
    inst: _Instances,
    headway_templates: dict[int, list[tuple[int, int, int]]],
    first: np.ndarray,
    last: np.ndarray,
    st_stop: np.ndarray,
    st_arr: np.ndarray,
    st_dep: np.ndarray,
    board_ok: np.ndarray,
    alight_ok: np.ndarray,
    first_dep: np.ndarray,
) -> tuple[
    list[np.ndarray],
    list[np.ndarray],
    list[np.ndarray],
    list[np.ndarray],
    list[np.ndarray],
    list[int],
    list[list[tuple[int, int, int]]],
    list[np.ndarray],
    list[np.ndarray],
]:
    """Group vehicle runs into non-overtaking patterns; one pattern per headway template."""
    rows = np.asarray(inst.trip_row, dtype=np.int64)
    deltas = np.asarray(inst.delta_s, dtype=np.int64)
    draws = np.asarray(inst.draw, dtype=np.int64)
    offsets = np.asarray(inst.day_offset_s, dtype=np.int64)
    key_of_row: dict[int, bytes] = {}
    groups: dict[tuple[bytes, int], list[int]] = {}
    for j, row in enumerate(rows.tolist()):
        key = key_of_row.get(row)
        if key is None:
            a, b = int(first[row]), int(last[row])
            key = st_stop[a:b].tobytes() + board_ok[a:b].tobytes() + alight_ok[a:b].tobytes()
            key_of_row[row] = key
        groups.setdefault((key, int(draws[j])), []).append(j)

    out_stops: list[np.ndarray] = []
    out_board: list[np.ndarray] = []
    out_alight: list[np.ndarray] = []
    out_arr: list[np.ndarray] = []
    out_dep: list[np.ndarray] = []
    out_draw: list[int] = []
    out_freq: list[list[tuple[int, int, int]]] = []
    out_rows: list[np.ndarray] = []
    out_offsets: list[np.ndarray] = []
    for (_, draw), members in groups.items():
        idx = np.asarray(members, dtype=np.int64)
        row0 = int(rows[idx[0]])
        a, b = int(first[row0]), int(last[row0])
        n = b - a
        positions = first[rows[idx]][:, None] + np.arange(n)[None, :]
        arr = st_arr[positions] + deltas[idx][:, None]
        dep = st_dep[positions] + deltas[idx][:, None]
        sort = np.lexsort((arr[:, -1], dep[:, 0]))
        arr, dep, idx = arr[sort], dep[sort], idx[sort]
        for sub in _split_overtaking(arr, dep):
            out_stops.append(st_stop[a:b].copy())
            out_board.append(board_ok[a:b].copy())
            out_alight.append(alight_ok[a:b].copy())
            out_arr.append(arr[sub])
            out_dep.append(dep[sub])
            out_draw.append(draw)
            out_freq.append([])
            out_rows.append(rows[idx[sub]])
            out_offsets.append(offsets[idx[sub]])
    for row, bands in headway_templates.items():
        a, b = int(first[row]), int(last[row])
        out_stops.append(st_stop[a:b].copy())
        out_board.append(board_ok[a:b].copy())
        out_alight.append(alight_ok[a:b].copy())
        out_arr.append((st_arr[a:b] - first_dep[row])[None, :])
        out_dep.append((st_dep[a:b] - first_dep[row])[None, :])
        out_draw.append(-1)
        out_freq.append(sorted(bands))
        out_rows.append(np.array([row], dtype=np.int64))
        out_offsets.append(np.zeros(1, dtype=np.int64))
    return (
        out_stops,
        out_board,
        out_alight,
        out_arr,
        out_dep,
        out_draw,
        out_freq,
        out_rows,
        out_offsets,
    )


def _split_overtaking(arr: np.ndarray, dep: np.ndarray) -> list[np.ndarray]:
    """Split trips (sorted by departure) into groups where no trip overtakes another.

    In each group, every stop's arrival and departure times are non-decreasing from one
    trip to the next (first-fit greedy assignment).
    """
    if len(arr) < 2 or ((np.diff(arr, axis=0) >= 0).all() and (np.diff(dep, axis=0) >= 0).all()):
        return [np.arange(len(arr))]
    groups: list[list[int]] = []
    tails: list[int] = []
    for k in range(len(arr)):
        for g, tail in enumerate(tails):
            if (arr[tail] <= arr[k]).all() and (dep[tail] <= dep[k]).all():
                groups[g].append(k)
                tails[g] = k
                break
        else:
            groups.append([k])
            tails.append(k)
    return [np.asarray(g, dtype=np.int64) for g in groups]


def _stop_patterns(
    n_stops: int, pattern_stop_ptr: np.ndarray, pattern_stops: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR from stops to the (pattern, position) pairs serving them."""
    counts = np.diff(pattern_stop_ptr)
    pattern_of = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    position = np.arange(len(pattern_stops), dtype=np.int64) - np.repeat(
        pattern_stop_ptr[:-1], counts
    )
    order = np.argsort(pattern_stops, kind="stable")
    ptr = np.zeros(n_stops + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(np.bincount(pattern_stops, minlength=n_stops))
    return ptr, pattern_of[order], position[order].astype(np.int32)


def _reverse_timetable(tt: Timetable) -> Timetable:
    """Mirror a timetable: reversed stop sequences, negated times, swapped rules."""
    n_pat = tt.n_patterns
    stops: list[np.ndarray] = []
    board: list[np.ndarray] = []
    alight: list[np.ndarray] = []
    arr: list[np.ndarray] = []
    dep: list[np.ndarray] = []
    trip_order: list[np.ndarray] = []
    f_start: list[int] = []
    f_end: list[int] = []
    f_bw: list[int] = []
    f_aw: list[int] = []
    for p in range(n_pat):
        s0, s1 = int(tt.pattern_stop_ptr[p]), int(tt.pattern_stop_ptr[p + 1])
        t0, t1 = int(tt.pattern_trip_ptr[p]), int(tt.pattern_trip_ptr[p + 1])
        ns, nt = s1 - s0, t1 - t0
        base = int(tt.pattern_time_ptr[p])
        a = tt.arrival_s[base : base + ns * nt].reshape(ns, nt)
        d = tt.departure_s[base : base + ns * nt].reshape(ns, nt)
        stops.append(tt.pattern_stops[s0:s1][::-1])
        board.append(tt.pattern_alight[s0:s1][::-1])
        alight.append(tt.pattern_board[s0:s1][::-1])
        arr.append((-d[::-1, ::-1]).ravel())
        dep.append((-a[::-1, ::-1]).ravel())
        trip_order.append(np.arange(t1 - 1, t0 - 1, -1, dtype=np.int64))
        for e in range(int(tt.pattern_freq_ptr[p]), int(tt.pattern_freq_ptr[p + 1])):
            start, end = int(tt.freq_start_s[e]), int(tt.freq_end_s[e])
            bw, aw = int(tt.freq_board_wait_s[e]), int(tt.freq_alight_wait_s[e])
            f_start.append(-(end - 1 + bw + aw))
            f_end.append(-(start + bw + aw) + 1)
            f_bw.append(aw)
            f_aw.append(bw)
    order = np.concatenate(trip_order) if trip_order else np.empty(0, np.int64)
    pattern_stops = _concat_int32(stops)
    ptr, pats, pos = _stop_patterns(tt.n_stops, tt.pattern_stop_ptr, pattern_stops)
    return Timetable(
        stop_ids=tt.stop_ids,
        stop_wheelchair=tt.stop_wheelchair,
        service_date=tt.service_date,
        wheelchair=tt.wheelchair,
        n_draws=tt.n_draws,
        frequency_method=tt.frequency_method,
        pattern_stop_ptr=tt.pattern_stop_ptr,
        pattern_stops=pattern_stops,
        pattern_board=np.concatenate(board) if board else _u8(),
        pattern_alight=np.concatenate(alight) if alight else _u8(),
        pattern_trip_ptr=tt.pattern_trip_ptr,
        pattern_time_ptr=tt.pattern_time_ptr,
        arrival_s=_concat_int32(arr),
        departure_s=_concat_int32(dep),
        pattern_draw=tt.pattern_draw,
        pattern_freq_ptr=tt.pattern_freq_ptr,
        freq_start_s=np.asarray(f_start, dtype=np.int64),
        freq_end_s=np.asarray(f_end, dtype=np.int64),
        freq_board_wait_s=np.asarray(f_bw, dtype=np.int64),
        freq_alight_wait_s=np.asarray(f_aw, dtype=np.int64),
        stop_pattern_ptr=ptr,
        stop_patterns=pats,
        stop_pattern_pos=pos,
        trip_ids=tt.trip_ids[order],
        trip_route_ids=tt.trip_route_ids[order],
        trip_wheelchair=tt.trip_wheelchair[order],
        trip_day_offset_s=tt.trip_day_offset_s[order],
        wheelchair_unknown_stops=tt.wheelchair_unknown_stops,
        wheelchair_unknown_trips=tt.wheelchair_unknown_trips,
        is_reversed=not tt.is_reversed,
    )


# --------------------------------------------------------------------------- transfers


@dataclass(frozen=True, eq=False)
class Transfers:
    """Walking transfers between stops, as a CSR (stop -> stops, seconds).

    Attributes
    ----------
    n_stops
        Number of stops (as in the timetable).
    ptr, to_stop, walk_s
        The transfers from stop ``s`` are ``to_stop[ptr[s]:ptr[s + 1]]`` with their
        walking times ``walk_s[ptr[s]:ptr[s + 1]]`` (seconds).

    """

    n_stops: int
    ptr: np.ndarray
    to_stop: np.ndarray
    walk_s: np.ndarray

    @classmethod
    def build(
        cls,
        n_stops: int,
        from_idx: np.ndarray,
        to_idx: np.ndarray,
        walk_s: np.ndarray,
        *,
        gtfs_transfers: pd.DataFrame | None,
        stop_index: Mapping[str, int] | Sequence[str] | np.ndarray,
    ) -> Transfers:
        """Combine the street engine's stop-to-stop walks with ``transfers.txt``.

        Parameters
        ----------
        n_stops
            Number of stops of the timetable.
        from_idx, to_idx, walk_s
            Walks between stops computed on the street network (up to 1,000 m), as
            internal stop indexes and seconds (rounded to whole seconds). A walk from a
            stop to itself is ignored (the boarding slack covers it); duplicates keep the
            shortest time.
        gtfs_transfers
            The ``transfers`` layer (or None). For each row between two known stops:
            ``transfer_type`` 3 (not possible) removes the walk from ``from_stop_id`` to
            ``to_stop_id``; a ``min_transfer_time_s`` replaces (or adds) the walk with
            that time; type 1 (timed transfer) without a time adds a 0 s transfer; other
            rows without a time keep the street walk. Rows with ``from_stop_id ==
            to_stop_id`` and rows naming stops absent from ``stop_index`` are ignored.
        stop_index
            Namespaced stop id -> internal index (:attr:`Timetable.stop_index`), or the
            stop ids in index order (:attr:`Timetable.stop_ids`).

        Returns
        -------
        Transfers

        """
        f = np.asarray(from_idx, dtype=np.int64).ravel()
        t = np.asarray(to_idx, dtype=np.int64).ravel()
        w = np.rint(np.asarray(walk_s, dtype=np.float64).ravel())
        if not (len(f) == len(t) == len(w)):
            raise ValueError("from_idx, to_idx and walk_s must have the same length")
        ok = (f != t) & np.isfinite(w) & (w >= 0)
        if len(f) and ((f < 0) | (f >= n_stops) | (t < 0) | (t >= n_stops)).any():
            raise ValueError("stop index out of range")
        walks: dict[tuple[int, int], int] = {}
        for a, b, s in zip(
            f[ok].tolist(), t[ok].tolist(), w[ok].astype(np.int64).tolist(), strict=True
        ):
            old = walks.get((a, b))
            if old is None or s < old:
                walks[(a, b)] = s
        if gtfs_transfers is not None and len(gtfs_transfers):
            index = (
                dict(stop_index)
                if isinstance(stop_index, Mapping)
                else {str(s): i for i, s in enumerate(stop_index)}
            )
            kinds = _int_column(gtfs_transfers, "transfer_type", 0, len(gtfs_transfers))
            times = (
                pd.to_numeric(gtfs_transfers["min_transfer_time_s"], errors="coerce").to_numpy(
                    dtype=np.float64
                )
                if "min_transfer_time_s" in gtfs_transfers.columns
                else np.full(len(gtfs_transfers), np.nan)
            )
            froms = gtfs_transfers["from_stop_id"].astype(str).tolist()
            tos = gtfs_transfers["to_stop_id"].astype(str).tolist()
            for a_id, b_id, kind, time_s in zip(
                froms, tos, kinds.tolist(), times.tolist(), strict=True
            ):
                a, b = index.get(a_id), index.get(b_id)
                if a is None or b is None or a == b or kind > 3:
                    continue
                if kind == 3:
                    walks.pop((a, b), None)
                elif not math.isnan(time_s):
                    walks[(a, b)] = round(time_s)
                elif kind == 1:
                    walks[(a, b)] = 0
        keys = np.array(list(walks.keys()), dtype=np.int64).reshape(-1, 2)
        values = np.array(list(walks.values()), dtype=np.int64)
        order = np.lexsort((keys[:, 1], keys[:, 0]))
        ptr = np.zeros(n_stops + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(np.bincount(keys[:, 0], minlength=n_stops))
        return cls(
            n_stops=int(n_stops),
            ptr=ptr,
            to_stop=keys[order, 1].astype(np.int32),
            walk_s=values[order].astype(np.int32),
        )

    @cached_property
    def reversed(self) -> Transfers:
        """The transposed transfers (to -> from), for arrive-by searches."""
        counts = np.diff(self.ptr)
        from_stop = np.repeat(np.arange(self.n_stops, dtype=np.int64), counts)
        to_stop = self.to_stop.astype(np.int64)
        order = np.lexsort((from_stop, to_stop))
        ptr = np.zeros(self.n_stops + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(np.bincount(to_stop, minlength=self.n_stops))
        return Transfers(
            n_stops=self.n_stops,
            ptr=ptr,
            to_stop=from_stop[order].astype(np.int32),
            walk_s=self.walk_s[order],
        )

    def _kernel_args(self) -> tuple[np.ndarray, ...]:
        return (self.ptr, self.to_stop, self.walk_s)


# --------------------------------------------------------------------------- kernel


@njit(cache=True)
def _push(lst: np.ndarray, row: int, flags: np.ndarray, s: int, n: int) -> int:
    if flags[s] == 0:
        flags[s] = 1
        lst[row, n] = s
        return n + 1
    return n


@njit(cache=True)
def _new_work(n_stops: int, n_pats: int) -> Any:
    imp = np.empty((2, n_stops), dtype=np.int32)
    scan = np.empty((2, n_stops), dtype=np.int32)
    ride_list = np.empty((1, n_stops), dtype=np.int32)
    f_imp = np.zeros(n_stops, dtype=np.uint8)
    f_scan = np.zeros(n_stops, dtype=np.uint8)
    f_ride = np.zeros(n_stops, dtype=np.uint8)
    pat_first = np.full(max(n_pats, 1), -1, dtype=np.int32)
    pat_list = np.empty(max(n_pats, 1), dtype=np.int32)
    return (imp, scan, ride_list, f_imp, f_scan, f_ride, pat_first, pat_list)


@njit(cache=True)
def _new_parents(n_rounds: int, n_stops: int, record: bool) -> Any:
    shape = (n_rounds + 1, n_stops) if record else (1, 1)
    kind = np.zeros(shape, dtype=np.int8)
    from_stop = np.full(shape, -1, dtype=np.int32)
    r_pat = np.full(shape, -1, dtype=np.int32)
    r_trip = np.full(shape, -1, dtype=np.int32)
    r_pos = np.full(shape, -1, dtype=np.int32)
    r_time = np.zeros(shape, dtype=np.int64)
    return (kind, from_stop, r_pat, r_trip, r_pos, r_time)


@njit(cache=True)
def _minute(
    ttk: Any,
    trk: Any,
    acc_stop: np.ndarray,
    acc_s: np.ndarray,
    dep: int,
    limit: int,
    n_rounds: int,
    board_slack: int,
    alight_slack: int,
    draw: int,
    tau: np.ndarray,
    ride: np.ndarray,
    work: Any,
    par: Any,
    record: bool,
) -> tuple[int, int]:
    """One RAPTOR search (all rounds) from one departure time, updating ``tau``/``ride``.

    ``tau[k, s]``: earliest arrival at ``s`` with at most ``k`` rides (kept from a later
    departure in range mode); ``ride[k, s]``: earliest arrival at ``s`` off a vehicle of
    round ``k`` (or by the access walk in round 0), the only labels walks start from.

    Returns ``(row, n)``: the stops whose ``tau[n_rounds]`` improved in this search are
    ``work[0][row, :n]`` (round ``k`` writes only ``tau[k]``, so a search that stops
    early, for want of improvements, leaves ``tau[n_rounds]`` unchanged: ``n = 0``).
    """
    (
        pat_stop_ptr,
        pat_stops,
        pat_board,
        pat_alight,
        pat_trip_ptr,
        pat_time_ptr,
        t_arr,
        t_dep,
        pat_draw,
        pat_freq_ptr,
        f_start,
        f_end,
        f_bw,
        f_aw,
        stop_pat_ptr,
        stop_pats,
        stop_pat_pos,
    ) = ttk
    tr_ptr, tr_to, tr_s = trk
    imp, scan, ride_list, f_imp, f_scan, f_ride, pat_first, pat_list = work
    p_kind, p_from, r_pat, r_trip, r_pos, r_time = par
    cur = 0
    n_imp = 0
    n_scan = 0
    n_ride = 0
    # Round 0: the access walks.
    for a in range(acc_stop.shape[0]):
        s = acc_stop[a]
        t = dep + acc_s[a]
        if t > limit:
            continue
        if t < ride[0, s]:
            ride[0, s] = t
            if record:
                r_pat[0, s] = -1
                r_trip[0, s] = a
                r_time[0, s] = dep
            n_ride = _push(ride_list, 0, f_ride, s, n_ride)
        if t < tau[0, s]:
            tau[0, s] = t
            if record:
                p_kind[0, s] = _BY_RIDE
            n_imp = _push(imp, cur, f_imp, s, n_imp)
            n_scan = _push(scan, cur, f_scan, s, n_scan)
    for j in range(n_ride):
        s = ride_list[0, j]
        f_ride[s] = 0
        ts = ride[0, s]
        for e in range(tr_ptr[s], tr_ptr[s + 1]):
            r = tr_to[e]
            t = ts + tr_s[e]
            if t <= limit and t < tau[0, r]:
                tau[0, r] = t
                if record:
                    p_kind[0, r] = _BY_WALK
                    p_from[0, r] = s
                n_imp = _push(imp, cur, f_imp, r, n_imp)
                n_scan = _push(scan, cur, f_scan, r, n_scan)

    done = 0
    for k in range(1, n_rounds + 1):
        prev = cur
        cur = 1 - cur
        n_pimp = n_imp
        n_pscan = n_scan
        if n_pimp == 0:
            break
        done = k
        for j in range(n_pimp):
            f_imp[imp[prev, j]] = 0
        for j in range(n_pscan):
            f_scan[scan[prev, j]] = 0
        n_imp = 0
        n_scan = 0
        n_ride = 0
        # "At most k rides": carry the improvements of round k - 1.
        for j in range(n_pimp):
            s = imp[prev, j]
            if tau[k - 1, s] < tau[k, s]:
                tau[k, s] = tau[k - 1, s]
                if record:
                    p_kind[k, s] = _BY_COPY
                n_imp = _push(imp, cur, f_imp, s, n_imp)
        # Patterns serving a stop reached anew in round k - 1, from the earliest position.
        n_pat = 0
        for j in range(n_pscan):
            s = scan[prev, j]
            for q in range(stop_pat_ptr[s], stop_pat_ptr[s + 1]):
                p = stop_pats[q]
                d = pat_draw[p]
                if d >= 0 and d != draw:
                    continue
                pos = stop_pat_pos[q]
                if pat_first[p] < 0:
                    pat_list[n_pat] = p
                    n_pat += 1
                    pat_first[p] = pos
                elif pos < pat_first[p]:
                    pat_first[p] = pos
        for j in range(n_pat):
            p = pat_list[j]
            i0 = pat_first[p]
            pat_first[p] = -1
            s0 = pat_stop_ptr[p]
            ns = pat_stop_ptr[p + 1] - s0
            nt = pat_trip_ptr[p + 1] - pat_trip_ptr[p]
            base = pat_time_ptr[p]
            e0 = pat_freq_ptr[p]
            e1 = pat_freq_ptr[p + 1]
            trip = -1
            shift = _INF  # headway-based: arrival = shift + arrival offset
            bpos = -1
            btime = 0
            for i in range(i0, ns):
                s = pat_stops[s0 + i]
                if bpos >= 0 and pat_alight[s0 + i]:
                    if e1 == e0:
                        t = t_arr[base + i * nt + trip] + alight_slack
                    else:
                        t = shift + t_arr[base + i] + alight_slack
                    if t <= limit:
                        if t < ride[k, s]:
                            ride[k, s] = t
                            if record:
                                r_pat[k, s] = p
                                r_trip[k, s] = trip
                                r_pos[k, s] = bpos
                                r_time[k, s] = btime
                            n_ride = _push(ride_list, 0, f_ride, s, n_ride)
                        if t < tau[k, s]:
                            tau[k, s] = t
                            if record:
                                p_kind[k, s] = _BY_RIDE
                            n_imp = _push(imp, cur, f_imp, s, n_imp)
                            n_scan = _push(scan, cur, f_scan, s, n_scan)
                if pat_board[s0 + i]:
                    tp = tau[k - 1, s]
                    if tp < _INF:
                        ready = tp + board_slack
                        if e1 == e0:
                            hi = trip if trip >= 0 else nt
                            lo = 0
                            h = hi
                            off = base + i * nt
                            while lo < h:
                                mid = (lo + h) >> 1
                                if t_dep[off + mid] < ready:
                                    lo = mid + 1
                                else:
                                    h = mid
                            if lo < hi:
                                trip = lo
                                bpos = i
                                btime = t_dep[off + lo]
                        else:
                            x0 = ready - t_dep[base + i]
                            for e in range(e0, e1):
                                x = x0 if x0 > f_start[e] else f_start[e]
                                if x < f_end[e]:
                                    c = x + f_bw[e] + f_aw[e]
                                    if c < shift:
                                        shift = c
                                        trip = 0
                                        bpos = i
                                        btime = x + f_bw[e] + t_dep[base + i]
        # Walks from the stops reached by a vehicle in this round.
        for j in range(n_ride):
            s = ride_list[0, j]
            f_ride[s] = 0
            ts = ride[k, s]
            for e in range(tr_ptr[s], tr_ptr[s + 1]):
                r = tr_to[e]
                t = ts + tr_s[e]
                if t <= limit and t < tau[k, r]:
                    tau[k, r] = t
                    if record:
                        p_kind[k, r] = _BY_WALK
                        p_from[k, r] = s
                    n_imp = _push(imp, cur, f_imp, r, n_imp)
                    n_scan = _push(scan, cur, f_scan, r, n_scan)
    for j in range(n_imp):
        f_imp[imp[cur, j]] = 0
    for j in range(n_scan):
        f_scan[scan[cur, j]] = 0
    return cur, (n_imp if done == n_rounds else 0)


@njit(cache=True, parallel=True)
def _range_kernel(
    ttk: Any,
    trk: Any,
    n_stops: int,
    n_pats: int,
    acc_ptr: np.ndarray,
    acc_stop: np.ndarray,
    acc_s: np.ndarray,
    dep0: int,
    n_min: int,
    max_time: int,
    n_rounds: int,
    board_slack: int,
    alight_slack: int,
    draw: int,
    out: np.ndarray,
) -> None:
    n_orig = acc_ptr.shape[0] - 1
    for o in prange(n_orig):
        tau = np.full((n_rounds + 1, n_stops), _INF, dtype=np.int32)
        ride = np.full((n_rounds + 1, n_stops), _INF, dtype=np.int32)
        work = _new_work(n_stops, n_pats)
        par = _new_parents(n_rounds, n_stops, False)
        a0 = acc_ptr[o]
        a1 = acc_ptr[o + 1]
        for m in range(n_min - 1, -1, -1):
            dep = dep0 + m * 60
            limit = dep + max_time
            _minute(
                ttk,
                trk,
                acc_stop[a0:a1],
                acc_s[a0:a1],
                dep,
                limit,
                n_rounds,
                board_slack,
                alight_slack,
                draw,
                tau,
                ride,
                work,
                par,
                False,
            )
            for s in range(n_stops):
                v = tau[n_rounds, s]
                out[m, o, s] = v if v <= limit else _INF


@njit(cache=True)
def _select(row: np.ndarray, n: int, pidx: np.ndarray, out: np.ndarray) -> None:
    """``out[q] = sorted(row[:n])[pidx[q]]`` (inf past the finite values), by minute bins.

    The finite values of ``row`` are counted per whole minute; the bin holding the rank
    ``pidx[q]`` is found in the cumulative counts and only the values of that bin are
    ordered, so a row of ``n`` samples costs ``O(n + n_bins)`` instead of a sort.
    """
    n_bins = out.shape[1]
    counts = out[1]  # scratch, float64 per bin
    for b in range(n_bins):
        counts[b] = 0.0
    n_finite = 0
    for i in range(n):
        v = row[i]
        if v < np.inf:
            counts[int(v // 60.0)] += 1.0
            n_finite += 1
    for q in range(pidx.shape[0]):
        r = pidx[q]
        if r >= n_finite:
            out[0, q] = np.inf
            continue
        acc = 0
        b = 0
        while acc + int(counts[b]) <= r:
            acc += int(counts[b])
            b += 1
        # the (r - acc)-th smallest value of bin b
        k = r - acc
        lo = b * 60.0
        hi = lo + 60.0
        prev = -1.0
        taken = 0
        best = np.inf
        while True:
            best = np.inf
            same = 0
            for i in range(n):
                v = row[i]
                if v >= lo and v < hi and v > prev:
                    if v < best:
                        best = v
                        same = 1
                    elif v == best:
                        same += 1
            taken += same
            if taken > k:
                break
            prev = best
        out[0, q] = best


@njit(cache=True, parallel=True)
def _fused_kernel(
    ttk: Any,
    trk: Any,
    n_stops: int,
    n_pats: int,
    acc_ptr: np.ndarray,
    acc_stop: np.ndarray,
    acc_s: np.ndarray,
    es_ptr: np.ndarray,
    es_dest: np.ndarray,
    es_s: np.ndarray,
    n_dest: int,
    walk: np.ndarray,
    has_walk: bool,
    dep0: int,
    n_min: int,
    n_draws: int,
    max_time: int,
    n_rounds: int,
    board_slack: int,
    pidx: np.ndarray,
    out: np.ndarray,
) -> None:
    """Range RAPTOR, egress and percentiles of a batch of origins, parallel over origins.

    ``es_*`` is the stop -> destination egress table (CSR by stop). In range mode the
    labels only improve from one minute to the earlier one, so the earliest arrival at
    each destination (``best``) is updated from the stops improved in the minute only,
    through their egress rows; the per-minute travel time is then ``best - dep`` (or the
    walk-only time) for the destinations reached so far (``touched``), the others being
    unreachable.
    """
    n_orig = acc_ptr.shape[0] - 1
    n_samples = n_min * n_draws
    n_bins = max_time // 60 + 2
    for o in prange(n_orig):
        tau = np.empty((n_rounds + 1, n_stops), dtype=np.int32)
        ride = np.empty((n_rounds + 1, n_stops), dtype=np.int32)
        work = _new_work(n_stops, n_pats)
        imp = work[0]
        par = _new_parents(n_rounds, n_stops, False)
        best = np.empty(n_dest, dtype=np.int64)
        slot = np.full(n_dest, -1, dtype=np.int64)  # row of a touched destination
        touched = np.empty(n_dest, dtype=np.int64)
        n_touched = 0
        samples = np.empty((0, n_samples), dtype=np.float64)
        n_rows = 0  # touched destinations with a row of samples
        scratch = np.empty((2, max(n_bins, pidx.shape[0])), dtype=np.float64)
        a0 = acc_ptr[o]
        a1 = acc_ptr[o + 1]
        if has_walk:
            for x in range(n_dest):
                if walk[o, x] < max_time:
                    touched[n_touched] = x
                    n_touched += 1
        for d in range(n_draws):
            tau[:, :] = _INF
            ride[:, :] = _INF
            best[:] = _INF
            for m in range(n_min - 1, -1, -1):
                dep = dep0 + m * 60
                limit = dep + max_time
                row, n_new = _minute(
                    ttk,
                    trk,
                    acc_stop[a0:a1],
                    acc_s[a0:a1],
                    dep,
                    limit,
                    n_rounds,
                    board_slack,
                    0,
                    d,
                    tau,
                    ride,
                    work,
                    par,
                    False,
                )
                for j in range(n_new):
                    s = imp[row, j]
                    v = np.int64(tau[n_rounds, s])
                    for e in range(es_ptr[s], es_ptr[s + 1]):
                        x = es_dest[e]
                        t = v + es_s[e]
                        if t < best[x]:
                            if (
                                best[x] == _INF
                                and slot[x] < 0
                                and not (has_walk and walk[o, x] < max_time)
                            ):
                                touched[n_touched] = x
                                n_touched += 1
                            best[x] = t
                # Rows of the destinations touched since the last minute: unreachable at
                # the minutes done so far.
                if n_touched > n_rows:
                    if n_touched > samples.shape[0]:
                        grown = np.empty(
                            (max(n_touched, 2 * samples.shape[0], 16), n_samples),
                            dtype=np.float64,
                        )
                        grown[:n_rows] = samples[:n_rows]
                        samples = grown
                    for i in range(n_rows, n_touched):
                        slot[touched[i]] = i
                        samples[i, :] = np.inf
                    n_rows = n_touched
                col = d * n_min + m
                for i in range(n_touched):
                    x = touched[i]
                    b = best[x]
                    t = float(b - dep) if b < _INF else np.inf
                    if has_walk:
                        w = walk[o, x]
                        if w < t:
                            t = w
                    samples[i, col] = t if t < max_time else np.inf
        for x in range(n_dest):
            for q in range(pidx.shape[0]):
                out[q, o, x] = np.inf
        for i in range(n_touched):
            x = touched[i]
            _select(samples[i], n_samples, pidx, scratch)
            for q in range(pidx.shape[0]):
                out[q, o, x] = scratch[0, q]


@njit(cache=True)
def _single_kernel(
    ttk: Any,
    trk: Any,
    n_stops: int,
    n_pats: int,
    acc_stop: np.ndarray,
    acc_s: np.ndarray,
    dep: int,
    limit: int,
    n_rounds: int,
    board_slack: int,
    alight_slack: int,
    draw: int,
) -> Any:
    tau = np.full((n_rounds + 1, n_stops), _INF, dtype=np.int32)
    ride = np.full((n_rounds + 1, n_stops), _INF, dtype=np.int32)
    work = _new_work(n_stops, n_pats)
    par = _new_parents(n_rounds, n_stops, True)
    _minute(
        ttk,
        trk,
        acc_stop,
        acc_s,
        dep,
        limit,
        n_rounds,
        board_slack,
        alight_slack,
        draw,
        tau,
        ride,
        work,
        par,
        True,
    )
    return tau, ride, par


@njit(cache=True, parallel=True)
def _combine_kernel(
    arrivals: np.ndarray,
    eg_ptr: np.ndarray,
    eg_stop: np.ndarray,
    eg_s: np.ndarray,
    dep0: int,
    walk: np.ndarray,
    has_walk: bool,
    max_time: float,
    out: np.ndarray,
) -> None:
    n_min = arrivals.shape[0]
    n_orig = arrivals.shape[1]
    n_dest = eg_ptr.shape[0] - 1
    for o in prange(n_orig):
        for m in range(n_min):
            dep = dep0 + m * 60
            for x in range(n_dest):
                best = np.inf
                for e in range(eg_ptr[x], eg_ptr[x + 1]):
                    v = arrivals[m, o, eg_stop[e]]
                    if v < _INF:
                        t = float(v + eg_s[e] - dep)
                        if t < best:
                            best = t
                if has_walk:
                    w = walk[o, x]
                    if w < best:
                        best = w
                out[m, o, x] = best if best < max_time else np.inf


# --------------------------------------------------------------------------- public API


def _n_minutes(window_s: int) -> int:
    return max(1, int(window_s) // 60)


def _check_common(tt: Timetable, transfers: Transfers, max_rides: int, draw: int) -> None:
    if transfers.n_stops != tt.n_stops:
        raise ValueError(
            f"transfers are built for {transfers.n_stops} stops, the timetable has {tt.n_stops}"
        )
    if max_rides < 1:
        raise ValueError("max_rides must be >= 1")
    if not 0 <= draw < tt.n_draws:
        raise ValueError(f"draw must be in [0, {tt.n_draws})")


def _csr(
    group: np.ndarray, n_groups: int, *columns: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sort parallel arrays by ``group`` and return the CSR pointer and sorted columns."""
    group = np.asarray(group, dtype=np.int64).ravel()
    if len(group) and (group.min() < 0 or group.max() >= n_groups):
        raise ValueError("group index out of range")
    order = np.argsort(group, kind="stable")
    ptr = np.zeros(n_groups + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(np.bincount(group, minlength=n_groups))
    return ptr, [np.asarray(c).ravel()[order] for c in columns]


def _access_arrays(
    tt: Timetable, access_stop: np.ndarray, access_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    stops = np.asarray(access_stop, dtype=np.int64).ravel()
    secs = np.rint(np.asarray(access_s, dtype=np.float64).ravel())
    if len(stops) != len(secs):
        raise ValueError("access_stop and access_s must have the same length")
    if len(stops) and (stops.min() < 0 or stops.max() >= tt.n_stops):
        raise ValueError("stop index out of range")
    keep = np.isfinite(secs) & (secs >= 0)
    return stops[keep].astype(np.int32), secs[keep].astype(np.int64)


def raptor_range(
    tt: Timetable,
    transfers: Transfers,
    access_stop: np.ndarray,
    access_s: np.ndarray,
    access_origin: np.ndarray,
    n_origins: int,
    departure_s: int,
    window_s: int,
    *,
    max_rides: int = 8,
    max_time_s: int = 7200,
    min_board_slack_s: int = 60,
    draw: int = 0,
) -> np.ndarray:
    """Earliest arrival at every stop for every departure minute of a window.

    Range RAPTOR: the minutes are searched from the last to the first, each reusing the
    labels of the minute after it; the result equals independent single-departure
    searches (a stop reached only by the access walk counts as reached).

    Parameters
    ----------
    tt, transfers
        The timetable and the walking transfers.
    access_stop, access_s, access_origin
        Walks from the origins to the stops: stop index, seconds, origin index
        (``0 <= access_origin < n_origins``); non-finite times are ignored.
    n_origins
        Number of origins.
    departure_s
        First departure, seconds after midnight of the service day.
    window_s
        Length of the window: ``n_minutes = max(1, window_s // 60)`` departures
        ``departure_s + k * 60``.
    max_rides
        Maximum number of vehicles boarded (RAPTOR rounds).
    max_time_s
        Arrivals later than ``departure + max_time_s`` are unreached.
    min_board_slack_s
        A vehicle is boarded only when it leaves at least this long after the rider
        reached the stop (R5's 60 s).
    draw
        Monte Carlo draw of the frequency-based trips (``0 <= draw < tt.n_draws``).

    Returns
    -------
    numpy.ndarray
        int32 array of shape ``(n_minutes, n_origins, n_stops)``: arrival times in
        seconds after midnight of the service day, :data:`INF` when unreached.

    """
    _check_common(tt, transfers, max_rides, draw)
    stops, secs = _access_arrays(tt, access_stop, access_s)
    origins = np.asarray(access_origin, dtype=np.int64).ravel()
    if len(origins) != len(np.asarray(access_stop).ravel()):
        raise ValueError("access_origin must have the length of access_stop")
    secs_all = np.rint(np.asarray(access_s, dtype=np.float64).ravel())
    origins = origins[np.isfinite(secs_all) & (secs_all >= 0)]
    ptr, (a_stop, a_s) = _csr(origins, n_origins, stops, secs)
    n_min = _n_minutes(window_s)
    out = np.empty((n_min, int(n_origins), tt.n_stops), dtype=np.int32)
    if n_origins == 0 or tt.n_stops == 0:
        return out
    _range_kernel(
        tt._kernel_args(),
        transfers._kernel_args(),
        tt.n_stops,
        tt.n_patterns,
        ptr,
        a_stop.astype(np.int32),
        a_s.astype(np.int64),
        int(departure_s),
        n_min,
        int(max_time_s),
        int(max_rides),
        int(min_board_slack_s),
        0,
        int(draw),
        out,
    )
    return out


def _egress_csr(
    egress_stop: np.ndarray, egress_dest: np.ndarray, egress_s: np.ndarray, n_dest: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    secs = np.rint(np.asarray(egress_s, dtype=np.float64).ravel())
    stops = np.asarray(egress_stop, dtype=np.int64).ravel()
    dests = np.asarray(egress_dest, dtype=np.int64).ravel()
    if not (len(secs) == len(stops) == len(dests)):
        raise ValueError("egress_stop, egress_dest and egress_s must have the same length")
    keep = np.isfinite(secs) & (secs >= 0)
    ptr, (e_stop, e_s) = _csr(dests[keep], n_dest, stops[keep], secs[keep])
    return ptr, e_stop.astype(np.int32), e_s.astype(np.int64)


def _egress_by_stop(
    egress_stop: np.ndarray,
    egress_dest: np.ndarray,
    egress_s: np.ndarray,
    n_stops: int,
    n_dest: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The egress walks as a stop -> destination table (CSR by stop)."""
    secs = np.rint(np.asarray(egress_s, dtype=np.float64).ravel())
    stops = np.asarray(egress_stop, dtype=np.int64).ravel()
    dests = np.asarray(egress_dest, dtype=np.int64).ravel()
    if not (len(secs) == len(stops) == len(dests)):
        raise ValueError("egress_stop, egress_dest and egress_s must have the same length")
    if len(stops) and (stops.min() < 0 or stops.max() >= n_stops):
        raise ValueError("egress stop index out of range")
    if len(dests) and (dests.min() < 0 or dests.max() >= n_dest):
        raise ValueError("group index out of range")
    keep = np.isfinite(secs) & (secs >= 0)
    ptr, (e_dest, e_s) = _csr(stops[keep], n_stops, dests[keep], secs[keep])
    return ptr, e_dest.astype(np.int64), e_s.astype(np.int64)


def _walk_matrix(walk_only_s: np.ndarray | None, n_origins: int, n_dest: int) -> np.ndarray:
    if walk_only_s is None:
        return np.empty((1, 1), dtype=np.float64)
    walk = np.asarray(walk_only_s, dtype=np.float64)
    if walk.shape != (n_origins, n_dest):
        raise ValueError(f"walk_only_s must have the shape ({n_origins}, {n_dest})")
    return np.where(np.isnan(walk), np.inf, walk)


def combine_egress(
    arrivals: np.ndarray,
    egress_stop: np.ndarray,
    egress_dest: np.ndarray,
    egress_s: np.ndarray,
    n_dest: int,
    departure_s: int,
    walk_only_s: np.ndarray | None,
    *,
    max_time_s: float | None = None,
) -> np.ndarray:
    """Travel times to the destinations from the arrivals at the stops.

    Parameters
    ----------
    arrivals
        Output of :func:`raptor_range`, shape ``(n_minutes, n_origins, n_stops)``.
    egress_stop, egress_dest, egress_s
        Walks from the stops to the destinations: stop index, destination index,
        seconds (non-finite: ignored).
    n_dest
        Number of destinations.
    departure_s
        First departure of the window (minute ``m`` departs at ``departure_s + 60 m``).
    walk_only_s
        Walking time from each origin to each destination without transit, shape
        ``(n_origins, n_dest)``, inf or NaN when not walkable; None: no walking option.
    max_time_s
        Travel times of at least ``max_time_s`` become inf (R5's rule); None: no limit.

    Returns
    -------
    numpy.ndarray
        float64 ``(n_minutes, n_origins, n_dest)`` travel seconds (arrival at the
        destination minus the departure minute), inf when unreachable.

    """
    arrivals = np.asarray(arrivals)
    if arrivals.ndim != 3:
        raise ValueError("arrivals must have the shape (n_minutes, n_origins, n_stops)")
    ptr, e_stop, e_s = _egress_csr(egress_stop, egress_dest, egress_s, n_dest)
    if len(e_stop) and e_stop.max() >= arrivals.shape[2]:
        raise ValueError("egress stop index out of range")
    walk = _walk_matrix(walk_only_s, arrivals.shape[1], n_dest)
    out = np.empty((arrivals.shape[0], arrivals.shape[1], int(n_dest)), dtype=np.float64)
    limit = np.inf if max_time_s is None else float(max_time_s)
    _combine_kernel(
        arrivals.astype(np.int32, copy=False),
        ptr,
        e_stop,
        e_s,
        int(departure_s),
        walk,
        walk_only_s is not None,
        limit,
        out,
    )
    return out


def _percentile_indexes(n: int, percentiles: Sequence[int]) -> np.ndarray:
    """R5's ``findPercentileIndex``: ``(int) (Math.ceil(p / 100 * n) - 1)`` in doubles."""
    out = []
    for p in percentiles:
        if not 0 <= p <= 100:
            raise ValueError(f"percentile {p} is not within [0, 100]")
        out.append(min(max(math.ceil(float(p) / 100.0 * n) - 1, 0), n - 1))
    return np.asarray(out, dtype=np.int64)


def percentiles_r5(times_s: np.ndarray, percentiles: Sequence[int]) -> np.ndarray:
    """Percentiles over axis 0 by R5's rule (no interpolation).

    Parameters
    ----------
    times_s
        Travel times, one row per departure minute (and draw); inf or NaN: unreachable.
    percentiles
        Percentiles in ``[0, 100]``, e.g. ``(5, 50, 95)``.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(len(percentiles), *times_s.shape[1:])``: the value at
        index ``ceil(p / 100 * n) - 1`` (at least 0) of the sorted times, inf when that
        value is unreachable. Callers floor it to whole minutes.

    """
    times = np.asarray(times_s, dtype=np.float64)
    if times.ndim == 0 or times.shape[0] == 0:
        raise ValueError("times_s must have at least one row")
    times = np.where(np.isnan(times), np.inf, times)
    ordered = np.sort(times, axis=0)
    return ordered[_percentile_indexes(times.shape[0], percentiles)]


def travel_time_percentiles(
    tt: Timetable,
    transfers: Transfers,
    access_stop: np.ndarray,
    access_s: np.ndarray,
    access_origin: np.ndarray,
    n_origins: int,
    egress_stop: np.ndarray,
    egress_dest: np.ndarray,
    egress_s: np.ndarray,
    n_dest: int,
    departure_s: int,
    window_s: int,
    percentiles: Sequence[int],
    *,
    max_rides: int = 8,
    max_time_s: int = 7200,
    min_board_slack_s: int = 60,
    walk_only_s: np.ndarray | None = None,
    batch_size: int = 256,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Percentiles of the per-minute travel times, origins streamed in batches.

    The range search, the egress and the percentiles are fused in one compiled loop,
    parallel over origins, so that no ``(n_minutes, n_origins, n_stops)`` array is held.
    With Monte Carlo frequencies the search runs once per draw and the percentiles are
    taken over the ``n_minutes x n_draws`` times.

    Parameters
    ----------
    tt, transfers, access_stop, access_s, access_origin, n_origins
        As in :func:`raptor_range`.
    egress_stop, egress_dest, egress_s, n_dest
        As in :func:`combine_egress`.
    departure_s, window_s
        The departure window (see :func:`raptor_range`).
    percentiles
        Percentiles to return (R5's rule, :func:`percentiles_r5`).
    max_rides, max_time_s, min_board_slack_s
        As in :func:`raptor_range`; travel times of at least ``max_time_s`` are inf.
    walk_only_s
        Walk-only time per (origin, destination), as in :func:`combine_egress`.
    batch_size
        Origins per compiled call (progress is reported after each batch).
    progress
        Called with a label and the fraction of origins done.

    Returns
    -------
    numpy.ndarray
        float64 ``(len(percentiles), n_origins, n_dest)`` travel seconds, inf when
        unreachable.

    """
    _check_common(tt, transfers, max_rides, 0)
    stops, secs = _access_arrays(tt, access_stop, access_s)
    origins = np.asarray(access_origin, dtype=np.int64).ravel()
    secs_all = np.rint(np.asarray(access_s, dtype=np.float64).ravel())
    origins = origins[np.isfinite(secs_all) & (secs_all >= 0)]
    ptr, (a_stop, a_s) = _csr(origins, n_origins, stops, secs)
    es_ptr, es_dest, es_s = _egress_by_stop(egress_stop, egress_dest, egress_s, tt.n_stops, n_dest)
    walk = _walk_matrix(walk_only_s, n_origins, n_dest)
    n_min = _n_minutes(window_s)
    pidx = _percentile_indexes(n_min * tt.n_draws, percentiles)
    out = np.empty((len(pidx), int(n_origins), int(n_dest)), dtype=np.float64)
    batch = max(1, int(batch_size))
    ttk, trk = tt._kernel_args(), transfers._kernel_args()
    for lo in range(0, int(n_origins), batch):
        hi = min(int(n_origins), lo + batch)
        sub_ptr = ptr[lo : hi + 1] - ptr[lo]
        sub_stop = a_stop[ptr[lo] : ptr[hi]].astype(np.int32)
        sub_s = a_s[ptr[lo] : ptr[hi]].astype(np.int64)
        sub_walk = walk[lo:hi] if walk_only_s is not None else walk
        sub_out = np.empty((len(pidx), hi - lo, int(n_dest)), dtype=np.float64)
        _fused_kernel(
            ttk,
            trk,
            tt.n_stops,
            tt.n_patterns,
            sub_ptr,
            sub_stop,
            sub_s,
            es_ptr,
            es_dest,
            es_s,
            int(n_dest),
            sub_walk,
            walk_only_s is not None,
            int(departure_s),
            n_min,
            tt.n_draws,
            int(max_time_s),
            int(max_rides),
            int(min_board_slack_s),
            pidx,
            sub_out,
        )
        out[:, lo:hi] = sub_out
        if progress is not None:
            progress(tr("transport en commun", "public transport"), hi / max(int(n_origins), 1))
    return out


# --------------------------------------------------------------------------- journeys


@dataclass(frozen=True)
class Leg:
    """One leg of a journey.

    Attributes
    ----------
    mode
        ``"walk"`` or ``"transit"``.
    from_stop, to_stop
        Namespaced stop ids; None for the origin (first leg) and the destination.
    departure_s, arrival_s
        Seconds after midnight of the service day.
    trip_id, route_id
        The trip ridden (transit legs); for a headway-based trip, its template.

    """

    mode: str
    from_stop: str | None
    to_stop: str | None
    departure_s: int
    arrival_s: int
    trip_id: str | None = None
    route_id: str | None = None


@dataclass(frozen=True)
class Journey:
    """A journey found by :func:`earliest_arrival` or :func:`latest_departure`.

    Attributes
    ----------
    departure_s, arrival_s
        Departure from the origin and arrival at the destination, seconds after
        midnight of the service day.
    legs
        The walks and rides, in order (a walk-only journey has one walk leg).
    rides
        Number of vehicles boarded.
    wheelchair_unknown
        Stops boarded or alighted at and trips ridden whose wheelchair accessibility is
        unknown (0 in GTFS).

    """

    departure_s: int
    arrival_s: int
    legs: tuple[Leg, ...]
    rides: int
    wheelchair_unknown: int

    @property
    def travel_time_s(self) -> int:
        """Arrival minus departure, in seconds."""
        return self.arrival_s - self.departure_s


def _single(
    tt: Timetable,
    transfers: Transfers,
    access_stop: np.ndarray,
    access_s: np.ndarray,
    start_s: int,
    max_rides: int,
    max_time_s: int,
    board_slack: int,
    alight_slack: int,
    draw: int,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...], np.ndarray]:
    stops, secs = _access_arrays(tt, access_stop, access_s)
    tau, ride, par = _single_kernel(
        tt._kernel_args(),
        transfers._kernel_args(),
        tt.n_stops,
        tt.n_patterns,
        stops,
        secs,
        int(start_s),
        int(start_s) + int(max_time_s),
        int(max_rides),
        int(board_slack),
        int(alight_slack),
        int(draw),
    )
    return tau, ride, par, secs


def earliest_arrival(
    tt: Timetable,
    transfers: Transfers,
    access_stop: np.ndarray,
    access_s: np.ndarray,
    egress_stop: np.ndarray,
    egress_s: np.ndarray,
    departure_s: int,
    *,
    walk_only_s: float | None = None,
    max_rides: int = 8,
    max_time_s: int = 7200,
    min_board_slack_s: int = 60,
    draw: int = 0,
) -> Journey | None:
    """Earliest arrival at one destination leaving one origin at ``departure_s``.

    A single RAPTOR search (depart after T) with the journey rebuilt from the labels.

    Parameters
    ----------
    tt, transfers
        The timetable and the walking transfers.
    access_stop, access_s
        Walks from the origin to the stops (stop index, seconds).
    egress_stop, egress_s
        Walks from the stops to the destination (stop index, seconds).
    departure_s
        Departure from the origin, seconds after midnight of the service day.
    walk_only_s
        Walking time from the origin to the destination (None: not walkable).
    max_rides, max_time_s, min_board_slack_s, draw
        As in :func:`raptor_range` (``max_time_s``: the arrival at the destination may be
        at most ``departure_s + max_time_s``).

    Returns
    -------
    Journey or None
        The journey arriving first (ties: fewer rides), None when unreachable.

    """
    _check_common(tt, transfers, max_rides, draw)
    tau, ride, par, acc_secs = _single(
        tt,
        transfers,
        access_stop,
        access_s,
        departure_s,
        max_rides,
        max_time_s,
        min_board_slack_s,
        0,
        draw,
    )
    e_stop = np.asarray(egress_stop, dtype=np.int64).ravel()
    e_secs = np.rint(np.asarray(egress_s, dtype=np.float64).ravel())
    best = _INF
    best_k, best_stop, best_e = -1, -1, 0
    for k in range(max_rides + 1):
        for s, e in zip(e_stop.tolist(), e_secs.tolist(), strict=True):
            if not math.isfinite(e) or tau[k, s] >= _INF:
                continue
            t = int(tau[k, s]) + int(e)
            if t < best:
                best, best_k, best_stop, best_e = t, k, s, int(e)
    limit = departure_s + max_time_s
    walk = None if walk_only_s is None or not math.isfinite(walk_only_s) else round(walk_only_s)
    if walk is not None and departure_s + walk <= min(best, limit):
        leg = Leg("walk", None, None, departure_s, departure_s + walk)
        return Journey(departure_s, departure_s + walk, (leg,), 0, 0)
    if best_k < 0 or best > limit:
        return None
    legs = _rebuild(tt, tau, ride, par, best_k, best_stop, departure_s, acc_secs)
    ids = tt.stop_ids
    legs.append(Leg("walk", str(ids[best_stop]), None, best - best_e, best))
    rides, unknown = _ride_stats(tt, legs)
    return Journey(departure_s, best, tuple(legs), rides, unknown)


def _rebuild(
    tt: Timetable,
    tau: np.ndarray,
    ride: np.ndarray,
    par: tuple[np.ndarray, ...],
    k: int,
    stop: int,
    departure_s: int,
    acc_secs: np.ndarray,
) -> list[Leg]:
    """Follow the parents back from ``tau[k, stop]``; return the legs in order."""
    p_kind, p_from, r_pat, r_trip, r_pos, r_time = par
    ids = tt.stop_ids
    legs: list[Leg] = []
    s = stop
    by_ride = False  # True: follow the ride label of (k, s)
    while True:
        if not by_ride:
            kind = int(p_kind[k, s])
            if kind == _BY_COPY:
                k -= 1
                continue
            if kind == _BY_WALK:
                origin = int(p_from[k, s])
                legs.append(
                    Leg("walk", str(ids[origin]), str(ids[s]), int(ride[k, origin]), int(tau[k, s]))
                )
                s = origin
            by_ride = True
            continue
        pattern = int(r_pat[k, s])
        if k == 0:
            legs.append(Leg("walk", None, str(ids[s]), departure_s, int(ride[0, s])))
            break
        trip = int(tt.pattern_trip_ptr[pattern]) + int(r_trip[k, s])
        board = int(tt.pattern_stops[int(tt.pattern_stop_ptr[pattern]) + int(r_pos[k, s])])
        legs.append(
            Leg(
                "transit",
                str(ids[board]),
                str(ids[s]),
                int(r_time[k, s]),
                int(ride[k, s]),
                str(tt.trip_ids[trip]),
                str(tt.trip_route_ids[trip]),
            )
        )
        s = board
        k -= 1
        by_ride = False
    legs.reverse()
    return legs


def _ride_stats(tt: Timetable, legs: list[Leg]) -> tuple[int, int]:
    index = tt.stop_index
    trip_wc = dict(zip(tt.trip_ids.tolist(), tt.trip_wheelchair.tolist(), strict=True))
    rides = unknown = 0
    for leg in legs:
        if leg.mode != "transit":
            continue
        rides += 1
        for stop in (leg.from_stop, leg.to_stop):
            if stop is not None and tt.stop_wheelchair[index[stop]] == 0:
                unknown += 1
        if trip_wc.get(leg.trip_id, 1) == 0:
            unknown += 1
    return rides, unknown


def latest_departure(
    tt: Timetable,
    transfers: Transfers,
    access_stop: np.ndarray,
    access_s: np.ndarray,
    egress_stop: np.ndarray,
    egress_s: np.ndarray,
    arrival_s: int,
    *,
    walk_only_s: float | None = None,
    max_rides: int = 8,
    max_time_s: int = 7200,
    min_board_slack_s: int = 60,
    draw: int = 0,
) -> Journey | None:
    """Latest departure from one origin arriving at one destination by ``arrival_s``.

    Arrive-by query: a reverse RAPTOR search from the destination on the mirrored
    timetable (:attr:`Timetable.reversed`, transposed transfers, the boarding slack
    moved to the mirrored alighting) gives the latest time one can leave each stop and
    still arrive by ``arrival_s``; the latest departure from the origin follows from the
    access walks. The journey returned is then the earliest arrival leaving at that
    time (:func:`earliest_arrival`), which arrives by ``arrival_s`` by construction.

    Parameters
    ----------
    tt, transfers, access_stop, access_s, egress_stop, egress_s
        As in :func:`earliest_arrival`.
    arrival_s
        Arrive by this time, seconds after midnight of the service day.
    walk_only_s
        Walking time from the origin to the destination (None: not walkable).
    max_rides, max_time_s, min_board_slack_s, draw
        As in :func:`raptor_range` (``max_time_s``: the departure is at the earliest
        ``arrival_s - max_time_s``).

    Returns
    -------
    Journey or None
        None when the destination cannot be reached by ``arrival_s`` within
        ``max_time_s``.

    """
    _check_common(tt, transfers, max_rides, draw)
    rtt, rtr = tt.reversed, transfers.reversed
    e_stop = np.asarray(egress_stop, dtype=np.int64).ravel()
    tau, _, _, _ = _single(
        rtt,
        rtr,
        e_stop,
        egress_s,
        -int(arrival_s),
        max_rides,
        max_time_s,
        0,
        min_board_slack_s,
        draw,
    )
    last = tau[max_rides]
    a_stop, a_secs = _access_arrays(tt, access_stop, access_s)
    best: int | None = None
    for s, a in zip(a_stop.tolist(), a_secs.tolist(), strict=True):
        if last[s] < _INF:
            leave = -int(last[s]) - int(a)
            if best is None or leave > best:
                best = leave
    if best is not None and best < arrival_s - max_time_s:
        best = None
    if walk_only_s is not None and math.isfinite(walk_only_s) and walk_only_s <= max_time_s:
        leave = int(arrival_s) - round(walk_only_s)
        if best is None or leave > best:
            best = leave
    if best is None:
        return None
    return earliest_arrival(
        tt,
        transfers,
        access_stop,
        access_s,
        egress_stop,
        egress_s,
        best,
        walk_only_s=walk_only_s,
        max_rides=max_rides,
        max_time_s=max_time_s,
        min_board_slack_s=min_board_slack_s,
        draw=draw,
    )
