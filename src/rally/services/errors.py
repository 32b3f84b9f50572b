"""Domain errors of the services, each named for the condition a user can act on."""

from __future__ import annotations

from rally.errors import Conflict, Forbidden, NotFound, RallyError, UsageError


class NotSignedIn(RallyError):
    """The request carries no valid session."""

    http_status = 401


class InvalidCredentials(RallyError):
    """The email or password is wrong."""

    http_status = 401


class TooManySignInAttempts(RallyError):
    """Too many failed sign-ins for one email in a short time."""

    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EmailAlreadyRegistered(Conflict):
    """An account with this email exists."""


class InvalidAccountDetails(UsageError):
    """The email, password or name given at registration is not acceptable."""


class LeagueNotFound(NotFound):
    """No league has this key."""


class ClubNotFound(NotFound):
    """The league has no club of this name."""


class SeriesNotFound(NotFound):
    """The league has no series of this name, or no series has this id."""


class TeamNotFound(NotFound):
    """No team has this id."""


class PlayerNotFound(NotFound):
    """No player record has this id."""


class PlayerAlreadyClaimed(Conflict):
    """Another user has claimed this player record (which can be disputed)."""

    def __init__(self, message: str, *, player_id: int | None = None) -> None:
        super().__init__(message)
        self.player_id = player_id


class PlayerNotYours(Forbidden):
    """The record's name does not match the account and is not one of the person's records."""


class TeamNotClaimed(Forbidden):
    """The team is not a team of any record the user claimed."""


class CsrfRejected(Forbidden):
    """A form or API request failed the cross-site request forgery check."""


class LinkInvalid(UsageError):
    """A reset or verification link is malformed, was already used, or has expired."""

    http_status = 400


class AccountDisabled(Forbidden):
    """The operator disabled this account."""


class SignInBusy(RallyError):
    """Too many password checks at once across the site; the client should retry shortly."""

    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ClaimNotFound(NotFound):
    """No claim or dispute has this id, or it is not in a state the action applies to."""


class NotCaptain(Forbidden):
    """The user is not a captain of the team the claim belongs to."""


class EmailNotVerified(Forbidden):
    """The action needs a verified e-mail address."""


class UserNotFound(NotFound):
    """No account has this address."""


class MatchNotFound(NotFound):
    """No match (schedule row) has this id, or it is not a match of the player's team."""


class AvailabilityNotAllowed(Forbidden):
    """The user may answer only for their own rows, or as captain for their team's players."""


class CalendarFeedNotFound(NotFound):
    """No live calendar feed has this token or id (never made, or revoked)."""
