"""Small corpora on PostgreSQL load in two processes at once (rally.etl.lanes): the same
outcome as one after the other, clubs shared by leagues created once, nothing left behind by
a league that fails in either process, and a second process that dies or raises is told."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from etl_rows import player, standing

from rally.db import make_engine
from rally.etl import importer, lanes, loader
from rally.etl.guard import ShrinkRefused
from rally.etl.importer import import_paths

MakeFiles = Callable[[dict[str, Any]], Path]


def _roster(league: str, club: str, players: int, tag: str) -> list[dict[str, Any]]:
    team = f"{club} {tag}"
    return [player(league, f"{tag}-{i}", team, "Series 1", club) for i in range(players)]


def _files(*rosters: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [row for roster in rosters for row in roster]
    teams = {(row["League"], row["Team"]) for row in rows}
    return {
        "players.json": rows,
        "standings.json": [standing(league, "Series 1", team) for league, team in sorted(teams)],
    }


def _two_leagues(make_files: MakeFiles, club: str | None = None, cnswpl: int = 2) -> Path:
    """NSTF with 6 players (the bigger league: this process loads it) and CNSWPL with
    ``cnswpl`` (the second process), each on its own club, or both on ``club``."""
    return make_files(
        _files(
            _roster("NSTF", club or "Wilmette", 6, "N1"),
            _roster("CNSWPL", club or "Hinsdale", cnswpl, "C1"),
        )
    )


@pytest.fixture
def lanes_used(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many imports went through the two lanes."""
    calls: list[int] = []
    original = lanes.in_two_lanes

    def spy(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        original(*args, **kwargs)

    monkeypatch.setattr(lanes, "in_two_lanes", spy)
    return calls


def _clubs(engine: sa.Engine) -> dict[str, list[str]]:
    """Club name -> the leagues linked to it."""
    sql = (
        "SELECT c.name, l.league_id FROM clubs c LEFT JOIN club_leagues cl ON cl.club_id = c.id "
        "LEFT JOIN leagues l ON l.id = cl.league_id ORDER BY c.name, l.league_id"
    )
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for name, league in conn.execute(sa.text(sql)):
            out.setdefault(name, []).extend([league] if league else [])
    return out


def _outcome(engine: sa.Engine) -> dict[str, Any]:
    tables = ("clubs", "club_leagues", "series", "teams", "players", "series_stats")
    with engine.connect() as conn:
        counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}
    return counts | {"clubs by name": _clubs(engine)}


def test_two_lanes_give_what_one_gives(
    pg_db_url: str, make_files: MakeFiles, lanes_used: list[int]
) -> None:
    # Two leagues name the same new club: each league's clubs are committed first, once.
    folder = _two_leagues(make_files, "Shared Club", cnswpl=3)
    engine = make_engine(pg_db_url)
    try:
        report = import_paths(engine, [folder])
        assert lanes_used == [1] and report.ok
        assert all(league.committed for league in report.leagues.values())
        together = _outcome(engine)
        assert together["clubs by name"] == {"Shared Club": ["CNSWPL", "NSTF"]}
        inserted = sum(r.entity("clubs").inserted for r in report.leagues.values())
        assert inserted == 1
        assert together["players"] == 9 and together["teams"] == 2
        # Importing again changes nothing, in either mode.
        again = import_paths(engine, [folder], force=True)
        assert lanes_used == [1, 1] and again.ok
        assert all(
            c.inserted == c.updated == 0
            for r in again.leagues.values()
            for c in r.entities.values()
        )
        assert _outcome(engine) == together
    finally:
        engine.dispose()


@pytest.mark.parametrize("failing", ["NSTF", "CNSWPL"])
def test_a_league_refused_in_either_lane_leaves_no_club_behind(
    pg_db_url: str, make_files: MakeFiles, lanes_used: list[int], failing: str
) -> None:
    engine = make_engine(pg_db_url)
    try:
        first = make_files(
            _files(_roster("NSTF", "Wilmette", 10, "N1"), _roster("CNSWPL", "Hinsdale", 10, "C1"))
        )
        assert import_paths(engine, [first]).ok
        # The failing league's snapshot shrinks to one player on a new club (the guard
        # refuses it); the other grows, with a new club of its own. The bigger league loads
        # in this process, the other in the second one: both directions are tried.
        other = "CNSWPL" if failing == "NSTF" else "NSTF"
        club, tag = {"NSTF": ("Wilmette", "N1"), "CNSWPL": ("Hinsdale", "C1")}[other]
        second = make_files(
            _files(
                _roster(failing, "Ghost Club", 1, "G1"),
                _roster(other, club, 10, tag),
                _roster(other, "Fresh Club", 2, "F1"),
            )
        )
        report = import_paths(engine, [second])
        assert lanes_used == [1, 1]
        assert not report.leagues[failing].committed
        assert "would mark" in (report.leagues[failing].error or "")
        assert report.leagues[other].committed
        clubs = _clubs(engine)
        assert "Ghost Club" not in clubs
        assert clubs["Fresh Club"] == [other]
    finally:
        engine.dispose()


