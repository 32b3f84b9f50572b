"""Resolutions: one documented, deterministic, set-based rule per kind of damage.

Each rule selects the rows it would change or delete (``find``), and ``apply`` first copies
each of them whole into the quarantine (`rally.legacy.quarantine`), then changes or deletes
them, in the caller's transaction. Rules run in a fixed order (``run``): a later rule sees
what an earlier one did, e.g. a player deleted for an orphaned series makes its availability
an orphan that the next pass sets to NULL. Both `rally db plan` (on temporary copies of the
tables) and the upgrade (on the tables themselves) run exactly this sequence, so the upgrade
applies what the plan showed.

The orphan and CHECK rules are derived from the head schema (``rally.models``): every foreign
key column and every check constraint on legacy columns becomes a rule, so a constraint added
to the models later is resolved too, or, when no rule fits, refused by name before anything
is changed (`rally.legacy.headcheck`).

Entry points for other upgrade paths (online batches, repair of earlier scripts): ``run``
(everything, in order), or ``rules`` + ``find`` + ``apply`` one rule at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from rally.db.migrations.schema_0002 import metadata_0002
from rally.errors import RallyError
from rally.legacy import quarantine
from rally.legacy.extra import ExtraRef, ExtraTable
from rally.legacy.rules import (
    CHANGED,
    DELETED,
    KEPT,
    Rule,
    conflict_rules,
    dangling_rules,
    duplicate_rules,
    fill_rules,
    null_reference,
    unknown_rules,
    unused_rules,
)

SAMPLES = 5
MAX_ORPHAN_PASSES = 6
# Orphaned references whose row means nothing without them, although head allows NULL there:
# a history row of nobody, an instruction for a team or series that is gone.
_MEANINGLESS_WITHOUT = frozenset(
    {("player_history", "player_id"), ("user_instructions", "team_id"),
     ("user_instructions", "series_id")}
)  # fmt: skip
_ONE = {"series": "series", "players": "player", "teams": "team", "users": "user",
        "leagues": "league", "clubs": "club"}  # fmt: skip
# Columns the upgrade itself fills; head CHECKs on them are checked after the split instead.
_FILLED_BY_UPGRADE = ("league_id", "series_id")

# The data step runs inside revision 0002, so it answers to the schema as 0002 creates it
# (frozen), not to the live models: a later revision's columns do not exist yet.
_SCHEMA_0002 = metadata_0002()


class StillReferenced(RallyError):
    """A resolution would delete rows that a table Rally does not know still needs."""


@dataclass
class Resolution:
    """What one rule found (and, once applied, did)."""

    rule: str
    kind: str
    table: str
    action: str
    text: str
    count: int
    samples: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""  # the temporary table holding the rows found

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the plan's `resolutions` entries)."""
        return {
            "rule": self.rule,
            "kind": self.kind,
            "table": self.table,
            "action": self.action,
            "resolution": self.text,
            "count": self.count,
            "samples": self.samples,
        }


_counter = itertools.count()


def find(conn: Connection, rule: Rule, params: dict[str, Any] | None = None) -> Resolution:
    """Materialise the rows `rule` applies to (read-only on the data) and describe them."""
    found = Resolution(rule.id, rule.kind, rule.table, rule.action, rule.text, 0)
    # Most rules find nothing on most databases: count first (COUNT, not EXISTS: EXISTS makes
    # PostgreSQL pick fast-start nested loops, slow when nothing matches), materialise if any.
    probe = conn.execute(sa.text(f"SELECT COUNT(*) FROM ({rule.select}) v"), params or {})
    if not probe.scalar_one():
        return found
    found.source = f"_rally_rr_{next(_counter)}"
    conn.execute(
        sa.text(f"CREATE TEMP TABLE {found.source} ON COMMIT DROP AS {rule.select}"),
        params or {},
    )
    found.count = int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {found.source}")).scalar_one())
    found.samples = [
        {"id": str(row_id), "becomes": becomes}
        for row_id, becomes in conn.execute(
            sa.text(f"SELECT row_id, becomes FROM {found.source} ORDER BY row_id LIMIT {SAMPLES}")
        )
    ]
    return found


def apply(
    conn: Connection, rule: Rule, found: Resolution, *, target: str = quarantine.TABLE
) -> int:
    """Quarantine the rows `found` names, then change or delete them; return the rows done."""
    if not found.count:
        return 0
    where = f"JOIN {found.source} r ON {rule.match}"
    copied = quarantine.copy_rows(
        conn,
        table=rule.table,
        where=where,
        reason=rule.kind,
        resolution=f"'{rule.action} by rule {rule.id}: ' || r.becomes",
        target=target,
    )
    if rule.action == DELETED:
        done = conn.execute(
            sa.text(f"DELETE FROM {rule.table} x USING {found.source} r WHERE {rule.match}")
        ).rowcount
    else:
        sets = ", ".join(f"{col} = {expr}" for col, expr in rule.sets)
        done = conn.execute(
            sa.text(f"UPDATE {rule.table} x SET {sets} FROM {found.source} r WHERE {rule.match}")
        ).rowcount
    # Every changed row was copied first; a row-keyed rule did exactly what it found.
    assert copied == done and (rule.by_value or done == found.count), (rule.id, copied, done)
    if rule.by_value:
        found.count = int(done or 0)
    return int(done or 0)


