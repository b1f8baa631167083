"""Carpool matching on the demo territory: hand-checked cases, then the index against brute force.

The demo is fictional (Lambert-93 around x = 700,000, y = 6,600,000); its logistics zone is
the warehouse of the early shifts, its ``carpool`` layer holds the BNLC areas.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from parcours.accessibility import TransportNetwork, pair_times
from parcours.accessibility.streets import MAX_SNAP_M, StreetMode
from parcours.errors import InputError
from parcours.geo.crs import LAMBERT93, WGS84, transformer
from parcours.matching.carpool import (
    MATCH_COLUMNS,
    PASSENGER_WINDOW_MIN,
    CarpoolIndex,
    CarpoolOffer,
    OfferNotFoundError,
)
from parcours.territories import Territory, Workspace
from parcours.territories.demo import DemoSources

WEEKDAYS = frozenset(range(5))
TUESDAY = 1
#: Lambert-93 points of the demo (metres).
NEXT_DOOR_A = (700100.0, 6600400.0)  # in Montclerval's grid
NEXT_DOOR_B = (700150.0, 6600420.0)  # 50 m away
FAR_SOUTH_EAST = (714500.0, 6589500.0)  # Chazelières-sur-Clerve, beyond the warehouse
BRENAC = (705200.0, 6603000.0)  # Brenac-sur-Clerve, north of the warehouse
NEAR_CROIX_BLANCHE = (701914.29, 6599822.44)  # 280 m from the Croix-Blanche area


@pytest.fixture(scope="module")
def demo_territory(demo_loaded: tuple[Workspace, DemoSources]) -> tuple[Territory, DemoSources]:
    workspace, sources = demo_loaded
    return workspace.open("demo"), sources


@pytest.fixture(scope="module")
def network(demo_territory: tuple[Territory, DemoSources]) -> TransportNetwork:
    return TransportNetwork(demo_territory[0])


@pytest.fixture(scope="module")
def areas(demo_territory: tuple[Territory, DemoSources]) -> gpd.GeoDataFrame:
    return demo_territory[0].layer("carpool")


@pytest.fixture(scope="module")
def warehouse(demo_territory: tuple[Territory, DemoSources]) -> tuple[float, float]:
    x, y = demo_territory[1].places["logistics_zone"]
    return float(x), float(y)


def lonlat(xy: tuple[float, float]) -> tuple[float, float]:
    lon, lat = transformer(LAMBERT93, WGS84).transform(*xy)
    return float(lon), float(lat)


def offer(
    offer_id: str,
    home: tuple[float, float],
    dest: tuple[float, float],
    *,
    days: frozenset[int] = WEEKDAYS,
    arrive_by: dt.time | None = dt.time(5, 50),
    leave_at: dt.time | None = None,
    **options: float,
) -> CarpoolOffer:
    return CarpoolOffer(
        offer_id,
        lonlat(home),
        lonlat(dest),
        days,
        arrive_by,
        leave_at,
        **options,  # type: ignore[arg-type]
    )


def requests(*rows: tuple[str, tuple[float, float], tuple[float, float], int, str, dt.time]):
    records = []
    for rid, home, dest, day, direction, time in rows:
        (hl, ha), (dl, da) = lonlat(home), lonlat(dest)
        records.append((rid, hl, ha, dl, da, day, direction, time))
    return pd.DataFrame(
        records,
        columns=[
            "request_id",
            "home_lon",
            "home_lat",
            "dest_lon",
            "dest_lat",
            "day",
            "direction",
            "time",
        ],
    )


def minutes(t: dt.time) -> float:
    return t.hour * 60 + t.minute + t.second / 60


# ------------------------------------------------------------------ hand-checked cases


def test_neighbour_to_the_same_warehouse(network: TransportNetwork, warehouse) -> None:
    index = CarpoolIndex(
        network, [offer("voisin", NEXT_DOOR_B, warehouse, leave_at=dt.time(13, 10))]
    )
    asked = requests(
        ("a", NEXT_DOOR_A, warehouse, TUESDAY, "aller", dt.time(6, 0)),
        ("r", NEXT_DOOR_A, warehouse, TUESDAY, "retour", dt.time(13, 0)),
    )
    found = index.match(asked)
    assert list(found.columns) == list(MATCH_COLUMNS)
    assert found["request_id"].tolist() == ["a", "r"]
    assert (found["offer_id"] == "voisin").all()
    assert (found["pickup"] == "domicile").all()
    assert found["detour_min"].max() <= 0.5
    assert found["walk_min"].max() == 0
    going, back = found.iloc[0], found.iloc[1]
    # There: the car reaches the warehouse by 06:00, within 05:50 +- 15 min, no wait.
    assert minutes(dt.time(5, 35)) <= minutes(going["driver_arrival"]) <= minutes(dt.time(6, 0))
    assert going["wait_min"] <= 0.1
    assert going["driver_departure"] < going["pickup_time"] < going["driver_arrival"]
    # Back: leaves at 13:00 (the shift's end; the driver may leave from 12:55).
    assert back["pickup_time"] == dt.time(13, 0)
    assert back["wait_min"] == 0
    assert back["driver_departure"] <= back["pickup_time"] < back["driver_arrival"]


def test_driver_across_the_territory_is_too_far(network: TransportNetwork, warehouse) -> None:
    asked = requests(("a", NEXT_DOOR_A, warehouse, TUESDAY, "aller", dt.time(6, 0)))
    strict = CarpoolIndex(network, [offer("loin", FAR_SOUTH_EAST, warehouse)])
    assert strict.match(asked).empty
    # The refusal is the detour: a driver ready for an hour's detour would come.
    patient = CarpoolIndex(network, [offer("loin", FAR_SOUTH_EAST, warehouse, max_detour_min=60)])
    found = patient.match(asked)
    assert found["offer_id"].tolist() == ["loin"]
    assert found["detour_min"].iloc[0] > 10


def test_a_short_trip_without_detour_is_matched(network: TransportNetwork) -> None:
    """A driver going next door, no detour allowed: the same trip is shared (the car
    searches, bounded by the longest detour, still last the engines' minimum minute)."""
    index = CarpoolIndex(
        network, [offer("voisin", NEXT_DOOR_B, NEXT_DOOR_A, max_detour_min=0, leave_at=None)]
    )
    asked = requests(("a", NEXT_DOOR_B, NEXT_DOOR_A, TUESDAY, "aller", dt.time(5, 50)))
    found = index.match(asked)
    assert found["offer_id"].tolist() == ["voisin"]
    assert found["detour_min"].iloc[0] <= 0.01


def test_days_must_match(network: TransportNetwork, warehouse) -> None:
    index = CarpoolIndex(
        network, [offer("weekend", NEXT_DOOR_B, warehouse, days=frozenset({5, 6}))]
    )
    tuesday = requests(("a", NEXT_DOOR_A, warehouse, TUESDAY, "aller", dt.time(6, 0)))
    saturday = requests(("a", NEXT_DOOR_A, warehouse, 5, "aller", dt.time(6, 0)))
    assert index.match(tuesday).empty
    assert index.match(saturday)["offer_id"].tolist() == ["weekend"]


def test_time_windows_must_overlap(network: TransportNetwork, warehouse) -> None:
    index = CarpoolIndex(
        network,
        [offer("neuf_heures", NEXT_DOOR_B, warehouse, arrive_by=dt.time(9, 0), leave_at=None)],
    )
    assert index.match(
        requests(("a", NEXT_DOOR_A, warehouse, TUESDAY, "aller", dt.time(6, 0)))
    ).empty
    # 45 min window: a shift at 09:40 is served by the car arriving at 09:15 at the latest.
    late = index.match(requests(("a", NEXT_DOOR_A, warehouse, TUESDAY, "aller", dt.time(9, 40))))
    assert late["offer_id"].tolist() == ["neuf_heures"]
    assert 25 - 0.5 <= late["wait_min"].iloc[0] <= PASSENGER_WINDOW_MIN
    assert index.match(
        requests(("a", NEXT_DOOR_A, warehouse, TUESDAY, "aller", dt.time(10, 30)))
    ).empty
    # No trip back in this offer, and a trip back at 17:00 does not fit a shift ending at 13:00.
    back = requests(("r", NEXT_DOOR_A, warehouse, TUESDAY, "retour", dt.time(13, 0)))
    assert index.match(back).empty
    index.add(offer("soir", NEXT_DOOR_B, warehouse, arrive_by=None, leave_at=dt.time(17, 0)))
    assert index.match(back).empty


def test_across_midnight_uses_the_drivers_day(network: TransportNetwork, warehouse) -> None:
    """A shift at 00:10 on Monday; the driver arrives by 23:58, on Sunday."""
    asked = requests(("a", NEXT_DOOR_A, warehouse, 0, "aller", dt.time(0, 10)))
    sunday = CarpoolIndex(
        network,
        [
            offer(
                "dim",
                NEXT_DOOR_B,
                warehouse,
                days=frozenset({6}),
                arrive_by=dt.time(23, 58),
                flexibility_min=0,
            )
        ],
    )
    monday = CarpoolIndex(
        network,
        [
            offer(
                "lun",
                NEXT_DOOR_B,
                warehouse,
                days=frozenset({0}),
                arrive_by=dt.time(23, 58),
                flexibility_min=0,
            )
        ],
    )
    found = sunday.match(asked)
    assert found["offer_id"].tolist() == ["dim"]
    assert found["driver_departure"].iloc[0] > dt.time(23, 0)
    assert monday.match(asked).empty


def test_no_seat_no_match(network: TransportNetwork, warehouse) -> None:
    index = CarpoolIndex(network, [offer("plein", NEXT_DOOR_B, warehouse, seats=0)])
    assert index.match(
        requests(("a", NEXT_DOOR_A, warehouse, TUESDAY, "aller", dt.time(6, 0)))
    ).empty


def test_add_and_remove_in_place(network: TransportNetwork, warehouse) -> None:
    index = CarpoolIndex(network, [offer("loin", FAR_SOUTH_EAST, warehouse)])
    trees = dict(index._trees)
    asked = requests(("a", NEXT_DOOR_A, warehouse, TUESDAY, "aller", dt.time(6, 0)))
    assert len(index) == 1
    assert index.match(asked).empty
    index.add(offer("voisin", NEXT_DOOR_B, warehouse))
    assert len(index) == 2
    assert "voisin" in index
    assert index.match(asked)["offer_id"].tolist() == ["voisin"]
    index.remove("voisin")
    assert len(index) == 1
    assert index.match(asked).empty
    assert all(index._trees[d] is tree for d, tree in trees.items())  # no rebuild
    with pytest.raises(OfferNotFoundError) as caught:
        index.remove("voisin")
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, InputError)
    with pytest.raises(InputError, match="double"):
        index.add(offer("loin", NEXT_DOOR_B, warehouse))
    assert len(index) == 1


