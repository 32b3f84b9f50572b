"""Signed, expiring, single-use links (password reset, e-mail verification).

No token table: a link signs the user id and a fingerprint of the state the link is meant
to change (the password hash for a reset, the address and its verification time for a
verification). Using the link changes that state, so the same link then fails: single use.
A new password, or a changed address, also voids older links.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from rally.models import User
from rally.services.errors import LinkInvalid

Purpose = Literal["reset", "verify"]


def _fingerprint(user: User, purpose: Purpose) -> str:
    if purpose == "reset":
        state = user.password_hash
    else:
        verified = user.email_verified_at.isoformat() if user.email_verified_at else ""
        state = f"{user.email}|{verified}"
    return hashlib.sha256(f"{purpose}:{state}".encode()).hexdigest()[:24]


def _serializer(secret: bytes, purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"rally-{purpose}")


def make_token(secret: bytes, user: User, purpose: Purpose) -> str:
    """Return the token for a link that lets `user` reset the password or verify the address."""
    return str(_serializer(secret, purpose).dumps([user.id, _fingerprint(user, purpose)]))


def user_id_of(secret: bytes, token: str, purpose: Purpose, *, max_age_s: float) -> int:
    """Return the user id a token names if it is authentic and young enough (else LinkInvalid).

    The caller loads the user and calls `check_unused`.
    """
    try:
        user_id, _ = _serializer(secret, purpose).loads(token, max_age=int(max_age_s))
    except SignatureExpired:
        raise LinkInvalid("This link has expired; ask for a new one.") from None
    except (BadSignature, ValueError, TypeError):
        raise LinkInvalid("This link is not valid; copy the whole link from the e-mail.") from None
    if not isinstance(user_id, int):
        raise LinkInvalid("This link is not valid; copy the whole link from the e-mail.")
    return user_id


def check_unused(secret: bytes, token: str, user: User | None, purpose: Purpose) -> User:
    """Refuse a link already used (or voided by a newer password or address)."""
    try:
        _, fingerprint = _serializer(secret, purpose).loads(token)
    except (BadSignature, ValueError, TypeError):
        fingerprint = None
    if user is None or fingerprint != _fingerprint(user, purpose):
        raise LinkInvalid("This link was already used or is no longer valid; ask for a new one.")
    return user
