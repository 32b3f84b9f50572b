"""`rally etl`: import the leagues' scraped JSON files.

Exit codes of `rally etl import` (for cron): 0 every league loaded and nothing rejected;
3 every league loaded, some rows rejected (the usual junk: counts and reasons in the
summary and the rejects file); 1 a league failed, a guard refused it, or a file was
unusable; 2 usage errors or an unreachable database.

The heavy modules (pydantic models, rich's progress) are imported inside the command, so a
re-import of unchanged files costs little more than hashing them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rally.cli._common import (
    DatabaseUrlOption,
    command_log,
    console,
    fail,
    handle_errors,
    is_terminal,
    logged,
    open_engine,
)

if TYPE_CHECKING:
    from rally.etl.report import ImportReport

app = typer.Typer(help="Import the leagues' scraped data.", no_args_is_help=True)

KNOWN_LEAGUES = "APTA_CHICAGO, CNSWPL, NSTF, CITA"
PathsArgument = Annotated[
    list[Path],
    typer.Argument(help="JSON files or directories (searched recursively for *.json)."),
]
LeagueOption = Annotated[
    list[str] | None,
    typer.Option(
        "--league",
        help=f"Import only this league (repeatable): {KNOWN_LEAGUES}, or SYN_nn.",
        show_default=False,
    ),
]


def _check_usage(paths: list[Path], leagues: list[str] | None) -> set[str] | None:
    from rally.etl.digests import path_problem

    problem = path_problem(paths)
    if problem:
        raise fail(problem, 2)
    if not leagues:
        return None
    from rally.etl.records import LEAGUES, league_name

    wanted = {key.strip().upper() for key in leagues}
    unknown = sorted(key for key in wanted if league_name(key) is None)
    if unknown:
        raise fail(f"unknown league {', '.join(unknown)}; known leagues: {', '.join(LEAGUES)}", 2)
    return wanted


def _summary(report: ImportReport) -> Any:
    from rich.table import Table

    from rally.etl.report import SUMMARY_ENTITIES

    title = "Import summary" + (" (dry run: nothing written)" if report.dry_run else "")
    table = Table(title=title)
    columns = ("league", "entity", "inserted", "updated", "unchanged", "rejected", "unlinked")
    for column in columns:
        table.add_column(column, justify="left" if column in {"league", "entity"} else "right")
    for key, league in report.leagues.items():
        status = f"{key} [red](failed)[/]" if league.failed else key
        if league.unchanged_input:
            remembered = str(league.remembered_rejects) if league.remembered_rejects else ""
            table.add_row(
                key, "(input unchanged since its last import: skipped)", "", "", "", remembered, ""
            )
            continue
        for name in SUMMARY_ENTITIES:
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
                str(counts.unlinked) if counts.unlinked else "",
            )
            status = ""
    if report.unattributed:
        table.add_row("(no league)", "rows", "", "", "", str(len(report.unattributed)), "")
    return table


def _write_lines(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    # ensure_ascii: a lone surrogate or control character in a scraped value is written
    # as a JSON escape, so the file is always valid UTF-8 JSON lines.
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, default=str, ensure_ascii=True) + "\n")


@app.command("import")
@logged("etl import")
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
    unlinked: Annotated[
        Path | None,
        typer.Option(
            "--unlinked", help="Write stored rows linked to no team to FILE as JSON lines."
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail a league that has any rejected row.")
    ] = False,
    max_shrink: Annotated[
        float,
        typer.Option(
            "--max-shrink",
            min=0,
            max=100,
            help="Fail a league whose snapshot would deactivate more than this percentage "
            "of its active players or teams.",
        ),
    ] = 20.0,
    allow_shrink: Annotated[
        bool, typer.Option("--allow-shrink", help="Accept a snapshot that shrinks a league.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Re-read leagues whose input is unchanged since last time."),
    ] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Import players, standings, schedules and match results, each league in one transaction.

    Exit codes: 0 all loaded, nothing rejected; 3 all loaded, rows rejected; 1 a league
    failed or was refused, or a file is unusable; 2 usage error or database unreachable.
    """
    leagues = _check_usage(paths, league)
    _settings, engine = open_engine(database_url)
    from rally.etl.guard import ShrinkGuard
    from rally.etl.importer import import_paths

    guard = ShrinkGuard(max_share=max_shrink / 100, allow=allow_shrink)
    options: dict[str, Any] = {
        "leagues": leagues,
        "dry_run": dry_run,
        "strict": strict,
        "guard": guard,
        "force": force,
    }
    try:
        if is_terminal():
            from rally.cli.etl_progress import BarProgress

            with BarProgress(console) as progress:
                report = import_paths(engine, paths, progress=progress, **options)
        else:
            from rally.cli.etl_progress import LineProgress

            report = import_paths(engine, paths, progress=LineProgress(command_log()), **options)
    finally:
        engine.dispose()
    command_log()(
        "import summary",
        leagues=len(report.leagues),
        failed=sum(1 for lg in report.leagues.values() if lg.failed),
        rejected=len(report.rejects),
        unlinked=sum(len(lg.unlinked) for lg in report.leagues.values()),
        dry_run=report.dry_run,
    )
    code = finish(report, rejects, unlinked)
    if code:
        raise typer.Exit(code)


def finish(report: ImportReport, rejects: Path | None, unlinked: Path | None) -> int:
    """Print the summary and notes, write the rejects and unlinked files; return the exit code."""
    console.print(_summary(report))
    remembered = sum(lg.remembered_rejects for lg in report.leagues.values())
    if rejects is not None:
        _write_lines(rejects, [r.as_json() for r in report.rejects])
        console.print(
            f"{len(report.rejects)} rejected row(s) written to {rejects}", highlight=False
        )
    elif report.rejects:
        console.print(
            f"{len(report.rejects)} row(s) rejected; use --rejects FILE to see them.",
            highlight=False,
        )
    if remembered:
        console.print(
            f"{remembered} row(s) of unchanged input were rejected when it was last read "
            "(--force re-reads it to list them).",
            highlight=False,
        )
    for key, result in report.leagues.items():
        if result.warnings:
            console.print(
                f"{key}: {len(result.warnings)} standings row(s) kept without nonsense parts: "
                f"{result.warnings[0].reason} (file {result.warnings[0].file}, row "
                f"{result.warnings[0].row}, and so on).",
                highlight=False,
            )
    # Written as they come: at scale a league leaves 100,000s of unlinked rows.
    stray = sum(len(lg.unlinked) for lg in report.leagues.values())
    if unlinked is not None:
        _write_lines(unlinked, (u.as_json() for lg in report.leagues.values() for u in lg.unlinked))
        console.print(f"{stray} unlinked row(s) written to {unlinked}", highlight=False)
    elif stray:
        console.print(
            f"{stray} stored row(s) are linked to no team; use --unlinked FILE to see them.",
            highlight=False,
        )
    for key, result in report.leagues.items():
        if result.failed:
            console.print(f"[red]{key} failed, nothing of it imported:[/] {result.error}")
    return report.exit_code
