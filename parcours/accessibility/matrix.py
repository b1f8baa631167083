"""Travel-time matrices, r5py-compatible, on the native engine or on R5.

:func:`travel_time_matrix` mirrors ``r5py.TravelTimeMatrix``: same parameter names,
types (durations as ``timedelta``, speeds in km/h) and defaults, same result schema
(``from_id, to_id, travel_time`` or one ``travel_time_pNN`` column per percentile,
whole minutes rounded down, NaN when unreachable, 0 from a point to itself).

:func:`latest_departure_matrix` answers "can she be at the warehouse by 05:30?": the
latest departure that arrives by a given time. :func:`earliest_arrival_matrix` is its
mirror: "the shift ends at 21:30, when is she home?".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from parcours.accessibility.legs import transit_legs
from parcours.accessibility.network import PointSet
from parcours.accessibility.params import QueryParams, TransportMode
from parcours.accessibility.query import (
    MatrixInputs,
    NetworkLike,
    make_params,
    resolve_network,
    seconds_of_day,
)
from parcours.accessibility.transit import (
    combine_egress,
    raptor_range,
    travel_time_percentiles,
)
from parcours.errors import InputError
from parcours.i18n import tr

__all__ = [
    "earliest_arrival_matrix",
    "latest_departure_matrix",
    "travel_time_matrix",
]

FloatArray = npt.NDArray[np.float64]


def _native_percentiles(inputs: MatrixInputs) -> FloatArray:
    """Travel seconds, shape ``(n_percentiles, n_origins, n_destinations)``, inf unreachable."""
    p = inputs.params
    n_o, n_d = len(inputs.origins), len(inputs.destinations)
    max_s = p.max_time.total_seconds()
    if TransportMode.TRANSIT not in p.modes:
        limit = inputs.street_limit_s()
        times = inputs.graph.travel_times_s(
            inputs.snapped_origins, inputs.snapped_destinations, max_time_s=limit
        )
        times = np.where(times < min(limit + 1e-9, max_s), times, np.inf)
        return np.broadcast_to(times, (len(p.percentiles), n_o, n_d)).copy()
    departure_s = seconds_of_day(p.departure)
    window_s = p.window_minutes * 60
    legs = transit_legs(inputs, p.departure.date(), until_s=departure_s + window_s + int(max_s))
    inputs.warnings.extend(legs.warnings)
    return np.asarray(
        travel_time_percentiles(
            legs.timetable,
            legs.transfers,
            legs.access_stop,
            legs.access_s,
            legs.access_origin,
            n_o,
            legs.egress_stop,
            legs.egress_dest,
            legs.egress_s,
            n_d,
            departure_s,
            window_s,
            p.percentiles,
            max_rides=p.max_public_transport_rides,
            max_time_s=int(max_s),
            walk_only_s=legs.walk_only_s,
        ),
        dtype=np.float64,
    )


def _to_minutes(seconds: FloatArray, max_time: dt.timedelta) -> FloatArray:
    minutes = np.floor(seconds / 60.0)
    max_min = max_time.total_seconds() / 60.0
    return np.where(np.isfinite(minutes) & (minutes < max_min), minutes, np.nan)


def _frame(
    origins: PointSet, destinations: PointSet, columns: dict[str, FloatArray]
) -> pd.DataFrame:
    n_o, n_d = len(origins), len(destinations)
    o_index = np.repeat(np.arange(n_o), n_d)
    d_index = np.tile(np.arange(n_d), n_o)
    frame = pd.DataFrame(
        {
            "from_id": pd.Series(origins.ids.astype(str)).take(o_index).reset_index(drop=True),
            "to_id": pd.Series(destinations.ids.astype(str)).take(d_index).reset_index(drop=True),
        }
    )
    # A point to itself is 0 min (r5py's rule): same id and same place, never two
    # different places that happen to share an id in two files.
    position = {str(v): i for i, v in enumerate(origins.ids)}
    same: list[int] = []
    for j, value in enumerate(destinations.ids):
        i = position.get(str(value))
        if (
            i is not None
            and abs(origins.x_m[i] - destinations.x_m[j]) < 1e-6
            and abs(origins.y_m[i] - destinations.y_m[j]) < 1e-6
        ):
            same.append(i * n_d + j)
    for name, values in columns.items():
        flat = np.asarray(values, dtype=np.float64).reshape(-1).copy()
        flat[same] = 0.0
        frame[name] = flat
    return frame


def _attach_quality(frame: pd.DataFrame, inputs: MatrixInputs) -> pd.DataFrame:
    frame.attrs["engine"] = "native"
    warnings = list(dict.fromkeys(inputs.warnings))
    for points, label in (
        (inputs.snapped_origins, tr("origines", "origins")),
        (inputs.snapped_destinations, tr("destinations", "destinations")),
    ):
        if len(points) and not points.ok.any():
            warnings.append(
                tr(
                    f"aucune des {label} n'est à moins de 1,6 km d'une rue : vérifiez les "
                    "coordonnées (longitude et latitude inversées ?) et le territoire",
                    f"none of the {label} lies within 1.6 km of a street: check the "
                    "coordinates (longitude and latitude swapped?) and the territory",
                )
            )
    frame.attrs["warnings"] = warnings
    frame.attrs["unsnapped_origins"] = [
        str(i) for i in inputs.origins.ids[~inputs.snapped_origins.ok]
    ]
    frame.attrs["unsnapped_destinations"] = [
        str(i) for i in inputs.destinations.ids[~inputs.snapped_destinations.ok]
    ]
    p = inputs.params
    if p.wheelchair and TransportMode.TRANSIT in p.modes:
        tt = inputs.network.timetable(p.departure.date(), wheelchair=True)
        frame.attrs["wheelchair_unknown_stops"] = int(tt.wheelchair_unknown_stops)
        frame.attrs["wheelchair_unknown_trips"] = int(tt.wheelchair_unknown_trips)
    return frame


def travel_time_matrix(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame | None = None,
    *,
    engine: str = "native",
    **kwargs: Any,
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
    engine
        ``"native"`` (default, no JVM) or ``"r5"`` (r5py, needs Java 21+ and the R5 jar).
    **kwargs
        r5py's parameters: ``transport_modes`` (or ``modes``), ``departure``,
        ``departure_time_window`` (default 10 min), ``percentiles`` (default ``[50]``),
        ``max_time`` (2 h), ``max_time_walking``, ``max_time_cycling`` (default
        ``max_time``), ``speed_walking`` (3.6 km/h), ``speed_cycling`` (12 km/h),
        ``max_public_transport_rides`` (8); and ``wheelchair`` (native engine).

    Returns
    -------
    pandas.DataFrame
        ``from_id, to_id`` and ``travel_time`` (one percentile) or ``travel_time_pNN``
        (several), whole minutes rounded down, NaN when unreachable within ``max_time``.
        ``attrs`` lists unsnapped points and, with ``wheelchair``, the number of stops
        and trips of unknown accessibility.
    """
    params = make_params(**kwargs)
    if engine == "r5":
        return _r5_matrix(network, origins, destinations, params)
    if engine != "native":
        raise InputError(
            tr("moteur inconnu (native ou r5)", "unknown engine (native or r5)"), field="engine"
        )
    inputs = MatrixInputs.prepare(resolve_network(network), origins, destinations, params)
    seconds = _native_percentiles(inputs)
    if len(params.percentiles) == 1:
        columns = {"travel_time": _to_minutes(seconds[0], params.max_time)}
    else:
        columns = {
            f"travel_time_p{p}": _to_minutes(seconds[i], params.max_time)
            for i, p in enumerate(params.percentiles)
        }
    return _attach_quality(_frame(inputs.origins, inputs.destinations, columns), inputs)


