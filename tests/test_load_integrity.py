"""Loading and the workspace under misuse: folders, duplicates, empty layers, locks, exports.

Real files from ../shared/data (the Frioul ferry GTFS unzipped, the São Paulo r5py hexgrid,
the Nantes OSM extract, the BNLC samples) or files in an official schema (GBFS v2.3
``station_information.json``, a jobs CSV with SIRENE's ``statutDiffusionEtablissement``).
"""

from __future__ import annotations

import csv
import fcntl
import json
import shutil
import threading
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
import typer
from fixtures.cli import run_cli

from parcours.cli._ui import guarded
from parcours.errors import InputError, OsmError, WorkspaceError
from parcours.territories import (
    Workspace,
    create_and_load,
    create_territory,
    export_geopackage,
    load_sources,
)
from parcours.territories.workspace import file_digest

NANTES_BBOX = "-1.575,47.199,-1.536,47.222"
FRIOUL_BBOX = "5.30,43.27,5.38,43.30"
SAO_PAULO_BBOX = "-46.80,-23.70,-46.50,-23.40"
CAEN_BBOX = "-0.40,49.16,-0.33,49.20"

FRIOUL_COUNTS = {
    "feeds": 1,
    "stops": 9,
    "routes": 1,
    "trips": 61,
    "stop_times": 140,
    "calendar": 8,
    "calendar_dates": 42,
    "frequencies": 0,
    "transfers": 3,
}


def _frioul_zip(shared: Path) -> Path:
    return (
        shared
        / "france_open_data_samples"
        / "gtfs_marseille_frioul"
        / "frioul_if_express_gtfs_2016.zip"
    )


def _spo_hexgrid(shared: Path) -> Path:
    return shared / "sao_paulo_r5py" / "spo_hexgrid.csv"


def _manifest(home: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / name / "manifest.json").read_text("utf-8"))
    return data


def _state(home: Path, name: str) -> tuple[bytes, list[str]]:
    layers = sorted(p.name for p in (home / name / "layers").glob("*"))
    return (home / name / "manifest.json").read_bytes(), layers


# --------------------------------------------------------------------------- 1. folders


#: ``created(name, bbox, home)``: territory ``name`` created by the CLI in ``home``.
Creator = Callable[[str, str, Path], None]


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory) -> Creator:
    """``parcours territory create NAME --bbox BBOX`` run once per territory, then copied."""
    made: dict[tuple[str, str], Path] = {}

    def create(name: str, bbox: str, home: Path) -> None:
        if (name, bbox) not in made:
            folder = tmp_path_factory.mktemp("created") / "home"
            result = run_cli("territory", "create", name, "--bbox", bbox, home=folder)
            assert result.returncode == 0, result.stderr
            made[name, bbox] = folder
        shutil.copytree(made[name, bbox], home, dirs_exist_ok=True)

    return create


@pytest.mark.slow  # parcours as processes
def test_gtfs_folder_flat_and_nested_loads(
    shared_data: Path, tmp_path: Path, created: Creator
) -> None:
    flat = tmp_path / "frioul"
    with zipfile.ZipFile(_frioul_zip(shared_data)) as archive:
        archive.extractall(flat)
    nested = tmp_path / "download"
    shutil.copytree(flat, nested / "feed")
    home = tmp_path / "home"
    created("t", FRIOUL_BBOX, home)

    for folder in (flat, nested):
        result = run_cli("territory", "load", "t", "--gtfs", str(folder), home=home)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert json.loads(result.stdout)["layers"] == FRIOUL_COUNTS
        [source] = _manifest(home, "t")["layers"]["stops"]["sources"]
        assert source["path"] == str(folder.resolve())
        assert source["files"] == 9
        assert source["size_bytes"] == sum(p.stat().st_size for p in flat.iterdir())
    # The same files give the same digest wherever the folder is; a changed byte changes it.
    assert file_digest(flat)["sha256"] == file_digest(nested / "feed")["sha256"]
    assert file_digest(flat)["sha256"] != file_digest(nested)["sha256"]  # paths count
    stops = flat / "stops.txt"
    stops.write_bytes(stops.read_bytes().replace(b"Frioul", b"Friouk", 1))
    assert file_digest(flat)["sha256"] != file_digest(nested / "feed")["sha256"]


