"""Tables Rally does not know: listed by the plan, re-pointed by their rows' league, kept with
their constraints, checked by verify, restored by downgrade; also with damaged data."""

from __future__ import annotations

import json

import extra_tables
import sqlalchemy as sa
from damage import world
from legacy_helpers import reset_and_load, snapshot
from test_damaged import _links, _rows, check_resolving_upgrade, damaged, rally

from rally.db import make_engine


def _load(url: str, kinds: list[str] | None = None, damage: list[str] = ()):  # type: ignore[no-untyped-def]
    b = world()
    found = damaged(url, b, list(damage)) if damage else None
    if found is None:
        reset_and_load(url, b, None)
    engine = make_engine(url)
    with engine.begin() as conn:
        extra_tables.add(conn, kinds)
        names = dict(conn.execute(sa.text("SELECT id, name FROM series")).all())
    engine.dispose()
    return b, found, names


def _scalar(url: str, sql: str) -> object:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar_one()
    finally:
        engine.dispose()


def _constraints(url: str) -> set[tuple[str, str, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return extra_tables.constraints(conn)
    finally:
        engine.dispose()


def test_plan_lists_every_unknown_table(scratch_url: str) -> None:
    _load(scratch_url)
    before = snapshot(scratch_url)
    code, out = rally("db", "plan", "--json", "--database-url", scratch_url)
    assert code == 0, out
    plan = json.loads(out)
    assert snapshot(scratch_url) == before
    tables = {t["table"]: t for t in plan["unknown_tables"]}
    assert set(tables) == set(extra_tables.KINDS)
    assert tables["polls"]["rows"] == _scalar(scratch_url, "SELECT COUNT(*) FROM teams")
    refs = {(t, r["column"]): r for t, v in tables.items() for r in v["references"]}
    assert refs[("captain_notes", "series_id")]["found"].startswith("foreign key")
    assert refs[("activity_log", "team_id")]["found"] == "by column name"
    assert refs[("pickup_games", "away_team_id")]["references"] == "teams"
    assert (
        "re-pointed to the series of the row's league"
        in refs[("captain_notes", "series_id")]["handling"]
    )
    # series_notes rows on a shared series: nobody can tell the league; reported, left.
    assert plan["unknown_tables_rows_without_league"]["series_notes.series_id"] == 2
    code, text = rally("db", "plan", "--database-url", scratch_url)
    assert "tables Rally does not know" in text and "captain_notes (" in text


def test_upgrade_carries_unknown_tables_and_downgrade_restores_them(scratch_url: str) -> None:
    _load(scratch_url)
    # A series only captain_notes uses: never dropped.
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO series (id, name, display_name) VALUES (500, 'Notes only', 'N')")
        )
        conn.execute(sa.text("INSERT INTO series_leagues (series_id, league_id) VALUES (500, 2)"))
        conn.execute(
            sa.text("INSERT INTO captain_notes (series_id, league_id, note) VALUES (500, 2, 'x')")
        )
    engine.dispose()
    before, links, constraints = (
        snapshot(scratch_url),
        _links(scratch_url),
        _constraints(scratch_url),
    )
    code, out = rally("db", "upgrade", "--no-backup", "--database-url", scratch_url)
    assert code == 0, out
    code, out = rally("db", "verify", "--json", "--database-url", scratch_url)
    checks = {c["name"] for c in json.loads(out)["checks"]}
    assert code == 0 and any(c.startswith("unknown table: captain_notes") for c in checks), out
    # Every note is on the series of its own league, of the same name as before.
    assert (
        _scalar(
            scratch_url,
            "SELECT COUNT(*) FROM captain_notes n JOIN series s ON s.id = n.series_id "
            "WHERE s.league_id <> n.league_id",
        )
        == 0
    )
    assert _scalar(scratch_url, "SELECT league_id FROM series WHERE id = 500") == 2
    assert (
        _scalar(
            scratch_url,
            "SELECT COUNT(*) FROM activity_log a JOIN teams t ON t.id = a.team_id "
            "WHERE t.series_id <> a.series_id",
        )
        == 0
    )
    moved = _scalar(
        scratch_url,
        "SELECT COUNT(*) FROM captain_notes n JOIN series s ON s.id = n.series_id "
        "WHERE n.series_id <> (SELECT MIN(id) FROM series x WHERE x.name = s.name)",
    )
    assert moved > 0  # notes of the leagues that did not keep the id were re-pointed
    assert _constraints(scratch_url) == constraints
    # A change the check catches: a note put on a series of another league.
    kept = _scalar(scratch_url, "SELECT series_id FROM captain_notes WHERE id = 1")
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE captain_notes SET series_id = (SELECT id FROM series WHERE league_id <> "
            "captain_notes.league_id LIMIT 1) WHERE id = 1"))  # fmt: skip
    engine.dispose()
    code, out = rally("db", "verify", "--json", "--database-url", scratch_url)
    failed = [c["name"] for c in json.loads(out)["checks"] if not c["ok"]]
    assert code == 1 and failed == [
        "unknown table: captain_notes.series_id is a series of the row's own league"
    ]
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE captain_notes SET series_id = :s WHERE id = 1"), {"s": kept})
        # A dangling bare id (no constraint can catch it): the check does.
        home = conn.execute(sa.text("SELECT home_team_id FROM pickup_games")).scalar_one()
        conn.execute(sa.text("UPDATE pickup_games SET home_team_id = 987654"))
    engine.dispose()
    code, out = rally("db", "verify", "--json", "--database-url", scratch_url)
    failed = [c["name"] for c in json.loads(out)["checks"] if not c["ok"]]
    assert code == 1 and failed == [
        "unknown table: pickup_games.home_team_id refers to an existing teams row"
    ], out
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE pickup_games SET home_team_id = :h"), {"h": home})
    engine.dispose()
    code, out = rally("db", "downgrade", "legacy", "--no-backup", "--database-url", scratch_url)
    assert code == 0, out
    assert _rows(snapshot(scratch_url)) == _rows(before)
    assert _links(scratch_url) == links
    assert _constraints(scratch_url) == constraints


