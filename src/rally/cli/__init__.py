"""The `rally` command: a thin Typer layer over the services."""

from __future__ import annotations

import typer

from rally.cli import admin, db, demo, etl, generate, serve

app = typer.Typer(
    name="rally",
    help="Rally: league-isolated data for racquet-sport leagues.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(admin.app, name="admin")
app.add_typer(etl.app, name="etl")
app.command("generate")(generate.generate_command)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)


def main() -> None:
    """Run the rally command line."""
    app()
