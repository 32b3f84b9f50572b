"""Docs that cannot drift: every command and option of the CLI appears in the README."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import typer

from rally.cli import app

REPO = Path(__file__).resolve().parents[1]


def _commands(group: click.Command, prefix: str = "rally") -> Iterator[tuple[str, click.Command]]:
    yield prefix, group
    if isinstance(group, click.Group):
        for name, command in group.commands.items():
            yield from _commands(command, f"{prefix} {name}")


def test_every_command_and_option_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    missing = []
    for path, command in _commands(typer.main.get_command(app)):
        if isinstance(command, click.Group):
            continue
        if f"`{path}" not in readme:
            missing.append(path)
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt not in {"--help"} and opt not in readme:
                    missing.append(f"{path} {opt}")
    assert missing == []
