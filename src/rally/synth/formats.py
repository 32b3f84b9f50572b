"""Rows in the exact shapes of the scraped files, per league style."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from rally.synth.world import Fixture, League, Line, Player, Team, encoded_id

Row = dict[str, Any]

_SCRAPED_AT = dt.datetime(2025, 9, 22, 8, 45, 16, 545454)
_MOD = "nndz-TjJiOWtORzkwTlJFb0NVU1NzOD0%3D"


def _code(series: str) -> str:
    return series.removeprefix("Series ")


def _tagged(code: str, tag: str, style: str) -> str:
    """Return the series code with a club's team tag ("12a", "27b SW", "H(1)", "1 T2")."""
    if not tag:
        return code
    number = "1" if tag == "a" else "2"
    if style == "nstf":
        return f"{code} T{number}"
    head, _, rest = code.partition(" ")
    head = head + tag if head.isdigit() else f"{head}({number})"
    return f"{head} {rest}" if rest else head


def team_name(team: Team, style: str) -> str:
    """Return the team as standings and schedules write it ("Tennaqua 12", "Wilmette S1 T2")."""
    code = _code(team.series)
    if style == "nstf":
        if len(code) == 1 and code.isalpha():
            return f"{team.club.name} Sunday {code}"
        return f"{team.club.name} S{_tagged(code, team.tag, style)}"
    if style == "cita":
        return f"{team.club.name} {1 if team.tag == 'a' else 2}" if team.tag else team.club.name
    return f"{team.club.name} {_tagged(code, team.tag, style)}"


def roster_team(team: Team, style: str) -> str:
    """Return the team as rosters write it: CNSWPL repeats the number ("Wilmette 4a 4")."""
    name = team_name(team, style)
    code = _code(team.series)
    if style == "cnswpl" and team.tag and code.isdigit():
        return f"{name} {code}"
    return name


def schedule_team(team: Team, style: str) -> str:
    """Return the team as schedules write it ("Winnetka S1 - Series 1", "Birchwood - Open Fri")."""
    if style == "nstf":
        return f"{team_name(team, style)} - {team.series}"
    if style == "cita":
        return f"{team_name(team, style)} - {_code(team.series)}"
    return team_name(team, style)


def match_team(team: Team, style: str) -> str:
    """Return the team as match history writes it ("Michigan Shores - 6")."""
    if style == "apta":
        return f"{team.club.name} - {_tagged(_code(team.series), team.tag, style)}"
    return team_name(team, style)


def location_id(club_name: str) -> str:
    """Return an NSTF-style "Location ID" ("LAKE_FOREST")."""
    return re.sub(r"[^A-Z0-9]+", "_", club_name.upper()).strip("_")


def host(key: str) -> str:
    """Return the scraper host a league's URLs point at."""
    return key.lower().replace("_", "") + ".tenniscores.com"


def pct(won: int, total: int) -> str:
    """Return a percentage string like "77.8%" ("0.0%" when nothing was played)."""
    return f"{100.0 * won / total:.1f}%" if total else "0.0%"


@dataclass
class Tally:
    """Standings counters of one team, from its played matches."""

    matches: list[int] = field(default_factory=lambda: [0, 0, 0])
    lines: list[int] = field(default_factory=lambda: [0, 0])
    sets: list[int] = field(default_factory=lambda: [0, 0])
    games: list[int] = field(default_factory=lambda: [0, 0])


