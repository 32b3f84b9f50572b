"""`rally generate`: write synthetic league folders that `rally etl import` reads."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rally.cli._common import command_log, console, handle_errors, logged

if TYPE_CHECKING:
    from rich.table import Table

    from rally.synth import GenerateResult, LeagueResult

_COLUMNS = {
    "players.json": "players",
    "series_stats.json": "standings",
    "schedules.json": "schedules",
    "match_history.json": "matches",
}


def _summary(result: GenerateResult, seconds: float) -> Table:
    from rich.table import Table

    from rally.synth import FILES

    table = Table(title=f"Generated {len(result.leagues)} leagues in {seconds:.1f} s")
    table.add_column("league", no_wrap=True)
    table.add_column("style")
    for name in FILES:
        table.add_column(_COLUMNS[name], justify="right")
    table.add_column("bad", justify="right")
    for league in result.leagues:
        counts = [f"{league.rows[name]:,}" for name in FILES]
        table.add_row(league.key, league.style, *counts, str(league.malformed))
    totals = [f"{result.total(name):,}" for name in FILES]
    table.add_row("total", "", *totals, str(result.malformed_count), style="bold")
    return table


def _today(value: str | None) -> dt.date | None:
    from rally.services.availability import league_today
    from rally.synth import InvalidGenerateArgument

    if value == "historical":
        return None
    if value is None:
        return league_today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidGenerateArgument(
            f"--today must be a date like 2026-01-15 or 'historical', not {value!r}."
        ) from None


@logged("generate")
@handle_errors
def generate_command(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write one folder per league into.")],
    leagues: Annotated[
        int, typer.Option("--leagues", help="Number of leagues (the first four use real keys).")
    ] = 4,
    scale: Annotated[
        float, typer.Option("--scale", help="Size relative to the real corpus (0.05, 1, 10...).")
    ] = 1.0,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: same seed and --today, same files.")
    ] = 0,
    today: Annotated[
        str | None,
        typer.Option(
            "--today",
            help="Place each season around this date (YYYY-MM-DD; default: today in "
            "America/Chicago); 'historical' keeps the real leagues' dates.",
        ),
    ] = None,
) -> None:
    """Write synthetic leagues (players, standings, schedules, matches) in the scraped formats."""
    started = time.perf_counter()
    from rally.synth import generate

    log = command_log()
    last = [started]

    def written(league: LeagueResult) -> None:
        now = time.perf_counter()
        seconds, last[0] = now - last[0], now
        counts = {_COLUMNS[name]: rows for name, rows in league.rows.items()}
        log("league written", league=league.key, style=league.style, **counts,
            malformed=league.malformed, duration_s=round(seconds, 3))  # fmt: skip

    result = generate(
        out_dir, leagues=leagues, scale=scale, seed=seed, today=_today(today), on_league=written
    )
    log(
        "generated",
        leagues=len(result.leagues),
        rows=sum(result.total(name) for name in _COLUMNS),
        malformed=result.malformed_count,
        out_dir=str(result.out_dir),
    )
    console.print(_summary(result, time.perf_counter() - started))
    console.print(f"Written to {result.out_dir}", highlight=False, soft_wrap=True)
    console.print(
        f"{result.malformed_count} rows are malformed on purpose; "
        "`rally etl import` should reject exactly those.",
        highlight=False,
        soft_wrap=True,
    )
