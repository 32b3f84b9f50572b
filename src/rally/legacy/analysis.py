"""What the league-isolation upgrade does to a legacy database, as SQL both plan and upgrade run.

`rally db plan` runs these queries read-only and reports them; the data step of revision 0002
(`rally.legacy.data.isolate`) materialises the very same queries and applies them. Sharing the
SQL text is what keeps the dry run and the real run from disagreeing.

Every query reads only legacy columns, so it gives the same answer before revision 0002 starts
and after it has added its new (still empty) columns.

How a row's league is decided (first that applies):

- teams, players: their own ``league_id``;
- series_stats: own ``league_id``, else its team's;
- player_availability: its player's league, else the league of its user's context (the
  context's team's league, else the context's ``league_id``);
- user_instructions: its team's league;
- otherwise, when the row's series is used by exactly one league (or, when no row of a known
  league uses it, ``series_leagues`` lists exactly one league): that league;
- otherwise the league given by ``--assign-unknown``; without it the row blocks the upgrade.

The league whose rows use a shared series most keeps the series' id; a tie goes to the league
whose key sorts first (byte order), so the choice never depends on ids or insertion order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from rally.errors import UsageError
from rally.legacy.extra import ExtraTable, series_refs

# Tables whose rows point at a series, in reporting order.
SERIES_REFERENCES = ("teams", "players", "series_stats", "player_availability", "user_instructions")

# Rows that reference a series, with the league they belong to when their own data says so.
_USES_HEAD = """
uses AS (
    SELECT 'teams'::text AS tbl, t.id AS row_id, t.series_id, t.league_id, 'own'::text AS how
    FROM teams t
    UNION ALL
    SELECT 'players', p.id, p.series_id, p.league_id, 'own' FROM players p
    UNION ALL
    SELECT 'series_stats', s.id, s.series_id, COALESCE(s.league_id, t.league_id),
           CASE WHEN s.league_id IS NOT NULL THEN 'own' WHEN t.league_id IS NOT NULL
                THEN 'team' END
    FROM series_stats s LEFT JOIN teams t ON t.id = s.team_id
    WHERE s.series_id IS NOT NULL
    UNION ALL
    SELECT 'player_availability', a.id, a.series_id,
           COALESCE(p.league_id, ct.league_id, c.league_id),
           CASE WHEN p.league_id IS NOT NULL THEN 'player'
                WHEN COALESCE(ct.league_id, c.league_id) IS NOT NULL THEN 'user context' END
    FROM player_availability a
    LEFT JOIN players p ON p.id = a.player_id
    LEFT JOIN user_contexts c ON c.user_id = a.user_id
    LEFT JOIN teams ct ON ct.id = c.team_id
    UNION ALL
    SELECT 'user_instructions', i.id, i.series_id, t.league_id,
           CASE WHEN t.league_id IS NOT NULL THEN 'team' END
    FROM user_instructions i LEFT JOIN teams t ON t.id = i.team_id
    WHERE i.series_id IS NOT NULL{extra}
),
used_by_known AS (
    SELECT series_id, MIN(league_id) AS league_id, COUNT(DISTINCT league_id) AS leagues
    FROM uses WHERE league_id IS NOT NULL GROUP BY series_id
),
listed_once AS (
    SELECT series_id, MIN(league_id) AS league_id FROM series_leagues
    GROUP BY series_id HAVING COUNT(DISTINCT league_id) = 1
),
resolved AS (
    SELECT u.tbl, u.row_id, u.series_id,
           COALESCE(u.league_id,
                    CASE WHEN k.leagues = 1 THEN k.league_id END,
                    CASE WHEN k.series_id IS NULL THEN l.league_id END,
                    CAST(:assign AS integer)) AS league_id,
           CASE WHEN u.league_id IS NOT NULL THEN u.how
                WHEN k.leagues = 1 THEN 'series used by one league'
                WHEN k.series_id IS NULL AND l.league_id IS NOT NULL THEN 'series_leagues'
                WHEN CAST(:assign AS integer) IS NOT NULL THEN 'assigned'
                ELSE 'unknown' END AS how
    FROM uses u
    LEFT JOIN used_by_known k ON k.series_id = u.series_id
    LEFT JOIN listed_once l ON l.series_id = u.series_id
)"""


def uses_cte(extras: Sequence[ExtraTable] = ()) -> str:
    """The `uses`/`resolved` CTEs, including series references of tables Rally does not know.

    Such a row's tbl is "<table>.<column>"; its row_id is its integer primary key (or NULL).
    """
    parts = []
    for table, ref in series_refs(list(extras)):
        joins, league, how = table.league_sql("x")
        key = f"CAST(x.{table.key} AS integer)" if table.key else "CAST(NULL AS integer)"
        parts.append(
            f"\n    UNION ALL\n    SELECT '{table.name}.{ref.column}', {key}, x.{ref.column}, "
            f"{league}, {how} FROM {table.name} x {joins} WHERE x.{ref.column} IS NOT NULL"
        )
    return _USES_HEAD.replace("{extra}", "".join(parts))


def resolved_sql(extras: Sequence[ExtraTable] = ()) -> str:
    """Every series-referencing row: (tbl, row_id, series_id, league_id, how)."""
    return f"WITH {uses_cte(extras)} SELECT tbl, row_id, series_id, league_id, how FROM resolved"


def split_sql(extras: Sequence[ExtraTable] = ()) -> str:
    """One row per (series, league) that uses it: how many uses, and whether it keeps the id."""
    return _SPLIT.replace("{uses}", uses_cte(extras))


_SPLIT = """
WITH {uses},
counts AS (
    SELECT series_id, league_id, COUNT(*) AS uses FROM resolved
    WHERE league_id IS NOT NULL GROUP BY series_id, league_id
)
SELECT c.series_id, c.league_id, c.uses,
       ROW_NUMBER() OVER (PARTITION BY c.series_id
                          ORDER BY c.uses DESC, lg.league_id COLLATE "C") = 1 AS keeps,
       COUNT(*) OVER (PARTITION BY c.series_id) AS leagues
