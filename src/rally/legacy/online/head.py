"""Revisions 0003-0007 built online, before the window opens (no long lock on any table).

The online phases first build revision 0002's schema (`contract.py`); the window step then
stamps a revision and runs the rest through alembic in one transaction under locks taken
up front. Running 0003-0007 there stalled the old application's writes for seconds (0005
rewrote `players` for its generated column and GIN index; 0004 added a unique constraint
and linked every availability row). These steps build exactly what those revisions build,
each in its own short transaction (lock_timeout, retried) or CONCURRENTLY:

- expand: nullable and constant-default columns (metadata only), the new tables, the
  extensions and functions of 0005, 0007's search_name trigger, the foreign key and check
  NOT VALID, the availability link in the translating trigger;
- backfill: ``players.search_name`` and ``player_availability.schedule_id`` in throttled,
  resumable batches;
- contract: indexes CONCURRENTLY (an INVALID leftover is rebuilt), the UNIQUE attached
  USING INDEX, NOT VALID constraints validated.

The window step then stamps ``ONLINE_BUILT`` and runs only the revisions after it (none
today; a future revision runs there, under `contract.LATER_REVISION_LOCKS`).
`drop_prebuilt` undoes all of it for `--abort`. A test compares the schema after online +
finalize with the offline upgrade's (tests/legacy/test_online.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from rally.errors import RallyError
from rally.legacy.online import triggers
from rally.legacy.online.backfill import (
    Context,
    batched,
    build_index,
    foreign_key_locks,
    steps_done,
)

#: The revision whose schema the online steps build before the window (0003-0007 below).
ONLINE_BUILT = "0007_search_name_trigger"
#: The revisions these steps build, in order, after revision 0002.
PREBUILT = (
    "0003_trusted_accounts",
    "0004_week",
    "0005_player_pages",
    "0006_import_guards",
    "0007_search_name_trigger",
)


class MissingExtension(RallyError):
    """PostgreSQL lacks an extension the head schema needs."""


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


#: (table, column, type, default) added by 0003, 0004, 0005/0007 and 0006, in their order.
COLUMNS: tuple[tuple[str, str, sa.types.TypeEngine[Any], str | None], ...] = (
    ("users", "email_verified_at", _tz(), None),
    ("users", "disabled_at", _tz(), None),
    ("user_sessions", "client", sa.String(255), None),
    ("player_claims", "status", sa.String(16), "'confirmed'"),
    ("player_claims", "decided_by", sa.String(255), None),
    ("player_claims", "decided_at", _tz(), None),
    ("player_availability", "schedule_id", sa.Integer(), None),
    ("players", "search_name", sa.Text(), None),
    ("series_stats", "computed", sa.Boolean(), "false"),
)

#: Plain indexes of 0004-0006: name -> (table, columns).
INDEXES = {
    "ix_player_availability_schedule_id": ("player_availability", "schedule_id"),
    "ix_match_scores_home_player_1_id": ("match_scores", "home_player_1_id"),
    "ix_match_scores_home_player_2_id": ("match_scores", "home_player_2_id"),
    "ix_match_scores_away_player_1_id": ("match_scores", "away_player_1_id"),
    "ix_match_scores_away_player_2_id": ("match_scores", "away_player_2_id"),
    "ix_player_history_player_id": ("player_history", "player_id"),
    "ix_player_history_player_id_date": ("player_history", "player_id, date"),
}
AVAILABILITY_UNIQUE = "uq_player_availability_player_id_schedule_id"
AVAILABILITY_FK = "fk_player_availability_schedule_id_schedule"
CLAIM_CHECK = "ck_player_claims_status"
SEARCH_INDEX = "ix_players_search_name"
SEARCH_TRIGGER = "rally_players_search_name"
FOLD = "rally_fold(first_name || ' ' || last_name)"


def new_tables() -> sa.MetaData:
    """The tables 0003, 0004 and 0006 create, as those revisions define them."""
    md = sa.MetaData()
    now = sa.func.current_timestamp()
    # The tables they reference, as stubs (only their names and key columns are used).
    for stub, cols in (("leagues", ("id",)), ("users", ("id",)), ("teams", ("id", "league_id")),
                       ("players", ("id", "league_id"))):  # fmt: skip
        sa.Table(stub, md, *(sa.Column(c, sa.Integer()) for c in cols))
    sa.Table(
        "team_captains",
        md,
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(255), nullable=False),
        sa.Column("created_at", _tz(), server_default=now, nullable=True),
        sa.ForeignKeyConstraint(
            ["league_id"], ["leagues.id"], name="fk_team_captains_league_id_leagues"
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "league_id"],
            ["teams.id", "teams.league_id"],
            name="fk_team_captains_team_id_league_id_teams",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_team_captains_user_id_users"),
        sa.PrimaryKeyConstraint("user_id", "team_id", name="pk_team_captains"),
        sa.Index("ix_team_captains_team_id", "team_id"),
    )
    sa.Table(
        "claim_disputes",
        md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("player_id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column("disputant_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), server_default="open", nullable=False),
        sa.Column("created_at", _tz(), server_default=now, nullable=True),
        sa.Column("resolved_at", _tz(), nullable=True),
        sa.Column("resolved_by", sa.String(255), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'upheld', 'rejected', 'withdrawn')", name="ck_claim_disputes_state"
        ),
        sa.ForeignKeyConstraint(
            ["disputant_id"], ["users.id"], name="fk_claim_disputes_disputant_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["users.id"], name="fk_claim_disputes_holder_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["league_id"], ["leagues.id"], name="fk_claim_disputes_league_id_leagues"
        ),
        sa.ForeignKeyConstraint(
            ["player_id", "league_id"],
            ["players.id", "players.league_id"],
            name="fk_claim_disputes_player_id_league_id_players",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_claim_disputes"),
        sa.Index("ix_claim_disputes_player_id", "player_id"),
        sa.Index("ix_claim_disputes_disputant_id", "disputant_id"),
    )
    sa.Table(
        "audit_log",
        md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _tz(), server_default=now, nullable=True),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.Index("ix_audit_log_at", "at"),
    )
    sa.Table(
        "calendar_feeds",
        md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("created_at", _tz(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=True),
        sa.Column("revoked_at", _tz(), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name="fk_calendar_feeds_team_id_teams", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_calendar_feeds_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_calendar_feeds"),
        sa.Index("ix_calendar_feeds_user_id", "user_id"),
    )
    sa.Table(
        "import_files",
        md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("file_leagues", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("importer_version", sa.String(50), nullable=False),
        sa.Column("imported_at", _tz(), server_default=now, nullable=True),
        sa.ForeignKeyConstraint(
            ["league_id"],
            ["leagues.id"],
            name="fk_import_files_league_id_leagues",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_import_files"),
        sa.UniqueConstraint("league_id", "sha256", name="uq_import_files_league_id_sha256"),
    )
    return md


NEW_TABLES = ("team_captains", "claim_disputes", "audit_log", "calendar_feeds", "import_files")


def has_column(conn: Connection, table: str, column: str) -> bool:
    """Tell whether public.`table` has `column`."""
    return bool(
        conn.execute(
            sa.text(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = :t AND column_name = :c"
            ),
            {"t": table, "c": column},
        ).first()
    )


def _constraints(ctx: Context) -> dict[str, bool]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT conname, convalidated FROM pg_constraint "
                "WHERE connamespace = 'public'::regnamespace"
            )
        ).all()
    return {str(n): bool(v) for n, v in rows}


# --- expand --------------------------------------------------------------------------------


def add_columns(ctx: Context) -> None:
    """Each new column in its own brief ALTER: nullable, or a constant default (no rewrite)."""
    for table, column, type_, default in COLUMNS:
        ddl = type_.compile(dialect=ctx.engine.dialect)
        tail = f" DEFAULT {default} NOT NULL" if default is not None else ""
        ctx.sql(
            f"head expand: add {table}.{column}",
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {ddl}{tail}",
        )


def create_tables(ctx: Context) -> None:
    """The new tables (empty), one transaction each: brief locks on the tables they reference."""
    md = new_tables()
    for name in NEW_TABLES:
        ctx.create_table(f"head expand: create {name}", md.tables[name])


def _fold_body(conn: Connection) -> str:
    # Revision 0005's own definition of the folding (frozen, so the same text results).
    import importlib

    module = importlib.import_module("rally.db.migrations.versions.0005_player_pages")
    return str(module._fold_body(conn))


def _trgm(conn: Connection) -> str:
    return str(
        conn.execute(
            sa.text(
                "SELECT extnamespace::regnamespace::text FROM pg_extension "
                "WHERE extname = 'pg_trgm'"
            )
        ).scalar()
    )


def _function_exists(conn: Connection, signature: str) -> bool:
    return (
        conn.execute(sa.text("SELECT to_regprocedure(:s)"), {"s": signature}).scalar() is not None
    )


def functions(ctx: Context) -> None:
    """Extensions, rally_fold, rally_name_matches and the search_name trigger (0005, 0007)."""

    def extensions(conn: Connection) -> None:
        available = set(
            conn.execute(
                sa.text(
                    "SELECT name FROM pg_available_extensions WHERE name IN ('pg_trgm', 'unaccent')"
                )
            ).scalars()
        )
        if "pg_trgm" not in available:
            raise MissingExtension(
                "PostgreSQL lacks the pg_trgm extension (package postgresql-contrib); "
                "install it and run `rally db upgrade --online` again."
            )
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        if "unaccent" in available:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS unaccent"))

    def sql_functions(conn: Connection) -> None:
        if not _function_exists(conn, "rally_fold(text)"):
            conn.execute(
                sa.text(
                    "CREATE FUNCTION rally_fold(text) RETURNS text LANGUAGE sql IMMUTABLE "
                    f"PARALLEL SAFE STRICT RETURN {_fold_body(conn)}"
                )
            )
        if not _function_exists(conn, "rally_name_matches(text, text)"):
            trgm = _trgm(conn)
            conn.execute(
                sa.text(
                    "CREATE FUNCTION rally_name_matches(query text, league_key text) "
                    "RETURNS TABLE (player_id integer, folded text) LANGUAGE sql STABLE ROWS 50 "
                    "SET pg_trgm.similarity_threshold = 0.3 "
                    "SET pg_trgm.word_similarity_threshold = 0.5 "
                    "SET enable_seqscan = off AS $$ "
                    "SELECT p.id, p.search_name FROM players p "
                    "WHERE (p.search_name OPERATOR(" + trgm + ".%) query "
                    "OR query OPERATOR(" + trgm + ".<%) p.search_name) "
                    "AND p.is_active IS NOT false "
                    "AND (league_key IS NULL OR p.league_id = "
                    "(SELECT l.id FROM leagues l WHERE l.league_id = league_key)) $$"
                )
            )
        if not _function_exists(conn, f"{SEARCH_TRIGGER}()"):
            conn.execute(
                sa.text(
                    f"CREATE FUNCTION {SEARCH_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                    "BEGIN\n"
                    "    NEW.search_name := rally_fold(NEW.first_name || ' ' || NEW.last_name);\n"
                    "    RETURN NEW;\n"
                    "END $$"
                )
            )

    def trigger(conn: Connection) -> None:
        # CREATE OR REPLACE: a re-run after a kill finds it (brief SHARE ROW EXCLUSIVE).
        conn.execute(
            sa.text(
                f"CREATE OR REPLACE TRIGGER {SEARCH_TRIGGER} BEFORE INSERT OR UPDATE OF "
                f"first_name, last_name ON players FOR EACH ROW EXECUTE FUNCTION "
                f"{SEARCH_TRIGGER}()"
            )
        )

    ctx.tx("head expand: extensions", extensions)
    ctx.tx("head expand: functions", sql_functions)
    ctx.tx("head expand: search_name trigger", trigger)


def constraints_not_valid(ctx: Context) -> None:
    """The check of 0003 and the foreign key of 0004, NOT VALID (enforced for new rows)."""
    present = _constraints(ctx)
    if CLAIM_CHECK not in present:
        ctx.sql(
            f"head expand: add {CLAIM_CHECK} NOT VALID",
            f"ALTER TABLE player_claims ADD CONSTRAINT {CLAIM_CHECK} "
            "CHECK (status IN ('confirmed', 'pending', 'disputed')) NOT VALID",
        )
    if AVAILABILITY_FK not in present:
        # Before any row is linked: a match deleted from now on unlinks its answers.
        statement = (
            f"ALTER TABLE player_availability ADD CONSTRAINT {AVAILABILITY_FK} "
            "FOREIGN KEY(schedule_id) REFERENCES schedule (id) ON DELETE SET NULL NOT VALID"
        )
        ctx.sql(
            f"head expand: add {AVAILABILITY_FK} NOT VALID",
            statement,
            foreign_key_locks("player_availability", "schedule"),
        )


def availability_link(ctx: Context) -> None:
    """The translating trigger links the old application's new answers to their match."""
    split = steps_done(ctx.engine).get("backfill: split", False)
    ctx.tx("head expand: availability link", lambda c: triggers.install_functions(c, split=split))


