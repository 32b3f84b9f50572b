"""What every command shares: database selection, error-to-exit-code mapping, console."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from rally.errors import DatabaseUnavailable, RallyError

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine

    from rally.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="RALLY_DATABASE_URL",
        help="Database URL (postgresql://... or sqlite:///path). "
        "Default: a SQLite file in the user's data directory.",
        show_envvar=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class _LazyConsole:
    """A rich Console made on first use: importing rich costs `rally --help` ~0.1 s."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.real(), attribute)

    def real(self) -> Console:
        """Return the Console itself (rich's Live and Progress use it as a context manager)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console


def real_console(stream: Console) -> Console:
    """Return the Console behind ``console`` or ``err_console`` (or a Console as given)."""
    return stream.real() if isinstance(stream, _LazyConsole) else stream


console: Console = _LazyConsole()  # type: ignore[assignment]
err_console: Console = _LazyConsole(stderr=True)  # type: ignore[assignment]


def _is_database_error(exc: BaseException) -> bool:
    # Never imports SQLAlchemy: if it was not imported, no database error can have happened.
    module = sys.modules.get("sqlalchemy.exc")
    return module is not None and isinstance(exc, module.SQLAlchemyError)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` on stderr and return the Exit to raise."""
    from rich.markup import escape  # rich is loaded to print anyway

    # The message is text, not markup: "[uq_series_name_league_id]" must print as it is.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn domain and database errors into one sentence and an exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RallyError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None
        except OSError as exc:
            raise fail(str(exc)) from None
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            raise fail(f"database error: {detail[0] if detail else type(exc).__name__}") from None

    return wrapper  # type: ignore[return-value]


def open_engine(database_url: str | None, *, check: bool = True) -> tuple[Settings, Engine]:
    """Resolve settings and open the engine; exit 2 with a reason when unreachable."""
    from rally.config import Settings
    from rally.db import check_connection, make_engine

    settings = Settings.load(database_url)
    engine = make_engine(settings.database_url)
    if check:
        try:
            check_connection(engine)
        except DatabaseUnavailable:
            engine.dispose()
            raise
    return settings, engine


def is_terminal() -> bool:
    """Tell whether stdout is an interactive terminal (progress bars only then)."""
    return sys.stdout.isatty()
