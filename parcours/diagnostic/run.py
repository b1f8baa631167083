"""The territorial diagnostic of one territory: indicators, areas, equity, priorities.

:func:`run_diagnostic` computes, for the populated cells of a loaded territory, the
access indicators (:mod:`~parcours.diagnostic.indicators`) and the public transport offer
(:mod:`~parcours.diagnostic.offer`); then the means per commune, EPCI, employment zone and
for the territory (:mod:`~parcours.diagnostic.equity`), the equity measures and the
priority list; and applies the statistical secret (:mod:`~parcours.diagnostic.secrecy`)
to everything meant for a committee: :attr:`Diagnostic.published_cells` and
:attr:`Diagnostic.areas` hold only what may be shown.

Library tables keep English column names; the labels a committee reads are applied where
things are shown (``parcours.maps``: maps, report; the CLI).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import STRtree

from parcours.accessibility import TransportNetwork, isochrones
from parcours.accessibility.streets import MAX_SNAP_M
from parcours.diagnostic.bands import BANDS, PERCENTILES, TimeBand, study_dates
from parcours.diagnostic.cells import CELL_COLUMNS, diagnostic_cells
from parcours.diagnostic.commuting import modal_shares
from parcours.diagnostic.equity import area_means, gini, palma_ratio
from parcours.diagnostic.indicators import (
    CUTOFFS_MIN,
    MODES,
    SERVICE_CATEGORIES,
    finish_indicators,
    forward_indicators,
    job_points,
    opportunity_points,
    reverse_job_counts,
)
from parcours.diagnostic.offer import cell_offer
from parcours.diagnostic.secrecy import (
    MIN_HOUSEHOLDS,
    MIN_PEOPLE,
    Publication,
    is_secret,
    publication,
)
from parcours.diagnostic.shifts import shift_access
from parcours.errors import InputError
from parcours.i18n import tr
from parcours.progress import ProgressFn, no_progress
from parcours.territories import Territory
from parcours.territories.sources import CASELOAD_LAYER

__all__ = [
    "AREA_TYPES",
    "CELLS_PER_PART",
    "JOBS_PER_PART",
    "Diagnostic",
    "DiagnosticPlan",
    "Landmarks",
    "area_tables",
    "assemble_diagnostic",
    "check_inputs",
    "headline_columns",
    "landmark_access",
    "plan_diagnostic",
    "region_areas",
    "run_diagnostic",
]

#: The areas the cells are grouped in (cells' column -> its name column).
AREA_TYPES: Final = {
    "commune": "commune_name",
    "epci": "epci_name",
    "employment_zone": "employment_zone_name",
}
#: Cut-offs of the isochrones from the landmarks, minutes.
ISOCHRONE_CUTOFFS_MIN: Final = (15, 30, 45)
#: How many cells the priority list holds.
PRIORITY_CELLS: Final = 20
#: Cells per part of the searches from the cells (one task each on Dask).
CELLS_PER_PART: Final = 250
#: Job points per part of the searches from the jobs (the ``to_home`` bands).
JOBS_PER_PART: Final = 250


@dataclass
class Diagnostic:
    """A territory's diagnostic (see the module's docstring).

    Attributes
    ----------
    territory
        The territory's name.
    weekday, saturday
        The study dates.
    modes, bands
        What was computed.
    cells
        Every populated cell with its indicators (**not** for publication: some rest on
        fewer than 11 households).
    published_cells
        The cells that may be shown, with their indicators.
    areas
        Per area type (``commune``, ``epci``, ``employment_zone``, ``territory``), the
        published means (secret areas left out).
    equity
        Per key indicator: Gini, Palma ratio, poor vs all, over the territory.
    priority
        Published cells ranked by need: poor households times the shortfall of their
        access (jobs within 45 minutes by public transport at peak, median) from the
        territory's mean per resident; cells at or above the mean are not listed.
    stops
        The stops with their daily offer (for maps).
    secrecy
        The cells and areas hidden, and why.
    summary
        Headline figures for the report (all published).
    sources
        The territory's sources as its manifest records them.
    commuting
        What residents actually do (INSEE MOBPRO, when the territory loaded it): per
        commune of the cells and for the territory, workers and the modal shares of
        home-to-work trips (:func:`~parcours.diagnostic.commuting.modal_shares`), with
        the commune's name.
    landmarks
        The places the report looks from: the main job zone (the 200 m cell with the
        most jobs, at its jobs' weighted centroid) and the France Travail agency nearest
        to it, if any (``id``, ``kind``, ``name``, point).
    isochrones
        From each landmark, the areas reached within :data:`ISOCHRONE_CUTOFFS_MIN` by
        public transport leaving in the peak band (median over its first hour), or on
        foot without public transport (``id``, ``kind``, ``mode``, ``cutoff``, polygon).
    caseload
        The platform's caseload, aggregated by the matching (``parcours match
        --caseload``): per commune of residence over at least 11 people, the shares whose
        trips are feasible now, with a solution, or not (None when not computed).
    shifts
        Arriving on time at the main job zone (:func:`~parcours.diagnostic.shifts.shift_access`):
        the share of residents who can be there by 05:30 and by 08:30, per mode.
    indicators
        The names of the indicator columns of :attr:`cells`.
    outlines
        Per area type, the outline of each published area (``area``, polygon; the
        loaded communes and employment zones, EPCIs as the union of their communes).
    """

    territory: str
    weekday: dt.date
    saturday: dt.date
    modes: tuple[str, ...]
    bands: tuple[TimeBand, ...]
    cells: gpd.GeoDataFrame
    published_cells: gpd.GeoDataFrame
    areas: dict[str, pd.DataFrame]
    equity: pd.DataFrame
    priority: pd.DataFrame
    secrecy: Publication
    summary: dict[str, Any] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    outlines: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    commuting: pd.DataFrame | None = None
    landmarks: gpd.GeoDataFrame | None = None
    isochrones: gpd.GeoDataFrame | None = None
    shifts: pd.DataFrame | None = None
    caseload: pd.DataFrame | None = None
    indicators: tuple[str, ...] = ()


def headline_columns(modes: Sequence[str], bands: Sequence[TimeBand]) -> list[str]:
    """The jobs indicators of the report's tables: 45 minutes, each mode and band (p50)."""
    out = []
    for mode in modes:
        if mode == "transit":
            out += [f"share_jobs_45_transit_{band.key}_p50" for band in bands]
        else:
            out.append(f"share_jobs_45_{mode}")
    return out