def test_pickup_at_a_carpool_area(network: TransportNetwork, areas, warehouse) -> None:
    """A driver from Brenac passes the Croix-Blanche area; the person lives 280 m from it."""
    driver = offer("brenac", BRENAC, warehouse, arrive_by=dt.time(6, 0), max_detour_min=1.0)
    asked = requests(("a", NEAR_CROIX_BLANCHE, warehouse, TUESDAY, "aller", dt.time(6, 0)))
    # Going to the door costs the driver more than a minute: no match without areas ...
    assert CarpoolIndex(network, [driver]).match(asked).empty
    # ... a short walk to the area makes it.
    found = CarpoolIndex(network, [driver], areas=areas).match(asked)
    assert found["pickup"].tolist() == ["aire"]
    assert found["area_id"].tolist() == ["03950-C-001"]
    assert found["area_name"].tolist() == ["Croix-Blanche"]
    assert 0 < found["walk_min"].iloc[0] <= 10
    assert found["detour_min"].iloc[0] <= 1.0
    # Too short a walk allowed: back to no match (per request, or for the call).
    assert CarpoolIndex(network, [driver], areas=areas).match(asked, max_walk_min=2).empty
    assert CarpoolIndex(network, [driver], areas=areas).match(asked.assign(max_walk_min=2.0)).empty


