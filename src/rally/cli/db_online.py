"""`rally db upgrade --online | --finalize | --abort`: the command side of rally.legacy.online."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import Engine

from rally.cli._common import command_log, console, is_terminal
from rally.db import migrate
from rally.errors import RallyError, UsageError
from rally.legacy import online
from rally.legacy.plan import build_plan

Log = Callable[[str], None]


#: Off a terminal, a batched step still running logs its progress at most this often.
PROGRESS_EVERY_S = 10.0


def _progress_lines() -> Callable[[str, int, int], None]:
    """Log lines for the batched steps: one when each ends (rows, seconds), and one at most
    every PROGRESS_EVERY_S seconds while it runs."""
    log = command_log()
    started: dict[str, float] = {}
    last_line: dict[str, float] = {}
    ended: set[str] = set()

    def update(step: str, done: int, total: int) -> None:
        now = time.perf_counter()
        first = started.setdefault(step, now)
        if step in ended:
            return
        if done >= total:
            ended.add(step)
            log("batched step done", step=step, rows=total, duration_s=round(now - first, 3))
        elif now - last_line.setdefault(step, first) >= PROGRESS_EVERY_S:
            last_line[step] = now
            log("batched step running", step=step, done=done, total=total)

    return update


@contextmanager
def _progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A bar per batched step on a terminal; log lines otherwise (see `_progress_lines`)."""
    if not is_terminal():
        yield _progress_lines()
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, object] = {}

        def update(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)  # type: ignore[arg-type]

        yield update


def check_can_start(
    engine: Engine, assign_unknown: str | None, log: Log, *, resolve: bool = False
) -> migrate.DbState:
    """Refuse what the online path cannot carry; return the database's state."""
    if engine.dialect.name != "postgresql":
        raise UsageError(
            "--online works on PostgreSQL only; SQLite databases upgrade offline "
            "(`rally db upgrade`)."
        )
    state = migrate.current(engine)
    if state.kind == "legacy":
        log("checking the legacy data (read-only, as `rally db plan`)")
        plan = build_plan(engine, assign_unknown=assign_unknown)
        # Tables Rally does not know: the online backfill does not re-point their series
        # references (nor count them as uses), so they take the offline path (issue 18).
        series_refs = [
            f"{t['table']}.{r['column']}"
            for t in plan.get("unknown_tables", [])
            for r in t["references"]
            if r["references"] == "series"
        ]
        if series_refs:
            raise RallyError(
                "Cannot upgrade online: tables Rally does not know reference series ("
                + ", ".join(series_refs[:8])
                + (", ..." if len(series_refs) > 8 else "")
                + "): the online upgrade does not re-point them; the offline "
                "`rally db upgrade` does. Nothing was changed."
            )
        if plan["blockers"]:
            raise RallyError(
                "Cannot upgrade online: " + "; ".join(plan["blockers"]) + ". No resolution "
                "covers these; fix the rows (`rally db plan` shows them), then run `--online` "
                "again. Nothing was changed."
            )
        needed = [
            f"{r['count']} rows need the resolution {r['rule']!r}" for r in plan["resolutions"]
        ]
        if plan.get("needs_resolve") and not resolve:
            raise RallyError(
                "Cannot upgrade online: " + "; ".join(needed) + ". Check the resolutions "
                "with `rally db plan` (sample rows, each one copied to the quarantine first), "
                "then run `rally db upgrade --online --resolve` to apply them in the backfill "
                "(or fix the rows yourself). Nothing was changed."
            )
        if needed:
            log("plan: resolutions to apply in the backfill: " + "; ".join(needed))
    elif state.kind != "online" and not (state.kind == "rally" and _window_open(engine)):
        raise UsageError(
            f"--online upgrades a legacy database; this one is {state.describe}. "
            "Use `rally db upgrade`."
        )
    return state


def _window_open(engine: Engine) -> bool:
    return bool(online.online_plan(engine)["started"])


def run(
    engine: Engine,
    *,
    mode: str,
    options: online.OnlineOptions,
    log: Log,
    backup: Callable[[], None] | None,
) -> None:
    """Run one of the online modes: 'online', 'finalize' or 'abort'."""
    if engine.dialect.name != "postgresql":
        raise UsageError(f"--{mode} works on PostgreSQL only; SQLite databases upgrade offline.")
    if mode == "abort":
        online.abort(engine, log=log, options=options)
        console.print("Aborted: the database is back in the legacy shape; every row is kept.")
        return
    if mode == "finalize":
        online.finalize(engine, log=log, options=options)
        console.print(f"Finalized: the database is at {migrate.head_revision()}, "
                      "the old application's translation triggers are gone.")  # fmt: skip
        return
    state = check_can_start(engine, options.assign_unknown, log, resolve=options.resolve)
    if state.kind == "legacy" and backup is not None:
        backup()
    with _progress_bar() as progress:
        online.upgrade_online(engine, options, log=log, progress=progress)
    console.print(
        "Online upgrade complete: both applications work. Stop the old application, then "
        "run `rally db upgrade --finalize` (or `--abort` to return to legacy)."
    )
