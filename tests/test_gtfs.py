"""The GTFS reader: real feeds, broken feeds, hand-made feeds."""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from parcours.errors import GtfsError, InputError
from parcours.geo.crs import LAMBERT93, WGS84, metric_crs_for, transformer
from parcours.geo.tables import read_text_table
from parcours.i18n import set_language
from parcours.territories.readers._base import LayerData, ReadContext
from parcours.territories.readers.gtfs import read_gtfs

LAYERS = (
    "feeds",
    "stops",
    "routes",
    "trips",
    "stop_times",
    "calendar",
    "calendar_dates",
    "frequencies",
    "transfers",
)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: docs/layers.md, dtype by column ("str": text).
SCHEMAS: dict[str, dict[str, str]] = {
    "feeds": {
        "feed_id": "str",
        "source": "str",
        "agency_name": "str",
        "agency_timezone": "str",
        "start_date": "datetime64[ns]",
        "end_date": "datetime64[ns]",
        "stops": "int64",
        "routes": "int64",
        "trips": "int64",
    },
    "stops": {
        "stop_id": "str",
        "feed_id": "str",
        "stop_code": "str",
        "stop_name": "str",
        "location_type": "int8",
        "parent_station": "str",
        "wheelchair_boarding": "int8",
        "geometry": "geometry",
    },
    "routes": {
        "route_id": "str",
        "feed_id": "str",
        "agency_id": "str",
        "agency_name": "str",
        "route_short_name": "str",
        "route_long_name": "str",
        "route_type": "int32",
        "mode": "str",
    },
    "trips": {
        "trip_id": "str",
        "feed_id": "str",
        "route_id": "str",
        "service_id": "str",
        "trip_headsign": "str",
        "direction_id": "int8",
        "wheelchair_accessible": "int8",
        "frequency_based": "bool",
    },
    "stop_times": {
        "trip_id": "str",
        "stop_sequence": "int32",
        "stop_id": "str",
        "arrival_s": "int32",
        "departure_s": "int32",
        "interpolated": "bool",
        "pickup_type": "int8",
        "drop_off_type": "int8",
    },
    "calendar": {
        "service_id": "str",
        **dict.fromkeys(DAYS, "bool"),
        "start_date": "datetime64[ns]",
        "end_date": "datetime64[ns]",
    },
    "calendar_dates": {"service_id": "str", "date": "datetime64[ns]", "exception_type": "int8"},
    "frequencies": {
        "trip_id": "str",
        "start_s": "int32",
        "end_s": "int32",
        "headway_s": "int32",
        "exact_times": "int8",
    },
    "transfers": {
        "from_stop_id": "str",
        "to_stop_id": "str",
        "transfer_type": "int8",
        "min_transfer_time_s": "float64",
    },
}

NANTES = "france_nantes_tempus"
HELSINKI = "helsinki_r5py"
#: The header bbox of central Nantes' OSM extract (SOURCE.md).
NANTES_PBF_BBOX = (-1.575, 47.199, -1.536, 47.222)
#: A Lambert-93 area covering every hand-made feed below.
EVERYWHERE = ReadContext(crs=LAMBERT93, area=shapely.box(0, 6_000_000, 1_300_000, 7_200_000))


# --------------------------------------------------------------------------- helpers


def covering_context(*feeds: Path) -> ReadContext:
    """A context whose area covers every stop of the feeds (bbox + 1 km, metric CRS)."""
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    for feed in feeds:
        with zipfile.ZipFile(feed) as archive:
            stops = read_text_table(archive.read("stops.txt"), name="stops.txt").frame
        lons.append(pd.to_numeric(stops["stop_lon"].str.strip()).to_numpy())
        lats.append(pd.to_numeric(stops["stop_lat"].str.strip()).to_numpy())
    lon, lat = np.concatenate(lons), np.concatenate(lats)
    crs = metric_crs_for(float(lon.mean()), float(lat.mean()))
    bbox = shapely.segmentize(shapely.box(lon.min(), lat.min(), lon.max(), lat.max()), 0.01)
    area = gpd.GeoSeries([bbox], crs=WGS84).to_crs(crs).buffer(1000).iloc[0]
    return ReadContext(crs=crs, area=area)


def bbox_context(bbox: tuple[float, float, float, float], crs: CRS) -> ReadContext:
    """A context whose area is a lon/lat bbox (edges densified before projecting)."""
    box = shapely.segmentize(shapely.box(*bbox), 0.0005)
    return ReadContext(crs=crs, area=gpd.GeoSeries([box], crs=WGS84).to_crs(crs).iloc[0])


def by_name(layers: list[LayerData]) -> dict[str, LayerData]:
    assert [layer.name for layer in layers] == list(LAYERS)
    return {layer.name: layer for layer in layers}


