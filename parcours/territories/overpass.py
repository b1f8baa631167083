"""OpenStreetMap for a small perimeter through the Overpass API (osmnx), as a ``.osm.pbf``.

An alternative to a Geofabrik extract (``--sources osm``) on a connected machine: the
ways tagged ``highway`` and the points of interest of the area are asked from an
Overpass server with osmnx's Overpass machinery, then written as a real ``.osm.pbf``
(pyosmium) that :func:`parcours.territories.readers.read_osm` reads like any extract,
so both sources go through one reader.

The request
    One query per sub-polygon (osmnx splits areas above
    ``ox.settings.max_query_area_size``, 2,500 km²; areas are limited to
    ``max_area_km2``, 500 km² by default, so there is normally one)::

        [out:json][timeout:180];
        (
          way["highway"](poly:'LAT LON LAT LON ...');
          node["amenity"](poly:'...');   ... shop, office, healthcare, public_transport
          node["railway"~"^(station|halt)$"](poly:'...');
          way["amenity"](poly:'...');    ... the same keys, for POI outlines
          way["railway"~"^(station|halt)$"](poly:'...');
        );
        (._;>;);
        out;

    i.e. what :func:`~parcours.territories.readers.read_osm` reads (streets, POI
    nodes, POI closed ways) with every node of the ways (``>``), the ways whole. The
    settings prefix is osmnx's (``_overpass._make_overpass_settings``), the polygon
    string is osmnx's (``_overpass._make_overpass_polygon_coord_strs``: ``lat lon``
    pairs rounded to 6 decimals, exterior rings only, a MultiPolygon replaced by its
    convex hull) and the request is posted by ``_overpass._overpass_request`` (HTTP
    POST ``data=QUERY`` to ``{overpass_url}/interpreter`` with ``requests``, osmnx's
    headers, DNS pinning and slot management through ``{overpass_url}/status``).
    The polygon is the area grown by :data:`QUERY_MARGIN_M` then simplified by half
    of it (so it still contains the area: nothing is lost to rounding or to the
    simplification, and the query stays short); the reader clips exactly.

Why not osmnx's download functions
    ``_overpass._download_overpass_network`` only takes way filters (no POI nodes)
    and ``_overpass._download_overpass_features`` asks for relations too and repeats
    node/way/relation statements for every tag: two requests (two Overpass slots)
    for data the reader does not use. One query built here and sent by
    ``_overpass_request`` asks for exactly the reader's objects in one slot.

osmnx settings
    Set for the call only, under a lock (they are module globals), and restored
    after it: ``overpass_url``; ``use_cache = False`` (OSM changes: each fetch asks
    the server, like the other sources revalidate; the PBF written is the copy kept,
    and ``fetch_sources`` falls back to it offline); ``requests_timeout``;
    ``overpass_settings`` (osmnx's default, JSON output); ``doh_url_template = None``
    (no DNS-over-HTTPS request to Google when the name does not resolve: offline, the
    POST then fails at once); ``useful_tags_way`` / ``useful_tags_node`` extended to
    every tag of the ``streets`` and ``pois`` layers (they only matter to osmnx's
    graph building: the raw elements written here keep all their tags anyway);
    ``http_user_agent``. ``socket.getaddrinfo``, which ``_http._config_dns`` replaces
    to pin the server's address, is put back.

Rate limiting and offline detection
    Before the query, ``{overpass_url}/status`` is asked once: no connection at all
    raises :class:`OverpassUnreachableError` straight away (osmnx would otherwise
    wait 60 s before trying the query); a server reporting its slots (the public
    instances) keeps osmnx's ``overpass_rate_limit``; one without a status page
    (a private instance) is queried without waiting. osmnx retries 429 and 504
    answers itself, 55 s apart.

Overpass answers
    ``{"version": 0.6, "generator": "Overpass API ...", "osm3s":
    {"timestamp_osm_base": ..., "copyright": ...}, "elements": [{"type": "node",
    "id", "lat", "lon", "tags"?}, {"type": "way", "id", "nodes": [ids], "tags"?},
    ...]}``; a query stopped by the server (timeout, memory) still answers 200 with
    a ``remark`` starting ``runtime error``: it is refused (the elements would be
    partial). ``timestamp_osm_base`` becomes the PBF header's
    ``osmosis_replication_timestamp``. osmnx parses the answer whole in memory
    (``requests``' ``response.json()``), hence the area limit: a dense city answers
    some 100 MB of JSON per 100 km².

Thread safety
    Downloads in one process run one at a time (osmnx's settings are module globals).
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import shapely
from pyproj import Geod

from parcours import __version__
from parcours.errors import DownloadError, InputError
from parcours.geo.crs import WGS84, metric_crs_for, transformer
from parcours.i18n import tr
from parcours.territories.readers._base import ProgressFn, _no_progress
from parcours.territories.readers.osm import POI_KEYS, POI_RAILWAY, POI_TAGS, STREET_TAGS

__all__ = [
    "DEFAULT_OVERPASS_URL",
    "QUERY_MARGIN_M",
    "OverpassDownload",
    "OverpassUnreachableError",
    "build_overpass_query",
    "fetch_overpass_osm",
    "fetch_overpass_record",
    "resolve_overpass_url",
]

#: The public Overpass instance osmnx uses by default (the API root, without ``/interpreter``).
DEFAULT_OVERPASS_URL = "https://overpass-api.de/api"
#: The query polygon is the area grown by this much (metres), then simplified by half of it.
QUERY_MARGIN_M = 50.0
#: osmnx's default Overpass settings prefix (JSON output is what is parsed here).
_OVERPASS_SETTINGS = "[out:json][timeout:{timeout}]{maxsize}"
#: Lines of the Overpass ``/status`` page before the slot line (osmnx reads line 5).
_STATUS_LINE = 4

# osmnx's settings are module globals: one Overpass download at a time in this process.
_LOCK = threading.Lock()


class OverpassUnreachableError(DownloadError):
    """No connection to the Overpass server (offline machine, wrong address, server down)."""


@dataclass(frozen=True)
class OverpassDownload:
    """What :func:`fetch_overpass_record` obtained.

    Attributes
    ----------
    path
        The ``.osm.pbf`` written.
    url
        The interpreter address queried (``{overpass_url}/interpreter``).
    queries
        The Overpass QL queries sent (one per sub-polygon).
    nodes, ways
        Objects written.
    highway_ways
        Ways tagged ``highway`` among them.
    osm_base
        The server's ``osm3s.timestamp_osm_base`` (the age of its data), when given.
    area_km2
        The geodesic area of the requested perimeter.
    query_bounds
        The bounds of the query polygon (WGS84 min lon, min lat, max lon, max lat).

    """

    path: Path
    url: str
    queries: list[str]
    nodes: int
    ways: int
    highway_ways: int
    osm_base: str | None
    area_km2: float
    query_bounds: tuple[float, float, float, float]
    warnings: list[str] = field(default_factory=list)


def resolve_overpass_url(url: str | None = None) -> str:
    """Return the Overpass API root to use.

    Parameters
    ----------
    url
        An explicit address; else ``PARCOURS_URL_OVERPASS``; else
        :data:`DEFAULT_OVERPASS_URL`. A trailing ``/interpreter`` (the address of
        the query endpoint itself) is removed: osmnx appends it.

    """
    chosen = url or os.environ.get("PARCOURS_URL_OVERPASS") or DEFAULT_OVERPASS_URL
    chosen = chosen.strip().rstrip("/")
    if chosen.endswith("/interpreter"):
        chosen = chosen[: -len("/interpreter")]
    return chosen


def _area_km2(area: shapely.Geometry) -> float:
    """The geodesic area of a WGS84 geometry, in km²."""
    value, _ = Geod(ellps="WGS84").geometry_area_perimeter(area)
    return abs(float(value)) / 1e6


def _query_polygon(area: shapely.Geometry) -> shapely.Geometry:
    """Grow the area by :data:`QUERY_MARGIN_M` and simplify it, in a local metric CRS.

    The simplification moves the outline by at most half the margin, so the result
    still contains the area.
    """
    centre = area.centroid
    metric = metric_crs_for(centre.x, centre.y)
    forward = transformer(WGS84, metric)
    backward = transformer(metric, WGS84)
    projected = shapely.transform(
        area, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1]))
    )
    grown = projected.buffer(QUERY_MARGIN_M).simplify(QUERY_MARGIN_M / 2)
    polygon = shapely.transform(
        grown, lambda xy: np.column_stack(backward.transform(xy[:, 0], xy[:, 1]))
    )
    return polygon if polygon.is_valid else polygon.buffer(0)


def build_overpass_query(settings_prefix: str, polygon_coords: str) -> str:
    """Build the Overpass QL query of the streets and POIs inside one polygon.

    Parameters
    ----------
    settings_prefix
        The settings statement, e.g. ``[out:json][timeout:180]`` (osmnx's
        ``_make_overpass_settings``).
    polygon_coords
        The polygon as Overpass wants it: ``"lat lon lat lon ..."`` (osmnx's
        ``_make_overpass_polygon_coord_strs``).

    Returns
    -------
    str
        The query: ``highway`` ways, POI nodes and POI ways inside the polygon, then
        every node of those ways (``(._;>;);``), ``out;`` (tags, node coordinates,
        way node lists).

    """
    poly = f"(poly:{polygon_coords!r})"
    railway = "|".join(sorted(POI_RAILWAY))
    statements = [f'way["highway"]{poly};']
    for kind in ("node", "way"):
        statements.extend(f'{kind}["{key}"]{poly};' for key in POI_KEYS)
        statements.append(f'{kind}["railway"~"^({railway})$"]{poly};')
    return f"{settings_prefix};({''.join(statements)});(._;>;);out;"


def _unreachable(url: str, exc: BaseException) -> OverpassUnreachableError:
    host = urlsplit(url).netloc or url
    return OverpassUnreachableError(
        tr(
            f"pas de connexion internet (ou serveur Overpass injoignable : {host}) : "
            "téléchargez un extrait .osm.pbf (Geofabrik) sur une machine connectée puis "
            "utilisez « parcours territory load NOM --osm FICHIER.osm.pbf » sur celle-ci "
            f"({type(exc).__name__})",
            f"no internet connection (or Overpass server unreachable: {host}): download "
            "an .osm.pbf extract (Geofabrik) on a connected machine, then use "
            f"'parcours territory load NAME --osm FILE.osm.pbf' on this one "
            f"({type(exc).__name__})",
        )
    )


def _failed(url: str, reason: str) -> DownloadError:
    return DownloadError(
        tr(
            f"échec de la requête Overpass ({url}) : {reason} ; pour un grand territoire, "
            "utilisez un extrait Geofabrik (--sources osm)",
            f"the Overpass request failed ({url}): {reason}; for a large territory, use "
            "a Geofabrik extract (--sources osm)",
        )
    )


def _has_slot_status(text: str) -> bool:
    """Whether a ``/status`` page reports slots the way osmnx's rate limiting reads them."""
    lines = text.split("\n")
    if len(lines) <= _STATUS_LINE:
        return False
    first = lines[_STATUS_LINE].split(" ")[0]
    return first.isdigit() or first in ("Slot", "Currently")


