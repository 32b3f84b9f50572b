"""`rally db upgrade --online --resolve`: damaged legacy data resolved in the backfill.

The same rules as the offline `rally db upgrade --resolve` (one transaction per rule), with the
old application writing meanwhile; `--abort` puts every resolved row back.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from damage import DAMAGE, Damage, world
from legacy_helpers import Clone, snapshot
from online_writer import LegacyWriter
from test_damaged import _links, _rows, damaged, wrong_meaning
from test_online import failed_checks, rally

from rally.db import make_engine

# Every kind of damage at once, each on its own rows.
KINDS = sorted(DAMAGE)


def _quarantine(url: str) -> list[tuple[str, str, str, str]]:
    code, out = rally("db", "quarantine", "--json", "--database-url", url)
    assert code == 0, out
    rows = json.loads(out)["rows"]
    return sorted((r["table_name"], r["row_id"], r["reason"], r["resolution"]) for r in rows)


def _damage_free_writer(url: str, damage: Damage) -> LegacyWriter:
    """The old application, writing for players and teams the damage left alone."""
    writer = LegacyWriter(url, interval_s=0.005)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            bad_players = set(
                conn.execute(
                    sa.text(
                        "SELECT p.id FROM players p JOIN teams t ON t.id = p.team_id "
                        "WHERE p.league_id <> t.league_id OR p.id >= 900000000 OR EXISTS "
                        "(SELECT 1 FROM players q WHERE q.id <> p.id "
                        "AND q.tenniscores_player_id = p.tenniscores_player_id)"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()
    touched = {k for t, k in (*damage.deleted, *damage.meaning) if t == "players"}
    writer.players = [p for p in writer.players if p[0] not in bad_players | touched]
    assert writer.players
    return writer


def test_online_resolve_applies_the_offline_resolutions_while_the_old_application_writes(
    pg_empty_url: str, pg_clone: Clone
) -> None:
    url = pg_empty_url
    b = world(leagues=4, per_series=3)
    damage = damaged(url, b, KINDS)
    offline = pg_clone(url)
    before = snapshot(url)

    code, out = rally("db", "upgrade", "--online", "--no-backup", "--database-url", url)
    assert code == 1 and "Traceback" not in out
    assert "Cannot upgrade online" in out and "--online --resolve" in out, out
    assert "Nothing was changed" in out
    assert snapshot(url) == before

    writer = _damage_free_writer(url, damage)
    writer.start()
    try:
        code, out = rally(
            "db", "upgrade", "--online", "--resolve", "--no-backup", "--batch-size", "5",
            "--database-url", url,
        )  # fmt: skip
        assert code == 0, out
        assert failed_checks(url) == []
        stats = writer.stop()
    finally:
        writer.stop()
    code, out = rally("db", "upgrade", "--finalize", "--database-url", url)
    assert code == 0, out
    assert stats.errors == [], stats.errors[:5]
    assert writer.n > 20 and writer.written
    assert writer.misplaced(url) == []
    assert failed_checks(url) == []

    code, out = rally("db", "upgrade", "--resolve", "--no-backup", "--database-url", offline)
    assert code == 0, out
    # Exactly what the offline upgrade resolves, row for row, and every row means the same.
    online_rows = _quarantine(url)
    assert online_rows and online_rows == _quarantine(offline)
    assert {
        (t, int(k.split(":")[0])) for t, k, _r, s in online_rows if s.startswith("deleted")
    } >= (damage.deleted)
    assert wrong_meaning(url, b, damage) == []
    assert wrong_meaning(offline, b, damage) == []


def test_abort_after_online_resolve_puts_every_resolved_row_back(pg_empty_url: str) -> None:
    url = pg_empty_url
    b = world(leagues=4, per_series=3)
    damaged(url, b, KINDS)
    before = snapshot(url)
    links = _links(url)
    code, out = rally(
        "db", "upgrade", "--online", "--resolve", "--no-backup", "--database-url", url
    )  # fmt: skip
    assert code == 0, out
    code, out = rally("db", "upgrade", "--abort", "--database-url", url)
    assert code == 0, out
    assert "put back" in out
    after = snapshot(url)
    gained = set(after["shape"]["constraints"]) - set(before["shape"]["constraints"])
    lost = set(before["shape"]["constraints"]) - set(after["shape"]["constraints"])
    # The legacy constraints the damaged database lacked come back NOT VALID (as with
    # `rally db downgrade legacy`); nothing else in the shape differs.
    assert lost == set() and all(c[2].endswith("NOT VALID") for c in gained), (gained, lost)
    assert after["shape"]["columns"] == before["shape"]["columns"]
    assert _rows(after) == _rows(before)
    assert _links(url) == links
