"""The real four-league corpus, imported once per backend (the tests here only read)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from rally.db import make_engine
from rally.db.verify import run_checks
from rally.etl.importer import import_corpus
from rally.etl.reader import ParsedCorpus, parse_paths
from rally.etl.records import LEAGUES, Kind, PlayerRecord, ScheduleRecord, StandingRecord
from rally.etl.report import ENTITIES, ImportReport
from rally.etl.team_names import team_key

#: Every table the importer writes.
TABLES = ("leagues", *ENTITIES)


@dataclass
class Imported:
    backend: str
    engine: sa.Engine
    corpus: ParsedCorpus
    report: ImportReport

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))


@pytest.fixture(scope="module")
def corpus(shared_leagues_dir: Path) -> ParsedCorpus:
    return parse_paths([shared_leagues_dir])


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def imported(
    request: pytest.FixtureRequest, db_factory: Any, corpus: ParsedCorpus
) -> Iterator[Imported]:
    url = db_factory.create(request.param)
    engine = make_engine(url)
    report = import_corpus(engine, corpus)
    yield Imported(request.param, engine, corpus, report)
    engine.dispose()
    db_factory.drop(url)


def test_every_league_imported(imported: Imported) -> None:
    assert list(imported.report.leagues) == list(LEAGUES)
    for key, league in imported.report.leagues.items():
        assert league.error is None, key
        assert league.committed
    names = {r[0] for r in imported.rows("SELECT league_id FROM leagues")}
    assert names == set(LEAGUES)


def _input_teams(corpus: ParsedCorpus, league: str) -> set[str]:
    out: set[str] = set()
    for rec in corpus.of(league, Kind.PLAYERS) + corpus.of(league, Kind.STANDINGS):
        assert isinstance(rec, PlayerRecord | StandingRecord)
        out.add(team_key(rec.team_name))
    for rec in corpus.of(league, Kind.SCHEDULE):
        assert isinstance(rec, ScheduleRecord)
        out.update((team_key(rec.home_team), team_key(rec.away_team)))
    return out


@pytest.mark.parametrize("league", list(LEAGUES))
def test_series_teams_and_players_exist_once(imported: Imported, league: str) -> None:
    corpus = imported.corpus
    series_in = {
        rec.series  # type: ignore[union-attr]
        for kind in (Kind.PLAYERS, Kind.STANDINGS, Kind.SCHEDULE)
        for rec in corpus.of(league, kind)
    }
    series_db = [
        r[0]
        for r in imported.rows(
            "SELECT s.name FROM series s JOIN leagues l ON l.id = s.league_id "
            "WHERE l.league_id = :k",
            k=league,
        )
    ]
    assert sorted(series_db) == sorted(series_in)

    teams_db = [
        team_key(r[0])
        for r in imported.rows(
            "SELECT t.team_name FROM teams t JOIN leagues l ON l.id = t.league_id "
            "WHERE l.league_id = :k",
            k=league,
        )
    ]
    assert sorted(teams_db) == sorted(_input_teams(corpus, league))

    players_in = {
        (rec.player_id, team_key(rec.team_name))
        for rec in corpus.of(league, Kind.PLAYERS)
        if isinstance(rec, PlayerRecord)
    }
    players_db = [
        (r[0], team_key(r[1]))
        for r in imported.rows(
            "SELECT p.tenniscores_player_id, t.team_name FROM players p "
            "JOIN teams t ON t.id = p.team_id JOIN leagues l ON l.id = p.league_id "
            "WHERE l.league_id = :k",
            k=league,
        )
    ]
    assert sorted(players_db) == sorted(players_in)


def test_same_series_name_in_three_leagues_is_three_rows(imported: Imported) -> None:
    rows = imported.rows(
        "SELECT l.league_id FROM series s JOIN leagues l ON l.id = s.league_id "
        "WHERE s.name = 'Series 1'"
    )
    assert sorted(r[0] for r in rows) == ["APTA_CHICAGO", "CNSWPL", "NSTF"]


def test_nstf_series_1_standings_list_only_nstf_teams(imported: Imported) -> None:
    rows = imported.rows(
        "SELECT t.team_name, tl.league_id FROM series_stats st "
        "JOIN series s ON s.id = st.series_id JOIN leagues sl ON sl.id = s.league_id "
        "JOIN teams t ON t.id = st.team_id JOIN leagues tl ON tl.id = t.league_id "
        "WHERE s.name = 'Series 1' AND sl.league_id = 'NSTF'"
    )
    assert {league for _, league in rows} == {"NSTF"}
    assert sorted(name for name, _ in rows) == [
        "Birchwood S1",
        "Lake Forest S1",
        "Midtown S1",
        "Tennaqua S1",
        "Wilmette S1 T1",
        "Wilmette S1 T2",
    ]


def test_match_teams_resolve_within_the_league(imported: Imported) -> None:
    rows = imported.rows(
        "SELECT m.home_team, m.home_team_id, t.team_name FROM match_scores m "
        "JOIN leagues l ON l.id = m.league_id LEFT JOIN teams t ON t.id = m.home_team_id "
        "WHERE l.league_id = 'NSTF'"
    )
    by_name = {name: (team_id, team) for name, team_id, team in rows}
    assert by_name["Tennaqua S1"][1] == "Tennaqua S1"
    assert by_name["Lake Forest S1"][1] == "Lake Forest S1"
    # "Wilmette S1" could be T1 or T2: no team, the text is kept.
    assert by_name["Wilmette S1"] == (None, None)
    junk = imported.rows(
        "SELECT count(*) FROM match_scores WHERE scores LIKE '%2025%' OR scores LIKE '%2024%'"
    )
    assert junk[0][0] == 0


def test_cita_results_are_linked_through_the_schedule(imported: Imported) -> None:
    rows = imported.rows(
        "SELECT DISTINCT m.home_team, t.team_name FROM match_scores m "
        "JOIN leagues l ON l.id = m.league_id LEFT JOIN teams t ON t.id = m.home_team_id "
        "WHERE l.league_id = 'CITA'"
    )
    resolved = {name for name, team in rows if team is not None}
    assert "Lifesport - Lincolnshire" in resolved  # one team of that club: by name
    assert "North Shore Racquet Club" in resolved  # ten teams: by the schedule
    total, linked = imported.rows(
        "SELECT count(*), sum(CASE WHEN home_team_id IS NOT NULL AND away_team_id IS NOT NULL "
        "THEN 1 ELSE 0 END) FROM match_scores m JOIN leagues l ON l.id = m.league_id "
        "WHERE l.league_id = 'CITA'"
    )[0]
    # Before: 176 of 3,667 linked (bare club names alone); what stays unlinked is reported.
    assert (total, linked) == (3667, 3413)
    cita = imported.report.leagues["CITA"]
    assert cita.entities["match_scores"].unlinked == total - linked == len(cita.unlinked)
    # Every linked line is a match the schedule lists on that date between those teams.
    unscheduled = imported.rows(
        "SELECT count(*) FROM match_scores m JOIN leagues l ON l.id = m.league_id "
        "JOIN teams h ON h.id = m.home_team_id JOIN teams a ON a.id = m.away_team_id "
        "WHERE l.league_id = 'CITA' AND NOT EXISTS (SELECT 1 FROM schedule s "
        "WHERE s.league_id = m.league_id AND s.match_date = m.match_date AND "
        "((s.home_team_id = h.id AND s.away_team_id = a.id) OR "
        "(s.home_team_id = a.id AND s.away_team_id = h.id)))"
    )[0][0]
    assert unscheduled == 0  # never a pairing the schedule does not have


def test_verify_is_clean_after_import(imported: Imported) -> None:
    with imported.engine.connect() as conn:
        failed = [(r.name, r.violations, r.error) for r in run_checks(conn) if not r.ok]
    assert failed == []


def _snapshot(imported: Imported) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for table in TABLES:
        if imported.backend == "postgresql":
            sql = f"SELECT id, xmin::text FROM {table} ORDER BY id"
        else:
            sql = f"SELECT * FROM {table} ORDER BY id"
        out[table] = [tuple(r) for r in imported.rows(sql)]
    return out


def test_reimport_rewrites_no_row(imported: Imported) -> None:
    before = _snapshot(imported)
    report = import_corpus(imported.engine, imported.corpus)
    after = _snapshot(imported)
    for key, league in report.leagues.items():
        assert league.error is None, key
        assert (league.total("inserted"), league.total("updated")) == (0, 0), key
        assert league.total("deactivated") == 0
        assert league.total("unchanged") > 0
    assert after == before
    assert sum(len(rows) for rows in before.values()) > 30_000
