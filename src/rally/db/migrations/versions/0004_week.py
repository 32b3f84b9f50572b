"""Availability per match, and secret calendar feeds.

- ``player_availability.schedule_id``: the match an answer is for, so an answer follows a
  match that a re-import moves to another date; ``UNIQUE (player_id, schedule_id)`` (one
  answer per player row, hence per team, and match). Legacy rows only carry a date: each is
  linked to its player's team's match of that day (in the leagues' time zone,
  America/Chicago); when a player has several rows for one day the newest is linked and the
  others stay as they were (nothing is deleted).
- ``calendar_feeds``: a user's revocable feed URLs (one team, or all their teams); only a
  random salt is stored, the token is an HMAC of it under the server's secret key.

Self-contained: no import of rally.models or application code.

Revision ID: 0004_week
Revises: 0003_trusted_accounts
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_week"
down_revision = "0003_trusted_accounts"
branch_labels = None
depends_on = None


def _day(column: str) -> str:
    # The calendar day of a legacy timestamp, in the leagues' time zone.
    if op.get_bind().dialect.name == "postgresql":
        return f"({column} AT TIME ZONE 'America/Chicago')::date"
    return f"date({column})"


def upgrade() -> None:
    with op.batch_alter_table("player_availability") as batch:
        batch.add_column(sa.Column("schedule_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_player_availability_schedule_id_schedule",
            "schedule",
            ["schedule_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_unique_constraint(
            "uq_player_availability_player_id_schedule_id", ["player_id", "schedule_id"]
        )
        batch.create_index("ix_player_availability_schedule_id", ["schedule_id"])
    a_day, b_day = _day("player_availability.match_date"), _day("b.match_date")
    # The newest row of each player and day, as one set computed once: a correlated
    # "id = (SELECT max(id) ... same player and day)" was planned as a scan of the table per
    # row (player_availability has no index led by player_id yet), hours at scale 100.
    op.execute(
        f"""
        UPDATE player_availability SET schedule_id = (
            SELECT min(s.id) FROM players p
              JOIN schedule s ON s.home_team_id = p.team_id OR s.away_team_id = p.team_id
             WHERE p.id = player_availability.player_id AND s.match_date = {a_day})
         WHERE schedule_id IS NULL AND player_id IS NOT NULL
           AND id IN (SELECT max(b.id) FROM player_availability b
                       GROUP BY b.player_id, {b_day})
        """
    )
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name="fk_calendar_feeds_team_id_teams",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_calendar_feeds_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_calendar_feeds"),
    )
    op.create_index("ix_calendar_feeds_user_id", "calendar_feeds", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_calendar_feeds_user_id", table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
    with op.batch_alter_table("player_availability") as batch:
        batch.drop_index("ix_player_availability_schedule_id")
        batch.drop_constraint("uq_player_availability_player_id_schedule_id", type_="unique")
        batch.drop_constraint("fk_player_availability_schedule_id_schedule", type_="foreignkey")
        batch.drop_column("schedule_id")
