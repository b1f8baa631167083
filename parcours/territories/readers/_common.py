"""Helpers shared by the source readers: where a bad value is, common columns and checks.

:class:`Origin` locates the rows of a frame in messages: lines of a delimited text file
(the header is line 1) or feature ids (FID) of a vector file. The other helpers build on
it: converting columns with their location (:func:`checked`, :func:`float_column`),
cleaning text (:func:`text_column`), reading a vector file near the area
(:func:`read_vector_in_area`), checking geometries and identifiers, reading a generic point
layer with a value column (:func:`read_value_points`), INSEE commune codes
(:func:`check_insee_codes`) and the projected coordinates INSEE gives (:func:`project`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError

from parcours.errors import InputError
from parcours.geo.crs import require_crs, transformer
from parcours.geo.tables import find_column, line_of, to_float
from parcours.geo.vector import (
    CSV_SUFFIXES,
    VECTOR_MEMBERS,
    read_vector,
    representative_points,
)
from parcours.geo.vector import vector_uri as _geo_vector_uri
from parcours.i18n import tr
from parcours.territories.readers._base import ReadContext, keep_in_area

__all__ = [
    "INSEE_CODE",
    "OVERSEAS_EPSG",
    "Duplicate",
    "Origin",
    "check_geometries",
    "check_insee_codes",
    "check_polygons",
    "check_unique",
    "checked",
    "epsg_for_communes",
    "first_duplicate",
    "float_column",
    "in_window",
    "is_null",
    "optional_text",
    "project",
    "read_value_points",
    "read_vector_in_area",
    "text_column",
    "text_ids",
    "vector_uri",
]

#: An INSEE commune code (COG): two digits (not 20) or 2A/2B, then three digits.
INSEE_CODE = re.compile(r"^(?:[013-9]\d|2[AB1-9])\d{3}$")

#: Official projected CRS of the overseas départements, by the first three digits of the
#: commune code (used when a file gives Lambert/UTM coordinates without an EPSG column).
OVERSEAS_EPSG: dict[str, int] = {
    "971": 5490,  # Guadeloupe: RGAF09 / UTM 20N
    "972": 5490,  # Martinique
    "977": 5490,  # Saint-Barthélemy
    "978": 5490,  # Saint-Martin
    "973": 2972,  # Guyane: RGFG95 / UTM 22N
    "974": 2975,  # La Réunion: RGR92 / UTM 40S
    "975": 4467,  # Saint-Pierre-et-Miquelon: RGSPM06 / UTM 21N
    "976": 4471,  # Mayotte: RGM04 / UTM 38S
}

# Margin (m) around the area's bounding box when reading a vector file through a bbox filter.
_BBOX_MARGIN_M = 500.0
# The vector members looked for in a zip archive: those of ``read_vector``, and FlatGeobuf.
_VECTOR_MEMBERS = (*VECTOR_MEMBERS, ".fgb")

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Locating rows and converting values
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where the rows of a frame come from, to locate a bad value in messages.

    Attributes
    ----------
    name
        The file, as named in messages.
    tabular
        True for a delimited text file: index labels are 0-based records and are reported
        as lines (the header is line 1). False for a vector file: labels are feature ids
        (FID), reported in the message.

    """

    name: str
    tabular: bool

    def error(self, fr: str, en: str, *, label: Any, field: str | None) -> InputError:
        """Build the error for a bad value of the row ``label``."""
        if self.tabular:
            return InputError(tr(fr, en), file=self.name, row=line_of(int(label)), field=field)
        return InputError(
            tr(f"entité (FID) {label} : {fr}", f"feature (FID) {label}: {en}"),
            file=self.name,
            field=field,
        )

    def missing_column(
        self, field: str, names: Sequence[str], present: Sequence[Any]
    ) -> InputError:
        """Build the error for a missing column, listing the accepted names and those present."""
        accepted = ", ".join(names)
        found = ", ".join(map(str, present))
        return InputError(
            tr(
                f"colonne absente : attendu l'une de {accepted} (colonnes présentes : {found})",
                f"column missing: expected one of {accepted} (columns present: {found})",
            ),
            file=self.name,
            row=1 if self.tabular else None,
            field=field,
        )


