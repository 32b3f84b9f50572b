"""Import league files into a database: league by league, file by file, each league in its
own transaction.

The files are first checked (fingerprinted, and scanned for which leagues they hold unless
the database already knows them). Then each league is read from the files holding its
rows, validated, loaded and committed before the next league is read: memory holds one
league's records at a time, never every file. A league whose files are exactly those of its
last successful import is skipped (nothing read, nothing rewritten).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from rally.errors import RallyError
from rally.etl.fingerprints import (
    FileRecord,
    Fingerprints,
    file_digest,
    json_files,
    load_fingerprints,
    paused_gc,
)
from rally.etl.guard import ShrinkGuard
from rally.etl.progress import ImportProgress as ImportProgress
from rally.etl.report import ImportReport, LeagueReport
from rally.leagues import league_name, league_order

if TYPE_CHECKING:
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


@dataclass
class FileScan:
    """One input file: its digest, and the rows it holds per league."""

    path: Path
    digest: str
    rows: int
    leagues: dict[str, int] = field(default_factory=dict)
    #: Known from the database (content imported before), not scanned in this run.
    known: bool = False
    #: What the file holds (None: not scanned in this run, or empty).
    kind: Kind | None = None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, RallyError):
        return str(exc)
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__


def scan_file(path: Path, digest: str, unattributed: list[Reject]) -> FileScan:
    """Count a file's rows per league (checking it is a usable JSON list of rows).

    Rows without a usable league are rejected here, once, whatever the leagues imported.
    Raises an ImportFileError subclass naming the file when the file is unusable.
    """
    from rally.etl.convert import RowError
    from rally.etl.files import kind_and_rows
    from rally.etl.reader import row_league
    from rally.etl.records import Reject

    kind, rows = kind_and_rows(path)
    scan = FileScan(path=path, digest=digest, rows=0, kind=kind)
    name = str(path)
    for index, row in enumerate(rows):
        scan.rows += 1
        try:
            if not isinstance(row, dict):
                raise RowError(f"row is not an object but {type(row).__name__}")
            league = row_league(row)
        except RowError as exc:
            unattributed.append(
                Reject(file=name, row=index, league=None, reason=str(exc), data=row, kind=kind)
            )
            continue
        scan.leagues[league] = scan.leagues.get(league, 0) + 1
    return scan


def scan_paths(
    paths: Iterable[Path],
    known: Fingerprints,
    unattributed: list[Reject],
    progress: ImportProgress,
) -> list[FileScan]:
    """Fingerprint every file and scan those the database does not know."""
    files = json_files(paths)
    scans: list[FileScan] = []
    for done, path in enumerate(files):
        progress.scan(path, done, len(files))
        try:
            digest = file_digest(path)
        except OSError as exc:
            from rally.etl.reader import UnreadableFile

            raise UnreadableFile(f"{path}: cannot read file ({exc.strerror or exc})") from None
        recorded = known.files.get(digest)
        if recorded is not None:
            leagues = dict.fromkeys(recorded.leagues, 0)
            scans.append(FileScan(path, digest, recorded.rows, leagues, known=True))
        else:
            scans.append(scan_file(path, digest, unattributed))
    progress.scan(files[-1] if files else Path("."), len(files), len(files))
    return scans


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


def read_league(league: str, scans: Sequence[FileScan], progress: ImportProgress) -> LeagueRead:
    """Read one league's rows from its files into spools on disk (see rally.etl.spool).

    Files are read kind by kind, so that the keys kept to find duplicates are those of one
    kind at a time; memory holds a batch of rows, the league's teams and those keys.
    """
    from rally.etl.files import kind_and_rows
    from rally.etl.plan import PlanBuilder
    from rally.etl.reader import Deduplicator, FileResult, convert_rows
    from rally.etl.spool import Spool

    builder = PlanBuilder()
    dedup = Deduplicator()
    records: dict[Kind, Spool] = {}
    results: dict[int, FileResult] = {}
    total = sum(s.leagues.get(league, 0) or s.rows for s in scans)
    done = 0
    kinds = [scan.kind if scan.kind is not None else kind_and_rows(scan.path)[0] for scan in scans]
    order = sorted(
        range(len(scans)),
        key=lambda i: _KIND_ORDER.index(kinds[i]) if kinds[i] is not None else -1,
    )
    last_kind: Kind | None = None
    for position in order:
        scan = scans[position]
        kind, rows = kind_and_rows(scan.path)
        result = results[position] = FileResult(path=scan.path, kind=kind)
        if kind is None:
            continue
        if last_kind is not None and kind is not last_kind:
            dedup.forget(league, last_kind)
        last_kind = kind
        base = done

        def tick(path: Path, index: int, _total: int, base: int = base) -> None:
            progress.read(league, path, base + index, total)

        spool = records.get(kind)
        if spool is None:
            spool = records[kind] = Spool(kind)
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
            builder.add(kind, record)
            spool.add(record)
        done += result.rows - result.skipped
    del dedup
    rejects: list[Reject] = []
    warnings: list[Reject] = []
    files: list[FileRecord] = []
    for position, scan in enumerate(scans):
        result = results[position]
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
    progress.read(league, scans[-1].path if scans else Path("."), total, total)
    return LeagueRead(records, builder.plan(), rejects, warnings, files)


def _load(
    engine: Engine,
    result: LeagueReport,
    records: Mapping[Kind, Records],
    *,
    dry_run: bool,
    strict: bool,
    guard: ShrinkGuard,
    progress: ImportProgress,
    files: Sequence[FileRecord] | None = None,
    plan: LeaguePlan | None = None,
) -> None:
    """Load one league in its own transaction, filling ``result``; never raises."""
    from sqlalchemy.orm import Session

    from rally.etl.fingerprints import record_fingerprints
    from rally.etl.loader import LOAD_STEPS, ensure_league, load_league

    league = result.league
    for reject in result.rejects:
        if reject.kind is not None:
            result.entity(KIND_ENTITY[reject.kind]).rejected += 1
    if strict and result.rejects:
        result.error = f"{len(result.rejects)} row(s) rejected and --strict is set"
        return
    if not any(len(found) for found in records.values()):
        return

    def step(name: str, done: int, total: int) -> None:
        progress.load(league, name, done, total)

    step("start", 0, len(LOAD_STEPS))

    with Session(engine) as session:
        transaction = session.begin()
        try:
            loaded = load_league(session, league, records, guard=guard, progress=step, plan=plan)
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
        scans = scan_paths(paths, known, report.unattributed, progress)
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
        _read_and_load(
            engine,
            to_read,
            progress,
            dry_run=dry_run,
            strict=strict,
            guard=guard or ShrinkGuard(),
        )
    return report


def _read_and_load(
    engine: Engine,
    leagues: Sequence[tuple[LeagueReport, list[FileScan]]],
    progress: ImportProgress,
    *,
    dry_run: bool,
    strict: bool,
    guard: ShrinkGuard,
) -> None:
    """Read and load the leagues in order; the next league is read while one loads.

    Loading waits mostly on the database (COPY, foreign key checks, commit), reading is
    Python work: a thread reads the next league meanwhile (one league ahead, so memory holds
    at most two leagues' read state). Results and progress come in league order.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    reading = [index for index, (result, _mine) in enumerate(leagues) if not result.unchanged_input]
    futures: dict[int, Future[LeagueRead]] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rally-read") as pool:

        def read_next() -> None:
            if reading:
                index = reading.pop(0)
                result, mine = leagues[index]
                futures[index] = pool.submit(read_league, result.league, mine, progress)

        try:
            read_next()
            for index, (result, _mine) in enumerate(leagues):
                if result.unchanged_input:
                    progress.finished(result.league, result)
                    continue
                read = futures.pop(index).result()
                read_next()
                try:
                    result.rejects, result.warnings = read.rejects, read.warnings
                    _load(
                        engine,
                        result,
                        read.records,
                        dry_run=dry_run,
                        strict=strict,
                        guard=guard,
                        progress=progress,
                        files=read.files,
                        plan=read.plan,
                    )
                finally:
                    read.close()
                del read
                progress.finished(result.league, result)
        finally:
            for future in futures.values():
                if not future.cancel() and future.exception() is None:
                    future.result().close()
