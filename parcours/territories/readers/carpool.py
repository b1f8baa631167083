"""Carpool places: the Base nationale des lieux de covoiturage (BNLC).

The BNLC follows the Table Schema ``etalab/schema-lieux-covoiturage``. Version 0.3 has the
fields ``id_lieu, id_local, nom_lieu, ad_lieu, com_lieu, insee, type, date_maj, ouvert,
source, Xlong, Ylat, nbre_pl, nbre_pmr, duree, horaires, proprio, lumiere, comm``; older
producer files (0.2, or the 2019 data.gouv.fr exports) have ``id_local`` but no
``id_lieu`` and sometimes extra columns, which are ignored. Files come as UTF-8 (with or
without BOM) or Latin-1, ``;`` or ``,`` separated (:func:`parcours.geo.read_text_table`).

How strict
----------
The schema's *type and format* constraints are errors: a wrong value there means the row
(or the whole file) is not what it claims to be, and parcours would otherwise place a
carpool area in the wrong spot or with a wrong capacity. So an :class:`InputError`
naming the file, the line and the field is raised for

* a missing required column (``nom_lieu, insee, type, date_maj, ouvert, Xlong, Ylat`` and
  one of ``id_lieu`` / ``id_local``);
* an empty required value (identifier, ``nom_lieu``, ``insee``, ``type``, ``date_maj``,
  ``ouvert``, ``Xlong``, ``Ylat``);
* ``Xlong`` / ``Ylat`` that are not numbers or lie outside [-180, 180] / [-90, 90];
* ``insee`` that is not a commune code (two digits other than 20, or 2A/2B, then
  three digits);
* ``date_maj`` that is not an ISO date ``AAAA-MM-JJ`` (the official invalid example,
  ``24-06-2019``);
* ``ouvert`` / ``lumiere`` that are not booleans (``true``/``false``, ``1``/``0``; French
  ``oui``/``non`` are tolerated);
* ``nbre_pl``, ``nbre_pmr``, ``duree`` that are not integers >= 0;
* a duplicated identifier (``id_lieu`` is the schema's primary key).

Real-world files drift on *vocabulary* and on fields parcours does not use, so these only
produce a warning (the row is kept): a ``type`` outside the schema's list (``Aire de
covoiturage, Sortie d'autoroute, Parking, Supermarché, Parking relais, Délaissé routier,
Auto-stop``; a case or accent variant is mapped to the official spelling), a ``source``
that is not a 9-digit SIREN, an ``id_lieu`` not of the form ``INSEE-C-NNN``. Places with
``ouvert = false`` are dropped, with a warning, since nobody can use them.

The layer's ``id_lieu`` is the schema's ``id_lieu`` when filled, else ``id_local``; its
``source`` column is the BNLC ``source`` field (SIREN of the producer), null when empty.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from os import PathLike
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from parcours.errors import InputError
from parcours.geo.crs import WGS84
from parcours.geo.tables import (
    line_of,
    read_text_table,
    require_columns,
    require_unique,
    to_float,
    to_int,
)
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ReadContext, clip_to_area
from parcours.territories.readers._common import check_insee_codes

__all__ = ["CARPOOL_COLUMNS", "CARPOOL_TYPES", "read_carpool"]

#: The ``type`` values allowed by schema-lieux-covoiturage (0.2 and later).
CARPOOL_TYPES: tuple[str, ...] = (
    "Aire de covoiturage",
    "Sortie d'autoroute",
    "Parking",
    "Supermarché",
    "Parking relais",
    "Délaissé routier",
    "Auto-stop",
)

#: The normalised columns of the carpool layer (plus ``geometry``).
CARPOOL_COLUMNS: tuple[str, ...] = (
    "id_lieu",
    "nom_lieu",
    "type",
    "places",
    "places_pmr",
    "horaires",
    "insee",
    "source",
)

_REQUIRED = ("nom_lieu", "insee", "type", "date_maj", "ouvert", "Xlong", "Ylat")
_TRUE = {"true", "1", "oui", "vrai"}
_FALSE = {"false", "0", "non", "faux"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SIREN = re.compile(r"^\d{9}$")
_ID_LIEU = re.compile(r"^(?:[013-9]\d|2[AB1-9])\d{3}-C-\d{3}$")
_MAX_EXAMPLES = 5


def _fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced, apostrophes unified."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().replace("-", " ").split())


_TYPE_BY_FOLD = {_fold(t): t for t in CARPOOL_TYPES}


def _column_case_map(columns: pd.Index) -> dict[str, str]:
    """Map the schema's field names to the file's columns, ignoring case."""
    lower = {str(c).lower(): str(c) for c in columns}
    wanted = (
        *_REQUIRED,
        "id_lieu",
        "id_local",
        "source",
        "nbre_pl",
        "nbre_pmr",
        "duree",
        "horaires",
        "lumiere",
    )
    return {field: lower[field.lower()] for field in wanted if field.lower() in lower}


def _required_text(values: pd.Series, *, name: str, field: str) -> pd.Series:
    text = values.astype(str).str.strip()
    empty = (text == "").to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(tr("valeur vide", "empty value"), file=name, row=line_of(i), field=field)
    return text


def _optional_text(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.strip()
    return pd.Series([t or None for t in text], index=values.index, dtype="str")


def _booleans(values: pd.Series, *, name: str, field: str, required: bool) -> pd.Series:
    """Parse Table Schema booleans; empty values are null unless ``required``."""
    result: list[bool | None] = []
    for i, raw in enumerate(values.astype(str)):
        text = raw.strip().lower()
        if text in _TRUE:
            result.append(True)
        elif text in _FALSE:
            result.append(False)
        elif not text and not required:
            result.append(None)
        else:
            raise InputError(
                tr(
                    f"booléen attendu (true ou false), trouvé « {raw} »",
                    f"boolean expected (true or false), found '{raw}'",
                )
                if text
                else tr("valeur vide", "empty value"),
                file=name,
                row=line_of(i),
                field=field,
            )
    return pd.Series(result, index=values.index, dtype="boolean")


def _dates(values: pd.Series, *, name: str, field: str) -> None:
    """Check ISO ``YYYY-MM-DD`` dates (the schema's ``date`` type, default format)."""
    for i, raw in enumerate(values.astype(str)):
        text = raw.strip()
        try:
            problem = _ISO_DATE.match(text) is None or not date.fromisoformat(text)
        except ValueError:
            problem = True
        if problem:
            raise InputError(
                tr(
                    f"date ISO AAAA-MM-JJ attendue, trouvé « {raw} »",
                    f"ISO date YYYY-MM-DD expected, found '{raw}'",
                )
                if text
                else tr("valeur vide", "empty value"),
                file=name,
                row=line_of(i),
                field=field,
            )


def _counts(values: pd.Series, *, name: str, field: str) -> pd.Series:
    """Parse an optional integer >= 0 column (empty -> null)."""
    text = values.astype(str).str.strip()
    empty = (text == "").to_numpy()
    numbers = to_int(text.where(~empty, "0"), name=name, field=field)
    negative = (numbers < 0) & ~empty
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise InputError(
            tr(
                f"entier positif ou nul attendu, trouvé « {values.iloc[i]} »",
                f"non-negative integer expected, found '{values.iloc[i]}'",
            ),
            file=name,
            row=line_of(i),
            field=field,
        )
    return pd.Series(
        pd.array(
            [None if e else int(n) for n, e in zip(numbers, empty, strict=True)], dtype="Int32"
        ),
        index=values.index,
    )


def _examples(values: pd.Series, mask: np.ndarray) -> str:
    found = sorted({str(v) for v in values[mask]})
    shown = ", ".join(f"« {v} »" for v in found[:_MAX_EXAMPLES])
    return shown + (" ..." if len(found) > _MAX_EXAMPLES else "")


def read_carpool(path: str | PathLike[str], ctx: ReadContext) -> list[LayerData]:
    """Read a BNLC file (schema-lieux-covoiturage) into the ``carpool`` layer.

    Parameters
    ----------
    path
        The CSV file (national BNLC or a producer's file, schema 0.1 to 0.3).
    ctx
        The territory's CRS and area: places outside the area are dropped.

    Returns
    -------
    list of LayerData
        One ``carpool`` layer: points in ``ctx.crs`` with the columns of
        :data:`CARPOOL_COLUMNS` (``places`` and ``places_pmr`` Int32, null when unknown);
        its ``extra`` holds the encoding, delimiter and row counts.

    Raises
    ------
    InputError
        See the module docstring for what is refused; always names file, line, field.

    """
    source_path = Path(path)
    ctx.progress(tr("lieux de covoiturage", "carpool places"), None)
    table = read_text_table(source_path)
    name = table.name
    frame = table.frame
    columns = _column_case_map(frame.columns)
    if "id_lieu" not in columns and "id_local" not in columns:
        require_columns(table, ["id_lieu"], name=name)
    require_columns(frame.rename(columns={v: k for k, v in columns.items()}), _REQUIRED, name=name)

    def col(field: str) -> pd.Series:
        return frame[columns[field]]

    warnings: list[str] = []

    # Identifier: id_lieu (PAN identifier) when filled, else the producer's id_local.
    ids = pd.Series([""] * len(frame), index=frame.index, dtype=object)
    for field in ("id_local", "id_lieu"):
        if field in columns:
            text = col(field).astype(str).str.strip()
            ids = text.where(text != "", ids)
    id_field = columns.get("id_lieu", columns.get("id_local", "id_lieu"))
    empty_id = (ids == "").to_numpy()
    if empty_id.any():
        i = int(np.flatnonzero(empty_id)[0])
        raise InputError(
            tr("identifiant vide (id_lieu et id_local)", "empty identifier (id_lieu and id_local)"),
            file=name,
            row=line_of(i),
            field=id_field,
        )
    require_unique(ids, name=name, field=id_field)

    names = _required_text(col("nom_lieu"), name=name, field=columns["nom_lieu"])
    insee = check_insee_codes(col("insee"), name=name, field=columns["insee"])
    raw_types = _required_text(col("type"), name=name, field=columns["type"])
    _dates(col("date_maj"), name=name, field=columns["date_maj"])
    is_open = _booleans(col("ouvert"), name=name, field=columns["ouvert"], required=True)
    lon = to_float(col("Xlong"), name=name, field=columns["Xlong"], minimum=-180, maximum=180)
    lat = to_float(col("Ylat"), name=name, field=columns["Ylat"], minimum=-90, maximum=90)
    counts: dict[str, pd.Series] = {}
    for field in ("nbre_pl", "nbre_pmr", "duree"):
        if field in columns:
            counts[field] = _counts(col(field), name=name, field=columns[field])
        else:
            counts[field] = pd.Series([pd.NA] * len(frame), index=frame.index, dtype="Int32")
    if "lumiere" in columns:
        _booleans(col("lumiere"), name=name, field=columns["lumiere"], required=False)

    # Vocabulary drift: warnings only.
    types = pd.Series(
        [_TYPE_BY_FOLD.get(_fold(t), t) for t in raw_types], index=frame.index, dtype=object
    )
    unknown = ~types.isin(CARPOOL_TYPES).to_numpy()
    if unknown.any():
        warnings.append(
            tr(
                f"{name} : {int(unknown.sum())} lieu(x) d'un type hors schéma "
                f"({_examples(types, unknown)}), conservé(s)",
                f"{name}: {int(unknown.sum())} place(s) of a type outside the schema "
                f"({_examples(types, unknown)}), kept",
            )
        )
    sources = (
        _optional_text(col("source"))
        if "source" in columns
        else pd.Series([None] * len(frame), index=frame.index, dtype="str")
    )
    bad_siren = np.array([isinstance(s, str) and _SIREN.match(s) is None for s in sources])
    if bad_siren.any():
        warnings.append(
            tr(
                f"{name} : {int(bad_siren.sum())} « source » qui ne sont pas des SIREN à "
                f"9 chiffres ({_examples(sources, bad_siren)})",
                f"{name}: {int(bad_siren.sum())} 'source' values that are not 9-digit "
                f"SIRENs ({_examples(sources, bad_siren)})",
            )
        )
    if "id_lieu" in columns:
        given = col("id_lieu").astype(str).str.strip()
        bad_id = np.array([bool(v) and _ID_LIEU.match(v) is None for v in given])
        if bad_id.any():
            warnings.append(
                tr(
                    f"{name} : {int(bad_id.sum())} id_lieu hors du format INSEE-C-NNN "
                    f"({_examples(given, bad_id)})",
                    f"{name}: {int(bad_id.sum())} id_lieu not of the form INSEE-C-NNN "
                    f"({_examples(given, bad_id)})",
                )
            )

    closed = ~is_open.fillna(True).to_numpy(dtype=bool)
    if closed.any():
        warnings.append(
            tr(
                f"{name} : {int(closed.sum())} lieu(x) fermé(s) (ouvert = false) ignoré(s)",
                f"{name}: {int(closed.sum())} closed place(s) (ouvert = false) skipped",
            )
        )

    layer = gpd.GeoDataFrame(
        {
            "id_lieu": pd.Series(ids.to_numpy(), dtype="str"),
            "nom_lieu": pd.Series(names.to_numpy(), dtype="str"),
            "type": pd.Series(types.to_numpy(), dtype="str"),
            "places": counts["nbre_pl"].reset_index(drop=True),
            "places_pmr": counts["nbre_pmr"].reset_index(drop=True),
            "horaires": (
                _optional_text(col("horaires")).reset_index(drop=True)
                if "horaires" in columns
                else pd.Series([None] * len(frame), dtype="str")
            ),
            "insee": insee.reset_index(drop=True),
            "source": sources.reset_index(drop=True),
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=WGS84,
    )
    layer = layer.loc[~closed].reset_index(drop=True)
    clipped = clip_to_area(layer, ctx)
    return [
        LayerData(
            name="carpool",
            frame=clipped,
            warnings=warnings,
            extra={
                "source": str(source_path),
                "encoding": table.encoding,
                "delimiter": table.delimiter,
                "rows_in_file": len(frame),
                "closed": int(closed.sum()),
                "outside_area": len(layer) - len(clipped),
            },
        )
    ]
