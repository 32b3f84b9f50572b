"""`rally.synth.generate`: deterministic, shaped like the real files, with the promised properties."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from rally.etl.team_names import parse_team
from rally.synth import FILES, GenerateResult, OutputDirNotUsable, generate, league_keys
from rally.synth.generator import InvalidGenerateArgument

SEED = 7
SCALE = 0.1


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate(tmp_path_factory.mktemp("synth") / "out", scale=SCALE, seed=SEED)


def _rows(result: GenerateResult, league: str, file: str, *, good_only: bool = True) -> list[Any]:
    rows = json.loads((result.out_dir / league / file).read_text())
    if not good_only:
        return rows
    bad = {m.index for m in result.malformed if m.league == league and m.file == file}
    return [row for i, row in enumerate(rows) if i not in bad]


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", scale=0.03, seed=11, leagues=5)
    b = generate(tmp_path / "b", scale=0.03, seed=11, leagues=5)
    c = generate(tmp_path / "c", scale=0.03, seed=12, leagues=5)
    tree_a, tree_b, tree_c = _tree(a.out_dir), _tree(b.out_dir), _tree(c.out_dir)
    assert len(tree_a) == 5 * len(FILES)
    assert tree_a == tree_b
    assert a.malformed == b.malformed
    assert tree_a.keys() == tree_c.keys()
    assert all(tree_a[name] != tree_c[name] for name in tree_a)


def test_writes_one_folder_per_league_with_the_counts_it_reports(corpus: GenerateResult) -> None:
    assert [lg.key for lg in corpus.leagues] == ["APTA_CHICAGO", "CNSWPL", "NSTF", "CITA"]
    assert sorted(p.name for p in corpus.out_dir.iterdir()) == sorted(
        lg.key for lg in corpus.leagues
    )
    for league in corpus.leagues:
        for file in FILES:
            rows = _rows(corpus, league.key, file, good_only=False)
            assert isinstance(rows, list)
            assert len(rows) == league.rows[file] > 0


def test_files_are_laid_out_like_the_real_ones(
    corpus: GenerateResult, shared_leagues_dir: Path
) -> None:
    """The scraped files are json.dump output (indent 4 for schedules, 2 otherwise)."""
    for file in FILES:
        real = (shared_leagues_dir / "NSTF" / file).read_text()
        indent = 4 if real.startswith("[\n    {") else 2
        for league in corpus.leagues:
            raw = (corpus.out_dir / league.key / file).read_text()
            assert raw == json.dumps(json.loads(raw), indent=indent), (league.key, file)


def test_keys_past_the_fourth_league_are_synthetic() -> None:
    assert league_keys(6) == ["APTA_CHICAGO", "CNSWPL", "NSTF", "CITA", "SYN_05", "SYN_06"]
    assert league_keys(2) == ["APTA_CHICAGO", "CNSWPL"]


def test_scale_sets_the_size(tmp_path: Path) -> None:
    small = generate(tmp_path / "small", scale=0.1, seed=1)
    large = generate(tmp_path / "large", scale=0.3, seed=1)
    for file in FILES:
        ratio = large.total(file) / small.total(file)
        assert 2.2 < ratio < 3.8, (file, ratio)


# Key sets of the real files; CITA has no roster file, so its generated one copies CNSWPL's.
_ROSTER_LIKE = {
    "APTA_CHICAGO": "APTA_CHICAGO",
    "CNSWPL": "CNSWPL",
    "NSTF": "NSTF",
    "CITA": "CNSWPL",
}


def _real_key_sets(shared: Path, league: str, file: str) -> set[frozenset[str]]:
    source = _ROSTER_LIKE[league] if file == "players.json" else league
    rows = json.loads((shared / source / file).read_text())
    return {frozenset(row) for row in rows}


@pytest.mark.parametrize("file", FILES)
def test_field_names_match_the_real_files(
    corpus: GenerateResult, shared_leagues_dir: Path, file: str
) -> None:
    for league in corpus.leagues:
        real = _real_key_sets(shared_leagues_dir, league.key, file)
        generated = {frozenset(row) for row in _rows(corpus, league.key, file)}
        assert generated <= real, (league.key, file, generated - real)


def test_nested_standings_groups_match_the_real_files(
    corpus: GenerateResult, shared_leagues_dir: Path
) -> None:
    real = json.loads((shared_leagues_dir / "APTA_CHICAGO" / "series_stats.json").read_text())[0]
    for league in corpus.leagues:
        for row in _rows(corpus, league.key, "series_stats.json"):
            for group in ("matches", "lines", "sets", "games"):
                assert row[group].keys() == real[group].keys()
                assert re.fullmatch(r"\d{1,3}\.\d%", row[group]["percentage"])


_PCT = re.compile(r"\d{1,3}\.\d%")


def test_value_formats_match_the_real_files(corpus: GenerateResult) -> None:
    captains = {"APTA_CHICAGO": {"Yes", "No"}, "CNSWPL": {"Yes", ""}, "NSTF": {"C", "CC", ""}}
    for league in corpus.leagues:
        players = _rows(corpus, league.key, "players.json")
        assert {p["Captain"] for p in players} <= captains.get(league.key, {"Yes", ""})
        for p in players:
            assert p["PTI"] == "N/A" or re.fullmatch(r"-?\d+\.\d", p["PTI"])
            assert p["Wins"].isdigit() and p["Losses"].isdigit() and _PCT.fullmatch(p["Win %"])
        for s in _rows(corpus, league.key, "schedules.json"):
            assert re.fullmatch(r"\d\d/\d\d/20\d\d", s["date"])
            assert s["time"] == "" or re.fullmatch(r"\d\d:\d\d [ap]m", s["time"])
            assert s["League"] == league.key
        for m in _rows(corpus, league.key, "match_history.json"):
            assert re.fullmatch(r"\d\d-[A-Z][a-z]{2}-\d\d", m["Date"])
            assert re.fullmatch(r"\d-\d(, \d-\d)+", m["Scores"])
            assert m["Winner"] in {"home", "away", "tie"}
            assert m["league_id"] == league.key


def test_team_name_forms_of_each_league(corpus: GenerateResult) -> None:
    apta_matches = _rows(corpus, "APTA_CHICAGO", "match_history.json")
    assert all(re.search(r" - \d+[ab]?( SW)?$", m["Home Team"]) for m in apta_matches)
    nstf_schedule = _rows(corpus, "NSTF", "schedules.json")
    assert all(s["home_team"].endswith(f" - {s['series']}") for s in nstf_schedule)
    nstf_players = _rows(corpus, "NSTF", "players.json")
    assert all(
        re.search(r" (S\w+( T\d)?|Sunday [A-Z])$", p["Series Mapping ID"]) for p in nstf_players
    )
    cita_schedule = _rows(corpus, "CITA", "schedules.json")
    assert all(s["home_team"].endswith(" - " + s["series"][7:]) for s in cita_schedule)
    assert all(s["location"] == "TBD" for s in cita_schedule)


def test_leagues_reuse_the_same_series_names(corpus: GenerateResult) -> None:
    series = {
        lg.key: {row["series"] for row in _rows(corpus, lg.key, "series_stats.json")}
        for lg in corpus.leagues
    }
    assert "Series 1" in series["APTA_CHICAGO"] & series["CNSWPL"] & series["NSTF"]


def test_a_club_fields_several_teams_in_one_series(corpus: GenerateResult) -> None:
    doubled = []
    for league in corpus.leagues:
        clubs: Counter[tuple[str, str]] = Counter()
        for row in _rows(corpus, league.key, "series_stats.json"):
            team = parse_team(row["team"], league=league.key, series=row["series"])
            clubs[(row["series"], team.club)] += 1
        doubled += [(league.key, key) for key, n in clubs.items() if n > 1]
    assert {key for key, _ in doubled} >= {"APTA_CHICAGO", "CNSWPL"}


def test_some_players_are_on_two_teams_of_one_league(corpus: GenerateResult) -> None:
    for league, team_field in (("APTA_CHICAGO", "Team"), ("NSTF", "Series Mapping ID")):
        teams: dict[str, set[str]] = defaultdict(set)
        for row in _rows(corpus, league, "players.json"):
            teams[row["Player ID"]].add(row[team_field])
        assert sum(len(t) == 2 for t in teams.values()) > 0, league


def test_some_players_play_in_two_leagues_with_the_same_name_and_club(
    corpus: GenerateResult,
) -> None:
    # The club as the importer derives it: APTA rosters repeat the team name in "Club".
    seen: dict[tuple[str, str, str], set[tuple[str, str]]] = defaultdict(set)
    for league in corpus.leagues:
        for row in _rows(corpus, league.key, "players.json"):
            team = row.get("Team") or row["Series Mapping ID"]
            club = parse_team(team, league=league.key, series=row["Series"]).club
            seen[(row["First Name"], row["Last Name"], club)].add((league.key, row["Player ID"]))
    shared = [ids for ids in seen.values() if len({lg for lg, _ in ids}) > 1]
    assert len(shared) >= 5
    # Player IDs are the league's own: the same person has a different ID in each league.
    assert all(len({pid for _, pid in ids}) == len(ids) for ids in shared)


def test_substitutes_are_marked_and_come_from_the_clubs_other_teams(
    corpus: GenerateResult,
) -> None:
    roster: dict[str, set[str]] = defaultdict(set)
    for row in _rows(corpus, "NSTF", "players.json"):
        roster[row["Player ID"]].add(row["Series Mapping ID"])
    subs = 0
    for m in _rows(corpus, "NSTF", "match_history.json"):
        for side in ("Home", "Away"):
            for i in (1, 2):
                if m[f"{side} Player {i}"].endswith(" (S)"):
                    subs += 1
                    assert m[f"{side} Team"] not in roster[m[f"{side} Player {i} ID"]]
    assert subs > 0


def test_standings_agree_with_the_match_results(corpus: GenerateResult) -> None:
    for league in ("CNSWPL", "NSTF"):
        lines: Counter[str] = Counter()
        for m in _rows(corpus, league, "match_history.json"):
            if m["Winner"] != "tie":
                lines[m["Home Team"] if m["Winner"] == "home" else m["Away Team"]] += 1
        standings = _rows(corpus, league, "series_stats.json")
        assert {s["team"]: s["lines"]["won"] for s in standings if s["lines"]["won"]} == dict(lines)


def test_reports_the_deliberately_malformed_rows(corpus: GenerateResult) -> None:
    per_league = Counter(m.league for m in corpus.malformed)
    assert per_league == {"APTA_CHICAGO": 5, "CNSWPL": 6, "NSTF": 5, "CITA": 6}
    assert corpus.malformed_count == 22
    for mark in corpus.malformed:
        row = _rows(corpus, mark.league, mark.file, good_only=False)[mark.index]
        if mark.file == "players.json":
            assert "Player ID" not in row
        elif mark.file == "series_stats.json":
            assert "team" not in row
        elif mark.file == "schedules.json":
            assert row["date"] == "02/30/2025"
        else:
            assert (
                row["Date"] in (None, "31-Foo-24")
                or row["Winner"] == "both"
                or not re.fullmatch(r"\d-\d(, \d-\d)+", row["Scores"])
            )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": -1.0}, "--scale"),
        ({"scale": 0.0}, "--scale"),
        ({"scale": float("nan")}, "--scale"),
        ({"leagues": 0}, "--leagues"),
    ],
)
def test_rejects_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidGenerateArgument, match=message):
        generate(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_refuses_a_directory_with_other_files_but_rewrites_its_own_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = generate(out, scale=0.03, seed=2)
    again = generate(out, scale=0.03, seed=2)
    assert again.malformed == first.malformed
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputDirNotUsable, match="not empty"):
        generate(out, scale=0.03, seed=2)
    assert (out / "notes.txt").read_text() == "mine"
