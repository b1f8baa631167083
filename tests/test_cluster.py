"""Diagnostics on Dask (parcours.cluster): the same outputs as one by one, a killed worker.

Two real territories built from the demo's sources (the whole demo and its northern half,
loaded through the real readers), diagnosed on a ``distributed.LocalCluster`` of two
worker processes, compared file by file with ``parcours diagnose NAME`` run in this
process for each territory; then a worker is killed (SIGKILL) in the middle of a run and
the outputs must still be the same and complete.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed
import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from parcours.cluster import diagnose_territories
from parcours.maps import diagnose
from parcours.territories import Workspace
from parcours.territories.demo import load_demo

#: Every test here is end to end: Dask clusters of processes.
pytestmark = pytest.mark.slow

#: Small parts, so that each territory has several tasks of each kind.
CELLS_PER_PART = 150
JOBS_PER_PART = 150  # the CLI's --part-size sets both
NAMES = ("demo", "demo_nord")


@pytest.fixture(scope="module")
def two_territories(
    demo_loaded: tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory
) -> Workspace:
    """A workspace with the demo and ``demo_nord`` (its first six communes)."""
    source_workspace, sources = demo_loaded
    home = tmp_path_factory.mktemp("cluster") / "home"
    home.mkdir()
    shutil.copytree(source_workspace.home / "demo", home / "demo")
    workspace = Workspace(home)
    load_demo(workspace, sources, name="demo_nord", communes=sorted(sources.communes)[:6])
    return workspace


@pytest.fixture(scope="module")
def reference(two_territories: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``parcours diagnose NAME`` for each territory, in this process, one by one."""
    out = tmp_path_factory.mktemp("reference")
    for name in NAMES:
        diagnose(
            two_territories.open(name),
            out / name,
            cells_per_part=CELLS_PER_PART,
            jobs_per_part=JOBS_PER_PART,
        )
    return out


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            env={"NUMBA_NUM_THREADS": "1"},
        ) as cluster,
        distributed.Client(cluster) as dask,
    ):
        yield dask


_FOLIUM_ID = re.compile(r"_[0-9a-f]{32}(?![0-9a-f])")


def _assert_same_outputs(expected: Path, got: Path) -> None:
    """Every table byte for byte, every GeoPackage layer value for value, the report."""
    tables = sorted(p.name for p in (expected / "tables").glob("*.csv"))
    assert tables, expected
    assert sorted(p.name for p in (got / "tables").glob("*.csv")) == tables
    for name in tables:
        assert (got / "tables" / name).read_bytes() == (expected / "tables" / name).read_bytes(), (
            name
        )
    layers = [name for name, _ in pyogrio.list_layers(expected / "diagnostic.gpkg")]
    assert [name for name, _ in pyogrio.list_layers(got / "diagnostic.gpkg")] == layers
    for layer in layers:
        a = gpd.read_file(expected / "diagnostic.gpkg", layer=layer)
        b = gpd.read_file(got / "diagnostic.gpkg", layer=layer)
        pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b), check_exact=True)
    # folium names its elements with random ids; everything else is the same
    report_a = _FOLIUM_ID.sub("_ID", (expected / "rapport.html").read_text(encoding="utf-8"))
    report_b = _FOLIUM_ID.sub("_ID", (got / "rapport.html").read_text(encoding="utf-8"))
    assert report_a == report_b
    assert not [p for p in got.iterdir() if p.name.startswith(".")], "staging left behind"


