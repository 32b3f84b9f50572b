"""Settings: one typed object, from flags, then RALLY_* environment variables, then defaults.

Built once in the CLI command or the app factory and passed down; nothing reads the
environment at import time. `rally config` prints the effective settings, secrets masked.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rally.errors import UsageError

ENV_PREFIX = "RALLY_"
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


class Settings(BaseSettings):
    """What a Rally process needs to know. Every field is also `RALLY_<FIELD>` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", validate_default=True
    )

    data_dir: Path = Field(
        default_factory=data_dir,
        description="Rally's own files: default database, demo, backups, outbox, secret key.",
    )
    database_url: str = Field(
        "",
        description="Database URL (postgresql://... or sqlite:///path); "
        "default: rally.db in the data directory.",
    )
    database_read_url: str | None = Field(
        None,
        description="A read replica for read-only pages and API calls; a user who just wrote "
        "reads the primary until the replica has replayed the write.",
    )
    secret_key: SecretStr | None = Field(
        None, description="Signs forms and links; default: a key kept in <data dir>/secret_key."
    )
    host: str = Field("127.0.0.1", description="`rally serve`: interface to listen on.")
    port: int = Field(8000, ge=1, le=65535, description="`rally serve`: TCP port.")
    workers: int = Field(1, ge=1, le=64, description="`rally serve`: worker processes.")
    access_log: bool = Field(True, description="`rally serve`: log every request.")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Log lines as `text` (timestamp, level, then key=value pairs) or `json`.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Least severe level logged."
    )
    metrics: bool = Field(False, description="Serve Prometheus metrics at /metrics.")
    # Mail (issue 15): without smtp_host, messages go to <data dir>/outbox as .eml files.
    smtp_host: str | None = Field(None, description="SMTP server for outgoing mail.")
    smtp_port: int | None = Field(
        None, ge=1, le=65535, description="SMTP port; default 587 (465 with smtp_tls=ssl)."
    )
    smtp_tls: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="SMTP encryption: STARTTLS, implicit TLS (ssl) or none."
    )
    smtp_user: str | None = Field(None, description="SMTP user name (AUTH when set).")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    mail_from: str = Field("Rally <rally@localhost>", description="Sender of Rally's mail.")
    operator_email: str | None = Field(
        None, description="Where claim reviews and disputes go (besides the team's captains)."
    )
    base_url: str | None = Field(
        None, description="Public address of the site, for links in mail (https://...)."
    )
    # Sign-in throttling and sessions (issue 15); rates are `limits` strings.
    limit_login_per_address: str = Field(
        "30/minute", description="Sign-in attempts one client address may make."
    )
    limit_password_checks: str = Field(
        "2/second", description="Password checks per process, all clients together."
    )
    limit_password_queue: int = Field(
        2, ge=1, description="Password checks running or waiting at once before 429."
    )
    password_workers: int = Field(
        1, ge=1, le=64, description="Threads hashing passwords, at a lowered CPU priority."
    )
    limit_storage: str = Field(
        "memory://", description="Where limit counters live (a `limits` storage URI)."
    )
    limit_free_failures: int = Field(
        5, ge=0, description="Failed sign-ins of an account before the growing delays start."
    )
    limit_max_delay: float = Field(
        900.0, gt=0, description="Longest delay (s) between sign-ins after failures."
    )
    limit_hold: float = Field(1.0, ge=0, description="Seconds a throttled answer is held.")
    session_idle_days: float = Field(
        14.0, gt=0, description="A session ends after this many idle days (use extends it)."
    )
    session_max_days: float = Field(
        90.0, gt=0, description="No session lasts longer than this since sign-in."
    )
    secure_cookies: bool = Field(
        False, description="Secure cookies always (behind a TLS proxy); else only on https."
    )
    reset_link_minutes: float = Field(60.0, gt=0, description="Reset links expire after this.")
    verify_link_hours: float = Field(
        72.0, gt=0, description="Verification links expire after this."
    )

    @cached_property
    def mail(self) -> MailSettings:
        """The mail settings as one object."""
        return MailSettings(
            host=self.smtp_host,
            port=self.smtp_port or (465 if self.smtp_tls == "ssl" else 587),
            tls=self.smtp_tls,
            username=self.smtp_user,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
            sender=self.mail_from,
            operator=self.operator_email,
        )

    @cached_property
    def security(self) -> SecuritySettings:
        """The throttling and session settings as one object."""
        return SecuritySettings(
            login_per_address=self.limit_login_per_address,
            password_checks=self.limit_password_checks,
            password_workers=self.password_workers,
            password_queue=self.limit_password_queue,
            limits_storage=self.limit_storage,
            login_free_failures=self.limit_free_failures,
            login_max_delay=self.limit_max_delay,
            throttle_hold=self.limit_hold,
            session_idle_days=self.session_idle_days,
            session_max_days=self.session_max_days,
            secure_cookies=self.secure_cookies,
            base_url=self.base_url.rstrip("/") if self.base_url else None,
            reset_link_minutes=self.reset_link_minutes,
            verify_link_hours=self.verify_link_hours,
        )

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'rally.db'}")
        return self

    @classmethod
    def load(cls, database_url: str | None = None, **flags: Any) -> Settings:
        """Resolve settings: flags given (not None), then RALLY_* environment, then defaults."""
        given = {"database_url": database_url, **flags}
        try:
            return cls(**{name: value for name, value in given.items() if value is not None})
        except ValidationError as exc:
            raise UsageError(_sentence(exc)) from None

    def secret(self) -> str | None:
        """Return the configured secret key in clear, if any."""
        return self.secret_key.get_secret_value() if self.secret_key else None

    def as_environment(self) -> dict[str, str]:
        """Return RALLY_* variables that rebuild these settings in another process."""
        env = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"{ENV_PREFIX}{name.upper()}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
        return env

    def effective(self, flags: frozenset[str] = frozenset()) -> list[tuple[str, str, str]]:
        """Return (setting, value with secrets masked, where it came from) for `rally config`."""
        rows = []
        for name in type(self).model_fields:
            env = f"{ENV_PREFIX}{name.upper()}"
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown = "********"
            elif name.endswith("_url") and value:
                shown = _mask_url(str(value))
            else:
                shown = "" if value is None else str(value)
            if name in flags:
                source = "flag"
            elif env in os.environ:
                source = f"environment ({env})"
            else:
                source = f"default ({env} unset)"
            rows.append((name, shown, source))
        return rows


