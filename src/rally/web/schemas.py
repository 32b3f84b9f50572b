"""Request bodies and response shapes of the JSON API (services' dataclasses are reused)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from rally.services.claims import ClaimSearch
from rally.services.records import PlayerRecord
from rally.services.teams import Context

#: Ids are 32-bit integers in the database; larger numbers can name nothing.
MAX_ID = 2_147_483_647


def _printable(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_printable),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=254),
    AfterValidator(_printable),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
LeagueKey = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_]{1,64}$")
]
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RegisterBody(_Body):
    """A new account; league, club and series (all three) claim the player record at once."""

    email: Email
    password: Password
    first_name: Name
    last_name: Name
    league: LeagueKey | None = None
    club: Name | None = None
    series: Name | None = None


class LoginBody(_Body):
    """Credentials."""

    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class ClaimBody(_Body):
    """A player row to claim, by its id (from suggestions or a search's candidates)."""

    player_id: DbId


class ClaimSearchBody(_Body):
    """Find and claim the user's record by name; the name defaults to the account's."""

    league: LeagueKey
    club: Name
    series: Name
    first_name: Name | None = None
    last_name: Name | None = None


class ContextBody(_Body):
    """The team to switch to."""

    team_id: DbId


class UserOut(BaseModel):
    """An account, as the API shows it."""

    id: int
    email: str
    first_name: str | None
    last_name: str | None


class SessionOut(BaseModel):
    """A new session: the bearer token (also set as the session cookie)."""

    user: UserOut
    token: str
    expires_at: dt.datetime


class RegisterOut(SessionOut):
    """Registration result, with the claim outcome when league, club and series were given."""

    claim: ClaimSearch | None = None


class MeOut(BaseModel):
    """The signed-in user, their claimed records and their team context."""

    user: UserOut
    claims: list[PlayerRecord]
    context: Context | None


class ContextOut(BaseModel):
    """The user's team context (null before any team is chosen)."""

    context: Context | None


class ErrorOut(BaseModel):
    """Every error: one sentence."""

    error: str


class Health(BaseModel):
    """Liveness and database reachability."""

    status: str
    database: str
