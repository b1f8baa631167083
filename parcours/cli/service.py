"""``parcours serve``, ``user``, ``platform``, ``purge`` and ``db``: the platform service."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from parcours.cli._ui import err_console, guarded
from parcours.errors import InputError
from parcours.i18n import tr

if TYPE_CHECKING:
    from parcours.service.db import Database

__all__ = ["db_app", "platform_app", "purge", "serve", "user_app"]

user_app = typer.Typer(
    help=tr("Comptes du service : création, jeton d'API.", "Service accounts: create, API token."),
    no_args_is_help=True,
)
platform_app = typer.Typer(
    help=tr(
        "Plateformes du service (un territoire chacune).", "Service platforms (one territory each)."
    ),
    no_args_is_help=True,
)
db_app = typer.Typer(
    help=tr("Base de données du service.", "The service's database."), no_args_is_help=True
)


def _database() -> Database:
    from parcours.service import ServiceSettings, open_database

    return open_database(ServiceSettings().url)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help=tr("Adresse d'écoute", "Listening address"))] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help=tr("Port", "Port"))] = 8000,
    certfile: Annotated[
        Path | None,
        typer.Option(help=tr("Certificat TLS (HTTPS direct)", "TLS certificate (direct HTTPS)")),
    ] = None,
    keyfile: Annotated[
        Path | None, typer.Option(help=tr("Clé privée TLS", "TLS private key"))
    ] = None,
    behind_proxy: Annotated[
        bool,
        typer.Option(
            "--behind-proxy",
            help=tr(
                "Un proxy inverse termine le TLS (cookies Secure, écoute hors 127.0.0.1 permise)",
                "A reverse proxy terminates TLS (Secure cookies, listening beyond 127.0.0.1)",
            ),
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help=tr(
                "Processus servant les requêtes (un par cœur ; chacun charge les réseaux)",
                "Processes serving the requests (one per core; each loads the networks)",
            ),
        ),
    ] = 1,
) -> None:
    """Lancer le service web (pages et API), sur 127.0.0.1 par défaut."""
    with guarded():
        from parcours.service import ServiceSettings

        settings = ServiceSettings()
        update: dict[str, object] = {}
        if certfile is not None or keyfile is not None:
            if certfile is None or keyfile is None:
                raise InputError(
                    tr(
                        "--certfile et --keyfile vont ensemble",
                        "--certfile and --keyfile go together",
                    ),
                    field="certfile",
                )
            for path in (certfile, keyfile):
                if not path.is_file():
                    raise InputError(
                        tr(f"fichier introuvable : {path}", f"file not found: {path}"),
                        field="certfile",
                    )
            update.update(tls_certfile=certfile, tls_keyfile=keyfile)
        if behind_proxy:
            update["behind_proxy"] = True
        settings = settings.model_copy(update=update)
        if not _is_loopback(host) and not settings.secure_cookies:
            raise InputError(
                tr(
                    f"le service n'écoute hors de la machine locale (« {host} ») qu'en HTTPS : "
                    "donnez --certfile et --keyfile, ou --behind-proxy si un proxy inverse "
                    "termine le TLS",
                    f"the service listens beyond this machine ('{host}') over HTTPS only: give "
                    "--certfile and --keyfile, or --behind-proxy when a reverse proxy "
                    "terminates TLS",
                ),
                field="host",
            )
        import uvicorn

        from parcours.api import create_app
        from parcours.service import open_database

        open_database(settings.url).dispose()  # a bad URL is refused before listening
        scheme = "https" if settings.tls_certfile else "http"
        err_console.print(
            tr(f"Service sur {scheme}://{host}:{port}/", f"Serving on {scheme}://{host}:{port}/")
        )
        if workers > 1:  # each worker process reads the same settings from the environment
            os.environ.update(settings.environment())
            target: object = "parcours.api.app:app_from_environment"
        else:
            target = create_app(settings)
        uvicorn.run(
            target,  # type: ignore[arg-type]
            factory=workers > 1,
            workers=workers if workers > 1 else None,
            host=host,
            port=port,
            log_level="warning",
            ssl_certfile=str(settings.tls_certfile) if settings.tls_certfile else None,
            ssl_keyfile=str(settings.tls_keyfile) if settings.tls_keyfile else None,
            proxy_headers=settings.behind_proxy,
            forwarded_allow_ips="127.0.0.1" if settings.behind_proxy else None,
        )


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(
        typer.prompt(tr("Mot de passe", "Password"), hide_input=True, confirmation_prompt=True)
    )


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help=tr("Adresse e-mail", "E-mail address"))],
    role: Annotated[
        str,
        typer.Option(help="admin, advisor, prescriber, committee, planner"),
    ],
    platform: Annotated[
        str | None, typer.Option(help=tr("Nom de la plateforme", "Platform name"))
    ] = None,
    name: Annotated[str, typer.Option(help=tr("Nom affiché", "Display name"))] = "",
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help=tr("Lire le mot de passe sur l'entrée standard", "Read the password from stdin"),
        ),
    ] = False,
) -> None:
    """Créer un compte (le mot de passe est demandé, ou lu sur l'entrée standard)."""
    with guarded():
        from sqlalchemy import select

        from parcours.service.models import Platform
        from parcours.service.security import create_user

        password = _password(password_stdin)
        database = _database()
        with database.session() as session:
            found = None
            if platform:
                found = session.scalar(select(Platform).where(Platform.name == platform))
                if found is None:
                    raise InputError(
                        tr(f"plateforme inconnue : {platform}", f"unknown platform: {platform}"),
                        field="platform",
                    )
            user = create_user(
                session, email=email, name=name, password=password, role=role, platform=found
            )
            err_console.print(
                tr(
                    f"Compte créé : {user.email} ({user.role})",
                    f"Account created: {user.email} ({user.role})",
                )
            )


@user_app.command("token")
def user_token(
    email: Annotated[str, typer.Argument(help=tr("Adresse e-mail", "E-mail address"))],
    label: Annotated[str, typer.Option(help=tr("À quoi il sert", "What it is for"))] = "",
) -> None:
    """Créer un jeton d'API pour un compte (affiché une seule fois)."""
    with guarded():
        from sqlalchemy import select

        from parcours.service.models import User
        from parcours.service.security import issue_api_token

        with _database().session() as session:
            user = session.scalar(select(User).where(User.email == email.strip().lower()))
            if user is None:
                raise InputError(
                    tr(f"compte inconnu : {email}", f"unknown account: {email}"), field="email"
                )
            token = issue_api_token(session, user, label)
        print(token)


def _set_active(email: str, active: bool) -> None:
    from sqlalchemy import select

    from parcours.service.accounts import set_active
    from parcours.service.models import User

    with _database().session() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise InputError(
                tr(f"compte inconnu : {email}", f"unknown account: {email}"), field="email"
            )
        revoked = set_active(session, None, user, active)
        if revoked is None:
            message = (
                tr(f"Compte déjà actif : {user.email}", f"Account already enabled: {user.email}")
                if active
                else tr(
                    f"Compte déjà désactivé : {user.email}",
                    f"Account already disabled: {user.email}",
                )
            )
        elif active:
            message = tr(f"Compte réactivé : {user.email}", f"Account enabled: {user.email}")
        else:
            message = tr(
                f"Compte désactivé : {user.email} ({revoked} session(s) et jeton(s) révoqués)",
                f"Account disabled: {user.email} ({revoked} session(s) and token(s) revoked)",
            )
        err_console.print(message)


@user_app.command("disable")
def user_disable(
    email: Annotated[str, typer.Argument(help=tr("Adresse e-mail", "E-mail address"))],
) -> None:
    """Désactiver un compte : plus de connexion, sessions et jetons révoqués."""
    with guarded():
        _set_active(email, False)


@user_app.command("enable")
def user_enable(
    email: Annotated[str, typer.Argument(help=tr("Adresse e-mail", "E-mail address"))],
) -> None:
    """Réactiver un compte (il lui faut un nouveau jeton d'API)."""
    with guarded():
        _set_active(email, True)


@platform_app.command("add")
def platform_add(
    name: Annotated[str, typer.Argument(help=tr("Nom de la plateforme", "Platform name"))],
    territory: Annotated[str, typer.Option(help=tr("Territoire", "Territory"))],
) -> None:
    """Créer une plateforme sur un territoire chargé."""
    with guarded():
        from sqlalchemy import select

        from parcours.service import ServiceSettings
        from parcours.service.models import Platform
        from parcours.territories import Workspace

        Workspace(ServiceSettings().home).open(territory)
        with _database().session() as session:
            if session.scalar(select(Platform.id).where(Platform.name == name)) is not None:
                raise InputError(
                    tr(f"la plateforme « {name} » existe déjà", f"platform '{name}' exists"),
                    field="name",
                )
            session.add(Platform(name=name, territory=territory))
        err_console.print(
            tr(
                f"Plateforme créée : {name} ({territory})",
                f"Platform created: {name} ({territory})",
            )
        )


def purge(
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help=tr("Compter sans effacer", "Count without erasing")),
    ] = False,
    retention_days: Annotated[
        int | None,
        typer.Option(help=tr("Durée de conservation (jours)", "Retention (days)"), min=1),
    ] = None,
) -> None:
    """Effacer les personnes sans contact depuis la durée de conservation (2 ans par défaut)."""
    with guarded():
        from parcours.service import ServiceSettings
        from parcours.service.people import purge as purge_people

        settings = ServiceSettings()
        days = retention_days or settings.retention_days
        with _database().session() as session:
            ids = purge_people(session, retention_days=days, dry_run=dry_run)
        if dry_run:
            err_console.print(
                tr(
                    f"{len(ids)} personne(s) à effacer (plus de {days} jours sans contact)",
                    f"{len(ids)} person(s) to erase (no contact for {days} days)",
                )
            )
        else:
            err_console.print(
                tr(
                    f"{len(ids)} personne(s) effacée(s) (plus de {days} jours sans contact)",
                    f"{len(ids)} person(s) erased (no contact for {days} days)",
                )
            )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Créer ou mettre à jour le schéma de la base (migrations Alembic)."""
    with guarded():
        database = _database()
        err_console.print(
            tr(
                f"Schéma à jour : révision {database.revision()}",
                f"Schema up to date: revision {database.revision()}",
            )
        )
