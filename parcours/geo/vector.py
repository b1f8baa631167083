"""Reading and writing vector layers, whatever the format.

Vector files (GeoPackage, GeoJSON, shapefile, GeoParquet, zipped shapefiles) are read
with pyogrio and must declare a CRS. A CSV with coordinate columns (``lon``/``lat``,
``Xlong``/``Ylat``, ``x``/``y``, ``longitude``/``latitude``) is WGS84 by definition.
Outputs are written by extension: ``.parquet`` (GeoParquet), ``.gpkg``, ``.geojson``,
``.csv``.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from parcours.errors import InputError
from parcours.geo.crs import WGS84, require_crs
from parcours.geo.tables import (
    find_column,
    line_of,
    read_text_table,
    require_columns,
    require_unique,
    to_float,
)
from parcours.i18n import tr

__all__ = [
    "CSV_SUFFIXES",
    "LONLAT_PAIRS",
    "VECTOR_MEMBERS",
    "lonlat_columns",
    "lonlat_points",
    "read_points",
    "read_vector",
    "representative_points",
    "vector_uri",
    "write_layer",
]

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
#: The vector members looked for in a zip archive, by priority.
VECTOR_MEMBERS = (".gpkg", ".shp", ".geojson", ".json")
#: Accepted names of WGS84 coordinate columns, by priority (any case).
LONLAT_PAIRS = (
    ("lon", "lat"),
    ("lng", "lat"),
    ("longitude", "latitude"),
    ("xlong", "ylat"),
    ("x", "y"),
)


def vector_uri(path: Path, *, members: Sequence[str] = VECTOR_MEMBERS) -> str:
    """Return the GDAL path of a vector file, reaching inside a zip archive.

    Parameters
    ----------
    path
        The file.
    members
        For a zip archive: the suffixes of the members to look for, by priority; the
        first member found is read (``/vsizip/archive.zip/member``).

    Returns
    -------
    str
        The path to give to GDAL.

    Raises
    ------
    InputError
        A zip archive holding no such member.

    """
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = [m for m in archive.namelist() if not m.endswith("/")]
        for wanted in members:
            for member in names:
                if member.lower().endswith(wanted):
                    return f"/vsizip/{path}/{member}"
        raise InputError(
            tr(
                "archive sans couche vectorielle (.gpkg, .shp, .geojson)",
                "archive holds no vector layer (.gpkg, .shp, .geojson)",
            ),
            file=path,
        )
    return str(path)


def read_vector(
    source: str | PathLike[str], *, layer: str | None = None, columns: list[str] | None = None
) -> gpd.GeoDataFrame:
    """Read a vector file that declares its CRS, or a CSV of WGS84 coordinates.

    Parameters
    ----------
    source
        The file (GeoPackage, GeoJSON, shapefile, GeoParquet, zip of one of those, or CSV
        with longitude/latitude columns).
    layer
        The layer of a multi-layer file; the first one by default.
    columns
        Only read these attribute columns (vector formats only).

    Returns
    -------
    geopandas.GeoDataFrame
        The layer in its own CRS.

    Raises
    ------
    InputError
        Missing or unreadable file, no CRS, no geometry.
    """
    path = Path(source)
    if not path.exists():
        raise InputError(tr("fichier introuvable", "file not found"), file=path)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _read_csv_points(path)
    if suffix == ".parquet":
        try:
            frame = gpd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise InputError(
                tr(f"GeoParquet illisible : {exc}", f"unreadable GeoParquet: {exc}"), file=path
            ) from exc
    else:
        try:
            frame = pyogrio.read_dataframe(vector_uri(path), layer=layer, columns=columns)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise InputError(
                tr(f"fichier vectoriel illisible : {exc}", f"unreadable vector file: {exc}"),
                file=path,
            ) from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry is None:
        raise InputError(tr("aucune géométrie", "no geometry"), file=path)
    return require_crs(frame, name=str(path))


def _read_csv_points(path: Path) -> gpd.GeoDataFrame:
    table = read_text_table(path)
    lon_col, lat_col = lonlat_columns(table.frame.columns)
    if lon_col is None or lat_col is None:
        raise InputError(
            tr(
                "colonnes de coordonnées absentes : attendu lon,lat (WGS84)",
                "coordinate columns missing: expected lon,lat (WGS84)",
            ),
            file=path,
            row=1,
        )
    return lonlat_points(table.frame, lon_col, lat_col, name=str(path))


def lonlat_columns(columns: Iterable[Any]) -> tuple[str | None, str | None]:
    """Return the longitude and latitude columns (:data:`LONLAT_PAIRS`, any case), or Nones."""
    for lon_name, lat_name in LONLAT_PAIRS:
        lon = find_column(columns, [lon_name])
        lat = find_column(columns, [lat_name])
        if lon is not None and lat is not None:
            return lon, lat
    return None, None


def lonlat_points(
    frame: pd.DataFrame, lon_col: str, lat_col: str, *, name: str
) -> gpd.GeoDataFrame:
    """Turn a text table with WGS84 longitude and latitude columns into points.

    Parameters
    ----------
    frame
        The text values (as read by :func:`~parcours.geo.tables.read_text_table`).
    lon_col, lat_col
        The coordinate columns; values must be numbers in [-180, 180] and [-90, 90].
    name
        The file, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The other columns, with point geometries in WGS84.

    """
    lon = to_float(frame[lon_col], name=name, field=lon_col, minimum=-180, maximum=180)
    lat = to_float(frame[lat_col], name=name, field=lat_col, minimum=-90, maximum=90)
    attributes = frame.drop(columns=[lon_col, lat_col])
    return gpd.GeoDataFrame(attributes, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)


def representative_points(geoms: gpd.GeoSeries) -> np.ndarray:
    """Return points for features: points as they are, the centroid of a polygon if inside it."""
    values = geoms.to_numpy()
    centroids = shapely.centroid(values)
    on_surface = shapely.point_on_surface(values)
    inside = shapely.contains(values, centroids) | (shapely.get_type_id(values) == 0)
    result: np.ndarray = np.where(inside, centroids, on_surface)
    return result


def read_points(source: str | PathLike[str], *, id_column: str = "id") -> gpd.GeoDataFrame:
    """Read origins or destinations: a CSV ``id,lon,lat`` (WGS84) or a vector file with ``id``.

    Polygons are replaced by a point inside them (their centroid when it lies inside).

    Parameters
    ----------
    source
        The file.
    id_column
        The identifier column; identifiers must be unique and non-empty.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``id`` and ``geometry`` (points), in the file's CRS.
    """
    path = Path(source)
    frame = read_vector(path)
    require_columns(frame, [id_column], name=str(path))
    ids = frame[id_column].astype(str).str.strip()
    empty = (ids == "") | frame[id_column].isna()
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise InputError(
            tr("identifiant vide", "empty identifier"), file=path, row=line_of(i), field=id_column
        )
    require_unique(ids, name=path, field=id_column)
    geoms = frame.geometry
    missing = (geoms.is_empty | geoms.isna()).to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError(
            tr("géométrie vide", "empty geometry"), file=path, row=line_of(i), field="geometry"
        )
    points = representative_points(geoms)
    return gpd.GeoDataFrame({"id": ids.to_numpy()}, geometry=points, crs=frame.crs)


def write_layer(
    frame: pd.DataFrame, destination: str | PathLike[str], *, layer: str | None = None
) -> Path:
    """Write a table or layer by extension, atomically (temp file then rename).

    Parameters
    ----------
    frame
        A GeoDataFrame or a plain DataFrame.
    destination
        ``.parquet`` (GeoParquet for layers), ``.gpkg``, ``.geojson`` or ``.csv``.
    layer
        The layer name inside a GeoPackage (defaults to the file stem).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(destination)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            out = frame
            if isinstance(frame, gpd.GeoDataFrame):
                out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
                if frame.geom_type.eq("Point").all() and len(frame):
                    wgs = frame.to_crs(WGS84) if frame.crs is not None else frame
                    out["lon"] = wgs.geometry.x.round(7)
                    out["lat"] = wgs.geometry.y.round(7)
            out.to_csv(tmp, index=False)
        elif suffix in (".gpkg", ".geojson", ".json"):
            driver = "GPKG" if suffix == ".gpkg" else "GeoJSON"
            if not isinstance(frame, gpd.GeoDataFrame) and driver == "GeoJSON":
                raise InputError(
                    tr("ce format exige une géométrie", "this format needs a geometry"), file=path
                )
            tmp.unlink()  # a GeoPackage without geometry is an attribute table
            pyogrio.write_dataframe(frame, tmp, layer=layer or path.stem, driver=driver)
        else:
            raise InputError(
                tr(
                    "extension de sortie inconnue : .parquet, .gpkg, .geojson ou .csv",
                    "unknown output extension: .parquet, .gpkg, .geojson or .csv",
                ),
                file=path,
            )
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
