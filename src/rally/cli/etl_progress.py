"""Progress of `rally etl import`: bars per league and phase on a terminal, lines otherwise."""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from rally.cli._common import CommandLog, real_console
from rally.etl.progress import ImportProgress
from rally.etl.report import LeagueReport


def _outcome(result: LeagueReport) -> str:
    if result.unchanged_input:
        return "input unchanged since its last import, skipped"
    if result.failed:
        return f"failed: {result.error}"
    return "committed" if result.committed else "nothing to load"


class BarProgress(ImportProgress):
    """One bar for checking the files, then per league a read bar and a load bar."""

    def __init__(self, console: Console) -> None:
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=real_console(console),
            transient=False,
        )
        self.tasks: dict[tuple[str, str], TaskID] = {}

    def __enter__(self) -> BarProgress:
        self.bars.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bars.stop()

    def _task(self, key: tuple[str, str], description: str, total: int) -> TaskID:
        if key not in self.tasks:
            self.tasks[key] = self.bars.add_task(description, total=total or 1)
        return self.tasks[key]

    def scan(self, path: Path, done: int, total: int) -> None:
        task = self._task(("", "check"), "check files", total)
        self.bars.update(task, completed=done, description=f"check files: {path.name}")

    def read(self, league: str, path: Path, done: int, total: int) -> None:
        task = self._task((league, "read"), league, total)
        self.bars.update(task, completed=done, description=f"{league} read {path.name}")

    def load(self, league: str, step: str, done: int, total: int) -> None:
        task = self._task((league, "load"), league, total)
        self.bars.update(task, completed=done, description=f"{league} load: {step}")

    def finished(self, league: str, result: LeagueReport) -> None:
        if result.unchanged_input:
            task = self._task((league, "read"), league, 1)
            self.bars.update(task, completed=1, description=f"{league}: {_outcome(result)}")


class LineProgress(ImportProgress):
    """Log lines (cron logs): one when the files are checked, one per league and phase.

    Each line carries its counts and how long the phase took (`duration_s`); see
    `rally.cli._common.CommandLog` for the format.
    """

    def __init__(self, log: CommandLog) -> None:
        self.log = log
        self.phase_started = time.perf_counter()
        self.reading: str | None = None

    def _took(self) -> float:
        now = time.perf_counter()
        seconds, self.phase_started = now - self.phase_started, now
        return round(seconds, 3)

    def scan(self, path: Path, done: int, total: int) -> None:
        if done == total:
            self.log("files checked", files=total, duration_s=self._took())

    def read(self, league: str, path: Path, done: int, total: int) -> None:
        if done == total and self.reading != league:
            self.reading = league
            self.log("league read", league=league, rows=total, duration_s=self._took())

    def load(self, league: str, step: str, done: int, total: int) -> None:
        if done == total:
            self.log("league loaded", league=league, steps=total, duration_s=self._took())

    def finished(self, league: str, result: LeagueReport) -> None:
        counts = {
            name: sum(getattr(c, name) for c in result.entities.values())
            for name in ("inserted", "updated", "unchanged", "deactivated", "rejected", "unlinked")
        }
        fields = {"league": league, "outcome": _outcome(result).split(":")[0], **counts}
        if result.unchanged_input:
            fields["outcome"] = "skipped: input unchanged since its last import"
            fields["rejected"] = result.remembered_rejects
        if result.failed:
            self.log.error("league finished", **fields, error=result.error)
        else:
            self.log("league finished", **fields)
        self.phase_started = time.perf_counter()
