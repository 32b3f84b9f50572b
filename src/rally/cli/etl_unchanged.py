"""`rally etl import` of unchanged files, answered before the heavy modules load.

A nightly re-import usually finds every file as it was. The full command would load
SQLAlchemy, the ORM models, pydantic and the importer (most of a second) only to learn
that. Here the files are hashed and the recorded files (`import_files`, see
rally.etl.digests) are read with one query through the plain driver (psycopg, or the
standard library's sqlite3). When every league the files hold would be skipped as
unchanged, the command prints the same summary, notes, files and log lines and exits with
the same code as the full command would; in any other case (a changed or new file, an
option this path does not take, a database it cannot read, anything unexpected) it returns
None, having printed nothing, and the full command runs.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rally.etl.digests import (
    RECORDED_FILES_SQL,
    Fingerprints,
    all_unchanged,
    file_digest,
    importer_version,
    json_files,
    path_problem,
)
from rally.leagues import league_name

#: Options this path takes (with a value, or flags); any other makes the full command run.
_VALUED = {"--database-url", "--league", "--rejects", "--unlinked", "--max-shrink"}
_FLAGS = {"--allow-shrink"}
_LOG_FORMATS = {"text", "json"}
_LOG_LEVELS = {"debug", "info", "warning", "error"}


@dataclass
class _Arguments:
    paths: list[Path] = field(default_factory=list)
    database_url: str | None = None
    leagues: set[str] | None = None
    rejects: Path | None = None
    unlinked: Path | None = None


@dataclass(frozen=True)
class _LogSettings:
    """What `logging_to_stderr` reads of the settings."""

    log_format: str
    log_level: str


def _parse(argv: list[str]) -> _Arguments | None:
    """Parse the arguments as the full command would, or None for anything unusual."""
    out = _Arguments()
    leagues: list[str] = []
    position = 0
    while position < len(argv):
        word = argv[position]
        position += 1
        if not word.startswith("-") or word == "-":
            out.paths.append(Path(word))
            continue
        name, equals, value = word.partition("=")
        if name in _FLAGS and not equals:
            continue
        if name not in _VALUED:
            return None  # --force, --dry-run, --strict, --help, `--`, unknown: full command
        if not equals:
            if position >= len(argv):
                return None
            value = argv[position]
            position += 1
        if name == "--database-url":
            out.database_url = value
        elif name == "--league":
            leagues.append(value)
        elif name == "--rejects":
            out.rejects = Path(value)
        elif name == "--unlinked":
            out.unlinked = Path(value)
        else:
            try:
                share = float(value)
            except ValueError:
                return None
            if not 0 <= share <= 100:
                return None
    if not out.paths or path_problem(out.paths):  # the full command says what is wrong
        return None
    if leagues:
        out.leagues = {key.strip().upper() for key in leagues}
        if any(league_name(key) is None for key in out.leagues):
            return None
    return out


def _environment() -> dict[str, str]:
    # pydantic-settings reads RALLY_* variables whatever their case.
    return {key.lower(): value for key, value in os.environ.items()}


def _recorded(url: str) -> Fingerprints | None:
    """Read the recorded files of this importer version, or None when it cannot."""
    scheme, _sep, rest = url.partition("://")
    version = importer_version()
    if scheme in {"postgresql", "postgres", "postgresql+psycopg"}:
        import psycopg

        with psycopg.connect(f"postgresql://{rest}", connect_timeout=5, autocommit=True) as conn:
            rows = conn.execute(RECORDED_FILES_SQL.format(param="%s"), (version,)).fetchall()
        return Fingerprints.from_rows(rows)
    if scheme in {"sqlite", "sqlite+pysqlite"} and rest.startswith("/") and "?" not in rest:
        import sqlite3
        from urllib.parse import quote

        path = Path(rest[1:]).expanduser()
        if not rest[1:] or rest[1:] == ":memory:" or not path.is_file():
            return None
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        connection = sqlite3.connect(uri, uri=True)
        try:
            rows = connection.execute(RECORDED_FILES_SQL.format(param="?"), (version,)).fetchall()
        finally:
            connection.close()
        return Fingerprints.from_rows(rows)
    return None


def _unchanged(
    argv: list[str],
) -> tuple[_Arguments, _LogSettings, list[Path], dict[str, int]] | None:
    arguments = _parse(argv)
    if arguments is None:
        return None
    environment = _environment()
    url = arguments.database_url or environment.get("rally_database_url")
    log = _LogSettings(
        environment.get("rally_log_format", "text"), environment.get("rally_log_level", "info")
    )
    # No URL: the default SQLite file in the data directory, which the full command resolves.
    if not url or log.log_format not in _LOG_FORMATS or log.log_level not in _LOG_LEVELS:
        return None
    files = json_files(arguments.paths)
    digests = [file_digest(path) for path in files]
    known = _recorded(url)
    if known is None:
        return None
    leagues = all_unchanged(known, digests, arguments.leagues)
    if leagues is None:
        return None
    return arguments, log, files, leagues


def import_if_unchanged(argv: list[str]) -> int | None:
    """Run `rally etl import ARGV` when nothing changed and return its exit code, else None.

    Nothing is printed before the answer is known: None means the full command must run.
    """
    try:
        found = _unchanged(argv)
    except Exception:  # any doubt (unreadable file, database error): the full command decides
        return None
    if found is None:
        return None
    arguments, log_settings, files, leagues = found
    import typer

    from rally.cli._common import fail, is_terminal, logging_command

    def report() -> int:
        try:
            return _report(arguments, files, leagues)
        except OSError as exc:  # the rejects or unlinked file cannot be written
            raise fail(str(exc)) from None

    try:
        if is_terminal():
            return report()
        with logging_command("etl import", log_settings):
            code = report()
            if code:
                raise typer.Exit(code)
            return 0
    except typer.Exit as exc:
        return int(exc.exit_code)


def _report(arguments: _Arguments, files: list[Path], leagues: dict[str, int]) -> int:
    """Tell what the full command tells for input unchanged in every league; return the code."""
    from rally.cli._common import command_log, console, is_terminal
    from rally.cli.etl import finish
    from rally.etl.report import ImportReport, LeagueReport

    report = ImportReport()
    progress: Any
    if is_terminal():
        from rally.cli.etl_progress import BarProgress

        progress = BarProgress(console)
    else:
        from rally.cli.etl_progress import LineProgress

        progress = LineProgress(command_log())
    with progress if is_terminal() else nullcontext():
        for done, path in enumerate(files):
            progress.scan(path, done, len(files))
        progress.scan(files[-1], len(files), len(files))
        for league, remembered in leagues.items():
            result = report.leagues[league] = LeagueReport(
                league=league, unchanged_input=True, remembered_rejects=remembered
            )
            progress.finished(league, result)
    command_log()(
        "import summary",
        leagues=len(report.leagues),
        failed=0,
        rejected=0,
        unlinked=0,
        dry_run=False,
    )
    return finish(report, arguments.rejects, arguments.unlinked)
