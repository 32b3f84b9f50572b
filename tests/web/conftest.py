"""Web test fixtures: an app on a fresh, seeded database per test, on both backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_fixtures import seed
from web_helpers import make_app

from rally.db import make_engine


@pytest.fixture(scope="session")
def require_resource(pytestconfig: pytest.Config) -> Callable[[bool, str], None]:
    """The top-level conftest's `require` (skip locally, fail under CI=true)."""
    root = pytestconfig.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None, "tests/conftest.py is not loaded"
    return root.require  # type: ignore[no-any-return]


@pytest.fixture
def world(engine: sa.Engine) -> dict[str, int]:
    """The hand-made leagues of web_fixtures, with their row ids."""
    return seed(engine)


@pytest.fixture
def app(db_url: str, world: dict[str, int], tmp_path: Path) -> FastAPI:
    """The application on a seeded database."""
    return make_app(db_url, tmp_path)


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def shared_app(
    request: pytest.FixtureRequest, db_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, dict[str, int]]]:
    """One seeded database per module and backend, for tests that only read or add users."""
    url = db_factory.create(request.param)
    engine = make_engine(url)
    try:
        ids = seed(engine)
    finally:
        engine.dispose()
    yield make_app(url, tmp_path_factory.mktemp("web")), ids
    db_factory.drop(url)


@pytest.fixture
def shared_client(shared_app: tuple[FastAPI, dict[str, int]]) -> Iterator[TestClient]:
    """A fresh client (no cookies) on the module's shared database."""
    with TestClient(shared_app[0]) as test_client:
        yield test_client


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A browser-like API client (keeps cookies)."""
    with TestClient(app) as test_client:
        yield test_client
