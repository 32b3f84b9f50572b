"""Safety of `rally db upgrade`/`downgrade` on small legacy databases: refusals and rollbacks."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from legacy_builder import LegacyBuilder
from legacy_helpers import assert_meaning, reset_and_load, snapshot

from cli_runner import rally
from rally.db import make_engine, migrate

WHEN = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)


def _world_with_unknown_rows() -> LegacyBuilder:
    b = LegacyBuilder()
    apta, nstf = b.league("APTA_CHICAGO"), b.league("NSTF")
    b.team("Winnetka", "Series 1", apta, "Winnetka 1")
    b.team("Tennaqua", "Series 1", nstf, "Tennaqua S1")
    # Nothing says which league these rows are of: no player, no user, no team.
    b.availability("Ghost", None, None, "Series 1", nstf, WHEN)
    b.fixture("schedule", nstf, WHEN.date(), "Nobody A", "Nobody B", own_league=False)
    return b


def test_unknown_rows_are_quarantined_or_assigned(scratch_url: str) -> None:
    b = _world_with_unknown_rows()
    reset_and_load(scratch_url, b, None)
    before = snapshot(scratch_url)
    code, out = rally("db", "plan", "--json", "--database-url", scratch_url)
    assert code == 1
    plan = json.loads(out)
    found = {(r["rule"], r["table"]): [s["id"] for s in r["samples"]] for r in plan["resolutions"]}
    assert found == {
        ("unknown-league-player_availability", "player_availability"): ["1"],
        ("unknown-league-schedule-no-series", "schedule"): ["1"],
    }
    code, out = rally("db", "upgrade", "--no-backup", "--database-url", scratch_url)
    assert code == 1 and "--resolve" in out and "rally db plan" in out
    assert "rows whose league cannot be determined" in out
    code, out = rally(
        "db", "upgrade", "--no-backup", "--assign-unknown", "BOGUS", "--database-url", scratch_url
    )
    assert code == 2 and "Unknown league 'BOGUS'" in out
    assert snapshot(scratch_url) == before
    code, out = rally(
        "db", "plan", "--assign-unknown", "NSTF", "--json", "--database-url", scratch_url
    )
    assert code == 0 and json.loads(out)["resolutions"] == []
    code, out = rally(
        "db", "upgrade", "--no-backup", "--assign-unknown", "NSTF", "--database-url", scratch_url
    )
    assert code == 0, out
    assert_meaning(scratch_url, b, head=True)


def test_a_violation_no_rule_covers_blocks_by_name(scratch_url: str) -> None:
    b = _small_shared_world()
    reset_and_load(scratch_url, b, None)
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        # Production lacked the unique constraint: two teams of one name in one league.
        conn.execute(sa.text("ALTER TABLE teams DROP CONSTRAINT unique_team_name_per_league"))
        conn.execute(sa.text("ALTER TABLE teams DROP CONSTRAINT unique_team_club_series_league"))
        conn.execute(
            sa.text(
                "INSERT INTO teams (id, club_id, series_id, league_id, team_name, display_name) "
                "SELECT 50, club_id, series_id, league_id, team_name, 'twin' FROM teams "
                "WHERE id = 1"
            )
        )
    engine.dispose()
    before = snapshot(scratch_url)
    code, out = rally("db", "plan", "--resolve", "--database-url", scratch_url)
    assert code == 1 and "BLOCKED" in out
    assert "UNIQUE teams (team_name, league_id)" in out and "rows 1, 50" in out
    code, out = rally("db", "upgrade", "--resolve", "--no-backup", "--database-url", scratch_url)
    assert (
        code == 1 and "UNIQUE teams (team_name, league_id)" in out and "Nothing was changed" in out
    )
    assert "database error" not in out
    assert snapshot(scratch_url) == before


def test_downgrade_refuses_two_teams_of_one_club_in_one_series(pg_db_url: str) -> None:
    engine = make_engine(pg_db_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO leagues (id, league_id, league_name) VALUES (1, 'NSTF', 'N')")
        )
        conn.execute(sa.text("INSERT INTO clubs (id, name) VALUES (1, 'Wilmette')"))
        conn.execute(
            sa.text(
                "INSERT INTO series (id, name, display_name, league_id) VALUES (1, 'Series 1', 'Series 1', 1)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO teams (id, club_id, series_id, league_id, team_name, display_name) VALUES "
                "(1, 1, 1, 1, 'Wilmette S1 T1', 'T1'), (2, 1, 1, 1, 'Wilmette S1 T2', 'T2')"
            )
        )
    engine.dispose()
    before = snapshot(pg_db_url)
    code, out = rally("db", "downgrade", "legacy", "--no-backup", "--database-url", pg_db_url)
    assert code == 1
    assert "teams 1 (Wilmette S1 T1), 2 (Wilmette S1 T2)" in out
    assert "unique_team_club_series_league" in out
    assert snapshot(pg_db_url) == before


def test_plan_on_head_and_empty_databases(
    pg_db_url: str, pg_empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("rally.cli._common.is_terminal", lambda: True)  # what a person sees
    code, out = rally("db", "plan", "--database-url", pg_db_url)
    assert code == 0 and "already at head" in out
    code, out = rally("db", "plan", "--json", "--database-url", pg_empty_url)
    assert code == 0 and json.loads(out)["kind"] == "empty"
    code, out = rally("db", "plan", "--database-url", "postgresql://postgres@127.0.0.1:1/nowhere")
    assert code == 2 and len(out.strip().splitlines()) == 1


def _small_shared_world() -> LegacyBuilder:
    b = LegacyBuilder()
    apta, nstf = b.league("APTA_CHICAGO"), b.league("NSTF")
    for lid, club in ((apta, "Winnetka"), (nstf, "Tennaqua")):
        tid = b.team(club, "Series 1", lid, f"{club} 1")
        b.player(f"p-{club}", "F", "L", club, "Series 1", lid, tid)
    return b


def test_failed_integrity_check_rolls_everything_back(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rally.db import verify

    reset_and_load(scratch_url, _small_shared_world(), "old-app-rev")
    before = snapshot(scratch_url)
    broken = verify.CheckResult("teams.series_id same league", "forced", 1, [{"row_id": 1}])
    monkeypatch.setattr(verify, "run_checks", lambda conn: [broken])
    engine = make_engine(scratch_url)
    try:
        with pytest.raises(
            migrate.VerifyFailed, match=r"rolled back.*teams\.series_id same league"
        ):
            migrate.upgrade(engine)
    finally:
        engine.dispose()
    assert snapshot(scratch_url) == before


def test_lock_timeout_gives_up_without_changing_anything(scratch_url: str) -> None:
    b = _small_shared_world()
    reset_and_load(scratch_url, b, None)
    before = snapshot(scratch_url)
    holder = make_engine(scratch_url)
    engine = make_engine(scratch_url)
    try:
        with holder.begin() as conn:
            # An application transaction reading players holds its lock throughout.
            conn.execute(sa.text("SELECT * FROM players"))
            with pytest.raises(migrate.LockTimeout, match="Nothing was changed"):
                migrate.upgrade(engine, lock_timeout_s=0.2, retries=2)
        assert snapshot(scratch_url) == before
        migrate.upgrade(engine)
        assert_meaning(scratch_url, b, head=True)
    finally:
        engine.dispose()
        holder.dispose()


def test_player_on_a_team_of_another_league_is_resolved(scratch_url: str) -> None:
    b = LegacyBuilder()
    apta, nstf = b.league("APTA_CHICAGO"), b.league("NSTF")
    team = b.team("Winnetka", "Series 1", apta, "Winnetka 1")
    b.player("p1", "F", "L", "Winnetka", "Series 1", nstf, team)  # an NSTF player on an APTA team
    reset_and_load(scratch_url, b, None)
    before = snapshot(scratch_url)
    code, out = rally("db", "plan", "--database-url", scratch_url)
    assert code == 1 and "[players-team_id-other-league] 1 players rows" in out
    assert "players 1: team_id 1 -> NULL (team of league APTA_CHICAGO)" in out
    code, out = rally("db", "upgrade", "--no-backup", "--database-url", scratch_url)
    assert code == 1 and "--resolve" in out and "Nothing was changed" in out
    assert snapshot(scratch_url) == before
    code, out = rally("db", "upgrade", "--resolve", "--no-backup", "--database-url", scratch_url)
    assert code == 0, out
    assert_meaning(scratch_url, b, head=True)
    code, out = rally("db", "quarantine", "--json", "--database-url", scratch_url)
    assert code == 0
    (row,) = json.loads(out)["rows"]
    assert (row["table_name"], row["row_id"], row["row"]["team_id"]) == ("players", "1", 1)


def test_teamless_rows_of_one_player_do_not_block(scratch_url: str) -> None:
    # The old import dropped a second team of a club in one series and kept its players
    # without a team: one person may so hold several team-less rows. They are not duplicates.
    b = LegacyBuilder()
    apta = b.league("APTA_CHICAGO")
    b.player("p1", "Ann", "Lee", "Winnetka", "Series 1", apta, None)
    b.player("p1", "Ann", "Lee", "Winnetka", "Series 2", apta, None)
    reset_and_load(scratch_url, b, None)
    code, out = rally("db", "plan", "--json", "--database-url", scratch_url)
    assert code == 0, out
    code, out = rally("db", "upgrade", "--no-backup", "--database-url", scratch_url)
    assert code == 0, out
    assert_meaning(scratch_url, b, head=True)
