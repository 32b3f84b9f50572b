"""Import league files into a database: league by league, file by file, each league in its
own transaction.

The files are first checked (fingerprinted, and scanned for which leagues they hold unless
the database already knows them). Then each league is read from the files holding its
rows, validated, loaded and committed: memory holds a league's read state (or two small
leagues' while one loads and the next is read, see pipeline), never every file. A
league whose files are exactly those of its last successful import is skipped (nothing
read, nothing rewritten). Small corpora on PostgreSQL load in two processes, some leagues
each (rally.etl.lanes).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from rally.errors import RallyError
from rally.etl.fingerprints import FileRecord, Fingerprints, load_fingerprints, paused_gc
from rally.etl.guard import ShrinkGuard
from rally.etl.progress import ImportProgress as ImportProgress
from rally.etl.report import ImportReport, LeagueReport
from rally.etl.scan import FileScan as FileScan
from rally.etl.scan import scan_file as scan_file
from rally.etl.scan import scan_paths
from rally.leagues import league_name, league_order

if TYPE_CHECKING:
    from rally.etl.lanes import SharedClubs
    from rally.etl.loader import Records
    from rally.etl.plan import LeaguePlan
    from rally.etl.reader import ParsedCorpus
    from rally.etl.records import Kind, Reject
    from rally.etl.spool import Spool

# The reader (pydantic models) and the loader (ORM models) are imported where a league is
# actually read: a re-import of unchanged files never needs them, and `rally` starts faster.

#: The entity a rejected row of each kind ("players", ...) would have become.
KIND_ENTITY = {
    "players": "players",
    "standings": "series_stats",
    "schedule": "schedule",
    "matches": "match_scores",
}


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, RallyError):
        return str(exc)
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__


@dataclass
class LeagueRead:
    """One league read from its files: records spooled per kind, its teams, rejects."""

    records: dict[Kind, Spool]
    plan: LeaguePlan
    rejects: list[Reject]
    warnings: list[Reject]
    files: list[FileRecord]

    def close(self) -> None:
        """Delete the spooled records."""
        for spool in self.records.values():
            spool.close()


_KIND_ORDER = ("players", "standings", "schedule", "matches")


#: A league is read while the one before it loads only when both together hold at most this
#: many rows, and small corpora load in two processes (rally.etl.lanes) only up to it: each
#: row costs some 100-150 bytes of lookups while it is read or loaded, and two threads'
#: allocations interleave. A league's own match results are read while the rest of it
#: loads at any size: that read adds one 16-byte key digest per row next to the load (the
#: records go to disk): the peak at scale 100 went from 375 to 392 MiB with it.
OVERLAP_ROWS = 250_000

#: Whether small corpora are loaded by two processes at once on PostgreSQL (rally.etl.lanes);
#: tests that count what one process does turn it off.
LANES = True

#: A league's records of its first kinds (rosters, standings, schedules) and its teams.
_Part = tuple[dict["Kind", Any], "LeaguePlan"]


class _Stopped(Exception):
    """A read stopped because the import is ending."""


class LeagueReader:
    """Read one league's rows from its files into spools on disk (see rally.etl.spool).

    Files are read kind by kind, so that the keys kept to find duplicates are those of one
    kind at a time; memory holds a batch of rows, the league's teams and those keys.
    ``read`` may be called for some kinds, then for the rest: the league's teams come from
    rosters, standings and schedules only, so its loading can start while its match
    results are still being read.
    """

    def __init__(self, league: str, scans: Sequence[FileScan], progress: ImportProgress) -> None:
        from rally.etl.files import kind_and_rows
        from rally.etl.plan import PlanBuilder
        from rally.etl.reader import Deduplicator, FileResult

        self.league = league
        self.scans = scans
        self.progress = progress
        self.builder = PlanBuilder()
        self.dedup: Deduplicator | None = Deduplicator()
        self.records: dict[Kind, Spool] = {}
        self.results: dict[int, FileResult] = {}
        self.total = sum(s.leagues.get(league, 0) or s.rows for s in scans)
        self.done = 0
        self.kinds = [
            scan.kind if scan.kind is not None else kind_and_rows(scan.path)[0] for scan in scans
        ]
        self.order = sorted(
            range(len(scans)),
            key=lambda i: _KIND_ORDER.index(self.kinds[i]) if self.kinds[i] is not None else -1,
        )
        self.last_kind: Kind | None = None
        #: Set to make a read running in a thread stop soon (the import is ending).
        self.stopped = False

    def read(self, kinds: Collection[Kind] | None = None) -> None:
        """Read the files holding these kinds (None: every file not read yet)."""
        from rally.etl.reader import FileResult, convert_rows
        from rally.etl.spool import Spool

        league, progress, dedup = self.league, self.progress, self.dedup
        assert dedup is not None
        for position in self.order:
            if position in self.results:
                continue
            if kinds is not None and self.kinds[position] not in kinds:
                continue
            scan = self.scans[position]
            kind, rows = scan.take_rows()
            result = self.results[position] = FileResult(path=scan.path, kind=kind)
            if kind is None:
                continue
            if self.last_kind is not None and kind is not self.last_kind:
                dedup.forget(league, self.last_kind)
            self.last_kind = kind
            base = self.done

            def tick(path: Path, index: int, _total: int, base: int = base) -> None:
                if self.stopped:  # every 1,000 rows: the import is ending (interrupted)
                    raise _Stopped
                progress.read(league, path, base + index, self.total)

            spool = self.records.get(kind)
            if spool is None:
                spool = self.records[kind] = Spool(kind)
            for _index, _league, record in convert_rows(
                kind,
                enumerate(rows),
                str(scan.path),
                accept={league},
                result=result,
                progress=tick,
                unattributed=False,
                dedup=dedup,
            ):
                self.builder.add(kind, record)
                spool.add(record)
            self.done += result.rows - result.skipped

    def plan(self) -> LeaguePlan:
        """The league's teams (from the rosters, standings and schedules read)."""
        return self.builder.plan()

    def finish(self) -> LeagueRead:
        """Read what is left; return the league's records, teams, rejects and files."""
        self.read()
        self.dedup = None
        rejects: list[Reject] = []
        warnings: list[Reject] = []
        files: list[FileRecord] = []
        for position, scan in enumerate(self.scans):
            result = self.results[position]
            rejects.extend(result.rejects)
            warnings.extend(result.warnings)
            files.append(
                FileRecord(
                    path=scan.path,
                    digest=scan.digest,
                    leagues=frozenset(scan.leagues),
                    rows=scan.rows,
                    rejected=len(result.rejects),
                )
            )
        last = self.scans[-1].path if self.scans else Path(".")
        self.progress.read(self.league, last, self.total, self.total)
        return LeagueRead(self.records, self.plan(), rejects, warnings, files)


