"""Fixed costs the importer avoids, with the same results: a second parse of the first
league's files, reading back a new league's (empty) tables, loading every rostered player
to link a few ambiguous lines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from etl_rows import fixture_row, match, player, sample_rows, standing

from rally.db import make_engine
from rally.etl import files, importer, scan
from rally.etl.importer import import_paths
from rally.etl.matches import Linker, _Pending
from rally.etl.report import LeagueReport

MakeFiles = Callable[[dict[str, Any]], Path]


def _by_league(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Split the sample files into one directory per league (as the scrapers write them)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, found in rows.items():
        for row in found:
            league = row.get("League") or row.get("league_id")
            out.setdefault(f"{league}/{name}", []).append(row)
    return out


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count how often each file is parsed (in this process: the two lanes are off, see
    rally.etl.lanes; a second process's parses would go uncounted)."""
    monkeypatch.setattr(importer, "LANES", False)
    counts: Counter[str] = Counter()
    original = files.iter_rows

    def counting(path: Path, fast: bool | None = None) -> Iterator[Any]:
        counts[f"{path.parent.name}/{path.name}"] += 1
        return original(path, fast)

    monkeypatch.setattr(files, "iter_rows", counting)
    return counts


def _outcome(engine: sa.Engine, folder: Path) -> dict[str, Any]:
    report = import_paths(engine, [folder])
    return {
        key: {name: vars(counts) for name, counts in league.entities.items()}
        for key, league in report.leagues.items()
    } | {"rejects": len(report.rejects)}


def test_the_first_league_is_read_without_parsing_its_files_again(
    engine: sa.Engine, make_files: MakeFiles, parses: Counter[str]
) -> None:
    outcome = _outcome(engine, make_files(_by_league(sample_rows())))
    # CNSWPL comes first: the check's parse is reused. NSTF's files are parsed again
    # (their read overlaps CNSWPL's load).
    assert {name: n for name, n in parses.items() if name.startswith("CNSWPL/")} == {
        "CNSWPL/players.json": 1,
        "CNSWPL/standings.json": 1,
        "CNSWPL/schedule.json": 1,
        "CNSWPL/matches.json": 1,
    }
    assert {name: n for name, n in parses.items() if name.startswith("NSTF/")} == {
        "NSTF/players.json": 2,
        "NSTF/standings.json": 2,
        "NSTF/schedule.json": 2,
        "NSTF/matches.json": 2,
    }
    assert outcome["CNSWPL"]["players"]["inserted"] == 2
    assert outcome["NSTF"]["match_scores"]["inserted"] == 2


