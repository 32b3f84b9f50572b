"""`rally serve`: run the web application and JSON API."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from rally.cli._common import DatabaseUrlOption, console, handle_errors, open_engine
from rally.errors import UsageError


@handle_errors
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (env RALLY_HOST, default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="TCP port (env RALLY_PORT, default 8000).")
    ] = None,
    database_url: DatabaseUrlOption = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes, each with its own pool (env RALLY_WORKERS, default 1).",
        ),
    ] = None,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log every request (env RALLY_ACCESS_LOG, default on).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the Rally web pages and JSON API (OpenAPI at /openapi.json)."""
    import uvicorn

    from rally.config import Settings
    from rally.observability import configure_logging, uvicorn_log_config
    from rally.web import create_app
    from rally.web.app import freeze_startup_objects, secret_key

    settings = Settings.load(
        database_url, host=host, port=port, workers=workers, access_log=access_log
    )
    _, engine = open_engine(settings.database_url)
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
    configure_logging(settings)
    if not settings.secret_key:
        console.print(
            "[yellow]RALLY_SECRET_KEY is not set; using a key kept in "
            f"{settings.data_dir / 'secret_key'}.[/]"
        )
    console.print(
        f"Serving Rally on http://{settings.host}:{settings.port} (API docs at /api/docs)."
    )
    # uvloop and httptools when installed (uvicorn[standard]), else asyncio and h11.
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": uvicorn_log_config(settings),
        # Requests are logged by Rally's own middleware, with request id and duration.
        "access_log": False,
        "loop": "auto",
        "http": "auto",
    }
    if settings.workers == 1:
        app = create_app(settings)
        freeze_startup_objects(app)
        uvicorn.run(app, **options)
        return
    # Worker processes build their own app from the environment, so pass every setting on;
    # the key file is created here so that every worker signs with the same key.
    secret_key(settings)
    os.environ.update(settings.as_environment())
    uvicorn.run(
        "rally.web.app:app_from_environment",
        factory=True,
        workers=settings.workers,
        **options,
    )
