"""Damaged legacy databases: each kind of damage is named by the plan, refused without
--resolve, resolved with it (verify clean, meanings kept, exact per-table accounting) and
given back, row for row, by `rally db downgrade legacy`.

Random mixtures: RALLY_DAMAGE_EXAMPLES=100 .venv/bin/pytest tests/legacy/test_damaged.py
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import sqlalchemy as sa
from damage import DAMAGE, Damage, world
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from legacy_builder import LegacyBuilder
from legacy_helpers import observed_meaning, reset_and_load, snapshot

from cli_runner import rally
from rally.db import make_engine


def damaged(url: str, b: LegacyBuilder, kinds: list[str]) -> Damage:
    reset_and_load(url, b, None)
    found = Damage()
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for slot, kind in enumerate(kinds):
                found.merge(DAMAGE[kind](conn, b, slot))
    finally:
        engine.dispose()
    return found


def _rows(snap: dict[str, Any]) -> dict[str, Any]:
    # series_leagues is rebuilt by the downgrade with fresh ids: compared as links below.
    return {k: v for k, v in snap.items() if k.startswith("rows:") and k != "rows:series_leagues"}


def _links(url: str) -> set[tuple[int, int]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.text("SELECT series_id, league_id FROM series_leagues")))
    finally:
        engine.dispose()


def _counts(url: str, tables: list[str]) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables
            }
    finally:
        engine.dispose()


def wrong_meaning(url: str, b: LegacyBuilder, damage: Damage) -> list[object]:
    """Rows that do not mean what they meant (or what their rule says), and deleted rows left."""
    expected = {k: v for k, v in b.meaning.items() if k not in damage.deleted}
    expected.update(damage.meaning)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            seen = observed_meaning(conn, head=True)
    finally:
        engine.dispose()
    wrong: list[object] = [(k, v, seen.get(k)) for k, v in expected.items() if seen.get(k) != v]
    return wrong + [k for k in damage.deleted if k in seen]


def check_resolving_upgrade(
    url: str, b: LegacyBuilder, damage: Damage, *, unrestorable: tuple[str, ...] = ()
) -> None:
    """Plan names it, plain upgrade refuses, --resolve resolves exactly, downgrade gives back."""
    before = snapshot(url)
    links = _links(url)
    code, out = rally("db", "plan", "--json", "--database-url", url)
    plan = json.loads(out)
    assert code == 1 and plan["needs_resolve"] and not plan["blockers"], out
    named = {r["rule"] for r in plan["resolutions"]}
    assert damage.rules <= named, (damage.rules - named, named)
    code, out = rally("db", "upgrade", "--no-backup", "--database-url", url)
    assert (
        code == 1 and "--resolve" in out and "rally db plan" in out and "Nothing was changed" in out
    )
    assert snapshot(url) == before
    tables = list(plan["accounting"])
    rows_before = _counts(url, tables)
    code, out = rally("db", "upgrade", "--no-backup", "--resolve", "--database-url", url)
    assert code == 0, out
    code, out = rally("db", "verify", "--database-url", url)
    assert code == 0 and "quarantine:" in out, out
    # Exactly what the plan showed, and per table: rows after + rows quarantined = rows before.
    code, out = rally("db", "quarantine", "--json", "--database-url", url)
    quarantined = json.loads(out)
    assert quarantined["total"] == sum(r["count"] for r in plan["resolutions"])
    deleted: dict[str, int] = {}
    for row in quarantined["rows"]:
        if row["resolution"].startswith("deleted"):
            deleted[row["table_name"]] = deleted.get(row["table_name"], 0) + 1
            if row["row_id"] is not None:
                assert (row["table_name"], int(row["row_id"].split(":")[0])) in damage.deleted or (
                    row["table_name"] in ("series_leagues", "user_player_associations")
                ), row
    assert {k for k in damage.deleted} <= {
        (r["table_name"], int(r["row_id"]))
        for r in quarantined["rows"]
        if r["resolution"].startswith("deleted")
    }
    rows_after = _counts(url, [t for t in tables if t != "series_leagues"])
    created = plan["data"]["series"]["rows_to_create"]
    for table, after in rows_after.items():
        extra = created if table == "series" else 0
        assert after + deleted.get(table, 0) == rows_before[table] + extra, table
    assert plan["accounting"]["series"]["after"] == rows_after["series"]
    # Every surviving row means what it meant (changed rows: what their rule says).
    wrong = wrong_meaning(url, b, damage)
    assert not wrong, wrong[:5]
    # The way back: every row as it was before the upgrade.
    code, out = rally("db", "downgrade", "legacy", "--no-backup", "--database-url", url)
    assert code == 0, out
    for table in unrestorable:  # changed rows of a table without a primary key: said so
        assert f"changed rows of {table} (no primary key) not restored" in out
    after = _rows(snapshot(url))
    for table in unrestorable:
        after.pop(f"rows:{table}")
        before.pop(f"rows:{table}")
    assert after == _rows(before)
    assert _links(url) == links


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_each_kind_of_damage(scratch_url: str, kind: str) -> None:
    b = world()
    check_resolving_upgrade(scratch_url, b, damaged(scratch_url, b, [kind]))


def test_unknown_rows_can_be_assigned_instead(scratch_url: str) -> None:
    b = world()
    damaged(scratch_url, b, ["unknown_league"])
    code, out = rally("db", "upgrade", "--no-backup", "--assign-unknown", "NSTF",
                      "--database-url", scratch_url)  # fmt: skip
    assert code == 0, out
    engine = make_engine(scratch_url)
    with engine.connect() as conn:
        league = conn.execute(
            sa.text(
                "SELECT l.league_id FROM user_instructions i JOIN leagues l "
                "ON l.id = i.league_id WHERE i.id = 700000000"
            )
        ).scalar_one()
    engine.dispose()
    assert league == "NSTF"


def test_duplicate_merges_into_the_row_of_its_teams_series(scratch_url: str) -> None:
    b = world()
    damaged(scratch_url, b, ["duplicate_player"])
    code, out = rally("db", "upgrade", "--no-backup", "--resolve", "--database-url", scratch_url)
    assert code == 0, out
    engine = make_engine(scratch_url)
    with engine.connect() as conn:
        moved = conn.execute(
            sa.text(
                "SELECT a.player_id, h.player_id FROM player_availability a, player_history h "
                "WHERE a.id = 900000000 AND h.id = 900000000"
            )
        ).one()
        gone = conn.execute(
            sa.text("SELECT COUNT(*) FROM players WHERE id = 900000000")
        ).scalar_one()
    engine.dispose()
    # The copy (updated more recently, but not on its team's series) merged into player 1.
    assert tuple(moved) == (1, 1) and gone == 0


@settings(
    max_examples=int(os.environ.get("RALLY_DAMAGE_EXAMPLES", "4")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    leagues=st.integers(2, 4),
    per_series=st.integers(2, 3),
    kinds=st.lists(st.sampled_from(sorted(DAMAGE)), min_size=1, max_size=6, unique=True),
)
def test_random_mixtures_of_damage(
    scratch_url: str, leagues: int, per_series: int, kinds: list[str]
) -> None:
    b = world(leagues, per_series)
    check_resolving_upgrade(scratch_url, b, damaged(scratch_url, b, kinds))
