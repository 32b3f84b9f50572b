"""Reading files: kind from content, league per row, row rejects, file-level errors."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from etl_rows import match, player, sample_rows, standing

from rally.etl.reader import (
    ImportFileError,
    MalformedJSON,
    UnknownKind,
    UnreadableFile,
    WrongShape,
    parse_paths,
)
from rally.etl.records import Kind, MatchRecord, PlayerRecord, ScheduleRecord, StandingRecord

MakeFiles = Callable[[dict[str, Any]], Path]


def test_kind_comes_from_content_not_file_name(make_files: MakeFiles) -> None:
    directory = make_files(
        {
            "schedules.json": [player("NSTF", "n1", "Wilmette S1 T1", "Series 1", "Wilmette")],
            "nested/players.json": [standing("NSTF", "Series 1", "Wilmette S1 T1")],
        }
    )
    corpus = parse_paths([directory])
    assert {f.path.name: f.kind for f in corpus.files} == {
        "schedules.json": Kind.PLAYERS,
        "players.json": Kind.STANDINGS,
    }


def test_sample_records_are_normalised(sample_dir: Path) -> None:
    corpus = parse_paths([sample_dir])
    assert corpus.rejects == []
    assert corpus.leagues() == ["CNSWPL", "NSTF"]
    nstf_players = corpus.of("NSTF", Kind.PLAYERS)
    lake_forest = next(
        p for p in nstf_players if isinstance(p, PlayerRecord) and p.player_id == "n3"
    )
    assert (lake_forest.team_name, lake_forest.club, lake_forest.pti) == (
        "Lake Forest S1",
        "Lake Forest",
        None,
    )
    first = nstf_players[0]
    assert isinstance(first, PlayerRecord) and first.pti == Decimal("42.5")
    sched = corpus.of("NSTF", Kind.SCHEDULE)[0]
    assert isinstance(sched, ScheduleRecord)
    assert (sched.home_team, sched.away_team) == ("Wilmette S1 T1", "Lake Forest S1")
    assert (sched.match_date, sched.match_time) == (dt.date(2025, 5, 29), dt.time(18, 30))
    line = corpus.of("NSTF", Kind.MATCHES)[0]
    assert isinstance(line, MatchRecord)
    assert line.match_date == dt.date(2025, 5, 29)
    assert line.home_player_2 == "Bea B"
    assert line.substitutes == (False, True, False, False)
    assert (line.line, line.winner) == (1, "home")


def test_league_filter_skips_other_leagues(sample_dir: Path) -> None:
    corpus = parse_paths([sample_dir], leagues={"NSTF"})
    assert corpus.leagues() == ["NSTF"]
    assert sum(f.skipped for f in corpus.files) > 0


BAD_ROWS: list[tuple[dict[str, Any], str]] = [
    (
        {
            k: v
            for k, v in player("NSTF", "x", "Skokie S3", "Series 3", "Skokie").items()
            if k != "Player ID"
        },
        "missing required field 'Player ID'",
    ),
    (player("NSTF", "x", "Skokie S3", "Series 3", "Skokie", Wins="three"), "'Wins' is not a whole"),
    (player("NSTF", "x", "Skokie S3", "Series 3", "Skokie", PTI="high"), "'PTI' is not a number"),
    (player("XYZ", "x", "Skokie S3", "Series 3", "Skokie"), "unknown league 'XYZ'"),
    (
        {**player("NSTF", "x", "Skokie S3", "Series 3", "Skokie"), "League": ["NSTF"]},
        "not a league key",
    ),
    (
        player("NSTF", "x", "Skokie S3", "Series 3", "Skokie", source_league="CITA"),
        "conflicting league keys",
    ),
    (
        {
            **player("NSTF", "x", "Skokie S3", "Series 3", "Skokie"),
            "League": None,
            "source_league": None,
        },
        "missing league",
    ),
    (player("NSTF", "x", " - 3", "Series 3", "Skokie"), "has no club"),
    # Values the database columns cannot hold are rejected, not left to fail the league.
    (player("NSTF", "x", "Skokie S3", "Series 3", "Skokie", Wins=10**12), "out of range"),
    (player("NSTF", "x", "Skokie S3", "Series 3", "Skokie", PTI="1e30"), "out of range"),
    (player("NSTF", "x", "Skokie " + "x" * 300, "Series 3", "Skokie"), "longer than 255"),
    (player("NSTF", "x" * 300, "Skokie S3", "Series 3", "Skokie"), "longer than 255"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS)
def test_bad_player_rows_are_rejected_with_reason(
    make_files: MakeFiles, row: dict[str, Any], reason: str
) -> None:
    good = player("NSTF", "ok", "Skokie S3", "Series 3", "Skokie")
    corpus = parse_paths([make_files({"p.json": [good, row]})])
    assert len(corpus.of("NSTF", Kind.PLAYERS)) == 1
    assert len(corpus.rejects) == 1
    reject = corpus.rejects[0]
    assert reason in reject.reason
    assert (reject.row, reject.data, reject.kind) == (1, row, Kind.PLAYERS)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            match(
                "CITA",
                "05-Sep-24",
                "Midtown - Chicago",
                "Lakeshore Sport and Fitness",
                1,
                Scores="September 5, 2024",
            ),
            "scores hold a date",
        ),
        (
            match(
                "CITA",
                "05-Sep-24",
                "Midtown - Chicago",
                "Lakeshore Sport and Fitness",
                1,
                **{"Home Player 1": "Midtown - Chicago"},
            ),
            "team or club names",
        ),
        (match("NSTF", "2025-13-45", "Skokie S3", "Tennaqua S3", 1), "unparseable date"),
        (
            match("NSTF", "05-Sep-24", "Skokie S3", "Tennaqua S3", 1, Scores="Unknown Scores"),
            "unparseable scores",
        ),
        (
            match("NSTF", "05-Sep-24", "Skokie S3", "Tennaqua S3", 1, Winner="both"),
            "unknown winner",
        ),
        (
            match("NSTF", "05-Sep-24", "Skokie S3", "Tennaqua S3", 1, Winner=["home"]),
            "unknown winner",
        ),
        (
            {
                **standing("CITA", "Series 3.0 & Under Thur", "North Shore Racquet Club"),
                "matches": {"won": 0, "lost": 690, "tied": 0, "percentage": "340"},
            },
            "implausible percentage '340'",
        ),
        (standing("CITA", "Series Protest Form", "North Shore Racquet Club"), "is not a series"),
        ({**standing("NSTF", "Series 1", "Tennaqua S1"), "points": "many"}, "'points' is not"),
    ],
)
def test_junk_rows_are_rejected(make_files: MakeFiles, row: dict[str, Any], reason: str) -> None:
    corpus = parse_paths([make_files({"f.json": [row]})])
    assert [r.reason for r in corpus.rejects if reason in r.reason], corpus.rejects


def test_duplicates_within_a_league_are_rejected(make_files: MakeFiles) -> None:
    row = player("NSTF", "n1", "Skokie S3", "Series 3", "Skokie")
    other = player("CNSWPL", "n1", "Skokie S3", "Series 3", "Skokie")
    directory = make_files({"a.json": [row, other], "b.json": [row]})
    corpus = parse_paths([directory])
    assert len(corpus.of("NSTF", Kind.PLAYERS)) == 1
    assert len(corpus.of("CNSWPL", Kind.PLAYERS)) == 1
    (dup,) = corpus.rejects
    assert dup.file.endswith("b.json") and "duplicate" in dup.reason and "a.json" in dup.reason


def test_non_object_rows_are_rejected(make_files: MakeFiles) -> None:
    good = player("NSTF", "ok", "Skokie S3", "Series 3", "Skokie")
    corpus = parse_paths([make_files({"p.json": [good, 7, None]})])
    assert [r.row for r in corpus.rejects] == [1, 2]


@pytest.mark.parametrize(
    ("content", "error", "words"),
    [
        (b"[{", MalformedJSON, "malformed JSON"),
        (b'{"rows": []}', WrongShape, "expected a JSON list"),
        (b"[1, 2, 3]", WrongShape, "row objects"),
        (b'[{"a": 1}]', UnknownKind, "cannot tell"),
        (b'["\xff"]', UnreadableFile, "UTF-8"),
    ],
)
def test_file_level_problems_name_the_file(
    tmp_path: Path, content: bytes, error: type[ImportFileError], words: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(error) as caught:
        parse_paths([path])
    message = str(caught.value)
    assert str(path) in message and words in message and "\n" not in message


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="cannot read"):
        parse_paths([tmp_path / "missing.json"])


def test_empty_list_is_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("[]")
    corpus = parse_paths([tmp_path])
    assert corpus.records == {} and corpus.rejects == []


def test_real_corpus_rejects_are_exactly_the_junk(shared_leagues_dir: Path) -> None:
    """Count the junk independently from the raw files and compare with the rejects."""
    corpus = parse_paths([shared_leagues_dir])

    def raw(league: str, name: str) -> list[dict[str, Any]]:
        return list(json.loads((shared_leagues_dir / league / name).read_text()))

    got: dict[tuple[str | None, Kind | None], int] = {}
    for reject in corpus.rejects:
        assert reject.reason
        got[(reject.league, reject.kind)] = got.get((reject.league, reject.kind), 0) + 1

    apta_players = raw("APTA_CHICAGO", "players.json")
    apta_dups = len(apta_players) - len({(r["Player ID"], r["Team"]) for r in apta_players})
    apta_byes = sum(
        1
        for r in raw("APTA_CHICAGO", "schedules.json")
        if r["home_team"].strip().startswith("-") or r["away_team"].strip().startswith("-")
    )
    cnswpl_undated = sum(1 for r in raw("CNSWPL", "match_history.json") if not r.get("Date"))
    nstf_unknown = sum(
        1 for r in raw("NSTF", "match_history.json") if r["Scores"] == "Unknown Scores"
    )

    def pct_bad(row: dict[str, Any]) -> bool:
        # Only the matches group rejects a row; nonsense lines/sets/games are dropped.
        text = str(row["matches"].get("percentage") or "").rstrip("%")
        return bool(text and float(text) > 100) or "Protest Form" in row["series"]

    cita_standings = raw("CITA", "series_stats.json")
    cita_bad_standings = sum(1 for r in cita_standings if pct_bad(r))
    # Shifted CITA blocks repeat a team within one series label: later ones are duplicates.
    cita_kept = [(r["series"], r["team"]) for r in cita_standings if not pct_bad(r)]
    cita_bad_standings += len(cita_kept) - len(set(cita_kept))
    cita_matches = raw("CITA", "match_history.json")
    junk = [
        r
        for r in cita_matches
        if not r["Home Team"]
        or not r["Away Team"]
        or not re.fullmatch(r"[0-9\-\[\], ]+", r["Scores"])
        or r["Home Player 1"] in (r["Home Team"], r["Away Team"])
    ]
    junk_ids = {id(r) for r in junk}
    kept = [json.dumps(r, sort_keys=True) for r in cita_matches if id(r) not in junk_ids]
    cita_dups = len(kept) - len(set(kept))
    apta_matches = raw("APTA_CHICAGO", "match_history.json")
    apta_match_dups = len(apta_matches) - len({json.dumps(r, sort_keys=True) for r in apta_matches})

    assert got == {
        ("APTA_CHICAGO", Kind.PLAYERS): apta_dups,
        ("APTA_CHICAGO", Kind.SCHEDULE): apta_byes,
        ("APTA_CHICAGO", Kind.MATCHES): apta_match_dups,
        ("CNSWPL", Kind.MATCHES): cnswpl_undated,
        ("NSTF", Kind.MATCHES): nstf_unknown,
        ("CITA", Kind.STANDINGS): cita_bad_standings,
        ("CITA", Kind.SCHEDULE): 1,
        ("CITA", Kind.MATCHES): len(junk) + cita_dups,
    }


JUNK_VALUES: list[Any] = [None, [], {}, ["NSTF"], {"a": 1}, 1.5, True, -1, 10**30, "", "N/A", "x"]


@pytest.mark.parametrize("name", sorted(sample_rows()))
def test_every_field_with_every_junk_value_is_handled(make_files: MakeFiles, name: str) -> None:
    """Each field of a row set to each junk value: the row loads or is rejected, no error."""
    base = sample_rows()[name][0]
    rows = []
    for field in base:
        for value in JUNK_VALUES:
            rows.append({**base, field: value})
        rows.append({k: v for k, v in base.items() if k != field})
    result = parse_paths([make_files({name: rows})])
    accepted = sum(
        len(by_kind.get(kind, [])) for by_kind in result.records.values() for kind in Kind
    )
    assert accepted + len(result.rejects) == len(rows)
    assert all(r.reason for r in result.rejects)


def test_nonsense_standings_groups_are_dropped_with_a_warning(make_files: MakeFiles) -> None:
    row = {
        **standing("CITA", "Series 3.0 & Under Thur", "North Shore Racquet Club"),
        "matches": {"won": 10, "lost": 1, "tied": 0, "percentage": "90.9%"},
        "lines": {"won": 35, "lost": 4, "for": 4, "ret": 0, "percentage": "1"},
        "sets": {"won": 0, "lost": 690, "percentage": "340"},
        "games": {"won": 0, "lost": 0, "percentage": ""},
    }
    corpus = parse_paths([make_files({"f.json": [row]})])
    assert corpus.rejects == []
    (record,) = corpus.of("CITA", Kind.STANDINGS)
    assert isinstance(record, StandingRecord)
    assert (record.matches_won, record.matches_lost, record.matches_tied) == (10, 1, 0)
    assert record.lines_won is None and record.sets_lost is None
    assert (record.games_won, record.games_lost) == (0, 0)
    assert [w.reason for w in corpus.warnings] == [
        "standings lines, sets dropped as missing or implausible"
    ]
