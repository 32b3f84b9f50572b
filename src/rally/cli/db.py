"""`rally db`: upgrade (safely), plan, downgrade, back up, restore, inspect and verify."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from rally._lazy import lazy
from rally.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    command_log,
    console,
    handle_errors,
    logged,
    open_engine,
)
from rally.cli.db_copy import copy_command
from rally.errors import RallyError

# Heavy modules (SQLAlchemy, Alembic, the legacy upgrade) load when a command runs, so that
# `rally --help` starts fast (tests/test_cli_startup.py).
if TYPE_CHECKING:
    from sqlalchemy import Engine

    from rally.cli import db_online
    from rally.config import Settings
    from rally.db import migrate
    from rally.db import verify as integrity
    from rally.legacy import backup as backup_mod
    from rally.legacy import online as legacy_online
    from rally.legacy import plan as legacy_plan
    from rally.legacy import quarantine as quarantine_mod
else:
    migrate = lazy("rally.db.migrate")
    integrity = lazy("rally.db.verify")
    backup_mod = lazy("rally.legacy.backup")
    legacy_plan = lazy("rally.legacy.plan")
    quarantine_mod = lazy("rally.legacy.quarantine")
    legacy_online = lazy("rally.legacy.online")
    db_online = lazy("rally.cli.db_online")

app = typer.Typer(
    help="Create, upgrade (safely), plan, back up, restore, inspect and verify the database.",
    no_args_is_help=True,
)


class StepLog:
    """Print each step with a timestamp (a log line off a terminal, with the seconds since the
    step before), and append it to a log file when one is given."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: TextIO | None = None
        self._last = time.perf_counter()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def __call__(self, message: str, **fields: object) -> None:
        now = datetime.now(UTC)
        log = command_log()
        if log.enabled:
            since, self._last = time.perf_counter() - self._last, time.perf_counter()
            log(message, **fields, step_s=round(since, 3))
        else:
            console.print(
                f"[dim]{now.strftime('%H:%M:%S.%f')[:-3]}[/] {message}",
                highlight=False,
                soft_wrap=True,
            )
        if self._file is not None:
            self._file.write(f"{now.isoformat(timespec='milliseconds')} {message}\n")
            self._file.flush()

    def failed(self, exc: Exception) -> None:
        """Record in the log file why the command stopped (the screen gets the error line)."""
        if self._file is not None:
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
            self._file.write(f"{stamp} FAILED: {exc}\n")
            self._file.flush()

    def close(self) -> None:
        """Close the log file."""
        if self._file is not None:
            self._file.close()


@contextmanager
def _logged(engine: Engine, log_file: Path | None) -> Iterator[StepLog]:
    """Log the command's steps; log a failure before it propagates; always release both."""
    log = StepLog(log_file)
    try:
        yield log
    except Exception as exc:
        log.failed(exc)
        raise
    finally:
        log.close()
        engine.dispose()


LogFileOption = Annotated[
    Path | None,
    typer.Option("--log-file", help="Also append every step, with timestamps, to this file."),
]
NoBackupOption = Annotated[
    bool, typer.Option("--no-backup", help="Skip the automatic verified backup.")
]
BackupDirOption = Annotated[
    Path | None,
    typer.Option(
        "--backup-dir",
        help="Where the automatic backup goes (default: <data dir>/backups, private to you).",
    ),
]
ResolveOption = Annotated[
    bool,
    typer.Option(
        "--resolve",
        help="Apply the resolutions `rally db plan` shows to damaged legacy data (every row "
        "changed or deleted is first copied into legacy_quarantine).",
    ),
]
AssignUnknownOption = Annotated[
    str | None,
    typer.Option(
        "--assign-unknown",
        metavar="KEY",
        help="Put legacy rows whose league cannot be determined into league KEY.",
    ),
]


def _backup_dir(settings: Settings, backup_dir: Path | None) -> Path:
    # Backups hold e-mails and password hashes: never next to a log file by default, always
    # in the data directory's private backups/ folder unless --backup-dir says otherwise.
    return backup_dir if backup_dir is not None else settings.data_dir / "backups"


