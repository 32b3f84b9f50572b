"""Data steps of revision 0002: split shared series per league, re-point rows; and back.

Both run inside the one transaction `rally db upgrade` / `rally db downgrade` opens, as a few
set-based statements (no per-row loops). The caller may hand over, through ``bind.info``:

- ``"rally.log"``: a callable that receives one line per step;
- ``"rally.assign_unknown"``: the league key given by ``--assign-unknown``;
- ``"rally.resolve"``: true when the operator gave ``--resolve`` (apply the resolutions);
- ``"rally.after_repoint"``: a callable run after every row is re-pointed, still inside the
  transaction (the kill test injects a pause there to kill -9 an upgrade mid-way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rally.errors import RallyError
from rally.legacy import headcheck, quarantine, shape
from rally.legacy import resolve as resolve_mod
from rally.legacy.analysis import (
    LEAGUE_FILL_TABLES,
    SERIES_REFERENCES,
    Analysis,
    analyse,
    league_fill_sql,
    league_id_for,
    resolved_sql,
    split_sql,
)
from rally.legacy.extra import (
    DURING_0002,
    ExtraTable,
    blocking_foreign_keys,
    discover,
    name_collisions,
    series_refs,
)
from rally.legacy.headcheck import Violation
from rally.legacy.resolve import Resolution
from rally.legacy.shape import LegacyShapeConflict

__all__ = [
    "LegacyDataBlocked",
    "LegacyDataUnsupported",
    "LegacyShapeConflict",
    "carry",
    "isolate",
    "merge_back",
]

LOG_KEY = "rally.log"
ASSIGN_KEY = "rally.assign_unknown"
AFTER_REPOINT_KEY = "rally.after_repoint"
RESOLVE_KEY = "rally.resolve"

# Tables, columns and NOT NULLs revision 0002 adds (its own frozen copy is in the revision);
# a downgrade drops them. Listed here too for the plan, which never imports a revision.
KEPT_TABLES = (
    "leagues",
    "clubs",
    "club_leagues",
    "series",
    "teams",
    "players",
    "users",
    "user_player_associations",
    "user_contexts",
    "series_stats",
    "schedule",
    "match_scores",
    "player_history",
    "player_availability",
    "user_instructions",
)
NOW_NOT_NULL = (
    ("series", "league_id"),
    ("series_stats", "league_id"),
    ("schedule", "league_id"),
    ("match_scores", "league_id"),
    ("player_availability", "league_id"),
)
NEW_TABLES = ("player_claims", "user_sessions", "login_attempts", "legacy_quarantine")
# Columns revision 0002 adds; a downgrade drops them.
NEW_COLUMNS = (
    ("series", "league_id"),
    ("user_contexts", "series_id"),
    ("player_availability", "league_id"),
    ("user_instructions", "league_id"),
    ("match_scores", "line"),
)


class LegacyDataUnsupported(RallyError):
    """The database holds data this revision cannot carry."""


class LegacyDataBlocked(RallyError):
    """Rows of the legacy database prevent the upgrade; the message names them."""


def _logger(bind: sa.Connection) -> Callable[[str], None]:
    log = bind.info.get(LOG_KEY)
    return log if callable(log) else (lambda _message: None)


def _run(bind: sa.Connection, sql: str, **params: object) -> int:
    return int(bind.execute(sa.text(sql), params).rowcount or 0)


def _insert_split_rows(bind: sa.Connection) -> int:
    """Insert one series row per league beyond the keeper; ids taken without nextval.

    nextval is not rolled back; ALTER SEQUENCE ... RESTART is. Taking ids past both the
    sequence and MAX(id), then restarting the sequence after them, means a rolled-back or
    killed upgrade leaves the sequence exactly as it was.
    """
    sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence('series', 'id')")).scalar_one()
    top = bind.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM series")).scalar_one()
    start = int(top) + 1
    if sequence is not None:  # None: the plan's temporary copy, which has no sequence
        last, called = bind.execute(sa.text(f"SELECT last_value, is_called FROM {sequence}")).one()
        start = max(start, int(last) + 1 if called else int(last))
    created = _run(
        bind,
        "INSERT INTO series (id, name, display_name, league_id, updated_at) "
        "SELECT :start - 1 + ROW_NUMBER() OVER "
        '(ORDER BY s.id, l.league_id COLLATE "C"), '
        "s.name, s.display_name, x.league_id, s.updated_at FROM _rally_split x "
        "JOIN series s ON s.id = x.series_id JOIN leagues l ON l.id = x.league_id "
        "WHERE NOT x.keeps",
        start=start,
    )
    if created and sequence is not None:
        bind.execute(sa.text(f"ALTER SEQUENCE {sequence} RESTART WITH {start + created}"))
    return created


@dataclass
class Outcome:
    """What the data step found and did (the plan shows it; the upgrade logs it)."""

    extras: list[ExtraTable]
    resolutions: list[Resolution]
    analysis: Analysis
    violations: list[Violation]


def refusal(resolutions: list[dict[str, Any]]) -> str:
    """The sentence refusing damaged data without --resolve (`Resolution.as_dict` entries)."""
    kinds = "; ".join(f"{r['count']} {r['table']} rows: {r['kind']}" for r in resolutions[:8])
    more = f"; and {len(resolutions) - 8} more kinds" if len(resolutions) > 8 else ""
    return (
        f"Cannot upgrade: the legacy data is damaged ({kinds}{more}). `rally db plan` shows "
        "each resolution with sample rows; `rally db upgrade --resolve` applies exactly "
        "those, copying every changed or deleted row into legacy_quarantine first. "
        "Nothing was changed."
    )


def blocked(violations: list[Violation]) -> str:
    """The sentence refusing data no rule resolves."""
    return (
        "Cannot upgrade: the head schema would refuse rows that no resolution covers: "
        + "; ".join(v.sentence() for v in violations)
        + ". Nothing was changed; `rally db plan` lists them."
    )


def carry(
    bind: sa.Connection,
    *,
    assign_unknown: str | None = None,
    resolve: bool = False,
    strict: bool = True,
    target: str = quarantine.TABLE,
    log: Callable[[str], None] = lambda _m: None,
    after_repoint: Callable[[], None] | None = None,
) -> Outcome:
    """Resolve damage, split shared series per league, re-point every reference, check head.

    With `strict` (the upgrade), refuses (LegacyDataBlocked, the caller rolls back) damaged
    data without `resolve`, and anything the head constraints would still refuse; without it
    (the plan's dry run on copies) it returns what it found instead.
    """
    extras = discover(bind, known=DURING_0002)
    # legacy_quarantine: revision 0002 has just created it (a legacy one would have failed).
    cannot_keep = [
        *name_collisions(bind, created=frozenset({quarantine.TABLE})),
        *blocking_foreign_keys(bind),
    ]
    if strict and cannot_keep:
        raise LegacyDataBlocked(
            "Cannot upgrade: " + "; ".join(cannot_keep) + ". Nothing was changed."
        )
    assign = league_id_for(bind, assign_unknown)
    resolutions = resolve_mod.run(
        bind, extras=extras, assign=assign, target=target, log=log, strict=strict
    )
    if strict and resolutions and not resolve:
        raise LegacyDataBlocked(refusal([r.as_dict() for r in resolutions]))
    analysis = analyse(bind, assign_unknown=assign_unknown, extras=extras)
    if strict and analysis.blockers:
        raise LegacyDataBlocked(
            "Cannot upgrade: " + "; ".join(analysis.blockers) + ". Nothing was changed."
        )
    _split(bind, analysis, assign, extras, log)
    if callable(after_repoint):
        after_repoint()
    # Fresh statistics after the mass updates: the checks' anti-joins plan well only then.
    for table in (*KEPT_TABLES, *(t.name for t in extras)):
        bind.execute(sa.text(f'ANALYZE "{table}"'))
    violations = headcheck.violations(bind, extras)
    if strict and violations:
        raise LegacyDataBlocked(blocked(violations))
    return Outcome(extras, resolutions, analysis, violations)


def isolate(bind: sa.Connection) -> None:
    """Revision 0002's data step: `carry` with the options `rally db upgrade` handed over."""
    carry(
        bind,
        assign_unknown=bind.info.get(ASSIGN_KEY),
        resolve=bool(bind.info.get(RESOLVE_KEY)),
        log=_logger(bind),
        after_repoint=bind.info.get(AFTER_REPOINT_KEY),
    )


def _split(
    bind: sa.Connection,
    analysis: Analysis,
    assign: int | None,
    extras: list[ExtraTable],
    log: Callable[[str], None],
) -> None:
    """Give every series a league and re-point referencing rows to their league's series."""
    log(
        f"series: {analysis.series_total} legacy rows, {len(analysis.spanning)} shared by "
        f"several leagues -> {analysis.series_created} new rows, "
        f"{len(analysis.series_unused)} unused"
    )
    bind.execute(
        sa.text(f"CREATE TEMP TABLE _rally_uses ON COMMIT DROP AS {resolved_sql(extras)}"),
        {"assign": assign},
    )
    bind.execute(
        sa.text(f"CREATE TEMP TABLE _rally_split ON COMMIT DROP AS {split_sql(extras)}"),
        {"assign": assign},
    )
    _run(
        bind,
        "UPDATE series s SET league_id = x.league_id FROM _rally_split x "
        "WHERE x.series_id = s.id AND x.keeps",
    )
    created = _insert_split_rows(bind)
    log(f"split shared series: {created} per-league rows created (same name, display_name kept)")
    bind.execute(
        sa.text(
            "CREATE TEMP TABLE _rally_map ON COMMIT DROP AS "
            "SELECT x.series_id AS old_id, x.league_id, n.id AS new_id FROM _rally_split x "
            "JOIN series o ON o.id = x.series_id "
            "JOIN series n ON n.name = o.name AND n.league_id = x.league_id"
        )
    )
    bind.execute(sa.text("CREATE INDEX ON _rally_uses (tbl, row_id)"))
    bind.execute(sa.text("ANALYZE _rally_uses"))
    repoint = (
        "UPDATE {tbl} x SET series_id = m.new_id{extra} FROM _rally_uses u "
        "JOIN _rally_map m ON m.old_id = u.series_id AND m.league_id = u.league_id "
        "WHERE u.tbl = '{tbl}' AND x.id = u.row_id{where}"
    )
    for tbl in SERIES_REFERENCES:
        if tbl in ("teams", "players"):
            sql = repoint.format(tbl=tbl, extra="", where=" AND x.series_id <> m.new_id")
            log(f"re-pointed {tbl}: {_run(bind, sql)} rows")
        else:
            sql = repoint.format(tbl=tbl, extra=", league_id = u.league_id", where="")
            moved = analysis.repoint[tbl]
            log(f"re-pointed {tbl}: {moved} rows; league_id set on {_run(bind, sql)} rows")
    for tbl in LEAGUE_FILL_TABLES:
        filled = _run(
            bind,
            f"UPDATE {tbl} x SET league_id = COALESCE(f.league_id, CAST(:assign AS integer)) "
            f"FROM ({league_fill_sql(tbl)}) f WHERE f.row_id = x.id AND x.league_id IS NULL",
            assign=assign,
        )
        log(f"league filled in {tbl}: {filled} rows")
    _run(
        bind,
        "UPDATE user_instructions x SET league_id = t.league_id FROM teams t "
        "WHERE t.id = x.team_id AND x.series_id IS NULL",
    )
    _run(
        bind,
        "UPDATE player_history x SET league_id = p.league_id FROM players p "
        "WHERE p.id = x.player_id AND x.league_id IS NULL",
    )
    contexts = _run(
        bind,
        "UPDATE user_contexts x SET series_id = t.series_id, league_id = t.league_id "
        "FROM teams t WHERE t.id = x.team_id",
    )
    log(f"user contexts: series_id backfilled from their team on {contexts} rows")
    for table, ref in series_refs(extras):
        # The row's own league (its league, team or player), else --assign-unknown's: the
        # league the analysis counted the row for (`uses_cte`), on a series that is split.
        own = table.league_inline("x")
        league = f"COALESCE({own}, CAST(:assign AS integer))" if own else "CAST(:assign AS integer)"
        moved = _run(
            bind,
            f"UPDATE {table.name} x SET {ref.column} = m.new_id FROM _rally_map m "
            f"WHERE m.old_id = x.{ref.column} AND m.league_id = {league} "
            f"AND m.new_id <> x.{ref.column}",
            assign=assign,
        )
        log(f"re-pointed {table.name}.{ref.column} (a table Rally does not know): {moved} rows")


def _check_extra_uniques_fit(bind: sa.Connection, extras: list[ExtraTable]) -> None:
    """Refuse, by name, a merge of series that would break a unique constraint of a table
    Rally does not know (e.g. one note per series, written for each league's series)."""
    problems = []
    for table in extras:
        series_cols = {r.column for r in table.refs if r.target == "series"}
        for name, cols in table.uniques:
            if not series_cols & set(cols):
                continue
            merged = ", ".join(
                f"COALESCE(m_{c}.keep_id, x.{c})" if c in series_cols else f"x.{c}" for c in cols
            )
            joins = " ".join(
                f"LEFT JOIN _rally_merge m_{c} ON m_{c}.old_id = x.{c}"
                for c in cols
                if c in series_cols
            )
            not_null = " AND ".join(f"x.{c} IS NOT NULL" for c in cols)
            groups = bind.execute(
                sa.text(
                    f"SELECT COUNT(*), CAST(ROW({merged}) AS text) FROM {table.name} x {joins} "
                    f"WHERE {not_null} GROUP BY {merged} HAVING COUNT(*) > 1 "
                    f"ORDER BY 2 LIMIT 5"
                )
            ).all()
            problems += [
                f"{n} {table.name} rows would share ({', '.join(cols)}) = {key} "
                f"(its constraint {name})"
                for n, key in groups
            ]
    if problems:
        raise LegacyShapeConflict(
            "Cannot return to the legacy schema: merging each name's per-league series back "
            "into one would break a unique constraint of a table Rally does not know: "
            + "; ".join(problems)
            + ". Nothing was changed; remove or merge these rows first, or restore the "
            "pre-upgrade backup instead."
        )


def merge_back(bind: sa.Connection) -> None:
    """Return an isolated database to the exact legacy shape, refusing data that cannot fit."""
    log = _logger(bind)
    legacy = shape.legacy_shape(bind)
    extras = discover(bind, count_rows=False)
    saved = quarantine.save(bind)
    log(f"quarantine: {saved} rows to put back once the tables have their legacy shape")
    claims = _run(
        bind,
        "INSERT INTO user_player_associations (user_id, tenniscores_player_id) "
        "SELECT DISTINCT c.user_id, p.tenniscores_player_id FROM player_claims c "
        "JOIN players p ON p.id = c.player_id ON CONFLICT DO NOTHING",
    )
    log(f"player claims kept as user_player_associations: {claims} new rows")
    for table in NEW_TABLES:
        bind.execute(sa.text(f"DROP TABLE {table}"))
    dropped = shape.drop_constraints_and_indexes(
        bind, keep_indexes=legacy.index_names, tables=KEPT_TABLES
    )
    log(f"dropped {dropped} head constraints and indexes")
    bind.execute(
        sa.text(
            "CREATE TEMP TABLE _rally_merge ON COMMIT DROP AS SELECT id AS old_id, league_id, "
            "MIN(id) OVER (PARTITION BY name) AS keep_id FROM series"
        )
    )
    for tbl in SERIES_REFERENCES:
        moved = _run(
            bind,
            f"UPDATE {tbl} x SET series_id = m.keep_id FROM _rally_merge m "
            "WHERE m.old_id = x.series_id AND m.keep_id <> m.old_id",
        )
        log(f"re-pointed {tbl} to the merged series: {moved} rows")
    _check_extra_uniques_fit(bind, extras)
    for extra_table, ref in series_refs(extras):
        moved = _run(
            bind,
            f"UPDATE {extra_table.name} x SET {ref.column} = m.keep_id FROM _rally_merge m "
            f"WHERE m.old_id = x.{ref.column} AND m.keep_id <> m.old_id",
        )
        log(f"re-pointed {extra_table.name}.{ref.column} to the merged series: {moved} rows")
    bind.execute(sa.text(legacy.create_table["series_leagues"]))
    links = _run(
        bind,
        "INSERT INTO series_leagues (series_id, league_id) "
        "SELECT keep_id, league_id FROM _rally_merge ORDER BY keep_id, league_id",
    )
    merged = _run(
        bind,
        "DELETE FROM series s USING _rally_merge m WHERE m.old_id = s.id AND m.keep_id <> m.old_id",
    )
    log(f"merged {merged} per-league series into their name's first row; series_leagues: {links}")
    for table, column in NEW_COLUMNS:
        bind.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    shape.restore_nullability(bind, legacy)
    quarantine.restore(bind, log)
    shape.check_unique_fit(bind, legacy)
    added = shape.add_constraints_and_indexes(bind, legacy, log)
    log(f"restored the legacy schema: {added} constraints and indexes under their legacy names")
    shape.drop_scratch(bind)