def availability_unique(ctx: Context) -> None:
    """UNIQUE (player_id, schedule_id) and the schedule_id index, before any row is linked."""
    name = AVAILABILITY_UNIQUE
    if name not in _constraints(ctx):
        build_index(
            ctx,
            name,
            f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON player_availability "
            "(player_id, schedule_id)",
        )
        ctx.sql(
            f"head expand: attach {name}",
            f"ALTER TABLE player_availability ADD CONSTRAINT {name} UNIQUE USING INDEX {name}",
        )
    _index(ctx, "ix_player_availability_schedule_id")


# --- backfill ------------------------------------------------------------------------------


def _day(column: str) -> str:
    return f"({column} AT TIME ZONE 'America/Chicago')::date"


#: 0004's link, one batch: the newest answer of a player's day gets that day's match of the
#: player's team, unless an answer of that player already holds it (one the old application
#: wrote meanwhile, linked by the trigger: newer).
LINK_SQL = f"""
UPDATE player_availability x SET schedule_id = l.sid FROM (
    SELECT a.id, (SELECT min(s.id) FROM players p
                    JOIN schedule s ON s.home_team_id = p.team_id OR s.away_team_id = p.team_id
                   WHERE p.id = a.player_id AND s.match_date = {_day("a.match_date")}) AS sid
      FROM player_availability a
     WHERE a.id > :lo AND a.id <= :hi AND a.schedule_id IS NULL AND a.player_id IS NOT NULL
       AND a.id = (SELECT max(b.id) FROM player_availability b
                    WHERE b.player_id = a.player_id
                      AND {_day("b.match_date")} = {_day("a.match_date")})
) l
WHERE x.id = l.id AND l.sid IS NOT NULL AND x.schedule_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM player_availability c
                   WHERE c.player_id = x.player_id AND c.schedule_id = l.sid)"""