def _safety_backup(engine: Engine, directory: Path, log: StepLog) -> None:
    log(f"backup: writing to {directory} ...")
    info = backup_mod.backup(engine, backup_mod.default_backup_path(engine, directory))
    log(
        f"backup: {info.path} ({info.size} bytes, {info.entries} entries read back, "
        f"{info.seconds:.1f}s)",
        path=str(info.path),
        bytes=info.size,
        entries=info.entries,
        duration_s=round(info.seconds, 3),
    )
    log(f"backup: sha256 {info.sha256}")


@app.command()
@logged("db upgrade")
@handle_errors
def upgrade(
    database_url: DatabaseUrlOption = None,
    no_backup: NoBackupOption = False,
    backup_dir: BackupDirOption = None,
    log_file: LogFileOption = None,
    assign_unknown: AssignUnknownOption = None,
    resolve: ResolveOption = False,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="PostgreSQL: expand / backfill / contract while "
            "the old application serves (resumable); see docs/runbook.md.",
        ),
    ] = False,
    finalize: Annotated[
        bool,
        typer.Option(
            "--finalize", help="Close an online upgrade's window once the old application is gone."
        ),
    ] = False,
    abort: Annotated[
        bool,
        typer.Option(
            "--abort",
            help="Return an online upgrade in progress or in its window to the legacy shape.",
        ),
    ] = False,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            min=1,
            help="--online: rows per backfill batch at most (slow batches shrink the next).",
        ),
    ] = 1000,
    pause: Annotated[
        float, typer.Option("--pause", min=0.0, help="--online: seconds to sleep between batches.")
    ] = 0.0,
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            min=0.01,
            max=1.0,
            help="--online: seconds one try may wait for a lock (at most 1).",
        ),
    ] = 1.0,
) -> None:
    """Bring the database to the latest schema (empty, legacy or older Rally databases).

    A legacy database is checked first (as `rally db plan`), backed up (verified pg_dump)
    unless --no-backup, then upgraded in one transaction that runs the integrity checks
    before it commits. Run again, it is a no-op. With --online, the upgrade runs in short
    steps while the old application keeps writing (then --finalize, or --abort).
    """
    settings, engine = open_engine(database_url)
    modes = [m for m, on in (("online", online), ("finalize", finalize), ("abort", abort)) if on]
    if len(modes) > 1:
        raise RallyError("Give at most one of --online, --finalize and --abort.")
    if modes:
        with _logged(engine, log_file) as log:
            backup = (
                None
                if no_backup
                else (lambda: _safety_backup(engine, _backup_dir(settings, backup_dir), log))
            )
            options = legacy_online.OnlineOptions(
                batch_size, pause, lock_timeout, assign_unknown=assign_unknown, resolve=resolve
            )
            db_online.run(engine, mode=modes[0], options=options, log=log, backup=backup)
        return
    with _logged(engine, log_file) as log:
        state = migrate.current(engine)
        if state.kind == "online":
            raise RallyError(f"The database is {state.describe}.")
        if state.kind == "rally" and state.revision == migrate.head_revision():
            console.print(f"Already at head ({state.revision}); nothing to do.")
            return
        if legacy_plan.is_legacy(state) and engine.dialect.name == "postgresql":
            log("checking the legacy data (as `rally db plan`: rolled back, nothing written)")
            plan = legacy_plan.build_plan(engine, assign_unknown=assign_unknown)
            if plan["blockers"]:
                raise RallyError(
                    "Cannot upgrade: " + "; ".join(plan["blockers"])
                    + ". Nothing was changed; `rally db plan` shows the details."
                )  # fmt: skip
            if plan["needs_resolve"] and not resolve:
                raise RallyError(legacy_plan.refusal_from_plan(plan))
            if plan.get("earlier"):
                found = plan["earlier"]
                log(
                    f"plan: earlier shape {found['shape']}: {found['rows_misplaced']} of "
                    f"{found['rows_checked']} rows misplaced; {found['renamed_count']} renamed "
                    "series to merge back before the upgrade"
                )
            data = plan["data"]["series"]
            fixes = sum(r["count"] for r in plan["resolutions"])
            log(
                f"plan: {data['shared_by_several_leagues']} shared series to split, "
                f"{data['rows_to_create']} rows to create; {len(plan['resolutions'])} "
                f"resolutions ({fixes} rows); no blockers"
            )
        if state.kind != "empty" and not no_backup:
            _safety_backup(engine, _backup_dir(settings, backup_dir), log)
        before, after = migrate.upgrade(
            engine, log=log, assign_unknown=assign_unknown, resolve=resolve
        )
    if before.revision == after.revision and before.kind == "rally":
        console.print(f"Already at head ({after.revision}); nothing to do.")
    else:
        console.print(f"Upgraded {before.describe} -> {after.describe}.", soft_wrap=True)


