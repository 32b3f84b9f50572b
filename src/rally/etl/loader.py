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
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from rally.etl.bulk import Sync, bulk_insert, existing_rows, select_rows
from rally.etl.computed import STANDING_COLS, sync_computed
from rally.etl.guard import ShrinkGuard, check_shrink
from rally.etl.history import record_pti_history
from rally.etl.matches import Linker, sync_matches
from rally.etl.plan import LeaguePlan, plan_league
from rally.etl.records import (
    Kind,
    PlayerRecord,
    Record,
    ScheduleRecord,
    StandingRecord,
    league_name,
)
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
    found = session.execute(select(League.id).where(League.league_id == league)).scalar()
    if found is not None:
        return int(found)
    session.execute(
        insert(League), [{"league_id": league, "league_name": league_name(league) or league}]
    )
    return int(session.execute(select(League.id).where(League.league_id == league)).scalar_one())


#: Called after each load step: (step name, steps done, steps in all).
StepProgress = Callable[[str, int, int], None]
_STEPS = ("teams", "players", "standings", "schedule", "matches", "computed standings")


def load_league(
    session: Session,
    league: str,
    records: Mapping[Kind, Sequence[Record]],
    *,
    guard: ShrinkGuard | None = None,
    progress: StepProgress | None = None,
    consume: bool = False,
) -> LeagueReport:
    """Upsert one league's records; flushes, never commits (the caller owns the transaction).

    Raises ShrinkRefused when the snapshot would deactivate more than ``guard`` allows.
    With ``consume`` each kind's record list is emptied once stored, so that memory holds
    the records of the kinds still to load, not all of them.
    """
    guard = guard or ShrinkGuard()
    report = LeagueReport(league=league)
    done_with = {
        "players": Kind.PLAYERS,
        "standings": Kind.STANDINGS,
        "schedule": Kind.SCHEDULE,
        "matches": Kind.MATCHES,
    }

    def step(name: str) -> None:
        if consume and name in done_with:
            stored = records.get(done_with[name])
            if isinstance(stored, list):
                stored.clear()
        if progress is not None:
            progress(name, _STEPS.index(name) + 1, len(_STEPS))

    league_id = ensure_league(session, league)
    plan = plan_league(records)
    club_ids = _sync_clubs(session, report, league_id, plan)
    series_ids = _sync_series(session, report, league_id, plan)
    full = bool(records.get(Kind.PLAYERS))
    teams, bases, team_names = _sync_teams(
        session, report, league, league_id, plan, club_ids, series_ids, guard, retire=full
    )
    step("teams")
    if full:
        _sync_players(session, report, league_id, records[Kind.PLAYERS], teams, guard)
    step("players")
    if records.get(Kind.STANDINGS):
        _sync_standings(session, report, league_id, records[Kind.STANDINGS], teams)
    step("standings")
    if records.get(Kind.SCHEDULE):
        _sync_schedule(session, report, league_id, records[Kind.SCHEDULE], teams)
    step("schedule")
    if records.get(Kind.MATCHES):
        linker = Linker(session, league_id, teams, bases)
        rows = sync_matches(session, report, league_id, records[Kind.MATCHES], linker)
        step("matches")
        names = {series_id: name for name, series_id in series_ids.items()}
        by_id = {
            team_id: (team_names[team_id], sid, names[sid])
            for team_id, _club, sid in teams.values()
            if sid in names
        }
        sync_computed(session, report, league_id, rows, by_id)
    step("computed standings")
    session.flush()
    return report


