"""``parcours match`` (one person or the caseload) and ``parcours caseload load``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from parcours.cli._ui import console, err_console, guarded
from parcours.errors import InputError
from parcours.i18n import tr

__all__ = ["caseload_app", "match_command"]

caseload_app = typer.Typer(
    help=tr(
        "File active des conseillers (données personnelles) : chargement.",
        "The advisors' caseload (personal data): loading.",
    ),
    no_args_is_help=True,
)


def _week(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(
            tr(f"date illisible « {text} » (AAAA-MM-JJ)", f"unreadable date '{text}' (YYYY-MM-DD)"),
            field="--semaine",
        ) from exc


@caseload_app.command(
    "load",
    help=tr(
        "Charger la file active (CSV) d'un territoire : valide, géocode, "
        "range à part (données personnelles).",
        "Load a territory's caseload (CSV): validate, geocode, store apart (personal data).",
    ),
)
def caseload_load(
    name: Annotated[str, typer.Argument(help=tr("Nom du territoire", "Territory name"))],
    file: Annotated[Path, typer.Argument(help=tr("Fichier CSV de la file active", "Caseload CSV"))],
    addok: Annotated[
        str | None,
        typer.Option(
            help=tr(
                "URL d'un serveur Addok (sinon : adresses du territoire)",
                "Addok server URL (else: the territory's addresses)",
            )
        ),
    ] = None,
) -> None:
    """Charger la file active (CSV) d'un territoire."""
    with guarded():
        from parcours.matching.caseload import PERSONAL_DIR, load_caseload
        from parcours.territories import Workspace

        workspace = Workspace()
        geocoder = None
        if addok:
            from parcours.geo.geocoding import AddokClient

            geocoder = AddokClient(addok).geocode
        caseload = load_caseload(workspace, name, file, geocoder=geocoder)
        folder = workspace.open(name).path / PERSONAL_DIR
        err_console.print(
            tr(
                f"{len(caseload)} personnes chargées dans {folder} (données personnelles, "
                "réservées aux conseillers)",
                f"{len(caseload)} people loaded into {folder} (personal data, advisors only)",
            )
        )


@caseload_app.command(
    "drivers",
    help=tr(
        "Charger les offres des conducteurs (covoiturage solidaire) d'un territoire (CSV).",
        "Load a territory's drivers' offers (solidarity carpooling) (CSV).",
    ),
)
def caseload_drivers(
    name: Annotated[str, typer.Argument(help=tr("Nom du territoire", "Territory name"))],
    file: Annotated[
        Path,
        typer.Argument(
            help=tr(
                "CSV : id, lon, lat, destination_lon, destination_lat, jours, arrivee, depart "
                "[, places, detour_max_min]",
                "CSV: id, lon, lat, destination_lon, destination_lat, jours, arrivee, depart "
                "[, places, detour_max_min]",
            )
        ),
    ],
) -> None:
    """Charger les offres des conducteurs d'un territoire."""
    with guarded():
        from parcours.matching import read_driver_offers, store_driver_offers
        from parcours.territories import Workspace

        offers = read_driver_offers(file)
        workspace = Workspace()
        workspace.open(name)
        store_driver_offers(workspace, name, offers)
        err_console.print(
            tr(
                f"{len(offers)} offres de conducteurs chargées (données personnelles)",
                f"{len(offers)} drivers' offers loaded (personal data)",
            )
        )


def match_command(
    territory: Annotated[
        str, typer.Option("--territory", help=tr("Nom du territoire", "Territory name"))
    ],
    profile: Annotated[
        Path | None,
        typer.Option("--profile", help=tr("Fiche de la personne (YAML)", "Person file (YAML)")),
    ] = None,
    caseload: Annotated[
        bool,
        typer.Option(
            "--caseload",
            help=tr("Toute la file active du territoire", "The territory's whole caseload"),
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help=tr(
                "Sortie : FICHIER.json ou .html (une personne), DOSSIER (file active)",
                "Output: FILE.json or .html (one person), FOLDER (caseload)",
            )
        ),
    ] = None,
    week: Annotated[
        str | None,
        typer.Option(
            "--semaine",
            help=tr(
                "Un jour de la semaine étudiée (AAAA-MM-JJ)",
                "A day of the week studied (YYYY-MM-DD)",
            ),
        ),
    ] = None,
) -> None:
    """Faisabilité des trajets d'une personne ou de la file active, et le plan."""
    with guarded():
        if (profile is None) == (not caseload):
            raise InputError(
                tr(
                    "donnez --profile FICHIER.yaml ou --caseload",
                    "give --profile FILE.yaml or --caseload",
                ),
                field="--profile",
            )
        if profile is not None and out is not None and out.suffix.lower() not in (".json", ".html"):
            raise InputError(
                tr("--out doit finir par .json ou .html", "--out must end in .json or .html"),
                field="--out",
            )
        from parcours.accessibility import TransportNetwork
        from parcours.matching import carpool_index_of, match, read_person_file
        from parcours.territories import Workspace

        terr = Workspace().open(territory)
        network = TransportNetwork(terr)
        carpool = carpool_index_of(network)
        when = _week(week)
        if profile is not None:
            result = match(network, read_person_file(profile), week=when, carpool=carpool)
            console.print(result.summary())
            if out is not None:
                _write_person(result.answer, out)
                err_console.print(tr(f"écrit : {out}", f"written: {out}"))
            return
        _match_caseload(terr, network, carpool, when, out or Path("out") / territory)


def _write_person(answer: dict[str, Any], out: Path) -> None:
    import json

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".html":
        from parcours.maps import render_plan

        out.write_text(render_plan(answer), encoding="utf-8")
    elif out.suffix.lower() == ".json":
        out.write_text(json.dumps(answer, ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        raise InputError(
            tr("--out doit finir par .json ou .html", "--out must end in .json or .html"),
            field="--out",
        )


def _match_caseload(terr: Any, network: Any, carpool: Any, week: dt.date | None, out: Path) -> None:
    from parcours.maps import write_caseload_outputs
    from parcours.matching import (
        advisor_table,
        committee_table,
        match_caseload,
        store_committee_table,
        stored_caseload,
    )
    from parcours.territories import Workspace

    people = stored_caseload(terr)
    results = match_caseload(network, people, week=week, carpool=carpool)
    files = write_caseload_outputs(terr, results, out)
    communes = terr.layer("communes") if terr.has_layer("communes") else None
    store_committee_table(Workspace(), terr.name, committee_table(advisor_table(results), communes))
    for path in files:
        err_console.print(tr(f"écrit : {path}", f"written: {path}"))
    err_console.print(
        tr(
            "les taux par commune (au moins 11 personnes) iront dans le prochain diagnostic "
            f"(parcours diagnose {terr.name})",
            "the rates per commune (at least 11 people) go into the next diagnostic "
            f"(parcours diagnose {terr.name})",
        )
    )
