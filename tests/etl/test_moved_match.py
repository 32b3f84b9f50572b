"""A re-import that moves a match to another date updates its row (the id stays)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from etl_rows import fixture_row, sample_rows

from rally.etl.importer import import_paths


def _schedule(engine: sa.Engine) -> dict[tuple[str, str], tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, home_team, away_team, match_date FROM schedule"))
        return {(h, a): (i, str(d)) for i, h, a, d in rows}


def test_a_moved_match_keeps_its_row_and_a_second_meeting_is_added(
    engine: sa.Engine, make_files: Callable[[dict[str, Any]], Path]
) -> None:
    first = sample_rows()
    assert import_paths(engine, [make_files(first)]).ok
    before = _schedule(engine)
    pair = ("Hinsdale PC 1a", "Hinsdale PC 1b")
    moved = copy.deepcopy(first)
    moved["schedule.json"][1]["date"] = "01/16/2025"
    report = import_paths(engine, [make_files(moved)])
    counts = report.leagues["CNSWPL"].entities["schedule"]
    assert (counts.inserted, counts.updated) == (0, 1)
    after = _schedule(engine)
    assert after[pair] == (before[pair][0], "2025-01-16")
    assert len(after) == len(before)
    # The same files again: recognised as unchanged (nothing re-read), or re-read with no change.
    again = import_paths(engine, [make_files(moved)]).leagues["CNSWPL"].entities.get("schedule")
    assert again is None or (again.inserted, again.updated) == (0, 0)

    # Two fixtures of the pairing added where one was: not a move, both kept apart.
    twice = copy.deepcopy(moved)
    twice["schedule.json"][1]["date"] = "01/23/2025"
    twice["schedule.json"].append(
        fixture_row("CNSWPL", "01/30/2025", "Hinsdale PC 1a", "Hinsdale PC 1b", "Series 1")
    )
    counts = import_paths(engine, [make_files(twice)]).leagues["CNSWPL"].entities["schedule"]
    assert counts.inserted == 2 and counts.updated == 0
