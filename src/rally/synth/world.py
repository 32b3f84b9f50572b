"""The simulated leagues: clubs, series, teams, rosters, fixtures and line results."""

from __future__ import annotations

import base64
import datetime as dt
import random
import struct
from dataclasses import dataclass, field

from rally.synth.name_pools import CITA_LEVELS, CLUBS, LAST, MEN_FIRST, WOMEN_FIRST, Club
from rally.synth.styles import Style


@dataclass(eq=False)
class Player:
    """One person in one league; `pid` is the league's Player ID."""

    pid: str
    first: str
    last: str
    club: Club
    pti: str
    career: tuple[int, int] | None


@dataclass(eq=False)
class Team:
    """A club's team in one series; `tag` distinguishes a club's second team there."""

    club: Club
    series: str
    tag: str
    strength: float
    roster: list[Player] = field(default_factory=list)
    captains: int = 1
    siblings: list[Team] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    """One line of a played match, scores seen from the home side."""

    home: tuple[Player | None, Player | None]
    away: tuple[Player | None, Player | None]
    sets: tuple[tuple[int, int], ...]
    subs: tuple[bool, bool, bool, bool]

    @property
    def winner(self) -> str:
        """Return "home", "away" or "tie" by sets won."""
        home = sum(h > a for h, a in self.sets)
        away = sum(a > h for h, a in self.sets)
        return "home" if home > away else "away" if away > home else "tie"


@dataclass(eq=False)
class Fixture:
    """A scheduled match; `lines` is empty until it has been played."""

    series: str
    date: dt.date
    home: Team
    away: Team
    time: str
    lines: list[Line] = field(default_factory=list)
    sch: str = ""


@dataclass(eq=False)
class League:
    """Everything generated for one league key."""

    key: str
    index: int
    style: Style
    series: list[str]
    teams: list[Team]
    players: list[Player]
    fixtures: list[Fixture]


def encoded_id(prefix: str, *parts: int) -> str:  # parts: league, serial, 16 noise bits
    """Return an id shaped like the scraped ones: prefix + base64(base64(8 bytes))."""
    league, serial, noise = parts
    raw = struct.pack(">HHI", noise, league, serial)
    return prefix + base64.b64encode(base64.b64encode(raw)).decode()


def series_names(style: Style, count: int) -> list[str]:
    """Return the first `count` series names a league of this style uses."""
    if style.name == "apta":
        base = [f"Series {i}" for i in range(1, 40)]
        base += [f"Series {i} SW" for i in range(7, 31, 2)]
        extra = (f"Series {i}" for i in range(40, 10_000))
    elif style.name == "cnswpl":
        base = [f"Series {i}" for i in range(1, 18)]
        base += [f"Series {c}" for c in "ABCDEFGHIJK"]
        extra = (f"Series {i}" for i in range(18, 10_000))
    elif style.name == "nstf":
        base = ["Series 1", "Series 2A", "Series 2B", "Series 3", "Series A"]
        extra = (f"Series {i}" for i in range(4, 10_000))
    else:
        base = [f"Series {level}" for level in CITA_LEVELS]
        extra = (f"Series {level} Flight {i}" for i in range(2, 1_000) for level in CITA_LEVELS)
    names = base[:count]
    while len(names) < count:
        names.append(next(extra))
    return names


class _People:
    """Draws names, reusing people of earlier leagues at the same club now and then."""

    def __init__(self, rng: random.Random, style: Style, earlier: dict[str, list[Player]]):
        self.rng = rng
        self.first = WOMEN_FIRST if style.women else MEN_FIRST
        if style.name == "cita":
            self.first = MEN_FIRST + WOMEN_FIRST
        self.first_set = frozenset(self.first)
        self.earlier = earlier
        self.reused: set[tuple[str, str, str]] = set()

    def name(self, club: Club, share: float) -> tuple[str, str]:
        pool = self.earlier.get(club.name, [])
        if pool and self.rng.random() < share:
            other = pool[self.rng.randrange(len(pool))]
            key = (other.first, other.last, club.name)
            if other.first in self.first_set and key not in self.reused:
                self.reused.add(key)
                return other.first, other.last
        return self.rng.choice(self.first), self.rng.choice(LAST)