def tally(league: League) -> tuple[dict[int, Tally], dict[tuple[str, int], list[int]]]:
    """Return standings counters per team and line wins/losses per (player, team)."""
    teams: dict[int, Tally] = {id(t): Tally() for t in league.teams}
    record: dict[tuple[str, int], list[int]] = {}
    for fx in league.fixtures:
        if not fx.lines:
            continue
        h, a = teams[id(fx.home)], teams[id(fx.away)]
        h_lines = a_lines = 0
        for line in fx.lines:
            winner = line.winner
            h_lines += winner == "home"
            a_lines += winner == "away"
            for hs, as_ in line.sets:
                h.sets[0 if hs > as_ else 1] += 1
                a.sets[0 if as_ > hs else 1] += 1
                h.games[0] += hs
                h.games[1] += as_
                a.games[0] += as_
                a.games[1] += hs
            for side, team, players in (("home", fx.home, line.home), ("away", fx.away, line.away)):
                for p in players:
                    if p is not None and winner != "tie":
                        rec = record.setdefault((p.pid, id(team)), [0, 0])
                        rec[0 if winner == side else 1] += 1
        h.lines[0] += h_lines
        h.lines[1] += a_lines
        a.lines[0] += a_lines
        a.lines[1] += h_lines
        if h_lines == a_lines:
            # Level on lines: sets, then games decide, as the leagues' tie-breaks do.
            h_lines = sum(hs > as_ for line in fx.lines for hs, as_ in line.sets)
            a_lines = sum(as_ > hs for line in fx.lines for hs, as_ in line.sets)
            if h_lines == a_lines:
                h_lines = sum(hs for line in fx.lines for hs, _ in line.sets)
                a_lines = sum(as_ for line in fx.lines for _, as_ in line.sets)
        if h_lines == a_lines:
            h.matches[2] += 1
            a.matches[2] += 1
        else:
            h.matches[0 if h_lines > a_lines else 1] += 1
            a.matches[0 if a_lines > h_lines else 1] += 1
    return teams, record


def player_rows(league: League, record: dict[tuple[str, int], list[int]]) -> Iterator[Row]:
    """Yield the roster rows (one per player per team) in the league style's format."""
    style, key = league.style.name, league.key
    n = 0
    for t_index, team in enumerate(league.teams):
        tname = team_name(team, style)
        url = (
            f"https://{host(key)}/?mod={_MOD}"
            f"&team={quote(encoded_id('nndz-', league.index, t_index, 7))}"
        )
        for p_index, p in enumerate(team.roster):
            captain = p_index < team.captains
            wins, losses = record.get((p.pid, id(team)), [0, 0]) if style == "nstf" else (0, 0)
            base: Row = {"PTI": p.pti, "Wins": str(wins), "Losses": str(losses)}
            base["Win %"] = pct(wins, wins + losses)
            if style == "apta":
                row: Row = {
                    "Player ID": p.pid,
                    "First Name": p.first,
                    "Last Name": p.last,
                    "Team": tname,
                    "Series": team.series,
                    "League": key,
                    # The real roster pages name the club only on captains' rows.
                    "Club": p.club.name if captain else tname,
                    **base,
                    "Captain": "Yes" if captain else "No",
                    "Source URL": url,
                    "source_league": key,
                    "Scraped At": (_SCRAPED_AT + dt.timedelta(microseconds=71 * n)).isoformat(),
                }
                if p.career is not None:
                    cw, cl = p.career
                    row |= {"Career Wins": cw, "Career Losses": cl}
                    row["Career Win %"] = pct(cw, cw + cl)
            elif style == "nstf":
                row = {
                    "League": key,
                    "Series": team.series,
                    "Series Mapping ID": tname,
                    "Club": p.club.name,
                    "Location ID": location_id(p.club.name),
                    "Player ID": p.pid,
                    "First Name": p.first,
                    "Last Name": p.last,
                    **base,
                    "Captain": ("C", "CC")[p_index] if captain else "",
                }
            else:
                cw, cl = p.career or (0, 0)
                roster = roster_team(team, style)
                row = {
                    "League": key,
                    # Lettered CNSWPL teams carry the letter in the Club too ("Wilmette 4a").
                    "Club": tname if roster != tname else p.club.name,
                    "Series": team.series,
                    "Team": roster,
                    "Player ID": p.pid,
                    "First Name": p.first,
                    "Last Name": p.last,
                    **base,
                    "Career Wins": str(cw),
                    "Career Losses": str(cl),
                    "Career Win %": pct(cw, cw + cl),
                    "Captain": "Yes" if captain else "",
                    "Source URL": url,
                    "source_league": key,
                }
            n += 1
            yield row


