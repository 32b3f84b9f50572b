"""What a database is, as far as migrations are concerned, and where the revisions live.

Imported by both `rally.db.migrate` (which changes databases) and `rally.db.verify` (which
checks them), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from rally.db import shapes
from rally.errors import RallyError

BASELINE = "0001_legacy_baseline"
LEGACY_MARKER_TABLES = frozenset({"leagues", "series", "series_leagues", "teams", "players"})
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Progress table of `rally db upgrade --online` (rally.legacy.online): while it exists and the
# database is not yet stamped, the database is a legacy one part-way through that upgrade.
ONLINE_TABLE = "rally_online"


class UnknownDatabase(RallyError):
    """The database holds tables that are neither Rally's nor the legacy schema's."""


@dataclass(frozen=True)
class DbState:
    """What a database is, as far as migrations are concerned."""

    kind: str  # "empty", "legacy", "online" (legacy, online upgrade under way), "rally"
    revision: str | None  # Rally revision, when kind == "rally"
    foreign_revision: str | None = None  # an old application's alembic_version, if any
    tables: frozenset[str] = field(default_factory=frozenset)
    # Legacy only: which legacy shape (rally.db.shapes), and tolerated schema differences.
    shape: str | None = None
    deviations: tuple[str, ...] = ()

    @property
    def earlier(self) -> bool:
        """Tell whether an earlier league-isolation attempt left this legacy database."""
        return self.kind == "legacy" and self.shape not in (None, shapes.PRISTINE)

    @property
    def describe(self) -> str:
        """Say in words what the database is."""
        if self.kind == "empty":
            return "empty (no tables)"
        if self.kind == "online":
            return (
                "legacy schema part-way through `rally db upgrade --online` (run it again to "
                "resume, or `rally db upgrade --abort`)"
            )
        if self.kind == "legacy":
            extra = (
                f", old alembic_version {self.foreign_revision!r}" if self.foreign_revision else ""
            )
            what = shapes.DESCRIPTIONS[self.shape or shapes.PRISTINE]
            return f"legacy schema ({what}{extra})"
        return f"Rally revision {self.revision}"


def alembic_config(connection: Connection | None = None) -> Config:
    """Return the Alembic configuration of the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    """Return the revision scripts."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """Return the single head revision id."""
    head = script_directory().get_current_head()
    assert head is not None
    return head


def inspect_state(conn: Connection) -> DbState:
    """Classify the database behind `conn`."""
    inspector = sa.inspect(conn)
    tables = frozenset(inspector.get_table_names())
    version = None
    if "alembic_version" in tables:
        row = conn.execute(sa.text("SELECT version_num FROM alembic_version")).first()
        version = row[0] if row else None
    known = {rev.revision for rev in script_directory().walk_revisions()}
    app_tables = tables - {"alembic_version"}
    if version in known:
        return DbState("rally", version, tables=tables)
    if ONLINE_TABLE in tables:
        return DbState("online", None, foreign_revision=version, tables=tables)
    if not app_tables:
        return DbState("empty", None, foreign_revision=version, tables=tables)
    series_columns = (
        {c["name"] for c in inspector.get_columns("series")} if "series" in tables else set()
    )
    if tables >= LEGACY_MARKER_TABLES and "league_id" not in series_columns:
        return DbState(
            "legacy", None, foreign_revision=version, tables=tables, shape=shapes.PRISTINE
        )
    found = shapes.match(inspector, tables, version)
    if found.shape is not None:
        return DbState(
            "legacy",
            None,
            foreign_revision=version,
            tables=tables,
            shape=found.shape,
            deviations=found.tolerated,
        )
    raise UnknownDatabase(
        "The database is neither empty, a Rally database nor a legacy database in a shape "
        f"Rally knows (alembic_version {version!r}, tables: "
        f"{', '.join(sorted(app_tables)[:8])}{'...' if len(app_tables) > 8 else ''}); "
        f"{found.explain()}. Nothing was changed."
    )
