"""Calendar feeds: a secret, revocable iCalendar URL per user (all teams) or per team.

A feed row stores a random salt; its URL token is ``<id>.<HMAC(secret key, id and salt)>``,
so the owner can be shown the URL again while a copy of the database reveals none.
Revoking sets ``revoked_at``: the token stops working at once. Events carry UIDs derived from
the schedule row, which a re-import keeps when it moves a match (see etl.loader), so a
phone calendar moves the event instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from icalendar import Calendar, Event, Timezone
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from rally.models import CalendarFeed, Player, PlayerClaim, Schedule, Team
from rally.services.availability import LEAGUE_TZ, answer_rights
from rally.services.errors import CalendarFeedNotFound
from rally.services.plan import Plan, run
from rally.services.teams import team_select

#: A match without an end time in the data is shown this long.
MATCH_LENGTH = dt.timedelta(hours=2)
#: A schedule row: id, date, time, home, away, home id, away id, location.
Fixture = tuple[Any, ...]
#: How often subscribed calendars should fetch the feed again.
REFRESH = dt.timedelta(hours=6)


@dataclass(frozen=True)
class FeedInfo:
    """A live calendar feed of the user; `path` is the secret URL's path."""

    feed_id: int
    team_id: int | None
    team: str | None
    league: str | None
    path: str
    created_at: dt.datetime | None


def feed_token(key: bytes, feed_id: int, salt: str) -> str:
    """Return the URL token of a feed."""
    mac = hmac.new(key, f"calendar:{feed_id}:{salt}".encode(), hashlib.sha256).hexdigest()
    return f"{feed_id}.{mac[:40]}"


def _info(key: bytes, feed: CalendarFeed, names: dict[int, tuple[str, str]]) -> FeedInfo:
    team, league = names.get(feed.team_id, (None, None)) if feed.team_id else (None, None)
    return FeedInfo(
        feed_id=feed.id,
        team_id=feed.team_id,
        team=team,
        league=league,
        path=f"/calendar/{feed_token(key, feed.id, feed.salt)}.ics",
        created_at=feed.created_at,
    )


def list_feeds(session: Session, *, user_id: int, key: bytes) -> list[FeedInfo]:
    """Return the user's live feeds, oldest first."""
    feeds = session.scalars(
        select(CalendarFeed)
        .where(CalendarFeed.user_id == user_id, CalendarFeed.revoked_at.is_(None))
        .order_by(CalendarFeed.id)
    ).all()
    ids = {f.team_id for f in feeds if f.team_id}
    rows = session.execute(team_select().where(Team.id.in_(ids))).all() if ids else []
    names = {r[0]: (r[1], r[2]) for r in rows}
    return [_info(key, f, names) for f in feeds]


def create_feed(session: Session, *, user_id: int, team_id: int | None, key: bytes) -> FeedInfo:
    """Return the user's live feed for a team of theirs (None: all teams), making one if new.

    TeamNotFound (404) or TeamNotClaimed (403) for a team that is not the user's.
    """
    if team_id is not None:
        answer_rights(session, user_id=user_id, team_id=team_id)
    for feed in list_feeds(session, user_id=user_id, key=key):
        if feed.team_id == team_id:
            return feed
    row = CalendarFeed(user_id=user_id, team_id=team_id, salt=secrets.token_hex(16))
    session.add(row)
    session.flush()
    return next(f for f in list_feeds(session, user_id=user_id, key=key) if f.feed_id == row.id)


def revoke_feed(session: Session, *, user_id: int, feed_id: int) -> None:
    """Revoke one of the user's feeds: its URL stops working (CalendarFeedNotFound)."""
    feed = session.get(CalendarFeed, feed_id)
    if feed is None or feed.user_id != user_id or feed.revoked_at is not None:
        raise CalendarFeedNotFound(f"You have no live calendar feed {feed_id}.")
    feed.revoked_at = dt.datetime.now(dt.UTC)
    session.flush()


_NOT_FOUND = (
    "This calendar link does not work: it was revoked or mistyped. "
    "Get a new one on your team page in Rally."
)


