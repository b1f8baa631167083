"""The output schemas of the accessibility functions, and the rules they share.

One place for what both engines must give back identically:

- **Minutes.** A travel time is the exact number of seconds of the trip, turned into
  *whole minutes rounded down* (r5py's rule: 4 min 59 s is 4 min); a trip of
  ``max_time`` or more is unreachable: NaN in a frame, null in a file. The same rule
  gives the ``travel_time`` of an itinerary (arrival minus departure, floored).
- **Time to set aside.** For an arrive-by question the departure is a whole minute (the
  latest minute that still arrives in time) and the time to set aside is the deadline
  minus that minute: always a whole number of minutes, waiting at the destination
  included.
- **The diagonal.** A point to itself is 0 min, but only when it is *the same point*: the
  same id and the same place. Origin "1" and destination "1" a kilometre apart are two
  points whose times are computed like any other.
- **The matrix frame.** ``from_id, to_id`` (text) then ``travel_time`` for one percentile
  or ``travel_time_pNN`` per percentile (r5py's names), origin-major order.
- **Legs.** An itinerary is one row per leg with :data:`LEG_COLUMNS`, in the CRS of the
  caller's origin (WGS84 for a plain ``(lon, lat)``).
- **Warnings.** Facts the user must know (points off the network, a day without
  service, stops of unknown wheelchair access) are :class:`AccessibilityWarning`
  warnings (``warnings.warn``: catch them with ``warnings.catch_warnings``) and are also
  kept as a :class:`QueryReport`, as a plain dictionary, in the frame's
  ``attrs["report"]`` (plain so that ``to_parquet`` can store it). ``attrs`` is lost by
  many pandas operations: the warnings are the part to rely on.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from parcours.accessibility.network import PointSet
from parcours.geo.crs import WGS84

__all__ = [
    "LEG_COLUMNS",
    "AccessibilityWarning",
    "QueryReport",
    "TimeBlock",
    "TravelTimes",
    "attach_durations",
    "empty_legs",
    "legs_frame",
    "matrix_frame",
    "percentile_columns",
    "same_point_pairs",
    "to_minutes",
    "whole_minutes",
]

FloatArray = npt.NDArray[np.float64]


class AccessibilityWarning(UserWarning):
    """A fact about a query's result the user must know (it is still a valid result)."""


