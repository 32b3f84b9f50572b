"""The real corpus after the earlier fix ran on it: recognised, planned, repaired, reversible.

Each earlier shape (the original script; the script and its later revision) is made from a
copy of the legacy corpus by `earlier_steps`, then taken through `rally db` as an operator
would: current, plan, upgrade (with its backup), verify, a second upgrade, downgrade legacy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from earlier_steps import put_through
from legacy_builder import LegacyBuilder
from legacy_helpers import (
    Clone,
    assert_legacy_ddl_shape,
    assert_meaning,
    load_legacy,
    snapshot,
)
from test_corpus_upgrade import rally

from rally.db import make_engine, migrate
from rally.db.shapes import AFTER_REVISION, AFTER_SCRIPT, SCRIPT_BACKUP_TABLE

EARLIER = (AFTER_SCRIPT, AFTER_REVISION)


def _scalar(url: str, sql: str) -> object:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar_one()
    finally:
        engine.dispose()


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=EARLIER)
def earlier_db(request, legacy_corpus_url: str, pg_clone: Clone) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A copy of the legacy corpus in an earlier shape: (shape, url); tests copy it again."""
    url = pg_clone(legacy_corpus_url)
    put_through(url, request.param)
    return request.param, url


@pytest.fixture(scope="module")
def repaired(
    earlier_db: tuple[str, str], pg_clone: Clone, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, str]]:
    """The earlier shape upgraded by `rally db upgrade` with its automatic backup."""
    shape, source = earlier_db
    url = pg_clone(source)
    backups = tmp_path_factory.mktemp("earlier-backups")
    code, out = rally("db", "upgrade", "--database-url", url, "--backup-dir", str(backups))
    assert code == 0, out
    yield shape, url, out


def test_current_and_plan_name_the_shape_and_write_nothing(
    earlier_db: tuple[str, str], corpus_builder: LegacyBuilder
) -> None:
    shape, url = earlier_db
    before = snapshot(url)
    code, out = rally("db", "current", "--database-url", url)
    assert code == 0, out
    assert f"shape:    legacy, {shape}" in out
    code, out = rally("db", "current", "--json", "--database-url", url)
    assert json.loads(out)["legacy_shape"] == shape
    code, text = rally("db", "plan", "--database-url", url)
    assert code == 0, text
    assert f"earlier shape: {shape}" in text
    code, out = rally("db", "plan", "--json", "--database-url", url)
    assert code == 0, out
    assert snapshot(url) == before
    plan = json.loads(out)
    assert plan["ok"] and plan["shape"] == shape
    found = plan["earlier"]
    renamed = _scalar(
        url,
        "SELECT COUNT(*) FROM series s JOIN leagues l ON l.id = s.league_id "
        "WHERE s.name LIKE '% (' || l.league_name || ')'",
    )
    assert found["renamed_count"] == renamed > 0
    assert 0 < found["rows_misplaced"] < found["rows_checked"]
    assert found["rows_on_renamed"] > 0 and found["rows_on_other_league"] > 0
    assert any(SCRIPT_BACKUP_TABLE in s for s in found["leftovers"])
    # After normalising, the plan is the pristine database's plan: the same split.
    names = {s["name"] for s in plan["data"]["spanning_series"]}
    assert "Series 1" in names and not any("(" in n for n in names)


def test_upgrade_repairs_every_row_and_restores_names(
    repaired: tuple[str, str, str], corpus_builder: LegacyBuilder
) -> None:
    _shape, url, out = repaired
    assert "Upgraded legacy schema" in out
    code, text = rally("db", "verify", "--database-url", url)
    assert code == 0, text
    # Every row means what it meant before the earlier script ran (league, series name).
    assert_meaning(url, corpus_builder, head=True)
    names = {str(n) for (n,) in _rows(url, "SELECT name FROM series")}
    meant = {s for (_league, s) in corpus_builder.meaning.values() if s is not None}
    assert names == meant
    leftover = _scalar(
        url,
        "SELECT COUNT(*) FROM series s JOIN leagues l ON l.id = s.league_id "
        "WHERE s.name LIKE '% (' || l.league_name || ')' "
        "OR s.display_name LIKE '% (' || l.league_name || ')'",
    )
    assert leftover == 0
    assert _scalar(url, f"SELECT to_regclass('{SCRIPT_BACKUP_TABLE}') IS NULL") is True
    # Contexts got their team's series.
    assert (
        _scalar(
            url,
            "SELECT COUNT(*) FROM user_contexts c JOIN teams t ON t.id = c.team_id "
            "WHERE c.series_id IS DISTINCT FROM t.series_id",
        )
        == 0
    )


