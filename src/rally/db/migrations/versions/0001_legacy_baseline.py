"""Baseline: the legacy production schema, exactly as production runs it.

A database that already has these tables (a live legacy deployment) is stamped at this
revision by `rally db upgrade` instead of running it; an empty database runs it so that every
database follows the same path to head.

Revision ID: 0001_legacy_baseline
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

from rally.db.migrations.legacy_ddl import LEGACY_TABLES, statements

revision = "0001_legacy_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for table in LEGACY_TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table}")
