"""What an import tells as it goes (light: the CLI's progress imports it without the importer)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rally.etl.report import LeagueReport


class ImportProgress:
    """What an import tells as it goes; the CLI draws bars or prints lines. Does nothing."""

    def scan(self, path: Path, done: int, total: int) -> None:
        """A file is being checked (``done`` of ``total`` files)."""

    def leagues(self, reading: Sequence[str]) -> None:
        """The files are checked: these leagues will be read, in this order."""

    def read(self, league: str, path: Path, done: int, total: int) -> None:
        """``done`` of the league's ``total`` rows read; ``path`` is the file being read."""

    def load(self, league: str, step: str, done: int, total: int) -> None:
        """Load step ``step`` of the league finished (``done`` of ``total``)."""

    def finished(self, league: str, result: LeagueReport) -> None:
        """The league is committed, failed, or skipped as unchanged."""
