"""Imports an operator can run from cron: guards, bad values, exit codes, unchanged input.

Every test runs on both backends (the ``db_url`` fixture).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from etl_rows import fixture_row, match, player, sample_rows, standing
from typer.testing import CliRunner

from rally.cli import app
from rally.db import make_engine
from rally.etl.checks import LIMITS
from rally.etl.records import Kind

MakeFiles = Callable[[dict[str, Any]], Path]
runner = CliRunner()


def _import(url: str, *args: str) -> Any:
    result = runner.invoke(app, ["etl", "import", *args, "--database-url", url])
    assert "Traceback" not in result.output
    return result


def _scalar(url: str, sql: str, **params: Any) -> Any:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()
    finally:
        engine.dispose()


def _active(url: str, league: str) -> int:
    return int(
        _scalar(
            url,
            "SELECT count(*) FROM players p JOIN leagues l ON l.id = p.league_id "
            "WHERE l.league_id = :k AND p.is_active = :t",
            k=league,
            t=True,
        )
    )


# --- the shrink guard -------------------------------------------------------------------


@pytest.fixture
def nstf_and_cnswpl(shared_leagues_dir: Path, tmp_path: Path) -> Path:
    """A copy of the real NSTF and CNSWPL files (read-only source, copied to edit)."""
    out = tmp_path / "real"
    for league in ("NSTF", "CNSWPL"):
        (out / league).mkdir(parents=True)
        for path in (shared_leagues_dir / league).glob("*.json"):
            (out / league / path.name).write_bytes(path.read_bytes())
    return out


def test_truncated_players_file_fails_only_its_league(db_url: str, nstf_and_cnswpl: Path) -> None:
    assert _import(db_url, str(nstf_and_cnswpl)).exit_code == 3  # the usual junk
    active = _active(db_url, "NSTF")
    assert active > 700
    players = nstf_and_cnswpl / "NSTF" / "players.json"
    players.write_text(json.dumps(json.loads(players.read_text())[:8]))
    cnswpl_players = nstf_and_cnswpl / "CNSWPL" / "players.json"
    rows = json.loads(cnswpl_players.read_text())
    rows[0]["PTI"] = "12.34"  # CNSWPL changed too: it must still load
    cnswpl_players.write_text(json.dumps(rows))

    result = _import(db_url, str(nstf_and_cnswpl))
    assert result.exit_code == 1, result.output
    sentence = " ".join(result.output.split())
    assert "NSTF failed" in sentence
    assert f"of {active:,} active players" in sentence and "more than the 20% allowed" in sentence
    assert _active(db_url, "NSTF") == active  # rolled back
    pti = _scalar(
        db_url, "SELECT pti FROM players WHERE tenniscores_player_id = :p", p=rows[0]["Player ID"]
    )
    assert Decimal(str(pti)) == Decimal("12.34")

    assert _import(db_url, str(nstf_and_cnswpl), "--max-shrink", "99.5").exit_code == 3
    assert _active(db_url, "NSTF") == 8


def test_allow_shrink_accepts_the_snapshot(db_url: str, nstf_and_cnswpl: Path) -> None:
    _import(db_url, str(nstf_and_cnswpl), "--league", "NSTF")
    players = nstf_and_cnswpl / "NSTF" / "players.json"
    players.write_text(json.dumps(json.loads(players.read_text())[:2]))
    result = _import(db_url, str(nstf_and_cnswpl), "--league", "NSTF", "--allow-shrink")
    assert result.exit_code == 3, result.output
    assert _active(db_url, "NSTF") == 2


def test_teams_missing_from_a_snapshot_are_guarded_too(db_url: str, make_files: MakeFiles) -> None:
    rows = sample_rows()
    assert _import(db_url, str(make_files(rows))).exit_code == 0
    smaller = copy.deepcopy(rows)
    for name in smaller:
        smaller[name] = [r for r in smaller[name] if "Wilmette S1 T2" not in json.dumps(r)]
    result = _import(db_url, str(make_files(smaller)), "--league", "NSTF")
    assert result.exit_code == 1
    assert "active players" in result.output or "active teams" in result.output
    result = _import(db_url, str(make_files(smaller)), "--league", "NSTF", "--allow-shrink")
    assert result.exit_code == 0, result.output
    inactive = _scalar(db_url, "SELECT team_name FROM teams WHERE is_active = :f", f=False)
    assert inactive == "Wilmette S1 T2"


# --- bad values: each a rejected row, the same on both backends --------------------------

_NAME_LIMIT = LIMITS[Kind.PLAYERS]["first_name"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Ann\x00e", "control character"),
        ("Ann\ud800", "control character"),
        ("Ann\x07", "control character"),
        ("Ann\x9b", "control character"),
        ("A" * (_NAME_LIMIT + 1), f"longer than {_NAME_LIMIT}"),
    ],
    ids=["nul", "lone-surrogate", "bell", "c1-control", "over-long"],
)
def test_every_bad_value_is_a_rejected_row(
    db_url: str, make_files: MakeFiles, tmp_path: Path, value: str, reason: str
) -> None:
    rows = sample_rows()
    rows["players.json"].append(
        player("NSTF", "bad", "Wilmette S1 T1", "Series 1", "Wilmette", **{"First Name": value})
    )
    rows["matches.json"].append(
        match("NSTF", "29-May-25", "Wilmette S1 T1", "Lake Forest  S1", 3, Scores="6-1\x00")
    )
    out = tmp_path / "rejects.jsonl"
    result = _import(db_url, str(make_files(rows)), "--rejects", str(out))
    assert result.exit_code == 3, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2
    by_file = {Path(line["file"]).name: line for line in lines}
    assert reason in by_file["players.json"]["reason"]
    assert by_file["players.json"]["data"]["First Name"] == value
    assert "control character" in by_file["matches.json"]["reason"]
    assert _scalar(db_url, "SELECT count(*) FROM players") == 5  # the good rows loaded
    assert _scalar(db_url, "SELECT count(*) FROM match_scores") == 3


def test_long_text_columns_take_long_values(db_url: str, make_files: MakeFiles) -> None:
    rows = sample_rows()
    rows["schedule.json"][0]["location"] = "L" * 5000  # a Text column: no limit
    assert _import(db_url, str(make_files(rows))).exit_code == 0


# --- exit codes -------------------------------------------------------------------------


def test_exit_codes(db_url: str, make_files: MakeFiles, tmp_path: Path) -> None:
    rows = sample_rows()
    assert _import(db_url, str(make_files(rows))).exit_code == 0
    rows["players.json"].append(player("NSTF", "x", "Wilmette S1 T1", "Series 1", "W", Wins="?"))
    assert _import(db_url, str(make_files(rows))).exit_code == 3
    assert _import(db_url, str(make_files(rows)), "--strict").exit_code == 1
    assert _import(db_url, str(tmp_path / "missing")).exit_code == 2
    assert _import(db_url, str(make_files(rows)), "--max-shrink", "120").exit_code == 2


# --- linking, unlinked rows -------------------------------------------------------------


def _cita_rows() -> dict[str, list[dict[str, Any]]]:
    """Two series in which the club NSRC has a team each, and results naming "NSRC" only."""
    thu, sun = "Series 3.0 Thur", "Series 4.0 Sun"

    def result(date: str, home: str, away: str, line: int, players: tuple[str, ...]) -> Any:
        return match(
            "CITA",
            date,
            home,
            away,
            line,
            match_id=None,
            **{
                "Home Player 1 ID": players[0],
                "Home Player 2 ID": None,
                "Away Player 1 ID": players[1],
                "Away Player 2 ID": None,
            },
        )

    return {
        "standings.json": [
            standing("CITA", thu, "NSRC"),
            standing("CITA", thu, "Midtown"),
            standing("CITA", sun, "NSRC"),
            standing("CITA", sun, "Midtown"),
        ],
        "schedule.json": [
            fixture_row("CITA", "01/05/2025", "NSRC - 3.0 Thur", "Midtown - 3.0 Thur", thu),
            fixture_row("CITA", "01/12/2025", "NSRC - 4.0 Sun", "Midtown - 4.0 Sun", sun),
        ],
        "matches.json": [
            # The schedule tells: on 5 Jan the two clubs met in the Thursday series.
            result("05-Jan-25", "NSRC", "Midtown", 1, ("t1", "t2")),
            # Not scheduled; the players played for the Thursday teams on 5 Jan.
            result("19-Jan-25", "NSRC", "Midtown", 1, ("t1", "t2")),
            # Not scheduled, players never seen: which NSRC team? Reported, not guessed.
            result("26-Jan-25", "NSRC", "Midtown", 1, ("z1", "z2")),
        ],
    }


def test_bare_club_names_link_through_schedule_and_players(
    db_url: str, make_files: MakeFiles, tmp_path: Path
) -> None:
    out = tmp_path / "unlinked.jsonl"
    result = _import(db_url, str(make_files(_cita_rows())), "--unlinked", str(out))
    assert result.exit_code == 0, result.output
    linked = sa.text(
        "SELECT m.match_date, h.team_name, a.team_name FROM match_scores m "
        "LEFT JOIN teams h ON h.id = m.home_team_id LEFT JOIN teams a ON a.id = m.away_team_id "
        "ORDER BY m.match_date"
    )
    engine = make_engine(db_url)
    with engine.connect() as conn:
        rows = [(str(d), h, a) for d, h, a in conn.execute(linked)]
    engine.dispose()
    assert rows == [
        ("2025-01-05", "NSRC - 3.0 Thur", "Midtown - 3.0 Thur"),
        ("2025-01-19", "NSRC - 3.0 Thur", "Midtown - 3.0 Thur"),
        ("2025-01-26", None, None),
    ]
    (line,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert line["league"] == "CITA" and line["entity"] == "match_scores"
    assert line["date"] == "2025-01-26" and "2 teams could be 'NSRC'" in line["reason"]
    assert "unlinked" in result.output


# --- standings: nonsense parts dropped, computed when unusable ---------------------------


def test_series_without_usable_standings_gets_computed_ones(
    db_url: str, make_files: MakeFiles
) -> None:
    rows = sample_rows()
    rows["standings.json"] = [r for r in rows["standings.json"] if r["league_id"] != "NSTF"]
    result = _import(db_url, str(make_files(rows)))
    assert result.exit_code == 0, result.output
    engine = make_engine(db_url)
    with engine.connect() as conn:
        got = conn.execute(
            sa.text(
                "SELECT s.team, s.matches_won, s.matches_lost, s.matches_tied, s.lines_won, "
                "s.lines_lost, s.sets_won, s.sets_lost, s.games_won, s.games_lost, s.points "
                "FROM series_stats s JOIN leagues l ON l.id = s.league_id "
                "WHERE l.league_id = 'NSTF' AND s.computed = :t ORDER BY s.team"
            ),
            {"t": True},
        ).all()
    engine.dispose()
    # One match of two lines "6-4, 3-6, 6-2", one won by each side: a tie. The line the
    # away side won has its score read winner first (2 sets to 1 and 15-12 games for away).
    assert [tuple(r) for r in got] == [
        ("Lake Forest S1", 0, 0, 1, 1, 1, 3, 3, 27, 27, None),
        ("Wilmette S1 T1", 0, 0, 1, 1, 1, 3, 3, 27, 27, None),
    ]
    # Scraped standings arriving later replace the computed rows.
    assert _import(db_url, str(make_files(sample_rows()))).exit_code == 0
    assert _scalar(db_url, "SELECT count(*) FROM series_stats WHERE computed = :t", t=True) == 0


# --- PTI history --------------------------------------------------------------------------


def test_pti_history_records_changes_only(db_url: str, make_files: MakeFiles) -> None:
    rows = sample_rows()
    assert _import(db_url, str(make_files(rows))).exit_code == 0
    history = "SELECT count(*) FROM player_history"
    assert _scalar(db_url, history) == 4  # the players with a PTI (n3 has "N/A")
    assert _import(db_url, str(make_files(rows)), "--force").exit_code == 0
    assert _scalar(db_url, history) == 4  # same snapshot: nothing added
    rows["players.json"][0]["PTI"] = "41.0"
    assert _import(db_url, str(make_files(rows))).exit_code == 0
    assert _scalar(db_url, history) == 5
    points = _scalar(
        db_url,
        "SELECT count(DISTINCT h.end_pti) FROM player_history h JOIN players p "
        "ON p.id = h.player_id WHERE p.tenniscores_player_id = 'n1'",
    )
    assert points == 2


# --- unchanged input ----------------------------------------------------------------------


def test_unchanged_input_is_skipped_and_changes_are_read(
    db_url: str, make_files: MakeFiles
) -> None:
    rows = sample_rows()
    rows["players.json"].append(player("NSTF", "x", "Wilmette S1 T1", "Series 1", "W", Wins="?"))
    directory = make_files(rows)
    assert _import(db_url, str(directory)).exit_code == 3
    again = _import(db_url, str(directory))
    assert again.exit_code == 3  # the usual junk is still rejected input
    assert again.output.count("input unchanged") >= 2
    assert "rejected when it was last read" in again.output
    # A changed file re-reads the leagues it holds, and only those.
    matches = json.loads((directory / "matches.json").read_text())
    matches[0]["Scores"] = "7-5, 6-0"
    (directory / "matches.json").write_text(json.dumps(matches))
    changed = _import(db_url, str(directory))
    assert changed.exit_code == 3
    assert "input unchanged" not in changed.output
    assert _scalar(db_url, "SELECT count(*) FROM match_scores WHERE scores = '7-5, 6-0'") == 1