@pytest.mark.slow  # parcours as processes
def test_gbfs_folder_loads(tmp_path: Path, created: Creator) -> None:
    # GBFS v2.3 (MobilityData reference): station_information.json + system_information.json.
    folder = tmp_path / "veol"
    folder.mkdir()
    stations = [
        {"station_id": "1", "name": "République", "lat": 49.1829, "lon": -0.3627, "capacity": 20},
        {"station_id": "2", "name": "Gare SNCF", "lat": 49.17652, "lon": -0.3488, "capacity": 24},
    ]
    document = {
        "last_updated": 1718000000,
        "ttl": 60,
        "version": "2.3",
        "data": {"stations": stations},
    }
    (folder / "station_information.json").write_text(json.dumps(document), "utf-8")
    system = {
        "last_updated": 1718000000,
        "ttl": 3600,
        "version": "2.3",
        "data": {
            "system_id": "caen_veol",
            "language": "fr",
            "name": "V'eol",
            "timezone": "Europe/Paris",
        },
    }
    (folder / "system_information.json").write_text(json.dumps(system), "utf-8")
    home = tmp_path / "home"
    created("caen", CAEN_BBOX, home)
    result = run_cli("territory", "load", "caen", "--bikeshare", str(folder), home=home)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["layers"] == {"bikeshare": 2}
    [source] = _manifest(home, "caen")["layers"]["bikeshare"]["sources"]
    assert source["files"] == 2


@pytest.mark.slow  # parcours as processes
def test_folder_for_a_one_file_source_is_bad_input(
    shared_data: Path, tmp_path: Path, created: Creator
) -> None:
    home = tmp_path / "home"
    created("t", NANTES_BBOX, home)
    folder = tmp_path / "bnlc"
    folder.mkdir()
    shutil.copy(
        shared_data / "france_open_data_samples" / "bnlc" / "schema_exemple_valide.csv", folder
    )
    result = run_cli("territory", "load", "t", "--carpool", str(folder), home=home)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert str(folder) in result.stderr and "--carpool" in result.stderr
    assert "dossier" in result.stderr
    assert _manifest(home, "t")["layers"] == {}


# --------------------------------------------------------------------------- 2. privacy


def _jobs_csv(path: Path) -> Path:
    """A generic jobs layer carrying SIRENE's diffusion status (values O / P)."""
    rows = [
        ["siret", "statutDiffusionEtablissement", "name", "jobs", "lon", "lat"],
        ["26440013600011", "O", "CHU DE NANTES HOTEL DIEU", "1499.5", "-1.5536", "47.2117"],
        ["81234567800024", "P", "DUPONT MARIE", "1.5", "-1.548713", "47.207441"],
    ]
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(rows)
    return path


@pytest.mark.slow  # parcours as processes
def test_partially_diffusible_rows_of_a_generic_layer_stay_private(
    tmp_path: Path, created: Creator
) -> None:
    home = tmp_path / "home"
    created("t", NANTES_BBOX, home)
    path = _jobs_csv(tmp_path / "emplois.csv")
    loaded = run_cli("territory", "load", "t", "--jobs", str(path), home=home)
    assert loaded.returncode == 0, loaded.stderr
    out = tmp_path / "t.gpkg"
    assert run_cli("territory", "export", "t", "--out", str(out), home=home).returncode == 0

    for frame in (
        gpd.read_parquet(home / "t" / "layers" / "jobs.parquet"),
        pyogrio.read_dataframe(out, layer="jobs"),
    ):
        frame = frame.to_crs(2154)
        public = frame.loc[~frame["diffusion_partial"].astype(bool)].iloc[0]
        private = frame.loc[frame["diffusion_partial"].astype(bool)].iloc[0]
        assert public["name"] == "CHU DE NANTES HOTEL DIEU"
        assert public["siret"] == "26440013600011"
        assert private["name"] is None or pd.isna(private["name"])
        assert private["siret"] is None or pd.isna(private["siret"])
        assert private["jobs"] == 1.5
        # At the centre of its 200 m LAEA cell, never at the given point.
        exact = gpd.GeoSeries([shapely.Point(-1.548713, 47.207441)], crs=4326).to_crs(2154).iloc[0]
        assert private.geometry.distance(exact) > 1.0
        laea = gpd.GeoSeries([private.geometry], crs=2154).to_crs(3035).iloc[0]
        assert (laea.x % 200, laea.y % 200) == pytest.approx((100, 100), abs=1e-3)
        assert laea.distance(gpd.GeoSeries([exact], crs=2154).to_crs(3035).iloc[0]) < 142
    summary = _manifest(home, "t")["layers"]["jobs"]["summary"]
    assert summary["partially_diffusible"] == 1 and summary["jobs_total"] == 1501.0


