"""Travel-time matrices, r5py-compatible, on the native engine or on R5.

:func:`travel_time_matrix` mirrors ``r5py.TravelTimeMatrix``: same parameter names,
types (durations as ``timedelta``, speeds in km/h) and defaults, same result schema
(``from_id, to_id, travel_time`` or one ``travel_time_pNN`` column per percentile,
whole minutes rounded down, NaN when unreachable, 0 from a point to itself).

:func:`latest_departure_matrix` answers "can she be at the warehouse by 05:30?": the
latest departure that arrives by a given time. :func:`earliest_arrival_matrix` is its
mirror: "the shift ends at 21:30, when is she home?".

The functions are thin: they validate r5py's keyword arguments
(:func:`~parcours.accessibility.query.make_params`), ask the engine
(:mod:`parcours.accessibility.engine`) for blocks of travel seconds and shape them with
:mod:`parcours.accessibility.results` (minute rounding, the diagonal, the schema).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from parcours.accessibility.engine import get_engine
from parcours.accessibility.params import TransportMode
from parcours.accessibility.query import (
    DEFAULT_MAX_RIDES,
    DEFAULT_MAX_STRESS,
    DEFAULT_MAX_TIME,
    DEFAULT_WINDOW,
    NetworkLike,
    make_params,
)
from parcours.accessibility.results import (
    matrix_frame,
    percentile_columns,
    same_point_pairs,
    to_minutes,
)
from parcours.accessibility.streets import BIKE_SPEED_KMH, WALK_SPEED_KMH
from parcours.errors import InputError
from parcours.i18n import tr
from parcours.progress import ProgressFn

__all__ = [
    "earliest_arrival_matrix",
    "latest_departure_matrix",
    "travel_time_matrix",
]

Modes = Iterable[str | TransportMode] | str | None


def travel_time_matrix(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame | None = None,
    *,
    transport_modes: Modes = None,
    departure: dt.datetime | None = None,
    departure_time_window: dt.timedelta = DEFAULT_WINDOW,
    percentiles: Sequence[int] = (50,),
    max_time: dt.timedelta = DEFAULT_MAX_TIME,
    max_time_walking: dt.timedelta | None = None,
    max_time_cycling: dt.timedelta | None = None,
    max_time_driving: dt.timedelta | None = None,
    speed_walking: float = WALK_SPEED_KMH,
    speed_cycling: float = BIKE_SPEED_KMH,
    max_public_transport_rides: int = DEFAULT_MAX_RIDES,
    max_bicycle_traffic_stress: int | None = DEFAULT_MAX_STRESS,
    access_modes: Modes = None,
    egress_modes: Modes = None,
    snap_to_network: bool | float = False,
    wheelchair: bool = False,
    frequency_draws: int | None = None,
    seed: int = 0,
    engine: str = "native",
    progress: ProgressFn | None = None,
) -> pd.DataFrame:
    """Travel times between every origin and every destination (r5py's schema).

    Parameters
    ----------
    network
        A :class:`TransportNetwork`, a loaded :class:`Territory`, or
        ``(osm_pbf, [gtfs, ...])`` as r5py accepts.
    origins, destinations
        GeoDataFrames with an ``id`` column and point geometries (any CRS);
        destinations default to the origins.
    transport_modes, departure, departure_time_window, percentiles, max_time, \
    max_time_walking, max_time_cycling, max_time_driving, speed_walking, speed_cycling, \
    max_public_transport_rides, max_bicycle_traffic_stress, access_modes, egress_modes, \
    snap_to_network
        r5py's parameters, names, types and defaults (durations as ``timedelta``,
        speeds in km/h; modes default to transit + walk; window 10 min; percentile 50;
        ``max_time`` 2 h); see :func:`~parcours.accessibility.query.make_params` for
        what the native engine supports.
    wheelchair
        Only step-free ways and accessible stops and trips (native engine).
    frequency_draws, seed
        Headway-based trips (``frequencies.txt``): ``None`` for the half-headway rule, or
        that many seeded Monte Carlo draws of their phases, the percentiles then taken
        over minutes x draws (R5's method; native engine, R5 draws by itself).
    engine
        ``"native"`` (default, no JVM) or ``"r5"`` (r5py, needs Java 21+ and the R5 jar).
    progress
        Called with ``(label, fraction done)`` as blocks of origins are done.

    Returns
    -------
    pandas.DataFrame
        ``from_id, to_id`` and ``travel_time`` (one percentile) or ``travel_time_pNN``
        (several), whole minutes rounded down, NaN when unreachable within ``max_time``.
        Warnings are issued as :class:`~parcours.accessibility.AccessibilityWarning` and
        kept with the unsnapped points in ``attrs["report"]``.
    """
    params = make_params(
        transport_modes=transport_modes,
        departure=departure,
        departure_time_window=departure_time_window,
        percentiles=percentiles,
        max_time=max_time,
        max_time_walking=max_time_walking,
        max_time_cycling=max_time_cycling,
        max_time_driving=max_time_driving,
        speed_walking=speed_walking,
        speed_cycling=speed_cycling,
        max_public_transport_rides=max_public_transport_rides,
        max_bicycle_traffic_stress=max_bicycle_traffic_stress,
        access_modes=access_modes,
        egress_modes=egress_modes,
        snap_to_network=snap_to_network,
        wheelchair=wheelchair,
        frequency_draws=frequency_draws,
        seed=seed,
    )
    answer = get_engine(engine).travel_times(
        network, origins, destinations, params, progress=progress
    )
    seconds = answer.dense()
    columns = {
        name: to_minutes(seconds[k], params.max_time)
        for k, name in enumerate(percentile_columns(params.percentiles))
    }
    frame = matrix_frame(answer.origins, answer.destinations, columns)
    answer.report.emit()
    return answer.report.attach(frame)


def latest_departure_matrix(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame | None = None,
    *,
    arrive_by: dt.datetime,
    transport_modes: Modes = None,
    max_time: dt.timedelta = DEFAULT_MAX_TIME,
    max_time_walking: dt.timedelta | None = None,
    max_time_cycling: dt.timedelta | None = None,
    max_time_driving: dt.timedelta | None = None,
    speed_walking: float = WALK_SPEED_KMH,
    speed_cycling: float = BIKE_SPEED_KMH,
    max_public_transport_rides: int = DEFAULT_MAX_RIDES,
    max_bicycle_traffic_stress: int | None = DEFAULT_MAX_STRESS,
    snap_to_network: bool | float = False,
    wheelchair: bool = False,
    engine: str = "native",
    progress: ProgressFn | None = None,
) -> pd.DataFrame:
    """The latest departure from each origin that reaches each destination by ``arrive_by``.

    For transit, every departure minute of the ``max_time`` before ``arrive_by`` is
    tried (range RAPTOR); the latest one whose arrival is not after ``arrive_by`` wins.
    For walk, bike and car, the departure is the latest whole minute that arrives in
    time. Parameters as :func:`travel_time_matrix` (no window or percentiles: the
    window is the ``max_time`` before ``arrive_by``).

    Returns
    -------
    pandas.DataFrame
        ``from_id, to_id, departure`` (datetime, a whole minute; NaT when impossible
        within ``max_time``), ``travel_time``: whole minutes between that departure and
        ``arrive_by`` (the time to set aside, waiting at the destination included), and
        ``trip_time``: the trip's own duration from that departure (whole minutes
        rounded down, as :func:`travel_time_matrix` would give for that departure).
    """
    if not isinstance(arrive_by, dt.datetime):
        raise InputError(
            tr(
                "l'heure d'arrivée est une date et une heure (datetime)",
                "the arrival deadline is a date and a time (datetime)",
            ),
            field="arrive_by",
        )
    start = arrive_by - max_time
    params = make_params(
        transport_modes=transport_modes,
        departure=start,
        departure_time_window=max_time,
        max_time=max_time,
        max_time_walking=max_time_walking,
        max_time_cycling=max_time_cycling,
        max_time_driving=max_time_driving,
        speed_walking=speed_walking,
        speed_cycling=speed_cycling,
        max_public_transport_rides=max_public_transport_rides,
        max_bicycle_traffic_stress=max_bicycle_traffic_stress,
        snap_to_network=snap_to_network,
        wheelchair=wheelchair,
    )
    answer = get_engine(engine).latest_departures(
        network, origins, destinations, params, arrive_by=arrive_by, progress=progress
    )
    blocks = list(answer.blocks)
    n_d = len(answer.destinations)
    before_s = np.concatenate([b.seconds[0] for b in blocks]) if blocks else np.zeros((0, n_d))
    trip_s = (
        np.concatenate([b.trip_seconds[0] for b in blocks if b.trip_seconds is not None])
        if blocks
        else np.zeros((0, n_d))
    )
    before_min = np.where(np.isfinite(before_s), np.rint(before_s / 60.0), np.nan)
    frame = matrix_frame(
        answer.origins,
        answer.destinations,
        {
            "travel_time": before_min,
            "trip_time": to_minutes(trip_s, max_time + dt.timedelta(seconds=1)),
        },
    )
    departure_at = pd.Series(pd.Timestamp(arrive_by), index=frame.index) - pd.to_timedelta(
        frame["travel_time"], unit="min"
    )
    frame.insert(2, "departure", departure_at)
    frame.attrs["arrive_by"] = arrive_by.isoformat()
    answer.report.emit()
    return answer.report.attach(frame)


def earliest_arrival_matrix(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame | None = None,
    *,
    depart_after: dt.datetime,
    transport_modes: Modes = None,
    max_time: dt.timedelta = DEFAULT_MAX_TIME,
    max_time_walking: dt.timedelta | None = None,
    max_time_cycling: dt.timedelta | None = None,
    max_time_driving: dt.timedelta | None = None,
    speed_walking: float = WALK_SPEED_KMH,
    speed_cycling: float = BIKE_SPEED_KMH,
    max_public_transport_rides: int = DEFAULT_MAX_RIDES,
    max_bicycle_traffic_stress: int | None = DEFAULT_MAX_STRESS,
    snap_to_network: bool | float = False,
    wheelchair: bool = False,
    engine: str = "native",
    progress: ProgressFn | None = None,
) -> pd.DataFrame:
    """The earliest arrival at each destination when leaving each origin at ``depart_after``.

    Parameters as :func:`travel_time_matrix` (a one-minute window: the departure is
    ``depart_after`` exactly).

    Returns
    -------
    pandas.DataFrame
        ``from_id, to_id, arrival`` (datetime to the second, NaT when impossible within
        ``max_time``) and ``travel_time`` in whole minutes rounded down (waiting for the
        first vehicle included). A point to itself arrives at ``depart_after``, 0 min.
    """
    params = make_params(
        transport_modes=transport_modes,
        departure=depart_after,
        departure_time_window=dt.timedelta(minutes=1),
        max_time=max_time,
        max_time_walking=max_time_walking,
        max_time_cycling=max_time_cycling,
        max_time_driving=max_time_driving,
        speed_walking=speed_walking,
        speed_cycling=speed_cycling,
        max_public_transport_rides=max_public_transport_rides,
        max_bicycle_traffic_stress=max_bicycle_traffic_stress,
        snap_to_network=snap_to_network,
        wheelchair=wheelchair,
    )
    answer = get_engine(engine).travel_times(
        network, origins, destinations, params, progress=progress
    )
    seconds = answer.dense()[0]
    minutes = to_minutes(seconds, max_time)
    exact = np.where(np.isfinite(minutes), seconds, np.nan)
    rows, cols = same_point_pairs(answer.origins, answer.destinations)
    exact[rows, cols] = 0.0  # the same point: the diagonal rule, in one place
    frame = matrix_frame(answer.origins, answer.destinations, {"travel_time": minutes})
    arrival = pd.Timestamp(depart_after) + pd.to_timedelta(np.ceil(exact.reshape(-1)), unit="s")
    frame.insert(2, "arrival", arrival)
    frame.attrs["depart_after"] = depart_after.isoformat()
    answer.report.emit()
    return answer.report.attach(frame)
