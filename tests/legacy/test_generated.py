"""Generated legacy databases: upgrade -> downgrade -> upgrade keeps every row's meaning.

Random leagues, shared series names, rows of every referencing table, an old application's
alembic_version or none, production constraint names that are not the DDL's, and the shape
the database starts in: pristine, or as the earlier fix left it (its script; its script and
revision, see earlier_steps). Every row must end meaning what it meant before any of that.
Deeper runs: RALLY_LEGACY_EXAMPLES=200 .venv/bin/pytest tests/legacy/test_generated.py
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

from earlier_steps import SHAPES, put_through
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from legacy_builder import LegacyBuilder
from legacy_helpers import assert_meaning, reset_and_load

from rally.db import make_engine, migrate
from rally.db.shapes import AFTER_REVISION, EARLIER_REVISION

KEYS = ["APTA_CHICAGO", "CNSWPL", "NSTF", "CITA"]
SERIES = ["Series 1", "Series 2", "Series A"]
CLUBS = ["Winnetka", "Tennaqua", "Hinsdale"]
WHEN = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)


@st.composite
def legacy_worlds(draw: st.DrawFn) -> tuple[LegacyBuilder, str | None, bool, str, bool]:
    """A legacy database as the old import could have left it: shared series everywhere."""
    b = LegacyBuilder(display_names={"Series A": "Series A (Sundays)"})
    lids = [
        b.league(k)
        for k in draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True))
    ]
    teams: list[tuple[int, int, str, str, str]] = []
    for i in range(draw(st.integers(1, 8))):
        lid, club, series = (
            draw(st.sampled_from(lids)),
            draw(st.sampled_from(CLUBS)),
            draw(st.sampled_from(SERIES)),
        )
        name = f"{club} {series[-1]} T{i}"
        tid = b.team(club, series, lid, name)
        if tid is not None:
            teams.append((tid, lid, series, club, name))
    players: list[tuple[int, int, str, int | None]] = []
    seats: set[tuple[str, int, int | None]] = set()
    for tid, lid, series, club, _ in teams:
        for _ in range(draw(st.integers(0, 3))):
            tpid = f"p{draw(st.integers(0, 4))}"
            # The old import stored the roster's series, not always the team's.
            pseries = series if draw(st.booleans()) else draw(st.sampled_from(SERIES))
            if (tpid, lid, tid) in seats:
                continue
            pid = b.player(tpid, "F", "L", club, pseries, lid, tid)
            if pid is not None:
                seats.add((tpid, lid, tid))
                players.append((pid, lid, pseries, tid))
    for _ in range(draw(st.integers(0, 2))):
        lid = draw(st.sampled_from(lids))
        tpid, series = f"q{draw(st.integers(0, 9))}", draw(st.sampled_from(SERIES))
        if (tpid, lid, None) not in seats:
            pid = b.player(tpid, "F", "L", draw(st.sampled_from(CLUBS)), series, lid, None)
            if pid is not None:
                seats.add((tpid, lid, None))
                players.append((pid, lid, series, None))
    for tid, lid, series, _, name in teams:
        if draw(st.booleans()):
            b.standing(lid, series, name, tid, own_league=draw(st.booleans()))
    for table in ("schedule", "match_scores"):
        for _ in range(draw(st.integers(0, 3))):
            home, away = draw(st.sampled_from(teams)), draw(st.sampled_from(teams))
            if home[1] == away[1]:
                b.fixture(
                    table, home[1], WHEN.date(), home[4], away[4], own_league=draw(st.booleans())
                )
    for n, (pid, lid, series, tid) in enumerate(players):
        if not draw(st.booleans()):
            continue
        email = f"u{n}@example.test"
        uid = b.user(email, lid)
        b.context(uid, lid, tid)
        b.availability("F", pid, uid, series, lid, WHEN)
        if draw(st.booleans()):
            # No player on the row: the league of the user's context decides.
            b.availability("F", None, uid, draw(st.sampled_from(SERIES)), lid, WHEN, 3)
        if tid is not None and draw(st.booleans()):
            b.instruction(email, "x", tid, draw(st.sampled_from([None, *SERIES])), lid)
        if draw(st.booleans()):
            b.instruction(email, "general", None, None, None)
        if draw(st.booleans()):
            b.history(pid, lid, series, Decimal("1.5"))
    if draw(st.booleans()):
        b.series("Series Unused", lids[0])
    old_revision = draw(st.sampled_from([None, "a1b2c3d4e5f6"]))
    # Production's constraint names need not be the DDL's.
    return b, old_revision, draw(st.booleans()), draw(st.sampled_from(SHAPES)), draw(st.booleans())


@settings(
    max_examples=int(os.environ.get("RALLY_LEGACY_EXAMPLES", "10")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=legacy_worlds())
def test_generated_legacy_databases_survive_upgrade_downgrade_upgrade(
    scratch_url: str, world: tuple[LegacyBuilder, str | None, bool, str, bool]
) -> None:
    b, old_revision, rename, shape, keep_script_backup = world
    reset_and_load(scratch_url, b, old_revision, rename=rename)
    put_through(scratch_url, shape, keep_script_backup=keep_script_backup)
    engine = make_engine(scratch_url)
    try:
        # An unused series is damage (quarantined, put back by the downgrade): --resolve.
        before, after = migrate.upgrade(engine, resolve=True)
        assert before.kind == "legacy" and before.shape == shape
        expected = EARLIER_REVISION if shape == AFTER_REVISION else old_revision
        assert before.foreign_revision == expected
        assert after.revision == migrate.head_revision()
        # `rally db verify`'s checks already passed inside the upgrade's transaction.
        assert_meaning(scratch_url, b, head=True)
        assert migrate.downgrade(engine, revision="legacy").kind == "legacy"
        assert_meaning(scratch_url, b, head=False)
        migrate.upgrade(engine, resolve=True)
        assert_meaning(scratch_url, b, head=True)
    finally:
        engine.dispose()