# --------------------------------------------------------------------------- 3. duplicates


@pytest.mark.slow  # parcours as processes
def test_duplicated_population_across_files_is_refused(
    shared_data: Path, tmp_path: Path, created: Creator
) -> None:
    home = tmp_path / "home"
    created("sp", SAO_PAULO_BBOX, home)
    grid = _spo_hexgrid(shared_data)
    copy = tmp_path / "spo_hexgrid_copie.csv"
    lines = grid.read_text("utf-8").splitlines(keepends=True)
    copy.write_text("".join([lines[0], *lines[5:]]), "utf-8")  # overlaps from its 4th cell on
    before = _state(home, "sp")

    same = run_cli(
        "territory", "load", "sp", "--population", str(grid), "--population", str(grid), home=home
    )
    assert same.returncode == 2, same.stderr
    first_id = lines[1].split(",")[0].strip('"')
    assert "cell_id" in same.stderr and first_id in same.stderr

    overlap = run_cli(
        "territory", "load", "sp", "--population", str(grid), "--population", str(copy), home=home
    )
    assert overlap.returncode == 2, overlap.stderr
    assert "Traceback" not in overlap.stderr
    fifth_id = lines[5].split(",")[0].strip('"')
    assert f"{copy}, champ « cell_id »" in overlap.stderr
    assert fifth_id in overlap.stderr and str(grid) in overlap.stderr
    assert _state(home, "sp") == before


@pytest.mark.slow  # parcours as processes
def test_duplicated_carpool_bikeshare_and_identical_files(
    shared_data: Path,
    tmp_path: Path,
    created: Creator,
) -> None:
    home = tmp_path / "home"
    created("caen", CAEN_BBOX, home)
    bnlc = shared_data / "france_open_data_samples" / "bnlc" / "bnlc_calvados_2024_utf8.csv"
    copy = tmp_path / "bnlc_bis.csv"
    shutil.copy(bnlc, copy)
    carpool = run_cli(
        "territory", "load", "caen", "--carpool", str(bnlc), "--carpool", str(copy), home=home
    )
    assert carpool.returncode == 2, carpool.stderr
    assert f"{copy}, champ « id_lieu »" in carpool.stderr

    folders = []
    for name in ("a", "b"):
        folder = tmp_path / name / "veol"  # same system (folder name), same station id
        folder.mkdir(parents=True)
        station = {"station_id": "7", "name": name, "lat": 49.1829, "lon": -0.3627}
        document = {"last_updated": 1, "ttl": 60, "version": "2.3", "data": {"stations": [station]}}
        (folder / "station_information.json").write_text(json.dumps(document), "utf-8")
        folders.append(folder)
    bikes = run_cli(
        "territory",
        "load",
        "caen",
        "--bikeshare",
        str(folders[0]),
        "--bikeshare",
        str(folders[1]),
        home=home,
    )
    assert bikes.returncode == 2, bikes.stderr
    assert (
        "station_id" in bikes.stderr and "« 7 »" in bikes.stderr and str(folders[1]) in bikes.stderr
    )
    assert _manifest(home, "caen")["layers"] == {}