@dataclass
class QueryReport:
    """What a query found worth telling besides its numbers.

    Attributes
    ----------
    engine
        ``"native"`` or ``"r5"``.
    warnings
        Messages, in the order found, without repeats.
    unsnapped_origins, unsnapped_destinations
        Ids of the points farther than the snapping distance from any street (their
        times are missing).
    wheelchair_unknown_stops, wheelchair_unknown_trips
        With ``wheelchair``: stops and trips whose accessibility the feed does not say
        (counted as accessible, as R5 would).
    """

    engine: str = "native"
    warnings: list[str] = field(default_factory=list)
    unsnapped_origins: list[str] = field(default_factory=list)
    unsnapped_destinations: list[str] = field(default_factory=list)
    wheelchair_unknown_stops: int | None = None
    wheelchair_unknown_trips: int | None = None

    def add(self, message: Any) -> None:
        """Record a warning once."""
        text = str(message)
        if text not in self.warnings:
            self.warnings.append(text)

    def emit(self, stacklevel: int = 3) -> None:
        """Issue each warning as an :class:`AccessibilityWarning`."""
        for message in self.warnings:
            warnings.warn(message, AccessibilityWarning, stacklevel=stacklevel)

    def attach(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Keep the report in ``frame.attrs`` (and the flat keys older code reads)."""
        frame.attrs["engine"] = self.engine
        frame.attrs["report"] = asdict(self)  # plain data: attrs go into Parquet metadata
        frame.attrs["warnings"] = list(self.warnings)
        frame.attrs["unsnapped_origins"] = list(self.unsnapped_origins)
        frame.attrs["unsnapped_destinations"] = list(self.unsnapped_destinations)
        if self.wheelchair_unknown_stops is not None:
            frame.attrs["wheelchair_unknown_stops"] = self.wheelchair_unknown_stops
            frame.attrs["wheelchair_unknown_trips"] = self.wheelchair_unknown_trips
        return frame


@dataclass(frozen=True)
class TimeBlock:
    """Travel times from a block of consecutive origins.

    Attributes
    ----------
    first
        Index of the block's first origin.
    seconds
        Shape ``(n_percentiles, n_block_origins, n_destinations)``: travel seconds (for
        :meth:`Engine.latest_departures`, seconds to set aside), ``inf`` when unreachable
        within ``max_time``. A point to itself is not set to 0 here.
    trip_seconds
        For :meth:`Engine.latest_departures`: the seconds of the trip itself (arrival
        minus the latest departure minute), same shape.
    """

    first: int
    seconds: FloatArray
    trip_seconds: FloatArray | None = None

    @property
    def last(self) -> int:
        """Index after the block's last origin."""
        return self.first + self.seconds.shape[1]


@dataclass
class TravelTimes:
    """The answer of an engine: the points, what to tell the user, the blocks of times.

    Attributes
    ----------
    origins, destinations
        The points in the order of the blocks' axes.
    report
        Warnings and unsnapped points; complete once the blocks are consumed.
    blocks
        The blocks, in origin order, covering every origin once.
    """

    origins: PointSet
    destinations: PointSet
    report: QueryReport
    blocks: Iterator[TimeBlock]

    def dense(self) -> FloatArray:
        """All blocks as one ``(n_percentiles, n_origins, n_destinations)`` array."""
        parts = [block.seconds for block in self.blocks]
        if not parts:
            return np.zeros((1, 0, len(self.destinations)))
        return np.concatenate(parts, axis=1)


def to_minutes(seconds: npt.ArrayLike, max_time: dt.timedelta) -> FloatArray:
    """Whole minutes rounded down; NaN when unreachable or at ``max_time`` or beyond."""
    minutes = np.floor(np.asarray(seconds, dtype=np.float64) / 60.0)
    max_min = max_time.total_seconds() / 60.0
    return np.where(np.isfinite(minutes) & (minutes < max_min), minutes, np.nan)


def same_point_pairs(
    origins: PointSet, destinations: PointSet
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Indexes ``(i, j)`` of the pairs that are the same point: same id and same place."""
    position = {str(v): i for i, v in enumerate(origins.ids)}
    rows: list[int] = []
    cols: list[int] = []
    for j, value in enumerate(destinations.ids):
        i = position.get(str(value))
        if (
            i is not None
            and abs(origins.x_m[i] - destinations.x_m[j]) < 1e-6
            and abs(origins.y_m[i] - destinations.y_m[j]) < 1e-6
        ):
            rows.append(i)
            cols.append(j)
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)


def percentile_columns(percentiles: Sequence[int], stem: str = "travel_time") -> list[str]:
    """r5py's column names: ``travel_time`` for one percentile, ``travel_time_pNN`` else."""
    if len(percentiles) == 1:
        return [stem]
    return [f"{stem}_p{int(p)}" for p in percentiles]


def matrix_frame(
    origins: PointSet,
    destinations: PointSet,
    columns: Mapping[str, npt.ArrayLike],
    *,
    diagonal: float | None = 0.0,
) -> pd.DataFrame:
    """The long ``from_id, to_id, <columns>`` frame of ``(n_origins, n_destinations)`` arrays.

    Parameters
    ----------
    origins, destinations
        The points, in the order of the arrays' axes.
    columns
        Name -> array of shape ``(n_origins, n_destinations)``.
    diagonal
        The value of a point to itself (:func:`same_point_pairs`); ``None`` leaves it.
    """
    n_o, n_d = len(origins), len(destinations)
    o_index = np.repeat(np.arange(n_o), n_d)
    d_index = np.tile(np.arange(n_d), n_o)
    frame = pd.DataFrame(
        {
            "from_id": pd.Series(origins.ids.astype(str)).take(o_index).reset_index(drop=True),
            "to_id": pd.Series(destinations.ids.astype(str)).take(d_index).reset_index(drop=True),
        }
    )
    rows, cols = same_point_pairs(origins, destinations)
    for name, values in columns.items():
        grid = np.array(values, dtype=np.float64).reshape(n_o, n_d)
        if diagonal is not None:
            grid[rows, cols] = diagonal
        frame[name] = grid.reshape(-1)
    return frame


#: The columns of an itinerary, one row per leg.
LEG_COLUMNS: list[str] = [
    "leg",
    "mode",
    "departure",
    "arrival",
    "duration_min",
    "wait_min",
    "distance_m",
    "route_short_name",
    "route_long_name",
    "headsign",
    "from_stop",
    "from_name",
    "to_stop",
    "to_name",
    "trip_id",
    "n_stops",
    "geometry",
]


def empty_legs(reason: str, crs: Any = WGS84) -> gpd.GeoDataFrame:
    """An itinerary with no leg; ``attrs["reason"]`` says why."""
    frame = gpd.GeoDataFrame(
        {c: [] for c in LEG_COLUMNS if c != "geometry"}, geometry=gpd.GeoSeries([], crs=crs)
    )
    frame.attrs["reason"] = reason
    return frame


def whole_minutes(delta: dt.timedelta) -> int:
    """Whole minutes of a duration, rounded down (the project's one minute rule)."""
    return int(delta.total_seconds() // 60)


def attach_durations(
    frame: gpd.GeoDataFrame,
    departure: dt.datetime,
    arrival: dt.datetime,
    deadline: dt.datetime | None,
) -> gpd.GeoDataFrame:
    """Attach an itinerary's durations to ``frame.attrs`` (the rules of this module).

    ``departure``, ``arrival`` (exact datetimes), ``travel_time`` (whole minutes rounded
    down); with a ``deadline``: ``arrive_by``, ``wait_at_destination`` (timedelta) and
    ``time_to_set_aside`` (whole minutes: :func:`latest_departure_matrix`'s
    ``travel_time``).
    """
    frame.attrs["departure"] = departure
    frame.attrs["arrival"] = arrival
    frame.attrs["travel_time"] = whole_minutes(arrival - departure)
    if deadline is not None:
        frame.attrs["arrive_by"] = deadline
        frame.attrs["wait_at_destination"] = deadline - arrival
        frame.attrs["time_to_set_aside"] = whole_minutes(deadline - departure)
    return frame


def legs_frame(
    rows: list[dict[str, Any]], crs: Any, *, measure: bool = True, to_crs: Any = WGS84
) -> gpd.GeoDataFrame:
    """The legs in the itinerary schema, in ``to_crs``; ``measure``: metres from the geometries.

    Parameters
    ----------
    rows
        One mapping per leg (missing columns are left empty).
    crs
        The CRS of the rows' geometries (metric when ``measure``).
    measure
        Compute ``distance_m`` from the geometries.
    to_crs
        The CRS of the result: the caller's (``None``: ``crs``).
    """
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    if measure:
        frame["distance_m"] = frame.geometry.length.round(0)
    if to_crs is not None:
        frame = frame.to_crs(to_crs)
    for column in LEG_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    return frame[LEG_COLUMNS]
