"""Load parsed records into the database, one league per transaction, upserting on natural keys.

Every lookup is scoped by league. For each table the league's existing rows are read into a
dict keyed by natural key, the records are diffed against it in Python, new rows are
bulk-inserted and only rows whose values changed are bulk-updated: re-importing the same
files rewrites nothing.

Natural keys (all within one league): clubs by case-folded name (clubs are shared by
leagues, linked through club_leagues), series by name, teams by name (rule 8 of
:mod:`rally.etl.team_names`), players by (tenniscores_player_id, team), standings by team,
schedule by (date, home team, away team), match lines by tenniscores_match_id or, when the
source has none, by (date, home team, away team, line).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sized
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Connection, delete, exists, insert, select, text, update
from sqlalchemy.orm import Session

from rally.etl.bulk import Sync, bulk_insert, existing_rows, select_rows
from rally.etl.computed import STANDING_COLS, STANDING_FIELDS, start_tally, sync_computed
from rally.etl.guard import ShrinkGuard, check_shrink
from rally.etl.history import record_pti_history
from rally.etl.matches import Linker, sync_matches
from rally.etl.plan import LeaguePlan, plan_league
from rally.etl.records import Kind, league_name
from rally.etl.report import LeagueReport
from rally.etl.team_names import CLUB_SERIES_LEAGUES, series_suffix, team_key
from rally.models import (
    Club,
    ClubLeague,
    League,
    Player,
    Schedule,
    Series,
    SeriesStats,
    Team,
)

_CENT = Decimal("0.01")

_PLAYER_COLS = (
    "first_name",
    "last_name",
    "club_id",
    "series_id",
    "pti",
    "wins",
    "losses",
    "win_percentage",
    "captain_status",
    "career_wins",
    "career_losses",
    "career_matches",
    "career_win_percentage",
    "is_active",
)
_SCHEDULE_COLS = ("match_date", "match_time", "home_team_id", "away_team_id", "location")


def _cents(value: Decimal | None) -> Decimal | None:
    return value.quantize(_CENT) if value is not None else None


def ensure_league(session: Session, league: str) -> int:
    """Return the numeric id of a league key, creating its leagues row when missing."""
    return _ensure_league(session, league)[0]


def _ensure_league(session: Session, league: str) -> tuple[int, bool]:
    """Return (the numeric id of a league key, whether the league surely has no rows yet).

    The loader reads back no rows of a league created now (on PostgreSQL): it has none.
    """
    column = League.__table__.c
    found = session.execute(select(column.id).where(column.league_id == league)).scalar()
    if found is not None:
        return int(found), False
    created = session.execute(
        insert(League)
        .values(league_id=league, league_name=league_name(league) or league)
        .returning(League.id)
    ).scalar_one()
    # On PostgreSQL a new id was never used (a sequence, foreign keys): no row can refer to
    # it yet. SQLite may reuse the id of a deleted last row, whose rows may linger.
    return int(created), session.get_bind().dialect.name == "postgresql"


class Records(Sized, Iterable[Any], Protocol):
    """One kind's records of a league: sized, and iterable as often as needed."""


#: Called after each load step: (step name, steps done, steps in all).
StepProgress = Callable[[str, int, int], None]
LOAD_STEPS = ("teams", "players", "standings", "schedule", "matches", "computed standings")


