"""Downloaders, against a real HTTP server on 127.0.0.1 serving the real APIs' shapes."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import re
import socket
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import osmium
import pytest
import shapely
from shapely.geometry import mapping

from parcours.errors import DownloadError, InputError
from parcours.geo.crs import LAMBERT93, WGS84
from parcours.i18n import set_language
from parcours.territories.download import (
    SOURCE_NAMES,
    SourceUrls,
    clip_pbf,
    default_cache_dir,
    departement_of,
    download,
    download_record,
    fetch_commune_contours,
    fetch_sources,
)
from parcours.territories.download.data_gouv import _merge_csv_gz
from parcours.territories.download.geofabrik import _pick_extract
from parcours.territories.workspace import Territory, Workspace

NANTES_PBF = "france_nantes_tempus/nantes_subset_2014.osm.pbf"
NANTES_GTFS = "france_nantes_tempus/tan_nantes_gtfs_min_2014.zip"
FRIOUL_GTFS = "france_open_data_samples/gtfs_marseille_frioul/frioul_if_express_gtfs_2016.zip"
BNLC_CSV = "france_open_data_samples/bnlc/bnlc_calvados_2024_utf8.csv"

# The territory: a 750 m x 650 m box in central Nantes, inside the PBF's extent.
BOX = (-1.562, 47.206, -1.552, 47.212)


# --------------------------------------------------------------------------- the server

Body = bytes | Callable[[dict[str, list[str]]], bytes | None]


@dataclass
class Route:
    """What the fixture server answers on one path."""

    body: Body = b""
    content_type: str = "application/octet-stream"
    disposition: str | None = None
    redirect: str | None = None
    cut_at: int | None = None  # send this many bytes of the body then close, once
    ignore_range: bool = False
    status: int = 200
    cut_done: bool = False


@dataclass
class Seen:
    """One request received."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int


