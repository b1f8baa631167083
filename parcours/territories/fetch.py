"""Downloading the official sources of a territory (on a connected machine).

``parcours territory fetch NAME --sources osm,gtfs,...`` resolves each source for the
territory's perimeter, downloads it into a cache and hands the files to the loader
(the CLI chains ``fetch`` and ``load``; this module never reads the data itself).

The downloader (:func:`download`, :func:`download_record`)
    streams with httpx into ``$PARCOURS_HOME/.cache/downloads/KEY/`` (``KEY`` is the
    sha256 of the URL). An interrupted download leaves ``KEY/partial``; the next
    attempt (in the same run, or the next run) asks for the rest with
    ``Range: bytes=N-`` and ``If-Range``; a server answering 200 instead of 206 means
    the file changed or ranges are unsupported, and the download restarts. ETag and
    Last-Modified are kept in ``KEY/entry.json``, so a second fetch sends
    ``If-None-Match`` / ``If-Modified-Since`` and a 304 answer is served from the
    cache. The sha256 of every file is computed while it streams and compared with
    the expected one when given. No connection at all is reported by a
    :class:`~parcours.errors.DownloadError` that says how to work offline; a file
    already in the cache is then used as it is (``stale``).

Where each source comes from (see :class:`SourceUrls`, every URL overridable)
    ========== =========== ===============================================================
    source     loader kind origin
    ========== =========== ===============================================================
    osm        osm         smallest Geofabrik extract containing the perimeter + buffer,
                           clipped to its bounding box with pyosmium (:func:`clip_pbf`)
    overpass   osm         the Overpass API (osmnx), for small perimeters: the streets and
                           POIs of the perimeter + buffer written as an ``.osm.pbf``
                           (:mod:`parcours.territories.overpass`); not part of ``all``,
                           and exclusive with ``osm``
    gtfs       gtfs        transport.data.gouv.fr ``/api/datasets``: the ``public-transit``
                           datasets whose covered area meets the territory
    filosofi   population  INSEE Filosofi 2019, 200 m grid (national zip)
    bpe        services    INSEE BPE (national zip)
    sirene     jobs        geolocated SIRENE per département (``geo_siret_DEP.csv.gz``)
    bnlc       carpool     transport.data.gouv.fr consolidated BNLC CSV
    qpv        qpv         ANCT QPV 2024 contours (data.gouv.fr zip)
    communes   communes    geo.api.gouv.fr contours of the communes meeting the perimeter
    ========== =========== ===============================================================

Response shapes relied on
    Geofabrik ``index-v1.json``
        GeoJSON ``FeatureCollection``; each feature has ``properties.id``,
        ``properties.parent`` (absent at the top), ``properties.urls.pbf`` and a
        (Multi)Polygon geometry in WGS84 (https://download.geofabrik.de/technical.html).
    transport.data.gouv.fr ``GET /api/datasets``
        A JSON list of datasets (the site's ``DatasetController``, OpenAPI at
        ``/swaggerui``): ``id`` (= ``datagouv_id``), ``slug``, ``title``, ``type``
        (``public-transit``, ``bike-scooter-sharing``, ``carpooling-areas`` ...),
        ``covered_area`` and ``resources``. Since 2024 ``covered_area`` is a list of
        administrative divisions ``{"type": "commune" | "epci" | "departement" |
        "region" | "pays", "insee": CODE, "nom": NAME}`` (the EPCI code is its SIREN).
        Earlier it was one object ``{"type": "aom", "aom": {"name", "siren"}}``,
        ``{"type": "cities", "cities": [{"name", "insee"}]}``, ``{"type": "region",
        "region": {"name"}}`` or ``{"type": "country"}``, beside a top-level ``aom``
        ``{"name", "siren"}``: both are understood, AOMs through ``GET /api/aoms?lon=
        &lat=`` (one AOM object ``{"nom", "siren", "insee_commune_principale",
        "departement", "forme_juridique"}``). The list carries no geometry, hence the
        matching by codes. A resource has ``id``, ``format`` (``GTFS``, ``gbfs``,
        ``NeTEx``, ``gtfs-rt`` ...), ``url`` (stable transport.data.gouv.fr address),
        ``original_url``, ``title``, ``is_available``, ``updated`` and, for validated
        GTFS, ``metadata.start_date`` / ``metadata.end_date`` (``YYYY-MM-DD``; also
        ``start_calendar_validity`` / ``end_calendar_validity`` in older answers).
    geo.api.gouv.fr ``GET /communes``
        With ``format=geojson&geometry=contour`` a ``FeatureCollection`` whose
        properties are the requested ``fields``: ``nom``, ``code``, ``codeEpci``,
        ``epci`` (``{"code", "nom"}``), ``codeDepartement``, ``codeRegion``,
        ``population``. With ``lat`` and ``lon`` (and the default ``format=json``) a
        JSON list of the communes containing the point (https://geo.api.gouv.fr/decoupage-administratif).

Concurrent runs downloading the same URL into the same cache are not coordinated.
"""

from __future__ import annotations

import contextlib
import email.message
import gzip
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import geopandas as gpd
import httpx
import numpy as np
import shapely
from shapely.geometry import shape

from parcours import __version__
from parcours.errors import DownloadError, InputError
from parcours.geo.crs import WGS84
from parcours.i18n import tr
from parcours.territories.readers._base import ProgressFn, _no_progress
from parcours.territories.workspace import Territory, default_home

__all__ = [
    "SOURCE_KINDS_BY_NAME",
    "SOURCE_NAMES",
    "DownloadRecord",
    "FetchResult",
    "SourceUrls",
    "clip_pbf",
    "default_cache_dir",
    "departement_of",
    "download",
    "download_record",
    "fetch_commune_contours",
    "fetch_sources",
]

#: The sources ``parcours territory fetch --sources`` accepts, in download order.
SOURCE_NAMES: tuple[str, ...] = (
    "communes",
    "osm",
    "overpass",
    "gtfs",
    "filosofi",
    "bpe",
    "sirene",
    "bnlc",
    "qpv",
)

#: Source name -> the loader's source kind (``parcours territory load`` option).
SOURCE_KINDS_BY_NAME: dict[str, str] = {
    "communes": "communes",
    "osm": "osm",
    "overpass": "osm",
    "gtfs": "gtfs",
    "filosofi": "population",
    "bpe": "services",
    "sirene": "jobs",
    "bnlc": "carpool",
    "qpv": "qpv",
}

#: Sources that ``all`` leaves out (an alternative to another source of the same kind).
_NOT_IN_ALL: frozenset[str] = frozenset({"overpass"})
#: Sources producing the same loader kind, of which one only may be chosen.
_EXCLUSIVE: tuple[tuple[str, str], ...] = (("osm", "overpass"),)

_USER_AGENT = f"parcours/{__version__} (inclusive-mobility territorial diagnostics)"
_COMMUNE_FIELDS = "nom,code,codeEpci,epci,codeDepartement,codeRegion,region,population"
_PER_CODE_LIMIT = 10  # above, commune contours are asked per département
_BOUNDARY_SAMPLES = 12  # points of the perimeter's outline used to find its départements
_AOM_SAMPLES = 5  # points where the AOMs are looked up (legacy dataset shape only)


def _env_url(source: str, default: str) -> Callable[[], str]:
    def factory() -> str:
        return os.environ.get(f"PARCOURS_URL_{source}") or default

    return factory


