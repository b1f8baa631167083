"""A territory's transport network for the native engine: street graphs, timetables, transfers.

:class:`TransportNetwork` wraps a loaded territory (or builds one, cached, from an OSM
PBF and GTFS files, like ``r5py.TransportNetwork(osm_pbf, gtfs)``) and hands out, built
once and cached on disk next to the workspace layers, the street graph of each mode, the
timetable of each service day and the walking transfers between stops.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import osmium
import pandas as pd
import shapely
from pyproj import CRS

from parcours.accessibility.params import QueryParams
from parcours.accessibility.streets import (
    WALK_SPEED_KMH,
    SnappedPoints,
    StreetGraph,
    StreetMode,
    cached_street_graph,
)
from parcours.accessibility.transit import Timetable, Transfers, _active_services
from parcours.errors import InputError, OsmError
from parcours.geo.crs import WGS84, transformer
from parcours.i18n import tr
from parcours.territories import GTFS_TABLES, Territory, Workspace, create_and_load
from parcours.territories.workspace import default_home, file_digest

__all__ = ["MAX_EGRESS_WALK_M", "MAX_TRANSFER_WALK_M", "PointSet", "TransportNetwork"]

#: Longest walk between two stops for a transfer, metres (R5's
#: ``TransitLayer.TRANSFER_DISTANCE_LIMIT_METERS``).
MAX_TRANSFER_WALK_M: Final = 1000.0
#: Longest walk from the stop where one alights to the destination, metres (R5's
#: ``TransitLayer.WALK_DISTANCE_LIMIT_METERS``: its egress cost tables stop there).
MAX_EGRESS_WALK_M: Final = 2000.0
_TRANSFERS_VERSION: Final = "transfers-2"


@dataclass(frozen=True)
class PointSet:
    """Origins or destinations, projected to the network's CRS.

    Attributes
    ----------
    ids
        Identifiers as text, unique.
    x_m, y_m
        Coordinates in the network's metric CRS.
    lon, lat
        WGS84 coordinates (for outputs).
    """

    ids: npt.NDArray[np.object_]
    x_m: npt.NDArray[np.float64]
    y_m: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]

    def __len__(self) -> int:
        """Number of points."""
        return len(self.ids)

    @classmethod
    def from_frame(cls, frame: gpd.GeoDataFrame, crs: CRS, *, name: str) -> PointSet:
        """Points from a GeoDataFrame with an ``id`` column (any CRS; polygons: a point inside).

        Parameters
        ----------
        frame
            The points (r5py's convention: an ``id`` column and point geometries).
        crs
            The network's metric CRS.
        name
            How to name the input in messages (``origins``, ``destinations``).
        """
        if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
            raise InputError(
                tr("points sans système de coordonnées (CRS)", "points without a CRS"),
                field=name,
            )
        if "id" not in frame.columns:
            raise InputError(tr("colonne « id » absente", "column 'id' missing"), field=name)
        ids = frame["id"].astype(str).to_numpy(dtype=object)
        if len(set(ids)) != len(ids):
            raise InputError(tr("identifiants en double", "duplicate identifiers"), field=name)
        geoms = frame.geometry.to_numpy()
        if (shapely.is_empty(geoms) | shapely.is_missing(geoms)).any():
            raise InputError(tr("géométrie vide", "empty geometry"), field=name)
        points = np.where(shapely.get_type_id(geoms) == 0, geoms, shapely.point_on_surface(geoms))
        # cached transformers: a query of one person projects its points in microseconds
        x, y = shapely.get_x(points).astype(float), shapely.get_y(points).astype(float)
        x_m, y_m = transformer(frame.crs, crs).transform(x, y)
        lon, lat = transformer(frame.crs, WGS84).transform(x, y)
        return cls(
            ids=ids,
            x_m=np.asarray(x_m, dtype=float),
            y_m=np.asarray(y_m, dtype=float),
            lon=np.asarray(lon, dtype=float),
            lat=np.asarray(lat, dtype=float),
        )


#: Margin kept around a PBF's extent when a network is built from files, km: a way or a
#: stop lying on the extent's edge is inside.
FILES_MARGIN_KM: Final = 0.1


def _outward(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The box rounded outward to 7 decimals (OSM's precision), so its edges stay inside."""
    scale = 1e7
    return (
        math.floor(bbox[0] * scale) / scale,
        math.floor(bbox[1] * scale) / scale,
        math.ceil(bbox[2] * scale) / scale,
        math.ceil(bbox[3] * scale) / scale,
    )


def _pbf_bbox(path: Path) -> tuple[float, float, float, float]:
    """The WGS84 extent of a PBF: its header box, else the extent of its nodes."""
    try:
        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        box = reader.header().box()
        reader.close()
    except RuntimeError as exc:
        raise OsmError(
            tr(f"fichier OSM illisible : {exc}", f"unreadable OSM file: {exc}"), file=path
        ) from exc
    if box.valid():
        return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
    lons: list[float] = []
    lats: list[float] = []
    for obj in osmium.FileProcessor(str(path), osmium.osm.NODE):
        if isinstance(obj, osmium.osm.Node):
            lons.append(obj.location.lon)
            lats.append(obj.location.lat)
    if not lons:
        raise OsmError(tr("aucun nœud dans le fichier OSM", "no node in the OSM file"), file=path)
    return (min(lons), min(lats), max(lons), max(lats))


class TransportNetwork:
    """The routable network of a territory (native engine).

    Parameters
    ----------
    territory
        A loaded territory with at least a ``streets`` layer.
    """

    def __init__(self, territory: Territory) -> None:
        if not territory.has_layer("streets"):
            raise InputError(
                tr(
                    f"le territoire « {territory.name} » n'a pas de rues : chargez un "
                    f"fichier OSM (parcours territory load {territory.name} --osm X.osm.pbf)",
                    f"territory '{territory.name}' has no streets: load an OSM file "
                    f"(parcours territory load {territory.name} --osm X.osm.pbf)",
                ),
                field="territory",
            )
        self.territory = territory
        self.crs: CRS = territory.crs
        self._graphs: dict[tuple[Any, ...], StreetGraph] = {}
        self._timetables: dict[tuple[Any, ...], Timetable] = {}
        self._transfers: dict[tuple[dt.date, bool, float], Transfers] = {}
        # One network serves many queries from several threads (the web service holds
        # one per territory): every lazy cache is filled under this lock, once.
        self._lock = threading.RLock()
        self._gtfs_tables: dict[str, pd.DataFrame] | None = None
        self._snapped_stops: dict[tuple[int, int], SnappedPoints] = {}
        #: Facts worth telling the user (e.g. the files the network was built from).
        self.sources: dict[str, Any] = {}

    @classmethod
    def from_territory(cls, name: str, workspace: Workspace | None = None) -> TransportNetwork:
        """The network of a territory of the workspace."""
        return cls((workspace or Workspace()).open(name))

    @classmethod
    def from_files(
        cls,
        osm: Path,
        gtfs: Sequence[Path] = (),
        *,
        home: Path | None = None,
        progress: Any = None,
    ) -> TransportNetwork:
        """Build (once, then reuse) a network straight from an OSM PBF and GTFS files.

        The files go through the same readers as a territory load, into a hidden
        territory of ``$PARCOURS_HOME/.cache/networks`` keyed by the files' sha256; its
        perimeter is the PBF's extent (stops outside it are dropped).
        """
        paths = [Path(osm), *(Path(g) for g in gtfs)]
        for path in paths:
            if not path.exists():
                raise InputError(tr("fichier introuvable", "file not found"), file=path)
        digests = [file_digest(p)["sha256"] for p in paths]
        key = hashlib.sha256(json.dumps([digests, "files-2"]).encode()).hexdigest()[:16]
        workspace = Workspace((home or default_home()) / ".cache" / "networks")
        name = f"files-{key}"
        if not workspace.exists(name) or not workspace.open(name).has_layer("streets"):
            bbox = _outward(_pbf_bbox(paths[0]))
            sources: dict[str, list[Path]] = {"osm": [paths[0]]}
            if gtfs:
                sources["gtfs"] = paths[1:]
            # A failed load leaves no half-built network behind.
            create_and_load(
                workspace,
                name,
                bbox=",".join(f"{v:.7f}" for v in bbox),
                sources=sources,
                progress=progress,
                buffer_km=FILES_MARGIN_KM,
                replace=True,
            )
        network = cls(workspace.open(name))
        network.sources = {"osm": str(paths[0]), "gtfs": [str(p) for p in paths[1:]]}
        return network

    # ------------------------------------------------------------------ streets

    def street_graph(
        self,
        mode: StreetMode | str,
        *,
        speed_kmh: float | None = None,
        wheelchair: bool = False,
        max_traffic_stress: int | None = None,
        walk_speed_kmh: float = WALK_SPEED_KMH,
    ) -> StreetGraph:
        """The street graph of a mode, built once per options and cached on disk.

        ``max_traffic_stress`` and ``walk_speed_kmh`` (bike only): chains of higher
        traffic stress are walked (:mod:`parcours.accessibility.streets.stress`).
        """
        mode = StreetMode(mode)
        if mode is not StreetMode.BIKE or max_traffic_stress in (None, 4):
            max_traffic_stress, walk_speed_kmh = None, WALK_SPEED_KMH
        key = (mode.value, speed_kmh, wheelchair, max_traffic_stress, walk_speed_kmh)
        with self._lock:
            if key not in self._graphs:
                self._graphs[key] = cached_street_graph(
                    self.territory.path / "layers" / "streets.parquet",
                    self.territory.cache_dir(),
                    mode,
                    speed_kmh=speed_kmh,
                    wheelchair=wheelchair,
                    max_traffic_stress=max_traffic_stress,
                    walk_speed_kmh=walk_speed_kmh,
                )
            return self._graphs[key]

    # ------------------------------------------------------------------ transit

    @cached_property
    def has_transit(self) -> bool:
        """Whether GTFS feeds are loaded (with at least one stop time)."""
        return self.territory.has_layer("stop_times") and bool(
            self.territory.manifest["layers"].get("stop_times", {}).get("rows")
        )

    @property
    def _tables(self) -> dict[str, pd.DataFrame]:
        with self._lock:
            if self._gtfs_tables is None:
                self._gtfs_tables = self._read_tables()
            return self._gtfs_tables

    def _read_tables(self) -> dict[str, pd.DataFrame]:
        return {n: self.territory.layer(n) for n in GTFS_TABLES if self.territory.has_layer(n)}

    def require_transit(self) -> None:
        """Raise a clear error when no GTFS is loaded."""
        if not self.has_transit:
            raise InputError(
                tr(
                    "aucun réseau de transport en commun (GTFS) chargé : ajoutez-en un",
                    "no public transport (GTFS) loaded: add a feed",
                ),
                field="transport_modes",
            )

    def active_services(self, service_date: dt.date) -> frozenset[str]:
        """The GTFS service ids running on a day (two days with the same set share a timetable)."""
        if not self.has_transit:
            return frozenset()
        with self._lock:
            cache = self.__dict__.setdefault("_active_cache", {})
            if service_date not in cache:
                tables = self._tables
                cache[service_date] = frozenset(
                    _active_services(
                        tables.get("calendar"), tables.get("calendar_dates"), service_date
                    )
                )
            result: frozenset[str] = cache[service_date]
            return result

    @cached_property
    def service_period(self) -> tuple[dt.date, dt.date] | None:
        """First and last dates with service over all feeds (None when unknown)."""
        if not self.territory.has_layer("feeds"):
            return None
        feeds = self.territory.layer("feeds")
        starts = pd.to_datetime(feeds["start_date"]).dropna()
        ends = pd.to_datetime(feeds["end_date"]).dropna()
        if starts.empty or ends.empty:
            return None
        return starts.min().date(), ends.max().date()

    def check_service_day(self, service_date: dt.date) -> None:
        """Refuse a date outside the feeds' service period (walk-only times otherwise)."""
        period = self.service_period
        if period is None or period[0] <= service_date <= period[1]:
            return
        raise InputError(
            tr(
                f"le {service_date.isoformat()} est hors de la période des réseaux GTFS "
                f"({period[0].isoformat()} au {period[1].isoformat()}) : choisissez une date "
                "dans cette période",
                f"{service_date.isoformat()} is outside the GTFS feeds' service period "
                f"({period[0].isoformat()} to {period[1].isoformat()}): choose a date in it",
            ),
            field="departure",
        )

    def timetable(
        self,
        service_date: dt.date,
        *,
        wheelchair: bool = False,
        until_s: int | None = None,
        route_modes: frozenset[str] | None = None,
        frequency_draws: int | None = None,
        seed: int = 0,
    ) -> Timetable:
        """The timetable of a service day, with the trips past midnight around it.

        Parameters
        ----------
        service_date
            The service day; times are seconds after its midnight.
        wheelchair
            Leave out the stops and trips marked not accessible.
        until_s
            The latest time the search may reach, seconds after the service day's
            midnight; past 30:00 (06:00 the next day) the next day's trips are kept up to
            that time.
        route_modes
            Only the routes of these modes (the ``routes`` layer's ``mode``: ``tram``,
            ``bus``, ``rail``...); ``None``: every route. The stops stay the same, so the
            walking transfers are shared.
        frequency_draws, seed
            Headway-based trips by the half-headway rule (``None``) or by that many seeded
            Monte Carlo draws of their phases (R5's method).
        """
        self.require_transit()
        self.check_service_day(service_date)
        next_day = max(6 * 3600, int(until_s or 0) - 86400 + 1)
        modes = None if route_modes is None else frozenset(route_modes)
        key = (service_date, wheelchair, next_day, modes, frequency_draws, seed)
        with self._lock:
            if key not in self._timetables:
                self._timetables[key] = Timetable.build(
                    self._route_tables(modes),
                    service_date,
                    wheelchair=wheelchair,
                    next_day_until_s=next_day,
                    frequency_draws=frequency_draws,
                    seed=seed,
                )
            return self._timetables[key]

    def timetable_for(
        self, params: QueryParams, service_date: dt.date, *, until_s: int | None = None
    ) -> Timetable:
        """The timetable a query's parameters ask for (wheelchair, sub-modes, draws)."""
        return self.timetable(
            service_date,
            wheelchair=params.wheelchair,
            until_s=until_s,
            route_modes=params.route_modes,
            frequency_draws=params.frequency_draws,
            seed=params.seed,
        )

    def _route_tables(self, modes: frozenset[str] | None) -> dict[str, pd.DataFrame]:
        """The GTFS layers, keeping only the trips of routes of ``modes`` (all: ``None``)."""
        tables = self._tables
        if modes is None:
            return tables
        routes = tables["routes"]
        keep_routes = routes.loc[routes["mode"].isin(modes), "route_id"]
        trips = tables["trips"][tables["trips"]["route_id"].isin(keep_routes)]
        out = dict(tables)
        out["routes"] = routes[routes["route_id"].isin(keep_routes)]
        out["trips"] = trips
        out["stop_times"] = tables["stop_times"][
            tables["stop_times"]["trip_id"].isin(trips["trip_id"])
        ]
        if "frequencies" in tables:
            freq = tables["frequencies"]
            out["frequencies"] = freq[freq["trip_id"].isin(trips["trip_id"])]
        return out

    def service_warnings(self, timetable: Timetable) -> list[str]:
        """Warnings worth telling the user about a timetable (no trip on that day)."""
        if int((timetable.trip_day_offset_s == 0).sum()) == 0:
            day = timetable.service_date.isoformat()
            return [
                tr(
                    f"aucune course ne circule le {day} (jour sans service, ex. dimanche ou "
                    "férié) : seules la marche et les courses de nuit des jours voisins comptent",
                    f"no trip runs on {day} (a day without service, e.g. Sunday or a public "
                    "holiday): only walking and the night trips of the days around count",
                )
            ]
        return []

    def stop_points(
        self, timetable: Timetable
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Metric coordinates of the timetable's stops, in its stop index order."""
        stops = self._tables["stops"]
        position = pd.Series(np.arange(len(stops)), index=stops["stop_id"].to_numpy())
        rows = position.reindex(timetable.stop_ids).to_numpy()
        if np.isnan(rows.astype(float)).any():
            missing = timetable.stop_ids[np.isnan(rows.astype(float))][0]
            raise InputError(f"stop {missing} of the timetable is not in the stops layer")
        geoms = stops.geometry.to_numpy()[rows.astype(int)]
        return shapely.get_x(geoms).astype(float), shapely.get_y(geoms).astype(float)

    def snapped_stops(self, timetable: Timetable, graph: StreetGraph) -> SnappedPoints:
        """The timetable's stops snapped on a (walk) graph, once per timetable and graph."""
        key = (id(timetable), id(graph))  # both are kept alive by this network's caches
        with self._lock:
            if key not in self._snapped_stops:
                x, y = self.stop_points(timetable)
                self._snapped_stops[key] = graph.snap(x, y)
            return self._snapped_stops[key]

    def transfers(
        self,
        service_date: dt.date,
        *,
        speed_walking_kmh: float = WALK_SPEED_KMH,
        wheelchair: bool = False,
    ) -> Transfers:
        """Walking transfers between the stops of a service day's timetable.

        Walks up to :data:`MAX_TRANSFER_WALK_M` over the walk graph, then ``transfers.txt``
        (minimum times override, type 3 forbids). Cached on disk per timetable stops,
        streets, speed and wheelchair option.
        """
        key = (service_date, wheelchair, speed_walking_kmh)
        with self._lock:
            if key not in self._transfers:
                self._transfers[key] = self._build_transfers(
                    service_date, speed_walking_kmh, wheelchair
                )
            return self._transfers[key]

    def _build_transfers(
        self, service_date: dt.date, speed_walking_kmh: float, wheelchair: bool
    ) -> Transfers:
        tt = self.timetable(service_date, wheelchair=wheelchair)
        graph = self.street_graph(
            StreetMode.WALK, speed_kmh=speed_walking_kmh, wheelchair=wheelchair
        )
        cache_key = hashlib.sha256(
            json.dumps(
                {
                    "streets": file_digest(self.territory.path / "layers" / "streets.parquet")[
                        "sha256"
                    ],
                    "stops": hashlib.sha256("\n".join(tt.stop_ids).encode()).hexdigest(),
                    "speed": speed_walking_kmh,
                    "wheelchair": wheelchair,
                    "version": _TRANSFERS_VERSION,
                }
            ).encode()
        ).hexdigest()[:24]
        path = self.territory.cache_dir() / f"transfers-{cache_key}.npz"
        if path.exists():
            data = np.load(path)
            from_idx, to_idx, walk_s = data["from_idx"], data["to_idx"], data["walk_s"]
        else:
            snapped = self.snapped_stops(tt, graph)
            limit_s = MAX_TRANSFER_WALK_M / (speed_walking_kmh / 3.6)
            times = graph.travel_times_s(snapped, snapped, max_time_s=limit_s)
            from_idx, to_idx = np.nonzero(times <= limit_s)
            walk_s = np.ceil(times[from_idx, to_idx])  # whole seconds, rounded up (legs.py)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, from_idx=from_idx, to_idx=to_idx, walk_s=walk_s)
            tmp.replace(path)
        return Transfers.build(
            tt.n_stops,
            from_idx,
            to_idx,
            walk_s,
            gtfs_transfers=self._tables.get("transfers"),
            stop_index=tt.stop_index,
        )