@dataclass
class FixtureServer:
    """Routes and the log of requests of a server on 127.0.0.1."""

    base: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def add(self, path: str, body: Body = b"", **options: Any) -> str:
        self.routes[path] = Route(body=body, **options)
        return self.base + path

    def hits(self, path: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def _answer(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        assert isinstance(self.server, _Server)
        fixture = self.server.fixture
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        headers = {k.lower(): v for k, v in self.headers.items()}
        route = fixture.routes.get(split.path)
        body = None
        if route is not None and route.redirect is None:
            body = route.body(query) if callable(route.body) else route.body

        def log(status: int) -> None:
            fixture.requests.append(Seen(split.path, query, headers, status))

        if route is not None and route.redirect is not None:
            log(302)
            self._answer(302, {"Location": fixture.base + route.redirect})
            return
        if route is None or body is None:
            log(404)
            self._answer(404, {"Content-Type": "text/plain"}, b"not found")
            return
        if route.status != 200:
            log(route.status)
            self._answer(route.status, {"Content-Type": "text/plain"}, b"error")
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        common = {"ETag": etag, "Accept-Ranges": "bytes", "Content-Type": route.content_type}
        if route.disposition:
            common["Content-Disposition"] = route.disposition
        if headers.get("if-none-match") == etag:
            log(304)
            self._answer(304, {"ETag": etag})
            return
        start, status = 0, 200
        asked = re.fullmatch(r"bytes=(\d+)-", headers.get("range", ""))
        if asked and not route.ignore_range and headers.get("if-range", etag) == etag:
            start, status = int(asked.group(1)), 206
            if start >= len(body):
                log(416)
                self._answer(416, {"Content-Range": f"bytes */{len(body)}"})
                return
            common["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        payload = body[start:]
        log(status)
        if route.cut_at is not None and not route.cut_done:
            route.cut_done = True
            self.send_response(status)
            for key, value in common.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: route.cut_at])
            self.wfile.flush()
            self.close_connection = True
            return
        self._answer(status, common, payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fixture: FixtureServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients dropping a connection (the downloader does it on purpose)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serving() -> Iterator[FixtureServer]:
    """Run a fixture server in a thread; shut it down on exit."""
    fixture = FixtureServer()
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.fixture = fixture
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    fixture.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield fixture
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    with serving() as fixture:
        yield fixture


def closed_port_url(path: str = "/file.zip") -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def payload(size: int = 300_000) -> bytes:
    return bytes(range(256)) * (size // 256) + b"end"


# --------------------------------------------------------------------------- download


def test_download_then_conditional_request_served_from_cache(
    server: FixtureServer, tmp_path: Path
) -> None:
    data = payload()
    url = server.add("/files/data.bin", data)
    cache = tmp_path / "cache"
    seen: list[tuple[str, float | None]] = []

    first = download_record(
        url, tmp_path / "out", cache_dir=cache, progress=lambda *a: seen.append(a)
    )
    assert first.path == tmp_path / "out" / "data.bin"
    assert first.path.read_bytes() == data
    assert first.sha256 == sha(data) and first.size_bytes == len(data)
    assert not first.from_cache and first.etag
    assert seen[-1] == ("data.bin", 1.0)

    second = download_record(url, tmp_path / "out", cache_dir=cache)
    assert second.from_cache and second.sha256 == sha(data)
    assert second.path.read_bytes() == data
    hits = server.hits("/files/data.bin")
    assert [h.status for h in hits] == [200, 304]
    assert hits[1].headers["if-none-match"] == first.etag

    # A known checksum needs no request at all.
    third = download(url, cache_dir=cache, expected_sha256=sha(data))
    assert third.read_bytes() == data
    assert len(server.hits("/files/data.bin")) == 2


def test_download_refreshes_a_changed_file(server: FixtureServer, tmp_path: Path) -> None:
    url = server.add("/files/feed.zip", b"version 1")
    cache = tmp_path / "cache"
    assert download(url, tmp_path / "out", cache_dir=cache).read_bytes() == b"version 1"
    server.routes["/files/feed.zip"].body = b"version 2, longer"
    record = download_record(url, tmp_path / "out", cache_dir=cache)
    assert record.path.read_bytes() == b"version 2, longer" and not record.from_cache
    assert [h.status for h in server.hits("/files/feed.zip")] == [200, 200]


def test_download_resumes_after_a_cut_connection(server: FixtureServer, tmp_path: Path) -> None:
    data = payload()
    cut = 100_000
    url = server.add("/big/extract.osm.pbf", data, cut_at=cut)
    record = download_record(url, tmp_path / "out", cache_dir=tmp_path / "cache", retry_wait_s=0)
    assert record.sha256 == sha(data)
    assert record.path.read_bytes() == data
    first, second = server.hits("/big/extract.osm.pbf")
    assert "range" not in first.headers
    assert second.headers["range"] == f"bytes={cut}-"
    assert second.headers["if-range"] == record.etag
    assert second.status == 206


def test_interrupted_download_resumes_on_the_next_run(
    server: FixtureServer, tmp_path: Path
) -> None:
    data = payload()
    url = server.add("/big/filosofi.zip", data, cut_at=50_000)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="relancez la commande"):
        download(url, cache_dir=cache, retries=0)
    record = download_record(url, cache_dir=cache, retries=0)
    assert record.sha256 == sha(data)
    assert server.hits("/big/filosofi.zip")[1].headers["range"] == "bytes=50000-"


def test_download_restarts_when_the_server_ignores_range(
    server: FixtureServer, tmp_path: Path
) -> None:
    data = payload()
    url = server.add("/big/bpe.zip", data, cut_at=70_000, ignore_range=True)
    record = download_record(url, cache_dir=tmp_path / "cache", retry_wait_s=0)
    assert record.sha256 == sha(data)
    assert record.path.read_bytes() == data
    hits = server.hits("/big/bpe.zip")
    assert hits[1].headers["range"] == "bytes=70000-" and hits[1].status == 200


def test_checksum_mismatch_is_refused(server: FixtureServer, tmp_path: Path) -> None:
    url = server.add("/files/gtfs.zip", b"not what you expect")
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="somme de contrôle"):
        download(url, tmp_path / "out", cache_dir=cache, expected_sha256="0" * 64)
    assert not (tmp_path / "out" / "gtfs.zip").exists()
    assert download(url, cache_dir=cache).read_bytes() == b"not what you expect"


def test_offline_message_in_french_and_english(tmp_path: Path) -> None:
    url = closed_port_url()
    with pytest.raises(DownloadError) as french:
        download(url, cache_dir=tmp_path / "cache")
    assert "pas de connexion internet" in str(french.value)
    assert "parcours territory load" in str(french.value)
    set_language("en")
    with pytest.raises(DownloadError) as english:
        download(url, cache_dir=tmp_path / "cache")
    assert "no internet connection" in str(english.value)
    assert "parcours territory load" in str(english.value)


def test_offline_with_a_cached_copy_uses_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with serving() as server:
        url = server.add("/files/qpv.zip", b"contours")
        download(url, cache_dir=cache)
    record = download_record(url, tmp_path / "out", cache_dir=cache)  # the server is gone
    assert record.stale and record.from_cache
    assert record.path.read_bytes() == b"contours"


def test_http_errors(server: FixtureServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="404"):
        download(server.base + "/missing.zip", cache_dir=tmp_path / "cache")
    url = server.add("/broken.zip", b"x", status=503)
    with pytest.raises(DownloadError, match="HTTP 503"):
        download(url, cache_dir=tmp_path / "cache", retries=1, retry_wait_s=0)
    assert len(server.hits("/broken.zip")) == 2


def test_file_name_from_content_disposition_and_redirect(
    server: FixtureServer, tmp_path: Path
) -> None:
    server.add("/static/QP2024.zip", b"zip")
    url = server.add("/api/1/datasets/r/942d4ee8", redirect="/static/QP2024.zip")
    assert download(url, tmp_path / "out", cache_dir=tmp_path / "c").name == "QP2024.zip"
    url = server.add("/download", b"csv", disposition='attachment; filename="bnlc-2024.csv"')
    assert download(url, tmp_path / "out", cache_dir=tmp_path / "c").name == "bnlc-2024.csv"


# --------------------------------------------------------------------------- sources


def test_source_urls_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SourceUrls().geo_api == "https://geo.api.gouv.fr"
    monkeypatch.setenv("PARCOURS_URL_BPE", "http://127.0.0.1:1/bpe.zip")
    assert SourceUrls().bpe == "http://127.0.0.1:1/bpe.zip"
    assert SourceUrls(bpe="http://127.0.0.1:2/bpe.zip").bpe == "http://127.0.0.1:2/bpe.zip"


def test_departement_of() -> None:
    assert departement_of("44109") == "44"
    assert departement_of("2A004") == "2A"
    assert departement_of("97411") == "974"


def test_merge_csv_gz(tmp_path: Path) -> None:
    parts = []
    for dep, rows in (("44", b"1,a\n2,b\n"), ("49", b"3,c\n")):
        path = tmp_path / f"geo_siret_{dep}.csv.gz"
        path.write_bytes(gzip.compress(b"siret,name\n" + rows))
        parts.append(path)
    _merge_csv_gz(parts, tmp_path / "merged.csv.gz")
    assert gzip.decompress((tmp_path / "merged.csv.gz").read_bytes()) == (
        b"siret,name\n1,a\n2,b\n3,c\n"
    )


def test_no_geofabrik_extract_covers_the_territory() -> None:
    index = {
        "type": "FeatureCollection",
        "features": [geofabrik_feature("monaco", None, (7.4, 43.7, 7.5, 43.8), "/m.pbf")],
    }
    with pytest.raises(InputError, match="Geofabrik"):
        _pick_extract(index, shapely.box(*BOX))


def test_clip_pbf_keeps_whole_ways_inside_the_box(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / NANTES_PBF
    target = tmp_path / "clip.osm.pbf"
    counts = clip_pbf(source, target, BOX)
    assert target.stat().st_size < source.stat().st_size
    assert_clipped(target, source, BOX, counts)


def assert_clipped(
    target: Path, source: Path, bounds: tuple[float, float, float, float], counts: Any = None
) -> None:
    """The clipped file reads back; its ways touch the box and keep all their nodes."""
    in_source = {n.id for n in osmium.FileProcessor(str(source), osmium.osm.NODE)}
    box = shapely.box(*bounds)
    nodes: set[int] = set()
    ways = 0
    entities = osmium.osm.NODE | osmium.osm.WAY
    for obj in osmium.FileProcessor(str(target), entities).with_locations():
        if isinstance(obj, osmium.osm.Node):
            nodes.add(obj.id)
            continue
        assert isinstance(obj, osmium.osm.Way)
        refs = [n.ref for n in obj.nodes]
        # Every node the source has is kept (the source is itself an extract).
        assert {r for r in refs if r in in_source} <= nodes
        points = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
        assert any(box.covers(shapely.Point(p)) for p in points)
        ways += 1
    assert ways > 100
    if counts is not None:
        assert counts["ways"] == ways and counts["nodes"] == len(nodes)


def test_unknown_source_lists_the_valid_names(tmp_path: Path) -> None:
    territory = make_territory(tmp_path)
    with pytest.raises(InputError) as error:
        fetch_sources(territory, ["osm,metro"], urls=SourceUrls(), cache_dir=tmp_path / "c")
    assert "metro" in str(error.value)
    for name in SOURCE_NAMES:
        assert name in str(error.value)


def test_fetch_offline(tmp_path: Path) -> None:
    territory = make_territory(tmp_path)
    dead = closed_port_url("")
    urls = SourceUrls(geo_api=dead, transport_api=dead + "/api", bpe=dead + "/bpe.zip")
    with pytest.raises(DownloadError, match="pas de connexion internet"):
        fetch_sources(territory, ["bpe"], urls=urls, cache_dir=tmp_path / "c")


# --------------------------------------------------------------------------- real API shapes


def geofabrik_feature(
    region: str, parent: str | None, bounds: tuple[float, float, float, float], pbf: str
) -> dict[str, Any]:
    """A feature of Geofabrik's index-v1.json."""
    props: dict[str, Any] = {
        "id": region,
        "name": region.replace("-", " ").title(),
        "urls": {
            "pbf": pbf,
            "bz2": pbf.replace(".osm.pbf", ".osm.bz2"),
            "shp": pbf.replace(".osm.pbf", "-free.shp.zip"),
            "updates": pbf.replace("-latest.osm.pbf", "-updates"),
            "taginfo": f"https://taginfo.geofabrik.de/{region}/",
        },
    }
    if parent:
        props["parent"] = parent
    polygon = shapely.MultiPolygon([shapely.box(*bounds)])
    return {"type": "Feature", "properties": props, "geometry": mapping(polygon)}


def commune_feature(
    code: str,
    name: str,
    bounds: tuple[float, float, float, float],
    epci: tuple[str, str] | None,
    region: tuple[str, str],
    population: int,
) -> dict[str, Any]:
    """A feature of geo.api.gouv.fr /communes?format=geojson&geometry=contour."""
    props: dict[str, Any] = {
        "nom": name,
        "code": code,
        "codeDepartement": departement_of(code),
        "codeRegion": region[0],
        "region": {"code": region[0], "nom": region[1]},
        "population": population,
    }
    if epci:
        props["codeEpci"] = epci[0]
        props["epci"] = {"code": epci[0], "nom": epci[1]}
    return {"type": "Feature", "geometry": mapping(shapely.box(*bounds)), "properties": props}


COMMUNES = [
    commune_feature(
        "44109",
        "Nantes",
        (-1.558, 47.18, -1.50, 47.25),
        ("244400404", "Nantes Métropole"),
        ("52", "Pays de la Loire"),
        320_732,
    ),
    commune_feature(
        "44162",
        "Saint-Herblain",
        (-1.70, 47.18, -1.558, 47.25),
        ("244400404", "Nantes Métropole"),
        ("52", "Pays de la Loire"),
        49_461,
    ),
    commune_feature(
        "44143",
        "Rezé",
        (-1.60, 47.10, -1.50, 47.18),
        ("244400404", "Nantes Métropole"),
        ("52", "Pays de la Loire"),
        42_919,
    ),
    commune_feature(
        "13055",
        "Marseille",
        (5.2, 43.2, 5.5, 43.4),
        ("200054807", "Métropole d'Aix-Marseille-Provence"),
        ("93", "Provence-Alpes-Côte d'Azur"),
        873_076,
    ),
]


def geo_api_communes(query: dict[str, list[str]]) -> bytes:
    """GET /communes: by code, by département (GeoJSON) or by point (JSON list)."""
    if "lat" in query and "lon" in query:
        point = shapely.Point(float(query["lon"][0]), float(query["lat"][0]))
        found = [
            f["properties"] for f in COMMUNES if shapely.geometry.shape(f["geometry"]).covers(point)
        ]
        return json.dumps(
            [
                {"code": p["code"], "nom": p["nom"], "codeDepartement": p["codeDepartement"]}
                for p in found
            ]
        ).encode()
    if "code" in query:
        features = [f for f in COMMUNES if f["properties"]["code"] == query["code"][0]]
    elif "codeDepartement" in query:
        features = [
            f for f in COMMUNES if f["properties"]["codeDepartement"] == query["codeDepartement"][0]
        ]
    else:
        features = COMMUNES
    assert query.get("format") == ["geojson"] and query.get("geometry") == ["contour"]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def transport_aoms(query: dict[str, list[str]]) -> bytes:
    """GET /api/aoms?lon=&lat=: the AOM containing the point, or null."""
    point = shapely.Point(float(query["lon"][0]), float(query["lat"][0]))
    if shapely.box(-1.8, 47.1, -1.3, 47.35).covers(point):
        return json.dumps(
            {
                "nom": "Nantes Métropole",
                "siren": "244400404",
                "insee_commune_principale": "44109",
                "departement": "44",
                "forme_juridique": "Métropole",
            }
        ).encode()
    return b"null"


def gtfs_resource(
    base: str, resource_id: int, end_date: str | None, fmt: str = "GTFS"
) -> dict[str, Any]:
    """A resource of transport.data.gouv.fr /api/datasets."""
    resource: dict[str, Any] = {
        "id": resource_id,
        "datagouv_id": f"r-{resource_id}",
        "title": f"resource-{resource_id}.zip",
        "format": fmt,
        "type": "main",
        "url": f"{base}/resources/{resource_id}/download",
        "original_url": f"https://example.invalid/original/{resource_id}.zip",
        "page_url": f"https://transport.data.gouv.fr/resources/{resource_id}",
        "is_available": True,
        "updated": "2025-09-01T08:00:00+02:00",
        "filesize": 1234,
    }
    if end_date:
        resource["metadata"] = {"start_date": "2025-01-01", "end_date": end_date}
        resource["modes"] = ["bus"]
    return resource


def transport_datasets(base: str) -> list[dict[str, Any]]:
    """GET /api/datasets (current shape, plus one dataset in the earlier shape)."""

    def dataset(
        ident: str,
        title: str,
        kind: str,
        covered: Any,
        resources: list[dict[str, Any]],
        **extra: Any,
    ) -> dict[str, Any]:
        return {
            "id": ident,
            "datagouv_id": ident,
            "title": title,
            "slug": ident,
            "type": kind,
            "covered_area": covered,
            "legal_owners": [],
            "licence": "odc-odbl",
            "page_url": f"https://transport.data.gouv.fr/datasets/{ident}",
            "publisher": {"name": "org", "type": "organization", "id": "org"},
            "created_at": "2019-01-01",
            "updated": "2025-09-01T08:00:00+02:00",
            "resources": resources,
            "community_resources": [],
            "tags": [],
            "offers": [],
            **extra,
        }

    nantes = [{"type": "epci", "insee": "244400404", "nom": "Nantes Métropole"}]
    return [
        dataset(
            "reseau-tan",
            "Réseau TAN",
            "public-transit",
            nantes,
            [
                gtfs_resource(base, 100, "2020-06-30"),  # expired, a current one exists
                gtfs_resource(base, 101, "2099-12-31"),
                gtfs_resource(base, 102, None, fmt="gtfs-rt"),
                gtfs_resource(base, 103, None, fmt="NeTEx"),
            ],
        ),
        dataset(
            "rtm-marseille",
            "RTM",
            "public-transit",
            [{"type": "commune", "insee": "13055", "nom": "Marseille"}],
            [gtfs_resource(base, 201, "2099-12-31")],
        ),
        dataset(
            "navibus-legacy",
            "Navibus (earlier API shape)",
            "public-transit",
            {
                "type": "aom",
                "name": "Nantes Métropole",
                "aom": {"name": "Nantes Métropole", "siren": "244400404"},
            },
            [gtfs_resource(base, 301, None)],
            aom={"name": "Nantes Métropole", "siren": "244400404"},
        ),
        dataset(
            "sncf-national",
            "SNCF",
            "public-transit",
            [{"type": "pays", "insee": "FR", "nom": "France"}],
            [gtfs_resource(base, 401, "2099-12-31")],
        ),
        dataset(
            "bicloo",
            "Bicloo",
            "bike-scooter-sharing",
            nantes,
            [gtfs_resource(base, 501, None, fmt="gbfs")],
        ),
    ]


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


SIRENE_HEADER = (
    b"siren,nic,siret,statutDiffusionEtablissement,dateCreationEtablissement,"
    b"trancheEffectifsEtablissement,activitePrincipaleEtablissement,etatAdministratifEtablissement,"
    b"codeCommuneEtablissement,longitude,latitude,geo_score,geo_type\n"
)


def serve_everything(server: FixtureServer, shared_data: Path) -> SourceUrls:
    """Serve every source with its real response shape; return the matching URLs."""
    base = server.base
    pdl = "/europe/france/pays-de-la-loire-latest.osm.pbf"
    index = {
        "type": "FeatureCollection",
        "features": [
            geofabrik_feature("europe", None, (-25, 34, 45, 72), base + "/europe-latest.osm.pbf"),
            geofabrik_feature(
                "france", "europe", (-5.5, 41, 10, 51.5), base + "/europe/france-latest.osm.pbf"
            ),
            geofabrik_feature(
                "bretagne",
                "france",
                (-5.2, 47.3, -1.0, 48.9),
                base + "/europe/france/bretagne-latest.osm.pbf",
            ),
            geofabrik_feature("pays-de-la-loire", "france", (-2.6, 46.2, 0.95, 48.6), base + pdl),
        ],
    }
    server.add("/index-v1.json", json.dumps(index).encode(), content_type="application/json")
    server.add(pdl, (shared_data / NANTES_PBF).read_bytes())
    server.add(
        "/api/datasets",
        json.dumps(transport_datasets(base)).encode(),
        content_type="application/json",
    )
    server.add("/api/aoms", transport_aoms, content_type="application/json")
    nantes_gtfs = (shared_data / NANTES_GTFS).read_bytes()
    for resource_id in (100, 101, 301):
        server.add(
            f"/resources/{resource_id}/download", nantes_gtfs, content_type="application/zip"
        )
    for resource_id in (201, 401):
        server.add(f"/resources/{resource_id}/download", (shared_data / FRIOUL_GTFS).read_bytes())
    server.add("/communes", geo_api_communes, content_type="application/json")
    server.add(
        "/insee/Filosofi2019_carreaux_200m_gpkg.zip", zip_bytes({"carreaux_200m_met.gpkg": b"gpkg"})
    )
    server.add(
        "/insee/BPE24.zip",
        zip_bytes({"BPE24.csv": b"DEPCOM;TYPEQU;LAMBERT_X;LAMBERT_Y\n44109;A122;355000;6690000\n"}),
    )
    sirene = gzip.compress(
        SIRENE_HEADER
        + b"552100554,00011,55210055400011,O,1990-01-01,12,47.11Z,A,44109,"
        + b"-1.555,47.209,0.9,housenumber\n"
    )
    server.add("/geo-sirene/last/dep/geo_siret_44.csv.gz", sirene)
    server.add(
        "/static/bnlc-2024.csv", (shared_data / BNLC_CSV).read_bytes(), content_type="text/csv"
    )
    server.add("/resources/81372/download", redirect="/static/bnlc-2024.csv")
    server.add("/static/QP2024_France.zip", zip_bytes({"GEOJSON/QP2024.geojson": b"{}"}))
    server.add("/api/1/datasets/r/942d4ee8", redirect="/static/QP2024_France.zip")
    return SourceUrls(
        geofabrik_index=base + "/index-v1.json",
        transport_api=base + "/api",
        geo_api=base,
        filosofi=base + "/insee/Filosofi2019_carreaux_200m_gpkg.zip",
        bpe=base + "/insee/BPE24.zip",
        sirene=base + "/geo-sirene/last/dep/geo_siret_{dep}.csv.gz",
        bnlc=base + "/resources/81372/download",
        qpv=base + "/api/1/datasets/r/942d4ee8",
    )


def make_territory(tmp_path: Path, definition: dict[str, Any] | None = None) -> Territory:
    workspace = Workspace(tmp_path / "home")
    frame = gpd.GeoDataFrame(geometry=[shapely.box(*BOX)], crs=WGS84)
    return workspace.create(
        "nantes", frame, crs=LAMBERT93, buffer_m=100.0, definition=definition or {"bbox": list(BOX)}
    )


# --------------------------------------------------------------------------- fetch_sources


def test_fetch_every_source(server: FixtureServer, shared_data: Path, tmp_path: Path) -> None:
    urls = serve_everything(server, shared_data)
    territory = make_territory(tmp_path)
    cache = default_cache_dir(territory.path.parent)
    labels: list[str] = []

    result = fetch_sources(
        territory, ["all"], urls=urls, progress=lambda label, f: labels.append(label)
    )

    assert set(result.files) == {
        "communes",
        "osm",
        "gtfs",
        "population",
        "services",
        "jobs",
        "carpool",
        "qpv",
    }
    assert labels
    # OSM: the smallest extract containing the territory, clipped.
    assert len(server.hits("/europe/france/pays-de-la-loire-latest.osm.pbf")) == 1
    assert not server.hits("/europe/france-latest.osm.pbf")
    [osm] = result.files["osm"]
    assert osm.stat().st_size < (shared_data / NANTES_PBF).stat().st_size
    osm_record = next(r for r in result.records if r["kind"] == "osm" and not r.get("intermediate"))
    assert osm_record["derived_from"].endswith("pays-de-la-loire-latest.osm.pbf")
    clip_box = tuple(osm_record["clip_bbox"])
    assert shapely.box(*clip_box).contains(shapely.box(*BOX))
    assert_clipped(osm, shared_data / NANTES_PBF, clip_box)
    # GTFS: the datasets covering the territory, current resources only.
    assert sorted(p.name for p in result.files["gtfs"]) == [
        "gtfs_navibus-legacy_301.zip",
        "gtfs_reseau-tan_101.zip",
    ]
    for resource_id in (100, 102, 201, 401, 501):
        assert not server.hits(f"/resources/{resource_id}/download"), resource_id
    # Communes meeting the perimeter + buffer, as geo.api.gouv.fr sends them.
    [communes] = result.files["communes"]
    collection = json.loads(communes.read_text(encoding="utf-8"))
    assert sorted(f["properties"]["code"] for f in collection["features"]) == ["44109", "44162"]
    assert [p.name for p in result.files["jobs"]] == ["geo_siret_44.csv.gz"]
    assert [p.name for p in result.files["carpool"]] == ["bnlc.csv"]
    assert [p.name for p in result.files["qpv"]] == ["QP2024_France.zip"]
    assert [p.name for p in result.files["population"]] == ["Filosofi2019_carreaux_200m_gpkg.zip"]
    # Records for the manifest.
    provenance = result.provenance()
    for kind, paths in result.files.items():
        for path in paths:
            assert path.exists()
            assert str(path.resolve()) in provenance, kind
    for record in result.records:
        assert record["sha256"] == sha(Path(record["path"]).read_bytes())
        assert record["size_bytes"] == Path(record["path"]).stat().st_size
    gtfs = next(r for r in result.records if r["path"].endswith("gtfs_reseau-tan_101.zip"))
    assert gtfs["dataset_id"] == "reseau-tan" and gtfs["end_date"] == "2099-12-31"
    assert gtfs["match"] == "epci 244400404"
    assert gtfs["url"] == server.base + "/resources/101/download"
    assert cache.is_dir()

    # A second fetch revalidates everything and downloads nothing again.
    clipped_mtime = osm.stat().st_mtime_ns
    before = len(server.requests)
    again = fetch_sources(territory, ["all"], urls=urls)
    repeat = server.requests[before:]
    assert repeat and all(seen.status in (302, 304) for seen in repeat)
    assert all("if-none-match" in seen.headers for seen in repeat if seen.status == 304)
    assert {k: [p.name for p in v] for k, v in again.files.items()} == {
        k: [p.name for p in v] for k, v in result.files.items()
    }
    assert osm.stat().st_mtime_ns == clipped_mtime


def test_fetch_commune_contours(server: FixtureServer, tmp_path: Path) -> None:
    server.add("/communes", geo_api_communes, content_type="application/json")
    urls = SourceUrls(geo_api=server.base)
    frame, source = fetch_commune_contours(["44109", "44162"], cache_dir=tmp_path, urls=urls)
    assert source == server.base + "/communes"
    assert list(frame["insee"]) == ["44109", "44162"]
    assert list(frame["name"]) == ["Nantes", "Saint-Herblain"]
    assert set(frame["epci_siren"]) == {"244400404"}
    assert frame.crs == WGS84 and frame.geom_type.eq("Polygon").all()
    assert [h.query["code"] for h in server.hits("/communes")] == [["44109"], ["44162"]]
    with pytest.raises(InputError, match="99999"):
        fetch_commune_contours(["44109", "99999"], cache_dir=tmp_path, urls=urls)


def test_fetch_gtfs_for_a_territory_made_of_communes(
    server: FixtureServer, shared_data: Path, tmp_path: Path
) -> None:
    urls = serve_everything(server, shared_data)
    territory = make_territory(tmp_path, {"communes": ["44109"]})
    result = fetch_sources(
        territory,
        ["gtfs", "sirene"],
        urls=urls,
        cache_dir=tmp_path / "c",
        dest_dir=tmp_path / "fetched",
    )
    assert sorted(p.name for p in result.files["gtfs"]) == [
        "gtfs_navibus-legacy_301.zip",
        "gtfs_reseau-tan_101.zip",
    ]
    assert all(
        p.parent.parent == tmp_path / "fetched" or p.parent == tmp_path / "fetched"
        for paths in result.files.values()
        for p in paths
    )
    assert not result.warnings


# --------------------------------------------------------------------------- network


@pytest.mark.network
def test_real_geo_api_gouv_fr(tmp_path: Path) -> None:
    try:
        socket.create_connection(("geo.api.gouv.fr", 443), timeout=3).close()
    except OSError as exc:
        pytest.skip(f"no internet connection (geo.api.gouv.fr unreachable: {exc})")
    frame, _ = fetch_commune_contours(["44109"], cache_dir=tmp_path)
    assert frame.loc[0, "name"] == "Nantes"
    assert frame.loc[0, "epci_siren"] == "244400404"
