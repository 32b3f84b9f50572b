"""The hand-written resolution rules: one per kind of damage the head constraints cannot name.

Each rule is data (`Rule`): the SQL that selects the rows, what is done to them, and why.
`rally.legacy.resolve` runs them (after the rules it derives from the head schema) and
docs/runbook.md documents each with an example. Every rule is deterministic: it depends on
the data only, never on the order rows were read in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rally.legacy.analysis import league_fill_sql, uses_cte
from rally.legacy.extra import ExtraRef, ExtraTable

DELETED, CHANGED = "deleted", "changed"
# Tables whose rows the upgrade keeps (legacy tables that head has).
KEPT = (
    "leagues", "clubs", "club_leagues", "series", "teams", "players", "users",
    "user_player_associations", "user_contexts", "series_stats", "schedule", "match_scores",
    "player_history", "player_availability", "user_instructions",
)  # fmt: skip


@dataclass(frozen=True)
class Rule:
    """One kind of damage and what is done to it.

    `select` returns the affected rows of `table` as ``row_id`` (matched by `match` against
    the table, alias x), ``becomes`` (what the row becomes, in words) and any value `sets`
    uses (alias r). ``action`` is 'deleted' or 'changed'. A `by_value` rule selects one row
    per referenced value (tables without a primary key): its count is the rows it changed.
    """

    id: str
    kind: str
    table: str
    action: str
    text: str
    select: str
    sets: tuple[tuple[str, str], ...] = ()
    match: str = "r.row_id = x.id"
    by_value: bool = False


def _team_elsewhere(table: str, column: str, league: str, joins: str = "") -> Rule:
    return Rule(
        f"{table}-{column}-other-league",
        f"{table} rows whose {column} is a team of another league",
        table,
        CHANGED,
        f"set {column} to NULL (the row keeps its league and its team's name, if any)",
        f"SELECT x.id AS row_id, '{column} ' || x.{column} || ' -> NULL (team of league ' || "
        f"tl.league_id || ')' AS becomes FROM {table} x {joins} "
        f"JOIN teams t ON t.id = x.{column} JOIN leagues tl ON tl.id = t.league_id "
        f"WHERE t.league_id <> {league}",
        sets=((column, "NULL"),),
    )


def conflict_rules() -> list[Rule]:
    """Rows that point at a team of another league than their own."""
    fixture = (
        "LEFT JOIN teams h ON h.id = x.home_team_id LEFT JOIN teams a ON a.id = x.away_team_id"
    )
    rules = [
        _team_elsewhere("players", "team_id", "x.league_id"),
        _team_elsewhere("series_stats", "team_id", "x.league_id"),
    ]
    for table in ("schedule", "match_scores"):
        for column in ("home_team_id", "away_team_id"):
            rules.append(
                _team_elsewhere(
                    table, column, "COALESCE(x.league_id, h.league_id, a.league_id)", fixture
                )
            )
    return rules


# Duplicate player rows of one (league, player id, team) and the row each merges into: the
# row whose series is its team's series, then the most recently updated, then the lowest id.
DUPLICATES = """
SELECT id AS old_id, survivor FROM (
    SELECT p.id, FIRST_VALUE(p.id) OVER w AS survivor, COUNT(*) OVER
           (PARTITION BY p.league_id, p.tenniscores_player_id, p.team_id) AS copies
    FROM players p LEFT JOIN teams t ON t.id = p.team_id
    WHERE p.team_id IS NOT NULL
    WINDOW w AS (PARTITION BY p.league_id, p.tenniscores_player_id, p.team_id
                 ORDER BY CASE WHEN p.series_id = t.series_id THEN 0 ELSE 1 END,
                          p.updated_at DESC NULLS LAST, p.id)
) d WHERE copies > 1 AND id <> survivor
"""
_DUPLICATE_KIND = "player rows duplicated for one (league, player id, team)"


def duplicate_rules(extras: Sequence[ExtraTable]) -> list[Rule]:
    """Merge duplicates into one survivor: move every reference, then quarantine the others."""
    refs: list[tuple[str, str, str | None]] = [
        ("player_availability", "player_id", "id"),
        ("player_history", "player_id", "id"),
    ]
    refs += [(t.name, r.column, t.key) for t in extras for r in t.refs if r.target == "players"]
    rules = []
    for table, column, key in refs:
        move = f"'{column} ' || d.old_id || ' -> ' || d.survivor"
        if key is not None:
            select = (
                f"SELECT x.{key} AS row_id, d.survivor, {move} AS becomes FROM {table} x "
                f"JOIN ({DUPLICATES}) d ON d.old_id = x.{column}"
            )
            match, by_value = f"r.row_id = x.{key}", False
        else:
            select = (
                f"SELECT d.old_id AS row_id, d.survivor, {move} AS becomes FROM ({DUPLICATES}) d "
                f"WHERE EXISTS (SELECT 1 FROM {table} x WHERE x.{column} = d.old_id)"
            )
            match, by_value = f"r.row_id = x.{column}", True
        rules.append(
            Rule(
                f"duplicate-player-ref-{table}-{column}",
                _DUPLICATE_KIND,
                table,
                CHANGED,
                f"move {column} to the surviving player row",
                select,
                sets=((column, "r.survivor"),),
                match=match,
                by_value=by_value,
            )
        )
    rules.append(
        Rule(
            "duplicate-player",
            _DUPLICATE_KIND,
            "players",
            DELETED,
            "merge into one survivor (the row whose series is its team's series, then the most "
            "recently updated, then the lowest id); references were moved to it first",
            f"SELECT d.old_id AS row_id, 'merged into player ' || d.survivor AS becomes "
            f"FROM ({DUPLICATES}) d",
        )
    )
    return rules


def fill_rules() -> list[Rule]:
    """NULL or wrong values that the row's other columns determine."""
    return [
        Rule(
            "history-league-of-player",
            "player_history rows whose league is not their player's",
            "player_history",
            CHANGED,
            "set league_id to the player's league",
            "SELECT x.id AS row_id, p.league_id AS league, 'league_id ' || x.league_id || ' -> ' "
            "|| p.league_id AS becomes FROM player_history x JOIN players p ON p.id = x.player_id "
            "WHERE x.league_id <> p.league_id",
            sets=(("league_id", "r.league"),),
        ),
        Rule(
            "history-league-missing",
            "player_history rows without a league (reloaded without one)",
            "player_history",
            CHANGED,
            "set league_id to the player's league",
            "SELECT x.id AS row_id, p.league_id AS league, 'league_id NULL -> ' || p.league_id "
            "AS becomes FROM player_history x JOIN players p ON p.id = x.player_id "
            "WHERE x.league_id IS NULL",
            sets=(("league_id", "r.league"),),
        ),
        Rule(
            "context-league-of-team",
            "user contexts whose league is not their team's (stale after a team change)",
            "user_contexts",
            CHANGED,
            "set league_id to the team's league (its series is then the team's, as always)",
            "SELECT x.user_id AS row_id, t.league_id AS league, 'league_id ' || "
            "COALESCE(CAST(x.league_id AS text), 'NULL') || ' -> ' || t.league_id AS becomes "
            "FROM user_contexts x JOIN teams t ON t.id = x.team_id "
            "WHERE x.league_id IS DISTINCT FROM t.league_id",
            sets=(("league_id", "r.league"),),
            match="r.row_id = x.user_id",
        ),
        Rule(
            "standings-series-from-text",
            "standings rows without series_id whose league and series text name one",
            "series_stats",
            CHANGED,
            "set series_id to the series named by the row's series text",
            "SELECT x.id AS row_id, s.id AS series, 'series_id NULL -> ' || s.id || ' (' || "
            "s.name || ')' AS becomes FROM series_stats x LEFT JOIN teams t ON t.id = x.team_id "
            "JOIN series s ON s.name = x.series WHERE x.series_id IS NULL "
            "AND COALESCE(x.league_id, t.league_id) IS NOT NULL",
            sets=(("series_id", "r.series"),),
        ),
    ]


