"""The native street engine: graphs from the real OSM extracts, checked against networkx."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from parcours.accessibility.streets import (
    SnappedPoints,
    StreetGraph,
    StreetMode,
    _parse_maxspeed_kmh,
    _permissions,
    _prepared,
    cached_street_graph,
)
from parcours.errors import InputError
from parcours.geo.crs import LAMBERT93, WGS84
from parcours.territories.readers._base import ReadContext
from parcours.territories.readers.osm import STREET_COLUMNS, read_osm

NANTES = "france_nantes_tempus/nantes_subset_2014.osm.pbf"
SAINT_BARTH = "france_saint_barthelemy_osm/saint_barthelemy.osm.pbf"
HUGE_S = 1e9

# Real ways of the Nantes extract (2014), see the test that uses each.
RUE_D_ERLON = 26149007  # residential, oneway=yes, maxspeed=30
RUE_COLBERT = 28677153  # residential, oneway=yes, cycleway=opposite_lane
PLACE_FRANCOIS_II = 25652613  # junction=roundabout, no oneway tag
RUE_D_ANCIN_STEPS = 26687930  # highway=steps, 82 m


def _box_area(bounds: tuple[float, float, float, float], crs: CRS, buffer_m: float) -> Any:
    box = gpd.GeoSeries([shapely.box(*bounds)], crs=WGS84).to_crs(crs)
    return box.buffer(buffer_m).iloc[0]


@pytest.fixture(scope="module")
def nantes_streets(shared_data: Path) -> gpd.GeoDataFrame:
    area = _box_area((-1.575, 47.199, -1.536, 47.222), LAMBERT93, 2000)
    streets, _ = read_osm(shared_data / NANTES, ReadContext(crs=LAMBERT93, area=area))
    return streets.frame


@pytest.fixture(scope="module")
def barth_streets(shared_data: Path) -> gpd.GeoDataFrame:
    crs = CRS.from_epsg(5490)
    area = _box_area((-63.069, 17.667, -62.575, 18.141), crs, 0)
    streets, _ = read_osm(shared_data / SAINT_BARTH, ReadContext(crs=crs, area=area))
    return streets.frame


@pytest.fixture(scope="module")
def nantes(nantes_streets: gpd.GeoDataFrame) -> dict[str, StreetGraph]:
    return {mode.value: StreetGraph.from_streets(nantes_streets, mode) for mode in StreetMode}


@pytest.fixture(scope="module")
def barth(barth_streets: gpd.GeoDataFrame) -> dict[str, StreetGraph]:
    return {mode.value: StreetGraph.from_streets(barth_streets, mode) for mode in StreetMode}


def _graph(nantes: dict[str, StreetGraph], barth: dict[str, StreetGraph], name: str) -> StreetGraph:
    place, mode = name.split("-")
    return (nantes if place == "nantes" else barth)[mode]


GRAPHS = ["nantes-walk", "nantes-bike", "nantes-car", "barth-walk", "barth-car"]


# --- against networkx -----------------------------------------------------------------


@pytest.mark.parametrize("name", GRAPHS)
def test_node_to_node_times_equal_networkx(
    nantes: dict[str, StreetGraph], barth: dict[str, StreetGraph], name: str
) -> None:
    graph = _graph(nantes, barth, name)
    reference = graph.to_networkx()
    rng = np.random.default_rng(1)
    nodes = rng.choice(graph.n_nodes, size=24, replace=False)
    snapped = graph.snap(graph.node_x[nodes], graph.node_y[nodes])
    edges = graph.edge_geometries()
    at_node = np.where(
        snapped.fraction == 0.0, edges.from_node[snapped.edge], edges.to_node[snapped.edge]
    )
    # a node may lie on another edge (a bridge over it): keep the points snapped onto it
    exact = snapped.ok & ((snapped.fraction == 0.0) | (snapped.fraction == 1.0))
    exact &= at_node == nodes
    assert exact.sum() >= 20
    np.testing.assert_array_equal(snapped.snap_distance_m[exact], 0.0)
    origins, destinations = nodes[exact][:10], nodes[exact][10:]
    times = graph.travel_times_s(
        graph.snap(graph.node_x[origins], graph.node_y[origins]),
        graph.snap(graph.node_x[destinations], graph.node_y[destinations]),
        max_time_s=HUGE_S,
        turn_costs=False,  # networkx has no car turn costs (see test_turn_costs.py)
    )
    osm = graph.node_osm_id
    pairs = 0
    for i, origin in enumerate(origins):
        lengths = nx.single_source_dijkstra_path_length(
            reference, int(osm[origin]), weight="travel_time"
        )
        expected = [lengths.get(int(osm[d]), math.inf) for d in destinations]
        np.testing.assert_allclose(times[i], expected, rtol=0, atol=1e-6)
        pairs += len(destinations)
    assert pairs >= 50
    assert np.isfinite(times).mean() > 0.9  # the islands were pruned: nearly all reachable


def _split_reference(
    graph: StreetGraph,
    origins: SnappedPoints,
    destinations: SnappedPoints,
    *,
    max_time_s: float,
    snap_speed_kmh: float,
) -> np.ndarray:
    """Travel times on the networkx graph with each snapped point inserted as a node."""
    reference = graph.to_networkx()
    edges = graph.edge_geometries()
    osm = graph.node_osm_id
    on_edge: dict[int, list[tuple[tuple[str, int], float]]] = defaultdict(list)
    node_of: dict[tuple[str, int], Any] = {}
    for label, points in (("o", origins), ("d", destinations)):
        for i in np.flatnonzero(points.ok):
            edge, fraction = int(points.edge[i]), float(points.fraction[i])
            twin = int(edges.reverse_edge[edge])
            if 0 <= twin < edge:  # one canonical direction per way piece
                edge, fraction = twin, 1.0 - fraction
            on_edge[edge].append(((label, int(i)), fraction))
    for edge, items in on_edge.items():
        u, v = int(osm[edges.from_node[edge]]), int(osm[edges.to_node[edge]])
        inner = sorted({f for _, f in items if 0.0 < f < 1.0})
        for key, fraction in items:
            node_of[key] = u if fraction == 0.0 else v if fraction == 1.0 else ("p", edge, fraction)
        chain = [u, *(("p", edge, f) for f in inner), v]
        stops = [0.0, *inner, 1.0]
        twin = int(edges.reverse_edge[edge])
        for a, b, fa, fb in zip(chain[:-1], chain[1:], stops[:-1], stops[1:], strict=True):
            reference.add_edge(a, b, travel_time=(fb - fa) * edges.travel_time_s[edge])
            if twin >= 0:
                reference.add_edge(b, a, travel_time=(fb - fa) * edges.travel_time_s[twin])
    speed_ms = snap_speed_kmh / 3.6
    expected = np.full((len(origins), len(destinations)), np.inf)
    for i in np.flatnonzero(origins.ok):
        lengths = nx.single_source_dijkstra_path_length(
            reference, node_of[("o", int(i))], weight="travel_time"
        )
        for j in np.flatnonzero(destinations.ok):
            along = lengths.get(node_of[("d", int(j))], math.inf)
            total = (
                along
                + origins.snap_distance_m[i] / speed_ms
                + destinations.snap_distance_m[j] / speed_ms
            )
            expected[i, j] = total if total <= max_time_s else math.inf
    return expected


@pytest.mark.parametrize("name", GRAPHS)
def test_paths_take_the_dijkstra_time_and_follow_their_edges(
    nantes: dict[str, StreetGraph], barth: dict[str, StreetGraph], name: str
) -> None:
    """path() gives travel_times_s's time (and networkx's) with a geometry that matches it."""
    graph = _graph(nantes, barth, name)
    rng = np.random.default_rng(3)
    pick = rng.choice(graph.n_edges, size=12, replace=False)
    edges = graph.edge_geometries()
    # points near random edges, a few on the same edges as others (direct paths)
    along = shapely.line_interpolate_point(
        edges.geometry[np.concatenate((pick, pick[:4]))], rng.uniform(0, 1, 16), normalized=True
    )
    x = shapely.get_x(along) + rng.normal(0, 15, 16)
    y = shapely.get_y(along) + rng.normal(0, 15, 16)
    origins, destinations = graph.snap(x[:8], y[:8]), graph.snap(x[8:], y[8:])
    speed_ms = (float(graph.speed_kmh or 3.6) if graph.mode is StreetMode.WALK else 3.6) / 3.6
    times = graph.travel_times_s(origins, destinations, max_time_s=HUGE_S, turn_costs=False)
    expected = _split_reference(
        graph, origins, destinations, max_time_s=HUGE_S, snap_speed_kmh=speed_ms * 3.6
    )
    found = 0
    for i in range(len(origins)):
        for j in range(len(destinations)):
            path = graph.path(origins.take([i]), destinations.take([j]), turn_costs=False)
            if not np.isfinite(times[i, j]):
                assert path is None
                continue
            assert path is not None
            found += 1
            assert path.time_s == times[i, j]  # the same sums, bit for bit
            assert path.time_s == pytest.approx(expected[i, j], abs=1e-6)
            coords = shapely.get_coordinates(path.geometry)
            assert tuple(coords[0]) == (origins.point_x[i], origins.point_y[i])
            assert tuple(coords[-1]) == (destinations.point_x[j], destinations.point_y[j])
            assert path.length_m == pytest.approx(path.geometry.length, abs=1e-6)
            # the edges run end to end, and take no more time than the whole path
            run = path.edges
            assert (edges.to_node[run[:-1]] == edges.from_node[run[1:]]).all()
            assert edges.travel_time_s[run].sum() <= path.time_s + 1e-6
            off_m = origins.snap_distance_m[i] + destinations.snap_distance_m[j]
            if graph.speed_kmh is not None:  # walk, bike: one speed on the streets
                on_m = path.length_m - off_m
                assert on_m / (graph.speed_kmh / 3.6) + off_m / speed_ms == pytest.approx(
                    path.time_s, abs=1e-3
                )
            if len(run):  # the geometry goes through the nodes of the edges
                nodes = np.column_stack(
                    (graph.node_x[edges.from_node[run]], graph.node_y[edges.from_node[run]])
                )
                assert shapely.distance(shapely.points(nodes), path.geometry).max() < 1e-6
    assert found >= 40
    # beyond max_time_s, or unsnapped: no path
    assert graph.path(origins.take([0]), destinations.take([0]), max_time_s=0.0) is None or (
        times[0, 0] == 0.0
    )
    far = graph.snap([graph.node_x.min() - 1e5], [graph.node_y.min()])
    assert graph.path(far, destinations.take([0])) is None


@pytest.mark.parametrize("name", GRAPHS)
def test_random_points_equal_networkx_with_points_inserted(
    nantes: dict[str, StreetGraph], barth: dict[str, StreetGraph], name: str
) -> None:
    graph = _graph(nantes, barth, name)
    rng = np.random.default_rng(7)
    pick = rng.choice(graph.n_edges, size=16, replace=False)
    edges = graph.edge_geometries()
    # points near random edges, a few on the same edges as others (direct paths)
    along = shapely.line_interpolate_point(
        edges.geometry[np.concatenate((pick, pick[:4]))], rng.uniform(0, 1, 20), normalized=True
    )
    x = shapely.get_x(along) + rng.normal(0, 15, 20)
    y = shapely.get_y(along) + rng.normal(0, 15, 20)
    points = graph.snap(x, y)
    assert points.ok.all()
    origins = graph.snap(x[:10], y[:10])
    destinations = graph.snap(x[10:], y[10:])
    speed = float(graph.speed_kmh or 3.6) if graph.mode is StreetMode.WALK else 3.6
    for max_time_s in (HUGE_S, 300.0):
        times = graph.travel_times_s(origins, destinations, max_time_s=max_time_s, turn_costs=False)
        expected = _split_reference(
            graph, origins, destinations, max_time_s=max_time_s, snap_speed_kmh=speed
        )
        np.testing.assert_allclose(times, expected, rtol=0, atol=1e-6)
        if max_time_s == HUGE_S:
            # one origin to one destination: the search stops once the destination's
            # chain is settled, and gives the same time
            for i in range(10):
                one = graph.travel_times_s(
                    graph.snap(x[i : i + 1], y[i : i + 1]),
                    graph.snap(x[10 + i : 11 + i], y[10 + i : 11 + i]),
                    max_time_s=max_time_s,
                    turn_costs=False,
                )
                np.testing.assert_allclose(one[0, 0], expected[i, i], rtol=0, atol=1e-6)
    # more origins than destinations: searched backwards from the destinations
    backwards = graph.travel_times_s(points, destinations, max_time_s=HUGE_S, turn_costs=False)
    np.testing.assert_allclose(
        backwards,
        _split_reference(graph, points, destinations, max_time_s=HUGE_S, snap_speed_kmh=speed),
        rtol=0,
        atol=1e-6,
    )
    if graph.mode is StreetMode.WALK:  # walking is symmetric
        forwards = graph.travel_times_s(destinations, points, max_time_s=HUGE_S)
        np.testing.assert_allclose(backwards, forwards.T, rtol=0, atol=1e-6)
    # an explicit off-street speed is honoured
    slow = graph.travel_times_s(
        origins, destinations, max_time_s=HUGE_S, snap_speed_kmh=1.0, turn_costs=False
    )
    np.testing.assert_allclose(
        slow,
        _split_reference(graph, origins, destinations, max_time_s=HUGE_S, snap_speed_kmh=1.0),
        rtol=0,
        atol=1e-6,
    )


# --- rules on real ways -----------------------------------------------------------------


def _edges_of(graph: StreetGraph, way: int) -> pd.DataFrame:
    frame = graph.edge_geometries().to_geodataframe()
    return frame[frame["osm_id"] == way]


def _ends(graph: StreetGraph, edge: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The coordinates of the from_node and to_node of an edge of ``graph``."""
    nodes = [int(edge["from_node"]), int(edge["to_node"])]
    return graph.node_x[nodes], graph.node_y[nodes]


