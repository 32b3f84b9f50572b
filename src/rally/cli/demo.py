"""`rally demo`: Rally on a local SQLite file with generated leagues and a demo account."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from rally.cli._common import console, handle_errors
from rally.errors import UsageError


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(
                f"Cannot listen on {host}:{port} ({exc.strerror}); choose another with --port."
            ) from None


@handle_errors
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete the demo data first and build it anew.")
    ] = False,
) -> None:
    """Start Rally with demo leagues and a demo account (SQLite in the data directory)."""
    import uvicorn

    from rally.config import Settings, data_dir
    from rally.demo import prepare_demo, reset_demo
    from rally.web import create_app

    _check_port_free(host, port)
    directory = data_dir()
    if reset:
        reset_demo(directory)
    setup = prepare_demo(directory, log=lambda m: console.print(f"[dim]{m}[/]"))
    settings = Settings.load(setup.database_url)
    url = f"http://{host}:{port}/"
    console.print(
        f"{'Created' if setup.created else 'Reusing'} the demo database {setup.database_url}",
        highlight=False,
    )
    console.print(f"Rally demo: [bold]{url}[/]", highlight=False)
    console.print(
        f"Sign in with email [bold]{setup.email}[/] and password [bold]{setup.password}[/] "
        f"({setup.player_name}: {'; '.join(setup.teams)})",
        highlight=False,
        soft_wrap=True,
    )
    console.print("Press Ctrl-C to stop.")
    console.file.flush()
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    console.print("Rally demo stopped.")