def build_league(
    *,
    key: str,
    index: int,
    style: Style,
    n_teams: int,
    rng: random.Random,
    earlier: dict[str, list[Player]],
) -> League:
    """Build clubs, series, teams and rosters for one league, then its fixtures and results."""
    clubs = rng.sample(CLUBS, min(style.clubs, len(CLUBS)))
    sizes: list[int] = []
    while sum(sizes) < n_teams:
        sizes.append(rng.randint(*style.series_size))
    sizes[-1] = max(4, sizes[-1] - (sum(sizes) - n_teams))
    series = series_names(style, len(sizes))
    teams: list[Team] = []
    for name, size in zip(series, sizes, strict=True):
        chosen = rng.sample(clubs, min(size, len(clubs)))
        picked = [(c, "") for c in chosen]
        sunday = style.name == "nstf" and name[7:].isalpha()
        if size >= 6 and not sunday and rng.random() < style.double_share:
            # One club fields two teams in this series ("Hinsdale PC 1a" and "1b").
            twice = chosen[-2]
            picked = [(c, "") for c in chosen[:-2]] + [(twice, "a"), (twice, "b")]
        for club, tag in picked:
            strength = rng.gauss(0.0, 1.0)
            teams.append(Team(club, name, tag, strength, captains=rng.choice((1, 1, 2))))
    league = League(key, index, style, series, teams, [], [])
    _fill_rosters(league, rng, earlier)
    _schedule(league, rng)
    return league


def _fill_rosters(league: League, rng: random.Random, earlier: dict[str, list[Player]]) -> None:
    style = league.style
    people = _People(rng, style, earlier)
    serial = 0
    # Enough players for a full lineup, so nobody plays two lines of one match.
    need = 2 * (style.lines + (style.extra_line_share > 0))
    for team in league.teams:
        for _ in range(max(need, style.roster + rng.randint(-2, 2))):
            serial += 1
            first, last = people.name(team.club, style.multi_league_share)
            pti = "N/A" if rng.random() < style.pti_na else f"{rng.uniform(-5.0, 75.0):.1f}"
            career = None
            if rng.random() < style.career_share:
                wins = rng.randint(0, 160)
                career = (wins, max(0, int(wins * rng.uniform(0.4, 1.6))))
            pid = encoded_id(style.id_prefix, league.index, serial, rng.getrandbits(16))
            player = Player(pid, first, last, team.club, pti, career)
            league.players.append(player)
            team.roster.append(player)
    by_club: dict[str, list[Team]] = {}
    for team in league.teams:
        by_club.setdefault(team.club.name, []).append(team)
    for team in league.teams:
        team.siblings = [t for t in by_club[team.club.name] if t.series != team.series]
    if style.two_team_share <= 0:
        return
    for team in league.teams:
        if not team.siblings:
            continue
        for player in list(team.roster):
            if rng.random() < style.two_team_share:
                other = rng.choice(team.siblings)
                if player not in other.roster:
                    other.roster.append(player)


