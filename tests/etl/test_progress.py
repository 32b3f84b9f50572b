"""Progress: one bar per league and phase on a terminal, plain lines otherwise."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console

from rally.cli.etl_progress import BarProgress, LineProgress
from rally.etl.importer import import_paths


def test_bars_per_league_and_phase(engine: sa.Engine, sample_dir: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with BarProgress(console) as progress:
        import_paths(engine, [sample_dir], progress=progress)
        tasks = [task.description for task in progress.bars.tasks]
    assert tasks[0].startswith("check files")
    assert [t.split()[0] for t in tasks[1:]] == ["CNSWPL", "CNSWPL", "NSTF", "NSTF"]
    assert tasks[1].startswith("CNSWPL read ") and tasks[1].endswith(".json")
    assert tasks[2] == "CNSWPL load: computed standings"
    assert all(task.finished for task in progress.bars.tasks)


def test_plain_lines_when_not_a_terminal(engine: sa.Engine, sample_dir: Path) -> None:
    out = io.StringIO()
    import_paths(engine, [sample_dir], progress=LineProgress(Console(file=out, width=200)))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("checked 4 file(s)")
    assert [line.split(":")[0] for line in lines[1:]] == ["CNSWPL"] * 3 + ["NSTF"] * 3
    assert "read 6 row(s)" in lines[1] and "loaded in" in lines[2] and "committed" in lines[3]
    again = io.StringIO()
    import_paths(engine, [sample_dir], progress=LineProgress(Console(file=again, width=200)))
    assert "NSTF: input unchanged since its last import, skipped" in again.getvalue()