def _services(territory: Territory) -> gpd.GeoDataFrame | None:
    parts: list[gpd.GeoDataFrame] = []
    if territory.has_layer("services"):
        services = territory.layer("services")
        parts.append(gpd.GeoDataFrame(services[["category", "geometry"]], geometry="geometry"))
    for layer, category in (("carpool", "carpool"), ("bikeshare", "bikeshare")):
        if territory.has_layer(layer):
            frame = territory.layer(layer)
            parts.append(
                gpd.GeoDataFrame(
                    {"category": [category] * len(frame)},
                    geometry=frame.geometry.to_numpy(),
                    crs=frame.crs,
                )
            )
    if not parts:
        return None
    crs = parts[0].crs
    points = gpd.GeoDataFrame(
        pd.concat([p.to_crs(crs) for p in parts], ignore_index=True), geometry="geometry", crs=crs
    )
    return opportunity_points(points)


def _landmarks(
    jobs: gpd.GeoDataFrame, services: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame | None:
    """The main job zone and the France Travail agency nearest to it (see Diagnostic)."""
    if not len(jobs):
        return None
    top = jobs.sort_values(["jobs", "id"], ascending=[False, True]).iloc[0]
    rows = [
        {
            "id": "job_zone",
            "kind": "job_zone",
            "name": str(tr("principale zone d'emploi", "main job zone")),
            "jobs": float(top["jobs"]),
            "geometry": top.geometry,
        }
    ]
    if services is not None and "france_travail" in set(services["category"]):
        agencies = services[services["category"] == "france_travail"]
        nearest = agencies.geometry.distance(top.geometry).idxmin()
        name = agencies.loc[nearest].get("name") if "name" in agencies.columns else None
        rows.append(
            {
                "id": "france_travail",
                "kind": "france_travail",
                "name": str(name) if isinstance(name, str) and name else "France Travail",
                "jobs": np.nan,
                "geometry": agencies.loc[nearest].geometry,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=jobs.crs)


def _isochrones(
    network: TransportNetwork,
    landmarks: gpd.GeoDataFrame,
    weekday: dt.date,
    saturday: dt.date,
    peak: TimeBand | None,
    transit: bool,
) -> gpd.GeoDataFrame:
    """Isochrones from the landmarks (public transport at peak, or walking)."""
    start = (
        peak.departure(weekday, saturday)
        if peak is not None
        else dt.datetime.combine(weekday, dt.time(8, 0))
    )
    mode = "transit" if transit else "walk"
    frame = isochrones(
        network,
        landmarks[["id", "geometry"]],
        cutoffs=ISOCHRONE_CUTOFFS_MIN,
        transport_modes=["walk", "transit"] if transit else ["walk"],
        departure=start,
        departure_time_window=dt.timedelta(minutes=60),
    )
    kinds = landmarks.set_index("id")["kind"]
    frame = frame.assign(kind=frame["id"].map(kinds), mode=mode)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=landmarks.crs)


def _on_network(points: gpd.GeoDataFrame, streets: pd.DataFrame) -> tuple[Any, float]:
    """The points within snapping distance of a street, and what the others weigh.

    A territory's layers reach its buffer, its OSM extract may not: opportunities that no
    trip can reach are left out (and counted in the summary) rather than refused.
    Returns the kept points and the jobs (or, without ``jobs``, the points) left out.
    """
    lines = gpd.GeoSeries(streets.geometry, crs=getattr(streets, "crs", None)).to_crs(points.crs)
    tree = STRtree(lines.to_numpy())
    near, _ = tree.query(points.geometry.to_numpy(), predicate="dwithin", distance=MAX_SNAP_M)
    keep = np.zeros(len(points), dtype=bool)
    keep[near] = True
    left = points.loc[~keep]
    weight = float(left["jobs"].sum()) if "jobs" in left.columns else float(len(left))
    return points.loc[keep].reset_index(drop=True), weight


def _outlines(
    territory: Territory, areas: dict[str, pd.DataFrame], crs: Any
) -> dict[str, gpd.GeoDataFrame]:
    """The outline of each published area, from the territory's own layers."""
    parts: dict[str, gpd.GeoDataFrame] = {}
    if territory.has_layer("communes"):
        communes = territory.layer("communes")
        assert isinstance(communes, gpd.GeoDataFrame)
        communes = communes.to_crs(crs)
        parts["commune"] = communes.rename(columns={"insee": "area"})[["area", "geometry"]]
        if "epci_siren" in communes.columns:
            epci = communes.dropna(subset=["epci_siren"]).dissolve(by="epci_siren").reset_index()
            parts["epci"] = epci.rename(columns={"epci_siren": "area"})[["area", "geometry"]]
    if territory.has_layer("employment_zones"):
        zones = territory.layer("employment_zones")
        assert isinstance(zones, gpd.GeoDataFrame)
        zones = zones.to_crs(crs)
        parts["employment_zone"] = zones.rename(columns={"ze_code": "area"})[["area", "geometry"]]
    out = {}
    for name, frame in parts.items():
        if name in areas:
            frame = frame.assign(area=frame["area"].astype(str))
            keep = frame["area"].isin(set(areas[name]["area"]))
            out[name] = gpd.GeoDataFrame(frame[keep].reset_index(drop=True), crs=crs)
    return out


def _mask_shares(table: pd.DataFrame) -> pd.DataFrame:
    """Hide a share whose part or complement rests on too few households."""
    for column in [c for c in table.columns if c.endswith("_unreached_households")]:
        share = column.removesuffix("_households")
        part = table[column].to_numpy(dtype=np.float64)
        rest = table["households"].to_numpy(dtype=np.float64) - part
        hide = np.array([is_secret(a) or is_secret(b) for a, b in zip(part, rest, strict=True)])
        table.loc[hide, share] = np.nan
    return table.drop(columns=[c for c in table.columns if c.endswith("_unreached_households")])


def _flag_shares(cells: pd.DataFrame, flags: Sequence[str], by: str | None) -> pd.DataFrame:
    """Share of the population in each flagged state per area, hidden when too few."""
    key = pd.Series("territory", index=cells.index) if by is None else cells[by]
    rows = []
    for area, part in cells.groupby(key.astype("string"), dropna=True, sort=True):
        row: dict[str, Any] = {"area": str(area)}
        pop = part["population"].to_numpy(dtype=np.float64)
        hh = part["households"].to_numpy(dtype=np.float64)
        for flag in flags:
            on = part[flag].fillna(False).to_numpy(dtype=bool)
            hidden = is_secret(hh[on].sum()) or is_secret(hh[~on].sum())
            row[f"share_{flag}"] = (
                np.nan if hidden or not pop.sum() else float(pop[on].sum() / pop.sum())
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _parts(n: int, size: int) -> list[tuple[int, int]]:
    """``[first, last)`` row ranges of at most ``size`` rows; one (maybe empty) at least."""
    return [(a, min(n, a + size)) for a in range(0, n, size)] or [(0, 0)]


@dataclass(frozen=True)
class DiagnosticPlan:
    """What a territory's diagnostic computes, split in parts that can run anywhere.

    The costly searches come in parts: :meth:`forward_part` (trips from a range of the
    cells) and :meth:`reverse_part` (trips from a range of the jobs, the ``to_home``
    bands); :func:`landmark_access` is one more; :func:`assemble_diagnostic` puts them
    together. The parts are fixed by the plan (:data:`CELLS_PER_PART`,
    :data:`JOBS_PER_PART`), not by who runs them, so the same plan gives the same
    numbers in one process (:func:`run_diagnostic`) or on a cluster
    (``parcours.cluster``), to the last bit.

    Attributes
    ----------
    territory
        The territory's name.
    weekday, saturday, modes, bands
        What is computed.
    cells
        The populated cells (:func:`~parcours.diagnostic.cells.diagnostic_cells`).
    jobs, services
        The opportunities on the street network (services: None without any).
    jobs_off_network, services_off_network
        What was left out, off the streets (jobs, or points).
    cells_per_part, jobs_per_part
        The size of the parts. The cell parts give the same numbers whatever their size;
        the job parts are added up, so their size may change the last bits of the
        ``to_home`` counts: compare runs of the same sizes.
    """

    territory: str
    weekday: dt.date
    saturday: dt.date
    modes: tuple[str, ...]
    bands: tuple[TimeBand, ...]
    cells: gpd.GeoDataFrame
    jobs: gpd.GeoDataFrame
    services: gpd.GeoDataFrame | None
    jobs_off_network: float
    services_off_network: float
    cells_per_part: int = CELLS_PER_PART
    jobs_per_part: int = JOBS_PER_PART

    @property
    def cell_parts(self) -> list[tuple[int, int]]:
        """The row ranges of :attr:`cells`, one per :meth:`forward_part`."""
        return _parts(len(self.cells), self.cells_per_part)

    @property
    def job_parts(self) -> list[tuple[int, int]]:
        """The row ranges of :attr:`jobs`, one per :meth:`reverse_part`.

        None without public transport.
        """
        return _parts(len(self.jobs), self.jobs_per_part) if "transit" in self.modes else []

    def forward_part(self, network: TransportNetwork, index: int) -> pd.DataFrame:
        """:func:`~parcours.diagnostic.indicators.forward_indicators` of cell part ``index``."""
        first, last = self.cell_parts[index]
        return forward_indicators(
            network,
            self.cells.iloc[first:last],
            self.jobs,
            self.services,
            self.weekday,
            self.saturday,
            modes=self.modes,
            bands=self.bands,
        )

    def reverse_part(self, network: TransportNetwork, index: int) -> pd.DataFrame:
        """:func:`~parcours.diagnostic.indicators.reverse_job_counts` of job part ``index``."""
        first, last = self.job_parts[index]
        return reverse_job_counts(
            network,
            self.cells,
            self.jobs.iloc[first:last],
            self.weekday,
            self.saturday,
            bands=self.bands,
        )


def check_inputs(territory: Territory, modes: Sequence[str]) -> None:
    """Refuse an unknown mode or a territory without the layers a diagnostic needs.

    Raises
    ------
    InputError
        An unknown mode, or a missing ``streets``, ``population`` or ``jobs`` layer (the
        message says how to load it).
    """
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise InputError(
            tr(
                f"mode inconnu : {', '.join(unknown)} (attendus : {', '.join(MODES)})",
                f"unknown mode: {', '.join(unknown)} (expected: {', '.join(MODES)})",
            ),
            field="modes",
        )
    for needed in ("streets", "population", "jobs"):
        if not territory.has_layer(needed):
            territory.layer(needed)  # raises LayerNotFoundError: how to load it


def plan_diagnostic(
    territory: Territory,
    *,
    date: dt.date | None = None,
    modes: Sequence[str] = MODES,
    bands: Sequence[TimeBand] = BANDS,
    cells_per_part: int = CELLS_PER_PART,
    jobs_per_part: int = JOBS_PER_PART,
) -> DiagnosticPlan:
    """Check a territory and plan its diagnostic (see :func:`run_diagnostic`).

    ``cells_per_part`` and ``jobs_per_part``: see :class:`DiagnosticPlan`.

    Raises
    ------
    InputError
        A layer is missing, an unknown mode, or no populated cell.
    """
    check_inputs(territory, modes)
    has_transit = territory.has_layer("stop_times")
    chosen = tuple(m for m in modes if m != "transit" or has_transit)
    weekday, saturday = study_dates(territory, date)
    cells = diagnostic_cells(territory)
    if not len(cells):
        raise InputError(
            tr(
                "aucun carreau habité dans le périmètre du territoire",
                "no populated cell inside the territory's perimeter",
            ),
            field="population",
        )
    streets = territory.layer("streets")
    jobs, jobs_off = _on_network(job_points(territory.layer("jobs")), streets)
    services: gpd.GeoDataFrame | None = None
    services_off = 0.0
    every_service = _services(territory)
    if every_service is not None:
        services, services_off = _on_network(every_service, streets)
    return DiagnosticPlan(
        territory=territory.name,
        weekday=weekday,
        saturday=saturday,
        modes=chosen,
        bands=tuple(bands),
        cells=cells,
        jobs=jobs,
        services=services,
        jobs_off_network=jobs_off,
        services_off_network=services_off,
        cells_per_part=max(1, int(cells_per_part)),
        jobs_per_part=max(1, int(jobs_per_part)),
    )


@dataclass(frozen=True)
class Landmarks:
    """The report's views from its landmarks (see :class:`Diagnostic`).

    The landmarks, their isochrones and arriving on time at the main job zone (all None
    without jobs).
    """

    landmarks: gpd.GeoDataFrame | None
    isochrones: gpd.GeoDataFrame | None
    shifts: pd.DataFrame | None


def landmark_access(
    network: TransportNetwork, territory: Territory, plan: DiagnosticPlan
) -> Landmarks:
    """The landmarks, their isochrones and :func:`~parcours.diagnostic.shifts.shift_access`."""
    landmarks = _landmarks(plan.jobs, plan.services)
    if landmarks is None:
        return Landmarks(None, None, None)
    transit = "transit" in plan.modes
    peak = next((b for b in plan.bands if b.key == "peak"), None)
    frame = _isochrones(network, landmarks, plan.weekday, plan.saturday, peak, transit)
    shifts = shift_access(
        territory, landmarks.geometry.iloc[0], day=plan.weekday, modes=plan.modes, network=network
    )
    return Landmarks(landmarks, frame, shifts)


def area_tables(
    full: gpd.GeoDataFrame, indicator_columns: Sequence[str], bands: Sequence[TimeBand]
) -> tuple[dict[str, pd.DataFrame], Publication]:
    """The published means per area type and the statistical secret over ``full``.

    Parameters
    ----------
    full
        Every populated cell with its indicators and offer (:attr:`Diagnostic.cells`; for
        a region, the cells of all its territories).
    indicator_columns
        The indicators averaged.
    bands
        The time bands (their ``no_service_<band>`` flags).

    Returns
    -------
    tuple
        Per area type (:data:`AREA_TYPES` and ``territory``: the whole of ``full``), the
        table of the published areas; and the :class:`Publication` (what is hidden).
    """
    areas_of_cells = {name: full[name] for name in AREA_TYPES}
    secret = publication(full["households"], areas_of_cells)
    minutes = [
        c for c in indicator_columns if not c.startswith(("jobs_", "share_", "car_dependency"))
    ]
    flags = ["no_service", *[f"no_service_{b.key}" for b in bands], "frequent_stop_500m", "qpv"]
    means_of = [*indicator_columns, "departures_500m"]
    areas: dict[str, pd.DataFrame] = {}
    for name, label_column in [*AREA_TYPES.items(), ("territory", None)]:
        by = None if name == "territory" else name
        if by is not None and not full[by].notna().any():
            continue  # the territory did not load that layer
        table = area_means(full, means_of, by, minutes=minutes)
        table = _mask_shares(table).copy()  # one block again after the column writes
        table = table.merge(_flag_shares(full, flags, by), on="area", how="left")
        if label_column is not None:
            names = full[[name, label_column]].drop_duplicates(name).set_index(name)[label_column]
            table.insert(1, "name", table["area"].map(names).astype("string"))
        hidden = secret.unit_secret.get(name, set())
        table = table[~table["area"].isin(hidden)].reset_index(drop=True)
        areas[name] = table
    return areas, secret


def region_areas(
    cells: Sequence[gpd.GeoDataFrame], indicators: Sequence[str], bands: Sequence[TimeBand]
) -> tuple[dict[str, pd.DataFrame], Publication, gpd.GeoDataFrame, int]:
    """The published means of a region made of several territories' cells.

    The cells of all the territories (each a :attr:`Diagnostic.cells`) are put together,
    a cell in two territories counted once (the first territory's figures), then
    :func:`area_tables` runs over the whole: a commune, EPCI or employment zone spanning
    two territories is published once, over all its cells, and the statistical secret is
    applied to the region's own areas (``territory`` is then the whole region).

    Returns
    -------
    tuple
        The area tables, the :class:`Publication`, the region's cells (each once) and how
        many duplicate cells were left out.
    """
    frames = [frame for frame in cells if len(frame)]
    if not frames:
        raise ValueError("no cell to aggregate")
    crs = frames[0].crs
    full = pd.concat([frame.to_crs(crs) for frame in frames], ignore_index=True)
    repeated = full["cell_id"].duplicated(keep="first")
    full = gpd.GeoDataFrame(
        full.loc[~repeated].reset_index(drop=True), geometry="geometry", crs=crs
    )
    present = [c for c in indicators if c in full.columns]
    areas, secret = area_tables(full, present, bands)
    return areas, secret, full, int(repeated.sum())


def run_diagnostic(
    territory: Territory,
    *,
    date: dt.date | None = None,
    modes: Sequence[str] = MODES,
    bands: Sequence[TimeBand] = BANDS,
    progress: ProgressFn | None = None,
    cells_per_part: int = CELLS_PER_PART,
    jobs_per_part: int = JOBS_PER_PART,
) -> Diagnostic:
    """Compute the diagnostic of a loaded territory, in this process.

    :func:`plan_diagnostic`, every part of the plan in turn, :func:`landmark_access`,
    then :func:`assemble_diagnostic` (``parcours.cluster`` runs the same parts on Dask).

    Parameters
    ----------
    territory
        A territory with at least ``streets``, ``population`` and ``jobs`` layers (and
        GTFS for public transport).
    date
        The study weekday (default: the first Tuesday every feed serves; Saturday is the
        one after it).
    modes
        Among ``walk``, ``bike``, ``transit``, ``car``.
    bands
        The time bands (:data:`~parcours.diagnostic.bands.BANDS`).
    progress
        Called with ``(label, fraction)``.
    cells_per_part, jobs_per_part
        The parts' sizes (:class:`DiagnosticPlan`).

    Raises
    ------
    InputError
        A layer is missing, an unknown mode, or public transport without GTFS.
    """
    report = progress or no_progress
    report(tr("carreaux habités", "populated cells"), None)
    plan = plan_diagnostic(
        territory,
        date=date,
        modes=modes,
        bands=bands,
        cells_per_part=cells_per_part,
        jobs_per_part=jobs_per_part,
    )
    network = TransportNetwork(territory)
    steps = len(plan.cell_parts) + len(plan.job_parts)
    label = tr("accessibilité", "accessibility")
    forward = []
    for index in range(len(plan.cell_parts)):
        forward.append(plan.forward_part(network, index))
        report(label, len(forward) / steps)
    reverse = []
    for index in range(len(plan.job_parts)):
        reverse.append(plan.reverse_part(network, index))
        report(label, (len(forward) + len(reverse)) / steps)
    report(tr("isochrones et arrivée à l'heure", "isochrones and arriving on time"), None)
    views = landmark_access(network, territory, plan)
    return assemble_diagnostic(territory, plan, forward, reverse, views, progress=report)


def assemble_diagnostic(
    territory: Territory,
    plan: DiagnosticPlan,
    forward: Sequence[pd.DataFrame],
    reverse: Sequence[pd.DataFrame],
    views: Landmarks,
    *,
    progress: ProgressFn | None = None,
) -> Diagnostic:
    """Put a plan's parts together: areas, statistical secret, equity, priorities.

    Parameters
    ----------
    territory
        The planned territory.
    plan
        Its :class:`DiagnosticPlan`.
    forward
        :meth:`DiagnosticPlan.forward_part` of every cell part, in order.
    reverse
        :meth:`DiagnosticPlan.reverse_part` of every job part, in order.
    views
        :func:`landmark_access`.
    progress
        Called with ``(label, fraction)``.

    Raises
    ------
    ValueError
        Parts missing or of other cells than the plan's.
    """
    report = progress or no_progress
    if len(forward) != len(plan.cell_parts) or len(reverse) != len(plan.job_parts):
        raise ValueError(
            f"{plan.territory}: {len(forward)} cell parts and {len(reverse)} job parts given, "
            f"the plan has {len(plan.cell_parts)} and {len(plan.job_parts)}"
        )
    cells = plan.cells
    modes, bands = plan.modes, plan.bands
    weekday, saturday = plan.weekday, plan.saturday
    jobs, services = plan.jobs, plan.services
    ahead = pd.concat(list(forward), ignore_index=True)
    if not np.array_equal(ahead["cell_id"].astype(str).to_numpy(), cells["cell_id"].astype(str)):
        raise ValueError(f"{plan.territory}: the parts are not the plan's cells")
    ahead["cell_id"] = cells["cell_id"].astype(str).to_numpy()
    for index, part in enumerate(reverse):
        if not np.array_equal(part["cell_id"].astype(str).to_numpy(), ahead["cell_id"]):
            raise ValueError(f"{plan.territory}: job part {index} is not of the plan's cells")
    total_jobs = float(pd.to_numeric(jobs["jobs"], errors="coerce").fillna(0).sum())
    back = [part.assign(cell_id=ahead["cell_id"].to_numpy()) for part in reverse]
    indicators = finish_indicators(ahead, back, total_jobs, modes=modes, bands=bands)
    report(tr("offre de transport en commun", "public transport offer"), None)
    band_days = [(b, weekday if b.day == "weekday" else saturday) for b in bands]
    offer = cell_offer(territory, cells, weekday, band_days)
    full = cells.merge(indicators, on="cell_id").merge(offer, on="cell_id")
    full = gpd.GeoDataFrame(full, geometry="geometry", crs=cells.crs)

    indicator_columns = [c for c in indicators.columns if c != "cell_id"]
    areas, secret = area_tables(full, indicator_columns, bands)

    income = np.asarray(
        territory.layer("population")
        .set_index("cell_id")["income_sum_eur"]
        .reindex(full["cell_id"])
        if "income_sum_eur" in territory.layer("population").columns
        else np.full(len(full), np.nan),
        dtype=np.float64,
    )
    per_person = income / full["population"].to_numpy(dtype=np.float64)
    key = headline_columns(modes, bands)
    pop = full["population"].to_numpy(dtype=np.float64)
    poor = full["poor_households"].to_numpy(dtype=np.float64)
    equity_rows = []
    for column in key:
        values = full[column].to_numpy(dtype=np.float64)
        mean_all = float(np.nansum(values * pop) / pop[np.isfinite(values)].sum())
        mean_poor = float(np.nansum(values * poor) / poor[np.isfinite(values)].sum())
        equity_rows.append(
            {
                "indicator": column,
                "mean_population": mean_all,
                "mean_poor_households": mean_poor,
                "poor_vs_all": mean_poor / mean_all if mean_all else np.nan,
                "gini": gini(values, pop),
                "palma": palma_ratio(values, per_person, pop),
            }
        )
    equity = pd.DataFrame(equity_rows)

    published = full.loc[
        ~secret.cell_secret, [*CELL_COLUMNS, *indicator_columns, *offer.columns[1:], "geometry"]
    ]
    published = gpd.GeoDataFrame(
        published.reset_index(drop=True), geometry="geometry", crs=full.crs
    )
    access = (
        "share_jobs_45_transit_peak_p50"
        if "share_jobs_45_transit_peak_p50" in published
        else key[0]
    )
    # Low access: under the territory's mean per resident; need: poor households times
    # the shortfall relative to that mean. Cells at or above the mean are not listed.
    values = full[access].to_numpy(dtype=np.float64)
    weights = full["population"].to_numpy(dtype=np.float64)
    known = np.isfinite(values)
    mean_access = (
        float(np.sum(values[known] * weights[known]) / weights[known].sum())
        if weights[known].sum()
        else 0.0
    )
    shortfall = (
        np.clip(1.0 - published[access].fillna(0.0) / mean_access, 0.0, 1.0)
        if mean_access > 0
        else pd.Series(0.0, index=published.index)
    )
    need = published["poor_households"].fillna(0.0) * shortfall
    priority = (
        published.assign(need=need)
        .loc[lambda f: f["need"] > 0]
        .sort_values(["need", "cell_id"], ascending=[False, True])
        .head(PRIORITY_CELLS)[
            ["cell_id", "commune_name", "population", "poor_households", "qpv", access, "need"]
        ]
        .reset_index(drop=True)
    )
    territory_row = areas["territory"].iloc[0] if len(areas["territory"]) else None
    summary: dict[str, Any] = {
        "cells": len(full),
        "published_cells": len(published),
        "hidden_cells_primary": secret.primary_cells,
        "hidden_cells_secondary": secret.secondary_cells,
        "hidden_population": float(full.loc[secret.cell_secret, "population"].sum()),
        "population": float(full["population"].sum()),
        "jobs": float(pd.to_numeric(jobs["jobs"], errors="coerce").fillna(0).sum()),
        "min_households": MIN_HOUSEHOLDS,
        "jobs_off_network": plan.jobs_off_network,
        "services_off_network": plan.services_off_network,
        "cutoffs_min": list(CUTOFFS_MIN),
        "percentiles": list(PERCENTILES),
        "service_categories": [
            c for c in SERVICE_CATEGORIES if services is not None and c in set(services["category"])
        ],
    }
    if territory_row is not None:
        for column in key:
            summary[column] = territory_row.get(f"{column}_pop")
        summary["share_no_service"] = territory_row.get("share_no_service")
    manifest = territory.manifest
    sources = [
        {
            "layer": name,
            **{k: v for k, v in info.items() if k in ("source", "sources", "updated", "rows")},
        }
        for name, info in sorted(manifest.get("layers", {}).items())
        if isinstance(info, dict)
    ]
    landmarks, isochrone_frame, shifts = views.landmarks, views.isochrones, views.shifts
    commuting = None
    if territory.has_layer("commuting"):
        codes = sorted(full["commune"].dropna().astype(str).unique())
        commuting = modal_shares(territory.layer("commuting"), codes)
        names = full[["commune", "commune_name"]].drop_duplicates("commune")
        commuting = commuting.merge(names, on="commune", how="left")
    caseload = None
    if territory.has_layer(CASELOAD_LAYER):
        # aggregated by the matching (no person); the threshold is checked again here
        table = territory.layer(CASELOAD_LAYER)
        caseload = table[table["personnes"] >= MIN_PEOPLE].reset_index(drop=True)
    return Diagnostic(
        caseload=caseload,
        indicators=tuple(indicator_columns),
        landmarks=landmarks,
        isochrones=isochrone_frame,
        shifts=shifts,
        commuting=commuting,
        outlines=_outlines(territory, areas, full.crs),
        territory=territory.name,
        weekday=weekday,
        saturday=saturday,
        modes=tuple(modes),
        bands=bands,
        cells=full,
        published_cells=published,
        areas=areas,
        equity=equity,
        priority=priority,
        secrecy=secret,
        summary=summary,
        sources=sources,
    )