def read_league(league: str, scans: Sequence[FileScan], progress: ImportProgress) -> LeagueRead:
    """Read one league's rows from its files into spools on disk (see LeagueReader)."""
    return LeagueReader(league, scans, progress).finish()


class _Later:
    """A league's match results still being read: len() and iteration wait for them."""

    def __init__(self, read: Future[LeagueRead]) -> None:
        self._read = read

    def _records(self) -> Records:
        from rally.etl.records import Kind

        return self._read.result().records.get(Kind.MATCHES, ())

    def __len__(self) -> int:
        return len(self._records())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._records())


class _ReadEnd:
    """The end of a league's read, as _load needs it: rejects, warnings and files."""

    def __init__(self, result: LeagueReport, finish: Callable[[], LeagueRead] | None) -> None:
        self.result = result
        self.finish = finish
        self.files: list[FileRecord] | None = None
        if finish is None:
            self._count()

    def wait(self) -> list[FileRecord] | None:
        """Wait for the read to end (once); return the league's files (None: not from files)."""
        if self.finish is not None:
            read, self.finish = self.finish(), None
            self.result.rejects, self.result.warnings = read.rejects, read.warnings
            self.files = read.files
            self._count()
        return self.files

    def _count(self) -> None:
        for reject in self.result.rejects:
            if reject.kind is not None:
                self.result.entity(KIND_ENTITY[reject.kind]).rejected += 1


