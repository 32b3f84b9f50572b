"""Damage as production databases carry it, applied with SQL to a loaded legacy database.

Each kind drops the legacy constraint production lacked (where the damage needs that), damages
one row chosen by `slot` (rows ordered by id, so kinds combine without touching one row twice),
and returns what the upgrade must do: the rules the plan names, the rows quarantined (deleted)
and what the changed rows must mean afterwards. `DAMAGE` lists every kind by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from legacy_builder import LegacyBuilder

WHEN = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
# Ids of rows the damage adds, and of references to nothing: far above any real id at scale.
DUP = 900_000_000
GONE_SERIES = 800_000_000
INSTRUCTION = 700_000_000
MISSING = 2_000_000_000


@dataclass
class Damage:
    rules: set[str] = field(default_factory=set)
    deleted: set[tuple[str, int]] = field(default_factory=set)
    # (table, id) -> (league key, series name) the row must mean after the upgrade
    meaning: dict[tuple[str, int], tuple[str | None, str | None]] = field(default_factory=dict)

    def merge(self, other: Damage) -> None:
        self.rules |= other.rules
        self.deleted |= other.deleted
        self.meaning.update(other.meaning)


def _one(conn: sa.Connection, sql: str, slot: int) -> sa.Row:
    row = conn.execute(sa.text(f"{sql} ORDER BY 1 OFFSET :slot LIMIT 1"), {"slot": slot}).first()
    assert row is not None, f"no row for slot {slot}: {sql}"
    return row


def _drop(conn: sa.Connection, table: str, kind: str, column: str | None = None) -> None:
    """Drop the legacy constraint production lacked (any name)."""
    names = conn.execute(
        sa.text(
            "SELECT c.conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
            "AND a.attnum = c.conkey[1] WHERE c.conrelid = CAST(:t AS regclass) "
            "AND c.contype = :k AND (CAST(:c AS text) IS NULL OR a.attname = :c)"
        ),
        {"t": table, "k": kind, "c": column},
    ).scalars()
    for name in list(names):
        conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))


def _other_team(conn: sa.Connection, league: int) -> int:
    return int(
        conn.execute(
            sa.text("SELECT MIN(id) FROM teams WHERE league_id <> :l"), {"l": league}
        ).scalar_one()
    )


def duplicate_player(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """The same person on one team under two series; the copy has availability and history."""
    p = _one(conn, "SELECT id, tenniscores_player_id, league_id, club_id, series_id, team_id "
             "FROM players WHERE team_id IS NOT NULL", slot)  # fmt: skip
    other = conn.execute(
        sa.text("SELECT MIN(id) FROM series WHERE id <> :s"), {"s": p.series_id}
    ).scalar_one()
    dup = avail = hist = DUP + slot
    conn.execute(
        sa.text(
            "INSERT INTO players (id, tenniscores_player_id, first_name, last_name, league_id, "
            "club_id, series_id, team_id, updated_at) VALUES (:id, :t, 'Dup', 'Copy', :l, :c, "
            ":s, :team, '2030-01-01')"
        ),
        {"id": dup, "t": p.tenniscores_player_id, "l": p.league_id, "c": p.club_id, "s": other,
         "team": p.team_id},
    )  # fmt: skip
    conn.execute(
        sa.text(
            "INSERT INTO player_availability (id, player_name, player_id, match_date, "
            "availability_status, series_id) VALUES (:id, 'Dup', :p, :w, 1, :s)"
        ),
        {"id": avail, "p": dup, "w": WHEN, "s": p.series_id},
    )
    conn.execute(
        sa.text(
            "INSERT INTO player_history (id, player_id, league_id, series, end_pti) "
            "VALUES (:id, :p, :l, 'x', 1.5)"
        ),
        {"id": hist, "p": dup, "l": p.league_id},
    )
    key = b._by_id[p.league_id]
    return Damage(
        {"duplicate-player", "duplicate-player-ref-player_availability-player_id",
         "duplicate-player-ref-player_history-player_id"},
        {("players", dup)},
        {("player_availability", avail): (key, b._series_names[p.series_id])},
    )  # fmt: skip


def standings_without_series(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """A standings row with NULL series_id; its league and series text say which it is."""
    s = _one(conn, "SELECT id FROM series_stats WHERE league_id IS NOT NULL", slot)
    conn.execute(sa.text("UPDATE series_stats SET series_id = NULL WHERE id = :i"), {"i": s.id})
    return Damage({"standings-series-from-text"})


def history_without_league(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """A history row reloaded without its league."""
    h = _one(conn, "SELECT id FROM player_history", slot)
    conn.execute(sa.text("UPDATE player_history SET league_id = NULL WHERE id = :i"), {"i": h.id})
    return Damage({"history-league-missing"})


def history_of_another_league(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """A history row whose league is not its player's."""
    h = _one(conn, "SELECT h.id, h.league_id FROM player_history h", slot)
    other = conn.execute(
        sa.text("SELECT MIN(id) FROM leagues WHERE id <> :l"), {"l": h.league_id}
    ).scalar_one()
    conn.execute(sa.text("UPDATE player_history SET league_id = :o WHERE id = :i"),
                 {"o": other, "i": h.id})  # fmt: skip
    return Damage({"history-league-of-player"})