@dataclass(frozen=True)
class SourceUrls:
    """Where each source is downloaded from.

    Every field defaults to the environment variable ``PARCOURS_URL_<NAME>`` (name in
    upper case, e.g. ``PARCOURS_URL_GEO_API``), else to the official address below;
    a constructor argument wins over both.

    Attributes
    ----------
    geofabrik_index
        Geofabrik's index of extracts (GeoJSON with the extract polygons and URLs).
    transport_api
        transport.data.gouv.fr API root (``/datasets`` and ``/aoms`` are appended).
    geo_api
        geo.api.gouv.fr root (``/communes`` is appended).
    filosofi
        INSEE Filosofi 2019, 200 m grid, GeoPackage in a zip (insee.fr page 7655475).
    bpe
        INSEE Base permanente des équipements, national zip (insee.fr page 8217525).
    sirene
        Geolocated SIRENE establishments per département; ``{dep}`` is replaced by
        the département code (``44``, ``2A``, ``974``).
    bnlc
        Base nationale des lieux de covoiturage, consolidated CSV.
    qpv
        Quartiers prioritaires 2024 contours (ANCT, data.gouv.fr), a zip.
    overpass
        Overpass API root (``/interpreter`` and ``/status`` are appended), for the
        ``overpass`` source.

    """

    geofabrik_index: str = field(
        default_factory=_env_url("GEOFABRIK_INDEX", "https://download.geofabrik.de/index-v1.json")
    )
    transport_api: str = field(
        default_factory=_env_url("TRANSPORT_API", "https://transport.data.gouv.fr/api")
    )
    geo_api: str = field(default_factory=_env_url("GEO_API", "https://geo.api.gouv.fr"))
    filosofi: str = field(
        default_factory=_env_url(
            "FILOSOFI",
            "https://www.insee.fr/fr/statistiques/fichier/7655475/Filosofi2019_carreaux_200m_gpkg.zip",
        )
    )
    bpe: str = field(
        default_factory=_env_url(
            "BPE", "https://www.insee.fr/fr/statistiques/fichier/8217525/BPE24.zip"
        )
    )
    sirene: str = field(
        default_factory=_env_url(
            "SIRENE", "https://files.data.gouv.fr/geo-sirene/last/dep/geo_siret_{dep}.csv.gz"
        )
    )
    bnlc: str = field(
        default_factory=_env_url("BNLC", "https://transport.data.gouv.fr/resources/81372/download")
    )
    qpv: str = field(
        default_factory=_env_url(
            "QPV",
            "https://www.data.gouv.fr/api/1/datasets/r/942d4ee8-8142-4556-8ea1-335537ce1119",
        )
    )
    overpass: str = field(default_factory=_env_url("OVERPASS", "https://overpass-api.de/api"))


def default_cache_dir(home: Path | None = None) -> Path:
    """Return the download cache folder: ``$PARCOURS_HOME/.cache/downloads``."""
    return (home if home is not None else default_home()) / ".cache" / "downloads"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------- download


@dataclass(frozen=True)
class DownloadRecord:
    """One downloaded file, as recorded in the manifest.

    Attributes
    ----------
    url
        The address asked for.
    path
        The file (in the destination folder, or in the cache without one).
    sha256
        Its sha256 (hex).
    size_bytes
        Its size.
    retrieved
        When its content was downloaded (ISO 8601, UTC).
    from_cache
        Served from the cache (checked unchanged by the server, or known by checksum).
    stale
        Served from the cache without checking, because the server could not be reached.
    etag, last_modified
        The server's validators, when it sent them.

    """

    url: str
    path: Path
    sha256: str
    size_bytes: int
    retrieved: str
    from_cache: bool = False
    stale: bool = False
    etag: str | None = None
    last_modified: str | None = None

    def manifest_entry(self) -> dict[str, Any]:
        """Return the record as a JSON-ready dict (``url``, ``path``, ``sha256``...)."""
        entry: dict[str, Any] = {
            "url": self.url,
            "path": str(self.path.resolve()),
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "retrieved": self.retrieved,
            "from_cache": self.from_cache,
        }
        if self.stale:
            entry["stale"] = True
        return entry


