"""Streaming pieces of the importer: records spooled to disk, compact duplicate keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from etl_rows import player, sample_rows, write_rows

from rally.etl import spool as spool_module
from rally.etl.plan import plan_league
from rally.etl.reader import Deduplicator, parse_paths
from rally.etl.records import Kind
from rally.etl.spool import Spool


def test_spool_gives_back_every_record_with_its_fields_any_number_of_times(
    tmp_path: Path,
) -> None:
    corpus = parse_paths([write_rows(tmp_path, sample_rows())])
    for league, kinds in corpus.records.items():
        for kind, records in kinds.items():
            spooled = Spool(kind)
            for record in records:
                spooled.add(record)
            assert len(spooled) == len(records)
            for _ in range(2):
                back = list(spooled)
                assert [r._asdict() for r in back] == [r.model_dump() for r in records], (
                    league,
                    kind,
                )
            spooled.close()


def test_spool_crosses_batches_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [player("NSTF", f"p{i}", "Tennaqua S1", "Series 1", "Tennaqua") for i in range(25)]
    corpus = parse_paths([write_rows(tmp_path, {"p.json": rows})])
    records = corpus.of("NSTF", Kind.PLAYERS)
    monkeypatch.setattr(spool_module, "_BATCH", 4)  # several batches on disk
    spooled = Spool(Kind.PLAYERS)
    for record in records:
        spooled.add(record)
    outer = iter(spooled)
    first = [next(outer) for _ in range(6)]
    # A second reader in the middle of the first does not disturb it.
    assert [r.player_id for r in spooled] == [r.player_id for r in records]
    rest = list(outer)
    assert [r.player_id for r in first + rest] == [f"p{i}" for i in range(25)]
    # The spooled rows plan the same teams as the records.
    assert plan_league({Kind.PLAYERS: spooled}).teams == plan_league(corpus.records["NSTF"]).teams
    spooled.close()


def test_duplicates_name_the_first_row_and_file_and_keys_can_be_dropped(
    tmp_path: Path,
) -> None:
    row = player("NSTF", "p1", "Tennaqua S1", "Series 1", "Tennaqua")
    corpus = parse_paths([write_rows(tmp_path, {"p.json": [row]})])
    record = corpus.of("NSTF", Kind.PLAYERS)[0]
    dedup = Deduplicator()
    assert dedup.first("NSTF", Kind.PLAYERS, "a.json", 7, record) is None
    assert dedup.first("NSTF", Kind.PLAYERS, "a.json", 9, record) == (
        "duplicate player and team (same as row 7)"
    )
    assert dedup.first("NSTF", Kind.PLAYERS, "b.json", 0, record) == (
        "duplicate player and team (same as row 7 of a.json)"
    )
    assert dedup.first("CITA", Kind.PLAYERS, "b.json", 0, record) is None
    dedup.forget("NSTF", Kind.PLAYERS)
    assert dedup.first("NSTF", Kind.PLAYERS, "b.json", 3, record) is None
