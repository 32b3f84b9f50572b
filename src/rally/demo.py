"""The demo: a SQLite database with generated leagues and an account that plays in two of them.

`prepare_demo` is idempotent: a data directory that already holds the demo database and its
account is reused as it is, so a second `rally demo` starts at once with the same data.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rally.db import make_engine
from rally.db.migrate import upgrade
from rally.errors import RallyError
from rally.etl.importer import import_paths
from rally.models import League, Player, User
from rally.services.accounts import register_user
from rally.services.availability import league_today
from rally.services.claims import claim_player
from rally.services.teams import my_teams, switch_team
from rally.synth import generate

DEMO_EMAIL = "demo@rally.example"
# A demo on one's own machine: the password is printed on every start anyway.
DEMO_PASSWORD = "rally-demo-2026"
DEMO_SEED = 2026
# About a tenth of the real corpus: big enough to look real, small enough to load in a second.
DEMO_SCALE = 0.1
DEMO_DB = "demo.db"
DEMO_LEAGUES_DIR = "demo-leagues"

Log = Callable[[str], None]


class DemoSetupFailed(RallyError):
    """The demo data could not be prepared."""


@dataclass(frozen=True)
class DemoSetup:
    """What the demo runs on and how to sign in."""

    database_url: str
    created: bool
    email: str
    password: str
    player_name: str
    teams: tuple[str, ...]


def demo_database_url(data_dir: Path) -> str:
    """Return the URL of the demo's SQLite database inside `data_dir`."""
    return f"sqlite:///{data_dir / DEMO_DB}"


def reset_demo(data_dir: Path) -> None:
    """Delete the demo database and generated files so the next start builds them anew."""
    (data_dir / DEMO_DB).unlink(missing_ok=True)
    shutil.rmtree(data_dir / DEMO_LEAGUES_DIR, ignore_errors=True)


def _multi_league_person(session: Session) -> list[Player]:
    """Return the player rows of one person who plays in two leagues (deterministic)."""
    first, last = sa.func.lower(Player.first_name), sa.func.lower(Player.last_name)
    person = session.execute(
        sa.select(first, last)
        .where(Player.is_active.is_not(False), Player.team_id.is_not(None))
        .group_by(first, last)
        .having(sa.func.count(sa.distinct(Player.league_id)) >= 2)
        .order_by(sa.func.count(Player.id).desc(), last, first)
        .limit(1)
    ).first()
    if person is None:
        raise DemoSetupFailed("The generated leagues have no player who plays in two leagues.")
    rows = session.scalars(
        sa.select(Player)
        .join(League, League.id == Player.league_id)
        .where(first == person[0], last == person[1], Player.team_id.is_not(None))
        .order_by(League.league_id, Player.id)
    ).all()
    return list(rows)


def _create_account(session: Session) -> User:
    rows = _multi_league_person(session)
    user = register_user(
        session,
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        first_name=rows[0].first_name,
        last_name=rows[0].last_name,
    )
    session.flush()
    for row in rows:
        claim_player(session, user_id=user.id, player_id=row.id)
    assert rows[0].team_id is not None
    switch_team(session, user_id=user.id, team_id=rows[0].team_id)
    return user


def prepare_demo(data_dir: Path, *, log: Log = lambda _: None) -> DemoSetup:
    """Create (or reuse) the demo database, its leagues and its account in `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = demo_database_url(data_dir)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            user_id = session.scalar(sa.select(User.id).where(User.email == DEMO_EMAIL))
        created = user_id is None
        if created:
            leagues_dir = data_dir / DEMO_LEAGUES_DIR
            log(f"generating demo leagues in {leagues_dir}")
            generate(leagues_dir, scale=DEMO_SCALE, seed=DEMO_SEED, today=league_today())
            log("importing them")
            report = import_paths(engine, [leagues_dir])
            failed = [r.league for r in report.leagues.values() if r.error]
            if failed:
                raise DemoSetupFailed(f"Importing the demo leagues failed for {', '.join(failed)}.")
            log("creating the demo account")
            with Session(engine) as session, session.begin():
                user_id = _create_account(session).id
        with Session(engine) as session:
            user = session.get(User, user_id)
            assert user is not None
            teams = tuple(
                f"{t.team} ({t.league}, {t.series})" for t in my_teams(session, user_id=user.id)
            )
            name = f"{user.first_name} {user.last_name}"
    finally:
        engine.dispose()
    return DemoSetup(url, created, DEMO_EMAIL, DEMO_PASSWORD, name, teams)
