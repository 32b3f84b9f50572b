"""Legacy databases for the upgrade tests: the real corpus as the old import stored it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from legacy_builder import LegacyBuilder, build_from_corpus
from legacy_helpers import Clone, load_legacy


@pytest.fixture(scope="session")
def pg_clone(db_factory) -> Clone:  # type: ignore[no-untyped-def]
    """Copy a PostgreSQL database (CREATE DATABASE ... TEMPLATE); copies dropped at the end."""
    db_factory.require_postgres()
    return db_factory.clone


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