def test_unknown_tables_with_damaged_data(scratch_url: str) -> None:
    b, found, _ = _load(scratch_url, damage=["duplicate_player", "unused_series", "stale_context"])
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        # References to the duplicate (merged away) and a dangling bare id.
        conn.execute(
            sa.text(
                "INSERT INTO saved_lineups (player_id, captain_player_id) VALUES (900000000, 900000000)"
            )
        )
        conn.execute(
            sa.text("INSERT INTO activity_log (player_id, action) VALUES (900000000, 'dup')")
        )
        conn.execute(sa.text("INSERT INTO pickup_games (home_team_id) VALUES (77777)"))
    engine.dispose()
    assert found is not None
    # series_notes (a table Rally does not know) uses the "unused" series: it is kept.
    found.rules -= {"unused-series", "unused-series-link"}
    found.deleted -= {("series", 800000001)}
    found.rules |= {
        "duplicate-player-ref-saved_lineups-player_id",
        "duplicate-player-ref-saved_lineups-captain_player_id",
        "duplicate-player-ref-activity_log-player_id",
        "dangling-pickup_games-home_team_id",
    }
    # activity_log has no primary key: its moved reference cannot be matched back.
    check_resolving_upgrade(scratch_url, b, found, unrestorable=("activity_log",))


def test_foreign_key_to_a_replaced_constraint_blocks_by_name(scratch_url: str) -> None:
    _load(scratch_url, ["polls"])
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE league_pages (key varchar(255) REFERENCES leagues(league_id), url text)"
        ))  # fmt: skip
        conn.execute(sa.text("INSERT INTO league_pages VALUES ('NSTF', 'x')"))
    engine.dispose()
    before = snapshot(scratch_url)
    code, out = rally("db", "plan", "--database-url", scratch_url)
    assert code == 1 and "league_pages_key_fkey" in out
    code, out = rally("db", "upgrade", "--no-backup", "--resolve", "--database-url", scratch_url)
    assert code == 1 and "league_pages_key_fkey" in out and "Nothing was changed" in out
    assert "database error" not in out
    assert snapshot(scratch_url) == before


def test_assign_unknown_puts_unknown_table_rows_on_the_leagues_series(scratch_url: str) -> None:
    # series_notes rows say no league; with --assign-unknown they count for NSTF (the plan
    # re-points them) and the upgrade must put them on NSTF's series, as it does legacy rows.
    _load(scratch_url, ["series_notes", "captain_notes"])
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        # More uses by APTA_CHICAGO, so that it (not NSTF) keeps the id of "Series 1".
        conn.execute(sa.text(
            "INSERT INTO captain_notes (series_id, league_id, note) SELECT 1, id, 'more' "
            "FROM leagues, generate_series(1, 3) WHERE league_id = 'APTA_CHICAGO'"))  # fmt: skip
    engine.dispose()
    before, constraints = snapshot(scratch_url), _constraints(scratch_url)
    args = ("--assign-unknown", "NSTF", "--database-url", scratch_url)
    code, out = rally("db", "plan", "--json", *args)
    plan = json.loads(out)
    assert code == 0 and plan["data"]["rows_to_repoint"]["series_notes.series_id"] == 1, out
    assert plan["unknown_tables_rows_without_league"] == {}
    code, out = rally("db", "upgrade", "--no-backup", *args)
    assert code == 0, out
    placed = _scalar(
        scratch_url,
        "SELECT string_agg(s.name || '=' || l.league_id, ',' ORDER BY n.id) FROM series_notes n "
        "JOIN series s ON s.id = n.series_id JOIN leagues l ON l.id = s.league_id",
    )
    assert placed == "Series 1=NSTF,Series 2=NSTF"
    code, out = rally("db", "verify", "--database-url", scratch_url)
    assert code == 0, out
    code, out = rally("db", "downgrade", "legacy", "--no-backup", "--database-url", scratch_url)
    assert code == 0, out
    assert _rows(snapshot(scratch_url)) == _rows(before)
    assert _constraints(scratch_url) == constraints


