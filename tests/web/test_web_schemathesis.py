"""Property-based API testing against /openapi.json: no input may cause a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from web_fixtures import seed
from web_helpers import make_app, new_email, register

from rally.db import make_engine


@pytest.fixture(scope="module")
def api_setup(
    db_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A seeded PostgreSQL database (strictest about values) and a signed-in user's token."""
    url = db_factory.create("postgresql")
    engine = make_engine(url)
    try:
        seed(engine)
    finally:
        engine.dispose()
    app = make_app(url, Path(tmp_path_factory.mktemp("schemathesis")))
    with TestClient(app) as client:
        token = register(
            client, email=new_email(), league="APTA_CHICAGO", club="Tennaqua", series="Series 12"
        )["token"]
        yield {"app": app, "token": token}
    db_factory.drop(url)


def _operations(app: Any) -> list[Any]:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in loaded.get_all_operations()]


def _checker(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> Any:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=8,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    return check


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(api_setup: dict[str, Any], mode: GenerationMode) -> None:
    headers = {"Authorization": f"Bearer {api_setup['token']}"}
    operations = _operations(api_setup["app"])
    assert len(operations) >= 15
    for operation in operations:
        # Logging out would end the session the other examples use.
        auth = {} if operation.path == "/api/logout" else headers
        try:
            _checker(operation, mode, auth)()
        except Unsatisfiable:
            # An operation without parameters or body has no invalid input to generate.
            if mode is not GenerationMode.NEGATIVE:
                raise