def test_files_over_the_budget_are_parsed_again_with_the_same_result(
    db_factory: Any,
    backend: str,
    make_files: MakeFiles,
    parses: Counter[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = make_files(_by_league(sample_rows()))
    kept = _outcome_in(db_factory.create(backend), folder)
    monkeypatch.setattr(scan, "PARSED_TOTAL_BYTES", 0)
    parses.clear()
    parsed_again = _outcome_in(db_factory.create(backend), folder)
    assert set(parses.values()) == {2}
    assert parsed_again == kept


def _outcome_in(url: str, folder: Path) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        return _outcome(engine, folder)
    finally:
        engine.dispose()


def test_a_new_league_is_not_read_back_on_postgresql(
    engine: sa.Engine, make_files: MakeFiles
) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", seen)
    folder = make_files(sample_rows())
    first = _outcome(engine, folder)
    read_back = [s for s in statements if s.startswith("SELECT") and "FROM players" in s]
    postgres = engine.dialect.name == "postgresql"
    # SQLite may reuse a deleted league's id: there the league's rows are always read.
    assert bool(read_back) is not postgres
    statements.clear()
    report = import_paths(engine, [folder], force=True)
    assert any(s.startswith("SELECT") and "FROM players" in s for s in statements)
    again = {name: vars(c) for name, c in report.leagues["NSTF"].entities.items()}
    assert first["NSTF"]["players"]["inserted"] == again["players"]["unchanged"] == 3
    assert again["players"]["inserted"] == again["players"]["updated"] == 0


# --- linking bare club names: compact evidence ---------------------------------------------


def _cita(extra_players: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    thu, sun = "Series 3.0 Thur", "Series 4.0 Sun"

    def result(date: str, home: tuple[str, str | None], away: str) -> Any:
        return match(
            "CITA",
            date,
            "NSRC",
            "Midtown",
            1,
            match_id=None,
            **{
                "Home Player 1 ID": home[0],
                "Home Player 2 ID": home[1],
                "Away Player 1 ID": away,
                "Away Player 2 ID": None,
            },
        )

    return {
        "players.json": [
            player("CITA", "r1", "NSRC - 4.0 Sun", sun, "NSRC"),
            player("CITA", "r2", "Midtown - 4.0 Sun", sun, "Midtown"),
            # On both NSRC teams: alone, r3 does not tell which.
            player("CITA", "r3", "NSRC - 3.0 Thur", thu, "NSRC"),
            player("CITA", "r3", "NSRC - 4.0 Sun", sun, "NSRC"),
            player("CITA", "r4", "Midtown - 3.0 Thur", thu, "Midtown"),
            *extra_players,
        ],
        "standings.json": [
            standing("CITA", thu, "NSRC"),
            standing("CITA", thu, "Midtown"),
            standing("CITA", sun, "NSRC"),
            standing("CITA", sun, "Midtown"),
        ],
        "schedule.json": [
            fixture_row("CITA", "01/05/2025", "NSRC - 3.0 Thur", "Midtown - 3.0 Thur", thu),
        ],
        "matches.json": [
            # Not scheduled: the rosters place r1 and r2 on the Sunday teams.
            result("19-Jan-25", ("r1", None), "r2"),
            # r3 is on both NSRC teams, r1 on Sunday's only: together, Sunday.
            result("26-Jan-25", ("r3", "r1"), "r2"),
            # r3 alone does not tell; r4 is on Thursday's Midtown team.
            result("02-Feb-25", ("r3", None), "r4"),
            # Nobody known: stays unlinked.
            result("09-Feb-25", ("z1", None), "z2"),
        ],
    }


def _linked(engine: sa.Engine) -> list[tuple[str, str | None, str | None]]:
    query = sa.text(
        "SELECT m.match_date, h.team_name, a.team_name FROM match_scores m "
        "LEFT JOIN teams h ON h.id = m.home_team_id LEFT JOIN teams a ON a.id = m.away_team_id "
        "ORDER BY m.match_date"
    )
    with engine.connect() as conn:
        return [(str(d), h, a) for d, h, a in conn.execute(query)]


def test_ambiguous_lines_link_through_the_rosters_of_their_players(
    engine: sa.Engine, make_files: MakeFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[set[str] | None] = []
    original = Linker.load_rosters

    def load_rosters(self: Linker, players: set[str] | None = None) -> None:
        asked.append(None if players is None else set(players))
        original(self, players)

    monkeypatch.setattr(Linker, "load_rosters", load_rosters)
    # Many more rostered players, none on an ambiguous line: their teams are not loaded.
    bystanders = [
        player("CITA", f"b{n}", "Midtown - 3.0 Thur", "Series 3.0 Thur", "Midtown")
        for n in range(50)
    ]
    report = import_paths(engine, [make_files(_cita(bystanders))])
    assert _linked(engine) == [
        ("2025-01-19", "NSRC - 4.0 Sun", "Midtown - 4.0 Sun"),
        ("2025-01-26", "NSRC - 4.0 Sun", "Midtown - 4.0 Sun"),
        ("2025-02-02", None, "Midtown - 3.0 Thur"),
        ("2025-02-09", None, None),
    ]
    assert asked == [{"r1", "r2", "r3", "r4", "z1", "z2"}]
    assert report.leagues["CITA"].entities["match_scores"].unlinked == 2


def test_pending_rows_keep_positions_line_texts_and_players() -> None:
    pending = _Pending()
    assert not pending
    pending.add(3, "Line 1", ("a", None))
    pending.add(7, "Line 2", (None, "b"))
    pending.add(9, "Line 1", ())
    lines = pending.lines()
    found = {position: lines.get(position, "-") for position in range(12)}
    assert found == {p: "-" for p in range(12)} | {3: "Line 1", 7: "Line 2", 9: "Line 1"}
    assert pending.players == {"a", "b"}
    assert pending.texts == ["Line 1", "Line 2"]  # each line text kept once


def test_unlinked_rows_share_their_texts() -> None:
    report = LeagueReport(league="CITA")
    for day in ("2025-01-05", "2025-01-05", "2025-01-12"):
        row = {"match_date": day, "home_team": "".join(["NS", "RC"]), "away_team": "Midtown"}
        report.add_unlinked("match_scores", row, " ".join(["2 teams could be", "'NSRC'"]))
    first, second, third = report.unlinked
    assert first == second != third
    assert first.reason is second.reason is third.reason
    assert first.home_team is third.home_team and first.match_date is second.match_date
    assert report.entities["match_scores"].unlinked == 3
    assert not hasattr(first, "__dict__")  # slots