@app.command()
@logged("db plan")
@handle_errors
def plan(
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
    assign_unknown: AssignUnknownOption = None,
    resolve: ResolveOption = False,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="List the phases and steps of `upgrade --online` "
            "and how far this database is through them.",
        ),
    ] = False,
) -> None:
    """Show what `rally db upgrade` would do, without writing anything.

    Exit 1 when `rally db upgrade` with the same options would refuse: something blocks it,
    or the data is damaged and --resolve is not given.
    """
    _settings, engine = open_engine(database_url)
    try:
        state = migrate.current(engine)
        if state.kind == "online" or (online and state.kind == "rally"):
            result = {"ok": True, "blockers": []}
        else:
            result = legacy_plan.build_plan(engine, assign_unknown=assign_unknown, resolve=resolve)
        if online:
            result["online"] = legacy_online.online_plan(engine)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        lines = legacy_plan.render_plan(result) if "database" in result else []
        lines += legacy_online.render_online_plan(result["online"]) if online else []  # type: ignore[arg-type]
        for line in lines:
            console.print(line, highlight=False, markup=False, soft_wrap=True)
    if not result["ok"]:
        raise typer.Exit(1)


@app.command()
@logged("db downgrade")
@handle_errors
def downgrade(
    revision: Annotated[
        str, typer.Argument(help="Target revision; 'legacy' means the legacy schema.")
    ],
    database_url: DatabaseUrlOption = None,
    no_backup: NoBackupOption = False,
    backup_dir: BackupDirOption = None,
    log_file: LogFileOption = None,
) -> None:
    """Return the database to an earlier schema ('legacy': the legacy production schema)."""
    settings, engine = open_engine(database_url)
    with _logged(engine, log_file) as log:
        state = migrate.current(engine)
        if state.kind != "rally":
            raise RallyError(f"Nothing to downgrade: the database is {state.describe}.")
        if not no_backup:
            _safety_backup(engine, _backup_dir(settings, backup_dir), log)
        after = migrate.downgrade(engine, revision=revision, log=log)
    console.print(f"Downgraded {state.describe} -> {after.describe}.", soft_wrap=True)