def test_a_second_process_that_dies_fails_its_leagues_only(
    pg_db_url: str, make_files: MakeFiles, lanes_used: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = loader.load_league

    def dies_for_cnswpl(session: Any, league: str, *args: Any, **kwargs: Any) -> Any:
        if league == "CNSWPL":  # the smaller league: the second process loads it
            os._exit(9)
        return original(session, league, *args, **kwargs)

    monkeypatch.setattr(loader, "load_league", dies_for_cnswpl)
    folder = _two_leagues(make_files)
    engine = make_engine(pg_db_url)
    try:
        report = import_paths(engine, [folder])
        assert lanes_used == [1]
        assert report.leagues["NSTF"].committed
        assert not report.leagues["CNSWPL"].committed
        assert "ended with exit code 9" in (report.leagues["CNSWPL"].error or "")
        assert not report.ok
        assert _clubs(engine) == {"Wilmette": ["NSTF"]}  # Hinsdale was committed, then dropped
    finally:
        engine.dispose()


def test_an_error_in_the_second_process_is_raised_here(
    pg_db_url: str, make_files: MakeFiles, lanes_used: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = importer.LeagueReader.read

    def fails_for_cnswpl(self: importer.LeagueReader, *args: Any, **kwargs: Any) -> None:
        if self.league == "CNSWPL":
            raise ShrinkRefused("raised in the second process")
        original(self, *args, **kwargs)

    monkeypatch.setattr(importer.LeagueReader, "read", fails_for_cnswpl)
    folder = _two_leagues(make_files)
    engine = make_engine(pg_db_url)
    try:
        with pytest.raises(ShrinkRefused, match="raised in the second process"):
            import_paths(engine, [folder])
        assert lanes_used == [1]
        assert _clubs(engine) == {"Wilmette": ["NSTF"]}
    finally:
        engine.dispose()


def test_no_lanes_for_a_dry_run(
    pg_db_url: str, make_files: MakeFiles, lanes_used: list[int]
) -> None:
    folder = _two_leagues(make_files)
    engine = make_engine(pg_db_url)
    try:
        report = import_paths(engine, [folder], dry_run=True)
        assert lanes_used == [] and report.ok
        assert _clubs(engine) == {}
    finally:
        engine.dispose()


def test_without_a_second_process_the_leagues_load_one_after_the_other(
    pg_db_url: str, make_files: MakeFiles, lanes_used: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing.process

    def cannot_fork(self: Any) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", cannot_fork)
    folder = _two_leagues(make_files, "Shared Club")
    engine = make_engine(pg_db_url)
    try:
        report = import_paths(engine, [folder])
        assert lanes_used == [1] and report.ok
        assert all(league.committed for league in report.leagues.values())
        assert _clubs(engine) == {"Shared Club": ["CNSWPL", "NSTF"]}
    finally:
        engine.dispose()


def test_the_second_process_sends_one_message_at_a_time() -> None:
    # Its reader thread reports progress while its main thread loads: messages bigger than
    # a pipe's atomic write, sent from two threads at once, must all arrive whole.
    import multiprocessing
    import threading

    receive, send = multiprocessing.Pipe(duplex=False)
    relay = lanes._Relay(send)
    payload = "x" * 70_000
    got: list[Any] = []
    reader = threading.Thread(
        target=lambda: got.extend(receive.recv() for _ in range(400)), daemon=True
    )
    reader.start()
    senders = [
        threading.Thread(
            target=lambda n=n: [relay.send("load", (n, i, payload)) for i in range(200)],
            daemon=True,
        )
        for n in range(2)
    ]
    for thread in senders:
        thread.start()
    for thread in [*senders, reader]:  # interleaved writes would stall or garble the pipe
        thread.join(timeout=20)
    assert len(got) == 400 and all(what == "load" and args[2] == payload for what, args in got)
