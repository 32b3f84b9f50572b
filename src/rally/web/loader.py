"""Run a read plan (rally.services.plan) the fastest way the backend allows.

PostgreSQL: awaited on one of the app's async psycopg connections, so the event loop serves
other requests during each round trip. SQLite: on the request's session in the thread pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from rally.services.plan import Plan, dialect_of, run, run_async
from rally.web.deps import request_session

T = TypeVar("T")


async def load(
    request: Request,
    db: Session | None,
    plan_for: Callable[[str], Plan[T]],
    answers: list[tuple[Any, ...]] | None = None,
    done: Callable[[], bool] | None = None,
) -> T:
    """Run the plan that `plan_for(dialect)` builds and return its result.

    Each query's rows are appended to `answers` when given, and `done` may end the plan
    early (see rally.services.plan.run and rally.web.page_cache).
    Without `db`, a session is opened for the plan where one is needed (SQLite).
    """
    pool = request.app.state.async_pool
    if pool is not None:
        async with pool.connection() as conn:
            return await run_async(conn, plan_for("postgresql"), answers, done)
    if db is None:
        async with request_session(request) as session:
            return await _run_in_thread(session, plan_for, answers, done)
    return await _run_in_thread(db, plan_for, answers, done)


async def _run_in_thread(
    db: Session,
    plan_for: Callable[[str], Plan[T]],
    answers: list[tuple[Any, ...]] | None,
    done: Callable[[], bool] | None,
) -> T:
    return await run_in_threadpool(lambda: run(db, plan_for(dialect_of(db)), answers, done))
