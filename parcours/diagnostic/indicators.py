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

Jobs are counted from their 200 m cell (:func:`job_points`: the establishments of a cell
of INSEE's grid grouped at their jobs-weighted centroid).

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
    "finish_indicators",
    "forward_indicators",
    "job_points",
    "opportunity_points",
    "reverse_job_counts",
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
#: Jobs are grouped by cells of this size (INSEE's grid), metres.
JOB_CELL_M: Final = 200.0
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


def job_points(jobs: gpd.GeoDataFrame, cell_m: float = JOB_CELL_M) -> gpd.GeoDataFrame:
    """Jobs grouped by 200 m cell: one point per cell, at the jobs-weighted centroid.

    A diagnostic counts jobs, it does not name employers: grouping the establishments of
    each cell of INSEE's 200 m grid (EPSG:3035) keeps every job at most a cell away from
    its establishment, and the weighted centroid within metres of the establishments
    when a cell holds one large employer. It turns tens of thousands of SIRENE rows into
    a few thousand points, which is what makes the late band (the search runs **from**
    the jobs) affordable. Establishments without jobs are dropped; a cell's point is its
    establishments' plain centroid when they all have none.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id`` (the cell, ``CRS3035RES200mN...E...``), ``jobs``, ``establishments``,
        points in the CRS of ``jobs``.
    """
    values = pd.to_numeric(jobs["jobs"], errors="coerce").fillna(0.0).to_numpy(np.float64)
    keep = values > 0
    points = opportunity_points(jobs.loc[keep]).to_crs(3035)
    weights = values[keep]
    x = points.geometry.x.to_numpy()
    y = points.geometry.y.to_numpy()
    north = np.floor(y / cell_m).astype(np.int64) * int(cell_m)
    east = np.floor(x / cell_m).astype(np.int64) * int(cell_m)
    key = pd.Series([f"CRS3035RES{int(cell_m)}mN{n}E{e}" for n, e in zip(north, east, strict=True)])
    frame = pd.DataFrame({"id": key, "jobs": weights, "wx": weights * x, "wy": weights * y})
    grouped = frame.groupby("id", sort=True).agg(
        jobs=("jobs", "sum"), wx=("wx", "sum"), wy=("wy", "sum"), establishments=("jobs", "size")
    )
    out = gpd.GeoDataFrame(
        {
            "id": grouped.index.astype(str),
            "jobs": grouped["jobs"].to_numpy(),
            "establishments": grouped["establishments"].to_numpy(),
        },
        geometry=gpd.points_from_xy(
            grouped["wx"] / grouped["jobs"], grouped["wy"] / grouped["jobs"]
        ),
        crs=3035,
    )
    return out.to_crs(jobs.crs).reset_index(drop=True)


def _street_mode(mode: str) -> bool:
    return mode != "transit"


def _origins(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": cells["cell_id"].astype(str).to_numpy()},
        geometry=cells.geometry.representative_point().to_numpy(),
        crs=cells.crs,
    )


def _jobs_columns(mode_key: str) -> list[str]:
    return [f"jobs_{cut}_{mode_key}" for cut in CUTOFFS_MIN]


def _band_columns(band: TimeBand) -> list[str]:
    return [f"jobs_{cut}_transit_{band.key}_p{p}" for cut in CUTOFFS_MIN for p in PERCENTILES]


def _peak(bands: Sequence[TimeBand]) -> TimeBand | None:
    return next((b for b in bands if b.key == "peak"), bands[0] if bands else None)


def _band_counts(
    network: TransportNetwork,
    origins: gpd.GeoDataFrame,
    jobs: gpd.GeoDataFrame,
    band: TimeBand,
    weekday: dt.date,
    saturday: dt.date,
) -> dict[str, np.ndarray]:
    """A band's jobs counts by public transport (from the jobs for a ``to_home`` band)."""
    counts = cumulative_opportunities(
        network,
        origins,
        jobs,
        weights="jobs",
        cutoffs=CUTOFFS_MIN,
        reverse=band.direction == "to_home",
        transport_modes=["walk", "transit"],
        departure=band.departure(weekday, saturday),
        departure_time_window=dt.timedelta(minutes=band.window_min),
        percentiles=PERCENTILES,
    )
    return {
        f"jobs_{cut}_transit_{band.key}_p{p}": counts[f"jobs_{cut}_p{p}"].to_numpy()
        for cut in CUTOFFS_MIN
        for p in PERCENTILES
    }


def forward_indicators(
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
    """The indicators of trips **from** the cells: every one but the ``to_home`` bands'.

    Each cell's figures depend on that cell alone, so the cells may be split in parts
    computed anywhere and put back together (:func:`finish_indicators`). Counts are raw
    (no ``share_`` columns yet).

    Returns
    -------
    pandas.DataFrame
        ``cell_id``, then the jobs counts and the minutes to the nearest services.
    """
    report = progress or no_progress
    origins = _origins(cells)
    out: dict[str, np.ndarray] = {"cell_id": origins["id"].to_numpy()}
    forward = [b for b in bands if b.direction != "to_home"]
    steps = sum(2 if _street_mode(m) else 1 + len(forward) for m in modes)
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        report(label, min(1.0, done / max(1, steps)))

    peak = _peak(bands)
    categories = (
        sorted(set(services["category"].astype(str)))
        if services is not None and len(services)
        else []
    )
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
            for cut, column in zip(CUTOFFS_MIN, _jobs_columns(mode), strict=True):
                out[column] = counts[f"jobs_{cut}"].to_numpy()
            tick(label)
            if categories:
                near = nearest_opportunity(
                    network,
                    origins,
                    services,  # categories: not None
                    by="category",
                    transport_modes=[mode],
                    departure=when,
                    departure_time_window=dt.timedelta(minutes=1),
                    max_time=dt.timedelta(minutes=SERVICE_MAX_MIN),
                )
                for category in categories:
                    out[f"{category}_{mode}"] = near[category].to_numpy()
            tick(label)
            continue
        for band in forward:
            out.update(_band_counts(network, origins, jobs, band, weekday, saturday))
            tick(label)
        if categories and peak is not None:
            near = nearest_opportunity(
                network,
                origins,
                services,  # categories: not None
                by="category",
                transport_modes=["walk", "transit"],
                departure=peak.departure(weekday, saturday),
                departure_time_window=dt.timedelta(minutes=peak.window_min),
                max_time=dt.timedelta(minutes=SERVICE_MAX_MIN),
            )
            for category in categories:
                out[f"{category}_transit"] = near[category].to_numpy()
        tick(label)
    return pd.DataFrame(out)


def reverse_job_counts(
    network: TransportNetwork,
    cells: gpd.GeoDataFrame,
    jobs: gpd.GeoDataFrame,
    weekday: dt.date,
    saturday: dt.date,
    *,
    bands: Sequence[TimeBand] = BANDS,
) -> pd.DataFrame:
    """The ``to_home`` bands' counts: the jobs **from which** each cell is reached.

    The searches run from the jobs, so it is the jobs that may be split in parts: each
    part gives every cell the jobs of that part, and the parts add up (in a fixed order:
    :func:`finish_indicators`). Without public transport or a ``to_home`` band: only
    ``cell_id``.
    """
    origins = _origins(cells)
    out: dict[str, np.ndarray] = {"cell_id": origins["id"].to_numpy()}
    for band in (b for b in bands if b.direction == "to_home"):
        out.update(_band_counts(network, origins, jobs, band, weekday, saturday))
    return pd.DataFrame(out)


def finish_indicators(
    forward: pd.DataFrame,
    reverse: Sequence[pd.DataFrame],
    total_jobs: float,
    *,
    modes: Sequence[str] = MODES,
    bands: Sequence[TimeBand] = BANDS,
) -> pd.DataFrame:
    """Put the parts together: the table of :func:`access_indicators`.

    Parameters
    ----------
    forward
        :func:`forward_indicators` of every cell (its parts concatenated, in cell order).
    reverse
        :func:`reverse_job_counts` of each part of the jobs, every cell in the same order
        as ``forward``; added in the order given.
    total_jobs
        The territory's jobs (the denominator of the shares).
    modes, bands
        What was computed.
    """
    out: dict[str, np.ndarray] = {"cell_id": forward["cell_id"].to_numpy()}
    late: dict[str, np.ndarray] = {}
    for part in reverse:
        if not part["cell_id"].equals(forward["cell_id"]):
            raise ValueError("reverse counts of other cells than the forward indicators")
        for column in part.columns[1:]:
            values = part[column].to_numpy(dtype=np.float64)
            late[column] = late[column] + values if column in late else values.copy()
    for mode in modes:
        if _street_mode(mode):
            names = _jobs_columns(mode)
        else:
            names = [c for band in bands for c in _band_columns(band)]
        for column in names:
            if column in forward.columns:
                out[column] = forward[column].to_numpy()
            elif column in late:
                out[column] = late[column]
            else:
                raise ValueError(f"no part gives {column}")
        services = sorted(
            c for c in forward.columns if c.endswith(f"_{mode}") and not c.startswith("jobs_")
        )
        for column in services:
            out[column] = forward[column].to_numpy()
    for column in [c for c in out if c.startswith("jobs_")]:
        values = np.asarray(out[column], dtype=np.float64)
        out[f"share_{column}"] = values / total_jobs if total_jobs else np.full(len(values), np.nan)
    peak = _peak(bands)
    if "car" in modes and "transit" in modes and peak is not None:
        transit = np.asarray(out[f"jobs_45_transit_{peak.key}_p50"], dtype=np.float64)
        out["car_dependency"] = np.asarray(out["jobs_45_car"], dtype=np.float64) / np.maximum(
            transit, 1.0
        )
    return pd.DataFrame(out)


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

    :func:`forward_indicators` and :func:`reverse_job_counts` in one go, then
    :func:`finish_indicators`.

    Parameters
    ----------
    network
        The territory's network.
    cells
        The cells (``cell_id`` and polygons).
    jobs
        Points with an ``id`` and ``jobs`` (:func:`job_points`).
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
    forward = forward_indicators(
        network,
        cells,
        jobs,
        services,
        weekday,
        saturday,
        modes=modes,
        bands=bands,
        progress=progress,
    )
    reverse = (
        [reverse_job_counts(network, cells, jobs, weekday, saturday, bands=bands)]
        if "transit" in modes
        else []
    )
    total_jobs = float(pd.to_numeric(jobs["jobs"], errors="coerce").fillna(0).sum())
    return finish_indicators(forward, reverse, total_jobs, modes=modes, bands=bands)