def test_known_tables_follow_the_revision() -> None:
    # A table is Rally's only at a revision whose schema has it.
    from rally.db.state import BASELINE, head_revision
    from rally.legacy.extra import CREATED_BY_REVISIONS, REVISION_0002, known_tables

    legacy, at_0002, head = (
        known_tables(None),
        known_tables(REVISION_0002),
        known_tables(head_revision()),
    )
    assert known_tables(BASELINE) == legacy
    assert "series_leagues" in legacy and "player_claims" not in legacy
    assert "player_claims" in at_0002
    # series_leagues is at head only while an online upgrade's window is open: still Rally's.
    assert "series_leagues" in at_0002 and "series_leagues" in head
    assert "audit_log" in head and "audit_log" not in at_0002 | legacy
    assert {"audit_log", "player_claims", "legacy_quarantine"} <= CREATED_BY_REVISIONS
    assert not CREATED_BY_REVISIONS & legacy


def test_legacy_table_named_like_a_table_rally_creates(scratch_url: str) -> None:
    # The old application's own audit_log: a table Rally does not know on a legacy database
    # (listed, with its reference), whose name revision 0003 needs: refused by name.
    _load(scratch_url, ["polls"])
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE audit_log (id serial PRIMARY KEY, team_id integer REFERENCES teams(id), "
            "what text)"))  # fmt: skip
        conn.execute(sa.text("INSERT INTO audit_log (team_id, what) SELECT id, 'x' FROM teams"))
    engine.dispose()
    before = snapshot(scratch_url)
    code, out = rally("db", "plan", "--json", "--database-url", scratch_url)
    plan = json.loads(out)
    assert code == 1 and {"audit_log", "polls"} <= {t["table"] for t in plan["unknown_tables"]}
    assert [b for b in plan["blockers"] if "audit_log" in b and "rename it" in b], plan["blockers"]
    code, out = rally("db", "upgrade", "--no-backup", "--database-url", scratch_url)
    assert code == 1 and "audit_log" in out and "Nothing was changed" in out, out
    assert "database error" not in out and "already exists" not in out
    assert snapshot(scratch_url) == before
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE audit_log RENAME TO old_audit_log"))
    engine.dispose()
    code, out = rally("db", "upgrade", "--no-backup", "--database-url", scratch_url)
    assert code == 0, out
    code, out = rally("db", "verify", "--json", "--database-url", scratch_url)
    checks = {c["name"] for c in json.loads(out)["checks"]}
    assert code == 0 and "unknown table: old_audit_log.team_id refers to an existing teams row" in (
        checks
    ), out
    # At head, Rally's own audit_log (revision 0003) is not a table Rally does not know.
    assert not [c for c in checks if c.startswith("unknown table: audit_log")]


def test_online_upgrade_refuses_unknown_tables_that_reference_series(scratch_url: str) -> None:
    # The online backfill does not re-point them: refused by name, the offline path named.
    _load(scratch_url, ["captain_notes", "polls"])
    before = snapshot(scratch_url)
    code, out = rally("db", "upgrade", "--online", "--no-backup", "--database-url", scratch_url)
    assert code == 1 and "captain_notes.series_id" in out and "Nothing was changed" in out, out
    assert "polls" not in out  # a reference to teams is no obstacle (ids do not change)
    assert snapshot(scratch_url) == before


def test_merge_that_would_break_a_unique_constraint_of_an_unknown_table(scratch_url: str) -> None:
    # One settings row per player: merging a duplicate into its survivor would give the
    # survivor two. The plan blocks it by constraint name; the upgrade changes nothing.
    _load(scratch_url, ["polls"], damage=["duplicate_player"])
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE player_settings (id serial PRIMARY KEY, "
            "player_id integer UNIQUE REFERENCES players(id), theme text)"))  # fmt: skip
        conn.execute(sa.text("INSERT INTO player_settings (player_id) SELECT id FROM players"))
    engine.dispose()
    before = snapshot(scratch_url)
    code, out = rally("db", "plan", "--json", "--resolve", "--database-url", scratch_url)
    plan = json.loads(out)
    assert code == 1 and "duplicate-player-ref-player_settings-player_id" in {
        r["rule"] for r in plan["resolutions"]
    }, out
    assert [b for b in plan["blockers"] if "player_settings_player_id_key" in b], plan["blockers"]
    code, out = rally("db", "upgrade", "--no-backup", "--resolve", "--database-url", scratch_url)
    out = " ".join(out.split())  # the console wraps long lines
    assert code == 1 and "player_settings_player_id_key" in out and "Nothing was changed" in out
    assert "database error" not in out
    assert snapshot(scratch_url) == before


