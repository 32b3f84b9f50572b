"""Write synthetic league folders in the scraped files' formats, deterministically per seed."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rally.errors import UsageError
from rally.synth import formats
from rally.synth.formats import Row
from rally.synth.styles import APTA, CNSWPL, NSTF, STYLES, Style
from rally.synth.world import League, Player, Team, build_league
from rally.synth.writer import JsonArrayWriter

#: The four files of a league folder, in the order they are written.
FILES: tuple[str, ...] = (
    "players.json",
    "series_stats.json",
    "schedules.json",
    "match_history.json",
)
#: Keys of generated leagues past the fourth: "SYN_05", "SYN_06", ...
SYNTHETIC_KEY_PATTERN = r"^SYN_\d{2,}$"
_INDENT = {"schedules.json": 4}
_REAL_TEAMS = sum(s.real_teams for s in STYLES)
_MAX_SCALE = 1000.0


class InvalidGenerateArgument(UsageError):
    """An argument of `rally generate` is out of range."""


class OutputDirNotUsable(UsageError):
    """The output directory cannot be created, written, or holds unrelated files."""


@dataclass(frozen=True)
class MalformedRow:
    """A row written broken on purpose; the importer must reject exactly these."""

    league: str
    file: str
    index: int
    reason: str


@dataclass(frozen=True)
class LeagueResult:
    """What was written for one league: rows per file (malformed rows included)."""

    key: str
    style: str
    rows: dict[str, int]
    malformed: int


@dataclass(frozen=True)
class GenerateResult:
    """The folders written by `generate`, their row counts and the deliberately bad rows."""

    out_dir: Path
    leagues: tuple[LeagueResult, ...]
    malformed: tuple[MalformedRow, ...]

    @property
    def malformed_count(self) -> int:
        """Return how many rows were written broken on purpose."""
        return len(self.malformed)

    def total(self, file: str) -> int:
        """Return the rows written to `file` across all leagues."""
        return sum(league.rows[file] for league in self.leagues)


def league_keys(count: int) -> list[str]:
    """Return the keys of `count` generated leagues: the four real ones first, then SYN_nn."""
    real = [s.real_key for s in STYLES]
    return real[:count] + [f"SYN_{i:02d}" for i in range(len(real) + 1, count + 1)]


def league_styles(count: int) -> list[Style]:
    """Return each generated league's style; leagues past the fourth cycle APTA/CNSWPL/NSTF."""
    # CITA's team naming is tied to its key in the importer, so SYN_nn leagues never use it.
    extra = (APTA, CNSWPL, NSTF)
    return list(STYLES[:count]) + [extra[i % 3] for i in range(max(0, count - len(STYLES)))]


def _check_args(leagues: int, scale: float) -> None:
    if isinstance(leagues, bool) or not isinstance(leagues, int) or leagues < 1:
        raise InvalidGenerateArgument(f"--leagues must be a whole number >= 1, not {leagues!r}.")
    if leagues > 99:
        raise InvalidGenerateArgument(f"--leagues must be at most 99, not {leagues}.")
    if not isinstance(scale, int | float) or not math.isfinite(scale) or scale <= 0:
        raise InvalidGenerateArgument(f"--scale must be a number > 0, not {scale!r}.")
    if scale > _MAX_SCALE:
        raise InvalidGenerateArgument(f"--scale must be at most {_MAX_SCALE:g}, not {scale:g}.")