def _load(
    engine: Engine,
    result: LeagueReport,
    records: Mapping[Kind, Records],
    *,
    dry_run: bool,
    strict: bool,
    guard: ShrinkGuard,
    progress: ImportProgress,
    finish: Callable[[], LeagueRead] | None = None,
    plan: LeaguePlan | None = None,
    clubs: SharedClubs | None = None,
) -> None:
    """Load one league in its own transaction, filling ``result``; never raises.

    ``finish`` (files read by import_paths) waits until the league is read to its end and
    returns its rejects, warnings and files: it is called before loading with ``strict``
    (rejects decide), else once the rows are loaded, before the commit (the match results
    may still be read while the rest loads). Without it ``result.rejects`` is complete.
    ``clubs`` (leagues loaded at the same time): the league's clubs are committed first.
    """
    from sqlalchemy.orm import Session

    from rally.etl.fingerprints import record_fingerprints
    from rally.etl.loader import LOAD_STEPS, ensure_league, load_league

    league = result.league
    read = _ReadEnd(result, finish)
    try:
        if strict:
            read.wait()
            if result.rejects:
                result.error = f"{len(result.rejects)} row(s) rejected and --strict is set"
                return
        if not any(len(found) for found in records.values()):
            return

        def step(name: str, done: int, total: int) -> None:
            progress.load(league, name, done, total)

        step("start", 0, len(LOAD_STEPS))
        created: Collection[str] = ()
        if clubs is not None and plan is not None:
            try:
                created = clubs.ensure(plan)
            except Exception as exc:
                result.error = _one_line(exc)
                return
        with Session(engine) as session:
            transaction = session.begin()
            try:
                loaded = load_league(
                    session,
                    league,
                    records,
                    guard=guard,
                    progress=step,
                    plan=plan,
                    clubs_created=created,
                )
                files = read.wait()
                if files is not None and not dry_run:
                    record_fingerprints(session, ensure_league(session, league), files)
            except Exception as exc:  # any failure rolls back this league only
                transaction.rollback()
                result.error = _one_line(exc)
                return
            if dry_run:
                transaction.rollback()
            else:
                try:
                    transaction.commit()
                except Exception as exc:
                    result.error = _one_line(exc)
                    return
                result.committed = True
    finally:
        read.wait()
    for name, counts in loaded.entities.items():
        target = result.entity(name)
        target.inserted += counts.inserted
        target.updated += counts.updated
        target.unchanged += counts.unchanged
        target.deactivated += counts.deactivated
        target.unlinked += counts.unlinked
    result.unlinked.extend(loaded.unlinked)


def import_corpus(
    engine: Engine,
    corpus: ParsedCorpus,
    *,
    dry_run: bool = False,
    strict: bool = False,
    guard: ShrinkGuard | None = None,
) -> ImportReport:
    """Load every league of a corpus parsed in memory (tests, tools); see import_paths."""
    report = ImportReport(dry_run=dry_run, unattributed=corpus.rejected(None))
    with paused_gc():
        for league in corpus.leagues():
            result = LeagueReport(
                league=league,
                rejects=corpus.rejected(league),
                warnings=[w for w in corpus.warnings if w.league == league],
            )
            report.leagues[league] = result
            _load(
                engine,
                result,
                corpus.records.get(league, {}),
                dry_run=dry_run,
                strict=strict,
                guard=guard or ShrinkGuard(),
                progress=ImportProgress(),
            )
    return report


