"""Settings, read from the command line and the environment; never at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Settings:
    """What a Rally process needs to know; built once in the CLI callback or app factory."""

    database_url: str
    data_dir: Path
    secret_key: str | None = None

    @classmethod
    def load(cls, database_url: str | None = None) -> Settings:
        """Resolve settings: explicit argument, then RALLY_* environment, then defaults."""
        url = database_url or os.environ.get(ENV_DATABASE_URL) or default_database_url()
        return cls(
            database_url=url,
            data_dir=data_dir(),
            secret_key=os.environ.get(ENV_SECRET_KEY),
        )
