"""Employment zones (zones d'emploi 2020, INSEE).

Accepted inputs
---------------
* INSEE's composition table "Zonage en zones d'emploi 2020" (e.g.
  ``ZE2020_au_01-01-2024.xlsx``): sheet ``Composition_communale``, a few title lines,
  then the header ``CODGEO, LIBGEO, ZE2020, LIBZE2020, ZE2020_PARTIE_REG, DEP, REG`` and
  one row per commune. The same table as a ``;`` (or ``,``) CSV, with or without the
  title lines. The zones' geometry is then the communes of the territory (the
  ``communes`` argument: the territory's communes layer, in ``ctx.crs``) dissolved per
  zone, so the communes must be loaded first.
* A polygon vector file of zones with a ``ze2020`` or ``ze_code`` field (and
  ``libze2020`` / ``ze_name`` for the name).

Row numbers in messages are those a spreadsheet shows: the sheet row in an XLSX file,
the line in a CSV (the header found after the title lines keeps its own line number).
"""

from __future__ import annotations

import re
import warnings as pywarnings
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from parcours.errors import InputError
from parcours.geo.tables import decode_text, find_column, line_of, read_text_table
from parcours.geo.vector import read_vector
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ReadContext, clip_to_area
from parcours.territories.readers._common import check_insee_codes, first_duplicate

__all__ = ["EMPLOYMENT_ZONE_COLUMNS", "read_employment_zones"]

#: The normalised columns of the employment_zones layer (plus ``geometry``).
EMPLOYMENT_ZONE_COLUMNS: tuple[str, ...] = ("ze_code", "ze_name", "communes")

_SHEET = "Composition_communale"
_HEADER_SCAN_ROWS = 30
_ZE_CODE = re.compile(r"^\d{4}$")
_ZE_CODE_COLUMNS = ("ze2020", "ze_code", "ze", "code_ze", "ze2010")
_ZE_NAME_COLUMNS = ("libze2020", "ze_name", "libze", "lib_ze", "nom_ze", "libze2010", "nom")
_MAX_LISTED = 10


class _Composition:
    """A composition table: the values as text and how to number their rows."""

    def __init__(
        self, frame: pd.DataFrame, name: str, header_row: int, row_of: Callable[[int], int]
    ) -> None:
        self.frame = frame
        self.name = name
        self.header_row = header_row
        self.row_of = row_of


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_xlsx(path: Path) -> _Composition:
    import openpyxl

    with pywarnings.catch_warnings():
        # openpyxl warns about styles and data validation it does not read.
        pywarnings.simplefilter("ignore", UserWarning)
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile/openpyxl raise many types for a bad file
            raise InputError(
                tr(f"classeur XLSX illisible : {exc}", f"unreadable XLSX workbook: {exc}"),
                file=path,
            ) from exc
    try:
        sheets = list(workbook.sheetnames)
        ordered = sorted(sheets, key=lambda s: s.lower() != _SHEET.lower())
        for sheet_name in ordered:
            rows = list(workbook[sheet_name].iter_rows(values_only=True))
            for h, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
                header = [_cell_text(v) for v in row]
                if any(v.upper() == "CODGEO" for v in header):
                    return _table_from_rows(
                        header, rows[h + 1 :], name=f"{path}/{sheet_name}", header_row=h + 1
                    )
    finally:
        workbook.close()
    raise InputError(
        tr(
            f"aucune feuille avec un en-tête CODGEO (feuilles : {', '.join(sheets)}) ; "
            f"attendu la feuille {_SHEET} de l'INSEE",
            f"no sheet with a CODGEO header (sheets: {', '.join(sheets)}); "
            f"expected INSEE's {_SHEET} sheet",
        ),
        file=path,
        field="CODGEO",
    )


