"""Legacy availability answers (a date, no match) are linked to their team's match of that day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from legacy_builder import LegacyBuilder
from legacy_helpers import reset_and_load

from cli_runner import rally
from rally.db import make_engine

CHICAGO = ZoneInfo("America/Chicago")
MATCH_DAY = dt.date(2025, 1, 14)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO)


def test_each_player_and_day_links_its_newest_answer_to_the_match(scratch_url: str) -> None:
    b = LegacyBuilder()
    nstf = b.league("NSTF")
    home = b.team("Tennaqua", "Series 1", nstf, "Tennaqua S1")
    b.team("Winnetka", "Series 1", nstf, "Winnetka S1")
    ann = b.player("nstf-ann", "Ann", "Lee", "Tennaqua", "Series 1", nstf, home)
    bob = b.player("nstf-bob", "Bob", "Ray", "Tennaqua", "Series 1", nstf, home)
    match = b.fixture("schedule", nstf, MATCH_DAY, "Tennaqua S1", "Winnetka S1")
    # Ann answered twice for the match day: the newer answer is linked, the older stays.
    older = b.availability("Ann Lee", ann, None, "Series 1", nstf, _at(MATCH_DAY, 9), 2)
    newer = b.availability("Ann Lee", ann, None, "Series 1", nstf, _at(MATCH_DAY, 10), 1)
    # 23:30 in Chicago is the next day in UTC: still the match day in the league's zone.
    late = b.availability("Bob Ray", bob, None, "Series 1", nstf, _at(MATCH_DAY, 23, 30), 1)
    # No match that day, and no player: nothing to link.
    idle = b.availability(
        "Bob Ray", bob, None, "Series 1", nstf, _at(MATCH_DAY, 12) + dt.timedelta(days=3)
    )
    ghost = b.availability("Ghost", None, None, "Series 1", nstf, _at(MATCH_DAY, 11))
    reset_and_load(scratch_url, b, None)

    code, out = rally(
        "db", "upgrade", "--resolve", "--assign-unknown", "NSTF", "--database-url", scratch_url
    )
    assert code == 0, out

    engine = make_engine(scratch_url)
    try:
        with engine.connect() as conn:
            linked = dict(
                conn.execute(sa.text("SELECT id, schedule_id FROM player_availability")).all()
            )
    finally:
        engine.dispose()
    assert linked[newer] == match and linked[late] == match
    assert linked[older] is None and linked[idle] is None and linked.get(ghost) is None
