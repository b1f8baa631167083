"""Bike-share stations from a GBFS ``station_information.json``.

Accepted inputs
---------------
* GBFS 1.x / 2.x ``station_information.json``: ``{"last_updated": ..., "ttl": ...,
  "version": "2.3", "data": {"stations": [{"station_id", "name", "lat", "lon",
  "capacity", ...}]}}`` (1.0 has no ``version``);
* GBFS 3.0: the same, with ``name`` a list of localised strings ``[{"text", "language"}]``
  (the French text is kept, else the first one);
* a folder holding ``station_information.json``, or a ``gbfs.json`` discovery file next
  to it (the sibling ``station_information.json`` is read).

The system identifier is, in this order, a top-level ``system_id`` of the file, the
``data.system_id`` of a sibling ``system_information.json``, or the name of the folder
holding the file.

Validation follows the GBFS reference: ``station_id``, ``name``, ``lat`` and ``lon`` are
required (numbers in WGS84 range; numeric strings, seen in some feeds, are accepted),
``capacity`` is optional and a non-negative integer, ``station_id`` is unique. A bad
value raises an :class:`InputError` naming the file, the station (``data.stations[3]``
and its ``station_id``) and the field; a JSON syntax error names the line and column.
"""

from __future__ import annotations

import json
import math
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from parcours.errors import InputError
from parcours.geo.crs import WGS84
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ReadContext, clip_to_area

__all__ = ["BIKESHARE_COLUMNS", "read_bikeshare"]

#: The normalised columns of the bikeshare layer (plus ``geometry``).
BIKESHARE_COLUMNS: tuple[str, ...] = ("station_id", "name", "capacity", "system")

_STATION_FILE = "station_information.json"


