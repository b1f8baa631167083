"""OSM by Overpass (osmnx), against a small Overpass server on 127.0.0.1.

The server answers osmnx's ``POST /api/interpreter`` in the real Overpass API JSON
shape, computing the answer from the query it receives (the statements
``node|way["key"]`` / ``["key"~"regex"]`` with ``(poly:'lat lon ...')``, the recursion
``(._;>;);``) over the real Nantes PBF, and ``GET /api/status`` as the public
instances do.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pytest
import shapely

from parcours.errors import DownloadError, InputError
from parcours.geo.crs import LAMBERT93, WGS84
from parcours.i18n import set_language
from parcours.territories.download import SourceUrls, fetch_sources
from parcours.territories.overpass import (
    OverpassUnreachableError,
    fetch_overpass_osm,
    fetch_overpass_record,
)
from parcours.territories.readers._base import ReadContext
from parcours.territories.readers.osm import STREET_COLUMNS, read_osm
from parcours.territories.workspace import Territory, Workspace

NANTES_PBF = "france_nantes_tempus/nantes_subset_2014.osm.pbf"
# A 750 m x 650 m box in central Nantes, well inside the PBF's extent.
BOX = (-1.562, 47.206, -1.552, 47.212)
TEXT_COLUMNS = [c for c in STREET_COLUMNS if c not in ("osm_id", "node_ids", "geometry")]

STATUS_PAGE = (
    "Connected as: 2130706433\n"
    "Current time: 2024-05-02T08:00:00Z\n"
    "Announced endpoint: none\n"
    "Rate limit: 2\n"
    "2 slots available now.\n"
    "Currently running queries (pid, space limit, time limit, start time):\n"
)
OSM_BASE = "2014-09-20T12:00:00Z"


# --------------------------------------------------------------------------- the data


@dataclass
class OsmData:
    """The objects of the real PBF, indexed for the fake Overpass server."""

    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    node_tags: dict[int, dict[str, str]]
    ways: dict[int, tuple[list[int], dict[str, str]]]


@pytest.fixture(scope="module")
def osm_data(shared_data: Path) -> OsmData:
    ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    node_tags: dict[int, dict[str, str]] = {}
    ways: dict[int, tuple[list[int], dict[str, str]]] = {}
    entities = osmium.osm.NODE | osmium.osm.WAY
    for obj in osmium.FileProcessor(str(shared_data / NANTES_PBF), entities):
        if isinstance(obj, osmium.osm.Node):
            if not obj.location.valid():
                continue
            ids.append(obj.id)
            lons.append(obj.location.lon)
            lats.append(obj.location.lat)
            if len(obj.tags):
                node_tags[obj.id] = {t.k: t.v for t in obj.tags}
        elif isinstance(obj, osmium.osm.Way):
            ways[obj.id] = ([n.ref for n in obj.nodes], {t.k: t.v for t in obj.tags})
    return OsmData(np.asarray(ids), np.asarray(lons), np.asarray(lats), node_tags, ways)


STATEMENT = re.compile(r"""(node|way)\["([^"]+)"(?:~"([^"]+)")?\]\(poly:'([^']+)'\);""")


def parse_poly(coords: str) -> shapely.Polygon:
    """An Overpass ``poly`` string (``lat lon lat lon ...``) as a WGS84 polygon."""
    values = [float(v) for v in coords.split()]
    return shapely.Polygon(list(zip(values[1::2], values[0::2], strict=True)))