# Rows the trigger has seen hold their value; the others are still NULL (one fold per row).
SEARCH_NAME_SQL = (
    f"UPDATE players SET search_name = {FOLD} WHERE id > :lo AND id <= :hi "
    "AND search_name IS NULL AND first_name IS NOT NULL AND last_name IS NOT NULL"
)


def backfill_search_name(ctx: Context) -> None:
    """players.search_name for the rows written before the trigger, in batches."""
    batched(ctx, "head backfill: players.search_name", "players", "id", SEARCH_NAME_SQL)


#: Before a link batch: the players of the batch, under the lock the translating trigger
#: takes before it links an answer of the old application (players in order: no cycle).
LINK_LOCKS = (
    f"SELECT pg_advisory_xact_lock({triggers.LINK_LOCK}, d.player_id) FROM (SELECT DISTINCT "
    "player_id FROM player_availability WHERE id > :lo AND id <= :hi AND player_id IS NOT NULL "
    "ORDER BY player_id) d"
)


def backfill_schedule_link(ctx: Context) -> None:
    """player_availability.schedule_id as 0004 links it, in batches."""
    batched(ctx, "head backfill: player_availability.schedule_id", "player_availability", "id",
            LINK_SQL, before=LINK_LOCKS)  # fmt: skip


# --- contract ------------------------------------------------------------------------------


