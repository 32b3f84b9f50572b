"""The head schema's constraints as queries, run against legacy data as it is after the split.

Every NOT NULL column, unique constraint, foreign key (composite league keys included) and
CHECK constraint that ``rally.models`` declares on a table the upgrade keeps becomes one
query selecting the rows that would break it; so does every reference of a table Rally does
not know (`rally.legacy.extra`: no dangling id, no series of another league than the row's,
no unique constraint over a reference broken by a moved reference).
The plan runs them on its dry-run copies and lists what they find as blockers; the upgrade
runs them before creating the constraints and, should anything remain, stops with a sentence
naming the check, the table and the rows, so it never fails on a raw driver error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.sql.schema import ColumnCollectionConstraint

from rally.db.migrations.schema_0002 import metadata_0002
from rally.legacy.extra import ExtraTable
from rally.legacy.rules import KEPT

SAMPLES = 10

# The data step runs inside revision 0002, so it answers to the schema as 0002 creates it
# (frozen), not to the live models: a later revision's columns do not exist yet.
_SCHEMA_0002 = metadata_0002()


@dataclass(frozen=True)
class HeadCheck:
    """One head constraint as a query that returns the key of every row breaking it."""

    name: str
    table: str
    sql: str


@dataclass
class Violation:
    """Rows that a head constraint would refuse."""

    check: str
    table: str
    count: int
    ids: list[str]

    def sentence(self) -> str:
        """The violation in words."""
        more = f" and {self.count - len(self.ids)} more" if self.count > len(self.ids) else ""
        return (
            f"{self.count} {self.table} rows break {self.check} "
            f"(rows {', '.join(self.ids)}{more}); no resolution rule covers them"
        )


def _key(table: sa.Table, alias: str = "x") -> str:
    cols = [c.name for c in table.primary_key.columns]
    return " || ':' || ".join(f"CAST({alias}.{c} AS text)" for c in cols)


def head_checks() -> list[HeadCheck]:
    """Every head constraint of the kept tables, derived from the models."""
    out = []
    for name in KEPT:
        table = _SCHEMA_0002.tables[name]
        key = _key(table)
        pk = {c.name for c in table.primary_key.columns}
        for column in table.columns:
            if not column.nullable and column.name not in pk:
                out.append(
                    HeadCheck(
                        f"NOT NULL {name}.{column.name}",
                        name,
                        f"SELECT {key} AS k FROM {name} x WHERE x.{column.name} IS NULL",
                    )
                )
        for constraint in table.constraints:
            if not isinstance(constraint, ColumnCollectionConstraint):
                continue
            cols = [c.name for c in constraint.columns]
            if isinstance(constraint, sa.UniqueConstraint):
                listed = ", ".join(f"x.{c}" for c in cols)
                not_null = " AND ".join(f"x.{c} IS NOT NULL" for c in cols)
                out.append(
                    HeadCheck(
                        f"UNIQUE {name} ({', '.join(cols)}) [{constraint.name}]",
                        name,
                        f"SELECT {key} AS k FROM {name} x WHERE {not_null} AND ({listed}) IN "
                        f"(SELECT {listed} FROM {name} x WHERE {not_null} GROUP BY {listed} "
                        "HAVING COUNT(*) > 1)",
                    )
                )
            elif isinstance(constraint, sa.ForeignKeyConstraint):
                ref = constraint.referred_table.name
                if ref not in KEPT:
                    continue
                remote = [e.column.name for e in constraint.elements]
                not_null = " AND ".join(f"x.{c} IS NOT NULL" for c in cols)
                agree = " AND ".join(f"p.{r} = x.{c}" for c, r in zip(cols, remote, strict=True))
                out.append(
                    HeadCheck(
                        f"FOREIGN KEY {name} ({', '.join(cols)}) -> {ref} "
                        f"({', '.join(remote)}) [{constraint.name}]",
                        name,
                        f"SELECT {key} AS k FROM {name} x WHERE {not_null} AND NOT EXISTS "
                        f"(SELECT 1 FROM {ref} p WHERE {agree})",
                    )
                )
            elif isinstance(constraint, sa.CheckConstraint):
                text = str(constraint.sqltext)
                out.append(
                    HeadCheck(
                        f"CHECK ({text}) [{constraint.name}]",
                        name,
                        f"SELECT {key} AS k FROM {name} x WHERE NOT COALESCE(({text}), true)",
                    )
                )
    return out


def extra_checks(extras: Sequence[ExtraTable]) -> list[HeadCheck]:
    """References of tables Rally does not know: no dangling id, no series of another league."""
    out = []
    for table in extras:
        key = f"CAST(x.{table.key} AS text)" if table.key else "CAST(x.ctid AS text)"
        for name, cols in table.uniques:
            listed = ", ".join(f"x.{c}" for c in cols)
            not_null = " AND ".join(f"x.{c} IS NOT NULL" for c in cols)
            out.append(
                HeadCheck(
                    f"UNIQUE {table.name} ({', '.join(cols)}) [{name}]",
                    table.name,
                    f"SELECT {key} AS k FROM {table.name} x WHERE {not_null} AND ({listed}) IN "
                    f"(SELECT {listed} FROM {table.name} x WHERE {not_null} GROUP BY {listed} "
                    "HAVING COUNT(*) > 1)",
                )
            )
        for ref in table.refs:
            out.append(
                HeadCheck(
                    f"{table.name}.{ref.column} refers to an existing {ref.target} row",
                    table.name,
                    f"SELECT {key} AS k FROM {table.name} x WHERE x.{ref.column} IS NOT NULL "
                    f"AND NOT EXISTS (SELECT 1 FROM {ref.target} p WHERE p.id = x.{ref.column})",
                )
            )
            if ref.target != "series":
                continue
            joins, league, _how = table.league_sql("x")
            if league == "CAST(NULL AS integer)":
                continue
            out.append(
                HeadCheck(
                    f"{table.name}.{ref.column} is a series of the row's own league",
                    table.name,
                    f"SELECT {key} AS k FROM {table.name} x {joins} "
                    f"JOIN series s ON s.id = x.{ref.column} "
                    f"WHERE {league} IS NOT NULL AND s.league_id <> {league}",
                )
            )
    return out


def violations(conn: Connection, extras: Sequence[ExtraTable] = ()) -> list[Violation]:
    """Run every check; return the ones with rows (sample keys in key order)."""
    found = []
    for check in [*head_checks(), *extra_checks(extras)]:
        count, ids = conn.execute(
            sa.text(f"SELECT COUNT(*), (array_agg(k ORDER BY k))[1:{SAMPLES}] FROM ({check.sql}) v")
        ).one()
        if count:
            found.append(Violation(check.name, check.table, int(count), list(ids)))
    return found
