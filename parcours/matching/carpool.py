"""Carpool matching: a person without a car, a driver going the same way at the shift's hours.

A driver offer (:class:`CarpoolOffer`) is a regular trip of a volunteer or a commuter: from
home to their own destination (arriving by ``arrive_by``) and back (leaving at
``leave_at``), some days of the week. A request is a person's commute to a shift: to the
workplace by the shift's start (``aller``) or home after its end (``retour``).
:class:`CarpoolIndex` keeps the offers in a live spatial index (``rtree``), updated in place
as offers come and go, and answers many requests at once (:meth:`CarpoolIndex.match`).

The rules, exactly
------------------
Notation, for a request: ``Y`` the person's home, ``X`` the destination (the workplace),
``T`` the clock time (shift start for ``aller``, shift end for ``retour``), ``W`` =
:data:`PASSENGER_WINDOW_MIN` (45 min). For an offer: ``H`` the driver's home, ``G`` the
driver's destination, ``f`` = ``flexibility_min``. ``t(a -> b)`` is the car time of the
native engine (:func:`parcours.accessibility.pair_times`, exact seconds) between the
points' *road positions*, where the car graph snaps them: the engine walks from a point to
its street (R5's rule, at 3.6 km/h), which would charge every stop of a shared trip two
walks; a car stops on the street at the door, so those walks are left out. The meeting point
``P`` near the person's home is the home itself (``pickup = "domicile"``, no walk) or a
carpool area of the ``areas`` layer that the person reaches on foot within
``max_walk_min`` (``pickup = "aire"``; walking time by the engine, home -> area for
``aller``, area -> home for ``retour``).

An offer fits a request when

1. its ``seats`` > 0 and the driver's day (below) is in its ``days``;
2. ``aller`` (the offer has an ``arrive_by``): the driver goes ``H -> P -> X -> G``; the
   detour ``t(H->P) + t(P->X) + t(X->G) - t(H->G)`` is at most ``max_detour_min``; the
   car reaches ``X`` at a time ``a_X`` in ``[T - W, T]`` and ``G`` at ``a_X + t(X->G)``
   in ``[arrive_by - f, arrive_by + f]``. Of the feasible ``a_X``, the latest is taken
   (the person waits least before the shift): ``a_X = min(T, arrive_by + f - t(X->G))``;
3. ``retour`` (the offer has a ``leave_at``): the driver goes ``G -> X -> P -> H``; the
   detour ``t(G->X) + t(X->P) + t(P->H) - t(G->H)`` is at most ``max_detour_min``; the
   car leaves ``X`` at a time ``d_X`` in ``[T, T + W]``, having left ``G`` at
   ``d_X - t(G->X)`` in ``[leave_at - f, leave_at + f]``. The earliest feasible ``d_X``
   is taken: ``d_X = max(T, leave_at - f + t(G->X))``.

Clock times are compared across midnight: ``arrive_by`` / ``leave_at`` is read as the
occurrence nearest to ``T`` (within 12 h), and the driver's day is the request's day
shifted when that occurrence falls on the previous or next day (a shift starting at 00:10
with a driver arriving by 23:55 needs the driver's previous day). For one (request, offer)
pair the meeting point of smallest detour, then shortest walk, is kept; a request's
matches are sorted by detour, walk, wait (each to the millisecond), then offer id.
Matching lists options, it does not book seats: two requests may be offered the same seat.

Pruning, and why it loses nothing
---------------------------------
Car times are only computed for the offers the index returns, and the index is exact (the
brute-force comparison of the tests checks it). Each offer is indexed, once per direction,
by the bounding box of the ellipse of foci ``H`` and ``G`` (road positions) whose points
``Q`` satisfy ``|HQ| + |QG| <= v * (t(H->G) + max_detour)`` (``t(G->H)`` for the way
back), with ``v`` = :data:`MAX_CAR_SPEED_KMH` (130 km/h, the French motorway limit and the
fastest default speed of the car profile; a ``maxspeed`` tag above it would break the
bound). A car covers at most ``v`` times its driving time in straight line, so a trip
within the budget keeps both ``P`` and ``X`` inside the ellipse
(``|HP| + |PG| <= |HP| + |PX| + |XG| <= v * (t1 + t2 + t3)``, likewise for ``X``). A
request queries the index with the road position of its destination, and with the box of
the road positions of its home and of the areas within the straight-line distance walked
in ``max_walk_min`` at 3.6 km/h (no walk is faster); it keeps the offers both queries
return. The ellipse is enlarged by :data:`_SAFETY_FACTOR` and :data:`_SAFETY_M` (the
projection's scale error). A box grown by ``v * max_detour / 2`` around the straight
segment ``H-G`` would be tighter, but it misses passengers on a road that bends away from
the straight line and assumes the car drives at ``v`` from ``H`` to ``G``: it is not used.
Two more exact tests on the clock drop an offer before any car time is computed: ``aller``
needs ``-W - f <= arrive_by - T <= f + t(H->G) + max_detour``, ``retour`` needs
``-f - t(G->H) - max_detour <= leave_at - T <= W + f``.

All the car times of one :meth:`~CarpoolIndex.match` call are asked in one
:func:`~parcours.accessibility.pair_times` call (one Dijkstra per distinct origin point,
the points deduplicated), and the walks to the areas in one more.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import rtree
import shapely

from parcours.accessibility import TransportNetwork, pair_times
from parcours.accessibility.streets import MAX_SNAP_M, WALK_SPEED_KMH, StreetMode
from parcours.errors import InputError, ResultNotFoundError
from parcours.geo.crs import WGS84, transformer
from parcours.i18n import tr

__all__ = [
    "MATCH_COLUMNS",
    "MAX_CAR_SPEED_KMH",
    "PASSENGER_WINDOW_MIN",
    "CarpoolIndex",
    "CarpoolOffer",
    "OfferNotFoundError",
    "carpool_index_of",
]

#: Fastest car speed assumed by the pruning bound, km/h (French motorway limit; the car
#: profile's fastest default speed).
MAX_CAR_SPEED_KMH: Final = 130.0
#: How long before the shift start the car may reach the workplace (``aller``), or after
#: the shift end it may leave it (``retour``), minutes.
PASSENGER_WINDOW_MIN: Final = 45
#: The columns of :meth:`CarpoolIndex.match`'s answer.
MATCH_COLUMNS: tuple[str, ...] = (
    "request_id",
    "offer_id",
    "direction",
    "pickup",
    "area_id",
    "area_name",
    "walk_min",
    "detour_min",
    "driver_departure",
    "pickup_time",
    "driver_arrival",
    "wait_min",
)
_REQUEST_COLUMNS = (
    "request_id",
    "home_lon",
    "home_lat",
    "dest_lon",
    "dest_lat",
    "day",
    "direction",
    "time",
)
_DIRECTIONS: tuple[Literal["aller", "retour"], ...] = ("aller", "retour")
#: Scale error of the metric projection and rounding, covered by the pruning boxes.
_SAFETY_FACTOR: Final = 1.01
_SAFETY_M: Final = 100.0
#: Street car and walk times do not depend on the clock: any date serves the engine.
_ANY_TIME: Final = dt.datetime(2026, 1, 5, 8, 0)
_DAY_S: Final = 86_400
_EPS_S: Final = 1e-6

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class OfferNotFoundError(ResultNotFoundError, KeyError):
    """No offer of the index has this identifier."""

    code: ClassVar[str] = "carpool.offer_not_found"


@dataclass(frozen=True)
class CarpoolOffer:
    """A driver's regular trip, offered to carpool.

    Attributes
    ----------
    id
        Unique identifier of the offer.
    home
        The driver's start, WGS84 ``(lon, lat)``.
    destination
        The driver's own destination, WGS84 ``(lon, lat)``.
    days
        Days of the week the trip is made, 0 = Monday .. 6 = Sunday.
    arrive_by
        The driver's arrival at their destination (the trip there); ``None``: no trip there.
    leave_at
        The driver's departure from their destination (the trip back); ``None``: no trip back.
    flexibility_min
        How much earlier or later the driver can arrive (``arrive_by``) or leave
        (``leave_at``), minutes.
    seats
        Free seats; an offer with 0 seats never matches.
    max_detour_min
        The longest extra car time the driver accepts, minutes.
    """

    id: str
    home: tuple[float, float]
    destination: tuple[float, float]
    days: frozenset[int]
    arrive_by: dt.time | None
    leave_at: dt.time | None
    flexibility_min: int = 15
    seats: int = 1
    max_detour_min: float = 10.0

    def __post_init__(self) -> None:
        """Check the values (an :class:`~parcours.errors.InputError` names the field)."""
        params = {"offer_id": self.id}

        def refuse(fr: str, en: str, field: str) -> InputError:
            return InputError(
                tr(f"offre « {self.id} » : {fr}", f"offer '{self.id}': {en}"),
                field=field,
                params=params,
            )

        if not isinstance(self.id, str) or not self.id:
            raise refuse("identifiant vide", "empty identifier", "id")
        for name in ("home", "destination"):
            lon, lat = getattr(self, name)
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise refuse(
                    "longitude, latitude WGS84 attendues",
                    "WGS84 longitude, latitude expected",
                    name,
                )
        object.__setattr__(self, "days", frozenset(int(d) for d in self.days))
        if not self.days or not self.days <= set(range(7)):
            raise refuse(
                "jours de 0 (lundi) à 6 (dimanche) attendus",
                "days from 0 (Monday) to 6 (Sunday) expected",
                "days",
            )
        if self.arrive_by is None and self.leave_at is None:
            raise refuse(
                "donnez une heure d'arrivée (arrive_by) ou de départ (leave_at)",
                "give an arrival (arrive_by) or a departure time (leave_at)",
                "arrive_by",
            )
        for name in ("arrive_by", "leave_at"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dt.time):
                raise refuse("heure (datetime.time) attendue", "datetime.time expected", name)
        for name in ("flexibility_min", "seats", "max_detour_min"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise refuse("nombre positif ou nul attendu", "non-negative number expected", name)


@dataclass
class _Entry:
    """An indexed offer: its metric coordinates, direct car times and index boxes."""

    offer: CarpoolOffer
    key: int
    home_m: tuple[float, float]
    dest_m: tuple[float, float]
    direct_s: dict[str, float]  # "aller": t(H->G), "retour": t(G->H)
    boxes: dict[str, tuple[float, float, float, float]]


def _seconds(value: dt.time) -> float:
    return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6


def _clock(seconds: float) -> dt.time:
    """The clock time of ``seconds`` from midnight (wrapped to one day), whole seconds."""
    s = math.floor(seconds + 0.5) % _DAY_S
    return dt.time(s // 3600, s % 3600 // 60, s % 60)


def _ellipse_box(
    a: tuple[float, float], b: tuple[float, float], sum_m: float
) -> tuple[float, float, float, float]:
    """Bounding box of the points ``q`` with ``|aq| + |qb| <= sum_m`` (an ellipse)."""
    cx, cy = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    focal = math.hypot(b[0] - a[0], b[1] - a[1]) / 2
    semi_major = max(sum_m / 2, focal)
    semi_minor = math.sqrt(max(semi_major**2 - focal**2, 0.0))
    theta = math.atan2(b[1] - a[1], b[0] - a[0])
    c, s = math.cos(theta), math.sin(theta)
    half_x = math.hypot(semi_major * c, semi_minor * s)
    half_y = math.hypot(semi_major * s, semi_minor * c)
    return (cx - half_x, cy - half_y, cx + half_x, cy + half_y)


class CarpoolIndex:
    """A live index of carpool offers, matched against many requests at once.

    Parameters
    ----------
    network
        The territory's :class:`~parcours.accessibility.TransportNetwork` (car and walk
        times by the native engine).
    offers
        The initial offers (their direct car times are computed in one engine call).
    areas
        Carpool areas where a passenger may meet the driver: the territory's ``carpool``
        layer (``id_lieu``, ``nom_lieu``, point geometries, any declared CRS); ``None``:
        pickups at home only.

    Raises
    ------
    InputError
        An offer whose home and destination are not connected by car, a duplicated id,
        areas without a CRS or without ``id_lieu`` / ``nom_lieu``.

    Notes
    -----
    The rules and the pruning are stated in the module docstring.
    """

    def __init__(
        self,
        network: TransportNetwork,
        offers: Iterable[CarpoolOffer] = (),
        *,
        areas: gpd.GeoDataFrame | None = None,
    ) -> None:
        self._network = network
        self._crs = network.crs
        self._to_metric = transformer(WGS84, self._crs)
        self._entries: dict[str, _Entry] = {}
        self._by_key: dict[int, str] = {}
        self._next_key = 0
        self._trees: dict[str, rtree.index.Index] = {d: rtree.index.Index() for d in _DIRECTIONS}
        self._car_graph = network.street_graph(StreetMode.CAR)
        self._areas = self._prepare_areas(areas)
        areas_xy = np.column_stack(
            [self._areas.geometry.x.to_numpy(), self._areas.geometry.y.to_numpy()]
        ).reshape(-1, 2)
        self._areas_xy: FloatArray = areas_xy
        self._areas_road: FloatArray = self._on_road(areas_xy)
        self._areas_tree = shapely.STRtree(self._areas.geometry.to_numpy())
        self._insert(list(offers))

    # ------------------------------------------------------------------ offers

    def __len__(self) -> int:
        """Number of offers in the index."""
        return len(self._entries)

    def __contains__(self, offer_id: object) -> bool:
        """Whether an offer of this id is in the index."""
        return offer_id in self._entries

    @property
    def offers(self) -> list[CarpoolOffer]:
        """The offers in the index, in insertion order."""
        return [entry.offer for entry in self._entries.values()]

    def add(self, offer: CarpoolOffer) -> None:
        """Add an offer in place (one engine call for its direct car times).

        Parameters
        ----------
        offer
            The new offer; its id must not be in the index.

        Raises
        ------
        InputError
            A duplicated id, or a home and destination not connected by car.
        """
        self._insert([offer])

    def remove(self, offer_id: str) -> None:
        """Remove an offer in place.

        Parameters
        ----------
        offer_id
            The id of an offer of the index.

        Raises
        ------
        OfferNotFoundError
            No offer has this id (an :class:`~parcours.errors.InputError` and a ``KeyError``).
        """
        entry = self._entries.pop(offer_id, None)
        if entry is None:
            raise OfferNotFoundError(
                tr(f"aucune offre « {offer_id} »", f"no offer '{offer_id}'"),
                field="offer_id",
                params={"offer_id": offer_id},
            )
        for way, box in entry.boxes.items():
            self._trees[way].delete(entry.key, box)
        del self._by_key[entry.key]

    def _insert(self, offers: list[CarpoolOffer]) -> None:
        """Validate, time and index offers; nothing is inserted if one is refused."""
        seen = set(self._entries)
        for offer in offers:
            if not isinstance(offer, CarpoolOffer):
                raise InputError(
                    tr("une CarpoolOffer est attendue", "a CarpoolOffer is expected"),
                    field="offers",
                )
            if offer.id in seen:
                raise InputError(
                    tr(f"offre « {offer.id} » en double", f"duplicate offer '{offer.id}'"),
                    field="id",
                    code="carpool.duplicate_offer",
                    params={"offer_id": offer.id},
                )
            seen.add(offer.id)
        if not offers:
            return
        lonlat = np.array([(*o.home, *o.destination) for o in offers], dtype=float)
        hx, hy = self._to_metric.transform(lonlat[:, 0], lonlat[:, 1])
        gx, gy = self._to_metric.transform(lonlat[:, 2], lonlat[:, 3])
        xy = self._on_road(np.concatenate([np.column_stack([hx, hy]), np.column_stack([gx, gy])]))
        n = len(offers)
        there = np.arange(n)
        pairs = np.concatenate(
            [np.column_stack([there, there + n]), np.column_stack([there + n, there])]
        )
        times = self._car_times(xy, pairs)
        entries: list[_Entry] = []
        for i, offer in enumerate(offers):
            direct = {"aller": float(times[i]), "retour": float(times[n + i])}
            wanted = {"aller": offer.arrive_by, "retour": offer.leave_at}
            home_m = (float(xy[i, 0]), float(xy[i, 1]))
            dest_m = (float(xy[n + i, 0]), float(xy[n + i, 1]))
            boxes: dict[str, tuple[float, float, float, float]] = {}
            for direction in _DIRECTIONS:
                if wanted[direction] is None:
                    continue
                if not math.isfinite(direct[direction]):
                    raise InputError(
                        tr(
                            f"offre « {offer.id} » : le domicile et la destination du "
                            "conducteur ne sont pas reliés en voiture (hors du réseau ?)",
                            f"offer '{offer.id}': the driver's home and destination are not "
                            "connected by car (off the network?)",
                        ),
                        field="home",
                        code="carpool.unreachable",
                        params={"offer_id": offer.id},
                    )
                budget_s = direct[direction] + offer.max_detour_min * 60
                sum_m = MAX_CAR_SPEED_KMH / 3.6 * budget_s * _SAFETY_FACTOR + _SAFETY_M
                boxes[direction] = _ellipse_box(home_m, dest_m, sum_m)
            entries.append(_Entry(offer, -1, home_m, dest_m, direct, boxes))
        for entry in entries:
            entry.key = self._next_key
            self._next_key += 1
            for way, box in entry.boxes.items():
                self._trees[way].insert(entry.key, box)
            self._entries[entry.offer.id] = entry
            self._by_key[entry.key] = entry.offer.id

    # ------------------------------------------------------------------ areas

    def _prepare_areas(self, areas: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
        empty = gpd.GeoDataFrame(
            {"id_lieu": pd.Series([], dtype=str), "nom_lieu": pd.Series([], dtype=str)},
            geometry=gpd.GeoSeries([], crs=self._crs),
        )
        if areas is None:
            return empty
        if not isinstance(areas, gpd.GeoDataFrame) or areas.crs is None:
            raise InputError(
                tr("aires de covoiturage sans CRS", "carpool areas without a CRS"),
                field="areas",
            )
        missing = [c for c in ("id_lieu", "nom_lieu") if c not in areas.columns]
        if missing:
            raise InputError(
                tr(
                    f"colonnes absentes des aires : {', '.join(missing)} (couche « carpool »)",
                    f"columns missing from the areas: {', '.join(missing)} ('carpool' layer)",
                ),
                field="areas",
            )
        points = areas.to_crs(self._crs)
        geoms = points.geometry.to_numpy().copy()
        other = shapely.get_type_id(geoms) != 0
        geoms[other] = shapely.point_on_surface(geoms[other])
        return gpd.GeoDataFrame(
            {
                "id_lieu": points["id_lieu"].astype(str).to_numpy(),
                "nom_lieu": points["nom_lieu"].astype(str).to_numpy(),
            },
            geometry=gpd.GeoSeries(geoms, crs=self._crs),
        )

    # ------------------------------------------------------------------ engine

    def _times(self, xy: FloatArray, pairs: IntArray, mode: str, max_time_s: float) -> FloatArray:
        """Engine seconds of ``pairs`` (rows of positions in ``xy``), NaN when unreachable.

        Identical points are merged so that each distinct origin costs one search.
        """
        out = np.full(len(pairs), np.nan)
        if not len(pairs):
            return out
        finite = np.asarray(np.isfinite(xy).all(axis=1), dtype=bool)
        valid = finite[pairs[:, 0]] & finite[pairs[:, 1]]
        if not valid.any():
            return out
        used = np.unique(pairs[valid])
        unique_xy, inverse = np.unique(xy[used], axis=0, return_inverse=True)
        position = np.full(len(xy), -1, dtype=np.int64)
        position[used] = inverse.reshape(-1)
        o, d = position[pairs[valid, 0]], position[pairs[valid, 1]]
        keys = o * len(unique_xy) + d
        unique_keys, key_inverse = np.unique(keys, return_inverse=True)
        points = gpd.GeoDataFrame(
            {"id": np.arange(len(unique_xy)).astype(str)},
            geometry=gpd.points_from_xy(unique_xy[:, 0], unique_xy[:, 1]),
            crs=self._crs,
        )
        table = pd.DataFrame(
            {"origin": unique_keys // len(unique_xy), "destination": unique_keys % len(unique_xy)}
        )
        result = pair_times(
            self._network,
            points,
            points,
            table,
            transport_modes=mode,
            departure=_ANY_TIME,
            max_time=dt.timedelta(seconds=max_time_s),
            speed_walking=WALK_SPEED_KMH,
        )
        seconds = result["duration_s"].to_numpy(dtype=float)
        out[valid] = seconds[key_inverse.reshape(-1)]
        return out

    def _car_times(
        self, xy: FloatArray, pairs: IntArray, max_time_s: float = 4 * 3600
    ) -> FloatArray:
        """Car seconds between road positions (points from :meth:`_on_road`).

        NaN above ``max_time_s`` (seconds) or when unreachable.
        """
        return self._times(xy, pairs, "car", max_time_s)

    def _on_road(self, xy: FloatArray) -> FloatArray:
        """The points moved to where the car graph snaps them (NaN: no street near).

        The engine walks from a point to its street at 3.6 km/h, as R5 does for the car;
        a car picking someone up stops on the street, so the times of the legs are taken
        between road positions: an intermediate stop then costs no walking legs.
        """
        if not len(xy):
            return xy.reshape(-1, 2).astype(float)
        snapped = self._car_graph.snap(xy[:, 0], xy[:, 1], max_snap_m=MAX_SNAP_M)
        ok = np.asarray(snapped.ok, dtype=bool)
        out = np.column_stack(
            [np.asarray(snapped.snapped_x, dtype=float), np.asarray(snapped.snapped_y, dtype=float)]
        )
        out[~ok] = np.nan
        return out

    # ------------------------------------------------------------------ matching

    def match(
        self, requests: pd.DataFrame, *, max_walk_min: float = 10.0, limit: int = 3
    ) -> pd.DataFrame:
        """The offers that fit each request, best first.

        Parameters
        ----------
        requests
            One row per trip asked: ``request_id`` (unique), ``home_lon, home_lat,
            dest_lon, dest_lat`` (WGS84), ``day`` (0 = Monday .. 6 = Sunday),
            ``direction`` (``aller``: to the destination by ``time``; ``retour``: from it
            after ``time``), ``time`` (``datetime.time`` or ``"HH:MM"``: the shift start
            for ``aller``, its end for ``retour``); optional ``max_walk_min`` per request
            (empty: the argument's value).
        max_walk_min
            The longest walk between the home and a carpool area, minutes.
        limit
            At most this many matches per request.

        Returns
        -------
        pandas.DataFrame
            One row per (request, offer) match (columns :data:`MATCH_COLUMNS`), the best
            first for each request, requests in their input order: ``pickup``
            (``domicile`` or ``aire``: where the person meets the car near home, picked up
            on the way there and dropped off on the way back), ``area_id`` and
            ``area_name`` (null at home), ``walk_min`` (the person's walk between home and
            the area), ``detour_min`` (the driver's extra car minutes),
            ``driver_departure`` and ``driver_arrival`` (the driver's trip, ``H`` to ``G``
            or ``G`` to ``H``), ``pickup_time`` (when the person gets in: at the meeting
            point for ``aller``, at the destination for ``retour``), ``wait_min`` (the
            person's wait at the destination before the shift, or after it). Clock times
            are ``datetime.time`` to the second; minutes are rounded to 0.1.

        Raises
        ------
        InputError
            A missing column, a bad value (the request is named), a duplicated id.
        """
        frame = self._check_requests(requests, max_walk_min=max_walk_min, limit=limit)
        near = self._near_areas(frame)
        candidates = self._candidates(frame, near)
        return self._evaluate(frame, near, candidates, limit=limit)

    def _check_requests(
        self, requests: pd.DataFrame, *, max_walk_min: float, limit: int
    ) -> pd.DataFrame:
        """The requests as plain columns (metric coordinates, seconds), checked."""
        if not isinstance(limit, int) or limit < 1:
            raise InputError(tr("doit être au moins 1", "must be at least 1"), field="limit")
        if not math.isfinite(max_walk_min) or max_walk_min < 0:
            raise InputError(
                tr("doit être positif ou nul", "must be non-negative"), field="max_walk_min"
            )
        if not isinstance(requests, pd.DataFrame):
            raise InputError(
                tr("un tableau (DataFrame) est attendu", "a DataFrame is expected"),
                field="requests",
            )
        missing = [c for c in _REQUEST_COLUMNS if c not in requests.columns]
        if missing:
            raise InputError(
                tr(
                    f"colonnes absentes : {', '.join(missing)}",
                    f"missing columns: {', '.join(missing)}",
                ),
                field="requests",
            )
        frame = requests.reset_index(drop=True)
        ids = frame["request_id"].astype(str)

        def refuse(i: int, fr: str, en: str, field: str) -> InputError:
            rid = ids.iloc[i]
            return InputError(
                tr(f"demande « {rid} » : {fr}", f"request '{rid}': {en}"),
                field=field,
                params={"request_id": rid},
            )

        duplicated = ids.duplicated().to_numpy()
        if duplicated.any():
            raise refuse(
                int(np.flatnonzero(duplicated)[0]), "en double", "duplicated", "request_id"
            )
        coords: dict[str, FloatArray] = {}
        for name, bound in (
            ("home_lon", 180),
            ("home_lat", 90),
            ("dest_lon", 180),
            ("dest_lat", 90),
        ):
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
            bad = ~(np.abs(values) <= bound)
            if bad.any():
                raise refuse(
                    int(np.flatnonzero(bad)[0]),
                    "coordonnée WGS84 invalide",
                    "invalid WGS84 coordinate",
                    name,
                )
            coords[name] = values
        days = pd.to_numeric(frame["day"], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isin(days, np.arange(7))
        if bad.any():
            raise refuse(
                int(np.flatnonzero(bad)[0]),
                "jour de 0 (lundi) à 6 (dimanche) attendu",
                "day from 0 (Monday) to 6 (Sunday) expected",
                "day",
            )
        directions = frame["direction"].astype(str).str.strip().str.lower()
        bad = ~directions.isin(_DIRECTIONS).to_numpy()
        if bad.any():
            raise refuse(
                int(np.flatnonzero(bad)[0]),
                "sens « aller » ou « retour » attendu",
                "direction 'aller' or 'retour' expected",
                "direction",
            )
        times = np.empty(len(frame))
        for i, value in enumerate(frame["time"]):
            if isinstance(value, str):
                try:
                    value = dt.time.fromisoformat(value.strip())
                except ValueError:
                    value = None
            if not isinstance(value, dt.time):
                raise refuse(i, "heure HH:MM attendue", "time HH:MM expected", "time")
            times[i] = _seconds(value)
        walk = np.full(len(frame), float(max_walk_min))
        if "max_walk_min" in frame.columns:
            given = pd.to_numeric(frame["max_walk_min"], errors="coerce").to_numpy(dtype=float)
            walk = np.where(np.isnan(given), walk, given)
            bad = ~(walk >= 0) | ~np.isfinite(walk)
            if bad.any():
                raise refuse(
                    int(np.flatnonzero(bad)[0]),
                    "doit être positif ou nul",
                    "must be non-negative",
                    "max_walk_min",
                )
        hx, hy = self._to_metric.transform(coords["home_lon"], coords["home_lat"])
        xx, xy = self._to_metric.transform(coords["dest_lon"], coords["dest_lat"])
        road = self._on_road(
            np.concatenate([np.column_stack([hx, hy]), np.column_stack([xx, xy])]).astype(float)
        )
        n = len(frame)
        return pd.DataFrame(
            {
                "request_id": frame["request_id"].to_numpy(),
                "home_x": np.asarray(hx, dtype=float),
                "home_y": np.asarray(hy, dtype=float),
                "dest_x": np.asarray(xx, dtype=float),
                "dest_y": np.asarray(xy, dtype=float),
                "home_rx": road[:n, 0],
                "home_ry": road[:n, 1],
                "dest_rx": road[n:, 0],
                "dest_ry": road[n:, 1],
                "day": days.astype(np.int64),
                "direction": directions.to_numpy(),
                "time_s": times,
                "max_walk_s": walk * 60,
            }
        )

    def _walk_radius_m(self, max_walk_s: float) -> float:
        """The farthest straight-line distance walked in ``max_walk_s`` (0 without areas)."""
        if self._areas.empty:
            return 0.0
        return WALK_SPEED_KMH / 3.6 * max_walk_s * _SAFETY_FACTOR + _SAFETY_M

    def _near_areas(self, frame: pd.DataFrame) -> pd.DataFrame:
        """(request row, area) pairs within the straight-line distance walked in the limit."""
        if self._areas.empty or not len(frame):
            return pd.DataFrame(
                {"row": np.array([], dtype=np.int64), "area": np.array([], dtype=np.int64)}
            )
        radius = np.array([self._walk_radius_m(s) for s in frame["max_walk_s"]])
        homes = shapely.points(frame["home_x"].to_numpy(), frame["home_y"].to_numpy())
        found = self._areas_tree.query(homes, predicate="dwithin", distance=radius)
        order = np.lexsort((found[1], found[0]))
        return pd.DataFrame(
            {"row": found[0][order].astype(np.int64), "area": found[1][order].astype(np.int64)}
        )

    def _candidates(self, frame: pd.DataFrame, near: pd.DataFrame) -> pd.DataFrame:
        """(request row, offer key) pairs the index returns.

        An offer is kept when its box holds the road position of the destination and
        meets the box of the road positions of the home and of the areas near it.
        """
        rows: list[int] = []
        keys: list[int] = []
        near_row = near["row"].to_numpy()
        near_area = near["area"].to_numpy()
        starts = np.searchsorted(near_row, np.arange(len(frame)))
        ends = np.searchsorted(near_row, np.arange(len(frame)), side="right")
        for i, (hx, hy, xx, xy, direction) in enumerate(
            zip(
                frame["home_rx"],
                frame["home_ry"],
                frame["dest_rx"],
                frame["dest_ry"],
                frame["direction"],
                strict=True,
            )
        ):
            meeting = np.concatenate([[[hx, hy]], self._areas_road[near_area[starts[i] : ends[i]]]])
            meeting = meeting[np.isfinite(meeting).all(axis=1)]
            if not len(meeting) or not (math.isfinite(xx) and math.isfinite(xy)):
                continue
            tree = self._trees[direction]
            low, high = meeting.min(axis=0), meeting.max(axis=0)
            near_home = set(tree.intersection((low[0], low[1], high[0], high[1])))
            if not near_home:
                continue
            found = near_home.intersection(tree.intersection((xx, xy, xx, xy)))
            rows.extend([i] * len(found))
            keys.extend(sorted(found))
        return pd.DataFrame(
            {"row": np.array(rows, dtype=np.int64), "key": np.array(keys, dtype=np.int64)}
        )

    def _evaluate(
        self, frame: pd.DataFrame, near: pd.DataFrame, candidates: pd.DataFrame, *, limit: int
    ) -> pd.DataFrame:
        """Apply the rules to the candidate pairs (one car call, one walk call)."""
        if candidates.empty:
            return _empty_answer()
        table = self._offer_table()
        pos = np.searchsorted(table["key"], candidates["key"].to_numpy())
        rows = candidates["row"].to_numpy()
        aller = frame["direction"].to_numpy()[rows] == "aller"
        t_s = frame["time_s"].to_numpy()[rows]
        anchor = np.where(aller, table["arrive_by_s"][pos], table["leave_at_s"][pos])
        # The offer's clock time relative to the request's: its occurrence nearest to it.
        b_s = (anchor - t_s + _DAY_S / 2) % _DAY_S - _DAY_S / 2
        flex_s = table["flex_s"][pos]
        detour_max_s = table["detour_max_s"][pos]
        direct_s = np.where(aller, table["direct_aller_s"][pos], table["direct_retour_s"][pos])
        window_s = PASSENGER_WINDOW_MIN * 60.0
        shift = np.floor((t_s + b_s) / _DAY_S).astype(np.int64)
        driver_day = (frame["day"].to_numpy()[rows] + shift) % 7
        keep = (table["seats"][pos] > 0) & ((table["days_mask"][pos] >> driver_day) & 1 == 1)
        keep &= np.where(
            aller,
            (b_s >= -window_s - flex_s) & (b_s <= flex_s + direct_s + detour_max_s),
            (b_s >= -flex_s - direct_s - detour_max_s) & (b_s <= window_s + flex_s),
        )
        if not keep.any():
            return _empty_answer()
        idx = np.flatnonzero(keep)
        rows, pos, aller, t_s, b_s = rows[idx], pos[idx], aller[idx], t_s[idx], b_s[idx]
        flex_s, detour_max_s, direct_s = flex_s[idx], detour_max_s[idx], direct_s[idx]

        # Points: requests' homes and destinations, areas, offers' homes and destinations.
        n_req = len(frame)
        n_off = len(table["key"])
        offers_xy = np.concatenate([table["home_xy"], table["dest_xy"]])
        road = np.concatenate(
            [
                frame[["home_rx", "home_ry"]].to_numpy(),
                frame[["dest_rx", "dest_ry"]].to_numpy(),
                self._areas_road,
                offers_xy,
            ]
        )
        base_area = 2 * n_req
        base_oh = base_area + len(self._areas_road)
        base_od = base_oh + n_off

        # Meeting points: the home, and the areas walked to within the request's limit.
        walks = self._walks(frame, near[near["row"].isin(np.unique(rows))])
        option_row = np.concatenate([np.arange(n_req), walks["row"].to_numpy()])
        option_point = np.concatenate([np.arange(n_req), walks["area"].to_numpy() + base_area])
        option_area = np.concatenate([np.full(n_req, -1), walks["area"].to_numpy()])
        option_walk = np.concatenate([np.zeros(n_req), walks["walk_s"].to_numpy()])
        order = np.argsort(option_row, kind="stable")
        option_row, option_point = option_row[order], option_point[order]
        option_area, option_walk = option_area[order], option_walk[order]
        starts = np.searchsorted(option_row, rows)
        counts = np.searchsorted(option_row, rows, side="right") - starts
        cand = np.repeat(np.arange(len(rows)), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        opt = np.repeat(starts, counts) + np.arange(len(cand)) - first
        p = option_point[opt]
        x = rows[cand]
        x_pt = n_req + x
        h_pt = base_oh + pos[cand]
        g_pt = base_od + pos[cand]
        al = aller[cand]
        # aller: H->P, P->X, X->G ; retour: G->X, X->P, P->H
        leg1 = np.where(al[:, None], np.column_stack([h_pt, p]), np.column_stack([g_pt, x_pt]))
        leg2 = np.where(al[:, None], np.column_stack([p, x_pt]), np.column_stack([x_pt, p]))
        leg3 = np.where(al[:, None], np.column_stack([x_pt, g_pt]), np.column_stack([p, h_pt]))
        # No leg of a detour that fits is longer than the driver's direct trip plus the
        # detour allowed: the searches stop there.
        bound_s = direct_s[cand] + detour_max_s[cand]
        bound_s = bound_s[np.isfinite(bound_s)]
        if not len(bound_s):  # no driver's own trip is drivable
            return _empty_answer()
        # (a search lasts at least a minute: the engines' smallest limit)
        longest_s = min(max(float(bound_s.max()) + 1.0, 60.0), 4 * 3600.0)
        seconds = self._car_times(road, np.concatenate([leg1, leg2, leg3]), longest_s)
        m = len(cand)
        t1, t2, t3 = seconds[:m], seconds[m : 2 * m], seconds[2 * m :]
        detour = t1 + t2 + t3 - direct_s[cand]
        flex, b = flex_s[cand], b_s[cand]
        # aller: a_X relative to T in [-W, 0] and [b - f - t3, b + f - t3]; latest.
        a_hi = np.minimum(0.0, b + flex - t3)
        a_lo = np.maximum(-window_s, b - flex - t3)
        # retour: d_X relative to T in [0, W] and [b - f + t1, b + f + t1]; earliest.
        d_lo = np.maximum(0.0, b - flex + t1)
        d_hi = np.minimum(window_s, b + flex + t1)
        with np.errstate(invalid="ignore"):
            fits = (detour <= detour_max_s[cand] + _EPS_S) & np.where(
                al, a_lo <= a_hi + _EPS_S, d_lo <= d_hi + _EPS_S
            )
        fits &= np.isfinite(detour)
        if not fits.any():
            return _empty_answer()
        sel = np.flatnonzero(fits)
        T = t_s[cand][sel]
        meet = np.where(al[sel], a_hi[sel], d_lo[sel])  # relative to T, at X
        departure = np.where(al[sel], meet - t1[sel] - t2[sel], meet - t1[sel])
        pickup = np.where(al[sel], meet - t2[sel], meet)
        arrival = np.where(al[sel], meet + t3[sel], meet + t2[sel] + t3[sel])
        area = option_area[opt][sel]
        area_ids = self._areas["id_lieu"].to_numpy()
        area_names = self._areas["nom_lieu"].to_numpy()
        result = pd.DataFrame(
            {
                "request_id": frame["request_id"].to_numpy()[x[sel]],
                "offer_id": table["id"][pos[cand[sel]]],
                "direction": np.where(al[sel], "aller", "retour"),
                "pickup": np.where(area < 0, "domicile", "aire"),
                "area_id": [None if a < 0 else str(area_ids[a]) for a in area],
                "area_name": [None if a < 0 else str(area_names[a]) for a in area],
                "_walk_s": option_walk[opt][sel],
                "_detour_s": detour[sel],
                "_wait_s": np.abs(meet),
                "_row": x[sel],
                "_departure_s": T + departure,
                "_pickup_s": T + pickup,
                "_arrival_s": T + arrival,
            }
        )
        # Rank on milliseconds: float noise in sums of equal legs must not break ties.
        for name in ("_detour_s", "_walk_s", "_wait_s"):
            result[name + "_rank"] = result[name].round(3)
        result = result.sort_values(
            ["_row", "_detour_s_rank", "_walk_s_rank", "_wait_s_rank", "offer_id"], kind="stable"
        )
        result = result.drop_duplicates(["_row", "offer_id"], keep="first")
        result = result.groupby("_row", sort=False).head(limit)
        out = pd.DataFrame(
            {
                "request_id": result["request_id"].to_numpy(),
                "offer_id": result["offer_id"].to_numpy(),
                "direction": result["direction"].to_numpy(),
                "pickup": result["pickup"].to_numpy(),
                "area_id": result["area_id"].to_numpy(),
                "area_name": result["area_name"].to_numpy(),
                "walk_min": np.round(result["_walk_s"].to_numpy() / 60, 1),
                "detour_min": np.round(np.maximum(result["_detour_s"].to_numpy(), 0) / 60, 1),
                "driver_departure": [_clock(s) for s in result["_departure_s"]],
                "pickup_time": [_clock(s) for s in result["_pickup_s"]],
                "driver_arrival": [_clock(s) for s in result["_arrival_s"]],
                "wait_min": np.round(result["_wait_s"].to_numpy() / 60, 1),
            }
        )
        return out

    def _offer_table(self) -> dict[str, npt.NDArray[Any]]:
        """The offers as arrays sorted by index key (one row per offer)."""
        entries = sorted(self._entries.values(), key=lambda e: e.key)
        nan = float("nan")

        def clock(value: dt.time | None) -> float:
            return nan if value is None else _seconds(value)

        return {
            "key": np.array([e.key for e in entries], dtype=np.int64),
            "id": np.array([e.offer.id for e in entries], dtype=object),
            "arrive_by_s": np.array([clock(e.offer.arrive_by) for e in entries]),
            "leave_at_s": np.array([clock(e.offer.leave_at) for e in entries]),
            "flex_s": np.array([e.offer.flexibility_min * 60.0 for e in entries]),
            "detour_max_s": np.array([e.offer.max_detour_min * 60.0 for e in entries]),
            "direct_aller_s": np.array([e.direct_s["aller"] for e in entries]),
            "direct_retour_s": np.array([e.direct_s["retour"] for e in entries]),
            "seats": np.array([e.offer.seats for e in entries], dtype=np.int64),
            "days_mask": np.array(
                [sum(1 << d for d in e.offer.days) for e in entries], dtype=np.int64
            ),
            "home_xy": np.array([e.home_m for e in entries], dtype=float).reshape(-1, 2),
            "dest_xy": np.array([e.dest_m for e in entries], dtype=float).reshape(-1, 2),
        }

    def _walks(self, frame: pd.DataFrame, near: pd.DataFrame) -> pd.DataFrame:
        """(request row, area, walk seconds) of the areas within the request's walk limit.

        The walk goes from the home to the area for ``aller``, back for ``retour``.
        """
        row = near["row"].to_numpy(dtype=np.int64)
        area = near["area"].to_numpy(dtype=np.int64)
        if not len(row):
            return pd.DataFrame({"row": row, "area": area, "walk_s": np.array([], dtype=float)})
        walk_s = frame["max_walk_s"].to_numpy()
        n_req = len(frame)
        xy = np.concatenate([frame[["home_x", "home_y"]].to_numpy(), self._areas_xy])
        aller = frame["direction"].to_numpy()[row] == "aller"
        pairs = np.where(
            aller[:, None],
            np.column_stack([row, area + n_req]),
            np.column_stack([area + n_req, row]),
        )
        seconds = self._times(xy, pairs, "walk", float(walk_s[row].max()) + 60)
        ok = seconds <= walk_s[row] + _EPS_S
        return pd.DataFrame({"row": row[ok], "area": area[ok], "walk_s": seconds[ok]})


def _empty_answer() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in MATCH_COLUMNS})
    for c in ("walk_min", "detour_min", "wait_min"):
        frame[c] = frame[c].astype(float)
    return frame


def carpool_index_of(network: TransportNetwork) -> CarpoolIndex | None:
    """The live carpool index of a territory's stored driver offers (None when there are none)."""
    from parcours.matching.caseload import stored_driver_offers

    territory = network.territory
    offers = stored_driver_offers(territory)
    if offers is None or offers.empty:
        return None
    areas = territory.layer("carpool") if territory.has_layer("carpool") else None
    records: Iterable[Any] = offers.itertuples(index=False)
    return CarpoolIndex(
        network,
        [
            CarpoolOffer(
                id=str(r.id),
                home=(float(r.lon), float(r.lat)),
                destination=(float(r.destination_lon), float(r.destination_lat)),
                days=frozenset(int(d) for d in str(r.days).split(",") if d != ""),
                arrive_by=dt.time.fromisoformat(str(r.arrive_by)),
                leave_at=dt.time.fromisoformat(str(r.leave_at)),
                seats=int(r.seats),
                max_detour_min=float(r.max_detour_min),
            )
            for r in records
        ],
        areas=areas,
    )
