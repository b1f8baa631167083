"""A hand-made line network shared by tests: one street, one bus, exact by construction.

One residential street 9.6 km long along latitude :data:`LAT` (a node every 100 m) with a
short cross street at each end, and a bus from stop A (3 km from the west end) to stop B
(6 km) every 10 minutes from 07:00 to 11:00, riding 6 minutes, every day of 2014.
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import shapely
from osmium.osm.mutable import Node as MutableNode
from osmium.osm.mutable import Way as MutableWay

from parcours.accessibility import TransportNetwork
from parcours.accessibility.params import TransportMode
from parcours.accessibility.query import MatrixInputs, make_params

LAT = 47.2
WEST = -1.65
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT))
DAY = dt.datetime(2014, 5, 13, 8, 0)
#: Bus departures from A (seconds after midnight) and the ride to B, seconds.
BUS_FIRST_S, BUS_EVERY_S, BUS_LAST_S, RIDE_S = 7 * 3600, 600, 11 * 3600, 360


def lon_at(x_m: float) -> float:
    return WEST + x_m / M_PER_DEG_LON


def line_pbf(path: Path, length_m: float = 9600.0, step_m: float = 100.0) -> None:
    n = int(length_m // step_m) + 1
    writer = osmium.SimpleWriter(osmium.io.File(str(path), "pbf"))
    try:
        for i in range(n):
            writer.add_node(MutableNode(id=i + 1, location=(lon_at(i * step_m), LAT), version=1))
        writer.add_way(
            MutableWay(id=1, nodes=list(range(1, n + 1)), tags={"highway": "residential"})
        )
        # A short cross street at each end keeps the extent two-dimensional.
        writer.add_node(MutableNode(id=n + 1, location=(lon_at(0), LAT + 0.001), version=1))
        writer.add_node(MutableNode(id=n + 2, location=(lon_at(length_m), LAT - 0.001), version=1))
        writer.add_way(MutableWay(id=2, nodes=[1, n + 1], tags={"highway": "residential"}))
        writer.add_way(MutableWay(id=3, nodes=[n, n + 2], tags={"highway": "residential"}))
    finally:
        writer.close()


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def bus_feed(path: Path) -> None:
    trips = range(BUS_FIRST_S, BUS_LAST_S + 1, BUS_EVERY_S)
    files = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
        "a,Bus,http://example.org,Europe/Paris\n",
        "routes.txt": "route_id,agency_id,route_short_name,route_type\nr,a,1,3\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\ns,1,1,1,1,1,1,1,20140101,20141231\n",
        "trips.txt": "route_id,service_id,trip_id\n"
        + "".join(f"r,s,t{k}\n" for k in range(len(trips))),
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
        f"A,A,{LAT:.7f},{lon_at(3000):.7f}\nB,B,{LAT:.7f},{lon_at(6000):.7f}\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        + "".join(
            f"t{k},{_clock(t)},{_clock(t)},A,1\n"
            f"t{k},{_clock(t + RIDE_S)},{_clock(t + RIDE_S)},B,2\n"
            for k, t in enumerate(trips)
        ),
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)


def points(**x_m: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": list(x_m)},
        geometry=[shapely.Point(lon_at(x), LAT) for x in x_m.values()],
        crs=4326,
    )


def leg_s(network: TransportNetwork, mode: TransportMode, a_m: float, b_m: float) -> float:
    """The street engine's time from ``a_m`` to ``b_m`` on ``mode``'s graph, whole seconds up."""
    params = make_params(transport_modes=[mode.value], departure=DAY)
    inputs = MatrixInputs.prepare(network, points(a=a_m), points(b=b_m), params)
    times = inputs.graph.travel_times_s(
        inputs.snapped_origins, inputs.snapped_destinations, max_time_s=7200
    )
    return float(np.ceil(times[0, 0]))