def import_paths(
    engine: Engine,
    paths: Iterable[Path],
    *,
    leagues: Collection[str] | None = None,
    dry_run: bool = False,
    strict: bool = False,
    guard: ShrinkGuard | None = None,
    force: bool = False,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Import files or directories league by league (see the module docstring).

    Raises an ImportFileError subclass, naming the file, for a file-level problem found
    while checking the files; nothing is imported then. ``force`` re-reads unchanged input.
    """
    progress = progress or ImportProgress()
    report = ImportReport(dry_run=dry_run)
    with engine.connect() as connection:
        known = Fingerprints() if force else load_fingerprints(connection)
    with paused_gc():
        scans = scan_paths(paths, known, report.unattributed, progress, leagues)
        found = {key for scan in scans for key in scan.leagues if league_name(key)}
        wanted = found if leagues is None else found & set(leagues)
        to_read: list[tuple[LeagueReport, list[FileScan]]] = []
        for league in league_order(wanted):
            mine = [scan for scan in scans if league in scan.leagues]
            result = LeagueReport(league=league)
            report.leagues[league] = result
            remembered = known.rejected(league)
            if (
                all(scan.known for scan in mine)
                and known.unchanged(league, (scan.digest for scan in mine))
                and not (strict and remembered)
            ):
                result.unchanged_input = True
                result.remembered_rejects = remembered
            to_read.append((result, mine))
        progress.leagues([r.league for r, _mine in to_read if not r.unchanged_input])
        guard = guard or ShrinkGuard()
        if _in_lanes(engine, to_read, dry_run=dry_run):
            from rally.etl.lanes import in_two_lanes

            rows = [_rows(league) for league in to_read]
            in_two_lanes(engine, to_read, rows, progress, strict=strict, guard=guard)
        else:
            pipeline(engine, to_read, progress, dry_run=dry_run, strict=strict, guard=guard)
    return report


def _in_lanes(
    engine: Engine, leagues: Sequence[tuple[LeagueReport, list[FileScan]]], *, dry_run: bool
) -> bool:
    """Whether the leagues load in two processes (rally.etl.lanes): on PostgreSQL, not a dry
    run, two leagues or more to read, at most OVERLAP_ROWS rows in all."""
    reading = [result for result, _mine in leagues if not result.unchanged_input]
    return (
        LANES
        and len(reading) > 1
        and not dry_run
        and engine.dialect.name == "postgresql"
        and sum(_rows(league) for league in leagues) <= OVERLAP_ROWS
    )


def _rows(league: tuple[LeagueReport, list[FileScan]]) -> int:
    """The rows a league's files hold for it (as the check counted them)."""
    result, mine = league
    return sum(scan.leagues.get(result.league, 0) or scan.rows for scan in mine)


def pipeline(
    engine: Engine,
    leagues: Sequence[tuple[LeagueReport, list[FileScan]]],
    progress: ImportProgress,
    *,
    dry_run: bool,
    strict: bool,
    guard: ShrinkGuard,
    clubs: SharedClubs | None = None,
) -> None:
    """Read and load the leagues in order, overlapping reading with loading.

    Loading waits mostly on the database (COPY, index and foreign key work, commit),
    reading is Python work. A thread reads: a league's rosters, standings and schedules
    (its teams), then its match results while the main thread starts loading the rest,
    then the next league while this one loads, the latter only when the two hold at most
    OVERLAP_ROWS rows together, so that memory never holds a big league's read state next
    to another's. Results and progress lines come in league order. ``clubs``: the leagues'
    clubs are committed ahead of each league (leagues loaded by another process at the same
    time, see rally.etl.lanes).
    """
    from concurrent.futures import ThreadPoolExecutor

    from rally.etl.records import Kind

    teams_kinds = (Kind.PLAYERS, Kind.STANDINGS, Kind.SCHEDULE)
    rows = [_rows(league) for league in leagues]
    reading = [index for index, (result, _mine) in enumerate(leagues) if not result.unchanged_input]
    futures: dict[int, tuple[LeagueReader, Future[_Part], Future[LeagueRead]]] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rally-read") as pool:

        def first_part(reader: LeagueReader) -> _Part:
            # Its teams first; its match results are read while the rest loads.
            reader.read(teams_kinds)
            return dict(reader.records), reader.plan()

        def read_next() -> None:
            if reading:
                index = reading.pop(0)
                result, mine = leagues[index]
                reader = LeagueReader(result.league, mine, progress)
                futures[index] = (
                    reader,
                    pool.submit(first_part, reader),
                    pool.submit(reader.finish),
                )

        try:
            read_next()
            for index, (result, _mine) in enumerate(leagues):
                if result.unchanged_input:
                    progress.finished(result.league, result)
                    continue
                _reader, started, whole = futures.pop(index)
                records, plan = started.result()
                if reading and rows[index] + rows[reading[0]] <= OVERLAP_ROWS:
                    read_next()
                if strict:  # the rejects of every row decide before loading
                    records, plan = dict(whole.result().records), whole.result().plan
                elif Kind.MATCHES not in records:
                    records[Kind.MATCHES] = _Later(whole)
                try:
                    _load(
                        engine,
                        result,
                        records,
                        dry_run=dry_run,
                        strict=strict,
                        guard=guard,
                        progress=progress,
                        finish=whole.result,
                        plan=plan,
                        clubs=clubs,
                    )
                finally:
                    whole.result().close()
                del records, plan
                progress.finished(result.league, result)
                if not futures:  # the next league was not read while this one loaded
                    read_next()
        finally:
            for reader, _started, _whole in futures.values():
                reader.stopped = True
            for _reader, started, whole in futures.values():
                started.cancel()
                if not whole.cancel() and whole.exception() is None:
                    whole.result().close()
