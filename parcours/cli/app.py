"""Commands of ``parcours``: territories (create, load, info, fetch, export) and the demo."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from parcours.cli._ui import console, err_console, guarded, progress_bar
from parcours.cli.access import access_app
from parcours.cli.match import caseload_app, match_command
from parcours.cli.service import db_app, platform_app, purge, serve, user_app
from parcours.errors import InputError
from parcours.i18n import set_language, tr

__all__ = ["app", "main"]

app = typer.Typer(
    name="parcours",
    help=tr(
        "Diagnostic territorial de mobilité inclusive.",
        "Inclusive-mobility diagnostic of a territory.",
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
territory_app = typer.Typer(
    help=tr(
        "Territoires : création, chargement, téléchargement, résumé, export.",
        "Territories: create, load, fetch, info, export.",
    ),
    no_args_is_help=True,
)
app.add_typer(territory_app, name="territory")
app.add_typer(access_app, name="access")
app.add_typer(caseload_app, name="caseload")
app.command(
    "match",
    help=tr(
        "Faisabilité des trajets d'une personne (--profile) ou de la file active (--caseload) "
        "aux heures de ses horaires, et le plan de son parcours.",
        "Commute feasibility of one person (--profile) or of the caseload (--caseload) at "
        "the hours of their schedule, and the plan of their parcours.",
    ),
)(match_command)


@app.callback(
    help=tr(
        "Diagnostic territorial de mobilité inclusive et aide au conseiller mobilité.",
        "Inclusive-mobility diagnostic and help for the mobility advisor.",
    )
)
def _root(
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            help=tr(
                "fr (défaut) ou en ; aussi PARCOURS_LANG.",
                "fr (default) or en; also PARCOURS_LANG.",
            ),
        ),
    ] = None,
) -> None:
    """Diagnostic territorial de mobilité inclusive et aide au conseiller mobilité."""
    if lang is not None:
        if lang.lower()[:2] not in ("fr", "en"):
            raise typer.BadParameter("fr | en", param_hint="--lang")
        set_language(lang)


def _workspace() -> Any:
    from parcours.territories import Workspace

    return Workspace()


def _print_json(data: Any) -> None:
    console.print_json(json.dumps(data, ensure_ascii=False, default=str))


# --------------------------------------------------------------------------- territory


@territory_app.command(
    "create",
    help=tr(
        "Créer un territoire à partir de communes, d'un polygone ou d'une emprise.",
        "Create a territory from communes, a polygon or a bounding box.",
    ),
)
def territory_create(
    name: Annotated[str, typer.Argument(help=tr("Nom du territoire", "Territory name"))],
    communes: Annotated[
        str | None,
        typer.Option(
            help=tr("Codes INSEE séparés par des virgules", "INSEE codes separated by commas")
        ),
    ] = None,
    communes_file: Annotated[
        Path | None,
        typer.Option(
            help=tr(
                "Contours des communes (ADMIN EXPRESS, GeoJSON avec code INSEE)",
                "Commune contours (ADMIN EXPRESS, GeoJSON with an INSEE code)",
            )
        ),
    ] = None,
    perimeter: Annotated[
        Path | None, typer.Option(help=tr("Fichier de polygone(s)", "Polygon(s) file"))
    ] = None,
    bbox: Annotated[
        str | None,
        typer.Option(
            help=tr("minlon,minlat,maxlon,maxlat (WGS84)", "minlon,minlat,maxlon,maxlat (WGS84)")
        ),
    ] = None,
    buffer_km: Annotated[
        float,
        typer.Option(help=tr("Tampon autour du périmètre, km", "Buffer around the perimeter, km")),
    ] = 5.0,
    replace: Annotated[
        bool,
        typer.Option(help=tr("Remplacer un territoire existant", "Replace an existing territory")),
    ] = False,
) -> None:
    """Créer un territoire à partir de communes, d'un polygone ou d'une emprise."""
    with guarded():
        from parcours.territories import create_territory

        territory = create_territory(
            _workspace(),
            name,
            communes=communes,
            communes_file=communes_file,
            perimeter=perimeter,
            bbox=bbox,
            buffer_km=buffer_km,
            replace=replace,
        )
        err_console.print(
            tr(
                f"Territoire « {name} » créé dans {territory.path}",
                f"Territory '{name}' created in {territory.path}",
            )
        )
        _print_json(territory.info())


@territory_app.command(
    "load",
    help=tr(
        "Charger des sources dans un territoire (remplace les couches nommées, garde les autres).",
        "Load sources into a territory (replaces the layers named, keeps the others).",
    ),
)
def territory_load(
    name: Annotated[str, typer.Argument(help=tr("Nom du territoire", "Territory name"))],
    osm: Annotated[
        Path | None, typer.Option(help=tr("OpenStreetMap .osm.pbf", "OpenStreetMap .osm.pbf"))
    ] = None,
    gtfs: Annotated[
        list[Path] | None,
        typer.Option(
            help=tr("GTFS (zip ou dossier), répétable", "GTFS (zip or folder), repeatable")
        ),
    ] = None,
    population: Annotated[
        list[Path] | None,
        typer.Option(
            help=tr(
                "Filosofi 200 m, grille H3 ou couche avec population",
                "Filosofi 200 m, H3 grid or a layer with population",
            )
        ),
    ] = None,
    jobs: Annotated[
        Path | None,
        typer.Option(
            help=tr(
                "SIRENE StockEtablissement ou couche 'jobs'",
                "SIRENE StockEtablissement or a 'jobs' layer",
            )
        ),
    ] = None,
    jobs_geolocation: Annotated[
        Path | None,
        typer.Option(help=tr("Fichier de géolocalisation SIRENE", "SIRENE geolocation file")),
    ] = None,
    services: Annotated[
        list[Path] | None,
        typer.Option(
            help=tr(
                "BPE ou liste de lieux (colonne category), répétable",
                "BPE or a list of places (category column), repeatable",
            )
        ),
    ] = None,
    carpool: Annotated[
        list[Path] | None, typer.Option(help=tr("Aires de covoiturage BNLC", "BNLC carpool areas"))
    ] = None,
    qpv: Annotated[
        list[Path] | None, typer.Option(help=tr("Contours des QPV", "QPV contours"))
    ] = None,
    bikeshare: Annotated[
        list[Path] | None,
        typer.Option(
            help=tr(
                "GBFS station_information.json (ou son dossier)",
                "GBFS station_information.json (or its folder)",
            )
        ),
    ] = None,
    addresses: Annotated[
        list[Path] | None,
        typer.Option(
            help=tr(
                "Adresses BAN (adresses-DD.csv ou .csv.gz), répétable",
                "BAN addresses (adresses-DD.csv or .csv.gz), repeatable",
            )
        ),
    ] = None,
    communes_file: Annotated[
        Path | None,
        typer.Option(help=tr("Contours des communes avec EPCI", "Commune contours with EPCI")),
    ] = None,
    employment_zones: Annotated[
        Path | None,
        typer.Option(
            help=tr("Composition des zones d'emploi INSEE", "INSEE employment zones composition")
        ),
    ] = None,
    mobpro: Annotated[
        Path | None,
        typer.Option(
            help=tr(
                "Navettes domicile-travail INSEE (FD_MOBPRO_AAAA.csv ou son zip)",
                "INSEE home-to-work commutes (FD_MOBPRO_YYYY.csv or its zip)",
            )
        ),
    ] = None,
    solutions: Annotated[
        Path | None,
        typer.Option(
            help=tr(
                "Catalogue de solutions de la plateforme (YAML ou CSV)",
                "The platform's solution catalogue (YAML or CSV)",
            )
        ),
    ] = None,
) -> None:
    """Charger des sources dans un territoire (remplace les couches nommées, garde les autres)."""
    with guarded():
        from parcours.territories import load_sources

        sources: dict[str, list[Path]] = {
            "osm": [osm] if osm else [],
            "gtfs": list(gtfs or []),
            "population": list(population or []),
            "jobs": [jobs] if jobs else [],
            "services": list(services or []),
            "carpool": list(carpool or []),
            "qpv": list(qpv or []),
            "bikeshare": list(bikeshare or []),
            "addresses": list(addresses or []),
            "communes": [communes_file] if communes_file else [],
            "employment_zones": [employment_zones] if employment_zones else [],
            "mobpro": [mobpro] if mobpro else [],
        }
        if jobs_geolocation and not jobs:
            raise InputError(
                tr("--jobs-geolocation va avec --jobs", "--jobs-geolocation goes with --jobs"),
                field="--jobs-geolocation",
            )
        workspace = _workspace()
        if solutions is not None:
            from parcours.matching import read_catalogue

            read_catalogue(solutions)  # refuse a bad catalogue before loading anything
        warnings: list[str] = []
        if any(sources.values()) or solutions is None:
            with progress_bar() as progress:
                report = load_sources(
                    workspace, name, sources, jobs_geolocation=jobs_geolocation, progress=progress
                )
            warnings = list(report.warnings)
        if solutions is not None:
            from parcours.matching import store_catalogue

            store_catalogue(workspace, name, solutions)
        for warning in warnings:
            err_console.print(f"[yellow]{tr('Attention', 'Warning')}[/]{tr(' :', ':')} {warning}")
        _print_json(workspace.open(name).info())


@territory_app.command(
    "fetch",
    help=tr(
        "Télécharger les sources officielles du périmètre (machine connectée), puis les charger.",
        "Download the perimeter's official sources (connected machine), then load them.",
    ),
)
def territory_fetch(
    name: Annotated[str, typer.Argument(help=tr("Nom du territoire", "Territory name"))],
    sources: Annotated[
        str,
        typer.Option(
            help=tr(
                "osm,gtfs,filosofi,bpe,sirene,bnlc,qpv,communes, overpass (ou all)",
                "osm,gtfs,filosofi,bpe,sirene,bnlc,qpv,communes, overpass (or all)",
            )
        ),
    ] = "all",
    load: Annotated[
        bool,
        typer.Option(
            help=tr("Charger ensuite les fichiers téléchargés", "Then load the downloaded files")
        ),
    ] = True,
) -> None:
    """Télécharger les sources officielles du périmètre (machine connectée), puis les charger."""
    with guarded():
        from parcours.territories import load_sources
        from parcours.territories.fetch import default_cache_dir, fetch_sources

        workspace = _workspace()
        territory = workspace.open(name)
        with progress_bar() as progress:
            result = fetch_sources(
                territory,
                [sources],
                cache_dir=default_cache_dir(workspace.home),
                progress=progress,
            )
            for warning in result.warnings:
                err_console.print(
                    f"[yellow]{tr('Attention', 'Warning')}[/]{tr(' :', ':')} {warning}"
                )
            if load and result.files:
                report = load_sources(
                    workspace,
                    name,
                    result.files,
                    provenance=result.provenance(),
                    progress=progress,
                )
                for warning in report.warnings:
                    err_console.print(
                        f"[yellow]{tr('Attention', 'Warning')}[/]{tr(' :', ':')} {warning}"
                    )
        if not load:
            _print_json({kind: [str(p) for p in paths] for kind, paths in result.files.items()})
        else:
            _print_json(workspace.open(name).info())


@territory_app.command(
    "info",
    help=tr(
        "Afficher le résumé JSON d'un territoire (emprise, couches, réseaux GTFS).",
        "Show a territory's JSON summary (extent, layers, GTFS feeds).",
    ),
)
def territory_info(
    name: Annotated[str, typer.Argument(help=tr("Nom du territoire", "Territory name"))],
) -> None:
    """Afficher le résumé JSON d'un territoire (emprise, couches, réseaux GTFS)."""
    with guarded():
        _print_json(_workspace().open(name).info())


