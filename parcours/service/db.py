"""Opening the database: SQLite (WAL) by default, PostgreSQL + PostGIS by URL; migrations.

:func:`open_database` makes the engine and brings the schema to Alembic's head (the
migrations ship in ``parcours/service/migrations``), so ``parcours serve`` works on a
fresh machine with nothing else installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from parcours.errors import WorkspaceError
from parcours.i18n import tr

__all__ = ["POSTGIS_TABLES", "Database", "open_database", "ours"]


#: Tables of PostGIS itself, not of parcours (left out when Alembic compares schemas).
POSTGIS_TABLES = frozenset({"spatial_ref_sys", "geometry_columns", "geography_columns"})


def ours(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic's ``include_name``: parcours' tables only (not PostGIS's)."""
    return not (type_ == "table" and name in POSTGIS_TABLES)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    folder = resources.files("parcours.service").joinpath("migrations")
    config.set_main_option("script_location", str(folder))
    config.attributes["engine"] = engine
    return config


class Database:
    """The engine and its session factory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        """True on PostgreSQL (PostGIS), False on SQLite."""
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success, rolled back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` (by default the latest migration)."""
        from alembic import command

        command.upgrade(_alembic_config(self.engine), revision)

    def revision(self) -> str | None:
        """The schema's current Alembic revision (None on an empty database)."""
        from alembic.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        """Close the pool's connections."""
        self.engine.dispose()


def open_database(url: str, *, upgrade: bool = True) -> Database:
    """Open (and by default migrate) the database at ``url``.

    Raises
    ------
    WorkspaceError
        When the database cannot be reached or migrated (the URL's password is not shown).
    """
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
    else:
        kwargs.update(pool_size=10, max_overflow=20)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    database = Database(engine)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        if upgrade:
            database.upgrade()
    except (OperationalError, SQLAlchemyError, OSError) as exc:
        shown = engine.url.render_as_string(hide_password=True)
        raise WorkspaceError(
            tr(
                f"base de données inaccessible ({shown}) : {type(exc).__name__}: "
                f"{str(exc).splitlines()[0]}",
                f"database unreachable ({shown}): {type(exc).__name__}: {str(exc).splitlines()[0]}",
            ),
            field="database_url",
        ) from exc
    return database
