"""Jobs layer: SIRENE establishments (with their geolocation) or any point layer of jobs.

SIRENE
------
The establishment stock file ``StockEtablissement`` (INSEE, « Description du fichier
StockEtablissement », the Sirene stock files on data.gouv.fr; ``,``-separated, UTF-8, often
zipped) has the columns ``siren, nic, siret, statutDiffusionEtablissement,
dateCreationEtablissement, trancheEffectifsEtablissement, anneeEffectifsEtablissement, ...,
coordonneeLambertAbscisseEtablissement, coordonneeLambertOrdonneeEtablissement, ...,
dateDebut, etatAdministratifEtablissement, enseigne1Etablissement, enseigne2Etablissement,
enseigne3Etablissement, denominationUsuelleEtablissement, activitePrincipaleEtablissement,
nomenclatureActivitePrincipaleEtablissement, caractereEmployeurEtablissement``. Only active
establishments (``etatAdministratifEtablissement`` = ``A``) are kept.

Coordinates come, in this order, from

1. the geolocation file « Géolocalisation des établissements du répertoire SIRENE pour les
   études statistiques » (INSEE, ``GeolocalisationEtablissement_Sirene_pour_etudes_statistiques``,
   ``;``-separated: ``siret;x;y;qualite_xy;epsg;plg_qp;plg_iris;plg_zus;plg_qva;
   plg_code_commune;distance_precision;qualite_qp;qualite_iris;qualite_zus;qualite_qva;
   y_latitude;x_longitude``), joined on ``siret``; ``x``/``y`` are in the CRS of the row's
   ``epsg`` (2154 in metropolitan France, the local UTM CRS overseas);
2. the stock file's ``coordonneeLambert*`` columns when filled (same projections: Lambert-93,
   or the official CRS of the overseas département given by ``codeCommuneEtablissement``,
   see :data:`~parcours.territories.readers._common.OVERSEAS_EPSG`);
3. ``longitude``/``latitude`` columns (WGS84), as in Etalab's geocoded per-département
   extracts of the stock file.

Values INSEE withholds are written ``[ND]`` and count as empty. Both files are streamed in
chunks and only the establishments near the area are kept, so the national files can be
given as they are (zipped or not). Active establishments without coordinates cannot be
placed: those of the territory's communes (communes where at least one establishment was
placed) are counted in a warning with their estimated jobs, never dropped silently.

Headcount → jobs
----------------
``trancheEffectifsEtablissement`` is a salaried-headcount band; :data:`HEADCOUNT_JOBS` turns
it into a job estimate, the middle of the band: ``NN`` (non-employer unit, or no salaried
employee during the year and no headcount on 31 December) and ``00`` (no salaried employee on
31 December but some during the year) → 0; ``01`` (1-2) → 1.5; ``02`` (3-5) → 4; ``03`` (6-9)
→ 7.5; ``11`` (10-19) → 14.5; ``12`` (20-49) → 34.5; ``21`` (50-99) → 74.5; ``22`` (100-199) →
149.5; ``31`` (200-249) → 224.5; ``32`` (250-499) → 374.5; ``41`` (500-999) → 749.5; ``42``
(1000-1999) → 1499.5; ``51`` (2000-4999) → 3499.5; ``52`` (5000-9999) → 7499.5; ``53`` (10000
and more) → 10000 (the lower bound). An empty band is treated as ``NN`` (``headcount_code``
null, 0 job); any other value is an error. The estimate counts salaried jobs only (the
self-employed are not counted) and places them where the establishment is registered.

Partially diffusible establishments
-----------------------------------
``statutDiffusionEtablissement`` = ``P`` marks an establishment whose details are only partly
public. Its jobs are counted, but ``name`` and ``siret`` are null (so that no stored row can be
tied back to the establishment) and its point is moved to the centre of the INSEE 200 m grid
cell that holds it (the LAEA grid, EPSG:3035, of the Filosofi data; the local CRS of the
overseas territories): no exact position of such an establishment is ever stored. A cell
centre that falls outside the area is dropped. This holds for both SIRENE files and generic
layers that carry a ``statutDiffusionEtablissement`` column (values ``O`` or ``P``, any other
value is an error).

Generic layers
--------------
Any point (or polygon: a point inside is used) layer, or CSV ``lon,lat`` in WGS84, with a
jobs column (:data:`JOBS_NAMES`, case-insensitive); ``source`` is ``generic``. Optional
columns ``siret``, ``name`` (or ``nom``), ``naf`` and ``statutDiffusionEtablissement`` (see
above). A delimited file with a ``siret`` column and no jobs column is read as a SIRENE stock
file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from parcours.errors import InputError
from parcours.geo.crs import WGS84, transformer
from parcours.geo.stream import CsvSource, is_table, open_csv, require_source_columns
from parcours.geo.tables import find_column, to_float, to_int
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ReadContext
from parcours.territories.readers._common import (
    OVERSEAS_EPSG,
    Origin,
    checked,
    epsg_for_communes,
    float_column,
    in_window,
    optional_text,
    project,
    read_value_points,
    text_column,
)

__all__ = [
    "GRID_CELL_M",
    "HEADCOUNT_JOBS",
    "JOBS_COLUMNS",
    "JOBS_NAMES",
    "grid_crs_for",
    "read_jobs",
    "siret_numbers",
    "snap_to_cell_centres",
]

#: Job estimate per SIRENE headcount band (``trancheEffectifsEtablissement``): the middle of
#: the band, 10,000 for the open band ``53``.
HEADCOUNT_JOBS: dict[str, float] = {
    "NN": 0.0,  # non-employer unit (or no salaried employee and no headcount on 31/12)
    "00": 0.0,  # 0 salaried employee on 31/12 (but some during the year)
    "01": 1.5,  # 1 or 2
    "02": 4.0,  # 3 to 5
    "03": 7.5,  # 6 to 9
    "11": 14.5,  # 10 to 19
    "12": 34.5,  # 20 to 49
    "21": 74.5,  # 50 to 99
    "22": 149.5,  # 100 to 199
    "31": 224.5,  # 200 to 249
    "32": 374.5,  # 250 to 499
    "41": 749.5,  # 500 to 999
    "42": 1499.5,  # 1,000 to 1,999
    "51": 3499.5,  # 2,000 to 4,999
    "52": 7499.5,  # 5,000 to 9,999
    "53": 10000.0,  # 10,000 and more (lower bound)
}

#: Side of INSEE's grid cells (m) where partially diffusible establishments are placed.
GRID_CELL_M = 200.0

#: Accepted names of the jobs column of a generic layer (any case).
JOBS_NAMES: tuple[str, ...] = ("jobs", "emplois", "emploi")

#: The columns of the ``jobs`` layer (plus ``geometry``).
JOBS_COLUMNS: tuple[str, ...] = (
    "siret",
    "name",
    "naf",
    "headcount_code",
    "jobs",
    "diffusion_partial",
    "source",
)

# Margin (m) around the area's bounding box for the first, coarse filter of coordinates.
_WINDOW_MARGIN_M = 1000.0
_WITHHELD = ("", "[ND]")
_SIRET = re.compile(r"^\d{14}$")

_STOCK_REQUIRED = (
    "siret",
    "statutDiffusionEtablissement",
    "trancheEffectifsEtablissement",
    "etatAdministratifEtablissement",
    "activitePrincipaleEtablissement",
)
_STOCK_OPTIONAL = (
    "denominationUsuelleEtablissement",
    "enseigne1Etablissement",
    "codeCommuneEtablissement",
    "caractereEmployeurEtablissement",
    "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement",
    "longitude",
    "latitude",
)
_GEOLOCATION_REQUIRED = ("siret", "x", "y", "epsg")


# --------------------------------------------------------------------------------------------
# SIRENE helpers
# --------------------------------------------------------------------------------------------


def grid_crs_for(crs: CRS) -> CRS:
    """Return the CRS of INSEE's 200 m grid around a territory: its own CRS overseas, else LAEA."""
    epsg = crs.to_epsg()
    if epsg is not None and epsg in set(OVERSEAS_EPSG.values()):
        return crs
    return CRS.from_epsg(3035)