@territory_app.command(
    "list",
    help=tr("Lister les territoires de PARCOURS_HOME.", "List the territories of PARCOURS_HOME."),
)
def territory_list() -> None:
    """Lister les territoires de PARCOURS_HOME."""
    with guarded():
        workspace = _workspace()
        for territory_name in workspace.names():
            console.print(territory_name)


@territory_app.command(
    "export",
    help=tr(
        "Exporter les couches géographiques d'un territoire en GeoPackage (pour QGIS).",
        "Export a territory's spatial layers as a GeoPackage (for QGIS).",
    ),
)
def territory_export(
    name: Annotated[str, typer.Argument(help=tr("Nom du territoire", "Territory name"))],
    out: Annotated[
        Path, typer.Option(help=tr("GeoPackage de sortie (.gpkg)", "Output GeoPackage (.gpkg)"))
    ],
) -> None:
    """Exporter les couches géographiques d'un territoire en GeoPackage (pour QGIS)."""
    with guarded():
        from parcours.territories import export_geopackage

        path = export_geopackage(_workspace().open(name), out)
        err_console.print(tr(f"Écrit : {path}", f"Written: {path}"))


# --------------------------------------------------------------------------- diagnose


def _study_date(text: str | None) -> Any:
    import datetime as dt

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(
            tr(
                f"date invalide « {text} » (attendu : AAAA-MM-JJ, par exemple 2026-03-10)",
                f"invalid date '{text}' (expected YYYY-MM-DD, e.g. 2026-03-10)",
            ),
            field="date",
        ) from None


