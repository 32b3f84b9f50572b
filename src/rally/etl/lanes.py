"""Two lanes: small leagues read and loaded by two processes at once (PostgreSQL).

Reading a league is Python work (parsing, validating) and so is making its rows; loading
also waits on the database (COPY, foreign key checks, commit). One process does one of
these at a time, on one core, however many threads it has. For a corpus of at most
OVERLAP_ROWS rows the import forks once after the files are checked: the parent reads and
loads some leagues, the child the others (each league in its own transaction, as always),
so that the Python work of two leagues and the database's work run on two cores. At scale
the leagues load one after the other in one process (two leagues' read state at once would
double the memory).

Clubs are shared by the leagues: each league's clubs are committed ahead of its own
transaction (SharedClubs), so that two leagues naming the same new club never wait for
each other. The child tells the parent everything through a pipe: progress, each league's
outcome, the clubs it inserted; the parent reports the leagues in league order.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection as Pipe
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from rally.etl.guard import ShrinkGuard
from rally.etl.progress import ImportProgress

if TYPE_CHECKING:
    from rally.etl.plan import LeaguePlan
    from rally.etl.report import LeagueReport
    from rally.etl.scan import FileScan

League = tuple["LeagueReport", list["FileScan"]]


class SharedClubs:
    """Clubs committed ahead of each league's own transaction (see
    rally.etl.loader.ensure_clubs); those a failed league leaves unused are deleted at the
    end (drop_unused)."""

    def __init__(self, engine: Engine, relay: _Relay | None = None) -> None:
        self.engine = engine
        self.created: dict[str, int] = {}
        self.lock = threading.Lock()
        #: In the second process: each club inserted is told to the parent at once (it
        #: deletes them if their league fails, even if this process dies).
        self.relay = relay

    def ensure(self, plan: LeaguePlan) -> set[str]:
        """Commit the plan's clubs missing from the database; return the keys inserted."""
        from rally.etl.loader import ensure_clubs

        with self.engine.begin() as connection:
            created = ensure_clubs(connection, plan.clubs)
        with self.lock:
            self.created.update(created)
        if created and self.relay is not None:
            self.relay.send("clubs", (created,))
        return set(created)

    def drop_unused(self) -> None:
        """Delete the clubs inserted here that no league links to (kept if referenced)."""
        from rally.etl.loader import drop_unused_clubs

        if not self.created:
            return
        try:
            with self.engine.begin() as connection:
                drop_unused_clubs(connection, self.created.values())
        except Exception:  # still referenced by rows Rally does not know: kept
            return


class _Held(ImportProgress):
    """Progress passed on at once, but for ``finished``: the leagues are reported in
    league order once both lanes are done."""

    def __init__(self, progress: ImportProgress) -> None:
        self.progress = progress
        self.lock = threading.Lock()

    def read(self, *args: Any) -> None:
        with self.lock:
            self.progress.read(*args)

    def load(self, *args: Any) -> None:
        with self.lock:
            self.progress.load(*args)

    def finished(self, league: str, result: LeagueReport) -> None:
        pass


class _Relay(ImportProgress):
    """The child's progress and outcomes, sent to the parent through the pipe.

    Its threads (the reader's progress, the loader's steps) send one message at a time: a
    pipe write is not atomic past a few KiB, and two interleaved messages could not be read.
    """

    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe
        self.lock = threading.Lock()

    def send(self, what: str, args: tuple[Any, ...]) -> None:
        """Send one message to the parent."""
        with self.lock:
            self.pipe.send((what, args))

    def read(self, *args: Any) -> None:
        self.send("read", args)

    def load(self, *args: Any) -> None:
        self.send("load", args)

    def finished(self, league: str, result: LeagueReport) -> None:
        self.send("finished", (league, result))


def split(leagues: Sequence[League], rows: Sequence[int]) -> tuple[list[int], list[int]]:
    """Share the leagues to read between two lanes, biggest first to the lighter lane;
    each lane's leagues in league order."""
    lanes: tuple[list[int], list[int]] = ([], [])
    load = [0, 0]
    reading = [i for i, (result, _mine) in enumerate(leagues) if not result.unchanged_input]
    for index in sorted(reading, key=lambda i: -rows[i]):
        lane = 0 if load[0] <= load[1] else 1
        lanes[lane].append(index)
        load[lane] += rows[index]
    return sorted(lanes[0]), sorted(lanes[1])


