"""A stand-in for the old application: legacy-shaped single-row writes every few milliseconds.

Each operation is its own transaction (one statement, or the few of a new team).

It knows nothing of the new columns and looks series up by NAME (the defect the upgrade
fixes), so without translation its rows would land on another league's series. It records
every write's latency and error, and what each row it wrote should mean (league, series name),
for the tests and benchmarks to check after the upgrade.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from rally.db import make_engine

BY_NAME = "(SELECT id FROM series WHERE name = :sname ORDER BY id LIMIT 1)"


@dataclass
class Written:
    """A row the writer wrote and what it must mean after the upgrade."""

    table: str
    key: int
    league: int
    series: str | None


@dataclass
class Team:
    id: int
    league: int
    club: int
    series: str


@dataclass
class WriterStats:
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (start, seconds)
    errors: list[str] = field(default_factory=list)

    def longest(self, start: float = 0.0, end: float = float("inf")) -> float:
        inside = [d for s, d in self.latencies if start <= s < end]
        return max(inside, default=0.0)

    def p99(self) -> float:
        values = sorted(d for _, d in self.latencies)
        return values[int(len(values) * 0.99)] if values else 0.0


class LegacyWriter(threading.Thread):
    """Writes like the old application until stopped; `check` then asserts every row's league."""

    def __init__(self, url: str, *, interval_s: float = 0.003, seed: int = 11) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(url)
        self.interval_s = interval_s
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self.stats = WriterStats()
        self.written: list[Written] = []
        self.users: list[int] = []
        self.n = 0
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT t.id, t.league_id, t.club_id, s.name FROM teams t "
                    "JOIN series s ON s.id = t.series_id ORDER BY t.id"
                )
            ).all()
            self.teams = [Team(int(a), int(b), int(c), str(d)) for a, b, c, d in rows]
            self.players = [
                (int(p), int(lg), int(t))
                for p, lg, t in conn.execute(
                    sa.text(
                        "SELECT id, league_id, team_id FROM players WHERE team_id IS NOT NULL "
                        "ORDER BY id LIMIT 500"
                    )
                )
            ]
            # The writer's own users, so it never changes what a corpus row means.
            for i in range(20):
                uid = conn.execute(
                    sa.text(
                        "INSERT INTO users (email, password_hash) VALUES (:e, 'x') "
                        "ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id"
                    ),
                    {"e": f"legacy-writer-{seed}-{i}@example.test"},
                ).scalar_one()
                self.users.append(int(uid))
            conn.commit()
        self.by_id = {t.id: t for t in self.teams}

    # --- operations (each one autocommit statement, or one short transaction) ---------------

    def _team(self) -> Team:
        return self.rng.choice(self.teams)

    def _availability(self, conn: sa.Connection) -> None:
        pid, league, tid = self.rng.choice(self.players)
        sname = self.by_id[tid].series
        rid = conn.execute(
            sa.text(
                "INSERT INTO player_availability (player_name, player_id, user_id, match_date, "
                f"availability_status, series_id) VALUES ('w', :p, :u, :d, :s, {BY_NAME}) "
                "RETURNING id"
            ),
            {"p": pid, "u": self.rng.choice(self.users), "s": self.rng.randint(1, 3),
             "d": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "sname": sname},
        ).scalar_one()  # fmt: skip
        self.written.append(Written("player_availability", int(rid), league, sname))

    def _update(self, conn: sa.Connection) -> None:
        own = [w for w in self.written[-50:] if w.table == "player_availability"]
        if own:
            conn.execute(
                sa.text("UPDATE player_availability SET availability_status = :s WHERE id = :i"),
                {"s": self.rng.randint(1, 3), "i": self.rng.choice(own).key},
            )
        pid = self.rng.choice(self.players)[0]
        conn.execute(
            sa.text("UPDATE players SET pti = :v, updated_at = now() WHERE id = :p"),
            {"v": self.rng.randint(10, 60), "p": pid},
        )

    def _context(self, conn: sa.Connection) -> None:
        team, uid = self._team(), self.rng.choice(self.users)
        conn.execute(
            sa.text(
                "INSERT INTO user_contexts (user_id, league_id, team_id) VALUES (:u, :l, :t) "
                "ON CONFLICT (user_id) DO UPDATE SET league_id = EXCLUDED.league_id, "
                "team_id = EXCLUDED.team_id, last_updated = now()"
            ),
            {"u": uid, "l": team.league, "t": team.id},
        )
        self.written.append(Written("user_contexts", uid, team.league, team.series))

    def _standing(self, conn: sa.Connection) -> None:
        team = self._team()
        rid = conn.execute(
            sa.text(
                "INSERT INTO series_stats (league_id, series, team, series_id, team_id, points) "
                f"VALUES (:l, :label, 'w', {BY_NAME}, :t, 1) RETURNING id"
            ),
            {"l": team.league, "label": team.series, "sname": team.series, "t": team.id},
        ).scalar_one()
        self.written.append(Written("series_stats", int(rid), team.league, team.series))

    def _instruction(self, conn: sa.Connection) -> None:
        team = self._team()
        rid = conn.execute(
            sa.text(
                "INSERT INTO user_instructions (user_email, instruction, series_id, team_id) "
                f"VALUES ('w@example.test', 'w', {BY_NAME}, :t) RETURNING id"
            ),
            {"sname": team.series, "t": team.id},
        ).scalar_one()
        self.written.append(Written("user_instructions", int(rid), team.league, team.series))

    def _match(self, conn: sa.Connection) -> None:
        home = self._team()
        away = self.rng.choice([t for t in self.teams[:400] if t.league == home.league] or [home])
        rid = conn.execute(
            sa.text(
                "INSERT INTO match_scores (match_date, home_team_id, away_team_id, scores, "
                "tenniscores_match_id) VALUES ('2026-01-02', :h, :a, '6-1', :m) RETURNING id"
            ),
            {"h": home.id, "a": away.id, "m": f"writer-{id(self)}-{self.n}"},
        ).scalar_one()
        self.written.append(Written("match_scores", int(rid), home.league, None))

    def _new_team(self, conn: sa.Connection) -> None:
        # ensure_series(name) as the old import did it: by name, then series_leagues.
        league = self._team().league
        sname = self.rng.choice(["Writer Series A", "Writer Series B", self._team().series])
        # One transaction: run() commits it.
        sid = conn.execute(
            sa.text("SELECT id FROM series WHERE name = :n ORDER BY id LIMIT 1"), {"n": sname}
        ).scalar()
        if sid is None:
            sid = conn.execute(
                sa.text("INSERT INTO series (name, display_name) VALUES (:n, :n) RETURNING id"),
                {"n": sname},
            ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO series_leagues (series_id, league_id) VALUES (:s, :l) "
                "ON CONFLICT DO NOTHING"
            ),
            {"s": sid, "l": league},
        )
        name = f"Writer Club {id(self)} {self.n}"
        club = conn.execute(
            sa.text("INSERT INTO clubs (name) VALUES (:n) RETURNING id"), {"n": name}
        ).scalar_one()
        tid = conn.execute(
            sa.text(
                "INSERT INTO teams (club_id, series_id, league_id, team_name, display_name) "
                "VALUES (:c, :s, :l, :n, :n) RETURNING id"
            ),
            {"c": club, "s": sid, "l": league, "n": name},
        ).scalar_one()
        pid = conn.execute(
            sa.text(
                "INSERT INTO players (tenniscores_player_id, first_name, last_name, "
                "league_id, club_id, series_id, team_id) VALUES (:n, 'W', 'W', :l, :c, "
                f"{BY_NAME}, :t) RETURNING id"
            ),
            {"n": name, "l": league, "c": club, "sname": sname, "t": tid},
        ).scalar_one()
        self.written.append(Written("teams", int(tid), league, sname))
        self.written.append(Written("players", int(pid), league, sname))

    OPS = ("_availability", "_update", "_context", "_standing", "_instruction", "_match",
           "_availability", "_update", "_new_team")  # fmt: skip

    def run(self) -> None:
        with self.engine.connect() as conn:
            while not self.stop_event.is_set():
                op = getattr(self, self.OPS[self.n % len(self.OPS)])
                self.n += 1
                started = time.perf_counter()
                try:
                    op(conn)
                    conn.commit()
                except sa.exc.DBAPIError as exc:
                    self.stats.errors.append(f"{op.__name__}: {str(exc.orig).splitlines()[0]}")
                    conn.rollback()
                self.stats.latencies.append((started, time.perf_counter() - started))
                time.sleep(self.interval_s)

    def stop(self) -> WriterStats:
        """Stop writing and return the figures."""
        self.stop_event.set()
        self.join(30)
        self.engine.dispose()
        return self.stats

    def misplaced(self, url: str) -> list[Any]:
        """Rows it wrote that are not in their own league's series of the right name."""
        engine = make_engine(url)
        wrong: list[Any] = []
        try:
            with engine.connect() as conn:
                contexts: dict[int, Written] = {}
                for w in self.written:
                    if w.table == "user_contexts":
                        contexts[w.key] = w  # the last write wins
                        continue
                    wrong += self._check(conn, w)
                for w in contexts.values():
                    wrong += self._check(conn, w)
        finally:
            engine.dispose()
        return wrong

    @staticmethod
    def _check(conn: sa.Connection, w: Written) -> list[Any]:
        key = "user_id" if w.table == "user_contexts" else "id"
        series = "x.series_id" if w.series is not None else "NULL"
        row = conn.execute(
            sa.text(
                f"SELECT x.league_id, s.name, s.league_id FROM {w.table} x "
                f"LEFT JOIN series s ON s.id = {series} WHERE x.{key} = :k"
            ),
            {"k": w.key},
        ).first()
        got = None if row is None else (row[0], row[1], row[2])
        want = (w.league, w.series, w.league if w.series is not None else None)
        return [] if got == want else [(w.table, w.key, want, got)]