def standings_rows(league: League, teams: dict[int, Tally]) -> Iterator[Row]:
    """Yield one standings row per team, best first within each series."""
    style = league.style.name
    by_series: dict[str, list[tuple[int, Team, Tally]]] = {}
    for team in league.teams:
        t = teams[id(team)]
        points = 0 if style == "cita" else 3 * t.lines[0] + 2 * t.matches[0] + t.matches[2]
        by_series.setdefault(team.series, []).append((points, team, t))
    for entries in by_series.values():
        entries.sort(key=lambda e: -e[0])
        for points, team, t in entries:
            (mw, ml, mt), (lw, ll), (sw, sl), (gw, gl) = t.matches, t.lines, t.sets, t.games
            yield {
                "series": team.series,
                "team": team_name(team, style),
                "league_id": league.key,
                "points": points,
                "matches": {"won": mw, "lost": ml, "tied": mt, "percentage": pct(mw, mw + ml + mt)},
                "lines": {
                    "won": lw,
                    "lost": ll,
                    "for": 0,
                    "ret": 0,
                    "percentage": pct(lw, lw + ll),
                },
                "sets": {"won": sw, "lost": sl, "percentage": pct(sw, sw + sl)},
                "games": {"won": gw, "lost": gl, "percentage": pct(gw, gw + gl)},
            }


def schedule_row(league: League, fx: Fixture, date: str | None = None) -> Row:
    """Return the schedule row of one fixture."""
    style = league.style.name
    location = {
        "apta": fx.home.club.name,
        "cnswpl": fx.home.club.venue,
        "nstf": fx.home.club.name,
    }.get(style, "TBD")
    return {
        "date": date or fx.date.strftime("%m/%d/%Y"),
        "time": fx.time,
        "home_team": schedule_team(fx.home, style),
        "away_team": schedule_team(fx.away, style),
        "location": location,
        "series": fx.series,
        "League": league.key,
    }


def _name(p: Player | None, sub: bool) -> str:
    if p is None:
        return ""
    return f"{p.first} {p.last} (S)" if sub else f"{p.first} {p.last}"


def match_row(league: League, fx: Fixture, number: int, line: Line, rng: random.Random) -> Row:
    """Return the match-history row of one line of a played fixture."""
    style, key = league.style.name, league.key
    share = league.style.null_id_share
    players = (*line.home, *line.away)
    names = [_name(p, s) for p, s in zip(players, line.subs, strict=True)]
    ids = [None if p is None or rng.random() < share else p.pid for p in players]
    home, away = match_team(fx.home, style), match_team(fx.away, style)
    date = fx.date.strftime("%d-%b-%y")
    scores = ", ".join(f"{h}-{a}" for h, a in line.sets)
    if style in ("apta", "cita"):
        return {
            "league_id": key,
            "Date": date,
            "Home Team": home,
            "Away Team": away,
            "Home Player 1": names[0],
            "Home Player 1 ID": ids[0],
            "Home Player 2": names[1],
            "Home Player 2 ID": ids[1],
            "Away Player 1": names[2],
            "Away Player 1 ID": ids[2],
            "Away Player 2": names[3],
            "Away Player 2 ID": ids[3],
            "Scores": scores,
            "Winner": line.winner,
        }
    head: Row = {
        "league_id": key,
        "match_id": f"{fx.sch}_Line{number}",
        "source_league": key,
        "Line": f"Line {number}",
    }
    if style == "cnswpl":
        return head | {
            "Date": date,
            "Home Team": home,
            "Away Team": away,
            "Home Player 1": names[0],
            "Home Player 2": names[1],
            "Away Player 1": names[2],
            "Away Player 2": names[3],
            "Home Player 1 ID": ids[0],
            "Home Player 2 ID": ids[1],
            "Away Player 1 ID": ids[2],
            "Away Player 2 ID": ids[3],
            "Scores": scores,
            "Winner": line.winner,
        }
    return head | {
        "series": fx.series,
        "Date": date,
        "Home Team": home,
        "Away Team": away,
        "Home Player 1": names[0],
        "Home Player 2": names[1],
        "Home Player 1 ID": ids[0],
        "Home Player 2 ID": ids[1],
        "Away Player 1": names[2],
        "Away Player 2": names[3],
        "Away Player 1 ID": ids[2],
        "Away Player 2 ID": ids[3],
        "Scores": scores,
        "Winner": line.winner,
        "match_url": f"https://{host(key)}/print_match.php?sch={fx.sch}&print&",
    }
