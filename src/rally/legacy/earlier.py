"""Undo what an earlier league-isolation attempt left, back to the pristine legacy shape.

The original project's `migrate_series_league_isolation.py --live` gave each series the
league with most players, created ``"<name> (<League Name>)"`` series for the other leagues
and moved only their players and teams there (standings, availability and instructions stayed
put), and swapped ``UNIQUE (name)`` for ``UNIQUE (name, league_id)``. Its Alembic revision
``series_one_league_refactor`` later made the column NOT NULL and dropped ``series_leagues``.
Rows therefore sit on another league's series or on a renamed one.

Rather than teach the upgrade a second set of rules, `normalise` runs first, inside the same
transaction as `rally db upgrade` (and in `rally db plan`'s rolled-back transaction), and
returns the database to the pristine legacy shape: renamed series merged into the series of
their original name (names and display names restored), ``series_leagues`` re-created from
the data where it was dropped, the league column and its constraints dropped, ``UNIQUE
(name)`` restored, the script's ``series_backup_migration`` removed (the upgrade's verified
backup keeps it). The standard path (analysis, resolutions, split, verify before commit) then
decides every row's series by the row's own league, as for a database the script never saw.

A series is taken for one the script renamed when its name ends in ``" (<league_name>)"`` for
a league in ``leagues`` and, when the script's backup table is there, its id is not in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from rally.db import shapes
from rally.db.migrations.legacy_ddl import statements
from rally.db.state import DbState
from rally.errors import RallyError
from rally.legacy.analysis import SERIES_REFERENCES

SAMPLES = 10

# The league each series-referencing row belongs to by its own data (as the upgrade decides).
_ROW_LEAGUE = {
    "teams": ("teams x", "x.league_id"),
    "players": ("players x", "x.league_id"),
    "series_stats": (
        "series_stats x LEFT JOIN teams t ON t.id = x.team_id",
        "COALESCE(x.league_id, t.league_id)",
    ),
    "player_availability": (
        "player_availability x LEFT JOIN players p ON p.id = x.player_id "
        "LEFT JOIN user_contexts c ON c.user_id = x.user_id LEFT JOIN teams ct ON ct.id = c.team_id",
        "COALESCE(p.league_id, ct.league_id, c.league_id)",
    ),
    "user_instructions": (
        "user_instructions x LEFT JOIN teams t ON t.id = x.team_id",
        "t.league_id",
    ),
}


class EarlierShapeConflict(RallyError):
    """The earlier shape cannot be brought back to the legacy shape; the message says why."""


@dataclass
class EarlierReport:
    """What normalising an earlier shape finds and does (for the plan and the log)."""

    shape: str
    description: str
    rows_checked: int = 0
    rows_misplaced: int = 0
    rows_on_other_league: int = 0
    rows_on_renamed: int = 0
    renamed_series: list[dict[str, Any]] = field(default_factory=list)
    renamed_count: int = 0
    merged: int = 0
    renamed_back: int = 0
    repointed: dict[str, int] = field(default_factory=dict)
    series_leagues: str = ""
    schema: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return asdict(self)

    def lines(self) -> list[str]:
        """The report as lines of text."""
        out = [
            f"earlier shape: {self.shape} ({self.description})",
            f"  {self.rows_misplaced} of {self.rows_checked} checked rows sit on another "
            f"league's series ({self.rows_on_other_league}) or on a renamed one "
            f"({self.rows_on_renamed})",
            f"  {self.renamed_count} series renamed by the earlier script: {self.merged} merged "
            f"back into the series of their original name, {self.renamed_back} renamed back",
        ]
        out += [
            f"      {r['name']!r} -> {r['restored']!r} ({r['action']})" for r in self.renamed_series
        ]
        if self.renamed_count > len(self.renamed_series):
            out.append(f"      ... and {self.renamed_count - len(self.renamed_series)} more")
        moved = ", ".join(f"{t} {n}" for t, n in self.repointed.items() if n) or "none"
        out.append(f"  rows re-pointed to the series of their original name: {moved}")
        out.append(f"  series_leagues: {self.series_leagues}")
        out += [f"  schema: {s}" for s in self.schema]
        out += [f"  leftover: {s}" for s in self.leftovers]
        out += [f"  tolerated difference: {d}" for d in self.deviations]
        out.append(
            "  then, as for a pristine legacy database, every row's own league decides its series"
        )
        return out


def _run(bind: sa.Connection, sql: str, **params: object) -> int:
    return int(bind.execute(sa.text(sql), params).rowcount or 0)


def _columns(bind: sa.Connection, table: str) -> set[str]:
    return set(
        bind.execute(
            sa.text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = :t"
            ),
            {"t": table},
        ).scalars()
    )


def _classify_series(bind: sa.Connection, state: DbState) -> None:
    """Create _rally_earlier: every series row, its original name and the row it merges into."""
    backup = shapes.SCRIPT_BACKUP_TABLE
    has_backup = backup in state.tables and "id" in _columns(bind, backup)
    in_backup = f"EXISTS (SELECT 1 FROM {backup} b WHERE b.id = x.id)" if has_backup else "false"
    bind.execute(
        sa.text(
            f"""
            CREATE TEMP TABLE _rally_earlier ON COMMIT DROP AS
            WITH suffixed AS (
                SELECT s.id, s.name, s.display_name, s.league_id,
                       (SELECT l.league_name FROM leagues l
                        WHERE length(s.name) > length(l.league_name) + 3
                          AND right(s.name, length(l.league_name) + 3)
                              = ' (' || l.league_name || ')'
                        ORDER BY l.id = s.league_id DESC, length(l.league_name) DESC, l.id
                        LIMIT 1) AS suffix
                FROM series s
            ), named AS (
                SELECT x.*, {in_backup} AS original,
                       x.suffix IS NOT NULL AND NOT {in_backup} AS renamed
                FROM suffixed x
            ), based AS (
                SELECT n.*, CASE WHEN n.renamed
                    THEN left(n.name, length(n.name) - length(n.suffix) - 3)
                    ELSE n.name END AS base
                FROM named n
            )
            SELECT b.*, FIRST_VALUE(b.id) OVER (
                PARTITION BY b.base ORDER BY b.original DESC, b.renamed, b.id) AS keep_id
            FROM based b
            """
        )
    )
    bind.execute(sa.text("CREATE UNIQUE INDEX ON _rally_earlier (id)"))


def _count_misplaced(bind: sa.Connection, report: EarlierReport) -> None:
    for table in SERIES_REFERENCES:
        source, league = _ROW_LEAGUE[table]
        checked, other, renamed, either = bind.execute(
            sa.text(
                f"SELECT COUNT(*), "
                f"COUNT(*) FILTER (WHERE s.league_id <> {league}), "
                f"COUNT(*) FILTER (WHERE e.renamed), "
                f"COUNT(*) FILTER (WHERE s.league_id <> {league} OR e.renamed) "
                f"FROM {source} JOIN series s ON s.id = x.series_id "
                f"JOIN _rally_earlier e ON e.id = s.id WHERE {league} IS NOT NULL"
            )
        ).one()
        report.rows_checked += int(checked)
        report.rows_on_other_league += int(other)
        report.rows_on_renamed += int(renamed)
        report.rows_misplaced += int(either)


def _describe_renamed(bind: sa.Connection, report: EarlierReport) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT e.name, e.base, e.keep_id <> e.id AS merged, k.name AS keeper "
            "FROM _rally_earlier e JOIN _rally_earlier k ON k.id = e.keep_id "
            "WHERE e.renamed ORDER BY e.base, e.name"
        )
    ).all()
    report.renamed_count = len(rows)
    report.merged = int(
        bind.execute(
            sa.text("SELECT COUNT(*) FROM _rally_earlier WHERE keep_id <> id")
        ).scalar_one()
    )
    report.renamed_back = sum(1 for r in rows if not r.merged)
    report.renamed_series = [
        {
            "name": r.name,
            "restored": r.base,
            "action": f"merged into series {r.keeper!r}" if r.merged else "renamed back",
        }
        for r in rows[:SAMPLES]
    ]


def _relink_series_leagues(bind: sa.Connection, state: DbState, report: EarlierReport) -> None:
    """Point series_leagues at the merged rows, or re-create it from the data."""
    pairs = (
        "SELECT e.keep_id AS series_id, e.league_id FROM _rally_earlier e "
        "WHERE e.league_id IS NOT NULL"
    )
    if "series_leagues" in state.tables:
        pairs += (
            " UNION SELECT e.keep_id, x.league_id FROM series_leagues x "
            "JOIN _rally_earlier e ON e.id = x.series_id WHERE e.keep_id <> e.id"
        )
        how = "kept; links of merged series moved to the series they merge into"
    else:
        create = next(s for s in statements("postgresql") if "TABLE series_leagues " in s)
        bind.execute(sa.text(create))
        for table in ("teams", "players", "series_stats"):
            pairs += (
                f" UNION SELECT e.keep_id, x.league_id FROM {table} x "
                "JOIN _rally_earlier e ON e.id = x.series_id WHERE x.league_id IS NOT NULL"
            )
        how = "re-created (the revision dropped it) from series.league_id and the rows' leagues"
    added = _run(
        bind,
        f"INSERT INTO series_leagues (series_id, league_id) SELECT DISTINCT p.series_id, "
        f"p.league_id FROM ({pairs}) p WHERE NOT EXISTS (SELECT 1 FROM series_leagues y "
        "WHERE y.series_id = p.series_id AND y.league_id = p.league_id) "
        "ORDER BY p.series_id, p.league_id",
    )
    removed = _run(
        bind,
        "DELETE FROM series_leagues x USING _rally_earlier e "
        "WHERE e.id = x.series_id AND e.keep_id <> e.id",
    )
    report.series_leagues = f"{how}: {added} links added, {removed} removed"


def normalise(
    bind: sa.Connection, state: DbState, log: Callable[[str], None] | None = None
) -> EarlierReport:
    """Return an earlier shape to the pristine legacy shape, in the caller's transaction."""
    assert state.shape is not None
    if bind.dialect.name != "postgresql":
        raise EarlierShapeConflict("Legacy databases are upgraded on PostgreSQL only.")
    report = EarlierReport(
        state.shape, shapes.DESCRIPTIONS[state.shape], deviations=list(state.deviations)
    )
    say = log or (lambda _message: None)
    try:
        _classify_series(bind, state)
        _count_misplaced(bind, report)
        _describe_renamed(bind, report)
        for table in SERIES_REFERENCES:
            report.repointed[table] = _run(
                bind,
                f"UPDATE {table} x SET series_id = e.keep_id FROM _rally_earlier e "
                "WHERE e.id = x.series_id AND e.keep_id <> e.id",
            )
        _relink_series_leagues(bind, state, report)
        _run(
            bind,
            "DELETE FROM series s USING _rally_earlier e WHERE e.id = s.id AND e.keep_id <> e.id",
        )
        _run(
            bind,
            "UPDATE series s SET name = e.base, display_name = CASE "
            "WHEN right(s.display_name, length(e.suffix) + 3) = ' (' || e.suffix || ')' "
            "THEN left(s.display_name, length(s.display_name) - length(e.suffix) - 3) "
            "ELSE s.display_name END FROM _rally_earlier e WHERE e.id = s.id AND e.renamed",
        )
        # Dropping the column drops the constraints and indexes on it (the script's and the
        # revision's, whatever their names).
        bind.execute(sa.text("ALTER TABLE series DROP COLUMN league_id"))
        report.schema.append(
            "drop series.league_id with its foreign key, UNIQUE (name, league_id) and index"
        )
        if not _has_name_unique(bind):
            bind.execute(sa.text("ALTER TABLE series ADD CONSTRAINT series_name_key UNIQUE (name)"))
            report.schema.append("restore series_name_key UNIQUE (name)")
        if shapes.SCRIPT_BACKUP_TABLE in state.tables:
            rows = bind.execute(
                sa.text(f"SELECT COUNT(*) FROM {shapes.SCRIPT_BACKUP_TABLE}")
            ).scalar_one()
            bind.execute(sa.text(f"DROP TABLE {shapes.SCRIPT_BACKUP_TABLE}"))
            report.leftovers.append(
                f"remove table {shapes.SCRIPT_BACKUP_TABLE} ({rows} rows: the series table "
                "before the earlier script; the upgrade's verified backup keeps it)"
            )
    except DBAPIError as exc:
        taken = ", ".join(repr(r["name"]) for r in report.renamed_series)
        raise EarlierShapeConflict(
            f"Cannot undo what the earlier script left ({state.shape}): "
            f"{str(exc.orig).strip().splitlines()[0]}, while merging the series taken for "
            f"renamed ones ({taken or 'none'}) back into the series of their original name. "
            "If one of them is a real series name, bring back the script's "
            f"{shapes.SCRIPT_BACKUP_TABLE} table (it tells them apart). Nothing was changed."
        ) from exc
    for line in report.lines():
        say(line)
    return report


def _has_name_unique(bind: sa.Connection) -> bool:
    return bool(
        bind.execute(
            sa.text(
                "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class r ON r.oid = i.indrelid "
                "JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = i.indkey[0] "
                "WHERE r.relname = 'series' AND r.relnamespace = 'public'::regnamespace "
                "AND i.indisunique AND i.indnatts = 1 AND a.attname = 'name')"
            )
        ).scalar_one()
    )
