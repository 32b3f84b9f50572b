"""Progress: one bar per league and phase on a terminal, log lines otherwise."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console

from rally.cli._common import CommandLog
from rally.cli.etl_progress import BarProgress, LineProgress
from rally.etl.importer import import_paths


def test_bars_per_league_and_phase(engine: sa.Engine, sample_dir: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with BarProgress(console) as progress:
        import_paths(engine, [sample_dir], progress=progress)
        tasks = [task.description for task in progress.bars.tasks]
    assert tasks[0].startswith("check files")
    # A read bar and a load bar per league, in league order whichever starts first (NSTF
    # is read while CNSWPL loads; on PostgreSQL the two leagues load at once, one of them
    # in a second process whose progress the first draws).
    assert [t.split()[:2] for t in tasks[1:]] == [
        ["CNSWPL", "read"], ["CNSWPL", "load:"], ["NSTF", "read"], ["NSTF", "load:"]
    ]  # fmt: skip
    for league in ("CNSWPL", "NSTF"):
        read = [t for t in tasks if t.startswith(f"{league} read ")]
        assert len(read) == 1 and read[0].endswith(".json")
        assert f"{league} load: computed standings" in tasks
    assert all(task.finished for task in progress.bars.tasks)


def test_log_lines_when_not_a_terminal(
    engine: sa.Engine, sample_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rally.cli")
    log = CommandLog("etl import", enabled=True)
    import_paths(engine, [sample_dir], progress=LineProgress(log))
    records: list[Any] = [r for r in caplog.records if r.name == "rally.cli"]
    assert [r.getMessage() for r in records] == ["files checked"] + [
        "league read", "league loaded", "league finished"
    ] * 2  # fmt: skip
    assert records[0].files == 4 and records[1].league == "CNSWPL" and records[1].rows == 6
    assert all(r.command == "etl import" and r.duration_s >= 0 for r in records[:3])
    assert records[3].outcome == "committed" and records[3].inserted > 0
    caplog.clear()
    import_paths(engine, [sample_dir], progress=LineProgress(log))
    skipped = [r for r in caplog.records if r.getMessage() == "league finished"]
    assert [r.league for r in skipped] == ["CNSWPL", "NSTF"]
    assert all(r.outcome.startswith("skipped: input unchanged") for r in skipped)


def test_no_log_lines_on_a_terminal(
    engine: sa.Engine, sample_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rally.cli")
    import_paths(engine, [sample_dir], progress=LineProgress(CommandLog("etl import")))
    assert not [r for r in caplog.records if r.name == "rally.cli"]


def test_big_leagues_are_read_one_after_the_other(
    engine: sa.Engine, sample_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch: Any
) -> None:
    # Leagues too big to hold together are not read while another loads: same outcome.
    monkeypatch.setattr("rally.etl.importer.OVERLAP_ROWS", 0)
    caplog.set_level(logging.INFO, logger="rally.cli")
    report = import_paths(
        engine, [sample_dir], progress=LineProgress(CommandLog("x", enabled=True))
    )
    assert [lg.committed for lg in report.leagues.values()] == [True, True]
    assert report.leagues["NSTF"].entity("players").inserted == 3
    lines = [r.getMessage() for r in caplog.records if r.name == "rally.cli"]
    assert lines == ["files checked"] + ["league read", "league loaded", "league finished"] * 2
