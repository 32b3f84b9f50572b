"""Random junk in every field of every kind of file, through `rally etl import`.

Never a traceback; the good rows load; the exit code is 0 without rejects and 3 with them
(never 1: junk rows are rejected, they do not fail a league); the rejects file is always
valid JSON lines.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from etl_rows import sample_rows, write_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rally.cli import app
from rally.db import make_engine

runner = CliRunner()
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    # NaN and Infinity are not JSON: a file holding them is malformed (a file-level error,
    # tests/etl/test_malformed.py), not a file with a junk value.
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=ANY_CHAR, max_size=12),
    st.sampled_from(["", "N/A", "\x00", "\ud800", "x" * 300, "13/45/2025", "340%", " - 9"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
FILES = sorted(sample_rows())


def _fields(row: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every field path of a row, nested groups (standings) included."""
    out: list[tuple[str, ...]] = []
    for key, value in row.items():
        out.append((key,))
        if isinstance(value, dict):
            out.extend((key, inner) for inner in value)
    return out


@st.composite
def junk_rows(draw: st.DrawFn) -> dict[str, list[Any]]:
    """Extra rows, each a sample row of some file with one field set to junk or deleted."""
    extra: dict[str, list[Any]] = {name: [] for name in FILES}
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        name = draw(st.sampled_from(FILES))
        row = copy.deepcopy(draw(st.sampled_from(sample_rows()[name])))
        path = draw(st.sampled_from(_fields(row)))
        target = row if len(path) == 1 else row[path[0]]
        if draw(st.booleans()):
            target[path[-1]] = draw(JUNK)
        else:
            del target[path[-1]]
        extra[name].append(row)
    return extra


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def junk_db(request: pytest.FixtureRequest, db_factory: Any) -> Iterator[str]:
    url = db_factory.create(request.param)
    yield url
    db_factory.drop(url)


def _players(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT tenniscores_player_id FROM players"))
            return {r[0] for r in rows}
    finally:
        engine.dispose()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(extra=junk_rows())
def test_junk_in_any_field_is_a_rejected_row(
    junk_db: str, tmp_path_factory: pytest.TempPathFactory, extra: dict[str, list[Any]]
) -> None:
    files = sample_rows()
    for name, rows in extra.items():
        files[name].extend(rows)
    directory = write_rows(tmp_path_factory.mktemp("junk"), files)
    rejects = directory / "rejects.jsonl"
    result = runner.invoke(
        app,
        [
            "etl",
            "import",
            *(str(directory / n) for n in FILES),
            "--database-url",
            junk_db,
            "--rejects",
            str(rejects),
            "--allow-shrink",
        ],
    )
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    lines = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert all(line["reason"] for line in lines)
    assert result.exit_code == (3 if lines else 0), result.output
    assert {"n1", "n2", "n3", "c1", "c2"} <= _players(junk_db)  # the good rows loaded
