"""The online upgrade's steps in order, resumable; finalize; abort; the plan of phases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from rally.db.state import head_revision
from rally.errors import RallyError
from rally.legacy import data as legacy_data
from rally.legacy.analysis import league_id_for
from rally.legacy.online import backfill, contract, head
from rally.legacy.online.abort import abort_work
from rally.legacy.online.backfill import Context, Progress
from rally.legacy.online.runner import (
    STATE_TABLE,
    LockBudget,
    Log,
    create_state,
    in_transaction,
    mark,
    steps,
)

WINDOW_STEP = "contract: stamp head"
RESOLVE_OPTION = "option: --resolve"


class OnlineUnavailable(RallyError):
    """The online upgrade cannot run on this database in its current state."""


@dataclass(frozen=True)
class OnlineOptions:
    """Throttling and lock budget of an online upgrade."""

    batch_size: int = 1000
    pause_s: float = 0.0
    lock_timeout_s: float = 1.0
    retries: int = 40
    assign_unknown: str | None = None
    resolve: bool = False


@dataclass(frozen=True)
class Step:
    """One resumable unit: its name (the key in rally_online), phase, what it does, locks."""

    name: str
    phase: str
    what: str
    locks: str
    run: Callable[[Context], None]


def _all_steps() -> list[Step]:
    brief = "brief ACCESS EXCLUSIVE per table (lock_timeout, retried)"
    none = "none that blocks writes"
    out = [
        Step(
            "expand: columns",
            "expand",
            "add nullable columns "
            + ", ".join(f"{t}.{c}" for t, c in legacy_data.NEW_COLUMNS)
            + "; create legacy_quarantine",
            brief,
            backfill.add_columns,
        ),
        Step(
            "expand: series (name, league_id) index",
            "expand",
            "CREATE UNIQUE INDEX CONCURRENTLY uq_series_name_league_id",
            none,
            backfill.series_name_index,
        ),
        Step(
            "expand: triggers",
            "expand",
            "translate legacy-shaped writes: fill league_id, re-point to the row's league's "
            "series, a context gets its team's series",
            "brief SHARE ROW EXCLUSIVE per table",
            backfill.install_triggers,
        ),
        Step(
            "backfill: resolve",
            "backfill",
            "with --resolve: the damaged-data resolutions (as `rally db plan` lists them), "
            "one rule per transaction, each row quarantined first",
            "row locks of one rule's rows",
            backfill.resolve_damage,
        ),
        Step(
            "backfill: snapshot",
            "backfill",
            "materialise each row's league and the split (analysis.py)",
            none,
            backfill.snapshot,
        ),
        Step(
            "backfill: split",
            "backfill",
            "drop UNIQUE (name) of series; keepers get their league; one new series row per "
            "other league",
            "brief ACCESS EXCLUSIVE on series",
            backfill.split,
        ),
    ]
    for table in backfill.REPOINT_TABLES:
        out.append(
            Step(
                f"backfill: re-point {table}",
                "backfill",
                f"re-point {table} to its league's series, in batches",
                "row locks of one batch",
                partial(backfill.repoint, table=table),
            )
        )
    for table in backfill.FILL_TABLES:
        out.append(
            Step(
                f"backfill: fill {table}",
                "backfill",
                f"fill {table}'s league"
                + (" and series" if table == "user_contexts" else "")
                + ", in batches",
                "row locks of one batch",
                partial(backfill.fill, table=table),
            )
        )
    out.append(
        Step(
            "backfill: sweep",
            "backfill",
            "re-point rows written on a shared series by transactions older than the split",
            "row locks of those rows",
            backfill.sweep,
        )
    )
    for table, column in legacy_data.NOW_NOT_NULL:
        if table != "series":
            out.append(
                Step(
                    f"contract: {table}.{column} NOT NULL",
                    "contract",
                    "CHECK NOT VALID, VALIDATE, SET NOT NULL, drop the CHECK",
                    brief,
                    partial(contract.not_null, table=table, column=column),
                )
            )
    out += [
        Step(
            "contract: unique constraints",
            "contract",
            "head UNIQUEs: CREATE UNIQUE INDEX CONCURRENTLY, ADD CONSTRAINT ... USING INDEX",
            brief,
            contract.uniques,
        ),
        Step(
            "contract: primary keys",
            "contract",
            "rename primary keys to pk_<table>",
            brief,
            contract.primary_keys,
        ),
        Step(
            "contract: checks and foreign keys",
            "contract",
            "head CHECKs and composite league foreign keys: NOT VALID, then VALIDATE",
            "brief SHARE ROW EXCLUSIVE; VALIDATE blocks no writes",
            contract.checks_and_foreign_keys,
        ),
        Step(
            "contract: indexes",
            "contract",
            "head indexes, CREATE INDEX CONCURRENTLY",
            none,
            contract.indexes,
        ),
        Step(
            "contract: new tables",
            "contract",
            "create " + ", ".join(contract.NEW_TABLES),
            "brief on players/users",
            contract.new_tables,
        ),
    ]
    # Revisions 0003-0007, built before the window without long locks (head.py).
    for name, phase, what, locks, run in head.STEPS:
        out.append(Step(name, head.PHASE.format(phase), what, locks, run))
    later = contract.later_revisions()
    out.append(
        Step(
            WINDOW_STEP,
            "contract",
            f"alembic_version = {head.ONLINE_BUILT}"
            + (
                f", then revisions {', '.join(later)} to {head_revision()} (alembic, one "
                "transaction)"
                if later
                else " (head)"
            )
            + "; window opens: both applications work",
            "brief" if not later else "those of the later revisions, taken up front",
            contract.stamp_head,
        )
    )
    return out


FINALIZE_STEPS = [
    Step(
        "finalize: triggers",
        "finalize",
        "drop the translating triggers",
        "brief",
        contract.remove_triggers,
    ),
    Step(
        "finalize: series",
        "finalize",
        "drop series_leagues and unused series; series.league_id NOT NULL (validated CHECK)",
        "brief",
        contract.settle_series,
    ),
    Step(
        "finalize: legacy constraints",
        "finalize",
        "drop the legacy constraints the head does not declare",
        "brief per constraint",
        contract.drop_legacy_constraints,
    ),
]


def _context(engine: Engine, options: OnlineOptions, log: Log, progress: Progress) -> Context:
    budget = LockBudget(lock_timeout_s=options.lock_timeout_s, retries=options.retries)
    with engine.connect() as conn:
        assign = league_id_for(conn, options.assign_unknown)
        # A resumed run resolves as the run that started did (--resolve is recorded).
        resolve = options.resolve or steps(conn).get(RESOLVE_OPTION, (0, False, None))[1]
    return Context(
        engine, budget, log, options.batch_size, options.pause_s, assign, progress, resolve
    )


def _run(ctx: Context, todo: list[Step]) -> None:
    for step in todo:
        with ctx.engine.connect() as conn:
            if steps(conn).get(step.name, (0, False, None))[1]:
                continue
        ctx.log(f"{step.name}: {step.what}")
        step.run(ctx)
        if step.name not in (
            "backfill: resolve",
            "backfill: snapshot",
            "backfill: split",
            "backfill: sweep",
        ):
            ctx.tx(step.name, partial(mark, step=step.name, done=True))


def start(engine: Engine, budget: LockBudget, log: Log, *, resolve: bool = False) -> None:
    """Create the step table and remember the old application's alembic_version (for abort)."""

    def work(conn: Connection) -> None:
        if steps(conn):
            if resolve:
                mark(conn, RESOLVE_OPTION, done=True)
            return
        create_state(conn)
        existed = conn.execute(sa.text("SELECT to_regclass('alembic_version')")).scalar()
        foreign = None
        if existed is not None:
            foreign = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        mark(conn, "alembic_version: existed", done=existed is not None)
        mark(conn, "expand: started", done=True, note=foreign)
        mark(conn, RESOLVE_OPTION, done=resolve)

    in_transaction(engine, work, budget=budget, what="start", log=log)


