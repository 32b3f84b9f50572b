"""The player page's one statement (rally.services.player_sql) against the row-by-row oracle.

On hand-made edge rows, on both backends (the real corpus: test_player_corpus.py): every page
the statement gives equals the one the old reading (tests/web/player_oracle.py) gives.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from player_oracle import same_pages
from sqlalchemy.orm import Session

from rally.models import MatchScore, Player, PlayerClaim, PlayerHistory, User
from rally.services import players
from rally.services.player_sql import RECENT_MATCHES


def _line(ids: dict[str, int], team: str, opponent: str, **values: Any) -> MatchScore:
    """A line of the NSTF league; `team` home unless values say otherwise."""
    return MatchScore(
        league_id=ids["league_NSTF"],
        home_team=team,
        away_team=opponent,
        home_team_id=ids.get(f"team_{team}"),
        away_team_id=ids.get(f"team_{opponent}"),
        **values,
    )


def _edges(engine: sa.Engine, ids: dict[str, int]) -> dict[str, int]:
    """Rows the corpus has few or none of; returns the ids of the rows added."""
    nstf = ids["league_NSTF"]
    added: dict[str, int] = {}
    with Session(engine) as s, s.begin():
        # A third row of Aaron's NSTF source id, on no team, and rows active or not.
        loose = Player(
            tenniscores_player_id="nstf-aw",
            first_name="Aaron",
            last_name="Walsh",
            league_id=nstf,
            club_id=s.get(Player, ids["player_aaron_s1"]).club_id,  # type: ignore[union-attr]
            series_id=s.get(Player, ids["player_aaron_s1"]).series_id,  # type: ignore[union-attr]
            team_id=None,
            pti=Decimal("41.25"),
            wins=None,
            losses=3,
            is_active=False,
        )
        s.add(loose)
        s.execute(sa.update(Player).where(Player.id == ids["player_pat"]).values(is_active=None))
        s.flush()
        added["player_loose"] = loose.id
        # One account claims Aaron in both leagues and Pat (another source id in NSTF).
        user = User(email="aaron@example.com", password_hash="x")
        s.add(user)
        s.flush()
        for key, league in (("aaron_apta", "APTA"), ("aaron_s2a", "NSTF"), ("pat", "NSTF")):
            s.add(
                PlayerClaim(
                    user_id=user.id,
                    player_id=ids[f"player_{key}"],
                    league_id=ids[f"league_{league}"],
                )
            )
        # History: one date and value from two rows (different series), rows without a date
        # or value, and values equal on different dates.
        for key, day, pti, series in [
            ("aaron_s1", "2025-02-01", "40.00", "Series 1"),
            ("aaron_s2a", "2025-02-01", "40.00", "Series 2A"),
            ("aaron_s2a", "2025-02-01", "39.50", "Series 2A"),
            ("aaron_s1", None, "38.00", "Series 1"),
            ("aaron_s1", "2025-03-01", None, "Series 1"),
            ("loose", "2024-12-01", "40.00", None),
            ("pat", "2025-01-15", "52.10", "Series 1"),
            ("aaron_apta", "2025-02-01", "37.60", "Series 12"),
        ]:
            player_id = added.get(f"player_{key}") or ids[f"player_{key}"]
            s.add(
                PlayerHistory(
                    player_id=player_id,
                    league_id=s.get(Player, player_id).league_id,  # type: ignore[union-attr]
                    series=series,
                    date=dt.date.fromisoformat(day) if day else None,
                    end_pti=Decimal(pti) if pti else None,
                )
            )
        # Lines: more than a page shows, ties on the date told apart by line names in code
        # point order, no date, no line, no winner, odd winners, ties, Aaron away or second,
        # empty and unknown slots, Aaron with Pat (both claimed: the line counts once per
        # source id), a line on no team.
        day = dt.date(2025, 1, 20)
        lines = [
            _line(
                ids,
                "midtown_s1",
                "wilmette_s1_t1",
                match_date=day,
                line=name,
                winner=w,
                home_player_1_id="nstf-aw",
                home_player_2_id="",
                away_player_1_id="nstf-pd",
                away_player_2_id="nstf-ghost",
                scores="6-1, 6-1",
            )
            for name, w in [
                ("Line 10", "home"),
                ("Line 2", "away"),
                ("line 3", "tie"),
                ("Line é", "home"),
                ("Line Z", None),
                (None, "Home"),
            ]
        ]
        lines += [
            _line(
                ids,
                "wilmette_s1_t1",
                "midtown_s2a",
                match_date=day - dt.timedelta(days=i),
                line=f"Line {i % 3}",
                winner="away" if i % 2 else "home",
                home_player_1_id="nstf-pd",
                home_player_2_id=None,
                away_player_1_id="nstf-ghost" if i % 5 else None,
                away_player_2_id="nstf-aw",
                scores=None,
            )
            for i in range(1, RECENT_MATCHES + 2)
        ]
        lines += [
            _line(
                ids,
                "midtown_s1",
                "tennaqua_s2a",
                match_date=None,
                line="Line 1",
                winner="away",
                home_player_1_id="nstf-aw",
                home_player_2_id="nstf-pd",
                away_player_1_id="nstf-aw",
                away_player_2_id=None,
            ),
            _line(
                ids,
                "nowhere",
                "midtown_s1",
                match_date=day,
                line="Line 1",
                winner="home",
                home_player_1_id="nstf-zz",
                home_player_2_id="nstf-aw",
                away_player_1_id=None,
                away_player_2_id=None,
            ),
        ]
        s.add_all(lines)
    return added


def test_statement_equals_oracle_on_edge_rows(engine: sa.Engine, world: dict[str, int]) -> None:
    added = _edges(engine, world)
    with Session(engine) as s:
        player_ids = list(s.execute(sa.select(Player.id).order_by(Player.id)).scalars())
        assert same_pages(s, [*player_ids, 987654]) == len(player_ids)
        # The edges are on the pages compared.
        aaron = players.player_page(s, player_id=world["player_aaron_s2a"])
    assert {t.league for t in aaron.teams} == {"APTA_CHICAGO", "NSTF"}
    assert len(aaron.teams) == 5 and not all(t.active for t in aaron.teams)
    assert len(aaron.matches) == RECENT_MATCHES
    # Lines of one date in code point order (None first, as the page always sorted them),
    # each once per claimed source id on it; all counted, the newest shown.
    day = [m.line for m in aaron.matches if m.date == dt.date(2025, 1, 20)]
    assert list(dict.fromkeys(day)) == [
        None,
        "Line 1",
        "Line 10",
        "Line 2",
        "Line Z",
        "Line é",
        "line 3",
    ]
    assert len(day) == 13
    assert {m.result for m in aaron.matches} == {"won", "lost", "tied", None}
    loose = next(t for t in aaron.teams if t.player_id == added["player_loose"])
    assert (loose.team_id, loose.wins, loose.losses, loose.active) == (None, 1, 0, False)
    assert all(t.active for t in aaron.teams if t.player_id == world["player_pat"])
    assert [(p.date.isoformat(), p.pti, p.series) for p in aaron.history] == [
        ("2024-12-01", 40.0, None),
        ("2025-01-15", 52.1, "Series 1"),
        ("2025-02-01", 40.0, "Series 1"),
        ("2025-02-01", 39.5, "Series 2A"),
        ("2025-02-01", 37.6, "Series 12"),
    ]


def test_player_page_is_one_statement(engine: sa.Engine, world: dict[str, int]) -> None:
    plan = players.player_page_plan(player_id=world["player_aaron_apta"])
    statement, params = next(plan)
    with Session(engine) as s:
        rows = list(s.connection().execute(statement, dict(params)).all())
    with pytest.raises(StopIteration) as stop:
        plan.send(rows)
    assert stop.value.value.first_name == "Aaron"