def _index(ctx: Context, name: str) -> None:
    table, cols = INDEXES[name]
    build_index(ctx, name, f"CREATE INDEX CONCURRENTLY {name} ON {table} ({cols})")


def indexes(ctx: Context) -> None:
    """The plain indexes of 0005 and 0006 and the GIN trigram index, CONCURRENTLY."""
    for name in INDEXES:
        _index(ctx, name)
    with ctx.engine.connect() as conn:
        trgm = _trgm(conn)
    # fastupdate off, as 0005 builds it.
    build_index(
        ctx,
        SEARCH_INDEX,
        f"CREATE INDEX CONCURRENTLY {SEARCH_INDEX} ON players "
        f"USING gin (search_name {trgm}.gin_trgm_ops) WITH (fastupdate = off)",
    )


def validate(ctx: Context) -> None:
    """VALIDATE the NOT VALID check and foreign key (no write lock)."""
    for table, name in (("player_claims", CLAIM_CHECK), ("player_availability", AVAILABILITY_FK)):
        if not _constraints(ctx).get(name, True):
            ctx.sql(
                f"head contract: validate {name}", f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}"
            )


# --- abort ---------------------------------------------------------------------------------


def drop_prebuilt(conn: Connection) -> None:
    """Drop whatever of 0003-0007 these steps built (idempotent; in abort's transaction)."""
    statements = [
        f"DROP TRIGGER IF EXISTS {SEARCH_TRIGGER} ON players",
        f"DROP FUNCTION IF EXISTS {SEARCH_TRIGGER}()",
        "DROP FUNCTION IF EXISTS rally_name_matches(text, text)",
        f"DROP INDEX IF EXISTS {SEARCH_INDEX}",
        *(f"DROP INDEX IF EXISTS {name}" for name in INDEXES),
        *(f"DROP TABLE IF EXISTS {name}" for name in reversed(NEW_TABLES)),
    ]
    for statement in statements:
        conn.execute(sa.text(statement))
    exists = {
        str(t)
        for t in conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
    }
    if "player_availability" in exists:
        for name in (AVAILABILITY_UNIQUE, AVAILABILITY_FK):
            conn.execute(
                sa.text(f"ALTER TABLE player_availability DROP CONSTRAINT IF EXISTS {name}")
            )
    if "player_claims" in exists:
        conn.execute(sa.text(f"ALTER TABLE player_claims DROP CONSTRAINT IF EXISTS {CLAIM_CHECK}"))
    conn.execute(sa.text(f"DROP INDEX IF EXISTS {AVAILABILITY_UNIQUE}"))
    for table, column, _type, _default in reversed(COLUMNS):
        if table in exists:
            conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {column}"))
    conn.execute(sa.text("DROP FUNCTION IF EXISTS rally_fold(text)"))