def _table_from_rows(
    header: list[str], rows: list[tuple[Any, ...]], *, name: str, header_row: int
) -> _Composition:
    width = len(header)
    keep = [j for j, h in enumerate(header) if h]
    # A code typed as a number in Excel lost its leading zeros: 1001 is commune 01001.
    pad = {
        j: 5 if h.upper() == "CODGEO" else 4
        for j, h in enumerate(header)
        if h.upper() == "CODGEO" or re.fullmatch(r"ZE\d{4}", h.upper())
    }
    records: list[list[str]] = []
    sheet_rows: list[int] = []
    for k, row in enumerate(rows):
        cells = [_cell_text(row[j]) if j < len(row) else "" for j in range(width)]
        for j, digits in pad.items():
            value = row[j] if j < len(row) else None
            if isinstance(value, int | float) and not isinstance(value, bool):
                cells[j] = cells[j].zfill(digits)
        if not any(cells):
            continue  # blank line (e.g. at the end of the sheet)
        records.append([cells[j] for j in keep])
        sheet_rows.append(header_row + 1 + k)
    frame = pd.DataFrame(records, columns=[header[j] for j in keep], dtype=object)
    return _Composition(frame, name, header_row, lambda i: sheet_rows[i])


def _read_csv(path: Path) -> _Composition:
    label = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(tr("fichier introuvable", "file not found"), file=path) from exc
    text, _ = decode_text(raw, name=label)
    lines = text.splitlines(keepends=True)
    header_index = next(
        (
            k
            for k, line in enumerate(lines[:_HEADER_SCAN_ROWS])
            if any(
                cell.strip().strip('"').upper() == "CODGEO" for cell in re.split(r"[;,\t]", line)
            )
        ),
        None,
    )
    if header_index is None:
        raise InputError(
            tr(
                "en-tête CODGEO introuvable dans les premières lignes",
                "CODGEO header not found in the first lines",
            ),
            file=label,
            field="CODGEO",
        )
    table = read_text_table("".join(lines[header_index:]).encode("utf-8"), name=label)
    offset = header_index
    return _Composition(table.frame, label, offset + 1, lambda i: line_of(i) + offset)


def _as_multipolygon(geometry: shapely.Geometry) -> shapely.MultiPolygon:
    if isinstance(geometry, shapely.MultiPolygon):
        return geometry
    if isinstance(geometry, shapely.Polygon):
        return shapely.MultiPolygon([geometry])
    polygons: list[shapely.Polygon] = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, shapely.Polygon):
            polygons.append(part)
        elif isinstance(part, shapely.MultiPolygon):
            polygons.extend(part.geoms)
    return shapely.MultiPolygon(polygons)


def _prepare_communes(communes: gpd.GeoDataFrame, ctx: ReadContext) -> gpd.GeoDataFrame:
    if "insee" not in communes.columns:
        raise InputError(
            tr(
                "la couche des communes n'a pas de colonne « insee »",
                "the communes layer has no 'insee' column",
            ),
            field="insee",
        )
    if communes.crs is not None and not CRS.from_user_input(communes.crs).equals(ctx.crs):
        communes = communes.to_crs(ctx.crs)
    return communes


