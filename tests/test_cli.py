"""End-to-end CLI runs: demo_run, territory load (atomicity), access commands; exit codes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fixtures.cli import run_cli
from fixtures.demo import DemoWorld

NANTES_BBOX = "-1.575,47.199,-1.536,47.222"


#: Every test here runs ``parcours`` as processes (end to end).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """``parcours demo`` run as a user runs it: its workspace, outputs and process."""
    home = tmp_path_factory.mktemp("home")
    out = tmp_path_factory.mktemp("out") / "demo"
    result = run_cli("demo", "--out", str(out), home=home)
    return home, out, result


def test_demo_runs_offline_and_loads_every_layer(demo_run: tuple[Path, Path, Any]) -> None:
    home, out, result = demo_run
    assert result.returncode == 0, result.stderr
    assert "FICTIF" in result.stderr
    info = json.loads((out / "territoire.json").read_text())
    for layer in (
        "streets",
        "stops",
        "trips",
        "stop_times",
        "population",
        "jobs",
        "services",
        "carpool",
        "qpv",
        "bikeshare",
        "communes",
        "employment_zones",
        "commuting",
        "addresses",
    ):
        assert info["layers"].get(layer, 0) > 0, layer
    assert {f["id"] for f in info["feeds"]} == {"reseau-bus", "ter"}
    assert "fictif" in info["description"].lower()
    assert (home / "demo" / "manifest.json").exists()
    # The ingest really ran on files in the official formats.
    assert (out / "sources" / "osm" / "demo.osm.pbf").exists()
    assert (out / "sources" / "filosofi" / "carreaux_200m_met.gpkg").exists()


def test_demo_access_table_shows_the_early_shift_gap(demo_run: tuple[Path, Path, Any]) -> None:
    _, out, result = demo_run
    access = pd.read_csv(out / "acces.csv")
    assert list(access.columns) == [
        "arrivee_avant",
        "mode",
        "en_moins_de_min",
        "habitants",
        "part",
        "secret",
    ]
    assert len(access) == 2 * 4 * 3
    # Statistical secret: a figure over fewer than 11 households is not published.
    hidden = access[access["secret"]]
    assert hidden["habitants"].isna().all() and hidden["part"].isna().all()
    assert access.loc[~access["secret"], "habitants"].notna().all()
    share = access.set_index(["arrivee_avant", "mode", "en_moins_de_min"])["part"].fillna(0.0)
    for start in ("05:30", "08:30"):
        for threshold in (30, 45, 60):
            assert share[(start, "voiture", threshold)] >= share[(start, "vélo", threshold)]
            assert share[(start, "vélo", threshold)] >= share[(start, "marche", threshold)]
        assert share[(start, "transports en commun", 60)] >= share[(start, "marche", 60)]
    # Buses do not serve the logistics zone before 05:30: the early shift is the gap.
    assert (
        share[("05:30", "transports en commun", 60)] < share[("08:30", "transports en commun", 60)]
    )
    assert "Zone logistique" in result.stdout


def test_demo_is_deterministic(demo_run: tuple[Path, Path, Any], demo_world: DemoWorld) -> None:
    """The command, in its own process, writes the tables the cached world's build wrote."""
    _, out, _ = demo_run
    tables = sorted(p.relative_to(demo_world.out) for p in demo_world.out.rglob("*.csv"))
    assert len(tables) > 10 and Path("acces.csv") in tables
    for table in tables:
        assert (out / table).read_bytes() == (demo_world.out / table).read_bytes(), table


GPKG_LAYERS = {
    "cells",
    "communes",
    "epci",
    "employment_zones",
    "territory",
    "equity",
    "priority",
    "commuting",
    "landmarks",
    "isochrones",
    "shifts",
    "file_active",
}