class _RetryableError(Exception):
    """A transient failure: try again (resuming when possible)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _offline_error(url: str, exc: Exception) -> DownloadError:
    host = urlsplit(url).netloc or url
    return DownloadError(
        tr(
            f"pas de connexion internet (ou serveur injoignable : {host}) : téléchargez les "
            "fichiers sur une machine connectée puis utilisez « parcours territory load NOM "
            f"--osm ... --gtfs ... » sur celle-ci ({type(exc).__name__})",
            f"no internet connection (or server unreachable: {host}): download the files on a "
            "connected machine, then use 'parcours territory load NAME --osm ... --gtfs ...' "
            f"on this one ({type(exc).__name__})",
        )
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _safe_name(name: str | None) -> str | None:
    if not name:
        return None
    base = Path(unquote(name).replace("\\", "/")).name.strip()
    if base in ("", ".", ".."):
        return None
    return "".join(c if c.isprintable() and c not in '<>:"|?*' else "_" for c in base)


def _name_from_response(response: httpx.Response) -> str | None:
    disposition = response.headers.get("content-disposition")
    if disposition:
        message = email.message.Message()
        message["content-disposition"] = disposition
        name = _safe_name(message.get_filename())
        if name:
            return name
    return _safe_name(response.url.path.rsplit("/", 1)[-1])


class _CacheEntry:
    """The cache folder of one URL: ``entry.json`` + the file, or ``partial`` + ``partial.json``."""

    def __init__(self, cache_dir: Path, url: str) -> None:
        self.url = url
        self.folder = Path(cache_dir) / hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
        self.meta_path = self.folder / "entry.json"
        self.part = self.folder / "partial"
        self.part_meta_path = self.folder / "partial.json"

    def complete(self) -> dict[str, Any] | None:
        """Return the metadata of the complete cached file, if it is present and whole."""
        meta = _read_json(self.meta_path)
        if not meta or meta.get("url") != self.url or not meta.get("name"):
            return None
        data = self.folder / meta["name"]
        try:
            stat = data.stat()
        except OSError:
            return None
        if stat.st_size != meta.get("size_bytes"):
            return None
        if stat.st_mtime_ns != meta.get("mtime_ns"):
            # Touched since it was recorded: check the content once more.
            if _sha256_of(data) != meta.get("sha256"):
                return None
            meta["mtime_ns"] = stat.st_mtime_ns
            _write_json(self.meta_path, meta)
        return meta

    def data_path(self, meta: Mapping[str, Any]) -> Path:
        return self.folder / str(meta["name"])

    def partial_state(self) -> tuple[int, dict[str, Any]]:
        """Bytes already in ``partial`` and its validators (0 and {} when there is none)."""
        meta = _read_json(self.part_meta_path)
        if not meta or meta.get("url") != self.url or not self.part.exists():
            self.drop_partial()
            return 0, {}
        return self.part.stat().st_size, meta

    def drop_partial(self) -> None:
        self.part.unlink(missing_ok=True)
        self.part_meta_path.unlink(missing_ok=True)


def _record(entry: _CacheEntry, meta: Mapping[str, Any], **flags: bool) -> DownloadRecord:
    return DownloadRecord(
        url=entry.url,
        path=entry.data_path(meta),
        sha256=str(meta["sha256"]),
        size_bytes=int(meta["size_bytes"]),
        retrieved=str(meta.get("retrieved", "")),
        etag=meta.get("etag"),
        last_modified=meta.get("last_modified"),
        **flags,
    )


def _place(record: DownloadRecord, dest_dir: Path | None, filename: str | None) -> DownloadRecord:
    """Hard-link (or copy) the cached file into ``dest_dir``."""
    if dest_dir is None:
        return record
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / (filename or record.path.name)
    if target.exists():
        with contextlib.suppress(OSError):
            if target.samefile(record.path):
                return _replace_path(record, target)
        target.unlink()
    try:
        os.link(record.path, target)
    except OSError:
        shutil.copy2(record.path, target)
    return _replace_path(record, target)


def _replace_path(record: DownloadRecord, path: Path) -> DownloadRecord:
    return DownloadRecord(
        url=record.url,
        path=path,
        sha256=record.sha256,
        size_bytes=record.size_bytes,
        retrieved=record.retrieved,
        from_cache=record.from_cache,
        stale=record.stale,
        etag=record.etag,
        last_modified=record.last_modified,
    )


def _make_client(timeout_s: float) -> httpx.Client:
    return httpx.Client(
        follow_redirects=True,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0)),
        headers={"User-Agent": _USER_AGENT},
    )


def download_record(
    url: str,
    dest_dir: Path | None = None,
    *,
    cache_dir: Path,
    expected_sha256: str | None = None,
    filename: str | None = None,
    progress: ProgressFn | None = None,
    label: str | None = None,
    client: httpx.Client | None = None,
    retries: int = 3,
    retry_wait_s: float = 1.0,
    timeout_s: float = 60.0,
) -> DownloadRecord:
    """Download a URL through the cache and describe the file obtained.

    Parameters
    ----------
    url
        The address (redirects are followed).
    dest_dir
        Folder receiving the file (hard link to the cached copy); ``None`` leaves it in
        the cache only.
    cache_dir
        The download cache (:func:`default_cache_dir`).
    expected_sha256
        The file's known sha256: a cached copy with that checksum is used without any
        request, and a download with another checksum is refused.
    filename
        The file's name; default: the server's ``Content-Disposition``, else the last
        segment of the final URL.
    progress
        Called with ``(label, fraction)``; the fraction is None when the size is unknown.
    label
        The label given to ``progress`` (default: the file name).
    client
        An httpx client to use (one is created otherwise).
    retries
        How many times an interrupted transfer or a 5xx/429 answer is retried
        (resuming where it stopped).
    retry_wait_s
        Pause before a retry, multiplied by the attempt number, in seconds.
    timeout_s
        Network timeout (connect at most 15 s), in seconds, when no client is given.

    Returns
    -------
    DownloadRecord
        The file, its sha256 and size, and whether it came from the cache.

    Raises
    ------
    DownloadError
        No connection (and nothing cached), an HTTP error, a checksum mismatch, or a
        transfer still interrupted after ``retries`` attempts (run again to resume).

    """
    entry = _CacheEntry(cache_dir, url)
    entry.folder.mkdir(parents=True, exist_ok=True)
    report = progress or _no_progress
    wanted = expected_sha256.lower() if expected_sha256 else None
    cached = entry.complete()
    if cached is not None and wanted is not None:
        if cached["sha256"] == wanted:
            return _place(_record(entry, cached, from_cache=True), dest_dir, filename)
        cached = None  # another version is wanted: download afresh
    owned = client is None
    http = client if client is not None else _make_client(timeout_s)
    try:
        attempt = 0
        while True:
            try:
                record = _attempt(
                    http, entry, cached, wanted, filename=filename, report=report, label=label
                )
                return _place(record, dest_dir, filename)
            except _RetryableError as retry:
                attempt += 1
                if attempt > retries:
                    raise DownloadError(
                        tr(
                            f"téléchargement interrompu ({retry.reason}) : {url} ; relancez "
                            "la commande, il reprendra où il s'est arrêté",
                            f"download interrupted ({retry.reason}): {url}; run the command "
                            "again, it will resume where it stopped",
                        )
                    ) from None
                time.sleep(retry_wait_s * attempt)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
                if isinstance(exc, httpx.UnsupportedProtocol):
                    raise DownloadError(
                        tr(f"adresse invalide : {url}", f"invalid address: {url}")
                    ) from exc
                if cached is not None:
                    record = _record(entry, cached, from_cache=True, stale=True)
                    return _place(record, dest_dir, filename)
                raise _offline_error(url, exc) from exc
            except httpx.HTTPError as exc:
                raise DownloadError(
                    tr(
                        f"échec du téléchargement de {url} : {exc}",
                        f"download of {url} failed: {exc}",
                    )
                ) from exc
    finally:
        if owned:
            http.close()


def _attempt(
    http: httpx.Client,
    entry: _CacheEntry,
    cached: dict[str, Any] | None,
    wanted: str | None,
    *,
    filename: str | None,
    report: ProgressFn,
    label: str | None,
) -> DownloadRecord:
    """One request: 304 -> cache, 206 -> append to ``partial``, 200 -> (re)start it."""
    offset, part_meta = entry.partial_state()
    headers = {"Accept-Encoding": "identity"}
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
        validator = part_meta.get("etag") or part_meta.get("last_modified")
        if validator:
            headers["If-Range"] = validator
    elif cached is not None:
        if cached.get("etag"):
            headers["If-None-Match"] = cached["etag"]
        if cached.get("last_modified"):
            headers["If-Modified-Since"] = cached["last_modified"]
    try:
        with http.stream("GET", entry.url, headers=headers) as response:
            status = response.status_code
            if status == 304 and cached is not None:
                return _record(entry, cached, from_cache=True)
            if status == 416 and offset > 0:
                entry.drop_partial()
                raise _RetryableError("HTTP 416")
            if status == 429 or status >= 500:
                raise _RetryableError(f"HTTP {status}")
            if status >= 400 or status not in (200, 206):
                raise DownloadError(
                    tr(
                        f"le serveur a répondu {status} pour {entry.url}",
                        f"the server answered {status} for {entry.url}",
                    )
                )
            resuming = status == 206 and offset > 0 and _range_start(response) == offset
            if not resuming:
                if status == 206:  # a range we did not ask for: start again without one
                    entry.drop_partial()
                    raise _RetryableError("HTTP 206")
                offset = 0
                part_meta = {
                    "url": entry.url,
                    "name": _safe_name(filename) or _name_from_response(response) or "download",
                    "etag": response.headers.get("etag"),
                    "last_modified": response.headers.get("last-modified"),
                    "started": _now(),
                }
                _write_json(entry.part_meta_path, part_meta)
            total = _expected_total(response, offset)
            name = str(part_meta.get("name") or "download")
            shown = label or name
            digest = hashlib.sha256()
            if resuming:
                with entry.part.open("rb") as done:
                    for chunk in iter(lambda: done.read(1 << 20), b""):
                        digest.update(chunk)
            written = offset
            last_fraction = -1.0
            report(shown, (written / total) if total else None)
            with entry.part.open("ab" if resuming else "wb") as out:
                for chunk in response.iter_bytes():  # as received: nothing held back on a cut
                    out.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
                    if total:
                        fraction = min(written / total, 1.0)
                        if fraction - last_fraction >= 0.01:
                            report(shown, fraction)
                            last_fraction = fraction
            if total and written != total:
                raise _RetryableError(f"{written} / {total} bytes")
            report(shown, 1.0)
    except (
        httpx.ReadError,
        httpx.RemoteProtocolError,
        httpx.ReadTimeout,
        httpx.WriteError,
        httpx.PoolTimeout,
        httpx.WriteTimeout,
    ) as exc:
        raise _RetryableError(type(exc).__name__) from exc
    sha = digest.hexdigest()
    if wanted is not None and sha != wanted:
        entry.drop_partial()
        raise DownloadError(
            tr(
                f"somme de contrôle inattendue pour {entry.url} : sha256 {sha}, attendu {wanted}",
                f"unexpected checksum for {entry.url}: sha256 {sha}, expected {wanted}",
            )
        )
    return _commit(entry, part_meta, sha, written, cached)


def _range_start(response: httpx.Response) -> int | None:
    value = response.headers.get("content-range", "")
    try:
        unit, spec = value.split(" ", 1)
        return int(spec.split("-", 1)[0]) if unit.strip().lower() == "bytes" else None
    except ValueError:
        return None


def _expected_total(response: httpx.Response, offset: int) -> int | None:
    length = response.headers.get("content-length")
    if length is None or response.headers.get("content-encoding", "identity") != "identity":
        return None
    try:
        return offset + int(length)
    except ValueError:
        return None


def _commit(
    entry: _CacheEntry,
    part_meta: Mapping[str, Any],
    sha: str,
    size: int,
    previous: Mapping[str, Any] | None,
) -> DownloadRecord:
    name = str(part_meta.get("name") or "download")
    if name in ("entry.json", "partial", "partial.json"):
        name = f"file-{name}"
    target = entry.folder / name
    if previous is not None and previous.get("name") != name:
        (entry.folder / str(previous["name"])).unlink(missing_ok=True)
    entry.part.replace(target)
    meta = {
        "url": entry.url,
        "name": name,
        "sha256": sha,
        "size_bytes": size,
        "mtime_ns": target.stat().st_mtime_ns,
        "etag": part_meta.get("etag"),
        "last_modified": part_meta.get("last_modified"),
        "retrieved": _now(),
    }
    _write_json(entry.meta_path, meta)
    entry.part_meta_path.unlink(missing_ok=True)
    return _record(entry, meta)


def download(
    url: str,
    dest_dir: Path | None = None,
    *,
    cache_dir: Path,
    expected_sha256: str | None = None,
    progress: ProgressFn | None = None,
    filename: str | None = None,
    client: httpx.Client | None = None,
    retries: int = 3,
    retry_wait_s: float = 1.0,
    timeout_s: float = 60.0,
) -> Path:
    """Download a URL through the cache and return the file's path.

    The same as :func:`download_record` (see it for the parameters), returning only
    the path.
    """
    return download_record(
        url,
        dest_dir,
        cache_dir=cache_dir,
        expected_sha256=expected_sha256,
        progress=progress,
        filename=filename,
        client=client,
        retries=retries,
        retry_wait_s=retry_wait_s,
        timeout_s=timeout_s,
    ).path


# --------------------------------------------------------------------------- results


@dataclass
class FetchResult:
    """What :func:`fetch_sources` obtained.

    Attributes
    ----------
    files
        Loader source kind (``osm``, ``gtfs``, ``population``, ``services``, ``jobs``,
        ``carpool``, ``qpv``, ``communes``) -> files, ready for ``load_sources``.
    records
        One JSON-ready record per file obtained: ``source`` (fetch name), ``kind``,
        ``url``, ``path``, ``sha256``, ``size_bytes``, ``retrieved``, ``from_cache``,
        plus source facts (GTFS dataset, the extract an OSM file was clipped from...).
        Intermediate downloads (the Geofabrik extract, the API answers) are recorded
        too, with ``intermediate: true``.
    warnings
        Non-fatal problems (already translated).

    """

    files: dict[str, list[Path]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def provenance(self) -> dict[str, dict[str, Any]]:
        """Map each resolved path to the facts recorded beside its digest (``load_sources``)."""
        facts: dict[str, dict[str, Any]] = {}
        for record in self.records:
            if record.get("intermediate"):
                continue
            extra = {k: v for k, v in record.items() if k not in ("path", "sha256", "size_bytes")}
            facts[str(Path(record["path"]).resolve())] = extra
        return facts

    def _add(
        self,
        source: str,
        path: Path,
        record: Mapping[str, Any],
        *,
        intermediate: bool = False,
    ) -> None:
        entry = {"source": source, "kind": SOURCE_KINDS_BY_NAME[source], **record}
        if intermediate:
            entry["intermediate"] = True
        else:
            self.files.setdefault(SOURCE_KINDS_BY_NAME[source], []).append(path)
        self.records.append(entry)


def _file_record(path: Path, url: str | None, **extra: Any) -> dict[str, Any]:
    stat = path.stat()
    record: dict[str, Any] = {
        "url": url,
        "path": str(path.resolve()),
        "sha256": _sha256_of(path),
        "size_bytes": stat.st_size,
        "retrieved": _now(),
    }
    record.update(extra)
    return record


def _remove_others(folder: Path, pattern: str, *, keep: Sequence[Path]) -> None:
    """Delete the files of an earlier fetch that this one replaced."""
    if not folder.is_dir():
        return
    kept = {path.name for path in keep}
    for path in folder.glob(pattern):
        if path.name not in kept and path.is_file():
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- context


@dataclass
class _Fetcher:
    """Shared state of one fetch: client, cache, progress, warnings."""

    urls: SourceUrls
    cache_dir: Path
    client: httpx.Client
    progress: ProgressFn
    result: FetchResult
    retries: int = 3
    retry_wait_s: float = 1.0

    def get(
        self,
        url: str,
        dest_dir: Path | None = None,
        *,
        filename: str | None = None,
        label: str | None = None,
    ) -> DownloadRecord:
        record = download_record(
            url,
            dest_dir,
            cache_dir=self.cache_dir,
            filename=filename,
            progress=self.progress,
            label=label,
            client=self.client,
            retries=self.retries,
            retry_wait_s=self.retry_wait_s,
        )
        if record.stale:
            self.result.warnings.append(
                tr(
                    f"hors ligne : copie en cache du {record.retrieved} utilisée pour {url}",
                    f"offline: the copy cached on {record.retrieved} is used for {url}",
                )
            )
        return record

    def get_json(self, url: str, *, filename: str, label: str) -> Any:
        record = self.get(url, filename=filename, label=label)
        return _load_json_file(record.path, url)


def _url(base: str, path: str, params: Mapping[str, Any] | None = None) -> str:
    url = base.rstrip("/") + path
    if params:
        url += ("&" if "?" in url else "?") + urlencode(params, safe=",")
    return url


# --------------------------------------------------------------------------- communes


def departement_of(code: str) -> str:
    """Return the département of a commune code (``44109`` -> ``44``, ``97411`` -> ``974``)."""
    code = code.strip().upper()
    return code[:3] if code.startswith("97") else code[:2]


@dataclass
class _AdminUnits:
    """The administrative units meeting a territory (from geo.api.gouv.fr)."""

    features: list[dict[str, Any]]
    communes: set[str]
    epcis: set[str]
    departements: set[str]
    regions: set[str]
    region_names: set[str]
    urls: list[str]


def _feature_props(feature: Mapping[str, Any]) -> dict[str, Any]:
    props = feature.get("properties") or {}
    return dict(props) if isinstance(props, Mapping) else {}


def _epci_of(props: Mapping[str, Any]) -> tuple[str | None, str | None]:
    epci = props.get("epci")
    code = props.get("codeEpci")
    name = None
    if isinstance(epci, Mapping):
        code = code or epci.get("code")
        name = epci.get("nom")
    return (str(code) if code else None), (str(name) if name else None)


def _sample_points(area: shapely.Geometry) -> list[tuple[float, float]]:
    """Pick a point inside the area and points along its outline (WGS84 lon, lat)."""
    inside = area.representative_point()
    points = [(inside.x, inside.y)]
    coords = shapely.get_coordinates(area.boundary)
    if len(coords):
        picks = np.unique(np.linspace(0, len(coords) - 1, _BOUNDARY_SAMPLES).astype(int))
        points.extend((float(coords[i, 0]), float(coords[i, 1])) for i in picks)
    seen: set[tuple[float, float]] = set()
    unique = []
    for lon, lat in points:
        key = (round(lon, 5), round(lat, 5))
        if key not in seen:
            seen.add(key)
            unique.append(key)
    return unique


def _admin_units(fetcher: _Fetcher, territory: Territory, area: shapely.Geometry) -> _AdminUnits:
    """Find the communes meeting ``area`` (WGS84): their départements, EPCIs, régions."""
    geo = fetcher.urls.geo_api
    label = tr("communes du territoire (geo.api.gouv.fr)", "territory communes (geo.api.gouv.fr)")
    departements: set[str] = set()
    listed = [str(c) for c in territory.definition.get("communes", [])]
    departements.update(departement_of(c) for c in listed)
    urls: list[str] = []
    for lon, lat in _sample_points(area):
        url = _url(
            geo,
            "/communes",
            {
                "lat": f"{lat:.5f}",
                "lon": f"{lon:.5f}",
                "fields": "code,codeDepartement",
                "format": "json",
            },
        )
        answer = fetcher.get_json(url, filename="communes-at-point.json", label=label)
        for commune in answer if isinstance(answer, list) else []:
            if isinstance(commune, Mapping):
                dep = commune.get("codeDepartement") or (
                    departement_of(str(commune["code"])) if commune.get("code") else None
                )
                if dep:
                    departements.add(str(dep))
    features: list[dict[str, Any]] = []
    seen: set[str] = set()
    for dep in sorted(departements):
        url = _url(
            geo,
            "/communes",
            {
                "codeDepartement": dep,
                "format": "geojson",
                "geometry": "contour",
                "fields": _COMMUNE_FIELDS,
            },
        )
        record = fetcher.get(url, filename=f"communes-{dep}.geojson", label=label)
        urls.append(url)
        collection = _load_json_file(record.path, url)
        for feature in collection.get("features", []) if isinstance(collection, dict) else []:
            props = _feature_props(feature)
            code = str(props.get("code", ""))
            if not code or code in seen or not feature.get("geometry"):
                continue
            if shape(feature["geometry"]).intersects(area) or code in listed:
                seen.add(code)
                features.append(feature)
    if not features:
        raise DownloadError(
            tr(
                "geo.api.gouv.fr n'a renvoyé aucune commune pour ce périmètre (hors de France ?)",
                "geo.api.gouv.fr returned no commune for this perimeter (outside France?)",
            )
        )
    missing = sorted(set(listed) - seen)
    if missing:
        fetcher.result.warnings.append(
            tr(
                f"communes introuvables sur geo.api.gouv.fr : {', '.join(missing)}",
                f"communes not found on geo.api.gouv.fr: {', '.join(missing)}",
            )
        )
    props_list = [_feature_props(f) for f in features]
    return _AdminUnits(
        features=features,
        communes={str(p["code"]) for p in props_list},
        epcis={e for p in props_list if (e := _epci_of(p)[0])},
        departements={
            str(p.get("codeDepartement") or departement_of(str(p["code"]))) for p in props_list
        },
        regions={str(p["codeRegion"]) for p in props_list if p.get("codeRegion")},
        region_names={
            str(p["region"]["nom"]).casefold()
            for p in props_list
            if isinstance(p.get("region"), Mapping) and p["region"].get("nom")
        },
        urls=urls,
    )


def _load_json_file(path: Path, url: str) -> Any:
    try:
        return json.loads(path.read_bytes())
    except ValueError as exc:
        raise DownloadError(
            tr(
                f"réponse illisible (JSON attendu) de {url} : {exc}",
                f"unreadable answer (JSON expected) from {url}: {exc}",
            )
        ) from exc


def fetch_commune_contours(
    codes: Sequence[str],
    *,
    cache_dir: Path,
    urls: SourceUrls | None = None,
    client: httpx.Client | None = None,
    progress: ProgressFn | None = None,
) -> tuple[gpd.GeoDataFrame, str]:
    """Download commune contours by INSEE code from geo.api.gouv.fr.

    Parameters
    ----------
    codes
        INSEE commune codes (``44109``, ``2A004``).
    cache_dir
        The download cache.
    urls
        Source addresses (``geo_api`` is used).
    client
        An httpx client to use.
    progress
        Progress callback.

    Returns
    -------
    tuple[geopandas.GeoDataFrame, str]
        The contours in WGS84 with the columns ``insee``, ``name``, ``epci_siren``,
        ``epci_name``, ``population`` (the ``communes`` layer's names), and the source
        address to record.

    Raises
    ------
    InputError
        When some codes are unknown to geo.api.gouv.fr.
    DownloadError
        Offline or on a server error.

    """
    urls = urls or SourceUrls()
    wanted = [c.strip().upper() for c in codes]
    owned = client is None
    http = client if client is not None else _make_client(60.0)
    fetcher = _Fetcher(urls, Path(cache_dir), http, progress or _no_progress, FetchResult())
    label = tr("contours des communes (geo.api.gouv.fr)", "commune contours (geo.api.gouv.fr)")
    queries: list[dict[str, str]]
    if len(wanted) <= _PER_CODE_LIMIT:
        queries = [{"code": c} for c in wanted]
    else:
        queries = [{"codeDepartement": d} for d in sorted({departement_of(c) for c in wanted})]
    found: dict[str, dict[str, Any]] = {}
    try:
        for query in queries:
            params = {
                **query,
                "format": "geojson",
                "geometry": "contour",
                "fields": _COMMUNE_FIELDS,
            }
            url = _url(urls.geo_api, "/communes", params)
            answer = fetcher.get_json(url, filename="communes.geojson", label=label)
            for feature in answer.get("features", []) if isinstance(answer, dict) else []:
                code = str(_feature_props(feature).get("code", "")).upper()
                if code in wanted and feature.get("geometry"):
                    found.setdefault(code, feature)
    finally:
        if owned:
            http.close()
    missing = [c for c in wanted if c not in found]
    if missing:
        raise InputError(
            tr(
                f"codes INSEE inconnus de geo.api.gouv.fr : {', '.join(missing)} (communes "
                "fusionnées ? utilisez le code de la commune nouvelle)",
                f"INSEE codes unknown to geo.api.gouv.fr: {', '.join(missing)} (merged "
                "communes? use the new commune's code)",
            ),
            field="communes",
        )
    rows = []
    for code in wanted:
        props = _feature_props(found[code])
        epci_siren, epci_name = _epci_of(props)
        population = props.get("population")
        rows.append(
            {
                "insee": code,
                "name": props.get("nom"),
                "epci_siren": epci_siren,
                "epci_name": epci_name,
                "population": int(population) if isinstance(population, int | float) else None,
                "geometry": shape(found[code]["geometry"]),
            }
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)
    frame["population"] = frame["population"].astype("Int64")
    return frame, _url(urls.geo_api, "/communes")


def _write_communes(fetcher: _Fetcher, units: _AdminUnits, dest_dir: Path) -> None:
    path = dest_dir / "communes.geojson"
    collection = {"type": "FeatureCollection", "features": units.features}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    record = _file_record(
        path,
        units.urls[0] if len(units.urls) == 1 else None,
        derived_from=units.urls,
        communes=len(units.features),
    )
    fetcher.result._add("communes", path, record)


# --------------------------------------------------------------------------- OSM


def _pick_extract(index: Mapping[str, Any], area: shapely.Geometry) -> tuple[str, str]:
    """Find the smallest Geofabrik extract whose polygon contains ``area``: (id, pbf URL)."""
    best: tuple[float, str, str] | None = None
    for feature in index.get("features", []) or []:
        props = _feature_props(feature)
        pbf = (props.get("urls") or {}).get("pbf")
        if not pbf or not feature.get("geometry"):
            continue
        polygon = shape(feature["geometry"])
        if not polygon.contains(area):
            continue
        size = polygon.area
        if best is None or size < best[0]:
            best = (size, str(props.get("id", "")), str(pbf))
    if best is None:
        raise InputError(
            tr(
                "aucun extrait Geofabrik ne couvre tout le territoire : téléchargez un fichier "
                ".osm.pbf vous-même et chargez-le avec « parcours territory load NOM --osm »",
                "no Geofabrik extract covers the whole territory: download an .osm.pbf file "
                "yourself and load it with 'parcours territory load NAME --osm'",
            ),
            field="sources",
        )
    return best[1], best[2]


def clip_pbf(
    source: Path,
    target: Path,
    bbox: tuple[float, float, float, float],
    *,
    progress: ProgressFn | None = None,
) -> dict[str, int]:
    """Cut an OSM PBF to a bounding box, keeping whole ways.

    The strategy of ``osmium extract --strategy complete_ways``, in two passes of
    pyosmium: the first pass keeps the nodes inside the box, the ways having at least
    one of them (with all their nodes) and the relations having a kept node or way as
    a member (their other members are not added); the second pass writes those
    objects, in the input order, with the box in the header.

    Parameters
    ----------
    source
        The input ``.osm.pbf``.
    target
        The output ``.osm.pbf`` (replaced).
    bbox
        ``(min lon, min lat, max lon, max lat)`` in WGS84.
    progress
        Progress callback.

    Returns
    -------
    dict[str, int]
        Objects written per type (``nodes``, ``ways``, ``relations``).

    """
    import osmium

    report = progress or _no_progress
    x0, y0, x1, y1 = bbox
    inside: set[int] = set()
    nodes: set[int] = set()
    ways: set[int] = set()
    relations: set[int] = set()
    label = tr("découpage OSM", "clipping OSM")
    report(label, 0.0)
    entities = osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION
    for obj in osmium.FileProcessor(str(source), entities):
        if isinstance(obj, osmium.osm.Node):
            loc = obj.location
            if loc.valid() and x0 <= loc.lon <= x1 and y0 <= loc.lat <= y1:
                inside.add(obj.id)
        elif isinstance(obj, osmium.osm.Way):
            refs = [n.ref for n in obj.nodes]
            if any(ref in inside for ref in refs):
                ways.add(obj.id)
                nodes.update(refs)
        elif isinstance(obj, osmium.osm.Relation):
            for member in obj.members:
                if (member.type == "n" and member.ref in inside) or (
                    member.type == "w" and member.ref in ways
                ):
                    relations.add(obj.id)
                    break
    nodes |= inside
    report(label, 0.5)
    header = osmium.io.Header()
    header.add_box(osmium.osm.Box(osmium.osm.Location(x0, y0), osmium.osm.Location(x1, y1)))
    header.set("generator", "parcours")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp.osm.pbf")
    tmp.unlink(missing_ok=True)
    counts = {"nodes": 0, "ways": 0, "relations": 0}
    writer = osmium.SimpleWriter(str(tmp), header=header)
    try:
        for obj in osmium.FileProcessor(str(source), entities):
            if isinstance(obj, osmium.osm.Node):
                if obj.id in nodes:
                    writer.add_node(obj)
                    counts["nodes"] += 1
            elif isinstance(obj, osmium.osm.Way):
                if obj.id in ways:
                    writer.add_way(obj)
                    counts["ways"] += 1
            elif isinstance(obj, osmium.osm.Relation) and obj.id in relations:
                writer.add_relation(obj)
                counts["relations"] += 1
    finally:
        writer.close()
    tmp.replace(target)
    report(label, 1.0)
    return counts


def _fetch_osm(fetcher: _Fetcher, area: shapely.Geometry, dest_dir: Path) -> None:
    label = tr("index Geofabrik", "Geofabrik index")
    index_record = fetcher.get(fetcher.urls.geofabrik_index, filename="index-v1.json", label=label)
    index = _load_json_file(index_record.path, fetcher.urls.geofabrik_index)
    region, pbf_url = _pick_extract(index if isinstance(index, dict) else {}, area)
    extract = fetcher.get(pbf_url, label=f"OSM {region} (Geofabrik)")
    fetcher.result._add(
        "osm", extract.path, {**extract.manifest_entry(), "region": region}, intermediate=True
    )
    x0, y0, x1, y1 = (round(float(v), 6) for v in area.bounds)
    bbox = (x0, y0, x1, y1)
    key = hashlib.sha256(f"{extract.sha256}:{bbox}".encode()).hexdigest()[:12]
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in region) or "extract"
    target = dest_dir / f"osm_{slug}_{key}.osm.pbf"
    if not target.exists():
        clip_pbf(extract.path, target, bbox, progress=fetcher.progress)
    _remove_others(dest_dir, "osm_*.osm.pbf", keep=[target])
    record = _file_record(
        target,
        pbf_url,
        region=region,
        derived_from=pbf_url,
        derived_from_sha256=extract.sha256,
        derived_from_retrieved=extract.retrieved,
        clip_bbox=list(bbox),
    )
    fetcher.result._add("osm", target, record)


def _fetch_overpass(fetcher: _Fetcher, area: shapely.Geometry, dest_dir: Path) -> None:
    """Ask Overpass for the streets and POIs of the area, as an ``.osm.pbf``.

    The file is named after the server and the area, so a fetch of the same area
    replaces it; offline, an earlier file of the same area is used as it is (with a
    warning), like a cached download.
    """
    from parcours.territories.overpass import (
        OverpassUnreachableError,
        fetch_overpass_record,
        resolve_overpass_url,
    )

    base = resolve_overpass_url(fetcher.urls.overpass)
    key = hashlib.sha256(f"{base}:{shapely.to_wkt(area, rounding_precision=7)}".encode())
    target = dest_dir / f"osm_overpass_{key.hexdigest()[:12]}.osm.pbf"
    try:
        download = fetch_overpass_record(area, target, overpass_url=base, progress=fetcher.progress)
    except OverpassUnreachableError:
        if not target.is_file():
            raise
        retrieved = datetime.fromtimestamp(target.stat().st_mtime, UTC).replace(microsecond=0)
        fetcher.result.warnings.append(
            tr(
                f"hors ligne : le fichier Overpass du {retrieved.isoformat()} est utilisé "
                f"({target.name})",
                f"offline: the Overpass file of {retrieved.isoformat()} is used ({target.name})",
            )
        )
        record = _file_record(
            target,
            f"{base}/interpreter",
            retrieved=retrieved.isoformat(),
            from_cache=True,
            stale=True,
        )
        fetcher.result._add("overpass", target, record)
        return
    _remove_others(dest_dir, "osm_*.osm.pbf", keep=[target])
    fetcher.result.warnings.extend(download.warnings)
    record = _file_record(
        target,
        download.url,
        from_cache=False,
        osm_base=download.osm_base,
        area_km2=round(download.area_km2, 3),
        query_bbox=list(download.query_bounds),
        queries=len(download.queries),
        nodes=download.nodes,
        ways=download.ways,
        highway_ways=download.highway_ways,
    )
    fetcher.result._add("overpass", target, record)


# --------------------------------------------------------------------------- GTFS


def _covered_match(
    dataset: Mapping[str, Any],
    units: _AdminUnits,
    aoms: Callable[[], set[str]],
    include_national: bool,
) -> str | None:
    """Return why a dataset covers the territory (a short text), or None."""
    area = dataset.get("covered_area")
    if isinstance(area, list):  # current shape: administrative divisions
        for division in area:
            if not isinstance(division, Mapping):
                continue
            kind = str(division.get("type", "")).lower()
            code = str(division.get("insee", ""))
            pool = {
                "commune": units.communes,
                "epci": units.epcis,
                "departement": units.departements,
                "region": units.regions,
            }.get(kind)
            if pool is not None and code in pool:
                return f"{kind} {code}"
            if kind == "pays" and include_national:
                return "pays"
        return None
    if isinstance(area, Mapping):  # earlier shape
        kind = str(area.get("type", "")).lower()
        if kind == "cities":
            for city in area.get("cities") or []:
                if isinstance(city, Mapping) and str(city.get("insee", "")) in units.communes:
                    return f"commune {city['insee']}"
            return None
        if kind == "country":
            return "pays" if include_national else None
        if kind == "aom":
            siren = str((area.get("aom") or {}).get("siren") or "")
            return f"aom {siren}" if siren and siren in aoms() else None
        if kind == "region":
            name = str((area.get("region") or {}).get("name") or area.get("name") or "")
            if name and name.casefold() in units.region_names:
                return f"region {name}"
    legacy = dataset.get("aom")
    if isinstance(legacy, Mapping) and legacy.get("siren"):
        siren = str(legacy["siren"])
        return f"aom {siren}" if siren in aoms() else None
    return None


def _end_date(resource: Mapping[str, Any]) -> date | None:
    metadata = resource.get("metadata") if isinstance(resource.get("metadata"), Mapping) else {}
    value = (metadata or {}).get("end_date") or resource.get("end_calendar_validity")
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _gtfs_resources(dataset: Mapping[str, Any], today: date) -> tuple[list[dict[str, Any]], bool]:
    """Select the GTFS resources of a dataset; also say whether they are all expired."""
    resources = [
        dict(r)
        for r in dataset.get("resources") or []
        if isinstance(r, Mapping)
        and str(r.get("format", "")).strip().upper() == "GTFS"
        and r.get("is_available", True) is not False
        and (r.get("url") or r.get("original_url"))
    ]
    current = [r for r in resources if (end := _end_date(r)) is None or end >= today]
    if current:
        return current, False
    return resources, bool(resources)


def _fetch_gtfs(
    fetcher: _Fetcher,
    units: _AdminUnits,
    area: shapely.Geometry,
    dest_dir: Path,
    include_national: bool,
) -> None:
    api = fetcher.urls.transport_api
    datasets_url = _url(api, "/datasets")
    label = tr("catalogue transport.data.gouv.fr", "transport.data.gouv.fr catalogue")
    catalogue = fetcher.get(datasets_url, filename="datasets.json", label=label)
    datasets = _load_json_file(catalogue.path, datasets_url)
    fetcher.result._add("gtfs", catalogue.path, catalogue.manifest_entry(), intermediate=True)
    aom_cache: dict[str, set[str]] = {}

    def aoms() -> set[str]:
        if "sirens" not in aom_cache:
            sirens: set[str] = set()
            for lon, lat in _sample_points(area)[:_AOM_SAMPLES]:
                url = _url(api, "/aoms", {"lon": f"{lon:.5f}", "lat": f"{lat:.5f}"})
                answer = fetcher.get_json(url, filename="aom.json", label=label)
                if isinstance(answer, Mapping) and answer.get("siren"):
                    sirens.add(str(answer["siren"]))
            aom_cache["sirens"] = sirens
        return aom_cache["sirens"]

    today = datetime.now(UTC).date()
    folder = dest_dir / "gtfs"
    taken: list[Path] = []
    for dataset in datasets if isinstance(datasets, list) else []:
        if not isinstance(dataset, Mapping) or dataset.get("type") != "public-transit":
            continue
        match = _covered_match(dataset, units, aoms, include_national)
        if match is None:
            continue
        resources, expired = _gtfs_resources(dataset, today)
        title = str(dataset.get("title") or dataset.get("slug") or dataset.get("id"))
        if expired:
            fetcher.result.warnings.append(
                tr(
                    f"jeu GTFS « {title} » : toutes ses ressources sont expirées",
                    f"GTFS dataset '{title}': all its resources have expired",
                )
            )
        slug = _safe_name(str(dataset.get("slug") or dataset.get("id") or "dataset")) or "dataset"
        for number, resource in enumerate(resources, start=1):
            url = str(resource.get("url") or resource.get("original_url"))
            resource_key = resource.get("id") or resource.get("datagouv_id") or number
            resource_id = _safe_name(str(resource_key))
            name = f"gtfs_{slug}_{resource_id}.zip"
            record = fetcher.get(url, folder, filename=name, label=f"GTFS {title}")
            fetcher.result._add(
                "gtfs",
                record.path,
                {
                    **record.manifest_entry(),
                    "dataset_id": dataset.get("id"),
                    "dataset_title": dataset.get("title"),
                    "resource_id": resource.get("id"),
                    "resource_title": resource.get("title"),
                    "original_url": resource.get("original_url"),
                    "start_date": _start_date(resource),
                    "end_date": (end.isoformat() if (end := _end_date(resource)) else None),
                    "match": match,
                },
            )
            taken.append(record.path)
    _remove_others(folder, "gtfs_*.zip", keep=taken)
    if not taken:
        fetcher.result.warnings.append(
            tr(
                "aucun jeu GTFS de transport.data.gouv.fr ne couvre ce territoire",
                "no transport.data.gouv.fr GTFS dataset covers this territory",
            )
        )


def _start_date(resource: Mapping[str, Any]) -> str | None:
    metadata = resource.get("metadata") if isinstance(resource.get("metadata"), Mapping) else {}
    value = (metadata or {}).get("start_date") or resource.get("start_calendar_validity")
    return str(value)[:10] if value else None


# --------------------------------------------------------------------------- SIRENE


def _merge_csv_gz(parts: Sequence[Path], target: Path) -> None:
    """Concatenate gzipped CSV files sharing one header into one gzipped CSV."""
    tmp = target.with_name(f".{target.name}.tmp")
    with gzip.open(tmp, "wb", compresslevel=5) as out:
        for number, part in enumerate(parts):
            with gzip.open(part, "rb") as stream:
                header = stream.readline()
                if number == 0:
                    out.write(header)
                shutil.copyfileobj(stream, out, 1 << 20)
    tmp.replace(target)


def _fetch_sirene(fetcher: _Fetcher, units: _AdminUnits, dest_dir: Path) -> None:
    records = []
    for dep in sorted(units.departements):
        url = fetcher.urls.sirene.replace("{dep}", quote(dep))
        records.append(fetcher.get(url, dest_dir / "sirene", label=f"SIRENE {dep}"))
    if len(records) == 1:
        fetcher.result._add("sirene", records[0].path, records[0].manifest_entry())
        return
    for record in records:
        fetcher.result._add("sirene", record.path, record.manifest_entry(), intermediate=True)
    key = hashlib.sha256("".join(r.sha256 for r in records).encode()).hexdigest()[:12]
    target = dest_dir / f"geo_siret_{'-'.join(sorted(units.departements))}_{key}.csv.gz"
    if not target.exists():
        fetcher.progress(tr("fusion des fichiers SIRENE", "merging the SIRENE files"), None)
        _merge_csv_gz([r.path for r in records], target)
    _remove_others(dest_dir, "geo_siret_*.csv.gz", keep=[target])
    fetcher.result._add(
        "sirene",
        target,
        _file_record(
            target,
            None,
            derived_from=[r.url for r in records],
            derived_from_sha256=[r.sha256 for r in records],
        ),
    )


# --------------------------------------------------------------------------- entry point


def _canonical_sources(sources: Sequence[str]) -> list[str]:
    aliases = {kind: name for name, kind in SOURCE_KINDS_BY_NAME.items() if name not in _NOT_IN_ALL}
    chosen: list[str] = []
    unknown: list[str] = []
    for raw in sources:
        for part in str(raw).split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name == "all":
                chosen.extend(n for n in SOURCE_NAMES if n not in _NOT_IN_ALL)
            elif name in SOURCE_NAMES or name in aliases:
                chosen.append(name if name in SOURCE_NAMES else aliases[name])
            else:
                unknown.append(part.strip())
    if unknown:
        raise InputError(
            tr(
                f"source inconnue : {', '.join(unknown)} "
                f"(possibles : {', '.join(SOURCE_NAMES)}, all)",
                f"unknown source: {', '.join(unknown)} (valid: {', '.join(SOURCE_NAMES)}, all)",
            ),
            field="sources",
        )
    if not chosen:
        raise InputError(
            tr(
                f"aucune source donnée (possibles : {', '.join(SOURCE_NAMES)}, all)",
                f"no source given (valid: {', '.join(SOURCE_NAMES)}, all)",
            ),
            field="sources",
        )
    for first, second in _EXCLUSIVE:
        if first in chosen and second in chosen:
            raise InputError(
                tr(
                    f"choisissez « {first} » ou « {second} », pas les deux (même type de "
                    "données ; « all » prend « osm »)",
                    f"choose '{first}' or '{second}', not both (the same kind of data; "
                    "'all' takes 'osm')",
                ),
                field="sources",
            )
    return [name for name in SOURCE_NAMES if name in chosen]


def fetch_sources(
    territory: Territory,
    sources: Sequence[str],
    *,
    urls: SourceUrls | None = None,
    cache_dir: Path | None = None,
    dest_dir: Path | None = None,
    progress: ProgressFn | None = None,
    client: httpx.Client | None = None,
    include_national_gtfs: bool = False,
    retries: int = 3,
    retry_wait_s: float = 1.0,
) -> FetchResult:
    """Download the official sources of a territory, ready for the loader.

    Parameters
    ----------
    territory
        The territory (its perimeter plus buffer decides what is fetched).
    sources
        Source names among :data:`SOURCE_NAMES` (or their loader kinds, or ``all``,
        which means every source but ``overpass``); items may hold several names
        separated by commas. ``osm`` and ``overpass`` exclude each other.
    urls
        Source addresses (default :class:`SourceUrls`, i.e. the official ones unless
        ``PARCOURS_URL_*`` says otherwise).
    cache_dir
        The download cache (default :func:`default_cache_dir` of the territory's
        workspace).
    dest_dir
        Where the files for the loader are put (hard links to the cache, clipped OSM,
        merged SIRENE, communes GeoJSON); default ``cache_dir/../fetched/NAME``.
    progress
        Called with ``(label, fraction or None)``.
    client
        An httpx client to use (one is created otherwise).
    include_national_gtfs
        Also take the GTFS datasets covering the whole country (long-distance rail and
        coaches, often large).
    retries, retry_wait_s
        Retries of an interrupted transfer (see :func:`download_record`).

    Returns
    -------
    FetchResult
        Loader kind -> files, one record per file for the manifest, warnings.

    Raises
    ------
    InputError
        An unknown source name, ``osm`` with ``overpass``, no Geofabrik extract
        covering the territory, or a perimeter too large for Overpass.
    DownloadError
        Offline (with nothing cached), a server error or an interrupted transfer.

    """
    names = _canonical_sources(sources)
    home = territory.path.parent
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir(home)
    dest = Path(dest_dir) if dest_dir is not None else cache.parent / "fetched" / territory.name
    dest.mkdir(parents=True, exist_ok=True)
    area = gpd.GeoSeries([territory.clip_area()], crs=territory.crs).to_crs(WGS84).iloc[0]
    result = FetchResult()
    owned = client is None
    http = client if client is not None else _make_client(60.0)
    fetcher = _Fetcher(
        urls or SourceUrls(),
        cache,
        http,
        progress or _no_progress,
        result,
        retries=retries,
        retry_wait_s=retry_wait_s,
    )
    units: _AdminUnits | None = None

    def admin() -> _AdminUnits:
        nonlocal units
        if units is None:
            units = _admin_units(fetcher, territory, area)
        return units

    try:
        for name in names:
            if name == "communes":
                _write_communes(fetcher, admin(), dest)
            elif name == "osm":
                _fetch_osm(fetcher, area, dest)
            elif name == "overpass":
                _fetch_overpass(fetcher, area, dest)
            elif name == "gtfs":
                _fetch_gtfs(fetcher, admin(), area, dest, include_national_gtfs)
            elif name == "sirene":
                _fetch_sirene(fetcher, admin(), dest)
            else:
                url = {
                    "filosofi": fetcher.urls.filosofi,
                    "bpe": fetcher.urls.bpe,
                    "bnlc": fetcher.urls.bnlc,
                    "qpv": fetcher.urls.qpv,
                }[name]
                filename = "bnlc.csv" if name == "bnlc" else None
                record = fetcher.get(url, dest / name, filename=filename, label=name.upper())
                result._add(name, record.path, record.manifest_entry())
    finally:
        if owned:
            http.close()
    return result