def test_downgrade_refuses_a_merge_that_breaks_a_unique_constraint(scratch_url: str) -> None:
    # One note per series: at head each league's "Series 1" gets its own note; merging the
    # series back into one row would give it several. Refused by name; nothing changed.
    _load(scratch_url, ["captain_notes"])
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE series_pages (id serial PRIMARY KEY, "
            "series_id integer UNIQUE REFERENCES series(id), url text)"))  # fmt: skip
        conn.execute(sa.text("INSERT INTO series_pages (series_id) SELECT id FROM series"))
    engine.dispose()
    code, out = rally("db", "upgrade", "--no-backup", "--database-url", scratch_url)
    assert code == 0, out
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO series_pages (series_id, url) SELECT s.id, 'new' FROM series s "
            "WHERE NOT EXISTS (SELECT 1 FROM series_pages p WHERE p.series_id = s.id)"))  # fmt: skip
    engine.dispose()
    at_head = snapshot(scratch_url)
    code, out = rally("db", "downgrade", "legacy", "--no-backup", "--database-url", scratch_url)
    out = " ".join(out.split())
    assert code == 1 and "series_pages_series_id_key" in out and "Nothing was changed" in out
    assert "database error" not in out, out
    assert snapshot(scratch_url) == at_head


def _orphan(url: str, table: str) -> int:
    """Give one `table` row a club that does not exist (production lacked the foreign key)."""
    from damage import _drop

    engine = make_engine(url)
    with engine.begin() as conn:
        _drop(conn, table, "f", "club_id")
        row = conn.execute(sa.text(f"SELECT MIN(id) FROM {table}")).scalar_one()
        conn.execute(sa.text(f"UPDATE {table} SET club_id = 900000123 WHERE id = :i"), {"i": row})
    engine.dispose()
    return int(row)


def test_quarantined_player_releases_the_unknown_tables_references(scratch_url: str) -> None:
    # The player's club is gone, so the resolutions quarantine the player; saved_lineups still
    # points at it by a nullable foreign key. The plan (on copies without constraints) and the
    # upgrade (where the key would refuse the delete) both set the reference to NULL.
    _load(scratch_url, ["saved_lineups"])
    player = _orphan(scratch_url, "players")
    # Each changed column of a row is copied into the quarantine before its change.
    refs = _scalar(
        scratch_url,
        f"SELECT SUM(CAST(player_id = {player} AS int) + CAST(captain_player_id = {player} AS int))"
        " FROM saved_lineups",
    )
    assert refs
    code, out = rally("db", "plan", "--json", "--resolve", "--database-url", scratch_url)
    plan = json.loads(out)
    assert code == 0, out
    planned = {r["rule"]: r["count"] for r in plan["resolutions"]}
    assert planned["orphan-players-club_id"] == 1
    assert "dangling-saved_lineups-player_id" in planned
    code, out = rally("db", "upgrade", "--no-backup", "--resolve", "--database-url", scratch_url)
    assert code == 0 and "database error" not in out, out
    left = _scalar(
        scratch_url,
        f"SELECT COUNT(*) FROM saved_lineups WHERE player_id = {player} "
        f"OR captain_player_id = {player}",
    )
    assert left == 0
    quarantined = _scalar(
        scratch_url, "SELECT COUNT(*) FROM legacy_quarantine WHERE table_name = 'saved_lineups'"
    )
    assert quarantined == refs
    code, out = rally("db", "verify", "--database-url", scratch_url)
    assert code == 0, out


def test_quarantined_team_still_needed_by_an_unknown_table_is_refused(scratch_url: str) -> None:
    # polls.team_id is NOT NULL: no value can replace the team. Refused by name, unchanged.
    _load(scratch_url, ["polls"])
    _orphan(scratch_url, "teams")
    before = snapshot(scratch_url)
    code, out = rally("db", "plan", "--json", "--resolve", "--database-url", scratch_url)
    plan = json.loads(out)
    assert code == 1 and any("polls.team_id" in b for b in plan["blockers"]), out
    code, out = rally("db", "upgrade", "--no-backup", "--resolve", "--database-url", scratch_url)
    out = " ".join(out.split())
    assert code == 1 and "polls" in out and "Nothing was changed" in out, out
    assert "database error" not in out
    assert snapshot(scratch_url) == before