FROM counts c JOIN leagues lg ON lg.id = c.league_id"""

RESOLVED_SQL = resolved_sql()
SPLIT_SQL = split_sql()

# Rows outside the series references whose NOT NULL / consistent league is derived here.
_LEAGUE_FILLS: dict[str, str] = {
    "series_stats": (
        "SELECT s.id AS row_id, COALESCE(s.league_id, t.league_id) AS league_id "
        "FROM series_stats s LEFT JOIN teams t ON t.id = s.team_id WHERE s.series_id IS NULL"
    ),
    "schedule": (
        "SELECT m.id AS row_id, COALESCE(m.league_id, h.league_id, a.league_id) AS league_id "
        "FROM schedule m LEFT JOIN teams h ON h.id = m.home_team_id "
        "LEFT JOIN teams a ON a.id = m.away_team_id"
    ),
    "match_scores": (
        "SELECT m.id AS row_id, COALESCE(m.league_id, h.league_id, a.league_id) AS league_id "
        "FROM match_scores m LEFT JOIN teams h ON h.id = m.home_team_id "
        "LEFT JOIN teams a ON a.id = m.away_team_id"
    ),
}


def league_fill_sql(table: str) -> str:
    """Return (row_id, league_id) for rows of `table` outside the series references (NULL: unknown)."""
    return _LEAGUE_FILLS[table]


LEAGUE_FILL_TABLES = tuple(_LEAGUE_FILLS)

SAMPLES = 10


@dataclass
class SpanningSeries:
    """A series row used by several leagues, and how it is split."""

    series_id: int
    name: str
    display_name: str
    uses: dict[str, dict[str, int]]  # league key -> table -> rows
    keeper: str
    reason: str

    @property
    def new_rows_for(self) -> list[str]:
        """Leagues that get a new series row of the same name."""
        return sorted((k for k in self.uses if k != self.keeper), key=lambda k: k.encode())


@dataclass
class Analysis:
    """Everything the upgrade would do to a legacy database's data."""

    series_total: int = 0
    series_single: int = 0
    series_unused: list[str] = field(default_factory=list)
    spanning: list[SpanningSeries] = field(default_factory=list)
    repoint: dict[str, int] = field(default_factory=dict)
    league_filled: dict[str, int] = field(default_factory=dict)
    resolved_by: dict[str, dict[str, int]] = field(default_factory=dict)
    contexts: dict[str, int] = field(default_factory=dict)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    unknown_count: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    extra_unknown: dict[str, int] = field(default_factory=dict)
    assign_unknown: str | None = None

    @property
    def series_created(self) -> int:
        """Number of series rows the split creates."""
        return sum(len(s.new_rows_for) for s in self.spanning)

    @property
    def blockers(self) -> list[str]:
        """Sentences naming what prevents the upgrade; empty when it can run."""
        out = []
        if self.unknown_count:
            shown = ", ".join(f"{u['table']} {u['id']}" for u in self.unknown[:SAMPLES])
            more = (
                "" if self.unknown_count <= SAMPLES else f" and {self.unknown_count - SAMPLES} more"
            )
            out.append(
                f"{self.unknown_count} rows belong to no league that can be determined "
                f"({shown}{more}); give --assign-unknown KEY to put them in one league"
            )
        for conflict in self.conflicts:
            ids = ", ".join(str(i) for i in conflict["ids"])
            out.append(
                f"{conflict['count']} {conflict['what']} ({conflict['table']} {ids}); "
                "fix these rows before upgrading"
            )
        return out


