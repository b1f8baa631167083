"""Commune contours: IGN ADMIN EXPRESS, geo.api.gouv.fr, or any polygon file with INSEE codes.

Accepted inputs
---------------
* IGN ADMIN EXPRESS (COG or not), layer ``COMMUNE`` (fields ``ID, NOM, NOM_M, INSEE_COM,
  STATUT, POPULATION, INSEE_CAN, INSEE_ARR, INSEE_DEP, INSEE_REG, SIREN_EPCI``), as a
  GeoPackage (the ``COMMUNE`` layer is picked among the others; the EPCI names come from
  its ``EPCI`` layer, fields ``CODE_SIREN, NOM``, when present) or as the shapefile
  ``COMMUNE.shp`` (EPCI names from a sibling ``EPCI.shp``). ``SIREN_EPCI`` may hold two
  codes ``MGP/EPT`` in the Métropole du Grand Paris (the first one is kept) and ``NC`` for
  the few island communes outside any EPCI (null).
* geo.api.gouv.fr GeoJSON (``/communes?...&format=geojson&geometry=contour``): properties
  ``code, nom, codeEpci, epci {code, nom}, population, codeDepartement``.
* Any GeoJSON / GeoPackage / shapefile whose INSEE code column is one of ``insee``,
  ``insee_com``, ``code_insee``, ``codgeo``, ``code``, ... (case-insensitive).

INSEE codes are checked (5 characters: digits, or ``2A``/``2B`` then 3 digits) and must be
unique. A code stored as a number (``1001`` for ``01001``) is zero-padded back to 5 digits.
The helpers :func:`check_insee_codes` and :data:`INSEE_CODE` (kept in the readers' shared
module and exported here too) serve the other readers of INSEE-coded data (carpool places,
employment zones).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from parcours.errors import InputError
from parcours.geo.tables import find_column, line_of
from parcours.geo.vector import read_vector
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ReadContext, clip_to_area
from parcours.territories.readers._common import (
    INSEE_CODE,
    check_insee_codes,
    check_polygons,
    first_duplicate,
    is_null,
)

__all__ = [
    "COMMUNE_COLUMNS",
    "INSEE_CODE",
    "check_insee_codes",
    "read_communes",
    "read_communes_file",
    "select_communes",
]

#: The normalised columns of the communes layer (plus ``geometry``).
COMMUNE_COLUMNS: tuple[str, ...] = ("insee", "name", "epci_siren", "epci_name", "population")

_INSEE_COLUMNS = (
    "insee_com",
    "insee",
    "code_insee",
    "codgeo",
    "code_commune",
    "insee_code",
    "inseecom",
    "code_com",
    "depcom",
    "com",
    "code",
)
_NAME_COLUMNS = ("nom", "name", "nom_com", "nom_commune", "libgeo", "lib_com", "libelle", "nom_m")
_EPCI_CODE_COLUMNS = ("siren_epci", "codeepci", "code_epci", "epci_siren", "epci_code", "epci")
_EPCI_NAME_COLUMNS = ("epci_name", "nom_epci", "lib_epci", "libepci", "epci_nom")
_POPULATION_COLUMNS = ("population", "pmun", "pop", "ptot")
_NO_EPCI = {"", "NC", "ZZZZZZZZZ", "NAN", "NONE", "NULL"}
_SIREN = re.compile(r"^\d{9}$")


def _text_or_none(value: Any) -> str | None:
    if is_null(value):
        return None
    text = str(value).strip()
    return text or None


def _pick_layers(path: Path) -> tuple[str | None, str | None]:
    """Return the communes layer and the optional EPCI layer of a multi-layer file."""
    if path.suffix.lower() != ".gpkg":
        return None, None
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(
            tr(f"fichier vectoriel illisible : {exc}", f"unreadable vector file: {exc}"),
            file=path,
        ) from exc
    by_lower = {layer.lower(): layer for layer in layers}
    epci = by_lower.get("epci")
    for wanted in ("commune", "communes"):
        if wanted in by_lower:
            return by_lower[wanted], epci
    if len(layers) <= 1:
        return (layers[0] if layers else None), epci
    for layer in layers:
        fields = pyogrio.read_info(path, layer=layer)["fields"]
        if find_column(fields, _INSEE_COLUMNS) is not None:
            return layer, epci
    raise InputError(
        tr(
            f"aucune couche de communes (avec un code INSEE) parmi : {', '.join(layers)}",
            f"no communes layer (with an INSEE code) among: {', '.join(layers)}",
        ),
        file=path,
    )


def _epci_names(path: Path, layer: str | None) -> dict[str, str]:
    """Read ``CODE_SIREN -> NOM`` from an ADMIN EXPRESS EPCI layer or sibling shapefile."""
    source: Path | None = None
    if layer is not None:
        source = path
    elif path.suffix.lower() == ".shp" and path.stem.lower() == "commune":
        source = next((p for p in path.parent.iterdir() if p.name.lower() == "epci.shp"), None)
    if source is None:
        return {}
    try:
        table = pyogrio.read_dataframe(source, layer=layer, read_geometry=False)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(
            tr(f"couche EPCI illisible : {exc}", f"unreadable EPCI layer: {exc}"), file=source
        ) from exc
    code_col = find_column(table.columns, ("code_siren", "siren", "code_epci", "siren_epci"))
    name_col = find_column(table.columns, ("nom", "name", "libelle", "lib_epci"))
    if code_col is None or name_col is None:
        return {}
    names: dict[str, str] = {}
    for code, label in zip(table[code_col], table[name_col], strict=True):
        key, value = _text_or_none(code), _text_or_none(label)
        if key is not None and value is not None:
            names[key] = value
    return names


def _epci_codes(values: pd.Series, *, name: str, field: str) -> list[str | None]:
    codes: list[str | None] = []
    for i, value in enumerate(values):
        if isinstance(value, dict):
            value = value.get("code")
        text = _text_or_none(value)
        if text is None or text.upper() in _NO_EPCI:
            codes.append(None)
            continue
        # Métropole du Grand Paris: "MGP/EPT"; the first code is the EPCI.
        first = text.split("/")[0].strip()
        if _SIREN.match(first) is None:
            raise InputError(
                tr(
                    f"SIREN d'EPCI invalide « {text} » (9 chiffres attendus)",
                    f"invalid EPCI SIREN '{text}' (9 digits expected)",
                ),
                file=name,
                row=line_of(i),
                field=field,
            )
        codes.append(first)
    return codes


def _nested_epci(value: Any) -> dict[str, Any] | None:
    """Return geo.api.gouv.fr's ``epci`` object, read as a dict or as JSON text."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _population(values: pd.Series, *, name: str, field: str) -> pd.Series:
    result: list[int | None] = []
    for i, value in enumerate(values):
        if is_null(value) or (isinstance(value, str) and not value.strip()):
            result.append(None)
            continue
        try:
            number = float(str(value).strip().replace("\u00a0", "").replace(" ", ""))
        except ValueError:
            number = float("nan")
        if not np.isfinite(number) or number < 0 or not number.is_integer():
            raise InputError(
                tr(
                    f"population invalide « {value} » (entier positif attendu)",
                    f"invalid population '{value}' (non-negative integer expected)",
                ),
                file=name,
                row=line_of(i),
                field=field,
            )
        result.append(int(number))
    return pd.Series(result, index=values.index, dtype="Int64")