STEPS = (
    # (name, phase, what, locks, run)
    ("head expand: columns", "expand", "add " + ", ".join(f"{t}.{c}" for t, c, _, _ in COLUMNS)
     + " (nullable or a constant default: no rewrite)", "brief ACCESS EXCLUSIVE per table",
     add_columns),
    ("head expand: tables", "expand", "create " + ", ".join(NEW_TABLES),
     "brief SHARE ROW EXCLUSIVE on the tables they reference", create_tables),
    ("head expand: functions", "expand", "pg_trgm, unaccent, rally_fold, rally_name_matches; trigger "
     f"{SEARCH_TRIGGER} keeps players.search_name", "brief SHARE ROW EXCLUSIVE on players",
     functions),
    ("head expand: constraints NOT VALID", "expand", f"{CLAIM_CHECK}, {AVAILABILITY_FK} NOT VALID",
     "brief SHARE ROW EXCLUSIVE", constraints_not_valid),
    ("head expand: availability unique", "expand", f"CREATE UNIQUE INDEX CONCURRENTLY "
     f"{AVAILABILITY_UNIQUE}, ADD CONSTRAINT ... USING INDEX; index on schedule_id",
     "brief ACCESS EXCLUSIVE to attach", availability_unique),
    ("head expand: availability link", "expand", "the translating trigger links the old "
     "application's new answers to their match (newest answer wins)", "brief",
     availability_link),
    ("head backfill: players.search_name", "backfill", f"search_name = {FOLD}, in batches",
     "row locks of one batch", backfill_search_name),
    ("head backfill: player_availability.schedule_id", "backfill", "link each player's newest "
     "answer of a day to that day's match of the player's team (0004), in batches",
     "row locks of one batch", backfill_schedule_link),
    ("head contract: indexes", "contract", "CREATE INDEX CONCURRENTLY " + ", ".join([*INDEXES][1:])
     + f", {SEARCH_INDEX} (GIN trigram)", "none that blocks writes", indexes),
    ("head contract: validate", "contract", f"VALIDATE {CLAIM_CHECK}, {AVAILABILITY_FK}",
     "none that blocks writes", validate),
)  # fmt: skip

#: The phase label of these steps in the plan (they run after 0002's contract steps).
PHASE = "{} (revisions 0003-0007, before the window)"
