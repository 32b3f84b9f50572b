"""Settings: one typed object, from flags, then RALLY_* environment variables, then defaults.

Built once in the CLI command or the app factory and passed down; nothing reads the
environment at import time. `rally config` prints the effective settings, secrets masked.
"""

from __future__ import annotations

import os
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