def test_second_upgrade_changes_nothing(repaired: tuple[str, str, str]) -> None:
    _shape, url, _ = repaired
    before = snapshot(url)
    code, out = rally("db", "upgrade", "--database-url", url)
    assert code == 0 and "nothing to do" in out
    assert snapshot(url) == before


def test_downgrade_from_a_repaired_database_gives_the_pristine_legacy_shape(
    repaired: tuple[str, str, str], pg_clone: Clone, corpus_builder: LegacyBuilder, db_factory
) -> None:  # type: ignore[no-untyped-def]
    url = pg_clone(repaired[1])
    code, out = rally("db", "downgrade", "legacy", "--no-backup", "--database-url", url)
    assert code == 0, out
    assert_meaning(url, corpus_builder, head=False)
    assert_legacy_ddl_shape(url, db_factory)
    code, out = rally("db", "current", "--database-url", url)
    assert "shape:    legacy, pristine" in out


def test_a_shape_that_matches_none_is_described_not_refused_bluntly(
    earlier_db: tuple[str, str], pg_clone: Clone, tmp_path: Path
) -> None:
    shape, source = earlier_db
    url = pg_clone(source)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if shape == AFTER_SCRIPT:
                # Half of the later revision: NOT NULL, but series_leagues still there.
                conn.execute(sa.text("UPDATE series SET league_id = 1 WHERE league_id IS NULL"))
                conn.execute(sa.text("ALTER TABLE series ALTER COLUMN league_id SET NOT NULL"))
                expected = "series.league_id is NOT NULL (expected nullable)"
            else:
                # A later revision of the old application added a column Rally also adds.
                conn.execute(sa.text("ALTER TABLE user_contexts ADD COLUMN series_id integer"))
                expected = "Rally-only columns is user_contexts.series_id (expected none)"
    finally:
        engine.dispose()
    before = snapshot(url)
    for command in (("plan",), ("current",), ("upgrade", "--backup-dir", str(tmp_path))):
        code, out = rally("db", *command, "--database-url", url)
        assert code != 0, out
        flat = " ".join(out.split())
        assert "nearest known shape is the legacy schema" in flat, out
        assert expected in flat, out
        assert "Nothing was changed" in flat
    assert snapshot(url) == before


@pytest.mark.parametrize("keep_script_backup", [True, False])
def test_a_real_name_with_a_league_suffix_is_not_taken_for_a_renamed_series(
    pg_empty_url: str, keep_script_backup: bool
) -> None:
    """With the script's backup table only the series it created count as renamed; without
    it the name decides, and a wrong guess is refused with the series named."""
    b = LegacyBuilder()
    apta, nstf = b.league("APTA_CHICAGO"), b.league("NSTF")
    legit = "Series 3 (APTA Chicago)"  # a real series name that looks like a renamed one
    for n, lid in enumerate((apta, nstf)):
        for series in ("Series 3", legit):
            tid = b.team(f"Club {n}", series, lid, f"Club {n} {series}")
            b.player(f"p{n}{series}", "F", "L", f"Club {n}", series, lid, tid)
    load_legacy(pg_empty_url, b)
    put_through(pg_empty_url, AFTER_SCRIPT, keep_script_backup=keep_script_backup)
    before = snapshot(pg_empty_url)
    code, out = rally("db", "plan", "--json", "--database-url", pg_empty_url)
    if not keep_script_backup:
        # Merging the real series into "Series 3" would break the legacy uniques: refused,
        # naming the series taken for renamed ones.
        assert code == 1
        flat = " ".join(out.split())
        assert "unique_team_club_series_league" in flat and repr(legit) in flat, out
        assert "Nothing was changed" in flat
        assert snapshot(pg_empty_url) == before
        return
    assert code == 0, out
    renamed = {r["name"] for r in json.loads(out)["earlier"]["renamed_series"]}
    assert renamed == {
        "Series 3 (North Shore Tennis Foundation)",
        f"{legit} (North Shore Tennis Foundation)",
    }
    engine = make_engine(pg_empty_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    assert_meaning(pg_empty_url, b, head=True)
    names = {str(n) for (n,) in _rows(pg_empty_url, "SELECT name FROM series")}
    assert names == {"Series 3", legit}
