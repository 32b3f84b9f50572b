"""Builders of scraped rows for the importer tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def player(
    league: str, pid: str, team: str, series: str, club: str, **extra: Any
) -> dict[str, Any]:
    """Return a roster row as the scrapers write it."""
    row = {
        "League": league,
        "Club": club,
        "Series": series,
        "Team": team,
        "Player ID": pid,
        "First Name": f"First{pid}",
        "Last Name": f"Last{pid}",
        "PTI": "42.5",
        "Wins": "3",
        "Losses": "1",
        "Win %": "75.0%",
        "Captain": "",
        "source_league": league,
    }
    row.update(extra)
    return row


def standing(league: str, series: str, team: str, points: int = 10) -> dict[str, Any]:
    """Return a standings row."""
    return {
        "series": series,
        "team": team,
        "league_id": league,
        "points": points,
        "matches": {"won": 3, "lost": 1, "tied": 0, "percentage": "75.0%"},
        "lines": {"won": 9, "lost": 3, "for": 0, "ret": 0, "percentage": "75.0%"},
        "sets": {"won": 18, "lost": 7, "percentage": "72.0%"},
        "games": {"won": 120, "lost": 90, "percentage": "57.1%"},
    }


def fixture_row(league: str, date: str, home: str, away: str, series: str) -> dict[str, Any]:
    """Return a schedule row."""
    return {
        "date": date,
        "time": "06:30 pm",
        "home_team": home,
        "away_team": away,
        "location": "Club",
        "series": series,
        "League": league,
    }


def match(league: str, date: str, home: str, away: str, line: int, **extra: Any) -> dict[str, Any]:
    """Return a match-result row."""
    row = {
        "league_id": league,
        "match_id": f"{league}-{date}-{home}-{line}",
        "Line": f"Line {line}",
        "Date": date,
        "Home Team": home,
        "Away Team": away,
        "Home Player 1": "Ann A",
        "Home Player 1 ID": "p1",
        "Home Player 2": "Bea B (S)",
        "Home Player 2 ID": "p2",
        "Away Player 1": "Cid C",
        "Away Player 1 ID": "p3",
        "Away Player 2": "Dee D",
        "Away Player 2 ID": None,
        "Scores": "6-4, 3-6, 6-2",
        "Winner": "home",
    }
    row.update(extra)
    return row


def sample_rows() -> dict[str, list[dict[str, Any]]]:
    """Return clean files for two leagues that share the series name "Series 1"."""
    return {
        "players.json": [
            player("NSTF", "n1", "Wilmette S1 T1", "Series 1", "Wilmette"),
            player("NSTF", "n2", "Wilmette S1 T2", "Series 1", "Wilmette"),
            player("NSTF", "n3", "Lake Forest  S1", "Series 1", "Lake Forest", PTI="N/A"),
            player("CNSWPL", "c1", "Hinsdale PC 1a", "Series 1", "Hinsdale PC"),
            player("CNSWPL", "c2", "Hinsdale PC 1b", "Series 1", "Hinsdale PC", Captain="Yes"),
        ],
        "standings.json": [
            standing("NSTF", "Series 1", "Wilmette S1 T1"),
            standing("NSTF", "Series 1", "Wilmette S1 T2"),
            standing("NSTF", "Series 1", "Lake Forest  S1"),
            standing("CNSWPL", "Series 1", "Hinsdale PC 1a"),
            standing("CNSWPL", "Series 1", "Hinsdale PC 1b"),
        ],
        "schedule.json": [
            fixture_row(
                "NSTF",
                "05/29/2025",
                "Wilmette S1 T1 - Series 1",
                "Lake Forest  S1 - Series 1",
                "Series 1",
            ),
            fixture_row("CNSWPL", "01/09/2025", "Hinsdale PC 1a", "Hinsdale PC 1b", "Series 1"),
        ],
        "matches.json": [
            match("NSTF", "29-May-25", "Wilmette S1 T1", "Lake Forest  S1", 1),
            match("NSTF", "29-May-25", "Wilmette S1 T1", "Lake Forest  S1", 2, Winner="away"),
            match("CNSWPL", "09-Jan-25", "Hinsdale PC 1a", "Hinsdale PC 1b", 1),
        ],
    }


def write_rows(directory: Path, files: dict[str, Any]) -> Path:
    """Write each value as JSON into directory/<name>; return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(json.dumps(rows))
    return directory
