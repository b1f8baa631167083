"""The routing engines behind the public functions: one small protocol, chosen by name.

An :class:`Engine` answers two questions, origin block by origin block, so that a caller
never needs the whole matrix in memory (the aggregate indicators reduce each block as it
comes):

- :meth:`Engine.travel_times`: the exact travel seconds of every origin x destination
  pair, one array per percentile of the departure window (r5py's ``TravelTimeMatrix``);
- :meth:`Engine.latest_departures`: for an arrive-by deadline, the time to set aside
  (deadline minus the latest departure minute that arrives in time).

Both return a :class:`TravelTimes`: the points as the engine read them, a
:class:`~parcours.accessibility.results.QueryReport`, and an iterator of
:class:`~parcours.accessibility.results.TimeBlock`. Minute rounding, the diagonal and the
frame schema are applied by the public functions with
:mod:`parcours.accessibility.results`, identically for every engine. ``"native"``
(default, no JVM) is :class:`~parcours.accessibility.native.NativeEngine`; ``"r5"`` (r5py)
is :class:`~parcours.accessibility.r5.R5Engine`.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import geopandas as gpd

from parcours.accessibility.native import NativeEngine
from parcours.accessibility.params import QueryParams
from parcours.accessibility.query import NetworkLike
from parcours.accessibility.r5 import R5Engine
from parcours.accessibility.results import TravelTimes
from parcours.errors import InputError
from parcours.i18n import tr
from parcours.progress import ProgressFn

__all__ = ["ENGINES", "Engine", "get_engine"]

#: The engine names ``engine=`` accepts.
ENGINES: tuple[str, ...] = ("native", "r5")


class Engine(Protocol):
    """What a routing engine provides to the public functions."""

    name: str

    def travel_times(
        self,
        network: NetworkLike,
        origins: gpd.GeoDataFrame,
        destinations: gpd.GeoDataFrame | None,
        params: QueryParams,
        *,
        block_size: int | None = None,
        progress: ProgressFn | None = None,
    ) -> TravelTimes:
        """Travel seconds per percentile of the departure window, block by block."""
        ...

    def latest_departures(
        self,
        network: NetworkLike,
        origins: gpd.GeoDataFrame,
        destinations: gpd.GeoDataFrame | None,
        params: QueryParams,
        *,
        arrive_by: dt.datetime,
        block_size: int | None = None,
        progress: ProgressFn | None = None,
    ) -> TravelTimes:
        """Seconds to set aside to arrive by ``arrive_by`` (one "percentile"), by block."""
        ...


def get_engine(name: str) -> Engine:
    """The engine called ``name`` (``"native"`` or ``"r5"``)."""
    if name == "native":
        return NativeEngine()
    if name == "r5":
        return R5Engine()
    raise InputError(
        tr(
            f"moteur inconnu « {name} » (attendu : native ou r5)",
            f"unknown engine '{name}' (expected: native or r5)",
        ),
        field="engine",
    )