def test_bad_inputs(network: TransportNetwork, warehouse) -> None:
    index = CarpoolIndex(network)
    asked = requests(("a", NEXT_DOOR_A, warehouse, TUESDAY, "aller", dt.time(6, 0)))
    assert index.match(asked).empty  # no offer yet
    with pytest.raises(InputError, match="time"):
        index.match(asked.drop(columns="time"))
    with pytest.raises(InputError) as caught:
        index.match(asked.assign(direction="aller-retour"))
    assert caught.value.field == "direction"
    with pytest.raises(InputError) as caught:
        index.match(asked.assign(day=7))
    assert caught.value.field == "day"
    with pytest.raises(InputError) as caught:
        offer("x", NEXT_DOOR_A, warehouse, arrive_by=None, leave_at=None)
    assert caught.value.field == "arrive_by"
    with pytest.raises(InputError) as caught:
        offer("x", NEXT_DOOR_A, warehouse, days=frozenset({7}))
    assert caught.value.field == "days"


def test_limit_and_order(network: TransportNetwork, warehouse) -> None:
    near = [offer(f"v{i}", (700150.0 + 150 * i, 6600420.0), warehouse) for i in range(5)]
    index = CarpoolIndex(network, near)
    asked = requests(("a", NEXT_DOOR_A, warehouse, TUESDAY, "aller", dt.time(6, 0)))
    every = index.match(asked, limit=10)
    assert len(every) >= 4
    assert every["detour_min"].is_monotonic_increasing
    assert index.match(asked, limit=2)["offer_id"].tolist() == every["offer_id"].tolist()[:2]


