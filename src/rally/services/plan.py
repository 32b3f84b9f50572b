"""Read services written once, run on an ORM session or on an async psycopg connection.

A *plan* is a generator that yields ``(statement, params)`` and receives the rows, then
returns its result. `run` drives it on a Session (both backends, the services' usual way);
`run_async` drives the same plan on one of the web app's autocommit psycopg connections, so
the hot pages await their queries instead of blocking the event loop, without a second copy
of the queries or of the code that shapes their rows.

Statements given to `run_async` must be built once (module-level or cached) because their
PostgreSQL text is compiled once per statement object; they must not use expanding IN
parameters.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Generator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")
Query = tuple[Any, Mapping[str, Any]]
Plan = Generator[Query, list[Any], T]

_DIALECT = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
_COMPILED: dict[int, tuple[Any, str, dict[str, Any]]] = {}
#: The row type of each statement's text (False: it returns no rows).
_ROW_MAKERS: dict[str, Any] = {}


def dialect_of(session: Session) -> str:
    """Return the session's backend name ("postgresql" or "sqlite")."""
    return session.get_bind().dialect.name


class Answered(Exception):
    """Raised by `run`/`run_async` when `done()` says the answers so far are enough."""


def run(
    session: Session,
    plan: Plan[T],
    answers: list[tuple[Any, ...]] | None = None,
    done: Callable[[], bool] | None = None,
) -> T:
    """Run a plan on a Session; append each query's rows to `answers` when given.

    After each query, `done()` (when given) may end the plan before it shapes its result:
    `Answered` is raised (a page already rendered from the same answers, see
    rally.web.page_cache). A plan is deterministic, so equal answers mean an equal result.
    """
    try:
        statement, params = next(plan)
        while True:
            # Core statements on the session's connection: no ORM result processing.
            rows = list(session.connection().execute(statement, dict(params)).all())
            if answers is not None:
                answers.append(tuple(rows))
                if done is not None and done():
                    plan.close()
                    raise Answered
            statement, params = plan.send(rows)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


@lru_cache(maxsize=256)
def _row_type(names: tuple[str, ...]) -> Any:
    # rename: unlabelled duplicates ("id", "name") become _3, _7...; labels keep their names.
    return namedtuple("Row", names, rename=True)


def _compiled(statement: Any) -> tuple[str, dict[str, Any]]:
    entry = _COMPILED.get(id(statement))
    if entry is None or entry[0] is not statement:
        compiled = statement.compile(dialect=_DIALECT)
        # Keep the statement alive with its text so its id cannot be reused by another.
        entry = (statement, str(compiled), dict(compiled.params))
        _COMPILED[id(statement)] = entry
    return entry[1], entry[2]


async def run_async(
    connection: psycopg.AsyncConnection[Any],
    plan: Plan[T],
    answers: list[tuple[Any, ...]] | None = None,
    done: Callable[[], bool] | None = None,
) -> T:
    """Run a plan on an autocommit psycopg connection (PostgreSQL), each query prepared.

    Each query's rows are appended to `answers` when given; `done` as in `run`.
    """
    try:
        statement, params = next(plan)
        while True:
            sql, defaults = _compiled(statement)
            cursor = await connection.execute(sql, {**defaults, **params}, prepare=True)
            make: Any = _ROW_MAKERS.get(sql)
            if make is None:
                # Rows read by column name too, as SQLAlchemy's (records.to_record does). A
                # statement's columns never change: its row type is made once (building
                # `cursor.description` costs as much as reading the rows).
                description = cursor.description
                make = _row_type(tuple(c.name for c in description)) if description else False
                _ROW_MAKERS[sql] = make
            rows = [make._make(row) for row in await cursor.fetchall()] if make else []
            if answers is not None:
                answers.append(tuple(rows))
                if done is not None and done():
                    plan.close()
                    raise Answered
            statement, params = plan.send(rows)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