def test_population_files_without_ids_are_numbered(shared_data: Path, tmp_path: Path) -> None:
    # Two halves of the hexgrid as plain points (no id column): ids are file-numbered.
    frame = pd.read_csv(_spo_hexgrid(shared_data)).drop(columns=["id"])
    first, second = tmp_path / "nord.csv", tmp_path / "sud.csv"
    frame.iloc[:150].to_csv(first, index=False)
    frame.iloc[150:].to_csv(second, index=False)
    workspace = Workspace(tmp_path / "home")
    create_territory(workspace, "sp", bbox=SAO_PAULO_BBOX)
    report = load_sources(workspace, "sp", {"population": [first, second]})
    layer = workspace.open("sp").layer("population")
    assert report.layers["population"] == len(layer) == 323
    assert layer["cell_id"].is_unique and layer["cell_id"].iloc[0] == "1:0"
    assert layer["population"].sum() == pytest.approx(frame["population"].sum())
    with pytest.raises(InputError, match="même contenu") as exc:
        load_sources(
            workspace, "sp", {"population": [first, Path(shutil.copy(first, tmp_path / "x.csv"))]}
        )
    assert exc.value.file == str(tmp_path / "x.csv")
    summary = workspace.open("sp").manifest["layers"]["population"]["summary"]
    assert [f["population_total"] for f in summary["files"]] == pytest.approx(
        [frame["population"].iloc[:150].sum(), frame["population"].iloc[150:].sum()]
    )


# --------------------------------------------------------------------------- 4. exit codes


@pytest.mark.slow  # parcours as processes
def test_home_that_is_a_file(tmp_path: Path) -> None:
    home = tmp_path / "not-a-folder"
    home.write_text("x")
    for args in (("territory", "list"), ("territory", "create", "t", "--bbox", NANTES_BBOX)):
        result = run_cli(*args, home=home)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert "PARCOURS_HOME" in result.stderr and str(home) in result.stderr
    with pytest.raises(WorkspaceError, match="n'est pas un dossier"):
        Workspace(home).names()


@pytest.mark.slow  # parcours as processes
def test_os_error_backstop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], created: Creator
) -> None:
    with pytest.raises(typer.Exit) as exc, guarded():
        raise PermissionError(13, "Permission denied", "/srv/parcours/t/layers")
    assert exc.value.exit_code == 1
    err = capsys.readouterr().err
    assert "/srv/parcours/t/layers" in err and "Permission denied" in err
    assert len(err.strip().splitlines()) == 1

    # Through the CLI: an export into a "folder" that is a file.
    home = tmp_path / "home"
    created("t", NANTES_BBOX, home)
    blocker = tmp_path / "rapport"
    blocker.write_text("x")
    result = run_cli("territory", "export", "t", "--out", str(blocker / "t.gpkg"), home=home)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and str(blocker) in result.stderr


# --------------------------------------------------------------------------- 5. empty layers


@pytest.mark.slow  # parcours as processes
def test_population_and_jobs_outside_the_area_are_refused(
    shared_data: Path,
    tmp_path: Path,
    created: Creator,
) -> None:
    home = tmp_path / "home"
    created("sp", SAO_PAULO_BBOX, home)
    grid = _spo_hexgrid(shared_data)
    good = run_cli("territory", "load", "sp", "--population", str(grid), home=home)
    assert good.returncode == 0, good.stderr
    before = _state(home, "sp")

    # lon and lat swapped (values under the wrong headers), no H3 ids.
    frame = pd.read_csv(grid)
    swapped = tmp_path / "population_inversee.csv"
    pd.DataFrame(
        {"lon": frame["lat"], "lat": frame["lon"], "population": frame["population"]}
    ).to_csv(swapped, index=False)
    result = run_cli("territory", "load", "sp", "--population", str(swapped), home=home)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert str(swapped) in result.stderr and "inversées" in result.stderr and "CRS" in result.stderr
    assert _state(home, "sp") == before
    assert _manifest(home, "sp")["layers"]["population"]["rows"] > 0

    english = run_cli(
        "--lang", "en", "territory", "load", "sp", "--population", str(swapped), home=home
    )
    assert english.returncode == 2 and "swapped" in english.stderr

    # Jobs of São Paulo in a Nantes territory.
    created("n", NANTES_BBOX, home)
    jobs = run_cli("territory", "load", "n", "--jobs", str(grid), home=home)
    assert jobs.returncode == 2, jobs.stderr
    assert "--jobs" in jobs.stderr and "périmètre" in jobs.stderr
    assert _manifest(home, "n")["layers"] == {}


