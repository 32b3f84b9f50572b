"""Integrity checks an operator runs after any change (`rally db verify`).

The league checks are derived from the schema: every composite foreign key that carries
``league_id`` (e.g. ``teams (series_id, league_id) -> series (id, league_id)``) becomes a check
that the referenced row exists and agrees on every shared column. On a database at head the
constraints already guarantee this; the checks prove it, and they catch what a constraint
cannot see (constraints dropped by hand, data written while they were off).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from rally.db.state import head_revision, inspect_state
from rally.models import Base

SAMPLE_LIMIT = 5


@dataclass
class CheckResult:
    """The outcome of one integrity check."""

    name: str
    description: str
    violations: int
    samples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    quarantined: int | None = None  # set on the quarantine information entry only

    @property
    def ok(self) -> bool:
        """Tell whether the check passed."""
        return self.violations == 0 and self.error is None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        data = asdict(self)
        data["ok"] = self.ok
        return data


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    sql: str  # selects violating rows


def _row_key(table: sa.Table) -> str:
    return next(iter(table.primary_key.columns)).name


def _composite_checks() -> list[Check]:
    checks = []
    for table in Base.metadata.sorted_tables:
        for fk in sorted(table.foreign_key_constraints, key=lambda c: str(c.name)):
            local = [c.name for c in fk.columns]
            if "league_id" not in local or len(local) < 2:
                continue
            remote = [e.column.name for e in fk.elements]
            ref, lead = fk.referred_table.name, local[0]
            # A NULL league on a row that references something also fails: it cannot agree.
            agree = " AND ".join(
                f"p.{r} = c.{lc}" for lc, r in zip(local[1:], remote[1:], strict=True)
            )
            checks.append(
                Check(
                    name=f"{table.name}.{lead} same league",
                    description=(
                        f"{table.name} rows whose {lead} is not a {ref} row "
                        f"with the same {', '.join(local[1:])}"
                    ),
                    sql=(
                        f"SELECT c.{_row_key(table)} AS row_id, c.{lead} AS ref_id, "
                        f"c.league_id AS league_id FROM {table.name} c "
                        f"WHERE c.{lead} IS NOT NULL AND NOT EXISTS "
                        f"(SELECT 1 FROM {ref} p WHERE p.{remote[0]} = c.{lead} AND {agree})"
                    ),
                )
            )
    return checks


def _orphan_checks() -> list[Check]:
    checks = []
    for table in Base.metadata.sorted_tables:
        key = _row_key(table)
        for fk in table.foreign_key_constraints:
            if len(fk.columns) != 1:
                continue
            (column,) = (c.name for c in fk.columns)
            (element,) = fk.elements
            ref, ref_col = element.column.table.name, element.column.name
            checks.append(
                Check(
                    name=f"{table.name}.{column} orphaned",
                    description=f"{table.name} rows whose {column} has no {ref} row",
                    sql=(
                        f"SELECT c.{key} AS row_id, c.{column} AS ref_id FROM {table.name} c "
                        f"WHERE c.{column} IS NOT NULL AND NOT EXISTS "
                        f"(SELECT 1 FROM {ref} p WHERE p.{ref_col} = c.{column})"
                    ),
                )
            )
    return checks


def checks() -> list[Check]:
    """Return every integrity check, in the order they are reported."""
    return [
        Check(
            "series without league",
            "series rows with no league, or a league that does not exist",
            "SELECT s.id AS row_id, s.name AS name FROM series s "
            "LEFT JOIN leagues l ON l.id = s.league_id WHERE l.id IS NULL",
        ),
        Check(
            "duplicate series per league",
            "series names that appear more than once in one league",
            "SELECT name, league_id, COUNT(*) AS copies FROM series "
            "GROUP BY name, league_id HAVING COUNT(*) > 1",
        ),
        Check(
            "context series is team's series",
            "user contexts whose series or league is not their team's",
            "SELECT c.user_id AS row_id, c.team_id, c.series_id, c.league_id "
            "FROM user_contexts c JOIN teams t ON t.id = c.team_id "
            "WHERE t.series_id IS DISTINCT FROM c.series_id "
            "OR t.league_id IS DISTINCT FROM c.league_id",
        ),
        *_composite_checks(),
        *_orphan_checks(),
    ]


def _expected_constraints() -> dict[str, set[str]]:
    expected: dict[str, set[str]] = {}
    for table in Base.metadata.sorted_tables:
        names = expected.setdefault(table.name, set())
        for constraint in table.constraints:
            if isinstance(constraint, sa.PrimaryKeyConstraint):
                continue
            names.add(str(constraint.name))
    return expected


def _present_constraints(conn: Connection, table: str) -> set[str]:
    inspector = sa.inspect(conn)
    present = {str(fk["name"]) for fk in inspector.get_foreign_keys(table)}
    present |= {str(uq["name"]) for uq in inspector.get_unique_constraints(table)}
    present |= {str(ck["name"]) for ck in inspector.get_check_constraints(table)}
    return present


def missing_constraints_check(conn: Connection) -> CheckResult:
    """Report head constraints that the database lacks."""
    existing = set(sa.inspect(conn).get_table_names())
    samples = []
    for table, names in _expected_constraints().items():
        if table not in existing:
            samples.append({"table": table, "constraint": "(table missing)"})
            continue
        for name in sorted(names - _present_constraints(conn, table)):
            samples.append({"table": table, "constraint": name})
    return CheckResult(
        "missing constraints",
        "head constraints (by name) absent from the database",
        len(samples),
        samples[:SAMPLE_LIMIT],
    )


def _run(conn: Connection, check: Check) -> CheckResult:
    count_sql = f"SELECT COUNT(*) FROM ({check.sql}) AS v"
    # A savepoint keeps one failing query from aborting the caller's transaction.
    with conn.begin_nested():
        violations = int(conn.execute(sa.text(count_sql)).scalar_one())
        samples = []
        if violations:
            rows = conn.execute(sa.text(f"{check.sql} LIMIT {SAMPLE_LIMIT}")).mappings()
            samples = [dict(r) for r in rows]
    return CheckResult(check.name, check.description, violations, samples)


def _extra_checks(conn: Connection) -> list[Check]:
    """References of tables Rally does not know (found by `rally.legacy.extra`)."""
    from rally.legacy.extra import discover  # the legacy package imports the models too
    from rally.legacy.headcheck import extra_checks

    return [
        Check(f"unknown table: {c.name}", c.name, c.sql.replace(" AS k ", " AS row_id "))
        for c in extra_checks(discover(conn, count_rows=False))
    ]


def quarantine_info(conn: Connection) -> CheckResult | None:
    """What legacy_quarantine holds: information (a count), never a failure."""
    if "legacy_quarantine" not in sa.inspect(conn).get_table_names():
        return None
    rows = conn.execute(
        sa.text(
            "SELECT table_name, reason, COUNT(*) AS n FROM legacy_quarantine "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        )
    ).all()
    total = sum(int(n) for _, _, n in rows)
    result = CheckResult(
        "quarantine (information)",
        f"{total} legacy rows kept in legacy_quarantine (`rally db quarantine` lists them); "
        "not a failure",
        0,
        [{"table": t, "reason": r, "rows": int(n)} for t, r, n in rows][:SAMPLE_LIMIT],
    )
    result.quarantined = total
    return result


def run_checks(conn: Connection) -> list[CheckResult]:
    """Run every check on `conn` (inside the caller's transaction) and return the results."""
    state = inspect_state(conn)
    head = head_revision()
    if state.kind != "rally" or state.revision != head:
        return [
            CheckResult(
                "schema at head",
                f"the database is at revision {head}",
                1,
                [{"found": state.describe}],
            )
        ]
    results = [CheckResult("schema at head", f"the database is at revision {head}", 0)]
    results += [_run(conn, check) for check in [*checks(), *_extra_checks(conn)]]
    results.append(missing_constraints_check(conn))
    info = quarantine_info(conn)
    if info is not None:
        results.append(info)
    return results