def load_league(
    session: Session,
    league: str,
    records: Mapping[Kind, Records],
    *,
    guard: ShrinkGuard | None = None,
    progress: StepProgress | None = None,
    plan: LeaguePlan | None = None,
    clubs_created: Collection[str] = (),
) -> LeagueReport:
    """Upsert one league's records; flushes, never commits (the caller owns the transaction).

    ``records`` holds per kind a sized, re-iterable collection (a list, or a
    :class:`rally.etl.spool.Spool` on disk): each kind is streamed and written in batches,
    so memory holds a batch of rows and compact lookups (key -> id), not the league.
    ``plan`` (the league's teams) is worked out from the records when not given.
    ``clubs_created``: keys of the league's clubs that ensure_clubs inserted for it (counted
    as inserted). Raises ShrinkRefused when the snapshot would deactivate more than ``guard``
    allows.
    """
    guard = guard or ShrinkGuard()
    report = LeagueReport(league=league)

    def step(name: str) -> None:
        if progress is not None:
            progress(name, LOAD_STEPS.index(name) + 1, len(LOAD_STEPS))

    league_id, fresh = _ensure_league(session, league)
    if plan is None:
        plan = plan_league(records)
    club_ids = _sync_clubs(session, report, league_id, plan, fresh=fresh, created=clubs_created)
    series_ids = _sync_series(session, report, league_id, plan, fresh=fresh)
    players = records.get(Kind.PLAYERS, ())
    full = len(players) > 0
    teams, bases, team_names = _sync_teams(
        session,
        report,
        league,
        league_id,
        plan,
        club_ids,
        series_ids,
        guard,
        retire=full,
        fresh=fresh,
    )
    del plan
    step("teams")
    if full:
        _sync_players(session, report, league_id, players, teams, guard, fresh=fresh)
    step("players")
    standings = records.get(Kind.STANDINGS, ())
    if len(standings):
        _sync_standings(session, report, league_id, standings, teams, fresh=fresh)
    step("standings")
    schedule = records.get(Kind.SCHEDULE, ())
    if len(schedule):
        _sync_schedule(session, report, league_id, schedule, teams, fresh=fresh)
    step("schedule")
    matches = records.get(Kind.MATCHES, ())
    if len(matches):
        names = {series_id: name for name, series_id in series_ids.items()}
        by_id = {
            team_id: (team_names[team_id], sid, names[sid])
            for team_id, _club, sid in teams.values()
            if sid in names
        }
        tally = start_tally(session, league_id, by_id)
        linker = Linker(session, league_id, teams, bases)
        sync_matches(session, report, league_id, matches, linker, tally.add, fresh=fresh)
        del linker
        step("matches")
        sync_computed(session, report, league_id, tally, by_id, fresh=fresh)
    step("computed standings")
    session.flush()
    return report


#: Advisory lock (class, key) taken by ensure_clubs: clubs are shared by the leagues.
CLUBS_LOCK = (110012, 1)


def ensure_clubs(connection: Connection, clubs: Mapping[str, str]) -> dict[str, int]:
    """Insert the clubs (case-folded name -> name) missing from the database and return the
    ones inserted (key -> id); the caller commits at once.

    Leagues loaded at the same time in transactions of their own (see
    rally.etl.lanes) share clubs: inserted inside a league's transaction, a club both
    need would make the second wait for the first's commit and then fail on the unique
    name. Committed first, in a short transaction serialised by an advisory lock, every
    league finds them. Names are compared case-folded, as _sync_clubs does.
    """
    lock_class, lock_key = CLUBS_LOCK
    connection.execute(
        text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": lock_class, "b": lock_key}
    )
    have = _club_ids(connection)
    new = [{"name": clubs[key]} for key in sorted(clubs) if key not in have]
    if not new:
        return {}
    rows = connection.execute(insert(Club).returning(Club.id, Club.name), new)
    return {name.casefold(): int(cid) for cid, name in rows}


def _club_ids(connection: Connection | Session) -> dict[str, int]:
    """Every club's id by case-folded name (clubs are shared by the leagues)."""
    return {name.casefold(): cid for cid, name in connection.execute(select(Club.id, Club.name))}


def drop_unused_clubs(connection: Connection, ids: Collection[int]) -> None:
    """Delete the clubs among ``ids`` that no league links to (those ensure_clubs inserted
    for a league that then failed). A club still referenced elsewhere makes the statement
    fail: the caller rolls back and keeps them."""
    linked = exists().where(ClubLeague.club_id == Club.id)
    connection.execute(delete(Club).where(Club.id.in_(sorted(ids)), ~linked))


def _sync_clubs(
    session: Session,
    report: LeagueReport,
    league_id: int,
    plan: LeaguePlan,
    *,
    fresh: bool,
    created: Collection[str] = (),
) -> dict[str, int]:
    counts = report.entity("clubs")
    wanted = plan.clubs
    ids = _club_ids(session)
    new = [{"name": name} for key, name in wanted.items() if key not in ids]
    bulk_insert(session, Club, new)
    inserted = len(new) + sum(1 for key in created if key in wanted)
    counts.inserted += inserted
    counts.unchanged += len(wanted) - inserted
    if new:
        ids = _club_ids(session)
    linked = (
        set()
        if fresh
        else set(
            session.execute(select(ClubLeague.club_id).where(ClubLeague.league_id == league_id))
            .scalars()
            .all()
        )
    )
    links = [
        {"club_id": ids[key], "league_id": league_id} for key in wanted if ids[key] not in linked
    ]
    if links:
        session.execute(insert(ClubLeague), links)
    report.entity("club_leagues").inserted += len(links)
    report.entity("club_leagues").unchanged += len(wanted) - len(links)
    return {key: ids[key] for key in wanted}