def overpass_answer(data: OsmData, query: str) -> dict[str, Any]:
    """Evaluate the union of tag statements in ``poly``, then ``(._;>;);``, like Overpass."""
    inside_cache: dict[str, set[int]] = {}
    nodes: set[int] = set()
    ways: set[int] = set()
    for kind, key, regex, coords in STATEMENT.findall(query):
        if coords not in inside_cache:
            polygon = parse_poly(coords)
            mask = shapely.intersects_xy(polygon, data.lon, data.lat)
            inside_cache[coords] = set(data.node_ids[mask].tolist())
        inside = inside_cache[coords]

        def matches(tags: dict[str, str], key: str = key, regex: str = regex) -> bool:
            return key in tags and (not regex or re.search(regex, tags[key]) is not None)

        if kind == "node":
            nodes.update(n for n, tags in data.node_tags.items() if n in inside and matches(tags))
        else:
            ways.update(
                w
                for w, (refs, tags) in data.ways.items()
                if matches(tags) and any(ref in inside for ref in refs)
            )
    if "(._;>;);" in query:
        for way in ways:
            nodes.update(data.ways[way][0])
    index = {int(n): i for i, n in enumerate(data.node_ids)}
    elements: list[dict[str, Any]] = []
    for node in sorted(nodes):
        if node not in index:  # a way node missing from the extract (cut at its edge)
            continue
        i = index[node]
        element: dict[str, Any] = {
            "type": "node",
            "id": node,
            "lat": round(float(data.lat[i]), 7),
            "lon": round(float(data.lon[i]), 7),
        }
        if node in data.node_tags:
            element["tags"] = data.node_tags[node]
        elements.append(element)
    for way in sorted(ways):
        refs, tags = data.ways[way]
        way_element: dict[str, Any] = {"type": "way", "id": way, "nodes": refs}
        if tags:
            way_element["tags"] = tags
        elements.append(way_element)
    return {
        "version": 0.6,
        "generator": "Overpass API 0.7.62.1 084b4234",
        "osm3s": {
            "timestamp_osm_base": OSM_BASE,
            "copyright": "The data included in this document is from www.openstreetmap.org. "
            "The data is made available under ODbL.",
        },
        "elements": elements,
    }


# --------------------------------------------------------------------------- the server


@dataclass
class Seen:
    method: str
    path: str
    query: str | None