def unknown_rules(extras: Sequence[ExtraTable]) -> list[Rule]:
    """Rows whose league nothing determines: quarantined (unless --assign-unknown)."""
    kind = "rows whose league cannot be determined"
    text = "quarantine the row (or give --assign-unknown KEY to keep such rows in one league)"
    rules = [
        Rule(
            f"unknown-league-{table}",
            kind,
            table,
            DELETED,
            text,
            f"WITH {uses_cte(extras)} SELECT r.row_id, 'quarantined (series ' || r.series_id "
            f"|| ' is used by several leagues)' AS becomes FROM resolved r "
            f"WHERE r.tbl = '{table}' AND r.league_id IS NULL",
        )
        for table in ("series_stats", "player_availability", "user_instructions")
    ]
    rules += [
        Rule(
            f"unknown-league-{table}-no-series",
            kind,
            table,
            DELETED,
            text,
            f"SELECT f.row_id, 'quarantined (no league, no team of a known league)' AS becomes "
            f"FROM ({league_fill_sql(table)}) f WHERE f.league_id IS NULL",
        )
        for table in ("series_stats", "schedule", "match_scores")
    ]
    return rules


def null_reference(table: ExtraTable, ref: ExtraRef, rows: str) -> Rule:
    """The rule that sets `ref` to NULL on the rows `rows` (a FROM/WHERE over alias x)."""
    if table.key:
        select = f"SELECT x.{table.key} AS row_id"
        match, by_value = f"r.row_id = x.{table.key}", False
    else:  # no primary key: one row per referenced value
        select = f"SELECT DISTINCT x.{ref.column} AS row_id"
        match, by_value = f"r.row_id = x.{ref.column}", True
    return Rule(
        f"dangling-{table.name}-{ref.column}",
        f"{table.name}.{ref.column} refers to a {ref.target} row that does not exist",
        table.name,
        CHANGED,
        f"set {ref.column} to NULL",
        f"{select}, '{ref.column} ' || x.{ref.column} || ' -> NULL' AS becomes {rows}",
        sets=((ref.column, "NULL"),),
        match=match,
        by_value=by_value,
    )


