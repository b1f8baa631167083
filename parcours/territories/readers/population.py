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
case-insensitive) and optionally a households column. ``source`` is ``generic``. Without an
id column (``cell_id``, ``id``, ``gid``...) the ``cell_id`` is the record number (CSV, from
0) or the FID, and ``extra["cell_ids_generated"]`` says so.

Checks and locations
--------------------
Features are clipped to the area first (a vector file is read through a bounding-box filter,
so a national Filosofi GeoPackage is not loaded whole), then the values of the features kept
are checked: an empty, non-numeric or negative population is an :class:`InputError` naming
the file, the line (CSV; the header is line 1) or the feature id (vector files, the FID QGIS
shows) and the field. The population total is returned in ``LayerData.extra``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from parcours.errors import InputError
from parcours.geo.crs import WGS84
from parcours.geo.tables import TextTable, find_column, read_text_table, to_int
from parcours.geo.vector import (
    CSV_SUFFIXES,
    lonlat_columns,
    lonlat_points,
    representative_points,
)
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ReadContext, keep_in_area
from parcours.territories.readers._common import (
    Origin,
    check_geometries,
    check_unique,
    checked,
    float_column,
    read_vector_in_area,
    text_column,
    text_ids,
    vector_uri,
)

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
_INSPIRE_ID = r"^CRS(\d+)RES(\d+)mN(\d+)E(\d+)$"


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
        "cell_ids_generated": bool(frame.attrs.get("cell_ids_generated", False)),
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
    check_unique(ids, origin, id_col)
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
    lon_col, lat_col = lonlat_columns(frame.columns)
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
    layer = lonlat_points(frame, lon_col, lat_col, name=origin.name)
    kept = keep_in_area(layer, ctx)
    return _generic_values(kept, origin, ctx, source="generic", id_col=id_col), "points"


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
        cell_ids = text_ids(kept[id_col], origin, id_col).to_numpy()
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
    frame = _layer(data, kept.geometry.to_numpy(), ctx)
    # Without an id column the ids are the file's record numbers (or FIDs): unique in the
    # file only, so a load of several files renumbers them (see territories.load).
    frame.attrs["cell_ids_generated"] = id_col is None
    return frame


# --------------------------------------------------------------------------------------------
# Common
# --------------------------------------------------------------------------------------------


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
