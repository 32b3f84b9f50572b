"""What an import did, per league and entity, for the summary table and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from rally.etl.records import Reject

#: Entities in summary order.
ENTITIES = (
    "clubs",
    "club_leagues",
    "series",
    "teams",
    "players",
    "series_stats",
    "schedule",
    "match_scores",
)


@dataclass
class Counts:
    """Rows of one entity inserted, updated, left unchanged, deactivated and rejected."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    rejected: int = 0


@dataclass
class LeagueReport:
    """The outcome of one league: counts per entity, rejects, and the failure if any."""

    league: str
    entities: dict[str, Counts] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    error: str | None = None
    committed: bool = False

    def entity(self, name: str) -> Counts:
        """Return (creating) the counts of one entity."""
        return self.entities.setdefault(name, Counts())

    @property
    def failed(self) -> bool:
        """Tell whether the league was rolled back."""
        return self.error is not None

    def total(self, attribute: str) -> int:
        """Return a count summed over entities."""
        return sum(getattr(counts, attribute) for counts in self.entities.values())


@dataclass
class ImportReport:
    """The outcome of one `rally etl import` run."""

    leagues: dict[str, LeagueReport] = field(default_factory=dict)
    #: Rows whose league could not be told (missing or unknown key).
    unattributed: list[Reject] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rejects(self) -> list[Reject]:
        """Return every rejected row of the run."""
        out = list(self.unattributed)
        for league in self.leagues.values():
            out.extend(league.rejects)
        return out

    @property
    def ok(self) -> bool:
        """Tell whether nothing was rejected and no league failed."""
        return not self.rejects and not any(lg.failed for lg in self.leagues.values())