def test_demo_writes_the_diagnostic(demo_run: tuple[Path, Path, Any]) -> None:
    import sqlite3
    import xml.etree.ElementTree as ET

    import geopandas as gpd
    import pyogrio

    _, out, result = demo_run
    assert result.returncode == 0, result.stderr
    gpkg = out / "diagnostic.gpkg"
    assert {name for name, _ in pyogrio.list_layers(gpkg)} == GPKG_LAYERS
    cells = gpd.read_file(gpkg, layer="cells")
    assert cells.crs.to_epsg() == 2154 and cells.geom_type.eq("Polygon").all()
    # Published cells only: none rests on fewer than 11 households.
    assert (cells["households"] >= 11).all()
    assert {"share_jobs_45_transit_peak_p50", "jobs_30_walk", "no_service"} <= set(cells.columns)
    assert cells["share_jobs_45_transit_peak_p50"].between(0, 1).all()
    communes = gpd.read_file(gpkg, layer="communes")
    assert communes.geom_type.isin(["Polygon", "MultiPolygon"]).all() and len(communes) == 13
    with sqlite3.connect(gpkg) as db:
        styles = dict(db.execute("SELECT f_table_name, styleQML FROM layer_styles"))
    assert set(styles) == {"cells", "communes"}
    renderer = ET.fromstring(styles["cells"]).find(".//renderer-v2")
    assert renderer is not None and renderer.get("attr") == "share_jobs_45_transit_peak_p50"
    assert len(renderer.findall("./ranges/range")) == 6
    tables = sorted(p.name for p in (out / "tables").glob("*.csv"))
    assert tables == sorted(f"{name}.csv" for name in GPKG_LAYERS - {"landmarks", "isochrones"})
    report = (out / "rapport.html").read_text("utf-8")
    assert "Diagnostic territorial de mobilité" in report and "Secret statistique" in report
    # Offline: no script, stylesheet or image is fetched from elsewhere (links in
    # attributions and XML namespaces are text, not requests).
    assert not re.search(
        r"""<(?:script|link|img)\b[^>]*(?:src|href)\s*=\s*["']?(?:https?:)?//""", report, re.I
    )
    for host in (
        "cdn.jsdelivr.net",
        "code.jquery.com",
        "cdnjs.cloudflare.com",
        "unpkg.com",
        "netdna.bootstrapcdn.com",
        "tile.openstreetmap.org",
    ):
        assert host not in report, host