def _sync_series(
    session: Session, report: LeagueReport, league_id: int, plan: LeaguePlan, *, fresh: bool
) -> dict[str, int]:
    counts = report.entity("series")
    where = Series.league_id == league_id
    ids: dict[str, int] = {}
    if not fresh:
        ids = {n: i for n, i in session.execute(select(Series.name, Series.id).where(where))}
    new = [
        {"name": name, "display_name": name, "league_id": league_id}
        for name in plan.series
        if name not in ids
    ]
    if new:
        session.execute(insert(Series), new)
        ids = {n: i for n, i in session.execute(select(Series.name, Series.id).where(where))}
    counts.inserted += len(new)
    counts.unchanged += len(plan.series) - len(new)
    return ids


def _sync_teams(
    session: Session,
    report: LeagueReport,
    league: str,
    league_id: int,
    plan: LeaguePlan,
    club_ids: Mapping[str, int],
    series_ids: Mapping[str, int],
    guard: ShrinkGuard,
    *,
    retire: bool,
    fresh: bool,
) -> tuple[dict[str, tuple[int, int, int]], dict[str, set[int]], dict[int, str]]:
    """Return team key -> (team id, club id, series id), base-name key -> team ids, names.

    With ``retire`` (the snapshot has rosters, so it lists every team) teams it no longer
    names become inactive, within the shrink guard.
    """
    sync = Sync(session, Team, ("club_id", "series_id", "is_active"))
    where = Team.league_id == league_id
    cols = ("team_name", "club_id", "series_id")
    existing = existing_rows(
        session,
        Team,
        where,
        sync.cols,
        ("team_name",),
        lambda r: team_key(r.team_name),
        fresh=fresh,
    )
    wanted = {
        key: {
            "team_name": team.team_name,
            "display_name": team.team_name,
            "club_id": club_ids[team.club.casefold()],
            "series_id": series_ids[team.series],
            "league_id": league_id,
            "is_active": True,
        }
        for key, team in plan.teams.items()
    }
    counts = report.entity("teams")
    active = [key for key, (_id, old) in existing.items() if old[2] is not False]
    gone = [key for key in active if key not in wanted] if retire else []
    check_shrink(guard, report.league, "teams", len(active), len(gone))
    sync.apply(counts, wanted, existing)
    if gone:
        session.execute(update(Team), [{"id": existing[k][0], "is_active": False} for k in gone])
        counts.deactivated += len(gone)
    teams: dict[str, tuple[int, int, int]] = {}
    bases: dict[str, set[int]] = {}
    names: dict[int, str] = {}
    series_names = {series_id: name for name, series_id in series_ids.items()}
    for row in select_rows(session, where, Team, cols):
        team_id, name, club_id, series_id = row
        teams[team_key(name)] = (team_id, club_id, series_id)
        names[team_id] = name
        # CITA match results name a team by its bare club part ("<base> - <series suffix>").
        qualifier = f" - {series_suffix(series_names.get(series_id, ''))}"
        if league in CLUB_SERIES_LEAGUES and name.endswith(qualifier):
            bases.setdefault(team_key(name[: -len(qualifier)]), set()).add(team_id)
    return teams, bases, names


def _sync_players(
    session: Session,
    report: LeagueReport,
    league_id: int,
    records: Iterable[Any],
    teams: Mapping[str, tuple[int, int, int]],
    guard: ShrinkGuard,
    *,
    fresh: bool,
) -> None:
    counts = report.entity("players")
    existing = existing_rows(
        session,
        Player,
        Player.league_id == league_id,
        _PLAYER_COLS,
        ("tenniscores_player_id", "team_id"),
        lambda r: (r.tenniscores_player_id, r.team_id),
        fresh=fresh,
    )
    active_at = _PLAYER_COLS.index("is_active")
    active = sum(1 for _id, old in existing.values() if old[active_at] is not False)

    def rows() -> Iterator[tuple[Any, dict[str, Any]]]:
        for rec in records:
            team_id, club_id, series_id = teams[team_key(rec.team_name)]
            career = None
            if rec.career_wins is not None and rec.career_losses is not None:
                career = rec.career_wins + rec.career_losses
            yield (
                (rec.player_id, team_id),
                {
                    "tenniscores_player_id": rec.player_id,
                    "team_id": team_id,
                    "league_id": league_id,
                    "first_name": rec.first_name,
                    "last_name": rec.last_name,
                    "club_id": club_id,
                    "series_id": series_id,
                    "pti": _cents(rec.pti),
                    "wins": rec.wins,
                    "losses": rec.losses,
                    "win_percentage": _cents(rec.win_percentage),
                    "captain_status": rec.captain_status,
                    "career_wins": rec.career_wins,
                    "career_losses": rec.career_losses,
                    "career_matches": career,
                    "career_win_percentage": _cents(rec.career_win_percentage),
                    "is_active": True,
                },
            )

    before = (counts.inserted, counts.updated)
    Sync(session, Player, _PLAYER_COLS).stream(counts, rows(), existing)
    # What is left of ``existing`` is the players the snapshot no longer lists.
    retiring = [row_id for row_id, old in existing.values() if old[active_at] is not False]
    del existing
    check_shrink(guard, report.league, "players", active, len(retiring))
    # Players no longer on a roster stay (user links survive) but become inactive.
    for start in range(0, len(retiring), 5000):
        chunk = retiring[start : start + 5000]
        session.execute(update(Player), [{"id": i, "is_active": False} for i in chunk])
    counts.deactivated += len(retiring)
    if (counts.inserted, counts.updated) != before:
        record_pti_history(session, league_id)


