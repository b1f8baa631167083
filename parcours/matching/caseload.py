"""The caseload: the people an advisor follows, loaded from a CSV, kept as personal data.

``parcours caseload load NAME FILE.csv`` reads one row per person and destination
(:data:`CASELOAD_COLUMNS`), validates every field (the error names the file, the row and
the field, with the allowed values), geocodes the addresses offline on the territory's
``addresses`` layer (or an Addok server) and stores the result in the territory's
``personnel/`` folder, apart from the public layers (:data:`PERSONAL_DIR`), with a notice
saying it is personal data. Nothing is written when a row is invalid; unmatched or
low-score addresses are listed for the advisor to fix, never placed silently.

Columns: ``id``; home as ``adresse`` or ``lon,lat``; destination as
``destination_adresse`` or ``destination_lon,destination_lat``; ``destination_nom``
(optional), ``motif``, ``horaires`` (``lun-ven 05:30-13:00; sam 06:00-12:00``), ``contrat``
(optional); the profile fields with their names in the person file (``age``, ``statut``,
``permis``...; the bike's as ``velo_sait_rouler``, ``velo_possede``, ``velo_electrique``,
``velo_roule_de_nuit``). Booleans are ``oui/non``, ``true/false`` or ``1/0``. Several
rows with the same ``id`` are the same person's destinations (their profile fields must
agree).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import pandas as pd

from parcours.errors import InputError
from parcours.i18n import tr
from parcours.matching._csv import delimiter_of, parse_bool, parse_number, read_text
from parcours.matching.match import Geocoder, no_address_file, territory_geocoder
from parcours.matching.profile import PersonFile, Profile, person_from_mapping
from parcours.territories import Territory, Workspace

__all__ = [
    "CASELOAD_COLUMNS",
    "PERSONAL_DIR",
    "Caseload",
    "load_caseload",
    "read_caseload",
    "stored_caseload",
]

#: The folder of a territory holding personal data (never read by committee outputs).
PERSONAL_DIR: Final = "personnel"
_NOTICE = (
    "DONNÉES PERSONNELLES — file active des conseillers mobilité.\n"
    "Réservé aux conseillers de la plateforme (référentiel CNIL 2021-028). Ne pas diffuser,\n"
    "ne pas copier hors du poste. Les sorties pour le comité de pilotage sont agrégées\n"
    "(au moins 11 personnes par unité) et ne lisent jamais ce dossier directement.\n"
)
_BIKE = ("sait_rouler", "possede", "electrique", "roule_de_nuit")
_PROFILE_FIELDS = tuple(f for f in Profile.model_fields if f != "velo")
#: Every column the caseload CSV may have.
CASELOAD_COLUMNS: tuple[str, ...] = (
    "id",
    "adresse",
    "lon",
    "lat",
    "destination_nom",
    "destination_adresse",
    "destination_lon",
    "destination_lat",
    "motif",
    "horaires",
    "contrat",
    *_PROFILE_FIELDS,
    *(f"velo_{b}" for b in _BIKE),
)
_BOOL_FIELDS = {
    name for name, f in Profile.model_fields.items() if f.annotation in (bool, bool | None)
} | {f"velo_{b}" for b in _BIKE}


class Caseload:
    """A territory's caseload: person files with their ids, and where homes are."""

    def __init__(self, ids: list[str], files: list[PersonFile]) -> None:
        self.ids = ids
        self.files = files

    def __len__(self) -> int:
        """Number of people."""
        return len(self.ids)

    def to_frame(self) -> pd.DataFrame:
        """One row per person: id and the person file as JSON."""
        return pd.DataFrame({"id": self.ids, "person": [f.model_dump_json() for f in self.files]})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Caseload:
        """The inverse of :meth:`to_frame`."""
        files = [PersonFile.model_validate(json.loads(p)) for p in frame["person"]]
        return cls([str(i) for i in frame["id"]], files)


_NUMBER_FIELDS = {
    "lon", "lat", "destination_lon", "destination_lat", "budget_mois_eur", "revenu_mois_eur",
}  # fmt: skip
_INT_FIELDS = {"age", "inscrit_depuis_mois", "marche_max_min", "trajet_max_min"}


def _value(column: str, raw: str) -> Any:
    """A cell as the person file has it (booleans, numbers with a decimal comma)."""
    text = raw.strip()
    if column in _BOOL_FIELDS:
        return parse_bool(text)
    if column in _NUMBER_FIELDS:
        return parse_number(text)
    if column in _INT_FIELDS:
        number = parse_number(text)
        if not number.is_integer():
            raise ValueError(f"« {raw} » : nombre entier attendu")
        return int(number)
    return text


