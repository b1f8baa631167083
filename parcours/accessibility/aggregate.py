"""Accessibility indicators per origin, without building the long matrix.

A diagnostic asks, for 5,000 to 50,000 origin cells and thousands of weighted
opportunities, "how many jobs within 30/45/60 min" and "minutes to the nearest service
of category X". A long matrix of 20,000 x 20,000 is 400 M rows; these functions reduce
each block of origins the engine hands back (:mod:`parcours.accessibility.engine`) as it
comes, so memory is bounded by one block whatever the sizes.

The rules are those of :func:`~parcours.accessibility.travel_time_matrix`, so that the
indicators equal what one would compute from the matrix of the same query:

- travel times are whole minutes rounded down, unreachable at ``max_time`` or beyond;
  a point to itself is 0 min (same id and same place);
- **within a cut-off** means strictly under it, R5's cumulative-opportunities rule: a
  trip of ``travel_time`` 29 min is within 30, one of 30 min is not;
- with several percentiles, each gets its columns (``jobs_30_p50``); with one, its
  name is left out (``jobs_30``);
- with ``arrive_by``, the time is the time to set aside to arrive by the deadline
  (:func:`~parcours.accessibility.latest_departure_matrix`'s ``travel_time``);
- an origin off the street network has unknown access: NaN, not 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from parcours.accessibility.engine import get_engine
from parcours.accessibility.params import QueryParams, TransportMode
from parcours.accessibility.query import (
    DEFAULT_MAX_RIDES,
    DEFAULT_MAX_STRESS,
    DEFAULT_WINDOW,
    NetworkLike,
    make_params,
)
from parcours.accessibility.results import (
    TimeBlock,
    TravelTimes,
    same_point_pairs,
    to_minutes,
)
from parcours.accessibility.streets import BIKE_SPEED_KMH, WALK_SPEED_KMH
from parcours.errors import InputError
from parcours.i18n import tr
from parcours.progress import ProgressFn

__all__ = ["cumulative_opportunities", "nearest_opportunity"]

FloatArray = npt.NDArray[np.float64]
Modes = Iterable[str | TransportMode] | str | None


def _query(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    opportunities: gpd.GeoDataFrame,
    params: QueryParams,
    *,
    arrive_by: dt.datetime | None,
    engine: str,
    block_size: int | None,
    progress: ProgressFn | None,
) -> TravelTimes:
    chosen = get_engine(engine)
    if arrive_by is None:
        return chosen.travel_times(
            network, origins, opportunities, params, block_size=block_size, progress=progress
        )
    return chosen.latest_departures(
        network,
        origins,
        opportunities,
        params,
        arrive_by=arrive_by,
        block_size=block_size,
        progress=progress,
    )


def _params(
    *,
    arrive_by: dt.datetime | None,
    departure: dt.datetime | None,
    max_time: dt.timedelta,
    departure_time_window: dt.timedelta,
    percentiles: Sequence[int],
    **rest: object,
) -> QueryParams:
    if arrive_by is not None:
        if departure is not None:
            raise InputError(
                tr(
                    "donnez un départ ou une heure d'arrivée, pas les deux",
                    "give a departure or an arrival deadline, not both",
                ),
                field="arrive_by",
            )
        if not isinstance(arrive_by, dt.datetime):
            raise InputError(
                tr(
                    "l'heure d'arrivée est une date et une heure (datetime)",
                    "the arrival deadline is a date and a time (datetime)",
                ),
                field="arrive_by",
            )
        return make_params(
            departure=arrive_by - max_time,
            departure_time_window=max_time,
            max_time=max_time,
            **rest,  # type: ignore[arg-type]
        )
    return make_params(
        departure=departure,
        departure_time_window=departure_time_window,
        percentiles=percentiles,
        max_time=max_time,
        **rest,  # type: ignore[arg-type]
    )


def _block_minutes(
    block: TimeBlock,
    answer: TravelTimes,
    diagonal: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    max_time: dt.timedelta,
    arrive_by: bool,
) -> FloatArray:
    """Whole minutes ``(n_percentiles, n_block, n_opportunities)``, the diagonal at 0."""
    if arrive_by:
        minutes = np.where(np.isfinite(block.seconds), np.rint(block.seconds / 60.0), np.nan)
    else:
        minutes = to_minutes(block.seconds, max_time)
    rows, cols = diagonal
    inside = (rows >= block.first) & (rows < block.last)
    if inside.any():
        minutes = np.array(minutes, copy=True)
        minutes[:, rows[inside] - block.first, cols[inside]] = 0.0
    return minutes


def _suffixes(percentiles: Sequence[int], arrive_by: dt.datetime | None) -> list[str]:
    if arrive_by is not None or len(percentiles) == 1:
        return [""]
    return [f"_p{int(p)}" for p in percentiles]


def _unsnapped(answer: TravelTimes) -> npt.NDArray[np.bool_]:
    off = set(answer.report.unsnapped_origins)
    return np.array([str(i) in off for i in answer.origins.ids], dtype=bool)


def cumulative_opportunities(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    opportunities: gpd.GeoDataFrame,
    *,
    weights: str | None = "jobs",
    cutoffs: Sequence[int] = (30, 45, 60),
    reverse: bool = False,
    transport_modes: Modes = None,
    departure: dt.datetime | None = None,
    arrive_by: dt.datetime | None = None,
    departure_time_window: dt.timedelta = DEFAULT_WINDOW,
    percentiles: Sequence[int] = (50,),
    max_time: dt.timedelta | None = None,
    max_time_walking: dt.timedelta | None = None,
    max_time_cycling: dt.timedelta | None = None,
    max_time_driving: dt.timedelta | None = None,
    speed_walking: float = WALK_SPEED_KMH,
    speed_cycling: float = BIKE_SPEED_KMH,
    max_public_transport_rides: int = DEFAULT_MAX_RIDES,
    max_bicycle_traffic_stress: int | None = DEFAULT_MAX_STRESS,
    snap_to_network: bool | float = False,
    wheelchair: bool = False,
    frequency_draws: int | None = None,
    seed: int = 0,
    engine: str = "native",
    block_size: int | None = None,
    progress: ProgressFn | None = None,
) -> pd.DataFrame:
    """Opportunities (e.g. jobs) reachable from each origin within each cut-off.

    Parameters
    ----------
    network
        A :class:`TransportNetwork`, a loaded territory, or ``(osm_pbf, [gtfs, ...])``.
    origins
        Points with an ``id`` (e.g. populated cells' centres), any CRS.
    opportunities
        Points with an ``id`` and the ``weights`` column, any CRS.
    weights
        The column counted (``"jobs"``); ``None`` counts each opportunity once
        (columns named ``opportunities_30``...). Missing values count 0.
    cutoffs
        Cut-offs in minutes (default 30, 45, 60): an opportunity counts when its time is
        strictly under the cut-off.
    reverse
        Count the opportunities **from which** each origin is reached (trips from the
        opportunities to the origins, leaving in the departure window): "from how many
        jobs can I get home after a late shift". The origins are then the trips' ends;
        an origin off the street network is NaN as well.
    arrive_by
        Instead of ``departure``: count the opportunities one can reach by this time
        with at most the cut-off set aside (the shift-start question, native engine).
    transport_modes, departure, departure_time_window, percentiles, max_time, \
    max_time_walking, max_time_cycling, max_time_driving, speed_walking, speed_cycling, \
    max_public_transport_rides, max_bicycle_traffic_stress, snap_to_network, wheelchair, \
    frequency_draws, seed, engine
        As :func:`~parcours.accessibility.travel_time_matrix`; ``max_time`` defaults to
        the largest cut-off and may not be shorter.
    block_size
        Origins per block (default: sized to bound memory).
    progress
        Called with ``(label, fraction done)``.

    Returns
    -------
    pandas.DataFrame
        ``id`` then ``{stem}_{cutoff}`` per cut-off (``{stem}_{cutoff}_p{NN}`` per
        percentile when several), ``stem`` being ``weights`` or ``opportunities``;
        float, NaN for an origin off the street network. ``attrs["report"]`` as
        :func:`~parcours.accessibility.travel_time_matrix`.
    """
    cuts = sorted({int(c) for c in cutoffs})
    if not cuts or cuts[0] <= 0:
        raise InputError(
            tr("les seuils sont des minutes positives", "cut-offs are positive minutes"),
            field="cutoffs",
        )
    limit = dt.timedelta(minutes=cuts[-1]) if max_time is None else max_time
    if limit < dt.timedelta(minutes=cuts[-1]):
        raise InputError(
            tr(
                f"max_time ({limit}) est plus court que le plus grand seuil ({cuts[-1]} min)",
                f"max_time ({limit}) is shorter than the largest cut-off ({cuts[-1]} min)",
            ),
            field="max_time",
        )
    if weights is None:
        values = np.ones(len(opportunities))
        stem = "opportunities"
    else:
        if weights not in opportunities.columns:
            raise InputError(
                tr(
                    f"colonne de poids « {weights} » absente des opportunités",
                    f"weights column '{weights}' missing from the opportunities",
                ),
                field="weights",
            )
        values = pd.to_numeric(opportunities[weights], errors="coerce").fillna(0.0)
        values = values.to_numpy(dtype=np.float64)
        stem = weights
    params = _params(
        arrive_by=arrive_by,
        departure=departure,
        max_time=limit,
        departure_time_window=departure_time_window,
        percentiles=percentiles,
        transport_modes=transport_modes,
        max_time_walking=max_time_walking,
        max_time_cycling=max_time_cycling,
        max_time_driving=max_time_driving,
        speed_walking=speed_walking,
        speed_cycling=speed_cycling,
        max_public_transport_rides=max_public_transport_rides,
        max_bicycle_traffic_stress=max_bicycle_traffic_stress,
        snap_to_network=snap_to_network,
        wheelchair=wheelchair,
        frequency_draws=frequency_draws,
        seed=seed,
    )
    answer = _query(
        network,
        opportunities if reverse else origins,
        origins if reverse else opportunities,
        params,
        arrive_by=arrive_by,
        engine=engine,
        block_size=block_size,
        progress=progress,
    )
    places = answer.destinations if reverse else answer.origins
    suffixes = _suffixes(params.percentiles, arrive_by)
    counts = np.zeros((len(suffixes), len(cuts), len(places)))
    diagonal = same_point_pairs(answer.origins, answer.destinations)
    for block in answer.blocks:
        minutes = _block_minutes(block, answer, diagonal, params.max_time, arrive_by is not None)
        for k in range(len(suffixes)):
            reached = np.nan_to_num(minutes[k], nan=np.inf)
            for c, cut in enumerate(cuts):
                within = (reached < cut).astype(np.float64)
                if reverse:
                    counts[k, c] += values[block.first : block.last] @ within
                else:
                    counts[k, c, block.first : block.last] = within @ values
    if reverse:
        unsnapped = set(answer.report.unsnapped_destinations)
        off = np.array([str(i) in unsnapped for i in places.ids], dtype=bool)
    else:
        off = _unsnapped(answer)
    frame = pd.DataFrame({"id": places.ids.astype(str)})
    for k, suffix in enumerate(suffixes):
        for c, cut in enumerate(cuts):
            frame[f"{stem}_{cut}{suffix}"] = np.where(off, np.nan, counts[k, c])
    answer.report.emit()
    return answer.report.attach(frame)


def nearest_opportunity(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    opportunities: gpd.GeoDataFrame,
    *,
    by: str | None = "category",
    transport_modes: Modes = None,
    departure: dt.datetime | None = None,
    arrive_by: dt.datetime | None = None,
    departure_time_window: dt.timedelta = DEFAULT_WINDOW,
    percentiles: Sequence[int] = (50,),
    max_time: dt.timedelta = dt.timedelta(hours=1),
    max_time_walking: dt.timedelta | None = None,
    max_time_cycling: dt.timedelta | None = None,
    max_time_driving: dt.timedelta | None = None,
    speed_walking: float = WALK_SPEED_KMH,
    speed_cycling: float = BIKE_SPEED_KMH,
    max_public_transport_rides: int = DEFAULT_MAX_RIDES,
    max_bicycle_traffic_stress: int | None = DEFAULT_MAX_STRESS,
    snap_to_network: bool | float = False,
    wheelchair: bool = False,
    frequency_draws: int | None = None,
    seed: int = 0,
    engine: str = "native",
    block_size: int | None = None,
    progress: ProgressFn | None = None,
) -> pd.DataFrame:
    """Minutes from each origin to the nearest opportunity of each category.

    Parameters
    ----------
    network
        A :class:`TransportNetwork`, a loaded territory, or ``(osm_pbf, [gtfs, ...])``.
    origins
        Points with an ``id``, any CRS.
    opportunities
        Points with an ``id`` and the ``by`` column (e.g. BPE ``category``), any CRS.
    by
        The column whose values are the categories; ``None``: one column ``nearest``.
    arrive_by
        Instead of ``departure``: the least time to set aside to be at one by then.
    transport_modes, departure, departure_time_window, percentiles, max_time, \
    max_time_walking, max_time_cycling, max_time_driving, speed_walking, speed_cycling, \
    max_public_transport_rides, max_bicycle_traffic_stress, snap_to_network, wheelchair, \
    frequency_draws, seed, engine
        As :func:`~parcours.accessibility.travel_time_matrix` (``max_time`` default 1 h).
    block_size
        Origins per block (default: sized to bound memory).
    progress
        Called with ``(label, fraction done)``.

    Returns
    -------
    pandas.DataFrame
        ``id`` then one column per category (sorted; ``{category}_p{NN}`` per percentile
        when several): whole minutes to the nearest one, NaN when none is reachable
        within ``max_time`` or the origin is off the street network.
    """
    if by is None:
        labels = np.zeros(len(opportunities), dtype=np.int64)
        names = ["nearest"]
    else:
        if by not in opportunities.columns:
            raise InputError(
                tr(
                    f"colonne de catégorie « {by} » absente des opportunités",
                    f"category column '{by}' missing from the opportunities",
                ),
                field="by",
            )
        categories = opportunities[by].astype("string").fillna("")
        names = sorted(str(c) for c in categories.unique())
        labels = pd.Index(names).get_indexer(categories.to_numpy())
    params = _params(
        arrive_by=arrive_by,
        departure=departure,
        max_time=max_time,
        departure_time_window=departure_time_window,
        percentiles=percentiles,
        transport_modes=transport_modes,
        max_time_walking=max_time_walking,
        max_time_cycling=max_time_cycling,
        max_time_driving=max_time_driving,
        speed_walking=speed_walking,
        speed_cycling=speed_cycling,
        max_public_transport_rides=max_public_transport_rides,
        max_bicycle_traffic_stress=max_bicycle_traffic_stress,
        snap_to_network=snap_to_network,
        wheelchair=wheelchair,
        frequency_draws=frequency_draws,
        seed=seed,
    )
    answer = _query(
        network,
        origins,
        opportunities,
        params,
        arrive_by=arrive_by,
        engine=engine,
        block_size=block_size,
        progress=progress,
    )
    suffixes = _suffixes(params.percentiles, arrive_by)
    best = np.full((len(suffixes), len(names), len(answer.origins)), np.inf)
    diagonal = same_point_pairs(answer.origins, answer.destinations)
    columns_of = [np.flatnonzero(labels == g) for g in range(len(names))]
    for block in answer.blocks:
        minutes = _block_minutes(block, answer, diagonal, params.max_time, arrive_by is not None)
        reached = np.nan_to_num(minutes, nan=np.inf)
        for g, columns in enumerate(columns_of):
            if len(columns):
                best[:, g, block.first : block.last] = reached[:, :, columns].min(axis=2)
    off = _unsnapped(answer)
    frame = pd.DataFrame({"id": answer.origins.ids.astype(str)})
    for k, suffix in enumerate(suffixes):
        for g, name in enumerate(names):
            values = np.where(np.isfinite(best[k, g]) & ~off, best[k, g], np.nan)
            frame[f"{name}{suffix}"] = values
    answer.report.emit()
    return answer.report.attach(frame)