@app.command(
    "diagnose",
    help=tr(
        "Diagnostic territorial : rapport.html, diagnostic.gpkg (QGIS) et tables CSV ; "
        "plusieurs territoires : aussi les agrégats de la région, sur Dask avec --workers "
        "ou --scheduler.",
        "Territorial diagnostic: rapport.html, diagnostic.gpkg (QGIS) and CSV tables; "
        "several territories: the region's aggregates too, on Dask with --workers or "
        "--scheduler.",
    ),
)
def diagnose(
    names: Annotated[
        list[str], typer.Argument(help=tr("Territoires (un ou plusieurs)", "Territories"))
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help=tr(
                "Dossier de sortie (défaut : le dossier du territoire ; plusieurs "
                "territoires : DOSSIER/NOM et DOSSIER/region)",
                "Output folder (default: the territory's folder; several territories: "
                "FOLDER/NAME and FOLDER/region)",
            )
        ),
    ] = None,
    date: Annotated[
        str | None,
        typer.Option(
            help=tr(
                "Mardi étudié, AAAA-MM-JJ (défaut : le premier que tous les réseaux desservent)",
                "Study Tuesday, YYYY-MM-DD (default: the first one every feed serves)",
            )
        ),
    ] = None,
    modes: Annotated[
        str,
        typer.Option(help=tr("Modes, séparés par des virgules", "Modes, comma-separated")),
    ] = "walk,bike,transit,car",
    tiles: Annotated[
        str | None,
        typer.Option(
            help=tr(
                "Fond de carte en ligne sous les cartes : osm ou ign (défaut : aucun, "
                "le rapport marche hors ligne)",
                "Online base map under the maps: osm or ign (default: none, the report "
                "works offline)",
            )
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help=tr(
                "Calculer sur un cluster Dask local de N processus (un cœur chacun)",
                "Compute on a local Dask cluster of N processes (one core each)",
            )
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help=tr(
                "Calculer sur un cluster Dask existant (adresse de l'ordonnanceur, "
                "tcp://hôte:8786 ; l'espace de travail doit être partagé)",
                "Compute on an existing Dask cluster (the scheduler's address, "
                "tcp://host:8786; the workspace must be shared)",
            )
        ),
    ] = None,
    part_size: Annotated[
        int,
        typer.Option(
            help=tr(
                "Carreaux (et points d'emploi) par tâche",
                "Cells (and job points) per task",
            ),
            min=1,
        ),
    ] = 250,
) -> None:
    """Diagnostic territorial : rapport.html, diagnostic.gpkg (QGIS) et tables CSV."""
    with guarded():
        from parcours.i18n import get_language

        day = _study_date(date)
        if tiles not in (None, "osm", "ign"):
            raise InputError(
                tr(
                    f"fond de carte inconnu « {tiles} » (attendus : osm, ign)",
                    f"unknown base map '{tiles}' (expected: osm, ign)",
                ),
                field="tiles",
            )
        chosen = [m.strip() for m in modes.split(",") if m.strip()]
        unique = list(dict.fromkeys(names))
        if len(unique) == 1 and workers is None and scheduler is None:
            from parcours.maps import diagnose as run

            territory = _workspace().open(unique[0])
            folder = out if out is not None else territory.path
            with progress_bar() as progress:
                diagnostic, outputs = run(
                    territory,
                    folder,
                    date=day,
                    modes=chosen,
                    lang=get_language(),
                    tiles=tiles,  # type: ignore[arg-type]  # checked above
                    progress=progress,
                    cells_per_part=part_size,
                    jobs_per_part=part_size,
                )
            _print_summary(diagnostic.territory, diagnostic.summary)
            for path in (outputs.report, outputs.geopackage, outputs.tables[0].parent):
                err_console.print(tr(f"Écrit : {path}", f"Written: {path}"))
            return
        from parcours.cluster import diagnose_territories

        def dashboard(link: str) -> None:
            err_console.print(tr(f"Tableau de bord Dask : {link}", f"Dask dashboard: {link}"))

        with progress_bar() as progress:
            result = diagnose_territories(
                unique,
                workspace=_workspace(),
                out=out,
                date=day,
                modes=chosen,
                lang=get_language(),
                tiles=tiles,  # type: ignore[arg-type]  # checked above
                workers=workers,
                scheduler=scheduler,
                cells_per_part=part_size,
                jobs_per_part=part_size,
                progress=progress,
                on_dashboard=dashboard,
            )
        if result.reused:
            err_console.print(
                tr(
                    f"Reprise : {result.reused} parties déjà calculées réutilisées",
                    f"Resumed: {result.reused} parts already computed were reused",
                )
            )
        for published in result.published:
            _print_summary(published.name, published.summary)
            for path in (published.report, published.geopackage, published.tables):
                err_console.print(tr(f"Écrit : {path}", f"Written: {path}"))
        if result.region is not None:
            err_console.print(tr(f"Écrit : {result.region}", f"Written: {result.region}"))


