"""Accessibility indicators per populated cell, for each mode and time band.

From the centre of each cell (:func:`~parcours.diagnostic.cells.diagnostic_cells`):

* ``jobs_<cut>_<mode>``: jobs reachable strictly under 30, 45 and 60 minutes
  (cumulative opportunities, never a long matrix); for public transport one column per
  band and percentile, ``jobs_<cut>_transit_<band>_p50`` / ``_p80`` (the median and the
  80th percentile of the band's per-minute times: ``p80`` is what a rider can count on
  four days in five). Walking, cycling and driving do not depend on the hour: one column
  each, shown in every band. The ``late`` band counts the jobs **from which** the cell is
  reached leaving 21:00-23:00 (the trip home after a late shift);
* ``share_jobs_<...>``: the same as a share of the territory's jobs;
* ``<category>_<mode>``: minutes to the nearest service of each category
  (:data:`SERVICE_CATEGORIES`, the carpool areas and the bike-share stations), public
  transport at the peak band's median; NaN beyond :data:`SERVICE_MAX_MIN` minutes;
* ``car_dependency``: jobs within 45 minutes by car per job within 45 minutes by
  public transport at peak (median), the latter counted at least 1.

The cyclist is r5py's (12 km/h, traffic stress up to 3); the driver has a car and a
licence, which many of the people a platform follows do not have; public transport is
walk + transit with r5py's defaults otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from parcours.accessibility import TransportNetwork, cumulative_opportunities, nearest_opportunity
from parcours.diagnostic.bands import BANDS, PERCENTILES, TimeBand
from parcours.i18n import tr
from parcours.progress import ProgressFn, no_progress

__all__ = [
    "CUTOFFS_MIN",
    "MODES",
    "SERVICE_CATEGORIES",
    "SERVICE_MAX_MIN",
    "access_indicators",
    "opportunity_points",
]

#: Cut-offs of the jobs indicators, minutes.
CUTOFFS_MIN: Final = (30, 45, 60)
#: The modes of the diagnostic, in the order shown.
MODES: Final = ("walk", "bike", "transit", "car")
#: Service categories looked for (the territory's ``services`` layer ``category``).
SERVICE_CATEGORIES: Final = (
    "france_travail",
    "france_services",
    "mission_locale",
    "hospital",
    "emergency",
    "gp",
    "training",
    "driving_school",
    "childcare",
    "supermarket",
)
#: The nearest service further than this is "out of reach" (NaN), minutes.
SERVICE_MAX_MIN: Final = 90


def opportunity_points(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Points with a unique ``id`` (the row number) from any layer (polygons: a point inside).

    Source identifiers are not always unique (SIRENE establishments moved to their cell
    share a SIRET with nothing, a list of services may repeat a code): opportunities are
    counted, not named, so the row number is the identifier.
    """
    out = frame.reset_index(drop=True).copy()
    out["id"] = [str(i) for i in range(len(out))]
    geometry = frame.geometry
    if not (geometry.geom_type == "Point").all():
        geometry = geometry.representative_point()
    return out.set_geometry(geometry.to_numpy()).set_crs(frame.crs, allow_override=True)


def _street_mode(mode: str) -> bool:
    return mode != "transit"


def access_indicators(
    network: TransportNetwork,
    cells: gpd.GeoDataFrame,
    jobs: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame | None,
    weekday: dt.date,
    saturday: dt.date,
    *,
    modes: Sequence[str] = MODES,
    bands: Sequence[TimeBand] = BANDS,
    progress: ProgressFn | None = None,
) -> pd.DataFrame:
    """The access indicators of every cell (see the module's docstring).

    Parameters
    ----------
    network
        The territory's network.
    cells
        The cells (``cell_id`` and polygons).
    jobs
        Points with an ``id`` and ``jobs`` (establishments).
    services
        Points with an ``id`` and ``category`` (services, carpool areas, stations);
        ``None``: no service indicator.
    weekday, saturday
        The study dates.
    modes, bands
        What to compute (default: everything).
    progress
        Called with ``(label, fraction)``.

    Returns
    -------
    pandas.DataFrame
        One row per cell, ``cell_id`` then the indicators.
    """
    report = progress or no_progress
    origins = gpd.GeoDataFrame(
        {"id": cells["cell_id"].astype(str).to_numpy()},
        geometry=cells.geometry.representative_point().to_numpy(),
        crs=cells.crs,
    )
    out: dict[str, np.ndarray] = {"cell_id": origins["id"].to_numpy()}
    total_jobs = float(pd.to_numeric(jobs["jobs"], errors="coerce").fillna(0).sum())
    steps = len(modes) * (1 + len(bands))
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        report(label, min(1.0, done / max(1, steps)))

    peak = next((b for b in bands if b.key == "peak"), bands[0] if bands else None)
    for mode in modes:
        label = tr(f"accessibilité ({mode})", f"accessibility ({mode})")
        if _street_mode(mode):
            when = dt.datetime.combine(weekday, dt.time(8, 0))
            counts = cumulative_opportunities(
                network,
                origins,
                jobs,
                weights="jobs",
                cutoffs=CUTOFFS_MIN,
                transport_modes=[mode],
                departure=when,
                departure_time_window=dt.timedelta(minutes=1),
            )
            for cut in CUTOFFS_MIN:
                out[f"jobs_{cut}_{mode}"] = counts[f"jobs_{cut}"].to_numpy()
            tick(label)
            if services is not None and len(services):
                near = nearest_opportunity(
                    network,
                    origins,
                    services,
                    by="category",
                    transport_modes=[mode],
                    departure=when,
                    departure_time_window=dt.timedelta(minutes=1),
                    max_time=dt.timedelta(minutes=SERVICE_MAX_MIN),
                )
                for category in sorted(set(services["category"].astype(str))):
                    out[f"{category}_{mode}"] = near[category].to_numpy()
            tick(label)
            continue
        for band in bands:
            departure = band.departure(weekday, saturday)
            counts = cumulative_opportunities(
                network,
                origins,
                jobs,
                weights="jobs",
                cutoffs=CUTOFFS_MIN,
                reverse=band.direction == "to_home",
                transport_modes=["walk", "transit"],
                departure=departure,
                departure_time_window=dt.timedelta(minutes=band.window_min),
                percentiles=PERCENTILES,
            )
            for cut in CUTOFFS_MIN:
                for p in PERCENTILES:
                    out[f"jobs_{cut}_transit_{band.key}_p{p}"] = counts[
                        f"jobs_{cut}_p{p}"
                    ].to_numpy()
            tick(label)
        if services is not None and len(services) and peak is not None:
            near = nearest_opportunity(
                network,
                origins,
                services,
                by="category",
                transport_modes=["walk", "transit"],
                departure=peak.departure(weekday, saturday),
                departure_time_window=dt.timedelta(minutes=peak.window_min),
                max_time=dt.timedelta(minutes=SERVICE_MAX_MIN),
            )
            for category in sorted(set(services["category"].astype(str))):
                out[f"{category}_transit"] = near[category].to_numpy()
        tick(label)
    for column in [c for c in out if c.startswith("jobs_")]:
        values = np.asarray(out[column], dtype=np.float64)
        out[f"share_{column}"] = values / total_jobs if total_jobs else np.full(len(values), np.nan)
    if "car" in modes and "transit" in modes and peak is not None:
        transit = np.asarray(out[f"jobs_45_transit_{peak.key}_p50"], dtype=np.float64)
        out["car_dependency"] = np.asarray(out["jobs_45_car"], dtype=np.float64) / np.maximum(
            transit, 1.0
        )
    return pd.DataFrame(out)