def read_communes_file(path: str | PathLike[str]) -> gpd.GeoDataFrame:
    """Read commune contours with normalised columns, unclipped, in the file's CRS.

    Parameters
    ----------
    path
        ADMIN EXPRESS GeoPackage or ``COMMUNE.shp``, geo.api.gouv.fr GeoJSON, or any
        polygon file with an INSEE code column.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``insee``, ``name``, ``epci_siren``, ``epci_name`` (text, null when
        unknown), ``population`` (Int64, null when not given) and ``geometry``.

    Raises
    ------
    InputError
        No CRS, no INSEE column, a malformed or duplicated INSEE code, a bad EPCI SIREN
        or population, a geometry that is not a polygon.

    """
    source = Path(path)
    label = str(source)
    layer, epci_layer = (None, None) if not source.exists() else _pick_layers(source)
    with warnings.catch_warnings():
        # A GeoJSON property of mixed types (a number, then a text) is typed JSON by GDAL
        # and pyogrio warns when it cannot parse it; the values stay text and are
        # checked below with their line.
        warnings.filterwarnings("ignore", message="Could not parse column", category=UserWarning)
        frame = read_vector(source, layer=layer)
    columns = [c for c in frame.columns if c != frame.geometry.name]

    insee_col = find_column(columns, _INSEE_COLUMNS)
    if insee_col is None:
        raise InputError(
            tr(
                "colonne de code INSEE absente (attendu : INSEE_COM, insee, code, codgeo...) ; "
                f"colonnes présentes : {', '.join(map(str, columns))}",
                "INSEE code column missing (expected: INSEE_COM, insee, code, codgeo...); "
                f"columns present: {', '.join(map(str, columns))}",
            ),
            file=label,
            row=1,
            field="insee",
        )
    codes = check_insee_codes(frame[insee_col], name=label, field=insee_col)
    found = first_duplicate(codes)
    if found is not None:
        i, first = found.position, found.first
        raise InputError(
            tr(
                f"code INSEE « {codes.iloc[i]} » en double (déjà ligne {line_of(first)})",
                f"duplicate INSEE code '{codes.iloc[i]}' (already on line {line_of(first)})",
            ),
            file=label,
            row=line_of(i),
            field=insee_col,
        )
    check_polygons(frame, name=label)

    name_col = find_column(columns, _NAME_COLUMNS)
    names = (
        pd.Series([_text_or_none(v) for v in frame[name_col]], dtype="str")
        if name_col is not None
        else pd.Series([None] * len(frame), dtype="str")
    )

    epci_object_col = find_column(columns, ("epci",))
    nested: list[dict[str, Any] | None] = (
        [_nested_epci(v) for v in frame[epci_object_col]]
        if epci_object_col is not None
        else [None] * len(frame)
    )
    has_nested = any(n is not None for n in nested)
    code_columns = [c for c in columns if not (has_nested and c == epci_object_col)]
    epci_col = find_column(code_columns, _EPCI_CODE_COLUMNS)
    if epci_col is not None:
        epci_codes = _epci_codes(frame[epci_col], name=label, field=epci_col)
    elif has_nested:
        epci_codes = _epci_codes(
            pd.Series(nested, dtype=object), name=label, field=str(epci_object_col)
        )
    else:
        epci_codes = [None] * len(frame)
    lookup = _epci_names(source, epci_layer)
    epci_name_col = find_column(columns, _EPCI_NAME_COLUMNS)
    epci_names: list[str | None] = []
    for i, code in enumerate(epci_codes):
        label_i: str | None = None
        if epci_name_col is not None:
            label_i = _text_or_none(frame[epci_name_col].iloc[i])
        nested_i = nested[i]
        if label_i is None and nested_i is not None:
            label_i = _text_or_none(nested_i.get("nom"))
        if label_i is None and code is not None:
            label_i = lookup.get(code)
        epci_names.append(label_i)

    pop_col = find_column(columns, _POPULATION_COLUMNS)
    population = (
        _population(frame[pop_col].reset_index(drop=True), name=label, field=pop_col)
        if pop_col is not None
        else pd.Series([None] * len(frame), dtype="Int64")
    )
    return gpd.GeoDataFrame(
        {
            "insee": codes.reset_index(drop=True),
            "name": names.reset_index(drop=True),
            "epci_siren": pd.Series(epci_codes, dtype="str"),
            "epci_name": pd.Series(epci_names, dtype="str"),
            "population": population.reset_index(drop=True),
        },
        geometry=frame.geometry.reset_index(drop=True),
        crs=frame.crs,
    )


