"""Generated leagues go through `rally etl import` with exactly the malformed rows rejected."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from rally.etl.importer import import_paths
from rally.etl.reader import parse_paths
from rally.synth import GenerateResult, generate


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate(tmp_path_factory.mktemp("synth-import") / "out", scale=0.05, seed=21)


def _where(result: GenerateResult) -> set[tuple[str, str, int]]:
    return {(m.league, m.file, m.index) for m in result.malformed}


def test_the_reader_rejects_exactly_the_malformed_rows(generated: GenerateResult) -> None:
    corpus = parse_paths([generated.out_dir])
    rejected = {(r.league, Path(r.file).name, r.row) for r in corpus.rejects}
    assert all(r.league is not None for r in corpus.rejects)
    assert rejected == _where(generated)
    assert corpus.leagues() == [lg.key for lg in generated.leagues]


def test_the_import_loads_every_other_row(generated: GenerateResult, engine: sa.Engine) -> None:
    report = import_paths(engine, [generated.out_dir])
    assert not [lg.error for lg in report.leagues.values() if lg.failed]
    assert {(r.league, Path(r.file).name, r.row) for r in report.rejects} == _where(generated)
    bad = Counter((m.league, m.file) for m in generated.malformed)
    entity = {
        "players.json": "players",
        "series_stats.json": "series_stats",
        "schedules.json": "schedule",
        "match_history.json": "match_scores",
    }
    with engine.connect() as conn:
        leagues = dict(conn.execute(sa.text("SELECT league_id, id FROM leagues")).all())
        for league in generated.leagues:
            counts = report.leagues[league.key].entities
            for file, name in entity.items():
                good = league.rows[file] - bad[(league.key, file)]
                if name == "players":
                    # Rosters hold one row per player per team; the players table one per player.
                    continue
                assert counts[name].inserted == good, (league.key, name)
            stored = conn.execute(
                sa.text("SELECT count(*) FROM series_stats WHERE league_id = :l"),
                {"l": leagues[league.key]},
            ).scalar_one()
            assert (
                stored == league.rows["series_stats.json"] - bad[(league.key, "series_stats.json")]
            )


def test_leagues_past_the_fourth_parse_with_synthetic_keys(tmp_path: Path) -> None:
    result = generate(tmp_path / "out", scale=0.03, seed=5, leagues=7)
    corpus = parse_paths([result.out_dir])
    assert {(r.league, Path(r.file).name, r.row) for r in corpus.rejects} == _where(result)
    assert {"SYN_05", "SYN_06", "SYN_07"} <= set(corpus.records)
