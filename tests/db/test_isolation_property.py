"""Property: a referencing row is accepted exactly when its series/team is of its own league."""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

LEAGUES = ("APTA_CHICAGO", "CNSWPL", "NSTF")
NAMES = ("Series 1", "Series 2", "Series A")

# (league index, series name index) of each series row; teams get one per series.
worlds = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=2, max_size=6, unique=True
)
attempts = st.lists(
    st.tuples(
        st.sampled_from(["team", "player", "standing"]),
        st.integers(0, 5),  # which series or team the row points at
        st.integers(0, 2),  # the league the row claims to be in
    ),
    min_size=1,
    max_size=8,
)


def _build(conn: sa.Connection, world: list[tuple[int, int]]) -> tuple[list, list, list]:
    league_ids = [
        conn.execute(
            sa.text("INSERT INTO leagues (league_id, league_name) VALUES (:k, :k) RETURNING id"),
            {"k": key},
        ).scalar_one()
        for key in LEAGUES
    ]
    club = conn.execute(sa.text("INSERT INTO clubs (name) VALUES ('C') RETURNING id")).scalar_one()
    series, teams = [], []
    for n, (league, name) in enumerate(world):
        sid = conn.execute(
            sa.text(
                "INSERT INTO series (name, display_name, league_id) VALUES (:n, :n, :l) RETURNING id"
            ),
            {"n": NAMES[name], "l": league_ids[league]},
        ).scalar_one()
        tid = conn.execute(
            sa.text(
                "INSERT INTO teams (club_id, series_id, league_id, team_name, display_name) "
                "VALUES (:c, :s, :l, :t, :t) RETURNING id"
            ),
            {"c": club, "s": sid, "l": league_ids[league], "t": f"team {n}"},
        ).scalar_one()
        series.append((sid, league_ids[league]))
        teams.append((tid, sid, league_ids[league]))
    return league_ids, series, teams


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=worlds, tries=attempts)
def test_database_accepts_exactly_the_same_league_rows(
    engine: sa.Engine, world: list[tuple[int, int]], tries: list[tuple[str, int, int]]
) -> None:
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            league_ids, series, teams = _build(conn, world)
            club = conn.execute(sa.text("SELECT id FROM clubs")).scalar_one()
            for n, (kind, target, league) in enumerate(tries):
                tid, sid, team_league = teams[target % len(teams)]
                own = league_ids[league]
                if kind == "team":
                    sid, ref_league = series[target % len(series)]
                    sql = (
                        "INSERT INTO teams (club_id, series_id, league_id, team_name, "
                        "display_name) VALUES (:c, :s, :l, :t, :t)"
                    )
                    params = {"c": club, "s": sid, "l": own, "t": f"new {n}"}
                elif kind == "player":
                    ref_league = team_league
                    sql = (
                        "INSERT INTO players (tenniscores_player_id, first_name, last_name, "
                        "league_id, club_id, series_id, team_id) "
                        "VALUES (:p, 'A', 'B', :l, :c, :s, :t)"
                    )
                    params = {"p": f"p{n}", "l": own, "c": club, "s": sid, "t": tid}
                else:
                    ref_league = team_league
                    sql = (
                        "INSERT INTO series_stats (league_id, series, team, series_id, team_id) "
                        "VALUES (:l, 'x', 'y', :s, :t)"
                    )
                    params = {"l": own, "s": sid, "t": tid}
                savepoint = conn.begin_nested()
                try:
                    conn.execute(sa.text(sql), params)
                    accepted = True
                    savepoint.commit()
                except IntegrityError:
                    accepted = False
                    savepoint.rollback()
                assert accepted == (own == ref_league), (kind, own, ref_league)
        finally:
            outer.rollback()
