"""Progress of `rally etl import`: bars per league and phase on a terminal, lines otherwise."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

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
        #: Bars drawn ahead (see leagues) whose clock has not started.
        self.waiting: set[TaskID] = set()

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
        task = self.tasks[key]
        if task in self.waiting:
            self.waiting.discard(task)
            self.bars.start_task(task)
        if total:
            self.bars.update(task, total=total)
        return task

    def scan(self, path: Path, done: int, total: int) -> None:
        task = self._task(("", "check"), "check files", total)
        self.bars.update(task, completed=done, description=f"check files: {path.name}")

    def leagues(self, reading: Sequence[str]) -> None:
        # A read bar and a load bar per league, in league order, whichever starts first
        # (two leagues are read and loaded at once on PostgreSQL, see rally.etl.lanes).
        for league in reading:
            for phase in ("read", "load"):
                # Its clock starts with its first step, not while it waits its turn.
                task = self.bars.add_task(f"{league} {phase}", total=1, start=False)
                self.tasks[(league, phase)] = task
                self.waiting.add(task)

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
    `rally.cli._common.CommandLog` for the format. A league is read (in a thread) while the
    one before it loads, its match results while the rest of it loads, and small leagues
    by two processes at once (rally.etl.lanes): a league's `league read` and `league
    loaded` lines wait for its `league finished`, so that the lines come league by league.
    """

    def __init__(self, log: CommandLog) -> None:
        self.log = log
        self.started = time.perf_counter()
        self.lock = threading.Lock()
        self.reading: dict[str, float] = {}
        self.read_lines: dict[str, dict[str, Any]] = {}
        self.loading: dict[str, float] = {}
        self.load_lines: dict[str, dict[str, Any]] = {}

    def scan(self, path: Path, done: int, total: int) -> None:
        if done == total:
            seconds = round(time.perf_counter() - self.started, 3)
            self.log("files checked", files=total, duration_s=seconds)

    def read(self, league: str, path: Path, done: int, total: int) -> None:
        now = time.perf_counter()
        with self.lock:
            began = self.reading.setdefault(league, now)
            if done == total and league not in self.read_lines:
                seconds = round(now - began, 3)
                self.read_lines[league] = {"league": league, "rows": total, "duration_s": seconds}

    def _flush_read(self, league: str) -> None:
        with self.lock:
            line = self.read_lines.pop(league, None)
        if line is not None:
            self.log("league read", **line)

    def load(self, league: str, step: str, done: int, total: int) -> None:
        now = time.perf_counter()
        with self.lock:
            began = self.loading.setdefault(league, now)
            if done == total:
                seconds = round(now - began, 3)
                self.load_lines[league] = {"league": league, "steps": total, "duration_s": seconds}

    def finished(self, league: str, result: LeagueReport) -> None:
        self._flush_read(league)
        with self.lock:
            loaded = self.load_lines.pop(league, None)
        if loaded is not None:
            self.log("league loaded", **loaded)
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
