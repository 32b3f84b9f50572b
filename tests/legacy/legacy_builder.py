"""Build legacy-schema databases the way the old import did, recording what every row meant.

The old import looked series up by NAME only, so "Series 1" of every league is one row, and
`series_leagues` lists the leagues that use it. Its unique constraints made it drop a second
team of a club in one series (ON CONFLICT DO NOTHING); such a team's players keep no team.

`LegacyBuilder` assigns ids in Python (emulating the legacy uniques) and bulk-loads with COPY,
which keeps building a legacy database of the whole corpus to a few seconds. `meaning` maps
(table, id) -> (league key, series name or None) for every row that has a league.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from rally.db.migrations.legacy_ddl import LEGACY_TABLES, statements
from rally.etl.reader import parse_corpus
from rally.etl.records import (
    LEAGUES,
    Kind,
    MatchRecord,
    PlayerRecord,
    ScheduleRecord,
    StandingRecord,
)

Meaning = tuple[str | None, str | None]
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

COLUMNS: dict[str, tuple[str, ...]] = {
    "leagues": ("id", "league_id", "league_name"),
    "clubs": ("id", "name"),
    "club_leagues": ("id", "club_id", "league_id"),
    "series": ("id", "name", "display_name"),
    "series_leagues": ("id", "series_id", "league_id"),
    "teams": ("id", "club_id", "series_id", "league_id", "team_name", "display_name"),
    "players": (
        "id", "tenniscores_player_id", "first_name", "last_name", "league_id", "club_id",
        "series_id", "team_id", "pti", "wins", "losses", "captain_status",
    ),
    "users": ("id", "email", "password_hash", "first_name", "last_name", "league_context"),
    "user_player_associations": ("user_id", "tenniscores_player_id", "is_primary"),
    "user_contexts": ("user_id", "league_id", "team_id"),
    "series_stats": (
        "id", "league_id", "series", "team", "series_id", "team_id", "points", "matches_won",
        "matches_lost",
    ),
    "schedule": (
        "id", "league_id", "match_date", "match_time", "home_team", "away_team", "home_team_id",
        "away_team_id", "location",
    ),
    "match_scores": (
        "id", "league_id", "match_date", "home_team", "away_team", "home_team_id",
        "away_team_id", "home_player_1_id", "away_player_1_id", "scores", "winner",
        "tenniscores_match_id",
    ),
    "player_history": ("id", "player_id", "league_id", "series", "date", "end_pti"),
    "player_availability": (
        "id", "player_name", "player_id", "user_id", "match_date", "availability_status",
        "series_id",
    ),
    "user_instructions": ("id", "user_email", "instruction", "series_id", "team_id"),
}  # fmt: skip


@dataclass
class LegacyBuilder:
    """Legacy rows in memory, with ids and the legacy uniques emulated; `load` writes them."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))
    meaning: dict[tuple[str, int], Meaning] = field(default_factory=dict)
    league_ids: dict[str, int] = field(default_factory=dict)
    _by_id: dict[int, str] = field(default_factory=dict)
    _clubs: dict[str, int] = field(default_factory=dict)
    _club_leagues: set[tuple[int, int]] = field(default_factory=set)
    _series: dict[str, int] = field(default_factory=dict)
    _series_names: dict[int, str] = field(default_factory=dict)
    _series_leagues: set[tuple[int, int]] = field(default_factory=set)
    display_names: dict[str, str] = field(default_factory=dict)
    _team_by_name: dict[tuple[str, int], int] = field(default_factory=dict)
    _team_keys: set[tuple[int, int, int]] = field(default_factory=set)
    _teams: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (series, league)
    _player_keys: set[tuple[str, int, int, int]] = field(default_factory=set)
    _players: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (series, league)
    _match_ids: set[str] = field(default_factory=set)
    _next: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def _id(self, table: str) -> int:
        self._next[table] += 1
        return self._next[table]

    def _add(self, table: str, *values: Any) -> None:
        self.rows[table].append(values)

    # --- reference data --------------------------------------------------------------------
    def league(self, key: str, name: str | None = None) -> int:
        """Return the league's id, creating it."""
        if key not in self.league_ids:
            lid = self._id("leagues")
            self.league_ids[key] = lid
            self._by_id[lid] = key
            self._add("leagues", lid, key, name or LEAGUES.get(key, key))
        return self.league_ids[key]

    def club(self, name: str, league: int) -> int:
        """Return the club's id (clubs are global by name), linking it to the league."""
        if name not in self._clubs:
            self._clubs[name] = cid = self._id("clubs")
            self._add("clubs", cid, name)
        cid = self._clubs[name]
        if (cid, league) not in self._club_leagues:
            self._club_leagues.add((cid, league))
            self._add("club_leagues", self._id("club_leagues"), cid, league)
        return cid

    def series(self, name: str, league: int) -> int:
        """The old ensure_series(name): one row per name, shared by every league using it."""
        if name not in self._series:
            self._series[name] = sid = self._id("series")
            self._series_names[sid] = name
            self._add("series", sid, name, self.display_names.get(name, name))
        sid = self._series[name]
        if (sid, league) not in self._series_leagues:
            self._series_leagues.add((sid, league))
            self._add("series_leagues", self._id("series_leagues"), sid, league)
        return sid

    def team(self, club: str, series: str, league: int, name: str) -> int | None:
        """Return the team's id; None when the legacy unique (club, series, league) drops it."""
        if (name, league) in self._team_by_name:
            return self._team_by_name[(name, league)]
        cid, sid = self.club(club, league), self.series(series, league)
        if (cid, sid, league) in self._team_keys:
            return None
        tid = self._id("teams")
        self._team_keys.add((cid, sid, league))
        self._team_by_name[(name, league)] = tid
        self._teams[tid] = (sid, league)
        self._add("teams", tid, cid, sid, league, name, name)
        self._mean("teams", tid, league, sid)
        return tid

    def team_id(self, name: str, league: int) -> int | None:
        """Look a team up by name within its league."""
        return self._team_by_name.get((name, league))

    def _mean(self, table: str, row: int, league: int | None, series: int | None) -> None:
        self.meaning[(table, row)] = (
            self._by_id[league] if league is not None else None,
            self._series_names[series] if series is not None else None,
        )

    # --- rows ------------------------------------------------------------------------------
    def player(
        self, tpid: str, first: str, last: str, club: str, series: str, league: int,
        team: int | None, pti: Decimal | None = None, captain: str | None = None,
    ) -> int | None:  # fmt: skip
        """Add a player row; None when the legacy unique drops it."""
        cid, sid = self.club(club, league), self.series(series, league)
        if (tpid, league, cid, sid) in self._player_keys:
            return None
        self._player_keys.add((tpid, league, cid, sid))
        pid = self._id("players")
        self._players[pid] = (sid, league)
        self._add("players", pid, tpid, first, last, league, cid, sid, team, pti, 0, 0, captain)
        self._mean("players", pid, league, sid)
        return pid

    def standing(
        self, league: int, series: str, team_name: str, team: int | None, *,
        own_league: bool = True, points: int = 0,
    ) -> int:  # fmt: skip
        """Add a series_stats row (its league_id left NULL when not own_league)."""
        sid = self.series(series, league)
        rid = self._id("series_stats")
        self._add(
            "series_stats",
            rid,
            league if own_league else None,
            series,
            team_name,
            sid,
            team,
            points,
            0,
            0,
        )
        self._mean("series_stats", rid, league, sid)
        return rid

    def fixture(
        self, table: str, league: int, date: dt.date, home: str, away: str, *,
        own_league: bool = True, time: dt.time | None = None, location: str | None = None,
        match_id: str | None = None, scores: str = "", winner: str | None = None,
        home_player: str | None = None, away_player: str | None = None,
    ) -> int | None:  # fmt: skip
        """Add a schedule or match_scores row, team ids looked up by name in the league."""
        h, a = self.team_id(home, league), self.team_id(away, league)
        lid = league if own_league else None
        if table == "schedule":
            rid = self._id("schedule")
            self._add("schedule", rid, lid, date, time, home, away, h, a, location)
        else:
            if match_id is not None:
                if match_id in self._match_ids:
                    return None
                self._match_ids.add(match_id)
            rid = self._id("match_scores")
            self._add(
                "match_scores",
                rid,
                lid,
                date,
                home,
                away,
                h,
                a,
                home_player,
                away_player,
                scores,
                winner,
                match_id,
            )
        self.meaning[(table, rid)] = (self._by_id[league], None)
        return rid

    def history(self, player: int, league: int | None, series: str, end_pti: Decimal) -> int:
        """Add a player_history row."""
        rid = self._id("player_history")
        self._add("player_history", rid, player, league, series, dt.date(2025, 1, 1), end_pti)
        return rid

    def user(self, email: str, league: int | None) -> int:
        """Add a user."""
        uid = self._id("users")
        self._add("users", uid, email, "legacy-hash", "First", "Last", league)
        return uid

    def association(self, user: int, tpid: str) -> None:
        """Add a user_player_associations row."""
        self._add("user_player_associations", user, tpid, True)

    def context(self, user: int, league: int | None, team: int | None) -> None:
        """Add the user's context (legacy: no series_id)."""
        self._add("user_contexts", user, league, team)
        if league is not None:
            self.meaning[("user_contexts", user)] = (self._by_id[league], None)

    def availability(
        self, player_name: str, player: int | None, user: int | None, series: str,
        league: int, when: dt.datetime, status: int = 1,
    ) -> int:  # fmt: skip
        """Add an availability row; `league` is what it means (the legacy row has no league)."""
        sid = self.series(series, league)
        rid = self._id("player_availability")
        self._add("player_availability", rid, player_name, player, user, when, status, sid)
        self._mean("player_availability", rid, league, sid)
        return rid

    def instruction(
        self, email: str, text: str, team: int | None, series: str | None, league: int | None
    ) -> int:
        """Add a user instruction; `league` is what it means (None for general ones)."""
        sid = self.series(series, league) if series is not None and league is not None else None
        rid = self._id("user_instructions")
        self._add("user_instructions", rid, email, text, sid, team)
        if league is not None:
            self._mean("user_instructions", rid, league, sid)
        return rid

    # --- writing ---------------------------------------------------------------------------
    def load(self, conn: sa.Connection, *, create_schema: bool = True) -> None:
        """Create the legacy schema (unless told not to) and COPY every row in."""
        if create_schema:
            for statement in statements("postgresql"):
                conn.execute(sa.text(statement))
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            for table in reversed(LEGACY_TABLES):
                rows = self.rows.get(table)
                if not rows:
                    continue
                cols = COLUMNS[table]
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                if "id" in cols:
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )

    def counts(self) -> dict[str, int]:
        """Rows per legacy table."""
        return {t: len(self.rows.get(t, [])) for t in LEGACY_TABLES}


