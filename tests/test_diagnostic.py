"""The diagnostic on a tiny hand-made territory, against values computed by hand.

The territory is the shared hand-made line (``handmade.py``: one 9.6 km street, a bus
A (3 km) -> B (6 km) every 10 minutes 07:00-11:00, riding 6 minutes) with four populated
cells on it, four job sites and a France Travail agency, in two communes:

=====  ======  ==========  =====  ======  =============================
cell   x (m)   households  poor   people  commune
=====  ======  ==========  =====  ======  =============================
W      100     50          10     120     Ouest (x < 5 km)
A      3000    30          20     70      Ouest (on stop A)
F      8000    40          5      90      Est
E      9000    5           1      12      Est (under 11 households)
=====  ======  ==========  =====  ======  =============================

Jobs: 100 at 350 m, 50 at 3,200 m, 200 at 6,300 m (300 m past B), 30 at 8,400 m.

The reference is written out here, independently of the engine's journey search: each
street leg is the street engine's own time between two points (checked against networkx
elsewhere); a public transport journey leaving at a minute walks to A, boards the first
bus leaving at least 60 s later, rides to B and walks on (at most 2 km), or walks all the
way; the band's median and 80th percentile are R5's order statistics of the 120
per-minute times; "within" is strictly under the cut-off in whole minutes.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from handmade import BUS_EVERY_S, BUS_FIRST_S, BUS_LAST_S, LAT, RIDE_S, bus_feed, leg_s, line_pbf
from handmade import lon_at as lon_at_m

from parcours.accessibility import TransportNetwork
from parcours.accessibility.network import MAX_EGRESS_WALK_M
from parcours.accessibility.params import TransportMode
from parcours.accessibility.transit import percentiles_r5
from parcours.diagnostic import BANDS, Diagnostic, run_diagnostic
from parcours.diagnostic.bands import study_dates
from parcours.diagnostic.indicators import CUTOFFS_MIN
from parcours.diagnostic.secrecy import leaks
from parcours.territories import Territory, Workspace, create_territory, load_sources

TUESDAY = dt.date(2014, 5, 13)
SATURDAY = dt.date(2014, 5, 17)
CELLS = {  # id: (x_m, households, poor households, people, commune)
    "W": (100.0, 50.0, 10.0, 120.0, "44901"),
    "A": (3000.0, 30.0, 20.0, 70.0, "44901"),
    "F": (8000.0, 40.0, 5.0, 90.0, "44902"),
    "E": (9000.0, 5.0, 1.0, 12.0, "44902"),
}
JOBS = {350.0: 100.0, 3200.0: 50.0, 6300.0: 200.0, 8400.0: 30.0}
AGENCY_M = 6100.0
STOP_A_M, STOP_B_M = 3000.0, 6000.0
WALK, BIKE, CAR = TransportMode.WALK, TransportMode.BIKE, TransportMode.CAR


def _point(x_m: float) -> shapely.Point:
    return shapely.Point(lon_at_m(x_m), LAT)


def _in(crs: object, geometries: list[shapely.Geometry]) -> gpd.GeoSeries:
    return gpd.GeoSeries(geometries, crs=4326).to_crs(crs)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Territory:
    folder = tmp_path_factory.mktemp("tiny")
    line_pbf(folder / "line.osm.pbf")
    bus_feed(folder / "bus.zip")
    workspace = Workspace(folder / "home")
    bbox = f"{lon_at_m(-400):.6f},{LAT - 0.01},{lon_at_m(10_000):.6f},{LAT + 0.01}"
    create_territory(workspace, "tiny", bbox=bbox, buffer_km=0)
    load_sources(
        workspace, "tiny", {"osm": [folder / "line.osm.pbf"], "gtfs": [folder / "bus.zip"]}
    )
    crs = workspace.open("tiny").crs
    centres = _in(crs, [_point(x) for x, *_ in CELLS.values()])
    population = gpd.GeoDataFrame(
        {
            "cell_id": list(CELLS),
            "households": [c[1] for c in CELLS.values()],
            "poor_households": [c[2] for c in CELLS.values()],
            "population": [c[3] for c in CELLS.values()],
            "income_sum_eur": [c[3] * 20_000.0 for c in CELLS.values()],
            "imputed": [False, False, False, True],
        },
        geometry=centres.buffer(100.0, cap_style="square").to_numpy(),
        crs=crs,
    )
    jobs = gpd.GeoDataFrame(
        {"siret": [f"1234567800{i:04d}" for i in range(len(JOBS))], "jobs": list(JOBS.values())},
        geometry=_in(crs, [_point(x) for x in JOBS]).to_numpy(),
        crs=crs,
    )
    services = gpd.GeoDataFrame(
        {"category": ["france_travail"], "name": ["Agence France Travail"]},
        geometry=_in(crs, [_point(AGENCY_M)]).to_numpy(),
        crs=crs,
    )
    west = shapely.box(lon_at_m(-400), LAT - 0.01, lon_at_m(5000), LAT + 0.01)
    east = shapely.box(lon_at_m(5000), LAT - 0.01, lon_at_m(10_000), LAT + 0.01)
    communes = gpd.GeoDataFrame(
        {
            "insee": ["44901", "44902"],
            "name": ["Ouest", "Est"],
            "epci_siren": ["244900001", "244900001"],
            "epci_name": ["CC de la Ligne", "CC de la Ligne"],
        },
        geometry=_in(crs, [west, east]).to_numpy(),
        crs=crs,
    )
    with workspace.transaction("tiny") as tx:
        for name, frame in (
            ("population", population),
            ("jobs", jobs),
            ("services", services),
            ("communes", communes),
        ):
            tx.write_layer(name, frame, sources=[], reader="test")
    return workspace.open("tiny")


@pytest.fixture(scope="module")
def diagnostic(tiny: Territory) -> Diagnostic:
    return run_diagnostic(tiny, date=TUESDAY)


@pytest.fixture(scope="module")
def legs(tiny: Territory) -> dict[tuple[TransportMode, float, float], float]:
    """Street leg seconds between every two places of the case, per mode (memoised)."""
    network = TransportNetwork(tiny)

    class Legs(dict):  # type: ignore[type-arg]
        def __missing__(self, key: tuple[TransportMode, float, float]) -> float:
            mode, a_m, b_m = key
            self[key] = leg_s(network, mode, a_m, b_m)
            return float(self[key])

    return Legs()


def _minute(seconds: float) -> float:
    return math.floor(seconds / 60.0) if math.isfinite(seconds) else math.inf


def _transit_s(legs: dict, origin_m: float, dest_m: float, departure_s: int) -> float:
    """The reference public transport journey (seconds), walking all the way competing."""
    best = legs[WALK, origin_m, dest_m]
    at_a = departure_s + legs[WALK, origin_m, STOP_A_M]
    boards = [t for t in range(BUS_FIRST_S, BUS_LAST_S + 1, BUS_EVERY_S) if t >= at_a + 60]
    if boards and abs(dest_m - STOP_B_M) <= MAX_EGRESS_WALK_M:
        best = min(best, boards[0] + RIDE_S + legs[WALK, STOP_B_M, dest_m] - departure_s)
    return best


def _band_minutes(legs: dict, origin_m: float, dest_m: float, start_s: int) -> np.ndarray:
    """p50 and p80 of the band's 120 per-minute journeys, whole minutes."""
    times = np.array(
        [[_transit_s(legs, origin_m, dest_m, start_s + 60 * m)] for m in range(120)], dtype=float
    )
    return np.floor(percentiles_r5(times, (50, 80))[:, 0] / 60.0)


