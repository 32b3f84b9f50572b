"""Bodies and answers of the account API (web.account_api)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, StringConstraints

from rally.services.claim_review import ClaimView, DisputeView
from rally.web.schemas import DbId, Email, Password, UserOut

Token = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=500)]


class PasswordChangeBody(BaseModel):
    """The current password and the new one."""

    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Password


class ForgotBody(BaseModel):
    """The address of the account whose password is forgotten."""

    email: Email


class ResetBody(BaseModel):
    """The token of a reset link and the new password."""

    token: Token
    password: Password


class VerifyBody(BaseModel):
    """The token of a verification link."""

    token: Token


class DisputeBody(BaseModel):
    """ "This is me": the record another account claimed, and why."""

    player_id: DbId
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class AccountOut(BaseModel):
    """The account's state: verification, claims with their state, disputes, captaincies."""

    user: UserOut
    email_verified: bool
    claims: list[ClaimView]
    disputes: list[DisputeView]
    captain_of: list[int]


class Notice(BaseModel):
    """A one-sentence answer to an action whose result arrives by mail."""

    message: str
