"""`rally db copy` on the real corpus: SQLite -> PostgreSQL -> SQLite, identical, and it serves."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import test_web_acceptance as acceptance
from sqlalchemy.orm import Session
from typer.testing import CliRunner
from web_helpers import FAST_HASHER, PASSWORD, make_app

from rally.cli import app as cli
from rally.db import make_engine
from rally.db.copy import rally_tables
from rally.etl.importer import import_paths
from rally.services.accounts import check_credentials, register_user, start_session
from rally.services.claims import claim_player
from rally.services.teams import switch_team

runner = CliRunner()


def _add_accounts(engine: sa.Engine) -> None:
    """Accounts that claimed two records each, switched context, signed in and failed once."""
    with engine.connect() as conn:
        people = conn.execute(
            sa.text(
                "SELECT first_name, last_name, min(id), max(id) FROM players "
                "WHERE team_id IS NOT NULL AND last_name <> 'Walsh' "
                "GROUP BY league_id, tenniscores_player_id, first_name, last_name "
                "HAVING count(*) = 2 ORDER BY min(id) LIMIT 5"
            )
        ).all()
    assert len(people) == 5
    with Session(engine) as s, s.begin():
        for i, (first, last, one, two) in enumerate(people):
            user = register_user(
                s,
                email=f"copy{i}@example.com",
                password=PASSWORD,
                first_name=first,
                last_name=last,
                hasher=FAST_HASHER,
            )
            s.flush()
            for player_id in (one, two):
                claim_player(s, user_id=user.id, player_id=player_id)
            team = s.execute(sa.text("SELECT team_id FROM players WHERE id = :p"), {"p": two})
            switch_team(s, user_id=user.id, team_id=team.scalar_one())
            start_session(s, user=user)
            check_credentials(s, email=user.email, password="wrong", hasher=FAST_HASHER)


def _content(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: [
                    tuple(r)
                    for r in conn.execute(
                        sa.select(t).order_by(*(t.primary_key.columns or t.columns))
                    )
                ]
                for t in rally_tables()
            }
    finally:
        engine.dispose()


def test_copy_sqlite_to_postgresql_and_back_is_identical_and_serves(
    db_factory: Any, shared_leagues_dir: Path, tmp_path: Path
) -> None:
    original = db_factory.create("sqlite")
    engine = make_engine(original)
    try:
        report = import_paths(engine, [shared_leagues_dir])
        assert not [k for k, v in report.leagues.items() if v.error]
        _add_accounts(engine)
    finally:
        engine.dispose()
    postgres = db_factory.create("postgresql", migrated=False)  # truly empty
    back = f"sqlite:///{tmp_path / 'back.db'}"

    there = runner.invoke(cli, ["db", "copy", original, postgres])
    assert there.exit_code == 0, there.output
    assert "checksums match the source" in there.output
    # Off a terminal (as here): a log line per table copied, with its rows, on stderr.
    copied = dict(re.findall(r'msg="table copied" .*?table=(\w+) rows=(\d+) ', there.stderr))
    assert int(copied["players"]) > 1000 and 'msg="copy verified"' in there.stderr
    again = runner.invoke(cli, ["db", "copy", postgres, back])
    assert again.exit_code == 0, again.output

    before, after = _content(original), _content(back)
    assert sum(map(len, before.values())) > 10_000
    assert len(before["player_claims"]) == 10 and len(before["user_contexts"]) == 5
    assert before == after

    # The PostgreSQL copy passes the integrity checks and hands out fresh ids.
    verified = runner.invoke(cli, ["db", "verify", "--database-url", postgres])
    assert verified.exit_code == 0, verified.output
    # A non-empty target is refused, and nothing changes.
    refused = runner.invoke(cli, ["db", "copy", original, postgres])
    assert refused.exit_code == 1 and "not empty" in refused.output
    assert "--force" in refused.output
    app = make_app(postgres, tmp_path / "web")
    acceptance.test_aaron_walsh_claims_confirms_and_switches(app)
    db_factory.drop(postgres)


def test_copy_refuses_what_it_cannot_copy(tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    (tmp_path / "empty.db").touch()
    target = f"sqlite:///{tmp_path / 'target.db'}"
    result = runner.invoke(cli, ["db", "copy", empty, target])
    assert result.exit_code == 1 and "rally db upgrade" in result.output
    missing = f"sqlite:///{tmp_path / 'nope.db'}"
    result = runner.invoke(cli, ["db", "copy", missing, target])
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not (tmp_path / "nope.db").exists()


def test_copy_with_force_replaces_the_target(db_factory: Any) -> None:
    source, target = db_factory.create("sqlite"), db_factory.create("postgresql")
    for url, who in ((source, "source"), (target, "target")):
        engine = make_engine(url)
        with Session(engine) as s, s.begin():
            register_user(
                s,
                email=f"{who}@example.com",
                password=PASSWORD,
                first_name="A",
                last_name="B",
                hasher=FAST_HASHER,
            )
        engine.dispose()
    assert runner.invoke(cli, ["db", "copy", source, target]).exit_code == 1
    forced = runner.invoke(cli, ["db", "copy", source, target, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "replaced 1 rows" in forced.output
    engine = make_engine(target)
    with Session(engine) as s, s.begin():
        # Sequences moved past the copied ids: a new account gets a new id.
        user = register_user(
            s,
            email="new@example.com",
            password=PASSWORD,
            first_name="C",
            last_name="D",
            hasher=FAST_HASHER,
        )
        s.flush()
        new_id = user.id
        emails = s.execute(sa.text("SELECT email FROM users ORDER BY id")).scalars().all()
    engine.dispose()
    assert emails == ["source@example.com", "new@example.com"] and new_id == 2
    db_factory.drop(target)
