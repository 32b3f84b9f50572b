"""The real corpus in the legacy schema: plan, upgrade with backup, downgrade, backup/restore."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from legacy_builder import LegacyBuilder
from legacy_helpers import Clone, assert_legacy_ddl_shape, assert_meaning, snapshot

from cli_runner import rally
from rally.db import make_engine


def expected_split(builder: LegacyBuilder) -> dict[str, tuple[str, dict[str, int]]]:
    """Series name -> (league keeping the id, uses per league), for names several leagues use."""
    uses: dict[str, Counter[str]] = defaultdict(Counter)
    for (_table, _id), (league, series) in builder.meaning.items():
        if series is not None and league is not None:
            uses[series][league] += 1
    out = {}
    for name, per_league in uses.items():
        if len(per_league) > 1:
            keeper = sorted(per_league, key=lambda k: (-per_league[k], k.encode()))[0]
            out[name] = (keeper, dict(per_league))
    return out


@pytest.fixture(scope="module")
def upgraded(
    legacy_corpus_url: str, pg_clone: Clone, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Path]]:
    """A copy of the legacy corpus upgraded by `rally db upgrade` (with its automatic backup)."""
    url = pg_clone(legacy_corpus_url)
    logs = tmp_path_factory.mktemp("upgrade-logs")
    # Backups go to the private data directory unless --backup-dir says where (#16).
    code, out = rally(
        "db", "upgrade", "--database-url", url, "--log-file", str(logs / "up.log"),
        "--backup-dir", str(logs),
    )  # fmt: skip
    assert code == 0, out
    yield url, out, logs


def test_plan_reports_the_split_and_writes_nothing(
    legacy_corpus_url: str, corpus_builder: LegacyBuilder
) -> None:
    before = snapshot(legacy_corpus_url)
    code, text = rally("db", "plan", "--database-url", legacy_corpus_url)
    assert code == 0, text
    code, out = rally("db", "plan", "--json", "--database-url", legacy_corpus_url)
    assert code == 0, out
    assert snapshot(legacy_corpus_url) == before
    plan = json.loads(out)
    assert plan["ok"] and plan["blockers"] == []
    expected = expected_split(corpus_builder)
    got = {
        s["name"]: (s["keeps_id"], {k: sum(v.values()) for k, v in s["uses"].items()})
        for s in plan["data"]["spanning_series"]
    }
    assert got == expected
    assert "Series 1" in got
    assert plan["data"]["series"]["rows_to_create"] == sum(len(u) - 1 for _, u in expected.values())
    assert re.search(r"'Series 1' \(id \d+\): \w+ keeps the id", text)
    assert "no blockers" in text


def test_upgrade_keeps_every_rows_meaning(
    upgraded: tuple[str, str, Path], corpus_builder: LegacyBuilder
) -> None:
    url, out, _logs = upgraded
    assert "Upgraded legacy schema" in out
    assert_meaning(url, corpus_builder, head=True)
    # The league with most uses kept the original id; the others got rows of the same name.
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT s.id, s.name, l.league_id FROM series s JOIN leagues l ON l.id = s.league_id"
                )
            ).all()
    finally:
        engine.dispose()
    by_pair = {(name, league): sid for sid, name, league in rows}
    for name, (keeper, per_league) in expected_split(corpus_builder).items():
        assert by_pair[(name, keeper)] == corpus_builder._series[name]
        assert all((name, league) in by_pair for league in per_league)
    assert not any("(" in name for _, name, _ in rows)  # never "Series 1 (CNSWPL)"


def test_upgrade_log_and_backup(upgraded: tuple[str, str, Path]) -> None:
    _url, out, logs = upgraded
    log = (logs / "up.log").read_text()
    for step in (
        "dropping legacy constraints",
        "re-pointed players",
        "integrity checks passed",
        "committed",
    ):
        assert step in log
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 ", log)
    path = Path(re.search(r"backup: (\S+\.dump) \(", out).group(1))  # type: ignore[union-attr]
    assert path.parent == logs
    digest = re.search(r"sha256 ([0-9a-f]{64})", out).group(1)  # type: ignore[union-attr]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_verify_clean_and_second_upgrade_changes_nothing(upgraded: tuple[str, str, Path]) -> None:
    url, _, _ = upgraded
    code, out = rally("db", "verify", "--database-url", url)
    assert code == 0, out
    before = snapshot(url)
    code, out = rally("db", "upgrade", "--database-url", url)
    assert code == 0 and "nothing to do" in out
    assert snapshot(url) == before


def test_downgrade_returns_the_legacy_shape(
    upgraded: tuple[str, str, Path], pg_clone: Clone, corpus_builder: LegacyBuilder, db_factory
) -> None:  # type: ignore[no-untyped-def]
    url = pg_clone(upgraded[0])
    code, out = rally("db", "downgrade", "legacy", "--no-backup", "--database-url", url)
    assert code == 0, out
    assert_meaning(url, corpus_builder, head=False)
    assert_legacy_ddl_shape(url, db_factory)
    code, out = rally("db", "current", "--database-url", url)
    assert "legacy schema" in out


def test_backup_restore_round_trip_and_refusals(
    legacy_corpus_url: str, db_factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    source = snapshot(legacy_corpus_url)
    dump = tmp_path / "legacy.dump"
    code, out = rally("db", "backup", str(dump), "--database-url", legacy_corpus_url)
    assert code == 0, out
    assert hashlib.sha256(dump.read_bytes()).hexdigest() in out
    target = db_factory.create("postgresql", migrated=False)
    try:
        code, out = rally("db", "restore", str(dump), "--database-url", target)
        assert code == 0, out
        assert snapshot(target) == source
        # A non-empty target is refused without --force and left as it was.
        engine = make_engine(target)
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM user_instructions WHERE id % 2 = 0"))
        engine.dispose()
        changed = snapshot(target)
        code, out = rally("db", "restore", str(dump), "--database-url", target)
        assert code == 1 and "not empty" in out and "--force" in out
        assert snapshot(target) == changed
        code, out = rally("db", "restore", str(dump), "--force", "--database-url", target)
        assert code == 0, out
        assert snapshot(target) == source
        # An unreadable backup: one line, usage exit code, target untouched.
        junk = tmp_path / "junk.dump"
        junk.write_bytes(b"PGDMP not really")
        code, out = rally("db", "restore", str(junk), "--force", "--database-url", target)
        # Off a terminal the command logs its steps at INFO; the refusal is the one other line.
        said = [
            line
            for line in out.splitlines()
            if not re.search(r" INFO rally\.cli |msg=finished ", line)
        ]
        assert code == 2 and len(said) == 1 and "junk.dump" in said[0]
        assert snapshot(target) == source
    finally:
        db_factory.drop(target)


def test_restore_of_a_legacy_backup_undoes_an_upgrade(
    legacy_corpus_url: str, pg_clone: Clone, tmp_path: Path
) -> None:
    url = pg_clone(legacy_corpus_url)
    code, out = rally("db", "upgrade", "--database-url", url, "--backup-dir", str(tmp_path))
    assert code == 0, out
    (dump,) = tmp_path.glob("*.dump")
    code, out = rally("db", "restore", str(dump), "--force", "--database-url", url)
    assert code == 0, out
    assert snapshot(url) == snapshot(legacy_corpus_url)


def test_sqlite_backup_restore_round_trip(db_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = db_factory.create("sqlite")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO leagues (league_id, league_name) VALUES ('NSTF', 'N')"))
    engine.dispose()
    copy = tmp_path / "copy.sqlite3"
    code, out = rally("db", "backup", str(copy), "--database-url", url)
    assert code == 0, out
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    code, out = rally("db", "restore", str(copy), "--database-url", target)
    assert code == 0, out
    engine = make_engine(target)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT league_id FROM leagues")).scalars().all() == ["NSTF"]
    engine.dispose()
    code, out = rally("db", "restore", str(copy), "--database-url", target)
    assert code == 1 and "not empty" in out
