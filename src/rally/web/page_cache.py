"""Pages rendered once per distinct database answer.

A page is a pure function of what the database answered (the team page's JSON text, the
rows of a page's plan) and of a few inputs of the request (ids, the search text, whether
the viewer is signed in or is on the team). Rendering it through Jinja costs several times
the queries, so `render_page` keeps the rendered HTML in a small LRU cache keyed by the
database's answer itself (the JSON text, the rows) together with those inputs. The answer
is read on every request that `SnapshotCache` does not answer: a change in the database
changes the key and renders the page anew, so nothing ever needs invalidating and a page is
never stale.

The CSRF token (different for every browser) is the one per-viewer value a cached page may
contain: pages are rendered with a random per-process placeholder in its place and the
request's token is joined in.

On PostgreSQL, `SnapshotCache` goes one step further and skips the data statements
themselves while the database has not changed. Its key is the database's own snapshot,
`pg_current_snapshot()`: which transactions a statement sees is fully determined by it (the
highest completed transaction id, and those still in progress), so two reads under an equal
snapshot see equal data. It is read by its own statement *before* the data statements (in
autocommit each statement takes a newer snapshot), so what is kept under a snapshot is at
least as new as it (concurrent requests share that read, but only a read sent after each of
them came: `AsyncPool.snapshot`); and once a writing transaction ends, every later snapshot
differs from every earlier one, so nothing kept before a write can answer a request that
starts after it. No writer has to cooperate: imports, admin commands, an old application's
writes, even a `psql` session all end transactions the snapshot sees. The price is that any
write anywhere in the PostgreSQL cluster (any database) invalidates every kept answer: the
next request per key runs its statements again (and usually finds its page in `PageCache`).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from rally.services.plan import Answered, Plan
from rally.web.deps import csrf_token, remember_anon, signed_in
from rally.web.loader import load

T = TypeVar("T")

#: Pages kept per process, with the answers they were rendered from (pages are 4-30 kB,
#: their answers up to ~150 kB of Python objects): at most a few tens of MB.
SIZE = 512
#: Stands for the CSRF token in a cached page; random, so no page content can contain it.
_CSRF = "csrf" + secrets.token_hex(16)


#: Answers kept per process under the snapshot they were read after (pages of 4-30 kB, team
#: JSON documents of 5-60 kB on the real corpus): at most a few tens of MB.
SNAPSHOT_SIZE = 1024


def answer_key(answers: Iterable[Iterable[Any]]) -> tuple[tuple[Any, ...], ...]:
    """The rows of every query of a plan as one hashable value (a page's key compares equal
    only to the very same rows). Rows are kept as plain tuples: hashing and comparing them
    costs microseconds where a digest of their serialization costs a millisecond."""
    return tuple(tuple(map(tuple, rows)) for rows in answers)


class PageCache:
    """A bounded LRU of rendered pages, each split at the CSRF placeholder."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, list[str]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> list[str] | None:
        parts = self._pages.get(key)
        if parts is None:
            self.misses += 1
            return None
        self.hits += 1
        self._pages.move_to_end(key)
        return parts

    def peek(self, key: Hashable) -> list[str] | None:
        """The page of `key`, if kept (not counted, not refreshed)."""
        return self._pages.get(key)

    def put(self, key: Hashable, parts: list[str]) -> None:
        self._pages[key] = parts
        self._pages.move_to_end(key)
        while len(self._pages) > self.size:
            self._pages.popitem(last=False)