def _times_between(graph: StreetGraph, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Times from the first point to the second and back."""
    points = graph.snap(x, y)
    assert (points.snap_distance_m == 0).all()
    times = graph.travel_times_s(points, points, max_time_s=HUGE_S)
    return float(times[0, 1]), float(times[1, 0])


def test_one_way_street_for_car_not_for_walk(nantes: dict[str, StreetGraph]) -> None:
    car = _edges_of(nantes["car"], RUE_D_ERLON)
    assert len(car) == 1 and car["reverse_edge"].iloc[0] == -1
    edge = car.iloc[0]
    assert edge["speed_kmh"] == 30.0  # maxspeed=30
    forth, back = _times_between(nantes["car"], *_ends(nantes["car"], edge))
    assert forth == pytest.approx(edge["length_m"] / (30 / 3.6), abs=1e-6)
    assert back > forth + 5  # around the block

    walk = _edges_of(nantes["walk"], RUE_D_ERLON)
    assert len(walk) == 2  # both directions
    forth, back = _times_between(nantes["walk"], *_ends(nantes["walk"], walk.iloc[0]))
    assert forth == pytest.approx(back, abs=1e-9)
    assert forth == pytest.approx(walk["length_m"].iloc[0] / 1.0, abs=1e-6)  # 3.6 km/h


def test_contraflow_bike_street(nantes: dict[str, StreetGraph]) -> None:
    car = _edges_of(nantes["car"], RUE_COLBERT)
    bike = _edges_of(nantes["bike"], RUE_COLBERT)
    assert len(car) == 1 and len(bike) == 2
    edge = car.iloc[0]
    ends = _ends(nantes["car"], edge)
    forth, back = _times_between(nantes["bike"], *ends)
    assert forth == pytest.approx(back, abs=1e-9)
    assert back == pytest.approx(edge["length_m"] / (12 / 3.6), abs=1e-6)
    car_forth, car_back = _times_between(nantes["car"], *ends)
    assert car_back > car_forth + 5


def test_roundabouts_are_one_way_for_vehicles(
    nantes: dict[str, StreetGraph], nantes_streets: gpd.GeoDataFrame
) -> None:
    for mode in ("car", "bike"):
        ring = _edges_of(nantes[mode], PLACE_FRANCOIS_II)
        assert len(ring) >= 2
        assert (ring["reverse_edge"] == -1).all() and not ring["reversed"].any()
    assert (_edges_of(nantes["walk"], PLACE_FRANCOIS_II)["reverse_edge"] >= 0).all()
    roundabouts = nantes_streets.loc[
        (nantes_streets["junction"] == "roundabout") & nantes_streets["oneway"].isna(), "osm_id"
    ]
    car = nantes["car"].edge_geometries().to_geodataframe()
    on_ring = car[car["osm_id"].isin(roundabouts)]
    assert len(on_ring) > 100
    assert (on_ring["reverse_edge"] == -1).all()


def test_wheelchair_avoids_steps(
    nantes: dict[str, StreetGraph], nantes_streets: gpd.GeoDataFrame
) -> None:
    wheelchair = StreetGraph.from_streets(nantes_streets, "walk", wheelchair=True)
    steps = set(nantes_streets.loc[nantes_streets["highway"] == "steps", "osm_id"])
    walk_ways = set(nantes["walk"].edge_geometries().osm_id.tolist())
    chair_ways = set(wheelchair.edge_geometries().osm_id.tolist())
    assert RUE_D_ANCIN_STEPS in walk_ways and len(steps & walk_ways) > 90
    assert not steps & chair_ways
    # from the bottom to the top of the stairs of the rue d'Ancin
    line = nantes_streets.loc[nantes_streets["osm_id"] == RUE_D_ANCIN_STEPS, "geometry"].iloc[0]
    (x0, y0), (x1, y1) = line.coords[0], line.coords[-1]
    times = {}
    for name, graph in (("walk", nantes["walk"]), ("wheelchair", wheelchair)):
        a, b = graph.snap([x0], [y0]), graph.snap([x1], [y1])
        times[name] = float(graph.travel_times_s(a, b, max_time_s=HUGE_S)[0, 0])
    assert times["walk"] == pytest.approx(line.length / 1.0, rel=1e-6)
    assert times["wheelchair"] > times["walk"] + 60


def test_car_speeds_and_urban_rule(
    nantes: dict[str, StreetGraph], barth: dict[str, StreetGraph]
) -> None:
    car = nantes["car"].edge_geometries().to_geodataframe()
    assert set(car["speed_kmh"]) <= {10.0, 15.0, 20.0, 30.0, 50.0, 70.0, 80.0}
    untagged = car[(car["highway"] == "residential")]
    assert untagged["speed_kmh"].median() == 30.0  # urban
    np.testing.assert_allclose(
        car["travel_time_s"], car["length_m"] / (car["speed_kmh"] / 3.6), rtol=1e-12
    )
    # Saint-Barthélemy has no maxspeed: the table, urban around Gustavia, rural elsewhere
    barth_car = barth["car"].edge_geometries().to_geodataframe()
    residential = barth_car[barth_car["highway"] == "residential"]
    assert set(residential["speed_kmh"]) == {30.0, 50.0}
    walk = nantes["walk"].edge_geometries()
    np.testing.assert_allclose(walk.travel_time_s, walk.length_m / 1.0, rtol=1e-12)


def test_car_speed_defaults() -> None:
    ways = _grid()
    far = [
        {
            "nodes": [(1007, 700.0, 0.0), (50, 3000.0, 0.0), (51, 6000.0, 0.0)],
            "highway": "residential",
        },
        {"nodes": [(51, 6000.0, 0.0), (52, 6000.0, 900.0)], "highway": "primary_link"},
        {
            "nodes": [(52, 6000.0, 900.0), (53, 6000.0, 1800.0)],
            "highway": "primary_link",
            "maxspeed": "70",
        },
        {"nodes": [(53, 6000.0, 1800.0), (54, 6000.0, 2700.0)], "highway": "secondary_link"},
        {
            "nodes": [(54, 6000.0, 2700.0), (55, 6100.0, 2700.0)],
            "highway": "service",
            "service": "parking_aisle",
        },
    ]
    edges = StreetGraph.from_streets(_layer(ways + far), "car").edge_geometries()
    speed = dict(zip(edges.osm_id.tolist(), edges.speed_kmh.tolist(), strict=True))
    inner = (edges.osm_id <= 16) & (edges.from_node != edges.to_node)
    assert np.median(edges.speed_kmh[inner]) == 30.0  # the grid is urban: 60 junctions/0.5 km²
    assert speed[17] == 50.0  # the road out in the country: rural residential
    assert speed[18] == 70.0  # untagged primary_link: the mean of the tagged ones
    assert speed[19] == 70.0  # no tagged secondary_link: the table (rural)
    assert speed[21] == 10.0  # parking aisle


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50.0),
        ("30 km/h", 30.0),
        ("90kmh", 90.0),
        ("50 mph", 80.4672),
        ("20mph", 32.18688),
        ("10 knots", 18.52),
        ("7,5", 7.5),
        ("FR:urban", 50.0),
        ("fr:urban", 50.0),
        ("FR:rural", 80.0),
        ("FR:motorway", 130.0),
        ("FR:zone30", 30.0),
        ("FR:zone20", 20.0),
        ("DE:zone:30", 30.0),
        ("FR:walk", 6.0),
        ("walk", 6.0),
        ("FR:living_street", 20.0),
        ("AT:rural", 100.0),  # osmnx's table
        ("XX:urban", 50.0),  # generic
        ("50;70", 50.0),
        ("70|50|50", 50.0),
        ("none;30", 30.0),
        ("none", math.nan),
        ("signals", math.nan),
        ("variable", math.nan),
        ("fast", math.nan),
        ("0", math.nan),
        ("", math.nan),
        (None, math.nan),
    ],
)
def test_maxspeed_parsing(value: str | None, expected: float) -> None:
    result = _parse_maxspeed_kmh(value)
    if math.isnan(expected):
        assert math.isnan(result)
    else:
        assert result == pytest.approx(expected)


# --- access rules on synthetic ways -----------------------------------------------------


def _layer(ways: list[dict[str, Any]], crs: CRS = LAMBERT93) -> gpd.GeoDataFrame:
    """A streets layer from ``{"nodes": [(id, x, y), ...], tag: value}`` dicts."""
    rows = []
    for number, way in enumerate(ways):
        nodes = way["nodes"]
        row: dict[str, Any] = dict.fromkeys(STREET_COLUMNS)
        row.update({k: v for k, v in way.items() if k != "nodes"})
        row["osm_id"] = way.get("osm_id", number + 1)
        row["node_ids"] = np.asarray([n for n, _, _ in nodes], dtype=np.int64)
        row["geometry"] = shapely.LineString([(x, y) for _, x, y in nodes])
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(STREET_COLUMNS))
    for column in STREET_COLUMNS:
        if column not in ("osm_id", "node_ids", "geometry"):
            frame[column] = frame[column].astype("str")
    frame["osm_id"] = frame["osm_id"].astype(np.int64)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=crs)


SEGMENT = [(1, 0.0, 0.0), (2, 100.0, 0.0)]


@pytest.mark.parametrize(
    ("tags", "walk", "bike", "car"),
    [
        # (forward, backward) per mode
        ({"highway": "residential"}, (1, 1), (1, 1), (1, 1)),
        ({"highway": "residential", "oneway": "yes"}, (1, 1), (1, 0), (1, 0)),
        ({"highway": "residential", "oneway": "-1"}, (1, 1), (0, 1), (0, 1)),
        (
            {"highway": "residential", "oneway": "no", "junction": "roundabout"},
            (1, 1),
            (1, 1),
            (1, 1),
        ),
        ({"highway": "primary", "junction": "circular"}, (1, 1), (1, 0), (1, 0)),
        ({"highway": "motorway"}, (0, 0), (0, 0), (1, 0)),
        ({"highway": "motorway_link"}, (0, 0), (0, 0), (1, 1)),
        (
            {"highway": "residential", "oneway": "yes", "oneway_bicycle": "no"},
            (1, 1),
            (1, 1),
            (1, 0),
        ),
        (
            {"highway": "residential", "oneway": "yes", "cycleway": "opposite"},
            (1, 1),
            (1, 1),
            (1, 0),
        ),
        (
            {"highway": "residential", "oneway": "yes", "cycleway_left": "opposite_lane"},
            (1, 1),
            (1, 1),
            (1, 0),
        ),
        (
            {"highway": "residential", "oneway": "-1", "cycleway_right": "opposite_track"},
            (1, 1),
            (1, 1),
            (0, 1),
        ),
        ({"highway": "cycleway", "oneway": "yes"}, (1, 1), (1, 0), (0, 0)),
        ({"highway": "footway"}, (1, 1), (0, 0), (0, 0)),
        ({"highway": "footway", "access": "yes"}, (1, 1), (0, 0), (0, 0)),
        ({"highway": "footway", "bicycle": "designated"}, (1, 1), (1, 1), (0, 0)),
        ({"highway": "footway", "access": "private"}, (0, 0), (0, 0), (0, 0)),
        ({"highway": "footway", "access": "private", "foot": "yes"}, (1, 1), (0, 0), (0, 0)),
        ({"highway": "pedestrian"}, (1, 1), (1, 1), (0, 0)),
        ({"highway": "pedestrian", "motor_vehicle": "yes"}, (1, 1), (1, 1), (1, 1)),
        ({"highway": "path", "bicycle": "dismount"}, (1, 1), (0, 0), (0, 0)),
        ({"highway": "steps"}, (1, 1), (0, 0), (0, 0)),
        ({"highway": "residential", "access": "no"}, (0, 0), (0, 0), (0, 0)),
        ({"highway": "residential", "access": "no", "foot": "permissive"}, (1, 1), (0, 0), (0, 0)),
        ({"highway": "residential", "access": "destination"}, (1, 1), (1, 1), (0, 0)),
        ({"highway": "service", "access": "private"}, (0, 0), (0, 0), (0, 0)),
        ({"highway": "residential", "motor_vehicle": "no"}, (1, 1), (1, 1), (0, 0)),
        (
            {"highway": "residential", "motor_vehicle": "no", "motorcar": "yes"},
            (1, 1),
            (1, 1),
            (1, 1),
        ),
        ({"highway": "primary", "bicycle": "use_sidepath"}, (1, 1), (0, 0), (1, 1)),
        ({"highway": "primary", "foot": "no"}, (0, 0), (1, 1), (1, 1)),
        ({"highway": "bus_guideway"}, (0, 0), (0, 0), (0, 0)),
        ({"highway": "bus_guideway", "bicycle": "yes"}, (0, 0), (1, 1), (0, 0)),
        ({"highway": "track"}, (1, 1), (1, 1), (1, 1)),
        ({"highway": "elevator"}, (1, 1), (0, 0), (0, 0)),
        ({"highway": "residential", "access": "yes;no"}, (1, 1), (1, 1), (1, 1)),
    ],
)
def test_access_rules(
    tags: dict[str, str],
    walk: tuple[int, int],
    bike: tuple[int, int],
    car: tuple[int, int],
) -> None:
    frame = _prepared(_layer([{"nodes": SEGMENT, **tags}]))
    for mode, expected in (("walk", walk), ("bike", bike), ("car", car)):
        forward, backward = _permissions(frame, StreetMode(mode), wheelchair=False)
        assert (int(forward[0]), int(backward[0])) == expected, mode


@pytest.mark.parametrize(
    ("tags", "allowed"),
    [
        ({"highway": "steps"}, False),
        ({"highway": "steps", "wheelchair": "yes"}, True),
        ({"highway": "footway", "wheelchair": "no"}, False),
        ({"highway": "footway", "wheelchair": "limited"}, True),
        ({"highway": "footway"}, True),
    ],
)
def test_wheelchair_rules(tags: dict[str, str], allowed: bool) -> None:
    frame = _prepared(_layer([{"nodes": SEGMENT, **tags}]))
    forward, backward = _permissions(frame, StreetMode.WALK, wheelchair=True)
    assert bool(forward[0]) is allowed and bool(backward[0]) is allowed


def _grid(n: int = 8, step: float = 100.0) -> list[dict[str, Any]]:
    """Residential ways along the rows and columns of an n x n grid of nodes."""
    ways = []
    for i in range(n):
        row = [(1000 + i * n + j, j * step, i * step) for j in range(n)]
        col = [(1000 + j * n + i, i * step, j * step) for j in range(n)]
        ways += [{"nodes": row, "highway": "residential"}, {"nodes": col, "highway": "residential"}]
    return ways


def test_simplification_and_islands() -> None:
    island = {"nodes": [(1, 5000.0, 0.0), (2, 5100.0, 0.0)], "highway": "residential"}
    spur = {"nodes": [(1000, 0.0, 0.0), (3, -50.0, 0.0), (4, -100.0, 0.0)], "highway": "service"}
    graph = StreetGraph.from_streets(_layer([*_grid(), island, spur]), "walk")
    # 64 grid nodes + the spur's end (its middle node is not a graph node); the
    # 2-node island is pruned (fewer than 40 nodes)
    assert graph.n_nodes == 65
    assert 3 not in graph.node_osm_id and 1 not in graph.node_osm_id
    # 2 x 8 ways of 7 pieces each, plus the spur in one piece, both directions
    assert graph.n_edges == 2 * (16 * 7 + 1)
    edges = graph.edge_geometries()
    spur_edges = edges.osm_id == 18
    np.testing.assert_allclose(edges.length_m[spur_edges], 100.0)
    assert shapely.get_num_coordinates(edges.geometry[spur_edges]).tolist() == [3, 3]
    # a graph made only of a small island keeps it (it is the largest component)
    small = StreetGraph.from_streets(_layer([island]), "car")
    assert small.n_nodes == 2 and small.n_edges == 2


def test_same_edge_direct_path_respects_direction() -> None:
    ways = [{**way, "maxspeed": "30"} for way in _grid()]
    ways[0] = {**ways[0], "oneway": "yes"}  # the first row, from x=0 to x=700
    car = StreetGraph.from_streets(_layer(ways), "car")
    walk = StreetGraph.from_streets(_layer(ways), "walk")
    a, b = car.snap([120.0], [-10.0]), car.snap([180.0], [-10.0])
    np.testing.assert_allclose(a.snap_distance_m, 10.0)
    forth = car.travel_times_s(a, b, max_time_s=HUGE_S, turn_costs=False)[0, 0]
    back = car.travel_times_s(b, a, max_time_s=HUGE_S, turn_costs=False)[0, 0]
    residential_ms = 30 / 3.6
    walk_ms = 1.0
    assert forth == pytest.approx(60 / residential_ms + 20 / walk_ms)
    # back: on to x=200, round the block of 100 m and along the row again to x=120
    assert back == pytest.approx((20 + 100 + 100 + 100 + 20) / residential_ms + 20 / walk_ms)
    a, b = walk.snap([120.0], [-10.0]), walk.snap([180.0], [-10.0])
    assert walk.travel_times_s(b, a, max_time_s=HUGE_S)[0, 0] == pytest.approx(80.0)


def test_bike_off_street_leg_is_walked() -> None:
    bike = StreetGraph.from_streets(_layer(_grid()), "bike")
    a, b = bike.snap([0.0], [-36.0]), bike.snap([300.0], [0.0])
    assert bike.travel_times_s(a, b, max_time_s=HUGE_S)[0, 0] == pytest.approx(
        36.0 + 300 / (12 / 3.6)
    )


# --- snapping -------------------------------------------------------------------------


def test_snap_distance_is_the_shapely_distance(barth: dict[str, StreetGraph]) -> None:
    graph = barth["car"]
    edges = graph.edge_geometries()
    xmin, ymin, xmax, ymax = shapely.total_bounds(edges.geometry)
    rng = np.random.default_rng(3)
    x, y = rng.uniform(xmin, xmax, 200), rng.uniform(ymin, ymax, 200)
    snapped = graph.snap(x, y)
    points = shapely.points(x, y)
    tree = shapely.STRtree(edges.geometry)
    _, nearest = tree.query_nearest(points, return_distance=True, all_matches=False)
    ok = nearest <= 1600.0
    np.testing.assert_array_equal(snapped.ok, ok)
    np.testing.assert_allclose(snapped.snap_distance_m[ok], nearest[ok], rtol=0, atol=1e-9)
    brute = shapely.distance(points[:20, None], edges.geometry[None, :]).min(axis=1)
    np.testing.assert_allclose(snapped.snap_distance_m[:20][ok[:20]], brute[ok[:20]], atol=1e-9)
    # the snapped point is on its edge, at its fraction
    on_edge = shapely.line_interpolate_point(
        edges.geometry[snapped.edge[ok]], snapped.fraction[ok], normalized=True
    )
    np.testing.assert_allclose(shapely.get_x(on_edge), snapped.snapped_x[ok], atol=1e-6)
    np.testing.assert_allclose(shapely.get_y(on_edge), snapped.snapped_y[ok], atol=1e-6)
    np.testing.assert_allclose(
        np.hypot(snapped.snapped_x - x, snapped.snapped_y - y)[ok],
        snapped.snap_distance_m[ok],
        atol=1e-6,
    )


def test_point_at_sea_is_reported_unsnapped(barth: dict[str, StreetGraph]) -> None:
    graph = barth["walk"]
    edges = graph.edge_geometries()
    xmin, ymin, _, ymax = shapely.total_bounds(edges.geometry)
    sea_x, sea_y = xmin - 2000.0, (ymin + ymax) / 2  # 2 km west of the westernmost street
    assert shapely.distance(shapely.Point(sea_x, sea_y), shapely.union_all(edges.geometry)) > 1600
    land_x, land_y = shapely.get_coordinates(edges.geometry[0])[0]
    points = graph.snap([land_x, sea_x, np.nan], [land_y, sea_y, 0.0])
    assert points.ok.tolist() == [True, False, False]
    assert points.edge[1] == -1 and np.isnan(points.snap_distance_m[1])
    assert points.n_unsnapped == 2 and "2" in (points.unsnapped_message() or "")
    times = graph.travel_times_s(points, points, max_time_s=HUGE_S)
    assert times.shape == (3, 3)
    assert np.isinf(times[1:, :]).all() and np.isinf(times[:, 1:]).all()
    assert np.isfinite(times[0, 0])
    # a larger snapping distance reaches it
    assert graph.snap([sea_x], [sea_y], max_snap_m=5000).ok.all()


def test_motorways_are_not_snapped_to() -> None:
    ways = [*_grid(), {"nodes": [(1000, 0.0, 0.0), (5, 0.0, -500.0)], "highway": "motorway_link"}]
    ways.append({"nodes": [(5, 0.0, -500.0), (6, 800.0, -500.0)], "highway": "motorway"})
    ways.append({"nodes": [(6, 800.0, -500.0), (1007, 700.0, 0.0)], "highway": "motorway_link"})
    car = StreetGraph.from_streets(_layer(ways), "car")
    assert 6 in car.node_osm_id
    snapped = car.snap([400.0], [-490.0])
    assert car.edge_geometries().highway[snapped.edge[0]] != "motorway"
    assert snapped.snap_distance_m[0] > 300


# --- networkx, cache, errors -------------------------------------------------------------


def test_to_networkx_follows_osmnx(nantes: dict[str, StreetGraph]) -> None:
    import osmnx

    graph = nantes["car"]
    reference = graph.to_networkx()
    assert reference.number_of_nodes() == graph.n_nodes
    assert reference.number_of_edges() == graph.n_edges
    nodes, edges = osmnx.graph_to_gdfs(reference)
    assert nodes.crs.equals(LAMBERT93)
    assert {"length", "speed_kph", "travel_time", "osmid", "geometry"} <= set(edges.columns)
    np.testing.assert_allclose(edges["length"], edges.geometry.length, rtol=1e-9)
    np.testing.assert_array_equal(nodes.loc[graph.node_osm_id, "x"], graph.node_x)
    path = osmnx.routing.shortest_path(
        reference, int(graph.node_osm_id[0]), int(graph.node_osm_id[-1]), weight="travel_time"
    )
    assert path is not None and path[0] == graph.node_osm_id[0]


def test_cache_round_trip(
    nantes: dict[str, StreetGraph],
    nantes_streets: gpd.GeoDataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    graph = nantes["walk"]
    graph.save(tmp_path / "walk.npz")
    loaded = StreetGraph.load(tmp_path / "walk.npz")
    _assert_same_graph(graph, loaded)

    streets_path = tmp_path / "layers" / "streets.parquet"
    streets_path.parent.mkdir()
    nantes_streets.to_parquet(streets_path)
    cache = tmp_path / "cache"
    first = cached_street_graph(streets_path, cache, "car")
    files = list(cache.glob("*.npz"))
    assert len(files) == 1 and files[0].name.startswith("streets-car-")
    _assert_same_graph(first, nantes["car"])

    def no_build(*args: object, **kwargs: object) -> StreetGraph:
        raise AssertionError("cache miss")

    monkeypatch.setattr(StreetGraph, "from_streets", no_build)
    second = cached_street_graph(streets_path, cache, StreetMode.CAR)
    _assert_same_graph(first, second)
    # other options, other key
    with pytest.raises(AssertionError, match="cache miss"):
        cached_street_graph(streets_path, cache, "walk", speed_kmh=4.5)
    monkeypatch.undo()
    cached_street_graph(streets_path, cache, "walk", wheelchair=True)
    assert len(list(cache.glob("*.npz"))) == 2
    # a corrupt cache file is rebuilt
    files[0].write_bytes(b"not a graph")
    _assert_same_graph(cached_street_graph(streets_path, cache, "car"), nantes["car"])


def _assert_same_graph(a: StreetGraph, b: StreetGraph) -> None:
    assert (a.mode, a.speed_kmh, a.wheelchair) == (b.mode, b.speed_kmh, b.wheelchair)
    assert a.crs.equals(b.crs)
    np.testing.assert_array_equal(a.node_osm_id, b.node_osm_id)
    np.testing.assert_array_equal(a.node_x, b.node_x)
    ea, eb = a.edge_geometries(), b.edge_geometries()
    for name in ("from_node", "to_node", "length_m", "travel_time_s", "osm_id", "reverse_edge"):
        np.testing.assert_array_equal(getattr(ea, name), getattr(eb, name), err_msg=name)
    assert ea.highway.tolist() == eb.highway.tolist()
    assert ea.name.tolist() == eb.name.tolist()
    assert shapely.equals_exact(ea.geometry, eb.geometry, tolerance=0).all()


def test_bad_inputs(nantes_streets: gpd.GeoDataFrame, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"metric|métrique"):
        StreetGraph.from_streets(nantes_streets.to_crs(WGS84), "walk")
    with pytest.raises(InputError, match="wheelchair"):
        StreetGraph.from_streets(nantes_streets, "car", wheelchair=True)
    with pytest.raises(InputError, match="speed_kmh"):
        StreetGraph.from_streets(nantes_streets, "car", speed_kmh=50)
    with pytest.raises(InputError, match="speed_kmh"):
        StreetGraph.from_streets(nantes_streets, "walk", speed_kmh=0)
    with pytest.raises(ValueError, match="plane"):
        StreetGraph.from_streets(nantes_streets, "plane")
    with pytest.raises(InputError, match="node_ids"):
        StreetGraph.from_streets(nantes_streets.drop(columns="node_ids"), "walk")
    only_steps = nantes_streets[nantes_streets["highway"] == "steps"]
    with pytest.raises(InputError, match="car"):
        StreetGraph.from_streets(only_steps, "car")
    with pytest.raises(InputError):
        cached_street_graph(tmp_path / "missing.parquet", tmp_path, "walk")
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(InputError, match=r"bad\.npz"):
        StreetGraph.load(tmp_path / "bad.npz")
