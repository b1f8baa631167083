"""A network built straight from files keeps what lies on the PBF extent's edge."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import geopandas as gpd
import osmium
import pytest
import shapely
from osmium.osm.mutable import Node as MutableNode
from osmium.osm.mutable import Way as MutableWay

from parcours.accessibility import TransportNetwork, travel_time_matrix

WEST, SOUTH = -1.5612345, 47.2012345  # 7 decimals: OSM's precision, exactly the extent
STEP = 0.002  # about 150 m east-west, 220 m north-south


def _grid_pbf(path: Path) -> None:
    """Three north-south and three east-west residential streets; the extent is the grid."""
    nodes = {}
    for i in range(3):
        for j in range(3):
            nodes[(i, j)] = len(nodes) + 1
    writer = osmium.SimpleWriter(osmium.io.File(str(path), "pbf"))
    try:
        for (i, j), node_id in nodes.items():
            writer.add_node(
                MutableNode(id=node_id, location=(WEST + i * STEP, SOUTH + j * STEP), version=1)
            )
        way_id = 1
        for i in range(3):
            refs = [nodes[(i, j)] for j in range(3)]
            writer.add_way(MutableWay(id=way_id, nodes=refs, tags={"highway": "residential"}))
            way_id += 1
        for j in range(3):
            refs = [nodes[(i, j)] for i in range(3)]
            writer.add_way(MutableWay(id=way_id, nodes=refs, tags={"highway": "residential"}))
            way_id += 1
    finally:
        writer.close()


def _feed(path: Path) -> None:
    """One bus along the west street, stops exactly on the extent's western edge."""
    files = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\na,A,http://a,Europe/Paris\n",
        "routes.txt": "route_id,agency_id,route_short_name,route_type\nr,a,1,3\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\ns,1,1,1,1,1,1,1,20140101,20141231\n",
        "trips.txt": "route_id,service_id,trip_id\nr,s,t\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
        + "".join(f"s{j},S{j},{SOUTH + j * STEP:.7f},{WEST:.7f}\n" for j in range(3)),
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t,08:05:00,08:05:00,s0,1\nt,08:06:00,08:06:00,s1,2\nt,08:07:00,08:07:00,s2,3\n",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)


def test_ways_and_stops_on_the_extent_edge_are_kept(tmp_path: Path) -> None:
    pbf, gtfs = tmp_path / "grid.osm.pbf", tmp_path / "feed.zip"
    _grid_pbf(pbf)
    _feed(gtfs)
    network = TransportNetwork.from_files(pbf, [gtfs], home=tmp_path / "home")
    assert len(network.territory.layer("streets")) == 6  # the west street is kept
    assert len(network.territory.layer("stops")) == 3  # and its three stops
    points = gpd.GeoDataFrame(
        {"id": ["south", "north"]},
        geometry=[shapely.Point(WEST, SOUTH), shapely.Point(WEST, SOUTH + 2 * STEP)],
        crs=4326,
    )
    walk = travel_time_matrix(
        network,
        points.iloc[:1],
        points.iloc[1:],
        transport_modes=["walk"],
        departure=dt.datetime(2014, 5, 13, 8, 0),
    )
    metres = gpd.GeoSeries(points.geometry, crs=4326).to_crs(2154)
    straight_min = metres.iloc[0].distance(metres.iloc[1]) / (3.6 / 3.6) / 60
    # Along the west street itself: the straight line, not a detour by the next street.
    assert walk["travel_time"].iloc[0] == pytest.approx(straight_min, abs=1.0)
    bus = travel_time_matrix(
        network,
        points.iloc[:1],
        points.iloc[1:],
        transport_modes=["transit"],
        departure=dt.datetime(2014, 5, 13, 8, 3),
        departure_time_window=dt.timedelta(minutes=1),
    )
    assert bus["travel_time"].iloc[0] == 4  # wait 2 min, ride 2 min: the bus is used
