"""`rally etl`: import the leagues' scraped JSON files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rally.cli._common import (
    DatabaseUrlOption,
    console,
    fail,
    handle_errors,
    is_terminal,
    open_engine,
)
from rally.leagues import LEAGUES, league_name

# The importer (pydantic, SQLAlchemy) and rich load when the command runs, so that
# `rally --help` starts fast (tests/test_cli_startup.py).
if TYPE_CHECKING:
    from rich.progress import TaskID
    from rich.table import Table

    from rally.etl.report import ImportReport

app = typer.Typer(help="Import the leagues' scraped data.", no_args_is_help=True)

PathsArgument = Annotated[
    list[Path],
    typer.Argument(help="JSON files or directories (searched recursively for *.json)."),
]
LeagueOption = Annotated[
    list[str] | None,
    typer.Option(
        "--league",
        help=f"Import only this league (repeatable): {', '.join(LEAGUES)}, or SYN_nn.",
        show_default=False,
    ),
]


def _check_usage(paths: list[Path], leagues: list[str] | None) -> set[str] | None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise fail(f"no such file or directory: {', '.join(missing)}", 2)
    if not leagues:
        return None
    wanted = {key.strip().upper() for key in leagues}
    unknown = sorted(key for key in wanted if league_name(key) is None)
    if unknown:
        raise fail(f"unknown league {', '.join(unknown)}; known leagues: {', '.join(LEAGUES)}", 2)
    return wanted


def _summary(report: ImportReport) -> Table:
    from rich.table import Table

    from rally.etl.report import ENTITIES

    title = "Import summary" + (" (dry run: nothing written)" if report.dry_run else "")
    table = Table(title=title)
    for column in ("league", "entity", "inserted", "updated", "unchanged", "rejected"):
        table.add_column(column, justify="left" if column in {"league", "entity"} else "right")
    for key, league in report.leagues.items():
        status = f"{key} [red](failed)[/]" if league.failed else key
        for name in ENTITIES:
            counts = league.entities.get(name)
            if counts is None:
                continue
            updated = str(counts.updated)
            if counts.deactivated:
                updated += f" (+{counts.deactivated} inactive)"
            table.add_row(
                status,
                name,
                str(counts.inserted),
                updated,
                str(counts.unchanged),
                str(counts.rejected) if counts.rejected else "",
            )
            status = ""
    if report.unattributed:
        table.add_row("(no league)", "rows", "", "", "", str(len(report.unattributed)))
    return table


def _write_rejects(path: Path, report: ImportReport) -> None:
    with path.open("w", encoding="utf-8") as out:
        for reject in report.rejects:
            out.write(json.dumps(reject.as_json(), default=str, ensure_ascii=False) + "\n")


@app.command("import")
@handle_errors
def import_(
    paths: PathsArgument,
    league: LeagueOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count, then roll back.")
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Write rejected rows to FILE as JSON lines."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail a league that has any rejected row.")
    ] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Import players, standings, schedules and match results, each league in one transaction."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from rally.etl.importer import import_corpus
    from rally.etl.reader import parse_paths

    leagues = _check_usage(paths, league)
    _settings, engine = open_engine(database_url)
    try:
        if is_terminal():
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as bars:
                tasks: dict[Path, TaskID] = {}

                def progress(path: Path, done: int, total: int) -> None:
                    if path not in tasks:
                        tasks[path] = bars.add_task(f"read {path.name}", total=total or 1)
                    bars.update(tasks[path], completed=done if total else 1)

                corpus = parse_paths(paths, leagues=leagues, progress=progress)
            with console.status(f"loading {', '.join(corpus.leagues()) or 'nothing'}"):
                report = import_corpus(engine, corpus, dry_run=dry_run, strict=strict)
        else:
            corpus = parse_paths(paths, leagues=leagues)
            report = import_corpus(engine, corpus, dry_run=dry_run, strict=strict)
    finally:
        engine.dispose()
    console.print(_summary(report))
    if rejects is not None:
        _write_rejects(rejects, report)
        console.print(
            f"{len(report.rejects)} rejected row(s) written to {rejects}", highlight=False
        )
    elif report.rejects:
        console.print(
            f"{len(report.rejects)} row(s) rejected; use --rejects FILE to see them.",
            highlight=False,
        )
    for key, result in report.leagues.items():
        if result.failed:
            console.print(f"[red]{key} failed, nothing of it imported:[/] {result.error}")
    if not report.ok:
        raise typer.Exit(1)
