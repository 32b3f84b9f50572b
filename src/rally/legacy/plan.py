"""`rally db plan`: what `rally db upgrade` would do, computed read-only and rolled back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from rally.db import migrate
from rally.db.migrations.legacy_ddl import LEGACY_TABLES
from rally.legacy import data, earlier, extra, quarantine
from rally.legacy.analysis import Analysis
from rally.legacy.resolve import describe
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


def dry_run(conn: sa.Connection, *, assign_unknown: str | None = None) -> data.Outcome:
    """Run the upgrade's data step on temporary copies of the tables; the caller rolls back.

    Temporary tables of the same names shadow the real ones (PostgreSQL searches pg_temp
    first), so `rally.legacy.data.carry` runs unchanged: every resolution, the split and the
    head-constraint checks, exactly as the upgrade will, without touching a real row or lock
    beyond a read.
    """
    names = [*LEGACY_TABLES, *(t.name for t in extra.discover(conn, count_rows=False))]
    for name in names:
        conn.execute(
            sa.text(f'CREATE TEMP TABLE "{name}" ON COMMIT DROP AS SELECT * FROM public."{name}"')
        )
    for table, column in data.NEW_COLUMNS:
        kind = Base.metadata.tables[table].c[column].type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE pg_temp.{table} ADD COLUMN {column} {kind}"))
    for name in names:
        conn.execute(sa.text(f'ANALYZE pg_temp."{name}"'))
    quarantine.create_scratch(conn)
    return data.carry(conn, assign_unknown=assign_unknown, strict=False)


def _accounting(conn: sa.Connection, names: list[str]) -> dict[str, dict[str, int]]:
    """Per table: rows before (real table), deleted into quarantine, after (dry-run copy)."""
    deleted = quarantine.deleted_counts(conn)
    out = {}
    for name in names:
        before = conn.execute(sa.text(f'SELECT COUNT(*) FROM public."{name}"')).scalar_one()
        after = conn.execute(sa.text(f'SELECT COUNT(*) FROM pg_temp."{name}"')).scalar_one()
        out[name] = {
            "before": int(before),
            "quarantined": deleted.get(name, 0),
            "after": int(after),
        }
    return out


def is_legacy(state: migrate.DbState) -> bool:
    """Tell whether the database holds the legacy schema (recognised, or stamped at baseline)."""
    return state.kind == "legacy" or state.revision == migrate.BASELINE


def build_plan(
    engine: Engine, *, assign_unknown: str | None = None, resolve: bool = False
) -> dict[str, Any]:
    """Return what an upgrade would do; its one transaction is always rolled back."""
    head = migrate.head_revision()
    with engine.connect() as conn:
        try:
            state = migrate.inspect_state(conn)
            if conn.dialect.name == "postgresql":
                # The plan runs the upgrade's data step (and, for an earlier shape, its undo)
                # on this transaction, which is always rolled back: it writes, never commits.
                conn.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
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
                outcome = dry_run(conn, assign_unknown=assign_unknown)
                analysis = outcome.analysis
                stamp = []
                if state.kind == "legacy":
                    old = state.foreign_revision
                    stamp = [
                        f"stamp baseline {migrate.BASELINE}"
                        + (f" (replacing old alembic_version {old!r})" if old else "")
                    ]
                plan["actions"] = [*stamp, *_schema_changes(conn)]
                plan["data"] = _analysis_dict(analysis)
                plan["resolutions"] = describe(outcome.resolutions)
                plan["unknown_tables"] = extra.as_dict(outcome.extras)
                plan["unknown_tables_rows_without_league"] = analysis.extra_unknown
                plan["accounting"] = _accounting(
                    conn, [*data.KEPT_TABLES, *(t.name for t in outcome.extras)]
                )
                plan["blockers"] = [
                    *extra.name_collisions(conn),
                    *extra.blocking_foreign_keys(conn),
                    *analysis.blockers,
                    *(v.sentence() for v in outcome.violations),
                ]
                plan["needs_resolve"] = bool(outcome.resolutions)
                plan["summary"] = (
                    "blocked"
                    if plan["blockers"]
                    else "damaged: `rally db upgrade --resolve` applies the resolutions"
                    if outcome.resolutions
                    else "ready"
                )
        finally:
            conn.rollback()
    plan.setdefault("needs_resolve", False)
    plan["resolve"] = resolve
    # ok: `rally db upgrade` with the same options would run.
    plan["ok"] = not plan["blockers"] and (resolve or not plan["needs_resolve"])
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
    lines += _render_unknown_tables(plan)
    lines += _render_resolutions(plan)
    lines += ["", "schema changes:"] + [f"  - {a}" for a in plan["actions"]]
    lines.append("")
    if plan["blockers"]:
        lines.append("BLOCKED (no resolution rule covers these rows):")
        lines += [f"  - {b}" for b in plan["blockers"]]
    elif plan.get("needs_resolve") and plan.get("resolve"):
        lines.append(
            "`rally db upgrade --resolve` can run and applies exactly the resolutions above."
        )
    elif plan.get("needs_resolve"):
        lines.append(
            "damaged data: `rally db upgrade` refuses it; `rally db upgrade --resolve` applies "
            "exactly the resolutions above."
        )
    else:
        lines.append("no blockers: `rally db upgrade` can run.")
    return lines


def _render_unknown_tables(plan: dict[str, Any]) -> list[str]:
    tables = plan.get("unknown_tables") or []
    if not tables:
        return []
    lines = ["", "tables Rally does not know (carried along; their constraints are kept):"]
    for table in tables:
        lines.append(f"  {table['table']} ({table['rows']} rows)")
        for ref in table["references"]:
            lines.append(
                f"      {ref['column']} -> {ref['references']} ({ref['found']}): {ref['handling']}"
            )
    for label, n in (plan.get("unknown_tables_rows_without_league") or {}).items():
        lines.append(
            f"  {label}: {n} rows on a shared series whose league nothing says: left on the "
            "series that keeps the id (use --assign-unknown KEY to choose)"
        )
    return lines


def _render_resolutions(plan: dict[str, Any]) -> list[str]:
    resolutions = plan.get("resolutions") or []
    if not resolutions:
        return ["", "resolutions: none (no damaged rows found)"]
    lines = ["", "resolutions (applied only with `rally db upgrade --resolve`; every row is first "
             "copied whole into legacy_quarantine):"]  # fmt: skip
    for r in resolutions:
        lines.append(f"  [{r['rule']}] {r['count']} {r['table']} rows: {r['kind']}")
        lines.append(f"      -> {r['action']}: {r['resolution']}")
        for sample in r["samples"]:
            lines.append(f"      e.g. {r['table']} {sample['id']}: {sample['becomes']}")
    accounting = plan.get("accounting") or {}
    touched = {t: a for t, a in accounting.items() if a["quarantined"]}
    if touched:
        lines.append(
            "  rows per table (before - quarantined = after; series also gains split rows):"
        )
        for t, a in touched.items():
            lines.append(
                f"      {t:<26} {a['before']:>7} - {a['quarantined']:>5} = {a['after']:>7}"
            )
    return lines


def refusal_from_plan(plan: dict[str, Any]) -> str:
    """Why `rally db upgrade` without --resolve refuses this plan, in one sentence."""
    return data.refusal(plan["resolutions"])