def _mask_url(url: str) -> str:
    # postgresql://user:secret@host/db -> postgresql://user:***@host/db
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def _sentence(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        problems.append(
            f"{ENV_PREFIX}{name.upper()} (or its flag) is invalid: {error['msg'].rstrip('.')}"
        )
    return "; ".join(problems) + "."


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
    #: Where claim reviews and disputes go besides the team's captains.
    operator: str | None = None


@dataclass(frozen=True)
class SecuritySettings:
    """Sign-in throttling, sessions and links (see Settings for each field's meaning)."""

    login_per_address: str = "30/minute"
    password_checks: str = "2/second"
    password_workers: int = 1
    password_queue: int = 2
    limits_storage: str = "memory://"
    login_free_failures: int = 5
    login_max_delay: float = 900.0
    throttle_hold: float = 1.0
    session_idle_days: float = 14.0
    session_max_days: float = 90.0
    secure_cookies: bool = False
    base_url: str | None = None
    reset_link_minutes: float = 60.0
    verify_link_hours: float = 72.0


def account_fields(
    *, mail: MailSettings | None = None, security: SecuritySettings | None = None
) -> dict[str, Any]:
    """Return Settings keyword arguments for these mail and security settings (tests, tools)."""
    fields: dict[str, Any] = {}
    if mail is not None:
        fields |= {
            "smtp_host": mail.host,
            "smtp_port": mail.port,
            "smtp_tls": mail.tls,
            "smtp_user": mail.username,
            "smtp_password": mail.password,
            "mail_from": mail.sender,
            "operator_email": mail.operator,
        }
    if security is not None:
        names = {
            "login_per_address": "limit_login_per_address",
            "password_checks": "limit_password_checks",
            "password_queue": "limit_password_queue",
            "limits_storage": "limit_storage",
            "login_free_failures": "limit_free_failures",
            "login_max_delay": "limit_max_delay",
            "throttle_hold": "limit_hold",
        }
        fields |= {names.get(k, k): v for k, v in asdict(security).items()}
    return fields