def build_from_corpus(leagues_dir: Path, *, user_every: int = 7) -> LegacyBuilder:
    """Load the scraped corpus as the old import did, plus users and their rows."""
    corpus = parse_corpus(leagues_dir)
    b = LegacyBuilder()
    for key in LEAGUES:
        if key not in corpus.records:
            continue
        lid = b.league(key)
        for rec in corpus.of(key, Kind.PLAYERS):
            assert isinstance(rec, PlayerRecord)
            tid = b.team(rec.club, rec.series, lid, rec.team_name)
            b.player(
                rec.player_id,
                rec.first_name,
                rec.last_name,
                rec.club,
                rec.series,
                lid,
                tid,
                rec.pti,
                rec.captain_status,
            )
        for rec in corpus.of(key, Kind.STANDINGS):
            assert isinstance(rec, StandingRecord)
            tid = b.team(rec.club, rec.series, lid, rec.team_name)
            b.standing(lid, rec.series, rec.team_name, tid, points=rec.points)
        for rec in corpus.of(key, Kind.SCHEDULE):
            assert isinstance(rec, ScheduleRecord)
            b.team(rec.home_club, rec.series, lid, rec.home_team)
            b.team(rec.away_club, rec.series, lid, rec.away_team)
            b.fixture(
                "schedule", lid, rec.match_date, rec.home_team, rec.away_team,
                time=rec.match_time, location=rec.location,
            )  # fmt: skip
        for rec in corpus.of(key, Kind.MATCHES):
            assert isinstance(rec, MatchRecord)
            b.fixture(
                "match_scores", lid, rec.match_date, rec.home_team, rec.away_team,
                match_id=rec.match_id, scores=rec.scores, winner=rec.winner,
                home_player=rec.home_player_1_id, away_player=rec.away_player_1_id,
            )  # fmt: skip
    _add_users(b, user_every)
    return b


def _add_users(b: LegacyBuilder, every: int) -> None:
    """Every `every`-th player gets a user, a context, availability and an instruction."""
    when = dt.datetime(2025, 2, 1, 18, 0, tzinfo=dt.UTC)
    players = b.rows["players"]
    for n, row in enumerate(players[::every]):
        pid, tpid, first, _last, league, _club, sid, team = row[:8]
        series = b._series_names[sid]
        email = f"user{n}@example.test"
        uid = b.user(email, league)
        b.association(uid, tpid)
        b.context(uid, league, team)
        b.availability(first, pid, uid, series, league, when)
        if team is not None and n % 3 == 0:
            # No player on the row: its league comes from the user's context.
            b.availability(first, None, uid, series, league, when + dt.timedelta(days=7), 2)
        if team is not None:
            b.instruction(email, "bring balls", team, series, league)
        if n % 5 == 0:
            b.instruction(email, "general note", None, None, None)
        if n % 4 == 0 and row[8] is not None:
            b.history(pid, league, series, row[8])