def _load_json(path: Path) -> Any:
    """Parse a JSON file, reporting a syntax error with its line and column."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(tr("fichier introuvable", "file not found"), file=path) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            tr(
                f"le JSON doit être en UTF-8 (octet invalide à la position {exc.start})",
                f"JSON must be UTF-8 (invalid byte at position {exc.start})",
            ),
            file=path,
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            tr(
                f"JSON invalide, colonne {exc.colno} : {exc.msg}",
                f"invalid JSON, column {exc.colno}: {exc.msg}",
            ),
            file=path,
            row=exc.lineno,
        ) from exc


def _resolve(path: Path) -> Path:
    """Find the ``station_information.json`` meant by a folder or a ``gbfs.json``."""
    if path.is_dir():
        candidate = path / _STATION_FILE
        if not candidate.exists():
            raise InputError(
                tr(
                    f"dossier GBFS sans {_STATION_FILE}",
                    f"GBFS folder without {_STATION_FILE}",
                ),
                file=path,
            )
        return candidate
    return path


def _is_discovery(document: Any) -> bool:
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict) or "stations" in data:
        return False
    if "feeds" in data:  # GBFS 3.0
        return True
    return any(isinstance(v, dict) and "feeds" in v for v in data.values())


def _system_id(path: Path, document: dict[str, Any]) -> str:
    own = document.get("system_id")
    if isinstance(own, str | int) and str(own).strip():
        return str(own).strip()
    sibling = path.with_name("system_information.json")
    if sibling.exists():
        info = _load_json(sibling)
        data = info.get("data") if isinstance(info, dict) else None
        if isinstance(data, dict):
            system = data.get("system_id")
            if isinstance(system, str | int) and str(system).strip():
                return str(system).strip()
    return path.resolve().parent.name or path.stem


def _number(value: Any) -> float | None:
    """Return a finite float from a JSON number or numeric string, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _station_name(value: Any) -> str | None:
    """Return the station name from a GBFS 1/2 string or a GBFS 3 localised list."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        texts = [v for v in value if isinstance(v, dict) and isinstance(v.get("text"), str)]
        for entry in texts:
            if str(entry.get("language", "")).lower().startswith("fr") and entry["text"].strip():
                return str(entry["text"]).strip()
        for entry in texts:
            if entry["text"].strip():
                return str(entry["text"]).strip()
    return None


def read_bikeshare(path: str | PathLike[str], ctx: ReadContext) -> list[LayerData]:
    """Read a GBFS ``station_information.json`` into the ``bikeshare`` layer.

    Parameters
    ----------
    path
        The ``station_information.json`` (GBFS 1.x, 2.x or 3.0), its folder, or the
        ``gbfs.json`` beside it.
    ctx
        The territory's CRS and area: stations outside the area are dropped.

    Returns
    -------
    list of LayerData
        One ``bikeshare`` layer: points in ``ctx.crs``, columns ``station_id``,
        ``name``, ``capacity`` (Int32, null when not given) and ``system``.

    Raises
    ------
    InputError
        Unreadable or invalid JSON (with line and column), no ``data.stations`` list, a
        station with a missing or bad field (naming ``data.stations[i].field``), a
        duplicated ``station_id``.

    """
    ctx.progress(tr("vélos en libre-service", "bike share"), None)
    file = _resolve(Path(path))
    document = _load_json(file)
    if _is_discovery(document):
        station_file = file.with_name(_STATION_FILE)
        if not station_file.exists():
            raise InputError(
                tr(
                    f"fichier de découverte gbfs.json : donnez plutôt {_STATION_FILE} "
                    "(téléchargez-le depuis l'URL listée dans ce fichier)",
                    f"gbfs.json discovery file: give {_STATION_FILE} instead "
                    "(download it from the URL listed in this file)",
                ),
                file=file,
            )
        file = station_file
        document = _load_json(file)
    label = str(file)
    data = document.get("data") if isinstance(document, dict) else None
    stations = data.get("stations") if isinstance(data, dict) else None
    if not isinstance(stations, list):
        raise InputError(
            tr(
                "pas de liste data.stations : ce n'est pas un station_information.json GBFS",
                "no data.stations list: this is not a GBFS station_information.json",
            ),
            file=label,
            field="data.stations",
        )
    assert isinstance(document, dict)
    system = _system_id(file, document)

    ids: list[str] = []
    names: list[str] = []
    capacities: list[int | None] = []
    lons: list[float] = []
    lats: list[float] = []
    seen: dict[str, int] = {}
    for i, station in enumerate(stations):
        where = f"data.stations[{i}]"
        if not isinstance(station, dict):
            raise InputError(
                tr("objet station attendu", "station object expected"), file=label, field=where
            )
        raw_id = station.get("station_id")
        station_id = (
            str(raw_id).strip()
            if isinstance(raw_id, str | int) and not isinstance(raw_id, bool)
            else ""
        )
        if not station_id:
            raise InputError(
                tr("station_id absent ou vide", "station_id missing or empty"),
                file=label,
                field=f"{where}.station_id",
            )
        if station_id in seen:
            first = f"data.stations[{seen[station_id]}]"
            raise InputError(
                tr(
                    f"station_id « {station_id} » en double (déjà {first})",
                    f"duplicate station_id '{station_id}' (already {first})",
                ),
                file=label,
                field=f"{where}.station_id",
            )
        seen[station_id] = i
        about = tr(f"station « {station_id} »", f"station '{station_id}'")
        name = _station_name(station.get("name"))
        if name is None:
            raise InputError(
                tr(f"{about} : nom absent ou vide", f"{about}: name missing or empty"),
                file=label,
                field=f"{where}.name",
            )
        coords: dict[str, float] = {}
        for key, low, high in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
            if key not in station or station[key] is None:
                raise InputError(
                    tr(f"{about} : {key} absent", f"{about}: {key} missing"),
                    file=label,
                    field=f"{where}.{key}",
                )
            number = _number(station[key])
            if number is None or not low <= number <= high:
                raise InputError(
                    tr(
                        f"{about} : {key} doit être un nombre entre {low:g} et {high:g}, "
                        f"trouvé {station[key]!r}",
                        f"{about}: {key} must be a number between {low:g} and {high:g}, "
                        f"found {station[key]!r}",
                    ),
                    file=label,
                    field=f"{where}.{key}",
                )
            coords[key] = number
        capacity: int | None = None
        if station.get("capacity") is not None:
            value = _number(station["capacity"])
            if value is None or value < 0 or not value.is_integer():
                raise InputError(
                    tr(
                        f"{about} : capacity doit être un entier positif ou nul, "
                        f"trouvé {station['capacity']!r}",
                        f"{about}: capacity must be a non-negative integer, "
                        f"found {station['capacity']!r}",
                    ),
                    file=label,
                    field=f"{where}.capacity",
                )
            capacity = int(value)
        ids.append(station_id)
        names.append(name)
        capacities.append(capacity)
        lons.append(coords["lon"])
        lats.append(coords["lat"])

    layer = gpd.GeoDataFrame(
        {
            "station_id": pd.Series(ids, dtype="str"),
            "name": pd.Series(names, dtype="str"),
            "capacity": pd.Series(capacities, dtype="Int32"),
            "system": pd.Series([system] * len(ids), dtype="str"),
        },
        geometry=gpd.points_from_xy(lons, lats),
        crs=WGS84,
    )
    clipped = clip_to_area(layer, ctx)
    warnings: list[str] = []
    if not ids:
        warnings.append(tr(f"{label} : aucune station", f"{label}: no station"))
    return [
        LayerData(
            name="bikeshare",
            frame=clipped,
            warnings=warnings,
            extra={
                "source": label,
                "system": system,
                "version": str(document.get("version", "1.0")),
                "last_updated": document.get("last_updated"),
                "stations_in_file": len(ids),
            },
        )
    ]