def check_schema(layers: dict[str, LayerData], crs: CRS) -> None:
    for name, schema in SCHEMAS.items():
        frame = layers[name].frame
        assert list(frame.columns) == list(schema), name
        for column, kind in schema.items():
            dtype = frame[column].dtype
            if kind == "str":
                assert pd.api.types.is_string_dtype(dtype), (name, column, dtype)
                assert not (frame[column] == "").any(), (name, column)  # null, never ""
            elif kind != "geometry":
                assert str(dtype) == kind, (name, column, dtype)
    stops = layers["stops"].frame
    assert isinstance(stops, gpd.GeoDataFrame)
    assert CRS.from_user_input(stops.crs).equals(crs)
    assert (stops.geom_type == "Point").all()
    stop_times = layers["stop_times"].frame
    keys = list(zip(stop_times["trip_id"], stop_times["stop_sequence"], strict=True))
    assert keys == sorted(keys)
    # the kept layers are consistent with each other
    assert set(stop_times["trip_id"]) == set(layers["trips"].frame["trip_id"])
    assert set(stop_times["stop_id"]) <= set(stops["stop_id"])
    assert set(layers["trips"].frame["route_id"]) == set(layers["routes"].frame["route_id"])
    parents = stops["parent_station"].dropna()
    assert set(parents) <= set(stops["stop_id"])


def active_trips(layers: dict[str, LayerData], day: str) -> int:
    """Trips running on a date, from the calendar layers."""
    date = pd.Timestamp(day)
    calendar = layers["calendar"].frame
    exceptions = layers["calendar_dates"].frame
    weekday = DAYS[date.weekday()]
    running = set(
        calendar.loc[
            (calendar["start_date"] <= date) & (calendar["end_date"] >= date) & calendar[weekday],
            "service_id",
        ]
    )
    today = exceptions[exceptions["date"] == date]
    running |= set(today.loc[today["exception_type"] == 1, "service_id"])
    running -= set(today.loc[today["exception_type"] == 2, "service_id"])
    return int(layers["trips"].frame["service_id"].isin(running).sum())