def test_study_dates(tiny: Territory) -> None:
    # The feed runs every day of 2014: its first Tuesday, and the Saturday after.
    assert study_dates(tiny) == (dt.date(2014, 1, 7), dt.date(2014, 1, 11))
    assert study_dates(tiny, TUESDAY) == (TUESDAY, SATURDAY)


def test_street_indicators_equal_the_hand_count(diagnostic: Diagnostic, legs: dict) -> None:
    cells = diagnostic.cells.set_index("cell_id")
    for mode, name in ((WALK, "walk"), (BIKE, "bike"), (CAR, "car")):
        for cell, (x_m, *_) in CELLS.items():
            for cut in CUTOFFS_MIN:
                expected = sum(
                    jobs for job_m, jobs in JOBS.items() if _minute(legs[mode, x_m, job_m]) < cut
                )
                assert cells.loc[cell, f"jobs_{cut}_{name}"] == expected, (cell, name, cut)
                share = cells.loc[cell, f"share_jobs_{cut}_{name}"]
                assert share == pytest.approx(expected / sum(JOBS.values()))
    # Not trivial: in 30 minutes from W, walking reaches 100 jobs, cycling 150, driving 380.
    assert cells.loc["W", "jobs_30_walk"] == 100
    assert cells.loc["W", "jobs_30_bike"] == 150
    assert cells.loc["W", "jobs_30_car"] == 380


