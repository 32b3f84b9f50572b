"""`rally generate`: write synthetic league folders that `rally etl import` reads."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rally.cli._common import console, handle_errors

if TYPE_CHECKING:
    from rich.table import Table

    from rally.synth import GenerateResult

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


@handle_errors
def generate_command(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write one folder per league into.")],
    leagues: Annotated[
        int, typer.Option("--leagues", help="Number of leagues (the first four use real keys).")
    ] = 4,
    scale: Annotated[
        float, typer.Option("--scale", help="Size relative to the real corpus (0.05, 1, 10...).")
    ] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same files.")] = 0,
) -> None:
    """Write synthetic leagues (players, standings, schedules, matches) in the scraped formats."""
    started = time.perf_counter()
    from rally.synth import generate

    result = generate(out_dir, leagues=leagues, scale=scale, seed=seed)
    console.print(_summary(result, time.perf_counter() - started))
    console.print(f"Written to {result.out_dir}", highlight=False, soft_wrap=True)
    console.print(
        f"{result.malformed_count} rows are malformed on purpose; "
        "`rally etl import` should reject exactly those.",
        highlight=False,
        soft_wrap=True,
    )
