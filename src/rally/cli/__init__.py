"""The `rally` command: a thin Typer layer over the services.

The Typer application lives in rally.cli.root and is loaded on first use (``rally.cli.app``):
`rally etl import` of unchanged files is answered before it, and before SQLAlchemy, pydantic
or the importer, by rally.cli.etl_unchanged.
"""

from __future__ import annotations

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

    command()(prog_name="rally")


def __getattr__(name: str) -> Any:
    # `from rally.cli import app` (tests, tools) loads the Typer application.
    if name in {"app", "command"}:
        from rally.cli import root

        return getattr(root, name)
    raise AttributeError(f"module 'rally.cli' has no attribute {name!r}")