def checked(convert: Callable[..., T], values: pd.Series, origin: Origin, **kwargs: Any) -> T:
    """Run a converter of :mod:`parcours.geo.tables` on a subset of rows, keeping their location.

    ``to_float`` and ``to_int`` report the position in the series they get; this runs them
    on ``values`` renumbered from 0 and maps a reported position back to the row's label.

    Parameters
    ----------
    convert
        :func:`~parcours.geo.tables.to_float` or :func:`~parcours.geo.tables.to_int`.
    values
        Text values whose index labels are the rows' labels (records or FIDs).
    origin
        The file the rows come from.
    **kwargs
        Passed to ``convert`` (``field``, ``minimum``, ...); ``name`` is set from ``origin``.

    Returns
    -------
    object
        What ``convert`` returns.

    """
    try:
        return convert(values.reset_index(drop=True), name=origin.name, **kwargs)
    except InputError as exc:
        if exc.row is None or exc.row < 2:
            raise
        label = values.index[exc.row - 2]
        if origin.tabular:
            raise type(exc)(
                exc.message, file=exc.file, row=line_of(int(label)), field=exc.field
            ) from None
        raise type(exc)(
            tr(f"entité (FID) {label} : {exc.message}", f"feature (FID) {label}: {exc.message}"),
            file=exc.file,
            field=exc.field,
        ) from None


def float_column(
    values: pd.Series,
    origin: Origin,
    *,
    field: str,
    required: bool = True,
    minimum: float | None = None,
) -> np.ndarray:
    """Convert a column of text or numbers to float64, reporting the first bad value.

    Parameters
    ----------
    values
        Text (decimal commas accepted) or numeric values; index labels locate the rows.
    origin
        The file the rows come from.
    field
        The column, for messages.
    required
        If true an empty value (or NaN) is an error; otherwise it becomes NaN.
    minimum
        Inclusive lower bound.

    Returns
    -------
    numpy.ndarray
        Float64 values.

    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        if required and np.isnan(numbers).any():
            label = values.index[int(np.flatnonzero(np.isnan(numbers))[0])]
            raise origin.error("valeur vide", "empty value", label=label, field=field)
        if minimum is not None:
            with np.errstate(invalid="ignore"):
                below = numbers < minimum
            if below.any():
                i = int(np.flatnonzero(below)[0])
                raise origin.error(
                    f"valeur {numbers[i]:g} inférieure au minimum {minimum:g}",
                    f"value {numbers[i]:g} below the minimum {minimum:g}",
                    label=values.index[i],
                    field=field,
                )
        return numbers
    text = text_column(values).fillna("")
    result: np.ndarray = checked(
        to_float, text, origin, field=field, required=required, minimum=minimum
    )
    return result


def text_column(values: pd.Series) -> pd.Series:
    """Return values as stripped text, with null for missing, empty or ``[ND]`` (not diffused)."""
    cleaned = [None if _is_missing(v) else str(v).strip() for v in values.to_numpy(dtype=object)]
    out = np.array([None if v in ("", "[ND]") else v for v in cleaned], dtype=object)
    return pd.Series(out, index=values.index, dtype="str")


def _is_missing(value: Any) -> bool:
    # Narrower than is_null on purpose (NaT and other pandas nulls become text here), as
    # text_column always did.
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def is_null(value: Any) -> bool:
    """Tell whether a scalar is missing for pandas (None, NaN, ``pd.NA``, ``NaT``)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------------------------
# Columns, identifiers and geometries
# --------------------------------------------------------------------------------------------


