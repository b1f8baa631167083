"""The sources ``parcours territory fetch`` knows, their loader kinds and addresses.

Where each source comes from (see :class:`SourceUrls`, every URL overridable)
    ========== =========== ===============================================================
    source     loader kind origin
    ========== =========== ===============================================================
    osm        osm         smallest Geofabrik extract containing the perimeter + buffer,
                           clipped to its bounding box with pyosmium (``geofabrik.clip_pbf``)
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
    mobpro     mobpro      INSEE census 2020, MOBPRO detail file (national zip, about
                           8 million rows); not part of ``all`` (ask for it by name)
    ========== =========== ===============================================================
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from parcours.territories.sources import SourceKind

__all__ = ["SOURCE_KINDS_BY_NAME", "SOURCE_NAMES", "SourceUrls"]


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
    "mobpro",
)

#: Source name -> the loader's source kind (``parcours territory load`` option).
SOURCE_KINDS_BY_NAME: dict[str, SourceKind] = {
    "communes": SourceKind.COMMUNES,
    "osm": SourceKind.OSM,
    "overpass": SourceKind.OSM,
    "gtfs": SourceKind.GTFS,
    "filosofi": SourceKind.POPULATION,
    "bpe": SourceKind.SERVICES,
    "sirene": SourceKind.JOBS,
    "bnlc": SourceKind.CARPOOL,
    "qpv": SourceKind.QPV,
    "mobpro": SourceKind.MOBPRO,
}

#: Sources that ``all`` leaves out (an alternative to another source of the same kind).
_NOT_IN_ALL: frozenset[str] = frozenset({"overpass", "mobpro"})
#: Sources producing the same loader kind, of which one only may be chosen.
_EXCLUSIVE: tuple[tuple[str, str], ...] = (("osm", "overpass"),)


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
    mobpro
        INSEE « Mobilités professionnelles des individus » 2020, detail file
        ``FD_MOBPRO_2020.csv`` in a zip (insee.fr page 7637844).
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
    mobpro: str = field(
        default_factory=_env_url(
            "MOBPRO", "https://www.insee.fr/fr/statistiques/fichier/7637844/RP2020_mobpro_csv.zip"
        )
    )
    overpass: str = field(default_factory=_env_url("OVERPASS", "https://overpass-api.de/api"))