def _from_composition(
    table: _Composition, ctx: ReadContext, communes: gpd.GeoDataFrame | None
) -> tuple[gpd.GeoDataFrame, list[str], dict[str, Any]]:
    frame = table.frame
    columns = list(frame.columns)
    code_col = find_column(columns, ("codgeo",))
    ze_col = find_column(columns, _ZE_CODE_COLUMNS)
    name_col = find_column(columns, ("libze2020", "libze", "libze2010"))
    for wanted, found in (("CODGEO", code_col), ("ZE2020", ze_col)):
        if found is None:
            raise InputError(
                tr(
                    f"colonne obligatoire absente (colonnes présentes : {', '.join(columns)})",
                    f"required column missing (columns present: {', '.join(columns)})",
                ),
                file=table.name,
                row=table.header_row,
                field=wanted,
            )
    assert code_col is not None and ze_col is not None
    codes = check_insee_codes(frame[code_col], name=table.name, field=code_col, row_of=table.row_of)
    zones = [str(v).strip() for v in frame[ze_col]]
    for i, zone in enumerate(zones):
        if _ZE_CODE.match(zone) is None:
            raise InputError(
                tr(
                    f"code de zone d'emploi invalide « {zone} » (4 chiffres attendus, ex. 2802)",
                    f"invalid employment zone code '{zone}' (4 digits expected, e.g. 2802)",
                )
                if zone
                else tr("valeur vide", "empty value"),
                file=table.name,
                row=table.row_of(i),
                field=ze_col,
            )
    repeated = first_duplicate(codes)
    if repeated is not None:
        i = repeated.position
        raise InputError(
            tr(f"commune « {codes.iloc[i]} » en double", f"duplicate commune '{codes.iloc[i]}'"),
            file=table.name,
            row=table.row_of(i),
            field=code_col,
        )
    if communes is None:
        raise InputError(
            tr(
                "une table de composition des zones d'emploi n'a pas de géométrie : chargez "
                "d'abord les communes du territoire (--communes-file), ou donnez un fichier "
                "de contours des zones",
                "an employment-zone composition table has no geometry: load the territory's "
                "communes first (--communes-file), or give a file of zone contours",
            ),
            file=table.name,
            field="communes_file",
        )
    communes = _prepare_communes(communes, ctx)
    names = [str(v).strip() or None for v in frame[name_col]] if name_col else [None] * len(zones)
    zone_of = dict(zip(codes, zones, strict=True))
    name_of: dict[str, str | None] = {}
    for zone, label in zip(zones, names, strict=True):
        name_of.setdefault(zone, label)

    insee = communes["insee"].astype(str).to_numpy()
    matched = np.array([code in zone_of for code in insee], dtype=bool)
    warnings: list[str] = []
    if (~matched).any():
        missing = sorted(set(insee[~matched]))
        listed = ", ".join(missing[:_MAX_LISTED]) + (" ..." if len(missing) > _MAX_LISTED else "")
        warnings.append(
            tr(
                f"{table.name} : {len(missing)} commune(s) du territoire absente(s) de la "
                f"composition (millésime du COG différent ?) : {listed}",
                f"{table.name}: {len(missing)} commune(s) of the territory missing from the "
                f"composition (different COG vintage?): {listed}",
            )
        )
    geometries = communes.geometry.to_numpy()[matched]
    zone_per_commune = np.array([zone_of[c] for c in insee[matched]], dtype=object)
    out_codes: list[str] = []
    out_geoms: list[shapely.MultiPolygon] = []
    out_counts: list[int] = []
    for zone in dict.fromkeys(zone_per_commune):
        members = zone_per_commune == zone
        out_codes.append(str(zone))
        out_geoms.append(_as_multipolygon(shapely.union_all(geometries[members])))
        out_counts.append(int(members.sum()))
    layer = gpd.GeoDataFrame(
        {
            "ze_code": pd.Series(out_codes, dtype="str"),
            "ze_name": pd.Series([name_of.get(z) for z in out_codes], dtype="str"),
            "communes": pd.Series(out_counts, dtype="Int64"),
        },
        geometry=out_geoms,
        crs=ctx.crs,
    )
    extra = {"communes_in_table": len(codes), "communes_matched": int(matched.sum())}
    return layer, warnings, extra


