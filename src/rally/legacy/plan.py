"""`rally db plan`: what `rally db upgrade` would do, computed read-only and rolled back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from rally.db import migrate
from rally.legacy import data, earlier
from rally.legacy.analysis import Analysis, analyse
from rally.models import Base


def _schema_changes(conn: sa.Connection) -> list[str]:
    legacy_constraints = conn.execute(
        sa.text(
            "SELECT COUNT(*) FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
            "WHERE r.relnamespace = 'public'::regnamespace AND c.contype IN ('f', 'u', 'c')"
        )
    ).scalar_one()
    head = sum(
        1
        for table in data.KEPT_TABLES
        for c in Base.metadata.tables[table].constraints
        if not isinstance(c, sa.PrimaryKeyConstraint)
    )
    return [
        f"drop the {legacy_constraints} legacy foreign key, unique and check constraints "
        "(series_name_key included), whatever their names",
        "add columns " + ", ".join(f"{t}.{c}" for t, c in data.NEW_COLUMNS),
        "set NOT NULL on " + ", ".join(f"{t}.{c}" for t, c in data.NOW_NOT_NULL),
        "drop table series_leagues",
        "rename primary keys to pk_<table>",
        f"create {head} head constraints by naming convention (UNIQUE (name, league_id) on "
        "series, composite league-consistent foreign keys) and their indexes",
        "create tables " + ", ".join(data.NEW_TABLES),
    ]


def _analysis_dict(a: Analysis) -> dict[str, Any]:
    return {
        "series": {
            "legacy_rows": a.series_total,
            "used_by_one_league": a.series_single,
            "shared_by_several_leagues": len(a.spanning),
            "rows_to_create": a.series_created,
            "unused_to_drop": a.series_unused,
        },
        "spanning_series": [
            {
                "id": s.series_id,
                "name": s.name,
                "display_name": s.display_name,
                "uses": s.uses,
                "keeps_id": s.keeper,
                "why": s.reason,
                "new_rows_for": s.new_rows_for,
            }
            for s in a.spanning
        ],
        "rows_to_repoint": a.repoint,
        "league_filled": a.league_filled,
        "league_decided_by": a.resolved_by,
        "user_contexts": a.contexts,
        "assign_unknown": a.assign_unknown,
        "unknown_rows": {"count": a.unknown_count, "first": a.unknown},
        "conflicts": a.conflicts,
    }


def is_legacy(state: migrate.DbState) -> bool:
    """Tell whether the database holds the legacy schema (recognised, or stamped at baseline)."""
    return state.kind == "legacy" or state.revision == migrate.BASELINE


def build_plan(engine: Engine, *, assign_unknown: str | None = None) -> dict[str, Any]:
    """Return what an upgrade would do; the transaction is read-only and rolled back."""
    head = migrate.head_revision()
    with engine.connect() as conn:
        try:
            state = migrate.inspect_state(conn)
            if conn.dialect.name == "postgresql":
                # An earlier shape is normalised first, as the upgrade does, so that
                # transaction writes (rolled back all the same). Read-only may be set late.
                conn.execute(
                    sa.text(
                        "SET LOCAL lock_timeout = '5s'"
                        if state.earlier
                        else "SET TRANSACTION READ ONLY"
                    )
                )
            plan: dict[str, Any] = {
                "database": state.describe,
                "kind": state.kind,
                "shape": state.shape,
                "revision": state.revision,
                "head": head,
                "blockers": [],
            }
            if state.kind == "rally" and state.revision == head:
                plan["actions"] = []
                plan["summary"] = "already at head; upgrade would change nothing"
            elif not is_legacy(state):
                plan["actions"] = [f"run revisions up to {head} (no data to carry)"]
                plan["summary"] = "schema only"
            elif conn.dialect.name != "postgresql":
                plan["blockers"] = ["legacy data is upgraded on PostgreSQL only"]
                plan["summary"] = "blocked"
            else:
                if state.earlier:
                    plan["earlier"] = earlier.normalise(conn, state).as_dict()
                analysis = analyse(conn, assign_unknown=assign_unknown)
                stamp = []
                if state.kind == "legacy":
                    old = state.foreign_revision
                    stamp = [
                        f"stamp baseline {migrate.BASELINE}"
                        + (f" (replacing old alembic_version {old!r})" if old else "")
                    ]
                plan["actions"] = [*stamp, *_schema_changes(conn)]
                plan["data"] = _analysis_dict(analysis)
                plan["blockers"] = analysis.blockers
                plan["summary"] = "blocked" if analysis.blockers else "ready"
        finally:
            conn.rollback()
    plan["ok"] = not plan["blockers"]
    return plan


def render_plan(plan: dict[str, Any]) -> list[str]:
    """Return the plan as lines of text for a terminal."""
    lines = [f"database: {plan['database']}", f"target:   {plan['head']}"]
    if "data" not in plan:
        lines.append(plan["summary"])
        lines += [f"  - {a}" for a in plan.get("actions", [])]
        return lines
    if plan.get("earlier"):
        lines += ["", *earlier.EarlierReport(**plan["earlier"]).lines()]
    data = plan.get("data")
    if data:
        s = data["series"]
        lines += [
            "",
            f"series: {s['legacy_rows']} legacy rows; {s['used_by_one_league']} used by one "
            f"league; {s['shared_by_several_leagues']} shared by several leagues -> "
            f"{s['rows_to_create']} new rows (same name); {len(s['unused_to_drop'])} unused "
            "to drop" + (f" ({', '.join(s['unused_to_drop'][:5])})" if s["unused_to_drop"] else ""),
            "",
            "shared series (uses per league and table; the league with most uses keeps the id,",
            "a tie goes to the league key that sorts first):",
        ]
        for sp in data["spanning_series"]:
            lines.append(
                f"  {sp['name']!r} (id {sp['id']}): {sp['keeps_id']} keeps the id, {sp['why']}"
            )
            for league, tables in sorted(sp["uses"].items()):
                detail = ", ".join(f"{t} {n}" for t, n in sorted(tables.items()))
                marker = "keeps id" if league == sp["keeps_id"] else "new row"
                lines.append(
                    f"      {league:<13} {sum(tables.values()):>5} uses ({detail}) [{marker}]"
                )
        lines += ["", "rows to re-point to their league's series:"]
        lines += [f"  {t:<20} {n:>6}" for t, n in data["rows_to_repoint"].items()]
        lines += ["", "league_id set (new or NULL column):"]
        lines += [f"  {t:<20} {n:>6}" for t, n in data["league_filled"].items()]
        ctx = data["user_contexts"]
        lines += [
            "",
            f"user contexts: series_id backfilled from the team on {ctx['series_backfilled']}, "
            f"league corrected to the team's on {ctx['league_corrected_to_team']}, "
            f"{ctx['without_team']} without a team (left without series)",
        ]
    lines += ["", "schema changes:"] + [f"  - {a}" for a in plan["actions"]]
    lines.append("")
    if plan["blockers"]:
        lines.append("BLOCKED:")
        lines += [f"  - {b}" for b in plan["blockers"]]
    else:
        lines.append("no blockers: `rally db upgrade` can run.")
    return lines
