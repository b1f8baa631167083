"""Creating and exporting territories (what the ``parcours territory`` commands call)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio

from parcours.errors import InputError
from parcours.i18n import tr
from parcours.territories.perimeter import (
    Perimeter,
    parse_bbox,
    parse_communes,
    perimeter_from_bbox,
    perimeter_from_communes,
    perimeter_from_file,
)
from parcours.territories.workspace import Territory, Workspace

__all__ = ["create_territory", "export_geopackage"]


def create_territory(
    workspace: Workspace,
    name: str,
    *,
    communes: str | None = None,
    communes_file: Path | None = None,
    perimeter: Path | None = None,
    bbox: str | None = None,
    buffer_km: float = 5.0,
    replace: bool = False,
) -> Territory:
    """Create a territory from exactly one perimeter definition.

    Parameters
    ----------
    workspace
        The workspace.
    name
        The territory's name.
    communes
        INSEE codes separated by commas; contours from ``communes_file`` or, on a
        connected machine, geo.api.gouv.fr.
    communes_file
        Commune contours (ADMIN EXPRESS, geo.api.gouv.fr GeoJSON, any file with an INSEE
        code column).
    perimeter
        Any polygon file with a CRS.
    bbox
        ``minlon,minlat,maxlon,maxlat`` in WGS84.
    buffer_km
        Buffer kept around the perimeter by the readers, in km (default 5).
    replace
        Replace an existing territory of that name.
    """
    given = [x is not None for x in (communes, perimeter, bbox)]
    if sum(given) != 1:
        raise InputError(
            tr(
                "donnez exactement un périmètre : --communes, --perimeter ou --bbox",
                "give exactly one perimeter: --communes, --perimeter or --bbox",
            ),
        )
    if not 0 <= buffer_km <= 100:
        raise InputError(
            tr("le tampon doit être entre 0 et 100 km", "the buffer must be between 0 and 100 km"),
            field="--buffer-km",
        )
    workspace.path_of(name)  # validates the name before any work
    outline: Perimeter
    if communes is not None:
        codes = parse_communes(communes)
        if communes_file is not None:
            from parcours.territories.readers.communes import read_communes_file

            contours = read_communes_file(communes_file)
            source = str(Path(communes_file).resolve())
        else:
            from parcours.territories.fetch import default_cache_dir, fetch_commune_contours

            contours, source = fetch_commune_contours(
                codes, cache_dir=default_cache_dir(workspace.home)
            )
        outline = perimeter_from_communes(codes, contours, source=source)
    elif perimeter is not None:
        outline = perimeter_from_file(perimeter)
    else:
        assert bbox is not None
        outline = perimeter_from_bbox(parse_bbox(bbox))
    return workspace.create(
        name,
        outline.frame,
        crs=outline.crs,
        buffer_m=buffer_km * 1000.0,
        definition=outline.definition,
        replace=replace,
    )


def export_geopackage(territory: Territory, destination: Path) -> Path:
    """Write the territory's spatial layers (and its perimeter) into one GeoPackage.

    Layers whose rows come from partially diffusible SIRENE establishments keep their
    grid-cell location (never an exact point), as in the workspace.
    """
    destination = Path(destination)
    if destination.suffix.lower() != ".gpkg":
        raise InputError(
            tr("l'export attend un fichier .gpkg", "export expects a .gpkg file"), field="--out"
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f".{destination.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        pyogrio.write_dataframe(territory.perimeter, tmp, layer="perimeter", driver="GPKG")
        for name in territory.layer_names():
            frame = territory.layer(name)
            if not isinstance(frame, gpd.GeoDataFrame):
                continue
            list_columns = [
                c
                for c in frame.columns
                if c != frame.geometry.name and frame[c].map(type).eq(list).any()
            ]
            for column in list_columns:  # GeoPackage has no list type
                frame[column] = frame[column].map(lambda v: " ".join(map(str, v)))
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=True)
        tmp.replace(destination)
    finally:
        tmp.unlink(missing_ok=True)
    return destination