def stale_context(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """A context whose league went stale when its user changed team."""
    c = _one(conn, "SELECT c.user_id, t.league_id FROM user_contexts c "
             "JOIN teams t ON t.id = c.team_id", slot)  # fmt: skip
    other = conn.execute(
        sa.text("SELECT MIN(id) FROM leagues WHERE id <> :l"), {"l": c.league_id}
    ).scalar_one()
    conn.execute(sa.text("UPDATE user_contexts SET league_id = :o WHERE user_id = :u"),
                 {"o": other, "u": c.user_id})  # fmt: skip
    return Damage({"context-league-of-team"})


def player_on_team_of_other_league(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """A substitute stored on a team of another league."""
    p = _one(conn, "SELECT id, league_id FROM players WHERE team_id IS NOT NULL", slot)
    conn.execute(sa.text("UPDATE players SET team_id = :t WHERE id = :i"),
                 {"t": _other_team(conn, p.league_id), "i": p.id})  # fmt: skip
    return Damage({"players-team_id-other-league"})


def standings_team_of_other_league(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """A standings row pointing at a team of another league."""
    s = _one(conn, "SELECT id, league_id FROM series_stats WHERE league_id IS NOT NULL", slot)
    conn.execute(sa.text("UPDATE series_stats SET team_id = :t WHERE id = :i"),
                 {"t": _other_team(conn, s.league_id), "i": s.id})  # fmt: skip
    return Damage({"series_stats-team_id-other-league"})


def orphan_availability_player(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """Availability of a player deleted years ago (production had no foreign key there)."""
    _drop(conn, "player_availability", "f", "player_id")
    a = _one(conn, "SELECT a.id FROM player_availability a JOIN user_contexts c "
             "ON c.user_id = a.user_id JOIN teams t ON t.id = c.team_id "
             "WHERE a.player_id IS NOT NULL", slot)  # fmt: skip
    conn.execute(sa.text("UPDATE player_availability SET player_id = :m WHERE id = :i"),
                 {"i": a.id, "m": MISSING})  # fmt: skip
    return Damage({"orphan-player_availability-player_id"})


def orphan_history_player(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """History of a deleted player: means nothing without it, so it is quarantined."""
    _drop(conn, "player_history", "f", "player_id")
    h = _one(conn, "SELECT id FROM player_history", slot)
    conn.execute(sa.text("UPDATE player_history SET player_id = :m WHERE id = :i"),
                 {"i": h.id, "m": MISSING})  # fmt: skip
    return Damage({"orphan-player_history-player_id"}, {("player_history", int(h.id))})


def orphan_availability_series(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """Availability on a series that no longer exists (NOT NULL column: quarantined)."""
    _drop(conn, "player_availability", "f", "series_id")
    a = _one(conn, "SELECT id FROM player_availability", slot)
    conn.execute(sa.text("UPDATE player_availability SET series_id = :m WHERE id = :i"),
                 {"i": a.id, "m": MISSING})  # fmt: skip
    return Damage({"orphan-player_availability-series_id"}, {("player_availability", int(a.id))})


def unused_series(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """A series no row uses any more, still listed in series_leagues."""
    sid = GONE_SERIES + slot
    conn.execute(sa.text("INSERT INTO series (id, name, display_name) VALUES (:i, :n, :n)"),
                 {"i": sid, "n": f"Series Gone {slot}"})  # fmt: skip
    conn.execute(
        sa.text(
            "INSERT INTO series_leagues (series_id, league_id) SELECT :i, MIN(id) FROM leagues"
        ),
        {"i": sid},
    )
    return Damage({"unused-series", "unused-series-link"}, {("series", sid)})


def unknown_league(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """An instruction on a shared series with no team: nobody can tell its league."""
    shared = conn.execute(
        sa.text(
            "SELECT MIN(series_id) FROM series_leagues GROUP BY series_id "
            "HAVING COUNT(*) > 1 ORDER BY 1 LIMIT 1"
        )
    ).scalar_one()
    iid = INSTRUCTION + slot
    conn.execute(
        sa.text(
            "INSERT INTO user_instructions (id, user_email, instruction, series_id) "
            "VALUES (:i, 'x@example.test', 'whose?', :s)"
        ),
        {"i": iid, "s": shared},
    )
    return Damage({"unknown-league-user_instructions"}, {("user_instructions", iid)})


def bad_status(conn: sa.Connection, b: LegacyBuilder, slot: int) -> Damage:
    """Availability with a status the CHECK forbids (production lacked the check)."""
    _drop(conn, "player_availability", "c")
    a = _one(conn, "SELECT id FROM player_availability", slot)
    conn.execute(sa.text("UPDATE player_availability SET availability_status = 7 WHERE id = :i"),
                 {"i": a.id})  # fmt: skip
    rule = "check-player_availability-ck_player_availability_valid_availability_status"
    return Damage({rule}, {("player_availability", int(a.id))})


DAMAGE: dict[str, Callable[[sa.Connection, LegacyBuilder, int], Damage]] = {
    f.__name__: f
    for f in (
        duplicate_player, standings_without_series, history_without_league,
        history_of_another_league, stale_context, player_on_team_of_other_league,
        standings_team_of_other_league, orphan_availability_player, orphan_history_player,
        orphan_availability_series, unused_series, unknown_league, bad_status,
    )
}  # fmt: skip


def world(leagues: int = 3, per_series: int = 2) -> LegacyBuilder:
    """Leagues sharing "Series 1" and "Series 2", with users, availability, history, fixtures."""
    b = LegacyBuilder()
    keys = ("APTA_CHICAGO", "CNSWPL", "NSTF", "CITA")[:leagues]
    for n, key in enumerate(keys):
        lid = b.league(key)
        for series in ("Series 1", "Series 2"):
            names = []
            for k in range(per_series):
                club = f"Club {n}{k}"
                name = f"{club} {series[-1]}"
                tid = b.team(club, series, lid, name)
                names.append(name)
                pid = b.player(f"p{n}{k}{series}", "F", "L", club, series, lid, tid, None)
                assert pid is not None and tid is not None
                email = f"u{n}{k}{series[-1]}@example.test"
                uid = b.user(email, lid)
                b.association(uid, f"p{n}{k}{series}")
                b.context(uid, lid, tid)
                b.availability("F", pid, uid, series, lid, WHEN)
                b.availability("F", None, uid, series, lid, WHEN + dt.timedelta(days=7), 2)
                b.instruction(email, "bring balls", tid, series, lid)
                b.history(pid, lid, series, Decimal("1.5"))
                b.standing(lid, series, name, tid)
            b.fixture("schedule", lid, WHEN.date(), names[0], names[-1])
            b.fixture("match_scores", lid, WHEN.date(), names[0], names[-1],
                      match_id=f"m{n}{series}")  # fmt: skip
    return b
