"""Alembic environment: runs on the connection Rally hands over, inside its transaction."""

from __future__ import annotations

from alembic import context

from rally.db.migrations import include_object
from rally.models import Base

config = context.config


def run_migrations_online() -> None:
    """Run migrations on the connection given in config.attributes['connection']."""
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("Rally migrations run through `rally db`, which supplies a connection.")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("Offline (SQL script) mode is not supported; use `rally db plan`.")
run_migrations_online()
