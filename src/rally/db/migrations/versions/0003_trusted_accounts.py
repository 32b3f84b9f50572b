"""Trusted accounts: verified e-mail, disabled users, reviewed claims, disputes, captains, audit.

Self-contained: the columns and tables as of this revision, never the live models. Existing
claims become `confirmed` (they were made under the previous rules, which the operator can
review with `rally admin claims`).

Revision ID: 0003_trusted_accounts
Revises: 0002_league_isolation
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_trusted_accounts"
down_revision = "0002_league_isolation"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_verified_at", _tz(), nullable=True))
        batch.add_column(sa.Column("disabled_at", _tz(), nullable=True))
    with op.batch_alter_table("user_sessions") as batch:
        batch.add_column(sa.Column("client", sa.String(255), nullable=True))
    with op.batch_alter_table("player_claims") as batch:
        batch.add_column(
            sa.Column("status", sa.String(16), server_default="confirmed", nullable=False)
        )
        batch.add_column(sa.Column("decided_by", sa.String(255), nullable=True))
        batch.add_column(sa.Column("decided_at", _tz(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_player_claims_status"), "status IN ('confirmed', 'pending', 'disputed')"
        )
    now = sa.func.current_timestamp()
    op.create_table(
        "team_captains",
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
    )
    op.create_index("ix_team_captains_team_id", "team_captains", ["team_id"])
    op.create_table(
        "claim_disputes",
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
            "state IN ('open', 'upheld', 'rejected', 'withdrawn')",
            name=op.f("ck_claim_disputes_state"),
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
    )
    op.create_index("ix_claim_disputes_player_id", "claim_disputes", ["player_id"])
    op.create_index("ix_claim_disputes_disputant_id", "claim_disputes", ["disputant_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _tz(), server_default=now, nullable=True),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_claim_disputes_disputant_id", table_name="claim_disputes")
    op.drop_index("ix_claim_disputes_player_id", table_name="claim_disputes")
    op.drop_table("claim_disputes")
    op.drop_index("ix_team_captains_team_id", table_name="team_captains")
    op.drop_table("team_captains")
    with op.batch_alter_table("player_claims") as batch:
        batch.drop_constraint(op.f("ck_player_claims_status"), type_="check")
        batch.drop_column("decided_at")
        batch.drop_column("decided_by")
        batch.drop_column("status")
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_column("client")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled_at")
        batch.drop_column("email_verified_at")