def _probe(base: str, timeout_s: float) -> bool:
    """Ask the server's status page: raise when unreachable, say whether it has slots."""
    import requests
    from osmnx import _http
    from osmnx import settings as ox_settings

    url = f"{base}/status"
    try:
        response = requests.get(
            url,
            headers=_http._get_http_headers(),
            timeout=(min(timeout_s, 15.0), min(timeout_s, 60.0)),
            **ox_settings.requests_kwargs,
        )
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise _unreachable(base, exc) from exc
    except requests.exceptions.RequestException as exc:
        raise _failed(url, f"{type(exc).__name__}: {exc}") from exc
    return response.ok and _has_slot_status(response.text)


@contextlib.contextmanager
def _osmnx_settings(base: str, timeout_s: float) -> Iterator[Any]:
    """Configure osmnx for one download and restore its settings (and DNS) afterwards."""
    import osmnx
    from osmnx import settings as ox_settings

    street_keys = [key for key, _ in STREET_TAGS]
    poi_keys = [key for key, _ in POI_TAGS]
    wanted: dict[str, Any] = {
        "overpass_url": base,
        "use_cache": False,
        "requests_timeout": max(1, math.ceil(timeout_s)),  # Overpass wants whole seconds
        "overpass_settings": _OVERPASS_SETTINGS,
        "overpass_rate_limit": ox_settings.overpass_rate_limit,
        "doh_url_template": None,
        "useful_tags_way": list(dict.fromkeys([*ox_settings.useful_tags_way, *street_keys])),
        "useful_tags_node": list(dict.fromkeys([*ox_settings.useful_tags_node, *poi_keys])),
        "http_user_agent": (
            f"parcours/{__version__} (inclusive-mobility territorial diagnostics; "
            f"osmnx {osmnx.__version__})"
        ),
    }
    with _LOCK:
        saved = {name: getattr(ox_settings, name) for name in wanted}
        getaddrinfo = socket.getaddrinfo
        try:
            for name, value in wanted.items():
                setattr(ox_settings, name, value)
            yield ox_settings
        finally:
            for name, value in saved.items():
                setattr(ox_settings, name, value)
            socket.getaddrinfo = getaddrinfo