def optional_text(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """Return the cleaned text (:func:`text_column`) of the first column in ``names``, or Nones."""
    column = find_column(frame.columns, names)
    if column is None:
        return np.full(len(frame), None, dtype=object)
    result: np.ndarray = text_column(frame[column]).to_numpy(dtype=object)
    return result


@dataclass(frozen=True)
class Duplicate:
    """The first repeated value of a column (see :func:`first_duplicate`).

    Attributes
    ----------
    position
        Position (0-based, in the column's order) of the first row repeating a value.
    first
        Position of the first row holding that value.
    count
        How many rows repeat an earlier value, in the whole column.
    """

    position: int
    first: int
    count: int


def first_duplicate(values: pd.Series) -> Duplicate | None:
    """The first row repeating an earlier value, or None: the one rule of every id check.

    Nulls are not compared (two missing ids are not a duplicate); the readers refuse empty
    ids separately, with their own message.
    """
    dup = values.duplicated().to_numpy() & values.notna().to_numpy()
    if not dup.any():
        return None
    i = int(np.flatnonzero(dup)[0])
    first = int(np.flatnonzero((values == values.iloc[i]).to_numpy())[0])
    return Duplicate(position=i, first=first, count=int(dup.sum()))


def check_unique(ids: pd.Series, origin: Origin, field: str) -> None:
    """Refuse a duplicated identifier (nulls are not compared), naming its row."""
    found = first_duplicate(ids)
    if found is not None:
        i = found.position
        raise origin.error(
            f"identifiant « {ids.iloc[i]} » en double",
            f"duplicate identifier '{ids.iloc[i]}'",
            label=ids.index[i],
            field=field,
        )


def text_ids(values: pd.Series, origin: Origin, field: str) -> pd.Series:
    """Return identifiers as text (:func:`text_column`), refusing empty or duplicated ones."""
    ids = text_column(values)
    empty = ids.isna().to_numpy()
    if empty.any():
        label = values.index[int(np.flatnonzero(empty)[0])]
        raise origin.error("identifiant vide", "empty identifier", label=label, field=field)
    check_unique(ids, origin, field)
    return ids


def check_geometries(
    frame: gpd.GeoDataFrame, origin: Origin, *, allowed: Sequence[str], expected: tuple[str, str]
) -> None:
    """Refuse null or empty geometries and geometry types not in ``allowed``.

    Parameters
    ----------
    frame
        The features.
    origin
        The file they come from.
    allowed
        Accepted geometry types (``Polygon``, ``Point``, ...).
    expected
        What to say is expected, in French and English.

    """
    geoms = frame.geometry
    missing = (geoms.isna() | geoms.is_empty).to_numpy()
    if missing.any():
        label = frame.index[int(np.flatnonzero(missing)[0])]
        raise origin.error("géométrie vide", "empty geometry", label=label, field="geometry")
    types = geoms.geom_type.to_numpy()
    bad = ~np.isin(types, list(allowed))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise origin.error(
            f"géométrie de type {types[i]} : {expected[0]} attendus",
            f"geometry of type {types[i]}: {expected[1]} expected",
            label=frame.index[i],
            field="geometry",
        )


def check_polygons(frame: gpd.GeoDataFrame, *, name: str) -> None:
    """Refuse empty geometries and non-polygons, naming the line (position ``i`` + 2)."""
    geoms = frame.geometry
    missing = (geoms.isna() | geoms.is_empty).to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError(
            tr("géométrie vide", "empty geometry"), file=name, row=line_of(i), field="geometry"
        )
    bad = ~geoms.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            tr(
                f"polygone attendu, trouvé {geoms.iloc[i].geom_type}",
                f"polygon expected, found {geoms.iloc[i].geom_type}",
            ),
            file=name,
            row=line_of(i),
            field="geometry",
        )