@pytest.mark.slow  # parcours as processes
def test_optional_layer_outside_the_area_is_only_a_warning(
    shared_data: Path,
    tmp_path: Path,
    created: Creator,
) -> None:
    home = tmp_path / "home"
    created("n", NANTES_BBOX, home)
    bnlc = shared_data / "france_open_data_samples" / "bnlc" / "bnlc_calvados_2024_utf8.csv"
    result = run_cli("territory", "load", "n", "--carpool", str(bnlc), home=home)
    assert result.returncode == 0, result.stderr
    assert "Attention" in result.stderr and "carpool" in result.stderr
    assert json.loads(result.stdout)["layers"] == {"carpool": 0}


# --------------------------------------------------------------------------- 6. locks


def _points(crs: object, n: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"value": range(n)},
        geometry=gpd.points_from_xy([355000.0 + i for i in range(n)], [6690000.0] * n),
        crs=crs,
    )


def test_concurrent_transactions_keep_both_layers(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "home")
    territory = create_territory(workspace, "t", bbox=NANTES_BBOX)
    inside = threading.Event()
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with Workspace(tmp_path / "home").transaction("t") as tx:
                tx.write_layer("first", _points(territory.crs, 2), sources=[], reader="test")
                inside.set()
                time.sleep(0.6)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            inside.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inside.wait(30)
    start = time.monotonic()
    with Workspace(tmp_path / "home").transaction("t") as tx:  # waits for the first one
        waited = time.monotonic() - start
        tx.write_layer("second", _points(territory.crs, 3), sources=[], reader="test")
    thread.join()
    assert not errors
    assert waited > 0.3
    assert workspace.open("t").layer_names() == ["first", "second"]
    assert len(workspace.open("t").layer("first")) == 2


