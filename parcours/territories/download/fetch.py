"""Downloading the official sources of a territory (on a connected machine).

``parcours territory fetch NAME --sources osm,gtfs,...`` resolves each source for the
territory's perimeter, downloads it into a cache and hands the files to the loader
(the CLI chains ``fetch`` and ``load``; this module never reads the data itself).

The sources, their loader kinds and addresses are listed in
:mod:`parcours.territories.download.catalogue`; the cache in
:mod:`parcours.territories.download.cache`; one module per provider does the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import httpx

from parcours.errors import InputError
from parcours.geo.crs import WGS84
from parcours.i18n import tr
from parcours.territories.download._fetcher import (
    FetchResult,
    _Fetcher,
)
from parcours.territories.download.cache import (
    _make_client,
    default_cache_dir,
)
from parcours.territories.download.catalogue import (
    _EXCLUSIVE,
    _NOT_IN_ALL,
    SOURCE_KINDS_BY_NAME,
    SOURCE_NAMES,
    SourceUrls,
)
from parcours.territories.download.data_gouv import (
    _fetch_file,
    _fetch_sirene,
)
from parcours.territories.download.geo_api import (
    _admin_units,
    _AdminUnits,
    _write_communes,
)
from parcours.territories.download.geofabrik import (
    _fetch_osm,
)
from parcours.territories.download.overpass import (
    _fetch_overpass,
)
from parcours.territories.download.transport_data_gouv import (
    _fetch_gtfs,
)
from parcours.territories.readers._base import ProgressFn, _no_progress
from parcours.territories.workspace import Territory

__all__ = ["fetch_sources"]


def _canonical_sources(sources: Sequence[str]) -> list[str]:
    aliases: dict[str, str] = {
        kind: name for name, kind in SOURCE_KINDS_BY_NAME.items() if name not in _NOT_IN_ALL
    }
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
            field="--sources",
        )
    if not chosen:
        raise InputError(
            tr(
                f"aucune source donnée (possibles : {', '.join(SOURCE_NAMES)}, all)",
                f"no source given (valid: {', '.join(SOURCE_NAMES)}, all)",
            ),
            field="--sources",
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
                field="--sources",
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
                _fetch_file(fetcher, name, dest)
    finally:
        if owned:
            http.close()
    return result
