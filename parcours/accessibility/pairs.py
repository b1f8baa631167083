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

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

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
)
from parcours.accessibility.streets import BIKE_SPEED_KMH, WALK_SPEED_KMH, StreetGraph
from parcours.accessibility.transit import _INF, Timetable, Transfers, _single
from parcours.errors import InputError
from parcours.i18n import tr

__all__ = ["pair_times"]

IntArray = npt.NDArray[np.int64]
#: Walks sorted by point: (point, stop, whole seconds).
Walks = tuple[IntArray, IntArray, IntArray]
#: Boarding slack of the transit searches (R5's minimum, seconds).
_BOARD_SLACK_S = 60


Times = dt.datetime | Sequence[dt.datetime] | pd.Series
Limits = dt.timedelta | Sequence[dt.timedelta] | pd.Series | None


def _per_pair(value: Any, n: int, name: str) -> list[Any]:
    if isinstance(value, (dt.datetime, dt.timedelta)) or value is None:
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise InputError(f"{name}: one value per pair ({n}), got {len(values)}", field=name)
    return [v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in values]


def pair_times(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    pairs: pd.DataFrame,
    *,
    transport_modes: Iterable[str | TransportMode] | str,
    departure: Times | None = None,
    arrive_by: Times | None = None,
    max_time: dt.timedelta = dt.timedelta(hours=2),
    max_time_walking: Limits = None,
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
        departure); give one: a datetime for every pair, or one per pair (a caseload's
        shifts: the pairs of one service day share the timetable and the walks, the
        searches are grouped by clock time).
    max_time_walking
        The walking limit of each leg (access, egress, transfers aside, walk-only trip):
        one for every pair or one per pair (each person's own limit).
    max_time, speed_walking, speed_cycling, max_public_transport_rides, \
    max_bicycle_traffic_stress, wheelchair
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
    n = len(pairs)
    arriving = arrive_by is not None
    whens: list[dt.datetime] = _per_pair(arrive_by if arriving else departure, n, "departure")
    limits = _per_pair(max_time_walking, n, "max_time_walking")
    o_idx = pairs["origin"].to_numpy(dtype=np.int64)
    d_idx = pairs["destination"].to_numpy(dtype=np.int64)
    if n and (
        o_idx.min() < 0
        or o_idx.max() >= len(origins)
        or d_idx.min() < 0
        or d_idx.max() >= len(destinations)
    ):
        raise InputError("pair index out of range", field="pairs")
    first = min(whens) if n else dt.datetime.combine(dt.date.today(), dt.time(12))
    known = [lim for lim in limits if lim is not None]
    params = make_params(
        transport_modes=transport_modes,
        departure=first,
        departure_time_window=dt.timedelta(minutes=1),
        max_time=max_time,
        max_time_walking=max(known) if known and len(known) == n else None,
        speed_walking=speed_walking,
        speed_cycling=speed_cycling,
        max_public_transport_rides=max_public_transport_rides,
        max_bicycle_traffic_stress=max_bicycle_traffic_stress,
        wheelchair=wheelchair,
    )
    net = resolve_network(network)
    inputs = MatrixInputs.prepare(net, origins, destinations, params)
    max_s = params.max_time.total_seconds()
    default_walk = params.max_time_walking_s
    walk_s = np.array(
        [default_walk if lim is None else lim.total_seconds() for lim in limits], dtype=float
    )
    start = np.full(n, np.nan)
    end = np.full(n, np.nan)
    if not n:
        pass
    elif TransportMode.TRANSIT not in params.modes:
        seconds = _street_pairs(inputs, o_idx, d_idx)
        seconds = np.where(seconds <= min(max_s, inputs.street_limit_s()), seconds, np.nan)
        t_s = np.array([_seconds(w, first.date()) for w in whens])
        if arriving:
            start, end = t_s - seconds, np.where(np.isnan(seconds), np.nan, t_s)
        else:
            start, end = np.where(np.isnan(seconds), np.nan, t_s), t_s + seconds
    else:
        cache: dict[str, TransitLegs] = {}
        by_date: dict[dt.date, list[int]] = {}
        for k, w in enumerate(whens):
            by_date.setdefault(w.date(), []).append(k)
        for day, rows in by_date.items():
            sel = np.asarray(rows, dtype=np.int64)
            t_s = np.array([_seconds(whens[k], day) for k in rows])
            if arriving:
                leave = _latest_departures(
                    inputs, day, o_idx[sel], d_idx[sel], t_s, walk_s[sel], int(max_s), cache
                )
                leave = np.where(leave >= t_s - max_s, leave, np.nan)
                start[sel], end[sel] = leave, np.where(np.isnan(leave), np.nan, t_s)
            else:
                reach = _earliest_arrivals(
                    inputs, day, o_idx[sel], d_idx[sel], t_s, walk_s[sel], int(max_s), cache
                )
                reach = np.where(reach <= t_s + max_s, reach, np.nan)
                start[sel], end[sel] = np.where(np.isnan(reach), np.nan, t_s), reach
    base = np.array(
        [np.datetime64(dt.datetime.combine(w.date(), dt.time()), "us") for w in whens]
        if TransportMode.TRANSIT in params.modes
        else [np.datetime64(dt.datetime.combine(first.date(), dt.time()), "us")] * n,
        dtype="datetime64[us]",
    )
    return pd.DataFrame(
        {
            "departure": base + pd.to_timedelta(start, unit="s").to_numpy(),
            "arrival": base + pd.to_timedelta(end, unit="s").to_numpy(),
            "duration_s": end - start,
        },
        index=pairs.index,
    )


def _seconds(when: dt.datetime, day: dt.date) -> float:
    """Seconds of ``when`` after midnight of ``day`` (exact, fractions kept)."""
    midnight = dt.datetime.combine(day, dt.time())
    return (when - midnight).total_seconds()


def _street_pairs(
    inputs: MatrixInputs,
    o_idx: IntArray,
    d_idx: IntArray,
    *,
    graph: StreetGraph | None = None,
    limit_s: float | None = None,
) -> npt.NDArray[np.float64]:
    """Street seconds of each pair: one search per distinct origin.

    Origins are taken by blocks; a block's searches read only the destinations its own
    pairs need (a caseload's pairs are one home to one workplace, not every home to every
    workplace), so the work is the searches, not a dense matrix.
    """
    out = np.full(len(o_idx), np.nan)
    if not len(o_idx):
        return out
    graph = graph or inputs.graph
    limit = inputs.street_limit_s() if limit_s is None else limit_s
    uo, o_inv = np.unique(o_idx, return_inverse=True)
    order = np.argsort(o_inv, kind="stable")
    bounds = np.searchsorted(o_inv[order], np.arange(0, len(uo) + _PAIR_BLOCK, _PAIR_BLOCK))
    for lo, hi in itertools.pairwise(bounds):
        rows = order[lo:hi]
        if not len(rows):
            continue
        block_o, bo_inv = np.unique(o_idx[rows], return_inverse=True)
        block_d, bd_inv = np.unique(d_idx[rows], return_inverse=True)
        times = graph.travel_times_s(
            inputs.snapped_origins.take(block_o),
            inputs.snapped_destinations.take(block_d),
            max_time_s=limit,
        )
        out[rows] = times[bo_inv, bd_inv]
    out[~np.isfinite(out)] = np.nan
    return out


#: Distinct origins per block of :func:`_street_pairs`.
_PAIR_BLOCK = 256


def _sorted_walks(legs: TransitLegs) -> tuple[Walks, Walks]:
    """Access walks sorted by origin and egress walks by destination (for searchsorted)."""
    a = np.argsort(legs.access_origin, kind="stable")
    e = np.argsort(legs.egress_dest, kind="stable")
    return (
        (legs.access_origin[a], legs.access_stop[a], legs.access_s[a]),
        (legs.egress_dest[e], legs.egress_stop[e], legs.egress_s[e]),
    )


def _legs(
    inputs: MatrixInputs, day: dt.date, until_s: int, cache: dict[str, TransitLegs]
) -> TransitLegs:
    """The day's timetable and walks (all origins and destinations), within the limits.

    The walks do not depend on the day: when the day's timetable has the same stops as
    the one of a day already prepared (``cache``), they are kept and only the timetable
    and the transfers are the day's.
    """
    until_s = -(-until_s // 3600) * 3600  # whole hours: the timetables are cached by it
    known = cache.get("legs")
    if known is not None:
        network, params = inputs.network, inputs.params
        tt = network.timetable_for(params, day, until_s=until_s)
        if np.array_equal(tt.stop_ids, known.timetable.stop_ids):
            transfers = network.transfers(
                day, speed_walking_kmh=params.speed_walking, wheelchair=params.wheelchair
            )
            return dataclasses.replace(
                known, timetable=tt, transfers=transfers, warnings=network.service_warnings(tt)
            )
    legs = transit_legs(inputs, day, until_s=until_s, origins=slice(None), direct=False)
    cache["legs"] = legs
    return legs


def _latest_departures(
    inputs: MatrixInputs,
    day: dt.date,
    o_idx: IntArray,
    d_idx: IntArray,
    deadline_s: npt.NDArray[np.float64],
    walk_s: npt.NDArray[np.float64],
    max_s: int,
    cache: dict[str, TransitLegs],
) -> npt.NDArray[np.float64]:
    """Latest departure (seconds of ``day``) of each pair arriving by its deadline.

    One reverse search per (deadline, destination, walking limit) on the mirrored
    timetable; each pair's origin then takes the best of its walks to the stops.
    """
    legs = _legs(inputs, day, int(np.ceil(deadline_s.max())), cache)
    access, egress = _sorted_walks(legs)
    out = np.full(len(o_idx), -np.inf)
    # the walk alone, in whole seconds as the matrices
    walk = np.ceil(_street_pairs(inputs, o_idx, d_idx, limit_s=float(walk_s.max())))
    ok = np.isfinite(walk) & (walk <= walk_s)
    out[ok] = deadline_s[ok] - walk[ok]
    # mirrored time: leaving the destination at -deadline, the first arrival at the
    # origin is minus the latest departure from it
    deadline = np.ceil(deadline_s)
    mirrored = _searches(
        legs.timetable.reversed,
        legs.transfers.reversed,
        inputs.params.max_public_transport_rides,
        max_s,
        (0, _BOARD_SLACK_S),
        d_idx,
        o_idx,
        -deadline,
        walk_s,
        egress,
        access,
    )
    # a deadline with a fraction of a second: the search ran at the next second
    out = np.maximum(out, -mirrored - (deadline - deadline_s))
    return np.where(np.isfinite(out), out, np.nan)


def _earliest_arrivals(
    inputs: MatrixInputs,
    day: dt.date,
    o_idx: IntArray,
    d_idx: IntArray,
    start_s: npt.NDArray[np.float64],
    walk_s: npt.NDArray[np.float64],
    max_s: int,
    cache: dict[str, TransitLegs],
) -> npt.NDArray[np.float64]:
    """Earliest arrival (seconds of ``day``) of each pair leaving at its time.

    One forward search per (time, origin, walking limit); each pair's destination then
    takes the best of the walks from the stops.
    """
    legs = _legs(inputs, day, int(np.ceil(start_s.max())) + max_s, cache)
    access, egress = _sorted_walks(legs)
    out = np.full(len(o_idx), np.inf)
    # the walk alone, in whole seconds as the matrices
    walk = np.ceil(_street_pairs(inputs, o_idx, d_idx, limit_s=float(walk_s.max())))
    ok = np.isfinite(walk) & (walk <= walk_s)
    out[ok] = start_s[ok] + walk[ok]
    reach = _searches(
        legs.timetable,
        legs.transfers,
        inputs.params.max_public_transport_rides,
        max_s,
        (_BOARD_SLACK_S, 0),
        o_idx,
        d_idx,
        np.floor(start_s),
        walk_s,
        access,
        egress,
    )
    out = np.minimum(out, reach)
    return np.where(np.isfinite(out), out, np.nan)


def _searches(
    tt: Timetable,
    transfers: Transfers,
    max_rides: int,
    max_s: int,
    slack_s: tuple[int, int],
    from_idx: IntArray,
    to_idx: IntArray,
    start_s: npt.NDArray[np.float64],
    walk_s: npt.NDArray[np.float64],
    from_walks: Walks,
    to_walks: Walks,
) -> npt.NDArray[np.float64]:
    """The earliest arrival at each pair's ``to`` point, by public transport.

    One RAPTOR search per (start time, ``from`` point, walking limit), walking to the
    stops by ``from_walks`` (sorted by point: point, stop, seconds); each pair then takes
    the best of its ``to`` point's walks from the stops (``to_walks``), within its walking
    limit. On the mirrored timetable (``tt.reversed``, negated times) the same routine
    gives minus the latest departures. ``slack_s`` is (boarding, alighting) slack.
    Returns inf where nothing arrives.
    """
    f_point, f_stop, f_s = from_walks
    t_point, t_stop, t_s = to_walks
    out = np.full(len(from_idx), np.inf)
    groups: dict[tuple[int, int, float], list[int]] = {}
    keys = zip(start_s.astype(np.int64).tolist(), from_idx.tolist(), walk_s.tolist(), strict=True)
    for row, key in enumerate(keys):
        groups.setdefault(key, []).append(row)
    for (start, point, limit), rows in groups.items():
        lo, hi = np.searchsorted(f_point, [point, point + 1])
        keep = f_s[lo:hi] <= limit
        if not keep.any():
            continue
        tau, _, _, _ = _single(
            tt,
            transfers,
            f_stop[lo:hi][keep],
            f_s[lo:hi][keep],
            int(start),
            max_rides,
            max_s,
            slack_s[0],
            slack_s[1],
            0,
        )
        best = tau[max_rides]
        for row in rows:
            first, stop = np.searchsorted(t_point, [to_idx[row], to_idx[row] + 1])
            secs = t_s[first:stop]
            at = best[t_stop[first:stop]]
            reach = (at < _INF) & (secs <= limit)
            if reach.any():
                out[row] = float(np.min(at[reach] + secs[reach]))
    return out
