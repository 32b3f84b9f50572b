"""The `rally` command: a thin Typer layer over the services."""

from __future__ import annotations

import typer

from rally.cli import db

app = typer.Typer(
    name="rally",
    help="Rally: league-isolated data for racquet-sport leagues.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")


def main() -> None:
    """Run the rally command line."""
    app()
