"""A series whose standings Rally computed from results says so, on the page and in the API."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_helpers import make_app

from rally.etl.importer import import_paths


def _match(date: str, home: str, away: str, line: int, winner: str) -> dict[str, object]:
    return {
        "league_id": "NSTF",
        "match_id": f"{date}-{line}",
        "Line": f"Line {line}",
        "Date": date,
        "Home Team": home,
        "Away Team": away,
        "Home Player 1": "Ann A",
        "Home Player 1 ID": "p1",
        "Away Player 1": "Cid C",
        "Away Player 1 ID": "p3",
        "Scores": "6-4, 6-2" if winner == "home" else "2-6, 4-6",
        "Winner": winner,
    }


def test_computed_standings_are_marked(db_url: str, engine: sa.Engine, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    schedule = [
        {
            "date": "05/29/2025",
            "home_team": "Wilmette S1 T1 - Series 1",
            "away_team": "Lake Forest S1 - Series 1",
            "series": "Series 1",
            "League": "NSTF",
        }
    ]
    matches = [
        _match("29-May-25", "Wilmette S1 T1", "Lake Forest S1", 1, "home"),
        _match("29-May-25", "Wilmette S1 T1", "Lake Forest S1", 2, "home"),
        _match("29-May-25", "Wilmette S1 T1", "Lake Forest S1", 3, "away"),
    ]
    (data / "schedule.json").write_text(json.dumps(schedule))
    (data / "matches.json").write_text(json.dumps(matches))
    report = import_paths(engine, [data])
    assert report.exit_code == 0
    with engine.connect() as conn:
        series_id = conn.execute(sa.text("SELECT id FROM series")).scalar_one()
    with TestClient(make_app(db_url, tmp_path)) as client:
        page = client.get(f"/series/{series_id}")
        assert page.status_code == 200
        assert "Computed by Rally from the match results" in page.text
        assert "No series data" not in page.text
        api = client.get(f"/api/series/{series_id}/standings").json()
    assert api["computed"] is True
    top, bottom = api["rows"]
    assert (top["team"], top["matches_won"], top["lines_won"], top["lines_lost"]) == (
        "Wilmette S1 T1",
        1,
        2,
        1,
    )
    assert (bottom["matches_lost"], bottom["points"]) == (1, None)
