"""Broken inputs through ``parcours territory load``: exit 2, a precise message, no write.

Each variant is made from a real file of ../shared/data (truncated, a member removed, a
value broken) or is the official invalid example of its schema.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from fixtures.cli import run_cli

#: Every test here is end to end: parcours as processes.
pytestmark = pytest.mark.slow

NANTES_BBOX = "-1.575,47.199,-1.536,47.222"
FRIOUL_BBOX = "5.30,43.27,5.38,43.30"


def _rewrite_zip(source: Path, target: Path, edit: Callable[[str, bytes], bytes | None]) -> Path:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for member in src.namelist():
            data = edit(member, src.read(member))
            if data is not None:
                dst.writestr(member, data)
    return target


def _truncated(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def _frioul(shared: Path) -> Path:
    return (
        shared
        / "france_open_data_samples"
        / "gtfs_marseille_frioul"
        / "frioul_if_express_gtfs_2016.zip"
    )


def _bad_time(member: str, data: bytes) -> bytes:
    if member != "stop_times.txt":
        return data
    lines = data.decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    column = header.index("arrival_time")
    cells = lines[3].split(",")
    cells[column] = "08:7x:00"
    lines[3] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode()


def _no_prj(tmp: Path) -> Path:
    frame = gpd.GeoDataFrame(
        {"code_qp": ["QN04401I"], "lib_qp": ["Bellevue"]},
        geometry=[shapely.box(355000, 6689000, 355500, 6689500)],
        crs=2154,
    )
    path = tmp / "qp.shp"
    frame.to_file(path)
    path.with_suffix(".prj").unlink()
    return path


CASES = {
    "gtfs-truncated-zip": (
        "--gtfs",
        lambda shared, tmp: _truncated(_frioul(shared), tmp / "frioul.zip"),
        ["frioul.zip"],
    ),
    "gtfs-missing-stops": (
        "--gtfs",
        lambda shared, tmp: _rewrite_zip(
            _frioul(shared), tmp / "frioul.zip", lambda m, d: None if m == "stops.txt" else d
        ),
        ["frioul.zip", "stops.txt"],
    ),
    "gtfs-bad-time": (
        "--gtfs",
        lambda shared, tmp: _rewrite_zip(_frioul(shared), tmp / "frioul.zip", _bad_time),
        ["frioul.zip/stop_times.txt", "ligne 4", "arrival_time"],
    ),
    "gtfs-unknown-stop": (
        "--gtfs",
        lambda shared, tmp: shared / "helsinki_r5py" / "reference_outputs" / "test_broken_gtfs.zip",
        ["test_broken_gtfs.zip/stops.txt", "ligne 19", "parent_station"],
    ),
    "osm-truncated-pbf": (
        "--osm",
        lambda shared, tmp: _truncated(
            shared / "france_nantes_tempus" / "nantes_subset_2014.osm.pbf", tmp / "cut.osm.pbf"
        ),
        ["cut.osm.pbf"],
    ),
    "qpv-missing-crs": ("--qpv", lambda shared, tmp: _no_prj(tmp), ["qp.shp", "CRS"]),
    "bnlc-invalid-schema": (
        "--carpool",
        lambda shared, tmp: (
            shared / "france_open_data_samples" / "bnlc" / "schema_exemple_invalide.csv"
        ),
        ["schema_exemple_invalide.csv", "ligne", "date_maj"],
    ),
    "bnlc-wrong-encoding": (
        "--carpool",
        lambda shared, tmp: _wrong_encoding(shared, tmp),
        ["bnlc.csv"],
    ),
}


def _wrong_encoding(shared: Path, tmp: Path) -> Path:
    # A UTF-16 file without byte-order mark: not a text encoding French open data uses.
    text = (shared / "france_open_data_samples" / "bnlc" / "bnlc_calvados_2024_utf8.csv").read_text(
        "utf-8-sig"
    )
    path = tmp / "bnlc.csv"
    path.write_bytes(text.encode("utf-16-le"))
    return path


@pytest.fixture(scope="module")
def loaded_homes(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Per perimeter, a workspace whose territory ``t`` has a carpool layer (by the CLI)."""
    homes = {}
    good = shared_data / "france_open_data_samples" / "bnlc" / "schema_exemple_valide.csv"
    for bbox in (FRIOUL_BBOX, NANTES_BBOX):
        home = tmp_path_factory.mktemp("loaded") / "home"
        assert run_cli("territory", "create", "t", "--bbox", bbox, home=home).returncode == 0
        assert run_cli("territory", "load", "t", "--carpool", str(good), home=home).returncode == 0
        homes[bbox] = home
    return homes


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_input_exits_2_and_writes_nothing(
    case: str, shared_data: Path, tmp_path: Path, loaded_homes: dict[str, Path]
) -> None:
    option, make, needles = CASES[case]
    home = tmp_path / "home"
    shutil.copytree(loaded_homes[FRIOUL_BBOX if option == "--gtfs" else NANTES_BBOX], home)
    before = (home / "t" / "manifest.json").read_bytes()
    layers_before = sorted(p.name for p in (home / "t" / "layers").iterdir())

    broken = make(shared_data, tmp_path)
    result = run_cli("territory", "load", "t", option, str(broken), home=home)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    assert (home / "t" / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in (home / "t" / "layers").iterdir()) == layers_before
    assert not any((home / ".staging").iterdir())
