"""Arriving on time for a shift: the share of residents who can reach a place by a start time.

The question an employer or a committee asks about one site (a logistics zone, a
hospital): who can get there by 05:30 or 08:30, by each mode, within 30, 45, 60 minutes?
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from parcours.accessibility import TransportNetwork, latest_departure_matrix
from parcours.diagnostic.cells import diagnostic_cells
from parcours.diagnostic.indicators import CUTOFFS_MIN
from parcours.diagnostic.secrecy import is_secret
from parcours.territories import Territory

__all__ = ["SHIFT_STARTS", "shift_access"]

#: Shift start times checked: early (logistics) and office hours.
SHIFT_STARTS: Final = (dt.time(5, 30), dt.time(8, 30))


def shift_access(
    territory: Territory,
    destination: shapely.Point,
    *,
    day: dt.date,
    starts: Sequence[dt.time] = SHIFT_STARTS,
    cutoffs: Sequence[int] = CUTOFFS_MIN,
    modes: Sequence[str] = ("walk", "bike", "car", "transit"),
    network: TransportNetwork | None = None,
) -> pd.DataFrame:
    """Share of residents who can reach a place by each shift start, by mode.

    From every populated cell inside the territory's perimeter (not its buffer) to
    ``destination`` (in the territory's CRS), the latest departure arriving by each of
    ``starts`` is computed by walking, cycling, driving and public transport
    (walk + transit); the time to set aside is the deadline minus that departure. The
    table gives, for each start time, mode and cut-off of ``cutoffs`` (minutes), the
    number and share of residents (cell population) who can make it within that time.
    Driving assumes a car and a licence, which many of the people a platform follows do
    not have. ``network`` is the territory's, when one is already built.

    Statistical secret: a figure resting on fewer than :data:`MIN_HOUSEHOLDS` households
    (those who make it, or those who do not, when there are some) is not given: its
    residents and share are empty and ``secret`` is true. So is a figure that differs from
    the last one published for a shorter cut-off (same start and mode) by fewer than
    :data:`MIN_HOUSEHOLDS` households: the difference would give them.

    Returns
    -------
    pandas.DataFrame
        ``arrive_by`` (``HH:MM``), ``mode``, ``within_min``, ``residents`` (integer, NA
        when secret), ``share``, ``secret``; the labels are applied where it is shown.
    """
    network = network if network is not None else TransportNetwork(territory)
    cells = diagnostic_cells(territory)
    origins = gpd.GeoDataFrame(
        {"id": cells["cell_id"].astype(str)},
        geometry=cells.geometry.representative_point().to_numpy(),
        crs=cells.crs,
    )
    target = gpd.GeoDataFrame({"id": ["destination"]}, geometry=[destination], crs=territory.crs)
    people = cells["population"].to_numpy(dtype=float)
    households = cells["households"].fillna(0).to_numpy(dtype=float)
    total_people = float(people.sum())
    total_households = float(households.sum())
    rows: list[dict[str, Any]] = []
    for start in starts:
        deadline = dt.datetime.combine(day, start)
        for mode in modes:
            frame = latest_departure_matrix(
                network,
                origins,
                target,
                arrive_by=deadline,
                transport_modes=[mode],
                max_time=dt.timedelta(minutes=max(cutoffs)),
            )
            minutes = frame["travel_time"].to_numpy(dtype=float)
            shown = 0.0  # households behind the last figure published (shorter cut-off)
            for threshold in sorted(cutoffs):
                ok = np.nan_to_num(minutes, nan=np.inf) <= threshold
                reached = float(households[ok].sum())
                missed = total_households - reached
                secret = is_secret(reached) or is_secret(missed) or is_secret(reached - shown)
                if not secret:
                    shown = reached
                residents = float(people[ok].sum())
                rows.append(
                    {
                        "arrive_by": start.strftime("%H:%M"),
                        "mode": mode,
                        "within_min": threshold,
                        "residents": None if secret else round(residents),
                        "share": None
                        if secret or not total_people
                        else round(residents / total_people, 4),
                        "secret": secret,
                    }
                )
    table = pd.DataFrame(rows)
    table["residents"] = table["residents"].astype("Int64")
    return table