def _print_summary(name: str, summary: dict[str, Any]) -> None:
    """A diagnostic's key figures, one line each."""
    from rich.table import Table

    from parcours.maps.labels import label

    table = Table(title=tr(f"Diagnostic : {name}", f"Diagnostic: {name}"))
    table.add_column(tr("Indicateur", "Indicator"))
    table.add_column(tr("Valeur", "Value"), justify="right")
    table.add_row(tr("Habitants", "Residents"), f"{summary['population']:,.0f}".replace(",", " "))
    table.add_row(tr("Emplois", "Jobs"), f"{summary['jobs']:,.0f}".replace(",", " "))
    table.add_row(
        tr("Carreaux publiés / habités", "Cells published / populated"),
        f"{summary['published_cells']} / {summary['cells']}",
    )
    for key, value in summary.items():
        if key.startswith("share_") and value is not None:
            table.add_row(label(key), f"{float(value):.0%}")
    console.print(table)


@app.command(
    "compare",
    help=tr(
        "Comparer des territoires : comparaison.html et comparaison.csv (mêmes indicateurs).",
        "Compare territories: comparaison.html and comparaison.csv (the same indicators).",
    ),
)
def compare(
    names: Annotated[
        list[str],
        typer.Argument(help=tr("Territoires (deux ou plus)", "Territories (two or more)")),
    ],
    out: Annotated[Path, typer.Option(help=tr("Dossier de sortie", "Output folder"))] = Path(
        "comparaison"
    ),
    modes: Annotated[
        str,
        typer.Option(help=tr("Modes, séparés par des virgules", "Modes, comma-separated")),
    ] = "walk,bike,transit,car",
) -> None:
    """Comparer des territoires : comparaison.html et comparaison.csv (mêmes indicateurs)."""
    with guarded():
        from parcours.diagnostic import run_diagnostic
        from parcours.i18n import get_language
        from parcours.maps.report import write_comparison

        if len(set(names)) < 2:
            raise InputError(
                tr("donnez au moins deux territoires différents", "give two territories or more"),
                field="names",
            )
        workspace = _workspace()
        territories = [workspace.open(name) for name in dict.fromkeys(names)]
        chosen = tuple(m.strip() for m in modes.split(",") if m.strip())
        diagnostics = []
        with progress_bar() as progress:
            for territory in territories:
                diagnostics.append(run_diagnostic(territory, modes=chosen, progress=progress))
        page, table = write_comparison(diagnostics, out, lang=get_language())
        for path in (page, table):
            err_console.print(tr(f"Écrit : {path}", f"Written: {path}"))


