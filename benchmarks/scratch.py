"""Throwaway PostgreSQL databases for the benchmarks: created on demand, dropped at the end."""

from __future__ import annotations

import os
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from rally.db import make_engine

DEFAULT_ADMIN_URL = os.environ.get(
    "RALLY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


class ScratchDatabases:
    """Creates databases on the server of `admin_url` and drops them all on `drop_all`."""

    def __init__(self, admin_url: str = DEFAULT_ADMIN_URL, prefix: str = "rally_bench") -> None:
        self.admin_url = admin_url
        self.prefix = prefix
        self.made: list[str] = []

    def execute(self, statement: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        engine = make_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(statement))
        finally:
            engine.dispose()

    def create(self, template: str | None = None) -> str:
        """Create an empty database (or a copy of `template`) and return its URL."""
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self.made.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop one database made by `create`."""
        name = make_url(url).database
        if name in self.made:
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.made.remove(name)

    def drop_all(self) -> None:
        """Drop every database made by `create`."""
        for name in list(self.made):
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()
