"""The `rally` command: a thin Typer layer over the services.

`rally etl ...` builds only its own command group: importing the other groups (alembic,
the web app) costs more than a re-import of unchanged files, which cron runs nightly.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

_OPTIONS: dict[str, Any] = {
    "name": "rally",
    "help": "Rally: league-isolated data for racquet-sport leagues.",
    "no_args_is_help": True,
    "pretty_exceptions_enable": False,
    "add_completion": False,
}


def build_app() -> typer.Typer:
    """Return the full `rally` application with every command group."""
    from rally.cli import db, demo, etl, generate, serve

    app = typer.Typer(**_OPTIONS)
    app.add_typer(db.app, name="db")
    app.add_typer(etl.app, name="etl")
    app.command("generate")(generate.generate_command)
    app.command("serve")(serve.serve)
    app.command("demo")(demo.demo)
    return app


def _etl_app() -> typer.Typer:
    from rally.cli import etl

    app = typer.Typer(**_OPTIONS)
    app.add_typer(etl.app, name="etl")
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)


def main() -> None:
    """Run the rally command line."""
    if sys.argv[1:2] == ["etl"] and not {"--help", "-h"} & set(sys.argv[2:3]):
        _etl_app()()
    else:
        build_app()()