@app.command("backup")
@logged("db backup")
@handle_errors
def backup_command(
    file: Annotated[
        Path | None,
        typer.Argument(help="Backup file (default: a new file in <data dir>/backups)."),
    ] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Write a verified backup (pg_dump custom format, or a SQLite copy); print its sha256."""
    settings, engine = open_engine(database_url)
    try:
        path = file or backup_mod.default_backup_path(engine, settings.data_dir / "backups")
        info = backup_mod.backup(engine, path)
    finally:
        engine.dispose()
    command_log()(
        "backup written",
        path=str(info.path),
        bytes=info.size,
        entries=info.entries,
        sha256=info.sha256,
        duration_s=round(info.seconds, 3),
    )
    console.print(f"backup:  {info.path}", highlight=False, soft_wrap=True)
    console.print(f"sha256:  {info.sha256}", highlight=False)
    console.print(
        f"size:    {info.size} bytes, {info.entries} entries read back; took {info.seconds:.2f}s",
        highlight=False,
    )


@app.command()
@logged("db restore")
@handle_errors
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `rally db backup`.")],
    database_url: DatabaseUrlOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the contents of a non-empty database.")
    ] = False,
) -> None:
    """Restore a backup into the database, all or nothing; refuses a non-empty one unless --force."""
    _settings, engine = open_engine(database_url)
    log = command_log()
    log("restoring", file=str(file), bytes=file.stat().st_size if file.is_file() else None)
    try:
        seconds = backup_mod.restore(engine, file, force=force)
    finally:
        engine.dispose()
    digest = backup_mod.sha256_of(file)
    log("restored", file=str(file), sha256=digest, duration_s=round(seconds, 3))
    console.print(
        f"Restored {file} (sha256 {digest}) in {seconds:.2f}s.", highlight=False, soft_wrap=True
    )


@app.command()
@handle_errors
def current(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """Show which database is used and its schema revision."""
    _, engine = open_engine(database_url)
    try:
        state = migrate.current(engine)
        url = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    head = migrate.head_revision()
    if as_json:
        payload = {
            "database_url": url,
            "kind": state.kind,
            "revision": state.revision,
            "head": head,
            "at_head": state.revision == head,
            "foreign_revision": state.foreign_revision,
            "legacy_shape": state.shape,
            "tolerated_differences": list(state.deviations),
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    console.print(f"database: {url}", highlight=False)
    console.print(f"state:    {state.describe}", highlight=False)
    if state.kind == "legacy":
        console.print(f"shape:    legacy, {state.shape}", highlight=False)
        for deviation in state.deviations:
            console.print(f"          tolerated difference: {deviation}", highlight=False)
    console.print(f"head:     {head}" + (" (up to date)" if state.revision == head else ""))


@app.command()
@logged("db verify")
@handle_errors
def verify(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """Run the integrity checks; exit 1 if any fails, 2 if the database is unreachable."""
    _, engine = open_engine(database_url)
    try:
        with engine.connect() as conn:
            results = integrity.run_checks(conn)
    finally:
        engine.dispose()
    failed = [r for r in results if not r.ok]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": not failed,
                    "quarantined": next(
                        (r.quarantined for r in results if r.quarantined is not None), 0
                    ),
                    "checks": [r.as_dict() for r in results],
                },
                indent=2,
                default=str,
            )
        )
    else:
        from rich.table import Table

        table = Table(title="rally db verify")
        table.add_column("check")
        table.add_column("result")
        table.add_column("violations", justify="right")
        table.add_column("first violations", overflow="fold")
        for r in results:
            status = "[green]ok[/]" if r.ok else "[bold red]FAIL[/]"
            count = r.violations
            if r.quarantined is not None:
                status, count = "[cyan]info[/]", r.quarantined
            detail = r.error or "; ".join(str(s) for s in r.samples[:3])
            table.add_row(r.name, status, str(count), detail)
        console.print(table)
        for r in results:
            if r.quarantined:
                console.print(
                    f"quarantine: {r.quarantined} legacy rows kept in legacy_quarantine "
                    "(not a failure; `rally db quarantine` lists them).",
                    highlight=False,
                )
        console.print(
            f"{len(results) - len(failed)} of {len(results)} checks passed."
            if not failed
            else f"[bold red]{len(failed)} of {len(results)} checks failed.[/]"
        )
    if failed:
        raise typer.Exit(1)


@app.command("quarantine")
@handle_errors
def quarantine_command(
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
    rows: Annotated[
        bool, typer.Option("--rows", help="Also print every quarantined row (JSON).")
    ] = False,
) -> None:
    """List what the upgrade's resolutions put in legacy_quarantine, by table and reason."""
    _, engine = open_engine(database_url)
    try:
        with engine.connect() as conn:
            if not quarantine_mod.exists(conn):
                raise RallyError(
                    "This database has no legacy_quarantine table (it is not at head); "
                    "nothing is quarantined."
                )
            groups = quarantine_mod.summary(conn)
            entries = quarantine_mod.entries(conn) if rows or as_json else []
    finally:
        engine.dispose()
    if as_json:
        payload = {"total": sum(g["rows"] for g in groups), "groups": groups, "rows": entries}
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    if not groups:
        console.print("legacy_quarantine is empty: no legacy row was deleted or changed.")
        return
    from rich.table import Table

    table = Table(title="legacy_quarantine")
    for column in ("table", "reason", "action", "rows"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for g in groups:
        table.add_row(g["table"], g["reason"], g["action"], str(g["rows"]))
    console.print(table)
    total = sum(g["rows"] for g in groups)
    deleted = sum(g["rows"] for g in groups if g["action"] == "deleted")
    console.print(
        f"{total} rows: {deleted} deleted from their table, {total - deleted} changed in place. "
        "`rally db downgrade legacy` puts them all back as they were.",
        highlight=False,
    )
    for entry in entries:
        typer.echo(json.dumps(entry, default=str))


# `rally db copy` lives in its own module (rally.cli.db_copy); registered here.
app.command("copy")(copy_command)
