"""Service-level behaviour: name matching rules, throttling window, session expiry."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from web_helpers import FAST_HASHER, PASSWORD

from rally.services import accounts
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


def test_throttle_window_expires_and_success_clears(engine: sa.Engine) -> None:
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
    for minute in range(accounts.MAX_FAILED_SIGN_INS):
        with Session(engine) as session, session.begin():
            when = start + dt.timedelta(minutes=minute)
            assert (
                accounts.check_credentials(
                    session, email="t@example.com", password="bad", now=when, hasher=FAST_HASHER
                )
                is None
            )
    with Session(engine) as session, pytest.raises(TooManySignInAttempts) as blocked:
        accounts.sign_in(
            session,
            email="T@example.com",
            password=PASSWORD,
            now=start + dt.timedelta(minutes=5),
            hasher=FAST_HASHER,
        )
    # The oldest failure (12:00) leaves the 15-minute window at 12:15.
    assert blocked.value.retry_after == 10 * 60 + 1
    later = start + accounts.THROTTLE_WINDOW + dt.timedelta(seconds=1)
    with Session(engine) as session, session.begin():
        signed = accounts.sign_in(
            session, email="t@example.com", password=PASSWORD, now=later, hasher=FAST_HASHER
        )
        assert signed.user.email == "t@example.com"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM login_attempts")).scalar() == 0
    with Session(engine) as session, pytest.raises(InvalidCredentials):
        accounts.sign_in(session, email="nobody@example.com", password="x", hasher=FAST_HASHER)


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