@pytest.mark.slow  # parcours as processes
def test_locked_territory_times_out_with_a_clear_error(shared_data: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    workspace = Workspace(home, lock_timeout_s=0.2)
    create_territory(workspace, "t", bbox=NANTES_BBOX)
    before = _state(home, "t")
    lock = home / ".locks" / "t.lock"
    with lock.open("a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # what another process's load holds
        with (
            pytest.raises(WorkspaceError, match="en cours de modification"),
            workspace.transaction("t"),
        ):
            pass
        bnlc = shared_data / "france_open_data_samples" / "bnlc" / "schema_exemple_valide.csv"
        result = run_cli(
            "territory",
            "load",
            "t",
            "--carpool",
            str(bnlc),
            home=home,
            extra_env={"PARCOURS_LOCK_TIMEOUT": "0.5"},
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and "t.lock" in result.stderr
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)
    assert _state(home, "t") == before
    # A nested transaction on the same territory fails at once instead of waiting for itself.
    with (
        workspace.transaction("t"),
        pytest.raises(WorkspaceError, match="imbriquée"),
        workspace.transaction("t"),
    ):
        pass


# --------------------------------------------------------------------------- 7. export


def test_export_joins_node_ids_without_gdal_warnings(
    shared_data: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    workspace = Workspace(tmp_path / "home")
    create_territory(workspace, "n", bbox=NANTES_BBOX, buffer_km=0)
    osm = shared_data / "france_nantes_tempus" / "nantes_subset_2014.osm.pbf"
    load_sources(workspace, "n", {"osm": [osm]})
    territory = workspace.open("n")
    stored = territory.layer("streets")
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = export_geopackage(territory, tmp_path / "out" / "nantes.gpkg")
    assert [str(w.message) for w in caught] == []
    assert "extension" not in capfd.readouterr().err
    assert [p.name for p in out.parent.iterdir()] == ["nantes.gpkg"]
    streets = pyogrio.read_dataframe(out, layer="streets", read_geometry=False)
    assert len(streets) == len(stored)
    for text, ids in zip(streets["node_ids"].head(200), stored["node_ids"].head(200), strict=True):
        assert "[" not in text and "\n" not in text
        assert [int(v) for v in text.split(" ")] == [int(v) for v in ids]


# --------------------------------------------------------------------------- 10. summary


@pytest.mark.slow  # parcours as processes
def test_reader_facts_are_kept_in_the_manifest(
    shared_data: Path, tmp_path: Path, created: Creator
) -> None:
    home = tmp_path / "home"
    created("sp", SAO_PAULO_BBOX, home)
    grid = _spo_hexgrid(shared_data)
    result = run_cli(
        "territory", "load", "sp", "--population", str(grid), "--jobs", str(grid), home=home
    )
    assert result.returncode == 0, result.stderr
    layers = _manifest(home, "sp")["layers"]
    population = gpd.read_parquet(home / "sp" / "layers" / "population.parquet")
    assert layers["population"]["summary"] == {
        "population_total": float(population["population"].sum()),
        "cells": len(population),
        "source": "hexgrid",
        "schema": "h3",
        "cell_ids_generated": False,
    }
    assert layers["population"]["summary"]["population_total"] == 517_570
    assert layers["jobs"]["summary"]["jobs_total"] == 625_298
    assert layers["jobs"]["summary"]["partially_diffusible"] == 0
    assert "summary" not in json.loads(result.stdout)["layers"]  # info shows row counts only


# --------------------------------------------------------------------------- 11. create_and_load


def test_create_and_load_leaves_nothing_on_failure(shared_data: Path, tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "home")
    broken = tmp_path / "cut.osm.pbf"
    pbf = shared_data / "france_nantes_tempus" / "nantes_subset_2014.osm.pbf"
    data = pbf.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(OsmError):
        create_and_load(workspace, "files-x", bbox=NANTES_BBOX, sources={"osm": [broken]})
    assert workspace.names() == []
    assert not (tmp_path / "home" / "files-x").exists()

    territory, report = create_and_load(
        workspace,
        "files-x",
        bbox=(5.30, 43.27, 5.38, 43.30),
        sources={"gtfs": [_frioul_zip(shared_data)]},
    )
    assert workspace.names() == ["files-x"] and territory.name == "files-x"
    assert report.layers == FRIOUL_COUNTS
    assert territory.info()["layers"] == FRIOUL_COUNTS


def test_first_duplicate_is_the_one_id_rule() -> None:
    import pandas as pd

    from parcours.territories.readers._common import Duplicate, first_duplicate

    values = pd.Series(["a", None, "b", None, "a", "b", "a"], index=[10, 11, 12, 13, 14, 15, 16])
    # Two missing ids are not a duplicate; the first repeat is "a" at position 4.
    assert first_duplicate(values) == Duplicate(position=4, first=0, count=3)
    assert first_duplicate(pd.Series(["x", None, None, "y"])) is None


def test_source_kinds_are_strings_and_in_load_order() -> None:
    from parcours.territories import GTFS_LAYERS, GTFS_TABLES, SOURCE_KINDS, SourceKind
    from parcours.territories.download import SOURCE_KINDS_BY_NAME

    assert SourceKind.OSM == "osm"
    assert SOURCE_KINDS[0] == "osm" and SOURCE_KINDS[-1] == "mobpro"  # after the communes
    assert set(SOURCE_KINDS_BY_NAME.values()) <= set(SOURCE_KINDS)
    assert ("feeds", *GTFS_TABLES) == GTFS_LAYERS and "stop_times" in GTFS_TABLES
