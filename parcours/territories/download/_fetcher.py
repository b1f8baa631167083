"""What a fetch run shares: its result and the fetcher the provider modules use.

:class:`FetchResult` holds the files per loader kind and one manifest record per file;
``_Fetcher`` bundles the addresses, the cache, the HTTP client and the progress callback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from parcours.errors import DownloadError
from parcours.i18n import tr
from parcours.territories.download.cache import (
    DownloadRecord,
    _now,
    _sha256_of,
    download_record,
)
from parcours.territories.download.catalogue import (
    SOURCE_KINDS_BY_NAME,
    SourceUrls,
)
from parcours.territories.readers._base import ProgressFn

__all__ = ["FetchResult"]


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


def _feature_props(feature: Mapping[str, Any]) -> dict[str, Any]:
    props = feature.get("properties") or {}
    return dict(props) if isinstance(props, Mapping) else {}
