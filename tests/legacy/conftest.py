"""Legacy databases for the upgrade tests: the real corpus as the old import stored it."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

from legacy_builder import LegacyBuilder, build_from_corpus
from legacy_helpers import Clone, load_legacy

from rally.db import make_engine


def _admin(admin_url: str, statement: str) -> None:
    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_clone(db_factory) -> Iterator[Clone]:  # type: ignore[no-untyped-def]
    """Copy a PostgreSQL database (CREATE DATABASE ... TEMPLATE); copies dropped at the end."""
    db_factory.require_postgres()
    made: list[str] = []

    def clone(url: str) -> str:
        name = f"{db_factory.prefix}c{uuid.uuid4().hex[:10]}"
        _admin(
            db_factory.admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"'
        )
        made.append(name)
        return make_url(url).set(database=name).render_as_string(hide_password=False)

    yield clone
    for name in made:
        _admin(db_factory.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def corpus_builder(shared_leagues_dir: Path) -> LegacyBuilder:
    """The whole ../shared corpus as the old import stored it, with users and their rows."""
    return build_from_corpus(shared_leagues_dir)


@pytest.fixture(scope="session")
def legacy_corpus_url(db_factory, corpus_builder: LegacyBuilder) -> str:  # type: ignore[no-untyped-def]
    """A legacy database of the whole corpus; tests that write use a pg_clone of it."""
    url = db_factory.create("postgresql", migrated=False)
    load_legacy(url, corpus_builder)
    return str(url)


@pytest.fixture(scope="module")
def scratch_url(db_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """One PostgreSQL database every example reuses (its public schema is recreated)."""
    url = db_factory.create("postgresql", migrated=False)
    yield url
    db_factory.drop(url)
