"""CRS policy: where metric work happens and how coordinates are transformed.

Metric work happens in Lambert-93 (EPSG:2154) for metropolitan France (and Corsica),
in the official local CRS for the overseas territories, and in an estimated UTM zone
elsewhere (the test data includes Brazil, Finland and the USA). Maps and the API speak
WGS84 (EPSG:4326).
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
from pyproj import CRS, Transformer

from parcours.errors import InputError
from parcours.i18n import tr

__all__ = [
    "LAMBERT93",
    "WGS84",
    "metric_crs_for",
    "require_crs",
    "transformer",
]

WGS84 = CRS.from_epsg(4326)
LAMBERT93 = CRS.from_epsg(2154)

# (min lon, min lat, max lon, max lat) -> official metric CRS of the French territories.
_FRENCH_AREAS: tuple[tuple[tuple[float, float, float, float], int], ...] = (
    ((-5.5, 41.0, 10.0, 51.5), 2154),  # metropolitan France and Corsica: Lambert-93
    # Antilles: RGAF09 / UTM 20N. Martinique (lat 14.39-14.88, lon -61.23 to -60.81),
    # Guadeloupe (15.83-16.52), Saint-Barthélemy and Saint-Martin (17.87-18.13).
    ((-63.2, 14.3, -60.7, 18.2), 5490),
    ((-54.7, 2.0, -51.5, 6.0), 2972),  # Guyane: RGFG95 / UTM 22N
    ((55.1, -21.5, 55.9, -20.8), 2975),  # La Réunion: RGR92 / UTM 40S
    ((44.9, -13.1, 45.4, -12.5), 4471),  # Mayotte: RGM04 / UTM 38S
    ((-56.5, 46.7, -56.0, 47.2), 4467),  # Saint-Pierre-et-Miquelon: RGSPM06 / UTM 21N
)


def metric_crs_for(lon: float, lat: float) -> CRS:
    """Return the metric CRS in which to work around a WGS84 point.

    Parameters
    ----------
    lon, lat
        A point of the area (its centre), in degrees.

    Returns
    -------
    pyproj.CRS
        Lambert-93 in metropolitan France, the official CRS overseas, else the UTM
        zone of the point (WGS84-based).
    """
    for (x0, y0, x1, y1), epsg in _FRENCH_AREAS:
        if x0 <= lon <= x1 and y0 <= lat <= y1:
            return CRS.from_epsg(epsg)
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


@lru_cache(maxsize=64)
def _cached_transformer(src_wkt: str, dst_wkt: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(src_wkt), CRS.from_wkt(dst_wkt), always_xy=True)


def transformer(src: CRS | str | int, dst: CRS | str | int) -> Transformer:
    """Return a cached, ``always_xy`` transformer between two CRS."""
    return _cached_transformer(CRS.from_user_input(src).to_wkt(), CRS.from_user_input(dst).to_wkt())


def require_crs(frame: gpd.GeoDataFrame, *, name: str) -> gpd.GeoDataFrame:
    """Refuse a layer whose CRS is not declared.

    Parameters
    ----------
    frame
        The layer read from a file.
    name
        The file, for the message.

    Returns
    -------
    geopandas.GeoDataFrame
        The same layer.

    Raises
    ------
    InputError
        When the file declares no CRS (parcours never guesses one).
    """
    if frame.crs is None:
        raise InputError(
            tr(
                "aucun système de coordonnées (CRS) déclaré : ajoutez-en un (fichier .prj, "
                "GeoPackage ou GeoJSON en WGS84) ; seuls les CSV id,lon,lat sont supposés en WGS84",
                "no coordinate reference system (CRS) declared: add one (.prj file, GeoPackage, "
                "or GeoJSON in WGS84); only id,lon,lat CSV files are taken as WGS84",
            ),
            file=name,
        )
    return frame
