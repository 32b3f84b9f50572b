"""Revision 0007: players.search_name kept by a trigger instead of a generated column."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from legacy_helpers import load_legacy
from test_kill import _small_world

from rally.db import make_engine, migrate

BEFORE = "0006_import_guards"
FOLD = "rally_fold(first_name || ' ' || last_name)"


def _column(conn: sa.Connection) -> tuple[str, Any]:
    row = conn.execute(
        sa.text(
            "SELECT is_generated, generation_expression FROM information_schema.columns "
            "WHERE table_name = 'players' AND column_name = 'search_name'"
        )
    ).one()
    return str(row[0]), row[1]


def _names(conn: sa.Connection) -> dict[int, str | None]:
    return {int(i): n for i, n in conn.execute(sa.text("SELECT id, search_name FROM players"))}


def _filenode(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SELECT pg_relation_filenode('players')")).scalar_one())


def _stale(conn: sa.Connection) -> int:
    return int(
        conn.execute(
            sa.text(f"SELECT COUNT(*) FROM players WHERE search_name IS DISTINCT FROM {FOLD}")
        ).scalar_one()
    )


def test_from_legacy_keeps_every_value_without_a_rewrite_and_the_trigger_folds(
    pg_empty_url: str,
) -> None:
    b = _small_world()
    league = b.league("NSTF_EXTRA")
    team = b.team("Club X", "Series 1", league, "Club X 1")
    b.player("pX", "Zoë", "O'Brien-Núñez", "Club X", "Series 1", league, team)
    load_legacy(pg_empty_url, b)
    engine = make_engine(pg_empty_url)
    try:
        migrate.upgrade(engine, revision=BEFORE, verify=False)
        with engine.connect() as conn:
            assert _column(conn)[0] == "ALWAYS"
            generated, node = _names(conn), _filenode(conn)
        assert "zoe obrien nunez" in generated.values()

        migrate.upgrade(engine)
        with engine.begin() as conn:
            assert _column(conn) == ("NEVER", None)
            assert _names(conn) == generated  # the same values, kept
            assert _filenode(conn) == node  # DROP EXPRESSION did not rewrite the table
            # Inserts and renames are folded by the trigger, as the generated column did.
            pid = conn.execute(sa.text("SELECT id FROM players WHERE tenniscores_player_id = 'pX'"))
            pid = pid.scalar_one()
            conn.execute(
                sa.text("UPDATE players SET last_name = 'Ångström' WHERE id = :p"), {"p": pid}
            )
            conn.execute(
                sa.text(
                    "INSERT INTO players (tenniscores_player_id, first_name, last_name, "
                    "league_id, club_id, series_id, team_id) SELECT 'pY', 'ÉLODIE', 'Dupré', "
                    "league_id, club_id, series_id, team_id FROM players WHERE id = :p"
                ),
                {"p": pid},
            )
            assert _stale(conn) == 0
            assert (
                conn.execute(
                    sa.text("SELECT search_name FROM players WHERE id = :p"), {"p": pid}
                ).scalar_one()
                == "zoe angstrom"
            )
            found = (
                conn.execute(
                    sa.text("SELECT f.folded FROM rally_name_matches('elodie dupre', NULL) f")
                )
                .scalars()
                .all()
            )
            assert found == ["elodie dupre"]
            after = _names(conn)

        migrate.downgrade(engine, revision=BEFORE)
        with engine.connect() as conn:
            assert _column(conn)[0] == "ALWAYS"
            assert _names(conn) == after
            index = conn.execute(
                sa.text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_players_search_name'"
                )
            ).scalar_one()
            assert "gin (search_name" in index and "fastupdate=off" in index
            assert (
                conn.execute(sa.text("SELECT to_regproc('rally_players_search_name')")).scalar()
                is None
            )
        migrate.upgrade(engine)
        with engine.connect() as conn:
            assert _column(conn) == ("NEVER", None) and _names(conn) == after
    finally:
        engine.dispose()


def test_from_empty_on_postgresql(pg_empty_url: str) -> None:
    engine = make_engine(pg_empty_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            assert _column(conn) == ("NEVER", None)
            trigger = conn.execute(
                sa.text(
                    "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
                    "WHERE tgname = 'rally_players_search_name'"
                )
            ).scalar_one()
        assert "BEFORE INSERT OR UPDATE OF first_name, last_name ON public.players" in trigger
        migrate.downgrade(engine, revision=BEFORE)
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def test_sqlite_has_nothing_to_change(db_factory) -> None:  # type: ignore[no-untyped-def]
    url = db_factory.create("sqlite", migrated=False)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        assert migrate.current(engine).revision == "0007_search_name_trigger"
        migrate.downgrade(engine, revision=BEFORE)
        assert migrate.current(engine).revision == BEFORE
        migrate.upgrade(engine)
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("players")}
        assert "search_name" not in columns
    finally:
        engine.dispose()
        db_factory.drop(url)
