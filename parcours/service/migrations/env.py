"""Alembic's environment: migrations run on the engine :func:`parcours.service.db` gives."""

from __future__ import annotations

from alembic import context

from parcours.service.db import ours
from parcours.service.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run the migrations on the engine passed in ``config.attributes``."""
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_name=ours,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