def snap_to_cell_centres(
    x: np.ndarray, y: np.ndarray, crs: CRS, *, cell_m: float = GRID_CELL_M
) -> tuple[np.ndarray, np.ndarray]:
    """Move points to the centre of the INSEE grid cell that holds them.

    Parameters
    ----------
    x, y
        Coordinates in ``crs``.
    crs
        Their CRS (the territory's).
    cell_m
        The grid's cell size (200 m).

    Returns
    -------
    tuple of numpy.ndarray
        The cell centres, in ``crs``.

    """
    if len(x) == 0:
        return x, y
    grid = grid_crs_for(crs)
    gx, gy = transformer(crs, grid).transform(x, y)
    cx = np.floor(np.asarray(gx) / cell_m) * cell_m + cell_m / 2
    cy = np.floor(np.asarray(gy) / cell_m) * cell_m + cell_m / 2
    bx, by = transformer(grid, crs).transform(cx, cy)
    return np.asarray(bx, dtype="float64"), np.asarray(by, dtype="float64")


def _partially_diffusible(status: pd.Series, origin: Origin, field: str) -> np.ndarray:
    """Read ``statutDiffusionEtablissement``: True for ``P``, False for ``O``, else an error."""
    text = status.astype(object).where(status.notna(), "").astype(str).str.strip().str.upper()
    bad = ~text.isin(["O", "P"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise origin.error(
            f"statut de diffusion « {text.iloc[i]} » inconnu (attendu : O ou P)",
            f"unknown diffusion status '{text.iloc[i]}' (expected: O or P)",
            label=status.index[i],
            field=field,
        )
    result: np.ndarray = (text == "P").to_numpy(dtype=bool)
    return result


def _window(ctx: ReadContext) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = ctx.area.bounds
    m = _WINDOW_MARGIN_M
    return x0 - m, y0 - m, x1 + m, y1 + m


def _withheld(values: pd.Series) -> np.ndarray:
    result: np.ndarray = values.str.strip().isin(_WITHHELD).to_numpy()
    return result


def siret_numbers(values: pd.Series, origin: Origin, field: str) -> np.ndarray:
    """Check 14-digit SIRET numbers and return them as int64 (for fast joins)."""
    text = values.str.strip()
    bad = ~text.str.fullmatch(_SIRET).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise origin.error(
            f"SIRET à 14 chiffres attendu, trouvé « {text.iloc[i]} »",
            f"14-digit SIRET expected, found '{text.iloc[i]}'",
            label=values.index[i],
            field=field,
        )
    result: np.ndarray = text.to_numpy(dtype=str).astype("int64")
    return result


# --------------------------------------------------------------------------------------------
# The reader
# --------------------------------------------------------------------------------------------


def read_jobs(path: Path, ctx: ReadContext, *, geolocation: Path | None = None) -> list[LayerData]:
    """Read establishments or job counts into the ``jobs`` layer.

    Parameters
    ----------
    path
        The SIRENE ``StockEtablissement`` file (CSV or its zip; a per-département extract
        works the same), or any point/polygon layer or CSV ``lon,lat`` with a jobs column.
    ctx
        The territory: points are returned in ``ctx.crs`` and clipped to ``ctx.area``.
    geolocation
        The SIRENE geolocation file
        (``GeolocalisationEtablissement_Sirene_pour_etudes_statistiques``), joined on
        ``siret``; only with a SIRENE stock file.

    Returns
    -------
    list of LayerData
        One ``jobs`` layer (columns in ``docs/layers.md``); ``extra`` holds
        ``establishments``, ``jobs_total``, ``partially_diffusible``, ``unlocated`` and
        ``unlocated_jobs``.

    Raises
    ------
    InputError
        Unreadable file, missing column, bad SIRET, unknown headcount band, bad coordinate or
        EPSG code, negative jobs... with the file, the line (or feature id) and the field.

    """
    path = Path(path)
    if not path.exists():
        raise InputError(tr("fichier introuvable", "file not found"), file=path)
    if is_table(path):
        source = open_csv(path)
        if source.column("siret") and find_column(source.columns, JOBS_NAMES) is None:
            return [_read_sirene(source, ctx, geolocation)]
    if geolocation is not None:
        raise InputError(
            tr(
                "le fichier de géolocalisation SIRENE ne s'utilise qu'avec le fichier "
                "StockEtablissement (colonnes siret et trancheEffectifsEtablissement)",
                "the SIRENE geolocation file only goes with the StockEtablissement file "
                "(columns siret and trancheEffectifsEtablissement)",
            ),
            file=path,
        )
    return [_read_generic(path, ctx)]


@dataclass(frozen=True)
class _Geolocation:
    located: np.ndarray  # sorted unique SIRET (int64) that have coordinates
    near: pd.DataFrame  # x, y (territory CRS) of those near the area, indexed by SIRET


def _read_geolocation(path: Path, ctx: ReadContext) -> _Geolocation:
    source = open_csv(path)
    origin = Origin(source.name, tabular=True)
    cols = require_source_columns(source, _GEOLOCATION_REQUIRED)
    window = _window(ctx)
    located_parts: list[np.ndarray] = []
    near_parts: list[pd.DataFrame] = []
    label = tr("SIRENE : géolocalisation", "SIRENE: geolocation")
    chunks = source.chunks(
        [cols[c] for c in _GEOLOCATION_REQUIRED], progress=lambda f: ctx.progress(label, f)
    )
    for chunk in chunks:
        filled = ~_withheld(chunk[cols["x"]]) & ~_withheld(chunk[cols["y"]])
        sub = chunk.loc[filled]
        if sub.empty:
            continue
        sirets = siret_numbers(sub[cols["siret"]], origin, cols["siret"])
        x = checked(to_float, sub[cols["x"]], origin, field=cols["x"])
        y = checked(to_float, sub[cols["y"]], origin, field=cols["y"])
        epsg = checked(to_int, sub[cols["epsg"]], origin, field=cols["epsg"])
        px, py = project(x, y, epsg, ctx.crs, origin=origin, labels=sub.index, field=cols["epsg"])
        located_parts.append(sirets)
        inside = in_window(px, py, window)
        near_parts.append(pd.DataFrame({"x": px[inside], "y": py[inside]}, index=sirets[inside]))
    located = (
        np.unique(np.concatenate(located_parts)) if located_parts else np.empty(0, dtype="int64")
    )
    near = (
        pd.concat(near_parts)
        if near_parts
        else pd.DataFrame({"x": [], "y": []}, index=pd.Index([], dtype="int64"))
    )
    near = near[~near.index.duplicated(keep="first")]
    return _Geolocation(located=located, near=near)


def _isin_sorted(values: np.ndarray, sorted_unique: np.ndarray) -> np.ndarray:
    if len(sorted_unique) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.searchsorted(sorted_unique, values)
    pos = np.minimum(pos, len(sorted_unique) - 1)
    result: np.ndarray = sorted_unique[pos] == values
    return result


def _read_sirene(source: CsvSource, ctx: ReadContext, geolocation: Path | None) -> LayerData:
    origin = Origin(source.name, tabular=True)
    cols = require_source_columns(source, _STOCK_REQUIRED)
    optional = {name: source.column(name) for name in _STOCK_OPTIONAL}
    has_lambert = bool(
        optional["coordonneeLambertAbscisseEtablissement"]
        and optional["coordonneeLambertOrdonneeEtablissement"]
    )
    has_lonlat = bool(optional["longitude"] and optional["latitude"])
    if geolocation is None and not has_lambert and not has_lonlat:
        raise InputError(
            tr(
                "aucune coordonnée : donnez le fichier de géolocalisation SIRENE "
                "(GeolocalisationEtablissement_Sirene_pour_etudes_statistiques) ou un fichier "
                "avec les colonnes coordonneeLambert*",
                "no coordinates: give the SIRENE geolocation file "
                "(GeolocalisationEtablissement_Sirene_pour_etudes_statistiques) or a file with "
                "the coordonneeLambert* columns",
            ),
            file=source.name,
            row=1,
            field="coordonneeLambertAbscisseEtablissement",
        )
    geo = _read_geolocation(Path(geolocation), ctx) if geolocation is not None else None
    window = _window(ctx)
    wanted = [cols[c] for c in _STOCK_REQUIRED] + [c for c in optional.values() if c]
    parts: list[pd.DataFrame] = []
    unlocated_parts: list[pd.DataFrame] = []
    label = tr("SIRENE : établissements", "SIRENE: establishments")
    for chunk in source.chunks(wanted, progress=lambda f: ctx.progress(label, f)):
        part, unlocated = _sirene_chunk(chunk, cols, optional, origin, ctx, geo, window)
        if len(part):
            parts.append(part)
        if len(unlocated):
            unlocated_parts.append(unlocated)
    kept = pd.concat(parts, ignore_index=True) if parts else _empty_sirene_part()
    partial = kept["diffusion_partial"].to_numpy(dtype=bool)
    x = kept["x"].to_numpy(dtype="float64").copy()
    y = kept["y"].to_numpy(dtype="float64").copy()
    x[partial], y[partial] = snap_to_cell_centres(x[partial], y[partial], ctx.crs)
    points = gpd.points_from_xy(x, y, crs=ctx.crs)
    inside = np.asarray(points.intersects(ctx.area), dtype=bool)
    kept = kept.loc[inside].reset_index(drop=True)
    frame = _jobs_layer(kept, np.asarray(points[inside]), ctx, source="sirene")

    warnings: list[str] = []
    unlocated_n, unlocated_jobs = 0, 0.0
    if unlocated_parts:
        unlocated = pd.concat(unlocated_parts).groupby("commune").sum()
        if optional["codeCommuneEtablissement"]:
            communes = set(kept["commune"].dropna())
            unlocated = unlocated.loc[unlocated.index.isin(communes)]
        unlocated_n = int(unlocated["n"].sum())
        unlocated_jobs = float(unlocated["jobs"].sum())
    if unlocated_n:
        scope_fr, scope_en = (
            ("des communes du territoire", "in the territory's communes")
            if optional["codeCommuneEtablissement"]
            else ("du fichier", "in the file")
        )
        warnings.append(
            tr(
                f"{unlocated_n} établissement(s) actif(s) {scope_fr} sans coordonnées "
                f"(environ {unlocated_jobs:.0f} emplois) : non placés sur la carte",
                f"{unlocated_n} active establishment(s) {scope_en} without coordinates "
                f"(about {unlocated_jobs:.0f} jobs): not placed on the map",
            )
        )
    unknown = int((kept["employer"] & kept["headcount_code"].isin(["NN"]).to_numpy()).sum())
    unknown += int((kept["employer"] & kept["headcount_code"].isna().to_numpy()).sum())
    if unknown:
        warnings.append(
            tr(
                f"{unknown} établissement(s) employeur(s) sans tranche d'effectif : comptés pour "
                "0 emploi",
                f"{unknown} employer establishment(s) without a headcount band: counted as 0 job",
            )
        )
    extra = {
        "establishments": len(frame),
        "jobs_total": float(frame["jobs"].sum()),
        "partially_diffusible": int(frame["diffusion_partial"].sum()),
        "unlocated": unlocated_n,
        "unlocated_jobs": unlocated_jobs,
    }
    return LayerData(name="jobs", frame=frame, warnings=warnings, extra=extra)


def _empty_sirene_part() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "siret": pd.Series([], dtype="str"),
            "name": pd.Series([], dtype="str"),
            "naf": pd.Series([], dtype="str"),
            "headcount_code": pd.Series([], dtype="str"),
            "jobs": pd.Series([], dtype="float64"),
            "diffusion_partial": pd.Series([], dtype=bool),
            "commune": pd.Series([], dtype="str"),
            "employer": pd.Series([], dtype=bool),
            "x": pd.Series([], dtype="float64"),
            "y": pd.Series([], dtype="float64"),
        }
    )


