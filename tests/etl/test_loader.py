"""Upserts, snapshots, per-league transactions, --strict and --dry-run, on both backends."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from etl_rows import player, sample_rows

from rally.etl import loader
from rally.etl.guard import ShrinkGuard
from rally.etl.importer import import_corpus, import_paths
from rally.etl.reader import parse_paths

MakeFiles = Callable[[dict[str, Any]], Path]


def _scalar(engine: sa.Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def _count(engine: sa.Engine, table: str, league: str) -> int:
    return int(
        _scalar(
            engine,
            f"SELECT count(*) FROM {table} t JOIN leagues l ON l.id = t.league_id "
            "WHERE l.league_id = :k",
            k=league,
        )
    )


def test_newer_snapshot_updates_adds_and_deactivates(
    engine: sa.Engine, make_files: MakeFiles
) -> None:
    first = sample_rows()
    report = import_paths(engine, [make_files(first)])
    assert report.ok
    with engine.begin() as conn:
        user = conn.execute(
            sa.text(
                "INSERT INTO users (email, password_hash) VALUES ('u@example.org', 'x') RETURNING id"
            )
        ).scalar_one()
        n2, league = conn.execute(
            sa.text("SELECT id, league_id FROM players WHERE tenniscores_player_id = 'n2'")
        ).one()
        conn.execute(
            sa.text(
                "INSERT INTO player_claims (user_id, player_id, league_id) VALUES (:u, :p, :l)"
            ),
            {"u": user, "p": n2, "l": league},
        )

    second = copy.deepcopy(first)
    players = second["players.json"]
    players[0]["PTI"] = "44.1"  # n1 changed
    del players[1]  # n2 left the roster
    players.append(player("NSTF", "n4", "Wilmette S1 T2", "Series 1", "Wilmette"))
    # One of three players leaving is over the default 20% shrink guard.
    report = import_paths(engine, [make_files(second)], guard=ShrinkGuard(max_share=0.5))

    counts = report.leagues["NSTF"].entities["players"]
    assert (counts.inserted, counts.updated, counts.deactivated, counts.unchanged) == (1, 1, 1, 1)
    assert report.leagues["CNSWPL"].total("inserted") == 0
    assert report.leagues["CNSWPL"].total("updated") == 0
    assert (
        float(_scalar(engine, "SELECT pti FROM players WHERE tenniscores_player_id='n1'")) == 44.1
    )
    assert _scalar(engine, "SELECT is_active FROM players WHERE tenniscores_player_id='n2'") in (
        False,
        0,
    )
    assert _scalar(engine, "SELECT is_active FROM players WHERE tenniscores_player_id='n4'") in (
        True,
        1,
    )
    assert _scalar(engine, "SELECT count(*) FROM player_claims WHERE player_id = :p", p=n2) == 1

    # The player comes back: reactivated, not duplicated (n4 leaves: 1 of 3 again).
    report = import_paths(engine, [make_files(first)], guard=ShrinkGuard(allow=True))
    counts = report.leagues["NSTF"].entities["players"]
    assert (counts.inserted, counts.deactivated) == (0, 1)  # n4 leaves now
    assert _scalar(engine, "SELECT count(*) FROM players WHERE tenniscores_player_id='n2'") == 1
    assert _scalar(engine, "SELECT is_active FROM players WHERE tenniscores_player_id='n2'") in (
        True,
        1,
    )


def test_a_failing_league_leaves_the_others_imported(
    engine: sa.Engine, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = loader.load_league

    def load_then_fail(session: Any, league: str, records: Any, **options: Any) -> Any:
        result = real(session, league, records, **options)
        if league == "NSTF":
            session.flush()
            raise RuntimeError("disk on fire")
        return result

    monkeypatch.setattr(loader, "load_league", load_then_fail)
    report = import_paths(engine, [sample_dir])
    assert report.leagues["NSTF"].error == "RuntimeError: disk on fire"
    assert not report.ok
    assert report.leagues["CNSWPL"].committed
    assert _count(engine, "teams", "CNSWPL") == 2
    assert _scalar(engine, "SELECT count(*) FROM leagues WHERE league_id = 'NSTF'") == 0
    assert _scalar(engine, "SELECT count(*) FROM teams") == 2


def test_strict_fails_only_the_league_with_rejects(
    engine: sa.Engine, make_files: MakeFiles
) -> None:
    rows = sample_rows()
    rows["players.json"].append(player("NSTF", "bad", "Skokie S3", "Series 3", "Skokie", Wins="x"))
    corpus = parse_paths([make_files(rows)])
    report = import_corpus(engine, corpus, strict=True)
    assert report.leagues["NSTF"].failed and "--strict" in str(report.leagues["NSTF"].error)
    assert report.leagues["CNSWPL"].committed
    assert _scalar(engine, "SELECT count(*) FROM leagues WHERE league_id = 'NSTF'") == 0
    assert _count(engine, "players", "CNSWPL") == 2

    report = import_corpus(engine, corpus)  # without --strict the good rows load
    assert report.leagues["NSTF"].entities["players"].inserted == 3
    assert report.leagues["NSTF"].entities["players"].rejected == 1


def test_dry_run_counts_but_writes_nothing(engine: sa.Engine, sample_dir: Path) -> None:
    report = import_paths(engine, [sample_dir], dry_run=True)
    assert report.leagues["NSTF"].entities["teams"].inserted == 3
    assert report.leagues["NSTF"].entities["match_scores"].inserted == 2
    assert _scalar(engine, "SELECT count(*) FROM teams") == 0
    assert _scalar(engine, "SELECT count(*) FROM leagues") == 0


def test_team_ids_of_schedule_and_matches_are_resolved_by_name(
    engine: sa.Engine, sample_dir: Path
) -> None:
    import_paths(engine, [sample_dir])
    row = None
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT h.team_name, a.team_name, s.home_team FROM schedule s "
                "JOIN teams h ON h.id = s.home_team_id JOIN teams a ON a.id = s.away_team_id "
                "JOIN leagues l ON l.id = s.league_id WHERE l.league_id = 'NSTF'"
            )
        ).one()
    assert tuple(row) == ("Wilmette S1 T1", "Lake Forest S1", "Wilmette S1 T1")
    lines = _scalar(
        engine,
        "SELECT count(*) FROM match_scores m JOIN teams t ON t.id = m.away_team_id "
        "WHERE t.team_name = 'Lake Forest S1'",
    )
    assert lines == 2
