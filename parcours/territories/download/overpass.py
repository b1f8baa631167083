"""OpenStreetMap from the Overpass API, for small perimeters.

The client itself is :mod:`parcours.territories.overpass`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import shapely

from parcours.i18n import tr
from parcours.territories.download._fetcher import (
    _Fetcher,
    _file_record,
    _remove_others,
)

__all__: list[str] = []


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
