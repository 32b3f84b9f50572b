"""`rally config`: the effective settings, where each comes from, secrets masked."""

from __future__ import annotations

import json

import typer

from rally.cli._common import DatabaseUrlOption, JsonOption, console, handle_errors


@handle_errors
def config(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """Print the effective settings (flags, then RALLY_* environment, then defaults)."""
    from rich.table import Table

    from rally.config import Settings

    settings = Settings.load(database_url)
    rows = settings.effective(frozenset({"database_url"} if database_url else ()))
    if as_json:
        typer.echo(json.dumps({name: {"value": v, "source": s} for name, v, s in rows}, indent=2))
        return
    table = Table(title="rally config")
    for column in ("setting", "value", "source"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)