def read_caseload(path: Path | str) -> tuple[list[str], list[PersonFile], list[list[int]]]:
    """Read and validate a caseload CSV (``;`` or ``,``, UTF-8 with or without BOM).

    Returns
    -------
    (ids, files, rows)
        The people in order of first appearance, their person files (addresses not yet
        located) and, for each person, the CSV line numbers of its rows.

    Raises
    ------
    InputError
        Naming the file, the row (line number, header = 1) and the field.
    """
    path = Path(path)
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter_of(text))
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in CASELOAD_COLUMNS]
    if unknown:
        raise InputError(
            tr(
                f"colonnes inconnues : {', '.join(unknown)} "
                f"(colonnes possibles : {', '.join(CASELOAD_COLUMNS)})",
                f"unknown columns: {', '.join(unknown)} (allowed: {', '.join(CASELOAD_COLUMNS)})",
            ),
            file=path,
            row=1,
        )
    for needed in ("id", "horaires"):
        if needed not in header:
            raise InputError(
                tr(f"colonne « {needed} » absente", f"column '{needed}' missing"),
                file=path,
                row=1,
                field=needed,
            )
    people: dict[str, dict[str, Any]] = {}
    lines: dict[str, list[int]] = {}
    for number, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "") for k, v in raw.items() if k is not None}
        pid = row.get("id", "").strip()
        if not pid:
            raise InputError(tr("identifiant vide", "empty id"), file=path, row=number, field="id")
        values: dict[str, Any] = {}
        for column, rawv in row.items():
            if rawv.strip() == "":
                continue
            try:
                values[column] = _value(column, rawv)
            except ValueError as exc:
                raise InputError(str(exc), file=path, row=number, field=column) from exc
        home: dict[str, Any] = (
            {"lon": values.get("lon"), "lat": values.get("lat")}
            if "lon" in values or "lat" in values
            else {"adresse": values.get("adresse")}
        )
        dest: dict[str, Any] = {
            "nom": values.get("destination_nom")
            or values.get("destination_adresse")
            or f"destination {len(lines.get(pid, [])) + 1}",
            "horaires": values.get("horaires", ""),
        }
        if "destination_lon" in values or "destination_lat" in values:
            dest.update(lon=values.get("destination_lon"), lat=values.get("destination_lat"))
        else:
            dest["adresse"] = values.get("destination_adresse")
        for key in ("motif", "contrat"):
            if key in values:
                dest[key] = values[key]
        profile: dict[str, Any] = {k: values[k] for k in _PROFILE_FIELDS if k in values}
        bike = {b: values[f"velo_{b}"] for b in _BIKE if f"velo_{b}" in values}
        if bike:
            profile["velo"] = bike
        if pid in people:
            if people[pid]["profil"] != profile or people[pid]["domicile"] != home:
                raise InputError(
                    tr(
                        f"la personne « {pid} » a un autre domicile ou profil "
                        f"qu'à la ligne {lines[pid][0]}",
                        f"person '{pid}' has another home or profile than on line {lines[pid][0]}",
                    ),
                    file=path,
                    row=number,
                    field="id",
                )
            people[pid]["destinations"].append(dest)
            lines[pid].append(number)
        else:
            people[pid] = {"id": pid, "domicile": home, "destinations": [dest], "profil": profile}
            lines[pid] = [number]
    if not people:
        raise InputError(tr("aucune personne dans le fichier", "no person in the file"), file=path)
    files = []
    for pid, data in people.items():
        try:
            files.append(person_from_mapping(data, source=f"id {pid}"))
        except InputError as exc:
            raise InputError(exc.message, file=path, row=lines[pid][0]) from exc
    return list(people), files, list(lines.values())


def load_caseload(
    workspace: Workspace,
    name: str,
    path: Path | str,
    *,
    geocoder: Geocoder | None = None,
) -> Caseload:
    """Validate, geocode and store a caseload in territory ``name``'s personal folder.

    Raises
    ------
    InputError
        For a bad row (file, row, field) or addresses not found (all listed, with their
        rows); nothing is written then.
    """
    ids, files, rows = read_caseload(path)
    territory = workspace.open(name)
    geocoder = geocoder or territory_geocoder(territory)
    located = _geocode(files, rows, geocoder, Path(path))
    caseload = Caseload(ids, located)
    with workspace.transaction(name) as tx:
        folder = tx.staging / PERSONAL_DIR
        folder.mkdir(exist_ok=True)
        target = folder / "caseload.parquet"
        target.unlink(missing_ok=True)  # a hard link to the live file: never write through it
        caseload.to_frame().to_parquet(target, index=False)
        notice = folder / "LISEZMOI_DONNEES_PERSONNELLES.txt"
        notice.unlink(missing_ok=True)
        notice.write_text(_NOTICE, encoding="utf-8")
    return caseload