def read_communes(path: str | PathLike[str], ctx: ReadContext) -> list[LayerData]:
    """Read commune contours into the ``communes`` layer of a territory.

    Parameters
    ----------
    path
        See :func:`read_communes_file` for the accepted files.
    ctx
        The territory's CRS and area: communes that do not intersect it are dropped.

    Returns
    -------
    list of LayerData
        One ``communes`` layer (columns of :data:`COMMUNE_COLUMNS`), in ``ctx.crs``.

    """
    ctx.progress(tr("communes", "communes"), None)
    frame = read_communes_file(path)
    clipped = clip_to_area(frame, ctx)
    notes: list[str] = []
    if clipped.empty:
        notes.append(
            tr(
                f"{path} : aucune des {len(frame)} communes ne touche le territoire",
                f"{path}: none of the {len(frame)} communes touches the territory",
            )
        )
    return [
        LayerData(
            name="communes",
            frame=clipped,
            warnings=notes,
            extra={"source": str(path), "communes_in_file": len(frame)},
        )
    ]


def select_communes(
    frame: gpd.GeoDataFrame, codes: Sequence[str], *, name: str
) -> gpd.GeoDataFrame:
    """Return the communes of the given INSEE codes, in the order of ``codes``.

    Parameters
    ----------
    frame
        Communes with an ``insee`` column (as returned by :func:`read_communes_file`).
    codes
        The INSEE codes wanted (duplicates are ignored).
    name
        The source of ``frame`` (file path or URL), for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per requested code.

    Raises
    ------
    InputError
        When no code is given, ``frame`` has no ``insee`` column, or some codes are not
        in ``frame`` (all of them are listed).

    """
    wanted = list(dict.fromkeys(str(c).strip().upper() for c in codes if str(c).strip()))
    if not wanted:
        raise InputError(tr("aucun code INSEE donné", "no INSEE code given"), field="communes")
    if "insee" not in frame.columns:
        raise InputError(
            tr("colonne « insee » absente des communes", "column 'insee' missing from communes"),
            file=name,
            field="insee",
        )
    present = frame["insee"].astype(str).str.strip().str.upper()
    missing = [c for c in wanted if c not in set(present)]
    if missing:
        raise InputError(
            tr(
                f"{len(missing)} code(s) INSEE introuvable(s) : {', '.join(missing)} "
                "(commune fusionnée depuis ? vérifiez le millésime du fichier des communes)",
                f"{len(missing)} INSEE code(s) not found: {', '.join(missing)} "
                "(merged commune? check the vintage of the communes file)",
            ),
            file=name,
            field="insee",
        )
    position = {code: i for i, code in enumerate(present)}
    chosen = frame.iloc[[position[c] for c in wanted]].reset_index(drop=True)
    return gpd.GeoDataFrame(chosen, geometry=frame.geometry.name, crs=frame.crs)
