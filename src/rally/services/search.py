"""Player search by name within a league (or all): accent- and case-blind, typo-tolerant.

PostgreSQL: the trigram index of revision 0005 on ``players.search_name`` (set by revision
0007's trigger to ``rally_fold(first_name || ' ' || last_name)``), searched by 0005's function
``rally_name_matches``: a row is found when its whole name is similar to the query (``%``,
similarity >= 0.3) or the query is similar to a part of it (``<%``, word similarity >= 0.5:
"walsh", "aron"). SQLite has no trigram index: the
league's names are scored in Python with rapidfuzz (a few milliseconds for the real corpus).
Both fold the query with `names.normalize`, as ``rally_fold`` folds the names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from rally.models import Club, League, Player
from rally.services.errors import LeagueNotFound
from rally.services.person_names import normalize
from rally.services.plan import Plan, dialect_of, run
from rally.services.records import PlayerRecord, record_select, to_record

#: rapidfuzz WRatio score (0-100) below which a SQLite candidate is dropped.
FUZZ_CUTOFF = 72


@dataclass(frozen=True)
class SearchHit(PlayerRecord):
    """A player row found by name, with what tells namesakes apart: league, club, series, team."""

    club_id: int
    score: float


_PG_SEARCH = text(
    """
SELECT p.id AS player_id, p.first_name AS first_name, p.last_name AS last_name,
       l.league_id AS league, l.league_name AS league_name, c.name AS club, s.name AS series,
       s.id AS series_id, t.team_name AS team, t.id AS team_id, p.pti AS pti,
       p.tenniscores_player_id AS source_id, p.league_id AS league_pk, c.id AS club_id,
       greatest(similarity(f.folded, :q), word_similarity(:q, f.folded))
       + CASE WHEN f.folded = :q THEN 1.0 WHEN f.folded LIKE :prefix THEN 0.5 ELSE 0.0 END
       AS score
FROM rally_name_matches(:q, CAST(:league AS text)) f
JOIN players p ON p.id = f.player_id
JOIN leagues l ON l.id = p.league_id
JOIN clubs c ON c.id = p.club_id
JOIN series s ON s.id = p.series_id
LEFT JOIN teams t ON t.id = p.team_id
ORDER BY score DESC, p.last_name, p.first_name, l.league_id, s.name, p.id
LIMIT :limit
"""
)


@lru_cache(maxsize=1)
def _statements() -> dict[str, Any]:
    # The columns of records.record_select(), then the club's id (as _PG_SEARCH, by name).
    return {
        "names": select(Player.id, Player.first_name, Player.last_name).where(
            Player.is_active.is_not(False)
        ),
        "joined": record_select().add_columns(Club.id),
        "leagues": select(League.id, League.league_id, League.league_name).order_by(
            League.league_name
        ),
    }


def _hit(row: Any, score: float) -> SearchHit:
    # vars, not asdict: the fields are plain values, and asdict deep-copies each of them.
    record = to_record(row)
    return SearchHit(**vars(record), club_id=row[13], score=round(float(score), 3))


def search_plan(
    *, query: str, league: str | None, limit: int, dialect: str
) -> Plan[list[SearchHit]]:
    """Plan of `search_players` (see rally.services.plan)."""
    statements = _statements()
    leagues = yield statements["leagues"], {}
    return (yield from _search(query, league, limit, dialect, leagues))


def _search(
    query: str, league: str | None, limit: int, dialect: str, leagues: list[Any]
) -> Plan[list[SearchHit]]:
    folded = normalize(query)
    key = league.strip().upper() if league else None
    league_id = next((row[0] for row in leagues if row[1] == key), None)
    if key and league_id is None:
        raise LeagueNotFound(f"There is no league {league!r}.")
    if not folded:
        return []
    if dialect == "postgresql":
        escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params = {"q": folded, "prefix": escaped + "%", "league": key, "limit": limit}
        rows = yield _PG_SEARCH, params
        return [_hit(row, row[14]) for row in rows]
    statements = _statements()
    where = [] if league_id is None else [Player.league_id == league_id]
    candidates = yield statements["names"].where(*where), {}
    choices = {pid: normalize(f"{first} {last}") for pid, first, last in candidates}
    scored = process.extract(
        folded, choices, scorer=fuzz.WRatio, limit=limit * 3, score_cutoff=FUZZ_CUTOFF
    )
    if not scored:
        return []
    score = {
        pid: value / 100 + (1.0 if choices[pid] == folded else 0.0) for _, value, pid in scored
    }
    rows = yield statements["joined"].where(Player.id.in_(score)), {}
    rows.sort(key=lambda r: (-score[r[0]], r[2], r[1], r[3], r[6], r[0]))
    return [_hit(row, score[row[0]]) for row in rows[:limit]]


def search_page_plan(
    *, query: str, league: str | None, limit: int, dialect: str
) -> Plan[tuple[list[tuple[str, str]], list[SearchHit]]]:
    """Plan of the search page: the leagues to choose from (key, name), then the hits."""
    statements = _statements()
    leagues = yield statements["leagues"], {}
    hits = yield from _search(query, league, limit, dialect, leagues)
    return [(row[1], row[2]) for row in leagues], hits


def search_players(
    session: Session, *, query: str, league: str | None = None, limit: int = 20
) -> list[SearchHit]:
    """Find active player rows by name, best first (LeagueNotFound for an unknown league)."""
    return run(
        session, search_plan(query=query, league=league, limit=limit, dialect=dialect_of(session))
    )