class SnapshotCache:
    """A bounded LRU of answers, each kept with the database snapshot it was read after."""

    def __init__(self, size: int = SNAPSHOT_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[str, Any]] = OrderedDict()
        #: Reads in progress (`shared`), by key and snapshot.
        self._reading: dict[tuple[Hashable, str], asyncio.Future[Any]] = {}
        self.hits = 0
        self.misses = 0
        #: Reads `shared` ran (the others waited for one of these).
        self.reads = 0

    def get(self, key: Hashable, snapshot: str | None) -> Any | None:
        """The answer kept for `key` if it was read under `snapshot` (None: never)."""
        entry = self._entries.get(key) if snapshot is not None else None
        if entry is None or entry[0] != snapshot:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: Hashable, snapshot: str | None, value: Any) -> None:
        """Keep `value`, read by statements that ran after `snapshot` was read."""
        if snapshot is None:
            return
        self._entries[key] = (snapshot, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    async def shared(
        self, key: Hashable, snapshot: str | None, read: Callable[[], Awaitable[T]]
    ) -> T:
        """The answer kept for `key` under `snapshot`, else `read()`'s, kept.

        Requests that miss under the same snapshot at the same time share one `read()`
        (when a write ends, every request in flight misses at once: without this each would
        run the same statement). A read that fails fails those waiting for it; one whose
        request went away (cancelled) lets the next waiter read instead.
        """
        value: T | None = self.get(key, snapshot)
        if value is not None:
            return value
        if snapshot is None:
            return await read()
        loop = asyncio.get_running_loop()
        flight = (key, snapshot)
        while (pending := self._reading.get(flight)) is not None and pending.get_loop() is loop:
            await asyncio.wait((pending,))  # this request's cancellation stays its own
            if not pending.cancelled():
                return pending.result()  # type: ignore[no-any-return]
        mine: asyncio.Future[Any] = loop.create_future()
        self._reading[flight] = mine
        try:
            self.reads += 1
            value = await read()
        except Exception as exc:
            mine.set_exception(exc)
            mine.exception()  # retrieved: no warning when nobody waited
            raise
        except BaseException:
            mine.cancel()
            raise
        else:
            self.put(key, snapshot, value)
            mine.set_result(value)
            return value
        finally:
            if self._reading.get(flight) is mine:
                del self._reading[flight]


async def request_snapshot(request: Request) -> str | None:
    """The primary database's snapshot, read after the request came (rally.web.aiodb), or
    None where there is none to read (SQLite). Read it before the data."""
    pool = request.app.state.async_pool
    if pool is None:
        return None
    return await pool.snapshot()  # type: ignore[no-any-return]


def render_page(
    request: Request,
    name: str,
    key: Hashable | None,
    context: Callable[[], dict[str, Any]],
    status_code: int = 200,
) -> Response:
    """Render template `name` (as pages.render does), reusing the HTML rendered for `key`.

    `key` must hold everything the page depends on besides the CSRF token and whether a
    user is signed in (added here): the database's answer and the request's inputs.
    `context()` is called on a miss only. With `key` None the page is always rendered.
    """
    return respond(request, page_parts(request, name, key, context), status_code)


def page_parts(
    request: Request, name: str, key: Hashable | None, context: Callable[[], dict[str, Any]]
) -> list[str]:
    """The page `render_page` answers, split at the CSRF placeholder."""
    user = signed_in(request)
    cache: PageCache = request.app.state.page_cache
    full_key = (name, user is not None, key)
    try:
        parts = cache.get(full_key) if key is not None else None
    except TypeError:  # an unhashable value in the answer (a list): render every time
        key = None
        parts = None
    if parts is None:
        template = request.app.state.templates.get_template(name)
        values = {"request": request, "csrf": _CSRF, "user": user, **context()}
        parts = template.render(values).split(_CSRF)
        if key is not None:
            cache.put(full_key, parts)
    return parts


def respond(request: Request, parts: list[str], status_code: int = 200) -> Response:
    """Answer a page kept as parts, with this request's CSRF token joined in."""
    response = HTMLResponse(csrf_token(request).join(parts), status_code=status_code)
    remember_anon(request, response)
    return response


class PlanPage:
    """A page rendered from a plan's rows (rally.services.plan): collects the rows and ends
    the plan, before it shapes its result, as soon as a page rendered from the same rows is
    kept. Use: ``load(request, None, plan_for, page.answers, page.done)``, then
    `page.respond()` on `Answered`, else `render_page(request, name, page.key(), ...)`."""

    def __init__(self, request: Request, name: str, inputs: Hashable) -> None:
        self.request = request
        self.name = name
        self.inputs = inputs
        self.answers: list[tuple[Any, ...]] = []
        self._signed_in = signed_in(request) is not None
        self._found: list[str] | None = None

    def key(self) -> Hashable:
        """The key `render_page` takes: the request's inputs and the rows."""
        return (self.inputs, answer_key(self.answers))

    def done(self) -> bool:
        """Tell whether a page was rendered from the rows read so far (a plan is
        deterministic: the same rows so far, the same remaining queries and page)."""
        cache: PageCache = self.request.app.state.page_cache
        try:
            self._found = cache.peek((self.name, self._signed_in, self.key()))
        except TypeError:  # an unhashable value in the rows: no early end
            return False
        return self._found is not None

    def found(self) -> list[str]:
        """The kept page's parts, after `done()` said True."""
        assert self._found is not None
        cache: PageCache = self.request.app.state.page_cache
        cache.get((self.name, self._signed_in, self.key()))  # counted and refreshed
        return self._found

    def respond(self) -> Response:
        """The kept page, after `done()` said True."""
        return respond(self.request, self.found())


async def plan_page(
    request: Request,
    name: str,
    inputs: Hashable,
    plan_for: Callable[[str], Plan[T]],
    context: Callable[[T], dict[str, Any]],
) -> Response:
    """Answer template `name` rendered from a plan's result (rally.services.plan).

    On PostgreSQL, while the database's snapshot is the one a kept page was read after,
    the page is answered without running the plan (`SnapshotCache`); otherwise the plan runs
    and ends early when a page rendered from the same rows is kept (`PlanPage`), and only
    then is the page rendered, from `context(result)`.
    """
    kept: SnapshotCache = request.app.state.snapshot_cache
    now = await request_snapshot(request)
    key = (name, signed_in(request) is not None, inputs)
    parts: list[str] | None = kept.get(key, now)
    if parts is None:
        probe = PlanPage(request, name, inputs)
        try:
            result = await load(request, None, plan_for, probe.answers, probe.done)
        except Answered:
            parts = probe.found()
        else:
            parts = page_parts(request, name, probe.key(), lambda: context(result))
        kept.put(key, now, parts)
    return respond(request, parts)
