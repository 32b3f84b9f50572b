"""`rally serve`: run the web application and JSON API."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from rally.cli._common import DatabaseUrlOption, console, handle_errors, open_engine
from rally.config import ENV_DATABASE_URL
from rally.errors import UsageError


@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    database_url: DatabaseUrlOption = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (each with its own pool).")
    ] = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request.")
    ] = True,
) -> None:
    """Serve the Rally web pages and JSON API (OpenAPI at /openapi.json)."""
    import uvicorn

    from rally.web import create_app
    from rally.web.app import freeze_startup_objects, secret_key

    settings, engine = open_engine(database_url)
    try:
        from rally.db import migrate

        state = migrate.current(engine)
        head = migrate.head_revision()
    finally:
        engine.dispose()
    if state.revision != head or state.kind != "rally":
        raise UsageError(
            f"The database is at {state.describe}, not at head ({head}); run `rally db upgrade`."
        )
    if not settings.secret_key:
        console.print(
            "[yellow]RALLY_SECRET_KEY is not set; using a key kept in "
            f"{settings.data_dir / 'secret_key'}.[/]"
        )
    console.print(f"Serving Rally on http://{host}:{port} (API docs at /api/docs).")
    # uvloop and httptools when installed (uvicorn[standard]), else asyncio and h11.
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "access_log": access_log,
    }
    options |= {"loop": "auto", "http": "auto"}
    if workers == 1:
        app = create_app(settings)
        freeze_startup_objects()
        uvicorn.run(app, **options)
        return
    # Worker processes build their own app from the environment, so pass the URL on; the
    # key file is created here so that every worker signs with the same key.
    secret_key(settings)
    os.environ[ENV_DATABASE_URL] = settings.database_url
    uvicorn.run(
        "rally.web.app:app_from_environment",
        factory=True,
        workers=workers,
        **options,
    )
