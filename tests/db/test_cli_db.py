"""`rally db` as an operator uses it: exit codes, output, no tracebacks."""

from __future__ import annotations

import json
import sqlite3

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from cli_runner import rally
from rally.db import make_engine


def test_upgrade_verify_on_empty_database_then_upgrade_is_a_no_op(empty_db_url: str) -> None:
    code, out = rally("db", "upgrade", "--database-url", empty_db_url)
    assert code == 0, out
    assert "Upgraded empty" in out
    code, out = rally("db", "verify", "--database-url", empty_db_url)
    assert code == 0, out
    assert "checks passed" in out
    code, out = rally("db", "upgrade", "--database-url", empty_db_url)
    assert code == 0
    assert "nothing to do" in out


def test_current_json_names_the_revision(db_url: str) -> None:
    code, out = rally("db", "current", "--json", "--database-url", db_url)
    assert code == 0
    data = json.loads(out)
    assert data["kind"] == "rally"
    assert data["at_head"] is True


def _break_isolation(db_url: str) -> None:
    """Write a team whose series belongs to another league, behind the constraints' back."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        for key in ("APTA_CHICAGO", "NSTF"):
            conn.execute(
                sa.text("INSERT INTO leagues (league_id, league_name) VALUES (:k, :k)"), {"k": key}
            )
        ids = dict(conn.execute(sa.text("SELECT league_id, id FROM leagues")).all())
        conn.execute(sa.text("INSERT INTO clubs (id, name) VALUES (1, 'Tennaqua')"))
        conn.execute(
            sa.text(
                "INSERT INTO series (id, name, display_name, league_id) VALUES (7, 'S1', 'S1', :l)"
            ),
            {"l": ids["NSTF"]},
        )
        if engine.dialect.name == "postgresql":
            conn.execute(
                sa.text("ALTER TABLE teams DROP CONSTRAINT fk_teams_series_id_league_id_series")
            )
    engine.dispose()
    insert = (
        "INSERT INTO teams (club_id, series_id, league_id, team_name, display_name) "
        f"VALUES (1, 7, {ids['APTA_CHICAGO']}, 'Tennaqua 1', 'Tennaqua 1')"
    )
    if db_url.startswith("sqlite"):
        raw = sqlite3.connect(make_url(db_url).database or "")
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute(insert)
        raw.commit()
        raw.close()
    else:
        engine = make_engine(db_url)
        with engine.begin() as conn:
            conn.execute(sa.text(insert))
        engine.dispose()


def test_verify_fails_with_exit_1_and_names_the_violation(db_url: str) -> None:
    _break_isolation(db_url)
    code, out = rally("db", "verify", "--json", "--database-url", db_url)
    assert code == 1
    failed = {c["name"]: c for c in json.loads(out)["checks"] if not c["ok"]}
    assert failed["teams.series_id same league"]["violations"] == 1
    if db_url.startswith("postgresql"):
        assert failed["missing constraints"]["samples"] == [
            {"table": "teams", "constraint": "fk_teams_series_id_league_id_series"}
        ]


def test_unreachable_database_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # On a terminal (off one, the sentence is one of the command's log lines).
    monkeypatch.setattr("rally.cli._common.is_terminal", lambda: True)
    code, out = rally("db", "verify", "--database-url", "postgresql://postgres@127.0.0.1:1/nope")
    assert code == 2
    assert "Cannot connect to postgresql+psycopg://postgres@127.0.0.1:1/nope" in out
    assert len(out.strip().splitlines()) <= 2


def test_unsupported_url_is_a_usage_error() -> None:
    code, out = rally("db", "current", "--database-url", "mysql://x@localhost/y")
    assert code == 2
    assert "Unsupported database" in out


def test_a_command_on_a_database_not_upgraded_says_to_upgrade(empty_db_url: str) -> None:
    code, out = rally("admin", "users", "list", "--database-url", empty_db_url)
    assert code == 1
    flat = " ".join(out.split())
    assert "users" in flat and "`rally db upgrade` brings it to head" in flat, out
