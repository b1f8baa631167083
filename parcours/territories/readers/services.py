"""Services layer: the INSEE BPE (Base permanente des équipements) and user lists of services.

BPE
---
INSEE's « Base permanente des équipements » (documentation and « dictionnaire des variables »
of each edition, insee.fr), the ``ensemble`` file with coordinates: ``;``-separated. The 2023
edition (BPE 2023) has ``AN;NOMRS;CNOMRS;NUMVOIE;INDREP;TYPVOIE;LIBVOIE;CADR;
CODPOS;DEPCOM;DEP;REG;DOM;SDOM;TYPEQU;SIRET;STATUT_DIFFUSION;...;LAMBERT_X;LAMBERT_Y;
QUALITE_XY;EPSG;...``; older ones (``bpe21_ensemble_xy``, ...) have ``REG;DEP;DEPCOM;DCIRIS;AN;
TYPEQU;LAMBERT_X;LAMBERT_Y;QUALITE_XY``. Required: ``TYPEQU``, ``LAMBERT_X``, ``LAMBERT_Y``,
``DEPCOM``. The coordinates are in the CRS of the ``EPSG`` column when there is one, else in
Lambert-93 (or, overseas, the official CRS of the département of ``DEPCOM``,
:data:`parcours.territories.readers._common.OVERSEAS_EPSG`). Equipments without coordinates in
the territory's communes are counted in a warning. The national file is streamed, so it can
be given as it is (zipped or not).

The equipment type (``TYPEQU``) is mapped to a category by :data:`BPE_CATEGORIES`. The
mapping follows the nomenclature of the BPE 2023 edition and also keeps the codes of older
editions (such as BPE 2017) that were renumbered or withdrawn since: ``B101``/``B102``
(hyper/supermarket, now ``B104``/``B105``), ``C101``-``C105`` (schools, now ``C107``-``C109``),
``D301`` (pharmacy, now ``D307``), ``A115`` (specialised Pôle emploi network) and ``A127``
(« Maison de services au public », which became France Services, ``A128``). ``A122`` is the
local network of Pôle emploi, renamed France Travail in 2024. Only codes whose meaning is
certain are mapped; every other one gets the category ``other``, its ``TYPEQU`` kept in
``code``. The BPE has no code for missions locales or CAF: those come from a user list.
``service_id`` is ``FILE_STEM:LINE`` (e.g. ``BPE23:1234``), ``name`` is ``NOMRS`` when the
file has it.

User lists
----------
A CSV ``lon,lat`` (WGS84) or a vector layer (points, or polygons: a point inside is used)
with a ``category`` column holding one of the slugs of :data:`CATEGORIES` (any case), and
optionally ``name``, ``code`` and an identifier ``service_id`` (or ``id``; unique, else
``FILE_STEM:LINE`` or ``FILE_STEM:FID``). An unknown slug is an error listing the known
ones. ``source`` is ``user``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from parcours.errors import InputError
from parcours.geo.stream import CsvSource, is_table, open_csv, require_source_columns
from parcours.geo.tables import find_column, line_of, to_float, to_int
from parcours.i18n import get_language, tr
from parcours.territories.readers._base import LayerData, ReadContext
from parcours.territories.readers._common import (
    Origin,
    checked,
    epsg_for_communes,
    in_window,
    optional_text,
    project,
    read_value_points,
    text_column,
    text_ids,
)

__all__ = ["BPE_CATEGORIES", "CATEGORIES", "SERVICES_COLUMNS", "category_label", "read_services"]

#: Service categories: slug -> (French label, English label).
CATEGORIES: dict[str, tuple[str, str]] = {
    "france_travail": (
        "Agence France Travail (ex-Pôle emploi)",
        "France Travail office (formerly Pôle emploi)",
    ),
    "france_services": ("Espace France Services", "France Services centre"),
    "mission_locale": ("Mission locale", "Mission locale (youth employment centre)"),
    "cap_emploi": ("Cap emploi", "Cap emploi (employment of disabled people)"),
    "plie": (
        "PLIE (plan local pour l'insertion et l'emploi)",
        "PLIE (local plan for integration and employment)",
    ),
    "caf": ("Caisse d'allocations familiales (CAF)", "Family allowance office (CAF)"),
    "cpam": ("Caisse primaire d'assurance maladie (CPAM)", "Health insurance office (CPAM)"),
    "ccas": ("Centre communal d'action sociale (CCAS)", "Municipal social action centre (CCAS)"),
    "social_centre": ("Centre social", "Social centre"),
    "town_hall": ("Mairie", "Town hall"),
    "mobility_platform": ("Plateforme de mobilité", "Mobility platform"),
    "social_garage": ("Garage solidaire", "Social garage"),
    "temp_agency": ("Agence de travail temporaire", "Temporary employment agency"),
    "driving_school": ("École de conduite", "Driving school"),
    "post_office": ("Bureau ou agence de poste", "Post office"),
    "police": ("Police ou gendarmerie", "Police or gendarmerie"),
    "supermarket": ("Hypermarché ou supermarché", "Hypermarket or supermarket"),
    "grocery": ("Supérette ou épicerie", "Convenience store or grocery"),
    "pharmacy": ("Pharmacie", "Pharmacy"),
    "gp": ("Médecin généraliste", "General practitioner"),
    "health_centre": ("Centre ou maison de santé", "Health centre"),
    "hospital": (
        "Établissement de santé (court, moyen ou long séjour)",
        "Hospital (short, medium or long stay)",
    ),
    "emergency": ("Urgences", "Emergency department"),
    "maternity": ("Maternité", "Maternity unit"),
    "childcare": ("Accueil du jeune enfant (crèche)", "Early childcare (crèche)"),
    "nursery_school": ("École maternelle", "Nursery school"),
    "primary_school": ("École élémentaire ou primaire", "Primary school"),
    "middle_school": ("Collège", "Lower secondary school (collège)"),
    "high_school": ("Lycée", "Upper secondary school (lycée)"),
    "higher_education": ("Enseignement supérieur", "Higher education"),
    "apprentice_centre": (
        "Centre de formation d'apprentis (CFA)",
        "Apprentice training centre (CFA)",
    ),
    "training_centre": (
        "Formation continue (GRETA et autres)",
        "Adult training centre (GRETA and others)",
    ),
    "station_rail": ("Gare de voyageurs", "Passenger railway station"),
    "other": ("Autre équipement", "Other facility"),
}

#: BPE equipment type (``TYPEQU``) -> category slug; unlisted codes are ``other``.
BPE_CATEGORIES: dict[str, str] = {
    # A1 public services
    "A101": "police",  # Police
    "A104": "police",  # Gendarmerie
    "A115": "france_travail",  # Réseau spécialisé Pôle emploi (older editions)
    "A122": "france_travail",  # Réseau de proximité Pôle emploi / France Travail
    "A127": "france_services",  # Maison de services au public (older editions)
    "A128": "france_services",  # Implantation France Services (IFS)
    "A129": "town_hall",  # Mairie
    # A2 general services
    "A206": "post_office",  # Bureau de poste
    "A207": "post_office",  # Relais poste
    "A208": "post_office",  # Agence postale
    # A3 car services, A5 other services
    "A304": "driving_school",  # École de conduite
    "A503": "temp_agency",  # Agence de travail temporaire
    # B shops
    "B101": "supermarket",  # Hypermarché (older editions)
    "B102": "supermarket",  # Supermarché (older editions)
    "B104": "supermarket",  # Hypermarché et grand magasin
    "B105": "supermarket",  # Supermarché et magasin multi-commerces
    "B201": "grocery",  # Supérette
    "B202": "grocery",  # Épicerie
    # C education
    "C101": "nursery_school",  # École maternelle (older editions)
    "C102": "nursery_school",  # École maternelle de RPI dispersé (older editions)
    "C107": "nursery_school",  # École maternelle
    "C104": "primary_school",  # École élémentaire (older editions)
    "C105": "primary_school",  # École élémentaire de RPI dispersé (older editions)
    "C108": "primary_school",  # École primaire
    "C109": "primary_school",  # École élémentaire
    "C201": "middle_school",  # Collège
    "C301": "high_school",  # Lycée d'enseignement général et/ou technologique
    "C302": "high_school",  # Lycée d'enseignement professionnel
    "C303": "high_school",  # Lycée technique et/ou professionnel agricole
    "C401": "higher_education",  # STS, CPGE
    "C402": "higher_education",  # Formation santé
    "C403": "higher_education",  # Formation commerce
    "C409": "higher_education",  # Autre formation post-bac non universitaire
    "C501": "higher_education",  # UFR
    "C502": "higher_education",  # Institut universitaire
    "C503": "higher_education",  # École d'ingénieurs
    "C504": "higher_education",  # Enseignement général supérieur privé
    "C505": "higher_education",  # École d'enseignement supérieur agricole
    "C509": "higher_education",  # Autre enseignement supérieur
    "C601": "apprentice_centre",  # Centre de formation d'apprentis (hors agriculture)
    "C605": "apprentice_centre",  # Formations d'apprentissage agricole
    "C602": "training_centre",  # GRETA
    "C603": "training_centre",  # Formation continue agricole
    "C604": "training_centre",  # Formation aux métiers du sport
    "C609": "training_centre",  # Autre formation continue
    # D health and social services
    "D101": "hospital",  # Établissement santé court séjour
    "D102": "hospital",  # Établissement santé moyen séjour
    "D103": "hospital",  # Établissement santé long séjour
    "D106": "emergency",  # Urgences
    "D107": "maternity",  # Maternité
    "D108": "health_centre",  # Centre de santé
    "D113": "health_centre",  # Maison de santé pluridisciplinaire
    "D201": "gp",  # Médecin généraliste
    "D301": "pharmacy",  # Pharmacie (older editions)
    "D307": "pharmacy",  # Pharmacie
    "D502": "childcare",  # Crèche / établissement d'accueil du jeune enfant (EAJE)
    "D506": "social_centre",  # Centres sociaux
    # E transport
    "E107": "station_rail",  # Gare de voyageurs d'intérêt national
    "E108": "station_rail",  # Gare de voyageurs d'intérêt régional
    "E109": "station_rail",  # Gare de voyageurs d'intérêt local
}

#: The columns of the ``services`` layer (plus ``geometry``).
SERVICES_COLUMNS: tuple[str, ...] = ("service_id", "category", "label", "code", "name", "source")

_BPE_REQUIRED = ("TYPEQU", "LAMBERT_X", "LAMBERT_Y", "DEPCOM")
# Empty coordinates; INSEE's "_Z" (not applicable) and "_U" (unknown) codes count as empty.
_NO_VALUE = ("", "[ND]", "_Z", "_U")


def category_label(slug: str, language: str | None = None) -> str:
    """Return the label of a category in the language in force (or the one given)."""
    fr, en = CATEGORIES[slug]
    return en if (language or get_language()) == "en" else fr


def read_services(path: Path, ctx: ReadContext) -> list[LayerData]:
    """Read the BPE or a user list of services into the ``services`` layer.

    Parameters
    ----------
    path
        The BPE ``ensemble`` file with coordinates (CSV or zip), or a user list: CSV
        ``lon,lat`` or vector layer with a ``category`` column.
    ctx
        The territory: points are returned in ``ctx.crs`` and clipped to ``ctx.area``.

    Returns
    -------
    list of LayerData
        One ``services`` layer (columns in ``docs/layers.md``); ``extra`` holds ``services``,
        ``by_category`` (counts) and ``unlocated``.

    Raises
    ------
    InputError
        Unreadable file, missing column, empty ``TYPEQU``, bad coordinate or EPSG code,
        unknown category... with the file, the line (or feature id) and the field.

    """
    path = Path(path)
    if not path.exists():
        raise InputError(tr("fichier introuvable", "file not found"), file=path)
    if is_table(path):
        source = open_csv(path)
        if source.column("TYPEQU"):
            return [_read_bpe(source, ctx)]
    return [_read_user(path, ctx)]


def _no_value(values: pd.Series) -> np.ndarray:
    result: np.ndarray = values.str.strip().isin(_NO_VALUE).to_numpy()
    return result


def _read_bpe(source: CsvSource, ctx: ReadContext) -> LayerData:
    origin = Origin(source.name, tabular=True)
    cols = require_source_columns(source, _BPE_REQUIRED)
    epsg_col = source.column("EPSG")
    name_col = source.column("NOMRS")
    wanted_cols = [cols[c] for c in _BPE_REQUIRED] + [c for c in (epsg_col, name_col) if c]
    stem = source.path.stem
    parts: list[pd.DataFrame] = []
    unlocated_parts: list[pd.Series] = []
    label = tr("BPE : équipements", "BPE: facilities")
    for chunk in source.chunks(wanted_cols, progress=lambda f: ctx.progress(label, f)):
        codes = chunk[cols["TYPEQU"]].str.strip().str.upper()
        empty = (codes == "").to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise origin.error(
                "valeur vide", "empty value", label=chunk.index[i], field=cols["TYPEQU"]
            )
        communes = chunk[cols["DEPCOM"]].str.strip()
        filled = ~_no_value(chunk[cols["LAMBERT_X"]]) & ~_no_value(chunk[cols["LAMBERT_Y"]])
        if (~filled).any():
            unlocated_parts.append(communes[~filled].value_counts())
        sub = chunk.loc[filled]
        if sub.empty:
            continue
        x = checked(to_float, sub[cols["LAMBERT_X"]], origin, field=cols["LAMBERT_X"])
        y = checked(to_float, sub[cols["LAMBERT_Y"]], origin, field=cols["LAMBERT_Y"])
        epsg = epsg_for_communes(communes[filled])
        if epsg_col:
            given = ~_no_value(sub[epsg_col])
            if given.any():
                epsg[given] = checked(to_int, sub.loc[given, epsg_col], origin, field=epsg_col)
        px, py = project(
            x,
            y,
            epsg,
            ctx.crs,
            origin=origin,
            labels=sub.index,
            field=epsg_col or "EPSG",
        )
        near = in_window(px, py, ctx.area.bounds)
        if not near.any():
            continue
        kept = sub.loc[near]
        kept_codes = codes[filled][near]
        categories = kept_codes.map(BPE_CATEGORIES).fillna("other")
        parts.append(
            pd.DataFrame(
                {
                    "service_id": [f"{stem}:{line_of(i)}" for i in kept.index],
                    "category": categories.to_numpy(dtype=object),
                    "code": kept_codes.to_numpy(dtype=object),
                    "name": (
                        text_column(kept[name_col]).to_numpy(dtype=object)
                        if name_col
                        else np.full(len(kept), None, dtype=object)
                    ),
                    "commune": communes[filled][near].to_numpy(dtype=object),
                    "x": px[near],
                    "y": py[near],
                }
            )
        )
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(
            {c: [] for c in ("service_id", "category", "code", "name", "commune", "x", "y")}
        )
    )
    points = gpd.points_from_xy(
        table["x"].to_numpy(dtype="float64"), table["y"].to_numpy(dtype="float64"), crs=ctx.crs
    )
    inside = np.asarray(points.intersects(ctx.area), dtype=bool)
    table = table.loc[inside].reset_index(drop=True)
    frame = _services_layer(table, np.asarray(points[inside]), ctx, source="bpe")
    unlocated = 0
    if unlocated_parts:
        counts = pd.concat(unlocated_parts).groupby(level=0).sum()
        unlocated = int(counts[counts.index.isin(set(table["commune"]))].sum())
    warnings: list[str] = []
    if unlocated:
        warnings.append(
            tr(
                f"{unlocated} équipement(s) des communes du territoire sans coordonnées : "
                "non placés sur la carte",
                f"{unlocated} facility(ies) in the territory's communes without coordinates: "
                "not placed on the map",
            )
        )
    return LayerData(
        name="services", frame=frame, warnings=warnings, extra=_extra(frame, unlocated)
    )


def _read_user(path: Path, ctx: ReadContext) -> LayerData:
    kept, origin, category_col = read_value_points(
        path,
        ctx,
        names=["category", "categorie", "catégorie"],
        field="category",
        accepted=["TYPEQU (BPE)", "category", "categorie"],
    )
    slugs = text_column(kept[category_col]).str.lower()
    bad = ~slugs.isin(list(CATEGORIES)).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        if pd.isna(slugs.iloc[i]):
            raise origin.error(
                "valeur vide", "empty value", label=kept.index[i], field=category_col
            )
        value = str(kept[category_col].iloc[i]).strip()
        known = ", ".join(CATEGORIES)
        raise origin.error(
            f"catégorie « {value} » inconnue (catégories connues : {known})",
            f"unknown category '{value}' (known categories: {known})",
            label=kept.index[i],
            field=category_col,
        )
    id_col = find_column(kept.columns, ["service_id", "id"])
    if id_col is not None:
        service_ids = text_ids(kept[id_col], origin, id_col).to_numpy(dtype=object)
    else:
        refs = [line_of(i) for i in kept.index] if origin.tabular else list(kept.index)
        service_ids = np.array([f"{path.stem}:{r}" for r in refs], dtype=object)
    table = pd.DataFrame(
        {
            "service_id": service_ids,
            "category": slugs.to_numpy(dtype=object),
            "code": optional_text(kept, ["code"]),
            "name": optional_text(kept, ["name", "nom"]),
        }
    )
    frame = _services_layer(table, kept.geometry.to_numpy(), ctx, source="user")
    return LayerData(name="services", frame=frame, extra=_extra(frame, 0))


def _services_layer(
    table: pd.DataFrame, points: np.ndarray, ctx: ReadContext, *, source: str
) -> gpd.GeoDataFrame:
    n = len(table)
    categories = table["category"].to_numpy(dtype=object)
    frame = pd.DataFrame(
        {
            "service_id": pd.Series(table["service_id"].to_numpy(dtype=object), dtype="str"),
            "category": pd.Series(categories, dtype="str"),
            "label": pd.Series([CATEGORIES[c][0] for c in categories], dtype="str"),
            "code": pd.Series(table["code"].to_numpy(dtype=object), dtype="str"),
            "name": pd.Series(table["name"].to_numpy(dtype=object), dtype="str"),
            "source": pd.Series([source] * n, dtype="str"),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(points, crs=ctx.crs), crs=ctx.crs)


def _extra(frame: pd.DataFrame, unlocated: int) -> dict[str, Any]:
    counts = frame["category"].value_counts()
    return {
        "services": len(frame),
        "by_category": {str(k): int(v) for k, v in counts.items()},
        "unlocated": unlocated,
    }
