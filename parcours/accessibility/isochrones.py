"""Isochrones as polygons: the area reachable within each cut-off.

Travel times are computed from each origin to every node of the street graph (for
transit: the range-RAPTOR arrivals at the stops of every departure minute, then the walk
from the stops to the nodes, reduced to the asked percentile with R5's rule). For each
cut-off, the street pieces reachable in time (whole edges, and the reachable part of an
edge whose far end is too far, cut in proportion of the remaining time) are buffered by
``buffer_m`` (default 50 m, a street and its frontage) and merged; holes smaller than
``min_hole_m2`` (1 ha, blocks between reached streets) are filled. The result is one
(Multi)Polygon per origin and cut-off, nested (a larger cut-off contains the smaller).
r5py returns isolines around a 100 m grid of reached points; for a 5-minute walk in
Helsinki, parcours' polygon covers R5's and is about 2.5 times its area (the street
buffers reach into the blocks). Polygons are what a map of "who can get there" needs.

With ``engine="r5"``, r5py's ``Isochrones`` computes them (one call per origin, since
r5py merges several origins into one area) and ``normalise_r5py_isochrones`` (in
:mod:`parcours.accessibility.r5`) turns its boundary lines into the same schema.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely import ops

from parcours.accessibility.legs import transit_legs
from parcours.accessibility.native import NativeEngine
from parcours.accessibility.network import PointSet
from parcours.accessibility.params import QueryParams, TransportMode
from parcours.accessibility.query import (
    DEFAULT_MAX_RIDES,
    DEFAULT_MAX_STRESS,
    DEFAULT_WINDOW,
    MatrixInputs,
    NetworkLike,
    make_params,
    resolve_network,
    seconds_of_day,
)
from parcours.accessibility.r5 import (
    R5Engine,
    import_r5py,
    normalise_r5py_isochrones,
    r5py_arguments,
    refuse_wheelchair,
)
from parcours.accessibility.streets import BIKE_SPEED_KMH, WALK_SPEED_KMH, StreetGraph
from parcours.accessibility.transit import combine_egress, percentiles_r5, raptor_range
from parcours.errors import InputError
from parcours.geo.crs import WGS84
from parcours.geo.polygons import fill_small_holes
from parcours.i18n import tr

__all__ = ["DEFAULT_CUTOFFS_MIN", "isochrones", "node_travel_times_s"]

DEFAULT_CUTOFFS_MIN: tuple[int, ...] = (15, 30, 45, 60)
FloatArray = npt.NDArray[np.float64]


def _node_targets(graph: StreetGraph) -> Any:
    return graph.snap(graph.node_x, graph.node_y, max_snap_m=1.0)


def node_travel_times_s(inputs: MatrixInputs) -> FloatArray:
    """Seconds from each origin to each graph node, shape ``(n_origins, n_nodes)``.

    For transit, the percentile asked (the first of ``percentiles``) of the per-minute
    times over the departure window.
    """
    p = inputs.params
    graph = inputs.graph
    nodes = _node_targets(graph)
    limit = inputs.street_limit_s()
    if TransportMode.TRANSIT not in p.modes:
        times = graph.travel_times_s(inputs.snapped_origins, nodes, max_time_s=limit)
        return np.where(times < p.max_time.total_seconds(), times, np.inf)
    departure_s = seconds_of_day(p.departure)
    window_s = p.window_minutes * 60
    max_s = int(p.max_time.total_seconds())
    legs = transit_legs(
        inputs, p.departure.date(), until_s=departure_s + window_s + max_s, destinations=nodes
    )
    inputs.warnings.extend(legs.warnings)
    result = np.empty((len(inputs.origins), graph.n_nodes))
    for origin in range(len(inputs.origins)):  # one origin at a time: minutes x nodes
        keep = legs.access_origin == origin
        arrivals = raptor_range(
            legs.timetable,
            legs.transfers,
            legs.access_stop[keep],
            legs.access_s[keep],
            np.zeros(int(keep.sum()), dtype=np.int64),
            1,
            departure_s,
            window_s,
            max_rides=p.max_public_transport_rides,
            max_time_s=max_s,
        )
        per_minute = combine_egress(
            arrivals,
            legs.egress_stop,
            legs.egress_dest,
            legs.egress_s,
            graph.n_nodes,
            departure_s,
            legs.walk_only_s[origin : origin + 1],
            max_time_s=float(max_s),
        )
        result[origin] = percentiles_r5(per_minute, p.percentiles[:1])[0, 0]
    return result


def _node_times_to(inputs: MatrixInputs, arrive_by: dt.datetime) -> FloatArray:
    """Seconds to set aside from each graph node to each point, to arrive by ``arrive_by``."""
    graph = inputs.graph
    nodes = gpd.GeoDataFrame(
        {"id": np.arange(graph.n_nodes).astype(str)},
        geometry=gpd.points_from_xy(graph.node_x, graph.node_y),
        crs=inputs.network.crs,
    )
    points = gpd.GeoDataFrame(
        {"id": inputs.origins.ids.astype(str)},
        geometry=gpd.points_from_xy(inputs.origins.x_m, inputs.origins.y_m),
        crs=inputs.network.crs,
    )
    answer = NativeEngine().latest_departures(
        inputs.network, nodes, points, inputs.params, arrive_by=arrive_by
    )
    for message in answer.report.warnings:
        inputs.warnings.append(message)
    return answer.dense()[0].T


def _reachable_lines(graph: StreetGraph, times_s: FloatArray, cutoff_s: float) -> list[Any]:
    edges = graph.edge_geometries()
    t_from = times_s[edges.from_node]
    t_to = times_s[edges.to_node]
    whole = (t_from <= cutoff_s) & (t_to <= cutoff_s)
    lines = list(edges.geometry[whole])
    partial = np.flatnonzero((t_from < cutoff_s) & ~whole)
    for i in partial:
        share = (cutoff_s - t_from[i]) / max(edges.travel_time_s[i], 1e-9)
        if share > 0:
            lines.append(
                ops.substring(edges.geometry[i], 0.0, float(min(share, 1.0)), normalized=True)
            )
    return lines


def isochrones(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    *,
    cutoffs: Sequence[int] = DEFAULT_CUTOFFS_MIN,
    buffer_m: float = 50.0,
    min_hole_m2: float = 10_000.0,
    transport_modes: Iterable[str | TransportMode] | str | None = None,
    departure: dt.datetime | None = None,
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
    arrive_by: dt.datetime | None = None,
    engine: str = "native",
) -> gpd.GeoDataFrame:
    """Areas reachable from each origin within each cut-off, as polygons.

    With ``arrive_by``, the other way round: the areas from which each point (a
    workplace) is reached by ``arrive_by`` with at most the cut-off set aside ("where can
    I live to be there by 05:30?"). Every street node is then an origin of an arrive-by
    search to the point (native engine; seconds on a city, longer on a region).

    Parameters
    ----------
    network
        A :class:`TransportNetwork`, a territory, or ``(osm_pbf, [gtfs, ...])``.
    origins
        GeoDataFrame with ``id`` and points (any CRS); the result comes back in its CRS.
    cutoffs
        Cut-offs in minutes (default 15, 30, 45, 60).
    buffer_m
        Width kept on each side of a reached street, metres.
    min_hole_m2
        Holes smaller than this are filled, square metres.
    transport_modes, departure, departure_time_window, percentiles, max_time, \
    max_time_walking, max_time_cycling, max_time_driving, speed_walking, speed_cycling, \
    max_public_transport_rides, max_bicycle_traffic_stress, snap_to_network, wheelchair, \
    frequency_draws, seed
        As :func:`~parcours.accessibility.travel_time_matrix` (the first percentile is
        used); ``max_time`` defaults to the largest cut-off.
    arrive_by
        Instead of ``departure``: arrive at the points by this local time.
    engine
        ``"native"`` (default) or ``"r5"`` (r5py's ``Isochrones``: areas around its
        100 m grid of reached points; ``buffer_m`` does not apply, ``wheelchair`` is
        refused).

    Returns
    -------
    geopandas.GeoDataFrame
        ``id``, ``cutoff`` (minutes), ``area_km2`` and the polygon, in the origins' CRS,
        one row per origin and cut-off, largest cut-off first (for drawing).
    """
    cuts = sorted({int(c) for c in cutoffs})
    if not cuts or cuts[0] <= 0 or cuts[-1] > 24 * 60:
        raise InputError(
            tr("cut-offs entre 1 et 1440 minutes", "cut-offs between 1 and 1440 minutes"),
            field="cutoffs",
        )
    limit = dt.timedelta(minutes=cuts[-1] + 1) if max_time is None else max_time
    if arrive_by is not None:
        if departure is not None:
            raise InputError(
                tr(
                    "donnez un départ ou une heure d'arrivée, pas les deux",
                    "give a departure or an arrival deadline, not both",
                ),
                field="arrive_by",
            )
        if engine != "native":
            raise InputError(
                tr(
                    "les isochrones « arriver avant » demandent le moteur natif",
                    "arrive-by isochrones need the native engine",
                ),
                field="engine",
            )
        departure, departure_time_window = arrive_by - limit, limit
    params = make_params(
        transport_modes=transport_modes,
        departure=departure,
        departure_time_window=departure_time_window,
        percentiles=percentiles,
        max_time=limit,
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
    if engine == "r5":
        result = _r5_isochrones(network, origins, cuts, params, min_hole_m2)
        return _in_caller_crs(result, origins)
    if engine != "native":
        raise InputError(
            tr("moteur inconnu (native ou r5)", "unknown engine (native or r5)"), field="engine"
        )
    inputs = MatrixInputs.prepare(resolve_network(network), origins, None, params)
    # From the points, or (arrive-by) to them.
    times = node_travel_times_s(inputs) if arrive_by is None else _node_times_to(inputs, arrive_by)
    rows: list[dict[str, Any]] = []
    for i, origin_id in enumerate(inputs.origins.ids):
        for cutoff in reversed(cuts):
            lines = _reachable_lines(inputs.graph, times[i], cutoff * 60.0)
            if lines:
                area = shapely.union_all(
                    shapely.buffer(np.asarray(lines, dtype=object), buffer_m, quad_segs=4)
                )
                area = fill_small_holes(area, min_hole_m2)
            else:
                area = shapely.Polygon()
            rows.append(
                {
                    "id": str(origin_id),
                    "cutoff": cutoff,
                    "area_km2": area.area / 1e6,
                    "geometry": area,
                }
            )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=inputs.network.crs)
    result = _in_caller_crs(frame, origins)
    report = inputs.report("native")
    report.emit()
    return report.attach(result)


def _in_caller_crs(frame: gpd.GeoDataFrame, origins: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The result in the CRS the origins came in (r5py's rule)."""
    attrs = dict(frame.attrs)
    result = frame.to_crs(origins.crs if origins.crs is not None else WGS84)
    result.attrs.update(attrs)
    return result


def _r5_isochrones(
    network: NetworkLike,
    origins: gpd.GeoDataFrame,
    cuts: list[int],
    params: QueryParams,
    min_hole_m2: float,
) -> gpd.GeoDataFrame:

    refuse_wheelchair(params)
    points = PointSet.from_frame(origins, WGS84, name="origins")
    r5py = import_r5py()
    arguments = r5py_arguments(params)
    # Isochrones sets max_time to the largest cut-off itself (passing it is a TypeError)
    # and uses one percentile.
    del arguments["max_time"]
    arguments["percentiles"] = arguments["percentiles"][:1]
    arguments["transport_modes"] = [
        getattr(r5py.TransportMode, m) for m in arguments["transport_modes"]
    ]
    transport_network = R5Engine().transport_network(network)
    frames = []
    for origin_id, lon, lat in zip(points.ids, points.lon, points.lat, strict=True):
        origin = gpd.GeoDataFrame(
            {"id": [str(origin_id)]}, geometry=[shapely.Point(lon, lat)], crs=WGS84
        )
        result = r5py.Isochrones(transport_network, origin, isochrones=list(cuts), **arguments)
        frames.append(
            normalise_r5py_isochrones(
                result, cuts, origin_id=str(origin_id), min_hole_m2=min_hole_m2
            )
        )
    frame = (
        gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=WGS84)
        if frames
        else normalise_r5py_isochrones(
            gpd.GeoDataFrame({"travel_time": []}, geometry=[], crs=WGS84), []
        )
    )
    frame.attrs["engine"] = "r5"
    frame.attrs["unsnapped_origins"] = []
    return frame
