"""The `rally` command: a thin Typer layer over the services.

The Typer application lives in rally.cli.root and is loaded on first use (``rally.cli.app``):
`rally etl import` of unchanged files is answered before it, and before SQLAlchemy, pydantic
or the importer, by rally.cli.etl_unchanged.
"""

from __future__ import annotations

import gc
import sys
from typing import Any


def main() -> None:
    """Run the rally command line."""
    if sys.argv[1:3] == ["etl", "import"]:
        from rally.cli.etl_unchanged import import_if_unchanged

        code = import_if_unchanged(sys.argv[3:])
        if code is not None:
            raise SystemExit(code)
    from rally.cli.root import command

    try:
        command()(prog_name="rally")
    finally:
        # The process ends now. Its objects go to the collector's permanent generation, so
        # that the interpreter's last collection does not walk them all: after an import
        # (the collector paused while it made millions of objects) that walk took 0.2 s of
        # a 1.7 s run. Nothing is lost: files and connections are closed by their owners,
        # and atexit handlers (logging's flush) still run.
        gc.freeze()


def __getattr__(name: str) -> Any:
    # `from rally.cli import app` (tests, tools) loads the Typer application.
    if name in {"app", "command"}:
        from rally.cli import root

        return getattr(root, name)
    raise AttributeError(f"module 'rally.cli' has no attribute {name!r}")