@pytest.mark.parametrize("band", [b.key for b in BANDS])
def test_transit_bands_equal_the_hand_journeys(
    diagnostic: Diagnostic, legs: dict, band: str
) -> None:
    spec = next(b for b in BANDS if b.key == band)
    start_s = spec.start.hour * 3600 + spec.start.minute * 60
    cells = diagnostic.cells.set_index("cell_id")
    for cell, (x_m, *_) in CELLS.items():
        for cut in CUTOFFS_MIN:
            for k, p in enumerate((50, 80)):
                expected = 0.0
                for job_m, jobs in JOBS.items():
                    if spec.direction == "to_home":  # from the job, leaving 21:00-23:00
                        minutes = _band_minutes(legs, job_m, x_m, start_s)
                    else:
                        minutes = _band_minutes(legs, x_m, job_m, start_s)
                    if minutes[k] < cut:
                        expected += jobs
                column = f"jobs_{cut}_transit_{band}_p{p}"
                assert cells.loc[cell, column] == expected, (cell, column)


def test_the_bus_matters_at_peak_and_on_saturday_only(diagnostic: Diagnostic) -> None:
    cells = diagnostic.cells.set_index("cell_id")
    # From A the bus brings the 200 jobs past B within 30 minutes at the peak ...
    assert cells.loc["A", "jobs_30_transit_peak_p50"] == 250
    assert cells.loc["A", "jobs_30_walk"] == 50
    assert cells.loc["A", "jobs_45_transit_peak_p80"] == 350
    # On Saturday the buses stop at 11:00, in the middle of the 10:00-12:00 window: the
    # median (R5's 61st of 120 minutes) already walks. Early and late there is no bus.
    for band in ("saturday", "early", "late"):
        assert cells.loc["A", f"jobs_45_transit_{band}_p50"] == cells.loc["A", "jobs_45_walk"]


def test_nearest_agency_and_car_dependency(diagnostic: Diagnostic, legs: dict) -> None:
    cells = diagnostic.cells.set_index("cell_id")
    for cell, (x_m, *_) in CELLS.items():
        walk = _minute(legs[WALK, x_m, AGENCY_M])
        got = cells.loc[cell, "france_travail_walk"]
        assert (walk >= 90 and np.isnan(got)) or got == walk, cell
        peak = next(b for b in BANDS if b.key == "peak")
        start_s = peak.start.hour * 3600
        times = np.array(
            [[_transit_s(legs, x_m, AGENCY_M, start_s + 60 * m)] for m in range(120)], dtype=float
        )
        median = _minute(percentiles_r5(times, (50,))[0, 0])
        got = cells.loc[cell, "france_travail_transit"]
        assert (median >= 90 and np.isnan(got)) or got == median, cell
        transit = max(cells.loc[cell, "jobs_45_transit_peak_p50"], 1.0)
        assert cells.loc[cell, "car_dependency"] == pytest.approx(
            cells.loc[cell, "jobs_45_car"] / transit
        )


def test_offer_near_each_cell(diagnostic: Diagnostic) -> None:
    cells = diagnostic.cells.set_index("cell_id")
    # Stop A: a bus every 10 minutes 07:00-11:00 (25 departures); B is the terminus.
    assert cells.loc["A", "departures_500m"] == 25
    assert (cells.loc["A", "first_departure"], cells.loc["A", "last_departure"]) == (
        "07:00",
        "11:00",
    )
    assert not cells.loc["A", "frequent_stop_500m"]  # nothing from 11:00 to 19:00
    assert not cells.loc["A", "no_service"]
    assert cells.loc["A", "no_service_late"] and cells.loc["A", "no_service_early"]
    assert not cells.loc["A", "no_service_peak"] and not cells.loc["A", "no_service_saturday"]
    for far in ("W", "F", "E"):  # no served stop within 1 km (B is 2 km from F)
        assert cells.loc[far, "no_service"] and cells.loc[far, "departures_500m"] == 0


def test_secret_hides_the_small_cell_and_its_neighbour(diagnostic: Diagnostic) -> None:
    # E (5 households) is hidden; F too, or Est's total minus F would give E.
    assert sorted(diagnostic.published_cells["cell_id"]) == ["A", "W"]
    assert diagnostic.summary["hidden_cells_primary"] == 1
    assert diagnostic.summary["hidden_cells_secondary"] == 1
    cells = diagnostic.cells
    areas = {"commune": cells["commune"], "epci": cells["epci"]}
    assert leaks(cells["households"], areas, diagnostic.secrecy) == []
    # Est (45 households together) is published, as a mean over F and E.
    communes = diagnostic.areas["commune"].set_index("area")
    assert set(communes.index) == {"44901", "44902"}
    assert communes.loc["44902", "households"] == 45
    f_jobs, e_jobs = cells.set_index("cell_id").loc[["F", "E"], "jobs_45_walk"]
    assert communes.loc["44902", "jobs_45_walk_pop"] == pytest.approx(
        (90 * f_jobs + 12 * e_jobs) / 102
    )
    assert communes.loc["44902", "jobs_45_walk_poor"] == pytest.approx(
        (5 * f_jobs + 1 * e_jobs) / 6
    )


