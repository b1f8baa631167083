"""Former home of the downloaders, kept for the imports of the CLI and of user code.

Everything lives in :mod:`parcours.territories.download` (one module per provider).
"""

from parcours.territories.download import (
    SOURCE_KINDS_BY_NAME,
    SOURCE_NAMES,
    DownloadRecord,
    FetchResult,
    SourceUrls,
    clip_pbf,
    default_cache_dir,
    departement_of,
    download,
    download_record,
    fetch_commune_contours,
    fetch_sources,
)

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