def _from_vector(
    path: Path, ctx: ReadContext, communes: gpd.GeoDataFrame | None
) -> tuple[gpd.GeoDataFrame, list[str], dict[str, Any]]:
    label = str(path)
    frame = read_vector(path)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    code_col = find_column(columns, _ZE_CODE_COLUMNS)
    if code_col is None:
        raise InputError(
            tr(
                "champ de code de zone absent (attendu ze2020 ou ze_code) ; champs présents : "
                f"{', '.join(map(str, columns))}",
                "zone code field missing (expected ze2020 or ze_code); fields present: "
                f"{', '.join(map(str, columns))}",
            ),
            file=label,
            row=1,
            field="ze2020",
        )
    name_col = find_column(columns, _ZE_NAME_COLUMNS)
    codes = [_cell_text(v) for v in frame[code_col]]
    for i, code in enumerate(codes):
        if not code or code.lower() == "nan":
            raise InputError(
                tr("code de zone vide", "empty zone code"),
                file=label,
                row=line_of(i),
                field=code_col,
            )
    geoms = frame.geometry
    for i, geometry in enumerate(geoms):
        polygonal = geometry is not None and geometry.geom_type in ("Polygon", "MultiPolygon")
        if not polygonal or geometry.is_empty:
            raise InputError(
                tr("polygone attendu", "polygon expected"),
                file=label,
                row=line_of(i),
                field="geometry",
            )
    names = [_cell_text(v) or None for v in frame[name_col]] if name_col else [None] * len(codes)
    layer = gpd.GeoDataFrame(
        {
            "ze_code": pd.Series(codes, dtype="str"),
            "ze_name": pd.Series(names, dtype="str"),
            "communes": pd.Series([None] * len(codes), dtype="Int64"),
        },
        geometry=[_as_multipolygon(g) for g in geoms],
        crs=frame.crs,
    )
    layer = layer.to_crs(ctx.crs) if not CRS.from_user_input(layer.crs).equals(ctx.crs) else layer
    if communes is not None and len(communes):
        prepared = _prepare_communes(communes, ctx)
        points = shapely.point_on_surface(prepared.geometry.to_numpy())
        zone_geoms = layer.geometry.to_numpy()
        layer["communes"] = pd.Series(
            [int(shapely.contains(z, points).sum()) for z in zone_geoms], dtype="Int64"
        )
    return layer, [], {"zones_in_file": len(frame)}


def read_employment_zones(
    path: str | PathLike[str],
    ctx: ReadContext,
    *,
    communes: gpd.GeoDataFrame | None,
) -> list[LayerData]:
    """Read employment zones into the ``employment_zones`` layer.

    Parameters
    ----------
    path
        INSEE's composition table (XLSX sheet ``Composition_communale`` or CSV), or a
        polygon vector file of zones.
    ctx
        The territory's CRS and area: zones outside the area are dropped.
    communes
        The territory's communes layer (column ``insee``, in ``ctx.crs``); required with
        a composition table, optional with a vector file (it then fills ``communes``).

    Returns
    -------
    list of LayerData
        One ``employment_zones`` layer: MultiPolygons in ``ctx.crs``, columns
        ``ze_code``, ``ze_name`` and ``communes`` (Int64: how many of the territory's
        communes the zone holds; null for a vector file read without communes).

    Raises
    ------
    InputError
        A missing column, a malformed INSEE or zone code, a duplicated commune, a
        composition table given without communes (asks for ``--communes-file``).

    """
    source = Path(path)
    ctx.progress(tr("zones d'emploi", "employment zones"), None)
    if not source.exists():
        raise InputError(tr("fichier introuvable", "file not found"), file=source)
    suffix = source.suffix.lower()
    if suffix == ".xls":
        raise InputError(
            tr(
                "ancien format Excel .xls : enregistrez le classeur en .xlsx ou en CSV",
                "old Excel .xls format: save the workbook as .xlsx or CSV",
            ),
            file=source,
        )
    if suffix in (".xlsx", ".xlsm"):
        layer, warnings, extra = _from_composition(_read_xlsx(source), ctx, communes)
    elif suffix in (".csv", ".txt", ".tsv"):
        layer, warnings, extra = _from_composition(_read_csv(source), ctx, communes)
    else:
        layer, warnings, extra = _from_vector(source, ctx, communes)
    clipped = clip_to_area(layer, ctx)
    return [
        LayerData(
            name="employment_zones",
            frame=clipped,
            warnings=warnings,
            extra={"source": str(source), **extra},
        )
    ]