def _r5_matrix(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame | None,
    params: QueryParams,
) -> pd.DataFrame:
    from parcours.accessibility.r5 import (
        import_r5py,
        normalise_r5py_matrix,
        r5py_arguments,
        refuse_wheelchair,
    )

    refuse_wheelchair(params)
    r5py = import_r5py()
    osm, gtfs = _network_files(network)
    arguments = r5py_arguments(params)
    arguments["transport_modes"] = [
        getattr(r5py.TransportMode, m) for m in arguments["transport_modes"]
    ]
    transport_network = r5py.TransportNetwork(osm, gtfs)
    result = r5py.TravelTimeMatrix(
        transport_network,
        origins=origins[["id", "geometry"]],
        destinations=None if destinations is None else destinations[["id", "geometry"]],
        **arguments,
    )
    frame = normalise_r5py_matrix(result, params)
    frame.attrs["engine"] = "r5"
    return frame


def _network_files(network: NetworkLike) -> tuple[str, list[str]]:
    if isinstance(network, tuple):
        return str(network[0]), [str(g) for g in network[1]]
    resolved = resolve_network(network)
    if resolved.sources.get("osm"):
        return resolved.sources["osm"], list(resolved.sources.get("gtfs", []))
    manifest = resolved.territory.manifest["layers"]
    osm = [s["path"] for s in manifest.get("streets", {}).get("sources", [])]
    gtfs = [s["path"] for s in manifest.get("stops", {}).get("sources", [])]
    if not osm:
        raise InputError(tr("source OSM du territoire inconnue", "territory's OSM source unknown"))
    return osm[0], gtfs


def _arrive_depart_inputs(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame | None,
    when: dt.datetime,
    kwargs: dict[str, Any],
) -> MatrixInputs:
    kwargs = dict(kwargs)
    kwargs["departure"] = when
    kwargs.setdefault("departure_time_window", dt.timedelta(minutes=1))
    params = make_params(**kwargs)
    return MatrixInputs.prepare(resolve_network(network), origins, destinations, params)


