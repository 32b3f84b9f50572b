"""Settings, read from the command line and the environment; never at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

ENV_DATABASE_URL = "RALLY_DATABASE_URL"
ENV_DATA_DIR = "RALLY_DATA_DIR"
ENV_SECRET_KEY = "RALLY_SECRET_KEY"


def data_dir() -> Path:
    """Return the directory for Rally's own files (SQLite database, secrets, backups)."""
    configured = os.environ.get(ENV_DATA_DIR)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("rally", appauthor=False))


def default_database_url() -> str:
    """Return the embedded default: a SQLite file in the user's data directory."""
    return f"sqlite:///{data_dir() / 'rally.db'}"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        from rally.errors import UsageError

        raise UsageError(f"{name} must be a number, not {value!r}.") from None


@dataclass(frozen=True)
class MailSettings:
    """SMTP for outgoing mail; without a host, messages go to `<data dir>/outbox`."""

    host: str | None = None
    port: int = 587
    #: "starttls", "ssl" (implicit TLS, usually port 465) or "none".
    tls: str = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = "Rally <rally@localhost>"
    #: Where claim reviews and disputes go when a team has no active captain.
    operator: str | None = None

    @classmethod
    def load(cls) -> MailSettings:
        """Read RALLY_SMTP_* and RALLY_MAIL_FROM / RALLY_OPERATOR_EMAIL."""
        tls = os.environ.get("RALLY_SMTP_TLS", "starttls").strip().lower()
        if tls not in {"starttls", "ssl", "none"}:
            from rally.errors import UsageError

            raise UsageError(f"RALLY_SMTP_TLS must be starttls, ssl or none, not {tls!r}.")
        return cls(
            host=os.environ.get("RALLY_SMTP_HOST") or None,
            port=int(_number("RALLY_SMTP_PORT", 465 if tls == "ssl" else 587)),
            tls=tls,
            username=os.environ.get("RALLY_SMTP_USER") or None,
            password=os.environ.get("RALLY_SMTP_PASSWORD") or None,
            sender=os.environ.get("RALLY_MAIL_FROM") or cls.sender,
            operator=os.environ.get("RALLY_OPERATOR_EMAIL") or None,
        )


@dataclass(frozen=True)
class SecuritySettings:
    """Sign-in throttling, sessions and links; every limit is a `limits` rate string."""

    #: Sign-in attempts one client address may make (all accounts together).
    login_per_address: str = "30/minute"
    #: Password checks (sign-in, registration, reset) the whole process runs, for all clients.
    password_checks: str = "2/second"
    #: Threads that hash and check passwords (at a lowered CPU priority), and how many
    #: checks may run or wait at once before more get 429.
    password_workers: int = 1
    password_queue: int = 2
    #: Where the counters live: memory:// (per process) or any `limits` storage URI.
    limits_storage: str = "memory://"
    #: Failed sign-ins of one account allowed before the delays start; each further one
    #: doubles the wait, from 1 second up to login_max_delay seconds.
    login_free_failures: int = 5
    login_max_delay: float = 900.0
    #: How long a throttled sign-in is held before its 429 is sent (slows a flood down).
    throttle_hold: float = 1.0
    #: A session ends after this many idle days; every use extends it, up to session_max_days.
    session_idle_days: float = 14.0
    session_max_days: float = 90.0
    #: Mark cookies Secure always (behind a TLS-terminating proxy); else only on https.
    secure_cookies: bool = False
    #: Public address of the site, used in links sent by mail (e.g. https://rally.example).
    base_url: str | None = None
    reset_link_minutes: float = 60.0
    verify_link_hours: float = 72.0

    @classmethod
    def load(cls) -> SecuritySettings:
        """Read RALLY_LIMIT_*, RALLY_SESSION_*, RALLY_SECURE_COOKIES and RALLY_BASE_URL."""
        d = cls()
        return cls(
            login_per_address=os.environ.get("RALLY_LIMIT_LOGIN_PER_ADDRESS")
            or d.login_per_address,
            password_checks=os.environ.get("RALLY_LIMIT_PASSWORD_CHECKS") or d.password_checks,
            password_workers=int(_number("RALLY_PASSWORD_WORKERS", d.password_workers)),
            password_queue=int(_number("RALLY_LIMIT_PASSWORD_QUEUE", d.password_queue)),
            limits_storage=os.environ.get("RALLY_LIMIT_STORAGE") or d.limits_storage,
            login_free_failures=int(_number("RALLY_LIMIT_FREE_FAILURES", d.login_free_failures)),
            login_max_delay=_number("RALLY_LIMIT_MAX_DELAY", d.login_max_delay),
            throttle_hold=_number("RALLY_LIMIT_HOLD", d.throttle_hold),
            session_idle_days=_number("RALLY_SESSION_IDLE_DAYS", d.session_idle_days),
            session_max_days=_number("RALLY_SESSION_MAX_DAYS", d.session_max_days),
            secure_cookies=_flag("RALLY_SECURE_COOKIES"),
            base_url=(os.environ.get("RALLY_BASE_URL") or "").rstrip("/") or None,
        )


@dataclass(frozen=True)
class Settings:
    """What a Rally process needs to know; built once in the CLI callback or app factory."""

    database_url: str
    data_dir: Path
    secret_key: str | None = None
    mail: MailSettings = field(default_factory=MailSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)

    @classmethod
    def load(cls, database_url: str | None = None) -> Settings:
        """Resolve settings: explicit argument, then RALLY_* environment, then defaults."""
        url = database_url or os.environ.get(ENV_DATABASE_URL) or default_database_url()
        return cls(
            database_url=url,
            data_dir=data_dir(),
            secret_key=os.environ.get(ENV_SECRET_KEY),
            mail=MailSettings.load(),
            security=SecuritySettings.load(),
        )
