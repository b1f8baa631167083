"""Population layer: the INSEE Filosofi 200 m grid, H3 hexgrids, any gridded or point population.

Sources understood
------------------
**INSEE Filosofi, « données carroyées » at 200 m.** A GeoPackage or shapefile (EPSG:2154 in
metropolitan France; the overseas files carry their local CRS), or the CSV file without
geometry. The column lists follow INSEE's documentation of each edition (insee.fr, « Revenus,
pauvreté et niveau de vie en AAAA – Données carroyées », documentation and « dictionnaire des
variables » of the 200 m grid):

* Filosofi 2019, lower case: ``idcar_200m, idcar_1km, idcar_nat, i_est_200,
  i_est_1km, lcog_geo, ind, men, men_pauv, men_1ind, men_5ind, men_prop, men_fmp, ind_snv,
  men_surf, men_coll, men_mais, log_av45, log_45_70, log_70_90, log_ap90, log_inc, log_soc,
  ind_0_3, ind_4_5, ind_6_10, ind_11_17, ind_18_24, ind_25_39, ind_40_54, ind_55_64,
  ind_65_79, ind_80p, ind_inc``;
* Filosofi 2017, capitalised: ``Idcar_200m, I_est_200, Idcar_1km, I_est_1km, Idcar_nat,
  Groupe, Ind, Men, Men_pauv, ..., Ind_inc, Lcog_geo`` (the CSV spells ``lcog_geo``);
* Filosofi 2015: ``IdINSPIRE, Id_carr1km, I_est_cr, Id_carr_n, Groupe, Depcom, I_pauv,
  Id_car2010, Ind, Men, Men_pauv, ..., Ind_inc``.

Names are matched case-insensitively. A cell id is the INSPIRE id of INSEE's LAEA grid,
``CRS3035RES200mN2029800E4252400``: the CRS (EPSG:3035), the cell size in metres, then the
northing and the easting of the cell's lower-left (south-west) corner. When the file has no
geometry (CSV), the square is rebuilt from the id and projected. Mapping: ``population`` =
``ind``, ``households`` = ``men``, ``poor_households`` = ``men_pauv``, ``income_sum_eur`` =
``ind_snv`` (sum of the winsorised standards of living), ``imputed`` = ``i_est_200``
(``I_est_cr`` in 2015: the cell holds approximate values, imputed to respect the statistical
secret); the other counts of :data:`FILOSOFI_COUNTS` are kept, lower-cased.

**H3 hexgrids** (e.g. IPEA's Access to Opportunities grids as shipped with r5r/r5py): a CSV
``id,lon,lat,population,...`` whose ``id`` are H3 cells: the hexagons are built with
``h3.cell_to_boundary``; or a vector layer of those hexagons. ``source`` is ``hexgrid``.

**Any other layer**: polygons (grid cells, blocks) or points, a vector file declaring its CRS
or a CSV ``lon,lat`` (WGS84), with a population column (:data:`POPULATION_NAMES`,
case-insensitive) and optionally a households column. ``source`` is ``generic``.

Checks and locations
--------------------
Features are clipped to the area first (a vector file is read through a bounding-box filter,
so a national Filosofi GeoPackage is not loaded whole), then the values of the features kept
are checked: an empty, non-numeric or negative population is an :class:`InputError` naming
the file, the line (CSV; the header is line 1) or the feature id (vector files, the FID QGIS
shows) and the field. The population total is returned in ``LayerData.extra``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from parcours.errors import InputError
from parcours.geo.crs import WGS84, require_crs
from parcours.geo.tables import TextTable, line_of, read_text_table, to_float, to_int
from parcours.geo.vector import CSV_SUFFIXES, read_vector
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ReadContext

__all__ = [
    "FILOSOFI_COUNTS",
    "HOUSEHOLD_NAMES",
    "POPULATION_COLUMNS",
    "POPULATION_NAMES",
    "Origin",
    "check_geometries",
    "checked",
    "find_column",
    "float_column",
    "inspire_squares",
    "keep_in_area",
    "read_population",
    "read_vector_in_area",
    "representative_points",
    "text_column",
    "vector_uri",
]

#: Filosofi counts kept besides the mapped ones (lower-cased names of the 2019 edition).
FILOSOFI_COUNTS: tuple[str, ...] = (
    "men_1ind",
    "men_5ind",
    "men_prop",
    "men_fmp",
    "men_surf",
    "men_coll",
    "men_mais",
    "log_av45",
    "log_45_70",
    "log_70_90",
    "log_ap90",
    "log_inc",
    "log_soc",
    "ind_0_3",
    "ind_4_5",
    "ind_6_10",
    "ind_11_17",
    "ind_18_24",
    "ind_25_39",
    "ind_40_54",
    "ind_55_64",
    "ind_65_79",
    "ind_80p",
    "ind_inc",
)

#: Accepted names of the population column of a generic layer, by priority (any case).
POPULATION_NAMES: tuple[str, ...] = (
    "population",
    "pop",
    "ind",
    "habitants",
    "inhabitants",
    "pop_total",
)

#: Accepted names of the optional households column of a generic layer (any case).
HOUSEHOLD_NAMES: tuple[str, ...] = ("households", "menages", "ménages", "men")

#: The columns of the ``population`` layer, before Filosofi's extra counts and the geometry.
POPULATION_COLUMNS: tuple[str, ...] = (
    "cell_id",
    "population",
    "households",
    "poor_households",
    "income_sum_eur",
    "imputed",
    "source",
)

_ID_NAMES = ("cell_id", "id", "idcar_200m", "idinspire", "gid")
_LONLAT_PAIRS = (
    ("lon", "lat"),
    ("lng", "lat"),
    ("longitude", "latitude"),
    ("xlong", "ylat"),
    ("x", "y"),
)
_INSPIRE_ID = r"^CRS(\d+)RES(\d+)mN(\d+)E(\d+)$"
# Margin (m) around the area's bounding box when reading a vector file through a bbox filter.
_BBOX_MARGIN_M = 500.0
_VECTOR_MEMBERS = (".gpkg", ".shp", ".geojson", ".json", ".fgb")

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Helpers shared with the jobs and services readers
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
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def find_column(columns: Iterable[Any], names: Sequence[str]) -> str | None:
    """Return the first column whose lower-cased name is in ``names`` (by priority), or None."""
    lower: dict[str, str] = {}
    for column in columns:
        lower.setdefault(str(column).strip().lower(), str(column))
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def vector_uri(path: Path) -> str:
    """Return the GDAL path of a vector file, reaching inside a zip archive."""
    if path.suffix.lower() != ".zip":
        return str(path)
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.namelist() if not m.endswith("/")]
    for wanted in _VECTOR_MEMBERS:
        for member in members:
            if member.lower().endswith(wanted):
                return f"/vsizip/{path}/{member}"
    raise InputError(
        tr(
            "archive sans couche vectorielle (.gpkg, .shp, .geojson)",
            "archive holds no vector layer (.gpkg, .shp, .geojson)",
        ),
        file=path,
    )


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


def keep_in_area(frame: gpd.GeoDataFrame, ctx: ReadContext) -> gpd.GeoDataFrame:
    """Project to the territory CRS and keep the features meeting the area, keeping the index."""
    projected = frame if CRS.from_user_input(frame.crs).equals(ctx.crs) else frame.to_crs(ctx.crs)
    keep = shapely.intersects(projected.geometry.to_numpy(), ctx.area)
    return projected.loc[keep]


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


def representative_points(geoms: gpd.GeoSeries) -> np.ndarray:
    """Return points for features: points as they are, the centroid of a polygon if inside it."""
    values = geoms.to_numpy()
    centroids = shapely.centroid(values)
    on_surface = shapely.point_on_surface(values)
    inside = shapely.contains(values, centroids) | (shapely.get_type_id(values) == 0)
    result: np.ndarray = np.where(inside, centroids, on_surface)
    return result


# --------------------------------------------------------------------------------------------
# The reader
# --------------------------------------------------------------------------------------------


def read_population(path: Path, ctx: ReadContext) -> list[LayerData]:
    """Read a population grid or point layer into the ``population`` layer.

    Parameters
    ----------
    path
        A Filosofi 200 m file (GeoPackage, shapefile or CSV, editions 2015, 2017, 2019), an H3
        hexgrid (CSV ``id,lon,lat,population`` or polygons), or any polygon/point layer (or
        CSV ``lon,lat`` in WGS84) with a population column.
    ctx
        The territory: features are returned in ``ctx.crs`` and clipped to ``ctx.area``.

    Returns
    -------
    list of LayerData
        One ``population`` layer (columns in ``docs/layers.md``); ``extra`` holds
        ``population_total``, ``cells``, ``source`` and ``schema``.

    Raises
    ------
    InputError
        Unreadable file, no CRS, missing column, bad identifier, or an empty, non-numeric or
        negative value in a kept feature (with its file, line or FID, and field).

    """
    path = Path(path)
    if not path.exists():
        raise InputError(tr("fichier introuvable", "file not found"), file=path)
    ctx.progress(tr("population : lecture", "population: reading"), None)
    if path.suffix.lower() in CSV_SUFFIXES:
        table = read_text_table(path)
        origin = Origin(table.name, tabular=True)
        if _filosofi_id_column(table.frame.columns) is not None:
            frame, schema = _filosofi_from_csv(table, origin, ctx)
        else:
            frame, schema = _points_or_hexagons_from_csv(table, origin, ctx)
    else:
        layer = read_vector_in_area(path, ctx)
        origin = Origin(str(path), tabular=False)
        check_geometries(
            layer,
            origin,
            allowed=("Polygon", "MultiPolygon", "Point"),
            expected=("polygones (carreaux) ou points", "polygons (cells) or points"),
        )
        if _filosofi_id_column(layer.columns) is not None and find_column(layer.columns, ["ind"]):
            kept = keep_in_area(layer, ctx)
            frame, schema = _filosofi_frame(kept, origin, kept.geometry.to_numpy(), ctx)
        else:
            frame, schema = _generic_frame(layer, origin, ctx)
    total = float(frame["population"].sum())
    extra = {
        "population_total": total,
        "cells": len(frame),
        "source": frame["source"].iloc[0] if len(frame) else None,
        "schema": schema,
    }
    warnings: list[str] = []
    if frame.empty:
        warnings.append(
            tr(
                "aucune population dans le périmètre : le fichier couvre-t-il le territoire ?",
                "no population inside the area: check that the file covers the territory",
            )
        )
    return [LayerData(name="population", frame=frame, warnings=warnings, extra=extra)]


# --------------------------------------------------------------------------------------------
# Filosofi
# --------------------------------------------------------------------------------------------


def _filosofi_id_column(columns: Iterable[Any]) -> str | None:
    return find_column(columns, ["idcar_200m", "idinspire"])


def _filosofi_schema(id_column: str) -> str:
    return {"idcar_200m": "filosofi-2019", "Idcar_200m": "filosofi-2017"}.get(
        id_column, "filosofi-2015"
    )


def _filosofi_from_csv(
    table: TextTable, origin: Origin, ctx: ReadContext
) -> tuple[gpd.GeoDataFrame, str]:
    frame = table.frame
    id_col = _filosofi_id_column(frame.columns)
    assert id_col is not None
    squares = inspire_squares(frame[id_col], origin, field=id_col, target=ctx.crs)
    keep = shapely.intersects(squares, ctx.area)
    kept = frame.loc[keep]
    return _filosofi_frame(kept, origin, squares[keep], ctx)


def inspire_squares(ids: pd.Series, origin: Origin, *, field: str, target: CRS) -> np.ndarray:
    """Build the squares of INSPIRE grid ids (``CRS3035RES200mN2029800E4252400``) in ``target``.

    Parameters
    ----------
    ids
        The ids (index labels locate the rows in messages).
    origin
        The file they come from.
    field
        The id column, for messages.
    target
        The CRS of the result.

    Returns
    -------
    numpy.ndarray
        Shapely polygons (the cell's square, projected), aligned with ``ids``.

    """
    text = ids.astype(str).str.strip()
    parts = text.str.extract(_INSPIRE_ID)
    bad = parts[0].isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise origin.error(
            f"identifiant de carreau INSPIRE attendu (CRS3035RES200mN…E…), "
            f"trouvé « {text.iloc[i]} »",
            f"INSPIRE grid cell id expected (CRS3035RES200mN…E…), found '{text.iloc[i]}'",
            label=ids.index[i],
            field=field,
        )
    epsg = parts[0].astype("int64").to_numpy()
    size = parts[1].astype("float64").to_numpy()
    north = parts[2].astype("float64").to_numpy()
    east = parts[3].astype("float64").to_numpy()
    squares = np.empty(len(text), dtype=object)
    for code in np.unique(epsg):
        sel = epsg == code
        boxes = shapely.box(east[sel], north[sel], east[sel] + size[sel], north[sel] + size[sel])
        projected = gpd.GeoSeries(boxes, crs=CRS.from_epsg(int(code))).to_crs(target)
        squares[sel] = projected.to_numpy()
    return squares


def _filosofi_frame(
    kept: pd.DataFrame, origin: Origin, geometry: np.ndarray, ctx: ReadContext
) -> tuple[gpd.GeoDataFrame, str]:
    id_col = _filosofi_id_column(kept.columns)
    assert id_col is not None
    imputed_col = find_column(kept.columns, ["i_est_200", "i_est_cr"])
    columns: dict[str, str] = {}
    for wanted in ("ind", "men", "men_pauv", "ind_snv"):
        found = find_column(kept.columns, [wanted])
        if found is None:
            raise origin.missing_column(wanted, [wanted], list(kept.columns))
        columns[wanted] = found
    if imputed_col is None:
        raise origin.missing_column(
            "i_est_200", ["i_est_200", "I_est_200", "I_est_cr"], list(kept.columns)
        )
    ids = text_column(kept[id_col])
    _check_unique(ids, origin, id_col)
    imputed_values = kept[imputed_col]
    if pd.api.types.is_numeric_dtype(imputed_values):
        imputed_values = imputed_values.astype("float64").map(
            lambda v: "" if pd.isna(v) else f"{v:g}"
        )
    imputed = checked(to_int, imputed_values.astype(str), origin, field=imputed_col, allowed=(0, 1))
    data: dict[str, Any] = {
        "cell_id": ids.to_numpy(),
        "population": float_column(kept[columns["ind"]], origin, field=columns["ind"], minimum=0),
        "households": float_column(kept[columns["men"]], origin, field=columns["men"], minimum=0),
        "poor_households": float_column(
            kept[columns["men_pauv"]], origin, field=columns["men_pauv"], minimum=0
        ),
        "income_sum_eur": float_column(
            kept[columns["ind_snv"]], origin, field=columns["ind_snv"], minimum=0
        ),
        "imputed": imputed.astype(bool),
        "source": "filosofi",
    }
    for count in FILOSOFI_COUNTS:
        found = find_column(kept.columns, [count])
        if found is not None:
            data[count] = float_column(kept[found], origin, field=found, minimum=0)
    frame = _layer(data, geometry, ctx)
    return frame, _filosofi_schema(id_col)


# --------------------------------------------------------------------------------------------
# H3 hexgrids and generic layers
# --------------------------------------------------------------------------------------------


def _points_or_hexagons_from_csv(
    table: TextTable, origin: Origin, ctx: ReadContext
) -> tuple[gpd.GeoDataFrame, str]:
    frame = table.frame
    id_col = find_column(frame.columns, ["id", "cell_id", "h3", "h3_index", "id_hex"])
    if id_col is not None and _looks_like_h3(frame[id_col]):
        hexagons = _h3_hexagons(frame[id_col], origin, id_col)
        layer = gpd.GeoDataFrame(frame, geometry=hexagons, crs=WGS84)
        kept = keep_in_area(layer, ctx)
        return _generic_values(kept, origin, ctx, source="hexgrid", id_col=id_col), "h3"
    lon_col, lat_col = _lonlat_columns(frame.columns)
    if lon_col is None or lat_col is None:
        raise InputError(
            tr(
                "colonnes de coordonnées absentes : attendu lon,lat (WGS84), des identifiants H3 "
                "ou des identifiants de carreaux INSEE (idcar_200m)",
                "coordinate columns missing: expected lon,lat (WGS84), H3 ids or INSEE grid ids "
                "(idcar_200m)",
            ),
            file=origin.name,
            row=1,
        )
    lon = to_float(frame[lon_col], name=origin.name, field=lon_col, minimum=-180, maximum=180)
    lat = to_float(frame[lat_col], name=origin.name, field=lat_col, minimum=-90, maximum=90)
    layer = gpd.GeoDataFrame(
        frame.drop(columns=[lon_col, lat_col]), geometry=gpd.points_from_xy(lon, lat), crs=WGS84
    )
    kept = keep_in_area(layer, ctx)
    return _generic_values(kept, origin, ctx, source="generic", id_col=id_col), "points"


def _lonlat_columns(columns: Iterable[Any]) -> tuple[str | None, str | None]:
    for lon_name, lat_name in _LONLAT_PAIRS:
        lon = find_column(columns, [lon_name])
        lat = find_column(columns, [lat_name])
        if lon is not None and lat is not None:
            return lon, lat
    return None, None


def _looks_like_h3(ids: pd.Series) -> bool:
    text = ids.astype(str).str.strip()
    filled = text[text != ""]
    return bool(len(filled)) and bool(h3.is_valid_cell(filled.iloc[0]))


def _h3_hexagons(ids: pd.Series, origin: Origin, field: str) -> np.ndarray:
    text = ids.astype(str).str.strip()
    hexagons = np.empty(len(text), dtype=object)
    for i, cell in enumerate(text.to_numpy()):
        if not h3.is_valid_cell(cell):
            raise origin.error(
                f"identifiant H3 invalide « {cell} »",
                f"invalid H3 cell id '{cell}'",
                label=ids.index[i],
                field=field,
            )
        boundary = h3.cell_to_boundary(cell)  # ((lat, lng), ...)
        hexagons[i] = shapely.Polygon([(lng, lat) for lat, lng in boundary])
    return hexagons


def _generic_frame(
    layer: gpd.GeoDataFrame, origin: Origin, ctx: ReadContext
) -> tuple[gpd.GeoDataFrame, str]:
    id_col = find_column(layer.columns, _ID_NAMES)
    source = "generic"
    if id_col is not None and _looks_like_h3(layer[id_col]):
        source = "hexgrid"
    kept = keep_in_area(layer, ctx)
    schema = "h3" if source == "hexgrid" else "vector"
    return _generic_values(kept, origin, ctx, source=source, id_col=id_col), schema


def _generic_values(
    kept: gpd.GeoDataFrame, origin: Origin, ctx: ReadContext, *, source: str, id_col: str | None
) -> gpd.GeoDataFrame:
    pop_col = find_column(kept.columns, POPULATION_NAMES)
    if pop_col is None:
        raise origin.missing_column(
            "population", POPULATION_NAMES, [c for c in kept.columns if c != kept.geometry.name]
        )
    hh_col = find_column(kept.columns, HOUSEHOLD_NAMES)
    if id_col is not None:
        ids = text_column(kept[id_col])
        empty = ids.isna().to_numpy()
        if empty.any():
            label = kept.index[int(np.flatnonzero(empty)[0])]
            raise origin.error("identifiant vide", "empty identifier", label=label, field=id_col)
        _check_unique(ids, origin, id_col)
        cell_ids = ids.to_numpy()
    else:
        cell_ids = np.array([str(label) for label in kept.index], dtype=object)
    n = len(kept)
    households = (
        float_column(kept[hh_col], origin, field=hh_col, required=False, minimum=0)
        if hh_col is not None
        else np.full(n, np.nan)
    )
    data: dict[str, Any] = {
        "cell_id": cell_ids,
        "population": float_column(kept[pop_col], origin, field=pop_col, minimum=0),
        "households": households,
        "poor_households": np.full(n, np.nan),
        "income_sum_eur": np.full(n, np.nan),
        "imputed": np.zeros(n, dtype=bool),
        "source": source,
    }
    return _layer(data, kept.geometry.to_numpy(), ctx)


# --------------------------------------------------------------------------------------------
# Common
# --------------------------------------------------------------------------------------------


def _check_unique(ids: pd.Series, origin: Origin, field: str) -> None:
    dup = ids.duplicated().to_numpy() & ids.notna().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise origin.error(
            f"identifiant « {ids.iloc[i]} » en double",
            f"duplicate identifier '{ids.iloc[i]}'",
            label=ids.index[i],
            field=field,
        )


def _layer(data: dict[str, Any], geometry: np.ndarray, ctx: ReadContext) -> gpd.GeoDataFrame:
    n = len(geometry)
    columns: dict[str, Any] = {
        "cell_id": pd.Series(np.asarray(data["cell_id"], dtype=object), dtype="str"),
        "population": np.asarray(data["population"], dtype="float64"),
        "households": np.asarray(data["households"], dtype="float64"),
        "poor_households": np.asarray(data["poor_households"], dtype="float64"),
        "income_sum_eur": np.asarray(data["income_sum_eur"], dtype="float64"),
        "imputed": np.asarray(data["imputed"], dtype=bool),
        "source": pd.Series([data["source"]] * n, dtype="str"),
    }
    for key, values in data.items():
        if key not in columns:
            columns[key] = np.asarray(values, dtype="float64")
    frame = pd.DataFrame(columns)
    return gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(geometry, crs=ctx.crs).reset_index(drop=True), crs=ctx.crs
    )
