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
    """Run a command, measuring wall time and the child's own peak RSS."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["demo", "nantes"])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="parcours-bench-diagnose-") as tmp:
        work = Path(tmp)
        if args.only in (None, "demo"):
            rows += demo(work / "demo")
        if args.only in (None, "nantes"):
            rows += nantes(work / "nantes")
    print("| case | wall s | peak MiB | figures |")
    print("|---|---:|---:|---|")
    for name, wall, peak, figures in rows:
        text = json.dumps(figures, ensure_ascii=False) if figures else ""
        print(f"| {name} | {wall:.1f} | {peak:.0f} | {text} |")
    print(
        f"\ntargets: demo diagnostic <= 120 s; load average {os.getloadavg()[0]:.2f} "
        "(helpers or other jobs running inflate the times)"
    )


if __name__ == "__main__":
    main()