# --- rules derived from the head schema ---------------------------------------------------


def _key(table: sa.Table) -> str:
    return next(iter(table.primary_key.columns)).name


def orphan_rules() -> list[Rule]:
    """A rule per head foreign key column: orphaned values set to NULL, or the row quarantined."""
    rules = []
    seen = set()
    for name in KEPT:
        table = _SCHEMA_0002.tables[name]
        if len(table.primary_key.columns) != 1:
            continue  # user_player_associations: handled by its own rule below
        key = _key(table)
        for fk in sorted(table.foreign_key_constraints, key=lambda c: str(c.name)):
            lead = next(iter(fk.columns))
            element = next(iter(fk.elements))
            ref, ref_col = element.column.table.name, element.column.name
            if (name, lead.name) in seen or ref not in KEPT:
                continue
            seen.add((name, lead.name))
            select = (
                f"SELECT x.{key} AS row_id, x.{lead.name} AS old_value, "
                f"'{lead.name} ' || x.{lead.name} || ' -> ' || "
                f"{{becomes}} AS becomes FROM {name} x WHERE x.{lead.name} IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM {ref} p WHERE p.{ref_col} = x.{lead.name})"
            )
            keep = lead.nullable and (name, lead.name) not in _MEANINGLESS_WITHOUT
            kind = f"{name}.{lead.name} refers to a {ref} row that does not exist"
            if keep:
                rules.append(
                    Rule(
                        f"orphan-{name}-{lead.name}",
                        kind,
                        name,
                        CHANGED,
                        f"set {lead.name} to NULL; the row keeps its other columns",
                        select.format(becomes="'NULL'") + f" AND x.{key} IS NOT NULL",
                        sets=((lead.name, "NULL"),),
                        match=f"r.row_id = x.{key}",
                    )
                )
            else:
                rules.append(
                    Rule(
                        f"orphan-{name}-{lead.name}",
                        kind,
                        name,
                        DELETED,
                        f"quarantine the row (it means nothing without its {_ONE.get(ref, ref)})",
                        select.format(becomes="'quarantined'"),
                        match=f"r.row_id = x.{key}",
                    )
                )
    rules.append(
        Rule(
            "orphan-user_player_associations-user_id",
            "user_player_associations.user_id refers to a users row that does not exist",
            "user_player_associations",
            DELETED,
            "quarantine the row (it means nothing without its user)",
            "SELECT x.user_id || ':' || x.tenniscores_player_id AS row_id, x.user_id, "
            "x.tenniscores_player_id AS tpid, 'quarantined' AS becomes "
            "FROM user_player_associations x WHERE NOT EXISTS "
            "(SELECT 1 FROM users u WHERE u.id = x.user_id)",
            match="r.user_id = x.user_id AND r.tpid = x.tenniscores_player_id",
        )
    )
    return rules


def check_rules() -> list[Rule]:
    """A rule per head CHECK constraint on legacy columns: violating rows are quarantined."""
    rules = []
    for name in KEPT:
        table = _SCHEMA_0002.tables[name]
        for ck in table.constraints:
            if not isinstance(ck, sa.CheckConstraint):
                continue
            text = str(ck.sqltext)
            if any(col in text for col in _FILLED_BY_UPGRADE):
                continue
            key = _key(table)
            rules.append(
                Rule(
                    f"check-{name}-{ck.name}",
                    f"{name} rows that break CHECK ({text})",
                    name,
                    DELETED,
                    "quarantine the row (no value can be guessed for it)",
                    f"SELECT x.{key} AS row_id, 'quarantined' AS becomes FROM {name} x "
                    f"WHERE NOT COALESCE(({text}), true)",
                    match=f"r.row_id = x.{key}",
                )
            )
    return rules


def later_rules(extras: Sequence[ExtraTable], *, assign: int | None) -> list[Rule]:
    """Every rule after the orphan passes, in the order they run."""
    return [
        *check_rules(),
        *conflict_rules(),
        *duplicate_rules(extras),
        *fill_rules(),
        *(unknown_rules(extras) if assign is None else []),
        *dangling_rules(extras),
        *unused_rules(extras),
    ]


def _merge(done: dict[str, Resolution], found: Resolution) -> None:
    if found.rule not in done:
        done[found.rule] = found
        return
    kept = done[found.rule]
    kept.count += found.count
    kept.samples = (kept.samples + found.samples)[:SAMPLES]


