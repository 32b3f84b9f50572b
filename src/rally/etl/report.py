"""What an import did, per league and entity, for the summary table and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
#: Rows of the summary: the tables, then standings computed from results (in series_stats).
SUMMARY_ENTITIES = (*ENTITIES, "computed_standings")


@dataclass
class Counts:
    """Rows of one entity inserted, updated, left unchanged, deactivated and rejected."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    rejected: int = 0
    #: Rows stored (new or not) with a team reference left empty: linked to no team.
    unlinked: int = 0


@dataclass(frozen=True, slots=True)
class Unlinked:
    """A stored schedule or match row that could not be linked to one of its teams.

    At scale a league leaves 100,000s of them: slots, and texts shared (see add_unlinked).
    """

    league: str
    entity: str
    match_date: str
    home_team: str
    away_team: str
    reason: str

    def as_json(self) -> dict[str, str]:
        """Return the JSON-lines form written by ``--unlinked``."""
        return {
            "league": self.league,
            "entity": self.entity,
            "date": self.match_date,
            "home_team": self.home_team,
            "away_team": self.away_team,
            "reason": self.reason,
        }


@dataclass
class LeagueReport:
    """The outcome of one league: counts per entity, rejects, and the failure if any."""

    league: str
    entities: dict[str, Counts] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    #: Rows kept with parts dropped (nonsense standings groups), with the reason.
    warnings: list[Reject] = field(default_factory=list)
    unlinked: list[Unlinked] = field(default_factory=list)
    error: str | None = None
    committed: bool = False
    #: The league's input was unchanged since its last import: nothing read or written.
    unchanged_input: bool = False
    #: Rows rejected when the unchanged input was last read (not listed again).
    remembered_rejects: int = 0
    #: One copy of each text the unlinked rows hold (dates, team names, reasons repeat).
    _texts: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def entity(self, name: str) -> Counts:
        """Return (creating) the counts of one entity."""
        return self.entities.setdefault(name, Counts())

    def add_unlinked(self, entity: str, row: dict[str, Any], reason: str) -> None:
        """Count and keep a stored schedule or match row that is linked to no team."""
        self.entity(entity).unlinked += 1
        texts = self._texts

        def shared(text: str) -> str:
            return texts.setdefault(text, text)

        self.unlinked.append(
            Unlinked(
                league=self.league,
                entity=entity,
                match_date=shared(str(row["match_date"])),
                home_team=shared(row["home_team"]),
                away_team=shared(row["away_team"]),
                reason=shared(reason),
            )
        )

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
        return self.exit_code == 0

    @property
    def rejected_count(self) -> int:
        """Return the rows rejected, counting those remembered for unchanged input."""
        remembered = sum(lg.remembered_rejects for lg in self.leagues.values())
        return len(self.rejects) + remembered

    @property
    def exit_code(self) -> int:
        """0 all leagues loaded, nothing rejected; 3 all loaded, rows rejected; 1 a failure."""
        if any(lg.failed for lg in self.leagues.values()):
            return 1
        return 3 if self.rejected_count else 0
