"""Player pages and search: indexes for a player's matches and history, name search on PostgreSQL.

Both backends: indexes on the four player columns of ``match_scores`` (a player page finds
every line a player played) and on ``player_history.player_id`` (the PTI chart).

PostgreSQL only: the ``pg_trgm`` extension (and ``unaccent`` where the server has it), an
IMMUTABLE function ``rally_fold(text)`` that folds case and accents the way
`rally.services.person_names.normalize` does, a generated column ``players.search_name`` holding
``rally_fold(first_name || ' ' || last_name)`` and a GIN trigram index on it, so a
typo-tolerant, accent-blind name search is an index scan. The column and index are not in
the models (SQLite has neither); `rally.db.migrations.UNMODELLED` keeps them out of
`alembic check`. Without ``unaccent`` the function folds the common Latin accents itself.
SQLite has no trigram index; search there scores the league's names in Python (rapidfuzz).

The downgrade drops the index and the function but leaves the extensions installed: other
objects of the database may use them.

Revision ID: 0005_player_pages
Revises: 0004_week
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_player_pages"
down_revision = "0004_week"
branch_labels = None
depends_on = None

MATCH_PLAYER_COLUMNS = (
    "home_player_1_id",
    "home_player_2_id",
    "away_player_1_id",
    "away_player_2_id",
)

# What rally.services.person_names.normalize removes and collapses, in PostgreSQL regular expressions.
_FOLD_TAIL = r"""btrim(regexp_replace(regexp_replace(lower({inner}), '[.''’`]', '', 'g'), '[\s,_-]+', ' ', 'g'))"""
_ACCENTS = (
    "áàâäãåāăąçćčďéèêëēėęěğíìîïīįıłñńňóòôöõøōőŕřśšşťúùûüūůűųýÿźżž",
    "aaaaaaaaacccdeeeeeeeegiiiiiiilnnnoooooooorrsssstuuuuuuuuyyzzz",
)


def _fold_body(bind: sa.Connection) -> str:
    schema = bind.execute(
        sa.text(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'"
        )
    ).scalar()
    if schema:
        # The two-argument form with a schema-qualified dictionary is safe to call IMMUTABLE.
        inner = f"{schema}.unaccent('{schema}.unaccent'::regdictionary, $1)"
    else:
        inner = f"translate($1, '{_ACCENTS[0]}{_ACCENTS[0].upper()}', '{_ACCENTS[1]}{_ACCENTS[1].upper()}')"
    return _FOLD_TAIL.format(inner=inner)


def upgrade() -> None:
    for column in MATCH_PLAYER_COLUMNS:
        op.create_index(f"ix_match_scores_{column}", "match_scores", [column])
    op.create_index("ix_player_history_player_id", "player_history", ["player_id"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = set(
        bind.execute(
            sa.text(
                "SELECT name FROM pg_available_extensions WHERE name IN ('pg_trgm', 'unaccent')"
            )
        ).scalars()
    )
    if "pg_trgm" not in available:
        raise RuntimeError(
            "PostgreSQL lacks the pg_trgm extension (package postgresql-contrib); "
            "install it and run `rally db upgrade` again."
        )
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    if "unaccent" in available:
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute(
        "CREATE FUNCTION rally_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        f"STRICT RETURN {_fold_body(bind)}"
    )
    # Folded once when a row is written: called at search time, the function (not inlinable,
    # as unaccent is only STABLE) costs some 20 microseconds a row.
    op.execute(
        "ALTER TABLE players ADD COLUMN search_name text "
        "GENERATED ALWAYS AS (rally_fold(first_name || ' ' || last_name)) STORED"
    )
    trgm = str(
        bind.execute(
            sa.text(
                "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
            )
        ).scalar()
    )
    # The matching rows of a search, with its trigram thresholds (pg_trgm's defaults are 0.3
    # and 0.6; 0.6 misses "walsch" for "Walsh"). As function settings they need no SET per
    # connection, and enable_seqscan off keeps the planner on the index: it misprices the
    # trigram operators and scanned every name for a two-word query (200 ms under load).
    op.execute(
        "CREATE FUNCTION rally_name_matches(query text, league_key text) "
        "RETURNS TABLE (player_id integer, folded text) LANGUAGE sql STABLE ROWS 50 "
        "SET pg_trgm.similarity_threshold = 0.3 SET pg_trgm.word_similarity_threshold = 0.5 "
        "SET enable_seqscan = off AS $$ "
        "SELECT p.id, p.search_name FROM players p "
        "WHERE (p.search_name OPERATOR(" + trgm + ".%) query "
        "OR query OPERATOR(" + trgm + ".<%) p.search_name) AND p.is_active IS NOT false "
        "AND (league_key IS NULL OR p.league_id = "
        "(SELECT l.id FROM leagues l WHERE l.league_id = league_key)) $$"
    )
    # fastupdate off: rows are indexed as they are written. With the pending list a search
    # right after an import scanned every new name until autovacuum merged it (20 ms+).
    op.execute(
        "CREATE INDEX ix_players_search_name ON players "
        f"USING gin (search_name {trgm}.gin_trgm_ops) WITH (fastupdate = off)"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS rally_name_matches(text, text)")
        op.execute("DROP INDEX IF EXISTS ix_players_search_name")
        op.execute("ALTER TABLE players DROP COLUMN IF EXISTS search_name")
        op.execute("DROP FUNCTION IF EXISTS rally_fold(text)")
    op.drop_index("ix_player_history_player_id", table_name="player_history")
    for column in MATCH_PLAYER_COLUMNS:
        op.drop_index(f"ix_match_scores_{column}", table_name="match_scores")