# ------------------------------------------------------------------ index vs brute force

N_OFFERS = 200
N_REQUESTS = 50


def _street_points(streets: gpd.GeoDataFrame, n: int, rng: np.random.Generator) -> np.ndarray:
    lines = streets.geometry.to_numpy()
    picked = lines[rng.integers(0, len(lines), n)]
    points = shapely.line_interpolate_point(picked, rng.uniform(0, 1, n), normalized=True)
    return np.column_stack([shapely.get_x(points), shapely.get_y(points)])


def _random_case(
    demo_territory, rng: np.random.Generator
) -> tuple[list[CarpoolOffer], pd.DataFrame]:
    territory, sources = demo_territory
    streets = territory.layer("streets").to_crs(LAMBERT93)
    streets = streets[streets["highway"].isin(["residential", "tertiary", "secondary"])]
    streets = streets[streets["access"].isna() & streets["motor_vehicle"].isna()]
    sites = np.array(
        [sources.places[k] for k in ("logistics_zone", "hospital", "france_travail", "station")],
        dtype=float,
    )
    homes = _street_points(streets, N_OFFERS + N_REQUESTS, rng)

    def site(n: int) -> np.ndarray:
        return sites[rng.integers(0, len(sites), n)] + rng.uniform(-250, 250, (n, 2))

    def clock(low_h: float, high_h: float) -> dt.time:
        m = int(rng.integers(int(low_h * 60), int(high_h * 60)))
        return dt.time(m // 60, m % 60)

    dests = site(N_OFFERS)
    offers = []
    for i in range(N_OFFERS):
        kind = rng.integers(0, 3)
        offers.append(
            CarpoolOffer(
                f"o{i}",
                lonlat(tuple(homes[i])),
                lonlat(tuple(dests[i])),
                frozenset(int(d) for d in rng.choice(7, int(rng.integers(1, 7)), replace=False)),
                clock(5, 9) if kind != 1 else None,
                clock(12, 22) if kind != 0 else None,
                flexibility_min=int(rng.integers(0, 31)),
                seats=int(rng.integers(0, 4)),
                max_detour_min=float(rng.uniform(2, 20)),
            )
        )
    req_home = homes[N_OFFERS:]
    req_dest = site(N_REQUESTS)
    rows = []
    for j in range(N_REQUESTS):
        aller = bool(rng.integers(0, 2))
        rows.append(
            (
                f"r{j}",
                *lonlat(tuple(req_home[j])),
                *lonlat(tuple(req_dest[j])),
                int(rng.integers(0, 7)),
                "aller" if aller else "retour",
                clock(5, 9.5) if aller else clock(12, 22),
                float(rng.choice([5.0, 10.0, 15.0])),
            )
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "request_id", "home_lon", "home_lat", "dest_lon", "dest_lat", "day", "direction",
            "time", "max_walk_min",
        ],
    )  # fmt: skip
    return offers, frame