@dataclass
class FakeOverpass:
    data: OsmData
    base: str = ""
    requests: list[Seen] = field(default_factory=list)
    status_page: bool = True
    remark: str | None = None

    @property
    def api(self) -> str:
        return self.base + "/api"

    def queries(self) -> list[str]:
        return [s.query for s in self.requests if s.path == "/api/interpreter" and s.query]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        fake = self.server.fake  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        fake.requests.append(Seen("GET", path, None))
        if path == "/api/status" and fake.status_page:
            self._answer(200, "text/plain", STATUS_PAGE.encode())
        else:
            self._answer(404, "text/html", b"<html><body>not found</body></html>")

    def do_POST(self) -> None:
        fake = self.server.fake  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length", 0))
        form = parse_qs(self.rfile.read(length).decode("utf-8"))
        query = form.get("data", [None])[0]
        fake.requests.append(Seen("POST", path, query))
        if path != "/api/interpreter" or not query:
            self._answer(400, "text/html", b"<html><body>Error: no query</body></html>")
            return
        answer = overpass_answer(fake.data, query)
        if fake.remark:
            answer["elements"] = answer["elements"][:10]
            answer["remark"] = fake.remark
        self._answer(200, "application/json", json.dumps(answer).encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serving(data: OsmData) -> Iterator[FakeOverpass]:
    fake = FakeOverpass(data)
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.fake = fake  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    fake.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def overpass(osm_data: OsmData) -> Iterator[FakeOverpass]:
    with serving(osm_data) as fake:
        yield fake


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


def box_area(crs: Any = WGS84) -> shapely.Geometry:
    return gpd.GeoSeries([shapely.box(*BOX)], crs=WGS84).to_crs(crs).iloc[0]


# --------------------------------------------------------------------------- tests


def test_downloaded_pbf_reads_as_the_original(
    overpass: FakeOverpass, shared_data: Path, tmp_path: Path
) -> None:
    import osmnx as ox

    before = {
        name: getattr(ox.settings, name)
        for name in ("overpass_url", "use_cache", "useful_tags_way", "requests_timeout")
    }
    getaddrinfo = socket.getaddrinfo
    target = tmp_path / "out" / "nantes.osm.pbf"
    labels: list[str] = []

    result = fetch_overpass_osm(
        box_area(),
        target,
        overpass_url=overpass.api,
        progress=lambda label, f: labels.append(label),
    )

    assert result == target and target.is_file() and labels
    # The request went to the loopback server: the status page, then one query.
    assert [(s.method, s.path) for s in overpass.requests] == [
        ("GET", "/api/status"),  # our reachability probe
        ("GET", "/api/status"),  # osmnx's slot management
        ("POST", "/api/interpreter"),
    ]
    [query] = overpass.queries()
    assert query.startswith("[out:json][timeout:180];")
    assert 'way["highway"](poly:' in query and query.endswith("(._;>;);out;")
    for key in ("amenity", "shop", "office", "healthcare", "public_transport"):
        assert f'node["{key}"](poly:' in query and f'way["{key}"](poly:' in query
    polygon = parse_poly(STATEMENT.findall(query)[0][3])
    assert polygon.contains(shapely.box(*BOX))
    assert polygon.within(shapely.box(*BOX).buffer(0.002))  # the box + 50 m
    # osmnx's settings and DNS are as they were.
    for name, value in before.items():
        assert getattr(ox.settings, name) == value, name
    assert socket.getaddrinfo is getaddrinfo
    # The header tells where the data comes from.
    header = osmium.io.Reader(str(target)).header()
    assert header.get("osmosis_replication_timestamp") == OSM_BASE

    # The same streets and POIs as the original extract, through the same reader.
    ctx = ReadContext(crs=LAMBERT93, area=box_area(LAMBERT93))
    got_streets, got_pois = read_osm(target, ctx)
    ref_streets, ref_pois = read_osm(shared_data / NANTES_PBF, ctx)
    got = got_streets.frame.sort_values("osm_id").reset_index(drop=True)
    ref = ref_streets.frame.sort_values("osm_id").reset_index(drop=True)
    assert len(ref) > 100
    assert set(got["osm_id"]) == set(ref["osm_id"])
    pd.testing.assert_frame_equal(got[TEXT_COLUMNS], ref[TEXT_COLUMNS])
    for mine, theirs in zip(got["node_ids"], ref["node_ids"], strict=True):
        assert list(mine) == list(theirs)
    assert shapely.equals_exact(got.geometry.to_numpy(), ref.geometry.to_numpy(), 1e-6).all()
    assert got_streets.extra["truncated_ways"] == ref_streets.extra["truncated_ways"]
    got_p = got_pois.frame.sort_values(["osm_type", "osm_id"]).reset_index(drop=True)
    ref_p = ref_pois.frame.sort_values(["osm_type", "osm_id"]).reset_index(drop=True)
    assert len(ref_p) > 10 and set(ref_p["osm_type"]) == {"node", "way"}
    pd.testing.assert_frame_equal(got_p, ref_p)


def test_record_and_environment_url(
    overpass: FakeOverpass, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARCOURS_URL_OVERPASS", overpass.api + "/interpreter")
    record = fetch_overpass_record(box_area(), tmp_path / "a.pbf")
    assert record.url == overpass.api + "/interpreter"
    assert record.osm_base == OSM_BASE and record.highway_ways > 100
    assert record.ways >= record.highway_ways and record.nodes > record.ways
    assert 0.4 < record.area_km2 < 0.6 and not record.warnings
    assert len(record.queries) == 1 and record.queries == overpass.queries()


def test_server_without_status_page_is_not_waited_for(
    overpass: FakeOverpass, tmp_path: Path
) -> None:
    overpass.status_page = False  # osmnx would pause 60 s on an unreadable status
    fetch_overpass_osm(box_area(), tmp_path / "a.osm.pbf", overpass_url=overpass.api)
    assert [s.path for s in overpass.requests] == ["/api/status", "/api/interpreter"]


def test_runtime_error_remark_is_refused(overpass: FakeOverpass, tmp_path: Path) -> None:
    overpass.remark = 'runtime error: Query timed out in "query" at line 1 after 181 seconds.'
    target = tmp_path / "a.osm.pbf"
    with pytest.raises(DownloadError, match="timed out") as error:
        fetch_overpass_osm(box_area(), target, overpass_url=overpass.api)
    assert not isinstance(error.value, OverpassUnreachableError)
    assert not target.exists()


def test_too_large_area_is_refused(overpass: FakeOverpass, tmp_path: Path) -> None:
    department = shapely.box(-2.5, 46.9, -1.0, 47.8)  # ~ 10,000 km²
    with pytest.raises(InputError, match="--sources osm") as error:
        fetch_overpass_osm(department, tmp_path / "a.osm.pbf", overpass_url=overpass.api)
    assert "Geofabrik" in str(error.value)
    small = shapely.box(*BOX)
    with pytest.raises(InputError, match=r"0\.505 km² > 0\.1 km²"):
        fetch_overpass_osm(small, tmp_path / "a.osm.pbf", max_area_km2=0.1)
    with pytest.raises(InputError):  # projected coordinates, not WGS84
        fetch_overpass_osm(box_area(LAMBERT93), tmp_path / "a.osm.pbf")
    assert not overpass.requests


def test_offline_message_in_french_and_english(tmp_path: Path) -> None:
    url = closed_port_url()
    target = tmp_path / "a.osm.pbf"
    with pytest.raises(DownloadError) as french:
        fetch_overpass_osm(box_area(), target, overpass_url=url)
    assert isinstance(french.value, OverpassUnreachableError)
    assert "pas de connexion internet" in str(french.value)
    assert "parcours territory load" in str(french.value)
    set_language("en")
    with pytest.raises(DownloadError) as english:
        fetch_overpass_osm(box_area(), target, overpass_url=url)
    assert "no internet connection" in str(english.value)
    assert "--osm" in str(english.value)
    assert not target.exists()


# --------------------------------------------------------------------------- fetch_sources


def make_territory(tmp_path: Path) -> Territory:
    workspace = Workspace(tmp_path / "home")
    frame = gpd.GeoDataFrame(geometry=[shapely.box(*BOX)], crs=WGS84)
    return workspace.create(
        "nantes", frame, crs=LAMBERT93, buffer_m=100.0, definition={"bbox": list(BOX)}
    )


def test_fetch_sources_overpass(osm_data: OsmData, tmp_path: Path) -> None:
    territory = make_territory(tmp_path)
    cache = tmp_path / "cache"
    with serving(osm_data) as overpass:
        urls = SourceUrls(overpass=overpass.api)
        result = fetch_sources(territory, ["overpass"], urls=urls, cache_dir=cache)
        assert [s.path for s in overpass.requests][-1] == "/api/interpreter"

    [osm] = result.files["osm"]
    assert list(result.files) == ["osm"] and osm.name.startswith("osm_overpass_")
    [record] = result.records
    assert record["source"] == "overpass" and record["kind"] == "osm"
    assert record["url"] == overpass.api + "/interpreter"
    assert record["osm_base"] == OSM_BASE
    assert record["sha256"] and record["size_bytes"] == osm.stat().st_size
    assert str(osm.resolve()) in result.provenance()
    bbox = shapely.box(*record["query_bbox"])
    assert bbox.contains(gpd.GeoSeries([territory.clip_area()], crs=LAMBERT93).to_crs(WGS84)[0])
    streets, _ = read_osm(osm, ReadContext(crs=LAMBERT93, area=territory.clip_area()))
    assert len(streets.frame) > 100

    # Offline, the file of an earlier fetch of the same area is used, with a warning.
    again = fetch_sources(territory, ["overpass"], urls=urls, cache_dir=cache)
    assert again.files["osm"] == [osm]
    assert again.records[0]["stale"] is True and again.records[0]["from_cache"] is True
    assert any("hors ligne" in warning for warning in again.warnings)
    # Without one, offline is an error.
    other = SourceUrls(overpass=closed_port_url())
    with pytest.raises(DownloadError, match="pas de connexion internet"):
        fetch_sources(territory, ["overpass"], urls=other, cache_dir=cache)


def test_overpass_is_not_in_all_and_excludes_osm(tmp_path: Path) -> None:
    from parcours.territories.download.fetch import _canonical_sources

    assert "overpass" not in _canonical_sources(["all"])
    assert _canonical_sources(["osm"]) == ["osm"]
    assert _canonical_sources(["communes,overpass"]) == ["communes", "overpass"]
    territory = make_territory(tmp_path)
    with pytest.raises(InputError, match="overpass"):
        fetch_sources(territory, ["osm,overpass"], urls=SourceUrls(), cache_dir=tmp_path / "c")