def run(
    conn: Connection,
    *,
    extras: Sequence[ExtraTable] = (),
    assign: int | None = None,
    target: str = quarantine.TABLE,
    log: Callable[[str], None] | None = None,
    strict: bool = True,
) -> list[Resolution]:
    """Find and apply every rule in order; return what each did (rules with no rows omitted).

    Orphan rules repeat while a pass deletes rows (a deletion can orphan other rows).
    `assign` is the numeric league id of --assign-unknown (None: unknown rows quarantined).
    Foreign keys of unknown tables onto deleted rows are released first (`release`).
    """
    done: dict[str, Resolution] = {}

    def one(rule: Rule) -> Resolution:
        released: list[Resolution] = []
        found = resolve_one(
            conn,
            rule,
            assign=assign,
            extras=extras,
            strict=strict,
            target=target,
            log=log,
            released=released,
        )
        for cleared in released:
            _merge(done, cleared)
        if found.count:
            _merge(done, found)
        return found

    in_order(one, extras=extras, assign=assign)
    return list(done.values())


def resolve_one(
    conn: Connection,
    rule: Rule,
    *,
    assign: int | None,
    extras: Sequence[ExtraTable] = (),
    strict: bool = True,
    target: str = quarantine.TABLE,
    log: Callable[[str], None] | None = None,
    released: list[Resolution] | None = None,
) -> Resolution:
    """Find and apply one rule in the caller's transaction; return what it did.

    Foreign keys of unknown tables onto the rows it deletes are released first (`release`);
    what that changed is appended to `released`.
    """
    found = find(conn, rule, {"assign": assign})
    if found.count:
        cleared = release(conn, rule, found, extras, strict=strict, target=target)
        if released is not None:
            released.extend(cleared)
        apply(conn, rule, found, target=target)
        if found.count and log:
            log(f"resolved {found.count} {rule.table} rows: {rule.kind} -> {rule.text}")
        conn.execute(sa.text(f"DROP TABLE {found.source}"))
    return found


def in_order(
    one: Callable[[Rule], Resolution], *, extras: Sequence[ExtraTable], assign: int | None
) -> None:
    """Call `one` for every rule in the order `run` applies them.

    `run` applies them all in the caller's transaction; the online upgrade gives each its own
    short transaction (a rule finds only what is still damaged, so a re-run after a kill
    resumes: the rules already committed find nothing).
    """
    for _ in range(MAX_ORPHAN_PASSES):
        deleted = [one(rule) for rule in orphan_rules()]
        if not any(f.count and f.action == DELETED for f in deleted):
            break
    for rule in later_rules(extras, assign=assign):
        one(rule)


def _released(extras: Sequence[ExtraTable], rule: Rule) -> list[tuple[ExtraTable, ExtraRef]]:
    """The foreign keys of unknown tables onto the rows a deleting `rule` removes."""
    if rule.action != DELETED or rule.match != "r.row_id = x.id":
        return []
    return [
        (table, ref)
        for table in extras
        for ref in table.refs
        if ref.target == rule.table and ref.constraint is not None
    ]


def release(
    conn: Connection,
    rule: Rule,
    found: Resolution,
    extras: Sequence[ExtraTable],
    *,
    strict: bool = True,
    target: str = quarantine.TABLE,
) -> list[Resolution]:
    """Before `rule` deletes rows: clear the unknown tables' foreign keys that point at them.

    A nullable reference is set to NULL (the row copied into the quarantine first), under the
    same rule id as `dangling_rules`, which does the same to references whose row is already
    gone: the plan, on copies without constraints, meets them there; the upgrade here, before
    the foreign key would refuse the delete. A NOT NULL reference is refused by name
    (`strict`, the upgrade); the plan reports it with the head checks instead.
    """
    done = []
    for table, ref in _released(extras, rule):
        rows = f"FROM {table.name} x JOIN {found.source} d ON d.row_id = x.{ref.column}"
        if not ref.nullable:
            count = conn.execute(sa.text(f"SELECT COUNT(*) {rows}")).scalar_one()
            if count and strict:
                raise StillReferenced(
                    f"Cannot upgrade: rule {rule.id} would quarantine {rule.table} rows that "
                    f"{count} rows of {table.name} still need ({table.name}.{ref.column} is NOT "
                    f"NULL, {ref.how}); fix or remove those rows first. Nothing was changed."
                )
            continue
        follow = null_reference(table, ref, rows)
        cleared = find(conn, follow)
        if cleared.count:
            apply(conn, follow, cleared, target=target)
            conn.execute(sa.text(f"DROP TABLE {cleared.source}"))
            done.append(cleared)
    return done


def describe(resolutions: Iterable[Resolution]) -> list[dict[str, Any]]:
    """JSON-ready list, for the plan."""
    return [r.as_dict() for r in resolutions]