def _brute_force(
    network: TransportNetwork, offers: list[CarpoolOffer], asked: pd.DataFrame, areas
) -> pd.DataFrame:
    """Every offer, every meeting point, the rules written out one pair at a time."""
    to_m = transformer(WGS84, network.crs)
    n_o, n_r = len(offers), len(asked)
    lonlat_points = np.array(
        [o.home for o in offers]
        + [o.destination for o in offers]
        + list(zip(asked.home_lon, asked.home_lat, strict=True))
        + list(zip(asked.dest_lon, asked.dest_lat, strict=True))
    )
    x, y = to_m.transform(lonlat_points[:, 0], lonlat_points[:, 1])
    area_pts = areas.to_crs(network.crs)
    ax, ay = area_pts.geometry.x.to_numpy(), area_pts.geometry.y.to_numpy()
    xy = np.concatenate([np.column_stack([x, y]), np.column_stack([ax, ay])])
    snapped = network.street_graph(StreetMode.CAR).snap(xy[:, 0], xy[:, 1], max_snap_m=MAX_SNAP_M)
    road = gpd.GeoDataFrame(
        {"id": [str(i) for i in range(len(xy))]},
        geometry=gpd.points_from_xy(snapped.snapped_x, snapped.snapped_y),
        crs=network.crs,
    )
    n = len(xy)
    every = pd.DataFrame(
        {"origin": np.repeat(np.arange(n), n), "destination": np.tile(np.arange(n), n)}
    )
    when = dt.datetime(2026, 3, 10, 8)
    car = pair_times(
        network,
        road,
        road,
        every,
        transport_modes="car",
        departure=when,
        max_time=dt.timedelta(hours=4),
    )
    car_s = car["duration_s"].to_numpy().reshape(n, n)
    H, G, Y, X, A = 0, n_o, 2 * n_o, 2 * n_o + n_r, 2 * n_o + 2 * n_r
    n_a = len(ax)
    plain = gpd.GeoDataFrame(
        {"id": road["id"]}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=network.crs
    )
    walk_pairs = pd.DataFrame(
        {
            "origin": np.concatenate(
                [np.repeat(Y + np.arange(n_r), n_a), np.tile(A + np.arange(n_a), n_r)]
            ),
            "destination": np.concatenate(
                [np.tile(A + np.arange(n_a), n_r), np.repeat(Y + np.arange(n_r), n_a)]
            ),
        }
    )
    walked = pair_times(network, plain, plain, walk_pairs, transport_modes="walk", departure=when)
    walk_s = walked["duration_s"].to_numpy()
    walk_there = walk_s[: n_r * n_a].reshape(n_r, n_a)
    walk_back = walk_s[n_r * n_a :].reshape(n_a, n_r).T  # area -> home, by request
    window = PASSENGER_WINDOW_MIN * 60
    found = []
    for j, req in enumerate(asked.itertuples(index=False)):
        t = req.time.hour * 3600 + req.time.minute * 60
        for i, o in enumerate(offers):
            anchor_time = o.arrive_by if req.direction == "aller" else o.leave_at
            if anchor_time is None or o.seats <= 0:
                continue
            anchor = anchor_time.hour * 3600 + anchor_time.minute * 60 + anchor_time.second
            b = anchor - t
            if b >= 43200:
                b -= 86400
            elif b < -43200:
                b += 86400
            if (req.day + (t + b) // 86400) % 7 not in o.days:
                continue
            f = o.flexibility_min * 60
            options = [(Y + j, -1, 0.0)]
            for k in range(n_a):
                w = walk_there[j, k] if req.direction == "aller" else walk_back[j, k]
                if w <= req.max_walk_min * 60:
                    options.append((A + k, k, w))
            best = None
            for p, k, w in options:
                if req.direction == "aller":
                    t1, t2, t3 = car_s[H + i, p], car_s[p, X + j], car_s[X + j, G + i]
                    detour = t1 + t2 + t3 - car_s[H + i, G + i]
                    hi, lo = min(0, b + f - t3), max(-window, b - f - t3)
                    ok = lo <= hi + 1e-6
                    meet = hi
                else:
                    t1, t2, t3 = car_s[G + i, X + j], car_s[X + j, p], car_s[p, H + i]
                    detour = t1 + t2 + t3 - car_s[G + i, H + i]
                    lo, hi = max(0, b - f + t1), min(window, b + f + t1)
                    ok = lo <= hi + 1e-6
                    meet = lo
                if not (np.isfinite(detour) and detour <= o.max_detour_min * 60 + 1e-6 and ok):
                    continue
                rank = (round(detour, 3), round(w, 3), round(abs(meet), 3))
                if best is None or rank < best[4]:
                    best = (detour, w, abs(meet), k, rank)
            if best is not None:
                found.append((req.request_id, o.id, best[0], best[1], best[2], best[3], j))
    table = pd.DataFrame(
        found, columns=["request_id", "offer_id", "detour_s", "walk_s", "wait_s", "area", "row"]
    )
    keys = {name: table[name].round(3) for name in ("detour_s", "walk_s", "wait_s")}
    table = table.assign(**{f"{k}_rank": v for k, v in keys.items()})
    table = table.sort_values(
        ["row", "detour_s_rank", "walk_s_rank", "wait_s_rank", "offer_id"], kind="stable"
    )
    ids = area_pts["id_lieu"].to_numpy()
    table["area_id"] = [None if k < 0 else ids[k] for k in table["area"]]
    return table.reset_index(drop=True)


def test_index_equals_brute_force(demo_territory, network: TransportNetwork, areas) -> None:
    rng = np.random.default_rng(7)
    offers, asked = _random_case(demo_territory, rng)
    index = CarpoolIndex(network, offers, areas=areas)
    expected = _brute_force(network, offers, asked, areas)
    assert len(expected) >= 30, "the random case must hold matches to compare"
    frame = index._check_requests(asked, max_walk_min=10.0, limit=1)
    candidates = index._candidates(frame, index._near_areas(frame))
    assert len(candidates) < 0.8 * N_OFFERS * N_REQUESTS  # the index prunes
    got = index.match(asked, limit=10_000)
    assert got["request_id"].tolist() == expected["request_id"].tolist()
    assert got["offer_id"].tolist() == expected["offer_id"].tolist()
    assert got["area_id"].tolist() == expected["area_id"].tolist()
    np.testing.assert_allclose(got["detour_min"], np.round(expected["detour_s"] / 60, 1), atol=1e-9)
    np.testing.assert_allclose(got["walk_min"], np.round(expected["walk_s"] / 60, 1), atol=1e-9)
    np.testing.assert_allclose(got["wait_min"], np.round(expected["wait_s"] / 60, 1), atol=1e-9)
    # The limit keeps the best of each request.
    top = index.match(asked, limit=3)
    head = expected.groupby("row", sort=False).head(3)
    assert top["offer_id"].tolist() == head["offer_id"].tolist()