# --------------------------------------------------------------------------- service

app.command(
    "serve",
    help=tr(
        "Lancer le service web (pages et API), sur 127.0.0.1 par défaut.",
        "Start the web service (pages and API), on 127.0.0.1 by default.",
    ),
)(serve)
app.command(
    "purge",
    help=tr(
        "Effacer les personnes sans contact depuis la durée de conservation (2 ans par défaut).",
        "Erase the people with no contact for the retention period (2 years by default).",
    ),
)(purge)
app.add_typer(user_app, name="user")
app.add_typer(platform_app, name="platform")
app.add_typer(db_app, name="db")


# --------------------------------------------------------------------------- demo


@app.command(
    "demo",
    help=tr(
        "Générer le territoire de démonstration (fictif), le charger et afficher son résumé.",
        "Generate the (fictional) demo territory, load it and show its summary.",
    ),
)
def demo(
    out: Annotated[Path, typer.Option(help=tr("Dossier de sortie", "Output folder"))] = Path(
        "out/demo"
    ),
    seed: Annotated[int, typer.Option(help=tr("Graine du générateur", "Generator seed"))] = 2026,
) -> None:
    """Générer le territoire de démonstration (fictif), le charger et afficher son résumé."""
    with guarded():
        from parcours.demo import build_demo

        with progress_bar() as progress:
            result = build_demo(_workspace(), out, seed=seed, progress=progress)
        err_console.print(result.message)
        _print_json(result.info)
        _print_access(result.access)