def _round_robin(teams: list[Team]) -> list[list[tuple[Team, Team]]]:
    """Return rounds of pairings by the circle method (a bye when the count is odd)."""
    slots: list[Team | None] = list(teams)
    if len(slots) % 2:
        slots.append(None)
    n = len(slots)
    rounds = []
    for r in range(n - 1):
        pairs = []
        for i in range(n // 2):
            a, b = slots[i], slots[n - 1 - i]
            if a is not None and b is not None:
                pairs.append((a, b) if (r + i) % 2 else (b, a))
        rounds.append(pairs)
        slots = [slots[0], slots[-1], *slots[1:-1]]
    return rounds


def _schedule(league: League, rng: random.Random) -> None:
    style = league.style
    by_series: dict[str, list[Team]] = {}
    for team in league.teams:
        by_series.setdefault(team.series, []).append(team)
    used: set[tuple[dt.date, str, str]] = set()
    serial = 0
    for s_index, (series, teams) in enumerate(by_series.items()):
        rounds = _round_robin(teams)
        if style.legs == 2:
            rounds += [[(b, a) for a, b in pairs] for pairs in rounds]
        played = round(len(rounds) * style.played_share)
        time = rng.choice(style.times)
        offset = s_index % 7 if style.name == "cita" else 0
        for r, pairs in enumerate(rounds):
            date = style.season_start + dt.timedelta(days=7 * r + offset)
            for home, away in pairs:
                day = date
                # CITA-style match rows carry no series: keep (date, home club, away club) unique.
                while (day, home.club.name, away.club.name) in used:
                    day += dt.timedelta(days=1)
                used.add((day, home.club.name, away.club.name))
                serial += 1
                fixture = Fixture(series, day, home, away, time)
                fixture.sch = encoded_id("nndz-", league.index, 1_000_000 + serial, serial % 65536)
                if r < played:
                    fixture.lines = _play(fixture, rng, style)
                league.fixtures.append(fixture)


def _play(fixture: Fixture, rng: random.Random, style: Style) -> list[Line]:
    n_lines = style.lines + (1 if rng.random() < style.extra_line_share else 0)
    singles = "Singles" in fixture.series
    per_line = 1 if singles else 2
    home = _lineup(fixture.home, n_lines * per_line, rng, style.sub_share)
    away = _lineup(fixture.away, n_lines * per_line, rng, style.sub_share)
    p_home = 1.0 / (1.0 + pow(2.718281828, -(fixture.home.strength - fixture.away.strength)))
    lines = []
    for i in range(n_lines):
        hp = home[i * per_line : (i + 1) * per_line]
        ap = away[i * per_line : (i + 1) * per_line]
        sets = _sets(rng, rng.random() < p_home, tie=rng.random() < style.tie_share)
        h_pair = (hp[0][0], hp[1][0] if per_line == 2 else None)
        a_pair = (ap[0][0], ap[1][0] if per_line == 2 else None)
        subs = (
            hp[0][1],
            per_line == 2 and hp[1][1],
            ap[0][1],
            per_line == 2 and ap[1][1],
        )
        lines.append(Line(h_pair, a_pair, sets, subs))
    return lines


def _lineup(
    team: Team, count: int, rng: random.Random, sub_share: float
) -> list[tuple[Player, bool]]:
    """Pick players for a match; a substitute from another of the club's teams is flagged."""
    chosen = rng.sample(team.roster, min(count, len(team.roster)))
    while len(chosen) < count:
        chosen.append(rng.choice(team.roster))
    picked: list[tuple[Player, bool]] = []
    for player in chosen:
        if team.siblings and rng.random() < sub_share:
            sibling = team.siblings[rng.randrange(len(team.siblings))]
            sub = sibling.roster[rng.randrange(len(sibling.roster))]
            taken = chosen + [p for p, _ in picked]
            if sub not in taken and sub not in team.roster:
                picked.append((sub, True))
                continue
        picked.append((player, False))
    return picked


_SET_SCORES = ((6, 0), (6, 1), (6, 2), (6, 3), (6, 4), (7, 5), (7, 6))


def _sets(rng: random.Random, home_wins: bool, *, tie: bool) -> tuple[tuple[int, int], ...]:
    def one(home: bool) -> tuple[int, int]:
        w, lose = rng.choice(_SET_SCORES)
        return (w, lose) if home else (lose, w)

    if tie:
        return (one(home_wins), one(not home_wins))
    if rng.random() < 0.3:
        return (one(home_wins), one(not home_wins), one(home_wins))
    return (one(home_wins), one(home_wins))
