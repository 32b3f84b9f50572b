"""Import parsed league files into a database: each league in its own transaction."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from rally.etl.loader import load_league
from rally.etl.reader import ParsedCorpus, Progress, parse_paths, paused_gc
from rally.etl.records import Kind
from rally.etl.report import ImportReport, LeagueReport

#: The entity a rejected row of each kind would have become.
KIND_ENTITY = {
    Kind.PLAYERS: "players",
    Kind.STANDINGS: "series_stats",
    Kind.SCHEDULE: "schedule",
    Kind.MATCHES: "match_scores",
}


def _one_line(exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__


def import_corpus(
    engine: Engine, corpus: ParsedCorpus, *, dry_run: bool = False, strict: bool = False
) -> ImportReport:
    """Load every league of a parsed corpus; a failing league is rolled back and reported.

    ``dry_run`` runs each league's import and rolls it back, so the counts are exact and
    nothing is written. ``strict`` fails (does not import) any league with a rejected row.
    """
    with paused_gc():
        return _import_corpus(engine, corpus, dry_run=dry_run, strict=strict)


def _import_corpus(
    engine: Engine, corpus: ParsedCorpus, *, dry_run: bool, strict: bool
) -> ImportReport:
    report = ImportReport(dry_run=dry_run, unattributed=corpus.rejected(None))
    for league in corpus.leagues():
        result = LeagueReport(league=league, rejects=corpus.rejected(league))
        report.leagues[league] = result
        for reject in result.rejects:
            if reject.kind is not None:
                result.entity(KIND_ENTITY[reject.kind]).rejected += 1
        if strict and result.rejects:
            result.error = f"{len(result.rejects)} row(s) rejected and --strict is set"
            continue
        records = corpus.records.get(league)
        if not records:
            continue
        with Session(engine) as session:
            transaction = session.begin()
            try:
                loaded = load_league(session, league, records)
            except Exception as exc:  # any failure rolls back this league only
                transaction.rollback()
                result.error = _one_line(exc)
                continue
            if dry_run:
                transaction.rollback()
            else:
                try:
                    transaction.commit()
                except Exception as exc:
                    result.error = _one_line(exc)
                    continue
                result.committed = True
        for name, counts in loaded.entities.items():
            target = result.entity(name)
            target.inserted += counts.inserted
            target.updated += counts.updated
            target.unchanged += counts.unchanged
            target.deactivated += counts.deactivated
    return report


def import_paths(
    engine: Engine,
    paths: Iterable[Path],
    *,
    leagues: Collection[str] | None = None,
    dry_run: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Parse files or directories and import them (see import_corpus).

    Raises an ImportFileError subclass, naming the file, for a file-level problem; nothing
    is imported then.
    """
    corpus = parse_paths(paths, leagues=leagues, progress=progress)
    return import_corpus(engine, corpus, dry_run=dry_run, strict=strict)
