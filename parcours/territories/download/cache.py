"""The resumable HTTP download cache.

The downloader (:func:`download`, :func:`download_record`) streams with httpx into
``$PARCOURS_HOME/.cache/downloads/KEY/`` (``KEY`` is the sha256 of the URL). An interrupted
download leaves ``KEY/partial``; the next attempt (in the same run, or the next run) asks
for the rest with ``Range: bytes=N-`` and ``If-Range``; a server answering 200 instead of
206 means the file changed or ranges are unsupported, and the download restarts. ETag and
Last-Modified are kept in ``KEY/entry.json``, so a second fetch sends ``If-None-Match`` /
``If-Modified-Since`` and a 304 answer is served from the cache. The sha256 of every file is
computed while it streams and compared with the expected one when given. No connection at
all is reported by a :class:`~parcours.errors.DownloadError` that says how to work offline;
a file already in the cache is then used as it is (``stale``).

Concurrent runs downloading the same URL into the same cache are not coordinated.
"""

from __future__ import annotations

import contextlib
import email.message
import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from parcours import __version__
from parcours.errors import DownloadError
from parcours.i18n import tr
from parcours.territories.readers._base import ProgressFn, _no_progress
from parcours.territories.workspace import default_home

__all__ = ["DownloadRecord", "default_cache_dir", "download", "download_record"]


_USER_AGENT = f"parcours/{__version__} (inclusive-mobility territorial diagnostics)"


def default_cache_dir(home: Path | None = None) -> Path:
    """Return the download cache folder: ``$PARCOURS_HOME/.cache/downloads``."""
    return (home if home is not None else default_home()) / ".cache" / "downloads"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


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
