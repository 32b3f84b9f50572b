"""Importer: computed standings flag, fingerprints of imported files.

- ``series_stats.computed``: the row was computed from match results because the scraped
  standings of its series were missing or unusable.
- ``ix_player_history_player_id_date``: the importer reads each player's latest PTI point.
- ``import_files``: per league, the files (by SHA-256) its last successful import loaded, so
  a re-import of unchanged input is recognised and skipped.

Self-contained: definitions as of this revision, no import of rally.models.

Revision ID: 0006_import_guards
Revises: 0005_player_pages
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_import_guards"
down_revision = "0005_player_pages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("series_stats") as batch:
        batch.add_column(
            sa.Column("computed", sa.Boolean(), server_default="false", nullable=False)
        )
    op.create_table(
        "import_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("league_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("file_leagues", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("importer_version", sa.String(50), nullable=False),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["league_id"],
            ["leagues.id"],
            name="fk_import_files_league_id_leagues",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_import_files"),
        sa.UniqueConstraint("league_id", "sha256", name="uq_import_files_league_id_sha256"),
    )

    op.create_index("ix_player_history_player_id_date", "player_history", ["player_id", "date"])


def downgrade() -> None:
    op.drop_index("ix_player_history_player_id_date", table_name="player_history")
    op.drop_table("import_files")
    with op.batch_alter_table("series_stats") as batch:
        batch.drop_column("computed")
