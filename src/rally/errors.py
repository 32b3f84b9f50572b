"""Domain errors: named for the condition, mapped to exit codes and HTTP statuses in one place each."""

from __future__ import annotations


class RallyError(Exception):
    """A condition a user can act on; its message is a sentence shown as is."""

    exit_code = 1
    http_status = 400


class UsageError(RallyError):
    """The command or request was malformed."""

    exit_code = 2
    http_status = 422


class DatabaseUnavailable(RallyError):
    """The database cannot be reached."""

    exit_code = 2
    http_status = 503


class NotFound(RallyError):
    """The thing asked for does not exist."""

    http_status = 404


class Forbidden(RallyError):
    """The user may not do this."""

    http_status = 403


class Conflict(RallyError):
    """The request conflicts with the current state."""

    http_status = 409
