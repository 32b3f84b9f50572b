"""What every command shares: database selection, error-to-exit-code mapping, console, and
the log lines of the long commands when they do not run on a terminal."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    """Print `message` on stderr (a log line in a logged command) and return the Exit to raise."""
    if _current.enabled:
        _current.error(message, exit_code=code)
    else:
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
            sentence = f"database error: {detail[0] if detail else type(exc).__name__}"
            if _schema_behind(exc):
                sentence += (
                    " (the database is not at Rally's schema: `rally db current` says where it"
                    " is, `rally db upgrade` brings it to head)"
                )
            raise fail(sentence) from None

    return wrapper  # type: ignore[return-value]


def _schema_behind(exc: BaseException) -> bool:
    """Tell whether a database error says a table or column is missing (schema not at head)."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in {"42P01", "42703"}:  # undefined table / column
        return True
    text = str(orig or exc)
    return any(words in text for words in ("no such table", "no such column", "has no column"))


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


class CommandLog:
    """The steps of a long command as log lines, or nothing (on a terminal; see `logged`).

    `log("league read", league="NSTF", rows=1200, duration_s=0.8)` writes one line of the
    `rally.cli` logger with the command's name, the fields given and `elapsed_s` (seconds
    since the command started), in the format of `RALLY_LOG_FORMAT` (key=value or JSON).
    """

    def __init__(self, command: str = "", *, enabled: bool = False) -> None:
        self.command = command
        self.enabled = enabled
        self.started = time.perf_counter()

    def __call__(self, event: str, **fields: Any) -> None:
        self._emit(20, event, fields)  # logging.INFO

    def warning(self, event: str, **fields: Any) -> None:
        """Log a step that went wrong without stopping the command."""
        self._emit(30, event, fields)  # logging.WARNING

    def error(self, event: str, **fields: Any) -> None:
        """Log why the command stops."""
        self._emit(40, event, fields)  # logging.ERROR

    def _emit(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if not self.enabled:
            return
        import logging

        from rally.observability import reserved_field

        extra: dict[str, Any] = {"command": self.command}
        extra |= {(f"{k}_" if reserved_field(k) else k): v for k, v in fields.items()}
        extra["elapsed_s"] = round(time.perf_counter() - self.started, 3)
        logging.getLogger("rally.cli").log(level, event, extra=extra)


_current = CommandLog()


def command_log() -> CommandLog:
    """Return the log of the command running now (disabled on a terminal)."""
    return _current


def logged(command: str) -> Callable[[F], F]:
    """Make a long command log its steps when stdout is not a terminal (cron, CI, pipes).

    Off a terminal its progress (and an error that stops it) comes as log lines on stderr in
    the server's format (`RALLY_LOG_FORMAT`, `RALLY_LOG_LEVEL`), with a line when it starts
    and one when it ends (exit code, seconds); what it prints as its result stays on stdout.
    Put it above `handle_errors`, so that the error sentence is one of those lines.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if is_terminal():
                return func(*args, **kwargs)
            from rally.config import Settings

            try:
                settings = Settings.load()
            except RallyError as exc:
                raise fail(str(exc), exc.exit_code) from None
            with logging_command(command, settings):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


@contextmanager
def logging_command(command: str, settings: Any) -> Iterator[CommandLog]:
    """Log a command's lines on stderr until the block ends (see `logged`).

    ``settings`` gives `log_format` and `log_level`. Logs `started` now and, at the end,
    `finished` with the exit code (a `typer.Exit` raised in the block gives it) or `failed`.
    """
    global _current
    from rally.observability import logging_to_stderr

    log = CommandLog(command, enabled=True)
    previous, _current = _current, log
    try:
        with logging_to_stderr(settings):
            log("started")
            try:
                yield log
            except typer.Exit as exc:
                _ended(log, exc.exit_code)
                raise
            except KeyboardInterrupt:
                _ended(log, 130)
                raise
            except BaseException as exc:
                log.error("failed", error=f"{type(exc).__name__}: {exc}")
                raise
            _ended(log, 0)
    finally:
        _current = previous


def _ended(log: CommandLog, code: int) -> None:
    seconds = round(time.perf_counter() - log.started, 3)
    (log.warning if code else log)("finished", exit_code=code, duration_s=seconds)