def _print_access(access: Any) -> None:
    """The demo's shift-access table, one row per start time and mode."""
    from rich.table import Table

    columns = list(access.columns)
    start_col, mode_col, within_col, _, share_col, secret_col = columns
    thresholds = sorted(access[within_col].unique())
    table = Table(
        title=tr(
            "Zone logistique : part des habitants qui peuvent arriver à l'heure",
            "Logistics zone: share of residents who can arrive on time",
        )
    )
    table.add_column(tr("Arrivée avant", "Arrive by"))
    table.add_column(tr("Mode", "Mode"))
    for threshold in thresholds:
        table.add_column(tr(f"≤ {threshold} min", f"≤ {threshold} min"), justify="right")
    for (start, mode), group in access.groupby([start_col, mode_col], sort=False):
        shares = group.set_index(within_col)[share_col]
        secret = group.set_index(within_col)[secret_col]
        table.add_row(
            str(start),
            str(mode),
            *(tr("< 11 mén.", "< 11 hh.") if secret[t] else f"{shares[t]:.0%}" for t in thresholds),
        )
    console.print(table)


def _language_from(argv: list[str]) -> str | None:
    """``--lang X`` / ``--lang=X`` from the command line, read before click parses it."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``parcours`` command.

    The language (``--lang``, else ``PARCOURS_LANG``, else French) is read first, so that
    click's own messages (usage errors) and the help are in it too.
    """
    import sys

    from parcours.cli._click_i18n import install, localise

    args = list(sys.argv[1:] if argv is None else argv)
    wanted = _language_from(args) or os.environ.get("PARCOURS_LANG")
    set_language(wanted[:2] if wanted and wanted.lower()[:2] in ("fr", "en") else None)
    install()
    command = typer.main.get_command(app)
    localise(command)
    command.main(args=args, prog_name="parcours")
