"""Downloading the official sources of a territory: a resumable HTTP cache, one module per provider.

=========================== ==============================================================
module                      what it does
=========================== ==============================================================
``catalogue``               the source names, their loader kinds, their addresses
                            (:class:`SourceUrls`, every URL overridable)
``cache``                   the resumable, conditional HTTP download cache
                            (:func:`download`, :func:`download_record`)
``geo_api``                 commune contours and administrative units (geo.api.gouv.fr)
``geofabrik``               OSM extracts, clipped to the perimeter (:func:`clip_pbf`)
``overpass``                OSM from the Overpass API, for small perimeters
``transport_data_gouv``     GTFS feeds meeting the territory (transport.data.gouv.fr)
``data_gouv``               national files: SIRENE, Filosofi, BPE, BNLC, QPV
``fetch``                   :func:`fetch_sources`, the entry point of ``territory fetch``
=========================== ==============================================================
"""

from parcours.territories.download._fetcher import FetchResult
from parcours.territories.download.cache import (
    DownloadRecord,
    default_cache_dir,
    download,
    download_record,
)
from parcours.territories.download.catalogue import SOURCE_KINDS_BY_NAME, SOURCE_NAMES, SourceUrls
from parcours.territories.download.fetch import fetch_sources
from parcours.territories.download.geo_api import departement_of, fetch_commune_contours
from parcours.territories.download.geofabrik import clip_pbf

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