def test_area_means_and_equity(diagnostic: Diagnostic) -> None:
    cells = diagnostic.cells.set_index("cell_id")
    column = "share_jobs_45_transit_peak_p50"
    territory = diagnostic.areas["territory"].iloc[0]
    pop = cells["population"]
    assert territory[f"{column}_pop"] == pytest.approx((cells[column] * pop).sum() / pop.sum())
    row = diagnostic.equity.set_index("indicator").loc[column]
    poor = cells["poor_households"]
    assert row["mean_poor_households"] == pytest.approx((cells[column] * poor).sum() / poor.sum())
    assert 0.0 <= row["gini"] <= 1.0
    # The priority list ranks published cells only, the most in need first.
    assert set(diagnostic.priority["cell_id"]) <= {"A", "W"}
    assert list(diagnostic.priority["need"]) == sorted(diagnostic.priority["need"], reverse=True)


def test_imputed_flag_is_carried(diagnostic: Diagnostic) -> None:
    assert diagnostic.cells.set_index("cell_id").loc["E", "imputed"]
    assert not diagnostic.published_cells["imputed"].any()


def test_jobs_are_grouped_by_200_m_cell_at_their_weighted_centroid() -> None:
    from parcours.diagnostic.indicators import job_points

    # Two establishments in one 200 m cell of EPSG:3035, one in the next, one without jobs.
    base_x, base_y = 3_500_020.0, 2_800_020.0
    frame = gpd.GeoDataFrame(
        {"jobs": [30.0, 10.0, 5.0, 0.0]},
        geometry=gpd.points_from_xy(
            [base_x, base_x + 100.0, base_x + 250.0, base_x + 10.0], [base_y] * 4
        ),
        crs=3035,
    )
    points = job_points(frame)
    assert list(points["id"]) == [
        "CRS3035RES200mN2800000E3500000",
        "CRS3035RES200mN2800000E3500200",
    ]
    assert list(points["jobs"]) == [40.0, 5.0] and list(points["establishments"]) == [2, 1]
    assert points.geometry.x.iloc[0] == pytest.approx(base_x + 25.0)  # (30*0 + 10*100) / 40
    assert points.geometry.x.iloc[1] == pytest.approx(base_x + 250.0)


def test_comparison_puts_two_territories_side_by_side(
    tiny: Territory, diagnostic: Diagnostic, tmp_path: Path
) -> None:
    from parcours.maps.report import write_comparison

    # The same line without its bus: public transport is walking there.
    workspace = Workspace(tiny.path.parent)
    bbox = tiny.definition["bbox"]
    create_territory(workspace, "nobus", bbox=",".join(str(v) for v in bbox), buffer_km=0)
    folder = tmp_path / "src"
    folder.mkdir()
    line_pbf(folder / "line.osm.pbf")
    load_sources(workspace, "nobus", {"osm": [folder / "line.osm.pbf"]})
    with workspace.transaction("nobus") as tx:
        for name in ("population", "jobs", "services", "communes"):
            tx.write_layer(name, tiny.layer(name), sources=[], reader="test")
    other = run_diagnostic(workspace.open("nobus"), date=TUESDAY)
    assert "jobs_30_transit_peak_p50" not in other.cells.columns  # no GTFS: no transit
    page, csv = write_comparison([diagnostic, other], tmp_path / "out", lang="en")
    table = pd.read_csv(csv).set_index("indicator")
    assert list(table.columns) == ["tiny", "nobus"]
    assert (
        table.loc["share_jobs_45_walk_pop", "tiny"] == table.loc["share_jobs_45_walk_pop", "nobus"]
    )
    assert np.isnan(table.loc["share_jobs_45_transit_peak_p50_pop", "nobus"])
    assert table.loc["share_jobs_45_transit_peak_p50_pop", "tiny"] == pytest.approx(
        diagnostic.areas["territory"].iloc[0]["share_jobs_45_transit_peak_p50_pop"]
    )
    # A territory without public transport still gets its report and GeoPackage.
    from parcours.maps import write_outputs

    outputs = write_outputs(other, tmp_path / "nobus", lang="fr")
    assert "Secret statistique" in outputs.report.read_text("utf-8")
    html = page.read_text("utf-8")
    assert "Territory comparison" in html and "nobus" in html and "<svg" in html