def test_cli_two_territories_on_two_workers_equal_one_by_one(
    two_territories: Workspace, reference: Path, tmp_path: Path
) -> None:
    shutil.rmtree(two_territories.home / ".runs", ignore_errors=True)
    out = tmp_path / "out"
    env = {**os.environ, "PARCOURS_HOME": str(two_territories.home), "PARCOURS_LANG": "fr"}
    command = [
        sys.executable,
        "-m",
        "parcours",
        "diagnose",
        *NAMES,
        "--workers",
        "2",
        "--part-size",
        str(CELLS_PER_PART),
        "--out",
        str(out),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Tableau de bord Dask : http://127.0.0.1:" in done.stderr
    assert f"Écrit : {out / 'region'}" in done.stderr
    for name in NAMES:
        _assert_same_outputs(reference / name, out / name)
    # the region: demo_nord lies inside the demo, so its cells are counted once and the
    # region's communes are the demo's, published once
    region = out / "region"
    summary = pd.read_json(region / "region.json", typ="series")
    nord_cells = len(pd.read_csv(reference / "demo_nord" / "tables" / "cells.csv"))
    assert summary["cells_in_two_territories"] >= nord_cells > 0
    pd.testing.assert_frame_equal(
        pd.read_csv(region / "communes.csv"),
        pd.read_csv(reference / "demo" / "tables" / "communes.csv"),
    )
    demo = pd.read_csv(reference / "demo" / "tables" / "territory.csv").iloc[0]
    assert summary["population"] == pytest.approx(demo["population"], rel=1e-12)
    assert summary["territories"] == list(NAMES)


def test_python_api_with_a_worker_killed_equals_one_by_one_and_resumes(
    two_territories: Workspace, reference: Path, client: Any, tmp_path: Path
) -> None:
    """On a client, a worker killed in the middle: Dask reschedules its tasks and the
    outputs equal the one-by-one run; then a rerun (after a crash, say) uses the parts
    already written and computes only the missing one."""
    shutil.rmtree(two_territories.home / ".runs", ignore_errors=True)
    killed: list[int] = []

    def kill_a_busy_worker(label: str, fraction: float | None) -> None:
        if killed or fraction is None or fraction <= 0:
            return
        busy = [worker for worker, keys in client.processing().items() if keys]
        if not busy:
            return
        pids = client.run(os.getpid, workers=busy[:1])
        pid = next(iter(pids.values()))
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    result = diagnose_territories(
        NAMES,
        workspace=two_territories,
        out=tmp_path / "out",
        client=client,
        cells_per_part=CELLS_PER_PART,
        jobs_per_part=JOBS_PER_PART,
        progress=kill_a_busy_worker,
    )
    assert killed, "no worker was busy to be killed"
    client.wait_for_workers(2, timeout=60)
    assert killed[0] not in client.run(os.getpid).values()  # the nanny started a new one
    assert [p.name for p in result.published] == list(NAMES)
    assert result.reused == 0
    for name in NAMES:
        _assert_same_outputs(reference / name, tmp_path / "out" / name)
    # a rerun finds its parts written: only the missing part and the publication run again
    runs = two_territories.home / ".runs"
    parts = sorted(runs.glob("*/*/part-*.parquet"))
    assert len(parts) == result.tasks - 2 * len(NAMES)
    parts[0].unlink()
    written = {path: path.stat().st_mtime_ns for path in parts[1:]}
    again = diagnose_territories(
        NAMES,
        workspace=two_territories,
        out=tmp_path / "again",
        cells_per_part=CELLS_PER_PART,
        jobs_per_part=JOBS_PER_PART,
    )
    assert again.reused == len(parts) - 1
    # the parts already there were used as they were; only the missing one was computed
    assert {path: path.stat().st_mtime_ns for path in parts[1:]} == written
    assert parts[0].exists()
    for name in NAMES:
        _assert_same_outputs(reference / name, tmp_path / "again" / name)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere", "demo"], "nowhere"),
        (["demo", "demo_nord", "--workers", "0"], "--workers"),
        (["demo", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler"),
        (["demo", "--scheduler", "tcp://127.0.0.1:1"], "injoignable"),
        (["demo", "--scheduler", "http://nowhere"], "injoignable"),
        (["demo", "demo_nord", "--workers", "2", "--modes", "walk,plane"], "mode inconnu"),
    ],
)
def test_bad_runs_exit_2_with_a_message(
    two_territories: Workspace, tmp_path: Path, args: list[str], message: str
) -> None:
    env = {**os.environ, "PARCOURS_HOME": str(two_territories.home), "PARCOURS_LANG": "fr"}
    out = tmp_path / "out"
    command = [sys.executable, "-m", "parcours", "diagnose", *args, "--out", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
