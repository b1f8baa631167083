"""Car turn costs as R5 (10 s right, 30 s left, 90 s U-turn): hand-made streets and Nantes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from test_streets import NANTES, _box_area, _grid, _layer

from parcours.accessibility.streets import StreetGraph
from parcours.accessibility.streets.turns import chain_bearings_brads, turn_cost_s
from parcours.geo.crs import LAMBERT93
from parcours.territories.readers._base import ReadContext
from parcours.territories.readers.osm import read_osm

HUGE_S = 1e9
KMH_30_MS = 30 / 3.6
KMH_90_MS = 90 / 3.6


def _way(nodes: list[tuple[int, float, float]], **tags: str) -> dict[str, Any]:
    return {"nodes": nodes, "highway": "residential", **tags}


def _time(graph: StreetGraph, a: tuple[float, float], b: tuple[float, float], **kw: Any) -> float:
    origin, destination = graph.snap([a[0]], [a[1]]), graph.snap([b[0]], [b[1]])
    assert origin.ok.all() and destination.ok.all()
    return float(graph.travel_times_s(origin, destination, max_time_s=HUGE_S, **kw)[0, 0])


# --- R5's rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("out_deg", "in_deg", "cost_s"),
    [
        (0, 0, 0.0),  # straight on
        (26, 0, 0.0),
        (27, 0, 30.0),  # 27 degrees to the left of the heading: a left turn
        (0, -90, 30.0),  # heading north, leaving west
        (152, 0, 30.0),
        (153, 0, 90.0),  # U-turn from 153 to 207
        (0, -180, 90.0),
        (90, -90, 90.0),
        (206, 0, 90.0),
        (207, 0, 10.0),  # right turn from 207 to 333
        (0, 90, 10.0),  # heading north, leaving east
        (332, 0, 10.0),
        (333, 0, 0.0),
        (-180, 179, 0.0),  # wrapped: 1 degree
    ],
)
def test_turn_cost_table(out_deg: int, in_deg: int, cost_s: float) -> None:
    assert turn_cost_s(np.asarray([out_deg]), np.asarray([in_deg]))[0] == cost_s


def test_bearings_follow_r5() -> None:
    """Bearings over the first/last vertex beyond 10 m, in brads, reversed by +128 brads."""
    lines = [
        [(0.0, 0.0), (5.0, 0.0), (5.0, 100.0)],  # a kink 5 m from the start
        [(0.0, 0.0), (3.0, 4.0)],  # 5 m long: the chord
        [(0.0, 0.0), (0.0, 20.0), (-20.0, 20.0)],  # north, then west
    ]
    coords = np.vstack(lines)
    offsets = np.cumsum([0, *(len(line) for line in lines)]).astype(np.int64)
    first, last = chain_bearings_brads(coords, offsets)
    # atan2(5, 100) = 2.86 deg = 2.03 brads; the last 10 m run north
    assert first.tolist() == [2, round(math.degrees(math.atan2(3, 4)) * 256 / 360), 0]
    assert last.tolist() == [0, 26, -64]
    ways = [_way([(1, *lines[0][0]), (9, *lines[0][1]), (2, *lines[0][2])])]
    graph = StreetGraph.from_streets(_layer(ways), "car")
    in_deg, out_deg = graph._edge_bearings_deg
    edges = graph.edge_geometries()
    forward = int(np.flatnonzero(~edges.reversed)[0])
    backward = int(edges.reverse_edge[forward])
    # whole degrees with Java's truncation: 2 brads = 2.8 -> 2; 0 + 128 brads = -180;
    # 2 + 128 brads = -126 brads = -177.2 -> -177
    assert (in_deg[forward], out_deg[forward]) == (2, 0)
    assert (in_deg[backward], out_deg[backward]) == (-180, -177)


# --- hand-made streets ------------------------------------------------------------------


def _detour_ways() -> list[dict[str, Any]]:
    """A slow straight street and a fast detour with four turns around it."""
    return [
        _way([(1, -100.0, 0.0), (2, 0.0, 0.0)], maxspeed="30"),
        _way([(2, 0.0, 0.0), (3, 400.0, 0.0)], maxspeed="30"),  # straight, 48 s
        _way([(2, 0.0, 0.0), (4, 0.0, 50.0)], maxspeed="90"),  # north: left turn
        _way([(4, 0.0, 50.0), (5, 400.0, 50.0)], maxspeed="90"),  # east: right turn
        _way([(5, 400.0, 50.0), (3, 400.0, 0.0)], maxspeed="90"),  # south: right turn
        _way([(3, 400.0, 0.0), (6, 500.0, 0.0)], maxspeed="30"),  # east again: left
    ]


def _detour_layer() -> gpd.GeoDataFrame:
    return _layer(_detour_ways())


def test_turn_costs_change_the_fastest_route() -> None:
    car = StreetGraph.from_streets(_detour_layer(), "car")
    a, b = (-50.0, 0.0), (450.0, 0.0)
    ends_s = 50 / KMH_30_MS + 50 / KMH_30_MS
    detour_s = 500 / KMH_90_MS
    # without turn costs: the fast detour
    assert _time(car, a, b, turn_costs=False) == pytest.approx(ends_s + detour_s, abs=1e-9)
    # with them the detour costs 30 + 10 + 10 s (the last left turn, onto the
    # destination's edge, is not paid: R5 reads the times at its ends), the straight
    # street 0 s: the straight street wins
    straight_s = ends_s + 400 / KMH_30_MS
    assert straight_s < ends_s + detour_s + 50
    assert _time(car, a, b) == pytest.approx(straight_s, abs=1e-9)
    origin, destination = car.snap([a[0]], [a[1]]), car.snap([b[0]], [b[1]])
    edges = car.edge_geometries()
    for turns, ways in ((True, [2]), (False, [3, 4, 5])):
        path = car.path(origin, destination, turn_costs=turns)
        assert path is not None
        assert edges.osm_id[path.edges].tolist() == ways
        expected = car.travel_times_s(origin, destination, max_time_s=HUGE_S, turn_costs=turns)
        assert path.time_s == expected[0, 0]
    # the fast detour alone, forced by a one-way straight street westbound; a
    # destination past the corner (on the street after the left turn onto it) pays it
    layer = _detour_layer()
    layer.loc[1, "oneway"] = "-1"
    forced = StreetGraph.from_streets(layer, "car")
    assert _time(forced, a, b) == pytest.approx(ends_s + detour_s + 30 + 10 + 10, abs=1e-9)
    layer = _layer(
        [
            *_detour_ways(),
            _way([(6, 500.0, 0.0), (7, 600.0, 0.0)], maxspeed="30"),
        ]
    )
    layer.loc[1, "oneway"] = "-1"
    further = StreetGraph.from_streets(layer, "car")
    assert _time(further, a, (550.0, 0.0)) == pytest.approx(
        ends_s + 100 / KMH_30_MS + detour_s + 30 + 10 + 10 + 30, abs=1e-9
    )
    # walk and bike pay no turn
    walk = StreetGraph.from_streets(_detour_layer(), "walk")
    assert _time(walk, a, b) == _time(walk, a, b, turn_costs=False)


def test_round_the_block_on_a_one_way_street() -> None:
    """Back along a one-way row: three left turns (test_streets' case).

    The fourth turn, right onto the destination's edge, is not paid (no turn onto the
    destination's edge: R5 reads the times at its ends).
    """
    ways = [{**way, "maxspeed": "30"} for way in _grid()]
    ways[0] = {**ways[0], "oneway": "yes"}  # the first row, eastbound
    car = StreetGraph.from_streets(_layer(ways), "car")
    back_s = (20 + 100 + 100 + 100 + 20) / KMH_30_MS + 20 / 1.0
    assert _time(car, (180.0, -10.0), (120.0, -10.0), turn_costs=False) == pytest.approx(back_s)
    assert _time(car, (180.0, -10.0), (120.0, -10.0)) == pytest.approx(back_s + 3 * 30)
    # forth: along the row, no turn at all
    assert _time(car, (120.0, -10.0), (180.0, -10.0)) == pytest.approx(60 / KMH_30_MS + 20)


def test_hairpin_is_a_u_turn() -> None:
    """A way leaving a node back the way the car came (157 degrees) costs 90 s."""
    layer = _layer(
        [
            _way([(1, 0.0, 0.0), (2, 100.0, 0.0)], oneway="yes", maxspeed="30"),
            _way([(2, 100.0, 0.0), (3, 300.0, 0.0)], maxspeed="30"),  # a dead end
            _way([(2, 100.0, 0.0), (4, 0.0, 40.0)], maxspeed="30"),  # the hairpin
            _way([(4, 0.0, 40.0), (1, 0.0, 0.0)], maxspeed="30"),  # back to the start
        ]
    )
    car = StreetGraph.from_streets(layer, "car")
    # to a point past the hairpin (no turn onto the destination's edge)
    hairpin_m = math.hypot(100.0, 40.0)
    expected_s = (50 + hairpin_m + 20) / KMH_30_MS
    assert _time(car, (50.0, 0.0), (0.0, 20.0), turn_costs=False) == pytest.approx(expected_s)
    # the hairpin (90 s) beats the dead end (400 m more, a U-turn of 90 s, then straight)
    assert _time(car, (50.0, 0.0), (0.0, 20.0)) == pytest.approx(expected_s + 90)


# --- a real network, against networkx on the line graph ------------------------------------


@pytest.fixture(scope="module")
def nantes_car(shared_data: Path) -> StreetGraph:
    area = _box_area((-1.575, 47.199, -1.536, 47.222), LAMBERT93, 2000)
    streets, _ = read_osm(shared_data / NANTES, ReadContext(crs=LAMBERT93, area=area))
    return StreetGraph.from_streets(streets.frame, "car")


def _line_graph_times(
    graph: StreetGraph, sources: list[int], targets: list[int], target_edges: list[int]
) -> np.ndarray:
    """Node-to-node car times on networkx's edge-based graph, with the same turn costs.

    A target is a point on ``target_edges`` (at one of its ends): as R5's propagation
    to points, it is also reached from the other end of that edge without a turn.
    """
    edges = graph.edge_geometries()
    in_deg, out_deg = graph._edge_bearings_deg
    reference = nx.DiGraph()
    for e in range(len(edges)):
        reference.add_edge(("from", int(edges.from_node[e])), e, weight=edges.travel_time_s[e])
        reference.add_edge(e, ("to", int(edges.to_node[e])), weight=0.0)
    by_from: dict[int, list[int]] = {}
    for e, node in enumerate(edges.from_node.tolist()):
        by_from.setdefault(node, []).append(e)
    for e, node in enumerate(edges.to_node.tolist()):
        for f in by_from.get(node, []):
            turn = float(turn_cost_s(out_deg[[e]], in_deg[[f]])[0])
            reference.add_edge(e, f, weight=turn + edges.travel_time_s[f])
    out = np.full((len(sources), len(targets)), np.inf)
    for i, source in enumerate(sources):
        lengths = nx.single_source_dijkstra_path_length(reference, ("from", source))
        lengths[("to", source)] = 0.0
        for j, (target, edge) in enumerate(zip(targets, target_edges, strict=True)):
            best = lengths.get(("to", target), np.inf)
            for x in (edge, int(edges.reverse_edge[edge])):
                if x >= 0 and edges.to_node[x] == target:
                    other = lengths.get(("to", int(edges.from_node[x])), np.inf)
                    best = min(best, other + edges.travel_time_s[x])
            out[i, j] = best
    return out


def test_nantes_car_equals_the_line_graph(nantes_car: StreetGraph) -> None:
    graph = nantes_car
    rng = np.random.default_rng(5)
    nodes = rng.choice(graph.n_nodes, size=40, replace=False)
    snapped = graph.snap(graph.node_x[nodes], graph.node_y[nodes])
    edges = graph.edge_geometries()
    at_node = np.where(
        snapped.fraction == 0.0, edges.from_node[snapped.edge], edges.to_node[snapped.edge]
    )
    exact = snapped.ok & ((snapped.fraction == 0.0) | (snapped.fraction == 1.0))
    exact &= at_node == nodes
    origins, destinations = nodes[exact][:6], nodes[exact][6:20]
    o = graph.snap(graph.node_x[origins], graph.node_y[origins])
    d = graph.snap(graph.node_x[destinations], graph.node_y[destinations])
    times = graph.travel_times_s(o, d, max_time_s=HUGE_S)
    expected = _line_graph_times(
        graph, origins.tolist(), destinations.tolist(), d.edge.astype(int).tolist()
    )
    np.testing.assert_allclose(times, expected, rtol=0, atol=1e-6)
    assert np.isfinite(times).mean() > 0.9
    # turn costs only add: never faster than without
    assert (times >= graph.travel_times_s(o, d, max_time_s=HUGE_S, turn_costs=False) - 1e-9).all()
    # backwards (fewer destinations than origins) gives the same times
    backwards = graph.travel_times_s(d, o, max_time_s=HUGE_S)
    forwards = np.vstack(
        [graph.travel_times_s(d.take([i]), o, max_time_s=HUGE_S) for i in range(len(d))]
    )
    np.testing.assert_allclose(backwards, forwards, rtol=0, atol=1e-6)


def test_nantes_paths_take_the_matrix_time(nantes_car: StreetGraph, tmp_path: Path) -> None:
    """Points along edges: path() == travel_times_s() bit for bit, forwards == backwards."""
    graph = nantes_car
    rng = np.random.default_rng(11)
    edges = graph.edge_geometries()
    pick = rng.choice(graph.n_edges, size=10, replace=False)
    along = shapely.line_interpolate_point(
        edges.geometry[np.concatenate((pick, pick[:2]))], rng.uniform(0, 1, 12), normalized=True
    )
    x = shapely.get_x(along) + rng.normal(0, 10, 12)
    y = shapely.get_y(along) + rng.normal(0, 10, 12)
    origins, destinations = graph.snap(x[:6], y[:6]), graph.snap(x[6:], y[6:])
    times = graph.travel_times_s(origins, destinations, max_time_s=HUGE_S)
    found = 0
    for i in range(len(origins)):
        for j in range(len(destinations)):
            path = graph.path(origins.take([i]), destinations.take([j]))
            if not np.isfinite(times[i, j]):
                assert path is None
                continue
            assert path is not None
            found += 1
            assert path.time_s == times[i, j]
            run = path.edges
            assert (edges.to_node[run[:-1]] == edges.from_node[run[1:]]).all()
            turns = turn_cost_s(
                graph._edge_bearings_deg[1][run[:-1]], graph._edge_bearings_deg[0][run[1:]]
            )
            assert edges.travel_time_s[run].sum() + turns.sum() <= path.time_s + 1e-6
    assert found >= 30
    # more origins than destinations: the backward search, the same times
    both = graph.snap(x, y)
    backwards = graph.travel_times_s(both, destinations, max_time_s=HUGE_S)
    np.testing.assert_allclose(backwards[:6], times, rtol=0, atol=1e-6)
    # the bearings are recomputed after a round trip through the cache file
    graph.save(tmp_path / "car.npz")
    loaded = StreetGraph.load(tmp_path / "car.npz")
    np.testing.assert_array_equal(
        loaded.travel_times_s(origins, destinations, max_time_s=HUGE_S), times
    )
