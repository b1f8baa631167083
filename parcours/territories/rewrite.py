"""A territory's layers written back in their source formats, for engines that read files.

R5 (through r5py) builds its network from an OSM PBF and GTFS feeds. Handing it the
original downloads would route on what the territory clipped away (and break when the
files move): :func:`write_sources` writes the territory's *own* layers instead, once, into
its cache, and reuses them until a layer changes (the folder is keyed by the sha256 of the
layers, from the manifest).

- **OSM PBF**: every way of the ``streets`` layer with the tags the layer keeps and its
  nodes (ids and locations from ``node_ids`` and the geometry's vertices, in WGS84 at OSM's
  7-decimal precision). Points of interest are not written: the engines do not route on them.
- **GTFS**: one zip per feed (``feeds`` layer), ids without the ``FEED:`` namespace,
  the files the territory keeps (``agency, stops, routes, trips, stop_times, calendar,
  calendar_dates, frequencies, transfers``), times back to ``HH:MM:SS`` (past 24:00 as
  GTFS allows). Agencies keep their id, name and timezone; their URL is not kept by the
  readers, so ``agency_url`` is a placeholder (``https://example.org/``).

Read back by :mod:`parcours.territories.readers`, the written files give the same layers
(tested).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import osmium
import pandas as pd
import shapely
from osmium.osm.mutable import Node as MutableNode
from osmium.osm.mutable import Way as MutableWay
from pyproj import Transformer

from parcours.geo.crs import WGS84
from parcours.territories.readers.osm import STREET_TAGS
from parcours.territories.sources import GTFS_LAYERS
from parcours.territories.workspace import Territory

__all__ = ["RewrittenSources", "write_gtfs", "write_sources", "write_streets_pbf"]

_VERSION = "rewrite-1"


class RewrittenSources:
    """The files written for a territory: ``osm`` (a PBF) and ``gtfs`` (zips, by feed)."""

    def __init__(self, osm: Path, gtfs: list[Path]) -> None:
        self.osm = osm
        self.gtfs = gtfs


def _layers_key(territory: Territory) -> str:
    layers = territory.manifest.get("layers", {})
    digest = {
        name: [s.get("sha256") for s in layers.get(name, {}).get("sources", [])]
        + [layers.get(name, {}).get("rows")]
        for name in ("streets", *GTFS_LAYERS)
    }
    text = json.dumps([_VERSION, territory.name, digest], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_sources(territory: Territory) -> RewrittenSources:
    """Write (once) the territory's streets as a PBF and its feeds as GTFS zips.

    Returns
    -------
    RewrittenSources
        The paths, under ``territory.cache_dir() / "sources" / KEY``.
    """
    folder = territory.cache_dir() / "sources" / _layers_key(territory)
    done = folder / "done.json"
    if done.exists():
        names = json.loads(done.read_text(encoding="utf-8"))
        return RewrittenSources(folder / names["osm"], [folder / g for g in names["gtfs"]])
    staging = folder.with_name(folder.name + ".tmp")
    staging.mkdir(parents=True, exist_ok=True)
    write_streets_pbf(territory, staging / "streets.osm.pbf")
    gtfs = write_gtfs(territory, staging)
    (staging / "done.json").write_text(
        json.dumps({"osm": "streets.osm.pbf", "gtfs": [p.name for p in gtfs]}), encoding="utf-8"
    )
    if folder.exists():  # another process finished first: keep its files
        return write_sources(territory)
    staging.replace(folder)
    return RewrittenSources(folder / "streets.osm.pbf", [folder / p.name for p in gtfs])


def write_streets_pbf(territory: Territory, path: Path) -> int:
    """Write the ``streets`` layer as an OSM PBF; returns the number of ways."""
    streets = territory.layer("streets")
    to_wgs = Transformer.from_crs(territory.crs, WGS84, always_xy=True)
    coords = shapely.get_coordinates(streets.geometry.to_numpy())
    counts = shapely.get_num_coordinates(streets.geometry.to_numpy())
    lon, lat = to_wgs.transform(coords[:, 0], coords[:, 1])
    node_ids = np.concatenate([np.asarray(n, dtype=np.int64) for n in streets["node_ids"]])
    if len(node_ids) != len(lon):
        raise ValueError("streets layer: node_ids and geometry vertices differ in number")
    order = np.argsort(node_ids, kind="stable")
    first = np.ones(len(order), dtype=bool)
    first[1:] = node_ids[order][1:] != node_ids[order][:-1]
    unique = order[first]
    if path.exists():
        path.unlink()
    writer = osmium.SimpleWriter(osmium.io.File(str(path), "pbf"))
    try:
        for k in unique:
            writer.add_node(
                MutableNode(
                    id=int(node_ids[k]),
                    location=(round(float(lon[k]), 7), round(float(lat[k]), 7)),
                    version=1,
                )
            )
        offsets = np.concatenate(([0], np.cumsum(counts)))
        keys = [(key, column) for key, column in STREET_TAGS if column in streets.columns]
        values = {column: streets[column].to_numpy(dtype=object) for _, column in keys}
        for row, way_id in enumerate(streets["osm_id"].to_numpy()):
            tags = {
                key: str(values[column][row])
                for key, column in keys
                if values[column][row] is not None and not pd.isna(values[column][row])
            }
            refs = node_ids[offsets[row] : offsets[row + 1]].tolist()
            writer.add_way(MutableWay(id=int(way_id), nodes=refs, tags=tags, version=1))
    finally:
        writer.close()
    return len(streets)


def _strip(values: pd.Series, feed: str) -> pd.Series:
    prefix = f"{feed}:"
    return values.astype("string").str.removeprefix(prefix)


def _clock(seconds: pd.Series) -> pd.Series:
    s = seconds.astype("int64")
    return (
        (s // 3600).astype(str).str.zfill(2)
        + ":"
        + (s % 3600 // 60).astype(str).str.zfill(2)
        + ":"
        + (s % 60).astype(str).str.zfill(2)
    )


def _date(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y%m%d")


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def write_gtfs(territory: Territory, folder: Path) -> list[Path]:
    """Write one GTFS zip per feed of the territory; returns their paths (none: no feed)."""
    if not territory.has_layer("feeds"):
        return []
    tables: dict[str, Any] = {n: territory.layer(n) for n in GTFS_LAYERS if territory.has_layer(n)}
    paths = []
    for feed in tables["feeds"].itertuples(index=False):
        paths.append(_write_feed(tables, str(feed.feed_id), str(feed.agency_timezone), folder))
    return paths


def _write_feed(tables: dict[str, Any], feed: str, timezone: str, folder: Path) -> Path:
    routes = tables["routes"][tables["routes"]["feed_id"] == feed]
    trips = tables["trips"][tables["trips"]["feed_id"] == feed]
    stops = tables["stops"][tables["stops"]["feed_id"] == feed].to_crs(WGS84)
    trip_ids = set(trips["trip_id"])
    stop_times = tables["stop_times"][tables["stop_times"]["trip_id"].isin(trip_ids)]
    files: dict[str, pd.DataFrame] = {}
    agencies = routes[["agency_id", "agency_name"]].drop_duplicates("agency_id")
    files["agency.txt"] = pd.DataFrame(
        {
            "agency_id": _strip(agencies["agency_id"], feed),
            "agency_name": agencies["agency_name"],
            "agency_url": "https://example.org/",
            "agency_timezone": timezone,
        }
    )
    files["stops.txt"] = pd.DataFrame(
        {
            "stop_id": _strip(stops["stop_id"], feed),
            "stop_code": stops["stop_code"],
            "stop_name": stops["stop_name"],
            "stop_lat": stops.geometry.y.round(7),
            "stop_lon": stops.geometry.x.round(7),
            "location_type": stops["location_type"],
            "parent_station": _strip(stops["parent_station"], feed),
            "wheelchair_boarding": stops["wheelchair_boarding"],
        }
    )
    files["routes.txt"] = pd.DataFrame(
        {
            "route_id": _strip(routes["route_id"], feed),
            "agency_id": _strip(routes["agency_id"], feed),
            "route_short_name": routes["route_short_name"],
            "route_long_name": routes["route_long_name"],
            "route_type": routes["route_type"],
        }
    )
    files["trips.txt"] = pd.DataFrame(
        {
            "route_id": _strip(trips["route_id"], feed),
            "service_id": _strip(trips["service_id"], feed),
            "trip_id": _strip(trips["trip_id"], feed),
            "trip_headsign": trips["trip_headsign"],
            "direction_id": trips["direction_id"].where(trips["direction_id"] >= 0),
            "wheelchair_accessible": trips["wheelchair_accessible"],
        }
    )
    files["stop_times.txt"] = pd.DataFrame(
        {
            "trip_id": _strip(stop_times["trip_id"], feed),
            "arrival_time": _clock(stop_times["arrival_s"]),
            "departure_time": _clock(stop_times["departure_s"]),
            "stop_id": _strip(stop_times["stop_id"], feed),
            "stop_sequence": stop_times["stop_sequence"],
            "pickup_type": stop_times["pickup_type"],
            "drop_off_type": stop_times["drop_off_type"],
        }
    )
    services = set(trips["service_id"])
    if "calendar" in tables:
        calendar = tables["calendar"][tables["calendar"]["service_id"].isin(services)]
        days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        frame = pd.DataFrame({"service_id": _strip(calendar["service_id"], feed)})
        for day in days:
            frame[day] = calendar[day].astype(int)
        frame["start_date"] = _date(calendar["start_date"])
        frame["end_date"] = _date(calendar["end_date"])
        files["calendar.txt"] = frame
    if "calendar_dates" in tables:
        dates = tables["calendar_dates"][tables["calendar_dates"]["service_id"].isin(services)]
        files["calendar_dates.txt"] = pd.DataFrame(
            {
                "service_id": _strip(dates["service_id"], feed),
                "date": _date(dates["date"]),
                "exception_type": dates["exception_type"],
            }
        )
    if "frequencies" in tables and len(tables["frequencies"]):
        freq = tables["frequencies"][tables["frequencies"]["trip_id"].isin(trip_ids)]
        if len(freq):
            files["frequencies.txt"] = pd.DataFrame(
                {
                    "trip_id": _strip(freq["trip_id"], feed),
                    "start_time": _clock(freq["start_s"]),
                    "end_time": _clock(freq["end_s"]),
                    "headway_secs": freq["headway_s"],
                    "exact_times": freq["exact_times"],
                }
            )
    if "transfers" in tables and len(tables["transfers"]):
        stop_ids = set(stops["stop_id"])
        tr = tables["transfers"]
        tr = tr[tr["from_stop_id"].isin(stop_ids) & tr["to_stop_id"].isin(stop_ids)]
        if len(tr):
            files["transfers.txt"] = pd.DataFrame(
                {
                    "from_stop_id": _strip(tr["from_stop_id"], feed),
                    "to_stop_id": _strip(tr["to_stop_id"], feed),
                    "transfer_type": tr["transfer_type"],
                    "min_transfer_time": tr["min_transfer_time_s"].round().astype("Int64"),
                }
            )
    path = folder / f"{feed}.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, frame in files.items():
            archive.writestr(name, _csv(frame))
    return path
