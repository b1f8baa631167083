"""Commune contours and administrative units from geo.api.gouv.fr.

Response shape relied on
    geo.api.gouv.fr ``GET /communes``
        With ``format=geojson&geometry=contour`` a ``FeatureCollection`` whose
        properties are the requested ``fields``: ``nom``, ``code``, ``codeEpci``,
        ``epci`` (``{"code", "nom"}``), ``codeDepartement``, ``codeRegion``,
        ``population``. With ``lat`` and ``lon`` (and the default ``format=json``) a
        JSON list of the communes containing the point (https://geo.api.gouv.fr/decoupage-administratif).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import shapely
from shapely.geometry import shape

from parcours.errors import DownloadError, InputError
from parcours.geo.crs import WGS84
from parcours.i18n import tr
from parcours.territories.download._fetcher import (
    FetchResult,
    _feature_props,
    _Fetcher,
    _file_record,
    _load_json_file,
    _url,
)
from parcours.territories.download.cache import (
    _make_client,
)
from parcours.territories.download.catalogue import (
    SourceUrls,
)
from parcours.territories.readers._base import ProgressFn, _no_progress
from parcours.territories.workspace import Territory

__all__ = ["departement_of", "fetch_commune_contours"]


_COMMUNE_FIELDS = "nom,code,codeEpci,epci,codeDepartement,codeRegion,region,population"
_PER_CODE_LIMIT = 10  # above, commune contours are asked per département
_BOUNDARY_SAMPLES = 12  # points of the perimeter's outline used to find its départements


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
            field="--communes",
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