def _child(
    pipe: Pipe,
    engine: Engine,
    leagues: Sequence[League],
    strict: bool,
    guard: ShrinkGuard,
) -> None:
    """The second lane, in the forked process: load its leagues, tell the parent."""
    from rally.etl.importer import pipeline

    relay = _Relay(pipe)
    clubs = SharedClubs(engine, relay)
    try:
        pipeline(engine, leagues, relay, dry_run=False, strict=strict, guard=guard, clubs=clubs)
    except BaseException as exc:  # told to the parent, which raises it
        _tell(relay, exc)
    finally:
        pipe.close()


def _tell(relay: _Relay, exc: BaseException) -> None:
    """Send an error to the parent; nothing if the parent is gone (a closed pipe: its
    league's transaction was rolled back when the next message failed)."""
    for error in (exc, RuntimeError(f"{type(exc).__name__}: {exc}")):
        try:
            relay.send("error", (error,))
            return
        except (OSError, EOFError):
            return
        except Exception:  # the error cannot be pickled: send its text
            continue


def in_two_lanes(
    engine: Engine,
    leagues: Sequence[League],
    rows: Sequence[int],
    progress: ImportProgress,
    *,
    strict: bool,
    guard: ShrinkGuard,
) -> None:
    """Read and load the leagues in two processes (see the module docstring)."""
    import multiprocessing

    from rally.etl.importer import pipeline

    mine, theirs = split(leagues, rows)
    clubs = SharedClubs(engine)
    held = _Held(progress)
    # The child must not share a pooled connection: none is open when it starts.
    engine.dispose()
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_child,
        args=(send, engine, [leagues[i] for i in theirs], strict, guard),
        name="rally-lane",
        daemon=True,
    )
    try:
        child.start()
    except OSError:  # no second process (memory, limits): one after the other
        send.close()
        receive.close()
        pipeline(engine, leagues, progress, dry_run=False, strict=strict, guard=guard)
        return
    send.close()
    outcome: dict[str, Any] = {}
    by_league = {leagues[i][0].league: leagues[i][0] for i in theirs}

    def listen() -> None:
        try:
            take()
        except BaseException as exc:  # what the child sent cannot be read: stop it
            outcome["lost"] = (
                f"the import's second process could not be followed ({type(exc).__name__}: "
                f"{exc}) and was stopped"
            )
            child.terminate()

    def take() -> None:
        # Everything the child tells, until it closes the pipe (or dies).
        while True:
            try:
                what, args = receive.recv()
            except (EOFError, OSError):
                return
            if what == "finished":
                league, result = args
                by_league[league].__dict__.update(result.__dict__)
            elif what == "clubs":
                with clubs.lock:
                    clubs.created.update(args[0])
            elif what == "error":
                outcome[what] = args[0]
            else:
                getattr(held, what)(*args)

    listener = threading.Thread(target=listen, name="rally-lane-listen", daemon=True)
    listener.start()
    try:
        pipeline(
            engine,
            [leagues[i] for i in mine],
            held,
            dry_run=False,
            strict=strict,
            guard=guard,
            clubs=clubs,
        )
        listener.join()
        child.join()
    except BaseException:
        child.terminate()
        child.join()
        listener.join()  # the pipe is closed: what the child told is taken in
        raise
    finally:
        if any(not result.committed for result, _mine in leagues if not result.unchanged_input):
            clubs.drop_unused()
        receive.close()
    if "error" in outcome:
        raise outcome["error"]
    for index in theirs:
        result = leagues[index][0]
        if not result.committed and result.error is None and (child.exitcode or "lost" in outcome):
            ended = f"the import's second process ended with exit code {child.exitcode}"
            result.error = (
                f"{outcome.get('lost', ended)}; run the import again (a league it committed "
                "before it ended is then skipped as unchanged)"
            )
    for result, _mine in leagues:
        progress.finished(result.league, result)
