"""Rate limits on sign-in that a stranger cannot turn against an account's owner.

Three layers, each a setting (see config.SecuritySettings):

- per client address (`limits`): a flood from one address gets 429s without any password
  check or database work;
- per account, growing delays (accounts.account_delay, from the failures kept in the
  database): after a few free failures each further one doubles the wait, up to a cap. The
  owner signing in from a trusted place (a browser holding the device cookie of an earlier
  sign-in, or the address of one of their live sessions) is counted apart, so failures
  caused by others never keep them out;
- global: password checks (argon2, deliberately slow: ~0.1-0.6 s of CPU, several threads)
  run on their own small pool of threads at a lowered CPU priority, at most
  `password_queue` waiting or running and at most `password_checks` per period (`limits`).
  A flood of made-up accounts gets 429s and the CPU stays with everything else (standings
  stay fast); trusted sign-ins skip both caps (they still use the pool) so the owner gets
  in during a flood.

`limits` has no exponential back-off, hence the small delay computation of our own.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse_many, storage, strategies

from rally.config import SecuritySettings
from rally.errors import UsageError
from rally.services.errors import SignInBusy, TooManySignInAttempts

#: The cookie a browser keeps after a successful sign-in ("this device signed in before").
DEVICE_COOKIE = "rally_device"
DEVICE_MAX_AGE = 365 * 24 * 3600


def _limits(value: str, setting: str) -> list[RateLimitItem]:
    try:
        return list(parse_many(value))
    except ValueError:
        raise UsageError(
            f"{setting} must be a rate such as '30/minute' or '5/second', not {value!r}."
        ) from None


T = TypeVar("T")


def _lower_priority() -> None:
    # Linux: a thread has its own nice value; argon2's helper threads inherit it. The event
    # loop keeps the CPU when hashing and serving compete.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class Throttle:
    """The per-process limiters of one application (built in create_app)."""

    def __init__(self, settings: SecuritySettings, secret: bytes) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, settings.password_workers),
            thread_name_prefix="rally-passwords",
            initializer=_lower_priority,
        )
        self._in_flight = 0
        self._lock = threading.Lock()
        self.settings = settings
        self.storage = storage.storage_from_string(settings.limits_storage)
        self.limiter = strategies.MovingWindowRateLimiter(self.storage)
        self.per_address = _limits(settings.login_per_address, "RALLY_LIMIT_LOGIN_PER_ADDRESS")
        self.checks = _limits(settings.password_checks, "RALLY_LIMIT_PASSWORD_CHECKS")
        self._devices = URLSafeTimedSerializer(secret, salt="rally-device")

    def _retry_after(self, items: list[RateLimitItem], *key: str) -> int:
        resets: list[float] = [
            self.limiter.get_window_stats(item, *key).reset_time for item in items
        ]
        return max(1, math.ceil(max(resets) - time.time()))

    def hit_address(self, client: str) -> None:
        """Count a sign-in attempt from `client`; 429 when its limit is spent."""
        if not all(self.limiter.hit(item, "login-address", client) for item in self.per_address):
            retry = self._retry_after(self.per_address, "login-address", client)
            raise TooManySignInAttempts(
                f"Too many sign-in attempts from your address; try again in {retry} seconds.",
                retry_after=retry,
            )

    def _busy(self, retry_after: int) -> SignInBusy:
        return SignInBusy(
            "The site is busy with sign-ins right now; try again in a few seconds.",
            retry_after=retry_after,
        )

    async def password_work(
        self, work: Callable[..., T], *args: object, trusted: bool = False
    ) -> T:
        """Run a password hash or check on the password threads (429 when over budget).

        Trusted work (the owner at their usual place) skips the caps and waits its turn.
        """
        if not trusted:
            with self._lock:
                if self._in_flight >= max(1, self.settings.password_queue):
                    raise self._busy(1)
                self._in_flight += 1
            if not all(self.limiter.hit(item, "password-checks") for item in self.checks):
                with self._lock:
                    self._in_flight -= 1
                raise self._busy(self._retry_after(self.checks, "password-checks"))
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
        finally:
            if not trusted:
                with self._lock:
                    self._in_flight -= 1

    def device_cookie(self, user_id: int) -> str:
        """Return the signed device cookie value for `user_id`."""
        return str(self._devices.dumps(user_id))

    def device_user(self, cookie: str | None) -> int | None:
        """Return the user id of a valid device cookie, or None."""
        if not cookie or len(cookie) > 200:
            return None
        try:
            value = self._devices.loads(cookie, max_age=DEVICE_MAX_AGE)
        except BadSignature:
            return None
        return value if isinstance(value, int) else None

    def reset(self) -> None:
        """Forget every counter (tests, and an operator after changing limits)."""
        self.storage.reset()


def growing_delay(failures: int, *, free: int, cap: float) -> float:
    """Seconds to wait after the last failure: 0 for the first `free`, then 1, 2, 4 ... cap."""
    if failures < free:
        return 0.0
    return float(min(cap, 2 ** min(failures - free, 30)))