def upgrade_online(
    engine: Engine,
    options: OnlineOptions,
    *,
    log: Log,
    progress: Progress = lambda _s, _d, _t: None,
) -> None:
    """Run (or resume) expand, backfill and contract; the window then stays open."""
    budget = LockBudget(lock_timeout_s=options.lock_timeout_s, retries=options.retries)
    start(engine, budget, log, resolve=options.resolve)
    ctx = _context(engine, options, log, progress)
    _run(ctx, _all_steps())


def _finalized(engine: Engine) -> bool:
    """A finalize that ran to its end (a re-run after a kill at its last step finds this)."""
    tables = set(sa.inspect(engine).get_table_names())
    if "alembic_version" not in tables or {"series_leagues", STATE_TABLE} & tables:
        return False
    with engine.connect() as conn:
        stamped = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return stamped == [head_revision()]


def finalize(engine: Engine, *, log: Log, options: OnlineOptions | None = None) -> None:
    """Close the window (the old application must be gone): exactly the offline schema."""
    ctx = _context(engine, options or OnlineOptions(), log, lambda _s, _d, _t: None)
    with engine.connect() as conn:
        progress = steps(conn)
    if not progress.get(WINDOW_STEP, (0, False, None))[1]:
        if _finalized(engine):
            log("finalize: already done (Rally's schema at head, no online window open)")
            return
        raise OnlineUnavailable(
            "Nothing to finalize: no online upgrade has reached its window "
            "(run `rally db upgrade --online` first, or resume it)."
        )
    ctx.tx("finalize: started", lambda c: mark(c, "finalize: started", done=True))
    _run(ctx, FINALIZE_STEPS)
    contract.close_window(ctx)


