"""GTFS feeds from transport.data.gouv.fr.

The ``public-transit`` datasets whose covered area meets the territory.

Response shape relied on
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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import shapely

from parcours.i18n import tr
from parcours.territories.download._fetcher import (
    _Fetcher,
    _load_json_file,
    _remove_others,
    _url,
)
from parcours.territories.download.cache import (
    _safe_name,
)
from parcours.territories.download.geo_api import (
    _AdminUnits,
    _sample_points,
)

__all__: list[str] = []

_AOM_SAMPLES = 5  # points where the AOMs are looked up (legacy dataset shape only)


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
