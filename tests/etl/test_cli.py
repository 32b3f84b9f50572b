"""`rally etl import`: exit codes, messages, --rejects, --dry-run, --league."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from etl_rows import player, sample_rows
from typer.testing import CliRunner

from rally.cli import app
from rally.db import make_engine

MakeFiles = Callable[[dict[str, Any]], Path]
runner = CliRunner()


@pytest.fixture
def sqlite_url(db_factory: Any) -> Iterator[str]:
    url = db_factory.create("sqlite")
    yield url
    db_factory.drop(url)


def _run(*args: str) -> Any:
    return runner.invoke(app, ["etl", "import", *args])


def _teams(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM teams")).scalar_one())
    finally:
        engine.dispose()


def test_clean_import_exits_0_with_a_summary(sqlite_url: str, sample_dir: Path) -> None:
    result = _run(str(sample_dir), "--database-url", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "Import summary" in result.output
    assert "NSTF" in result.output and "match_scores" in result.output
    assert _teams(sqlite_url) == 5
    again = _run(str(sample_dir), "--database-url", sqlite_url)
    assert again.exit_code == 0


def test_rejects_exit_3_and_are_written_as_json_lines(
    sqlite_url: str, make_files: MakeFiles, tmp_path: Path
) -> None:
    rows = sample_rows()
    bad = player("NSTF", "bad", "Skokie S3", "Series 3", "Skokie", PTI="high")
    rows["players.json"].append(bad)
    rows["players.json"].append(player("NOPE", "x", "Skokie S3", "Series 3", "Skokie"))
    out = tmp_path / "rejects.jsonl"
    result = _run(str(make_files(rows)), "--database-url", sqlite_url, "--rejects", str(out))
    assert result.exit_code == 3, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 2
    by_league = {line["league"]: line for line in lines}
    assert set(by_league["NSTF"]) == {"file", "row", "league", "reason", "data"}
    assert by_league["NSTF"]["data"] == bad and by_league["NSTF"]["row"] == 5
    assert "PTI" in by_league["NSTF"]["reason"]
    assert "unknown league 'NOPE'" in by_league[None]["reason"]
    assert _teams(sqlite_url) == 5  # the good rows loaded


def test_strict_reports_the_failed_league(sqlite_url: str, make_files: MakeFiles) -> None:
    rows = sample_rows()
    rows["players.json"].append(player("NSTF", "b", "Skokie S3", "Series 3", "Skokie", Wins="x"))
    result = _run(str(make_files(rows)), "--database-url", sqlite_url, "--strict")
    assert result.exit_code == 1
    assert "NSTF failed" in result.output
    assert _teams(sqlite_url) == 2  # CNSWPL only


def test_league_option_restricts_the_import(sqlite_url: str, sample_dir: Path) -> None:
    result = _run(str(sample_dir), "--league", "cnswpl", "--database-url", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "NSTF" not in result.output
    assert _teams(sqlite_url) == 2


def test_dry_run_writes_nothing(sqlite_url: str, sample_dir: Path) -> None:
    result = _run(str(sample_dir), "--dry-run", "--database-url", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    assert _teams(sqlite_url) == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--league", "XYZ"], "unknown league XYZ"),
        (["/no/such/dir"], "no such file or directory: /no/such/dir"),
        (["EMPTY"], "no JSON files (*.json) in "),
    ],
)
def test_usage_errors_exit_2(
    sqlite_url: str, sample_dir: Path, tmp_path: Path, args: list[str], words: str
) -> None:
    if args == ["EMPTY"]:  # a directory, but nothing in it to import
        (tmp_path / "empty" / "NSTF").mkdir(parents=True)
        (tmp_path / "empty" / "NSTF" / "notes.txt").write_text("not a league file")
        args = [str(tmp_path / "empty")]
    paths = [] if args[0].startswith("/") else [str(sample_dir)]
    result = _run(*paths, *args, "--database-url", sqlite_url)
    assert result.exit_code == 2
    assert words in result.output
    assert "Traceback" not in result.output


def test_no_paths_is_a_usage_error() -> None:
    assert _run().exit_code == 2


def test_malformed_file_fails_with_one_line_naming_it(sqlite_url: str, sample_dir: Path) -> None:
    bad = sample_dir / "broken.json"
    bad.write_text('[{"League": "NSTF",')
    result = _run(str(sample_dir), "--database-url", sqlite_url)
    assert result.exit_code == 1
    assert "broken.json: malformed JSON" in result.output
    assert "Traceback" not in result.output
    assert _teams(sqlite_url) == 0  # nothing imported when a file is unusable


def test_unreachable_database_exits_2(sample_dir: Path) -> None:
    result = _run(str(sample_dir), "--database-url", "postgresql://nobody@127.0.0.1:1/none")
    assert result.exit_code == 2
    assert "Cannot connect" in result.output
    assert "Traceback" not in result.output
