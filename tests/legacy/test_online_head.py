"""Revisions 0003-0007 built online before the window: the same data as offline, the old
application's answers linked to their match in the window, abort from part-way through."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from legacy_helpers import Clone, assert_meaning, load_legacy, snapshot
from test_kill import _small_world
from test_online import failed_checks

from rally.db import make_engine, migrate
from rally.legacy.online import OnlineOptions, abort, finalize, upgrade_online
from rally.legacy.online.run import _all_steps, _context, _run, start
from rally.legacy.online.runner import LockBudget, steps


def _rows(url: str, sql: str) -> dict[int, object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {int(k): v for k, v in conn.execute(sa.text(sql))}
    finally:
        engine.dispose()


LINKS = "SELECT id, schedule_id FROM player_availability"
NAMES = "SELECT id, search_name FROM players"


def test_backfilled_data_equals_the_offline_upgrade_and_window_answers_are_linked(
    pg_clone: Clone, legacy_corpus_url: str
) -> None:
    online = pg_clone(legacy_corpus_url)
    engine = make_engine(online)
    with engine.begin() as conn:
        # Legacy answers for days the player's team plays (the corpus has none), some players
        # twice for one day (0004 links the newest): linked by the backfill as offline.
        for status in (1, 2):
            conn.execute(
                sa.text(
                    "INSERT INTO player_availability (player_name, player_id, match_date, "
                    "availability_status, series_id) SELECT p.first_name, p.id, "
                    "(s.match_date::date + time '19:00') AT TIME ZONE 'America/Chicago', "
                    ":st, p.series_id FROM players p JOIN schedule s ON s.home_team_id = p.team_id "
                    "WHERE p.id % :m = 0 ORDER BY p.id, s.id LIMIT 400"
                ),
                {"st": status, "m": 3 * status},
            )
    engine.dispose()
    offline = pg_clone(online)
    engine = make_engine(online)
    log: list[str] = []
    try:
        upgrade_online(engine, OnlineOptions(batch_size=500), log=log.append)
        assert migrate.current(engine).revision == migrate.head_revision()
        off = make_engine(offline)
        try:
            migrate.upgrade(off)
        finally:
            off.dispose()
        links = _rows(online, LINKS)
        assert links == _rows(offline, LINKS)
        assert sum(v is not None for v in links.values()) > 0  # the corpus has linked answers
        assert _rows(online, NAMES) == _rows(offline, NAMES)

        # The window: the old application answers again for a linked match (legacy-shaped
        # insert, no schedule_id): its new answer gets the match, the older one lets go.
        with engine.begin() as conn:
            old_id, player, sid = conn.execute(
                sa.text(
                    "SELECT a.id, a.player_id, a.schedule_id FROM "
                    "player_availability a WHERE a.schedule_id IS NOT NULL ORDER BY a.id LIMIT 1"
                )
            ).one()
            new_id = conn.execute(
                sa.text(
                    "INSERT INTO player_availability (player_name, player_id, match_date, "
                    "availability_status, series_id) SELECT player_name, player_id, match_date, "
                    "2, series_id FROM player_availability WHERE id = :a RETURNING id"
                ),
                {"a": old_id},
            ).scalar_one()
            # An answer for a day without a match stays unlinked, as 0004 leaves it.
            lonely = conn.execute(
                sa.text(
                    "INSERT INTO player_availability (player_name, player_id, match_date, "
                    "availability_status, series_id) SELECT 'x', id, :d, 1, series_id "
                    "FROM players WHERE id = :p RETURNING schedule_id"
                ),
                {"p": player, "d": dt.datetime(1999, 1, 1, tzinfo=dt.UTC)},
            ).scalar_one()
        after = _rows(online, LINKS)
        assert after[new_id] == sid and after[old_id] is None and lonely is None
        # Renamed by the old application: search_name follows (0007's trigger).
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE players SET first_name = 'Ébène' WHERE id = :p"),
                         {"p": player})  # fmt: skip
            folded = conn.execute(
                sa.text("SELECT search_name FROM players WHERE id = :p"), {"p": player}
            ).scalar_one()
        assert folded.startswith("ebene ")
        finalize(engine, log=log.append)
    finally:
        engine.dispose()
    assert failed_checks(online) == []
    assert snapshot(online)["shape"] == snapshot(offline)["shape"]


def test_abort_part_way_through_the_prebuilt_revisions_returns_to_legacy(
    pg_empty_url: str,
) -> None:
    world = _small_world()
    load_legacy(pg_empty_url, world)
    before = snapshot(pg_empty_url)
    engine = make_engine(pg_empty_url)
    log: list[str] = []
    try:
        options = OnlineOptions()
        start(engine, LockBudget(), log.append)
        ctx = _context(engine, options, log.append, lambda _s, _d, _t: None)
        todo = _all_steps()
        cut = next(i for i, s in enumerate(todo) if s.name.startswith("head backfill:"))
        _run(ctx, todo[:cut])  # columns, tables, functions, trigger, constraints: not the rest
        with engine.connect() as conn:
            assert "head expand: availability link" in steps(conn)
            assert conn.execute(sa.text("SELECT to_regclass('calendar_feeds')")).scalar()
        abort(engine, log=log.append)
    finally:
        engine.dispose()
    after = snapshot(pg_empty_url)
    assert after["shape"] == before["shape"]
    # Every row kept. (series_stats keeps the league_id that 0002's backfill filled in its
    # legacy column, as an abort before the pre-built revisions does too.)
    rows = [k for k in before if k.startswith("rows:") and k != "rows:series_stats"]
    assert [after[k] for k in rows] == [before[k] for k in rows]
    assert after["rows:series_stats"][0] == before["rows:series_stats"][0]
    assert_meaning(pg_empty_url, world, head=False)
    # And from there the online upgrade runs again to its end.
    engine = make_engine(pg_empty_url)
    try:
        upgrade_online(engine, OnlineOptions(), log=log.append)
        finalize(engine, log=log.append)
    finally:
        engine.dispose()
    assert failed_checks(pg_empty_url) == []