def _sync_standings(
    session: Session,
    report: LeagueReport,
    league_id: int,
    records: Iterable[Any],
    teams: Mapping[str, tuple[int, int, int]],
    *,
    fresh: bool,
) -> None:
    existing = existing_rows(
        session,
        SeriesStats,
        SeriesStats.league_id == league_id,
        STANDING_COLS,
        (),
        lambda r: team_key(r.team or ""),
        fresh=fresh,
    )

    def rows() -> Iterator[tuple[Any, dict[str, Any]]]:
        for rec in records:
            key = team_key(rec.team_name)
            team_id, _club_id, series_id = teams[key]
            row = {name: getattr(rec, name) for name in STANDING_FIELDS}
            row.update(
                league_id=league_id,
                series=rec.series,
                team=rec.team_name,
                series_id=series_id,
                team_id=team_id,
                computed=False,
            )
            yield key, row

    counts = report.entity("series_stats")
    Sync(session, SeriesStats, STANDING_COLS).stream(counts, rows(), existing)


def _sync_schedule(
    session: Session,
    report: LeagueReport,
    league_id: int,
    records: Iterable[Any],
    teams: Mapping[str, tuple[int, int, int]],
    *,
    fresh: bool,
) -> None:
    existing = existing_rows(
        session,
        Schedule,
        Schedule.league_id == league_id,
        _SCHEDULE_COLS,
        ("match_date", "home_team", "away_team"),
        lambda r: (r.match_date, team_key(r.home_team or ""), team_key(r.away_team or "")),
        fresh=fresh,
    )

    def rows() -> Iterator[tuple[Any, dict[str, Any]]]:
        for rec in records:
            home, away = team_key(rec.home_team), team_key(rec.away_team)
            row = {
                "league_id": league_id,
                "match_date": rec.match_date,
                "match_time": rec.match_time,
                "home_team": rec.home_team,
                "away_team": rec.away_team,
                "home_team_id": teams[home][0],
                "away_team_id": teams[away][0],
                "location": rec.location,
            }
            if row["home_team_id"] is None or row["away_team_id"] is None:
                report.add_unlinked("schedule", row, "no team of the league has this name")
            yield (rec.match_date, home, away), row

    counts = report.entity("schedule")
    sync = Sync(session, Schedule, _SCHEDULE_COLS)
    # New fixtures wait (when the league has a schedule already) until every fixture is
    # met: one may be a known match moved to another date (see _follow_moves).
    new = dict(sync.stream(counts, rows(), existing, hold_new=bool(existing)))
    if new:
        _follow_moves(existing, new)
        sync.apply(counts, new, existing)


def _follow_moves(existing: dict[Any, Any], wanted: Mapping[Any, dict[str, Any]]) -> None:
    """Re-key a match the new snapshot moved to another date, so its row is updated.

    A fixture is keyed by (date, home, away); when the snapshot drops exactly one fixture of
    a pairing and adds exactly one, that is the same match on a new date: updating its row
    (instead of adding one) keeps its id, so calendar events and availability answers follow.
    """
    gone: dict[tuple[str, str], list[Any]] = defaultdict(list)
    new: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for key in existing:
        if key not in wanted:
            gone[key[1:]].append(key)
    for key in wanted:
        if key not in existing:
            new[key[1:]].append(key)
    for pair, old_keys in gone.items():
        added = new.get(pair, [])
        if len(old_keys) == 1 and len(added) == 1:
            existing[added[0]] = existing.pop(old_keys[0])
