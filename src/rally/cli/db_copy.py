"""`rally db copy`: a whole Rally database to another backend, verified (registered by rally.cli.db)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from rally.cli._common import command_log, console, handle_errors, is_terminal, logged
from rally.errors import UsageError


@logged("db copy")
@handle_errors
def copy_command(
    source_url: Annotated[str, typer.Argument(help="The database to copy from.")],
    target_url: Annotated[str, typer.Argument(help="The database to copy into.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the rows of a target that is not empty.")
    ] = False,
) -> None:
    """Copy a whole Rally database to another backend (SQLite <-> PostgreSQL), verified.

    The target is brought to the source's schema revision, filled in one transaction, and
    checked table by table (row counts and content checksums) before it commits. A target
    that already holds rows is refused unless --force.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from rally.db import check_connection, make_engine, normalize_url
    from rally.db.copy import copy_database

    parsed = normalize_url(source_url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise UsageError(f"The source database {parsed.database} does not exist.")
    source, target = make_engine(source_url), make_engine(target_url)
    log = command_log()
    try:
        check_connection(source)
        check_connection(target)
        columns = (TextColumn("{task.description:<26}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=console, transient=True, disable=not is_terminal()) as bar:
            task = bar.add_task("copying", total=None)
            expected: dict[str, int] = {}
            copied: dict[str, int] = {}
            started = [time.perf_counter()]

            def totals(counts: dict[str, int]) -> None:
                bar.update(task, total=sum(counts.values()))
                expected.update(counts)
                log("source counted", tables=len(counts), rows=sum(counts.values()))
                started[0] = time.perf_counter()

            def advanced(table: str, rows: int) -> None:
                bar.update(task, advance=rows, description=table)
                copied[table] = copied.get(table, 0) + rows
                if copied[table] == expected.get(table):
                    seconds, started[0] = time.perf_counter() - started[0], time.perf_counter()
                    log(
                        "table copied",
                        table=table,
                        rows=copied[table],
                        duration_s=round(seconds, 3),
                    )

            report = copy_database(source, target, replace=force, progress=advanced, totals=totals)
    finally:
        source.dispose()
        target.dispose()
    log(
        "copy verified",
        revision=report.revision,
        tables=len(report.tables),
        rows=report.rows,
        replaced_rows=report.replaced_rows,
    )
    table = Table(title=f"rally db copy (revision {report.revision})")
    for name in ("table", "rows", "sha256", "verified"):
        table.add_column(name, justify="right" if name == "rows" else "left")
    for t in report.tables:
        table.add_row(t.table, str(t.target_rows), t.target_sha256[:16], "[green]ok[/]")
    console.print(table)
    replaced = f" (replaced {report.replaced_rows} rows)" if report.replaced_rows else ""
    console.print(
        f"Copied {report.rows} rows in {len(report.tables)} tables{replaced}; row counts and "
        "checksums match the source.",
        highlight=False,
    )
