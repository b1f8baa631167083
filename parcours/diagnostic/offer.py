"""The public transport offer near each cell: departures, first and last, frequency, gaps.

Counted from the territory's GTFS layers for one service day:

* a **departure** is a vehicle leaving a stop where boarding is allowed (``pickup_type``
  not 1), the last stop of a trip excluded; trips of the day before that run past
  midnight count on the day (``25:10`` is 01:10); headway-based trips
  (``frequencies.txt``) count once per headway over each of their windows;
* per stop: departures of the day, first and last departure, and whether it is
  **frequent**: no gap longer than 20 minutes between 07:00 and 19:00 (from 07:00 to the
  first departure, between departures, and from the last one to 19:00), all routes
  together;
* per cell, from the stops within :data:`NEAR_M` (500 m) of its centre, as the crow
  flies: departures of the day, first and last departure, a frequent stop or not; and
  ``no_service`` when no stop with a departure that day lies within :data:`SERVICE_M`
  (1 km): the "zone sans desserte" of a diagnostic; ``no_service_<band>`` when there is
  service that day but no departure within 1 km during the band's window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import STRtree

from parcours.diagnostic.bands import TimeBand, active_services
from parcours.territories import Territory

__all__ = ["FREQUENT_HEADWAY_S", "NEAR_M", "SERVICE_M", "cell_offer", "stop_departures"]

#: Stops counted as near a cell (metres, as the crow flies).
NEAR_M: Final = 500.0
#: A cell with no stop served that day within this distance is "sans desserte".
SERVICE_M: Final = 1000.0
#: Longest gap between departures, 07:00-19:00, of a frequent stop (seconds).
FREQUENT_HEADWAY_S: Final = 20 * 60
_FREQUENT_FROM_S, _FREQUENT_TO_S = 7 * 3600, 19 * 3600


def stop_departures(territory: Territory, day: dt.date) -> pd.DataFrame:
    """Every departure of the day: ``stop_id``, ``departure_s`` (seconds after midnight)."""
    empty = pd.DataFrame({"stop_id": pd.Series(dtype=str), "departure_s": pd.Series(dtype=int)})
    if not territory.has_layer("stop_times"):
        return empty
    trips = territory.layer("trips", columns=["trip_id", "service_id"])
    stop_times = territory.layer(
        "stop_times", columns=["trip_id", "stop_sequence", "stop_id", "departure_s", "pickup_type"]
    )
    stop_times = stop_times.sort_values(["trip_id", "stop_sequence"])
    last = ~stop_times["trip_id"].duplicated(keep="last")
    boarding = (stop_times["pickup_type"].fillna(0) != 1) & ~last
    stop_times = stop_times[boarding & stop_times["departure_s"].notna()]
    freq = (
        territory.layer("frequencies")
        if territory.has_layer("frequencies")
        else pd.DataFrame(columns=["trip_id", "start_s", "end_s", "headway_s"])
    )
    parts = []
    for shift, service_day in ((0, day), (-86_400, day - dt.timedelta(days=1))):
        running = set(
            trips.loc[
                trips["service_id"].astype(str).isin(active_services(territory, service_day)),
                "trip_id",
            ]
        )
        st = stop_times[stop_times["trip_id"].isin(running)]
        scheduled = st[~st["trip_id"].isin(set(freq["trip_id"]))]
        parts.append(
            pd.DataFrame(
                {
                    "stop_id": scheduled["stop_id"].astype(str).to_numpy(),
                    "departure_s": scheduled["departure_s"].to_numpy(dtype=np.int64) + shift,
                }
            )
        )
        headway = st[st["trip_id"].isin(set(freq["trip_id"]))]
        if len(headway):
            first = headway.groupby("trip_id")["departure_s"].transform("min")
            template = headway.assign(offset_s=headway["departure_s"] - first)
            windows = freq[freq["trip_id"].isin(running)]
            for trip_id, start_s, end_s, headway_s in zip(
                windows["trip_id"],
                windows["start_s"].to_numpy(dtype=np.int64),
                windows["end_s"].to_numpy(dtype=np.int64),
                windows["headway_s"].to_numpy(dtype=np.int64),
                strict=True,
            ):
                starts = np.arange(start_s, end_s, headway_s)
                hops = template[template["trip_id"] == trip_id]
                if not len(starts) or not len(hops):
                    continue
                times = (starts[:, None] + hops["offset_s"].to_numpy()[None, :]).ravel()
                stops = np.tile(hops["stop_id"].astype(str).to_numpy(), len(starts))
                parts.append(pd.DataFrame({"stop_id": stops, "departure_s": times + shift}))
    if not parts:
        return empty
    out = pd.concat(parts, ignore_index=True)
    out = out[(out["departure_s"] >= 0) & (out["departure_s"] < 86_400)]
    return out.sort_values(["stop_id", "departure_s"]).reset_index(drop=True)


def _frequent(times: np.ndarray) -> bool:
    inside = times[(times >= _FREQUENT_FROM_S) & (times <= _FREQUENT_TO_S)]
    if not len(inside):
        return False
    marks = np.concatenate([[_FREQUENT_FROM_S], np.unique(inside), [_FREQUENT_TO_S]])
    return bool(np.diff(marks).max() <= FREQUENT_HEADWAY_S)


def _stop_table(territory: Territory, day: dt.date) -> gpd.GeoDataFrame:
    stops = territory.layer("stops")
    stops = stops[stops["location_type"].fillna(0).astype(int) == 0]
    departures = stop_departures(territory, day)
    by_stop = departures.groupby("stop_id")["departure_s"]
    table = pd.DataFrame(
        {
            "departures": by_stop.size(),
            "first_s": by_stop.min(),
            "last_s": by_stop.max(),
            "frequent": by_stop.apply(lambda s: _frequent(s.to_numpy())),
        }
    )
    out = stops[["stop_id", "stop_name", "geometry"]].merge(
        table, left_on="stop_id", right_index=True, how="left"
    )
    out["departures"] = out["departures"].fillna(0).astype(int)
    out["frequent"] = out["frequent"].fillna(False).astype(bool)
    out.attrs["departures"] = departures
    return out


def cell_offer(
    territory: Territory,
    cells: gpd.GeoDataFrame,
    day: dt.date,
    bands: Sequence[tuple[TimeBand, dt.date]] = (),
) -> pd.DataFrame:
    """The offer near each cell (see the module's docstring), one row per cell.

    Parameters
    ----------
    territory
        The territory (its GTFS layers).
    cells
        The cells (:func:`~parcours.diagnostic.cells.diagnostic_cells`).
    day
        The service day of the daily figures.
    bands
        Bands and their service day, for the ``no_service_<band>`` flags.

    Returns
    -------
    pandas.DataFrame
        ``cell_id, departures_500m, first_departure, last_departure, frequent_stop_500m,
        no_service`` and one ``no_service_<band>`` per band; times as ``HH:MM`` text
        (empty without departure).
    """
    n = len(cells)
    out = pd.DataFrame({"cell_id": cells["cell_id"].to_numpy()})
    if not territory.has_layer("stops") or not territory.has_layer("stop_times"):
        out["departures_500m"] = 0
        out["first_departure"] = pd.Series([pd.NA] * n, dtype="string")
        out["last_departure"] = pd.Series([pd.NA] * n, dtype="string")
        out["frequent_stop_500m"] = False
        out["no_service"] = True
        for band, _ in bands:
            out[f"no_service_{band.key}"] = True
        return out
    stops = _stop_table(territory, day).to_crs(cells.crs)
    centres = cells.geometry.representative_point().to_numpy()
    tree = STRtree(stops.geometry.to_numpy())
    near_cell, near_stop = tree.query(centres, predicate="dwithin", distance=NEAR_M)
    served_cell, served_stop = tree.query(centres, predicate="dwithin", distance=SERVICE_M)
    deps = stops["departures"].to_numpy()
    first = stops["first_s"].to_numpy(dtype=np.float64)
    last = stops["last_s"].to_numpy(dtype=np.float64)
    frequent = stops["frequent"].to_numpy()
    departures = np.bincount(near_cell, weights=deps[near_stop], minlength=n).astype(int)
    first_s = np.full(n, np.inf)
    np.minimum.at(first_s, near_cell, np.nan_to_num(first[near_stop], nan=np.inf))
    last_s = np.full(n, -np.inf)
    np.maximum.at(last_s, near_cell, np.nan_to_num(last[near_stop], nan=-np.inf))
    has_frequent = np.zeros(n, dtype=bool)
    np.logical_or.at(has_frequent, near_cell, frequent[near_stop])
    served = np.zeros(n, dtype=bool)
    np.logical_or.at(served, served_cell, deps[served_stop] > 0)

    def clock(seconds: np.ndarray) -> pd.Series:
        text = [
            f"{int(s) // 3600:02d}:{int(s) % 3600 // 60:02d}" if np.isfinite(s) else pd.NA
            for s in seconds
        ]
        return pd.Series(text, dtype="string")

    out["departures_500m"] = departures
    out["first_departure"] = clock(first_s)
    out["last_departure"] = clock(last_s)
    out["frequent_stop_500m"] = has_frequent
    out["no_service"] = ~served
    index = {stop_id: i for i, stop_id in enumerate(stops["stop_id"].astype(str))}
    for band, band_day in bands:
        events = stop_departures(territory, band_day)
        start_s = band.start.hour * 3600 + band.start.minute * 60
        window = events[
            (events["departure_s"] >= start_s)
            & (events["departure_s"] < start_s + band.window_min * 60)
        ]
        in_band = np.zeros(len(stops), dtype=bool)
        rows = [index[s] for s in window["stop_id"].astype(str) if s in index]
        in_band[rows] = True
        band_served = np.zeros(n, dtype=bool)
        np.logical_or.at(band_served, served_cell, in_band[served_stop])
        out[f"no_service_{band.key}"] = served & ~band_served
    return out