def _prepare(out_dir: Path, keys: list[str]) -> None:
    """Create OUT_DIR; refuse one holding anything but earlier output for these leagues."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputDirNotUsable(f"{out_dir} exists and is not a directory.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for entry in sorted(out_dir.iterdir()):
            ours = entry.is_dir() and entry.name in keys
            if not ours or any(p.name not in FILES for p in entry.iterdir()):
                raise OutputDirNotUsable(
                    f"{out_dir} is not empty ({entry.name} is not generated output for "
                    "these leagues); choose an empty or new directory."
                )
        for key in keys:
            (out_dir / key).mkdir(exist_ok=True)
            probe = out_dir / key / ".rally-write-test"
            probe.write_bytes(b"")
            probe.unlink()
    except OSError as exc:
        raise OutputDirNotUsable(f"cannot write to {out_dir}: {exc.strerror or exc}.") from None


def _team_counts(styles: list[Style], scale: float) -> list[int]:
    weight = sum(s.real_teams for s in styles)
    # At least two series per league, so clubs have teams in more than one series.
    return [max(8, round(scale * _REAL_TEAMS * s.real_teams / weight)) for s in styles]


def _bad_rows(league: League, rng: random.Random) -> dict[str, list[tuple[Row, str]]]:
    """Return the broken rows of one league by file, each with the reason it must fail."""
    style = league.style.name
    team = league.teams[rng.randrange(len(league.teams))]
    ghost = Player("", rng.choice(("Pat", "Sam")), "Nobody", team.club, "N/A", None)
    player = next(formats.player_rows(_only(league, team, ghost), {}))
    player.pop("Player ID")
    solo = _only(league, team, None)
    standing = next(formats.standings_rows(solo, {id(solo.teams[0]): formats.Tally()}))
    standing.pop("team")
    played = [fx for fx in league.fixtures if fx.lines]
    pool = played or league.fixtures
    fixture = pool[rng.randrange(len(pool))]
    schedule = formats.schedule_row(league, fixture, date="02/30/2025")
    bad: dict[str, list[tuple[Row, str]]] = {
        "players.json": [(player, "missing Player ID")],
        "series_stats.json": [(standing, "missing team")],
        "schedules.json": [(schedule, "unparseable date 02/30/2025")],
        "match_history.json": [],
    }
    if played:
        extra = len(fixture.lines) + 1
        line = fixture.lines[0]
        for field, value, reason in (
            ("Date", "31-Foo-24", "unparseable Date 31-Foo-24"),
            ("Winner", "both", "unknown Winner 'both'"),
        ):
            row = formats.match_row(league, fixture, extra, line, rng)
            row[field] = value
            if "match_id" not in row:
                row["Scores"] = "6-0, 0-6, 7-6"  # differs from every real line of the fixture
            bad["match_history.json"].append((row, reason))
            extra += 1
        home = formats.match_team(fixture.home, style)
        if style == "cnswpl":
            junk = {
                "league_id": league.key,
                "match_id": f"table_{fixture.series.replace(' ', '_')}_12",
                "source_league": league.key,
                "Series": fixture.series,
                "Date": None,
                "Home Team": home,
                "Away Team": "19.0",
                "Scores": home,
                "Winner": "home",
            }
            bad["match_history.json"].append((junk, "standings table scraped as a match"))
        elif style == "cita":
            away = formats.match_team(fixture.away, style)
            junk = formats.match_row(league, fixture, 1, line, rng) | {
                "Home Player 1": home,
                "Home Player 2": "",
                "Away Player 1": away,
                "Away Player 2": "",
                "Scores": f"{fixture.date:%B} {fixture.date.day}, {fixture.date.year}",
                "Winner": "unknown",
            }
            bad["match_history.json"].append((junk, "match header scraped as a line"))
    return bad


def _only(league: League, team: Team, player: Player | None) -> League:
    """Return a one-team view of `league` (with `player` as its roster) to format a row."""
    solo = Team(team.club, team.series, team.tag, 0.0, [player] if player else [], captains=0)
    return League(league.key, league.index, league.style, [team.series], [solo], [], [])


def _write(
    path: Path,
    rows: Iterable[Row],
    count: int,
    bad: list[tuple[Row, str]],
    rng: random.Random,
    league: str,
) -> tuple[int, list[MalformedRow]]:
    """Stream `rows` to `path`, slipping the broken rows in at seeded positions."""
    positions = sorted(rng.randint(0, count) for _ in bad)
    pending = list(zip(positions, bad, strict=True))
    marks: list[MalformedRow] = []
    with JsonArrayWriter(path, indent=_INDENT.get(path.name, 2)) as out:

        def flush(at: int) -> None:
            while pending and pending[0][0] <= at:
                _, (row, reason) = pending.pop(0)
                marks.append(MalformedRow(league, path.name, out.count, reason))
                out.write(row)

        for i, row in enumerate(rows):
            flush(i)
            out.write(row)
        flush(count)
        return out.count, marks


def _match_rows(league: League, rng: random.Random) -> Iterator[Row]:
    for fx in league.fixtures:
        for number, line in enumerate(fx.lines, start=1):
            yield formats.match_row(league, fx, number, line, rng)


def generate(
    out_dir: str | Path,
    *,
    leagues: int = 4,
    scale: float = 1.0,
    seed: int = 0,
    today: dt.date | None = None,
    on_league: Callable[[LeagueResult], None] | None = None,
) -> GenerateResult:
    """Write `leagues` league folders into `out_dir`, about `scale` times the real corpus.

    With `today` each season is placed around that date (results before it, the rest of the
    schedule after); without, on the real leagues' historical dates. `on_league` is told of
    each league once its files are written.
    """
    _check_args(leagues, scale)
    out = Path(out_dir)
    keys = league_keys(leagues)
    styles = league_styles(leagues)
    _prepare(out, keys)
    earlier: dict[str, list[Player]] = {}
    results: list[LeagueResult] = []
    malformed: list[MalformedRow] = []
    for index, (key, style, n_teams) in enumerate(
        zip(keys, styles, _team_counts(styles, scale), strict=True)
    ):
        rng = random.Random(f"rally-synth/{seed}/{index}")
        league = build_league(
            key=key,
            index=index + 1,
            style=style,
            n_teams=n_teams,
            rng=rng,
            earlier=earlier,
            today=today,
        )
        for player in league.players:
            earlier.setdefault(player.club.name, []).append(player)
        teams, record = formats.tally(league)
        bad = _bad_rows(league, rng)
        n_players = sum(len(t.roster) for t in league.teams)
        n_lines = sum(len(fx.lines) for fx in league.fixtures)
        plan: list[tuple[str, Iterable[Row], int]] = [
            ("players.json", formats.player_rows(league, record), n_players),
            ("series_stats.json", formats.standings_rows(league, teams), len(league.teams)),
            (
                "schedules.json",
                (formats.schedule_row(league, fx) for fx in league.fixtures),
                len(league.fixtures),
            ),
            ("match_history.json", _match_rows(league, rng), n_lines),
        ]
        rows: dict[str, int] = {}
        marks: list[MalformedRow] = []
        for name, iterator, count in plan:
            written, file_marks = _write(out / key / name, iterator, count, bad[name], rng, key)
            rows[name] = written
            marks += file_marks
        malformed += marks
        results.append(LeagueResult(key, style.name, rows, len(marks)))
        if on_league is not None:
            on_league(results[-1])
    return GenerateResult(out, tuple(results), tuple(malformed))
