"""Generated malformed inputs: never an unhandled error, never a half-imported league."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from etl_rows import sample_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rally.etl.importer import import_corpus
from rally.etl.reader import ImportFileError, parse_paths

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["N/A", "", " - 1", "Series Protest Form", "13/45/2025", "340", "XYZ", "CITA"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
FILES = sorted(sample_rows())


@st.composite
def mutations(draw: st.DrawFn) -> list[tuple[str, int, str, str, Any]]:
    out = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        name = draw(st.sampled_from(FILES))
        size = len(sample_rows()[name])
        index = draw(st.integers(min_value=0, max_value=size - 1))
        action = draw(st.sampled_from(["set", "delete", "replace_row", "duplicate", "file"]))
        out.append((name, index, action, draw(st.text(max_size=20)), draw(JUNK)))
    return out


def _apply(files: dict[str, Any], plan: list[tuple[str, int, str, str, Any]]) -> dict[str, Any]:
    files = copy.deepcopy(files)
    for name, index, action, field_hint, value in plan:
        rows = files[name]
        if not isinstance(rows, list) or index >= len(rows):
            continue
        row = rows[index]
        if action == "replace_row":
            rows[index] = value
        elif action == "duplicate":
            rows.append(copy.deepcopy(row))
        elif action == "file":
            files[name] = value
        elif isinstance(row, dict) and row:
            keys = sorted(row)
            field = keys[len(field_hint) % len(keys)]
            if action == "delete":
                del row[field]
            else:
                row[field] = value
    return files


def _counts(engine: sa.Engine) -> dict[str, tuple[int, ...]]:
    """Rows per league in each table an import writes."""
    tables = ("series", "teams", "players", "series_stats", "schedule", "match_scores")
    out: dict[str, tuple[int, ...]] = {}
    with engine.connect() as conn:
        for (league,) in conn.execute(sa.text("SELECT league_id FROM leagues")):
            out[league] = tuple(
                conn.execute(
                    sa.text(
                        f"SELECT count(*) FROM {table} t JOIN leagues l ON l.id = t.league_id "
                        "WHERE l.league_id = :k"
                    ),
                    {"k": league},
                ).scalar_one()
                for table in tables
            )
    return out


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=mutations())
def test_malformed_input_is_handled(
    plan: list[tuple[str, int, str, str, Any]], engine: sa.Engine, tmp_path_factory: Any
) -> None:
    """One database per backend for all examples: each example imports over the last one."""
    directory = tmp_path_factory.mktemp("malformed")
    for name, rows in _apply(sample_rows(), plan).items():
        (directory / name).write_text(json.dumps(rows, allow_nan=True))
    try:
        corpus = parse_paths([Path(directory)])
    except ImportFileError as exc:
        assert str(directory) in str(exc) and "\n" not in str(exc)
        return
    before = _counts(engine)
    report = import_corpus(engine, corpus)
    after = _counts(engine)
    again = import_corpus(engine, corpus)
    for key, league in report.leagues.items():
        if league.failed:
            assert after.get(key) == before.get(key), key  # nothing of a failed league
        else:
            # Complete: importing the same input again finds nothing to do.
            assert again.leagues[key].total("inserted") == 0, key
            assert again.leagues[key].total("updated") == 0, key
    for reject in report.rejects:
        assert reject.reason
