"""The workspace: territory creation, atomic loads, manifest, CLI exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fixtures.cli import run_cli

from parcours.errors import (
    InputError,
    LayerNotFoundError,
    TerritoryNotFoundError,
    WorkspaceError,
)
from parcours.geo.crs import LAMBERT93, metric_crs_for
from parcours.i18n import set_language
from parcours.territories import Workspace, create_territory
from parcours.territories.perimeter import parse_bbox, parse_communes

NANTES_BBOX = "-1.575,47.199,-1.536,47.222"


def test_create_from_bbox_chooses_lambert93(home: Path) -> None:
    territory = create_territory(Workspace(), "nantes", bbox=NANTES_BBOX, buffer_km=1)
    assert territory.crs.equals(LAMBERT93)
    info = territory.info()
    assert info["name"] == "nantes"
    assert info["extent"] == pytest.approx([-1.575, 47.199, -1.536, 47.222], abs=1e-6)
    assert info["layers"] == {}
    assert territory.buffer_m == 1000
    # The clip area is the perimeter plus 1 km on each side.
    minx, _, _, maxy = shapely.bounds(territory.clip_area())
    pminx, _, _, pmaxy = territory.perimeter.total_bounds
    assert pminx - minx == pytest.approx(1000, rel=1e-3)
    assert maxy - pmaxy == pytest.approx(1000, rel=1e-3)


def test_create_overseas_uses_local_crs(home: Path) -> None:
    territory = create_territory(Workspace(), "stbarth", bbox="-62.95,17.86,-62.78,17.97")
    assert territory.crs.to_epsg() == 5490


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (-61.02, 14.62, 5490),  # Martinique, Saint-Esprit
        (-61.23, 14.39, 5490),  # Martinique, south-west tip
        (-60.81, 14.88, 5490),  # Martinique, Presqu'île de la Caravelle / north
        (-61.53, 16.24, 5490),  # Guadeloupe, Pointe-à-Pitre
        (-61.27, 15.87, 5490),  # Marie-Galante
        (-63.05, 18.07, 5490),  # Saint-Martin
        (-60.98, 13.91, 32620),  # Saint Lucia: not French, UTM 20N
    ],
)
def test_antilles_crs(lon: float, lat: float, epsg: int) -> None:
    assert metric_crs_for(lon, lat).to_epsg() == epsg


def test_create_martinique_uses_rgaf09(home: Path) -> None:
    territory = create_territory(Workspace(), "fdf", bbox="-61.10,14.58,-61.02,14.66")
    assert territory.crs.to_epsg() == 5490


def test_create_refuses_existing_and_bad_names(home: Path) -> None:
    workspace = Workspace()
    create_territory(workspace, "t1", bbox=NANTES_BBOX)
    with pytest.raises(InputError, match="existe déjà"):
        create_territory(workspace, "t1", bbox=NANTES_BBOX)
    create_territory(workspace, "t1", bbox=NANTES_BBOX, replace=True)
    with pytest.raises(InputError, match="nom de territoire invalide"):
        create_territory(workspace, "../evil", bbox=NANTES_BBOX)
    with pytest.raises(InputError, match="exactement un périmètre"):
        create_territory(workspace, "t2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,3", "quatre nombres"),
        ("a,b,c,d", "quatre nombres"),
        ("-1.5,47.3,-1.6,47.2", "minlon < maxlon"),
    ],
)
def test_bad_bbox(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_bbox(text)


def test_bad_insee_codes_in_english() -> None:
    set_language("en")
    with pytest.raises(InputError, match="invalid INSEE code '4410'"):
        parse_communes("44109,4410")
    assert parse_communes(" 44109, 2a004 ") == ["44109", "2A004"]


def _points(territory_crs: object, n: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"value": range(n)},
        geometry=gpd.points_from_xy([355000.0 + i for i in range(n)], [6690000.0] * n),
        crs=territory_crs,
    )


def test_transaction_is_atomic(home: Path) -> None:
    workspace = Workspace()
    territory = create_territory(workspace, "t", bbox=NANTES_BBOX)
    with workspace.transaction("t") as tx:
        tx.write_layer("population", _points(territory.crs, 3), sources=[], reader="test")
    before = (territory.path / "manifest.json").read_text()
    assert workspace.open("t").layer("population")["value"].tolist() == [0, 1, 2]

    with pytest.raises(RuntimeError), workspace.transaction("t") as tx:
        tx.write_layer("population", _points(territory.crs, 5), sources=[], reader="test")
        tx.write_layer("jobs", _points(territory.crs, 2), sources=[], reader="test")
        raise RuntimeError("reader failed half-way")
    # Nothing changed: same manifest, same layer, no new layer, no staging left behind.
    assert (territory.path / "manifest.json").read_text() == before
    assert workspace.open("t").layer("population")["value"].tolist() == [0, 1, 2]
    assert not workspace.open("t").has_layer("jobs")
    assert list((home / ".staging").iterdir()) == []


def test_manifest_and_perimeter_read_once_then_reloaded_after_a_write(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import parcours.territories.workspace as workspace_module

    workspace = Workspace()
    create_territory(workspace, "t", bbox=NANTES_BBOX)
    territory = workspace.open("t")
    reads = {"manifest": 0, "perimeter": 0}
    real_read_text, real_read_parquet = Path.read_text, gpd.read_parquet

    def counting_read_text(path: Path, *args: object, **kwargs: object) -> str:
        reads["manifest"] += path.name == "manifest.json"
        return real_read_text(path, *args, **kwargs)  # type: ignore[arg-type]

    def counting_read_parquet(path: Path, **kwargs: object) -> gpd.GeoDataFrame:
        reads["perimeter"] += Path(path).name == "perimeter.parquet"
        return real_read_parquet(path, **kwargs)

    monkeypatch.setattr(Path, "read_text", counting_read_text)
    monkeypatch.setattr(workspace_module.gpd, "read_parquet", counting_read_parquet)
    for _ in range(5):
        assert territory.layer_names() == []
        assert len(territory.perimeter) == 1
        territory.info()
    assert reads == {"manifest": 1, "perimeter": 1}
    # The copies handed out do not change the cache.
    territory.manifest["layers"]["fake"] = {}
    handed_out = territory.perimeter
    handed_out.loc[0, "geometry"] = None
    assert territory.layer_names() == []
    assert territory.perimeter.geometry.notna().all()

    # A load through another Workspace object is seen by the Territory already open, once.
    with Workspace().transaction("t") as tx:
        tx.write_layer("population", _points(territory.crs, 3), sources=[], reader="test")
    manifest_reads = reads["manifest"]
    assert territory.layer_names() == ["population"]
    assert territory.manifest["layers"]["population"]["rows"] == 3
    assert reads["manifest"] == manifest_reads + 1
    # The perimeter file was carried over by a hard link: the same file, not read again.
    assert reads["perimeter"] == 1
    # A territory re-created under the same name has a new perimeter file: it is read.
    create_territory(workspace, "t", bbox="-1.56,47.20,-1.55,47.21", replace=True)
    assert territory.perimeter.total_bounds[2] < workspace.open("t").clip_area().bounds[2]
    assert reads["perimeter"] == 3  # the old object and the new one


def test_manifest_cache_under_threads(home: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    workspace = Workspace()
    territory = create_territory(workspace, "t", bbox=NANTES_BBOX)

    def read(_: int) -> list[int]:
        seen = []
        for _ in range(20):
            layers = territory.manifest["layers"]
            seen.append(layers.get("population", {}).get("rows", 0))
            assert len(territory.perimeter) == 1
        return seen

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(read, i) for i in range(8)]
        for rows in (1, 2, 3):
            with workspace.transaction("t") as tx:
                tx.write_layer("population", _points(territory.crs, rows), sources=[], reader="t")
        results = [future.result() for future in futures]
    # Each reader saw whole manifests only, never going back in time.
    for seen in results:
        assert seen == sorted(seen)
        assert set(seen) <= {0, 1, 2, 3}
    assert territory.manifest["layers"]["population"]["rows"] == 3


def test_failed_swap_leaves_live_manifest_untouched(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = Workspace()
    territory = create_territory(workspace, "t", bbox=NANTES_BBOX)
    before = (territory.path / "manifest.json").read_text()

    def failing_swap(self: Workspace, staging: Path, target: Path) -> None:
        raise WorkspaceError("disk full")

    monkeypatch.setattr(Workspace, "_swap", failing_swap)
    with pytest.raises(WorkspaceError), workspace.transaction("t") as tx:
        tx.write_layer("population", _points(territory.crs, 3), sources=[], reader="test")
    # The staging manifest was a hard link to the live one: the commit must not write through.
    assert (territory.path / "manifest.json").read_text() == before
    assert workspace.open("t").layer_names() == []


def test_layer_in_wrong_crs_is_refused(home: Path) -> None:
    workspace = Workspace()
    create_territory(workspace, "t", bbox=NANTES_BBOX)
    wrong = _points(LAMBERT93, 2).to_crs(4326)
    with pytest.raises(WorkspaceError), workspace.transaction("t") as tx:
        tx.write_layer("population", wrong, sources=[], reader="test")


def test_missing_territory_and_layer(home: Path) -> None:
    # Bad input (exit code 2 in the CLI), also a LookupError for Python callers.
    workspace = Workspace()
    with pytest.raises(TerritoryNotFoundError, match="parcours territory create nowhere") as exc:
        workspace.open("nowhere")
    assert isinstance(exc.value, InputError) and isinstance(exc.value, LookupError)
    assert not isinstance(exc.value, WorkspaceError)
    create_territory(workspace, "t", bbox=NANTES_BBOX)
    with pytest.raises(LayerNotFoundError, match="pas de couche « stops »") as layer_exc:
        workspace.open("t").layer("stops")
    assert isinstance(layer_exc.value, InputError) and isinstance(layer_exc.value, LookupError)
    table = pd.DataFrame({"a": [1]})
    with workspace.transaction("t") as tx:
        tx.write_layer("plain", table, sources=[], reader="test")
    assert isinstance(workspace.open("t").layer("plain"), pd.DataFrame)


@pytest.mark.slow  # parcours as processes
def test_cli_create_info_and_exit_codes(home: Path) -> None:
    created = run_cli("territory", "create", "nantes", "--bbox", NANTES_BBOX, home=home)
    assert created.returncode == 0, created.stderr
    info = run_cli("territory", "info", "nantes", home=home)
    assert info.returncode == 0
    assert json.loads(info.stdout)["extent"] == pytest.approx([-1.575, 47.199, -1.536, 47.222])
    # Bad input: exit 2, French message naming the option, no traceback.
    bad = run_cli("territory", "create", "x", "--bbox", "1,2,3", home=home)
    assert bad.returncode == 2
    assert "--bbox" in bad.stderr and "Traceback" not in bad.stderr
    missing = run_cli("territory", "info", "absent", home=home, lang="en")
    assert missing.returncode == 2
    assert "territory 'absent' not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    english = run_cli("--lang", "en", "territory", "create", "x", "--bbox", "1,2,3", home=home)
    assert "four numbers" in english.stderr


def test_readers_never_see_a_territory_missing_during_a_write(home: Path) -> None:
    """The swap is atomic (renameat2 exchange): a reader polling the manifest during
    transactions always finds one, never the gap between two renames."""
    import threading

    workspace = Workspace()
    territory = create_territory(workspace, "t", bbox=NANTES_BBOX)
    manifest = territory.path / "manifest.json"
    stop = threading.Event()
    missing: list[int] = []

    def poll() -> None:
        while not stop.is_set():
            if not manifest.exists():
                missing.append(1)

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for rows in range(1, 31):
            with workspace.transaction("t") as tx:
                tx.write_layer("population", _points(territory.crs, rows), sources=[], reader="t")
    finally:
        stop.set()
        reader.join()
    assert territory.manifest["layers"]["population"]["rows"] == 30
    assert missing == []
    # No old folder is left behind in the staging area.
    assert not [p for p in (workspace.home / ".staging").iterdir() if p.name.startswith("t.")]