@lru_cache(maxsize=1)
def _feed_statements() -> dict[str, Any]:
    # Built once: rally.services.plan prepares each statement on PostgreSQL.
    feed = select(
        CalendarFeed.id,
        CalendarFeed.salt,
        CalendarFeed.revoked_at,
        CalendarFeed.team_id,
        CalendarFeed.user_id,
    ).where(CalendarFeed.id == bindparam("feed_id"))
    claimed = (
        select(Player.team_id)
        .join(PlayerClaim, PlayerClaim.player_id == Player.id)
        .where(PlayerClaim.user_id == bindparam("user_id"))
    )
    fixture_columns = (
        Schedule.id,
        Schedule.match_date,
        Schedule.match_time,
        Schedule.home_team,
        Schedule.away_team,
        Schedule.home_team_id,
        Schedule.away_team_id,
        Schedule.location,
    )
    out: dict[str, Any] = {"feed": feed}
    for kind, team_filter in (
        ("team", Team.id == bindparam("team_id")),
        ("user", Team.id.in_(claimed)),
    ):
        teams = team_select().where(team_filter)
        ids = select(teams.subquery().c[0])
        out[f"teams_{kind}"] = teams
        out[f"fixtures_{kind}"] = (
            select(*fixture_columns)
            .where(
                or_(Schedule.home_team_id.in_(ids), Schedule.away_team_id.in_(ids)),
                Schedule.match_date.is_not(None),
            )
            .order_by(Schedule.match_date, Schedule.match_time, Schedule.id)
        )
    return out


def feed_plan(*, token: str, key: bytes) -> Plan[bytes]:
    """Plan of `feed_ics` (see rally.services.plan): the feed, its teams, their fixtures."""
    feed_id, _, _mac = token.partition(".")
    if not (feed_id.isdigit() and len(feed_id) < 10):
        raise CalendarFeedNotFound(_NOT_FOUND)
    statements = _feed_statements()
    found = yield statements["feed"], {"feed_id": int(feed_id)}
    if (
        not found
        or found[0][2] is not None
        or not hmac.compare_digest(feed_token(key, found[0][0], found[0][1]), token)
    ):
        raise CalendarFeedNotFound(_NOT_FOUND)
    _id, _salt, _revoked, team_id, user_id = found[0]
    kind, params = ("team", {"team_id": team_id}) if team_id else ("user", {"user_id": user_id})
    teams = {r[0]: tuple(r) for r in (yield statements[f"teams_{kind}"], params)}
    fixtures = yield statements[f"fixtures_{kind}"], params
    only = teams.get(team_id) if team_id else None
    name = f"Rally: {only[1]}" if only else "Rally: my matches"
    return _render(name, tuple(sorted(teams.values())), tuple(tuple(f) for f in fixtures))


def feed_ics(session: Session, *, token: str, key: bytes) -> bytes:
    """Return the iCalendar document of a live feed token (CalendarFeedNotFound).

    The rows are read on every request; only turning them into iCalendar text is memoized,
    keyed by the rows themselves, so a changed match changes the document at once.
    """
    return run(session, feed_plan(token=token, key=key))


@lru_cache(maxsize=1)
def _timezone() -> Timezone:
    # The VTIMEZONE of the leagues' zone; computing it costs more than the rest of a feed.
    return Timezone.from_tzid(str(LEAGUE_TZ))


@lru_cache(maxsize=512)
def _render(name: str, teams: tuple[tuple[Any, ...], ...], fixtures: tuple[Fixture, ...]) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Rally//League calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", str(LEAGUE_TZ))
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", REFRESH)
    cal.add_component(_timezone())
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
    by_id = {t[0]: t for t in teams}
    for f in fixtures:
        for team_id in (f[5], f[6]):
            if team_id in by_id:
                cal.add_component(_event(f, by_id[team_id], stamp))
    return bytes(cal.to_ical())


def _event(f: Fixture, team: tuple[Any, ...], stamp: dt.datetime) -> Event:
    schedule_id, date, time, home_team, away_team, home_id, _away_id, location = f
    team_id, name, league, league_name, _club, series = team[:6]
    home = home_id == team_id
    event = Event()
    # Stable: the schedule row keeps its id when a re-import moves the match.
    event.add("uid", f"match-{schedule_id}-team-{team_id}@rally")
    event.add("dtstamp", stamp)
    event.add("summary", f"{name} {'vs' if home else 'at'} {away_team if home else home_team}")
    if time is None:
        event.add("dtstart", date)
        event.add("dtend", date + dt.timedelta(days=1))
    else:
        start = dt.datetime.combine(date, time, tzinfo=LEAGUE_TZ)
        event.add("dtstart", start)
        event.add("dtend", start + MATCH_LENGTH)
    if location:
        event.add("location", location)
    event.add("description", f"{league_name} {series}: {home_team} (home) vs {away_team} (away).")
    event.add("categories", [str(league)])
    return event
