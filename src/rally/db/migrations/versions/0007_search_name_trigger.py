"""Folded player names kept by a trigger instead of a generated column (PostgreSQL only).

Revision 0005 made ``players.search_name`` a STORED generated column. Adding such a column
rewrites the whole table under an ACCESS EXCLUSIVE lock and folds every name in that one
statement, which the online upgrade (`rally db upgrade --online`) cannot do while the old
application writes. From here on the column is a plain ``text`` column that a BEFORE INSERT
OR UPDATE OF first_name, last_name trigger keeps equal to
``rally_fold(first_name || ' ' || last_name)``, the very expression of the generated column,
so every row holds the same value as before and search (``rally_name_matches``, the GIN
trigram index) is unchanged. The online upgrade can then add the column, backfill it in
batches and build its index CONCURRENTLY before its window opens.

Upgrade: ``ALTER COLUMN search_name DROP EXPRESSION`` (PostgreSQL 13+) keeps the stored
values and rewrites nothing; the trigger function and trigger are created. Downgrade: the
generated column and its GIN index come back (that rewrites ``players``, as 0005 did).
SQLite has no such column: a no-op there.

Self-contained: no import of rally.models or application code.

Revision ID: 0007_search_name_trigger
Revises: 0006_import_guards
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_search_name_trigger"
down_revision = "0006_import_guards"
branch_labels = None
depends_on = None

FUNCTION = (
    "CREATE FUNCTION rally_players_search_name() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "    NEW.search_name := rally_fold(NEW.first_name || ' ' || NEW.last_name);\n"
    "    RETURN NEW;\n"
    "END $$"
)
TRIGGER = (
    "CREATE TRIGGER rally_players_search_name BEFORE INSERT OR UPDATE OF first_name, last_name "
    "ON players FOR EACH ROW EXECUTE FUNCTION rally_players_search_name()"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE players ALTER COLUMN search_name DROP EXPRESSION")
    op.execute(FUNCTION)
    op.execute(TRIGGER)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS rally_players_search_name ON players")
    op.execute("DROP FUNCTION IF EXISTS rally_players_search_name()")
    op.execute("DROP INDEX IF EXISTS ix_players_search_name")
    op.execute("ALTER TABLE players DROP COLUMN IF EXISTS search_name")
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
    op.execute(
        "CREATE INDEX ix_players_search_name ON players "
        f"USING gin (search_name {trgm}.gin_trgm_ops) WITH (fastupdate = off)"
    )
