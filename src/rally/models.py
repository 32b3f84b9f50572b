"""The schema at head: the legacy production tables, made league-isolated.

Table and column names are those of the legacy schema so existing reports keep working.
What changed, and why:

- ``series`` belongs to exactly one league (``league_id`` NOT NULL) and is unique per
  ``(name, league_id)``: "Series 1" of APTA_CHICAGO and of NSTF are two rows.
- Every row that points at a series, team or player also carries its ``league_id``, and the
  reference is a *composite* foreign key that includes the league, e.g.
  ``teams (series_id, league_id) -> series (id, league_id)``. The database itself therefore
  refuses a row whose series (or team, or player) belongs to another league.
- ``user_contexts`` carries ``series_id``; ``(team_id, series_id, league_id)`` references
  ``teams (id, series_id, league_id)``, so a context's team, series and league always agree.
- Teams are identified by ``(league_id, team_name)``; a club may field several teams in one
  series. Player rows are identified by ``(league_id, tenniscores_player_id, team_id)``.
- Every constraint is named through :data:`NAMING_CONVENTION`, identically on PostgreSQL and
  SQLite.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _now() -> Mapped[dt.datetime | None]:
    return mapped_column(DateTime(timezone=True), server_default=func.current_timestamp())


class League(Base):
    __tablename__ = "leagues"
    __table_args__ = (UniqueConstraint("league_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The stable key every interface uses, e.g. "APTA_CHICAGO".
    league_id: Mapped[str] = mapped_column(String(255))
    league_name: Mapped[str] = mapped_column(String(255))
    league_url: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[dt.datetime | None] = _now()
    updated_at: Mapped[dt.datetime | None] = _now()


class Club(Base):
    __tablename__ = "clubs"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    club_address: Mapped[str | None] = mapped_column(String(500))
    logo_filename: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[dt.datetime | None] = _now()


class ClubLeague(Base):
    __tablename__ = "club_leagues"
    __table_args__ = (UniqueConstraint("club_id", "league_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("clubs.id"))
    league_id: Mapped[int] = mapped_column(ForeignKey("leagues.id"))
    created_at: Mapped[dt.datetime | None] = _now()


class Series(Base):
    __tablename__ = "series"
    __table_args__ = (
        UniqueConstraint("name", "league_id"),
        # Target of the composite foreign keys that pin references to one league.
        UniqueConstraint("id", "league_id"),
        Index("idx_series_display_name", "display_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    league_id: Mapped[int] = mapped_column(ForeignKey("leagues.id"))
    updated_at: Mapped[dt.datetime | None] = _now()


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (
        UniqueConstraint("team_name", "league_id"),
        UniqueConstraint("id", "league_id"),
        UniqueConstraint("id", "series_id", "league_id"),
        ForeignKeyConstraint(["series_id", "league_id"], ["series.id", "series.league_id"]),
        Index(None, "series_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("clubs.id"))
    series_id: Mapped[int] = mapped_column(Integer)
    league_id: Mapped[int] = mapped_column(ForeignKey("leagues.id"))
    team_name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    team_alias: Mapped[str | None] = mapped_column(String(255))
    external_team_id: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool | None] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[dt.datetime | None] = _now()
    updated_at: Mapped[dt.datetime | None] = _now()


class Player(Base):
    __tablename__ = "players"
    __table_args__ = (
        UniqueConstraint("league_id", "tenniscores_player_id", "team_id"),
        UniqueConstraint("id", "league_id"),
        ForeignKeyConstraint(["series_id", "league_id"], ["series.id", "series.league_id"]),
        ForeignKeyConstraint(["team_id", "league_id"], ["teams.id", "teams.league_id"]),
        Index(None, "team_id"),
        Index(None, "series_id"),
        Index(None, "tenniscores_player_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Source id; one person may hold several rows, one per team.
    tenniscores_player_id: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    league_id: Mapped[int] = mapped_column(ForeignKey("leagues.id"))
    club_id: Mapped[int] = mapped_column(ForeignKey("clubs.id"))
    series_id: Mapped[int] = mapped_column(Integer)
    team_id: Mapped[int | None] = mapped_column(Integer)
    pti: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    wins: Mapped[int | None] = mapped_column(Integer, server_default="0")
    losses: Mapped[int | None] = mapped_column(Integer, server_default="0")
    win_percentage: Mapped[Decimal | None] = mapped_column(Numeric(5, 2), server_default="0.00")
    captain_status: Mapped[str | None] = mapped_column(String(50))
    career_wins: Mapped[int | None] = mapped_column(Integer, server_default="0")
    career_losses: Mapped[int | None] = mapped_column(Integer, server_default="0")
    career_matches: Mapped[int | None] = mapped_column(Integer, server_default="0")
    career_win_percentage: Mapped[Decimal | None] = mapped_column(
        Numeric(5, 2), server_default="0.00"
    )
    is_active: Mapped[bool | None] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[dt.datetime | None] = _now()
    updated_at: Mapped[dt.datetime | None] = _now()


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, server_default="false")
    league_context: Mapped[int | None] = mapped_column(ForeignKey("leagues.id"))
    created_at: Mapped[dt.datetime | None] = _now()
    last_login: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when the owner followed the verification (or a reset) link sent to the address.
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by `rally admin users disable`: no sign-in, no session.
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class UserPlayerAssociation(Base):
    """Legacy link of a user to a source player id; kept for existing reports."""

    __tablename__ = "user_player_associations"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    tenniscores_player_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    is_primary: Mapped[bool | None] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[dt.datetime | None] = _now()


class PlayerClaim(Base):
    """A user's claim of one player row; a row is claimed by at most one user."""

    __tablename__ = "player_claims"
    __table_args__ = (
        UniqueConstraint("player_id"),
        ForeignKeyConstraint(["player_id", "league_id"], ["players.id", "players.league_id"]),
        Index(None, "user_id"),
        CheckConstraint("status IN ('confirmed', 'pending', 'disputed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    player_id: Mapped[int] = mapped_column(Integer)
    league_id: Mapped[int] = mapped_column(ForeignKey("leagues.id"))
    created_at: Mapped[dt.datetime | None] = _now()
    # pending: the name was not an exact match, a captain or the operator must confirm;
    # disputed: another account said "this is me", suspended until someone decides.
    status: Mapped[str] = mapped_column(String(16), server_default="confirmed")
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class UserSession(Base):
    """A signed-in session (cookie or bearer token); only a hash of the token is stored."""

    __tablename__ = "user_sessions"
    __table_args__ = (UniqueConstraint("token_hash"), Index(None, "user_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime | None] = _now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # The address the session signed in from: a correct password from it is trusted.
    client: Mapped[str | None] = mapped_column(String(255))


class LoginAttempt(Base):
    """A failed sign-in, kept briefly to slow down repeated guessing."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index(None, "email", "attempted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    client: Mapped[str | None] = mapped_column(String(255))
    attempted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class UserContext(Base):
    """The team a signed-in user is looking at; team, series and league always agree."""

    __tablename__ = "user_contexts"
    __table_args__ = (
        ForeignKeyConstraint(["series_id", "league_id"], ["series.id", "series.league_id"]),
        # A team moved to another series of its league (a new snapshot) carries its
        # contexts along, so a context always shows its team's own series.
        ForeignKeyConstraint(
            ["team_id", "series_id", "league_id"],
            ["teams.id", "teams.series_id", "teams.league_id"],
            onupdate="CASCADE",
        ),
        # Composite keys are not checked when a column is NULL: forbid the partial states.
        CheckConstraint(
            "team_id IS NULL OR (series_id IS NOT NULL AND league_id IS NOT NULL)",
            name="team_needs_series",
        ),
        CheckConstraint("series_id IS NULL OR league_id IS NOT NULL", name="series_needs_league"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    league_id: Mapped[int | None] = mapped_column(ForeignKey("leagues.id"))
    team_id: Mapped[int | None] = mapped_column(Integer)
    series_id: Mapped[int | None] = mapped_column(Integer)
    last_updated: Mapped[dt.datetime | None] = _now()


class SeriesStats(Base):
    """One standings row of a team in its series."""

    __tablename__ = "series_stats"
    __table_args__ = (
        ForeignKeyConstraint(["series_id", "league_id"], ["series.id", "series.league_id"]),
        ForeignKeyConstraint(["team_id", "league_id"], ["teams.id", "teams.league_id"]),
        Index("idx_series_stats_series_id", "series_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    league_id: Mapped[int] = mapped_column(ForeignKey("leagues.id"))
    series: Mapped[str | None] = mapped_column(String(255))
    team: Mapped[str | None] = mapped_column(String(255))
    series_id: Mapped[int | None] = mapped_column(Integer)
    team_id: Mapped[int | None] = mapped_column(Integer)
    points: Mapped[int | None] = mapped_column(Integer)
    matches_won: Mapped[int | None] = mapped_column(Integer)
    matches_lost: Mapped[int | None] = mapped_column(Integer)
    matches_tied: Mapped[int | None] = mapped_column(Integer)
    lines_won: Mapped[int | None] = mapped_column(Integer)
    lines_lost: Mapped[int | None] = mapped_column(Integer)
    lines_for: Mapped[int | None] = mapped_column(Integer)
    lines_ret: Mapped[int | None] = mapped_column(Integer)
    sets_won: Mapped[int | None] = mapped_column(Integer)
    sets_lost: Mapped[int | None] = mapped_column(Integer)
    games_won: Mapped[int | None] = mapped_column(Integer)
    games_lost: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime | None] = _now()
    # True when Rally computed the row from match results (the scraped standings were
    # missing or unusable); pages say so.
    computed: Mapped[bool] = mapped_column(Boolean, server_default="false")


class Schedule(Base):
    __tablename__ = "schedule"
    __table_args__ = (
        ForeignKeyConstraint(["home_team_id", "league_id"], ["teams.id", "teams.league_id"]),
        ForeignKeyConstraint(["away_team_id", "league_id"], ["teams.id", "teams.league_id"]),
        Index(None, "home_team_id"),
        Index(None, "away_team_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    league_id: Mapped[int] = mapped_column(ForeignKey("leagues.id"))
    match_date: Mapped[dt.date | None] = mapped_column(Date)
    match_time: Mapped[dt.time | None] = mapped_column(Time)
    home_team: Mapped[str | None] = mapped_column(Text)
    away_team: Mapped[str | None] = mapped_column(Text)
    home_team_id: Mapped[int | None] = mapped_column(Integer)
    away_team_id: Mapped[int | None] = mapped_column(Integer)
    location: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime | None] = _now()


class MatchScore(Base):
    __tablename__ = "match_scores"
    __table_args__ = (
        UniqueConstraint("league_id", "tenniscores_match_id"),
        ForeignKeyConstraint(["home_team_id", "league_id"], ["teams.id", "teams.league_id"]),
        ForeignKeyConstraint(["away_team_id", "league_id"], ["teams.id", "teams.league_id"]),
        Index(None, "home_team_id"),
        Index(None, "away_team_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    league_id: Mapped[int] = mapped_column(ForeignKey("leagues.id"))
    match_date: Mapped[dt.date | None] = mapped_column(Date)
    home_team: Mapped[str | None] = mapped_column(Text)
    away_team: Mapped[str | None] = mapped_column(Text)
    home_team_id: Mapped[int | None] = mapped_column(Integer)
    away_team_id: Mapped[int | None] = mapped_column(Integer)
    home_player_1_id: Mapped[str | None] = mapped_column(Text)
    home_player_2_id: Mapped[str | None] = mapped_column(Text)
    away_player_1_id: Mapped[str | None] = mapped_column(Text)
    away_player_2_id: Mapped[str | None] = mapped_column(Text)
    scores: Mapped[str | None] = mapped_column(Text)
    # 'home', 'away', 'tie' or NULL
    winner: Mapped[str | None] = mapped_column(Text)
    tenniscores_match_id: Mapped[str | None] = mapped_column(Text)
    line: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[dt.datetime | None] = _now()


class PlayerHistory(Base):
    __tablename__ = "player_history"
    __table_args__ = (
        ForeignKeyConstraint(["player_id", "league_id"], ["players.id", "players.league_id"]),
        # The importer reads each player's latest point to tell whether the PTI changed.
        Index(None, "player_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    player_id: Mapped[int | None] = mapped_column(ForeignKey("players.id"))
    league_id: Mapped[int | None] = mapped_column(ForeignKey("leagues.id"))
    series: Mapped[str | None] = mapped_column(String(255))
    date: Mapped[dt.date | None] = mapped_column(Date)
    end_pti: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    created_at: Mapped[dt.datetime | None] = _now()


class PlayerAvailability(Base):
    __tablename__ = "player_availability"
    __table_args__ = (
        CheckConstraint("availability_status IN (1, 2, 3)", name="valid_availability_status"),
        ForeignKeyConstraint(["series_id", "league_id"], ["series.id", "series.league_id"]),
        ForeignKeyConstraint(["player_id", "league_id"], ["players.id", "players.league_id"]),
        # One answer per player row (so per team) and match.
        UniqueConstraint("player_id", "schedule_id"),
        Index(None, "schedule_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    player_name: Mapped[str] = mapped_column(String(255))
    player_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    match_date: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # 1 available, 2 unavailable, 3 not sure
    availability_status: Mapped[int] = mapped_column(Integer, server_default="3")
    series_id: Mapped[int] = mapped_column(Integer)
    league_id: Mapped[int] = mapped_column(ForeignKey("leagues.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime | None] = _now()
    # The match (schedule row) this answer is for; it follows a match a re-import moves.
    # NULL for legacy rows whose match is not in the schedule: those match by date.
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedule.id", ondelete="SET NULL"))


class UserInstruction(Base):
    __tablename__ = "user_instructions"
    __table_args__ = (
        ForeignKeyConstraint(["series_id", "league_id"], ["series.id", "series.league_id"]),
        ForeignKeyConstraint(["team_id", "league_id"], ["teams.id", "teams.league_id"]),
        CheckConstraint(
            "(series_id IS NULL AND team_id IS NULL) OR league_id IS NOT NULL",
            name="reference_needs_league",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_email: Mapped[str] = mapped_column(String(255))
    instruction: Mapped[str] = mapped_column(Text)
    series_id: Mapped[int | None] = mapped_column(Integer)
    team_id: Mapped[int | None] = mapped_column(Integer)
    league_id: Mapped[int | None] = mapped_column(ForeignKey("leagues.id"))
    is_active: Mapped[bool | None] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[dt.datetime | None] = _now()


class LegacyQuarantine(Base):
    """A legacy row that the upgrade's resolutions deleted or changed, kept whole as JSON.

    `rally db downgrade legacy` puts these rows back as they were; `rally db quarantine`
    lists them. ``row_id`` is text because a legacy row's key is not always one integer.
    """

    __tablename__ = "legacy_quarantine"
    __table_args__ = (Index(None, "table_name", "reason"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(255))
    row_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    resolution: Mapped[str] = mapped_column(Text)
    row: Mapped[dict[str, object]] = mapped_column(JSON)
    quarantined_at: Mapped[dt.datetime | None] = _now()


class TeamCaptain(Base):
    """An account that may confirm claims of a team's records (granted by the operator)."""

    __tablename__ = "team_captains"
    __table_args__ = (
        ForeignKeyConstraint(["team_id", "league_id"], ["teams.id", "teams.league_id"]),
        Index(None, "team_id"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    league_id: Mapped[int] = mapped_column(ForeignKey("leagues.id"))
    granted_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime | None] = _now()


class ClaimDispute(Base):
    """Another account's "this is me" about a claimed record; open until decided."""

    __tablename__ = "claim_disputes"
    __table_args__ = (
        ForeignKeyConstraint(["player_id", "league_id"], ["players.id", "players.league_id"]),
        Index(None, "player_id"),
        Index(None, "disputant_id"),
        CheckConstraint("state IN ('open', 'upheld', 'rejected', 'withdrawn')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    player_id: Mapped[int] = mapped_column(Integer)
    league_id: Mapped[int] = mapped_column(ForeignKey("leagues.id"))
    disputant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Who held the claim when the dispute was opened.
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), server_default="open")
    created_at: Mapped[dt.datetime | None] = _now()
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(255))


class AuditEntry(Base):
    """Who did what to which account, claim or captaincy, and when (operator and captains)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime | None] = _now()
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str | None] = mapped_column(Text)


class CalendarFeed(Base):
    """A secret, revocable iCalendar feed URL of a user: one team, or all their teams.

    Only a random salt is stored; the URL's token is an HMAC of it under the server's secret
    key, so a copy of the database does not reveal anyone's feed.
    """

    __tablename__ = "calendar_feeds"
    __table_args__ = (Index(None, "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # NULL: every team of the user's claimed records.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime | None] = _now()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# Revision 0003 (player pages): a player's lines and PTI history are found by index. The
# PostgreSQL-only trigram index of player names is an expression index of that revision.
for _column in ("home_player_1_id", "home_player_2_id", "away_player_1_id", "away_player_2_id"):
    Index(f"ix_match_scores_{_column}", getattr(MatchScore, _column))
Index("ix_player_history_player_id", PlayerHistory.player_id)


class ImportFile(Base):
    """A file whose rows of one league the last successful import of that league loaded.

    A re-import whose files for a league all match these fingerprints (same content, same
    importer version) skips the league: nothing to read, nothing rewritten.
    """

    __tablename__ = "import_files"
    __table_args__ = (UniqueConstraint("league_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    league_id: Mapped[int] = mapped_column(ForeignKey("leagues.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    # Every league the file holds rows of (space-separated keys), and its row counts.
    file_leagues: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer, server_default="0")
    importer_version: Mapped[str] = mapped_column(String(50))
    imported_at: Mapped[dt.datetime | None] = _now()
