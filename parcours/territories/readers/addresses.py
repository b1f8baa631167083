"""Addresses layer: the Base Adresse Nationale (BAN), as adresse.data.gouv.fr ships it.

The BAN's « adresses-DD.csv » files (one per département, also ``.csv.gz``) are
``;``-separated UTF-8 with the header ``id;id_fantoir;numero;rep;nom_voie;code_postal;
code_insee;nom_commune;code_insee_ancienne_commune;nom_ancienne_commune;x;y;lon;lat;
type_position;alias;nom_ld;libelle_acheminement;nom_afnor;source_position;source_nom_voie;
certification_commune;cad_parcelles`` (:data:`parcours.geo.geocoding.BAN_COLUMNS`). The
file is streamed (a département holds up to a few million addresses) and only the
addresses in the territory's area are kept.

Required columns: ``id, numero, nom_voie, code_postal, code_insee, nom_commune, lon, lat``;
``rep`` is read when present. Positions come from ``lon``/``lat`` (WGS84, as every plain
coordinate of parcours); ``x``/``y`` (Lambert-93, or the local CRS overseas) are not needed.
An :class:`~parcours.errors.InputError` naming the file, the line and the field is raised for
a missing column, a file read as a single column (another separator than ``;``, ``,``, tab
or ``|``), an empty ``id`` or ``nom_voie``, a ``numero`` that is not an integer,
``lon``/``lat`` that are not numbers in [-180, 180] / [-90, 90], a ``code_insee`` that is
not a commune code, a ``code_postal`` that is not 5 digits, a duplicated ``id`` among the
addresses kept. Numbers ``99999`` (the BAN's placeholder of named places without a number)
are skipped and counted in the summary.

The layer ``addresses``: points in the territory CRS with ``address_id`` (BAN ``id``),
``housenumber`` int64, ``rep`` (null when none), ``street``, ``postcode``, ``citycode``,
``city`` and ``label`` (``"numero rep nom_voie code_postal nom_commune"``, the BAN label).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from os import PathLike
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from parcours.errors import InputError
from parcours.geo.crs import WGS84
from parcours.geo.geocoding import ban_label
from parcours.geo.stream import open_csv, require_source_columns
from parcours.geo.tables import line_of, to_float, to_int
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ReadContext, clip_to_area
from parcours.territories.readers._common import (
    Origin,
    check_insee_codes,
    check_unique,
    checked,
    in_window,
)

__all__ = ["ADDRESS_COLUMNS", "read_addresses"]

#: The columns of the ``addresses`` layer (plus ``geometry``).
ADDRESS_COLUMNS: tuple[str, ...] = (
    "address_id",
    "housenumber",
    "rep",
    "street",
    "postcode",
    "citycode",
    "city",
    "label",
)

_REQUIRED = ("id", "numero", "nom_voie", "code_postal", "code_insee", "nom_commune", "lon", "lat")
_POSTCODE = re.compile(r"^\d{5}$")
_NO_NUMBER = 99999
# Margin (degrees, about 1 km) of the first, rectangular filter on raw lon/lat.
_WINDOW_MARGIN_DEG = 0.01


def _required_text(values: pd.Series, origin: Origin, field: str) -> pd.Series:
    text = values.astype(str).str.strip()
    empty = (text == "").to_numpy()
    if empty.any():
        label = values.index[int(np.flatnonzero(empty)[0])]
        raise origin.error("valeur vide", "empty value", label=label, field=field)
    return text


def _line_in(index: pd.Index) -> Callable[[int], int]:
    """Map a position in a subset of rows to the line of that row in the file."""

    def line(i: int) -> int:
        return line_of(int(index[i]))

    return line


def read_addresses(path: str | PathLike[str], ctx: ReadContext) -> list[LayerData]:
    """Read a BAN addresses file into the ``addresses`` layer.

    Parameters
    ----------
    path
        The BAN ``adresses-DD.csv`` (or ``.csv.gz``, or a zip holding it).
    ctx
        The territory: addresses are returned in ``ctx.crs``, those outside ``ctx.area``
        are dropped.

    Returns
    -------
    list of LayerData
        One ``addresses`` layer (columns :data:`ADDRESS_COLUMNS`); ``extra`` holds
        ``rows_in_file``, ``addresses``, ``streets``, ``communes``, ``without_number``.

    Raises
    ------
    InputError
        See the module docstring; always names the file, the line and the field.
    """
    source_path = Path(path)
    source = open_csv(source_path)
    origin = Origin(source.name, tabular=True)
    if len(source.columns) == 1:
        raise InputError(
            tr(
                f"une seule colonne lue (« {source.columns[0][:60]} ») : un fichier BAN est "
                "séparé par des points-virgules (;)",
                f"a single column read ('{source.columns[0][:60]}'): a BAN file is separated "
                "by semicolons (;)",
            ),
            file=source.name,
            row=1,
            field=_REQUIRED[0],
        )
    cols = require_source_columns(source, _REQUIRED)
    rep_col = source.column("rep")
    wanted = [cols[c] for c in _REQUIRED] + ([rep_col] if rep_col else [])
    x0, y0, x1, y1 = ctx.area_wgs84().bounds
    window = (
        x0 - _WINDOW_MARGIN_DEG,
        y0 - _WINDOW_MARGIN_DEG,
        x1 + _WINDOW_MARGIN_DEG,
        y1 + _WINDOW_MARGIN_DEG,
    )
    label = tr("BAN : adresses", "BAN: addresses")
    parts: list[pd.DataFrame] = []
    rows_in_file = 0
    without_number = 0
    for chunk in source.chunks(wanted, progress=lambda f: ctx.progress(label, f)):
        rows_in_file += len(chunk)
        lon = checked(
            to_float, chunk[cols["lon"]], origin, field=cols["lon"], minimum=-180, maximum=180
        )
        lat = checked(
            to_float, chunk[cols["lat"]], origin, field=cols["lat"], minimum=-90, maximum=90
        )
        near = in_window(lon, lat, window)
        if not near.any():
            continue
        sub = chunk.loc[near]
        ids = _required_text(sub[cols["id"]], origin, cols["id"])
        numbers = checked(to_int, sub[cols["numero"]], origin, field=cols["numero"])
        negative = numbers < 0
        if negative.any():
            i = int(np.flatnonzero(negative)[0])
            raise origin.error(
                f"numéro négatif « {sub[cols['numero']].iloc[i]} »",
                f"negative number '{sub[cols['numero']].iloc[i]}'",
                label=sub.index[i],
                field=cols["numero"],
            )
        streets = _required_text(sub[cols["nom_voie"]], origin, cols["nom_voie"])
        postcodes = sub[cols["code_postal"]].astype(str).str.strip()
        bad = ~postcodes.str.match(_POSTCODE).to_numpy(dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise origin.error(
                f"code postal invalide « {postcodes.iloc[i]} » : 5 chiffres attendus",
                f"invalid postcode '{postcodes.iloc[i]}': 5 digits expected",
                label=sub.index[i],
                field=cols["code_postal"],
            )
        citycodes = check_insee_codes(
            sub[cols["code_insee"]].reset_index(drop=True),
            name=source.name,
            field=cols["code_insee"],
            row_of=_line_in(sub.index),
        )
        cities = _required_text(sub[cols["nom_commune"]], origin, cols["nom_commune"])
        reps = (
            sub[rep_col].astype(str).str.strip().str.lower()
            if rep_col
            else pd.Series([""] * len(sub), index=sub.index)
        )
        keep = numbers != _NO_NUMBER
        without_number += int((~keep).sum())
        parts.append(
            pd.DataFrame(
                {
                    "address_id": ids.to_numpy(dtype=object)[keep],
                    "housenumber": numbers[keep],
                    "rep": reps.to_numpy(dtype=object)[keep],
                    "street": streets.to_numpy(dtype=object)[keep],
                    "postcode": postcodes.to_numpy(dtype=object)[keep],
                    "citycode": citycodes.to_numpy(dtype=object)[keep],
                    "city": cities.to_numpy(dtype=object)[keep],
                    "lon": lon[near][keep],
                    "lat": lat[near][keep],
                },
                index=sub.index[keep],
            )
        )
    table = (
        pd.concat(parts)
        if parts
        else pd.DataFrame({c: [] for c in (*ADDRESS_COLUMNS[:-1], "lon", "lat")})
    )
    points = gpd.GeoDataFrame(
        {
            "address_id": pd.Series(table["address_id"].to_numpy(dtype=object), dtype="str"),
            "housenumber": table["housenumber"].to_numpy(dtype="int64"),
            "rep": pd.Series([r or None for r in table["rep"].to_numpy(dtype=object)], dtype="str"),
            "street": pd.Series(table["street"].to_numpy(dtype=object), dtype="str"),
            "postcode": pd.Series(table["postcode"].to_numpy(dtype=object), dtype="str"),
            "citycode": pd.Series(table["citycode"].to_numpy(dtype=object), dtype="str"),
            "city": pd.Series(table["city"].to_numpy(dtype=object), dtype="str"),
            "label": pd.Series(
                [
                    ban_label(n, r, s, p, c)
                    for n, r, s, p, c in zip(
                        table["housenumber"],
                        table["rep"],
                        table["street"],
                        table["postcode"],
                        table["city"],
                        strict=True,
                    )
                ],
                dtype="str",
            ),
        },
        index=table.index,
        geometry=gpd.points_from_xy(
            table["lon"].to_numpy(dtype="float64"), table["lat"].to_numpy(dtype="float64")
        ),
        crs=WGS84,
    )
    check_unique(points["address_id"], origin, cols["id"])
    clipped = clip_to_area(points, ctx)
    return [
        LayerData(
            name="addresses",
            frame=clipped,
            extra={
                "source": str(source_path),
                "encoding": source.encoding,
                "delimiter": source.delimiter,
                "rows_in_file": rows_in_file,
                "addresses": len(clipped),
                "streets": int(clipped.groupby(["citycode", "street"]).ngroups),
                "communes": int(clipped["citycode"].nunique()),
                "without_number": without_number,
            },
        )
    ]