def _sirene_chunk(
    chunk: pd.DataFrame,
    cols: dict[str, str],
    optional: dict[str, str | None],
    origin: Origin,
    ctx: ReadContext,
    geo: _Geolocation | None,
    window: tuple[float, float, float, float],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    state_col = cols["etatAdministratifEtablissement"]
    state = chunk[state_col].str.strip()
    bad_state = ~state.isin(["A", "F"]).to_numpy()
    if bad_state.any():
        i = int(np.flatnonzero(bad_state)[0])
        raise origin.error(
            f"état administratif « {state.iloc[i]} » inconnu (attendu : A actif, F fermé)",
            f"unknown administrative state '{state.iloc[i]}' (expected: A active, F closed)",
            label=chunk.index[i],
            field=state_col,
        )
    active = chunk.loc[(state == "A").to_numpy()]
    if active.empty:
        return _empty_sirene_part(), pd.DataFrame({"n": [], "jobs": []})
    n = len(active)
    sirets = siret_numbers(active[cols["siret"]], origin, cols["siret"])

    status_col = cols["statutDiffusionEtablissement"]
    partial = _partially_diffusible(active[status_col], origin, status_col)

    band_col = cols["trancheEffectifsEtablissement"]
    bands = active[band_col].str.strip()
    bad_band = ~(bands.isin(list(HEADCOUNT_JOBS)) | (bands == "")).to_numpy()
    if bad_band.any():
        i = int(np.flatnonzero(bad_band)[0])
        raise origin.error(
            f"tranche d'effectif « {bands.iloc[i]} » inconnue (codes INSEE : "
            f"{', '.join(HEADCOUNT_JOBS)})",
            f"unknown headcount band '{bands.iloc[i]}' (INSEE codes: {', '.join(HEADCOUNT_JOBS)})",
            label=active.index[i],
            field=band_col,
        )
    jobs = bands.map(HEADCOUNT_JOBS).fillna(0.0).to_numpy(dtype="float64")

    commune_col = optional["codeCommuneEtablissement"]
    communes = (
        active[commune_col].str.strip()
        if commune_col
        else pd.Series([""] * n, index=active.index, dtype="str")
    )

    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    located = np.zeros(n, dtype=bool)
    if geo is not None:
        located |= _isin_sorted(sirets, geo.located)
        pos = geo.near.index.get_indexer(pd.Index(sirets))
        hit = pos >= 0
        x[hit] = geo.near["x"].to_numpy()[pos[hit]]
        y[hit] = geo.near["y"].to_numpy()[pos[hit]]
    lam_x = optional["coordonneeLambertAbscisseEtablissement"]
    lam_y = optional["coordonneeLambertOrdonneeEtablissement"]
    if lam_x and lam_y:
        use = ~located & ~_withheld(active[lam_x]) & ~_withheld(active[lam_y])
        if use.any():
            sub = active.loc[use]
            sx = checked(to_float, sub[lam_x], origin, field=lam_x)
            sy = checked(to_float, sub[lam_y], origin, field=lam_y)
            epsg = epsg_for_communes(communes[use])
            x[use], y[use] = project(
                sx, sy, epsg, ctx.crs, origin=origin, labels=sub.index, field=lam_x
            )
            located |= use
    lon, lat = optional["longitude"], optional["latitude"]
    if lon and lat:
        use = ~located & ~_withheld(active[lon]) & ~_withheld(active[lat])
        if use.any():
            sub = active.loc[use]
            sx = checked(to_float, sub[lon], origin, field=lon, minimum=-180, maximum=180)
            sy = checked(to_float, sub[lat], origin, field=lat, minimum=-90, maximum=90)
            x[use], y[use] = transformer(WGS84, ctx.crs).transform(sx, sy)
            located |= use

    unlocated = pd.DataFrame({"commune": communes.to_numpy(), "n": 1, "jobs": jobs})
    unlocated = unlocated.loc[~located].groupby("commune").sum()

    # Text columns are only cleaned for the establishments near the area.
    near = located & in_window(x, y, window)
    kept = active.loc[near]

    def text(name: str) -> pd.Series:
        column = optional.get(name) or cols.get(name)
        if column is None:
            return pd.Series([None] * len(kept), index=kept.index, dtype="str")
        return text_column(kept[column])

    name = text("denominationUsuelleEtablissement").fillna(text("enseigne1Etablissement"))
    name = name.where(~partial[near], None)
    employer_col = optional["caractereEmployeurEtablissement"]
    employer = (
        (kept[employer_col].str.strip() == "O").to_numpy()
        if employer_col
        else np.zeros(len(kept), dtype=bool)
    )
    codes = bands[near]
    part = pd.DataFrame(
        {
            "siret": kept[cols["siret"]].str.strip().where(~partial[near], None).to_numpy(),
            "name": name.to_numpy(),
            "naf": text("activitePrincipaleEtablissement").to_numpy(),
            "headcount_code": codes.where(codes != "", None).to_numpy(),
            "jobs": jobs[near],
            "diffusion_partial": partial[near],
            "commune": text("codeCommuneEtablissement").to_numpy(),
            "employer": employer,
            "x": x[near],
            "y": y[near],
        }
    )
    return part, unlocated


def _jobs_layer(
    kept: pd.DataFrame, points: np.ndarray, ctx: ReadContext, *, source: str
) -> gpd.GeoDataFrame:
    n = len(kept)
    frame = pd.DataFrame(
        {
            "siret": pd.Series(kept["siret"].to_numpy(dtype=object), dtype="str"),
            "name": pd.Series(kept["name"].to_numpy(dtype=object), dtype="str"),
            "naf": pd.Series(kept["naf"].to_numpy(dtype=object), dtype="str"),
            "headcount_code": pd.Series(kept["headcount_code"].to_numpy(dtype=object), dtype="str"),
            "jobs": kept["jobs"].to_numpy(dtype="float64"),
            "diffusion_partial": kept["diffusion_partial"].to_numpy(dtype=bool),
            "source": pd.Series([source] * n, dtype="str"),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(points, crs=ctx.crs), crs=ctx.crs)


def _read_generic(path: Path, ctx: ReadContext) -> LayerData:
    kept, origin, jobs_col = read_value_points(
        path, ctx, names=JOBS_NAMES, field="jobs", accepted=JOBS_NAMES
    )
    n = len(kept)
    status_col = find_column(kept.columns, ["statutDiffusionEtablissement"])
    partial = (
        _partially_diffusible(kept[status_col], origin, status_col)
        if status_col is not None
        else np.zeros(n, dtype=bool)
    )
    siret = optional_text(kept, ["siret"])
    name = optional_text(kept, ["name", "nom"])
    siret[partial] = None
    name[partial] = None
    data = pd.DataFrame(
        {
            "siret": siret,
            "name": name,
            "naf": optional_text(kept, ["naf", "ape", "code_naf"]),
            "headcount_code": np.full(n, None, dtype=object),
            "jobs": float_column(kept[jobs_col], origin, field=jobs_col, minimum=0),
            "diffusion_partial": partial,
        }
    )
    points = kept.geometry.to_numpy()
    if partial.any():
        x = shapely.get_x(points).astype("float64")
        y = shapely.get_y(points).astype("float64")
        x[partial], y[partial] = snap_to_cell_centres(x[partial], y[partial], ctx.crs)
        points = gpd.points_from_xy(x, y, crs=ctx.crs).to_numpy()
        # As for SIRENE: a cell centre outside the area is dropped.
        inside = shapely.intersects(points, ctx.area)
        data, points = data.loc[inside].reset_index(drop=True), points[inside]
    frame = _jobs_layer(data, points, ctx, source="generic")
    extra: dict[str, Any] = {
        "establishments": len(frame),
        "jobs_total": float(frame["jobs"].sum()),
        "partially_diffusible": int(frame["diffusion_partial"].sum()),
        "unlocated": 0,
        "unlocated_jobs": 0.0,
    }
    return LayerData(name="jobs", frame=frame, extra=extra)
