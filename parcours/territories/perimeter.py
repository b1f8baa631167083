"""Building a territory's perimeter from INSEE codes, a polygon file or a bounding box."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from pyproj import CRS

from parcours.errors import InputError
from parcours.geo.crs import WGS84, metric_crs_for
from parcours.geo.vector import read_vector
from parcours.i18n import tr

__all__ = [
    "Perimeter",
    "parse_bbox",
    "parse_communes",
    "perimeter_from_bbox",
    "perimeter_from_communes",
    "perimeter_from_file",
]


@dataclass(frozen=True)
class Perimeter:
    """A territory's outline before it is stored.

    Attributes
    ----------
    frame
        The polygon(s), in ``crs``.
    crs
        The metric CRS chosen for the territory.
    definition
        How it was defined (recorded in ``territory.json``).
    """

    frame: gpd.GeoDataFrame
    crs: CRS
    definition: dict[str, Any]


def _finish(outline: gpd.GeoDataFrame, definition: dict[str, Any]) -> Perimeter:
    polygons = outline[outline.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polygons.empty:
        raise InputError(
            tr("le périmètre doit être un polygone", "the perimeter must be a polygon"),
            file=definition.get("file"),
        )
    centre = polygons.to_crs(WGS84).union_all().centroid
    crs = metric_crs_for(centre.x, centre.y)
    merged = shapely.make_valid(polygons.to_crs(crs).union_all())
    frame = gpd.GeoDataFrame(geometry=[merged], crs=crs)
    return Perimeter(frame=frame, crs=crs, definition=definition)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse ``minlon,minlat,maxlon,maxlat`` (WGS84), checking order and ranges."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError as exc:
        raise InputError(
            tr(
                "l'emprise attend quatre nombres minlon,minlat,maxlon,maxlat",
                "the bounding box expects four numbers minlon,minlat,maxlon,maxlat",
            ),
            field="bbox",
        ) from exc
    if len(values) != 4:
        raise InputError(
            tr(
                "l'emprise attend quatre nombres minlon,minlat,maxlon,maxlat",
                "the bounding box expects four numbers minlon,minlat,maxlon,maxlat",
            ),
            field="bbox",
        )
    x0, y0, x1, y1 = values
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise InputError(
            tr(
                "il faut minlon < maxlon et minlat < maxlat, en degrés WGS84",
                "minlon < maxlon and minlat < maxlat are needed, in WGS84 degrees",
            ),
            field="bbox",
        )
    if _in_france((y0, x0, y1, x1)) and not _in_france((x0, y0, x1, y1)):
        raise InputError(
            tr(
                f"l'emprise {text} tombe hors de France, mais lue dans l'autre sens elle "
                "est en France : latitude et longitude semblent inversées ; l'ordre est "
                f"minlon,minlat,maxlon,maxlat, soit {y0},{x0},{y1},{x1}",
                f"the bounding box {text} lies outside France, but read the other way round "
                "it is in France: latitude and longitude seem swapped; the order is "
                f"minlon,minlat,maxlon,maxlat, that is {y0},{x0},{y1},{x1}",
            ),
            field="bbox",
            code="input.bbox_swapped",
            params={"bbox": [x0, y0, x1, y1], "suggested": [y0, x0, y1, x1]},
        )
    return x0, y0, x1, y1


#: WGS84 extents (minlon, minlat, maxlon, maxlat) of metropolitan France and the overseas
#: departments, to recognise a box given as lat,lon instead of lon,lat.
_FRANCE_EXTENTS: tuple[tuple[float, float, float, float], ...] = (
    (-5.5, 41.2, 9.8, 51.2),  # metropolitan France and Corsica
    (-61.9, 15.8, -60.9, 16.6),  # Guadeloupe
    (-61.3, 14.3, -60.7, 14.9),  # Martinique
    (-54.7, 2.1, -51.5, 5.9),  # Guyane
    (55.1, -21.5, 55.9, -20.8),  # La Réunion
    (44.9, -13.1, 45.4, -12.5),  # Mayotte
)


def _in_france(bbox: tuple[float, float, float, float]) -> bool:
    """Whether the box's centre lies in metropolitan France or an overseas department."""
    x0, y0, x1, y1 = bbox
    x, y = (x0 + x1) / 2, (y0 + y1) / 2
    return any(a <= x <= c and b <= y <= d for a, b, c, d in _FRANCE_EXTENTS)


def perimeter_from_bbox(bbox: tuple[float, float, float, float]) -> Perimeter:
    """A perimeter from a WGS84 bounding box."""
    frame = gpd.GeoDataFrame(geometry=[shapely.box(*bbox)], crs=WGS84)
    return _finish(frame, {"bbox": list(bbox)})


def perimeter_from_file(path: Path) -> Perimeter:
    """A perimeter from any polygon file that declares its CRS (all polygons merged)."""
    frame = read_vector(path)
    return _finish(frame, {"file": str(Path(path).resolve())})


def parse_communes(text: str) -> list[str]:
    """Parse ``--communes CODE,CODE`` into INSEE codes, checking their form."""
    codes = [c.strip().upper() for c in text.split(",") if c.strip()]
    if not codes:
        raise InputError(tr("aucun code INSEE donné", "no INSEE code given"), field="communes")
    for code in codes:
        if len(code) != 5 or not (
            code.isdigit() or (code[:2] in ("2A", "2B") and code[2:].isdigit())
        ):
            raise InputError(
                tr(
                    f"code INSEE invalide « {code} » (5 caractères, ex. 44109 ou 2A004)",
                    f"invalid INSEE code '{code}' (5 characters, e.g. 44109 or 2A004)",
                ),
                field="communes",
            )
    return codes


def perimeter_from_communes(
    codes: Sequence[str], communes: gpd.GeoDataFrame, *, source: str
) -> Perimeter:
    """A perimeter from INSEE commune codes and their contours.

    Parameters
    ----------
    codes
        The INSEE codes.
    communes
        Commune contours with an ``insee`` column (see the communes reader).
    source
        Where the contours came from (file path or URL), recorded in the definition.
    """
    from parcours.territories.readers.communes import select_communes

    chosen = select_communes(communes, codes, name=source)
    return _finish(chosen, {"communes": list(codes), "communes_source": source})
