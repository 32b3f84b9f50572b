"""`rally db`: bring a database to head, say where it stands, verify its integrity."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from rich.table import Table

from rally.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    console,
    handle_errors,
    open_engine,
)
from rally.db import migrate
from rally.db.verify import run_checks

app = typer.Typer(help="Create, upgrade, inspect and verify the database.", no_args_is_help=True)


def _log(message: str) -> None:
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    console.print(f"[dim]{stamp}[/] {message}", highlight=False)


@app.command()
@handle_errors
def upgrade(database_url: DatabaseUrlOption = None) -> None:
    """Bring the database to the latest schema (empty, legacy or older Rally databases)."""
    _, engine = open_engine(database_url)
    try:
        before, after = migrate.upgrade(engine, log=_log)
    finally:
        engine.dispose()
    if before.revision == after.revision and before.kind == "rally":
        console.print(f"Already at head ({after.revision}); nothing to do.")
    else:
        console.print(f"Upgraded {before.describe} -> {after.describe}.")


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
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    console.print(f"database: {url}", highlight=False)
    console.print(f"state:    {state.describe}", highlight=False)
    console.print(f"head:     {head}" + (" (up to date)" if state.revision == head else ""))


@app.command()
@handle_errors
def verify(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """Run the integrity checks; exit 1 if any fails, 2 if the database is unreachable."""
    _, engine = open_engine(database_url)
    try:
        with engine.connect() as conn:
            results = run_checks(conn)
    finally:
        engine.dispose()
    failed = [r for r in results if not r.ok]
    if as_json:
        typer.echo(
            json.dumps(
                {"ok": not failed, "checks": [r.as_dict() for r in results]}, indent=2, default=str
            )
        )
    else:
        table = Table(title="rally db verify")
        table.add_column("check")
        table.add_column("result")
        table.add_column("violations", justify="right")
        table.add_column("first violations", overflow="fold")
        for r in results:
            status = "[green]ok[/]" if r.ok else "[bold red]FAIL[/]"
            detail = r.error or "; ".join(str(s) for s in r.samples[:3])
            table.add_row(r.name, status, str(r.violations), detail)
        console.print(table)
        console.print(
            f"{len(results) - len(failed)} of {len(results)} checks passed."
            if not failed
            else f"[bold red]{len(failed)} of {len(results)} checks failed.[/]"
        )
    if failed:
        raise typer.Exit(1)
