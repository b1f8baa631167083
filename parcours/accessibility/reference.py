"""Exact reference searches in plain Python, what the compiled engine is checked against.

They are slow and simple: the tests and ``bench/engines.py`` compare the range-RAPTOR of
:mod:`parcours.accessibility.transit` with them, search by search.

:func:`connection_scan` is the Connection Scan Algorithm (Dibbelt, Pajor, Strasser and
Wagner, 2013) on the journey model of the engine: the access walks reach stops at
``departure + walk``; a vehicle is boarded when it leaves at least ``board_slack_s`` after
the rider reached the stop (R5's 60 s); walking transfers start only from arrivals off a
vehicle or the access walk (R5's rule: no walk after a walk); no limit on the number of
rides. Scheduled trips only: headway-based trips have no single timetable to scan.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Final

from parcours.accessibility.transit import INF, Timetable, Transfers

__all__ = ["Connection", "Connections", "connection_scan", "timetable_connections"]

#: One hop of one trip: (departure s, arrival s, from stop, to stop, trip, can board at
#: the from stop, can alight at the to stop).
Connection = tuple[int, int, int, int, int, bool, bool]
#: The departures (sorted) and the connections in that order.
Connections = tuple[list[int], list[Connection]]

BOARD_SLACK_S: Final = 60


def timetable_connections(tt: Timetable) -> Connections:
    """The connections of a timetable's scheduled trips, sorted by departure.

    Raises
    ------
    ValueError
        If the timetable has headway-based trips.
    """
    conns: list[tuple[int, int, int, int, int, bool, bool, int]] = []
    for p in range(tt.n_patterns):
        if tt.pattern_freq_ptr[p + 1] != tt.pattern_freq_ptr[p]:
            raise ValueError("headway-based pattern: the connection scan needs scheduled trips")
        s0, s1 = int(tt.pattern_stop_ptr[p]), int(tt.pattern_stop_ptr[p + 1])
        stops = tt.pattern_stops[s0:s1].tolist()
        board = tt.pattern_board[s0:s1].tolist()
        alight = tt.pattern_alight[s0:s1].tolist()
        t0, t1 = int(tt.pattern_trip_ptr[p]), int(tt.pattern_trip_ptr[p + 1])
        nt, base = t1 - t0, int(tt.pattern_time_ptr[p])
        arr, dep = tt.arrival_s, tt.departure_s
        for k in range(nt):
            for i in range(len(stops) - 1):
                conns.append(
                    (
                        int(dep[base + i * nt + k]),
                        int(arr[base + (i + 1) * nt + k]),
                        stops[i],
                        stops[i + 1],
                        t0 + k,
                        bool(board[i]),
                        bool(alight[i + 1]),
                        i,
                    )
                )
    conns.sort(key=lambda c: (c[0], c[4], c[7]))  # a trip's hops stay in order
    items = [c[:7] for c in conns]
    return [c[0] for c in items], items


def connection_scan(
    connections: Connections,
    transfers: Transfers,
    n_stops: int,
    access: Sequence[tuple[int, int]],
    departure_s: int,
    limit_s: int,
    *,
    board_slack_s: int = BOARD_SLACK_S,
) -> list[int]:
    """Earliest arrival at every stop from one departure (``INF`` when unreached).

    Parameters
    ----------
    connections
        From :func:`timetable_connections`, or built independently (sorted by departure,
        a trip's hops in order).
    transfers
        Walks between stops.
    n_stops
        Number of stops.
    access
        ``(stop, walk seconds)`` from the origin.
    departure_s, limit_s
        Departure and latest arrival considered, seconds after midnight.
    board_slack_s
        Minimum wait between reaching a stop and the vehicle's departure.
    """
    deps, items = connections
    best = [INF] * n_stops  # any arrival, walks included
    off_vehicle = [INF] * n_stops  # arrivals walks may start from
    ptr, to_stop, walk_s = (
        transfers.ptr.tolist(),
        transfers.to_stop.tolist(),
        transfers.walk_s.tolist(),
    )

    def walk_from(s: int, t: int) -> None:
        for e in range(ptr[s], ptr[s + 1]):
            u = t + walk_s[e]
            if u <= limit_s and u < best[to_stop[e]]:
                best[to_stop[e]] = u

    for s, a in access:
        t = departure_s + a
        if t <= limit_s:
            best[s] = min(best[s], t)
            off_vehicle[s] = min(off_vehicle[s], t)
    for s, _ in access:
        if off_vehicle[s] < INF:
            walk_from(s, off_vehicle[s])
    boarded: set[int] = set()
    for i in range(bisect.bisect_left(deps, departure_s), len(items)):
        dep, arr, a, b, trip, pick, drop = items[i]
        if dep > limit_s:
            break
        if trip not in boarded:
            if not pick or best[a] == INF or best[a] + board_slack_s > dep:
                continue
            boarded.add(trip)
        if drop and arr <= limit_s and arr < off_vehicle[b]:
            off_vehicle[b] = arr
            best[b] = min(best[b], arr)
            walk_from(b, arr)
    return best