def test_diagnose_in_english_and_bad_input(
    demo_run: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    home, _, _ = demo_run
    out = tmp_path / "en"
    result = run_cli(
        "--lang", "en", "diagnose", "demo", "--out", str(out), "--modes", "walk", home=home
    )
    assert result.returncode == 0, result.stderr
    report = (out / "rapport.html").read_text("utf-8")
    assert "Territorial mobility diagnostic" in report and "Statistical secret" in report
    assert "Share of the territory" in result.stdout
    bad = run_cli(
        "diagnose", "demo", "--out", str(tmp_path / "x"), "--date", "2026-13-01", home=home
    )
    assert bad.returncode == 2 and "--date" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x").exists()
    mode = run_cli("diagnose", "demo", "--out", str(tmp_path / "y"), "--modes", "plane", home=home)
    assert mode.returncode == 2 and "plane" in mode.stderr and "Traceback" not in mode.stderr
    missing = run_cli("diagnose", "nowhere", home=home)
    assert missing.returncode == 2 and "nowhere" in missing.stderr
    tiles = run_cli(
        "diagnose", "demo", "--out", str(tmp_path / "t"), "--tiles", "google", home=home
    )
    assert tiles.returncode == 2 and "--tiles" in tiles.stderr and not (tmp_path / "t").exists()
    alone = run_cli("compare", "demo", "demo", "--out", str(tmp_path / "c"), home=home)
    assert alone.returncode == 2 and "Traceback" not in alone.stderr
    assert not (tmp_path / "c").exists()


def test_failed_load_leaves_territory_untouched(shared_data: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli("territory", "create", "n", "--bbox", NANTES_BBOX, home=home).returncode == 0
    good = shared_data / "france_nantes_tempus" / "tan_nantes_gtfs_2014.zip"
    loaded = run_cli("territory", "load", "n", "--gtfs", str(good), home=home)
    assert loaded.returncode == 0, loaded.stderr
    manifest = (home / "n" / "manifest.json").read_text()
    stops = pd.read_parquet(home / "n" / "layers" / "stops.parquet")
    broken = shared_data / "helsinki_r5py" / "reference_outputs" / "test_broken_gtfs.zip"
    osm = shared_data / "france_nantes_tempus" / "nantes_subset_2014.osm.pbf"
    failed = run_cli("territory", "load", "n", "--osm", str(osm), "--gtfs", str(broken), home=home)
    assert failed.returncode == 2
    assert "test_broken_gtfs.zip/stops.txt" in failed.stderr and "ligne 19" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert (home / "n" / "manifest.json").read_text() == manifest
    assert not (home / "n" / "layers" / "streets.parquet").exists()
    pd.testing.assert_frame_equal(pd.read_parquet(home / "n" / "layers" / "stops.parquet"), stops)
    missing = run_cli("territory", "load", "n", "--osm", str(tmp_path / "absent.pbf"), home=home)
    assert missing.returncode == 2 and "absent.pbf" in missing.stderr


def test_access_matrix_from_files(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "france_nantes_tempus"
    origins = tmp_path / "o.csv"
    origins.write_text("id,lon,lat\na,-1.571,47.201\nb,-1.540,47.219\nc,-1.555,47.210\n")
    out = tmp_path / "m.parquet"
    result = run_cli(
        "access",
        "matrix",
        "--osm",
        str(folder / "nantes_subset_2014.osm.pbf"),
        "--gtfs",
        str(folder / "tan_nantes_gtfs_2014.zip"),
        "--origins",
        str(origins),
        "--modes",
        "walk,transit",
        "--departure",
        "2014-05-13T08:00",
        "--window",
        "30",
        "--percentiles",
        "5,50,95",
        "--max-time",
        "90",
        "--out",
        str(out),
        home=tmp_path / "h",
    )
    assert result.returncode == 0, result.stderr
    matrix = pd.read_parquet(out)
    assert list(matrix.columns) == [
        "from_id",
        "to_id",
        "travel_time_p5",
        "travel_time_p50",
        "travel_time_p95",
    ]
    assert len(matrix) == 9
    assert (
        matrix.loc[(matrix.from_id == "a") & (matrix.to_id == "b"), "travel_time_p50"].iloc[0] < 60
    )
    gpkg = tmp_path / "m.gpkg"
    again = run_cli(
        "access",
        "matrix",
        "--osm",
        str(folder / "nantes_subset_2014.osm.pbf"),
        "--origins",
        str(origins),
        "--modes",
        "car",
        "--departure",
        "2014-05-13T08:00",
        "--out",
        str(gpkg),
        home=tmp_path / "h",
    )
    assert again.returncode == 0, again.stderr
    assert gpkg.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--departure", "13/05/2014 8h"], "--departure"),
        (["--departure", "2014-05-13T08:00", "--modes", "plane"], "mode inconnu"),
        (["--departure", "2014-05-13T08:00", "--percentiles", "5,x"], "--percentiles"),
    ],
)
def test_access_bad_input_exit_2(
    shared_data: Path, tmp_path: Path, args: list[str], needle: str
) -> None:
    folder = shared_data / "france_nantes_tempus"
    origins = tmp_path / "o.csv"
    origins.write_text("id,lon,lat\na,-1.571,47.201\n")
    result = run_cli(
        "access",
        "matrix",
        "--osm",
        str(folder / "nantes_subset_2014.osm.pbf"),
        "--origins",
        str(origins),
        "--out",
        str(tmp_path / "m.csv"),
        *args,
        home=tmp_path / "h",
    )
    assert result.returncode == 2
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "m.csv").exists()


def test_access_on_unknown_territory_and_bad_points(tmp_path: Path) -> None:
    points = tmp_path / "o.csv"
    points.write_text("id,lon,lat\na,-1.571,47.201\na,-1.5,47.2\n")
    result = run_cli(
        "access",
        "matrix",
        "--territory",
        "nowhere",
        "--origins",
        str(points),
        "--departure",
        "2014-05-13T08:00",
        "--out",
        str(tmp_path / "m.csv"),
        home=tmp_path / "h",
    )
    assert result.returncode == 2  # duplicate id, found before the territory is opened
    assert "o.csv, ligne 3" in result.stderr
    points.write_text("id,lon,lat\na,-1.571,47.201\n")
    result = run_cli(
        "access",
        "matrix",
        "--territory",
        "nowhere",
        "--origins",
        str(points),
        "--departure",
        "2014-05-13T08:00",
        "--out",
        str(tmp_path / "m.csv"),
        home=tmp_path / "h",
        lang="en",
    )
    assert result.returncode == 2 and "territory 'nowhere' not found" in result.stderr