def league_keys(conn: Connection) -> dict[int, str]:
    """Return leagues.id -> stable key."""
    return {int(i): str(k) for i, k in conn.execute(sa.text("SELECT id, league_id FROM leagues"))}


def league_id_for(conn: Connection, key: str | None) -> int | None:
    """Return the numeric id of league `key` (None when `key` is None); raise when unknown."""
    if key is None:
        return None
    found = conn.execute(
        sa.text("SELECT id FROM leagues WHERE league_id = :k"), {"k": key}
    ).scalar_one_or_none()
    if found is None:
        known = ", ".join(sorted(league_keys(conn).values(), key=str.encode)) or "none"
        raise UsageError(f"Unknown league {key!r} for --assign-unknown (leagues: {known}).")
    return int(found)


def _keeper_reason(uses: dict[str, dict[str, int]], keeper: str) -> str:
    totals = {k: sum(v.values()) for k, v in uses.items()}
    best = totals[keeper]
    tied = sorted((k for k, n in totals.items() if n == best), key=str.encode)
    if len(tied) > 1:
        return f"tie at {best} uses with {', '.join(k for k in tied if k != keeper)}; first key"
    runner_up = max(n for k, n in totals.items() if k != keeper)
    return f"most uses ({best} vs {runner_up})"


def analyse(
    conn: Connection,
    *,
    assign_unknown: str | None = None,
    extras: Sequence[ExtraTable] = (),
) -> Analysis:
    """Work out, read-only, what the upgrade would do to this legacy database."""
    uses_sql = uses_cte(extras)
    assign = league_id_for(conn, assign_unknown)
    keys = league_keys(conn)
    params = {"assign": assign}
    result = Analysis(assign_unknown=assign_unknown)
    series = {
        int(i): (str(n), str(d))
        for i, n, d in conn.execute(sa.text("SELECT id, name, display_name FROM series"))
    }
    result.series_total = len(series)

    per_use = conn.execute(
        sa.text(
            f"WITH {uses_sql} SELECT r.tbl, r.series_id, r.league_id, r.how, COUNT(*) AS n "
            "FROM resolved r GROUP BY r.tbl, r.series_id, r.league_id, r.how"
        ),
        params,
    ).all()
    uses: dict[int, dict[str, dict[str, int]]] = {}
    for tbl, series_id, league_id, how, n in per_use:
        result.resolved_by.setdefault(tbl, {}).setdefault(how, 0)
        result.resolved_by[tbl][how] += int(n)
        if league_id is None:
            if "." in tbl:  # a table Rally does not know: left on the keeper, reported
                result.extra_unknown[tbl] = result.extra_unknown.get(tbl, 0) + int(n)
            else:
                result.unknown_count += int(n)
            continue
        league = uses.setdefault(int(series_id), {}).setdefault(keys[int(league_id)], {})
        league[tbl] = league.get(tbl, 0) + int(n)

    split = conn.execute(sa.text(split_sql(extras)), params).all()
    keepers = {int(r.series_id): keys[int(r.league_id)] for r in split if r.keeps}
    for sid, by_league in sorted(uses.items()):
        if len(by_league) == 1:
            result.series_single += 1
            continue
        name, display = series[sid]
        keeper = keepers[sid]
        result.spanning.append(
            SpanningSeries(sid, name, display, by_league, keeper, _keeper_reason(by_league, keeper))
        )
    result.series_unused = sorted(series[sid][0] for sid in set(series) - set(uses))

    labels = [*SERIES_REFERENCES, *(f"{t.name}.{r.column}" for t, r in series_refs(list(extras)))]
    for tbl in labels:
        result.repoint[tbl] = sum(
            tables.get(tbl, 0)
            for sid, by_league in uses.items()
            for key, tables in by_league.items()
            if key != keepers[sid]
        )

    if result.unknown_count:
        rows = conn.execute(
            sa.text(
                f"WITH {uses_sql} SELECT r.tbl, r.row_id, s.name FROM resolved r "
                "JOIN series s ON s.id = r.series_id WHERE r.league_id IS NULL "
                "AND position('.' in r.tbl) = 0 "
                "ORDER BY r.tbl, r.row_id LIMIT :lim"
            ),
            {**params, "lim": SAMPLES},
        ).all()
        result.unknown = [{"table": t, "id": int(i), "series": n} for t, i, n in rows]

    for tbl in LEAGUE_FILL_TABLES:
        fill = conn.execute(
            sa.text(
                f"SELECT COUNT(*) FILTER (WHERE x.league_id IS NOT NULL AND o.league_id IS NULL), "
                f"COUNT(*) FILTER (WHERE x.league_id IS NULL) "
                f"FROM ({league_fill_sql(tbl)}) x JOIN {tbl} o ON o.id = x.row_id"
            )
        ).one()
        filled, unknown = int(fill[0]), int(fill[1])
        if unknown:
            if assign is not None:
                filled += unknown
                result.resolved_by.setdefault(tbl, {})["assigned"] = unknown
            else:
                result.unknown_count += unknown
                ids = conn.execute(
                    sa.text(
                        f"SELECT x.row_id FROM ({league_fill_sql(tbl)}) x "
                        "WHERE x.league_id IS NULL ORDER BY x.row_id LIMIT :lim"
                    ),
                    {"lim": SAMPLES},
                ).scalars()
                result.unknown += [{"table": tbl, "id": int(i), "series": None} for i in ids]
        result.league_filled[tbl] = filled
    result.league_filled["series_stats"] += int(
        conn.execute(
            sa.text(
                f"WITH {uses_sql} SELECT COUNT(*) FROM resolved r JOIN series_stats s "
                "ON s.id = r.row_id WHERE r.tbl = 'series_stats' AND s.league_id IS NULL "
                "AND r.league_id IS NOT NULL"
            ),
            params,
        ).scalar_one()
    )
    result.league_filled["player_availability"] = sum(
        n
        for how, n in result.resolved_by.get("player_availability", {}).items()
        if how != "unknown"
    )
    result.league_filled["user_instructions"] = int(
        conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM user_instructions i LEFT JOIN teams t ON t.id = i.team_id "
                "WHERE t.id IS NOT NULL OR i.series_id IS NOT NULL"
            )
        ).scalar_one()
    )
    result.league_filled["player_history"] = int(
        conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM player_history h JOIN players p ON p.id = h.player_id "
                "WHERE h.league_id IS NULL"
            )
        ).scalar_one()
    )

    ctx = conn.execute(
        sa.text(
            "SELECT COUNT(t.id), COUNT(*) FILTER (WHERE t.id IS NOT NULL "
            "AND c.league_id IS DISTINCT FROM t.league_id), COUNT(*) FILTER (WHERE t.id IS NULL) "
            "FROM user_contexts c LEFT JOIN teams t ON t.id = c.team_id"
        )
    ).one()
    result.contexts = {
        "series_backfilled": int(ctx[0]),
        "league_corrected_to_team": int(ctx[1]),
        "without_team": int(ctx[2]),
    }

    return result
