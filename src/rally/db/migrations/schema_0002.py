"""The schema as revision 0002 creates it, frozen: never edit this for a later model change.

Revision 0002 (`versions/0002_league_isolation.py`) creates these tables on an empty database
and these constraints and indexes on a legacy one. They describe the schema *as of 0002*; a
later change to `rally.models` gets its own revision, and `tests/db/test_migrations.py`
(`alembic check` after upgrading an empty database) fails if models and revisions disagree.

Generated once from the models of 0002 with Alembic's renderer, then frozen. Names are
explicit, so the metadata carries no naming convention.
"""

from __future__ import annotations

import sqlalchemy as sa


def metadata_0002() -> sa.MetaData:
    """Return a new MetaData holding the tables of revision 0002."""
    metadata = sa.MetaData()
    sa.Table(
        "clubs",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("club_address", sa.String(length=500), nullable=True),
        sa.Column("logo_filename", sa.String(length=500), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_clubs"),
        sa.UniqueConstraint("name", name="uq_clubs_name"),
    )
    sa.Table(
        "leagues",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.String(length=255), nullable=False),
        sa.Column("league_name", sa.String(length=255), nullable=False),
        sa.Column("league_url", sa.String(length=512), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_leagues"),
        sa.UniqueConstraint("league_id", name="uq_leagues_league_id"),
    )
    sa.Table(
        "legacy_quarantine",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=255), nullable=False),
        sa.Column("row_id", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("row", sa.JSON(), nullable=False),
        sa.Column(
            "quarantined_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_legacy_quarantine"),
    )
    sa.Table(
        "login_attempts",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("client", sa.String(length=255), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_attempts"),
    )
    sa.Table(
        "club_leagues",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("club_id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(["club_id"], ["clubs.id"], name="fk_club_leagues_club_id_clubs"),
        sa.ForeignKeyConstraint(
            ["league_id"], ["leagues.id"], name="fk_club_leagues_league_id_leagues"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_club_leagues"),
        sa.UniqueConstraint("club_id", "league_id", name="uq_club_leagues_club_id_league_id"),
    )
    sa.Table(
        "series",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(["league_id"], ["leagues.id"], name="fk_series_league_id_leagues"),
        sa.PrimaryKeyConstraint("id", name="pk_series"),
        sa.UniqueConstraint("id", "league_id", name="uq_series_id_league_id"),
        sa.UniqueConstraint("name", "league_id", name="uq_series_name_league_id"),
    )
    sa.Table(
        "users",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=True),
        sa.Column("is_admin", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("league_context", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.Column("last_login", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["league_context"], ["leagues.id"], name="fk_users_league_context_leagues"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    sa.Table(
        "teams",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("club_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column("team_name", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("team_alias", sa.String(length=255), nullable=True),
        sa.Column("external_team_id", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(["club_id"], ["clubs.id"], name="fk_teams_club_id_clubs"),
        sa.ForeignKeyConstraint(["league_id"], ["leagues.id"], name="fk_teams_league_id_leagues"),
        sa.ForeignKeyConstraint(
            ["series_id", "league_id"],
            ["series.id", "series.league_id"],
            name="fk_teams_series_id_league_id_series",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_teams"),
        sa.UniqueConstraint("id", "league_id", name="uq_teams_id_league_id"),
        sa.UniqueConstraint("id", "series_id", "league_id", name="uq_teams_id_series_id_league_id"),
        sa.UniqueConstraint("team_name", "league_id", name="uq_teams_team_name_league_id"),
    )
    sa.Table(
        "user_player_associations",
        metadata,
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tenniscores_player_id", sa.String(length=255), nullable=False),
        sa.Column("is_primary", sa.Boolean(), server_default="false", nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_player_associations_user_id_users"
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "tenniscores_player_id", name="pk_user_player_associations"
        ),
    )
    sa.Table(
        "user_sessions",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_sessions_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_user_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_user_sessions_token_hash"),
    )
    sa.Table(
        "match_scores",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column("match_date", sa.Date(), nullable=True),
        sa.Column("home_team", sa.Text(), nullable=True),
        sa.Column("away_team", sa.Text(), nullable=True),
        sa.Column("home_team_id", sa.Integer(), nullable=True),
        sa.Column("away_team_id", sa.Integer(), nullable=True),
        sa.Column("home_player_1_id", sa.Text(), nullable=True),
        sa.Column("home_player_2_id", sa.Text(), nullable=True),
        sa.Column("away_player_1_id", sa.Text(), nullable=True),
        sa.Column("away_player_2_id", sa.Text(), nullable=True),
        sa.Column("scores", sa.Text(), nullable=True),
        sa.Column("winner", sa.Text(), nullable=True),
        sa.Column("tenniscores_match_id", sa.Text(), nullable=True),
        sa.Column("line", sa.String(length=50), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["away_team_id", "league_id"],
            ["teams.id", "teams.league_id"],
            name="fk_match_scores_away_team_id_league_id_teams",
        ),
        sa.ForeignKeyConstraint(
            ["home_team_id", "league_id"],
            ["teams.id", "teams.league_id"],
            name="fk_match_scores_home_team_id_league_id_teams",
        ),
        sa.ForeignKeyConstraint(
            ["league_id"], ["leagues.id"], name="fk_match_scores_league_id_leagues"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_match_scores"),
        sa.UniqueConstraint(
            "league_id",
            "tenniscores_match_id",
            name="uq_match_scores_league_id_tenniscores_match_id",
        ),
    )
    sa.Table(
        "players",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenniscores_player_id", sa.String(length=255), nullable=False),
        sa.Column("first_name", sa.String(length=255), nullable=False),
        sa.Column("last_name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column("club_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("pti", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("wins", sa.Integer(), server_default="0", nullable=True),
        sa.Column("losses", sa.Integer(), server_default="0", nullable=True),
        sa.Column(
            "win_percentage", sa.Numeric(precision=5, scale=2), server_default="0.00", nullable=True
        ),
        sa.Column("captain_status", sa.String(length=50), nullable=True),
        sa.Column("career_wins", sa.Integer(), server_default="0", nullable=True),
        sa.Column("career_losses", sa.Integer(), server_default="0", nullable=True),
        sa.Column("career_matches", sa.Integer(), server_default="0", nullable=True),
        sa.Column(
            "career_win_percentage",
            sa.Numeric(precision=5, scale=2),
            server_default="0.00",
            nullable=True,
        ),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(["club_id"], ["clubs.id"], name="fk_players_club_id_clubs"),
        sa.ForeignKeyConstraint(["league_id"], ["leagues.id"], name="fk_players_league_id_leagues"),
        sa.ForeignKeyConstraint(
            ["series_id", "league_id"],
            ["series.id", "series.league_id"],
            name="fk_players_series_id_league_id_series",
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "league_id"],
            ["teams.id", "teams.league_id"],
            name="fk_players_team_id_league_id_teams",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_players"),
        sa.UniqueConstraint("id", "league_id", name="uq_players_id_league_id"),
        sa.UniqueConstraint(
            "league_id",
            "tenniscores_player_id",
            "team_id",
            name="uq_players_league_id_tenniscores_player_id_team_id",
        ),
    )
    sa.Table(
        "schedule",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column("match_date", sa.Date(), nullable=True),
        sa.Column("match_time", sa.Time(), nullable=True),
        sa.Column("home_team", sa.Text(), nullable=True),
        sa.Column("away_team", sa.Text(), nullable=True),
        sa.Column("home_team_id", sa.Integer(), nullable=True),
        sa.Column("away_team_id", sa.Integer(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["away_team_id", "league_id"],
            ["teams.id", "teams.league_id"],
            name="fk_schedule_away_team_id_league_id_teams",
        ),
        sa.ForeignKeyConstraint(
            ["home_team_id", "league_id"],
            ["teams.id", "teams.league_id"],
            name="fk_schedule_home_team_id_league_id_teams",
        ),
        sa.ForeignKeyConstraint(
            ["league_id"], ["leagues.id"], name="fk_schedule_league_id_leagues"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_schedule"),
    )
    sa.Table(
        "series_stats",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(length=255), nullable=True),
        sa.Column("team", sa.String(length=255), nullable=True),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("matches_won", sa.Integer(), nullable=True),
        sa.Column("matches_lost", sa.Integer(), nullable=True),
        sa.Column("matches_tied", sa.Integer(), nullable=True),
        sa.Column("lines_won", sa.Integer(), nullable=True),
        sa.Column("lines_lost", sa.Integer(), nullable=True),
        sa.Column("lines_for", sa.Integer(), nullable=True),
        sa.Column("lines_ret", sa.Integer(), nullable=True),
        sa.Column("sets_won", sa.Integer(), nullable=True),
        sa.Column("sets_lost", sa.Integer(), nullable=True),
        sa.Column("games_won", sa.Integer(), nullable=True),
        sa.Column("games_lost", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["league_id"], ["leagues.id"], name="fk_series_stats_league_id_leagues"
        ),
        sa.ForeignKeyConstraint(
            ["series_id", "league_id"],
            ["series.id", "series.league_id"],
            name="fk_series_stats_series_id_league_id_series",
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "league_id"],
            ["teams.id", "teams.league_id"],
            name="fk_series_stats_team_id_league_id_teams",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_series_stats"),
    )
    sa.Table(
        "user_contexts",
        metadata,
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column(
            "last_updated",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "series_id IS NULL OR league_id IS NOT NULL",
            name="ck_user_contexts_series_needs_league",
        ),
        sa.CheckConstraint(
            "team_id IS NULL OR (series_id IS NOT NULL AND league_id IS NOT NULL)",
            name="ck_user_contexts_team_needs_series",
        ),
        sa.ForeignKeyConstraint(
            ["league_id"], ["leagues.id"], name="fk_user_contexts_league_id_leagues"
        ),
        sa.ForeignKeyConstraint(
            ["series_id", "league_id"],
            ["series.id", "series.league_id"],
            name="fk_user_contexts_series_id_league_id_series",
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "series_id", "league_id"],
            ["teams.id", "teams.series_id", "teams.league_id"],
            name="fk_user_contexts_team_id_series_id_league_id_teams",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_contexts_user_id_users"),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_contexts"),
    )
    sa.Table(
        "user_instructions",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_email", sa.String(length=255), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("league_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "(series_id IS NULL AND team_id IS NULL) OR league_id IS NOT NULL",
            name="ck_user_instructions_reference_needs_league",
        ),
        sa.ForeignKeyConstraint(
            ["league_id"], ["leagues.id"], name="fk_user_instructions_league_id_leagues"
        ),
        sa.ForeignKeyConstraint(
            ["series_id", "league_id"],
            ["series.id", "series.league_id"],
            name="fk_user_instructions_series_id_league_id_series",
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "league_id"],
            ["teams.id", "teams.league_id"],
            name="fk_user_instructions_team_id_league_id_teams",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_user_instructions"),
    )
    sa.Table(
        "player_availability",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("player_name", sa.String(length=255), nullable=False),
        sa.Column("player_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("match_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("availability_status", sa.Integer(), server_default="3", nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "availability_status IN (1, 2, 3)",
            name="ck_player_availability_valid_availability_status",
        ),
        sa.ForeignKeyConstraint(
            ["league_id"], ["leagues.id"], name="fk_player_availability_league_id_leagues"
        ),
        sa.ForeignKeyConstraint(
            ["player_id", "league_id"],
            ["players.id", "players.league_id"],
            name="fk_player_availability_player_id_league_id_players",
        ),
        sa.ForeignKeyConstraint(
            ["series_id", "league_id"],
            ["series.id", "series.league_id"],
            name="fk_player_availability_series_id_league_id_series",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_player_availability_user_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_player_availability"),
    )
    sa.Table(
        "player_claims",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("player_id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["league_id"], ["leagues.id"], name="fk_player_claims_league_id_leagues"
        ),
        sa.ForeignKeyConstraint(
            ["player_id", "league_id"],
            ["players.id", "players.league_id"],
            name="fk_player_claims_player_id_league_id_players",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_player_claims_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_player_claims"),
        sa.UniqueConstraint("player_id", name="uq_player_claims_player_id"),
    )
    sa.Table(
        "player_history",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("player_id", sa.Integer(), nullable=True),
        sa.Column("league_id", sa.Integer(), nullable=True),
        sa.Column("series", sa.String(length=255), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("end_pti", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["league_id"], ["leagues.id"], name="fk_player_history_league_id_leagues"
        ),
        sa.ForeignKeyConstraint(
            ["player_id", "league_id"],
            ["players.id", "players.league_id"],
            name="fk_player_history_player_id_league_id_players",
        ),
        sa.ForeignKeyConstraint(
            ["player_id"], ["players.id"], name="fk_player_history_player_id_players"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_player_history"),
    )
    for name, table, columns in (
        ("idx_series_display_name", "series", ("display_name",)),
        ("ix_teams_series_id", "teams", ("series_id",)),
        ("ix_user_sessions_user_id", "user_sessions", ("user_id",)),
        ("ix_match_scores_away_team_id", "match_scores", ("away_team_id",)),
        ("ix_match_scores_home_team_id", "match_scores", ("home_team_id",)),
        ("ix_players_series_id", "players", ("series_id",)),
        ("ix_players_team_id", "players", ("team_id",)),
        ("ix_players_tenniscores_player_id", "players", ("tenniscores_player_id",)),
        ("ix_schedule_away_team_id", "schedule", ("away_team_id",)),
        ("ix_schedule_home_team_id", "schedule", ("home_team_id",)),
        ("idx_series_stats_series_id", "series_stats", ("series_id",)),
        ("ix_player_claims_user_id", "player_claims", ("user_id",)),
        ("ix_legacy_quarantine_table_name_reason", "legacy_quarantine", ("table_name", "reason")),
        ("ix_login_attempts_email_attempted_at", "login_attempts", ("email", "attempted_at")),
    ):
        sa.Index(name, *(metadata.tables[table].c[c] for c in columns))
    return metadata