def _sync_clubs(
    session: Session, report: LeagueReport, league_id: int, plan: LeaguePlan
) -> dict[str, int]:
    counts = report.entity("clubs")
    wanted = plan.clubs
    ids = {name.casefold(): cid for cid, name in session.execute(select(Club.id, Club.name))}
    new = [{"name": name} for key, name in wanted.items() if key not in ids]
    bulk_insert(session, Club, new)
    counts.inserted += len(new)
    counts.unchanged += len(wanted) - len(new)
    if new:
        ids = {name.casefold(): cid for cid, name in session.execute(select(Club.id, Club.name))}
    linked = set(
        session.execute(select(ClubLeague.club_id).where(ClubLeague.league_id == league_id))
        .scalars()
        .all()
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
    session: Session, report: LeagueReport, league_id: int, plan: LeaguePlan
) -> dict[str, int]:
    counts = report.entity("series")
    where = Series.league_id == league_id
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
) -> tuple[dict[str, tuple[int, int, int]], dict[str, set[int]], dict[int, str]]:
    """Return team key -> (team id, club id, series id), base-name key -> team ids, names.

    With ``retire`` (the snapshot has rosters, so it lists every team) teams it no longer
    names become inactive, within the shrink guard.
    """
    sync = Sync(session, Team, ("club_id", "series_id", "is_active"))
    where = Team.league_id == league_id
    cols = ("team_name", "club_id", "series_id")
    existing = existing_rows(
        session, Team, where, sync.cols, ("team_name",), lambda r: team_key(r.team_name)
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
    records: Sequence[Record],
    teams: Mapping[str, tuple[int, int, int]],
    guard: ShrinkGuard,
) -> None:
    counts = report.entity("players")
    existing = existing_rows(
        session,
        Player,
        Player.league_id == league_id,
        _PLAYER_COLS,
        ("tenniscores_player_id", "team_id"),
        lambda r: (r.tenniscores_player_id, r.team_id),
    )
    wanted: dict[Any, dict[str, Any]] = {}
    for rec in records:
        assert isinstance(rec, PlayerRecord)
        team_id, club_id, series_id = teams[team_key(rec.team_name)]
        career = None
        if rec.career_wins is not None and rec.career_losses is not None:
            career = rec.career_wins + rec.career_losses
        wanted[(rec.player_id, team_id)] = {
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
        }
    active_at = _PLAYER_COLS.index("is_active")
    active = [key for key, (_id, old) in existing.items() if old[active_at] is not False]
    retiring = [key for key in active if key not in wanted]
    check_shrink(guard, report.league, "players", len(active), len(retiring))
    before = (counts.inserted, counts.updated)
    Sync(session, Player, _PLAYER_COLS).apply(counts, wanted, existing)
    # Players no longer on a roster stay (user links survive) but become inactive.
    retire = [{"id": existing[key][0], "is_active": False} for key in retiring]
    if retire:
        session.execute(update(Player), retire)
    counts.deactivated += len(retire)
    if (counts.inserted, counts.updated) != before:
        record_pti_history(session, league_id)


def _sync_standings(
    session: Session,
    report: LeagueReport,
    league_id: int,
    records: Sequence[Record],
    teams: Mapping[str, tuple[int, int, int]],
) -> None:
    existing = existing_rows(
        session,
        SeriesStats,
        SeriesStats.league_id == league_id,
        STANDING_COLS,
        (),
        lambda r: team_key(r.team or ""),
    )
    wanted: dict[Any, dict[str, Any]] = {}
    for rec in records:
        assert isinstance(rec, StandingRecord)
        team_id, _club_id, series_id = teams[team_key(rec.team_name)]
        row = rec.model_dump(
            exclude={"league", "team_name", "club", "raw_series", "raw_team", "series", "dropped"}
        )
        row.update(
            league_id=league_id,
            series=rec.series,
            team=rec.team_name,
            series_id=series_id,
            team_id=team_id,
            computed=False,
        )
        wanted[team_key(rec.team_name)] = row
    Sync(session, SeriesStats, STANDING_COLS).apply(report.entity("series_stats"), wanted, existing)


def _sync_schedule(
    session: Session,
    report: LeagueReport,
    league_id: int,
    records: Sequence[Record],
    teams: Mapping[str, tuple[int, int, int]],
) -> None:
    existing = existing_rows(
        session,
        Schedule,
        Schedule.league_id == league_id,
        _SCHEDULE_COLS,
        ("match_date", "home_team", "away_team"),
        lambda r: (r.match_date, team_key(r.home_team or ""), team_key(r.away_team or "")),
    )
    wanted: dict[Any, dict[str, Any]] = {}
    for rec in records:
        assert isinstance(rec, ScheduleRecord)
        home, away = team_key(rec.home_team), team_key(rec.away_team)
        wanted[(rec.match_date, home, away)] = {
            "league_id": league_id,
            "match_date": rec.match_date,
            "match_time": rec.match_time,
            "home_team": rec.home_team,
            "away_team": rec.away_team,
            "home_team_id": teams[home][0],
            "away_team_id": teams[away][0],
            "location": rec.location,
        }
    _follow_moves(existing, wanted)
    counts = report.entity("schedule")
    Sync(session, Schedule, _SCHEDULE_COLS).apply(counts, wanted, existing)
    for row in wanted.values():
        if row["home_team_id"] is None or row["away_team_id"] is None:
            report.add_unlinked("schedule", row, "no team of the league has this name")


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
