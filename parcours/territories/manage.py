"""Creating and exporting territories (what the ``parcours territory`` commands call)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio

from parcours.errors import InputError, ParcoursError
from parcours.i18n import tr
from parcours.territories.load import LoadReport, load_sources
from parcours.territories.perimeter import (
    Perimeter,
    parse_bbox,
    parse_communes,
    perimeter_from_bbox,
    perimeter_from_communes,
    perimeter_from_file,
)
from parcours.territories.readers._base import ProgressFn
from parcours.territories.workspace import Territory, Workspace

__all__ = ["create_and_load", "create_territory", "export_geopackage"]


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
            field="buffer_km",
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
            from parcours.territories.download import default_cache_dir, fetch_commune_contours

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


def create_and_load(
    workspace: Workspace,
    name: str,
    *,
    bbox: str | Sequence[float],
    sources: Mapping[str, Sequence[Path]],
    progress: ProgressFn | None = None,
    buffer_km: float = 5.0,
    replace: bool = False,
) -> tuple[Territory, LoadReport]:
    """Create a territory from a bounding box and load sources into it, or leave nothing.

    If the load fails (bad file, interruption), the territory's folder is removed before
    the error propagates, so no half-built territory (a perimeter without layers) stays
    behind to be taken for a complete one later. With ``replace=True`` a territory of that
    name is replaced as soon as the new one is created: a failed load then leaves none.

    Parameters
    ----------
    workspace
        The workspace.
    name
        The territory's name.
    bbox
        ``minlon,minlat,maxlon,maxlat`` in WGS84, as text or four numbers.
    sources
        Source kind -> files, as for :func:`~parcours.territories.load.load_sources`.
    progress
        Progress callback.
    buffer_km
        Buffer kept around the perimeter by the readers, in km.
    replace
        Replace an existing territory of that name.

    Returns
    -------
    tuple
        The territory (opened after the load) and the load report.
    """
    text = bbox if isinstance(bbox, str) else ",".join(f"{float(v):.7f}" for v in bbox)
    create_territory(workspace, name, bbox=text, buffer_km=buffer_km, replace=replace)
    try:
        report = load_sources(workspace, name, sources, progress=progress)
    except BaseException:
        # The load's error is the one to report, not a failure to clean up after it.
        with contextlib.suppress(ParcoursError, OSError):
            workspace.remove(name)
        raise
    return workspace.open(name), report


def _is_sequence(value: Any) -> bool:
    # Parquet list columns come back from pandas as numpy arrays, not lists.
    return isinstance(value, list | tuple | np.ndarray)


def _joined(value: Any) -> str | None:
    if not _is_sequence(value):
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        return None if missing else str(value)
    return " ".join(str(v.item() if isinstance(v, np.generic) else v) for v in value)


def export_geopackage(territory: Territory, destination: Path) -> Path:
    """Write the territory's spatial layers (and its perimeter) into one GeoPackage.

    Layers whose rows come from partially diffusible SIRENE establishments keep their
    grid-cell location (never an exact point), as in the workspace.
    """
    destination = Path(destination)
    if destination.suffix.lower() != ".gpkg":
        raise InputError(
            tr("l'export attend un fichier .gpkg", "export expects a .gpkg file"), field="out"
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    # A hidden name that keeps the .gpkg suffix, so that GDAL knows the format.
    tmp = destination.with_name(f".{destination.stem}.tmp.gpkg")
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
                if c != frame.geometry.name and frame[c].map(_is_sequence).any()
            ]
            for column in list_columns:  # GeoPackage has no list type: space-separated text
                frame[column] = frame[column].map(_joined)
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=True)
        tmp.replace(destination)
    finally:
        tmp.unlink(missing_ok=True)
    return destination