def _geocode(
    files: Sequence[PersonFile], rows: Sequence[list[int]], geocoder: Geocoder | None, path: Path
) -> list[PersonFile]:
    """Replace the addresses by coordinates (keeping the address text), or list the failures."""
    queries: list[tuple[int, int, str]] = []  # (person, place index: -1 home, j dest), text
    for n, f in enumerate(files):
        if f.domicile.lon is None and f.domicile.adresse:
            queries.append((n, -1, f.domicile.adresse))
        for j, d in enumerate(f.destinations):
            if d.lon is None and d.adresse:
                queries.append((n, j, d.adresse))
    if not queries:
        return list(files)
    if geocoder is None:
        raise no_address_file(path)
    unique = list(dict.fromkeys(q for _, _, q in queries))
    result = geocoder(unique)
    # the geocoder's rows (status, score, lon, lat, label): named tuples without a static schema
    found: dict[str, Any] = dict(zip(unique, result.itertuples(index=False), strict=True))
    bad = []
    for n, j, q in queries:
        r = found[q]
        if r.status != "ok":
            line = rows[n][0] if j < 0 else rows[n][j]
            field = "adresse" if j < 0 else "destination_adresse"
            bad.append(f"ligne {line}, {field} : « {q} » ({r.status}, score {float(r.score):.2f})")
    if bad:
        raise InputError(
            tr(
                f"{len(bad)} adresse(s) introuvable(s) ou peu sûre(s), "
                "à corriger puis recharger :\n  " + "\n  ".join(bad),
                f"{len(bad)} address(es) not found or uncertain, fix them and load again:\n  "
                + "\n  ".join(bad),
            ),
            file=path,
            field="adresse",
        )
    out = []
    for n, f in enumerate(files):
        data = f.model_dump(mode="json")
        for m, j, q in queries:
            if m != n:
                continue
            r = found[q]
            place = data["domicile"] if j < 0 else data["destinations"][j]
            place.update(lon=float(r.lon), lat=float(r.lat), adresse=str(r.label))
        out.append(PersonFile.model_validate(data))
    return out


def stored_caseload(territory: Territory) -> Caseload:
    """The caseload stored in a territory (``parcours caseload load``)."""
    path = territory.path / PERSONAL_DIR / "caseload.parquet"
    if not path.exists():
        raise InputError(
            tr(
                f"le territoire « {territory.name} » n'a pas de file active : chargez-la avec "
                f"« parcours caseload load {territory.name} FICHIER.csv »",
                f"territory '{territory.name}' has no caseload: load one with "
                f"'parcours caseload load {territory.name} FILE.csv'",
            )
        )
    return Caseload.from_frame(pd.read_parquet(path))


#: Columns of the drivers' offers CSV (``parcours caseload load --conducteurs``).
DRIVER_COLUMNS: tuple[str, ...] = (
    "id", "lon", "lat", "destination_lon", "destination_lat", "jours", "arrivee", "depart",
    "places", "detour_max_min",
)  # fmt: skip


def read_driver_offers(path: Path | str) -> pd.DataFrame:
    """Read the drivers' offers CSV (one row per driver; see :data:`DRIVER_COLUMNS`).

    ``jours`` uses the schedule syntax (``lun-ven``); ``arrivee`` is the driver's arrival at
    their destination (trip there), ``depart`` their departure back (HH:MM); ``places``
    (default 1) and ``detour_max_min`` (default 10) are optional.

    Raises
    ------
    InputError
        Naming the file, the row and the field.
    """
    from parcours.matching.schedule import parse_schedule

    path = Path(path)
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter_of(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in DRIVER_COLUMNS[:8] if c not in header]
    if missing:
        raise InputError(
            tr(
                f"colonnes absentes : {', '.join(missing)}",
                f"missing columns: {', '.join(missing)}",
            ),
            file=path,
            row=1,
            field=missing[0],
        )
    out = []
    for n, raw in enumerate(reader, start=2):
        r = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        field = "jours"
        try:
            shift = parse_schedule(f"{r['jours']} {r['arrivee']}-{r['depart']}")[0]
            values: dict[str, Any] = {}
            for field in ("lon", "lat", "destination_lon", "destination_lat"):
                values[field] = parse_number(r[field])
            field = "places"
            seats = int(parse_number(r["places"])) if r.get("places") else 1
            field = "detour_max_min"
            detour = parse_number(r["detour_max_min"]) if r.get("detour_max_min") else 10.0
        except (InputError, ValueError) as exc:
            raise InputError(str(exc), file=path, row=n, field=field) from exc
        if not r.get("id"):
            raise InputError(tr("identifiant vide", "empty id"), file=path, row=n, field="id")
        out.append(
            {
                "id": r["id"],
                **values,
                "days": ",".join(str(d) for d in shift.days),
                "arrive_by": shift.start_time.strftime("%H:%M"),
                "leave_at": shift.end_time.strftime("%H:%M"),
                "seats": seats,
                "max_detour_min": detour,
            }
        )
    if not out:
        raise InputError(tr("aucun conducteur dans le fichier", "no driver in the file"), file=path)
    return pd.DataFrame(out)


def store_driver_offers(workspace: Workspace, name: str, offers: pd.DataFrame) -> None:
    """Store drivers' offers in the territory's personal folder (replacing earlier ones)."""
    with workspace.transaction(name) as tx:
        folder = tx.staging / PERSONAL_DIR
        folder.mkdir(exist_ok=True)
        target = folder / "drivers.parquet"
        target.unlink(missing_ok=True)
        offers.to_parquet(target, index=False)


def stored_driver_offers(territory: Territory) -> pd.DataFrame | None:
    """The drivers' offers stored in a territory, or None."""
    path = territory.path / PERSONAL_DIR / "drivers.parquet"
    return pd.read_parquet(path) if path.exists() else None