def abort(engine: Engine, *, log: Log, options: OnlineOptions | None = None) -> None:
    """Return to the legacy shape from anywhere in the online upgrade, keeping every row."""
    opts = options or OnlineOptions()
    budget = LockBudget(lock_timeout_s=opts.lock_timeout_s, retries=opts.retries)
    in_transaction(
        engine,
        partial(abort_work, log=log, lock_within_s=budget.lock_timeout_s),
        budget=budget,
        what="abort",
        log=log,
    )


def online_plan(engine: Engine) -> dict[str, Any]:
    """Return the phases and steps, each with its state on this database."""
    with engine.connect() as conn:
        progress = steps(conn)
    out = []
    for step in [*_all_steps(), *FINALIZE_STEPS]:
        cursor, done, note = progress.get(step.name, (0, False, None))
        status = "done" if done else (f"at key {cursor}" if cursor else "pending")
        out.append(
            {
                "phase": step.phase,
                "step": step.name,
                "what": step.what,
                "locks": step.locks,
                "status": status,
                "note": note,
            }
        )
    return {
        "started": bool(progress),
        "window_open": progress.get(WINDOW_STEP, (0, False, None))[1],
        "state_table": STATE_TABLE,
        "steps": out,
    }


def render_online_plan(plan: dict[str, Any]) -> list[str]:
    """Return the online plan as lines of text."""
    lines = ["online upgrade (`rally db upgrade --online`), step by step:"]
    phase = None
    for s in plan["steps"]:
        if s["phase"] != phase:
            phase = s["phase"]
            extra = " (`rally db upgrade --finalize`, once the old application is gone)"
            lines.append(f"{phase}{extra if phase == 'finalize' else ''}:")
        note = f" ({s['note']})" if s["note"] else ""
        lines.append(f"  [{s['status']}] {s['step']}: {s['what']}; locks: {s['locks']}{note}")
    if plan["window_open"]:
        lines.append("window open: both applications work; finalize once the old one is gone.")
    elif plan["started"]:
        lines.append(
            "in progress: `rally db upgrade --online` resumes, `--abort` returns to legacy."
        )
    return lines