def check_insee_codes(
    values: pd.Series,
    *,
    name: str,
    field: str,
    row_of: Callable[[int], int] = line_of,
    required: bool = True,
) -> pd.Series:
    """Normalise and check a column of INSEE commune codes.

    Parameters
    ----------
    values
        The codes as read (text, or numbers when a tool dropped the leading zero).
    name, field
        The file and column, for messages.
    row_of
        Maps the 0-based position of a value to the row number shown to the user
        (default: a table whose header is line 1).
    required
        If true an empty code is an error; otherwise it becomes null.

    Returns
    -------
    pandas.Series
        Upper-case 5-character codes (null where empty and not required), same index.

    Raises
    ------
    InputError
        Naming the row of the first empty or malformed code.

    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = pd.to_numeric(values, errors="coerce")
        text = pd.Series(
            [
                "" if pd.isna(v) else (str(int(v)).zfill(5) if float(v).is_integer() else str(v))
                for v in numbers
            ],
            index=values.index,
            dtype=object,
        )
    else:
        text = pd.Series(
            ["" if is_null(v) else str(v).strip().upper() for v in values],
            index=values.index,
            dtype=object,
        )
    empty = (text == "").to_numpy()
    if required and empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(
            tr("code INSEE vide", "empty INSEE code"), file=name, row=row_of(i), field=field
        )
    bad = np.array([bool(t) and INSEE_CODE.match(t) is None for t in text], dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            tr(
                f"code INSEE invalide « {values.iloc[i]} » : 5 caractères attendus, "
                "chiffres ou 2A/2B suivis de 3 chiffres (ex. 14118, 2A004)",
                f"invalid INSEE code '{values.iloc[i]}': 5 characters expected, digits "
                "or 2A/2B followed by 3 digits (e.g. 14118, 2A004)",
            ),
            file=name,
            row=row_of(i),
            field=field,
        )
    return pd.Series([None if t == "" else t for t in text], index=values.index, dtype="str")


# --------------------------------------------------------------------------------------------
# Reading layers
# --------------------------------------------------------------------------------------------


def vector_uri(path: Path) -> str:
    """Return the GDAL path of a vector file, reaching inside a zip archive (FlatGeobuf too)."""
    return _geo_vector_uri(path, members=_VECTOR_MEMBERS)


def read_vector_in_area(path: Path, ctx: ReadContext) -> gpd.GeoDataFrame:
    """Read the features of a vector file near the area, indexed by their FID.

    Only the features whose bounding box meets the area's (plus a margin) are read, so a
    national layer is not loaded whole. The CRS must be declared.

    Parameters
    ----------
    path
        GeoPackage, shapefile (or a zip of one), GeoJSON, FlatGeobuf or GeoParquet.
    ctx
        The territory (its CRS and area).

    Returns
    -------
    geopandas.GeoDataFrame
        The features in the file's CRS, index = FID (row position for GeoParquet).

    Raises
    ------
    InputError
        Missing or unreadable file, no CRS declared.

    """
    if not path.exists():
        raise InputError(tr("fichier introuvable", "file not found"), file=path)
    if path.suffix.lower() == ".parquet":
        return read_vector(path)
    uri = vector_uri(path)
    try:
        info = pyogrio.read_info(uri)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(
            tr(f"fichier vectoriel illisible : {exc}", f"unreadable vector file: {exc}"), file=path
        ) from exc
    if info.get("crs") is None:
        require_crs(gpd.GeoDataFrame(geometry=[], crs=None), name=str(path))
    file_crs = CRS.from_user_input(info["crs"])
    area = gpd.GeoSeries([ctx.area], crs=ctx.crs).to_crs(file_crs).iloc[0]
    x0, y0, x1, y1 = area.bounds
    # Degrees for a geographic CRS (about 111 km per degree of latitude).
    margin = _BBOX_MARGIN_M / 111_000.0 if file_crs.is_geographic else _BBOX_MARGIN_M
    try:
        frame = pyogrio.read_dataframe(
            uri, bbox=(x0 - margin, y0 - margin, x1 + margin, y1 + margin), fid_as_index=True
        )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(
            tr(f"fichier vectoriel illisible : {exc}", f"unreadable vector file: {exc}"), file=path
        ) from exc
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(tr("aucune géométrie", "no geometry"), file=path)
    return require_crs(frame, name=str(path))


def read_value_points(
    path: Path,
    ctx: ReadContext,
    *,
    names: Sequence[str],
    field: str,
    accepted: Sequence[str],
) -> tuple[gpd.GeoDataFrame, Origin, str]:
    """Read a generic layer of points (or polygons: a point inside is used) with a value column.

    Parameters
    ----------
    path
        A CSV ``lon,lat`` (WGS84) or a vector file declaring its CRS.
    ctx
        The territory: points are returned in ``ctx.crs``, those outside ``ctx.area`` dropped.
    names
        Accepted names of the value column, by priority (any case).
    field, accepted
        The column and the accepted names to report when it is missing.

    Returns
    -------
    tuple
        The points kept (index: records or FIDs), where they come from, and the value column.

    Raises
    ------
    InputError
        Unreadable file, no CRS, no value column, an empty geometry or one that is neither a
        point nor a polygon.

    """
    if path.suffix.lower() in CSV_SUFFIXES:
        layer = read_vector(path)
        origin = Origin(str(path), tabular=True)
    else:
        layer = read_vector_in_area(path, ctx)
        origin = Origin(str(path), tabular=False)
    column = find_column(layer.columns, names)
    if column is None:
        present = [c for c in layer.columns if c != layer.geometry.name]
        raise origin.missing_column(field, accepted, present)
    check_geometries(
        layer,
        origin,
        allowed=("Point", "Polygon", "MultiPolygon"),
        expected=("points (ou polygones)", "points (or polygons)"),
    )
    points = gpd.GeoDataFrame(
        layer.drop(columns=layer.geometry.name),
        geometry=representative_points(layer.geometry),
        crs=layer.crs,
    )
    return keep_in_area(points, ctx), origin, column


# --------------------------------------------------------------------------------------------
# Coordinates given by INSEE
# --------------------------------------------------------------------------------------------


def epsg_for_communes(communes: pd.Series) -> np.ndarray:
    """Return the EPSG code of the projected coordinates INSEE gives for each commune code.

    Parameters
    ----------
    communes
        Commune codes (``44109``, ``97411``, ...); null or empty means metropolitan France.

    Returns
    -------
    numpy.ndarray
        Int64 EPSG codes: :data:`OVERSEAS_EPSG` for the overseas départements, else 2154.

    """
    prefix = communes.fillna("").astype(str).str.strip().str[:3]
    return np.array(prefix.map(OVERSEAS_EPSG).fillna(2154).to_numpy(dtype="int64"), copy=True)


def project(
    x: np.ndarray,
    y: np.ndarray,
    epsg: np.ndarray,
    target: CRS,
    *,
    origin: Origin,
    labels: pd.Index,
    field: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Project coordinates given row by row in the CRS of their EPSG code.

    Parameters
    ----------
    x, y
        The coordinates.
    epsg
        The EPSG code of each row.
    target
        The CRS of the result.
    origin, labels, field
        Where the rows come from, for the message about an unknown EPSG code.

    Returns
    -------
    tuple of numpy.ndarray
        The projected x and y.

    """
    out_x = np.full(len(x), np.nan)
    out_y = np.full(len(y), np.nan)
    for code in np.unique(epsg):
        sel = epsg == code
        try:
            tf = transformer(int(code), target)
        except CRSError:
            raise origin.error(
                f"code EPSG {code} inconnu",
                f"unknown EPSG code {code}",
                label=labels[int(np.flatnonzero(sel)[0])],
                field=field,
            ) from None
        out_x[sel], out_y[sel] = tf.transform(x[sel], y[sel])
    return out_x, out_y


def in_window(
    x: np.ndarray, y: np.ndarray, window: tuple[float, float, float, float]
) -> np.ndarray:
    """Tell which points lie in a bounding box ``(x0, y0, x1, y1)`` (NaN coordinates do not)."""
    x0, y0, x1, y1 = window
    with np.errstate(invalid="ignore"):
        result: np.ndarray = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    return result