def dangling_rules(extras: Sequence[ExtraTable]) -> list[Rule]:
    """References of unknown tables to rows that do not exist: set to NULL where allowed."""
    return [
        null_reference(
            table,
            ref,
            f"FROM {table.name} x WHERE x.{ref.column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {ref.target} p WHERE p.id = x.{ref.column})",
        )
        for table in extras
        for ref in table.refs
        if ref.nullable  # a NOT NULL one is refused by name in the plan (headcheck)
    ]


def unused_rules(extras: Sequence[ExtraTable]) -> list[Rule]:
    """Series no row uses any more, and their series_leagues rows: quarantined."""
    unused = (
        f"WITH {uses_cte(extras)} SELECT s.id FROM series s "
        "WHERE NOT EXISTS (SELECT 1 FROM uses u WHERE u.series_id = s.id)"
    )
    return [
        Rule(
            "unused-series-link",
            "series no row uses any more",
            "series_leagues",
            DELETED,
            "quarantine the series' series_leagues rows with it",
            f"SELECT x.id AS row_id, 'quarantined with series ' || x.series_id AS becomes "
            f"FROM series_leagues x WHERE x.series_id IN ({unused})",
        ),
        Rule(
            "unused-series",
            "series no row uses any more",
            "series",
            DELETED,
            "quarantine the series (downgrade puts it back)",
            f"SELECT x.id AS row_id, 'quarantined (' || x.name || ')' AS becomes FROM series x "
            f"WHERE x.id IN ({unused})",
        ),
    ]
