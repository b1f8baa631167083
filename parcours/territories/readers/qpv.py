"""Priority neighbourhoods of urban policy (quartiers prioritaires de la politique de la ville).

Accepted inputs: the ANCT / SIG-ville contour files in any polygon vector format that
declares its CRS (GeoPackage, GeoJSON, shapefile with its ``.prj``, zip of a shapefile):

* QP 2024 (France hexagonale, décret n° 2023-1314 corrected by n° 2024-806): fields
  ``code_qp, lib_qp, insee_reg, lib_reg, insee_dep, lib_dep, insee_com, lib_com,
  siren_epci`` (sometimes ``lib_epci``); a neighbourhood spread over several communes
  is published as one feature per commune, which are merged here.
* QP 2015 (décret n° 2014-1750): fields ``CODE_QP, NOM_QP, COMMUNE_QP``.

Field names are matched case-insensitively. The layer's ``communes`` column holds the
commune *names* (``lib_com`` or ``COMMUNE_QP``, the only field both vintages share),
distinct values joined by ``", "``; null when the file has no such field.
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from parcours.errors import InputError
from parcours.geo.tables import find_column, line_of
from parcours.geo.vector import read_vector
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ReadContext, clip_to_area
from parcours.territories.readers._common import check_polygons

__all__ = ["QPV_COLUMNS", "read_qpv"]

#: The normalised columns of the qpv layer (plus ``geometry``).
QPV_COLUMNS: tuple[str, ...] = ("code_qp", "name", "communes")

# 2015: QP + département on 3 + number on 3 (QP014001); 2024: QN + département on 3
# + number on 2 + a letter (QN01402M). Kept loose on length for the overseas variants.
_CODE = re.compile(r"^Q[A-Z0-9]{5,10}$")


def _text(value: object) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):  # type: ignore[call-overload]
            return ""
    except (TypeError, ValueError):
        pass
    return str(value).strip()


def read_qpv(path: str | PathLike[str], ctx: ReadContext) -> list[LayerData]:
    """Read QPV contours into the ``qpv`` layer.

    Parameters
    ----------
    path
        A polygon vector file of the QP 2024 or QP 2015 contours (with a CRS).
    ctx
        The territory's CRS and area: neighbourhoods outside the area are dropped.

    Returns
    -------
    list of LayerData
        One ``qpv`` layer: (Multi)Polygons in ``ctx.crs``, columns ``code_qp``, ``name``,
        ``communes``; one row per neighbourhood.

    Raises
    ------
    InputError
        No CRS, no code or name field, an empty or malformed code, an empty name, a
        geometry that is empty or not a polygon; the message names file, line, field.

    """
    source = Path(path)
    label = str(source)
    ctx.progress(tr("quartiers prioritaires", "priority neighbourhoods"), None)
    frame = read_vector(source)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    code_col = find_column(columns, ("code_qp", "code_quartier", "qp"))
    name_col = find_column(columns, ("lib_qp", "nom_qp", "noms_des_quartiers_prioritaires"))
    communes_col = find_column(columns, ("lib_com", "commune_qp", "nom_com", "communes"))
    for wanted, found in (("code_qp", code_col), ("lib_qp", name_col)):
        if found is None:
            raise InputError(
                tr(
                    "champ obligatoire absent (QP 2024 : code_qp, lib_qp ; QP 2015 : CODE_QP, "
                    f"NOM_QP) ; champs présents : {', '.join(map(str, columns))}",
                    "required field missing (QP 2024: code_qp, lib_qp; QP 2015: CODE_QP, "
                    f"NOM_QP); fields present: {', '.join(map(str, columns))}",
                ),
                file=label,
                row=1,
                field=wanted,
            )
    assert code_col is not None and name_col is not None

    codes = [_text(v).upper() for v in frame[code_col]]
    names = [_text(v) for v in frame[name_col]]
    for i, code in enumerate(codes):
        if not code:
            raise InputError(
                tr("code de quartier vide", "empty neighbourhood code"),
                file=label,
                row=line_of(i),
                field=code_col,
            )
        if _CODE.match(code) is None:
            raise InputError(
                tr(
                    f"code de quartier invalide « {frame[code_col].iloc[i]} » "
                    "(attendu QN01402M ou QP014001)",
                    f"invalid neighbourhood code '{frame[code_col].iloc[i]}' "
                    "(expected QN01402M or QP014001)",
                ),
                file=label,
                row=line_of(i),
                field=code_col,
            )
        if not names[i]:
            raise InputError(
                tr("nom de quartier vide", "empty neighbourhood name"),
                file=label,
                row=line_of(i),
                field=name_col,
            )
    check_polygons(frame, name=label)
    geoms = frame.geometry

    # One row per neighbourhood: merge the per-commune pieces of QP 2024.
    order: dict[str, list[int]] = {}
    for i, code in enumerate(codes):
        order.setdefault(code, []).append(i)
    rows_code: list[str] = []
    rows_name: list[str] = []
    rows_communes: list[str | None] = []
    rows_geom: list[shapely.Geometry] = []
    geometry_array = geoms.to_numpy()
    for code, positions in order.items():
        rows_code.append(code)
        rows_name.append(names[positions[0]])
        if communes_col is not None:
            parts: list[str] = []
            for i in positions:
                for piece in _text(frame[communes_col].iloc[i]).split(";"):
                    if piece.strip() and piece.strip() not in parts:
                        parts.append(piece.strip())
            rows_communes.append(", ".join(parts) or None)
        else:
            rows_communes.append(None)
        pieces = geometry_array[positions]
        rows_geom.append(pieces[0] if len(pieces) == 1 else shapely.union_all(pieces))
    layer = gpd.GeoDataFrame(
        {
            "code_qp": pd.Series(rows_code, dtype="str"),
            "name": pd.Series(rows_name, dtype="str"),
            "communes": pd.Series(rows_communes, dtype="str"),
        },
        geometry=rows_geom,
        crs=frame.crs,
    )
    clipped = clip_to_area(layer, ctx)
    return [
        LayerData(
            name="qpv",
            frame=clipped,
            extra={
                "source": label,
                "features_in_file": len(frame),
                "neighbourhoods_in_file": len(layer),
                "vintage": "2015" if name_col.lower() == "nom_qp" else "2024",
            },
        )
    ]