def write_feed(path: Path, files: dict[str, str | bytes]) -> Path:
    """Write a GTFS zip (or a folder when ``path`` has no .zip suffix)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in files.items():
                archive.writestr(name, content)
    else:
        path.mkdir(parents=True)
        for name, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (path / name).write_bytes(data)
    return path


def lonlat(x: float, y: float) -> str:
    """Lambert-93 coordinates as "lat,lon" text for stops.txt."""
    lon, lat = transformer(LAMBERT93, WGS84).transform(x, y)
    return f"{lat:.9f},{lon:.9f}"


X0, Y0 = 355_000.0, 6_690_000.0  # Nantes, in Lambert-93


def tiny_feed(**replace: str | bytes) -> dict[str, str | bytes]:
    """A valid one-route feed near Nantes: stops A-B-C-D on a straight line (0, 1, 3.5, 6 km)."""
    files: dict[str, str | bytes] = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
        "A,Tiny transit,http://example.org,Europe/Paris\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station,"
        "wheelchair_boarding\n"
        f"STA,Station A,{lonlat(X0, Y0 + 50)},1,,1\n"
        f"A,Stop A,{lonlat(X0, Y0)},0,STA,\n"
        f"B,Stop B,{lonlat(X0 + 1000, Y0)},0,,2\n"
        f"C,Stop C,{lonlat(X0 + 3500, Y0)},0,,\n"
        f"D,Stop D,{lonlat(X0 + 6000, Y0)},0,,\n",
        "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\n"
        "R1,A,1,A - D,3\n",
        "trips.txt": "route_id,service_id,trip_id,direction_id\nR1,WK,T1,0\nR1,WK,T2,1\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\nWK,1,1,1,1,1,0,0,20240101,20241231\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1, 8:00:00,08:00:00,A,1\n"
        "T1,,,B,2\n"
        "T1,,,C,3\n"
        "T1,08:11:40,08:11:40,D,4\n"
        "T2,24:50:00,24:50:00,D,1\n"
        "T2,25:00:00,,C,2\n"
        "T2,,25:10:00,A,3\n",
    }
    files.update(replace)
    return files


def gtfs_error(path: Path | list[Path], ctx: ReadContext = EVERYWHERE) -> GtfsError:
    with pytest.raises(GtfsError) as caught:
        read_gtfs(path if isinstance(path, list) else [path], ctx)
    return caught.value


# --------------------------------------------------------------------------- real feeds


@pytest.fixture(scope="module")
def tan(shared_data: Path) -> tuple[dict[str, LayerData], ReadContext]:
    feed = shared_data / NANTES / "tan_nantes_gtfs_2014.zip"
    ctx = covering_context(feed)
    return by_name(read_gtfs([feed], ctx)), ctx


def test_tan_full_network(tan: tuple[dict[str, LayerData], ReadContext]) -> None:
    layers, ctx = tan
    check_schema(layers, ctx.crs)
    feed = layers["feeds"].frame.iloc[0]
    assert feed["feed_id"] == "tan_nantes_gtfs_2014"
    assert feed["source"] == "tan_nantes_gtfs_2014.zip"
    assert feed["agency_name"] == "SEMITAN"
    assert feed["agency_timezone"] == "Europe/Paris"
    # calendar 20140407-20140711, calendar_dates 20140409-20140704 (SOURCE.md)
    assert feed["start_date"] == pd.Timestamp("2014-04-07")
    assert feed["end_date"] == pd.Timestamp("2014-07-11")
    # 3,415 stops: 2,388 stops and 1,027 stations
    stops = layers["stops"].frame
    assert len(stops) == feed["stops"] == 3415
    assert stops["location_type"].value_counts().to_dict() == {0: 2388, 1: 1027}
    assert stops["stop_id"].str.startswith("tan_nantes_gtfs_2014:StopPoint:").sum() == 2388
    # trips.txt has 41,128 trips, but only 8,287 have stop times and 197 of those
    # serve a single stop: 8,090 trips kept, with their 154,837 - 197 stop times.
    trips = layers["trips"].frame
    assert len(trips) == feed["trips"] == 8090
    warnings = " ".join(layers["trips"].warnings)
    assert "32841" in warnings and "197" in warnings
    assert len(layers["stop_times"].frame) == 154_640
    # 65 routes (4 tram, 60 bus, 1 ferry); bus RB-0 has no trip with stop times
    routes = layers["routes"].frame
    assert len(routes) == feed["routes"] == 64
    assert routes["mode"].value_counts().to_dict() == {"bus": 59, "tram": 4, "ferry": 1}
    assert "tan_nantes_gtfs_2014:RB-0" not in set(routes["route_id"])
    # route 4 (the Busway) is coded route_type 0; NL is the Loire ferry
    assert set(routes.loc[routes["mode"] == "tram", "route_short_name"]) == {"1", "2", "3", "4"}
    assert routes.loc[routes["mode"] == "ferry", "route_short_name"].tolist() == ["NL"]
    assert len(layers["calendar"].frame) == 41
    assert len(layers["calendar_dates"].frame) == 295
    assert len(layers["frequencies"].frame) == 0
    transfers = layers["transfers"].frame
    assert len(transfers) == 5
    assert transfers["from_stop_id"].iloc[0] == "tan_nantes_gtfs_2014:StopPoint:COME1"
    assert transfers["min_transfer_time_s"].tolist() == [60.0] * 5
    # late-night trips: the last time is 27:22:00
    assert layers["stop_times"].frame["departure_s"].max() == 27 * 3600 + 22 * 60
    assert not layers["stop_times"].frame["interpolated"].any()
    assert active_trips(layers, "2014-05-13") == 1466


def test_tan_clipped_to_the_osm_extract(shared_data: Path) -> None:
    feed = shared_data / NANTES / "tan_nantes_gtfs_2014.zip"
    ctx = bbox_context(NANTES_PBF_BBOX, LAMBERT93)
    layers = by_name(read_gtfs([feed], ctx))
    check_schema(layers, LAMBERT93)
    stops = layers["stops"].frame
    # SOURCE.md: 233 stops inside the bbox (169 stops, 64 stations); the parent stations
    # of kept stops are kept even outside: 2 more stations.
    inside = shapely.intersects_xy(ctx.area, stops.geometry.x, stops.geometry.y)
    assert int(inside.sum()) == 233
    assert len(stops) == 235
    assert stops["location_type"].value_counts().to_dict() == {0: 169, 1: 66}
    assert (stops.loc[~inside, "location_type"] == 1).all()
    # 26,838 stop times at those stops (SOURCE.md), minus 202 of trips left with a
    # single stop inside
    assert len(layers["stop_times"].frame) == 26_838 - 202
    assert len(layers["trips"].frame) == 3545
    assert "4545" in " ".join(layers["trips"].warnings)  # 8,090 - 3,545
    routes = layers["routes"].frame
    assert len(routes) == 19
    assert {"1", "2", "3"} <= set(routes.loc[routes["mode"] == "tram", "route_short_name"])
    assert layers["feeds"].frame["stops"].iloc[0] == 235


def test_tan_min_subset(shared_data: Path, tmp_path: Path) -> None:
    feed = shared_data / NANTES / "tan_nantes_gtfs_min_2014.zip"
    ctx = covering_context(feed)
    layers = by_name(read_gtfs([feed], ctx, feed_ids=["tan"]))
    check_schema(layers, ctx.crs)
    counts = {name: len(layer.frame) for name, layer in layers.items()}
    assert counts == {
        "feeds": 1,
        "stops": 141,
        "routes": 2,
        "trips": 3,
        "stop_times": 80,
        "calendar": 1,
        "calendar_dates": 9,
        "frequencies": 0,
        "transfers": 0,
    }
    assert layers["stops"].frame["stop_id"].str.startswith("tan:").all()
    for name, layer in layers.items():  # every layer can be written as (Geo)Parquet
        layer.frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    back = gpd.read_parquet(tmp_path / "stops.parquet")
    assert back["stop_id"].tolist() == layers["stops"].frame["stop_id"].tolist()
    assert pd.read_parquet(tmp_path / "transfers.parquet").columns.tolist() == list(
        SCHEMAS["transfers"]
    )
    # None of its stops is inside the OSM extract (SOURCE.md): another territory's feed is
    # refused, naming the feed and the perimeter, rather than loaded empty.
    with pytest.raises(GtfsError) as refused:
        read_gtfs([feed], bbox_context(NANTES_PBF_BBOX, LAMBERT93))
    assert refused.value.code == "gtfs.outside_perimeter"
    assert "tan_nantes_gtfs_min_2014" in str(refused.value) and "-1.575" in str(refused.value)


def test_montpellier_tam_with_on_demand_routes(shared_data: Path) -> None:
    feed = shared_data / "france_montpellier_tam_gtfs" / "TAM_MMM_GTFS.zip"
    ctx = covering_context(feed)
    assert ctx.crs.equals(LAMBERT93)
    layers = by_name(read_gtfs([feed], ctx))
    check_schema(layers, LAMBERT93)
    routes = layers["routes"].frame
    assert len(routes) == 45
    assert routes.groupby(["route_type", "mode"]).size().to_dict() == {
        (0, "tram"): 4,
        (3, "bus"): 36,
        (715, "on_demand"): 5,
    }
    assert (routes["agency_name"] == "TAM").all()
    assert len(layers["trips"].frame) == 17_284
    assert len(layers["stops"].frame) == 2083
    assert len(layers["stop_times"].frame) == 349_512
    assert len(layers["transfers"].frame) == 1073
    assert layers["transfers"].frame["min_transfer_time_s"].isna().all()
    feed_row = layers["feeds"].frame.iloc[0]
    assert (feed_row["start_date"], feed_row["end_date"]) == (
        pd.Timestamp("2025-10-13"),
        pd.Timestamp("2025-12-19"),
    )
    assert active_trips(layers, "2025-11-18") == 4165  # SOURCE.md
    # the feed's dates agree with a day-by-day count (1,073 removals in calendar_dates)
    days = pd.date_range("2025-10-10", "2025-12-22")
    running = [day for day in days if active_trips(layers, str(day.date())) > 0]
    assert (running[0], running[-1]) == (feed_row["start_date"], feed_row["end_date"])
    stops = layers["stops"].frame
    assert stops["wheelchair_boarding"].value_counts().to_dict() == {0: 1198, 1: 885}
    pickup = layers["stop_times"].frame["pickup_type"].value_counts().to_dict()
    assert pickup == {0: 335_829, 2: 13_683}


def test_sao_paulo_frequencies(shared_data: Path) -> None:
    feed = shared_data / "sao_paulo_r5py" / "spo_gtfs.zip"
    ctx = covering_context(feed)
    assert ctx.crs.equals(CRS.from_epsg(32723))
    layers = by_name(read_gtfs([feed], ctx))
    check_schema(layers, ctx.crs)
    routes = layers["routes"].frame
    assert routes["mode"].value_counts().to_dict() == {"rail": 7, "subway": 6, "bus": 6}
    trips = layers["trips"].frame
    assert len(trips) == 36 and trips["frequency_based"].all()
    assert len(layers["stops"].frame) == 654
    assert len(layers["stop_times"].frame) == 860
    frequencies = layers["frequencies"].frame
    assert len(frequencies) == 704
    first = frequencies.iloc[0]
    assert first["trip_id"] == "spo_gtfs:CPTM L07-0"
    assert (first["start_s"], first["end_s"], first["headway_s"]) == (
        4 * 3600,
        4 * 3600 + 59 * 60,
        720,
    )
    assert len(layers["calendar_dates"].frame) == 0
    feed_row = layers["feeds"].frame.iloc[0]
    assert feed_row["agency_timezone"] == "America/Sao_Paulo"
    assert feed_row["start_date"] == pd.Timestamp("2008-01-01")
    assert feed_row["end_date"] == pd.Timestamp("2020-05-01")
    assert active_trips(layers, "2019-05-13") == 36


def test_cobb_county_two_feeds_namespaced(shared_data: Path) -> None:
    folder = shared_data / "cobb_county_otp"
    feeds = [folder / "cobblinc-bus-30-only.gtfs.zip", folder / "marta-bus-856-only.gtfs.zip"]
    ctx = covering_context(*feeds)
    layers = by_name(read_gtfs(feeds, ctx))
    check_schema(layers, ctx.crs)
    summary = layers["feeds"].frame.set_index("feed_id")
    assert list(summary.index) == ["cobblinc-bus-30-only", "marta-bus-856-only"]
    assert summary["agency_name"].tolist() == [
        "CobbLinc",
        "Metropolitan Atlanta Rapid Transit Authority",
    ]
    assert summary["stops"].tolist() == [187, 166]
    assert summary["routes"].tolist() == [2, 2]
    assert summary["trips"].tolist() == [317, 468]
    for name, column in (
        ("stops", "stop_id"),
        ("routes", "route_id"),
        ("routes", "agency_id"),
        ("trips", "trip_id"),
        ("trips", "service_id"),
        ("stop_times", "stop_id"),
        ("calendar", "service_id"),
    ):
        prefixes = layers[name].frame[column].str.split(":", n=1).str[0]
        assert set(prefixes) == set(summary.index), (name, column)
    stops = layers["stops"].frame
    assert stops.groupby("feed_id").size().to_dict() == {
        "cobblinc-bus-30-only": 187,
        "marta-bus-856-only": 166,
    }
    assert len(layers["stop_times"].frame) == 19_597 + 21_576
    assert set(layers["routes"].frame["agency_id"]) == {
        "cobblinc-bus-30-only:1",
        "marta-bus-856-only:MARTA",
    }
    assert active_trips(layers, "2021-10-12") == 193
    assert layers["feeds"].extra["feeds"][1]["end_date"] == "2021-12-17"


def test_frioul_ferry(shared_data: Path) -> None:
    feed = shared_data / "france_open_data_samples" / "gtfs_marseille_frioul"
    feed = feed / "frioul_if_express_gtfs_2016.zip"
    ctx = covering_context(feed)
    layers = by_name(read_gtfs([feed], ctx, feed_ids=["frioul"]))
    check_schema(layers, ctx.crs)
    counts = {name: len(layer.frame) for name, layer in layers.items()}
    assert counts == {
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
    route = layers["routes"].frame.iloc[0]
    assert (route["route_id"], route["agency_id"], route["agency_name"]) == (
        "frioul:L1",
        "frioul:76",
        "Frioul If Express",
    )
    feed_row = layers["feeds"].frame.iloc[0]
    assert (feed_row["start_date"], feed_row["end_date"]) == (
        pd.Timestamp("2016-04-08"),
        pd.Timestamp("2017-04-02"),
    )
    assert layers["transfers"].frame["transfer_type"].tolist() == [0, 3, 3]
    assert active_trips(layers, "2016-09-15") == 38


def test_helsinki_trimmed(shared_data: Path) -> None:
    feed = shared_data / HELSINKI / "helsinki_gtfs_20220222_trimmed.zip"
    ctx = covering_context(feed)
    layers = by_name(read_gtfs([feed], ctx, feed_ids=["hsl"]))
    check_schema(layers, ctx.crs)
    assert len(layers["stops"].frame) == 1388
    # 200 routes, 3,195 trips: 8 trips serve a single stop, which leaves 4 routes empty
    assert len(layers["trips"].frame) == 3187
    assert "8" in " ".join(layers["trips"].warnings)
    assert len(layers["routes"].frame) == 196
    assert len(layers["stop_times"].frame) == 62_485 - 8
    routes = layers["routes"].frame
    assert routes.groupby("mode").size().to_dict() == {
        "bus": 15 + 127 + 7 + 10,
        "rail": 13,
        "subway": 3,
        "tram": 21,
    }
    assert set(routes.loc[routes["mode"] == "rail", "route_type"]) == {109}
    assert len(layers["frequencies"].frame) == 3205  # of 3,226: those of kept trips
    assert layers["frequencies"].frame["exact_times"].eq(1).all()
    assert layers["trips"].frame["frequency_based"].sum() == 1775
    feed_row = layers["feeds"].frame.iloc[0]
    assert feed_row["start_date"] == feed_row["end_date"] == pd.Timestamp("2022-02-22")
    assert feed_row["agency_timezone"] == "Europe/Helsinki"
    stops = layers["stops"].frame
    assert stops["wheelchair_boarding"].value_counts().to_dict() == {2: 579, 0: 549, 1: 260}


# --------------------------------------------------------------------------- broken feeds


def test_broken_helsinki_feed_names_its_broken_references(shared_data: Path) -> None:
    feed = shared_data / HELSINKI / "reference_outputs" / "test_broken_gtfs.zip"
    error = gtfs_error(feed)
    # Its stops.txt was cut to 199 stops: 51 stops point at parent stations that are
    # gone, 1,432 stop times and 9 transfers at stops that are gone; one trip has the
    # route "-1001" which does not exist.
    assert (error.file, error.row, error.field) == (
        "test_broken_gtfs.zip/stops.txt",
        19,
        "parent_station",
    )
    message = str(error)
    assert "51 ligne(s)" in message and "« 1000003 »" in message
    assert "test_broken_gtfs.zip/trips.txt, ligne 20, champ « route_id »" in message
    assert "« -1001 »" in message
    assert "test_broken_gtfs.zip/stop_times.txt, ligne 11, champ « stop_id »" in message
    assert "1432 ligne(s)" in message and "« 1130436 »" in message
    assert "test_broken_gtfs.zip/transfers.txt, ligne 4, champ « from_stop_id »" in message


def test_broken_feed_message_in_english(shared_data: Path) -> None:
    set_language("en")
    feed = shared_data / HELSINKI / "reference_outputs" / "test_broken_gtfs.zip"
    message = str(gtfs_error(feed))
    assert message.startswith("test_broken_gtfs.zip/stops.txt, line 19, field 'parent_station'")
    assert "1432 row(s) refer to an id missing from stops.txt" in message


def test_truncated_zip(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / NANTES / "tan_nantes_gtfs_min_2014.zip").read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(data[: len(data) // 2])
    error = gtfs_error(truncated)
    assert error.file == "truncated.zip"
    assert "zip" in error.message and "tronquée" in error.message


def test_corrupt_member(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "corrupt.zip", tiny_feed())
    data = bytearray(feed.read_bytes())
    offset = data.index(b"T1,,,B,2")  # stored uncompressed: change bytes of stop_times
    data[offset : offset + 2] = b"XX"
    feed.write_bytes(bytes(data))
    error = gtfs_error(feed)
    assert error.file == "corrupt.zip/stop_times.txt"


def test_missing_file(tmp_path: Path) -> None:
    files = tiny_feed()
    del files["stops.txt"]
    error = gtfs_error(write_feed(tmp_path / "nostops.zip", files))
    assert (error.file, error.row, error.field) == ("nostops.zip/stops.txt", None, None)
    assert "absent" in error.message
    error = gtfs_error(tmp_path / "nowhere.zip")
    assert error.file == str(tmp_path / "nowhere.zip")


def test_missing_calendars_and_agency(tmp_path: Path) -> None:
    files = tiny_feed()
    del files["calendar.txt"]
    error = gtfs_error(write_feed(tmp_path / "nocal.zip", files))
    assert "calendar_dates.txt" in error.message
    files = tiny_feed()
    del files["agency.txt"]
    assert (
        gtfs_error(write_feed(tmp_path / "noagency.zip", files)).file == "noagency.zip/agency.txt"
    )


def test_two_timezones_refused(tmp_path: Path) -> None:
    agency = (
        "agency_id,agency_name,agency_url,agency_timezone\n"
        "A,Tiny transit,http://example.org,Europe/Paris\n"
        "B,Other,http://example.org,Europe/London\n"
    )
    routes = "route_id,agency_id,route_short_name,route_long_name,route_type\nR1,A,1,A - D,3\n"
    error = gtfs_error(
        write_feed(tmp_path / "tz.zip", tiny_feed(**{"agency.txt": agency, "routes.txt": routes}))
    )
    assert (error.file, error.row, error.field) == ("tz.zip/agency.txt", 3, "agency_timezone")


def test_missing_column(tmp_path: Path) -> None:
    trips = "route_id,trip_id\nR1,T1\nR1,T2\n"
    error = gtfs_error(write_feed(tmp_path / "col.zip", tiny_feed(**{"trips.txt": trips})))
    assert (error.file, error.row, error.field) == ("col.zip/trips.txt", 1, "service_id")


@pytest.mark.parametrize(
    ("bad", "field"),
    [("25:6x:00", "arrival_time"), ("12:75:00", "arrival_time"), ("8:05", "arrival_time")],
)
def test_bad_time(tmp_path: Path, bad: str, field: str) -> None:
    stop_times = tiny_feed()["stop_times.txt"]
    assert isinstance(stop_times, str)
    files = tiny_feed(**{"stop_times.txt": stop_times.replace("T1,,,C,3", f"T1,{bad},,C,3")})
    error = gtfs_error(write_feed(tmp_path / "time.zip", files))
    assert (error.file, error.row, error.field) == ("time.zip/stop_times.txt", 4, field)
    assert bad in error.message


def test_bad_date(tmp_path: Path) -> None:
    calendar = (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20240101,20240231\n"
    )
    error = gtfs_error(write_feed(tmp_path / "date.zip", tiny_feed(**{"calendar.txt": calendar})))
    assert (error.file, error.row, error.field) == ("date.zip/calendar.txt", 2, "end_date")
    assert "20240231" in error.message


def test_unknown_stop_in_stop_times(tmp_path: Path) -> None:
    stop_times = tiny_feed()["stop_times.txt"]
    assert isinstance(stop_times, str)
    files = tiny_feed(**{"stop_times.txt": stop_times.replace("T1,,,C,3", "T1,,,ZZ,3")})
    error = gtfs_error(write_feed(tmp_path / "stop.zip", files))
    assert (error.file, error.row, error.field) == ("stop.zip/stop_times.txt", 4, "stop_id")
    assert "1 ligne(s)" in error.message and "« ZZ »" in error.message


def test_unknown_service(tmp_path: Path) -> None:
    trips = "route_id,service_id,trip_id\nR1,WK,T1\nR1,SUNDAY,T2\n"
    error = gtfs_error(write_feed(tmp_path / "svc.zip", tiny_feed(**{"trips.txt": trips})))
    assert (error.file, error.row, error.field) == ("svc.zip/trips.txt", 3, "service_id")
    assert "« SUNDAY »" in error.message


def test_unknown_route_type(tmp_path: Path) -> None:
    routes = "route_id,agency_id,route_short_name,route_long_name,route_type\nR1,A,1,A - D,8\n"
    error = gtfs_error(write_feed(tmp_path / "rt.zip", tiny_feed(**{"routes.txt": routes})))
    assert (error.file, error.row, error.field) == ("rt.zip/routes.txt", 2, "route_type")


def test_first_stop_without_time(tmp_path: Path) -> None:
    stop_times = tiny_feed()["stop_times.txt"]
    assert isinstance(stop_times, str)
    files = tiny_feed(**{"stop_times.txt": stop_times.replace("T1, 8:00:00,08:00:00,A", "T1,,,A")})
    error = gtfs_error(write_feed(tmp_path / "first.zip", files))
    assert (error.file, error.row, error.field) == (
        "first.zip/stop_times.txt",
        2,
        "departure_time",
    )


def test_time_going_backwards(tmp_path: Path) -> None:
    stop_times = tiny_feed()["stop_times.txt"]
    assert isinstance(stop_times, str)
    files = tiny_feed(**{"stop_times.txt": stop_times.replace("T1,,,C,3", "T1,07:00:00,,C,3")})
    error = gtfs_error(write_feed(tmp_path / "back.zip", files))
    assert (error.file, error.row, error.field) == ("back.zip/stop_times.txt", 4, "arrival_time")


def test_bad_feed_ids(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "a.zip", tiny_feed())
    for ids in (["A:1"], ["x", "y"], [""]):
        with pytest.raises(InputError):
            read_gtfs([feed], EVERYWHERE, feed_ids=ids)
    with pytest.raises(InputError, match="double"):
        read_gtfs([feed, feed], EVERYWHERE, feed_ids=["same", "same"])


# --------------------------------------------------------------------------- hand-made feeds


def test_latin1_stops_load(tmp_path: Path) -> None:
    stops = tiny_feed()["stops.txt"]
    assert isinstance(stops, str)
    stops = stops.replace("Stop B", "Château d'Eau").replace("Stop C", "Hôtel-Dieu")
    files = tiny_feed(**{"stops.txt": stops.encode("latin-1")})
    layers = by_name(read_gtfs([write_feed(tmp_path / "latin1.zip", files)], EVERYWHERE))
    names = set(layers["stops"].frame["stop_name"])
    assert {"Château d'Eau", "Hôtel-Dieu"} <= names


def test_blank_times_interpolated_by_distance(tmp_path: Path) -> None:
    layers = by_name(read_gtfs([write_feed(tmp_path / "tiny.zip", tiny_feed())], EVERYWHERE))
    check_schema(layers, LAMBERT93)
    st = layers["stop_times"].frame
    t1 = st[st["trip_id"] == "tiny:T1"].set_index("stop_id")
    # A 08:00:00, D 08:11:40 (700 s), 6 km: B at 1 km, C at 3.5 km, truncated to the
    # second as in gtfs-lib: 700 / 6 = 116.67 s and 700 * 3.5 / 6 = 408.33 s.
    assert t1.loc["tiny:B", "arrival_s"] == t1.loc["tiny:B", "departure_s"] == 28_800 + 116
    assert t1.loc["tiny:C", "arrival_s"] == t1.loc["tiny:C", "departure_s"] == 28_800 + 408
    assert t1["interpolated"].tolist() == [False, True, True, False]
    assert t1.loc["tiny:D", "arrival_s"] == 28_800 + 700


def test_times_past_midnight_and_single_times(tmp_path: Path) -> None:
    layers = by_name(read_gtfs([write_feed(tmp_path / "tiny.zip", tiny_feed())], EVERYWHERE))
    st = layers["stop_times"].frame
    t2 = st[st["trip_id"] == "tiny:T2"]
    assert t2["stop_id"].tolist() == ["tiny:D", "tiny:C", "tiny:A"]
    assert t2["arrival_s"].tolist() == [89_400, 90_000, 90_600]  # 24:50, 25:00, 25:10
    # only one of arrival/departure given: copied to the other
    assert t2["departure_s"].tolist() == [89_400, 90_000, 90_600]
    assert not t2["interpolated"].any()
    t1 = st[st["trip_id"] == "tiny:T1"]
    assert t1["arrival_s"].iloc[0] == 8 * 3600  # " 8:00:00"


def test_tiny_feed_values(tmp_path: Path) -> None:
    folder = write_feed(tmp_path / "Petit Réseau", tiny_feed())  # a folder, not a zip
    layers = by_name(read_gtfs([folder], EVERYWHERE))
    assert layers["feeds"].frame["feed_id"].tolist() == ["petit_reseau"]
    stops = layers["stops"].frame.set_index("stop_id")
    # A inherits wheelchair_boarding 1 from its station; B keeps its own 2
    assert stops["wheelchair_boarding"].to_dict() == {
        "petit_reseau:STA": 1,
        "petit_reseau:A": 1,
        "petit_reseau:B": 2,
        "petit_reseau:C": 0,
        "petit_reseau:D": 0,
    }
    assert stops.loc["petit_reseau:A", "parent_station"] == "petit_reseau:STA"
    assert pd.isna(stops.loc["petit_reseau:B", "parent_station"])
    assert math.isclose(stops.loc["petit_reseau:D"].geometry.x, X0 + 6000, abs_tol=0.01)
    assert pd.isna(stops.loc["petit_reseau:A", "stop_code"])
    trips = layers["trips"].frame
    assert trips["direction_id"].tolist() == [0, 1]
    assert trips["trip_headsign"].isna().all()
    route = layers["routes"].frame.iloc[0]
    assert (route["agency_id"], route["agency_name"], route["mode"]) == (
        "petit_reseau:A",
        "Tiny transit",
        "bus",
    )
    feed = layers["feeds"].frame.iloc[0]
    assert feed["start_date"] == pd.Timestamp("2024-01-01")  # a Monday
    assert feed["end_date"] == pd.Timestamp("2024-12-31")  # a Tuesday


def test_calendar_dates_only_and_service_span(tmp_path: Path) -> None:
    files = tiny_feed()
    del files["calendar.txt"]
    files["calendar_dates.txt"] = (
        "service_id,date,exception_type\nWK,20240610,1\nWK,20240501,1\nOTHER,20250101,1\n"
    )
    layers = by_name(read_gtfs([write_feed(tmp_path / "cd.zip", files)], EVERYWHERE))
    feed = layers["feeds"].frame.iloc[0]
    # OTHER is used by no trip: it does not extend the feed's dates
    assert (feed["start_date"], feed["end_date"]) == (
        pd.Timestamp("2024-05-01"),
        pd.Timestamp("2024-06-10"),
    )
    assert len(layers["calendar"].frame) == 0
    files["calendar.txt"] = (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,0,0,0,0,0,1,0,20240101,20240131\n"
    )
    # the same exception twice is accepted
    files["calendar_dates.txt"] = "service_id,date,exception_type\nWK,20240127,2\nWK,20240127,2\n"
    layers = by_name(read_gtfs([write_feed(tmp_path / "cal.zip", files)], EVERYWHERE))
    feed = layers["feeds"].frame.iloc[0]
    # Saturdays of January 2024: 6, 13, 20, 27; the 27th removed
    assert (feed["start_date"], feed["end_date"]) == (
        pd.Timestamp("2024-01-06"),
        pd.Timestamp("2024-01-20"),
    )
    assert len(layers["calendar_dates"].frame) == 1
    files["calendar_dates.txt"] = "service_id,date,exception_type\nWK,20240127,2\nWK,20240127,1\n"
    error = gtfs_error(write_feed(tmp_path / "conflict.zip", files))
    assert (error.file, error.row, error.field) == ("conflict.zip/calendar_dates.txt", 3, "date")


def test_same_stop_id_in_two_feeds(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    feeds = [
        write_feed(tmp_path / "one" / "gtfs.zip", tiny_feed()),
        write_feed(tmp_path / "two" / "gtfs.zip", tiny_feed()),
    ]
    layers = by_name(read_gtfs(feeds, EVERYWHERE))
    assert layers["feeds"].frame["feed_id"].tolist() == ["gtfs", "gtfs_2"]
    stops = layers["stops"].frame
    assert len(stops) == 10
    assert {"gtfs:A", "gtfs_2:A"} <= set(stops["stop_id"])
    assert len(layers["trips"].frame) == 4
    assert layers["stop_times"].frame["trip_id"].tolist()[:4] == ["gtfs:T1"] * 4


def test_clipping_keeps_inside_part_and_parent(tmp_path: Path) -> None:
    files = tiny_feed(**{"transfers.txt": "from_stop_id,to_stop_id,transfer_type\nA,B,2\nC,D,0\n"})
    # Keep only the first 4 km: A, B, C inside (the station STA is 50 m north, outside)
    area = shapely.box(X0 - 10, Y0 - 10, X0 + 4000, Y0 + 10)
    progress: list[tuple[str, float | None]] = []
    ctx = ReadContext(crs=LAMBERT93, area=area, progress=lambda *a: progress.append(a))
    layers = by_name(read_gtfs([write_feed(tmp_path / "clip.zip", files)], ctx))
    check_schema(layers, LAMBERT93)
    stops = layers["stops"].frame
    assert stops["stop_id"].tolist() == ["clip:STA", "clip:A", "clip:B", "clip:C"]
    st = layers["stop_times"].frame
    t1 = st[st["trip_id"] == "clip:T1"]
    # interpolated before clipping: the times of B and C do not change
    assert t1["arrival_s"].tolist() == [28_800, 28_800 + 116, 28_800 + 408]
    assert st["trip_id"].unique().tolist() == ["clip:T1", "clip:T2"]
    assert layers["transfers"].frame["from_stop_id"].tolist() == ["clip:A"]
    assert progress[-1][1] == 1.0
    assert all(0.0 <= (f or 0.0) <= 1.0 for _, f in progress)
    # a trip left with one stop inside is dropped, and so is its route
    area = shapely.box(X0 - 10, Y0 - 10, X0 + 10, Y0 + 10)
    layers = by_name(
        read_gtfs([write_feed(tmp_path / "clip2.zip", files)], ReadContext(LAMBERT93, area))
    )
    assert len(layers["trips"].frame) == len(layers["routes"].frame) == 0
    assert "2" in layers["trips"].warnings[0]
    assert len(layers["transfers"].frame) == 0
    check_schema(layers, LAMBERT93)


def test_no_feed_gives_empty_layers() -> None:
    layers = by_name(read_gtfs([], EVERYWHERE))
    check_schema(layers, LAMBERT93)
    assert all(len(layer.frame) == 0 for layer in layers.values())


def test_zip_with_a_folder_inside(tmp_path: Path) -> None:
    files = {f"export/{name}": content for name, content in tiny_feed().items()}
    layers = by_name(read_gtfs([write_feed(tmp_path / "nested.zip", files)], EVERYWHERE))
    assert len(layers["stops"].frame) == 5
    stop_times = tiny_feed()["stop_times.txt"]
    assert isinstance(stop_times, str)
    files["export/stop_times.txt"] = stop_times.replace("T1,,,C,3", "T1,,,ZZ,3")
    error = gtfs_error(write_feed(tmp_path / "nested2.zip", files))
    assert error.file == "nested2.zip/export/stop_times.txt"


def test_min_feed_stop_times_match_the_file(shared_data: Path) -> None:
    # the stop times of the first trip of the file, in stop_sequence order
    with zipfile.ZipFile(shared_data / NANTES / "tan_nantes_gtfs_min_2014.zip") as archive:
        raw = pd.read_csv(io.BytesIO(archive.read("stop_times.txt")), dtype=str)
    trip = raw["trip_id"].iloc[0]
    layers = by_name(
        read_gtfs(
            [shared_data / NANTES / "tan_nantes_gtfs_min_2014.zip"],
            covering_context(shared_data / NANTES / "tan_nantes_gtfs_min_2014.zip"),
            feed_ids=["m"],
        )
    )
    st = layers["stop_times"].frame
    mine = st[st["trip_id"] == f"m:{trip}"]
    expected = raw[raw["trip_id"] == trip].assign(seq=lambda f: f["stop_sequence"].astype(int))
    expected = expected.sort_values("seq")
    hours = expected["arrival_time"].str.split(":", expand=True).astype(int)
    seconds = (hours[0] * 3600 + hours[1] * 60 + hours[2]).tolist()
    assert mine["arrival_s"].tolist() == seconds
    assert mine["stop_id"].tolist() == ("m:" + expected["stop_id"]).tolist()