def latest_departure_matrix(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame | None = None,
    *,
    arrive_by: dt.datetime,
    **kwargs: Any,
) -> pd.DataFrame:
    """The latest departure from each origin that reaches each destination by ``arrive_by``.

    For transit, every departure minute of the ``max_time`` before ``arrive_by`` is
    tried (range RAPTOR); the latest one whose arrival is not after ``arrive_by`` wins.
    For walk, bike and car, the departure is ``arrive_by`` minus the travel time.

    Returns
    -------
    pandas.DataFrame
        ``from_id, to_id, departure`` (datetime, NaT when impossible within ``max_time``)
        and ``travel_time``: whole minutes between that departure and ``arrive_by``
        (the time to set aside, waiting at the destination included).
    """
    max_time = kwargs.get("max_time", dt.timedelta(hours=2))
    start = arrive_by - max_time
    kwargs = {**kwargs, "departure_time_window": max_time}
    inputs = _arrive_depart_inputs(network, origins, destinations, start, kwargs)
    p = inputs.params
    deadline_s = seconds_of_day(arrive_by) + (arrive_by.date() - start.date()).days * 86400
    if TransportMode.TRANSIT not in p.modes:
        times = inputs.graph.travel_times_s(
            inputs.snapped_origins, inputs.snapped_destinations, max_time_s=inputs.street_limit_s()
        )
        slack = np.where(times < max_time.total_seconds(), times, np.inf)
        before_s = np.ceil(slack / 60.0) * 60.0
    else:
        before_s = _transit_latest(inputs, start, deadline_s)
    before_min = np.where(np.isfinite(before_s), before_s / 60.0, np.nan)
    frame = _frame(inputs.origins, inputs.destinations, {"travel_time": before_min})
    departure = pd.Series(pd.Timestamp(arrive_by), index=frame.index) - pd.to_timedelta(
        frame["travel_time"], unit="min"
    )
    frame.insert(2, "departure", departure)
    frame.attrs["arrive_by"] = arrive_by.isoformat()
    return _attach_quality(frame, inputs)


def _transit_latest(inputs: MatrixInputs, start: dt.datetime, deadline_s: int) -> FloatArray:
    """Seconds between the latest feasible departure minute and the deadline (inf: none)."""
    p = inputs.params
    n_o, n_d = len(inputs.origins), len(inputs.destinations)
    departure_s = seconds_of_day(start)
    window_s = int(p.max_time.total_seconds())
    legs = transit_legs(inputs, start.date(), until_s=deadline_s)
    inputs.warnings.extend(legs.warnings)
    tt, transfers = legs.timetable, legs.transfers
    result = np.full((n_o, n_d), np.inf)
    batch = max(1, 2_000_000 // max(1, (window_s // 60) * max(tt.n_stops, n_d)))
    for first in range(0, n_o, batch):
        last = min(first + batch, n_o)
        keep = (legs.access_origin >= first) & (legs.access_origin < last)
        arrivals = raptor_range(
            tt,
            transfers,
            legs.access_stop[keep],
            legs.access_s[keep],
            legs.access_origin[keep] - first,
            last - first,
            departure_s,
            window_s,
            max_rides=p.max_public_transport_rides,
            max_time_s=window_s,
        )
        travel = combine_egress(
            arrivals,
            legs.egress_stop,
            legs.egress_dest,
            legs.egress_s,
            n_d,
            departure_s,
            legs.walk_only_s[first:last],
            max_time_s=None,
        )
        minutes = departure_s + 60 * np.arange(travel.shape[0])[:, None, None]
        arrival = minutes + travel
        feasible = np.isfinite(travel) & (arrival <= deadline_s)
        latest = np.where(feasible, minutes, -np.inf).max(axis=0)
        result[first:last] = np.where(np.isfinite(latest), deadline_s - latest, np.inf)
    return result


def earliest_arrival_matrix(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame | None = None,
    *,
    depart_after: dt.datetime,
    **kwargs: Any,
) -> pd.DataFrame:
    """The earliest arrival at each destination when leaving each origin at ``depart_after``.

    Returns
    -------
    pandas.DataFrame
        ``from_id, to_id, arrival`` (datetime, NaT when impossible within ``max_time``)
        and ``travel_time`` in whole minutes (waiting for the first vehicle included).
    """
    inputs = _arrive_depart_inputs(network, origins, destinations, depart_after, kwargs)
    seconds = _native_percentiles(inputs)[0]
    minutes = _to_minutes(seconds, inputs.params.max_time)
    exact = np.where(np.isfinite(minutes), seconds, np.nan)
    frame = _frame(inputs.origins, inputs.destinations, {"travel_time": minutes})
    arrival_s = exact.reshape(-1)
    arrival_s[frame["from_id"].to_numpy() == frame["to_id"].to_numpy()] = 0.0
    arrival = pd.Timestamp(depart_after) + pd.to_timedelta(np.ceil(arrival_s), unit="s")
    frame.insert(2, "arrival", arrival)
    frame.attrs["depart_after"] = depart_after.isoformat()
    return _attach_quality(frame, inputs)
