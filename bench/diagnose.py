"""Benchmark: the whole ``parcours diagnose`` command, on the demo and on real Nantes data.

Cases (one table, one run):

* ``demo``: ``parcours demo`` (generate, load, shift table, diagnostic and its files) and
  then ``parcours diagnose demo`` alone, every mode and band, in a temporary
  ``PARCOURS_HOME``.
* ``nantes``: real open data of ``../shared/data`` loaded by the real readers: the central
  Nantes OSM extract (2014) as perimeter and streets, the **full** TAN feed (2014), the real
  INSEE Filosofi 2019 200 m cells of Nantes Métropole, the real BPE 2021 GPs of
  Loire-Atlantique and the real commune outlines; the study day is Tuesday 2014-05-13 (the
  feed's validity). The data folder has **no SIRENE extract**: the jobs are a proxy, one
  job per employer-like OSM point of interest of the extract (shops, offices, healthcare,
  and the amenities listed in ``EMPLOYER_AMENITIES``), so its job figures count such
  places, not jobs. Population is real (Filosofi), not synthetic.

* ``synthetic``: a generated territory of ``--cells`` populated 200 m cells (20,000 by
  default, about 800 km²): a street lattice every 200 m written as an OSM PBF, Filosofi-format
  cells (seeded populations, a poor share rising towards the centre, a few cells under 11
  households), 25 square communes in one EPCI, and job points; diagnosed walking and cycling
  (the case measures the report and the GIS files at the size of a large territory, not
  the engines). The report's size is measured, and its load time in headless Chromium
  (Playwright, Debian's ``/usr/bin/chromium``) when both are installed.

Each command runs in a subprocess; the table gives its wall seconds and the child's peak
RSS (``os.wait4``), and the diagnostic's summary figures.

Usage::

    .venv/bin/python bench/diagnose.py             # both cases (about a minute)
    .venv/bin/python bench/diagnose.py --only nantes
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import geopandas as gpd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PARCOURS = ROOT / ".venv" / "bin" / "parcours"
NANTES_BBOX = "-1.575,47.199,-1.536,47.222"  # the OSM extract's
EMPLOYER_AMENITIES = {
    "restaurant",
    "cafe",
    "bar",
    "pub",
    "fast_food",
    "bank",
    "pharmacy",
    "school",
    "college",
    "university",
    "kindergarten",
    "hospital",
    "clinic",
    "doctors",
    "dentist",
    "post_office",
    "townhall",
    "library",
    "theatre",
    "cinema",
    "police",
    "marketplace",
    "childcare",
    "social_facility",
    "courthouse",
    "fire_station",
}


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command, measuring wall time and the child's own peak RSS (MiB)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(command[1:3])} failed:\n{err.read().decode()[-3000:]}")
        return wall, usage.ru_maxrss / 1024.0, out.read().decode()


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "PARCOURS_HOME": str(home), "PARCOURS_LANG": "en"}


def _summary(folder: Path) -> dict[str, object]:
    territory = gpd.read_file(folder / "diagnostic.gpkg", layer="territory")
    row = territory.iloc[0]
    cells = gpd.read_file(folder / "diagnostic.gpkg", layer="cells")
    keys = [
        "share_jobs_45_walk_pop",
        "share_jobs_45_bike_pop",
        "share_jobs_45_transit_peak_p50_pop",
        "share_jobs_45_transit_early_p50_pop",
        "share_jobs_45_transit_late_p50_pop",
        "share_jobs_45_transit_saturday_p50_pop",
        "share_jobs_45_car_pop",
        "share_no_service",
        "gp_transit_pop",
    ]
    out: dict[str, object] = {
        "published cells": len(cells),
        "population": round(float(row["population"])),
        "report KiB": round((folder / "rapport.html").stat().st_size / 1024),
        "gpkg KiB": round((folder / "diagnostic.gpkg").stat().st_size / 1024),
    }
    for key in keys:
        if key in row.index:
            out[key] = round(float(row[key]), 3)
    return out


def demo(work: Path) -> list[tuple[str, float, float, dict[str, object]]]:
    env = _env(work / "home")
    rows = []
    wall, peak, _ = _timed([str(PARCOURS), "demo", "--out", str(work / "demo")], env)
    rows.append(("demo: parcours demo (generate, load, diagnose)", wall, peak, {}))
    out = work / "diag-demo"
    wall, peak, _ = _timed([str(PARCOURS), "diagnose", "demo", "--out", str(out)], env)
    rows.append(("demo: parcours diagnose demo", wall, peak, _summary(out)))
    return rows


def nantes(work: Path) -> list[tuple[str, float, float, dict[str, object]]]:
    env = _env(work / "home")
    rows = []
    _timed([str(PARCOURS), "territory", "create", "nantes", f"--bbox={NANTES_BBOX}"], env)
    folder = DATA / "france_nantes_tempus"
    wall, peak, _ = _timed(
        [
            str(PARCOURS),
            "territory",
            "load",
            "nantes",
            "--osm",
            str(folder / "nantes_subset_2014.osm.pbf"),
            "--gtfs",
            str(folder / "tan_nantes_gtfs_2014.zip"),
            "--population",
            str(
                DATA
                / "france_nantes_filosofi2019_carreaux"
                / "carreaux_200m_nantes_metropole_2019.csv"
            ),
            "--services",
            str(
                DATA
                / "france_loire_atlantique_bpe2021_sante"
                / "bpe21_D201_medecins_generalistes_dep44.csv"
            ),
            "--communes-file",
            str(DATA / "france_loire_atlantique_communes" / "communes-44-loire-atlantique.geojson"),
        ],
        env,
    )
    rows.append(("nantes: territory load (OSM, TAN, Filosofi, BPE, communes)", wall, peak, {}))
    from parcours.territories import Workspace

    pois = Workspace(work / "home").open("nantes").layer("pois")
    employer = (
        pois["shop"].notna()
        | pois["office"].notna()
        | pois["healthcare"].notna()
        | pois["amenity"].isin(EMPLOYER_AMENITIES)
    )
    jobs = gpd.GeoDataFrame(
        {"name": pois.loc[employer, "name"], "jobs": 1.0}, geometry=pois.loc[employer].geometry
    ).to_crs(4326)
    jobs_file = work / "jobs_osm_proxy.geojson"
    jobs.to_file(jobs_file, driver="GeoJSON")
    _timed([str(PARCOURS), "territory", "load", "nantes", "--jobs", str(jobs_file)], env)
    out = work / "diag-nantes"
    wall, peak, _ = _timed(
        [str(PARCOURS), "diagnose", "nantes", "--out", str(out), "--date", "2014-05-13"], env
    )
    summary = _summary(out)
    summary["jobs (OSM proxy)"] = len(jobs)
    rows.append(("nantes: parcours diagnose nantes", wall, peak, summary))
    return rows


def _synthetic_sources(work: Path, n_cells: int, seed: int) -> tuple[str, dict[str, Path]]:
    """Write the synthetic territory's sources; return its bbox and the files by kind."""
    import numpy as np
    import pandas as pd
    import shapely
    from pyproj import Transformer

    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_cells)))
    north0, east0 = 2_700_000, 3_500_000  # an inland French spot of the LAEA grid
    rows = []
    centre = (side - 1) / 2
    for k in range(n_cells):
        i, j = divmod(k, side)
        people = float(rng.gamma(2.0, 40.0)) + 1.0
        households = max(1.0, round(people / 2.2, 1))
        distance = np.hypot(i - centre, j - centre) / centre
        poor = round(households * float(np.clip(0.3 - 0.2 * distance, 0.02, 0.5)), 1)
        rows.append(
            {
                "idcar_200m": f"CRS3035RES200mN{north0 + 200 * i}E{east0 + 200 * j}",
                "i_est_200": int(households < 11),
                "ind": round(people, 1),
                "men": households,
                "men_pauv": poor,
                "ind_snv": round(people * 21_000.0 * (1.2 - 0.5 * (1 - distance)), 1),
            }
        )
    cells = pd.DataFrame(rows)
    population = work / "carreaux_synthetiques.csv"
    cells.to_csv(population, index=False)
    to_wgs = Transformer.from_crs(3035, 4326, always_xy=True)
    west, south = to_wgs.transform(east0 - 400, north0 - 400)
    east, north = to_wgs.transform(east0 + 200 * side + 400, north0 + 200 * side + 400)
    bbox = (west, south, east, north)
    from transit_speed import _lattice_pbf  # the same lattice writer as the transit bench

    pbf = work / "lattice.osm.pbf"
    _lattice_pbf(pbf, bbox, 200.0)
    n = 5
    lon = np.linspace(west, east, n + 1)
    lat = np.linspace(south, north, n + 1)
    communes = gpd.GeoDataFrame(
        {
            "insee": [f"{99000 + a * n + b}" for a in range(n) for b in range(n)],
            "name": [f"Commune {a * n + b + 1}" for a in range(n) for b in range(n)],
            "epci_siren": ["299999999"] * (n * n),
            "epci_name": ["CA synthétique"] * (n * n),
        },
        geometry=[
            shapely.box(lon[b], lat[a], lon[b + 1], lat[a + 1]) for a in range(n) for b in range(n)
        ],
        crs=4326,
    )
    communes_file = work / "communes.geojson"
    communes.to_file(communes_file, driver="GeoJSON")
    n_jobs = max(50, n_cells // 10)
    spread = rng.normal(0.5, 0.2, size=(n_jobs, 2)).clip(0.01, 0.99)
    jobs = gpd.GeoDataFrame(
        {"jobs": rng.integers(1, 200, n_jobs).astype(float)},
        geometry=gpd.points_from_xy(
            west + spread[:, 0] * (east - west), south + spread[:, 1] * (north - south)
        ),
        crs=4326,
    )
    jobs_file = work / "jobs.geojson"
    jobs.to_file(jobs_file, driver="GeoJSON")
    text = ",".join(f"{v:.6f}" for v in bbox)
    return text, {
        "--osm": pbf,
        "--population": population,
        "--communes-file": communes_file,
        "--jobs": jobs_file,
    }


def _browser_load_s(page: Path) -> float | None:
    """Seconds until ``load`` of a local page in headless Chromium (None: no browser)."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not chromium.exists():
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            tab = browser.new_page()
            start = time.perf_counter()
            tab.goto(page.as_uri(), wait_until="load", timeout=120_000)
            return time.perf_counter() - start
        finally:
            browser.close()


def synthetic(work: Path, n_cells: int) -> list[tuple[str, float, float, dict[str, object]]]:
    env = _env(work / "home")
    work.mkdir(parents=True, exist_ok=True)
    bbox, files = _synthetic_sources(work, n_cells, seed=7)
    _timed(
        [str(PARCOURS), "territory", "create", "synthetic", f"--bbox={bbox}", "--buffer-km", "0"],
        env,
    )
    load = [str(PARCOURS), "territory", "load", "synthetic"]
    for flag, path in files.items():
        load += [flag, str(path)]
    wall, peak, _ = _timed(load, env)
    rows = [(f"synthetic: territory load ({n_cells:,} cells)", wall, peak, {})]
    out = work / "diag"
    wall, peak, _ = _timed(
        [str(PARCOURS), "diagnose", "synthetic", "--out", str(out), "--modes", "walk,bike"], env
    )
    summary = _summary(out)
    report = out / "rapport.html"
    summary["report MiB"] = round(report.stat().st_size / 2**20, 2)
    seconds = _browser_load_s(report)
    summary["chromium load s"] = round(seconds, 2) if seconds is not None else "no browser"
    rows.append(
        (f"synthetic: parcours diagnose --modes walk,bike ({n_cells:,} cells)", wall, peak, summary)
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["demo", "nantes", "synthetic"])
    parser.add_argument("--cells", type=int, default=20_000, help="synthetic cells")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="parcours-bench-diagnose-") as tmp:
        work = Path(tmp)
        if args.only in (None, "demo"):
            rows += demo(work / "demo")
        if args.only in (None, "nantes"):
            rows += nantes(work / "nantes")
        if args.only in (None, "synthetic"):
            rows += synthetic(work / "synthetic", args.cells)
    print("| case | wall s | peak MiB | figures |")
    print("|---|---:|---:|---|")
    for name, wall, peak, figures in rows:
        text = json.dumps(figures, ensure_ascii=False) if figures else ""
        print(f"| {name} | {wall:.1f} | {peak:.0f} | {text} |")
    print(
        "\ntargets: demo diagnostic <= 120 s; synthetic 20,000 cells: report <= 10 MiB, "
        f"loads <= 3 s; load average {os.getloadavg()[0]:.2f} (other jobs inflate the times)"
    )


if __name__ == "__main__":
    main()