def _request(data: str, base: str) -> dict[str, Any]:
    """Post one query with osmnx and translate its failures."""
    import requests
    from osmnx import _errors, _overpass

    try:
        answer = _overpass._overpass_request(OrderedDict(data=data))
    except (requests.exceptions.ConnectionError, requests.exceptions.ConnectTimeout) as exc:
        raise _unreachable(base, exc) from exc
    except requests.exceptions.Timeout as exc:
        raise _failed(f"{base}/interpreter", tr("délai dépassé", "timed out")) from exc
    except (
        requests.exceptions.RequestException,
        _errors.ResponseStatusCodeError,
        _errors.InsufficientResponseError,
    ) as exc:
        raise _failed(f"{base}/interpreter", str(exc)[:500]) from exc
    remark = str(answer.get("remark") or "")
    if "error" in remark.lower():
        raise _failed(f"{base}/interpreter", remark[:500])
    if not isinstance(answer.get("elements"), list):
        raise _failed(
            f"{base}/interpreter",
            tr("réponse sans « elements »", "answer without 'elements'"),
        )
    return answer


@dataclass
class _Elements:
    """Nodes and ways gathered from the answers (deduplicated by id)."""

    nodes: dict[int, tuple[float, float, dict[str, str]]] = field(default_factory=dict)
    ways: dict[int, tuple[list[int], dict[str, str]]] = field(default_factory=dict)

    def add(self, elements: list[Any]) -> None:
        for element in elements:
            if not isinstance(element, Mapping):
                continue
            kind = element.get("type")
            tags = element.get("tags") or {}
            tags = {str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {}
            try:
                if kind == "node" and "lat" in element and "lon" in element:
                    lon, lat = float(element["lon"]), float(element["lat"])
                    self.nodes[int(element["id"])] = (lon, lat, tags)
                elif kind == "way":
                    refs = [int(ref) for ref in element.get("nodes") or []]
                    self.ways[int(element["id"])] = (refs, tags)
            except (KeyError, TypeError, ValueError):
                continue


def _write_pbf(
    elements: _Elements,
    target: Path,
    bounds: tuple[float, float, float, float],
    osm_base: str | None,
) -> None:
    """Write nodes (with locations and tags) then ways (node refs and tags) as a PBF."""
    import osmium
    import osmium.io
    import osmium.osm
    from osmium.osm.mutable import Node, Way

    header = osmium.io.Header()
    x0, y0, x1, y1 = bounds
    header.add_box(osmium.osm.Box(osmium.osm.Location(x0, y0), osmium.osm.Location(x1, y1)))
    header.set("generator", f"parcours {__version__} (Overpass API via osmnx)")
    if osm_base:
        header.set("osmosis_replication_timestamp", osm_base)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(osmium.io.File(str(tmp), "pbf"), header=header)
    try:
        for node_id in sorted(elements.nodes):
            lon, lat, tags = elements.nodes[node_id]
            writer.add_node(Node(id=node_id, location=(lon, lat), tags=tags, version=1))
        for way_id in sorted(elements.ways):
            refs, tags = elements.ways[way_id]
            writer.add_way(Way(id=way_id, nodes=refs, tags=tags, version=1))
    finally:
        writer.close()
    tmp.replace(target)


def _km2_text(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _check_area(area_wgs84: shapely.Geometry, max_area_km2: float) -> float:
    if not isinstance(area_wgs84, shapely.Polygon | shapely.MultiPolygon) or area_wgs84.is_empty:
        raise InputError(
            tr(
                "le périmètre Overpass doit être un polygone non vide (WGS84)",
                "the Overpass perimeter must be a non-empty polygon (WGS84)",
            ),
            field="area",
        )
    x0, y0, x1, y1 = area_wgs84.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InputError(
            tr(
                f"le périmètre n'est pas en WGS84 (lon/lat) : emprise {area_wgs84.bounds}",
                f"the perimeter is not in WGS84 (lon/lat): bounds {area_wgs84.bounds}",
            ),
            field="area",
        )
    km2 = _area_km2(area_wgs84)
    if km2 > max_area_km2:
        size, limit = _km2_text(km2), _km2_text(max_area_km2)
        raise InputError(
            tr(
                f"périmètre trop grand pour Overpass ({size} km² > {limit} km²) : utilisez "
                "un extrait Geofabrik (--sources osm) ou un fichier .osm.pbf (« parcours "
                "territory load NOM --osm »)",
                f"perimeter too large for Overpass ({size} km² > {limit} km²): use a "
                "Geofabrik extract (--sources osm) or an .osm.pbf file ('parcours territory "
                "load NAME --osm')",
            ),
            field="sources",
        )
    return km2


def fetch_overpass_record(
    area_wgs84: shapely.Geometry,
    destination: Path,
    *,
    overpass_url: str | None = None,
    max_area_km2: float = 500.0,
    timeout_s: float = 180.0,
    progress: ProgressFn | None = None,
) -> OverpassDownload:
    """Download the streets and POIs of an area from Overpass into an ``.osm.pbf``.

    The same as :func:`fetch_overpass_osm` (see it for the parameters), returning
    what was written and asked (for the manifest).
    """
    km2 = _check_area(area_wgs84, max_area_km2)
    base = resolve_overpass_url(overpass_url)
    report = progress or _no_progress
    label = tr("OSM par Overpass", "OSM from Overpass")
    report(label, None)
    polygon = _query_polygon(area_wgs84)
    elements = _Elements()
    queries: list[str] = []
    osm_base: str | None = None
    with _osmnx_settings(base, timeout_s) as ox_settings:
        from osmnx import _overpass

        ox_settings.overpass_rate_limit = ox_settings.overpass_rate_limit and _probe(
            base, timeout_s
        )
        prefix = _overpass._make_overpass_settings()
        coord_strs = _overpass._make_overpass_polygon_coord_strs(polygon)
        for number, coords in enumerate(coord_strs, start=1):
            query = build_overpass_query(prefix, coords)
            queries.append(query)
            answer = _request(query, base)
            elements.add(answer["elements"])
            osm3s = answer.get("osm3s")
            if isinstance(osm3s, Mapping) and osm3s.get("timestamp_osm_base"):
                osm_base = str(osm3s["timestamp_osm_base"])
            report(label, 0.9 * number / len(coord_strs))
    bounds = tuple(round(float(v), 7) for v in polygon.bounds)
    query_bounds = (bounds[0], bounds[1], bounds[2], bounds[3])
    _write_pbf(elements, Path(destination), query_bounds, osm_base)
    highway = sum(1 for _, tags in elements.ways.values() if "highway" in tags)
    warnings = []
    if highway == 0:
        warnings.append(
            tr(
                "Overpass n'a renvoyé aucune voie (« highway ») pour ce périmètre",
                "Overpass returned no 'highway' way for this perimeter",
            )
        )
    report(label, 1.0)
    return OverpassDownload(
        path=Path(destination),
        url=f"{base}/interpreter",
        queries=queries,
        nodes=len(elements.nodes),
        ways=len(elements.ways),
        highway_ways=highway,
        osm_base=osm_base,
        area_km2=km2,
        query_bounds=query_bounds,
        warnings=warnings,
    )


def fetch_overpass_osm(
    area_wgs84: shapely.Geometry,
    destination: Path,
    *,
    overpass_url: str | None = None,
    max_area_km2: float = 500.0,
    timeout_s: float = 180.0,
    progress: ProgressFn | None = None,
) -> Path:
    """Download the streets and POIs of a small area from Overpass into an ``.osm.pbf``.

    The file holds the ways tagged ``highway`` having a node in the area (whole, with
    all their nodes), the POI nodes and POI ways (``amenity``, ``shop``, ``office``,
    ``healthcare``, ``public_transport``, ``railway=station|halt``) with all their
    tags, and reads with :func:`parcours.territories.readers.read_osm` like a
    Geofabrik extract. See the module documentation for the query.

    Parameters
    ----------
    area_wgs84
        The (Multi)Polygon to cover, in WGS84 (the perimeter plus its buffer).
    destination
        The ``.osm.pbf`` to write (replaced; always PBF, whatever its name).
    overpass_url
        The Overpass API root (``https://overpass-api.de/api``); default
        ``PARCOURS_URL_OVERPASS``, else the public instance.
    max_area_km2
        Larger areas are refused: a Geofabrik extract is the way for them.
    timeout_s
        The server's query timeout and the HTTP timeout, in seconds.
    progress
        Called with ``(label, fraction or None)``.

    Returns
    -------
    pathlib.Path
        ``destination``.

    Raises
    ------
    InputError
        The area is not a WGS84 (Multi)Polygon, or is larger than ``max_area_km2``.
    DownloadError
        The server failed, timed out or stopped the query; an
        :class:`OverpassUnreachableError` when it cannot be reached at all (offline).

    """
    return fetch_overpass_record(
        area_wgs84,
        destination,
        overpass_url=overpass_url,
        max_area_km2=max_area_km2,
        timeout_s=timeout_s,
        progress=progress,
    ).path
