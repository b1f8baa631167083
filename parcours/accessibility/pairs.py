"""Travel times of given origin -> destination pairs: many commutes at one clock time.

A caseload asks for each person's own trip (home -> workplace by the shift's start, back
after its end), not for the full matrix of every home to every workplace. :func:`pair_times`
answers exactly those pairs, with the search run on the side that has few points:

- street modes (walk, bike, car): one compiled Dijkstra per distinct origin over the
  distinct destinations, the pairs taken from it;
- public transport, arrive by a deadline: one reverse RAPTOR per distinct destination on
  the mirrored timetable (what :func:`~parcours.accessibility.transit.latest_departure`
  does for one pair) gives, at every stop, the latest time one may be there and still
  arrive in time; each origin's latest departure is the best of its walks to the stops
  (or the walk alone). Exact in seconds: the same latest departure as the one-pair search;
- public transport, leave at a time: one forward RAPTOR per distinct origin; each
  destination's earliest arrival is the best of the walks from the stops (or the walk).

So 10,000 people working at 300 sites cost 300 searches per shift time, not 10,000 range
searches over a two-hour window (:func:`~parcours.accessibility.latest_departure_matrix`
answers the full matrix, minute by minute, and rounds departures to whole minutes).
Times here are exact seconds; the caller rounds for display.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from parcours.accessibility.legs import TransitLegs, transit_legs
from parcours.accessibility.params import TransportMode
from parcours.accessibility.query import (
    DEFAULT_MAX_RIDES,
    DEFAULT_MAX_STRESS,
    MatrixInputs,
    NetworkLike,
    make_params,
    resolve_network,
    seconds_of_day,
)
from parcours.accessibility.streets import BIKE_SPEED_KMH, WALK_SPEED_KMH
from parcours.accessibility.transit import _INF, _single
from parcours.errors import InputError
from parcours.i18n import tr

__all__ = ["pair_times"]

IntArray = npt.NDArray[np.int64]
#: Boarding slack of the transit searches (R5's minimum, seconds).
_BOARD_SLACK_S = 60


def pair_times(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    pairs: pd.DataFrame,
    *,
    transport_modes: Iterable[str | TransportMode] | str,
    departure: dt.datetime | None = None,
    arrive_by: dt.datetime | None = None,
    max_time: dt.timedelta = dt.timedelta(hours=2),
    max_time_walking: dt.timedelta | None = None,
    speed_walking: float = WALK_SPEED_KMH,
    speed_cycling: float = BIKE_SPEED_KMH,
    max_public_transport_rides: int = DEFAULT_MAX_RIDES,
    max_bicycle_traffic_stress: int | None = DEFAULT_MAX_STRESS,
    wheelchair: bool = False,
) -> pd.DataFrame:
    """Door-to-door times of origin -> destination pairs, leaving at or arriving by a time.

    Parameters
    ----------
    network
        A :class:`~parcours.accessibility.TransportNetwork` or a territory.
    origins, destinations
        Points (GeoDataFrames with a declared CRS); pairs refer to their row positions.
    pairs
        Columns ``origin`` and ``destination``: row positions in ``origins`` and
        ``destinations``.
    transport_modes
        One street mode (``walk``, ``bike``, ``car``) or public transport with walking
        (``["walk", "transit"]``).
    departure, arrive_by
        Leave at ``departure`` (earliest arrival) or arrive by ``arrive_by`` (latest
        departure); give one.
    max_time, max_time_walking, speed_walking, speed_cycling, \
    max_public_transport_rides, max_bicycle_traffic_stress, wheelchair
        As :func:`~parcours.accessibility.travel_time_matrix`.

    Returns
    -------
    pandas.DataFrame
        One row per pair, in order: ``departure`` and ``arrival`` (datetimes, exact
        seconds; NaT when unreachable within ``max_time``) and ``duration_s`` (arrival
        minus departure). Arriving by a deadline, ``arrival`` is the deadline itself when
        the trip is by public transport (the time one must set aside, waits included);
        by a street mode it is the trip's own arrival.
    """
    if (departure is None) == (arrive_by is None):
        raise InputError(
            tr(
                "donnez un départ ou une heure d'arrivée (un seul des deux)",
                "give a departure or an arrival deadline (one of them)",
            ),
            field="departure",
        )
    when = departure if departure is not None else arrive_by
    assert when is not None
    params = make_params(
        transport_modes=transport_modes,
        departure=when,
        departure_time_window=dt.timedelta(minutes=1),
        max_time=max_time,
        max_time_walking=max_time_walking,
        speed_walking=speed_walking,
        speed_cycling=speed_cycling,
        max_public_transport_rides=max_public_transport_rides,
        max_bicycle_traffic_stress=max_bicycle_traffic_stress,
        wheelchair=wheelchair,
    )
    o_idx = pairs["origin"].to_numpy(dtype=np.int64)
    d_idx = pairs["destination"].to_numpy(dtype=np.int64)
    if len(o_idx) and (
        o_idx.min() < 0
        or o_idx.max() >= len(origins)
        or d_idx.min() < 0
        or d_idx.max() >= len(destinations)
    ):
        raise InputError("pair index out of range", field="pairs")
    net = resolve_network(network)
    inputs = MatrixInputs.prepare(net, origins, destinations, params)
    max_s = params.max_time.total_seconds()
    base = dt.datetime.combine(when.date(), dt.time())
    t_s = seconds_of_day(when) + when.microsecond / 1e6
    if TransportMode.TRANSIT not in params.modes:
        seconds = _street_pairs(inputs, o_idx, d_idx)
        seconds = np.where(seconds <= min(max_s, inputs.street_limit_s()), seconds, np.nan)
        if arrive_by is not None:
            start = t_s - seconds
            end = np.where(np.isnan(seconds), np.nan, t_s)
        else:
            start = np.where(np.isnan(seconds), np.nan, t_s)
            end = t_s + seconds
    elif arrive_by is not None:
        start = _latest_departures(inputs, o_idx, d_idx, int(t_s))
        start = np.where(start >= t_s - max_s, start, np.nan)
        end = np.where(np.isnan(start), np.nan, t_s)
    else:
        end = _earliest_arrivals(inputs, o_idx, d_idx, int(t_s))
        end = np.where(end <= t_s + max_s, end, np.nan)
        start = np.where(np.isnan(end), np.nan, t_s)
    return pd.DataFrame(
        {
            "departure": base + pd.to_timedelta(start, unit="s"),
            "arrival": base + pd.to_timedelta(end, unit="s"),
            "duration_s": end - start,
        },
        index=pairs.index,
    )


def _street_pairs(
    inputs: MatrixInputs, o_idx: npt.NDArray[np.int64], d_idx: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Street seconds of each pair: one search per distinct origin."""
    out = np.full(len(o_idx), np.nan)
    if not len(o_idx):
        return out
    uo, o_inv = np.unique(o_idx, return_inverse=True)
    ud, d_inv = np.unique(d_idx, return_inverse=True)
    limit = inputs.street_limit_s()
    block = max(1, 2_000_000 // max(1, len(ud)))
    targets = inputs.snapped_destinations.take(ud)
    for first in range(0, len(uo), block):
        part = inputs.snapped_origins.take(uo[first : first + block])
        times = inputs.graph.travel_times_s(part, targets, max_time_s=limit)
        rows = (o_inv >= first) & (o_inv < first + block)
        out[rows] = times[o_inv[rows] - first, d_inv[rows]]
    out[~np.isfinite(out)] = np.nan
    return out


def _sorted_walks(legs: TransitLegs) -> tuple[tuple[IntArray, ...], tuple[IntArray, ...]]:
    """Access walks sorted by origin and egress walks by destination (for searchsorted)."""
    a = np.argsort(legs.access_origin, kind="stable")
    e = np.argsort(legs.egress_dest, kind="stable")
    return (
        (legs.access_origin[a], legs.access_stop[a], legs.access_s[a]),
        (legs.egress_dest[e], legs.egress_stop[e], legs.egress_s[e]),
    )


def _latest_departures(
    inputs: MatrixInputs,
    o_idx: npt.NDArray[np.int64],
    d_idx: npt.NDArray[np.int64],
    deadline_s: int,
) -> npt.NDArray[np.float64]:
    """Latest departure (seconds of the day) of each pair arriving by ``deadline_s``."""
    p = inputs.params
    max_s = int(p.max_time.total_seconds())
    legs = transit_legs(inputs, p.departure.date(), until_s=deadline_s, origins=slice(None))
    tt, transfers = legs.timetable.reversed, legs.transfers.reversed
    out = np.full(len(o_idx), -np.inf)
    walk = np.ceil(legs.walk_only_s[o_idx, d_idx])  # whole seconds, as the matrices
    ok = np.isfinite(walk)
    out[ok] = deadline_s - walk[ok]
    # access CSR by origin; egress by destination
    (a_org, a_stop, a_s), (e_dest, e_stop, e_s) = _sorted_walks(legs)
    for d in np.unique(d_idx):
        lo, hi = np.searchsorted(e_dest, [d, d + 1])
        if lo == hi:
            continue
        tau, _, _, _ = _single(
            tt,
            transfers,
            e_stop[lo:hi],
            e_s[lo:hi],
            -deadline_s,
            p.max_public_transport_rides,
            max_s,
            0,
            _BOARD_SLACK_S,
            0,
        )
        last = tau[p.max_public_transport_rides]
        rows = np.flatnonzero(d_idx == d)
        origins = o_idx[rows]
        starts = np.searchsorted(a_org, origins)
        ends = np.searchsorted(a_org, origins, side="right")
        for row, first, stop in zip(rows.tolist(), starts.tolist(), ends.tolist(), strict=True):
            if first == stop:
                continue
            at = last[a_stop[first:stop]]
            reach = at < _INF
            if reach.any():
                leave = float(np.max(-at[reach] - a_s[first:stop][reach]))
                out[row] = max(out[row], leave)
    return np.where(np.isfinite(out), out, np.nan)


def _earliest_arrivals(
    inputs: MatrixInputs, o_idx: npt.NDArray[np.int64], d_idx: npt.NDArray[np.int64], start_s: int
) -> npt.NDArray[np.float64]:
    """Earliest arrival (seconds of the day) of each pair leaving at ``start_s``."""
    p = inputs.params
    max_s = int(p.max_time.total_seconds())
    legs = transit_legs(inputs, p.departure.date(), until_s=start_s + max_s, origins=slice(None))
    out = np.full(len(o_idx), np.inf)
    walk = np.ceil(legs.walk_only_s[o_idx, d_idx])  # whole seconds, as the matrices
    ok = np.isfinite(walk)
    out[ok] = start_s + walk[ok]
    (a_org, a_stop, a_s), (e_dest, e_stop, e_s) = _sorted_walks(legs)
    for o in np.unique(o_idx):
        lo, hi = np.searchsorted(a_org, [o, o + 1])
        if lo == hi:
            continue
        tau, _, _, _ = _single(
            legs.timetable,
            legs.transfers,
            a_stop[lo:hi],
            a_s[lo:hi],
            start_s,
            p.max_public_transport_rides,
            max_s,
            _BOARD_SLACK_S,
            0,
            0,
        )
        best = tau[p.max_public_transport_rides]
        rows = np.flatnonzero(o_idx == o)
        dests = d_idx[rows]
        starts = np.searchsorted(e_dest, dests)
        ends = np.searchsorted(e_dest, dests, side="right")
        for row, first, stop in zip(rows.tolist(), starts.tolist(), ends.tolist(), strict=True):
            if first == stop:
                continue
            at = best[e_stop[first:stop]]
            reach = at < _INF
            if reach.any():
                out[row] = min(out[row], float(np.min(at[reach] + e_s[first:stop][reach])))
    return np.where(np.isfinite(out), out, np.nan)
