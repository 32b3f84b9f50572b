"""Service-level behaviour: name matching rules, throttling window, session expiry."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from web_helpers import FAST_HASHER, PASSWORD

from rally.services import accounts, throttle
from rally.services import person_names as names
from rally.services.errors import InvalidCredentials, TooManySignInAttempts


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("José  Núñez", "jose nunez"),
        (" O'Neil ", "oneil"),
        ("Mary-Kate", "mary kate"),
        ("C.J.", "cj"),
    ],
)
def test_normalize_folds_case_accents_punctuation_and_spaces(a: str, b: str) -> None:
    assert names.normalize(a) == names.normalize(b)


def test_nicknames_need_the_same_last_name() -> None:
    assert names.nickname_match("Bob", "Smith", "Robert", "Smith")
    assert names.nickname_match("bill", "JONES", "William", "Jones")
    assert names.nickname_match("Mike", "Walsh", "Michael", "Walsh")
    assert names.nickname_match("Jim", "Walsh", "James", "Walsh")
    assert not names.nickname_match("Bob", "Smith", "Robert", "Smyth")
    assert not names.nickname_match("Ann", "Walsh", "Aaron", "Walsh")
    assert not names.same_name("Jim", "Walsh", "James", "Walsh")


def test_similarity_ranks_typos_above_strangers() -> None:
    close = names.similarity("Aron", "Walsh", "Aaron", "Walsh")
    far = names.similarity("Aron", "Walsh", "Dan", "Ware")
    assert close > 0.8 > far


def test_failures_bring_growing_delays_not_a_lock(engine: sa.Engine) -> None:
    start = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
    with Session(engine) as session, session.begin():
        accounts.register_user(
            session,
            email="t@example.com",
            password=PASSWORD,
            first_name="T",
            last_name="U",
            hasher=FAST_HASHER,
        )
    when = start
    waits = []
    for _ in range(accounts.FREE_FAILURES + 4):
        with Session(engine) as session, session.begin():
            wait = accounts.account_delay(session, email="t@example.com", client=None, now=when)
            waits.append(wait)
            when += dt.timedelta(seconds=wait)
            assert (
                accounts.check_credentials(
                    session, email="t@example.com", password="bad", now=when, hasher=FAST_HASHER
                )
                is None
            )
    # Free failures, then 1, 2, 4, 8 seconds: each failure doubles the wait.
    assert waits == [0] * accounts.FREE_FAILURES + [1, 2, 4, 8]
    with Session(engine) as session, pytest.raises(TooManySignInAttempts) as blocked:
        accounts.sign_in(
            session, email="T@example.com", password=PASSWORD, now=when, hasher=FAST_HASHER
        )
    assert blocked.value.retry_after == 16
    # Failures from elsewhere never count at the owner's trusted place.
    with Session(engine) as session:
        assert (
            accounts.account_delay(session, email="t@example.com", client="10.1.1.1", now=when) == 0
        )
    later = when + dt.timedelta(seconds=16)
    with Session(engine) as session, session.begin():
        signed = accounts.sign_in(
            session, email="t@example.com", password=PASSWORD, now=later, hasher=FAST_HASHER
        )
        assert signed.user.email == "t@example.com"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM login_attempts")).scalar() == 0
    with Session(engine) as session, pytest.raises(InvalidCredentials):
        accounts.sign_in(session, email="nobody@example.com", password="x", hasher=FAST_HASHER)
    assert throttle.growing_delay(100, free=5, cap=900) == 900


def test_sessions_expire_and_end(engine: sa.Engine) -> None:
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with Session(engine) as session, session.begin():
        user = accounts.register_user(
            session,
            email="s@example.com",
            password=PASSWORD,
            first_name="S",
            last_name="T",
            hasher=FAST_HASHER,
        )
        signed = accounts.start_session(session, user=user, now=now)
    with Session(engine) as session:
        found = accounts.user_for_token(session, token=signed.token, now=now)
        assert found is not None and found.email == "s@example.com"
        expired = now + accounts.SESSION_LIFETIME + dt.timedelta(seconds=1)
        assert accounts.user_for_token(session, token=signed.token, now=expired) is None
        assert accounts.user_for_token(session, token="forged", now=now) is None
    with Session(engine) as session, session.begin():
        assert accounts.end_session(session, token=signed.token)
        assert accounts.user_for_token(session, token=signed.token, now=now) is None
